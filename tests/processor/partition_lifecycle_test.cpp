// The partition state machine of `countersign run` (processor/src/transport/
// partition_lifecycle.cpp): which assigned partitions are held, restores one at a time,
// the global-table gate for deltas, revocation mid-restore, readiness.

#include <countersign/processor/transport/partition_lifecycle.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace countersign::processor::transport {
namespace partition_lifecycle_test {  // one per file: the test programs are unity builds
namespace {

TEST(partition_lifecycle, input_partitions_are_ready_at_once) {
  partition_lifecycle l(true);
  EXPECT_FALSE(l.assign(topic_role::input, 0));
  EXPECT_FALSE(l.held(topic_role::input, 0));
  EXPECT_TRUE(l.settled());
}

TEST(partition_lifecycle, without_a_store_nothing_is_held) {
  partition_lifecycle l(false);
  EXPECT_FALSE(l.assign(topic_role::observations, 3));
  EXPECT_FALSE(l.held(topic_role::observations, 3));
  EXPECT_FALSE(l.assign(topic_role::deltas, 1));
  EXPECT_FALSE(l.held(topic_role::deltas, 1));
  EXPECT_EQ(l.start_restore(), std::nullopt);
  EXPECT_TRUE(l.settled());
}

TEST(partition_lifecycle, observations_are_held_until_restored_one_at_a_time_in_assignment_order) {
  partition_lifecycle l(true);
  EXPECT_TRUE(l.assign(topic_role::observations, 2));
  EXPECT_TRUE(l.assign(topic_role::observations, 0));
  EXPECT_TRUE(l.held(topic_role::observations, 2));
  EXPECT_FALSE(l.settled());
  EXPECT_EQ(l.restores_pending(), 2U);

  EXPECT_EQ(l.start_restore(), 2);
  EXPECT_EQ(l.restoring(), 2);
  EXPECT_EQ(l.start_restore(), std::nullopt) << "one restore at a time";
  EXPECT_TRUE(l.held(topic_role::observations, 2)) << "restoring is not ready";
  EXPECT_EQ(l.restore_done(), 2);
  EXPECT_FALSE(l.held(topic_role::observations, 2));
  EXPECT_TRUE(l.owned(2));
  EXPECT_TRUE(l.held(topic_role::observations, 0));

  EXPECT_EQ(l.start_restore(), 0);
  EXPECT_EQ(l.restore_done(), 0);
  EXPECT_TRUE(l.settled());
  EXPECT_EQ(l.restores_pending(), 0U);
}

TEST(partition_lifecycle, an_assignment_repeated_while_queued_or_restoring_is_not_queued_twice) {
  partition_lifecycle l(true);
  l.assign(topic_role::observations, 1);
  l.assign(topic_role::observations, 1);
  EXPECT_EQ(l.restores_pending(), 1U);
  ASSERT_EQ(l.start_restore(), 1);
  l.assign(topic_role::observations, 1);
  EXPECT_EQ(l.restores_pending(), 1U);
}

TEST(partition_lifecycle, a_postponed_restore_goes_first_and_a_failed_one_last) {
  partition_lifecycle l(true);
  for (const std::int32_t p : {0, 1, 2}) l.assign(topic_role::observations, p);
  ASSERT_EQ(l.start_restore(), 0);
  l.restore_postponed();  // the changelog end could not be read
  EXPECT_EQ(l.restoring(), std::nullopt);
  ASSERT_EQ(l.start_restore(), 0) << "postponed: tried again first";
  l.restore_failed();  // read, but the store could not write it
  EXPECT_FALSE(l.owned(0));
  EXPECT_EQ(l.start_restore(), 1) << "failed: tried again after the others";
  EXPECT_EQ(l.restore_done(), 1);
  EXPECT_EQ(l.start_restore(), 2);
  EXPECT_EQ(l.restore_done(), 2);
  EXPECT_EQ(l.start_restore(), 0);
  EXPECT_EQ(l.restore_done(), 0);
  EXPECT_TRUE(l.settled());
}

TEST(partition_lifecycle, revoking_the_partition_being_restored_tells_the_caller_to_stop_the_reader) {
  partition_lifecycle l(true);
  l.assign(topic_role::observations, 4);
  l.assign(topic_role::observations, 5);
  ASSERT_EQ(l.start_restore(), 4);
  EXPECT_FALSE(l.revoke(topic_role::observations, 5)) << "only queued: nothing to stop";
  EXPECT_TRUE(l.revoke(topic_role::observations, 4));
  EXPECT_EQ(l.restoring(), std::nullopt);
  EXPECT_TRUE(l.settled());
  EXPECT_EQ(l.start_restore(), std::nullopt) << "a revoked partition is never restored";
}

TEST(partition_lifecycle, a_revoked_owned_partition_is_restored_again_when_it_comes_back) {
  // Another instance may have written its changelog in between.
  partition_lifecycle l(true);
  l.assign(topic_role::observations, 7);
  ASSERT_EQ(l.start_restore(), 7);
  l.restore_done();
  EXPECT_FALSE(l.revoke(topic_role::observations, 7));
  EXPECT_FALSE(l.owned(7));
  EXPECT_TRUE(l.assign(topic_role::observations, 7));
  EXPECT_TRUE(l.held(topic_role::observations, 7));
  EXPECT_EQ(l.start_restore(), 7);
}

TEST(partition_lifecycle, deltas_wait_for_one_table_target_and_are_released_together) {
  partition_lifecycle l(true);
  EXPECT_FALSE(l.table_target_needed());
  EXPECT_TRUE(l.assign(topic_role::deltas, 0));
  EXPECT_TRUE(l.assign(topic_role::deltas, 1));
  EXPECT_TRUE(l.held(topic_role::deltas, 1));
  EXPECT_TRUE(l.table_target_needed());
  l.table_target_taken();
  EXPECT_FALSE(l.table_target_needed());
  EXPECT_FALSE(l.settled());
  EXPECT_EQ(l.release_deltas(), (std::vector<std::int32_t>{0, 1}));
  EXPECT_FALSE(l.held(topic_role::deltas, 0));
  EXPECT_TRUE(l.settled());
  // A later assignment asks for a fresh target: others may have published since.
  EXPECT_TRUE(l.assign(topic_role::deltas, 2));
  EXPECT_TRUE(l.table_target_needed());
}

TEST(partition_lifecycle, a_revoked_waiting_deltas_partition_is_not_released) {
  partition_lifecycle l(true);
  l.assign(topic_role::deltas, 0);
  l.assign(topic_role::deltas, 1);
  EXPECT_FALSE(l.revoke(topic_role::deltas, 0));
  EXPECT_EQ(l.release_deltas(), (std::vector<std::int32_t>{1}));
  l.assign(topic_role::deltas, 3);
  l.revoke(topic_role::deltas, 3);
  EXPECT_FALSE(l.table_target_needed()) << "nothing waits: no target to read";
  EXPECT_TRUE(l.settled());
}

TEST(partition_lifecycle, ready_means_a_group_member_with_nothing_left_to_restore_or_wait_for) {
  partition_lifecycle l(true);
  EXPECT_FALSE(l.ready()) << "no assignment yet: not a member, even with nothing to restore";
  l.joined();  // an empty assignment: more instances than partitions
  EXPECT_TRUE(l.member());
  EXPECT_TRUE(l.ready());
  l.assign(topic_role::observations, 0);
  l.joined();
  EXPECT_FALSE(l.ready()) << "restoring";
  ASSERT_EQ(l.start_restore(), 0);
  l.restore_done();
  EXPECT_TRUE(l.ready());
  l.left();  // the assignment was lost
  EXPECT_FALSE(l.ready());
  EXPECT_FALSE(l.member());
}

}  // namespace
}  // namespace partition_lifecycle_test
}  // namespace countersign::processor::transport
