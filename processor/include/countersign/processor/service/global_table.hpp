#pragma once
// The global signer table's reader: one per process, shared by its processing threads
// (docs/design.md sections 2 and 8, docs/topology.md).
//
//   <prefix>.signers, every partition ─► reader thread ─► signer_stage::apply_snapshot
//        (from the offsets kept in the store)     │          └─► state store (a session of its own)
//                                                 └─► table_progress: next offset per partition,
//                                                     published once committed (atomics)
//   processing threads: start-up gate (caught_up), deltas gate (reached(query_ends()))
//
// Invariants: a partition's published next offset covers only snapshots whose write
// (with that offset, in the same batch) is committed, so a processing thread that sees
// `reached(ends)` reads every one of them from the store. A snapshot that does not
// decode is counted and skipped; its offset is consumed too. While a write fails (disk
// full, RocksDB in its error mode) the reader polls nothing more and retries the write
// with backoff; snapshots wait in the topic. While another session's write fails
// (`prevalence_store::writable` false) it polls nothing either: the processing thread
// that failed retries, the reader resumes once the store is writable again.

#include <countersign/processor/config.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

// librdkafka's client handle (rdkafka.h spells the same typedef).
typedef struct rd_kafka_s rd_kafka_t;  // NOLINT(modernize-use-using)

namespace countersign::processor {

// How far the table has read each signers partition: what the reader has applied to its
// write batch, and what of that is committed and visible to the processing threads. No
// Kafka; the reader thread calls read() and committed(), any thread reached().
class table_progress {
 public:
  // `from`: the next offset of each partition where the store left off (0: none kept).
  explicit table_progress(std::span<const std::int64_t> from);

  // Reader: partition `partition` is applied up to `next` (exclusive; a partition end
  // reported by the consumer counts too). Never moves back; unknown partitions are ignored.
  void read(std::int32_t partition, std::int64_t next) noexcept;
  // Reader: everything read so far is committed; reached() now sees it.
  void committed() noexcept;

  // Any thread: every partition's committed next offset is at least its entry of `ends`
  // (entries beyond the table's partitions are ignored).
  [[nodiscard]] bool reached(std::span<const std::int64_t> ends) const noexcept;
  [[nodiscard]] std::int32_t partitions() const noexcept { return static_cast<std::int32_t>(read_.size()); }

 private:
  std::vector<std::int64_t> read_;  // reader thread only
  std::unique_ptr<std::atomic<std::int64_t>[]> durable_;
};

// The reader. Role: reads every partition of the signers topic into the store's global
// stores for the whole process, so the topic is read and written once however many
// processing threads run. Lifetime: made before the processing threads (main.cpp), or by
// a runner without a shared one; start() by the first thread whose topics exist; stop()
// (or the destructor) once no processing thread runs. Thread: a thread of its own reads
// and writes; the other methods are for any thread.
//
// Why a thread of its own rather than driven by one processing thread: the table must
// keep moving while any processing thread is busy (a rebalance callback that flushes
// and waits up to 30 s, producer back-pressure, its own state stall), because every
// other thread's deltas partitions wait on it; and a stalled processing thread must not
// hold the others' start-up gate. It mostly waits in the consumer's poll.
class global_table {
 public:
  // `store`: the process's state store; the reader writes through a session of its own.
  global_table(const config& cfg, const state::prevalence_store& store);
  ~global_table();
  global_table(const global_table&) = delete;
  global_table& operator=(const global_table&) = delete;

  // Starts the reader on the topic's `partitions` partitions. The first call starts it;
  // later ones (other processing threads) do nothing.
  void start(std::int32_t partitions);
  // Stops reading, closes the consumer. Idempotent; processing threads must be done
  // with query_ends().
  void stop();

  // Waits up to `timeout` for the start-up catch-up or a failure; returns caught_up().
  bool wait_caught_up(std::chrono::milliseconds timeout);
  // The table has read every partition up to its end when the reader started.
  [[nodiscard]] bool caught_up() const noexcept;
  // Every partition is committed up to `ends` (lock-free).
  [[nodiscard]] bool reached(std::span<const std::int64_t> ends) const noexcept;
  // The current end of every partition (one request each, no retries: a caller asks
  // again on its next turn), asked through `client`: a processing thread's producer.
  // Not through the reader's own connection: the broker answers a connection's requests
  // in order, so each would wait behind the reader's long-polling fetch, up to
  // fetch.wait.max.ms (500 ms) per partition, with the processing thread blocked.
  [[nodiscard]] std::expected<std::vector<std::int64_t>, std::string> query_ends(rd_kafka_t* client) const;
  // A state write of the reader failed and is being retried.
  [[nodiscard]] bool stalled() const noexcept;
  // The reader's loop went round within `limit` (it turns at least every second unless
  // stuck in a call), or it does not run. The processing threads stop beating /healthz
  // when it does not, as they would if they read the table themselves.
  [[nodiscard]] bool turning(std::chrono::steady_clock::duration limit) const noexcept;
  // Empty while it runs; else what ended it (start-up failure, fatal Kafka error).
  [[nodiscard]] std::string failure() const;

  // Counts for metrics, published by one processing thread.
  struct stats {
    std::uint64_t records = 0;      // snapshots applied
    std::uint64_t bad_records = 0;  // snapshots that did not decode (skipped)
  };
  [[nodiscard]] stats current_stats() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace countersign::processor
