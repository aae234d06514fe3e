// The flat Code Integrity EventData profile (processor/src/engine/profiles/codeintegrity.cpp)
// and its detection in input_parser.cpp, against docs/detections.md section 1: the System
// fields (EventID, TimeCreated, Computer, ActivityID) beside the data items, or the data
// items in an `EventData` object; numbers as JSON numbers or as strings; every reject.
//
// Fixture: tests/data/codeintegrity/eventdata.ndjson, written after real Code Integrity
// captures (3033 v0, 3089 v2, 3077 v5, 3099 v1). Lines are picked by their record id.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace codeintegrity_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::observation;
using rules::schema_profile;
using rules::signature_status;
using test_support::k_data;
using test_support::name_of;

// Times of the fixture, computed independently (Python datetime); fractions beyond
// milliseconds are dropped.
constexpr std::int64_t k_3033_time = 1'795'506'079'330;  // 2026-11-24T07:41:19.3301874Z
constexpr std::int64_t k_3077_time = 1'795'506'903'004;  // 2026-11-24T07:55:03.0040021Z
constexpr std::int64_t k_3099_time = 1'795'497'000'500;  // 2026-11-24T05:10:00.5000000Z
constexpr std::int64_t k_not_before = 1'727'771'400'123;  // 2024-10-01T08:30:00.1234567Z
constexpr std::int64_t k_not_after = 1'822'293'000'987;   // 2027-09-30T08:30:00.9876543Z

const std::string k_vellum_dll = R"(\Device\HarddiskVolume3\ProgramData\Vellum\Agent\vlmcore.dll)";
const std::string k_vellum_exe = R"(\Device\HarddiskVolume3\Program Files\Vellum\vlmagent.exe)";

// The one fixture line that contains `needle` (a record id).
std::string fixture_line(std::string_view needle) {
  return test_support::line_containing(k_data + "/codeintegrity/eventdata.ndjson", needle);
}

const std::string k_flat_3033 = "\"EventRecordID\":4410,";
const std::string k_flat_3089 = "\"EventRecordID\":\"4411\"";
const std::string k_flat_3077 = "\"EventRecordID\":4425,";
const std::string k_flat_3099 = "\"EventRecordID\":4390,";
const std::string k_nested_3033 = "\"EventRecordID\":4412,";

// ok() fails the test on a reject, or on anything but one Code Integrity observation;
// `forced` as a per-topic profile would pin it, otherwise detected.
using harness = test_support::parse_harness<schema_profile::codeintegrity>;

// The Code Integrity facts of two observations, compared field by field.
void expect_same_ci_facts(const observation& a, const observation& b) {
  EXPECT_EQ(name_of(a.kind), name_of(b.kind));
  EXPECT_EQ(a.event_time_ms, b.event_time_ms);
  EXPECT_EQ(a.host_name.value, b.host_name.value);
  EXPECT_EQ(a.host_hash, b.host_hash);
  EXPECT_EQ(a.image_path.value, b.image_path.value);
  EXPECT_EQ(a.process_path.value, b.process_path.value);
  EXPECT_EQ(a.sha256.value, b.sha256.value);
  EXPECT_EQ(a.sha1.value, b.sha1.value);
  EXPECT_EQ(a.pe.original_file_name.value, b.pe.original_file_name.value);
  EXPECT_EQ(a.ci.event_id, b.ci.event_id);
  EXPECT_EQ(name_of(a.ci.klass), name_of(b.ci.klass));
  EXPECT_EQ(a.ci.activity_id.value, b.ci.activity_id.value);
  EXPECT_EQ(a.ci.process_name.value, b.ci.process_name.value);
  EXPECT_EQ(a.ci.policy_name.value, b.ci.policy_name.value);
  EXPECT_EQ(a.ci.policy_guid.value, b.ci.policy_guid.value);
  EXPECT_EQ(a.ci.requested_signing_level, b.ci.requested_signing_level);
  EXPECT_EQ(a.ci.validated_signing_level, b.ci.validated_signing_level);
  EXPECT_EQ(a.ci.status.value, b.ci.status.value);
  EXPECT_EQ(a.ci.user_writable, b.ci.user_writable);
  EXPECT_EQ(a.ci.verification_error, b.ci.verification_error);
  EXPECT_EQ(a.ci.signature_index, b.ci.signature_index);
  EXPECT_EQ(a.ci.total_signature_count, b.ci.total_signature_count);
  EXPECT_EQ(a.signature.exists, b.signature.exists);
  EXPECT_EQ(a.signature.status, b.signature.status);
  EXPECT_EQ(a.signature.subject.value, b.signature.subject.value);
  EXPECT_EQ(a.signature.not_before_ms, b.signature.not_before_ms);
}

TEST(codeintegrity_profile, a_flat_3033_with_json_numbers_is_detected_and_read) {
  harness h;
  const auto& o = h.ok(fixture_line(k_flat_3033));
  EXPECT_EQ(name_of(o.source.schema), "codeintegrity");
  EXPECT_EQ(name_of(o.kind), "code_integrity");
  EXPECT_EQ(o.ci.event_id, 3033);
  EXPECT_EQ(name_of(o.ci.klass), "block");
  EXPECT_EQ(o.event_time_ms, k_3033_time);
  EXPECT_EQ(o.host_name.value, "LAB-PC-31") << "Computer";
  EXPECT_FALSE(o.host_id.present);
  EXPECT_NE(o.host_hash, 0U);
  EXPECT_EQ(o.ci.activity_id.value, "c3d9a0b1-5e6f-0001-7b2c-a0b1c3d95e01");
  EXPECT_EQ(o.image_path.value, k_vellum_dll);
  EXPECT_EQ(o.process_path.value, k_vellum_exe);
  EXPECT_EQ(o.ci.process_name.value, k_vellum_exe);
  EXPECT_EQ(o.ci.requested_signing_level, 8);
  EXPECT_EQ(o.ci.validated_signing_level, 1);
  EXPECT_EQ(o.ci.status.value, "0xc0e90002") << "3236495362 as NTSTATUS hex";
  EXPECT_FALSE(o.signature.is_present());
}

TEST(codeintegrity_profile, a_flat_3089_with_numbers_as_strings_reads_the_signer) {
  harness h;
  const auto& o = h.ok(fixture_line(k_flat_3089));
  EXPECT_EQ(name_of(o.kind), "signature_info");
  EXPECT_EQ(name_of(o.ci.klass), "signature_info");
  EXPECT_EQ(o.ci.event_id, 3089);
  EXPECT_EQ(o.ci.activity_id.value, "c3d9a0b1-5e6f-0001-7b2c-a0b1c3d95e01");
  EXPECT_EQ(o.ci.total_signature_count, 2);
  EXPECT_EQ(o.ci.signature_index, 1);
  EXPECT_EQ(o.ci.verification_error, 27);
  EXPECT_EQ(o.ci.validated_signing_level, 4);
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::chain_error);
  EXPECT_EQ(s.status_raw.value, "VerificationError=27");
  EXPECT_EQ(s.subject.value, "Vellum Systems Inc");
  EXPECT_EQ(s.subject_cn.value, "Vellum Systems Inc");
  EXPECT_EQ(s.issuer.value, "Vellum Systems Issuing CA 2024");
  EXPECT_EQ(s.not_before_ms, k_not_before);
  EXPECT_EQ(s.not_after_ms, k_not_after);
  EXPECT_EQ(o.ci.publisher_tbs_hash.value, "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12");
  EXPECT_EQ(o.ci.issuer_tbs_hash.value, "34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef");
}

TEST(codeintegrity_profile, a_flat_3077_reads_the_spaced_names_and_a_json_boolean) {
  harness h;
  const auto& o = h.ok(fixture_line(k_flat_3077));
  EXPECT_EQ(name_of(o.kind), "code_integrity");
  EXPECT_EQ(o.ci.event_id, 3077);
  EXPECT_EQ(name_of(o.ci.klass), "block");
  EXPECT_EQ(o.event_time_ms, k_3077_time);
  EXPECT_EQ(o.image_path.value, R"(\Device\HarddiskVolume3\Users\tlind\Desktop\tools\netprobe.exe)");
  EXPECT_EQ(o.process_path.value, R"(\Device\HarddiskVolume3\Windows\System32\cmd.exe)");
  EXPECT_EQ(o.ci.requested_signing_level, 2);
  EXPECT_EQ(o.ci.validated_signing_level, 1);
  EXPECT_EQ(o.ci.status.value, "0xc0e90002") << "from \"0xC0E90002\"";
  EXPECT_EQ(o.sha256.value, "89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567")
      << "SHA256 Flat Hash, not the Authenticode SHA256 Hash";
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(o.ci.policy_name.value, "Lab allow-list v3");
  EXPECT_EQ(o.ci.policy_id.value, "LAB-ALLOW3");
  EXPECT_EQ(o.ci.policy_guid.value, "5f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0");
  EXPECT_EQ(o.ci.user_writable, true);
  EXPECT_EQ(o.pe.original_file_name.value, "netprobe.exe");
  EXPECT_EQ(o.pe.product.value, "NetProbe");
  EXPECT_EQ(o.pe.description.value, "Network probe CLI");
  EXPECT_EQ(o.pe.file_version.value, "1.0.4.0");
  EXPECT_EQ(o.ci.activity_id.value, "0a1b2c3d-4e5f-0002-6a7b-8c9d0e1f2a3b");
}

TEST(codeintegrity_profile, numbers_as_json_numbers_and_as_strings_give_the_same_facts) {
  const std::string as_numbers =
      R"({"EventID":3077,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32","ActivityID":"{11-22}",
          "File Name":"\\Device\\HarddiskVolume3\\x.exe","Requested Signing Level":2,"Validated Signing Level":1,
          "Status":3236495362,"UserWriteable":false})";
  const std::string as_strings =
      R"({"EventID":"3077","TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32","ActivityID":"{11-22}",
          "File Name":"\\Device\\HarddiskVolume3\\x.exe","Requested Signing Level":"2","Validated Signing Level":"1",
          "Status":"3236495362","UserWriteable":"false"})";
  harness h;
  const observation a = h.ok(as_numbers);
  const observation b = h.ok(as_strings);
  EXPECT_EQ(a.ci.requested_signing_level, 2);
  EXPECT_EQ(a.ci.status.value, "0xc0e90002");
  EXPECT_EQ(a.ci.user_writable, false);
  expect_same_ci_facts(a, b);

  const observation sig_numbers = h.ok(
      R"({"EventID":3089,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32","ActivityID":"{11-22}",
          "TotalSignatureCount":1,"Signature":0,"VerificationError":5,"PublisherName":"Fenwick Labs"})");
  const observation sig_strings = h.ok(
      R"({"EventID":"3089","TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32","ActivityID":"{11-22}",
          "TotalSignatureCount":"1","Signature":"0","VerificationError":"5","PublisherName":"Fenwick Labs"})");
  EXPECT_EQ(sig_numbers.signature.status, signature_status::expired);
  expect_same_ci_facts(sig_numbers, sig_strings);
}

TEST(codeintegrity_profile, a_3089_with_total_signature_count_0_is_unsigned) {
  harness h;
  const auto& o = h.ok(R"({"EventID":3089,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",
                           "TotalSignatureCount":0,"Signature":0,"PublisherName":""})");
  EXPECT_EQ(o.signature.exists, false);
  EXPECT_EQ(o.signature.status, signature_status::not_signed);
  EXPECT_FALSE(o.signature.is_present());
}

TEST(codeintegrity_profile, other_system_field_names_are_read_too) {
  harness h;
  const auto& o = h.ok(R"({"Id":3033,"TimeCreated":"2026-11-24T08:00:00Z","Hostname":"LAB-PC-33",
                           "Correlation ActivityID":"{AA-BB}","FileNameBuffer":"\\Device\\x.dll"})");
  EXPECT_EQ(o.ci.event_id, 3033);
  EXPECT_EQ(o.host_name.value, "LAB-PC-33");
  EXPECT_EQ(o.ci.activity_id.value, "aa-bb");
}

TEST(codeintegrity_profile, the_event_data_object_variant_reads_the_same_facts_as_the_flat_event) {
  harness h;
  const observation flat = h.ok(fixture_line(k_flat_3033));
  const observation nested = h.ok(fixture_line(k_nested_3033), schema_profile::codeintegrity);
  EXPECT_EQ(nested.image_path.value, k_vellum_dll);
  EXPECT_EQ(nested.ci.status.value, "0xc0e90002");
  expect_same_ci_facts(nested, flat);
}

// Detection sees only top-level keys: an `EventData` object beside an EventID must be
// enough, since the data names are inside it.
TEST(codeintegrity_profile, the_event_data_object_variant_is_detected_as_codeintegrity) {
  harness h;
  const auto& o = h.ok(fixture_line(k_nested_3033));
  EXPECT_EQ(o.ci.event_id, 3033);
}

// 3099 carries none of the file or signature names, only PolicyNameBuffer /
// PolicyIdBuffer / PolicyGUID; detection must know those too.
TEST(codeintegrity_profile, a_flat_3099_is_detected_as_codeintegrity) {
  harness h;
  const auto& o = h.ok(fixture_line(k_flat_3099));
  EXPECT_EQ(name_of(o.kind), "policy");
}

TEST(codeintegrity_profile, a_flat_3099_read_as_codeintegrity_is_a_policy_event) {
  harness h;
  const auto& o = h.ok(fixture_line(k_flat_3099), schema_profile::codeintegrity);
  EXPECT_EQ(name_of(o.kind), "policy");
  EXPECT_EQ(name_of(o.ci.klass), "policy");
  EXPECT_EQ(o.ci.event_id, 3099);
  EXPECT_EQ(o.event_time_ms, k_3099_time);
  EXPECT_EQ(o.ci.policy_name.value, "Lab allow-list v3");
  EXPECT_EQ(o.ci.policy_id.value, "LAB-ALLOW3");
  EXPECT_EQ(o.ci.policy_guid.value, "5f0e1d2c-3b4a-4958-8776-a5b4c3d2e1f0");
  EXPECT_EQ(o.ci.status.value, "0x00000000");
  EXPECT_FALSE(o.ci.activity_id.present);
}

TEST(codeintegrity_profile, an_event_id_without_code_integrity_data_names_is_a_flat_windows_record) {
  // The same walker reads it as another channel's record: out of scope for the
  // detectors, still there for Sigma.
  test_support::parse_harness<schema_profile::windows> h;
  const auto& o = h.ok(R"({"EventID":4688,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",
                           "NewProcessName":"C:\\Windows\\System32\\cmd.exe"})");
  EXPECT_EQ(o.kind, rules::event_kind::unknown);
  EXPECT_EQ(o.host_name.value, "LAB-PC-32");
}

// ---- rejects ------------------------------------------------------------------------

struct reject_case {
  std::string name;
  std::string json;
  schema_profile forced;
  reject_reason reason;
  std::string detail;
};

std::vector<reject_case> reject_cases() {
  const std::string head = R"({"EventID":3033,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)";
  return {
      {"EventData a string", head + R"("FileNameBuffer":"\\Device\\x.dll","EventData":"FileNameBuffer=x"})",
       schema_profile::unknown, reject_reason::wrong_type, "EventData"},
      {"EventData an array", R"({"EventID":3033,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)"
                             R"("EventData":[{"Name":"FileNameBuffer"}]})",
       schema_profile::codeintegrity, reject_reason::wrong_type, "EventData"},
      {"no EventID", R"({"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32","FileNameBuffer":"x"})",
       schema_profile::codeintegrity, reject_reason::missing_field, "EventID"},
      {"EventID null", R"({"EventID":null,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)"
                       R"("FileNameBuffer":"x"})",
       schema_profile::unknown, reject_reason::missing_field, "EventID"},
      {"bad TimeCreated", R"({"EventID":3033,"TimeCreated":"24.11.2026 08:00:00","Computer":"LAB-PC-32",)"
                          R"("FileNameBuffer":"x"})",
       schema_profile::unknown, reject_reason::bad_timestamp, "TimeCreated"},
      {"no TimeCreated", R"({"EventID":3033,"Computer":"LAB-PC-32","FileNameBuffer":"x"})",
       schema_profile::unknown, reject_reason::missing_field, "TimeCreated"},
      {"no Computer", R"({"EventID":3033,"TimeCreated":"2026-11-24T08:00:00Z","FileNameBuffer":"x"})",
       schema_profile::unknown, reject_reason::missing_field, "Computer"},
      {"UserWriteable maybe", R"({"EventID":3077,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)"
                              R"("File Name":"x","UserWriteable":"maybe"})",
       schema_profile::unknown, reject_reason::wrong_type, "UserWriteable"},
      {"EventID not a number", R"({"EventID":"block","TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)"
                               R"("FileNameBuffer":"x"})",
       schema_profile::unknown, reject_reason::wrong_type, "EventID"},
  };
}

TEST(codeintegrity_profile, every_reject_names_its_reason_and_field) {
  harness h;
  for (const auto& c : reject_cases()) {
    const auto e = h.err(c.json, c.forced);
    EXPECT_EQ(e.reason, c.reason) << c.name;
    EXPECT_EQ(e.detail, c.detail) << c.name;
  }
}

TEST(codeintegrity_profile, a_4096_byte_file_name_buffer_is_still_accepted) {
  harness h;
  const auto& o = h.ok(R"({"EventID":3033,"TimeCreated":"2026-11-24T08:00:00Z","Computer":"LAB-PC-32",)"
                       R"("FileNameBuffer":")" +
                       std::string(4096, 'A') + "\"}");
  EXPECT_EQ(o.image_path.value.size(), 4096U);
}

TEST(codeintegrity_profile, rejects_are_counted_by_reason_in_the_pipeline) {
  auto cfg = parse_config("", "inline.yaml");
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  pipeline p(*cfg);
  std::array<std::uint64_t, k_reject_reason_count> expected{};
  for (const auto& c : reject_cases()) {
    const auto r = p.process(c.json, {"ci.events", 2, 40}, std::nullopt, 0, c.forced);
    EXPECT_EQ(r.kind, outcome::rejected) << c.name;
    EXPECT_EQ(r.reason, c.reason) << c.name;
    EXPECT_EQ(r.detail, c.detail) << c.name;
    ++expected[static_cast<std::size_t>(c.reason)];
  }
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) {
    EXPECT_EQ(p.stats().rejected[i], expected[i]) << to_string(static_cast<reject_reason>(i));
  }
  EXPECT_EQ(p.stats().observations, 0U);
  EXPECT_EQ(p.held(), 0U);
}

}  // namespace
}  // namespace codeintegrity_profile_test
}  // namespace countersign::processor
