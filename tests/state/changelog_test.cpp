// The store side of the hash-state changelog (state/src/changelog.cpp): records applied
// on restore, the checkpoint that lets a restart read only the rest, a recreated topic.

#include <countersign/state/changelog.hpp>

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace countersign::state {
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

}  // namespace
}  // namespace countersign::state
