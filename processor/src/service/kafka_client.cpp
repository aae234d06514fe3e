#include "kafka_client.hpp"

#include <countersign/processor/transport/kafka_errors.hpp>

#include <mutex>

namespace countersign::processor::service {
namespace {

std::expected<void, std::string> set_property(rd_kafka_conf_t* conf, const std::string& key,
                                              const std::string& value, std::string_view section) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    return std::unexpected(std::string("kafka.") + std::string(section) + "." + key + ": " + errstr);
  }
  return {};
}

void on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) spdlog::error("librdkafka {}: {}", fac, buf);
  else if (level <= 4) spdlog::warn("librdkafka {}: {}", fac, buf);
  else if (level <= 6) spdlog::info("librdkafka {}: {}", fac, buf);
  else spdlog::debug("librdkafka {}: {}", fac, buf);
}

}  // namespace

std::string thread_client_name(const std::string& name, std::size_t thread) {
  return thread == 0 || name.empty() ? name : name + "-" + std::to_string(thread);
}

std::expected<rd_kafka_t*, std::string> make_client(const kafka_config& k, rd_kafka_type_t type,
                                                    const client_properties& defaults,
                                                    const std::map<std::string, std::string>& extra,
                                                    std::string_view section, bool group_member, std::size_t thread,
                                                    const client_callbacks& callbacks) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Client names, from kafka.client_id / group_instance_id or set as raw properties, are
  // one per processing thread (two members with one group.instance.id fence each other).
  const auto apply = [&](const std::string& key, const std::string& value) -> std::expected<void, std::string> {
    const bool per_thread = key == "client.id" || key == "group.instance.id";
    return set_property(conf, key, per_thread ? thread_client_name(value, thread) : value, section);
  };
  if (type == RD_KAFKA_CONSUMER) {
    // librdkafka stops fetching a partition whose local queue holds queued.min.messages
    // or queued.max.messages.kbytes, and looks again only after fetch.queue.backoff.ms:
    // 1 s by default. A processing thread empties a full queue (64 MiB, about 40,000
    // fleet events) in well under a second, then waited out the rest of it, so a backlog
    // was read in bursts at about 37,000 events/s with the thread idle half the time
    // (100,000 with 50 ms; docs/benchmarks.md, "Fetch queue backoff"). Restores and the
    // table reader can hit queued.min.messages with small records the same way. librdkafka
    // before 2.3 waits the second without the property (then a larger
    // queued.max.messages.kbytes is the remedy). The caller's defaults and the user's
    // kafka.consumer come after, so they win.
    if (rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", std::to_string(k_fetch_queue_backoff_ms).c_str(), nullptr,
                          0) == RD_KAFKA_CONF_UNKNOWN) {
      static std::once_flag noted;
      std::call_once(noted, [] {
        spdlog::info("librdkafka {} has no fetch.queue.backoff.ms: a partition whose fetch queue fills waits 1 s "
                     "before the next fetch (raise kafka.consumer queued.max.messages.kbytes if a backlog drains slowly)",
                     rd_kafka_version_str());
      });
    }
  }
  for (const auto& [key, value] : defaults) {
    if (auto r = apply(key, value); !r) {
      rd_kafka_conf_destroy(conf);
      return std::unexpected(r.error());
    }
  }
  for (const auto& [key, value] : security_properties(k)) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), nullptr, 0) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // The value may be a secret: name the setting only.
      return std::unexpected("kafka.security: librdkafka rejected " + key);
    }
  }
  // The user's properties win (security settings, tuning); the table and restore
  // consumers are not group members, so group settings stay with the group consumer.
  for (const auto& [key, value] : extra) {
    if (!group_member && (key.starts_with("group.") || key == "partition.assignment.strategy")) continue;
    if (auto r = apply(key, value); !r) {
      rd_kafka_conf_destroy(conf);
      return std::unexpected(r.error());
    }
  }
  rd_kafka_conf_set_opaque(conf, callbacks.opaque);
  if (callbacks.error) rd_kafka_conf_set_error_cb(conf, callbacks.error);
  rd_kafka_conf_set_log_cb(conf, &on_log);
  if (callbacks.delivery) rd_kafka_conf_set_dr_msg_cb(conf, callbacks.delivery);
  if (callbacks.rebalance) rd_kafka_conf_set_rebalance_cb(conf, callbacks.rebalance);
  if (callbacks.stats) rd_kafka_conf_set_stats_cb(conf, callbacks.stats);
  if (callbacks.commit) rd_kafka_conf_set_offset_commit_cb(conf, callbacks.commit);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return std::unexpected(std::string("cannot create the Kafka ") + std::string(section) + " client: " + errstr);
  }
  if (type == RD_KAFKA_CONSUMER) rd_kafka_poll_set_consumer(rk);
  return rk;
}

client_properties reader_properties(const kafka_config& k) {
  return {
      {"bootstrap.servers", k.bootstrap_servers},
      {"client.id", k.client_id},
      {"group.id", k.group_id + ".readers"},  // never joined or committed: partitions are assigned
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
  };
}

std::optional<std::string> fatal_client_error(rd_kafka_t* rk, int err, const char* reason, bool starting) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    return std::string("fatal Kafka error: ") + buf;
  }
  if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION) return std::string("Kafka authentication failed: ") + reason;
  // Certificate verification or handshake failure before anything ran: a wrong CA,
  // protocol or certificate, which retrying will not fix.
  if (code == RD_KAFKA_RESP_ERR__SSL && starting) return std::string("Kafka TLS failed: ") + reason;
  return std::nullopt;
}

rd_kafka_resp_err_t query_end(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::int64_t& end,
                              int attempts, const std::atomic<bool>* give_up) {
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int i = 0; i < attempts; ++i) {
    if (give_up && give_up->load(std::memory_order_relaxed)) return RD_KAFKA_RESP_ERR__INTR;
    std::int64_t low = 0;
    err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &end, 5000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return err;
    if (!transport::is_transient_lookup(err)) return err;
    if (i + 1 == attempts) break;
    // Serves the client's error callback (authentication failures) while waiting. Only
    // consumers with nothing assigned get here (the start-up table reader, the idle
    // restore reader), so the poll cannot swallow a record.
    if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER) {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 250)) rd_kafka_message_destroy(m);
    } else {
      rd_kafka_poll(rk, 250);
    }
  }
  return err;
}

}  // namespace countersign::processor::service
