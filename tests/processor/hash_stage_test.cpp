// The partitioned topology without Kafka: ingest forwarding, the hash stage's flush to
// changelog and deltas, the signer stage's snapshots and the global table. The central
// property: splitting the hash space over several stages and routing deltas through a
// signer stage gives the same state as one stage that sees everything.

#include "test_support.hpp"

#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/engine/partitioner.hpp>
#include <countersign/processor/engine/signer_stage.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/observation_codec.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace countersign::processor {
namespace hash_stage_test {  // one per file: the test programs are unity builds
namespace {

using test_support::config_or_fail;
using test_support::state_dir;


// A signed execution of file `file` by `signer` on `host` (ECS).
std::string run_of(int host, int file, int signer, const std::string& time = "2026-11-20T12:00:00Z") {
  char sha[65];
  std::snprintf(sha, sizeof sha, "%064x", file + 1);
  char thumb[65];
  std::snprintf(thumb, sizeof thumb, "%064x", 0xabc000 + signer);
  return R"({"@timestamp":")" + time + R"(","host":{"id":"fleet-)" + std::to_string(host) +
         R"("},"process":{"executable":"C:\\Program Files\\app\\app.exe","hash":{"sha256":")" + sha +
         R"("},"code_signature":{"exists":true,"status":"trusted","trusted":true,"subject_name":"Vendor )" +
         std::to_string(signer) + R"( Ltd","thumbprint_sha256":")" + thumb +
         R"("},"pe":{"company":"Vendor )" + std::to_string(signer) + R"( Ltd"}},)"
         R"("file":{"x509":{"issuer":{"common_name":"DigiCert Issuing CA )" + std::to_string(signer % 3) +
         R"("},"not_before":"2024-01-01T00:00:00Z","not_after":"2028-01-01T00:00:00Z"}}})";
}

// Records what a hash stage hands to the topics.
struct recording_sink final : state_sink {
  std::vector<std::tuple<std::int32_t, std::string, std::string>> changelog_records;
  std::vector<std::pair<std::string, std::string>> deltas;  // topic key, delta
  void changelog(std::int32_t partition, std::string_view key, std::string_view record) override {
    changelog_records.emplace_back(partition, std::string(key), std::string(record));
  }
  void delta(state::store_kind kind, std::string_view key, std::string_view d) override {
    deltas.emplace_back(entity_topic_key(kind, key), std::string(d));
  }
};

TEST(topology, ingest_forwards_each_new_fact_once_keyed_and_partitioned_by_file_hash) {
  const config cfg = config_or_fail("topology: {partitions: 4}\n");
  pipeline ingest(cfg, forward_mode);
  ingest.set_partitions(4);
  std::vector<forwarded_observation> sent;
  const auto feed = [&](const std::string& line, std::int64_t offset) {
    const auto res = ingest.process(line, {"in", 0, offset}, 1'800'000'000'000, static_cast<std::uint64_t>(offset));
    EXPECT_EQ(res.forwarded, ingest.forwards().size());
    for (const auto& f : ingest.forwards()) sent.push_back(f);
  };
  feed(run_of(1, 7, 1), 0);
  feed(run_of(1, 7, 1, "2026-11-20T12:30:00Z"), 1);  // a repeat within the window
  feed(run_of(2, 7, 1), 2);
  feed(run_of(1, 8, 1), 3);
  ASSERT_EQ(sent.size(), 3U);
  EXPECT_EQ(ingest.stats().repeats, 1U);
  EXPECT_EQ(ingest.stats().forwarded, 3U);
  rules::observation decoded;
  for (const auto& f : sent) {
    EXPECT_EQ(f.key.size(), 64U);
    EXPECT_EQ(f.partition, kafka_partition(f.key, 4));
    ASSERT_TRUE(rules::decode_observation(f.record, decoded).has_value());
    EXPECT_EQ(rules::file_key(decoded), f.key);
    EXPECT_EQ(decoded.source.topic, "in");
  }
  EXPECT_EQ(sent[1].record.find("fleet-2") != std::string::npos, true);
}

TEST(topology, hash_stage_flush_sends_whole_hash_records_and_combined_entity_deltas) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  const config cfg = config_or_fail("learning: {min_history: 0s}\n");
  pipeline ingest(cfg, forward_mode);
  ingest.set_partitions(4);
  hash_stage stage(cfg, store.get());
  for (int host = 1; host <= 3; ++host) {
    (void)ingest.process(run_of(host, 7, 1), {"in", 0, host}, 1'800'000'000'000, 0);
    for (const auto& f : ingest.forwards()) {
      EXPECT_EQ(stage.process(f.record, f.partition, 0, 1'800'000'000'000), outcome::no_alert);
    }
  }
  recording_sink sink;
  auto sent = stage.flush(&sink);
  ASSERT_TRUE(sent.has_value()) << sent.error();
  // One changelog record for the one file, holding all three hosts.
  ASSERT_EQ(sink.changelog_records.size(), 1U);
  const auto& [partition, key, record] = sink.changelog_records[0];
  EXPECT_EQ(partition, kafka_partition(key, 4));
  auto value = state::prevalence_value::decode(record);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->view().hosts, 3U);
  // Three hosts' facts combined into one delta per signer, issuer and (company, signer).
  EXPECT_EQ(sink.deltas.size(), 3U);
  std::set<state::store_kind> kinds;
  for (const auto& [topic_key, d] : sink.deltas) {
    const auto entity = parse_entity_key(topic_key);
    ASSERT_TRUE(entity.has_value());
    kinds.insert(entity->kind);
    EXPECT_EQ(state::prevalence_value::decode(d)->view().hosts, 3U);
  }
  EXPECT_EQ(kinds.size(), 3U);
  EXPECT_EQ(*sent, 4U);
  // The instance sees its own signer facts at once, before any snapshot comes back.
  const auto signer = store->signer("t:" + std::string(58, '0') + "abc001");
  ASSERT_TRUE(signer.has_value());
  EXPECT_EQ(signer->hosts, 3U);
  // Nothing new: nothing to send.
  recording_sink again;
  EXPECT_EQ(stage.flush(&again).value_or(99), 0U);
  EXPECT_TRUE(again.changelog_records.empty());
}

TEST(topology, judged_locally_the_combined_state_is_written_whenever_combine_max_keys_is_reached) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("state: {combine_max_keys: 10}\n"), store.get());
  for (int file = 0; file < 100; ++file) {
    (void)p.process(run_of(1, file, 1), {"in", 0, file}, std::nullopt, 0);
  }
  // Without flush_state(): memory holds at most 10 pending keys, the rest is on disk.
  int on_disk = 0;
  for (int file = 0; file < 100; ++file) {
    char sha[65];
    std::snprintf(sha, sizeof sha, "%064x", file + 1);
    if (store->get_any_partition(state::store_kind::hash, sha)) ++on_disk;
  }
  EXPECT_GE(on_disk, 90);
}

TEST(abused_certificate_lists, a_listed_thumbprint_alerts_and_a_broken_list_is_reported_not_fatal) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("countersign-intel-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  char thumb[65];
  std::snprintf(thumb, sizeof thumb, "%064x", 0xabc000 + 5);
  {
    std::ofstream list(dir + "/abusech.csv");
    list << "# abuse.ch Code Signing Certificate Blocklist (test copy)\n"
         << "\"2026-10-01 08:00:00\",\"7a1c\",\"" << thumb << "\",\"SHA256\",\"TestStealer\"\n";
    std::ofstream broken(dir + "/broken.json");
    broken << "{ not json";
  }
  const config cfg = config_or_fail("detectors:\n  abused_certificate:\n    lists:\n      - {path: \"" + dir +
                                    "/abusech.csv\", format: abusech-csv}\n      - {path: \"" + dir +
                                    "/broken.json\", format: abusech-json}\n");
  ASSERT_EQ(cfg.intel_lists.size(), 2U);
  pipeline p(cfg);
  ASSERT_NE(p.local(), nullptr);
  const auto& report = p.local()->initial_intel_report();
  EXPECT_EQ(report.records, 1U);
  ASSERT_EQ(report.errors.size(), 1U);
  EXPECT_NE(report.errors[0].file.find("broken.json"), std::string::npos);
  (void)p.process(run_of(1, 3, 5), {"in", 0, 1}, std::nullopt, 0);
  ASSERT_EQ(p.alerts().size(), 1U);
  EXPECT_NE(p.alerts()[0].json.find("cs.intel.abused_certificate"), std::string::npos) << p.alerts()[0].json;
  EXPECT_NE(p.alerts()[0].json.find("TestStealer"), std::string::npos);
  (void)p.process(run_of(1, 4, 6), {"in", 0, 2}, std::nullopt, 0);
  EXPECT_TRUE(p.alerts().empty()) << "another signer is not on the list";
  std::filesystem::remove_all(dir);
}

// Processing threads share one shared_intel_library: one of them reads a changed list,
// the others take the list it built (each reports it once, as a change).
TEST(abused_certificate_lists, threads_sharing_the_lists_take_a_list_another_thread_read) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("countersign-intel-shared-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const auto write_list = [&](int entries) {
    std::ofstream list(dir + "/abusech.csv");
    for (int i = 0; i < entries; ++i) {
      char thumb[65];
      std::snprintf(thumb, sizeof thumb, "%064x", 0xdef000 + i);
      list << "\"2026-10-01 08:00:00\",\"7a1c\",\"" << thumb << "\",\"SHA256\",\"TestStealer\"\n";
    }
  };
  write_list(1);
  const config cfg = config_or_fail("detectors:\n  abused_certificate:\n    reload_interval: 1s\n    lists:\n"
                                    "      - {path: \"" + dir + "/abusech.csv\", format: abusech-csv}\n");
  auto shared = std::make_shared<shared_intel_library>(cfg.intel_lists);
  hash_stage first(cfg, nullptr, shared);
  hash_stage second(cfg, nullptr, shared);
  EXPECT_TRUE(first.initial_intel_report().changed);
  EXPECT_TRUE(second.initial_intel_report().changed) << "the list the first thread read is new to the second";
  EXPECT_EQ(first.initial_intel_report().records, 1U);
  EXPECT_EQ(second.initial_intel_report().records, 1U);

  write_list(3);  // another size: the watcher sees the change
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // past half the 1 s interval
  const auto read = first.reload_intel();
  EXPECT_TRUE(read.changed);
  EXPECT_EQ(read.records, 3U);
  const auto taken = second.reload_intel();
  EXPECT_TRUE(taken.changed) << "the second thread takes the list the first one read";
  EXPECT_EQ(taken.records, 3U);
  const auto again = second.reload_intel();
  EXPECT_FALSE(again.changed) << "a list is taken once";
  std::filesystem::remove_all(dir);
}

TEST(abused_certificate_lists, a_list_without_path_or_with_an_unknown_format_is_a_config_error) {
  const auto bad = parse_config("detectors:\n  abused_certificate:\n    lists: [{path: x.csv, format: csv}]\n", "t.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().find("detectors.abused_certificate.lists[0]"), std::string::npos) << bad.error();
}

TEST(topology, entity_keys_name_a_global_store_or_are_rejected) {
  EXPECT_FALSE(parse_entity_key("").has_value());
  EXPECT_FALSE(parse_entity_key(std::string(1, '\x01')).has_value()) << "a kind without a key";
  EXPECT_FALSE(parse_entity_key(entity_topic_key(state::store_kind::hash, "abc")).has_value());
  EXPECT_FALSE(parse_entity_key("\x09xyz").has_value());
  const std::string topic_key = entity_topic_key(state::store_kind::issuer, "cn=ca");  // e views into it
  const auto e = parse_entity_key(topic_key);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, state::store_kind::issuer);
  EXPECT_EQ(e->key, "cn=ca");
}

TEST(topology, the_global_table_keeps_its_offsets_and_skips_records_that_do_not_decode) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  signer_stage table(*store);
  EXPECT_FALSE(table.table_offset(0).has_value());
  state::prevalence_value v;
  v.first_seen_ms = v.last_seen_ms = 1'800'000'000'000;
  v.hosts.insert(42);
  std::string encoded;
  v.encode(encoded);
  EXPECT_TRUE(table.apply_snapshot(0, 11, entity_topic_key(state::store_kind::signer, "t:1"), encoded));
  EXPECT_FALSE(table.apply_snapshot(0, 12, entity_topic_key(state::store_kind::signer, "t:2"), "\xff\xff"));
  EXPECT_FALSE(table.apply_snapshot(1, 5, "\x07nope", encoded));
  ASSERT_TRUE(table.commit_snapshots().has_value());
  EXPECT_EQ(table.table_offset(0), 12) << "a skipped record is consumed too";
  EXPECT_EQ(table.table_offset(1), 5);
  EXPECT_EQ(store->signer("t:1")->hosts, 1U);
  EXPECT_FALSE(store->signer("t:2").has_value());
}

// The whole state of a store's global table and hash partitions, for comparison.
std::map<std::string, state::prevalence_value> dump(const state::prevalence_store& store,
                                                   const std::vector<std::string>& hashes,
                                                   const std::vector<std::string>& entity_keys) {
  std::map<std::string, state::prevalence_value> out;
  for (const auto& h : hashes) {
    if (auto v = store.get_any_partition(state::store_kind::hash, h)) out.emplace("h/" + h, *v);
  }
  for (const auto& k : entity_keys) {
    const auto e = parse_entity_key(k);
    if (auto v = store.get(e->kind, state::k_global_partition, e->key)) out.emplace("e/" + k, *v);
  }
  return out;
}

TEST(topology, two_hash_stages_and_a_signer_stage_reach_the_state_of_one_stage) {
  const config cfg = config_or_fail("learning: {min_history: 0s}\nstate: {combine_max_keys: 7}\n");
  constexpr std::int32_t k_partitions = 4;
  std::mt19937 rng(3);
  std::vector<std::string> lines;
  for (int i = 0; i < 600; ++i) {
    // 80% of executions from one signer, the rest spread over 20.
    const int signer = rng() % 10 < 8 ? 0 : 1 + static_cast<int>(rng() % 20);
    lines.push_back(run_of(static_cast<int>(rng() % 40), static_cast<int>(rng() % 90) + signer * 1000, signer,
                           "2026-11-20T1" + std::to_string(rng() % 10) + ":00:00Z"));
  }
  pipeline ingest(cfg, forward_mode);
  ingest.set_partitions(k_partitions);
  std::vector<forwarded_observation> observations;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    (void)ingest.process(lines[i], {"in", 0, static_cast<std::int64_t>(i)}, 1'800'000'000'000, 0);
    for (const auto& f : ingest.forwards()) observations.push_back(f);
  }
  ASSERT_GT(observations.size(), 300U);

  // One stage for every partition.
  state_dir one_dir;
  auto one = one_dir.open();
  hash_stage single(cfg, one.get());
  recording_sink single_sink;
  for (const auto& f : observations) (void)single.process(f.record, f.partition, 0, 1'800'000'000'000);
  ASSERT_TRUE(single.flush(&single_sink).has_value());

  // Two instances: partitions split by parity, each with its own store; the deltas of
  // both go to one signer stage (on instance A), whose snapshots every table applies.
  state_dir a_dir, b_dir;
  auto a = a_dir.open();
  auto b = b_dir.open();
  hash_stage stage_a(cfg, a.get());
  hash_stage stage_b(cfg, b.get());
  recording_sink sink_a, sink_b;
  std::size_t n = 0;
  for (const auto& f : observations) {
    auto& stage = f.partition % 2 == 0 ? stage_a : stage_b;
    (void)stage.process(f.record, f.partition, 0, 1'800'000'000'000);
    if (++n % 50 == 0) {  // flushes at different moments than the single stage
      ASSERT_TRUE(stage_a.flush(&sink_a).has_value());
      ASSERT_TRUE(stage_b.flush(&sink_b).has_value());
    }
  }
  ASSERT_TRUE(stage_a.flush(&sink_a).has_value());
  ASSERT_TRUE(stage_b.flush(&sink_b).has_value());
  std::vector<std::pair<std::string, std::string>> deltas = sink_a.deltas;
  deltas.insert(deltas.end(), sink_b.deltas.begin(), sink_b.deltas.end());
  std::shuffle(deltas.begin(), deltas.end(), rng);
  signer_stage owner(*a);
  std::vector<std::pair<std::string, std::string>> snapshots;
  for (std::size_t i = 0; i < deltas.size(); ++i) {
    ASSERT_TRUE(owner.apply_delta(deltas[i].first, deltas[i].second));
    if (i % 13 == 0) {
      ASSERT_TRUE(owner.flush([&](std::string_view k, std::string_view r) { snapshots.emplace_back(k, r); }).has_value());
    }
  }
  ASSERT_TRUE(owner.flush([&](std::string_view k, std::string_view r) { snapshots.emplace_back(k, r); }).has_value());
  signer_stage table_b(*b);
  for (std::size_t i = 0; i < snapshots.size(); ++i) {
    ASSERT_TRUE(table_b.apply_snapshot(0, static_cast<std::int64_t>(i + 1), snapshots[i].first, snapshots[i].second));
  }
  ASSERT_TRUE(table_b.commit_snapshots().has_value());

  std::vector<std::string> hashes;
  for (const auto& f : observations) hashes.push_back(f.key);
  std::vector<std::string> entities;
  for (const auto& [k, d] : single_sink.deltas) entities.push_back(k);
  const auto expected = dump(*one, hashes, entities);
  ASSERT_FALSE(expected.empty());
  // Hashes: each instance has its own partitions; together they are the single stage's.
  std::map<std::string, state::prevalence_value> split;
  for (const auto& h : hashes) {
    auto va = a->get_any_partition(state::store_kind::hash, h);
    auto vb = b->get_any_partition(state::store_kind::hash, h);
    EXPECT_FALSE(va && vb) << "a hash lives in one partition, owned by one instance: " << h;
    if (va) split.emplace("h/" + h, *va);
    if (vb) split.emplace("h/" + h, *vb);
  }
  // Signers and issuers: both instances' global tables equal the single stage's.
  for (const auto* s : {a.get(), b.get()}) {
    const auto table = dump(*s, {}, entities);
    for (const auto& [k, v] : table) split["table/" + k] = v;
    for (const auto& [k, v] : expected) {
      if (k.starts_with("e/")) {
        EXPECT_EQ(table.at(k), v) << k;
      }
    }
    EXPECT_EQ(table.size(), entities.size());
  }
  for (const auto& [k, v] : expected) {
    if (k.starts_with("h/")) {
      EXPECT_EQ(split.at(k), v) << k;
    }
  }
  // The hot signer's deltas were combined: far fewer messages than its executions.
  const auto hot = std::count_if(deltas.begin(), deltas.end(), [](const auto& d) {
    return parse_entity_key(d.first)->kind == state::store_kind::signer && d.first.ends_with("abc000");
  });
  EXPECT_LT(hot, 40) << "one delta per flush per instance, not one per execution";
}

}  // namespace
}  // namespace hash_stage_test
}  // namespace countersign::processor
