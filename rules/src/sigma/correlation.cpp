// Correlation evaluation over a stream of base-rule matches. The stage diagram and the
// semantics are at the top of correlation.hpp; docs/sigma.md has the long form.
//
// Invariants:
//   * a record's entries are sorted by (time, rule, value, identity), so its content does
//     not depend on the order events arrived in;
//   * every record in the store is in index_, due_ and oldest_, and its `due` is when the
//     watermark's horizon (watermark - allowed lateness) passes either its first
//     unjudged bounded window's end or its newest event + timespan (then nothing can use
//     it any more);
//   * entries older than horizon - timespan are never needed: an event that is still
//     accepted cannot share a window with them.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <limits>

#include "countersign/rules/alert.hpp"
#include "countersign/rules/sigma/correlation.hpp"
#include "countersign/state/varint.hpp"

namespace countersign::rules::sigma {
namespace {

constexpr std::string_view k_meta_key{"\0meta", 5};
constexpr std::uint8_t k_record_version = 1;
constexpr std::uint8_t k_meta_version = 1;
constexpr int k_max_chain_depth = 16;
constexpr std::int64_t k_no_suppress = std::numeric_limits<std::int64_t>::min();

std::uint64_t hash64(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }

using state::detail::put_varint;

// state::detail::get_varint, in the bool-and-out-parameter style of this file's readers.
bool get_varint(std::string_view& in, std::uint64_t& v) {
  const auto r = state::detail::get_varint(in);
  if (r) v = *r;
  return r.has_value();
}

void put_fixed64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool get_fixed64(std::string_view& in, std::uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[static_cast<std::size_t>(i)])) << (8 * i);
  in.remove_prefix(8);
  return true;
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Store key: correlation key, NUL, then each group value length-prefixed.
std::string encode_key(std::string_view correlation_key, const std::vector<std::string_view>& values) {
  std::string k(correlation_key);
  k.push_back('\0');
  for (const auto v : values) {
    put_varint(k, v.size());
    k.append(v);
  }
  return k;
}

std::string_view correlation_key_of(std::string_view store_key) {
  return store_key.substr(0, store_key.find('\0'));
}

std::vector<std::string> group_values_of(std::string_view store_key) {
  std::vector<std::string> out;
  const auto nul = store_key.find('\0');
  if (nul == std::string_view::npos) return out;
  std::string_view in = store_key.substr(nul + 1);
  while (!in.empty()) {
    std::uint64_t n = 0;
    if (!get_varint(in, n) || n > in.size()) break;
    out.emplace_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return out;
}

std::string hex128(const XXH128_hash_t& h) { return rules::hex_id(h.high64, h.low64); }

}  // namespace

// ---------------------------------------------------------------------------------------
// correlation_set

correlation_set::correlation_set(std::vector<correlation_rule> correlations, const std::vector<rule>& rules)
    : rules_(std::move(correlations)) {
  // Who a reference names: (id, name) of the rule or correlation.
  const auto resolve = [&](const std::string& ref) -> std::pair<std::string, std::string> {
    for (const auto& r : rules)
      if ((!r.id.empty() && r.id == ref) || (!r.name.empty() && r.name == ref)) return {r.id, r.name};
    for (const auto& c : rules_)
      if ((!c.id.empty() && c.id == ref) || (!c.name.empty() && c.name == ref)) return {c.id, c.name};
    return {std::string(), ref};
  };
  compiled_.resize(rules_.size());
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& c = rules_[i];
    auto& comp = compiled_[i];
    by_key_.emplace(c.key(), i);
    std::string shape;  // what the fingerprint covers
    shape += to_string(c.type);
    shape += '\0' + std::to_string(c.timespan_ms) + '\0' + c.value_field + '\0';
    for (const auto* b : {&c.condition.gt, &c.condition.gte, &c.condition.lt, &c.condition.lte, &c.condition.eq})
      shape += (*b ? std::to_string(**b) : "-") + ",";
    for (std::size_t ri = 0; ri < c.rules.size(); ++ri) {
      const auto [id, name] = resolve(c.rules[ri]);
      const std::string& canonical = id.empty() ? name : id;
      (id.empty() ? by_name_ : by_id_)[canonical].push_back({i, ri});
      referenced_.insert(canonical);
      if (c.generate) generated_.insert(canonical);
      std::vector<std::string> fields;
      for (const auto& g : c.group_by) {
        std::string field = g;
        for (const auto& a : c.aliases) {
          if (a.name != g) continue;
          for (const auto& [ref, f] : a.fields)
            if (ref == c.rules[ri] || (!id.empty() && ref == id) || (!name.empty() && ref == name)) field = f;
        }
        fields.push_back(std::move(field));
      }
      shape += '\0' + canonical;
      for (const auto& f : fields) shape += '\x1f' + f;
      comp.fields.push_back(std::move(fields));
    }
    comp.fingerprint = hash64(shape);
  }
}

bool correlation_set::raises_alert(std::string_view id, std::string_view name) const {
  const std::string_view canonical = id.empty() ? name : id;
  if (canonical.empty() || !referenced_.contains(canonical)) return true;
  return generated_.contains(canonical);
}

const std::vector<correlation_set::target>* correlation_set::targets_of(std::string_view id,
                                                                        std::string_view name) const {
  const auto& map = id.empty() ? by_name_ : by_id_;
  const std::string_view canonical = id.empty() ? name : id;
  if (canonical.empty() || map.empty()) return nullptr;
  const auto it = map.find(std::string(canonical));
  return it == map.end() ? nullptr : &it->second;
}

const correlation_rule* correlation_set::find(std::string_view key) const {
  const auto it = by_key_.find(std::string(key));
  return it == by_key_.end() ? nullptr : &rules_[it->second];
}

// ---------------------------------------------------------------------------------------
// memory_window_store

window_store::status memory_window_store::get(std::string_view key, std::string& value) const {
  const auto it = records_.find(key);
  if (it == records_.end()) return status::not_found;
  value = it->second;
  return status::ok;
}

window_store::status memory_window_store::put(std::string_view key, std::string_view value, std::int64_t) {
  records_.insert_or_assign(std::string(key), std::string(value));
  return status::ok;
}

window_store::status memory_window_store::erase(std::string_view key) {
  const auto it = records_.find(key);
  if (it != records_.end()) records_.erase(it);
  return status::ok;
}

void memory_window_store::for_each(const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (const auto& [k, v] : records_) fn(k, v);
}

std::size_t memory_window_store::bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& [k, v] : records_) n += k.size() + v.size();
  return n;
}

// ---------------------------------------------------------------------------------------
// Window records
//
// Encoding (version 1): u8 version, fixed64 correlation fingerprint, varint
// zigzag(suppress_until), varint entry count, then per entry: varint zigzag(time delta
// from the previous entry; the first from 0), varint rule index, fixed64 value hash,
// fixed64 identity hash. About 20 bytes an event.

struct correlation_evaluator::record {
  struct entry {
    std::int64_t time = 0;
    std::uint32_t rule = 0;
    std::uint64_t value = 0;     // value_count: hash of the counted field's value
    std::uint64_t identity = 0;  // hash of the event identity (duplicates are ignored)
    auto operator<=>(const entry&) const = default;
  };
  std::uint64_t fingerprint = 0;
  std::int64_t suppress_until = k_no_suppress;  // windows starting at or before it do not fire
  std::vector<entry> entries;

  void encode(std::string& out) const {
    out.clear();
    out.push_back(static_cast<char>(k_record_version));
    put_fixed64(out, fingerprint);
    put_varint(out, zigzag(suppress_until));
    put_varint(out, entries.size());
    std::int64_t prev = 0;
    for (const auto& e : entries) {
      put_varint(out, zigzag(e.time - prev));
      prev = e.time;
      put_varint(out, e.rule);
      put_fixed64(out, e.value);
      put_fixed64(out, e.identity);
    }
  }

  [[nodiscard]] bool decode(std::string_view in) {
    if (in.empty() || static_cast<std::uint8_t>(in.front()) != k_record_version) return false;
    in.remove_prefix(1);
    std::uint64_t v = 0, n = 0;
    if (!get_fixed64(in, fingerprint) || !get_varint(in, v) || !get_varint(in, n)) return false;
    suppress_until = unzigzag(v);
    if (n > in.size()) return false;  // each entry takes more than a byte
    entries.clear();
    entries.reserve(n);
    std::int64_t prev = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      entry e;
      std::uint64_t dt = 0, r = 0;
      if (!get_varint(in, dt) || !get_varint(in, r) || !get_fixed64(in, e.value) || !get_fixed64(in, e.identity))
        return false;
      e.time = prev + unzigzag(dt);
      prev = e.time;
      if (r > std::numeric_limits<std::uint32_t>::max()) return false;
      e.rule = static_cast<std::uint32_t>(r);
      entries.push_back(e);
    }
    return in.empty() && std::ranges::is_sorted(entries);
  }
};

namespace {

struct window_result {
  std::uint64_t count = 0;   // the aggregate the condition is about
  std::uint64_t events = 0;  // entries in the window
  std::int64_t trigger = 0;  // time of the entry that made the condition true
  bool holds = false;
};

// The aggregate of a window as entries enter and leave it (entries in time order).
class window_count {
 public:
  window_count(const correlation_rule& c, std::unordered_map<std::uint64_t, std::uint32_t>& values,
               std::vector<std::uint32_t>& rules)
      : c_(c), values_(values), rules_(rules) {
    values_.clear();
    rules_.assign(c.rules.size(), 0);
  }
  template <class Entry>
  void add(const Entry& e) {
    ++events_;
    switch (c_.type) {
      case correlation_type::event_count: count_ = events_; break;
      case correlation_type::value_count: count_ += ++values_[e.value] == 1 ? 1 : 0; break;
      case correlation_type::temporal:
        if (e.rule < rules_.size()) count_ += ++rules_[e.rule] == 1 ? 1 : 0;
        break;
      case correlation_type::temporal_ordered:
        // Greedy: the earliest match of each next rule keeps the most room for the rest.
        if (next_ < c_.rules.size() && e.rule == next_) count_ = ++next_;
        break;
    }
  }
  // Not for temporal_ordered (an in-order prefix does not slide).
  template <class Entry>
  void remove(const Entry& e) {
    --events_;
    switch (c_.type) {
      case correlation_type::event_count: count_ = events_; break;
      case correlation_type::value_count: {
        const auto it = values_.find(e.value);
        if (it != values_.end() && --it->second == 0) {
          values_.erase(it);
          --count_;
        }
        break;
      }
      case correlation_type::temporal:
        if (e.rule < rules_.size() && --rules_[e.rule] == 0) --count_;
        break;
      case correlation_type::temporal_ordered: break;
    }
  }
  [[nodiscard]] std::uint64_t count() const { return count_; }
  [[nodiscard]] std::uint64_t events() const { return events_; }

 private:
  const correlation_rule& c_;
  std::unordered_map<std::uint64_t, std::uint32_t>& values_;
  std::vector<std::uint32_t>& rules_;
  std::uint64_t count_ = 0, events_ = 0, next_ = 0;
};

// Judges the window [start, start + timespan] over `entries` (sorted), starting at the
// first entry at or after `start`.
template <class Entries>
window_result judge_window(const correlation_rule& c, const Entries& entries, std::int64_t start,
                           std::unordered_map<std::uint64_t, std::uint32_t>& values, std::vector<std::uint32_t>& rules) {
  window_result r;
  const std::int64_t end = start + c.timespan_ms;
  const bool bounded = c.condition.bounded_above();
  window_count w(c, values, rules);
  auto it = std::ranges::lower_bound(entries, start, {}, [](const auto& e) { return e.time; });
  for (; it != entries.end() && it->time <= end; ++it) {
    w.add(*it);
    if (!bounded && !r.holds && c.condition.holds(w.count())) {
      r.holds = true;
      r.trigger = it->time;
    }
    if (bounded) r.trigger = it->time;
  }
  r.count = w.count();
  r.events = w.events();
  if (bounded) r.holds = r.events > 0 && c.condition.holds(r.count);
  return r;
}

// Lower-bounded conditions: the earliest distinct entry time s in [from, to] whose window
// [s, s + timespan] satisfies the condition. One sliding pass (linear in the entries),
// except temporal_ordered, judged window by window.
template <class Entries>
std::optional<std::int64_t> first_holding_start(const correlation_rule& c, const Entries& entries, std::int64_t from,
                                                std::int64_t to, std::unordered_map<std::uint64_t, std::uint32_t>& values,
                                                std::vector<std::uint32_t>& rules) {
  const auto by_time = [](const auto& e) { return e.time; };
  auto start = std::ranges::lower_bound(entries, from, {}, by_time);
  if (c.type == correlation_type::temporal_ordered) {
    while (start != entries.end() && start->time <= to) {
      const std::int64_t s = start->time;
      if (judge_window(c, entries, s, values, rules).holds) return s;
      while (start != entries.end() && start->time == s) ++start;
    }
    return std::nullopt;
  }
  window_count w(c, values, rules);
  auto lo = start, hi = start;  // the window's entries: [lo, hi)
  while (start != entries.end() && start->time <= to) {
    const std::int64_t s = start->time;
    for (; lo != start; ++lo) w.remove(*lo);
    for (; hi != entries.end() && hi->time <= s + c.timespan_ms; ++hi) w.add(*hi);
    if (c.condition.holds(w.count())) return s;
    while (start != entries.end() && start->time == s) ++start;
  }
  return std::nullopt;
}

}  // namespace

struct correlation_evaluator::field_view {
  const sigma_event* event = nullptr;
  const std::vector<std::pair<std::string, std::string>>* group = nullptr;

  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const {
    if (event) return event->field(name);
    if (group)
      for (const auto& [k, v] : *group)
        if (k == name) return std::string_view(v);
    return std::nullopt;
  }
};

// ---------------------------------------------------------------------------------------
// correlation_evaluator

correlation_evaluator::correlation_evaluator(std::shared_ptr<const correlation_set> set, window_store& store,
                                             correlation_config cfg)
    : set_(std::move(set)), store_(store), cfg_(cfg) {
  if (!set_) set_ = std::make_shared<const correlation_set>();
  cfg_.allowed_lateness_ms = std::clamp<std::int64_t>(cfg_.allowed_lateness_ms, 0, 366LL * 86'400'000);
  cfg_.max_groups = std::max<std::size_t>(cfg_.max_groups, 1);
  cfg_.max_entries_per_group = std::max<std::size_t>(cfg_.max_entries_per_group, 1);
  std::vector<std::string> drop;
  std::vector<std::pair<std::string, std::string>> keep;
  store_.for_each([&](std::string_view key, std::string_view value) {
    if (key == k_meta_key) {
      std::string_view in = value;
      std::uint64_t w = 0;
      if (!in.empty() && static_cast<std::uint8_t>(in.front()) == k_meta_version) {
        in.remove_prefix(1);
        if (get_varint(in, w)) watermark_ = unzigzag(w);
      }
      return;
    }
    keep.emplace_back(key, value);
  });
  for (auto& [key, value] : keep) {
    const correlation_rule* c = set_->find(correlation_key_of(key));
    if (!c) {
      ++stats_.stale_records;
      drop.push_back(std::move(key));
      continue;
    }
    const auto ci = static_cast<std::size_t>(c - set_->correlations().data());
    record rec;
    if (!rec.decode(value)) {
      ++stats_.corrupt_records;
      drop.push_back(std::move(key));
      continue;
    }
    if (rec.fingerprint != set_->compiled_of(ci).fingerprint) {
      ++stats_.stale_records;
      drop.push_back(std::move(key));
      continue;
    }
    if (rec.entries.empty()) {
      drop.push_back(std::move(key));
      continue;
    }
    save(ci, key, rec);
  }
  for (const auto& key : drop)
    if (store_.erase(key) == window_store::status::error) ++stats_.store_errors;
}

std::int64_t correlation_evaluator::horizon() const {
  return watermark_ ? *watermark_ - cfg_.allowed_lateness_ms : std::numeric_limits<std::int64_t>::min() / 4;
}

void correlation_evaluator::on_match(const base_match& m, std::vector<correlation_alert>& out) {
  const auto* targets = set_->targets_of(m.rule_id, m.rule_name);
  if (!targets) return;
  ++stats_.matches;
  if (!accept_time(m.event_time_ms, out)) return;
  const field_view fields{m.event, nullptr};
  for (const auto& t : *targets) feed(t.correlation, t.rule_index, m.event_time_ms, fields, m.event_id, out, 0);
}

bool correlation_evaluator::accept_time(std::int64_t t, std::vector<correlation_alert>& out) {
  if (watermark_ && t < horizon()) {
    ++stats_.late_dropped;
    return false;
  }
  if (!watermark_ || t > *watermark_) set_watermark(t, out);
  return true;
}

void correlation_evaluator::on_routed(const routed_match& m, std::vector<correlation_alert>& out) {
  const correlation_rule* c = set_->find(correlation_key_of(m.key));
  if (!c) {
    ++stats_.stale_matches;
    return;
  }
  const auto ci = static_cast<std::size_t>(c - set_->correlations().data());
  if (set_->compiled_of(ci).fingerprint != m.fingerprint || m.rule_index >= c->rules.size()) {
    ++stats_.stale_matches;
    return;
  }
  ++stats_.matches;
  if (!accept_time(m.event_time_ms, out)) return;
  add_entry(ci, m.key, m.event_time_ms, m.rule_index, m.value, m.identity, out, 0);
}

void correlation_evaluator::advance_watermark(std::int64_t event_time_ms, std::vector<correlation_alert>& out) {
  if (!watermark_ || event_time_ms > *watermark_) set_watermark(event_time_ms, out);
}

void correlation_evaluator::flush(std::vector<correlation_alert>& out) {
  // Not persisted: a later run on the same store goes on from the real watermark.
  const auto saved = watermark_;
  watermark_ = std::numeric_limits<std::int64_t>::max() / 4;
  run_due(out);
  watermark_ = saved;
}

void correlation_evaluator::set_watermark(std::int64_t t, std::vector<correlation_alert>& out) {
  watermark_ = t;
  scratch_.clear();
  scratch_.push_back(static_cast<char>(k_meta_version));
  put_varint(scratch_, zigzag(t));
  if (store_.put(k_meta_key, scratch_, std::numeric_limits<std::int64_t>::max()) == window_store::status::error)
    ++stats_.store_errors;
  run_due(out);
}

void correlation_evaluator::run_due(std::vector<correlation_alert>& out) {
  while (!due_.empty() && due_.begin()->first < horizon()) {
    const std::string key = due_.begin()->second;
    const correlation_rule* c = set_->find(correlation_key_of(key));
    if (!c) {  // cannot happen: only known correlations are indexed
      forget(key);
      continue;
    }
    const auto ci = static_cast<std::size_t>(c - set_->correlations().data());
    record rec;
    if (!load(ci, key, rec)) {
      forget(key);
      continue;
    }
    std::vector<correlation_alert> fired;
    judge_closed(ci, rec, fired);
    const std::int64_t keep_from = horizon() - c->timespan_ms;
    std::erase_if(rec.entries, [&](const record::entry& e) { return e.time < keep_from; });
    if (rec.entries.empty()) {
      if (store_.erase(key) == window_store::status::error) ++stats_.store_errors;
      forget(key);
      ++stats_.groups_expired;
    } else {
      save(ci, key, rec);
    }
    for (auto& a : fired) emit(ci, key, std::move(a), out, 0);
  }
}

bool correlation_evaluator::load(std::size_t correlation, const std::string& key, record& rec) {
  rec = record{};
  rec.fingerprint = set_->compiled_of(correlation).fingerprint;
  std::string bytes;
  switch (store_.get(key, bytes)) {
    case window_store::status::not_found: return false;
    case window_store::status::error: ++stats_.store_errors; return false;
    case window_store::status::ok: break;
  }
  record got;
  if (!got.decode(bytes)) {
    ++stats_.corrupt_records;
    return false;
  }
  if (got.fingerprint != rec.fingerprint) {
    ++stats_.stale_records;
    return false;
  }
  rec = std::move(got);
  return true;
}

void correlation_evaluator::save(std::size_t correlation, const std::string& key, record& rec) {
  const correlation_rule& c = set_->correlations()[correlation];
  rec.encode(scratch_);
  const std::int64_t expires = rec.entries.back().time + c.timespan_ms + cfg_.allowed_lateness_ms;
  if (store_.put(key, scratch_, expires) == window_store::status::error) ++stats_.store_errors;
  group_state g;
  g.newest = rec.entries.back().time;
  g.due = g.newest + c.timespan_ms;
  if (c.condition.bounded_above()) {
    const auto first = std::ranges::upper_bound(rec.entries, rec.suppress_until, {},
                                                [](const record::entry& e) { return e.time; });
    if (first != rec.entries.end()) g.due = std::min(g.due, first->time + c.timespan_ms);
  }
  auto [it, fresh] = index_.try_emplace(key, g);
  if (!fresh) {
    due_.erase({it->second.due, key});
    oldest_.erase({it->second.newest, key});
    it->second = g;
  }
  due_.emplace(g.due, key);
  oldest_.emplace(g.newest, key);
  if (fresh && index_.size() > cfg_.max_groups) evict_oldest(key);
}

void correlation_evaluator::forget(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return;
  due_.erase({it->second.due, key});
  oldest_.erase({it->second.newest, key});
  index_.erase(it);
}

void correlation_evaluator::evict_oldest(const std::string& keep) {
  for (const auto& [newest, key] : oldest_) {
    if (key == keep) continue;
    const std::string victim = key;  // `key` dies with the set entry
    if (store_.erase(victim) == window_store::status::error) ++stats_.store_errors;
    forget(victim);
    ++stats_.groups_evicted;
    return;
  }
}

void correlation_evaluator::judge_closed(std::size_t correlation, record& rec,
                                         std::vector<correlation_alert>& fired) {
  const correlation_rule& c = set_->correlations()[correlation];
  if (!c.condition.bounded_above()) return;
  const std::int64_t closed_before = horizon();
  for (const auto& e : rec.entries) {
    const std::int64_t s = e.time;
    if (s <= rec.suppress_until) continue;
    if (s + c.timespan_ms >= closed_before) break;
    const window_result w = judge_window(c, rec.entries, s, values_scratch_, rules_scratch_);
    if (!w.holds) continue;
    correlation_alert a;
    a.window_start_ms = s;
    a.window_end_ms = s + c.timespan_ms;
    a.event_time_ms = w.trigger;
    a.count = w.count;
    a.events = w.events;
    fired.push_back(std::move(a));
    rec.suppress_until = s + c.timespan_ms;
  }
}

void correlation_evaluator::feed(std::size_t correlation, std::size_t rule_index, std::int64_t time,
                                 const field_view& fields, std::string_view identity,
                                 std::vector<correlation_alert>& out, int depth) {
  const correlation_rule& c = set_->correlations()[correlation];
  const auto& comp = set_->compiled_of(correlation);
  std::vector<std::string_view> values;
  values.reserve(c.group_by.size());
  for (const auto& f : comp.fields[rule_index]) {
    const auto v = fields.get(f);
    if (!v) {
      ++stats_.missing_field;
      return;
    }
    values.push_back(*v);
  }
  std::uint64_t value = 0;
  if (c.type == correlation_type::value_count) {
    const auto v = fields.get(c.value_field);
    if (!v) {
      ++stats_.missing_field;
      return;
    }
    value = hash64(*v);
  }
  add_entry(correlation, encode_key(c.key(), values), time, static_cast<std::uint32_t>(rule_index), value,
            hash64(identity), out, depth);
}

void correlation_evaluator::add_entry(std::size_t correlation, const std::string& key, std::int64_t time,
                                      std::uint32_t rule_index, std::uint64_t value, std::uint64_t identity,
                                      std::vector<correlation_alert>& out, int depth) {
  const correlation_rule& c = set_->correlations()[correlation];
  record::entry e;
  e.time = time;
  e.rule = rule_index;
  e.identity = identity;
  e.value = value;
  record rec;
  (void)load(correlation, key, rec);
  const std::int64_t keep_from = horizon() - c.timespan_ms;
  std::erase_if(rec.entries, [&](const record::entry& x) { return x.time < keep_from; });
  if (std::ranges::any_of(rec.entries, [&](const record::entry& x) { return x.identity == e.identity && x.rule == e.rule; })) {
    ++stats_.duplicates;
    return;
  }
  rec.entries.insert(std::ranges::upper_bound(rec.entries, e), e);
  if (rec.entries.size() > cfg_.max_entries_per_group) {
    rec.entries.erase(rec.entries.begin());
    ++stats_.entries_evicted;
  }
  std::vector<correlation_alert> fired;
  if (!c.condition.bounded_above()) {
    // Only windows holding the new event can have changed: those starting in
    // [time - timespan, time], after the last fired window.
    const std::int64_t from = rec.suppress_until == k_no_suppress
                                  ? time - c.timespan_ms
                                  : std::max(time - c.timespan_ms, rec.suppress_until + 1);
    if (const auto s = first_holding_start(c, rec.entries, from, time, values_scratch_, rules_scratch_)) {
      const window_result w = judge_window(c, rec.entries, *s, values_scratch_, rules_scratch_);
      correlation_alert a;
      a.window_start_ms = *s;
      a.window_end_ms = *s + c.timespan_ms;
      a.event_time_ms = w.trigger;
      a.count = w.count;
      a.events = w.events;
      fired.push_back(std::move(a));
      rec.suppress_until = *s + c.timespan_ms;
    }
  }
  save(correlation, key, rec);
  for (auto& a : fired) emit(correlation, key, std::move(a), out, depth);
}

void correlation_evaluator::emit(std::size_t correlation, const std::string& key, correlation_alert a,
                                 std::vector<correlation_alert>& out, int depth) {
  const correlation_rule& c = set_->correlations()[correlation];
  a.rule = &c;
  const std::vector<std::string> values = group_values_of(key);
  a.group.clear();
  for (std::size_t g = 0; g < c.group_by.size() && g < values.size(); ++g) a.group.emplace_back(c.group_by[g], values[g]);
  // The id: correlation key, group values (length-prefixed), window start. Nothing that
  // depends on arrival order or on when the alert was raised.
  std::string buf(c.key());
  buf.push_back('\0');
  for (const auto& v : values) {
    put_varint(buf, v.size());
    buf += v;
  }
  put_fixed64(buf, static_cast<std::uint64_t>(a.window_start_ms));
  a.id = hex128(XXH3_128bits(buf.data(), buf.size()));
  ++stats_.alerts;
  // Raised before what it completes further up a chain.
  if (set_->raises_alert(c.id, c.name)) {
    out.push_back(a);
  } else {
    ++stats_.alerts_silenced;
  }
  // A chain: the alert is an event of the correlation for those that refer to it, with
  // its group values as its fields and its id as its identity.
  if (depth < k_max_chain_depth) {
    if (const auto* targets = set_->targets_of(c.id, c.name)) {
      const field_view fields{nullptr, &a.group};
      for (const auto& t : *targets) feed(t.correlation, t.rule_index, a.event_time_ms, fields, a.id, out, depth + 1);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Routed matches

correlation_stats& correlation_stats::operator+=(const correlation_stats& o) noexcept {
  matches += o.matches;
  late_dropped += o.late_dropped;
  duplicates += o.duplicates;
  missing_field += o.missing_field;
  alerts += o.alerts;
  alerts_silenced += o.alerts_silenced;
  groups_expired += o.groups_expired;
  groups_evicted += o.groups_evicted;
  entries_evicted += o.entries_evicted;
  stale_records += o.stale_records;
  corrupt_records += o.corrupt_records;
  store_errors += o.store_errors;
  stale_matches += o.stale_matches;
  return *this;
}

namespace {
constexpr std::uint8_t k_routed_version = 1;
}  // namespace

void encode_routed(const routed_match& m, std::string& out) {
  out.clear();
  out.push_back(static_cast<char>(k_routed_version));
  put_fixed64(out, m.fingerprint);
  put_varint(out, m.rule_index);
  put_varint(out, zigzag(m.event_time_ms));
  put_fixed64(out, m.identity);
  put_fixed64(out, m.value);
}

bool decode_routed(std::string_view key, std::string_view in, routed_match& m) {
  if (key.find('\0') == std::string_view::npos || key.front() == '\0') return false;
  if (in.empty() || static_cast<std::uint8_t>(in.front()) != k_routed_version) return false;
  in.remove_prefix(1);
  std::uint64_t rule = 0, t = 0;
  if (!get_fixed64(in, m.fingerprint) || !get_varint(in, rule) || !get_varint(in, t) || !get_fixed64(in, m.identity) ||
      !get_fixed64(in, m.value) || !in.empty() || rule > std::numeric_limits<std::uint32_t>::max())
    return false;
  m.key.assign(key);
  m.rule_index = static_cast<std::uint32_t>(rule);
  m.event_time_ms = unzigzag(t);
  return true;
}

std::size_t route_match(const correlation_set& set, const base_match& m, std::vector<routed_match>& out) {
  const auto* targets = set.targets_of(m.rule_id, m.rule_name);
  if (!targets || !m.event) return 0;
  std::size_t missing = 0;
  std::vector<std::string_view> values;
  for (const auto& t : *targets) {
    const correlation_rule& c = set.correlations()[t.correlation];
    const auto& comp = set.compiled_of(t.correlation);
    values.clear();
    bool complete = true;
    for (const auto& f : comp.fields[t.rule_index]) {
      const auto v = m.event->field(f);
      if (!v) {
        complete = false;
        break;
      }
      values.push_back(*v);
    }
    routed_match r;
    if (complete && c.type == correlation_type::value_count) {
      const auto v = m.event->field(c.value_field);
      if (v) r.value = hash64(*v);
      complete = v.has_value();
    }
    if (!complete) {
      ++missing;
      continue;
    }
    r.key = encode_key(c.key(), values);
    r.fingerprint = comp.fingerprint;
    r.rule_index = static_cast<std::uint32_t>(t.rule_index);
    r.event_time_ms = m.event_time_ms;
    r.identity = hash64(m.event_id);
    out.push_back(std::move(r));
  }
  return missing;
}

}  // namespace countersign::rules::sigma
