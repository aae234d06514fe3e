#pragma once
// Binary wire format of `observation`, for passing normalized events between pipeline
// stages over internal topics (docs/design.md section 3: binary, versioned).
//
// The first byte is the format version; then every field in declaration order: text
// fields and optionals with their presence (missing and empty stay distinct), enums as
// one byte, integers as LEB128 varints (zigzag when signed), host_hash as 8 fixed bytes.
// The exact layout is documented in rules/src/observation_codec.cpp.
//
// Messages come from another process, so decoding treats them as untrusted: any byte
// string yields either the observation or an error, never a read out of bounds.

#include <countersign/rules/observation.hpp>

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace countersign::rules {

// The version encode_observation writes and the only one decode_observation accepts.
inline constexpr std::uint8_t k_observation_format_version = 1;

// Appends the encoding of `obs` to `out` (does not clear it).
void encode_observation(const observation& obs, std::string& out);

enum class observation_decode_error : std::uint8_t {
  truncated,       // the input ends inside a field, or a length runs past its end
  bad_version,     // a format version this build does not know
  bad_value,       // a byte no encoder writes: enum or presence tag out of range, varint too long
  trailing_bytes,  // bytes left after a complete observation
};

[[nodiscard]] std::string_view to_string(observation_decode_error e) noexcept;

// Decodes the whole of `in` into `obs`. `obs` is reset() first, so a reused instance
// keeps its string capacity and nothing of its previous value; on error it is left
// reset, never half-filled.
[[nodiscard]] std::expected<void, observation_decode_error> decode_observation(std::string_view in,
                                                                              observation& obs);

}  // namespace countersign::rules
