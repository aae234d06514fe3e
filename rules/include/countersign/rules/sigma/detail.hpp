#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace countersign::rules::sigma::detail {
inline char lower_ascii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool parse_ip(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out);
}  // namespace countersign::rules::sigma::detail
