#pragma once
// Bounded in-memory record of recently emitted alert ids, so that the same alert is not
// sent twice within its suppression window by this process.
//
// Alert ids already contain the window index, so an id can only repeat inside its own
// window; the cache therefore only needs to remember ids, bounded by `capacity` with
// least-recently-inserted eviction. Single-threaded: owned by the stage that emits alerts.
// This is per process and not durable: the hash stage is keyed by file hash, so a
// (host, file) reaches the same instance except right after its partition moves
// (docs/design.md section 4). Downstream consumers can deduplicate by id as well.

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace countersign::state {

class suppression_cache {
 public:
  explicit suppression_cache(std::size_t capacity) : capacity_(capacity) {}

  // Returns true when `id` is new (and records it); false when it was seen recently.
  [[nodiscard]] bool first_time(std::string_view id);

  [[nodiscard]] std::size_t size() const noexcept { return index_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  std::size_t capacity_;
  std::list<std::string> order_;  // oldest first
  std::unordered_map<std::string_view, std::list<std::string>::iterator> index_;
};

}  // namespace countersign::state
