// The certificate join (hash_stage.hpp): Defender execution rows (DeviceProcessEvents,
// DeviceImageLoadEvents) carry no signer columns; DeviceFileCertificateInfo carries the
// signer of a file by SHA-1. Both key by SHA-1, meet in the hash record of that key, in
// either order, across a restart of the process and across instances.
//
// Rows are shaped like the Microsoft Learn schemas of those tables (the columns the
// profile reads), written here.

#include "test_support.hpp"

#include <countersign/processor/engine/hash_stage.hpp>
#include <countersign/processor/engine/partitioner.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/observation_codec.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace countersign::processor {
namespace certificate_join_test {  // one per file: the test programs are unity builds
namespace {

using test_support::config_or_fail;
using test_support::detector_ids;
using test_support::state_dir;

constexpr std::string_view k_sha1 = "5D6A1C3E2B4F60718293A4B5C6D7E8F901234567";
constexpr std::string_view k_sha256 = "9f0e1d2c3b4a59687766554433221100ffeeddccbbaa99887766554433221100";

// A DeviceProcessEvents row: the file, its host and path, no signer facts.
std::string process_row(const std::string& time, const std::string& device = "ws-12.corp.example",
                        std::string_view sha1 = k_sha1) {
  return R"({"Timestamp":")" + time + R"(","DeviceId":"dev-)" + device + R"(","DeviceName":")" + device +
         R"(","ActionType":"ProcessCreated","FileName":"updater.exe",)"
         R"("FolderPath":"C:\\Users\\bob\\AppData\\Local\\Temp\\updater.exe",)"
         R"("SHA1":")" + std::string(sha1) + R"(","SHA256":")" + std::string(k_sha256) +
         R"(","MD5":"00112233445566778899aabbccddeeff","ProcessCommandLine":"updater.exe /silent",)"
         R"("ProcessVersionInfoCompanyName":"Northwind Software","AccountName":"bob",)"
         R"("InitiatingProcessFileName":"explorer.exe","InitiatingProcessSignatureStatus":"Valid","ReportId":77})";
}

// A DeviceImageLoadEvents row: the DLL and the process that loaded it.
std::string image_load_row(const std::string& time) {
  return R"({"Timestamp":")" + time + R"(","DeviceId":"dev-ws-12","DeviceName":"ws-12.corp.example",)"
         R"("ActionType":"ImageLoaded","FileName":"helper.dll",)"
         R"("FolderPath":"C:\\Users\\bob\\AppData\\Local\\Temp\\helper.dll","SHA1":")" +
         std::string(k_sha1) +
         R"(","InitiatingProcessFolderPath":"c:\\users\\bob\\appdata\\local\\temp\\updater.exe",)"
         R"("InitiatingProcessFileName":"updater.exe","ReportId":78})";
}

// A DeviceFileCertificateInfo row for the same SHA-1: the signer, revoked.
std::string certificate_row(const std::string& time, const std::string& state = "Revoked") {
  return R"({"Timestamp":")" + time + R"(","DeviceId":"dev-ws-30","DeviceName":"ws-30.corp.example",)"
         R"("SHA1":")" + std::string(k_sha1) +
         R"(","IsSigned":true,"SignatureType":"Embedded","Signer":"Northwind Software Ltd",)"
         R"("SignerHash":"1122334455667788990011223344556677889900","Issuer":"Example Code Signing CA 2021",)"
         R"("IssuerHash":"aa22334455667788990011223344556677889900","CertificateSerialNumber":"0F1E2D3C",)"
         R"("CertificateCreationTime":"2026-01-05T00:00:00Z","CertificateExpirationTime":"2028-01-05T00:00:00Z",)"
         R"("IsTrusted":false,"SignatureState":")" + state + R"(","IsRootSignerMicrosoft":false,"ReportId":91})";
}

// A DeviceFileCertificateInfo row of an unsigned file.
std::string unsigned_certificate_row(const std::string& time) {
  return R"({"Timestamp":")" + time + R"(","DeviceId":"dev-ws-30","DeviceName":"ws-30.corp.example",)"
         R"("SHA1":")" + std::string(k_sha1) +
         R"(","IsSigned":false,"Signer":"","Issuer":"","CertificateSerialNumber":"","IsTrusted":false,"ReportId":92})";
}

config join_config(const std::string& extra = "") {
  return config_or_fail("learning: {min_history: 0s}\n" + extra);
}

// A pipeline replaying into its own state directory (opened again by `restart`).
struct stateful_pipeline {
  state_dir dir;
  std::unique_ptr<state::prevalence_store> store;
  std::unique_ptr<pipeline> p;
  explicit stateful_pipeline(const std::string& extra = "") : extra_(extra) { restart(); }
  void restart() {
    p.reset();
    store.reset();
    store = dir.open();
    if (store) p = std::make_unique<pipeline>(join_config(extra_), store.get());
  }

 private:
  std::string extra_;
};

// The alert of the execution row (it names the process path), if any.
const emitted_alert* execution_alert(std::span<const emitted_alert> alerts) {
  for (const auto& a : alerts) {
    if (a.json.find("updater.exe") != std::string::npos || a.json.find("helper.dll") != std::string::npos) return &a;
  }
  return nullptr;
}

TEST(certificate_join, defender_rows_of_one_file_share_the_sha1_key_whatever_other_hashes_they_carry) {
  pipeline a(join_config(), forward_mode);
  pipeline b(join_config(), forward_mode);
  (void)a.process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1);
  (void)b.process(certificate_row("2026-11-20T10:01:00Z"), {"t", 0, 1}, std::nullopt, 2);
  ASSERT_EQ(a.forwards().size(), 1U) << "an execution row without signer facts goes on to wait for its certificate";
  ASSERT_EQ(b.forwards().size(), 1U);
  const std::string key = "sha1:5d6a1c3e2b4f60718293a4b5c6d7e8f901234567";
  EXPECT_EQ(a.forwards()[0].key, key) << "not the SHA-256 the row also carries";
  EXPECT_EQ(b.forwards()[0].key, key);
  EXPECT_EQ(a.forwards()[0].partition, b.forwards()[0].partition);
}

TEST(certificate_join, without_the_join_an_execution_row_without_signer_facts_is_out_of_scope) {
  pipeline fwd(join_config("input: {certificate_join: {enabled: false}}\n"), forward_mode);
  const auto r = fwd.process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1);
  EXPECT_EQ(r.kind, outcome::out_of_scope);
  EXPECT_TRUE(fwd.forwards().empty());
}

TEST(certificate_join, certificate_first_then_execution_is_judged_with_the_certificate) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  (void)p.process(certificate_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1);
  const auto r = p.process(process_row("2026-11-20T10:05:00Z"), {"t", 0, 1}, std::nullopt, 2);
  EXPECT_EQ(r.kind, outcome::alert);
  EXPECT_EQ(r.deferred, 0U);
  const emitted_alert* a = execution_alert(p.alerts());
  ASSERT_NE(a, nullptr);
  EXPECT_FALSE(a->deferred);
  EXPECT_NE(detector_ids(a->json).find("cs.signature.revoked"), std::string::npos) << a->json;
  EXPECT_NE(a->json.find("Northwind Software Ltd"), std::string::npos) << "the certificate row's signer";
  EXPECT_NE(a->json.find("ws-12.corp.example"), std::string::npos) << "the execution row's host";
  EXPECT_EQ(p.stats().certificate_join.joined, 1U);
}

TEST(certificate_join, execution_first_waits_and_is_judged_when_the_certificate_row_comes) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  const auto held = p.process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 7);
  EXPECT_EQ(held.kind, outcome::held);
  EXPECT_EQ(held.deferred, 0U) << "it waits in state; its message is done";
  EXPECT_EQ(execution_alert(p.alerts()), nullptr);
  EXPECT_EQ(p.stats().certificate_join.held, 1U);

  const auto released = p.process(certificate_row("2026-11-20T10:03:00Z"), {"t", 0, 1}, std::nullopt, 8);
  EXPECT_EQ(released.kind, outcome::alert);
  const emitted_alert* a = execution_alert(p.alerts());
  ASSERT_NE(a, nullptr) << "judged when the certificate row came";
  EXPECT_EQ(a->token, 8U) << "with the certificate row's message";
  EXPECT_NE(detector_ids(a->json).find("cs.signature.revoked"), std::string::npos) << a->json;
  EXPECT_NE(a->json.find("ws-12.corp.example"), std::string::npos) << "the execution row's host";
  EXPECT_EQ(p.stats().certificate_join.joined_late, 1U);
  // Judged once: the record no longer holds it.
  (void)p.process(certificate_row("2026-11-20T10:04:00Z", "Revoked"), {"t", 0, 2}, std::nullopt, 9);
  EXPECT_EQ(p.stats().certificate_join.joined_late, 1U);
}

TEST(certificate_join, an_image_load_row_joins_like_a_process_row) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  EXPECT_EQ(p.process(image_load_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 3).kind, outcome::held);
  (void)p.process(certificate_row("2026-11-20T10:00:30Z"), {"t", 0, 1}, std::nullopt, 4);
  ASSERT_NE(execution_alert(p.alerts()), nullptr);
}

TEST(certificate_join, an_unsigned_certificate_row_releases_the_execution_without_an_alert) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  EXPECT_EQ(p.process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 5).kind, outcome::held);
  (void)p.process(unsigned_certificate_row("2026-11-20T10:00:10Z"), {"t", 0, 1}, std::nullopt, 6);
  EXPECT_EQ(execution_alert(p.alerts()), nullptr);
  EXPECT_EQ(p.stats().certificate_join.joined_late, 1U) << "the row said: unsigned";
  EXPECT_EQ(p.stats().certificate_join.unmatched, 0U);
}

TEST(certificate_join, a_row_older_than_the_wait_when_its_certificate_comes_is_unmatched) {
  stateful_pipeline run("input: {certificate_join: {wait: 5m}}\n");
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  EXPECT_EQ(p.process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1).kind, outcome::held);
  EXPECT_EQ(p.process(process_row("2026-11-20T10:04:00Z", "ws-13.corp.example"), {"t", 0, 1}, std::nullopt, 2).kind,
            outcome::held);
  (void)p.process(certificate_row("2026-11-20T10:06:00Z"), {"t", 0, 2}, std::nullopt, 3);
  EXPECT_EQ(p.stats().certificate_join.unmatched, 1U) << "six minutes is past the wait";
  EXPECT_EQ(p.stats().certificate_join.joined_late, 1U) << "two minutes is not";
  const emitted_alert* a = execution_alert(p.alerts());
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->json.find("ws-13.corp.example"), std::string::npos);
}

TEST(certificate_join, a_file_keeps_a_bounded_number_of_waiting_rows) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  const std::size_t rows = state::prevalence_value::k_max_pending + 4;
  for (std::size_t i = 0; i < rows; ++i) {
    (void)p.process(process_row("2026-11-20T10:00:0" + std::to_string(i % 10) + "Z", "ws-" + std::to_string(100 + i)),
                    {"t", 0, static_cast<std::int64_t>(i)}, std::nullopt, i);
  }
  const auto& j = p.stats().certificate_join;
  EXPECT_EQ(j.held + j.evicted, rows);
  EXPECT_GE(j.held, state::prevalence_value::k_max_pending);
  (void)p.process(certificate_row("2026-11-20T10:01:00Z"), {"t", 0, 99}, std::nullopt, 99);
  EXPECT_EQ(p.stats().certificate_join.joined_late, state::prevalence_value::k_max_pending)
      << "the record keeps the first rows in its order, at most k_max_pending";
}

// The certificate is state: a restarted process (same state directory) joins an
// execution row that comes after the restart.
TEST(certificate_join, a_certificate_seen_before_a_restart_joins_an_execution_after_it) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  (void)run.p->process(certificate_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1);
  run.p->flush_state();
  run.restart();
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  const auto r = p.process(process_row("2026-11-20T11:00:00Z"), {"t", 0, 1}, std::nullopt, 2);
  EXPECT_EQ(r.deferred, 0U);
  ASSERT_NE(execution_alert(p.alerts()), nullptr);
  EXPECT_EQ(p.stats().certificate_join.joined, 1U);
}

// A row that came first waits in the file's hash record, so it outlives the process.
TEST(certificate_join, an_execution_waiting_across_a_restart_joins_when_the_certificate_comes) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  EXPECT_EQ(run.p->process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1).kind, outcome::held);
  run.p->flush_state();
  run.restart();  // the waiting row is in the state directory
  ASSERT_NE(run.p, nullptr);
  pipeline& p = *run.p;
  const auto r = p.process(certificate_row("2026-11-20T10:02:00Z"), {"t", 1, 0}, std::nullopt, 2);
  EXPECT_EQ(r.kind, outcome::alert);
  const emitted_alert* a = execution_alert(p.alerts());
  ASSERT_NE(a, nullptr);
  EXPECT_NE(a->json.find("ws-12.corp.example"), std::string::npos);
}

// Two instances: one ingests the certificate row, the other the execution row; both
// forward to the owner of the SHA-1's partition, whose hash stage joins them, in either
// order, and the join survives the partition moving to a third instance (its hash
// records restored from what the first owner flushed, as the changelog carries them).
class forwarded_records {
 public:
  struct record {
    std::int32_t partition;
    std::string key;
    std::string bytes;
  };
  void ingest(pipeline& instance, const std::string& row, std::uint64_t token) {
    (void)instance.process(row, {"t", 0, static_cast<std::int64_t>(token)}, std::nullopt, token);
    for (const auto& f : instance.forwards()) records_.push_back({f.partition, f.key, f.record});
  }
  [[nodiscard]] const std::vector<record>& records() const { return records_; }

 private:
  std::vector<record> records_;
};

struct changelog_capture final : state_sink {
  std::vector<std::pair<std::string, std::string>> hash_records;
  void changelog(std::int32_t, std::string_view key, std::string_view record) override {
    hash_records.emplace_back(key, record);
  }
  void delta(state::store_kind, std::string_view, std::string_view) override {}
};

TEST(certificate_join, two_ingest_instances_meet_in_the_owner_of_the_partition_in_either_order) {
  const config cfg = join_config("topology: {partitions: 8}\n");
  for (const bool certificate_first : {true, false}) {
    SCOPED_TRACE(certificate_first ? "certificate first" : "execution first");
    pipeline a(cfg, forward_mode);
    pipeline b(cfg, forward_mode);
    forwarded_records topic;
    if (certificate_first) {
      topic.ingest(b, certificate_row("2026-11-20T10:00:00Z"), 10);
      topic.ingest(a, process_row("2026-11-20T10:01:00Z"), 11);
    } else {
      topic.ingest(a, process_row("2026-11-20T10:00:00Z"), 11);
      topic.ingest(b, certificate_row("2026-11-20T10:01:00Z"), 10);
    }
    ASSERT_EQ(topic.records().size(), 2U);
    ASSERT_EQ(topic.records()[0].partition, topic.records()[1].partition);

    state_dir dir;
    auto store = dir.open();
    ASSERT_NE(store, nullptr);
    hash_stage owner(cfg, store.get());
    std::vector<std::uint64_t> alerted_tokens;
    for (const auto& r : topic.records()) {
      const std::uint64_t token = r.bytes.find("updater.exe") != std::string::npos ? 11 : 10;
      (void)owner.process(r.bytes, r.partition, token, std::nullopt);
      for (const auto& alert : owner.alerts()) {
        if (alert.json.find("updater.exe") != std::string::npos) alerted_tokens.push_back(alert.token);
      }
    }
    // The alert goes with the second row's message: the execution's, or the certificate's
    // that released it.
    EXPECT_EQ(alerted_tokens, std::vector<std::uint64_t>{certificate_first ? 11U : 10U});
    EXPECT_EQ(owner.stats().certificate_join.joined + owner.stats().certificate_join.joined_late, 1U);
  }
}

// The first row's owner flushes (the changelog gets the hash record); the partition moves
// to an owner with an empty state directory that restores it; the second row comes there.
TEST(certificate_join, either_row_moves_with_the_partition_through_the_changelog) {
  const config cfg = join_config("topology: {partitions: 8}\n");
  for (const bool certificate_first : {true, false}) {
    SCOPED_TRACE(certificate_first ? "certificate first" : "execution first");
    pipeline ingest(cfg, forward_mode);
    forwarded_records topic;
    topic.ingest(ingest, certificate_first ? certificate_row("2026-11-20T10:00:00Z") : process_row("2026-11-20T10:00:00Z"), 1);
    ASSERT_EQ(topic.records().size(), 1U);
    const std::int32_t partition = topic.records()[0].partition;

    changelog_capture changelog;
    {
      state_dir first_dir;
      auto store = first_dir.open();
      ASSERT_NE(store, nullptr);
      hash_stage first_owner(cfg, store.get());
      (void)first_owner.process(topic.records()[0].bytes, partition, 1, std::nullopt);
      ASSERT_TRUE(first_owner.flush(&changelog).has_value());
    }
    ASSERT_EQ(changelog.hash_records.size(), 1U);

    state_dir next_dir;
    auto store = next_dir.open();
    ASSERT_NE(store, nullptr);
    for (const auto& [key, record] : changelog.hash_records) store->add_encoded(state::store_kind::hash, partition, key, record);
    ASSERT_TRUE(store->commit().has_value());
    hash_stage next_owner(cfg, store.get());
    topic.ingest(ingest, certificate_first ? process_row("2026-11-20T10:30:00Z") : certificate_row("2026-11-20T10:30:00Z"), 2);
    ASSERT_EQ(topic.records().size(), 2U);
    EXPECT_EQ(next_owner.process(topic.records()[1].bytes, partition, 2, std::nullopt), outcome::alert);
    EXPECT_NE(execution_alert(next_owner.alerts()), nullptr);
    EXPECT_EQ(next_owner.stats().certificate_join.joined + next_owner.stats().certificate_join.joined_late, 1U);
  }
}


// The certificate row released the waiting row and its state reached the store, but the
// process died before the alerts were acknowledged, so the certificate row's message is
// delivered again: the released rows are still in the record under that row's offset
// and are judged again (same alert id). Once the offset is committed, the next row of
// the file clears them.
TEST(certificate_join, a_certificate_row_delivered_again_after_a_crash_judges_the_rows_it_released_again) {
  const config cfg = join_config("topology: {partitions: 8}\n");
  pipeline ingest(cfg, forward_mode);
  forwarded_records topic;
  topic.ingest(ingest, process_row("2026-11-20T10:00:00Z"), 1);
  topic.ingest(ingest, certificate_row("2026-11-20T10:01:00Z"), 2);
  topic.ingest(ingest, process_row("2026-11-20T10:05:00Z", "ws-44.corp.example"), 3);
  ASSERT_EQ(topic.records().size(), 3U);
  const std::int32_t partition = topic.records()[0].partition;
  const std::string key = topic.records()[0].key;

  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  std::string first_id;
  {
    hash_stage owner(cfg, store.get());
    EXPECT_EQ(owner.process(topic.records()[0].bytes, partition, 1, std::nullopt, 0), outcome::held);
    EXPECT_EQ(owner.process(topic.records()[1].bytes, partition, 2, std::nullopt, 1), outcome::alert);
    const emitted_alert* a = execution_alert(owner.alerts());
    ASSERT_NE(a, nullptr);
    first_id = a->id;
    ASSERT_TRUE(owner.flush(nullptr).has_value());  // the state is written; the alert never acknowledged
  }
  const auto released = store->get(state::store_kind::hash, partition, key);
  ASSERT_TRUE(released.has_value());
  EXPECT_TRUE(released->pending.empty());
  EXPECT_EQ(released->released_at, 1);
  EXPECT_EQ(released->released.size(), 1U);

  hash_stage restarted(cfg, store.get());
  EXPECT_EQ(restarted.process(topic.records()[1].bytes, partition, 2, std::nullopt, 1), outcome::alert)
      << "the redelivered certificate row judges the row it released again";
  const emitted_alert* again = execution_alert(restarted.alerts());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->id, first_id);

  // Not committed yet: a later row of the file keeps them.
  EXPECT_EQ(restarted.process(topic.records()[2].bytes, partition, 3, std::nullopt, 2), outcome::alert);
  ASSERT_TRUE(restarted.flush(nullptr).has_value());
  EXPECT_EQ(store->get(state::store_kind::hash, partition, key)->released.size(), 1U);
  // Committed: the next row of the file clears them.
  restarted.committed(partition, 3);
  (void)restarted.process(topic.records()[2].bytes, partition, 3, std::nullopt, 3);
  ASSERT_TRUE(restarted.flush(nullptr).has_value());
  const auto cleared = store->get(state::store_kind::hash, partition, key);
  ASSERT_TRUE(cleared.has_value());
  EXPECT_TRUE(cleared->released.empty());
  EXPECT_EQ(cleared->released_at, 3);
  EXPECT_FALSE(cleared->certificate.empty()) << "the certificate stays";
}

// Without offsets (replay, or the pipeline judging locally) nothing is kept: no
// redelivery can happen there.
TEST(certificate_join, without_offsets_released_rows_leave_the_record) {
  stateful_pipeline run;
  ASSERT_NE(run.p, nullptr);
  EXPECT_EQ(run.p->process(process_row("2026-11-20T10:00:00Z"), {"t", 0, 0}, std::nullopt, 1).kind, outcome::held);
  EXPECT_EQ(run.p->process(certificate_row("2026-11-20T10:01:00Z"), {"t", 0, 1}, std::nullopt, 2).kind, outcome::alert);
  run.p->flush_state();
  pipeline ingest(join_config(), forward_mode);
  forwarded_records topic;
  topic.ingest(ingest, process_row("2026-11-20T10:00:00Z"), 1);
  ASSERT_EQ(topic.records().size(), 1U);
  const auto record = run.store->get_any_partition(state::store_kind::hash, topic.records()[0].key);
  ASSERT_TRUE(record.has_value());
  EXPECT_TRUE(record->pending.empty());
  EXPECT_TRUE(record->released.empty());
}

}  // namespace
}  // namespace certificate_join_test
}  // namespace countersign::processor
