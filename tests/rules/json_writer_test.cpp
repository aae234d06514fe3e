// The streaming JSON writer (rules/src/json_writer.cpp): exact bytes, and a parse back
// with simdjson DOM to prove the output is JSON that carries the original strings.

#include <countersign/rules/json_writer.hpp>

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

namespace countersign::rules {
namespace json_writer_test {  // one per file: the test programs are unity builds
namespace {

std::string escaped(std::string_view v) {
  std::string out;
  append_json_escaped(out, v);
  return out;
}

// Parses `json` (an object with a "v" string member) and returns that string.
std::string round_trip_string(std::string_view value) {
  std::string out;
  json_writer(out).begin_object().field("v", value).end_object();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const auto err = parser.parse(out).get(doc);
  EXPECT_EQ(err, simdjson::SUCCESS) << "not JSON: " << out;
  if (err) return {};
  std::string_view got;
  EXPECT_EQ(doc["v"].get_string().get(got), simdjson::SUCCESS) << out;
  return std::string(got);
}

TEST(json_writer, quote_and_backslash_are_escaped) {
  EXPECT_EQ(escaped(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(escaped(R"(C:\Windows\notepad.exe)"), R"("C:\\Windows\\notepad.exe")");
}

TEST(json_writer, common_control_characters_use_short_escapes) {
  EXPECT_EQ(escaped("a\nb\rc\td\be\ff"), R"("a\nb\rc\td\be\ff")");
}

TEST(json_writer, other_control_characters_are_written_as_u00xx) {
  EXPECT_EQ(escaped(std::string_view("\x01", 1)), R"("\u0001")");
  EXPECT_EQ(escaped(std::string_view("\x1f", 1)), R"("\u001f")");
  EXPECT_EQ(escaped(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(escaped(std::string_view("x\x1by", 3)), R"("x\u001by")");
}

TEST(json_writer, utf8_and_printable_ascii_pass_through_unchanged) {
  const std::string text = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x82\xac \xf0\x9f\x94\x91 /<>'";  // Grüße € 🔑
  EXPECT_EQ(escaped(text), '"' + text + '"');
}

TEST(json_writer, escaped_strings_parse_back_to_the_original_bytes) {
  const std::string nasty = std::string("q\"b\\s/\n\r\t\b\f", 11) + std::string("\x00\x01\x1f\x7f", 4) +
                            "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x94\x91";
  EXPECT_EQ(round_trip_string(nasty), nasty);
  EXPECT_EQ(round_trip_string(""), "");
}

TEST(json_writer, keys_are_escaped_too) {
  std::string out;
  json_writer(out).begin_object().field("a\"b", "x").end_object();
  EXPECT_EQ(out, R"({"a\"b":"x"})");
}

TEST(json_writer, nested_structures_get_commas_only_between_members) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.field("s", "x").field("n", std::int64_t{-42}).field_bool("t", true).field_bool("f", false);
  w.key("z").null();
  w.key("arr").begin_array().number(1).number(2).begin_object().end_object().begin_array().end_array().end_array();
  w.key("obj").begin_object().field("k", "v").end_object();
  w.end_object();
  EXPECT_EQ(out, R"({"s":"x","n":-42,"t":true,"f":false,"z":null,"arr":[1,2,{},[]],"obj":{"k":"v"}})");

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(out).get(doc), simdjson::SUCCESS);
  int64_t n = 0;
  ASSERT_EQ(doc["n"].get_int64().get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, -42);
  simdjson::dom::array arr;
  ASSERT_EQ(doc["arr"].get_array().get(arr), simdjson::SUCCESS);
  EXPECT_EQ(arr.size(), 4U);
}

TEST(json_writer, extreme_integers_are_written_exactly) {
  std::string out;
  json_writer(out).begin_array().number(INT64_MIN).number(INT64_MAX).end_array();
  EXPECT_EQ(out, "[-9223372036854775808,9223372036854775807]");
}

TEST(json_writer, field_with_a_c_string_writes_a_string_not_a_bool) {
  std::string out;
  json_writer(out).begin_object().field("k", "literal").end_object();
  EXPECT_EQ(out, R"({"k":"literal"})");
}

}  // namespace
}  // namespace json_writer_test
}  // namespace countersign::rules
