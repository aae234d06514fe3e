// Abused code-signing certificate lists (rules/src/cert_intel.cpp): the four file
// formats from the project's own fixtures under tests/data/intel, the CSV edge cases,
// file-level errors, the lookup index and the reloading watcher.
//
// Expected epoch values were computed independently with Python's datetime (UTC), e.g.
// datetime(2023,3,14,9,26,53,tzinfo=timezone.utc).timestamp() = 1678786013.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <countersign/rules/cert_intel.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::rules {

// Readable failures for the records and errors under test; found by argument-dependent lookup.
inline void PrintTo(const abused_certificate& c, std::ostream* os) {
  *os << "{serial=" << c.serial << " thumbprint=" << c.thumbprint_sha256 << " issuer=" << c.issuer_cn
      << " subject=" << c.subject << " reason=" << c.reason
      << " leak=" << (c.leak_time_ms ? std::to_string(*c.leak_time_ms) : "none")
      << " listed=" << (c.listed_ms ? std::to_string(*c.listed_ms) : "none") << " source=" << c.source << "}";
}
inline void PrintTo(const intel_error& e, std::ostream* os) {
  *os << e.file << ":" << e.line << ": " << e.message;
}

namespace cert_intel_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

namespace fs = std::filesystem;

const std::string k_data = COUNTERSIGN_TEST_DATA "/intel/";

// Independent anchors (see the file comment).
constexpr std::int64_t k_2023_03_14_092653 = 1'678'786'013'000;
constexpr std::int64_t k_2023_05_02_170001 = 1'683'046'801'000;
constexpr std::int64_t k_2023_06_30_235959 = 1'688'169'599'000;
constexpr std::int64_t k_2023_07_03 = 1'688'342'400'000;
constexpr std::int64_t k_2022_03_03 = 1'646'265'600'000;
constexpr std::int64_t k_2022_02_26 = 1'645'833'600'000;
constexpr std::int64_t k_2023_01_15 = 1'673'740'800'000;
constexpr std::int64_t k_2022_12_31_200000 = 1'672'516'800'000;  // 22:00 at +02:00
constexpr std::int64_t k_2024_02_29_123000 = 1'709'209'800'000;
constexpr std::int64_t k_2024_01_02_030405 = 1'704'164'645'000;
constexpr std::int64_t k_2024_01_02 = 1'704'153'600'000;

const std::string k_thumb_qakbot = "9f1c6e0e5e4c3b2a1908f7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a3";
const std::string k_thumb_icedid = "c4ca4238a0b923820dcc509a6f75849bc4ca4238a0b923820dcc509a6f75849b";

// A fresh directory per test under the system temp dir, removed afterwards.
class temp_dir {
 public:
  temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("countersign-intel-" + std::string(info->name()) + "-" +
                                         std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  [[nodiscard]] std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Modification times set explicitly, so a rewrite within the filesystem's timestamp
// granularity still reads as a change, and a test never depends on the wall clock.
const fs::file_time_type k_mtime_base = fs::file_time_type::clock::now() - std::chrono::hours(24);
void set_mtime(const std::string& path, int step) {
  fs::last_write_time(path, k_mtime_base + std::chrono::seconds(step));
}

intel_load_result load_ok(const std::string& path, intel_format format) {
  auto r = load_intel_file(path, format);
  EXPECT_TRUE(r.has_value()) << (r ? ""
                                   : r.error().file + ":" + std::to_string(r.error().line) + ": " +
                                         r.error().message);
  return r ? std::move(*r) : intel_load_result{};
}

intel_error load_error(const std::string& path, intel_format format) {
  auto r = load_intel_file(path, format);
  EXPECT_FALSE(r.has_value()) << path << " loaded " << (r ? r->records.size() : 0) << " records";
  return r ? intel_error{} : r.error();
}

abused_certificate cert(std::string serial, std::string thumbprint, std::string issuer,
                        std::string reason = "") {
  abused_certificate c;
  c.serial = std::move(serial);
  c.thumbprint_sha256 = std::move(thumbprint);
  c.issuer_cn = std::move(issuer);
  c.reason = std::move(reason);
  c.source = "test";
  return c;
}

// --- formats ----------------------------------------------------------------------------

TEST(intel_format, names_round_trip_and_unknown_names_are_refused) {
  for (const auto f : {intel_format::abusech_csv, intel_format::abusech_json, intel_format::lolcerts_csv,
                       intel_format::certgraveyard_csv}) {
    EXPECT_EQ(parse_intel_format(to_string(f)), f);
  }
  EXPECT_EQ(to_string(intel_format::abusech_csv), "abusech-csv");
  EXPECT_EQ(to_string(intel_format::abusech_json), "abusech-json");
  EXPECT_EQ(to_string(intel_format::lolcerts_csv), "lolcerts-csv");
  EXPECT_EQ(to_string(intel_format::certgraveyard_csv), "certgraveyard-csv");
  EXPECT_EQ(parse_intel_format("LoLCerts-CSV"), intel_format::lolcerts_csv);
  EXPECT_EQ(parse_intel_format("abusech"), std::nullopt);
  EXPECT_EQ(parse_intel_format(""), std::nullopt);
}

TEST(load_intel_file, abusech_csv_rows_are_parsed_field_by_field) {
  const std::string path = k_data + "abusech_cscb.csv";
  const auto r = load_ok(path, intel_format::abusech_csv);
  ASSERT_THAT(r.records, SizeIs(5));

  abused_certificate qakbot;
  qakbot.serial = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
  qakbot.thumbprint_sha256 = k_thumb_qakbot;  // upper case in the file
  qakbot.reason = "Qakbot";
  qakbot.listed_ms = k_2023_03_14_092653;
  qakbot.source = "abuse.ch:abusech_cscb.csv";
  EXPECT_EQ(r.records[0], qakbot);

  // Quoted field with an embedded comma and doubled quotes; colons and case dropped from
  // the serial, leading zeros kept; an empty thumbprint stays empty.
  EXPECT_EQ(r.records[1].serial, "00abcdef0123456789");
  EXPECT_EQ(r.records[1].thumbprint_sha256, "");
  EXPECT_EQ(r.records[1].reason, "Emotet, via \"mal spam\"");
  EXPECT_EQ(r.records[1].listed_ms, k_2023_05_02_170001);
  EXPECT_EQ(r.records[1].issuer_cn, "");

  // Unquoted row, "0x" prefix and lower-case algorithm name.
  EXPECT_EQ(r.records[2].serial, "7f0000000000000000000000000000ab");
  EXPECT_EQ(r.records[2].thumbprint_sha256, k_thumb_icedid);
  EXPECT_EQ(r.records[2].reason, "IcedID");
  EXPECT_EQ(r.records[2].listed_ms, k_2023_06_30_235959);

  // An unparseable time is missing, not an error.
  EXPECT_EQ(r.records[3].serial, "1234abcd");
  EXPECT_EQ(r.records[3].listed_ms, std::nullopt);
  EXPECT_EQ(r.records[3].reason, "BazarLoader");

  // A SHA-1 thumbprint is not a SHA-256 key: dropped, the serial still listed.
  EXPECT_EQ(r.records[4].serial, "01");
  EXPECT_EQ(r.records[4].thumbprint_sha256, "");
  EXPECT_EQ(r.records[4].listed_ms, k_2023_07_03);

  EXPECT_THAT(r.skipped, ElementsAre(intel_error{path, 11, "serial number 'zz-not-hex' is not hex"},
                                     intel_error{path, 12, "expected 5 fields, got 2"}));
}

TEST(load_intel_file, abusech_json_object_of_records_is_parsed_field_by_field) {
  const std::string path = k_data + "abusech_cscb.json";
  const auto r = load_ok(path, intel_format::abusech_json);
  ASSERT_THAT(r.records, SizeIs(3));

  abused_certificate first;
  first.serial = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
  first.thumbprint_sha256 = k_thumb_qakbot;
  first.issuer_cn = "sectigo public code signing ca r36";
  first.subject = "Fictional Software LLC";
  first.reason = "Qakbot";
  first.listed_ms = k_2023_03_14_092653;
  first.source = "abuse.ch:abusech_cscb.json";
  EXPECT_EQ(r.records[0], first);

  // RFC 3339 first_seen, a null thumbprint, JSON escapes, and an issuer DN reduced to its CN.
  abused_certificate second;
  second.serial = "00abcdef0123456789";
  second.issuer_cn = "example code signing ca";
  second.subject = "Example \"Quoted\" Ltd";
  second.reason = "Emotet";
  second.listed_ms = k_2023_05_02_170001;
  second.source = "abuse.ch:abusech_cscb.json";
  EXPECT_EQ(r.records[1], second);

  // Thumbprint only, written with colons in upper case; an unparseable time stamp.
  EXPECT_EQ(r.records[2].serial, "");
  EXPECT_EQ(r.records[2].thumbprint_sha256, k_thumb_icedid);
  EXPECT_EQ(r.records[2].listed_ms, std::nullopt);

  // Lines are where each record's object starts.
  EXPECT_THAT(
      r.skipped,
      ElementsAre(intel_error{path, 21, "'serial_number' is not a string"},
                  intel_error{path, 26, "row names neither a serial number nor a SHA-256 thumbprint"}));
}

TEST(load_intel_file, abusech_json_array_of_records_is_accepted) {
  const std::string path = k_data + "abusech_cscb_array.json";
  const auto r = load_ok(path, intel_format::abusech_json);
  ASSERT_THAT(r.records, SizeIs(1));
  abused_certificate expected;
  expected.serial = "1122334455667788";
  expected.issuer_cn = "example code signing ca";  // trimmed and lower-cased
  expected.subject = "Array Corp";
  expected.reason = "RedLine";
  expected.listed_ms = k_2024_02_29_123000;
  expected.source = "abuse.ch:abusech_cscb_array.json";
  EXPECT_EQ(r.records[0], expected);
  EXPECT_THAT(r.skipped,
              ElementsAre(intel_error{path, 3, "record is not a JSON object"},
                          intel_error{path, 4, "thumbprint 'ABCDEF' is not a SHA-256 (6 hex digits)"}));
}

TEST(load_intel_file, lolcerts_csv_rows_are_parsed_field_by_field) {
  const std::string path = k_data + "lolcerts.csv";
  const auto r = load_ok(path, intel_format::lolcerts_csv);
  ASSERT_THAT(r.records, SizeIs(2));

  // The description holds a comma, doubled quotes and a line break inside quotes.
  abused_certificate leaked;
  leaked.serial = "43bb437d609866286dd839e1d00309f5";
  leaked.issuer_cn = "verisign class 3 code signing 2010 ca";
  leaked.subject = "Example Graphics Corp";
  leaked.reason =
      "leaked; Stolen in a 2022 breach, then used to sign \"Cobalt Strike\" beacons and\nother tooling";
  leaked.leak_time_ms = k_2022_02_26;
  leaked.listed_ms = k_2022_03_03;
  leaked.source = "lolcerts:lolcerts.csv";
  EXPECT_EQ(r.records[0], leaked);

  // The issuer is a quoted DN whose O= value holds a comma; the timestamp has an offset.
  abused_certificate revoked;
  revoked.serial = "0e4a5b6c";
  revoked.issuer_cn = "digicert trusted g4 code signing rsa4096 sha384 2021 ca1";
  revoked.subject = "Hangzhou Example Tech";
  revoked.reason = "revoked";
  revoked.leak_time_ms = k_2022_12_31_200000;
  revoked.listed_ms = k_2023_01_15;
  revoked.source = "lolcerts:lolcerts.csv";
  EXPECT_EQ(r.records[1], revoked);

  // Line numbers count the line break inside the first record.
  EXPECT_THAT(r.skipped,
              ElementsAre(intel_error{path, 5, "row names neither a serial number nor a SHA-256 thumbprint"},
                          intel_error{path, 6, "expected 10 fields as in the header, got 3"},
                          intel_error{path, 7, "unterminated quoted field"}));
}

TEST(load_intel_file, certgraveyard_csv_with_bom_and_crlf_is_parsed_field_by_field) {
  const std::string path = k_data + "certgraveyard.csv";
  const auto r = load_ok(path, intel_format::certgraveyard_csv);
  ASSERT_THAT(r.records, SizeIs(2));

  abused_certificate solarmarker;
  solarmarker.serial = "00d29e1a4b5c6d7e8f90a1b2c3d4e5f6";  // space-separated in the file
  solarmarker.thumbprint_sha256 = "5e8f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
  solarmarker.issuer_cn = "sectigo public code signing ca r36";
  solarmarker.subject = "Example Soft LLC";
  solarmarker.reason = "SolarMarker";
  solarmarker.source = "certgraveyard:certgraveyard.csv";
  EXPECT_EQ(r.records[0], solarmarker);

  // A 40-digit (SHA-1) thumbprint is not an error but is not kept; a quote inside an
  // unquoted field is taken literally.
  EXPECT_EQ(r.records[1].serial, "3c9a0011");
  EXPECT_EQ(r.records[1].thumbprint_sha256, "");
  EXPECT_EQ(r.records[1].reason, "Lumma, Stealc");
  EXPECT_EQ(r.records[1].subject, "Quote \"Inside\" GmbH");
  EXPECT_EQ(r.records[1].issuer_cn, "globalsign gcc r45 ev codesigning ca 2020");

  EXPECT_THAT(r.skipped, ElementsAre(intel_error{path, 4, "expected 10 fields as in the header, got 11"},
                                     intel_error{path, 5, "serial number 'not-a-serial' is not hex"}));
}

// --- CSV edge cases ---------------------------------------------------------------------

TEST(load_intel_file, csv_quoted_crlf_and_bom_are_handled_byte_exactly) {
  const temp_dir dir;
  const std::string path = dir.file("edge.csv");
  // Built here rather than in a fixture so no checkout setting can rewrite the CRLFs.
  write_file(path,
             "\xEF\xBB\xBF"
             "name,status,source,description,references,date,author,issuer,timestamp,serial\r\n"
             "\"A, B\",leaked,x,\"line one\r\nline \"\"two\"\"\",,2024-01-02,me,CA One,,aa:bb\r\n"
             "\r\n"
             "  \"Spaced\"  ,leaked,x,,,,me,CA One,,cc\r\n"
             "Trailing,leaked,x,,,,me,CA One,,dd,,\r\n"
             "Bad,leaked,\"x\"y,,,,me,CA One,,ee\r\n"
             "Last,leaked,x,,,,me,CA One,,ff");  // no line end at EOF
  const auto r = load_ok(path, intel_format::lolcerts_csv);
  ASSERT_THAT(r.records, SizeIs(4));
  EXPECT_EQ(r.records[0].subject, "A, B");
  EXPECT_EQ(r.records[0].reason, "leaked; line one\r\nline \"two\"");
  EXPECT_EQ(r.records[0].serial, "aabb");
  EXPECT_EQ(r.records[0].listed_ms, k_2024_01_02);
  EXPECT_EQ(r.records[1].subject, "Spaced");    // spaces around a quoted field are dropped
  EXPECT_EQ(r.records[2].subject, "Trailing");  // empty trailing fields are harmless
  EXPECT_EQ(r.records[3].subject, "Last");
  EXPECT_EQ(r.records[3].serial, "ff");
  // The record with a CRLF inside quotes spans lines 2-3; the blank line is 4.
  EXPECT_THAT(r.skipped, ElementsAre(intel_error{path, 7, "unexpected text after a closing quote"}));
}

TEST(load_intel_file, header_columns_are_found_by_name_in_any_case_and_order) {
  const temp_dir dir;
  const std::string path = dir.file("reordered.csv");
  write_file(path,
             "THUMBPRINT,extra,SERIAL,issuer,Signer,malware,issuer short,HASH\n"
             "AA" +
                 std::string(62, 'b') + ",ignored,0x00FF,Example CA,Signer Inc,Lumma,Ex,abc\n");
  const auto r = load_ok(path, intel_format::certgraveyard_csv);
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].thumbprint_sha256, "aa" + std::string(62, 'b'));
  EXPECT_EQ(r.records[0].serial, "00ff");
  EXPECT_EQ(r.records[0].issuer_cn, "example ca");
  EXPECT_EQ(r.records[0].subject, "Signer Inc");
  EXPECT_EQ(r.records[0].reason, "Lumma");
  EXPECT_THAT(r.skipped, IsEmpty());
}

TEST(load_intel_file, list_times_accept_dates_utc_stamps_and_offsets) {
  const temp_dir dir;
  const std::string path = dir.file("times.csv");
  write_file(path,
             "name,status,date,issuer,timestamp,serial\n"
             "a,s,2024-01-02,CA,2024-01-02 03:04:05,01\n"
             "b,s,2024-01-02T03:04:05Z,CA,2024-01-02T05:04:05+02:00,02\n"
             "c,s,2024-01-02 03:04:05 UTC,CA,2024-01-01T22:04:05-0500,03\n"
             "d,s,02/01/2024,CA,n/a,04\n");
  const auto r = load_ok(path, intel_format::lolcerts_csv);
  ASSERT_THAT(r.records, SizeIs(4));
  EXPECT_EQ(r.records[0].listed_ms, k_2024_01_02);  // a date alone is midnight UTC
  EXPECT_EQ(r.records[0].leak_time_ms, k_2024_01_02_030405);
  EXPECT_EQ(r.records[1].listed_ms, k_2024_01_02_030405);
  EXPECT_EQ(r.records[1].leak_time_ms, k_2024_01_02_030405);
  EXPECT_EQ(r.records[2].listed_ms, k_2024_01_02_030405);
  EXPECT_EQ(r.records[2].leak_time_ms, k_2024_01_02_030405);
  EXPECT_EQ(r.records[3].listed_ms, std::nullopt);
  EXPECT_EQ(r.records[3].leak_time_ms, std::nullopt);
}

TEST(load_intel_file, abusech_csv_header_row_without_hash_is_not_a_bad_row) {
  const temp_dir dir;
  const std::string path = dir.file("headed.csv");
  write_file(path,
             "first_seen_utc,serial_number,thumbprint,thumbprint_algorithm,reason\n"
             "2023-03-14 09:26:53,abcd,,,X\n");
  const auto r = load_ok(path, intel_format::abusech_csv);
  ASSERT_THAT(r.records, SizeIs(1));
  EXPECT_EQ(r.records[0].serial, "abcd");
  EXPECT_THAT(r.skipped, IsEmpty());
}

TEST(load_intel_file, comment_only_or_header_only_files_are_empty_lists_not_errors) {
  const temp_dir dir;
  write_file(dir.file("c.csv"), "# nothing listed yet\n#\n");
  write_file(dir.file("h.csv"),
             "name,status,source,description,references,date,author,issuer,timestamp,serial\r\n");
  write_file(dir.file("e.json"), "[]");
  EXPECT_THAT(load_ok(dir.file("c.csv"), intel_format::abusech_csv).records, IsEmpty());
  EXPECT_THAT(load_ok(dir.file("h.csv"), intel_format::lolcerts_csv).records, IsEmpty());
  EXPECT_THAT(load_ok(dir.file("e.json"), intel_format::abusech_json).records, IsEmpty());
}

// --- whole-file errors ------------------------------------------------------------------

TEST(load_intel_file, missing_file_is_an_error_naming_it) {
  const temp_dir dir;
  const std::string path = dir.file("absent.csv");
  const auto err = load_error(path, intel_format::abusech_csv);
  EXPECT_EQ(err.file, path);
  EXPECT_EQ(err.line, 0u);
  EXPECT_THAT(err.message, HasSubstr("cannot read"));
}

TEST(load_intel_file, a_directory_is_an_error) {
  const temp_dir dir;
  const std::string path = dir.file("");
  EXPECT_EQ(load_error(path, intel_format::lolcerts_csv).file, path);
}

TEST(load_intel_file, wrong_header_is_an_error_naming_file_and_column) {
  // An abuse.ch list configured as LoLCerts: its first line (a '#' banner, which only the
  // abuse.ch format treats as a comment) is read as the header.
  const std::string abusech = k_data + "abusech_cscb.csv";
  auto err = load_error(abusech, intel_format::lolcerts_csv);
  EXPECT_EQ(err.file, abusech);
  EXPECT_EQ(err.line, 1u);
  EXPECT_THAT(err.message, HasSubstr("header has no 'serial' column"));

  const temp_dir dir;
  const std::string path = dir.file("noissuer.csv");
  write_file(path, "Hash,Malware,Signer,Serial,Thumbprint\nabc,X,Y,01,\n");
  err = load_error(path, intel_format::certgraveyard_csv);
  EXPECT_EQ(err.file, path);
  EXPECT_EQ(err.line, 1u);
  EXPECT_THAT(err.message, HasSubstr("'issuer'"));
}

TEST(load_intel_file, empty_file_is_a_missing_header_for_headed_formats) {
  const temp_dir dir;
  const std::string path = dir.file("empty.csv");
  write_file(path, "");
  const auto err = load_error(path, intel_format::certgraveyard_csv);
  EXPECT_EQ(err.file, path);
  EXPECT_THAT(err.message, HasSubstr("no header"));
}

TEST(load_intel_file, garbage_text_with_no_usable_row_is_an_error) {
  const temp_dir dir;
  const std::string path = dir.file("garbage.csv");
  write_file(path, "<html><body>404 Not Found</body></html>\nplease try again later\n");
  const auto err = load_error(path, intel_format::abusech_csv);
  EXPECT_EQ(err.file, path);
  EXPECT_EQ(err.line, 0u);
  EXPECT_THAT(err.message, HasSubstr("no usable row in 2 rows"));
  EXPECT_THAT(err.message, HasSubstr("line 1: expected 5 fields, got 1"));
}

TEST(load_intel_file, binary_content_is_an_error) {
  const temp_dir dir;
  const std::string path = dir.file("binary.csv");
  write_file(path, std::string_view("serial\0\x01\x02\xff", 10));
  const auto err = load_error(path, intel_format::abusech_csv);
  EXPECT_EQ(err.file, path);
  EXPECT_THAT(err.message, HasSubstr("NUL byte at offset 6"));
}

TEST(load_intel_file, invalid_json_is_an_error_naming_the_file) {
  const temp_dir dir;
  const std::string path = dir.file("broken.json");
  write_file(path, "[{\"serial_number\": \"01\"}, {\"serial_number\": ");
  const auto err = load_error(path, intel_format::abusech_json);
  EXPECT_EQ(err.file, path);
  EXPECT_EQ(err.line, 0u);
  EXPECT_THAT(err.message, HasSubstr("invalid JSON"));

  write_file(path, "\"just a string\"");
  EXPECT_THAT(load_error(path, intel_format::abusech_json).message, HasSubstr("array or object"));

  // A CSV list handed to the JSON loader.
  EXPECT_EQ(load_error(k_data + "lolcerts.csv", intel_format::abusech_json).file, k_data + "lolcerts.csv");
}

// --- lookups ----------------------------------------------------------------------------

TEST(cert_intel, thumbprint_lookup_ignores_case_and_separators) {
  const cert_intel intel({cert("01", k_thumb_qakbot, "")});
  ASSERT_NE(intel.by_thumbprint(k_thumb_qakbot), nullptr);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_qakbot)->serial, "01");
  EXPECT_NE(intel.by_thumbprint("9F1C6E0E5E4C3B2A1908F7E6D5C4B3A29180706F5E4D3C2B1A09F8E7D6C5B4A3"), nullptr);
  EXPECT_NE(
      intel.by_thumbprint("9f:1c:6e:0e:5e:4c:3b:2a:19:08:f7:e6:d5:c4:b3:a2:91:80:70:6f:5e:4d:3c:2b:1a:09:"
                          "f8:e7:d6:c5:b4:a3"),
      nullptr);
  EXPECT_NE(intel.by_thumbprint(" 9f1c6e0e 5e4c3b2a-1908f7e6d5c4b3a29180706f5e4d3c2b1a09f8e7d6c5b4a3 "),
            nullptr);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_icedid), nullptr);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_qakbot.substr(0, 40)), nullptr);  // a SHA-1 prefix is no match
  EXPECT_EQ(intel.by_thumbprint("not hex"), nullptr);
  EXPECT_EQ(intel.by_thumbprint(""), nullptr);
}

TEST(cert_intel, issuer_serial_lookup_ignores_colons_case_and_leading_zeros) {
  const cert_intel intel({cert("00abcdef0123", "", "example code signing ca", "listed")});
  for (const std::string_view serial : {"00abcdef0123", "ABCDEF0123", "00:AB:CD:EF:01:23", "0x00abcdef0123",
                                        "ab cd ef 01 23", "0000abcdef0123"}) {
    const auto* hit = intel.by_issuer_serial("Example Code Signing CA", serial);
    ASSERT_NE(hit, nullptr) << serial;
    EXPECT_EQ(hit->reason, "listed");
  }
  EXPECT_NE(intel.by_issuer_serial("  EXAMPLE code signing ca ", "abcdef0123"), nullptr);
  // An issuer given as a full DN is reduced to its CN.
  EXPECT_NE(intel.by_issuer_serial("CN=Example Code Signing CA, O=Example Trust, C=US", "abcdef0123"),
            nullptr);
  EXPECT_NE(intel.by_issuer_serial("C=US, O=Example Trust, CN=Example Code Signing CA", "abcdef0123"),
            nullptr);
  EXPECT_EQ(intel.by_issuer_serial("Example Code Signing CA", "abcdef012"), nullptr);
  EXPECT_EQ(intel.by_issuer_serial("Example Code Signing CA", "zz"), nullptr);
  EXPECT_EQ(intel.by_issuer_serial("Example Code Signing CA", ""), nullptr);
}

TEST(cert_intel, a_serial_listed_under_one_issuer_does_not_match_another) {
  const cert_intel intel({cert("1234", "", "issuer a", "a"), cert("5678", "", "issuer b", "b")});
  EXPECT_EQ(intel.by_issuer_serial("Issuer B", "1234"), nullptr);
  EXPECT_EQ(intel.by_issuer_serial("", "1234"), nullptr);  // unknown issuer: no guess
  EXPECT_EQ(intel.by_issuer_serial("Issuer A", "1234")->reason, "a");
  EXPECT_EQ(intel.by_issuer_serial("Issuer B", "5678")->reason, "b");
}

TEST(cert_intel, same_serial_under_two_issuers_resolves_to_each_issuer) {
  const cert_intel intel({cert("1234", "", "issuer a", "a"), cert("001234", "", "issuer b", "b")});
  EXPECT_EQ(intel.by_issuer_serial("issuer a", "1234")->reason, "a");
  EXPECT_EQ(intel.by_issuer_serial("issuer b", "1234")->reason, "b");
  EXPECT_EQ(intel.by_issuer_serial("issuer c", "1234"), nullptr);
}

TEST(cert_intel, issuerless_entry_matches_by_serial_alone_but_issuer_match_is_preferred) {
  const cert_intel intel({cert("77", "", "", "abuse.ch"), cert("77", "", "issuer a", "graveyard")});
  EXPECT_EQ(intel.by_issuer_serial("Issuer A", "77")->reason, "graveyard");
  EXPECT_EQ(intel.by_issuer_serial("Issuer Z", "0077")->reason, "abuse.ch");
  EXPECT_EQ(intel.by_issuer_serial("", "77")->reason, "abuse.ch");
}

TEST(cert_intel, first_record_wins_for_a_duplicate_key) {
  const cert_intel intel(
      {cert("01", k_thumb_icedid, "ca", "first"), cert("0001", k_thumb_icedid, "CA", "second")});
  EXPECT_EQ(intel.size(), 2u);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_icedid)->reason, "first");
  EXPECT_EQ(intel.by_issuer_serial("ca", "1")->reason, "first");
}

TEST(cert_intel, fixture_lists_answer_lookups_end_to_end) {
  std::vector<abused_certificate> all;
  for (const auto& [file, format] : {std::pair{"abusech_cscb.csv", intel_format::abusech_csv},
                                     std::pair{"lolcerts.csv", intel_format::lolcerts_csv},
                                     std::pair{"certgraveyard.csv", intel_format::certgraveyard_csv}}) {
    auto r = load_ok(k_data + file, format);
    all.insert(all.end(), r.records.begin(), r.records.end());
  }
  const cert_intel intel(std::move(all));
  EXPECT_EQ(intel.size(), 9u);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_qakbot)->reason, "Qakbot");
  // abuse.ch CSV gives no issuer: the serial matches under whatever issuer the event has.
  EXPECT_EQ(intel.by_issuer_serial("Any CA", "AB:CD:EF:01:23:45:67:89")->reason, "Emotet, via \"mal spam\"");
  EXPECT_EQ(
      intel.by_issuer_serial("VeriSign Class 3 Code Signing 2010 CA", "43BB437D609866286DD839E1D00309F5")
          ->subject,
      "Example Graphics Corp");
  EXPECT_EQ(intel.by_issuer_serial("Some Other CA", "43BB437D609866286DD839E1D00309F5"), nullptr);
  EXPECT_EQ(
      intel.by_issuer_serial("Sectigo Public Code Signing CA R36", "d29e1a4b5c6d7e8f90a1b2c3d4e5f6")->reason,
      "SolarMarker");
}

TEST(cert_intel, empty_index_finds_nothing) {
  const cert_intel intel;
  EXPECT_EQ(intel.size(), 0u);
  EXPECT_EQ(intel.by_thumbprint(k_thumb_qakbot), nullptr);
  EXPECT_EQ(intel.by_issuer_serial("ca", "01"), nullptr);
}

// --- watcher ----------------------------------------------------------------------------

constexpr std::string_view k_abusech_v1 =
    "# v1\n"
    "\"2023-03-14 09:26:53\",\"aa01\",\"\",\"SHA256\",\"Qakbot\"\n";
constexpr std::string_view k_abusech_v2 =
    "# v2\n"
    "\"2023-03-14 09:26:53\",\"bb02\",\"\",\"SHA256\",\"Emotet\"\n"
    "\"2023-03-14 09:26:53\",\"bb03\",\"\",\"SHA256\",\"IcedID\"\n";
constexpr std::string_view k_lolcerts_v1 =
    "name,status,issuer,serial\n"
    "Leaked Corp,leaked,Example CA,cc:04\n";

struct watcher_files {
  temp_dir dir;
  std::string abusech = dir.file("cscb.csv");
  std::string lolcerts = dir.file("lolcerts.csv");

  watcher_files() {
    write_file(abusech, k_abusech_v1);
    set_mtime(abusech, 1);
    write_file(lolcerts, k_lolcerts_v1);
    set_mtime(lolcerts, 1);
  }
  [[nodiscard]] intel_watcher watcher() const {
    return intel_watcher({{abusech, intel_format::abusech_csv}, {lolcerts, intel_format::lolcerts_csv}});
  }
};

TEST(intel_watcher, first_reload_loads_every_source) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  EXPECT_EQ(w.current(), nullptr);
  const auto report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.records, 2u);
  ASSERT_NE(w.current(), nullptr);
  EXPECT_EQ(w.current()->by_issuer_serial("any", "aa01")->reason, "Qakbot");
  EXPECT_EQ(w.current()->by_issuer_serial("example ca", "cc04")->subject, "Leaked Corp");
}

TEST(intel_watcher, unchanged_files_are_not_reloaded) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  const auto before = w.current();
  const auto report = w.reload();
  EXPECT_FALSE(report.changed);
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.records, 2u);
  EXPECT_EQ(w.current(), before);  // the same snapshot, not a rebuilt one
}

TEST(intel_watcher, rewritten_file_replaces_its_records) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  const auto old = w.current();
  write_file(files.abusech, k_abusech_v2);
  set_mtime(files.abusech, 2);
  const auto report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(w.current()->by_issuer_serial("any", "aa01"), nullptr);
  EXPECT_EQ(w.current()->by_issuer_serial("any", "bb02")->reason, "Emotet");
  EXPECT_NE(w.current()->by_issuer_serial("example ca", "cc04"), nullptr);  // the other source kept
  // Readers holding the old snapshot keep a valid, unchanged index.
  EXPECT_EQ(old->by_issuer_serial("any", "aa01")->reason, "Qakbot");
}

TEST(intel_watcher, size_change_is_seen_even_with_the_same_mtime) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  write_file(files.abusech, k_abusech_v2);
  set_mtime(files.abusech, 1);  // as before
  const auto report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_EQ(report.records, 3u);
}

TEST(intel_watcher, touched_file_with_identical_content_is_no_change) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  const auto before = w.current();
  set_mtime(files.lolcerts, 5);
  const auto report = w.reload();
  EXPECT_FALSE(report.changed);
  EXPECT_EQ(w.current(), before);
}

TEST(intel_watcher, garbage_replacement_keeps_previous_records_and_reports_the_file) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  write_file(files.lolcerts, "\x89PNG garbage\nmore garbage\n");
  set_mtime(files.lolcerts, 2);
  auto report = w.reload();
  EXPECT_FALSE(report.changed);
  ASSERT_THAT(report.errors, SizeIs(1));
  EXPECT_EQ(report.errors[0].file, files.lolcerts);
  EXPECT_THAT(report.errors[0].message, HasSubstr("keeping the previous records"));
  EXPECT_EQ(report.records, 2u);
  EXPECT_NE(w.current()->by_issuer_serial("example ca", "cc04"), nullptr);

  // Still broken: retried and reported again, records still kept.
  report = w.reload();
  EXPECT_FALSE(report.changed);
  EXPECT_THAT(report.errors, ElementsAre(Field(&intel_error::file, files.lolcerts)));

  // Repaired: loads again.
  write_file(files.lolcerts, "name,status,issuer,serial\nRepaired,leaked,Example CA,dd05\n");
  set_mtime(files.lolcerts, 3);
  report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(report.errors, IsEmpty());
  EXPECT_EQ(w.current()->by_issuer_serial("example ca", "cc04"), nullptr);
  EXPECT_EQ(w.current()->by_issuer_serial("example ca", "dd05")->subject, "Repaired");
}

TEST(intel_watcher, deleted_file_keeps_previous_records_and_reports_the_file) {
  const watcher_files files;
  intel_watcher w = files.watcher();
  (void)w.reload();
  fs::remove(files.abusech);
  const auto report = w.reload();
  EXPECT_FALSE(report.changed);
  ASSERT_THAT(report.errors, SizeIs(1));
  EXPECT_EQ(report.errors[0].file, files.abusech);
  EXPECT_EQ(report.errors[0].line, 0u);
  EXPECT_EQ(report.records, 2u);
  EXPECT_NE(w.current()->by_issuer_serial("any", "aa01"), nullptr);

  // Restored with the very same bytes and mtime: the failed source is retried anyway.
  write_file(files.abusech, k_abusech_v1);
  set_mtime(files.abusech, 1);
  const auto again = w.reload();
  EXPECT_THAT(again.errors, IsEmpty());
  EXPECT_FALSE(again.changed);  // same records as before the deletion
  EXPECT_NE(w.current()->by_issuer_serial("any", "aa01"), nullptr);
}

TEST(intel_watcher, source_missing_at_start_gives_an_empty_index_and_an_error) {
  const temp_dir dir;
  intel_watcher w({{dir.file("absent.json"), intel_format::abusech_json}});
  const auto report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_THAT(report.errors, ElementsAre(Field(&intel_error::file, dir.file("absent.json"))));
  EXPECT_EQ(report.records, 0u);
  ASSERT_NE(w.current(), nullptr);
  EXPECT_EQ(w.current()->size(), 0u);
}

TEST(intel_watcher, skipped_rows_are_reported_with_their_lines) {
  const temp_dir dir;
  const std::string path = dir.file("cscb.csv");
  write_file(path,
             "# list\n\"2023-03-14\",\"aa01\",\"\",\"\",\"ok\"\n\"2023-03-14\",\"xyz\",\"\",\"\",\"bad\"\n");
  intel_watcher w({{path, intel_format::abusech_csv}});
  const auto report = w.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_EQ(report.records, 1u);
  EXPECT_THAT(report.errors, ElementsAre(intel_error{path, 3, "serial number 'xyz' is not hex"}));
  // Reported once, when the file is read, not on every reload.
  EXPECT_THAT(w.reload().errors, IsEmpty());
}

}  // namespace
}  // namespace cert_intel_test
}  // namespace countersign::rules
