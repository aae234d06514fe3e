#include <countersign/processor/engine/correlation_stage.hpp>
#include <countersign/processor/version.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/time.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <unordered_map>

namespace countersign::processor {

namespace sigma = rules::sigma;

// The records of one partition: what changed since the last flush in memory, the rest in
// RocksDB (or, without a store, everything in memory).
class correlation_stage::partition_windows final : public sigma::window_store {
 public:
  partition_windows(state::prevalence_store* db, std::int32_t partition) : db_(db), partition_(partition) {}

  [[nodiscard]] status get(std::string_view key, std::string& value) const override {
    if (const auto it = dirty_.find(std::string(key)); it != dirty_.end()) {
      if (!it->second) return status::not_found;
      value.assign(record_of(*it->second));
      return status::ok;
    }
    if (!db_) return status::not_found;
    auto got = db_->get_window(partition_, key);
    if (!got) return status::error;
    if (!*got) return status::not_found;
    value.assign(record_of(**got));
    return status::ok;
  }

  [[nodiscard]] status put(std::string_view key, std::string_view value, std::int64_t expires_ms) override {
    state::window_value(scratch_, value, expires_ms);
    dirty_.insert_or_assign(std::string(key), scratch_);
    return status::ok;
  }

  [[nodiscard]] status erase(std::string_view key) override {
    if (db_) dirty_.insert_or_assign(std::string(key), std::nullopt);
    else dirty_.erase(std::string(key));
    return status::ok;
  }

  void for_each(const std::function<void(std::string_view, std::string_view)>& fn) const override {
    if (db_) {
      const auto visited = db_->for_each_window(partition_, [&](std::string_view key, std::string_view stored) {
        if (!dirty_.contains(std::string(key))) fn(key, record_of(stored));
      });
      if (!visited) ++read_errors_;
    }
    for (const auto& [key, stored] : dirty_) {
      if (stored) fn(key, record_of(*stored));
    }
  }

  void flush(const changelog_fn& changelog) {
    if (!db_) return;
    for (const auto& [key, stored] : dirty_) {
      if (stored) db_->put_window(partition_, key, *stored);
      else db_->erase_window(partition_, key);
      if (changelog) changelog(partition_, key, stored ? &*stored : nullptr);
    }
    flushed_ += dirty_.size();
    dirty_.clear();
  }

  [[nodiscard]] std::uint64_t flushed() const noexcept { return flushed_; }
  [[nodiscard]] std::size_t dirty() const noexcept { return db_ ? dirty_.size() : 0; }
  [[nodiscard]] std::uint64_t read_errors() const noexcept { return read_errors_; }

 private:
  // A record as stored: expiry first (state::window_value); a short one reads as empty,
  // which the evaluator counts as corrupt.
  static std::string_view record_of(std::string_view stored) {
    const auto parts = state::split_window_value(stored);
    return parts ? parts->record : std::string_view();
  }

  state::prevalence_store* db_;
  std::int32_t partition_;
  std::unordered_map<std::string, std::optional<std::string>> dirty_;
  std::string scratch_;
  std::uint64_t flushed_ = 0;
  mutable std::uint64_t read_errors_ = 0;
};

struct correlation_stage::partition_state {
  partition_windows windows;
  std::unique_ptr<sigma::correlation_evaluator> evaluator;
  partition_state(state::prevalence_store* db, std::int32_t p) : windows(db, p) {}
};

correlation_stage::correlation_stage(const config& cfg, state::prevalence_store* store)
    : store_(store),
      formats_(alert_formats(cfg)),
      source_topic_(topics_of(cfg).observations),
      set_(std::make_shared<const sigma::correlation_set>()) {
  limits_.allowed_lateness_ms = cfg.sigma.correlations.allowed_lateness_ms;
  limits_.max_groups = cfg.sigma.correlations.max_groups;
  limits_.max_entries_per_group = cfg.sigma.correlations.max_entries_per_group;
}

correlation_stage::~correlation_stage() = default;

void correlation_stage::set_rules(std::shared_ptr<const sigma::correlation_set> set) {
  if (!set) set = std::make_shared<const sigma::correlation_set>();
  if (set == set_) return;
  set_ = std::move(set);
  // Rebuilt on next use from the records (their unflushed ones included).
  for (auto& [p, s] : partitions_) {
    if (s->evaluator) retired_ += s->evaluator->stats();
    s->evaluator.reset();
  }
}

correlation_stage::partition_state& correlation_stage::partition(std::int32_t p) {
  auto& s = partitions_[p];
  if (!s) s = std::make_unique<partition_state>(store_, p);
  if (!s->evaluator) s->evaluator = std::make_unique<sigma::correlation_evaluator>(set_, s->windows, limits_);
  return *s;
}

bool correlation_stage::process(std::int32_t partition, std::string_view key, std::string_view value,
                                std::optional<std::int64_t> now_ms, std::vector<emitted_alert>& out,
                                std::size_t& count) {
  if (!sigma::decode_routed(key, value, scratch_)) {
    ++stats_.bad_records;
    return false;
  }
  process(partition, scratch_, now_ms, out, count);
  return true;
}

void correlation_stage::process(std::int32_t partition, const sigma::routed_match& m, std::optional<std::int64_t> now_ms,
                                std::vector<emitted_alert>& out, std::size_t& count) {
  fired_.clear();
  this->partition(partition).evaluator->on_routed(m, fired_);
  for (const auto& a : fired_) render(partition, a, now_ms, out, count);
}

void correlation_stage::finish(std::optional<std::int64_t> now_ms, std::vector<emitted_alert>& out, std::size_t& count) {
  for (auto& [p, s] : partitions_) {
    if (!s->evaluator) continue;
    fired_.clear();
    s->evaluator->flush(fired_);
    for (const auto& a : fired_) render(p, a, now_ms, out, count);
  }
}

void correlation_stage::flush(const changelog_fn& changelog) {
  if (!store_) return;
  std::int64_t horizon = std::numeric_limits<std::int64_t>::max();
  for (auto& [p, s] : partitions_) {
    s->windows.flush(changelog);
    if (s->evaluator && s->evaluator->watermark()) {
      horizon = std::min(horizon, *s->evaluator->watermark() - limits_.allowed_lateness_ms);
    }
  }
  // The compaction filter may drop what every live evaluator is done with.
  if (horizon != std::numeric_limits<std::int64_t>::max()) store_->set_window_horizon(horizon);
}

std::size_t correlation_stage::pending() const noexcept {
  std::size_t n = 0;
  for (const auto& [p, s] : partitions_) n += s->windows.dirty();
  return n;
}

void correlation_stage::release(std::int32_t partition) {
  const auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  if (it->second->evaluator) retired_ += it->second->evaluator->stats();
  retired_flushed_ += it->second->windows.flushed();
  partitions_.erase(it);
}

const correlation_stage_stats& correlation_stage::stats() {
  stats_.evaluator = retired_;
  stats_.open_windows = 0;
  stats_.partitions = 0;
  std::uint64_t flushed = 0;
  for (const auto& [p, s] : partitions_) {
    flushed += s->windows.flushed();
    stats_.evaluator.store_errors += s->windows.read_errors();
    if (!s->evaluator) continue;
    stats_.evaluator += s->evaluator->stats();
    stats_.open_windows += s->evaluator->groups();
    ++stats_.partitions;
  }
  stats_.records_flushed = retired_flushed_ + flushed;
  stats_.correlations = set_ ? set_->size() : 0;
  return stats_;
}

namespace {

rules::severity severity_of(std::string_view level) {
  std::string l(level);
  for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "informational") return rules::severity::info;
  if (auto s = rules::parse_severity(l)) return *s;
  return rules::severity::medium;
}

// A group value under one of these group-by names says which host or user the alert is
// about (the envelope's host and user; the alert key).
bool names_host(std::string_view f) {
  for (const std::string_view n : {"Computer", "ComputerName", "Hostname", "host.name", "host.hostname", "host.id",
                                   "DeviceName", "DeviceId", "agent.hostname"})
    if (f == n) return true;
  return false;
}
bool names_user(std::string_view f) {
  for (const std::string_view n : {"User", "user.name", "SubjectUserName", "TargetUserName", "AccountName"})
    if (f == n) return true;
  return false;
}

std::string condition_text(const sigma::count_condition& c) {
  std::string out;
  const auto add = [&out](std::string_view op, const std::optional<std::uint64_t>& v) {
    if (!v) return;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", op, *v);
  };
  add("gt", c.gt);
  add("gte", c.gte);
  add("lt", c.lt);
  add("lte", c.lte);
  add("eq", c.eq);
  return out;
}

}  // namespace

void correlation_stage::render(std::int32_t partition, const sigma::correlation_alert& a,
                               std::optional<std::int64_t> now_ms, std::vector<emitted_alert>& out,
                               std::size_t& count) {
  const sigma::correlation_rule& c = *a.rule;
  rules::observation env;
  env.source.schema = rules::schema_profile::unknown;
  env.source.topic.assign(source_topic_);
  env.source.partition = partition;
  env.source.offset = -1;
  env.event_time_ms = a.event_time_ms;
  std::string group_text;
  for (const auto& [field, value] : a.group) {
    if (names_host(field) && !env.host_name.has_value()) env.host_name.set(value);
    if (names_user(field) && !env.user_name.has_value()) env.user_name.set(value);
    if (!group_text.empty()) group_text += ", ";
    group_text += fmt::format("{}={}", field, value);
  }
  std::vector<rules::hit> hits(1);
  rules::hit& h = hits.front();
  h.id = c.key();
  h.title = c.title.empty() ? c.key() : c.title;
  h.level = severity_of(c.level);
  h.reason = fmt::format("Sigma correlation \"{}\" ({}, {}): {} {} in {} ({}) from {} to {}", h.title,
                         sigma::to_string(c.type), condition_text(c.condition), a.count,
                         c.type == sigma::correlation_type::value_count ? "distinct " + c.value_field + " values"
                         : c.type == sigma::correlation_type::event_count ? std::string("events")
                                                                           : std::string("rules"),
                         c.timespan_text, group_text.empty() ? std::string("all events") : group_text,
                         rules::format_rfc3339_ms(a.window_start_ms), rules::format_rfc3339_ms(a.window_end_ms));
  h.group_key = "correlation:" + a.id;
  h.evidence.push_back({"rule_file", c.file});
  h.evidence.push_back({"correlation_type", std::string(sigma::to_string(c.type))});
  h.evidence.push_back({"window_start", rules::format_rfc3339_ms(a.window_start_ms)});
  h.evidence.push_back({"window_end", rules::format_rfc3339_ms(a.window_end_ms)});
  h.evidence.push_back({"count", std::to_string(a.count)});
  h.evidence.push_back({"events", std::to_string(a.events)});
  for (const auto& [field, value] : a.group) h.evidence.push_back({"group." + field, value});
  std::string refs;
  for (const auto& r : c.rules) refs += (refs.empty() ? "" : ",") + r;
  h.evidence.push_back({"rules", refs});
  if (!c.status.empty()) h.evidence.push_back({"status", c.status});
  std::vector<std::string> techniques;
  for (const auto& tag : c.tags) {
    std::string t(tag);
    for (auto& ch : t) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (!t.starts_with("attack.t") || t.size() < 12 || !std::isdigit(static_cast<unsigned char>(t[8]))) continue;
    std::string id = "T" + t.substr(8);
    if (std::ranges::find(techniques, id) == techniques.end()) techniques.push_back(std::move(id));
  }
  std::vector<std::string_view> tech(techniques.begin(), techniques.end());
  if (count == out.size()) out.emplace_back();
  emitted_alert& e = out[count++];
  e.token = 0;
  e.deferred = false;
  e.key.assign(env.host_key().empty() ? std::string_view(h.group_key) : env.host_key());
  render_emitted_alert({env, hits, a.id, now_ms.value_or(a.event_time_ms), nullptr, tech, k_version}, formats_, e);
  ++stats_.alerts;
}

}  // namespace countersign::processor
