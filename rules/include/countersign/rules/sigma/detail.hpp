#pragma once
#include <countersign/rules/ascii.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace countersign::rules::sigma {
struct field_condition;
struct rule;
struct sigma_event;
struct value_matcher;
}  // namespace countersign::rules::sigma

namespace countersign::rules::sigma::detail {
inline constexpr char lower_ascii(char c) noexcept { return rules::detail::ascii_lower(c); }
bool parse_ip(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out);

// What is already known of a value test for the event at hand (the rule_set prefilter
// has scanned the field for the test's literal): true, false, or nullopt (evaluate it).
// Keyword tests (no field name) are about every value of the event.
class value_oracle {
 public:
  virtual ~value_oracle() = default;
  [[nodiscard]] virtual std::optional<bool> known(const value_matcher& m) const = 0;
  // The same for a whole field condition (every value of it answered by the scan).
  [[nodiscard]] virtual std::optional<bool> known(const field_condition& fc) const = 0;
  // The same for a field condition whose values' literals the scan looked for
  // (field_condition::probed, not |all): true when a value whose literal was seen in the
  // field matches the field's value, false when none does (the field is read only then);
  // nullopt when the scan cannot say. The values whose literal was not seen are false
  // without being evaluated.
  [[nodiscard]] virtual std::optional<bool> seen_values_match(const field_condition& fc,
                                                              const sigma_event& ev) const = 0;
  // The condition's field value as the scan read it from this event (nullopt inside:
  // missing or null), or nullopt when the scan did not read it (ask the event).
  [[nodiscard]] virtual std::optional<std::optional<std::string_view>> value(const field_condition& fc) const = 0;
};

// sigma::matches() with the answers `oracle` knows taken as given (null: none).
[[nodiscard]] bool matches(const rule& r, const sigma_event& ev, const value_oracle* oracle);
}  // namespace countersign::rules::sigma::detail
