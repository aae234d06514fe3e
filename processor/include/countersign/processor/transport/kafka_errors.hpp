#pragma once
// How the runner treats librdkafka's error codes.

#include <librdkafka/rdkafka.h>

namespace countersign::processor::transport {

// Producing the same record again cannot succeed (too large, invalid, not authorized,
// no such topic or partition): the output is dropped and counted; anything else is
// produced again.
[[nodiscard]] bool is_permanent(rd_kafka_resp_err_t err);

// A metadata or offset query failed only because the cluster is settling (a topic
// created a moment ago has no leader yet, a broker is being reached): worth asking again.
[[nodiscard]] bool is_transient_lookup(rd_kafka_resp_err_t err);

}  // namespace countersign::processor::transport
