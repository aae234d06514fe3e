#pragma once
// Joins Code Integrity verdicts (3033, 3077, 3076, ...) with the 3089 events that carry
// the signatures of the same file. Windows logs them with one Correlation ActivityID, in
// either order (3033 before its 3089, 3077 after), so a verdict waits here until all its
// signatures arrived (TotalSignatureCount), or until a hold time passes, and 3089s wait
// for their verdict for the same time.
//
//   verdict ──► pending[(host, activity)] ◄── 3089 signature
//                     │ complete / timed out / evicted / flushed
//                     ▼
//               released verdict (signer facts filled from the chosen signature)
//
// Memory is bounded by `max_pending` keys (the oldest is released or dropped first).
// Time is whatever clock the caller passes (event time in replay, wall time in run).
// Single-threaded: owned by the pipeline. A verdict with no 3089 is released unjoined.

#include <countersign/rules/observation.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace countersign::processor {

struct ci_join_config {
  std::int64_t hold_ms = 5'000;     // how long a verdict waits for its signatures
  std::size_t max_pending = 10'000;  // (host, activity) keys held at once
  std::size_t max_signatures = 8;    // 3089s kept per key
};

struct ci_join_stats {
  std::uint64_t joined = 0;          // verdicts released with at least one signature
  std::uint64_t unjoined = 0;        // verdicts released without any
  std::uint64_t orphan_signatures = 0;  // 3089s that expired without a verdict
  std::uint64_t evicted = 0;         // keys pushed out by max_pending
  std::uint64_t forgotten = 0;       // verdicts dropped unreleased: their input partition
                                     // was revoked (forget)
};

class ci_joiner {
 public:
  explicit ci_joiner(ci_join_config config) : config_(config) {}

  // A released verdict and the token the caller gave it.
  using release_fn = std::function<void(rules::observation&, std::uint64_t token)>;

  // Takes a 3089 signature event; completes a waiting verdict when it was the last one.
  void add_signature(const rules::observation& sig, std::int64_t now_ms, const release_fn& release);
  // Takes a verdict. Returns true when it cannot be joined (no activity id): the caller
  // handles it now. Otherwise the joiner owns it and hands it to `release` later, or
  // already within this call when all its signatures were here.
  bool add_verdict(const rules::observation& verdict, std::uint64_t token, std::int64_t now_ms,
                   const release_fn& release);
  // Releases verdicts held longer than hold_ms, and forgets expired signatures.
  void expire(std::int64_t now_ms, const release_fn& release);
  // Releases everything held (end of input, shutdown).
  void flush(const release_fn& release);
  // Drops, without releasing them, the held verdicts whose token `revoked` is true for:
  // their message's input partition went to another consumer, which reads it again and
  // holds the verdict itself. Signatures waiting under the same key stay. Returns how
  // many verdicts were dropped.
  std::size_t forget(const std::function<bool(std::uint64_t token)>& revoked);

  [[nodiscard]] std::size_t pending() const noexcept { return entries_.size(); }
  [[nodiscard]] const ci_join_stats& stats() const noexcept { return stats_; }

 private:
  struct key {
    std::uint64_t host_hash;
    std::string activity;
    auto operator<=>(const key&) const = default;
  };
  struct entry {
    std::int64_t since_ms;
    std::optional<rules::observation> verdict;
    std::uint64_t token = 0;
    std::vector<rules::observation> signatures;
  };
  using entry_map = std::map<key, entry>;

  // The entry of `o`'s (host, activity), created (making room first) when absent.
  entry_map::iterator find_or_add(const rules::observation& o, std::int64_t now_ms, const release_fn& release);
  void release_entry(entry_map::iterator it, const release_fn& release);
  void make_room(const release_fn& release);
  static void merge(rules::observation& verdict, const std::vector<rules::observation>& signatures);
  static bool complete(const entry& e);

  ci_join_config config_;
  entry_map entries_;
  std::deque<std::pair<std::int64_t, key>> order_;  // insertion order, for expiry and eviction
  ci_join_stats stats_;
};

}  // namespace countersign::processor
