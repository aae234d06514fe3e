// Broker-backed tests of the partitioned topology (docs/design.md sections 2 and 4): ingest ->
// `<prefix>.observations` (keyed by file hash) -> hash stage with its compacted changelog
// `<prefix>.hash-state-changelog` -> `<prefix>.signer-deltas` -> signer stage -> the
// compacted global table `<prefix>.signers`.
//
// Every test runs the same generated fleet (60 hosts, 295 files, 3000 process starts, 80%
// of them signed by one vendor) and compares what a topology under test leaves behind with
// what one instance alone leaves behind: the set of alert ids, and the final prevalence
// state, i.e. the merge of every record on the changelog and on the signer table. Merge is
// a lattice join, so the final state is independent of how the work was split, replayed or
// restored; two correct runs must agree on it exactly.
//
// ctest runs each case in a process of its own, so each computes the one-instance
// baseline itself (about 15 s) instead of sharing it.

#include "harness.hpp"

#include <countersign/state/prevalence_value.hpp>
#include <countersign/state/record_batch.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ct = countersign::testing;
namespace cs = countersign::state;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;

constexpr int k_partitions = 4;  // of the input topic and (topology.partitions) of every internal topic

// Store kinds as the first key byte on the signer table (the values of state::store_kind).
constexpr char k_kind_signer = 1;
constexpr char k_kind_issuer = 2;
constexpr char k_kind_company_signer = 3;

[[noreturn]] void fatal(const std::string& what) { throw std::runtime_error(what); }

// ---------------------------------------------------------------------------------------
// The generated fleet. Deterministic: a fixed-seed splitmix64, no std distributions (their
// output differs between standard libraries).

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string hex64(std::uint64_t v) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = k_hex[v & 0xF];
  return out;
}

// A lowercase 64-hex-digit value (a SHA-256 or a thumbprint) derived from a label.
std::string hex256(const std::string& label) {
  std::uint64_t seed = 14695981039346656037ULL;  // FNV-1a of the label as the seed
  for (const unsigned char c : label) seed = (seed ^ c) * 1099511628211ULL;
  std::string out;
  for (int i = 0; i < 4; ++i) out += hex64(splitmix64(seed));
  return out;
}

std::string two_digits(int v) { return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10); }

std::string host_id(int h) { return "host-" + two_digits(h); }

constexpr std::int64_t epoch_seconds(std::chrono::year_month_day day) {
  return std::chrono::sys_days{day}.time_since_epoch().count() * 86'400;
}

// 2026-11-20T08:00:00Z: every event falls on this UTC day, so in one alert window (24 h,
// counted from the epoch) whatever order the events are processed in.
constexpr std::int64_t k_base_s = epoch_seconds(std::chrono::year{2026} / 11 / 20) + 8 * 3600;

std::string rfc3339(std::int64_t epoch_s) {
  using namespace std::chrono;
  const sys_seconds t{seconds{epoch_s}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string lower(std::string s) {
  for (auto& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return s;
}

struct signer_identity {
  std::string subject;     // code_signature.subject_name, and the PE company
  std::string thumbprint;  // lowercase hex: the signer key is "t:" + thumbprint
  std::string issuer;      // file.x509.issuer.distinguished_name
  std::string status;      // code_signature.status
  bool trusted = true;
  std::string not_before;
  std::string not_after;
};

const std::string k_digicert = "CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1, O=DigiCert, Inc., C=US";
const std::string k_sectigo = "CN=Sectigo Public Code Signing CA R36, O=Sectigo Limited, C=GB";
const std::string k_globalsign = "CN=GlobalSign GCC R45 EV CodeSigning CA 2020, O=GlobalSign nv-sa, C=BE";
const std::string k_certum = "CN=Certum Code Signing 2021 CA, O=Asseco Data Systems S.A., C=PL";
const std::string k_contoso = "Contoso Software Ltd";

std::string ecs_event(const std::string& host, std::int64_t time_s, const std::string& exe,
                      const std::string& sha256, const signer_identity& s) {
  std::string j;
  j += R"({"@timestamp":")" + rfc3339(time_s) +
       R"(","ecs":{"version":"8.11.0"},"event":{"kind":"event","category":["process"],"type":["start"],"dataset":"endpoint.events.process"},)";
  j += R"("host":{"id":")" + host + R"(","name":"WS-)" + host.substr(5) + R"(","os":{"family":"windows"}},"user":{"name":"user)" +
       host.substr(5) + R"("},)";
  j += R"("process":{"pid":4242,"executable":"C:\\Program Files\\)" + s.subject + R"(\\)" + exe + R"(","name":")" + exe + R"(",)";
  j += R"("hash":{"sha256":")" + sha256 + R"("},)";
  j += R"("code_signature":{"exists":true,"status":")" + s.status + R"(","trusted":)" + (s.trusted ? "true" : "false") +
       R"(,"subject_name":")" + s.subject + R"(","thumbprint_sha256":")" + s.thumbprint + R"("},)";
  j += R"("pe":{"company":")" + s.subject + R"(","original_file_name":")" + exe + R"("}},)";
  j += R"("file":{"x509":{"issuer":{"distinguished_name":")" + s.issuer + R"("},"serial_number":")" +
       s.thumbprint.substr(0, 8) + R"(","not_before":")" + s.not_before + R"(","not_after":")" + s.not_after + R"("}}})";
  return j;
}

struct fleet_input {
  std::vector<std::pair<std::string, std::string>> events;  // (host id = key, ECS JSON), production order
  std::size_t unique_facts = 0;                             // events minus exact re-sends
  std::size_t contoso_events = 0;
  std::string contoso_thumbprint;
  std::set<std::string> contoso_hosts;
  std::set<std::string> contoso_hashes;
  std::int64_t contoso_first_ms = 0;
  std::int64_t contoso_last_ms = 0;
  std::int64_t contoso_not_before_ms = 0;
  std::set<std::string> hashes;        // every file: the changelog's key set
  std::set<std::string> table_keys;    // every signer and issuer key on the signer table
  std::size_t signers = 0;             // distinct signers (= (company, signer) pairs)
  std::set<std::string> expected_alerts;  // "detectors\thost"
  std::size_t expected_alert_ids = 0;     // distinct (detectors, host, file)
  std::string revoked_hash;               // the revoked file on three hosts
  std::int64_t revoked_first_ms = 0;
};

// 60 hosts; "Contoso Software Ltd" (one old, valid certificate) signs 200 files run on hosts
// 00-49; 30 other valid vendors sign 3 files each, run anywhere; and five bad files:
// two with a revoked signature (hosts 03, 17, 41 and 08, 52), two chaining to an untrusted
// root (11, 29, 47 and 05), one signed with a certificate issued three days before (22, 36,
// so its signer stays under the signer-host limit of 5 and it always alerts).
//
// Every (host, file) fact occurs once with its own timestamp, plus 150 exact re-sends
// (same timestamp) later in the stream, 120 of them Contoso's, so Contoso signs exactly
// 80% of the 3000 events. No fact recurs with a later timestamp on purpose: the ingest
// drops repeats it remembers (a per-process cache), so a repeat's later last-seen time
// would reach the state in one run and not in another (after a rebalance, a crash, a
// restart), and the final states could not be compared exactly. Exact re-sends carry the
// same time, so whether they are dropped changes nothing.
fleet_input generate_fleet() {
  fleet_input f;
  std::vector<signer_identity> signers;
  signers.push_back({k_contoso, hex256("signer-contoso"), k_digicert, "trusted", true, "2024-03-01T00:00:00Z",
                     "2027-03-01T00:00:00Z"});
  const std::array<std::string, 4> issuers = {k_digicert, k_sectigo, k_globalsign, k_certum};
  for (int v = 1; v <= 30; ++v) {
    signers.push_back({"Vendor " + two_digits(v) + " Software Inc", hex256("signer-vendor-" + two_digits(v)),
                       issuers[static_cast<std::size_t>(v) % issuers.size()], "trusted", true,
                       "2025-" + two_digits(1 + v % 12) + "-01T00:00:00Z", "2027-" + two_digits(1 + v % 12) + "-01T00:00:00Z"});
  }
  const std::size_t revoked_signer = signers.size();
  signers.push_back({"Blue Ridge Softworks LLC", hex256("signer-blue-ridge"), k_sectigo, "errorRevoked", false,
                     "2025-03-01T00:00:00Z", "2027-03-01T00:00:00Z"});
  const std::size_t untrusted_signer = signers.size();
  signers.push_back({"Updater Service", hex256("signer-updater"), "CN=Updater Root CA", "errorUntrustedRoot", false,
                     "2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z"});
  const std::size_t recent_signer = signers.size();
  signers.push_back({"Nordlicht Data Tools GmbH", hex256("signer-nordlicht"), k_certum, "trusted", true,
                     "2026-11-17T09:30:00Z", "2027-11-17T09:30:00Z"});

  struct fact {
    int host;
    std::size_t signer;
    std::string file;  // label; the hash is hex256(label)
    bool resend;       // also sent a second time, later
  };
  std::vector<fact> facts;
  // Contoso: 2280 distinct (host, file) pairs of 50 hosts x 200 files (7919 is coprime to 10000).
  for (int k = 0; k < 2280; ++k) {
    const int idx = (k * 7919) % 10000;
    facts.push_back({idx % 50, 0, "contoso-" + std::to_string(idx / 50), k % 19 == 0});
  }
  // The 30 vendors: 559 distinct pairs of 60 hosts x 90 files (4999 is coprime to 5400).
  for (int k = 0; k < 559; ++k) {
    const int idx = (k * 4999) % 5400;
    const int file = idx / 60;
    facts.push_back({idx % 60, 1 + static_cast<std::size_t>(file / 3), "vendor-" + std::to_string(file),
                     k > 0 && k % 29 == 0});
  }
  const auto bad = [&](std::size_t signer, const std::string& file, std::initializer_list<int> hosts) {
    for (const int h : hosts) facts.push_back({h, signer, file, true});
  };
  bad(revoked_signer, "revoked-a", {3, 17, 41});
  bad(revoked_signer, "revoked-b", {8, 52});
  bad(untrusted_signer, "untrusted-c", {11, 29, 47});
  bad(untrusted_signer, "untrusted-d", {5});
  bad(recent_signer, "recent-e", {22, 36});

  std::uint64_t rng = 2026;
  for (std::size_t i = facts.size(); i > 1; --i) std::swap(facts[i - 1], facts[splitmix64(rng) % i]);

  // Position 2i is fact i (5 s apart: 08:00 to about 12:00); a re-send goes to an odd
  // position up to 200 facts later, with the original's timestamp.
  std::vector<std::pair<std::size_t, std::pair<std::string, std::string>>> ordered;
  for (std::size_t i = 0; i < facts.size(); ++i) {
    const fact& x = facts[i];
    const signer_identity& s = signers[x.signer];
    const std::string host = host_id(x.host);
    const std::string sha = hex256("file-" + x.file);
    const std::int64_t t = k_base_s + static_cast<std::int64_t>(i) * 5;
    const std::string json = ecs_event(host, t, x.file + ".exe", sha, s);
    ordered.push_back({2 * i, {host, json}});
    if (x.resend) {
      const std::size_t later = std::min(facts.size() - 1, i + 1 + splitmix64(rng) % 200);
      ordered.push_back({2 * later + 1, {host, json}});
    }
    f.hashes.insert(sha);
    f.table_keys.insert(std::string(1, k_kind_signer) + "t:" + s.thumbprint);
    f.table_keys.insert(std::string(1, k_kind_issuer) + lower(s.issuer));
    const std::size_t copies = x.resend ? 2 : 1;
    if (x.signer == 0) {
      f.contoso_events += copies;
      f.contoso_hosts.insert(host);
      f.contoso_hashes.insert(sha);
      f.contoso_first_ms = f.contoso_first_ms == 0 ? t * 1000 : std::min(f.contoso_first_ms, t * 1000);
      f.contoso_last_ms = std::max(f.contoso_last_ms, t * 1000);
    }
    std::string detector;
    if (x.signer == revoked_signer) detector = "cs.signature.revoked";
    // "Updater Root CA" is no known code-signing CA and new to the fleet: unusual too.
    if (x.signer == untrusted_signer) detector = "cs.issuer.unusual+cs.signature.untrusted";
    if (x.signer == recent_signer) detector = "cs.certificate.recently_issued";
    if (!detector.empty()) {
      f.expected_alerts.insert(detector + "\t" + host);
      ++f.expected_alert_ids;
    }
    if (x.file == "revoked-a") {
      f.revoked_hash = sha;
      f.revoked_first_ms = f.revoked_first_ms == 0 ? t * 1000 : std::min(f.revoked_first_ms, t * 1000);
    }
  }
  std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& o : ordered) f.events.push_back(std::move(o.second));
  f.unique_facts = facts.size();
  f.contoso_thumbprint = signers[0].thumbprint;
  f.contoso_not_before_ms = epoch_seconds(std::chrono::year{2024} / 3 / 1) * 1000;  // its not_before
  f.signers = signers.size();
  if (f.events.size() != 3000 || f.contoso_events != 2400 || f.hashes.size() != 295) {
    fatal("the fleet generator drifted: " + std::to_string(f.events.size()) + " events, " +
          std::to_string(f.contoso_events) + " Contoso, " + std::to_string(f.hashes.size()) + " files");
  }
  return f;
}

const fleet_input& fleet() {
  static const fleet_input f = generate_fleet();
  return f;
}

void produce_events(ct::kafka_client& kafka, const std::string& topic, std::size_t begin, std::size_t end) {
  const auto& events = fleet().events;
  for (std::size_t i = begin; i < end && i < events.size(); ++i) kafka.produce(topic, events[i].first, events[i].second);
  kafka.flush();
}

// ---------------------------------------------------------------------------------------
// Runs: topics, instances, waiting.

// The topics and group of one run. `explicit_prefix`: set topology.topic_prefix to a name
// of its own; otherwise the internal topics take the default prefix, the group id.
struct run_topics {
  run_topics(ct::kafka_client& kafka, const std::string& label, bool explicit_prefix)
      : group(ct::unique_name("topology-" + label)),
        prefix(explicit_prefix ? ct::unique_name("internal-" + label) : group),
        prefix_is_explicit(explicit_prefix) {
    kafka.create_topic(input, k_partitions);
    kafka.create_topic(alerts, 2);
    kafka.create_topic(dead_letter, 1);
  }
  std::string input = ct::unique_name("events");
  std::string alerts = ct::unique_name("alerts");
  std::string dead_letter = ct::unique_name("dead-letter");
  std::string group;
  std::string prefix;
  bool prefix_is_explicit;
  [[nodiscard]] std::string observations() const { return prefix + ".observations"; }
  [[nodiscard]] std::string changelog() const { return prefix + ".hash-state-changelog"; }
  [[nodiscard]] std::string deltas() const { return prefix + ".signer-deltas"; }
  [[nodiscard]] std::string signers() const { return prefix + ".signers"; }
};

std::string tail(const std::string& s, std::size_t n = 4000) { return s.size() <= n ? s : "..." + s.substr(s.size() - n); }

std::string metrics_text(std::uint16_t port) { return ct::http_get(port, "/metrics").second; }

// Polls /metrics until `series` reaches `at_least`.
bool wait_metric(std::uint16_t port, const std::string& series, double at_least, std::chrono::seconds deadline) {
  const auto end = steady::now() + deadline;
  while (steady::now() < end) {
    if (auto v = ct::metric_value(metrics_text(port), series); v && *v >= at_least) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

bool wait_http_status(std::uint16_t port, const std::string& path, int status, std::chrono::seconds deadline) {
  const auto end = steady::now() + deadline;
  while (steady::now() < end) {
    if (ct::http_get(port, path).first == status) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// The config of an instance of `t` (also given to `countersign replay`, which ignores the
// kafka settings): client.id `client_id`, metrics on `port`, state in `state_dir`.
std::string topology_config(const run_topics& t, const std::string& client_id, std::uint16_t port,
                            const std::string& state_dir) {
  std::string cfg = ct::service_config(t.input, t.alerts, t.dead_letter, t.group, port);
  const auto replace_line = [&cfg](const std::string& line, const std::string& with) {
    const auto at = cfg.find(line);
    if (at == std::string::npos) fatal("service_config changed: no line " + line);
    cfg.replace(at, line.size(), with);
  };
  replace_line("  client_id: countersign-it\n", "  client_id: " + client_id + "\n");
  // A killed instance's partitions move once the broker stops hearing from it: 6 s
  // (the broker's minimum session timeout) rather than the default 45 s.
  replace_line("    statistics.interval.ms: \"500\"\n",
               "    statistics.interval.ms: \"500\"\n    session.timeout.ms: \"6000\"\n    heartbeat.interval.ms: \"500\"\n");
  // min_history 0s: prevalence counts from the first event, as in a fleet long past learning.
  cfg += "state:\n  dir: \"" + state_dir + "\"\nlearning:\n  min_history: 0s\n";
  cfg += "topology:\n  partitions: " + std::to_string(k_partitions) + "\n";
  if (t.prefix_is_explicit) cfg += "  topic_prefix: " + t.prefix + "\n";
  return cfg;
}

// One countersign instance of a run: its own state dir, metrics port and client.id (so its
// members can be found in the group's description). restart() starts it again on the same
// state dir, after the previous process has ended.
class instance {
 public:
  instance(const ct::temp_dir& dir, const run_topics& topics, const std::string& name)
      : dir_(dir), topics_(topics), name_(name), state_dir_(dir.path() + "/state-" + name) {
    start();
  }

  void restart() {
    if (process_ && process_->running()) fatal("restart of a running instance " + name_);
    start();
  }

  [[nodiscard]] std::string client_id() const { return "countersign-it-" + name_; }
  [[nodiscard]] const std::string& state_dir() const { return state_dir_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  ct::countersign_process& process() { return *process_; }
  void terminate() { process_->terminate(); }
  void kill() { process_->kill(); }
  std::optional<int> wait(std::chrono::milliseconds deadline = 60s) { return process_->wait(deadline); }

  [[nodiscard]] std::string logs() const {
    return "\n== " + name_ + " stderr (last lines) ==\n" + tail(process_->stderr_text()) + "\n";
  }

 private:
  void start() {
    port_ = ct::free_port();
    const std::string cfg = topology_config(topics_, client_id(), port_, state_dir_);
    const auto path = dir_.write(name_ + "-" + std::to_string(starts_++) + ".yaml", cfg);
    process_ = std::make_unique<ct::countersign_process>(std::vector<std::string>{"run", "--config", path}, dir_.path());
  }

  const ct::temp_dir& dir_;
  const run_topics& topics_;
  std::string name_;
  std::string state_dir_;
  std::uint16_t port_ = 0;
  int starts_ = 0;
  std::unique_ptr<ct::countersign_process> process_;
};

// True once all state of the input so far is published. Each stage commits its input
// only after its outputs are acknowledged, so: the input's end offsets committed means
// every observation is on its topic; the observations' means every changelog record and
// delta is; the deltas' means every signer snapshot is. Checked in that order, all in one
// pass (the input topic first, so the internal topics are only looked up, never
// auto-created by the lookup, once the instance has created them). Gives up early when
// none of `instances` is running any more (a start-up error): nothing will catch up.
bool wait_topology_caught_up(ct::kafka_client& kafka, const run_topics& t, std::chrono::seconds deadline,
                             const std::vector<instance*>& instances) {
  return kafka.wait_topology_caught_up(t.group, t.input, t.prefix, deadline, [&] {
    return std::any_of(instances.begin(), instances.end(), [](instance* i) { return i->process().running(); });
  });
}

// Polls the instance's log (stderr) until it contains `text`; false at the deadline or
// once the process has ended without logging it.
bool wait_log(instance& i, const std::string& text, std::chrono::seconds deadline) {
  const auto end = steady::now() + deadline;
  while (steady::now() < end) {
    const bool running = i.process().running();
    if (i.process().stderr_text().find(text) != std::string::npos) return true;
    if (!running) return false;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// Polls the group until each of `instances` owns at least one partition.
bool wait_all_assigned(ct::kafka_client& kafka, const std::string& group, const std::vector<const instance*>& instances,
                       std::chrono::seconds deadline, std::string& last_seen) {
  const auto end = steady::now() + deadline;
  while (steady::now() < end) {
    const auto members = kafka.group_assignment(group);
    std::ostringstream seen;
    bool all = true;
    for (const auto* i : instances) {
      std::size_t owned = 0;
      for (const auto& [client, parts] : members) {
        if (client.find(i->client_id()) != std::string::npos) owned += parts.size();
      }
      seen << i->client_id() << "=" << owned << " ";
      all = all && owned > 0;
    }
    last_seen = seen.str();
    if (all) return true;
    std::this_thread::sleep_for(250ms);
  }
  return false;
}

std::vector<std::string> assignment_of(ct::kafka_client& kafka, const std::string& group, const instance& i) {
  std::vector<std::string> out;
  for (const auto& [client, parts] : kafka.group_assignment(group)) {
    if (client.find(i.client_id()) != std::string::npos) out.insert(out.end(), parts.begin(), parts.end());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// What a run leaves behind.

using state_map = std::map<std::string, cs::prevalence_value>;

using ct::alert_summary;
alert_summary summarize(const std::string& json) { return ct::summarize_alert(json); }

// A key as text: the signer table's kind byte as "<1>", other bytes outside printable
// ASCII (the NUL between company and signer) as \xNN.
std::string printable(const std::string& key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      if (i == 0 && c <= 3) {
        std::snprintf(buf, sizeof buf, "<%u>", static_cast<unsigned>(c));
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      }
      out += buf;
    }
  }
  return out;
}

std::string describe(const cs::prevalence_value& v) {
  std::ostringstream o;
  o << "first=" << v.first_seen_ms << " last=" << v.last_seen_ms << " hosts=" << v.hosts.estimate()
    << (v.hosts.exact() ? "" : "~") << " items=" << v.items.estimate() << (v.items.exact() ? "" : "~")
    << " issuers=" << v.issuers.estimate() << " min_not_before=" << v.min_not_before_ms;
  return o.str();
}

// The final state on a topic: per key, the merge of every value on it.
state_map merge_records(const std::vector<ct::record>& records, const std::string& topic) {
  state_map out;
  for (const auto& r : records) {
    if (r.value.empty()) continue;  // a tombstone (retention dropped the record) adds nothing
    auto v = cs::prevalence_value::decode(r.value);
    if (!v) {
      ADD_FAILURE() << topic << " p" << r.partition << "@" << r.offset << " key " << printable(r.key)
                    << ": value does not decode: " << cs::to_string(v.error());
      continue;
    }
    out[r.key].merge(*v);
  }
  return out;
}

// What compaction leaves of a topic: per key, the value of its newest record (a key has
// one partition, so the highest offset). Changelog records and signer snapshots are whole
// records, so in a correct run this equals the merge of every record.
state_map newest_records(const std::vector<ct::record>& records, const std::string& topic) {
  std::map<std::string, const ct::record*> newest;
  for (const auto& r : records) {
    auto& n = newest[r.key];
    if (n == nullptr || r.offset > n->offset) n = &r;
  }
  state_map out;
  for (const auto& [key, r] : newest) {
    if (r->value.empty()) continue;
    auto v = cs::prevalence_value::decode(r->value);
    if (!v) {
      ADD_FAILURE() << topic << " p" << r->partition << "@" << r->offset << " key " << printable(key)
                    << ": value does not decode: " << cs::to_string(v.error());
      continue;
    }
    out[key] = *v;
  }
  return out;
}

// The file hashes of fleet events [begin, end).
std::set<std::string> hashes_of_events(std::size_t begin, std::size_t end) {
  static const std::string k_field = R"("hash":{"sha256":")";
  std::set<std::string> out;
  const auto& events = fleet().events;
  for (std::size_t i = begin; i < end && i < events.size(); ++i) {
    const auto at = events[i].second.find(k_field);
    if (at == std::string::npos) fatal("fleet event without a sha256: " + events[i].second);
    out.insert(events[i].second.substr(at + k_field.size(), 64));
  }
  return out;
}

struct run_outcome {
  std::set<std::string> alert_ids;
  std::set<std::string> alert_summaries;  // "detectors\thost"
  std::size_t alert_records = 0;          // with at-least-once duplicates
  std::vector<ct::record> changelog;
  std::vector<ct::record> table;
  state_map hash_state;   // changelog key (file hash) -> merged record
  state_map table_state;  // signer table key (kind byte + entity key) -> merged record
};

// Reads what the run published; call once wait_topology_caught_up has returned true.
// `min_alerts`: how many alert records to wait for (up to 30 s) before reading to the end.
run_outcome collect(ct::kafka_client& kafka, const run_topics& t, std::size_t min_alerts = fleet().expected_alert_ids) {
  run_outcome o;
  for (const auto& r : kafka.read_all(t.alerts, min_alerts, 30s)) {
    const auto s = summarize(r.value);
    EXPECT_EQ(r.key, s.host) << "alerts are keyed by host id";
    o.alert_ids.insert(s.id);
    o.alert_summaries.insert(s.detectors + "\t" + s.host);
    ++o.alert_records;
  }
  o.changelog = kafka.read_all(t.changelog(), 1, 30s);
  o.table = kafka.read_all(t.signers(), 1, 30s);
  o.hash_state = merge_records(o.changelog, t.changelog());
  o.table_state = merge_records(o.table, t.signers());
  std::cout << "run " << t.group << ": " << o.alert_records << " alert records, " << o.alert_ids.size() << " ids; "
            << o.changelog.size() << " changelog records, " << o.hash_state.size() << " keys; " << o.table.size()
            << " signer-table records, " << o.table_state.size() << " keys\n";
  return o;
}

void expect_same_state(const state_map& got, const state_map& want, const std::string& what) {
  std::vector<std::string> missing, extra, differ;
  for (const auto& [key, value] : want) {
    const auto it = got.find(key);
    if (it == got.end()) {
      missing.push_back(printable(key));
    } else if (!(it->second == value)) {
      differ.push_back(printable(key) + ": got " + describe(it->second) + "; want " + describe(value));
    }
  }
  for (const auto& [key, value] : got) {
    if (!want.contains(key)) extra.push_back(printable(key));
  }
  const auto first = [](const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < 5; ++i) out += "\n    " + v[i];
    return out;
  };
  EXPECT_TRUE(missing.empty()) << what << ": " << missing.size() << " keys missing, e.g." << first(missing);
  EXPECT_TRUE(extra.empty()) << what << ": " << extra.size() << " unexpected keys, e.g." << first(extra);
  EXPECT_TRUE(differ.empty()) << what << ": " << differ.size() << " records differ, e.g." << first(differ);
}

void expect_same_outcome(const run_outcome& got, const run_outcome& want) {
  EXPECT_FALSE(got.alert_ids.empty());
  EXPECT_EQ(got.alert_ids, want.alert_ids);
  EXPECT_EQ(got.alert_summaries, want.alert_summaries);
  EXPECT_FALSE(got.hash_state.empty());
  EXPECT_FALSE(got.table_state.empty());
  expect_same_state(got.hash_state, want.hash_state, "hash-state-changelog");
  expect_same_state(got.table_state, want.table_state, "signers");
}

// One instance over the whole fleet on `t`'s topics, to completion: caught up, then
// SIGTERM and exit 0.
void run_one_instance(ct::kafka_client& kafka, const ct::temp_dir& dir, const run_topics& t, const std::string& name) {
  produce_events(kafka, t.input, 0, fleet().events.size());
  instance one(dir, t, name);
  if (!wait_topology_caught_up(kafka, t, 120s, {&one})) fatal(name + ": the single instance did not catch up" + one.logs());
  one.terminate();
  const auto code = one.wait(60s);
  if (code != 0) fatal(name + ": exit " + (code ? std::to_string(*code) : "none within 60 s") + one.logs());
}

// The baseline: one instance, in a group (and internal topics) of its own.
run_outcome run_baseline(ct::kafka_client& kafka, const ct::temp_dir& dir) {
  run_topics t(kafka, "a", true);
  run_one_instance(kafka, dir, t, "a");
  return collect(kafka, t);
}

// The baseline is checked against the generator: the alerts the fleet was built to
// raise, the files, signers and issuers it contains, and a few exact records.
void expect_matches_fleet(const run_outcome& o) {
  const fleet_input& f = fleet();
  EXPECT_EQ(o.alert_summaries, f.expected_alerts);
  EXPECT_EQ(o.alert_ids.size(), f.expected_alert_ids) << "one id per (detectors, host, file) in the one window";

  std::set<std::string> changelog_keys;
  for (const auto& [key, value] : o.hash_state) changelog_keys.insert(key);
  EXPECT_EQ(changelog_keys, f.hashes) << "the changelog is keyed by every file's lowercase SHA-256";

  std::set<std::string> table_keys;
  std::size_t company_signers = 0;
  for (const auto& [key, value] : o.table_state) {
    ASSERT_FALSE(key.empty());
    if (key[0] == k_kind_company_signer) {
      ++company_signers;
    } else {
      table_keys.insert(key);
    }
  }
  EXPECT_EQ(table_keys, f.table_keys) << "signers as 1 + \"t:\" + thumbprint, issuers as 2 + lowercase DN";
  EXPECT_EQ(company_signers, f.signers) << "one (company, signer) record per signer";

  // Contoso: all its hosts, exactly (50 is under the exact cap); its 200 files, estimated
  // (above the cap a sketch, standard error 1.6%).
  const auto contoso = o.table_state.find(std::string(1, k_kind_signer) + "t:" + f.contoso_thumbprint);
  ASSERT_NE(contoso, o.table_state.end()) << "no record of the Contoso signer";
  const auto& c = contoso->second;
  EXPECT_TRUE(c.hosts.exact());
  EXPECT_EQ(c.hosts.estimate(), f.contoso_hosts.size()) << describe(c);
  EXPECT_NEAR(static_cast<double>(c.items.estimate()), static_cast<double>(f.contoso_hashes.size()),
              0.06 * static_cast<double>(f.contoso_hashes.size()))
      << describe(c);
  EXPECT_EQ(c.issuers.estimate(), 1u);
  EXPECT_EQ(c.first_seen_ms, f.contoso_first_ms);
  EXPECT_EQ(c.last_seen_ms, f.contoso_last_ms);
  EXPECT_EQ(c.min_not_before_ms, f.contoso_not_before_ms);

  const auto revoked = o.hash_state.find(f.revoked_hash);
  ASSERT_NE(revoked, o.hash_state.end());
  EXPECT_TRUE(revoked->second.hosts.exact());
  EXPECT_EQ(revoked->second.hosts.estimate(), 3u) << describe(revoked->second);
  EXPECT_EQ(revoked->second.first_seen_ms, f.revoked_first_ms);
}

// Records per partition, and the largest partition's share.
struct distribution {
  std::vector<std::size_t> per_partition;
  std::size_t total = 0;
  [[nodiscard]] double max_share() const {
    return total == 0 ? 0.0 : static_cast<double>(*std::max_element(per_partition.begin(), per_partition.end())) /
                                  static_cast<double>(total);
  }
};

distribution distribution_of(const std::vector<ct::record>& records, int partitions) {
  distribution d;
  d.per_partition.assign(static_cast<std::size_t>(partitions), 0);
  for (const auto& r : records) {
    if (r.partition >= 0 && r.partition < partitions) ++d.per_partition[static_cast<std::size_t>(r.partition)];
    ++d.total;
  }
  return d;
}

// The internal records of `records`: a batch record (header countersign.record: batch,
// state/record_batch.hpp) stands for each record in it, on its partition.
std::vector<ct::record> unbatched(const std::vector<ct::record>& records) {
  std::vector<ct::record> out;
  for (const auto& r : records) {
    const auto kind = r.headers.find("countersign.record");
    if (kind == r.headers.end() || kind->second != "batch") {
      out.push_back(r);
      continue;
    }
    countersign::state::record_batch_reader reader(r.value);
    std::string_view key;
    std::string_view value;
    while (reader.next(key, value)) {
      ct::record inner = r;
      inner.key = std::string(key);
      inner.value = std::string(value);
      inner.headers.erase("countersign.record");
      out.push_back(std::move(inner));
    }
    EXPECT_TRUE(reader.ok()) << "a malformed batch at " << r.partition << "@" << r.offset;
  }
  return out;
}

void print_distribution(const std::string& role, const std::string& topic, const distribution& d) {
  std::cout << "distribution " << role;
  for (std::size_t p = 0; p < d.per_partition.size(); ++p) std::cout << " p" << p << "=" << d.per_partition[p];
  char share[16];
  std::snprintf(share, sizeof share, "%.1f%%", 100.0 * d.max_share());
  std::cout << " total=" << d.total << " max_share=" << share << " (topic " << topic << ")\n";
}

}  // namespace

// Two instances sharing the work (input and internal partitions split between them from
// the start) leave exactly the alerts and the state one instance leaves.
TEST(topology, one_and_two_instances_agree) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const run_outcome one = run_baseline(kafka, dir);
  expect_matches_fleet(one);

  run_topics t(kafka, "b", true);
  instance first(dir, t, "b1");
  instance second(dir, t, "b2");
  // Both own partitions before any input arrives, so the split is what processes it.
  std::string seen;
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&first, &second}, 60s, seen))
      << "assignment: " << seen << first.logs() << second.logs();
  produce_events(kafka, t.input, 0, fleet().events.size());
  ASSERT_TRUE(wait_topology_caught_up(kafka, t, 120s, {&first, &second})) << first.logs() << second.logs();
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&first, &second}, 10s, seen))
      << "both still members at the end: " << seen << first.logs() << second.logs();
  first.terminate();
  second.terminate();
  EXPECT_EQ(first.wait(60s), 0) << first.logs();
  EXPECT_EQ(second.wait(60s), 0) << second.logs();

  const run_outcome two = collect(kafka, t);
  expect_same_outcome(two, one);
}

// One of two instances is killed (no drain, no commit) while input is streaming in; the
// survivor takes over its partitions, restores their hash state from the changelog and
// finishes with the same alerts and state as one instance alone.
TEST(topology, kill_nine_of_two_survivor_takes_over) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const run_outcome one = run_baseline(kafka, dir);

  run_topics t(kafka, "c", true);
  instance survivor(dir, t, "c1");
  instance victim(dir, t, "c2");
  std::string seen;
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&survivor, &victim}, 60s, seen))
      << "assignment: " << seen << survivor.logs() << victim.logs();

  // Six chunks about a second apart; the victim dies 100 ms after the third is sent, so
  // part of its work is consumed but not yet committed.
  const std::size_t n = fleet().events.size();
  constexpr std::size_t k_chunks = 6;
  std::vector<std::string> victim_partitions;
  bool caught_up_at_kill = false;
  for (std::size_t c = 0; c < k_chunks; ++c) {
    produce_events(kafka, t.input, c * n / k_chunks, (c + 1) * n / k_chunks);
    if (c == 2) {
      std::this_thread::sleep_for(100ms);
      victim_partitions = assignment_of(kafka, t.group, victim);
      victim.kill();
      caught_up_at_kill = kafka.group_caught_up(t.group, t.input);
      ASSERT_EQ(victim.wait(10s), -9) << victim.logs();
    }
    std::this_thread::sleep_for(1s);
  }
  ASSERT_FALSE(victim_partitions.empty()) << "the victim owned no partitions when it was killed" << victim.logs();
  std::cout << "victim owned at the kill:";
  for (const auto& p : victim_partitions) std::cout << " " << p;
  std::cout << "\ninput caught up at the kill: " << (caught_up_at_kill ? "yes" : "no") << "\n";

  ASSERT_TRUE(wait_topology_caught_up(kafka, t, 120s, {&survivor})) << survivor.logs() << victim.logs();
  const auto restored = ct::metric_value(metrics_text(survivor.port()), "countersign_state_restored_records_total");
  std::cout << "survivor restored records: " << (restored ? std::to_string(*restored) : "absent") << "\n";
  EXPECT_TRUE(restored.has_value()) << "countersign_state_restored_records_total is missing";
  survivor.terminate();
  EXPECT_EQ(survivor.wait(60s), 0) << survivor.logs();

  const run_outcome survived = collect(kafka, t);
  expect_same_outcome(survived, one);
}

// An instance whose state dir was emptied between runs rebuilds its hash state from the
// changelog (and the signer table from its topic) before it reports ready, and then
// continues as if nothing had been lost. The internal topics use the default prefix here:
// the group id.
TEST(topology, emptied_state_dir_restores_from_changelog) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const run_outcome one = run_baseline(kafka, dir);

  run_topics t(kafka, "d", false);
  const std::size_t n = fleet().events.size();
  produce_events(kafka, t.input, 0, n / 2);
  instance only(dir, t, "d");
  ASSERT_TRUE(wait_topology_caught_up(kafka, t, 120s, {&only})) << only.logs();
  only.terminate();
  ASSERT_EQ(only.wait(60s), 0) << only.logs();

  // Keep the directory, drop everything in it.
  namespace fs = std::filesystem;
  ASSERT_TRUE(fs::is_directory(only.state_dir()) && !fs::is_empty(only.state_dir()))
      << "the first run kept no state in " << only.state_dir();
  for (const auto& entry : fs::directory_iterator(only.state_dir())) fs::remove_all(entry.path());
  const auto first_half = kafka.read_all(t.changelog(), 1, 30s);
  const std::size_t first_half_keys = merge_records(first_half, t.changelog()).size();
  ASSERT_GT(first_half_keys, 0u) << "the first half left nothing on " << t.changelog();

  only.restart();
  // With no local checkpoint the restore reads every partition's changelog from its start
  // (all four are this instance's): at least one record of every key the first run wrote.
  const std::string restored_series = "countersign_state_restored_records_total";
  EXPECT_TRUE(wait_metric(only.port(), restored_series, static_cast<double>(first_half_keys), 60s))
      << "restored " << ct::metric_value(metrics_text(only.port()), restored_series).value_or(-1) << " records; the "
      << "changelog holds " << first_half.size() << " records of " << first_half_keys << " keys" << only.logs();
  EXPECT_TRUE(wait_http_status(only.port(), "/readyz", 200, 60s)) << only.logs();
  std::cout << "restored " << ct::metric_value(metrics_text(only.port()), restored_series).value_or(-1) << " records; "
            << "the changelog held " << first_half.size() << " records of " << first_half_keys << " keys\n";

  produce_events(kafka, t.input, n / 2, n);
  ASSERT_TRUE(wait_topology_caught_up(kafka, t, 120s, {&only})) << only.logs();
  only.terminate();
  EXPECT_EQ(only.wait(60s), 0) << only.logs();

  const run_outcome restored = collect(kafka, t);
  expect_same_outcome(restored, one);
}

// 80% of the input is signed by one vendor. Keying observations and the changelog by file
// hash spreads it: no partition of either holds more than half of the records. The
// distribution lines are for docs.
TEST(topology, hot_signer_does_not_concentrate_internal_topics) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  // The one-instance run of the other tests, on topics this test can read.
  run_topics t(kafka, "e", true);
  run_one_instance(kafka, dir, t, "e");
  for (const auto& topic : {t.observations(), t.changelog(), t.deltas(), t.signers()}) {
    EXPECT_EQ(kafka.topic_partitions(topic), k_partitions) << topic << ": topology.partitions";
  }

  const auto input = kafka.read_all(t.input, fleet().events.size(), 30s);
  const auto observation_records = kafka.read_all(t.observations(), 1, 30s);
  const auto changelog = kafka.read_all(t.changelog(), 1, 30s);
  const auto delta_records = kafka.read_all(t.deltas(), 1, 30s);
  const auto observations = unbatched(observation_records);
  const auto deltas = unbatched(delta_records);
  std::cout << "batches: " << observations.size() << " observations in " << observation_records.size()
            << " records, " << deltas.size() << " deltas in " << delta_records.size() << " records\n";
  // topology.batch_bytes is on by default: many observations and deltas share a record.
  EXPECT_LT(observation_records.size() * 2, observations.size());
  EXPECT_LT(delta_records.size(), deltas.size());
  const auto table = kafka.read_all(t.signers(), 1, 30s);

  const auto d_input = distribution_of(input, k_partitions);
  const auto d_observations = distribution_of(observations, k_partitions);
  const auto d_changelog = distribution_of(changelog, k_partitions);
  const auto d_deltas = distribution_of(deltas, k_partitions);
  const auto d_table = distribution_of(table, k_partitions);
  print_distribution("input", t.input, d_input);
  print_distribution("observations", t.observations(), d_observations);
  print_distribution("hash-state-changelog", t.changelog(), d_changelog);
  print_distribution("signer-deltas", t.deltas(), d_deltas);
  print_distribution("signers", t.signers(), d_table);

  std::size_t contoso_input = 0;
  for (const auto& r : input) contoso_input += r.value.find("\"subject_name\":\"" + k_contoso + "\"") != std::string::npos;
  const double share = input.empty() ? 0.0 : static_cast<double>(contoso_input) / static_cast<double>(input.size());
  std::cout << "input signer share \"" << k_contoso << "\": " << contoso_input << " of " << input.size() << " events ("
            << 100.0 * share << "%)\n";
  const std::string contoso_key = std::string(1, k_kind_signer) + "t:" + fleet().contoso_thumbprint;
  std::size_t contoso_deltas = 0;
  for (const auto& r : deltas) contoso_deltas += r.key == contoso_key;
  std::cout << "signer-deltas of \"" << k_contoso << "\": " << contoso_deltas << " of " << deltas.size()
            << " records (its events: " << contoso_input << ", unique facts of the input: " << fleet().unique_facts << ")\n";

  EXPECT_EQ(input.size(), fleet().events.size());
  EXPECT_NEAR(share, 0.8, 0.001) << "the fleet is meant to be 80% one signer";
  ASSERT_GT(d_observations.total, 0u);
  ASSERT_GT(d_changelog.total, 0u);
  EXPECT_LE(d_observations.max_share(), 0.5) << "observations are concentrated on one partition";
  EXPECT_LE(d_changelog.max_share(), 0.5) << "the changelog is concentrated on one partition";
  EXPECT_GT(contoso_deltas, 0u) << "the hot signer's deltas are keyed by store kind + signer key";
}

// History replayed into one instance's state directory reaches every instance: `replay`
// fills directory A from the first half of the fleet and marks it unpublished; `run` on A
// publishes its hash records to the changelog and its signer, issuer and (company,
// signer) records as deltas before it joins the group, then clears the mark. A second
// instance with an empty directory B shares the partitions, so it owns files whose
// first-half history only the publication brings it (by restoring the changelog), and
// signer-delta partitions whose owner must merge the published deltas into the table.
// Only the second half goes through Kafka, yet the run ends with the one-instance state
// over the whole fleet, and replay's alerts plus the run's are the baseline's.
TEST(topology, replayed_history_bootstraps_every_instance) {
  ct::temp_dir dir;
  ct::kafka_client kafka;
  const run_outcome one = run_baseline(kafka, dir);
  // The compaction view (newest record per key) check below is meaningful: it holds for
  // the baseline.
  expect_same_state(newest_records(one.changelog, "baseline changelog"), one.hash_state, "baseline changelog, newest records");
  expect_same_state(newest_records(one.table, "baseline signers"), one.table_state, "baseline signers, newest records");

  run_topics t(kafka, "f", true);
  const std::size_t n = fleet().events.size();
  const std::size_t half = n / 2;
  std::string history;
  for (std::size_t i = 0; i < half; ++i) history += fleet().events[i].second + "\n";
  const std::string history_file = dir.write("history.ndjson", history);

  // Replay the first half into instance f1's state directory, with the service's config
  // (same topology.partitions, so the local placement matches the changelog's).
  const std::string state_a = dir.path() + "/state-f1";
  const std::string replay_cfg =
      dir.write("replay.yaml", topology_config(t, "countersign-it-replay", ct::free_port(), state_a));
  const ct::run_result replayed =
      ct::run_countersign({"replay", "--config", replay_cfg, "--state-dir", state_a, history_file}, dir.path());
  ASSERT_EQ(replayed.exit_code, 0) << replayed.err;
  std::set<std::string> replay_ids;
  std::set<std::string> replay_summaries;
  {
    std::istringstream lines(replayed.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const auto s = summarize(line);
      replay_ids.insert(s.id);
      replay_summaries.insert(s.detectors + "\t" + s.host);
    }
  }
  std::cout << "replay of the first " << half << " events: " << replay_ids.size() << " alert ids; "
            << tail(replayed.err, 600) << "\n";
  ASSERT_FALSE(replay_ids.empty()) << "the first half raises alerts: " << replayed.err;
  ASSERT_LT(replay_ids.size(), one.alert_ids.size()) << "the second half must raise alerts of its own";

  // f2 (empty state) starts first and owns every partition, restored and ready, before
  // f1 publishes the replayed history: the published hash records must reach f2's
  // partitions through their owner (the observations topic), not only the changelog
  // that f2 has already finished reading.
  instance second(dir, t, "f2");
  const auto ready = [](std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ct::http_get(port, "/readyz").first == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  ASSERT_TRUE(ready(second.port())) << second.logs();
  std::string seen_alone;
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&second}, 60s, seen_alone)) << seen_alone << second.logs();
  instance first(dir, t, "f1");
  ASSERT_TRUE(wait_log(first, "records published", 60s)) << first.logs();
  ASSERT_FALSE(std::filesystem::exists(second.state_dir()) && std::filesystem::is_empty(second.state_dir()))
      << "f2 has been running on its own state dir";
  std::string seen;
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&first, &second}, 60s, seen))
      << "assignment: " << seen << first.logs() << second.logs();
  produce_events(kafka, t.input, half, n);
  ASSERT_TRUE(wait_topology_caught_up(kafka, t, 120s, {&first, &second})) << first.logs() << second.logs();
  {
    // The first half's files reached the changelog through their owners.
    std::set<std::string> keys;
    for (const auto& r : kafka.read_all(t.changelog(), 1, 30s)) keys.insert(r.key);
    for (const auto& h : hashes_of_events(0, half)) EXPECT_TRUE(keys.contains(h)) << h;
  }
  ASSERT_TRUE(wait_all_assigned(kafka, t.group, {&first, &second}, 10s, seen))
      << "both still members at the end: " << seen << first.logs() << second.logs();
  first.terminate();
  second.terminate();
  EXPECT_EQ(first.wait(60s), 0) << first.logs();
  EXPECT_EQ(second.wait(60s), 0) << second.logs();

  const std::string first_log = first.process().stderr_text();
  EXPECT_NE(first_log.find("replayed state:"), std::string::npos) << first.logs();
  EXPECT_NE(first_log.find("records published"), std::string::npos) << first.logs();
  EXPECT_EQ(first_log.find("not all acknowledged"), std::string::npos) << first.logs();
  EXPECT_EQ(second.process().stderr_text().find("replayed state:"), std::string::npos)
      << "an empty state dir has nothing to publish" << second.logs();

  const std::size_t second_half_ids = one.alert_ids.size() - replay_ids.size();
  const run_outcome run = collect(kafka, t, second_half_ids);
  std::set<std::string> ids = run.alert_ids;
  ids.insert(replay_ids.begin(), replay_ids.end());
  std::set<std::string> summaries = run.alert_summaries;
  summaries.insert(replay_summaries.begin(), replay_summaries.end());
  EXPECT_FALSE(run.alert_ids.empty());
  EXPECT_EQ(ids, one.alert_ids) << "replay's alerts plus the run's";
  EXPECT_EQ(summaries, one.alert_summaries);
  EXPECT_FALSE(run.hash_state.empty());
  EXPECT_FALSE(run.table_state.empty());
  expect_same_state(run.hash_state, one.hash_state, "hash-state-changelog");
  expect_same_state(run.table_state, one.table_state, "signers");
  // What survives compaction: the newest record of every key is complete too.
  expect_same_state(newest_records(run.changelog, t.changelog()), one.hash_state, "hash-state-changelog, newest records");
  expect_same_state(newest_records(run.table, t.signers()), one.table_state, "signers, newest records");

  // The flag was cleared: f1 alone on the same directory does not publish again.
  first.restart();
  EXPECT_TRUE(wait_http_status(first.port(), "/readyz", 200, 60s)) << first.logs();
  first.terminate();
  EXPECT_EQ(first.wait(60s), 0) << first.logs();
  EXPECT_EQ(first.process().stderr_text().find("records published"), std::string::npos)
      << "the replayed state was published a second time" << first.logs();
}
