// Confusable skeletons of names (skeleton.hpp): an ASCII table for the common case, ICU's
// TR39 spoof checker for the rest.

#include <countersign/rules/keys.hpp>
#include <countersign/rules/skeleton.hpp>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>

namespace countersign::rules {
namespace {

// What one ASCII character becomes in a skeleton: the whole pipeline of skeleton.hpp
// (skeleton, fold, skeleton, fold, i -> l) applied to that character alone. ASCII is
// its own NFD and NFKC and holds no default-ignorable character, and TR39 maps code
// points one by one, so a pure-ASCII name's skeleton is the concatenation of these.
// The entries other than lowercasing are TR39's (ICU 72 confusables data); the test
// compares every character with ICU, so a newer table that changes one fails there.
struct ascii_image {
  std::array<char, 8> bytes{};  // 8 rather than the 6 needed: copied as one word
  std::uint8_t size = 0;
};

constexpr std::array<ascii_image, 128> make_ascii_images() {
  std::array<ascii_image, 128> t{};
  for (std::size_t c = 0; c < t.size(); ++c) {
    t[c].bytes[0] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    t[c].size = 1;
  }
  const auto set = [&t](char c, std::string_view image) {
    auto& e = t[static_cast<std::size_t>(c)];
    std::copy(image.begin(), image.end(), e.bytes.begin());
    e.size = static_cast<std::uint8_t>(image.size());
  };
  set('0', "o");  // TR39: 0 -> O, folded
  set('1', "l");  // TR39: 1 -> l
  set('I', "l");  // TR39: I -> l
  set('|', "l");  // TR39: | -> l
  set('i', "l");  // not TR39: i is l so that I -> l survives case folding (skeleton.hpp)
  set('m', "rn");  // TR39: m -> rn
  set('M', "rn");  // folds to m
  set('`', "'");   // TR39: ` -> '
  set('"', "''");  // TR39: " -> ''
  set('%', "\xC2\xBA/\xE2\x82\x80");  // TR39: % -> U+00BA / U+2080 (º/₀), caseless
  return t;
}

constexpr std::array<ascii_image, 128> k_ascii = make_ascii_images();

bool is_ascii(std::string_view s) {
  // Byte-wise OR: one branch per name instead of one per byte.
  unsigned char any = 0;
  for (const char c : s) any = static_cast<unsigned char>(any | static_cast<unsigned char>(c));
  return any < 0x80;
}

// `out` = the table images of an ASCII string (`Char`: char or UTF-16 unit, all < 0x80).
template <class Char>
void assign_ascii_skeleton(const Char* s, std::size_t n, std::string& out) {
  std::size_t size = 0;
  for (std::size_t i = 0; i < n; ++i) size += k_ascii[static_cast<std::size_t>(s[i])].size;
  // Every image is stored as a whole word and the cursor moves by its size: no branch or
  // variable-length copy per character. The slack keeps the last word inside the string.
  constexpr std::size_t k_word = sizeof(ascii_image::bytes);
  out.resize(size + k_word);
  char* p = out.data();
  for (std::size_t i = 0; i < n; ++i) {
    const auto& e = k_ascii[static_cast<std::size_t>(s[i])];
    std::memcpy(p, e.bytes.data(), k_word);
    p += e.size;
  }
  out.resize(size);
}

void ascii_lowercase_into(std::string_view s, std::string& out) {
  out.assign(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

// The first k_max_skeleton_input bytes, not cutting a UTF-8 sequence in two.
std::string_view bounded(std::string_view s) {
  if (s.size() <= k_max_skeleton_input) return s;
  std::size_t cut = k_max_skeleton_input;
  for (int back = 0; back < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U; ++back) --cut;
  return s.substr(0, cut);
}

struct spoof_closer {
  void operator()(USpoofChecker* sc) const noexcept { uspoof_close(sc); }
};

// One per thread, made on the first non-ASCII name: opening the checker (loading the
// confusables data) costs far more than a name, and the work buffers it reuses are
// per-call state that threads must not share.
class icu_skeletonizer {
 public:
  // false when ICU failed; `out` is then unspecified.
  bool run(std::string_view utf8, std::string& out, bool ascii_second_pass) {
    const bool ok = ready() && compute(utf8, out, ascii_second_pass);
    // A long name grew the buffers: give the memory back rather than keep it per thread.
    if (a_.size() > k_keep_units || b_.size() > k_keep_units) {
      a_.assign(k_initial_units, u'\0');
      b_.assign(k_initial_units, u'\0');
      a_.shrink_to_fit();
      b_.shrink_to_fit();
    }
    return ok;
  }

 private:
  bool compute(std::string_view utf8, std::string& out, bool ascii_second_pass) {
    const auto n_in = static_cast<std::int32_t>(utf8.size());  // bounded(): small

    // 1. UTF-16, invalid sequences as U+FFFD. UTF-16 never has more units than UTF-8 bytes.
    if (a_.size() < utf8.size()) a_.resize(utf8.size());
    UErrorCode st = U_ZERO_ERROR;
    std::int32_t len = 0;
    u_strFromUTF8WithSub(a_.data(), capacity(a_), &len, utf8.data(), n_in, 0xFFFD, nullptr, &st);
    if (U_FAILURE(st)) return false;

    // 2. Default-ignorable characters out, in place (writing never overtakes reading).
    std::int32_t w = 0;
    for (std::int32_t r = 0; r < len;) {
      UChar32 c = 0;
      U16_NEXT(a_.data(), r, len, c);
      if (c >= 0xAD && u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) continue;  // none below U+00AD
      U16_APPEND_UNSAFE(a_.data(), w, c);
    }
    len = w;

    // 3. NFKC, only when the name is not already in it.
    const std::int32_t normalized = unorm2_spanQuickCheckYes(nfkc_, a_.data(), len, &st);
    if (U_FAILURE(st)) return false;
    if (normalized < len) {
      len = fill(b_, [&](UChar* d, std::int32_t cap, UErrorCode* e) {
        return unorm2_normalize(nfkc_, a_.data(), len, d, cap, e);
      });
      if (len < 0) return false;
      a_.swap(b_);
    }

    // 4. Skeleton of the name as shown, folded; then the same of the folded text, unless
    //    the table can finish it.
    if (!skeleton_and_fold(len)) return false;
    if (ascii_second_pass && std::all_of(a_.data(), a_.data() + len, [](UChar u) { return u < 0x80; })) {
      // For folded ASCII one more skeleton and fold change nothing but what the table
      // holds (m -> rn, 0 -> o, ...), so the table finishes the job without ICU.
      assign_ascii_skeleton(a_.data(), static_cast<std::size_t>(len), out);
      return true;
    }
    if (!skeleton_and_fold(len)) return false;

    // 5. Back to UTF-8 (at most 3 bytes per UTF-16 unit), i as l.
    out.resize(static_cast<std::size_t>(len) * 3);
    std::int32_t n_out = 0;
    u_strToUTF8(out.data(), static_cast<std::int32_t>(out.size()), &n_out, a_.data(), len, &st);
    if (U_FAILURE(st)) return false;
    out.resize(static_cast<std::size_t>(n_out));
    std::replace(out.begin(), out.end(), 'i', 'l');
    return true;
  }

  static constexpr std::size_t k_keep_units = 4 * k_max_skeleton_input;

  static std::int32_t capacity(const std::u16string& s) {
    return static_cast<std::int32_t>(std::min<std::size_t>(s.size(), std::numeric_limits<std::int32_t>::max()));
  }

  // Runs an ICU "write into (dest, capacity), return the full length" call into `dst`,
  // growing it once if ICU asks for more. The length, or -1 on failure.
  template <class Call>
  static std::int32_t fill(std::u16string& dst, Call&& call) {
    UErrorCode st = U_ZERO_ERROR;
    std::int32_t n = call(dst.data(), capacity(dst), &st);
    if (st == U_BUFFER_OVERFLOW_ERROR) {
      dst.resize(static_cast<std::size_t>(n));
      st = U_ZERO_ERROR;
      n = call(dst.data(), capacity(dst), &st);
    }
    return U_SUCCESS(st) ? n : -1;
  }

  // a_[0, len) -> its skeleton, case folded, back in a_.
  bool skeleton_and_fold(std::int32_t& len) {
    const std::int32_t s = fill(b_, [&](UChar* d, std::int32_t cap, UErrorCode* e) {
      return uspoof_getSkeleton(checker_.get(), 0, a_.data(), len, d, cap, e);
    });
    if (s < 0) return false;
    len = fill(a_, [&](UChar* d, std::int32_t cap, UErrorCode* e) {
      return u_strFoldCase(d, cap, b_.data(), s, U_FOLD_CASE_DEFAULT, e);
    });
    return len >= 0;
  }

  bool ready() {
    if (checker_) return true;
    if (broken_) return false;  // do not retry a failed open on every name
    UErrorCode st = U_ZERO_ERROR;
    checker_.reset(uspoof_open(&st));
    nfkc_ = unorm2_getNFKCInstance(&st);
    if (U_FAILURE(st) || !checker_ || nfkc_ == nullptr) {
      checker_.reset();
      broken_ = true;
      return false;
    }
    a_.resize(k_initial_units);
    b_.resize(k_initial_units);
    return true;
  }

  static constexpr std::size_t k_initial_units = 128;
  std::unique_ptr<USpoofChecker, spoof_closer> checker_;
  const UNormalizer2* nfkc_ = nullptr;  // ICU's singleton, never freed
  bool broken_ = false;
  std::u16string a_, b_;  // work buffers, sized (not just reserved) so ICU can write into them
};

icu_skeletonizer& thread_skeletonizer() {
  thread_local icu_skeletonizer s;
  return s;
}

// Recent non-ASCII names and their skeletons, per thread. Telemetry repeats a few
// thousand company and signer names, and ICU takes microseconds per name (two skeleton
// passes, each ~100 ns plus ~50 ns a character) where a hit costs a hash and a copy.
// Direct-mapped: a name evicts the one in its slot. Entries keep their capacity, so once
// warm a miss allocates only for a name longer than the one it replaces.
class skeleton_cache {
 public:
  bool find(std::string_view name, std::string& out) const {
    const auto& e = slot(name);
    if (!e.used || e.name != name) return false;
    out.assign(e.skeleton);
    return true;
  }
  void store(std::string_view name, const std::string& skeleton) {
    if (name.size() > k_max_name) return;  // no real company name; keeps memory bounded
    auto& e = slot(name);
    e.name.assign(name);
    e.skeleton.assign(skeleton);
    e.used = true;
  }

 private:
  static constexpr std::size_t k_slots = 512;  // a power of two
  static constexpr std::size_t k_max_name = 128;
  struct entry {
    std::string name, skeleton;
    bool used = false;
  };
  entry& slot(std::string_view name) { return slots_[std::hash<std::string_view>{}(name) & (k_slots - 1)]; }
  const entry& slot(std::string_view name) const {
    return slots_[std::hash<std::string_view>{}(name) & (k_slots - 1)];
  }
  std::array<entry, k_slots> slots_;
};

skeleton_cache& thread_cache() {
  thread_local skeleton_cache c;
  return c;
}

void icu_skeleton(std::string_view utf8, std::string& out, bool ascii_second_pass) {
  if (!thread_skeletonizer().run(utf8, out, ascii_second_pass)) ascii_lowercase_into(utf8, out);
}

}  // namespace

void name_skeleton(std::string_view utf8, std::string& out) {
  const std::string_view in = bounded(utf8);
  if (is_ascii(in)) {
    assign_ascii_skeleton(in.data(), in.size(), out);
    return;
  }
  auto& cache = thread_cache();
  if (cache.find(in, out)) return;
  icu_skeleton(in, out, true);
  cache.store(in, out);
}

std::string name_skeleton(std::string_view utf8) {
  std::string out;
  name_skeleton(utf8, out);
  return out;
}

std::string normalize_company_skeleton(std::string_view company) {
  std::string skeleton;
  name_skeleton(normalize_company(company), skeleton);
  return normalize_company(skeleton);
}

namespace detail {
void name_skeleton_icu(std::string_view utf8, std::string& out) { icu_skeleton(bounded(utf8), out, false); }
}  // namespace detail

}  // namespace countersign::rules
