// Delivery accounting of `countersign run` (processor/src/transport/delivery_ledger.cpp):
// a consumed offset becomes committable only once every output it caused, the flush of
// the state it changed and its held Code Integrity verdicts are acknowledged.

#include <countersign/processor/transport/delivery_ledger.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>

namespace countersign::processor::transport {
namespace delivery_ledger_test {  // one per file: the test programs are unity builds
namespace {

// The commit point of the one partition, if it moved.
std::optional<std::int64_t> committable(offset_tracker& t) {
  const auto points = t.take_committable();
  if (points.empty()) return std::nullopt;
  return points.back().next_offset;
}

TEST(delivery_ledger, a_message_is_done_when_each_of_its_outputs_is_delivered) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 0);
  auto* alert = l.for_message(ref, 0);
  auto* dead_letter = l.for_message(ref, 0);
  t.consumed(ref, 0, 2);
  l.release(alert);
  EXPECT_EQ(committable(t), std::nullopt);
  l.release(dead_letter);
  EXPECT_EQ(committable(t), 1);
  l.release(nullptr);  // ignored
}

TEST(delivery_ledger, a_refused_ticket_is_discarded_without_acknowledging_anything) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 0);
  auto* taken = l.for_message(ref, 0);
  delivery_ledger::discard(l.for_message(ref, 0));  // the producer refused it: not counted
  t.consumed(ref, 0, 1);
  EXPECT_EQ(committable(t), std::nullopt);
  l.release(taken);
  EXPECT_EQ(committable(t), 1);
}

TEST(delivery_ledger, state_changes_are_done_only_when_the_whole_flush_is_acknowledged) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("countersign.observations", 3);
  for (std::int64_t o = 0; o < 3; ++o) {
    t.consumed(ref, o, 1);
    l.await_flush(ref, o);
  }
  EXPECT_EQ(l.awaiting_flush(), 3U);
  ack_group* e = l.open_flush();
  EXPECT_EQ(l.awaiting_flush(), 0U);
  auto* changelog = l.for_flush(e);
  auto* delta = l.for_flush(e);
  l.close_flush(e, true);
  l.release(changelog);
  EXPECT_EQ(committable(t), std::nullopt) << "one record of the flush is still in flight";
  l.release(delta);
  EXPECT_EQ(committable(t), 3);
}

TEST(delivery_ledger, a_flush_with_no_records_completes_when_closed) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("countersign.signer-deltas", 0);
  t.consumed(ref, 10, 1);
  l.await_flush(ref, 10);
  ack_group* e = l.open_flush();
  EXPECT_EQ(committable(t), std::nullopt);
  l.close_flush(e, true);
  EXPECT_EQ(committable(t), 11);
}

TEST(delivery_ledger, a_flush_whose_state_was_not_written_keeps_its_messages_for_the_next) {
  // A full disk: the records that did go out are acknowledged, but the messages stay
  // uncommitted until a flush writes their state.
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("countersign.observations", 0);
  t.consumed(ref, 0, 1);
  l.await_flush(ref, 0);
  ack_group* failed = l.open_flush();
  auto* sent = l.for_flush(failed);
  l.close_flush(failed, false);
  l.release(sent);
  EXPECT_EQ(committable(t), std::nullopt);
  EXPECT_EQ(l.awaiting_flush(), 1U);

  ack_group* retry = l.open_flush();
  l.close_flush(retry, true);
  EXPECT_EQ(committable(t), 1);
}

TEST(delivery_ledger, a_flush_record_delivered_before_the_flush_closes_does_not_complete_it) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("countersign.observations", 0);
  t.consumed(ref, 0, 1);
  l.await_flush(ref, 0);
  ack_group* e = l.open_flush();
  l.release(l.for_flush(e));  // acknowledged at once, while the flush is still producing
  EXPECT_EQ(committable(t), std::nullopt);
  l.close_flush(e, true);
  EXPECT_EQ(committable(t), 1);
}

TEST(delivery_ledger, held_verdicts_keep_their_message_until_released_and_late_outputs_add_to_it) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 1);
  t.consumed(ref, 5, 1);  // one held verdict
  l.hold(42, ref, 5);
  EXPECT_EQ(l.holding(), 1U);
  auto* observation = l.for_held(42);  // the verdict's observation, forwarded on release
  ASSERT_NE(observation, nullptr);
  l.release_held(42);
  EXPECT_EQ(l.holding(), 0U);
  EXPECT_EQ(committable(t), std::nullopt) << "the forwarded observation is not delivered yet";
  l.release(observation);
  EXPECT_EQ(committable(t), 6);
  EXPECT_EQ(l.for_held(42), nullptr) << "a released token is forgotten";
  l.release_held(42);  // ignored
}

// A verdict held when its partition moved to another member (or thread) is not forwarded
// by the old owner: the new one reads the message again and holds the verdict itself.
// Before, both forwarded it, and the Code Integrity alert came twice.
TEST(delivery_ledger, a_held_verdict_of_a_revoked_partition_is_forgotten_not_forwarded) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 1);
  t.consumed(ref, 5, 1);
  l.hold(42, ref, 5);
  t.consumed(ref, 6, 1);
  l.hold(43, ref, 6);
  t.revoke("events", 1);
  EXPECT_EQ(l.for_held(42), nullptr);
  auto* batch = l.open_batch();
  EXPECT_FALSE(l.join_held(batch, 43));
  l.close_flush(batch, true);
  EXPECT_EQ(l.holding(), 0U) << "both tokens are forgotten";
  // The partition comes back: the same offsets are new messages, held under new tokens.
  const auto again = t.assign("events", 1);
  t.consumed(again, 5, 1);
  l.hold(44, again, 5);
  auto* observation = l.for_held(44);
  ASSERT_NE(observation, nullptr);
  l.release_held(44);
  l.release(observation);
  EXPECT_EQ(committable(t), 6);
}

TEST(delivery_ledger, forget_if_revoked_answers_for_held_tokens_of_revoked_partitions_only) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto gone = t.assign("events", 1);
  const auto kept = t.assign("events", 2);
  t.consumed(gone, 5, 1);
  l.hold(42, gone, 5);
  t.consumed(kept, 9, 1);
  l.hold(43, kept, 9);
  t.revoke("events", 1);
  EXPECT_TRUE(l.forget_if_revoked(42));
  EXPECT_FALSE(l.forget_if_revoked(42)) << "forgotten the first time";
  EXPECT_FALSE(l.forget_if_revoked(43)) << "its partition is still assigned";
  EXPECT_FALSE(l.forget_if_revoked(99)) << "never held";
  EXPECT_EQ(l.holding(), 1U);
  l.release_held(43);
  EXPECT_EQ(committable(t), 10);
}

TEST(delivery_ledger, acknowledgements_for_a_revoked_partition_do_not_commit_for_the_next_assignment) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto old_ref = t.assign("events", 0);
  auto* late = l.for_message(old_ref, 0);
  t.consumed(old_ref, 0, 1);
  t.revoke("events", 0);
  const auto new_ref = t.assign("events", 0);
  t.consumed(new_ref, 0, 1);
  l.release(late);  // from the old assignment: ignored
  EXPECT_EQ(committable(t), std::nullopt);
}

TEST(delivery_ledger, messages_in_a_batch_are_done_with_the_batch_record) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto a = t.assign("events", 0);
  const auto b = t.assign("events", 1);
  ack_group* batch = l.open_batch();
  l.join_batch(batch, a, 0);
  l.join_batch(batch, a, 1);
  l.join_batch(batch, b, 7);
  auto* alert = l.for_message(a, 1);
  t.consumed(a, 0, 1);
  t.consumed(a, 1, 2);  // its observation in the batch and an alert
  t.consumed(b, 7, 1);
  auto* record = l.for_flush(batch);
  l.close_flush(batch, true);
  EXPECT_TRUE(t.take_committable().empty()) << "the batch record is not delivered yet";
  l.release(record);
  const auto points = t.take_committable();
  ASSERT_EQ(points.size(), 2U);
  for (const auto& p : points) EXPECT_EQ(p.next_offset, p.partition == 0 ? 1 : 8) << p.partition;
  l.release(alert);
  EXPECT_EQ(committable(t), 2);
}

TEST(delivery_ledger, a_refused_batch_record_releases_its_members) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 0);
  ack_group* batch = l.open_batch();
  l.join_batch(batch, ref, 0);
  t.consumed(ref, 0, 1);
  l.release(l.for_flush(batch));  // the producer refused it: dropped and counted, not awaited
  EXPECT_EQ(committable(t), std::nullopt) << "open until the batch is closed";
  l.close_flush(batch, true);
  EXPECT_EQ(committable(t), 1);
}

TEST(delivery_ledger, a_held_message_joins_a_batch_with_one_more_acknowledgement) {
  offset_tracker t;
  delivery_ledger l(t);
  const auto ref = t.assign("events", 0);
  t.consumed(ref, 3, 1);  // one held verdict
  l.hold(9, ref, 3);
  ack_group* batch = l.open_batch();
  EXPECT_FALSE(l.join_held(batch, 10)) << "unknown token";
  ASSERT_TRUE(l.join_held(batch, 9));  // the released verdict's observation
  l.release_held(9);
  auto* record = l.for_flush(batch);
  l.close_flush(batch, true);
  EXPECT_EQ(committable(t), std::nullopt);
  l.release(record);
  EXPECT_EQ(committable(t), 4);
}

}  // namespace
}  // namespace delivery_ledger_test
}  // namespace countersign::processor::transport
