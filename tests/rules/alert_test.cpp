// Alert severity, ids and the `countersign.alert/v1` rendering (rules/src/alert.cpp),
// against docs/alerts.md and schema/countersign.alert.v1.schema.json.

#include "printers.hpp"

#include <countersign/rules/alert.hpp>
#include <countersign/rules/observation_fields.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {
namespace alert_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr std::int64_t k_now = 1'795'927'420'000;  // 2026-11-29T04:43:40Z
constexpr std::int64_t k_day = k_ms_per_day;

hit make_hit(std::string_view id, severity level, std::string reason = "because.") {
  hit h;
  h.id = id;
  h.title = "A title";
  h.level = level;
  h.reason = std::move(reason);
  return h;
}

observation full_observation() {
  observation o;
  o.event_time_ms = k_now;
  o.host_id.set("host-1");
  o.host_name.set("WS-1");
  o.user_name.set("alice");
  o.image_path.set(R"(C:\Users\alice\Downloads\"odd" tool.exe)");
  o.sha256.set(std::string(64, 'a'));
  o.sha1.set(std::string(40, 'b'));
  o.pe.company.set("Acme Widgets LLC");
  o.pe.original_file_name.set("tool.exe");
  auto& s = o.signature;
  s.exists = true;
  s.status = signature_status::revoked;
  s.status_raw.set("errorRevoked");
  s.trusted = false;
  s.subject.set("Acme Widgets LLC");
  s.subject_cn.set("Acme Widgets LLC");
  s.issuer.set("CN=Example CA, O=Example");
  s.issuer_cn.set("Example CA");
  s.serial.set("00a1b2");
  s.thumbprint.set(std::string(64, 'c'));
  s.not_before_ms = k_now - 3 * k_day;
  s.not_after_ms = k_now + 362 * k_day;
  o.source.schema = schema_profile::ecs;
  o.source.topic = "countersign.events";
  o.source.partition = 3;
  o.source.offset = 1234;
  return o;
}

// Only what a parser must always provide: time, a host and a signature status.
observation sparse_observation() {
  observation o;
  o.event_time_ms = k_now;
  o.host_id.set("host-2");
  o.signature.status = signature_status::untrusted_root;
  return o;
}

// --- combined_severity ----------------------------------------------------------------

TEST(combined_severity, is_info_without_hits) {
  EXPECT_EQ(combined_severity({}), severity::info);
}

TEST(combined_severity, is_the_maximum_of_the_hits) {
  const std::vector<hit> hits = {make_hit("a", severity::low), make_hit("b", severity::high),
                                 make_hit("c", severity::medium)};
  EXPECT_EQ(combined_severity(hits), severity::high);
  const std::vector<hit> lows = {make_hit("a", severity::low), make_hit("b", severity::low)};
  EXPECT_EQ(combined_severity(lows), severity::low);
  const std::vector<hit> one = {make_hit("a", severity::medium), make_hit("b", severity::low)};
  EXPECT_EQ(combined_severity(one), severity::medium);
}

TEST(combined_severity, two_mediums_make_high) {
  const std::vector<hit> hits = {make_hit("a", severity::medium), make_hit("b", severity::medium)};
  EXPECT_EQ(combined_severity(hits), severity::high);
}

TEST(combined_severity, two_mediums_do_not_lower_a_critical) {
  const std::vector<hit> hits = {make_hit("a", severity::medium), make_hit("b", severity::critical),
                                 make_hit("c", severity::medium)};
  EXPECT_EQ(combined_severity(hits), severity::critical);
}

// --- alert_id -------------------------------------------------------------------------

const std::vector<hit> k_two_hits = {make_hit("cs.signature.revoked", severity::high),
                                     make_hit("cs.certificate.recently_issued", severity::medium)};

TEST(alert_id, is_32_lowercase_hex_characters) {
  EXPECT_THAT(alert_id(k_two_hits, full_observation(), k_day), MatchesRegex("[0-9a-f]{32}"));
}

TEST(alert_id, is_deterministic) {
  EXPECT_EQ(alert_id(k_two_hits, full_observation(), k_day), alert_id(k_two_hits, full_observation(), k_day));
}

TEST(alert_id, does_not_depend_on_hit_order) {
  const std::vector<hit> reversed = {k_two_hits[1], k_two_hits[0]};
  EXPECT_EQ(alert_id(k_two_hits, full_observation(), k_day), alert_id(reversed, full_observation(), k_day));
}

TEST(alert_id, differs_by_detector_set) {
  const std::vector<hit> one = {k_two_hits[0]};
  EXPECT_NE(alert_id(k_two_hits, full_observation(), k_day), alert_id(one, full_observation(), k_day));
}

TEST(alert_id, differs_by_host) {
  auto other = full_observation();
  other.host_id.set("host-9");
  EXPECT_NE(alert_id(k_two_hits, full_observation(), k_day), alert_id(k_two_hits, other, k_day));
}

TEST(alert_id, differs_by_file_hash) {
  auto other = full_observation();
  other.sha256.set(std::string(64, 'e'));
  EXPECT_NE(alert_id(k_two_hits, full_observation(), k_day), alert_id(k_two_hits, other, k_day));
}

TEST(alert_id, falls_back_to_sha1_when_there_is_no_sha256) {
  auto a = full_observation();
  a.sha256.reset();
  auto b = a;
  b.sha1.set(std::string(40, 'f'));
  EXPECT_NE(alert_id(k_two_hits, a, k_day), alert_id(k_two_hits, b, k_day));
}

TEST(alert_id, is_the_same_within_a_window_and_differs_across_windows) {
  // k_now is 04:43:40 of its UTC day; a one-day window runs midnight to midnight.
  auto later_same_day = full_observation();
  later_same_day.event_time_ms = k_now + 10 * 3'600'000;  // 14:43:40, same day
  auto next_day = full_observation();
  next_day.event_time_ms = k_now + 20 * 3'600'000;  // 00:43:40 next day
  const auto base = alert_id(k_two_hits, full_observation(), k_day);
  EXPECT_EQ(base, alert_id(k_two_hits, later_same_day, k_day));
  EXPECT_NE(base, alert_id(k_two_hits, next_day, k_day));
}

TEST(alert_id, differs_by_window_length) {
  EXPECT_NE(alert_id(k_two_hits, full_observation(), k_day),
            alert_id(k_two_hits, full_observation(), 3'600'000));
}

// --- render_alert ---------------------------------------------------------------------

// True when `e` or anything below it is a JSON null.
bool contains_null(simdjson::dom::element e) {
  if (e.is_null()) return true;
  simdjson::dom::array arr;
  if (e.get_array().get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element child : arr) {
      if (contains_null(child)) return true;
    }
    return false;
  }
  simdjson::dom::object obj;
  if (e.get_object().get(obj) == simdjson::SUCCESS) {
    for (simdjson::dom::key_value_pair field : obj) {
      if (contains_null(field.value)) return true;
    }
  }
  return false;
}

std::string str(simdjson::dom::element doc, std::string_view pointer) {
  std::string_view v;
  const auto err = doc.at_pointer(pointer).get_string().get(v);
  EXPECT_EQ(err, simdjson::SUCCESS) << pointer;
  return std::string(v);
}

bool has(simdjson::dom::element doc, std::string_view pointer) {
  return doc.at_pointer(pointer).error() == simdjson::SUCCESS;
}

// Renders into a reused buffer and parses the result back.
struct renderer {
  simdjson::dom::element render(const observation& o, const std::vector<hit>& hits,
                                std::int64_t detected_at = k_now + 5000) {
    render_alert(o, hits, "0123456789abcdef0123456789abcdef", detected_at, out);
    simdjson::dom::element doc;
    const auto err = parser.parse(out).get(doc);
    EXPECT_EQ(err, simdjson::SUCCESS) << "not JSON: " << out;
    return doc;
  }
  std::string out;
  simdjson::dom::parser parser;
};

// The `alert` column of rules/observation_fields.hpp against the renderer, both ways: a
// field the table places in alerts is there, under that key, with its value; and every
// observation fact in an alert (host, user, process, codeintegrity, source, time) is a
// row's key.
void collect_leaves(simdjson::dom::element e, const std::string& path, std::vector<std::string>& out) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj) != simdjson::SUCCESS) {
    out.push_back(path);
    return;
  }
  for (simdjson::dom::key_value_pair field : obj) {
    collect_leaves(field.value, path.empty() ? std::string(field.key) : path + "." + std::string(field.key), out);
  }
}

TEST(render_alert, the_observation_field_table_names_every_key_of_the_observation_in_alerts) {
  observation o;
  for (std::size_t i = 0; i < k_observation_field_count; ++i) {
    const auto name = k_observation_field_info[i].name;
    if (auto* t = observation_field_as<text_field>(o, i)) t->set(std::string("v-") + std::string(name));
    if (auto* n = observation_field_as<std::optional<std::int64_t>>(o, i)) *n = k_now + static_cast<std::int64_t>(i);
    if (auto* b = observation_field_as<std::optional<bool>>(o, i)) *b = true;
  }
  ASSERT_TRUE(o.ci.present());
  renderer r;
  const auto doc = r.render(o, {make_hit("cs.signature.revoked", severity::high)});

  std::vector<std::string> keys;
  for (std::size_t i = 0; i < k_observation_field_count; ++i) {
    const auto& row = k_observation_field_info[i];
    if (row.alert.empty()) continue;
    keys.emplace_back(row.alert);
    std::string pointer = "/" + std::string(row.alert);
    std::ranges::replace(pointer, '.', '/');
    ASSERT_TRUE(has(doc, pointer)) << row.name << " at " << pointer;
    if (observation_field_as<text_field>(o, i) != nullptr) {
      EXPECT_EQ(str(doc, pointer), std::string("v-") + std::string(row.name)) << pointer;
    }
  }

  std::vector<std::string> leaves{"time"};
  for (const std::string block : {"host", "user", "process", "codeintegrity", "source"}) {
    simdjson::dom::element e;
    ASSERT_EQ(doc.at_pointer("/" + block).get(e), simdjson::SUCCESS) << block;
    collect_leaves(e, block, leaves);
  }
  std::ranges::sort(keys);
  std::ranges::sort(leaves);
  EXPECT_EQ(leaves, keys);
}

TEST(render_alert, writes_the_v1_envelope) {
  renderer r;
  std::vector<hit> hits = {make_hit("cs.signature.revoked", severity::high, "X ran revoked.")};
  hits[0].evidence.push_back({"status", "revoked"});
  hits[0].evidence.push_back({"days_since_not_before", "3.0"});
  const auto doc = r.render(full_observation(), hits);

  EXPECT_EQ(str(doc, "/schema"), "countersign.alert/v1");
  EXPECT_EQ(str(doc, "/id"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(str(doc, "/time"), "2026-11-29T04:43:40.000Z");
  EXPECT_EQ(str(doc, "/detected_at"), "2026-11-29T04:43:45.000Z");
  EXPECT_EQ(str(doc, "/severity"), "high");
  simdjson::dom::array technique;
  ASSERT_EQ(doc.at_pointer("/technique").get_array().get(technique), simdjson::SUCCESS);
  ASSERT_EQ(technique.size(), 1U);
  EXPECT_EQ(str(doc, "/technique/0"), "T1588.003");

  simdjson::dom::array detections;
  ASSERT_EQ(doc.at_pointer("/detections").get_array().get(detections), simdjson::SUCCESS);
  ASSERT_EQ(detections.size(), 1U);
  EXPECT_EQ(str(doc, "/detections/0/id"), "cs.signature.revoked");
  EXPECT_EQ(str(doc, "/detections/0/title"), "A title");
  EXPECT_EQ(str(doc, "/detections/0/severity"), "high");
  EXPECT_EQ(str(doc, "/detections/0/reason"), "X ran revoked.");
  EXPECT_EQ(str(doc, "/detections/0/evidence/status"), "revoked");
  EXPECT_EQ(str(doc, "/detections/0/evidence/days_since_not_before"), "3.0");

  EXPECT_EQ(str(doc, "/host/id"), "host-1");
  EXPECT_EQ(str(doc, "/host/name"), "WS-1");
  EXPECT_EQ(str(doc, "/user/name"), "alice");
  EXPECT_EQ(str(doc, "/process/executable"), R"(C:\Users\alice\Downloads\"odd" tool.exe)");
  EXPECT_EQ(str(doc, "/process/hash/sha256"), std::string(64, 'a'));
  EXPECT_EQ(str(doc, "/process/hash/sha1"), std::string(40, 'b'));
  EXPECT_EQ(str(doc, "/process/pe/company"), "Acme Widgets LLC");
  EXPECT_EQ(str(doc, "/process/pe/original_file_name"), "tool.exe");
  EXPECT_EQ(str(doc, "/process/code_signature/status"), "revoked");
  EXPECT_EQ(str(doc, "/process/code_signature/status_raw"), "errorRevoked");
  bool trusted = true;
  ASSERT_EQ(doc.at_pointer("/process/code_signature/trusted").get_bool().get(trusted), simdjson::SUCCESS);
  EXPECT_FALSE(trusted);
  EXPECT_EQ(str(doc, "/process/code_signature/subject_name"), "Acme Widgets LLC");
  EXPECT_EQ(str(doc, "/process/code_signature/issuer"), "CN=Example CA, O=Example");
  EXPECT_EQ(str(doc, "/process/code_signature/serial_number"), "00a1b2");
  EXPECT_EQ(str(doc, "/process/code_signature/thumbprint"), std::string(64, 'c'));
  EXPECT_EQ(str(doc, "/process/code_signature/not_before"), "2026-11-26T04:43:40.000Z");
  EXPECT_EQ(str(doc, "/process/code_signature/not_after"), "2027-11-26T04:43:40.000Z");  // +362 days

  EXPECT_EQ(str(doc, "/source/schema"), "ecs");
  EXPECT_EQ(str(doc, "/source/topic"), "countersign.events");
  int64_t partition = -1, offset = -1;
  ASSERT_EQ(doc.at_pointer("/source/partition").get_int64().get(partition), simdjson::SUCCESS);
  ASSERT_EQ(doc.at_pointer("/source/offset").get_int64().get(offset), simdjson::SUCCESS);
  EXPECT_EQ(partition, 3);
  EXPECT_EQ(offset, 1234);
  EXPECT_FALSE(contains_null(doc));
}

TEST(render_alert, severity_combines_the_hits) {
  renderer r;
  const std::vector<hit> hits = {make_hit("cs.signature.untrusted", severity::medium),
                                 make_hit("cs.certificate.recently_issued", severity::medium)};
  const auto doc = r.render(full_observation(), hits);
  EXPECT_EQ(str(doc, "/severity"), "high");
  simdjson::dom::array detections;
  ASSERT_EQ(doc.at_pointer("/detections").get_array().get(detections), simdjson::SUCCESS);
  EXPECT_EQ(detections.size(), 2U);
  EXPECT_EQ(str(doc, "/detections/1/id"), "cs.certificate.recently_issued");
  EXPECT_EQ(str(doc, "/detections/1/severity"), "medium");
}

TEST(render_alert, missing_fields_are_omitted_not_null) {
  renderer r;
  const std::vector<hit> hits = {make_hit("cs.signature.untrusted", severity::medium)};
  const auto doc = r.render(sparse_observation(), hits);
  EXPECT_FALSE(contains_null(doc)) << r.out;
  EXPECT_EQ(r.out.find("null"), std::string::npos) << r.out;
  EXPECT_EQ(str(doc, "/host/id"), "host-2");
  EXPECT_FALSE(has(doc, "/host/name"));
  EXPECT_FALSE(has(doc, "/user"));
  EXPECT_FALSE(has(doc, "/process/executable"));
  EXPECT_FALSE(has(doc, "/process/hash/sha256"));
  EXPECT_FALSE(has(doc, "/process/hash/sha1"));
  EXPECT_FALSE(has(doc, "/process/pe/company"));
  EXPECT_EQ(str(doc, "/process/code_signature/status"), "untrusted_root");
  for (const char* key : {"status_raw", "trusted", "subject_name", "issuer", "serial_number", "thumbprint",
                          "not_before", "not_after", "timestamp"}) {
    EXPECT_FALSE(has(doc, std::string("/process/code_signature/") + key)) << key;
  }
}

TEST(render_alert, a_present_but_empty_field_is_written_as_an_empty_string) {
  renderer r;
  auto o = sparse_observation();
  o.user_name.set("");
  const std::vector<hit> hits = {make_hit("cs.signature.untrusted", severity::medium)};
  const auto doc = r.render(o, hits);
  EXPECT_EQ(str(doc, "/user/name"), "");
}

TEST(render_alert, reasons_and_evidence_are_escaped) {
  renderer r;
  std::vector<hit> hits = {make_hit("cs.signature.revoked", severity::high, "signer \"Evil\\Corp\"\n")};
  hits[0].evidence.push_back({"sub\"ject", "a\x01z"});
  const auto doc = r.render(full_observation(), hits);
  EXPECT_EQ(str(doc, "/detections/0/reason"), "signer \"Evil\\Corp\"\n");
  EXPECT_EQ(str(doc, "/detections/0/evidence/sub\"ject"), "a\x01z");
}

TEST(render_alert, output_is_replaced_not_appended) {
  renderer r;
  const std::vector<hit> hits = {make_hit("cs.signature.revoked", severity::high)};
  r.out = "leftover from an earlier alert";
  const auto doc = r.render(full_observation(), hits);
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.front(), '{');
  EXPECT_EQ(r.out.back(), '}');
  EXPECT_EQ(str(doc, "/schema"), "countersign.alert/v1");
}

}  // namespace
}  // namespace alert_test
}  // namespace countersign::rules
