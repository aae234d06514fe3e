#pragma once
// Counters and output records shared by the ingest pipeline and the hash stage. Each
// stage fills the fields it owns in its own `pipeline_stats`; `combined` adds them up
// for metrics and summaries.

#include <countersign/processor/engine/ci_join.hpp>
#include <countersign/processor/engine/reject_reason.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/observation.hpp>
#include <countersign/rules/sigma/correlation.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor {

// Sigma rules at ingest (sigma_stage).
struct sigma_stats {
  std::uint64_t events = 0;         // events evaluated
  std::uint64_t considered = 0;     // rules admitted by logsource, summed over events
  std::uint64_t evaluated = 0;      // rules evaluated in full (passed the prefilter)
  std::uint64_t matches = 0;        // rule matches
  std::uint64_t alerts = 0;         // alerts emitted
  std::uint64_t suppressed = 0;     // alerts withheld as repeats within the window
  std::uint64_t truncated = 0;      // events with more scalars than sigma.max_fields
  std::uint64_t rules = 0;          // rules loaded
  std::uint64_t reload_errors = 0;  // rule files that failed to load (cumulative)
  std::uint64_t reloads = 0;        // successful rule set changes
  // Correlation rules (correlation_stage.hpp): at ingest.
  std::uint64_t correlations = 0;               // correlation rules loaded
  std::uint64_t withheld = 0;                   // base-rule hits not alerted: a correlation refers to the rule (generate)
  std::uint64_t correlation_routed = 0;         // matches handed to correlations (one per correlation)
  std::uint64_t correlation_missing_field = 0;  // not routed: a group-by or value_count field missing
  std::uint64_t correlation_no_time = 0;        // not routed: the event has no time
};

// Correlation rules on the observations partitions (correlation_stage.hpp).
struct correlation_stage_stats {
  rules::sigma::correlation_stats evaluator;  // over every partition, dropped evaluators included
  std::uint64_t alerts = 0;                   // correlation alerts rendered
  std::uint64_t bad_records = 0;              // routed matches that do not decode
  std::uint64_t open_windows = 0;             // groups with open windows, every partition
  std::uint64_t partitions = 0;               // evaluators live
  std::uint64_t records_flushed = 0;          // window records written or deleted by flushes
  std::uint64_t correlations = 0;             // correlation rules in use
};

// The certificate join of the hash stage (certificate_join_config in config.hpp).
struct certificate_join_stats {
  std::uint64_t joined = 0;       // execution rows whose certificate was already known
  std::uint64_t held = 0;         // execution rows that came first and wait in their file's hash record
  std::uint64_t joined_late = 0;  // waiting rows judged when their certificate row came
  std::uint64_t unmatched = 0;    // waiting rows older than input.certificate_join.wait when it came
  std::uint64_t evicted = 0;      // rows not kept: their file already holds the most rows it keeps
};

// Why a well-formed event went no further than Sigma: out of scope is not bad input.
enum class scope_reason : std::uint8_t {
  unknown_schema,  // a JSON object no profile reads (Sigma still sees it, by its own field names)
  other_event,     // read, but an event type the detectors do not judge (another channel or event id, policy events)
  no_signature,    // an execution or load without signature facts (unsigned per the source, or not reported)
};
inline constexpr std::size_t k_scope_reason_count = 3;

[[nodiscard]] constexpr std::string_view to_string(scope_reason r) noexcept {
  constexpr std::array<std::string_view, k_scope_reason_count> k_names = {"unknown_schema", "other_event", "no_signature"};
  return k_names[static_cast<std::size_t>(r)];
}

struct pipeline_stats {
  // ingest
  std::uint64_t events = 0;
  std::uint64_t out_of_scope = 0;        // parsed, nothing to judge (unsigned, policy events, ...)
  std::array<std::uint64_t, k_scope_reason_count> out_of_scope_by_reason{};
  std::uint64_t repeats = 0;             // in scope, but a (host, file, signature) fact just seen
  std::uint64_t fields_truncated = 0;    // fields cut to input.max_field_bytes (events still read)
  std::uint64_t forwarded = 0;           // observations sent to the hash stage
  std::array<std::uint64_t, k_reject_reason_count> rejected{};
  std::array<std::uint64_t, rules::k_schema_profile_count> events_by_schema{};  // indexed by rules::schema_profile
  ci_join_stats ci_join;
  sigma_stats sigma;
  correlation_stage_stats correlation;   // the local correlation stage (replay, tests); run: the runner's
  std::int64_t max_event_time_ms = 0;    // newest event time processed (0: none yet)
  // hash stage
  std::uint64_t observations = 0;        // judged by the detectors
  std::uint64_t alerts = 0;              // alerts emitted
  std::uint64_t suppressed = 0;          // alerts withheld as repeats within the window
  std::vector<std::pair<std::string_view, std::uint64_t>> hits_by_detector;  // static ids
  std::uint64_t state_updates = 0;       // new facts merged into the prevalence store
  std::uint64_t state_errors = 0;        // failed state writes (the event is still judged)
  bool learning = true;                  // prevalence conditions not yet in use
  certificate_join_stats certificate_join;
};

// The sum of an ingest pipeline's and a hash stage's counters.
[[nodiscard]] pipeline_stats combined(const pipeline_stats& ingest, const pipeline_stats& judged);

// `held`: an execution row that came before its file's certificate row and waits in
// the file's hash record; its alerts (if any) come with the certificate row's message.
enum class outcome : std::uint8_t { alert, no_alert, out_of_scope, suppressed, rejected, held };

// Where a message came from (topic, or file name in replay; offset or line number).
struct source_position {
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

struct emitted_alert {
  std::uint64_t token = 0;  // of the message the alert came from
  bool deferred = false;    // from a verdict released after its message was processed
  std::string key;          // Kafka key: host id
  std::string json;         // countersign.alert/v1, always
  // The alert in each other format an output asks for (alert_formats(config)), by
  // rules::alert_format; empty for formats no output uses. Slot countersign is unused.
  std::array<std::string, rules::k_alert_format_count> formatted;
  // What the Kafka headers say, so routers need not parse the payload.
  rules::severity severity = rules::severity::info;
  std::string detectors;     // the hits' ids, comma-separated, in hit order
  std::string source_topic;  // where the event came from
  std::string id;            // the alert id

  [[nodiscard]] std::string_view payload(rules::alert_format f) const noexcept {
    return f == rules::alert_format::countersign ? std::string_view(json) : std::string_view(formatted[static_cast<std::size_t>(f)]);
  }
};

// Fills `a` (all but token, deferred and key) with `content` in every format of `formats`.
void render_emitted_alert(const rules::alert_content& content, const std::array<bool, rules::k_alert_format_count>& formats,
                          emitted_alert& a);

// The Kafka headers of one alert record in `format`, as (name, value) pairs: severity,
// detector ids, schema, format, source topic and alert id (docs/alerts.md).
struct alert_header {
  std::string_view name;
  std::string_view value;
};
using alert_headers = std::array<alert_header, 6>;
[[nodiscard]] alert_headers alert_headers_of(const emitted_alert& a, rules::alert_format format);

}  // namespace countersign::processor
