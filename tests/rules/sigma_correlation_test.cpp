// Sigma correlation rules (rules/src/sigma/correlation*.cpp): loading and checking them
// with FILE:LINE diagnostics, and the streaming evaluator over each type of the
// specification, with its own examples rewritten as fixtures: out-of-order and late
// events, the state restored mid-window, eviction, and `generate`.
#include <countersign/rules/sigma/correlation.hpp>

#include "sigma/correlation_parse.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace countersign::rules::sigma {
namespace sigma_correlation_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::int64_t k_t0 = 1'790'000'000'000;  // 2026-09-21, ms
constexpr std::int64_t k_s = 1000;
constexpr std::int64_t k_min = 60 * k_s;

struct map_event final : sigma_event {
  std::map<std::string, std::string, std::less<>> fields;
  std::optional<std::string_view> field(std::string_view name) const override {
    const auto it = fields.find(name);
    if (it == fields.end()) return std::nullopt;
    return std::string_view(it->second);
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (const auto& [k, v] : fields) fn(v);
  }
};

// Loads YAML (one file), links the correlations and builds the set; diagnostics kept.
struct loaded {
  load_result res;
  std::vector<diagnostic> diags;
  std::shared_ptr<const correlation_set> set;
};

loaded load(const std::string& yaml, const std::string& file = "c.yml") {
  loaded l;
  l.res = load_rules(yaml, file);
  l.diags = l.res.diagnostics;
  l.res.skipped += link_correlations(l.res.rules, l.res.correlations, l.diags);
  l.set = std::make_shared<const correlation_set>(l.res.correlations, l.res.rules);
  return l;
}

std::vector<std::string> texts(const std::vector<diagnostic>& d) {
  std::vector<std::string> out;
  for (const auto& x : d) out.push_back(x.text());
  return out;
}

// One input event: base rule (by name, as the fixtures' correlations refer to them),
// time, fields, identity.
struct ev {
  std::string rule;
  std::int64_t time;
  std::map<std::string, std::string, std::less<>> fields;
  std::string id;
};

// Feeds events in order; returns every raised alert.
std::vector<correlation_alert> run(correlation_evaluator& e, const loaded& l, const std::vector<ev>& events) {
  std::vector<correlation_alert> out;
  for (const auto& x : events) {
    map_event me;
    me.fields = x.fields;
    std::string_view rule_id;
    for (const auto& r : l.res.rules)
      if (r.name == x.rule || r.id == x.rule) rule_id = r.id;
    e.on_match({rule_id, x.rule, x.time, x.id, &me}, out);
  }
  return out;
}

std::vector<std::string> ids(const std::vector<correlation_alert>& a) {
  std::vector<std::string> out;
  for (const auto& x : a) out.push_back(x.id);
  return out;
}

std::string base_rule(const std::string& name, const std::string& id, const std::string& event_id) {
  return "title: " + name + "\nid: " + id + "\nname: " + name +
         "\nlogsource: {product: windows, service: security}\n"
         "detection:\n  sel:\n    EventID: " +
         event_id + "\n  condition: sel\n";
}

// ---------------------------------------------------------------------------------------
// Loading and checking

// The specification's closing example (failed logons then a success), as our fixture.
const std::string k_chain_yaml =
    "title: Failed logons then success\n"     // 1
    "id: corr-outer\n"                        // 2
    "correlation:\n"                          // 3
    "  type: temporal_ordered\n"              // 4
    "  rules:\n"                              // 5
    "    - many_failures\n"                   // 6
    "    - logon_ok\n"                        // 7
    "  group-by:\n"                           // 8
    "    - User\n"                            // 9
    "  timespan: 10m\n"                       // 10
    "level: high\n"                           // 11
    "---\n"                                   // 12
    "title: Many failed logons\n"             // 13
    "id: corr-inner\n"                        // 14
    "name: many_failures\n"                   // 15
    "correlation:\n"                          // 16
    "  type: event_count\n"                   // 17
    "  rules:\n"                              // 18
    "    - logon_failed\n"                    // 19
    "  group-by:\n"                           // 20
    "    - User\n"                            // 21
    "  timespan: 10m\n"                       // 22
    "  condition:\n"                          // 23
    "    gte: 4\n"                            // 24
    "---\n" +
    base_rule("logon_failed", "base-failed", "4625") + "---\n" + base_rule("logon_ok", "base-ok", "4624");

// The events of that example: four failed logons of admin, 20 s apart, then a success
// at two minutes.
std::vector<ev> failures_then_success() {
  std::vector<ev> events;
  for (int i = 0; i < 4; ++i)
    events.push_back({"logon_failed", k_t0 + i * 20 * k_s, {{"User", "admin"}}, "f" + std::to_string(i)});
  events.push_back({"logon_ok", k_t0 + 2 * k_min, {{"User", "admin"}}, "ok"});
  return events;
}

TEST(sigma_correlation_load, the_specifications_chained_example_loads_with_names_and_defaults) {
  const auto l = load(k_chain_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  ASSERT_EQ(l.res.rules.size(), 2U);
  EXPECT_EQ(l.res.rules[0].name, "logon_failed");
  ASSERT_EQ(l.res.correlations.size(), 2U);
  const auto& outer = l.res.correlations[0];
  EXPECT_EQ(outer.type, correlation_type::temporal_ordered);
  EXPECT_THAT(outer.rules, ElementsAre("many_failures", "logon_ok"));
  EXPECT_THAT(outer.rule_lines, ElementsAre(6, 7));
  EXPECT_THAT(outer.group_by, ElementsAre("User"));
  EXPECT_EQ(outer.timespan_ms, 10 * k_min);
  EXPECT_FALSE(outer.condition_given);
  EXPECT_EQ(outer.condition.gte, 2U) << "temporal without a condition: every referenced rule";
  EXPECT_FALSE(outer.generate);
  EXPECT_EQ(outer.level, "high");
  EXPECT_EQ(outer.line, 1);
  const auto& inner = l.res.correlations[1];
  EXPECT_EQ(inner.name, "many_failures");
  EXPECT_EQ(inner.condition.gte, 4U);
  EXPECT_EQ(inner.line, 13);
}

TEST(sigma_correlation_load, timespans_take_s_m_h_d_and_nothing_else) {
  EXPECT_EQ(detail::parse_timespan("30s"), 30 * k_s);
  EXPECT_EQ(detail::parse_timespan("90m"), 90 * k_min);
  EXPECT_EQ(detail::parse_timespan("2h"), 2 * 60 * k_min);
  EXPECT_EQ(detail::parse_timespan("1d"), 24 * 60 * k_min);
  for (const char* bad : {"", "m", "0m", "-5m", "5", "5M", "2w", "1.5h", "5 m", "99999999d"})
    EXPECT_FALSE(detail::parse_timespan(bad).has_value()) << bad;
}

TEST(sigma_correlation_load, conditions_hold_as_ranges) {
  count_condition c;
  c.gt = 100;
  c.lte = 200;
  EXPECT_FALSE(c.holds(100));
  EXPECT_TRUE(c.holds(101));
  EXPECT_TRUE(c.holds(200));
  EXPECT_FALSE(c.holds(201));
  EXPECT_TRUE(c.bounded_above());
  EXPECT_EQ(c.lower(), 101U);
}

TEST(sigma_correlation_check, each_problem_is_reported_with_its_line) {
  const std::string yaml =
      "title: a\n"                      // 1
      "id: c-a\n"                       // 2
      "correlation:\n"                  // 3
      "  type: event_tally\n"           // 4
      "  rules: [x]\n"                  // 5
      "  group-by: [Computer]\n"        // 6
      "  timespan: 1h\n"                // 7
      "  condition: {gte: 1}\n"         // 8
      "---\n"                           // 9
      "title: b\n"                      // 10
      "id: c-b\n"                       // 11
      "correlation:\n"                  // 12
      "  type: event_count\n"           // 13
      "  rules: [x]\n"                  // 14
      "  group-by: [Computer]\n"        // 15
      "  timespan: 1 hour\n"            // 16
      "  condition: {gte: 1}\n"         // 17
      "---\n"                           // 18
      "title: c\n"                      // 19
      "id: c-c\n"                       // 20
      "correlation:\n"                  // 21
      "  type: value_count\n"           // 22
      "  rules: [x]\n"                  // 23
      "  timespan: 1h\n"                // 24
      "  condition: {field: U, gte: 3}\n"  // 25
      "---\n"                           // 26
      "title: d\n"                      // 27
      "id: c-d\n"                       // 28
      "correlation:\n"                  // 29
      "  type: event_count\n"           // 30
      "  rules: [x]\n"                  // 31
      "  group-by: [Computer]\n"        // 32
      "  timespan: 1h\n"                // 33
      "  condition:\n"                  // 34
      "    more_than: 3\n"              // 35
      "---\n"                           // 36
      "title: e\n"                      // 37
      "id: c-e\n"                       // 38
      "correlation:\n"                  // 39
      "  type: event_count\n"           // 40
      "  rules: [x]\n"                  // 41
      "  group-by: [Computer]\n"        // 42
      "  timespan: 1h\n"                // 43
      "---\n"                           // 44
      "title: f\n"                      // 45
      "id: c-f\n"                       // 46
      "correlation:\n"                  // 47
      "  type: event_count\n"           // 48
      "  rules: [x]\n"                  // 49
      "  group-by: [Computer]\n"        // 50
      "  timespan: 1h\n"                // 51
      "  condition: {gte: -2}\n"        // 52
      "---\n"                           // 53
      "title: g\n"                      // 54
      "id: c-g\n"                       // 55
      "correlation:\n"                  // 56
      "  type: value_count\n"           // 57
      "  rules: [x]\n"                  // 58
      "  group-by: [Computer]\n"        // 59
      "  timespan: 1h\n"                // 60
      "  condition: {gte: 3}\n"         // 61
      "---\n"                           // 62
      "title: h\n"                      // 63
      "id: c-h\n"                       // 64
      "correlation:\n"                  // 65
      "  type: event_count\n"           // 66
      "  rules: [x]\n"                  // 67
      "  group-by: [Computer]\n"        // 68
      "  timespan: 1h\n"                // 69
      "  condition: {gte: 5, lt: 3}\n"  // 70
      "  groupby: [User]\n";            // 71
  const auto l = load(yaml, "bad.yml");
  EXPECT_TRUE(l.res.correlations.empty());
  EXPECT_EQ(l.res.skipped, 8U);
  const auto got = texts(l.diags);
  EXPECT_THAT(got,
              ElementsAre("bad.yml:4: rule c-a: unknown correlation type 'event_tally' (event_count, value_count, "
                          "temporal, temporal_ordered)",
                          "bad.yml:16: rule c-b: bad timespan '1 hour': a positive number followed by s, m, h or d "
                          "(e.g. 90m)",
                          "bad.yml:21: rule c-c: missing 'group-by' (required for value_count)",
                          "bad.yml:35: rule c-d: unknown condition 'more_than' (gt, gte, lt, lte, eq)",
                          "bad.yml:39: rule c-e: missing 'condition' (required for event_count)",
                          "bad.yml:52: rule c-f: condition 'gte: -2': the count must be a whole number, 0 or more",
                          "bad.yml:61: rule c-g: value_count needs 'field' in 'condition' (the field whose distinct "
                          "values are counted)",
                          "bad.yml:71: rule c-h: unknown key 'groupby' in 'correlation'",
                          "bad.yml:70: rule c-h: 'condition' can never hold (no count satisfies every bound)"));
  for (const auto& d : l.diags) EXPECT_EQ(d.sev, diagnostic::severity::error) << d.text();
}

TEST(sigma_correlation_check, references_are_checked_across_rules_and_correlations) {
  const std::string yaml =
      "title: unknown ref\n"                          // 1
      "id: c-1\n"                                     // 2
      "correlation:\n"                                // 3
      "  type: temporal\n"                            // 4
      "  rules:\n"                                    // 5
      "    - logon_ok\n"                              // 6
      "    - no_such_rule\n"                          // 7
      "  group-by: [User]\n"                          // 8
      "  timespan: 5m\n"                              // 9
      "---\n"                                         // 10
      "title: twice\n"                                // 11
      "id: c-2\n"                                     // 12
      "correlation:\n"                                // 13
      "  type: temporal\n"                            // 14
      "  rules: [logon_ok, base-ok]\n"                // 15
      "  group-by: [User]\n"                          // 16
      "  timespan: 5m\n"                              // 17
      "---\n"                                         // 18
      "title: loop one\n"                             // 19
      "id: c-3\n"                                     // 20
      "correlation:\n"                                // 21
      "  type: temporal\n"                            // 22
      "  rules: [c-4, logon_ok]\n"                    // 23
      "  group-by: [User]\n"                          // 24
      "  timespan: 5m\n"                              // 25
      "---\n"                                         // 26
      "title: loop two\n"                             // 27
      "id: c-4\n"                                     // 28
      "correlation:\n"                                // 29
      "  type: temporal\n"                            // 30
      "  rules: [c-3, logon_ok]\n"                    // 31
      "  group-by: [User]\n"                          // 32
      "  timespan: 5m\n"                              // 33
      "---\n"                                         // 34
      "title: alias of a stranger\n"                  // 35
      "id: c-5\n"                                     // 36
      "correlation:\n"                                // 37
      "  type: temporal\n"                            // 38
      "  rules: [logon_ok]\n"                         // 39
      "  group-by: [ip]\n"                            // 40
      "  timespan: 5m\n"                              // 41
      "  aliases:\n"                                  // 42
      "    ip:\n"                                     // 43
      "      other_rule: source.ip\n"                 // 44
      "---\n"                                         // 45
      "title: refers to a broken one\n"               // 46
      "id: c-6\n"                                     // 47
      "correlation:\n"                                // 48
      "  type: event_count\n"                         // 49
      "  rules: [c-1]\n"                              // 50
      "  group-by: [User]\n"                          // 51
      "  timespan: 5m\n"                              // 52
      "  condition: {gte: 2}\n"                       // 53
      "---\n" +                                       // 54
      base_rule("logon_ok", "base-ok", "4624");
  const auto l = load(yaml, "refs.yml");
  EXPECT_TRUE(l.res.correlations.empty()) << l.res.correlations.size();
  EXPECT_THAT(texts(l.diags),
              ElementsAre("refs.yml:7: rule c-1: unknown rule 'no_such_rule': no loaded rule or correlation has that "
                          "id or name",
                          "refs.yml:15: rule c-2: rule 'base-ok' is referred to twice (by its id and its name)",
                          "refs.yml:23: rule c-3: the chain of correlations loops back to this one",
                          "refs.yml:31: rule c-4: the chain of correlations loops back to this one",
                          "refs.yml:43: rule c-5: alias 'ip' names rule 'other_rule', which is not one of the rules "
                          "this correlation refers to",
                          "refs.yml:50: rule c-6: refers to correlation 'c-1', which is not loaded"));
}

TEST(sigma_correlation_check, metric_types_of_later_versions_are_warnings) {
  const auto l = load(
      "title: sum\nid: c-s\ncorrelation:\n  type: value_sum\n  rules: [x]\n  group-by: [A]\n  timespan: 1h\n"
      "  condition: {gte: 1, field: Bytes}\n");
  ASSERT_EQ(l.diags.size(), 1U);
  EXPECT_EQ(l.diags[0].sev, diagnostic::severity::warning);
  EXPECT_EQ(l.diags[0].text(), "c.yml:4: rule c-s: warning: correlation type 'value_sum' is not supported; rule skipped");
}

// ---------------------------------------------------------------------------------------
// event_count: the specification's "many failed logons to one host" (>= 100 an hour),
// here >= 5 in 10 minutes.

const std::string k_event_count_yaml =
    "title: Many failed logons on one host\n"
    "id: corr-ec\n"
    "correlation:\n"
    "  type: event_count\n"
    "  rules: [logon_failed]\n"
    "  group-by: [ComputerName]\n"
    "  timespan: 10m\n"
    "  condition:\n"
    "    gte: 5\n"
    "---\n" +
    base_rule("logon_failed", "base-failed", "4625");

std::vector<ev> failures(const std::string& host, std::int64_t start, int n, std::int64_t step,
                         const std::string& prefix = "e") {
  std::vector<ev> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"logon_failed", start + i * step, {{"ComputerName", host}}, prefix + host + std::to_string(i)});
  return out;
}

TEST(sigma_correlation_event_count, fires_once_per_burst_at_the_event_that_reaches_the_count) {
  const auto l = load(k_event_count_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  auto events = failures("PC1", k_t0, 8, 30 * k_s);  // 8 within 3.5 minutes
  auto second_host = failures("PC2", k_t0, 4, 30 * k_s);  // 4: not enough
  events.insert(events.end(), second_host.begin(), second_host.end());
  const auto alerts = run(e, l, events);
  ASSERT_EQ(alerts.size(), 1U);
  const auto& a = alerts[0];
  EXPECT_EQ(a.rule->id, "corr-ec");
  EXPECT_THAT(a.group, ElementsAre(std::pair<std::string, std::string>("ComputerName", "PC1")));
  EXPECT_EQ(a.window_start_ms, k_t0);
  EXPECT_EQ(a.window_end_ms, k_t0 + 10 * k_min);
  EXPECT_EQ(a.event_time_ms, k_t0 + 4 * 30 * k_s) << "the fifth event";
  EXPECT_EQ(a.count, 5U);
  EXPECT_EQ(a.id.size(), 32U);
  // A burst after the window ended is a new alert, with another id.
  const auto later = run(e, l, failures("PC1", k_t0 + 20 * k_min, 5, k_s, "late"));
  ASSERT_EQ(later.size(), 1U);
  EXPECT_NE(later[0].id, a.id);
  EXPECT_EQ(later[0].window_start_ms, k_t0 + 20 * k_min);
  EXPECT_EQ(e.stats().alerts, 2U);
}

TEST(sigma_correlation_event_count, out_of_order_events_give_the_same_alert_id) {
  const auto l = load(k_event_count_yaml);
  auto events = failures("PC1", k_t0, 5, 40 * k_s);
  memory_window_store s1;
  correlation_evaluator in_order(l.set, s1);
  const auto a = run(in_order, l, events);
  std::ranges::reverse(events);
  memory_window_store s2;
  correlation_evaluator reversed(l.set, s2);
  const auto b = run(reversed, l, events);
  ASSERT_EQ(a.size(), 1U);
  EXPECT_EQ(ids(a), ids(b));
  EXPECT_EQ(b[0].window_start_ms, k_t0);
  EXPECT_EQ(reversed.stats().late_dropped, 0U) << "160 s behind: within the default 5 minutes";
}

TEST(sigma_correlation_event_count, an_event_beyond_the_allowed_lateness_is_dropped_and_counted) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  correlation_config cfg;
  cfg.allowed_lateness_ms = 60 * k_s;
  correlation_evaluator e(l.set, store, cfg);
  // Four on time, a newer one from elsewhere moves the watermark, the fifth comes 3 minutes late.
  auto events = failures("PC1", k_t0, 4, 10 * k_s);
  events.push_back({"logon_failed", k_t0 + 4 * k_min, {{"ComputerName", "PC9"}}, "other"});
  events.push_back({"logon_failed", k_t0 + 50 * k_s, {{"ComputerName", "PC1"}}, "late-one"});
  EXPECT_TRUE(run(e, l, events).empty());
  EXPECT_EQ(e.stats().late_dropped, 1U);
  EXPECT_EQ(e.watermark(), k_t0 + 4 * k_min);
  // Within the lateness it counts.
  const auto ok = run(e, l, {{"logon_failed", k_t0 + 3 * k_min + 30 * k_s, {{"ComputerName", "PC1"}}, "in-time"}});
  ASSERT_EQ(ok.size(), 1U);
  EXPECT_EQ(ok[0].count, 5U);
}

TEST(sigma_correlation_event_count, a_redelivered_event_is_counted_once) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  auto events = failures("PC1", k_t0, 4, 10 * k_s);
  const auto again = events;
  events.insert(events.end(), again.begin(), again.end());
  EXPECT_TRUE(run(e, l, events).empty());
  EXPECT_EQ(e.stats().duplicates, 4U);
}

TEST(sigma_correlation_event_count, an_event_without_the_group_by_field_is_not_counted) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  EXPECT_TRUE(run(e, l, {{"logon_failed", k_t0, {{"Other", "x"}}, "1"}}).empty());
  EXPECT_EQ(e.stats().missing_field, 1U);
  EXPECT_EQ(e.groups(), 0U);
}

TEST(sigma_correlation_event_count, an_upper_bounded_condition_is_judged_when_the_window_closes) {
  // Between 2 and 3 events in 10 minutes (a range with an upper bound).
  const std::string yaml =
      "title: A few failed logons\nid: corr-range\ncorrelation:\n  type: event_count\n  rules: [logon_failed]\n"
      "  group-by: [ComputerName]\n  timespan: 10m\n  condition:\n    gte: 2\n    lte: 3\n---\n" +
      base_rule("logon_failed", "base-failed", "4625");
  const auto l = load(yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_config cfg;
  cfg.allowed_lateness_ms = k_min;
  correlation_evaluator e(l.set, store, cfg);
  auto events = failures("PC1", k_t0, 3, k_min);   // 3 in range
  auto many = failures("PC2", k_t0, 6, k_min);     // 6: too many
  events.insert(events.end(), many.begin(), many.end());
  EXPECT_TRUE(run(e, l, events).empty()) << "nothing before the windows close";
  std::vector<correlation_alert> out;
  e.advance_watermark(k_t0 + 10 * k_min + k_min, out);  // window end + lateness: not yet past
  EXPECT_TRUE(out.empty());
  e.advance_watermark(k_t0 + 10 * k_min + k_min + 1, out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].group[0].second, "PC1");
  EXPECT_EQ(out[0].count, 3U);
  EXPECT_EQ(out[0].window_start_ms, k_t0);
  // PC2's later windows (starting at its 4th event) hold 3 events too, judged as they close.
  e.flush(out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[1].group[0].second, "PC2");
  EXPECT_EQ(out[1].window_start_ms, k_t0 + 3 * k_min);
  EXPECT_EQ(e.groups(), 0U);
  EXPECT_EQ(store.size(), 1U) << "only the watermark record is left";
}

// ---------------------------------------------------------------------------------------
// value_count: the specification's "failed logons with many different accounts per source
// and destination in a day", here >= 3 distinct accounts.

const std::string k_value_count_yaml =
    "title: Failed logons for many accounts\n"
    "id: corr-vc\n"
    "correlation:\n"
    "  type: value_count\n"
    "  rules: [logon_failed]\n"
    "  group-by: [ComputerName, WorkstationName]\n"
    "  timespan: 1d\n"
    "  condition:\n"
    "    field: User\n"
    "    gte: 3\n"
    "---\n" +
    base_rule("logon_failed", "base-failed", "4625");

TEST(sigma_correlation_value_count, counts_distinct_values_per_group) {
  const auto l = load(k_value_count_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  const auto at = [](int i, const std::string& ws, const std::string& user) {
    return ev{"logon_failed", k_t0 + i * k_min, {{"ComputerName", "DC1"}, {"WorkstationName", ws}, {"User", user}},
              "v" + std::to_string(i)};
  };
  const auto alerts = run(e, l,
                          {at(0, "WS1", "alice"), at(1, "WS1", "alice"), at(2, "WS1", "bob"), at(3, "WS2", "carol"),
                           at(4, "WS1", "bob"), at(5, "WS1", "dave")});
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_THAT(alerts[0].group, ElementsAre(std::pair<std::string, std::string>("ComputerName", "DC1"),
                                           std::pair<std::string, std::string>("WorkstationName", "WS1")));
  EXPECT_EQ(alerts[0].count, 3U);
  EXPECT_EQ(alerts[0].events, 5U);
  EXPECT_EQ(alerts[0].event_time_ms, k_t0 + 5 * k_min);
}

// ---------------------------------------------------------------------------------------
// temporal: the specification's three reconnaissance commands, any order, same host and
// user within 5 minutes.

const std::string k_temporal_yaml =
    "title: Reconnaissance burst\n"
    "id: corr-temporal\n"
    "correlation:\n"
    "  type: temporal\n"
    "  rules: [recon_a, recon_b, recon_c]\n"
    "  group-by: [ComputerName, User]\n"
    "  timespan: 5m\n"
    "---\n" +
    base_rule("recon_a", "base-a", "1") + "---\n" + base_rule("recon_b", "base-b", "2") + "---\n" +
    base_rule("recon_c", "base-c", "3");

ev recon(const std::string& rule, std::int64_t t, const std::string& user, const std::string& id) {
  return {rule, t, {{"ComputerName", "PC1"}, {"User", user}}, id};
}

TEST(sigma_correlation_temporal, every_rule_in_any_order_within_the_timespan) {
  const auto l = load(k_temporal_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  const auto alerts = run(e, l,
                          {recon("recon_c", k_t0, "bob", "1"), recon("recon_a", k_t0 + k_min, "bob", "2"),
                           recon("recon_b", k_t0 + 2 * k_min, "eve", "3"),  // another user
                           recon("recon_a", k_t0 + 3 * k_min, "bob", "4"),
                           recon("recon_b", k_t0 + 4 * k_min, "bob", "5")});
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].count, 3U);
  EXPECT_EQ(alerts[0].window_start_ms, k_t0);
  EXPECT_EQ(alerts[0].event_time_ms, k_t0 + 4 * k_min);
}

TEST(sigma_correlation_temporal, too_far_apart_does_not_fire) {
  const auto l = load(k_temporal_yaml);
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  EXPECT_TRUE(run(e, l,
                  {recon("recon_a", k_t0, "bob", "1"), recon("recon_b", k_t0 + 3 * k_min, "bob", "2"),
                   recon("recon_c", k_t0 + 5 * k_min + 1, "bob", "3")})
                  .empty());
}

// ---------------------------------------------------------------------------------------
// temporal_ordered, and the specification's chained example.

TEST(sigma_correlation_temporal_ordered, only_in_the_order_of_the_rules) {
  const std::string yaml =
      "title: Failed then success\nid: corr-to\ncorrelation:\n  type: temporal_ordered\n"
      "  rules: [logon_failed, logon_ok]\n  group-by: [User]\n  timespan: 1h\n---\n" +
      base_rule("logon_failed", "base-failed", "4625") + "---\n" + base_rule("logon_ok", "base-ok", "4624");
  const auto l = load(yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  // alice: success first, failure after: no. bob: failure then success: yes.
  const auto alerts = run(e, l,
                          {{"logon_ok", k_t0, {{"User", "alice"}}, "1"},
                           {"logon_failed", k_t0 + k_min, {{"User", "alice"}}, "2"},
                           {"logon_failed", k_t0 + 2 * k_min, {{"User", "bob"}}, "3"},
                           {"logon_ok", k_t0 + 3 * k_min, {{"User", "bob"}}, "4"}});
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].group[0].second, "bob");
  EXPECT_EQ(alerts[0].count, 2U);
  // The success arriving before the failure it follows (out of order) still fires.
  memory_window_store store2;
  correlation_evaluator e2(l.set, store2);
  const auto late = run(e2, l,
                        {{"logon_ok", k_t0 + 3 * k_min, {{"User", "bob"}}, "4"},
                         {"logon_failed", k_t0 + 2 * k_min, {{"User", "bob"}}, "3"}});
  EXPECT_EQ(ids(late), ids(alerts));
}

TEST(sigma_correlation_temporal_ordered, the_chained_example_fires_the_outer_rule_only) {
  const auto l = load(k_chain_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  const std::vector<ev> events = failures_then_success();
  const auto alerts = run(e, l, events);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].rule->id, "corr-outer");
  EXPECT_EQ(alerts[0].window_start_ms, k_t0 + 60 * k_s) << "the inner alert's time: its fourth event";
  EXPECT_EQ(e.stats().alerts, 2U);
  EXPECT_EQ(e.stats().alerts_silenced, 1U) << "the inner event_count has no generate: true";
  // A success before the burst completes does not count.
  memory_window_store store2;
  correlation_evaluator e2(l.set, store2);
  std::vector<ev> early = {{"logon_ok", k_t0 - k_s, {{"User", "admin"}}, "ok0"}};
  early.insert(early.end(), events.begin(), events.end() - 1);
  EXPECT_TRUE(run(e2, l, early).empty());
}

TEST(sigma_correlation_temporal_ordered, with_generate_true_the_inner_alert_is_raised_too) {
  std::string yaml = k_chain_yaml;
  yaml.insert(yaml.find("level: high"), "generate: true\n");
  const auto l = load(yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  EXPECT_TRUE(l.set->raises_alert("corr-inner", "many_failures"));
  EXPECT_TRUE(l.set->raises_alert("base-ok", "logon_ok"));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  const std::vector<ev> events = failures_then_success();
  const auto alerts = run(e, l, events);
  ASSERT_EQ(alerts.size(), 2U);
  EXPECT_EQ(alerts[0].rule->id, "corr-inner");
  EXPECT_EQ(alerts[0].count, 4U);
  EXPECT_EQ(alerts[1].rule->id, "corr-outer");
  EXPECT_EQ(e.stats().alerts_silenced, 0U);
}

// ---------------------------------------------------------------------------------------
// aliases: the specification's internal_error / new_network_connection example.

TEST(sigma_correlation_aliases, group_by_reads_a_different_field_per_rule) {
  const std::string yaml =
      "title: Error then connection between the same pair\nid: corr-alias\ncorrelation:\n  type: temporal\n"
      "  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip, remote_ip]\n"
      "  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n"
      "      new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n"
      "      new_network_connection: destination.ip\n---\n"
      "title: internal error\nid: base-err\nname: internal_error\nlogsource: {category: webserver}\n"
      "detection:\n  sel:\n    http.response.status_code: 500\n  condition: sel\n---\n"
      "title: connection\nid: base-conn\nname: new_network_connection\nlogsource: {category: network_connection}\n"
      "detection:\n  sel:\n    event.type: connection\n  condition: sel\n";
  const auto l = load(yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  memory_window_store store;
  correlation_evaluator e(l.set, store);
  const auto alerts = run(
      e, l,
      {{"internal_error", k_t0, {{"destination.ip", "10.0.0.5"}, {"source.ip", "203.0.113.9"}}, "1"},
       {"new_network_connection", k_t0 + 2 * k_s, {{"source.ip", "10.0.0.6"}, {"destination.ip", "203.0.113.9"}}, "2"},
       {"new_network_connection", k_t0 + 3 * k_s, {{"source.ip", "10.0.0.5"}, {"destination.ip", "203.0.113.9"}}, "3"}});
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_THAT(alerts[0].group, ElementsAre(std::pair<std::string, std::string>("internal_ip", "10.0.0.5"),
                                           std::pair<std::string, std::string>("remote_ip", "203.0.113.9")));
  EXPECT_EQ(alerts[0].event_time_ms, k_t0 + 3 * k_s);
}

// ---------------------------------------------------------------------------------------
// generate

TEST(sigma_correlation_generate, referenced_rules_raise_their_own_alerts_only_with_generate_true) {
  const auto quiet = load(k_event_count_yaml);
  EXPECT_FALSE(quiet.set->raises_alert("base-failed", "logon_failed"));
  EXPECT_TRUE(quiet.set->raises_alert("base-other", "other"));
  EXPECT_TRUE(quiet.set->raises_alert("corr-ec", "")) << "nothing refers to the correlation itself";
  std::string loud_yaml = k_event_count_yaml;
  loud_yaml.insert(loud_yaml.find("correlation:"), "generate: true\n");
  const auto loud = load(loud_yaml);
  ASSERT_TRUE(loud.diags.empty()) << testing::PrintToString(texts(loud.diags));
  EXPECT_TRUE(loud.res.correlations[0].generate);
  EXPECT_TRUE(loud.set->raises_alert("base-failed", "logon_failed"));
  // The chained example: the inner correlation and both base rules are kept back.
  const auto chain = load(k_chain_yaml);
  EXPECT_FALSE(chain.set->raises_alert("corr-inner", "many_failures"));
  EXPECT_FALSE(chain.set->raises_alert("base-ok", "logon_ok"));
  EXPECT_TRUE(chain.set->raises_alert("corr-outer", ""));
}

// ---------------------------------------------------------------------------------------
// State: restore mid-window, eviction, stale records.

// A mix of every type on several groups, some events out of order, one late, one
// redelivered; the upper-bounded correlation needs the watermark to pass.
const std::string k_mix_yaml =
    "title: many failures\nid: m-ec\ncorrelation:\n  type: event_count\n  rules: [logon_failed]\n"
    "  group-by: [ComputerName]\n  timespan: 10m\n  condition: {gte: 3}\n---\n"
    "title: few failures\nid: m-few\ncorrelation:\n  type: event_count\n  rules: [logon_failed]\n"
    "  group-by: [ComputerName]\n  timespan: 5m\n  condition: {lt: 2}\n---\n"
    "title: many accounts\nid: m-vc\ncorrelation:\n  type: value_count\n  rules: [logon_failed]\n"
    "  group-by: [ComputerName]\n  timespan: 10m\n  condition: {field: User, gte: 2}\n---\n"
    "title: failed then ok\nid: m-to\ncorrelation:\n  type: temporal_ordered\n  rules: [logon_failed, logon_ok]\n"
    "  group-by: [ComputerName]\n  timespan: 10m\n---\n" +
    base_rule("logon_failed", "base-failed", "4625") + "---\n" + base_rule("logon_ok", "base-ok", "4624");

std::vector<ev> mix_events() {
  std::vector<ev> out;
  const auto f = [&](std::int64_t t, const std::string& host, const std::string& user, const std::string& id) {
    out.push_back({"logon_failed", t, {{"ComputerName", host}, {"User", user}}, id});
  };
  const auto ok = [&](std::int64_t t, const std::string& host, const std::string& id) {
    out.push_back({"logon_ok", t, {{"ComputerName", host}, {"User", "x"}}, id});
  };
  f(k_t0, "A", "u1", "1");
  f(k_t0 + k_min, "B", "u1", "2");
  f(k_t0 + 30 * k_s, "A", "u2", "3");  // out of order
  ok(k_t0 + 2 * k_min, "A", "4");
  f(k_t0 + 3 * k_min, "C", "u1", "5");
  f(k_t0 + 4 * k_min, "A", "u1", "6");
  // (a restore happens here in the split run)
  f(k_t0 + 4 * k_min, "A", "u1", "6");  // redelivered
  f(k_t0 + 3 * k_min + 30 * k_s, "B", "u2", "7");
  ok(k_t0 + 5 * k_min, "B", "8");
  f(k_t0 + 9 * k_min, "B", "u3", "9");
  f(k_t0 + 20 * k_min, "D", "u1", "10");
  f(k_t0 + 2 * k_min, "A", "u3", "11");  // late: watermark 20 min, lateness 5
  f(k_t0 + 40 * k_min, "E", "u1", "12");
  return out;
}

TEST(sigma_correlation_state, a_restore_mid_window_gives_the_same_alerts_as_an_uninterrupted_run) {
  const auto l = load(k_mix_yaml);
  ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
  const auto events = mix_events();
  memory_window_store whole_store;
  correlation_evaluator whole(l.set, whole_store);
  auto expected = run(whole, l, events);
  whole.flush(expected);
  std::string listing;
  for (const auto& a : expected)
    listing += a.rule->id + " " + a.group[0].second + " +" + std::to_string((a.window_start_ms - k_t0) / k_s) + "s; ";
  // Worked out by hand: the lower-bounded ones fire as events come, `lt: 2` at window close
  // (C, D and E hold one event; A's and B's first windows hold two).
  EXPECT_EQ(listing,
            "m-vc A +0s; m-to A +0s; m-ec A +0s; m-vc B +60s; m-to B +60s; m-ec B +60s; m-few A +240s; "
            "m-few B +210s; m-few B +540s; m-few C +180s; m-few D +1200s; m-few E +2400s; ");
  EXPECT_EQ(whole.stats().late_dropped, 1U);
  EXPECT_EQ(whole.stats().duplicates, 4U) << "one event, four correlations";

  const auto split = events.begin() + 6;
  std::vector<correlation_alert> got;
  memory_window_store first_store;
  {
    correlation_evaluator first(l.set, first_store);
    got = run(first, l, {events.begin(), split});
  }
  // The records as bytes are all that carries over (a copy stands for RocksDB + changelog).
  memory_window_store restored_store = first_store;
  ASSERT_GT(restored_store.size(), 1U);
  correlation_evaluator second(l.set, restored_store);
  EXPECT_EQ(second.watermark(), k_t0 + 4 * k_min);
  EXPECT_EQ(second.stats().stale_records, 0U);
  const auto rest = run(second, l, {split, events.end()});
  got.insert(got.end(), rest.begin(), rest.end());
  second.flush(got);
  EXPECT_EQ(ids(got), ids(expected));
  EXPECT_EQ(second.stats().duplicates, 4U) << "the event redelivered after the restore";
  for (std::size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    EXPECT_EQ(got[i].rule->id, expected[i].rule->id);
    EXPECT_EQ(got[i].window_start_ms, expected[i].window_start_ms);
    EXPECT_EQ(got[i].count, expected[i].count);
  }
}

TEST(sigma_correlation_state, replaying_the_input_after_a_restore_raises_nothing_twice) {
  const auto l = load(k_event_count_yaml);
  const auto events = failures("PC1", k_t0, 6, 10 * k_s);
  memory_window_store store;
  std::vector<correlation_alert> first;
  {
    correlation_evaluator e(l.set, store);
    first = run(e, l, events);
  }
  ASSERT_EQ(first.size(), 1U);
  correlation_evaluator again(l.set, store);
  EXPECT_TRUE(run(again, l, events).empty());
  EXPECT_EQ(again.stats().duplicates, 6U);
}

TEST(sigma_correlation_state, the_oldest_group_is_evicted_beyond_max_groups) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  correlation_config cfg;
  cfg.max_groups = 2;
  correlation_evaluator e(l.set, store, cfg);
  (void)run(e, l,
            {{"logon_failed", k_t0, {{"ComputerName", "old"}}, "1"},
             {"logon_failed", k_t0 + k_s, {{"ComputerName", "mid"}}, "2"},
             {"logon_failed", k_t0 + 2 * k_s, {{"ComputerName", "new"}}, "3"}});
  EXPECT_EQ(e.groups(), 2U);
  EXPECT_EQ(e.stats().groups_evicted, 1U);
  EXPECT_EQ(store.size(), 3U) << "two groups and the watermark";
  // "old" starts over: four more events are not five.
  EXPECT_TRUE(run(e, l, failures("old", k_t0 + 3 * k_s, 4, k_s, "again")).empty());
}

TEST(sigma_correlation_state, groups_expire_once_no_window_can_use_them) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  correlation_config cfg;
  cfg.allowed_lateness_ms = k_min;
  correlation_evaluator e(l.set, store, cfg);
  (void)run(e, l, failures("PC1", k_t0, 2, k_s));
  EXPECT_EQ(e.groups(), 1U);
  std::vector<correlation_alert> out;
  e.advance_watermark(k_t0 + k_s + 11 * k_min + 1, out);  // newest + timespan + lateness passed
  EXPECT_EQ(e.groups(), 0U);
  EXPECT_EQ(e.stats().groups_expired, 1U);
}

TEST(sigma_correlation_state, records_of_a_changed_correlation_are_dropped_at_restore) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  {
    correlation_evaluator e(l.set, store);
    (void)run(e, l, failures("PC1", k_t0, 4, k_s));
  }
  std::string changed = k_event_count_yaml;
  changed.replace(changed.find("10m"), 3, "20m");
  const auto l2 = load(changed);
  correlation_evaluator e2(l2.set, store);
  EXPECT_EQ(e2.stats().stale_records, 1U);
  EXPECT_EQ(e2.groups(), 0U);
  EXPECT_TRUE(run(e2, l2, failures("PC1", k_t0 + 5 * k_s, 1, k_s, "x")).empty()) << "the old four are gone";
}

TEST(sigma_correlation_state, a_record_that_does_not_decode_is_counted_and_replaced) {
  const auto l = load(k_event_count_yaml);
  memory_window_store store;
  {
    correlation_evaluator e(l.set, store);
    (void)run(e, l, failures("PC1", k_t0, 1, k_s));
  }
  std::string key;
  store.for_each([&](std::string_view k, std::string_view) {
    if (k.starts_with("corr-ec")) key = std::string(k);
  });
  ASSERT_FALSE(key.empty());
  ASSERT_EQ(store.put(key, "\x01garbage", 0), window_store::status::ok);
  correlation_evaluator e2(l.set, store);
  EXPECT_EQ(e2.stats().corrupt_records, 1U);
  EXPECT_EQ(e2.groups(), 0U);
}

// ---------------------------------------------------------------------------------------
// Routed matches: a match taken apart at ingest, sent to the owner of its group, judged
// there; the same alerts as judging the match where it was read.

std::vector<routed_match> route_all(const loaded& l, const std::vector<ev>& events, std::size_t* missing = nullptr) {
  std::vector<routed_match> out;
  for (const auto& x : events) {
    map_event me;
    me.fields = x.fields;
    std::string_view rule_id;
    for (const auto& r : l.res.rules)
      if (r.name == x.rule || r.id == x.rule) rule_id = r.id;
    const std::size_t m = route_match(*l.set, {rule_id, x.rule, x.time, x.id, &me}, out);
    if (missing) *missing += m;
  }
  return out;
}

TEST(sigma_correlation_routed, routed_matches_raise_what_direct_matches_raise_for_every_type) {
  for (const auto* yaml : {&k_value_count_yaml, &k_temporal_yaml}) {
    const auto l = load(*yaml);
    ASSERT_TRUE(l.diags.empty()) << testing::PrintToString(texts(l.diags));
    std::vector<ev> events;
    for (int i = 0; i < 12; ++i) {
      const std::string rule = yaml == &k_value_count_yaml ? "logon_failed" : std::string("recon_") + static_cast<char>('a' + i % 3);
      events.push_back({rule, k_t0 + i * 20 * k_s,
                        {{"ComputerName", i % 2 ? "DC1" : "PC1"}, {"WorkstationName", "WS1"}, {"User", "u" + std::to_string(i % (yaml == &k_value_count_yaml ? 6 : 4))}},
                        "r" + std::to_string(i)});
    }
    memory_window_store direct_store, routed_store;
    correlation_evaluator direct(l.set, direct_store), routed(l.set, routed_store);
    const auto expected = run(direct, l, events);
    std::vector<correlation_alert> got;
    for (const auto& m : route_all(l, events)) {
      std::string bytes;
      encode_routed(m, bytes);
      routed_match back;
      ASSERT_TRUE(decode_routed(m.key, bytes, back));
      EXPECT_EQ(back.key, m.key);
      routed.on_routed(back, got);
    }
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(ids(got), ids(expected));
    EXPECT_EQ(routed.stats().matches, direct.stats().matches);
  }
}

TEST(sigma_correlation_routed, the_key_is_the_group_and_a_missing_field_is_not_routed) {
  const auto l = load(k_temporal_yaml);
  std::size_t missing = 0;
  const auto routed = route_all(l,
                                {recon("recon_a", k_t0, "alice", "1"), recon("recon_b", k_t0, "alice", "2"),
                                 recon("recon_a", k_t0, "bob", "3"), {"recon_c", k_t0, {{"User", "alice"}}, "4"}},
                                &missing);
  ASSERT_EQ(routed.size(), 3U);
  EXPECT_EQ(routed[0].key, routed[1].key) << "same host and user: one group";
  EXPECT_NE(routed[0].key, routed[2].key);
  EXPECT_EQ(routed[1].rule_index, 1U);
  EXPECT_EQ(missing, 1U) << "no ComputerName";
}

TEST(sigma_correlation_routed, malformed_and_stale_routed_matches_are_refused_and_counted) {
  const auto l = load(k_temporal_yaml);
  auto routed = route_all(l, {recon("recon_a", k_t0, "alice", "1")});
  ASSERT_EQ(routed.size(), 1U);
  std::string bytes;
  encode_routed(routed[0], bytes);
  routed_match m;
  EXPECT_FALSE(decode_routed(routed[0].key, bytes.substr(0, bytes.size() - 1), m)) << "truncated";
  EXPECT_FALSE(decode_routed(routed[0].key, bytes + "x", m)) << "trailing bytes";
  EXPECT_FALSE(decode_routed("no-group-separator", bytes, m));
  EXPECT_FALSE(decode_routed("", bytes, m));
  EXPECT_FALSE(decode_routed(routed[0].key, "\x07" + bytes.substr(1), m)) << "unknown version";

  memory_window_store store;
  correlation_evaluator e(l.set, store);
  std::vector<correlation_alert> out;
  routed_match stale = routed[0];
  stale.fingerprint ^= 1;  // the correlation changed between ingest and here
  e.on_routed(stale, out);
  routed_match unknown = routed[0];
  unknown.key = std::string("corr-gone\0", 10) + unknown.key.substr(unknown.key.find('\0') + 1);
  e.on_routed(unknown, out);
  routed_match bad_rule = routed[0];
  bad_rule.rule_index = 9;
  e.on_routed(bad_rule, out);
  EXPECT_EQ(e.stats().stale_matches, 3U);
  EXPECT_EQ(e.stats().matches, 0U);
  EXPECT_EQ(e.groups(), 0U);
}

}  // namespace
}  // namespace sigma_correlation_test
}  // namespace countersign::rules::sigma
