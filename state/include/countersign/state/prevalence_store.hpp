#pragma once
// Fleet prevalence in RocksDB (docs/design.md section 4): one database per process, a column
// family per store, every key prefixed by its partition so a partition's state can be
// dropped or handed over alone. Updates are merges of `prevalence_value` deltas with an
// associative, commutative, idempotent operator, so replays never corrupt counts.
//
// Memory is bounded by configuration, not input: one shared LRU block cache (index and
// filter blocks charged to it) and a WriteBufferManager charged to the same cache.
// A compaction filter drops records whose last sighting is older than the retention
// horizon, measured against the newest event time the store has seen.
//
// Thread safety: RocksDB is thread-safe; this class adds a write batch that belongs to
// the one processing thread that calls add()/commit(). Each further processing thread
// takes a session() of its own: the same database, cache and counters, another batch.

#include <countersign/state/prevalence_value.hpp>
#include <countersign/state/prevalence_view.hpp>

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::state {

enum class store_kind : std::uint8_t { hash, signer, issuer, company_signer };
inline constexpr std::size_t k_store_count = 4;

[[nodiscard]] std::string_view to_string(store_kind k) noexcept;

struct store_options {
  std::string path;                                  // directory of the database
  std::size_t block_cache_bytes = 64ULL << 20;       // shared by all stores
  std::size_t write_buffer_bytes = 32ULL << 20;      // all memtables together, charged to the cache
  std::int64_t retention_ms = 30LL * 86'400'000;     // records unseen for longer are dropped
  // A merge into a key that already has this many operands in the memtable is merged at
  // write time (RocksDB reads the key and stores the result): hot signer and issuer
  // records are read on every observation and written once per flush, so merging at
  // write time is much cheaper than merging a chain of 4 KiB sketches on every read.
  std::size_t max_successive_merges = 1;
  // Writes are refused while the filesystem of `path` has less than this free (0, the
  // default here: no check; the service passes state.min_free_bytes, 256 MiB by default). RocksDB 7.8 built with assertions aborts the process when a write-ahead log
  // append failed for lack of space and the log is touched again (a flush, a sync, a
  // reopen): stopping well before the disk is full keeps it off that path, and leaves
  // room for the memtable flushes and compactions already under way.
  std::uint64_t min_free_bytes = 0;
  // RocksDB's warnings and errors (info messages are dropped), called from RocksDB's
  // threads. RocksDB's own LOG file is not written: on a full disk its failed append
  // followed by the next log line is the assertion that aborts the process.
  std::function<void(bool is_error, std::string_view message)> on_log;
};

// The signer, issuer and (company, signer) stores hold the global table (docs/design.md
// section 2): every instance keeps all of it, under this one partition. The hash store
// is partitioned like the observations topic.
inline constexpr std::int32_t k_global_partition = 0;
// Meta flag set by `countersign replay` on a state directory it filled: the service
// publishes such records to the internal topics once, so every instance gets them.
inline constexpr std::string_view k_unpublished_meta = "bootstrap-unpublished";
// Upper bound on internal-topic partitions (inspect scans them all).
inline constexpr std::int32_t k_max_partitions = 1024;

class prevalence_store final : public prevalence_view {
 public:
  [[nodiscard]] static std::expected<std::unique_ptr<prevalence_store>, std::string> open(
      const store_options& options);
  ~prevalence_store() override;
  prevalence_store(const prevalence_store&) = delete;
  prevalence_store& operator=(const prevalence_store&) = delete;

  // Queues a merge of `delta` into the record (kind, partition, key).
  void add(store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value& delta);
  // Same, with a delta already encoded (restore from a changelog, global table updates).
  void add_encoded(store_kind kind, std::int32_t partition, std::string_view key, std::string_view encoded);
  // Queues the whole record (kind, partition, key), replacing what is stored: for a
  // caller that read the record, merged its delta and wrote the result, so later reads
  // find one value instead of a chain of merge operands. Only safe while no merge for
  // the same key is queued in this batch (the caller owns the key between its read and
  // the commit).
  void put_encoded(store_kind kind, std::int32_t partition, std::string_view key, std::string_view encoded);
  // Queues a bookkeeping value (changelog checkpoints, table offsets) into the same batch,
  // so it becomes durable atomically with the merges it describes.
  void put_meta(std::string_view name, std::int64_t value);
  [[nodiscard]] std::optional<std::int64_t> get_meta(std::string_view name) const;
  // Writes the queued merges as one batch; also advances the event-time watermark.
  // Refused without touching RocksDB while free space is below `min_free_bytes`. On any
  // failure the batch stays queued, whole, for the next commit: nothing is lost, and
  // the store is not writable until a commit succeeds (see recover()).
  [[nodiscard]] std::expected<void, std::string> commit();
  // After a failed commit: checks free space, then asks RocksDB to leave its
  // background-error (read-only) mode (DB::Resume; RocksDB may be recovering by itself,
  // which it reports as busy). Success means a commit may be tried again; it does not
  // write the queued batch.
  [[nodiscard]] std::expected<void, std::string> recover();
  // Another writer on the same database, for another thread: its own write batch, the
  // same RocksDB, block cache, write buffers, counters and retention horizon. Reads see
  // what any session committed. The database closes when the last session is gone.
  [[nodiscard]] std::unique_ptr<prevalence_store> session() const;
  // False from a failed commit until a commit succeeds (in any session).
  [[nodiscard]] bool writable() const noexcept;
  // Bytes available to the process on the filesystem of the store (nullopt: unknown).
  [[nodiscard]] std::optional<std::uint64_t> free_bytes() const;
  [[nodiscard]] std::size_t pending() const noexcept;

  // The merged record, or nullopt when absent (or unreadable, which is counted).
  [[nodiscard]] std::optional<prevalence_value> get(store_kind kind, std::int32_t partition,
                                                    std::string_view key) const;

  // The hash record merged over every partition (inspection: a key lives in one
  // partition, but which one depends on the partition count the service ran with).
  [[nodiscard]] std::optional<prevalence_value> get_any_partition(store_kind kind, std::string_view key) const;

  // prevalence_view: hashes over all partitions, the rest from the global table.
  [[nodiscard]] std::optional<prevalence_record> hash(std::string_view sha256) const override;
  [[nodiscard]] std::optional<prevalence_record> signer(std::string_view signer_key) const override;
  [[nodiscard]] std::optional<prevalence_record> issuer(std::string_view issuer) const override;
  [[nodiscard]] std::optional<prevalence_record> company_signer(std::string_view key) const override;

  // Calls fn(partition, key, encoded record) for every record of a store, in key order
  // (merge operands resolved). Returns the number of records visited.
  using record_fn = std::function<void(std::int32_t partition, std::string_view key, std::string_view encoded)>;
  [[nodiscard]] std::expected<std::size_t, std::string> for_each_record(store_kind kind, const record_fn& fn) const;

  // Correlation windows (docs/sigma.md, "State"): the records of the Sigma correlation
  // evaluator, one per (correlation, group), under the partition that owns the group, in
  // a column family of their own. Plain puts and deletes, queued into the same batch as
  // everything else (so they are durable with the changelog checkpoint that covers them).
  // A record is stored after its 8-byte expiry (event time, see window_value); the
  // compaction filter drops records whose expiry lies before the window horizon.
  void put_window(std::int32_t partition, std::string_view key, std::string_view stored);
  void erase_window(std::int32_t partition, std::string_view key);
  // The committed value as stored (expiry included; the queued batch is not read), or
  // nullopt when absent; an error when RocksDB fails.
  [[nodiscard]] std::expected<std::optional<std::string>, std::string> get_window(std::int32_t partition,
                                                                                 std::string_view key) const;
  // Every committed window record of `partition`, in key order (values as stored).
  using window_fn = std::function<void(std::string_view key, std::string_view stored)>;
  [[nodiscard]] std::expected<std::size_t, std::string> for_each_window(std::int32_t partition,
                                                                        const window_fn& fn) const;
  // Window records whose expiry is before `horizon_ms` are of no use to any evaluator:
  // compactions drop them from then on (the horizon only moves forward).
  void set_window_horizon(std::int64_t horizon_ms) noexcept;

  // Event-time span the store has seen (first and newest event), persisted.
  [[nodiscard]] std::optional<prevalence_value> history() const;
  // Notes an event time: extends the persisted history and the retention watermark.
  void observe_time(std::int64_t event_time_ms);

  struct stats {
    std::uint64_t merges_written = 0;
    std::uint64_t reads = 0;
    std::uint64_t read_misses = 0;
    std::uint64_t unreadable = 0;   // records that failed to decode
    std::uint64_t dropped_by_retention = 0;
    std::uint64_t windows_expired = 0;  // correlation window records dropped by compaction
    std::uint64_t sst_bytes = 0;    // live SST files, from RocksDB
    // Memory RocksDB reports: memtables (active, immutable and pinned, every store), the
    // shared block cache's usage (index and filter blocks, and the memtable reservation of
    // the write buffer manager: the two overlap), and table readers outside the cache.
    std::uint64_t memtable_bytes = 0;
    std::uint64_t block_cache_bytes = 0;
    std::uint64_t table_reader_bytes = 0;
    bool write_stalled = false;     // RocksDB is delaying or stopping writes
    std::uint64_t write_errors = 0; // commits that failed or were refused (low space)
    bool writable = true;           // no commit failed since the last one that succeeded
  };
  [[nodiscard]] stats current_stats() const;

  // Flushes memtables and compacts every store (maintenance and tests: it runs the
  // retention filter over all records now).
  [[nodiscard]] std::expected<void, std::string> compact_all();

 private:
  struct shared_db;
  struct impl;
  explicit prevalence_store(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// A correlation window record as stored: 8 bytes big-endian expiry (event time, ms), then
// the record. split: nullopt when shorter than 8 bytes.
void window_value(std::string& out, std::string_view record, std::int64_t expires_ms);
struct window_parts {
  std::int64_t expires_ms = 0;
  std::string_view record;
};
[[nodiscard]] std::optional<window_parts> split_window_value(std::string_view stored) noexcept;

// The partition-prefixed key of a record: 4 bytes big-endian partition, then the key.
[[nodiscard]] std::string store_key(std::int32_t partition, std::string_view key);
// The same into `out` (replaced), for callers that reuse a buffer.
void assign_store_key(std::string& out, std::int32_t partition, std::string_view key);
// The partition of a store key (its first 4 bytes).
[[nodiscard]] std::int32_t store_key_partition(std::string_view full_key) noexcept;

}  // namespace countersign::state
