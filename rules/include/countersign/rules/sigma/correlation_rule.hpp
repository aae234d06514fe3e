#pragma once
// A Sigma correlation rule as loaded (Sigma specification 2.x, "Sigma Correlation Rules"):
// plain data, filled by the loader (rules/src/sigma/correlation.cpp) from a YAML document
// with a `correlation:` section. References to other rules are checked across every
// loaded file by link_correlations() (correlation.hpp); evaluation is correlation.hpp's.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::rules::sigma {

enum class correlation_type : std::uint8_t { event_count, value_count, temporal, temporal_ordered };
[[nodiscard]] std::string_view to_string(correlation_type t) noexcept;

// `condition:` of a correlation: every bound given must hold (a range is two bounds).
struct count_condition {
  std::optional<std::uint64_t> gt, gte, lt, lte, eq;

  [[nodiscard]] bool holds(std::uint64_t n) const noexcept;
  // lt, lte or eq: a window's count can still grow past the bound, so such a window is
  // judged once it is closed; otherwise the condition, once true, stays true as events
  // are added, and the window fires as soon as it holds.
  [[nodiscard]] bool bounded_above() const noexcept { return lt || lte || eq; }
  // The smallest count that satisfies the lower bounds (1 when there are none).
  [[nodiscard]] std::uint64_t lower() const noexcept;
};

// `aliases:` entry: one group-by name standing for a different field in the events of
// each referenced rule.
struct correlation_alias {
  std::string name;
  std::vector<std::pair<std::string, std::string>> fields;  // rule reference (name or id) -> field
  int line = 0;
};

struct correlation_rule {
  std::string file;
  int line = 0;  // 1-based line of the document's first key
  std::string id, name, title, status, level, description;
  std::vector<std::string> tags, falsepositives;
  correlation_type type = correlation_type::event_count;
  std::vector<std::string> rules;  // references as written: a rule's (or correlation's) id or name
  std::vector<int> rule_lines;     // the line of each reference
  std::vector<std::string> group_by;
  std::vector<correlation_alias> aliases;
  std::string timespan_text;
  std::int64_t timespan_ms = 0;
  count_condition condition;  // temporal types without `condition:`: every referenced rule
  bool condition_given = false;
  std::string value_field;  // value_count: the field whose distinct values are counted
  bool generate = false;
  int rules_line = 0, group_by_line = 0, condition_line = 0;

  // What state and alert ids are keyed by: the id, else the name, else the title.
  [[nodiscard]] const std::string& key() const noexcept;
};

}  // namespace countersign::rules::sigma
