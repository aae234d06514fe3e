#pragma once
// The observations one input message yields: usually one, several for a Defender
// export envelope (`records[]`), none for an event that carries nothing to judge.
// Slots are reused across messages (reset, capacity kept), so steady-state parsing
// does not allocate. Owned by one pipeline; single-threaded.

#include <countersign/rules/observation.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace countersign::processor {

class observation_batch {
 public:
  // A reset observation appended to the batch.
  rules::observation& add() {
    if (size_ == items_.size()) items_.emplace_back();
    rules::observation& o = items_[size_++];
    o.reset();
    return o;
  }
  // Drops the last added observation (a record that turned out empty).
  void drop_last() noexcept {
    if (size_ > 0) --size_;
  }
  void clear() noexcept { size_ = 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] rules::observation& operator[](std::size_t i) noexcept { return items_[i]; }
  [[nodiscard]] const rules::observation& operator[](std::size_t i) const noexcept { return items_[i]; }
  [[nodiscard]] std::span<rules::observation> items() noexcept { return {items_.data(), size_}; }

 private:
  std::vector<rules::observation> items_;
  std::size_t size_ = 0;
};

}  // namespace countersign::processor
