// Windows event log records in every shape pipelines carry them (processor/src/engine/profiles/
// windows.cpp, the Winlogbeat side of ecs.cpp, and their detection in input_parser.cpp):
// flat System + EventData keys (NXLog through Logstash, HELK/Splunk exports), evtx JSON
// (Event.System / Event.EventData / Event.UserData) and Winlogbeat. One record must read
// the same in all three: the same observation, and the same Sigma alerts.
//
// Fixtures: tests/data/windows/{winlogbeat.ndjson,flat.ndjson,evtx.json}, eleven records
// written in the three shapes by tests/data/windows/make_shapes.py, and Sigma rules of
// our own in tests/data/windows/sigma.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/rules/observation_codec.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {
namespace windows_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::event_kind;
using rules::observation;
using rules::schema_profile;
using rules::signature_status;
using test_support::config_or_fail;
using test_support::k_data;
using test_support::messages_of;
using test_support::name_of;

const std::string k_dir = k_data + "/windows";


struct parsed_record {
  schema_profile profile = schema_profile::unknown;
  observation obs;
};

std::vector<parsed_record> parse_all(const std::string& file) {
  std::vector<parsed_record> out;
  input_parser parser;
  observation_batch batch;
  for (const auto& m : messages_of(k_dir + "/" + file)) {
    auto r = parser.parse(m, batch);
    EXPECT_TRUE(r.has_value()) << file << ": " << (r ? "" : to_string(r.error().reason)) << " "
                               << (r ? "" : r.error().detail) << "\n" << m;
    parsed_record p;
    if (r) p.profile = *r;
    EXPECT_EQ(batch.size(), 1U) << m;
    if (!batch.empty()) p.obs = batch[0];
    out.push_back(std::move(p));
  }
  return out;
}

std::string text(const rules::text_field& f) { return f.present ? "\"" + f.value + "\"" : "<missing>"; }

// Every fact an observation carries that a profile fills, side by side as text, so a
// difference names the field.
std::map<std::string, std::string> facts(const observation& o) {
  const auto opt = [](const auto& v) { return v ? std::to_string(*v) : std::string("<missing>"); };
  const auto& s = o.signature;
  return {
      {"kind", name_of(o.kind)},
      {"event_time_ms", opt(o.event_time_ms)},
      {"host_id", text(o.host_id)},
      {"host_name", text(o.host_name)},
      {"user_name", text(o.user_name)},
      {"image_path", text(o.image_path)},
      {"process_path", text(o.process_path)},
      {"sha256", text(o.sha256)},
      {"sha1", text(o.sha1)},
      {"pe.original_file_name", text(o.pe.original_file_name)},
      {"pe.company", text(o.pe.company)},
      {"pe.product", text(o.pe.product)},
      {"pe.description", text(o.pe.description)},
      {"pe.file_version", text(o.pe.file_version)},
      {"signature.exists", s.exists ? (*s.exists ? "true" : "false") : "<missing>"},
      {"signature.status", name_of(s.status)},
      {"signature.status_raw", text(s.status_raw)},
      {"signature.subject", text(s.subject)},
      {"signature.subject_cn", text(s.subject_cn)},
      {"ci.event_id", opt(o.ci.event_id)},
      {"ci.activity_id", text(o.ci.activity_id)},
      {"ci.process_name", text(o.ci.process_name)},
      {"ci.requested_signing_level", opt(o.ci.requested_signing_level)},
      {"ci.status", text(o.ci.status)},
  };
}

TEST(windows_shapes, each_shape_is_detected_as_its_profile) {
  for (const auto& r : parse_all("winlogbeat.ndjson")) EXPECT_EQ(name_of(r.profile), "ecs");
  for (const auto& r : parse_all("evtx.json")) EXPECT_EQ(name_of(r.profile), "evtx");
  const auto flat = parse_all("flat.ndjson");
  ASSERT_EQ(flat.size(), 11U);
  for (std::size_t i = 0; i < flat.size(); ++i) {
    // The Code Integrity record (last) is read by the same walker under its own profile name.
    EXPECT_EQ(name_of(flat[i].profile), i == 10 ? "codeintegrity" : "windows") << "record " << i;
  }
}

TEST(windows_shapes, one_record_gives_the_same_observation_in_every_shape) {
  const auto beat = parse_all("winlogbeat.ndjson");
  const auto flat = parse_all("flat.ndjson");
  const auto evtx = parse_all("evtx.json");
  ASSERT_EQ(beat.size(), 11U);
  ASSERT_EQ(flat.size(), beat.size());
  ASSERT_EQ(evtx.size(), beat.size());
  // Sysmon 7, 7, 6, 1 and the Code Integrity 3033: the records the detectors read.
  const auto evtx_lines = parse_all("evtx.ndjson");  // the same documents one per line
  ASSERT_EQ(evtx_lines.size(), beat.size());
  for (std::size_t i = 0; i < evtx.size(); ++i) EXPECT_EQ(facts(evtx_lines[i].obs), facts(evtx[i].obs)) << i;
  for (const std::size_t i : {0U, 1U, 2U, 3U, 10U}) {
    const auto want = facts(evtx[i].obs);
    EXPECT_EQ(facts(flat[i].obs), want) << "flat record " << i;
    if (i == 10) continue;  // Winlogbeat names the host by host.name: compared below
    EXPECT_EQ(facts(beat[i].obs), want) << "winlogbeat record " << i;
  }
}

TEST(windows_shapes, sysmon_image_load_lands_field_by_field) {
  const auto flat = parse_all("flat.ndjson");
  ASSERT_FALSE(flat.empty());
  const observation& o = flat[0].obs;
  EXPECT_EQ(name_of(o.kind), "image_load");
  // The endpoint (Hostname), not the Logstash `host` string that names the collector.
  EXPECT_EQ(o.host_name.value, "WKS-ODA-17.corp.example");
  // No TimeCreated: Sysmon's UtcTime (no zone, milliseconds) wins over @timestamp and NXLog's local EventTime.
  EXPECT_EQ(o.event_time_ms, 1'791'969'161'337);  // 2026-10-14T09:12:41.337Z
  EXPECT_EQ(o.image_path.value, R"(C:\Users\oda\AppData\Local\Lumenfold\lfcore.dll)");
  EXPECT_EQ(o.process_path.value, R"(C:\Users\oda\AppData\Local\Lumenfold\lumenfold.exe)");
  EXPECT_EQ(o.sha256.value, "8f3c2b1a0e9d8c7b6a5f4e3d2c1b0a998877665544332211ffeeddccbbaa0099");
  EXPECT_EQ(o.sha1.value, "5b7e2c9a0d1f3e4b6c8a9d0e1f2a3b4c5d6e7f80");
  EXPECT_EQ(o.pe.company.value, "Lumenfold Software BV");
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(name_of(o.signature.status), "valid");
  EXPECT_EQ(o.signature.subject.value, "Lumenfold Software BV");
  EXPECT_EQ(o.user_name.value, R"(CORP\oda)");

  // The unsigned load: Sysmon's "-" placeholders stay missing, not empty.
  const observation& u = flat[1].obs;
  EXPECT_EQ(u.signature.exists, false);
  EXPECT_EQ(name_of(u.signature.status), "unknown");  // SignatureStatus Unavailable
  EXPECT_FALSE(u.signature.subject.present);
  EXPECT_FALSE(u.pe.company.present);
}

TEST(windows_shapes, events_outside_sysmon_and_code_integrity_are_read_but_not_judged) {
  const auto flat = parse_all("flat.ndjson");
  const auto evtx = parse_all("evtx.json");
  ASSERT_EQ(flat.size(), 11U);
  for (const std::size_t i : {4U, 5U, 6U, 7U, 8U, 9U}) {  // Sysmon 13, Security 4648/4688/1102, System 7045, PowerShell 4104
    EXPECT_EQ(name_of(flat[i].obs.kind), "unknown") << i;
    EXPECT_EQ(name_of(evtx[i].obs.kind), "unknown") << i;
    EXPECT_FALSE(flat[i].obs.signature.is_present()) << i;
    EXPECT_EQ(flat[i].obs.host_name.value, evtx[i].obs.host_name.value) << i;
    EXPECT_EQ(flat[i].obs.event_time_ms, evtx[i].obs.event_time_ms) << i;
  }
  config cfg = config_or_fail("sigma: {enabled: false}\n");
  pipeline p(cfg);
  for (const auto& m : messages_of(k_dir + "/flat.ndjson")) (void)p.process(m, {"flat", 0, 0}, std::nullopt);
  const auto s = p.stats();
  EXPECT_EQ(s.rejected, decltype(s.rejected){});
  EXPECT_EQ(s.out_of_scope_by_reason[static_cast<std::size_t>(scope_reason::other_event)], 6U);
  EXPECT_EQ(s.events_by_schema[static_cast<std::size_t>(schema_profile::windows)], 10U);
}

// The Code Integrity block of flat.ndjson logged again as evtx JSON on the same partition:
// its verdict goes to the hash stage once. The second copy is a repeat at ingest, on its
// input partition's thread (with several processing threads the observations partition
// may have moved to another thread between the two, whose suppression has not seen it).
TEST(windows_shapes, a_code_integrity_block_logged_in_two_shapes_is_forwarded_once) {
  config cfg = config_or_fail("sigma: {enabled: false}\n");
  pipeline p(cfg, forward_mode);
  p.set_partitions(4);
  std::size_t verdicts = 0;
  const auto count = [&] {
    for (const auto& f : p.forwards()) {
      rules::observation o;
      ASSERT_TRUE(rules::decode_observation(f.record, o));
      if (o.kind == rules::event_kind::code_integrity) ++verdicts;
    }
  };
  std::int64_t offset = 0;
  const auto feed = [&](const std::string& file) {
    for (const auto& m : messages_of(k_dir + "/" + file)) {
      (void)p.process(m, {"t", 1, offset++}, std::nullopt);
      count();
    }
    p.flush(std::nullopt);
    count();
  };
  feed("flat.ndjson");
  ASSERT_EQ(verdicts, 1U) << "flat.ndjson has one Code Integrity block";
  feed("evtx.ndjson");
  EXPECT_EQ(verdicts, 1U) << "the evtx copy is a repeat";
  EXPECT_GE(p.stats().repeats, 1U);
}

// ---------------------------------------------------------------------------------------
// Flat records: the variants real shippers produce.

using flat_harness = test_support::parse_harness<schema_profile::windows>;

TEST(windows_flat, event_id_as_string_and_computer_with_time_created) {
  flat_harness h;
  const auto& o = h.ok(R"({"TimeCreated":"2026-10-14T11:00:00.250Z","Computer":"PC1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":"7","ImageLoaded":"C:\\x\\a.dll","Image":"C:\\x\\a.exe","Signed":"true","Signature":"Acme","SignatureStatus":"Valid"})");
  EXPECT_EQ(name_of(o.kind), "image_load");
  EXPECT_EQ(o.event_time_ms, 1'791'975'600'250);
  EXPECT_EQ(o.host_name.value, "PC1");
}

TEST(windows_flat, nxlog_event_time_without_zone_is_read_as_utc_when_it_is_the_only_time) {
  flat_harness h;
  const auto& o = h.ok(R"({"EventTime":"2020-10-23 02:36:40","Hostname":"PC2","SourceName":"Microsoft-Windows-Sysmon","EventID":1,"Image":"C:\\w\\b.exe"})");
  EXPECT_EQ(name_of(o.kind), "process_start");  // Sysmon by its provider where Channel is absent
  EXPECT_EQ(o.event_time_ms, 1'603'420'600'000);
}

TEST(windows_flat, host_as_string_or_object_is_the_last_resort_for_the_host_name) {
  flat_harness h;
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-01-01T00:00:00Z","host":"collector-7","Channel":"Security","EventID":4624})").host_name.value,
            "collector-7");
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-01-01T00:00:00Z","host":{"name":"pc-9","ip":["10.0.0.9"]},"Channel":"Security","EventID":4624})").host_name.value,
            "pc-9");
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-01-01T00:00:00Z","host":"collector-7","Hostname":"pc-9","Channel":"Security","EventID":4624})").host_name.value,
            "pc-9");
}

TEST(windows_flat, a_long_shipper_message_does_not_cost_the_event) {
  flat_harness h;
  const std::string message(20'000, 'm');
  const auto& o = h.ok(R"({"@timestamp":"2026-01-01T00:00:00Z","Hostname":"pc","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"Message":")" +
                       message + R"(","ImageLoaded":"C:\\a.dll","Signed":"false"})");
  EXPECT_EQ(o.signature.exists, false);
}

TEST(windows_flat, rejects_name_the_field) {
  flat_harness h;
  // A Sysmon load without any time cannot be judged.
  auto e = h.err(R"({"Hostname":"pc","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"ImageLoaded":"C:\\a.dll"})");
  EXPECT_EQ(std::string(to_string(e.reason)), "missing_field");
  EXPECT_EQ(e.detail, "TimeCreated");
  e = h.err(R"({"TimeCreated":"yesterday","Hostname":"pc","Channel":"Security","EventID":4624})");
  EXPECT_EQ(std::string(to_string(e.reason)), "bad_timestamp");
  EXPECT_EQ(e.detail, "TimeCreated");
  e = h.err(R"({"TimeCreated":"2026-01-01T00:00:00Z","Hostname":"pc","Channel":"Security","EventID":{"x":1}})");
  EXPECT_EQ(std::string(to_string(e.reason)), "wrong_type");
  // A long mapped field is cut, not a reason to drop the event.
  const std::string big(5000, 'a');
  const auto& o = h.ok(R"({"TimeCreated":"2026-01-01T00:00:00Z","Hostname":"pc","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"ImageLoaded":")" + big + R"(","Signed":"true","Signature":"X","SignatureStatus":"Valid"})");
  EXPECT_EQ(o.image_path.value, std::string(4096, 'a'));
}

TEST(windows_flat, a_security_event_without_host_or_time_is_still_read_for_sigma) {
  flat_harness h;
  const auto& o = h.ok(R"({"Channel":"Security","EventID":4648,"TargetUserName":"x"})");
  EXPECT_EQ(name_of(o.kind), "unknown");
}

// The walker looks keys up as written and skips the values of keys nothing reads; these
// check that every key it does read still lands, however it is written or wherever it is.

TEST(windows_flat, escaped_keys_are_read_under_their_unescaped_names) {
  flat_harness h;
  const auto plain = facts(h.ok(R"({"TimeCreated":"2026-10-14T11:00:00Z","Computer":"PC1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"ImageLoaded":"C:\\x\\a.dll","Signed":"true","Signature":"Acme"})"));
  const auto escaped = facts(h.ok(R"({"Time\u0043reated":"2026-10-14T11:00:00Z","\u0043omputer":"PC1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"Image\u004coaded":"C:\\x\\a.dll","Signe\u0064":"true","Signatur\u0065":"Acme"})"));
  EXPECT_EQ(escaped, plain);
  EXPECT_EQ(escaped.at("image_path"), R"("C:\x\a.dll")");
  EXPECT_EQ(escaped.at("signature.subject"), R"("Acme")");
}

TEST(windows_flat, shipper_keys_and_their_escapes_change_nothing) {
  flat_harness h;
  const std::string core = R"("TimeCreated":"2026-10-14T11:00:00Z","Hostname":"PC1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\w\\b.exe","User":"CORP\\oda","Hashes":"SHA256=AB")";
  const auto bare = facts(h.ok("{" + core + "}"));
  std::string message = R"(Process Create:\r\nImage: C:\\w\\b.exe\r\nUser: CORP\\oda\r\n)";
  while (message.size() < 3000) message += R"(CommandLine: \"b.exe\" \u00e9\t\r\n)";
  const auto shipped = facts(h.ok(R"({"@version":"1","Message":")" + message + R"(","Keywords":-9223372036854775808,"tags":["windows"],"port":61022,)" +
                                  core + R"(,"SourceModuleName":"eventlog","ProcessGuid":"{6f1e}","CommandLine":"b.exe \"x\""})"));
  EXPECT_EQ(shipped, bare);
  EXPECT_EQ(bare.at("user_name"), R"("CORP\oda")");
}

TEST(windows_flat, sysmon_items_in_a_nested_event_data_object_are_read) {
  flat_harness h;
  const auto& o = h.ok(R"({"TimeCreated":"2026-10-14T11:00:00Z","Computer":"PC1","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":7,"EventData":{"RuleName":"-","ImageLoaded":"C:\\x\\a.dll","Image":"C:\\x\\a.exe","Message":"m\r\n","Signed":"false"}})");
  EXPECT_EQ(o.image_path.value, R"(C:\x\a.dll)");
  EXPECT_EQ(o.process_path.value, R"(C:\x\a.exe)");
  EXPECT_EQ(o.signature.exists, false);
}

TEST(windows_flat, code_integrity_read_by_the_windows_profile_keeps_every_data_item) {
  // The fixture's Code Integrity record (flat.ndjson, last line) reads the same whether
  // detection calls it `codeintegrity`, a topic pins it to `windows`, or its channel
  // hides under a key detection does not look at (the walker then reads it twice).
  const auto lines = messages_of(k_dir + "/flat.ndjson");
  ASSERT_EQ(lines.size(), 11U);
  const std::string& ci = lines[10];
  test_support::parse_harness<schema_profile::codeintegrity> as_ci;
  const auto want = facts(as_ci.ok(ci));
  ASSERT_EQ(want.at("ci.event_id"), "3033");
  ASSERT_NE(want.at("ci.process_name"), "<missing>");
  ASSERT_NE(want.at("ci.status"), "<missing>");
  flat_harness h;
  EXPECT_EQ(facts(h.ok(ci, schema_profile::windows)), want);
  std::string hidden = ci;
  const std::pair<std::string_view, std::string_view> swaps[] = {
      {R"("Channel":)", R"("channel":)"},
      {R"("SourceName":"Microsoft-Windows-CodeIntegrity")", R"("SourceName":"eventlog")"}};
  for (const auto& [from, to] : swaps) {
    const auto at = hidden.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    hidden.replace(at, from.size(), to);
  }
  EXPECT_EQ(facts(h.ok(hidden)), want) << hidden;
}

// ---------------------------------------------------------------------------------------
// evtx JSON variants.

using evtx_harness = test_support::parse_harness<schema_profile::evtx>;

TEST(windows_evtx, data_array_event_id_text_and_user_data) {
  evtx_harness h;
  const auto& o = h.ok(R"({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":{"#attributes":{"Qualifiers":""},"#text":"7"},"TimeCreated":{"#attributes":{"SystemTime":"2026-10-14T09:12:41.337123Z"}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC3"},"EventData":{"Data":[{"#attributes":{"Name":"ImageLoaded"},"#text":"C:\\a\\b.dll"},{"#attributes":{"Name":"Signed"},"#text":"true"},{"#attributes":{"Name":"Signature"},"#text":"Acme Ltd"},{"#attributes":{"Name":"SignatureStatus"},"#text":"Valid"},{"#attributes":{"Name":"Company"}}]}}})");
  EXPECT_EQ(name_of(o.kind), "image_load");
  EXPECT_EQ(o.image_path.value, R"(C:\a\b.dll)");
  EXPECT_EQ(o.signature.subject.value, "Acme Ltd");
  EXPECT_EQ(o.event_time_ms, 1'791'969'161'337);
  EXPECT_EQ(o.host_name.value, "PC3");
  EXPECT_FALSE(o.pe.company.present) << "a Data element without #text carries nothing";
}

TEST(windows_evtx, code_integrity_correlation_activity_id_joins) {
  evtx_harness h;
  const auto& o = h.ok(R"({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-CodeIntegrity"}},"EventID":3033,"TimeCreated":{"#attributes":{"SystemTime":"2026-10-14T10:20:47.102Z"}},"Correlation":{"#attributes":{"ActivityID":"{B7E4D2A0-6C19-0001-52F3-A0D2E4B76C01}"}},"Channel":"Microsoft-Windows-CodeIntegrity/Operational","Computer":"PC4"},"EventData":{"FileNameBuffer":"\\Device\\HarddiskVolume3\\x.dll","ProcessNameBuffer":"\\Device\\HarddiskVolume3\\y.exe","RequestedPolicy":"8","ValidatedPolicy":"1","Status":"3236495362"}}})");
  EXPECT_EQ(name_of(o.kind), "code_integrity");
  EXPECT_EQ(o.ci.activity_id.value, "b7e4d2a0-6c19-0001-52f3-a0d2e4b76c01");
  EXPECT_EQ(o.ci.status.value, "0xc0e90002");
}

TEST(windows_evtx, a_bare_system_and_event_data_export_reads_the_same) {
  evtx_harness h;
  const auto a = h.ok(R"({"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC5","TimeCreated":{"#attributes":{"SystemTime":"2026-01-01T00:00:00Z"}}},"EventData":{"Image":"C:\\a.exe","CommandLine":"a"}}})");
  const auto b = h.ok(R"({"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC5","TimeCreated":{"#attributes":{"SystemTime":"2026-01-01T00:00:00Z"}}},"EventData":{"Image":"C:\\a.exe","CommandLine":"a"},"Message":"Process Create"})");
  EXPECT_EQ(facts(a), facts(b));
  EXPECT_EQ(a.image_path.value, R"(C:\a.exe)");
}

TEST(windows_evtx, an_event_without_system_or_of_the_wrong_type_is_rejected) {
  evtx_harness h;
  auto e = h.err(R"({"Event":{"EventData":{"Image":"C:\\a.exe"}}})");
  EXPECT_EQ(std::string(to_string(e.reason)), "missing_field");
  EXPECT_EQ(e.detail, "Event.System");
  e = h.err(R"({"Event":{"System":"oops"}})", schema_profile::evtx);
  EXPECT_EQ(std::string(to_string(e.reason)), "wrong_type");
}

// ---------------------------------------------------------------------------------------
// Unknown shapes are out of scope, not bad input.

TEST(unknown_shapes, a_well_formed_object_no_profile_reads_is_out_of_scope_and_reaches_sigma) {
  const auto dir = std::filesystem::temp_directory_path() / ("cs-unknown-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "rule.yml") << "title: t\nid: 5f0e7a11-2b3c-4d5e-8f90-a1b2c3d4e5f6\nlogsource: {product: windows}\n"
                                       "detection:\n  sel: {proc_cmdline|contains: 'mimikatz'}\n  condition: sel\nlevel: high\n";
  }
  config cfg = config_or_fail("sigma: {builtin: [], rules_dir: \"" + dir.string() + "\"}\n");
  pipeline p(cfg);
  const std::string odd = R"({"when":"2026-01-01T00:00:00Z","box":"pc7","proc_cmdline":"mimikatz.exe sekurlsa::logonpasswords"})";
  const auto r = p.process(odd, {"odd-topic", 0, 1}, std::nullopt);
  EXPECT_EQ(r.kind, outcome::alert);
  EXPECT_EQ(p.sigma_alerts().size(), 1U);
  const auto s = p.stats();
  EXPECT_EQ(s.out_of_scope_by_reason[static_cast<std::size_t>(scope_reason::unknown_schema)], 1U);
  EXPECT_EQ(s.rejected[static_cast<std::size_t>(reject_reason::unknown_schema)], 0U);

  // Strict topics dead-letter the same message; others still accept it.
  config strict = config_or_fail("sigma: {enabled: false}\ninput: {unknown_shapes_by_topic: {strict-topic: reject}}\n");
  pipeline q(strict);
  EXPECT_EQ(q.process(odd, {"strict-topic", 0, 1}, std::nullopt).kind, outcome::rejected);
  EXPECT_EQ(q.process(odd, {"other-topic", 0, 2}, std::nullopt).kind, outcome::out_of_scope);
  config all = config_or_fail("sigma: {enabled: false}\ninput: {unknown_shapes: reject, unknown_shapes_by_topic: {lax: accept}}\n");
  pipeline a(all);
  const auto rejected = a.process(odd, {"any", 0, 1}, std::nullopt);
  EXPECT_EQ(rejected.kind, outcome::rejected);
  EXPECT_EQ(std::string(to_string(rejected.reason)), "unknown_schema");
  EXPECT_EQ(a.process(odd, {"lax", 0, 2}, std::nullopt).kind, outcome::out_of_scope);
  // Invalid JSON is bad input under every policy.
  EXPECT_EQ(p.process(R"({"a":)", {"odd-topic", 0, 3}, std::nullopt).kind, outcome::rejected);
  std::filesystem::remove_all(dir);
}

TEST(unknown_shapes, a_bad_policy_name_stops_start_up_naming_the_key) {
  auto c = parse_config("input: {unknown_shapes: maybe}\n", "cfg.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error(), testing::HasSubstr("input.unknown_shapes"));
  EXPECT_THAT(c.error(), testing::HasSubstr("cfg.yaml:1"));
}

// ---------------------------------------------------------------------------------------
// Sigma sees one record alike in every shape.

// (alert id, rule ids) of every Sigma alert of a fixture, in order.
std::vector<std::string> sigma_alerts_of(const std::string& file, const std::string& rules_dir) {
  config cfg = config_or_fail("sigma: {builtin: [], rules_dir: \"" + rules_dir + "\"}\n");
  pipeline p(cfg);
  std::vector<std::string> out;
  simdjson::dom::parser parser;
  std::int64_t n = 0;
  for (const auto& m : messages_of(k_dir + "/" + file)) {
    const auto r = p.process(m, {"t", 0, n++}, std::nullopt);
    EXPECT_NE(r.kind, outcome::rejected) << file << " " << n << ": " << to_string(r.reason) << " " << r.detail;
    for (const auto& a : p.sigma_alerts()) {
      simdjson::dom::element doc;
      EXPECT_EQ(parser.parse(a.json).get(doc), simdjson::SUCCESS);
      std::string_view id;
      EXPECT_EQ(doc["id"].get_string().get(id), simdjson::SUCCESS);
      std::string row(id);
      simdjson::dom::array detections;
      if (doc["detections"].get_array().get(detections) == simdjson::SUCCESS) {
        std::set<std::string> ids;
        for (auto d : detections) {
          std::string_view rule;
          if (d["id"].get_string().get(rule) == simdjson::SUCCESS) ids.emplace(rule);
        }
        for (const auto& i : ids) row += " " + i;
      }
      out.push_back(std::move(row));
    }
  }
  return out;
}

TEST(windows_shapes, sigma_rules_give_the_same_alerts_in_every_shape) {
  const std::string rules = k_dir + "/sigma";
  const auto beat = sigma_alerts_of("winlogbeat.ndjson", rules);
  const auto flat = sigma_alerts_of("flat.ndjson", rules);
  const auto evtx = sigma_alerts_of("evtx.json", rules);
  // Every rule of the folder matches its record in the evtx shape: ten alerts.
  EXPECT_EQ(evtx.size(), 10U) << testing::PrintToString(evtx);
  EXPECT_EQ(flat, evtx);
  EXPECT_EQ(beat, evtx);
}

// Each rule alone: with no keyword rule loaded the document keeps only the fields rules
// ask for, and the logsource fields of the flat and evtx shapes must be among them.
TEST(windows_shapes, each_rule_alone_matches_its_record_in_every_shape) {
  int rules_tried = 0;
  for (const auto& entry : std::filesystem::directory_iterator(k_dir + "/sigma")) {
    if (entry.path().filename().string().starts_with("keyword_")) continue;
    const auto dir = std::filesystem::temp_directory_path() /
                     ("countersign-one-rule-" + std::to_string(::getpid()) + "-" + entry.path().stem().string());
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(entry.path(), dir / entry.path().filename(),
                               std::filesystem::copy_options::overwrite_existing);
    const auto evtx = sigma_alerts_of("evtx.json", dir.string());
    EXPECT_EQ(evtx.size(), 1U) << entry.path().filename() << ": " << testing::PrintToString(evtx);
    EXPECT_EQ(sigma_alerts_of("flat.ndjson", dir.string()), evtx) << entry.path().filename();
    EXPECT_EQ(sigma_alerts_of("winlogbeat.ndjson", dir.string()), evtx) << entry.path().filename();
    std::filesystem::remove_all(dir);
    ++rules_tried;
  }
  EXPECT_EQ(rules_tried, 9);
}

// The whole SigmaHQ Windows rule folder, where the checkout has it beside the project.
TEST(windows_shapes, sigmahq_rules_give_the_same_alerts_in_every_shape) {
  const std::string sigmahq = COUNTERSIGN_SHARED_DIR "/sigmahq/rules/windows";
  if (!std::filesystem::is_directory(sigmahq)) GTEST_SKIP() << sigmahq << " is not here";
  const auto beat = sigma_alerts_of("winlogbeat.ndjson", sigmahq);
  const auto flat = sigma_alerts_of("flat.ndjson", sigmahq);
  const auto evtx = sigma_alerts_of("evtx.json", sigmahq);
  EXPECT_FALSE(evtx.empty()) << "the fixture's encoded PowerShell, Run key and AMSI records match SigmaHQ rules";
  EXPECT_EQ(flat, evtx);
  EXPECT_EQ(beat, evtx);
}

}  // namespace
}  // namespace windows_profile_test
}  // namespace countersign::processor

namespace countersign::processor {
namespace windows_profile_test {  // one per file: the test programs are unity builds
namespace {

// ---------------------------------------------------------------------------------------
// User-defined profiles through the parser and the pipeline (the engine itself:
// user_profile_test.cpp).

TEST(user_profiles_wired, the_shipped_osquery_profile_reads_what_no_built_in_profile_claims) {
  config cfg = config_or_fail("sigma: {enabled: false}\n");
  pipeline p(cfg);
  std::int64_t n = 0;
  std::uint64_t ours = 0;  // results of the documented query; the fixture has another query's too
  for (const auto& line : test_support::read_lines(k_data + "/osquery/differential.ndjson")) {
    if (line.find("countersign_signed_processes\"") != std::string::npos) ++ours;
    const auto r = p.process(line, {"osquery", 0, n++}, std::nullopt);
    EXPECT_NE(r.kind, outcome::rejected) << to_string(r.reason) << " " << r.detail;
  }
  const auto s = p.stats();
  EXPECT_GT(ours, 0U);
  EXPECT_EQ(s.events_by_schema[static_cast<std::size_t>(schema_profile::user)], ours);
  EXPECT_EQ(s.out_of_scope_by_reason[static_cast<std::size_t>(scope_reason::unknown_schema)], s.events - ours);
}

TEST(user_profiles_wired, a_profile_file_maps_a_new_shape_and_a_topic_can_be_pinned_to_user) {
  const auto dir = std::filesystem::temp_directory_path() / ("cs-profiles-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "profiles.yaml";
  std::ofstream(file) << "profiles:\n"
                         "  - name: acme\n"
                         "    match: {keys: [acme_host, acme_file]}\n"
                         "    kind: process_start\n"
                         "    fields:\n"
                         "      host_name: acme_host\n"
                         "      event_time: {path: ts, format: epoch_ms}\n"
                         "      image_path: acme_file.path\n"
                         "      signature.subject: acme_file.signer\n"
                         "      signature.status: {path: acme_file.verdict, map: {good: valid, bad: revoked}}\n";
  config cfg = config_or_fail("sigma: {enabled: false}\ninput: {profiles_file: \"" + file.string() +
                              "\", schemas: {pinned: user}}\n");
  pipeline p(cfg);
  const std::string event =
      R"({"ts":1795168800000,"acme_host":"pc-1","acme_file":{"path":"C:\\x\\tool.exe","signer":"Acme","verdict":"bad"}})";
  const auto r = p.process(event, {"any", 0, 1}, std::nullopt);
  EXPECT_EQ(r.kind, outcome::alert) << "a revoked signature is judged";
  EXPECT_EQ(p.stats().events_by_schema[static_cast<std::size_t>(schema_profile::user)], 1U);
  // Pinned to `user`: a message no user profile matches is rejected, not guessed.
  const auto pinned = p.process(R"({"x":1})", {"pinned", 0, 2}, std::nullopt, 0, schema_profile::user);
  EXPECT_EQ(pinned.kind, outcome::rejected);
  // Pinned to `user:acme`: read by that profile without matching (no acme_host key here,
  // which matching would need), and a name no file has stops start-up.
  config by_name = config_or_fail("sigma: {enabled: false}\ninput: {profiles_file: \"" + file.string() +
                                  "\", schemas: {acme-topic: \"user:acme\"}}\n");
  EXPECT_EQ(by_name.input.user_profile_pins.at("acme-topic"), "acme");
  pipeline named(by_name);
  const std::string host_only = R"({"ts":1795168800000,"acme_host":"pc-2"})";  // matching needs acme_file too
  EXPECT_EQ(named.process(host_only, {"other", 0, 3}, std::nullopt, 0, schema_profile::user).kind, outcome::rejected);
  const auto read = named.process(host_only, {"acme-topic", 0, 4}, std::nullopt, 0, schema_profile::user);
  EXPECT_NE(read.kind, outcome::rejected) << to_string(read.reason) << " " << read.detail;
  auto unknown_name = parse_config("input: {profiles_file: \"" + file.string() + "\", schemas: {t: \"user:nobody\"}}\n", "cfg.yaml");
  ASSERT_FALSE(unknown_name.has_value());
  EXPECT_THAT(unknown_name.error(), testing::HasSubstr("input.schemas.t: no user profile named \"nobody\""));
  // A broken profile file stops start-up with the file and line.
  std::ofstream(file) << "profiles:\n  - name: broken\n    fields: {nonsense.field: x}\n";
  auto bad = parse_config("input: {profiles_file: \"" + file.string() + "\"}\n", "cfg.yaml");
  EXPECT_FALSE(bad.has_value());
  if (!bad) {
    EXPECT_THAT(bad.error(), testing::HasSubstr(file.string() + ":"));
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace windows_profile_test
}  // namespace countersign::processor
