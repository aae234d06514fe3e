// rule_set::evaluate() against the naive path (every rule whose logsource admits the
// event, through sigma::matches()) over the whole SigmaHQ Windows folder and a sample of
// the bench's Windows event mix (bench/windows_event_mix.hpp): per event, the same rule
// ids, with either literal engine, calling evaluate() once per logsource of the event or
// once with all of them. The folder is ../shared/sigmahq/rules/windows next to
// the source tree (COUNTERSIGN_SIGMAHQ_DIR); the test is skipped when it is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/rules/sigma/sigma.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "windows_event_mix.hpp"

namespace countersign::rules::sigma {
namespace sigma_sigmahq_test {  // one per file: the test programs are unity builds
namespace {

bool admits(const logsource& ls, const event_logsource& src) {
  const auto eq = [](const std::string& want, std::string_view have) {
    return want.empty() || std::ranges::equal(want, have, [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b));
           });
  };
  return eq(ls.category, src.category) && eq(ls.product, src.product) && eq(ls.service, src.service);
}

TEST(sigma_sigmahq, evaluate_matches_the_naive_path_on_every_event_with_either_engine_and_call) {
  const std::string dir = COUNTERSIGN_SIGMAHQ_DIR;
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no SigmaHQ folder at " << dir;
  std::size_t files = 0;
  const auto loaded = bench::load_rule_folder(dir, files);
  ASSERT_GT(loaded.rules.size(), 2000U);
  const auto events = bench::windows_event_mix(loaded.rules, 0x7e57).make(3000);

  // The naive path: per event, the sorted ids of every admitted rule that matches.
  std::vector<std::vector<std::string>> expected(events.size());
  std::size_t matches = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    for (const auto& src : events[i].logsources())
      for (const auto& r : loaded.rules)
        if (admits(r.source, src) && sigma::matches(r, events[i])) expected[i].push_back(r.id);
    std::ranges::sort(expected[i]);
    matches += expected[i].size();
  }
  // The mix's suspicious events are built from rule selections: some must match, or the
  // comparison would say little.
  EXPECT_GT(matches, 100U);

  for (const auto engine :
       {rule_set_options::literal_engine::hyperscan, rule_set_options::literal_engine::aho_corasick}) {
    const rule_set rs(loaded.rules, rule_set_options{engine});
    for (const bool per_source : {true, false}) {
      eval_counters counters;
      std::size_t differ = 0;
      for (std::size_t i = 0; i < events.size(); ++i) {
        std::vector<const rule*> hits;
        const auto sources = events[i].logsources();
        if (per_source) {
          for (const auto& src : sources) rs.evaluate(src, events[i], hits, &counters);
        } else {
          rs.evaluate(sources, events[i], hits, &counters);
        }
        std::vector<std::string> got;
        for (const auto* r : hits) got.push_back(r->id);
        std::ranges::sort(got);
        if (got != expected[i] && differ++ < 5)
          ADD_FAILURE() << "engine " << static_cast<int>(engine) << (per_source ? ", per source" : ", all sources")
                        << ", event " << i << ": " << got.size() << " rules, naive path " << expected[i].size();
      }
      EXPECT_EQ(differ, 0U);
      // The prefilter did filter: far fewer rules evaluated than admitted by logsource.
      EXPECT_LT(counters.evaluated * 20, counters.considered);
    }
  }
}

}  // namespace
}  // namespace sigma_sigmahq_test
}  // namespace countersign::rules::sigma
