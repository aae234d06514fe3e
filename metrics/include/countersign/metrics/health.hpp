#pragma once
// Liveness and readiness as the HTTP endpoints report them.
//
// The processing loop calls `beat()` every turn; `/healthz` fails when the last beat is
// older than the stall limit, so a wedged loop is restarted by the orchestrator rather
// than left alive and idle. Before the loop starts (opening the state directory, creating
// topics, reading the global table up to its end), the process counts as alive for up to
// the start-up limit: a slow start is bounded by that (and by a startupProbe), not by
// the stall limit. Readiness is set by the processor. Thread-safe: written by the
// processing thread, read by HTTP worker threads.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace countersign::metrics {

class health_state {
 public:
  explicit health_state(std::chrono::milliseconds stall_limit = std::chrono::seconds(60),
                        std::chrono::milliseconds startup_limit = std::chrono::minutes(30))
      : stall_limit_(stall_limit), startup_limit_(startup_limit), created_ns_(now_ns()) {
    beat();
  }

  void beat() noexcept { last_beat_ns_.store(now_ns(), std::memory_order_relaxed); }
  void set_ready(bool ready) noexcept { ready_.store(ready, std::memory_order_relaxed); }
  // The processing loop runs: from now on only the stall limit counts.
  void set_started() noexcept {
    beat();
    started_.store(true, std::memory_order_relaxed);
  }

  [[nodiscard]] bool alive() const noexcept {
    const auto now = now_ns();
    if (!started_.load(std::memory_order_relaxed)) {
      return now - created_ns_ <= std::chrono::duration_cast<std::chrono::nanoseconds>(startup_limit_).count();
    }
    const auto age = now - last_beat_ns_.load(std::memory_order_relaxed);
    return age <= std::chrono::duration_cast<std::chrono::nanoseconds>(stall_limit_).count();
  }
  [[nodiscard]] bool started() const noexcept { return started_.load(std::memory_order_relaxed); }
  [[nodiscard]] bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::milliseconds stall_limit_;
  std::chrono::milliseconds startup_limit_;
  std::int64_t created_ns_;
  std::atomic<std::int64_t> last_beat_ns_{0};
  std::atomic<bool> ready_{false};
  std::atomic<bool> started_{false};
};

}  // namespace countersign::metrics
