#pragma once
// Helpers shared by the processor tests: fixture files, the input parser on single
// messages, rendered alerts read back, and fixtures run through the pipeline. One copy
// of each; a test file names the ones it uses with using-declarations.

#include "printers.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/rules/observation.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <unistd.h>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor::test_support {

// The project's fixture directory, tests/data.
inline const std::string k_data = COUNTERSIGN_TEST_DATA;

// The configuration the ECS fixture (ecs/process_events.ndjson) is judged with.
inline constexpr const char* k_ecs_fixture_config = R"yaml(
detectors:
  signature_untrusted:
    internal_pki_issuers: ["Contoso Internal Code Signing CA"]
)yaml";

// Whether read_lines() drops empty lines or returns them as they are.
enum class blank_lines { skip, keep };

// The lines of a file (fails the test if it cannot be read); empty ones skipped unless kept.
inline std::vector<std::string> read_lines(const std::string& path, blank_lines blanks = blank_lines::skip) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    if (blanks == blank_lines::keep || !line.empty()) out.push_back(line);
  }
  return out;
}

// The lines of a text, as std::getline splits them (no empty last line after a final '\n').
// The messages of a fixture file as the record reader yields them (NDJSON, concatenated
// JSON, .evtx, event XML); fails the test on an open or read error.
inline std::vector<std::string> messages_of(const std::string& path) {
  std::vector<std::string> out;
  auto reader = record_reader::open(path);
  EXPECT_TRUE(reader.has_value()) << path;
  if (!reader) return out;
  for (;;) {
    auto next = (*reader)->next();
    EXPECT_TRUE(next.has_value()) << path << ": " << (next ? "" : next.error().message);
    if (!next || !next->has_value()) break;
    out.emplace_back((*next)->bytes);
  }
  return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The one line of a fixture file containing `needle` (a record id); fails the test unless exactly one does.
inline std::string line_containing(const std::string& path, std::string_view needle) {
  std::string found;
  int matches = 0;
  for (const auto& line : read_lines(path)) {
    if (line.find(needle) != std::string::npos) {
      found = line;
      ++matches;
    }
  }
  EXPECT_EQ(matches, 1) << needle << " in " << path;
  return found;
}

// A RocksDB prevalence store in a fresh temporary directory, removed afterwards.
class state_dir {
 public:
  state_dir() {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("countersign-processor-state-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~state_dir() { std::filesystem::remove_all(path_); }
  state_dir(const state_dir&) = delete;
  state_dir& operator=(const state_dir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::unique_ptr<state::prevalence_store> open() const {
    state::store_options o;
    o.path = path_;
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    auto s = state::prevalence_store::open(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error());
    return s ? std::move(*s) : nullptr;
  }

 private:
  std::string path_;
};

// Enum names as std::string, so that a failed comparison prints both sides as text.
template <typename E>
std::string name_of(E value) {
  return std::string(rules::to_string(value));
}

// `config` from YAML text, failing the test (and giving the defaults) when it does not parse.
inline config config_or_fail(const std::string& yaml, const std::string& source = "inline.yaml") {
  auto c = parse_config(yaml, source);
  EXPECT_TRUE(c.has_value()) << (c ? "" : c.error());
  return c ? *c : config{};
}

// One parser and batch reused across a test's messages; Expected: the profile to be read as (unknown: any).
template <rules::schema_profile Expected = rules::schema_profile::unknown>
struct parse_harness {
  explicit parse_harness(parser_limits limits = {}) : parser(limits) {}

  // Parses and fails the test on a reject or on another profile; returns every observation.
  const observation_batch& ok_batch(std::string_view json,
                                    rules::schema_profile forced = rules::schema_profile::unknown) {
    auto r = parser.parse(json, batch, forced);
    EXPECT_TRUE(r.has_value()) << "rejected: " << (r ? "" : to_string(r.error().reason)) << " ("
                               << (r ? "" : r.error().detail) << ") for " << json;
    if constexpr (Expected != rules::schema_profile::unknown) {
      if (r) {
        EXPECT_EQ(name_of(*r), name_of(Expected)) << json;
      }
    }
    return batch;
  }
  // As ok_batch(), and fails the test unless there is exactly one observation; returns it (kept in `obs`).
  const rules::observation& ok(std::string_view json,
                               rules::schema_profile forced = rules::schema_profile::unknown) {
    const auto& b = ok_batch(json, forced);
    EXPECT_EQ(b.size(), 1U) << json;
    obs = b.empty() ? rules::observation{} : b[0];
    return obs;
  }
  // Parses and fails the test on an accept (keeping its first observation in `obs`); returns the reject.
  parse_error err(std::string_view json, rules::schema_profile forced = rules::schema_profile::unknown) {
    auto r = parser.parse(json, batch, forced);
    EXPECT_FALSE(r.has_value()) << "accepted: " << json;
    if (r && !batch.empty()) obs = batch[0];
    return r ? parse_error{reject_reason::empty, "<accepted>"} : r.error();
  }

  input_parser parser;
  observation_batch batch;
  rules::observation obs;
};

// (sorted detector ids joined by '+', host id): a row of expected_alerts.tsv, or an alert read back.
using alert_row = std::pair<std::string, std::string>;

// Appends the rows of an expected_alerts.tsv ('#' lines skipped); a row without a tab is a fatal failure.
inline void read_expected_alerts(const std::string& path, std::vector<alert_row>& rows) {
  for (const auto& line : read_lines(path)) {
    if (line.front() == '#') continue;
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    rows.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
}

// The sorted detector ids of a parsed alert joined by '+', as expected_alerts.tsv writes them.
inline std::string joined_detector_ids(simdjson::dom::element doc) {
  std::vector<std::string> ids;
  simdjson::dom::array detections;
  EXPECT_EQ(doc["detections"].get_array().get(detections), simdjson::SUCCESS);
  for (auto d : detections) {
    std::string_view id;
    EXPECT_EQ(d["id"].get_string().get(id), simdjson::SUCCESS);
    ids.emplace_back(id);
  }
  std::sort(ids.begin(), ids.end());
  std::string joined;
  for (const auto& id : ids) joined += (joined.empty() ? "" : "+") + id;
  return joined;
}

// The sorted detector ids of a rendered alert joined by '+'; fails the test if it does not parse.
inline std::string detector_ids(const std::string& alert_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(alert_json).get(doc), simdjson::SUCCESS) << alert_json;
  return joined_detector_ids(doc);
}

// The expected_alerts.tsv row of a rendered alert: (sorted detector ids joined by '+', host id).
inline alert_row summarize(const std::string& alert_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(alert_json).get(doc), simdjson::SUCCESS) << alert_json;
  std::string joined = joined_detector_ids(doc);
  std::string_view host;
  EXPECT_EQ(doc.at_pointer("/host/id").get_string().get(host), simdjson::SUCCESS);
  return {joined, std::string(host)};
}

// What a fixture run through the pipeline gave: an outcome per line, alerts summarized, their Kafka keys.
struct fixture_run {
  std::vector<outcome> outcomes;
  std::vector<alert_row> alerts;
  std::vector<std::string> keys;
};

// Adds the alerts of the pipeline's last call (process, expire or flush) to `run`.
inline void collect_alerts(const pipeline& p, fixture_run& run) {
  for (const auto& a : p.alerts()) {
    run.alerts.push_back(summarize(a.json));
    run.keys.emplace_back(a.key);
  }
}

// Runs each line of an NDJSON fixture through `p` and collects what came out (see fixture_run).
// Messages of `topic`, offset and token the 0-based line number, no clock; an alert outcome must
// come with exactly one alert. Held verdicts stay held: flush, then collect_alerts(), for them.
inline fixture_run run_fixture(pipeline& p, const std::string& path, std::string_view topic) {
  fixture_run run;
  std::int64_t offset = 0;
  for (const auto& line : read_lines(path, blank_lines::keep)) {
    const auto r = p.process(line, {topic, 0, offset}, std::nullopt, static_cast<std::uint64_t>(offset));
    run.outcomes.push_back(r.kind);
    if (r.kind == outcome::alert) {
      EXPECT_EQ(p.alerts().size(), 1U) << path << " line " << offset + 1;
    }
    collect_alerts(p, run);
    ++offset;
  }
  return run;
}

}  // namespace countersign::processor::test_support
