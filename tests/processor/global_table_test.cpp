// The global table's decisions that need no broker: when the processing threads may
// count on the table (table_progress), the retry backoff of state writes, and how a
// reader that cannot start reports it. Reading a real signers topic is covered by
// tests/integration (kafka_run_test: the table gate, hot signer, threads).

#include "test_support.hpp"

#include <countersign/processor/service/global_table.hpp>
#include <countersign/processor/service/state_write_retry.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <vector>

namespace countersign::processor {
namespace global_table_test {  // one per file: the test programs are unity builds
namespace {

using test_support::state_dir;
using namespace std::chrono_literals;

TEST(table_progress, what_is_read_counts_only_once_committed) {
  const std::array<std::int64_t, 2> from = {0, 0};
  table_progress progress(from);
  const std::array<std::int64_t, 2> ends = {3, 1};
  progress.read(0, 3);
  progress.read(1, 1);
  EXPECT_FALSE(progress.reached(ends)) << "applied to the batch, not yet in the store";
  progress.committed();
  EXPECT_TRUE(progress.reached(ends));
}

TEST(table_progress, the_offsets_the_store_kept_count_as_committed) {
  const std::array<std::int64_t, 2> from = {7, 0};
  const table_progress progress(from);
  EXPECT_TRUE(progress.reached(std::array<std::int64_t, 2>{7, 0}));
  EXPECT_FALSE(progress.reached(std::array<std::int64_t, 2>{8, 0}));
  EXPECT_TRUE(progress.reached(std::array<std::int64_t, 0>{})) << "no ends: nothing to wait for";
}

TEST(table_progress, a_partition_end_below_what_was_applied_does_not_move_it_back) {
  const std::array<std::int64_t, 1> from = {0};
  table_progress progress(from);
  progress.read(0, 10);
  progress.read(0, 4);  // a late end-of-partition event
  progress.committed();
  EXPECT_TRUE(progress.reached(std::array<std::int64_t, 1>{10}));
}

TEST(table_progress, partitions_it_does_not_have_are_ignored) {
  const std::array<std::int64_t, 1> from = {0};
  table_progress progress(from);
  progress.read(1, 50);
  progress.read(-1, 50);
  progress.committed();
  EXPECT_EQ(progress.partitions(), 1);
  EXPECT_TRUE(progress.reached(std::array<std::int64_t, 2>{0, 50})) << "ends beyond its partitions are ignored";
  EXPECT_FALSE(progress.reached(std::array<std::int64_t, 1>{1}));
}

TEST(state_write_retry, a_failed_write_is_retried_after_a_doubling_backoff_of_at_most_30_s) {
  state_write_retry retry;
  const auto t0 = state_write_retry::clock_type::time_point{} + 1h;
  std::vector<std::chrono::milliseconds> waits;
  for (int i = 0; i < 9; ++i) {
    retry.failed(t0, i == 0);
    waits.push_back(retry.backoff);
  }
  const std::vector<std::chrono::milliseconds> expected = {500ms, 1s, 2s, 4s, 8s, 16s, 30s, 30s, 30s};
  EXPECT_EQ(waits, expected);
  EXPECT_EQ(retry.attempts, 9U);
  EXPECT_FALSE(retry.due(t0 + 29s));
  EXPECT_TRUE(retry.due(t0 + 30s));
  // A new episode starts over.
  retry.failed(t0 + 1min, true);
  EXPECT_EQ(retry.backoff, 500ms);
  EXPECT_EQ(retry.attempts, 1U);
  EXPECT_EQ(retry.seconds_since_start(t0 + 1min + 2s), 2.0);
}

TEST(global_table, before_it_starts_it_has_reached_nothing_and_no_ends) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  const config cfg;
  global_table table(cfg, *store);
  EXPECT_FALSE(table.caught_up());
  EXPECT_FALSE(table.stalled());
  EXPECT_FALSE(table.reached(std::array<std::int64_t, 1>{0}));
  EXPECT_FALSE(table.query_ends(nullptr).has_value());
  EXPECT_TRUE(table.failure().empty());
  EXPECT_TRUE(table.turning(0s)) << "a reader that does not run holds no one's health";
  EXPECT_EQ(table.current_stats().records, 0U);
  table.stop();
  table.stop();  // idempotent
  table.start(1);  // after stop: does nothing
  EXPECT_FALSE(table.wait_caught_up(10ms));
  EXPECT_TRUE(table.failure().empty());
}

TEST(global_table, a_reader_that_cannot_be_made_tells_every_waiting_thread_why) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  config cfg;
  cfg.kafka.consumer["no.such.property"] = "1";
  global_table table(cfg, *store);
  table.start(2);
  table.start(2);  // a second thread: the same reader
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (table.failure().empty() && std::chrono::steady_clock::now() < deadline) (void)table.wait_caught_up(100ms);
  EXPECT_FALSE(table.caught_up());
  EXPECT_NE(table.failure().find("no.such.property"), std::string::npos) << table.failure();
  table.stop();
  EXPECT_TRUE(table.turning(0s));
}

}  // namespace
}  // namespace global_table_test
}  // namespace countersign::processor
