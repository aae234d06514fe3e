// The store side of the hash-state changelog (state/src/changelog.cpp): records applied
// on restore, the checkpoint that lets a restart read only the rest, a recreated topic.

#include <countersign/state/changelog.hpp>

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace countersign::state {
namespace changelog_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_t0 = 1'795'168'800'000;  // 2026-11-20T10:00:00Z

std::unique_ptr<prevalence_store> open_or_fail(const store_options& o) {
  auto s = prevalence_store::open(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
  return s ? std::move(*s) : nullptr;
}

std::string encoded(const prevalence_value& v) {
  std::string out;
  v.encode(out);
  return out;
}

TEST(changelog, restore_starts_at_zero_then_after_the_checkpoint_once_it_is_committed) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  EXPECT_EQ(changelog_restore_start(*store, 2, 500), 0);
  put_changelog_checkpoint(*store, 2, 120);
  EXPECT_EQ(changelog_restore_start(*store, 2, 500), 0) << "queued, not yet durable";
  ASSERT_TRUE(store->commit());
  EXPECT_EQ(changelog_restore_start(*store, 2, 500), 120);
  EXPECT_EQ(changelog_restore_start(*store, 2, 120), 120) << "nothing new: read nothing";
  EXPECT_EQ(changelog_restore_start(*store, 3, 500), 0) << "checkpoints are per partition";
}

TEST(changelog, a_checkpoint_past_the_end_means_a_recreated_topic_read_from_the_start) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  put_changelog_checkpoint(*store, 0, 900);
  ASSERT_TRUE(store->commit());
  EXPECT_EQ(changelog_restore_start(*store, 0, 40), 0);
}

TEST(changelog, records_restore_into_the_partition_and_the_checkpoint_survives_reopening) {
  temp_store_dir dir;
  const std::string record = encoded(seen(k_t0, 7));
  {
    auto store = open_or_fail(dir.options());
    ASSERT_TRUE(store);
    EXPECT_TRUE(apply_changelog_record(*store, 5, "hash-a", record));
    EXPECT_FALSE(apply_changelog_record(*store, 5, "hash-b", "not a record"));
    EXPECT_FALSE(apply_changelog_record(*store, 5, "", record)) << "a record without a key";
    put_changelog_checkpoint(*store, 5, 3);
    ASSERT_TRUE(store->commit());
  }
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  EXPECT_EQ(changelog_restore_start(*store, 5, 10), 3);
  const auto a = store->get(store_kind::hash, 5, "hash-a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->view().hosts, 1U);
  EXPECT_FALSE(store->get(store_kind::hash, 5, "hash-b").has_value()) << "an undecodable record is not stored";
  EXPECT_FALSE(store->get(store_kind::hash, 4, "hash-a").has_value()) << "restored into its own partition";
}

// ---------------------------------------------------------------------------------------
// Correlation windows: their column family, and their records on the changelog.

std::string stored(std::string_view record, std::int64_t expires) {
  std::string out;
  window_value(out, record, expires);
  return out;
}

std::map<std::string, std::string> windows_of(const prevalence_store& store, std::int32_t partition) {
  std::map<std::string, std::string> out;
  const auto n = store.for_each_window(partition, [&](std::string_view k, std::string_view v) { out.emplace(k, v); });
  EXPECT_TRUE(n.has_value());
  return out;
}

TEST(correlation_windows, records_are_per_partition_durable_across_a_reopen_and_deleted_by_erase) {
  temp_store_dir dir;
  {
    auto store = open_or_fail(dir.options());
    ASSERT_TRUE(store);
    store->put_window(3, std::string("corr\0a", 6), stored("rec-a", k_t0));
    store->put_window(3, std::string("corr\0b", 6), stored("rec-b", k_t0));
    store->put_window(4, std::string("corr\0a", 6), stored("other", k_t0));
    EXPECT_FALSE(store->get_window(3, std::string("corr\0a", 6)).value().has_value()) << "queued, not yet written";
    ASSERT_TRUE(store->commit());
  }
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  const auto got = store->get_window(3, std::string("corr\0a", 6));
  ASSERT_TRUE(got.has_value());
  ASSERT_TRUE(got->has_value());
  const auto parts = split_window_value(**got);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->expires_ms, k_t0);
  EXPECT_EQ(parts->record, "rec-a");
  EXPECT_EQ(windows_of(*store, 3).size(), 2U);
  EXPECT_EQ(windows_of(*store, 4).size(), 1U);
  store->erase_window(3, std::string("corr\0a", 6));
  ASSERT_TRUE(store->commit());
  EXPECT_EQ(windows_of(*store, 3).size(), 1U);
}

TEST(correlation_windows, compaction_drops_records_that_expired_before_the_window_horizon) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  store->put_window(0, "old", stored("r", k_t0));
  store->put_window(0, "new", stored("r", k_t0 + 3'600'000));
  ASSERT_TRUE(store->commit());
  ASSERT_TRUE(store->compact_all());
  EXPECT_EQ(windows_of(*store, 0).size(), 2U) << "no horizon yet: nothing is old";
  store->set_window_horizon(k_t0 + 1);
  store->set_window_horizon(k_t0 - 5) ;  // the horizon never moves back
  ASSERT_TRUE(store->compact_all());
  const auto left = windows_of(*store, 0);
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left.begin()->first, "new");
  EXPECT_EQ(store->current_stats().windows_expired, 1U);
}

TEST(correlation_windows, changelog_records_restore_puts_and_tombstones_and_refuse_malformed_ones) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_TRUE(store);
  const std::string a = window_changelog_key("corr-a");
  const std::string b = window_changelog_key("corr-b");
  EXPECT_TRUE(is_window_changelog_key(a));
  EXPECT_FALSE(is_window_changelog_key("0123abcd"));
  const std::string va = stored("rec-a", k_t0), vb = stored("rec-b", k_t0);
  EXPECT_TRUE(apply_window_changelog_record(*store, 1, a, va.data(), va.size()));
  EXPECT_TRUE(apply_window_changelog_record(*store, 1, b, vb.data(), vb.size()));
  EXPECT_TRUE(apply_window_changelog_record(*store, 1, b, nullptr, 0)) << "a tombstone deletes";
  EXPECT_FALSE(apply_window_changelog_record(*store, 1, a, "short", 5)) << "no expiry: malformed";
  EXPECT_FALSE(apply_window_changelog_record(*store, 1, "corr-a", va.data(), va.size())) << "not a window key";
  ASSERT_TRUE(store->commit());
  const auto left = windows_of(*store, 1);
  ASSERT_EQ(left.size(), 1U);
  EXPECT_EQ(left.begin()->first, "corr-a");
  EXPECT_EQ(left.begin()->second, va);
  EXPECT_FALSE(store->get(store_kind::hash, 1, "corr-a").has_value()) << "not a hash record";
}

}  // namespace
}  // namespace changelog_test
}  // namespace countersign::state
