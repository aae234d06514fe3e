#pragma once
// Sigma correlation rules (Sigma specification 2.x): checking their references across the
// loaded rules, and evaluating them over a stream of base-rule matches.
//
//   base-rule match (rule id/name, event time, event fields, event identity)
//        |
//        v
//   correlation_evaluator::on_match
//        |  late?  (event time < watermark - allowed lateness) -> dropped, counted
//        |  watermark advances -> due groups: bounded windows judged, expired groups deleted
//        |  for each correlation referring to the rule: group key from group-by (aliases)
//        v
//   window_store  key: correlation key + group values  value: window record (encoded)
//        |  entry added (a duplicate event identity is ignored), windows starting at
//        |  each entry's time [s, s + timespan] evaluated
//        v
//   correlation_alert (id = hash(correlation key, group values, window start));
//   fed back as a match of the correlation itself to correlations that refer to it
//
// Semantics (docs/sigma.md, "Correlation rules"):
//   * event time; windows slide by event: every matching event's time starts a
//     candidate window [s, s + timespan];
//   * a condition with only lower bounds (gt, gte) fires as soon as a window satisfies
//     it; one with an upper bound (lt, lte, eq) is judged when the window is closed
//     (watermark - allowed lateness > window end);
//   * after a window fires, windows starting within it do not fire again (one alert
//     per burst: the next needs a window starting after this one ends);
//   * the watermark is the largest event time seen; an event older than watermark -
//     allowed lateness is dropped and counted (late_dropped);
//   * the alert id depends only on (correlation, group, window start), so replaying
//     the same input, or restarting from the stored records and receiving events
//     again, gives the same ids; a redelivered event (same identity) is ignored.
//
// Threading: correlation_set is immutable and may be shared; a correlation_evaluator and
// its window_store belong to one thread (one observations partition in the processor).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "countersign/rules/sigma/correlation_rule.hpp"
#include "countersign/rules/sigma/sigma.hpp"

namespace countersign::rules::sigma {

// Checks every correlation in `correlations` against `rules` and the other correlations:
// each reference in `rules:` names exactly one loaded rule or correlation (by id or
// name) and no rule twice, alias entries name a referenced rule, ids are unique, chains
// do not loop. A correlation with a problem is removed, with an error in `diags`
// (FILE:LINE: rule ID: message); returns how many were removed.
std::size_t link_correlations(const std::vector<rule>& rules, std::vector<correlation_rule>& correlations,
                              std::vector<diagnostic>& diags);

// A correlation that refers to a rule keeps the rule's own alerts back unless it says
// `generate: true`; compiled correlations and who refers to whom. Build it from the
// output of link_correlations(). Immutable.
class correlation_set {
 public:
  correlation_set() = default;
  correlation_set(std::vector<correlation_rule> correlations, const std::vector<rule>& rules);

  // Whether an alert of the rule (or correlation) with this id / name is raised on its
  // own: false when a correlation refers to it and none of those says `generate: true`.
  [[nodiscard]] bool raises_alert(std::string_view id, std::string_view name) const;

  [[nodiscard]] const std::vector<correlation_rule>& correlations() const noexcept { return rules_; }
  [[nodiscard]] std::size_t size() const noexcept { return rules_.size(); }

  // Internals the evaluator reads.
  struct target {
    std::size_t correlation = 0;  // index into correlations()
    std::size_t rule_index = 0;   // position of the reference in its `rules:`
  };
  struct compiled {
    // [rule_index][group-by index]: the field read from that rule's events (aliases applied)
    std::vector<std::vector<std::string>> fields;
    std::uint64_t fingerprint = 0;  // of everything that shapes its state
  };
  [[nodiscard]] const std::vector<target>* targets_of(std::string_view id, std::string_view name) const;
  [[nodiscard]] const compiled& compiled_of(std::size_t i) const { return compiled_[i]; }
  [[nodiscard]] const correlation_rule* find(std::string_view key) const;

 private:
  std::vector<correlation_rule> rules_;
  std::vector<compiled> compiled_;
  // A referenced rule's id (its name when it has no id) -> correlations referring to it.
  std::unordered_map<std::string, std::vector<target>> by_id_;
  std::unordered_map<std::string, std::vector<target>> by_name_;
  // Referenced rules (by id, else name), and those a referring correlation generates.
  std::set<std::string, std::less<>> referenced_, generated_;
  std::unordered_map<std::string, std::size_t> by_key_;
};

// Where window records live: one record per (correlation, group), as bytes, so a store
// can be a RocksDB column family with a changelog topic. Keys and values are opaque.
class window_store {
 public:
  enum class status : std::uint8_t { ok, not_found, error };
  virtual ~window_store() = default;
  [[nodiscard]] virtual status get(std::string_view key, std::string& value) const = 0;
  // `expires_ms`: event time after which no window can use the record once the
  // evaluator's horizon (watermark - allowed lateness) passes it; a store may drop the
  // record then by itself (RocksDB: a compaction filter). The evaluator deletes it too.
  [[nodiscard]] virtual status put(std::string_view key, std::string_view value, std::int64_t expires_ms) = 0;
  [[nodiscard]] virtual status erase(std::string_view key) = 0;
  // Every record, in any order (restoring the evaluator's indexes at start-up).
  virtual void for_each(const std::function<void(std::string_view key, std::string_view value)>& fn) const = 0;
};

// The in-memory store (replay, tests). Copyable: a copy is a snapshot. for_each visits in
// no particular order.
class memory_window_store final : public window_store {
 public:
  [[nodiscard]] status get(std::string_view key, std::string& value) const override;
  [[nodiscard]] status put(std::string_view key, std::string_view value, std::int64_t expires_ms) override;
  [[nodiscard]] status erase(std::string_view key) override;
  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) const override;
  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
  [[nodiscard]] std::size_t bytes() const noexcept;

 private:
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::string, hash, std::equal_to<>> records_;
};

struct correlation_config {
  // How far behind the watermark (largest event time seen) an event may be and still
  // count. Older ones are dropped (correlation_stats::late_dropped). Windows with an
  // upper-bounded condition are judged only this long after they end.
  std::int64_t allowed_lateness_ms = 5 * 60 * 1000;
  // Open groups (window records) at most; beyond it the group whose newest event is the
  // oldest is dropped (groups_evicted).
  std::size_t max_groups = 100'000;
  // Events kept per group at most; beyond it the oldest is dropped (entries_evicted).
  std::size_t max_entries_per_group = 10'000;
};

struct correlation_stats {
  std::uint64_t matches = 0;              // base matches of a rule some correlation refers to
  std::uint64_t late_dropped = 0;         // older than watermark - allowed lateness
  std::uint64_t duplicates = 0;           // an event identity already in the group's window
  std::uint64_t missing_field = 0;        // a group-by (or value_count) field absent: not counted
  std::uint64_t alerts = 0;               // correlation alerts raised (chained ones included)
  std::uint64_t alerts_silenced = 0;      // inner alerts of a chain without generate: true
  std::uint64_t groups_expired = 0;       // records deleted once no window could use them
  std::uint64_t groups_evicted = 0;       // records dropped by max_groups
  std::uint64_t entries_evicted = 0;      // events dropped by max_entries_per_group
  std::uint64_t stale_records = 0;        // at restore: a removed or changed correlation's records
  std::uint64_t corrupt_records = 0;      // a record that does not decode (replaced by an empty one)
  std::uint64_t store_errors = 0;         // window_store get/put/erase errors
  std::uint64_t stale_matches = 0;        // routed matches of an unknown or changed correlation

  correlation_stats& operator+=(const correlation_stats& o) noexcept;
};

// A base-rule match as the evaluator takes it.
struct base_match {
  std::string_view rule_id;    // the Sigma rule's id (may be empty)
  std::string_view rule_name;  // its `name:` (may be empty)
  std::int64_t event_time_ms = 0;
  std::string_view event_id;  // identity of the event (e.g. topic/partition/offset, or a hash)
  const sigma_event* event = nullptr;  // group-by and value_count fields are read from it
};

// A base-rule match taken apart for one correlation, so it can travel to the instance
// that owns its group (docs/topology.md, "Correlations"): the group values and the
// counted value are read at ingest; `key` is the window record's store key, which is
// also the routing key. One per (match, correlation referring to the rule).
struct routed_match {
  std::string key;                  // store key: correlation key, NUL, group values
  std::uint64_t fingerprint = 0;    // of the correlation at ingest; a mismatch is stale
  std::uint32_t rule_index = 0;     // position of the reference in the correlation's `rules:`
  std::int64_t event_time_ms = 0;
  std::uint64_t identity = 0;       // hash of the event identity
  std::uint64_t value = 0;          // value_count: hash of the counted field's value
};

// Encodes `m` (version, fingerprint, rule index, time, identity, value; the key travels
// as the record key); decode() is its inverse and false on anything else.
void encode_routed(const routed_match& m, std::string& out);
[[nodiscard]] bool decode_routed(std::string_view key, std::string_view bytes, routed_match& m);

// The routed matches of one base-rule match: one per correlation referring to its rule
// whose group-by (and value_count) fields the event has; appended to `out`. Returns how
// many correlations were skipped for a missing field.
std::size_t route_match(const correlation_set& set, const base_match& m, std::vector<routed_match>& out);

struct correlation_alert {
  std::string id;                     // 32 hex digits: hash(correlation key, group values, window start)
  const correlation_rule* rule = nullptr;  // into the evaluator's correlation_set
  std::vector<std::pair<std::string, std::string>> group;  // group-by name -> value
  std::int64_t window_start_ms = 0;   // time of the window's first event
  std::int64_t window_end_ms = 0;     // window_start_ms + timespan
  std::int64_t event_time_ms = 0;     // when the condition came true (its last event's time)
  std::uint64_t count = 0;            // events, distinct values, or rules, by type
  std::uint64_t events = 0;           // events in the window
};

// Evaluates the correlations of one correlation_set over one stream of base-rule matches
// (in the processor: one observations partition, correlation_stage.hpp). Owns nothing
// but indexes: the windows are in `store`, the watermark too (a reserved key), so a new
// evaluator on the same store goes on where the last one stopped. Lives as long as its stream's assignment; used by one
// thread. A new correlation_set (reload) means a new evaluator on the same store: the
// records of correlations that are unchanged carry over, the others are dropped.
class correlation_evaluator {
 public:
  // Restores from what `store` holds (records of removed or changed correlations are
  // deleted). `set` and `store` outlive the evaluator.
  correlation_evaluator(std::shared_ptr<const correlation_set> set, window_store& store,
                        correlation_config cfg = {});

  // Appends the alerts this match completes to `out` (not cleared), only those that are
  // raised (an inner alert of a chain without generate: true is not).
  void on_match(const base_match& m, std::vector<correlation_alert>& out);
  // Moves the watermark (a partition idle, or wall-clock progress) without an event.
  void advance_watermark(std::int64_t event_time_ms, std::vector<correlation_alert>& out);
  // A match routed here by its group (route_match at ingest). One of a correlation this
  // set does not have, or whose fingerprint differs (a reload between ingest and here),
  // is counted (stale_matches) and ignored.
  void on_routed(const routed_match& m, std::vector<correlation_alert>& out);
  // End of a finite input (replay): judges every open window and deletes every record.
  void flush(std::vector<correlation_alert>& out);

  [[nodiscard]] const correlation_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::optional<std::int64_t> watermark() const noexcept { return watermark_; }
  [[nodiscard]] std::size_t groups() const noexcept { return index_.size(); }

 private:
  struct record;
  struct group_state {
    std::int64_t newest = 0;  // newest event time in the record
    std::int64_t due = 0;     // when the watermark passes it, the record needs a look
  };
  struct field_view;

  void feed(std::size_t correlation, std::size_t rule_index, std::int64_t time, const field_view& fields,
            std::string_view identity, std::vector<correlation_alert>& out, int depth);
  // The part of feed() after the fields are read: the record under `key`.
  void add_entry(std::size_t correlation, const std::string& key, std::int64_t time, std::uint32_t rule_index,
                 std::uint64_t value, std::uint64_t identity, std::vector<correlation_alert>& out, int depth);
  // Accepts an event time (late: false, counted) and moves the watermark.
  [[nodiscard]] bool accept_time(std::int64_t event_time_ms, std::vector<correlation_alert>& out);
  // Completes an alert of a window (id, group), chains it, and appends it to `out` if raised.
  void emit(std::size_t correlation, const std::string& key, correlation_alert a, std::vector<correlation_alert>& out,
            int depth);
  void set_watermark(std::int64_t t, std::vector<correlation_alert>& out);
  void run_due(std::vector<correlation_alert>& out);
  // Upper-bounded conditions: judges the windows that are closed, appends what fires.
  void judge_closed(std::size_t correlation, record& rec, std::vector<correlation_alert>& fired);
  void save(std::size_t correlation, const std::string& key, record& rec);
  void forget(const std::string& key);
  void evict_oldest(const std::string& keep);
  [[nodiscard]] bool load(std::size_t correlation, const std::string& key, record& rec);
  [[nodiscard]] std::int64_t horizon() const;

  std::shared_ptr<const correlation_set> set_;
  window_store& store_;
  correlation_config cfg_;
  correlation_stats stats_;
  std::optional<std::int64_t> watermark_;
  std::unordered_map<std::string, group_state> index_;
  std::set<std::pair<std::int64_t, std::string>> due_;     // (due, key)
  std::set<std::pair<std::int64_t, std::string>> oldest_;  // (newest event time, key)
  std::string scratch_;
  std::unordered_map<std::uint64_t, std::uint32_t> values_scratch_;  // distinct values in a window
  std::vector<std::uint32_t> rules_scratch_;                         // events per rule in a window
};

}  // namespace countersign::rules::sigma
