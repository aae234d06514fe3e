#include <countersign/processor/service/global_table.hpp>
#include <countersign/processor/engine/signer_stage.hpp>
#include <countersign/processor/service/state_write_retry.hpp>

#include "kafka_client.hpp"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

namespace countersign::processor {

// ───────────────────────────── progress ─────────────────────────────

table_progress::table_progress(std::span<const std::int64_t> from)
    : read_(from.begin(), from.end()), durable_(std::make_unique<std::atomic<std::int64_t>[]>(from.size())) {
  for (std::size_t p = 0; p < from.size(); ++p) durable_[p].store(from[p], std::memory_order_relaxed);
}

void table_progress::read(std::int32_t partition, std::int64_t next) noexcept {
  if (partition < 0 || static_cast<std::size_t>(partition) >= read_.size()) return;
  auto& at = read_[static_cast<std::size_t>(partition)];
  at = std::max(at, next);
}

void table_progress::committed() noexcept {
  for (std::size_t p = 0; p < read_.size(); ++p) durable_[p].store(read_[p], std::memory_order_release);
}

bool table_progress::reached(std::span<const std::int64_t> ends) const noexcept {
  const std::size_t n = std::min(ends.size(), read_.size());
  for (std::size_t p = 0; p < n; ++p) {
    if (durable_[p].load(std::memory_order_acquire) < ends[p]) return false;
  }
  return true;
}

// ───────────────────────────── reader ─────────────────────────────

using clock_type = std::chrono::steady_clock;

struct global_table::impl {
  const config& cfg;
  const std::string topic;
  std::unique_ptr<state::prevalence_store> session;
  signer_stage snapshots;  // apply_snapshot and table_offset only

  // Shared with the processing threads.
  mutable std::mutex mutex;           // start, failure text, waits
  std::condition_variable changed;    // caught up, failed, stopping
  bool started = false;
  std::string failure_text;
  std::atomic<bool> failed{false};
  std::atomic<bool> caught_up{false};
  std::atomic<bool> stalled{false};
  std::atomic<bool> stopping{false};
  std::atomic<bool> give_up{false};  // stopping or a fatal error: ends start-up lookups
  std::atomic<bool> running{false};  // the thread is in run()
  std::atomic<clock_type::rep> last_turn{0};  // steady clock ticks
  std::atomic<std::uint64_t> records{0};
  std::atomic<std::uint64_t> bad_records{0};
  std::atomic<rd_kafka_t*> consumer{nullptr};
  std::optional<table_progress> progress;            // set by start(), before the thread runs
  std::vector<std::optional<std::int64_t>> resume;   // where the store left off, by partition
  std::thread thread;

  // The reader thread only (and the consumer's callbacks, which its polls serve).
  std::string fatal;
  bool starting = true;  // TLS failures are configuration errors until caught up
  std::vector<std::int64_t> start_ends;
  std::uint64_t uncommitted = 0;
  state_write_retry retry;
  service::log_throttle consume_log, state_log, broker_log;

  impl(const config& c, const state::prevalence_store& store)
      : cfg(c), topic(topics_of(c).signers), session(store.session()), snapshots(*session) {}

  void run();
  void turned() noexcept { last_turn.store(clock_type::now().time_since_epoch().count(), std::memory_order_relaxed); }
  std::expected<void, std::string> open();
  void step();
  void commit();
  void retry_commit();
  void note_failure(const std::string& error);
  void fail(const std::string& error) {
    {
      std::lock_guard lock(mutex);
      if (failure_text.empty()) failure_text = error;
      failed.store(true, std::memory_order_release);
    }
    changed.notify_all();
  }
  // Sleeps up to `d`, less when stopping.
  void pause_for(clock_type::duration d) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, d, [&] { return stopping.load(std::memory_order_relaxed); });
  }
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
};

void global_table::impl::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  if (auto f = service::fatal_client_error(rk, err, reason, self->starting)) {
    self->fatal = *f;
    self->give_up.store(true, std::memory_order_relaxed);
    return;
  }
  self->broker_log.warn("kafka (global table): {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

std::expected<void, std::string> global_table::impl::open() {
  auto c = service::make_client(cfg.kafka, RD_KAFKA_CONSUMER, service::reader_properties(cfg.kafka), cfg.kafka.consumer,
                                "consumer", false, 0, {.opaque = this, .error = &impl::on_error});
  if (!c) return std::unexpected(c.error());
  consumer.store(*c, std::memory_order_release);
  const auto partitions = progress->partitions();
  start_ends.assign(static_cast<std::size_t>(partitions), 0);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (std::int32_t p = 0; p < partitions; ++p) {
    const auto& from = resume[static_cast<std::size_t>(p)];
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = from.value_or(RD_KAFKA_OFFSET_BEGINNING);
    if (const auto err = service::query_end(*c, topic, p, start_ends[static_cast<std::size_t>(p)], 40, &give_up)) {
      rd_kafka_topic_partition_list_destroy(list);
      if (!fatal.empty()) return std::unexpected(fatal);
      if (stopping.load()) return std::unexpected(std::string("stopped"));
      return std::unexpected("cannot read the end of " + topic + ": " + rd_kafka_err2str(err));
    }
  }
  const auto err = rd_kafka_assign(*c, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return std::unexpected(std::string("cannot read ") + topic + ": " + rd_kafka_err2str(err));
  return {};
}

void global_table::impl::run() {
  struct ended {
    std::atomic<bool>& running;
    ~ended() { running.store(false, std::memory_order_relaxed); }
  } at_exit{running};
  if (auto r = open(); !r) {
    fail(r.error());
    return;
  }
  const auto began = clock_type::now();
  while (!stopping.load(std::memory_order_relaxed)) {
    turned();
    if (!fatal.empty()) {
      fail(fatal);
      return;
    }
    step();
    if (!caught_up.load(std::memory_order_relaxed) && progress->reached(start_ends)) {
      starting = false;
      {
        std::lock_guard lock(mutex);
        caught_up.store(true, std::memory_order_release);
      }
      changed.notify_all();
      spdlog::info("global table: {} snapshots read from {} in {} ms", records.load(), topic,
                   std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - began).count());
    }
  }
}

void global_table::impl::step() {
  if (stalled.load(std::memory_order_relaxed)) {
    retry_commit();
    return;
  }
  // Another session's write failed: its thread retries; snapshots wait in the topic
  // (librdkafka's fetch queue is bounded) instead of piling up in this batch.
  if (!session->writable()) {
    pause_for(std::chrono::milliseconds(100));
    return;
  }
  rd_kafka_t* rk = consumer.load(std::memory_order_relaxed);
  for (int i = 0; i < 1000; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, i == 0 ? 100 : 0);
    if (m == nullptr) break;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      progress->read(m->partition, m->offset);
    } else if (m->err) {
      consume_log.warn("reading {}: {}", topic, rd_kafka_message_errstr(m));
    } else {
      const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      const std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
      if (snapshots.apply_snapshot(m->partition, m->offset + 1, key, value)) {
        records.fetch_add(1, std::memory_order_relaxed);
      } else {
        bad_records.fetch_add(1, std::memory_order_relaxed);
        state_log.warn("{}/{}@{}: snapshot does not decode; skipped", topic, m->partition, m->offset);
      }
      progress->read(m->partition, m->offset + 1);
      ++uncommitted;
    }
    rd_kafka_message_destroy(m);
  }
  commit();
}

void global_table::impl::commit() {
  if (uncommitted > 0) {
    if (auto written = snapshots.commit_snapshots(); !written) {
      note_failure(written.error());
      return;
    }
    uncommitted = 0;
  }
  progress->committed();
}

// Once per episode an error line with the cause; later failures only move the retry.
void global_table::impl::note_failure(const std::string& error) {
  const bool first = !stalled.load(std::memory_order_relaxed);
  if (first) {
    stalled.store(true, std::memory_order_relaxed);
    spdlog::error("global table write failed: {}; reading {} paused until state writes succeed again (/readyz "
                  "503, retrying with backoff)",
                  error, topic);
  }
  retry.failed(clock_type::now(), first);
}

void global_table::impl::retry_commit() {
  if (const auto now = clock_type::now(); !retry.due(now)) {
    pause_for(std::min<clock_type::duration>(retry.retry_at - now, std::chrono::seconds(1)));
    return;
  }
  if (auto r = session->recover(); !r) {
    note_failure(r.error());
    return;
  }
  if (auto w = snapshots.commit_snapshots(); !w) {
    note_failure(w.error());
    return;
  }
  uncommitted = 0;
  progress->committed();
  stalled.store(false, std::memory_order_relaxed);
  spdlog::info("global table: state writes succeed again after {:.1f} s ({} failed attempt(s)); reading {} again",
               retry.seconds_since_start(clock_type::now()), retry.attempts, topic);
}

// ───────────────────────────── global_table ─────────────────────────────

global_table::global_table(const config& cfg, const state::prevalence_store& store)
    : impl_(std::make_unique<impl>(cfg, store)) {}

global_table::~global_table() { stop(); }

void global_table::start(std::int32_t partitions) {
  std::lock_guard lock(impl_->mutex);
  if (impl_->started || impl_->stopping.load()) return;
  impl_->started = true;
  std::vector<std::int64_t> from(static_cast<std::size_t>(std::max(partitions, 0)), 0);
  impl_->resume.resize(from.size());
  for (std::int32_t p = 0; p < partitions; ++p) {
    impl_->resume[static_cast<std::size_t>(p)] = impl_->snapshots.table_offset(p);
    from[static_cast<std::size_t>(p)] = impl_->resume[static_cast<std::size_t>(p)].value_or(0);
  }
  impl_->progress.emplace(from);
  impl_->turned();
  impl_->running.store(true);
  impl_->thread = std::thread([this] { impl_->run(); });
}

void global_table::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping.store(true);
    impl_->give_up.store(true);
  }
  impl_->changed.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (rd_kafka_t* c = impl_->consumer.exchange(nullptr)) {
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
  }
}

bool global_table::wait_caught_up(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait_for(lock, timeout, [&] {
    return impl_->caught_up.load() || impl_->failed.load() || impl_->stopping.load();
  });
  return impl_->caught_up.load();
}

bool global_table::caught_up() const noexcept { return impl_->caught_up.load(std::memory_order_acquire); }

bool global_table::stalled() const noexcept { return impl_->stalled.load(std::memory_order_relaxed); }

bool global_table::turning(std::chrono::steady_clock::duration limit) const noexcept {
  if (!impl_->running.load(std::memory_order_relaxed)) return true;
  const clock_type::time_point last{clock_type::duration(impl_->last_turn.load(std::memory_order_relaxed))};
  return clock_type::now() - last <= limit;
}

bool global_table::reached(std::span<const std::int64_t> ends) const noexcept {
  return impl_->progress && impl_->progress->reached(ends);
}

std::expected<std::vector<std::int64_t>, std::string> global_table::query_ends(rd_kafka_t* client) const {
  if (client == nullptr || impl_->consumer.load(std::memory_order_acquire) == nullptr || !impl_->progress) {
    return std::unexpected(std::string("the global table is not reading"));
  }
  std::vector<std::int64_t> ends(static_cast<std::size_t>(impl_->progress->partitions()), 0);
  for (std::size_t p = 0; p < ends.size(); ++p) {
    if (const auto err = service::query_end(client, impl_->topic, static_cast<std::int32_t>(p), ends[p], 1)) {
      return std::unexpected(std::string(rd_kafka_err2str(err)));
    }
  }
  return ends;
}

std::string global_table::failure() const {
  if (!impl_->failed.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(impl_->mutex);
  return impl_->failure_text;
}

global_table::stats global_table::current_stats() const noexcept {
  return {impl_->records.load(std::memory_order_relaxed), impl_->bad_records.load(std::memory_order_relaxed)};
}

}  // namespace countersign::processor
