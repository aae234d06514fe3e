// sigma::rule_set (rules/src/sigma/rule_set.cpp) and its Aho-Corasick automaton
// (rules/src/sigma/aho_corasick.cpp): logsource admission, load-order hits, and the
// property that the literal prefilter never changes which rules match.
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/rules/sigma/sigma.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <array>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sigma/aho_corasick.hpp"
#include "sigma/hex_literals.hpp"

namespace countersign::rules::sigma {
namespace sigma_rule_set_test {  // one per file: the test programs are unity builds
namespace {

// Fields in a flat list; a field given as nullopt is present with a null value.
struct list_event final : sigma_event {
  std::vector<std::pair<std::string, std::optional<std::string>>> fields;

  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override {
    for (const auto& [k, v] : fields)
      if (k == name) return v ? std::optional<std::string_view>(*v) : std::nullopt;
    return std::nullopt;
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (const auto& f : fields)
      if (f.second) fn(*f.second);
  }
};

list_event event_of(std::vector<std::pair<std::string, std::optional<std::string>>> fields) {
  list_event e;
  e.fields = std::move(fields);
  return e;
}

rule_set load_set(const std::string& yaml) {
  auto res = load_rules(yaml, "rule_set_test.yml");
  for (const auto& d : res.diagnostics) ADD_FAILURE() << d.text();
  return rule_set(std::move(res.rules));
}

// One rule document: id, logsource lines (indented by 2, may be empty), detection block
// (indented by 2) and condition.
std::string doc(const std::string& id, const std::string& logsource, const std::string& detection,
                const std::string& condition = "sel") {
  return "---\ntitle: " + id + "\nid: " + id + "\nlogsource:\n" + (logsource.empty() ? "  {}\n" : logsource) +
         "detection:\n" + detection + "\n  condition: " + condition + "\n";
}

const std::string k_process = "  category: process_creation\n  product: windows\n";

std::vector<std::string> ids_of(const std::vector<const rule*>& hits) {
  std::vector<std::string> out;
  for (const rule* r : hits) out.push_back(r->id);
  return out;
}

std::vector<std::string> evaluate_ids(const rule_set& rs, const event_logsource& src, const sigma_event& ev,
                                      eval_counters* counters = nullptr) {
  std::vector<const rule*> hits;
  rs.evaluate(src, ev, hits, counters);
  return ids_of(hits);
}

// ---- logsource admission -------------------------------------------------------------

TEST(sigma_rule_set, logsource_fields_left_empty_admit_any_event) {
  const auto rs = load_set(doc("any", "", "  sel:\n    Image|endswith: '\\cmd.exe'") +
                           doc("windows", "  product: windows\n", "  sel:\n    Image|endswith: '\\cmd.exe'"));
  const auto ev = event_of({{"Image", "C:\\Windows\\System32\\cmd.exe"}});
  using v = std::vector<std::string>;
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "windows", "sysmon"}, ev), (v{"any", "windows"}));
  EXPECT_EQ(evaluate_ids(rs, {"image_load", "windows", ""}, ev), (v{"any", "windows"}));
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "linux", ""}, ev), (v{"any"}));
  EXPECT_EQ(evaluate_ids(rs, {"", "", ""}, ev), (v{"any"}));
}

TEST(sigma_rule_set, category_product_or_service_mismatch_is_not_admitted) {
  const std::string det = "  sel:\n    Image|endswith: '\\cmd.exe'";
  const auto rs = load_set(doc("proc", k_process, det) +
                           doc("ci", "  product: windows\n  service: codeintegrity-operational\n", det) +
                           doc("drv", "  category: driver_load\n  product: windows\n", det));
  const auto ev = event_of({{"Image", "C:\\Windows\\System32\\cmd.exe"}});
  using v = std::vector<std::string>;
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "windows", "sysmon"}, ev), (v{"proc"}));
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "linux", ""}, ev), (v{}));
  EXPECT_EQ(evaluate_ids(rs, {"driver_load", "windows", "sysmon"}, ev), (v{"drv"}));
  EXPECT_EQ(evaluate_ids(rs, {"", "windows", "codeintegrity-operational"}, ev), (v{"ci"}));
  EXPECT_EQ(evaluate_ids(rs, {"", "windows", "security"}, ev), (v{}));
}

TEST(sigma_rule_set, logsource_is_compared_case_insensitively) {
  const auto rs = load_set(
      doc("r", "  category: Process_Creation\n  product: Windows\n", "  sel:\n    Image|endswith: '\\cmd.exe'"));
  const auto ev = event_of({{"Image", "C:\\Windows\\System32\\cmd.exe"}});
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "windows", ""}, ev), std::vector<std::string>{"r"});
  EXPECT_EQ(evaluate_ids(rs, {"PROCESS_CREATION", "WINDOWS", ""}, ev), std::vector<std::string>{"r"});
}

TEST(sigma_rule_set, hits_are_appended_in_load_order) {
  std::string yaml;
  for (int i = 0; i < 5; ++i)
    yaml += doc("r" + std::to_string(i), i % 2 == 0 ? k_process : "",
                i == 3 ? "  sel:\n    Image: '*'" : "  sel:\n    Image|contains: 'cmd'");
  const auto rs = load_set(yaml);
  const auto ev = event_of({{"Image", "cmd.exe"}});
  std::vector<const rule*> hits{nullptr};  // appended to, never cleared
  rs.evaluate({"process_creation", "windows", ""}, ev, hits);
  ASSERT_EQ(hits.size(), 6U);
  EXPECT_EQ(hits[0], nullptr);
  hits.erase(hits.begin());
  EXPECT_EQ(ids_of(hits), (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
}

TEST(sigma_rule_set, several_logsources_at_once_give_the_hits_of_one_call_per_source) {
  // "windows" admits both sources, so it is a hit of each; "proc" and "image" of one.
  const auto rs = load_set(doc("windows", "  product: windows\n", "  sel:\n    Image|contains: 'cmd'") +
                           doc("proc", k_process, "  sel:\n    Image|endswith: '.exe'") +
                           doc("image", "  category: image_load\n  product: windows\n",
                               "  sel:\n    Image|contains: 'cmd'"));
  const auto ev = event_of({{"Image", "C:\\cmd.exe"}});
  const std::array<event_logsource, 2> sources = {{{"process_creation", "windows", "sysmon"},
                                                   {"image_load", "windows", "sysmon"}}};
  std::vector<const rule*> one_by_one, at_once;
  eval_counters each, once;
  for (const auto& src : sources) rs.evaluate(src, ev, one_by_one, &each);
  rs.evaluate(sources, ev, at_once, &once);
  using v = std::vector<std::string>;
  EXPECT_EQ(ids_of(one_by_one), (v{"windows", "proc", "windows", "image"}));
  EXPECT_EQ(ids_of(at_once), ids_of(one_by_one));
  EXPECT_EQ(once.considered, each.considered);
  EXPECT_EQ(once.matched, each.matched);
  EXPECT_EQ(each.evaluated, 4U);
  EXPECT_EQ(once.evaluated, 3U);  // "windows" once
}

// ---- the prefilter ---------------------------------------------------------------------

TEST(sigma_rule_set, startswith_and_endswith_are_decided_by_where_the_literal_occurs) {
  // The scan reports a literal's first occurrence only; a value holding it twice, the
  // second at the end (or the first at the start), still matches.
  const auto rs = load_set(doc("ends", k_process, "  sel:\n    Image|endswith:\n      - '\\cmd.exe'\n      - '\\x.exe'") +
                           doc("starts", k_process, "  sel:\n    Image|startswith: 'C:\\Tools\\'"));
  const event_logsource src{"process_creation", "windows", "sysmon"};
  using v = std::vector<std::string>;
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "D:\\cmd.exe\\cmd.exe"}})), (v{"ends"}));
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "D:\\cmd.exe\\a.dll"}})), v{});
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\Tools\\C:\\Tools\\a.dll"}})), (v{"starts"}));
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "D:\\C:\\Tools\\a.dll"}})), v{});
}

TEST(sigma_rule_set, prefilter_skips_rules_whose_literals_are_absent) {
  std::string yaml;
  for (int i = 0; i < 50; ++i)
    yaml += doc("tool" + std::to_string(i), k_process,
                "  sel:\n    Image|endswith: '\\tool" + std::to_string(i) +
                    ".exe'\n    CommandLine|contains:\n      - ' -dump'\n      - ' -steal'");
  yaml += doc("regex", k_process, "  sel:\n    CommandLine|re: 'x[0-9]+y'");
  const auto rs = load_set(yaml);
  EXPECT_EQ(rs.size(), 51U);
  EXPECT_EQ(rs.unfiltered(), 1U);
  EXPECT_GT(rs.prefilter_memory_bytes(), 0U);

  eval_counters quiet;
  const auto benign = event_of({{"Image", "C:\\Windows\\notepad.exe"}, {"CommandLine", "notepad.exe a.txt"}});
  EXPECT_TRUE(evaluate_ids(rs, {"process_creation", "windows", ""}, benign, &quiet).empty());
  EXPECT_EQ(quiet.considered, 51U);
  EXPECT_EQ(quiet.evaluated, 1U);  // only the regex rule
  EXPECT_EQ(quiet.matched, 0U);

  eval_counters hit;
  const auto bad = event_of({{"Image", "C:\\x\\TOOL7.EXE"}, {"CommandLine", "tool7 -DUMP lsass"}});
  EXPECT_EQ(evaluate_ids(rs, {"process_creation", "windows", ""}, bad, &hit), std::vector<std::string>{"tool7"});
  EXPECT_EQ(hit.considered, 51U);
  EXPECT_LT(hit.evaluated, 5U);  // tool7 (and tool70..tool79 share no literal with it)
  EXPECT_EQ(hit.matched, 1U);

  // Counters add up over calls.
  EXPECT_TRUE(evaluate_ids(rs, {"process_creation", "windows", ""}, benign, &hit).empty());
  EXPECT_EQ(hit.considered, 102U);
}

TEST(sigma_rule_set, rules_without_a_literal_are_unfiltered) {
  const auto rs = load_set(
      doc("not_only", k_process, "  sel:\n    Image|endswith: '\\cmd.exe'", "not sel") +
      doc("keywords", k_process, "  keywords:\n    - 'mimikatz'", "keywords") +
      doc("short", k_process, "  sel:\n    Image: 'a*'") +
      doc("or_null", k_process, "  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    DestinationIp|cidr: '10.0.0.0/8'",
          "a or b") +
      doc("and_null", k_process, "  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    DestinationIp|cidr: '10.0.0.0/8'",
          "a and b"));
  EXPECT_EQ(rs.unfiltered(), 3U);  // and_null keeps the literal of `a`; keywords have theirs
}

TEST(sigma_rule_set, a_regex_needing_only_a_rare_byte_is_filtered_by_it) {
  const auto rs = load_set(doc("backtick", k_process, "  sel:\n    CommandLine|re: '\\w+`(?:\\w+|-|.)`[\\w+|\\s]'") +
                           doc("dot", k_process, "  sel:\n    CommandLine|re: '\\w\\.\\w'"));
  EXPECT_EQ(rs.unfiltered(), 1U);  // "." is no rare byte
  const event_logsource src{"process_creation", "windows", ""};
  eval_counters benign;
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "powershell -File a.ps1"}}), &benign),
            std::vector<std::string>{"dot"});
  EXPECT_EQ(benign.evaluated, 1U);
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "IN`V`o`Ke-eXp`ResSIOn x"}})),
            std::vector<std::string>{"backtick"});
}

TEST(sigma_rule_set, a_condition_of_probed_values_evaluates_those_whose_literal_was_seen) {
  // Every value of `sel` is a test whose literal the scan looks for (field_condition::
  // probed): those whose literal was not seen are false unevaluated, the others are
  // evaluated, a literal seen elsewhere than at the end included.
  std::string ends;
  for (int i = 0; i < 40; ++i) ends += "      - '\\lib" + std::to_string(i) + ".dll'\n";
  const std::string image_load = "  category: image_load\n  product: windows\n";
  const auto rs = load_set(
      doc("side", image_load,
          "  sel:\n    ImageLoaded|endswith:\n" + ends +
              "  filter:\n    ImageLoaded|startswith: 'C:\\Windows\\'\n    ImageLoaded|contains: '\\lib'",
          "sel and not filter") +
      doc("cased", image_load, "  sel:\n    ImageLoaded|contains|cased:\n      - 'Evil'\n      - 'BAD'"));
  const event_logsource src{"image_load", "windows", "sysmon"};
  using v = std::vector<std::string>;
  for (int round = 0; round < 2; ++round) {  // the second round replays the scan cache
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\Users\\x\\LIB7.dll"}})), v{"side"});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\Users\\x\\lib3.dll.bak"}})), v{});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\u\\lib3.dll.bak\\lib39.dll"}})), v{"side"});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\Windows\\lib7.dll"}})), v{});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\Users\\x\\lib7.dll"}})), v{});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\evil\\bad.dll"}})), v{});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"ImageLoaded", "C:\\evil\\BAD.dll"}})), v{"cased"});
  }
}

TEST(sigma_rule_set, a_value_scanned_again_gives_the_same_hits) {
  // A value is kept on its second scan (scan_cache) and its literals replayed from the
  // third evaluation on; a second set on the same thread, a value differing in case or in
  // one byte, and values too long or with too many literals to be kept are scanned afresh.
  std::string words, many;
  for (int i = 0; i < 40; ++i) {  // more than scan_cache::k_literals (32)
    words += "      - 'word" + std::to_string(100 + i) + "'\n";
    many += " word" + std::to_string(100 + i);
  }
  const auto rs = load_set(doc("enc", k_process, "  sel:\n    CommandLine|contains: ' -enc '") +
                           doc("both", k_process, "  sel:\n    CommandLine|contains|all:\n      - 'iex'\n      - 'http'") +
                           doc("forty", k_process, "  sel:\n    CommandLine|contains|all:\n" + words));
  const auto other = load_set(doc("iex", k_process, "  sel:\n    CommandLine|contains: 'iex'"));
  const event_logsource src{"process_creation", "windows", ""};
  const std::string long_value = std::string(300, 'x') + " -enc " + std::string(10, 'y');
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "powershell -enc AAAA"}})), std::vector<std::string>{"enc"});
    EXPECT_EQ(evaluate_ids(other, src, event_of({{"CommandLine", "powershell -enc AAAA"}})), std::vector<std::string>{});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "IEX (New-Object Net.WebClient) http://x"}})),
              std::vector<std::string>{"both"});
    EXPECT_EQ(evaluate_ids(other, src, event_of({{"CommandLine", "IEX (New-Object Net.WebClient) http://x"}})),
              std::vector<std::string>{"iex"});
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "iex (New-Object Net.WebClient) http://x"}})),
              std::vector<std::string>{"both"});
    EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"CommandLine", "IEX (New-Object Net.WebClient) htt://x"}})).empty());
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", many}})), std::vector<std::string>{"forty"});
    EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"CommandLine", many.substr(0, many.size() - 1)}})).empty());
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", long_value}})), std::vector<std::string>{"enc"});
  }
}

TEST(sigma_rule_set, exact_values_are_found_case_insensitively_among_many) {
  std::string values;
  for (int i = 0; i < 300; ++i) values += "      - 'Value" + std::to_string(i) + "'\n";
  const auto rs = load_set(doc("many", k_process, "  sel:\n    Product:\n" + values));
  const event_logsource src{"process_creation", "windows", ""};
  for (int i = 0; i < 300; i += 7) {
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Product", "VALUE" + std::to_string(i)}})), std::vector<std::string>{"many"});
    EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Product", "Value" + std::to_string(i) + "x"}})).empty());
  }
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Product", ""}})).empty());
}

TEST(sigma_rule_set, prefilter_needs_a_hit_in_every_clause_of_an_and) {
  const std::string network = "  category: network_connection\n  product: windows\n";
  const auto rs = load_set(doc("script_host", network,
                               "  sel:\n    Image|endswith:\n      - '\\wscript.exe'\n      - '\\cscript.exe'\n"
                               "    Initiated: 'true'"));
  const event_logsource src{"network_connection", "windows", "sysmon"};
  eval_counters common;  // Initiated: true alone (most connections) is not enough
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Image", "C:\\x\\chrome.exe"}, {"Initiated", "true"}}), &common).empty());
  EXPECT_EQ(common.evaluated, 0U);
  eval_counters other;  // nor the image alone
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Image", "C:\\x\\wscript.exe"}, {"Initiated", "false"}}), &other).empty());
  EXPECT_EQ(other.evaluated, 0U);
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\x\\WScript.exe"}, {"Initiated", "TRUE"}})),
            std::vector<std::string>{"script_host"});
}

TEST(sigma_rule_set, exact_values_filter_short_equalities) {
  const auto rs = load_set(doc("config_change", "  product: windows\n  service: sysmon\n", "  sel:\n    EventID: 16"));
  EXPECT_EQ(rs.unfiltered(), 0U);
  const event_logsource src{"process_creation", "windows", "sysmon"};
  eval_counters other;
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"EventID", "1"}}), &other).empty());
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"EventID", "160"}}), &other).empty());
  EXPECT_EQ(other.evaluated, 0U);
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"EventID", "16"}})), std::vector<std::string>{"config_change"});
}

TEST(sigma_rule_set, keyword_rules_are_filtered_by_their_literals_over_every_value) {
  const auto rs = load_set(doc("mimikatz", "  product: windows\n", "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::'",
                               "keywords"));
  EXPECT_EQ(rs.unfiltered(), 0U);
  const event_logsource src{"", "windows", "security"};
  eval_counters benign;
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"A", "mimi"}, {"B", "katz"}, {"C", "sekurlsa"}}), &benign).empty());
  EXPECT_EQ(benign.evaluated, 0U);  // no keyword spans two values
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"A", "x"}, {"B", "run MimiKatz.exe"}})), std::vector<std::string>{"mimikatz"});
}

TEST(sigma_rule_set, keywords_in_values_a_field_scan_covered_are_found_there) {
  // A value scanned for a field is scanned for the keyword literals too and left out of the
  // keyword scan; a cached scan of the value replays its keywords only when it looked for
  // them (the value first scanned for an event whose logsource admits no keyword rule).
  const auto rs = load_set(doc("kw", "  product: windows\n  service: security\n",
                               "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::'", "keywords") +
                           doc("ps", "  product: windows\n", "  sel:\n    CommandLine|contains: 'powershell'"));
  const event_logsource no_keywords{"process_creation", "windows", "sysmon"};
  const event_logsource keywords{"", "windows", "security"};
  const std::vector<std::string> both{"kw", "ps"}, ps{"ps"}, kw{"kw"};
  for (int round = 0; round < 3; ++round) {
    const std::string n = std::to_string(round);
    // Kept in the scan cache without keywords (on its second scan), then asked with them.
    const auto first = event_of({{"CommandLine", "powershell mimikatz " + n}});
    EXPECT_EQ(evaluate_ids(rs, no_keywords, first), ps);
    EXPECT_EQ(evaluate_ids(rs, no_keywords, first), ps);
    EXPECT_EQ(evaluate_ids(rs, keywords, first), both);
    EXPECT_EQ(evaluate_ids(rs, keywords, first), both);
    // Kept with keywords, replayed from the third scan on.
    for (int again = 0; again < 3; ++again) {
      EXPECT_EQ(evaluate_ids(rs, keywords, event_of({{"CommandLine", "powershell -c SEKURLSA::x"}})), both);
      EXPECT_EQ(evaluate_ids(rs, keywords, event_of({{"CommandLine", "cmd /c mimikatz"}})), kw);
      EXPECT_EQ(evaluate_ids(rs, no_keywords, event_of({{"CommandLine", "cmd /c mimikatz"}})),
                std::vector<std::string>{});
      EXPECT_EQ(evaluate_ids(rs, keywords, event_of({{"CommandLine", "powershell -c x"}})), ps);
    }
    // In a value no field scan looks at, and not across two values.
    EXPECT_EQ(evaluate_ids(rs, keywords, event_of({{"CommandLine", "powershell x"}, {"Other", "sekurlsa::logon"}})),
              both);
    EXPECT_TRUE(evaluate_ids(rs, keywords, event_of({{"CommandLine", "cmd mimi"}, {"Other", "katz"}})).empty());
    EXPECT_TRUE(evaluate_ids(rs, keywords, event_of({{"Other", "mimi"}, {"CommandLine", "katz"}})).empty());
  }
}

TEST(sigma_rule_set, a_regex_is_false_without_its_atoms_and_decided_by_re2_with_them) {
  // The regexes' atoms are looked for in PipeName (a regex whose every atom clause has an
  // atom seen there is run; one with a clause of none seen is false without running it).
  // Each rule becomes a candidate through its other selection's literals too, so the
  // regex is asked with its atoms present and absent.
  const std::string pipe = "  category: pipe_created\n  product: windows\n";
  const auto rs = load_set(
      doc("alt", pipe,
          "  sel_a:\n    PipeName|contains|all:\n      - 'xyz'\n      - 'qqq'\n"
          "  sel_b:\n    PipeName|re: '(?:foo|bar)[0-9]+baz'",
          "sel_a or sel_b") +
      doc("caseless", pipe,
          "  sel_a:\n    PipeName|contains: 'mojo'\n    Image|contains: 'chrome'\n"
          "  sel_b:\n    PipeName|re: '(?i)MOJO\\.[0-9]+\\.DEAD'",
          "sel_a or sel_b"));
  const event_logsource src{"pipe_created", "windows", "sysmon"};
  const auto ids = [&](const std::string& pipe_name, const std::string& image = "C:\\x\\svc.exe") {
    return evaluate_ids(rs, src, event_of({{"PipeName", pipe_name}, {"Image", image}}));
  };
  const std::vector<std::string> alt{"alt"}, caseless{"caseless"}, none;
  for (int round = 0; round < 3; ++round) {  // scanned, then kept in and replayed from the scan cache
    EXPECT_EQ(ids("\\xyz_bar12baz"), alt);            // one atom of the alternation is enough
    EXPECT_EQ(ids("\\foo3baz_xyz"), alt);
    EXPECT_EQ(ids("\\xyz_bar12ba_qqq"), alt);         // sel_a
    EXPECT_EQ(ids("\\xyz_bar12bax"), none);           // atom baz missing
    EXPECT_EQ(ids("\\xyz_FOO3baz"), none);            // atoms seen (scan ignores case), RE2: no
    EXPECT_EQ(ids("\\xyz_fo3baz"), none);             // no atom of (foo|bar)
    EXPECT_EQ(ids("\\Mojo.5688.dead"), caseless);     // (?i): atoms seen in another case
    EXPECT_EQ(ids("\\mojo.5688.beef", "chrome.exe"), caseless);
    EXPECT_EQ(ids("\\mojo.5688.beef"), none);         // dead missing: false without RE2
    EXPECT_EQ(ids("\\mojo.x.dead"), none);            // atoms seen, RE2: no
  }
}

TEST(sigma_rule_set, evaluation_reads_the_value_the_scan_read_for_the_same_event) {
  // A test the scan does not answer reads the field's value as scan_fields read it for this
  // event (field_condition::scanned): a value of the event before, or a value where the
  // field is missing, would give other answers in the sequence below.
  const auto rs = load_set(doc("cl", k_process,
                               "  sel:\n    CommandLine|re: 'run[0-9]+x'\n  filter:\n    CommandLine|re: 'run1'",
                               "sel and not filter") +
                           doc("absent", k_process,
                               "  sel:\n    Image|endswith: '\\a.exe'\n  filter:\n    CommandLine|re: '^[a-z]*$'",
                               "sel and not filter"));
  const event_logsource src{"process_creation", "windows", "sysmon"};
  const std::vector<std::string> cl{"cl"}, absent{"absent"}, none;
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "run22x"}})), cl);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "run12x"}})), none);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"CommandLine", "run22x"}})), cl);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\a.exe"}, {"CommandLine", "abc"}})), none);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\a.exe"}})), absent);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\a.exe"}, {"CommandLine", std::nullopt}})), absent);
    EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Image", "C:\\a.exe"}, {"CommandLine", "ABC"}})), absent);
  }
}

TEST(sigma_rule_set, prefilter_stats_count_scans_and_hits_per_field) {
  const auto rs = load_set(doc("cmd", k_process, "  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains: 'whoami'"));
  prefilter_stats stats;
  std::vector<const rule*> hits;
  const event_logsource src{"process_creation", "windows", "sysmon"};
  rs.evaluate(src, event_of({{"Image", "C:\\cmd.exe"}, {"CommandLine", "cmd /c dir"}}), hits, nullptr, &stats);
  rs.evaluate(src, event_of({{"Image", "C:\\a.exe"}}), hits, nullptr, &stats);
  EXPECT_TRUE(hits.empty());
  ASSERT_EQ(stats.fields.size(), 2U);
  for (const auto& f : stats.fields) {
    if (f.field == "Image") {
      EXPECT_EQ(f.scanned, 2U);
      EXPECT_EQ(f.hit, 1U);
    } else {
      EXPECT_EQ(f.field, "CommandLine");
      EXPECT_EQ(f.scanned, 1U);  // missing in the second event
      EXPECT_EQ(f.hit, 0U);
    }
  }
}

// A varied rule set: every modifier and condition form the needle derivation treats
// specially, over several logsources.
std::string property_rules() {
  const std::string image_load = "  category: image_load\n  product: windows\n";
  const std::string driver = "  category: driver_load\n  product: windows\n  service: sysmon\n";
  const std::string ci = "  product: windows\n  service: codeintegrity-operational\n";
  std::string y;
  y += doc("endswith", k_process, "  sel:\n    Image|endswith: '\\cmd.exe'");
  y += doc("and_not", k_process,
           "  sel:\n    Image|endswith: '\\powershell.exe'\n    CommandLine|contains:\n      - 'invoke'\n"
           "      - 'download'\n  filter:\n    ParentImage|startswith: 'C:\\Program Files\\'",
           "sel and not filter");
  y += doc("one_of", k_process,
           "  sel_a:\n    Image|contains: 'rundll32'\n  sel_b:\n    OriginalFileName: 'RUNDLL32.EXE'", "1 of sel_*");
  y += doc("all_of", k_process,
           "  sel_a:\n    Image|contains: 'rundll32'\n  sel_b:\n    CommandLine|contains: 'dllregister'",
           "all of sel_*");
  y += doc("all_mod", k_process, "  sel:\n    CommandLine|contains|all:\n      - 'powershell'\n      - ' -enc'");
  y += doc("windash", k_process, "  sel:\n    CommandLine|windash|contains: ' -enc '");
  y += doc("b64off", "", "  sel:\n    CommandLine|base64offset|contains: '/bin/bash'");
  y += doc("keywords", "", "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::*'", "keywords");
  y += doc("regex", k_process, "  sel:\n    CommandLine|re: 'who.mi'");
  y += doc("regex_and_lit", k_process,
           "  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|re|i: '/c\\s+whoami'");
  y += doc("cidr", "", "  sel:\n    DestinationIp|cidr:\n      - '10.0.0.0/8'\n      - '192.168.0.0/16'");
  y += doc("null_value", k_process, "  sel:\n    Image|endswith: '\\cmd.exe'\n    Signature: null");
  y += doc("not_only", k_process, "  sel:\n    Company: 'Microsoft'", "not sel");
  y += doc("short", "", "  sel:\n    Image: 'c*'");
  y += doc("or_cidr", k_process,
           "  sel_img:\n    Image|endswith: '\\rundll32.exe'\n  sel_ip:\n    DestinationIp|cidr: '10.0.0.0/8'",
           "sel_img or sel_ip");
  y += doc("numeric", "", "  sel:\n    N|gt: 10\n    CommandLine|contains: 'evil'");
  y += doc("exists", image_load, "  sel:\n    Signature|exists: false\n    ImageLoaded|endswith: '.dll'");
  y += doc("list_of_maps", image_load,
           "  sel:\n    - ImageLoaded|endswith: '\\evil.dll'\n    - Company: 'Microsoft'\n"
           "      SignatureStatus: 'Expired'");
  y += doc("qmark", k_process, "  sel:\n    CommandLine: '*who?mi*'");
  y += doc("cased", driver, "  sel:\n    Company|cased|contains: 'Microsoft'\n    SignatureStatus|contains: 'valid'");
  y += doc("fieldref", k_process, "  sel:\n    ParentImage|fieldref: Image\n    Image|contains: 'cmd'");
  y += doc("wide_b64", "", "  sel:\n    CommandLine|wide|base64offset|contains: 'whoami'");
  y += doc("hashes", driver,
           "  sel:\n    Hashes|contains:\n      - 'SHA256=ABCDEF'\n      - 'IMPHASH=0123AB'");
  y += doc("ci_sig", ci, "  sel:\n    Signature|contains: 'evil corp'\n  filter:\n    SignatureStatus: 'Valid'",
           "sel and not filter");
  y += doc("nested", k_process,
           "  a:\n    Image|endswith: '\\cmd.exe'\n  b:\n    CommandLine|contains: 'whoami'\n"
           "  c:\n    ParentImage|endswith: '\\explorer.exe'\n  d:\n    CommandLine|contains: 'evil'",
           "(a and b) or (c and not d)");
  y += doc("windash_all", k_process, "  sel:\n    CommandLine|windash|contains|all:\n      - '-enc'\n      - '-nop'");
  // Regexes whose RE2 prefilter atoms become needles: alternation, optional groups,
  // case-insensitive, anchors, and one with no atom long enough (unfiltered).
  y += doc("regex_alt", k_process, "  sel:\n    CommandLine|re: '(mimi|seku)(katz|rlsa)'");
  y += doc("regex_opt", k_process, "  sel:\n    CommandLine|re: 'power(shell)?.*-nop'");
  y += doc("regex_i", k_process, "  sel:\n    Image|re|i: '\\\\RUNDLL32\\.EXE$'");
  y += doc("regex_class", k_process, "  sel:\n    CommandLine|re: '[0-9]{2}'");
  y += doc("regex_star_branch", k_process, "  sel:\n    CommandLine|re: 'whoami|.*'");
  return y;
}

// Tokens from which random field values are built: every literal of the rules above (in
// varied case and with dash variants), and plenty that match nothing.
const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> v = {
      "C:\\Windows\\System32\\", "C:\\Program Files\\", "\\cmd.exe", "\\CMD.EXE", "\\powershell.exe",
      "\\rundll32.exe", "rundll32", "RUNDLL32.EXE", "\\explorer.exe", "\\evil.dll", "x.dll", " invoke",
      " download", "DllRegisterServer", "powershell", " -enc ", " /enc ", " \xE2\x80\x93" "enc ", " -nop",
      " /NOP", "whoami", "WhoAmI", "/c whoami", "whoXmi", "mimikatz", "sekurlsa::logon", "ZWNobyAvYmluL2Jhc2g=",
      "L2Jpbi9iYXNo", "dwBoAG8AYQBtAGkA", "10.1.2.3", "192.168.7.7", "8.8.8.8", "Microsoft", "microsoft",
      "Valid", "Expired", "Evil Corp", "SHA256=ABCDEF12", "IMPHASH=0123AB", "evil", "7", "42", "c", "notepad",
      " a.txt", "-", "/", "", "MimiRLSA", "sekukatz", "Power", "PowerShell -nop", "\\rundll32.exe\n"};
  return v;
}

list_event random_event(std::mt19937& rng) {
  static const std::array<const char*, 11> names = {"Image",   "CommandLine",    "ParentImage", "OriginalFileName",
                                                    "Hashes",  "Signature",      "SignatureStatus", "Company",
                                                    "DestinationIp", "N", "ImageLoaded"};
  const auto& vocab = vocabulary();
  list_event e;
  for (const char* name : names) {
    const auto roll = rng() % 10;
    if (roll < 3) continue;  // missing
    if (roll == 3) {
      e.fields.emplace_back(name, std::nullopt);
      continue;
    }
    std::string value;
    for (auto n = 1 + rng() % 3; n > 0; --n) value += vocab[rng() % vocab.size()];
    e.fields.emplace_back(name, std::move(value));
  }
  if (rng() % 10 == 0) {  // the same value in Image and ParentImage, for |fieldref
    std::optional<std::string> image;
    if (auto v = e.field("Image")) image.emplace(*v);
    std::erase_if(e.fields, [](const auto& f) { return f.first == "ParentImage"; });
    e.fields.emplace_back("ParentImage", std::move(image));
  }
  return e;
}

bool admits(const logsource& ls, const event_logsource& src) {
  auto eq = [](const std::string& rule_value, std::string_view event_value) {
    return rule_value.empty() || std::equal(rule_value.begin(), rule_value.end(), event_value.begin(),
                                            event_value.end(), [](char a, char b) {
                                              return std::tolower(static_cast<unsigned char>(a)) ==
                                                     std::tolower(static_cast<unsigned char>(b));
                                            });
  };
  return eq(ls.category, src.category) && eq(ls.product, src.product) && eq(ls.service, src.service);
}

class sigma_rule_set_engine : public ::testing::TestWithParam<rule_set_options::literal_engine> {};

TEST_P(sigma_rule_set_engine, prefilter_never_changes_which_rules_match) {
  auto loaded = load_rules(property_rules(), "rule_set_test.yml");
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.text();
  const rule_set rs(std::move(loaded.rules), rule_set_options{GetParam()});
  ASSERT_EQ(rs.size(), 31U);
  const std::array<event_logsource, 5> sources = {{{"process_creation", "windows", "sysmon"},
                                                   {"image_load", "windows", "sysmon"},
                                                   {"driver_load", "windows", "sysmon"},
                                                   {"", "windows", "codeintegrity-operational"},
                                                   {"process_creation", "linux", ""}}};
  std::mt19937 rng(20240611);
  std::vector<int> matched(rs.size(), 0), missed(rs.size(), 0);
  eval_counters totals;
  std::vector<const rule*> hits, expected;
  std::vector<event_logsource> srcs;
  for (int i = 0; i < 30000; ++i) {
    const auto ev = random_event(rng);
    // One logsource mostly; sometimes two or three at once (repeats allowed), whose hits
    // are those of one call per source in turn.
    srcs.assign(1 + (i % 4 == 0 ? rng() % 3 : 0), {});
    for (auto& src : srcs) src = sources[rng() % sources.size()];
    hits.clear();
    expected.clear();
    rs.evaluate(srcs, ev, hits, &totals);
    for (const auto& src : srcs)
      for (std::size_t r = 0; r < rs.size(); ++r) {
        const rule& candidate = rs.rules()[r];
        const bool m = admits(candidate.source, src) && matches(candidate, ev);
        if (m) expected.push_back(&candidate);
        ++(m ? matched : missed)[r];
      }
    ASSERT_EQ(ids_of(hits), ids_of(expected)) << "event " << i;
  }
  // The events must exercise every rule both ways, or the comparison proves little.
  for (std::size_t r = 0; r < rs.size(); ++r) {
    EXPECT_GT(matched[r], 0) << rs.rules()[r].id << " never matched";
    EXPECT_GT(missed[r], 0) << rs.rules()[r].id << " always matched";
  }
  EXPECT_LT(totals.evaluated, totals.considered);
  std::uint64_t all_matched = 0;
  for (int c : matched) all_matched += static_cast<std::uint64_t>(c);
  EXPECT_EQ(totals.matched, all_matched);
}

INSTANTIATE_TEST_SUITE_P(engines, sigma_rule_set_engine,
                         ::testing::Values(rule_set_options::literal_engine::hyperscan,
                                           rule_set_options::literal_engine::aho_corasick),
                         [](const auto& p) {
                           return p.param == rule_set_options::literal_engine::hyperscan ? "hyperscan" : "aho_corasick";
                         });

// ---- Aho-Corasick ----------------------------------------------------------------------

using detail::aho_corasick;

// Occurrence counts per pattern.
std::vector<int> count_matches(const aho_corasick& ac, std::size_t patterns, std::string_view text) {
  std::vector<int> counts(patterns, 0);
  ac.scan(text, [&](std::uint32_t p) { ++counts[p]; });
  return counts;
}

TEST(sigma_aho_corasick, overlapping_occurrences_are_all_reported) {
  const aho_corasick ac({"aa", "aba"});
  EXPECT_EQ(count_matches(ac, 2, "aaaa"), (std::vector<int>{3, 0}));
  EXPECT_EQ(count_matches(ac, 2, "ababa"), (std::vector<int>{0, 2}));
}

TEST(sigma_aho_corasick, pattern_that_is_a_suffix_of_another_is_reported_too) {
  const aho_corasick ac({"he", "she", "his", "hers", "e"});
  EXPECT_EQ(count_matches(ac, 5, "ushers"), (std::vector<int>{1, 1, 0, 1, 1}));
  const aho_corasick paths({"\\system32\\cmd.exe", "\\cmd.exe", ".exe"});
  EXPECT_EQ(count_matches(paths, 3, "C:\\Windows\\System32\\cmd.exe"), (std::vector<int>{1, 1, 1}));
}

TEST(sigma_aho_corasick, matching_ignores_ascii_case_only) {
  const aho_corasick ac({"PowerShell", "\xC3\xA9t\xC3\xA9"});  // "été" in UTF-8
  EXPECT_EQ(count_matches(ac, 2, "POWERSHELL powershell pOwErShElL"), (std::vector<int>{3, 0}));
  EXPECT_EQ(count_matches(ac, 2, "\xC3\xA9t\xC3\xA9 \xC3\xA9T\xC3\xA9"), (std::vector<int>{0, 2}));
  EXPECT_EQ(count_matches(ac, 2, "\xC3\x89T\xC3\x89"), (std::vector<int>{0, 0}));  // "ÉTÉ": not ASCII
}

TEST(sigma_aho_corasick, empty_text_empty_pattern_and_duplicates) {
  const aho_corasick ac({"abc", "", "abc"});
  EXPECT_EQ(count_matches(ac, 3, ""), (std::vector<int>{0, 0, 0}));
  EXPECT_EQ(count_matches(ac, 3, "xabcx"), (std::vector<int>{1, 0, 1}));
  const aho_corasick none(std::vector<std::string>{});
  EXPECT_EQ(none.states(), 1U);
  int calls = 0;
  none.scan("anything", [&](std::uint32_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(sigma_aho_corasick, binary_bytes_are_matched) {
  const aho_corasick ac({std::string("w\0h\0", 4), "\xFF\xFE"});
  EXPECT_EQ(count_matches(ac, 2, std::string("\xFF\xFEw\0h\0o\0", 8)), (std::vector<int>{1, 1}));
}

TEST(sigma_aho_corasick, agrees_with_a_naive_search_on_random_input) {
  std::mt19937 rng(7);
  auto random_text = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), ' ');
    for (char& c : s) c = "abAB-c"[rng() % 6];
    return s;
  };
  auto naive_count = [](std::string_view text, std::string_view pattern) {
    int n = 0;
    for (std::size_t i = 0; !pattern.empty() && i + pattern.size() <= text.size(); ++i) {
      bool ok = true;
      for (std::size_t k = 0; ok && k < pattern.size(); ++k)
        ok = std::tolower(static_cast<unsigned char>(text[i + k])) ==
             std::tolower(static_cast<unsigned char>(pattern[k]));
      n += ok ? 1 : 0;
    }
    return n;
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> patterns;
    for (auto n = 1 + rng() % 12; n > 0; --n) patterns.push_back(random_text(5));
    const aho_corasick ac(patterns);
    for (int t = 0; t < 20; ++t) {
      const std::string text = random_text(60);
      std::vector<int> want;
      for (const auto& p : patterns) want.push_back(naive_count(text, p));
      ASSERT_EQ(count_matches(ac, patterns.size(), text), want) << "text '" << text << "'";
    }
  }
}


TEST(sigma_rule_set, hash_like_literals_are_found_in_hash_lists) {
  // 64 and more hash-like literals of one field: found with detail::hex_literals.
  std::string values;
  for (int i = 0; i < 70; ++i) {
    char digits[17];
    std::snprintf(digits, sizeof digits, "%016x", 0x1000 + i);
    values += "      - 'SHA256=" + std::string(digits) + std::string(digits) + "'\n";
  }
  const auto rs = load_set(doc("hashes", k_process, "  sel:\n    Hashes|contains:\n" + values));
  const event_logsource src{"process_creation", "windows", ""};
  const std::string h = "0000000000001005";  // literal 5
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Hashes", "MD5=AB,SHA256=" + h + h + ",IMPHASH=00"}})),
            std::vector<std::string>{"hashes"});
  EXPECT_EQ(evaluate_ids(rs, src, event_of({{"Hashes", "sha256=" + h + h + "ff"}})), std::vector<std::string>{"hashes"});
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Hashes", "SHA256=f" + h + h}})).empty());  // not at the run's start
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Hashes", "SHA1=" + h + h}})).empty());
  EXPECT_TRUE(evaluate_ids(rs, src, event_of({{"Hashes", h + h}})).empty());
}

TEST(sigma_hex_literals, agrees_with_a_naive_search_on_random_input) {
  std::mt19937 rng(11);
  auto random_text = [&](std::size_t max_len) {
    std::string s(rng() % (max_len + 1), ' ');
    for (char& c : s) c = "0aAf=,xS"[rng() % 8];
    return s;
  };
  auto occurs = [](std::string_view text, std::string_view lower) {
    for (std::size_t i = 0; i + lower.size() <= text.size(); ++i) {
      bool ok = true;
      for (std::size_t k = 0; ok && k < lower.size(); ++k)
        ok = std::tolower(static_cast<unsigned char>(text[i + k])) == static_cast<unsigned char>(lower[k]);
      if (ok) return true;
    }
    return false;
  };
  using detail::hex_literals;
  for (int round = 0; round < 100; ++round) {
    // Literals with a run of 16 to 20 of the digits 0, a, f after a prefix, some with a suffix.
    std::vector<std::pair<std::uint32_t, std::string>> literals;
    for (std::uint32_t i = 0; i < 1 + rng() % 20; ++i) {
      std::string run(16 + rng() % 5, '0');
      for (char& c : run) c = "0af"[rng() % 3];
      std::string lit = std::string(rng() % 2 ? "s=" : "=") + run + (rng() % 2 ? "," : "");
      ASSERT_NE(hex_literals::run_of(lit).second, 0U) << lit;
      literals.emplace_back(i, lit);
    }
    const hex_literals hl(literals);
    for (int t = 0; t < 30; ++t) {
      // Texts built from pieces of the literals, random bytes between them.
      std::string text = random_text(4);
      for (int k = 0; k < 3; ++k) {
        const std::string& lit = literals[rng() % literals.size()].second;
        const std::size_t from = rng() % 3;
        std::string piece = lit.substr(std::min(from, lit.size()));
        for (char& c : piece)
          if (rng() % 2) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (rng() % 4 == 0 && !piece.empty()) piece[rng() % piece.size()] = '0';
        text += piece + random_text(3);
      }
      std::vector<bool> got(literals.size(), false);
      hl.scan(text, [&](std::uint32_t id, std::size_t end) {
        const auto& lit = literals[id].second;
        ASSERT_GE(end, lit.size());
        EXPECT_TRUE(occurs(text.substr(end - lit.size(), lit.size()), lit));
        got[id] = true;
      });
      for (std::size_t i = 0; i < literals.size(); ++i)
        EXPECT_EQ(got[i], occurs(text, literals[i].second)) << "literal '" << literals[i].second << "' text '" << text << "'";
    }
  }
  EXPECT_EQ(hex_literals::run_of("sha256=0123456789abcdef").second, 16U);
  EXPECT_EQ(hex_literals::run_of("0123456789abcdef0123").second, 0U);  // the run starts the literal
  EXPECT_EQ(hex_literals::run_of("md5=0123456789abcde").second, 0U);   // 15 digits
}

}  // namespace
}  // namespace sigma_rule_set_test
}  // namespace countersign::rules::sigma
