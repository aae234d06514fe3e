// metrics_bridge with several processing threads: one bridge per thread on one registry.
// What a scrape shows must be the process's figure: sums of the threads' counters and
// shares, flags that hold for every thread, and per-partition lag without dangling series
// when a partition moves between threads.

#include <countersign/processor/service/metrics_bridge.hpp>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace countersign::processor {
namespace metrics_bridge_test {  // one per file: the test programs are unity builds
namespace {

// The value of the sample of `family` whose labels include every one of `labels`;
// nullopt when there is none, a failure when several match.
std::optional<double> sample(prometheus::Registry& registry, const std::string& family,
                             const std::map<std::string, std::string>& labels = {}) {
  std::optional<double> found;
  for (const auto& f : registry.Collect()) {
    if (f.name != family) continue;
    for (const auto& m : f.metric) {
      bool match = true;
      for (const auto& [name, value] : labels) {
        bool has = false;
        for (const auto& l : m.label) has = has || (l.name == name && l.value == value);
        match = match && has;
      }
      if (!match) continue;
      EXPECT_FALSE(found.has_value()) << family << ": several samples match";
      found = f.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return found;
}

struct two_threads {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<metrics_threads> shared = std::make_shared<metrics_threads>(2);
  metrics_bridge first{registry, 0, shared};
  metrics_bridge second{registry, 1, shared};
};

TEST(metrics_bridge, counters_and_shares_of_threads_add_up) {
  two_threads t;
  pipeline_stats p1;
  pipeline_stats p2;
  runner_stats r1;
  runner_stats r2;
  p1.events = 100;
  p2.events = 40;
  r1.consumed_by_topic.emplace_back("in", 100);
  r2.consumed_by_topic.emplace_back("in", 40);
  r1.assigned_partitions = 3;
  r2.assigned_partitions = 2;
  t.first.publish(p1, &r1);
  t.second.publish(p2, &r2);
  EXPECT_EQ(sample(*t.registry, "countersign_events_processed_total"), 140.0);
  EXPECT_EQ(sample(*t.registry, "countersign_events_consumed_total", {{"topic", "in"}}), 140.0);
  EXPECT_EQ(sample(*t.registry, "countersign_assigned_partitions"), 5.0);

  // Published again with new totals: only the increments count, shares are replaced.
  p1.events = 150;
  r1.assigned_partitions = 1;
  t.first.publish(p1, &r1);
  t.second.publish(p2, &r2);
  EXPECT_EQ(sample(*t.registry, "countersign_events_processed_total"), 190.0);
  EXPECT_EQ(sample(*t.registry, "countersign_assigned_partitions"), 3.0);
}

TEST(metrics_bridge, internal_records_that_do_not_decode_count_as_rejected_once_per_record) {
  two_threads t;
  pipeline_stats p1;
  pipeline_stats p2;
  runner_stats r1;
  runner_stats r2;
  p1.rejected[static_cast<std::size_t>(reject_reason::bad_internal_record)] = 2;  // observations
  r1.bad_internal_records = 3;  // e.g. a delta and the table's two snapshots
  r2.bad_internal_records = 1;
  t.first.publish(p1, &r1);
  t.second.publish(p2, &r2);
  EXPECT_EQ(sample(*t.registry, "countersign_input_rejected_total", {{"reason", "bad_internal_record"}}), 6.0);
  r1.bad_internal_records = 4;
  t.first.publish(p1, &r1);
  t.first.publish(p1, &r1);
  EXPECT_EQ(sample(*t.registry, "countersign_input_rejected_total", {{"reason", "bad_internal_record"}}), 7.0);
}

TEST(metrics_bridge, flags_hold_for_the_process_only_when_every_thread_has_them) {
  two_threads t;
  pipeline_stats p;
  runner_stats ready;
  ready.table_caught_up = true;
  ready.group_member = true;
  runner_stats waiting;
  t.first.publish(p, &ready);
  t.second.publish(p, &waiting);
  EXPECT_EQ(sample(*t.registry, "countersign_global_table_caught_up"), 0.0);
  EXPECT_EQ(sample(*t.registry, "countersign_group_member"), 0.0);
  t.second.publish(p, &ready);
  EXPECT_EQ(sample(*t.registry, "countersign_global_table_caught_up"), 1.0);
  EXPECT_EQ(sample(*t.registry, "countersign_group_member"), 1.0);
  // A thread leaving the group (shutdown, lost assignment) clears it again.
  ready.group_member = false;
  t.first.publish(p, &ready);
  EXPECT_EQ(sample(*t.registry, "countersign_group_member"), 0.0);
}

TEST(metrics_bridge, a_partition_moving_between_threads_keeps_one_lag_series_per_owner) {
  two_threads t;
  pipeline_stats p;
  runner_stats owner;
  runner_stats other;
  owner.consumer_lag.push_back({"in", 0, 7});
  t.first.publish(p, &owner);
  EXPECT_EQ(sample(*t.registry, "countersign_consumer_lag", {{"partition", "0"}, {"thread", "0"}}), 7.0);
  // The partition moves: the new owner publishes first, then the old one drops its series.
  other.consumer_lag.push_back({"in", 0, 3});
  t.second.publish(p, &other);
  owner.consumer_lag.clear();
  t.first.publish(p, &owner);
  EXPECT_EQ(sample(*t.registry, "countersign_consumer_lag", {{"partition", "0"}, {"thread", "0"}}), std::nullopt);
  EXPECT_EQ(sample(*t.registry, "countersign_consumer_lag", {{"partition", "0"}}), 3.0);
  other.consumer_lag[0].lag = 1;
  t.second.publish(p, &other);  // its series is still registered (not removed by the other thread)
  EXPECT_EQ(sample(*t.registry, "countersign_consumer_lag", {{"partition", "0"}, {"thread", "1"}}), 1.0);
}

TEST(metrics_bridge, event_time_lag_follows_the_newest_event_of_any_thread) {
  two_threads t;
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  pipeline_stats recent;
  recent.max_event_time_ms = now_ms - 1'000;
  pipeline_stats old;
  old.max_event_time_ms = now_ms - 3'600'000;
  t.first.publish(recent, nullptr);
  t.second.publish(old, nullptr);  // the older thread does not move the lag back an hour
  const auto lag = sample(*t.registry, "countersign_event_time_lag_seconds");
  ASSERT_TRUE(lag.has_value());
  EXPECT_LT(*lag, 600.0);
}

}  // namespace
}  // namespace metrics_bridge_test
}  // namespace countersign::processor
