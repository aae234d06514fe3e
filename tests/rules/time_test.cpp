// Event-time parsing and rendering (rules/src/time.cpp).
//
// Expected epoch values are derived from two anchors that do not come from the code
// under test: 2000-01-01T00:00:00Z = 946'684'800 s (the well-known Y2K epoch) and
// 2026-11-29T04:43:40Z = 1'795'927'420 s (computed independently with Python's
// datetime). Everything else is anchor arithmetic.

#include <countersign/rules/time.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace countersign::rules {
namespace time_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_y2k_ms = 946'684'800'000;
constexpr std::int64_t k_sample_ms = 1'795'927'420'000;  // 2026-11-29T04:43:40Z
constexpr std::int64_t k_hour_ms = 3'600'000;
constexpr std::int64_t k_minute_ms = 60'000;

TEST(parse_rfc3339_ms, utc_with_z_gives_the_epoch_milliseconds) {
  EXPECT_EQ(parse_rfc3339_ms("2000-01-01T00:00:00Z"), k_y2k_ms);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40Z"), k_sample_ms);
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
}

TEST(parse_rfc3339_ms, lowercase_t_and_z_are_accepted) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29t04:43:40z"), k_sample_ms);
}

TEST(parse_rfc3339_ms, positive_offset_is_subtracted_to_reach_utc) {
  // 05:43:40 at +01:00 is 04:43:40 UTC.
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T05:43:40+01:00"), k_sample_ms);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T05:43:40+0100"), k_sample_ms);
}

TEST(parse_rfc3339_ms, negative_offset_without_colon_is_added_to_reach_utc) {
  // 04:43:40 at -05:30 is 10:13:40 UTC.
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40-0530"), k_sample_ms + 5 * k_hour_ms + 30 * k_minute_ms);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40-05:30"), k_sample_ms + 5 * k_hour_ms + 30 * k_minute_ms);
}

TEST(parse_rfc3339_ms, offset_can_cross_midnight_into_the_previous_day) {
  // 00:30 at +02:00 is 22:30 of the previous day.
  EXPECT_EQ(parse_rfc3339_ms("2000-01-01T00:30:00+02:00"), k_y2k_ms - 90 * k_minute_ms);
}

TEST(parse_rfc3339_ms, fractions_of_one_to_nine_digits_are_truncated_to_milliseconds) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.5Z"), k_sample_ms + 500);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.12Z"), k_sample_ms + 120);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.123Z"), k_sample_ms + 123);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.1239Z"), k_sample_ms + 123);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.123999Z"), k_sample_ms + 123);  // truncated, not rounded
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.999999999Z"), k_sample_ms + 999);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.000000001Z"), k_sample_ms);
}

TEST(parse_rfc3339_ms, fraction_combines_with_an_offset) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T05:43:40.250+01:00"), k_sample_ms + 250);
}

TEST(parse_rfc3339_ms, a_dot_without_digits_is_rejected) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40.Z"), std::nullopt);
}

TEST(parse_rfc3339_ms, space_separator_is_accepted) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29 04:43:40Z"), k_sample_ms);
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29 04:43:40.123"), k_sample_ms + 123);
}

TEST(parse_rfc3339_ms, no_zone_is_taken_as_utc) {
  EXPECT_EQ(parse_rfc3339_ms("2026-11-29T04:43:40"), k_sample_ms);
}

TEST(parse_rfc3339_ms, february_29_is_valid_in_a_leap_year_only) {
  // 2024-01-01 is 8766 days after Y2K (6 common years + 2 leap years: 2000, 2004..2020
  // = 24 years, 6 of them leap); Feb 29 is 59 days after Jan 1.
  const std::int64_t jan1_2024 = k_y2k_ms + (24 * 365 + 6) * k_ms_per_day;
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00Z"), jan1_2024 + 59 * k_ms_per_day);
  EXPECT_EQ(parse_rfc3339_ms("2000-02-29T00:00:00Z"), k_y2k_ms + 59 * k_ms_per_day);  // 400-year rule
  EXPECT_EQ(parse_rfc3339_ms("2023-02-29T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("1900-02-29T00:00:00Z"), std::nullopt);  // 100-year rule
  EXPECT_EQ(parse_rfc3339_ms("2024-02-30T00:00:00Z"), std::nullopt);
}

TEST(parse_rfc3339_ms, out_of_range_fields_are_rejected) {
  EXPECT_EQ(parse_rfc3339_ms("2026-13-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-00-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-04-31T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-00T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T24:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:60:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:00:61Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:00:00+24:00"), std::nullopt);
  EXPECT_EQ(parse_rfc3339_ms("2026-01-01T00:00:00+01:60"), std::nullopt);
}

TEST(parse_rfc3339_ms, garbage_is_rejected) {
  for (const char* text : {"", "yesterday", "2026", "2026-11-29", "2026-11-29T", "2026-11-29T04:43",
                           "2026/11/29T04:43:40Z", "26-11-29T04:43:40Z", "2026-11-29T04:43:40ZZ",
                           "2026-11-29T04:43:40 Z", "2026-11-29T04:43:40+1", "2026-11-29T04:43:40+01:0",
                           "2026-11-29T04:43:40Q", "2026-1a-29T04:43:40Z", " 2026-11-29T04:43:40Z",
                           "2026-11-29T04:43:40Z "}) {
    EXPECT_EQ(parse_rfc3339_ms(text), std::nullopt) << "input: \"" << text << '"';
  }
}

TEST(format_rfc3339_ms, renders_utc_with_millisecond_precision) {
  EXPECT_EQ(format_rfc3339_ms(k_sample_ms + 7), "2026-11-29T04:43:40.007Z");
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(k_y2k_ms - 1), "1999-12-31T23:59:59.999Z");
}

TEST(format_rfc3339_ms, appends_to_the_output_string) {
  std::string out = "t=";
  format_rfc3339_ms(k_y2k_ms, out);
  EXPECT_EQ(out, "t=2000-01-01T00:00:00.000Z");
}

TEST(format_rfc3339_ms, negative_epoch_renders_dates_before_1970) {
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_rfc3339_ms(-k_ms_per_day), "1969-12-31T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339_ms(-k_ms_per_day - 1), "1969-12-30T23:59:59.999Z");
  // 1900-01-01 is 70 years (17 leap years: 1904..1968) before 1970.
  EXPECT_EQ(format_rfc3339_ms(-(70 * 365 + 17) * k_ms_per_day), "1900-01-01T00:00:00.000Z");
}

TEST(format_rfc3339_ms, round_trips_through_the_parser) {
  for (const std::int64_t ms :
       {std::int64_t{0}, std::int64_t{-1}, std::int64_t{1}, k_y2k_ms, k_sample_ms + 999,
        k_y2k_ms + 59 * k_ms_per_day + 123,  // 2000-02-29
        -(70 * 365 + 17) * k_ms_per_day + 456, std::int64_t{-86'399'999}, std::int64_t{253'402'300'799'999}}) {
    const std::string text = format_rfc3339_ms(ms);
    EXPECT_EQ(parse_rfc3339_ms(text), ms) << "rendered as " << text;
  }
}

}  // namespace
}  // namespace time_test
}  // namespace countersign::rules
