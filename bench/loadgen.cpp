// Load generator for the end-to-end benchmark (bench/e2e.sh): writes events into a real
// broker with librdkafka, at full speed or at a fixed rate.
//
//   countersign_bench_loadgen --bootstrap HOST:PORT --topic T [options] FILE.ndjson
//   countersign_bench_loadgen --bootstrap HOST:PORT --topic T [options] --generate N
//
//   FILE.ndjson          one event per line (the fleet simulator's events.ndjson); '-' is stdin
//   --generate N         N generated ECS process events instead of a file (see below)
//   --count N            stop after N events (default: the whole file / N)
//   --rate R             R events/s (default 0: as fast as the producer takes them)
//   --produced-header    add header countersign.produced_ns (wall clock, ns) to each event
//   --partition P        produce to partition P only (default: librdkafka's partitioner)
//   -X key=value         any librdkafka producer property (repeatable)
//   --print              write the events to stdout, one per line, instead of producing
//                        (to replay or inspect what --generate makes); --bootstrap/--topic
//                        are then not needed
//
// Generated events (--generate): ECS process starts of --hosts hosts (default 5000)
// over --hashes distinct file hashes (default 100000): the first --hashes events each
// run a new file, so the state holds exactly that many hashes once they are through;
// later events pick 80% of their files from the hottest 1% and 20% from the rest, like
// bench/state_bench.cpp. --alert-permille A (default 0) makes A of every 1000 events a
// revoked signature on a file never seen before, so that many alerts are raised (for
// the latency measurement); the others are benign (trusted, a public CA). Event times advance over 10 days of event time per million
// events from 2026-11-16. --seed S changes the draw.
//
// Every message's Kafka timestamp is its produce time (CreateTime, set at the produce
// call), which the latency tool compares with the alert's. Prints one line:
//   events=N bytes=B seconds=S events_per_s=R failed=F

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string bootstrap;
  std::string topic;
  std::string file;
  std::uint64_t generate = 0;
  std::uint64_t count = 0;
  double rate = 0;
  bool produced_header = false;
  bool print = false;
  std::int32_t partition = RD_KAFKA_PARTITION_UA;
  std::uint64_t hashes = 100'000;
  std::uint64_t hosts = 5'000;
  std::uint64_t alert_permille = 0;
  std::uint64_t seed = 20261129;
  std::vector<std::pair<std::string, std::string>> properties;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "countersign_bench_loadgen: %s (see the comment at the top of bench/loadgen.cpp)\n",
               message.c_str());
  std::exit(2);
}

std::uint64_t to_count(const char* s, const char* name) {
  char* end = nullptr;
  const auto v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') usage_error(std::string(name) + " needs a number, not '" + s + "'");
  return v;
}

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--bootstrap") o.bootstrap = value();
    else if (a == "--topic") o.topic = value();
    else if (a == "--generate") o.generate = to_count(value(), "--generate");
    else if (a == "--count") o.count = to_count(value(), "--count");
    else if (a == "--rate") o.rate = std::strtod(value(), nullptr);
    else if (a == "--produced-header") o.produced_header = true;
    else if (a == "--print") o.print = true;
    else if (a == "--partition") o.partition = static_cast<std::int32_t>(to_count(value(), "--partition"));
    else if (a == "--hashes") o.hashes = std::max<std::uint64_t>(1, to_count(value(), "--hashes"));
    else if (a == "--hosts") o.hosts = std::max<std::uint64_t>(1, to_count(value(), "--hosts"));
    else if (a == "--alert-permille") o.alert_permille = to_count(value(), "--alert-permille");
    else if (a == "--seed") o.seed = to_count(value(), "--seed");
    else if (a == "-X") {
      const std::string kv = value();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) usage_error("-X needs key=value");
      o.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "-h" || a == "--help") {
      std::printf("see the comment at the top of bench/loadgen.cpp\n");
      std::exit(0);
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      usage_error("unknown option " + a);
    } else {
      o.file = a;
    }
  }
  if (!o.print && (o.bootstrap.empty() || o.topic.empty())) usage_error("--bootstrap and --topic are required");
  if (o.file.empty() == (o.generate == 0)) usage_error("give either an NDJSON file or --generate N");
  if (o.generate > 0 && (o.count == 0 || o.count > o.generate)) o.count = o.generate;
  return o;
}

// Public code-signing CAs (rules/content/known_code_signing_cas.yaml), so the benign
// events do not look like an unusual issuer.
constexpr std::array<const char*, 6> k_cas = {"DigiCert", "Sectigo", "GlobalSign", "Entrust", "SSL.com", "Certum"};

// ECS process events over a chosen number of distinct files (see the header comment).
class generator {
 public:
  explicit generator(const options& o) : o_(o), rng_(o.seed) {}

  const std::string& event(std::uint64_t i) {
    const std::uint64_t hashes = o_.hashes;
    bool revoked = false;
    std::uint64_t h;
    if (o_.alert_permille > 0 && rng_() % 1000 < o_.alert_permille) {
      revoked = true;
      h = hashes + i;  // a file nobody ran before: a new alert id
    } else if (i < hashes) {
      h = i;
    } else {
      const std::uint64_t hot = std::max<std::uint64_t>(1, hashes / 100);
      h = rng_() % 100 < 80 || hashes <= hot ? rng_() % hot : hot + rng_() % (hashes - hot);
    }
    const std::uint64_t host = rng_() % o_.hosts;
    const std::uint64_t signer = h % 2 == 0 ? 0 : 1 + h % 199;  // signer 0 signs half of all files
    const std::int64_t t = 1'795'305'600'000 + static_cast<std::int64_t>(i * 864ULL);  // 10 days per million
    const std::time_t secs = t / 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    const std::size_t tn = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(ts + tn, sizeof ts - tn, ".%03dZ", static_cast<int>(t % 1000));
    char out[1600];
    const int n = std::snprintf(
        out, sizeof out,
        R"({"@timestamp":"%s","ecs":{"version":"8.11.0"},"event":{"kind":"event","category":["process"],"type":["start"]},)"
        R"("host":{"id":"host-%06)" PRIu64 R"(","name":"WS-%06)" PRIu64 R"(","os":{"family":"windows"}},"user":{"name":"user%)" PRIu64 R"("},)"
        R"("process":{"pid":%)" PRIu64 R"(,"executable":"C:\\Program Files\\Vendor%)" PRIu64 R"(\\app%)" PRIu64 R"(.exe",)"
        R"("hash":{"sha256":"%016)" PRIx64 R"(%016)" PRIx64 R"(%016)" PRIx64 R"(%016)" PRIx64 R"("},)"
        R"("pe":{"original_file_name":"app%)" PRIu64 R"(.exe","company":"Vendor %)" PRIu64 R"( Inc."},)"
        R"("code_signature":{"exists":true,"status":"%s","trusted":%s,"subject_name":"Vendor %)" PRIu64
        R"( Inc.","thumbprint_sha256":"%016)" PRIx64 R"(%016)" PRIx64 R"(%016)" PRIx64 R"(%016)" PRIx64 R"("}},)"
        R"("file":{"x509":{"issuer":{"common_name":"%s Code Signing CA %)" PRIu64
        R"("},"not_before":"2025-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z"}}})",
        ts, host, host, host % 50, 1000 + i % 60000, signer, h, h, std::uint64_t{0xa5a5}, std::uint64_t{h * 2654435761ULL},
        std::uint64_t{0x5a5a}, h, signer, revoked ? "errorRevoked" : "trusted", revoked ? "false" : "true", signer,
        signer, std::uint64_t{0xbeef}, signer, std::uint64_t{0xcafe}, k_cas[signer % k_cas.size()], signer % 12);
    buf_.assign(out, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof out) - 1)));
    return buf_;
  }

 private:
  const options& o_;
  std::mt19937_64 rng_;
  std::string buf_;
};

std::uint64_t failed = 0;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (failed++ < 5) std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
  }
}

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse_args(argc, argv);
  if (o.print) {
    generator gen(o);
    for (std::uint64_t i = 0; i < o.count; ++i) {
      const auto& e = gen.event(i);
      std::fwrite(e.data(), 1, e.size(), stdout);
      std::fputc('\n', stdout);
    }
    return 0;
  }

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", o.bootstrap},
      {"client.id", "countersign-bench-loadgen"},
      {"linger.ms", o.rate > 0 ? "5" : "50"},
      {"batch.num.messages", "10000"},
      {"batch.size", "4000000"},
      {"compression.type", "lz4"},
      {"queue.buffering.max.messages", "500000"},
      {"queue.buffering.max.kbytes", "1048576"},
      {"message.max.bytes", "16000000"},
  };
  props.insert(props.end(), o.properties.begin(), o.properties.end());
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s=%s: %s\n", k.c_str(), v.c_str(), errstr);
      return 2;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "cannot create the producer: %s\n", errstr);
    return 1;
  }

  std::ifstream file;
  std::istream* in = nullptr;
  if (!o.file.empty()) {
    if (o.file == "-") {
      in = &std::cin;
    } else {
      file.open(o.file, std::ios::binary);
      if (!file) {
        std::fprintf(stderr, "cannot read %s\n", o.file.c_str());
        return 1;
      }
      in = &file;
    }
  }
  generator gen(o);
  std::string line;

  const auto started = clock_type::now();
  std::uint64_t sent = 0;
  std::uint64_t bytes = 0;
  const std::uint64_t limit = o.count == 0 ? UINT64_MAX : o.count;
  while (sent < limit) {
    const std::string* event = nullptr;
    if (in) {
      if (!std::getline(*in, line)) break;
      if (line.empty()) continue;
      event = &line;
    } else {
      event = &gen.event(sent);
    }
    if (o.rate > 0) {
      // Event i is due at i / rate after the start; sleep while ahead, never catch up
      // by bursting more than the producer would take anyway.
      const auto due = started + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(sent) * 1e9 / o.rate));
      const auto now = clock_type::now();
      if (due > now + std::chrono::microseconds(200)) {
        rd_kafka_poll(rk, 0);
        std::this_thread::sleep_until(due);
      }
    }
    char produced[32];
    const int produced_len = o.produced_header ? std::snprintf(produced, sizeof produced, "%" PRId64, wall_ns()) : 0;
    for (;;) {
      rd_kafka_resp_err_t err;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
      void* payload = const_cast<char*>(event->data());
      if (o.produced_header) {
        rd_kafka_headers_t* h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "countersign.produced_ns", -1, produced, produced_len);
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(o.partition),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(payload, event->size()),
                                RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        if (err) rd_kafka_headers_destroy(h);
      } else {
        err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()), RD_KAFKA_V_PARTITION(o.partition),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(payload, event->size()),
                                RD_KAFKA_V_END);
      }
#pragma GCC diagnostic pop
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce failed: %s\n", rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return 1;
      }
      rd_kafka_poll(rk, 5);
    }
    ++sent;
    bytes += event->size();
    if ((sent & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  while (rd_kafka_outq_len(rk) > 0) rd_kafka_poll(rk, 50);
  const double seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  rd_kafka_destroy(rk);
  std::printf("events=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f events_per_s=%.0f failed=%" PRIu64 "\n", sent, bytes,
              seconds, static_cast<double>(sent) / seconds, failed);
  return failed == 0 ? 0 : 1;
}
