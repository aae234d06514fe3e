// Code Integrity Operational events (Microsoft-Windows-CodeIntegrity/Operational):
// EventData as flat JSON, and the shared EventData interpretation that the ECS
// (Winlogbeat) profile uses too.
//
// Field names differ by event and version: 3033/3034 carry FileNameBuffer,
// ProcessNameBuffer, RequestedPolicy, ValidatedPolicy, Status; 3076/3077 (v5) carry
// spaced names ("File Name", "Requested Signing Level", "SHA256 Flat Hash", ...); 3089
// carries one signature of the file (PublisherName, IssuerName, NotValidBefore, ...,
// VerificationError). Flat hashes are the file hashes other telemetry reports; the
// non-flat ones are Authenticode hashes and are not used as file identity.

#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <cstdio>
#include <unordered_map>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::signature_status;

// VerificationError of 3089 (docs/detections.md section 1).
signature_status status_from_verification_error(std::int64_t e) {
  switch (e) {
    case 0: return signature_status::valid;
    case 5: return signature_status::expired;
    case 4: case 19: return signature_status::revoked;
    case 7: return signature_status::untrusted_root;
    case 1: case 11: case 23: return signature_status::bad_digest;
    case 27: return signature_status::chain_error;
    case 3: return signature_status::not_signed;
    default: return signature_status::unknown;
  }
}

bool usable(std::string_view v) { return !v.empty() && v != "-"; }

// The EventData names read, across event ids and versions. Names from
// total_signature_count on belong to 3089 only.
enum class ci_field : std::uint8_t {
  none,
  file_name,
  process_name,
  requested_level,
  validated_level,
  status,
  sha256_flat,
  sha1_flat,
  sha256_authenticode,
  sha1_authenticode,
  policy_name,
  policy_id,
  policy_guid,
  user_writable,
  original_file_name,
  file_description,
  product_name,
  file_version,
  activity_id,
  total_signature_count,
  signature_index,
  signature_type,
  verification_error,
  not_before,
  not_after,
  publisher_name,
  issuer_name,
  publisher_tbs_hash,
  issuer_tbs_hash,
};

ci_field ci_field_of(std::string_view name) {
  static const std::unordered_map<std::string_view, ci_field> k_names = {
      {"FileNameBuffer", ci_field::file_name},
      {"File Name", ci_field::file_name},
      {"FileName", ci_field::file_name},
      {"ProcessNameBuffer", ci_field::process_name},
      {"Process Name", ci_field::process_name},
      {"ProcessName", ci_field::process_name},
      {"RequestedPolicy", ci_field::requested_level},
      {"Requested Signing Level", ci_field::requested_level},
      {"RequestedSigningLevel", ci_field::requested_level},
      {"ValidatedPolicy", ci_field::validated_level},
      {"Validated Signing Level", ci_field::validated_level},
      {"ValidatedSigningLevel", ci_field::validated_level},
      {"Status", ci_field::status},
      {"SHA256 Flat Hash", ci_field::sha256_flat},
      {"SHA1 Flat Hash", ci_field::sha1_flat},
      {"SHA256 Hash", ci_field::sha256_authenticode},
      {"SHA1 Hash", ci_field::sha1_authenticode},
      {"PolicyName", ci_field::policy_name},
      {"PolicyNameBuffer", ci_field::policy_name},
      {"PolicyID", ci_field::policy_id},
      {"PolicyIdBuffer", ci_field::policy_id},
      {"PolicyGUID", ci_field::policy_guid},
      {"PolicyGuid", ci_field::policy_guid},
      {"UserWriteable", ci_field::user_writable},
      {"OriginalFileName", ci_field::original_file_name},
      {"FileDescription", ci_field::file_description},
      {"ProductName", ci_field::product_name},
      {"FileVersion", ci_field::file_version},
      {"ActivityID", ci_field::activity_id},
      {"ActivityId", ci_field::activity_id},
      {"TotalSignatureCount", ci_field::total_signature_count},
      {"Signature", ci_field::signature_index},
      {"SignatureType", ci_field::signature_type},
      {"VerificationError", ci_field::verification_error},
      {"NotValidBefore", ci_field::not_before},
      {"NotValidAfter", ci_field::not_after},
      {"PublisherName", ci_field::publisher_name},
      {"IssuerName", ci_field::issuer_name},
      {"PublisherTBSHash", ci_field::publisher_tbs_hash},
      {"IssuerTBSHash", ci_field::issuer_tbs_hash},
  };
  const auto it = k_names.find(name);
  return it == k_names.end() ? ci_field::none : it->second;
}

}  // namespace

walk_status collect_fields(od::object obj, walk_context& c) {
  for (auto member : obj) {
    od::field fld;
    if (auto err = std::move(member).get(fld)) return c.fail_json(err);
    std::string_view key;
    if (auto err = fld.unescaped_key().get(key)) return c.fail_json(err);
    std::string_view value;
    bool is_scalar = false;
    if (c.scalar(fld.value(), value, is_scalar) == walk_status::failed) return walk_status::failed;
    if (!is_scalar) continue;  // null, nested objects and arrays carry nothing we read
    c.fields.push_back({key, value});
  }
  return walk_status::ok;
}

walk_status apply_ci_fields(std::span<const raw_field> fields, std::int64_t event_id, walk_context& c,
                            observation& o) {
  auto& ci = o.ci;
  auto& sig = o.signature;
  ci.event_id = event_id;
  ci.klass = rules::ci_class_of(event_id);
  switch (ci.klass) {
    case rules::ci_class::signature_info: o.kind = rules::event_kind::signature_info; break;
    case rules::ci_class::policy: o.kind = rules::event_kind::policy; break;
    case rules::ci_class::none: o.kind = rules::event_kind::unknown; break;
    default: o.kind = rules::event_kind::code_integrity; break;
  }
  const bool signature_event = ci.klass == rules::ci_class::signature_info;
  rules::text_field sha256_authenticode, sha1_authenticode;

  for (const auto& [name, field_value] : fields) {
    const ci_field f = ci_field_of(name);
    if (f == ci_field::none) continue;
    if (f >= ci_field::total_signature_count && !signature_event) continue;
    if (!usable(field_value)) continue;
    walk_context::scope in(c, name);
    std::string_view value = field_value;
    c.clip(value);
    walk_status s = walk_status::ok;
    switch (f) {
      case ci_field::file_name: o.image_path.set(value); break;
      case ci_field::process_name:
        ci.process_name.set(value);
        o.process_path.set(value);
        break;
      case ci_field::requested_level: s = c.integer_from(value, ci.requested_signing_level); break;
      case ci_field::validated_level: s = c.integer_from(value, ci.validated_signing_level); break;
      case ci_field::status: {
        std::optional<std::int64_t> status;
        s = c.integer_from(value, status);
        if (status) {
          char buf[24];
          std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(*status));
          ci.status.set(buf);
        }
        break;
      }
      case ci_field::sha256_flat: set_normalized_hex(o.sha256, value); break;
      case ci_field::sha1_flat: set_normalized_hex(o.sha1, value); break;
      case ci_field::sha256_authenticode: set_normalized_hex(sha256_authenticode, value); break;
      case ci_field::sha1_authenticode: set_normalized_hex(sha1_authenticode, value); break;
      case ci_field::policy_name: ci.policy_name.set(value); break;
      case ci_field::policy_id: ci.policy_id.set(value); break;
      case ci_field::policy_guid: set_activity_id(ci.policy_guid, value); break;
      case ci_field::user_writable: {
        const auto b = parse_bool(value);
        if (!b) return c.fail(reject_reason::wrong_type);
        ci.user_writable = *b;
        break;
      }
      case ci_field::original_file_name: o.pe.original_file_name.set(value); break;
      case ci_field::file_description: o.pe.description.set(value); break;
      case ci_field::product_name: o.pe.product.set(value); break;
      case ci_field::file_version: o.pe.file_version.set(value); break;
      case ci_field::activity_id:
        if (!ci.activity_id.present) set_activity_id(ci.activity_id, value);
        break;
      case ci_field::total_signature_count: s = c.integer_from(value, ci.total_signature_count); break;
      case ci_field::signature_index: s = c.integer_from(value, ci.signature_index); break;
      case ci_field::signature_type: sig.signature_type.set(value); break;
      case ci_field::verification_error: s = c.integer_from(value, ci.verification_error); break;
      case ci_field::not_before: s = c.time_from(value, sig.not_before_ms); break;
      case ci_field::not_after: s = c.time_from(value, sig.not_after_ms); break;
      case ci_field::publisher_name: sig.subject.set(value); break;
      case ci_field::issuer_name: sig.issuer.set(value); break;
      case ci_field::publisher_tbs_hash: set_normalized_hex(ci.publisher_tbs_hash, value); break;
      case ci_field::issuer_tbs_hash: set_normalized_hex(ci.issuer_tbs_hash, value); break;
      case ci_field::none: break;
    }
    if (s == walk_status::failed) return s;
  }
  // Older events carry only the Authenticode hashes; better than no identity at all.
  if (!o.sha256.present && sha256_authenticode.present) o.sha256 = sha256_authenticode;
  if (!o.sha1.present && sha1_authenticode.present) o.sha1 = sha1_authenticode;

  if (signature_event) {
    if (ci.total_signature_count == 0) {
      sig.exists = false;
    } else if (ci.verification_error) {
      sig.exists = true;
      sig.status = status_from_verification_error(*ci.verification_error);
      sig.status_raw.set("VerificationError=" + std::to_string(*ci.verification_error));
    }
  } else if (ci.klass == rules::ci_class::load_unsigned) {
    sig.exists = false;
  } else if (ci.klass == rules::ci_class::block_revoked || ci.klass == rules::ci_class::load_revoked) {
    sig.exists = true;
    sig.status = signature_status::revoked;
    sig.status_raw.set("CodeIntegrity " + std::to_string(event_id));
  }
  return walk_status::ok;
}

}  // namespace countersign::processor::detail
