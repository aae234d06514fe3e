// Sigma rule loading (rules/src/sigma/loader.cpp): metadata, multiple documents,
// FILE:LINE: rule ID: message diagnostics, and unsupported features skipping a rule.
#include <countersign/rules/sigma/sigma.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace countersign::rules::sigma {
namespace sigma_loader_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* good =
    "title: Suspicious signer\n"          // 1
    "id: 11111111-aaaa\n"                 // 2
    "status: experimental\n"              // 3
    "level: high\n"                       // 4
    "tags:\n"                             // 5
    "  - attack.t1553.002\n"              // 6
    "  - attack.defense_evasion\n"        // 7
    "logsource:\n"                        // 8
    "  category: process_creation\n"      // 9
    "  product: windows\n"                // 10
    "  service: sysmon\n"                 // 11
    "detection:\n"                        // 12
    "  sel:\n"                            // 13
    "    Signed: 'true'\n"                // 14
    "  condition: sel\n"                  // 15
    "falsepositives:\n"                   // 16
    "  - Admin tools\n";                  // 17

TEST(sigma_loader, metadata) {
  auto res = load_rules(good, "a.yml");
  ASSERT_TRUE(res.diagnostics.empty());
  ASSERT_EQ(res.rules.size(), 1U);
  const rule& r = res.rules[0];
  EXPECT_EQ(r.id, "11111111-aaaa");
  EXPECT_EQ(r.title, "Suspicious signer");
  EXPECT_EQ(r.status, "experimental");
  EXPECT_EQ(r.level, "high");
  EXPECT_THAT(r.tags, ElementsAre("attack.t1553.002", "attack.defense_evasion"));
  EXPECT_EQ(r.source.category, "process_creation");
  EXPECT_EQ(r.source.product, "windows");
  EXPECT_EQ(r.source.service, "sysmon");
  EXPECT_THAT(r.falsepositives, ElementsAre("Admin tools"));
  EXPECT_THAT(r.condition_text, ElementsAre("sel"));
  EXPECT_EQ(r.file, "a.yml");
  EXPECT_EQ(r.line, 1);
  ASSERT_EQ(r.searches.size(), 1U);
  EXPECT_EQ(r.searches[0].name, "sel");
}

TEST(sigma_loader, multiple_documents_bad_one_skipped) {
  std::string y = std::string(good) +
                  "---\n"                         // 18
                  "title: second\n"               // 19
                  "id: r2\n"                      // 20
                  "detection:\n"                  // 21
                  "  sel:\n"                      // 22
                  "    A: 1\n"                    // 23
                  "  condition: sel and other\n"  // 24
                  "---\n"                         // 25
                  "title: third\n"                // 26
                  "id: r3\n"                      // 27
                  "detection:\n"                  // 28
                  "  sel:\n"                      // 29
                  "    A: 1\n"                    // 30
                  "  condition: sel\n";           // 31
  auto res = load_rules(y, "multi.yml");
  ASSERT_EQ(res.rules.size(), 2U);
  EXPECT_EQ(res.rules[1].id, "r3");
  EXPECT_EQ(res.rules[1].line, 26);
  ASSERT_EQ(res.diagnostics.size(), 1U);
  EXPECT_EQ(res.diagnostics[0].sev, diagnostic::severity::error);
  EXPECT_EQ(res.diagnostics[0].text(),
            "multi.yml:24: rule r2: condition 'sel and other': unknown search identifier 'other'");
}

std::string one_diag(const std::string& y) {
  auto res = load_rules(y, "f.yml");
  EXPECT_TRUE(res.rules.empty());
  EXPECT_EQ(res.diagnostics.size(), 1U);
  return res.diagnostics.empty() ? "" : res.diagnostics[0].text();
}

TEST(sigma_loader, unsupported_features_are_warnings) {
  EXPECT_EQ(one_diag("title: t\nid: agg\ndetection:\n  sel:\n    A: 1\n  condition: sel | count() > 5\n"),
            "f.yml:6: rule agg: warning: aggregation ('|') in condition is not supported; rule skipped");
  EXPECT_EQ(one_diag("title: t\nid: nr\ndetection:\n  a:\n    A: 1\n  b:\n    B: 1\n  condition: a near b\n"),
            "f.yml:8: rule nr: warning: 'near' in condition is not supported; rule skipped");
  // A modifier Sigma defines but countersign does not run is a warning; an unknown one
  // is an error (the rule cannot do what its author meant).
  EXPECT_EQ(one_diag("title: t\nid: mod\ndetection:\n  sel:\n    A|neq: 1\n  condition: sel\n"),
            "f.yml:5: rule mod: warning: modifier 'neq' is not supported; rule skipped");
  EXPECT_EQ(one_diag("title: t\nid: mod\ndetection:\n  sel:\n    A|frobnicate: 1\n  condition: sel\n"),
            "f.yml:5: rule mod: unknown modifier 'frobnicate'");
  EXPECT_EQ(one_diag("title: t\nid: tf\ndetection:\n  sel:\n    A: 1\n  timeframe: 5m\n  condition: sel\n"),
            "f.yml:6: rule tf: warning: 'timeframe' is not supported; rule skipped");
  auto res = load_rules("title: t\nid: w\ndetection:\n  sel:\n    A|base64: 'a*'\n  condition: sel\n", "f.yml");
  ASSERT_EQ(res.diagnostics.size(), 1U);
  EXPECT_EQ(res.diagnostics[0].sev, diagnostic::severity::warning);
}

TEST(sigma_loader, errors_with_lines) {
  EXPECT_EQ(one_diag("title: t\nid: nodet\n"), "f.yml:1: rule nodet: missing 'detection'");
  EXPECT_EQ(one_diag("title: t\nid: nocond\ndetection:\n  sel:\n    A: 1\n"),
            "f.yml:3: rule nocond: missing 'condition'");
  EXPECT_EQ(one_diag("title: t\nid: num\ndetection:\n  sel:\n    A|lt: abc\n  condition: sel\n"),
            "f.yml:5: rule num: 'abc' is not a number");
  EXPECT_EQ(one_diag("title: t\nid: cidr\ndetection:\n  sel:\n    A|cidr:\n      - 10.0.0.0/8\n      - 10.0.0.0/99\n"
                     "  condition: sel\n"),
            "f.yml:7: rule cidr: bad CIDR prefix '10.0.0.0/99'");
  EXPECT_EQ(one_diag("title: t\ndetection:\n  sel: 5\n  condition: sel\n"),
            "f.yml:3: rule ?: search identifier 'sel' must be a map or a non-empty list");
  EXPECT_THAT(one_diag("title: t\nid: x\ndetection: [\n"), HasSubstr("f.yml:"));
  EXPECT_EQ(one_diag("title: t\nid: re\ndetection:\n  sel:\n    A|re: '(?<=x)a'\n  condition: sel\n").rfind(
                "f.yml:5: rule re: warning: regex", 0),
            0U);
}

TEST(sigma_loader, from_file) {
  auto path = std::filesystem::temp_directory_path() / "countersign_sigma_loader_test.yml";
  {
    std::ofstream out(path);
    out << good;
  }
  auto res = load_rules_file(path);
  std::filesystem::remove(path);
  EXPECT_TRUE(res.diagnostics.empty());
  EXPECT_EQ(res.rules.size(), 1U);
  auto missing = load_rules_file("/nonexistent/countersign.yml");
  ASSERT_EQ(missing.diagnostics.size(), 1U);
  EXPECT_EQ(missing.diagnostics[0].text(), "/nonexistent/countersign.yml:0: rule ?: cannot read file");
}

}  // namespace
}  // namespace sigma_loader_test
}  // namespace countersign::rules::sigma
