// A simulated fleet (bench/fleet_sim) through a real broker and through `countersign
// replay`: both must raise exactly the same alerts, alert ids included.
//
// fleet_sim.py writes about 10k events of 300 hosts in every supported shape (ECS, OCSF,
// Defender split/joined/records[], Winlogbeat Sysmon and Code Integrity, flat Code
// Integrity), sorted by event time, with 28 attack scenarios on known hosts and a
// ground truth. The detector settings are bench/fleet_sim/sim_config.yaml's (internal
// PKI, developer exclusions, the abuse.ch list fleet_sim writes), so prevalence-based
// detectors take part: rare_signed_user_path, issuer.unusual and recently_issued judge
// each event by what the fleet has shown *before* it.
//
// That is why the order is pinned: the input topic and the internal topics
// (topology.partitions) have one partition each, and the events are produced in file
// order, so the one `countersign run` instance sees them in the order replay reads them.
// Either one alone is not enough: with 4 input partitions, or with one input partition
// but 4 observation partitions (which one instance interleaves as its fetches return),
// 4-8 of the cold-start rare_signed_user_path alerts on per-user updaters (the first
// hosts of a signer) land on other hosts than in replay; the attack scenarios do not
// move. A repeat of a (host, file, signer, status) fact within one suppression window is
// dropped by `run`'s ingest but judged (state untouched) by replay; it could only add a
// replay alert if its detections differed from the first one's (prevalence grew in
// between), which this fleet does not show.
// Code Integrity verdicts and their 3089 signatures are joined on wall time in `run` and
// on event time in replay; fleet_sim logs each pair one second apart (well inside the
// 5 s hold) and a pair completes on the arrival of its second half in both modes, so the
// clocks do not change which verdicts are joined.

#include "harness.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <utility>
#include <vector>

namespace ct = countersign::testing;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

const std::string k_source = COUNTERSIGN_SOURCE_DIR;

[[noreturn]] void fatal(const std::string& what) { throw std::runtime_error(what); }

std::string tail(const std::string& s, std::size_t n = 4000) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

std::string lower(std::string s) {
  for (auto& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

// Runs `command` with sh, stdout and stderr into `log`; returns its exit code.
int shell(const std::string& command, const std::string& log) {
  const int status = std::system((command + " >'" + log + "' 2>&1").c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// The parts of an alert this test compares and reports.
struct alert_facts {
  std::string id;
  std::string detectors;  // sorted, joined by '+'
  std::set<std::string> detector_ids;
  std::string host_id;
  std::string host_name;
  std::string sha256;
  std::string sha1;
  std::string executable;
  std::string time;
  std::string source_schema;
};

std::string text_of(simdjson::dom::element e, std::string_view field) {
  std::string_view v;
  if (e[field].get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

alert_facts parse_alert(const std::string& json) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(json);
  alert_facts a;
  a.id = text_of(doc, "id");
  a.time = text_of(doc, "time");
  for (auto d : doc["detections"].get_array()) a.detector_ids.insert(text_of(d, "id"));
  for (const auto& d : a.detector_ids) a.detectors += (a.detectors.empty() ? "" : "+") + d;
  if (simdjson::dom::element host; doc["host"].get(host) == simdjson::SUCCESS) {
    a.host_id = text_of(host, "id");
    a.host_name = text_of(host, "name");
  }
  if (simdjson::dom::element process; doc["process"].get(process) == simdjson::SUCCESS) {
    a.executable = text_of(process, "executable");
    if (simdjson::dom::element hash; process["hash"].get(hash) == simdjson::SUCCESS) {
      a.sha256 = text_of(hash, "sha256");
      a.sha1 = text_of(hash, "sha1");
    }
  }
  if (simdjson::dom::element source; doc["source"].get(source) == simdjson::SUCCESS) {
    a.source_schema = text_of(source, "schema");
  }
  return a;
}

std::string describe(const alert_facts& a) {
  return a.id + "  " + a.detectors + "  host " + a.host_id + " (" + a.host_name + ")  " + a.source_schema + "  " +
         a.time + "  " + (a.sha256.empty() ? (a.sha1.empty() ? a.executable : "sha1 " + a.sha1) : a.sha256);
}

struct scenario {
  std::string name;
  std::string host;
  std::string host_name;
  std::string sha256;
  std::string sha1;
  std::string executable;
  std::set<std::string> expected;
};

std::vector<scenario> load_scenarios(const std::string& path) {
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.load(path);
  std::vector<scenario> out;
  for (auto s : doc["scenarios"].get_array()) {
    scenario x;
    x.name = text_of(s, "name");
    x.host = lower(text_of(s, "host"));
    x.host_name = lower(text_of(s, "host_name"));
    x.sha256 = lower(text_of(s, "sha256"));
    x.sha1 = lower(text_of(s, "sha1"));
    x.executable = lower(text_of(s, "executable"));
    for (auto d : s["expected_detectors"].get_array()) x.expected.insert(std::string(std::string_view(d)));
    out.push_back(std::move(x));
  }
  return out;
}

// bench/fleet_sim/check.py's matching: same host (id, else name), same file (sha256, else
// sha1, else executable for Code Integrity 3033, which names the file only).
bool matches(const scenario& s, const alert_facts& a) {
  const bool host = (!a.host_id.empty() && lower(a.host_id) == s.host) ||
                    (!a.host_name.empty() && lower(a.host_name) == s.host_name);
  if (!host) return false;
  if (!a.sha256.empty()) return lower(a.sha256) == s.sha256;
  if (!a.sha1.empty()) return lower(a.sha1) == s.sha1;
  return !a.executable.empty() && lower(a.executable) == s.executable;
}

// "scenario-index name: detector" for every expected detector an alert of `alerts` raised
// on the scenario's host and file.
std::set<std::string> caught(const std::vector<scenario>& scenarios, const std::map<std::string, alert_facts>& alerts) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    for (const auto& [id, a] : alerts) {
      if (!matches(scenarios[i], a)) continue;
      for (const auto& d : a.detector_ids) {
        if (scenarios[i].expected.contains(d)) out.insert(std::to_string(i) + " " + scenarios[i].name + ": " + d);
      }
    }
  }
  return out;
}

// The instance's config: the harness's Kafka, metrics and processing settings, then
// bench/fleet_sim/sim_config.yaml with the state dir set and the abuse list (relative to
// the fleet directory there) made absolute, then one partition per internal topic.
std::string fleet_config(const std::string& input, const std::string& alerts, const std::string& dead_letter,
                         const std::string& group, std::uint16_t port, const std::string& state_dir,
                         const std::string& fleet_dir) {
  std::string cfg = ct::service_config(input, alerts, dead_letter, group, port);
  const auto detectors = cfg.find("\ndetectors:\n");
  if (detectors == std::string::npos) fatal("service_config changed: no detectors section");
  cfg.resize(detectors + 1);  // sim_config.yaml brings its own detector settings

  std::string sim = ct::read_file(k_source + "/bench/fleet_sim/sim_config.yaml");
  const auto replace = [&sim](const std::string& from, const std::string& to) {
    const auto at = sim.find(from);
    if (at == std::string::npos) fatal("bench/fleet_sim/sim_config.yaml changed: no \"" + from + "\"");
    sim.replace(at, from.size(), to);
  };
  replace("  dir: \"\"\n", "  dir: \"" + state_dir + "\"\n");
  replace("{path: intel/abusech.csv,", "{path: \"" + fleet_dir + "/intel/abusech.csv\",");
  if (sim.find("  min_history: 0s\n") == std::string::npos) {
    fatal("bench/fleet_sim/sim_config.yaml changed: learning.min_history is no longer 0s");
  }
  return cfg + sim + "topology:\n  partitions: 1\n";
}

}  // namespace

TEST(simulated_fleet, kafka_and_replay_raise_the_same_alert_ids) {
  const auto started = steady::now();
  const auto elapsed = [&started] {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started).count()) + " ms";
  };
  ct::temp_dir dir;
  const std::string fleet = dir.path() + "/fleet";
  const std::string events = fleet + "/events.ndjson";

  // 1. The fleet: 300 hosts, one day, every schema, fixed seed (byte-identical output).
  const std::string gen_log = dir.path() + "/fleet_sim.log";
  const int gen = shell("python3 '" + k_source + "/bench/fleet_sim/fleet_sim.py' --hosts 300 --days 1 "
                        "--events-per-host-day 30 --seed 7 --schemas ecs,ocsf,defender,winlogbeat,codeintegrity "
                        "--out '" + fleet + "'",
                        gen_log);
  ASSERT_EQ(gen, 0) << "fleet_sim.py failed:\n" << ct::read_file(gen_log);
  const auto lines = ct::read_lines(events);
  ASSERT_GT(lines.size(), 5000u) << ct::read_file(gen_log);
  const auto scenarios = load_scenarios(fleet + "/ground_truth.json");
  ASSERT_FALSE(scenarios.empty());
  std::cout << "fleet: " << lines.size() << " events, " << scenarios.size() << " host-scenarios (" << elapsed()
            << ")\n";

  ct::kafka_client kafka;
  const std::string input = ct::unique_name("fleet-events");
  const std::string alerts_topic = ct::unique_name("fleet-alerts");
  const std::string dead_letter = ct::unique_name("fleet-dead-letter");
  const std::string group = ct::unique_name("fleet");  // also the internal topics' prefix
  kafka.create_topic(input, 1);
  kafka.create_topic(alerts_topic, 1);
  kafka.create_topic(dead_letter, 1);
  const auto cfg = dir.write("fleet.yaml", fleet_config(input, alerts_topic, dead_letter, group, ct::free_port(),
                                                        dir.path() + "/run-state", fleet));

  // 2. The oracle: replay with a fresh state directory.
  const auto replay = ct::run_countersign(
      {"replay", "--config", cfg, "--state-dir", dir.path() + "/replay-state", events}, dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::map<std::string, alert_facts> by_replay;
  std::size_t replay_lines = 0;
  {
    std::istringstream out(replay.out);
    for (std::string line; std::getline(out, line);) {
      if (line.empty()) continue;
      ++replay_lines;
      auto a = parse_alert(line);
      by_replay.emplace(a.id, std::move(a));
    }
  }
  std::cout << "replay: " << tail(replay.err, 400) << "(" << elapsed() << ")\n";
  EXPECT_EQ(replay_lines, by_replay.size()) << "replay raised an alert id twice";

  // 3. The service: every event in file order onto the one input partition, then one
  // instance with an empty state directory until the group has committed the ends of
  // the input, the observations and the signer deltas (each stage commits its input only
  // after its outputs are acknowledged, so then every alert is on the alerts topic).
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(input, "event-" + std::to_string(i), lines[i], 0);
  kafka.flush();
  std::cout << "produced " << lines.size() << " events (" << elapsed() << ")\n";

  ct::countersign_process service({"run", "--config", cfg}, dir.path());
  const bool caught_up =
      kafka.wait_topology_caught_up(group, input, group, 90s, [&] { return service.running(); });
  ASSERT_TRUE(caught_up) << "the instance did not catch up within 90 s\n" << tail(service.stderr_text());
  std::cout << "caught up (" << elapsed() << ")\n";
  service.terminate();
  ASSERT_EQ(service.wait(60s), 0) << tail(service.stderr_text());

  std::map<std::string, alert_facts> by_kafka;
  const auto records = kafka.read_all(alerts_topic, by_replay.size(), 20s);
  for (const auto& r : records) {
    auto a = parse_alert(r.value);
    EXPECT_EQ(r.key, a.host_id) << "alerts are keyed by host id";
    by_kafka.emplace(a.id, std::move(a));
  }
  EXPECT_EQ(records.size(), by_kafka.size()) << "an alert was published twice (a graceful run is exactly-once)";
  const auto dead = kafka.read_all(dead_letter, 0, 10s);
  EXPECT_TRUE(dead.empty()) << dead.size() << " events were dead-lettered, e.g. reason "
                            << (dead.empty() ? "" : dead.front().headers.at("countersign.reason"));

  // 4. The comparison.
  std::cout << "alerts: replay " << by_replay.size() << ", kafka " << by_kafka.size() << " (" << elapsed() << ")\n";
  std::vector<std::string> only_replay, only_kafka;
  for (const auto& [id, a] : by_replay) {
    if (!by_kafka.contains(id)) only_replay.push_back(describe(a));
  }
  for (const auto& [id, a] : by_kafka) {
    if (!by_replay.contains(id)) only_kafka.push_back(describe(a));
  }
  const auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += "\n    " + s;
    return out;
  };
  EXPECT_TRUE(only_replay.empty()) << only_replay.size() << " alerts only in replay:" << list(only_replay);
  EXPECT_TRUE(only_kafka.empty()) << only_kafka.size() << " alerts only via Kafka:" << list(only_kafka);

  // The alerts are the simulated fleet's: most scenarios caught, few benign alerts.
  const auto replay_caught = caught(scenarios, by_replay);
  const auto kafka_caught = caught(scenarios, by_kafka);
  std::set<std::size_t> scenarios_hit;
  for (const auto& c : replay_caught) scenarios_hit.insert(std::stoul(c.substr(0, c.find(' '))));
  std::cout << "scenario detections caught: replay " << replay_caught.size() << ", kafka " << kafka_caught.size()
            << "; scenarios caught by replay " << scenarios_hit.size() << " of " << scenarios.size() << "\n";
  std::vector<std::string> missed_via_kafka;
  std::set_difference(replay_caught.begin(), replay_caught.end(), kafka_caught.begin(), kafka_caught.end(),
                      std::back_inserter(missed_via_kafka));
  EXPECT_TRUE(missed_via_kafka.empty()) << "caught by replay, missed via Kafka:" << list(missed_via_kafka);
  EXPECT_GE(scenarios_hit.size() * 4, scenarios.size() * 3)
      << "replay caught only " << scenarios_hit.size() << " of " << scenarios.size()
      << " scenarios: is sim_config.yaml applied?";
  EXPECT_FALSE(by_replay.empty());
  // Few benign alerts: the alerts on hosts no scenario ran on. (All alerts together are
  // no measure since every evasion is played in every shape: 62 host-scenarios on 300
  // hosts.)
  std::set<std::string> scenario_hosts;
  for (const auto& sc : scenarios) {
    scenario_hosts.insert(sc.host);
    scenario_hosts.insert(sc.host_name);
  }
  const auto benign = std::count_if(by_replay.begin(), by_replay.end(), [&](const auto& kv) {
    return !scenario_hosts.contains(kv.second.host_id) && !scenario_hosts.contains(kv.second.host_name);
  });
  std::cout << "alerts on hosts without a scenario: " << benign << "\n";
  EXPECT_LE(static_cast<std::size_t>(benign), lines.size() / 200) << "more than one benign alert per 200 events";
  EXPECT_TRUE(std::any_of(by_replay.begin(), by_replay.end(),
                          [](const auto& kv) { return kv.second.detector_ids.contains("cs.intel.abused_certificate"); }))
      << "no abused-certificate alert: the abuse list " << fleet << "/intel/abusech.csv was not loaded";
}
