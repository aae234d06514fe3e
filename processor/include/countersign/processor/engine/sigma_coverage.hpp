#pragma once
// Which loaded Sigma rules can never fire on the configured input shapes, and why
// (`countersign rules check --coverage`, docs/sigma.md "Coverage").
//
// A rule fires only on an event whose logsource it admits (each of its category, product
// and service empty or equal, as rule_set does) and whose fields satisfy its condition.
// The logsources an input shape gives are found by running sigma_view on probe events of
// that shape (probe_logsources), so this report follows the tables evaluation uses. A
// rule is reported only on proof: no probed logsource of any configured shape admits it,
// or every way its condition can be true needs a field that no shape giving its logsource
// can carry (probe_field; a selection that a missing field satisfies, such as `X: null`,
// `X|exists: false` or a `not`, proves nothing). Single-threaded; no state.

#include <countersign/processor/config.hpp>
#include <countersign/rules/sigma/sigma.hpp>

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

enum class coverage_reason : std::uint8_t {
  product,      // no shape gives the rule's product
  service,      // no shape gives its service (an unmapped channel)
  category,     // no shape gives its category
  combination,  // each part is given, never all together (ps_script with service sysmon)
  field,        // its condition needs a field no shape giving its logsource carries
};
[[nodiscard]] std::string_view to_string(coverage_reason r) noexcept;

struct unreachable_rule {
  const rules::sigma::rule* rule = nullptr;
  coverage_reason reason = coverage_reason::service;
  std::string subject;  // what the summary groups by: the service, category, product, field(s)
  std::string why;      // "logsource service=ntlm unmapped: ..."
};

struct coverage_report {
  std::size_t rules = 0;
  std::vector<rules::schema_profile> shapes;
  std::vector<unreachable_rule> unreachable;  // in rule order
};

// The input profiles the configured topics can carry: a topic pinned in input.schemas its
// profile, any other (or `auto`) every built-in profile and user profiles, and unknown
// shapes where they are accepted.
[[nodiscard]] std::vector<rules::schema_profile> configured_shapes(const config& cfg);

[[nodiscard]] coverage_report check_coverage(const std::vector<rules::sigma::rule>& rules,
                                             std::span<const rules::schema_profile> shapes);

// `FILE:LINE: rule ID: never fires: WHY` per unreachable rule, then the summary lines
// (`coverage: ...` and one per reason that occurs, counted per subject).
void write_coverage(const coverage_report& report, std::ostream& out);

}  // namespace countersign::processor
