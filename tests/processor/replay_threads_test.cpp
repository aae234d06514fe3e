// `countersign replay --threads N` (processor/src/replay.cpp): the same alerts (content
// and order), diagnostics, summary and state as one thread, for every input shape of
// tests/data, with messages cut into chunks at every place that matters: Code Integrity
// verdicts and their 3089 events on both sides of a chunk boundary, Sigma suppression
// and correlations across chunks, rejects, several files.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>
#include <countersign/processor/replay.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace countersign::processor {
namespace replay_threads_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::HasSubstr;
using test_support::config_or_fail;
using test_support::k_data;

// The messages a replay chunk holds (replay.cpp k_chunk_messages).
constexpr int k_chunk = 256;

// Every counter of a summary, one per line, so that a difference names the counter.
std::string describe(const replay_summary& r) {
  std::ostringstream o;
  const pipeline_stats& s = r.stats;
  o << "events " << s.events << "\nout_of_scope " << s.out_of_scope << "\nrepeats " << s.repeats << "\nfields_truncated "
    << s.fields_truncated << "\nforwarded " << s.forwarded << "\nmax_event_time " << s.max_event_time_ms
    << "\nobservations " << s.observations << "\nalerts " << s.alerts << "\nsuppressed " << s.suppressed
    << "\nstate_updates " << s.state_updates << "\nstate_errors " << s.state_errors << "\nlearning " << s.learning << '\n';
  for (std::size_t i = 0; i < s.out_of_scope_by_reason.size(); ++i) o << "out_of_scope[" << i << "] " << s.out_of_scope_by_reason[i] << '\n';
  for (std::size_t i = 0; i < s.rejected.size(); ++i) o << "rejected[" << i << "] " << s.rejected[i] << '\n';
  for (std::size_t i = 0; i < s.events_by_schema.size(); ++i) o << "schema[" << i << "] " << s.events_by_schema[i] << '\n';
  for (const auto& [id, n] : s.hits_by_detector) o << "hits " << id << ' ' << n << '\n';
  o << "ci_join " << s.ci_join.joined << ' ' << s.ci_join.unjoined << ' ' << s.ci_join.orphan_signatures << ' '
    << s.ci_join.evicted << '\n';
  const sigma_stats& g = s.sigma;
  o << "sigma " << g.events << ' ' << g.considered << ' ' << g.evaluated << ' ' << g.matches << ' ' << g.alerts << ' '
    << g.suppressed << ' ' << g.truncated << ' ' << g.rules << ' ' << g.reload_errors << ' ' << g.reloads << ' '
    << g.correlations << ' ' << g.withheld << ' ' << g.correlation_routed << ' ' << g.correlation_missing_field << ' '
    << g.correlation_no_time << '\n';
  const auto& c = s.correlation;
  o << "correlation " << c.alerts << ' ' << c.bad_records << ' ' << c.open_windows << ' ' << c.partitions << ' '
    << c.records_flushed << ' ' << c.correlations << ' ' << c.evaluator.matches << ' ' << c.evaluator.late_dropped << ' '
    << c.evaluator.duplicates << ' ' << c.evaluator.alerts << ' ' << c.evaluator.groups_expired << '\n';
  const auto& j = s.certificate_join;
  o << "certificate_join " << j.joined << ' ' << j.held << ' ' << j.joined_late << ' ' << j.unmatched << ' ' << j.evicted
    << '\n';
  o << "blank_lines " << r.blank_lines << "\nunreadable_files " << r.unreadable_files << "\nread_errors " << r.read_errors
    << "\nintel_errors " << r.intel_errors << '\n';
  for (std::size_t i = 0; i < r.files_by_format.size(); ++i) o << "format[" << i << "] " << r.files_by_format[i] << '\n';
  return o.str();
}

// Every record of every store, in the store's order.
std::string dump(const state::prevalence_store& store) {
  std::string out;
  for (const auto kind : {state::store_kind::hash, state::store_kind::signer, state::store_kind::issuer,
                          state::store_kind::company_signer}) {
    const auto n = store.for_each_record(kind, [&](std::int32_t partition, std::string_view key, std::string_view value) {
      out += std::string(state::to_string(kind)) + ' ' + std::to_string(partition) + ' ';
      out.append(key);
      out += " = ";
      out.append(value);
      out += '\n';
    });
    EXPECT_TRUE(n.has_value()) << (n ? "" : n.error());
  }
  return out;
}

struct replay_output {
  std::string alerts, diagnostics, summary, state;
  std::uint64_t alert_lines = 0;
};

// One replay on `threads` threads, with a fresh store when `with_state`.
replay_output replay(const config& cfg, const std::vector<std::string>& files, unsigned threads, bool with_state) {
  std::ostringstream alerts, diagnostics;
  replay_output out;
  test_support::state_dir dir;
  std::unique_ptr<state::prevalence_store> store = with_state ? dir.open() : nullptr;
  const auto summary = run_replay(cfg, files, alerts, diagnostics, store.get(), false, threads);
  out.alerts = alerts.str();
  out.diagnostics = diagnostics.str();
  out.summary = describe(summary);
  out.alert_lines = static_cast<std::uint64_t>(std::ranges::count(out.alerts, '\n'));
  if (store) out.state = dump(*store);
  return out;
}

// Replays `files` on 1, 2 and 4 threads and fails unless the three agree to the byte;
// returns the one-thread output.
replay_output expect_same_on_any_thread_count(const config& cfg, const std::vector<std::string>& files,
                                              bool with_state) {
  const replay_output one = replay(cfg, files, 1, with_state);
  for (const unsigned threads : {2U, 4U}) {
    const replay_output many = replay(cfg, files, threads, with_state);
    EXPECT_EQ(many.alerts, one.alerts) << threads << " threads: alerts differ";
    EXPECT_EQ(many.diagnostics, one.diagnostics) << threads << " threads: diagnostics differ";
    EXPECT_EQ(many.summary, one.summary) << threads << " threads: summary differs";
    EXPECT_EQ(many.state, one.state) << threads << " threads: state differs";
  }
  return one;
}

// Generated inputs, in a directory removed afterwards (a state_dir's path).
class temp_dir {
 public:
  temp_dir() { std::filesystem::create_directories(dir_.path()); }
  std::string write(const std::string& name, const std::string& content) const {
    const auto p = std::filesystem::path(dir_.path()) / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }

 private:
  test_support::state_dir dir_;
};

// Every event file of tests/data (NDJSON, JSON documents, event XML), sorted, and the
// shared public samples (.evtx included) when they are there.
std::vector<std::string> every_fixture() {
  std::vector<std::string> files;
  const auto collect = [&files](const std::filesystem::path& root) {
    std::error_code ec;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root, ec)) {
      const auto ext = e.path().extension();
      if (e.is_regular_file() && (ext == ".ndjson" || ext == ".json" || ext == ".xml" || ext == ".evtx" || ext == ".json-seq")) {
        files.push_back(e.path().string());
      }
    }
  };
  collect(k_data);
  std::vector<std::string> shared;
  std::swap(files, shared);
  collect(std::filesystem::path(COUNTERSIGN_SHARED_DIR) / "samples");
  std::ranges::sort(shared);
  std::ranges::sort(files);
  shared.insert(shared.end(), files.begin(), files.end());
  return shared;
}

// The fixtures' Sigma rules (tests/data/windows/sigma) and every shipped one (with the
// correlations sigma/correlations.ndjson fires), the user profile of
// tests/data/user_profiles, prevalence from the first event.
config fixture_config() {
  return config_or_fail(
      "learning:\n  min_history: 0s\n"
      "detectors:\n  signature_untrusted:\n    internal_pki_issuers: [\"Contoso Internal Code Signing CA\"]\n"
      "input:\n  profiles_file: " + k_data + "/user_profiles/acme_edr.yaml\n"
      "sigma:\n  reload_interval: 0s\n  rules_dir: " + k_data + "/windows/sigma\n"
      "  builtin: [clock_rollback.yml, codeintegrity_enforcement.yml, t1588_003_signed_code.yml, correlations_signing.yml]\n");
}

TEST(replay_threads, every_fixture_shape_gives_the_same_alerts_diagnostics_summary_and_state) {
  const auto files = every_fixture();
  ASSERT_GE(files.size(), 30U);
  // Twice over, so that the second pass is suppressed and repeat-filtered across files.
  std::vector<std::string> twice = files;
  twice.insert(twice.end(), files.begin(), files.end());
  const replay_output one = expect_same_on_any_thread_count(fixture_config(), twice, true);
  // What the comparison covers: alerts of every kind, rejects, state, joins.
  EXPECT_GE(one.alert_lines, 50U);
  EXPECT_THAT(one.alerts, HasSubstr("cs.codeintegrity.enforcement"));
  EXPECT_THAT(one.alerts, HasSubstr("\"rule_file\""));  // Sigma
  EXPECT_THAT(one.summary, HasSubstr("correlation "));
  EXPECT_THAT(one.summary, ::testing::Not(HasSubstr("\nsigma 0 ")));
  EXPECT_THAT(one.diagnostics, HasSubstr("rejected"));
  EXPECT_FALSE(one.state.empty());
}

TEST(replay_threads, every_fixture_on_its_own_without_state) {
  // One replay per file: each file's first chunk, last chunk and short tails.
  for (const auto& file : every_fixture()) {
    SCOPED_TRACE(file);
    (void)expect_same_on_any_thread_count(fixture_config(), {file}, false);
  }
}

// Lines of `path` that are not blank.
std::vector<std::string> lines_of(const std::string& path) { return test_support::read_lines(path); }

TEST(replay_threads, a_code_integrity_join_split_across_a_chunk_boundary) {
  const auto sequence = lines_of(k_data + "/codeintegrity/join_sequence.ndjson");
  ASSERT_EQ(sequence.size(), 5U);
  auto cfg = load_config(COUNTERSIGN_SHIPPED_CONFIG);
  ASSERT_TRUE(cfg.has_value()) << cfg.error();
  temp_dir dir;
  // The verdict (line 1) and its 3089 (line 2) land on every place around the first and
  // second chunk boundary; the filler has no event time, so the join clock is the
  // sequence's own.
  for (const int before : {k_chunk - 3, k_chunk - 2, k_chunk - 1, k_chunk, 2 * k_chunk - 4, 2 * k_chunk - 1}) {
    SCOPED_TRACE(before);
    std::string text;
    for (int i = 0; i < before; ++i) text += "{\"filler\":" + std::to_string(i) + "}\n";
    for (const auto& l : sequence) text += l + "\n";
    const auto file = dir.write("join-" + std::to_string(before) + ".ndjson", text);
    const replay_output one = expect_same_on_any_thread_count(*cfg, {file}, false);
    // Joined, as ci_join_test's replay of the sequence alone.
    EXPECT_THAT(one.summary, HasSubstr("ci_join 2 0 0 0\n"));
    EXPECT_EQ(one.alert_lines, 2U);
    EXPECT_THAT(one.alerts, HasSubstr("cs.signature.revoked"));
  }
}

TEST(replay_threads, rejects_blank_lines_and_an_unreadable_file_are_reported_in_order) {
  const auto events = lines_of(k_data + "/ecs/process_events.ndjson");
  const auto sigma = lines_of(k_data + "/sigma/content.ndjson");
  ASSERT_FALSE(events.empty());
  temp_dir dir;
  std::string text;
  // More than 20 rejects of one reason (only 20 are printed), spread over several chunks
  // between events that alert.
  for (int i = 0; i < 3 * k_chunk; ++i) {
    if (i % 7 == 3) {
      text += "{\"broken\": \n";
    } else if (i % 29 == 5) {
      text += "\n";
    } else if (i % 31 == 6) {
      text += "[1, 2, 3]\n";
    } else if (i % 2 == 0) {
      text += events[static_cast<std::size_t>(i) % events.size()] + "\n";
    } else {
      text += sigma[static_cast<std::size_t>(i) % sigma.size()] + "\n";
    }
  }
  const auto bad = dir.write("bad.ndjson", text);
  const auto missing = (std::filesystem::temp_directory_path() / "countersign-no-such-file.ndjson").string();
  const replay_output one =
      expect_same_on_any_thread_count(fixture_config(), {bad, missing, k_data + "/ecs/process_events.ndjson", bad}, true);
  EXPECT_THAT(one.diagnostics, HasSubstr("bad.ndjson:4: rejected"));
  EXPECT_THAT(one.diagnostics, HasSubstr("countersign-no-such-file"));
  EXPECT_THAT(one.summary, HasSubstr("unreadable_files 1\n"));
  EXPECT_GE(one.alert_lines, 10U);
}

TEST(replay_threads, a_file_that_stops_early_is_reported_after_its_records_and_before_the_next_file) {
  const auto samples = std::filesystem::path(COUNTERSIGN_SHARED_DIR) / "samples" / "evtx";
  if (!std::filesystem::is_directory(samples)) GTEST_SKIP() << "no evtx samples at " << samples;
  std::ifstream in(samples / "image_load_side_load_vcruntime140.evtx", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  temp_dir dir;
  const auto cut = dir.write("cut.evtx", bytes.substr(0, 20'000));
  const auto events = k_data + "/ecs/process_events.ndjson";
  const replay_output one = expect_same_on_any_thread_count(
      fixture_config(), {events, cut, (samples / "win_security_explicit_credential_local_logon.evtx").string(), events},
      true);
  EXPECT_THAT(one.diagnostics, HasSubstr(cut + ": record 1 and later are missing: the file is truncated"));
  EXPECT_THAT(one.summary, HasSubstr("read_errors 1\n"));
}

TEST(replay_threads, sigma_suppression_and_correlations_across_many_chunks) {
  // The Sigma fixture and the correlation fixture, over and over: the first pass alerts,
  // later ones are suppressed (per event id within the window) by the ordered phase.
  std::string text;
  const auto content = lines_of(k_data + "/sigma/content.ndjson");
  const auto correlated = lines_of(k_data + "/sigma/correlations.ndjson");
  for (int round = 0; round < 40; ++round) {
    for (const auto& l : content) text += l + "\n";
    for (const auto& l : correlated) text += l + "\n";
  }
  temp_dir dir;
  const auto file = dir.write("sigma.ndjson", text);
  const replay_output one = expect_same_on_any_thread_count(fixture_config(), {file}, true);
  EXPECT_GE(one.alert_lines, 5U);
  EXPECT_THAT(one.summary, ::testing::Not(HasSubstr("\ncorrelation 0 ")));
}

TEST(replay_threads, a_file_longer_than_the_chunk_ring) {
  // More chunks than the ring holds (4 per thread): the reader waits for commits.
  const auto events = lines_of(k_data + "/ecs/process_events.ndjson");
  const auto ocsf = lines_of(k_data + "/ocsf/process_activity.ndjson");
  std::string text;
  for (int i = 0; i < 24 * k_chunk; ++i) {
    const auto& l = i % 3 == 0 ? ocsf[static_cast<std::size_t>(i) % ocsf.size()]
                               : events[static_cast<std::size_t>(i) % events.size()];
    text += l + "\n";
  }
  temp_dir dir;
  const auto file = dir.write("long.ndjson", text);
  const replay_output one = expect_same_on_any_thread_count(fixture_config(), {file}, true);
  EXPECT_THAT(one.summary, HasSubstr("events " + std::to_string(24 * k_chunk) + "\n"));
}

}  // namespace
}  // namespace replay_threads_test
}  // namespace countersign::processor
