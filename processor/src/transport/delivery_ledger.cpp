#include <countersign/processor/transport/delivery_ledger.hpp>

namespace countersign::processor::transport {

// The consumed messages whose state went out in one flush, or whose records went out in
// one batch: done when every record of the flush (the batch's one) is acknowledged.
struct ack_group {
  std::vector<std::pair<partition_slot_ref, std::int64_t>> members;
  std::uint32_t remaining = 1;  // records in flight, plus 1 until the flush is closed
};

delivery_ticket* delivery_ledger::for_message(partition_slot_ref ref, std::int64_t offset) {
  return new delivery_ticket{ref, offset, nullptr};
}

void delivery_ledger::release(delivery_ticket* ticket) {
  if (ticket == nullptr) return;
  if (ticket->epoch) epoch_ack(ticket->epoch);
  else tracker_.acked(ticket->ref, ticket->offset);
  delete ticket;
}

ack_group* delivery_ledger::open_flush() {
  auto* epoch = new ack_group;
  epoch->members.swap(waiting_);
  return epoch;
}

delivery_ticket* delivery_ledger::for_flush(ack_group* epoch) {
  ++epoch->remaining;
  return new delivery_ticket{{}, -1, epoch};
}

void delivery_ledger::close_flush(ack_group* epoch, bool written) {
  if (!written) {
    waiting_.insert(waiting_.end(), epoch->members.begin(), epoch->members.end());
    epoch->members.clear();
  }
  epoch_ack(epoch);
}

void delivery_ledger::epoch_ack(ack_group* epoch) {
  if (--epoch->remaining > 0) return;
  for (const auto& [ref, offset] : epoch->members) tracker_.acked(ref, offset);
  delete epoch;
}

ack_group* delivery_ledger::open_batch() { return new ack_group; }

void delivery_ledger::join_batch(ack_group* batch, partition_slot_ref ref, std::int64_t offset) {
  batch->members.emplace_back(ref, offset);
}

const delivery_ticket* delivery_ledger::live_held(std::uint64_t token) {
  const auto it = held_.find(token);
  if (it == held_.end()) return nullptr;
  if (!tracker_.tracks(it->second.ref, it->second.offset)) {
    held_.erase(it);
    return nullptr;
  }
  return &it->second;
}

bool delivery_ledger::forget_if_revoked(std::uint64_t token) {
  return held_.contains(token) && live_held(token) == nullptr;
}

bool delivery_ledger::join_held(ack_group* batch, std::uint64_t token) {
  const delivery_ticket* held = live_held(token);
  if (held == nullptr) return false;
  tracker_.add_pending(held->ref, held->offset, 1);
  batch->members.emplace_back(held->ref, held->offset);
  return true;
}

delivery_ticket* delivery_ledger::for_held(std::uint64_t token) {
  const delivery_ticket* held = live_held(token);
  if (held == nullptr) return nullptr;
  tracker_.add_pending(held->ref, held->offset, 1);
  return new delivery_ticket{*held};
}

void delivery_ledger::release_held(std::uint64_t token) {
  const auto it = held_.find(token);
  if (it == held_.end()) return;
  tracker_.acked(it->second.ref, it->second.offset);
  held_.erase(it);
}

}  // namespace countersign::processor::transport
