// Commit bookkeeping (processor/src/service/offset_tracker.cpp): an offset is committable once it
// and every earlier consumed offset of its partition are fully acknowledged.

#include <countersign/processor/service/offset_tracker.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace countersign::processor {
namespace offset_tracker_test {  // one per file: the test programs are unity builds
namespace {

using point = std::tuple<std::string, std::int32_t, std::int64_t>;

std::vector<point> take(offset_tracker& t) {
  std::vector<point> out;
  for (const auto& c : t.take_committable()) out.emplace_back(c.topic, c.partition, c.next_offset);
  return out;
}

TEST(offset_tracker, assign_is_idempotent_and_find_sees_the_assignment) {
  offset_tracker t;
  const auto a = t.assign("events", 0);
  EXPECT_NE(a.generation, 0U);
  const auto again = t.assign("events", 0);
  EXPECT_EQ(again.slot, a.slot);
  EXPECT_EQ(again.generation, a.generation);
  const auto found = t.find("events", 0);
  EXPECT_EQ(found.slot, a.slot);
  EXPECT_EQ(found.generation, a.generation);
  EXPECT_EQ(t.find("events", 1).generation, 0U);
  EXPECT_EQ(t.find("other", 0).generation, 0U);
}

TEST(offset_tracker, distinct_partitions_get_distinct_slots) {
  offset_tracker t;
  const auto a = t.assign("events", 0);
  const auto b = t.assign("events", 1);
  const auto c = t.assign("other", 0);
  EXPECT_NE(a.slot, b.slot);
  EXPECT_NE(a.slot, c.slot);
  EXPECT_NE(b.slot, c.slot);
}

TEST(offset_tracker, a_message_with_no_outputs_is_committable_at_once) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 10, 0);
  EXPECT_EQ(t.in_flight(), 0U);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 11}}));
  EXPECT_TRUE(take(t).empty()) << "a commit point is reported once, until it moves again";
}

TEST(offset_tracker, nothing_is_committable_before_anything_is_done) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 0, 1);
  EXPECT_TRUE(take(t).empty());
  EXPECT_EQ(t.in_flight(), 1U);
}

TEST(offset_tracker, the_commit_point_waits_for_every_earlier_offset) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 100, 1);
  t.consumed(p, 101, 1);
  t.consumed(p, 102, 1);
  t.acked(p, 101);
  t.acked(p, 102);
  EXPECT_TRUE(take(t).empty()) << "100 is still waiting";
  EXPECT_EQ(t.in_flight(), 1U);
  t.acked(p, 100);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 103}}));
  EXPECT_EQ(t.in_flight(), 0U);
}

TEST(offset_tracker, out_of_order_acks_move_the_point_step_by_step) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  for (std::int64_t o = 0; o < 5; ++o) t.consumed(p, o, 1);
  t.acked(p, 3);
  EXPECT_TRUE(take(t).empty());
  t.acked(p, 0);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 1}}));
  t.acked(p, 2);
  EXPECT_TRUE(take(t).empty()) << "1 is still waiting";
  t.acked(p, 1);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 4}}));  // 1, 2 and 3 are done
  t.acked(p, 4);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 5}}));
}

TEST(offset_tracker, a_message_with_several_outputs_needs_every_ack) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 7, 2);  // e.g. an alert and a dead-letter copy
  t.acked(p, 7);
  EXPECT_TRUE(take(t).empty());
  EXPECT_EQ(t.in_flight(), 1U);
  t.acked(p, 7);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 8}}));
  EXPECT_EQ(t.in_flight(), 0U);
}

TEST(offset_tracker, gaps_in_offsets_are_skipped) {
  // Compaction and transaction markers leave holes in the offsets a consumer sees.
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 5, 1);
  t.consumed(p, 9, 1);
  t.consumed(p, 20, 0);
  t.acked(p, 9);
  t.acked(p, 5);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 21}}));
}

TEST(offset_tracker, the_point_after_a_done_offset_can_be_a_hole) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 5, 1);
  t.consumed(p, 9, 1);
  t.acked(p, 5);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 6}}));  // resumes at 6, which yields 9
}

TEST(offset_tracker, duplicate_and_unknown_acks_are_ignored) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 1, 1);
  t.consumed(p, 2, 1);
  t.acked(p, 1);
  t.acked(p, 1);   // duplicate: must not count toward offset 2 or underflow in_flight
  t.acked(p, 42);  // never consumed
  t.acked(p, 0);   // never consumed
  EXPECT_EQ(t.in_flight(), 1U);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 2}}));
  t.acked(p, 2);
  EXPECT_EQ(t.in_flight(), 0U);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 3}}));
}

TEST(offset_tracker, partitions_advance_independently) {
  offset_tracker t;
  const auto p0 = t.assign("events", 0);
  const auto p1 = t.assign("events", 1);
  t.consumed(p0, 10, 1);
  t.consumed(p1, 10, 1);
  t.acked(p1, 10);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 1, 11}}));
  EXPECT_EQ(t.in_flight(), 1U);
}

TEST(offset_tracker, in_flight_counts_messages_not_outputs_across_partitions) {
  offset_tracker t;
  const auto a = t.assign("events", 0);
  const auto b = t.assign("other", 3);
  t.consumed(a, 0, 3);
  t.consumed(a, 1, 0);
  t.consumed(b, 0, 1);
  EXPECT_EQ(t.in_flight(), 2U);
  t.acked(a, 0);
  EXPECT_EQ(t.in_flight(), 2U);
  t.acked(b, 0);
  EXPECT_EQ(t.in_flight(), 1U);
}

TEST(offset_tracker, revoke_forgets_pending_work_and_ignores_stale_acks) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 50, 1);
  t.consumed(p, 51, 1);
  EXPECT_EQ(t.in_flight(), 2U);
  t.revoke("events", 0);
  EXPECT_EQ(t.in_flight(), 0U);
  EXPECT_EQ(t.find("events", 0).generation, 0U);
  t.acked(p, 50);  // a delivery report that arrives after the revoke
  t.acked(p, 51);
  EXPECT_EQ(t.in_flight(), 0U);
  EXPECT_TRUE(take(t).empty());
  t.consumed(p, 52, 0);  // a consume with the stale reference is ignored too
  EXPECT_TRUE(take(t).empty());
}

TEST(offset_tracker, a_revoked_commit_point_is_not_reported) {
  offset_tracker t;
  const auto p = t.assign("events", 0);
  t.consumed(p, 5, 0);  // moved, not yet taken
  t.revoke("events", 0);
  EXPECT_TRUE(take(t).empty());
}

TEST(offset_tracker, reassign_gets_a_new_generation_and_old_acks_do_not_touch_it) {
  offset_tracker t;
  const auto old_ref = t.assign("events", 0);
  t.consumed(old_ref, 50, 1);
  t.revoke("events", 0);
  const auto new_ref = t.assign("events", 0);
  EXPECT_NE(new_ref.generation, 0U);
  EXPECT_NE(new_ref.generation, old_ref.generation);
  EXPECT_EQ(t.find("events", 0).generation, new_ref.generation);

  t.consumed(new_ref, 50, 1);  // the new owner re-consumes the same offset
  t.acked(old_ref, 50);        // late report for the old assignment
  EXPECT_EQ(t.in_flight(), 1U);
  EXPECT_TRUE(take(t).empty());
  t.acked(new_ref, 50);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 0, 51}}));
}

TEST(offset_tracker, a_freed_slot_reused_by_another_partition_ignores_the_old_reference) {
  offset_tracker t;
  const auto old_ref = t.assign("events", 0);
  t.consumed(old_ref, 7, 1);
  t.revoke("events", 0);
  const auto other = t.assign("events", 5);
  t.consumed(other, 7, 1);
  t.acked(old_ref, 7);
  EXPECT_EQ(t.in_flight(), 1U);
  EXPECT_TRUE(take(t).empty());
  t.acked(other, 7);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 5, 8}}));
}

TEST(offset_tracker, revoking_one_partition_leaves_the_others_alone) {
  offset_tracker t;
  const auto a = t.assign("events", 0);
  const auto b = t.assign("events", 1);
  t.consumed(a, 1, 1);
  t.consumed(b, 1, 1);
  t.revoke("events", 0);
  EXPECT_EQ(t.in_flight(), 1U);
  t.acked(b, 1);
  EXPECT_EQ(take(t), (std::vector<point>{{"events", 1, 2}}));
  t.revoke("events", 7);  // never assigned: nothing happens
  EXPECT_EQ(t.find("events", 1).generation, b.generation);
}

TEST(offset_tracker, an_unassigned_reference_is_ignored) {
  offset_tracker t;
  t.consumed({}, 1, 1);
  t.acked({}, 1);
  t.consumed({9, 1}, 1, 1);
  EXPECT_EQ(t.in_flight(), 0U);
  EXPECT_TRUE(take(t).empty());
}

}  // namespace
}  // namespace offset_tracker_test
}  // namespace countersign::processor
