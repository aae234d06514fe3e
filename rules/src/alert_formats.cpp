// The same alert in the shapes SIEMs ingest as they are: an OCSF 1.4.0 Detection
// Finding (class_uid 2004) and an ECS 8.17 alert document. docs/alerts.md maps every
// field of ours to theirs; tests/processor/alert_format_test.cpp checks both against the
// published field definitions and the three formats against each other.
//
// Where a fact of ours has no home in the standard it goes to one place that says so:
// OCSF `unmapped`, ECS `countersign.*` (a custom field set, as ECS asks custom fields to
// live outside its namespaces).

#include <countersign/rules/alert.hpp>
#include <countersign/rules/json_writer.hpp>
#include <countersign/rules/time.hpp>
#include "alert_parts.hpp"

#include <algorithm>
#include <array>

namespace countersign::rules {
namespace {

// OCSF severity_id; ECS event.severity takes the same numbers.
std::int64_t severity_id(severity s) noexcept { return static_cast<std::int64_t>(s) + 1; }

std::string_view severity_caption(severity s) noexcept {
  switch (s) {
    case severity::info: return "Informational";
    case severity::low: return "Low";
    case severity::medium: return "Medium";
    case severity::high: return "High";
    case severity::critical: return "Critical";
  }
  return "Unknown";
}

std::string_view base_name(std::string_view path) noexcept {
  const auto slash = path.find_last_of("\\/");
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The CN of a distinguished name ("CN=Foo, O=Bar" -> "Foo"); empty when there is none.
std::string_view common_name(std::string_view dn) noexcept {
  for (std::size_t at = 0; at + 3 <= dn.size();) {
    const bool starts = at == 0 || dn[at - 1] == ',' || dn[at - 1] == ' ';
    if (starts && (dn[at] == 'C' || dn[at] == 'c') && (dn[at + 1] == 'N' || dn[at + 1] == 'n') && dn[at + 2] == '=') {
      const auto value = dn.substr(at + 3);
      return value.substr(0, value.find(','));
    }
    ++at;
  }
  return {};
}

bool is_dn(std::string_view name) noexcept { return !common_name(name).empty(); }

// ATT&CK names of the techniques our own content tags; Sigma tags carry ids only.
struct technique_name {
  std::string_view id, name;
};
constexpr std::array<technique_name, 2> k_technique_names{{
    {"T1588", "Obtain Capabilities"},
    {"T1588.003", "Code Signing Certificates"},
}};

std::string_view name_of_technique(std::string_view id) noexcept {
  for (const auto& t : k_technique_names) {
    if (t.id == id) return t.name;
  }
  return {};
}

std::string_view parent_technique(std::string_view id) noexcept { return id.substr(0, id.find('.')); }

struct time_writer {
  json_writer& w;
  std::string scratch;
  // OCSF timestamps: milliseconds since the epoch.
  void ms(std::string_view key, const std::optional<std::int64_t>& t) {
    if (t) w.field(key, *t);
  }
  // ECS dates: RFC 3339.
  void date(std::string_view key, const std::optional<std::int64_t>& t) {
    if (!t) return;
    scratch.clear();
    format_rfc3339_ms(*t, scratch);
    w.field(key, scratch);
  }
};

void optional_field(json_writer& w, std::string_view key, const text_field& f) {
  if (f.has_value()) w.field(key, f.view());
}

// The blocks of countersign.alert/v1 that OCSF (in `unmapped`) and ECS (in
// `countersign`) carry unchanged: codeintegrity, prevalence, source.
void write_passthrough(json_writer& w, const alert_content& c, std::string& scratch) {
  if (c.obs.ci.present()) {
    w.key("codeintegrity");
    detail::write_codeintegrity(w, c.obs.ci);
  }
  if (c.prevalence != nullptr) {
    w.key("prevalence");
    detail::write_prevalence(w, *c.prevalence, scratch);
  }
  w.key("source");
  detail::write_source(w, c.obs);
}

// An image or driver load judges the loaded file; its process is someone else.
bool judges_a_loaded_file(const observation& obs) noexcept {
  return (obs.kind == event_kind::image_load || obs.kind == event_kind::driver_load) && obs.process_path.has_value();
}

// ───────────────────────────── OCSF ─────────────────────────────

constexpr std::int64_t k_detection_finding = 2004;
constexpr std::int64_t k_findings_category = 2;
constexpr std::int64_t k_activity_create = 1;

// digital_signature.state_id of OCSF 1.4 (1 Valid, 2 Expired, 3 Revoked, 99 Other);
// 0 for statuses OCSF cannot say (missing, unknown), which are then left out.
std::int64_t ocsf_signature_state(signature_status s) noexcept {
  switch (s) {
    case signature_status::valid: return 1;
    case signature_status::expired: return 2;
    case signature_status::revoked: return 3;
    case signature_status::untrusted_root:
    case signature_status::bad_digest:
    case signature_status::chain_error:
    case signature_status::other: return 99;
    default: return 0;
  }
}

std::string_view ocsf_signature_state_caption(std::int64_t id) noexcept {
  switch (id) {
    case 1: return "Valid";
    case 2: return "Expired";
    case 3: return "Revoked";
    default: return "Other";
  }
}

// certificate requires issuer and serial_number: without both, the facts we have go
// to unmapped.certificate instead.
bool ocsf_certificate_complete(const code_signature& sig) noexcept { return sig.issuer.has_value() && sig.serial.has_value(); }

void ocsf_file(json_writer& w, const observation& obs, time_writer& t) {
  const auto& sig = obs.signature;
  w.begin_object();
  const std::string_view name = obs.image_path.has_value() ? base_name(obs.image_path.view())
                                : obs.sha256.has_value()   ? obs.sha256.view()
                                                           : obs.sha1.view();
  w.field("name", name);
  optional_field(w, "path", obs.image_path);
  w.field("type_id", std::int64_t{1}).field("type", "Regular File");
  if (obs.sha256.has_value() || obs.sha1.has_value()) {
    w.key("hashes").begin_array();
    if (obs.sha256.has_value()) {
      w.begin_object().field("algorithm_id", std::int64_t{3}).field("algorithm", "SHA-256");
      w.field("value", obs.sha256.view()).end_object();
    }
    if (obs.sha1.has_value()) {
      w.begin_object().field("algorithm_id", std::int64_t{2}).field("algorithm", "SHA-1");
      w.field("value", obs.sha1.view()).end_object();
    }
    w.end_array();
  }
  optional_field(w, "company_name", obs.pe.company);
  optional_field(w, "desc", obs.pe.description);
  optional_field(w, "internal_name", obs.pe.original_file_name);
  optional_field(w, "version", obs.pe.file_version);
  if (obs.pe.product.has_value()) {
    w.key("product").begin_object().field("name", obs.pe.product.view()).end_object();
  }
  const std::int64_t state = ocsf_signature_state(sig.status);
  if (sig.is_present() || state != 0) {
    w.key("signature").begin_object();
    w.field("algorithm_id", std::int64_t{4}).field("algorithm", "Authenticode");
    if (state != 0) w.field("state_id", state).field("state", ocsf_signature_state_caption(state));
    t.ms("created_time", sig.signing_time_ms);
    if (ocsf_certificate_complete(sig)) {
      w.key("certificate").begin_object();
      optional_field(w, "subject", sig.subject);
      w.field("issuer", sig.issuer.view());
      w.field("serial_number", sig.serial.view());
      t.ms("created_time", sig.not_before_ms);
      t.ms("expiration_time", sig.not_after_ms);
      if (sig.thumbprint.has_value()) {
        w.key("fingerprints").begin_array().begin_object();
        w.field("algorithm_id", sig.thumbprint.view().size() == 40 ? std::int64_t{2} : std::int64_t{3});
        w.field("algorithm", sig.thumbprint.view().size() == 40 ? "SHA-1" : "SHA-256");
        w.field("value", sig.thumbprint.view());
        w.end_object().end_array();
      }
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
}

void ocsf_analytic(json_writer& w, const hit& h) {
  w.begin_object();
  w.field("uid", h.id).field("name", h.title);
  w.field("type_id", std::int64_t{1}).field("type", "Rule");
  w.field("category", is_builtin_detector(h.id) ? "countersign" : "sigma");
  w.end_object();
}

void ocsf_attacks(json_writer& w, std::span<const std::string_view> techniques) {
  w.key("attacks").begin_array();
  for (const auto id : techniques) {
    w.begin_object();
    const auto parent = parent_technique(id);
    w.key("technique").begin_object().field("uid", parent);
    if (const auto n = name_of_technique(parent); !n.empty()) w.field("name", n);
    w.end_object();
    if (parent.size() != id.size()) {
      w.key("sub_technique").begin_object().field("uid", id);
      if (const auto n = name_of_technique(id); !n.empty()) w.field("name", n);
      w.end_object();
    }
    if (parent == "T1588") {
      w.key("tactic").begin_object().field("uid", "TA0042").field("name", "Resource Development").end_object();
    }
    w.end_object();
  }
  w.end_array();
}

// ───────────────────────────── ECS ─────────────────────────────

void ecs_code_signature(json_writer& w, const code_signature& sig, time_writer& t) {
  w.key("code_signature").begin_object();
  if (sig.exists || sig.status != signature_status::missing) w.field_bool("exists", sig.is_present());
  if (sig.status != signature_status::missing) w.field("status", to_string(sig.status));
  if (sig.trusted) w.field_bool("trusted", *sig.trusted);
  const std::string_view subject_cn = sig.subject_cn.has_value() ? sig.subject_cn.view() : common_name(sig.subject.view());
  if (!subject_cn.empty()) w.field("subject_name", subject_cn);
  else optional_field(w, "subject_name", sig.subject);
  if (sig.thumbprint.view().size() == 64) w.field("thumbprint_sha256", sig.thumbprint.view());
  t.date("timestamp", sig.signing_time_ms);
  w.end_object();
}

void ecs_x509(json_writer& w, const code_signature& sig, time_writer& t) {
  if (!sig.issuer.has_value() && !sig.subject.has_value() && !sig.serial.has_value() && !sig.not_after_ms &&
      !sig.not_before_ms) {
    return;
  }
  const auto name = [&](std::string_view key, const text_field& full, const text_field& cn, const text_field* org) {
    if (!full.has_value() && !cn.has_value()) return;
    w.key(key).begin_object();
    if (is_dn(full.view())) w.field("distinguished_name", full.view());
    const std::string_view common = cn.has_value() ? cn.view() : is_dn(full.view()) ? common_name(full.view()) : full.view();
    if (!common.empty()) w.field("common_name", common);
    if (org != nullptr) optional_field(w, "organization", *org);
    w.end_object();
  };
  w.key("x509").begin_object();
  name("issuer", sig.issuer, sig.issuer_cn, nullptr);
  name("subject", sig.subject, sig.subject_cn, &sig.subject_o);
  optional_field(w, "serial_number", sig.serial);
  t.date("not_before", sig.not_before_ms);
  t.date("not_after", sig.not_after_ms);
  w.end_object();
}

void ecs_hash_and_pe(json_writer& w, const observation& obs) {
  if (obs.sha256.has_value() || obs.sha1.has_value()) {
    w.key("hash").begin_object();
    optional_field(w, "sha256", obs.sha256);
    optional_field(w, "sha1", obs.sha1);
    w.end_object();
  }
  const auto& pe = obs.pe;
  if (pe.original_file_name.has_value() || pe.company.has_value() || pe.product.has_value() ||
      pe.description.has_value() || pe.file_version.has_value()) {
    w.key("pe").begin_object();
    optional_field(w, "original_file_name", pe.original_file_name);
    optional_field(w, "company", pe.company);
    optional_field(w, "product", pe.product);
    optional_field(w, "description", pe.description);
    optional_field(w, "file_version", pe.file_version);
    w.end_object();
  }
}

// event.category and event.type by what the observation saw (ECS allowed values).
std::pair<std::string_view, std::string_view> ecs_category(const observation& obs) noexcept {
  switch (obs.kind) {
    case event_kind::image_load: return {"library", "start"};
    case event_kind::driver_load: return {"driver", "start"};
    case event_kind::file_certificate: return {"file", "info"};
    case event_kind::code_integrity:
    case event_kind::signature_info:
    case event_kind::policy: return {"intrusion_detection", "info"};
    default: return {"process", "info"};
  }
}

void ecs_threat(json_writer& w, std::span<const std::string_view> techniques) {
  if (techniques.empty()) return;
  w.key("threat").begin_object();
  w.field("framework", "MITRE ATT&CK");
  const bool all_named = std::ranges::all_of(techniques, [](std::string_view id) {
    return !name_of_technique(parent_technique(id)).empty();
  });
  const bool any_sub = std::ranges::any_of(techniques, [](std::string_view id) { return parent_technique(id).size() != id.size(); });
  const bool resource_development = std::ranges::any_of(techniques, [](std::string_view id) { return parent_technique(id) == "T1588"; });
  if (resource_development) {
    w.key("tactic").begin_object();
    w.key("id").begin_array().string("TA0042").end_array();
    w.key("name").begin_array().string("Resource Development").end_array();
    w.end_object();
  }
  w.key("technique").begin_object();
  w.key("id").begin_array();
  for (const auto id : techniques) w.string(parent_technique(id));
  w.end_array();
  if (all_named) {
    w.key("name").begin_array();
    for (const auto id : techniques) w.string(name_of_technique(parent_technique(id)));
    w.end_array();
  }
  if (any_sub) {
    w.key("subtechnique").begin_object().key("id").begin_array();
    for (const auto id : techniques) {
      if (parent_technique(id).size() != id.size()) w.string(id);
    }
    w.end_array().end_object();
  }
  w.end_object();
  w.end_object();
}

}  // namespace

std::string_view to_string(alert_format f) noexcept {
  switch (f) {
    case alert_format::countersign: return "countersign";
    case alert_format::ocsf: return "ocsf";
    case alert_format::ecs: return "ecs";
  }
  return "countersign";
}

std::optional<alert_format> parse_alert_format(std::string_view name) noexcept {
  for (const auto f : {alert_format::countersign, alert_format::ocsf, alert_format::ecs}) {
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

std::string_view schema_name(alert_format f) noexcept {
  switch (f) {
    case alert_format::countersign: return k_alert_schema;
    case alert_format::ocsf: return "ocsf/1.4.0/detection_finding";
    case alert_format::ecs: return "ecs/8.17.0";
  }
  return k_alert_schema;
}

bool is_builtin_detector(std::string_view id) noexcept {
  return std::ranges::find(k_detector_ids, id) != k_detector_ids.end();
}

const hit& primary_hit(std::span<const hit> hits) noexcept {
  static const hit k_no_hit{};
  if (hits.empty()) return k_no_hit;
  const hit* best = &hits.front();
  for (const auto& h : hits) {
    if (h.level > best->level) best = &h;
  }
  return *best;
}

void render_alert(alert_format format, const alert_content& c, std::string& out) {
  switch (format) {
    case alert_format::countersign:
      render_alert(c.obs, c.hits, c.id, c.detected_at_ms, c.prevalence, c.techniques, out);
      return;
    case alert_format::ocsf: render_ocsf_alert(c, out); return;
    case alert_format::ecs: render_ecs_alert(c, out); return;
  }
}

void render_ocsf_alert(const alert_content& c, std::string& out) {
  out.clear();
  const observation& obs = c.obs;
  const auto& sig = obs.signature;
  json_writer w(out);
  time_writer t{w, {}};
  const severity level = combined_severity(c.hits);
  const hit& primary = primary_hit(c.hits);

  w.begin_object();
  w.field("class_uid", k_detection_finding).field("class_name", "Detection Finding");
  w.field("category_uid", k_findings_category).field("category_name", "Findings");
  w.field("activity_id", k_activity_create).field("activity_name", "Create");
  w.field("type_uid", k_detection_finding * 100 + k_activity_create).field("type_name", "Detection Finding: Create");
  w.field("time", c.detected_at_ms);
  t.ms("start_time", obs.event_time_ms);
  t.ms("end_time", obs.event_time_ms);
  w.field("severity_id", severity_id(level)).field("severity", severity_caption(level));
  w.field("status_id", std::int64_t{1}).field("status", "New");
  w.field_bool("is_alert", true);
  w.field("message", primary.reason);

  w.key("metadata").begin_object();
  w.field("version", k_ocsf_version);
  w.field("uid", c.id);
  w.key("product").begin_object().field("name", "countersign").field("vendor_name", "countersign");
  if (!c.product_version.empty()) w.field("version", c.product_version);
  w.end_object();
  w.key("profiles").begin_array().string("host").end_array();
  w.end_object();

  w.key("finding_info").begin_object();
  w.field("uid", c.id);
  w.field("title", primary.title);
  w.field("desc", primary.reason);
  w.key("types").begin_array();
  for (const auto& h : c.hits) w.string(h.id);
  w.end_array();
  t.ms("created_time", c.detected_at_ms);
  t.ms("first_seen_time", obs.event_time_ms);
  w.key("analytic");
  ocsf_analytic(w, primary);
  if (c.hits.size() > 1) {
    w.key("related_analytics").begin_array();
    for (const auto& h : c.hits) {
      if (&h != &primary) ocsf_analytic(w, h);
    }
    w.end_array();
  }
  ocsf_attacks(w, c.techniques);
  if (!obs.source.topic.empty()) w.key("data_sources").begin_array().string(obs.source.topic).end_array();
  w.end_object();

  w.key("device").begin_object();
  w.field("type_id", std::int64_t{0}).field("type", "Unknown");
  optional_field(w, "uid", obs.host_id);
  optional_field(w, "hostname", obs.host_name);
  w.end_object();

  const bool loaded = judges_a_loaded_file(obs);
  w.key("actor").begin_object();
  w.key("process").begin_object();
  if (loaded) {
    w.key("file").begin_object();
    w.field("name", base_name(obs.process_path.view())).field("path", obs.process_path.view());
    w.field("type_id", std::int64_t{1}).field("type", "Regular File");
    w.end_object();
  } else {
    w.key("file");
    ocsf_file(w, obs, t);
  }
  w.end_object();
  if (obs.user_name.has_value()) w.key("user").begin_object().field("name", obs.user_name.view()).end_object();
  w.end_object();

  w.key("evidences").begin_array();
  for (const auto& h : c.hits) {
    w.begin_object();
    w.field("name", h.id);
    w.key("data");
    detail::write_detection(w, h);
    if (loaded) {
      w.key("file");
      ocsf_file(w, obs, t);
    }
    w.end_object();
  }
  w.end_array();

  // What OCSF 1.4 has no attribute for.
  w.key("unmapped").begin_object();
  w.field("schema", k_alert_schema);
  w.field("severity", to_string(level));
  const bool certificate_facts = sig.subject.has_value() || sig.issuer.has_value() || sig.serial.has_value() ||
                                 sig.thumbprint.has_value() || sig.not_before_ms || sig.not_after_ms;
  if (sig.status_raw.has_value() || sig.trusted || sig.status != signature_status::missing ||
      (certificate_facts && !ocsf_certificate_complete(sig))) {
    w.key("code_signature").begin_object();
    if (sig.status != signature_status::missing) w.field("status", to_string(sig.status));
    optional_field(w, "status_raw", sig.status_raw);
    if (sig.trusted) w.field_bool("trusted", *sig.trusted);
    if (!ocsf_certificate_complete(sig)) {
      optional_field(w, "subject_name", sig.subject);
      optional_field(w, "issuer", sig.issuer);
      optional_field(w, "serial_number", sig.serial);
      optional_field(w, "thumbprint", sig.thumbprint);
      t.date("not_before", sig.not_before_ms);
      t.date("not_after", sig.not_after_ms);
    }
    w.end_object();
  }
  write_passthrough(w, c, t.scratch);
  w.end_object();
  w.end_object();
}

void render_ecs_alert(const alert_content& c, std::string& out) {
  out.clear();
  const observation& obs = c.obs;
  json_writer w(out);
  time_writer t{w, {}};
  const severity level = combined_severity(c.hits);
  const hit& primary = primary_hit(c.hits);

  w.begin_object();
  t.date("@timestamp", obs.event_time_ms ? obs.event_time_ms : std::optional<std::int64_t>(c.detected_at_ms));
  w.key("ecs").begin_object().field("version", k_ecs_version).end_object();
  w.field("message", primary.reason);

  const auto [category, type] = ecs_category(obs);
  w.key("event").begin_object();
  w.field("kind", "alert");
  w.key("category").begin_array().string(category).end_array();
  w.key("type").begin_array().string(type).end_array();
  w.field("id", c.id);
  t.date("created", c.detected_at_ms);
  w.field("severity", severity_id(level));
  w.field("module", "countersign").field("dataset", "countersign.alert");
  w.field("reason", primary.reason);
  w.end_object();

  w.key("rule").begin_object();
  w.field("id", primary.id).field("name", primary.title);
  w.field("ruleset", is_builtin_detector(primary.id) ? "countersign" : "sigma");
  w.field("description", primary.reason);
  for (const auto& e : primary.evidence) {
    if (e.key == "rule_file") w.field("reference", e.value);
  }
  w.end_object();
  ecs_threat(w, c.techniques);

  w.key("observer").begin_object().field("vendor", "countersign").field("product", "countersign");
  if (!c.product_version.empty()) w.field("version", c.product_version);
  w.end_object();

  if (obs.host_id.has_value() || obs.host_name.has_value()) {
    w.key("host").begin_object();
    optional_field(w, "id", obs.host_id);
    optional_field(w, "name", obs.host_name);
    w.end_object();
  }
  if (obs.user_name.has_value()) w.key("user").begin_object().field("name", obs.user_name.view()).end_object();

  const bool loaded = judges_a_loaded_file(obs);
  const text_field& process_image = loaded ? obs.process_path : obs.image_path;
  w.key("process").begin_object();
  if (process_image.has_value()) {
    w.field("executable", process_image.view()).field("name", base_name(process_image.view()));
  }
  if (!loaded) {
    ecs_hash_and_pe(w, obs);
    ecs_code_signature(w, obs.signature, t);
  }
  w.end_object();

  w.key("file").begin_object();
  if (obs.image_path.has_value()) {
    w.field("path", obs.image_path.view()).field("name", base_name(obs.image_path.view()));
  }
  ecs_hash_and_pe(w, obs);
  ecs_code_signature(w, obs.signature, t);
  ecs_x509(w, obs.signature, t);
  w.end_object();

  w.key("countersign").begin_object();
  w.field("schema", k_alert_schema);
  w.field("severity", to_string(level));
  w.key("detections").begin_array();
  for (const auto& h : c.hits) detail::write_detection(w, h);
  w.end_array();
  if (obs.signature.status_raw.has_value() || obs.signature.thumbprint.has_value()) {
    w.key("code_signature").begin_object();
    optional_field(w, "status_raw", obs.signature.status_raw);
    optional_field(w, "thumbprint", obs.signature.thumbprint);
    w.end_object();
  }
  write_passthrough(w, c, t.scratch);
  w.end_object();
  w.end_object();
}

}  // namespace countersign::rules
