// Sigma condition parser (rules/src/sigma/condition.cpp): precedence, parentheses,
// quantifiers with globs, errors and unsupported constructs.
#include <countersign/rules/sigma/condition.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace countersign::rules::sigma {
namespace sigma_condition_test {  // one per file: the test programs are unity builds
namespace {

const std::vector<std::string> ids = {"sel1", "sel2", "filter_a", "filter_b", "_hidden"};

std::string parse(std::string_view text) {
  auto r = parse_condition(text, ids);
  if (!r) return (r.error().unsupported ? "UNSUPPORTED: " : "ERROR: ") + r.error().message;
  return to_string(*r, ids);
}

TEST(sigma_condition, single_identifier) { EXPECT_EQ(parse("sel1"), "sel1"); }

TEST(sigma_condition, precedence_not_and_or) {
  EXPECT_EQ(parse("sel1 or sel2 and not filter_a"), "or(sel1,and(sel2,not(filter_a)))");
  EXPECT_EQ(parse("not sel1 and sel2"), "and(not(sel1),sel2)");
  EXPECT_EQ(parse("sel1 and sel2 or filter_a and filter_b"), "or(and(sel1,sel2),and(filter_a,filter_b))");
}

TEST(sigma_condition, parentheses) {
  EXPECT_EQ(parse("(sel1 or sel2) and not (filter_a or filter_b)"),
            "and(or(sel1,sel2),not(or(filter_a,filter_b)))");
  EXPECT_EQ(parse("((sel1))"), "sel1");
}

TEST(sigma_condition, quantifiers_with_globs) {
  EXPECT_EQ(parse("1 of sel*"), "1of[sel1,sel2]");
  EXPECT_EQ(parse("all of filter_*"), "allof[filter_a,filter_b]");
  EXPECT_EQ(parse("1 of sel* and not 1 of filter_*"), "and(1of[sel1,sel2],not(1of[filter_a,filter_b]))");
  EXPECT_EQ(parse("any of sel*"), "1of[sel1,sel2]");
}

TEST(sigma_condition, a_pattern_skips_underscore_identifiers_unless_it_starts_with_one) {
  EXPECT_EQ(parse("1 of *"), "1of[sel1,sel2,filter_a,filter_b]");
  EXPECT_EQ(parse("all of *n"), "ERROR: '*n' matches no search identifier");  // only _hidden ends in n
  EXPECT_EQ(parse("1 of _h*"), "1of[_hidden]");
}

TEST(sigma_condition, them_skips_underscore_identifiers) {
  EXPECT_EQ(parse("1 of them"), "1of[sel1,sel2,filter_a,filter_b]");
  EXPECT_EQ(parse("all of them"), "allof[sel1,sel2,filter_a,filter_b]");
}

TEST(sigma_condition, keywords_case_insensitive) { EXPECT_EQ(parse("sel1 AND NOT sel2"), "and(sel1,not(sel2))"); }

TEST(sigma_condition, errors) {
  EXPECT_EQ(parse("sel3"), "ERROR: unknown search identifier 'sel3'");
  EXPECT_EQ(parse("1 of nothing*"), "ERROR: 'nothing*' matches no search identifier");
  EXPECT_EQ(parse("(sel1 or sel2"), "ERROR: missing ')'");
  EXPECT_EQ(parse("sel1 and"), "ERROR: unexpected end of condition");
  EXPECT_EQ(parse("sel1 sel2"), "ERROR: unexpected 'sel2'");
  EXPECT_EQ(parse("sel*"), "ERROR: wildcard identifier 'sel*' needs '1 of' or 'all of'");
  EXPECT_EQ(parse(""), "ERROR: empty condition");
  EXPECT_EQ(parse(std::string(100000, '(') + "sel1"), "ERROR: condition nested too deeply");
  EXPECT_EQ(parse(std::string(300, '(') + "sel1" + std::string(300, ')')), "ERROR: condition nested too deeply");
  EXPECT_EQ(parse(std::string(100, '(') + "sel1" + std::string(100, ')')), "sel1");
}

TEST(sigma_condition, unsupported) {
  EXPECT_EQ(parse("sel1 | count() > 5"), "UNSUPPORTED: aggregation ('|') in condition is not supported");
  EXPECT_EQ(parse("sel1 near sel2"), "UNSUPPORTED: 'near' in condition is not supported");
}

}  // namespace
}  // namespace sigma_condition_test
}  // namespace countersign::rules::sigma
