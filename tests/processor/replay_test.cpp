// `countersign replay` (processor/src/replay.cpp): NDJSON files in, one alert JSON line
// per alert out, deterministic, with FILE:LINE diagnostics for rejected lines.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/replay.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace replay_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using test_support::split_lines;

const std::string k_events = std::string(COUNTERSIGN_TEST_DATA) + "/ecs/process_events.ndjson";

config fixture_config() { return test_support::config_or_fail(test_support::k_ecs_fixture_config); }

// A directory of its own for each test that needs files; removed afterwards.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "countersign-replay-XXXXXX").string();
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
  bool ok() const { return !path_.empty(); }

 private:
  std::filesystem::path path_;
};

TEST(run_replay, writes_one_json_line_per_alert) {
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(fixture_config(), {k_events}, alerts, diagnostics);
  const auto lines = split_lines(alerts.str());
  ASSERT_EQ(lines.size(), 8U) << alerts.str();
  EXPECT_EQ(alerts.str().back(), '\n');
  simdjson::dom::parser parser;
  std::vector<std::string> hosts;
  for (const auto& line : lines) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    std::string_view schema, host;
    ASSERT_EQ(doc["schema"].get_string().get(schema), simdjson::SUCCESS);
    EXPECT_EQ(schema, "countersign.alert/v1");
    ASSERT_EQ(doc.at_pointer("/host/id").get_string().get(host), simdjson::SUCCESS);
    hosts.emplace_back(host);
  }
  EXPECT_THAT(hosts, ElementsAre("host-a", "host-b", "host-c", "host-d", "host-e", "host-f", "host-g", "host-h"));
  EXPECT_EQ(diagnostics.str(), "");
  EXPECT_EQ(summary.stats.events, 15U);
  EXPECT_EQ(summary.stats.alerts, 8U);
  EXPECT_EQ(summary.stats.repeats, 1U);
  EXPECT_EQ(summary.blank_lines, 0U);
  EXPECT_EQ(summary.unreadable_files, 0U);
}

TEST(run_replay, is_deterministic) {
  std::ostringstream first, second, d1, d2;
  (void)run_replay(fixture_config(), {k_events}, first, d1);
  (void)run_replay(fixture_config(), {k_events}, second, d2);
  ASSERT_FALSE(first.str().empty());
  EXPECT_EQ(first.str(), second.str());
}

TEST(run_replay, detection_time_is_event_time_and_the_source_is_file_and_line) {
  std::ostringstream alerts, diagnostics;
  (void)run_replay(fixture_config(), {k_events}, alerts, diagnostics);
  simdjson::dom::parser parser;
  std::vector<std::int64_t> offsets;
  for (const auto& line : split_lines(alerts.str())) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
    std::string_view time, detected, topic;
    std::int64_t offset = 0;
    ASSERT_EQ(doc["time"].get_string().get(time), simdjson::SUCCESS);
    ASSERT_EQ(doc["detected_at"].get_string().get(detected), simdjson::SUCCESS);
    ASSERT_EQ(doc.at_pointer("/source/topic").get_string().get(topic), simdjson::SUCCESS);
    ASSERT_EQ(doc.at_pointer("/source/offset").get_int64().get(offset), simdjson::SUCCESS);
    EXPECT_EQ(time, detected);
    EXPECT_EQ(topic, k_events);
    offsets.push_back(offset);
  }
  // 1-based line numbers of the alerting fixture lines (13 is the suppressed repeat).
  EXPECT_THAT(offsets, ElementsAre(2, 3, 5, 6, 8, 11, 14, 15));
}

TEST(run_replay, rejected_and_blank_lines_are_reported_with_file_and_line) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  const std::string revoked =
      R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"executable":"C:\\a.exe",)"
      R"("code_signature":{"exists":true,"status":"errorRevoked"}}})";
  const auto file = dir.write("mixed.ndjson", revoked + "\n"          // 1: alert
                                                  "\n"                 // 2: blank
                                                  "{not json\n"        // 3: invalid_json
                                                  " \t \n"             // 4: blank
                                                  "{\"foo\":1}\r\n"    // 5: unknown shape, CRLF: out of scope
                                                  + revoked + "\r\n"   // 6: suppressed repeat, CRLF
                                                  "{\"host\":{\"id\":\"h\"}}");  // 7: no final newline
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(fixture_config(), {file}, alerts, diagnostics);
  EXPECT_EQ(split_lines(alerts.str()).size(), 1U);
  const auto diag = split_lines(diagnostics.str());
  ASSERT_EQ(diag.size(), 2U) << diagnostics.str();
  EXPECT_THAT(diag[0], StartsWith(file + ":3: rejected: invalid_json"));
  EXPECT_EQ(diag[1], file + ":7: rejected: missing_field (@timestamp)");
  EXPECT_EQ(summary.blank_lines, 2U);
  EXPECT_EQ(summary.stats.events, 5U);
  EXPECT_EQ(summary.stats.alerts, 1U);
  EXPECT_EQ(summary.stats.repeats, 1U);
  EXPECT_EQ(summary.stats.rejected[static_cast<std::size_t>(reject_reason::invalid_json)], 1U);
  EXPECT_EQ(summary.stats.rejected[static_cast<std::size_t>(reject_reason::unknown_schema)], 0U);
  EXPECT_EQ(summary.stats.out_of_scope_by_reason[static_cast<std::size_t>(scope_reason::unknown_schema)], 1U);
  EXPECT_EQ(summary.stats.rejected[static_cast<std::size_t>(reject_reason::missing_field)], 1U);
}

TEST(run_replay, reports_at_most_twenty_rejects_per_reason_but_counts_them_all) {
  temp_dir dir;
  ASSERT_TRUE(dir.ok());
  std::string content;
  for (int i = 0; i < 25; ++i) content += "[1]\n";
  content += "{\"foo\":}\n";
  const auto file = dir.write("bad.ndjson", content);
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(fixture_config(), {file}, alerts, diagnostics);
  const auto diag = split_lines(diagnostics.str());
  ASSERT_EQ(diag.size(), 21U);
  EXPECT_EQ(diag[19], file + ":20: rejected: not_an_object");
  EXPECT_THAT(diag[20], StartsWith(file + ":26: rejected: invalid_json"));  // other reasons keep their own budget
  EXPECT_EQ(summary.stats.rejected[static_cast<std::size_t>(reject_reason::not_an_object)], 25U);
  EXPECT_THAT(alerts.str(), IsEmpty());
}

TEST(run_replay, an_unreadable_file_is_counted_and_the_next_file_still_runs) {
  std::ostringstream alerts, diagnostics;
  const std::string missing = "/nonexistent/countersign/none.ndjson";
  const auto summary = run_replay(fixture_config(), {missing, k_events}, alerts, diagnostics);
  EXPECT_EQ(summary.unreadable_files, 1U);
  EXPECT_EQ(diagnostics.str(), missing + ": cannot open\n");
  EXPECT_EQ(split_lines(alerts.str()).size(), 8U);
}

TEST(run_replay, suppression_spans_files) {
  // The same file twice: every alert of the second pass repeats one of the first, in the
  // same host, hash and window, so nothing new is written.
  std::ostringstream once, twice, d1, d2;
  (void)run_replay(fixture_config(), {k_events}, once, d1);
  const auto summary = run_replay(fixture_config(), {k_events, k_events}, twice, d2);
  EXPECT_EQ(once.str(), twice.str());
  EXPECT_EQ(summary.stats.repeats, 1U + 14U) << "the fixture's own repeat, then all 14 in-scope facts of the second pass";
}

}  // namespace
}  // namespace replay_test
}  // namespace countersign::processor
