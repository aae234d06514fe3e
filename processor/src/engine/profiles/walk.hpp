#pragma once
// Shared machinery of the input profiles: typed readers for On-Demand values that turn
// every type problem into a `reject_reason` naming the field, and the context a profile
// walker reports through. Internal to the processor module.
//
// Readers treat JSON null as missing (the field stays unset) and accept the loose forms
// real pipelines produce: booleans as "true"/"false" strings, numbers as numeric strings,
// timestamps as RFC 3339 strings or epoch seconds/milliseconds.

#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/reject_reason.hpp>
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
  // Fields cut to max_field_bytes in this message. A long field is not bad input: the
  // observation keeps its head, Sigma still reads the whole message, and padding a
  // command line past the limit hides nothing (it once rejected the whole event).
  std::uint32_t truncated = 0;

  // Cuts `s` to max_field_bytes at a UTF-8 character boundary, counting the cut.
  void clip(std::string_view& s);

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
  // false when the value is null. Longer than max_field_bytes: clipped (clip()).
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
// Flat Windows event JSON (System and EventData fields side by side; also the flat Code
// Integrity shape): Sysmon 1/6/7 and Code Integrity become observations, every other
// channel and event id an observation of kind `unknown` (out of scope, still seen by Sigma).
walk_status walk_windows(od::object root, walk_context& c, observation_batch& out);
// The same walker for the flat Code Integrity shape, which may omit Channel and Provider.
walk_status walk_codeintegrity(od::object root, walk_context& c, observation_batch& out);
// evtx JSON: Event.System + Event.EventData (object, or Data[] of #attributes.Name/#text)
// or Event.UserData, interpreted like walk_windows.
walk_status walk_evtx(od::object root, walk_context& c, observation_batch& out);
// SentinelOne Deep Visibility / Cloud Funnel (dotted src.process.*, tgt.file.*, module.*).
walk_status walk_sentinelone(od::object root, walk_context& c, observation_batch& out);

// The System facts of a Windows event log record, whatever shape carried it (Winlogbeat's
// winlog.*, flat top-level keys, evtx JSON's Event.System). Views into the parser's buffer.
struct windows_system {
  std::optional<std::int64_t> event_id;
  std::string_view channel, provider, computer, activity_id, user_id;
};

enum class windows_source : std::uint8_t {
  log,              // a Windows event log record (flat or evtx JSON): channel and provider decide
  codeintegrity,    // the flat Code Integrity shape, which may omit Channel
};

// A Windows event record (System facts plus its data items in `c.fields`) as an
// observation: Code Integrity events through apply_ci_fields, Sysmon 1/6/7 through
// apply_sysmon_fields, every other channel and id as kind `unknown` (out of scope for the
// detectors, still evaluated by Sigma). Host and time are required only of the events the
// detectors read. One interpretation for every shape; the walkers only find the facts.
walk_status interpret_windows_event(const windows_system& sys, windows_source source, walk_context& c,
                                    rules::observation& o);

// Sysmon EventData into `o`, filling only what is still unset. `image_side`: a driver or
// image load (6/7), whose ImageLoaded is the judged file and Image the loader.
walk_status apply_sysmon_fields(std::span<const raw_field> fields, bool image_side, walk_context& c,
                                rules::observation& o);

bool is_sysmon(std::string_view channel, std::string_view provider);
// ASCII case-insensitive substring test.
bool contains_ci(std::string_view hay, std::string_view needle);
bool is_code_integrity(std::string_view channel, std::string_view provider);

// Appends the scalar members of `obj` to `c.fields` (nested objects and arrays skipped).
walk_status collect_fields(od::object obj, walk_context& c);

// Code Integrity EventData (flat, or Winlogbeat's winlog.event_data) into `o.ci`,
// `o.signature` and the file facts; sets kind and class from `event_id`. Field names
// differ by event and version (3033/3034 vs spaced 3076/3077 v5 vs 3089).
walk_status apply_ci_fields(std::span<const raw_field> fields, std::int64_t event_id, walk_context& c,
                            rules::observation& o);

}  // namespace countersign::processor::detail
