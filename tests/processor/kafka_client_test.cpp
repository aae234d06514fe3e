// What every consumer of `countersign run` is made with (processor/src/service/
// kafka_client.cpp): the fetch queue backoff and who may override it. Clients are
// created without a broker; nothing here connects.

#include "../../processor/src/service/kafka_client.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

namespace countersign::processor::service {
namespace kafka_client_test {  // one per file: the test programs are unity builds
namespace {

struct destroy_client {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE); }
};
using client_ptr = std::unique_ptr<rd_kafka_t, destroy_client>;

// Never reached: the clients are destroyed at once.
const client_properties unreachable_broker = {{"bootstrap.servers", "127.0.0.1:1"}};

client_ptr consumer(const std::map<std::string, std::string>& extra) {
  auto c = make_client(kafka_config{}, RD_KAFKA_CONSUMER, unreachable_broker, extra, "consumer", true, 0, {});
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error());
  return client_ptr(c ? *c : nullptr);
}

std::string property(rd_kafka_t* rk, const char* name) {
  char value[64];
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, value, &size) != RD_KAFKA_CONF_OK) return "<unknown>";
  return value;
}

bool library_has_fetch_queue_backoff() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const bool known = rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "1000", nullptr, 0) == RD_KAFKA_CONF_OK;
  rd_kafka_conf_destroy(conf);
  return known;
}

TEST(kafka_client, a_consumer_refetches_a_full_partition_queue_after_50_ms_not_librdkafkas_second) {
  if (!library_has_fetch_queue_backoff()) GTEST_SKIP() << "librdkafka " << rd_kafka_version_str() << " before 2.3";
  auto c = consumer({});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(property(c.get(), "fetch.queue.backoff.ms"), std::to_string(k_fetch_queue_backoff_ms));
  EXPECT_EQ(k_fetch_queue_backoff_ms, 50);
}

TEST(kafka_client, the_users_consumer_settings_override_the_backoff) {
  if (!library_has_fetch_queue_backoff()) GTEST_SKIP() << "librdkafka " << rd_kafka_version_str() << " before 2.3";
  auto c = consumer({{"fetch.queue.backoff.ms", "700"}});
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(property(c.get(), "fetch.queue.backoff.ms"), "700");
}

TEST(kafka_client, a_producer_is_left_as_librdkafka_makes_it) {
  auto p = make_client(kafka_config{}, RD_KAFKA_PRODUCER, unreachable_broker, {}, "producer", false, 0, {});
  ASSERT_TRUE(p.has_value()) << p.error();
  client_ptr owned(*p);
  if (library_has_fetch_queue_backoff()) {
    EXPECT_EQ(property(owned.get(), "fetch.queue.backoff.ms"), "1000");
  }
}

}  // namespace
}  // namespace kafka_client_test
}  // namespace countersign::processor::service
