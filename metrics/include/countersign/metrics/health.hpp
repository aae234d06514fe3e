#pragma once
// Liveness and readiness as the HTTP endpoints report them.
//
// The processing loop calls `beat()` every turn; `/healthz` fails when the last beat is
// older than the stall limit, so a wedged loop is restarted by the orchestrator rather
// than left alive and idle. Readiness is set by the processor. Thread-safe: written by
// the processing thread, read by HTTP worker threads.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace countersign::metrics {

class health_state {
 public:
  explicit health_state(std::chrono::milliseconds stall_limit = std::chrono::seconds(60))
      : stall_limit_(stall_limit) {
    beat();
  }

  void beat() noexcept { last_beat_ns_.store(now_ns(), std::memory_order_relaxed); }
  void set_ready(bool ready) noexcept { ready_.store(ready, std::memory_order_relaxed); }

  [[nodiscard]] bool alive() const noexcept {
    const auto age = now_ns() - last_beat_ns_.load(std::memory_order_relaxed);
    return age <= std::chrono::duration_cast<std::chrono::nanoseconds>(stall_limit_).count();
  }
  [[nodiscard]] bool ready() const noexcept { return ready_.load(std::memory_order_relaxed); }

 private:
  static std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::milliseconds stall_limit_;
  std::atomic<std::int64_t> last_beat_ns_{0};
  std::atomic<bool> ready_{false};
};

}  // namespace countersign::metrics
