#pragma once
// A bounded memory of recently seen 64-bit keys, oldest forgotten first. The ingest side
// uses it to skip state updates for (host, file, signature) facts it has just written:
// dropping such a repeat loses nothing, because every state merge is idempotent.
// Single-threaded; owned by one pipeline.
//
// Asked once per signed event, so it allocates nothing after construction: the keys in
// arrival order sit in a ring, and an open-addressing table (linear probing, at most half
// full, deletion by backward shift) answers "seen?". Slot value 0 means empty; the key 0
// itself is tracked by a flag.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace countersign::state {

class recent_keys {
 public:
  explicit recent_keys(std::size_t capacity)
      : capacity_(capacity),
        ring_(capacity),
        slots_(capacity == 0 ? 0 : std::bit_ceil(capacity * 2 + 2)),  // capacity + 1 keys at most
        mask_(slots_.empty() ? 0 : slots_.size() - 1) {}

  // True when `key` was not in memory (and now is); false for a recent repeat.
  bool insert(std::uint64_t key) {
    if (capacity_ == 0) return true;
    if (key == 0) {
      if (zero_) return false;
      zero_ = true;
    } else {
      std::size_t at = home(key);
      for (; slots_[at] != 0; at = (at + 1) & mask_) {
        if (slots_[at] == key) return false;
      }
      slots_[at] = key;
    }
    if (size_ == capacity_) {
      forget(ring_[head_]);
      ring_[head_] = key;
      head_ = head_ + 1 == capacity_ ? 0 : head_ + 1;
    } else {
      ring_[(head_ + size_) % capacity_] = key;
      ++size_;
    }
    return true;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  [[nodiscard]] std::size_t home(std::uint64_t key) const noexcept {
    // murmur3's 64-bit finalizer: every key bit reaches the low bits the mask keeps.
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdULL;
    key ^= key >> 33;
    return static_cast<std::size_t>(key) & mask_;
  }

  void forget(std::uint64_t key) {
    if (key == 0) {
      zero_ = false;
      return;
    }
    std::size_t hole = home(key);
    while (slots_[hole] != key) hole = (hole + 1) & mask_;
    // Backward shift: pull later members of the probe run into the hole when the hole
    // lies on their way from their home slot.
    for (std::size_t next = (hole + 1) & mask_; slots_[next] != 0; next = (next + 1) & mask_) {
      const std::size_t h = home(slots_[next]);
      const bool on_the_way = hole <= next ? (h <= hole || h > next) : (h <= hole && h > next);
      if (on_the_way) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = 0;
  }

  std::size_t capacity_;
  std::vector<std::uint64_t> ring_;   // keys in arrival order, oldest at head_
  std::size_t head_ = 0, size_ = 0;
  std::vector<std::uint64_t> slots_;  // 0: empty
  std::size_t mask_;
  bool zero_ = false;
};

}  // namespace countersign::state
