// Broker-backed tests of `countersign run`: a real Kafka (ctest fixture `kafka`), a real
// countersign process, real consumer groups. Each test uses its own topics and group.

#include "harness.hpp"
#include "json_schema.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <simdjson.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace ct = countersign::testing;
using namespace std::chrono_literals;

namespace {

const std::string k_data = COUNTERSIGN_TEST_DATA;
const std::string k_fixture = k_data + "/ecs/process_events.ndjson";

using ct::alert_summary;

// An alert's summary; every alert carries the v1 envelope.
alert_summary summarize(const std::string& json) {
  auto s = ct::summarize_alert(json);
  EXPECT_EQ(s.schema, "countersign.alert/v1");
  return s;
}

std::multiset<std::string> expected_alerts() {
  std::multiset<std::string> out;
  for (const auto& line : ct::read_lines(k_data + "/ecs/expected_alerts.tsv")) {
    if (!line.empty() && line[0] != '#') out.insert(line);
  }
  return out;
}

std::string metrics_text(std::uint16_t port) { return ct::http_get(port, "/metrics").second; }

// Polls /metrics until `series` reaches `at_least`.
bool wait_metric(std::uint16_t port, const std::string& series, double at_least, std::chrono::seconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (auto v = ct::metric_value(metrics_text(port), series); v && *v >= at_least) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Polls /readyz until 200. Caught-up input does not mean a settled group: with several
// processing threads a member that joined later takes its partitions (and restores them)
// after the first has done the work.
bool wait_ready(std::uint16_t port, std::chrono::seconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (ct::http_get(port, "/readyz").first == 200) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

TEST(kafka_run, fixture_events_produce_exactly_the_expected_alerts_and_replay_agrees) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 4, 2);
  const auto lines = ct::read_lines(k_fixture);
  ASSERT_EQ(lines.size(), 15u);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, "event-" + std::to_string(i), lines[i]);
  kafka.flush();

  const std::uint16_t port = ct::free_port();
  const auto cfg = dir.write("countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port));
  ct::countersign_process service({"run", "--config", cfg}, dir.path());

  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
  const auto alerts = kafka.read_all(t.alerts, expected_alerts().size(), 30s);

  std::multiset<std::string> got;
  std::set<std::string> kafka_ids;
  for (const auto& r : alerts) {
    const auto s = summarize(r.value);
    got.insert(s.detectors + "\t" + s.host);
    kafka_ids.insert(s.id);
    EXPECT_EQ(r.key, s.host) << "alerts are keyed by host id";
  }
  EXPECT_EQ(got, expected_alerts());

  // Metrics are published about once a second: wait for the last counter to land.
  ASSERT_TRUE(wait_metric(port, "countersign_messages_produced_total{topic=\"" + t.alerts + "\"}", 8, 10s));
  const auto metrics = metrics_text(port);
  EXPECT_EQ(ct::metric_value(metrics, "countersign_events_consumed_total{topic=\"" + t.input + "\"}"), 15.0) << metrics;
  EXPECT_EQ(ct::metric_value(metrics, "countersign_messages_produced_total{topic=\"" + t.alerts + "\"}"), 8.0);
  EXPECT_EQ(ct::metric_value(metrics, "countersign_detections_total{detector=\"cs.signature.revoked\"}"), 4.0)
      << "hosts a, e, f, g: the second run on host a repeats a fact within the window and never "
         "leaves ingest (the same in replay)";
  EXPECT_EQ(ct::metric_value(metrics, "countersign_observations_repeated_total"), 1.0);
  // Consumer lag from librdkafka statistics (every 500 ms in tests): 0 once caught up (the
  // statistics taken before the last commit may still say otherwise for a moment).
  const std::string lag_series = "countersign_consumer_lag{partition=\"0\",topic=\"" + t.input + "\"}";
  std::optional<double> lag;
  for (const auto end = std::chrono::steady_clock::now() + 15s; std::chrono::steady_clock::now() < end;) {
    lag = ct::metric_value(metrics_text(port), lag_series);
    if (lag == 0.0) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(lag, 0.0) << metrics_text(port);
  EXPECT_GT(ct::metric_value(metrics, "countersign_event_time_lag_seconds").value_or(0), 0.0)
      << "the fixture's events are days old";
  EXPECT_EQ(ct::http_get(port, "/healthz").first, 200);
  EXPECT_TRUE(wait_ready(port, 30s));

  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();

  // The same events through `countersign replay` give the same alerts (same ids).
  const auto replay = ct::run_countersign({"replay", "--config", cfg, k_fixture}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::set<std::string> replay_ids;
  std::multiset<std::string> replay_summaries;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) {
    const auto s = summarize(line);
    replay_ids.insert(s.id);
    replay_summaries.insert(s.detectors + "\t" + s.host);
  }
  EXPECT_EQ(replay_ids, kafka_ids);
  EXPECT_EQ(replay_summaries, expected_alerts());
}

// alerts.format and alerts.outputs on a real broker: the same detections reach three
// topics in three formats, every record carries the routing headers, and every
// countersign-format alert validates against the published JSON Schema.
TEST(kafka_run, alert_outputs_write_each_format_with_routing_headers) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 2, 2);
  const std::string ocsf_topic = t.alerts + ".ocsf", ecs_topic = t.alerts + ".ecs";
  kafka.create_topic(ocsf_topic, 1);
  kafka.create_topic(ecs_topic, 1);
  const auto lines = ct::read_lines(k_fixture);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, "event-" + std::to_string(i), lines[i]);
  kafka.flush();

  const std::uint16_t port = ct::free_port();
  const auto cfg = dir.write("countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                                                     "alerts:\n  format: countersign\n  outputs:\n"
                                                     "    - {topic: " + ocsf_topic + ", format: ocsf}\n"
                                                     "    - {topic: " + ecs_topic + ", format: ecs}\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
  const std::size_t expected = expected_alerts().size();
  const auto native = kafka.read_all(t.alerts, expected, 30s);
  const auto ocsf = kafka.read_all(ocsf_topic, expected, 30s);
  const auto ecs = kafka.read_all(ecs_topic, expected, 30s);
  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();

  std::ifstream schema_file(std::string(COUNTERSIGN_SOURCE_DIR) + "/schema/countersign.alert.v1.schema.json");
  std::ostringstream schema_text;
  schema_text << schema_file.rdbuf();
  const countersign::test_support::json_schema schema(schema_text.str());
  ASSERT_TRUE(schema.load_errors().empty());

  // The header set every record must carry, checked against the value it describes.
  const auto check_headers = [&](const ct::record& r, std::string_view format, std::string_view schema_name,
                                 std::string_view id_in_value) {
    for (const char* h : {"countersign.severity", "countersign.detectors", "countersign.schema", "countersign.format",
                          "countersign.source.topic", "countersign.id"}) {
      EXPECT_TRUE(r.headers.contains(h)) << "missing header " << h << " on " << format;
    }
    EXPECT_EQ(r.headers.at("countersign.format"), format);
    EXPECT_EQ(r.headers.at("countersign.schema"), schema_name);
    EXPECT_EQ(r.headers.at("countersign.source.topic"), t.input);
    EXPECT_EQ(r.headers.at("countersign.id"), id_in_value) << "the id header is the alert's own id";
  };

  std::set<std::string> native_ids, ocsf_ids, ecs_ids;
  simdjson::dom::parser parser;
  for (const auto& r : native) {
    const auto s = summarize(r.value);
    native_ids.insert(s.id);
    check_headers(r, "countersign", "countersign.alert/v1", s.id);
    const simdjson::dom::element doc = parser.parse(r.value);
    EXPECT_EQ(r.headers.at("countersign.severity"), std::string_view(doc["severity"]));
    std::string detectors = s.detectors;
    std::replace(detectors.begin(), detectors.end(), '+', ',');
    std::string header_detectors = r.headers.at("countersign.detectors");
    std::vector<std::string> parts;
    for (std::size_t at = 0; at <= header_detectors.size();) {
      const auto comma = std::min(header_detectors.find(',', at), header_detectors.size());
      parts.push_back(header_detectors.substr(at, comma - at));
      at = comma + 1;
    }
    std::sort(parts.begin(), parts.end());
    std::string sorted;
    for (const auto& p : parts) sorted += (sorted.empty() ? "" : ",") + p;
    EXPECT_EQ(sorted, detectors);
    const auto problems = schema.validate(r.value);
    EXPECT_TRUE(problems.empty()) << problems.front() << "\n" << r.value;
  }
  for (const auto& r : ocsf) {
    const simdjson::dom::element doc = parser.parse(r.value);
    const std::string id{std::string_view(doc["finding_info"]["uid"])};
    ocsf_ids.insert(id);
    EXPECT_EQ(std::int64_t(doc["class_uid"]), 2004);
    check_headers(r, "ocsf", "ocsf/1.4.0/detection_finding", id);
  }
  for (const auto& r : ecs) {
    const simdjson::dom::element doc = parser.parse(r.value);
    EXPECT_EQ(std::string_view(doc["event"]["kind"]), "alert");
    const std::string id(r.headers.count("countersign.id") ? r.headers.at("countersign.id") : "");
    ecs_ids.insert(id);
    EXPECT_NE(r.value.find(id), std::string::npos) << "the ECS document carries the alert id";
    check_headers(r, "ecs", "ecs/8.17.0", id);
  }
  EXPECT_EQ(native_ids.size(), expected);
  EXPECT_EQ(ocsf_ids, native_ids) << "the same detections in every format";
  EXPECT_EQ(ecs_ids, native_ids);
}

TEST(kafka_run, malformed_input_is_counted_dead_lettered_and_never_stalls_the_partition) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 1, 1);

  const std::string huge = R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"host-z"},"pad":")" +
                           std::string(10 * 1024 * 1024, 'x') + "\"}";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"invalid_json", R"({"@timestamp": "2026-11-20T10:00:00Z", "host": {"id": "h")"},
      {"wrong_type", R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":42},"process":{"code_signature":{"exists":true}}})"},
      {"too_large", huge},
      {"empty", ""},
      {"not_an_object", "[1,2,3]"},
      {"unknown_schema", R"({"foo":"bar","baz":[1,2]})"},
      {"bad_timestamp", R"({"@timestamp":"yesterday","host":{"id":"h"}})"},
  };
  // All on partition 0, bad ones first: the good event after them must still be processed.
  for (const auto& [reason, payload] : bad) kafka.produce(t.input, reason, payload, 0);
  const auto good = ct::read_lines(k_fixture).at(1);  // revoked signature on host-a
  kafka.produce(t.input, "good", good, 0);
  kafka.flush();

  const std::uint16_t port = ct::free_port();
  // The input topic is strict (input.unknown_shapes_by_topic): a well-formed object of no
  // known shape is dead-lettered too, instead of being counted out of scope.
  const auto cfg = dir.write("countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                                                     "input:\n  unknown_shapes_by_topic: {" + t.input + ": reject}\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();

  const auto alerts = kafka.read_all(t.alerts, 1, 30s);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(summarize(alerts[0].value).detectors, "cs.signature.revoked");

  const auto dead = kafka.read_all(t.dead_letter, bad.size(), 30s);
  ASSERT_EQ(dead.size(), bad.size());
  for (std::size_t i = 0; i < bad.size(); ++i) {
    const auto& r = dead[i];
    EXPECT_EQ(r.headers.at("countersign.reason"), bad[i].first);
    EXPECT_EQ(r.headers.at("countersign.stage"), "ingest");
    EXPECT_EQ(r.headers.at("countersign.source.topic"), t.input);
    EXPECT_EQ(r.headers.at("countersign.source.partition"), "0");
    EXPECT_EQ(r.headers.at("countersign.source.offset"), std::to_string(i));
    EXPECT_EQ(r.key, bad[i].first);
    EXPECT_TRUE(r.value == bad[i].second) << "dead letter " << i << " is not the input unchanged";
  }
  ASSERT_TRUE(wait_metric(port, "countersign_input_rejected_total{reason=\"bad_timestamp\"}", 1, 10s));
  const auto metrics = metrics_text(port);
  for (const auto& [reason, payload] : bad) {
    EXPECT_EQ(ct::metric_value(metrics, "countersign_input_rejected_total{reason=\"" + reason + "\"}"), 1.0) << reason;
  }
  EXPECT_EQ(ct::metric_value(metrics, "countersign_messages_produced_total{topic=\"" + t.dead_letter + "\"}"),
            static_cast<double>(bad.size()));

  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
}

// Internal records are written by countersign, yet a topic can hold anything: a record
// from a newer build, a partial write, someone's test. Each kind of broken observation
// and delta record is dead-lettered with what was wrong, the partition moves on, and a
// good event after them is judged. A broken snapshot on the signers topic is skipped.
// Each broken record counts once, however many processing threads run.
TEST(kafka_run, broken_internal_records_are_dead_lettered_and_never_stall_their_partition) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "poison", 1, 1);
  const std::uint16_t port = ct::free_port();
  const auto cfg = dir.write("countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                                                     "state:\n  dir: \"" + dir.path() + "/state\"\n" +
                                                     "topology:\n  partitions: 1\nlearning:\n  min_history: 0s\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(wait_ready(port, 60s)) << service.stderr_text();

  const std::string observations = t.group + ".observations";
  const std::string deltas = t.group + ".signer-deltas";
  const std::map<std::string, std::string> batch = {{"countersign.record", "batch"}};
  // A batch of two records, neither an observation: framed, so both are tried.
  const std::string two_bad = std::string("\x01") + "\x01k\x03xyz" + "\x01k\x02zz";
  // A length past the end after one record.
  const std::string cut = std::string("\x01") + "\x01k\x03xyz" + "\x01k\x7f";
  struct expected {
    std::string topic, stage, detail;
  };
  const std::vector<expected> want = {
      {observations, "hash", "2 of 2 observations do not decode"},
      {observations, "hash", "observation batch is malformed after 1 record(s)"},
      {observations, "hash", "observation does not decode"},
      {deltas, "signer", "delta batch is malformed after 1 record(s)"},
      {deltas, "signer", "delta does not decode"},
  };
  kafka.produce(observations, "", two_bad, 0, batch);
  kafka.produce(observations, "", cut, 0, batch);
  kafka.produce(observations, "sha256:00", "not an observation", 0);
  kafka.produce(deltas, "", cut, 0, batch);
  kafka.produce(deltas, "\x02t:00", "not a delta", 0);
  kafka.produce(t.group + ".signers", "\x02t:00", "not a snapshot", 0);
  kafka.produce(t.input, "good", ct::read_lines(k_fixture).at(1), 0);  // revoked signature on host-a
  kafka.flush();

  const auto alerts = kafka.read_all(t.alerts, 1, 30s);
  ASSERT_EQ(alerts.size(), 1u) << service.stderr_text();
  // With state, the first file of its signer on the fleet is also rare.
  EXPECT_NE(summarize(alerts[0].value).detectors.find("cs.signature.revoked"), std::string::npos);
  const auto dead = kafka.read_all(t.dead_letter, want.size(), 30s);
  ASSERT_EQ(dead.size(), want.size()) << service.stderr_text();
  std::multiset<std::string> got_details;
  std::multiset<std::string> want_details;
  for (const auto& w : want) want_details.insert(w.topic + " " + w.stage + " " + w.detail);
  for (const auto& r : dead) {
    EXPECT_EQ(r.headers.at("countersign.reason"), "bad_internal_record");
    got_details.insert(r.headers.at("countersign.source.topic") + " " + r.headers.at("countersign.stage") + " " +
                       r.headers.at("countersign.detail"));
  }
  EXPECT_EQ(got_details, want_details);
  // 4 observations (counted by the hash stage), a broken observation batch, 2 deltas, a
  // broken delta batch and the snapshot (counted by the runner or the table's reader).
  const std::string rejected = "countersign_input_rejected_total{reason=\"bad_internal_record\"}";
  EXPECT_TRUE(wait_metric(port, rejected, 9, 10s)) << service.stderr_text();
  EXPECT_EQ(ct::metric_value(metrics_text(port), rejected), 9.0);
  EXPECT_TRUE(kafka.wait_caught_up(t.group, observations)) << "an observations partition stalled";
  EXPECT_TRUE(kafka.wait_caught_up(t.group, deltas)) << "a deltas partition stalled";
  // Committed deltas: their snapshots are on the signers topic. The process reads each
  // once into its global table, however many processing threads it runs.
  const auto snapshots = kafka.read_all(t.group + ".signers", 2, 30s);
  ASSERT_GE(snapshots.size(), 2u) << "the broken snapshot and those of the good event";
  const auto good = static_cast<double>(snapshots.size() - 1);
  EXPECT_TRUE(wait_metric(port, "countersign_global_table_records_total", good, 20s)) << metrics_text(port);
  EXPECT_EQ(ct::metric_value(metrics_text(port), "countersign_global_table_records_total"), good);
  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
}

namespace {

// The fixture as a fleet: `copies` copies with host ids suffixed, so every copy alerts.
// The fixture's in-window repeat (line 13) is left out: which instance sees it first
// would decide whether it is suppressed, and this test counts alerts exactly.
std::vector<std::string> fleet_chunk(int first_copy, int copies) {
  return ct::host_copies(ct::read_lines(k_fixture), first_copy, copies, "-", 12);
}

}  // namespace

TEST(kafka_run, sigterm_mid_stream_then_restart_delivers_every_alert_exactly_once) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 4, 2);

  const auto chunk1 = fleet_chunk(0, 200);
  const auto chunk2 = fleet_chunk(200, 400);
  const auto chunk3 = fleet_chunk(600, 200);
  std::string all;
  for (const auto* chunk : {&chunk1, &chunk2, &chunk3}) {
    for (const auto& l : *chunk) all += l + "\n";
  }
  const std::string fleet = dir.write("fleet.ndjson", all);

  const std::uint16_t port1 = ct::free_port();
  const auto cfg1 = dir.write("one.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port1));
  auto first = std::make_unique<ct::countersign_process>(std::vector<std::string>{"run", "--config", cfg1}, dir.path());

  std::size_t key = 0;
  for (const auto& l : chunk1) kafka.produce(t.input, std::to_string(key++), l);
  kafka.flush();
  ASSERT_TRUE(wait_metric(port1, "countersign_events_consumed_total{topic=\"" + t.input + "\"}",
                          static_cast<double>(chunk1.size()), 60s))
      << first->stderr_text();
  // Stop while the second chunk is streaming in.
  // Paced, so that the stop certainly lands while input is still arriving (about 3 s).
  std::thread producer([&] {
    for (std::size_t i = 0; i < chunk2.size(); ++i) {
      kafka.produce(t.input, std::to_string(key++), chunk2[i]);
      if (i % 200 == 199) {
        kafka.flush();
        std::this_thread::sleep_for(100ms);
      }
    }
    kafka.flush();
  });
  ASSERT_TRUE(wait_metric(port1, "countersign_events_consumed_total{topic=\"" + t.input + "\"}",
                          static_cast<double>(chunk1.size() + 500), 60s));
  first->terminate();
  producer.join();
  EXPECT_EQ(first->wait(60s), 0) << first->stderr_text();
  EXPECT_FALSE(kafka.group_caught_up(t.group, t.input)) << "the first instance was meant to stop mid-stream";

  for (const auto& l : chunk3) kafka.produce(t.input, std::to_string(key++), l);
  kafka.flush();
  const std::uint16_t port2 = ct::free_port();
  const auto cfg2 = dir.write("two.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port2));
  ct::countersign_process second({"run", "--config", cfg2}, dir.path());
  // The whole topology, not the input alone: the stop below must find nothing left to do.
  ASSERT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 120s, [&] { return second.running(); }))
      << second.stderr_text();
  second.terminate();
  EXPECT_EQ(second.wait(60s), 0) << second.stderr_text();

  // The oracle: replay of the same events.
  const auto replay = ct::run_countersign({"replay", "--config", cfg1, fleet}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::multiset<std::string> expected;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) expected.insert(summarize(line).id);
  ASSERT_EQ(expected.size(), 8u * 800u);  // 8 alerts per fixture copy

  const auto alerts = kafka.read_all(t.alerts, expected.size(), 60s);
  std::multiset<std::string> got;
  for (const auto& r : alerts) got.insert(summarize(r.value).id);
  EXPECT_EQ(got.size(), expected.size()) << "a graceful stop commits what it finished: no alert twice";
  EXPECT_TRUE(got == expected);
}

// processing.threads: 2 whatever COUNTERSIGN_TEST_THREADS says. Each thread is a group
// member of its own: both get partitions, the alerts are the fixture's, and the process
// is ready and stops cleanly as one.
TEST(kafka_run, two_processing_threads_split_the_partitions_and_raise_the_fixture_alerts) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "threads", 4, 2);
  const auto lines = ct::read_lines(k_fixture);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, "event-" + std::to_string(i), lines[i]);
  kafka.flush();

  const std::uint16_t port = ct::free_port();
  std::string yaml = ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port);
  const std::string threads_line = "  threads: " + std::to_string(ct::processing_threads()) + "\n";
  ASSERT_NE(yaml.find(threads_line), std::string::npos);
  yaml.replace(yaml.find(threads_line), threads_line.size(), "  threads: 2\n");
  // Static membership set as a raw librdkafka property: each thread must still get an id
  // of its own (two members with one group.instance.id fence each other).
  const std::string consumer_line = "  consumer:\n";
  ASSERT_NE(yaml.find(consumer_line), std::string::npos);
  yaml.insert(yaml.find(consumer_line) + consumer_line.size(), "    group.instance.id: \"" + t.group + "-static\"\n");
  const auto cfg = dir.write("countersign.yaml", yaml);
  ct::countersign_process service({"run", "--config", cfg}, dir.path());

  ASSERT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 120s, [&] { return service.running(); }))
      << service.stderr_text();
  const auto alerts = kafka.read_all(t.alerts, expected_alerts().size(), 30s);
  std::multiset<std::string> got;
  for (const auto& r : alerts) {
    const auto s = summarize(r.value);
    got.insert(s.detectors + "\t" + s.host);
  }
  EXPECT_EQ(got, expected_alerts());

  // Both threads own partitions: each publishes the lag of its own (statistics every 500 ms).
  bool both = false;
  for (const auto end = std::chrono::steady_clock::now() + 20s; !both && std::chrono::steady_clock::now() < end;) {
    const auto text = metrics_text(port);
    both = ct::metric_value(text, "countersign_consumer_lag{thread=\"0\"}").has_value() &&
           ct::metric_value(text, "countersign_consumer_lag{thread=\"1\"}").has_value();
    if (!both) std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(both) << metrics_text(port);
  ASSERT_TRUE(wait_metric(port, "countersign_messages_produced_total{topic=\"" + t.alerts + "\"}",
                          static_cast<double>(expected_alerts().size()), 10s));
  const auto metrics = metrics_text(port);
  EXPECT_EQ(ct::metric_value(metrics, "countersign_events_consumed_total{topic=\"" + t.input + "\"}"),
            static_cast<double>(lines.size()));
  EXPECT_TRUE(wait_ready(port, 30s));
  EXPECT_EQ(ct::metric_value(metrics_text(port), "countersign_group_member"), 1.0);
  EXPECT_NE(service.stderr_text().find("processing thread 2 of 2"), std::string::npos);

  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
}

TEST(kafka_run, instances_beyond_the_partition_count_are_ready_members_with_nothing_assigned) {
  // One input partition and one observations partition, three instances: at least one
  // gets no partition. It is a group member all the same, so it is ready (a standby
  // that takes over on the next rebalance), and its metrics say why it does no work.
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 1, 1);
  std::vector<std::unique_ptr<ct::countersign_process>> instances;
  std::vector<std::uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    ports.push_back(ct::free_port());
    const auto cfg = dir.write("i" + std::to_string(i) + ".yaml",
                               ct::service_config(t.input, t.alerts, t.dead_letter, t.group, ports.back()) +
                                   "topology:\n  partitions: 1\n");
    instances.push_back(
        std::make_unique<ct::countersign_process>(std::vector<std::string>{"run", "--config", cfg}, dir.path()));
  }
  int idle = 0;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  bool settled = false;
  while (!settled && std::chrono::steady_clock::now() < deadline) {
    settled = true;
    idle = 0;
    double assigned_total = 0;
    for (const auto port : ports) {
      const auto text = metrics_text(port);
      const auto member = ct::metric_value(text, "countersign_group_member");
      const auto assigned = ct::metric_value(text, "countersign_assigned_partitions");
      if (!member || *member != 1 || !assigned || ct::http_get(port, "/readyz").first != 200) settled = false;
      if (assigned) assigned_total += *assigned;
      if (assigned && *assigned == 0) ++idle;
    }
    if (assigned_total != 2) settled = false;  // the input and the observations partition, once each
    if (!settled) std::this_thread::sleep_for(200ms);
  }
  std::string logs;
  for (const auto& p : instances) logs += p->stderr_text();
  EXPECT_TRUE(settled) << "every instance a ready member, the two partitions assigned once" << logs;
  EXPECT_GE(idle, 1) << logs;

  // Work still flows through whichever instances own the partitions.
  const auto lines = ct::read_lines(k_fixture);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, "event-" + std::to_string(i), lines[i]);
  kafka.flush();
  EXPECT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 60s)) << logs;
  EXPECT_EQ(kafka.read_all(t.alerts, expected_alerts().size(), 30s).size(), expected_alerts().size());

  for (auto& p : instances) p->terminate();
  for (auto& p : instances) EXPECT_EQ(p->wait(60s), 0) << p->stderr_text();
}

TEST(kafka_run, busy_metrics_port_is_a_clear_startup_error) {
  ct::temp_dir dir;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto port = ntohs(addr.sin_port);

  const auto cfg = dir.write("c.yaml", ct::service_config("in", "out", "dlq", "g", port));
  const auto r = ct::run_countersign({"run", "--config", cfg}, dir.path());
  ::close(fd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("metrics.listen"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << r.err;
}

TEST(kafka_run, bad_config_fails_at_startup_naming_file_line_and_key) {
  ct::temp_dir dir;
  const auto cfg = dir.write("bad.yaml",
                             "kafka:\n  bootstrap_servers: 127.0.0.1:1\n  group_idd: typo\n"
                             "alerts:\n  suppression_window: 3 fortnights\n");
  const auto r = ct::run_countersign({"run", "--config", cfg}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(cfg + ":3: kafka.group_idd: unknown key"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(cfg + ":5: alerts.suppression_window:"), std::string::npos) << r.err;
}

TEST(kafka_run, prevalence_state_is_kept_on_disk_and_grows_across_a_restart) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 2, 1);
  const std::string state = dir.path() + "/state";
  const auto config_with_state = [&](std::uint16_t port) {
    // Static membership too: the restarted instance takes its partitions back.
    std::string cfg = ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port);
    cfg.insert(cfg.find("  client_id:"), "  group_instance_id: countersign-it-0\n");
    return cfg + "state:\n  dir: \"" + state + "\"\nlearning:\n  min_history: 0s\n";
  };
  const auto lines = ct::read_lines(k_fixture);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, std::to_string(i), lines[i]);
  kafka.flush();
  const std::string revoked_hash = "0202020202020202020202020202020202020202020202020202020202020202";
  {
    const auto cfg = dir.write("one.yaml", config_with_state(ct::free_port()));
    ct::countersign_process service({"run", "--config", cfg}, dir.path());
    // The state is written by the hash stage: wait for the observations topic as well.
    ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
    ASSERT_TRUE(kafka.wait_caught_up(t.group, t.group + ".observations")) << service.stderr_text();
    service.terminate();
    ASSERT_EQ(service.wait(60s), 0) << service.stderr_text();
  }
  const auto alerts = kafka.read_all(t.alerts, 8, 30s);
  ASSERT_FALSE(alerts.empty());
  for (const auto& a : alerts) EXPECT_NE(a.value.find("\"prevalence\":{"), std::string::npos) << a.value;

  // The revoked file ran on host-a and host-g.
  auto inspected = ct::run_countersign({"state", "inspect", "--state-dir", state, revoked_hash}, dir.path());
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_NE(inspected.out.find(R"("hosts":{"estimate":2,"exact":true})"), std::string::npos) << inspected.out;

  // A restart: the same file on a third host adds to the state on disk.
  std::string third = lines.at(13);
  third.replace(third.find("\"host-g\""), 8, "\"host-z\"");
  kafka.produce(t.input, "third", third);
  kafka.flush();
  {
    const auto cfg = dir.write("two.yaml", config_with_state(ct::free_port()));
    ct::countersign_process service({"run", "--config", cfg}, dir.path());
    // The state is written by the hash stage: wait for the observations topic as well.
    ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
    ASSERT_TRUE(kafka.wait_caught_up(t.group, t.group + ".observations")) << service.stderr_text();
    service.terminate();
    ASSERT_EQ(service.wait(60s), 0) << service.stderr_text();
  }
  inspected = ct::run_countersign({"state", "inspect", "--state-dir", state, revoked_hash}, dir.path());
  ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
  EXPECT_NE(inspected.out.find(R"("hosts":{"estimate":3,"exact":true})"), std::string::npos) << inspected.out;
}

// `countersign rules check` (no broker needed, but it shares this binary's harness).
TEST(cli, rules_check_validates_config_content_and_lists_naming_file_and_line) {
  ct::temp_dir dir;
  auto ok = ct::run_countersign({"rules", "check"}, dir.path());
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("rules check: ok"), std::string::npos) << ok.out;

  const std::string content = dir.path() + "/content";
  std::filesystem::create_directories(content);
  {
    std::ofstream f(content + "/known_code_signing_cas.yaml");
    f << "known_code_signing_cas: [DigiCert\n  - broken: [\n";
  }
  auto broken = ct::run_countersign({"rules", "check", "--rules", content}, dir.path());
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find(content + "/known_code_signing_cas.yaml:2:"), std::string::npos) << broken.err;

  const std::string lists = dir.write("lists.yaml", "detectors:\n  abused_certificate:\n    lists:\n"
                                                    "      - {path: \"" + k_data + "/intel/abusech_cscb.csv\", format: abusech-csv}\n");
  auto with_rows_skipped = ct::run_countersign({"rules", "check", "-c", lists}, dir.path());
  EXPECT_EQ(with_rows_skipped.exit_code, 0) << with_rows_skipped.err;
  EXPECT_NE(with_rows_skipped.err.find("abusech_cscb.csv:"), std::string::npos) << "skipped rows are named";
  EXPECT_NE(with_rows_skipped.out.find("entries"), std::string::npos) << with_rows_skipped.out;
  EXPECT_EQ(ct::run_countersign({"rules", "check", "--strict", "-c", lists}, dir.path()).exit_code, 2);

  const std::string missing = dir.write("missing.yaml", "detectors:\n  abused_certificate:\n    lists:\n"
                                                        "      - {path: /nonexistent/lolcerts.csv, format: lolcerts-csv}\n");
  auto gone = ct::run_countersign({"rules", "check", "-c", missing}, dir.path());
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("/nonexistent/lolcerts.csv"), std::string::npos) << gone.err;

  // Sigma rules: a rule with an unsupported feature is a warning (an error with --strict),
  // a YAML error an error; both name file, line and rule id.
  const std::string sigma = dir.path() + "/sigma";
  std::filesystem::create_directories(sigma);
  {
    std::ofstream(sigma + "/count.yml") << "title: many\nid: count-1\nlogsource: {category: process_creation}\n"
                                           "detection:\n  sel: {Image|endswith: '.exe'}\n  condition: sel | count() > 5\n";
  }
  auto skipped = ct::run_countersign({"rules", "check", "--sigma", sigma}, dir.path());
  EXPECT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(skipped.err.find(sigma + "/count.yml:6: rule count-1: warning:"), std::string::npos) << skipped.err;
  EXPECT_EQ(ct::run_countersign({"rules", "check", "--strict", "--sigma", sigma}, dir.path()).exit_code, 2);
  { std::ofstream(sigma + "/broken.yml") << "title: broken\nid: b-1\ndetection: [\n"; }
  auto sigma_broken = ct::run_countersign({"rules", "check", "--sigma", sigma}, dir.path());
  EXPECT_EQ(sigma_broken.exit_code, 2);
  EXPECT_NE(sigma_broken.err.find(sigma + "/broken.yml:"), std::string::npos) << sigma_broken.err;

  const std::string bad_key = dir.write("bad.yaml", "detectors:\n  exclusions:\n    - {name: nothing to match}\n");
  auto bad = ct::run_countersign({"rules", "check", "-c", bad_key}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bad.yaml:3: detectors.exclusions[0]"), std::string::npos) << bad.err;
}

namespace {

std::string sigma_rule(const std::string& id, const std::string& marker) {
  return "title: marker " + id + "\nid: " + id +
         "\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    CommandLine|contains: '" +
         marker + "'\n  condition: sel\nlevel: high\ntags: [attack.t1588.003]\n";
}

std::string process_event(const std::string& host, const std::string& command_line) {
  return R"({"@timestamp":"2026-11-20T10:00:00Z","event":{"category":["process"],"type":["start"]},"host":{"id":")" + host +
         R"(","name":")" + host + R"("},"process":{"executable":"C:\\Tools\\run.exe","command_line":")" + command_line + R"("}})";
}

std::set<std::string> sigma_ids(const std::vector<ct::record>& alerts) {
  std::set<std::string> out;
  simdjson::dom::parser p;
  for (const auto& r : alerts) {
    for (auto d : p.parse(r.value)["detections"].get_array()) out.insert(std::string(d["id"].get_string().value()) + "@" + r.key);
  }
  return out;
}

}  // namespace

// Sigma rules from a folder reach the alerts topic; a rule added while running is used
// without a restart, and a rule file broken while running keeps its previous rules.
TEST(kafka_run, sigma_rules_alert_and_reload_without_a_restart) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 2, 1);
  const std::string rules = dir.path() + "/sigma";
  std::filesystem::create_directories(rules);
  std::ofstream(rules + "/a.yml") << sigma_rule("it-rule-a", "alpha-marker");
  const std::uint16_t port = ct::free_port();
  const auto cfg = dir.write("countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                                                     "sigma:\n  rules_dir: \"" + rules + "\"\n  reload_interval: 1s\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(wait_metric(port, "countersign_sigma_rules", 1, 30s)) << service.stderr_text();
  const double initial_rules = ct::metric_value(metrics_text(port), "countersign_sigma_rules").value_or(0);

  kafka.produce(t.input, "h1", process_event("host-1", "run alpha-marker"));
  kafka.produce(t.input, "h2", process_event("host-2", "run beta-marker"));  // no rule yet
  kafka.flush();
  auto alerts = kafka.read_all(t.alerts, 1, 30s);
  EXPECT_EQ(sigma_ids(alerts), (std::set<std::string>{"it-rule-a@host-1"}));
  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();

  // A new rule file: picked up within the reload interval.
  std::ofstream(rules + "/b.yml") << sigma_rule("it-rule-b", "beta-marker");
  ASSERT_TRUE(wait_metric(port, "countersign_sigma_rules", initial_rules + 1, 20s)) << service.stderr_text();
  // A rule file broken while running: an error, its rule stays in use.
  std::ofstream(rules + "/a.yml") << "title: [broken\n";
  ASSERT_TRUE(wait_metric(port, "countersign_sigma_load_errors_total", 1, 20s)) << service.stderr_text();
  EXPECT_EQ(ct::metric_value(metrics_text(port), "countersign_sigma_rules"), initial_rules + 1);

  kafka.produce(t.input, "h3", process_event("host-3", "run beta-marker"));
  kafka.produce(t.input, "h4", process_event("host-4", "run alpha-marker"));
  kafka.flush();
  alerts = kafka.read_all(t.alerts, 3, 30s);
  EXPECT_EQ(sigma_ids(alerts),
            (std::set<std::string>{"it-rule-a@host-1", "it-rule-b@host-3", "it-rule-a@host-4"}));
  for (const auto& r : alerts) EXPECT_EQ(summarize(r.value).host, r.key);
  ASSERT_TRUE(wait_metric(port, "countersign_sigma_alerts_total", 3, 10s));
  const auto metrics = metrics_text(port);
  EXPECT_EQ(ct::metric_value(metrics, "countersign_sigma_events_total"), 4.0) << metrics;
  EXPECT_EQ(ct::metric_value(metrics, "countersign_sigma_matches_total"), 3.0) << metrics;
  EXPECT_NE(service.stderr_text().find("a.yml"), std::string::npos) << "the broken file is logged";

  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
}

namespace {

// A base rule by name and an event_count correlation over it, per host (no generate:
// the base rule's own alerts are held back).
std::string correlation_rules() {
  return R"yaml(title: correlation base
id: 5d0c4d8e-1111-4000-8000-000000000001
name: it_corr_base
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: 'corr-marker'
  condition: sel
level: low
---
title: corr-marker burst
id: 5d0c4d8e-1111-4000-8000-0000000000c1
correlation:
  type: event_count
  rules: [it_corr_base]
  group-by: [host.name]
  timespan: 10m
  condition: {gte: 3}
level: high
)yaml";
}

std::string timed_event(const std::string& host, int minute, const std::string& command_line) {
  char ts[32];
  std::snprintf(ts, sizeof ts, "2026-11-20T10:%02d:00Z", minute);
  return std::string(R"({"@timestamp":")") + ts + R"(","event":{"category":["process"],"type":["start"]},"host":{"id":")" +
         host + R"(","name":")" + host + R"("},"process":{"executable":"C:\\Tools\\run.exe","command_line":")" +
         command_line + R"("}})";
}

}  // namespace

// Sigma correlations on the broker: each host's events are spread over the four input
// partitions, two instances share the work, and every host with three matches within ten
// minutes gets exactly one correlation alert; the one with two gets none. The matches
// of a host meet because they are routed by (correlation, host) through the
// observations topic; `countersign replay` raises the same ids.
TEST(kafka_run, a_correlation_fires_across_partitions_and_instances) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 4, 1);
  const std::string rules = dir.path() + "/sigma";
  std::filesystem::create_directories(rules);
  std::ofstream(rules + "/corr.yml") << correlation_rules();
  const auto config_of = [&](const std::string& name, std::uint16_t port) {
    // A client.id per instance: the group's members are told apart by it.
    std::string base = ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port);
    const std::string id_line = "  client_id: countersign-it\n";
    base.replace(base.find(id_line), id_line.size(), "  client_id: countersign-it-corr-" + name + "\n");
    return dir.write(name + ".yaml", base +
                                         "topology:\n  partitions: 4\n  flush_interval: 200ms\n"
                                         "state:\n  dir: \"" + dir.path() + "/state-" + name + "\"\n"
                                         "sigma:\n  builtin: []\n  rules_dir: \"" + rules + "\"\n"
                                         // Input partitions interleave: matches of a group arrive up
                                         // to the fixture's span out of order.
                                         "  correlations:\n    allowed_lateness: 1h\n");
  };
  const std::uint16_t port_a = ct::free_port(), port_b = ct::free_port();
  const auto cfg_a = config_of("a", port_a), cfg_b = config_of("b", port_b);
  ct::countersign_process a({"run", "--config", cfg_a}, dir.path());
  ct::countersign_process b({"run", "--config", cfg_b}, dir.path());
  // Both instances own partitions before any input arrives, so the split is what processes it.
  // (With several processing threads an instance's clients are named -corr-a, -corr-a-1, ...)
  const auto both_assigned = [&] {
    std::set<char> owners;
    const std::string prefix = "countersign-it-corr-";
    for (const auto& [client, parts] : kafka.group_assignment(t.group)) {
      const auto at = client.find(prefix);
      if (!parts.empty() && at != std::string::npos && at + prefix.size() < client.size()) {
        owners.insert(client[at + prefix.size()]);
      }
    }
    return owners.size() == 2;
  };
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!both_assigned() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(both_assigned()) << a.stderr_text() << b.stderr_text();

  std::vector<std::string> events;
  for (int h = 0; h < 6; ++h) {
    const int matches = h == 5 ? 2 : 3;  // host-5: a near miss
    for (int i = 0; i < matches; ++i) {
      events.push_back(timed_event("host-" + std::to_string(h), h + i * 2, "run corr-marker"));
      // Each match of a host on another input partition.
      kafka.produce(t.input, "k", events.back(), (h + i) % 4);
    }
  }
  kafka.flush();
  const std::string file = dir.write("events.ndjson", [&] {
    std::string text;
    for (const auto& e : events) text += e + "\n";
    return text;
  }());
  ASSERT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 120s,
                                            [&] { return a.running() && b.running(); }))
      << a.stderr_text() << b.stderr_text();
  const auto alerts = kafka.read_all(t.alerts, 5, 30s);
  std::set<std::string> ids;
  std::set<std::string> hosts;
  for (const auto& r : alerts) {
    const auto s = summarize(r.value);
    EXPECT_EQ(s.detectors, "5d0c4d8e-1111-4000-8000-0000000000c1") << r.value;
    ids.insert(s.id);
    hosts.insert(s.host);
    EXPECT_EQ(r.key, s.host);
  }
  EXPECT_EQ(alerts.size(), 5U);
  EXPECT_EQ(hosts, (std::set<std::string>{"host-0", "host-1", "host-2", "host-3", "host-4"}));
  double raised = 0;
  for (const auto port : {port_a, port_b}) {
    raised += ct::metric_value(metrics_text(port), "countersign_correlation_alerts_total").value_or(0);
  }
  EXPECT_LE(raised, 5.0);
  a.terminate();
  b.terminate();
  EXPECT_EQ(a.wait(60s), 0) << a.stderr_text();
  EXPECT_EQ(b.wait(60s), 0) << b.stderr_text();

  const auto replay = ct::run_countersign({"replay", "--config", cfg_a, file}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::set<std::string> replay_ids;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) replay_ids.insert(summarize(line).id);
  EXPECT_EQ(replay_ids, ids);
}

// Correlation windows move with their observations partition: one instance sees the first
// two matches of each host and stops; another, with an empty state directory, restores
// the windows from the changelog and the third match of each host completes them.
TEST(kafka_run, correlation_windows_are_restored_from_the_changelog_by_the_next_owner) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 2, 1);
  const std::string rules = dir.path() + "/sigma";
  std::filesystem::create_directories(rules);
  std::ofstream(rules + "/corr.yml") << correlation_rules();
  const auto config_of = [&](const std::string& name, std::uint16_t port) {
    return dir.write(name + ".yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                                         "topology:\n  partitions: 4\n  flush_interval: 200ms\n"
                                         "state:\n  dir: \"" + dir.path() + "/state-" + name + "\"\n"
                                         "sigma:\n  builtin: []\n  rules_dir: \"" + rules + "\"\n"
                                         "  correlations:\n    allowed_lateness: 1h\n");
  };
  std::vector<std::string> events;
  const auto send = [&](int i) {
    for (int h = 0; h < 5; ++h) {
      events.push_back(timed_event("host-" + std::to_string(h), h + i * 2, "run corr-marker"));
      kafka.produce(t.input, "k", events.back(), (h + i) % 2);
    }
    kafka.flush();
  };
  {
    const std::uint16_t port = ct::free_port();
    ct::countersign_process first({"run", "--config", config_of("first", port)}, dir.path());
    // Every processing thread has its partitions before the matches come: a rebalance
    // after them would move the windows out of memory (they stay in the state store).
    ASSERT_TRUE(wait_ready(port, 60s)) << first.stderr_text();
    send(0);
    send(1);
    ASSERT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 120s, [&] { return first.running(); }))
        << first.stderr_text();
    EXPECT_TRUE(wait_metric(port, "countersign_correlation_windows_open", 5, 10s)) << metrics_text(port);
    first.terminate();
    ASSERT_EQ(first.wait(60s), 0) << first.stderr_text();
  }
  EXPECT_TRUE(kafka.read_all(t.alerts, 0, 2s).empty()) << "two matches per host: nothing yet";

  const std::uint16_t port = ct::free_port();
  ct::countersign_process second({"run", "--config", config_of("second", port)}, dir.path());
  send(2);
  ASSERT_TRUE(kafka.wait_topology_caught_up(t.group, t.input, t.group, 120s, [&] { return second.running(); }))
      << second.stderr_text();
  const auto alerts = kafka.read_all(t.alerts, 5, 30s);
  std::set<std::string> hosts, ids;
  for (const auto& r : alerts) {
    const auto s = summarize(r.value);
    EXPECT_EQ(s.detectors, "5d0c4d8e-1111-4000-8000-0000000000c1") << r.value;
    hosts.insert(s.host);
    ids.insert(s.id);
  }
  EXPECT_EQ(alerts.size(), 5U);
  EXPECT_EQ(hosts, (std::set<std::string>{"host-0", "host-1", "host-2", "host-3", "host-4"}));
  EXPECT_GT(ct::metric_value(metrics_text(port), "countersign_state_restored_records_total").value_or(0), 0.0);
  second.terminate();
  EXPECT_EQ(second.wait(60s), 0) << second.stderr_text();

  const std::string file = dir.write("events.ndjson", [&] {
    std::string text;
    for (const auto& e : events) text += e + "\n";
    return text;
  }());
  const auto replay = ct::run_countersign({"replay", "--config", config_of("replay", ct::free_port()), file}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::set<std::string> replay_ids;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) replay_ids.insert(summarize(line).id);
  EXPECT_EQ(replay_ids, ids);
}

// docs/metrics.md is the catalog: every metric it lists is exposed by a running instance
// (with state and an abuse list, so every part is on), and the counters of the event
// flow move when events arrive.
TEST(kafka_run, every_documented_metric_is_exposed_and_the_flow_counters_move) {
  std::vector<std::string> documented;
  for (const auto& line : ct::read_lines(std::string(COUNTERSIGN_TEST_DATA) + "/../../docs/metrics.md")) {
    if (line.rfind("| `countersign_", 0) != 0) continue;
    const auto end = line.find('`', 3);
    documented.push_back(line.substr(3, end - 3));
  }
  ASSERT_GE(documented.size(), 30u) << "the catalog table was not found";

  ct::temp_dir dir;
  ct::kafka_client kafka;
  ct::service_topics t(kafka, "run", 2, 1);
  const std::uint16_t port = ct::free_port();
  const std::string list = dir.write("cscb.csv", "# abuse.ch (test)\n\"2026-01-01 00:00:00\",\"7a1c\",\"\",\"SHA256\",\"Test\"\n");
  const auto cfg = dir.write(
      "countersign.yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port) +
                              "  abused_certificate:\n    lists: [{path: \"" + list + "\", format: abusech-csv}]\n" +
                              "state:\n  dir: \"" + dir.path() + "/state\"\nlearning:\n  min_history: 0s\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(wait_metric(port, "countersign_global_table_caught_up", 1, 60s)) << service.stderr_text();
  const std::string before = metrics_text(port);
  const auto lines = ct::read_lines(k_fixture);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(t.input, "event-" + std::to_string(i), lines[i]);
  kafka.produce(t.input, "poison", "{not json");
  kafka.flush();
  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
  ASSERT_TRUE(kafka.wait_caught_up(t.group, t.group + ".observations")) << service.stderr_text();
  ASSERT_TRUE(wait_metric(port, "countersign_alerts_total", 8, 15s)) << metrics_text(port);
  ASSERT_TRUE(wait_metric(port, "countersign_events_processed_total", 16, 15s)) << metrics_text(port);
  // Produced counts delivery reports, which can trail the alerts counter by a publish.
  ASSERT_TRUE(wait_metric(port, "countersign_messages_produced_total{topic=\"" + t.alerts + "\"}", 8, 15s))
      << metrics_text(port);
  // Consumer lag comes from librdkafka statistics (every 500 ms in tests).
  ASSERT_TRUE(wait_metric(port, "countersign_consumer_lag{partition=\"0\",topic=\"" + t.input + "\"}", 0, 15s))
      << metrics_text(port);
  const std::string after = metrics_text(port);
  // Labelled families have series once something was counted under a label.
  for (const auto& name : documented) {
    const bool present = after.find("\n" + name + " ") != std::string::npos ||
                         after.find("\n" + name + "{") != std::string::npos ||
                         after.find("\n" + name + "_bucket{") != std::string::npos;
    EXPECT_TRUE(present) << name << " is documented but not exposed";
  }
  const auto grew = [&](const std::string& series) {
    const double was = ct::metric_value(before, series).value_or(0);
    const auto now = ct::metric_value(after, series);
    EXPECT_TRUE(now.has_value()) << series;
    EXPECT_GT(now.value_or(0), was) << series << " did not move";
  };
  grew("countersign_events_consumed_total{topic=\"" + t.input + "\"}");
  grew("countersign_events_consumed_total{topic=\"" + t.group + ".observations\"}");
  grew("countersign_events_processed_total");
  grew("countersign_events_parsed_total{schema=\"ecs\"}");
  grew("countersign_observations_total");
  grew("countersign_observations_forwarded_total");
  grew("countersign_observations_repeated_total");
  grew("countersign_input_rejected_total{reason=\"invalid_json\"}");
  grew("countersign_alerts_total");
  grew("countersign_detections_total{detector=\"cs.signature.revoked\"}");
  grew("countersign_messages_produced_total{topic=\"" + t.alerts + "\"}");
  grew("countersign_messages_produced_total{topic=\"" + t.group + ".hash-state-changelog\"}");
  grew("countersign_state_updates_total");
  grew("countersign_state_reads_total");
  grew("countersign_stage_duration_seconds_count{stage=\"ingest\"}");
  grew("countersign_stage_duration_seconds_count{stage=\"hash\"}");
  grew("countersign_event_time_lag_seconds");
  EXPECT_EQ(ct::metric_value(after, "countersign_intel_records"), 1.0);
  EXPECT_EQ(ct::metric_value(after, "countersign_learning"), 0.0);
  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
}
