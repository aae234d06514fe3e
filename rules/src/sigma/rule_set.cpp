// rule_set: logsource index + literal prefilter in front of sigma's evaluation.
//
//   build (once per rule load)                 evaluate (per event, any thread)
//   --------------------------                 --------------------------------
//   rule -> logsource group (lowercase          each event logsource -> admitted groups,
//           category/product/service)            their unfiltered rules and needed fields
//                                                (cached per logsource and thread), merged
//                                                over the event's logsources
//   rule -> clauses (all must hold) of          for each needed field: ev.field(name) once,
//           needles (one must occur), or         one literal scan (Hyperscan or
//           none (rule is "unfiltered")          Aho-Corasick), one exact-value lookup;
//   per field: one literal database of the       keywords: all values joined, one scan
//           needles and of every contains /     a hit sets its clause's bit in the rule's
//           equality test's literal (probes);    mask; full mask -> candidate
//           per field: exact-value table        candidates + unfiltered rules, in load
//   field conditions of probes only: decided     order -> detail::matches() once each, with
//           by the scan alone                     the scan answering the probed tests and
//                                                the decided conditions; hits per source
//
// A value of a field scanned before on the thread (the same rule set) replays what that
// scan found (scan_cache); hash-like literals are found by hash lookups (hex_literals). A
// field's value is scanned for the keyword literals too (with the keyword scanner, results
// cached with the field's), and the keyword scan joins only the values no field scan
// covered.
//
// Invariant: the prefilter is a necessary condition only. A rule is skipped only when
// some clause of it has no hit, and clauses are derived so that every event satisfying
// the condition satisfies each of them (see cnf_of below); a probed test is answered
// from what the scan saw in a scanned field, which is the test's own definition (a
// startswith / endswith probe only answers false: its literal was not seen at all). The
// result of evaluate() is therefore exactly the set of admitted rules for which
// matches() is true.
//
// Scratch state (marks, candidate list) is thread_local and epoch-stamped, so evaluate()
// allocates nothing once the vectors have grown to the largest rule set seen on the thread.
#include "countersign/rules/sigma/rule_set.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <bitset>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <sys/mman.h>

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include "hex_literals.hpp"
#include "literal_scanner.hpp"
#include "countersign/rules/sigma/detail.hpp"

namespace countersign::rules::sigma {
namespace {

// A literal shorter than this is too common to be worth a scan; its value is unfiltered.
constexpr std::size_t k_min_literal = 2;
// A rule needing more literals than this (windash over many flags, long lists) is
// evaluated unfiltered rather than inflating the automata.
constexpr std::size_t k_max_needles = 2048;
// Clauses kept per rule (bits of a mask).
constexpr std::size_t k_max_clauses = 8;
// A field with at least this many hash-like substring literals finds them with
// detail::hex_literals instead of its scanner (fewer: one more pass over the value for
// little).
constexpr std::size_t k_min_hex_literals = 64;
// What a field's scan reports is a code: a literal of the field (its local id), or a
// keyword literal (its local id in the keyword field, with this bit). A field of this many
// literals or more does not look for the keyword literals.
constexpr std::uint32_t k_keyword_bit = std::uint32_t{1} << 23;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = detail::lower_ascii(c);
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, {}, detail::lower_ascii, detail::lower_ascii);
}

// Case-insensitive hashing for the category index (transparent: looked up by string_view).
// Eight bytes at a time (field values are hashed per event): each word ASCII-lowercased
// in place (a byte gets 0x20 when it is 'A'..'Z'), then mixed.
struct ci_hash {
  using is_transparent = void;
  static std::uint64_t lower_word(std::uint64_t x) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    const std::uint64_t low7 = x & ~high;
    const std::uint64_t ge_a = low7 + ones * (0x80 - 'A');      // high bit: low7 >= 'A'
    const std::uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1);  // high bit: low7 > 'Z'
    const std::uint64_t upper = (ge_a & ~gt_z) & ~x & high;     // and the byte is ASCII
    return x | (upper >> 2);
  }
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ lower_word(w)) * 0xFF51AFD7ED558CCDULL;
      h ^= h >> 32;
    }
    if (i < s.size()) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, s.size() - i);
      h = (h ^ lower_word(w)) * 0xFF51AFD7ED558CCDULL;
      h ^= h >> 32;
    }
    return static_cast<std::size_t>(h);
  }
};
struct ci_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return iequal(a, b); }
};

// A field's exact values (lowercased), ids 0..n-1 in insertion order, found
// case-insensitively: open addressing over ci_hash with the hash's high half kept in the
// slot, so a lookup that misses (the usual answer) reads one slot where unordered_map
// read a bucket, a node and the node's string (three cache misses for every field of an
// event that has exact values).
class exact_values {
 public:
  void add(std::string text) { texts_.push_back(std::move(text)); }
  void build() {
    slots_.assign(std::bit_ceil(std::max<std::size_t>(8, 2 * texts_.size())), {});
    mask_ = slots_.size() - 1;
    for (std::uint32_t i = 0; i < texts_.size(); ++i) {
      const std::uint64_t h = ci_hash{}(texts_[i]);
      std::size_t at = h & mask_;
      while (slots_[at].id != 0) at = (at + 1) & mask_;
      slots_[at] = {static_cast<std::uint32_t>(h >> 32), i + 1};
    }
  }
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view value) const { return find(value, ci_hash{}(value)); }
  // `h`: ci_hash{}(value), computed once by the caller for this and the scan cache.
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view value, std::uint64_t h) const {
    if (texts_.empty()) return std::nullopt;
    const auto tag = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t at = h & mask_; slots_[at].id != 0; at = (at + 1) & mask_)
      if (slots_[at].tag == tag && iequal(texts_[slots_[at].id - 1], value)) return slots_[at].id - 1;
    return std::nullopt;
  }
  // The slot find(value, h) reads first, fetched ahead (scan_fields' first pass).
  void prefetch(std::uint64_t h) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[h & mask_]);
  }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t bytes = slots_.capacity() * sizeof(slot) + texts_.capacity() * sizeof(std::string);
    for (const auto& t : texts_) bytes += t.capacity() > sizeof(std::string) ? t.capacity() : 0;
    return bytes;
  }

 private:
  struct slot {
    std::uint32_t tag = 0;
    std::uint32_t id = 0;  // id + 1; 0: empty
  };
  std::vector<std::string> texts_;
  std::vector<slot> slots_;
  std::size_t mask_ = 0;
};

// ---- needle derivation -------------------------------------------------------------
//
// A needle is (field, literal) occurring case-insensitively in the field's value, or
// (field, value) equal to the whole value when `exact`; field "" stands for any value of
// the event (keyword searches, scanned over for_each_value()). need(x) is a conjunction
// of clauses, each a disjunction of needles, that every event satisfying x satisfies, or
// nullopt when nothing is known (for an `or` with a part that has nothing known):
//   and / all of / the field conditions of one map / |all values: the clauses of every
//     known part, the cheapest k_max_clauses kept;
//   or / 1 of / search alternatives / a list of values / value variants: clause i is the
//     union of clause i of each part (a part with fewer repeats its last): an event
//     satisfies some part, hence all of that part's clauses, hence every union;
//   not: nothing known; a glob value without wildcards: an exact needle; with
//     wildcards: its longest literal piece (if at least k_min_literal long); a regex:
//     RE2's prefilter atoms; cidr, exists, numeric, fieldref, null: nothing known.
// A rule is a candidate for full evaluation only when every one of its clauses has a hit.

struct needle {
  std::string field;
  std::string text;  // lowercased
  bool exact = false;
  auto operator<=>(const needle&) const = default;
};
using clause = std::vector<needle>;
using cnf = std::optional<std::vector<clause>>;

// A short substring is likelier to occur in events that do not match, so it costs more;
// an exact value is cheap to test but its selectivity is unknown (EventID: 1).
double cost(const needle& n) {
  if (n.exact) return 1.5;
  return n.text.size() >= 8 ? 1.0 : 1.0 + 0.25 * static_cast<double>(8 - n.text.size());
}
double cost(const clause& c) {
  double sum = 0;
  for (const auto& n : c) sum += cost(n);
  return sum;
}

// Sorted clauses (cheapest first), each sorted and deduplicated, at most k_max_clauses.
void normalize(std::vector<clause>& cs) {
  for (auto& c : cs) {
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
  }
  std::erase_if(cs, [](const clause& c) { return c.empty(); });
  std::sort(cs.begin(), cs.end());
  cs.erase(std::unique(cs.begin(), cs.end()), cs.end());
  std::stable_sort(cs.begin(), cs.end(), [](const clause& a, const clause& b) { return cost(a) < cost(b); });
  if (cs.size() > k_max_clauses) cs.resize(k_max_clauses);
}

cnf all_of(std::vector<cnf> parts) {
  std::vector<clause> out;
  for (auto& p : parts)
    if (p) out.insert(out.end(), std::make_move_iterator(p->begin()), std::make_move_iterator(p->end()));
  normalize(out);
  if (out.empty()) return std::nullopt;
  return out;
}

cnf any_of(std::vector<cnf> parts) {
  std::size_t n = 0;
  for (const auto& p : parts) {
    if (!p || p->empty()) return std::nullopt;
    n = std::max(n, p->size());
  }
  if (parts.empty()) return std::nullopt;
  std::vector<clause> out(n);
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& p : parts) {
      const clause& c = (*p)[std::min(i, p->size() - 1)];
      out[i].insert(out[i].end(), c.begin(), c.end());
    }
  normalize(out);
  return out;
}

cnf single(needle n) { return std::vector<clause>{clause{std::move(n)}}; }

// A regex's necessary literals, from RE2's own prefilter analysis (FilteredRE2): the
// atoms it returns are lowercased, and a regex with atoms cannot match a text that
// contains none of them (a regex that could is "unfiltered" there and yields none). That
// is one clause of every atom; an atom the regex needs in any case (all the others
// present, the prefilter still says no) is a clause of its own, so `\.exe.*werfault` is
// not admitted by every ".exe".
//
// A regex with no atom of k_min_literal bytes may still need a single byte that is rare in
// Windows event values (proc_creation_win_powershell_token_obfuscation: a backtick between
// word characters; it was evaluated on every process creation): value_cnf() asks again
// with one-byte atoms, and takes the answer when each of those is a rare byte.
cnf regex_cnf(const std::string& field, const re2::RE2& re, std::size_t min_atom = k_min_literal) {
  const auto rare_byte = [](std::string_view atom) {
    return atom.size() == 1 && std::string_view("`^~{}$#@!|<>[]").contains(atom[0]);
  };
  re2::FilteredRE2 filter(static_cast<int>(min_atom));
  int id = 0;
  if (filter.Add(re.pattern(), re.options(), &id) != re2::RE2::NoError) return std::nullopt;
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  if (atoms.empty()) return std::nullopt;
  for (const auto& a : atoms)
    if (a.size() < k_min_literal && !rare_byte(a)) return std::nullopt;
  std::vector<int> none, passing;
  filter.AllPotentials(none, &passing);
  if (!passing.empty()) return std::nullopt;  // it may match without any atom
  std::vector<clause> out;
  if (atoms.size() > 1 && atoms.size() <= 64) {
    std::vector<int> others;
    for (int skip = 0; skip < static_cast<int>(atoms.size()); ++skip) {
      others.clear();
      for (int i = 0; i < static_cast<int>(atoms.size()); ++i)
        if (i != skip) others.push_back(i);
      passing.clear();
      filter.AllPotentials(others, &passing);
      if (passing.empty()) out.push_back({{field, atoms[static_cast<std::size_t>(skip)], false}});
    }
  }
  clause any;
  for (auto& a : atoms) any.push_back({field, std::move(a), false});
  out.push_back(std::move(any));
  normalize(out);
  return out;
}

cnf value_cnf(const std::string& field, const value_matcher& m) {
  if (m.k == value_matcher::kind::regex && m.re) {
    cnf c = regex_cnf(field, *m.re);
    if (!c) c = regex_cnf(field, *m.re, 1);
    return c;
  }
  if (m.k != value_matcher::kind::glob) return std::nullopt;
  const bool wildcards = std::ranges::any_of(m.pieces, [](const auto& p) { return p.t != value_matcher::piece::type::literal; });
  if (!wildcards && !field.empty()) {
    std::string whole;
    for (const auto& p : m.pieces) whole += p.text;
    return single({field, lower(whole), true});
  }
  const value_matcher::piece* longest = nullptr;
  for (const auto& p : m.pieces)
    if (p.t == value_matcher::piece::type::literal && (!longest || p.text.size() > longest->text.size()))
      longest = &p;
  if (!longest || longest->text.size() < k_min_literal) return std::nullopt;
  return single({field, lower(longest->text), false});
}

cnf field_cnf(const field_condition& fc) {
  std::vector<cnf> groups;
  for (const auto& variants : fc.values) {
    std::vector<cnf> vs;
    for (const auto& m : variants) vs.push_back(value_cnf(fc.field, m));
    groups.push_back(any_of(std::move(vs)));
  }
  return fc.all ? all_of(std::move(groups)) : any_of(std::move(groups));
}

cnf search_cnf(const search_identifier& s) {
  std::vector<cnf> alternatives;
  for (const auto& alternative : s.alternatives) {
    std::vector<cnf> conditions;
    for (const auto& fc : alternative) conditions.push_back(field_cnf(fc));
    alternatives.push_back(all_of(std::move(conditions)));
  }
  return any_of(std::move(alternatives));
}

cnf condition_cnf(const condition_node& n, const rule& r) {
  using kind = condition_node::kind;
  std::vector<cnf> parts;
  switch (n.k) {
    case kind::ident:
      return search_cnf(r.searches[n.idents[0]]);
    case kind::one_of:
    case kind::all_of:
      for (auto i : n.idents) parts.push_back(search_cnf(r.searches[i]));
      return n.k == kind::one_of ? any_of(std::move(parts)) : all_of(std::move(parts));
    case kind::or_:
    case kind::and_:
      for (const auto& k : n.kids) parts.push_back(condition_cnf(k, r));
      return n.k == kind::or_ ? any_of(std::move(parts)) : all_of(std::move(parts));
    case kind::not_:
      return std::nullopt;
  }
  return std::nullopt;
}

// The rule's clauses; nullopt when it must be evaluated unfiltered. Clauses beyond the
// needle budget are dropped, most expensive first (fewer clauses only admit more).
cnf cnf_of(const rule& r) {
  cnf cs = condition_cnf(r.condition, r);
  if (!cs) return std::nullopt;
  std::size_t total = 0, keep = 0;
  for (; keep < cs->size() && total + (*cs)[keep].size() <= k_max_needles; ++keep) total += (*cs)[keep].size();
  cs->resize(keep);
  if (cs->empty()) return std::nullopt;
  return cs;
}

// ---- per-thread scratch ---------------------------------------------------------------

// `n` value-initialised T (trivially destructible) in memory the kernel is asked to back with
// 2 MiB pages (transparent huge pages in madvise mode; refused or unsupported, it stays on
// small pages and works the same). For the scan cache: a lookup reads a random entry of
// 5.6 MiB, about 1,400 small pages, which the data TLB does not hold beside the rule set
// and the events (sixth round: per-pair median 1.085 over eight pairs on the bench). The
// memory is rounded up to whole 2 MiB pages (6 MiB for the cache).
template <class T>
class huge_pages {
  static_assert(std::is_trivially_destructible_v<T>);
  static constexpr std::size_t k_page = std::size_t{2} << 20;
  struct release {
    void operator()(T* p) const noexcept { std::free(p); }
  };

 public:
  huge_pages() = default;
  explicit huge_pages(std::size_t n) : size_(n) {
    const std::size_t bytes = (n * sizeof(T) + k_page - 1) / k_page * k_page;
    void* p = std::aligned_alloc(k_page, bytes);
    if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // advice only: its failure changes nothing
#endif
    std::uninitialized_value_construct_n(static_cast<T*>(p), n);
    data_.reset(static_cast<T*>(p));
  }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  std::unique_ptr<T[], release> data_;
  std::size_t size_ = 0;
};

// What one event logsource admits (rule_set::impl::admit_groups).
struct admission {
  std::string category, product, service;
  std::vector<std::uint32_t> groups, fields;
  std::uint64_t considered;
};
constexpr std::size_t k_max_admissions = 256;
constexpr std::size_t k_max_sources = 64;  // per pass of rule_set::impl::evaluate

// The substring literals this thread's recent scans found, per rule set, field and value.
// What a scan of a value finds depends on the value and the field's literals only, and
// Windows events repeat their values (image paths, command lines, registry keys: 86 to 99%
// of the values of those fields in the bench's event mix were seen before), so a value
// scanned again replays the literals its first scan found, with their offsets, through
// on_literal (the marks and postings are the event's own), instead of scanning.
// Two-way set-associative (fourth round; was direct-mapped), the way not used last
// replaced; values longer than k_value or holding
// more than k_literals literals are not kept. 16,384 entries of 360 bytes: 5.6 MiB per
// thread on 2 MiB pages (6 MiB; see huge_pages) and 264 KiB of tags, allocated on its
// first scan. Measured on the bench mix against no cache (see
// docs/benchmarks.md, third round): 16,384 entries +7.6-10.5% over whole passes of
// 100,000 events; on alternating 1,000-event chunks, which overstate it, 1,024 entries
// +7%, 4,096 +11%, 16,384 +19-25%, 65,536 +22%.
//
// Fourth round (rdtsc per field over the bench): with 16 literals per entry, 41% of the
// command lines were never kept (17 to 32 literals: the field's 9,289 literals include
// many two- and three-byte ones), and values seen once (the bench's file versions, ~19,000
// distinct per 100,000 events) evicted the entries that repeat. So a (literal, end) pair
// takes one word (k_literals 32 in the same bytes), and a value is kept only on its
// second miss within a short while (`admitted`, a direct-mapped table of value-hash tags
// apart from the entries: a value scanned once leaves a tag there, not an entry).
struct scan_cache {
  static constexpr std::size_t k_entries = 16384;
  static constexpr std::size_t k_ways = 2;  // entries per set, the one not used last replaced
  static constexpr std::size_t k_sets = k_entries / k_ways;
  static constexpr std::size_t k_admitted = 32768;
  static constexpr std::size_t k_value = 200;
  static constexpr std::size_t k_literals = 32;
  // (literal, end) in one word: end <= k_value < 256; a literal id of 2^24 or more is
  // never kept (no field has that many literals in practice).
  static constexpr std::uint32_t k_max_literal = (std::uint32_t{1} << 24) - 1;
  static_assert(k_keyword_bit <= k_max_literal);
  static_assert(k_value < 256);
  struct entry {
    std::uint64_t set = 0;  // rule_set::impl::id; 0: empty
    std::uint64_t hash = 0;
    std::uint32_t field = 0;
    std::uint16_t length = 0;
    std::uint16_t count = 0;
    bool keywords = false;  // `found` holds the keyword literals in the value too
    std::array<std::uint32_t, k_literals> found{};  // code << 8 | end (code: see on_found)
    std::array<char, k_value> value{};
  };
  huge_pages<entry> entries;              // set i: entries[k_ways * i, k_ways * (i + 1))
  // Per entry: its `hash` (0: empty), 128 KiB beside the 5.5 MiB of entries, so a value
  // not kept (most lookups) reads one line of this instead of both ways' entries (fifth
  // round: those two cache misses were a quarter of scan_fields' samples).
  std::vector<std::uint64_t> tags;
  std::vector<std::uint8_t> recent;       // per set: the way hit or filled last
  std::vector<std::uint32_t> admitted;  // per slot: tag of the last value that missed there
  // The scan in progress records what it finds here (on_literal) when `recording`.
  bool recording = false;
  std::uint32_t recorded = 0;
  std::array<std::uint32_t, k_literals> found{};
};

// Marks are "== epoch" tests, so nothing is cleared between events; the vectors only grow.
struct scratch {
  std::vector<admission> admissions;  // of the set with id admissions_of
  std::uint64_t admissions_of = 0;
  std::uint64_t epoch = 0;
  // Per rule: the clauses with a hit, valid where seen == epoch (one record: a posting
  // reads one line of scratch).
  struct rule_mark {
    std::uint64_t seen = 0;
    std::uint32_t mask = 0;
  };
  std::vector<rule_mark> rule_marks;
  std::vector<std::uint64_t> group_admitted, field_queued;
  std::vector<std::uint32_t> candidates, fields;
  prefilter_stats* stats = nullptr;
  hs_scratch* hs = nullptr;
  // The values a scan covers: [seg_begin[i], seg_end[i]) of the text scanned (for the
  // keyword field, every value of the event joined in `text`).
  std::string text;
  std::vector<std::uint32_t> seg_begin, seg_end;
  std::vector<std::uint64_t> field_hit;      // == epoch: a needle of an admitted rule occurred
  std::vector<std::uint64_t> group_sources;  // per admitted group: bit k, source k admits it

  scan_cache cache;
  std::vector<std::uint64_t> literal_seen;  // per literal id of the set, == epoch: seen
  std::vector<std::uint64_t> decided_true;  // per decided field condition, == epoch: true
  // The literals seen in this event, in the order of their first sighting; a field's are
  // seen_list[seen_from[f], seen_to[f]) (each field is scanned in one go), valid where
  // field_queued[f] == epoch.
  std::vector<std::uint32_t> seen_list, seen_from, seen_to;
  bool scan_ok = true;
  // Per queued field (fields[i]), from scan_fields' first pass: its value, and the value's
  // ci_hash when the exact table or the scan cache is asked about it.
  struct queued_value {
    std::optional<std::string_view> value;
    std::uint64_t hash = 0;
    bool exact = false;  // look the value up among the field's exact values
    bool cache = false;  // look the value up in the scan cache (hash: the cache key)
    int way = -1;        // the cache way whose tag holds the key (-1: none)
  };
  std::vector<queued_value> queued;
  // The values whose field scan also looked for the keyword literals (scan_fields).
  std::vector<std::string_view> covered;
  // Per field: its value as scan_fields read it, valid where field_queued == epoch (not
  // for the keyword field).
  std::vector<std::optional<std::string_view>> value_of;

  void begin(std::size_t rules, std::size_t groups, std::size_t field_count, std::size_t literals,
             std::size_t decided) {
    ++epoch;
    scan_ok = true;
    if (decided_true.size() < decided) decided_true.resize(decided, 0);
    if (literal_seen.size() < literals) literal_seen.resize(literals, 0);
    if (rule_marks.size() < rules) rule_marks.resize(rules);
    if (group_admitted.size() < groups) group_admitted.resize(groups, 0);
    if (group_sources.size() < groups) group_sources.resize(groups, 0);
    if (field_queued.size() < field_count) {
      field_queued.resize(field_count, 0);
      field_hit.resize(field_count, 0);
    }
    candidates.clear();
    fields.clear();
    seen_list.clear();
    if (seen_from.size() < field_count) {
      seen_from.resize(field_count, 0);
      seen_to.resize(field_count, 0);
      value_of.resize(field_count);
    }

  }
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

std::uint64_t next_set_id() {
  static std::atomic<std::uint64_t> last{0};
  return ++last;
}

// A needle's users: the rule, its logsource group, the bit of the clause it belongs to and
// the rule's full clause mask. The group and the mask are the rule's, copied here so that
// hit() reads nothing per posting but the posting and the rule's mark (perf: looking them
// up per rule was most of hit()'s time).
struct posting {
  std::uint32_t rule;
  std::uint16_t group;
  std::uint8_t bit;
  std::uint8_t full;
};
static_assert(k_max_clauses <= 8, "posting::bit and posting::full hold one bit per clause");

}  // namespace

// Rules sharing one (lowercased) logsource. Empty fields admit any event value.
struct source_group {
  std::string category, product, service;
  std::uint32_t size = 0;                  // rules in the group
  std::vector<std::uint32_t> unfiltered;   // rule indices, ascending
  std::vector<std::uint32_t> fields;       // field_index entries its other rules need
};

// One event field that some rule's needles refer to ("" for keyword needles: every value
// of the event): a scanner over its substring literals and a table of its exact values, each with the postings of the needle (CSR layout:
// postings[begin[i] .. begin[i + 1])).
struct field_index {
  std::string name;
  detail::literal_scanner scanner;   // its substring literals but the hash-like ones in `hex`
  bool has_scanner = false;
  std::vector<std::uint32_t> scanner_ids;  // scanner pattern i is substring literal scanner_ids[i]
  // Its value's scan also looks for the keyword literals (with the keyword field's scanner;
  // see scan_fields), reporting them with k_keyword_bit.
  bool covers_keywords = false;
  detail::hex_literals hex;
  std::vector<std::uint32_t> sub_len;  // per substring literal
  std::vector<std::uint32_t> sub_begin;
  std::vector<posting> sub_postings;
  exact_values exact;
  // Lengths of the exact values (bit n: some value is n bytes long; the last bit: some is
  // longer than the bitmap), so most values need no hashing.
  std::bitset<1024> exact_lengths;
  std::vector<std::uint32_t> exact_begin;
  std::vector<posting> exact_postings;
  // Where this field's literals are marked as seen (scratch::literal_seen): substring
  // literal i at sub_base + i, exact value i at exact_base + i.
  std::uint32_t sub_base = 0, exact_base = 0;
};

// Field conditions of probed values that the scan does not decide (field_condition::probed;
// 0: none): field[c] is the condition's field, and its values, by the seen id of their
// literal, are values[begin[c] .. begin[c + 1]) (sorted by it).
struct probed_conditions {
  struct value {
    std::uint32_t seen;
    const value_matcher* m;
  };
  std::vector<std::uint32_t> field{0}, begin{0, 0};
  std::vector<value> values;
};

// A value test the scan answers: the seen mark of its literal in its field. A contains
// test (*lit*) or an equality is false when the literal was not seen in a scanned field,
// and true when it was, unless it is case-sensitive (|cased: evaluated then).
//
// A regex test is probed by its RE2 prefilter atoms (fifth round): clauses
// [clause_from, clause_to) of rule_set::impl::regex_atoms, each a list of atoms of which
// one must occur for the regex to match (regex_cnf). The test is false when the field was
// scanned and some clause has no atom seen in it; otherwise RE2 decides. `seen` is unused
// then, and such a test makes no condition decided or probed.
struct probe {
  std::uint32_t field;
  std::uint32_t seen;
  bool definitive_true;
  std::uint32_t clause_from = 0, clause_to = 0;  // a regex probe when clause_to > clause_from
  [[nodiscard]] bool regex() const noexcept { return clause_to > clause_from; }
};

// The atom clauses of regex probes: clause c's atoms (seen ids, scratch::literal_seen)
// are atoms[begin[c] .. begin[c + 1]).
struct regex_clauses {
  std::vector<std::uint32_t> begin{0}, atoms;
};

struct rule_set::impl {
  std::vector<rule> rules;
  std::vector<std::uint32_t> group_of;   // per rule
  std::vector<std::uint32_t> full_mask;  // per rule: one bit per clause (0: unfiltered)
  std::vector<source_group> groups;
  std::unordered_map<std::string, std::vector<std::uint32_t>, ci_hash, ci_equal> groups_by_category;
  std::vector<std::uint32_t> any_category_groups;
  std::vector<field_index> fields;
  std::uint64_t id = next_set_id();
  std::size_t unfiltered = 0;
  std::vector<const detail::literal_scanner*> scanners;  // of `fields`, for scratch_for()
  std::vector<probe> probes;  // indexed by value_matcher::probe (0: none)
  // Field conditions the scan decides alone (field_condition::decided; 0: none): every
  // value a definitive probe, the condition true when one of their literals was seen in
  // its field. decided_field[d] is that field; the conditions a literal's first sighting
  // makes true are decided_by[decided_begin[seen] .. decided_begin[seen + 1]).
  std::vector<std::uint32_t> decided_field, decided_begin, decided_by;
  probed_conditions probed;
  regex_clauses regex_atoms;
  std::uint32_t seen_ids = 0;  // literals of every field, substring and exact
  // The keyword pseudo-field ("": every value of the event; max: no keyword rule).
  std::uint32_t keyword_field = std::numeric_limits<std::uint32_t>::max();

  impl(std::vector<rule> rs, const rule_set_options& options);
  [[nodiscard]] bool admits(const source_group& g, const event_logsource& src) const {
    return (g.category.empty() || iequal(g.category, src.category)) &&
           (g.product.empty() || iequal(g.product, src.product)) &&
           (g.service.empty() || iequal(g.service, src.service));
  }
  void admit_groups(const event_logsource& src, std::size_t k, scratch& s, std::uint64_t& considered) const;
  void scan_fields(const sigma_event& ev, scratch& s) const;
  void on_literal(std::uint32_t field, std::uint32_t literal, std::size_t end, scratch& s) const;
  void on_found(std::uint32_t field, std::uint32_t code, std::size_t end, scratch& s) const;
  [[nodiscard]] bool scan_text(std::uint32_t field, std::string_view text, scratch& s) const;
  [[nodiscard]] bool scan_text(std::uint32_t scanner_field, std::uint32_t field, std::uint32_t bit, std::string_view text,
                               scratch& s) const;
  void decide_conditions();
  // Literal `seen` (a scratch::literal_seen index) occurred: marks it, and the field
  // conditions it decides. False when it was already marked.
  bool see(std::uint32_t seen, scratch& s) const {
    if (s.literal_seen[seen] == s.epoch) return false;
    s.literal_seen[seen] = s.epoch;
    s.seen_list.push_back(seen);
    for (auto i = decided_begin[seen]; i < decided_begin[seen + 1]; ++i) s.decided_true[decided_by[i]] = s.epoch;
    return true;
  }
  void admit_all_filtered(scratch& s) const;
  void hit(const posting* begin, const posting* end, std::uint32_t field, scratch& s) const;
  void evaluate(std::span<const event_logsource> sources, const sigma_event& ev, std::vector<const rule*>& hits,
                eval_counters& counters, prefilter_stats* stats) const;
};

rule_set::impl::impl(std::vector<rule> rs, const rule_set_options& options) : rules(std::move(rs)) {
  if (rules.size() >= std::numeric_limits<std::uint32_t>::max()) throw std::length_error("rule_set: too many rules");
  std::map<std::tuple<std::string, std::string, std::string>, std::uint32_t> group_ids;
  std::map<std::string, std::uint32_t, std::less<>> field_ids;
  // Per field: (literal, exact) -> postings, in ascending rule order.
  std::vector<std::map<std::pair<std::string, bool>, std::vector<posting>>> literals;
  group_of.reserve(rules.size());
  full_mask.reserve(rules.size());
  for (std::uint32_t i = 0; i < rules.size(); ++i) {
    const auto& src = rules[i].source;
    auto key = std::make_tuple(lower(src.category), lower(src.product), lower(src.service));
    auto [it, fresh] = group_ids.try_emplace(key, static_cast<std::uint32_t>(groups.size()));
    if (fresh) {
      if (it->second > std::numeric_limits<std::uint16_t>::max())  // posting::group
        throw std::length_error("rule_set: more than 65,536 distinct logsources");
      auto& [category, product, service] = key;
      groups.push_back({category, product, service, 0, {}, {}});
      (category.empty() ? any_category_groups : groups_by_category[category]).push_back(it->second);
    }
    source_group& g = groups[it->second];
    group_of.push_back(it->second);
    ++g.size;
    cnf cs = cnf_of(rules[i]);
    if (!cs) {
      full_mask.push_back(0);
      g.unfiltered.push_back(i);
      ++unfiltered;
      continue;
    }
    full_mask.push_back(static_cast<std::uint32_t>((std::uint64_t{1} << cs->size()) - 1));
    for (std::uint32_t c = 0; c < cs->size(); ++c)
      for (auto& n : (*cs)[c]) {
        auto [f, new_field] = field_ids.try_emplace(n.field, static_cast<std::uint32_t>(fields.size()));
        if (new_field) {
          fields.emplace_back();
          fields.back().name = n.field;
          literals.emplace_back();
        }
        g.fields.push_back(f->second);
        literals[f->second][{std::move(n.text), n.exact}].push_back(
            {i, static_cast<std::uint16_t>(it->second), static_cast<std::uint8_t>(1U << c),
             static_cast<std::uint8_t>(full_mask.back())});
      }
  }
  // Probes: the literal of every contains or equality test, scanned in its field too
  // (measured: fewer instructions per event than evaluating those tests on the values,
  // though the scans report more literals). A field is only scanned for an event when a
  // needle of an admitted rule is about it; a probe of an unscanned field answers nothing.
  // A startswith or endswith test whose literal is already scanned for in its field (as a
  // needle or a contains probe) is probed too, for "false" only: a value that does not
  // contain the literal neither starts nor ends with it.
  struct pending {
    value_matcher* m;
    std::uint32_t field;
    std::string text;
    bool exact;
    bool anchored = false;
  };
  std::vector<pending> pendings, anchored;
  // A regex test of a field that is scanned: its atom clauses (regex_cnf), whose atoms are
  // looked for in the field too. One of more than k_max_regex_atoms atoms is not probed.
  constexpr std::size_t k_max_regex_atoms = 256;
  struct regex_pending {
    value_matcher* m;
    std::uint32_t field;
    std::vector<clause> clauses;
  };
  std::vector<regex_pending> regexes;
  probes.emplace_back();  // index 0: no probe
  for (auto& r : rules)
    for (auto& search : r.searches)
      for (auto& alternative : search.alternatives)
        for (auto& fc : alternative)
          for (auto& variants : fc.values)
            for (auto& m : variants) {
              m.probe = 0;
              if (m.k == value_matcher::kind::regex && m.re && !fc.field.empty()) {
                const auto f = field_ids.find(fc.field);
                if (f == field_ids.end()) continue;
                cnf c = value_cnf(fc.field, m);
                std::size_t atoms = 0;
                if (c)
                  for (const auto& cl : *c) atoms += cl.size();
                if (c && atoms <= k_max_regex_atoms) regexes.push_back({&m, f->second, std::move(*c)});
                continue;
              }
              if (m.k != value_matcher::kind::glob) continue;
              const auto& ps = m.pieces;
              using pt = value_matcher::piece::type;
              const bool exact = !fc.field.empty() && ps.size() <= 1 && (ps.empty() || ps[0].t == pt::literal);
              const bool contains = ps.size() == 3 && ps[0].t == pt::star && ps[1].t == pt::literal &&
                                    ps[2].t == pt::star && ps[1].text.size() >= k_min_literal;
              const bool prefix = ps.size() == 2 && ps[0].t == pt::literal && ps[1].t == pt::star;
              const bool suffix = ps.size() == 2 && ps[0].t == pt::star && ps[1].t == pt::literal;
              if (prefix || suffix) {
                if (const auto f = field_ids.find(fc.field); f != field_ids.end())
                  anchored.push_back({&m, f->second, lower(ps[prefix ? 0 : 1].text), false, true});
                continue;
              }
              if (!exact && !contains) continue;
              auto [f, new_field] = field_ids.try_emplace(fc.field, static_cast<std::uint32_t>(fields.size()));
              if (new_field) {
                fields.emplace_back();
                fields.back().name = fc.field;
                literals.emplace_back();
              }
              std::string text = lower(exact ? (ps.empty() ? std::string() : ps[0].text) : ps[1].text);
              pendings.push_back({&m, f->second, std::move(text), exact});
            }
  for (const auto& p : pendings) literals[p.field].try_emplace({p.text, p.exact});
  for (auto& r : rules)
    for (auto& search : r.searches)
      for (auto& alternative : search.alternatives)
        for (auto& fc : alternative) {
          const auto f = fc.field.empty() ? field_ids.end() : field_ids.find(fc.field);
          fc.scanned = f == field_ids.end() ? 0 : f->second + 1;
        }
  for (const auto& r : regexes)
    for (const auto& cl : r.clauses)
      for (const auto& n : cl) literals[r.field].try_emplace({n.text, false});
  for (auto& p : anchored)
    if (literals[p.field].contains({p.text, false})) pendings.push_back(std::move(p));
  for (auto& g : groups) {
    std::sort(g.fields.begin(), g.fields.end());
    g.fields.erase(std::unique(g.fields.begin(), g.fields.end()), g.fields.end());
  }
  const auto engine = options.engine == rule_set_options::literal_engine::hyperscan ? detail::scan_engine::hyperscan
                                                                                     : detail::scan_engine::aho_corasick;
  std::vector<std::map<std::string, std::uint32_t, std::less<>>> substring_index(fields.size());
  for (std::size_t f = 0; f < fields.size(); ++f) {
    field_index& fi = fields[f];
    std::vector<std::pair<std::uint32_t, std::string>> substrings;
    for (auto& [key, postings] : literals[f]) {
      const auto& [text, exact] = key;
      if (exact) {
        fi.exact.add(text);  // id: fi.exact_begin.size()
        fi.exact_lengths.set(std::min(text.size(), fi.exact_lengths.size() - 1));
        fi.exact_begin.push_back(static_cast<std::uint32_t>(fi.exact_postings.size()));
        fi.exact_postings.insert(fi.exact_postings.end(), postings.begin(), postings.end());
      } else {
        const auto local = static_cast<std::uint32_t>(fi.sub_begin.size());
        substring_index[f].emplace(text, local);
        substrings.emplace_back(local, text);
        fi.sub_len.push_back(static_cast<std::uint32_t>(text.size()));
        fi.sub_begin.push_back(static_cast<std::uint32_t>(fi.sub_postings.size()));
        fi.sub_postings.insert(fi.sub_postings.end(), postings.begin(), postings.end());
      }
    }
    fi.exact.build();
    fi.exact_begin.push_back(static_cast<std::uint32_t>(fi.exact_postings.size()));
    fi.sub_begin.push_back(static_cast<std::uint32_t>(fi.sub_postings.size()));
    const auto hash_like = [](const auto& l) { return detail::hex_literals::run_of(l.second).second != 0; };
    std::vector<std::pair<std::uint32_t, std::string>> hex;
    // Not the keyword field's: its scan is over values joined, where a hex run could go on
    // across two values.
    if (!fi.name.empty() && static_cast<std::size_t>(std::ranges::count_if(substrings, hash_like)) >= k_min_hex_literals) {
      std::vector<std::pair<std::uint32_t, std::string>> rest;
      for (auto& l : substrings) (hash_like(l) ? hex : rest).push_back(std::move(l));
      substrings = std::move(rest);
      fi.hex = detail::hex_literals(hex);
      for (const auto& l : substrings) fi.scanner_ids.push_back(l.first);
    }
    std::vector<std::string> patterns;
    for (auto& l : substrings) patterns.push_back(std::move(l.second));
    if (!patterns.empty()) {
      fi.scanner = detail::literal_scanner(engine, patterns);
      fi.has_scanner = true;
    }
  }
  for (const auto& fi : fields) scanners.push_back(&fi.scanner);
  if (const auto kw = field_ids.find(""); kw != field_ids.end()) {
    keyword_field = kw->second;
    for (auto& fi : fields)
      fi.covers_keywords = fields[keyword_field].has_scanner && !fi.name.empty() && fi.has_scanner &&
                           fi.sub_len.size() < k_keyword_bit;
  }
  for (auto& fi : fields) {
    fi.sub_base = seen_ids;
    seen_ids += static_cast<std::uint32_t>(fi.sub_begin.size() - 1);
    fi.exact_base = seen_ids;
    seen_ids += static_cast<std::uint32_t>(fi.exact_begin.size() - 1);
  }
  for (const auto& p : pendings) {
    const field_index& fi = fields[p.field];
    const std::uint32_t seen = p.exact ? fi.exact_base + *fi.exact.find(p.text)
                                       : fi.sub_base + substring_index[p.field].find(p.text)->second;
    p.m->probe = static_cast<std::uint32_t>(probes.size());
    probes.push_back(probe{p.field, seen, !p.m->cased && !p.anchored});
  }
  for (const auto& r : regexes) {
    const field_index& fi = fields[r.field];
    probe pr{r.field, 0, false};
    pr.clause_from = static_cast<std::uint32_t>(regex_atoms.begin.size() - 1);
    for (const auto& cl : r.clauses) {
      for (const auto& n : cl) regex_atoms.atoms.push_back(fi.sub_base + substring_index[r.field].find(n.text)->second);
      regex_atoms.begin.push_back(static_cast<std::uint32_t>(regex_atoms.atoms.size()));
    }
    pr.clause_to = static_cast<std::uint32_t>(regex_atoms.begin.size() - 1);
    r.m->probe = static_cast<std::uint32_t>(probes.size());
    probes.push_back(pr);
  }
  decide_conditions();
}

void rule_set::impl::decide_conditions() {
  decided_field.push_back(0);  // index 0: none
  std::vector<std::vector<std::uint32_t>> by_seen(seen_ids);
  for (auto& r : rules)
    for (auto& search : r.searches)
      for (auto& alternative : search.alternatives)
        for (auto& fc : alternative) {
          fc.decided = 0;
          fc.probed = 0;
          if (fc.all || fc.values.empty()) continue;
          const bool decidable = std::ranges::all_of(fc.values, [&](const auto& variants) {
            return !variants.empty() && std::ranges::all_of(variants, [&](const value_matcher& m) {
              return m.probe != 0 && probes[m.probe].definitive_true;
            });
          });
          if (!decidable) {
            // Every value probed (a contains, equality, startswith or endswith test whose
            // literal is looked for in the field): a value whose literal was not seen is
            // false, so only the others are evaluated. The side-load rule's 425 endswith
            // values cost about 5,100 cycles per evaluation when each was asked in turn.
            const bool all_probed = !fc.field.empty() && std::ranges::all_of(fc.values, [&](const auto& variants) {
              return !variants.empty() &&
                     std::ranges::all_of(variants, [&](const value_matcher& m) {
                       return m.probe != 0 && !probes[m.probe].regex();
                     });
            });
            fc.probed = 0;
            if (!all_probed) continue;
            fc.probed = static_cast<std::uint32_t>(probed.field.size());
            probed.field.push_back(probes[fc.values[0][0].probe].field);
            const auto from = static_cast<std::ptrdiff_t>(probed.values.size());
            for (const auto& variants : fc.values)
              for (const auto& m : variants) probed.values.push_back({probes[m.probe].seen, &m});
            std::stable_sort(probed.values.begin() + from, probed.values.end(),
                             [](const auto& a, const auto& b) { return a.seen < b.seen; });
            probed.begin.push_back(static_cast<std::uint32_t>(probed.values.size()));
            continue;
          }
          fc.probed = 0;
          const auto d = static_cast<std::uint32_t>(decided_field.size());
          decided_field.push_back(probes[fc.values[0][0].probe].field);
          for (const auto& variants : fc.values)
            for (const auto& m : variants) {
              auto& users = by_seen[probes[m.probe].seen];
              if (users.empty() || users.back() != d) users.push_back(d);
            }
          fc.decided = d;
        }
  for (const auto& users : by_seen) {
    decided_begin.push_back(static_cast<std::uint32_t>(decided_by.size()));
    decided_by.insert(decided_by.end(), users.begin(), users.end());
  }
  decided_begin.push_back(static_cast<std::uint32_t>(decided_by.size()));
}

// The groups admitting `src` (source `k` of the event), their unfiltered rules and the
// fields they need: computed once per distinct logsource and thread (scratch::admissions),
// then merged into the event's (a group or field that an earlier source of the event
// admitted is not added twice).
void rule_set::impl::admit_groups(const event_logsource& src, std::size_t k, scratch& s,
                                  std::uint64_t& considered) const {
  if (s.admissions_of != id) {
    s.admissions.clear();
    s.admissions_of = id;
  }
  auto it = std::ranges::find_if(s.admissions, [&](const admission& a) {
    return iequal(a.category, src.category) && iequal(a.product, src.product) && iequal(a.service, src.service);
  });
  if (it == s.admissions.end()) {
    if (s.admissions.size() >= k_max_admissions) s.admissions.clear();  // an unbounded variety of logsources
    admission a{std::string(src.category), std::string(src.product), std::string(src.service), {}, {}, 0};
    auto admit = [&](std::uint32_t gi) {
      const source_group& g = groups[gi];
      if (!admits(g, src)) return;
      a.groups.push_back(gi);
      a.considered += g.size;
      a.fields.insert(a.fields.end(), g.fields.begin(), g.fields.end());
    };
    if (auto cat = groups_by_category.find(src.category); cat != groups_by_category.end())
      for (auto gi : cat->second) admit(gi);
    for (auto gi : any_category_groups) admit(gi);
    std::sort(a.fields.begin(), a.fields.end());
    a.fields.erase(std::unique(a.fields.begin(), a.fields.end()), a.fields.end());
    s.admissions.push_back(std::move(a));
    it = s.admissions.end() - 1;
  }
  considered += it->considered;
  for (auto gi : it->groups) {
    if (s.group_admitted[gi] != s.epoch) {
      s.group_admitted[gi] = s.epoch;
      s.group_sources[gi] = 0;
      s.candidates.insert(s.candidates.end(), groups[gi].unfiltered.begin(), groups[gi].unfiltered.end());
    }
    s.group_sources[gi] |= std::uint64_t{1} << k;
  }
  for (auto f : it->fields) {
    if (s.field_queued[f] == s.epoch) continue;
    s.field_queued[f] = s.epoch;
    s.fields.push_back(f);
  }
}

// Postings of one needle that occurred in `field`: a rule of an admitted group becomes a
// candidate when the last of its clauses gets a hit.
void rule_set::impl::hit(const posting* begin, const posting* end, std::uint32_t field, scratch& s) const {
  for (const posting* p = begin; p != end; ++p) {
    if (s.group_admitted[p->group] != s.epoch) continue;
    s.field_hit[field] = s.epoch;
    scratch::rule_mark& mark = s.rule_marks[p->rule];
    if (mark.seen != s.epoch) {
      mark.seen = s.epoch;
      mark.mask = 0;
    }
    const std::uint32_t after = mark.mask | p->bit;
    if (after == mark.mask) continue;
    mark.mask = after;
    if (after == p->full) s.candidates.push_back(p->rule);
  }
}

// A scan that could not run: every filtered rule of the admitted groups is a candidate
// (evaluated in full, so the result stays exact).
void rule_set::impl::admit_all_filtered(scratch& s) const {
  for (std::uint32_t r = 0; r < rules.size(); ++r) {
    if (full_mask[r] == 0 || s.group_admitted[group_of[r]] != s.epoch) continue;
    scratch::rule_mark& mark = s.rule_marks[r];
    if (mark.seen == s.epoch && mark.mask == full_mask[r]) continue;  // already a candidate
    mark = {s.epoch, full_mask[r]};
    s.candidates.push_back(r);
  }
}

// One occurrence of substring literal `literal` of `field` in the text scanned, ending at
// `end`: it counts if one segment (one value) holds all of it, the first time only.
void rule_set::impl::on_literal(std::uint32_t field, std::uint32_t literal, std::size_t end, scratch& s) const {
  const field_index& fi = fields[field];
  const std::size_t begin = end - fi.sub_len[literal];
  // The segment holding the occurrence's first byte: the last one starting at or before it.
  const auto at = std::upper_bound(s.seg_begin.begin(), s.seg_begin.end(), begin) - s.seg_begin.begin() - 1;
  if (end > s.seg_end[static_cast<std::size_t>(at)]) return;  // spans two values
  if (!see(fi.sub_base + literal, s)) return;
  const posting* base = fi.sub_postings.data();
  hit(base + fi.sub_begin[literal], base + fi.sub_begin[literal + 1], field, s);
}

// What the scan of `field`'s value (or the keyword field's text) reported, `code` as
// k_keyword_bit describes, recorded for the scan cache when it is recording.
void rule_set::impl::on_found(std::uint32_t field, std::uint32_t code, std::size_t end, scratch& s) const {
  if (s.cache.recording) {
    if (code > scan_cache::k_max_literal || end > scan_cache::k_value)
      s.cache.recorded = scan_cache::k_literals + 1;  // not kept
    else if (s.cache.recorded < scan_cache::k_literals)
      s.cache.found[s.cache.recorded] = code << 8 | static_cast<std::uint32_t>(end);
    ++s.cache.recorded;
  }
  if ((code & k_keyword_bit) != 0 && fields[field].covers_keywords)
    on_literal(keyword_field, code & ~k_keyword_bit, end, s);
  else
    on_literal(field, code, end, s);
}

// One scan of `text` (its segments set in scratch) for the substring literals of `field`.
// False when the scan failed.
bool rule_set::impl::scan_text(std::uint32_t field, std::string_view text, scratch& s) const {
  return scan_text(field, field, 0, text, s);
}

// The same with the scanner of `scanner_field`, what it finds reported as found by the scan
// of `field` (on_found), each code or-ed with `bit`.
bool rule_set::impl::scan_text(std::uint32_t scanner_field, std::uint32_t field, std::uint32_t bit,
                               std::string_view text, scratch& s) const {
  if (text.size() > std::numeric_limits<std::uint32_t>::max()) return false;
  struct context {
    const impl* self;
    const std::vector<std::uint32_t>* ids;
    std::uint32_t field, bit;
    scratch* s;
  } ctx{this, &fields[scanner_field].scanner_ids, field, bit, &s};
  return fields[scanner_field].scanner.scan(
      text,
      [](std::uint32_t literal, std::size_t end, void* c) {
        const auto& x = *static_cast<const context*>(c);
        x.self->on_found(x.field, (x.ids->empty() ? literal : (*x.ids)[literal]) | x.bit, end, *x.s);
      },
      &ctx, s.hs);
}

// Every queued field: its exact value looked up, its value scanned for its substring
// literals; the keyword field's: every value of the event, joined, in one scan.
//
// Two passes (fifth round): the first reads every queued field's value, hashes it once
// (the exact table and the scan cache both use ci_hash) and prefetches what the second
// will read: the exact-table slot, the cache's tags and admission slot, and then the
// entry a tag says holds the value. perf put most of scan_fields' samples on those loads
// taken one after the other (a cache miss each, field by field); issued together, they
// overlap.
void rule_set::impl::scan_fields(const sigma_event& ev, scratch& s) const {
  bool ok = true;
  s.covered.clear();
  // The keyword field is scanned last, over the values the field scans did not cover.
  const bool keyword_queued = keyword_field != std::numeric_limits<std::uint32_t>::max() &&
                              s.field_queued[keyword_field] == s.epoch;
  if (s.cache.entries.empty()) {
    s.cache.entries = huge_pages<scan_cache::entry>(scan_cache::k_entries);
    s.cache.tags.resize(scan_cache::k_entries);
    s.cache.recent.resize(scan_cache::k_sets);
    s.cache.admitted.resize(scan_cache::k_admitted);
  }
  const auto cache_set_of = [](std::uint64_t key) { return (key ^ (key >> 29)) & (scan_cache::k_sets - 1); };
  if (s.queued.size() < s.fields.size()) s.queued.resize(s.fields.size());
  // Every value first, its first lines fetched ahead: the event's values are read here for
  // the first time (hashed just below), and fetched together their cache misses overlap
  // (sixth round: 1.4-2.1% fewer cycles per evaluation, in-process A/B on the bench mix).
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    const field_index& fi = fields[s.fields[i]];
    scratch::queued_value& q = s.queued[i];
    q = {};
    if (fi.name.empty()) continue;
    q.value = ev.field(fi.name);
    if (!q.value) continue;
    const std::size_t ahead = std::min(q.value->size(), scan_cache::k_value);
    for (std::size_t at = 0; at < ahead; at += 64) __builtin_prefetch(q.value->data() + at);
  }
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    const std::uint32_t f = s.fields[i];
    const field_index& fi = fields[f];
    scratch::queued_value& q = s.queued[i];
    s.value_of[f] = q.value;
    if (!q.value) continue;
    const std::size_t size = q.value->size();
    q.exact = fi.exact_lengths.test(std::min(size, fi.exact_lengths.size() - 1));
    // Fields of hash-like literals only (Hashes: a new value in every event, found with a
    // few lookups) would only push the others out of the cache.
    q.cache = fi.has_scanner && size <= scan_cache::k_value;
    if (!q.exact && !q.cache) continue;
    q.hash = ci_hash{}(*q.value);
    if (q.exact) fi.exact.prefetch(q.hash);
    if (q.cache) {
      q.hash ^= std::uint64_t{f} * 0x9E3779B97F4A7C15ULL;  // the cache key: value and field
      __builtin_prefetch(&s.cache.tags[cache_set_of(q.hash) * scan_cache::k_ways]);
    }
  }
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    scratch::queued_value& q = s.queued[i];
    if (!q.cache) continue;
    const std::size_t set = cache_set_of(q.hash);
    const std::uint64_t* tags = &s.cache.tags[set * scan_cache::k_ways];
    q.way = tags[0] == q.hash ? 0 : tags[1] == q.hash ? 1 : -1;
    if (q.way < 0) {
      __builtin_prefetch(&s.cache.admitted[(q.hash >> 40) & (scan_cache::k_admitted - 1)]);
      continue;
    }
    const char* e = reinterpret_cast<const char*>(&s.cache.entries[set * scan_cache::k_ways + static_cast<std::size_t>(q.way)]);
    const std::size_t bytes = offsetof(scan_cache::entry, value) + q.value->size();
    for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(e + at);
  }
  for (std::size_t i = 0; i < s.fields.size(); ++i) {
    const std::uint32_t f = s.fields[i];
    const field_index& fi = fields[f];
    const scratch::queued_value& q = s.queued[i];
    s.seen_from[f] = static_cast<std::uint32_t>(s.seen_list.size());
    s.seg_begin.clear();
    s.seg_end.clear();
    if (f == keyword_field) continue;
    // Every needle is a glob literal or regex atom: a missing field cannot hold one (its
    // probes answer false, as the tests would).
    if (!q.value) continue;
    const std::string_view value = *q.value;
    if (s.stats != nullptr) ++s.stats->fields[f].scanned;
    if (q.exact) {
      const std::uint64_t h = q.cache ? q.hash ^ (std::uint64_t{f} * 0x9E3779B97F4A7C15ULL) : q.hash;
      if (const auto at = fi.exact.find(value, h); at && see(fi.exact_base + *at, s)) {
        const posting* base = fi.exact_postings.data();
        hit(base + fi.exact_begin[*at], base + fi.exact_begin[*at + 1], f, s);
      }
    }
    if (fi.sub_len.empty()) continue;
    s.seg_begin.push_back(0);
    s.seg_end.push_back(static_cast<std::uint32_t>(value.size()));
    scan_cache::entry* cached = nullptr;
    std::size_t cache_set = 0;
    std::uint8_t victim = 0;
    if (q.cache) {
      cache_set = cache_set_of(q.hash);
      scan_cache::entry* const ways = &s.cache.entries[cache_set * scan_cache::k_ways];
      if (q.way >= 0) {
        const scan_cache::entry& e = ways[q.way];
        if (e.set == id && e.field == f && e.length == value.size() &&
            std::memcmp(e.value.data(), value.data(), value.size()) == 0) {
          s.cache.recent[cache_set] = static_cast<std::uint8_t>(q.way);
          for (std::uint32_t k = 0; k < e.count; ++k) on_found(f, e.found[k] >> 8, e.found[k] & 0xFF, s);
          if (e.keywords) s.covered.push_back(value);
          continue;
        }
      }
      // A miss replaces the way not used last (when the value is kept, below).
      victim = static_cast<std::uint8_t>(1 - s.cache.recent[cache_set]);
      cached = &ways[victim];
      s.cache.recording = true;
      s.cache.recorded = 0;
    }
    fi.hex.scan(value, [&](std::uint32_t literal, std::size_t end) { on_found(f, literal, end, s); });
    const bool scanned = !fi.has_scanner || scan_text(f, value, s);
    ok = scanned && ok;
    // The keyword literals in this value, with the keyword field's scanner (the value is in
    // cache now; the scanner, used by every event, too): the keyword scan below skips it.
    // Kept in the cache entry with the field's own literals.
    const bool keywords = keyword_queued && fi.covers_keywords && scanned &&
                          scan_text(keyword_field, f, k_keyword_bit, value, s);
    if (keywords) s.covered.push_back(value);
    s.cache.recording = false;
    // Kept on the value's second miss: its tag is in `admitted` from the first.
    if (cached != nullptr) {
      std::uint32_t& tag = s.cache.admitted[(q.hash >> 40) & (scan_cache::k_admitted - 1)];
      const auto mine = static_cast<std::uint32_t>(q.hash) | 1U;
      if (tag != mine) {
        tag = mine;
        cached = nullptr;
      }
    }
    if (cached != nullptr && scanned && s.cache.recorded <= scan_cache::k_literals) {
      s.cache.recent[cache_set] = victim;
      s.cache.tags[cache_set * scan_cache::k_ways + victim] = q.hash;
      cached->set = id;
      cached->hash = q.hash;
      cached->field = f;
      cached->length = static_cast<std::uint16_t>(value.size());
      cached->count = static_cast<std::uint16_t>(s.cache.recorded);
      cached->keywords = keywords;
      std::copy_n(s.cache.found.begin(), s.cache.recorded, cached->found.begin());
      std::memcpy(cached->value.data(), value.data(), value.size());
    }
  }
  for (std::size_t i = 0; i < s.fields.size(); ++i)
    s.seen_to[s.fields[i]] =
        i + 1 < s.fields.size() ? s.seen_from[s.fields[i + 1]] : static_cast<std::uint32_t>(s.seen_list.size());
  // The keyword field last: every value of the event that no field scan above covered
  // (the same view: the same bytes), joined, in one scan. A field scan covers a value when
  // its scanner also holds the keyword literals (every field with a scanner); ScriptBlockText,
  // image paths and command lines are no longer read and scanned a second time.
  if (keyword_queued) {
    const std::uint32_t f = keyword_field;
    s.seen_from[f] = static_cast<std::uint32_t>(s.seen_list.size());
    s.seg_begin.clear();
    s.seg_end.clear();
    if (s.stats != nullptr) ++s.stats->fields[f].scanned;
    s.text.clear();
    ev.for_each_value([&s](std::string_view v) {
      for (const auto c : s.covered)
        if (c.data() == v.data() && c.size() == v.size()) return;
      s.seg_begin.push_back(static_cast<std::uint32_t>(s.text.size()));
      s.text.append(v);
      s.seg_end.push_back(static_cast<std::uint32_t>(s.text.size()));
    });
    ok = (s.seg_begin.empty() || scan_text(f, s.text, s)) && ok;
    s.seen_to[f] = static_cast<std::uint32_t>(s.seen_list.size());
  }
  if (!ok) {
    s.scan_ok = false;
    admit_all_filtered(s);
  }
  if (s.stats != nullptr)
    for (auto f : s.fields) s.stats->fields[f].hit += s.field_hit[f] == s.epoch ? 1 : 0;
}

namespace {

// What the scan of this event says about a rule's value tests (see probe).
class scan_oracle final : public detail::value_oracle {
 public:
  scan_oracle(const std::vector<probe>& probes, const std::vector<std::uint32_t>& decided_field,
              const probed_conditions& probed, const regex_clauses& regex_atoms, const scratch& s)
      : probes_(probes), decided_field_(decided_field), probed_(probed), regex_atoms_(regex_atoms), s_(s) {}
  [[nodiscard]] std::optional<bool> known(const field_condition& fc) const override {
    if (fc.decided == 0 || !s_.scan_ok || s_.field_queued[decided_field_[fc.decided]] != s_.epoch) return std::nullopt;
    return s_.decided_true[fc.decided] == s_.epoch;
  }
  [[nodiscard]] std::optional<bool> known(const value_matcher& m) const override {
    if (m.probe == 0) return std::nullopt;
    const probe& p = probes_[m.probe];
    if (!s_.scan_ok || s_.field_queued[p.field] != s_.epoch) return std::nullopt;  // field not scanned
    if (p.regex()) {
      for (std::uint32_t c = p.clause_from; c < p.clause_to; ++c) {
        bool any = false;
        for (std::uint32_t a = regex_atoms_.begin[c]; a < regex_atoms_.begin[c + 1] && !any; ++a)
          any = s_.literal_seen[regex_atoms_.atoms[a]] == s_.epoch;
        if (!any) return false;  // no atom of this clause in the value: RE2 would say no
      }
      return std::nullopt;
    }
    if (s_.literal_seen[p.seen] != s_.epoch) return false;
    return p.definitive_true ? std::optional<bool>(true) : std::nullopt;
  }
  [[nodiscard]] std::optional<std::optional<std::string_view>> value(const field_condition& fc) const override {
    if (fc.scanned == 0) return std::nullopt;
    const std::uint32_t f = fc.scanned - 1;
    if (s_.field_queued[f] != s_.epoch) return std::nullopt;  // not read for this event
    return s_.value_of[f];
  }
  [[nodiscard]] std::optional<bool> seen_values_match(const field_condition& fc, const sigma_event& ev) const override {
    if (fc.probed == 0 || !s_.scan_ok) return std::nullopt;
    const std::uint32_t f = probed_.field[fc.probed];
    if (s_.field_queued[f] != s_.epoch) return std::nullopt;  // field not scanned
    using value_t = probed_conditions::value;
    const value_t* const begin = probed_.values.data() + probed_.begin[fc.probed];
    const value_t* const end = probed_.values.data() + probed_.begin[fc.probed + 1];
    const std::uint32_t* const seen = s_.seen_list.data() + s_.seen_from[f];
    const std::uint32_t seen_count = s_.seen_to[f] - s_.seen_from[f];
    std::optional<std::optional<std::string_view>> value;  // read once, when a value needs it
    const auto matches = [&](const value_t& v) {
      if (!value) value.emplace(s_.value_of[f]);  // the field was scanned: read then
      return v.m->matches(*value, ev);
    };
    // The shorter side: the field's seen literals looked up among the values, or the values
    // checked against the seen marks.
    if (seen_count < static_cast<std::size_t>(end - begin)) {
      for (std::uint32_t i = 0; i < seen_count; ++i) {
        const auto by_seen = [](const value_t& v, std::uint32_t id) { return v.seen < id; };
        for (const value_t* v = std::lower_bound(begin, end, seen[i], by_seen); v != end && v->seen == seen[i]; ++v)
          if (matches(*v)) return true;
      }
      return false;
    }
    for (const value_t* v = begin; v != end; ++v)
      if (s_.literal_seen[v->seen] == s_.epoch && matches(*v)) return true;
    return false;
  }

 private:
  const std::vector<probe>& probes_;
  const std::vector<std::uint32_t>& decided_field_;
  const probed_conditions& probed_;
  const regex_clauses& regex_atoms_;
  const scratch& s_;
};

}  // namespace

rule_set::rule_set() : rule_set(std::vector<rule>{}) {}
rule_set::rule_set(std::vector<rule> rules, rule_set_options options)
    : impl_(std::make_unique<impl>(std::move(rules), options)) {}
rule_set::~rule_set() = default;
rule_set::rule_set(rule_set&&) noexcept = default;
rule_set& rule_set::operator=(rule_set&&) noexcept = default;

void rule_set::impl::evaluate(std::span<const event_logsource> sources, const sigma_event& ev,
                              std::vector<const rule*>& hits, eval_counters& counters, prefilter_stats* stats) const {
  scratch& s = thread_scratch();
  s.begin(rules.size(), groups.size(), fields.size(), seen_ids, decided_field.size());
  s.stats = stats;
  s.hs = detail::scratch_for(id, scanners);
  if (stats != nullptr && stats->fields.size() != fields.size()) {
    stats->fields.assign(fields.size(), {});
    for (std::size_t f = 0; f < fields.size(); ++f) stats->fields[f].field = fields[f].name;
  }
  for (std::size_t k = 0; k < sources.size(); ++k) admit_groups(sources[k], k, s, counters.considered);
  scan_fields(ev, s);
  // Unfiltered rules and scan hits arrive group by group and literal by literal.
  std::sort(s.candidates.begin(), s.candidates.end());
  const scan_oracle oracle(probes, decided_field, probed, regex_atoms, s);
  std::erase_if(s.candidates, [&](std::uint32_t r) {
    ++counters.evaluated;
    return !detail::matches(rules[r], ev, &oracle);
  });
  // As one evaluate() per source would give them: source by source, in load order.
  for (std::size_t k = 0; k < sources.size(); ++k)
    for (auto r : s.candidates)
      if ((s.group_sources[group_of[r]] >> k & 1U) != 0) {
        ++counters.matched;
        hits.push_back(&rules[r]);
      }
}

void rule_set::evaluate(const event_logsource& src, const sigma_event& ev, std::vector<const rule*>& hits,
                        eval_counters* counters, prefilter_stats* stats) const {
  evaluate(std::span<const event_logsource>(&src, 1), ev, hits, counters, stats);
}

void rule_set::evaluate(std::span<const event_logsource> sources, const sigma_event& ev,
                        std::vector<const rule*>& hits, eval_counters* counters, prefilter_stats* stats) const {
  eval_counters local;
  // Bit k of a group's source mask is source k: at most 64 sources per pass.
  for (std::size_t at = 0; at < sources.size(); at += k_max_sources)
    impl_->evaluate(sources.subspan(at, std::min(k_max_sources, sources.size() - at)), ev, hits, local, stats);
  if (counters) {
    counters->considered += local.considered;
    counters->evaluated += local.evaluated;
    counters->matched += local.matched;
  }
}

std::size_t rule_set::size() const noexcept { return impl_->rules.size(); }
const std::vector<rule>& rule_set::rules() const noexcept { return impl_->rules; }
std::size_t rule_set::unfiltered() const noexcept { return impl_->unfiltered; }
std::size_t rule_set::prefilter_memory_bytes() const noexcept {
  std::size_t bytes = 0;
  const impl& d = *impl_;
  for (const auto& f : d.fields) {
    bytes += f.scanner.memory_bytes() + f.hex.memory_bytes() + f.scanner_ids.capacity() * sizeof(std::uint32_t) +
             (f.sub_len.capacity() + f.sub_begin.capacity() + f.exact_begin.capacity()) * sizeof(std::uint32_t) +
             (f.sub_postings.capacity() + f.exact_postings.capacity()) * sizeof(posting);
    bytes += f.exact.memory_bytes();
  }
  return bytes;
}

}  // namespace countersign::rules::sigma
