#pragma once
// The normalized event: the only thing pipeline stages exchange (docs/design.md section 3).
//
// Its fields are listed once more, in rules/observation_fields.hpp: the codec, reset(),
// `inspect`, user profiles and the Sigma view go by that list.
//
// Parsers fill one reused instance per thread: `reset()` clears values but keeps
// string capacity, so steady-state parsing allocates nothing. Missing is distinct
// from empty: every text field records whether the source carried it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::rules {

// A string the source either carried (possibly empty) or did not.
struct text_field {
  std::string value;
  bool present = false;

  void set(std::string_view v) {
    value.assign(v);
    present = true;
  }
  void reset() noexcept {
    value.clear();
    present = false;
  }
  // True when the source carried a non-empty value.
  [[nodiscard]] bool has_value() const noexcept { return present && !value.empty(); }
  [[nodiscard]] std::string_view view() const noexcept { return value; }
};

// Normalized signature status (docs/detections.md section 1); the raw value is kept beside it.
enum class signature_status : std::uint8_t {
  missing,         // the source said nothing about the status
  valid,
  expired,
  revoked,
  untrusted_root,
  bad_digest,
  chain_error,
  not_signed,
  unknown,         // the source reported it could not tell (not evaluated)
  other,           // a value we do not recognize; kept raw
};

[[nodiscard]] std::string_view to_string(signature_status s) noexcept;
// The last enumerator: what the observation codec accepts. Extend it with the enum.
constexpr signature_status last_enumerator(signature_status) noexcept { return signature_status::other; }

// Which input schema a message was read as.
enum class schema_profile : std::uint8_t {
  unknown,
  ecs,            // Elastic Common Schema: Elastic Defend, Winlogbeat (Sysmon, Code Integrity)
  ocsf,           // OCSF 1.x Process Activity (class_uid 1007)
  defender,       // Microsoft Defender advanced-hunting rows (bare or in the export envelope)
  codeintegrity,  // Code Integrity Operational events as flat JSON (the flat Windows walker)
  windows,        // flat Windows event JSON: System and EventData fields side by side (NXLog, Logstash, Splunk, Cribl)
  evtx,           // evtx JSON: Event.System + Event.EventData / Event.UserData (evtx_dump, .evtx files in replay)
  sentinelone,    // SentinelOne Deep Visibility / Cloud Funnel events (dotted src.process.* keys)
  user,           // a user-defined profile (input.profiles_file); its name travels beside it
};
inline constexpr std::size_t k_schema_profile_count = 9;
constexpr schema_profile last_enumerator(schema_profile) noexcept { return schema_profile::user; }

// What the event reports, independent of schema (Sigma logsources map onto it).
enum class event_kind : std::uint8_t {
  unknown,
  process_start,     // process creation (ECS process start, Sysmon 1, OCSF 1007 launch, Defender process)
  image_load,        // a DLL or image mapped into a process (Sysmon 7)
  driver_load,       // a kernel driver (Sysmon 6)
  file_certificate,  // certificate facts about a file (Defender DeviceFileCertificateInfo)
  code_integrity,    // a Code Integrity verdict (block, audit, revoked/unsigned load)
  signature_info,    // Code Integrity 3089: one signature of a file, joined to its verdict
  policy,            // Code Integrity policy activity (loaded, refreshed)
};

[[nodiscard]] std::string_view to_string(event_kind k) noexcept;
constexpr event_kind last_enumerator(event_kind) noexcept { return event_kind::policy; }

// Code Integrity verdict classes (docs/detections.md section 1).
enum class ci_class : std::uint8_t { none, block, block_revoked, load_revoked, load_unsigned, load_invalid, audit, signature_info, policy };

[[nodiscard]] std::string_view to_string(ci_class c) noexcept;
constexpr ci_class last_enumerator(ci_class) noexcept { return ci_class::policy; }
// The class of a Code Integrity event id; `none` for ids outside the table.
[[nodiscard]] ci_class ci_class_of(std::int64_t event_id) noexcept;

// Facts of a Code Integrity event, and of the 3089 signature events joined to it.
struct codeintegrity_info {
  std::optional<std::int64_t> event_id;
  ci_class klass = ci_class::none;
  text_field activity_id;          // Correlation ActivityID (lowercase, no braces)
  text_field process_name;         // the process that asked for the load
  text_field policy_name;
  text_field policy_id;
  text_field policy_guid;
  std::optional<std::int64_t> requested_signing_level;
  std::optional<std::int64_t> validated_signing_level;
  text_field status;               // NTSTATUS as lowercase 0x hex
  std::optional<std::int64_t> verification_error;  // from the 3089 event(s)
  std::optional<std::int64_t> signature_index;     // 3089: which signature this is
  std::optional<std::int64_t> total_signature_count;
  text_field publisher_tbs_hash;
  text_field issuer_tbs_hash;
  std::optional<bool> user_writable;
  std::uint32_t joined_signatures = 0;  // 3089 events merged into this verdict

  [[nodiscard]] bool present() const noexcept { return event_id.has_value(); }
};

[[nodiscard]] std::string_view to_string(schema_profile p) noexcept;

struct pe_info {
  text_field original_file_name;
  text_field company;
  text_field product;
  text_field description;
  text_field file_version;
};

struct code_signature {
  std::optional<bool> exists;
  signature_status status = signature_status::missing;
  text_field status_raw;
  std::optional<bool> trusted;
  text_field subject;       // as the source gives it (a DN or a bare name)
  text_field subject_cn;
  text_field subject_o;
  text_field thumbprint;    // lowercase hex
  text_field issuer;        // DN when known, else common name
  text_field issuer_cn;
  text_field serial;        // lowercase hex without separators
  std::optional<std::int64_t> not_before_ms;
  std::optional<std::int64_t> not_after_ms;
  std::optional<std::int64_t> signing_time_ms;
  text_field signature_type;

  // A signature is present when the source says so, or, when it is silent,
  // when it reports a status other than "not signed".
  [[nodiscard]] bool is_present() const noexcept {
    if (exists.has_value()) return *exists;
    return status != signature_status::missing && status != signature_status::not_signed;
  }
};

struct provenance {
  schema_profile schema = schema_profile::unknown;
  std::string topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct observation {
  event_kind kind = event_kind::unknown;
  std::optional<std::int64_t> event_time_ms;
  text_field host_id;
  text_field host_name;
  std::uint64_t host_hash = 0;  // 64-bit hash of host_id (or host_name when no id)
  text_field user_name;
  text_field image_path;    // the file judged: the process image, the loaded DLL or driver
  text_field process_path;  // for image/driver loads and Code Integrity: the process that loaded it
  text_field sha256;  // lowercase hex
  text_field sha1;    // lowercase hex
  pe_info pe;
  code_signature signature;
  codeintegrity_info ci;
  provenance source;

  void reset() noexcept;
  // The host key alerts are keyed by: the id, else the name.
  [[nodiscard]] std::string_view host_key() const noexcept {
    return host_id.has_value() ? host_id.view() : host_name.view();
  }
};

}  // namespace countersign::rules
