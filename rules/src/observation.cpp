#include <countersign/rules/observation.hpp>
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
  }
  return "unknown";
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

void observation::reset() noexcept {
  event_time_ms.reset();
  host_id.reset();
  host_name.reset();
  host_hash = 0;
  user_name.reset();
  image_path.reset();
  sha256.reset();
  sha1.reset();
  for (text_field* f : {&pe.original_file_name, &pe.company, &pe.product, &pe.description,
                        &pe.file_version}) {
    f->reset();
  }
  auto& sig = signature;
  sig.exists.reset();
  sig.status = signature_status::missing;
  sig.trusted.reset();
  for (text_field* f : {&sig.status_raw, &sig.subject, &sig.subject_cn, &sig.subject_o,
                        &sig.thumbprint, &sig.issuer, &sig.issuer_cn, &sig.serial,
                        &sig.signature_type}) {
    f->reset();
  }
  sig.not_before_ms.reset();
  sig.not_after_ms.reset();
  sig.signing_time_ms.reset();
  source.schema = schema_profile::unknown;
  source.topic.clear();
  source.partition = -1;
  source.offset = -1;
}

}  // namespace countersign::rules
