// Every input profile on one topic through a real broker, mixed with poison messages:
// the alerts are exactly the union of each profile's expected alerts, every poison
// message is in the dead-letter topic with its reason and source headers, and replay of
// the same messages agrees with the Kafka run.

#include "harness.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace ct = countersign::testing;
using namespace std::chrono_literals;

namespace {

const std::string k_data = COUNTERSIGN_TEST_DATA;

// Fixture files that alert, with their expected alerts (detectors TAB host per line).
struct profile_fixture {
  std::string events;
  std::string expected;
  // Code Integrity events meet in the join only within one partition (docs/topology.md,
  // "Limits": key them by host); these files go to partition 1 whole, as a topic keyed by
  // host would place the few hosts they have. The others spread over every partition.
  bool keyed_by_host = false;
};
const std::vector<profile_fixture> k_fixtures = {
    {"ecs/process_events.ndjson", "ecs/expected_alerts.tsv"},
    {"ocsf/process_activity.ndjson", "ocsf/expected_alerts.tsv"},
    {"defender/rows.ndjson", "defender/expected_alerts.tsv"},
    {"codeintegrity/join_sequence.ndjson", "codeintegrity/expected_alerts.tsv", true},
    // One set of Windows records as flat NXLog/Logstash JSON and as evtx JSON on the same
    // topic: the Code Integrity block alerts once (the same alert id from both shapes).
    {"windows/flat.ndjson", "windows/expected_alerts.tsv", true},
    {"windows/evtx.ndjson", "windows/expected_alerts_none.tsv", true},
};

std::string summarize(const std::string& json, std::string* id = nullptr) {
  static simdjson::dom::parser parser;  // one for the test: a parser per call trips -Wnull-dereference
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << "alert is not JSON: " << json;
    return {};
  }
  std::vector<std::string> ids;
  for (auto d : doc["detections"].get_array()) ids.emplace_back(std::string_view(d["id"]));
  std::sort(ids.begin(), ids.end());
  std::string s;
  for (const auto& i : ids) s += (s.empty() ? "" : "+") + i;
  if (id) *id = std::string(std::string_view(doc["id"]));
  // host.id, or host.name for the Windows shapes that carry only a computer name.
  std::string_view host;
  if (doc["host"]["id"].get_string().get(host) != simdjson::SUCCESS) host = std::string_view(doc["host"]["name"]);
  return s + "\t" + std::string(host);
}

}  // namespace

TEST(kafka_profiles, a_mix_of_every_profile_and_poison_gives_the_expected_alerts_and_dead_letters) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const std::string input = ct::unique_name("mixed"), alerts = ct::unique_name("alerts"),
                    dead = ct::unique_name("dead"), group = ct::unique_name("countersign");
  kafka.create_topic(input, 3);
  kafka.create_topic(alerts, 2);
  kafka.create_topic(dead, 1);

  std::vector<std::string> events;
  std::vector<bool> keyed_by_host;
  std::multiset<std::string> expected;
  for (const auto& f : k_fixtures) {
    for (const auto& l : ct::read_lines(k_data + "/" + f.events)) {
      if (!l.empty()) {
        events.push_back(l);
        keyed_by_host.push_back(f.keyed_by_host);
      }
    }
    for (const auto& l : ct::read_lines(k_data + "/" + f.expected)) {
      if (!l.empty() && l[0] != '#') expected.insert(l);
    }
  }
  ASSERT_GE(expected.size(), 12U);
  const std::vector<std::pair<std::string, std::string>> poison = {
      {"invalid_json", "{\"@timestamp\": \"2026-11-20T10:00:00Z\", \"host\": {"},
      {"invalid_json", std::string("{\"class_uid\":1007,\"device\":{\"uid\":\"\xff\xfe\"}}")},
      {"not_an_object", "\"just a string\""},
      {"unknown_schema", "{\"message\":\"hello\",\"level\":\"info\"}"},
      {"wrong_type", "{\"class_uid\":1007,\"time\":{\"ms\":1},\"device\":{\"uid\":\"d\"}}"},
      {"missing_field", "{\"EventID\":3077,\"TimeCreated\":\"2026-11-20T10:00:00Z\",\"File Name\":\"x.dll\"}"},
      {"empty", ""},
  };
  // Poison goes to one partition between good events, so a stall there would show.
  std::size_t p = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    kafka.produce(input, "k" + std::to_string(i), events[i], keyed_by_host[i] ? 1 : static_cast<std::int32_t>(i % 3));
    if (i % 3 == 0 && p < poison.size()) {
      kafka.produce(input, "poison-" + std::to_string(p), poison[p].second, 0);
      ++p;
    }
  }
  for (; p < poison.size(); ++p) kafka.produce(input, "poison-" + std::to_string(p), poison[p].second, 0);
  kafka.flush();

  const std::uint16_t port = ct::free_port();
  // Strict input (input.unknown_shapes: reject): the unknown shape above is dead-lettered.
  const auto cfg = dir.write("c.yaml", ct::service_config(input, alerts, dead, group, port) +
                                           "input:\n  unknown_shapes: reject\n");
  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  ASSERT_TRUE(kafka.wait_caught_up(group, input)) << service.stderr_text();

  std::multiset<std::string> got;
  std::set<std::string> kafka_ids;
  for (const auto& r : kafka.read_all(alerts, expected.size(), 30s)) {
    std::string id;
    got.insert(summarize(r.value, &id));
    kafka_ids.insert(id);
  }
  EXPECT_EQ(got, expected);

  const auto dead_letters = kafka.read_all(dead, poison.size(), 30s);
  ASSERT_EQ(dead_letters.size(), poison.size());
  std::map<std::string, std::string> by_key;
  for (const auto& r : dead_letters) {
    EXPECT_EQ(r.headers.at("countersign.source.topic"), input);
    EXPECT_EQ(r.headers.at("countersign.source.partition"), "0");
    EXPECT_EQ(r.headers.at("countersign.stage"), "ingest");
    EXPECT_FALSE(r.headers.at("countersign.source.offset").empty());
    by_key[r.key] = r.headers.at("countersign.reason");
    const auto index = std::stoul(r.key.substr(std::string("poison-").size()));
    EXPECT_TRUE(r.value == poison.at(index).second) << "dead letter " << r.key << " changed";
  }
  for (std::size_t i = 0; i < poison.size(); ++i) {
    EXPECT_EQ(by_key["poison-" + std::to_string(i)], poison[i].first) << poison[i].second;
  }

  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();

  // Replay of the same good events: the same alert ids.
  std::string all;
  for (const auto& e : events) all += e + "\n";
  const auto replay = ct::run_countersign({"replay", "--config", cfg, dir.write("all.ndjson", all)}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::set<std::string> replay_ids;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) {
    std::string id;
    (void)summarize(line, &id);
    replay_ids.insert(id);
  }
  EXPECT_EQ(replay_ids, kafka_ids);
}
