#pragma once
// Multi-pattern substring search (Aho-Corasick), ASCII case-insensitive, as one dense DFA.
//
// Bytes are first mapped to a byte class: every distinct (lowercased) byte that occurs in
// some pattern gets a class of its own, an uppercase ASCII letter shares the class of its
// lowercase form, and every other byte falls into class 0. The DFA has one row of
// `classes()` transitions per trie state, failure links already folded in, so a scan is
// one table load per input byte and never backtracks. A transition's top bit says "the
// target state ends at least one pattern"; only then are the outputs looked at.
//
// Private to rules/src/sigma (used by literal_scanner). Immutable once built; scan() is const
// and may run on many threads at once.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules::sigma::detail {

class aho_corasick {
 public:
  aho_corasick() = default;
  // `patterns` are compared ASCII-case-insensitively; an empty pattern never matches.
  // Throws std::length_error when the table would not fit 31-bit offsets (rule load time).
  explicit aho_corasick(const std::vector<std::string>& patterns);

  // Calls on_match(index into the constructor's patterns) once for every occurrence of
  // every pattern in `text`, at the position where the occurrence ends.
  template <class F>
  void scan(std::string_view text, F&& on_match) const {
    scan_ends(text, [&](std::uint32_t pattern, std::size_t) { on_match(pattern); });
  }
  // As scan(), also passing the offset one past the occurrence's last byte.
  template <class F>
  void scan_ends(std::string_view text, F&& on_match) const {
    if (delta_.empty()) return;
    std::uint32_t row = 0;
    for (std::size_t at = 0; at < text.size(); ++at) {
      const std::uint32_t next = delta_[row + class_of_[static_cast<unsigned char>(text[at])]];
      row = next & k_row_mask;
      if ((next & k_output_bit) == 0) continue;
      const std::uint32_t state = row / classes_;
      for (std::uint32_t i = out_begin_[state]; i < out_begin_[state + 1]; ++i) on_match(out_[i], at + 1);
    }
  }

  [[nodiscard]] std::size_t states() const noexcept { return out_begin_.empty() ? 0 : out_begin_.size() - 1; }
  [[nodiscard]] std::size_t classes() const noexcept { return classes_; }
  // Heap bytes held by the tables.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  static constexpr std::uint32_t k_output_bit = 0x8000'0000U;
  static constexpr std::uint32_t k_row_mask = 0x7FFF'FFFFU;

  std::array<std::uint8_t, 256> class_of_{};
  std::uint32_t classes_ = 1;
  std::vector<std::uint32_t> delta_;      // states x classes; row offset | k_output_bit
  std::vector<std::uint32_t> out_begin_;  // per state, into out_; one past the end last
  std::vector<std::uint32_t> out_;        // pattern indices ending at a state, suffixes included
};

}  // namespace countersign::rules::sigma::detail
