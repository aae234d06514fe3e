#pragma once
// Shared machinery of the input profiles: typed readers for On-Demand values that turn
// every type problem into a `reject_reason` naming the field, and the context a profile
// walker reports through. Internal to the processor module.
//
// Readers treat JSON null as missing (the field stays unset) and accept the loose forms
// real pipelines produce: booleans as "true"/"false" strings, numbers as numeric strings,
// timestamps as RFC 3339 strings or epoch seconds/milliseconds.

#include <countersign/processor/input_parser.hpp>
#include <countersign/processor/observation_batch.hpp>
#include <countersign/processor/reject_reason.hpp>
#include <countersign/rules/observation.hpp>

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <string_view>

namespace countersign::processor::detail {

namespace od = simdjson::ondemand;

enum class walk_status : std::uint8_t { ok, failed };

// A scalar member of an EventData-like object: the string's content, or the raw token of
// a number or boolean. Views into the parser's buffer, valid until the next message.
struct raw_field {
  std::string_view name;
  std::string_view value;
};

struct walk_context {
  const parser_limits& limits;
  parse_error& error;
  std::string path;                 // dotted path of the value being read, for error details
  std::vector<raw_field> fields;    // scratch for collect_fields
  rules::observation side;          // scratch for facts a profile sorts out after the walk

  walk_status fail(reject_reason reason, std::string_view detail = {});
  walk_status fail_json(simdjson::error_code err);

  // RAII: appends ".key" to `path` for the lifetime of the guard.
  class scope {
   public:
    scope(walk_context& c, std::string_view key);
    ~scope();
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

   private:
    walk_context& c_;
    std::size_t saved_;
  };

  // The key of an object member. Reads it in place (no copy) unless it has escapes.
  walk_status key(od::field& f, std::string_view& out);

  // Strings: a string value, or the first string of an array (ECS keyword arrays).
  walk_status text(od::value v, rules::text_field& out);
  // Same, lowercase hex without separators (hashes, thumbprints, serials).
  walk_status hex(od::value v, rules::text_field& out);
  // A string view into the parser's buffer (valid until the next message); `present`
  // false when the value is null. Enforces max_field_bytes.
  walk_status view(od::value v, std::string_view& out, bool& present);
  // A string's content, or the raw token of a number or boolean; `scalar` false for
  // null, objects and arrays (which are skipped).
  walk_status scalar(od::value v, std::string_view& out, bool& scalar);
  // true/false, or the strings "true"/"false" (any case).
  walk_status boolean(od::value v, std::optional<bool>& out);
  // An integer: a JSON number, or a string in decimal or 0x-hex.
  walk_status integer(od::value v, std::optional<std::int64_t>& out);
  // A time: RFC 3339 string, or epoch seconds/milliseconds (number or numeric string).
  walk_status time(od::value v, std::optional<std::int64_t>& out);

  // Converts a string already read (view) with the same rules.
  walk_status time_from(std::string_view s, std::optional<std::int64_t>& out);
  walk_status integer_from(std::string_view s, std::optional<std::int64_t>& out);
};

// The key of an object member as written, up to its closing quote or its first
// backslash, without copying (stage 1 validated the structure, so the quote is there).
// `*escaped` tells whether it stopped at a backslash.
inline std::string_view raw_key(od::field& f, bool* escaped = nullptr) {
  const char* begin = f.key().raw();
  const char* end = begin;
  while (*end != '"' && *end != '\\') ++end;
  if (escaped) *escaped = *end == '\\';
  return {begin, static_cast<std::size_t>(end - begin)};
}

// Correlation ActivityID as the join key: lowercase, braces removed.
void set_activity_id(rules::text_field& out, std::string_view raw);

// Post-processing shared by all profiles once an observation is complete: subject CN/O
// from a DN, issuer CN, unsigned status from exists=false, host hash.
void finish_signature(rules::observation& o);
void finish_host(rules::observation& o);

// The profile walkers. Each reads one top-level object and appends observations.
walk_status walk_ecs(od::object root, walk_context& c, observation_batch& out);
walk_status walk_ocsf(od::object root, walk_context& c, observation_batch& out);
walk_status walk_defender(od::object root, walk_context& c, observation_batch& out);
walk_status walk_codeintegrity(od::object root, walk_context& c, observation_batch& out);

// Appends the scalar members of `obj` to `c.fields` (nested objects and arrays skipped).
walk_status collect_fields(od::object obj, walk_context& c);

// Code Integrity EventData (flat, or Winlogbeat's winlog.event_data) into `o.ci`,
// `o.signature` and the file facts; sets kind and class from `event_id`. Field names
// differ by event and version (3033/3034 vs spaced 3076/3077 v5 vs 3089).
walk_status apply_ci_fields(std::span<const raw_field> fields, std::int64_t event_id, walk_context& c,
                            rules::observation& o);

}  // namespace countersign::processor::detail
