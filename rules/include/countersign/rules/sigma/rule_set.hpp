#pragma once
// A compiled set of Sigma rules, evaluated per event.
//
// Two filters keep the cost per event far below "every rule, every event":
//   * logsource index: an event states its own logsource (category, product, service);
//     only rules whose logsource admits it are considered (a rule field left empty
//     admits any value);
//   * literal prefilter: for each rule, up to 8 clauses derived from its condition that
//     every matching event satisfies, each a set of needles of which one must occur:
//     a literal in a field (case-insensitively), a field's whole value, or a keyword
//     literal in any value. Each needed field's value is scanned once per event (one
//     Hyperscan literal database per field; keywords: all values joined, one scan;
//     whole values: one hash lookup); a rule is evaluated only when each of its clauses
//     has a hit (rules without clauses always), and its contains / equality tests are
//     answered from the same scan instead of searched again.
// The result is exactly that of sigma::matches() over every admitted rule.
// Immutable once built; share it across threads with shared_ptr<const rule_set>.
// evaluate() keeps its scratch (marks, candidate list, the per-logsource admission cache,
// the Hyperscan scratch, a cache of recent values' scan results of 5.9 MiB) in
// thread_local storage that only grows, so it allocates nothing per event once warm; it must not be re-entered from the sigma_event callbacks of the
// same thread. Construction throws on a Hyperscan compile or allocation failure (rule
// load time). A moved-from rule_set may only be assigned to or destroyed.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "countersign/rules/sigma/sigma.hpp"

namespace countersign::rules::sigma {

// The logsource an event belongs to, as its input profile determines it. Lowercase.
struct event_logsource {
  std::string_view category;  // process_creation, image_load, driver_load, registry_set, ...
  std::string_view product;   // windows
  std::string_view service;   // sysmon, codeintegrity-operational, security, system, ...
};

// Per-evaluation counters. evaluate() adds to them (it never resets), so one struct can
// sum a whole batch or a fresh one can describe one event.
struct eval_counters {
  std::uint64_t considered = 0;  // rules admitted by logsource
  std::uint64_t evaluated = 0;   // rules evaluated in full (survived the prefilter)
  std::uint64_t matched = 0;
};

// rule_set_options and prefilter_stats exist (bench/sigma_bench.cpp also builds against
// the engine before them, for the "before" rows of docs/benchmarks.md).
#define COUNTERSIGN_SIGMA_RULE_SET_OPTIONS 1
// evaluate() takes all logsources of an event at once (bench/sigma_bench.cpp calls it
// once per source without it).
#define COUNTERSIGN_SIGMA_EVALUATE_SOURCES 1

// Per-field prefilter counts, summed like eval_counters (evaluate() sizes `fields` to the
// set's needle fields on first use; "" is the keyword pseudo-field, every value).
struct prefilter_stats {
  struct field {
    std::string field;
    std::uint64_t scanned = 0;  // events whose value of it was scanned for an admitted rule
    std::uint64_t hit = 0;      // of those, scans with a needle of an admitted rule
  };
  std::vector<field> fields;
};

// How the set is built. Both literal engines give the same results (the prefilter only
// decides which rules are evaluated); they differ in speed and memory.
struct rule_set_options {
  enum class literal_engine : std::uint8_t { hyperscan, aho_corasick };
  literal_engine engine = literal_engine::hyperscan;
};

class rule_set {
 public:
  rule_set();
  explicit rule_set(std::vector<rule> rules, rule_set_options options = {});
  ~rule_set();
  rule_set(rule_set&&) noexcept;
  rule_set& operator=(rule_set&&) noexcept;

  // Appends the rules matching `ev` to `hits` (not cleared), in load order.
  void evaluate(const event_logsource& src, const sigma_event& ev, std::vector<const rule*>& hits,
                eval_counters* counters = nullptr, prefilter_stats* stats = nullptr) const;
  // An event of several logsources: the same `hits` as one evaluate() per source in turn
  // (a rule that two sources admit appears twice), but each field is read and scanned
  // once and each rule evaluated at most once (counters->evaluated counts it once).
  void evaluate(std::span<const event_logsource> sources, const sigma_event& ev, std::vector<const rule*>& hits,
                eval_counters* counters = nullptr, prefilter_stats* stats = nullptr) const;

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] const std::vector<rule>& rules() const noexcept;
  // Rules that have no usable literal set and are evaluated whenever their logsource admits.
  [[nodiscard]] std::size_t unfiltered() const noexcept;
  // Heap bytes of the prefilter automata (not of the rules themselves).
  [[nodiscard]] std::size_t prefilter_memory_bytes() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace countersign::rules::sigma
