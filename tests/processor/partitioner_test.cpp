// The ingest stage and replay must place a file hash in the partition Kafka's own
// murmur2 partitioner would: checked against librdkafka's implementation and the Java
// client's published values.

#include <countersign/processor/engine/partitioner.hpp>

#include <librdkafka/rdkafka.h>

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace countersign::processor {
namespace partitioner_test {  // one per file: the test programs are unity builds
namespace {

TEST(partitioner, matches_librdkafka_murmur2_on_random_keys_and_partition_counts) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    std::string key(rng() % 80 + 1, '\0');  // librdkafka treats an empty key as "no key"
    for (auto& c : key) c = static_cast<char>(rng());
    const auto partitions = static_cast<std::int32_t>(rng() % 64 + 1);
    const std::int32_t expected =
        rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
    ASSERT_EQ(kafka_partition(key, partitions), expected) << "key of " << key.size() << " bytes, " << partitions;
  }
}

TEST(partitioner, matches_the_java_clients_murmur2) {
  // Values from the Java client's Utils.murmur2 (as signed 32-bit integers).
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  EXPECT_EQ(static_cast<std::int32_t>(kafka_murmur2("abc")), 479470107);
}

}  // namespace
}  // namespace partitioner_test
}  // namespace countersign::processor
