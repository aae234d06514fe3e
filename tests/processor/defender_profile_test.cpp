// The Microsoft Defender advanced-hunting profile (processor/src/engine/profiles/defender.cpp) on
// hand-written rows, against docs/detections.md section 1 (Defender column and the Code
// Integrity section). Rows follow the Microsoft Learn schemas of DeviceProcessEvents,
// DeviceFileCertificateInfo and DeviceEvents, bare or inside the Event Hub streaming
// export envelope {"records":[{"time","category","properties"}]}.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace defender_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::ci_class;
using rules::event_kind;
using rules::observation;
using rules::schema_profile;
using rules::signature_status;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr std::int64_t k_day = rules::k_ms_per_day;
constexpr std::int64_t k_hour = 3'600'000;
// 2026-11-20T10:00:00Z, computed independently (Python datetime).
constexpr std::int64_t k_t0 = 1'795'168'800'000;

constexpr std::string_view k_device_id = "7c3e0f5a9b1d2e4f6a8c0b1d3e5f7a9c0b2d4e6f";

// A DeviceProcessEvents row as the API and the export deliver it (most columns; SHA256
// empty as it often is, AdditionalFields the usual "[]", initiating-process signature
// columns that describe the parent, not the judged file).
constexpr std::string_view k_process_row = R"json({
  "Timestamp": "2026-11-20T10:00:00.2501234Z",
  "DeviceId": "7c3e0f5a9b1d2e4f6a8c0b1d3e5f7a9c0b2d4e6f",
  "DeviceName": "ws-7.corp.example",
  "ActionType": "ProcessCreated",
  "FileName": "tool.exe",
  "FolderPath": "C:\\Users\\alice\\Downloads\\tool.exe",
  "SHA1": "0123456789ABCDEF0123456789ABCDEF01234567",
  "SHA256": "",
  "MD5": "0123456789abcdef0123456789abcdef",
  "FileSize": 2387456,
  "ProcessVersionInfoCompanyName": "Acme Widgets LLC",
  "ProcessVersionInfoProductName": "Tool",
  "ProcessVersionInfoProductVersion": "1.2.3.4",
  "ProcessVersionInfoInternalFileName": "tool",
  "ProcessVersionInfoOriginalFileName": "tool.exe",
  "ProcessVersionInfoFileDescription": "A tool",
  "ProcessId": 4242,
  "ProcessCommandLine": "tool.exe /quiet",
  "ProcessCreationTime": "2026-11-20T09:59:59.9000000Z",
  "AccountDomain": "corp",
  "AccountName": "alice",
  "AccountSid": "S-1-5-21-1-2-3-1001",
  "AccountObjectId": null,
  "LogonId": 1443318,
  "InitiatingProcessFileName": "explorer.exe",
  "InitiatingProcessFolderPath": "c:\\windows\\explorer.exe",
  "InitiatingProcessAccountName": "alice",
  "InitiatingProcessSHA1": "ffffffffffffffffffffffffffffffffffffffff",
  "InitiatingProcessSignatureStatus": "Valid",
  "InitiatingProcessSignerType": "OsVendor",
  "InitiatingProcessVersionInfoCompanyName": "Microsoft Corporation",
  "AdditionalFields": "[]",
  "AppGuardContainerId": null,
  "MachineGroup": "UnassignedGroup",
  "ReportId": 4824
})json";

// A DeviceFileCertificateInfo row: signed, but WinVerifyTrust does not trust it.
constexpr std::string_view k_untrusted_certificate_row = R"json({
  "Timestamp": "2026-11-20T10:00:00.250Z",
  "DeviceId": "7c3e0f5a9b1d2e4f6a8c0b1d3e5f7a9c0b2d4e6f",
  "DeviceName": "ws-7.corp.example",
  "SHA1": "89ABCDEF0123456789ABCDEF0123456789ABCDEF",
  "IsSigned": true,
  "SignatureType": "Embedded",
  "Signer": "Contoso Dev Signing",
  "SignerHash": "AABBCCDDEEFF00112233445566778899AABBCCDD",
  "Issuer": "Contoso Dev Root CA",
  "IssuerHash": "580a6f4cc4e4b669b9ebdc1b2b3e087b80d0678d",
  "CertificateSerialNumber": "00A1B2C3D4",
  "CrlDistributionPointUrls": "[\"http://crl.contoso.example/dev.crl\"]",
  "CertificateCreationTime": "2026-11-17T10:00:00Z",
  "CertificateExpirationTime": "2027-11-17T10:00:00Z",
  "CertificateCountersignatureTime": "2026-11-19T08:00:00.0000000Z",
  "IsTrusted": false,
  "IsRootSignerMicrosoft": false,
  "MachineGroup": "UnassignedGroup",
  "ReportId": 2486
})json";

// A DeviceFileCertificateInfo row of an unsigned file: empty strings where nothing is known.
constexpr std::string_view k_unsigned_certificate_row = R"json({
  "Timestamp": "2026-11-20T10:00:00Z",
  "DeviceId": "7c3e0f5a9b1d2e4f6a8c0b1d3e5f7a9c0b2d4e6f",
  "DeviceName": "ws-7.corp.example",
  "SHA1": "1234567890123456789012345678901234567890",
  "IsSigned": false,
  "SignatureType": "",
  "Signer": "",
  "SignerHash": "",
  "Issuer": "",
  "IssuerHash": "",
  "CertificateSerialNumber": "",
  "CrlDistributionPointUrls": null,
  "CertificateCreationTime": "",
  "CertificateExpirationTime": null,
  "CertificateCountersignatureTime": "",
  "IsTrusted": false,
  "IsRootSignerMicrosoft": false,
  "ReportId": 2487
})json";

// The members of AdditionalFields of an AppControlCodeIntegrityPolicyBlocked row.
constexpr std::string_view k_blocked_additional_fields =
    R"json({"PolicyID":"{A244370E-44C9-4C06-B551-F6016E563076}","PolicyName":"Contoso Enforced",)json"
    R"json("RequestedSigningLevel":"4","ValidatedSigningLevel":"1",)json"
    R"json("ProcessName":"\\Device\\HarddiskVolume3\\Windows\\System32\\rundll32.exe",)json"
    R"json("StatusCode":"0xC0E90002",)json"
    R"json("Sha1FlatHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",)json"
    R"json("Sha256FlatHash":"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",)json"
    R"json("USN":123456,"SiSigningScenario":1,"PolicyHash":"0011","PolicyGuid":"{A244370E-44C9-4C06-B551-F6016E563076}",)json"
    R"json("UserWriteable":true,"OriginalFileName":"payload.dll","InternalName":"payload",)json"
    R"json("FileDescription":"Payload","FileVersion":"1.0.0.0",)json"
    R"json("EtwActivityId":"{5B9A6E0C-1234-4ABC-9DEF-0123456789AB}","Nested":{"ignored":[1,2]}})json";

// A DeviceEvents row; ADDITIONAL stands for the AdditionalFields value.
constexpr std::string_view k_blocked_row = R"json({
  "Timestamp": "2026-11-20T10:00:00.250Z",
  "DeviceId": "7c3e0f5a9b1d2e4f6a8c0b1d3e5f7a9c0b2d4e6f",
  "DeviceName": "ws-7.corp.example",
  "ActionType": "AppControlCodeIntegrityPolicyBlocked",
  "FileName": "payload.dll",
  "FolderPath": "C:\\Users\\bob\\AppData\\Local\\Temp\\payload.dll",
  "SHA1": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "SHA256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
  "AccountName": "",
  "InitiatingProcessAccountName": "bob",
  "InitiatingProcessFileName": "rundll32.exe",
  "InitiatingProcessFolderPath": "c:\\windows\\system32\\rundll32.exe",
  "AdditionalFields": ADDITIONAL,
  "ReportId": 77
})json";

// `text` as a JSON string literal.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char ch : text) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

std::string replace(std::string_view templ, std::string_view placeholder, std::string_view value) {
  std::string s(templ);
  const auto at = s.find(placeholder);
  EXPECT_NE(at, std::string::npos) << placeholder;
  if (at != std::string::npos) s.replace(at, placeholder.size(), value);
  return s;
}

std::string blocked_row_with(std::string_view additional) {
  return replace(k_blocked_row, "ADDITIONAL", additional);
}

// A minimal bare row: `members` are added to a Timestamp and a DeviceId.
std::string row_with(std::string_view members) {
  return R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"dev-1")" +
         (members.empty() ? std::string() : "," + std::string(members)) + "}";
}

// One envelope record.
std::string record(std::string_view category, std::string_view properties) {
  return R"({"time":"2026-11-20T10:05:00.0000000Z","tenantId":"12345af3-bc0e-4f36-b08e-27759e912345",)"
         R"("operationName":"Publish","category":")" +
         std::string(category) + R"(","properties":)" + std::string(properties) + "}";
}

std::string envelope(const std::vector<std::string>& records) {
  std::string s = R"({"records":[)";
  for (std::size_t i = 0; i < records.size(); ++i) s += (i ? "," : "") + records[i];
  return s + "]}";
}

// ok_batch() fails the test on a reject or on another profile than Defender; ok() also
// unless the message yields exactly one observation.
using harness = test_support::parse_harness<schema_profile::defender>;

void expect_process_row(const observation& o) {
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.source.schema, schema_profile::defender);
  EXPECT_EQ(o.event_time_ms, k_t0 + 250);
  EXPECT_EQ(o.host_id.value, k_device_id);
  EXPECT_EQ(o.host_name.value, "ws-7.corp.example");
  EXPECT_NE(o.host_hash, 0U);
  EXPECT_EQ(o.user_name.value, "alice");
  EXPECT_EQ(o.image_path.value, R"(C:\Users\alice\Downloads\tool.exe)");
  EXPECT_FALSE(o.process_path.present);  // the parent is not the judged file
  EXPECT_FALSE(o.sha256.present) << "an empty SHA256 is missing, not an empty hash";
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(o.pe.original_file_name.value, "tool.exe");
  EXPECT_EQ(o.pe.company.value, "Acme Widgets LLC");
  EXPECT_EQ(o.pe.product.value, "Tool");
  EXPECT_EQ(o.pe.description.value, "A tool");
  EXPECT_EQ(o.pe.file_version.value, "1.2.3.4");
  // InitiatingProcessSignatureStatus describes the parent: no signature facts here.
  const auto& s = o.signature;
  EXPECT_FALSE(s.exists.has_value());
  EXPECT_EQ(s.status, signature_status::missing);
  EXPECT_FALSE(s.status_raw.present);
  EXPECT_FALSE(s.trusted.has_value());
  EXPECT_FALSE(s.subject.present);
  EXPECT_FALSE(s.issuer.present);
  EXPECT_FALSE(s.thumbprint.present);
  EXPECT_FALSE(s.not_before_ms.has_value());
  EXPECT_FALSE(s.is_present());
  EXPECT_FALSE(o.ci.present());
}

void expect_untrusted_certificate_row(const observation& o) {
  EXPECT_EQ(o.kind, event_kind::file_certificate);
  EXPECT_EQ(o.source.schema, schema_profile::defender);
  EXPECT_EQ(o.event_time_ms, k_t0 + 250);
  EXPECT_EQ(o.host_id.value, k_device_id);
  EXPECT_EQ(o.host_name.value, "ws-7.corp.example");
  EXPECT_NE(o.host_hash, 0U);
  EXPECT_FALSE(o.user_name.present);
  EXPECT_FALSE(o.image_path.present);  // the table is keyed by SHA1 only
  EXPECT_FALSE(o.sha256.present);
  EXPECT_EQ(o.sha1.value, "89abcdef0123456789abcdef0123456789abcdef");
  EXPECT_FALSE(o.pe.company.present);
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "IsTrusted=false");
  EXPECT_EQ(s.subject.value, "Contoso Dev Signing");
  EXPECT_EQ(s.subject_cn.value, "Contoso Dev Signing");
  EXPECT_FALSE(s.subject_o.present);
  EXPECT_EQ(s.thumbprint.value, "aabbccddeeff00112233445566778899aabbccdd");
  EXPECT_EQ(s.issuer.value, "Contoso Dev Root CA");
  EXPECT_EQ(s.issuer_cn.value, "Contoso Dev Root CA");
  EXPECT_EQ(s.serial.value, "00a1b2c3d4");
  EXPECT_EQ(s.not_before_ms, k_t0 - 3 * k_day);
  EXPECT_EQ(s.not_after_ms, k_t0 - 3 * k_day + 365 * k_day);
  EXPECT_EQ(s.signing_time_ms, k_t0 - k_day - 2 * k_hour);
  EXPECT_EQ(s.signature_type.value, "Embedded");
  EXPECT_TRUE(s.is_present());
  EXPECT_FALSE(o.ci.present());
}

// The facts of k_blocked_row, whichever form its AdditionalFields has.
void expect_policy_blocked(const observation& o) {
  EXPECT_EQ(o.kind, event_kind::code_integrity);
  EXPECT_EQ(o.source.schema, schema_profile::defender);
  EXPECT_EQ(o.event_time_ms, k_t0 + 250);
  EXPECT_EQ(o.host_id.value, k_device_id);
  EXPECT_EQ(o.user_name.value, "bob");  // AccountName is empty: the initiating account
  EXPECT_EQ(o.image_path.value, R"(C:\Users\bob\AppData\Local\Temp\payload.dll)");
  EXPECT_EQ(o.process_path.value, R"(c:\windows\system32\rundll32.exe)");
  EXPECT_EQ(o.sha1.value, std::string(40, 'a'));
  EXPECT_EQ(o.sha256.value, std::string(64, 'b'));
  EXPECT_EQ(o.pe.original_file_name.value, "payload.dll");
  EXPECT_EQ(o.pe.description.value, "Payload");
  EXPECT_EQ(o.pe.file_version.value, "1.0.0.0");
  EXPECT_FALSE(o.pe.company.present);
  const auto& ci = o.ci;
  EXPECT_EQ(ci.event_id, 3077);
  EXPECT_EQ(ci.klass, ci_class::block);
  EXPECT_EQ(ci.activity_id.value, "5b9a6e0c-1234-4abc-9def-0123456789ab");
  EXPECT_EQ(ci.process_name.value, R"(\Device\HarddiskVolume3\Windows\System32\rundll32.exe)");
  EXPECT_EQ(ci.policy_name.value, "Contoso Enforced");
  EXPECT_EQ(ci.policy_id.value, "{A244370E-44C9-4C06-B551-F6016E563076}");
  EXPECT_EQ(ci.policy_guid.value, "a244370e-44c9-4c06-b551-f6016e563076");
  EXPECT_EQ(ci.requested_signing_level, 4);
  EXPECT_EQ(ci.validated_signing_level, 1);
  EXPECT_EQ(ci.status.value, "0xc0e90002");
  EXPECT_EQ(ci.user_writable, true);
  EXPECT_FALSE(ci.verification_error.has_value());
  // A block says nothing about the signature by itself (the 3089 rows do).
  EXPECT_FALSE(o.signature.exists.has_value());
  EXPECT_EQ(o.signature.status, signature_status::missing);
}

// --- DeviceProcessEvents ------------------------------------------------------------------

TEST(defender_profile, a_bare_process_row_fills_every_mapped_field) {
  harness h;
  expect_process_row(h.ok(k_process_row));
}

TEST(defender_profile, a_process_row_without_action_type_is_known_by_its_process_columns) {
  harness h;
  const auto o = h.ok(row_with(R"("FolderPath":"C:\\x.exe","ProcessVersionInfoCompanyName":"X")"));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.image_path.value, R"(C:\x.exe)");
  EXPECT_EQ(o.pe.company.value, "X");
}

TEST(defender_profile, a_folder_path_that_is_only_the_folder_gets_the_file_name) {
  harness h;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"("FolderPath":"C:\\Tools\\","FileName":"x.exe")", R"(C:\Tools\x.exe)"},
      {R"("FolderPath":"C:\\Tools","FileName":"x.exe")", R"(C:\Tools\x.exe)"},
      {R"("FileName":"x.exe","FolderPath":"C:\\Tools")", R"(C:\Tools\x.exe)"},  // any order
      {R"("FolderPath":"C:\\Tools\\X.EXE","FileName":"x.exe")", R"(C:\Tools\X.EXE)"},
      {R"("FolderPath":"C:\\Tools\\x.exe","FileName":"")", R"(C:\Tools\x.exe)"},
      {R"("FolderPath":"/opt/tools","FileName":"run")", "/opt/tools/run"},
      {R"("FolderPath":"","FileName":"x.exe")", "x.exe"},
      {R"("FileName":"x.exe")", "x.exe"},
      {R"("FolderPath":"C:\\Tools\\prefix-x.exe","FileName":"x.exe")", R"(C:\Tools\prefix-x.exe\x.exe)"},
  };
  for (const auto& [members, expected] : cases) {
    const auto o = h.ok(row_with(std::string(R"("ActionType":"ProcessCreated",)") + members));
    EXPECT_EQ(o.image_path.value, expected) << members;
    EXPECT_TRUE(o.image_path.present) << members;
  }
  EXPECT_FALSE(h.ok(row_with(R"("ActionType":"ProcessCreated")")).image_path.present);
}

TEST(defender_profile, the_user_is_the_account_name_else_the_initiating_account) {
  harness h;
  const std::string base = R"("ActionType":"ProcessCreated",)";
  const auto both = h.ok(row_with(base + R"("AccountName":"alice","InitiatingProcessAccountName":"system")"));
  EXPECT_EQ(both.user_name.value, "alice");
  const auto empty_account = h.ok(row_with(base + R"("InitiatingProcessAccountName":"system","AccountName":"")"));
  EXPECT_EQ(empty_account.user_name.value, "system");
  EXPECT_EQ(h.ok(row_with(base + R"("InitiatingProcessAccountName":"system")")).user_name.value, "system");
  const auto empty = h.ok(row_with(base + R"("AccountName":"")"));
  EXPECT_TRUE(empty.user_name.present);
  EXPECT_EQ(empty.user_name.value, "");
  EXPECT_FALSE(h.ok(row_with(base + R"("AccountName":null)")).user_name.present);
}

TEST(defender_profile, an_empty_sha256_is_missing_and_other_empty_text_is_present) {
  harness h;
  const auto o = h.ok(row_with(
      R"("ActionType":"ProcessCreated","SHA256":"","SHA1":"","ProcessVersionInfoCompanyName":"","FolderPath":"C:\\a.exe")"));
  EXPECT_FALSE(o.sha256.present);
  EXPECT_FALSE(o.sha1.present);
  EXPECT_TRUE(o.pe.company.present);
  EXPECT_EQ(o.pe.company.value, "");
  EXPECT_FALSE(o.pe.product.present);  // never mentioned
  const auto hashed = h.ok(row_with(R"("ActionType":"ProcessCreated","SHA256":"AB CD-EF")"));
  EXPECT_EQ(hashed.sha256.value, "abcdef");
}

// --- DeviceFileCertificateInfo --------------------------------------------------------------

TEST(defender_profile, a_signed_untrusted_certificate_row_is_untrusted_root) {
  harness h;
  expect_untrusted_certificate_row(h.ok(k_untrusted_certificate_row));
}

TEST(defender_profile, an_unsigned_certificate_row_is_not_signed_and_empty_dates_are_missing) {
  harness h;
  const auto o = h.ok(k_unsigned_certificate_row);
  EXPECT_EQ(o.kind, event_kind::file_certificate);
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_EQ(o.sha1.value, "1234567890123456789012345678901234567890");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, false);
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.status, signature_status::not_signed);
  EXPECT_EQ(s.status_raw.value, "IsSigned=false");
  EXPECT_FALSE(s.is_present());
  EXPECT_TRUE(s.subject.present);  // "" is present and empty
  EXPECT_EQ(s.subject.value, "");
  EXPECT_FALSE(s.subject_cn.present);
  EXPECT_TRUE(s.issuer.present);
  EXPECT_FALSE(s.issuer_cn.present);
  EXPECT_TRUE(s.signature_type.present);
  EXPECT_FALSE(s.thumbprint.present);  // empty identifiers are missing
  EXPECT_FALSE(s.serial.present);
  EXPECT_FALSE(s.not_before_ms.has_value());
  EXPECT_FALSE(s.not_after_ms.has_value());
  EXPECT_FALSE(s.signing_time_ms.has_value());
}

TEST(defender_profile, a_signed_trusted_certificate_row_is_valid) {
  harness h;
  const auto o = h.ok(row_with(R"("SHA1":"AB","IsSigned":true,"IsTrusted":true,"Signer":"Microsoft Windows")"));
  EXPECT_EQ(o.kind, event_kind::file_certificate);
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_EQ(o.signature.status_raw.value, "IsTrusted=true");
  EXPECT_EQ(o.signature.trusted, true);
}

TEST(defender_profile, signed_without_a_trust_verdict_leaves_the_status_missing) {
  harness h;
  const auto o = h.ok(row_with(R"("IsSigned":true,"Signer":"X")"));
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status, signature_status::missing);
  EXPECT_FALSE(o.signature.status_raw.present);
  EXPECT_TRUE(o.signature.is_present());
}

TEST(defender_profile, booleans_are_read_from_bools_strings_and_numbers) {
  harness h;
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true},   {"false", false}, {R"("true")", true}, {R"("False")", false},
      {"1", true},      {"0", false},     {R"("1")", true},    {R"("0")", false},
  };
  for (const auto& [value, expected] : cases) {
    const auto o = h.ok(row_with(R"("IsSigned":true,"IsTrusted":)" + value));
    EXPECT_EQ(o.signature.trusted, expected) << value;
    const auto status = expected ? signature_status::valid : signature_status::untrusted_root;
    EXPECT_EQ(o.signature.status, status) << value;
    EXPECT_EQ(h.ok(row_with(R"("IsTrusted":true,"IsSigned":)" + value)).signature.exists, expected) << value;
  }
  const auto unknown = h.ok(row_with(R"("IsSigned":null,"IsTrusted":"","Signer":"X")"));
  EXPECT_FALSE(unknown.signature.exists.has_value());
  EXPECT_FALSE(unknown.signature.trusted.has_value());
}

TEST(defender_profile, a_signature_state_column_decides_the_status_and_is_kept_raw) {
  struct expectation {
    std::string members;
    signature_status status;
    std::string raw;
    std::optional<bool> exists;
    std::optional<bool> trusted;
  };
  const std::vector<expectation> cases = {
      {R"("SignatureState":"SignedValid")", signature_status::valid, "SignedValid", true, std::nullopt},
      {R"("SignatureState":"SignedInvalid")", signature_status::other, "SignedInvalid", true, false},
      {R"("SignatureState":"Unsigned")", signature_status::not_signed, "Unsigned", false, std::nullopt},
      {R"("SignatureState":"Unknown")", signature_status::unknown, "Unknown", std::nullopt, std::nullopt},
      {R"("SignatureStatus":"Revoked")", signature_status::revoked, "Revoked", true, std::nullopt},
      {R"("SignatureState":"SomethingNew")", signature_status::other, "SomethingNew", true, std::nullopt},
      // The state wins over the booleans when it says something...
      {R"("IsSigned":true,"IsTrusted":false,"SignatureState":"SignedValid")", signature_status::valid, "SignedValid",
       true, false},
      // ...and "Unknown" or an empty state leaves the decision to them.
      {R"("IsSigned":true,"IsTrusted":false,"SignatureState":"Unknown")", signature_status::untrusted_root,
       "IsTrusted=false", true, false},
      {R"("SignatureState":"","IsSigned":false)", signature_status::not_signed, "IsSigned=false", false, std::nullopt},
  };
  harness h;
  for (const auto& c : cases) {
    const auto o = h.ok(row_with(c.members));
    EXPECT_EQ(o.kind, event_kind::file_certificate) << c.members;
    EXPECT_EQ(o.signature.status, c.status) << c.members;
    EXPECT_EQ(o.signature.status_raw.value, c.raw) << c.members;
    EXPECT_EQ(o.signature.exists, c.exists) << c.members;
    EXPECT_EQ(o.signature.trusted, c.trusted) << c.members;
  }
}

TEST(defender_profile, a_dn_signer_yields_cn_and_o) {
  harness h;
  const auto o = h.ok(row_with(R"("IsSigned":true,"Signer":"CN=Acme Widgets LLC, O=Acme Widgets, C=US")"));
  EXPECT_EQ(o.signature.subject_cn.value, "Acme Widgets LLC");
  EXPECT_EQ(o.signature.subject_o.value, "Acme Widgets");
}

// --- joined rows ------------------------------------------------------------------------

TEST(defender_profile, a_process_row_joined_with_its_certificate_fills_both) {
  // DeviceProcessEvents | join DeviceFileCertificateInfo on SHA1: the certificate columns
  // come after the process columns (or anywhere).
  std::string joined(k_process_row);
  joined.erase(joined.rfind('}'));
  joined += R"json(,
  "IsSigned": true, "IsTrusted": false, "Signer": "Contoso Dev Signing",
  "SignerHash": "AABBCCDDEEFF00112233445566778899AABBCCDD", "Issuer": "Contoso Dev Root CA",
  "CertificateSerialNumber": "00A1B2C3D4", "CertificateCreationTime": "2026-11-17T10:00:00Z",
  "CertificateExpirationTime": "2027-11-17T10:00:00Z",
  "CertificateCountersignatureTime": "2026-11-19T08:00:00Z", "SignatureType": "Embedded",
  "IsRootSignerMicrosoft": false})json";
  harness h;
  const auto o = h.ok(joined);
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.image_path.value, R"(C:\Users\alice\Downloads\tool.exe)");
  EXPECT_EQ(o.user_name.value, "alice");
  EXPECT_EQ(o.pe.company.value, "Acme Widgets LLC");
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "IsTrusted=false");
  EXPECT_EQ(s.subject.value, "Contoso Dev Signing");
  EXPECT_EQ(s.thumbprint.value, "aabbccddeeff00112233445566778899aabbccdd");
  EXPECT_EQ(s.issuer_cn.value, "Contoso Dev Root CA");
  EXPECT_EQ(s.serial.value, "00a1b2c3d4");
  EXPECT_EQ(s.not_before_ms, k_t0 - 3 * k_day);
  EXPECT_EQ(s.not_after_ms, k_t0 - 3 * k_day + 365 * k_day);
  EXPECT_EQ(s.signing_time_ms, k_t0 - k_day - 2 * k_hour);
  EXPECT_EQ(s.signature_type.value, "Embedded");
}

TEST(defender_profile, another_tables_row_joined_with_certificate_columns_gives_the_files_certificate) {
  harness h;
  // An image load joined with its DLL's certificate in a hunting query: both at once.
  auto o = h.ok(row_with(
      R"("ActionType":"ImageLoaded","FolderPath":"C:\\x\\a.dll","SHA1":"AB","IsSigned":true,"IsTrusted":true)"));
  EXPECT_EQ(o.kind, event_kind::image_load);
  EXPECT_EQ(o.image_path.value, R"(C:\x\a.dll)");
  EXPECT_EQ(o.signature.status, signature_status::valid);
  // Any other table's row: the file's certificate facts.
  o = h.ok(row_with(
      R"("ActionType":"FileCreated","FolderPath":"C:\\x\\a.dll","SHA1":"AB","IsSigned":true,"IsTrusted":true)"));
  EXPECT_EQ(o.kind, event_kind::file_certificate);
  EXPECT_EQ(o.image_path.value, R"(C:\x\a.dll)");
  EXPECT_EQ(o.signature.status, signature_status::valid);
}

// --- the export envelope --------------------------------------------------------------------

TEST(defender_profile, an_envelope_of_three_tables_yields_three_observations_in_order) {
  const std::string message = envelope({
      record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row),
      record("AdvancedHunting-DeviceProcessEvents", k_process_row),
      record("AdvancedHunting-DeviceEvents", blocked_row_with(json_string(k_blocked_additional_fields))),
  });
  harness h;
  const auto& batch = h.ok_batch(message);
  ASSERT_EQ(batch.size(), 3U);
  expect_untrusted_certificate_row(batch[0]);
  expect_process_row(batch[1]);
  expect_policy_blocked(batch[2]);
}

TEST(defender_profile, envelope_keys_are_read_in_any_order_and_the_record_time_is_the_fallback) {
  const std::string message = R"({"records":[{"properties":{"DeviceName":"ws-1","SHA1":"AB","IsSigned":false},
    "category":"AdvancedHunting-DeviceFileCertificateInfo","time":"2026-11-20T10:05:00.0000000Z"}]})";
  harness h;
  const auto o = h.ok(message);
  EXPECT_EQ(o.kind, event_kind::file_certificate);
  EXPECT_EQ(o.event_time_ms, k_t0 + 5 * 60'000);
  EXPECT_FALSE(o.host_id.present);
  EXPECT_EQ(o.host_name.value, "ws-1");
  EXPECT_EQ(o.host_key(), "ws-1");
  // The row's own Timestamp wins over the record time.
  const auto own = h.ok(R"({"records":[{"time":"2026-11-20T10:05:00Z","category":"AdvancedHunting-DeviceFileCertificateInfo",
    "properties":{"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d","IsSigned":false}}]})");
  EXPECT_EQ(own.event_time_ms, k_t0);
}

TEST(defender_profile, records_of_unsupported_tables_are_skipped_without_failing_the_message) {
  const std::string network = R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d","ActionType":"ConnectionSuccess",
    "RemoteIP":"10.0.0.1","RemotePort":443})";
  const std::string image_load = R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d","ActionType":"ImageLoaded",
    "FileName":"a.dll","FolderPath":"C:\\a.dll","SHA1":"ab","AdditionalFields":"not json at all"})";  // read: an image load
  const std::string other_ci = R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d",
    "ActionType":"AppControlCodeIntegrityOriginAllowed","AdditionalFields":{}})";
  const std::string antivirus = R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d","ActionType":"AntivirusDetection",
    "AdditionalFields":"{\"ThreatName\":\"x\"}"})";
  harness h;
  const auto& batch = h.ok_batch(envelope({
      record("AdvancedHunting-DeviceNetworkEvents", network),
      record("AdvancedHunting-DeviceImageLoadEvents", image_load),
      record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row),
      record("AdvancedHunting-DeviceEvents", other_ci),
      record("AdvancedHunting-DeviceEvents", antivirus),
      record("AdvancedHunting-DeviceLogonEvents", "null"),
      // Named unsupported before its properties: skipped unread, whatever they hold.
      record("AdvancedHunting-DeviceRegistryEvents", R"({"DeviceId":42,"Timestamp":"bad","IsTrusted":{}})"),
  }));
  ASSERT_EQ(batch.size(), 2U);
  EXPECT_EQ(batch[0].kind, event_kind::image_load);
  expect_untrusted_certificate_row(batch[1]);

  // Nothing supported at all: zero observations, not an error.
  EXPECT_EQ(h.ok_batch(envelope({record("AdvancedHunting-DeviceNetworkEvents", network)})).size(), 0U);
  EXPECT_EQ(h.ok_batch(R"({"records":[]})").size(), 0U);
  EXPECT_EQ(h.ok_batch(R"({"records":null})").size(), 0U);
  // A bare row of an unsupported table is the same.
  EXPECT_EQ(h.ok_batch(network).size(), 0U);
  EXPECT_EQ(h.ok_batch(other_ci).size(), 0U);
}

// DeviceImageLoadEvents: the DLL is the judged file, the initiating process its loader.
// The table has no signer columns; the DLL's certificate arrives as DeviceFileCertificateInfo.
TEST(defender_profile, an_image_load_row_is_an_image_load_with_its_loader) {
  const std::string row = R"({"Timestamp":"2026-11-20T10:00:00.25Z","DeviceId":"dev-9","DeviceName":"ws-9.corp.example",
    "ActionType":"ImageLoaded","FileName":"lfcore.dll","FolderPath":"C:\\Program Files\\Lumenfold\\lfcore.dll",
    "SHA1":"5B7E2C9A0D1F3E4B6C8A9D0E1F2A3B4C5D6E7F80","SHA256":"8F3C2B1A0E9D8C7B6A5F4E3D2C1B0A998877665544332211FFEEDDCCBBAA0099",
    "InitiatingProcessFolderPath":"c:\\program files\\lumenfold\\lumenfold.exe","InitiatingProcessAccountName":"oda",
    "InitiatingProcessFileName":"lumenfold.exe"})";
  for (const auto& message : {row, envelope({record("AdvancedHunting-DeviceImageLoadEvents", row)})}) {
    harness h;
    const auto& batch = h.ok_batch(message);
    ASSERT_EQ(batch.size(), 1U) << message;
    const auto& o = batch[0];
    EXPECT_EQ(o.kind, event_kind::image_load);
    EXPECT_EQ(o.image_path.value, R"(C:\Program Files\Lumenfold\lfcore.dll)");
    EXPECT_EQ(o.process_path.value, R"(c:\program files\lumenfold\lumenfold.exe)");
    EXPECT_EQ(o.sha1.value, "5b7e2c9a0d1f3e4b6c8a9d0e1f2a3b4c5d6e7f80");
    EXPECT_EQ(o.host_id.value, "dev-9");
    EXPECT_EQ(o.user_name.value, "oda");
    EXPECT_FALSE(o.signature.is_present());
  }
}

TEST(defender_profile, a_record_without_properties_is_a_flat_log_analytics_row) {
  // Log Analytics data export: the columns sit in the record, Type names the table and
  // TimeGenerated is the time.
  harness h;
  const auto& batch = h.ok_batch(R"({"records":[
    {"TimeGenerated":"2026-11-20T10:00:00Z","Type":"DeviceFileCertificateInfo","DeviceId":"d1",
     "SHA1":"AB","IsSigned":true,"IsTrusted":true,"Signer":"S"},
    {"TimeGenerated":"2026-11-20T10:00:01Z","Type":"DeviceNetworkEvents","DeviceId":"d1","ActionType":"ConnectionSuccess"}]})");
  ASSERT_EQ(batch.size(), 1U);
  EXPECT_EQ(batch[0].kind, event_kind::file_certificate);
  EXPECT_EQ(batch[0].event_time_ms, k_t0);
  EXPECT_EQ(batch[0].signature.status, signature_status::valid);
}

TEST(defender_profile, a_single_record_without_the_array_is_read_when_the_profile_is_forced) {
  // The shape of one Event Hub message body per record (as Elastic's m365_defender tests
  // store them). Its top-level keys do not identify the profile; config can force it.
  harness h;
  const std::string single = record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row);
  expect_untrusted_certificate_row(h.ok(single, schema_profile::defender));
  EXPECT_EQ(
      h.ok_batch(record("AdvancedHunting-DeviceNetworkEvents", R"({"DeviceId":"d"})"), schema_profile::defender).size(),
      0U);
}

TEST(defender_profile, an_object_without_any_defender_column_is_unknown_schema_when_forced) {
  input_parser parser;
  observation_batch batch;
  const auto r = parser.parse(R"({"foo":1,"bar":{"DeviceId":"x"}})", batch, schema_profile::defender);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, reject_reason::unknown_schema);
}

// --- Code Integrity in DeviceEvents -----------------------------------------------------------

TEST(defender_profile, a_policy_blocked_row_with_additional_fields_as_an_object) {
  harness h;
  expect_policy_blocked(h.ok(blocked_row_with(k_blocked_additional_fields)));
}

TEST(defender_profile, a_policy_blocked_row_with_additional_fields_as_a_json_string) {
  harness h;
  expect_policy_blocked(h.ok(blocked_row_with(json_string(k_blocked_additional_fields))));
  // Columns in another order: AdditionalFields before ActionType.
  const auto o = h.ok(R"({"AdditionalFields":"{\"PolicyName\":\"P\",\"RequestedSigningLevel\":2}",
    "DeviceName":"ws","Timestamp":"2026-11-20T10:00:00Z","ActionType":"AppControlCodeIntegrityPolicyAudited"})");
  EXPECT_EQ(o.ci.event_id, 3076);
  EXPECT_EQ(o.ci.klass, ci_class::audit);
  EXPECT_EQ(o.ci.policy_name.value, "P");
  EXPECT_EQ(o.ci.requested_signing_level, 2);
}

TEST(defender_profile, every_code_integrity_action_type_maps_to_its_event) {
  const std::vector<std::tuple<std::string, std::int64_t, ci_class, event_kind>> cases = {
      {"AppControlCodeIntegrityPolicyBlocked", 3077, ci_class::block, event_kind::code_integrity},
      {"AppControlCodeIntegrityPolicyAudited", 3076, ci_class::audit, event_kind::code_integrity},
      {"AppControlCodeIntegrityDriverRevoked", 3023, ci_class::block_revoked, event_kind::code_integrity},
      {"AppControlCodeIntegrityImageRevoked", 3036, ci_class::block_revoked, event_kind::code_integrity},
      {"AppControlCodeIntegritySigningInformation", 3089, ci_class::signature_info, event_kind::signature_info},
      {"AppControlCodeIntegrityPolicyLoaded", 3099, ci_class::policy, event_kind::policy},
  };
  harness h;
  for (const auto& [action, id, klass, kind] : cases) {
    const auto o =
        h.ok(row_with(R"("ActionType":")" + action + R"(","FolderPath":"C:\\d.sys","AdditionalFields":"{}")"));
    EXPECT_EQ(o.ci.event_id, id) << action;
    EXPECT_EQ(o.ci.klass, klass) << action;
    EXPECT_EQ(o.kind, kind) << action;
  }
  const auto revoked =
      h.ok(row_with(R"("ActionType":"AppControlCodeIntegrityDriverRevoked","FolderPath":"C:\\d.sys")"));
  EXPECT_EQ(revoked.signature.exists, true);
  EXPECT_EQ(revoked.signature.status, signature_status::revoked);
  EXPECT_EQ(revoked.signature.status_raw.value, "CodeIntegrity 3023");
  EXPECT_EQ(revoked.image_path.value, R"(C:\d.sys)");
}

TEST(defender_profile, a_signing_information_row_fills_the_signature_of_its_verdict) {
  const std::string additional =
      R"({"PublisherName":"Contoso Dev Signing","IssuerName":"Contoso Dev Root CA",)"
      R"("PublisherTBSHash":"ABCDEF01","IssuerTBSHash":"23456789","NotValidBefore":"2026-11-17T10:00:00Z",)"
      R"("NotValidAfter":"2027-11-17T10:00:00Z","SignatureType":"Embedded","VerificationError":"7",)"
      R"("TotalSignatureCount":1,"Signature":0,"EtwActivityId":"{5B9A6E0C-1234-4ABC-9DEF-0123456789AB}"})";
  harness h;
  const auto o = h.ok(row_with(R"("ActionType":"AppControlCodeIntegritySigningInformation",
    "FileName":"payload.dll","FolderPath":"C:\\Users\\bob\\AppData\\Local\\Temp\\payload.dll","AdditionalFields":)" +
                                json_string(additional)));
  EXPECT_EQ(o.kind, event_kind::signature_info);
  EXPECT_EQ(o.ci.event_id, 3089);
  EXPECT_EQ(o.ci.activity_id.value, "5b9a6e0c-1234-4abc-9def-0123456789ab");
  EXPECT_EQ(o.ci.verification_error, 7);
  EXPECT_EQ(o.ci.total_signature_count, 1);
  EXPECT_EQ(o.ci.signature_index, 0);
  EXPECT_EQ(o.ci.publisher_tbs_hash.value, "abcdef01");
  EXPECT_EQ(o.ci.issuer_tbs_hash.value, "23456789");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "VerificationError=7");
  EXPECT_EQ(s.subject.value, "Contoso Dev Signing");
  EXPECT_EQ(s.issuer.value, "Contoso Dev Root CA");
  EXPECT_EQ(s.not_before_ms, k_t0 - 3 * k_day);
  EXPECT_EQ(s.not_after_ms, k_t0 - 3 * k_day + 365 * k_day);
  EXPECT_EQ(s.signature_type.value, "Embedded");
  EXPECT_EQ(o.image_path.value, R"(C:\Users\bob\AppData\Local\Temp\payload.dll)");
}

TEST(defender_profile, additional_fields_values_in_defenders_own_forms_are_understood) {
  harness h;
  const auto o = h.ok(row_with(R"("ActionType":"AppControlCodeIntegrityPolicyBlocked",
    "AdditionalFields":{"StatusCode":-1058471934,"UserWriteable":"1","RequestedSigningLevel":"Authenticode",
                        "ValidatedSigningLevel":"","PolicyId":"{P}"})"));
  EXPECT_EQ(o.ci.status.value, "0xc0e90002");  // the negative decimal NTSTATUS
  EXPECT_EQ(o.ci.user_writable, true);
  EXPECT_FALSE(o.ci.requested_signing_level.has_value());  // not a number: dropped, not rejected
  EXPECT_FALSE(o.ci.validated_signing_level.has_value());
  EXPECT_EQ(o.ci.policy_id.value, "{P}");
}

TEST(defender_profile, flat_hashes_in_additional_fields_take_the_place_of_the_row_hashes) {
  harness h;
  const auto o = h.ok(row_with(R"("ActionType":"AppControlCodeIntegrityPolicyAudited","SHA256":"1111","SHA1":"2222",
    "AdditionalFields":{"Sha256FlatHash":"AAAA"})"));
  EXPECT_EQ(o.sha256.value, "aaaa");
  EXPECT_EQ(o.sha1.value, "2222");
}

TEST(defender_profile, empty_additional_fields_are_accepted_in_every_form) {
  harness h;
  for (const char* value : {R"("")", R"("[]")", R"("{}")", R"(" null ")", "null", "[]", "{}"}) {
    const auto o = h.ok(row_with(std::string(R"("ActionType":"AppControlCodeIntegrityPolicyAudited","AdditionalFields":)") +
                                  value));
    EXPECT_EQ(o.ci.event_id, 3076) << value;
    EXPECT_FALSE(o.ci.policy_name.present) << value;
  }
}

// --- rejects ----------------------------------------------------------------------------

TEST(defender_profile, records_that_are_not_an_array_are_wrong_type) {
  harness h;
  for (const char* records : {R"({"a":1})", R"("x")", "7", "true"}) {
    const auto e = h.err(std::string(R"({"records":)") + records + "}");
    EXPECT_EQ(e.reason, reject_reason::wrong_type) << records;
    EXPECT_EQ(e.detail, "records") << records;
  }
  const auto e = h.err(R"({"records":[{"category":"AdvancedHunting-DeviceEvents","properties":{}}, 42]})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "records[1]");
}

TEST(defender_profile, a_record_whose_properties_is_not_an_object_is_wrong_type) {
  harness h;
  auto e = h.err(envelope({record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row),
                           record("AdvancedHunting-DeviceFileCertificateInfo", R"("{\"DeviceId\":\"d\"}")")}));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "records[1].properties");
  // Even in a record of a table that would be skipped: the envelope itself is malformed.
  e = h.err(envelope({record("AdvancedHunting-DeviceNetworkEvents", "[1]")}));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "records[0].properties");
}

TEST(defender_profile, is_trusted_as_an_object_is_wrong_type_and_named) {
  harness h;
  auto e = h.err(row_with(R"("IsSigned":true,"IsTrusted":{"value":true})"));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "IsTrusted");
  e = h.err(envelope({record("AdvancedHunting-DeviceProcessEvents", k_process_row),
                      record("AdvancedHunting-DeviceFileCertificateInfo", R"({"DeviceId":"d","IsTrusted":{}})")}));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "records[1].properties.IsTrusted");
  for (const char* v : {R"("maybe")", "2", "[true]", "1.5"}) {
    e = h.err(row_with(std::string(R"("IsSigned":)") + v));
    EXPECT_EQ(e.reason, reject_reason::wrong_type) << v;
    EXPECT_EQ(e.detail, "IsSigned") << v;
  }
}

TEST(defender_profile, a_mapped_string_column_of_another_type_is_wrong_type) {
  harness h;
  auto e = h.err(R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":42})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "DeviceId");
  e = h.err(row_with(R"("ActionType":"ProcessCreated","FolderPath":{"a":1})"));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "FolderPath");
  e = h.err(row_with(R"("ActionType":7)"));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "ActionType");
}

TEST(defender_profile, additional_fields_that_hold_no_object_are_wrong_type_in_a_code_integrity_row) {
  harness h;
  for (const char* value : {R"("not json")", R"("{\"a\":1} x")", R"("[1,2]")", R"("{\"a\":")", "42", "[1]", "true"}) {
    const auto e = h.err(
        row_with(std::string(R"("ActionType":"AppControlCodeIntegrityPolicyBlocked","AdditionalFields":)") + value));
    EXPECT_EQ(e.reason, reject_reason::wrong_type) << value;
    EXPECT_EQ(e.detail, "AdditionalFields") << value;
  }
  // Inside an envelope the row's path is given.
  const auto e = h.err(envelope({record("AdvancedHunting-DeviceEvents",
                                        R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"d",
                                            "ActionType":"AppControlCodeIntegrityPolicyBlocked","AdditionalFields":"{"})")}));
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "records[0].properties.AdditionalFields");
}

TEST(defender_profile, missing_device_id_and_device_name_is_missing_field) {
  harness h;
  auto e = h.err(R"({"Timestamp":"2026-11-20T10:00:00Z","ActionType":"ProcessCreated","FolderPath":"C:\\x.exe"})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "DeviceId");
  e = h.err(R"({"Timestamp":"2026-11-20T10:00:00Z","DeviceId":"","DeviceName":null,"IsSigned":true})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "DeviceId");
  e = h.err(envelope({record("AdvancedHunting-DeviceFileCertificateInfo", R"({"IsSigned":true})")}));
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "records[0].properties.DeviceId");
}

TEST(defender_profile, a_missing_time_is_missing_field) {
  harness h;
  auto e = h.err(R"({"DeviceId":"d","ActionType":"ProcessCreated"})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "Timestamp");
  e = h.err(R"({"records":[{"category":"AdvancedHunting-DeviceProcessEvents","properties":{"DeviceId":"d"}}]})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "records[0].properties.Timestamp");
}

TEST(defender_profile, an_unparseable_timestamp_is_bad_timestamp) {
  harness h;
  for (const char* ts : {R"("yesterday")", R"("2026-13-01T00:00:00Z")", R"("")", "1e300"}) {
    const auto e = h.err(std::string(R"({"Timestamp":)") + ts + R"(,"DeviceId":"d","ActionType":"ProcessCreated"})");
    EXPECT_EQ(e.reason, reject_reason::bad_timestamp) << ts;
    EXPECT_EQ(e.detail, "Timestamp") << ts;
  }
  auto e = h.err(row_with(R"("IsSigned":true,"CertificateExpirationTime":"soon")"));
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "CertificateExpirationTime");
  e = h.err(R"({"records":[{"time":"noon","properties":{"DeviceId":"d","IsSigned":false}}]})");
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "records[0].time");
}

TEST(defender_profile, truncated_messages_are_invalid_json) {
  harness h;
  std::string bare(k_untrusted_certificate_row);
  std::string wrapped =
      envelope({record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row)});
  for (const std::string& full : {bare, wrapped}) {
    for (const std::size_t cut : {full.size() - 1, full.size() / 2, std::size_t{40}}) {
      const auto e = h.err(std::string_view(full).substr(0, cut));
      EXPECT_EQ(e.reason, reject_reason::invalid_json) << full.substr(0, cut);
    }
  }
  EXPECT_EQ(h.err(std::string(k_process_row) + " {}").reason, reject_reason::invalid_json);
}

// A long value is cut to the limit and the row still read (padding a path must not hide
// an event); only AdditionalFields held as JSON text, which must be parsed whole, is too large.
TEST(defender_profile, fields_above_the_field_limit_are_cut_and_json_text_above_it_is_field_too_large) {
  harness h(parser_limits{1 << 20, 256});
  const auto& o = h.ok(row_with(R"("ActionType":"ProcessCreated","FolderPath":")" + std::string(300, 'x') + "\""));
  EXPECT_EQ(o.image_path.value, std::string(256, 'x'));
  const std::string big_additional = json_string(R"({"PolicyName":")" + std::string(300, 'p') + "\"}");
  auto e = h.err(row_with(R"("ActionType":"AppControlCodeIntegrityPolicyBlocked","AdditionalFields":)" + big_additional));
  EXPECT_EQ(e.reason, reject_reason::field_too_large);
  EXPECT_EQ(e.detail, "AdditionalFields");
  const auto& ci = h.ok(row_with(R"("ActionType":"AppControlCodeIntegrityPolicyBlocked","AdditionalFields":{"PolicyName":")" +
                                 std::string(300, 'p') + "\"}"));
  EXPECT_EQ(ci.ci.policy_name.value, std::string(256, 'p'));
  // A large AdditionalFields in a row that is skipped does not fail the message.
  const auto skipped = row_with(R"("ActionType":"AntivirusDetection","AdditionalFields":)" + big_additional);
  EXPECT_EQ(h.ok_batch(skipped).size(), 0U);
}

TEST(defender_profile, the_parser_is_reusable_after_a_reject_and_between_batch_sizes) {
  harness h;
  (void)h.err(envelope({record("AdvancedHunting-DeviceProcessEvents", k_process_row),
                        record("AdvancedHunting-DeviceFileCertificateInfo", R"({"DeviceId":"d","IsTrusted":{}})")}));
  expect_untrusted_certificate_row(h.ok(k_untrusted_certificate_row));
  EXPECT_EQ(h.ok_batch(envelope({record("AdvancedHunting-DeviceFileCertificateInfo", k_untrusted_certificate_row),
                                 record("AdvancedHunting-DeviceProcessEvents", k_process_row),
                                 record("AdvancedHunting-DeviceEvents", blocked_row_with(k_blocked_additional_fields))}))
                .size(),
            3U);
  // A smaller message afterwards sees nothing of the larger one.
  const auto o = h.ok(row_with(R"("ActionType":"AppControlCodeIntegrityPolicyAudited","AdditionalFields":"{}")"));
  EXPECT_FALSE(o.ci.policy_name.present);
  EXPECT_FALSE(o.ci.activity_id.present);
  EXPECT_FALSE(o.image_path.present);
  EXPECT_FALSE(o.process_path.present);
  EXPECT_FALSE(o.sha256.present);
  expect_process_row(h.ok(k_process_row));
  expect_policy_blocked(h.ok(blocked_row_with(json_string(k_blocked_additional_fields))));
}

// --- the fixture through the pipeline --------------------------------------------------------

TEST(defender_profile, the_fixture_rows_yield_exactly_the_expected_alerts_through_the_pipeline) {
  const std::string dir = std::string(COUNTERSIGN_TEST_DATA) + "/defender";
  std::vector<std::pair<std::string, std::string>> expected;
  ASSERT_NO_FATAL_FAILURE(test_support::read_expected_alerts(dir + "/expected_alerts.tsv", expected));
  ASSERT_EQ(expected.size(), 3U) << "expected_alerts.tsv changed; review this test";

  auto cfg = parse_config(R"yaml(
detectors:
  signature_untrusted:
    internal_pki_issuers: ["Fabrikam Internal Code Signing CA"]
)yaml",
                          "inline.yaml");
  ASSERT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error());
  pipeline p(*cfg);
  const auto run = test_support::run_fixture(p, dir + "/rows.ndjson", "defender-fixture");
  for (std::size_t i = 0; i < run.alerts.size(); ++i) {
    EXPECT_EQ(run.keys[i], run.alerts[i].second) << "the Kafka key is the host id";
  }
  EXPECT_THAT(run.alerts, ElementsAreArray(expected));
  using enum outcome;
  EXPECT_THAT(run.outcomes, ElementsAre(no_alert,      // 1 Microsoft Windows, trusted, old certificate
                                        alert,         // 2 signed, not trusted
                                        alert,         // 3 certificate three days old
                                        out_of_scope,  // 4 process start without certificate columns
                                        out_of_scope,  // 5 unsigned
                                        no_alert,      // 6 envelope: process + Google LLC, fresh certificate
                                        no_alert,      // 7 untrusted, internal PKI on the list
                                        alert));       // 8 joined row: untrusted and fresh
  EXPECT_EQ(p.stats().events, 8U);
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) EXPECT_EQ(p.stats().rejected[i], 0U) << i;
}

}  // namespace
}  // namespace defender_profile_test
}  // namespace countersign::processor
