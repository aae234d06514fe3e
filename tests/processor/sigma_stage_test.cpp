// Sigma at ingest (processor/src/engine/sigma_stage.cpp, sigma_document.cpp): Sigma field names
// on every input profile, logsources (Sysmon, Security 4688, PowerShell, Firewall With
// Advanced Security) in every Windows event shape, the shipped rules against their
// fixtures, the alert envelope, suppression, hot reload, bad rule files and what
// `rules check` makes of them.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace countersign::processor {
namespace sigma_stage_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using rules::schema_profile;
using test_support::config_or_fail;
using test_support::k_data;
using test_support::messages_of;
using test_support::read_lines;

// One message parsed and seen through sigma_view (of its first observation, if any).
struct view_harness {
  input_parser parser;
  observation_batch batch;
  sigma_document doc{2000};
  std::optional<sigma_view> view;

  const sigma_view& operator()(std::string_view json, int record = -1) {
    auto r = parser.parse(json, batch);
    EXPECT_TRUE(r.has_value()) << json;
    const auto m = parser.last_message();
    doc.reset(m.data, m.size, m.capacity, r ? *r : schema_profile::unknown);
    const rules::observation* obs =
        batch.size() == 0 ? nullptr : &batch[record >= 0 ? static_cast<std::size_t>(record) : 0];
    view.emplace(doc, r ? *r : schema_profile::unknown, obs, record);
    return *view;
  }
};

std::string value(const sigma_view& v, std::string_view name) {
  auto f = v.field(name);
  return f ? std::string(*f) : "<missing>";
}

std::vector<std::string> logsources(const sigma_view& v) {
  std::vector<std::string> out;
  for (const auto& s : v.logsources()) {
    out.push_back(std::string(s.category) + "/" + std::string(s.product) + "/" + std::string(s.service));
  }
  return out;
}

TEST(sigma_fields, elastic_defend_process_resolves_sysmon_names_from_ecs_fields) {
  view_harness h;
  const auto& v = h(R"({"@timestamp":"2026-11-20T10:00:00Z","event":{"category":["process"],"type":["start"]},
    "host":{"id":"h1","name":"WS-1"},"user":{"name":"alice"},
    "process":{"executable":"C:\\Tools\\x.exe","command_line":"x.exe -q","pid":12,
      "parent":{"executable":"C:\\Windows\\explorer.exe","command_line":"explorer.exe"},
      "hash":{"sha256":"ab01","sha1":"cd02","md5":"ef03"},
      "code_signature":{"exists":true,"status":"errorExpired","subject_name":"Acme Ltd"},
      "pe":{"original_file_name":"x.exe","company":"Acme","product":"X","description":"X tool"}}})");
  EXPECT_EQ(value(v, "Image"), "C:\\Tools\\x.exe");
  EXPECT_EQ(value(v, "CommandLine"), "x.exe -q");
  EXPECT_EQ(value(v, "ParentImage"), "C:\\Windows\\explorer.exe");
  EXPECT_EQ(value(v, "ParentCommandLine"), "explorer.exe");
  EXPECT_EQ(value(v, "ProcessId"), "12");
  EXPECT_EQ(value(v, "Hashes"), "SHA1=CD02,MD5=EF03,SHA256=AB01");
  EXPECT_EQ(value(v, "Signed"), "true");
  EXPECT_EQ(value(v, "SignatureStatus"), "Expired");
  EXPECT_EQ(value(v, "Signature"), "Acme Ltd");
  EXPECT_EQ(value(v, "OriginalFileName"), "x.exe");
  EXPECT_EQ(value(v, "Company"), "Acme");
  EXPECT_EQ(value(v, "Description"), "X tool");
  EXPECT_EQ(value(v, "Computer"), "WS-1");
  EXPECT_EQ(value(v, "User"), "alice");
  // Any dotted path of the document is a field name too.
  EXPECT_EQ(value(v, "process.parent.command_line"), "explorer.exe");
  EXPECT_EQ(value(v, "host.id"), "h1");
  EXPECT_EQ(value(v, "IntegrityLevel"), "<missing>");
  EXPECT_THAT(logsources(v), ElementsAre("process_creation/windows/"));
}

// The Sigma names that read one observation field as it is, for every event kind (the
// names as they were before they moved to rules/observation_fields.hpp). The document
// carries none of them, so every value comes from the observation.
TEST(sigma_fields, plain_sigma_names_read_their_observation_field_for_every_kind) {
  view_harness h;
  h(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"}})");
  rules::observation o;
  o.host_name.set("WS-1");
  o.user_name.set("alice");
  o.sha256.set("aa");
  o.sha1.set("bb");
  o.pe.original_file_name.set("ofn");
  o.pe.company.set("co");
  o.pe.product.set("pr");
  o.pe.description.set("de");
  o.pe.file_version.set("fv");
  o.signature.thumbprint.set("cc");
  o.ci.policy_name.set("pol");
  o.ci.policy_id.set("pid");
  o.ci.event_id = 3077;
  o.ci.requested_signing_level = 12;
  o.ci.validated_signing_level = -1;
  const std::vector<std::pair<std::string_view, std::string_view>> expected = {
      {"Computer", "WS-1"}, {"User", "alice"}, {"sha256", "aa"}, {"SHA256", "aa"}, {"sha1", "bb"}, {"SHA1", "bb"},
      {"OriginalFileName", "ofn"}, {"Company", "co"}, {"Product", "pr"}, {"Description", "de"},
      {"FileVersion", "fv"}, {"SignatureThumbprint", "cc"}, {"PolicyName", "pol"}, {"PolicyNameBuffer", "pol"},
      {"PolicyID", "pid"}, {"PolicyIdBuffer", "pid"}, {"EventID", "3077"}, {"RequestedPolicy", "12"},
      {"ValidatedPolicy", "-1"}};
  for (const auto kind : {rules::event_kind::process_start, rules::event_kind::image_load,
                          rules::event_kind::code_integrity, rules::event_kind::unknown}) {
    o.kind = kind;
    h.view.emplace(h.doc, schema_profile::ecs, &o, -1);
    for (const auto& [name, want] : expected) EXPECT_EQ(value(*h.view, name), want) << name << " " << to_string(kind);
  }
  // Absent: missing, present but empty: empty; integers only when present.
  rules::observation empty;
  empty.pe.company.set("");
  h.view.emplace(h.doc, schema_profile::ecs, &empty, -1);
  EXPECT_EQ(value(*h.view, "Company"), "");
  for (const std::string_view name : {"Product", "EventID", "RequestedPolicy", "Computer", "host_name", "kind"}) {
    EXPECT_EQ(value(*h.view, name), "<missing>") << name;
  }
}

TEST(sigma_fields, winlogbeat_event_data_is_read_by_its_plain_name_first) {
  view_harness h;
  const auto& v = h(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-2"},
    "process":{"executable":"C:\\ecs\\path.exe"},
    "winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1",
      "event_data":{"Image":"C:\\raw\\path.exe","IntegrityLevel":"High","LogonGuid":"{x}"}}})");
  EXPECT_EQ(value(v, "Image"), "C:\\raw\\path.exe");
  EXPECT_EQ(value(v, "IntegrityLevel"), "High");
  EXPECT_EQ(value(v, "LogonGuid"), "{x}");
  EXPECT_EQ(value(v, "EventID"), "1");
  EXPECT_EQ(value(v, "Channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_THAT(logsources(v), ElementsAre("process_creation/windows/sysmon"));
}

TEST(sigma_fields, sysmon_events_outside_the_observation_get_their_sigma_category) {
  view_harness h;
  const auto make = [](int id) {
    return std::string(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-3"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":")") +
           std::to_string(id) + R"(","event_data":{"TargetObject":"HKLM\\Software\\x","Image":"C:\\a.exe"}}})";
  };
  EXPECT_THAT(logsources(h(make(13))), ElementsAre("registry_set/windows/sysmon", "registry_event/windows/sysmon"));
  EXPECT_EQ(value(*h.view, "TargetObject"), "HKLM\\Software\\x");
  EXPECT_THAT(logsources(h(make(12))), ElementsAre("registry_add/windows/sysmon", "registry_event/windows/sysmon",
                                                   "registry_delete/windows/sysmon"));
  EXPECT_THAT(logsources(h(make(11))), ElementsAre("file_event/windows/sysmon"));
  EXPECT_THAT(logsources(h(make(17))), ElementsAre("pipe_created/windows/sysmon"));
  EXPECT_THAT(logsources(h(make(22))), ElementsAre("dns_query/windows/sysmon"));
  // Other Windows channels: the service, no category.
  EXPECT_THAT(logsources(h(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-3"},"winlog":{"channel":"Security","event_id":"4616","event_data":{"ProcessName":"C:\\x.exe"}}})")),
              ElementsAre("/windows/security"));
  EXPECT_EQ(value(*h.view, "ProcessName"), "C:\\x.exe");
  EXPECT_EQ(value(*h.view, "EventID"), "4616");
}

TEST(sigma_fields, sysmon_image_and_driver_loads) {
  view_harness h;
  const auto& v = h(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-4"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"6",
    "event_data":{"ImageLoaded":"C:\\Windows\\Temp\\d.sys","Signed":"true","Signature":"Vendor","SignatureStatus":"Expired","Hashes":"SHA256=AA"}}})");
  EXPECT_THAT(logsources(v), ElementsAre("driver_load/windows/sysmon"));
  EXPECT_EQ(value(v, "ImageLoaded"), "C:\\Windows\\Temp\\d.sys");
  EXPECT_EQ(value(v, "SignatureStatus"), "Expired");  // Sysmon's own words, as written
}

TEST(sigma_fields, ocsf_process_activity) {
  view_harness h;
  const auto& v = h(R"({"class_uid":1007,"activity_id":1,"time":1795168800000,"device":{"uid":"o1","hostname":"ws-o1"},
    "actor":{"user":{"name":"dave"}},
    "process":{"pid":7,"cmd_line":"w32tm /unregister","file":{"path":"C:\\Windows\\System32\\w32tm.exe","name":"w32tm.exe"},
      "parent_process":{"pid":6,"cmd_line":"cmd.exe","file":{"path":"C:\\Windows\\System32\\cmd.exe"}}}})");
  EXPECT_EQ(value(v, "Image"), "C:\\Windows\\System32\\w32tm.exe");
  EXPECT_EQ(value(v, "CommandLine"), "w32tm /unregister");
  EXPECT_EQ(value(v, "ParentImage"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(value(v, "ParentCommandLine"), "cmd.exe");
  EXPECT_EQ(value(v, "ParentProcessId"), "6");
  EXPECT_THAT(logsources(v), ElementsAre("process_creation/windows/"));
}

TEST(sigma_fields, defender_rows_and_each_record_of_an_export) {
  view_harness h;
  const auto& row = h(R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d1","DeviceName":"ws-d1","ActionType":"ProcessCreated",
    "FileName":"a.exe","FolderPath":"C:\\a.exe","ProcessCommandLine":"a.exe /x","InitiatingProcessFolderPath":"C:\\p.exe",
    "InitiatingProcessCommandLine":"p.exe","SHA256":"ab","AccountName":"eve"})");
  EXPECT_EQ(value(row, "CommandLine"), "a.exe /x");
  EXPECT_EQ(value(row, "ParentImage"), "C:\\p.exe");
  EXPECT_EQ(value(row, "ProcessCommandLine"), "a.exe /x");  // the table's own column name
  EXPECT_EQ(value(row, "Computer"), "ws-d1");

  const std::string envelope = R"({"records":[
    {"time":"2026-11-20T10:00:00Z","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d1","DeviceName":"ws-d1","ActionType":"ProcessCreated","FolderPath":"C:\\one.exe","ProcessCommandLine":"one","SHA256":"01"}},
    {"time":"2026-11-20T10:00:01Z","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-20T10:00:01Z","DeviceId":"d2","DeviceName":"ws-d2","ActionType":"ProcessCreated","FolderPath":"C:\\two.exe","ProcessCommandLine":"two","SHA256":"02"}}]})";
  EXPECT_EQ(value(h(envelope, 0), "CommandLine"), "one");
  EXPECT_EQ(h.doc.records(), 2);
  EXPECT_EQ(value(h(envelope, 1), "CommandLine"), "two");
  EXPECT_EQ(value(*h.view, "DeviceName"), "ws-d2");
}

TEST(sigma_fields, code_integrity_flat_eventdata) {
  view_harness h;
  const auto& v = h(R"({"EventID":3033,"TimeCreated":"2026-11-24T07:41:19Z","Channel":"Microsoft-Windows-CodeIntegrity/Operational","Computer":"LAB-1",
    "FileNameBuffer":"\\Device\\x.dll","ProcessNameBuffer":"\\Device\\lsass.exe","RequestedPolicy":8,"ValidatedPolicy":1,"Status":3236495362})");
  EXPECT_EQ(value(v, "EventID"), "3033");
  EXPECT_EQ(value(v, "FileNameBuffer"), "\\Device\\x.dll");
  EXPECT_EQ(value(v, "RequestedPolicy"), "8");
  EXPECT_THAT(logsources(v), ElementsAre("/windows/codeintegrity-operational"));
}

TEST(sigma_fields, null_is_missing_and_escapes_are_decoded) {
  view_harness h;
  const auto& v = h(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-5"},"winlog":{"channel":"Security","event_id":"4688",
    "event_data":{"CommandLine":null,"NewProcessName":"C:\\\"q\"\u0041.exe","Empty":""}}})");
  EXPECT_EQ(value(v, "CommandLine"), "<missing>");
  EXPECT_EQ(value(v, "NewProcessName"), "C:\\\"q\"A.exe");
  EXPECT_EQ(value(v, "Empty"), "");
}

TEST(sigma_fields, an_event_larger_than_max_fields_is_read_up_to_the_limit) {
  std::string json = R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-6"},"winlog":{"channel":"Security","event_id":"1","event_data":{)";
  for (int i = 0; i < 100; ++i) json += (i ? "," : "") + std::string("\"f") + std::to_string(i) + "\":\"v\"";
  json += "}}}";
  input_parser parser;
  observation_batch batch;
  ASSERT_TRUE(parser.parse(json, batch).has_value());
  sigma_document doc(20);
  const auto m = parser.last_message();
  doc.reset(m.data, m.size, m.capacity, schema_profile::ecs);
  EXPECT_TRUE(doc.get("winlog.event_data.f0").has_value());
  EXPECT_FALSE(doc.get("winlog.event_data.f99").has_value());
  EXPECT_TRUE(doc.truncated());
}

TEST(sigma_fields, a_name_filter_keeps_only_the_leaves_rules_can_ask_for) {
  const std::string json =
      R"({"@timestamp":"2026-11-20T10:00:00Z","process":{"executable":"C:\\x.exe","command_line":"x.exe -a","pid":7,)"
      R"("parent":{"command_line":"p"}},)"
      R"("winlog":{"event_data":{"Image":"C:\\y.exe","Noise":null}},"big":{"k0":"v","k1":"v","k2":"v"},)"
      R"("flat.command_line":"f","flat.other":"o"})";
  const simdjson::padded_string padded(json);
  sigma_document doc(5);
  doc.keep_only(std::make_shared<const sigma_document::name_filter>(sigma_document::name_filter{"command_line", "Image"}));
  doc.reset(padded.data(), padded.size(), padded.size() + simdjson::SIMDJSON_PADDING, schema_profile::ecs);
  EXPECT_EQ(doc.get("process.command_line"), "x.exe -a");
  EXPECT_EQ(doc.get("process.parent.command_line"), "p");
  EXPECT_EQ(doc.get("winlog.event_data.Image"), "C:\\y.exe");
  EXPECT_FALSE(doc.get("process.executable").has_value());
  EXPECT_FALSE(doc.get("process.pid").has_value());
  EXPECT_EQ(doc.get("flat.command_line"), "f");  // a key with dots: its last component counts
  EXPECT_FALSE(doc.get("flat.other").has_value());
  EXPECT_FALSE(doc.truncated());  // 4 kept leaves: the others do not count towards max_fields
  // Without a filter every scalar is there again (and this event is over the limit).
  doc.keep_only(nullptr);
  doc.reset(padded.data(), padded.size(), padded.size() + simdjson::SIMDJSON_PADDING, schema_profile::ecs);
  EXPECT_EQ(doc.get("process.executable"), "C:\\x.exe");
  EXPECT_TRUE(doc.truncated());
}

// ---------------------------------------------------------------------------------------
// The shipped rules against their fixtures (tests/data/sigma).

constexpr const char* k_all_builtin =
    "sigma:\n  builtin: [t1588_003_signed_code.yml, codeintegrity_enforcement.yml, clock_rollback.yml]\n";

struct expectation {
  std::set<std::string> ids;
  std::string name;
};

std::map<std::int64_t, expectation> read_expected(const std::string& path) {
  std::map<std::int64_t, expectation> out;
  for (const auto& line : read_lines(path)) {
    if (line.starts_with("#")) continue;
    const auto t1 = line.find('\t');
    const auto t2 = line.find('\t', t1 + 1);
    expectation e;
    std::string ids = line.substr(t1 + 1, t2 - t1 - 1);
    for (std::size_t at = 0; at < ids.size();) {
      const auto comma = std::min(ids.find(',', at), ids.size());
      e.ids.insert(ids.substr(at, comma - at));
      at = comma + 1;
    }
    e.name = line.substr(t2 + 1);
    out[std::stoll(line.substr(0, t1))] = e;
  }
  return out;
}

// Sigma detection ids of an alert.
std::set<std::string> detection_ids(const std::string& alert_json) {
  simdjson::dom::parser p;
  std::set<std::string> out;
  for (auto d : p.parse(alert_json)["detections"].get_array()) out.insert(std::string(d["id"].get_string().value()));
  return out;
}

TEST(sigma_content, every_shipped_rule_fires_on_its_fixture_and_not_on_the_near_misses) {
  const auto expected = read_expected(k_data + "/sigma/expected.tsv");
  const auto lines = read_lines(k_data + "/sigma/content.ndjson");
  ASSERT_EQ(lines.size(), expected.size());
  pipeline p(config_or_fail(k_all_builtin));
  std::set<std::string> fired;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto line_no = static_cast<std::int64_t>(i + 1);
    const auto res = p.process(lines[i], {"content.ndjson", 0, line_no}, std::nullopt);
    EXPECT_NE(res.kind, outcome::rejected) << lines[i];
    std::set<std::string> got;
    for (const auto& a : p.sigma_alerts()) {
      for (const auto& id : detection_ids(a.json)) got.insert(id);
    }
    const auto& e = expected.at(line_no);
    EXPECT_EQ(got, e.ids) << "line " << line_no << ": " << e.name;
    fired.insert(got.begin(), got.end());
  }
  // Every shipped rule has a fixture that fires it.
  const auto shipped = load_sigma_rules(all_builtin_sigma_files(), "");
  EXPECT_TRUE(shipped.diagnostics.empty());
  for (const auto& r : shipped.rules) EXPECT_TRUE(fired.contains(r.id)) << r.id << " " << r.title << " has no fixture";
}

TEST(sigma_content, the_alert_uses_the_alert_envelope_with_the_rules_techniques) {
  pipeline p(config_or_fail("{}"));
  const auto lines = read_lines(k_data + "/sigma/content.ndjson");
  (void)p.process(lines[3], {"events", 2, 41}, 1'800'000'000'000LL, 7);  // Sysmon 1: net stop w32time
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
  const auto& a = p.sigma_alerts()[0];
  EXPECT_EQ(a.token, 7U);
  EXPECT_EQ(a.key, "WS-S2");
  simdjson::dom::parser parser;
  auto doc = parser.parse(a.json);
  EXPECT_EQ(doc["schema"].get_string().value(), "countersign.alert/v1");
  EXPECT_EQ(doc["severity"].get_string().value(), "medium");
  EXPECT_EQ(doc["detected_at"].get_string().value(), "2027-01-15T08:00:00.000Z");
  std::vector<std::string> techniques;
  for (auto t : doc["technique"].get_array()) techniques.emplace_back(t.get_string().value());
  EXPECT_THAT(techniques, ElementsAre("T1070.006", "T1588.003"));
  auto det = doc["detections"].at(0);
  EXPECT_EQ(det["id"].get_string().value(), "df881ba3-309d-4153-ae15-9be6b49afbf8");
  EXPECT_EQ(det["severity"].get_string().value(), "medium");
  EXPECT_EQ(det["evidence"]["rule_file"].get_string().value(), "builtin:clock_rollback.yml");
  EXPECT_EQ(doc["process"]["executable"].get_string().value(), "C:\\Windows\\System32\\net.exe");
  EXPECT_EQ(doc["source"]["topic"].get_string().value(), "events");
  EXPECT_EQ(doc["source"]["partition"].get_int64().value(), 2);
  EXPECT_EQ(doc["source"]["offset"].get_int64().value(), 41);

  // The same detection again within the window is suppressed; counted either way.
  (void)p.process(lines[3], {"events", 2, 42}, 1'800'000'000'000LL, 8);
  EXPECT_TRUE(p.sigma_alerts().empty());
  EXPECT_EQ(p.stats().sigma.alerts, 1U);
  EXPECT_EQ(p.stats().sigma.suppressed, 1U);
  EXPECT_EQ(p.stats().sigma.matches, 2U);
}

TEST(sigma_content, a_security_record_names_its_process_and_user_in_the_alert) {
  pipeline p(config_or_fail("{}"));
  const auto lines = read_lines(k_data + "/sigma/content.ndjson");
  (void)p.process(lines[17], {"events", 0, 1}, std::nullopt);  // Security 4616 by cmd.exe
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
  simdjson::dom::parser parser;
  auto doc = parser.parse(p.sigma_alerts()[0].json);
  EXPECT_EQ(doc["process"]["executable"].get_string().value(), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(doc["user"]["name"].get_string().value(), "bob");
  EXPECT_EQ(doc["host"]["name"].get_string().value(), "WS-S3");
}

TEST(sigma_content, forwarding_mode_evaluates_sigma_at_ingest_too) {
  pipeline p(config_or_fail(k_all_builtin), forward_mode);
  const auto lines = read_lines(k_data + "/sigma/content.ndjson");
  const auto res = p.process(lines[11], {"events", 0, 1}, 1'800'000'000'000LL, 3);  // CI 3036
  EXPECT_EQ(res.kind, outcome::alert);
  EXPECT_EQ(res.alerts, 1U);
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
}

TEST(sigma_content, sigma_can_be_switched_off) {
  pipeline p(config_or_fail("sigma: {enabled: false}\n"));
  const auto lines = read_lines(k_data + "/sigma/content.ndjson");
  (void)p.process(lines[3], {"events", 0, 1}, std::nullopt);
  EXPECT_TRUE(p.sigma_alerts().empty());
  EXPECT_EQ(p.sigma(), nullptr);
}

// ---------------------------------------------------------------------------------------
// Hot reload.

class rule_dir {
 public:
  rule_dir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("countersign-sigma-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_ / "sub");
  }
  ~rule_dir() { std::filesystem::remove_all(path_); }
  rule_dir(const rule_dir&) = delete;
  rule_dir& operator=(const rule_dir&) = delete;
  void write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
    // A different mtime even on coarse file systems: the size changes as well in these tests.
  }
  void remove(const std::string& name) { std::filesystem::remove(path_ / name); }
  [[nodiscard]] std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

std::string rule_text(const std::string& id, const std::string& needle) {
  return "title: rule " + id + "\nid: " + id +
         "\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    CommandLine|contains: '" +
         needle + "'\n  condition: sel\nlevel: high\n";
}

std::vector<std::string> ids(const sigma_library& lib) {
  std::vector<std::string> out;
  for (const auto& r : lib.current()->rules()) out.push_back(r.id);
  return out;
}

TEST(sigma_reload, changed_new_removed_and_broken_files) {
  rule_dir dir;
  dir.write("a.yml", rule_text("a", "alpha"));
  sigma_config cfg;
  cfg.builtin = {};
  cfg.rules_dir = dir.path();
  sigma_library lib(cfg);
  auto report = lib.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(ids(lib), ElementsAre("a"));

  // Nothing changed: the same rule set.
  const auto before = lib.current();
  report = lib.reload();
  EXPECT_FALSE(report.changed);
  EXPECT_EQ(lib.current(), before);

  // A new file in a subfolder, and a changed file.
  dir.write("sub/b.yaml", rule_text("b", "beta"));
  dir.write("a.yml", rule_text("a", "alpha") + "---\n" + rule_text("a2", "alpha2"));
  report = lib.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(ids(lib), UnorderedElementsAre("a", "a2", "b"));

  // A file that no longer parses keeps its previous rules, and is retried.
  dir.write("a.yml", "title: [broken\n");
  report = lib.reload();
  EXPECT_EQ(report.failed_files, 1U);
  ASSERT_FALSE(report.diagnostics.empty());
  EXPECT_THAT(report.diagnostics[0].text(), ::testing::HasSubstr("a.yml"));
  EXPECT_THAT(ids(lib), UnorderedElementsAre("a", "a2", "b"));
  EXPECT_EQ(lib.reload().failed_files, 1U);  // still broken: reported again

  // Fixed: the new content replaces it.
  dir.write("a.yml", rule_text("a3", "alpha3"));
  report = lib.reload();
  EXPECT_EQ(report.failed_files, 0U);
  EXPECT_THAT(ids(lib), UnorderedElementsAre("a3", "b"));

  // An unsupported rule is skipped with a warning; the rest of its file loads.
  dir.write("sub/b.yaml",
            rule_text("b", "beta") + "---\ntitle: counting\nid: c\nlogsource: {category: process_creation}\n"
                                     "detection:\n  sel: {Image|endswith: '.exe'}\n  condition: sel | count() > 5\n");
  report = lib.reload();
  EXPECT_EQ(report.failed_files, 0U);
  ASSERT_EQ(report.diagnostics.size(), 1U);
  EXPECT_EQ(report.diagnostics[0].sev, rules::sigma::diagnostic::severity::warning);
  EXPECT_THAT(ids(lib), UnorderedElementsAre("a3", "b"));

  // A removed file takes its rules with it.
  std::filesystem::remove(dir.path() + "/sub/b.yaml");
  lib.reload();
  EXPECT_THAT(ids(lib), ElementsAre("a3"));
}

TEST(sigma_reload, hidden_files_and_folders_are_skipped_as_in_a_configmap_volume) {
  rule_dir dir;
  std::filesystem::create_directories(dir.path() + "/..2026_11_29_10_00_00.1");
  dir.write("..2026_11_29_10_00_00.1/a.yml", rule_text("a", "one"));
  std::filesystem::create_directory_symlink("..2026_11_29_10_00_00.1", dir.path() + "/..data");
  std::filesystem::create_symlink("..data/a.yml", dir.path() + "/a.yml");
  dir.write(".draft.yml", rule_text("draft", "two"));
  const auto loaded = load_sigma_rules({}, dir.path());
  EXPECT_TRUE(loaded.diagnostics.empty()) << loaded.diagnostics[0].text();
  ASSERT_EQ(loaded.rules.size(), 1U);
  EXPECT_EQ(loaded.rules[0].file, dir.path() + "/a.yml");
}

TEST(sigma_reload, duplicate_ids_keep_the_first_rule) {
  rule_dir dir;
  dir.write("a.yml", rule_text("same", "one"));
  dir.write("b.yml", rule_text("same", "two"));
  const auto loaded = load_sigma_rules({}, dir.path());
  ASSERT_EQ(loaded.rules.size(), 1U);
  EXPECT_EQ(loaded.rules[0].file, dir.path() + "/a.yml");
  ASSERT_EQ(loaded.diagnostics.size(), 1U);
  EXPECT_THAT(loaded.diagnostics[0].text(), ::testing::HasSubstr("duplicate rule id"));
}

TEST(sigma_reload, the_stage_picks_up_a_new_rule_without_a_restart) {
  rule_dir dir;
  dir.write("a.yml", rule_text("a", "first-marker"));
  auto cfg = config_or_fail("sigma:\n  builtin: []\n  reload_interval: 0s\n  rules_dir: " + dir.path() + "\n");
  cfg.sigma.reload_interval_ms = 1;  // the stage checks at most this often
  pipeline p(cfg);
  const auto event = [](const std::string& cmd) {
    return R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-R"},"process":{"executable":"C:\\x.exe","command_line":")" +
           cmd + R"("},"event":{"category":["process"],"type":["start"]}})";
  };
  (void)p.process(event("run second-marker"), {"t", 0, 1}, std::nullopt);
  EXPECT_TRUE(p.sigma_alerts().empty());
  dir.write("b.yml", rule_text("b", "second-marker"));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.sigma()->maybe_reload();
  (void)p.process(event("run second-marker"), {"t", 0, 2}, std::nullopt);
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
  EXPECT_EQ(detection_ids(p.sigma_alerts()[0].json), std::set<std::string>{"b"});
  EXPECT_EQ(p.stats().sigma.rules, 2U);
}

// processing.threads: the pipelines of two threads share one library. One load, one
// re-read per change (reported to the thread that did it), the same immutable rule set
// in both, and each thread picks the new set up on its own next poll.
TEST(sigma_reload, processing_threads_share_one_library_and_pick_up_a_reload) {
  rule_dir dir;
  dir.write("a.yml", rule_text("a", "first-marker"));
  auto cfg = config_or_fail("sigma:\n  builtin: []\n  reload_interval: 0s\n  rules_dir: " + dir.path() + "\n");
  cfg.sigma.reload_interval_ms = 1;
  auto shared = std::make_shared<shared_sigma_library>(cfg.sigma);
  pipeline one(cfg, forward_mode, shared);
  pipeline two(cfg, forward_mode, shared);
  const auto first = shared->poll(0);
  EXPECT_FALSE(first.report.has_value()) << "loaded once, by the first stage";
  EXPECT_EQ(first.set->size(), 1U);
  EXPECT_EQ(one.stats().sigma.rules, 1U);
  EXPECT_EQ(two.stats().sigma.rules, 1U);
  const auto event = [](const std::string& cmd) {
    return R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-R"},"process":{"executable":"C:\\x.exe","command_line":")" +
           cmd + R"("},"event":{"category":["process"],"type":["start"]}})";
  };
  (void)two.process(event("run first-marker"), {"t", 0, 1}, std::nullopt);
  ASSERT_EQ(two.sigma_alerts().size(), 1U);

  dir.write("b.yml", rule_text("b", "second-marker"));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  one.sigma()->maybe_reload();  // re-reads the folder for both
  const auto after = shared->poll(0);
  EXPECT_NE(after.generation, first.generation);
  EXPECT_EQ(after.set->size(), 2U);
  EXPECT_EQ(one.stats().sigma.rules, 2U);
  EXPECT_EQ(two.stats().sigma.rules, 1U) << "the other thread keeps its set until it polls";
  (void)two.process(event("run second-marker"), {"t", 0, 2}, std::nullopt);
  EXPECT_TRUE(two.sigma_alerts().empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  two.sigma()->maybe_reload();
  EXPECT_EQ(two.stats().sigma.rules, 2U);
  (void)two.process(event("run second-marker"), {"t", 0, 3}, std::nullopt);
  ASSERT_EQ(two.sigma_alerts().size(), 1U);
  EXPECT_EQ(detection_ids(two.sigma_alerts()[0].json), std::set<std::string>{"b"});
  EXPECT_EQ(one.stats().sigma.reloads, two.stats().sigma.reloads);
}

// The stage stores only the fields its rules name, unless a rule searches keywords: then
// a value in any field must match, and a reload that adds such a rule drops the filter.
TEST(sigma_reload, a_keyword_rule_sees_fields_no_other_rule_names) {
  rule_dir dir;
  dir.write("a.yml", rule_text("a", "alpha"));
  auto cfg = config_or_fail("sigma:\n  builtin: []\n  reload_interval: 0s\n  rules_dir: " + dir.path() + "\n");
  cfg.sigma.reload_interval_ms = 1;
  pipeline p(cfg);
  const auto event = [](std::string_view cwd) {
    return R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-K"},"process":{"executable":"C:\\x.exe",)"
           R"("command_line":"x.exe","working_directory":")" + std::string(cwd) +
           R"("},"event":{"category":["process"],"type":["start"]}})";
  };
  (void)p.process(event("C:\\\\kw-marker"), {"t", 0, 1}, std::nullopt);
  EXPECT_TRUE(p.sigma_alerts().empty());
  dir.write("k.yml",
            "title: keyword rule\nid: k\nlogsource: {category: process_creation, product: windows}\n"
            "detection:\n  words:\n    - 'kw-marker'\n  condition: words\nlevel: high\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.sigma()->maybe_reload();
  (void)p.process(event("C:\\\\kw-marker"), {"t", 0, 2}, std::nullopt);
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
  EXPECT_EQ(detection_ids(p.sigma_alerts()[0].json), std::set<std::string>{"k"});
  // A field rule on a field the first rules did not name is found after its reload too.
  dir.remove("k.yml");
  dir.write("c.yml",
            "title: cwd rule\nid: c\nlogsource: {category: process_creation, product: windows}\n"
            "detection:\n  sel:\n    CurrentDirectory|contains: 'kw-marker'\n  condition: sel\nlevel: high\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.sigma()->maybe_reload();
  (void)p.process(event("C:\\\\kw-marker"), {"t", 0, 3}, std::nullopt);
  ASSERT_EQ(p.sigma_alerts().size(), 1U);
  EXPECT_EQ(detection_ids(p.sigma_alerts()[0].json), std::set<std::string>{"c"});
}

TEST(sigma_config, the_default_loads_only_what_the_built_in_detectors_do_not_cover) {
  const auto cfg = config_or_fail("{}");
  EXPECT_THAT(cfg.sigma.builtin, ElementsAre("clock_rollback.yml"));
  auto bad = parse_config("sigma:\n  builtin: [nope.yml]\n", "x.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error(), ::testing::HasSubstr("sigma.builtin: no shipped Sigma rule file \"nope.yml\""));
}

TEST(sigma_config, a_missing_rule_folder_is_a_config_error) {
  auto c = parse_config("sigma:\n  rules_dir: /nonexistent/countersign-rules\n", "x.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error(), ::testing::HasSubstr("sigma.rules_dir"));
}

// ---------------------------------------------------------------------------------------
// Logsources from channel and event id beyond Sysmon, in every Windows event shape
// (tests/data/sigma_logsources, written by its make_fixtures.py): classic PowerShell
// 400 / 600 / 800, PowerShell/Operational 4103 / 4104, Firewall With Advanced Security
// 2004 and two Security 4688, as Winlogbeat, flat (NXLog and export styles) and evtx JSON.

const std::string k_logsource_dir = k_data + "/sigma_logsources";
constexpr std::array<const char*, 3> k_shapes = {"winlogbeat.ndjson", "flat.ndjson", "evtx.json"};

// The records of the fixture files, in order, and the logsources each must get.
const std::vector<std::vector<std::string>> k_record_logsources = {
    {"ps_classic_start/windows/powershell-classic"},           // Windows PowerShell 400
    {"ps_classic_provider_start/windows/powershell-classic"},  // 600
    {"ps_classic_script/windows/powershell-classic"},          // 800
    {"ps_module/windows/powershell"},                          // PowerShell/Operational 4103
    {"ps_script/windows/powershell"},                          // 4104
    {"/windows/firewall-as"},                                  // 2004
    {"process_creation/windows/security"},                     // Security 4688: cmd.exe by a service
    {"process_creation/windows/security"},                     // 4688: vssadmin under another account
    {"/windows/ntlm"},                                         // NTLM/Operational 8001
    {"/windows/appxdeployment-server"},                        // AppXDeploymentServer 854
    {"sysmon_status/windows/sysmon"},                          // Sysmon 16
};


TEST(sigma_logsources, every_record_gets_its_logsource_in_every_shape) {
  for (const char* shape : k_shapes) {
    const auto messages = messages_of(k_logsource_dir + "/" + shape);
    ASSERT_EQ(messages.size(), k_record_logsources.size()) << shape;
    view_harness h;
    for (std::size_t i = 0; i < messages.size(); ++i) {
      EXPECT_EQ(logsources(h(messages[i])), k_record_logsources[i]) << shape << " record " << i;
    }
  }
}

// "record N: <alert id> <rule ids>" for every Sigma alert over a fixture file.
std::vector<std::string> alerts_by_record(const std::string& file, const std::string& rules_dir) {
  pipeline p(config_or_fail("sigma: {builtin: [], rules_dir: \"" + rules_dir + "\"}\n"));
  std::vector<std::string> out;
  const auto messages = messages_of(k_logsource_dir + "/" + file);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto r = p.process(messages[i], {"t", 0, static_cast<std::int64_t>(i)}, std::nullopt);
    EXPECT_NE(r.kind, outcome::rejected)
        << file << " record " << i << ": " << to_string(r.reason) << " " << r.detail;
    for (const auto& a : p.sigma_alerts()) {
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      std::string_view id;
      if (parser.parse(a.json).get(doc) != simdjson::SUCCESS ||
          doc["id"].get_string().get(id) != simdjson::SUCCESS) {
        ADD_FAILURE() << "not an alert: " << a.json;
        continue;
      }
      std::string row = "record " + std::to_string(i) + ": " + std::string(id);
      for (const auto& rule : detection_ids(a.json)) row += " " + rule;
      out.push_back(std::move(row));
    }
  }
  return out;
}

// The rule ids of alerts_by_record rows, without the alert ids: "record N: <rule ids>".
std::vector<std::string> rules_by_record(const std::vector<std::string>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows) {
    const auto colon = row.find(": ");
    const auto space = row.find(' ', colon + 2);
    out.push_back(row.substr(0, colon + 1) + (space == std::string::npos ? "" : row.substr(space)));
  }
  return out;
}

// Each rule alone: no keyword rule is loaded, so the document keeps only the fields the
// rules and the logsources read, and what each new mapping reads must be among them.
TEST(sigma_logsources, each_rule_alone_fires_on_its_record_in_every_shape_with_the_same_alert_ids) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"ps_classic_start_downgrade.yml", {"record 0: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a01"}},
      {"ps_classic_start_host_application.yml", {"record 0: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a02"}},
      {"ps_classic_provider_start_defender.yml", {"record 1: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a03"}},
      {"ps_classic_script_lsass.yml", {"record 2: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a04"}},
      {"ps_module_clipboard.yml", {"record 3: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a05"}},
      {"ps_script_amsi.yml", {"record 4: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a06"}},
      {"firewall_as_temp_rule.yml", {"record 5: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a07"}},
      {"process_creation_cmd.yml", {"record 6: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a08"}},
      {"process_creation_system_shell.yml", {"record 6: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a09"}},
      {"security_4688_vssadmin.yml", {"record 7: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a10"}},
      {"process_creation_other_account.yml", {"record 7: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a11"}},
      {"ntlm_termsrv_by_address.yml", {"record 8: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a12"}},
      {"appx_package_from_file_sharing.yml", {"record 9: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a13"}},
      {"sysmon_config_from_temp.yml", {"record 10: 5c0e1a7d-41b2-4f3e-9a6c-2d8b7e1f0a14"}},
  };
  std::size_t tried = 0;
  for (const auto& entry : std::filesystem::directory_iterator(k_logsource_dir + "/rules")) {
    const std::string name = entry.path().filename().string();
    rule_dir dir;
    std::filesystem::copy_file(entry.path(), dir.path() + "/" + name);
    const auto evtx = alerts_by_record("evtx.json", dir.path());
    ASSERT_TRUE(expected.contains(name)) << name << " has no expectation";
    EXPECT_EQ(rules_by_record(evtx), expected.at(name)) << name << ": " << testing::PrintToString(evtx);
    EXPECT_EQ(alerts_by_record("flat.ndjson", dir.path()), evtx) << name;
    EXPECT_EQ(alerts_by_record("winlogbeat.ndjson", dir.path()), evtx) << name;
    ++tried;
  }
  EXPECT_EQ(tried, expected.size());

  // All together: one alert per record (record 6 and 7 by two rules each), alike in every shape.
  const auto all = alerts_by_record("evtx.json", k_logsource_dir + "/rules");
  EXPECT_EQ(all.size(), k_record_logsources.size()) << testing::PrintToString(all);
  EXPECT_EQ(alerts_by_record("flat.ndjson", k_logsource_dir + "/rules"), all);
  EXPECT_EQ(alerts_by_record("winlogbeat.ndjson", k_logsource_dir + "/rules"), all);
}

TEST(sigma_logsources, security_4688_reads_under_sigma_process_creation_names_in_every_shape) {
  for (const char* shape : k_shapes) {
    const auto messages = messages_of(k_logsource_dir + "/" + shape);
    ASSERT_EQ(messages.size(), k_record_logsources.size()) << shape;
    view_harness h;
    // Started by services.exe as SYSTEM; Target is the NULL SID.
    const auto& v = h(messages[6]);
    EXPECT_EQ(value(v, "Image"), "C:\\Windows\\System32\\cmd.exe") << shape;
    EXPECT_EQ(value(v, "ParentImage"), "C:\\Windows\\System32\\services.exe") << shape;
    EXPECT_EQ(value(v, "CommandLine"), "cmd.exe /c whoami /priv > C:\\Windows\\Temp\\w.txt") << shape;
    EXPECT_EQ(value(v, "ProcessId"), "8004") << shape;       // NewProcessId 0x1f44
    EXPECT_EQ(value(v, "ParentProcessId"), "696") << shape;  // 4688's own ProcessId, 0x2b8
    EXPECT_EQ(value(v, "User"), "NT AUTHORITY\\SYSTEM") << shape;
    EXPECT_EQ(value(v, "ParentUser"), "NT AUTHORITY\\SYSTEM") << shape;
    EXPECT_EQ(value(v, "LogonId"), "0x3e7") << shape;
    EXPECT_EQ(value(v, "IntegrityLevel"), "S-1-16-16384") << shape;
    // Its own names stay readable; what only Sysmon records has stays missing.
    EXPECT_EQ(value(v, "NewProcessName"), "C:\\Windows\\System32\\cmd.exe") << shape;
    EXPECT_EQ(value(v, "SubjectUserName"), "SRV-NAV-01$") << shape;
    EXPECT_EQ(value(v, "EventID"), "4688") << shape;
    for (const char* absent :
         {"Hashes", "OriginalFileName", "Company", "Description", "Product", "FileVersion",
          "CurrentDirectory", "ParentCommandLine", "ProcessGuid", "LogonGuid"}) {
      EXPECT_EQ(value(v, absent), "<missing>") << shape << " " << absent;
    }
    // Started with other credentials: the new process's account is Target, the parent's Subject.
    const auto& w = h(messages[7]);
    EXPECT_EQ(value(w, "Image"), "C:\\Windows\\System32\\vssadmin.exe") << shape;
    EXPECT_EQ(value(w, "ProcessId"), "11280") << shape;
    EXPECT_EQ(value(w, "ParentProcessId"), "7692") << shape;
    EXPECT_EQ(value(w, "User"), "CORP\\adm-nav") << shape;
    EXPECT_EQ(value(w, "ParentUser"), "CORP\\nav") << shape;
    EXPECT_EQ(value(w, "LogonId"), "0x7c3d10") << shape;
    EXPECT_EQ(value(w, "IntegrityLevel"), "S-1-16-12288") << shape;
  }
  // Another Security event keeps its own ProcessId (the renaming is 4688's).
  view_harness h;
  const auto& other = h(
      R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-7"},"winlog":{"channel":"Security","event_id":"4648","event_data":{"ProcessId":"0x2338","SubjectUserName":"oda"}}})");
  EXPECT_EQ(value(other, "ProcessId"), "0x2338");
  EXPECT_EQ(value(other, "User"), "<missing>");
}

TEST(sigma_logsources, classic_powershell_data_and_its_detail_keys_in_every_shape) {
  for (const char* shape : k_shapes) {
    const auto messages = messages_of(k_logsource_dir + "/" + shape);
    ASSERT_EQ(messages.size(), k_record_logsources.size()) << shape;
    view_harness h;
    const auto& start = h(messages[0]);
    // The unnamed items, one per line: the states, then the details.
    EXPECT_THAT(value(start, "Data"),
                ::testing::StartsWith("Available\nNone\n\tNewEngineState=Available\r\n"))
        << shape;
    EXPECT_THAT(value(start, "Data"), ::testing::EndsWith("\tCommandLine=")) << shape;
    EXPECT_EQ(value(start, "HostApplication"),
              "powershell.exe -Version 2 -NoProfile -ExecutionPolicy Bypass -File "
              "C:\\Users\\oda\\Downloads\\inv.ps1")
        << shape;
    EXPECT_EQ(value(start, "EngineVersion"), "2.0") << shape;
    EXPECT_EQ(value(start, "HostVersion"), "5.1.19041.4291") << shape;
    EXPECT_EQ(value(start, "CommandLine"), "") << shape;  // present, empty
    EXPECT_EQ(value(start, "NoSuchKey"), "<missing>") << shape;
    EXPECT_EQ(value(start, "EventID"), "400") << shape;
    EXPECT_EQ(value(h(messages[1]), "ProviderName"), "Registry") << shape;
    // 800: the details are the second item, the third holds ParameterBinding lines.
    const auto& pipeline_run = h(messages[2]);
    EXPECT_EQ(value(pipeline_run, "UserId"), "CORP\\oda") << shape;
    EXPECT_EQ(value(pipeline_run, "CommandLine"), "Get-Process lsass | Format-List *") << shape;
    EXPECT_THAT(value(pipeline_run, "Data"), ::testing::HasSubstr("\nCommandInvocation(Get-Process)"))
        << shape;
    // Outside the classic log, Data is only what the record itself has.
    EXPECT_EQ(value(h(messages[4]), "Data"), "<missing>") << shape;
  }
}

// SigmaHQ's own rules on these records, where the checkout has ../shared beside it.
TEST(sigma_logsources, sigmahq_rules_fire_on_each_kind_of_record_in_every_shape) {
  const std::string sigmahq = COUNTERSIGN_SHARED_DIR "/sigmahq/rules/windows";
  if (!std::filesystem::is_directory(sigmahq)) GTEST_SKIP() << sigmahq << " is not here";
  const auto evtx = alerts_by_record("evtx.json", sigmahq);
  EXPECT_EQ(alerts_by_record("flat.ndjson", sigmahq), evtx);
  EXPECT_EQ(alerts_by_record("winlogbeat.ndjson", sigmahq), evtx);
  const std::vector<std::pair<int, std::string>> wanted = {
      {0, "6331d09b-4785-4c13-980f-f96661356249"},  // PowerShell Downgrade Attack - PowerShell
                                                    // (ps_classic_start)
      {1, "ec19ebab-72dc-40e1-9728-4c0b805d722c"},  // Tamper Windows Defender - PSClassic
                                                    // (ps_classic_provider_start)
      {3, "4cbd4f12-2e22-43e3-882f-bff3247ffb78"},  // PowerShell Get Clipboard (ps_module)
      {4, "e0d6c087-2d1c-47fd-8799-3904103c5a98"},  // AMSI bypass pattern (ps_script)
      {5, "9e2575e7-2cb9-4da1-adc8-ed94221dca5e"},  // firewall rule for a program in a suspicious folder
                                                    // (firewall-as)
      {7, "c947b146-0abc-4c87-9c64-b17e9d7274a2"},  // Shadow copies deletion (process_creation from 4688)
      {8, "ce5678bb-b9aa-4fb5-be4b-e57f686256ad"},  // Potential remote desktop connection to a non-domain
                                                    // host (ntlm)
      {9, "c977cb50-3dff-4a9f-b873-9290f56132f1"},  // AppX located in uncommon directory added to
                                                    // deployment pipeline (appxdeployment-server)
  };
  for (const auto& [record, id] : wanted) {
    const std::string prefix = "record " + std::to_string(record) + ": ";
    EXPECT_TRUE(std::ranges::any_of(evtx,
                                    [&](const std::string& row) {
                                      return row.starts_with(prefix) &&
                                             row.find(" " + id) != std::string::npos;
                                    }))
        << id << " on record " << record << ": " << testing::PrintToString(evtx);
  }
}

// ---------------------------------------------------------------------------------------
// `countersign rules check --sigma`: every problem of every rule with its file and line,
// and the exit status (check_counts, which the command uses).

check_counts counts_of(const rules::sigma::load_result& loaded) {
  check_counts c;
  for (const auto& d : loaded.diagnostics) c.add(d);
  return c;
}

std::vector<std::string> texts(const rules::sigma::load_result& loaded) {
  std::vector<std::string> out;
  for (const auto& d : loaded.diagnostics) out.push_back(d.text());
  return out;
}

TEST(sigma_check, an_unparsable_condition_is_an_error_even_beside_an_unknown_modifier) {
  rule_dir dir;
  dir.write("typo.yml",
            "title: both problems\n"  // 1
            "id: typo-1\n"            // 2
            "logsource: {category: process_creation, product: windows}\n"
            "detection:\n"                      // 4
            "  sel:\n"                          // 5
            "    Image|endwith: '\\cmd.exe'\n"  // 6
            "  condition: sel and (\n"          // 7
            "level: high\n");
  const auto loaded = load_sigma_rules({}, dir.path());
  EXPECT_TRUE(loaded.rules.empty());
  EXPECT_EQ(loaded.skipped, 1U);
  const std::string file = dir.path() + "/typo.yml";
  const auto got = texts(loaded);
  ASSERT_EQ(got.size(), 2U) << testing::PrintToString(got);
  EXPECT_EQ(got[0], file + ":6: rule typo-1: unknown modifier 'endwith' (did you mean 'endswith'?)");
  EXPECT_THAT(got[1], ::testing::StartsWith(file + ":7: rule typo-1: condition 'sel and (': "));
  const auto c = counts_of(loaded);
  EXPECT_EQ(c.errors, 2);
  EXPECT_EQ(c.exit_code(false), 2);
}

TEST(sigma_check, exit_codes_for_errors_warnings_and_strict) {
  const auto check = [](const std::string& text) {
    rule_dir dir;
    dir.write("r.yml", text);
    return load_sigma_rules({}, dir.path());
  };
  const std::string head =
      "title: t\nid: r-1\nlogsource: {category: process_creation, product: windows}\ndetection:\n";
  // Loads: 0 either way.
  auto loaded = check(head + "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n");
  EXPECT_EQ(loaded.rules.size(), 1U);
  EXPECT_EQ(counts_of(loaded).exit_code(false), 0);
  EXPECT_EQ(counts_of(loaded).exit_code(true), 0);
  // An unknown modifier alone: an error (it was a warning, and the rule silently skipped).
  loaded = check(head + "  sel: {Image|endwith: '\\cmd.exe'}\n  condition: sel\n");
  EXPECT_EQ(counts_of(loaded).errors, 1);
  EXPECT_EQ(counts_of(loaded).exit_code(false), 2);
  // Valid Sigma countersign does not implement: a warning, an error only with --strict.
  for (const std::string& unsupported :
       {head + "  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel | count() > 5\n",
        head + "  sel: {Image|expand: '%folders%'}\n  condition: sel\n",
        head + "  a: {Image: x}\n  b: {Image: y}\n  condition: a near b\n"}) {
    loaded = check(unsupported);
    EXPECT_TRUE(loaded.rules.empty()) << unsupported;
    const auto c = counts_of(loaded);
    EXPECT_EQ(c.errors, 0) << testing::PrintToString(texts(loaded));
    EXPECT_EQ(c.warnings, 1) << unsupported;
    EXPECT_EQ(c.exit_code(false), 0) << unsupported;
    EXPECT_EQ(c.exit_code(true), 2) << unsupported;
  }
  // An unknown modifier next to a known but unimplemented one is still an error.
  loaded = check(head + "  sel: {Image|neq|frob: x}\n  condition: sel\n");
  EXPECT_EQ(counts_of(loaded).errors, 1) << testing::PrintToString(texts(loaded));
  EXPECT_EQ(counts_of(loaded).exit_code(false), 2);
}

TEST(sigma_check, correlation_references_are_checked_across_files) {
  rule_dir dir;
  dir.write("base.yml",
            "title: driver load\nid: base-1\nname: unsigned_driver\n"
            "logsource: {category: driver_load, product: windows}\n"
            "detection:\n  sel: {Signed: 'false'}\n  condition: sel\n");
  dir.write("mr_corr.yml",
            "title: unsigned drivers on many hosts\n"  // 1
            "id: corr-1\n"                             // 2
            "correlation:\n"                           // 3
            "  type: value_count\n"                    // 4
            "  rules: [unsigned_driver]\n"             // 5
            "  group-by: [ImageLoaded]\n"              // 6
            "  timespan: 1h\n"                         // 7
            "  condition: {field: Computer, gte: 5}\n"  // 8
            "---\n"                                    // 9
            "title: refers to nothing\n"               // 10
            "id: corr-2\n"                             // 11
            "correlation:\n"                           // 12
            "  type: event_count\n"                    // 13
            "  rules:\n"                               // 14
            "    - signed_driver\n"                    // 15
            "  group-by: [Computer]\n"                 // 16
            "  timespan: 1h\n"                         // 17
            "  condition: {gte: 5}\n");                // 18
  const auto loaded = load_sigma_rules({}, dir.path());
  EXPECT_EQ(loaded.rules.size(), 1U);
  ASSERT_EQ(loaded.correlations.size(), 1U);
  EXPECT_EQ(loaded.correlations[0].id, "corr-1");
  const std::string file = dir.path() + "/mr_corr.yml";
  EXPECT_THAT(texts(loaded),
              ::testing::ElementsAre(file + ":15: rule corr-2: unknown rule 'signed_driver': no loaded rule or "
                                            "correlation has that id or name"));
  const auto c = counts_of(loaded);
  EXPECT_EQ(c.errors, 1);
  EXPECT_EQ(c.exit_code(false), 2);
}

}  // namespace
}  // namespace sigma_stage_test
}  // namespace countersign::processor
