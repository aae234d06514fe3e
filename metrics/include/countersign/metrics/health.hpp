#pragma once
// Liveness and readiness as the HTTP endpoints report them.
//
// The processing loop calls `beat()` every turn; `/healthz` fails when the last beat is
// older than the stall limit, so a wedged loop is restarted by the orchestrator rather
// than left alive and idle. Before the loop starts (opening the state directory, creating
// topics, reading the global table up to its end), the process counts as alive for up to
// the start-up limit: a slow start is bounded by that (and by a startupProbe), not by
// the stall limit. Readiness is set by the processor. With several processing threads
// each reports as its own part (`set_parts`): one wedged thread fails `/healthz`, one
// restoring thread keeps `/readyz` at 503. Thread-safe: written by the processing
// threads, read by HTTP worker threads.

#include <array>
#include <atomic>
#include <cstddef>
#include <chrono>
#include <cstdint>

namespace countersign::metrics {

class health_state {
 public:
  // Processing loops reporting here (one per processing thread); each has its beat,
  // readiness and start. The process is alive while every loop beats, started when every
  // loop started, ready when every loop is ready.
  static constexpr std::size_t k_max_parts = 64;

  explicit health_state(std::chrono::milliseconds stall_limit = std::chrono::seconds(60),
                        std::chrono::milliseconds startup_limit = std::chrono::minutes(30))
      : stall_limit_(stall_limit), startup_limit_(startup_limit), created_ns_(now_ns()) {
    for (auto& b : last_beat_ns_) b.store(created_ns_, std::memory_order_relaxed);
  }

  // Before the loops start; 1 to k_max_parts.
  void set_parts(std::size_t parts) noexcept {
    parts_.store(parts == 0 ? 1 : (parts > k_max_parts ? k_max_parts : parts), std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t parts() const noexcept { return parts_.load(std::memory_order_relaxed); }

  void beat(std::size_t part = 0) noexcept { last_beat_ns_[slot(part)].store(now_ns(), std::memory_order_relaxed); }
  void set_ready(bool ready) noexcept { set_ready(0, ready); }
  void set_ready(std::size_t part, bool ready) noexcept { set_bit(ready_, part, ready); }
  // The loop runs: from now on only the stall limit counts for it.
  void set_started(std::size_t part = 0) noexcept {
    beat(part);
    set_bit(started_, part, true);
  }

  [[nodiscard]] bool alive() const noexcept {
    const auto now = now_ns();
    if (!started()) {
      return now - created_ns_ <= std::chrono::duration_cast<std::chrono::nanoseconds>(startup_limit_).count();
    }
    const auto limit = std::chrono::duration_cast<std::chrono::nanoseconds>(stall_limit_).count();
    for (std::size_t i = 0; i < parts(); ++i) {
      if (now - last_beat_ns_[i].load(std::memory_order_relaxed) > limit) return false;
    }
    return true;
  }
  [[nodiscard]] bool started() const noexcept { return all(started_); }
  [[nodiscard]] bool ready() const noexcept { return all(ready_); }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static std::size_t slot(std::size_t part) noexcept { return part < k_max_parts ? part : k_max_parts - 1; }
  static void set_bit(std::atomic<std::uint64_t>& bits, std::size_t part, bool on) noexcept {
    const std::uint64_t bit = std::uint64_t{1} << slot(part);
    if (on) bits.fetch_or(bit, std::memory_order_relaxed);
    else bits.fetch_and(~bit, std::memory_order_relaxed);
  }
  [[nodiscard]] bool all(const std::atomic<std::uint64_t>& bits) const noexcept {
    const std::size_t n = parts();
    const std::uint64_t mask = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    return (bits.load(std::memory_order_relaxed) & mask) == mask;
  }
  std::chrono::milliseconds stall_limit_;
  std::chrono::milliseconds startup_limit_;
  std::int64_t created_ns_;
  std::atomic<std::size_t> parts_{1};
  std::array<std::atomic<std::int64_t>, k_max_parts> last_beat_ns_{};
  std::atomic<std::uint64_t> ready_{0};
  std::atomic<std::uint64_t> started_{0};
};

}  // namespace countersign::metrics
