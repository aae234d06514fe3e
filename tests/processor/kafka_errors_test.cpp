// Which librdkafka errors drop an output (permanent) and which retry a lookup
// (processor/src/transport/kafka_errors.cpp).

#include <countersign/processor/transport/kafka_errors.hpp>

#include <gtest/gtest.h>

namespace countersign::processor::transport {
namespace kafka_errors_test {  // one per file: the test programs are unity builds
namespace {

TEST(kafka_errors, records_that_can_never_be_accepted_are_permanent) {
  for (const auto err : {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
                         RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                         RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__INVALID_ARG,
                         RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION}) {
    EXPECT_TRUE(is_permanent(err)) << rd_kafka_err2name(err);
  }
}

TEST(kafka_errors, a_broker_that_is_away_or_slow_is_not_permanent) {
  // Produced again: dropping an alert because the broker restarted would lose it.
  for (const auto err : {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
                         RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                         RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                         RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__QUEUE_FULL,
                         RD_KAFKA_RESP_ERR_NO_ERROR}) {
    EXPECT_FALSE(is_permanent(err)) << rd_kafka_err2name(err);
  }
}

TEST(kafka_errors, lookups_retry_while_a_new_topic_settles_and_stop_on_anything_else) {
  for (const auto err : {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                         RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__TRANSPORT,
                         RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION}) {
    EXPECT_TRUE(is_transient_lookup(err)) << rd_kafka_err2name(err);
  }
  for (const auto err : {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__AUTHENTICATION,
                         RD_KAFKA_RESP_ERR__SSL, RD_KAFKA_RESP_ERR__INVALID_ARG}) {
    EXPECT_FALSE(is_transient_lookup(err)) << rd_kafka_err2name(err);
  }
}

}  // namespace
}  // namespace kafka_errors_test
}  // namespace countersign::processor::transport
