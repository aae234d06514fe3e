#pragma once
// What each partition the group assigned to this instance waits for before its messages
// may be processed, as a state machine without Kafka:
//
//   input partitions         assigned ─────────────────────────────────► ready
//   observations partitions  assigned ─► queued ─► restoring ─► owned (ready)
//   deltas partitions        assigned ─► waiting for the global table ─► ready
//   any                      ─► revoked (forgotten; a restore in progress is abandoned)
//
// An observations partition is judged only once its hash records are restored from the
// changelog (one restore at a time); a deltas partition only once the global table has
// caught up with what other instances published, so this instance never publishes a
// signer snapshot older than one already on the table. Without a state store both are
// ready at once. The runner performs the Kafka side (pause, resume, the restore reader)
// from what these methods answer. Single-threaded.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <vector>

namespace countersign::processor::transport {

// What a consumed topic is to this instance.
enum class topic_role : std::uint8_t { input, observations, deltas };

class partition_lifecycle {
 public:
  explicit partition_lifecycle(bool stateful) : stateful_(stateful) {}

  // A partition was assigned. True: it must start paused (held) until it is ready.
  bool assign(topic_role role, std::int32_t partition);
  // A partition was revoked. True: it was being restored, and the caller must stop the
  // restore reader (what was read stays valid; its checkpoint does not move).
  bool revoke(topic_role role, std::int32_t partition);

  // True while messages of the partition must not be processed (it stays paused).
  [[nodiscard]] bool held(topic_role role, std::int32_t partition) const;

  // ── restore, one observations partition at a time ──
  // The partition to restore next, now active; nullopt while one is active or none waits.
  std::optional<std::int32_t> start_restore();
  [[nodiscard]] std::optional<std::int32_t> restoring() const { return active_; }
  // The active restore could not begin (the changelog end or the reader failed): it is
  // tried again first.
  void restore_postponed();
  // The active restore read everything but its records could not be written: it is
  // tried again after the others.
  void restore_failed();
  // The active restore is written: its partition is owned and may be resumed.
  std::int32_t restore_done();
  // Queued or active restores.
  [[nodiscard]] std::size_t restores_pending() const { return queue_.size() + (active_ ? 1U : 0U); }

  // ── the global table gate for deltas partitions ──
  // True once after a deltas partition was assigned: the caller reads the table's end
  // offsets (what others published up to now) as the target to reach.
  [[nodiscard]] bool table_target_needed() const { return need_table_target_ && !deltas_waiting_.empty(); }
  void table_target_taken() { need_table_target_ = false; }
  // The table reached its target: the waiting deltas partitions, now ready.
  std::vector<std::int32_t> release_deltas();
  [[nodiscard]] std::size_t deltas_waiting() const { return deltas_waiting_.size(); }

  // Nothing restoring and no partition waiting for the table.
  [[nodiscard]] bool settled() const { return restores_pending() == 0 && deltas_waiting_.empty(); }

  // ── group membership ──
  // The group answered with an assignment (each assign callback; the first may be
  // empty when the group has more members than partitions).
  void joined() { member_ = true; }
  // The assignment was lost (session timed out, fenced) or the consumer is closing:
  // not a member until the group assigns again.
  void left() { member_ = false; }
  [[nodiscard]] bool member() const { return member_; }
  // Work can flow: a group member whose assigned partitions are all restored and
  // released. Readiness adds what the lifecycle does not know (the global table, state
  // writes).
  [[nodiscard]] bool ready() const { return member_ && settled(); }
  // Owned observations partitions (restored, being processed).
  [[nodiscard]] bool owned(std::int32_t partition) const { return owned_.contains(partition); }

 private:
  bool stateful_;
  std::deque<std::int32_t> queue_;
  std::optional<std::int32_t> active_;
  std::set<std::int32_t> owned_;
  std::set<std::int32_t> deltas_waiting_;
  bool need_table_target_ = false;
  bool member_ = false;
};

}  // namespace countersign::processor::transport
