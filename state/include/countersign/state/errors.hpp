#pragma once
// Why a stored state record could not be read. Records come back from disk, from a
// changelog topic or from another instance, so they are untrusted input: decoding
// returns one of these instead of crashing, and the caller counts the reason.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace countersign::state {

enum class decode_error : std::uint8_t {
  truncated,       // the buffer ends inside a field
  bad_version,     // a format version this build does not know
  bad_kind,        // an unknown representation tag (distinct_set kind)
  bad_value,       // a field out of range or out of order (register value, count, sort order)
  trailing_bytes,  // bytes left after a complete record
};

inline constexpr std::size_t k_decode_error_count = 5;

[[nodiscard]] constexpr std::string_view to_string(decode_error e) noexcept {
  constexpr std::array<std::string_view, k_decode_error_count> k_names = {
      "truncated", "bad_version", "bad_kind", "bad_value", "trailing_bytes"};
  return k_names[static_cast<std::size_t>(e)];
}

}  // namespace countersign::state
