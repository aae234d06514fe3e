// The ECS profile (processor/src/engine/profiles/ecs.cpp) on hand-written events,
// against docs/detections.md section 1. Every reject reason is exercised here; the pipeline
// test checks that they are counted.

#include "test_support.hpp"

#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/rules/time.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {
namespace ecs_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::observation;
using rules::signature_status;

constexpr std::int64_t k_day = rules::k_ms_per_day;
// 2026-11-20T10:00:00Z, computed independently (Python datetime).
constexpr std::int64_t k_t0 = 1'795'168'800'000;

// Everything the ECS profile maps, as nested objects.
constexpr std::string_view k_nested = R"json({
  "@timestamp": "2026-11-20T10:00:00.250Z",
  "ecs": {"version": "8.11.0"},
  "event": {"kind": "event", "category": ["process"], "type": ["start"]},
  "host": {"id": "host-1", "name": "WS-1", "os": {"family": "windows"}},
  "user": {"name": "alice"},
  "process": {
    "pid": 4242,
    "executable": "C:\\Users\\alice\\Downloads\\tool.exe",
    "hash": {"sha256": "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
             "sha1": "0123456789ABCDEF0123456789ABCDEF01234567"},
    "pe": {"original_file_name": "tool.exe", "company": "Acme Widgets LLC", "product": "Tool",
           "description": "A tool", "file_version": "1.2.3.4"},
    "code_signature": {"exists": true, "status": "errorRevoked", "trusted": false,
                       "subject_name": "Acme Widgets LLC",
                       "thumbprint_sha256": "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
                       "timestamp": "2026-11-19T08:00:00Z"}
  },
  "file": {"x509": {
    "issuer": {"distinguished_name": "CN=Example Code Signing CA, O=Example CA Ltd, C=GB",
               "common_name": ["Example Code Signing CA"]},
    "subject": {"common_name": ["Acme Widgets LLC"], "organization": ["Acme Widgets"]},
    "serial_number": "00:A1:b2 c3",
    "not_before": "2026-11-17T00:00:00Z",
    "not_after": "2027-11-17T00:00:00Z"
  }}
})json";

// The same facts with dotted keys, at the top level and inside partial objects.
constexpr std::string_view k_dotted = R"json({
  "@timestamp": "2026-11-20T10:00:00.250Z",
  "host.id": "host-1",
  "host.name": "WS-1",
  "user.name": "alice",
  "process.executable": "C:\\Users\\alice\\Downloads\\tool.exe",
  "process.hash.sha256": "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
  "process": {"hash.sha1": "0123456789ABCDEF0123456789ABCDEF01234567",
              "pe.original_file_name": "tool.exe"},
  "process.pe": {"company": "Acme Widgets LLC", "product": "Tool", "description": "A tool",
                 "file_version": "1.2.3.4"},
  "process.code_signature.exists": true,
  "process.code_signature.status": "errorRevoked",
  "process.code_signature.trusted": false,
  "process.code_signature.subject_name": "Acme Widgets LLC",
  "process.code_signature.thumbprint_sha256": "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
  "process.code_signature.timestamp": "2026-11-19T08:00:00Z",
  "file.x509.issuer.distinguished_name": "CN=Example Code Signing CA, O=Example CA Ltd, C=GB",
  "file.x509.issuer.common_name": ["Example Code Signing CA"],
  "file.x509": {"subject.common_name": ["Acme Widgets LLC"], "subject": {"organization": ["Acme Widgets"]}},
  "file.x509.serial_number": "00:A1:b2 c3",
  "file.x509.not_before": "2026-11-17T00:00:00Z",
  "file.x509.not_after": "2027-11-17T00:00:00Z"
})json";

std::string minimal_with(std::string_view code_signature_members) {
  return R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"code_signature":{)" +
         std::string(code_signature_members) + "}}}";
}

// The parser entry point, with schema detection, for messages that yield one observation.
class one_event_parser {
 public:
  explicit one_event_parser(parser_limits limits = {}) : parser_(limits) {}
  std::expected<void, parse_error> parse(std::string_view json, observation& out) {
    auto r = parser_.parse(json, batch_);
    if (!r) return std::unexpected(r.error());
    EXPECT_EQ(batch_.size(), 1U) << json;
    if (batch_.size() > 0) out = batch_[0];
    return {};
  }

 private:
  input_parser parser_;
  observation_batch batch_;
};

// ok() fails the test on a reject or unless the message yields one observation; the
// profile it was read as is not checked here.
using harness = test_support::parse_harness<>;

void expect_full_observation(const observation& o) {
  EXPECT_EQ(o.event_time_ms, k_t0 + 250);
  EXPECT_EQ(o.host_id.value, "host-1");
  EXPECT_EQ(o.host_name.value, "WS-1");
  EXPECT_EQ(o.user_name.value, "alice");
  EXPECT_EQ(o.image_path.value, R"(C:\Users\alice\Downloads\tool.exe)");
  EXPECT_EQ(o.sha256.value, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(o.sha1.value, "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(o.pe.original_file_name.value, "tool.exe");
  EXPECT_EQ(o.pe.company.value, "Acme Widgets LLC");
  EXPECT_EQ(o.pe.product.value, "Tool");
  EXPECT_EQ(o.pe.description.value, "A tool");
  EXPECT_EQ(o.pe.file_version.value, "1.2.3.4");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::revoked);
  EXPECT_EQ(s.status_raw.value, "errorRevoked");
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.subject.value, "Acme Widgets LLC");
  EXPECT_EQ(s.subject_cn.value, "Acme Widgets LLC");
  EXPECT_EQ(s.subject_o.value, "Acme Widgets");
  EXPECT_EQ(s.thumbprint.value, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(s.issuer.value, "CN=Example Code Signing CA, O=Example CA Ltd, C=GB");
  EXPECT_EQ(s.issuer_cn.value, "Example Code Signing CA");
  EXPECT_EQ(s.serial.value, "00a1b2c3");
  EXPECT_EQ(s.not_before_ms, k_t0 - 3 * k_day - 10 * 3'600'000);
  EXPECT_EQ(s.not_after_ms, k_t0 - 3 * k_day - 10 * 3'600'000 + 365 * k_day);
  EXPECT_EQ(s.signing_time_ms, k_t0 - k_day - 2 * 3'600'000);
  EXPECT_EQ(o.source.schema, rules::schema_profile::ecs);
  EXPECT_NE(o.host_hash, 0U);
}


// --- field mapping ----------------------------------------------------------------------

TEST(ecs_parser, nested_objects_fill_every_mapped_field) {
  harness h;
  expect_full_observation(h.ok(k_nested));
}

TEST(ecs_parser, dotted_keys_fill_the_same_fields_as_nested_objects) {
  harness h;
  expect_full_observation(h.ok(k_dotted));
}

TEST(ecs_parser, the_host_hash_depends_only_on_the_host_key) {
  harness h;
  const auto nested = h.ok(k_nested).host_hash;
  const auto dotted = h.ok(k_dotted).host_hash;
  EXPECT_EQ(nested, dotted);
  const auto other = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"host-2"}})").host_hash;
  EXPECT_NE(nested, other);
}

TEST(ecs_parser, unmapped_fields_of_any_shape_are_skipped) {
  harness h;
  const auto& o = h.ok(R"json({"@timestamp":"2026-11-20T10:00:00Z",
    "process":{"parent":{"executable":"C:\\evil.exe","args":[1,{"a":[null,true]}]},"pid":7,
               "executable":"C:\\good.exe"},
    "labels":{"host":{"id":"not-this-one"}},
    "host":{"id":"h1","ip":["10.0.0.1"],"geo":{"location":{"lat":1.5,"lon":2.5}}}})json");
  EXPECT_EQ(o.image_path.value, R"(C:\good.exe)");
  EXPECT_EQ(o.host_id.value, "h1");
}

TEST(ecs_parser, host_hostname_is_used_when_host_name_is_absent) {
  harness h;
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1","hostname":"ws-1"}})").host_name.value,
            "ws-1");
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"hostname":"ws-1","name":"WS-1.corp"}})")
                .host_name.value,
            "WS-1.corp");
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-1.corp","hostname":"ws-1"}})")
                .host_name.value,
            "WS-1.corp");
}

TEST(ecs_parser, a_host_name_alone_identifies_the_host) {
  harness h;
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-9"}})");
  EXPECT_FALSE(o.host_id.present);
  EXPECT_EQ(o.host_key(), "WS-9");
}

// --- status normalization ---------------------------------------------------------------

TEST(ecs_parser, status_values_are_normalized_and_the_raw_value_kept) {
  const std::vector<std::pair<std::string, signature_status>> cases = {
      {"trusted", signature_status::valid},
      {"errorExpired", signature_status::expired},
      {"errorRevoked", signature_status::revoked},
      {"errorUntrustedRoot", signature_status::untrusted_root},
      {"errorBadDigest", signature_status::bad_digest},
      {"errorChaining", signature_status::chain_error},
      {"errorCode_endpoint_0x800b0100", signature_status::unknown},
      {"errorCode_endpoint: 0x800b0100", signature_status::unknown},
      {"Valid", signature_status::valid},         // Sysmon, via Winlogbeat
      {"Expired", signature_status::expired},     // Sysmon
      {"Unavailable", signature_status::unknown}, // Sysmon
      {"somethingNew", signature_status::other},
  };
  harness h;
  for (const auto& [raw, expected] : cases) {
    const auto& o = h.ok(minimal_with(R"("exists":true,"status":")" + raw + '"'));
    EXPECT_EQ(o.signature.status, expected) << raw << " gave " << to_string(o.signature.status);
    EXPECT_EQ(o.signature.status_raw.value, raw);
    EXPECT_TRUE(o.signature.is_present()) << raw;
  }
}

TEST(ecs_parser, no_status_is_missing_not_unknown) {
  harness h;
  const auto& o = h.ok(minimal_with(R"("exists":true)"));
  EXPECT_EQ(o.signature.status, signature_status::missing);
  EXPECT_FALSE(o.signature.status_raw.present);
  EXPECT_TRUE(o.signature.is_present());
}

TEST(ecs_parser, exists_false_is_unsigned_and_not_present) {
  // docs/detections.md section 1: normalized `unsigned` <- ECS `exists: false`.
  harness h;
  const auto& o = h.ok(minimal_with(R"("exists":false)"));
  EXPECT_EQ(o.signature.exists, false);
  EXPECT_FALSE(o.signature.is_present());
  EXPECT_EQ(o.signature.status, signature_status::not_signed)
      << "exists:false normalized to " << to_string(o.signature.status);
}

TEST(ecs_parser, exists_false_wins_over_a_status_for_presence) {
  harness h;
  const auto& o = h.ok(minimal_with(R"("exists":false,"status":"errorRevoked")"));
  EXPECT_FALSE(o.signature.is_present());
}

TEST(ecs_parser, trusted_is_read_from_a_bool_or_a_string) {
  harness h;
  EXPECT_EQ(h.ok(minimal_with(R"("trusted":true)")).signature.trusted, true);
  EXPECT_EQ(h.ok(minimal_with(R"("trusted":false)")).signature.trusted, false);
  EXPECT_EQ(h.ok(minimal_with(R"("trusted":"false")")).signature.trusted, false);
  EXPECT_EQ(h.ok(minimal_with(R"("trusted":"true")")).signature.trusted, true);
  EXPECT_EQ(h.ok(minimal_with(R"("trusted":"False")")).signature.trusted, false);
  EXPECT_EQ(h.ok(minimal_with(R"("exists":"true")")).signature.exists, true);
  EXPECT_EQ(h.ok(minimal_with(R"("status":"trusted")")).signature.trusted, std::nullopt);
}

TEST(ecs_parser, a_trusted_value_that_is_not_a_boolean_is_wrong_type) {
  harness h;
  for (const char* v : {R"("trusted":"maybe")", R"("trusted":1)", R"("trusted":[true])", R"("exists":{})"}) {
    const auto e = h.err(minimal_with(v));
    EXPECT_EQ(e.reason, reject_reason::wrong_type) << v;
    EXPECT_THAT(e.detail, ::testing::StartsWith("process.code_signature.")) << v;
  }
}

// --- identifiers and names ----------------------------------------------------------------

TEST(ecs_parser, serials_thumbprints_and_hashes_become_lowercase_hex_without_separators) {
  harness h;
  const auto& o = h.ok(R"json({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "process":{"hash":{"sha256":"AAAA-bbbb CCCC"},
               "code_signature":{"thumbprint_sha256":"ABCDEF0123"}},
    "file":{"x509":{"serial_number":"00:A1:b2 c3"}}})json");
  EXPECT_EQ(o.signature.serial.value, "00a1b2c3");
  EXPECT_EQ(o.signature.thumbprint.value, "abcdef0123");
  EXPECT_EQ(o.sha256.value, "aaaabbbbcccc");
}

TEST(ecs_parser, a_subject_dn_yields_cn_and_o_with_escapes_and_quotes) {
  harness h;
  const auto& o = h.ok(minimal_with(R"json("subject_name":"CN=Acme\\, Inc., O=\"Acme, Inc.\", C=US")json"));
  EXPECT_EQ(o.signature.subject.value, R"(CN=Acme\, Inc., O="Acme, Inc.", C=US)");  // the DN is kept
  EXPECT_EQ(o.signature.subject_cn.value, "Acme, Inc.");
  EXPECT_EQ(o.signature.subject_o.value, "Acme, Inc.");
}

TEST(ecs_parser, a_bare_subject_name_is_its_own_cn) {
  harness h;
  const auto& o = h.ok(minimal_with(R"("subject_name":"Open Source Developer, Random Person")"));
  EXPECT_EQ(o.signature.subject_cn.value, "Open Source Developer, Random Person");
  EXPECT_FALSE(o.signature.subject_o.present);
}

TEST(ecs_parser, x509_subject_fields_fill_the_signer_when_code_signature_has_no_subject) {
  harness h;
  const auto& o = h.ok(R"json({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"subject":{"distinguished_name":"CN=From DN, O=Org From DN",
                               "common_name":["From CN Field"]}}}})json");
  EXPECT_EQ(o.signature.subject.value, "CN=From DN, O=Org From DN");
  EXPECT_EQ(o.signature.subject_cn.value, "From CN Field");  // the explicit field wins over the DN
  EXPECT_EQ(o.signature.subject_o.value, "Org From DN");
}

TEST(ecs_parser, x509_name_arrays_give_their_first_name_and_the_walk_continues) {
  harness h;
  const auto& o = h.ok(R"json({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"issuer":{"common_name":["First CA","Second CA"],"organization":["X"]},
                    "subject":{"common_name":[]},
                    "serial_number":"0A"}},
    "user":{"name":"after-the-arrays"}})json");
  EXPECT_EQ(o.signature.issuer_cn.value, "First CA");
  EXPECT_EQ(o.signature.issuer.value, "First CA");  // no DN given: the CN stands in
  EXPECT_FALSE(o.signature.subject.present);        // empty array: nothing known
  EXPECT_EQ(o.signature.serial.value, "0a");
  EXPECT_EQ(o.user_name.value, "after-the-arrays");
}

TEST(ecs_parser, issuer_cn_is_extracted_from_an_issuer_dn) {
  harness h;
  const auto& o = h.ok(R"json({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"issuer":{"distinguished_name":"O=\"Sectigo, Ltd\", CN=Sectigo Public Code Signing CA R36, C=GB"}}}})json");
  EXPECT_EQ(o.signature.issuer_cn.value, "Sectigo Public Code Signing CA R36");
}

TEST(ecs_parser, a_non_string_in_a_name_array_is_wrong_type) {
  harness h;
  const auto e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"issuer":{"common_name":[42]}}}})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "file.x509.issuer.common_name");
}

// --- times ------------------------------------------------------------------------------

TEST(ecs_parser, epoch_seconds_and_epoch_milliseconds_are_both_accepted) {
  harness h;
  EXPECT_EQ(h.ok(R"({"@timestamp":1795168800,"host":{"id":"h1"}})").event_time_ms, k_t0);
  EXPECT_EQ(h.ok(R"({"@timestamp":1795168800000,"host":{"id":"h1"}})").event_time_ms, k_t0);
  EXPECT_EQ(h.ok(R"({"@timestamp":1795168800.25,"host":{"id":"h1"}})").event_time_ms, k_t0 + 250);
  EXPECT_EQ(h.ok(R"({"@timestamp":1795168800123,"host":{"id":"h1"}})").event_time_ms, k_t0 + 123);
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"not_before":1795168800,"not_after":1795168800000}},
    "process":{"code_signature":{"timestamp":1795168700}}})");
  EXPECT_EQ(o.signature.not_before_ms, k_t0);
  EXPECT_EQ(o.signature.not_after_ms, k_t0);
  EXPECT_EQ(o.signature.signing_time_ms, k_t0 - 100'000);
}

TEST(ecs_parser, rfc3339_offsets_are_converted_to_utc) {
  harness h;
  EXPECT_EQ(h.ok(R"({"@timestamp":"2026-11-20T11:00:00+01:00","host":{"id":"h1"}})").event_time_ms, k_t0);
}

TEST(ecs_parser, an_absurd_epoch_number_is_a_bad_timestamp) {
  // 1e300 is neither epoch seconds nor milliseconds of any representable time; accepting
  // it makes the event time an arbitrary int64 (and later arithmetic on it overflows).
  harness h;
  const auto e = h.err(R"({"@timestamp":1e300,"host":{"id":"h1"}})");
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp) << "event_time_ms = " << h.obs.event_time_ms.value_or(0);
}

// --- missing, null and empty -------------------------------------------------------------

TEST(ecs_parser, null_is_missing) {
  harness h;
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1","name":null},
    "user":{"name":null},"file":null,
    "process":{"executable":null,"hash":null,
               "code_signature":{"exists":null,"trusted":null,"status":null,"subject_name":null}}})");
  EXPECT_FALSE(o.host_name.present);
  EXPECT_FALSE(o.user_name.present);
  EXPECT_FALSE(o.image_path.present);
  EXPECT_FALSE(o.sha256.present);
  EXPECT_FALSE(o.signature.exists.has_value());
  EXPECT_FALSE(o.signature.trusted.has_value());
  EXPECT_FALSE(o.signature.status_raw.present);
  EXPECT_EQ(o.signature.status, signature_status::missing);
  EXPECT_FALSE(o.signature.subject.present);
}

TEST(ecs_parser, an_empty_string_is_present_and_distinct_from_missing) {
  harness h;
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "user":{"name":""},"process":{"pe":{"company":""}}})");
  EXPECT_TRUE(o.user_name.present);
  EXPECT_EQ(o.user_name.value, "");
  EXPECT_FALSE(o.user_name.has_value());
  EXPECT_TRUE(o.pe.company.present);
  EXPECT_FALSE(o.pe.product.present);  // never mentioned
  EXPECT_FALSE(o.image_path.present);
}

// --- rejects ----------------------------------------------------------------------------

TEST(ecs_parser, an_empty_payload_is_rejected_as_empty) {
  harness h;
  EXPECT_EQ(h.err("").reason, reject_reason::empty);
}

TEST(ecs_parser, a_payload_above_the_message_limit_is_too_large) {
  one_event_parser parser(parser_limits{64, 4096});
  observation o;
  const std::string at_limit = R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h"},"x":")" + std::string(2, 'a') + "\"}";
  ASSERT_EQ(at_limit.size(), 64U);
  EXPECT_TRUE(parser.parse(at_limit, o).has_value());
  const std::string above = R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h"},"x":")" + std::string(3, 'a') + "\"}";
  const auto r = parser.parse(above, o);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, reject_reason::too_large);
  EXPECT_EQ(r.error().detail, "65");
}

TEST(ecs_parser, malformed_json_is_invalid_json) {
  harness h;
  for (std::string_view bad : {
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1")"),  // truncated
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"})"),   // one brace short
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"x":[1,2)"),
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"}})" "\n" "}"),
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"}} x)"),
           std::string_view(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"}} {})"),
           std::string_view(R"({"a":1} x)"),
           std::string_view(R"({"a":1}})"),
           std::string_view(R"({"host":{"id":"h1"},})"),
           std::string_view(R"({'host':1})"),
           std::string_view("{\"host\":{\"id\":\"\xff\xfe\"}}"),  // not UTF-8
           std::string_view("   "),
           std::string_view(R"({"host":{"id":"unterminated}})"),
       }) {
    EXPECT_EQ(h.err(bad).reason, reject_reason::invalid_json) << bad;
  }
}

TEST(ecs_parser, malformed_text_that_does_not_start_an_object_is_invalid_json_not_a_non_object) {
  // not_an_object is for well-formed JSON whose top level is not an object
  // (reject_reason.hpp); text that is not JSON at all is invalid_json, whatever its
  // first character looks like.
  harness h;
  for (std::string_view bad : {"not json", "nonsense", "tru", "nul", "123abc", "[1,2", "[", "[1] x", "42 43",
                               "\"unterminated"}) {
    EXPECT_EQ(h.err(bad).reason, reject_reason::invalid_json) << bad;
  }
}

TEST(ecs_parser, a_top_level_that_is_not_an_object_is_not_an_object) {
  harness h;
  for (std::string_view bad : {R"([{"@timestamp":"2026-11-20T10:00:00Z"}])", "42", R"("a string")", "true", "null"}) {
    EXPECT_EQ(h.err(bad).reason, reject_reason::not_an_object) << bad;
  }
}

TEST(ecs_parser, an_object_without_any_ecs_field_is_unknown_schema) {
  harness h;
  EXPECT_EQ(h.err(R"({"foo":1})").reason, reject_reason::unknown_schema);
  EXPECT_EQ(h.err("{}").reason, reject_reason::unknown_schema);
  EXPECT_EQ(h.err(R"({"time":1795168800000,"device":{"uid":"d"}})").reason, reject_reason::unknown_schema);
}

TEST(ecs_parser, a_mapped_field_of_the_wrong_type_is_wrong_type_and_named) {
  harness h;
  auto e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":42}})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "host.id");
  e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"code_signature":"trusted"}})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "process.code_signature");
  e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host.id":"h1","process.code_signature":["x"]})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "process.code_signature");
  e = h.err(R"({"@timestamp":true,"host":{"id":"h1"}})");
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "@timestamp");
}

TEST(ecs_parser, a_missing_timestamp_is_missing_field) {
  harness h;
  const auto e = h.err(R"({"host":{"id":"h1"},"process":{"executable":"C:\\x.exe"}})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "@timestamp");
  EXPECT_EQ(h.err(R"({"@timestamp":null,"host":{"id":"h1"}})").reason, reject_reason::missing_field);
}

TEST(ecs_parser, a_missing_host_is_missing_field) {
  harness h;
  auto e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","process":{"executable":"C:\\x.exe"}})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "host.id");
  e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"","name":""}})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"os":{"family":"windows"}}})");
  EXPECT_EQ(e.reason, reject_reason::missing_field);
}

TEST(ecs_parser, a_field_above_the_field_limit_is_cut_at_a_character_boundary) {
  one_event_parser parser(parser_limits{1 << 20, 4096});
  observation o;
  const std::string path(5000, 'x');
  auto r = parser.parse(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"executable":")" +
                            path + "\"}}",
                        o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(o.image_path.value, std::string(4096, 'x'));
  // A two-byte character across the limit is left out whole, never cut in half.
  r = parser.parse(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"executable":")" +
                       std::string(4095, 'x') + "\xC3\xA9tail\"}}",
                   o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(o.image_path.value, std::string(4095, 'x'));
  // A field of exactly the limit is accepted.
  r = parser.parse(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"executable":")" +
                       std::string(4096, 'x') + "\"}}",
                   o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(o.image_path.value.size(), 4096U);
}

TEST(ecs_parser, an_unparseable_timestamp_is_bad_timestamp) {
  harness h;
  for (const char* ts : {R"("yesterday")", R"("2026-13-01T00:00:00Z")", R"("2023-02-29T00:00:00Z")", R"("")"}) {
    const auto e = h.err(std::string(R"({"@timestamp":)") + ts + R"(,"host":{"id":"h1"}})");
    EXPECT_EQ(e.reason, reject_reason::bad_timestamp) << ts;
    EXPECT_EQ(e.detail, "@timestamp") << ts;
  }
  const auto e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},
    "file":{"x509":{"not_after":"soon"}}})");
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "file.x509.not_after");
}

TEST(ecs_parser, the_parser_is_reusable_after_a_reject) {
  harness h;
  // A reject half-way through an event that had already filled x509 subject facts...
  const auto e = h.err(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"stale-host"},
    "file":{"x509":{"subject":{"common_name":["Stale Signer"],"organization":["Stale Org"]},
                    "issuer":{"common_name":["Stale CA"]}}},
    "process":{"code_signature":{"exists":true,"status":"errorRevoked","trusted":7}}})");
  ASSERT_EQ(e.reason, reject_reason::wrong_type);
  // ...leaves nothing behind for the next one.
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"name":"WS-2"},
    "process":{"code_signature":{"exists":true,"status":"trusted"}}})");
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_FALSE(o.host_id.present);
  EXPECT_EQ(o.host_name.value, "WS-2");
  EXPECT_FALSE(o.signature.subject.present);
  EXPECT_FALSE(o.signature.subject_cn.present);
  EXPECT_FALSE(o.signature.subject_o.present);
  EXPECT_FALSE(o.signature.issuer.present);
  EXPECT_FALSE(o.signature.issuer_cn.present);
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_FALSE(o.signature.trusted.has_value());
}

TEST(ecs_parser, the_parser_is_reusable_after_every_kind_of_reject) {
  harness h;
  const std::string valid = R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"user":{"name":"bob"}})";
  for (std::string_view bad : {std::string_view(""), std::string_view(R"({"a":1} x)"), std::string_view("[1]"),
                               std::string_view(R"({"foo":1})"), std::string_view(R"({"host":{"id":1}})"),
                               std::string_view(R"({"host":{"id":"h"}})"),
                               std::string_view(R"({"@timestamp":"never","host":{"id":"h"}})"),
                               std::string_view(R"({"host":{"id":"h1")")}) {
    (void)h.err(bad);
    const auto& o = h.ok(valid);
    EXPECT_EQ(o.event_time_ms, k_t0) << "after " << bad;
    EXPECT_EQ(o.host_id.value, "h1") << "after " << bad;
    EXPECT_EQ(o.user_name.value, "bob") << "after " << bad;
  }
}

TEST(ecs_parser, a_large_message_followed_by_a_small_one_parses_correctly) {
  // The padded copy buffer only grows; a short message must not see bytes of a longer one.
  harness h;
  (void)h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h1"},"process":{"executable":")" +
             std::string(3000, 'y') + "\"}}");
  EXPECT_EQ(h.err(R"({"host":{"id":"h2"}})").reason, reject_reason::missing_field);
  const auto& o = h.ok(R"({"@timestamp":"2026-11-20T10:00:00Z","host":{"id":"h3"}})");
  EXPECT_FALSE(o.image_path.present);
  EXPECT_EQ(o.host_id.value, "h3");
}

}  // namespace
}  // namespace ecs_profile_test
}  // namespace countersign::processor
