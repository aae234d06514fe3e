#pragma once
// Hash-like substring literals of one field, found by hash lookups instead of a literal
// automaton: `Hashes|contains: 'SHA256=2fb6…'`, thousands of them in SigmaHQ (the Hashes
// field's Hyperscan database was 1.1 MB, scanned for every process creation and image
// load, mostly cache misses).
//
// A literal qualifies when it holds a run of at least k_min_run hex digits that does not
// start the literal ("sha256=" + 64 digits, "imphash=" + 32, ",md5=" + 32 + ","): its
// longest such run R, at offset `at`. Wherever the literal occurs in a value, R occurs
// there too, preceded by the non-hex byte before it in the literal, so R is the start of
// a maximal run of hex digits in the value (one that does not start the value). scan()
// therefore walks the value's maximal hex runs, looks up each run's prefix of every
// length some R has, and compares the whole literal around a prefix that hits. Every
// literal that occurs is reported (at least once), and only those: the same answer as a
// case-insensitive substring search.
//
// Private to rules/src/sigma (used by rule_set). Immutable once built; scan() is const and
// may run on many threads at once.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::rules::sigma::detail {

class hex_literals {
 public:
  static constexpr std::size_t k_min_run = 16;

  // Where the literal's run is (offset, length), or {0, 0} when it does not qualify.
  // `literal` is lowercase.
  [[nodiscard]] static std::pair<std::size_t, std::size_t> run_of(std::string_view literal) noexcept;

  hex_literals() = default;
  // (id, lowercase literal) pairs, each qualifying (run_of() non-empty).
  explicit hex_literals(const std::vector<std::pair<std::uint32_t, std::string>>& literals);

  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  // Calls on_match(id, end) for each literal occurring in `value` (ASCII case-insensitive),
  // `end` one past an occurrence's last byte.
  //
  // The lookups are taken in batches (sixth round): every (run, length) of up to k_batch
  // is hashed and its slot prefetched before the first is compared, so the table's cache
  // misses (a Hashes value has four runs and several lengths each: a miss per lookup, one
  // after the other, was the largest share of scan_fields' samples) overlap. The reports
  // come in the same order as looking each up at once would give.
  template <class F>
  void scan(std::string_view value, F&& on_match) const {
    if (entries_.empty()) return;
    const char* v = value.data();
    const std::size_t size = value.size();
    std::array<lookup, k_batch> batch;
    std::size_t queued = 0;
    const auto flush = [&] {
      for (std::size_t b = 0; b < queued; ++b) find(v, size, batch[b], on_match);
      queued = 0;
    };
    std::size_t i = find_run_edge(v, size, 0, true);
    while (i < size) {
      const std::size_t start = i;
      i = find_run_edge(v, size, i, false);
      if (start == 0) {  // no byte before it: no literal's run starts here
        i = find_run_edge(v, size, i, true);
        continue;
      }
      const std::size_t run = i - start;
      for (const std::uint32_t n : lengths_) {
        if (n > run) break;
        const std::uint64_t h = hash(v + start, n);
        __builtin_prefetch(&table_[h & mask_]);
        batch[queued++] = {h, start, n};
        if (queued == k_batch) flush();
      }
      i = find_run_edge(v, size, i, true);
    }
    flush();
  }

 private:
  struct entry {
    std::uint32_t id;
    std::uint32_t text;  // offset in text_
    std::uint32_t len;
    std::uint32_t run_at, run_len;
  };
  struct slot {
    std::uint32_t tag = 0;    // high half of the run's hash
    std::uint32_t entry = 0;  // index + 1 into entries_; 0: empty
  };
  // One run prefix to look up: its hash, where the run starts in the value, its length.
  struct lookup {
    std::uint64_t h;
    std::size_t start;
    std::uint32_t n;
  };
  static constexpr std::size_t k_batch = 16;

  template <class F>
  void find(const char* v, std::size_t size, const lookup& l, F& on_match) const {
    const auto tag = static_cast<std::uint32_t>(l.h >> 32);
    for (std::size_t at_slot = l.h & mask_; table_[at_slot].entry != 0; at_slot = (at_slot + 1) & mask_) {
      if (table_[at_slot].tag != tag) continue;
      const entry& e = entries_[table_[at_slot].entry - 1];
      if (e.run_len != l.n || e.run_at > l.start || l.start - e.run_at + e.len > size) continue;
      const std::size_t at = l.start - e.run_at;
      if (equal_lower(v + at, text_.data() + e.text, e.len)) on_match(e.id, at + e.len);
    }
  }

  static bool is_hex(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    // `|`, not `||`: no branch between digits and letters.
    return (static_cast<unsigned char>(u - '0') < 10) | (static_cast<unsigned char>((u | 0x20) - 'a') < 6);
  }
  // Bit 7 of each byte of `w` that is a hex digit (ASCII; a byte >= 0x80 is not one), the
  // other bits clear. Byte-wise tests branched on digit-or-letter, which a hash value makes
  // unpredictable: the classification loop was a third of the per-field scanning time of
  // the bench's process creations (perf, fourth round).
  static std::uint64_t hex_bytes(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    const std::uint64_t low7 = w & ~high;  // each byte <= 0x7f: the additions below never carry
    const std::uint64_t digit = (low7 + ones * (0x80 - '0')) & ~(low7 + ones * (0x80 - '9' - 1));
    const std::uint64_t folded = low7 | (ones * 0x20);
    const std::uint64_t letter = (folded + ones * (0x80 - 'a')) & ~(folded + ones * (0x80 - 'f' - 1));
    return (digit | letter) & ~w & high;
  }
  // The first index at or after `i` whose byte is a hex digit (`hex`) or is not one (!hex);
  // `size` when there is none. Eight bytes at a time.
  static std::size_t find_run_edge(const char* v, std::size_t size, std::size_t i, bool hex) noexcept {
    constexpr std::uint64_t high = 0x8080808080808080ULL;
    const auto first = [&](std::uint64_t w) {  // bit 7 of each byte of the kind looked for
      if constexpr (std::endian::native == std::endian::big) w = std::byteswap(w);
      const std::uint64_t m = hex_bytes(w);
      return hex ? m : ~m & high;
    };
    for (; i + 8 <= size; i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, v + i, 8);  // a fixed size: one load, not a call
      if (const std::uint64_t m = first(w); m != 0) return i + static_cast<std::size_t>(std::countr_zero(m)) / 8;
    }
    for (; i < size; ++i)
      if (is_hex(v[i]) == hex) return i;
    return size;
  }
  // Of hex digits only: |0x20 lowercases A-F and leaves 0-9 as they are.
  static std::uint64_t hash(const char* p, std::size_t n) noexcept {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p + i, 8);
      h = (h ^ (w | 0x2020202020202020ULL)) * 0xFF51AFD7ED558CCDULL;
      h ^= h >> 32;
    }
    if (i < n) {
      std::uint64_t w = 0;
      std::memcpy(&w, p + i, n - i);
      h = (h ^ (w | (0x2020202020202020ULL >> (8 * (8 - (n - i)))))) * 0xFF51AFD7ED558CCDULL;
      h ^= h >> 32;
    }
    return h * 0xC4CEB9FE1A85EC53ULL;
  }
  static bool equal_lower(const char* value, const char* lower, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(value[i]);
      const auto l = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
      if (l != static_cast<unsigned char>(lower[i])) return false;
    }
    return true;
  }

  std::vector<entry> entries_;
  std::string text_;
  std::vector<std::uint32_t> lengths_;  // distinct run lengths, ascending
  std::vector<slot> table_;             // open addressing, linear probing
  std::size_t mask_ = 0;
};

}  // namespace countersign::rules::sigma::detail
