// Sigma correlation rules on the stream (processor/src/engine/correlation_stage.cpp, the routing
// in sigma_stage.cpp and pipeline.cpp): `generate`, alerts through the Sigma alert path,
// matches routed by group to partitions (the same alerts with one stage or two), a
// restart from RocksDB and a restore from the changelog, replay equal to run, the shipped
// correlations on their fixture.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/correlation_stage.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/replay.hpp>
#include <countersign/state/changelog.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <string>
#include <vector>

namespace countersign::processor {
namespace correlation_stage_test {  // one per file: the test programs are unity builds
namespace {

using test_support::config_or_fail;
using test_support::k_data;

class temp_dir {
 public:
  temp_dir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("countersign-corr-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }
  [[nodiscard]] std::string path() const { return path_.string(); }
  [[nodiscard]] std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A base rule (by name) and an event_count correlation over it, per host.
std::string burst_rules(bool generate) {
  return R"yaml(title: marker command
id: 0b7d2c1e-0000-4000-8000-000000000001
name: marker_cmd
logsource: {category: process_creation, product: windows}
detection:
  sel:
    CommandLine|contains: 'marker'
  condition: sel
level: high
---
title: marker burst
id: 0b7d2c1e-0000-4000-8000-0000000000c1
correlation:
  type: event_count
  rules: [marker_cmd]
  group-by: [host.name]
  timespan: 10m
  condition: {gte: 3}
)yaml" + std::string(generate ? "  generate: true\n" : "") +
         "level: high\ntags: [attack.t1059]\n";
}

std::string event(const std::string& host, int minute, const std::string& cmd, int second = 0) {
  char ts[64];
  std::snprintf(ts, sizeof ts, "2026-11-20T10:%02d:%02d.000Z", minute, second);
  return std::string(R"({"@timestamp":")") + ts + R"(","host":{"name":")" + host +
         R"("},"process":{"executable":"C:\\x.exe","command_line":")" + cmd +
         R"("},"event":{"category":["process"],"type":["start"]}})";
}

std::set<std::string> detection_ids(const std::string& alert_json) {
  simdjson::dom::parser p;
  std::set<std::string> out;
  for (auto d : p.parse(alert_json)["detections"].get_array()) out.insert(std::string(d["id"].get_string().value()));
  return out;
}

std::string alert_id(const std::string& alert_json) {
  simdjson::dom::parser p;
  return std::string(p.parse(alert_json)["id"].get_string().value());
}

config rules_config(const temp_dir& rules, const std::string& extra = "") {
  return config_or_fail("sigma:\n  builtin: []\n  reload_interval: 0s\n  rules_dir: " + rules.path() + "\n" + extra);
}

TEST(correlation_pipeline, a_burst_raises_one_correlation_alert_and_the_referenced_rule_is_held_back) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  pipeline p(rules_config(rules));
  std::vector<std::string> alerts;
  for (int i = 0; i < 5; ++i) {
    (void)p.process(event("WS-1", i, "run marker"), {"t", 0, i}, std::nullopt);
    for (const auto& a : p.sigma_alerts()) alerts.push_back(a.json);
  }
  ASSERT_EQ(alerts.size(), 1U) << "base alerts withheld; one alert per burst";
  EXPECT_EQ(detection_ids(alerts[0]), std::set<std::string>{"0b7d2c1e-0000-4000-8000-0000000000c1"});
  EXPECT_THAT(alerts[0], ::testing::HasSubstr("\"name\":\"WS-1\"")) << "the group's host is the alert's host";
  const auto s = p.stats();
  EXPECT_EQ(s.sigma.withheld, 5U);
  EXPECT_EQ(s.sigma.correlations, 1U);
  EXPECT_EQ(s.sigma.correlation_routed, 5U);
  EXPECT_EQ(s.correlation.alerts, 1U);
  EXPECT_EQ(s.correlation.evaluator.matches, 5U);
}

TEST(correlation_pipeline, with_generate_true_the_referenced_rule_alerts_as_well) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(true));
  pipeline p(rules_config(rules));
  std::size_t base = 0, correlated = 0;
  for (int i = 0; i < 3; ++i) {
    (void)p.process(event("WS-1", i, "run marker"), {"t", 0, i}, std::nullopt);
    for (const auto& a : p.sigma_alerts()) {
      if (detection_ids(a.json).contains("0b7d2c1e-0000-4000-8000-000000000001")) ++base;
      else ++correlated;
    }
  }
  EXPECT_EQ(base, 3U);
  EXPECT_EQ(correlated, 1U);
  EXPECT_EQ(p.stats().sigma.withheld, 0U);
}

TEST(correlation_pipeline, a_correlation_added_to_the_rule_folder_is_used_without_a_restart) {
  temp_dir rules;
  rules.write("base.yml", burst_rules(false).substr(0, burst_rules(false).find("---")));
  auto cfg = rules_config(rules);
  cfg.sigma.reload_interval_ms = 1;
  pipeline p(cfg);
  (void)p.process(event("WS-1", 0, "run marker"), {"t", 0, 0}, std::nullopt);
  EXPECT_EQ(p.sigma_alerts().size(), 1U) << "no correlation yet: the base rule alerts";
  rules.write("base.yml", burst_rules(false) + "\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  p.sigma()->maybe_reload();
  std::size_t correlated = 0;
  for (int i = 1; i < 4; ++i) {
    (void)p.process(event("WS-1", i, "run marker"), {"t", 0, i}, std::nullopt);
    for (const auto& a : p.sigma_alerts()) {
      EXPECT_TRUE(detection_ids(a.json).contains("0b7d2c1e-0000-4000-8000-0000000000c1")) << a.json;
      ++correlated;
    }
  }
  EXPECT_EQ(correlated, 1U);
}

// ---------------------------------------------------------------------------------------
// Routed matches: what run sends through the observations topic.

struct routed_record {
  std::int32_t partition;
  std::string key, value;
};

// The routed matches of `events`, as a forwarding pipeline produces them.
std::vector<routed_record> routed_of(const config& cfg, const std::vector<std::string>& events) {
  pipeline p(cfg, forward_mode);
  std::vector<routed_record> out;
  std::int64_t offset = 0;
  for (const auto& e : events) {
    (void)p.process(e, {"input", 0, offset++}, std::nullopt);
    EXPECT_TRUE(p.sigma_alerts().empty());
    for (const auto& f : p.correlation_forwards()) out.push_back({f.partition, f.key, f.record});
  }
  return out;
}

std::vector<std::string> judge(correlation_stage& stage, const std::vector<routed_record>& records) {
  std::vector<emitted_alert> out;
  std::vector<std::string> ids;
  for (const auto& r : records) {
    std::size_t count = 0;
    EXPECT_TRUE(stage.process(r.partition, r.key, r.value, std::nullopt, out, count));
    for (std::size_t i = 0; i < count; ++i) ids.push_back(out[i].id);
  }
  return ids;
}

// Two bursts on each of six hosts, an hour apart.
std::vector<std::string> fleet_events() {
  std::vector<std::string> events;
  for (int burst = 0; burst < 2; ++burst) {
    for (int i = 0; i < 4; ++i) {
      for (int h = 0; h < 6; ++h) events.push_back(event("WS-" + std::to_string(h), burst * 30 + i, "run marker", h));
    }
  }
  return events;
}

TEST(correlation_routing, matches_of_one_group_go_to_one_partition) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules, "topology:\n  partitions: 8\n");
  std::map<std::string, std::set<std::int32_t>> partitions_by_key;
  for (const auto& r : routed_of(cfg, fleet_events())) partitions_by_key[r.key].insert(r.partition);
  EXPECT_EQ(partitions_by_key.size(), 6U) << "one group per host";
  std::set<std::int32_t> used;
  for (const auto& [key, parts] : partitions_by_key) {
    EXPECT_EQ(parts.size(), 1U);
    used.insert(*parts.begin());
  }
  EXPECT_GT(used.size(), 1U) << "groups spread over partitions";
}

TEST(correlation_routing, two_instances_raise_the_same_alerts_as_one) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules, "topology:\n  partitions: 4\n");
  const auto records = routed_of(cfg, fleet_events());
  sigma_library lib(cfg.sigma);
  (void)lib.reload();

  correlation_stage one(cfg, nullptr);
  one.set_rules(lib.correlations());
  auto single = judge(one, records);

  // Instance A owns partitions 0 and 1, B the others; each gets its partitions' records
  // in the order the topic holds them.
  correlation_stage a(cfg, nullptr), b(cfg, nullptr);
  a.set_rules(lib.correlations());
  b.set_rules(lib.correlations());
  std::vector<routed_record> to_a, to_b;
  for (const auto& r : records) (r.partition < 2 ? to_a : to_b).push_back(r);
  ASSERT_FALSE(to_a.empty());
  ASSERT_FALSE(to_b.empty());
  auto split = judge(a, to_a);
  const auto more = judge(b, to_b);
  split.insert(split.end(), more.begin(), more.end());
  std::ranges::sort(single);
  std::ranges::sort(split);
  EXPECT_EQ(single.size(), 12U) << "two bursts on six hosts";
  EXPECT_EQ(split, single);
}

TEST(correlation_routing, out_of_order_arrival_within_the_lateness_gives_the_same_alerts) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules);
  // Three matches per host a minute apart; arriving newest first (within the 5-minute
  // lateness) the windows, and so the ids, are those of in-order arrival.
  std::vector<std::string> events;
  for (int i = 0; i < 3; ++i) {
    for (int h = 0; h < 6; ++h) events.push_back(event("WS-" + std::to_string(h), i, "run marker", h));
  }
  const auto in_order = routed_of(cfg, events);
  auto shuffled = in_order;
  std::ranges::reverse(shuffled);
  sigma_library lib(cfg.sigma);
  (void)lib.reload();
  correlation_stage x(cfg, nullptr), y(cfg, nullptr);
  x.set_rules(lib.correlations());
  y.set_rules(lib.correlations());
  auto a = judge(x, in_order);
  auto b = judge(y, shuffled);
  std::ranges::sort(a);
  std::ranges::sort(b);
  EXPECT_EQ(a.size(), 6U);
  EXPECT_EQ(a, b);
  EXPECT_EQ(y.stats().evaluator.late_dropped, 0U);
}

TEST(correlation_routing, an_event_older_than_the_lateness_is_dropped_and_counted) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules, "sigma:\n  correlations:\n    allowed_lateness: 1m\n");
  (void)cfg;
  auto c2 = config_or_fail("sigma:\n  builtin: []\n  reload_interval: 0s\n  rules_dir: " + rules.path() +
                           "\n  correlations:\n    allowed_lateness: 1m\n");
  EXPECT_EQ(c2.sigma.correlations.allowed_lateness_ms, 60'000);
  const auto records = routed_of(c2, {event("WS-1", 30, "run marker"), event("WS-1", 10, "run marker")});
  ASSERT_EQ(records.size(), 2U);
  sigma_library lib(c2.sigma);
  (void)lib.reload();
  correlation_stage s(c2, nullptr);
  s.set_rules(lib.correlations());
  EXPECT_TRUE(judge(s, records).empty());
  EXPECT_EQ(s.stats().evaluator.late_dropped, 1U);
}

TEST(correlation_routing, a_record_that_does_not_decode_is_counted_and_changes_nothing) {
  const auto cfg = config_or_fail("{}");
  correlation_stage s(cfg, nullptr);
  std::vector<emitted_alert> out;
  std::size_t count = 0;
  EXPECT_FALSE(s.process(0, std::string("corr\0x", 6), "garbage", std::nullopt, out, count));
  EXPECT_FALSE(s.process(0, "", "", std::nullopt, out, count));
  EXPECT_EQ(count, 0U);
  EXPECT_EQ(s.stats().bad_records, 2U);
}

TEST(correlation_config, bounds_are_read_and_checked_with_file_and_key) {
  const auto cfg = config_or_fail(
      "sigma:\n  correlations:\n    allowed_lateness: 30s\n    max_groups: 50\n    max_entries_per_group: 7\n");
  EXPECT_EQ(cfg.sigma.correlations.allowed_lateness_ms, 30'000);
  EXPECT_EQ(cfg.sigma.correlations.max_groups, 50U);
  EXPECT_EQ(cfg.sigma.correlations.max_entries_per_group, 7U);
  const auto bad = parse_config("sigma:\n  correlations:\n    max_groups: 0\n    surprise: 1\n", "c.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error(), ::testing::HasSubstr("c.yaml:3: sigma.correlations.max_groups"));
  EXPECT_THAT(bad.error(), ::testing::HasSubstr("sigma.correlations.surprise"));
}

// ---------------------------------------------------------------------------------------
// State across a restart: RocksDB, and the changelog on another instance.

TEST(correlation_state, a_restart_mid_burst_restores_the_windows_from_rocksdb_and_from_the_changelog) {
  temp_dir rules;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules, "topology:\n  partitions: 2\n");
  const auto records = routed_of(cfg, fleet_events());
  sigma_library lib(cfg.sigma);
  (void)lib.reload();
  ASSERT_EQ(records.size(), 48U);
  const std::size_t half = records.size() / 2 + 3;  // inside the second burst's windows

  correlation_stage uninterrupted(cfg, nullptr);
  uninterrupted.set_rules(lib.correlations());
  auto expected = judge(uninterrupted, records);
  std::ranges::sort(expected);

  temp_dir state_dir, other_dir;
  state::store_options o;
  o.path = state_dir.sub("db");
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 4 << 20;
  struct changelog_record {
    std::int32_t partition;
    std::string key;
    std::optional<std::string> value;
  };
  std::vector<changelog_record> changelog;
  std::vector<std::string> got;
  {
    auto store = state::prevalence_store::open(o);
    ASSERT_TRUE(store.has_value()) << store.error();
    correlation_stage first(cfg, store->get());
    first.set_rules(lib.correlations());
    got = judge(first, {records.begin(), records.begin() + static_cast<std::ptrdiff_t>(half)});
    first.flush([&](std::int32_t p, std::string_view key, const std::string* stored) {
      changelog.push_back({p, state::window_changelog_key(key), stored ? std::optional<std::string>(*stored) : std::nullopt});
    });
    ASSERT_TRUE((*store)->commit());
  }  // the process stops
  ASSERT_FALSE(changelog.empty());
  const std::vector<routed_record> rest(records.begin() + static_cast<std::ptrdiff_t>(half), records.end());

  // The same instance again, on its RocksDB.
  {
    auto store = state::prevalence_store::open(o);
    ASSERT_TRUE(store.has_value()) << store.error();
    correlation_stage again(cfg, store->get());
    again.set_rules(lib.correlations());
    auto after = got;
    const auto more = judge(again, rest);
    after.insert(after.end(), more.begin(), more.end());
    std::ranges::sort(after);
    EXPECT_EQ(after, expected);
    // Redelivered (at-least-once): the last few records before the restart come again.
    correlation_stage redelivered(cfg, store->get());
    redelivered.set_rules(lib.correlations());
    EXPECT_TRUE(judge(redelivered, {records.begin() + static_cast<std::ptrdiff_t>(half) - 3,
                                    records.begin() + static_cast<std::ptrdiff_t>(half)})
                    .empty());
  }

  // Another instance with an empty state directory, restored from the changelog.
  {
    state::store_options o2 = o;
    o2.path = other_dir.sub("db");
    auto store = state::prevalence_store::open(o2);
    ASSERT_TRUE(store.has_value()) << store.error();
    for (const auto& r : changelog) {
      ASSERT_TRUE(state::apply_window_changelog_record(**store, r.partition, r.key, r.value ? r.value->data() : nullptr,
                                                       r.value ? r.value->size() : 0));
    }
    ASSERT_TRUE((*store)->commit());
    correlation_stage restored(cfg, store->get());
    restored.set_rules(lib.correlations());
    auto after = got;
    const auto more = judge(restored, rest);
    after.insert(after.end(), more.begin(), more.end());
    std::ranges::sort(after);
    EXPECT_EQ(after, expected);
  }
}

// ---------------------------------------------------------------------------------------
// Replay equals run: the same routed matches, judged by the same stage.

TEST(correlation_replay, replay_raises_the_alerts_run_raises) {
  temp_dir rules, input;
  rules.write("burst.yml", burst_rules(false));
  const auto cfg = rules_config(rules, "topology:\n  partitions: 3\n");
  const auto events = fleet_events();
  std::string text;
  for (const auto& e : events) text += e + "\n";
  input.write("events.ndjson", text);
  std::ostringstream alerts, diagnostics;
  (void)run_replay(cfg, {input.sub("events.ndjson")}, alerts, diagnostics, nullptr, false);
  std::vector<std::string> replayed;
  std::istringstream lines(alerts.str());
  for (std::string line; std::getline(lines, line);) replayed.push_back(alert_id(line));

  sigma_library lib(cfg.sigma);
  (void)lib.reload();
  correlation_stage run(cfg, nullptr);
  run.set_rules(lib.correlations());
  auto ran = judge(run, routed_of(cfg, events));
  std::ranges::sort(replayed);
  std::ranges::sort(ran);
  EXPECT_EQ(replayed.size(), 12U);
  EXPECT_EQ(replayed, ran);
}

// ---------------------------------------------------------------------------------------
// The shipped correlations (rules/content/sigma/correlations_signing.yml) on their fixture.

TEST(correlation_content, the_shipped_correlations_fire_on_their_fixture_and_not_on_the_near_misses) {
  pipeline p(config_or_fail(
      "sigma:\n  builtin: [clock_rollback.yml, t1588_003_signed_code.yml, correlations_signing.yml]\n"));
  std::map<std::string, std::vector<std::string>> fired;  // correlation id -> hosts or signers of its alerts
  const auto lines = test_support::read_lines(k_data + "/sigma/correlations.ndjson");
  std::int64_t offset = 0;
  std::size_t base = 0;
  for (const auto& line : lines) {
    (void)p.process(line, {"correlations.ndjson", 0, offset++}, std::nullopt);
    for (const auto& a : p.sigma_alerts()) {
      simdjson::dom::parser parser;
      const auto doc = parser.parse(a.json);
      const std::string id(doc["detections"].at(0)["id"].get_string().value());
      std::string group;
      for (auto field : doc["detections"].at(0)["evidence"].get_object()) {
        if (field.key.starts_with("group.")) group = std::string(field.value.get_string().value());
      }
      if (group.empty()) ++base;
      else fired[id].push_back(group);
    }
  }
  p.finish_correlations(std::nullopt);
  EXPECT_TRUE(p.sigma_alerts().empty()) << "lower-bounded conditions fire at the event";
  EXPECT_THAT(fired["3f1c6a52-8d0e-4b7a-9c61-2a5e0f7d4b18"], ::testing::ElementsAre("WS-C1"));
  EXPECT_THAT(fired["7b2e94d0-51a3-4c8f-a6d2-e03c9b1f5a77"], ::testing::ElementsAre("WS-C3"));
  EXPECT_THAT(fired["c5d80f3e-2a67-49b1-8e04-6f9a1d2c7e35"], ::testing::ElementsAre("Stolen Cert Co"));
  EXPECT_EQ(fired.size(), 3U);
  EXPECT_GE(base, 13U) << "generate: true keeps the base rules' alerts";
  EXPECT_EQ(p.stats().sigma.withheld, 0U);
}

TEST(correlation_content, the_shipped_correlations_alone_are_refused_with_their_references) {
  const auto loaded = load_sigma_rules({"correlations_signing.yml"}, "");
  EXPECT_TRUE(loaded.correlations.empty());
  std::size_t errors = 0;
  for (const auto& d : loaded.diagnostics) {
    if (d.sev == rules::sigma::diagnostic::severity::error) {
      ++errors;
      EXPECT_THAT(d.text(), ::testing::StartsWith("builtin:correlations_signing.yml:"));
    }
  }
  EXPECT_EQ(errors, 5U) << "one per unresolved reference (2 + 2 + 1)";
}

}  // namespace
}  // namespace correlation_stage_test
}  // namespace countersign::processor
