// The RocksDB prevalence store on disk: merges, reads, reopening, partitions, retention
// and the persisted event-time history.

#include <countersign/state/prevalence_store.hpp>

#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include <filesystem>
#include <random>
#include <string>
#include <thread>

namespace countersign::state {
namespace prevalence_store_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_day = 86'400'000;
constexpr std::int64_t k_t0 = 1'795'168'800'000;  // 2026-11-20T10:00:00Z



std::unique_ptr<prevalence_store> open_or_fail(const store_options& o) {
  auto s = prevalence_store::open(o);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
  return s ? std::move(*s) : nullptr;
}

TEST(prevalence_store, merges_accumulate_hosts_and_time_span_and_survive_reopening) {
  temp_store_dir dir;
  {
    auto store = open_or_fail(dir.options());
    ASSERT_NE(store, nullptr);
    for (std::uint64_t host = 0; host < 10; ++host) {
      store->add(store_kind::hash, 5, "abc", seen(k_t0 + static_cast<std::int64_t>(host) * 1000, host * 7919));
    }
    // A replay of the same facts changes nothing (idempotent merges).
    for (std::uint64_t host = 0; host < 10; ++host) {
      store->add(store_kind::hash, 5, "abc", seen(k_t0 + static_cast<std::int64_t>(host) * 1000, host * 7919));
    }
    ASSERT_TRUE(store->commit().has_value());
    const auto r = store->hash("abc");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->hosts, 10U);
    EXPECT_EQ(r->first_seen_ms, k_t0);
    EXPECT_EQ(r->last_seen_ms, k_t0 + 9000);
  }
  auto reopened = open_or_fail(dir.options());
  ASSERT_NE(reopened, nullptr);
  const auto r = reopened->hash("abc");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->hosts, 10U);
  EXPECT_FALSE(reopened->hash("abd").has_value());
}

TEST(prevalence_store, stores_and_partitions_keep_their_records_apart) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  store->add(store_kind::hash, 0, "k", seen(k_t0, 1));
  store->add(store_kind::signer, 0, "k", seen(k_t0, 2));
  store->add(store_kind::signer, 0, "k", seen(k_t0, 3));
  store->add(store_kind::hash, 1, "k", seen(k_t0, 4));
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(store->get(store_kind::hash, 0, "k")->view().hosts, 1U);
  EXPECT_EQ(store->get(store_kind::signer, 0, "k")->view().hosts, 2U);
  EXPECT_EQ(store->get(store_kind::hash, 1, "k")->view().hosts, 1U);
  EXPECT_FALSE(store->get(store_kind::issuer, 0, "k").has_value());
  EXPECT_NE(store_key(0, "k"), store_key(1, "k"));
  EXPECT_EQ(store_key(0x01020304, "k"), std::string("\x01\x02\x03\x04k", 5));
}

// processing.threads: one database, a session per thread, each with its own batch.
TEST(prevalence_store, sessions_on_threads_share_one_database_with_batches_of_their_own) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  auto second = store->session();
  ASSERT_NE(second, nullptr);

  // A batch is its session's: queued merges are neither pending in nor written by the other.
  second->add(store_kind::hash, 1, "queued", seen(k_t0, 1));
  EXPECT_EQ(second->pending(), 1U);
  EXPECT_EQ(store->pending(), 0U);
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_FALSE(store->get(store_kind::hash, 1, "queued").has_value());
  ASSERT_TRUE(second->commit().has_value());
  EXPECT_TRUE(store->get(store_kind::hash, 1, "queued").has_value());

  // Two threads: partitions of their own, and the same global record (as the global
  // table readers of every thread merge the same snapshots).
  constexpr std::uint64_t k_hosts = 30;  // 60 in all: the host sets stay exact
  const auto writer = [&](prevalence_store* s, std::int32_t partition, std::uint64_t first_host) {
    for (std::uint64_t i = 0; i < k_hosts; ++i) {
      const auto t = k_t0 + static_cast<std::int64_t>(first_host + i);
      s->add(store_kind::hash, partition, "h" + std::to_string(i), seen(t, first_host + i));
      s->add(store_kind::signer, k_global_partition, "acme", seen(t, first_host + i));
      s->observe_time(t);
      if (i % 4 == 3) {
        ASSERT_TRUE(s->commit().has_value());
      }
    }
    ASSERT_TRUE(s->commit().has_value());
  };
  std::thread a(writer, store.get(), 2, 0);
  std::thread b(writer, second.get(), 3, k_hosts);
  a.join();
  b.join();
  EXPECT_EQ(store->get(store_kind::signer, k_global_partition, "acme")->view().hosts, 2 * k_hosts);
  EXPECT_EQ(second->get(store_kind::hash, 2, "h7")->view().hosts, 1U);
  EXPECT_EQ(store->get(store_kind::hash, 3, "h7")->view().hosts, 1U);
  const auto history = store->history();
  ASSERT_TRUE(history.has_value());
  EXPECT_EQ(history->first_seen_ms, k_t0);
  EXPECT_EQ(history->last_seen_ms, k_t0 + static_cast<std::int64_t>(2 * k_hosts - 1));
  EXPECT_EQ(store->current_stats().merges_written, second->current_stats().merges_written);

  // The database stays open while any session lives, and reopens once all are gone.
  store.reset();
  second->add(store_kind::hash, 4, "late", seen(k_t0, 9));
  ASSERT_TRUE(second->commit().has_value());
  second.reset();
  auto reopened = open_or_fail(dir.options());
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->get(store_kind::hash, 4, "late").has_value());
  EXPECT_EQ(reopened->get(store_kind::signer, k_global_partition, "acme")->view().hosts, 2 * k_hosts);
}

TEST(prevalence_store, raw_merges_meta_values_and_record_iteration) {
  temp_store_dir dir;
  {
    auto store = open_or_fail(dir.options());
    ASSERT_NE(store, nullptr);
    std::string encoded;
    seen(k_t0, 7).encode(encoded);
    store->add_encoded(store_kind::hash, 3, "a", encoded);
    store->add(store_kind::hash, 3, "a", seen(k_t0 + 5, 8));
    store->add(store_kind::hash, 1, "b", seen(k_t0, 9));
    store->put_meta("changelog-offset/3", 1234);
    store->put_meta("negative", -5);
    EXPECT_FALSE(store->get_meta("changelog-offset/3").has_value()) << "queued, not yet written";
    ASSERT_TRUE(store->commit().has_value());
  }
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->get_meta("changelog-offset/3"), 1234);
  EXPECT_EQ(store->get_meta("negative"), -5);
  EXPECT_FALSE(store->get_meta("absent").has_value());
  EXPECT_EQ(store->get_any_partition(store_kind::hash, "a")->view().hosts, 2U);
  std::vector<std::tuple<std::int32_t, std::string, std::uint64_t>> seen_records;
  const auto n = store->for_each_record(store_kind::hash, [&](std::int32_t p, std::string_view key, std::string_view v) {
    seen_records.emplace_back(p, std::string(key), prevalence_value::decode(v)->view().hosts);
  });
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2U);
  ASSERT_EQ(seen_records.size(), 2U);
  EXPECT_EQ(seen_records[0], std::make_tuple(1, std::string("b"), std::uint64_t{1}));
  EXPECT_EQ(seen_records[1], std::make_tuple(3, std::string("a"), std::uint64_t{2})) << "merge operands resolved";
  EXPECT_EQ(store->for_each_record(store_kind::issuer, [](std::int32_t, std::string_view, std::string_view) {}).value_or(9), 0U);
}

TEST(prevalence_store, many_hosts_on_a_hot_key_are_counted_within_the_sketch_bound) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  std::mt19937_64 rng(7);
  constexpr std::uint64_t k_hosts = 20'000;
  for (std::uint64_t i = 0; i < k_hosts; ++i) {
    store->add(store_kind::signer, 0, "t:hot", seen(k_t0, rng()));
    if (i % 1000 == 999) {
      ASSERT_TRUE(store->commit().has_value());
    }
  }
  ASSERT_TRUE(store->commit().has_value());
  const auto r = store->signer("t:hot");
  ASSERT_TRUE(r.has_value());
  const double error = (static_cast<double>(r->hosts) - static_cast<double>(k_hosts)) / static_cast<double>(k_hosts);
  EXPECT_LT(std::abs(error), 3 * 1.04 / 64) << r->hosts;
}

TEST(prevalence_store, compaction_drops_records_older_than_the_retention_horizon) {
  temp_store_dir dir;
  auto options = dir.options();
  options.retention_ms = 30 * k_day;
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  store->add(store_kind::hash, 0, "old", seen(k_t0 - 40 * k_day, 1));
  store->add(store_kind::hash, 0, "recent", seen(k_t0 - 10 * k_day, 1));
  store->observe_time(k_t0 - 40 * k_day);
  store->observe_time(k_t0);
  ASSERT_TRUE(store->commit().has_value());
  ASSERT_TRUE(store->compact_all().has_value());
  EXPECT_FALSE(store->hash("old").has_value());
  EXPECT_TRUE(store->hash("recent").has_value());
  EXPECT_EQ(store->current_stats().dropped_by_retention, 1U);
}

TEST(prevalence_store, the_event_time_history_is_persisted) {
  temp_store_dir dir;
  {
    auto store = open_or_fail(dir.options());
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->history().has_value());
    store->observe_time(k_t0);
    store->observe_time(k_t0 - 8 * k_day);
    ASSERT_TRUE(store->commit().has_value());
  }
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  const auto h = store->history();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->first_seen_ms, k_t0 - 8 * k_day);
  EXPECT_EQ(h->last_seen_ms, k_t0);
}

// The memory parts behind countersign_state_memory_bytes: writes sit in memtables; after
// a flush, reads load blocks into the shared cache, which stays within its bound.
TEST(prevalence_store, reports_memtable_and_block_cache_memory) {
  temp_store_dir dir;
  auto store = open_or_fail(dir.options());
  ASSERT_NE(store, nullptr);
  const auto empty = store->current_stats();
  for (std::uint64_t i = 0; i < 2000; ++i) {
    store->add(store_kind::hash, 0, "file-" + std::to_string(i), seen(k_t0, i));
  }
  ASSERT_TRUE(store->commit().has_value());
  const auto written = store->current_stats();
  EXPECT_GT(written.memtable_bytes, empty.memtable_bytes);
  ASSERT_TRUE(store->compact_all().has_value());
  for (std::uint64_t i = 0; i < 2000; i += 7) ASSERT_TRUE(store->hash("file-" + std::to_string(i)).has_value());
  const auto read = store->current_stats();
  EXPECT_GT(read.sst_bytes, 0U);
  EXPECT_GT(read.block_cache_bytes, 0U);
  EXPECT_LE(read.block_cache_bytes, dir.options().block_cache_bytes);
}

TEST(prevalence_store, a_path_that_cannot_hold_a_database_is_an_error_not_a_crash) {
  store_options o;
  o.path = "/proc/countersign-cannot-be-here";
  const auto s = prevalence_store::open(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().find("/proc/countersign-cannot-be-here"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace prevalence_store_test
}  // namespace countersign::state
