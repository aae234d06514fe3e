// Consumer lag from librdkafka statistics documents (shape per librdkafka's
// STATISTICS.md: topics -> partitions -> consumer_lag, with the internal partition -1).

#include <countersign/processor/service/runner_stats.hpp>

#include <gtest/gtest.h>

namespace countersign::processor {
namespace runner_stats_test {  // one per file: the test programs are unity builds
namespace {

TEST(parse_consumer_lag, assigned_partitions_report_their_lag_and_the_rest_are_skipped) {
  simdjson::dom::parser parser;
  std::vector<runner_stats::partition_lag> lags;
  parse_consumer_lag(R"({"name":"c#consumer-1","type":"consumer","topics":{
    "edr.events":{"topic":"edr.events","partitions":{
      "0":{"partition":0,"consumer_lag":42,"committed_offset":100},
      "1":{"partition":1,"consumer_lag":-1},
      "-1":{"partition":-1,"consumer_lag":-1}}},
    "winlogbeat":{"topic":"winlogbeat","partitions":{"3":{"partition":3,"consumer_lag":0}}}}})",
                     parser, lags);
  ASSERT_EQ(lags.size(), 2U);
  EXPECT_EQ(lags[0].topic, "edr.events");
  EXPECT_EQ(lags[0].partition, 0);
  EXPECT_EQ(lags[0].lag, 42);
  EXPECT_EQ(lags[1].topic, "winlogbeat");
  EXPECT_EQ(lags[1].partition, 3);
  EXPECT_EQ(lags[1].lag, 0);
}

TEST(parse_consumer_lag, a_malformed_document_keeps_the_previous_values) {
  simdjson::dom::parser parser;
  std::vector<runner_stats::partition_lag> lags = {{"t", 0, 7}};
  parse_consumer_lag("{\"topics\": {", parser, lags);
  ASSERT_EQ(lags.size(), 1U);
  EXPECT_EQ(lags[0].lag, 7);
  parse_consumer_lag(R"({"topics":{}})", parser, lags);
  EXPECT_TRUE(lags.empty()) << "a valid document without partitions means none are assigned";
}

}  // namespace
}  // namespace runner_stats_test
}  // namespace countersign::processor
