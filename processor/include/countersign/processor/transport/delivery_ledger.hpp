#pragma once
// Which acknowledgements each consumed message waits for, on top of offset_tracker:
//
// * an output it caused (an alert, an observation, a dead-letter copy): one ticket per
//   produced record, released by its delivery report (or a permanent failure);
// * an internal record in a batch (observations or deltas bound for one partition, sent
//   as one Kafka record): the batch is a group whose members are done when its one
//   record is acknowledged;
// * the state it changed (observations, deltas): it waits for the next flush, and the
//   flush is one epoch whose records (changelog, deltas, signer snapshots) are tickets
//   too; the epoch's members are done when its last record is acknowledged;
// * a Code Integrity verdict held for a join: the message waits under its pipeline
//   token until the verdict is released.
//
// No Kafka: tickets are what the runner passes to librdkafka as a message's opaque and
// gets back in the delivery report. Single-threaded.

#include <countersign/processor/service/offset_tracker.hpp>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

namespace countersign::processor::transport {

// Consumed messages released together: those whose state went out in one flush (done
// when every record of the flush is acknowledged), or those with a record in one batch.
struct ack_group;

// What one produced record acknowledges: one consumed message, or a record of a group.
struct delivery_ticket {
  partition_slot_ref ref;
  std::int64_t offset = -1;
  ack_group* epoch = nullptr;
};

class delivery_ledger {
 public:
  explicit delivery_ledger(offset_tracker& tracker) : tracker_(tracker) {}
  delivery_ledger(const delivery_ledger&) = delete;
  delivery_ledger& operator=(const delivery_ledger&) = delete;

  // A ticket for one output of a consumed message. The caller counts it among the
  // message's pending acknowledgements once the producer took it; if the producer
  // refused it, `discard` it instead.
  delivery_ticket* for_message(partition_slot_ref ref, std::int64_t offset);
  // A ticket the producer refused before it was counted anywhere.
  static void discard(delivery_ticket* ticket) { delete ticket; }
  // The record is delivered (or failed permanently, counted elsewhere): one
  // acknowledgement for what it stands for. Null is ignored.
  void release(delivery_ticket* ticket);

  // A consumed message (counted with one pending acknowledgement for this) whose state
  // goes out with the next flush.
  void await_flush(partition_slot_ref ref, std::int64_t offset) { waiting_.emplace_back(ref, offset); }
  [[nodiscard]] std::size_t awaiting_flush() const { return waiting_.size(); }
  // Starts a flush: the waiting messages become its members.
  ack_group* open_flush();
  // A ticket for one record of the flush; released like any other (also when the
  // producer refused it: the flush does not wait for what will never be delivered).
  delivery_ticket* for_flush(ack_group* epoch);
  // Ends the flush. Not `written`: the state did not reach the store, so its members
  // wait for the next flush. Otherwise they are done once every record is released.
  void close_flush(ack_group* epoch, bool written);

  // A message (counted with `verdicts` pending acknowledgements for them) holds Code
  // Integrity verdicts under `token` until each is released or forwarded.
  void hold(std::uint64_t token, partition_slot_ref ref, std::int64_t offset) { held_.emplace(token, delivery_ticket{ref, offset, nullptr}); }
  // A ticket for an output of a held message found only now (a released verdict's
  // observation): adds one pending acknowledgement. Null when the token is unknown, or
  // when the message's partition was revoked since (the token is then forgotten): its
  // next owner reads the message again and holds the verdict itself, so forwarding it
  // here as well would judge it twice.
  delivery_ticket* for_held(std::uint64_t token);
  // The join released the message's verdicts: one acknowledgement, and the token is
  // forgotten.
  void release_held(std::uint64_t token);
  // True, and the token forgotten, when it is held for a message whose partition was
  // revoked since (no longer tracked); the caller drops the verdicts it holds under it
  // (pipeline::forget_held). False for a live or unknown token.
  bool forget_if_revoked(std::uint64_t token);
  [[nodiscard]] std::size_t holding() const { return held_.size(); }

  // A batch of internal records: one Kafka record that carries outputs of several
  // consumed messages. Each message joins it with one pending acknowledgement, which
  // the caller counts (join_held adds it itself: the held message was counted before).
  // When the batch is produced, `for_flush(batch)` is its record's ticket and
  // `close_flush(batch, true)` ends it; its members are done with that delivery.
  ack_group* open_batch();
  void join_batch(ack_group* batch, partition_slot_ref ref, std::int64_t offset);
  // False, and nothing joined, when the token is unknown or its partition was revoked
  // (as for_held).
  bool join_held(ack_group* batch, std::uint64_t token);

 private:
  void epoch_ack(ack_group* epoch);
  // The held message of `token` while its partition is still assigned; a token whose
  // message is no longer tracked (revoked) is forgotten.
  const delivery_ticket* live_held(std::uint64_t token);

  offset_tracker& tracker_;
  std::vector<std::pair<partition_slot_ref, std::int64_t>> waiting_;
  std::unordered_map<std::uint64_t, delivery_ticket> held_;
};

}  // namespace countersign::processor::transport
