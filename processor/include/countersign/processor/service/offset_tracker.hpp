#pragma once
// Which consumed offsets may be committed: an input offset is done once every message
// it caused (an alert, a dead-letter copy) has been acknowledged by the broker, and the
// commit point of a partition is the first offset that is not done yet.
//
// Pure bookkeeping, no Kafka: the runner calls `consumed` after producing a message's
// outputs and `acked` from delivery reports, then stores `take_committable()` results.
// Partitions live in slots; revoking a partition bumps its slot's generation so that
// late acknowledgements for the old assignment are ignored. Single-threaded.

#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

namespace countersign::processor {

struct partition_slot_ref {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
};

class offset_tracker {
 public:
  // Starts tracking a partition (idempotent); returns its current slot reference.
  partition_slot_ref assign(const std::string& topic, std::int32_t partition);
  // Stops tracking a partition; pending acks for it are ignored from now on.
  void revoke(const std::string& topic, std::int32_t partition);
  // Looks up the slot of an assigned partition; generation 0 means not assigned.
  [[nodiscard]] partition_slot_ref find(const std::string& topic, std::int32_t partition) const;

  // Records a consumed message that still waits for `pending` acknowledgements.
  void consumed(partition_slot_ref ref, std::int64_t offset, std::uint32_t pending);
  // More acknowledgements to wait for, for a message still in flight (its deferred
  // outputs became known). Ignored for stale references and for messages already done.
  void add_pending(partition_slot_ref ref, std::int64_t offset, std::uint32_t more);
  // One acknowledgement for (ref, offset). Stale or unknown references are ignored.
  void acked(partition_slot_ref ref, std::int64_t offset);
  // True while (ref, offset) is a message of an assigned partition still waiting for
  // acknowledgements; false once it is done or its partition was revoked.
  [[nodiscard]] bool tracks(partition_slot_ref ref, std::int64_t offset) {
    return find_entry(ref, offset) != nullptr;
  }

  struct commit_point {
    std::string topic;
    std::int32_t partition;
    std::int64_t next_offset;  // the offset to commit: first not yet done
  };
  // Partitions whose commit point moved since the last call.
  [[nodiscard]] std::vector<commit_point> take_committable();

  // Consumed messages not yet done, over all partitions.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }

 private:
  struct entry {
    std::int64_t offset;
    std::uint32_t pending;
  };
  struct slot {
    std::string topic;
    std::int32_t partition = -1;
    std::uint32_t generation = 0;  // 0: free
    bool active = false;
    std::deque<entry> entries;     // increasing offsets
    std::int64_t commit_next = -1; // -1: nothing done yet
    bool moved = false;
  };
  void advance(slot& s);
  entry* find_entry(partition_slot_ref ref, std::int64_t offset);

  std::vector<slot> slots_;
  std::uint32_t next_generation_ = 1;
  std::size_t in_flight_ = 0;
};

}  // namespace countersign::processor
