// The detectors of rules/src/detectors_more.cpp against docs/detections.md sections 3 and 4:
// cs.certificate.expired_signing, cs.issuer.unusual, cs.metadata.subject_mismatch,
// cs.codeintegrity.enforcement, cs.prevalence.rare_signed_user_path,
// cs.intel.abused_certificate, cs.signer.first_seen, exclusions and CA mass revocations.
//
// Thresholds are probed on both sides of each boundary. The lists are the shipped ones,
// read from rules/content/*.yaml, so the tests also pin what the product ships.

#include "printers.hpp"

#include <countersign/rules/alert.hpp>
#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/detectors.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/time.hpp>
#include <countersign/rules/vendor_identity.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::rules {
namespace detectors_more_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr std::int64_t k_now = 1'795'927'420'000;  // 2026-11-29T04:43:40Z
constexpr std::int64_t k_day = k_ms_per_day;
constexpr std::int64_t k_hour = 3'600'000;
constexpr std::int64_t k_old = k_now - 365 * k_day;  // "seen for a long time"
const std::string k_thumb(64, 'c');
const std::string k_hash(64, 'a');

const std::string k_revoked{detector_id::signature_revoked};
const std::string k_untrusted{detector_id::signature_untrusted};
const std::string k_expired{detector_id::certificate_expired_signing};
const std::string k_recent{detector_id::certificate_recently_issued};
const std::string k_issuer{detector_id::issuer_unusual};
const std::string k_mismatch{detector_id::metadata_subject_mismatch};
const std::string k_ci{detector_id::codeintegrity_enforcement};
const std::string k_user_path{detector_id::prevalence_rare_signed_user_path};
const std::string k_abused{detector_id::intel_abused_certificate};
const std::string k_first{detector_id::signer_first_seen};

// --- the shipped content (rules/content/*.yaml) ------------------------------------------

const std::string k_content_dir = COUNTERSIGN_TEST_DATA "/../../rules/content/";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return std::string(s);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The `- item` lines of the top-level block `key:` (the shipped files use no other form
// for plain lists).
std::vector<std::string> yaml_list(const std::string& file, std::string_view key) {
  std::vector<std::string> items;
  bool in_block = false;
  for (const auto& line : lines_of(slurp(k_content_dir + file))) {
    const std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    if (!std::isspace(static_cast<unsigned char>(line.front()))) {
      in_block = t == std::string(key) + ":";
      continue;
    }
    if (in_block && t.starts_with("- ")) items.push_back(unquote(t.substr(2)));
  }
  return items;
}

// protected_vendors.yaml through the loader the processor uses; the test fails on any error.
std::vector<subject_mismatch_config::protected_vendor> shipped_protected_vendors() {
  auto list = load_protected_vendors(slurp(k_content_dir + "protected_vendors.yaml"), "protected_vendors.yaml");
  for (const auto& e : list.errors) ADD_FAILURE() << e;
  return std::move(list.vendors);
}

struct shipped_content {
  std::vector<std::string> trusted_publishers = yaml_list("trusted_publishers.yaml", "trusted_publishers");
  std::vector<std::string> known_cas = yaml_list("known_code_signing_cas.yaml", "known_code_signing_cas");
  std::vector<std::string> user_writable = yaml_list("user_writable_paths.yaml", "user_writable_paths");
  std::vector<std::string> system_folders = yaml_list("user_writable_paths.yaml", "system_folders");
  std::vector<std::string> product_folders = yaml_list("user_writable_paths.yaml", "product_folders");
  std::vector<std::string> transient_folders = yaml_list("user_writable_paths.yaml", "transient_folders");
  std::vector<subject_mismatch_config::protected_vendor> protected_vendors = shipped_protected_vendors();
};

const shipped_content& content() {
  static const shipped_content c;
  return c;
}

// The default configuration with the shipped lists, as the processor builds it.
detector_config shipped_config() {
  const auto& c = content();
  detector_config cfg;
  cfg.recently_issued.trusted_publishers = name_set(c.trusted_publishers);
  cfg.issuer_unusual.known_cas = prefix_set(c.known_cas);
  cfg.subject_mismatch.protected_vendors = c.protected_vendors;
  cfg.subject_mismatch.system_folders = path_glob_set(c.system_folders);
  cfg.subject_mismatch.product_folders = path_glob_set(c.product_folders);
  cfg.subject_mismatch.transient_folders = path_glob_set(c.transient_folders);
  cfg.rare_user_path.user_writable = path_glob_set(c.user_writable, glob_role::suspect);
  return cfg;
}

// --- observations and fleet ----------------------------------------------------------

// An ordinary vendor's program under Program Files: valid, trusted, an old long-lived
// certificate from a known CA, version info naming the signer. Nothing fires on it, with
// or without prevalence. Tests change one fact at a time.
observation benign() {
  observation o;
  o.kind = event_kind::process_start;
  o.event_time_ms = k_now;
  o.host_id.set("host-1");
  o.host_name.set("WS-1");
  o.image_path.set(R"(C:\Program Files\Acme\tool.exe)");
  o.sha256.set(k_hash);
  o.pe.company.set("Acme Widgets LLC");
  o.pe.product.set("Acme Tool");
  o.pe.description.set("Acme Tool");
  o.pe.original_file_name.set("tool.exe");
  auto& s = o.signature;
  s.exists = true;
  s.status = signature_status::valid;
  s.status_raw.set("trusted");
  s.trusted = true;
  s.subject.set("CN=Acme Widgets LLC, O=Acme Widgets LLC, C=US");
  s.subject_cn.set("Acme Widgets LLC");
  s.subject_o.set("Acme Widgets LLC");
  s.issuer.set("CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1, O=DigiCert, Inc., C=US");
  s.issuer_cn.set("DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1");
  s.thumbprint.set(k_thumb);
  s.serial.set("0a0b0c");
  s.not_before_ms = k_now - 400 * k_day;
  s.not_after_ms = k_now + 300 * k_day;
  return o;
}

void set_signer(observation& o, std::string_view name) {
  o.signature.subject.set("CN=" + std::string(name) + ", O=" + std::string(name) + ", C=US");
  o.signature.subject_cn.set(name);
  o.signature.subject_o.set(name);
}

void set_issuer(observation& o, std::string_view cn) {
  o.signature.issuer.set("CN=" + std::string(cn) + ", O=Some Trust Services, C=US");
  o.signature.issuer_cn.set(cn);
}

state::prevalence_record rec(std::int64_t first_seen, std::uint64_t hosts, std::uint64_t hashes = 1) {
  state::prevalence_record r;
  r.first_seen_ms = first_seen;
  r.last_seen_ms = k_now;
  r.hosts = hosts;
  r.hashes = hashes;
  return r;
}

// A fleet with records per key and a settable "watched since". Keys are spelled out as
// docs/detections.md section 2 and rules/keys.hpp define them.
class fleet final : public state::prevalence_view {
 public:
  using record = state::prevalence_record;
  std::map<std::string, record, std::less<>> hashes, signers, issuers, pairs;
  std::optional<std::int64_t> since;
  mutable int hash_reads = 0;

  std::optional<record> hash(std::string_view key) const override {
    ++hash_reads;
    return find(hashes, key);
  }
  std::optional<record> signer(std::string_view key) const override { return find(signers, key); }
  std::optional<record> issuer(std::string_view key) const override { return find(issuers, key); }
  std::optional<record> company_signer(std::string_view key) const override { return find(pairs, key); }
  std::optional<std::int64_t> watching_since() const override { return since; }

  // Records under the keys of an observation.
  void file(const observation& o, record r) { hashes[o.sha256.value] = r; }
  void signer_of(const observation& o, record r) { signers["t:" + o.signature.thumbprint.value] = r; }
  void issuer_of(const observation& o, record r) {
    std::string key = o.signature.issuer.value;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    issuers[key] = r;
  }
  void pair_of(const observation& o, record r) {
    pairs[normalize_company(o.pe.company.view()) + '\0' + "t:" + o.signature.thumbprint.value] = r;
  }

 private:
  static std::optional<record> find(const std::map<std::string, record, std::less<>>& m, std::string_view key) {
    const auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }
};

std::vector<hit> run(const observation& o, const detector_config& cfg = shipped_config(),
                     const state::prevalence_view* prevalence = nullptr,
                     std::shared_ptr<const cert_intel> lists = nullptr) {
  detector_set detectors(cfg);
  detectors.set_intel(std::move(lists));
  std::vector<hit> hits;
  detectors.evaluate(o, prevalence, hits);
  return hits;
}

std::vector<std::string> ids_of(const std::vector<hit>& hits) {
  std::vector<std::string> ids;
  for (const auto& h : hits) ids.emplace_back(h.id);
  return ids;
}

std::vector<std::string> ids(const observation& o, const detector_config& cfg = shipped_config(),
                             const state::prevalence_view* prevalence = nullptr) {
  return ids_of(run(o, cfg, prevalence));
}

const hit* find_hit(const std::vector<hit>& hits, std::string_view id) {
  const auto it = std::ranges::find_if(hits, [id](const hit& h) { return h.id == id; });
  return it == hits.end() ? nullptr : &*it;
}

// The level of the hit `id`, or nullopt when it did not fire.
std::optional<severity> level_of(const std::vector<hit>& hits, std::string_view id) {
  const hit* h = find_hit(hits, id);
  return h ? std::optional<severity>(h->level) : std::nullopt;
}

std::optional<std::string> evidence_of(const hit& h, std::string_view key) {
  for (const auto& e : h.evidence) {
    if (e.key == key) return e.value;
  }
  return std::nullopt;
}

TEST(detector_content, the_shipped_lists_load_and_the_baseline_is_silent) {
  const auto& c = content();
  EXPECT_THAT(c.known_cas, Contains("DigiCert"));
  EXPECT_THAT(c.trusted_publishers, Contains("Microsoft Corporation"));
  EXPECT_THAT(c.user_writable, Contains(R"(**\Users\*\Downloads\**)"));
  EXPECT_THAT(c.system_folders, Contains(R"(?:\Program Files\**)"));
  ASSERT_GE(c.protected_vendors.size(), 5U);
  EXPECT_EQ(c.protected_vendors.front().token, "microsoft");
  EXPECT_TRUE(c.protected_vendors.front().binaries.contains("svchost.exe"));
  EXPECT_TRUE(c.protected_vendors.front().binaries.contains("mpclient.dll"));  // last of a multi-line list

  // The baseline observation fires nothing, without state and with a fleet that knows it well.
  fleet f;
  f.since = k_old;
  const auto o = benign();
  f.file(o, rec(k_old, 400));
  f.signer_of(o, rec(k_old, 400, 30));
  f.issuer_of(o, rec(k_old, 5000, 900));
  f.pair_of(o, rec(k_old, 400));
  EXPECT_THAT(ids(o), IsEmpty());
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

// --- cs.certificate.expired_signing ---------------------------------------------------

constexpr std::int64_t k_not_after = k_now - 100 * k_day;  // 2026-08-21T04:43:40Z

observation expired_cert() {
  auto o = benign();
  o.signature.not_after_ms = k_not_after;
  o.signature.not_before_ms = k_not_after - 365 * k_day;
  return o;
}

// A fleet watched since well before the certificate expired, holding the file.
fleet watched(std::int64_t file_first_seen, std::uint64_t file_hosts) {
  fleet f;
  f.since = k_not_after - 60 * k_day;
  f.hashes[k_hash] = rec(file_first_seen, file_hosts);
  return f;
}

TEST(detector_expired_signing, first_seen_exactly_grace_days_after_not_after_does_not_fire) {
  const auto f = watched(k_not_after + 7 * k_day, 5);
  EXPECT_THAT(ids(expired_cert(), shipped_config(), &f), IsEmpty());
}

TEST(detector_expired_signing, first_seen_one_ms_past_the_grace_period_fires_medium) {
  const auto f = watched(k_not_after + 7 * k_day + 1, 5);
  const auto hits = run(expired_cert(), shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_expired));
  EXPECT_EQ(hits[0].level, severity::medium);
  EXPECT_THAT(hits[0].reason, HasSubstr("2026-08-21"));  // the expiry day
  EXPECT_THAT(hits[0].reason, HasSubstr("2026-08-28"));  // the first-seen day
  EXPECT_THAT(hits[0].reason, HasSubstr("5 host(s)"));
  EXPECT_EQ(evidence_of(hits[0], "not_after"), "2026-08-21T04:43:40.000Z");
  EXPECT_EQ(evidence_of(hits[0], "file_hosts"), "5");
}

TEST(detector_expired_signing, rare_hosts_boundary_switches_to_high) {
  const auto on_two = watched(k_not_after + 30 * k_day, 2);
  EXPECT_EQ(level_of(run(expired_cert(), shipped_config(), &on_two), k_expired), severity::high);
  const auto on_three = watched(k_not_after + 30 * k_day, 3);
  EXPECT_EQ(level_of(run(expired_cert(), shipped_config(), &on_three), k_expired), severity::medium);
}

TEST(detector_expired_signing, grace_days_rare_hosts_and_levels_are_configurable) {
  auto cfg = shipped_config();
  cfg.expired_signing.grace_days = 30;
  const auto within = watched(k_not_after + 30 * k_day, 5);
  EXPECT_THAT(ids(expired_cert(), cfg, &within), IsEmpty());
  const auto past = watched(k_not_after + 30 * k_day + 1, 5);
  EXPECT_THAT(ids(expired_cert(), cfg, &past), ElementsAre(k_expired));

  cfg = shipped_config();
  cfg.expired_signing.rare_hosts = 0;
  cfg.expired_signing.level = severity::low;
  const auto one_host = watched(k_not_after + 30 * k_day, 1);
  EXPECT_EQ(level_of(run(expired_cert(), cfg, &one_host), k_expired), severity::low);
  cfg.expired_signing.rare_hosts = 1;
  cfg.expired_signing.rare_level = severity::critical;
  EXPECT_EQ(level_of(run(expired_cert(), cfg, &one_host), k_expired), severity::critical);
}

// Seed false positive: vendor certificates recently expired, binaries still deployed.
TEST(detector_expired_signing, code_first_seen_before_not_after_never_fires) {
  auto o = expired_cert();
  o.signature.status = signature_status::expired;  // the endpoint reports the expiry
  o.signature.trusted = false;
  const auto before = watched(k_not_after - 1, 1);
  EXPECT_THAT(ids(o, shipped_config(), &before), IsEmpty());
  // Not even with a (contradictory) signing time after not-after.
  o.signature.signing_time_ms = k_not_after + k_day;
  EXPECT_THAT(ids(o, shipped_config(), &before), IsEmpty());
  // The boundary: first seen at not-after itself is no longer "before".
  o.signature.signing_time_ms.reset();
  const auto at = watched(k_not_after, 1);
  EXPECT_THAT(ids(o, shipped_config(), &at), ElementsAre(k_expired));
}

// An execution before the certificate expired is itself proof the file is older than
// the expiry: no alert whatever the record says (an event arriving late, after newer
// ones filled the record), and no state read for the common case of a valid certificate.
TEST(detector_expired_signing, an_event_before_not_after_never_fires_and_reads_no_state) {
  auto o = expired_cert();
  o.event_time_ms = k_not_after - k_day;
  const auto f = watched(k_not_after + 30 * k_day, 1);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  EXPECT_EQ(f.hash_reads, 0);
  // The same file and record, run after the expiry: the state decides, and fires.
  o.event_time_ms = k_not_after + 31 * k_day;
  EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_expired));
  EXPECT_GT(f.hash_reads, 0);
  // A signing time after not-after still fires for an early event: the file says so itself.
  o.event_time_ms = k_not_after - k_day;
  o.signature.signing_time_ms = k_not_after + 1;
  EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_expired));
}

TEST(detector_expired_signing, signing_time_after_not_after_fires_without_state) {
  auto o = expired_cert();
  o.signature.signing_time_ms = k_not_after + 1;
  const auto hits = run(o);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_expired));
  EXPECT_EQ(hits[0].level, severity::medium);  // prevalence unknown: not "rare"
  EXPECT_THAT(hits[0].reason, HasSubstr("after its certificate expired on 2026-08-21"));
  EXPECT_EQ(evidence_of(hits[0], "signing_time"), "2026-08-21T04:43:40.001Z");
  // Signed at not-after exactly: still within validity.
  o.signature.signing_time_ms = k_not_after;
  EXPECT_THAT(ids(o), IsEmpty());
}

TEST(detector_expired_signing, signing_time_after_not_after_takes_severity_from_file_prevalence) {
  auto o = expired_cert();
  o.signature.signing_time_ms = k_not_after + 2 * k_day;
  fleet f;  // watching since unknown, file within the grace period: only the timestamp speaks
  f.hashes[k_hash] = rec(k_not_after + 3 * k_day, 1);
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_expired), severity::high);
  f.hashes[k_hash] = rec(k_not_after + 3 * k_day, 40);
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_expired), severity::medium);
}

TEST(detector_expired_signing, signing_time_before_not_after_never_fires) {
  const auto f = watched(k_not_after + 30 * k_day, 1);
  auto o = expired_cert();
  EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_expired));  // control: new and rare
  o.signature.signing_time_ms = k_not_after - k_day;                  // timestamped while valid
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  o.signature.status = signature_status::expired;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_expired_signing, status_expired_without_signing_time_fires_inside_the_grace_period) {
  auto o = expired_cert();
  const auto f = watched(k_not_after + k_day, 4);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());  // status valid: the grace period applies
  o.signature.status = signature_status::expired;
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_expired), severity::medium);
  o.signature.signing_time_ms = k_not_after + k_hour;  // a signing time decides instead
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_expired), severity::medium);
  o.signature.signing_time_ms = k_not_after - k_hour;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_expired_signing, expired_status_without_state_is_tolerated) {
  // Old deployed binaries without a timestamp report "expired" for ever: without state
  // nothing tells them from new code.
  auto o = expired_cert();
  o.signature.status = signature_status::expired;
  o.signature.status_raw.set("errorExpired");
  o.signature.trusted = false;
  EXPECT_THAT(ids(o), IsEmpty());
}

TEST(detector_expired_signing, a_fleet_not_watched_before_not_after_does_not_fire) {
  auto f = watched(k_not_after + 30 * k_day, 1);
  f.since = k_not_after + k_day;  // the store started after the expiry
  EXPECT_THAT(ids(expired_cert(), shipped_config(), &f), IsEmpty());
  f.since = k_not_after;
  EXPECT_THAT(ids(expired_cert(), shipped_config(), &f), IsEmpty());
  f.since.reset();  // unknown
  EXPECT_THAT(ids(expired_cert(), shipped_config(), &f), IsEmpty());
  f.since = k_not_after - 1;
  EXPECT_THAT(ids(expired_cert(), shipped_config(), &f), ElementsAre(k_expired));
}

TEST(detector_expired_signing, needs_a_not_after_and_a_file_record) {
  auto o = expired_cert();
  auto f = watched(k_not_after + 30 * k_day, 1);
  f.hashes.clear();  // a watched fleet that does not know the file
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());

  o.signature.not_after_ms.reset();
  o.signature.signing_time_ms = k_now - k_day;
  f = watched(k_not_after + 30 * k_day, 1);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

// Sysmon's driver loads report "Expired" without any certificate date: new code is a
// file that appears well after the fleet started watching.
TEST(detector_expired_signing, expired_status_without_dates_on_a_new_file_fires) {
  auto o = benign();
  o.kind = event_kind::driver_load;
  o.signature.not_before_ms.reset();
  o.signature.not_after_ms.reset();
  o.signature.status = signature_status::expired;
  fleet f;
  f.since = k_now - 60 * k_day;
  f.hashes[k_hash] = rec(k_now - k_day, 1);
  auto hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_expired), severity::high);  // rare
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("no timestamp"));
  f.hashes[k_hash] = rec(k_now - k_day, 5);
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_expired), severity::medium);
  // Inside the fleet's first week: new to the fleet (after its first day) and rare is
  // low; on more hosts, or on the first day, nothing.
  f.hashes[k_hash] = rec(*f.since + 7 * k_day, 1);
  hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_expired), severity::low);
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("within 7 days of the start of watching"));
  f.hashes[k_hash] = rec(*f.since + 7 * k_day, 3);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.hashes[k_hash] = rec(*f.since + 24 * k_hour, 1);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  // Controls: an unknown start, a signing time, a valid status, no state.
  f.hashes[k_hash] = rec(k_now - k_day, 1);
  f.since.reset();
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.since = k_now - 60 * k_day;
  o.signature.signing_time_ms = k_now - 2 * k_day;
  EXPECT_THAT(ids(o, shipped_config(), &f), Not(Contains(k_expired)));
  o.signature.signing_time_ms.reset();
  o.signature.status = signature_status::valid;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  o.signature.status = signature_status::expired;
  EXPECT_THAT(ids(o), IsEmpty());
}

// A signing time before expiry on a file nobody saw until two years after it.
TEST(detector_expired_signing, a_signing_time_the_fleet_contradicts_fires_medium) {
  auto o = benign();
  const std::int64_t not_after = k_now - 800 * k_day;
  o.signature.not_before_ms = not_after - 365 * k_day;
  o.signature.not_after_ms = not_after;
  o.signature.signing_time_ms = not_after - 10 * k_day;
  fleet f;
  f.since = not_after - 60 * k_day;
  f.hashes[k_hash] = rec(not_after + 730 * k_day, 1);
  auto hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_expired), severity::medium);  // rare, but a doubt: never the rare level
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("730 days after"));
  f.hashes[k_hash] = rec(not_after + 365 * k_day, 1);  // the limit itself
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.hashes[k_hash] = rec(not_after + 730 * k_day, 3);
  f.since = not_after + k_day;  // not watched before the expiry: absence proves nothing
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

// A store that has watched the fleet only for days cannot call a file new code, but it
// knows which files arrived after its first day: a rare one, expired without a timestamp
// or with a signing time long before its first sighting, is worth a look (low).
TEST(detector_expired_signing, a_rare_file_new_to_a_short_history_is_low) {
  auto o = benign();
  const std::int64_t not_after = k_now - 800 * k_day;
  o.signature.not_before_ms = not_after - 365 * k_day;
  o.signature.not_after_ms = not_after;
  o.signature.signing_time_ms = not_after - 45 * k_day;  // claims: signed while valid
  o.signature.status = signature_status::expired;
  fleet f;
  f.since = k_now - 3 * k_day;
  f.hashes[k_hash] = rec(k_now - k_day, 1);
  auto hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_expired), severity::low);
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("claims a signing time of"));
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("new to it"));

  o.signature.signing_time_ms.reset();  // expired and untimestamped
  hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_expired), severity::low);
  EXPECT_THAT(find_hit(hits, k_expired)->reason, HasSubstr("without a timestamp"));

  // Controls: on more hosts than rare_hosts; first seen within new_file_hours of the
  // start; a valid (timestamped) status; a signing time the fleet does not contradict.
  f.hashes[k_hash] = rec(k_now - k_day, 3);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.hashes[k_hash] = rec(*f.since + 24 * k_hour, 1);
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.hashes[k_hash] = rec(k_now - k_day, 1);
  o.signature.status = signature_status::valid;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  o.signature.status = signature_status::expired;
  o.signature.signing_time_ms = k_now - 2 * k_day - 200 * k_day;  // 0.5 year before its sighting
  o.signature.not_after_ms = k_now - 2 * k_day - 100 * k_day;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());

  // The window and the level are configurable.
  o.signature.signing_time_ms.reset();
  auto cfg = shipped_config();
  cfg.expired_signing.new_file_hours = 72;
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
  cfg.expired_signing.new_file_hours = 24;
  cfg.expired_signing.new_file_level = severity::medium;
  EXPECT_EQ(level_of(run(o, cfg, &f), k_expired), severity::medium);
}

TEST(detector_expired_signing, disabled_never_fires) {
  auto o = expired_cert();
  o.signature.signing_time_ms = k_not_after + k_day;
  auto cfg = shipped_config();
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_expired));
  cfg.expired_signing.enabled = false;
  EXPECT_THAT(ids(o, cfg), IsEmpty());
}

// --- cs.issuer.unusual ----------------------------------------------------------------

observation unusual_issuer() {
  auto o = benign();
  set_issuer(o, "Kestrel Code Signing CA");
  return o;
}

TEST(detector_issuer_unusual, issuer_on_two_hosts_fires_low_and_on_three_does_not) {
  const auto o = unusual_issuer();
  fleet f;
  f.issuer_of(o, rec(k_old, 2));
  const auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_issuer));
  EXPECT_EQ(hits[0].level, severity::low);
  EXPECT_THAT(hits[0].reason, HasSubstr("Kestrel Code Signing CA"));
  EXPECT_THAT(hits[0].reason, HasSubstr("2 host(s)"));
  EXPECT_EQ(evidence_of(hits[0], "issuer_hosts"), "2");

  f.issuer_of(o, rec(k_old, 3));
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_issuer_unusual, first_seen_exactly_new_within_days_ago_fires_one_ms_earlier_does_not) {
  const auto o = unusual_issuer();
  fleet f;
  f.issuer_of(o, rec(k_now - 30 * k_day, 50));
  EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_issuer));
  f.issuer_of(o, rec(k_now - 30 * k_day - 1, 50));
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_issuer_unusual, thresholds_are_configurable) {
  const auto o = unusual_issuer();
  auto cfg = shipped_config();
  cfg.issuer_unusual.max_issuer_hosts = 3;
  cfg.issuer_unusual.new_within_days = 5;
  fleet f;
  f.issuer_of(o, rec(k_old, 3));
  EXPECT_THAT(ids(o, cfg, &f), ElementsAre(k_issuer));
  f.issuer_of(o, rec(k_now - 5 * k_day, 40));
  EXPECT_THAT(ids(o, cfg, &f), ElementsAre(k_issuer));
  f.issuer_of(o, rec(k_now - 6 * k_day, 40));
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
}

TEST(detector_issuer_unusual, needs_prevalence_and_an_issuer_record) {
  const auto o = unusual_issuer();
  EXPECT_THAT(ids(o), IsEmpty());  // no state: an unknown CA alone is no alert
  const fleet empty;
  EXPECT_THAT(ids(o, shipped_config(), &empty), IsEmpty());
  auto no_issuer = o;
  no_issuer.signature.issuer.reset();
  no_issuer.signature.issuer_cn.reset();
  fleet f;
  f.issuers[""] = rec(k_now, 1);
  EXPECT_THAT(ids(no_issuer, shipped_config(), &f), IsEmpty());
}

TEST(detector_issuer_unusual, known_cas_match_by_case_insensitive_prefix_of_the_cn) {
  fleet f;
  for (const std::string_view cn : {"DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
                                    "sectigo public code signing CA R36", "GlobalSign GCC R45 EV CodeSigning CA 2020",
                                    "Microsoft Windows Third Party Component CA 2014"}) {
    auto o = benign();
    set_issuer(o, cn);
    f.issuer_of(o, rec(k_now, 1));
    EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty()) << cn;
  }
  // A known CA's name that is not the prefix is not that CA.
  auto o = benign();
  set_issuer(o, "Totally Not DigiCert CA");
  f.issuer_of(o, rec(k_now, 1));
  EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_issuer));
}

TEST(detector_issuer_unusual, escalated_when_untrusted_and_the_signer_has_at_most_two_hashes) {
  auto o = unusual_issuer();
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  fleet f;
  f.issuer_of(o, rec(k_old, 1));
  f.signer_of(o, rec(k_old, 1, 2));
  auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_untrusted, k_issuer));
  EXPECT_EQ(hits[1].level, severity::medium);
  EXPECT_THAT(hits[1].reason, HasSubstr("the signer has 2 file(s)"));

  f.signer_of(o, rec(k_old, 1, 3));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_issuer), severity::low);

  f.signers.clear();  // no signer record: nothing says it is a one-off
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_issuer), severity::low);

  // trusted=false alone (with another status) counts as untrusted too.
  o.signature.status = signature_status::valid;
  f.signer_of(o, rec(k_old, 1, 1));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_issuer), severity::medium);

  // A trusted signature with a single file stays low.
  o.signature.trusted = true;
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_issuer), severity::low);
}

// Seed false positive: enterprise apps signed by internal PKI (IsTrusted=false).
TEST(detector_issuer_unusual, internal_pki_by_issuer_or_thumbprint_is_silent) {
  auto o = benign();
  set_issuer(o, "Contoso Issuing CA 02");
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  fleet f;
  f.issuer_of(o, rec(k_now - k_day, 1));
  f.signer_of(o, rec(k_now - k_day, 1, 1));

  // Control: without the list, the untrusted signature and the rare issuer both fire.
  EXPECT_THAT(ids(o, shipped_config(), &f), UnorderedElementsAre(k_untrusted, k_issuer));

  auto by_cn = shipped_config();
  by_cn.untrusted.internal_pki_issuers = name_set({"contoso issuing ca 02"});
  EXPECT_THAT(ids(o, by_cn, &f), IsEmpty());

  auto by_dn = shipped_config();
  by_dn.untrusted.internal_pki_issuers = name_set({"CN=Contoso Issuing CA 02, O=Some Trust Services, C=US"});
  EXPECT_THAT(ids(o, by_dn, &f), IsEmpty());

  auto by_thumbprint = shipped_config();
  by_thumbprint.untrusted.internal_pki_thumbprints = name_set({k_thumb});
  EXPECT_THAT(ids(o, by_thumbprint, &f), IsEmpty());
}

// Seed false positive: open-source software from lesser-known CAs.
TEST(detector_issuer_unusual, an_unusual_ca_alone_is_a_low_alert) {
  auto o = unusual_issuer();
  set_signer(o, "Open Source Developer, Jane Doe");
  o.pe.company.set("Jane Doe");
  fleet f;
  f.issuer_of(o, rec(k_now - 2 * k_day, 1));
  f.signer_of(o, rec(k_now - 2 * k_day, 1, 1));
  const auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_issuer));
  EXPECT_EQ(combined_severity(hits), severity::low);
}

TEST(detector_issuer_unusual, disabled_never_fires) {
  const auto o = unusual_issuer();
  fleet f;
  f.issuer_of(o, rec(k_now, 1));
  auto cfg = shipped_config();
  cfg.issuer_unusual.enabled = false;
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
}

// --- cs.metadata.subject_mismatch -----------------------------------------------------

observation claims(std::string_view company, std::string_view original_name, std::string_view signer) {
  auto o = benign();
  o.image_path.set(R"(C:\Tools\Kestrel\setup.exe)");  // neither user-writable nor a system folder
  o.pe.company.set(company);
  o.pe.original_file_name.set(original_name);
  set_signer(o, signer);
  return o;
}

TEST(detector_subject_mismatch, a_protected_vendor_claimed_by_company_and_signed_by_another_is_high) {
  const auto o = claims("Microsoft Corporation", "svcupdate.exe", "Kestrel Ventures Ltd");
  const auto hits = run(o);  // no state needed
  ASSERT_THAT(ids_of(hits), ElementsAre(k_mismatch));
  EXPECT_EQ(hits[0].level, severity::high);
  EXPECT_THAT(hits[0].reason, HasSubstr("Kestrel Ventures Ltd"));
  EXPECT_EQ(evidence_of(hits[0], "protected_vendor"), "microsoft");
  EXPECT_EQ(evidence_of(hits[0], "pe_company"), "Microsoft Corporation");

  // Every shipped vendor is protected by its name.
  for (const auto& v : content().protected_vendors) {
    const auto other = claims(v.token + " Software Inc.", "x.exe", "Kestrel Ventures Ltd");
    EXPECT_EQ(level_of(run(other), k_mismatch), severity::high) << v.token;
  }
}

TEST(detector_subject_mismatch, a_protected_binary_name_signed_by_another_is_high) {
  // No company at all, a Microsoft binary's original name (any case).
  auto o = claims("", "SvcHost.EXE", "Kestrel Ventures Ltd");
  o.pe.company.reset();
  auto hits = run(o);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_mismatch));
  EXPECT_EQ(hits[0].level, severity::high);
  EXPECT_EQ(evidence_of(hits[0], "protected_vendor"), "microsoft");

  // chrome.exe under its signer's own company name still claims Google.
  const auto chrome = claims("Kestrel Ventures", "chrome.exe", "Kestrel Ventures Ltd");
  hits = run(chrome);
  ASSERT_EQ(level_of(hits, k_mismatch), severity::high);
  EXPECT_EQ(evidence_of(hits[0], "protected_vendor"), "google");
}

TEST(detector_subject_mismatch, the_vendor_signing_its_own_binaries_is_no_hit) {
  EXPECT_THAT(ids(claims("Google LLC", "chrome.exe", "Google LLC")), IsEmpty());
  EXPECT_THAT(ids(claims("Mozilla Corporation", "firefox.exe", "Mozilla Corporation")), IsEmpty());
  // Legal forms and case do not matter.
  EXPECT_THAT(ids(claims("NVIDIA CORP.", "nvcontainer.exe", "Nvidia Corporation")), IsEmpty());
}

TEST(detector_subject_mismatch, a_microsoft_signed_file_of_another_vendor_is_no_hit) {
  // WHQL / catalog signing: Microsoft signs other vendors' drivers and tools.
  auto o = claims("NVIDIA Corporation", "nvcontainer.exe", "Microsoft Corporation");
  o.signature.subject_cn.set("Microsoft Windows Hardware Compatibility Publisher");
  set_issuer(o, "Microsoft Windows Third Party Component CA 2014");
  fleet f;  // even a new pair on a rare file
  f.pair_of(o, rec(k_now, 1));
  f.file(o, rec(k_now, 1));
  EXPECT_THAT(ids(o, shipped_config(), &f), Not(Contains(k_mismatch)));
  EXPECT_THAT(ids(o), IsEmpty());

  auto plain = claims("Contoso Software", "contoso.exe", "Microsoft Corporation");
  set_issuer(plain, "Microsoft Code Signing PCA 2011");
  f.pair_of(plain, rec(k_now, 1));
  EXPECT_THAT(ids(plain, shipped_config(), &f), Not(Contains(k_mismatch)));
}

TEST(detector_subject_mismatch, a_new_pair_on_a_rare_file_is_low) {
  const auto o = claims("Contoso Software", "contoso.exe", "Kestrel Ventures Ltd");
  fleet f;
  f.pair_of(o, rec(k_now, 1));
  f.file(o, rec(k_now, 2));
  const auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_mismatch));
  EXPECT_EQ(hits[0].level, severity::low);
  EXPECT_EQ(evidence_of(hits[0], "pair_hosts"), "1");
  EXPECT_EQ(evidence_of(hits[0], "file_hosts"), "2");
  EXPECT_THAT(hits[0].reason, HasSubstr("Contoso Software"));
}

TEST(detector_subject_mismatch, pair_and_file_host_boundaries) {
  const auto o = claims("Contoso Software", "contoso.exe", "Kestrel Ventures Ltd");
  fleet f;
  f.pair_of(o, rec(k_now, 2));  // the pair is known on two hosts: no longer new
  f.file(o, rec(k_now, 1));
  EXPECT_THAT(ids(o, shipped_config(), &f), Not(Contains(k_mismatch)));
  f.pair_of(o, rec(k_now, 1));
  f.file(o, rec(k_now, 3));  // the file is on three hosts: not rare
  EXPECT_THAT(ids(o, shipped_config(), &f), Not(Contains(k_mismatch)));

  auto cfg = shipped_config();
  cfg.subject_mismatch.max_hash_hosts = 3;
  EXPECT_EQ(level_of(run(o, cfg, &f), k_mismatch), severity::low);
  f.pair_of(o, rec(k_now, 2));
  cfg.subject_mismatch.max_pair_hosts = 2;
  EXPECT_EQ(level_of(run(o, cfg, &f), k_mismatch), severity::low);
}

TEST(detector_subject_mismatch, a_pair_without_records_or_state_is_no_hit) {
  const auto o = claims("Contoso Software", "contoso.exe", "Kestrel Ventures Ltd");
  EXPECT_THAT(ids(o), IsEmpty());
  fleet f;
  f.file(o, rec(k_now, 1));  // no pair record
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.hashes.clear();
  f.pair_of(o, rec(k_now, 1));  // no file record
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_subject_mismatch, sharing_a_normalized_token_is_no_hit_legal_forms_do_not_count) {
  fleet f;
  auto shared = claims("ACME WIDGETS, INC.", "widget.exe", "Acme Widgets LLC");
  f.pair_of(shared, rec(k_now, 1));
  f.file(shared, rec(k_now, 1));
  EXPECT_THAT(ids(shared, shipped_config(), &f), IsEmpty());

  // "Ltd" on both sides is not a shared name.
  auto legal_only = claims("Contoso Ltd", "contoso.exe", "Kestrel Ltd");
  f.pair_of(legal_only, rec(k_now, 1));
  EXPECT_EQ(level_of(run(legal_only, shipped_config(), &f), k_mismatch), severity::low);
}

TEST(detector_subject_mismatch, empty_version_info_outside_system_folders_is_low) {
  auto o = claims("", "", "Kestrel Ventures Ltd");
  o.pe.product.set("");
  o.pe.description.set("-");  // Defender writes "-" for empty
  const auto hits = run(o);   // stateless
  ASSERT_THAT(ids_of(hits), ElementsAre(k_mismatch));
  EXPECT_EQ(hits[0].level, severity::low);
  EXPECT_THAT(hits[0].reason, HasSubstr("no version information"));
}

TEST(detector_subject_mismatch, empty_version_info_inside_system_and_program_folders_is_no_hit) {
  for (const std::string_view path :
       {R"(C:\Program Files\Kestrel\agent.exe)", R"(D:\Program Files (x86)\Kestrel\agent.exe)",
        R"(C:\Windows\System32\drivers\kestrel.sys)", R"(c:\windows\syswow64\kestrel.dll)",
        R"(\Device\HarddiskVolume3\Program Files\Kestrel\agent.exe)"}) {
    auto o = claims("", "", "Kestrel Ventures Ltd");
    o.pe.product.set("");
    o.pe.description.set("");
    o.image_path.set(path);
    EXPECT_THAT(ids(o), IsEmpty()) << path;
  }
}

TEST(detector_subject_mismatch, empty_version_info_needs_every_field_empty_a_carrier_and_a_non_microsoft_signer) {
  const auto blank = [] {
    auto o = claims("", "", "Kestrel Ventures Ltd");
    o.pe.product.set("");
    o.pe.description.set("");
    return o;
  };
  EXPECT_THAT(ids(blank()), ElementsAre(k_mismatch));  // control

  auto with_product = blank();
  with_product.pe.product.set("Kestrel Agent");
  EXPECT_THAT(ids(with_product), IsEmpty());

  auto not_carried = blank();  // the source has no version info at all (e.g. Sysmon 7)
  not_carried.pe = pe_info{};
  EXPECT_THAT(ids(not_carried), IsEmpty());

  auto microsoft = blank();
  set_signer(microsoft, "Microsoft Windows");
  set_issuer(microsoft, "Microsoft Windows Production PCA 2011");
  EXPECT_THAT(ids(microsoft), IsEmpty());
}

// --- identity families, look-alikes, learned pairs, bundled components (issue 15) ----

// Microsoft signs its own files under many names; none is a mismatch for a file naming
// Microsoft, with or without the issuer reported (Sysmon reports none).
TEST(detector_subject_mismatch, every_name_of_the_microsoft_family_signs_microsoft_files) {
  const auto& family = content().protected_vendors.front();
  ASSERT_EQ(family.name, "Microsoft");
  EXPECT_THAT(family.signer_names, Contains("Windows Phone"));
  for (const auto& name : family.signer_names) {
    auto o = claims("Microsoft Corporation", "vccorlib140_app.dll", name);
    set_issuer(o, "Microsoft Code Signing PCA 2011");
    EXPECT_THAT(ids(o), IsEmpty()) << name;
    o.signature.issuer.reset();
    o.signature.issuer_cn.reset();
    EXPECT_THAT(ids(o), IsEmpty()) << name << " without an issuer";
  }
  // Control: a name outside the family, with nothing of Microsoft's in it.
  auto other = claims("Microsoft Corporation", "vccorlib140_app.dll", "Windows Tablet");
  other.signature.issuer.reset();
  other.signature.issuer_cn.reset();
  EXPECT_EQ(level_of(run(other), k_mismatch), severity::high);
}

TEST(detector_subject_mismatch, a_family_name_from_a_stranger_ca_is_high_whatever_the_file_claims) {
  auto o = claims("Microsoft Corporation", "setup.exe", "Microsoft Corp.");
  set_issuer(o, "Sectigo Public Code Signing CA R36");
  auto hits = run(o);
  ASSERT_EQ(level_of(hits, k_mismatch), severity::high);
  EXPECT_EQ(evidence_of(*find_hit(hits, k_mismatch), "signer_relation"), "stranger_ca");
  EXPECT_THAT(find_hit(hits, k_mismatch)->reason, HasSubstr("Sectigo Public Code Signing CA R36"));

  auto quiet = claims("Kestrel Ventures", "kestrel.exe", "Microsoft Corporation");  // claims nothing of Microsoft's
  set_issuer(quiet, "Sectigo Public Code Signing CA R36");
  EXPECT_EQ(level_of(run(quiet), k_mismatch), severity::high);

  set_issuer(o, "Microsoft Code Signing PCA 2011");  // the vendor's own CA
  EXPECT_THAT(ids(o), IsEmpty());
}

TEST(detector_subject_mismatch, look_alike_names_in_company_and_signer_are_high) {
  for (const std::string_view name : {"Micr\xD0\xBEsoft Corporation",         // Cyrillic o
                                      "Micros0ft Corporation",                // digit for letter
                                      "Micro\xE2\x80\x8Bsoft Corporation",   // zero-width space
                                      "\xEF\xBC\xAD\xEF\xBD\x89" "crosoft Corporation"}) {  // fullwidth M, i
    auto o = claims(name, "update.exe", name);
    o.signature.issuer.reset();
    o.signature.issuer_cn.reset();
    const auto hits = run(o);
    ASSERT_EQ(level_of(hits, k_mismatch), severity::high) << name;
    EXPECT_EQ(evidence_of(*find_hit(hits, k_mismatch), "signer_relation"), "lookalike") << name;
  }
  // Genuinely different names are not look-alikes, nor is a short token inside a word.
  auto strategy = claims("MicroStrategy Incorporated", "mstr.exe", "MicroStrategy Incorporated");
  EXPECT_THAT(ids(strategy), IsEmpty());
  auto zoominfo = claims("ZoomInfo Technologies LLC", "zi.exe", "ZoomInfo Technologies LLC");
  EXPECT_THAT(ids(zoominfo), IsEmpty());
  auto intelligent = claims("Intelligent Systems", "is.exe", "Intelligent Systems");
  EXPECT_THAT(ids(intelligent), IsEmpty());
}

TEST(detector_subject_mismatch, the_vendor_token_inside_a_strangers_name_on_its_binary_is_high) {
  auto o = claims("Microsoft Corporation", "svchost.exe", "Microsoft Update Services Ltd");
  o.signature.issuer.reset();  // Sysmon: no issuer to rule the name out
  o.signature.issuer_cn.reset();
  fleet f;
  f.signer_of(o, rec(k_now, 400));  // even an established signer
  auto hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_mismatch), severity::high);
  EXPECT_EQ(evidence_of(*find_hit(hits, k_mismatch), "signer_relation"), "embedded");

  // On a company-only claim the same name is a family name we do not list when it is
  // established, and worth a medium look when rare.
  o.pe.original_file_name.set("msupdate.exe");
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.signer_of(o, rec(k_now, 2));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_mismatch), severity::medium);
}

TEST(detector_subject_mismatch, a_rare_signer_claiming_a_vendor_is_high_an_established_one_medium_a_learned_pair_nothing) {
  const auto o = claims("Microsoft Corporation", "msruntime.dll", "Kestrel Ventures Ltd");
  fleet f;
  f.signer_of(o, rec(k_now, 3));  // rare_signer_hosts = 3
  f.pair_of(o, rec(k_now, 1));
  auto hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_mismatch), severity::high);
  EXPECT_EQ(evidence_of(*find_hit(hits, k_mismatch), "signer_hosts"), "3");

  f.signer_of(o, rec(k_now, 4));  // established: a stolen certificate looks like this
  hits = run(o, shipped_config(), &f);
  ASSERT_EQ(level_of(hits, k_mismatch), severity::medium);
  EXPECT_THAT(find_hit(hits, k_mismatch)->reason, HasSubstr("learned at 20"));

  f.pair_of(o, rec(k_now, 19));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_mismatch), severity::medium);
  f.pair_of(o, rec(k_now, 20));  // learned: the fleet's evidence this signer ships it
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

observation bundled(std::string_view process, std::string_view library, std::string_view company,
                    std::string_view signer) {
  auto o = claims(company, "libglib-2.0-0.dll", signer);
  o.kind = event_kind::image_load;
  o.process_path.set(process);
  o.image_path.set(library);
  return o;
}

TEST(detector_subject_mismatch, a_library_in_its_loaders_product_folder_is_a_bundled_component) {
  const auto wireshark = [](std::string_view process, std::string_view library) {
    return bundled(process, library, "The GLib developer community", "Wireshark Foundation, Inc.");
  };
  const auto judged = [](const observation& o, std::uint64_t signer_hosts) {
    fleet f;
    f.pair_of(o, rec(k_now, 1));
    f.file(o, rec(k_now, 1));
    f.signer_of(o, rec(k_now, signer_hosts));
    return level_of(run(o, shipped_config(), &f), k_mismatch);
  };
  const auto same_folder = wireshark(R"(C:\Program Files\Wireshark\Wireshark.exe)",
                                     R"(C:\Program Files\Wireshark\libglib-2.0-0.dll)");
  EXPECT_EQ(judged(same_folder, 200), std::nullopt);          // established signer: nothing
  EXPECT_EQ(judged(same_folder, 2), severity::info);          // rare signer: info
  const auto below = bundled(R"(C:\Users\ann\AppData\Local\Programs\Python\Python39\python.exe)",
                             R"(C:\Users\ann\AppData\Local\Programs\Python\Python39\DLLs\libcrypto-1_1.dll)",
                             "The OpenSSL Project, https://www.openssl.org/", "Python Software Foundation");
  EXPECT_EQ(judged(below, 200), std::nullopt);
  // Controls: the process start of the same file, another product's folder, a drop folder.
  auto start = same_folder;
  start.kind = event_kind::process_start;
  EXPECT_EQ(judged(start, 200), severity::low);
  EXPECT_EQ(judged(wireshark(R"(C:\Program Files\Git\bin\git.exe)", R"(C:\Program Files\Wireshark\libglib-2.0-0.dll)"), 200),
            severity::low);
  EXPECT_EQ(judged(wireshark(R"(C:\Users\ann\AppData\Local\Temp\ws\run.exe)", R"(C:\Users\ann\AppData\Local\Temp\ws\libglib-2.0-0.dll)"), 200),
            severity::low);
  EXPECT_EQ(judged(wireshark(R"(C:\Users\ann\AppData\Local\Programs\A\a.exe)", R"(C:\Users\ann\AppData\Local\Programs\B\libglib-2.0-0.dll)"), 200),
            severity::low);
}

TEST(detector_subject_mismatch, a_bundled_library_claiming_a_vendor_binary_or_with_a_rare_signer_is_still_judged) {
  auto o = bundled(R"(C:\Program Files\Kestrel\kestrel.exe)", R"(C:\Program Files\Kestrel\version.dll)",
                   "Microsoft Corporation", "Kestrel Ventures Ltd");
  o.pe.original_file_name.set("version.dll");  // a Windows binary's name: the sideloading shape
  fleet f;
  f.signer_of(o, rec(k_now, 200));
  f.pair_of(o, rec(k_now, 1));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_mismatch), severity::medium);
  o.pe.original_file_name.set("vcruntime140.dll");  // a runtime the product ships
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
  f.signer_of(o, rec(k_now, 1));  // but from a rare signer, a claim to be Microsoft
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_mismatch), severity::high);
  o.pe.original_file_name.set("version.dll");
  EXPECT_EQ(level_of(run(o, shipped_config(), &f), k_mismatch), severity::high);
}

TEST(detector_content, protected_vendor_files_report_their_errors_with_file_and_line) {
  const auto list = load_protected_vendors(
      "protected_vendors:\n"
      "  - name: A\n"
      "    token: alpha\n"
      "  - name: B\n"
      "    tokn: beta\n"
      "  - token: gamma delta\n"
      "    signers: bad\n"
      "  - token: epsilon\n"
      "    signs_for_others: maybe\n",
      "pv.yaml");
  ASSERT_EQ(list.vendors.size(), 1U);
  EXPECT_EQ(list.vendors[0].token, "alpha");
  EXPECT_THAT(list.errors, Contains(HasSubstr("pv.yaml:5: protected_vendors[1].tokn: unknown key")));
  EXPECT_THAT(list.errors, Contains(HasSubstr("pv.yaml:7: protected_vendors[2].signers: must be a list")));
  EXPECT_THAT(list.errors, Contains(HasSubstr("protected_vendors[2].token: is required")));
  EXPECT_THAT(list.errors, Contains(HasSubstr("pv.yaml:9: protected_vendors[3].signs_for_others")));
  EXPECT_THAT(load_protected_vendors("protected_vendors: {}", "x.yaml").errors, Contains(HasSubstr("must be a list")));
  EXPECT_THAT(load_protected_vendors("[", "x.yaml").errors, Not(IsEmpty()));
}

TEST(detector_subject_mismatch, unsigned_files_and_disabled_detector_never_fire) {
  auto o = claims("Microsoft Corporation", "svchost.exe", "Kestrel Ventures Ltd");
  auto cfg = shipped_config();
  cfg.subject_mismatch.enabled = false;
  EXPECT_THAT(ids(o, cfg), IsEmpty());
  o.signature.exists = false;
  EXPECT_THAT(ids(o), IsEmpty());
}

// --- cs.codeintegrity.enforcement -----------------------------------------------------

observation ci_event(std::int64_t event_id, std::optional<std::int64_t> verification_error = std::nullopt) {
  auto o = benign();
  o.kind = event_kind::code_integrity;
  o.image_path.set(R"(C:\Users\dev\source\app\bin\Debug\app.exe)");
  o.process_path.set(R"(C:\Windows\explorer.exe)");
  o.signature = code_signature{};  // Code Integrity verdicts stand on their own
  o.ci.event_id = event_id;
  o.ci.klass = ci_class_of(event_id);
  o.ci.policy_name.set("Contoso Base Policy");
  o.ci.policy_id.set("{a244370e-44c9-4c06-b551-f6016e563076}");
  o.ci.verification_error = verification_error;
  return o;
}

TEST(detector_codeintegrity, block_and_revoked_classes_are_high) {
  for (const std::int64_t id : {3023, 3036, 3112, 3077, 3033, 3104, 3021, 3022, 3032, 3035}) {
    const auto hits = run(ci_event(id));
    ASSERT_THAT(ids_of(hits), ElementsAre(k_ci)) << id;
    EXPECT_EQ(hits[0].level, severity::high) << id;
  }
}

TEST(detector_codeintegrity, unsigned_and_invalid_loads_are_medium) {
  for (const std::int64_t id : {3001, 3037, 3004}) {
    EXPECT_EQ(level_of(run(ci_event(id)), k_ci), severity::medium) << id;
  }
}

// Seed false positive: dev/staging test-signed builds (audit-mode CI events low).
TEST(detector_codeintegrity, audit_mode_is_low) {
  for (const std::int64_t id : {3076, 3034, 3064, 3066}) {
    EXPECT_EQ(level_of(run(ci_event(id)), k_ci), severity::low) << id;
  }
}

TEST(detector_codeintegrity, policy_signature_info_and_unknown_events_do_not_hit) {
  for (const std::int64_t id : {3099, 3095, 3096, 3100, 3105, 3089, 1234}) {
    EXPECT_THAT(ids(ci_event(id, 7)), IsEmpty()) << id;
  }
}

TEST(detector_codeintegrity, verification_errors_4_5_7_19_27_raise_to_high) {
  for (const std::int64_t err : {4, 5, 7, 19, 27}) {
    EXPECT_EQ(level_of(run(ci_event(3076, err)), k_ci), severity::high) << err;  // audit
    EXPECT_EQ(level_of(run(ci_event(3037, err)), k_ci), severity::high) << err;  // unsigned load
  }
  for (const std::int64_t err : {0, 1, 3, 6, 11, 23, 28}) {
    EXPECT_EQ(level_of(run(ci_event(3076, err)), k_ci), severity::low) << err;
  }
  const auto hits = run(ci_event(3076, 19));
  ASSERT_EQ(hits.size(), 1U);
  EXPECT_EQ(evidence_of(hits[0], "verification_error"), "19");
  EXPECT_EQ(evidence_of(hits[0], "policy"), "Contoso Base Policy");
  EXPECT_EQ(evidence_of(hits[0], "event_id"), "3076");
  EXPECT_THAT(hits[0].reason, HasSubstr("verification error 19"));
}

TEST(detector_codeintegrity, escalation_never_lowers_a_configured_level_and_the_error_list_is_config) {
  auto cfg = shipped_config();
  cfg.codeintegrity.block_level = severity::critical;
  EXPECT_EQ(level_of(run(ci_event(3077, 7), cfg), k_ci), severity::critical);
  cfg = shipped_config();
  cfg.codeintegrity.escalating_errors = {23};
  EXPECT_EQ(level_of(run(ci_event(3076, 7), cfg), k_ci), severity::low);
  EXPECT_EQ(level_of(run(ci_event(3076, 23), cfg), k_ci), severity::high);
}

observation internal_pki_ci_event(std::int64_t event_id, std::int64_t verification_error) {
  auto o = ci_event(event_id, verification_error);  // error 7: untrusted root, by design for an internal CA
  o.signature.exists = true;
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  o.signature.issuer.set("CN=Contoso Issuing CA 02, DC=corp, DC=contoso, DC=com");
  o.signature.issuer_cn.set("Contoso Issuing CA 02");
  o.signature.thumbprint.set(std::string(64, 'e'));
  o.signature.subject_cn.set("Contoso Build");
  return o;
}

detector_config internal_pki_by_issuer() {
  auto cfg = shipped_config();
  cfg.untrusted.internal_pki_issuers = name_set({"Contoso Issuing CA 02"});
  return cfg;
}

detector_config internal_pki_by_thumbprint() {
  auto cfg = shipped_config();
  cfg.untrusted.internal_pki_thumbprints = name_set({std::string(64, 'e')});
  return cfg;
}

TEST(detector_codeintegrity, internal_pki_signatures_are_not_escalated) {
  const auto o = internal_pki_ci_event(3037, 7);  // an image loaded, its signer's root untrusted
  EXPECT_THAT(ids(o), UnorderedElementsAre(k_ci, k_untrusted));  // control
  EXPECT_EQ(level_of(run(o), k_ci), severity::high);

  auto hits = run(o, internal_pki_by_issuer());
  ASSERT_THAT(ids_of(hits), ElementsAre(k_ci));
  EXPECT_EQ(hits[0].level, severity::medium);  // the class level, not raised
  EXPECT_EQ(level_of(run(o, internal_pki_by_thumbprint()), k_ci), severity::medium);
  // An internal-PKI signature does not lower a block either.
  EXPECT_EQ(level_of(run(internal_pki_ci_event(3077, 7), internal_pki_by_issuer()), k_ci), severity::high);
}

// Seed false positive: enterprise apps signed by internal PKI, audited while a policy
// is being rolled out (rules/src/detectors_more.cpp: audits of internal-PKI code are silent).
TEST(detector_codeintegrity, audits_of_internal_pki_code_are_silent) {
  const auto o = internal_pki_ci_event(3076, 7);
  EXPECT_EQ(level_of(run(o), k_ci), severity::high);  // control: not internal, raised by error 7
  EXPECT_THAT(ids(o, internal_pki_by_issuer()), IsEmpty());
  EXPECT_THAT(ids(o, internal_pki_by_thumbprint()), IsEmpty());
  EXPECT_THAT(ids(internal_pki_ci_event(3076, 0), internal_pki_by_issuer()), IsEmpty());
}

TEST(detector_codeintegrity, only_code_integrity_events_and_enabled_detector) {
  auto o = ci_event(3077, 7);
  o.kind = event_kind::process_start;  // stray CI facts on another kind of event
  EXPECT_THAT(ids(o), IsEmpty());
  auto cfg = shipped_config();
  cfg.codeintegrity.enabled = false;
  EXPECT_THAT(ids(ci_event(3077, 7), cfg), IsEmpty());
}

TEST(detector_codeintegrity, alerts_aggregate_per_host_file_and_policy_per_window) {
  const auto id_of = [](const observation& o) {
    const auto hits = run(o);
    return alert_id(hits, o, 24 * k_hour);
  };
  auto a = ci_event(3077);
  a.event_time_ms = k_now - k_now % (24 * k_hour) + k_hour;  // 01:00 of a window
  auto later = a;
  later.event_time_ms = *a.event_time_ms + 20 * k_hour;
  EXPECT_EQ(id_of(a), id_of(later));
  auto other_policy = a;
  other_policy.ci.policy_id.set("{00000000-0000-0000-0000-000000000001}");
  EXPECT_NE(id_of(a), id_of(other_policy));
  auto other_host = a;
  other_host.host_id.set("host-2");
  EXPECT_NE(id_of(a), id_of(other_host));
  auto next_window = a;
  next_window.event_time_ms = *a.event_time_ms + 24 * k_hour;
  EXPECT_NE(id_of(a), id_of(next_window));
}

// --- cs.prevalence.rare_signed_user_path ----------------------------------------------

observation in_downloads() {
  auto o = benign();
  o.image_path.set(R"(C:\Users\alice\Downloads\tool.exe)");
  return o;
}

fleet rare_fleet(std::uint64_t file_hosts, std::uint64_t signer_hosts) {
  fleet f;
  const auto o = benign();
  f.file(o, rec(k_old, file_hosts));
  f.signer_of(o, rec(k_old, signer_hosts, 3));
  return f;
}

TEST(detector_rare_user_path, a_file_on_two_hosts_fires_low_and_on_three_does_not) {
  const auto two = rare_fleet(2, 3);
  const auto hits = run(in_downloads(), shipped_config(), &two);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_user_path));
  EXPECT_EQ(hits[0].level, severity::low);
  EXPECT_EQ(evidence_of(hits[0], "file_hosts"), "2");
  EXPECT_EQ(evidence_of(hits[0], "signer_hosts"), "3");
  EXPECT_THAT(hits[0].reason, HasSubstr("Acme Widgets LLC"));
  const auto three = rare_fleet(3, 1);
  EXPECT_THAT(ids(in_downloads(), shipped_config(), &three), IsEmpty());
}

TEST(detector_rare_user_path, a_signer_on_three_hosts_fires_and_on_four_does_not) {
  const auto three = rare_fleet(1, 3);
  EXPECT_THAT(ids(in_downloads(), shipped_config(), &three), ElementsAre(k_user_path));
  const auto four = rare_fleet(1, 4);
  EXPECT_THAT(ids(in_downloads(), shipped_config(), &four), IsEmpty());
}

TEST(detector_rare_user_path, thresholds_are_configurable) {
  auto cfg = shipped_config();
  cfg.rare_user_path.max_hash_hosts = 3;
  cfg.rare_user_path.max_signer_hosts = 4;
  const auto f = rare_fleet(3, 4);
  EXPECT_THAT(ids(in_downloads(), cfg, &f), ElementsAre(k_user_path));
}

TEST(detector_rare_user_path, needs_state_and_a_file_record_but_not_a_signer_record) {
  EXPECT_THAT(ids(in_downloads()), IsEmpty());  // no state
  auto f = rare_fleet(1, 1);
  f.signers.clear();
  EXPECT_THAT(ids(in_downloads(), shipped_config(), &f), ElementsAre(k_user_path));
  f.hashes.clear();
  EXPECT_THAT(ids(in_downloads(), shipped_config(), &f), IsEmpty());
}

TEST(detector_rare_user_path, only_user_writable_folders_or_a_userwriteable_ci_flag) {
  const auto f = rare_fleet(1, 1);
  for (const std::string_view path :
       {R"(C:\Users\alice\Desktop\x.exe)", R"(C:\Users\alice\AppData\Local\Temp\7zS1234\setup.exe)",
        R"(C:\Users\alice\AppData\Roaming\Kestrel\kupdate.exe)", R"(C:\Users\Public\Documents\p.exe)",
        R"(C:\ProgramData\Kestrel\k.exe)", R"(C:\Windows\Temp\t.exe)",
        R"(\Device\HarddiskVolume3\Users\alice\Downloads\x.exe)"}) {
    auto o = benign();
    o.image_path.set(path);
    EXPECT_THAT(ids(o, shipped_config(), &f), ElementsAre(k_user_path)) << path;
  }
  for (const std::string_view path : {R"(C:\Program Files\Acme\tool.exe)", R"(C:\Windows\System32\tool.exe)",
                                      R"(C:\ProgramData\Kestrel\bin\k.exe)", R"(C:\Tools\tool.exe)"}) {
    auto o = benign();
    o.image_path.set(path);
    EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty()) << path;
  }
  auto flagged = benign();
  flagged.image_path.set(R"(C:\Tools\tool.exe)");
  flagged.ci.user_writable = true;
  EXPECT_THAT(ids(flagged, shipped_config(), &f), ElementsAre(k_user_path));
  flagged.ci.user_writable = false;
  EXPECT_THAT(ids(flagged, shipped_config(), &f), IsEmpty());
}

TEST(detector_rare_user_path, unsigned_files_do_not_fire) {
  const auto f = rare_fleet(1, 1);
  auto o = in_downloads();
  o.signature.exists = false;
  o.signature.status = signature_status::not_signed;
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_rare_user_path, medium_with_another_hit_of_the_same_observation) {
  const auto f = rare_fleet(1, 1);
  auto o = in_downloads();
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  const auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_untrusted, k_user_path));
  EXPECT_EQ(hits[1].level, severity::medium);

  auto cfg = shipped_config();
  cfg.rare_user_path.with_other_level = severity::high;
  EXPECT_EQ(level_of(run(o, cfg, &f), k_user_path), severity::high);
}

TEST(detector_rare_user_path, hits_the_caller_already_held_do_not_count_as_another_hit) {
  const auto f = rare_fleet(1, 1);
  std::vector<hit> hits(1);
  hits[0].id = detector_id::signature_revoked;
  detector_set(shipped_config()).evaluate(in_downloads(), &f, hits);
  ASSERT_EQ(hits.size(), 2U);
  EXPECT_EQ(hits[1].id, detector_id::prevalence_rare_signed_user_path);
  EXPECT_EQ(hits[1].level, severity::low);
}

TEST(detector_rare_user_path, medium_with_a_code_integrity_hit_flagged_userwriteable) {
  const auto f = rare_fleet(1, 1);
  auto o = ci_event(3076);
  o.image_path.set(R"(C:\Tools\tool.exe)");
  o.ci.user_writable = true;
  o.signature = benign().signature;
  const auto hits = run(o, shipped_config(), &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_ci, k_user_path));
  EXPECT_EQ(hits[1].level, severity::medium);
}

// docs/detections.md section 3: low, medium with another finding. When the other hit is
// dropped by an exclusion, nothing else remains on the alert and the rare-path hit is
// low: evaluate() (detectors.cpp) runs check_rare_user_path after apply_exclusions.
TEST(detector_rare_user_path, an_excluded_other_hit_does_not_raise_it_to_medium) {
  const auto f = rare_fleet(1, 1);
  auto o = in_downloads();
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  auto cfg = shipped_config();
  exclusion_rule rule;
  rule.name = "known untrusted updater";
  rule.detectors = {k_untrusted};
  rule.thumbprints = name_set({k_thumb});
  cfg.exclusions.push_back(rule);
  const auto hits = run(o, cfg, &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_user_path));
  EXPECT_EQ(hits[0].level, severity::low);
}

// --- cs.intel.abused_certificate ------------------------------------------------------

const std::string k_listed_thumb = "3f" + std::string(62, '1');
constexpr std::int64_t k_leak = k_now - 50 * k_day;

std::shared_ptr<const cert_intel> intel() {
  abused_certificate by_thumb;
  by_thumb.thumbprint_sha256 = k_listed_thumb;
  by_thumb.serial = "77aa";
  by_thumb.subject = "Kestrel Ventures Ltd";
  by_thumb.reason = "QakBot";
  by_thumb.source = "abuse.ch:cscb.csv";

  abused_certificate leaked;
  leaked.serial = "00ab12cd";
  leaked.issuer_cn = "sectigo public code signing ca r36";
  leaked.subject = "Contoso Games Co., Ltd.";
  leaked.reason = "leaked";
  leaked.leak_time_ms = k_leak;
  leaked.source = "lolcerts:leaked.csv";
  return std::make_shared<const cert_intel>(std::vector<abused_certificate>{by_thumb, leaked});
}

observation leaked_cert_signed() {
  auto o = benign();
  set_signer(o, "Contoso Games Co., Ltd.");
  o.pe.company.set("Contoso Games");
  set_issuer(o, "Sectigo Public Code Signing CA R36");
  o.signature.thumbprint.set(std::string(64, 'd'));  // not listed: matched by issuer and serial
  o.signature.serial.set("00:00:AB:12:CD");
  return o;
}

TEST(detector_abused_certificate, listed_thumbprint_is_high_even_for_a_trusted_publisher) {
  auto o = benign();
  o.signature.thumbprint.set(k_listed_thumb);
  auto hits = run(o, shipped_config(), nullptr, intel());
  ASSERT_THAT(ids_of(hits), ElementsAre(k_abused));
  EXPECT_EQ(hits[0].level, severity::high);
  EXPECT_EQ(evidence_of(hits[0], "list"), "abuse.ch:cscb.csv");
  EXPECT_EQ(evidence_of(hits[0], "listed_thumbprint"), k_listed_thumb);
  EXPECT_THAT(hits[0].reason, HasSubstr("QakBot"));

  set_signer(o, "Microsoft Corporation");
  set_issuer(o, "Microsoft Code Signing PCA 2011");  // Microsoft's own CA: the family's name is genuine
  o.pe.company.set("Microsoft Corporation");
  EXPECT_THAT(ids(o), IsEmpty());  // control: no lists loaded
  EXPECT_THAT(ids_of(run(o, shipped_config(), nullptr, intel())), ElementsAre(k_abused));
}

TEST(detector_abused_certificate, issuer_cn_and_serial_with_colons_and_leading_zeros) {
  const auto o = leaked_cert_signed();
  const auto hits = run(o, shipped_config(), nullptr, intel());
  ASSERT_THAT(ids_of(hits), ElementsAre(k_abused));
  EXPECT_EQ(hits[0].level, severity::high);  // no state: nothing says the file predates the leak
  EXPECT_EQ(evidence_of(hits[0], "list"), "lolcerts:leaked.csv");

  auto bare = o;
  bare.signature.serial.set("ab12cd");
  bare.signature.thumbprint.reset();
  EXPECT_THAT(ids_of(run(bare, shipped_config(), nullptr, intel())), ElementsAre(k_abused));
}

TEST(detector_abused_certificate, the_same_serial_under_another_issuer_or_another_serial_is_not_listed) {
  auto other_issuer = leaked_cert_signed();
  set_issuer(other_issuer, "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1");
  EXPECT_THAT(ids_of(run(other_issuer, shipped_config(), nullptr, intel())), IsEmpty());
  auto other_serial = leaked_cert_signed();
  other_serial.signature.serial.set("ab12ce");
  EXPECT_THAT(ids_of(run(other_serial, shipped_config(), nullptr, intel())), IsEmpty());
}

TEST(detector_abused_certificate, no_lists_or_an_empty_list_or_disabled_never_fires) {
  const auto o = leaked_cert_signed();
  EXPECT_THAT(ids(o), IsEmpty());
  EXPECT_THAT(ids_of(run(o, shipped_config(), nullptr, std::make_shared<const cert_intel>())), IsEmpty());
  auto cfg = shipped_config();
  cfg.abused.enabled = false;
  EXPECT_THAT(ids_of(run(o, cfg, nullptr, intel())), IsEmpty());
}

TEST(detector_abused_certificate, a_genuine_old_binary_of_the_vendor_is_medium) {
  const auto o = leaked_cert_signed();
  fleet f;
  f.file(o, rec(k_leak - k_day, 300));
  auto hits = run(o, shipped_config(), &f, intel());
  ASSERT_THAT(ids_of(hits), ElementsAre(k_abused));
  EXPECT_EQ(hits[0].level, severity::medium);
  EXPECT_THAT(hits[0].reason, HasSubstr("predates the leak"));
  EXPECT_EQ(evidence_of(hits[0], "leak_time"), format_rfc3339_ms(k_leak));

  f.file(o, rec(k_leak - 1, 300));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::medium);
  f.file(o, rec(k_leak, 300));  // first seen at the leak: not before it
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::high);
  f.file(o, rec(k_leak + k_day, 1));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::high);
}

TEST(detector_abused_certificate, an_old_file_that_does_not_name_the_vendor_stays_high) {
  auto o = leaked_cert_signed();
  o.pe.company.set("Kestrel Ventures");
  fleet f;
  f.file(o, rec(k_leak - 10 * k_day, 1));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::high);
  o.pe.company.reset();
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::high);
}

TEST(detector_abused_certificate, a_listing_without_leak_time_is_high_however_old_the_file) {
  auto o = benign();
  o.signature.thumbprint.set(k_listed_thumb);
  set_signer(o, "Kestrel Ventures Ltd");
  o.pe.company.set("Kestrel Ventures");
  fleet f;
  f.file(o, rec(k_old - 1000 * k_day, 500));
  EXPECT_EQ(level_of(run(o, shipped_config(), &f, intel()), k_abused), severity::high);
}

// --- cs.signer.first_seen -------------------------------------------------------------

TEST(detector_first_seen, off_by_default) {
  const auto o = benign();
  fleet f;
  f.signer_of(o, rec(k_now, 1));
  EXPECT_THAT(ids(o, shipped_config(), &f), IsEmpty());
}

TEST(detector_first_seen, fires_info_only_for_one_host_first_seen_at_the_event) {
  auto cfg = shipped_config();
  cfg.first_seen.enabled = true;
  const auto o = benign();
  fleet f;
  f.signer_of(o, rec(k_now, 1));
  const auto hits = run(o, cfg, &f);
  ASSERT_THAT(ids_of(hits), ElementsAre(k_first));
  EXPECT_EQ(hits[0].level, severity::info);
  EXPECT_THAT(hits[0].reason, HasSubstr("Acme Widgets LLC"));

  f.signer_of(o, rec(k_now, 2));  // already on a second host
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
  f.signer_of(o, rec(k_now - 1, 1));  // seen a millisecond earlier
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
  f.signers.clear();  // no record at all
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
}

TEST(detector_first_seen, needs_state_and_an_event_time) {
  auto cfg = shipped_config();
  cfg.first_seen.enabled = true;
  auto o = benign();
  EXPECT_THAT(ids(o, cfg), IsEmpty());
  fleet f;
  f.signer_of(o, rec(k_now, 1));
  o.event_time_ms.reset();
  EXPECT_THAT(ids(o, cfg, &f), IsEmpty());
}

// --- exclusions (docs/detections.md section 4) ----------------------------------------------

// Untrusted and freshly issued: two medium hits.
observation pen_test_tool() {
  auto o = benign();
  o.image_path.set(R"(C:\Tools\redteam\beacon.exe)");
  set_signer(o, "Small Security Tools Ltd");
  o.pe.company.set("Small Security Tools");
  o.signature.status = signature_status::untrusted_root;
  o.signature.trusted = false;
  o.signature.not_before_ms = k_now - 2 * k_day;
  return o;
}

exclusion_rule by_thumbprint(std::vector<std::string> detectors = {}) {
  exclusion_rule rule;
  rule.name = "pen-test vendor";
  rule.detectors = std::move(detectors);
  rule.thumbprints = name_set({std::string(64, 'C')});  // case-insensitive
  return rule;
}

// Seed false positive: pen-test tools signed by small vendors.
TEST(detector_exclusions, a_thumbprint_allowlist_removes_the_hits) {
  const auto o = pen_test_tool();
  EXPECT_THAT(ids(o), ElementsAre(k_untrusted, k_recent));  // control
  auto cfg = shipped_config();
  cfg.exclusions.push_back(by_thumbprint());
  EXPECT_THAT(ids(o, cfg), IsEmpty());

  auto other = shipped_config();
  auto rule = by_thumbprint();
  rule.thumbprints = name_set({std::string(64, 'b')});
  other.exclusions.push_back(rule);
  EXPECT_THAT(ids(o, other), ElementsAre(k_untrusted, k_recent));
}

TEST(detector_exclusions, an_allowlist_never_removes_revoked_or_abused_certificate_hits) {
  auto o = pen_test_tool();
  o.signature.status = signature_status::revoked;
  o.signature.thumbprint.set(k_listed_thumb);
  auto cfg = shipped_config();
  auto rule = by_thumbprint();
  rule.thumbprints = name_set({k_listed_thumb});
  cfg.exclusions.push_back(rule);
  EXPECT_THAT(ids_of(run(o, shipped_config(), nullptr, intel())), ElementsAre(k_revoked, k_recent, k_abused));
  EXPECT_THAT(ids_of(run(o, cfg, nullptr, intel())), ElementsAre(k_revoked, k_abused));
}

// Seed false positive: dev/staging test-signed builds from odd paths.
TEST(detector_exclusions, a_path_glob_limited_to_listed_detectors) {
  auto o = pen_test_tool();
  o.image_path.set(R"(D:\build\agent\_work\7\s\out\Release\svc.exe)");
  exclusion_rule rule;
  rule.name = "build agents";
  rule.detectors = {k_untrusted};
  rule.paths = path_glob_set({R"(?:\build\agent\**)"});
  auto cfg = shipped_config();
  cfg.exclusions.push_back(rule);
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_recent));  // only the listed detector is dropped

  o.image_path.set(R"(D:\tools\svc.exe)");
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_untrusted, k_recent));
}

TEST(detector_exclusions, a_host_glob_matches_host_id_or_name) {
  auto o = pen_test_tool();
  exclusion_rule rule;
  rule.name = "staging";
  rule.hosts = path_glob_set({"STG-*"});
  auto cfg = shipped_config();
  cfg.exclusions.push_back(rule);
  o.host_name.set("stg-web-03");
  EXPECT_THAT(ids(o, cfg), IsEmpty());
  o.host_name.set("WS-1");
  o.host_id.set("stg-0042");
  EXPECT_THAT(ids(o, cfg), IsEmpty());
  o.host_id.set("host-1");
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_untrusted, k_recent));
}

TEST(detector_exclusions, every_given_condition_must_match) {
  const auto o = pen_test_tool();
  auto rule = by_thumbprint();
  rule.paths = path_glob_set({R"(**\build\**)"});  // the thumbprint matches, the path does not
  auto cfg = shipped_config();
  cfg.exclusions.push_back(rule);
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_untrusted, k_recent));
  cfg.exclusions[0].paths = path_glob_set({R"(**\redteam\*)"});
  EXPECT_THAT(ids(o, cfg), IsEmpty());
}

TEST(detector_exclusions, signers_and_issuers_conditions) {
  const auto o = pen_test_tool();
  exclusion_rule by_signer;
  by_signer.signers = name_set({"small security tools ltd"});
  auto cfg = shipped_config();
  cfg.exclusions.push_back(by_signer);
  EXPECT_THAT(ids(o, cfg), IsEmpty());

  exclusion_rule by_issuer;
  by_issuer.issuers = name_set({"digicert trusted g4 code signing rsa4096 sha384 2021 ca1"});
  cfg = shipped_config();
  cfg.exclusions.push_back(by_issuer);
  EXPECT_THAT(ids(o, cfg), IsEmpty());

  exclusion_rule wrong_issuer;
  wrong_issuer.issuers = name_set({"Sectigo Public Code Signing CA R36"});
  cfg = shipped_config();
  cfg.exclusions.push_back(wrong_issuer);
  EXPECT_THAT(ids(o, cfg), ElementsAre(k_untrusted, k_recent));
}

TEST(detector_exclusions, rules_apply_one_after_another_and_cover_code_integrity) {
  auto o = pen_test_tool();
  exclusion_rule first;
  first.detectors = {k_untrusted};
  first.thumbprints = name_set({k_thumb});
  exclusion_rule second;
  second.detectors = {k_recent};
  second.hosts = path_glob_set({"host-?"});
  auto cfg = shipped_config();
  cfg.exclusions = {first, second};
  EXPECT_THAT(ids(o, cfg), IsEmpty());

  auto ci = ci_event(3076);
  ci.image_path.set(R"(D:\build\agent\_work\out\test.exe)");
  exclusion_rule dev;
  dev.detectors = {k_ci};
  dev.paths = path_glob_set({R"(D:\build\**)"});
  cfg = shipped_config();
  cfg.exclusions = {dev};
  EXPECT_THAT(ids(ci), ElementsAre(k_ci));
  EXPECT_THAT(ids(ci, cfg), IsEmpty());
}

// --- CA mass revocation ----------------------------------------------------------------

observation revoked_on(std::string_view host, std::string_view sha256) {
  auto o = benign();
  o.host_id.set(host);
  o.host_name.set(host);
  o.sha256.set(sha256);
  o.signature.status = signature_status::revoked;
  o.signature.status_raw.set("errorRevoked");
  return o;
}

detector_config with_mass_revocation(std::string signer, std::int64_t until) {
  auto cfg = shipped_config();
  cfg.mass_revocations.push_back({std::move(signer), until});
  return cfg;
}

TEST(detector_mass_revocation, revoked_hits_get_the_group_key_until_the_date_and_not_after) {
  const auto o = revoked_on("host-1", k_hash);
  auto hits = run(o, with_mass_revocation(k_thumb, k_now + 1));
  ASSERT_THAT(ids_of(hits), ElementsAre(k_revoked));
  EXPECT_EQ(hits[0].group_key, "mass-revocation:" + k_thumb);
  EXPECT_EQ(hits[0].level, severity::high);
  hits = run(o, with_mass_revocation(k_thumb, k_now));  // the suppression expired at the event
  ASSERT_THAT(ids_of(hits), ElementsAre(k_revoked));
  EXPECT_EQ(hits[0].group_key, "");
}

TEST(detector_mass_revocation, the_signer_matches_by_thumbprint_or_subject_names) {
  const auto o = revoked_on("host-1", k_hash);
  for (const std::string& signer : {std::string("acme widgets llc"), std::string("ACME WIDGETS LLC"),
                                    std::string("CN=Acme Widgets LLC, O=Acme Widgets LLC, C=US")}) {
    const auto hits = run(o, with_mass_revocation(signer, k_now + k_day));
    ASSERT_EQ(hits.size(), 1U) << signer;
    EXPECT_EQ(hits[0].group_key, "mass-revocation:" + signer);
  }
  const auto other = run(o, with_mass_revocation("Kestrel Ventures Ltd", k_now + k_day));
  ASSERT_EQ(other.size(), 1U);
  EXPECT_EQ(other[0].group_key, "");
}

TEST(detector_mass_revocation, only_revoked_hits_are_grouped_and_only_with_an_event_time) {
  auto o = revoked_on("host-1", k_hash);
  o.signature.not_before_ms = k_now - k_day;  // also recently issued
  auto hits = run(o, with_mass_revocation(k_thumb, k_now + k_day));
  ASSERT_THAT(ids_of(hits), ElementsAre(k_revoked, k_recent));
  EXPECT_EQ(hits[0].group_key, "mass-revocation:" + k_thumb);
  EXPECT_EQ(hits[1].group_key, "");

  auto no_time = revoked_on("host-1", k_hash);
  no_time.event_time_ms.reset();
  hits = run(no_time, with_mass_revocation(k_thumb, k_now + k_day));
  ASSERT_EQ(hits.size(), 1U);
  EXPECT_EQ(hits[0].group_key, "");
}

// Seed false positive: CA mass revocation: one alert per signer, not one per host.
TEST(detector_mass_revocation, two_hosts_share_one_alert_id_during_and_not_outside_the_revocation) {
  const auto a = revoked_on("host-1", std::string(64, '1'));
  const auto b = revoked_on("host-2", std::string(64, '2'));
  const auto id_of = [](const observation& o, const detector_config& cfg) {
    const auto hits = run(o, cfg);
    return alert_id(hits, o, 24 * k_hour);
  };
  const auto grouped = with_mass_revocation(k_thumb, k_now + k_day);
  EXPECT_EQ(id_of(a, grouped), id_of(b, grouped));
  EXPECT_NE(id_of(a, shipped_config()), id_of(b, shipped_config()));
  const auto expired = with_mass_revocation(k_thumb, k_now);
  EXPECT_NE(id_of(a, expired), id_of(b, expired));
  // Another signer revoked at the same time is another alert.
  auto c = revoked_on("host-3", std::string(64, '3'));
  c.signature.thumbprint.set(std::string(64, 'f'));
  set_signer(c, "Kestrel Ventures Ltd");
  EXPECT_NE(id_of(a, grouped), id_of(c, grouped));
}

}  // namespace
}  // namespace detectors_more_test
}  // namespace countersign::rules
