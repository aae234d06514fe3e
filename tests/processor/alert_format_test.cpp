// Alert formats (rules/src/alert_formats.cpp, processor/src/engine/alert_output.cpp): every
// alert the fixtures raise, rendered as countersign.alert/v1, OCSF and ECS, is checked
// against schema/countersign.alert.v1.schema.json and against the OCSF 1.4.0 and ECS
// 8.17 field definitions written down below; the three renderings of each alert say the
// same thing field by field; and the Kafka headers name what routers need.

#include "json_schema.hpp"
#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace alert_format_test {  // one per file: the test programs are unity builds
namespace {

using rules::alert_format;
using test_support::k_data;

// ───────────── published field definitions (the subset we write) ─────────────

// How a field's value may look. `json`: a free-form object (OCSF `json` type, or a
// custom ECS field set), anything below it goes.
enum class kind { string, integer, boolean, date, keyword, json };

struct field_def {
  std::string_view path;  // dotted, "[]" after an array of objects
  kind type;
};

// OCSF 1.4.0, class Detection Finding (2004, category Findings) with the host profile,
// and the objects it uses (metadata, product, finding_info, analytic, attack,
// technique, sub_technique, tactic, device, actor, process, user, file, fingerprint,
// digital_signature, certificate, evidences), from the schema at schema.ocsf.io. OCSF
// timestamps are integers (milliseconds since the epoch).
const std::vector<field_def> k_ocsf_file_fields = {
    {"name", kind::string},          {"path", kind::string},        {"type_id", kind::integer},
    {"type", kind::string},          {"hashes[].algorithm_id", kind::integer}, {"hashes[].algorithm", kind::string},
    {"hashes[].value", kind::string}, {"company_name", kind::string}, {"desc", kind::string},
    {"internal_name", kind::string}, {"version", kind::string},      {"product.name", kind::string},
    {"signature.algorithm_id", kind::integer}, {"signature.algorithm", kind::string},
    {"signature.state_id", kind::integer}, {"signature.state", kind::string},
    {"signature.created_time", kind::integer}, {"signature.certificate.subject", kind::string},
    {"signature.certificate.issuer", kind::string}, {"signature.certificate.serial_number", kind::string},
    {"signature.certificate.created_time", kind::integer}, {"signature.certificate.expiration_time", kind::integer},
    {"signature.certificate.fingerprints[].algorithm_id", kind::integer},
    {"signature.certificate.fingerprints[].algorithm", kind::string},
    {"signature.certificate.fingerprints[].value", kind::string},
};

std::map<std::string, kind, std::less<>> ocsf_fields() {
  std::map<std::string, kind, std::less<>> m = {
      {"class_uid", kind::integer}, {"class_name", kind::string}, {"category_uid", kind::integer},
      {"category_name", kind::string}, {"activity_id", kind::integer}, {"activity_name", kind::string},
      {"type_uid", kind::integer}, {"type_name", kind::string}, {"time", kind::integer},
      {"start_time", kind::integer}, {"end_time", kind::integer}, {"severity_id", kind::integer},
      {"severity", kind::string}, {"status_id", kind::integer}, {"status", kind::string},
      {"is_alert", kind::boolean}, {"message", kind::string}, {"metadata.version", kind::string},
      {"metadata.uid", kind::string}, {"metadata.product.name", kind::string},
      {"metadata.product.vendor_name", kind::string}, {"metadata.product.version", kind::string},
      {"metadata.profiles[]", kind::string}, {"finding_info.uid", kind::string},
      {"finding_info.title", kind::string}, {"finding_info.desc", kind::string},
      {"finding_info.types[]", kind::string}, {"finding_info.created_time", kind::integer},
      {"finding_info.first_seen_time", kind::integer}, {"finding_info.data_sources[]", kind::string},
      {"finding_info.attacks[].technique.uid", kind::string}, {"finding_info.attacks[].technique.name", kind::string},
      {"finding_info.attacks[].sub_technique.uid", kind::string},
      {"finding_info.attacks[].sub_technique.name", kind::string},
      {"finding_info.attacks[].tactic.uid", kind::string}, {"finding_info.attacks[].tactic.name", kind::string},
      {"device.type_id", kind::integer}, {"device.type", kind::string}, {"device.uid", kind::string},
      {"device.hostname", kind::string}, {"actor.user.name", kind::string}, {"evidences[].name", kind::string},
      {"evidences[].data", kind::json}, {"unmapped", kind::json},
  };
  for (const std::string analytic : {"finding_info.analytic.", "finding_info.related_analytics[]."}) {
    for (const auto* f : {"uid", "name", "type", "category"}) m[analytic + f] = kind::string;
    m[analytic + "type_id"] = kind::integer;
  }
  for (const std::string file : {"actor.process.file.", "evidences[].file."}) {
    for (const auto& f : k_ocsf_file_fields) m[file + std::string(f.path)] = f.type;
  }
  return m;
}

// Attributes OCSF 1.4.0 requires of what we write (the class, and each object present).
const std::vector<std::string_view> k_ocsf_required = {
    "/class_uid", "/category_uid", "/activity_id", "/type_uid", "/severity_id", "/time",
    "/metadata/version", "/metadata/product/name", "/finding_info/uid", "/device/type_id",
    "/actor/process/file/name", "/actor/process/file/type_id"};

// ECS 8.17 field definitions (www.elastic.co/guide/en/ecs), the fields we fill. keyword
// fields may hold one value or an array; `countersign` is our custom field set.
std::map<std::string, kind, std::less<>> ecs_fields() {
  std::map<std::string, kind, std::less<>> m = {
      {"@timestamp", kind::date}, {"ecs.version", kind::keyword}, {"message", kind::string},
      {"event.kind", kind::keyword}, {"event.category", kind::keyword}, {"event.type", kind::keyword},
      {"event.id", kind::keyword}, {"event.created", kind::date}, {"event.severity", kind::integer},
      {"event.module", kind::keyword}, {"event.dataset", kind::keyword}, {"event.reason", kind::keyword},
      {"rule.id", kind::keyword}, {"rule.name", kind::keyword}, {"rule.ruleset", kind::keyword},
      {"rule.description", kind::keyword}, {"rule.reference", kind::keyword},
      {"threat.framework", kind::keyword}, {"threat.tactic.id", kind::keyword}, {"threat.tactic.name", kind::keyword},
      {"threat.technique.id", kind::keyword}, {"threat.technique.name", kind::keyword},
      {"threat.technique.subtechnique.id", kind::keyword}, {"observer.vendor", kind::keyword},
      {"observer.product", kind::keyword}, {"observer.version", kind::keyword}, {"host.id", kind::keyword},
      {"host.name", kind::keyword}, {"user.name", kind::keyword}, {"process.executable", kind::keyword},
      {"process.name", kind::keyword}, {"file.path", kind::keyword}, {"file.name", kind::keyword},
      {"file.x509.issuer.distinguished_name", kind::keyword}, {"file.x509.issuer.common_name", kind::keyword},
      {"file.x509.subject.distinguished_name", kind::keyword}, {"file.x509.subject.common_name", kind::keyword},
      {"file.x509.subject.organization", kind::keyword}, {"file.x509.serial_number", kind::keyword},
      {"file.x509.not_before", kind::date}, {"file.x509.not_after", kind::date}, {"countersign", kind::json},
  };
  for (const std::string image : {"process.", "file."}) {
    for (const auto* f : {"hash.sha256", "hash.sha1", "pe.original_file_name", "pe.company", "pe.product",
                          "pe.description", "pe.file_version", "code_signature.status",
                          "code_signature.subject_name", "code_signature.thumbprint_sha256"}) {
      m[image + f] = kind::keyword;
    }
    m[image + "code_signature.exists"] = kind::boolean;
    m[image + "code_signature.trusted"] = kind::boolean;
    m[image + "code_signature.timestamp"] = kind::date;
  }
  return m;
}

// ECS allowed values (event.kind, event.category, event.type).
const std::vector<std::string_view> k_ecs_kinds = {"alert", "asset", "enrichment", "event", "metric", "state",
                                                   "pipeline_error", "signal"};
const std::vector<std::string_view> k_ecs_categories = {
    "api", "authentication", "configuration", "database", "driver", "email", "file", "host", "iam",
    "intrusion_detection", "library", "malware", "network", "package", "process", "registry", "session",
    "threat", "vulnerability", "web"};
const std::vector<std::string_view> k_ecs_types = {
    "access", "admin", "allowed", "change", "connection", "creation", "deletion", "denied", "end",
    "error", "group", "indicator", "info", "installation", "protocol", "start", "user"};

bool is_kind(simdjson::dom::element v, kind k) {
  switch (k) {
    case kind::string: return v.is_string();
    case kind::integer: return v.is_int64() || v.is_uint64();
    case kind::boolean: return v.is_bool();
    case kind::date: return v.is_string() && rules::parse_rfc3339_ms(v.get_string().value_unsafe()).has_value();
    case kind::keyword:
      if (v.is_string()) return true;
      if (!v.is_array()) return false;
      for (const auto item : v.get_array()) {
        if (!item.is_string()) return false;
      }
      return true;
    case kind::json: return v.is_object();
  }
  return false;
}

// Every member of `v` checked against `defs`; problems appended to `out`.
void check_fields(simdjson::dom::element v, const std::string& path, const std::map<std::string, kind, std::less<>>& defs,
                  std::vector<std::string>& out) {
  if (const auto it = defs.find(path); it != defs.end()) {
    if (!is_kind(v, it->second)) out.push_back(path + ": " + simdjson::to_string(v) + " has the wrong type");
    return;
  }
  if (v.is_object()) {
    for (const auto [key, value] : v.get_object()) {
      check_fields(value, path.empty() ? std::string(key) : path + "." + std::string(key), defs, out);
    }
  } else if (v.is_array()) {
    for (const auto item : v.get_array()) check_fields(item, path + "[]", defs, out);
  } else {
    out.push_back(path + ": not a field of the published definitions");
  }
}

// ───────────── the fixtures' alerts in every format ─────────────

struct rendered {
  std::string countersign, ocsf, ecs;
  std::string source;  // fixture file, for messages
};

constexpr const char* k_all_formats = R"yaml(
detectors:
  signature_untrusted:
    internal_pki_issuers: ["Contoso Internal Code Signing CA"]
sigma:
  builtin: [clock_rollback.yml, codeintegrity_enforcement.yml, t1588_003_signed_code.yml, correlations_signing.yml]
alerts:
  format: ocsf
  outputs:
    - topic: alerts.ecs
      format: ecs
    - topic: alerts.cs
      format: countersign
)yaml";

// Every alert of the profile fixtures, with prevalence state, rendered in all formats.
const std::vector<rendered>& fixture_alerts() {
  static const std::vector<rendered> all = [] {
    std::vector<rendered> out;
    test_support::state_dir dir;
    auto store = dir.open();
    pipeline p(test_support::config_or_fail(k_all_formats), store.get());
    const auto take = [&](const std::string& file) {
      for (const auto& a : p.sigma_alerts()) {
        out.push_back({a.json, std::string(a.payload(alert_format::ocsf)), std::string(a.payload(alert_format::ecs)), file});
      }
      for (const auto& a : p.alerts()) {
        out.push_back({a.json, std::string(a.payload(alert_format::ocsf)), std::string(a.payload(alert_format::ecs)), file});
      }
    };
    for (const char* name : {"ecs/process_events.ndjson", "ocsf/process_activity.ndjson", "defender/rows.ndjson",
                             "codeintegrity/eventdata.ndjson", "codeintegrity/join_sequence.ndjson",
                             "sentinelone/events.ndjson", "windows/flat.ndjson", "sigma/content.ndjson",
                             "sigma/correlations.ndjson"}) {
      const std::string file = k_data + "/" + name;
      std::int64_t offset = 0;
      for (const auto& msg : test_support::messages_of(file)) {
        const std::int64_t at = offset++;
        (void)p.process(msg, {name, 0, at}, std::nullopt, static_cast<std::uint64_t>(offset));
        take(name);
      }
      p.flush(std::nullopt);
      take(name);
    }
    return out;
  }();
  return all;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(alert_formats, the_fixtures_raise_alerts_of_every_detector_kind) {
  const auto& alerts = fixture_alerts();
  EXPECT_GE(alerts.size(), 20U);
  std::set<std::string> detectors;
  for (const auto& a : alerts) {
    std::stringstream ids(test_support::detector_ids(a.countersign));
    for (std::string id; std::getline(ids, id, '+');) detectors.insert(id);
  }
  EXPECT_GE(detectors.size(), 5U) << "the formats should be checked on many detectors";
}

TEST(alert_formats, the_fixtures_raise_correlation_alerts_so_their_formats_are_checked_too) {
  std::size_t correlated = 0;
  for (const auto& a : fixture_alerts()) {
    if (a.countersign.find("\"correlation_type\"") != std::string::npos) {
      ++correlated;
      EXPECT_NE(a.ocsf.find("correlation_type"), std::string::npos) << a.ocsf;
      EXPECT_NE(a.ecs.find("correlation_type"), std::string::npos) << a.ecs;
    }
  }
  EXPECT_GE(correlated, 3U) << "sigma/correlations.ndjson fires each shipped correlation";
}

TEST(alert_formats, every_countersign_alert_validates_against_the_published_schema) {
  const countersign::test_support::json_schema schema(read_file(std::string(COUNTERSIGN_SOURCE_DIR) + "/schema/countersign.alert.v1.schema.json"));
  ASSERT_THAT(schema.load_errors(), ::testing::IsEmpty());
  for (const auto& a : fixture_alerts()) {
    EXPECT_THAT(schema.validate(a.countersign), ::testing::IsEmpty()) << a.source << ": " << a.countersign;
  }
}

TEST(alert_formats, the_schema_refuses_what_the_format_does_not_allow) {
  const countersign::test_support::json_schema schema(read_file(std::string(COUNTERSIGN_SOURCE_DIR) + "/schema/countersign.alert.v1.schema.json"));
  const std::string good = fixture_alerts().front().countersign;
  ASSERT_THAT(schema.validate(good), ::testing::IsEmpty());
  std::string bad_severity = good;
  bad_severity.replace(bad_severity.find("\"severity\":\"") + 12, 0, "x");
  EXPECT_THAT(schema.validate(bad_severity), ::testing::Not(::testing::IsEmpty()));
  std::string extra = good;
  extra.insert(1, "\"surprise\":1,");
  EXPECT_THAT(schema.validate(extra), ::testing::Contains(::testing::HasSubstr("unexpected member surprise")));
  EXPECT_THAT(schema.validate("{\"schema\":\"countersign.alert/v1\"}"),
              ::testing::Contains(::testing::HasSubstr("missing required detections")));
}

TEST(alert_formats, every_ocsf_alert_uses_only_ocsf_1_4_detection_finding_fields) {
  const auto defs = ocsf_fields();
  simdjson::dom::parser parser;
  for (const auto& a : fixture_alerts()) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(a.ocsf).get(doc), simdjson::SUCCESS) << a.ocsf;
    std::vector<std::string> problems;
    check_fields(doc, "", defs, problems);
    for (const auto pointer : k_ocsf_required) {
      if (doc.at_pointer(pointer).error() != simdjson::SUCCESS) problems.push_back(std::string(pointer) + ": required, missing");
    }
    EXPECT_EQ(doc["class_uid"].get_int64().value(), 2004);
    EXPECT_EQ(doc["category_uid"].get_int64().value(), 2);
    EXPECT_EQ(doc["type_uid"].get_int64().value(), 2004 * 100 + doc["activity_id"].get_int64().value());
    const std::int64_t sev = doc["severity_id"].get_int64().value();
    const std::vector<std::string_view> captions = {"Unknown", "Informational", "Low", "Medium", "High", "Critical"};
    ASSERT_TRUE(sev >= 1 && sev <= 5);
    EXPECT_EQ(doc["severity"].get_string().value(), captions[static_cast<std::size_t>(sev)]);
    for (const auto e : doc["evidences"].get_array()) {
      EXPECT_TRUE(e["data"].error() == simdjson::SUCCESS || e["file"].error() == simdjson::SUCCESS)
          << "an evidence needs at least one artifact";
    }
    EXPECT_THAT(problems, ::testing::IsEmpty()) << a.source << ": " << a.ocsf;
  }
}

TEST(alert_formats, every_ecs_alert_uses_only_ecs_8_17_fields_and_allowed_values) {
  const auto defs = ecs_fields();
  simdjson::dom::parser parser;
  for (const auto& a : fixture_alerts()) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(a.ecs).get(doc), simdjson::SUCCESS) << a.ecs;
    std::vector<std::string> problems;
    check_fields(doc, "", defs, problems);
    EXPECT_THAT(problems, ::testing::IsEmpty()) << a.source << ": " << a.ecs;
    EXPECT_EQ(doc["event"]["kind"].get_string().value(), "alert");
    EXPECT_THAT(k_ecs_kinds, ::testing::Contains(doc["event"]["kind"].get_string().value()));
    for (const auto c : doc["event"]["category"].get_array()) {
      EXPECT_THAT(k_ecs_categories, ::testing::Contains(c.get_string().value()));
    }
    for (const auto t : doc["event"]["type"].get_array()) EXPECT_THAT(k_ecs_types, ::testing::Contains(t.get_string().value()));
  }
}

// ───────────── the same alert, field by field ─────────────

std::string text(simdjson::dom::element doc, std::string_view pointer) {
  std::string_view s;
  return doc.at_pointer(pointer).get_string().get(s) == simdjson::SUCCESS ? std::string(s) : std::string("<absent>");
}

std::int64_t integer(simdjson::dom::element doc, std::string_view pointer) {
  std::int64_t n = -1;
  if (doc.at_pointer(pointer).get_int64().get(n) != simdjson::SUCCESS) return -1;  // absent: the comparison fails
  return n;
}

std::int64_t ms(simdjson::dom::element doc, std::string_view pointer) {
  return rules::parse_rfc3339_ms(text(doc, pointer)).value_or(-2);
}

bool present(simdjson::dom::element doc, std::string_view pointer) { return doc.at_pointer(pointer).error() == simdjson::SUCCESS; }

TEST(alert_formats, the_three_formats_of_each_alert_say_the_same_thing_field_by_field) {
  simdjson::dom::parser pc, po, pe;
  const std::map<std::string, std::int64_t, std::less<>> severity_ids = {
      {"info", 1}, {"low", 2}, {"medium", 3}, {"high", 4}, {"critical", 5}};
  for (const auto& a : fixture_alerts()) {
    SCOPED_TRACE(a.source + ": " + a.countersign);
    const simdjson::dom::element c = pc.parse(a.countersign).value();
    const simdjson::dom::element o = po.parse(a.ocsf).value();
    const simdjson::dom::element e = pe.parse(a.ecs).value();
    const std::string id = text(c, "/id");
    EXPECT_EQ(text(o, "/finding_info/uid"), id);
    EXPECT_EQ(text(o, "/metadata/uid"), id);
    EXPECT_EQ(text(e, "/event/id"), id);
    EXPECT_EQ(integer(o, "/severity_id"), severity_ids.at(text(c, "/severity")));
    EXPECT_EQ(integer(e, "/event/severity"), severity_ids.at(text(c, "/severity")));
    EXPECT_EQ(text(o, "/unmapped/severity"), text(c, "/severity"));
    EXPECT_EQ(text(e, "/countersign/severity"), text(c, "/severity"));
    EXPECT_EQ(integer(o, "/time"), ms(c, "/detected_at"));
    EXPECT_EQ(ms(e, "/event/created"), ms(c, "/detected_at"));
    if (present(c, "/time")) {
      EXPECT_EQ(integer(o, "/start_time"), ms(c, "/time"));
      EXPECT_EQ(ms(e, "/@timestamp"), ms(c, "/time"));
    }
    // Every detection, in order.
    const auto detections = c["detections"].get_array().value();
    EXPECT_EQ(o["evidences"].get_array().value().size(), detections.size());
    EXPECT_EQ(o["finding_info"]["types"].get_array().value().size(), detections.size());
    for (std::size_t i = 0; i < detections.size(); ++i) {
      const std::string at = "/detections/" + std::to_string(i);
      EXPECT_EQ(text(o, "/finding_info/types/" + std::to_string(i)), text(c, at + "/id"));
      EXPECT_EQ(text(o, "/evidences/" + std::to_string(i) + "/name"), text(c, at + "/id"));
      EXPECT_EQ(text(o, "/evidences/" + std::to_string(i) + "/data/reason"), text(c, at + "/reason"));
      EXPECT_EQ(text(e, "/countersign" + at + "/reason"), text(c, at + "/reason"));
      EXPECT_EQ(simdjson::to_string(o.at_pointer("/evidences/" + std::to_string(i) + "/data").value()),
                simdjson::to_string(c.at_pointer(at).value()));
    }
    EXPECT_EQ(text(o, "/finding_info/analytic/uid"), text(e, "/rule/id"));
    EXPECT_EQ(text(o, "/finding_info/analytic/name"), text(e, "/rule/name"));
    // Techniques.
    const auto techniques = c["technique"].get_array().value();
    EXPECT_EQ(o["finding_info"]["attacks"].get_array().value().size(), techniques.size());
    for (std::size_t i = 0; i < techniques.size(); ++i) {
      const std::string t = text(c, "/technique/" + std::to_string(i));
      const std::string at = "/finding_info/attacks/" + std::to_string(i);
      EXPECT_EQ(t.find('.') == std::string::npos ? text(o, at + "/technique/uid") : text(o, at + "/sub_technique/uid"), t);
      EXPECT_EQ(text(e, "/threat/technique/id/" + std::to_string(i)), t.substr(0, t.find('.')));
    }
    // Host, user.
    if (present(c, "/host/id")) {
      EXPECT_EQ(text(o, "/device/uid"), text(c, "/host/id"));
      EXPECT_EQ(text(e, "/host/id"), text(c, "/host/id"));
    }
    if (present(c, "/host/name") && !text(c, "/host/name").empty()) {
      EXPECT_EQ(text(o, "/device/hostname"), text(c, "/host/name"));
      EXPECT_EQ(text(e, "/host/name"), text(c, "/host/name"));
    }
    if (present(c, "/user/name") && !text(c, "/user/name").empty()) {
      EXPECT_EQ(text(o, "/actor/user/name"), text(c, "/user/name"));
      EXPECT_EQ(text(e, "/user/name"), text(c, "/user/name"));
    }
    // The judged file: path, hashes, signature, certificate.
    const std::string ocsf_file = present(o, "/evidences/0/file") ? "/evidences/0/file" : "/actor/process/file";
    if (!text(c, "/process/executable").empty() && present(c, "/process/executable")) {
      EXPECT_EQ(text(o, ocsf_file + "/path"), text(c, "/process/executable"));
      EXPECT_EQ(text(e, "/file/path"), text(c, "/process/executable"));
    }
    if (!text(c, "/process/hash/sha256").empty() && present(c, "/process/hash/sha256")) {
      EXPECT_EQ(text(o, ocsf_file + "/hashes/0/value"), text(c, "/process/hash/sha256"));
      EXPECT_EQ(integer(o, ocsf_file + "/hashes/0/algorithm_id"), 3);
      EXPECT_EQ(text(e, "/file/hash/sha256"), text(c, "/process/hash/sha256"));
    }
    if (!text(c, "/process/hash/sha1").empty() && present(c, "/process/hash/sha1")) {
      EXPECT_EQ(text(e, "/file/hash/sha1"), text(c, "/process/hash/sha1"));
    }
    const std::string sig = "/process/code_signature";
    const std::string cert = ocsf_file + "/signature/certificate";
    if (present(o, cert)) {
      EXPECT_EQ(text(o, cert + "/issuer"), text(c, sig + "/issuer"));
      EXPECT_EQ(text(o, cert + "/serial_number"), text(c, sig + "/serial_number"));
      EXPECT_EQ(text(e, "/file/x509/serial_number"), text(c, sig + "/serial_number"));
      if (present(c, sig + "/not_after")) {
        EXPECT_EQ(integer(o, cert + "/expiration_time"), ms(c, sig + "/not_after"));
        EXPECT_EQ(ms(e, "/file/x509/not_after"), ms(c, sig + "/not_after"));
      }
      if (present(c, sig + "/not_before")) {
        EXPECT_EQ(integer(o, cert + "/created_time"), ms(c, sig + "/not_before"));
      }
      if (!text(c, sig + "/thumbprint").empty() && present(c, sig + "/thumbprint")) {
        EXPECT_EQ(text(o, cert + "/fingerprints/0/value"), text(c, sig + "/thumbprint"));
      }
    } else if (!text(c, sig + "/issuer").empty() && present(c, sig + "/issuer")) {
      EXPECT_EQ(text(o, "/unmapped/code_signature/issuer"), text(c, sig + "/issuer")) << "a partial certificate goes to unmapped";
    }
    if (!text(c, sig + "/thumbprint").empty() && present(c, sig + "/thumbprint")) {
      EXPECT_EQ(text(e, "/countersign/code_signature/thumbprint"), text(c, sig + "/thumbprint"));
    }
    if (present(c, sig + "/trusted")) {
      EXPECT_EQ(simdjson::to_string(e.at_pointer("/file/code_signature/trusted").value()),
                simdjson::to_string(c.at_pointer(sig + "/trusted").value()));
    }
    // What has no home in the standards travels whole.
    for (const std::string_view block : {"/codeintegrity", "/prevalence", "/source"}) {
      if (!present(c, block)) continue;
      const std::string want = simdjson::to_string(c.at_pointer(block).value());
      EXPECT_EQ(simdjson::to_string(o.at_pointer("/unmapped" + std::string(block)).value()), want) << block;
      EXPECT_EQ(simdjson::to_string(e.at_pointer("/countersign" + std::string(block)).value()), want) << block;
    }
  }
}

// One alert pinned literally: the revoked signature of the ECS fixture (line 2).
TEST(alert_formats, a_revoked_signature_reads_the_same_in_all_three_formats) {
  const auto& alerts = fixture_alerts();
  const auto it = std::ranges::find_if(alerts, [](const rendered& a) {
    return a.source == "ecs/process_events.ndjson" && a.countersign.find("\"cs.signature.revoked\"") != std::string::npos;
  });
  ASSERT_NE(it, alerts.end());
  simdjson::dom::parser pc, po, pe;
  const auto c = pc.parse(it->countersign).value();
  const auto o = po.parse(it->ocsf).value();
  const auto e = pe.parse(it->ecs).value();
  EXPECT_EQ(text(c, "/severity"), "high");
  EXPECT_EQ(integer(o, "/severity_id"), 4);
  EXPECT_EQ(text(o, "/severity"), "High");
  EXPECT_EQ(integer(o, "/type_uid"), 200401);
  EXPECT_EQ(text(o, "/finding_info/analytic/uid"), "cs.signature.revoked");
  EXPECT_EQ(text(o, "/finding_info/analytic/category"), "countersign");
  EXPECT_EQ(text(o, "/finding_info/attacks/0/technique/uid"), "T1588");
  EXPECT_EQ(text(o, "/finding_info/attacks/0/sub_technique/uid"), "T1588.003");
  EXPECT_EQ(text(o, "/finding_info/attacks/0/sub_technique/name"), "Code Signing Certificates");
  EXPECT_EQ(text(o, "/finding_info/attacks/0/tactic/uid"), "TA0042");
  EXPECT_EQ(text(o, "/actor/process/file/signature/state"), "Revoked");
  EXPECT_EQ(integer(o, "/actor/process/file/signature/state_id"), 3);
  EXPECT_EQ(text(o, "/metadata/product/name"), "countersign");
  EXPECT_EQ(text(e, "/event/kind"), "alert");
  EXPECT_EQ(text(e, "/event/category/0"), "process");
  EXPECT_EQ(text(e, "/rule/id"), "cs.signature.revoked");
  EXPECT_EQ(text(e, "/rule/ruleset"), "countersign");
  EXPECT_EQ(text(e, "/threat/framework"), "MITRE ATT&CK");
  EXPECT_EQ(text(e, "/threat/technique/id/0"), "T1588");
  EXPECT_EQ(text(e, "/threat/technique/name/0"), "Obtain Capabilities");
  EXPECT_EQ(text(e, "/threat/technique/subtechnique/id/0"), "T1588.003");
  EXPECT_EQ(text(e, "/process/code_signature/status"), "revoked");
  EXPECT_EQ(text(e, "/process/executable"), text(c, "/process/executable"));
  EXPECT_EQ(text(e, "/process/hash/sha256"), text(c, "/process/hash/sha256"));
}

TEST(alert_formats, a_sigma_match_names_its_rule_and_ruleset) {
  const auto& alerts = fixture_alerts();
  const auto it = std::ranges::find_if(alerts, [](const rendered& a) { return a.source == "sigma/content.ndjson"; });
  ASSERT_NE(it, alerts.end());
  simdjson::dom::parser po, pe;
  const auto o = po.parse(it->ocsf).value();
  const auto e = pe.parse(it->ecs).value();
  EXPECT_EQ(text(o, "/finding_info/analytic/category"), "sigma");
  EXPECT_EQ(text(e, "/rule/ruleset"), "sigma");
  EXPECT_THAT(text(e, "/rule/reference"), ::testing::EndsWith(".yml"));
}

// ───────────── outputs and headers ─────────────

TEST(alert_formats, outputs_list_the_alerts_topic_first_then_each_configured_output) {
  const auto cfg = test_support::config_or_fail(k_all_formats);
  const auto outputs = alert_outputs(cfg);
  ASSERT_EQ(outputs.size(), 3U);
  EXPECT_EQ(outputs[0].topic, "countersign.alerts");
  EXPECT_EQ(outputs[0].format, alert_format::ocsf);
  EXPECT_EQ(outputs[1].topic, "alerts.ecs");
  EXPECT_EQ(outputs[1].format, alert_format::ecs);
  EXPECT_EQ(outputs[2].format, alert_format::countersign);
  const auto defaults = test_support::config_or_fail("{}");
  EXPECT_EQ(alert_outputs(defaults).size(), 1U);
  EXPECT_EQ(alert_formats(defaults), (alert_format_set{true, false, false})) << "the default renders nothing extra";
}

TEST(alert_formats, formats_no_output_uses_are_not_rendered) {
  pipeline p(test_support::config_or_fail(test_support::k_ecs_fixture_config));
  (void)test_support::run_fixture(p, k_data + "/ecs/process_events.ndjson", "t");
  ASSERT_FALSE(p.alerts().empty());
  EXPECT_TRUE(p.alerts().back().payload(alert_format::ocsf).empty());
  EXPECT_TRUE(p.alerts().back().payload(alert_format::ecs).empty());
}

TEST(alert_formats, every_record_carries_routing_headers) {
  pipeline p(test_support::config_or_fail(k_all_formats));
  const auto lines = test_support::read_lines(k_data + "/ecs/process_events.ndjson");
  const auto r = p.process(lines[1], {"edr.events", 3, 17}, std::nullopt, 1);  // the revoked signature
  ASSERT_EQ(r.kind, outcome::alert);
  const auto& a = p.alerts().front();
  std::map<std::string, std::string, std::less<>> h;
  for (const auto& [name, value] : alert_headers_of(a, alert_format::ocsf)) h[std::string(name)] = value;
  EXPECT_EQ(h["countersign.severity"], "high");
  EXPECT_EQ(h["countersign.detectors"], "cs.signature.revoked");
  EXPECT_EQ(h["countersign.format"], "ocsf");
  EXPECT_EQ(h["countersign.schema"], "ocsf/1.4.0/detection_finding");
  EXPECT_EQ(h["countersign.source.topic"], "edr.events");
  EXPECT_EQ(h["countersign.id"].size(), 32U);
  EXPECT_THAT(a.json, ::testing::StartsWith("{\"schema\":\"countersign.alert/v1\",\"id\":\"" + h["countersign.id"] + "\""));
  for (const auto& [name, value] : alert_headers_of(a, alert_format::countersign)) h[std::string(name)] = value;
  EXPECT_EQ(h["countersign.schema"], "countersign.alert/v1");
  EXPECT_EQ(h["countersign.format"], "countersign");
}

}  // namespace
}  // namespace alert_format_test
}  // namespace countersign::processor
