#pragma once
// The parser entry point: one input message in, zero or more `observation`s out.
//
// The input schema is detected per message from its top-level keys (or forced per topic
// by config), then the profile's walker reads the document with simdjson On-Demand:
//   ECS            `@timestamp`, `ecs`, `host`, `process`, `file`, `winlog`, dotted `host.*`...
//                  (Elastic Defend; Winlogbeat Sysmon 1/6/7 and Code Integrity by channel)
//   OCSF           `class_uid` (Process Activity, 1007)
//   Defender       `DeviceId` / `DeviceName` / `ActionType` rows, or the export envelope `records[]`
//   Windows        flat System + EventData keys (NXLog, Logstash, Splunk, Cribl); Code
//                  Integrity records without a Channel as `codeintegrity`
//   evtx           `Event` (System / EventData / UserData), or bare `System` + `EventData`
//   SentinelOne    dotted `src.process.*`, `tgt.*`, `meta.event.name`
//   user profiles  (input.profiles_file and the shipped osquery profile) read what no
//                  built-in profile claims, or everything on a topic pinned to `user`
// One parser per thread; it owns a padded copy buffer that grows to the largest message.

#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/reject_reason.hpp>
#include <countersign/processor/engine/user_profiles.hpp>
#include <countersign/rules/observation.hpp>

#include <simdjson.h>

#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

struct parse_error {
  reject_reason reason;
  std::string detail;  // the field path or simdjson's message; for logs and DLQ headers
};

struct parser_limits {
  std::size_t max_message_bytes = 1 << 20;
  std::size_t max_field_bytes = 4096;
};

// "auto" or a profile name as config writes it; nullopt for anything else.
[[nodiscard]] std::optional<rules::schema_profile> parse_profile_name(std::string_view name) noexcept;

class input_parser {
 public:
  explicit input_parser(parser_limits limits = {});
  ~input_parser();
  input_parser(const input_parser&) = delete;
  input_parser& operator=(const input_parser&) = delete;

  // Parses `bytes` into `out` (cleared first). `forced` (not `unknown`) skips detection;
  // forced `user` with a `user_profile` name reads the message with that profile, without
  // matching. Returns the profile the message was read as. On error `out` is unspecified.
  [[nodiscard]] std::expected<rules::schema_profile, parse_error> parse(
      std::string_view bytes, observation_batch& out,
      rules::schema_profile forced = rules::schema_profile::unknown, std::string_view user_profile = {});

  [[nodiscard]] const parser_limits& limits() const noexcept { return limits_; }

  // The user-defined profiles to try (swapped whole on reload; null: none).
  void set_user_profiles(std::shared_ptr<const user_profile_set> profiles);
  // The user profile that read the last message (empty unless it was read as `user`).
  [[nodiscard]] std::string_view last_user_profile() const;
  // Fields of the last message cut to max_field_bytes (the message was still read).
  [[nodiscard]] std::uint32_t last_truncated_fields() const noexcept;

  // The last message parsed, in the padded copy (SIMDJSON_PADDING readable bytes past
  // `size`, `capacity` in all): valid until the next parse().
  struct padded_message {
    const char* data = nullptr;
    std::size_t size = 0;
    std::size_t capacity = 0;
  };
  [[nodiscard]] padded_message last_message() const noexcept { return {buffer_.data(), last_size_, buffer_.size()}; }
  // The On-Demand document of the last message when its structural index is complete and
  // nothing failed reading it (the message was read, or was an object no profile reads),
  // else null. A reader may rewind() and walk it again instead of indexing the bytes a
  // second time (sigma_document). Valid until the next parse(); rewinding reuses the
  // parser's string buffer, which the walkers no longer need once parse() returned.
  [[nodiscard]] simdjson::ondemand::document* indexed_document() noexcept { return indexed_ ? &doc_ : nullptr; }

 private:
  parser_limits limits_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document doc_;  // of the last message, over parser_
  bool indexed_ = false;              // see indexed_document()
  simdjson::dom::parser dom_parser_;  // validates documents whose top level is not an object
  std::vector<char> buffer_;          // payload copy with SIMDJSON_PADDING spare bytes
  std::size_t last_size_ = 0;         // of the payload in buffer_
  std::shared_ptr<const user_profile_set> user_;
  int user_index_ = -1;  // of the profile that matched the last message
  struct scratch;
  std::unique_ptr<scratch> scratch_;  // walker state reused across messages
};

}  // namespace countersign::processor
