// The OCSF profile (processor/src/engine/profiles/ocsf.cpp) against docs/detections.md section 1:
// golden fixture lines (tests/data/ocsf/golden.ndjson) mapped field by field, the
// state_id table, times, rejects, and the alert fixture (tests/data/ocsf/
// process_activity.ndjson) through the pipeline against its expected_alerts.tsv.
//
// The fixtures are written from the public OCSF schema: Process Activity (class_uid
// 1007, activity_id 1 Launch), file (`hashes[]`, `signature` up to 1.7, `signatures[]`
// from 1.8), digital_signature (`state_id` 1-10 since 1.7), certificate, fingerprint
// (`algorithm_id` 2 SHA-1, 3 SHA-256), device, actor.user; `time` in epoch ms.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace ocsf_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::event_kind;
using rules::observation;
using rules::signature_status;
using ::testing::ElementsAreArray;
using test_support::k_data;
using test_support::read_lines;

// 2026-11-20T10:00:00Z and the certificate dates of the fixtures, computed
// independently (Python datetime).
constexpr std::int64_t k_t0 = 1'795'168'800'000;
constexpr std::int64_t k_2025_03_01 = 1'740'787'200'000;
constexpr std::int64_t k_2027_03_01 = 1'803'859'200'000;
constexpr std::int64_t k_2026_11_19_08h = 1'795'075'200'000;
constexpr std::int64_t k_2024_01_15 = 1'705'276'800'000;
constexpr std::int64_t k_2030_01_15 = 1'894'665'600'000;
constexpr std::int64_t k_2019_06_01 = 1'559'347'200'000;
constexpr std::int64_t k_2029_06_01 = 1'874'966'400'000;

const std::vector<std::string>& golden() {
  static const std::vector<std::string> lines = read_lines(k_data + "/ocsf/golden.ndjson");
  return lines;
}

// ok() fails the test on a reject or on anything but one OCSF observation.
using harness = test_support::parse_harness<rules::schema_profile::ocsf>;

// A Process Activity launch with `file_members` inside process.file.
std::string launch_with_file(std::string_view file_members) {
  return R"({"class_uid":1007,"activity_id":1,"time":1795168800000,"device":{"uid":"d1"},"process":{"file":{)" +
         std::string(file_members) + "}}}";
}

// The same, with `signature_members` inside the 1.8 process.file.signatures[0].
std::string launch_with_signature(std::string_view signature_members) {
  return launch_with_file(R"("path":"C:\\x.exe","signatures":[{)" + std::string(signature_members) + "}]");
}

// --- golden fixture lines ------------------------------------------------------------------

TEST(ocsf_profile, the_golden_fixture_has_the_lines_these_tests_expect) {
  ASSERT_EQ(golden().size(), 5U) << "golden.ndjson changed; review the golden tests";
  harness h;
  for (const auto& line : golden()) {
    const auto& o = h.ok(line);
    EXPECT_EQ(o.source.schema, rules::schema_profile::ocsf);
    EXPECT_NE(o.host_hash, 0U);
  }
}

TEST(ocsf_profile, signatures_array_of_1_8_fills_every_mapped_field) {
  harness h;
  const auto& o = h.ok(golden().at(0));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0 + 250);
  EXPECT_EQ(o.host_id.value, "dev-0001");
  EXPECT_EQ(o.host_name.value, "ws-0001.corp.example") << "device.hostname wins over device.name";
  EXPECT_EQ(o.host_key(), "dev-0001");
  EXPECT_EQ(o.user_name.value, "alice") << "actor.user wins over process.user";
  EXPECT_EQ(o.image_path.value, R"(C:\Users\alice\Downloads\tool.exe)") << "not actor.process.file.path";
  EXPECT_FALSE(o.process_path.present);
  EXPECT_EQ(o.sha256.value, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(o.pe.company.value, "Acme Widgets LLC");
  EXPECT_EQ(o.pe.product.value, "Widget Tool");
  EXPECT_EQ(o.pe.original_file_name.value, "widgettool.exe");
  EXPECT_EQ(o.pe.file_version.value, "1.2.3.4");
  EXPECT_EQ(o.pe.description.value, "Widget tool");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_TRUE(s.is_present());
  EXPECT_EQ(s.status, signature_status::revoked);
  EXPECT_EQ(s.status_raw.value, "Revoked");
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.signature_type.value, "Authenticode");
  EXPECT_EQ(s.signing_time_ms, k_2026_11_19_08h);
  EXPECT_EQ(s.subject.value, "CN=Acme Widgets LLC, O=Acme Widgets LLC, L=Springfield, C=US");
  EXPECT_EQ(s.subject_cn.value, "Acme Widgets LLC");
  EXPECT_EQ(s.subject_o.value, "Acme Widgets LLC");
  EXPECT_EQ(s.issuer.value, "CN=Example Code Signing CA R1, O=Example Trust Services, C=GB");
  EXPECT_EQ(s.issuer_cn.value, "Example Code Signing CA R1");
  EXPECT_EQ(s.serial.value, "00a1b2c3d4");
  EXPECT_EQ(s.not_before_ms, k_2025_03_01);
  EXPECT_EQ(s.not_after_ms, k_2027_03_01);
  // The SHA-256 fingerprint, though it follows the SHA-1 one; not the signature digest.
  EXPECT_EQ(s.thumbprint.value, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_FALSE(o.ci.present());
}

TEST(ocsf_profile, signature_object_of_1_7_fills_the_signer_and_reads_rfc3339_times) {
  harness h;
  const auto& o = h.ok(golden().at(1));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0) << "11:00+01:00 is 10:00Z";
  EXPECT_EQ(o.host_id.value, "dev-0002");
  EXPECT_EQ(o.host_name.value, "WS-0002") << "device.name stands in for the missing hostname";
  EXPECT_EQ(o.user_name.value, "bob");
  EXPECT_EQ(o.image_path.value, R"(C:\ProgramData\updater\svc.exe)");
  EXPECT_EQ(o.sha256.value, "0303030303030303030303030303030303030303030303030303030303030303");
  EXPECT_FALSE(o.sha1.present);
  EXPECT_FALSE(o.pe.company.present);
  EXPECT_FALSE(o.pe.product.present);
  EXPECT_FALSE(o.pe.original_file_name.present);
  EXPECT_FALSE(o.pe.file_version.present);
  EXPECT_FALSE(o.pe.description.present);
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "state_id=6") << "no `state` caption: the id is kept";
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.signature_type.value, "RSA") << "caption of algorithm_id 2";
  EXPECT_EQ(s.signing_time_ms, k_2026_11_19_08h);
  EXPECT_EQ(s.subject.value, "Updater Service");
  EXPECT_EQ(s.subject_cn.value, "Updater Service") << "a bare name is its own CN";
  EXPECT_FALSE(s.subject_o.present);
  EXPECT_EQ(s.issuer.value, "CN=Updater Root CA");
  EXPECT_EQ(s.issuer_cn.value, "Updater Root CA");
  EXPECT_EQ(s.serial.value, "0badc0de");
  EXPECT_EQ(s.not_before_ms, k_2024_01_15);
  EXPECT_EQ(s.not_after_ms, k_2030_01_15);
  EXPECT_EQ(s.thumbprint.value, "aabbccddeeff00112233445566778899aabbccdd") << "SHA-1 when there is no SHA-256";
}

TEST(ocsf_profile, a_process_activity_with_no_file_signature_parses_with_the_signature_missing) {
  harness h;
  const auto& o = h.ok(golden().at(2));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0 + 5 * 60'000);
  EXPECT_FALSE(o.host_id.present);
  EXPECT_EQ(o.host_name.value, "ws-0003");
  EXPECT_EQ(o.host_key(), "ws-0003") << "a hostname alone identifies the host";
  EXPECT_FALSE(o.user_name.present);
  EXPECT_EQ(o.image_path.value, "calc.exe") << "file.name stands in for the missing path";
  EXPECT_TRUE(o.pe.company.present) << "an empty string is present";
  EXPECT_EQ(o.pe.company.value, "");
  EXPECT_FALSE(o.pe.company.has_value());
  EXPECT_FALSE(o.pe.product.present) << "never mentioned";
  EXPECT_FALSE(o.sha256.present) << "empty hashes[]";
  EXPECT_FALSE(o.sha1.present);
  const auto& s = o.signature;
  EXPECT_FALSE(s.exists.has_value()) << "no signature object is missing, not exists=false";
  EXPECT_EQ(s.status, signature_status::missing);
  EXPECT_FALSE(s.status_raw.present);
  EXPECT_FALSE(s.trusted.has_value());
  EXPECT_FALSE(s.is_present());
  EXPECT_FALSE(s.subject.present);
  EXPECT_FALSE(s.issuer.present);
  EXPECT_FALSE(s.serial.present);
  EXPECT_FALSE(s.thumbprint.present);
  EXPECT_FALSE(s.signature_type.present);
  EXPECT_FALSE(s.not_before_ms.has_value());
  EXPECT_FALSE(s.not_after_ms.has_value());
  EXPECT_FALSE(s.signing_time_ms.has_value());
}

TEST(ocsf_profile, null_fields_are_missing) {
  harness h;
  const auto& o = h.ok(golden().at(3));
  EXPECT_EQ(o.event_time_ms, k_t0 + 10 * 60'000);
  EXPECT_EQ(o.host_id.value, "dev-0004");
  EXPECT_FALSE(o.host_name.present);
  EXPECT_FALSE(o.user_name.present);
  EXPECT_FALSE(o.image_path.present);
  EXPECT_FALSE(o.sha256.present);
  EXPECT_FALSE(o.sha1.present);
  EXPECT_FALSE(o.pe.company.present);
  EXPECT_FALSE(o.pe.product.present);
  EXPECT_FALSE(o.pe.original_file_name.present);
  EXPECT_FALSE(o.pe.file_version.present);
  EXPECT_FALSE(o.pe.description.present);
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true) << "the signature object itself is there";
  EXPECT_EQ(s.status, signature_status::missing);
  EXPECT_FALSE(s.status_raw.present);
  EXPECT_FALSE(s.trusted.has_value());
  EXPECT_FALSE(s.signature_type.present);
  EXPECT_FALSE(s.signing_time_ms.has_value());
  EXPECT_FALSE(s.subject.present);
  EXPECT_FALSE(s.subject_cn.present);
  EXPECT_FALSE(s.issuer.present);
  EXPECT_FALSE(s.issuer_cn.present);
  EXPECT_FALSE(s.serial.present);
  EXPECT_FALSE(s.not_before_ms.has_value());
  EXPECT_FALSE(s.not_after_ms.has_value());
  EXPECT_FALSE(s.thumbprint.present);
}

TEST(ocsf_profile, the_1_8_signatures_array_wins_over_the_deprecated_signature_in_any_order) {
  harness h;
  const auto& o = h.ok(golden().at(4));
  EXPECT_EQ(o.kind, event_kind::unknown) << "activity_id 2 is Terminate";
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_EQ(o.host_id.value, "dev-0005");
  EXPECT_FALSE(o.host_name.present);
  EXPECT_EQ(o.user_name.value, "carol") << "process.user stands in for the missing actor.user";
  EXPECT_EQ(o.image_path.value, R"(C:\Program Files\Vendor\app.exe)");
  // file.fingerprints[] as some producers name file.hashes[]; an algorithm by caption only.
  EXPECT_EQ(o.sha1.value, "5555555555555555555555555555555555555555");
  EXPECT_EQ(o.sha256.value, "5656565656565656565656565656565656565656565656565656565656565656");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::valid) << "signatures[] (after a null) and not signature";
  EXPECT_EQ(s.status_raw.value, "Valid");
  EXPECT_EQ(s.trusted, true);
  EXPECT_EQ(s.signature_type.value, "Authenticode");
  EXPECT_EQ(s.subject.value, "CN=Vendor Inc., O=Vendor Inc.");
  EXPECT_EQ(s.subject_cn.value, "Vendor Inc.");
  EXPECT_EQ(s.subject_o.value, "Vendor Inc.");
  EXPECT_EQ(s.issuer_cn.value, "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1");
  EXPECT_EQ(s.serial.value, "0a0b");
  EXPECT_EQ(s.not_before_ms, k_2019_06_01);
  EXPECT_EQ(s.not_after_ms, k_2029_06_01);
  EXPECT_FALSE(s.thumbprint.present);
  EXPECT_FALSE(s.signing_time_ms.has_value());
}

// --- signature forms and status normalization ------------------------------------------

TEST(ocsf_profile, the_1_7_and_1_8_forms_of_one_signature_give_the_same_signer) {
  constexpr std::string_view sig =
      R"({"algorithm_id":4,"state_id":2,"created_time":1795075200000,"certificate":{"subject":"CN=A, O=B",)"
      R"("issuer":"CN=C","serial_number":"0A","created_time":1740787200000,"expiration_time":1803859200000,)"
      R"("fingerprints":[{"algorithm_id":3,"value":"AB"}]}})";
  harness h;
  const auto legacy = h.ok(launch_with_file(R"("signature":)" + std::string(sig))).signature;
  const auto current = h.ok(launch_with_file(R"("signatures":[)" + std::string(sig) + "]")).signature;
  for (const auto* s : {&legacy, &current}) {
    EXPECT_EQ(s->exists, true);
    EXPECT_EQ(s->status, signature_status::expired);
    EXPECT_EQ(s->status_raw.value, "state_id=2");
    EXPECT_EQ(s->trusted, false);
    EXPECT_EQ(s->signature_type.value, "Authenticode");
    EXPECT_EQ(s->signing_time_ms, k_2026_11_19_08h);
    EXPECT_EQ(s->subject_cn.value, "A");
    EXPECT_EQ(s->subject_o.value, "B");
    EXPECT_EQ(s->issuer_cn.value, "C");
    EXPECT_EQ(s->serial.value, "0a");
    EXPECT_EQ(s->not_before_ms, k_2025_03_01);
    EXPECT_EQ(s->not_after_ms, k_2027_03_01);
    EXPECT_EQ(s->thumbprint.value, "ab");
  }
}

TEST(ocsf_profile, the_1_8_signatures_array_wins_when_it_comes_first_too) {
  harness h;
  const auto& o = h.ok(launch_with_file(
      R"("signatures":[{"state_id":3,"certificate":{"subject":"CN=New"}},{"state_id":1}],)"
      R"("signature":{"state_id":1,"certificate":{"subject":"CN=Old","issuer":"CN=Old CA"}})"));
  EXPECT_EQ(o.signature.status, signature_status::revoked);
  EXPECT_EQ(o.signature.subject_cn.value, "New");
  EXPECT_FALSE(o.signature.issuer.present) << "nothing of the deprecated signature leaks in";
}

TEST(ocsf_profile, every_state_id_maps_to_its_status_and_trust) {
  struct row {
    int state_id;
    signature_status status;
    std::optional<bool> trusted;
  };
  const std::vector<row> rows = {
      {0, signature_status::unknown, std::nullopt},          // Unknown
      {1, signature_status::valid, true},                    // Valid
      {2, signature_status::expired, false},                 // Expired
      {3, signature_status::revoked, false},                 // Revoked
      {4, signature_status::unknown, std::nullopt},          // Suspended
      {5, signature_status::unknown, std::nullopt},          // Pending
      {6, signature_status::untrusted_root, false},          // Untrusted
      {7, signature_status::untrusted_root, false},          // Distrusted
      {8, signature_status::chain_error, false},             // WrongUsage
      {9, signature_status::bad_digest, false},              // Bad
      {10, signature_status::bad_digest, false},             // Broken
      {99, signature_status::unknown, std::nullopt},         // Other
      {42, signature_status::other, std::nullopt},           // not in the enum
  };
  harness h;
  for (const auto& r : rows) {
    const auto& s = h.ok(launch_with_signature(R"("state_id":)" + std::to_string(r.state_id))).signature;
    EXPECT_EQ(s.status, r.status) << "state_id " << r.state_id << " gave " << to_string(s.status);
    EXPECT_EQ(s.trusted, r.trusted) << "state_id " << r.state_id;
    EXPECT_EQ(s.status_raw.value, "state_id=" + std::to_string(r.state_id));
    EXPECT_EQ(s.exists, true);
    EXPECT_TRUE(s.is_present());
  }
}

TEST(ocsf_profile, the_state_caption_is_kept_raw_and_the_state_id_decides) {
  harness h;
  const auto& s = h.ok(launch_with_signature(R"("state":"Distrusted","state_id":7)")).signature;
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "Distrusted");
  const auto& t = h.ok(launch_with_signature(R"("state_id":3,"state":"Vendor says revoked")")).signature;
  EXPECT_EQ(t.status, signature_status::revoked);
  EXPECT_EQ(t.status_raw.value, "Vendor says revoked");
  EXPECT_EQ(t.trusted, false);
  const auto& u = h.ok(launch_with_signature(R"("state_id":"3","state":"")")).signature;
  EXPECT_EQ(u.status, signature_status::revoked) << "a numeric string is an integer";
  EXPECT_EQ(u.status_raw.value, "state_id=3") << "an empty caption is no caption";
}

TEST(ocsf_profile, a_state_caption_without_a_state_id_is_normalized_by_its_caption) {
  const std::vector<std::pair<std::string, signature_status>> cases = {
      {"Valid", signature_status::valid},          {"revoked", signature_status::revoked},
      {"Untrusted", signature_status::untrusted_root}, {"WrongUsage", signature_status::chain_error},
      {"Broken", signature_status::bad_digest},    {"Suspended", signature_status::unknown},
      {"Quarantined", signature_status::other},
  };
  harness h;
  for (const auto& [caption, expected] : cases) {
    const auto& s = h.ok(launch_with_signature(R"("state":")" + caption + '"')).signature;
    EXPECT_EQ(s.status, expected) << caption << " gave " << to_string(s.status);
    EXPECT_EQ(s.status_raw.value, caption);
  }
  EXPECT_EQ(h.ok(launch_with_signature(R"("state":"Valid")")).signature.trusted, true);
  EXPECT_EQ(h.ok(launch_with_signature(R"("state":"Quarantined")")).signature.trusted, std::nullopt);
}

TEST(ocsf_profile, no_state_is_missing_not_unknown) {
  harness h;
  const auto& s = h.ok(launch_with_signature(R"("algorithm":"Authenticode")")).signature;
  EXPECT_EQ(s.status, signature_status::missing);
  EXPECT_FALSE(s.status_raw.present);
  EXPECT_FALSE(s.trusted.has_value());
  EXPECT_TRUE(s.is_present());
}

TEST(ocsf_profile, the_algorithm_caption_wins_and_algorithm_id_stands_in_for_it) {
  harness h;
  EXPECT_EQ(h.ok(launch_with_signature(R"("algorithm_id":99,"algorithm":"Vendor PGP")")).signature.signature_type.value,
            "Vendor PGP");
  const std::vector<std::pair<int, std::string>> ids = {{0, "Unknown"}, {1, "DSA"},          {2, "RSA"},
                                                        {3, "ECDSA"},   {4, "Authenticode"}, {5, "Code Signing"},
                                                        {6, "App Package"}, {99, "Other"},  {7, "algorithm_id=7"}};
  for (const auto& [id, caption] : ids) {
    EXPECT_EQ(h.ok(launch_with_signature(R"("algorithm_id":)" + std::to_string(id))).signature.signature_type.value,
              caption)
        << id;
  }
}

TEST(ocsf_profile, an_empty_signatures_array_leaves_the_signature_missing) {
  harness h;
  for (const char* members : {R"("signatures":[])", R"("signatures":[null])", R"("signature":null)",
                              R"("signatures":null,"signature":null)"}) {
    const auto& s = h.ok(launch_with_file(members)).signature;
    EXPECT_FALSE(s.exists.has_value()) << members;
    EXPECT_FALSE(s.is_present()) << members;
  }
}

// --- hashes and fingerprints ---------------------------------------------------------------

TEST(ocsf_profile, hashes_with_unknown_algorithm_ids_are_ignored) {
  harness h;
  const auto& o = h.ok(launch_with_file(
      R"("hashes":[{"algorithm_id":0,"value":"00"},{"algorithm_id":1,"value":"11"},{"algorithm_id":4,"value":"44"},)"
      R"({"algorithm_id":5,"value":"3:ab:cd"},{"algorithm_id":6,"value":"T1AB"},{"algorithm_id":18,"value":"1818"},)"
      R"({"algorithm_id":99,"algorithm":"SHA-256","value":"9999"},{"value":"AAAA"},{"algorithm":"MD5","value":"BB"}])"));
  EXPECT_FALSE(o.sha256.present) << o.sha256.value;
  EXPECT_FALSE(o.sha1.present) << o.sha1.value;
}

TEST(ocsf_profile, the_first_hash_of_each_algorithm_is_kept_in_lowercase_hex) {
  harness h;
  const auto& o = h.ok(launch_with_file(
      R"("hashes":[{"value":"AA:BB","algorithm_id":3},{"algorithm_id":"2","value":"CC DD"},)"
      R"({"algorithm_id":3,"value":"EEEE"},{"algorithm_id":2,"value":"FFFF"}],)"
      R"("fingerprints":[{"algorithm_id":3,"value":"1234"}])"));
  EXPECT_EQ(o.sha256.value, "aabb") << "value before algorithm_id in the object";
  EXPECT_EQ(o.sha1.value, "ccdd") << "algorithm_id as a numeric string";
}

TEST(ocsf_profile, the_certificate_sha256_fingerprint_is_the_thumbprint_else_the_sha1_one) {
  harness h;
  const auto cert = [&](std::string_view fingerprints) -> std::string {
    return h.ok(launch_with_signature(R"("certificate":{"fingerprints":)" + std::string(fingerprints) + "}"))
        .signature.thumbprint.value;
  };
  EXPECT_EQ(cert(R"([{"algorithm_id":3,"value":"A2"},{"algorithm_id":2,"value":"B1"}])"), "a2");
  EXPECT_EQ(cert(R"([{"algorithm_id":2,"value":"B1"},{"algorithm_id":3,"value":"A2"}])"), "a2");
  EXPECT_EQ(cert(R"([{"algorithm_id":2,"value":"B1"},{"algorithm_id":2,"value":"B2"}])"), "b1");
  EXPECT_EQ(cert(R"([{"algorithm_id":3,"value":"A1"},{"algorithm_id":3,"value":"A2"}])"), "a1");
  EXPECT_EQ(cert(R"([{"algorithm":"SHA-256","value":"C3"}])"), "c3");
  EXPECT_FALSE(h.ok(launch_with_signature(R"("certificate":{"fingerprints":[{"algorithm_id":1,"value":"D4"}]})"))
                   .signature.thumbprint.present);
  EXPECT_FALSE(h.ok(launch_with_signature(R"("digest":{"algorithm_id":3,"value":"E5"})")).signature.thumbprint.present)
      << "the signed digest is not the certificate";
}

// --- times, host, kind ---------------------------------------------------------------------

TEST(ocsf_profile, event_time_is_read_from_epoch_ms_epoch_seconds_and_rfc3339) {
  harness h;
  const auto with_time = [](std::string_view t) {
    return R"({"class_uid":1007,"activity_id":1,"time":)" + std::string(t) + R"(,"device":{"uid":"d1"}})";
  };
  EXPECT_EQ(h.ok(with_time("1795168800250")).event_time_ms, k_t0 + 250);
  EXPECT_EQ(h.ok(with_time("1795168800")).event_time_ms, k_t0);
  EXPECT_EQ(h.ok(with_time(R"("1795168800000")")).event_time_ms, k_t0);
  EXPECT_EQ(h.ok(with_time(R"("2026-11-20T10:00:00.250Z")")).event_time_ms, k_t0 + 250);
  EXPECT_EQ(h.ok(with_time(R"("2026-11-20T05:00:00-05:00")")).event_time_ms, k_t0);
  // The Date/Time profile's time_dt stands in for a missing time.
  EXPECT_EQ(h.ok(R"({"class_uid":1007,"time_dt":"2026-11-20T10:00:00Z","device":{"uid":"d1"}})").event_time_ms, k_t0);
  EXPECT_EQ(h.ok(R"({"class_uid":1007,"time_dt":"2026-11-19T10:00:00Z","time":1795168800000,"device":{"uid":"d1"}})")
                .event_time_ms,
            k_t0)
      << "time wins";
  EXPECT_EQ(h.ok(launch_with_signature(R"("certificate":{"created_time":"2026-11-20T10:00:00Z",)"
                                       R"("expiration_time":1795168800})"))
                .signature.not_after_ms,
            k_t0);
}

TEST(ocsf_profile, a_time_that_is_no_time_is_a_bad_timestamp) {
  harness h;
  auto e = h.err(R"({"class_uid":1007,"time":"yesterday","device":{"uid":"d1"}})");
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "time");
  e = h.err(launch_with_signature(R"("certificate":{"expiration_time":"soon"})"));
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "process.file.signatures.certificate.expiration_time");
}

TEST(ocsf_profile, the_host_is_the_device_uid_else_the_hostname_else_the_name) {
  harness h;
  const auto dev = [](std::string_view members) {
    return R"({"class_uid":1007,"time":1795168800000,"device":{)" + std::string(members) + "}}";
  };
  EXPECT_EQ(h.ok(dev(R"("uid":"u","hostname":"h","name":"n")")).host_key(), "u");
  const auto& a = h.ok(dev(R"("name":"n","hostname":"h")"));
  EXPECT_EQ(a.host_key(), "h");
  EXPECT_EQ(a.host_name.value, "h");
  const auto& b = h.ok(dev(R"("name":"n")"));
  EXPECT_EQ(b.host_key(), "n");
  EXPECT_FALSE(b.host_id.present);
  EXPECT_EQ(h.ok(dev(R"("uid":"","hostname":"h")")).host_key(), "h");
  const auto u = h.ok(dev(R"("uid":"u")")).host_hash;
  const auto u_other_name = h.ok(dev(R"("uid":"u","hostname":"other")")).host_hash;
  const auto v = h.ok(dev(R"("uid":"v")")).host_hash;
  EXPECT_EQ(u, u_other_name) << "the host hash depends only on the host key";
  EXPECT_NE(u, v);
}

TEST(ocsf_profile, only_a_process_activity_launch_is_a_process_start) {
  harness h;
  const auto event = [](std::string_view ids) {
    return "{" + std::string(ids) + R"(,"time":1795168800000,"device":{"uid":"d1"}})";
  };
  EXPECT_EQ(h.ok(event(R"("class_uid":1007,"activity_id":1)")).kind, event_kind::process_start);
  EXPECT_EQ(h.ok(event(R"("activity_id":1,"class_uid":"1007")")).kind, event_kind::process_start);
  EXPECT_EQ(h.ok(event(R"("class_uid":1007,"type_uid":100701)")).kind, event_kind::process_start);
  EXPECT_EQ(h.ok(event(R"("class_uid":1007,"activity_id":2)")).kind, event_kind::unknown);      // Terminate
  EXPECT_EQ(h.ok(event(R"("class_uid":1007,"activity_id":99)")).kind, event_kind::unknown);     // Other
  EXPECT_EQ(h.ok(event(R"("class_uid":1007,"activity_id":2,"type_uid":100701)")).kind, event_kind::unknown);
  EXPECT_EQ(h.ok(event(R"("class_uid":1007)")).kind, event_kind::unknown);
  EXPECT_EQ(h.ok(event(R"("class_uid":1001,"activity_id":1)")).kind, event_kind::unknown);      // File Create
}

TEST(ocsf_profile, unmapped_members_of_any_shape_are_skipped) {
  harness h;
  const auto& o = h.ok(R"json({"unmapped":{"time":"not a time","device":{"uid":7}},
    "enrichments":[{"name":"x","data":{"process":{"file":{"path":"C:\\no.exe"}}}}],
    "observables":[{"name":"process.file.path","type_id":7,"value":"C:\\no.exe"}],
    "class_uid":1007,"activity_id":1,"metadata":{"version":"1.8.0","labels":["a",1,null,{"b":[true]}]},
    "actor":{"process":{"file":{"path":"C:\\parent.exe","signatures":[{"state_id":3}]}},"user":{"uid":5,"name":"u1"}},
    "device":{"os":{"name":"Windows"},"ip":"10.0.0.1","interfaces":[{"mac":"x"}],"uid":"d1"},
    "process":{"pid":7,"parent_process":{"file":{"path":"C:\\parent.exe"}},"cmd_line":"x",
               "file":{"size":1,"type_id":1,"owner":{"name":"root"},"xattributes":{"a":[1,2]},
                       "path":"C:\\good.exe","signatures":[{"state_id":1,"developer_uid":"D",
                       "certificate":{"sans":[{"name":"x","type":"y"}],"uid":"c","is_self_signed":false,"subject":"CN=S"}}]}},
    "time":1795168800000})json");
  EXPECT_EQ(o.image_path.value, R"(C:\good.exe)");
  EXPECT_EQ(o.host_id.value, "d1");
  EXPECT_EQ(o.user_name.value, "u1");
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_EQ(o.signature.subject_cn.value, "S");
}

TEST(ocsf_profile, escaped_keys_are_matched_after_unescaping) {
  harness h;
  const auto& o = h.ok(R"({"class_uid":1007,"time":1795168800000,"device":{"u\u0069d":"d1"},)"
                       R"("process":{"file":{"pa\u0074h":"C:\\e.exe","signatures":[{"state\u005fid":9}]}}})");
  EXPECT_EQ(o.host_id.value, "d1");
  EXPECT_EQ(o.image_path.value, R"(C:\e.exe)");
  EXPECT_EQ(o.signature.status, signature_status::bad_digest);
}

TEST(ocsf_profile, class_uid_after_other_ocsf_members_is_detected_as_ocsf) {
  harness h;
  const auto& o = h.ok(R"({"time":1795168800000,"metadata":{"version":"1.8.0"},"actor":{"user":{"name":"a"}},)"
                       R"("device":{"uid":"d1"},"class_uid":1007,"process":{"file":{"path":"C:\\a.exe"}}})");
  EXPECT_EQ(o.image_path.value, R"(C:\a.exe)");
}

TEST(ocsf_profile, the_walker_reads_members_in_any_order_when_the_profile_is_forced) {
  // Detection stops at a top-level `process` as ECS (input_parser.cpp); a topic pinned
  // to OCSF in config still reads such a document.
  input_parser parser;
  observation_batch batch;
  const auto r = parser.parse(
      R"({"process":{"file":{"signatures":[{"state_id":3}],"path":"C:\\a.exe"}},"device":{"uid":"d1"},)"
      R"("activity_id":1,"time":1795168800000,"class_uid":1007})",
      batch, rules::schema_profile::ocsf);
  ASSERT_TRUE(r.has_value()) << to_string(r.error().reason) << " " << r.error().detail;
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].image_path.value, R"(C:\a.exe)");
  EXPECT_EQ(batch[0].signature.status, signature_status::revoked);
  EXPECT_EQ(batch[0].kind, event_kind::process_start);
  EXPECT_EQ(batch[0].source.schema, rules::schema_profile::ocsf);
}

// --- rejects ---------------------------------------------------------------------------------

TEST(ocsf_profile, time_as_an_object_is_wrong_type) {
  harness h;
  const auto e = h.err(R"({"class_uid":1007,"time":{"ms":1795168800000},"device":{"uid":"d1"}})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "time");
}

TEST(ocsf_profile, a_missing_time_is_missing_field) {
  harness h;
  for (const char* json : {R"({"class_uid":1007,"device":{"uid":"d1"}})",
                           R"({"class_uid":1007,"time":null,"device":{"uid":"d1"}})"}) {
    const auto e = h.err(json);
    EXPECT_EQ(e.reason, reject_reason::missing_field) << json;
    EXPECT_EQ(e.detail, "time") << json;
  }
}

TEST(ocsf_profile, a_missing_device_is_missing_field) {
  harness h;
  for (const char* json : {
           R"({"class_uid":1007,"time":1795168800000,"process":{"file":{"path":"C:\\x.exe"}}})",
           R"({"class_uid":1007,"time":1795168800000,"device":null})",
           R"({"class_uid":1007,"time":1795168800000,"device":{}})",
           R"({"class_uid":1007,"time":1795168800000,"device":{"uid":"","hostname":""}})",
           R"({"class_uid":1007,"time":1795168800000,"device":{"uid":null,"os":{"name":"Windows"}}})",
       }) {
    const auto e = h.err(json);
    EXPECT_EQ(e.reason, reject_reason::missing_field) << json;
    EXPECT_EQ(e.detail, "device.uid") << json;
  }
}

TEST(ocsf_profile, a_hash_value_as_a_number_is_wrong_type) {
  harness h;
  const auto e = h.err(launch_with_file(R"("hashes":[{"algorithm_id":3,"value":12345}])"));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "process.file.hashes.value");
}

TEST(ocsf_profile, a_path_above_the_field_limit_is_cut_to_it) {
  harness h;
  const std::string path(5000, 'a');
  EXPECT_EQ(h.ok(launch_with_file(R"("path":")" + path + '"')).image_path.value, std::string(4096, 'a'));
  // At the limit it is whole.
  EXPECT_EQ(h.ok(launch_with_file(R"("path":")" + std::string(4096, 'a') + '"')).image_path.value.size(), 4096U);
  // Any mapped string, however deep.
  EXPECT_EQ(h.ok(launch_with_signature(R"("certificate":{"subject":")" + path + R"("})")).signature.subject.value.size(),
            4096U);
}

TEST(ocsf_profile, a_truncated_document_is_invalid_json) {
  harness h;
  const std::string full = golden().at(0);
  for (const std::string& bad : {
           full.substr(0, full.size() - 1),
           full.substr(0, full.size() / 2),
           full.substr(0, full.find("\"signatures\"") + 20),
           std::string(R"({"class_uid":1007,"time":1795168800000,"device":{"uid":"d1"})"),
           full + " x",
           full + "}",
       }) {
    EXPECT_EQ(h.err(bad).reason, reject_reason::invalid_json) << bad;
  }
}

TEST(ocsf_profile, a_mapped_field_of_the_wrong_type_is_wrong_type_and_named) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"class_uid":1007,"time":1795168800000,"device":{"uid":42}})", "device.uid"},
      {R"({"class_uid":1007,"time":1795168800000,"device":"d1"})", "device"},
      {R"({"class_uid":"process","time":1795168800000,"device":{"uid":"d1"}})", "class_uid"},
      {R"({"class_uid":1007,"activity_id":1.5,"time":1795168800000,"device":{"uid":"d1"}})", "activity_id"},
      {R"({"class_uid":1007,"time":1795168800000,"device":{"uid":"d1"},"actor":{"user":{"name":{"first":"a"}}}})",
       "actor.user.name"},
      {R"({"class_uid":1007,"time":1795168800000,"device":{"uid":"d1"},"process":{"file":"C:\\x.exe"}})",
       "process.file"},
      {launch_with_file(R"("hashes":{"algorithm_id":3,"value":"aa"})"), "process.file.hashes"},
      {launch_with_file(R"("hashes":["aa"])"), "process.file.hashes"},
      {launch_with_file(R"("product":"Widget")"), "process.file.product"},
      {launch_with_file(R"("signatures":{"state_id":1})"), "process.file.signatures"},
      {launch_with_file(R"("signatures":["valid"])"), "process.file.signatures"},
      {launch_with_file(R"("signature":[{"state_id":1}])"), "process.file.signature"},
      {launch_with_signature(R"("state_id":"valid")"), "process.file.signatures.state_id"},
      {launch_with_signature(R"("state":3)"), "process.file.signatures.state"},
      {launch_with_signature(R"("certificate":[])"), "process.file.signatures.certificate"},
      {launch_with_signature(R"("certificate":{"serial_number":12345})"),
       "process.file.signatures.certificate.serial_number"},
      {launch_with_signature(R"("certificate":{"fingerprints":[{"algorithm_id":3,"value":true}]})"),
       "process.file.signatures.certificate.fingerprints.value"},
      {launch_with_signature(R"("certificate":{"created_time":true})"),
       "process.file.signatures.certificate.created_time"},
  };
  harness h;
  for (const auto& [json, field] : cases) {
    const auto e = h.err(json);
    EXPECT_EQ(e.reason, reject_reason::wrong_type) << json;
    EXPECT_EQ(e.detail, field) << json;
  }
}

TEST(ocsf_profile, the_parser_is_reusable_after_a_reject) {
  harness h;
  (void)h.err(launch_with_file(R"("hashes":[{"algorithm_id":3,"value":12345}])"));
  const auto& o = h.ok(golden().at(2));
  EXPECT_FALSE(o.signature.exists.has_value()) << "nothing of the rejected message remains";
  EXPECT_FALSE(o.sha256.present);
  const auto& p = h.ok(golden().at(1));
  EXPECT_EQ(p.signature.status, signature_status::untrusted_root);
  EXPECT_EQ(h.ok(golden().at(2)).signature.status, signature_status::missing) << "the scratch signature is reset";
}

// --- the alert fixture through the pipeline --------------------------------------------------

TEST(ocsf_profile, the_process_activity_fixture_yields_exactly_the_expected_alerts) {
  std::vector<std::pair<std::string, std::string>> expected;
  ASSERT_NO_FATAL_FAILURE(test_support::read_expected_alerts(k_data + "/ocsf/expected_alerts.tsv", expected));
  ASSERT_EQ(expected.size(), 2U) << "expected_alerts.tsv changed; review this test";

  auto cfg = parse_config("", "inline.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  pipeline p(*cfg);
  auto run = test_support::run_fixture(p, k_data + "/ocsf/process_activity.ndjson", "ocsf-fixture");
  p.flush(std::nullopt);
  test_support::collect_alerts(p, run);

  EXPECT_THAT(run.outcomes, ElementsAreArray({outcome::alert, outcome::alert, outcome::no_alert}))
      << "revoked, untrusted root, Microsoft with an old certificate";
  EXPECT_THAT(run.alerts, ElementsAreArray(expected));
  std::vector<std::string> hosts;
  for (const auto& row : expected) hosts.push_back(row.second);
  EXPECT_THAT(run.keys, ElementsAreArray(hosts)) << "the Kafka key is the host id";
  EXPECT_EQ(p.stats().events, 3U);
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) EXPECT_EQ(p.stats().rejected[i], 0U) << i;
}

}  // namespace
}  // namespace ocsf_profile_test
}  // namespace countersign::processor
