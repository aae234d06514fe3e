#pragma once
// `countersign run`: the topology of docs/design.md section 2 on one consumer group.
//
//   input topics ─► ingest ─► <prefix>.observations (key = file hash) ─► hash stage ─► alerts topic
//        │            └─reject─► dead-letter topic                        │  hash records ─► <prefix>.hash-state-changelog
//        │                                                                └─ deltas ─► <prefix>.signer-deltas ─► signer stage
//        │                                                                                                        │
//        │   every instance reads <prefix>.signers fully into its global table ◄── snapshots (compacted) ◄──────┘
//
// One group consumer takes input, observations and deltas partitions; any instance can
// own any of them. Two more consumers belong to no group: the global-table reader
// (every signers partition, from the offset kept in the state store; one per process,
// on a thread of its own, global_table.hpp) and the restore reader of each runner (one
// changelog partition at a time).
//
// Moving state: an assigned observations partition stays paused until its hash records
// are restored from the local checkpoint plus the changelog tail; a deltas partition
// stays paused until the global table has read the signers topic up to its end at
// assignment (its owner publishes whole records, so it must hold everything published
// before). On revocation the combined state is flushed, acknowledged and the offsets
// stored. The service takes no partitions before the global table has caught up with
// the signers topic; /readyz is true only when nothing is restoring or waiting.
//
// Invariants: an input offset is committed only after the observations it caused are
// acknowledged; an observations or deltas offset only after the alerts and the state
// records (changelog, deltas, snapshots) of its flush are acknowledged (at-least-once
// end to end; state merges are idempotent, alerts carry deterministic ids). A failed
// delivery is produced again unless the error is permanent (then counted and logged);
// a bad message never blocks its partition. One thread runs everything of a runner;
// processing.threads runs several runners in one process (main.cpp), each a member of
// the group with partitions of its own, sharing the state store and the global table's
// reader. SIGTERM (via
// `stop`) stops fetching, flushes, waits for acknowledgements up to
// processing.drain_timeout, commits, closes.

#include <countersign/metrics/health.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/service/global_table.hpp>
#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/service/metrics_bridge.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <expected>
#include <memory>
#include <mutex>
#include <string>

namespace countersign::processor {

// Where the processing threads of one process meet before leaving the group: each
// commits its offsets first, and none closes its consumer (leaves the group) until every
// thread has committed or left early. A member leaving starts a rebalance, and a commit
// of another thread that lands in it can be refused (REBALANCE_IN_PROGRESS): that
// thread's last finished work was then processed again by the next owner, and its close
// waited out the rebalance (kafka_run.sigterm_mid_stream… failed once so, on Kafka 4
// with two threads, 1,729 alerts twice).
class leave_gate {
 public:
  explicit leave_gate(std::size_t threads) : waiting_(threads) {}
  // This thread has committed (or will never commit: it failed or stopped early).
  // Idempotent per caller through `arrived`.
  void arrive(bool& arrived);
  // Waits until every thread arrived, at most `timeout` (a stuck thread does not hold
  // the others forever). True when all did.
  bool wait(std::chrono::milliseconds timeout);

 private:
  std::mutex mutex_;
  std::condition_variable all_;
  std::size_t waiting_;
};

// What the processing threads of a process share besides the store: rule sets and lists
// read once and swapped whole on reload, the global table's reader, and the gate they
// leave the group through. Null members: each runner reads its own (or leaves alone).
struct shared_content {
  std::shared_ptr<shared_sigma_library> sigma;
  std::shared_ptr<shared_intel_library> intel;
  std::shared_ptr<global_table> table;  // with a state store
  std::shared_ptr<leave_gate> leave;
};

class kafka_runner {
 public:
  // Processing thread `thread` of `threads` (processing.threads): its own clients (a group
  // member of its own), pipeline and stages; `store` is a session of the process's state
  // store (prevalence_store::session), `health` has one part per thread, and `shared`
  // the process's Sigma library, intel lists and global table (started by the first
  // runner that needs it; its owner stops it once every runner is done). The runner that
  // publishes the table's counts is thread 0, or the one that made its own table.
  kafka_runner(const config& cfg, std::shared_ptr<metrics::health_state> health,
               metrics_bridge* metrics, state::prevalence_store* store = nullptr, std::size_t thread = 0,
               std::size_t threads = 1, shared_content shared = {});
  ~kafka_runner();
  kafka_runner(const kafka_runner&) = delete;
  kafka_runner& operator=(const kafka_runner&) = delete;

  // Runs until `stop` becomes true or a fatal Kafka error occurs. Returns an error
  // message for start-up failures and fatal errors.
  [[nodiscard]] std::expected<void, std::string> run(const std::atomic<bool>& stop);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace countersign::processor
