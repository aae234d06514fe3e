// record_reader (processor/src/engine/record_reader.cpp, evtx_file.cpp): every input shape in,
// one message per event out, with its position; .evtx files through libevtx as
// evtx_dump-style JSON; truncated files reported by file and record.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/processor/replay.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace record_reader_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::HasSubstr;

const std::string k_data = COUNTERSIGN_TEST_DATA;
const std::string k_samples = COUNTERSIGN_EVTX_SAMPLES;

struct message {
  std::string bytes;
  std::int64_t position;
};

// A directory of its own for a test's files; removed afterwards.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "countersign-reader-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every message of a file; fails the test on an open or read error.
std::vector<message> read_all(const std::string& path, input_format* format = nullptr,
                              record_reader_options options = {}) {
  std::vector<message> out;
  auto reader = record_reader::open(path, options);
  EXPECT_TRUE(reader.has_value()) << (reader ? "" : reader.error().message);
  if (!reader) return out;
  if (format != nullptr) *format = (*reader)->format();
  for (;;) {
    auto next = (*reader)->next();
    EXPECT_TRUE(next.has_value()) << (next ? "" : next.error().message);
    if (!next || !*next) break;
    out.push_back({std::string((*next)->bytes), (*next)->position});
  }
  return out;
}

bool parses(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  return p.parse(json).get(e) == simdjson::SUCCESS;
}

TEST(record_reader, broken_line_is_its_own_message) {
  temp_dir dir;
  const auto file = dir.write("broken.ndjson", "{\"a\":1}\n{\"b\": [1, 2\n{\"c\":3}\n");
  input_format format{};
  const auto m = read_all(file, &format);
  EXPECT_EQ(format, input_format::ndjson);
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[1].bytes, "{\"b\": [1, 2");
  EXPECT_EQ(m[1].position, 2);
  EXPECT_EQ(m[2].bytes, "{\"c\":3}");
  EXPECT_EQ(m[2].position, 3);
}

TEST(record_reader, crlf_lines_lose_their_carriage_return_and_blank_lines_are_counted) {
  const std::string file = k_data + "/shapes/crlf.ndjson";
  auto reader = record_reader::open(file);
  ASSERT_TRUE(reader.has_value());
  std::vector<message> m;
  for (;;) {
    auto next = (*reader)->next();
    ASSERT_TRUE(next.has_value());
    if (!*next) break;
    m.push_back({std::string((*next)->bytes), (*next)->position});
  }
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[0].bytes, R"({"host":"lab-1","ts":"2026-11-03T09:00:00Z"})");
  EXPECT_EQ(m[1].position, 3);
  EXPECT_EQ(m[1].bytes.back(), '}');
  EXPECT_EQ((*reader)->blank_lines(), 1U);
  EXPECT_EQ((*reader)->total_bytes(), std::filesystem::file_size(file));
  EXPECT_EQ((*reader)->bytes_read(), std::filesystem::file_size(file));
}

TEST(record_reader, last_line_without_newline_is_read) {
  temp_dir dir;
  const auto m = read_all(dir.write("tail.ndjson", "{\"a\":1}\n{\"b\":2}"));
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[1].bytes, "{\"b\":2}");
}

TEST(record_reader, concatenated_pretty_documents_come_out_one_by_one_with_their_start_line) {
  input_format format{};
  const auto m = read_all(k_data + "/evtx_json/sysmon_concatenated.json", &format);
  EXPECT_EQ(format, input_format::json);
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].position, 1);
  EXPECT_EQ(m[1].position, 51);  // "}{" on line 51: no separator between the documents
  EXPECT_EQ(m[2].position, 72);  // after a blank line
  for (const auto& doc : m) EXPECT_TRUE(parses(doc.bytes)) << doc.bytes;
  // Braces, brackets and escaped quotes inside strings do not end a document.
  EXPECT_THAT(m[0].bytes, HasSubstr(R"(Brace } Bracket ] \"Quoted\" Ltd)"));
  EXPECT_THAT(m[2].bytes, HasSubstr("svc-backup"));
}

TEST(record_reader, documents_on_one_line_and_record_separators_are_split) {
  temp_dir dir;
  const auto m = read_all(dir.write("seq.json", "{\"a\":{\"x\":1}}{\"b\":2} {\"c\":\"}\"}\n\x1e{\"d\":4}\n"));
  ASSERT_EQ(m.size(), 4U);
  EXPECT_EQ(m[0].bytes, R"({"a":{"x":1}})");
  EXPECT_EQ(m[1].bytes, R"({"b":2})");
  EXPECT_EQ(m[2].bytes, R"({"c":"}"})");
  EXPECT_EQ(m[3].bytes, R"({"d":4})");
  EXPECT_EQ(m[3].position, 2);
}

TEST(record_reader, a_single_pretty_document_is_one_message) {
  input_format format{};
  const auto m = read_all(k_data + "/shapes/single_pretty.json", &format);
  EXPECT_EQ(format, input_format::json);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].position, 2);  // the file starts with a blank line
  EXPECT_TRUE(parses(m[0].bytes));
  EXPECT_THAT(m[0].bytes, HasSubstr("Example Updates LLC"));
}

TEST(record_reader, a_top_level_array_of_objects_yields_each_element) {
  const auto m = read_all(k_data + "/shapes/array_of_objects.json");
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].position, 2);
  EXPECT_EQ(m[1].position, 7);
  EXPECT_EQ(m[2].position, 11);
  for (const auto& doc : m) {
    EXPECT_EQ(doc.bytes.front(), '{');
    EXPECT_TRUE(parses(doc.bytes)) << doc.bytes;
  }
  EXPECT_EQ(m[2].bytes, R"({"host": "lab-8", "ts": "2026-11-03T08:00:02Z"})");
}

TEST(record_reader, an_array_of_objects_on_one_ndjson_line_yields_each_element) {
  temp_dir dir;
  const auto m = read_all(dir.write("rows.ndjson", "[{\"a\":1},{\"b\":\"]\"}]\n[1]\n"));
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].bytes, R"({"a":1})");
  EXPECT_EQ(m[1].bytes, R"({"b":"]"})");
  EXPECT_EQ(m[1].position, 1);
  EXPECT_EQ(m[2].bytes, "[1]");  // not an array of objects: one message (rejected downstream)
}

TEST(record_reader, export_envelopes_yield_their_events_and_other_objects_stay_whole) {
  temp_dir dir;
  // Elastic's pipeline-test files, pretty-printed, followed by another document.
  const auto m = read_all(dir.write("pipeline-test.json",
                                    "{\n  \"events\": [\n    {\"a\": 1},\n    {\"b\": \"]}\"}\n  ]\n}\n"
                                    "{\"Records\": [{\"c\": 3}]}\n"
                                    "{\"events\": [{\"d\": 4}], \"total\": 1}\n"
                                    "{\"events\": []}\n"
                                    "{\"records\": [1, 2]}\n"));
  ASSERT_EQ(m.size(), 6U);
  EXPECT_EQ(m[0].bytes, R"({"a": 1})");
  EXPECT_EQ(m[0].position, 1);
  EXPECT_EQ(m[1].bytes, R"({"b": "]}"})");
  EXPECT_EQ(m[2].bytes, R"({"c": 3})");
  EXPECT_EQ(m[2].position, 7);
  // A second key, an empty list or a list of non-objects: not an envelope, one message.
  EXPECT_EQ(m[3].bytes, R"({"events": [{"d": 4}], "total": 1})");
  EXPECT_EQ(m[4].bytes, R"({"events": []})");
  EXPECT_EQ(m[5].bytes, R"({"records": [1, 2]})");

  // The same envelope on one NDJSON line.
  const auto n = read_all(dir.write("rows.ndjson", "{\"events\":[{\"a\":1},{\"b\":2}]}\n{\"event\":{}}\n"));
  ASSERT_EQ(n.size(), 3U);
  EXPECT_EQ(n[0].bytes, R"({"a":1})");
  EXPECT_EQ(n[1].bytes, R"({"b":2})");
  EXPECT_EQ(n[2].bytes, R"({"event":{}})");
}

TEST(record_reader, a_document_unbalanced_at_the_end_is_one_message) {
  temp_dir dir;
  const auto m = read_all(dir.write("cut.json", "{\n  \"a\": 1\n}\n{\n  \"b\": {\n"));
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[1].position, 4);
  EXPECT_EQ(m[1].bytes, "{\n  \"b\": {\n");
}

TEST(record_reader, documents_larger_than_the_read_buffer_stream_through) {
  temp_dir dir;
  std::string big = "{\n  \"pad\": \"" + std::string(300'000, 'x') + "\"\n}\n";
  std::string content;
  for (int i = 0; i < 3; ++i) content += big;
  const auto m = read_all(dir.write("big.json", content));
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[2].position, 7);
  EXPECT_EQ(m[2].bytes.size(), big.size() - 1);
}

TEST(record_reader, a_missing_file_is_an_open_error_naming_it) {
  auto reader = record_reader::open("/nonexistent/countersign/x.ndjson");
  ASSERT_FALSE(reader.has_value());
  EXPECT_EQ(reader.error().message, "/nonexistent/countersign/x.ndjson: cannot open");
  EXPECT_EQ(reader.error().detail, "No such file or directory");
}

TEST(record_reader, evtx_xml_becomes_evtx_dump_json) {
  const std::string xml = slurp(k_data + "/evtx_json/userdata_record.xml");
  std::string json;
  ASSERT_TRUE(evtx_xml_to_json(xml, json));
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(json).get(doc), simdjson::SUCCESS) << json;
  const auto str = [&](const char* ptr) {
    std::string_view v;
    EXPECT_EQ(doc.at_pointer(ptr).get_string().get(v), simdjson::SUCCESS) << ptr << " in " << json;
    return std::string(v);
  };
  const auto num = [&](const char* ptr) {
    std::int64_t v = -1;
    EXPECT_EQ(doc.at_pointer(ptr).get_int64().get(v), simdjson::SUCCESS) << ptr << " in " << json;
    return v;
  };
  EXPECT_EQ(str("/Event/System/Provider/#attributes/Guid"), "fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148");
  EXPECT_EQ(num("/Event/System/EventID/#text"), 1102);
  EXPECT_EQ(num("/Event/System/EventID/#attributes/Qualifiers"), 16384);
  EXPECT_EQ(num("/Event/System/EventRecordID"), 42);
  EXPECT_EQ(num("/Event/System/Execution/#attributes/ThreadID"), 5120);
  EXPECT_EQ(str("/Event/System/Keywords"), "0x0");
  EXPECT_EQ(str("/Event/System/TimeCreated/#attributes/SystemTime"), "2026-10-30T22:01:15.123456Z");
  EXPECT_TRUE(doc.at_pointer("/Event/System/Correlation").is_null());
  EXPECT_EQ(str("/Event/System/Channel"), "Security");
  EXPECT_EQ(str("/Event/UserData/LogFileCleared/SubjectUserName"), "adm&in <tier0>");
  EXPECT_EQ(str("/Event/UserData/LogFileCleared/SubjectLogonId"), "0x3e7c21");
  EXPECT_EQ(str("/Event/UserData/LogFileCleared/Note"), "caf\xC3\xA9 \xE2\x98\xBA \"quoted\"");
  EXPECT_EQ(str("/Event/UserData/LogFileCleared/#attributes/xmlns"),
            "http://manifests.microsoft.com/win/2004/08/windows/eventlog");
  EXPECT_EQ(str("/Event/EventData/Data/0"), "first");
  EXPECT_EQ(str("/Event/EventData/Data/1"), "");
  EXPECT_EQ(str("/Event/EventData/Data/2"), "third");
  EXPECT_EQ(str("/Event/EventData/Binary"), "DEADBEEF");
}

TEST(record_reader, malformed_evtx_xml_is_refused) {
  std::string json;
  EXPECT_FALSE(evtx_xml_to_json("<Event><System></Event>", json));
  json.clear();
  EXPECT_FALSE(evtx_xml_to_json("<Event a=\"&bogus;\"/>", json));
}

// The three sample .evtx files, each beside evtx_dump's JSON rendering of its record.
class evtx_samples : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  }
};

// A JSON scalar as text: strings as they are, numbers in decimal; trailing blanks dropped
// (evtx_dump trims them, libevtx keeps them).
std::string scalar_text(simdjson::dom::element e) {
  std::string out;
  if (e.is_string()) {
    out = std::string(e.get_string().value_unsafe());
  } else if (e.is_int64()) {
    out = std::to_string(e.get_int64().value_unsafe());
  } else if (e.is_uint64()) {
    out = std::to_string(e.get_uint64().value_unsafe());
  } else if (e.is_null()) {
    out = "";
  } else {
    out = simdjson::to_string(e);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

TEST_P(evtx_samples, yield_one_record_matching_evtx_dump) {
  const std::string base = k_samples + "/" + GetParam();
  input_format format{};
  const auto m = read_all(base + ".evtx", &format);
  EXPECT_EQ(format, input_format::evtx);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].position, 1);

  simdjson::dom::parser ours_parser, theirs_parser;
  simdjson::dom::element ours, theirs;
  ASSERT_EQ(ours_parser.parse(m[0].bytes).get(ours), simdjson::SUCCESS) << m[0].bytes;
  ASSERT_EQ(theirs_parser.load(base + ".json").get(theirs), simdjson::SUCCESS);
  for (const char* ptr : {"/Event/System/EventID", "/Event/System/Channel", "/Event/System/Computer",
                          "/Event/System/TimeCreated/#attributes/SystemTime", "/Event/System/EventRecordID",
                          "/Event/System/Provider/#attributes/Name", "/Event/System/Provider/#attributes/Guid",
                          "/Event/System/Version", "/Event/System/Level", "/Event/System/Task",
                          "/Event/System/Opcode", "/Event/System/Keywords",
                          "/Event/System/Execution/#attributes/ProcessID",
                          "/Event/System/Execution/#attributes/ThreadID"}) {
    simdjson::dom::element a, b;
    ASSERT_EQ(ours.at_pointer(ptr).get(a), simdjson::SUCCESS) << ptr << " in " << m[0].bytes;
    ASSERT_EQ(theirs.at_pointer(ptr).get(b), simdjson::SUCCESS) << ptr;
    EXPECT_EQ(scalar_text(a), scalar_text(b)) << ptr;
    EXPECT_EQ(a.type(), b.type()) << ptr;  // numbers stay numbers, strings strings
  }
  simdjson::dom::object ours_data, theirs_data;
  ASSERT_EQ(ours.at_pointer("/Event/EventData").get_object().get(ours_data), simdjson::SUCCESS);
  ASSERT_EQ(theirs.at_pointer("/Event/EventData").get_object().get(theirs_data), simdjson::SUCCESS);
  EXPECT_EQ(ours_data.size(), theirs_data.size());
  for (auto field : theirs_data) {
    simdjson::dom::element mine;
    ASSERT_EQ(ours_data.at_key(field.key).get(mine), simdjson::SUCCESS) << field.key;
    EXPECT_EQ(scalar_text(mine), scalar_text(field.value)) << field.key;
  }
}

INSTANTIATE_TEST_SUITE_P(record_reader, evtx_samples,
                         ::testing::Values("image_load_side_load_vcruntime140",
                                           "proc_creation_win_conhost_headless_powershell",
                                           "win_security_explicit_credential_local_logon"));

TEST(record_reader, evtx_is_told_by_its_magic_not_its_name) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  temp_dir dir;
  const auto file = dir.write("exported.log", slurp(k_samples + "/win_security_explicit_credential_local_logon.evtx"));
  input_format format{};
  const auto m = read_all(file, &format);
  EXPECT_EQ(format, input_format::evtx);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_THAT(m[0].bytes, HasSubstr(R"("TargetUserName":"testuser")"));
}

TEST(record_reader, a_truncated_evtx_names_the_file_and_the_missing_record) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  const std::string whole = slurp(k_samples + "/image_load_side_load_vcruntime140.evtx");
  ASSERT_GT(whole.size(), 20'000U);
  temp_dir dir;
  const auto file = dir.write("cut.evtx", whole.substr(0, 20'000));  // the header and part of the only chunk
  auto reader = record_reader::open(file);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_EQ((*reader)->format(), input_format::evtx);
  auto next = (*reader)->next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error().position, 1);
  EXPECT_THAT(next.error().message, HasSubstr(file + ": record 1"));
  EXPECT_THAT(next.error().message, HasSubstr("truncated"));
  // Nothing after the error.
  auto after = (*reader)->next();
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->has_value());
}

TEST(record_reader, an_evtx_cut_inside_its_header_cannot_be_opened) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  temp_dir dir;
  const auto file = dir.write("head.evtx", slurp(k_samples + "/image_load_side_load_vcruntime140.evtx").substr(0, 100));
  auto reader = record_reader::open(file);
  ASSERT_FALSE(reader.has_value());
  EXPECT_THAT(reader.error().message, HasSubstr(file));
}

// Reads "-" with `file` as stdin for the duration of the call.
std::vector<message> read_stdin_from(const std::string& file, input_format* format) {
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(file.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  auto out = read_all("-", format);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  return out;
}

TEST(record_reader, stdin_is_read_by_content_too) {
  input_format format{};
  const auto m = read_stdin_from(k_data + "/evtx_json/sysmon_concatenated.json", &format);
  EXPECT_EQ(format, input_format::json);
  EXPECT_EQ(m.size(), 3U);
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  const auto e = read_stdin_from(k_samples + "/win_security_explicit_credential_local_logon.evtx", &format);
  EXPECT_EQ(format, input_format::evtx);  // spooled to a temp file for libevtx
  ASSERT_EQ(e.size(), 1U);
  EXPECT_THAT(e[0].bytes, HasSubstr(R"("EventID":4648)"));
}

TEST(record_reader, a_dirty_evtx_is_read_as_far_as_it_is_valid) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  std::string bytes = slurp(k_samples + "/proc_creation_win_conhost_headless_powershell.evtx");
  bytes[120] = static_cast<char>(bytes[120] | 0x01);  // header flags: not cleanly closed (outside the checksum)
  temp_dir dir;
  const auto file = dir.write("dirty.evtx", bytes);
  auto reader = record_reader::open(file);
  ASSERT_TRUE(reader.has_value()) << reader.error().message;
  EXPECT_TRUE((*reader)->dirty());
  auto first = (*reader)->next();
  ASSERT_TRUE(first.has_value() && first->has_value());
  EXPECT_THAT(std::string((*first)->bytes), HasSubstr(R"("CommandLine":"conhost  --headless powershell calc")"));
  auto end = (*reader)->next();
  ASSERT_TRUE(end.has_value());
  EXPECT_FALSE(end->has_value());
}

TEST(record_reader, replay_reports_a_truncated_evtx_by_name_and_record_and_runs_the_next_file) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  temp_dir dir;
  const auto cut = dir.write("cut.evtx", slurp(k_samples + "/image_load_side_load_vcruntime140.evtx").substr(0, 20'000));
  const auto whole = k_samples + "/win_security_explicit_credential_local_logon.evtx";
  auto cfg = parse_config("{}", "(defaults)");
  ASSERT_TRUE(cfg.has_value());
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(*cfg, {cut, whole}, alerts, diagnostics);
  EXPECT_EQ(summary.read_errors, 1U);
  EXPECT_EQ(summary.unreadable_files, 0U);
  EXPECT_EQ(summary.files_by_format[static_cast<std::size_t>(input_format::evtx)], 2U);
  EXPECT_THAT(diagnostics.str(), HasSubstr(cut + ": record 1 and later are missing: the file is truncated"));
  EXPECT_EQ(summary.stats.events, 1U);  // the second file's record
}

TEST(record_reader, event_xml_elements_become_evtx_json_messages) {
  input_format format{};
  const auto m = read_all(k_data + "/evtx_json/codeintegrity_events.xml", &format);
  EXPECT_EQ(format, input_format::xml);
  ASSERT_EQ(m.size(), 3U);
  EXPECT_EQ(m[0].position, 3);
  EXPECT_EQ(m[1].position, 27);
  EXPECT_EQ(m[2].position, 28);
  EXPECT_THAT(m[0].bytes, HasSubstr(R"("EventID":3089)"));
  EXPECT_THAT(m[0].bytes, HasSubstr(R"("PublisherName":"Fabrikam Tools & Co")"));
  EXPECT_THAT(m[0].bytes, HasSubstr(R"("ActivityID":"3b1f7c2a-0d4e-0002-91aa-4c1f3b2d0e01")"));
  EXPECT_THAT(m[1].bytes, HasSubstr(R"("File Name":"\\Device\\HarddiskVolume3\\Tools\\fab.dll")"));
  EXPECT_TRUE(parses(m[0].bytes));
  EXPECT_TRUE(parses(m[1].bytes));
  // A malformed element goes on as its own raw bytes (rejected downstream as invalid_json).
  EXPECT_THAT(m[2].bytes, HasSubstr("</Sys>"));
  EXPECT_FALSE(parses(m[2].bytes));
}

TEST(record_reader, compressed_input_is_refused_with_a_hint) {
  temp_dir dir;
  const auto file = dir.write("events.ndjson.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8) + "junk");
  auto reader = record_reader::open(file);
  ASSERT_FALSE(reader.has_value());
  EXPECT_THAT(reader.error().message, HasSubstr(file + ": gzip-compressed; decompress it first (zcat "));
}

}  // namespace
}  // namespace record_reader_test
}  // namespace countersign::processor
