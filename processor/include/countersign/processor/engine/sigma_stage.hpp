#pragma once
// Sigma rules on the ingest stream (docs/sigma.md).
//
//   message ─► input_parser (profile, observations) ─► sigma_stage ─► alerts (same envelope)
//
// Rules are stateless, so they run at ingest on every parsed event, before scope and
// repeat filtering. An event is seen through `sigma_view`: Sigma's Windows field names
// (Image, CommandLine, Hashes, Signed, FileNameBuffer, ...) resolve on every input
// profile, Winlogbeat's `winlog.event_data.*` is reachable by its plain name, and any
// dotted path of the document works as a field name. The event's logsource (category,
// product, service) is derived from the profile, the observation kind and, for Windows
// event logs, the channel and event id.
//
// Rules come from the shipped content (rules/content/sigma, compiled in) and from
// `sigma.rules_dir`, re-read when a file changes. A file that no longer parses keeps its
// previous rules; a rule with an unsupported feature is skipped with a warning.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/pipeline_stats.hpp>
#include <countersign/rules/observation.hpp>
#include <countersign/rules/sigma/correlation.hpp>
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/state/suppression_cache.hpp>

#include <simdjson.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace countersign::processor {

// The shipped Sigma rules (rules/content/sigma/*.yml), in a fixed order.
struct sigma_content_file {
  std::string_view name;
  std::string_view text;
};
[[nodiscard]] const std::vector<sigma_content_file>& builtin_sigma_rules();

// ---------------------------------------------------------------------------------------
// Rule loading and hot reload.

class sigma_library {
 public:
  explicit sigma_library(const sigma_config& cfg);

  struct reload_report {
    bool changed = false;                                    // a new rule set was built
    std::vector<rules::sigma::diagnostic> diagnostics;       // of the files (re)read this time
    std::size_t rules = 0;                                   // in current() afterwards
    std::size_t correlations = 0;                            // in correlations() afterwards
    std::size_t failed_files = 0;                            // files whose previous rules were kept
  };
  // The first call loads everything; later calls re-read changed, new and removed files.
  reload_report reload();
  // Never null after the first reload (possibly empty).
  [[nodiscard]] std::shared_ptr<const rules::sigma::rule_set> current() const { return current_; }
  // The correlation rules that passed linking against current(); never null.
  [[nodiscard]] std::shared_ptr<const rules::sigma::correlation_set> correlations() const { return correlations_; }

 private:
  struct file_state {
    std::filesystem::file_time_type mtime{};
    std::uintmax_t size = 0;
    bool failed = false;  // the last read had errors: retry even if unchanged
    std::vector<rules::sigma::rule> rules;
    std::vector<rules::sigma::correlation_rule> correlations;
  };
  sigma_config cfg_;
  std::vector<rules::sigma::rule> builtin_;
  std::vector<rules::sigma::correlation_rule> builtin_correlations_;
  std::map<std::filesystem::path, file_state> files_;
  std::shared_ptr<const rules::sigma::rule_set> current_;
  std::shared_ptr<const rules::sigma::correlation_set> correlations_;
  bool loaded_ = false;
};

// One sigma_library for the processing threads of a process (`run` with several
// processing.threads): loaded once, re-read by whichever thread polls first after the
// reload interval (under a lock; the others keep evaluating with the sets they hold), and
// its immutable rule and correlation sets handed whole to every thread's stage, which
// picks up a new generation on its next poll. Thread-safe.
class shared_sigma_library {
 public:
  explicit shared_sigma_library(const sigma_config& cfg) : library_(cfg) {}

  struct update {
    std::uint64_t generation = 0;  // changes with every new set
    std::shared_ptr<const rules::sigma::rule_set> set;
    std::shared_ptr<const rules::sigma::correlation_set> correlations;
    std::optional<sigma_library::reload_report> report;  // when this poll (re)loaded
  };
  // Loads on the first poll, re-reads when `interval_ms` (> 0) has passed since the last
  // read; returns the sets in use.
  [[nodiscard]] update poll(std::int64_t interval_ms);

 private:
  std::mutex mutex_;
  sigma_library library_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point next_read_{};
  std::uint64_t generation_ = 0;
};

// Loads the named shipped rule files and `dir` once (rules check, tests): every diagnostic.
[[nodiscard]] rules::sigma::load_result load_sigma_rules(const std::vector<std::string>& builtin, const std::string& dir);
// The names of every shipped rule file.
[[nodiscard]] std::vector<std::string> all_builtin_sigma_files();

// ---------------------------------------------------------------------------------------
// The event as Sigma sees it.

// Every scalar of a JSON document under its dotted path (array elements share their
// array's path). Read lazily, once per message: the ingest parser's document rewound
// where reset() was given it, else with its own On-Demand parser.
class sigma_document {
 public:
  explicit sigma_document(std::size_t max_leaves) : max_leaves_(max_leaves) {}

  // Forget the previous message; `padded` must stay valid until the next reset and have
  // simdjson::SIMDJSON_PADDING readable bytes past `size`. `indexed` (may be null): the
  // same bytes already iterated (input_parser::indexed_document), rewound and walked
  // instead of indexing them again; it must stay valid until the next reset.
  void reset(const char* padded, std::size_t size, std::size_t capacity, rules::schema_profile profile,
             simdjson::ondemand::document* indexed = nullptr);
  // The value at `path` (JSON null and missing alike: nullopt); `record` picks one
  // element of a Defender export's `records` array (-1: the document level).
  [[nodiscard]] std::optional<std::string_view> get(std::string_view path, int record = -1) const;
  // Number of records of a Defender export (0: not an export).
  [[nodiscard]] int records() const;
  template <class Fn>
  void for_each(int record, Fn&& fn) const {
    ensure();
    for (const auto& l : leaves_) {
      if (!l.is_null && (record < 0 || l.record == record)) fn(l.value);
    }
  }
  // Every value stored under `path` (array elements share their array's path), in
  // document order; get() returns only the first.
  template <class Fn>
  void for_each_at(std::string_view path, int record, Fn&& fn) const {
    ensure();
    for (const auto& l : leaves_) {
      if (l.is_null || (record >= 0 && l.record != record)) continue;
      if (std::string_view(arena_).substr(l.path_off, l.path_len) == path) fn(l.value);
    }
  }
  // The message reset() was given, for the rare reader of a part the walk does not store.
  struct padded_message {
    const char* data = nullptr;
    std::size_t size = 0, capacity = 0;
  };
  [[nodiscard]] padded_message message() const { return {padded_, size_, capacity_}; }
  [[nodiscard]] bool truncated() const { return truncated_; }

  // The last path components (after the final dot) any lookup can ask for; scalars under
  // other names are not stored (nor unescaped), which keeps a wide event cheap when the
  // rules read a few fields. Null: store every scalar (keyword searches read them all).
  // Takes effect at the next reset().
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using name_filter = std::unordered_set<std::string, name_hash, std::equal_to<>>;
  void keep_only(std::shared_ptr<const name_filter> names);
  // What a filter judges a path or key by: the part after its last dot.
  [[nodiscard]] static std::string_view last_component(std::string_view path);

 private:
  struct leaf {
    std::uint32_t path_off = 0, path_len = 0;
    std::uint64_t hash = 0;
    std::string_view value;
    int record = -1;
    bool is_null = false;
  };
  void ensure() const;
  // `keep`: whether scalars here are stored (the filter's verdict on the key, or on the
  // key of the array they are elements of).
  void walk(simdjson::ondemand::value v, std::size_t depth, int record, bool keep) const;
  void add_leaf(std::string_view value, bool is_null, int record) const;
  // evtx JSON under the flat shape's names (sigma_document.cpp).
  enum class evtx_scope : std::uint8_t { root, event, system, data, user };
  void walk_evtx(simdjson::ondemand::object obj, std::size_t depth, evtx_scope scope) const;
  void walk_evtx_item(simdjson::ondemand::object item, std::size_t depth) const;
  [[nodiscard]] bool wanted(std::string_view key) const;

  std::size_t max_leaves_;
  std::shared_ptr<const name_filter> filter_;
  // Cheap rejections before the set lookup: the lengths (bit n: some name is n bytes
  // long, bit 63: 63 or more) and the first bytes of the names.
  std::uint64_t filter_lengths_ = 0;
  std::array<std::uint64_t, 4> filter_first_{};
  std::vector<std::string_view> filter_slots_;  // the names of filter_, open addressing (sigma_document.cpp)
  const char* padded_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
  simdjson::ondemand::document* indexed_ = nullptr;
  rules::schema_profile profile_ = rules::schema_profile::unknown;
  mutable bool parsed_ = false;
  mutable bool truncated_ = false;
  mutable int records_ = 0;
  mutable simdjson::ondemand::parser parser_;
  mutable std::string path_;    // current path while walking
  mutable std::string provider_name_;  // scratch: "Provider_" + an evtx Provider attribute
  mutable std::string arena_;   // every leaf path
  mutable std::vector<leaf> leaves_;
  mutable std::vector<std::int32_t> index_;  // open addressing over leaves_ by path hash
};

// One event (one record of a Defender export) through Sigma's field names.
class sigma_view final : public rules::sigma::sigma_event {
 public:
  sigma_view(const sigma_document& doc, rules::schema_profile profile, const rules::observation* obs, int record);
  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override;
  void for_each_value(const std::function<void(std::string_view)>& fn) const override;

  // The logsources of the event: usually one; Sysmon registry events belong to two or
  // three categories (registry_set and registry_event, ...). Windows event log records
  // get theirs from channel and event id: Sysmon's categories, Security 4688
  // process_creation, PowerShell's ps_module / ps_script / ps_classic_*.
  struct logsource_list {
    std::array<rules::sigma::event_logsource, 3> items{};
    std::size_t size = 0;
    void push_back(const rules::sigma::event_logsource& s) { items[size++] = s; }
    [[nodiscard]] const rules::sigma::event_logsource& front() const { return items[0]; }
    [[nodiscard]] const rules::sigma::event_logsource* begin() const { return items.data(); }
    [[nodiscard]] const rules::sigma::event_logsource* end() const { return items.data() + size; }
  };
  [[nodiscard]] logsource_list logsources() const;

 private:
  // Windows event log records whose fields Sigma names differently from the record.
  enum class record_kind : std::uint8_t {
    not_read,  // not looked at yet
    other,
    process_creation,    // Security 4688: Sigma's process_creation names (sigma_stage.cpp)
    powershell_classic,  // "Windows PowerShell" channel: unnamed data, Key=Value details
  };
  struct system_fields {
    std::optional<std::string_view> channel, provider, event_id;
  };

  [[nodiscard]] std::optional<std::string_view> raw(std::string_view path) const { return doc_.get(path, record_); }
  // field() without the record's own Sigma names: what the document and the profile say.
  [[nodiscard]] std::optional<std::string_view> plain_field(std::string_view name) const;
  [[nodiscard]] std::optional<std::string_view> from_observation(std::string_view name) const;
  // Security 4688 under a Sigma name: nullopt when the name is not one 4688 renames,
  // else the value (itself nullopt when the record lacks it).
  [[nodiscard]] std::optional<std::optional<std::string_view>> process_creation_field(
      std::string_view name) const;
  [[nodiscard]] std::optional<std::string_view> classic_powershell_field(std::string_view name) const;
  [[nodiscard]] std::optional<std::string_view> classic_data() const;
  [[nodiscard]] std::optional<std::string_view> account(std::string_view prefix) const;
  [[nodiscard]] const system_fields& system() const;
  [[nodiscard]] record_kind kind() const;
  [[nodiscard]] std::string_view keep(std::string value) const;

  const sigma_document& doc_;
  rules::schema_profile profile_;
  const rules::observation* obs_;
  int record_;
  mutable std::deque<std::string> derived_;  // composed values (Hashes, ...): stable addresses
  mutable std::string path_;                 // scratch for event-data paths
  mutable std::optional<system_fields> system_;
  mutable record_kind kind_ = record_kind::not_read;
  mutable std::optional<std::optional<std::string_view>> classic_data_;  // once per event
};

// `countersign rules check`: problems counted, and the exit status they give.
struct check_counts {
  int errors = 0;
  int warnings = 0;
  void add(const rules::sigma::diagnostic& d) {
    (d.sev == rules::sigma::diagnostic::severity::error ? errors : warnings) += 1;
  }
  // 0 when everything loads; 2 on an error, and with `strict` on a warning too (a rule or
  // list row skipped).
  [[nodiscard]] int exit_code(bool strict) const { return errors > 0 || (strict && warnings > 0) ? 2 : 0; }
};

// ---------------------------------------------------------------------------------------
// The stage.


class sigma_stage {
 public:
  explicit sigma_stage(const config& cfg);
  // A processing thread's stage on the rules of `shared` (loaded and reloaded once per
  // process; null: a library of its own, as above); suppression and everything else are
  // its own.
  sigma_stage(const config& cfg, std::shared_ptr<shared_sigma_library> shared);
  // A stage for another thread (replay --threads): it shares the rules of `rules_of`
  // (immutable; nothing is loaded or copied) and leaves suppression, the one thing kept
  // across messages, to the owner's admit(), called in input order. Its stats count
  // the evaluation only (events, considered, matches, withheld, correlation_*).
  sigma_stage(const config& cfg, const sigma_stage& rules_of);

  // Evaluates the rules over the message just parsed (`padded` and `indexed` as for
  // sigma_document::reset) and appends an alert per matching event to `out` (slots reused from `count`), and
  // the matches correlations need to `routed` (cleared first): one per (match,
  // correlation), keyed by the correlation's group (correlation_stage.hpp).
  void evaluate(const char* padded, std::size_t size, std::size_t capacity,
                simdjson::ondemand::document* indexed, rules::schema_profile profile, const observation_batch& batch, const source_position& where,
                std::optional<std::int64_t> now_ms, std::uint64_t token,
                std::vector<emitted_alert>& out, std::size_t& count,
                std::vector<rules::sigma::routed_match>& routed);
  // Whether evaluate() leaves suppression to admit() (a stage made for another thread).
  [[nodiscard]] bool defers_suppression() const noexcept { return defer_suppression_; }
  // Suppression of alerts another thread's stage rendered: keeps, in order, those of
  // out[from, count) whose id is not a repeat within the window, counted as
  // evaluate() counts them; `count` becomes the end of the kept ones.
  void admit(std::vector<emitted_alert>& out, std::size_t from, std::size_t& count);
  // Re-reads the rule folder when the reload interval has passed (steady clock); the
  // runner calls it from its loop, traffic or not. Replay loads the rules once.
  void maybe_reload();
  [[nodiscard]] const sigma_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const sigma_library::reload_report& last_report() const noexcept { return last_report_; }
  [[nodiscard]] std::size_t rules() const;
  // The correlation rules in use (changes with a reload).
  [[nodiscard]] const std::shared_ptr<const rules::sigma::correlation_set>& correlations() const noexcept {
    return correlations_;
  }

 private:
  // Logs a (re)load and counts its failures.
  void note(const sigma_library::reload_report& report);
  // Takes new sets into use.
  void use(std::shared_ptr<const rules::sigma::rule_set> set,
           std::shared_ptr<const rules::sigma::correlation_set> correlations);
  void apply(const shared_sigma_library::update& u);
  void route_correlated(const sigma_view& view, const rules::observation* obs, const source_position& where, int record,
                        std::optional<std::int64_t> now_ms, std::vector<rules::sigma::routed_match>& routed);
  [[nodiscard]] std::optional<std::int64_t> synthetic_time(const sigma_view& view) const;

  sigma_library library_;
  std::shared_ptr<shared_sigma_library> shared_;  // null: library_ is this stage's own
  std::uint64_t generation_ = 0;                  // of shared_'s sets in use
  std::shared_ptr<const rules::sigma::rule_set> set_;
  std::shared_ptr<const rules::sigma::correlation_set> correlations_ = std::make_shared<rules::sigma::correlation_set>();
  std::shared_ptr<const sigma_document::name_filter> names_;  // what doc_ keeps, for sharing stages
  std::string identity_;
  std::int64_t reload_interval_ms_;
  std::chrono::steady_clock::time_point next_reload_;
  std::int64_t suppression_window_ms_;
  alert_format_set formats_;  // rendered besides countersign.alert/v1
  std::array<sigma_config::grouping, 5> suppression_by_level_;  // by rules::severity
  bool suppression_enabled_;
  bool defer_suppression_ = false;  // admit() of the owner applies it
  state::suppression_cache suppression_;
  sigma_document doc_;
  std::vector<const rules::sigma::rule*> hits_;
  std::vector<rules::hit> alert_hits_;  // scratch of one alert
  std::vector<std::string> techniques_;
  rules::observation synthetic_;  // envelope for events without an observation
  sigma_library::reload_report last_report_;
  sigma_stats stats_;
};

// ---------------------------------------------------------------------------------------
// Coverage probes (`countersign rules check --coverage`, sigma_coverage.hpp): sigma_view
// run on probe events of one input profile.

// Every logsource sigma_view::logsources() gives an event of `profile`: without a channel
// per observation kind, and per channel of its service table with every event id its
// categories name, one they do not and none; an unknown channel; Sysmon by provider.
[[nodiscard]] std::vector<rules::sigma::logsource> probe_logsources(rules::schema_profile profile);
// Whether an event of `profile` can carry the Sigma field `field`. True for every shape
// whose documents can hold any key (Windows event data by its plain name, flat records,
// export rows, user profiles, unknown shapes); for OCSF and SentinelOne, whose attribute
// names are lower case or dotted, true for such names, the profile's aliases and what
// the normalized event answers.
[[nodiscard]] bool probe_field(rules::schema_profile profile, std::string_view field);

}  // namespace countersign::processor
