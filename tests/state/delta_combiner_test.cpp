// Combining prevalence deltas in memory: the read-through view equals writing every
// delta straight to the store, before and after a flush.

#include <countersign/state/delta_combiner.hpp>

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

namespace countersign::state {
namespace delta_combiner_test {  // one per file: the test programs are unity builds
namespace {


TEST(delta_combiner, the_combined_view_matches_writing_every_delta_through) {
  temp_store_dir a, b;
  auto direct = prevalence_store::open(a.options());
  auto combined = prevalence_store::open(b.options());
  ASSERT_TRUE(direct && combined);
  delta_combiner combiner;
  // Hashes live in a partition of their own; signers and issuers in the global table.
  constexpr std::int32_t k_hash_partition = 3;
  const combined_view view(**combined, combiner, k_hash_partition);
  const auto partition_of = [](store_kind k) { return k == store_kind::hash ? k_hash_partition : k_global_partition; };
  std::mt19937_64 rng(42);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 50);
    const auto kind = static_cast<store_kind>(rng() % k_store_count);
    prevalence_value d;
    d.first_seen_ms = d.last_seen_ms = 1'795'168'800'000 + static_cast<std::int64_t>(rng() % 100'000);
    d.hosts.insert(rng() % 300);
    d.items.insert(rng() % 20);
    (*direct)->add(kind, partition_of(kind), key, d);
    ASSERT_TRUE((*direct)->commit().has_value());
    combiner.add(kind, partition_of(kind), key, d);
    if (i % 1000 == 999) {
      ASSERT_TRUE(combiner.flush(**combined).has_value());
      EXPECT_EQ(combiner.size(), 0U);
    }
    if (i % 97 == 0) {  // spot checks while deltas are pending
      EXPECT_EQ(view.value(kind, key), (*direct)->get(kind, partition_of(kind), key)) << i;
    }
  }
  ASSERT_TRUE(combiner.flush(**combined).has_value());
  for (std::size_t k = 0; k < k_store_count; ++k) {
    for (int n = 0; n < 50; ++n) {
      const std::string key = "k" + std::to_string(n);
      const auto kind = static_cast<store_kind>(k);
      EXPECT_EQ((*combined)->get(kind, partition_of(kind), key), (*direct)->get(kind, partition_of(kind), key));
    }
  }
}

TEST(delta_combiner, pending_keys_are_counted_once_per_store_and_key) {
  delta_combiner c;
  prevalence_value d;
  d.hosts.insert(1);
  c.add(store_kind::hash, 1, "x", d);
  c.add(store_kind::hash, 1, "x", d);
  c.add(store_kind::hash, 2, "x", d);  // another partition: another key
  c.add(store_kind::signer, 0, "x", d);
  EXPECT_EQ(c.size(), 3U);
  ASSERT_NE(c.pending(store_kind::hash, 1, "x"), nullptr);
  EXPECT_EQ(c.pending(store_kind::hash, 0, "x"), nullptr);
  EXPECT_EQ(c.pending(store_kind::issuer, 0, "x"), nullptr);
  int visited = 0;
  c.for_each([&](store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value&) {
    EXPECT_EQ(key, "x");
    EXPECT_TRUE(kind == store_kind::signer ? partition == 0 : partition == 1 || partition == 2);
    ++visited;
  });
  EXPECT_EQ(visited, 3);
}

}  // namespace
}  // namespace delta_combiner_test
}  // namespace countersign::state
