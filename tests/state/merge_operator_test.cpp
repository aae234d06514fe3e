// The prevalence merge operator (state/src/merge_operator.cpp), called directly and
// through a real RocksDB on disk.

#include <countersign/state/merge_operator.hpp>
#include <countersign/state/prevalence_value.hpp>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace countersign::state {
namespace merge_operator_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_now = 1'700'000'000'000;

std::uint64_t item_hash(std::uint64_t id) {
  std::uint64_t z = id + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// An update as the stores write it: one sighting, sometimes a small batch of them.
prevalence_value random_delta(std::mt19937_64& rng, std::uint64_t host_universe = 300) {
  prevalence_value v;
  const std::int64_t t = k_now + static_cast<std::int64_t>(rng() % 1'000'000'000);
  v.first_seen_ms = t;
  v.last_seen_ms = t + static_cast<std::int64_t>(rng() % 1000);
  const std::uint64_t hosts = rng() % 4 == 0 ? rng() % 40 : 1;
  for (std::uint64_t i = 0; i < hosts; ++i) v.hosts.insert(item_hash(rng() % host_universe));
  if (rng() % 2 == 0) v.items.insert(item_hash(1'000'000 + rng() % 80));
  if (rng() % 5 == 0) v.issuers.insert(item_hash(2'000'000 + rng() % 3));
  if (rng() % 3 == 0) v.min_not_before_ms = k_now - static_cast<std::int64_t>(rng() % 1'000'000'000);
  return v;
}

std::string encoded(const prevalence_value& v) {
  std::string out;
  v.encode(out);
  return out;
}

std::uint64_t undecodable() { return merge_operator_stats().undecodable_values.load(); }

// FullMergeV2 as RocksDB calls it; nullopt when the operator reports failure.
std::optional<std::string> full_merge(const rocksdb::MergeOperator& op, const rocksdb::Slice* base,
                                      const std::vector<rocksdb::Slice>& operands) {
  const rocksdb::Slice key("k");
  const rocksdb::MergeOperator::MergeOperationInput in(key, base, operands, nullptr);
  std::string value;
  rocksdb::Slice existing_operand(nullptr, 0);  // as RocksDB's MergeHelper sets it up
  rocksdb::MergeOperator::MergeOperationOutput out(value, existing_operand);
  if (!op.FullMergeV2(in, &out)) return std::nullopt;
  // The operator always builds a new value rather than pointing at an input.
  EXPECT_EQ(existing_operand.data(), nullptr);
  return value;
}

TEST(prevalence_merge_operator, is_named_with_its_format_version) {
  EXPECT_STREQ(make_prevalence_merge_operator()->Name(), "countersign.prevalence.v1");
}

TEST(prevalence_merge_operator, full_and_partial_merges_equal_the_in_memory_union) {
  const auto op = make_prevalence_merge_operator();
  std::mt19937_64 rng(31);
  for (int c = 0; c < 200; ++c) {
    const auto base = random_delta(rng);
    std::vector<std::string> storage;
    prevalence_value expected_operands;
    for (std::uint64_t i = 0, n = 2 + rng() % 8; i < n; ++i) {
      const auto d = random_delta(rng);
      expected_operands.merge(d);
      storage.push_back(encoded(d));
    }
    std::vector<rocksdb::Slice> operands(storage.begin(), storage.end());

    // Partial: the operands alone.
    std::string partial;
    const std::deque<rocksdb::Slice> deque(operands.begin(), operands.end());
    ASSERT_TRUE(op->PartialMergeMulti(rocksdb::Slice("k"), deque, &partial, nullptr));
    ASSERT_EQ(partial, encoded(expected_operands));

    // Full, on a base value.
    const std::string base_bytes = encoded(base);
    const rocksdb::Slice base_slice(base_bytes);
    auto expected = base;
    expected.merge(expected_operands);
    ASSERT_EQ(full_merge(*op, &base_slice, operands), encoded(expected));

    // Full, on no base value.
    ASSERT_EQ(full_merge(*op, nullptr, operands), encoded(expected_operands));
  }
}

TEST(prevalence_merge_operator, an_undecodable_operand_or_base_is_skipped_and_counted) {
  const auto op = make_prevalence_merge_operator();
  prevalence_value good;
  good.first_seen_ms = k_now;
  good.hosts.insert(item_hash(1));
  const std::string good_bytes = encoded(good);
  const std::string bad_base = "\x01\x04\x17";  // hosts set of an unknown kind
  const rocksdb::Slice base_slice(bad_base);
  const std::vector<rocksdb::Slice> operands = {rocksdb::Slice("garbage"), rocksdb::Slice(good_bytes),
                                                rocksdb::Slice()};
  const auto before = undecodable();
  EXPECT_EQ(full_merge(*op, &base_slice, operands), good_bytes);
  EXPECT_EQ(undecodable() - before, 3U);

  std::string partial;
  const std::deque<rocksdb::Slice> deque(operands.begin(), operands.end());
  ASSERT_TRUE(op->PartialMergeMulti(rocksdb::Slice("k"), deque, &partial, nullptr));
  EXPECT_EQ(partial, good_bytes);
  EXPECT_EQ(undecodable() - before, 5U);
}

TEST(prevalence_merge_operator, when_nothing_decodes_the_key_gets_an_empty_record_not_an_error) {
  const auto op = make_prevalence_merge_operator();
  const std::vector<rocksdb::Slice> operands = {rocksdb::Slice("x"), rocksdb::Slice("\x02\x00", 2)};
  EXPECT_EQ(full_merge(*op, nullptr, operands), encoded(prevalence_value{}));
}

// Forwards to the real operator and counts which entry points RocksDB used, so the
// database tests can show that both partial (flush) and full (read, compaction) merges ran.
class counting_operator final : public rocksdb::MergeOperator {
 public:
  explicit counting_operator(std::shared_ptr<rocksdb::MergeOperator> inner) : inner_(std::move(inner)) {}
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    full_.fetch_add(1);
    return inner_->FullMergeV2(in, out);
  }
  bool PartialMergeMulti(const rocksdb::Slice& key, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    partial_.fetch_add(1);
    return inner_->PartialMergeMulti(key, operands, new_value, logger);
  }
  const char* Name() const override { return inner_->Name(); }
  std::uint64_t full() const { return full_.load(); }
  std::uint64_t partial() const { return partial_.load(); }

 private:
  std::shared_ptr<rocksdb::MergeOperator> inner_;
  mutable std::atomic<std::uint64_t> full_{0};
  mutable std::atomic<std::uint64_t> partial_{0};
};

// A RocksDB in its own temporary directory, removed afterwards.
class prevalence_merge_db : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("countersign-merge-" + std::to_string(::getpid()) + "-" + info->name());
    std::filesystem::remove_all(dir_);
    options_.create_if_missing = true;
    counting_ = std::make_shared<counting_operator>(make_prevalence_merge_operator());
    options_.merge_operator = counting_;
    options_.write_buffer_size = 64 << 10;  // small memtables: several flushes and levels
    open();
  }

  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void open() {
    rocksdb::DB* raw = nullptr;
    const auto status = rocksdb::DB::Open(options_, dir_.string(), &raw);
    ASSERT_TRUE(status.ok()) << status.ToString();
    db_.reset(raw);
  }

  void reopen() {
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    open();
  }

  void merge(const std::string& key, const std::string& operand) {
    const auto status = db_->Merge(rocksdb::WriteOptions(), key, operand);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  void flush() {
    const auto status = db_->Flush(rocksdb::FlushOptions());
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  void compact() {
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    const auto status = db_->CompactRange(options, nullptr, nullptr);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }

  std::string get(const std::string& key) {
    std::string value;
    const auto status = db_->Get(rocksdb::ReadOptions(), key, &value);
    EXPECT_TRUE(status.ok()) << key << ": " << status.ToString();
    return value;
  }

  std::filesystem::path dir_;
  rocksdb::Options options_;
  std::shared_ptr<counting_operator> counting_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(prevalence_merge_db, random_merges_in_any_order_match_the_in_memory_union_through_compaction) {
  std::mt19937_64 rng(41);
  constexpr int k_keys = 40;
  std::vector<prevalence_value> expected(k_keys);
  std::vector<std::pair<int, std::string>> writes;
  for (int i = 0; i < 4000; ++i) {
    const int key = static_cast<int>(rng() % k_keys);
    // A quarter of the keys see few hosts and stay exact; the rest become sketches.
    const auto delta = random_delta(rng, key % 4 == 0 ? 50 : 300);
    expected[static_cast<std::size_t>(key)].merge(delta);
    writes.emplace_back(key, encoded(delta));
  }
  // Replays: a quarter of the writes again, as after a crash or a rebalance.
  for (std::size_t i = 0; i < writes.size() / 4; ++i) writes.push_back(writes[rng() % writes.size()]);
  std::shuffle(writes.begin(), writes.end(), rng);

  for (std::size_t i = 0; i < writes.size(); ++i) {
    merge("key-" + std::to_string(writes[i].first), writes[i].second);
    if (rng() % 700 == 0) flush();  // operands spread over memtable and several files
  }
  const auto stats_before = undecodable();
  for (int k = 0; k < k_keys; ++k) {
    ASSERT_EQ(get("key-" + std::to_string(k)), encoded(expected[static_cast<std::size_t>(k)])) << k;
  }
  flush();
  compact();
  for (int k = 0; k < k_keys; ++k) {
    ASSERT_EQ(get("key-" + std::to_string(k)), encoded(expected[static_cast<std::size_t>(k)])) << k;
  }
  reopen();
  for (int k = 0; k < k_keys; ++k) {
    const auto bytes = get("key-" + std::to_string(k));
    ASSERT_EQ(bytes, encoded(expected[static_cast<std::size_t>(k)])) << k;
    const auto value = prevalence_value::decode(bytes);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, expected[static_cast<std::size_t>(k)]);
  }
  EXPECT_EQ(undecodable(), stats_before);
  EXPECT_GT(counting_->partial(), 0U);  // flushes combined operands without a base
  EXPECT_GT(counting_->full(), 0U);
  // Some keys crossed the exact cap, so both representations went through RocksDB.
  EXPECT_TRUE(std::any_of(expected.begin(), expected.end(), [](const auto& v) { return !v.hosts.exact(); }));
  EXPECT_TRUE(std::any_of(expected.begin(), expected.end(), [](const auto& v) { return v.hosts.exact(); }));
}

TEST_F(prevalence_merge_db, merges_on_top_of_a_compacted_base_and_after_reopening_stay_consistent) {
  std::mt19937_64 rng(42);
  prevalence_value expected;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 300; ++i) {
      const auto delta = random_delta(rng);
      expected.merge(delta);
      merge("k", encoded(delta));
    }
    if (round % 2 == 0) {
      flush();
      compact();
    }
    ASSERT_EQ(get("k"), encoded(expected)) << round;
    reopen();  // unflushed operands come back from the WAL
    ASSERT_EQ(get("k"), encoded(expected)) << round;
  }
}

TEST_F(prevalence_merge_db, a_corrupt_operand_is_skipped_and_counted_and_the_key_stays_readable) {
  std::mt19937_64 rng(43);
  prevalence_value expected;
  for (int i = 0; i < 50; ++i) {
    const auto delta = random_delta(rng);
    expected.merge(delta);
    merge("k", encoded(delta));
    if (i == 20) merge("k", "not a prevalence value");
    if (i == 30) merge("k", std::string("\x01\x04\x10\x41", 4));  // an exact set above the cap
  }
  const auto before = undecodable();
  EXPECT_EQ(get("k"), encoded(expected));
  EXPECT_EQ(undecodable() - before, 2U);

  flush();
  compact();
  EXPECT_EQ(get("k"), encoded(expected));
  const auto after_compaction = undecodable();
  EXPECT_GE(after_compaction - before, 4U);  // the compaction met them again
  // The compacted value is clean: reading it no longer meets anything undecodable.
  EXPECT_EQ(get("k"), encoded(expected));
  EXPECT_EQ(undecodable(), after_compaction);
  reopen();
  EXPECT_EQ(get("k"), encoded(expected));
}

TEST_F(prevalence_merge_db, a_corrupt_base_value_is_skipped_and_counted) {
  ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), "k", "\xff\xff\xff").ok());
  prevalence_value delta;
  delta.first_seen_ms = k_now;
  delta.last_seen_ms = k_now;
  delta.hosts.insert(item_hash(7));
  merge("k", encoded(delta));
  const auto before = undecodable();
  EXPECT_EQ(get("k"), encoded(delta));
  EXPECT_EQ(undecodable() - before, 1U);
  flush();
  compact();
  EXPECT_EQ(get("k"), encoded(delta));
}

}  // namespace
}  // namespace merge_operator_test
}  // namespace countersign::state
