#include <countersign/processor/engine/correlation_stage.hpp>
#include <countersign/processor/service/global_table.hpp>
#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/service/kafka_runner.hpp>
#include <countersign/processor/service/offset_tracker.hpp>
#include <countersign/processor/engine/partitioner.hpp>
#include <countersign/processor/engine/signer_stage.hpp>
#include <countersign/processor/service/state_write_retry.hpp>
#include <countersign/processor/transport/delivery_ledger.hpp>
#include <countersign/processor/transport/kafka_errors.hpp>
#include <countersign/processor/transport/partition_lifecycle.hpp>
#include <countersign/state/changelog.hpp>
#include <countersign/state/record_batch.hpp>

#include "kafka_client.hpp"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace countersign::processor {
namespace {

using service::log_throttle;
using service::query_end;
using transport::delivery_ticket;
using transport::topic_role;

using clock_type = std::chrono::steady_clock;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// An output whose delivery failed with a retriable error, produced again from the main loop.
struct retry_item {
  std::string topic;
  std::int32_t partition;
  std::string key;
  std::string payload;
  rd_kafka_headers_t* headers;  // owned until produced
  delivery_ticket* ticket;
};

// Marks an observations-topic record that carries a whole hash record (a replayed
// state directory being published) instead of an observation.
constexpr const char* k_record_header = "countersign.record";
// Its value on a record that holds several internal records (state/record_batch.hpp):
// observations of one observations partition, or deltas of one deltas partition.
constexpr std::string_view k_batch_record_kind = "batch";
// The producer's local queue bound by default (128 MiB; `kafka.producer` may change it).
// The Helm chart counts it in its memory floor.
constexpr int k_producer_queue_kbytes = 131'072;

// A one-partition list for pause/resume/assign.
struct partition_list {
  rd_kafka_topic_partition_list_t* list;
  partition_list(const std::string& topic, std::int32_t partition, std::int64_t offset = RD_KAFKA_OFFSET_INVALID)
      : list(rd_kafka_topic_partition_list_new(1)) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  ~partition_list() { rd_kafka_topic_partition_list_destroy(list); }
  partition_list(const partition_list&) = delete;
  partition_list& operator=(const partition_list&) = delete;
};

// What an internal record holds, from its `countersign.record` header: nullopt without
// one (a single observation or delta).
std::optional<std::string_view> record_kind(const rd_kafka_message_t* m) {
  rd_kafka_headers_t* headers = nullptr;
  const void* kind = nullptr;
  std::size_t size = 0;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(headers, k_record_header, &kind, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  return std::string_view(static_cast<const char*>(kind), kind ? size : 0);
}

// The dead-letter detail of an observations or deltas record with `bad` of its `read`
// records undecodable, or whose batch framing broke after `read` records.
std::string broken_record_detail(std::string_view what, bool batch, bool framed, std::size_t bad, std::size_t read) {
  const std::string name(what);
  if (!framed) return name + " batch is malformed after " + std::to_string(read) + " record(s)";
  if (!batch) return name + " does not decode";
  return std::to_string(bad) + " of " + std::to_string(read) + " " + name + "s do not decode";
}

}  // namespace

struct kafka_runner::impl {
  const config& cfg;
  internal_topics topics;
  std::vector<alert_output> outputs;  // kafka.alerts_topic, then alerts.outputs
  std::shared_ptr<metrics::health_state> health;
  metrics_bridge* metrics;
  std::size_t thread;   // this processing thread, of
  std::size_t threads;  // the process's processing threads (processing.threads)
  state::prevalence_store* store;
  pipeline ingest;
  hash_stage hashes;
  correlation_stage correlations;  // the windows of the observations partitions owned
  std::vector<emitted_alert> correlation_alerts;
  // Observations bound for one observations partition, sent as one record at the end of
  // each consume turn or when `topology.batch_bytes` is reached (0: a record each).
  struct outgoing_batch {
    state::record_batch_writer records;
    transport::ack_group* group = nullptr;  // the consumed messages behind the records
    partition_slot_ref last_ref{};          // the last member, joined once for all its records
    std::int64_t last_offset = -1;
  };
  std::vector<outgoing_batch> observation_batches;  // by observations partition
  std::vector<std::int32_t> open_batches;           // partitions with records waiting
  std::int32_t delta_partitions = 0;
  std::vector<state::record_batch_writer> delta_batches;  // by deltas partition, within a flush
  std::optional<signer_stage> signers;  // with a store
  runner_stats stats;
  offset_tracker tracker;
  transport::delivery_ledger ledger{tracker};
  transport::partition_lifecycle lifecycle;
  rd_kafka_t* consumer = nullptr;  // the group: input, observations, deltas
  rd_kafka_t* producer = nullptr;
  rd_kafka_t* restorer = nullptr;  // changelog partitions being restored
  std::vector<retry_item> retries;
  bool paused = false;
  std::string fatal;
  std::string last_broker_error;  // for start-up messages that would otherwise only say "timed out"
  bool starting = true;           // TLS failures are configuration errors until the service runs
  log_throttle reject_log, consume_log, produce_log, broker_log, state_log;
  // Last partition seen, so the slot, role and profile lookups are not repeated per message.
  rd_kafka_topic_t* last_rkt = nullptr;
  std::int32_t last_partition = -1;
  partition_slot_ref last_ref{};
  topic_role last_role = topic_role::input;
  rules::schema_profile last_profile = rules::schema_profile::unknown;
  // Pipeline tokens of input messages (Code Integrity verdicts are held under them).
  std::uint64_t next_token = 1;

  clock_type::time_point last_flush = clock_type::now();
  // Commit points rd_kafka_offsets_store refused, offered again with the next store.
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> unstored;

  // A failed state write (disk full, RocksDB in its background-error mode) stalls the
  // instance: consumption paused, nothing written, /readyz 503, the consumed messages
  // behind the unwritten state uncommitted. Writes are retried with backoff; the first
  // that succeeds ends the stall and consumption resumes.
  bool state_stalled = false;
  bool state_retrying = false;  // inside retry_state(): flushes may run
  state_write_retry write_retry;

  // The restore reader: the changelog partition of lifecycle.restoring(), being read.
  struct restore_task {
    std::int32_t partition = -1;
    std::int64_t end = 0;
    clock_type::time_point started;
    std::uint64_t records = 0;
  };
  std::optional<restore_task> active_restore;
  std::map<std::int32_t, std::int64_t> changelog_next;  // local state holds the changelog below this
  std::set<std::int32_t> checkpoint_dirty;

  // The global table: the process's (shared_content), or this runner's own without one.
  std::shared_ptr<global_table> table;
  bool owns_table = false;
  std::shared_ptr<leave_gate> leave;  // null with one thread
  bool left_gate = false;             // this thread arrived at `leave`
  bool reports_table = false;              // publishes the table's counts (one thread does)
  std::uint64_t table_bad_published = 0;  // of the table's bad snapshots, in stats.bad_internal_records
  std::int32_t table_partitions = 0;
  std::vector<std::int64_t> table_target;  // ends to reach before deltas partitions may run

  impl(const config& c, std::shared_ptr<metrics::health_state> h, metrics_bridge* m, state::prevalence_store* s,
       std::size_t thread_index, std::size_t thread_count, shared_content shared)
      : cfg(c),
        topics(topics_of(c)),
        outputs(alert_outputs(c)),
        health(std::move(h)),
        metrics(m),
        thread(thread_index),
        threads(thread_count),
        store(s),
        ingest(c, forward_mode, std::move(shared.sigma)),
        hashes(c, s, std::move(shared.intel)),
        correlations(c, s),
        lifecycle(s != nullptr) {
    leave = std::move(shared.leave);  // with or without a store: every thread is a group member
    if (store) {
      signers.emplace(*store);
      table = std::move(shared.table);
      owns_table = !table;
      if (owns_table) table = std::make_shared<global_table>(c, *store);
      reports_table = owns_table || thread == 0;
    }
  }

  ~impl() {
    for (auto& r : retries) {
      if (r.headers) rd_kafka_headers_destroy(r.headers);
      delete r.ticket;
    }
    if (producer) rd_kafka_destroy(producer);
    if (consumer) rd_kafka_destroy(consumer);
    if (restorer) rd_kafka_destroy(restorer);
  }

  // Log lines about this thread's partitions say which thread, when there are several.
  [[nodiscard]] std::string thread_note() const {
    return threads > 1 ? " (processing thread " + std::to_string(thread + 1) + ")" : std::string();
  }
  // A client of this processing thread (service::make_client), with this runner's callbacks.
  std::expected<rd_kafka_t*, std::string> make_client(rd_kafka_type_t type, const service::client_properties& defaults,
                                                      const std::map<std::string, std::string>& extra, std::string_view section,
                                                      bool group_member);
  std::expected<void, std::string> create_producer();
  std::expected<void, std::string> ensure_topics();
  std::expected<std::int32_t, std::string> partition_count(const std::string& topic);
  std::expected<void, std::string> start_table(const std::atomic<bool>& stop);
  void publish_bootstrap();
  std::expected<void, std::string> subscribe();
  std::expected<void, std::string> run(const std::atomic<bool>& stop);
  // Set by run(): start-up waits (topic creation, metadata, the global table) end early.
  const std::atomic<bool>* stop_ = nullptr;
  [[nodiscard]] bool stopping() const { return stop_ != nullptr && stop_->load(std::memory_order_relaxed); }

  void handle(const rd_kafka_message_t* m);
  void handle_input(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view topic);
  void handle_observation(const rd_kafka_message_t* m, partition_slot_ref ref);
  void handle_observations(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view payload, bool batch);
  void handle_delta(const rd_kafka_message_t* m, partition_slot_ref ref);
  void handle_hash_record(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view payload);
  // Correlations (correlation_stage.hpp): matches routed by group through the
  // observations topic, and judged by the owner of their partition.
  std::uint32_t forward_correlated(std::span<const forwarded_observation> matches, partition_slot_ref ref,
                                   std::int64_t offset);
  void handle_correlation_match(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view payload);
  // What a stage made of consumed message (ref, offset), to Kafka: alerts, observations
  // and correlation matches; the acknowledgements the message now waits for. Outputs of
  // earlier messages (deferred observations, releases) are left to emit_deferred.
  std::uint32_t emit(const stage_outputs& out, partition_slot_ref ref, std::int64_t offset);
  // The deferred part of a stage's outputs: observations of held verdicts released now,
  // each joining its own message's acknowledgements, and the releases themselves.
  void emit_deferred(const stage_outputs& out);
  // One observation of consumed message (ref, offset), into its partition's batch (or
  // produced on its own): the acknowledgements the message now waits for, 0 or 1.
  std::uint32_t forward_observation(const forwarded_observation& f, partition_slot_ref ref, std::int64_t offset);
  outgoing_batch& batch_for(std::int32_t partition, std::size_t adding);
  void send_observation_batches();
  void send_observation_batch(std::int32_t partition, outgoing_batch& b);
  void send_batch(const std::string& topic, std::int32_t partition, state::record_batch_writer& batch,
                  delivery_ticket* ticket);
  void finish_message(partition_slot_ref ref, std::int64_t offset, std::uint32_t pending);
  std::uint32_t produce_alerts(std::span<const emitted_alert> alerts, partition_slot_ref ref, std::int64_t offset);
  void dead_letter(const rd_kafka_message_t* m, std::string_view topic, std::string_view reason, std::string_view detail,
                   std::string_view stage, partition_slot_ref ref, std::uint32_t& pending);
  bool produce(const std::string& topic, std::int32_t partition, std::string_view key, std::string_view value,
               rd_kafka_headers_t* headers, delivery_ticket* ticket, int msgflags = RD_KAFKA_MSG_F_COPY);
  void produce_retries();
  bool flush_state();
  void note_state_failure(std::string_view what, const std::string& error);
  void retry_state();
  void store_offsets();
  void write_checkpoints();
  void set_paused(bool pause);
  void step_restore();
  void finish_restore();
  void step_deltas_waiting();
  void update_readiness();
  void note_intel(const rules::intel_watcher::reload_report& report);
  void publish() {
    stats.restoring_partitions = static_cast<std::int64_t>(lifecycle.restores_pending());
    if (store) {
      const auto s = store->current_stats();
      stats.state_sst_bytes = s.sst_bytes;
      stats.state_memtable_bytes = s.memtable_bytes;
      stats.state_block_cache_bytes = s.block_cache_bytes;
      stats.state_table_reader_bytes = s.table_reader_bytes;
      stats.state_reads = s.reads;
      stats.state_read_misses = s.read_misses;
      stats.state_dropped_by_retention = s.dropped_by_retention;
      stats.state_write_stalled = s.write_stalled;
      stats.state_write_errors = s.write_errors;
    }
    stats.state_writable = !state_stalled && !(table && table->stalled());
    if (table && reports_table) {
      const auto t = table->current_stats();
      stats.table_records = t.records;
      stats.bad_internal_records += t.bad_records - table_bad_published;
      table_bad_published = t.bad_records;
    }
    if (metrics) {
      auto all = combined(ingest.stats(), hashes.stats());
      all.correlation = correlations.stats();
      metrics->publish(all, &stats);
    }
  }
  topic_role role_of(std::string_view topic) const {
    if (topic == topics.observations) return topic_role::observations;
    if (topic == topics.deltas) return topic_role::deltas;
    return topic_role::input;
  }
  // The group's rebalance protocol as of the last rebalance (subscribe() sets it from the
  // assignment strategy, cooperative-sticky unless kafka.consumer says otherwise).
  bool cooperative_protocol = true;
  void on_assign(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* parts, bool cooperative);
  void on_revoke(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, bool cooperative);

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int on_stats(rd_kafka_t* rk, char* json, std::size_t len, void* opaque);
  static void on_commit(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                        void* opaque);
  simdjson::dom::parser stats_parser;
};

// ───────────────────────────── clients and topics ─────────────────────────────

std::expected<rd_kafka_t*, std::string> kafka_runner::impl::make_client(
    rd_kafka_type_t type, const service::client_properties& defaults, const std::map<std::string, std::string>& extra,
    std::string_view section, bool group_member) {
  service::client_callbacks callbacks{.opaque = this, .error = &impl::on_error};
  if (type == RD_KAFKA_PRODUCER) callbacks.delivery = &impl::on_delivery;
  if (group_member) {
    callbacks.rebalance = &impl::on_rebalance;
    callbacks.stats = &impl::on_stats;
    callbacks.commit = &impl::on_commit;
  }
  return service::make_client(cfg.kafka, type, defaults, extra, section, group_member, thread, callbacks);
}

std::expected<void, std::string> kafka_runner::impl::create_producer() {
  const auto& k = cfg.kafka;
  // Idempotent and acks=all so an acknowledged output is durable and a retried one is
  // not duplicated by the broker. Keys are placed like the Java client places them.
  auto p = make_client(RD_KAFKA_PRODUCER,
                       {{"bootstrap.servers", k.bootstrap_servers},
                        {"client.id", k.client_id},
                        {"acks", "all"},
                        {"enable.idempotence", "true"},
                        {"linger.ms", "20"},
                        {"compression.type", "lz4"},
                        {"partitioner", "murmur2_random"},
                        // Dead-letter copies are the input unchanged, so allow what the
                        // input may carry; the broker's max.message.bytes still applies.
                        {"message.max.bytes", "67108864"},
                        // librdkafka's default queue (1 GiB) would fill the pod's whole
                        // memory while a broker is slow; produce() waits when it is full.
                        {"queue.buffering.max.kbytes", std::to_string(k_producer_queue_kbytes)}},
                       k.producer, "producer", false);
  if (!p) return std::unexpected(p.error());
  producer = *p;
  return {};
}

std::expected<std::int32_t, std::string> kafka_runner::impl::partition_count(const std::string& topic) {
  // A topic created a moment ago may not be in the metadata yet: ask a few times.
  std::string last_error = "not in the metadata";
  for (int attempt = 0; attempt < 40 && !stopping(); ++attempt) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(producer, 0, rkt, &md, 1000);
    rd_kafka_topic_destroy(rkt);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
      std::int32_t count = 0;
      if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) count = md->topics[0].partition_cnt;
      else if (md->topic_cnt == 1) last_error = rd_kafka_err2str(md->topics[0].err);
      rd_kafka_metadata_destroy(md);
      if (count > 0) return count;
    } else {
      last_error = rd_kafka_err2str(err);
    }
    rd_kafka_poll(producer, 250);  // serves error callbacks (authentication) while waiting
    if (!fatal.empty()) return std::unexpected(fatal);
  }
  return std::unexpected("topic " + topic + ": " + last_error);
}

std::expected<void, std::string> kafka_runner::impl::ensure_topics() {
  struct wanted {
    const std::string* name;
    bool compacted;
  };
  std::vector<wanted> list = {{&topics.observations, false}};
  if (store) {
    list.push_back({&topics.changelog, true});
    list.push_back({&topics.deltas, false});
    list.push_back({&topics.signers, true});
  }
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  char errstr[512];
  for (const auto& w : list) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(w.name->c_str(), cfg.topology.partitions,
                                                   cfg.topology.replication_factor, errstr, sizeof errstr);
    if (!t) {
      for (auto* n : new_topics) rd_kafka_NewTopic_destroy(n);
      return std::unexpected("topic " + *w.name + ": " + errstr);
    }
    if (w.compacted) (void)rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
    new_topics.push_back(t);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(producer);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  (void)rd_kafka_AdminOptions_set_operation_timeout(options, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(producer, new_topics.data(), new_topics.size(), options, queue);
  // Wait in short steps, serving the producer's error callback in between: a failed
  // authentication must end start-up at once, not after the admin timeout.
  rd_kafka_event_t* event = nullptr;
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  while (event == nullptr && fatal.empty() && !stopping() && clock_type::now() < deadline) {
    event = rd_kafka_queue_poll(queue, 250);
    rd_kafka_poll(producer, 0);
  }
  std::string error;
  if (!fatal.empty()) {
    error = fatal;
  } else if (event == nullptr && stopping()) {
    error = "stopped";
  } else if (event == nullptr) {
    error = "creating the internal topics timed out" +
            (last_broker_error.empty() ? std::string() : "; last broker error: " + last_broker_error);
  } else if (rd_kafka_event_error(event)) {
    error = std::string("creating the internal topics: ") + rd_kafka_event_error_string(event);
  } else {
    std::size_t count = 0;
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::info("created internal topic {} ({} partitions)", rd_kafka_topic_result_name(results[i]),
                     cfg.topology.partitions);
      } else if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
                 err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED) {
        // Without Create permission Kafka says so even for a topic that exists: topics
        // created beforehand by an administrator are fine, which the metadata lookup
        // below finds out (and reports if the topic is missing).
        spdlog::info("not allowed to create {} ({}); using it if it exists", rd_kafka_topic_result_name(results[i]),
                     rd_kafka_err2name(err));
      } else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        error = std::string("cannot create topic ") + rd_kafka_topic_result_name(results[i]) + ": " +
                rd_kafka_topic_result_error_string(results[i]);
      }
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  for (auto* n : new_topics) rd_kafka_NewTopic_destroy(n);
  if (!error.empty()) return std::unexpected(error);

  auto observations = partition_count(topics.observations);
  if (!observations) return std::unexpected(observations.error());
  ingest.set_partitions(*observations);
  if (*observations != cfg.topology.partitions) {
    spdlog::warn("{} has {} partitions, topology.partitions says {}; replayed state directories must use {}",
                 topics.observations, *observations, cfg.topology.partitions, *observations);
  }
  if (store) {
    // The changelog partition of a hash is its observations partition.
    auto changelog = partition_count(topics.changelog);
    if (!changelog) return std::unexpected(changelog.error());
    if (*changelog != *observations) {
      return std::unexpected(topics.changelog + " has " + std::to_string(*changelog) + " partitions but " +
                             topics.observations + " has " + std::to_string(*observations) +
                             "; they must match (recreate one of them)");
    }
    auto signers_count = partition_count(topics.signers);
    if (!signers_count) return std::unexpected(signers_count.error());
    table_partitions = *signers_count;
    auto deltas_count = partition_count(topics.deltas);
    if (!deltas_count) return std::unexpected(deltas_count.error());
    delta_partitions = *deltas_count;
  }
  return {};
}

// ───────────────────────────── global table ─────────────────────────────

// A state directory filled by `countersign replay` holds history no topic has: send its
// hash records to the changelog (restores on any instance then include them) and its
// signer and issuer records as deltas (their owners merge and publish them). Once all
// is acknowledged the flag is cleared; after a failure it is sent again next start,
// which is harmless: every merge is idempotent.
void kafka_runner::impl::publish_bootstrap() {
  if (store->get_meta(state::k_unpublished_meta).value_or(0) != 1) return;
  const auto started = clock_type::now();
  const std::uint64_t failures_before = stats.produce_failures;
  const std::int32_t partitions = ingest.partitions();
  std::size_t sent = 0;
  auto hashes_read = store->for_each_record(state::store_kind::hash, [&](std::int32_t, std::string_view key, std::string_view record) {
    // Through the observations topic, to the owner of the hash, which merges the record
    // and writes the whole record to the changelog: an owner that restored its
    // partition already would never read a record written to the changelog behind it.
    // Placed by the key, not the stored partition: replay may have used another count.
    rd_kafka_headers_t* h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, k_record_header, -1, "hash", 4);
    if (produce(topics.observations, kafka_partition(key, partitions), key, record, h, nullptr)) ++sent;
  });
  std::string error = hashes_read ? std::string() : hashes_read.error();
  for (const auto kind : {state::store_kind::signer, state::store_kind::issuer, state::store_kind::company_signer}) {
    auto read = store->for_each_record(kind, [&](std::int32_t, std::string_view key, std::string_view record) {
      if (produce(topics.deltas, RD_KAFKA_PARTITION_UA, entity_topic_key(kind, key), record, nullptr, nullptr)) ++sent;
    });
    if (!read) error = read.error();
  }
  const auto flushed = rd_kafka_flush(producer, 120'000);
  if (!error.empty() || flushed != RD_KAFKA_RESP_ERR_NO_ERROR || stats.produce_failures != failures_before) {
    spdlog::warn("replayed state: {} records sent, not all acknowledged ({}); sending again at the next start", sent,
                 error.empty() ? rd_kafka_err2str(flushed) : error);
    return;
  }
  store->put_meta(state::k_unpublished_meta, 0);
  if (auto w = store->commit(); !w) spdlog::warn("replayed state: cannot clear the flag: {}", w.error());
  spdlog::info("replayed state: {} records published to {} and {} in {} ms", sent, topics.observations, topics.deltas,
               std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started).count());
}

std::expected<void, std::string> kafka_runner::impl::start_table(const std::atomic<bool>& stop) {
  // The restorer reads a changelog partition to an end known beforehand: a fetch at
  // the end has nothing to wait for. With the broker's 500 ms long poll, the fetch left
  // at the end of one partition held up the next partition's (the broker answers a
  // connection's requests in order): a restore of four partitions took 4 s for 4,000
  // records (bench/e2e.sh cs-2, the second instance's start).
  auto props = service::reader_properties(cfg.kafka);
  props.emplace_back("fetch.wait.max.ms", "10");
  auto r = make_client(RD_KAFKA_CONSUMER, props, cfg.kafka.consumer, "consumer", false);
  if (!r) return std::unexpected(r.error());
  restorer = *r;

  // Until the table has what was published before the process started, signer
  // prevalence would read low: take no partitions until then. The first thread here
  // starts the process's reader; every thread waits for the same catch-up.
  table->start(table_partitions);
  while (!table->caught_up() && !stop.load(std::memory_order_relaxed) && fatal.empty()) {
    if (auto failed = table->failure(); !failed.empty()) return std::unexpected(failed);
    health->beat(thread);
    table->wait_caught_up(std::chrono::milliseconds(250));
  }
  stats.table_caught_up = table->caught_up();
  return {};
}

void kafka_runner::impl::step_deltas_waiting() {
  if (lifecycle.deltas_waiting() == 0) return;
  if (lifecycle.table_target_needed()) {
    // What other instances published up to now must be in the table before this
    // instance publishes snapshots of its own.
    auto ends = table->query_ends(producer);
    if (!ends) return;  // next turn
    table_target = std::move(*ends);
    lifecycle.table_target_taken();
  }
  if (!table->reached(table_target)) return;
  const auto released = lifecycle.release_deltas();
  if (!paused) {
    for (const std::int32_t p : released) {
      partition_list l(topics.deltas, p);
      rd_kafka_resume_partitions(consumer, l.list);
    }
  }
  spdlog::info("global table caught up: {} deltas partition(s) released{}", released.size(), thread_note());
}

// ───────────────────────────── restore ─────────────────────────────

void kafka_runner::impl::step_restore() {
  if (state_stalled) return;
  if (const auto next = lifecycle.start_restore()) {
    const std::int32_t p = *next;
    std::int64_t high = 0;
    if (const auto err = query_end(restorer, topics.changelog, p, high, 4)) {
      state_log.warn("cannot read the end of {}/{}: {}; retrying", topics.changelog, p, rd_kafka_err2str(err));
      lifecycle.restore_postponed();
      return;
    }
    const std::int64_t from = state::changelog_restore_start(*store, p, high);
    active_restore = restore_task{p, high, clock_type::now(), 0};
    spdlog::info("restoring {}/{} from offset {} to {}{}", topics.changelog, p, from, high, thread_note());
    if (from >= high) {
      finish_restore();
      return;
    }
    partition_list l(topics.changelog, p, from);
    if (const auto err = rd_kafka_assign(restorer, l.list)) {
      state_log.warn("cannot read {}/{}: {}; retrying", topics.changelog, p, rd_kafka_err2str(err));
      lifecycle.restore_postponed();
      active_restore.reset();
      return;
    }
  }
  if (!active_restore) return;
  for (int i = 0; i < 5000 && active_restore; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(restorer, 0);
    if (m == nullptr) break;
    if (m->partition == active_restore->partition) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (m->offset >= active_restore->end) {
          rd_kafka_message_destroy(m);
          finish_restore();
          break;
        }
      } else if (m->err) {
        consume_log.warn("restoring {}: {}", topics.changelog, rd_kafka_message_errstr(m));
      } else {
        const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
        const std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
        const bool applied =
            state::is_window_changelog_key(key)
                ? state::apply_window_changelog_record(*store, active_restore->partition, key,
                                                       static_cast<const char*>(m->payload), m->payload ? m->len : 0)
                : state::apply_changelog_record(*store, active_restore->partition, key, value);
        if (applied) {
          ++active_restore->records;
          ++stats.restored_records;
        } else {
          ++stats.bad_internal_records;
          state_log.warn("{}/{}@{}: changelog record does not decode; skipped", topics.changelog, m->partition, m->offset);
        }
        if (m->offset + 1 >= active_restore->end) {
          rd_kafka_message_destroy(m);
          finish_restore();
          break;
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
  if (active_restore && store->pending() >= 10'000) {
    if (auto w = store->commit(); !w) note_state_failure("restore", w.error());
  }
}

void kafka_runner::impl::finish_restore() {
  const restore_task task = *active_restore;
  active_restore.reset();
  rd_kafka_assign(restorer, nullptr);
  state::put_changelog_checkpoint(*store, task.partition, task.end);
  if (auto w = store->commit(); !w) {
    // Without the restored records on disk the partition cannot be judged: try again.
    note_state_failure("restore", w.error());
    state_log.warn("restoring {}/{} again once state writes succeed", topics.changelog, task.partition);
    lifecycle.restore_failed();
    return;
  }
  (void)lifecycle.restore_done();
  changelog_next[task.partition] = std::max(changelog_next[task.partition], task.end);
  const double seconds = std::chrono::duration<double>(clock_type::now() - task.started).count();
  stats.last_restore_seconds = seconds;
  if (!paused) {
    partition_list l(topics.observations, task.partition);
    rd_kafka_resume_partitions(consumer, l.list);
  }
  spdlog::info("restored {}/{}: {} records in {:.3f} s", topics.changelog, task.partition, task.records, seconds);
}

void kafka_runner::impl::note_intel(const rules::intel_watcher::reload_report& report) {
  for (const auto& e : report.errors) {
    spdlog::warn("abused-certificate list {}{}: {}", e.file, e.line ? ":" + std::to_string(e.line) : std::string(),
                 e.message);
  }
  stats.intel_errors += report.errors.size();
  if (report.changed) {
    stats.intel_records = report.records;
    spdlog::info("abused-certificate lists: {} entries in use", report.records);
  }
}

void kafka_runner::impl::update_readiness() {
  // The table's reader failing to write is a state stall of the process: not ready.
  const bool ready = stats.table_caught_up && lifecycle.ready() && !state_stalled && !(table && table->stalled());
  stats.group_member = lifecycle.member();
  health->set_ready(thread, ready);
}

// ───────────────────────────── producing ─────────────────────────────

// `msgflags`: RD_KAFKA_MSG_F_COPY, or RD_KAFKA_MSG_F_FREE to hand a malloc'ed `value` over
// (librdkafka frees it once it returned true; on false it is still the caller's).
bool kafka_runner::impl::produce(const std::string& topic, std::int32_t partition, std::string_view key,
                                 std::string_view value, rd_kafka_headers_t* headers, delivery_ticket* ticket,
                                 int msgflags) {
  for (;;) {
    rd_kafka_resp_err_t err;
// librdkafka's RD_KAFKA_V_* macros are C casts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    void* payload = const_cast<char*>(value.data());  // copied (F_COPY), or handed over (F_FREE)
    if (headers) {
      err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(payload, value.size()), RD_KAFKA_V_HEADERS(headers),
                              RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
    } else {
      err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_KEY(key.data(), key.size()),
                              RD_KAFKA_V_VALUE(payload, value.size()), RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
    }
#pragma GCC diagnostic pop
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;  // headers now belong to the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: serve delivery reports until the local queue has room.
      rd_kafka_poll(producer, 10);
      health->beat(thread);
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
    if (!produce(r.topic, r.partition, r.key, r.payload, r.headers, r.ticket)) ledger.release(r.ticket);
    r.headers = nullptr;
    r.ticket = nullptr;
  }
}

void kafka_runner::impl::dead_letter(const rd_kafka_message_t* m, std::string_view topic, std::string_view reason,
                                     std::string_view detail, std::string_view stage, partition_slot_ref ref,
                                     std::uint32_t& pending) {
  reject_log.warn("rejected {}/{}@{}: {} {}", topic, m->partition, m->offset, reason, detail);
  if (cfg.kafka.dead_letter_topic.empty()) return;
  rd_kafka_headers_t* h = rd_kafka_headers_new(6);
  const auto add = [h](const char* name, std::string_view v) {
    rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
  };
  const std::string partition = std::to_string(m->partition);
  const std::string offset = std::to_string(m->offset);
  add("countersign.reason", reason);
  add("countersign.detail", detail);
  add("countersign.stage", stage);
  add("countersign.source.topic", topic);
  add("countersign.source.partition", partition);
  add("countersign.source.offset", offset);
  const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  auto* ticket = ledger.for_message(ref, m->offset);
  if (produce(cfg.kafka.dead_letter_topic, RD_KAFKA_PARTITION_UA, key, payload, h, ticket)) {
    ++pending;
  } else {
    transport::delivery_ledger::discard(ticket);
  }
}

// ───────────────────────────── consuming ─────────────────────────────

void kafka_runner::impl::handle(const rd_kafka_message_t* m) {
  const std::string_view topic(rd_kafka_topic_name(m->rkt));
  runner_stats::add(stats.consumed_by_topic, topic);
  if (m->rkt != last_rkt || m->partition != last_partition) {
    last_ref = tracker.find(std::string(topic), m->partition);
    if (last_ref.generation == 0) last_ref = tracker.assign(std::string(topic), m->partition);
    last_rkt = m->rkt;
    last_partition = m->partition;
    last_role = role_of(topic);
    const auto it = cfg.input.schemas.find(std::string(topic));
    last_profile = it == cfg.input.schemas.end() ? rules::schema_profile::unknown : it->second;
  }
  const auto started = clock_type::now();
  const auto took = [&started] { return std::chrono::duration<double>(clock_type::now() - started).count(); };
  // Tracked from the start with one acknowledgement for its own processing, which
  // finish_message() gives: a delivery report served while it is processed (the
  // producer's queue full, a batch sent) then finds it.
  tracker.consumed(last_ref, m->offset, 1);
  switch (last_role) {
    case topic_role::input:
      handle_input(m, last_ref, topic);
      stats.ingest_latency.observe(took());
      break;
    case topic_role::observations:
      handle_observation(m, last_ref);
      stats.hash_latency.observe(took());
      break;
    case topic_role::deltas:
      handle_delta(m, last_ref);
      stats.signer_latency.observe(took());
      break;
  }
}

void kafka_runner::impl::handle_input(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view topic) {
  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  const std::uint64_t token = next_token++;
  const process_result res =
      ingest.process(payload, {topic, m->partition, m->offset}, wall_ms(), token, last_profile);

  std::uint32_t pending = emit(ingest.outputs(), ref, m->offset);
  if (res.kind == outcome::rejected) {
    dead_letter(m, topic, to_string(res.reason), res.detail, "ingest", ref, pending);
  }
  if (res.deferred > 0) {
    pending += res.deferred;
    ledger.hold(token, ref, m->offset);
  }
  finish_message(ref, m->offset, pending);
  emit_deferred(ingest.outputs());
}

std::uint32_t kafka_runner::impl::emit(const stage_outputs& out, partition_slot_ref ref, std::int64_t offset) {
  std::uint32_t pending = produce_alerts(out.sigma_alerts, ref, offset);
  pending += produce_alerts(out.alerts, ref, offset);
  for (const auto& f : out.observations) {
    if (!f.deferred) pending += forward_observation(f, ref, offset);
  }
  pending += forward_correlated(out.correlation_matches, ref, offset);
  return pending;
}

void kafka_runner::impl::finish_message(partition_slot_ref ref, std::int64_t offset, std::uint32_t pending) {
  if (pending > 0) tracker.add_pending(ref, offset, pending);
  tracker.acked(ref, offset);
}

std::uint32_t kafka_runner::impl::forward_observation(const forwarded_observation& f, partition_slot_ref ref,
                                                      std::int64_t offset) {
  if (cfg.topology.batch_bytes == 0) {
    auto* ticket = ledger.for_message(ref, offset);
    if (produce(topics.observations, f.partition, f.key, f.record, nullptr, ticket)) return 1;
    transport::delivery_ledger::discard(ticket);
    return 0;
  }
  outgoing_batch& b = batch_for(f.partition, f.key.size() + f.record.size());
  b.records.add(f.key, f.record);
  if (b.last_offset == offset && b.last_ref.slot == ref.slot && b.last_ref.generation == ref.generation) return 0;
  ledger.join_batch(b.group, ref, offset);
  b.last_ref = ref;
  b.last_offset = offset;
  return 1;
}

// The batch of `partition`, with room for `adding` more bytes: a batch that would grow
// past topology.batch_bytes is sent first (a record larger than that goes alone).
kafka_runner::impl::outgoing_batch& kafka_runner::impl::batch_for(std::int32_t partition, std::size_t adding) {
  const auto p = static_cast<std::size_t>(partition);
  if (p >= observation_batches.size()) observation_batches.resize(p + 1);
  outgoing_batch& b = observation_batches[p];
  if (!b.records.fits(adding, static_cast<std::size_t>(cfg.topology.batch_bytes))) {
    send_observation_batch(partition, b);  // still listed in open_batches: that is harmless
  }
  if (b.group == nullptr) {
    b.group = ledger.open_batch();
    b.last_offset = -1;
    open_batches.push_back(partition);
  }
  return b;
}

// At the end of each consume turn, before a flush of the offsets, a rebalance and at
// shutdown: every waiting batch goes out.
void kafka_runner::impl::send_observation_batches() {
  for (const std::int32_t partition : open_batches) {
    outgoing_batch& b = observation_batches[static_cast<std::size_t>(partition)];
    if (b.group != nullptr) send_observation_batch(partition, b);
  }
  open_batches.clear();
}

// Produces the batch (when it holds records) and ends its group: its members are done
// when the record is acknowledged.
void kafka_runner::impl::send_observation_batch(std::int32_t partition, outgoing_batch& b) {
  if (!b.records.empty()) send_batch(topics.observations, partition, b.records, ledger.for_flush(b.group));
  ledger.close_flush(b.group, true);
  b.group = nullptr;
  b.records.clear();
}

// The batch's buffer is handed to librdkafka (no copy of it); `batch` is empty after.
void kafka_runner::impl::send_batch(const std::string& topic, std::int32_t partition, state::record_batch_writer& batch,
                                    delivery_ticket* ticket) {
  rd_kafka_headers_t* h = rd_kafka_headers_new(1);
  rd_kafka_header_add(h, k_record_header, -1, k_batch_record_kind.data(), static_cast<ssize_t>(k_batch_record_kind.size()));
  ++stats.internal_batches;
  auto bytes = batch.take();
  // Refused: dropped and counted by produce(), the buffer still ours (freed here); the
  // batch's messages are not held for it. Accepted: librdkafka frees the buffer, and a
  // retriable delivery failure re-produces a copy (on_delivery).
  if (produce(topic, partition, {}, {bytes.data.get(), bytes.size}, h, ticket, RD_KAFKA_MSG_F_FREE)) {
    (void)bytes.data.release();
  } else {
    ledger.release(ticket);
  }
}

// Observations of verdicts released from the Code Integrity join, and the releases
// themselves: each release is one of the acknowledgements its message waits for.
void kafka_runner::impl::emit_deferred(const stage_outputs& out) {
  for (const auto& f : out.observations) {
    if (!f.deferred) continue;
    if (cfg.topology.batch_bytes > 0) {
      outgoing_batch& b = batch_for(f.partition, f.key.size() + f.record.size());
      if (ledger.join_held(b.group, f.token)) b.records.add(f.key, f.record);
      continue;
    }
    auto* ticket = ledger.for_held(f.token);
    if (ticket == nullptr) continue;
    if (!produce(topics.observations, f.partition, f.key, f.record, nullptr, ticket)) ledger.release(ticket);
  }
  for (const std::uint64_t token : out.releases) ledger.release_held(token);
}

// Alerts of one consumed message: each delivery is one acknowledgement it waits for.
std::uint32_t kafka_runner::impl::produce_alerts(std::span<const emitted_alert> alerts, partition_slot_ref ref,
                                                 std::int64_t offset) {
  std::uint32_t pending = 0;
  for (const auto& a : alerts) {
    for (const auto& out : outputs) {
      rd_kafka_headers_t* h = rd_kafka_headers_new(6);
      for (const auto& [name, value] : alert_headers_of(a, out.format)) {
        rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), value.data(), static_cast<ssize_t>(value.size()));
      }
      auto* ticket = ledger.for_message(ref, offset);
      if (produce(out.topic, RD_KAFKA_PARTITION_UA, a.key, a.payload(out.format), h, ticket)) {
        ++pending;
      } else {
        transport::delivery_ledger::discard(ticket);
      }
    }
  }
  return pending;
}

void kafka_runner::impl::handle_observation(const rd_kafka_message_t* m, partition_slot_ref ref) {
  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  const auto kind = record_kind(m);
  if (!kind || *kind == k_batch_record_kind) {
    handle_observations(m, ref, payload, kind.has_value());
  } else if (*kind == k_correlation_record_kind) {
    handle_correlation_match(m, ref, payload);
  } else {
    handle_hash_record(m, ref, payload);
  }
}

// One observation, or a batch of them (state/record_batch.hpp). Each is judged at its
// position (offset and index in the batch), which the Code Integrity join keeps to
// tell a redelivered certificate row from the next one.
void kafka_runner::impl::handle_observations(const rd_kafka_message_t* m, partition_slot_ref ref,
                                             std::string_view payload, bool batch) {
  std::uint32_t pending = 0;
  std::size_t bad = 0;
  std::size_t count = 0;
  const std::int64_t now = wall_ms();  // the detection time of every observation of the record
  const auto judge = [&](std::string_view observation, std::size_t index) {
    ++count;
    const outcome o = hashes.process(observation, m->partition, 0, now, state::batch_position(m->offset, index));
    pending += emit(hashes.outputs(), ref, m->offset);
    if (o == outcome::rejected) ++bad;
  };
  bool framed = true;
  if (batch) {
    state::record_batch_reader reader(payload);
    std::string_view key;
    std::string_view value;
    while (reader.next(key, value)) judge(value, reader.index() - 1);
    framed = reader.ok();
    if (!framed) ++stats.bad_internal_records;
  } else {
    judge(payload, 0);
  }
  // The whole record goes to the dead-letter topic; the detail says how much of it was
  // not judged (the observations of a batch that decode were).
  if (!framed || bad > 0) {
    dead_letter(m, topics.observations, to_string(reject_reason::bad_internal_record),
                broken_record_detail("observation", batch, framed, bad, count), "hash", ref, pending);
  }
  if (store) {
    // Committed only once the state this message changed is in the changelog.
    ++pending;
    ledger.await_flush(ref, m->offset);
  }
  finish_message(ref, m->offset, pending);
  if (hashes.should_flush()) flush_state();
}

// A whole hash record from a replayed state directory: merged like the facts of an
// observation, so it reaches the changelog with the owner's next flush.
void kafka_runner::impl::handle_hash_record(const rd_kafka_message_t* m, partition_slot_ref ref, std::string_view payload) {
  const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  std::uint32_t pending = 0;
  if (store && !key.empty() && hashes.merge_record(m->partition, key, payload)) {
    ++pending;
    ledger.await_flush(ref, m->offset);
  } else {
    ++stats.bad_internal_records;
    dead_letter(m, topics.observations, to_string(reject_reason::bad_internal_record), "hash record does not decode",
                "hash", ref, pending);
  }
  finish_message(ref, m->offset, pending);
}

// Each routed match is one acknowledgement its input message waits for.
std::uint32_t kafka_runner::impl::forward_correlated(std::span<const forwarded_observation> matches,
                                                     partition_slot_ref ref, std::int64_t offset) {
  std::uint32_t pending = 0;
  for (const auto& f : matches) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, k_record_header, -1, k_correlation_record_kind.data(),
                        static_cast<ssize_t>(k_correlation_record_kind.size()));
    auto* ticket = ledger.for_message(ref, offset);
    if (produce(topics.observations, f.partition, f.key, f.record, h, ticket)) {
      ++pending;
    } else {
      transport::delivery_ledger::discard(ticket);
    }
  }
  return pending;
}

// Committed once its alerts are out and the window records it changed are in the
// changelog (the flush after it), like an observation.
void kafka_runner::impl::handle_correlation_match(const rd_kafka_message_t* m, partition_slot_ref ref,
                                                  std::string_view payload) {
  const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  if (auto* sigma = ingest.sigma()) correlations.set_rules(sigma->correlations());
  std::size_t count = 0;
  std::uint32_t pending = 0;
  if (correlations.process(m->partition, key, payload, wall_ms(), correlation_alerts, count)) {
    pending += emit({.alerts = std::span<const emitted_alert>(correlation_alerts.data(), count)}, ref, m->offset);
    if (store) {
      ++pending;
      ledger.await_flush(ref, m->offset);
    }
  } else {
    ++stats.bad_internal_records;
    dead_letter(m, topics.observations, to_string(reject_reason::bad_internal_record),
                "correlation match does not decode", "correlation", ref, pending);
  }
  finish_message(ref, m->offset, pending);
  if (hashes.should_flush() || correlations.pending() >= cfg.state.combine_max_keys) flush_state();
}

// One delta, or a batch of them (state/record_batch.hpp): the deltas that decode are
// merged; the record goes to the dead-letter topic when any does not.
void kafka_runner::impl::handle_delta(const rd_kafka_message_t* m, partition_slot_ref ref) {
  const std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
  const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
  std::size_t applied = 0;
  std::size_t bad = 0;
  bool framed = true;
  const bool batch = record_kind(m) == k_batch_record_kind;
  if (batch) {
    state::record_batch_reader reader(payload);
    std::string_view k;
    std::string_view v;
    while (reader.next(k, v)) ++(signers->apply_delta(k, v) ? applied : bad);
    framed = reader.ok();
  } else {
    ++(signers->apply_delta(key, payload) ? applied : bad);
  }
  std::uint32_t pending = 0;
  if (applied > 0) {
    ++pending;  // committed once the merged snapshot is on the signers topic
    ledger.await_flush(ref, m->offset);
  }
  if (bad > 0 || !framed) {
    stats.bad_internal_records += bad + (framed ? 0 : 1);
    dead_letter(m, topics.deltas, to_string(reject_reason::bad_internal_record),
                broken_record_detail("delta", batch, framed, bad, applied + bad), "signer", ref, pending);
  }
  finish_message(ref, m->offset, pending);
}

// Sends the combined state: hash records to the changelog, deltas to the signer stage,
// signer snapshots to the global table. The consumed messages behind it are released
// when all of it is acknowledged.
bool kafka_runner::impl::flush_state() {
  last_flush = clock_type::now();
  if (!store) return true;
  // Stalled: the messages wait in the ledger until retry_state() writes again.
  if (state_stalled && !state_retrying) return false;
  transport::ack_group* epoch = ledger.open_flush();
  const auto send = [&](const std::string& topic, std::int32_t partition, std::string_view key, std::string_view value) {
    auto* ticket = ledger.for_flush(epoch);
    if (!produce(topic, partition, key, value, nullptr, ticket)) ledger.release(ticket);
  };
  // Deltas go out in one batch record per deltas partition (topology.batch_bytes),
  // placed by each delta's key as the producer's partitioner places a record alone.
  const auto send_deltas = [&](std::size_t p) {
    auto& w = delta_batches[p];
    if (w.empty()) return;
    send_batch(topics.deltas, static_cast<std::int32_t>(p), w, ledger.for_flush(epoch));
    w.clear();
  };
  const auto batch_delta = [&](const std::string& topic_key, std::string_view delta) {
    const auto p = static_cast<std::size_t>(kafka_partition(topic_key, delta_partitions));
    auto& w = delta_batches[p];
    if (!w.fits(topic_key.size() + delta.size(), static_cast<std::size_t>(cfg.topology.batch_bytes))) send_deltas(p);
    w.add(topic_key, delta);
  };
  const bool batching = cfg.topology.batch_bytes > 0 && delta_partitions > 0;
  if (batching) delta_batches.resize(static_cast<std::size_t>(delta_partitions));
  struct sink final : state_sink {
    const decltype(send)& out;
    const internal_topics& t;
    const decltype(batch_delta)* batch;  // null: a record per delta
    sink(const decltype(send)& o, const internal_topics& tt, const decltype(batch_delta)* b) : out(o), t(tt), batch(b) {}
    void changelog(std::int32_t partition, std::string_view key, std::string_view record) override {
      out(t.changelog, partition, key, record);
    }
    void delta(state::store_kind kind, std::string_view key, std::string_view delta) override {
      if (batch) (*batch)(entity_topic_key(kind, key), delta);
      else out(t.deltas, RD_KAFKA_PARTITION_UA, entity_topic_key(kind, key), delta);
    }
  } to_topics(send, topics, batching ? &batch_delta : nullptr);
  // Window records first: the hash stage's flush commits the store's batch they join.
  correlations.flush([&](std::int32_t partition, std::string_view key, const std::string* stored) {
    send(topics.changelog, partition, state::window_changelog_key(key),
         stored ? std::string_view(*stored) : std::string_view());
  });
  bool ok = true;
  auto flushed = hashes.flush(&to_topics);
  if (batching) {
    for (std::size_t p = 0; p < delta_batches.size(); ++p) send_deltas(p);
  }
  if (auto& r = flushed; !r) {
    ok = false;
    note_state_failure("hash state", r.error());
  } else if (store->pending() > 0) {  // window records without hash records to carry them
    if (auto w = store->commit(); !w) {
      ok = false;
      note_state_failure("correlation state", w.error());
    }
  }
  if (auto r = signers->flush([&](std::string_view key, std::string_view record) {
        send(topics.signers, RD_KAFKA_PARTITION_UA, key, record);
      });
      !r) {
    ok = false;
    note_state_failure("signer state", r.error());
  }
  // Not written: their state is not durable yet, so they wait for a flush that succeeds.
  ledger.close_flush(epoch, ok);
  return ok;
}

// Once per episode an error line with the cause; later failures only move the retry.
void kafka_runner::impl::note_state_failure(std::string_view what, const std::string& error) {
  const bool first = !state_stalled;
  if (first) {
    state_stalled = true;
    spdlog::error("{} write failed: {}; pausing consumption until state writes succeed again (input stays "
                  "uncommitted, /readyz 503, retrying with backoff)",
                  what, error);
    if (!paused) set_paused(true);
    health->set_ready(thread, false);
  }
  write_retry.failed(clock_type::now(), first);
}

// While stalled: ask the store to leave its error mode, then write what waits (the
// combined state, checkpoints and restore records in the store's batch; the global
// table's reader retries its own writes, global_table.cpp).
void kafka_runner::impl::retry_state() {
  if (!state_stalled || !write_retry.due(clock_type::now())) return;
  if (auto r = store->recover(); !r) {
    note_state_failure("state", r.error());
    return;
  }
  state_retrying = true;
  bool ok = flush_state();
  if (ok) {
    if (auto w = store->commit(); !w) {
      note_state_failure("state", w.error());
      ok = false;
    }
  }
  state_retrying = false;
  if (!ok) return;
  state_stalled = false;
  spdlog::info("state writes succeed again after {:.1f} s ({} failed attempt(s)); resuming consumption",
               write_retry.seconds_since_start(clock_type::now()), write_retry.attempts);
  write_checkpoints();
}

void kafka_runner::impl::write_checkpoints() {
  if (!store || checkpoint_dirty.empty() || state_stalled) return;
  for (const std::int32_t p : checkpoint_dirty) {
    if (lifecycle.owned(p)) state::put_changelog_checkpoint(*store, p, changelog_next[p]);
  }
  checkpoint_dirty.clear();
  if (auto w = store->commit(); !w) note_state_failure("checkpoint", w.error());
}

void kafka_runner::impl::store_offsets() {
  flush_state();
  write_checkpoints();
  // Points a previous store refused (a partition mid-rebalance) are offered again: the
  // tracker reports a point only when it moves, so the last one of a partition that
  // then goes quiet would otherwise never be committed while the instance runs.
  for (const auto& p : tracker.take_committable()) unstored[{p.topic, p.partition}] = p.next_offset;
  if (unstored.empty()) return;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(unstored.size()));
  for (const auto& [where, offset] : unstored) {
    rd_kafka_topic_partition_list_add(list, where.first.c_str(), where.second)->offset = offset;
  }
  if (const auto err = rd_kafka_offsets_store(consumer, list)) {
    spdlog::debug("storing offsets: {}", rd_kafka_err2str(err));
  }
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> retry;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    // Refused while still ours: try again with the next store. No longer ours: the next
    // owner commits it.
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR && tracker.find(e.topic, e.partition).generation != 0) {
      retry[{e.topic, e.partition}] = e.offset;
      consume_log.warn("storing the offset of {}/{}: {}; trying again", e.topic, e.partition, rd_kafka_err2str(e.err));
    }
  }
  unstored.swap(retry);
  rd_kafka_topic_partition_list_destroy(list);
}

void kafka_runner::impl::set_paused(bool pause) {
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (rd_kafka_assignment(consumer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR && assignment) {
    if (pause) {
      rd_kafka_pause_partitions(consumer, assignment);
    } else {
      // Partitions still restoring or waiting for the table stay paused.
      rd_kafka_topic_partition_list_t* resume = rd_kafka_topic_partition_list_new(assignment->cnt);
      for (int i = 0; i < assignment->cnt; ++i) {
        const auto& e = assignment->elems[i];
        if (!lifecycle.held(role_of(e.topic), e.partition)) rd_kafka_topic_partition_list_add(resume, e.topic, e.partition);
      }
      rd_kafka_resume_partitions(consumer, resume);
      rd_kafka_topic_partition_list_destroy(resume);
    }
    rd_kafka_topic_partition_list_destroy(assignment);
  }
  paused = pause;
  spdlog::info("{} consumption: {} messages await acknowledgement{}", pause ? "pausing" : "resuming",
               tracker.in_flight(), state_stalled ? " (state writes failing)" : "");
}

void kafka_runner::impl::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  auto* ticket = static_cast<delivery_ticket*>(m->_private);
  const char* topic = rd_kafka_topic_name(m->rkt);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR || transport::is_permanent(m->err)) {
    if (m->err) {
      ++self->stats.produce_failures;
      self->produce_log.warn("delivery to {} failed permanently: {} (output dropped, counted)", topic,
                             rd_kafka_err2str(m->err));
    } else {
      runner_stats::add(self->stats.produced_by_topic, topic);
      if (self->topics.changelog == topic) {
        auto& next = self->changelog_next[m->partition];
        next = std::max(next, m->offset + 1);
        self->checkpoint_dirty.insert(m->partition);
      }
    }
    self->ledger.release(ticket);
    return;
  }
  // Retriable (timed out, broker gone): produce the same bytes again from the main loop.
  self->produce_log.warn("delivery to {} failed: {}; producing again", topic, rd_kafka_err2str(m->err));
  rd_kafka_headers_t* headers = nullptr;
  rd_kafka_headers_t* original = nullptr;
  if (rd_kafka_message_headers(m, &original) == RD_KAFKA_RESP_ERR_NO_ERROR && original) {
    headers = rd_kafka_headers_copy(original);
  }
  // Keyed outputs keep their partition; explicit partitions (observations, changelog) too.
  self->retries.push_back(retry_item{
      topic,
      m->partition,
      std::string(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
      std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
      headers,
      ticket,
  });
}

void kafka_runner::impl::on_assign(rd_kafka_t* rk, rd_kafka_topic_partition_list_t* parts, bool cooperative) {
  rd_kafka_topic_partition_list_t* hold = rd_kafka_topic_partition_list_new(parts->cnt);
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& e = parts->elems[i];
    (void)tracker.assign(e.topic, e.partition);
    // Observations wait for their restore from the changelog, deltas for the table.
    if (lifecycle.assign(role_of(e.topic), e.partition)) rd_kafka_topic_partition_list_add(hold, e.topic, e.partition);
  }
  lifecycle.joined();
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
      spdlog::error("incremental assign failed: {}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    stats.assigned_partitions += parts->cnt;
  } else {
    rd_kafka_assign(rk, parts);
    stats.assigned_partitions = parts->cnt;
  }
  if (paused) rd_kafka_pause_partitions(rk, parts);
  else if (hold->cnt > 0) rd_kafka_pause_partitions(rk, hold);
  rd_kafka_topic_partition_list_destroy(hold);
  spdlog::info("assigned {} partition(s), {} in total{}", parts->cnt, stats.assigned_partitions, thread_note());
}

void kafka_runner::impl::on_revoke(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                   bool cooperative) {
  // Flush and release: the state of what was processed goes out and is acknowledged,
  // so the next owner restores it from the changelog; done offsets are stored for the
  // commit on unassign. Unacknowledged work is left to the next owner (at-least-once).
  // Lost (session timeout, fenced): not a member until the group assigns again.
  if (rd_kafka_assignment_lost(rk)) lifecycle.left();
  send_observation_batches();
  flush_state();
  if (producer) (void)rd_kafka_flush(producer, static_cast<int>(std::min<std::int64_t>(cfg.processing.drain_timeout_ms, 30'000)));
  store_offsets();
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& e = parts->elems[i];
    if (role_of(e.topic) == topic_role::observations) correlations.release(e.partition);  // flushed above
    if (lifecycle.revoke(role_of(e.topic), e.partition)) {
      active_restore.reset();
      rd_kafka_assign(restorer, nullptr);
      (void)store->commit();  // what was read is valid; the checkpoint stays where it was
    }
    tracker.revoke(e.topic, e.partition);
    unstored.erase({e.topic, e.partition});  // its next owner starts from the committed offset
  }
  // Code Integrity verdicts held for messages of the revoked input partitions: their next
  // owner reads those messages again and holds the verdicts itself.
  if (const std::size_t n = ingest.forget_held([this](std::uint64_t t) { return ledger.forget_if_revoked(t); }); n > 0) {
    spdlog::info("dropped {} held Code Integrity verdict(s) of revoked partitions{}", n, thread_note());
  }
  if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) spdlog::warn("rebalance error: {}", rd_kafka_err2str(err));
  if (cooperative) {
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) {
      spdlog::error("incremental unassign failed: {}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    stats.assigned_partitions -= parts->cnt;
  } else {
    rd_kafka_assign(rk, nullptr);
    stats.assigned_partitions = 0;
  }
  if (stats.assigned_partitions < 0) stats.assigned_partitions = 0;
  spdlog::info("revoked {} partition(s), {} left{}", parts->cnt, stats.assigned_partitions, thread_note());
}

// Served by consumer polls on the processing thread. The hash stage keeps the rows a
// certificate row released until that row's offset is committed (hash_stage::committed).
void kafka_runner::impl::on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets,
                                   void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  if (offsets == nullptr || (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET)) return;
  for (int i = 0; i < offsets->cnt; ++i) {
    const auto& e = offsets->elems[i];
    if (e.err == RD_KAFKA_RESP_ERR_NO_ERROR && e.offset >= 0 && self->topics.observations == e.topic) {
      self->hashes.committed(e.partition, state::batch_position(e.offset, 0));
    }
  }
}

void kafka_runner::impl::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                      rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  ++self->stats.rebalances;
  self->last_rkt = nullptr;  // slot references may change
  // NULL when librdkafka cannot answer (seen while a consumer closes as another member
  // of the group leaves): keep the protocol of the last rebalance.
  if (const char* protocol = rd_kafka_rebalance_protocol(rk)) {
    self->cooperative_protocol = std::strcmp(protocol, "COOPERATIVE") == 0;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) self->on_assign(rk, parts, self->cooperative_protocol);
  else self->on_revoke(rk, err, parts, self->cooperative_protocol);
}

void kafka_runner::impl::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  if (auto f = service::fatal_client_error(rk, err, reason, self->starting)) {
    self->fatal = std::move(*f);
    return;
  }
  self->last_broker_error = reason;
  self->broker_log.warn("kafka: {} ({})", reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
}

// librdkafka statistics, served by consumer poll on the processing thread.
int kafka_runner::impl::on_stats(rd_kafka_t*, char* json, std::size_t len, void* opaque) {
  auto* self = static_cast<impl*>(opaque);
  parse_consumer_lag(std::string_view(json, len), self->stats_parser, self->stats.consumer_lag);
  return 0;  // librdkafka frees the document
}

std::expected<void, std::string> kafka_runner::impl::subscribe() {
  const auto& k = cfg.kafka;
  // Offsets are stored by us once outputs are acknowledged, and committed by
  // auto-commit (and synchronously at shutdown).
  std::vector<std::pair<std::string, std::string>> defaults = {
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
  if (!k.group_instance_id.empty()) defaults.emplace_back("group.instance.id", k.group_instance_id);
  if (const auto it = k.consumer.find("partition.assignment.strategy"); it != k.consumer.end()) {
    cooperative_protocol = it->second.find("cooperative") != std::string::npos;
  }
  auto c = make_client(RD_KAFKA_CONSUMER, defaults, k.consumer, "consumer", true);
  if (!c) return std::unexpected(c.error());
  consumer = *c;

  std::vector<std::string> subscribed = k.input_topics;
  subscribed.push_back(topics.observations);
  if (store) subscribed.push_back(topics.deltas);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(subscribed.size()));
  for (const auto& t : subscribed) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return std::unexpected(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  return {};
}

std::expected<void, std::string> kafka_runner::impl::run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  // A stop request during start-up ends it at the next wait, without an error.
  const auto stopped_early = []() -> std::expected<void, std::string> {
    spdlog::info("stopped during start-up");
    return {};
  };
  if (auto r = create_producer(); !r) return r;
  if (auto r = ensure_topics(); !r) return stopping() ? stopped_early() : r;
  if (store) {
    if (thread == 0) publish_bootstrap();  // once per process: the state directory is shared
    if (auto r = start_table(stop); !r) return stopping() ? stopped_early() : r;
  } else {
    stats.table_caught_up = true;
  }
  if (!fatal.empty()) return std::unexpected(fatal);
  if (stopping()) return stopped_early();
  health->set_started(thread);
  if (auto r = subscribe(); !r) return r;
  spdlog::info("consuming {} input topic(s) from {} as group {}; internal topics {}.*; processing thread {} of {}",
               cfg.kafka.input_topics.size(), cfg.kafka.bootstrap_servers, cfg.kafka.group_id,
               topics.observations.substr(0, topics.observations.rfind('.')), thread + 1, threads);

  note_intel(hashes.initial_intel_report());
  const auto intel_every = std::chrono::milliseconds(cfg.intel_reload_interval_ms);
  auto last_intel = clock_type::now();
  starting = false;
  const auto flush_every = std::chrono::milliseconds(
      std::max<std::int64_t>(10, std::min(cfg.topology.flush_interval_ms, cfg.processing.commit_interval_ms)));
  auto last_expire = clock_type::now();
  auto last_publish = clock_type::now();
  const std::size_t resume_below = cfg.processing.max_in_flight / 2;

  while (!stop.load(std::memory_order_relaxed) && fatal.empty()) {
    // A stuck table reader stops this beat too: deltas partitions would wait forever.
    if (!table || table->turning(std::chrono::seconds(30))) health->beat(thread);
    if (!retries.empty()) produce_retries();
    if (store) retry_state();
    if (!paused && tracker.in_flight() >= cfg.processing.max_in_flight) set_paused(true);
    else if (paused && !state_stalled && tracker.in_flight() <= resume_below) set_paused(false);

    const bool state_work = !lifecycle.settled();
    // Up to a batch of messages per turn, so state upkeep runs between batches.
    for (int i = 0; i < 1000; ++i) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, i > 0 ? 0 : (paused || state_work ? 10 : 100));
      if (m == nullptr) break;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        handle(m);
      } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++stats.consume_errors;
        consume_log.warn("consume error: {}", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    send_observation_batches();
    rd_kafka_poll(producer, 0);
    if (store) {
      // The table is read on its own thread; its fatal errors end this one too.
      if (auto failed = table->failure(); !failed.empty() && fatal.empty()) fatal = std::move(failed);
      step_restore();
      step_deltas_waiting();
    }
    update_readiness();

    const auto now = clock_type::now();
    if (now - last_flush >= flush_every) {
      if (ingest.held() > 0 && now - last_expire >= flush_every) {
        ingest.expire(wall_ms());
        emit_deferred(ingest.outputs());
        last_expire = now;
      }
      store_offsets();
    }
    if (!cfg.intel_lists.empty() && now - last_intel >= intel_every) {
      note_intel(hashes.reload_intel());
      last_intel = now;
    }
    // Sigma rule folder: checked on its own interval, with or without traffic.
    if (auto* sigma = ingest.sigma()) sigma->maybe_reload();
    ingest.maybe_reload_profiles();
    if (now - last_publish >= std::chrono::seconds(1)) {
      publish();
      last_publish = now;
    }
  }

  // Shutdown: no more fetching; release held verdicts, send the state, wait for
  // outstanding acknowledgements, then commit.
  health->set_ready(thread, false);
  ingest.flush(wall_ms());
  emit_deferred(ingest.outputs());
  send_observation_batches();
  flush_state();
  spdlog::info("stopping: {} message(s) await acknowledgement", tracker.in_flight());
  const auto deadline = clock_type::now() + std::chrono::milliseconds(cfg.processing.drain_timeout_ms);
  while ((tracker.in_flight() > 0 || !retries.empty()) && clock_type::now() < deadline && fatal.empty()) {
    // Stalled: what waits for its state is acknowledged by no output; once the outputs
    // are delivered nothing more can arrive.
    if (state_stalled && retries.empty() && rd_kafka_outq_len(producer) == 0) break;
    health->beat(thread);
    if (!retries.empty()) produce_retries();
    rd_kafka_poll(producer, 50);
    if (ledger.awaiting_flush() > 0) flush_state();
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
  if (leave) {
    leave->arrive(left_gate);
    if (!leave->wait(std::chrono::milliseconds(std::max<std::int64_t>(cfg.processing.drain_timeout_ms, 1000)))) {
      spdlog::warn("leaving the group before every processing thread has committed");
    }
  }
  rd_kafka_consumer_close(consumer);
  lifecycle.left();
  stats.group_member = false;
  rd_kafka_flush(producer, 5000);
  write_checkpoints();
  if (owns_table) table->stop();  // a shared one is stopped by its owner once every thread is done
  if (restorer) rd_kafka_consumer_close(restorer);
  publish();
  const auto s = combined(ingest.stats(), hashes.stats());
  spdlog::info("stopped: {} events, {} observations judged, {} alerts", s.events, s.observations, s.alerts);
  if (!fatal.empty()) return std::unexpected(fatal);
  return {};
}

kafka_runner::kafka_runner(const config& cfg, std::shared_ptr<metrics::health_state> health,
                           metrics_bridge* metrics, state::prevalence_store* store, std::size_t thread,
                           std::size_t threads, shared_content shared)
    : impl_(std::make_unique<impl>(cfg, std::move(health), metrics, store, thread, threads, std::move(shared))) {}

kafka_runner::~kafka_runner() = default;

std::expected<void, std::string> kafka_runner::run(const std::atomic<bool>& stop) {
  auto r = impl_->run(stop);
  // A thread that ended before its final commit (start-up failure, fatal error) holds
  // no one at the gate.
  if (impl_->leave) impl_->leave->arrive(impl_->left_gate);
  return r;
}

void leave_gate::arrive(bool& arrived) {
  if (arrived) return;
  arrived = true;
  std::lock_guard lock(mutex_);
  if (waiting_ > 0 && --waiting_ == 0) all_.notify_all();
}

bool leave_gate::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return all_.wait_for(lock, timeout, [&] { return waiting_ == 0; });
}

}  // namespace countersign::processor
