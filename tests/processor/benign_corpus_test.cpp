// A benign lab corpus (tests/data/benign/make_benign.py) in the Winlogbeat, flat and evtx
// shapes, replayed with prevalence state from its first event: the populations that once
// raised false high and medium alerts (Microsoft's other signing names, WHQL-signed
// third-party files, Microsoft-shipped components, bundled third-party DLLs, per-user
// installs) raise nothing above low, and the protected-vendor detector nothing at all.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/replay.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace benign_corpus_test {  // one per file: the test programs are unity builds
namespace {

const std::string k_dir = COUNTERSIGN_TEST_DATA "/benign";

TEST(benign_corpus, raises_nothing_above_low_in_any_shape) {
  test_support::state_dir dir;
  auto store = dir.open();
  ASSERT_NE(store, nullptr);
  // Judged from the first event (no learning period): the harshest setting.
  const config cfg = test_support::config_or_fail("learning: {min_history: 0s}\nsigma: {enabled: false}\n");
  std::ostringstream alerts, diagnostics;
  const auto summary = run_replay(cfg,
                                  {k_dir + "/benign.winlogbeat.ndjson", k_dir + "/benign.flat.ndjson",
                                   k_dir + "/benign.evtx.ndjson"},
                                  alerts, diagnostics, store.get());
  EXPECT_EQ(diagnostics.str(), "");
  for (const auto n : summary.stats.rejected) EXPECT_EQ(n, 0U);
  // Every record is a signed image load in scope: 558 events, none out of scope; the
  // same (host, file, signature) on later days is a repeat, judged once.
  EXPECT_EQ(summary.stats.events, 558U);
  EXPECT_EQ(summary.stats.out_of_scope, 0U);
  EXPECT_GT(summary.stats.observations, 150U);

  simdjson::dom::parser parser;
  std::map<std::string, int> by_detector_and_severity;
  std::istringstream lines(alerts.str());
  for (std::string line; std::getline(lines, line);) {
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    simdjson::dom::array detections;
    ASSERT_EQ(doc["detections"].get_array().get(detections), simdjson::SUCCESS);
    for (auto d : detections) {
      std::string_view id, severity, reason;
      ASSERT_EQ(d["id"].get_string().get(id), simdjson::SUCCESS);
      ASSERT_EQ(d["severity"].get_string().get(severity), simdjson::SUCCESS);
      if (d["reason"].get_string().get(reason) != simdjson::SUCCESS) reason = {};
      ++by_detector_and_severity[std::string(id) + " " + std::string(severity)];
      EXPECT_TRUE(severity == "info" || severity == "low") << id << " " << severity << ": " << reason;
      EXPECT_THAT(std::string(reason), ::testing::Not(::testing::HasSubstr("claims to be"))) << id;
    }
  }
  // What remains is what the detection-quality notes name: a rare per-user Python on two
  // hosts (rare path, low) and its bundled OpenSSL (info).
  for (const auto& [k, n] : by_detector_and_severity) std::cout << "  " << k << ": " << n << "\n";
}

}  // namespace
}  // namespace benign_corpus_test
}  // namespace countersign::processor
