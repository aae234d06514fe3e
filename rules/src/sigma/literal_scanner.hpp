#pragma once
// One field's literal search for the rule_set prefilter: a set of ASCII-case-insensitive
// literals, scanned once over a value, reporting which literals occur (each at least
// once; the offset one past the end of the reported occurrence comes with it). Two
// engines, chosen when the rule set is built (rule_set_options::engine) so the bench can
// compare them on the same rules:
//
//   * hyperscan: Hyperscan 5.4 literal database (hs_compile_lit_multi, HS_FLAG_CASELESS |
//     HS_FLAG_SINGLEMATCH: one report per literal and scan), block mode. Its scratch is per thread
//     (thread_local, grown to fit every database of a set the first time the thread scans with that set);
//   * aho_corasick: the project's own dense DFA (aho_corasick.hpp).
//
// Private to rules/src/sigma. Immutable once built; scan() is const and may run on many
// threads at once. A literal set Hyperscan refuses to compile is scanned with the
// automaton instead. Construction throws std::length_error (automaton too large) or
// std::runtime_error (no memory for a Hyperscan scratch), at rule load time only.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aho_corasick.hpp"

struct hs_database;
struct hs_scratch;

namespace countersign::rules::sigma::detail {

enum class scan_engine : std::uint8_t { hyperscan, aho_corasick };

class literal_scanner {
 public:
  using on_match_fn = void (*)(std::uint32_t literal, std::size_t end, void* ctx);

  literal_scanner() = default;
  // `literals` non-empty strings; indices are what scan() reports.
  literal_scanner(scan_engine engine, const std::vector<std::string>& literals);
  ~literal_scanner();
  literal_scanner(literal_scanner&&) noexcept;
  literal_scanner& operator=(literal_scanner&&) noexcept;

  // `scratch`: scratch_for() of the set this scanner belongs to (unused by aho_corasick).
  // False when the scan failed (Hyperscan without scratch or a text over 4 GiB): some
  // occurrences may not have been reported.
  [[nodiscard]] bool scan(std::string_view text, on_match_fn on_match, void* ctx, hs_scratch* scratch) const;

  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  // The calling thread's Hyperscan scratch, grown (once per thread and set) to fit every
  // scanner of the set `set_id` (a process-unique id of the set: a new set, a new id).
  // Null only when allocation failed.
  friend hs_scratch* scratch_for(std::uint64_t set_id, std::span<const literal_scanner* const> scanners);

 private:
  scan_engine engine_ = scan_engine::aho_corasick;
  aho_corasick automaton_;
  hs_database* db_ = nullptr;
};

hs_scratch* scratch_for(std::uint64_t set_id, std::span<const literal_scanner* const> scanners);

}  // namespace countersign::rules::sigma::detail
