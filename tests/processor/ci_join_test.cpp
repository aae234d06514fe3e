// The Code Integrity join (processor/src/engine/ci_join.cpp) on hand-built observations, and
// the pipeline's deferred outputs (processor/src/engine/pipeline.cpp) on the project's fixture
// tests/data/codeintegrity/join_sequence.ndjson: a 3033 logged before its one 3089
// (revoked, VerificationError 4) on host-ci-1, and two 3089s (a valid leaf and one from
// an untrusted root, VerificationError 7) logged before their 3077 on host-ci-2.
//
// Tokens stand for messages: each test checks which message a release or an alert
// belongs to. Clocks are passed in; nothing waits.

#include "test_support.hpp"

#include <countersign/processor/engine/ci_join.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/replay.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace ci_join_test {  // one per file: the test programs are unity builds
namespace {

using rules::observation;
using rules::signature_status;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using test_support::detector_ids;
using test_support::k_data;
using test_support::read_lines;
const std::string k_sequence = k_data + "/codeintegrity/join_sequence.ndjson";

constexpr std::uint64_t k_host_a = 0xA11CE;
constexpr std::uint64_t k_host_b = 0xB0B;
constexpr std::int64_t k_hold_ms = 5'000;

// ---- the joiner ---------------------------------------------------------------------

observation verdict(std::uint64_t host, std::string_view activity, std::int64_t event_id = 3033) {
  observation o;
  o.kind = rules::event_kind::code_integrity;
  o.host_hash = host;
  o.ci.event_id = event_id;
  o.ci.klass = rules::ci_class_of(event_id);
  if (!activity.empty()) o.ci.activity_id.set(activity);
  o.image_path.set(R"(\Device\HarddiskVolume3\Users\pat\Downloads\tool.exe)");
  o.ci.validated_signing_level = 1;
  if (o.ci.klass == rules::ci_class::block_revoked) {
    o.signature.exists = true;
    o.signature.status = signature_status::revoked;
    o.signature.status_raw.set("CodeIntegrity " + std::to_string(event_id));
  }
  return o;
}

// A 3089 as the profile reads it (status from VerificationError, docs/detections.md section 1).
observation signature(std::uint64_t host, std::string_view activity, std::int64_t index, std::int64_t total,
                      std::int64_t verification_error, signature_status status, std::string_view subject) {
  observation o;
  o.kind = rules::event_kind::signature_info;
  o.host_hash = host;
  o.ci.event_id = 3089;
  o.ci.klass = rules::ci_class::signature_info;
  if (!activity.empty()) o.ci.activity_id.set(activity);
  o.ci.signature_index = index;
  o.ci.total_signature_count = total;
  o.ci.verification_error = verification_error;
  o.ci.validated_signing_level = 4;
  o.ci.publisher_tbs_hash.set("tbs-" + std::string(subject));
  o.signature.exists = true;
  o.signature.status = status;
  o.signature.status_raw.set("VerificationError=" + std::to_string(verification_error));
  o.signature.subject.set(subject);
  o.signature.subject_cn.set(subject);
  o.signature.issuer.set("Issuer of " + std::string(subject));
  return o;
}

observation valid_leaf(std::uint64_t host, std::string_view activity, std::int64_t total = 1) {
  return signature(host, activity, 0, total, 0, signature_status::valid, "Good Leaf Ltd");
}

struct released {
  std::uint64_t token;
  observation obs;
};

// Collects what the joiner releases, in order.
struct collector {
  std::vector<released> out;
  ci_joiner::release_fn fn() {
    return [this](observation& o, std::uint64_t token) { out.push_back({token, o}); };
  }
  std::vector<std::uint64_t> tokens() const {
    std::vector<std::uint64_t> t;
    for (const auto& r : out) t.push_back(r.token);
    return t;
  }
};

ci_join_config join_config(std::size_t max_pending = 10'000) {
  ci_join_config c;
  c.hold_ms = k_hold_ms;
  c.max_pending = max_pending;
  return c;
}

TEST(ci_join, a_verdict_waits_for_all_its_signatures_and_leaves_with_the_last) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-1"), 7, 1'000, c.fn()));
  j.add_signature(valid_leaf(k_host_a, "act-1", 2), 1'001, c.fn());
  EXPECT_THAT(c.out, IsEmpty()) << "one of two signatures";
  EXPECT_EQ(j.pending(), 1U);
  j.add_signature(signature(k_host_a, "act-1", 1, 2, 0, signature_status::valid, "Second Signer BV"), 1'002, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  const auto& [token, v] = c.out.front();
  EXPECT_EQ(token, 7U);
  EXPECT_EQ(v.ci.joined_signatures, 2U);
  EXPECT_EQ(v.signature.subject.value, "Good Leaf Ltd") << "no certificate problem: the leaf (index 0)";
  EXPECT_EQ(v.signature.issuer.value, "Issuer of Good Leaf Ltd");
  EXPECT_EQ(v.signature.status, signature_status::valid);
  EXPECT_EQ(v.signature.exists, true);
  EXPECT_EQ(v.ci.signature_index, 0);
  EXPECT_EQ(v.ci.total_signature_count, 2);
  EXPECT_EQ(v.ci.verification_error, 0);
  EXPECT_EQ(v.ci.publisher_tbs_hash.value, "tbs-Good Leaf Ltd");
  EXPECT_EQ(v.ci.validated_signing_level, 1) << "the verdict's own level is kept";
  EXPECT_EQ(v.ci.event_id, 3033) << "still the verdict";
  EXPECT_EQ(j.pending(), 0U);
  EXPECT_EQ(j.stats().joined, 1U);
  EXPECT_EQ(j.stats().unjoined, 0U);
}

TEST(ci_join, signatures_logged_before_their_verdict_join_the_moment_it_arrives) {
  ci_joiner j(join_config());
  collector c;
  j.add_signature(valid_leaf(k_host_a, "act-2", 2), 1'000, c.fn());
  j.add_signature(signature(k_host_a, "act-2", 1, 2, 0, signature_status::valid, "Second Signer BV"), 1'000, c.fn());
  EXPECT_THAT(c.out, IsEmpty()) << "signatures alone are never released";
  EXPECT_EQ(j.pending(), 1U);
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-2", 3077), 9, 1'004, c.fn()));
  ASSERT_EQ(c.out.size(), 1U) << "released within add_verdict";
  EXPECT_EQ(c.out.front().token, 9U);
  EXPECT_EQ(c.out.front().obs.ci.joined_signatures, 2U);
  EXPECT_EQ(c.out.front().obs.signature.subject.value, "Good Leaf Ltd");
  EXPECT_EQ(j.pending(), 0U);
  EXPECT_EQ(j.stats().joined, 1U);
}

TEST(ci_join, a_signature_with_a_certificate_problem_is_chosen_over_a_valid_leaf) {
  const std::vector<std::pair<std::int64_t, signature_status>> problems = {
      {4, signature_status::revoked}, {27, signature_status::chain_error}, {7, signature_status::untrusted_root}};
  for (const auto& [error, status] : problems) {
    for (const bool leaf_first : {true, false}) {
      ci_joiner j(join_config());
      collector c;
      const auto bad = signature(k_host_a, "act-3", 1, 2, error, status, "Troubled Signer Oy");
      if (leaf_first) j.add_signature(valid_leaf(k_host_a, "act-3", 2), 1'000, c.fn());
      j.add_signature(bad, 1'000, c.fn());
      if (!leaf_first) j.add_signature(valid_leaf(k_host_a, "act-3", 2), 1'000, c.fn());
      EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-3"), 1, 1'001, c.fn()));
      ASSERT_EQ(c.out.size(), 1U);
      const auto& v = c.out.front().obs;
      EXPECT_EQ(v.signature.status, status) << "VerificationError " << error << (leaf_first ? " after" : " before")
                                            << " the leaf";
      EXPECT_EQ(v.signature.subject.value, "Troubled Signer Oy") << error;
      EXPECT_EQ(v.signature.status_raw.value, "VerificationError=" + std::to_string(error));
      EXPECT_EQ(v.ci.verification_error, error);
      EXPECT_EQ(v.ci.signature_index, 1);
      EXPECT_EQ(v.ci.joined_signatures, 2U);
    }
  }
}

TEST(ci_join, a_verdict_that_says_revoked_keeps_its_own_status_and_takes_the_signer) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-4", 3036), 3, 1'000, c.fn()));
  j.add_signature(valid_leaf(k_host_a, "act-4"), 1'000, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  const auto& v = c.out.front().obs;
  EXPECT_EQ(v.signature.status, signature_status::revoked);
  EXPECT_EQ(v.signature.status_raw.value, "CodeIntegrity 3036");
  EXPECT_EQ(v.signature.subject.value, "Good Leaf Ltd");
  EXPECT_EQ(v.signature.issuer.value, "Issuer of Good Leaf Ltd");
  EXPECT_EQ(v.ci.verification_error, 0);
}

TEST(ci_join, hold_expiry_releases_an_unjoined_verdict) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-5"), 11, 10'000, c.fn()));
  j.expire(10'000 + k_hold_ms - 1, c.fn());
  EXPECT_THAT(c.out, IsEmpty()) << "one millisecond before the hold ends";
  j.expire(10'000 + k_hold_ms, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  EXPECT_EQ(c.out.front().token, 11U);
  EXPECT_EQ(c.out.front().obs.ci.joined_signatures, 0U);
  EXPECT_EQ(c.out.front().obs.signature.status, signature_status::missing);
  EXPECT_EQ(j.stats().unjoined, 1U);
  EXPECT_EQ(j.stats().joined, 0U);
  EXPECT_EQ(j.pending(), 0U);
}

TEST(ci_join, expiry_forgets_signatures_that_no_verdict_claimed) {
  ci_joiner j(join_config());
  collector c;
  j.add_signature(valid_leaf(k_host_a, "act-6", 3), 10'000, c.fn());
  j.add_signature(signature(k_host_a, "act-6", 1, 3, 0, signature_status::valid, "Second Signer BV"), 10'001,
                  c.fn());
  j.expire(10'000 + k_hold_ms, c.fn());
  EXPECT_THAT(c.out, IsEmpty());
  EXPECT_EQ(j.stats().orphan_signatures, 2U);
  EXPECT_EQ(j.pending(), 0U);
  // A verdict that comes later for that activity finds nothing to join.
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-6"), 12, 20'000, c.fn()));
  j.expire(20'000 + k_hold_ms, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  EXPECT_EQ(c.out.front().obs.ci.joined_signatures, 0U);
}

TEST(ci_join, the_same_activity_id_on_different_hosts_does_not_join) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-7"), 13, 1'000, c.fn()));
  j.add_signature(valid_leaf(k_host_b, "act-7"), 1'000, c.fn());
  EXPECT_THAT(c.out, IsEmpty());
  EXPECT_EQ(j.pending(), 2U);
  j.expire(1'000 + k_hold_ms, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  EXPECT_EQ(c.out.front().token, 13U);
  EXPECT_EQ(c.out.front().obs.ci.joined_signatures, 0U);
  EXPECT_EQ(j.stats().unjoined, 1U);
  EXPECT_EQ(j.stats().orphan_signatures, 1U);
}

TEST(ci_join, max_pending_evicts_the_oldest_key_first) {
  ci_joiner j(join_config(3));
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-a"), 1, 1'000, c.fn()));
  j.add_signature(valid_leaf(k_host_a, "act-b", 2), 1'001, c.fn());
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-c"), 3, 1'002, c.fn()));
  EXPECT_THAT(c.out, IsEmpty());
  EXPECT_EQ(j.pending(), 3U);

  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-d"), 4, 1'003, c.fn()));
  EXPECT_THAT(c.tokens(), ElementsAre(1U)) << "the oldest verdict leaves unjoined";
  EXPECT_EQ(j.pending(), 3U);
  EXPECT_EQ(j.stats().evicted, 1U);
  EXPECT_EQ(j.stats().unjoined, 1U);

  j.add_signature(valid_leaf(k_host_a, "act-e"), 1'004, c.fn());
  EXPECT_THAT(c.tokens(), ElementsAre(1U)) << "the evicted key held only a signature";
  EXPECT_EQ(j.stats().evicted, 2U);
  EXPECT_EQ(j.stats().orphan_signatures, 1U);
  EXPECT_EQ(j.pending(), 3U);
}

TEST(ci_join, pending_never_exceeds_max_pending_and_every_verdict_leaves_exactly_once) {
  constexpr std::size_t k_max = 64;
  ci_joiner j(join_config(k_max));
  collector c;
  std::mt19937_64 rng(20261124);
  std::vector<std::uint64_t> added;
  std::int64_t now = 1'000'000;
  std::size_t peak = 0;
  for (int i = 0; i < 10'000; ++i) {
    now += static_cast<std::int64_t>(rng() % 3);
    const std::uint64_t host = 1 + rng() % 4;
    const std::string activity = "act-" + std::to_string(rng() % 500);
    if (rng() % 2 == 0) {
      const std::uint64_t token = added.size() + 1;
      added.push_back(token);
      EXPECT_FALSE(j.add_verdict(verdict(host, activity), token, now, c.fn()));
    } else {
      const auto total = static_cast<std::int64_t>(1 + rng() % 2);
      const auto index = static_cast<std::int64_t>(rng() % 2);
      j.add_signature(signature(host, activity, index, total, 0, signature_status::valid, "Random Signer"), now,
                      c.fn());
    }
    if (i % 250 == 0) j.expire(now, c.fn());
    peak = std::max(peak, j.pending());
    ASSERT_LE(j.pending(), k_max) << "after add " << i;
  }
  EXPECT_EQ(peak, k_max) << "the bound was reached, so eviction was exercised";
  EXPECT_GT(j.stats().evicted, 0U);
  j.flush(c.fn());
  EXPECT_EQ(j.pending(), 0U);
  auto released_tokens = c.tokens();
  std::sort(released_tokens.begin(), released_tokens.end());
  EXPECT_THAT(released_tokens, ElementsAreArray(added)) << "every verdict once, none lost, none twice";
  EXPECT_EQ(j.stats().joined + j.stats().unjoined, added.size());
}

TEST(ci_join, flush_releases_every_held_verdict_and_drops_lone_signatures) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-f1"), 21, 1'000, c.fn()));
  EXPECT_FALSE(j.add_verdict(verdict(k_host_b, "act-f2"), 22, 1'001, c.fn()));
  j.add_signature(valid_leaf(k_host_b, "act-f2", 2), 1'002, c.fn());
  j.add_signature(valid_leaf(k_host_a, "act-f3"), 1'003, c.fn());
  EXPECT_THAT(c.out, IsEmpty());
  j.flush(c.fn());
  auto tokens = c.tokens();
  std::sort(tokens.begin(), tokens.end());
  EXPECT_THAT(tokens, ElementsAre(21U, 22U));
  for (const auto& r : c.out) {
    EXPECT_EQ(r.obs.ci.joined_signatures, r.token == 22 ? 1U : 0U) << "a partial join keeps what arrived";
  }
  EXPECT_EQ(j.pending(), 0U);
  EXPECT_EQ(j.stats().joined, 1U);
  EXPECT_EQ(j.stats().unjoined, 1U);
  EXPECT_EQ(j.stats().orphan_signatures, 1U);
}

TEST(ci_join, forget_drops_the_verdicts_of_revoked_tokens_unreleased_and_keeps_their_signatures) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-r1"), 51, 1'000, c.fn()));  // revoked, alone
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-r2"), 52, 1'001, c.fn()));  // revoked, one of two signatures here
  j.add_signature(valid_leaf(k_host_a, "act-r2", 2), 1'002, c.fn());
  EXPECT_FALSE(j.add_verdict(verdict(k_host_b, "act-r3"), 53, 1'003, c.fn()));  // still owned
  j.add_signature(valid_leaf(k_host_b, "act-r4"), 1'004, c.fn());               // a signature alone
  EXPECT_EQ(j.pending(), 4U);
  std::vector<std::uint64_t> asked;
  const std::size_t dropped = j.forget([&](std::uint64_t token) {
    asked.push_back(token);
    return token == 51 || token == 52;
  });
  EXPECT_EQ(dropped, 2U);
  std::sort(asked.begin(), asked.end());
  EXPECT_THAT(asked, ElementsAre(51U, 52U, 53U)) << "asked about held verdicts only";
  EXPECT_THAT(c.out, IsEmpty()) << "nothing released";
  EXPECT_EQ(j.stats().forgotten, 2U);
  EXPECT_EQ(j.pending(), 3U) << "act-r2's signature and act-r4's stay; act-r1's key is gone";
  // act-r2's verdict comes again (the partition came back): it joins the kept signature.
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-r2"), 62, 1'005, c.fn()));
  j.add_signature(signature(k_host_a, "act-r2", 1, 2, 0, signature_status::valid, "Second Signer BV"), 1'006, c.fn());
  ASSERT_EQ(c.out.size(), 1U);
  EXPECT_EQ(c.out.front().token, 62U);
  EXPECT_EQ(c.out.front().obs.ci.joined_signatures, 2U);
  // Expiry and flush skip what was forgotten: only the live verdict leaves, once.
  j.expire(1'000 + k_hold_ms, c.fn());
  j.flush(c.fn());
  EXPECT_THAT(c.tokens(), ElementsAre(62U, 53U));
  EXPECT_EQ(j.pending(), 0U);
}

TEST(ci_join, a_verdict_without_activity_id_is_left_to_the_caller) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_TRUE(j.add_verdict(verdict(k_host_a, ""), 31, 1'000, c.fn()));
  EXPECT_THAT(c.out, IsEmpty()) << "the caller judges it now; the joiner does not release it";
  EXPECT_EQ(j.pending(), 0U);
  EXPECT_EQ(j.stats().unjoined, 1U);
  j.flush(c.fn());
  EXPECT_THAT(c.out, IsEmpty());
}

TEST(ci_join, a_signature_without_activity_id_is_an_orphan_at_once) {
  ci_joiner j(join_config());
  collector c;
  j.add_signature(valid_leaf(k_host_a, ""), 1'000, c.fn());
  EXPECT_EQ(j.pending(), 0U);
  EXPECT_EQ(j.stats().orphan_signatures, 1U);
}

TEST(ci_join, a_second_verdict_for_the_same_activity_releases_the_first_as_it_is) {
  ci_joiner j(join_config());
  collector c;
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-8", 3033), 41, 1'000, c.fn()));
  EXPECT_FALSE(j.add_verdict(verdict(k_host_a, "act-8", 3077), 42, 1'001, c.fn()));
  EXPECT_THAT(c.tokens(), ElementsAre(41U));
  j.add_signature(valid_leaf(k_host_a, "act-8"), 1'002, c.fn());
  EXPECT_THAT(c.tokens(), ElementsAre(41U, 42U));
  EXPECT_EQ(c.out.back().obs.ci.joined_signatures, 1U) << "the signature joins the verdict still waiting";
}

// ---- the pipeline's deferred outputs --------------------------------------------------

// 2026-11-24T08:15:02.441Z, the 3033 of host-ci-1 (computed independently, Python datetime).
constexpr std::int64_t k_3033_time = 1'795'508'102'441;

// The fixture line with the given EventRecordID.
std::string record(int id) {
  return test_support::line_containing(k_sequence, "\"EventRecordID\":" + std::to_string(id) + ",");
}

// The fixture's lines, by role.
struct sequence {
  std::string host1_3033 = record(12044);
  std::string host1_3089_revoked = record(12045);
  std::string host2_3089_leaf = record(30511);
  std::string host2_3089_untrusted = record(30512);
  std::string host2_3077 = record(30513);
};

config deferral_config() {
  return test_support::config_or_fail("input:\n  codeintegrity_join:\n    hold: 5s\n");
}

std::vector<std::uint64_t> releases_of(const pipeline& p) {
  return {p.releases().begin(), p.releases().end()};
}

// A string or number at a JSON pointer of an alert, as text; "<absent>" when missing.
std::string at(const std::string& json, std::string_view pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return "<invalid json>";
  simdjson::dom::element e;
  if (doc.at_pointer(pointer).get(e) != simdjson::SUCCESS) return "<absent>";
  if (e.is_string()) return std::string(std::string_view(e.get_string().value_unsafe()));
  if (e.is_int64()) return std::to_string(e.get_int64().value_unsafe());
  return simdjson::to_string(e);
}

TEST(pipeline_deferral, a_3033_is_held_until_its_3089_releases_it_as_a_revoked_alert) {
  const sequence s;
  pipeline p(deferral_config());
  const auto first = p.process(s.host1_3033, {"ci.events", 3, 500}, std::nullopt, 101);
  EXPECT_EQ(first.deferred, 1U);
  EXPECT_EQ(first.alerts, 0U);
  EXPECT_THAT(releases_of(p), IsEmpty());
  EXPECT_THAT(p.alerts(), IsEmpty());
  EXPECT_EQ(p.held(), 1U);
  EXPECT_EQ(p.stats().observations, 0U) << "not judged yet";

  const auto second = p.process(s.host1_3089_revoked, {"ci.events", 3, 501}, std::nullopt, 102);
  EXPECT_EQ(second.deferred, 0U);
  EXPECT_EQ(second.alerts, 0U) << "the alert belongs to the 3033's message";
  EXPECT_EQ(second.kind, outcome::out_of_scope) << "a 3089 is not judged on its own";
  EXPECT_THAT(releases_of(p), ElementsAre(101U));
  ASSERT_EQ(p.alerts().size(), 1U);
  const auto& a = p.alerts().front();
  EXPECT_EQ(a.token, 101U);
  EXPECT_TRUE(a.deferred);
  EXPECT_EQ(a.key, "host-ci-1");
  EXPECT_EQ(detector_ids(a.json), "cs.codeintegrity.enforcement+cs.signature.revoked");
  EXPECT_EQ(at(a.json, "/host/id"), "host-ci-1");
  EXPECT_EQ(at(a.json, "/process/executable"), R"(\Device\HarddiskVolume2\ProgramData\Halyard\hlydsvc.dll)");
  EXPECT_EQ(at(a.json, "/process/code_signature/status"), "revoked");
  EXPECT_EQ(at(a.json, "/process/code_signature/status_raw"), "VerificationError=4");
  EXPECT_EQ(at(a.json, "/process/code_signature/subject_name"), "Halyard Data Systems LLC");
  EXPECT_EQ(at(a.json, "/process/code_signature/issuer"), "Kestrel Public Code Signing CA R2");
  EXPECT_EQ(at(a.json, "/source/offset"), "500") << "the verdict's own message";
  EXPECT_EQ(p.held(), 0U);
  EXPECT_EQ(p.stats().observations, 1U);
  EXPECT_EQ(p.stats().alerts, 1U);
  EXPECT_EQ(p.stats().ci_join.joined, 1U);
}

// The runner registers a message as waiting when `deferred` > 0 and acknowledges it on
// its release; a verdict completed within its own call must report both.
TEST(pipeline_deferral, a_3077_after_its_3089s_is_released_within_its_own_call) {
  pipeline p(deferral_config());
  const sequence s;
  for (const auto& [line, token] : {std::pair{&s.host2_3089_leaf, 201}, std::pair{&s.host2_3089_untrusted, 202}}) {
    const auto r = p.process(*line, {"ci.events", 0, token}, std::nullopt, static_cast<std::uint64_t>(token));
    EXPECT_EQ(r.deferred, 0U);
    EXPECT_EQ(r.kind, outcome::out_of_scope);
    EXPECT_THAT(releases_of(p), IsEmpty());
  }
  EXPECT_EQ(p.held(), 1U) << "the two signatures wait under one key";
  const auto r = p.process(s.host2_3077, {"ci.events", 0, 203}, std::nullopt, 203);
  EXPECT_EQ(r.deferred, 1U);
  EXPECT_EQ(r.alerts, 0U);
  EXPECT_THAT(releases_of(p), ElementsAre(203U));
  ASSERT_EQ(p.alerts().size(), 1U);
  const auto& a = p.alerts().front();
  EXPECT_EQ(a.token, 203U);
  EXPECT_TRUE(a.deferred);
  EXPECT_EQ(detector_ids(a.json), "cs.codeintegrity.enforcement+cs.signature.untrusted") << "the VerificationError 7 signature was chosen";
  EXPECT_EQ(at(a.json, "/process/code_signature/issuer"), "Orison Utilities Root CA");
  EXPECT_EQ(at(a.json, "/process/hash/sha256"), "5d6e7f8091a2b3c45d6e7f8091a2b3c45d6e7f8091a2b3c45d6e7f8091a2b3c4");
  EXPECT_EQ(p.held(), 0U);
}

TEST(pipeline_deferral, in_replay_expire_after_the_hold_releases_an_unjoined_verdict) {
  const sequence s;
  pipeline p(deferral_config());
  EXPECT_EQ(p.process(s.host1_3033, {}, std::nullopt, 7).deferred, 1U);
  p.expire(k_3033_time + k_hold_ms - 1);
  EXPECT_THAT(releases_of(p), IsEmpty());
  EXPECT_EQ(p.held(), 1U);
  p.expire(k_3033_time + k_hold_ms);
  EXPECT_THAT(releases_of(p), ElementsAre(7U));
  ASSERT_EQ(p.alerts().size(), 1U) << "no signer facts, but a Code Integrity block";
  EXPECT_EQ(detector_ids(p.alerts().front().json), "cs.codeintegrity.enforcement");
  EXPECT_EQ(p.held(), 0U);
  EXPECT_EQ(p.stats().observations, 1U) << "judged on release";
  EXPECT_EQ(p.stats().ci_join.unjoined, 1U);
}

TEST(pipeline_deferral, in_replay_a_later_event_past_the_hold_releases_the_verdict) {
  const sequence s;
  pipeline p(deferral_config());
  EXPECT_EQ(p.process(s.host1_3033, {}, std::nullopt, 1).deferred, 1U);
  // host-ci-2's signature is five minutes later in event time: the stream's clock moves on.
  const auto r = p.process(s.host2_3089_leaf, {}, std::nullopt, 2);
  EXPECT_EQ(r.deferred, 0U);
  EXPECT_THAT(releases_of(p), ElementsAre(1U));
  EXPECT_EQ(p.held(), 1U) << "host-ci-2's signature still waits for its verdict";
  EXPECT_EQ(p.stats().ci_join.unjoined, 1U);
}

TEST(pipeline_deferral, with_a_wall_clock_the_hold_runs_on_the_clock_not_on_event_time) {
  const sequence s;
  pipeline p(deferral_config());
  const std::int64_t wall = k_3033_time + 3 * 86'400'000LL;  // events arrive three days late
  EXPECT_EQ(p.process(s.host1_3033, {}, wall, 1).deferred, 1U);
  p.expire(k_3033_time + k_hold_ms);
  EXPECT_THAT(releases_of(p), IsEmpty()) << "event time plus the hold is long past, the clock is not";
  p.expire(wall + k_hold_ms - 1);
  EXPECT_THAT(releases_of(p), IsEmpty());
  p.expire(wall + k_hold_ms);
  EXPECT_THAT(releases_of(p), ElementsAre(1U));
}

TEST(pipeline_deferral, flush_at_the_end_of_input_releases_a_partly_joined_verdict) {
  const sequence s;
  pipeline p(deferral_config());
  std::string one_of_two = s.host1_3089_revoked;
  const std::string count = "\"TotalSignatureCount\":1";
  ASSERT_NE(one_of_two.find(count), std::string::npos);
  one_of_two.replace(one_of_two.find(count), count.size(), "\"TotalSignatureCount\":2");
  EXPECT_EQ(p.process(s.host1_3033, {}, std::nullopt, 1).deferred, 1U);
  (void)p.process(one_of_two, {}, std::nullopt, 2);
  EXPECT_THAT(releases_of(p), IsEmpty()) << "one of two signatures";
  p.flush(std::nullopt);
  EXPECT_THAT(releases_of(p), ElementsAre(1U));
  ASSERT_EQ(p.alerts().size(), 1U);
  EXPECT_EQ(p.alerts().front().token, 1U);
  EXPECT_TRUE(p.alerts().front().deferred);
  EXPECT_EQ(detector_ids(p.alerts().front().json), "cs.codeintegrity.enforcement+cs.signature.revoked");
  EXPECT_EQ(at(p.alerts().front().json, "/detected_at"), "2026-11-24T08:15:02.441Z")
      << "without a clock, detection time is event time";
  EXPECT_EQ(p.held(), 0U);
}

constexpr std::string_view k_3036_fields =
    R"({"EventID":3036,"TimeCreated":"2026-11-24T09:30:00.000Z","Computer":"PAY-SRV-04","HostId":"host-ci-3",)"
    R"("FileNameBuffer":"\\Device\\HarddiskVolume2\\Windows\\System32\\drivers\\rvkdrv.sys")";

TEST(pipeline_deferral, a_revoked_verdict_without_activity_id_alerts_at_once) {
  pipeline p(deferral_config());
  const auto r = p.process(std::string(k_3036_fields) + "}", {}, std::nullopt, 55);
  EXPECT_EQ(r.deferred, 0U);
  EXPECT_EQ(r.kind, outcome::alert);
  EXPECT_EQ(r.alerts, 1U);
  EXPECT_THAT(releases_of(p), IsEmpty());
  ASSERT_EQ(p.alerts().size(), 1U);
  EXPECT_FALSE(p.alerts().front().deferred);
  EXPECT_EQ(p.alerts().front().token, 55U);
  EXPECT_EQ(detector_ids(p.alerts().front().json), "cs.codeintegrity.enforcement+cs.signature.revoked");
  EXPECT_EQ(at(p.alerts().front().json, "/process/code_signature/status_raw"), "CodeIntegrity 3036");
  EXPECT_EQ(p.held(), 0U);
}

TEST(pipeline_deferral, a_joined_3036_stays_revoked_and_names_the_joined_signer) {
  pipeline p(deferral_config());
  const std::string activity = R"(,"ActivityID":"{9E8D7C6B-5A49-0001-3827-16F5E4D3C2B1}")";
  EXPECT_EQ(p.process(std::string(k_3036_fields) + activity + "}", {}, std::nullopt, 61).deferred, 1U);
  const std::string sig =
      R"({"EventID":3089,"TimeCreated":"2026-11-24T09:30:00.001Z","Computer":"PAY-SRV-04","HostId":"host-ci-3")" +
      activity +
      R"(,"TotalSignatureCount":1,"Signature":0,"VerificationError":0,"PublisherName":"Ravenkeep Devices Ltd",)"
      R"("IssuerName":"Kestrel Public Code Signing CA R2","NotValidBefore":"2022-01-10T00:00:00.0000000Z",)"
      R"("NotValidAfter":"2025-01-09T23:59:59.0000000Z"})";
  (void)p.process(sig, {}, std::nullopt, 62);
  EXPECT_THAT(releases_of(p), ElementsAre(61U));
  ASSERT_EQ(p.alerts().size(), 1U);
  const auto& a = p.alerts().front();
  EXPECT_EQ(a.token, 61U);
  EXPECT_TRUE(a.deferred);
  EXPECT_EQ(detector_ids(a.json), "cs.codeintegrity.enforcement+cs.signature.revoked");
  EXPECT_EQ(at(a.json, "/process/code_signature/status"), "revoked");
  EXPECT_EQ(at(a.json, "/process/code_signature/status_raw"), "CodeIntegrity 3036");
  EXPECT_EQ(at(a.json, "/process/code_signature/subject_name"), "Ravenkeep Devices Ltd");
  EXPECT_EQ(at(a.json, "/process/code_signature/issuer"), "Kestrel Public Code Signing CA R2");
}

// (sorted detector ids, host id) rows of tests/data/codeintegrity/expected_alerts.tsv, tab-joined.
std::vector<std::string> expected_rows() {
  std::vector<test_support::alert_row> rows;
  test_support::read_expected_alerts(k_data + "/codeintegrity/expected_alerts.tsv", rows);
  std::vector<std::string> joined;
  for (const auto& [ids, host] : rows) joined.push_back(ids + "\t" + host);
  return joined;
}

TEST(pipeline_deferral, the_join_fixture_alerts_on_the_verdicts_messages) {
  pipeline p(deferral_config());
  const auto lines = read_lines(k_sequence);
  ASSERT_EQ(lines.size(), 5U);
  std::vector<std::string> rows;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> alert_at;  // (processed line, alert token)
  for (std::uint64_t n = 1; n <= lines.size(); ++n) {
    (void)p.process(lines[n - 1], {"fixture", 0, static_cast<std::int64_t>(n)}, std::nullopt, n);
    for (const auto& a : p.alerts()) {
      rows.push_back(detector_ids(a.json) + "\t" + a.key);
      alert_at.emplace_back(n, a.token);
    }
  }
  p.flush(std::nullopt);
  EXPECT_THAT(p.alerts(), IsEmpty()) << "nothing left at the end";
  EXPECT_THAT(rows, ElementsAreArray(expected_rows()));
  EXPECT_THAT(alert_at, ElementsAre(std::pair<std::uint64_t, std::uint64_t>{2, 1},    // 3033 released by its 3089
                                    std::pair<std::uint64_t, std::uint64_t>{5, 5}));  // 3077 joined on arrival
}

TEST(pipeline_deferral, winlogbeat_code_integrity_events_are_held_and_joined_too) {
  pipeline p(deferral_config());
  const auto lines = read_lines(k_data + "/winlogbeat/codeintegrity.ndjson");
  ASSERT_EQ(lines.size(), 6U);
  std::vector<std::pair<std::uint64_t, std::vector<std::uint64_t>>> releases;  // (processed line, tokens)
  std::vector<std::string> rows;
  for (std::uint64_t n = 1; n <= lines.size(); ++n) {
    (void)p.process(lines[n - 1], {"winlogbeat", 0, static_cast<std::int64_t>(n)}, std::nullopt, n);
    if (!p.releases().empty()) releases.emplace_back(n, releases_of(p));
    for (const auto& a : p.alerts()) rows.push_back(detector_ids(a.json) + "\t" + a.key + "\t" + std::to_string(a.token));
  }
  using release = std::pair<std::uint64_t, std::vector<std::uint64_t>>;
  EXPECT_THAT(releases, ElementsAre(release{2, {1}},    // the 3033 by its 3089
                                    release{4, {4}}));  // the 3077, its 3089 came first
  EXPECT_THAT(rows, ElementsAre("cs.codeintegrity.enforcement+cs.signature.revoked\tKIOSK-22\t1",
                                "cs.codeintegrity.enforcement\tKIOSK-22\t4"))
      << "the 3077 is an enforced block; its signer is valid";
  p.flush(std::nullopt);
  EXPECT_THAT(releases_of(p), IsEmpty());
  EXPECT_EQ(p.stats().ci_join.joined, 2U);
  EXPECT_EQ(p.stats().ci_join.orphan_signatures, 1U) << "the unsigned file's 3089 had no verdict";
}

TEST(pipeline_deferral, replay_of_the_join_fixture_prints_the_expected_alerts) {
  auto cfg = load_config(COUNTERSIGN_SHIPPED_CONFIG);
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(*cfg, {k_sequence}, alerts, diagnostics);
  EXPECT_EQ(diagnostics.str(), "");
  std::vector<std::string> rows;
  for (const auto& line : test_support::split_lines(alerts.str())) {
    rows.push_back(detector_ids(line) + "\t" + at(line, "/host/id"));
  }
  EXPECT_THAT(rows, ElementsAreArray(expected_rows()));
  EXPECT_EQ(summary.stats.events, 5U);
  EXPECT_EQ(summary.stats.ci_join.joined, 2U);
  EXPECT_EQ(summary.stats.ci_join.unjoined, 0U);
  EXPECT_EQ(summary.stats.ci_join.orphan_signatures, 0U);
}

}  // namespace
}  // namespace ci_join_test
}  // namespace countersign::processor
