// The built-in detectors (rules/src/detectors.cpp) against docs/detections.md section 3:
// cs.signature.revoked, cs.signature.untrusted, cs.certificate.recently_issued.

#include "printers.hpp"

#include <countersign/rules/detectors.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {
namespace detectors_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr std::int64_t k_now = 1'795'927'420'000;  // 2026-11-29T04:43:40Z
constexpr std::int64_t k_hour = 3'600'000;
const std::string k_thumbprint(64, 'c');

// A valid, trusted signature from an ordinary vendor with an old, long-lived
// certificate: no detector should fire on it. Tests change one fact at a time.
observation benign() {
  observation o;
  o.event_time_ms = k_now;
  o.host_id.set("host-1");
  o.host_name.set("WS-1");
  o.image_path.set(R"(C:\Users\alice\Downloads\tool.exe)");
  o.sha256.set(std::string(64, 'a'));
  auto& s = o.signature;
  s.exists = true;
  s.status = signature_status::valid;
  s.status_raw.set("trusted");
  s.trusted = true;
  s.subject.set("CN=Acme Widgets LLC, O=Acme Widgets LLC, C=US");
  s.subject_cn.set("Acme Widgets LLC");
  s.subject_o.set("Acme Widgets LLC");
  s.issuer.set("CN=Example Public Code Signing CA, O=Example CA Ltd, C=GB");
  s.issuer_cn.set("Example Public Code Signing CA");
  s.thumbprint.set(k_thumbprint);
  s.serial.set("0a0b0c");
  s.not_before_ms = k_now - 400 * k_ms_per_day;
  s.not_after_ms = k_now + 300 * k_ms_per_day;
  return o;
}

detector_config default_config() {
  detector_config c;
  // A few of the shipped rules/content/trusted_publishers.yaml entries.
  c.recently_issued.trusted_publishers = name_set({"Microsoft Corporation", "Google LLC", "Mozilla Corporation"});
  return c;
}

std::vector<std::string> ids_of(const std::vector<hit>& hits) {
  std::vector<std::string> ids;
  for (const auto& h : hits) ids.emplace_back(h.id);
  return ids;
}

std::vector<std::string> evaluate(const observation& o, const detector_config& cfg = default_config(),
                                  const state::prevalence_view* prevalence = nullptr) {
  std::vector<hit> hits;
  detector_set(cfg).evaluate(o, prevalence, hits);
  return ids_of(hits);
}

// Reports the same signer prevalence for every key, and remembers the keys asked for.
class fake_prevalence final : public state::prevalence_view {
 public:
  explicit fake_prevalence(std::optional<std::uint64_t> signer_hosts) : signer_hosts_(signer_hosts) {}
  std::optional<state::prevalence_record> hash(std::string_view) const override { return std::nullopt; }
  std::optional<state::prevalence_record> signer(std::string_view key) const override {
    queried_.emplace_back(key);
    if (!signer_hosts_) return std::nullopt;
    state::prevalence_record r;
    r.first_seen_ms = k_now - k_ms_per_day;
    r.last_seen_ms = k_now;
    r.hosts = *signer_hosts_;
    r.hashes = 1;
    return r;
  }
  std::optional<state::prevalence_record> issuer(std::string_view) const override { return std::nullopt; }
  std::optional<state::prevalence_record> company_signer(std::string_view) const override { return std::nullopt; }
  const std::vector<std::string>& queried() const { return queried_; }

 private:
  std::optional<std::uint64_t> signer_hosts_;
  mutable std::vector<std::string> queried_;
};

TEST(detectors, a_valid_trusted_signature_with_an_old_certificate_fires_nothing) {
  EXPECT_THAT(evaluate(benign()), IsEmpty());
}

// --- cs.signature.revoked -------------------------------------------------------------

TEST(detector_revoked, fires_for_revoked_bad_digest_and_chain_error) {
  for (auto status : {signature_status::revoked, signature_status::bad_digest, signature_status::chain_error}) {
    auto o = benign();
    o.signature.status = status;
    o.signature.trusted = true;  // keep cs.signature.untrusted out of the picture
    EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_revoked))) << to_string(status);
  }
}

TEST(detector_revoked, does_not_fire_for_other_statuses) {
  for (auto status : {signature_status::missing, signature_status::valid, signature_status::expired,
                      signature_status::untrusted_root, signature_status::unknown, signature_status::other}) {
    auto o = benign();
    o.signature.status = status;
    EXPECT_THAT(evaluate(o), Not(Contains(std::string(detector_id::signature_revoked)))) << to_string(status);
  }
}

TEST(detector_revoked, hit_carries_default_high_severity_a_reason_and_evidence) {
  auto o = benign();
  o.signature.status = signature_status::revoked;
  o.signature.status_raw.set("errorRevoked");
  std::vector<hit> hits;
  detector_set(default_config()).evaluate(o, nullptr, hits);
  ASSERT_EQ(hits.size(), 1U);
  EXPECT_EQ(hits[0].level, severity::high);
  EXPECT_FALSE(hits[0].title.empty());
  EXPECT_THAT(hits[0].reason, HasSubstr("errorRevoked"));
  EXPECT_THAT(hits[0].reason, HasSubstr("Acme Widgets LLC"));
  EXPECT_THAT(hits[0].reason, HasSubstr(R"(C:\Users\alice\Downloads\tool.exe)"));
  const auto has_status = std::ranges::any_of(
      hits[0].evidence, [](const evidence_item& e) { return e.key == "status" && e.value == "revoked"; });
  EXPECT_TRUE(has_status);
}

TEST(detector_revoked, trusted_publishers_never_suppress_it) {
  auto o = benign();
  o.signature.subject.set("Microsoft Corporation");
  o.signature.subject_cn.set("Microsoft Corporation");
  o.signature.subject_o.set("Microsoft Corporation");
  o.signature.status = signature_status::revoked;
  EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_revoked)));
}

TEST(detector_revoked, revoked_with_trusted_false_does_not_also_fire_untrusted) {
  for (auto status : {signature_status::revoked, signature_status::bad_digest, signature_status::chain_error}) {
    auto o = benign();
    o.signature.status = status;
    o.signature.trusted = false;
    EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_revoked))) << to_string(status);
  }
}

TEST(detector_revoked, configured_severity_is_used) {
  auto cfg = default_config();
  cfg.revoked.level = severity::critical;
  auto o = benign();
  o.signature.status = signature_status::revoked;
  std::vector<hit> hits;
  detector_set(cfg).evaluate(o, nullptr, hits);
  ASSERT_EQ(hits.size(), 1U);
  EXPECT_EQ(hits[0].level, severity::critical);
}

// --- cs.signature.untrusted -----------------------------------------------------------

TEST(detector_untrusted, fires_for_untrusted_root_even_when_trusted_is_not_reported) {
  auto o = benign();
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted.reset();
  std::vector<hit> hits;
  detector_set(default_config()).evaluate(o, nullptr, hits);
  ASSERT_THAT(ids_of(hits), ElementsAre(std::string(detector_id::signature_untrusted)));
  EXPECT_EQ(hits[0].level, severity::medium);
  EXPECT_THAT(hits[0].reason, HasSubstr("Example Public Code Signing CA"));
}

TEST(detector_untrusted, fires_for_trusted_false_with_a_present_signature) {
  // A "valid" status with trusted=false, no status at all, and an unrecognized status.
  for (auto status : {signature_status::valid, signature_status::missing, signature_status::other}) {
    auto o = benign();
    o.signature.status = status;
    o.signature.trusted = false;
    EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_untrusted))) << to_string(status);
  }
}

TEST(detector_untrusted, unknown_status_with_trusted_false_does_not_fire) {
  auto o = benign();
  o.signature.status = signature_status::unknown;  // errorCode_endpoint_*: not evaluated
  o.signature.status_raw.set("errorCode_endpoint_0x800b0100");
  o.signature.trusted = false;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_untrusted, expired_with_trusted_false_is_left_to_the_expiry_detector) {
  auto o = benign();
  o.signature.status = signature_status::expired;
  o.signature.trusted = false;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_untrusted, does_not_fire_without_a_signature) {
  auto o = benign();
  o.signature.exists = false;
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_untrusted, internal_pki_issuer_by_distinguished_name_suppresses_it) {
  auto cfg = default_config();
  cfg.untrusted.internal_pki_issuers = name_set({"cn=example public code signing ca, o=example ca ltd, c=gb"});
  auto o = benign();
  o.signature.status = signature_status::untrusted_root;
  EXPECT_THAT(evaluate(o, cfg), IsEmpty());
}

TEST(detector_untrusted, internal_pki_issuer_by_common_name_suppresses_it) {
  auto cfg = default_config();
  cfg.untrusted.internal_pki_issuers = name_set({"EXAMPLE PUBLIC CODE SIGNING CA"});
  auto o = benign();
  o.signature.trusted = false;
  EXPECT_THAT(evaluate(o, cfg), IsEmpty());
}

TEST(detector_untrusted, internal_pki_thumbprint_suppresses_it) {
  auto cfg = default_config();
  cfg.untrusted.internal_pki_thumbprints = name_set({std::string(64, 'C')});  // case-insensitive
  auto o = benign();
  o.signature.status = signature_status::untrusted_root;
  EXPECT_THAT(evaluate(o, cfg), IsEmpty());
}

TEST(detector_untrusted, an_internal_pki_list_naming_other_issuers_does_not_suppress_it) {
  auto cfg = default_config();
  cfg.untrusted.internal_pki_issuers = name_set({"Contoso Internal Code Signing CA", "Example Public"});
  cfg.untrusted.internal_pki_thumbprints = name_set({std::string(64, 'd')});
  auto o = benign();
  o.signature.status = signature_status::untrusted_root;
  EXPECT_THAT(evaluate(o, cfg), ElementsAre(std::string(detector_id::signature_untrusted)));
}

TEST(detector_untrusted, an_empty_issuer_does_not_match_an_internal_pki_list) {
  auto cfg = default_config();
  cfg.untrusted.internal_pki_issuers = name_set({"Contoso Internal Code Signing CA"});
  auto o = benign();
  o.signature.issuer.reset();
  o.signature.issuer_cn.reset();
  o.signature.thumbprint.reset();
  o.signature.status = signature_status::untrusted_root;
  EXPECT_THAT(evaluate(o, cfg), ElementsAre(std::string(detector_id::signature_untrusted)));
}

// --- cs.certificate.recently_issued ---------------------------------------------------

TEST(detector_recently_issued, fires_within_14_days_of_not_before) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 3 * k_ms_per_day;
  o.signature.not_after_ms = k_now + 362 * k_ms_per_day;
  std::vector<hit> hits;
  detector_set(default_config()).evaluate(o, nullptr, hits);
  ASSERT_THAT(ids_of(hits), ElementsAre(std::string(detector_id::certificate_recently_issued)));
  EXPECT_EQ(hits[0].level, severity::medium);
  EXPECT_THAT(hits[0].reason, HasSubstr("3.0 days"));
  EXPECT_THAT(hits[0].reason, HasSubstr("Acme Widgets LLC"));
}

TEST(detector_recently_issued, fires_on_the_14th_day_and_not_on_the_15th) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 14 * k_ms_per_day;
  EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::certificate_recently_issued)));
  o.signature.not_before_ms = k_now - 15 * k_ms_per_day;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_recently_issued, execution_before_not_before_does_not_count_as_fresh) {
  auto o = benign();
  o.signature.not_before_ms = k_now + k_ms_per_day;
  o.signature.not_after_ms = k_now + 400 * k_ms_per_day;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_recently_issued, validity_shorter_than_8_days_fires_even_for_an_old_certificate) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 100 * k_ms_per_day;
  o.signature.not_after_ms = *o.signature.not_before_ms + 5 * k_ms_per_day;
  std::vector<hit> hits;
  detector_set(default_config()).evaluate(o, nullptr, hits);
  ASSERT_THAT(ids_of(hits), ElementsAre(std::string(detector_id::certificate_recently_issued)));
  EXPECT_THAT(hits[0].reason, HasSubstr("5.0 days"));
  // Just under the limit still fires.
  o.signature.not_after_ms = *o.signature.not_before_ms + 8 * k_ms_per_day - k_hour;
  EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::certificate_recently_issued)));
}

TEST(detector_recently_issued, validity_of_exactly_8_days_does_not_fire) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 100 * k_ms_per_day;
  o.signature.not_after_ms = *o.signature.not_before_ms + 8 * k_ms_per_day;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_recently_issued, needs_a_not_before) {
  auto o = benign();
  o.signature.not_before_ms.reset();
  o.signature.not_after_ms = k_now + k_ms_per_day;
  EXPECT_THAT(evaluate(o), IsEmpty());
}

TEST(detector_recently_issued, trusted_publishers_suppress_it_by_cn_o_or_subject) {
  const auto fresh = [] {
    auto o = benign();
    o.signature.not_before_ms = k_now - 2 * k_ms_per_day;
    o.signature.subject.reset();
    o.signature.subject_cn.reset();
    o.signature.subject_o.reset();
    return o;
  };
  auto by_cn = fresh();
  by_cn.signature.subject_cn.set("Google LLC");
  EXPECT_THAT(evaluate(by_cn), IsEmpty());
  auto by_o = fresh();
  by_o.signature.subject_cn.set("Chrome Build Signing");
  by_o.signature.subject_o.set("google llc");
  EXPECT_THAT(evaluate(by_o), IsEmpty());
  auto by_subject = fresh();
  by_subject.signature.subject.set("Mozilla Corporation");
  EXPECT_THAT(evaluate(by_subject), IsEmpty());
  // The control: the same freshness from an unlisted signer fires.
  auto other = fresh();
  other.signature.subject_cn.set("Kestrel Ventures Ltd");
  EXPECT_THAT(evaluate(other), ElementsAre(std::string(detector_id::certificate_recently_issued)));
}

TEST(detector_recently_issued, a_signer_on_six_hosts_is_suppressed_and_on_five_is_not) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 2 * k_ms_per_day;
  const fake_prevalence six(6);
  EXPECT_THAT(evaluate(o, default_config(), &six), IsEmpty());
  ASSERT_FALSE(six.queried().empty());
  EXPECT_THAT(six.queried().front(), HasSubstr(k_thumbprint));  // signer keyed by thumbprint first

  const fake_prevalence five(5);
  std::vector<hit> hits;
  detector_set(default_config()).evaluate(o, &five, hits);
  ASSERT_THAT(ids_of(hits), ElementsAre(std::string(detector_id::certificate_recently_issued)));
  const auto hosts = std::ranges::find_if(hits[0].evidence, [](const evidence_item& e) { return e.key == "signer_hosts"; });
  ASSERT_NE(hosts, hits[0].evidence.end());
  EXPECT_EQ(hosts->value, "5");
}

TEST(detector_recently_issued, a_signer_unknown_to_prevalence_still_fires) {
  auto o = benign();
  o.signature.not_before_ms = k_now - 2 * k_ms_per_day;
  const fake_prevalence none(std::nullopt);
  EXPECT_THAT(evaluate(o, default_config(), &none), ElementsAre(std::string(detector_id::certificate_recently_issued)));
}

TEST(detector_recently_issued, max_signer_hosts_is_configurable) {
  auto cfg = default_config();
  cfg.recently_issued.max_signer_hosts = 1;
  auto o = benign();
  o.signature.not_before_ms = k_now - 2 * k_ms_per_day;
  const fake_prevalence two(2);
  EXPECT_THAT(evaluate(o, cfg, &two), IsEmpty());
}

TEST(detector_recently_issued, fires_together_with_revoked) {
  auto o = benign();
  o.signature.status = signature_status::revoked;
  o.signature.trusted = false;
  o.signature.not_before_ms = k_now - 8 * k_ms_per_day;
  EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_revoked),
                                       std::string(detector_id::certificate_recently_issued)));
}

// --- enabling -----------------------------------------------------------------------

TEST(detectors, a_disabled_detector_never_fires) {
  auto o = benign();
  o.signature.status = signature_status::untrusted_root;  // untrusted
  o.signature.not_before_ms = k_now - k_ms_per_day;       // recently issued
  auto revoked = benign();
  revoked.signature.status = signature_status::revoked;

  auto cfg = default_config();
  cfg.revoked.enabled = false;
  EXPECT_THAT(evaluate(revoked, cfg), IsEmpty());

  cfg = default_config();
  cfg.untrusted.enabled = false;
  EXPECT_THAT(evaluate(o, cfg), ElementsAre(std::string(detector_id::certificate_recently_issued)));

  cfg = default_config();
  cfg.recently_issued.enabled = false;
  EXPECT_THAT(evaluate(o, cfg), ElementsAre(std::string(detector_id::signature_untrusted)));

  // Control: with everything enabled both fire.
  EXPECT_THAT(evaluate(o), ElementsAre(std::string(detector_id::signature_untrusted),
                                       std::string(detector_id::certificate_recently_issued)));
}

TEST(detectors, hits_are_appended_to_what_the_caller_already_holds) {
  auto o = benign();
  o.signature.status = signature_status::revoked;
  std::vector<hit> hits(1);
  hits[0].reason = "earlier";
  detector_set(default_config()).evaluate(o, nullptr, hits);
  ASSERT_EQ(hits.size(), 2U);
  EXPECT_EQ(hits[0].reason, "earlier");
  EXPECT_EQ(hits[1].id, detector_id::signature_revoked);
}

TEST(name_set, matches_case_insensitively_and_never_matches_empty) {
  const name_set s({"Microsoft Corporation", "abcdef"});
  EXPECT_TRUE(s.contains("MICROSOFT CORPORATION"));
  EXPECT_TRUE(s.contains("ABCDEF"));
  EXPECT_FALSE(s.contains("Microsoft"));
  EXPECT_FALSE(s.contains(""));
  EXPECT_EQ(s.size(), 2U);
  EXPECT_FALSE(name_set().contains("x"));
  EXPECT_TRUE(name_set().empty());
}

}  // namespace
}  // namespace detectors_test
}  // namespace countersign::rules
