// ECS profile: Elastic Defend process events and Winlogbeat (Sysmon 1/6/7, Code
// Integrity) events, nested or with dotted keys.
//
// The walker builds the dotted path of every member and looks it up in one table; it
// descends only into objects that can hold a mapped field, so everything else is
// skipped unread. Process-side facts go to the observation, file-side facts (Sysmon
// image and driver loads) to a scratch observation; which side is the judged image is
// decided once the event id and channel are known.

#include "field_trie.hpp"
#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <initializer_list>
#include <vector>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::text_field;

enum field : int {
  container,
  event_data,  // winlog.event_data: collected as raw fields
  timestamp,
  host_id,
  host_name,
  host_hostname,
  user_name,
  event_code,
  event_module,
  event_provider,
  winlog_channel,
  winlog_event_id,
  winlog_activity_id,
  winlog_computer_name,
  winlog_provider_name,
  // process side (the judged image for process events)
  process_executable,
  process_sha256,
  process_sha1,
  process_pe_original_file_name,
  process_pe_company,
  process_pe_product,
  process_pe_description,
  process_pe_file_version,
  process_cs_exists,
  process_cs_status,
  process_cs_trusted,
  process_cs_subject_name,
  process_cs_thumbprint_sha256,
  process_cs_timestamp,
  // file side (the judged image for Sysmon 6/7)
  file_path,
  file_sha256,
  file_sha1,
  file_pe_original_file_name,
  file_pe_company,
  file_pe_product,
  file_pe_description,
  file_pe_file_version,
  file_cs_exists,
  file_cs_signed,
  file_cs_status,
  file_cs_trusted,
  file_cs_subject_name,
  file_cs_thumbprint_sha256,
  file_cs_timestamp,
  // certificate of the judged image (ECS x509 field set under file)
  x509_issuer_cn,
  x509_issuer_dn,
  x509_subject_cn,
  x509_subject_o,
  x509_subject_dn,
  x509_serial,
  x509_not_before,
  x509_not_after,
};

const field_trie& table() {
  static const field_trie k_table = {
      {"@timestamp", timestamp},
      {"host", container},
      {"host.id", host_id},
      {"host.name", host_name},
      {"host.hostname", host_hostname},
      {"user", container},
      {"user.name", user_name},
      {"event", container},
      {"event.code", event_code},
      {"event.module", event_module},
      {"event.provider", event_provider},
      {"winlog", container},
      {"winlog.channel", winlog_channel},
      {"winlog.event_id", winlog_event_id},
      {"winlog.activity_id", winlog_activity_id},
      {"winlog.computer_name", winlog_computer_name},
      {"winlog.provider_name", winlog_provider_name},
      {"winlog.event_data", event_data},
      {"process", container},
      {"process.executable", process_executable},
      {"process.hash", container},
      {"process.hash.sha256", process_sha256},
      {"process.hash.sha1", process_sha1},
      {"process.pe", container},
      {"process.pe.original_file_name", process_pe_original_file_name},
      {"process.pe.company", process_pe_company},
      {"process.pe.product", process_pe_product},
      {"process.pe.description", process_pe_description},
      {"process.pe.file_version", process_pe_file_version},
      {"process.code_signature", container},
      {"process.code_signature.exists", process_cs_exists},
      {"process.code_signature.status", process_cs_status},
      {"process.code_signature.trusted", process_cs_trusted},
      {"process.code_signature.subject_name", process_cs_subject_name},
      {"process.code_signature.thumbprint_sha256", process_cs_thumbprint_sha256},
      {"process.code_signature.timestamp", process_cs_timestamp},
      {"file", container},
      {"file.path", file_path},
      {"file.hash", container},
      {"file.hash.sha256", file_sha256},
      {"file.hash.sha1", file_sha1},
      {"file.pe", container},
      {"file.pe.original_file_name", file_pe_original_file_name},
      {"file.pe.company", file_pe_company},
      {"file.pe.product", file_pe_product},
      {"file.pe.description", file_pe_description},
      {"file.pe.file_version", file_pe_file_version},
      {"file.code_signature", container},
      {"file.code_signature.exists", file_cs_exists},
      {"file.code_signature.signed", file_cs_signed},
      {"file.code_signature.status", file_cs_status},
      {"file.code_signature.trusted", file_cs_trusted},
      {"file.code_signature.subject_name", file_cs_subject_name},
      {"file.code_signature.thumbprint_sha256", file_cs_thumbprint_sha256},
      {"file.code_signature.timestamp", file_cs_timestamp},
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

// Facts that only make sense once the whole document is read.
struct pending {
  std::optional<std::int64_t> event_id;
  std::string_view channel, provider, module, activity_id, computer_name, host_string;
  bool saw_event_data = false;
  // Views into the parser's buffer (no copies); empty when absent or empty.
  std::string_view x509_subject_dn, x509_subject_cn, x509_subject_o, x509_issuer_cn;
};

class ecs_walker {
 public:
  ecs_walker(walk_context& c, observation& o) : c_(c), o_(o), f_(c.side) { f_.reset(); }

  walk_status walk(od::object object, int node) {
    const auto& t = table();
    for (auto member : object) {
      od::field fld;
      if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
      std::string_view key;
      if (c_.key(fld, key) == walk_status::failed) return walk_status::failed;
      const field_trie::node* n = nullptr;
      if (key.find('.') == std::string_view::npos) {
        n = t.find(node, key);
      } else {  // a dotted key: follow it segment by segment
        int at = node;
        for (std::string_view rest = key; !rest.empty();) {
          const auto dot = rest.find('.');
          n = t.find(at, rest.substr(0, dot));
          if (n == nullptr) break;
          at = n->id;
          rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        }
      }
      if (n == nullptr) continue;  // not mapped: skipped unread
      recognized_ = true;
      od::value value = fld.value();
      if (n->field != container && n->field != event_data) {
        // Leaves are the hot path: the key joins the error path only on failure.
        if (assign(n->field, value) == walk_status::failed) {
          if (c_.error.detail == c_.path) {
            c_.error.detail = c_.path.empty() ? std::string(key) : c_.path + "." + std::string(key);
          }
          return walk_status::failed;
        }
        continue;
      }
      walk_context::scope in(c_, key);
      od::json_type type;
      if (auto err = value.type().get(type)) return c_.fail_json(err);
      if (type == od::json_type::null) continue;
      if (type == od::json_type::string && node == 0 && n->field == container && key == "host") {
        // Logstash before 8 writes `host` as a plain string (the sending host's name).
        if (view(value, p_.host_string) == walk_status::failed) return walk_status::failed;
        continue;
      }
      if (type != od::json_type::object) return c_.fail(reject_reason::wrong_type);
      od::object child;
      if (auto err = value.get_object().get(child)) return c_.fail_json(err);
      if (n->field == event_data) {
        p_.saw_event_data = true;
        if (collect_fields(child, c_) == walk_status::failed) return walk_status::failed;
      } else if (walk(child, n->id) == walk_status::failed) {
        return walk_status::failed;
      }
    }
    return walk_status::ok;
  }

  walk_status finish();
  bool recognized_ = false;

 private:
  walk_status view(od::value v, std::string_view& out) {
    bool present = false;
    out = {};
    return c_.view(v, out, present);
  }

  walk_status assign(int f, od::value v) {
    auto& sig = o_.signature;
    auto& fsig = f_.signature;
    switch (f) {
      case timestamp: return c_.time(v, o_.event_time_ms);
      case host_id: return c_.text(v, o_.host_id);
      case host_name: return c_.text(v, o_.host_name);
      case host_hostname: return c_.text(v, f_.host_name);  // fallback, see finish()
      case user_name: return c_.text(v, o_.user_name);
      case event_code: {
        std::optional<std::int64_t> id;
        if (c_.integer(v, id) == walk_status::failed) return walk_status::failed;
        if (!p_.event_id) p_.event_id = id;
        return walk_status::ok;
      }
      case winlog_event_id: return c_.integer(v, p_.event_id);
      case event_module: return view(v, p_.module);
      case event_provider: return view(v, p_.provider);
      case winlog_provider_name: return view(v, p_.provider);
      case winlog_channel: return view(v, p_.channel);
      case winlog_activity_id: return view(v, p_.activity_id);
      case winlog_computer_name: return view(v, p_.computer_name);
      case process_executable: return c_.text(v, o_.image_path);
      case process_sha256: return c_.hex(v, o_.sha256);
      case process_sha1: return c_.hex(v, o_.sha1);
      case process_pe_original_file_name: return c_.text(v, o_.pe.original_file_name);
      case process_pe_company: return c_.text(v, o_.pe.company);
      case process_pe_product: return c_.text(v, o_.pe.product);
      case process_pe_description: return c_.text(v, o_.pe.description);
      case process_pe_file_version: return c_.text(v, o_.pe.file_version);
      case process_cs_exists: return c_.boolean(v, sig.exists);
      case process_cs_status: return status(v, sig);
      case process_cs_trusted: return c_.boolean(v, sig.trusted);
      case process_cs_subject_name: return c_.text(v, sig.subject);
      case process_cs_thumbprint_sha256: return c_.hex(v, sig.thumbprint);
      case process_cs_timestamp: return c_.time(v, sig.signing_time_ms);
      case file_path: return c_.text(v, f_.image_path);
      case file_sha256: return c_.hex(v, f_.sha256);
      case file_sha1: return c_.hex(v, f_.sha1);
      case file_pe_original_file_name: return c_.text(v, f_.pe.original_file_name);
      case file_pe_company: return c_.text(v, f_.pe.company);
      case file_pe_product: return c_.text(v, f_.pe.product);
      case file_pe_description: return c_.text(v, f_.pe.description);
      case file_pe_file_version: return c_.text(v, f_.pe.file_version);
      case file_cs_exists:
      case file_cs_signed: return c_.boolean(v, fsig.exists);
      case file_cs_status: return status(v, fsig);
      case file_cs_trusted: return c_.boolean(v, fsig.trusted);
      case file_cs_subject_name: return c_.text(v, fsig.subject);
      case file_cs_thumbprint_sha256: return c_.hex(v, fsig.thumbprint);
      case file_cs_timestamp: return c_.time(v, fsig.signing_time_ms);
      case x509_issuer_cn: return view(v, p_.x509_issuer_cn);
      case x509_issuer_dn: return c_.text(v, sig.issuer);
      case x509_subject_cn: return view(v, p_.x509_subject_cn);
      case x509_subject_o: return view(v, p_.x509_subject_o);
      case x509_subject_dn: return view(v, p_.x509_subject_dn);
      case x509_serial: return c_.hex(v, sig.serial);
      case x509_not_before: return c_.time(v, sig.not_before_ms);
      case x509_not_after: return c_.time(v, sig.not_after_ms);
      default: return walk_status::ok;
    }
  }

  walk_status status(od::value v, rules::code_signature& sig) {
    std::string_view raw;
    if (view(v, raw) == walk_status::failed) return walk_status::failed;
    if (raw.empty() || raw == "-") return walk_status::ok;  // Sysmon's "no value"
    sig.status_raw.set(raw);
    sig.status = ecs_signature_status(raw);
    return walk_status::ok;
  }

  void take_file_side();

  walk_context& c_;
  observation& o_;
  observation& f_;
  pending p_;
};

// The Sysmon image/driver load judges the loaded file: its facts replace the process's,
// and the process becomes the loader. Certificate facts from file.x509 stay.
void ecs_walker::take_file_side() {
  o_.process_path = std::move(o_.image_path);
  o_.image_path = f_.image_path;
  o_.sha256 = f_.sha256;
  o_.sha1 = f_.sha1;
  o_.pe = f_.pe;
  auto& sig = o_.signature;
  const auto& fsig = f_.signature;
  sig.exists = fsig.exists;
  sig.status = fsig.status;
  sig.status_raw = fsig.status_raw;
  sig.trusted = fsig.trusted;
  sig.subject = fsig.subject;
  sig.thumbprint = fsig.thumbprint;
  sig.signing_time_ms = fsig.signing_time_ms;
}

walk_status ecs_walker::finish() {
  const bool code_integrity = is_code_integrity(p_.channel, p_.provider);
  const bool sysmon = is_sysmon(p_.channel, p_.provider) || contains_ci(p_.module, "sysmon");
  if (!o_.host_name.present) {
    if (f_.host_name.present) o_.host_name = f_.host_name;  // host.hostname
    else if (!p_.computer_name.empty()) o_.host_name.set(p_.computer_name);
    else if (!p_.host_string.empty()) o_.host_name.set(p_.host_string);
  }
  if (!p_.x509_subject_cn.empty()) o_.signature.subject_cn.set(p_.x509_subject_cn);
  if (!p_.x509_subject_o.empty()) o_.signature.subject_o.set(p_.x509_subject_o);
  if (!p_.x509_issuer_cn.empty()) o_.signature.issuer_cn.set(p_.x509_issuer_cn);

  if (code_integrity) {
    if (!p_.event_id) {
      walk_context::scope in(c_, "winlog.event_id");
      return c_.fail(reject_reason::missing_field);
    }
    if (!p_.activity_id.empty()) set_activity_id(o_.ci.activity_id, p_.activity_id);
    if (apply_ci_fields(c_.fields, *p_.event_id, c_, o_) == walk_status::failed) return walk_status::failed;
  } else if (sysmon && p_.event_id && (*p_.event_id == 6 || *p_.event_id == 7)) {
    o_.kind = *p_.event_id == 6 ? rules::event_kind::driver_load : rules::event_kind::image_load;
    take_file_side();
    walk_context::scope in(c_, "winlog.event_data");
    if (apply_sysmon_fields(c_.fields, true, c_, o_) == walk_status::failed) return walk_status::failed;
  } else {
    o_.kind = rules::event_kind::process_start;
    walk_context::scope in(c_, "winlog.event_data");
    if (sysmon && apply_sysmon_fields(c_.fields, false, c_, o_) == walk_status::failed) return walk_status::failed;
    if (sysmon && p_.event_id && *p_.event_id != 1) o_.kind = rules::event_kind::unknown;
  }
  if (!o_.signature.subject.has_value()) {
    if (!p_.x509_subject_dn.empty()) o_.signature.subject.set(p_.x509_subject_dn);
    else if (!p_.x509_subject_cn.empty()) o_.signature.subject.set(p_.x509_subject_cn);
  }
  if (!o_.event_time_ms) return c_.fail(reject_reason::missing_field, "@timestamp");
  if (!o_.host_id.has_value() && !o_.host_name.has_value()) return c_.fail(reject_reason::missing_field, "host.id");
  finish_signature(o_);
  finish_host(o_);
  return walk_status::ok;
}

}  // namespace

void set_activity_id(rules::text_field& out, std::string_view raw) {
  out.value.clear();
  out.present = true;
  for (const char ch : raw) {
    if (ch == '{' || ch == '}') continue;
    out.value.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
  }
}

walk_status walk_ecs(od::object root, walk_context& c, observation_batch& out) {
  observation& o = out.add();
  ecs_walker w(c, o);
  if (w.walk(root, 0) == walk_status::failed) return walk_status::failed;
  if (!w.recognized_) return c.fail(reject_reason::unknown_schema, "no ECS field");
  return w.finish();
}

}  // namespace countersign::processor::detail
