// The consuming half of the end-to-end benchmark (bench/e2e.sh), with the same client
// library countersign uses (librdkafka), so the ceiling and countersign compare fairly.
//
//   countersign_bench_latency ceiling --bootstrap B --topic T --group G --expect N
//       A bare consumer-group member: subscribes to T in group G (librdkafka defaults,
//       like countersign's consumer, and the same cooperative-sticky assignment), reads
//       until N messages arrived and does nothing with them. Prints
//       events=N seconds=S events_per_s=R seconds_with_join=S2
//       where S counts from the first message and S2 from the subscribe call.
//
//   countersign_bench_latency latency --bootstrap B --alerts A --input T
//       Alert latency: reads every alert on A (JSON with source{topic,partition,offset});
//       for the alerts whose source topic is T, looks up the source message's Kafka
//       timestamp (its produce time, CreateTime) and subtracts it from the alert
//       message's Kafka timestamp (countersign's produce call). Prints
//       alerts=N p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. unmatched=U
//
// Both read from the earliest offset. No Google Benchmark: these are timed runs through a
// broker, not micro-benchmarks.

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct args {
  std::string command;
  std::string bootstrap;
  std::string topic;
  std::string group;
  std::string alerts;
  std::uint64_t expect = 0;
};

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "countersign_bench_latency: %s (see the comment at the top of bench/latency.cpp)\n",
               message.c_str());
  std::exit(2);
}

args parse(int argc, char** argv) {
  if (argc < 2) usage_error("ceiling or latency?");
  args a;
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage_error(k + " needs a value");
    const char* v = argv[++i];
    if (k == "--bootstrap") a.bootstrap = v;
    else if (k == "--topic" || k == "--input") a.topic = v;
    else if (k == "--group") a.group = v;
    else if (k == "--alerts") a.alerts = v;
    else if (k == "--expect") a.expect = std::strtoull(v, nullptr, 10);
    else usage_error("unknown option " + k);
  }
  if (a.bootstrap.empty() || a.topic.empty()) usage_error("--bootstrap and --topic/--input are required");
  return a;
}

rd_kafka_t* consumer(const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", k.c_str(), errstr);
      std::exit(2);
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "cannot create a consumer: %s\n", errstr);
    std::exit(1);
  }
  rd_kafka_poll_set_consumer(rk);
  return rk;
}

int partitions_of(rd_kafka_t* rk, const std::string& topic) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const auto err = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
    rd_kafka_topic_destroy(rkt);
    int n = 0;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      n = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (n > 0) return n;
    rd_kafka_poll(rk, 100);
  }
  std::fprintf(stderr, "topic %s not found\n", topic.c_str());
  std::exit(1);
}

int ceiling(const args& a) {
  if (a.group.empty() || a.expect == 0) usage_error("ceiling needs --group and --expect");
  rd_kafka_t* rk = consumer({{"bootstrap.servers", a.bootstrap},
                             {"group.id", a.group},
                             {"client.id", "countersign-bench-ceiling"},
                             {"auto.offset.reset", "earliest"},
                             {"enable.auto.offset.store", "false"},
                             {"partition.assignment.strategy", "cooperative-sticky"}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, a.topic.c_str(), RD_KAFKA_PARTITION_UA);
  const auto subscribed = clock_type::now();
  if (const auto err = rd_kafka_subscribe(rk, list)) {
    std::fprintf(stderr, "subscribe: %s\n", rd_kafka_err2str(err));
    return 1;
  }
  rd_kafka_topic_partition_list_destroy(list);
  std::uint64_t got = 0;
  std::uint64_t bytes = 0;
  clock_type::time_point first{};
  auto last_progress = clock_type::now();
  while (got < a.expect) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) {
      if (clock_type::now() - last_progress > std::chrono::seconds(60)) {
        std::fprintf(stderr, "ceiling: no message for 60 s after %" PRIu64 " of %" PRIu64 "\n", got, a.expect);
        break;
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (got == 0) first = clock_type::now();
      ++got;
      bytes += m->len;
      last_progress = clock_type::now();
    }
    rd_kafka_message_destroy(m);
  }
  const auto done = clock_type::now();
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  const double s = std::chrono::duration<double>(done - first).count();
  const double with_join = std::chrono::duration<double>(done - subscribed).count();
  std::printf("events=%" PRIu64 " bytes=%" PRIu64 " seconds=%.3f events_per_s=%.0f seconds_with_join=%.3f\n", got,
              bytes, s, static_cast<double>(got) / s, with_join);
  return got >= a.expect ? 0 : 1;
}

// The integer after `"name":` in `json`, searching from `from`.
bool find_int(std::string_view json, std::string_view name, std::size_t from, std::int64_t& out) {
  const std::string needle = "\"" + std::string(name) + "\":";
  const auto at = json.find(needle, from);
  if (at == std::string_view::npos) return false;
  const char* p = json.data() + at + needle.size();
  const char* end = json.data() + json.size();
  bool neg = false;
  if (p < end && *p == '-') {
    neg = true;
    ++p;
  }
  std::int64_t v = 0;
  const char* digits = p;
  while (p < end && *p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
  if (p == digits) return false;
  out = neg ? -v : v;
  return true;
}

struct alert_ref {
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t alert_ts;
};

// Reads every message of `topic` from the beginning to the end at the time of the call;
// `fn(message)` for each.
template <typename Fn>
void read_all(const std::string& bootstrap, const std::string& topic, const std::map<std::int32_t, std::int64_t>* from,
              const std::map<std::int32_t, std::int64_t>* until, Fn&& fn) {
  rd_kafka_t* rk = consumer({{"bootstrap.servers", bootstrap},
                             {"group.id", "countersign-bench-latency"},  // never joined: partitions are assigned
                             {"enable.auto.commit", "false"},
                             {"enable.partition.eof", "false"},
                             {"fetch.max.bytes", "104857600"}});
  const int n = partitions_of(rk, topic);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(n);
  std::map<std::int32_t, std::int64_t> end;
  for (std::int32_t p = 0; p < n; ++p) {
    std::int64_t low = 0, high = 0;
    if (const auto err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000)) {
      std::fprintf(stderr, "%s/%d: %s\n", topic.c_str(), p, rd_kafka_err2str(err));
      std::exit(1);
    }
    std::int64_t start = low;
    if (until) {
      const auto it = until->find(p);
      high = it == until->end() ? low : std::min(high, it->second + 1);
    }
    if (from) {
      const auto it = from->find(p);
      if (it != from->end()) start = std::max(low, it->second);
    }
    if (start < high) {
      end[p] = high;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = start;
    }
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  auto last_progress = clock_type::now();
  while (!end.empty()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) {
      if (clock_type::now() - last_progress > std::chrono::seconds(30)) {
        std::fprintf(stderr, "%s: stalled with %zu partition(s) unread\n", topic.c_str(), end.size());
        break;
      }
      continue;
    }
    last_progress = clock_type::now();
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const auto it = end.find(m->partition);
      if (it != end.end()) {
        fn(m);
        if (m->offset + 1 >= it->second) end.erase(it);
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

int latency(const args& a) {
  if (a.alerts.empty()) usage_error("latency needs --alerts");
  std::vector<alert_ref> refs;
  std::uint64_t alerts = 0;
  read_all(a.bootstrap, a.alerts, nullptr, nullptr, [&](const rd_kafka_message_t* m) {
    ++alerts;
    const std::string_view json(static_cast<const char*>(m->payload), m->len);
    const auto src = json.find("\"source\":{");
    if (src == std::string_view::npos) return;
    const std::string topic_field = "\"topic\":\"" + a.topic + "\"";
    const auto t = json.find(topic_field, src);
    if (t == std::string_view::npos || t > json.find('}', src)) return;
    alert_ref r{};
    std::int64_t partition = 0;
    if (!find_int(json, "partition", src, partition) || !find_int(json, "offset", src, r.offset)) return;
    r.partition = static_cast<std::int32_t>(partition);
    rd_kafka_timestamp_type_t type;
    r.alert_ts = rd_kafka_message_timestamp(m, &type);
    refs.push_back(r);
  });
  std::map<std::int32_t, std::int64_t> lo, hi;
  std::unordered_map<std::int32_t, std::unordered_map<std::int64_t, std::int64_t>> wanted;
  for (const auto& r : refs) {
    auto [it, fresh] = lo.emplace(r.partition, r.offset);
    if (!fresh) it->second = std::min(it->second, r.offset);
    auto [jt, fresh2] = hi.emplace(r.partition, r.offset);
    if (!fresh2) jt->second = std::max(jt->second, r.offset);
    wanted[r.partition][r.offset] = -1;
  }
  if (!refs.empty()) {
    read_all(a.bootstrap, a.topic, &lo, &hi, [&](const rd_kafka_message_t* m) {
      auto pit = wanted.find(m->partition);
      if (pit == wanted.end()) return;
      auto it = pit->second.find(m->offset);
      if (it == pit->second.end()) return;
      rd_kafka_timestamp_type_t type;
      it->second = rd_kafka_message_timestamp(m, &type);
    });
  }
  std::vector<std::int64_t> ms;
  std::uint64_t unmatched = 0;
  for (const auto& r : refs) {
    const std::int64_t produced = wanted[r.partition][r.offset];
    if (produced < 0) {
      ++unmatched;
      continue;
    }
    ms.push_back(r.alert_ts - produced);
  }
  std::sort(ms.begin(), ms.end());
  const auto pct = [&](double q) -> std::int64_t {
    if (ms.empty()) return -1;
    const auto i = static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5);
    return ms[std::min(i, ms.size() - 1)];
  };
  std::printf("alerts=%zu p50_ms=%" PRId64 " p90_ms=%" PRId64 " p99_ms=%" PRId64 " max_ms=%" PRId64
              " unmatched=%" PRIu64 " alerts_on_topic=%" PRIu64 "\n",
              ms.size(), pct(0.50), pct(0.90), pct(0.99), ms.empty() ? -1 : ms.back(), unmatched, alerts);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const args a = parse(argc, argv);
  if (a.command == "ceiling") return ceiling(a);
  if (a.command == "latency") return latency(a);
  usage_error("unknown command " + a.command);
}
