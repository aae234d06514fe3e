// The per-process suppression cache (state/src/suppression_cache.cpp).

#include <countersign/state/suppression_cache.hpp>

#include <gtest/gtest.h>

#include <string>

namespace countersign::state {
namespace suppression_cache_test {  // one per file: the test programs are unity builds
namespace {

TEST(suppression_cache, an_id_is_first_time_once_and_then_suppressed) {
  suppression_cache cache(10);
  EXPECT_TRUE(cache.first_time("alert-a"));
  EXPECT_FALSE(cache.first_time("alert-a"));
  EXPECT_FALSE(cache.first_time("alert-a"));
  EXPECT_EQ(cache.size(), 1U);
}

TEST(suppression_cache, distinct_ids_do_not_suppress_each_other) {
  suppression_cache cache(10);
  EXPECT_TRUE(cache.first_time("alert-a"));
  EXPECT_TRUE(cache.first_time("alert-b"));
  EXPECT_TRUE(cache.first_time("alert-A"));  // ids are hex; comparison is exact
  EXPECT_EQ(cache.size(), 3U);
}

TEST(suppression_cache, keeps_its_own_copy_of_the_id) {
  suppression_cache cache(10);
  {
    std::string id = "a-long-alert-id-that-does-not-fit-in-a-small-string-buffer";
    EXPECT_TRUE(cache.first_time(id));
    id.assign(id.size(), 'x');  // the caller reuses its buffer
  }
  EXPECT_FALSE(cache.first_time("a-long-alert-id-that-does-not-fit-in-a-small-string-buffer"));
}

TEST(suppression_cache, at_capacity_the_oldest_id_is_evicted_first) {
  suppression_cache cache(3);
  EXPECT_TRUE(cache.first_time("1"));
  EXPECT_TRUE(cache.first_time("2"));
  EXPECT_TRUE(cache.first_time("3"));
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_TRUE(cache.first_time("4"));  // evicts "1"
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_FALSE(cache.first_time("2"));
  EXPECT_FALSE(cache.first_time("3"));
  EXPECT_FALSE(cache.first_time("4"));
  EXPECT_TRUE(cache.first_time("1"));  // forgotten, so new again; evicts "2"
  EXPECT_TRUE(cache.first_time("2"));  // evicts "3"
  EXPECT_FALSE(cache.first_time("4"));
  EXPECT_FALSE(cache.first_time("1"));
  EXPECT_EQ(cache.size(), 3U);
}

TEST(suppression_cache, a_repeat_does_not_refresh_the_age_of_an_id) {
  // Least-recently-inserted: seeing "1" again does not save it from eviction.
  suppression_cache cache(2);
  EXPECT_TRUE(cache.first_time("1"));
  EXPECT_TRUE(cache.first_time("2"));
  EXPECT_FALSE(cache.first_time("1"));
  EXPECT_TRUE(cache.first_time("3"));  // evicts "1", the oldest insertion
  EXPECT_TRUE(cache.first_time("1"));
}

TEST(suppression_cache, capacity_one_remembers_only_the_last_id) {
  suppression_cache cache(1);
  EXPECT_TRUE(cache.first_time("a"));
  EXPECT_FALSE(cache.first_time("a"));
  EXPECT_TRUE(cache.first_time("b"));
  EXPECT_TRUE(cache.first_time("a"));
  EXPECT_EQ(cache.size(), 1U);
}

TEST(suppression_cache, capacity_zero_never_suppresses) {
  suppression_cache cache(0);
  EXPECT_EQ(cache.capacity(), 0U);
  EXPECT_TRUE(cache.first_time("a"));
  EXPECT_TRUE(cache.first_time("a"));
  EXPECT_TRUE(cache.first_time("a"));
  EXPECT_EQ(cache.size(), 0U);
}

TEST(suppression_cache, stays_bounded_under_many_distinct_ids) {
  suppression_cache cache(100);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(cache.first_time("id-" + std::to_string(i)));
  EXPECT_EQ(cache.size(), 100U);
  EXPECT_FALSE(cache.first_time("id-9999"));
  EXPECT_FALSE(cache.first_time("id-9900"));
  EXPECT_TRUE(cache.first_time("id-9899"));
}

}  // namespace
}  // namespace suppression_cache_test
}  // namespace countersign::state
