#pragma once
// countersign's configuration: one YAML file, every key documented in
// config/countersign.yaml, each scalar overridable by an environment variable named
// COUNTERSIGN_<PATH> (dots and dashes become underscores, upper case; lists are
// comma-separated). Loading reports every problem at once, each naming its key.

#include <countersign/processor/engine/ci_join.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/detectors.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <vector>

namespace countersign::processor {

struct kafka_config {
  std::string bootstrap_servers = "127.0.0.1:9092";
  std::string group_id = "countersign";
  std::string client_id = "countersign";
  // Static membership (group.instance.id): a restarted pod with the same id gets its
  // partitions back without a rebalance. Empty: dynamic membership.
  std::string group_instance_id;
  std::vector<std::string> input_topics = {"countersign.events"};
  std::string alerts_topic = "countersign.alerts";
  std::string dead_letter_topic = "countersign.dead-letter";  // empty: reject without copy
  // TLS and SASL for every client (producer, group consumer, table and restore readers),
  // translated to librdkafka properties. The password comes from the config, from
  // COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD, or from a file (a mounted Secret); it is
  // never logged.
  struct security_config {
    std::string protocol = "PLAINTEXT";  // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    std::string sasl_mechanism;          // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    std::string sasl_username;
    std::string sasl_password;
    std::string ssl_ca_location;         // CA bundle (PEM) to verify brokers
    std::string ssl_certificate_location;  // client certificate (PEM), for mutual TLS
    std::string ssl_key_location;        // client key (PEM)
    std::string ssl_key_password;
    bool ssl_verify_hostname = true;     // ssl.endpoint.identification.algorithm https/none
  } security;
  // Extra librdkafka properties, passed through as given (after ours, so they win).
  std::map<std::string, std::string> consumer;
  std::map<std::string, std::string> producer;
};

// What becomes of a well-formed JSON object that no input profile reads.
enum class unknown_shape_policy : std::uint8_t {
  accept,  // counted out of scope (reason unknown_schema) and offered to Sigma by its own field names
  reject,  // dead-lettered as unknown_schema, for topics that must carry known shapes only
};

// The certificate join (hash stage): execution rows without signer facts (Defender
// DeviceProcessEvents, DeviceImageLoadEvents) meet their file's certificate row
// (DeviceFileCertificateInfo) by SHA-1, in either order, through the hash record (where
// up to state::prevalence_value::k_max_pending rows per file wait).
struct certificate_join_config {
  bool enabled = true;
  // An execution row judged when its certificate row comes must not be older than this
  // (event time); older rows are counted unmatched then.
  std::int64_t wait_ms = 24LL * 3600 * 1000;
};

struct input_config {
  std::size_t max_message_bytes = 1 << 20;
  std::size_t max_field_bytes = 4096;
  // Input profile per topic; topics not listed are detected per message.
  std::map<std::string, rules::schema_profile> schemas;
  // Topics pinned to one named user profile (`user:NAME` in input.schemas): its messages
  // are read by that profile without matching.
  std::map<std::string, std::string> user_profile_pins;
  unknown_shape_policy unknown_shapes = unknown_shape_policy::accept;
  std::map<std::string, unknown_shape_policy> unknown_shapes_by_topic;  // overrides per topic
  // User-defined profiles (docs/profiles.md), tried when no built-in profile claims a
  // message; empty: the shipped ones (osquery) only. Re-read when the file changes.
  std::string profiles_file;
  std::int64_t profiles_reload_interval_ms = 30'000;  // 0: read once
  ci_join_config codeintegrity_join;
  certificate_join_config certificate_join;
};

struct metrics_config {
  std::string listen = "0.0.0.0:9464";  // empty: no HTTP endpoint
};

// A topic alerts are written to, and the shape they take there (docs/alerts.md).
struct alert_output {
  std::string topic;
  rules::alert_format format = rules::alert_format::countersign;
};

struct alerts_config {
  std::int64_t suppression_window_ms = 24LL * 3600 * 1000;
  std::size_t suppression_cache_entries = 100'000;
  rules::alert_format format = rules::alert_format::countersign;  // of kafka.alerts_topic
  std::vector<alert_output> outputs;  // alerts.outputs: more topics, each in its own format
};

struct processing_config {
  std::int64_t drain_timeout_ms = 30'000;   // SIGTERM: longest wait for acks
  std::int64_t commit_interval_ms = 1'000;  // how often acknowledged offsets are committed
  std::size_t max_in_flight = 100'000;      // consumed messages awaiting acks before pausing (per thread)
  // Processing threads of `run`, each a group member owning its own partitions end to end
  // (0: the cores the process may use, see processing_threads()).
  std::size_t threads = 0;
};

// Upper bound of processing.threads.
inline constexpr std::size_t k_max_processing_threads = 64;
// topology.batch_bytes at most: below librdkafka's and the broker's default largest
// message (message.max.bytes, 1,000,000 and 1,048,588) with room for the record's framing.
inline constexpr std::int64_t k_max_batch_bytes = 900'000;

// processing.threads resolved: the setting, or when 0 the CPUs the process may run on
// (its affinity mask, capped by a cgroup CPU quota rounded up), at most
// k_max_processing_threads.
[[nodiscard]] std::size_t processing_threads(const processing_config& p);

struct state_config {
  std::string dir;                                  // empty: no prevalence state
  std::size_t block_cache_bytes = 64ULL << 20;
  std::size_t write_buffer_bytes = 32ULL << 20;
  std::int64_t retention_ms = 30LL * 86'400'000;
  std::uint64_t min_free_bytes = 256ULL << 20;      // state writes pause below this free space
  std::size_t recent_pairs = 100'000;               // (host, file, signature) facts remembered
  std::size_t combine_max_keys = 10'000;            // pending combined deltas before a write
  std::int64_t min_history_ms = 7LL * 86'400'000;   // learning.min_history
};

// The internal topics of docs/design.md section 2, created at start when missing.
struct topology_config {
  std::string topic_prefix;              // empty: kafka.group_id
  std::int32_t partitions = 6;           // of every internal topic; replay uses it too
  std::int32_t replication_factor = -1;  // -1: the broker's default
  std::int64_t flush_interval_ms = 500;  // how long state deltas are combined before they are sent
  // Observations and signer deltas bound for one partition go out as one record of up
  // to this many bytes (state/record_batch.hpp); 0: one record each, the only form
  // builds before batches read (for a rolling upgrade from one).
  std::int64_t batch_bytes = 262'144;
};

// Sigma rules evaluated at ingest (docs/sigma.md).
struct sigma_config {
  bool enabled = true;
  // Shipped rule files (rules/content/sigma) to load. The default adds what the built-in
  // detectors do not cover; the T1588.003 and Code Integrity files are their portable
  // per-event form and would double those alerts.
  std::vector<std::string> builtin = {"clock_rollback.yml"};
  std::string rules_dir;                  // *.yml / *.yaml under it, recursively; empty: none
  std::int64_t reload_interval_ms = 30'000;  // how often rules_dir is checked; 0: never
  std::size_t max_fields = 2'000;         // scalars read from one event for field access
  // How alerts of a rule level are withheld (`sigma.suppression.<level>`), by severity
  // (rules::severity order: informational, low, medium, high, critical): per_event,
  // every matching event is its own alert (a redelivered record keeps its id); per_file,
  // one alert per rule, host and file in each alerts.suppression_window.
  enum class grouping : std::uint8_t { per_event, per_file };
  std::array<grouping, 5> suppression = {grouping::per_file, grouping::per_file, grouping::per_event,
                                         grouping::per_event, grouping::per_event};
  // Correlation rules (`sigma.correlations.*`, docs/sigma.md "Correlation rules"), per
  // observations partition: how late an event may be, and the bounds on open state.
  struct correlation_limits {
    std::int64_t allowed_lateness_ms = 5 * 60 * 1000;
    std::size_t max_groups = 100'000;
    std::size_t max_entries_per_group = 10'000;
  } correlations;
};

struct internal_topics {
  std::string observations;  // key = file hash; the hash stage's input
  std::string changelog;     // compacted: hash records, restores a moved partition
  std::string deltas;        // key = store kind + signer/issuer key; the signer stage's input
  std::string signers;       // compacted: signer/issuer snapshots, the global table
};

struct config {
  kafka_config kafka;
  topology_config topology;
  input_config input;
  metrics_config metrics;
  alerts_config alerts;
  processing_config processing;
  rules::detector_config detectors;
  std::string detectors_content_dir;  // empty: the compiled-in rules/content
  // Abused-certificate lists (detectors.abused_certificate.lists), re-read when changed.
  std::vector<rules::intel_source> intel_lists;
  std::int64_t intel_reload_interval_ms = 60'000;
  sigma_config sigma;
  state_config state;
  std::string log_level = "info";
  std::string log_format = "json";  // json (one object per line) or text
  std::string source;  // the file it came from, for messages
};

[[nodiscard]] internal_topics topics_of(const config& cfg);

// Every alerts output: kafka.alerts_topic in alerts.format first, then alerts.outputs.
[[nodiscard]] std::vector<alert_output> alert_outputs(const config& cfg);

// Which formats some output needs, indexed by rules::alert_format: the stages render
// those and no others.
using alert_format_set = std::array<bool, rules::k_alert_format_count>;
[[nodiscard]] alert_format_set alert_formats(const config& cfg);

// librdkafka properties for kafka.security (empty for PLAINTEXT).
[[nodiscard]] std::vector<std::pair<std::string, std::string>> security_properties(const kafka_config& k);

// Loads and validates `path`. On failure the error lists every problem, one per line,
// as `FILE:LINE: KEY: message`.
[[nodiscard]] std::expected<config, std::string> load_config(const std::string& path);

// Same, from YAML text (tests); `name` stands in for the file name.
[[nodiscard]] std::expected<config, std::string> parse_config(const std::string& yaml_text,
                                                              const std::string& name);

// Parses "250ms", "30s", "5m", "24h", "7d" (or a bare number of milliseconds).
[[nodiscard]] std::expected<std::int64_t, std::string> parse_duration_ms(std::string_view text);

}  // namespace countersign::processor
