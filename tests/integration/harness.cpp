#include "harness.hpp"
#include "json_schema.hpp"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace countersign::testing {
namespace {

using clock_type = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

// A conf with `properties` if given, else the fixture broker's bootstrap (base_conf).
rd_kafka_conf_t* base_conf();
rd_kafka_conf_t* client_conf(const std::map<std::string, std::string>& properties) {
  if (properties.empty()) return base_conf();
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [key, value] : properties) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      fail(key + ": " + err);
    }
  }
  return conf;
}

rd_kafka_conf_t* base_conf() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    fail(err);
  }
  return conf;
}

void set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) fail(err);
}

int partition_count(rd_kafka_t* rk, const std::string& topic) {
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  int count = 0;
  if (rd_kafka_metadata(rk, 0, t, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
      md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    count = md->topics[0].partition_cnt;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  return count;
}

// Whether `topic` exists, from the metadata of all topics (naming one would let the
// broker auto-create it).
bool topic_exists(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* md = nullptr;
  bool found = false;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < md->topic_cnt && !found; ++i) found = topic == md->topics[i].topic;
  }
  if (md) rd_kafka_metadata_destroy(md);
  return found;
}

}  // namespace

std::string broker_dir(const std::string& built_in) {
  const char* moved = std::getenv("COUNTERSIGN_TEST_BROKERS");
  if (moved == nullptr || *moved == '\0') return built_in;
  return (std::filesystem::path(moved) / std::filesystem::path(built_in).filename()).string();
}

std::string bootstrap() {
  static const std::string address = [] {
    const std::string dir = broker_dir(COUNTERSIGN_TEST_KAFKA_DIR);
    std::ifstream in(dir + "/bootstrap");
    std::string line;
    if (!std::getline(in, line) || line.empty()) {
      fail("no broker: " + dir + "/bootstrap is missing (the ctest fixture kafka_broker_start starts it)");
    }
    return line;
  }();
  return address;
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

service_topics::service_topics(kafka_client& kafka, const std::string& label, int input_partitions,
                               int alert_partitions)
    : input(unique_name(label + "-events")),
      alerts(unique_name(label + "-alerts")),
      dead_letter(unique_name(label + "-dead-letter")),
      group(unique_name(label)) {
  kafka.create_topic(input, input_partitions);
  kafka.create_topic(alerts, alert_partitions);
  kafka.create_topic(dead_letter, 1);
}

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "countersign-it-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& content) const {
  const std::string p = path_ + "/" + name;
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> host_copies(const std::vector<std::string>& lines, int first, int copies,
                                     const std::string& suffix, std::size_t skip) {
  std::vector<std::string> out;
  for (int c = first; c < first + copies; ++c) {
    const std::string tag = suffix + std::to_string(c);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i == skip) continue;
      std::string l = lines[i];
      for (std::size_t pos = 0; (pos = l.find("\"host-", pos)) != std::string::npos;) {
        const auto end = l.find('"', pos + 1);
        l.insert(end, tag);
        pos = end + tag.size();
      }
      out.push_back(std::move(l));
    }
  }
  return out;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind failed");
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::pair<int, std::string> http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return {0, {}};
  }
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  (void)!::write(fd, req.data(), req.size());
  std::string resp;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) resp.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  int status = 0;
  if (resp.rfind("HTTP/1.", 0) == 0 && resp.size() > 12) status = std::atoi(resp.c_str() + 9);
  const auto body = resp.find("\r\n\r\n");
  return {status, body == std::string::npos ? std::string() : resp.substr(body + 4)};
}

kafka_client::kafka_client() {
  rd_kafka_conf_t* conf = base_conf();
  set(conf, "linger.ms", "5");
  set(conf, "message.max.bytes", "16000000");
  char err[512];
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!producer_) fail(err);
}

kafka_client::kafka_client(std::map<std::string, std::string> properties) : properties_(std::move(properties)) {
  if (properties_.empty()) fail("kafka_client: no properties");
  rd_kafka_conf_t* conf = client_conf(properties_);
  set(conf, "linger.ms", "5");
  set(conf, "message.max.bytes", "16000000");
  char err[512];
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!producer_) fail(err);
}

kafka_client::~kafka_client() {
  rd_kafka_flush(producer_, 10000);
  rd_kafka_destroy(producer_);
}

void kafka_client::create_topic(const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, err, sizeof err);
  if (!nt) fail(err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
  rd_kafka_CreateTopics(producer_, &nt, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  std::string error;
  if (!ev) {
    error = "CreateTopics timed out";
  } else {
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    if (rd_kafka_event_error(ev)) error = rd_kafka_event_error_string(ev);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_NO_ERROR &&
          rd_kafka_topic_result_error(results[i]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        error = rd_kafka_topic_result_error_string(results[i]);
      }
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_NewTopic_destroy(nt);
  if (!error.empty()) fail("create topic " + topic + ": " + error);
  // Wait until the metadata shows the topic with its partitions (leaders elected).
  const auto deadline = clock_type::now() + 30s;
  while (partition_count(producer_, topic) != partitions) {
    if (clock_type::now() > deadline) fail("topic " + topic + " did not appear");
    std::this_thread::sleep_for(50ms);
  }
}

void kafka_client::produce(const std::string& topic, const std::string& key, const std::string& value,
                           std::int32_t partition, const std::map<std::string, std::string>& headers) {
  for (;;) {
    rd_kafka_headers_t* h = rd_kafka_headers_new(headers.size());
    for (const auto& [name, v] : headers) {
      rd_kafka_header_add(h, name.data(), static_cast<ssize_t>(name.size()), v.data(), static_cast<ssize_t>(v.size()));
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    const auto err = rd_kafka_producev(
        producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
        RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
#pragma GCC diagnostic pop
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the headers belong to the message now
    rd_kafka_headers_destroy(h);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) fail(std::string("produce: ") + rd_kafka_err2str(err));
    rd_kafka_poll(producer_, 50);
  }
}

void kafka_client::flush(std::chrono::milliseconds timeout) {
  if (rd_kafka_flush(producer_, static_cast<int>(timeout.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fail("flush timed out");
  }
}

std::vector<record> kafka_client::read_all(const std::string& topic, std::size_t min_count,
                                           std::chrono::milliseconds deadline) {
  rd_kafka_conf_t* conf = client_conf(properties_);
  set(conf, "group.id", unique_name("reader"));
  set(conf, "enable.auto.commit", "false");
  set(conf, "enable.partition.eof", "true");
  char err[512];
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!c) fail(err);
  const int partitions = partition_count(c, topic);
  std::vector<record> out;
  if (partitions == 0) {
    rd_kafka_destroy(c);
    return out;
  }
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);

  std::vector<bool> at_end(static_cast<std::size_t>(partitions), false);
  const auto end = clock_type::now() + deadline;
  while (clock_type::now() < end) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
    if (m) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        at_end[static_cast<std::size_t>(m->partition)] = true;
      } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        at_end[static_cast<std::size_t>(m->partition)] = false;
        record r;
        r.key.assign(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
        r.value.assign(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
        r.partition = m->partition;
        r.offset = m->offset;
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name;
          const void* value;
          size_t size;
          for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
            r.headers[name] = std::string(static_cast<const char*>(value), size);
          }
        }
        out.push_back(std::move(r));
      }
      rd_kafka_message_destroy(m);
    }
    const bool all_end = std::all_of(at_end.begin(), at_end.end(), [](bool b) { return b; });
    if (all_end && out.size() >= min_count) break;
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return out;
}

bool kafka_client::group_caught_up(const std::string& group, const std::string& topic) {
  const int partitions = partition_count(producer_, topic);
  if (partitions == 0) return false;
  rd_kafka_conf_t* conf = client_conf(properties_);
  set(conf, "group.id", group);
  char err[512];
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!c) fail(err);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  bool caught_up = rd_kafka_committed(c, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int p = 0; caught_up && p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(producer_, topic.c_str(), p, &low, &high, 10000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      caught_up = false;
      break;
    }
    const std::int64_t committed = list->elems[p].offset;
    if (high > 0 && committed != high) caught_up = false;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(c);
  return caught_up;
}

bool kafka_client::wait_caught_up(const std::string& group, const std::string& topic,
                                  std::chrono::milliseconds deadline) {
  const auto end = clock_type::now() + deadline;
  while (clock_type::now() < end) {
    if (group_caught_up(group, topic)) return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

bool kafka_client::wait_topology_caught_up(const std::string& group, const std::string& input,
                                           const std::string& prefix, std::chrono::milliseconds deadline,
                                           const std::function<bool()>& alive) {
  const auto end = clock_type::now() + deadline;
  while (clock_type::now() < end) {
    if (alive && !alive()) return false;
    // The input first: once its end is committed the instance has created the internal
    // topics, so looking them up cannot auto-create them with the broker's defaults.
    // Without a state store there is no deltas topic.
    if (group_caught_up(group, input) && group_caught_up(group, prefix + ".observations") &&
        (!topic_exists(producer_, prefix + ".signer-deltas") || group_caught_up(group, prefix + ".signer-deltas"))) {
      return true;
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

int kafka_client::topic_partitions(const std::string& topic) { return partition_count(producer_, topic); }

std::map<std::string, std::vector<std::string>> kafka_client::group_assignment(const std::string& group) {
  std::map<std::string, std::vector<std::string>> out;
  const char* groups[] = {group.c_str()};
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_);
  rd_kafka_DescribeConsumerGroups(producer_, groups, 1, nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    size_t n = 0;
    const rd_kafka_ConsumerGroupDescription_t** descs =
        rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_ConsumerGroupDescription_error(descs[i]) != nullptr) continue;
      const size_t members = rd_kafka_ConsumerGroupDescription_member_count(descs[i]);
      for (size_t m = 0; m < members; ++m) {
        const rd_kafka_MemberDescription_t* member = rd_kafka_ConsumerGroupDescription_member(descs[i], m);
        auto& parts = out[rd_kafka_MemberDescription_client_id(member)];  // present even when unassigned
        const rd_kafka_MemberAssignment_t* assignment = rd_kafka_MemberDescription_assignment(member);
        const rd_kafka_topic_partition_list_t* list =
            assignment ? rd_kafka_MemberAssignment_partitions(assignment) : nullptr;
        for (int k = 0; list && k < list->cnt; ++k) {
          parts.push_back(std::string(list->elems[k].topic) + ":" + std::to_string(list->elems[k].partition));
        }
        std::sort(parts.begin(), parts.end());
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  return out;
}

countersign_process::countersign_process(const std::vector<std::string>& args, const std::string& log_dir)
    : countersign_process(args, log_dir, {}) {}

countersign_process::countersign_process(const std::vector<std::string>& args, const std::string& log_dir,
                                         const std::map<std::string, std::string>& env) {
  static std::atomic<int> counter{0};
  const int n = counter++;
  out_path_ = log_dir + "/countersign-" + std::to_string(n) + ".out";
  err_path_ = log_dir + "/countersign-" + std::to_string(n) + ".err";
  std::vector<std::string> argv_storage = {COUNTERSIGN_BIN};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The child's environment, built before fork: ours with `env` added or replaced.
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    if (!env.contains(entry.substr(0, entry.find('=')))) env_storage.push_back(entry);
  }
  for (const auto& [name, value] : env) env_storage.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) fail("fork failed");
  if (pid_ == 0) {
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
}

countersign_process::~countersign_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    (void)wait(10s);
  }
}

void countersign_process::terminate() {
  if (running()) ::kill(pid_, SIGTERM);
}

void countersign_process::kill() {
  if (running()) ::kill(pid_, SIGKILL);
}

std::optional<std::uint64_t> countersign_process::peak_rss_kib() {
  if (!running()) return std::nullopt;
  std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

bool countersign_process::running() {
  if (status_ || pid_ <= 0) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return false;
  }
  return true;
}

std::optional<int> countersign_process::wait(std::chrono::milliseconds deadline) {
  const auto end = clock_type::now() + deadline;
  while (running()) {
    if (clock_type::now() > end) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return status_;
}

std::string countersign_process::stdout_text() const { return read_file(out_path_); }
std::string countersign_process::stderr_text() const { return read_file(err_path_); }

run_result run_countersign(const std::vector<std::string>& args, const std::string& log_dir) {
  countersign_process p(args, log_dir);
  const auto code = p.wait(120s);
  if (!code) fail("countersign did not finish within 120 s");
  return {*code, p.stdout_text(), p.stderr_text()};
}

std::map<std::string, std::string> read_client_properties(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& line : read_lines(path)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0) fail(path + ": not key=value: " + line);
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (out.empty()) fail("no client properties in " + path + " (the ctest fixture kafka_sasl_broker_start writes it)");
  return out;
}

std::size_t processing_threads() {
  const char* env = std::getenv("COUNTERSIGN_TEST_THREADS");
  if (env == nullptr || *env == '\0') return 1;
  const std::size_t n = std::strtoul(env, nullptr, 10);
  if (n == 0) fail(std::string("COUNTERSIGN_TEST_THREADS must be a positive number, not ") + env);
  return n;
}

std::string service_config(const std::string& input_topic, const std::string& alerts_topic,
                           const std::string& dead_letter_topic, const std::string& group,
                           std::uint16_t metrics_port) {
  std::ostringstream y;
  y << "kafka:\n"
    << "  bootstrap_servers: \"" << bootstrap() << "\"\n"
    << "  group_id: " << group << "\n"
    << "  client_id: countersign-it\n"
    << "  input_topics: [" << input_topic << "]\n"
    << "  alerts_topic: " << alerts_topic << "\n"
    << "  dead_letter_topic: \"" << dead_letter_topic << "\"\n"
    << "  consumer:\n"
    << "    statistics.interval.ms: \"500\"\n"
    << "metrics:\n"
    << "  listen: \"127.0.0.1:" << metrics_port << "\"\n"
    << "processing:\n"
    << "  commit_interval: 200ms\n"
    << "  drain_timeout: 30s\n"
    << "  threads: " << processing_threads() << "\n"
    << "detectors:\n"
    << "  signature_untrusted:\n"
    << "    internal_pki_issuers: [\"Contoso Internal Code Signing CA\", \"Fabrikam Internal Code Signing CA\"]\n";
  return y.str();
}

alert_summary summarize_alert(const std::string& json) {
  // Every alert an integration test reads is also checked against the published schema.
  static const test_support::json_schema schema([] {
    std::ifstream in(std::string(COUNTERSIGN_SOURCE_DIR) + "/schema/countersign.alert.v1.schema.json");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }());
  EXPECT_TRUE(schema.load_errors().empty()) << "schema/countersign.alert.v1.schema.json does not load";
  if (const auto problems = schema.validate(json); !problems.empty()) {
    ADD_FAILURE() << "alert does not match schema/countersign.alert.v1.schema.json: " << problems.front() << "\n"
                  << json;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(json);
  alert_summary s;
  s.id = std::string(std::string_view(doc["id"]));
  // The host id, else its name (a correlation alert grouped by host name knows only that).
  std::string_view host;
  if (doc["host"]["id"].get(host) != simdjson::SUCCESS) host = std::string_view(doc["host"]["name"]);
  s.host = std::string(host);
  s.schema = std::string(std::string_view(doc["schema"]));
  std::vector<std::string> ids;
  for (auto d : doc["detections"].get_array()) ids.emplace_back(std::string_view(d["id"]));
  std::sort(ids.begin(), ids.end());
  for (const auto& i : ids) s.detectors += (s.detectors.empty() ? "" : "+") + i;
  return s;
}

namespace {

// A sample's name and labels, from `name{a="x",b="y"}` (labels sorted by name).
std::pair<std::string, std::map<std::string, std::string>> parse_series(std::string_view series) {
  const auto brace = series.find('{');
  std::pair<std::string, std::map<std::string, std::string>> out{std::string(series.substr(0, brace)), {}};
  if (brace == std::string_view::npos) return out;
  std::size_t i = brace + 1;
  while (i < series.size() && series[i] != '}') {
    const auto eq = series.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= series.size() || series[eq + 1] != '"') break;
    std::string value;
    std::size_t j = eq + 2;
    for (; j < series.size() && series[j] != '"'; ++j) {
      if (series[j] == '\\' && j + 1 < series.size()) ++j;
      value += series[j];
    }
    out.second[std::string(series.substr(i, eq - i))] = std::move(value);
    i = j + 1;
    if (i < series.size() && series[i] == ',') ++i;
  }
  return out;
}

}  // namespace

std::optional<double> metric_value(const std::string& exposition, const std::string& series) {
  const auto [name, labels] = parse_series(series);
  std::optional<double> sum;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || !line.starts_with(name)) continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const auto [line_name, line_labels] = parse_series(std::string_view(line).substr(0, space));
    if (line_name != name) continue;
    const bool included = std::ranges::all_of(labels, [&](const auto& l) {
      const auto it = line_labels.find(l.first);
      return it != line_labels.end() && it->second == l.second;
    });
    if (included) sum = sum.value_or(0) + std::strtod(line.c_str() + space + 1, nullptr);
  }
  return sum;
}

}  // namespace countersign::testing
