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

#include <countersign/processor/normalize.hpp>

#include <cstdio>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::signature_status;

// VerificationError of 3089 (DETECTIONS.md section 1).
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

  for (const auto& [name, value] : fields) {
    walk_context::scope in(c, name);
    if (value.size() > c.limits.max_field_bytes) return c.fail(reject_reason::field_too_large);
    const auto integer = [&](std::optional<std::int64_t>& out) {
      return usable(value) ? c.integer_from(value, out) : walk_status::ok;
    };
    const auto time = [&](std::optional<std::int64_t>& out) {
      return usable(value) ? c.time_from(value, out) : walk_status::ok;
    };
    walk_status s = walk_status::ok;
    if (name == "FileNameBuffer" || name == "File Name" || name == "FileName") {
      if (usable(value)) o.image_path.set(value);
    } else if (name == "ProcessNameBuffer" || name == "Process Name" || name == "ProcessName") {
      if (usable(value)) {
        ci.process_name.set(value);
        o.process_path.set(value);
      }
    } else if (name == "RequestedPolicy" || name == "Requested Signing Level" || name == "RequestedSigningLevel") {
      s = integer(ci.requested_signing_level);
    } else if (name == "ValidatedPolicy" || name == "Validated Signing Level" ||
               (name == "ValidatedSigningLevel")) {
      s = integer(ci.validated_signing_level);
    } else if (name == "Status") {
      std::optional<std::int64_t> status;
      s = integer(status);
      if (status) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(*status));
        ci.status.set(buf);
      }
    } else if (name == "SHA256 Flat Hash") {
      if (usable(value)) set_normalized_hex(o.sha256, value);
    } else if (name == "SHA1 Flat Hash") {
      if (usable(value)) set_normalized_hex(o.sha1, value);
    } else if (name == "SHA256 Hash") {
      if (usable(value)) set_normalized_hex(sha256_authenticode, value);
    } else if (name == "SHA1 Hash") {
      if (usable(value)) set_normalized_hex(sha1_authenticode, value);
    } else if (name == "PolicyName" || name == "PolicyNameBuffer") {
      if (usable(value)) ci.policy_name.set(value);
    } else if (name == "PolicyID" || name == "PolicyIdBuffer") {
      if (usable(value)) ci.policy_id.set(value);
    } else if (name == "PolicyGUID" || name == "PolicyGuid") {
      if (usable(value)) set_activity_id(ci.policy_guid, value);
    } else if (name == "UserWriteable") {
      if (usable(value)) {
        const auto b = parse_bool(value);
        if (!b) return c.fail(reject_reason::wrong_type);
        ci.user_writable = *b;
      }
    } else if (name == "OriginalFileName") {
      if (usable(value)) o.pe.original_file_name.set(value);
    } else if (name == "FileDescription") {
      if (usable(value)) o.pe.description.set(value);
    } else if (name == "ProductName") {
      if (usable(value)) o.pe.product.set(value);
    } else if (name == "FileVersion") {
      if (usable(value)) o.pe.file_version.set(value);
    } else if (name == "ActivityID" || name == "ActivityId") {
      if (usable(value) && !ci.activity_id.present) set_activity_id(ci.activity_id, value);
    } else if (signature_event) {
      if (name == "TotalSignatureCount") {
        s = integer(ci.total_signature_count);
      } else if (name == "Signature") {
        s = integer(ci.signature_index);
      } else if (name == "SignatureType") {
        if (usable(value)) sig.signature_type.set(value);
      } else if (name == "VerificationError") {
        s = integer(ci.verification_error);
      } else if (name == "NotValidBefore") {
        s = time(sig.not_before_ms);
      } else if (name == "NotValidAfter") {
        s = time(sig.not_after_ms);
      } else if (name == "PublisherName") {
        if (usable(value)) sig.subject.set(value);
      } else if (name == "IssuerName") {
        if (usable(value)) sig.issuer.set(value);
      } else if (name == "PublisherTBSHash") {
        if (usable(value)) set_normalized_hex(ci.publisher_tbs_hash, value);
      } else if (name == "IssuerTBSHash") {
        if (usable(value)) set_normalized_hex(ci.issuer_tbs_hash, value);
      }
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

walk_status walk_codeintegrity(od::object root, walk_context& c, observation_batch& out) {
  observation& o = out.add();
  std::optional<std::int64_t> event_id;
  std::string_view activity;
  for (auto member : root) {
    od::field fld;
    if (auto err = std::move(member).get(fld)) return c.fail_json(err);
    std::string_view key;
    if (auto err = fld.unescaped_key().get(key)) return c.fail_json(err);
    walk_context::scope in(c, key);
    od::value v = fld.value();
    walk_status s = walk_status::ok;
    if (key == "EventID" || key == "EventId" || key == "event_id" || key == "Id") {
      s = c.integer(v, event_id);
    } else if (key == "TimeCreated" || key == "@timestamp" || key == "timestamp" || key == "Timestamp" ||
               key == "TimeGenerated") {
      s = c.time(v, o.event_time_ms);
    } else if (key == "Computer" || key == "ComputerName" || key == "Hostname" || key == "hostname" ||
               key == "DeviceName") {
      s = c.text(v, o.host_name);
    } else if (key == "HostId" || key == "DeviceId" || key == "host_id") {
      s = c.text(v, o.host_id);
    } else if (key == "ActivityID" || key == "ActivityId" || key == "Correlation ActivityID") {
      bool present = false;
      s = c.view(v, activity, present);
    } else if (key == "EventData") {
      od::object data;
      if (auto err = v.get_object().get(data)) {
        if (err == simdjson::INCORRECT_TYPE) return c.fail(reject_reason::wrong_type);
        return c.fail_json(err);
      }
      s = collect_fields(data, c);
    } else {
      // Flat EventData: the data items sit beside the system fields.
      std::string_view value;
      bool is_scalar = false;
      s = c.scalar(v, value, is_scalar);
      if (is_scalar) c.fields.push_back({key, value});
    }
    if (s == walk_status::failed) return s;
  }
  if (!event_id) return c.fail(reject_reason::missing_field, "EventID");
  if (!activity.empty()) set_activity_id(o.ci.activity_id, activity);
  c.path.clear();
  if (apply_ci_fields(c.fields, *event_id, c, o) == walk_status::failed) return walk_status::failed;
  if (!o.event_time_ms) return c.fail(reject_reason::missing_field, "TimeCreated");
  if (!o.host_id.has_value() && !o.host_name.has_value()) return c.fail(reject_reason::missing_field, "Computer");
  finish_signature(o);
  finish_host(o);
  return walk_status::ok;
}

}  // namespace countersign::processor::detail
