#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace countersign::rules {

enum class severity : std::uint8_t { info, low, medium, high, critical };

[[nodiscard]] std::string_view to_string(severity s) noexcept;
[[nodiscard]] std::optional<severity> parse_severity(std::string_view s) noexcept;

}  // namespace countersign::rules
