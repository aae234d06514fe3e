// `countersign inspect` (processor/src/inspect.cpp): a sample of mixed events in, a report
// of profiles, field fill, rejects, scope and unknown shapes out.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/inspect.hpp>
#include <countersign/processor/engine/user_profiles.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace inspect_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string k_mixed = std::string(COUNTERSIGN_TEST_DATA) + "/shapes/mixed_sample.ndjson";
const std::string k_samples = COUNTERSIGN_EVTX_SAMPLES;

config defaults() { return test_support::config_or_fail("{}"); }

std::size_t field_index(std::string_view name) {
  const auto names = inspect_field_names();
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

// The report's rows, in order, as they were before the list moved to
// rules/observation_fields.hpp: provenance and ci.klass left out, host_hash last.
TEST(inspect, reports_the_observation_fields_in_their_order) {
  const auto names = inspect_field_names();
  EXPECT_THAT(std::vector<std::string_view>(names.begin(), names.end()),
              ElementsAre("kind", "event_time", "host_id", "host_name", "user_name", "image_path", "process_path",
                          "sha256", "sha1", "pe.original_file_name", "pe.company", "pe.product", "pe.description",
                          "pe.file_version", "signature.exists", "signature.status", "signature.status_raw",
                          "signature.trusted", "signature.subject", "signature.subject_cn", "signature.subject_o",
                          "signature.thumbprint", "signature.issuer", "signature.issuer_cn", "signature.serial",
                          "signature.not_before", "signature.not_after", "signature.signing_time",
                          "signature.signature_type", "ci.event_id", "ci.activity_id", "ci.process_name",
                          "ci.policy_name", "ci.policy_id", "ci.policy_guid", "ci.requested_signing_level",
                          "ci.validated_signing_level", "ci.status", "ci.verification_error", "ci.signature_index",
                          "ci.total_signature_count", "ci.publisher_tbs_hash", "ci.issuer_tbs_hash",
                          "ci.user_writable", "ci.joined_signatures", "host_hash"));
}

TEST(inspect, reports_profiles_rejects_and_unknown_shapes_of_a_mixed_sample) {
  const auto r = run_inspect(defaults(), {k_mixed});
  EXPECT_FALSE(r.failed());
  ASSERT_EQ(r.files.size(), 1U);
  EXPECT_EQ(r.files[0].format, "ndjson");
  EXPECT_EQ(r.files[0].events, 7U);
  EXPECT_EQ(r.files[0].blank_lines, 1U);
  EXPECT_EQ(r.events, 7U);

  ASSERT_TRUE(r.profiles.contains("ecs"));
  const auto& ecs = r.profiles.at("ecs");
  EXPECT_EQ(ecs.events, 2U);
  EXPECT_EQ(ecs.in_scope, 1U);
  EXPECT_EQ(ecs.fields[field_index("signature.subject")].filled, 1U);
  EXPECT_EQ(ecs.fields[field_index("signature.subject")].missing, 1U);
  EXPECT_EQ(ecs.fields[field_index("host_id")].filled, 2U);
  EXPECT_EQ(ecs.fields[field_index("sha256")].missing, 2U);

  ASSERT_TRUE(r.rejects.contains("invalid_json"));
  EXPECT_EQ(r.rejects.at("invalid_json").count, 1U);
  EXPECT_EQ(r.rejects.at("invalid_json").example.position, 3);
  EXPECT_EQ(r.rejects.at("invalid_json").example.file, k_mixed);
  EXPECT_FALSE(r.rejects.at("invalid_json").example.detail.empty());
  ASSERT_TRUE(r.rejects.contains("not_an_object"));
  EXPECT_EQ(r.rejects.at("not_an_object").example.position, 8);
  // A well-formed object of no known shape is not bad input: out of scope, grouped below.
  EXPECT_FALSE(r.rejects.contains("unknown_schema"));
  std::uint64_t unknown = 0, no_signature = 0;
  for (const auto& [reason, t] : r.out_of_scope) {
    if (reason.starts_with("unknown_schema:")) {
      unknown += t.count;
      EXPECT_EQ(t.example.position, 4);
    }
    if (reason.starts_with("no_signature:")) {
      no_signature += t.count;
      EXPECT_EQ(t.example.position, 2);  // the ECS event without signature facts
    }
  }
  EXPECT_EQ(unknown, 3U);
  EXPECT_EQ(no_signature, 1U);

  ASSERT_EQ(r.unknown_shapes.size(), 2U);
  EXPECT_EQ(r.unknown_shapes[0].count, 2U);
  EXPECT_THAT(r.unknown_shapes[0].keys,
              ElementsAre("cert_issuer", "event_time", "file_path", "hostname", "sha256", "signer"));
  EXPECT_EQ(r.unknown_shapes[0].example.position, 4);
  EXPECT_EQ(r.unknown_shapes[1].count, 1U);
  EXPECT_THAT(r.unknown_shapes[1].keys, ElementsAre("payload", "sensor"));
}

TEST(inspect, suggests_a_profile_skeleton_from_key_names) {
  const auto r = run_inspect(defaults(), {k_mixed});
  ASSERT_FALSE(r.unknown_shapes.empty());
  const std::string y = profile_skeleton(r.unknown_shapes[0], "lab-edr");
  EXPECT_THAT(y, HasSubstr("profiles:\n  - name: lab-edr\n    match:\n"
                           "      keys: [cert_issuer, event_time, file_path, hostname, sha256, signer]\n"
                           "    kind: process_start "));
  EXPECT_THAT(y, HasSubstr("\n    fields:\n"));
  EXPECT_THAT(y, HasSubstr("      event_time: event_time   # RFC 3339 or epoch"));
  for (const char* line : {"      host_name: hostname\n",
                           "      image_path: file_path\n", "      signature.subject: signer\n",
                           "      signature.issuer: cert_issuer\n", "      sha256: sha256\n"}) {
    EXPECT_THAT(y, HasSubstr(line));
  }
}

TEST(inspect, the_profile_skeleton_loads_as_a_user_profile_file) {
  const auto r = run_inspect(defaults(), {k_mixed});
  ASSERT_FALSE(r.unknown_shapes.empty());
  const auto loaded = load_user_profiles(profile_skeleton(r.unknown_shapes[0], "lab-edr"), "skeleton.yaml");
  std::string problems;
  for (const auto& d : loaded.diagnostics) problems += d.text() + "\n";
  EXPECT_FALSE(loaded.has_errors()) << problems;
  ASSERT_EQ(loaded.set->size(), 1U) << problems;
  EXPECT_EQ(loaded.set->name(0), "lab-edr");
}

TEST(inspect, events_read_by_the_suggested_profile_are_reported_under_its_name) {
  const auto first = run_inspect(defaults(), {k_mixed});
  ASSERT_FALSE(first.unknown_shapes.empty());
  const auto dir = std::filesystem::temp_directory_path() / ("countersign-inspect-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "profiles.yaml").string();
  std::ofstream(file) << profile_skeleton(first.unknown_shapes[0], "lab-edr");
  const auto second = run_inspect(test_support::config_or_fail("input:\n  profiles_file: " + file + "\n"), {k_mixed});
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(second.profile_problems.empty());
  ASSERT_TRUE(second.profiles.contains("user:lab-edr"));
  const auto& p = second.profiles.at("user:lab-edr");
  EXPECT_EQ(p.events, 2U);
  EXPECT_EQ(p.fields[field_index("signature.issuer")].filled, 2U);
  EXPECT_EQ(p.fields[field_index("host_name")].filled, 2U);
  ASSERT_EQ(second.unknown_shapes.size(), 1U);  // only the heartbeat is left
  EXPECT_THAT(second.unknown_shapes[0].keys, ElementsAre("payload", "sensor"));
}

TEST(inspect, text_report_names_profiles_reasons_examples_and_shapes) {
  const auto r = run_inspect(defaults(), {k_mixed});
  std::ostringstream out;
  write_inspect_text(r, out);
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("inspect: 1 file, 7 events"));
  EXPECT_THAT(text, HasSubstr("fields of profile ecs (2 observations)"));
  EXPECT_THAT(text, HasSubstr("  invalid_json: 1, e.g. " + k_mixed + ":3"));
  EXPECT_THAT(text, HasSubstr("2 events, e.g. " + k_mixed + ":4, keys [cert_issuer, event_time, file_path, hostname, sha256, signer]"));
  EXPECT_THAT(text, HasSubstr("suggested user profile"));
}

TEST(inspect, json_report_is_one_parseable_object) {
  const auto r = run_inspect(defaults(), {k_mixed});
  std::ostringstream out;
  write_inspect_json(r, out);
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(out.str()).get(doc), simdjson::SUCCESS) << out.str();
  std::int64_t events = 0, filled = 0, count = 0;
  EXPECT_EQ(doc["events"].get_int64().get(events), simdjson::SUCCESS);
  EXPECT_EQ(events, 7);
  EXPECT_EQ(doc.at_pointer("/profiles/ecs/fields/host_id/filled").get_int64().get(filled), simdjson::SUCCESS);
  EXPECT_EQ(filled, 2);
  EXPECT_EQ(doc.at_pointer("/rejected/invalid_json/count").get_int64().get(count), simdjson::SUCCESS);
  EXPECT_EQ(count, 1);
  std::string_view skeleton;
  EXPECT_EQ(doc.at_pointer("/unknown_shapes/0/profile_skeleton").get_string().get(skeleton), simdjson::SUCCESS);
  EXPECT_THAT(std::string(skeleton), HasSubstr("signature.subject: signer"));
}

TEST(inspect, an_unreadable_file_fails_the_report_and_the_next_is_still_read) {
  const auto r = run_inspect(defaults(), {"/nonexistent/countersign/none.ndjson", k_mixed});
  EXPECT_TRUE(r.failed());
  ASSERT_EQ(r.files.size(), 2U);
  EXPECT_THAT(r.files[0].error, HasSubstr("/nonexistent/countersign/none.ndjson: cannot open"));
  EXPECT_EQ(r.files[1].events, 7U);
}

TEST(inspect, a_forced_schema_rejects_what_does_not_fit_it) {
  inspect_options options;
  options.forced = rules::schema_profile::ecs;
  const auto r = run_inspect(defaults(), {k_mixed}, options);
  // What does not fit the pinned profile is rejected, not grouped as an unknown shape.
  ASSERT_TRUE(r.rejects.contains("unknown_schema"));
  EXPECT_EQ(r.rejects.at("unknown_schema").count, 3U);
  EXPECT_TRUE(r.unknown_shapes.empty());
  for (const auto& [name, p] : r.profiles) EXPECT_EQ(name, "ecs");
}

TEST(inspect, evtx_files_are_counted_per_format) {
  if (!std::filesystem::is_directory(k_samples)) GTEST_SKIP() << "no evtx samples at " << k_samples;
  const auto r = run_inspect(defaults(), {k_samples + "/image_load_side_load_vcruntime140.evtx",
                                          k_samples + "/image_load_side_load_vcruntime140.json"});
  ASSERT_EQ(r.files.size(), 2U);
  EXPECT_EQ(r.files[0].format, "evtx");
  EXPECT_EQ(r.files[0].events, 1U);
  EXPECT_EQ(r.files[1].format, "json");
  EXPECT_EQ(r.files[1].events, 1U);
  EXPECT_FALSE(r.failed());
}

}  // namespace
}  // namespace inspect_test
}  // namespace countersign::processor
