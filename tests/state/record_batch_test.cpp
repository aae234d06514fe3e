#include <countersign/state/record_batch.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cs = countersign::state;

namespace record_batch_test {  // one per file: the test programs are unity builds
namespace {

std::vector<std::pair<std::string, std::string>> read_all(std::string_view bytes, bool& ok) {
  cs::record_batch_reader reader(bytes);
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view key;
  std::string_view value;
  while (reader.next(key, value)) out.emplace_back(key, value);
  ok = reader.ok();
  EXPECT_EQ(reader.index(), out.size());
  return out;
}

}  // namespace

TEST(record_batch, records_come_back_in_order_with_their_keys) {
  cs::record_batch_writer w;
  EXPECT_TRUE(w.empty());
  const std::string big(300, 'v');  // a length of two varint bytes
  w.add("k1", "first");
  w.add("", "keyless");
  w.add("k3", "");
  w.add("k4", big);
  w.add(std::string_view("k\0b", 3), std::string_view("v\0b", 3));
  EXPECT_EQ(w.records(), 5u);
  bool ok = false;
  const auto got = read_all(w.bytes(), ok);
  EXPECT_TRUE(ok);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"k1", "first"}, {"", "keyless"}, {"k3", ""}, {"k4", big}, {std::string("k\0b", 3), std::string("v\0b", 3)}};
  EXPECT_EQ(got, want);
}

TEST(record_batch, clear_starts_a_new_batch) {
  cs::record_batch_writer w;
  w.add("a", "1");
  w.clear();
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.size_bytes(), 0u);
  w.add("b", "2");
  bool ok = false;
  const auto got = read_all(w.bytes(), ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "b");
}

TEST(record_batch, take_hands_the_bytes_over_and_starts_a_new_batch) {
  cs::record_batch_writer w;
  const std::string big(1000, 'x');  // grows the buffer past its first size
  w.add("a", big);
  w.add("b", "2");
  const std::string before(w.bytes());
  auto taken = w.take();
  ASSERT_NE(taken.data, nullptr);
  EXPECT_EQ(std::string_view(taken.data.get(), taken.size), before);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.size_bytes(), 0u);
  w.add("c", "3");
  bool ok = false;
  const auto got = read_all(w.bytes(), ok);
  EXPECT_TRUE(ok);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "c");
  // The taken bytes stay intact after the writer moved on.
  EXPECT_EQ(read_all(std::string_view(taken.data.get(), taken.size), ok).size(), 2u);
  EXPECT_TRUE(ok);
}

TEST(record_batch, a_moved_writer_keeps_its_batch) {
  cs::record_batch_writer w;
  w.add("a", "1");
  cs::record_batch_writer moved(std::move(w));
  EXPECT_EQ(moved.records(), 1u);
  std::vector<cs::record_batch_writer> several;
  several.resize(3);  // the runner keeps one per partition
  several[1] = std::move(moved);
  bool ok = false;
  EXPECT_EQ(read_all(several[1].bytes(), ok).size(), 1u);
  EXPECT_TRUE(ok);
}

TEST(record_batch, malformed_batches_stop_with_the_records_read_so_far) {
  cs::record_batch_writer w;
  w.add("a", "1");
  w.add("b", "22");
  const std::string good(w.bytes());
  bool ok = true;
  EXPECT_TRUE(read_all("", ok).empty());
  EXPECT_FALSE(ok) << "no version byte";
  EXPECT_TRUE(read_all("\x02" + good.substr(1), ok).empty());
  EXPECT_FALSE(ok) << "unknown version";
  // Cut inside the second record's value: the first stands, then not ok.
  const auto cut = read_all(std::string_view(good).substr(0, good.size() - 1), ok);
  EXPECT_FALSE(ok);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0].second, "1");
  // A length far past the end.
  EXPECT_TRUE(read_all(std::string("\x01\xff\xff\xff\x0f", 5), ok).empty());
  EXPECT_FALSE(ok);
  // A version byte alone is an empty batch.
  EXPECT_TRUE(read_all("\x01", ok).empty());
  EXPECT_TRUE(ok);
}

TEST(record_batch, positions_order_like_offsets_then_indexes) {
  EXPECT_EQ(cs::batch_position(0, 0), 0);
  EXPECT_LT(cs::batch_position(7, cs::k_record_batch_max_records), cs::batch_position(8, 0));
  EXPECT_LT(cs::batch_position(7, 1), cs::batch_position(7, 2));
  EXPECT_EQ(cs::batch_position(1, 0), 65'536);
}

TEST(record_batch, the_writer_is_full_at_the_record_limit) {
  cs::record_batch_writer w;
  for (std::size_t i = 0; i < cs::k_record_batch_max_records; ++i) w.add("", "");
  EXPECT_TRUE(w.full());
  bool ok = false;
  EXPECT_EQ(read_all(w.bytes(), ok).size(), cs::k_record_batch_max_records);
  EXPECT_TRUE(ok);
}

TEST(record_batch, a_record_fits_unless_it_takes_the_batch_past_the_limit) {
  cs::record_batch_writer w;
  EXPECT_TRUE(w.fits(1'000, 10)) << "an empty batch takes a record larger than the limit: it goes alone";
  w.add("k", "v");  // version byte + 2 length bytes + 2 bytes
  EXPECT_EQ(w.size_bytes(), 5u);
  EXPECT_TRUE(w.fits(5, 10));
  EXPECT_FALSE(w.fits(6, 10));
  for (std::size_t i = 1; i < cs::k_record_batch_max_records; ++i) w.add("", "");
  EXPECT_FALSE(w.fits(0, 1'000'000)) << "a full batch takes nothing more";
}

}  // namespace record_batch_test
