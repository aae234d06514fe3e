// Sigma at ingest (processor/src/sigma_stage.cpp, sigma_document.cpp): Sigma field names
// on every input profile, logsources, the shipped rules against their fixtures, the
// alert envelope, suppression, hot reload and bad rule files.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/pipeline.hpp>
#include <countersign/processor/sigma_stage.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace countersign::processor {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using rules::schema_profile;
using test_support::config_or_fail;
using test_support::k_data;
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

}  // namespace
}  // namespace countersign::processor
