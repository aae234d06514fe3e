#pragma once
// Test harness for the broker-backed integration tests: a real Kafka broker started by
// scripts/kafka.sh (ctest fixture `kafka`), real countersign processes, and plain
// librdkafka clients that produce input and read back alerts, dead letters and the
// consumer group's committed offsets. Everything waits by polling with a deadline.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

struct rd_kafka_s;

namespace countersign::testing {

using namespace std::chrono_literals;

// Bootstrap address of the fixture broker.
std::string bootstrap();
// The state dir of a fixture's broker: `built_in` (the build tree's), or the directory of
// the same name under $COUNTERSIGN_TEST_BROKERS when that is set (scripts/kafka.sh moves
// the broker the same way; scripts/test.sh runs two passes side by side with it).
std::string broker_dir(const std::string& built_in);
// A name unique to this test run ("prefix-<pid>-<counter>").
std::string unique_name(const std::string& prefix);
// A temporary directory, removed with everything in it on destruction.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::vector<std::string> read_lines(const std::string& path);
// Copies first..first+copies-1 of the fixture `lines` as one fleet: every "host-..." value
// gets `suffix` plus the copy number appended, so each copy alerts on hosts of its own.
// Line `skip` (0-based; npos: none) is left out of every copy.
std::vector<std::string> host_copies(const std::vector<std::string>& lines, int first, int copies,
                                     const std::string& suffix, std::size_t skip = std::string::npos);
std::string read_file(const std::string& path);
std::uint16_t free_port();
// GET http://127.0.0.1:port/path; returns status code and body (status 0 on failure).
std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path);

struct record {
  std::string key;
  std::string value;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::map<std::string, std::string> headers;
};

class kafka_client {
 public:
  kafka_client();
  // A client of another broker: `properties` (librdkafka settings: bootstrap.servers,
  // security.protocol, sasl.*, ssl.*) go into every client it opens instead of the
  // fixture broker's PLAINTEXT bootstrap, e.g. read_client_properties() of the
  // SASL_SSL broker.
  explicit kafka_client(std::map<std::string, std::string> properties);
  ~kafka_client();
  kafka_client(const kafka_client&) = delete;
  kafka_client& operator=(const kafka_client&) = delete;

  void create_topic(const std::string& topic, int partitions);
  // partition -1: by key (librdkafka's default partitioner).
  void produce(const std::string& topic, const std::string& key, const std::string& value,
               std::int32_t partition = -1, const std::map<std::string, std::string>& headers = {});
  // Waits for every produced record's delivery; throws after `timeout`.
  void flush(std::chrono::milliseconds timeout = 30s);
  // Reads the whole topic from the beginning: waits until at least `min_count` records
  // have arrived (or the deadline passes), then returns everything up to the end.
  std::vector<record> read_all(const std::string& topic, std::size_t min_count,
                               std::chrono::milliseconds deadline = 60s);
  // True once `group` has committed, for every partition of `topic`, the end offset.
  bool group_caught_up(const std::string& group, const std::string& topic);
  // Polls group_caught_up until true or the deadline passes.
  bool wait_caught_up(const std::string& group, const std::string& topic,
                      std::chrono::milliseconds deadline = 90s);
  // True once `group` has committed the end of `input` and of both internal topics it
  // reads (`prefix`.observations, and `prefix`.signer-deltas when there is a state
  // store, so the topic exists): every event has been judged
  // and its alerts handed to the producer. The input alone is not enough: its offsets
  // are committed once the observations are produced, before the hash stage has read
  // them. Gives up early once `alive` (when given) says no instance is running.
  bool wait_topology_caught_up(const std::string& group, const std::string& input, const std::string& prefix,
                               std::chrono::milliseconds deadline, const std::function<bool()>& alive = {});
  // Partitions of `topic` in the broker's metadata (0 if it does not exist). Careful:
  // asking about a missing topic lets the broker auto-create it with its defaults.
  int topic_partitions(const std::string& topic);
  // The current members of `group` (client.id -> "topic:partition" of each assigned
  // partition, sorted), as the group coordinator sees them; empty if the group has no
  // members or cannot be described. Members sharing a client.id are merged.
  std::map<std::string, std::vector<std::string>> group_assignment(const std::string& group);

 private:
  ::rd_kafka_s* producer_;
  std::map<std::string, std::string> properties_;  // empty: the fixture broker
};

// One test's input, alerts and dead-letter topics (the last with one partition) and
// consumer group, named `label`-... and unique to the run.
struct service_topics {
  service_topics(kafka_client& kafka, const std::string& label, int input_partitions = 4, int alert_partitions = 2);
  std::string input;
  std::string alerts;
  std::string dead_letter;
  std::string group;
};

// A countersign child process with stdout and stderr captured in files.
class countersign_process {
 public:
  countersign_process(const std::vector<std::string>& args, const std::string& log_dir);
  // Same, with `env` added to (or replacing entries of) the child's environment.
  countersign_process(const std::vector<std::string>& args, const std::string& log_dir,
                      const std::map<std::string, std::string>& env);
  ~countersign_process();
  countersign_process(const countersign_process&) = delete;
  countersign_process& operator=(const countersign_process&) = delete;

  void terminate();  // SIGTERM
  void kill();       // SIGKILL: a crash, nothing flushed or committed
  // Exit code, or nullopt if still running at the deadline (-signal if killed by one).
  std::optional<int> wait(std::chrono::milliseconds deadline = 60s);
  [[nodiscard]] bool running();
  // The process's peak resident set so far (VmHWM), in KiB; nullopt once it has exited.
  [[nodiscard]] std::optional<std::uint64_t> peak_rss_kib();
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs countersign to completion (replay, bad config) and returns exit code, stdout, stderr.
struct run_result {
  int exit_code;
  std::string out;
  std::string err;
};
run_result run_countersign(const std::vector<std::string>& args, const std::string& log_dir);

// The librdkafka settings in a properties file ("key=value" lines, '#' comments), such
// as the client.properties that scripts/kafka.sh writes in SASL_SSL mode (ctest fixture
// `kafka_sasl`): bootstrap.servers, security.protocol, sasl.mechanisms, sasl.username,
// sasl.password, ssl.ca.location. Throws if the file is missing or empty.
std::map<std::string, std::string> read_client_properties(const std::string& path);

// processing.threads of the configs the tests write: COUNTERSIGN_TEST_THREADS (default 1),
// so the whole integration suite runs with one or several processing threads.
std::size_t processing_threads();
// The config of a test instance: unique topics and group, metrics on `metrics_port`.
std::string service_config(const std::string& input_topic, const std::string& alerts_topic,
                           const std::string& dead_letter_topic, const std::string& group,
                           std::uint16_t metrics_port);

// The parts of an alert the tests compare.
struct alert_summary {
  std::string id;
  std::string detectors;  // sorted detector ids joined by '+'
  std::string host;
  std::string schema;     // the envelope's schema name
};
alert_summary summarize_alert(const std::string& json);

// Reads a Prometheus text exposition sample value, e.g. metric_value(text,
// "countersign_input_rejected_total{reason=\"empty\"}"): the sum of the samples of that
// name whose labels include the given ones (so a `thread` label of several processing
// threads is summed over); nullopt if none.
std::optional<double> metric_value(const std::string& exposition, const std::string& series);

}  // namespace countersign::testing
