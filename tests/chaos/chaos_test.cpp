// The chaos suite (scripts/chaos.sh; label `chaos`): faults an operator meets, each run
// against a real broker of its own (ctest fixture `kafka_chaos`, which these tests kill,
// hang and restart) and two countersign instances with state, while input streams in.
// Every scenario ends the same way: the group catches up, and the alerts topic must hold
// every alert id replay raises over the same input and no other, every hostile message
// must be dead-lettered and no real event, and every consumed topic must be committed
// to its end (chaos_check.hpp). Duplicates are counted, not failed: after kill -9 the
// delivery is at-least-once by design (docs/design.md section 5).
//
// COUNTERSIGN_CHAOS_ROUNDS scales the faults per scenario (default 2: the short run CI
// does; scripts/chaos.sh --full uses 10). Results go to stdout as one `chaos:` line per
// scenario, which scripts/chaos.sh collects into a table.

#include "chaos_check.hpp"
#include "harness.hpp"
#include "small_filesystem.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ct = countersign::testing;
namespace chaos = countersign::chaos;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string k_fixture = std::string(COUNTERSIGN_TEST_DATA) + "/ecs/process_events.ndjson";

int rounds() {
  const char* v = std::getenv("COUNTERSIGN_CHAOS_ROUNDS");
  const int n = v ? std::atoi(v) : 2;
  return n > 0 ? n : 2;
}

// scripts/kafka.sh on this suite's broker: kill, restart, pause, resume.
void broker(const std::string& command) {
  const std::string cmd = "COUNTERSIGN_KAFKA_DIR='" + std::string(COUNTERSIGN_TEST_KAFKA_DIR) + "' '" +
                          std::string(COUNTERSIGN_SOURCE_DIR) + "/scripts/kafka.sh' " + command + " >/dev/null";
  const int rc = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0) << "scripts/kafka.sh " << command;
}

// Copies of the fixture with host ids made unique per copy, so every copy alerts. The
// in-window repeat of the fixture (line 13) is left out: its suppression depends on
// which instance sees it first.
std::vector<std::string> fleet(int copies) { return ct::host_copies(ct::read_lines(k_fixture), 0, copies, "-c", 12); }

// Hostile input, each message unique so its dead letter can be told apart.
std::string hostile(std::size_t i) {
  const std::string m = std::to_string(i);
  switch (i % 5) {
    case 0: return R"({"@timestamp": "2026-11-20T10:00:00Z", "host": {"id": "h)" + m;  // cut off
    case 1: return R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":)" + m + R"(},"process":{"code_signature":{"exists":true}}})";
    case 2: return "[1,2,\"" + m + "\"]";
    case 3: return R"({"foo":"bar","n":")" + m + "\"}";
    default: return R"({"@timestamp":"yesterday )" + m + R"(","host":{"id":"h"}})";
  }
}

// One countersign instance with its own state dir and metrics port, restartable.
class instance {
 public:
  // `state_dir` empty: one in `dir`. `state_extra`: more settings of the state section.
  instance(const ct::temp_dir& dir, const ct::service_topics& t, const std::string& name,
           const std::string& state_dir = "", const std::string& state_extra = "")
      : dir_(dir), name_(name) {
    port_ = ct::free_port();
    config_ = dir.write(name + ".yaml", ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port_) +
                                            "state:\n  dir: " +
                                            (state_dir.empty() ? dir.path() + "/" + name + "-state" : state_dir) +
                                            "\n" + state_extra +
                                            "input:\n  unknown_shapes_by_topic: {" + t.input + ": reject}\n");
    start();
  }
  void start() {
    // Each start logs into a directory of its own, so a crash's log survives the restart.
    const std::string logs = dir_.path() + "/" + name_ + "-" + std::to_string(starts_++);
    std::filesystem::create_directories(logs);
    process_ = std::make_unique<ct::countersign_process>(std::vector<std::string>{"run", "--config", config_}, logs);
  }
  void kill_and_restart() {
    sample_peak();
    process_->kill();
    (void)process_->wait(30s);
    start();
  }
  ct::countersign_process& process() { return *process_; }
  // The highest peak RSS of any start so far; call before the process ends.
  void sample_peak() { peak_kib_ = std::max(peak_kib_, process_->peak_rss_kib().value_or(0)); }
  [[nodiscard]] std::uint64_t peak_rss_kib() const { return peak_kib_; }
  [[nodiscard]] const std::string& config() const { return config_; }
  [[nodiscard]] int starts() const { return starts_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  const ct::temp_dir& dir_;
  std::string name_;
  std::string config_;
  std::uint16_t port_ = 0;
  int starts_ = 0;
  std::uint64_t peak_kib_ = 0;
  std::unique_ptr<ct::countersign_process> process_;
};

enum class fault { instance_kill, broker_kill, broker_hang, disk_full, none };

const char* name_of(fault f) {
  switch (f) {
    case fault::instance_kill: return "instances_killed_in_a_loop";
    case fault::broker_kill: return "broker_killed_and_restarted";
    case fault::broker_hang: return "broker_hung";
    case fault::disk_full: return "state_disk_full";
    case fault::none: return "hostile_flood";
  }
  return "?";
}

// Streams the fleet and hostile input while `f` strikes `rounds()` times, then checks.
void run_scenario(fault f) {
  // disk_full: instance a keeps its state on a small filesystem, filled for 15 s per
  // round to below its state.min_free_bytes.
  std::optional<countersign::test_support::small_filesystem> small;
  if (f == fault::disk_full) {
    small.emplace(128ULL << 20);
    if (!small->mounted()) GTEST_SKIP() << small->why_not();
  }
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const ct::service_topics t(kafka, "chaos");
  const auto events = fleet(f == fault::none ? 100 : 300);
  const std::size_t hostile_count = f == fault::none ? 2000 : 200;
  std::vector<std::string> all_hostile;
  for (std::size_t i = 0; i < hostile_count; ++i) all_hostile.push_back(hostile(i));

  std::string fleet_text;
  for (const auto& e : events) fleet_text += e + "\n";
  const std::string fleet_file = dir.write("fleet.ndjson", fleet_text);

  instance a(dir, t, "a", small ? small->store_path() : "", small ? "  min_free_bytes: 16777216\n" : "");
  instance b(dir, t, "b");
  bool saw_not_ready = false;

  // The input, paced over the faults: events and hostile messages interleaved.
  const int n = rounds();
  const auto pace = std::chrono::milliseconds(f == fault::none ? 1 : 4);
  std::atomic<bool> produced{false};
  std::string producer_error;
  std::thread producer([&] {
    try {
      std::size_t h = 0;
      for (std::size_t i = 0; i < events.size(); ++i) {
        kafka.produce(t.input, "e" + std::to_string(i), events[i]);
        if (i % 5 == 4 && h < all_hostile.size()) {
          kafka.produce(t.input, "h" + std::to_string(h), all_hostile[h]);
          ++h;
        }
        if (i % 100 == 99) std::this_thread::sleep_for(pace * 100);
      }
      for (; h < all_hostile.size(); ++h) kafka.produce(t.input, "h" + std::to_string(h), all_hostile[h]);
      // Long enough for the broker to come back from every fault of the run.
      kafka.flush(600s);
      produced = true;
    } catch (const std::exception& e) {
      producer_error = e.what();  // the instances are still stopped below
    }
  });

  const auto started = steady::now();
  std::mt19937 rng(7);
  int restarts = 0;
  for (int r = 0; r < n; ++r) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 1500));
    switch (f) {
      case fault::instance_kill: {
        instance& victim = rng() % 2 ? a : b;
        victim.kill_and_restart();
        ++restarts;
        break;
      }
      case fault::broker_kill:
        broker("kill");
        std::this_thread::sleep_for(5s);
        broker("restart");
        break;
      case fault::broker_hang:
        broker("pause");
        std::this_thread::sleep_for(10s);
        broker("resume");
        break;
      case fault::disk_full: {
        small->fill(4ULL << 20);
        const auto until = steady::now() + 15s;
        while (steady::now() < until) {
          if (ct::http_get(a.port(), "/readyz").first == 503) saw_not_ready = true;
          std::this_thread::sleep_for(250ms);
        }
        small->free_filler();
        break;
      }
      case fault::none:
        break;
    }
  }
  const auto last_fault = steady::now();
  producer.join();
  EXPECT_TRUE(produced) << "the test's producer failed: " << producer_error;
  const bool caught_up = kafka.wait_topology_caught_up(t.group, t.input, t.group, 240s, [&] {
    return a.process().running() || b.process().running();
  });
  const double recover_s = std::chrono::duration<double>(steady::now() - last_fault).count();
  double write_errors = 0;
  if (f == fault::disk_full) {
    write_errors = ct::metric_value(ct::http_get(a.port(), "/metrics").second, "countersign_state_write_errors_total")
                       .value_or(0);
    EXPECT_TRUE(saw_not_ready) << "/readyz of the instance with a full state disk never said 503";
    EXPECT_GT(write_errors, 0) << "no refused state write was counted";
    EXPECT_EQ(ct::http_get(a.port(), "/readyz").first, 200) << "ready again once space returned";
  }
  a.sample_peak();
  b.sample_peak();
  a.process().terminate();
  b.process().terminate();
  EXPECT_EQ(a.process().wait(90s), 0) << a.process().stderr_text();
  EXPECT_EQ(b.process().wait(90s), 0) << b.process().stderr_text();
  ASSERT_TRUE(caught_up) << "the group did not catch up\n" << a.process().stderr_text() << b.process().stderr_text();

  // The oracle: replay of the same events (hostile messages raise nothing).
  const auto replay = ct::run_countersign({"replay", "--config", a.config(), "--state-dir", dir.path() + "/replay-state",
                                           fleet_file},
                                          dir.path());
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  chaos::outcome o;
  std::istringstream out(replay.out);
  for (std::string line; std::getline(out, line);) o.expected_ids.insert(ct::summarize_alert(line).id);
  ASSERT_FALSE(o.expected_ids.empty());

  for (const auto& r : kafka.read_all(t.alerts, o.expected_ids.size(), 60s)) {
    o.alert_ids.push_back(ct::summarize_alert(r.value).id);
  }
  o.hostile_sources.insert(all_hostile.begin(), all_hostile.end());
  for (const auto& r : kafka.read_all(t.dead_letter, hostile_count, 60s)) o.dead_letter_sources.push_back(r.value);
  const std::string internal = t.group;
  for (const auto& topic : {t.input, internal + ".observations", internal + ".signer-deltas"}) {
    if (!kafka.group_caught_up(t.group, topic)) o.uncommitted[topic] = 1;
  }
  const chaos::verdict v = chaos::judge(o);
  std::cout << "chaos: scenario=" << name_of(f) << " rounds=" << n << " events=" << events.size()
            << " hostile=" << hostile_count << " expected=" << o.expected_ids.size() << " received=" << v.received
            << " duplicated=" << v.duplicated << " missing=" << v.missing << " unexpected=" << v.unexpected
            << " dead_letters=" << o.dead_letter_sources.size() << " hostile_missing=" << v.hostile_missing
            << " real_dead_lettered=" << v.real_dead_lettered << " restarts=" << restarts
            << " state_write_errors=" << write_errors
            << " recover_s=" << static_cast<int>(recover_s)
            << " peak_rss_mib=" << std::max(a.peak_rss_kib(), b.peak_rss_kib()) / 1024
            << " total_s=" << static_cast<int>(std::chrono::duration<double>(steady::now() - started).count())
            << "\n";
  for (const auto& p : v.problems) ADD_FAILURE() << name_of(f) << ": " << p;
}

}  // namespace

TEST(chaos, the_checks_fail_when_an_alert_a_dead_letter_or_a_commit_is_missing) {
  chaos::outcome good;
  good.expected_ids = {"a1", "a2"};
  good.alert_ids = {"a1", "a2", "a2"};
  good.hostile_sources = {"x"};
  good.dead_letter_sources = {"x"};
  const auto ok = chaos::judge(good);
  EXPECT_TRUE(ok.problems.empty());
  EXPECT_EQ(ok.duplicated, 1U) << "duplicates are counted, not failed";

  auto lost_alert = good;
  lost_alert.alert_ids = {"a1"};
  EXPECT_EQ(chaos::judge(lost_alert).missing, 1U);
  EXPECT_FALSE(chaos::judge(lost_alert).problems.empty());

  auto extra_alert = good;
  extra_alert.alert_ids.push_back("zz");
  EXPECT_FALSE(chaos::judge(extra_alert).problems.empty());

  auto lost_dead_letter = good;
  lost_dead_letter.dead_letter_sources.clear();
  EXPECT_EQ(chaos::judge(lost_dead_letter).hostile_missing, 1U);
  EXPECT_FALSE(chaos::judge(lost_dead_letter).problems.empty());

  auto real_dead_lettered = good;
  real_dead_lettered.dead_letter_sources.push_back("a real event");
  EXPECT_FALSE(chaos::judge(real_dead_lettered).problems.empty());

  auto uncommitted = good;
  uncommitted.uncommitted["events"] = 3;
  EXPECT_FALSE(chaos::judge(uncommitted).problems.empty());
}

TEST(chaos, instances_killed_in_a_loop) { run_scenario(fault::instance_kill); }
TEST(chaos, broker_killed_and_restarted) { run_scenario(fault::broker_kill); }
TEST(chaos, broker_hung) { run_scenario(fault::broker_hang); }
TEST(chaos, state_disk_full) { run_scenario(fault::disk_full); }
TEST(chaos, hostile_flood) { run_scenario(fault::none); }
