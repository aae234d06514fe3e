// Sigma field matching (rules/src/sigma/match.cpp + loader.cpp value compilation): every
// modifier, wildcards and escapes, null versus empty, keywords, and condition forms.
#include <countersign/rules/sigma/sigma.hpp>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>

namespace countersign::rules::sigma {
namespace sigma_match_test {  // one per file: the test programs are unity builds
namespace {

struct map_event final : sigma_event {
  std::map<std::string, std::optional<std::string>, std::less<>> fields;
  map_event(std::initializer_list<std::pair<const std::string, std::optional<std::string>>> f) : fields(f) {}
  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override {
    auto it = fields.find(name);
    if (it == fields.end() || !it->second) return std::nullopt;
    return std::string_view(*it->second);
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (const auto& [k, v] : fields)
      if (v) fn(*v);
  }
};

// A rule from a detection block (indented by 2) and a condition.
rule make(const std::string& detection, const std::string& condition = "sel") {
  std::string y = "title: t\nid: r1\nlogsource:\n  product: windows\ndetection:\n" + detection +
                  "\n  condition: " + condition + "\n";
  auto res = load_rules(y, "test.yml");
  EXPECT_TRUE(res.diagnostics.empty()) << (res.diagnostics.empty() ? "" : res.diagnostics[0].text());
  EXPECT_EQ(res.rules.size(), 1U);
  return res.rules.empty() ? rule{} : res.rules.front();
}

bool m(const rule& r, const map_event& e) { return matches(r, e); }

TEST(sigma_match, plain_equality_case_insensitive) {
  auto r = make("  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'");
  EXPECT_TRUE(m(r, {{"Image", "c:\\windows\\system32\\CMD.EXE"}}));
  EXPECT_FALSE(m(r, {{"Image", "c:\\windows\\system32\\cmd.exe2"}}));
  EXPECT_FALSE(m(r, {}));
}

TEST(sigma_match, cased) {
  auto r = make("  sel:\n    Name|cased: 'Foo'");
  EXPECT_TRUE(m(r, {{"Name", "Foo"}}));
  EXPECT_FALSE(m(r, {{"Name", "foo"}}));
}

TEST(sigma_match, wildcards) {
  auto r = make("  sel:\n    Image: '*\\pow?rshell*.exe'");
  EXPECT_TRUE(m(r, {{"Image", "C:\\x\\PowerShell_ise.exe"}}));
  EXPECT_TRUE(m(r, {{"Image", "\\powErshell.exe"}}));
  EXPECT_FALSE(m(r, {{"Image", "\\powrshell.exe"}}));
  auto r2 = make("  sel:\n    A: 'a*b*c'");
  EXPECT_TRUE(m(r2, {{"A", "aXbYbZc"}}));
  EXPECT_TRUE(m(r2, {{"A", "abc"}}));
  EXPECT_FALSE(m(r2, {{"A", "abcd"}}));
}

TEST(sigma_match, glob_backtracking_and_qmark) {
  auto r = make("  sel:\n    A: '*ab?d*x'");
  EXPECT_TRUE(m(r, {{"A", "abab_abcdzzx"}}));
  EXPECT_FALSE(m(r, {{"A", "abab_abcdzz"}}));
  auto star = make("  sel:\n    A: '*'");
  EXPECT_TRUE(m(star, {{"A", ""}}));
  EXPECT_FALSE(m(star, {}));
  auto q = make("  sel:\n    A: 'a?" "?'");
  EXPECT_TRUE(m(q, {{"A", "Abc"}}));
  EXPECT_FALSE(m(q, {{"A", "ab"}}));
}

TEST(sigma_match, escaped_wildcards) {
  auto r = make("  sel:\n    A: 'what\\?'\n    B: 'x\\*y'\n    C: 'dir\\\\*'");
  EXPECT_TRUE(m(r, {{"A", "WHAT?"}, {"B", "x*y"}, {"C", "dir\\anything"}}));
  EXPECT_FALSE(m(r, {{"A", "whatX"}, {"B", "x*y"}, {"C", "dir\\a"}}));
  EXPECT_FALSE(m(r, {{"A", "what?"}, {"B", "xzy"}, {"C", "dir\\a"}}));
  // A lone backslash before another character stays literal.
  auto r2 = make("  sel:\n    P: 'C:\\Temp\\x'");
  EXPECT_TRUE(m(r2, {{"P", "c:\\temp\\X"}}));
}

TEST(sigma_match, contains_startswith_endswith) {
  auto r = make("  sel:\n    A|contains: 'mid'\n    B|startswith: 'pre'\n    C|endswith: '.EXE'");
  EXPECT_TRUE(m(r, {{"A", "xxMIDxx"}, {"B", "Prefix"}, {"C", "a.exe"}}));
  EXPECT_FALSE(m(r, {{"A", "xxMIDxx"}, {"B", "xPrefix"}, {"C", "a.exe"}}));
  EXPECT_FALSE(m(r, {{"A", "xxMIDxx"}, {"B", "Prefix"}, {"C", "a.exe.txt"}}));
}

TEST(sigma_match, list_is_or_and_all_is_and) {
  auto any = make("  sel:\n    C|contains:\n      - 'foo'\n      - 'bar'");
  EXPECT_TRUE(m(any, {{"C", "xbar"}}));
  EXPECT_FALSE(m(any, {{"C", "baz"}}));
  auto all = make("  sel:\n    C|contains|all:\n      - 'foo'\n      - 'bar'");
  EXPECT_TRUE(m(all, {{"C", "bar foo"}}));
  EXPECT_FALSE(m(all, {{"C", "xbar"}}));
}

TEST(sigma_match, map_is_and_list_of_maps_is_or) {
  auto r = make("  sel:\n    - A: 1\n      B: 2\n    - C: 3");
  EXPECT_TRUE(m(r, {{"A", "1"}, {"B", "2"}}));
  EXPECT_TRUE(m(r, {{"C", "3"}}));
  EXPECT_FALSE(m(r, {{"A", "1"}, {"B", "3"}}));
}

TEST(sigma_match, numbers_are_strings_unless_compared) {
  auto r = make("  sel:\n    EventID: 4688");
  EXPECT_TRUE(m(r, {{"EventID", "4688"}}));
  EXPECT_FALSE(m(r, {{"EventID", "04688"}}));
  auto lt = make("  sel:\n    N|lt: 10\n    M|gte: 2.5");
  EXPECT_TRUE(m(lt, {{"N", "9"}, {"M", "2.5"}}));
  EXPECT_FALSE(m(lt, {{"N", "10"}, {"M", "3"}}));
  EXPECT_FALSE(m(lt, {{"N", "abc"}, {"M", "3"}}));
  auto gt = make("  sel:\n    N|gt: 10\n    M|lte: 5");
  EXPECT_TRUE(m(gt, {{"N", "11"}, {"M", "5"}}));
  EXPECT_FALSE(m(gt, {{"N", "10"}, {"M", "5"}}));
}

TEST(sigma_match, null_versus_empty) {
  auto null_rule = make("  sel:\n    A: null");
  EXPECT_TRUE(m(null_rule, {}));
  EXPECT_TRUE(m(null_rule, {{"A", std::nullopt}}));
  EXPECT_FALSE(m(null_rule, {{"A", ""}}));
  auto empty_rule = make("  sel:\n    A: ''");
  EXPECT_TRUE(m(empty_rule, {{"A", ""}}));
  EXPECT_FALSE(m(empty_rule, {}));
  EXPECT_FALSE(m(empty_rule, {{"A", "x"}}));
}

TEST(sigma_match, exists) {
  auto yes = make("  sel:\n    A|exists: true");
  EXPECT_TRUE(m(yes, {{"A", ""}}));
  EXPECT_FALSE(m(yes, {}));
  auto no = make("  sel:\n    A|exists: false");
  EXPECT_TRUE(m(no, {}));
  EXPECT_FALSE(m(no, {{"A", "x"}}));
}

TEST(sigma_match, regex_and_flags) {
  auto r = make("  sel:\n    C|re: 'foo\\d+bar'");
  EXPECT_TRUE(m(r, {{"C", "xx foo12bar yy"}}));
  EXPECT_FALSE(m(r, {{"C", "FOO12BAR"}}));  // re is case-sensitive by default
  auto ri = make("  sel:\n    C|re|i: '^foo'");
  EXPECT_TRUE(m(ri, {{"C", "FOObar"}}));
  auto rm = make("  sel:\n    C|re|m: '^bar$'");
  EXPECT_TRUE(m(rm, {{"C", "foo\nbar\nbaz"}}));
  auto no_m = make("  sel:\n    C|re: '^bar$'");
  EXPECT_FALSE(m(no_m, {{"C", "foo\nbar\nbaz"}}));
  auto rs = make("  sel:\n    C|re|s: 'a.b'");
  EXPECT_TRUE(m(rs, {{"C", "a\nb"}}));
  auto no_s = make("  sel:\n    C|re: 'a.b'");
  EXPECT_FALSE(m(no_s, {{"C", "a\nb"}}));
}

TEST(sigma_match, windash) {
  auto r = make("  sel:\n    CommandLine|windash|contains: ' -enc '");
  EXPECT_TRUE(m(r, {{"CommandLine", "powershell -ENC abc"}}));
  EXPECT_TRUE(m(r, {{"CommandLine", "powershell /enc abc"}}));
  EXPECT_TRUE(m(r, {{"CommandLine", "powershell \xE2\x80\x93" "enc abc"}}));
  EXPECT_TRUE(m(r, {{"CommandLine", "powershell \xE2\x80\x94" "enc abc"}}));
  EXPECT_TRUE(m(r, {{"CommandLine", "powershell \xE2\x80\x95" "enc abc"}}));
  EXPECT_FALSE(m(r, {{"CommandLine", "powershell +enc abc"}}));
  // Each flag independently (pySigma permutes every placeholder); a mid-word dash stays.
  auto two = make("  sel:\n    CommandLine|windash: 'x -a /b-c'");
  EXPECT_TRUE(m(two, {{"CommandLine", "x /a \xE2\x80\x94" "b-c"}}));
  EXPECT_TRUE(m(two, {{"CommandLine", "x -a -b-c"}}));
  EXPECT_FALSE(m(two, {{"CommandLine", "x -a -b/c"}}));
  // windash with all: each value may use any dash variant.
  auto all = make("  sel:\n    CommandLine|windash|contains|all:\n      - '-a'\n      - '-b'");
  EXPECT_TRUE(m(all, {{"CommandLine", "x /a \xE2\x80\x93" "b"}}));
  EXPECT_FALSE(m(all, {{"CommandLine", "x /a"}}));
}

TEST(sigma_match, base64) {
  // base64("hello") = aGVsbG8=
  auto r = make("  sel:\n    D|base64: 'hello'");
  EXPECT_TRUE(m(r, {{"D", "aGVsbG8="}}));
  // Case-insensitive like every value (the specification, pySigma); |cased makes it exact.
  EXPECT_TRUE(m(r, {{"D", "AGVSBG8="}}));
  auto exact = make("  sel:\n    D|base64|cased: 'hello'");
  EXPECT_FALSE(m(exact, {{"D", "AGVSBG8="}}));
  EXPECT_TRUE(m(exact, {{"D", "aGVsbG8="}}));
  auto c = make("  sel:\n    D|base64|contains: 'hello'");
  EXPECT_TRUE(m(c, {{"D", "xxaGVsbG8=yy"}}));
  EXPECT_FALSE(m(c, {{"D", "xxaGVsbG9=yy"}}));
}

TEST(sigma_match, question_mark_is_one_character_not_one_byte) {
  auto r = make("  sel:\n    User: 'j?rgen'");
  EXPECT_TRUE(m(r, {{"User", "j\xC3\xBCrgen"}}));  // jürgen: ü is two bytes
  EXPECT_TRUE(m(r, {{"User", "jurgen"}}));
  auto two = make("  sel:\n    User: 'j??rgen'");
  EXPECT_FALSE(m(two, {{"User", "j\xC3\xBCrgen"}}));
  auto star = make("  sel:\n    User: '*?rgen'");
  EXPECT_TRUE(m(star, {{"User", "j\xC3\xBCrgen"}}));
}

TEST(sigma_match, regex_dollar_matches_before_a_final_newline_as_in_pcre) {
  auto r = make("  sel:\n    P|re: '\\.exe$'");
  EXPECT_TRUE(m(r, {{"P", "C:\\a.exe\n"}}));
  EXPECT_TRUE(m(r, {{"P", "C:\\a.exe"}}));
  EXPECT_FALSE(m(r, {{"P", "C:\\a.exe\nmore"}}));
}

TEST(sigma_match, windash_counts_non_ascii_letters_as_word_characters) {
  auto r = make("  sel:\n    C|windash|endswith: ' -\xC3\xBC' ");
  EXPECT_TRUE(m(r, {{"C", "tool /\xC3\xBC"}}));
}

TEST(sigma_match, base64offset_three_variants) {
  // pySigma: "/bin/bash" -> L2Jpbi9iYXNo, 9iaW4vYmFza, vYmluL2Jhc2
  auto r = make("  sel:\n    D|base64offset|contains: '/bin/bash'");
  EXPECT_TRUE(m(r, {{"D", "ZWNobyAvYmluL2Jhc2g="}}));  // base64("echo /bin/bash")
  EXPECT_TRUE(m(r, {{"D", "eCAvYmluL2Jhc2g="}}));      // base64("x /bin/bash")
  EXPECT_TRUE(m(r, {{"D", "L2Jpbi9iYXNo"}}));          // base64("/bin/bash")
  EXPECT_TRUE(m(r, {{"D", "eC9iaW4vYmFzaA=="}}));      // base64("x/bin/bash")
  EXPECT_FALSE(m(r, {{"D", "L2Jpbi9zaA=="}}));         // base64("/bin/sh")
}

TEST(sigma_match, wide_base64offset) {
  // base64(UTF-16LE("ab")) = YQBiAA==
  auto r = make("  sel:\n    D|wide|base64: 'ab'");
  EXPECT_TRUE(m(r, {{"D", "YQBiAA=="}}));
  auto u = make("  sel:\n    D|utf16le|base64offset|contains: 'ab'");
  EXPECT_TRUE(m(u, {{"D", "xYQBiAA=="}}));
}

TEST(sigma_match, cidr_v4_and_v6) {
  auto r = make("  sel:\n    Ip|cidr:\n      - '10.0.0.0/8'\n      - '192.168.1.0/25'\n      - 'fe80::/10'");
  EXPECT_TRUE(m(r, {{"Ip", "10.200.3.4"}}));
  EXPECT_TRUE(m(r, {{"Ip", "192.168.1.127"}}));
  EXPECT_FALSE(m(r, {{"Ip", "192.168.1.128"}}));
  EXPECT_TRUE(m(r, {{"Ip", "fe80::1"}}));
  EXPECT_TRUE(m(r, {{"Ip", "febf::1"}}));
  EXPECT_FALSE(m(r, {{"Ip", "fec0::1"}}));
  EXPECT_FALSE(m(r, {{"Ip", "not-an-ip"}}));
  EXPECT_FALSE(m(r, {}));
}

TEST(sigma_match, fieldref) {
  auto r = make("  sel:\n    ParentImage|fieldref: Image");
  EXPECT_TRUE(m(r, {{"Image", "C:\\a.exe"}, {"ParentImage", "c:\\A.EXE"}}));
  EXPECT_FALSE(m(r, {{"Image", "C:\\a.exe"}, {"ParentImage", "c:\\b.exe"}}));
  EXPECT_FALSE(m(r, {{"ParentImage", "c:\\b.exe"}}));
  auto cased = make("  sel:\n    ParentImage|fieldref|cased: Image");
  EXPECT_FALSE(m(cased, {{"Image", "C:\\a.exe"}, {"ParentImage", "c:\\A.EXE"}}));
}

TEST(sigma_match, keywords_match_any_value) {
  auto r = make("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::*'", "keywords");
  EXPECT_TRUE(m(r, {{"A", "x"}, {"B", "run MimiKatz now"}}));
  EXPECT_TRUE(m(r, {{"B", "sekurlsa::logonpasswords"}}));
  EXPECT_FALSE(m(r, {{"B", "notepad"}}));
}

TEST(sigma_match, condition_forms) {
  const std::string det =
      "  sel_a:\n    A: 1\n  sel_b:\n    B: 1\n  filter_x:\n    X: 1\n  filter_y:\n    Y: 1";
  auto one = make(det, "1 of sel_* and not 1 of filter_*");
  EXPECT_TRUE(m(one, {{"B", "1"}}));
  EXPECT_FALSE(m(one, {{"B", "1"}, {"Y", "1"}}));
  EXPECT_FALSE(m(one, {{"X", "1"}}));
  auto all = make(det, "all of sel_*");
  EXPECT_TRUE(m(all, {{"A", "1"}, {"B", "1"}}));
  EXPECT_FALSE(m(all, {{"A", "1"}}));
  auto them = make(det, "all of them");
  EXPECT_TRUE(m(them, {{"A", "1"}, {"B", "1"}, {"X", "1"}, {"Y", "1"}}));
  EXPECT_FALSE(m(them, {{"A", "1"}, {"B", "1"}, {"X", "1"}}));
  auto any = make(det, "1 of them");
  EXPECT_TRUE(m(any, {{"Y", "1"}}));
  auto paren = make(det, "(sel_a or sel_b) and not filter_x");
  EXPECT_TRUE(m(paren, {{"A", "1"}}));
  EXPECT_FALSE(m(paren, {{"A", "1"}, {"X", "1"}}));
  auto prec = make(det, "sel_a or sel_b and filter_x");  // and binds tighter
  EXPECT_TRUE(m(prec, {{"A", "1"}}));
  EXPECT_FALSE(m(prec, {{"B", "1"}}));
}

TEST(sigma_match, condition_list_is_or) {
  auto r = make("  a:\n    A: 1\n  b:\n    B: 1", "\n    - a\n    - b");
  EXPECT_TRUE(m(r, {{"B", "1"}}));
  EXPECT_FALSE(m(r, {{"C", "1"}}));
}

}  // namespace
}  // namespace sigma_match_test
}  // namespace countersign::rules::sigma
