#include <countersign/processor/replay.hpp>

#include <countersign/processor/engine/record_reader.hpp>

#include <array>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <ostream>
#include <thread>

namespace countersign::processor {
namespace {

// `--threads N`: messages go in chunks of one file through a ring of chunk slots. The
// calling thread reads chunks into free slots and commits the oldest, message by message,
// in input order (pipeline::commit: the Code Integrity join, repeat filter, hash stage,
// suppression, correlations); N - 1 workers prepare chunks (parse, normalize, Sigma,
// pipeline::make_preparer), oldest first. When the oldest chunk is still untouched the
// calling thread prepares it itself. The ring bounds what is buffered: slots x chunk.
constexpr std::size_t k_chunk_messages = 256;
constexpr std::size_t k_slots_per_thread = 4;

struct chunk {
  std::string bytes;                  // the payloads back to back
  std::vector<std::size_t> ends;      // end of each payload in `bytes`
  std::vector<std::int64_t> positions;  // line, or evtx record number
  std::vector<prepared_message> prepared;
  std::string_view file;
  rules::schema_profile forced = rules::schema_profile::unknown;
  // Set by whoever prepares the chunk: the first message that threw, and what it threw.
  std::size_t failed_at = 0;
  std::exception_ptr error;
  bool done = false;  // prepared (guarded by the pool's mutex)

  [[nodiscard]] std::size_t size() const noexcept { return ends.size(); }
  [[nodiscard]] std::string_view payload(std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends[i - 1];
    return std::string_view(bytes).substr(begin, ends[i] - begin);
  }
  void reset(std::string_view name, rules::schema_profile profile) {
    bytes.clear();
    ends.clear();
    positions.clear();
    file = name;
    forced = profile;
    failed_at = 0;
    error = nullptr;
    done = false;
  }
  void add(std::string_view payload, std::int64_t position) {
    bytes.append(payload);
    ends.push_back(bytes.size());
    positions.push_back(position);
  }
  // Replay passes no wall clock and token 0, as the one-thread path does.
  void prepare(message_preparer& p) {
    if (prepared.size() < size()) prepared.resize(size());
    std::size_t i = 0;
    try {
      for (; i < size(); ++i) {
        p.prepare(payload(i), {file, 0, positions[i]}, std::nullopt, 0, forced, prepared[i]);
      }
    } catch (...) {
      failed_at = i;
      error = std::current_exception();
    }
  }
};

class prepare_pool {
 public:
  prepare_pool(pipeline& pipe, unsigned threads) : slots_(k_slots_per_thread * threads) {
    own_ = pipe.make_preparer();
    for (unsigned i = 1; i < threads; ++i) preparers_.push_back(pipe.make_preparer());
    try {
      for (auto& p : preparers_) workers_.emplace_back([this, prep = p.get()] { work(*prep); });
    } catch (...) {
      stop();  // the threads started so far
      throw;
    }
  }
  ~prepare_pool() { stop(); }
  prepare_pool(const prepare_pool&) = delete;
  prepare_pool& operator=(const prepare_pool&) = delete;

  [[nodiscard]] bool full() const noexcept { return filled_ - committed_ == slots_.size(); }
  [[nodiscard]] bool pending() const noexcept { return filled_ > committed_; }
  // The free slot to read the next chunk into (only when !full()).
  chunk& slot_to_fill() { return slots_[filled_ % slots_.size()]; }
  void submit() {
    {
      std::lock_guard lock(mutex_);
      ++filled_;
    }
    work_ready_.notify_one();
  }
  // The oldest submitted chunk, prepared (only when pending()). While a worker prepares
  // it, this thread prepares the next chunk nobody has taken, if there is one.
  chunk& oldest() {
    chunk& c = slots_[committed_ % slots_.size()];
    std::unique_lock lock(mutex_);
    for (;;) {
      if (c.done) return c;
      const bool mine = claimed_ == committed_;  // no worker has the oldest
      if (claimed_ < filled_) {
        chunk& next = slots_[claimed_++ % slots_.size()];
        lock.unlock();
        next.prepare(*own_);
        lock.lock();
        next.done = true;
        if (mine) return c;
        continue;
      }
      done_.wait(lock, [&c] { return c.done; });
    }
  }
  void release_oldest() {
    std::lock_guard lock(mutex_);
    ++committed_;
  }
  // The Sigma evaluation counters of every preparer, added to the pipeline's.
  void add_stats(pipeline& pipe) const {
    pipe.add_preparer_stats(*own_);
    for (const auto& p : preparers_) pipe.add_preparer_stats(*p);
  }

 private:
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    work_ready_.notify_all();
    for (auto& t : workers_) t.join();
  }
  void work(message_preparer& prep) {
    std::unique_lock lock(mutex_);
    for (;;) {
      work_ready_.wait(lock, [this] { return stop_ || claimed_ < filled_; });
      if (stop_) return;
      chunk& c = slots_[claimed_++ % slots_.size()];
      lock.unlock();
      c.prepare(prep);
      lock.lock();
      c.done = true;
      done_.notify_one();  // only the calling thread waits on it
    }
  }

  std::vector<chunk> slots_;
  std::unique_ptr<message_preparer> own_;  // the calling thread's
  std::vector<std::unique_ptr<message_preparer>> preparers_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_, done_;
  // Sequence numbers of chunks: committed_ <= claimed_ <= filled_ (filled_ and committed_
  // change on the calling thread only).
  std::size_t filled_ = 0, claimed_ = 0, committed_ = 0;
  bool stop_ = false;
};

}  // namespace

replay_summary run_replay(const config& cfg, const std::vector<std::string>& files,
                          std::ostream& alerts, std::ostream& diagnostics, state::prevalence_store* store,
                          bool progress, unsigned threads) {
  constexpr std::uint64_t k_reports_per_reason = 20;
  replay_summary summary;
  pipeline pipe(cfg, store);
  std::array<std::uint64_t, k_reject_reason_count> reported{};
  if (pipe.local()) {
    const auto& intel = pipe.local()->initial_intel_report();
    for (const auto& e : intel.errors) {
      diagnostics << e.file;
      if (e.line) diagnostics << ':' << e.line;
      diagnostics << ": " << e.message << '\n';
    }
    summary.intel_errors = intel.errors.size();
  }

  const auto print_alerts = [&] {
    const stage_outputs out = pipe.outputs();
    for (const auto& a : out.sigma_alerts) alerts << a.payload(cfg.alerts.format) << '\n';
    for (const auto& a : out.alerts) alerts << a.payload(cfg.alerts.format) << '\n';
  };
  progress_meter meter(progress);
  // What follows a message, in input order: its alerts, progress, its reject report.
  const auto done = [&](const process_result& res, std::string_view name, std::int64_t position,
                        const record_reader& reader) {
    print_alerts();
    meter.tick(reader);
    if (res.kind == outcome::rejected) {
      auto& n = reported[static_cast<std::size_t>(res.reason)];
      if (n++ < k_reports_per_reason) {
        meter.clear();
        diagnostics << name << ':' << position << ": rejected: " << to_string(res.reason);
        if (!res.detail.empty()) diagnostics << " (" << res.detail << ')';
        diagnostics << '\n';
      }
    }
  };
  std::unique_ptr<prepare_pool> pool;
  if (threads > 1) pool = std::make_unique<prepare_pool>(pipe, threads);
  // Commits the oldest chunk (threads > 1); rethrows what preparing a message threw
  // after the messages before it, as one thread would.
  const auto commit_oldest = [&](const record_reader& reader) {
    chunk& c = pool->oldest();
    const std::size_t ready = c.error ? c.failed_at : c.size();
    for (std::size_t i = 0; i < ready; ++i) done(pipe.commit(c.prepared[i], std::nullopt, 0), c.file, c.positions[i], reader);
    if (c.error) std::rethrow_exception(c.error);
    pool->release_oldest();
  };

  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.emplace_back("-");
  for (const auto& name : inputs) {
    auto opened = record_reader::open(name);
    if (!opened) {
      meter.clear();
      diagnostics << opened.error().message << '\n';
      ++summary.unreadable_files;
      continue;
    }
    record_reader& reader = **opened;
    ++summary.files_by_format[static_cast<std::size_t>(reader.format())];
    const auto it = cfg.input.schemas.find(name);
    const auto forced = it == cfg.input.schemas.end() ? rules::schema_profile::unknown : it->second;
    std::optional<read_error> failed;
    for (bool end = false; !end;) {
      chunk* c = nullptr;
      if (pool) {
        if (pool->full()) {
          commit_oldest(reader);
          continue;
        }
        c = &pool->slot_to_fill();
        c->reset(name, forced);
      }
      for (std::size_t n = 0; !c || n < k_chunk_messages; ++n) {
        auto next = reader.next();
        if (!next) {
          failed = std::move(next.error());
          end = true;
          break;
        }
        if (!*next) {
          end = true;
          break;
        }
        const input_record& rec = **next;
        if (c) {
          c->add(rec.bytes, rec.position);
        } else {
          done(pipe.process(rec.bytes, {name, 0, rec.position}, std::nullopt, 0, forced), name, rec.position, reader);
        }
      }
      if (c && c->size() > 0) pool->submit();
    }
    // This file's messages are committed before anything is said of the file or the next one.
    while (pool && pool->pending()) commit_oldest(reader);
    if (failed) {
      meter.clear();
      diagnostics << failed->message;
      if (!failed->detail.empty()) diagnostics << " (" << failed->detail << ')';
      diagnostics << '\n';
      ++summary.read_errors;
    }
    summary.blank_lines += reader.blank_lines();
  }
  if (pool) {
    pool->add_stats(pipe);
    pool.reset();
  }
  meter.clear();
  pipe.flush(std::nullopt);  // verdicts still waiting for a Code Integrity join
  print_alerts();
  // The input is finished: correlation windows still open are judged now (an
  // upper-bounded condition, `lt: 3`, is otherwise judged only once later events close them).
  pipe.finish_correlations(std::nullopt);
  print_alerts();
  pipe.flush_state();
  if (store && pipe.stats().state_updates > 0) {
    // History that only this directory holds: `countersign run` publishes it once.
    store->put_meta(state::k_unpublished_meta, 1);
    if (auto w = store->commit(); !w) diagnostics << "state: " << w.error() << '\n';
  }
  alerts.flush();
  summary.stats = pipe.stats();
  return summary;
}

}  // namespace countersign::processor
