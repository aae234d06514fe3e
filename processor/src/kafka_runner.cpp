#include <countersign/processor/kafka_runner.hpp>
#include <countersign/processor/offset_tracker.hpp>

#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <vector>

namespace countersign::processor {
namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Identifies the input message a produced output belongs to; owned by librdkafka
// between produce and its delivery report.
struct delivery_ticket {
  partition_slot_ref ref;
  std::int64_t offset;
};

// An output whose delivery failed with a retriable error, produced again from the main loop.
struct retry_item {
  std::string topic;
  std::string key;
  std::string payload;
  rd_kafka_headers_t* headers;  // owned until produced
  delivery_ticket* ticket;
};

// Errors after which producing the same message again cannot succeed.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
      return true;
    default:
      return false;
  }
}

// At most one log line per category per interval; counts what it held back.
class log_throttle {
 public:
  template <typename... Args>
  void warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    const auto now = clock_type::now();
    if (now - last_ < std::chrono::seconds(10) && last_ != clock_type::time_point{}) {
      ++held_;
      return;
    }
    if (held_ > 0) spdlog::warn("({} similar messages suppressed)", held_);
    held_ = 0;
    last_ = now;
    spdlog::warn(fmt, std::forward<Args>(args)...);
  }

 private:
  clock_type::time_point last_{};
  std::uint64_t held_ = 0;
};

}  // namespace

struct kafka_runner::impl {
  const config& cfg;
  std::shared_ptr<metrics::health_state> health;
  metrics_bridge* metrics;
  pipeline pipe;
  runner_stats stats;
  offset_tracker tracker;
  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  std::vector<retry_item> retries;
  bool paused = false;
  std::string fatal;
  log_throttle reject_log, consume_log, produce_log, broker_log;
  // Last partition seen, so the slot and profile lookups are not repeated per message.
  rd_kafka_topic_t* last_rkt = nullptr;
  std::int32_t last_partition = -1;
  partition_slot_ref last_ref{};
  rules::schema_profile last_profile = rules::schema_profile::unknown;
  // Messages with Code Integrity verdicts held for a join, by pipeline token.
  std::unordered_map<std::uint64_t, delivery_ticket> deferred;
  std::uint64_t next_token = 1;

  impl(const config& c, std::shared_ptr<metrics::health_state> h, metrics_bridge* m, state::prevalence_store* s)
      : cfg(c), health(std::move(h)), metrics(m), pipe(c, s) {}

  ~impl() {
    for (auto& r : retries) {
      if (r.headers) rd_kafka_headers_destroy(r.headers);
      delete r.ticket;
    }
    if (producer) rd_kafka_destroy(producer);
    if (consumer) rd_kafka_destroy(consumer);
  }

  std::expected<void, std::string> create_clients();
  std::expected<void, std::string> run(const std::atomic<bool>& stop);
  void handle(const rd_kafka_message_t* m);
  void handle_deferred_outputs();
  bool produce(const std::string& topic, std::string_view key, std::string_view value,
               rd_kafka_headers_t* headers, delivery_ticket* ticket);
  void produce_retries();
  void store_offsets();
  void set_paused(bool pause);
  void publish() {
    if (metrics) metrics->publish(pipe.stats(), &stats);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque);
  simdjson::dom::parser stats_parser;
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
};

namespace {

std::expected<void, std::string> set_property(rd_kafka_conf_t* conf, const std::string& key,
                                              const std::string& value, std::string_view section) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    return std::unexpected(std::string("kafka.") + std::string(section) + "." + key + ": " + errstr);
  }
  return {};
}

}  // namespace

std::expected<void, std::string> kafka_runner::impl::create_clients() {
  const auto& k = cfg.kafka;
  // Producer: idempotent and acks=all so an acknowledged alert is durable and a retried
  // one is not duplicated by the broker; batches larger than librdkafka's default linger.
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  const std::vector<std::pair<std::string, std::string>> producer_defaults = {
      {"bootstrap.servers", k.bootstrap_servers},
      {"client.id", k.client_id},
      {"acks", "all"},
      {"enable.idempotence", "true"},
      {"linger.ms", "20"},
      {"compression.type", "lz4"},
      // Dead-letter copies are the input unchanged, so allow what the input may carry;
      // the broker's max.message.bytes for the topic still applies.
      {"message.max.bytes", "67108864"},
  };
  for (const auto& [key, value] : producer_defaults) {
    if (auto r = set_property(pconf, key, value, "producer"); !r) {
      rd_kafka_conf_destroy(pconf);
      return r;
    }
  }
  for (const auto& [key, value] : k.producer) {
    if (auto r = set_property(pconf, key, value, "producer"); !r) {
      rd_kafka_conf_destroy(pconf);
      return r;
    }
  }
  rd_kafka_conf_set_opaque(pconf, this);
  rd_kafka_conf_set_dr_msg_cb(pconf, &impl::on_delivery);
  rd_kafka_conf_set_error_cb(pconf, &impl::on_error);
  rd_kafka_conf_set_log_cb(pconf, &impl::on_log);
  char errstr[512];
  producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, errstr, sizeof errstr);
  if (!producer) {
    rd_kafka_conf_destroy(pconf);
    return std::unexpected(std::string("cannot create the Kafka producer: ") + errstr);
  }

  // Consumer: offsets are stored by us once outputs are acknowledged, and committed by
  // auto-commit (and synchronously at shutdown).
  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  const std::vector<std::pair<std::string, std::string>> consumer_defaults = {
      {"bootstrap.servers", k.bootstrap_servers},
      {"group.id", k.group_id},
      {"client.id", k.client_id},
      {"enable.auto.commit", "true"},
      {"auto.commit.interval.ms", std::to_string(cfg.processing.commit_interval_ms)},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"enable.partition.eof", "false"},
      {"statistics.interval.ms", "5000"},  // consumer lag per partition, for metrics
  };
  if (!k.group_instance_id.empty()) {
    if (auto r = set_property(cconf, "group.instance.id", k.group_instance_id, "consumer"); !r) {
      rd_kafka_conf_destroy(cconf);
      return r;
    }
  }
  for (const auto& [key, value] : consumer_defaults) {
    if (auto r = set_property(cconf, key, value, "consumer"); !r) {
      rd_kafka_conf_destroy(cconf);
      return r;
    }
  }
  for (const auto& [key, value] : k.consumer) {
    if (auto r = set_property(cconf, key, value, "consumer"); !r) {
      rd_kafka_conf_destroy(cconf);
      return r;
    }
  }
  rd_kafka_conf_set_opaque(cconf, this);
  rd_kafka_conf_set_rebalance_cb(cconf, &impl::on_rebalance);
  rd_kafka_conf_set_stats_cb(cconf, &impl::on_stats);
  rd_kafka_conf_set_error_cb(cconf, &impl::on_error);
  rd_kafka_conf_set_log_cb(cconf, &impl::on_log);
  consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, errstr, sizeof errstr);
  if (!consumer) {
    rd_kafka_conf_destroy(cconf);
    return std::unexpected(std::string("cannot create the Kafka consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(consumer);

  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(k.input_topics.size()));
  for (const auto& t : k.input_topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) return std::unexpected(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  return {};
}

bool kafka_runner::impl::produce(const std::string& topic, std::string_view key, std::string_view value,
                                 rd_kafka_headers_t* headers, delivery_ticket* ticket) {
  for (;;) {
    rd_kafka_resp_err_t err;
// librdkafka's RD_KAFKA_V_* macros are C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    void* payload = const_cast<char*>(value.data());  // copied: RD_KAFKA_MSG_F_COPY
    if (headers) {
      err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(payload, value.size()),
                              RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
    } else {
      err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(payload, value.size()),
                              RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
    }
#pragma GCC diagnostic pop
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;  // headers now belong to the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: serve delivery reports until the local queue has room.
      rd_kafka_poll(producer, 10);
      health->beat();
      continue;
    }
    if (headers) rd_kafka_headers_destroy(headers);
    ++stats.produce_failures;
    produce_log.warn("cannot produce to {}: {} (output dropped, counted)", topic, rd_kafka_err2str(err));
    return false;
  }
}

void kafka_runner::impl::produce_retries() {
  std::vector<retry_item> batch;
  batch.swap(retries);
  for (auto& r : batch) {
    ++stats.produce_retries;
    if (!produce(r.topic, r.key, r.payload, r.headers, r.ticket)) {
      tracker.acked(r.ticket->ref, r.ticket->offset);  // permanent: release the input offset
      delete r.ticket;
    }
    r.headers = nullptr;
    r.ticket = nullptr;
  }
}

void kafka_runner::impl::handle(const rd_kafka_message_t* m) {
  const char* topic_c = rd_kafka_topic_name(m->rkt);
  const std::string_view topic(topic_c);
  runner_stats::add(stats.consumed_by_topic, topic);

  if (m->rkt != last_rkt || m->partition != last_partition) {
    last_ref = tracker.find(std::string(topic), m->partition);
    if (last_ref.generation == 0) last_ref = tracker.assign(std::string(topic), m->partition);
    last_rkt = m->rkt;
    last_partition = m->partition;
    const auto it = cfg.input.schemas.find(std::string(topic));
    last_profile = it == cfg.input.schemas.end() ? rules::schema_profile::unknown : it->second;
  }
  const partition_slot_ref ref = last_ref;

  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  const std::uint64_t token = next_token++;
  const process_result res =
      pipe.process(payload, {topic, m->partition, m->offset}, wall_ms(), token, last_profile);

  std::uint32_t pending = 0;
  for (const auto& a : pipe.alerts()) {
    if (a.deferred) continue;
    auto* ticket = new delivery_ticket{ref, m->offset};
    if (produce(cfg.kafka.alerts_topic, a.key, a.json, nullptr, ticket)) {
      ++pending;
    } else {
      delete ticket;
    }
  }
  if (res.kind == outcome::rejected) {
    reject_log.warn("rejected {}/{}@{}: {} {}", topic, m->partition, m->offset, to_string(res.reason), res.detail);
    if (!cfg.kafka.dead_letter_topic.empty()) {
      rd_kafka_headers_t* h = rd_kafka_headers_new(6);
      const auto add = [h](const char* name, std::string_view v) {
        rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
      };
      const std::string partition = std::to_string(m->partition);
      const std::string offset = std::to_string(m->offset);
      add("countersign.reason", to_string(res.reason));
      add("countersign.detail", res.detail);
      add("countersign.stage", "ingest");
      add("countersign.source.topic", topic);
      add("countersign.source.partition", partition);
      add("countersign.source.offset", offset);
      const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      auto* ticket = new delivery_ticket{ref, m->offset};
      if (produce(cfg.kafka.dead_letter_topic, key, payload, h, ticket)) {
        pending = 1;
      } else {
        delete ticket;
      }
    }
  }
  if (res.deferred > 0) {
    pending += res.deferred;
    deferred.emplace(token, delivery_ticket{ref, m->offset});
  }
  tracker.consumed(ref, m->offset, pending);
  handle_deferred_outputs();
}

// Alerts of verdicts released from the Code Integrity join, and the releases themselves:
// each release is one of the acknowledgements its message waits for.
void kafka_runner::impl::handle_deferred_outputs() {
  for (const auto& a : pipe.alerts()) {
    if (!a.deferred) continue;
    const auto it = deferred.find(a.token);
    if (it == deferred.end()) continue;
    auto* ticket = new delivery_ticket{it->second};
    tracker.add_pending(ticket->ref, ticket->offset, 1);
    if (!produce(cfg.kafka.alerts_topic, a.key, a.json, nullptr, ticket)) {
      tracker.acked(ticket->ref, ticket->offset);
      delete ticket;
    }
  }
  for (const std::uint64_t token : pipe.releases()) {
    const auto it = deferred.find(token);
    if (it == deferred.end()) continue;
    tracker.acked(it->second.ref, it->second.offset);
    deferred.erase(it);
  }
}

void kafka_runner::impl::store_offsets() {
  pipe.flush_state();  // state first: committed input must not have state only in memory
  const auto points = tracker.take_committable();
  if (points.empty()) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(points.size()));
  for (const auto& p : points) {
    rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition)->offset = p.next_offset;
  }
  if (const auto err = rd_kafka_offsets_store(consumer, list)) {
    spdlog::debug("storing offsets: {}", rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(list);
}

void kafka_runner::impl::set_paused(bool pause) {
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR && assignment) {
    if (pause) rd_kafka_pause_partitions(consumer, assignment);
    else rd_kafka_resume_partitions(consumer, assignment);
    rd_kafka_topic_partition_list_destroy(assignment);
  }
  paused = pause;
  spdlog::info("{} input: {} messages await acknowledgement", pause ? "pausing" : "resuming",
               tracker.in_flight());
}

void kafka_runner::impl::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  auto* ticket = static_cast<delivery_ticket*>(m->_private);
  const char* topic = rd_kafka_topic_name(m->rkt);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || is_permanent(m->err)) {
    if (m->err) {
      ++self->stats.produce_failures;
      self->produce_log.warn("delivery to {} failed permanently: {} (output dropped, counted)", topic,
                             rd_kafka_err2str(m->err));
    } else {
      runner_stats::add(self->stats.produced_by_topic, topic);
    }
    if (ticket) self->tracker.acked(ticket->ref, ticket->offset);
    delete ticket;
    return;
  }
  // Retriable (timed out, broker gone): produce the same bytes again from the main loop.
  self->produce_log.warn("delivery to {} failed: {}; producing again", topic, rd_kafka_err2str(m->err));
  rd_kafka_headers_t* headers = nullptr;
  rd_kafka_headers_t* original = nullptr;
  if (rd_kafka_message_headers(m, &original) == RD_KAFKA_RESP_ERR_NO_ERROR && original) {
    headers = rd_kafka_headers_copy(original);
  }
  self->retries.push_back(retry_item{
      topic,
      std::string(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
      std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
      headers,
      ticket,
  });
}

void kafka_runner::impl::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  ++self->stats.rebalances;
  self->last_rkt = nullptr;  // slot references may change
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    for (int i = 0; i < parts->cnt; ++i) {
      (void)self->tracker.assign(parts->elems[i].topic, parts->elems[i].partition);
    }
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
        spdlog::error("incremental assign failed: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
      self->stats.assigned_partitions += parts->cnt;
    } else {
      rd_kafka_assign(rk, parts);
      self->stats.assigned_partitions = parts->cnt;
    }
    if (self->paused) rd_kafka_pause_partitions(rk, parts);
    spdlog::info("assigned {} partition(s), {} in total", parts->cnt, self->stats.assigned_partitions);
    return;
  }
  // Revoked (or an error): keep what is done so auto-commit can commit it on unassign;
  // unacknowledged work is left to the next owner (at-least-once).
  self->store_offsets();
  for (int i = 0; i < parts->cnt; ++i) self->tracker.revoke(parts->elems[i].topic, parts->elems[i].partition);
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    spdlog::warn("rebalance error: {}", rd_kafka_err2str(err));
  }
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) {
      spdlog::error("incremental unassign failed: {}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    self->stats.assigned_partitions -= parts->cnt;
  } else {
    rd_kafka_assign(rk, nullptr);
    self->stats.assigned_partitions = 0;
  }
  if (self->stats.assigned_partitions < 0) self->stats.assigned_partitions = 0;
  spdlog::info("revoked {} partition(s), {} left", parts->cnt, self->stats.assigned_partitions);
}

void kafka_runner::impl::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    self->fatal = std::string("fatal Kafka error: ") + buf;
    return;
  }
  if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    self->fatal = std::string("Kafka authentication failed: ") + reason;
    return;
  }
  self->broker_log.warn("kafka: {} ({})", reason, rd_kafka_err2name(code));
}

// librdkafka statistics, served by consumer poll on the processing thread.
int kafka_runner::impl::on_stats(rd_kafka_t*, char* json, std::size_t len, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  parse_consumer_lag(std::string_view(json, len), self->stats_parser, self->stats.consumer_lag);
  return 0;  // librdkafka frees the document
}

void kafka_runner::impl::on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) spdlog::error("librdkafka {}: {}", fac, buf);
  else if (level <= 4) spdlog::warn("librdkafka {}: {}", fac, buf);
  else if (level <= 6) spdlog::info("librdkafka {}: {}", fac, buf);
  else spdlog::debug("librdkafka {}: {}", fac, buf);
}

std::expected<void, std::string> kafka_runner::impl::run(const std::atomic<bool>& stop) {
  if (auto r = create_clients(); !r) return r;
  spdlog::info("consuming {} topic(s) from {} as group {}", cfg.kafka.input_topics.size(),
               cfg.kafka.bootstrap_servers, cfg.kafka.group_id);
  health->set_ready(true);

  const auto store_every = std::chrono::milliseconds(std::max<std::int64_t>(10, cfg.processing.commit_interval_ms / 4));
  auto last_store = clock_type::now();
  auto last_publish = clock_type::now();
  const std::size_t resume_below = cfg.processing.max_in_flight / 2;

  while (!stop.load(std::memory_order_relaxed) && fatal.empty()) {
    health->beat();
    if (!retries.empty()) produce_retries();
    if (!paused && tracker.in_flight() >= cfg.processing.max_in_flight) set_paused(true);
    else if (paused && tracker.in_flight() <= resume_below) set_paused(false);

    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, paused ? 10 : 100)) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        handle(m);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++stats.consume_errors;
        consume_log.warn("consume error: {}", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_poll(producer, 0);

    const auto now = clock_type::now();
    if (now - last_store >= store_every) {
      if (pipe.held() > 0) {
        pipe.expire(wall_ms());
        handle_deferred_outputs();
      }
      store_offsets();
      last_store = now;
    }
    if (now - last_publish >= std::chrono::seconds(1)) {
      publish();
      last_publish = now;
    }
  }

  // Shutdown: no more fetching; release held verdicts, wait for outstanding
  // acknowledgements, then commit.
  health->set_ready(false);
  pipe.flush(wall_ms());
  handle_deferred_outputs();
  spdlog::info("stopping: {} message(s) await acknowledgement", tracker.in_flight());
  const auto deadline = clock_type::now() + std::chrono::milliseconds(cfg.processing.drain_timeout_ms);
  while ((tracker.in_flight() > 0 || !retries.empty()) && clock_type::now() < deadline && fatal.empty()) {
    health->beat();
    if (!retries.empty()) produce_retries();
    rd_kafka_poll(producer, 50);
  }
  if (tracker.in_flight() > 0) {
    spdlog::warn("drain timeout: {} message(s) unacknowledged; their input will be processed again",
                 tracker.in_flight());
  }
  store_offsets();
  if (const auto err = rd_kafka_commit(consumer, nullptr, 0);
      err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    spdlog::warn("final commit: {}", rd_kafka_err2str(err));
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_flush(producer, 5000);
  publish();
  spdlog::info("stopped: {} events, {} alerts", pipe.stats().events, pipe.stats().alerts);
  if (!fatal.empty()) return std::unexpected(fatal);
  return {};
}

kafka_runner::kafka_runner(const config& cfg, std::shared_ptr<metrics::health_state> health,
                           metrics_bridge* metrics, state::prevalence_store* store)
    : impl_(std::make_unique<impl>(cfg, std::move(health), metrics, store)) {}

kafka_runner::~kafka_runner() = default;

std::expected<void, std::string> kafka_runner::run(const std::atomic<bool>& stop) {
  return impl_->run(stop);
}

}  // namespace countersign::processor
