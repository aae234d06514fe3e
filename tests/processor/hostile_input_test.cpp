// Hostile input: every kind of broken message a producer can send is rejected with the
// right reason or parsed safely. The sanitizer build runs these too; the fuzzer
// (scripts/fuzz.sh) explores beyond them, and its finds land in tests/data/fuzz-regressions.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace hostile_input_test {  // one per file: the test programs are unity builds
namespace {

using test_support::k_data;

std::vector<std::string> fixture_lines() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k_data)) {
    if (entry.path().extension() != ".ndjson") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.front() == '{') out.push_back(line);
    }
  }
  return out;
}

struct result {
  bool accepted = false;
  reject_reason reason = reject_reason::empty;
  observation_batch batch;
};

result parse(input_parser& p, std::string_view bytes) {
  result r;
  auto parsed = p.parse(bytes, r.batch);
  r.accepted = parsed.has_value();
  if (!parsed) r.reason = parsed.error().reason;
  return r;
}

constexpr std::string_view k_ecs_head = R"({"@timestamp":"2026-11-20T10:00:00Z",)";

TEST(hostile_input, every_truncation_of_every_fixture_is_invalid_json) {
  input_parser p;
  const auto lines = fixture_lines();
  ASSERT_GT(lines.size(), 10U);
  std::size_t checked = 0;
  for (const auto& line : lines) {
    if (!parse(p, line).accepted) continue;  // reject fixtures may hold complete objects inside
    // Every strict prefix of an accepted single-object message is unclosed.
    for (std::size_t n = 1; n + 1 < line.size(); n += 7) {
      const auto r = parse(p, std::string_view(line).substr(0, n));
      EXPECT_FALSE(r.accepted) << line.substr(0, n);
      EXPECT_EQ(r.reason, reject_reason::invalid_json) << line.substr(0, n);
      ++checked;
    }
  }
  EXPECT_GT(checked, 500U);
}

TEST(hostile_input, a_wrong_type_in_any_field_is_rejected_as_wrong_type_or_ignored_when_unmapped) {
  input_parser p;
  const std::set<reject_reason> allowed = {reject_reason::wrong_type, reject_reason::bad_timestamp,
                                           reject_reason::missing_field, reject_reason::unknown_schema};
  std::size_t rejected = 0, variants = 0;
  for (const auto& line : fixture_lines()) {
    if (!parse(p, line).accepted) continue;
    // Replace each string value (a quoted token after ':') with an object, then with a number.
    for (std::size_t pos = line.find(":\""); pos != std::string::npos; pos = line.find(":\"", pos + 1)) {
      const auto end = line.find('"', pos + 2);
      if (end == std::string::npos) break;
      for (const std::string_view replacement : {"{\"x\":1}", "12345", "[true]"}) {
        const std::string variant = line.substr(0, pos + 1) + std::string(replacement) + line.substr(end + 1);
        const auto r = parse(p, variant);
        ++variants;
        if (r.accepted) continue;
        ++rejected;
        EXPECT_TRUE(allowed.contains(r.reason)) << to_string(r.reason) << ": " << variant;
      }
    }
  }
  EXPECT_GT(variants, 1000U);
  EXPECT_GT(rejected, variants / 10) << "mapped fields must notice wrong types";
}

TEST(hostile_input, duplicate_keys_are_parsed_and_the_last_one_wins) {
  input_parser p;
  const auto r = parse(p, std::string(k_ecs_head) +
                              R"("host":{"id":"first"},"process":{"code_signature":{"exists":true}},"host":{"id":"second"}})");
  ASSERT_TRUE(r.accepted);
  EXPECT_EQ(r.batch[0].host_id.value, "second");
}

TEST(hostile_input, invalid_utf8_is_invalid_json) {
  input_parser p;
  for (const std::string& bad : {std::string("\xff\xfe"), std::string("\xc3\x28"), std::string("\xed\xa0\x80")}) {
    const auto r = parse(p, std::string(k_ecs_head) + R"("host":{"id":")" + bad + "\"}}");
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.reason, reject_reason::invalid_json);
  }
}

// On-Demand skips unmapped values iteratively (no recursion), so depth costs nothing
// there; a deep value where a mapped field is expected is a type error, and a deep
// non-object document hits the DOM validator's depth limit (1024).
TEST(hostile_input, deep_nesting_is_skipped_when_unmapped_and_rejected_where_a_field_or_object_is_expected) {
  input_parser p;
  const auto nest = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
  };
  EXPECT_TRUE(parse(p, std::string(k_ecs_head) + R"("host":{"id":"h","deep":)" + nest(1000) + "}}").accepted);
  EXPECT_TRUE(parse(p, std::string(k_ecs_head) + R"("host":{"id":"h","deep":)" + nest(5000) + "}}").accepted);
  const auto mapped = parse(p, std::string(k_ecs_head) + R"("host":{"id":)" + nest(5000) + "}}");
  EXPECT_EQ(mapped.reason, reject_reason::wrong_type);
  const auto top = parse(p, nest(5000));
  EXPECT_EQ(top.reason, reject_reason::invalid_json);
}

TEST(hostile_input, numbers_as_strings_are_read_where_a_number_or_time_is_expected) {
  input_parser p;
  const auto r = parse(p, R"({"@timestamp":"1795168800000","host":{"id":"h"},"winlog":{"channel":"Microsoft-Windows-CodeIntegrity/Operational","event_id":"3033","event_data":{"RequestedPolicy":"8","Status":"3236495362"}}})");
  ASSERT_TRUE(r.accepted);
  EXPECT_EQ(r.batch[0].event_time_ms, 1'795'168'800'000);
  EXPECT_EQ(r.batch[0].ci.event_id, 3033);
  EXPECT_EQ(r.batch[0].ci.requested_signing_level, 8);
  EXPECT_EQ(r.batch[0].ci.status.value, "0xc0e90002");
}

TEST(hostile_input, huge_strings_are_skipped_when_unmapped_cut_when_mapped_and_rejected_over_the_message_limit) {
  input_parser p(parser_limits{1 << 20, 4096});
  const std::string big(900'000, 'x');
  EXPECT_TRUE(parse(p, std::string(k_ecs_head) + R"("host":{"id":"h"},"message":")" + big + "\"}").accepted);
  EXPECT_EQ(p.last_truncated_fields(), 0U);
  const auto mapped = parse(p, std::string(k_ecs_head) + R"("host":{"id":")" + big + "\"}}");
  EXPECT_TRUE(mapped.accepted);
  EXPECT_EQ(p.last_truncated_fields(), 1U);
  const auto whole = parse(p, std::string(k_ecs_head) + R"("host":{"id":"h"},"message":")" + big + big + "\"}");
  EXPECT_EQ(whole.reason, reject_reason::too_large);
}

TEST(hostile_input, empty_and_whitespace_and_non_objects_get_their_own_reasons) {
  input_parser p;
  EXPECT_EQ(parse(p, "").reason, reject_reason::empty);
  EXPECT_EQ(parse(p, "   ").reason, reject_reason::invalid_json);
  EXPECT_EQ(parse(p, "null").reason, reject_reason::not_an_object);
  EXPECT_EQ(parse(p, "[{\"@timestamp\":1}]").reason, reject_reason::not_an_object);
  EXPECT_EQ(parse(p, "{}").reason, reject_reason::unknown_schema);
}

TEST(hostile_input, binary_garbage_is_always_rejected_as_malformed) {
  input_parser p;
  std::mt19937_64 rng(20261129);
  std::uniform_int_distribution<int> byte(0, 255), length(1, 2048);
  for (int i = 0; i < 5000; ++i) {
    std::string garbage(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& ch : garbage) ch = static_cast<char>(byte(rng));
    if (i % 2 == 0) garbage[0] = '{';  // half of them look like an object at first
    const auto r = parse(p, garbage);
    EXPECT_FALSE(r.accepted);
    EXPECT_TRUE(r.reason == reject_reason::invalid_json || r.reason == reject_reason::not_an_object) << i;
  }
}

// Every input the fuzzer (or a person) found to crash or mislead the parser, replayed
// through the whole pipeline: it must come out processed or rejected, nothing else.
TEST(fuzz_regressions, every_saved_input_runs_through_the_pipeline) {
  auto cfg = parse_config("", "test").value();
  pipeline pipe(cfg);
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(k_data + "/fuzz-regressions")) {
    if (entry.path().filename() == "README.md") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    (void)pipe.process(ss.str(), {"fuzz", 0, static_cast<std::int64_t>(files)}, std::nullopt, files);
    ++files;
  }
  pipe.flush(std::nullopt);
  EXPECT_EQ(pipe.stats().events, files);
}

}  // namespace
}  // namespace hostile_input_test
}  // namespace countersign::processor
