#pragma once
// A bounded memory of recently seen 64-bit keys, oldest forgotten first. The ingest side
// uses it to skip state updates for (host, file, signature) facts it has just written:
// dropping such a repeat loses nothing, because every state merge is idempotent.
// Single-threaded; owned by one pipeline.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_set>

namespace countersign::state {

class recent_keys {
 public:
  explicit recent_keys(std::size_t capacity) : capacity_(capacity) {}

  // True when `key` was not in memory (and now is); false for a recent repeat.
  bool insert(std::uint64_t key) {
    if (capacity_ == 0) return true;
    if (!keys_.insert(key).second) return false;
    order_.push_back(key);
    if (order_.size() > capacity_) {
      keys_.erase(order_.front());
      order_.pop_front();
    }
    return true;
  }
  [[nodiscard]] std::size_t size() const noexcept { return keys_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_set<std::uint64_t> keys_;
  std::deque<std::uint64_t> order_;
};

}  // namespace countersign::state
