// `rules check --coverage`: which Sigma rules can never fire on the configured input
// shapes (processor/src/engine/sigma_coverage.cpp), on the fixture rules of
// tests/data/sigma_coverage (one per reason, and reachable look-alikes) and on SigmaHQ.
#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/sigma_coverage.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace sigma_coverage_test {  // one per file: the test programs are unity builds
namespace {

using rules::schema_profile;

const std::string k_dir = std::string(COUNTERSIGN_TEST_DATA) + "/sigma_coverage";

config config_of(const std::string& yaml) {
  auto cfg = parse_config(yaml, "test.yaml");
  EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error());
  return cfg ? std::move(*cfg) : config{};
}

// rule id -> (reason, subject) of every rule that never fires.
std::map<std::string, std::pair<coverage_reason, std::string>> unreachable(const std::string& yaml,
                                                                          const std::string& rule_dir) {
  const auto loaded = load_sigma_rules({}, rule_dir);
  EXPECT_EQ(loaded.skipped, 0u);
  const auto report = check_coverage(loaded.rules, configured_shapes(config_of(yaml)));
  EXPECT_EQ(report.rules, loaded.rules.size());
  std::map<std::string, std::pair<coverage_reason, std::string>> out;
  for (const auto& u : report.unreachable) out[u.rule->id] = {u.reason, u.subject};
  return out;
}

std::string id(int n) { return "c0fe0000-0000-4000-8000-0000000000" + std::string(n < 10 ? "0" : "") + std::to_string(n); }

bool has(const std::vector<rules::sigma::logsource>& sources, std::string_view category, std::string_view product,
         std::string_view service) {
  return std::ranges::any_of(sources, [&](const auto& s) {
    return s.category == category && s.product == product && s.service == service;
  });
}

TEST(sigma_coverage, probed_logsources_are_the_ones_evaluation_gives) {
  const auto windows = probe_logsources(schema_profile::windows);
  EXPECT_TRUE(has(windows, "process_creation", "windows", "sysmon"));
  EXPECT_TRUE(has(windows, "process_creation", "windows", "security"));  // 4688
  EXPECT_TRUE(has(windows, "registry_delete", "windows", "sysmon"));      // Sysmon 12, third category
  EXPECT_TRUE(has(windows, "ps_script", "windows", "powershell"));
  EXPECT_TRUE(has(windows, "ps_classic_start", "windows", "powershell-classic"));
  EXPECT_TRUE(has(windows, "", "windows", "firewall-as"));
  EXPECT_TRUE(has(windows, "", "windows", ""));  // a channel the table does not know
  EXPECT_FALSE(has(windows, "process_creation", "linux", ""));
  EXPECT_TRUE(has(windows, "", "windows", "ntlm"));
  EXPECT_TRUE(has(windows, "sysmon_status", "windows", "sysmon"));    // Sysmon 4 and 16
  EXPECT_TRUE(has(windows, "sysmon_error", "windows", "sysmon"));     // Sysmon 255
  // No Windows event log carries these (EDR file telemetry).
  EXPECT_FALSE(std::ranges::any_of(windows, [](const auto& s) { return s.category == "file_access"; }));
  // Only ECS reads host.os.type.
  EXPECT_TRUE(has(probe_logsources(schema_profile::ecs), "process_creation", "linux", ""));
  const auto ocsf = probe_logsources(schema_profile::ocsf);
  EXPECT_TRUE(has(ocsf, "process_creation", "windows", ""));
  EXPECT_FALSE(has(ocsf, "ps_script", "windows", "powershell"));
}

TEST(sigma_coverage, a_field_is_missing_only_where_the_shape_cannot_carry_it) {
  EXPECT_TRUE(probe_field(schema_profile::ecs, "ParentUser"));      // winlog.event_data.ParentUser
  EXPECT_TRUE(probe_field(schema_profile::windows, "AnyName"));     // a flat record's own key
  EXPECT_TRUE(probe_field(schema_profile::defender, "ParentUser"));  // a row may have that column
  EXPECT_TRUE(probe_field(schema_profile::ocsf, "CommandLine"));     // alias process.cmd_line
  EXPECT_TRUE(probe_field(schema_profile::ocsf, "Image"));           // the normalized event
  EXPECT_TRUE(probe_field(schema_profile::ocsf, "Hashes"));
  EXPECT_TRUE(probe_field(schema_profile::ocsf, "process.name"));    // an OCSF path
  EXPECT_FALSE(probe_field(schema_profile::ocsf, "ParentUser"));
  EXPECT_FALSE(probe_field(schema_profile::sentinelone, "TargetObject"));
}

TEST(sigma_coverage, configured_shapes_follow_the_topics) {
  EXPECT_EQ(configured_shapes(config_of("kafka: {input_topics: [a]}\ninput: {schemas: {a: ocsf}}\n")),
            std::vector<schema_profile>{schema_profile::ocsf});
  // A topic left to detection: every profile, and unknown shapes unless they are rejected.
  const auto detected = configured_shapes(config_of("kafka: {input_topics: [a, b]}\ninput: {schemas: {a: ocsf}}\n"));
  EXPECT_EQ(detected.size(), 9u);
  EXPECT_EQ(std::ranges::count(detected, schema_profile::unknown), 1);
  const auto strict = configured_shapes(config_of("kafka: {input_topics: [a]}\ninput: {unknown_shapes: reject}\n"));
  EXPECT_EQ(strict.size(), 8u);
  EXPECT_EQ(std::ranges::count(strict, schema_profile::unknown), 0);
}

TEST(sigma_coverage, every_logsource_reason_is_found_and_reachable_rules_are_not_listed) {
  const auto found = unreachable("{}", k_dir + "/rules");
  const std::map<std::string, std::pair<coverage_reason, std::string>> expected = {
      {id(11), {coverage_reason::service, "dhcp"}},
      {id(12), {coverage_reason::category, "file_access"}},
      {id(13), {coverage_reason::product, "aws"}},
      {id(14), {coverage_reason::combination, "category=ps_script product=windows service=sysmon"}},
  };
  EXPECT_EQ(found, expected);  // rules 1-7 and the Linux rule 21 (through ECS) are reachable
}

TEST(sigma_coverage, a_shape_pinned_to_every_topic_narrows_the_logsources) {
  const auto found = unreachable("kafka: {input_topics: [w]}\ninput: {schemas: {w: windows}}\n", k_dir + "/rules");
  ASSERT_TRUE(found.contains(id(21)));
  EXPECT_EQ(found.at(id(21)), std::make_pair(coverage_reason::product, std::string("linux")));
  EXPECT_EQ(found.size(), 5u);
}

TEST(sigma_coverage, a_field_no_shape_carries_makes_a_rule_unreachable_only_when_every_way_needs_it) {
  const auto found = unreachable("kafka: {input_topics: [o]}\ninput: {schemas: {o: ocsf}}\n", k_dir + "/rules");
  ASSERT_TRUE(found.contains(id(4)));
  EXPECT_EQ(found.at(id(4)), std::make_pair(coverage_reason::field, std::string("ParentUser")));
  EXPECT_FALSE(found.contains(id(1)));  // Image: the normalized event
  EXPECT_FALSE(found.contains(id(5)));  // ParentUser only in a filter under `not`
  EXPECT_FALSE(found.contains(id(6)));  // ParentUser: null holds when it is missing
  EXPECT_FALSE(found.contains(id(7)));  // the other branch of `1 of by_*` needs CommandLine only
  EXPECT_EQ(found.at(id(2)).first, coverage_reason::service);   // no Security log on OCSF
  EXPECT_EQ(found.at(id(3)).first, coverage_reason::category);  // no ps_script either
}

TEST(sigma_coverage, the_report_lists_each_rule_with_file_and_line_then_counts_per_reason) {
  const auto loaded = load_sigma_rules({}, k_dir + "/rules");
  const std::vector<schema_profile> shapes = {schema_profile::windows};
  std::ostringstream out;
  write_coverage(check_coverage(loaded.rules, shapes), out);
  const std::string text = out.str();
  EXPECT_NE(text.find("unreachable.yml:2: rule " + id(11) +
                      ": never fires: logsource service=dhcp unmapped: no configured input shape gives it\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("coverage: 7 of 12 rules reachable, 5 never fire (input shapes: windows)\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("coverage: product not produced: 2 rules (aws 1, linux 1)\n"), std::string::npos) << text;
}

// The measurement docs/sigma.md reports: SigmaHQ's Windows rules on the default shapes.
TEST(sigma_coverage, sigmahq_windows_rules_that_never_fire_are_the_unmapped_services_and_categories) {
  const std::string dir = std::string(COUNTERSIGN_SHARED_DIR) + "/sigmahq/rules/windows";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is not there";
  const auto loaded = load_sigma_rules({}, dir);
  const auto report = check_coverage(loaded.rules, configured_shapes(config_of("{}")));
  std::map<coverage_reason, std::size_t> by_reason;
  std::map<std::string, std::size_t> by_subject;
  for (const auto& u : report.unreachable) {
    ++by_reason[u.reason];
    ++by_subject[u.subject];
  }
  EXPECT_EQ(loaded.rules.size(), 2402u);
  // Every service SigmaHQ names is mapped; what is left are categories no Windows event
  // log carries (EDR file telemetry).
  EXPECT_EQ(report.unreachable.size(), 8u);
  EXPECT_EQ(by_reason[coverage_reason::service], 0u);
  EXPECT_EQ(by_reason[coverage_reason::category], 8u);
  EXPECT_EQ(by_subject["file_access"], 7u);
  EXPECT_EQ(by_subject["file_rename"], 1u);
}

}  // namespace
}  // namespace sigma_coverage_test
}  // namespace countersign::processor
