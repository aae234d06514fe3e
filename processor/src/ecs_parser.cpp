#include <countersign/processor/ecs_parser.hpp>
#include <countersign/processor/normalize.hpp>
#include <countersign/rules/time.hpp>

#include <xxhash.h>

#include <cstring>
#include <unordered_map>

namespace countersign::processor {
namespace ondemand = simdjson::ondemand;
using rules::text_field;

namespace {

// Every dotted path the ECS profile reads. `container` marks objects on the way to a
// mapped field: only those are descended into; everything else is skipped unread.
enum field : int {
  container,
  timestamp,
  host_id,
  host_name,
  host_hostname,
  user_name,
  process_executable,
  hash_sha256,
  hash_sha1,
  pe_original_file_name,
  pe_company,
  pe_product,
  pe_description,
  pe_file_version,
  cs_exists,
  cs_status,
  cs_trusted,
  cs_subject_name,
  cs_thumbprint_sha256,
  cs_timestamp,
  x509_issuer_cn,
  x509_issuer_dn,
  x509_subject_cn,
  x509_subject_o,
  x509_subject_dn,
  x509_serial,
  x509_not_before,
  x509_not_after,
};

// FNV-1a: the paths are short, and std::hash's murmur showed up in profiles.
struct path_hash {
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
  }
};
using path_table = std::unordered_map<std::string_view, int, path_hash>;

const path_table& field_table() {
  static const path_table k_table = {
      {"@timestamp", timestamp},
      {"host", container},
      {"host.id", host_id},
      {"host.name", host_name},
      {"host.hostname", host_hostname},
      {"user", container},
      {"user.name", user_name},
      {"process", container},
      {"process.executable", process_executable},
      {"process.hash", container},
      {"process.hash.sha256", hash_sha256},
      {"process.hash.sha1", hash_sha1},
      {"process.pe", container},
      {"process.pe.original_file_name", pe_original_file_name},
      {"process.pe.company", pe_company},
      {"process.pe.product", pe_product},
      {"process.pe.description", pe_description},
      {"process.pe.file_version", pe_file_version},
      {"process.code_signature", container},
      {"process.code_signature.exists", cs_exists},
      {"process.code_signature.status", cs_status},
      {"process.code_signature.trusted", cs_trusted},
      {"process.code_signature.subject_name", cs_subject_name},
      {"process.code_signature.thumbprint_sha256", cs_thumbprint_sha256},
      {"process.code_signature.timestamp", cs_timestamp},
      {"file", container},
      {"file.x509", container},
      {"file.x509.issuer", container},
      {"file.x509.issuer.common_name", x509_issuer_cn},
      {"file.x509.issuer.distinguished_name", x509_issuer_dn},
      {"file.x509.subject", container},
      {"file.x509.subject.common_name", x509_subject_cn},
      {"file.x509.subject.organization", x509_subject_o},
      {"file.x509.subject.distinguished_name", x509_subject_dn},
      {"file.x509.serial_number", x509_serial},
      {"file.x509.not_before", x509_not_before},
      {"file.x509.not_after", x509_not_after},
  };
  return k_table;
}

enum class leaf_kind { text, hex, boolean, time };

leaf_kind kind_of(int f) {
  switch (f) {
    case hash_sha256:
    case hash_sha1:
    case cs_thumbprint_sha256:
    case x509_serial:
      return leaf_kind::hex;
    case cs_exists:
    case cs_trusted:
      return leaf_kind::boolean;
    case timestamp:
    case cs_timestamp:
    case x509_not_before:
    case x509_not_after:
      return leaf_kind::time;
    default:
      return leaf_kind::text;
  }
}

}  // namespace

ecs_parser::ecs_parser(parser_limits limits) : limits_(limits) {
  path_.reserve(128);
}

ecs_parser::walk_status ecs_parser::fail(reject_reason reason, std::string_view detail) {
  error_.reason = reason;
  error_.detail.assign(detail);
  return walk_status::failed;
}

std::expected<void, parse_error> ecs_parser::parse(std::string_view bytes, rules::observation& out) {
  out.reset();
  if (bytes.empty()) return std::unexpected(parse_error{reject_reason::empty, {}});
  if (bytes.size() > limits_.max_message_bytes) {
    return std::unexpected(parse_error{reject_reason::too_large, std::to_string(bytes.size())});
  }
  // Kafka payloads carry no padding guarantee: simdjson reads up to 64 bytes past the
  // end, so parse a copy in a buffer that has them.
  const std::size_t needed = bytes.size() + simdjson::SIMDJSON_PADDING;
  if (buffer_.size() < needed) buffer_.resize(needed);
  std::memcpy(buffer_.data(), bytes.data(), bytes.size());
  std::memset(buffer_.data() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);

  obs_ = &out;
  recognized_ = false;
  path_.clear();
  for (text_field* f : {&x509_subject_dn_, &x509_subject_cn_, &x509_subject_o_, &x509_issuer_cn_}) {
    f->reset();
  }

  ondemand::document doc;
  if (auto err = parser_.iterate(buffer_.data(), bytes.size(), buffer_.size()).get(doc)) {
    return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
  }
  ondemand::json_type type;
  if (auto err = doc.type().get(type)) {
    return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
  }
  if (type != ondemand::json_type::object) {
    // On-Demand only looked at the first byte: validate the whole text to tell a
    // well-formed non-object from garbage (rare path, so the DOM parser is fine here).
    simdjson::dom::element ignored;
    if (auto err = dom_parser_.parse(buffer_.data(), bytes.size(), false).get(ignored)) {
      return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
    }
    return std::unexpected(parse_error{reject_reason::not_an_object, {}});
  }
  ondemand::object root;
  if (auto err = doc.get_object().get(root)) {
    return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
  }
  if (walk_object(root, 0) == walk_status::failed) return std::unexpected(std::move(error_));
  // Anything after the top-level object is garbage: a location exists only if tokens remain.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return std::unexpected(parse_error{reject_reason::invalid_json, "trailing content after the object"});
  }
  if (!recognized_) return std::unexpected(parse_error{reject_reason::unknown_schema, {}});
  if (!out.event_time_ms) return std::unexpected(parse_error{reject_reason::missing_field, "@timestamp"});
  if (!out.host_id.has_value() && !out.host_name.has_value()) {
    return std::unexpected(parse_error{reject_reason::missing_field, "host.id"});
  }
  finish_observation();
  return {};
}

ecs_parser::walk_status ecs_parser::walk_object(ondemand::object object, int depth) {
  const auto& table = field_table();
  for (auto member : object) {
    ondemand::field fld;
    if (auto err = std::move(member).get(fld)) return fail(reject_reason::invalid_json, simdjson::error_message(err));
    std::string_view key;
    if (auto err = fld.unescaped_key().get(key)) {
      return fail(reject_reason::invalid_json, simdjson::error_message(err));
    }
    const std::size_t saved = path_.size();
    if (depth > 0) path_.push_back('.');
    path_.append(key);
    if (const auto it = table.find(path_); it != table.end()) {
      recognized_ = true;
      ondemand::value value = fld.value();
      if (it->second == container) {
        ondemand::json_type type;
        if (auto err = value.type().get(type)) {
          return fail(reject_reason::invalid_json, simdjson::error_message(err));
        }
        if (type == ondemand::json_type::object) {
          ondemand::object child;
          if (auto err = value.get_object().get(child)) {
            return fail(reject_reason::invalid_json, simdjson::error_message(err));
          }
          if (walk_object(child, depth + 1) == walk_status::failed) return walk_status::failed;
        } else if (type != ondemand::json_type::null) {
          return fail(reject_reason::wrong_type, path_);
        }
      } else if (assign_leaf(it->second, value) == walk_status::failed) {
        return walk_status::failed;
      }
    }
    path_.resize(saved);
  }
  return walk_status::ok;
}

ecs_parser::walk_status ecs_parser::assign_leaf(int f, ondemand::value value) {
  ondemand::json_type type;
  if (auto err = value.type().get(type)) return fail(reject_reason::invalid_json, simdjson::error_message(err));
  if (type == ondemand::json_type::null) return walk_status::ok;  // null is missing
  const leaf_kind kind = kind_of(f);

  if (kind == leaf_kind::boolean) {
    bool b = false;
    if (type == ondemand::json_type::boolean) {
      if (value.get_bool().get(b)) return fail(reject_reason::invalid_json, path_);
    } else if (type == ondemand::json_type::string) {
      std::string_view s;
      if (value.get_string().get(s)) return fail(reject_reason::invalid_json, path_);
      if (s == "true" || s == "True") b = true;
      else if (s == "false" || s == "False") b = false;
      else return fail(reject_reason::wrong_type, path_);
    } else {
      return fail(reject_reason::wrong_type, path_);
    }
    (f == cs_exists ? obs_->signature.exists : obs_->signature.trusted) = b;
    return walk_status::ok;
  }

  if (kind == leaf_kind::time && type == ondemand::json_type::number) {
    double d = 0;
    if (value.get_double().get(d)) return fail(reject_reason::bad_timestamp, path_);
    const auto epoch = epoch_to_ms(d);
    if (!epoch) return fail(reject_reason::bad_timestamp, path_);
    const std::int64_t ms = *epoch;
    switch (f) {
      case timestamp: obs_->event_time_ms = ms; break;
      case cs_timestamp: obs_->signature.signing_time_ms = ms; break;
      case x509_not_before: obs_->signature.not_before_ms = ms; break;
      default: obs_->signature.not_after_ms = ms; break;
    }
    return walk_status::ok;
  }

  // Text: a string, or (ECS x509 name fields are keyword arrays) the first string of an array.
  std::string_view s;
  if (type == ondemand::json_type::array) {
    ondemand::array arr;
    if (value.get_array().get(arr)) return fail(reject_reason::invalid_json, path_);
    bool found = false;
    for (auto element : arr) {
      ondemand::value ev;
      if (std::move(element).get(ev)) return fail(reject_reason::invalid_json, path_);
      if (ev.get_string().get(s)) return fail(reject_reason::wrong_type, path_);
      found = true;
      break;
    }
    if (!found) return walk_status::ok;  // empty array: nothing known
  } else if (type == ondemand::json_type::string) {
    if (value.get_string().get(s)) return fail(reject_reason::invalid_json, path_);
  } else {
    return fail(reject_reason::wrong_type, path_);
  }
  if (s.size() > limits_.max_field_bytes) return fail(reject_reason::field_too_large, path_);

  if (kind == leaf_kind::time) {
    const auto ms = rules::parse_rfc3339_ms(s);
    if (!ms || *ms < k_min_time_ms || *ms > k_max_time_ms) return fail(reject_reason::bad_timestamp, path_);
    switch (f) {
      case timestamp: obs_->event_time_ms = *ms; break;
      case cs_timestamp: obs_->signature.signing_time_ms = *ms; break;
      case x509_not_before: obs_->signature.not_before_ms = *ms; break;
      default: obs_->signature.not_after_ms = *ms; break;
    }
    return walk_status::ok;
  }

  auto& o = *obs_;
  auto& sig = o.signature;
  switch (f) {
    case host_id: o.host_id.set(s); break;
    case host_name: o.host_name.set(s); break;
    case host_hostname:
      if (!o.host_name.present) o.host_name.set(s);
      break;
    case user_name: o.user_name.set(s); break;
    case process_executable: o.image_path.set(s); break;
    case hash_sha256: set_normalized_hex(o.sha256, s); break;
    case hash_sha1: set_normalized_hex(o.sha1, s); break;
    case pe_original_file_name: o.pe.original_file_name.set(s); break;
    case pe_company: o.pe.company.set(s); break;
    case pe_product: o.pe.product.set(s); break;
    case pe_description: o.pe.description.set(s); break;
    case pe_file_version: o.pe.file_version.set(s); break;
    case cs_status:
      sig.status_raw.set(s);
      sig.status = ecs_signature_status(s);
      break;
    case cs_subject_name: sig.subject.set(s); break;
    case cs_thumbprint_sha256: set_normalized_hex(sig.thumbprint, s); break;
    case x509_issuer_cn: x509_issuer_cn_.set(s); break;
    case x509_issuer_dn: sig.issuer.set(s); break;
    case x509_subject_cn: x509_subject_cn_.set(s); break;
    case x509_subject_o: x509_subject_o_.set(s); break;
    case x509_subject_dn: x509_subject_dn_.set(s); break;
    case x509_serial: set_normalized_hex(sig.serial, s); break;
    default: break;
  }
  return walk_status::ok;
}

void ecs_parser::finish_observation() {
  auto& o = *obs_;
  auto& sig = o.signature;
  o.source.schema = rules::schema_profile::ecs;
  if (sig.exists == false && sig.status == rules::signature_status::missing) {
    sig.status = rules::signature_status::not_signed;
  }

  // Signer subject: code_signature.subject_name (a bare name in Elastic Defend), else the
  // x509 subject DN. CN and O come from the x509 field set when given, else from the DN.
  if (!sig.subject.has_value()) {
    if (x509_subject_dn_.has_value()) sig.subject = x509_subject_dn_;
    else if (x509_subject_cn_.has_value()) sig.subject = x509_subject_cn_;
  }
  if (x509_subject_cn_.has_value()) sig.subject_cn = x509_subject_cn_;
  if (x509_subject_o_.has_value()) sig.subject_o = x509_subject_o_;
  if (sig.subject.has_value()) {
    if (looks_like_dn(sig.subject.view())) {
      if (!sig.subject_cn.present) (void)dn_attribute(sig.subject.view(), "CN", sig.subject_cn);
      if (!sig.subject_o.present) (void)dn_attribute(sig.subject.view(), "O", sig.subject_o);
    } else if (!sig.subject_cn.present) {
      sig.subject_cn = sig.subject;
    }
  }
  // Issuer: the DN when the pipeline gives it, else the common name.
  if (x509_issuer_cn_.has_value()) sig.issuer_cn = x509_issuer_cn_;
  if (sig.issuer.has_value()) {
    if (!sig.issuer_cn.present && looks_like_dn(sig.issuer.view())) {
      (void)dn_attribute(sig.issuer.view(), "CN", sig.issuer_cn);
    }
  } else if (sig.issuer_cn.has_value()) {
    sig.issuer = sig.issuer_cn;
  }
  const std::string_view host = o.host_key();
  o.host_hash = XXH3_64bits(host.data(), host.size());
}

}  // namespace countersign::processor
