#include <countersign/state/merge_operator.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <sys/statvfs.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <vector>

namespace countersign::state {
namespace {

constexpr std::array<std::string_view, k_store_count> k_cf_names = {"hash", "signer", "issuer", "company_signer"};
constexpr std::string_view k_history_key = "history";
constexpr const char* k_windows_cf = "correlation_windows";

// Drops records not seen within the retention horizon of the newest event time, and
// merge operands whose sightings all lie before it (the horizon slides: a sighting older
// than the horizon no longer counts, whether or not it was merged yet).
class retention_filter final : public rocksdb::CompactionFilter {
 public:
  retention_filter(std::int64_t horizon_ms, std::atomic<std::uint64_t>& dropped)
      : horizon_ms_(horizon_ms), dropped_(dropped) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    const auto decoded = prevalence_value::decode(std::string_view(value.data(), value.size()));
    if (!decoded) return false;  // unreadable: keep it, reads count it
    if (decoded->last_seen_ms >= horizon_ms_) return false;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  bool FilterMergeOperand(int level, const rocksdb::Slice& key, const rocksdb::Slice& operand) const override {
    std::string unused;
    bool changed = false;
    return Filter(level, key, operand, &unused, &changed);
  }
  const char* Name() const override { return "countersign.retention"; }

 private:
  std::int64_t horizon_ms_;
  std::atomic<std::uint64_t>& dropped_;
};

class retention_filter_factory final : public rocksdb::CompactionFilterFactory {
 public:
  retention_filter_factory(const std::atomic<std::int64_t>& watermark, std::int64_t retention_ms,
                           std::atomic<std::uint64_t>& dropped)
      : watermark_(watermark), retention_ms_(retention_ms), dropped_(dropped) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(const rocksdb::CompactionFilter::Context&) override {
    const std::int64_t newest = watermark_.load(std::memory_order_relaxed);
    // Before any event time is known nothing is old.
    const std::int64_t horizon =
        newest == std::numeric_limits<std::int64_t>::min() ? newest : newest - retention_ms_;
    return std::make_unique<retention_filter>(horizon, dropped_);
  }
  const char* Name() const override { return "countersign.retention"; }

 private:
  const std::atomic<std::int64_t>& watermark_;
  std::int64_t retention_ms_;
  std::atomic<std::uint64_t>& dropped_;
};

// Drops correlation window records whose expiry is before the window horizon.
class window_filter final : public rocksdb::CompactionFilter {
 public:
  window_filter(std::int64_t horizon_ms, std::atomic<std::uint64_t>& dropped) : horizon_ms_(horizon_ms), dropped_(dropped) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
    const auto parts = split_window_value(std::string_view(value.data(), value.size()));
    if (!parts || parts->expires_ms >= horizon_ms_) return false;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  const char* Name() const override { return "countersign.window_expiry"; }

 private:
  std::int64_t horizon_ms_;
  std::atomic<std::uint64_t>& dropped_;
};

class window_filter_factory final : public rocksdb::CompactionFilterFactory {
 public:
  window_filter_factory(const std::atomic<std::int64_t>& horizon, std::atomic<std::uint64_t>& dropped)
      : horizon_(horizon), dropped_(dropped) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<window_filter>(horizon_.load(std::memory_order_relaxed), dropped_);
  }
  const char* Name() const override { return "countersign.window_expiry"; }

 private:
  const std::atomic<std::int64_t>& horizon_;
  std::atomic<std::uint64_t>& dropped_;
};

// RocksDB's info log, kept off the disk: warnings and errors go to the caller's log,
// the rest is dropped. RocksDB 7.8 built with assertions (Debian's) aborts when its LOG
// file saw a failed append (disk full) and is written again.
class forwarding_logger final : public rocksdb::Logger {
 public:
  using log_fn = std::function<void(bool, std::string_view)>;
  explicit forwarding_logger(log_fn fn) : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL), fn_(std::move(fn)) {}
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}  // unlevelled: headers and info
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel() || !fn_) return;
    char buf[1024];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    const int n = std::vsnprintf(buf, sizeof buf, format, ap);
#pragma GCC diagnostic pop
    if (n < 0) return;
    fn_(level >= rocksdb::InfoLogLevel::ERROR_LEVEL, std::string_view(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1)));
  }

 private:
  log_fn fn_;
};

}  // namespace

std::string_view to_string(store_kind k) noexcept { return k_cf_names[static_cast<std::size_t>(k)]; }

void assign_store_key(std::string& out, std::int32_t partition, std::string_view key) {
  const auto p = static_cast<std::uint32_t>(partition);
  out.clear();
  out.push_back(static_cast<char>(p >> 24));
  out.push_back(static_cast<char>(p >> 16));
  out.push_back(static_cast<char>(p >> 8));
  out.push_back(static_cast<char>(p));
  out.append(key);
}

std::string store_key(std::int32_t partition, std::string_view key) {
  std::string out;
  out.reserve(4 + key.size());
  assign_store_key(out, partition, key);
  return out;
}

std::int32_t store_key_partition(std::string_view full_key) noexcept {
  std::uint32_t p = 0;
  for (std::size_t i = 0; i < 4 && i < full_key.size(); ++i) p = (p << 8) | static_cast<unsigned char>(full_key[i]);
  return static_cast<std::int32_t>(p);
}

void window_value(std::string& out, std::string_view record, std::int64_t expires_ms) {
  out.clear();
  const auto e = static_cast<std::uint64_t>(expires_ms);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(e >> (56 - 8 * i)));
  out.append(record);
}

std::optional<window_parts> split_window_value(std::string_view stored) noexcept {
  if (stored.size() < 8) return std::nullopt;
  std::uint64_t e = 0;
  for (std::size_t i = 0; i < 8; ++i) e = (e << 8) | static_cast<unsigned char>(stored[i]);
  return window_parts{static_cast<std::int64_t>(e), stored.substr(8)};
}

// What every session of one database shares: RocksDB, its handles, and the counters
// and horizons the compaction filters read.
struct prevalence_store::shared_db {
  std::atomic<std::int64_t> watermark{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::int64_t> window_horizon{std::numeric_limits<std::int64_t>::min()};
  std::atomic<std::uint64_t> windows_dropped{0};
  std::atomic<std::uint64_t> dropped{0};
  mutable std::atomic<std::uint64_t> reads{0}, misses{0}, unreadable{0};
  std::atomic<std::uint64_t> merges_written{0};
  std::string path;
  std::uint64_t min_free_bytes = 0;
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<bool> writable{true};
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // [0] default (meta), then the stores

  ~shared_db() {
    for (auto* h : handles) {
      if (db && h) (void)db->DestroyColumnFamilyHandle(h);  // close errors are not actionable here
    }
    if (db) (void)db->Close();
  }
};

// One session: the shared database and a write batch of its own.
struct prevalence_store::impl {
  std::shared_ptr<shared_db> shared;
  shared_db& s;
  rocksdb::DB* db;
  rocksdb::WriteBatch batch;
  std::size_t batch_merges = 0;
  std::int64_t batch_first = std::numeric_limits<std::int64_t>::max();
  std::int64_t batch_last = std::numeric_limits<std::int64_t>::min();
  std::string scratch;
  std::string key_scratch;

  explicit impl(std::shared_ptr<shared_db> d) : shared(std::move(d)), s(*shared), db(shared->db.get()) {}

  rocksdb::ColumnFamilyHandle* cf(store_kind k) const { return s.handles[1 + static_cast<std::size_t>(k)]; }
  rocksdb::ColumnFamilyHandle* windows() const { return s.handles[1 + k_store_count]; }
  rocksdb::ColumnFamilyHandle* meta() const { return s.handles[0]; }
};

prevalence_store::prevalence_store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
prevalence_store::~prevalence_store() = default;

namespace {

std::optional<std::uint64_t> available_bytes(const std::string& path) {
  struct statvfs fs {};
  if (::statvfs(path.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

// Moves `value` forward to `to` (sessions on several threads advance it).
void raise_to(std::atomic<std::int64_t>& value, std::int64_t to) noexcept {
  std::int64_t cur = value.load(std::memory_order_relaxed);
  while (to > cur && !value.compare_exchange_weak(cur, to, std::memory_order_relaxed)) {
  }
}

// Why a write must not be tried now, or empty. Unknown free space (statvfs failed) does
// not block: RocksDB then reports what is wrong itself.
std::string space_shortage(const std::string& path, std::uint64_t min_free) {
  if (min_free == 0) return {};
  const auto free = available_bytes(path);
  if (!free || *free >= min_free) return {};
  return "low space: " + std::to_string(*free) + " bytes free on the filesystem of " + path + ", below state.min_free_bytes (" +
         std::to_string(min_free) + ")";
}

}  // namespace

std::expected<std::unique_ptr<prevalence_store>, std::string> prevalence_store::open(const store_options& o) {
  // Opening replays the write-ahead log and writes a new one and a new manifest: on a
  // full disk that is where RocksDB aborts (see store_options::min_free_bytes).
  std::error_code ec;
  std::filesystem::create_directories(o.path, ec);
  if (auto shortage = space_shortage(o.path, o.min_free_bytes); !shortage.empty()) {
    return std::unexpected("cannot open the state store at " + o.path + ": " + shortage);
  }
  auto p = std::make_shared<shared_db>();
  p->path = o.path;
  p->min_free_bytes = o.min_free_bytes;
  auto cache = rocksdb::NewLRUCache(o.block_cache_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(o.write_buffer_bytes, cache);
  db_options.max_background_jobs = 2;
  db_options.info_log = std::make_shared<forwarding_logger>(o.on_log);

  rocksdb::ColumnFamilyOptions meta;
  meta.merge_operator = make_prevalence_merge_operator();
  rocksdb::ColumnFamilyOptions store = meta;
  // The meta family holds a few counters. RocksDB's recovery from a full disk waits for
  // free space of every family's write buffer together: the 64 MiB default here would
  // keep a small volume read-only long after space returned.
  meta.write_buffer_size = 1 << 20;
  store.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  store.max_successive_merges = o.max_successive_merges;
  store.compaction_filter_factory = std::make_shared<retention_filter_factory>(p->watermark, o.retention_ms, p->dropped);
  store.write_buffer_size = std::max<std::size_t>(o.write_buffer_bytes / k_store_count, 1 << 20);
  // Most reads ask for a key the memtable does not hold (a file seen before the last
  // memtable flush, or never): a bloom filter over the memtable's keys answers those
  // without a search of its skip list.
  store.memtable_whole_key_filtering = true;
  store.memtable_prefix_bloom_size_ratio = 0.05;

  // Correlation windows: whole records replaced per write, no merge operator; expired
  // ones dropped by their own filter. Same cache, a share of the write buffer.
  rocksdb::ColumnFamilyOptions windows;
  windows.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  windows.compaction_filter_factory = std::make_shared<window_filter_factory>(p->window_horizon, p->windows_dropped);
  windows.write_buffer_size = store.write_buffer_size;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {{rocksdb::kDefaultColumnFamilyName, meta}};
  for (const auto name : k_cf_names) descriptors.emplace_back(std::string(name), store);
  descriptors.emplace_back(k_windows_cf, windows);
  rocksdb::DB* raw = nullptr;
  const auto status = rocksdb::DB::Open(db_options, o.path, descriptors, &p->handles, &raw);
  if (!status.ok()) return std::unexpected("cannot open the state store at " + o.path + ": " + status.ToString());
  p->db.reset(raw);

  auto store_ptr = std::unique_ptr<prevalence_store>(new prevalence_store(std::make_unique<impl>(std::move(p))));
  if (auto h = store_ptr->history()) store_ptr->impl_->s.watermark.store(h->last_seen_ms);
  return store_ptr;
}

void prevalence_store::add(store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value& delta) {
  auto& s = impl_->scratch;
  s.clear();
  delta.encode(s);
  assign_store_key(impl_->key_scratch, partition, key);
  const auto status = impl_->batch.Merge(impl_->cf(kind), impl_->key_scratch, s);
  if (status.ok()) ++impl_->batch_merges;
}

void prevalence_store::add_encoded(store_kind kind, std::int32_t partition, std::string_view key,
                                   std::string_view encoded) {
  assign_store_key(impl_->key_scratch, partition, key);
  const auto status = impl_->batch.Merge(impl_->cf(kind), impl_->key_scratch,
                                         rocksdb::Slice(encoded.data(), encoded.size()));
  if (status.ok()) ++impl_->batch_merges;
}

void prevalence_store::put_encoded(store_kind kind, std::int32_t partition, std::string_view key,
                                   std::string_view encoded) {
  auto& p = *impl_;
  assign_store_key(p.key_scratch, partition, key);
  const auto status = p.batch.Put(p.cf(kind), p.key_scratch, rocksdb::Slice(encoded.data(), encoded.size()));
  if (status.ok()) ++p.batch_merges;
}

void prevalence_store::put_window(std::int32_t partition, std::string_view key, std::string_view stored) {
  auto& p = *impl_;
  assign_store_key(p.key_scratch, partition, key);
  if (p.batch.Put(p.windows(), p.key_scratch, rocksdb::Slice(stored.data(), stored.size())).ok()) ++p.batch_merges;
}

void prevalence_store::erase_window(std::int32_t partition, std::string_view key) {
  auto& p = *impl_;
  assign_store_key(p.key_scratch, partition, key);
  if (p.batch.Delete(p.windows(), p.key_scratch).ok()) ++p.batch_merges;
}

std::expected<std::optional<std::string>, std::string> prevalence_store::get_window(std::int32_t partition,
                                                                                    std::string_view key) const {
  std::string value;
  const auto status = impl_->db->Get(rocksdb::ReadOptions(), impl_->windows(), store_key(partition, key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return std::unexpected("reading a correlation window: " + status.ToString());
  return std::optional<std::string>(std::move(value));
}

std::expected<std::size_t, std::string> prevalence_store::for_each_window(std::int32_t partition,
                                                                          const window_fn& fn) const {
  const std::string prefix = store_key(partition, "");
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->windows()));
  std::size_t n = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const rocksdb::Slice k = it->key();
    fn(std::string_view(k.data() + 4, k.size() - 4), std::string_view(it->value().data(), it->value().size()));
    ++n;
  }
  if (!it->status().ok()) return std::unexpected("reading correlation windows: " + it->status().ToString());
  return n;
}

void prevalence_store::set_window_horizon(std::int64_t horizon_ms) noexcept {
  raise_to(impl_->s.window_horizon, horizon_ms);
}

namespace {
std::string meta_key(std::string_view name) { return "meta/" + std::string(name); }
}  // namespace

void prevalence_store::put_meta(std::string_view name, std::int64_t value) {
  std::string encoded(8, '\0');
  for (int i = 0; i < 8; ++i) encoded[static_cast<std::size_t>(i)] = static_cast<char>(static_cast<std::uint64_t>(value) >> (56 - 8 * i));
  (void)impl_->batch.Put(impl_->meta(), meta_key(name), encoded);
}

std::optional<std::int64_t> prevalence_store::get_meta(std::string_view name) const {
  std::string value;
  const auto status = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta(), meta_key(name), &value);
  if (!status.ok() || value.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : value) v = (v << 8) | static_cast<unsigned char>(c);
  return static_cast<std::int64_t>(v);
}

void prevalence_store::observe_time(std::int64_t t) {
  impl_->batch_first = std::min(impl_->batch_first, t);
  impl_->batch_last = std::max(impl_->batch_last, t);
}

std::size_t prevalence_store::pending() const noexcept { return impl_->batch_merges; }

std::expected<void, std::string> prevalence_store::commit() {
  auto& p = *impl_;
  if (p.batch_last != std::numeric_limits<std::int64_t>::min()) {
    prevalence_value span;
    span.first_seen_ms = p.batch_first;
    span.last_seen_ms = p.batch_last;
    p.scratch.clear();
    span.encode(p.scratch);
    if (auto s = p.batch.Merge(p.meta(), std::string(k_history_key), p.scratch); !s.ok()) {
      return std::unexpected("state batch: " + s.ToString());
    }
  }
  if (p.batch.Count() == 0) return {};
  if (auto shortage = space_shortage(p.s.path, p.s.min_free_bytes); !shortage.empty()) {
    p.s.write_errors.fetch_add(1, std::memory_order_relaxed);
    p.s.writable.store(false, std::memory_order_relaxed);
    return std::unexpected(std::move(shortage));
  }
  rocksdb::WriteOptions write;
  const auto status = p.db->Write(write, &p.batch);
  if (!status.ok()) {
    p.s.write_errors.fetch_add(1, std::memory_order_relaxed);
    p.s.writable.store(false, std::memory_order_relaxed);
    return std::unexpected("state write failed: " + status.ToString());
  }
  p.s.writable.store(true, std::memory_order_relaxed);
  p.s.merges_written.fetch_add(p.batch_merges, std::memory_order_relaxed);
  raise_to(p.s.watermark, p.batch_last);
  p.batch.Clear();
  p.batch_merges = 0;
  p.batch_first = std::numeric_limits<std::int64_t>::max();
  p.batch_last = std::numeric_limits<std::int64_t>::min();
  return {};
}

std::unique_ptr<prevalence_store> prevalence_store::session() const {
  return std::unique_ptr<prevalence_store>(new prevalence_store(std::make_unique<impl>(impl_->shared)));
}

std::expected<void, std::string> prevalence_store::recover() {
  auto& p = *impl_;
  if (auto shortage = space_shortage(p.s.path, p.s.min_free_bytes); !shortage.empty()) return std::unexpected(std::move(shortage));
  // OK when there is no background error; Busy while RocksDB's own recovery (its
  // SstFileManager retries every few seconds once space returns) is running.
  const auto status = p.db->Resume();
  if (status.IsBusy()) return std::unexpected(std::string("RocksDB is recovering from a background error"));
  if (!status.ok()) return std::unexpected("RocksDB cannot resume: " + status.ToString());
  return {};
}

bool prevalence_store::writable() const noexcept { return impl_->s.writable.load(std::memory_order_relaxed); }

std::optional<std::uint64_t> prevalence_store::free_bytes() const { return available_bytes(impl_->s.path); }

std::optional<prevalence_value> prevalence_store::get(store_kind kind, std::int32_t partition,
                                                      std::string_view key) const {
  auto& p = *impl_;
  p.s.reads.fetch_add(1, std::memory_order_relaxed);
  // Reused buffers: reads run per observation. Per thread, since reads may come from
  // any thread (writes belong to one).
  thread_local std::string read_key;
  thread_local std::string value;
  assign_store_key(read_key, partition, key);
  const auto status = p.db->Get(rocksdb::ReadOptions(), p.cf(kind), read_key, &value);
  if (status.IsNotFound()) {
    p.s.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (!status.ok()) {
    p.s.unreadable.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  auto decoded = prevalence_value::decode(value);
  if (!decoded) {
    p.s.unreadable.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return std::move(*decoded);
}

std::optional<prevalence_value> prevalence_store::history() const {
  std::string value;
  const auto status = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta(), std::string(k_history_key), &value);
  if (!status.ok()) return std::nullopt;
  auto decoded = prevalence_value::decode(value);
  if (!decoded) return std::nullopt;
  return std::move(*decoded);
}

std::optional<prevalence_value> prevalence_store::get_any_partition(store_kind kind, std::string_view key) const {
  if (kind != store_kind::hash) return get(kind, k_global_partition, key);
  std::optional<prevalence_value> merged;
  for (std::int32_t p = 0; p < k_max_partitions; ++p) {
    auto v = get(kind, p, key);
    if (!v) continue;
    if (merged) merged->merge(*v);
    else merged = std::move(v);
  }
  return merged;
}

std::optional<prevalence_record> prevalence_store::hash(std::string_view sha256) const {
  auto v = get_any_partition(store_kind::hash, sha256);
  if (!v) return std::nullopt;
  return v->view();
}

std::optional<prevalence_record> prevalence_store::signer(std::string_view signer_key) const {
  auto v = get(store_kind::signer, k_global_partition, signer_key);
  if (!v) return std::nullopt;
  return v->view();
}

std::optional<prevalence_record> prevalence_store::issuer(std::string_view issuer_key) const {
  auto v = get(store_kind::issuer, k_global_partition, issuer_key);
  if (!v) return std::nullopt;
  return v->view();
}

std::expected<std::size_t, std::string> prevalence_store::for_each_record(store_kind kind, const record_fn& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kind)));
  std::size_t n = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    if (k.size() < 4) continue;
    fn(store_key_partition(std::string_view(k.data(), k.size())), std::string_view(k.data() + 4, k.size() - 4),
       std::string_view(it->value().data(), it->value().size()));
    ++n;
  }
  if (!it->status().ok()) return std::unexpected("reading " + std::string(to_string(kind)) + ": " + it->status().ToString());
  return n;
}

std::optional<prevalence_record> prevalence_store::company_signer(std::string_view key) const {
  auto v = get(store_kind::company_signer, k_global_partition, key);
  if (!v) return std::nullopt;
  return v->view();
}

prevalence_store::stats prevalence_store::current_stats() const {
  const auto& p = *impl_;
  stats s;
  s.merges_written = p.s.merges_written.load(std::memory_order_relaxed);
  s.reads = p.s.reads.load(std::memory_order_relaxed);
  s.read_misses = p.s.misses.load(std::memory_order_relaxed);
  s.unreadable = p.s.unreadable.load(std::memory_order_relaxed);
  s.dropped_by_retention = p.s.dropped.load(std::memory_order_relaxed);
  s.windows_expired = p.s.windows_dropped.load(std::memory_order_relaxed);
  s.write_errors = p.s.write_errors.load(std::memory_order_relaxed);
  s.writable = p.s.writable.load(std::memory_order_relaxed);
  for (std::size_t i = 1; i < p.s.handles.size(); ++i) {
    std::uint64_t bytes = 0;
    if (p.db->GetIntProperty(p.s.handles[i], "rocksdb.live-sst-files-size", &bytes)) s.sst_bytes += bytes;
    if (p.db->GetIntProperty(p.s.handles[i], "rocksdb.cur-size-all-mem-tables", &bytes)) s.memtable_bytes += bytes;
    if (p.db->GetIntProperty(p.s.handles[i], "rocksdb.estimate-table-readers-mem", &bytes)) s.table_reader_bytes += bytes;
  }
  // One cache serves every store (not the small metadata family): its usage is the same
  // through any of them, and includes what the write buffer manager reserves for memtables.
  if (std::uint64_t bytes = 0; p.s.handles.size() > 1 && p.db->GetIntProperty(p.s.handles[1], "rocksdb.block-cache-usage", &bytes)) {
    s.block_cache_bytes = bytes;
  }
  std::uint64_t delayed = 0;
  std::uint64_t stopped = 0;
  if (p.db->GetIntProperty("rocksdb.actual-delayed-write-rate", &delayed) && delayed > 0) s.write_stalled = true;
  if (p.db->GetIntProperty("rocksdb.is-write-stopped", &stopped) && stopped > 0) s.write_stalled = true;
  return s;
}

std::expected<void, std::string> prevalence_store::compact_all() {
  auto& p = *impl_;
  for (std::size_t i = 1; i < p.s.handles.size(); ++i) {
    if (auto s = p.db->Flush(rocksdb::FlushOptions(), p.s.handles[i]); !s.ok()) return std::unexpected(s.ToString());
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (auto s = p.db->CompactRange(options, p.s.handles[i], nullptr, nullptr); !s.ok()) {
      return std::unexpected(s.ToString());
    }
  }
  return {};
}

}  // namespace countersign::state
