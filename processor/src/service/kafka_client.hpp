#pragma once
// What every librdkafka client of `countersign run` is made with: the processing
// threads' clients (kafka_runner.cpp) and the process's global-table reader
// (global_table.cpp). Private to src/service.

#include <countersign/processor/config.hpp>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor::service {

using client_properties = std::vector<std::pair<std::string, std::string>>;

// The callbacks a client gets, each handed `opaque`; null ones are not set.
struct client_callbacks {
  void* opaque = nullptr;
  void (*error)(rd_kafka_t*, int, const char*, void*) = nullptr;
  void (*delivery)(rd_kafka_t*, const rd_kafka_message_t*, void*) = nullptr;
  void (*rebalance)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*) = nullptr;
  int (*stats)(rd_kafka_t*, char*, std::size_t, void*) = nullptr;
  void (*commit)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*) = nullptr;
};

// How long a consumer waits before fetching again for a partition whose local queue is
// full (librdkafka's fetch.queue.backoff.ms, set on every consumer unless the user's
// kafka.consumer sets it; librdkafka's own default is 1000).
inline constexpr int k_fetch_queue_backoff_ms = 50;

// A client name (client.id, group.instance.id) of processing thread `thread`: with
// several threads each gets a suffix (-1, -2, ...; the first keeps the name).
[[nodiscard]] std::string thread_client_name(const std::string& name, std::size_t thread);

// A client of processing thread `thread` (process-wide clients use 0): `defaults`, then
// the security settings, then the user's `extra` properties (kafka.consumer or
// kafka.producer; group settings only for a group member). Logs go to spdlog.
[[nodiscard]] std::expected<rd_kafka_t*, std::string> make_client(const kafka_config& k, rd_kafka_type_t type,
                                                                  const client_properties& defaults,
                                                                  const std::map<std::string, std::string>& extra,
                                                                  std::string_view section, bool group_member,
                                                                  std::size_t thread, const client_callbacks& callbacks);

// A consumer outside the group that is assigned partitions by hand (the global-table
// and restore readers): never joins or commits, reports partition ends.
[[nodiscard]] client_properties reader_properties(const kafka_config& k);

// The message that must end the service for a client error: fatal errors, failed
// authentication, and TLS failures while `starting` (a wrong CA or certificate, which
// retrying will not fix). nullopt: the client retries by itself; log and carry on.
[[nodiscard]] std::optional<std::string> fatal_client_error(rd_kafka_t* rk, int err, const char* reason, bool starting);

// The end offset of a partition. A topic created a moment ago may have no leader yet,
// so retriable errors are retried for a while; `give_up` (set by the client's error
// callback or a stop) ends the retries with RD_KAFKA_RESP_ERR__INTR.
rd_kafka_resp_err_t query_end(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::int64_t& end,
                              int attempts = 40, const std::atomic<bool>* give_up = nullptr);

// At most one log line per category per interval; counts what it held back. Used by
// one thread.
class log_throttle {
 public:
  template <typename... Args>
  void warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(10) && last_ != std::chrono::steady_clock::time_point{}) {
      ++held_;
      return;
    }
    if (held_ > 0) spdlog::warn("({} similar messages suppressed)", held_);
    held_ = 0;
    last_ = now;
    spdlog::warn(fmt, std::forward<Args>(args)...);
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t held_ = 0;
};

}  // namespace countersign::processor::service
