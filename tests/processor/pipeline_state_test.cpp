// The pipeline with a RocksDB prevalence store: state updates per new fact, the
// learning period, prevalence conditions in detectors, and the prevalence block of alerts.

#include "test_support.hpp"

#include <countersign/state/prevalence_store.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <string>

namespace countersign::processor {
namespace pipeline_state_test {  // one per file: the test programs are unity builds
namespace {

using test_support::config_or_fail;
using test_support::state_dir;
using test_support::detector_ids;


// One execution of the same freshly signed file (certificate 3 days old) on `host`.
std::string fresh_signed_run(int host, const std::string& time = "2026-11-20T12:00:00Z") {
  return R"({"@timestamp":")" + time + R"(","host":{"id":"fleet-)" + std::to_string(host) +
         R"("},"process":{"executable":"C:\\Program Files\\Fresh\\tool.exe","hash":{"sha256":"aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11aa11"},)"
         R"("code_signature":{"exists":true,"status":"trusted","trusted":true,"subject_name":"Fresh Cert Tools Ltd",)"
         R"("thumbprint_sha256":"bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22"}},)"
         R"("file":{"x509":{"issuer":{"common_name":"Sectigo Public Code Signing CA R36"},"not_before":"2026-11-17T12:00:00Z","not_after":"2027-11-17T12:00:00Z"}}})";
}

TEST(pipeline_state, once_learning_is_done_a_signer_on_more_than_five_hosts_is_no_longer_freshly_issued) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("learning: {min_history: 0s}\n"), store.get());
  EXPECT_FALSE(p.stats().learning) << "no history is needed";
  for (int host = 1; host <= 7; ++host) {
    (void)p.process(fresh_signed_run(host), {"t", 0, host}, std::nullopt, static_cast<std::uint64_t>(host));
    const bool alerted = !p.alerts().empty();
    // The signer has been seen on `host` hosts, this one included.
    EXPECT_EQ(alerted, host <= 5) << "host " << host;
    if (alerted) {
      EXPECT_EQ(detector_ids(p.alerts().front().json), "cs.certificate.recently_issued");
    }
  }
  p.flush_state();
  EXPECT_EQ(store->signer("t:bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22bb22")->hosts, 7U);
  EXPECT_EQ(p.stats().state_updates, 7U);
}

TEST(pipeline_state, while_learning_the_prevalence_condition_is_not_used) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("learning: {min_history: 7d}\n"), store.get());
  for (int host = 1; host <= 7; ++host) {
    (void)p.process(fresh_signed_run(host), {"t", 0, host}, std::nullopt, static_cast<std::uint64_t>(host));
    EXPECT_EQ(p.alerts().size(), 1U) << "host " << host;
  }
  EXPECT_TRUE(p.stats().learning);
}

TEST(pipeline_state, an_event_of_a_lagging_partition_is_judged_as_replay_judges_it) {
  // Learning ends by the event time of each event, not by the newest event any
  // partition brought: seven hosts on day 0, one on day 8 from a partition that ran
  // ahead, then a day-2 event of a lagging partition. Replay, in event-time order,
  // judges the day-2 event while still learning (no prevalence: the fresh signer
  // alerts); the live order must too.
  const std::string day0 = "2026-11-20T12:00:00Z", day2 = "2026-11-22T12:00:00Z", day8 = "2026-11-28T12:00:00Z";
  const auto judge_lagging = [&](bool live_order) {
    state_dir dir;
    auto store = dir.open();
    EXPECT_NE(store, nullptr);
    pipeline p(config_or_fail("learning: {min_history: 7d}\n"), store.get());
    std::int64_t offset = 0;
    for (int host = 1; host <= 7; ++host) (void)p.process(fresh_signed_run(host, day0), {"t", 0, offset++}, std::nullopt);
    std::string lagging;
    const auto lagging_event = [&] {
      (void)p.process(fresh_signed_run(9, day2), {"t", 1, offset++}, std::nullopt);
      lagging = p.alerts().empty() ? "" : detector_ids(p.alerts().front().json);
    };
    if (!live_order) lagging_event();
    (void)p.process(fresh_signed_run(8, day8), {"t", 0, offset++}, std::nullopt);
    EXPECT_FALSE(p.stats().learning) << "eight days of history";
    if (live_order) lagging_event();
    return lagging;
  };
  const std::string replayed = judge_lagging(false);
  EXPECT_EQ(replayed, "cs.certificate.recently_issued");
  EXPECT_EQ(judge_lagging(true), replayed);
}

TEST(pipeline_state, after_the_learning_period_prevalence_applies_by_event_time) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("learning: {min_history: 7d}\n"), store.get());
  for (int host = 1; host <= 7; ++host) {
    (void)p.process(fresh_signed_run(host, "2026-11-20T12:00:00Z"), {"t", 0, host}, std::nullopt);
  }
  // Day 8: the signer is on more than five hosts, so it is no longer "recently issued".
  (void)p.process(fresh_signed_run(8, "2026-11-28T12:00:00Z"), {"t", 0, 8}, std::nullopt);
  EXPECT_TRUE(p.alerts().empty()) << (p.alerts().empty() ? "" : p.alerts().front().json);
}

TEST(pipeline_state, history_replayed_into_the_store_ends_learning_for_the_next_run) {
  state_dir dir;
  {
    auto store = dir.open();
    ASSERT_NE(store, nullptr);
    pipeline p(config_or_fail("learning: {min_history: 7d}\n"), store.get());
    (void)p.process(fresh_signed_run(1, "2026-11-01T00:00:00Z"), {"t", 0, 0}, std::nullopt);
    (void)p.process(fresh_signed_run(2, "2026-11-09T00:00:00Z"), {"t", 0, 1}, std::nullopt);
    EXPECT_FALSE(p.stats().learning);
    p.flush_state();
  }
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline later(config_or_fail("learning: {min_history: 7d}\n"), store.get());
  EXPECT_FALSE(later.stats().learning) << "the persisted history spans 8 days";
}

TEST(pipeline_state, repeats_of_a_fact_skip_the_state_write_but_a_changed_status_does_not) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("learning: {min_history: 0s}\n"), store.get());
  (void)p.process(fresh_signed_run(1), {"t", 0, 0}, std::nullopt);
  (void)p.process(fresh_signed_run(1), {"t", 0, 1}, std::nullopt);
  EXPECT_EQ(p.stats().state_updates, 1U);
  std::string revoked = fresh_signed_run(1);
  revoked.replace(revoked.find("\"trusted\",\"trusted\":true"), 24, "\"errorRevoked\",\"trusted\":false");
  (void)p.process(revoked, {"t", 0, 2}, std::nullopt);
  EXPECT_EQ(p.stats().state_updates, 2U);
}

TEST(pipeline_state, alerts_carry_the_prevalence_of_their_file_signer_and_issuer) {
  state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  pipeline p(config_or_fail("learning: {min_history: 0s}\n"), store.get());
  (void)p.process(fresh_signed_run(1), {"t", 0, 0}, std::nullopt);
  (void)p.process(fresh_signed_run(2), {"t", 0, 1}, std::nullopt);
  ASSERT_EQ(p.alerts().size(), 1U);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(p.alerts().front().json).get(doc), simdjson::SUCCESS);
  std::int64_t hosts = 0, signer_hosts = 0, signer_hashes = 0, issuer_hosts = 0;
  ASSERT_EQ(doc.at_pointer("/prevalence/hash/hosts").get(hosts), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/prevalence/signer/hosts").get(signer_hosts), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/prevalence/signer/hashes").get(signer_hashes), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/prevalence/issuer/hosts").get(issuer_hosts), simdjson::SUCCESS);
  EXPECT_EQ(hosts, 2);
  EXPECT_EQ(signer_hosts, 2);
  EXPECT_EQ(signer_hashes, 1);
  EXPECT_EQ(issuer_hosts, 2);
  std::string_view first_seen;
  ASSERT_EQ(doc.at_pointer("/prevalence/hash/first_seen").get(first_seen), simdjson::SUCCESS);
  EXPECT_EQ(first_seen, "2026-11-20T12:00:00.000Z");
}

TEST(pipeline_state, without_a_store_alerts_have_no_prevalence_block_and_learning_stays_on) {
  pipeline p(config_or_fail(""));
  (void)p.process(fresh_signed_run(1), {"t", 0, 0}, std::nullopt);
  ASSERT_EQ(p.alerts().size(), 1U);
  EXPECT_EQ(p.alerts().front().json.find("\"prevalence\""), std::string::npos);
  EXPECT_TRUE(p.stats().learning);
}

}  // namespace
}  // namespace pipeline_state_test
}  // namespace countersign::processor
