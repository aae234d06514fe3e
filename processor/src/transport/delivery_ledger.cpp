#include <countersign/processor/transport/delivery_ledger.hpp>

namespace countersign::processor::transport {

// The consumed messages whose state went out in one flush: done when every record of
// the flush is acknowledged.
struct flush_epoch {
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

flush_epoch* delivery_ledger::open_flush() {
  auto* epoch = new flush_epoch;
  epoch->members.swap(waiting_);
  return epoch;
}

delivery_ticket* delivery_ledger::for_flush(flush_epoch* epoch) {
  ++epoch->remaining;
  return new delivery_ticket{{}, -1, epoch};
}

void delivery_ledger::close_flush(flush_epoch* epoch, bool written) {
  if (!written) {
    waiting_.insert(waiting_.end(), epoch->members.begin(), epoch->members.end());
    epoch->members.clear();
  }
  epoch_ack(epoch);
}

void delivery_ledger::epoch_ack(flush_epoch* epoch) {
  if (--epoch->remaining > 0) return;
  for (const auto& [ref, offset] : epoch->members) tracker_.acked(ref, offset);
  delete epoch;
}

delivery_ticket* delivery_ledger::for_held(std::uint64_t token) {
  const auto it = held_.find(token);
  if (it == held_.end()) return nullptr;
  tracker_.add_pending(it->second.ref, it->second.offset, 1);
  return new delivery_ticket{it->second};
}

void delivery_ledger::release_held(std::uint64_t token) {
  const auto it = held_.find(token);
  if (it == held_.end()) return;
  tracker_.acked(it->second.ref, it->second.offset);
  held_.erase(it);
}

}  // namespace countersign::processor::transport
