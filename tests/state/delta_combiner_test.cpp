// Combining prevalence deltas in memory: the read-through view equals writing every
// delta straight to the store, before and after a flush.

#include <countersign/state/delta_combiner.hpp>

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

namespace countersign::state {
namespace {


TEST(delta_combiner, the_combined_view_matches_writing_every_delta_through) {
  temp_store_dir a, b;
  auto direct = prevalence_store::open(a.options());
  auto combined = prevalence_store::open(b.options());
  ASSERT_TRUE(direct && combined);
  delta_combiner combiner;
  const combined_view view(**combined, combiner, 0);
  std::mt19937_64 rng(42);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 50);
    const auto kind = static_cast<store_kind>(rng() % k_store_count);
    prevalence_value d;
    d.first_seen_ms = d.last_seen_ms = 1'795'168'800'000 + static_cast<std::int64_t>(rng() % 100'000);
    d.hosts.insert(rng() % 300);
    d.items.insert(rng() % 20);
    (*direct)->add(kind, 0, key, d);
    ASSERT_TRUE((*direct)->commit().has_value());
    combiner.add(kind, key, d);
    if (i % 1000 == 999) {
      ASSERT_TRUE(combiner.flush(**combined, 0).has_value());
      EXPECT_EQ(combiner.size(), 0U);
    }
    if (i % 97 == 0) {  // spot checks while deltas are pending
      EXPECT_EQ(view.value(kind, key), (*direct)->get(kind, 0, key)) << i;
    }
  }
  ASSERT_TRUE(combiner.flush(**combined, 0).has_value());
  for (std::size_t k = 0; k < k_store_count; ++k) {
    for (int n = 0; n < 50; ++n) {
      const std::string key = "k" + std::to_string(n);
      EXPECT_EQ((*combined)->get(static_cast<store_kind>(k), 0, key), (*direct)->get(static_cast<store_kind>(k), 0, key));
    }
  }
}

TEST(delta_combiner, pending_keys_are_counted_once_per_store_and_key) {
  delta_combiner c;
  prevalence_value d;
  d.hosts.insert(1);
  c.add(store_kind::hash, "x", d);
  c.add(store_kind::hash, "x", d);
  c.add(store_kind::signer, "x", d);
  EXPECT_EQ(c.size(), 2U);
  ASSERT_NE(c.pending(store_kind::hash, "x"), nullptr);
  EXPECT_EQ(c.pending(store_kind::issuer, "x"), nullptr);
}

}  // namespace
}  // namespace countersign::state
