// The prevalence store on a filesystem that fills up: writes fail as values (no abort),
// the queued batch survives, and the store writes again once space is freed, with
// everything written before still there. Needs a small tmpfs of its own, so it runs as
// root (CI does) and is skipped otherwise.

#include <countersign/state/prevalence_store.hpp>

#include "small_filesystem.hpp"
#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace countersign::state {
namespace disk_full_test {  // one per file: the test programs are unity builds
namespace {

using test_support::small_filesystem;

constexpr std::int64_t k_t0 = 1'795'168'800'000;  // 2026-11-20T10:00:00Z
constexpr std::uint64_t k_mib = 1ULL << 20;

// Queues `count` records named prefix-i, one host each.
void add_records(prevalence_store& store, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    store.add(store_kind::hash, 0, prefix + "-" + std::to_string(i) + std::string(64, 'k'),
              seen(k_t0 + i, static_cast<std::uint64_t>(i) + 1));
  }
  store.observe_time(k_t0 + count);
}

void expect_records(const prevalence_store& store, const std::string& prefix, int count) {
  int found = 0;
  for (int i = 0; i < count; ++i) {
    const auto v = store.get(store_kind::hash, 0, prefix + "-" + std::to_string(i) + std::string(64, 'k'));
    if (v && v->hosts.estimate() == 1) ++found;
  }
  EXPECT_EQ(found, count) << prefix << " records";
}

store_options small_options(const small_filesystem& fs, std::uint64_t min_free) {
  store_options o;
  o.path = fs.store_path();
  o.block_cache_bytes = 8 * k_mib;
  o.write_buffer_bytes = 4 * k_mib;
  o.min_free_bytes = min_free;
  // RocksDB's warnings in the test output: what its error handler did.
  o.on_log = [](bool, std::string_view m) { std::fprintf(stderr, "rocksdb: %.*s\n", static_cast<int>(m.size()), m.data()); };
  return o;
}

// Retries recover() and commit() until both succeed or the deadline passes (RocksDB's
// own recovery from a background error polls free space every few seconds).
std::expected<void, std::string> commit_when_writable(prevalence_store& store, std::chrono::seconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto r = store.recover(); !r) {
      last = r.error();
    } else if (auto c = store.commit(); !c) {
      last = c.error();
    } else {
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return std::unexpected(last);
}

TEST(state_disk_full, writes_stop_below_min_free_and_resume_when_space_returns) {
  small_filesystem fs(24 * k_mib);
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  {
    auto opened = prevalence_store::open(small_options(fs, 8 * k_mib));
    ASSERT_TRUE(opened.has_value()) << opened.error();
    auto& store = **opened;
    add_records(store, "before", 500);
    ASSERT_TRUE(store.commit().has_value());

    fs.fill(4 * k_mib);  // below min_free_bytes, but not full
    add_records(store, "during", 500);
    const auto refused = store.commit();
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().find("low space"), std::string::npos) << refused.error();
    EXPECT_FALSE(store.writable());
    EXPECT_FALSE(store.recover().has_value());
    EXPECT_GE(store.current_stats().write_errors, 1U);
    EXPECT_FALSE(store.current_stats().writable);
    expect_records(store, "before", 500);

    fs.free_filler();
    const auto written = commit_when_writable(store, std::chrono::seconds(30));
    ASSERT_TRUE(written.has_value()) << written.error();
    EXPECT_TRUE(store.writable());
    expect_records(store, "before", 500);
    expect_records(store, "during", 500);
  }
  auto reopened = prevalence_store::open(small_options(fs, 8 * k_mib));
  ASSERT_TRUE(reopened.has_value()) << reopened.error();
  expect_records(**reopened, "before", 500);
  expect_records(**reopened, "during", 500);
}

TEST(state_disk_full, a_store_on_a_low_space_filesystem_does_not_open) {
  small_filesystem fs(16 * k_mib);
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  fs.fill(2 * k_mib);
  const auto opened = prevalence_store::open(small_options(fs, 8 * k_mib));
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().find("low space"), std::string::npos) << opened.error();
}

// The guard off, the filesystem full to the last byte: RocksDB's own write fails (its
// write-ahead log append), the error comes back as a value, and the store writes again
// after space is freed, through RocksDB's background-error recovery.
TEST(state_disk_full, a_write_that_hits_a_full_disk_fails_cleanly_and_recovers) {
  small_filesystem fs(24 * k_mib);
  if (!fs.mounted()) GTEST_SKIP() << fs.why_not();
  int last_batches = 0;
  {
    auto opened = prevalence_store::open(small_options(fs, 0));
    ASSERT_TRUE(opened.has_value()) << opened.error();
    auto& store = **opened;
    add_records(store, "before", 500);
    ASSERT_TRUE(store.commit().has_value());

    fs.fill(0);
    // The write-ahead log has preallocated room: write until a batch does not fit.
    int batches = 0;
    std::expected<void, std::string> failed;
    while (batches < 400 && failed.has_value()) {
      add_records(store, "during" + std::to_string(batches++), 500);
      failed = store.commit();
    }
    ASSERT_FALSE(failed.has_value()) << "the full filesystem took " << batches << " batches";
    EXPECT_FALSE(store.writable());
    expect_records(store, "before", 500);

    fs.free_filler();
    const auto written = commit_when_writable(store, std::chrono::seconds(60));
    ASSERT_TRUE(written.has_value()) << written.error();
    expect_records(store, "before", 500);
    for (int b = 0; b < batches; ++b) expect_records(store, "during" + std::to_string(b), 500);
    last_batches = batches;
  }
  auto reopened = prevalence_store::open(small_options(fs, 0));
  ASSERT_TRUE(reopened.has_value()) << reopened.error();
  expect_records(**reopened, "before", 500);
  for (int b = 0; b < last_batches; ++b) expect_records(**reopened, "during" + std::to_string(b), 500);
}

}  // namespace
}  // namespace disk_full_test
}  // namespace countersign::state
