#pragma once
// Why an input message was rejected. Every reason has its own counter and travels to
// the dead-letter topic in the `countersign.reason` header.
#include <array>
#include <cstdint>
#include <string_view>

namespace countersign::processor {

enum class reject_reason : std::uint8_t {
  empty,            // zero-length payload (a tombstone or a broken producer)
  too_large,        // payload above input.max_message_bytes
  invalid_json,     // not well-formed JSON (including trailing garbage)
  not_an_object,    // well-formed JSON whose top level is not an object
  unknown_schema,   // an object in none of the supported input schemas
  wrong_type,       // a mapped field of the wrong JSON type
  missing_field,    // a field the schema requires is absent
  field_too_large,  // one field above input.max_field_bytes
  bad_timestamp,    // a timestamp that is not RFC 3339 or epoch time
  bad_internal_record,  // an internal-topic record that does not decode (version skew, corruption)
};

inline constexpr std::size_t k_reject_reason_count = 10;

[[nodiscard]] constexpr std::string_view to_string(reject_reason r) noexcept {
  constexpr std::array<std::string_view, k_reject_reason_count> k_names = {
      "empty",       "too_large",       "invalid_json",  "not_an_object", "unknown_schema",
      "wrong_type",  "missing_field",   "field_too_large", "bad_timestamp", "bad_internal_record"};
  return k_names[static_cast<std::size_t>(r)];
}

}  // namespace countersign::processor
