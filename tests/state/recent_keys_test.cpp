// recent_keys (state/include/countersign/state/recent_keys.hpp): the ingest repeat filter's
// memory, checked against a plain model (a set and a queue) on random streams.

#include <countersign/state/recent_keys.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <unordered_set>

namespace countersign::state {
namespace recent_keys_test {  // one per file: the test programs are unity builds
namespace {

// What recent_keys promises, written the obvious way.
class model {
 public:
  explicit model(std::size_t capacity) : capacity_(capacity) {}
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
  [[nodiscard]] std::size_t size() const { return keys_.size(); }

 private:
  std::size_t capacity_;
  std::unordered_set<std::uint64_t> keys_;
  std::deque<std::uint64_t> order_;
};

TEST(recent_keys, a_repeat_within_capacity_is_reported_and_the_oldest_is_forgotten) {
  recent_keys r(2);
  EXPECT_TRUE(r.insert(10));
  EXPECT_TRUE(r.insert(20));
  EXPECT_FALSE(r.insert(10));  // a repeat does not refresh its age
  EXPECT_TRUE(r.insert(30));   // forgets 10
  EXPECT_TRUE(r.insert(10));   // forgets 20
  EXPECT_FALSE(r.insert(30));
  EXPECT_TRUE(r.insert(20));
  EXPECT_EQ(r.size(), 2U);
}

TEST(recent_keys, zero_is_a_key_like_any_other) {
  recent_keys r(2);
  EXPECT_TRUE(r.insert(0));
  EXPECT_FALSE(r.insert(0));
  EXPECT_TRUE(r.insert(1));
  EXPECT_TRUE(r.insert(2));  // forgets 0
  EXPECT_TRUE(r.insert(0));
}

TEST(recent_keys, capacity_zero_remembers_nothing) {
  recent_keys r(0);
  EXPECT_TRUE(r.insert(5));
  EXPECT_TRUE(r.insert(5));
  EXPECT_EQ(r.size(), 0U);
}

// Random streams over small key domains (many repeats, long probe runs, evictions from
// the middle of runs) and over keys that share their home slot (only high bits differ).
TEST(recent_keys, agrees_with_the_model_on_random_streams) {
  std::mt19937_64 rng(1234);
  for (const std::size_t capacity : {1UL, 2UL, 3UL, 7UL, 64UL, 1000UL}) {
    for (const std::uint64_t domain : {capacity + 1, capacity * 3 + 5, std::uint64_t{1} << 20}) {
      for (const bool clustered : {false, true}) {
        recent_keys r(capacity);
        model m(capacity);
        std::uniform_int_distribution<std::uint64_t> pick(0, domain - 1);
        for (int i = 0; i < 20000; ++i) {
          const std::uint64_t v = pick(rng);
          // Clustered: multiples of 2^40 collide in the low bits the multiplier mixes least.
          const std::uint64_t key = clustered ? v << 40 : v;
          ASSERT_EQ(r.insert(key), m.insert(key))
              << "capacity " << capacity << " domain " << domain << " step " << i << " key " << key;
          ASSERT_EQ(r.size(), m.size());
        }
      }
    }
  }
}

}  // namespace
}  // namespace recent_keys_test
}  // namespace countersign::state
