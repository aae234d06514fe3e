// Winlogbeat events through the ECS profile (processor/src/engine/profiles/ecs.cpp and the
// Code Integrity EventData reader in codeintegrity.cpp), against docs/detections.md section 1:
// Sysmon 1/6/7 (ECS `file.*` mapping or raw `winlog.event_data`, Sysmon column of the
// status table) and Microsoft-Windows-CodeIntegrity/Operational 3033, 3077, 3089, 3099.
//
// Fixtures: tests/data/winlogbeat/sysmon.ndjson and codeintegrity.ndjson, written after
// the shapes of Winlogbeat's Sysmon golden file and real Code Integrity captures (3033
// v0, 3089 v2, 3077 v5, 3099 v1). Lines are picked by their unique record id.

#include "test_support.hpp"

#include <countersign/processor/engine/input_parser.hpp>
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
namespace winlogbeat_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::ci_class;
using rules::event_kind;
using rules::observation;
using rules::signature_status;
using test_support::k_data;
using test_support::name_of;
using test_support::read_lines;

// Event times of the fixtures, computed independently (Python datetime).
constexpr std::int64_t k_sysmon1_time = 1'795'425'164'517;  // 2026-11-23T09:12:44.517Z
constexpr std::int64_t k_sysmon7_time = 1'795'425'242'031;  // 2026-11-23T09:14:02.031Z
constexpr std::int64_t k_failed_time = 1'795'428'137'880;   // 2026-11-23T10:02:17.880Z
constexpr std::int64_t k_driver_time = 1'795'433'400'125;   // 2026-11-23T11:30:00.125Z
constexpr std::int64_t k_3033_time = 1'795'501'231'901;     // 2026-11-24T06:20:31.901Z
constexpr std::int64_t k_3077_time = 1'795'502'890'556;     // 2026-11-24T06:48:10.556Z
constexpr std::int64_t k_3099_time = 1'795'496'402'070;     // 2026-11-24T05:00:02.070Z
constexpr std::int64_t k_2023_05_10 = 1'683'676'800'000;    // 2023-05-10T00:00:00.0000000Z
constexpr std::int64_t k_2026_05_09_end = 1'778'371'199'000;  // 2026-05-09T23:59:59.0000000Z

const std::string k_tide_exe = R"(C:\Program Files\Tidewater\TideSync\tidesync.exe)";
const std::string k_tide_dll = R"(C:\Program Files\Tidewater\TideSync\tideproto.dll)";
const std::string k_dll_sha1 = "a7c3e91f04b2d85e6f1a0c9b8d7e6f5a4b3c2d1e";
const std::string k_dll_sha256 = "e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170611";

// The one line of a fixture file that contains `needle` (a record id).
std::string line_with(const std::string& file, std::string_view needle) {
  return test_support::line_containing(k_data + "/winlogbeat/" + file, needle);
}

std::string sysmon_line(std::string_view record) { return line_with("sysmon.ndjson", record); }
std::string ci_line(std::string_view record) { return line_with("codeintegrity.ndjson", record); }

// ok() fails the test on a reject or on anything but one ECS observation.
using harness = test_support::parse_harness<rules::schema_profile::ecs>;

// A Winlogbeat Sysmon 7 event with only the given raw EventData members.
std::string raw_sysmon7(std::string_view event_data_members) {
  return R"({"@timestamp":"2026-11-23T12:00:00Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational",)"
         R"("computer_name":"ENG-WS-200","event_id":"7","event_data":{)" +
         std::string(event_data_members) + "}}}";
}

// A Winlogbeat Sysmon 7 event with the ECS file.code_signature members given.
std::string mapped_sysmon7(std::string_view code_signature_members) {
  return R"({"@timestamp":"2026-11-23T12:00:00Z","event":{"code":"7","module":"sysmon"},)"
         R"("host":{"name":"ENG-WS-200"},"process":{"executable":"C:\\Apps\\viewer.exe"},)"
         R"("file":{"path":"C:\\Apps\\render.dll","code_signature":{)" +
         std::string(code_signature_members) + R"(}},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational"}})";
}

// A Winlogbeat Code Integrity event with `event_id` (a JSON value) and raw EventData members.
std::string ci_event(std::string_view event_id, std::string_view event_data_members,
                     std::string_view activity = "{0F1E2D3C-4B5A-0001-9988-77665544AA01}") {
  std::string s = R"({"@timestamp":"2026-11-24T09:00:00.000Z","host":{"name":"KIOSK-40"},)"
                  R"("winlog":{"channel":"Microsoft-Windows-CodeIntegrity/Operational",)"
                  R"("provider_name":"Microsoft-Windows-CodeIntegrity",)";
  if (!event_id.empty()) s += R"("event_id":)" + std::string(event_id) + ",";
  if (!activity.empty()) s += R"("activity_id":")" + std::string(activity) + "\",";
  s += R"("event_data":{)" + std::string(event_data_members) + "}}}";
  return s;
}

std::string ci_3089(std::string_view verification_error, std::string_view total = "1") {
  return ci_event(R"("3089")", R"("TotalSignatureCount":")" + std::string(total) +
                                   R"(","Signature":"0","PublisherName":"Fenwick Labs","VerificationError":")" +
                                   std::string(verification_error) + "\"");
}

// Every fact the profile fills, compared field by field, so that a difference names itself.
void expect_same_observation(const observation& a, const observation& b) {
  const auto same_text = [](const rules::text_field& x, const rules::text_field& y, const char* name) {
    EXPECT_EQ(x.present, y.present) << name;
    EXPECT_EQ(x.value, y.value) << name;
  };
  EXPECT_EQ(name_of(a.kind), name_of(b.kind));
  EXPECT_EQ(a.event_time_ms, b.event_time_ms);
  same_text(a.host_id, b.host_id, "host_id");
  same_text(a.host_name, b.host_name, "host_name");
  EXPECT_EQ(a.host_hash, b.host_hash);
  same_text(a.user_name, b.user_name, "user_name");
  same_text(a.image_path, b.image_path, "image_path");
  same_text(a.process_path, b.process_path, "process_path");
  same_text(a.sha256, b.sha256, "sha256");
  same_text(a.sha1, b.sha1, "sha1");
  same_text(a.pe.original_file_name, b.pe.original_file_name, "pe.original_file_name");
  same_text(a.pe.company, b.pe.company, "pe.company");
  same_text(a.pe.product, b.pe.product, "pe.product");
  same_text(a.pe.description, b.pe.description, "pe.description");
  same_text(a.pe.file_version, b.pe.file_version, "pe.file_version");
  const auto& s = a.signature;
  const auto& t = b.signature;
  EXPECT_EQ(s.exists, t.exists);
  EXPECT_EQ(s.status, t.status);
  same_text(s.status_raw, t.status_raw, "status_raw");
  EXPECT_EQ(s.trusted, t.trusted);
  same_text(s.subject, t.subject, "subject");
  same_text(s.subject_cn, t.subject_cn, "subject_cn");
  same_text(s.subject_o, t.subject_o, "subject_o");
  same_text(s.thumbprint, t.thumbprint, "thumbprint");
  same_text(s.issuer, t.issuer, "issuer");
  same_text(s.serial, t.serial, "serial");
  EXPECT_EQ(s.not_before_ms, t.not_before_ms);
  EXPECT_EQ(s.not_after_ms, t.not_after_ms);
  EXPECT_EQ(s.signing_time_ms, t.signing_time_ms);
}

// ---- Sysmon -------------------------------------------------------------------------

TEST(winlogbeat_profile, sysmon_1_is_a_process_start_that_says_nothing_about_a_signature) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":88213"));
  EXPECT_EQ(name_of(o.kind), "process_start");
  EXPECT_EQ(o.event_time_ms, k_sysmon1_time);
  EXPECT_EQ(o.image_path.value, k_tide_exe);
  EXPECT_FALSE(o.process_path.present);
  EXPECT_EQ(o.sha256.value, "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f");
  EXPECT_EQ(o.sha1.value, "5e0b6c7d8a9f1e2d3c4b5a69788796a5b4c3d2e1");
  EXPECT_EQ(o.pe.company.value, "Tidewater Software Oy");
  EXPECT_EQ(o.pe.original_file_name.value, "tidesync.exe");
  EXPECT_EQ(o.user_name.value, "mvirtanen");
  EXPECT_EQ(o.host_name.value, "ENG-WS-114") << "host.name wins over winlog.computer_name";
  EXPECT_FALSE(o.signature.exists.has_value());
  EXPECT_EQ(o.signature.status, signature_status::missing);
  EXPECT_FALSE(o.signature.status_raw.present);
  EXPECT_FALSE(o.signature.subject.present);
  EXPECT_FALSE(o.signature.is_present());
  EXPECT_FALSE(o.ci.present());
}

TEST(winlogbeat_profile, sysmon_7_judges_the_loaded_image_and_keeps_the_loading_process) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":88231,\"version\":3,\"event_data\":{\"Company\""));
  EXPECT_EQ(name_of(o.kind), "image_load");
  EXPECT_EQ(o.event_time_ms, k_sysmon7_time);
  EXPECT_EQ(o.host_name.value, "ENG-WS-114");
  EXPECT_EQ(o.image_path.value, k_tide_dll) << "file.path";
  EXPECT_EQ(o.process_path.value, k_tide_exe) << "process.executable";
  EXPECT_EQ(o.sha256.value, k_dll_sha256);
  EXPECT_EQ(o.sha1.value, k_dll_sha1);
  EXPECT_EQ(o.pe.original_file_name.value, "tideproto.dll");
  EXPECT_EQ(o.pe.company.value, "Tidewater Software Oy");
  EXPECT_EQ(o.pe.product.value, "TideSync");
  EXPECT_EQ(o.pe.description.value, "TideSync protocol handler");
  EXPECT_EQ(o.pe.file_version.value, "4.2.1.907");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::valid);
  EXPECT_EQ(s.status_raw.value, "Valid");
  EXPECT_EQ(s.subject.value, "Tidewater Software Oy");
  EXPECT_EQ(s.subject_cn.value, "Tidewater Software Oy") << "a bare signer name is its own CN";
  EXPECT_TRUE(s.is_present());
  EXPECT_EQ(name_of(o.source.schema), "ecs");
}

TEST(winlogbeat_profile, sysmon_7_with_only_raw_event_data_gives_the_same_observation_as_the_mapped_event) {
  harness mapped_h, raw_h;
  const auto& mapped = mapped_h.ok(sysmon_line("\"record_id\":88231,\"version\":3,\"event_data\":{\"Company\""));
  const auto& raw = raw_h.ok(sysmon_line("\"RuleName\":\"-\",\"UtcTime\":\"2026-11-23 09:14:02.031\""));
  // The raw line has no ECS mapping at all: image from ImageLoaded, loader from Image,
  // hashes from the Hashes string, signature from Signed/Signature/SignatureStatus, the
  // host from winlog.computer_name.
  EXPECT_EQ(raw.image_path.value, k_tide_dll);
  EXPECT_EQ(raw.process_path.value, k_tide_exe);
  EXPECT_EQ(raw.host_name.value, "ENG-WS-114");
  expect_same_observation(raw, mapped);
}

TEST(winlogbeat_profile, the_raw_hashes_string_gives_sha256_and_sha1_and_drops_md5_and_imphash) {
  harness h;
  const auto& o = h.ok(raw_sysmon7(
      R"("ImageLoaded":"C:\\Apps\\a.dll","Hashes":"MD5=00AA00AA00AA00AA00AA00AA00AA00AA, SHA256=ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789, IMPHASH=11BB11BB11BB11BB11BB11BB11BB11BB, SHA1=0123456789ABCDEF0123456789ABCDEF01234567")"));
  EXPECT_EQ(o.sha256.value, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
}

TEST(winlogbeat_profile, ecs_file_hashes_win_over_the_raw_hashes_string) {
  harness h;
  const auto& o = h.ok(R"({"@timestamp":"2026-11-23T12:00:00Z","event":{"code":"7","module":"sysmon"},
      "host":{"name":"ENG-WS-200"},"file":{"path":"C:\\Apps\\a.dll","hash":{"sha256":"AAAA","sha1":"BBBB"}},
      "winlog":{"channel":"Microsoft-Windows-Sysmon/Operational",
                "event_data":{"Hashes":"SHA1=CCCC,SHA256=DDDD"}}})");
  EXPECT_EQ(o.sha256.value, "aaaa");
  EXPECT_EQ(o.sha1.value, "bbbb");
}

TEST(winlogbeat_profile, raw_signature_status_values_follow_the_sysmon_column) {
  const std::vector<std::pair<std::string, signature_status>> cases = {
      {"Valid", signature_status::valid},
      {"Expired", signature_status::expired},
      {"Unavailable", signature_status::unknown},
      {"-", signature_status::missing},
  };
  harness h;
  for (const auto& [raw, expected] : cases) {
    const auto& o = h.ok(raw_sysmon7(R"("ImageLoaded":"C:\\Apps\\a.dll","Signed":"true","Signature":"Fenwick Labs",)"
                                     R"("SignatureStatus":")" +
                                     raw + "\""));
    EXPECT_EQ(o.signature.status, expected) << raw;
    EXPECT_EQ(o.signature.status_raw.present, expected != signature_status::missing) << raw;
    if (expected != signature_status::missing) {
      EXPECT_EQ(o.signature.status_raw.value, raw);
    }
    EXPECT_EQ(o.signature.exists, true) << raw;
  }
}

TEST(winlogbeat_profile, mapped_signature_status_values_follow_the_sysmon_column) {
  const std::vector<std::pair<std::string, signature_status>> cases = {
      {"Valid", signature_status::valid},
      {"Expired", signature_status::expired},
      {"Unavailable", signature_status::unknown},
  };
  harness h;
  for (const auto& [raw, expected] : cases) {
    const auto& o = h.ok(mapped_sysmon7(R"("signed":true,"status":")" + raw + "\""));
    EXPECT_EQ(o.signature.status, expected) << raw;
    EXPECT_EQ(o.signature.status_raw.value, raw);
  }
}

// Sysmon writes "-" for a status it does not have; a pipeline that copies SignatureStatus
// into file.code_signature.status verbatim carries it over. Missing stays missing
// (docs/detections.md section 1), as it does for the raw field above.
TEST(winlogbeat_profile, a_dash_as_the_mapped_status_is_missing_like_the_raw_dash) {
  harness h;
  const auto& o = h.ok(mapped_sysmon7(R"("signed":true,"status":"-")"));
  EXPECT_EQ(o.signature.status, signature_status::missing);
}

TEST(winlogbeat_profile, signed_failed_invalid_hash_is_a_present_signature_with_a_bad_digest) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":5120"));
  EXPECT_EQ(name_of(o.kind), "image_load");
  EXPECT_EQ(o.event_time_ms, k_failed_time);
  EXPECT_EQ(o.host_name.value, "QA-VM-09") << "winlog.computer_name when there is no host.name";
  EXPECT_EQ(o.image_path.value, R"(C:\BuildAgent\tools\pkgshim.dll)");
  EXPECT_EQ(o.process_path.value, R"(C:\BuildAgent\tools\packager.exe)");
  EXPECT_EQ(o.user_name.value, R"(QALAB\svc_build)");
  EXPECT_EQ(o.sha256.value, "2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e3d5c7b9a2f4e");
  EXPECT_EQ(o.sha1.value, "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e");
  EXPECT_EQ(o.pe.original_file_name.value, "pkgshim.dll");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true) << "a signature was checked, and it failed";
  EXPECT_EQ(s.status, signature_status::bad_digest);
  EXPECT_EQ(s.status_raw.value, "failed: Invalid hash") << "the raw value is kept";
  EXPECT_FALSE(s.subject.present) << "Signature \"-\" names no signer";
  EXPECT_TRUE(s.is_present());
}

TEST(winlogbeat_profile, an_expired_sysmon_signature_is_expired) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":4471"));
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status, signature_status::expired);
  EXPECT_EQ(o.signature.subject.value, "Brightline Imaging GmbH");
  EXPECT_EQ(o.host_name.value, "RECEPTION-02");
  EXPECT_EQ(o.image_path.value, R"(C:\Program Files (x86)\Brightline\Scan\blcodec.dll)");
}

TEST(winlogbeat_profile, an_unsigned_image_has_no_signature_and_an_unknown_status) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":88402"));
  EXPECT_EQ(o.signature.exists, false);
  EXPECT_EQ(o.signature.status, signature_status::unknown) << "Unavailable";
  EXPECT_FALSE(o.signature.subject.present) << "an empty Signature is no signer";
  EXPECT_FALSE(o.signature.is_present());
}

TEST(winlogbeat_profile, raw_signed_false_without_a_status_is_not_signed) {
  harness h;
  const auto& o = h.ok(raw_sysmon7(R"("ImageLoaded":"C:\\Apps\\a.dll","Signed":"false","Signature":"")"));
  EXPECT_EQ(o.signature.exists, false);
  EXPECT_EQ(o.signature.status, signature_status::not_signed);
  EXPECT_FALSE(o.signature.is_present());
}

TEST(winlogbeat_profile, sysmon_6_is_a_driver_load_of_the_driver_file) {
  harness h;
  const auto& o = h.ok(sysmon_line("\"record_id\":20117"));
  EXPECT_EQ(name_of(o.kind), "driver_load");
  EXPECT_EQ(o.event_time_ms, k_driver_time);
  EXPECT_EQ(o.host_name.value, "LAB-PC-31");
  EXPECT_EQ(o.image_path.value, R"(C:\Windows\System32\drivers\qhwio64.sys)");
  EXPECT_FALSE(o.process_path.present) << "Sysmon 6 names no loading process";
  EXPECT_EQ(o.sha256.value, "b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9");
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_EQ(o.signature.subject.value, "Quillon Hardware Ltd");
}

TEST(winlogbeat_profile, the_event_id_reads_the_same_as_a_string_and_as_a_number) {
  const std::string members = R"("ImageLoaded":"C:\\Apps\\a.dll","Signed":"true","SignatureStatus":"Valid")";
  std::string as_number = raw_sysmon7(members);
  as_number.replace(as_number.find(R"("event_id":"7")"), 14, R"("event_id":7)");
  harness h;
  const observation from_string = h.ok(raw_sysmon7(members));
  const observation from_number = h.ok(as_number);
  EXPECT_EQ(name_of(from_string.kind), "image_load");
  EXPECT_EQ(name_of(from_number.kind), "image_load");
  expect_same_observation(from_number, from_string);
}

TEST(winlogbeat_profile, sysmon_events_other_than_1_6_and_7_are_of_unknown_kind) {
  harness h;
  const auto& o = h.ok(R"({"@timestamp":"2026-11-23T12:00:00Z","host":{"name":"ENG-WS-200"},
      "winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"11",
                "event_data":{"Image":"C:\\Apps\\viewer.exe","TargetFilename":"C:\\Temp\\x.tmp"}}})");
  EXPECT_EQ(name_of(o.kind), "unknown");
}

// ---- Code Integrity -----------------------------------------------------------------

TEST(winlogbeat_profile, code_integrity_3033_reads_the_buffers_the_policies_and_a_decimal_status) {
  harness h;
  const auto& o = h.ok(ci_line("\"record_id\":7702"));
  EXPECT_EQ(name_of(o.kind), "code_integrity");
  EXPECT_EQ(o.ci.event_id, 3033);
  EXPECT_EQ(name_of(o.ci.klass), "block");
  EXPECT_EQ(o.event_time_ms, k_3033_time);
  EXPECT_EQ(o.host_name.value, "KIOSK-22");
  EXPECT_EQ(o.image_path.value, R"(\Device\HarddiskVolume4\Users\kiosk\AppData\Local\Lumora\lumhook.dll)");
  EXPECT_EQ(o.process_path.value, R"(\Device\HarddiskVolume4\Program Files\Lumora\lumora.exe)");
  EXPECT_EQ(o.ci.process_name.value, o.process_path.value);
  EXPECT_EQ(o.ci.requested_signing_level, 8);
  EXPECT_EQ(o.ci.validated_signing_level, 1);
  EXPECT_EQ(o.ci.status.value, "0xc0e90002") << "3236495362 as NTSTATUS hex";
  EXPECT_EQ(o.ci.activity_id.value, "5b2e91c4-7a3d-0002-9f1e-c4912e5bd801") << "lowercase, no braces";
  EXPECT_FALSE(o.signature.exists.has_value()) << "the signer comes with the 3089";
  EXPECT_EQ(o.signature.status, signature_status::missing);
}

TEST(winlogbeat_profile, code_integrity_3077_reads_the_spaced_v5_names_and_the_flat_hashes) {
  harness h;
  const auto& o = h.ok(ci_line("\"record_id\":7716"));
  EXPECT_EQ(name_of(o.kind), "code_integrity");
  EXPECT_EQ(o.ci.event_id, 3077);
  EXPECT_EQ(name_of(o.ci.klass), "block");
  EXPECT_EQ(o.event_time_ms, k_3077_time);
  EXPECT_EQ(o.image_path.value, R"(\Device\HarddiskVolume4\Users\kiosk\Downloads\PortaShell\pshell.exe)");
  EXPECT_EQ(o.process_path.value, R"(\Device\HarddiskVolume4\Windows\explorer.exe)");
  EXPECT_EQ(o.ci.requested_signing_level, 2);
  EXPECT_EQ(o.ci.validated_signing_level, 4);
  EXPECT_EQ(o.ci.status.value, "0xc0e90002");
  EXPECT_EQ(o.sha256.value, "d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3")
      << "SHA256 Flat Hash, not the Authenticode SHA256 Hash";
  EXPECT_EQ(o.sha1.value, "e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4") << "SHA1 Flat Hash";
  EXPECT_EQ(o.ci.policy_name.value, "Kiosk lockdown");
  EXPECT_EQ(o.ci.policy_id.value, "KIOSK-BASE-2026.11");
  EXPECT_EQ(o.ci.policy_guid.value, "7d3e1a52-9b44-4c0e-a1f6-2e8b5c9d0a13") << "braces stripped, lowercase";
  EXPECT_EQ(o.ci.user_writable, true);
  EXPECT_EQ(o.pe.original_file_name.value, "pshell.exe");
  EXPECT_EQ(o.pe.product.value, "PortaShell");
  EXPECT_EQ(o.pe.description.value, "PortaShell Console");
  EXPECT_EQ(o.pe.file_version.value, "2.8.0.114");
  EXPECT_EQ(o.ci.activity_id.value, "a1d40f77-3c2b-0001-44e8-0fa1d43c2bdc");
}

TEST(winlogbeat_profile, code_integrity_without_flat_hashes_falls_back_to_the_authenticode_ones) {
  harness h;
  const auto& o = h.ok(ci_event(R"("3077")", R"("File Name":"\\Device\\HarddiskVolume4\\x.exe",)"
                                             R"("SHA256 Hash":"AB12","SHA1 Hash":"CD34")"));
  EXPECT_EQ(o.sha256.value, "ab12");
  EXPECT_EQ(o.sha1.value, "cd34");
}

TEST(winlogbeat_profile, code_integrity_3089_is_signature_info_with_the_signer_facts) {
  harness h;
  const auto& o = h.ok(ci_line("\"record_id\":7703"));
  EXPECT_EQ(name_of(o.kind), "signature_info");
  EXPECT_EQ(name_of(o.ci.klass), "signature_info");
  EXPECT_EQ(o.ci.event_id, 3089);
  EXPECT_EQ(o.ci.activity_id.value, "5b2e91c4-7a3d-0002-9f1e-c4912e5bd801");
  const auto& s = o.signature;
  EXPECT_EQ(s.subject.value, "Lumora Interactive Ltd") << "PublisherName";
  EXPECT_EQ(s.subject_cn.value, "Lumora Interactive Ltd");
  EXPECT_EQ(s.issuer.value, "Kestrel Public Code Signing CA R2") << "IssuerName";
  EXPECT_EQ(s.issuer_cn.value, "Kestrel Public Code Signing CA R2");
  EXPECT_EQ(s.not_before_ms, k_2023_05_10) << "7-digit fraction";
  EXPECT_EQ(s.not_after_ms, k_2026_05_09_end);
  EXPECT_EQ(s.signature_type.value, "1");
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::revoked) << "VerificationError 4";
  EXPECT_EQ(s.status_raw.value, "VerificationError=4");
  EXPECT_EQ(o.ci.verification_error, 4);
  EXPECT_EQ(o.ci.signature_index, 0);
  EXPECT_EQ(o.ci.total_signature_count, 1);
  EXPECT_EQ(o.ci.validated_signing_level, 4);
  EXPECT_EQ(o.ci.publisher_tbs_hash.value, "c8a1f0e29d3b4c5a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a");
  EXPECT_EQ(o.ci.issuer_tbs_hash.value, "0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d");
  EXPECT_FALSE(o.sha256.present) << "the 3089 Hash is Authenticode, not the file identity";
}

TEST(winlogbeat_profile, code_integrity_3089_with_no_signatures_says_unsigned) {
  harness h;
  const auto& o = h.ok(ci_line("\"record_id\":7731"));
  EXPECT_EQ(o.ci.total_signature_count, 0);
  EXPECT_EQ(o.signature.exists, false);
  EXPECT_EQ(o.signature.status, signature_status::not_signed);
  EXPECT_FALSE(o.signature.subject.present) << "an empty PublisherName is no signer";
  EXPECT_FALSE(o.signature.is_present());
}

TEST(winlogbeat_profile, code_integrity_verification_errors_follow_the_ci_column) {
  const std::vector<std::pair<std::string, signature_status>> cases = {
      {"0", signature_status::valid},           {"5", signature_status::expired},
      {"4", signature_status::revoked},         {"19", signature_status::revoked},
      {"7", signature_status::untrusted_root},  {"1", signature_status::bad_digest},
      {"11", signature_status::bad_digest},     {"23", signature_status::bad_digest},
      {"27", signature_status::chain_error},    {"3", signature_status::not_signed},
      {"26", signature_status::unknown},        {"12", signature_status::unknown},
  };
  harness h;
  for (const auto& [error, expected] : cases) {
    const auto& o = h.ok(ci_3089(error));
    EXPECT_EQ(o.signature.status, expected) << "VerificationError " << error;
    EXPECT_EQ(o.signature.status_raw.value, "VerificationError=" + error);
    EXPECT_EQ(o.signature.exists, true) << error;
  }
}

TEST(winlogbeat_profile, code_integrity_3099_is_a_policy_event) {
  harness h;
  const auto& o = h.ok(ci_line("\"record_id\":7650"));
  EXPECT_EQ(name_of(o.kind), "policy");
  EXPECT_EQ(name_of(o.ci.klass), "policy");
  EXPECT_EQ(o.ci.event_id, 3099);
  EXPECT_EQ(o.event_time_ms, k_3099_time);
  EXPECT_EQ(o.ci.policy_name.value, "Kiosk lockdown") << "PolicyNameBuffer";
  EXPECT_EQ(o.ci.policy_id.value, "KIOSK-BASE-2026.11") << "PolicyIdBuffer";
  EXPECT_EQ(o.ci.policy_guid.value, "7d3e1a52-9b44-4c0e-a1f6-2e8b5c9d0a13");
  EXPECT_EQ(o.ci.status.value, "0x00000000");
  EXPECT_FALSE(o.ci.activity_id.present) << "3099 has no correlation id";
  EXPECT_FALSE(o.signature.is_present());
}

TEST(winlogbeat_profile, the_activity_id_is_lowercased_and_its_braces_removed) {
  harness h;
  const auto& o = h.ok(ci_event(R"("3033")", R"("FileNameBuffer":"\\Device\\x.dll")",
                                "{06DC59E1-FB5B-0001-7580-DC065BFBD701}"));
  EXPECT_EQ(o.ci.activity_id.value, "06dc59e1-fb5b-0001-7580-dc065bfbd701");
}

TEST(winlogbeat_profile, the_code_integrity_event_id_reads_the_same_as_a_string_and_as_a_number) {
  harness h;
  const observation a = h.ok(ci_event(R"("3033")", R"("FileNameBuffer":"\\Device\\x.dll","Status":"3236495362")"));
  const observation b = h.ok(ci_event("3033", R"("FileNameBuffer":"\\Device\\x.dll","Status":"3236495362")"));
  EXPECT_EQ(a.ci.event_id, 3033);
  EXPECT_EQ(b.ci.event_id, 3033);
  EXPECT_EQ(name_of(b.kind), "code_integrity");
  EXPECT_EQ(b.ci.status.value, a.ci.status.value);
}

TEST(winlogbeat_profile, a_code_integrity_event_without_an_event_id_is_rejected_as_missing_field) {
  harness h;
  const auto e = h.err(ci_event("", R"("FileNameBuffer":"\\Device\\x.dll")"));
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "winlog.event_id");
}

TEST(winlogbeat_profile, a_non_boolean_user_writeable_is_rejected_as_wrong_type) {
  harness h;
  const auto e = h.err(ci_event(R"("3077")", R"("File Name":"\\Device\\x.exe","UserWriteable":"maybe")"));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_THAT(e.detail, ::testing::HasSubstr("UserWriteable"));
}

struct class_case {
  std::int64_t id;
  std::string_view klass;
  std::string_view kind;
};

TEST(winlogbeat_profile, every_code_integrity_event_id_gets_its_class) {
  const std::vector<class_case> cases = {
      {3023, "block_revoked", "code_integrity"}, {3036, "block_revoked", "code_integrity"},
      {3112, "block_revoked", "code_integrity"}, {3077, "block", "code_integrity"},
      {3033, "block", "code_integrity"},         {3104, "block", "code_integrity"},
      {3021, "load_revoked", "code_integrity"},  {3022, "load_revoked", "code_integrity"},
      {3032, "load_revoked", "code_integrity"},  {3035, "load_revoked", "code_integrity"},
      {3001, "load_unsigned", "code_integrity"}, {3037, "load_unsigned", "code_integrity"},
      {3004, "load_invalid", "code_integrity"},  {3076, "audit", "code_integrity"},
      {3034, "audit", "code_integrity"},         {3064, "audit", "code_integrity"},
      {3066, "audit", "code_integrity"},         {3089, "signature_info", "signature_info"},
      {3095, "policy", "policy"},                {3099, "policy", "policy"},
      {3105, "policy", "policy"},                {3010, "none", "unknown"},
  };
  harness h;
  for (const auto& c : cases) {
    const auto& o = h.ok(ci_event(std::to_string(c.id), R"("FileNameBuffer":"\\Device\\x.sys")"));
    EXPECT_EQ(o.ci.event_id, c.id);
    EXPECT_EQ(name_of(o.ci.klass), c.klass) << c.id;
    EXPECT_EQ(name_of(o.kind), c.kind) << c.id;
    if (c.klass == "block_revoked" || c.klass == "load_revoked") {
      EXPECT_EQ(o.signature.exists, true) << c.id;
      EXPECT_EQ(o.signature.status, signature_status::revoked) << c.id;
      EXPECT_EQ(o.signature.status_raw.value, "CodeIntegrity " + std::to_string(c.id));
    } else if (c.klass == "load_unsigned") {
      EXPECT_EQ(o.signature.exists, false) << c.id;
      EXPECT_EQ(o.signature.status, signature_status::not_signed) << c.id;
    } else if (c.klass != "signature_info") {
      EXPECT_EQ(o.signature.status, signature_status::missing) << c.id;
    }
  }
}

TEST(winlogbeat_profile, code_integrity_event_data_oversized_field_is_cut_to_the_limit) {
  harness h;
  const auto& o = h.ok(ci_event(R"("3033")", R"("FileNameBuffer":")" + std::string(5000, 'x') + "\""));
  EXPECT_EQ(o.image_path.value, std::string(4096, 'x'));
}

TEST(winlogbeat_profile, every_fixture_line_parses) {
  harness h;
  for (const char* file : {"sysmon.ndjson", "codeintegrity.ndjson"}) {
    const auto lines = read_lines(k_data + "/winlogbeat/" + file);
    EXPECT_GE(lines.size(), 6U) << file;
    for (const auto& line : lines) (void)h.ok(line);
  }
}

}  // namespace
}  // namespace winlogbeat_profile_test
}  // namespace countersign::processor
