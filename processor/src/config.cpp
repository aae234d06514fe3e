#include <countersign/processor/config.hpp>
#include <countersign/processor/input_parser.hpp>
#include <countersign/processor/normalize.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

namespace countersign::processor {
namespace {

std::string env_name(const std::string& path) {
  std::string name = "COUNTERSIGN_";
  for (char c : path) {
    name.push_back(c == '.' || c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

// Reads one YAML mapping, remembering which keys were read so that every other key
// can be reported as unknown. Errors accumulate; values fall back to defaults.
class section {
 public:
  section(YAML::Node node, std::string path, std::string file, std::vector<std::string>& errors)
      : node_(std::move(node)), path_(std::move(path)), file_(std::move(file)), errors_(errors) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) {
      error(node_, path_, "must be a mapping");
      node_ = YAML::Node();
    }
  }

  ~section() { report_unknown(); }
  section(const section&) = delete;
  section& operator=(const section&) = delete;

  section child(const std::string& key) { return section(get(key), join(key), file_, errors_); }

  std::string text(const std::string& key, std::string fallback) {
    if (auto v = scalar(key)) return *v;
    return fallback;
  }

  bool boolean(const std::string& key, bool fallback) {
    const auto v = scalar(key);
    if (!v) return fallback;
    if (*v == "true" || *v == "yes" || *v == "on") return true;
    if (*v == "false" || *v == "no" || *v == "off") return false;
    error(get(key), join(key), "must be true or false, not \"" + *v + "\"");
    return fallback;
  }

  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
    const auto v = scalar(key);
    if (!v) return fallback;
    std::int64_t out = 0;
    const auto res = std::from_chars(v->data(), v->data() + v->size(), out);
    if (res.ec != std::errc() || res.ptr != v->data() + v->size()) {
      error(get(key), join(key), "must be an integer, not \"" + *v + "\"");
      return fallback;
    }
    if (out < min || out > max) {
      error(get(key), join(key), "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return fallback;
    }
    return out;
  }

  // A count or size: an integer in [min, max] as std::size_t.
  std::size_t count(const std::string& key, std::size_t fallback, std::int64_t min, std::int64_t max) {
    return static_cast<std::size_t>(integer(key, static_cast<std::int64_t>(fallback), min, max));
  }

  std::int64_t duration(const std::string& key, std::int64_t fallback_ms, std::int64_t min_ms) {
    const auto v = scalar(key);
    if (!v) return fallback_ms;
    auto ms = parse_duration_ms(*v);
    if (!ms) {
      error(get(key), join(key), ms.error());
      return fallback_ms;
    }
    if (*ms < min_ms) {
      error(get(key), join(key), "must be at least " + std::to_string(min_ms) + "ms");
      return fallback_ms;
    }
    return *ms;
  }

  rules::severity level(const std::string& key, rules::severity fallback) {
    const auto v = scalar(key);
    if (!v) return fallback;
    if (auto s = rules::parse_severity(*v)) return *s;
    error(get(key), join(key), "must be one of info, low, medium, high, critical, not \"" + *v + "\"");
    return fallback;
  }

  std::vector<std::string> list(const std::string& key, std::vector<std::string> fallback) {
    seen_.insert(key);
    if (const char* env = std::getenv(env_name(join(key)).c_str())) {
      std::vector<std::string> out;
      std::stringstream ss(env);
      for (std::string item; std::getline(ss, item, ',');) {
        if (!item.empty()) out.push_back(item);
      }
      return out;
    }
    const YAML::Node n = get(key);
    if (!n || n.IsNull()) return fallback;
    if (!n.IsSequence()) {
      error(n, join(key), "must be a list");
      return fallback;
    }
    std::vector<std::string> out;
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        error(item, join(key), "items must be strings");
        continue;
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  std::map<std::string, std::string> string_map(const std::string& key) {
    seen_.insert(key);
    const YAML::Node n = get(key);
    std::map<std::string, std::string> out;
    if (!n || n.IsNull()) return out;
    if (!n.IsMap()) {
      error(n, join(key), "must be a mapping of strings");
      return out;
    }
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        error(kv.second, join(key) + "." + kv.first.Scalar(), "must be a string");
        continue;
      }
      out[kv.first.Scalar()] = kv.second.Scalar();
    }
    return out;
  }

  void error(const YAML::Node& at, const std::string& key, const std::string& message) {
    if (at && at.Mark().line >= 0) {
      errors_.push_back(fmt::format("{}:{}: {}: {}", file_, at.Mark().line + 1, key, message));
    } else {
      errors_.push_back(fmt::format("{}: {}: {}", file_, key, message));
    }
  }

 private:
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  YAML::Node get(const std::string& key) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return YAML::Node();
    return node_[key];
  }

  std::optional<std::string> scalar(const std::string& key) {
    if (const char* env = std::getenv(env_name(join(key)).c_str())) {
      seen_.insert(key);
      return std::string(env);
    }
    const YAML::Node n = get(key);
    if (!n || n.IsNull()) return std::nullopt;
    if (!n.IsScalar()) {
      error(n, join(key), "must be a single value");
      return std::nullopt;
    }
    return n.Scalar();
  }

  void report_unknown() {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      const std::string k = kv.first.Scalar();
      if (!seen_.contains(k)) error(kv.first, join(k), "unknown key");
    }
  }

  YAML::Node node_;
  std::string path_;
  std::string file_;
  std::vector<std::string>& errors_;
  std::set<std::string> seen_;
};

void read_detectors(section& s, rules::detector_config& d) {
  {
    auto r = s.child("signature_revoked");
    d.revoked.enabled = r.boolean("enabled", d.revoked.enabled);
    d.revoked.level = r.level("severity", d.revoked.level);
  }
  {
    auto u = s.child("signature_untrusted");
    d.untrusted.enabled = u.boolean("enabled", d.untrusted.enabled);
    d.untrusted.level = u.level("severity", d.untrusted.level);
    d.untrusted.internal_pki_issuers = rules::name_set(u.list("internal_pki_issuers", {}));
    // Thumbprints are compared as observations carry them: lowercase hex, no separators.
    auto thumbprints = u.list("internal_pki_thumbprints", {});
    for (auto& t : thumbprints) {
      rules::text_field normalized;
      set_normalized_hex(normalized, t);
      t = std::move(normalized.value);
    }
    d.untrusted.internal_pki_thumbprints = rules::name_set(thumbprints);
  }
  {
    auto r = s.child("certificate_recently_issued");
    auto& c = d.recently_issued;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.max_validity_days = r.integer("max_validity_days", c.max_validity_days, 1, 3650);
    c.issued_within_days = r.integer("issued_within_days", c.issued_within_days, 0, 3650);
    c.max_signer_hosts = static_cast<std::uint64_t>(
        r.integer("max_signer_hosts", static_cast<std::int64_t>(c.max_signer_hosts), 0, 1'000'000'000));
    c.trusted_publishers = rules::name_set(r.list("trusted_publishers", rules::default_trusted_publishers()));
  }
}

std::expected<config, std::string> build(const YAML::Node& root, const std::string& name) {
  std::vector<std::string> errors;
  config cfg;
  cfg.source = name;
  cfg.detectors.recently_issued.trusted_publishers = rules::name_set(rules::default_trusted_publishers());
  {
    section top(root, "", name, errors);
    {
      auto k = top.child("kafka");
      auto& c = cfg.kafka;
      c.bootstrap_servers = k.text("bootstrap_servers", c.bootstrap_servers);
      c.group_id = k.text("group_id", c.group_id);
      c.client_id = k.text("client_id", c.client_id);
      c.group_instance_id = k.text("group_instance_id", c.group_instance_id);
      c.input_topics = k.list("input_topics", c.input_topics);
      c.alerts_topic = k.text("alerts_topic", c.alerts_topic);
      c.dead_letter_topic = k.text("dead_letter_topic", c.dead_letter_topic);
      c.consumer = k.string_map("consumer");
      c.producer = k.string_map("producer");
      if (c.bootstrap_servers.empty()) errors.push_back(name + ": kafka.bootstrap_servers: must not be empty");
      if (c.group_id.empty()) errors.push_back(name + ": kafka.group_id: must not be empty");
      if (c.input_topics.empty()) errors.push_back(name + ": kafka.input_topics: must name at least one topic");
      if (c.alerts_topic.empty()) errors.push_back(name + ": kafka.alerts_topic: must not be empty");
      if (std::ranges::find(c.input_topics, c.alerts_topic) != c.input_topics.end()) {
        errors.push_back(name + ": kafka.alerts_topic: must not be one of kafka.input_topics");
      }
    }
    {
      auto i = top.child("input");
      cfg.input.max_message_bytes = i.count("max_message_bytes", cfg.input.max_message_bytes, 64, 256LL << 20);
      cfg.input.max_field_bytes = i.count("max_field_bytes", cfg.input.max_field_bytes, 16, 1LL << 20);
      for (const auto& [topic, profile_name] : i.string_map("schemas")) {
        if (auto profile = parse_profile_name(profile_name)) {
          cfg.input.schemas[topic] = *profile;
        } else {
          errors.push_back(cfg.source + ": input.schemas." + topic +
                           ": must be one of auto, ecs, ocsf, defender, codeintegrity, not \"" + profile_name + "\"");
        }
      }
      auto j = i.child("codeintegrity_join");
      auto& join = cfg.input.codeintegrity_join;
      join.hold_ms = j.duration("hold", join.hold_ms, 0);
      join.max_pending = j.count("max_pending", join.max_pending, 1, 10'000'000);
    }
    {
      auto m = top.child("metrics");
      cfg.metrics.listen = m.text("listen", cfg.metrics.listen);
    }
    {
      auto a = top.child("alerts");
      cfg.alerts.suppression_window_ms = a.duration("suppression_window", cfg.alerts.suppression_window_ms, 1000);
      cfg.alerts.suppression_cache_entries = a.count("suppression_cache_entries", cfg.alerts.suppression_cache_entries, 0, 100'000'000);
    }
    {
      auto p = top.child("processing");
      cfg.processing.drain_timeout_ms = p.duration("drain_timeout", cfg.processing.drain_timeout_ms, 0);
      cfg.processing.commit_interval_ms = p.duration("commit_interval", cfg.processing.commit_interval_ms, 10);
      cfg.processing.max_in_flight = p.count("max_in_flight", cfg.processing.max_in_flight, 1, 10'000'000);
    }
    {
      auto t = top.child("topology");
      auto& c = cfg.topology;
      c.topic_prefix = t.text("topic_prefix", c.topic_prefix);
      c.partitions = static_cast<std::int32_t>(t.integer("partitions", c.partitions, 1, state::k_max_partitions));
      c.replication_factor = static_cast<std::int32_t>(t.integer("replication_factor", c.replication_factor, -1, 32));
      if (c.replication_factor == 0) errors.push_back(name + ": topology.replication_factor: must be -1 (broker default) or at least 1");
      c.flush_interval_ms = t.duration("flush_interval", c.flush_interval_ms, 10);
    }
    {
      auto st = top.child("state");
      auto& c = cfg.state;
      c.dir = st.text("dir", c.dir);
      c.block_cache_bytes = st.count("block_cache_bytes", c.block_cache_bytes, 1 << 20, 1LL << 40);
      c.write_buffer_bytes = st.count("write_buffer_bytes", c.write_buffer_bytes, 1 << 20, 1LL << 40);
      c.retention_ms = st.duration("retention", c.retention_ms, 3'600'000);
      c.recent_pairs = st.count("recent_pairs", c.recent_pairs, 0, 100'000'000);
      c.combine_max_keys = st.count("combine_max_keys", c.combine_max_keys, 1, 10'000'000);
      auto l = top.child("learning");
      c.min_history_ms = l.duration("min_history", c.min_history_ms, 0);
    }
    {
      auto d = top.child("detectors");
      read_detectors(d, cfg.detectors);
    }
    {
      auto l = top.child("log");
      cfg.log_level = l.text("level", cfg.log_level);
      cfg.log_format = l.text("format", cfg.log_format);
      if (cfg.log_format != "json" && cfg.log_format != "text") {
        errors.push_back(name + ": log.format: must be json or text, not \"" + cfg.log_format + "\"");
      }
      static const std::set<std::string> k_levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
      if (!k_levels.contains(cfg.log_level)) {
        errors.push_back(name + ": log.level: must be one of trace, debug, info, warn, error, critical, off");
      }
    }
  }  // sections report unknown keys as they close
  if (!errors.empty()) {
    std::string joined;
    for (const auto& e : errors) joined += e + "\n";
    joined.pop_back();
    return std::unexpected(joined);
  }
  return cfg;
}

}  // namespace

internal_topics topics_of(const config& cfg) {
  const std::string prefix = cfg.topology.topic_prefix.empty() ? cfg.kafka.group_id : cfg.topology.topic_prefix;
  return {prefix + ".observations", prefix + ".hash-state-changelog", prefix + ".signer-deltas", prefix + ".signers"};
}

std::expected<std::int64_t, std::string> parse_duration_ms(std::string_view text) {
  std::int64_t value = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc() || value < 0) {
    return std::unexpected("must be a duration such as 500ms, 30s, 5m, 24h or 7d, not \"" + std::string(text) + "\"");
  }
  const std::string_view unit(res.ptr, static_cast<std::size_t>(text.data() + text.size() - res.ptr));
  std::int64_t factor = 0;
  if (unit.empty() || unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else return std::unexpected("unknown duration unit \"" + std::string(unit) + "\" (use ms, s, m, h or d)");
  if (value > std::numeric_limits<std::int64_t>::max() / factor) {
    return std::unexpected("duration \"" + std::string(text) + "\" is too long");
  }
  return value * factor;
}

std::expected<config, std::string> parse_config(const std::string& yaml_text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return std::unexpected(name + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (root && !root.IsNull() && !root.IsMap()) {
    return std::unexpected(name + ": the top level must be a mapping");
  }
  return build(root, name);
}

std::expected<config, std::string> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::unexpected(path + ": cannot read the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace countersign::processor
