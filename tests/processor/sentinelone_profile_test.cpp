// The SentinelOne Deep Visibility / Cloud Funnel profile (processor/src/engine/profiles/
// sentinelone.cpp): the fixture lines (tests/data/sentinelone/events.ndjson) mapped field
// by field, dotted, nested and mixed keys alike, the signature words, the event time
// and host rules, rejects, and a few lines through the pipeline.
//
// The fixtures are our own, shaped like Cloud Funnel 2.0 exports: one flat object per
// event with literally dotted keys (src.process.*, tgt.process.*, tgt.file.isSigned,
// module.*, meta.event.name, event.type, event.time in epoch ms, a `timestamp` that is a
// time of day), plus the nested and mixed shapes re-nesting exports produce. The
// real-sample test reads the public Elastic integration's MODULELOAD pipeline test
// event from the shared samples folder when it is there.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/rules/observation_codec.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#ifndef COUNTERSIGN_SENTINELONE_SAMPLE
#define COUNTERSIGN_SENTINELONE_SAMPLE ""
#endif

namespace countersign::processor {
namespace sentinelone_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::event_kind;
using rules::observation;
using rules::schema_profile;
using rules::signature_status;
using test_support::k_data;
using test_support::line_containing;
using test_support::read_lines;

// 2026-11-20T10:00:00Z (Python datetime), the base of the fixture's event.time values.
constexpr std::int64_t k_t0 = 1'795'168'800'000;
constexpr std::string_view k_agent = "5f1e0c9a27d84b6e9c3a1d2e4f607182";

const std::string& fixture() {
  static const std::string path = k_data + "/sentinelone/events.ndjson";
  return path;
}

// The fixture line whose event.id is `id`.
std::string line(std::string_view id) {
  return line_containing(fixture(), "\"" + std::string(id) + "\"");
}

// ok() fails the test on a reject or on anything but one SentinelOne observation.
using harness = test_support::parse_harness<schema_profile::sentinelone>;
constexpr auto k_s1 = schema_profile::sentinelone;

// Every field of the Observation, as the observation codec writes it.
std::string encoded(const observation& o) {
  std::string out;
  rules::encode_observation(o, out);
  return out;
}

// --- fixture lines ---------------------------------------------------------------------

TEST(sentinelone_profile, the_fixture_has_the_lines_these_tests_expect) {
  const auto lines = read_lines(fixture());
  ASSERT_EQ(lines.size(), 14U) << "events.ndjson changed; review the tests";
  harness h;
  std::size_t accepted = 0;
  for (const auto& l : lines) {
    if (l.find("cs-s1-reject-") != std::string::npos) continue;
    const auto& b = h.ok_batch(l, k_s1);
    ASSERT_FALSE(b.empty()) << l;
    for (std::size_t i = 0; i < b.size(); ++i) {
      const auto& o = b[i];
      EXPECT_EQ(o.source.schema, k_s1);
      EXPECT_NE(o.host_hash, 0U);
      EXPECT_TRUE(o.event_time_ms.has_value());
    }
    ++accepted;
  }
  EXPECT_EQ(accepted, 10U);
}

TEST(sentinelone_profile, dotted_cloud_funnel_lines_are_detected_without_pinning_the_profile) {
  harness h;
  for (const auto* id : {"cs-s1-module-01", "cs-s1-proc-verified", "cs-s1-proc-unverified",
                         "cs-s1-proc-unsigned", "cs-s1-file-unsigned-actor", "cs-s1-dns-no-signature",
                         "cs-s1-net-unverified-actor", "cs-s1-proc-rfc3339"}) {
    SCOPED_TRACE(id);
    const auto& b = h.ok_batch(line(id));  // Expected profile checked by the harness
    EXPECT_FALSE(b.empty());
  }
}

TEST(sentinelone_profile, a_module_load_judges_the_module_and_adds_the_loaders_own_facts) {
  harness h;
  const auto& b = h.ok_batch(line("cs-s1-module-01"), k_s1);
  ASSERT_EQ(b.size(), 2U);

  const auto& m = b[0];
  EXPECT_EQ(m.kind, event_kind::image_load);
  EXPECT_EQ(m.event_time_ms, k_t0 + 125) << "event.time, not the time-of-day `timestamp`";
  EXPECT_EQ(m.host_id.value, k_agent);
  EXPECT_EQ(m.host_name.value, "ws-s1-01");
  EXPECT_EQ(m.host_key(), k_agent);
  EXPECT_EQ(m.user_name.value, R"(CORP\alice)") << "the loader's user";
  EXPECT_EQ(m.image_path.value, R"(C:\Users\alice\AppData\Local\Widget\helper.dll)");
  EXPECT_EQ(m.process_path.value, R"(C:\Users\alice\AppData\Local\Widget\widget.exe)");
  EXPECT_EQ(m.sha1.value, "abcdef0123456789abcdef0123456789abcdef01") << "lowercased";
  EXPECT_FALSE(m.sha256.present) << "no module.sha256; module.md5 is not kept";
  EXPECT_FALSE(m.pe.original_file_name.present);
  EXPECT_FALSE(m.pe.company.present);
  const auto& ms = m.signature;
  EXPECT_EQ(ms.exists, false);
  EXPECT_EQ(ms.status, signature_status::not_signed);
  EXPECT_EQ(ms.status_raw.value, "unsigned");
  EXPECT_FALSE(ms.trusted.has_value());
  EXPECT_FALSE(ms.subject.present) << "the loader's publisher is not the module's signer";
  EXPECT_FALSE(ms.subject_cn.present);
  EXPECT_FALSE(ms.thumbprint.present);
  EXPECT_FALSE(ms.issuer.present);
  EXPECT_FALSE(ms.is_present());

  const auto& l = b[1];
  EXPECT_EQ(l.kind, event_kind::unknown) << "not a process start: Sigma's process_creation must not see it";
  EXPECT_EQ(l.event_time_ms, k_t0 + 125);
  EXPECT_EQ(l.host_id.value, k_agent);
  EXPECT_EQ(l.host_name.value, "ws-s1-01");
  EXPECT_EQ(l.host_hash, m.host_hash);
  EXPECT_EQ(l.user_name.value, R"(CORP\alice)");
  EXPECT_EQ(l.image_path.value, R"(C:\Users\alice\AppData\Local\Widget\widget.exe)");
  EXPECT_FALSE(l.process_path.present);
  EXPECT_EQ(l.sha256.value, "2222222222222222222222222222222222222222222222222222222222222222");
  EXPECT_EQ(l.sha1.value, "1111111111111111111111111111111111111111");
  const auto& ls = l.signature;
  EXPECT_EQ(ls.exists, true);
  EXPECT_EQ(ls.status, signature_status::valid);
  EXPECT_EQ(ls.status_raw.value, "signed/verified");
  EXPECT_EQ(ls.trusted, true);
  EXPECT_EQ(ls.subject.value, "ACME WIDGETS LLC");
  EXPECT_EQ(ls.subject_cn.value, "ACME WIDGETS LLC") << "a bare name is its own CN";
  EXPECT_FALSE(ls.subject_o.present);
  EXPECT_FALSE(ls.thumbprint.present);
  EXPECT_FALSE(ls.serial.present);
  EXPECT_FALSE(ls.not_before_ms.has_value());
}

TEST(sentinelone_profile, a_process_creation_judges_the_created_image_with_its_verified_publisher) {
  harness h;
  const auto& o = h.ok(line("cs-s1-proc-verified"), k_s1);
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0 + 60'000);
  EXPECT_EQ(o.host_id.value, k_agent);
  EXPECT_EQ(o.host_name.value, "ws-s1-01");
  EXPECT_EQ(o.user_name.value, R"(CORP\bob)") << "tgt.process.user";
  EXPECT_EQ(o.image_path.value, R"(C:\Program Files\Contoso\Reporter\reporter.exe)");
  EXPECT_EQ(o.process_path.value, R"(C:\Windows\System32\cmd.exe)") << "the creator";
  EXPECT_EQ(o.sha256.value, "8888888888888888888888888888888888888888888888888888888888888888");
  EXPECT_EQ(o.sha1.value, "7777777777777777777777777777777777777777");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_EQ(s.status, signature_status::valid);
  EXPECT_EQ(s.status_raw.value, "signed/verified");
  EXPECT_EQ(s.trusted, true);
  EXPECT_EQ(s.subject.value, "CONTOSO SOFTWARE LTD");
  EXPECT_EQ(s.subject_cn.value, "CONTOSO SOFTWARE LTD");
  EXPECT_FALSE(s.issuer.present);
  EXPECT_FALSE(s.thumbprint.present);
  EXPECT_FALSE(o.ci.present());
}

TEST(sentinelone_profile, a_signed_unverified_image_is_untrusted_and_keeps_both_words_raw) {
  harness h;
  const auto& o = h.ok(line("cs-s1-proc-unverified"), k_s1);
  EXPECT_EQ(o.kind, event_kind::process_start) << "classified by event.type \"Process Creation\" alone";
  EXPECT_EQ(o.event_time_ms, k_t0 + 120'000);
  EXPECT_EQ(o.image_path.value, R"(C:\Users\bob\Downloads\nova-setup.exe)");
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, true);
  EXPECT_TRUE(s.is_present());
  EXPECT_EQ(s.status, signature_status::untrusted_root);
  EXPECT_EQ(s.status_raw.value, "signed/unverified");
  EXPECT_EQ(s.trusted, false);
  EXPECT_EQ(s.subject.value, "NOVA TOOLS OU");
}

TEST(sentinelone_profile, an_unsigned_image_is_not_signed_and_an_empty_publisher_is_present_but_empty) {
  harness h;
  const auto& o = h.ok(line("cs-s1-proc-unsigned"), k_s1);
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.image_path.value, R"(C:\Users\bob\AppData\Roaming\x\run.exe)");
  EXPECT_EQ(o.sha256.value, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
  EXPECT_FALSE(o.sha1.present);
  EXPECT_FALSE(o.user_name.present) << "no tgt.process.user; the creator's user is not borrowed";
  const auto& s = o.signature;
  EXPECT_EQ(s.exists, false);
  EXPECT_FALSE(s.is_present());
  EXPECT_EQ(s.status, signature_status::not_signed);
  EXPECT_EQ(s.status_raw.value, "unsigned/unverified");
  EXPECT_FALSE(s.trusted.has_value());
  EXPECT_TRUE(s.subject.present) << "tgt.process.publisher \"\" was carried";
  EXPECT_EQ(s.subject.value, "");
  EXPECT_FALSE(s.subject.has_value());
}

TEST(sentinelone_profile, nested_and_mixed_keys_give_the_same_observation_as_dotted_keys) {
  harness h;
  const std::string dotted = encoded(h.ok(line("cs-s1-proc-verified"), k_s1));
  const auto& nested = h.ok(line("cs-s1-proc-verified-nested"), k_s1);
  EXPECT_EQ(nested.image_path.value, R"(C:\Program Files\Contoso\Reporter\reporter.exe)");
  EXPECT_EQ(nested.signature.subject.value, "CONTOSO SOFTWARE LTD");
  EXPECT_EQ(encoded(nested), dotted) << "nested objects";
  const auto& mixed = h.ok(line("cs-s1-proc-verified-mixed"), k_s1);
  EXPECT_EQ(mixed.process_path.value, R"(C:\Windows\System32\cmd.exe)");
  EXPECT_EQ(encoded(mixed), dotted) << "dotted keys holding objects";
}

TEST(sentinelone_profile, an_event_without_a_target_of_its_own_yields_the_acting_process_with_kind_unknown) {
  harness h;
  const auto& o = h.ok(line("cs-s1-net-unverified-actor"), k_s1);
  EXPECT_EQ(o.kind, event_kind::unknown);
  EXPECT_EQ(o.event_time_ms, k_t0 + 360'000);
  EXPECT_EQ(o.image_path.value, R"(C:\Users\bob\Downloads\nova-setup.exe)");
  EXPECT_FALSE(o.process_path.present);
  EXPECT_EQ(o.user_name.value, R"(CORP\bob)");
  EXPECT_EQ(o.sha256.value, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  EXPECT_EQ(o.signature.status, signature_status::untrusted_root);
  EXPECT_EQ(o.signature.trusted, false);
  EXPECT_EQ(o.signature.subject.value, "NOVA TOOLS OU");
}

TEST(sentinelone_profile, an_actor_that_is_unsigned_or_silent_about_signing_has_no_signature_present) {
  harness h;
  const auto& file = h.ok(line("cs-s1-file-unsigned-actor"), k_s1);
  EXPECT_EQ(file.kind, event_kind::unknown);
  EXPECT_EQ(file.image_path.value, R"(C:\Users\bob\AppData\Roaming\x\run.exe)")
      << "the actor, not tgt.file.path";
  EXPECT_EQ(file.signature.exists, false)
      << "src.process.signedStatus, not the created file's tgt.file.isSigned";
  EXPECT_EQ(file.signature.status, signature_status::not_signed);
  EXPECT_FALSE(file.signature.is_present());

  const auto& dns = h.ok(line("cs-s1-dns-no-signature"), k_s1);
  EXPECT_EQ(dns.kind, event_kind::unknown);
  EXPECT_EQ(dns.image_path.value, R"(C:\Tools\probe.exe)");
  EXPECT_FALSE(dns.signature.exists.has_value());
  EXPECT_EQ(dns.signature.status, signature_status::missing);
  EXPECT_FALSE(dns.signature.status_raw.present);
  EXPECT_FALSE(dns.signature.subject.present);
  EXPECT_FALSE(dns.signature.is_present());
}

TEST(sentinelone_profile,
     a_full_date_timestamp_stands_in_for_event_time_and_agent_uuid_alone_names_the_host) {
  harness h;
  const auto& o = h.ok(line("cs-s1-proc-rfc3339"), k_s1);
  EXPECT_EQ(o.event_time_ms, k_t0 + 7 * 60'000 + 500);
  EXPECT_EQ(o.host_id.value, k_agent);
  EXPECT_FALSE(o.host_name.present);
  EXPECT_EQ(o.host_key(), k_agent);
  EXPECT_EQ(o.signature.subject.value, "MICROSOFTWINDOWS");
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_FALSE(o.process_path.present);
}

TEST(sentinelone_profile, epoch_times_read_as_numbers_or_numeric_strings) {
  harness h;
  const auto with_time = [](std::string_view time_member) {
    return R"({"meta.event.name":"PROCESSCREATION","endpoint.name":"h",)" + std::string(time_member) +
           R"(,"tgt.process.image.path":"C:\\a.exe"})";
  };
  EXPECT_EQ(h.ok(with_time(R"("event.time":"1795168800000")"), k_s1).event_time_ms, k_t0);
  EXPECT_EQ(h.ok(with_time(R"("timestamp":1795168800)"), k_s1).event_time_ms, k_t0) << "epoch seconds";
  EXPECT_EQ(h.ok(with_time(R"("timestamp":"10:00:00.000","event.time":1795168800000)"), k_s1).event_time_ms,
            k_t0);
}

// --- signature words ---------------------------------------------------------------------

struct words_case {
  const char* members;  // signedStatus / verifiedStatus members of tgt.process
  std::optional<bool> exists;
  signature_status status;
  std::optional<bool> trusted;
  const char* raw;  // nullptr: not present
};

TEST(sentinelone_profile, signed_and_verified_words_map_as_the_header_table_says) {
  const words_case cases[] = {
      {R"("tgt.process.signedStatus":"SIGNED","tgt.process.verifiedStatus":"Verified")", true,
       signature_status::valid, true, "SIGNED/Verified"},
      {R"("tgt.process.signedStatus":"signed","tgt.process.verifiedStatus":"pending")", true,
       signature_status::other, std::nullopt, "signed/pending"},
      {R"("tgt.process.signedStatus":"signed")", true, signature_status::missing, std::nullopt, "signed"},
      {R"("tgt.process.signedStatus":"unsigned")", false, signature_status::not_signed, std::nullopt,
       "unsigned"},
      {R"("tgt.process.signedStatus":"partially","tgt.process.verifiedStatus":"verified")", std::nullopt,
       signature_status::other, std::nullopt, "partially/verified"},
      {R"("tgt.process.verifiedStatus":"verified")", std::nullopt, signature_status::valid, true, "verified"},
      {R"("tgt.process.verifiedStatus":"unverified")", std::nullopt, signature_status::unknown, std::nullopt,
       "unverified"},
      {R"("tgt.process.signedStatus":"","tgt.process.verifiedStatus":null)", std::nullopt,
       signature_status::missing, std::nullopt, nullptr},
      {R"("tgt.process.signedStatus":null,"tgt.file.isSigned":"signed")", true, signature_status::missing,
       std::nullopt, "signed"},
  };
  harness h;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.members);
    const std::string json =
        R"({"meta.event.name":"PROCESSCREATION","event.time":1795168800000,"agent.uuid":"a",)" +
        std::string(c.members) + "}";
    const auto& s = h.ok(json, k_s1).signature;
    EXPECT_EQ(s.exists, c.exists);
    EXPECT_EQ(s.status, c.status);
    EXPECT_EQ(s.trusted, c.trusted);
    EXPECT_EQ(s.status_raw.present, c.raw != nullptr);
    if (c.raw != nullptr) {
      EXPECT_EQ(s.status_raw.value, c.raw);
    }
  }
}

TEST(sentinelone_profile, the_created_process_own_signed_status_wins_over_tgt_file_is_signed) {
  harness h;
  const auto& o = h.ok(
      R"({"meta.event.name":"PROCESSCREATION","event.time":1795168800000,"agent.uuid":"a",)"
      R"("tgt.file.isSigned":"unsigned","tgt.process.signedStatus":"signed","tgt.process.verifiedStatus":"verified"})",
      k_s1);
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status_raw.value, "signed/verified");
}

TEST(sentinelone_profile, module_signer_and_certificate_thumbprint_fill_the_modules_signature_when_present) {
  harness h;
  const auto& b = h.ok_batch(
      R"({"meta.event.name":"MODULELOAD","event.time":1795168800000,"endpoint.name":"h","module.path":"C:\\m.dll",)"
      R"("module.sha256":"AA:BB","module.signer.name":"Acme Widgets LLC","module.certificate.thumbprint":"0A 1B 2C",)"
      R"("tgt.file.isSigned":"signed"})",
      k_s1);
  ASSERT_EQ(b.size(), 1U) << "a loader without a signed status adds nothing";
  const auto& o = b[0];
  EXPECT_EQ(o.kind, event_kind::image_load);
  EXPECT_EQ(o.sha256.value, "aabb");
  EXPECT_FALSE(o.sha1.present);
  EXPECT_EQ(o.signature.subject.value, "Acme Widgets LLC");
  EXPECT_EQ(o.signature.thumbprint.value, "0a1b2c");
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status, signature_status::missing) << "a signed bit alone is no verdict";
  EXPECT_EQ(o.signature.status_raw.value, "signed");
  EXPECT_FALSE(o.process_path.present);
}

TEST(sentinelone_profile, the_judged_processes_original_file_name_is_its_pe_original_file_name) {
  harness h;
  const auto& created = h.ok(
      R"({"meta.event.name":"PROCESSCREATION","event.time":1795168800000,"agent.uuid":"a",)"
      R"("src.process.image.originalFileName":"Cmd.Exe","tgt.process.image.originalFileName":"svchost.exe"})",
      k_s1);
  EXPECT_EQ(created.pe.original_file_name.value, "svchost.exe") << "the created image's, not the creator's";
  EXPECT_FALSE(created.pe.company.present) << "S1 reports no other version info";
  const auto& actor =
      h.ok(R"({"meta.event.name":"FILECREATION","event.time":1795168800000,"agent.uuid":"a",)"
           R"("src.process.image.originalFileName":"","tgt.process.image.originalFileName":"svchost.exe"})",
           k_s1);
  EXPECT_TRUE(actor.pe.original_file_name.present);
  EXPECT_EQ(actor.pe.original_file_name.value, "") << "the actor's, carried empty";
}

// --- rejects -------------------------------------------------------------------------------

TEST(sentinelone_profile, a_time_of_day_without_event_time_is_a_missing_event_time) {
  harness h;
  const auto e = h.err(line("cs-s1-reject-time-of-day-only"), k_s1);
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "event.time");
}

TEST(sentinelone_profile, no_endpoint_name_and_no_agent_uuid_is_a_missing_host) {
  harness h;
  const auto e = h.err(line("cs-s1-reject-no-host"), k_s1);
  EXPECT_EQ(e.reason, reject_reason::missing_field);
  EXPECT_EQ(e.detail, "endpoint.name");
  const auto empty = h.err(
      R"({"event.time":1795168800000,"endpoint.name":"","agent.uuid":null,"src.process.user":"u"})", k_s1);
  EXPECT_EQ(empty.reason, reject_reason::missing_field) << "an empty name names no host";
}

TEST(sentinelone_profile, a_mapped_field_of_the_wrong_type_is_rejected_with_its_path) {
  harness h;
  auto e = h.err(line("cs-s1-reject-wrong-type"), k_s1);
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "module.path");
  e = h.err(R"({"event.time":1,"endpoint.name":"h","tgt":{"process":{"image":{"path":7}}}})", k_s1);
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "tgt.process.image.path");
  e = h.err(R"({"event.time":1,"endpoint.name":"h","src":"conhost.exe"})", k_s1);
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "src");
  e = h.err(R"({"event.time":{"ms":1},"endpoint.name":"h"})", k_s1);
  EXPECT_EQ(e.reason, reject_reason::wrong_type);
  EXPECT_EQ(e.detail, "event.time");
}

TEST(sentinelone_profile, an_unreadable_date_time_is_a_bad_timestamp) {
  harness h;
  const auto e =
      h.err(R"({"timestamp":"2026-13-45T99:00:00Z","endpoint.name":"h","src.process.user":"u"})", k_s1);
  EXPECT_EQ(e.reason, reject_reason::bad_timestamp);
  EXPECT_EQ(e.detail, "timestamp");
}

TEST(sentinelone_profile, a_mapped_field_over_the_limit_is_cut_and_an_unmapped_one_is_skipped_unread) {
  const std::string l = line("cs-s1-reject-too-large");  // module.path 95 bytes, src.process.cmdline 200
  harness small(parser_limits{.max_message_bytes = 1 << 20, .max_field_bytes = 64});
  EXPECT_EQ(small.ok(l, k_s1).image_path.value.size(), 64U);
  harness medium(parser_limits{.max_message_bytes = 1 << 20, .max_field_bytes = 150});
  const auto& o = medium.ok(l, k_s1);
  EXPECT_EQ(o.kind, event_kind::image_load) << "the 200-byte command line is not a mapped field";
}

TEST(sentinelone_profile, an_object_with_no_sentinelone_field_is_an_unknown_schema) {
  harness h;
  const auto e = h.err(R"({"foo":{"bar":1},"src.host":"x"})", k_s1);
  EXPECT_EQ(e.reason, reject_reason::unknown_schema);
}

// --- through the pipeline --------------------------------------------------------------------

TEST(sentinelone_profile,
     through_the_pipeline_unverified_alerts_and_unsigned_or_silent_actors_are_out_of_scope) {
  pipeline p(config{});
  std::int64_t offset = 0;
  const auto run = [&](std::string_view id) {
    return p.process(line(id), {"s1.events", 0, offset++}, std::nullopt);
  };
  EXPECT_EQ(run("cs-s1-file-unsigned-actor").kind, outcome::out_of_scope);
  EXPECT_EQ(run("cs-s1-dns-no-signature").kind, outcome::out_of_scope);
  const auto r = run("cs-s1-proc-unverified");
  EXPECT_EQ(r.kind, outcome::alert);
  ASSERT_EQ(p.alerts().size(), 1U);
  EXPECT_EQ(test_support::summarize(p.alerts()[0].json),
            test_support::alert_row("cs.signature.untrusted", std::string(k_agent)));
  EXPECT_EQ(run("cs-s1-proc-verified").kind, outcome::no_alert);
}

// --- the public sample -----------------------------------------------------------------------

TEST(sentinelone_profile, the_elastic_integration_moduleload_sample_lands_module_loader_signer_and_host) {
  const std::string path = COUNTERSIGN_SENTINELONE_SAMPLE;
  if (path.empty() || !std::filesystem::exists(path)) GTEST_SKIP() << "sample not present: " << path;
  std::ostringstream text;
  text << std::ifstream(path).rdbuf();
  const std::string json = text.str();
  harness h;
  const auto& b = h.ok_batch(json);  // detected, not pinned
  ASSERT_EQ(b.size(), 2U);
  const auto& m = b[0];
  EXPECT_EQ(m.kind, event_kind::image_load);
  EXPECT_EQ(m.event_time_ms, 1'666'700'267'290);
  EXPECT_EQ(m.host_name.value, "asdf1");
  EXPECT_EQ(m.host_id.value, "asdf356783457dfds4456d65");
  EXPECT_EQ(m.image_path.value, R"(C:\Windows\System32\CoreMessaging.dll)");
  EXPECT_EQ(m.sha1.value, "af685e51f87375125126fd6eaa67ad46eb519859");
  EXPECT_EQ(m.process_path.value, R"(C:\Windows\System32\conhost.exe)");
  EXPECT_EQ(m.user_name.value, R"(NTAUTHORITY\SYSTEM)");
  EXPECT_EQ(m.signature.exists, true);
  EXPECT_EQ(m.signature.status_raw.value, "signed");
  EXPECT_FALSE(m.signature.subject.present);
  const auto& l = b[1];
  EXPECT_EQ(l.image_path.value, R"(C:\Windows\System32\conhost.exe)");
  EXPECT_EQ(l.sha256.value, "3c1c6d813d2b031d988204155fc198fe4f32ff56c05dabbcfcd5486131f4fb9d");
  EXPECT_EQ(l.sha1.value, "52a7274a0b4f9493632060fe25993a2ef24fe827");
  EXPECT_EQ(l.signature.subject.value, "MICROSOFTWINDOWS");
  EXPECT_EQ(l.signature.subject_cn.value, "MICROSOFTWINDOWS");
  EXPECT_EQ(l.signature.status, signature_status::valid);
  EXPECT_EQ(l.signature.trusted, true);
  EXPECT_EQ(l.host_name.value, "asdf1");
}

}  // namespace
}  // namespace sentinelone_profile_test
}  // namespace countersign::processor
