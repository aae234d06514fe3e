#pragma once
// When to try a failed state write again (disk full, RocksDB in its background-error
// mode): 500 ms after the first failure, doubling, at most 30 s apart. Kept by each
// writer that retries (a processing thread, the global table's reader); one thread each.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace countersign::processor {

struct state_write_retry {
  using clock_type = std::chrono::steady_clock;
  clock_type::time_point started{};   // the first failure of this episode
  clock_type::time_point retry_at{};  // the next attempt
  std::chrono::milliseconds backoff{0};
  std::uint64_t attempts = 0;  // failed attempts in this episode

  // A write failed at `now`; `first`: it begins an episode (the writer was not stalled).
  void failed(clock_type::time_point now, bool first) noexcept {
    if (first) {
      started = now;
      attempts = 0;
      backoff = std::chrono::milliseconds(0);
    }
    backoff = backoff <= std::chrono::milliseconds(0)
                  ? std::chrono::milliseconds(500)
                  : std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(30));
    ++attempts;
    retry_at = now + backoff;
  }
  [[nodiscard]] bool due(clock_type::time_point now) const noexcept { return now >= retry_at; }
  [[nodiscard]] double seconds_since_start(clock_type::time_point now) const noexcept {
    return std::chrono::duration<double>(now - started).count();
  }
};

}  // namespace countersign::processor
