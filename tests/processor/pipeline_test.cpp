// The shared pipeline (processor/src/engine/pipeline.cpp): the project's ECS fixture against
// its expected alerts, suppression, and reject counting.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <string>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace pipeline_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using test_support::fixture_run;
using test_support::k_data;
using test_support::read_lines;
using test_support::summarize;

const std::string k_events = k_data + "/ecs/process_events.ndjson";
const std::string k_expected = k_data + "/ecs/expected_alerts.tsv";
constexpr const char* k_fixture_config = test_support::k_ecs_fixture_config;

config make_config(const std::string& yaml = k_fixture_config) { return test_support::config_or_fail(yaml); }

// The single alert of the last call; fails the test when there is not exactly one.
const emitted_alert& only_alert(const pipeline& p) {
  static const emitted_alert k_none{};
  EXPECT_EQ(p.alerts().size(), 1U);
  return p.alerts().empty() ? k_none : p.alerts().front();
}

// The ECS fixture through `p`.
fixture_run run_fixture(pipeline& p) { return test_support::run_fixture(p, k_events, "fixture"); }

std::uint64_t hits_of(const pipeline_stats& s, std::string_view id) {
  for (const auto& [known, n] : s.hits_by_detector) {
    if (known == id) return n;
  }
  return 0;
}

TEST(pipeline, the_ecs_fixture_yields_exactly_the_expected_alerts) {
  std::vector<std::pair<std::string, std::string>> expected;
  ASSERT_NO_FATAL_FAILURE(test_support::read_expected_alerts(k_expected, expected));
  ASSERT_EQ(expected.size(), 8U) << "expected_alerts.tsv changed; review this test";
  pipeline p(make_config());
  const auto run = run_fixture(p);
  EXPECT_THAT(run.alerts, ElementsAreArray(expected));
  std::vector<std::string> hosts;
  for (const auto& row : expected) hosts.push_back(row.second);
  EXPECT_THAT(run.keys, ElementsAreArray(hosts)) << "the Kafka key is the host id";
}

TEST(pipeline, every_fixture_line_has_the_outcome_its_facts_call_for) {
  pipeline p(make_config());
  const auto run = run_fixture(p);
  using enum outcome;
  EXPECT_THAT(run.outcomes, ElementsAre(no_alert,      // 1 notepad, Microsoft, old certificate
                                        alert,         // 2 revoked
                                        alert,         // 3 untrusted root
                                        no_alert,      // 4 untrusted root of the internal PKI
                                        alert,         // 5 certificate three days old
                                        alert,         // 6 five-day validity
                                        no_alert,      // 7 fresh certificate, but Google LLC
                                        alert,         // 8 revoked and fresh
                                        out_of_scope,  // 9 unsigned
                                        no_alert,      // 10 7-Zip, old certificate
                                        alert,         // 11 bad digest
                                        no_alert,      // 12 status not evaluated by the endpoint
                                        suppressed,    // 13 line 2 again, same host, hash and day
                                        alert,         // 14 same file on another host
                                        alert));       // 15 dotted keys, trusted=false
}

TEST(pipeline, stats_count_every_outcome_and_every_hit) {
  pipeline p(make_config());
  (void)run_fixture(p);
  const auto& s = p.stats();
  EXPECT_EQ(s.events, 15U);
  EXPECT_EQ(s.observations, 13U) << "14 in scope, one of them a repeat";
  EXPECT_EQ(s.out_of_scope, 1U);
  EXPECT_EQ(s.alerts, 8U);
  EXPECT_EQ(s.repeats, 1U) << "line 13 repeats line 2's fact within the window: not judged again";
  EXPECT_EQ(s.suppressed, 0U);
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) EXPECT_EQ(s.rejected[i], 0U) << i;
  EXPECT_EQ(hits_of(s, "cs.signature.revoked"), 4U);
  EXPECT_EQ(hits_of(s, "cs.signature.untrusted"), 2U);
  EXPECT_EQ(hits_of(s, "cs.certificate.recently_issued"), 3U);
  EXPECT_EQ(s.hits_by_detector.size(), 3U);
}

TEST(pipeline, without_the_internal_pki_list_the_internal_signer_alerts) {
  pipeline p(make_config(""));
  const auto run = run_fixture(p);
  EXPECT_EQ(run.alerts.size(), 9U);
  EXPECT_EQ(run.outcomes.at(3), outcome::alert);
  EXPECT_EQ(run.alerts.at(2), std::make_pair(std::string("cs.signature.untrusted"), std::string("host-b")));
}

TEST(pipeline, with_suppression_disabled_the_repeat_alerts_with_the_same_id) {
  pipeline p(make_config(std::string(k_fixture_config) + "alerts:\n  suppression_cache_entries: 0\n"));
  const auto lines = read_lines(k_events, test_support::blank_lines::keep);
  ASSERT_EQ(p.process(lines.at(1), {"fixture", 0, 1}, std::nullopt).kind, outcome::alert);
  const std::string first = only_alert(p).json;
  ASSERT_EQ(p.process(lines.at(12), {"fixture", 0, 12}, std::nullopt).kind, outcome::alert);
  simdjson::dom::parser a, b;
  std::string_view id1, id2;
  ASSERT_EQ(a.parse(first)["id"].get_string().get(id1), simdjson::SUCCESS);
  ASSERT_EQ(b.parse(only_alert(p).json)["id"].get_string().get(id2), simdjson::SUCCESS);
  EXPECT_EQ(id1, id2);
}

constexpr const char* k_revoked_event =
    R"({"@timestamp":"TIME","host":{"id":"host-z","name":"WS-Z"},
        "process":{"executable":"C:\\x.exe","hash":{"sha256":"0A0A"},
                   "code_signature":{"exists":true,"status":"errorRevoked","trusted":false}}})";

std::string revoked_at(const std::string& time) {
  std::string s = k_revoked_event;
  s.replace(s.find("TIME"), 4, time);
  return s;
}

TEST(pipeline, a_repeat_within_the_window_is_suppressed_and_alerts_again_in_the_next) {
  pipeline p(make_config(std::string(k_fixture_config) + "alerts:\n  suppression_window: 1h\n"));
  EXPECT_EQ(p.process(revoked_at("2026-11-20T10:00:00Z"), {}, std::nullopt).kind, outcome::alert);
  EXPECT_EQ(p.process(revoked_at("2026-11-20T10:59:59Z"), {}, std::nullopt).kind, outcome::suppressed);
  EXPECT_EQ(p.process(revoked_at("2026-11-20T11:00:00Z"), {}, std::nullopt).kind, outcome::alert);
  EXPECT_EQ(p.process(revoked_at("2026-11-20T11:30:00Z"), {}, std::nullopt).kind, outcome::suppressed);
  EXPECT_EQ(p.stats().alerts, 2U);
  EXPECT_EQ(p.stats().repeats, 2U) << "repeats stop at ingest, reported as suppressed";
}

TEST(pipeline, the_alert_carries_its_source_position_and_detection_time) {
  pipeline p(make_config());
  const std::int64_t now = *rules::parse_rfc3339_ms("2026-11-21T08:00:00.123Z");
  ASSERT_EQ(p.process(revoked_at("2026-11-20T10:00:00Z"), {"edr.events", 4, 991}, now).kind, outcome::alert);
  EXPECT_EQ(only_alert(p).key, "host-z");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(only_alert(p).json).get(doc), simdjson::SUCCESS);
  std::string_view topic, detected, time, sha;
  int64_t partition = 0, offset = 0;
  ASSERT_EQ(doc.at_pointer("/source/topic").get_string().get(topic), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/source/partition").get_int64().get(partition), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/source/offset").get_int64().get(offset), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/detected_at").get_string().get(detected), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/time").get_string().get(time), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/process/hash/sha256").get_string().get(sha), simdjson::SUCCESS);
  EXPECT_EQ(topic, "edr.events");
  EXPECT_EQ(partition, 4);
  EXPECT_EQ(offset, 991);
  EXPECT_EQ(detected, "2026-11-21T08:00:00.123Z");
  EXPECT_EQ(time, "2026-11-20T10:00:00.000Z");
  EXPECT_EQ(sha, "0a0a");
}

TEST(pipeline, without_a_clock_the_detection_time_is_the_event_time) {
  pipeline p(make_config());
  ASSERT_EQ(p.process(revoked_at("2026-11-20T10:00:00+02:00"), {}, std::nullopt).kind, outcome::alert);
  simdjson::dom::parser parser;
  std::string_view detected;
  ASSERT_EQ(parser.parse(only_alert(p).json)["detected_at"].get_string().get(detected), simdjson::SUCCESS);
  EXPECT_EQ(detected, "2026-11-20T08:00:00.000Z");
}

TEST(pipeline, rejected_inputs_are_counted_by_reason) {
  // unknown_shapes: reject, so a well-formed object of no known shape is dead-lettered too
  // (by default it is out of scope: windows_profile_test.cpp).
  pipeline p(make_config(std::string(k_fixture_config) +
                         "input:\n  max_message_bytes: 2048\n  max_field_bytes: 64\n  unknown_shapes: reject\n"));
  const std::vector<std::pair<std::string, reject_reason>> inputs = {
      {"", reject_reason::empty},
      {std::string(3000, ' '), reject_reason::too_large},
      {R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"})", reject_reason::invalid_json},
      {R"({"a":1} x)", reject_reason::invalid_json},
      {"[1,2]", reject_reason::not_an_object},
      {R"({"foo":1})", reject_reason::unknown_schema},
      {R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":42}})", reject_reason::wrong_type},
      {R"({"host":{"id":"h1"}})", reject_reason::missing_field},
      {R"({"@timestamp":"someday","host":{"id":"h1"}})", reject_reason::bad_timestamp},
  };
  for (const auto& [payload, reason] : inputs) {
    const auto r = p.process(payload, {"edr.events", 0, 1}, std::nullopt);
    EXPECT_EQ(r.kind, outcome::rejected) << payload.substr(0, 80);
    EXPECT_EQ(r.reason, reason) << payload.substr(0, 80);
  }
  const auto& s = p.stats();
  EXPECT_EQ(s.events, inputs.size());
  EXPECT_EQ(s.rejected[static_cast<std::size_t>(reject_reason::invalid_json)], 2U);
  for (auto reason : {reject_reason::empty, reject_reason::too_large, reject_reason::not_an_object,
                      reject_reason::unknown_schema, reject_reason::wrong_type, reject_reason::missing_field,
                      reject_reason::bad_timestamp}) {
    EXPECT_EQ(s.rejected[static_cast<std::size_t>(reason)], 1U) << to_string(reason);
  }
  EXPECT_EQ(s.observations, 0U);
  EXPECT_EQ(s.alerts, 0U);
}

TEST(pipeline, a_reject_names_the_offending_field) {
  pipeline p(make_config());
  const auto r = p.process(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
                               "process":{"code_signature":"x"}})",
                           {}, std::nullopt);
  ASSERT_EQ(r.kind, outcome::rejected);
  EXPECT_EQ(r.reason, reject_reason::wrong_type);
  EXPECT_EQ(r.detail, "process.code_signature");
}

TEST(pipeline, an_event_after_a_reject_is_processed_normally) {
  pipeline p(make_config());
  EXPECT_EQ(p.process("{", {}, std::nullopt).kind, outcome::rejected);
  EXPECT_EQ(p.process(revoked_at("2026-11-20T10:00:00Z"), {}, std::nullopt).kind, outcome::alert);
  EXPECT_EQ(summarize(only_alert(p).json), std::make_pair(std::string("cs.signature.revoked"), std::string("host-z")));
}

TEST(pipeline, an_absurd_epoch_timestamp_does_not_reach_the_detectors) {
  // A number far outside epoch range must be rejected, not turned into INT64_MIN and fed
  // to date arithmetic (event time minus not-before overflows: undefined behaviour).
  pipeline p(make_config());
  const auto r = p.process(R"({"@timestamp":-1e300,"host":{"id":"h1"},
      "process":{"code_signature":{"exists":true,"status":"trusted"}},
      "file":{"x509":{"not_before":"2026-11-17T00:00:00Z","not_after":"2027-11-17T00:00:00Z"}}})",
                           {}, std::nullopt);
  EXPECT_EQ(r.kind, outcome::rejected);
  EXPECT_EQ(r.reason, reject_reason::bad_timestamp);
}

}  // namespace
}  // namespace pipeline_test
}  // namespace countersign::processor

namespace countersign::processor {
namespace pipeline_test {  // one per file: the test programs are unity builds
namespace {

// A fresh folder holding one Sigma rule file (rule.yml); the caller removes it.
std::filesystem::path one_rule_dir(std::string_view name, std::string_view rule) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("countersign-" + std::string(name) + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "rule.yml") << rule;
  return dir;
}

// Padding a command line past input.max_field_bytes once rejected the whole event, and
// with it every rule: now the observation keeps the field's head, the event is counted
// as truncated, and Sigma reads the whole value.
TEST(pipeline, a_field_past_the_field_limit_is_cut_not_rejected_and_sigma_reads_all_of_it) {
  const auto dir = one_rule_dir("long-field", "title: A DLL named evil at the end of a long path\n"
                                     "id: 4a1f7c2e-0d3b-4e5f-8a9b-1c2d3e4f5a6b\n"
                                     "logsource: {category: image_load, product: windows}\n"
                                     "detection:\n"
                                     "  selection: {ImageLoaded|endswith: '\\evil.dll'}\n"
                                     "  condition: selection\n"
                                     "level: high\n");
  pipeline p(make_config("input: {max_field_bytes: 256}\nsigma: {builtin: [], rules_dir: \"" + dir.string() + "\"}\n"));
  // A Winlogbeat Sysmon 7 record whose loaded image path is padded past the limit.
  const std::string padded = R"(C:\\Users\\oda\\AppData\\Local\\)" + std::string(6000, 'a') + R"(\\evil.dll)";
  const std::string event =
      R"({"@timestamp":"2026-10-14T09:12:41.337Z","agent":{"type":"winlogbeat"},"event":{"code":"7","provider":"Microsoft-Windows-Sysmon"},)"
      R"("host":{"name":"WKS-ODA-17"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"7",)"
      R"("provider_name":"Microsoft-Windows-Sysmon","computer_name":"WKS-ODA-17","event_data":{"UtcTime":"2026-10-14 09:12:41.337",)"
      R"("Image":"C:\\Users\\oda\\tool.exe","ImageLoaded":")" + padded + R"(","Hashes":"SHA256=8F3C2B1A0E9D8C7B6A5F4E3D2C1B0A998877665544332211FFEEDDCCBBAA0099",)"
      R"("Signed":"true","Signature":"Lumenfold Software BV","SignatureStatus":"Valid"}}})";
  const auto r = p.process(event, {"edr.events", 0, 1}, std::nullopt);
  EXPECT_NE(r.kind, outcome::rejected) << to_string(r.reason) << " " << r.detail;
  EXPECT_EQ(p.sigma_alerts().size(), 1U);
  EXPECT_EQ(p.stats().fields_truncated, 1U);
  std::filesystem::remove_all(dir);
}

// Alerts of one encoded-PowerShell rule at `level` over three events: two command lines of
// the same powershell.exe on one host five minutes apart, the second delivered twice.
std::size_t encoded_powershell_alerts(std::string_view level, std::string_view sigma_extra) {
  const auto dir = one_rule_dir("per-event", "title: Encoded PowerShell\n"
                                    "id: 6b0e2c1d-3f4a-4b5c-9d8e-7f6a5b4c3d2e\n"
                                    "logsource: {category: process_creation, product: windows}\n"
                                    "detection:\n"
                                    "  selection: {CommandLine|contains: ' -enc '}\n"
                                    "  condition: selection\n"
                                    "level: " + std::string(level) + "\n");
  pipeline p(make_config("alerts: {suppression_window: 1h}\nsigma: {builtin: [], rules_dir: \"" + dir.string() + "\"" +
                         std::string(sigma_extra) + "}\n"));
  const auto event = [](std::string_view time, std::string_view payload) {
    return R"({"@timestamp":")" + std::string(time) +
           R"(","agent":{"type":"winlogbeat"},"event":{"code":"1","provider":"Microsoft-Windows-Sysmon"},"host":{"name":"WKS-1"},)"
           R"("winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","provider_name":"Microsoft-Windows-Sysmon",)"
           R"("computer_name":"WKS-1","event_data":{"UtcTime":")" +
           std::string(time.substr(0, 10)) + " " + std::string(time.substr(11, 12)) +
           R"(","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell -enc )" +
           std::string(payload) + R"(","Hashes":"SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}}})";
  };
  std::size_t alerts = 0;
  for (const auto& [time, payload] : std::vector<std::pair<std::string, std::string>>{
           {"2026-11-20T10:00:00.000Z", "AAAA"}, {"2026-11-20T10:05:00.000Z", "BBBB"}, {"2026-11-20T10:05:00.000Z", "BBBB"}}) {
    (void)p.process(event(time, payload), {"edr.events", 0, 1}, std::nullopt);
    alerts += p.sigma_alerts().size();
  }
  std::filesystem::remove_all(dir);
  return alerts;
}

// Sigma alerts of medium, high and critical rules are per event: the same rule on the same host
// and file at another moment is another detection (a second command line of the same
// powershell.exe), while the same record delivered twice is one alert.
TEST(pipeline, sigma_alerts_are_per_event_and_a_redelivered_record_is_one_alert) {
  EXPECT_EQ(encoded_powershell_alerts("high", ""), 2U) << "two events, one of them delivered twice";
  EXPECT_EQ(encoded_powershell_alerts("critical", ""), 2U);
  EXPECT_EQ(encoded_powershell_alerts("medium", ""), 2U);
}

// Lower levels alert once per rule, host and file in a suppression window, unless
// sigma.suppression says otherwise (and high can be grouped too).
TEST(pipeline, sigma_suppression_is_configurable_per_rule_level) {
  EXPECT_EQ(encoded_powershell_alerts("low", ""), 1U);
  EXPECT_EQ(encoded_powershell_alerts("informational", ""), 1U);
  EXPECT_EQ(encoded_powershell_alerts("low", ", suppression: {low: event}"), 2U);
  EXPECT_EQ(encoded_powershell_alerts("high", ", suppression: {high: file}"), 1U);
  const auto bad = parse_config("sigma: {suppression: {high: sometimes}}\n", "bad.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("sigma.suppression.high"), std::string::npos) << bad.error();
}

}  // namespace
}  // namespace pipeline_test
}  // namespace countersign::processor
