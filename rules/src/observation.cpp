#include <countersign/rules/observation.hpp>
#include <countersign/rules/observation_fields.hpp>
#include <countersign/rules/severity.hpp>

namespace countersign::rules {

std::string_view to_string(signature_status s) noexcept {
  switch (s) {
    case signature_status::missing: return "missing";
    case signature_status::valid: return "valid";
    case signature_status::expired: return "expired";
    case signature_status::revoked: return "revoked";
    case signature_status::untrusted_root: return "untrusted_root";
    case signature_status::bad_digest: return "bad_digest";
    case signature_status::chain_error: return "chain_error";
    case signature_status::not_signed: return "unsigned";
    case signature_status::unknown: return "unknown";
    case signature_status::other: return "other";
  }
  return "other";
}

std::string_view to_string(schema_profile p) noexcept {
  switch (p) {
    case schema_profile::unknown: return "unknown";
    case schema_profile::ecs: return "ecs";
    case schema_profile::ocsf: return "ocsf";
    case schema_profile::defender: return "defender";
    case schema_profile::codeintegrity: return "codeintegrity";
    case schema_profile::windows: return "windows";
    case schema_profile::evtx: return "evtx";
    case schema_profile::sentinelone: return "sentinelone";
    case schema_profile::user: return "user";
  }
  return "unknown";
}

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::unknown: return "unknown";
    case event_kind::process_start: return "process_start";
    case event_kind::image_load: return "image_load";
    case event_kind::driver_load: return "driver_load";
    case event_kind::file_certificate: return "file_certificate";
    case event_kind::code_integrity: return "code_integrity";
    case event_kind::signature_info: return "signature_info";
    case event_kind::policy: return "policy";
  }
  return "unknown";
}

std::string_view to_string(ci_class c) noexcept {
  switch (c) {
    case ci_class::none: return "none";
    case ci_class::block: return "block";
    case ci_class::block_revoked: return "block_revoked";
    case ci_class::load_revoked: return "load_revoked";
    case ci_class::load_unsigned: return "load_unsigned";
    case ci_class::load_invalid: return "load_invalid";
    case ci_class::audit: return "audit";
    case ci_class::signature_info: return "signature_info";
    case ci_class::policy: return "policy";
  }
  return "none";
}

ci_class ci_class_of(std::int64_t id) noexcept {
  switch (id) {
    case 3023: case 3036: case 3112: return ci_class::block_revoked;
    case 3077: case 3033: case 3104: return ci_class::block;
    case 3021: case 3022: case 3032: case 3035: return ci_class::load_revoked;
    case 3001: case 3037: return ci_class::load_unsigned;
    case 3004: return ci_class::load_invalid;
    case 3076: case 3034: case 3064: case 3066: return ci_class::audit;
    case 3089: return ci_class::signature_info;
    case 3099: case 3095: case 3096: case 3097: case 3098: case 3100: case 3101: case 3102:
    case 3103: case 3105: return ci_class::policy;
    default: return ci_class::none;
  }
}

std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::info: return "info";
    case severity::low: return "low";
    case severity::medium: return "medium";
    case severity::high: return "high";
    case severity::critical: return "critical";
  }
  return "info";
}

std::optional<severity> parse_severity(std::string_view s) noexcept {
  for (auto v : {severity::info, severity::low, severity::medium, severity::high, severity::critical}) {
    if (to_string(v) == s) return v;
  }
  return std::nullopt;
}

namespace {

void reset_value(text_field& v, const text_field& /*unset*/) noexcept { v.reset(); }
void reset_value(std::string& v, const std::string& /*unset*/) noexcept { v.clear(); }
template <class T>
void reset_value(T& v, const T& unset) noexcept {
  v = unset;
}

}  // namespace

// Text keeps its capacity (clear(), not a fresh string): a reused observation stops
// allocating once it has seen its longest values.
void observation::reset() noexcept {
  for_each_observation_field([this](const auto& row) { reset_value(row.of(*this), row.of(k_unset_observation)); });
}

}  // namespace countersign::rules
