// User-defined input profiles (processor/src/engine/profiles/user_profile.cpp, docs/profiles.md):
// an invented EDR shape read field by field (tests/data/user_profiles/acme_edr.*), the
// shipped osquery profile on differential and snapshot results (tests/data/osquery/, written
// from osquery's documented log format and the authenticode table's result values),
// load diagnostics with file:line, match() against other schemas, hot reload, and
// hostile documents.
//
// The engine is driven directly (the input parser wires it in separately): a document is
// matched, rewound and walked as input_parser does with built-in profiles.

#include "../../processor/src/engine/profiles/walk.hpp"
#include "test_support.hpp"

#include <countersign/processor/engine/user_profiles.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <expected>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

// Counts heap allocations on a thread while `counting` is set, for the steady-state test
// below (global replacements; the rest of the binary sees plain malloc/free). Under
// AddressSanitizer the sanitizer owns operator new/delete, so the count is left out there
// (the ASan pass of scripts/test.sh) and the release pass asserts it.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang says it this way
#define COUNTERSIGN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(COUNTERSIGN_SANITIZED)
#define COUNTERSIGN_COUNT_ALLOCS 0
#else
#define COUNTERSIGN_COUNT_ALLOCS 1
#endif
namespace user_profile_alloc {
std::atomic<long> count{0};
thread_local bool counting = false;
}  // namespace user_profile_alloc

#if COUNTERSIGN_COUNT_ALLOCS

void* operator new(std::size_t n) {
  if (user_profile_alloc::counting) user_profile_alloc::count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace countersign::processor {
namespace user_profile_test {  // one per file: the test programs are unity builds
namespace {

using rules::event_kind;
using rules::observation;
using rules::signature_status;
using ::testing::HasSubstr;
using test_support::k_data;
using test_support::line_containing;
using test_support::read_lines;

constexpr std::int64_t k_t0 = 1'795'168'800'000;          // 2026-11-20T10:00:00Z
constexpr std::int64_t k_2025_03_01 = 1'740'787'200'000;
constexpr std::int64_t k_2027_03_01 = 1'803'859'200'000;
constexpr std::int64_t k_2024_01_01 = 1'704'067'200'000;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Loads YAML text and fails the test on any diagnostic.
std::shared_ptr<const user_profile_set> load_clean(std::string_view yaml, std::string_view file = "test.yaml") {
  auto res = load_user_profiles(yaml, file);
  for (const auto& d : res.diagnostics) ADD_FAILURE() << d.text();
  return res.set;
}

std::shared_ptr<const user_profile_set> acme() {
  return load_clean(read_file(k_data + "/user_profiles/acme_edr.yaml"), "acme_edr.yaml");
}

std::shared_ptr<const user_profile_set> osquery() {
  auto res = load_builtin_profiles();
  for (const auto& d : res.diagnostics) ADD_FAILURE() << d.text();
  return res.set;
}

// One message through match() and walk(), as the input parser runs a profile.
class harness {
 public:
  explicit harness(parser_limits limits = {}) : limits_(limits) {}

  // The index match() returns (-1: none); -2 when the text is not a JSON object.
  int match(const user_profile_set& set, std::string_view json) {
    if (!load(json)) return -2;
    simdjson::ondemand::object root;
    if (doc_.get_object().get(root)) return -2;
    return set.match(root);
  }

  // Matches, then walks the profile that matched (or `forced`). Unexpected on a reject.
  std::expected<int, parse_error> parse(const user_profile_set& set, std::string_view json, int forced = -1) {
    out_.clear();
    const int i = forced >= 0 ? forced : match(set, json);
    if (i == -2) return std::unexpected(parse_error{reject_reason::invalid_json, "not an object"});
    if (i < 0) return std::unexpected(parse_error{reject_reason::unknown_schema, {}});
    if (forced >= 0 && !load(json)) return std::unexpected(parse_error{reject_reason::invalid_json, "not an object"});
    doc_.rewind();
    simdjson::ondemand::object root;
    if (auto err = doc_.get_object().get(root)) {
      return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
    }
    context_.path.clear();
    context_.fields.clear();
    if (set.walk(static_cast<std::size_t>(i), root, context_, out_) == detail::walk_status::failed) {
      return std::unexpected(error_);
    }
    return i;
  }

  // The one observation of a message that must parse; fails the test otherwise.
  const observation& one(const user_profile_set& set, std::string_view json) {
    const auto res = parse(set, json);
    EXPECT_TRUE(res.has_value()) << (res ? "" : std::string(to_string(res.error().reason)) + " " + res.error().detail)
                                 << "\n" << json;
    EXPECT_EQ(out_.size(), 1U) << json;
    if (out_.empty()) out_.add();
    return out_[0];
  }

  [[nodiscard]] const observation_batch& out() const { return out_; }

 private:
  bool load(std::string_view json) {
    text_ = simdjson::padded_string(json);
    if (parser_.iterate(text_).get(doc_)) return false;
    simdjson::ondemand::json_type type;
    return doc_.type().get(type) == simdjson::SUCCESS && type == simdjson::ondemand::json_type::object;
  }

  parser_limits limits_;
  parse_error error_{reject_reason::invalid_json, {}};
  detail::walk_context context_{limits_, error_, {}, {}, {}};
  simdjson::ondemand::parser parser_;
  simdjson::padded_string text_;
  simdjson::ondemand::document doc_;
  observation_batch out_;
};

// ---------------------------------------------------------------------------------------
// An invented EDR shape, field by field

TEST(user_profile, invented_edr_event_is_read_field_by_field) {
  const auto set = acme();
  ASSERT_EQ(set->size(), 1U);
  EXPECT_EQ(set->name(0), "acme_edr");
  harness h;
  const auto& o = h.one(*set, read_lines(k_data + "/user_profiles/acme_edr.ndjson")[0]);
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0);  // epoch_ms
  EXPECT_EQ(o.host_id.view(), "A-17");  // a literal dotted key, "agent.uuid"
  EXPECT_EQ(o.host_name.view(), "WS-0042");
  EXPECT_NE(o.host_hash, 0U);
  EXPECT_EQ(o.user_name.view(), "CORP\\alice");
  // "proc.image" is a dotted key holding an object; "proc" a nested object beside it.
  EXPECT_EQ(o.image_path.view(), "C:\\Users\\alice\\AppData\\Local\\Temp\\upd.exe");
  EXPECT_EQ(o.process_path.view(), "C:\\Windows\\explorer.exe");
  EXPECT_EQ(o.sha256.view(), "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(o.sha1.view(), "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(o.pe.original_file_name.view(), "upd.exe");
  EXPECT_EQ(o.pe.company.view(), "Acme Updates Ltd");
  EXPECT_FALSE(o.pe.product.present);
  const auto& sig = o.signature;
  EXPECT_EQ(sig.status, signature_status::revoked);
  EXPECT_EQ(sig.status_raw.view(), "SIG_REVOKED");
  EXPECT_EQ(sig.trusted, false);
  EXPECT_TRUE(sig.is_present());
  EXPECT_EQ(sig.subject.view(), "CN=Acme Updates Ltd, O=Acme Updates Ltd, C=GB");
  EXPECT_EQ(sig.subject_cn.view(), "Acme Updates Ltd");  // finish_signature splits the DN
  EXPECT_EQ(sig.subject_o.view(), "Acme Updates Ltd");
  EXPECT_EQ(sig.issuer_cn.view(), "Sectigo Public Code Signing CA R36");
  EXPECT_EQ(sig.serial.view(), "0a1b2c3d");
  EXPECT_EQ(sig.thumbprint.view(), "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c");
  EXPECT_EQ(sig.not_before_ms, k_2025_03_01);  // "%Y-%m-%d %H:%M:%S"
  EXPECT_EQ(sig.not_after_ms, k_2027_03_01);
  EXPECT_EQ(sig.signing_time_ms, k_t0 - 3'602'000);  // 09:59:58 +0100 is 08:59:58Z
}

TEST(user_profile, dotted_keys_unmapped_status_words_and_kind_maps_read_as_documented) {
  const auto set = acme();
  const auto lines = read_lines(k_data + "/user_profiles/acme_edr.ndjson");
  harness h;
  const auto& module = h.one(*set, lines[1]);
  EXPECT_EQ(module.kind, event_kind::image_load);
  EXPECT_EQ(module.image_path.view(), "C:\\ProgramData\\x\\hook.dll");    // "proc.image.path"
  EXPECT_EQ(module.process_path.view(), "C:\\Windows\\System32\\svchost.exe");
  EXPECT_EQ(module.signature.status, signature_status::other);  // a word the map does not name
  EXPECT_EQ(module.signature.status_raw.view(), "SIG_PARTIAL");
  EXPECT_FALSE(module.signature.trusted.has_value());  // "unknown" is not in the boolean map
  const auto& heartbeat = h.one(*set, lines[2]);
  EXPECT_EQ(heartbeat.kind, event_kind::unknown);  // kind_from's default
  EXPECT_EQ(heartbeat.host_key(), "A-18");
  EXPECT_EQ(heartbeat.signature.status, signature_status::missing);
}

TEST(user_profile, time_patterns_read_osquery_calendar_time_and_reject_other_text) {
  const auto set = load_clean(R"(
profiles:
  - name: calendar
    match: {keys: [calendarTime]}
    kind: process_start
    fields:
      host_name: host
      event_time: {path: calendarTime, format: "%a %b %e %H:%M:%S %Y %Z"}
      signature.not_after: {path: until, format: "%Y%m%d"}
)");
  harness h;
  const auto& o = h.one(*set, R"({"host":"h","calendarTime":"Mon Jan  1 00:00:00 2024 UTC","until":"20270301"})");
  EXPECT_EQ(o.event_time_ms, k_2024_01_01);
  EXPECT_EQ(o.signature.not_after_ms, k_2027_03_01);
  const auto bad = h.parse(*set, R"({"host":"h","calendarTime":"Mon Jan  1 00:00:00 2024 CET"})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().reason, reject_reason::bad_timestamp);
  EXPECT_EQ(bad.error().detail, "calendarTime");
  const auto feb30 = h.parse(*set, R"({"host":"h","calendarTime":"Mon Feb 30 00:00:00 2024 UTC"})");
  ASSERT_FALSE(feb30.has_value());
  EXPECT_EQ(feb30.error().reason, reject_reason::bad_timestamp);
}

TEST(user_profile, equals_tests_compare_numbers_by_their_token_and_strings_exactly) {
  const auto set = load_clean(R"(
profiles:
  - name: versioned
    match:
      equals: {v: 2, kind: [exec, {prefix: "proc."}], "meta.src": {suffix: "-edr"}}
    kind: process_start
    fields: {host_name: h, event_time: t}
)");
  harness h;
  EXPECT_EQ(h.match(*set, R"({"v":2,"kind":"exec","meta":{"src":"acme-edr"}})"), 0);
  EXPECT_EQ(h.match(*set, R"({"v":2,"kind":"proc.start","meta.src":"acme-edr"})"), 0);
  EXPECT_EQ(h.match(*set, R"({"v":"2","kind":"exec","meta":{"src":"acme-edr"}})"), 0);
  EXPECT_EQ(h.match(*set, R"({"v":3,"kind":"exec","meta":{"src":"acme-edr"}})"), -1);
  EXPECT_EQ(h.match(*set, R"({"v":2,"kind":"Exec","meta":{"src":"acme-edr"}})"), -1);
  EXPECT_EQ(h.match(*set, R"({"v":2,"kind":"exec","meta":{"src":"acme-edr-x"}})"), -1);
  EXPECT_EQ(h.match(*set, R"({"v":2,"kind":"exec"})"), -1);
}

// ---------------------------------------------------------------------------------------
// osquery (rules/content/profiles/osquery.yaml)

const std::string k_differential = k_data + "/osquery/differential.ndjson";

TEST(osquery_profile, shipped_profile_is_compiled_in_and_loads_clean) {
  ASSERT_FALSE(builtin_profile_files().empty());
  EXPECT_EQ(builtin_profile_files()[0].name, "osquery.yaml");
  const auto set = osquery();
  ASSERT_EQ(set->size(), 1U);
  EXPECT_EQ(set->name(0), "osquery");
}

TEST(osquery_profile, differential_added_row_with_a_trusted_signature_is_a_process_start) {
  const auto set = osquery();
  harness h;
  const auto& o = h.one(*set, line_containing(k_differential, R"("pid":"4101")"));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_EQ(o.host_name.view(), "WS-0042");
  EXPECT_EQ(o.host_id.view(), "4c4c4544-0042-3510-8052-b4c04f4a3732");  // decorations.host_uuid
  EXPECT_EQ(o.image_path.view(), "C:\\Windows\\System32\\notepad.exe");
  EXPECT_EQ(o.sha256.view(), "4f284f284f284f284f284f284f284f284f284f284f284f284f284f284f284f28");
  EXPECT_EQ(o.sha1.view(), "6e176e176e176e176e176e176e176e176e176e17");
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_EQ(o.signature.status_raw.view(), "trusted");
  EXPECT_EQ(o.signature.trusted, true);
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.subject.view(), "Microsoft Windows");
  EXPECT_EQ(o.signature.subject_cn.view(), "Microsoft Windows");  // a bare name is its CN
  EXPECT_EQ(o.signature.issuer.view(), "Microsoft Windows Production PCA 2011");
  EXPECT_EQ(o.signature.serial.view(), "33000003ee1e3f7a8c2d4a5b6000000003ee");
}

TEST(osquery_profile, authenticode_results_map_to_statuses_and_trust) {
  const auto set = osquery();
  harness h;
  struct expected_row {
    const char* pid;
    signature_status status;
    std::optional<bool> trusted;
    std::optional<bool> exists;
  };
  for (const auto& row : {expected_row{"4102", signature_status::untrusted_root, false, true},   // distrusted
                          expected_row{"4103", signature_status::other, false, true},            // untrusted
                          expected_row{"4104", signature_status::not_signed, std::nullopt, false},  // missing
                          expected_row{"4107", signature_status::valid, std::nullopt, true}}) {  // valid
    SCOPED_TRACE(row.pid);
    const auto& o = h.one(*set, line_containing(k_differential, std::string(R"("pid":")") + row.pid + "\""));
    EXPECT_EQ(o.signature.status, row.status);
    EXPECT_EQ(o.signature.trusted, row.trusted);
    EXPECT_EQ(o.signature.exists, row.exists);
  }
  const auto& untrusted = h.one(*set, line_containing(k_differential, R"("pid":"4103")"));
  EXPECT_EQ(untrusted.signature.status_raw.view(), "untrusted");
  const auto& unsigned_row = h.one(*set, line_containing(k_differential, R"("pid":"4104")"));
  EXPECT_FALSE(unsigned_row.signature.is_present());
  EXPECT_FALSE(unsigned_row.signature.subject.present);  // "" from osquery is no value
}

TEST(osquery_profile, left_join_row_without_authenticode_carries_no_signature_facts) {
  const auto set = osquery();
  harness h;
  const auto& o = h.one(*set, line_containing(k_differential, R"("pid":"4105")"));
  EXPECT_EQ(o.kind, event_kind::process_start);
  EXPECT_EQ(o.signature.status, signature_status::missing);
  EXPECT_FALSE(o.signature.status_raw.present);
  EXPECT_FALSE(o.signature.exists.has_value());
  EXPECT_FALSE(o.signature.trusted.has_value());
  EXPECT_FALSE(o.signature.serial.present);
  EXPECT_EQ(o.sha256.view().size(), 64U);
}

TEST(osquery_profile, removed_row_is_an_observation_of_kind_unknown_not_an_execution) {
  const auto set = osquery();
  harness h;
  const auto& o = h.one(*set, line_containing(k_differential, R"("pid":"4106")"));
  EXPECT_EQ(o.kind, event_kind::unknown);
  EXPECT_EQ(o.image_path.view(), "C:\\Windows\\System32\\notepad.exe");  // still readable by Sigma
}

TEST(osquery_profile, unix_time_as_a_string_from_older_osquery_reads_the_same) {
  const auto set = osquery();
  harness h;
  const auto& o = h.one(*set, line_containing(k_differential, R"("pid":"4107")"));
  EXPECT_EQ(o.event_time_ms, k_t0 + 7000);
  EXPECT_EQ(o.host_name.view(), "WS-0043");
}

TEST(osquery_profile, results_of_other_queries_are_not_matched) {
  const auto set = osquery();
  harness h;
  EXPECT_EQ(h.match(*set, line_containing(k_differential, "installed_programs")), -1);
}

TEST(osquery_profile, snapshot_with_two_rows_gives_two_observations_sharing_host_and_time) {
  const auto set = osquery();
  harness h;
  const auto lines = read_lines(k_data + "/osquery/snapshot.ndjson");
  const auto res = h.parse(*set, lines[0]);
  ASSERT_TRUE(res.has_value()) << to_string(res.error().reason) << " " << res.error().detail;
  ASSERT_EQ(h.out().size(), 2U);
  const auto& a = h.out()[0];
  const auto& b = h.out()[1];
  // The root facts come after the array in the document; each record still gets them.
  for (const auto* o : {&a, &b}) {
    EXPECT_EQ(o->kind, event_kind::process_start);
    EXPECT_EQ(o->event_time_ms, k_t0);
    EXPECT_EQ(o->host_name.view(), "SRV-DB-01");
    EXPECT_EQ(o->host_id.view(), "4c4c4544-0051-3510-8052-b4c04f4a3732");
    EXPECT_EQ(o->host_hash, a.host_hash);
  }
  EXPECT_EQ(a.image_path.view(), "C:\\Program Files\\Backup\\agent.exe");
  EXPECT_EQ(a.signature.status, signature_status::valid);
  EXPECT_EQ(a.signature.subject.view(), "Backup Vendor Inc.");
  EXPECT_EQ(b.image_path.view(), "C:\\Windows\\Temp\\drv_loader.exe");
  EXPECT_EQ(b.signature.status, signature_status::untrusted_root);
  EXPECT_EQ(b.signature.trusted, false);
  EXPECT_EQ(b.signature.serial.view(), "7b2d9c0e11aa");
}

TEST(osquery_profile, batched_line_reads_its_added_rows_and_skips_the_removed_ones) {
  const auto set = osquery();
  harness h;
  const auto res = h.parse(*set, read_lines(k_data + "/osquery/batched.ndjson")[0]);
  ASSERT_TRUE(res.has_value()) << to_string(res.error().reason) << " " << res.error().detail;
  ASSERT_EQ(h.out().size(), 1U);
  const auto& o = h.out()[0];
  EXPECT_EQ(o.kind, event_kind::process_start);  // no `action` in a batched line
  EXPECT_EQ(o.image_path.view(), "C:\\Users\\bob\\AppData\\Roaming\\q\\quasar.exe");
  EXPECT_EQ(o.signature.status, signature_status::untrusted_root);
  EXPECT_EQ(o.host_name.view(), "WS-0044");
  EXPECT_EQ(o.event_time_ms, k_t0);
}

TEST(osquery_profile, empty_snapshot_gives_no_observation) {
  const auto set = osquery();
  harness h;
  const auto res = h.parse(*set, read_lines(k_data + "/osquery/snapshot.ndjson")[1]);
  ASSERT_TRUE(res.has_value());
  EXPECT_TRUE(h.out().empty());
}

// ---------------------------------------------------------------------------------------
// Steady state

TEST(user_profile_walk, matching_and_walking_again_allocates_nothing_once_buffers_have_grown) {
  const auto set = user_profile_set::combine(*acme(), *osquery());
  const auto acme_lines = read_lines(k_data + "/user_profiles/acme_edr.ndjson");
  std::vector<simdjson::padded_string> docs;
  for (const auto& line : {acme_lines[0], acme_lines[1], line_containing(k_differential, R"("pid":"4101")"),
                           read_lines(k_data + "/osquery/snapshot.ndjson")[0],
                           read_lines(k_data + "/osquery/batched.ndjson")[0]}) {
    docs.emplace_back(line);
  }
  parser_limits limits;
  parse_error error{reject_reason::invalid_json, {}};
  detail::walk_context c{limits, error, {}, {}, {}};
  simdjson::ondemand::parser parser;
  observation_batch out;
  std::vector<int> outcome(docs.size() * 3, 0);  // per round: matched index, walk ok, observations
  const auto round = [&](std::size_t r) {
    for (std::size_t d = 0; d < docs.size(); ++d) {
      simdjson::ondemand::document doc;
      simdjson::ondemand::object root;
      int matched = -1;
      bool ok = false;
      if (!parser.iterate(docs[d]).get(doc) && !doc.get_object().get(root)) {
        matched = set->match(root);
        doc.rewind();
        if (matched >= 0 && !doc.get_object().get(root)) {
          c.path.clear();
          out.clear();
          ok = set->walk(static_cast<std::size_t>(matched), root, c, out) == detail::walk_status::ok;
        }
      }
      if (r == 2) {
        outcome[d * 3] = matched;
        outcome[d * 3 + 1] = ok ? 1 : 0;
        outcome[d * 3 + 2] = static_cast<int>(out.size());
      }
    }
  };
  // The counter sees an allocation made while counting (else this test could not fail).
  user_profile_alloc::counting = true;
  void* volatile probe = ::operator new(100);  // a direct call: never elided
  user_profile_alloc::counting = false;
  ::operator delete(probe);
  if (COUNTERSIGN_COUNT_ALLOCS) {
    ASSERT_GE(user_profile_alloc::count.load(), 1);
  }
  round(0);
  round(1);
  user_profile_alloc::count = 0;
  user_profile_alloc::counting = true;
  round(2);
  user_profile_alloc::counting = false;
  if (COUNTERSIGN_COUNT_ALLOCS) {
    EXPECT_EQ(user_profile_alloc::count.load(), 0);
  }
  EXPECT_EQ(outcome, (std::vector<int>{0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1}));
}

// ---------------------------------------------------------------------------------------
// match() across shapes

TEST(user_profile_match, ecs_and_ocsf_documents_match_no_user_profile) {
  const auto set = user_profile_set::combine(*acme(), *osquery());
  ASSERT_EQ(set->size(), 2U);
  harness h;
  for (const auto& line : read_lines(k_data + "/ecs/process_events.ndjson")) {
    EXPECT_EQ(h.match(*set, line), -1) << line;
  }
  for (const auto& line : read_lines(k_data + "/ocsf/golden.ndjson")) {
    EXPECT_EQ(h.match(*set, line), -1) << line;
  }
  EXPECT_EQ(h.match(*set, R"({"class_uid":1007,"time":1795168800000,"device":{"uid":"d1"}})"), -1);
  EXPECT_EQ(h.match(*set, "{}"), -1);
}

TEST(user_profile_match, each_shape_matches_its_own_profile) {
  const auto set = user_profile_set::combine(*acme(), *osquery());
  harness h;
  EXPECT_EQ(set->name(0), "acme_edr");
  EXPECT_EQ(set->name(1), "osquery");
  EXPECT_EQ(set->find("osquery"), 1);
  EXPECT_EQ(set->find("ecs"), -1);
  for (const auto& line : read_lines(k_data + "/user_profiles/acme_edr.ndjson")) EXPECT_EQ(h.match(*set, line), 0);
  EXPECT_EQ(h.match(*set, line_containing(k_differential, R"("pid":"4101")")), 1);
  EXPECT_EQ(h.match(*set, read_lines(k_data + "/osquery/snapshot.ndjson")[0]), 1);
  // A key required by the profile absent: no match.
  EXPECT_EQ(h.match(*set, R"({"schema":"acme.edr/2","evt":{"kind":"exec"},"agent.uuid":"A-17"})"), -1);
}

TEST(user_profile_match, first_profile_in_set_order_wins_a_tie) {
  const auto set = load_clean(R"(
profiles:
  - name: narrow
    match: {keys: [a, b]}
    kind: process_start
    fields: {host_name: a, event_time: b}
  - name: wide
    match: {keys: [a]}
    kind: process_start
    fields: {host_name: a, event_time: t}
)");
  harness h;
  EXPECT_EQ(h.match(*set, R"({"b":1,"a":"x"})"), 0);
  EXPECT_EQ(h.match(*set, R"({"a":"x"})"), 1);
}

TEST(user_profile_match, combine_keeps_the_first_profile_of_a_name) {
  const auto mine = load_clean(R"(
profiles:
  - name: osquery
    match: {keys: [hostIdentifier]}
    kind: image_load
    fields: {host_name: $.hostIdentifier, event_time: $.unixTime}
)");
  const auto set = user_profile_set::combine(*mine, *osquery());
  ASSERT_EQ(set->size(), 1U);
  harness h;
  EXPECT_EQ(h.one(*set, line_containing(k_differential, R"("pid":"4101")")).kind, event_kind::image_load);
}

// Every observation field a profile may map by name, each from a key of its own, lands in
// that field and in no other (the names and conversions as they were before the list of
// targets moved to rules/observation_fields.hpp).
TEST(user_profile, every_mappable_field_lands_in_its_own_field) {
  const auto set = load_clean(R"(profiles:
  - name: all
    match: {keys: [all]}
    kind: image_load
    fields:
      host_id: k.host_id
      host_name: k.host_name
      user_name: k.user_name
      event_time: k.event_time
      image_path: k.image_path
      process_path: k.process_path
      sha256: k.sha256
      sha1: k.sha1
      pe.original_file_name: k.ofn
      pe.company: k.company
      pe.product: k.product
      pe.description: k.description
      pe.file_version: k.file_version
      signature.exists: k.exists
      signature.status: k.status
      signature.trusted: k.trusted
      signature.subject: k.subject
      signature.subject_cn: k.subject_cn
      signature.subject_o: k.subject_o
      signature.issuer: k.issuer
      signature.issuer_cn: k.issuer_cn
      signature.thumbprint: k.thumbprint
      signature.serial: k.serial
      signature.not_before: k.not_before
      signature.not_after: k.not_after
      signature.signing_time: k.signing_time
      signature.signature_type: k.signature_type
      ci.event_id: k.event_id
      ci.activity_id: k.activity_id
      ci.process_name: k.process_name
      ci.policy_name: k.policy_name
      ci.policy_id: k.policy_id
      ci.policy_guid: k.policy_guid
      ci.requested_signing_level: k.requested
      ci.validated_signing_level: k.validated
      ci.status: k.ci_status
      ci.verification_error: k.verification_error
      ci.signature_index: k.signature_index
      ci.total_signature_count: k.total_signature_count
      ci.publisher_tbs_hash: k.publisher_tbs_hash
      ci.issuer_tbs_hash: k.issuer_tbs_hash
      ci.user_writable: k.user_writable
)");
  ASSERT_EQ(set->size(), 1U);
  harness h;
  const auto& o = h.one(*set, R"({"all":1,"k":{"host_id":"hid","host_name":"hn","user_name":"un",
    "event_time":"2026-11-20T10:00:00Z","image_path":"ip","process_path":"pp","sha256":"AA","sha1":"BB",
    "ofn":"ofn","company":"co","product":"pr","description":"de","file_version":"fv","exists":"true",
    "status":"Valid","trusted":"false","subject":"su","subject_cn":"scn","subject_o":"so","issuer":"is",
    "issuer_cn":"icn","thumbprint":"CC:DD","serial":"EE","not_before":"2025-03-01T00:00:00Z",
    "not_after":"2027-03-01T00:00:00Z","signing_time":"2024-01-01T00:00:00Z","signature_type":"st",
    "event_id":3077,"activity_id":"{AB-CD}","process_name":"pn","policy_name":"pol","policy_id":"pid",
    "policy_guid":"pg","requested":12,"validated":1,"ci_status":"0XC0000428","verification_error":-2,
    "signature_index":3,"total_signature_count":4,"publisher_tbs_hash":"FF","issuer_tbs_hash":"0A",
    "user_writable":"true"}})");
  EXPECT_EQ(o.kind, event_kind::image_load);
  EXPECT_EQ(o.host_id.value, "hid");
  EXPECT_EQ(o.host_name.value, "hn");
  EXPECT_EQ(o.user_name.value, "un");
  EXPECT_EQ(o.event_time_ms, k_t0);
  EXPECT_EQ(o.image_path.value, "ip");
  EXPECT_EQ(o.process_path.value, "pp");
  EXPECT_EQ(o.sha256.value, "aa");
  EXPECT_EQ(o.sha1.value, "bb");
  EXPECT_EQ(o.pe.original_file_name.value, "ofn");
  EXPECT_EQ(o.pe.company.value, "co");
  EXPECT_EQ(o.pe.product.value, "pr");
  EXPECT_EQ(o.pe.description.value, "de");
  EXPECT_EQ(o.pe.file_version.value, "fv");
  EXPECT_EQ(o.signature.exists, true);
  EXPECT_EQ(o.signature.status, signature_status::valid);
  EXPECT_EQ(o.signature.status_raw.value, "Valid");
  EXPECT_EQ(o.signature.trusted, false);
  EXPECT_EQ(o.signature.subject.value, "su");
  EXPECT_EQ(o.signature.subject_cn.value, "scn");
  EXPECT_EQ(o.signature.subject_o.value, "so");
  EXPECT_EQ(o.signature.issuer.value, "is");
  EXPECT_EQ(o.signature.issuer_cn.value, "icn");
  EXPECT_EQ(o.signature.thumbprint.value, "ccdd");
  EXPECT_EQ(o.signature.serial.value, "ee");
  EXPECT_EQ(o.signature.not_before_ms, k_2025_03_01);
  EXPECT_EQ(o.signature.not_after_ms, k_2027_03_01);
  EXPECT_EQ(o.signature.signing_time_ms, k_2024_01_01);
  EXPECT_EQ(o.signature.signature_type.value, "st");
  EXPECT_EQ(o.ci.event_id, 3077);
  EXPECT_EQ(o.ci.klass, rules::ci_class::block);
  EXPECT_EQ(o.ci.activity_id.value, "ab-cd");
  EXPECT_EQ(o.ci.process_name.value, "pn");
  EXPECT_EQ(o.ci.policy_name.value, "pol");
  EXPECT_EQ(o.ci.policy_id.value, "pid");
  EXPECT_EQ(o.ci.policy_guid.value, "pg");
  EXPECT_EQ(o.ci.requested_signing_level, 12);
  EXPECT_EQ(o.ci.validated_signing_level, 1);
  EXPECT_EQ(o.ci.status.value, "0xc0000428");
  EXPECT_EQ(o.ci.verification_error, -2);
  EXPECT_EQ(o.ci.signature_index, 3);
  EXPECT_EQ(o.ci.total_signature_count, 4);
  EXPECT_EQ(o.ci.publisher_tbs_hash.value, "ff");
  EXPECT_EQ(o.ci.issuer_tbs_hash.value, "0a");
  EXPECT_EQ(o.ci.user_writable, true);
}

// ---------------------------------------------------------------------------------------
// Diagnostics

// The one diagnostic of `yaml` (fails the test unless there is exactly one).
profile_diagnostic only_diagnostic(std::string_view yaml) {
  auto res = load_user_profiles(yaml, "broken.yaml");
  EXPECT_EQ(res.diagnostics.size(), 1U);
  for (const auto& d : res.diagnostics) SCOPED_TRACE(d.text());
  EXPECT_EQ(res.set->size(), 0U) << "the broken profile is skipped";
  return res.diagnostics.empty() ? profile_diagnostic{} : res.diagnostics[0];
}

// A profile whose third mapping, on line 8, names `field`.
std::string profile_mapping(std::string_view field) {
  return std::string(R"(profiles:
  - name: p1
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a
      event_time: t
      )") + std::string(field) + ": c\n";
}

TEST(user_profile_diagnostics, unknown_observation_field_is_reported_with_line_and_profile) {
  const auto d = only_diagnostic(profile_mapping("signature.colour"));
  EXPECT_EQ(d.file, "broken.yaml");
  EXPECT_EQ(d.line, 8);
  EXPECT_EQ(d.profile, "p1");
  EXPECT_THAT(d.message, HasSubstr("unknown observation field 'signature.colour'"));
  EXPECT_TRUE(d.error);
  EXPECT_EQ(d.text().substr(0, 26), "broken.yaml:8: profile p1:");
}

// Fields the parser, the CI join or the pipeline set are not `fields` names.
TEST(user_profile_diagnostics, fields_no_profile_maps_are_unknown) {
  for (const std::string_view field : {"kind", "host_hash", "signature.status_raw", "ci.klass", "ci.joined_signatures",
                                       "source.schema", "source.topic", "source.partition", "source.offset"}) {
    SCOPED_TRACE(field);
    const auto d = only_diagnostic(profile_mapping(field));
    EXPECT_THAT(d.message, HasSubstr("unknown observation field '" + std::string(field) + "'"));
  }
}

TEST(user_profile_diagnostics, bad_path_is_reported_with_line) {
  const auto d = only_diagnostic(R"(profiles:
  - name: p2
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a..b
      event_time: t
)");
  EXPECT_EQ(d.line, 6);
  EXPECT_EQ(d.profile, "p2");
  EXPECT_THAT(d.message, HasSubstr("bad path 'a..b'"));
}

TEST(user_profile_diagnostics, unknown_status_target_is_reported_with_the_line_of_its_entry) {
  const auto d = only_diagnostic(R"(profiles:
  - name: p3
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a
      event_time: t
      signature.status:
        path: s
        map:
          ok: valid
          bad: naughty
)");
  EXPECT_EQ(d.line, 12);
  EXPECT_EQ(d.profile, "p3");
  EXPECT_THAT(d.message, HasSubstr("unknown status 'naughty'"));
}

TEST(user_profile_diagnostics, unknown_time_format_is_reported_with_line) {
  const auto d = only_diagnostic(R"(profiles:
  - name: p4
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a
      event_time: {path: t, format: "%Y-%m-%d %Q"}
)");
  EXPECT_EQ(d.line, 7);
  EXPECT_THAT(d.message, HasSubstr("unknown time format"));
  EXPECT_THAT(d.message, HasSubstr("%Q"));
  const auto named = only_diagnostic(R"(profiles:
  - name: p4b
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a
      event_time: {path: t, format: epoch_minutes}
)");
  EXPECT_EQ(named.line, 7);
  EXPECT_THAT(named.message, HasSubstr("unknown time format 'epoch_minutes'"));
}

TEST(user_profile_diagnostics, missing_match_is_reported_at_the_profile) {
  const auto d = only_diagnostic(R"(profiles:
  - name: p5
    kind: process_start
    fields: {host_name: a, event_time: t}
)");
  EXPECT_EQ(d.line, 2);
  EXPECT_EQ(d.profile, "p5");
  EXPECT_THAT(d.message, HasSubstr("missing `match`"));
}

TEST(user_profile_diagnostics, duplicate_name_skips_the_second_profile) {
  auto res = load_user_profiles(R"(profiles:
  - name: twin
    match: {keys: [a]}
    kind: process_start
    fields: {host_name: a, event_time: t}
  - name: twin
    match: {keys: [b]}
    kind: image_load
    fields: {host_name: b, event_time: t}
)", "twins.yaml");
  ASSERT_EQ(res.diagnostics.size(), 1U);
  EXPECT_EQ(res.diagnostics[0].line, 6);
  EXPECT_THAT(res.diagnostics[0].message, HasSubstr("duplicate profile name"));
  ASSERT_EQ(res.set->size(), 1U);
  harness h;
  EXPECT_EQ(h.one(*res.set, R"({"a":"h","t":1795168800})").kind, event_kind::process_start);
}

TEST(user_profile_diagnostics, unmapped_host_or_time_and_misplaced_options_are_errors) {
  const auto no_time = only_diagnostic(R"(profiles:
  - name: p6
    match: {keys: [a]}
    kind: process_start
    fields: {host_name: a}
)");
  EXPECT_THAT(no_time.message, HasSubstr("event_time is not mapped"));
  EXPECT_EQ(no_time.line, 5);
  const auto format_on_text = only_diagnostic(R"(profiles:
  - name: p7
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: {path: a, format: epoch_s}
      event_time: t
)");
  EXPECT_THAT(format_on_text.message, HasSubstr("`format` applies to time fields only"));
  EXPECT_EQ(format_on_text.line, 6);
  const auto bad_kind = only_diagnostic(R"(profiles:
  - name: p8
    match: {keys: [a]}
    kind: process_launch
    fields: {host_name: a, event_time: t}
)");
  EXPECT_THAT(bad_kind.message, HasSubstr("unknown event kind 'process_launch'"));
  EXPECT_EQ(bad_kind.line, 4);
  const auto typo = only_diagnostic(R"(profiles:
  - name: p9
    match: {keys: [a]}
    kind: process_start
    feilds: {host_name: a, event_time: t}
)");
  EXPECT_THAT(typo.message, HasSubstr("unknown key 'feilds'"));
  EXPECT_EQ(typo.line, 5);
}

TEST(user_profile_diagnostics, yaml_syntax_error_is_reported_with_line) {
  auto res = load_user_profiles("profiles:\n  - name: x\n    match: {keys: [a\n", "syntax.yaml");
  ASSERT_EQ(res.diagnostics.size(), 1U);
  EXPECT_GT(res.diagnostics[0].line, 0);
  EXPECT_THAT(res.diagnostics[0].message, HasSubstr("YAML"));
  EXPECT_EQ(res.set->size(), 0U);
}

TEST(user_profile_diagnostics, broken_profile_is_skipped_while_the_good_one_loads) {
  auto res = load_user_profiles(R"(profiles:
  - name: broken
    match: {keys: [a]}
    kind: process_start
    fields:
      host_name: a
      event_time: {path: t, format: fortnightly}
  - name: good
    match: {keys: [g]}
    kind: driver_load
    fields: {host_id: g, event_time: t}
)", "mixed.yaml");
  ASSERT_EQ(res.diagnostics.size(), 1U);
  EXPECT_EQ(res.diagnostics[0].profile, "broken");
  EXPECT_EQ(res.diagnostics[0].line, 7);
  EXPECT_THAT(res.diagnostics[0].message, HasSubstr("profile skipped"));
  ASSERT_EQ(res.set->size(), 1U);
  EXPECT_EQ(res.set->name(0), "good");
  harness h;
  const auto& o = h.one(*res.set, R"({"g":"host-7","t":"2026-11-20T10:00:00Z"})");
  EXPECT_EQ(o.kind, event_kind::driver_load);
  EXPECT_EQ(o.event_time_ms, k_t0);
}

// ---------------------------------------------------------------------------------------
// Hot reload

class temp_dir {
 public:
  temp_dir() {
    path_ = std::filesystem::temp_directory_path() /
            ("countersign-profiles-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes `text` and moves the file's mtime on by `tick` seconds, so a rewrite within the
// file system's timestamp granularity is still seen as a change.
void write_file(const std::filesystem::path& p, std::string_view text, int tick) {
  {
    std::ofstream out(p, std::ios::trunc);
    out << text;
  }
  std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(tick));
}

std::string one_profile(std::string_view name) {
  return "profiles:\n  - name: " + std::string(name) +
         "\n    match: {keys: [edr_host]}\n    kind: process_start\n    fields:\n      host_name: edr_host\n"
         "      event_time: t\n";
}

TEST(user_profile_library, rewritten_file_gives_a_new_set_and_a_broken_rewrite_keeps_the_previous_one) {
  temp_dir dir;
  const auto file = dir.path() / "profiles.yaml";
  write_file(file, one_profile("first"), 1);
  user_profile_library lib(file.string());
  auto report = lib.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_TRUE(report.diagnostics.empty());
  ASSERT_EQ(lib.current()->size(), 2U);
  EXPECT_EQ(lib.current()->name(0), "first");  // the file's profiles come before the shipped ones
  EXPECT_EQ(lib.current()->name(1), "osquery");

  report = lib.reload();  // unchanged
  EXPECT_FALSE(report.changed);

  write_file(file, one_profile("second"), 2);
  report = lib.reload();
  EXPECT_TRUE(report.changed);
  ASSERT_EQ(lib.current()->size(), 2U);
  EXPECT_EQ(lib.current()->name(0), "second");

  write_file(file, one_profile("third") + "      signature.colour: c\n", 3);
  const auto before = lib.current();
  report = lib.reload();
  EXPECT_FALSE(report.changed);
  ASSERT_EQ(report.diagnostics.size(), 1U);
  EXPECT_TRUE(report.diagnostics[0].error);
  EXPECT_EQ(report.diagnostics[0].file, file.string());
  EXPECT_EQ(report.diagnostics[0].profile, "third");
  EXPECT_EQ(lib.current(), before);
  EXPECT_EQ(lib.current()->name(0), "second");

  report = lib.reload();  // still broken, unchanged: nothing new to say
  EXPECT_FALSE(report.changed);
  EXPECT_TRUE(report.diagnostics.empty());

  write_file(file, one_profile("fourth"), 4);
  report = lib.reload();
  EXPECT_TRUE(report.changed);
  EXPECT_EQ(lib.current()->name(0), "fourth");
}

TEST(user_profile_library, missing_file_is_reported_and_the_shipped_profiles_stay) {
  temp_dir dir;
  user_profile_library lib((dir.path() / "absent.yaml").string());
  const auto report = lib.reload();
  ASSERT_EQ(report.diagnostics.size(), 1U);
  EXPECT_THAT(report.diagnostics[0].message, HasSubstr("cannot read"));
  ASSERT_EQ(lib.current()->size(), 1U);
  EXPECT_EQ(lib.current()->name(0), "osquery");
}

TEST(user_profile_library, empty_path_serves_the_shipped_profiles_only) {
  user_profile_library lib("");
  EXPECT_TRUE(lib.reload().changed);
  ASSERT_EQ(lib.current()->size(), 1U);
  user_profile_library none("", false);
  (void)none.reload();
  EXPECT_EQ(none.current()->size(), 0U);
}

// ---------------------------------------------------------------------------------------
// Hostile documents

struct hostile_case {
  const char* name;
  std::string json;
  reject_reason reason;
  const char* detail;  // the path named, or nullptr for any
};

TEST(user_profile_hostile, malformed_documents_give_a_reject_reason_naming_the_path) {
  const auto set = acme();
  const std::string head = R"({"schema":"acme.edr/2","agent.uuid":"A-1",)";
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "[";
  for (int i = 0; i < 5000; ++i) deep += "]";
  const std::vector<hostile_case> cases = {
      {"status as an object", head + R"("evt":{"ts_ms":1},"signer":{"state":{"x":1}}})", reject_reason::wrong_type,
       "signer.state"},
      {"a mapped container as a string", head + R"("evt":{"ts_ms":1},"signer":"revoked"})",
       reject_reason::wrong_type, "signer"},
      {"time as an object", head + R"("evt":{"ts_ms":{"v":1}}})", reject_reason::wrong_type, "evt.ts_ms"},
      {"time as text", head + R"("evt":{"ts_ms":"yesterday"}})", reject_reason::bad_timestamp, "evt.ts_ms"},
      {"time far in the future", head + R"("evt":{"ts_ms":1e300}})", reject_reason::bad_timestamp, "evt.ts_ms"},
      {"boolean map value as an array of objects", head + R"("evt":{"ts_ms":1},"signer":{"chain_ok":[{"a":1}]}})",
       reject_reason::wrong_type, "signer.chain_ok"},
      {"null time", head + R"("evt":{"ts_ms":null}})", reject_reason::missing_field, "evt.ts_ms"},
      {"null host", R"({"schema":"acme.edr/2","agent.uuid":null,"evt":{"ts_ms":1}})", reject_reason::missing_field,
       "agent.uuid"},
      {"deep nesting at a mapped leaf", head + R"("evt":{"ts_ms":1},"signer":{"thumb":)" + deep + "}}",
       reject_reason::wrong_type, "signer.thumb"},
  };
  harness h;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto res = h.parse(*set, c.json, 0);
    ASSERT_FALSE(res.has_value());
    EXPECT_EQ(res.error().reason, c.reason) << res.error().detail;
    if (c.detail) {
      EXPECT_EQ(res.error().detail, c.detail);
    }
  }
}

TEST(user_profile_hostile, deep_nesting_in_unmapped_members_is_skipped_unread) {
  const auto set = acme();
  std::string deep;
  for (int i = 0; i < 900; ++i) deep += R"({"a":)";
  deep += "1";
  for (int i = 0; i < 900; ++i) deep += "}";
  harness h;
  const auto& o = h.one(*set, R"({"schema":"acme.edr/2","agent.uuid":"A-1","junk":)" + deep +
                                  R"(,"evt":{"ts_ms":1795168800000,"kind":"exec"}})");
  EXPECT_EQ(o.event_time_ms, k_t0);
}

TEST(user_profile_hostile, records_that_are_not_objects_are_wrong_type) {
  const auto set = osquery();
  harness h;
  const auto res = h.parse(*set, R"({"name":"countersign_signed_processes","hostIdentifier":"h","unixTime":1,"snapshot":[1,2]})");
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().reason, reject_reason::wrong_type);
  EXPECT_EQ(res.error().detail, "snapshot");
  const auto text = h.parse(*set, R"({"name":"countersign_signed_processes","hostIdentifier":"h","unixTime":1,"columns":"x"})");
  ASSERT_FALSE(text.has_value());
  EXPECT_EQ(text.error().reason, reject_reason::wrong_type);
}

TEST(user_profile_hostile, missing_host_in_a_snapshot_names_the_mapped_root_path) {
  const auto set = osquery();
  harness h;
  const auto res = h.parse(*set, R"({"snapshot":[{"path":"C:\\a.exe"}],"name":"countersign_signed_processes","unixTime":1795168800})", 0);
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().reason, reject_reason::missing_field);
  EXPECT_EQ(res.error().detail, "$.hostIdentifier");  // host_name comes first in the profile
}

}  // namespace
}  // namespace user_profile_test
}  // namespace countersign::processor
