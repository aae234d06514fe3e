#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/user_profiles.hpp>
#include <countersign/processor/engine/content.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/time.hpp>
#include <countersign/rules/vendor_identity.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/normalize.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <fmt/format.h>
#include <sched.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
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

  // Calls fn(section&) for every mapping of the list under `key` (path key[i]).
  template <typename Fn>
  void each_item(const std::string& key, Fn&& fn) {
    const YAML::Node n = get(key);
    if (!n || n.IsNull()) return;
    if (!n.IsSequence()) {
      error(n, join(key), "must be a list");
      return;
    }
    std::size_t i = 0;
    for (const auto& item : n) {
      section s(item, join(key) + "[" + std::to_string(i++) + "]", file_, errors_);
      fn(s);
    }
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

  // A problem with `key` of this section (or the section itself when the key is absent),
  // reported with its full path and line.
  void fail(const std::string& key, const std::string& message) {
    const YAML::Node at = get(key);
    error(at ? at : node_, join(key), message);
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

// The lists of rules/content: compiled-in files, or those of `dir` where it has them.
struct content_lists {
  std::vector<std::string> trusted_publishers;
  std::vector<std::string> known_cas;
  std::vector<rules::subject_mismatch_config::protected_vendor> protected_vendors;
  std::vector<std::string> user_writable;
  std::vector<std::string> system_folders;
  std::vector<std::string> product_folders;
  std::vector<std::string> transient_folders;
};

content_lists load_content(const std::string& dir, std::vector<std::string>& errors) {
  content_lists out;
  for (const auto& builtin : builtin_content()) {
    std::string text(builtin.text);
    std::string name = "(built-in) rules/content/" + std::string(builtin.name);
    if (!dir.empty()) {
      const std::string path = dir + "/" + std::string(builtin.name);
      if (std::ifstream in(path); in) {
        std::stringstream buffer;
        buffer << in.rdbuf();
        text = buffer.str();
        name = path;
      }
    }
    if (builtin.name == "protected_vendors.yaml") {  // read by rules, which owns its format
      auto list = rules::load_protected_vendors(text, name);
      errors.insert(errors.end(), list.errors.begin(), list.errors.end());
      out.protected_vendors = std::move(list.vendors);
      continue;
    }
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      errors.push_back(fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg));
      continue;
    }
    section top(root, "", name, errors);
    if (builtin.name == "trusted_publishers.yaml") {
      out.trusted_publishers = top.list("trusted_publishers", {});
    } else if (builtin.name == "known_code_signing_cas.yaml") {
      out.known_cas = top.list("known_code_signing_cas", {});
    } else if (builtin.name == "user_writable_paths.yaml") {
      out.user_writable = top.list("user_writable_paths", {});
      out.system_folders = top.list("system_folders", {});
      out.product_folders = top.list("product_folders", {});
      out.transient_folders = top.list("transient_folders", {});
    }
  }
  return out;
}

std::vector<std::string> normalized_thumbprints(std::vector<std::string> thumbprints) {
  // Thumbprints are compared as observations carry them: lowercase hex, no separators.
  for (auto& t : thumbprints) {
    rules::text_field normalized;
    set_normalized_hex(normalized, t);
    t = std::move(normalized.value);
  }
  return thumbprints;
}

void read_detectors(section& s, rules::detector_config& d, const content_lists& content, config& cfg) {
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
    d.untrusted.internal_pki_thumbprints = rules::name_set(normalized_thumbprints(u.list("internal_pki_thumbprints", {})));
  }
  {
    auto r = s.child("certificate_expired_signing");
    auto& c = d.expired_signing;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.rare_level = r.level("rare_severity", c.rare_level);
    c.grace_days = r.integer("grace_days", c.grace_days, 0, 3650);
    c.contradiction_days = r.integer("contradiction_days", c.contradiction_days, 1, 36500);
    c.rare_hosts = r.count("rare_hosts", c.rare_hosts, 0, 1'000'000'000);
    c.new_file_hours = r.integer("new_file_hours", c.new_file_hours, 1, 87'600);
    c.new_file_level = r.level("new_file_severity", c.new_file_level);
  }
  {
    auto r = s.child("certificate_recently_issued");
    auto& c = d.recently_issued;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.max_validity_days = r.integer("max_validity_days", c.max_validity_days, 1, 3650);
    c.issued_within_days = r.integer("issued_within_days", c.issued_within_days, 0, 3650);
    c.max_signer_hosts = r.count("max_signer_hosts", c.max_signer_hosts, 0, 1'000'000'000);
    c.trusted_publishers = rules::name_set(r.list("trusted_publishers", content.trusted_publishers));
  }
  {
    auto r = s.child("issuer_unusual");
    auto& c = d.issuer_unusual;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.escalated_level = r.level("escalated_severity", c.escalated_level);
    c.max_issuer_hosts = r.count("max_issuer_hosts", c.max_issuer_hosts, 0, 1'000'000'000);
    c.new_within_days = r.integer("new_within_days", c.new_within_days, 0, 3650);
    c.max_signer_hashes = r.count("max_signer_hashes", c.max_signer_hashes, 0, 1'000'000'000);
    c.known_cas = rules::prefix_set(r.list("known_code_signing_cas", content.known_cas));
  }
  {
    auto r = s.child("metadata_subject_mismatch");
    auto& c = d.subject_mismatch;
    c.enabled = r.boolean("enabled", c.enabled);
    c.protected_level = r.level("protected_severity", c.protected_level);
    c.level = r.level("severity", c.level);
    c.max_hash_hosts = r.count("max_hash_hosts", c.max_hash_hosts, 0, 1'000'000'000);
    c.max_pair_hosts = r.count("max_pair_hosts", c.max_pair_hosts, 0, 1'000'000'000);
    c.established_level = r.level("established_severity", c.established_level);
    c.bundled_level = r.level("bundled_severity", c.bundled_level);
    c.learned_pair_hosts = r.count("learned_pair_hosts", c.learned_pair_hosts, 1, 1'000'000'000);
    c.rare_signer_hosts = r.count("rare_signer_hosts", c.rare_signer_hosts, 0, 1'000'000'000);
    c.protected_vendors = content.protected_vendors;
    c.system_folders = rules::path_glob_set(r.list("system_folders", content.system_folders));
    c.product_folders = rules::path_glob_set(r.list("product_folders", content.product_folders));
    c.transient_folders = rules::path_glob_set(r.list("transient_folders", content.transient_folders));
  }
  {
    auto r = s.child("codeintegrity_enforcement");
    auto& c = d.codeintegrity;
    c.enabled = r.boolean("enabled", c.enabled);
    c.block_level = r.level("block_severity", c.block_level);
    c.load_level = r.level("load_severity", c.load_level);
    c.audit_level = r.level("audit_severity", c.audit_level);
    std::vector<std::string> defaults;
    for (const auto e : c.escalating_errors) defaults.push_back(std::to_string(e));
    c.escalating_errors.clear();
    for (const auto& e : r.list("escalating_verification_errors", defaults)) {
      std::int64_t v = 0;
      const auto res = std::from_chars(e.data(), e.data() + e.size(), v);
      if (res.ec != std::errc() || res.ptr != e.data() + e.size()) {
        r.fail("escalating_verification_errors", "items must be integers, not \"" + e + "\"");
        continue;
      }
      c.escalating_errors.push_back(v);
    }
  }
  {
    auto r = s.child("rare_signed_user_path");
    auto& c = d.rare_user_path;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.with_other_level = r.level("with_other_severity", c.with_other_level);
    c.max_hash_hosts = r.count("max_hash_hosts", c.max_hash_hosts, 0, 1'000'000'000);
    c.max_signer_hosts = r.count("max_signer_hosts", c.max_signer_hosts, 0, 1'000'000'000);
    c.user_writable = rules::path_glob_set(r.list("user_writable_paths", content.user_writable), rules::glob_role::suspect);
  }
  {
    auto r = s.child("abused_certificate");
    auto& c = d.abused;
    c.enabled = r.boolean("enabled", c.enabled);
    c.level = r.level("severity", c.level);
    c.genuine_old_level = r.level("genuine_old_severity", c.genuine_old_level);
    cfg.intel_reload_interval_ms = r.duration("reload_interval", cfg.intel_reload_interval_ms, 1000);
    r.each_item("lists", [&](section& l) {
      const std::string path = l.text("path", "");
      const std::string format = l.text("format", "");
      const auto f = rules::parse_intel_format(format);
      if (path.empty() || !f) {
        l.fail(path.empty() ? "path" : "format", "each list needs path and format (abusech-csv, abusech-json, lolcerts-csv, "
                                       "certgraveyard-csv), not \"" + format + "\"");
        return;
      }
      cfg.intel_lists.push_back({path, *f});
    });
  }
  {
    auto r = s.child("signer_first_seen");
    d.first_seen.enabled = r.boolean("enabled", d.first_seen.enabled);
    d.first_seen.level = r.level("severity", d.first_seen.level);
  }
  s.each_item("exclusions", [&](section& e) {
    rules::exclusion_rule rule;
    rule.name = e.text("name", "");
    rule.detectors = e.list("detectors", {});
    for (const auto& id : rule.detectors) {
      if (std::ranges::find(rules::k_detector_ids, id) == rules::k_detector_ids.end()) {
        e.fail("detectors", "unknown detector id \"" + id + "\"");
      }
    }
    rule.thumbprints = rules::name_set(normalized_thumbprints(e.list("thumbprints", {})));
    rule.signers = rules::name_set(e.list("signers", {}));
    rule.issuers = rules::name_set(e.list("issuers", {}));
    rule.paths = rules::path_glob_set(e.list("paths", {}));
    rule.hosts = rules::path_glob_set(e.list("hosts", {}));
    if (rule.thumbprints.empty() && rule.signers.empty() && rule.issuers.empty() && rule.paths.empty() &&
        rule.hosts.empty()) {
      e.fail("thumbprints", "an exclusion needs at least one of thumbprints, signers, issuers, paths, hosts");
      return;
    }
    d.exclusions.push_back(std::move(rule));
  });
  s.each_item("mass_revocations", [&](section& m) {
    rules::mass_revocation r;
    r.signer = m.text("signer", "");
    std::string until = m.text("until", "");
    if (until.size() == 10) until += "T00:00:00Z";  // a date: from its start
    const auto t = rules::parse_rfc3339_ms(until);
    if (r.signer.empty() || !t) {
      m.fail(r.signer.empty() ? "signer" : "until", "needs signer and until (an RFC 3339 date or time)");
      return;
    }
    rules::text_field thumb;
    set_normalized_hex(thumb, r.signer);
    if (thumb.value.size() == 64) r.signer = thumb.value;  // a thumbprint, normalized like events
    r.until_ms = *t;
    d.mass_revocations.push_back(std::move(r));
  });
}

std::expected<config, std::string> build(const YAML::Node& root, const std::string& name) {
  std::vector<std::string> errors;
  config cfg;
  cfg.source = name;
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
      {
        auto sec = k.child("security");
        auto& x = c.security;
        x.protocol = sec.text("protocol", x.protocol);
        for (auto& ch : x.protocol) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        x.sasl_mechanism = sec.text("sasl_mechanism", x.sasl_mechanism);
        x.sasl_username = sec.text("sasl_username", x.sasl_username);
        x.sasl_password = sec.text("sasl_password", x.sasl_password);
        const std::string password_file = sec.text("sasl_password_file", "");
        x.ssl_ca_location = sec.text("ssl_ca_location", x.ssl_ca_location);
        x.ssl_certificate_location = sec.text("ssl_certificate_location", x.ssl_certificate_location);
        x.ssl_key_location = sec.text("ssl_key_location", x.ssl_key_location);
        x.ssl_key_password = sec.text("ssl_key_password", x.ssl_key_password);
        x.ssl_verify_hostname = sec.boolean("ssl_verify_hostname", x.ssl_verify_hostname);
        static const std::set<std::string> k_protocols = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
        static const std::set<std::string> k_mechanisms = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"};
        if (!k_protocols.contains(x.protocol)) {
          sec.fail("protocol", "must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL");
        }
        const bool sasl = x.protocol.starts_with("SASL_");
        if (!password_file.empty()) {
          if (std::ifstream in(password_file); in) {
            std::getline(in, x.sasl_password);  // first line; a trailing newline is not part of it
          } else {
            sec.fail("sasl_password_file", "cannot read " + password_file);
          }
        }
        if (sasl && !k_mechanisms.contains(x.sasl_mechanism)) {
          sec.fail("sasl_mechanism", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 with protocol " + x.protocol);
        }
        if (sasl && (x.sasl_username.empty() || x.sasl_password.empty())) {
          sec.fail("sasl_username", "SASL needs sasl_username and a password (sasl_password, "
                                    "COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD or sasl_password_file)");
        }
      }
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
        if (profile_name.starts_with("user:") && profile_name.size() > 5) {
          cfg.input.schemas[topic] = rules::schema_profile::user;
          cfg.input.user_profile_pins[topic] = profile_name.substr(5);
        } else if (auto profile = parse_profile_name(profile_name)) {
          cfg.input.schemas[topic] = *profile;
        } else {
          errors.push_back(cfg.source + ": input.schemas." + topic +
                           ": must be one of auto, ecs, ocsf, defender, codeintegrity, windows, evtx, sentinelone, user, user:NAME, not \"" + profile_name + "\"");
        }
      }
      const auto shape_policy = [&](const std::string& key, const std::string& value,
                                    unknown_shape_policy fallback) -> unknown_shape_policy {
        if (value == "accept") return unknown_shape_policy::accept;
        if (value == "reject") return unknown_shape_policy::reject;
        i.fail(key, "must be accept or reject, not \"" + value + "\"");
        return fallback;
      };
      cfg.input.unknown_shapes =
          shape_policy("unknown_shapes", i.text("unknown_shapes", "accept"), cfg.input.unknown_shapes);
      for (const auto& [topic, value] : i.string_map("unknown_shapes_by_topic")) {
        cfg.input.unknown_shapes_by_topic[topic] = shape_policy("unknown_shapes_by_topic", value, cfg.input.unknown_shapes);
      }
      cfg.input.profiles_file = i.text("profiles_file", cfg.input.profiles_file);
      cfg.input.profiles_reload_interval_ms =
          i.duration("profiles_reload_interval", cfg.input.profiles_reload_interval_ms, 0);
      // A profile file that does not load stops start-up, like a broken config; a file
      // broken later keeps the profiles that loaded before it (hot reload). A topic pinned
      // to a profile by name must name one the file (or the shipped set) has.
      const auto shipped = load_builtin_profiles();
      const auto loaded = cfg.input.profiles_file.empty() ? shipped : load_user_profiles_file(cfg.input.profiles_file);
      if (!cfg.input.profiles_file.empty()) {
        for (const auto& d : loaded.diagnostics) {
          if (d.error) errors.push_back(d.text());
        }
      }
      for (const auto& [topic, profile] : cfg.input.user_profile_pins) {
        if (loaded.set->find(profile) < 0 && shipped.set->find(profile) < 0) {
          errors.push_back(cfg.source + ": input.schemas." + topic + ": no user profile named \"" + profile + "\" in " +
                           (cfg.input.profiles_file.empty() ? std::string("the shipped profiles") : cfg.input.profiles_file));
        }
      }
      auto j = i.child("codeintegrity_join");
      auto& join = cfg.input.codeintegrity_join;
      join.hold_ms = j.duration("hold", join.hold_ms, 0);
      join.max_pending = j.count("max_pending", join.max_pending, 1, 10'000'000);
      auto c = i.child("certificate_join");
      auto& cert = cfg.input.certificate_join;
      cert.enabled = c.boolean("enabled", cert.enabled);
      cert.wait_ms = c.duration("wait", cert.wait_ms, 0);
    }
    {
      auto m = top.child("metrics");
      cfg.metrics.listen = m.text("listen", cfg.metrics.listen);
    }
    {
      auto a = top.child("alerts");
      cfg.alerts.suppression_window_ms = a.duration("suppression_window", cfg.alerts.suppression_window_ms, 1000);
      cfg.alerts.suppression_cache_entries = a.count("suppression_cache_entries", cfg.alerts.suppression_cache_entries, 0, 100'000'000);
      const auto format = [](section& s, const std::string& key, const std::string& value) {
        if (auto f = rules::parse_alert_format(value)) return *f;
        s.fail(key, "must be countersign, ocsf or ecs, not \"" + value + "\"");
        return rules::alert_format::countersign;
      };
      cfg.alerts.format = format(a, "format", a.text("format", "countersign"));
      std::set<std::string> topics = {cfg.kafka.alerts_topic};
      a.each_item("outputs", [&](section& o) {
        alert_output out;
        out.topic = o.text("topic", "");
        const std::string f = o.text("format", "");
        if (out.topic.empty()) o.fail("topic", "each output needs a topic");
        if (f.empty()) o.fail("format", "each output needs a format (countersign, ocsf or ecs)");
        else out.format = format(o, "format", f);
        if (out.topic.empty()) return;
        if (!topics.insert(out.topic).second) {
          o.fail("topic", "\"" + out.topic + "\" is already an alerts output (kafka.alerts_topic or an earlier item)");
        } else if (std::ranges::find(cfg.kafka.input_topics, out.topic) != cfg.kafka.input_topics.end()) {
          o.fail("topic", "must not be one of kafka.input_topics");
        }
        cfg.alerts.outputs.push_back(std::move(out));
      });
    }
    {
      auto p = top.child("processing");
      cfg.processing.drain_timeout_ms = p.duration("drain_timeout", cfg.processing.drain_timeout_ms, 0);
      cfg.processing.commit_interval_ms = p.duration("commit_interval", cfg.processing.commit_interval_ms, 10);
      cfg.processing.max_in_flight = p.count("max_in_flight", cfg.processing.max_in_flight, 1, 10'000'000);
      cfg.processing.threads = p.count("threads", cfg.processing.threads, 0, k_max_processing_threads);
    }
    {
      auto t = top.child("topology");
      auto& c = cfg.topology;
      c.topic_prefix = t.text("topic_prefix", c.topic_prefix);
      c.partitions = static_cast<std::int32_t>(t.integer("partitions", c.partitions, 1, state::k_max_partitions));
      c.replication_factor = static_cast<std::int32_t>(t.integer("replication_factor", c.replication_factor, -1, 32));
      if (c.replication_factor == 0) errors.push_back(name + ": topology.replication_factor: must be -1 (broker default) or at least 1");
      c.flush_interval_ms = t.duration("flush_interval", c.flush_interval_ms, 10);
      c.batch_bytes = t.integer("batch_bytes", c.batch_bytes, 0, k_max_batch_bytes);
    }
    {
      auto st = top.child("state");
      auto& c = cfg.state;
      c.dir = st.text("dir", c.dir);
      c.block_cache_bytes = st.count("block_cache_bytes", c.block_cache_bytes, 1 << 20, 1LL << 40);
      c.write_buffer_bytes = st.count("write_buffer_bytes", c.write_buffer_bytes, 1 << 20, 1LL << 40);
      c.retention_ms = st.duration("retention", c.retention_ms, 3'600'000);
      c.min_free_bytes = st.count("min_free_bytes", c.min_free_bytes, 0, 1LL << 50);
      c.recent_pairs = st.count("recent_pairs", c.recent_pairs, 0, 100'000'000);
      c.combine_max_keys = st.count("combine_max_keys", c.combine_max_keys, 1, 10'000'000);
      auto l = top.child("learning");
      c.min_history_ms = l.duration("min_history", c.min_history_ms, 0);
    }
    {
      auto d = top.child("detectors");
      cfg.detectors_content_dir = d.text("content_dir", cfg.detectors_content_dir);
      const auto content = load_content(cfg.detectors_content_dir, errors);
      read_detectors(d, cfg.detectors, content, cfg);
    }
    {
      auto g = top.child("sigma");
      auto& c = cfg.sigma;
      c.enabled = g.boolean("enabled", c.enabled);
      c.builtin = g.list("builtin", c.builtin);
      for (const auto& file : c.builtin) {
        const auto& shipped = builtin_sigma_rules();
        if (std::ranges::none_of(shipped, [&](const auto& f) { return f.name == file; })) {
          std::string known;
          for (const auto& f : shipped) known += (known.empty() ? "" : ", ") + std::string(f.name);
          g.fail("builtin", "no shipped Sigma rule file \"" + file + "\" (shipped: " + known + ")");
        }
      }
      c.rules_dir = g.text("rules_dir", c.rules_dir);
      c.reload_interval_ms = g.duration("reload_interval", c.reload_interval_ms, 0);
      c.max_fields = g.count("max_fields", c.max_fields, 16, 1'000'000);
      auto sup = g.child("suppression");
      constexpr std::array<std::string_view, 5> k_levels = {"informational", "low", "medium", "high", "critical"};
      for (std::size_t i = 0; i < k_levels.size(); ++i) {
        const std::string key(k_levels[i]);
        const bool per_event = c.suppression[i] == sigma_config::grouping::per_event;
        const std::string v = sup.text(key, per_event ? "event" : "file");
        if (v == "event") c.suppression[i] = sigma_config::grouping::per_event;
        else if (v == "file") c.suppression[i] = sigma_config::grouping::per_file;
        else sup.fail(key, "must be event (every matching event alerts) or file (one alert per rule, host and file per window), not \"" + v + "\"");
      }
      if (!c.rules_dir.empty() && !std::filesystem::is_directory(c.rules_dir)) {
        g.fail("rules_dir", "is not a directory: " + c.rules_dir);
      }
      auto corr = g.child("correlations");
      auto& cl = c.correlations;
      cl.allowed_lateness_ms = corr.duration("allowed_lateness", cl.allowed_lateness_ms, 0);
      cl.max_groups = corr.count("max_groups", cl.max_groups, 1, 100'000'000);
      cl.max_entries_per_group = corr.count("max_entries_per_group", cl.max_entries_per_group, 1, 1'000'000);
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

std::vector<std::pair<std::string, std::string>> security_properties(const kafka_config& k) {
  const auto& x = k.security;
  std::vector<std::pair<std::string, std::string>> p;
  if (x.protocol == "PLAINTEXT") return p;
  p.emplace_back("security.protocol", x.protocol);
  if (x.protocol.starts_with("SASL_")) {
    p.emplace_back("sasl.mechanisms", x.sasl_mechanism);
    p.emplace_back("sasl.username", x.sasl_username);
    p.emplace_back("sasl.password", x.sasl_password);
  }
  if (x.protocol.ends_with("SSL")) {
    if (!x.ssl_ca_location.empty()) p.emplace_back("ssl.ca.location", x.ssl_ca_location);
    if (!x.ssl_certificate_location.empty()) p.emplace_back("ssl.certificate.location", x.ssl_certificate_location);
    if (!x.ssl_key_location.empty()) p.emplace_back("ssl.key.location", x.ssl_key_location);
    if (!x.ssl_key_password.empty()) p.emplace_back("ssl.key.password", x.ssl_key_password);
    p.emplace_back("ssl.endpoint.identification.algorithm", x.ssl_verify_hostname ? "https" : "none");
  }
  return p;
}

std::vector<alert_output> alert_outputs(const config& cfg) {
  std::vector<alert_output> out{{cfg.kafka.alerts_topic, cfg.alerts.format}};
  out.insert(out.end(), cfg.alerts.outputs.begin(), cfg.alerts.outputs.end());
  return out;
}

alert_format_set alert_formats(const config& cfg) {
  alert_format_set set{};
  for (const auto& o : alert_outputs(cfg)) set[static_cast<std::size_t>(o.format)] = true;
  return set;
}

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

namespace {

// CPUs a cgroup quota allows (cgroup v2 cpu.max, else v1 cfs quota/period), rounded up;
// nullopt when unlimited or unknown.
std::optional<std::size_t> cgroup_cpus() {
  const auto ratio = [](double quota, double period) -> std::optional<std::size_t> {
    if (quota <= 0 || period <= 0) return std::nullopt;
    return static_cast<std::size_t>(std::ceil(quota / period));
  };
  if (std::ifstream v2("/sys/fs/cgroup/cpu.max"); v2) {
    std::string quota;
    double period = 0;
    if (v2 >> quota >> period && quota != "max") {
      double q = 0;
      const auto [end, ec] = std::from_chars(quota.data(), quota.data() + quota.size(), q);
      if (ec == std::errc() && end == quota.data() + quota.size()) return ratio(q, period);
    }
    return std::nullopt;
  }
  std::ifstream quota("/sys/fs/cgroup/cpu/cpu.cfs_quota_us");
  std::ifstream period("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double q = 0;
  double p = 0;
  if (quota >> q && period >> p) return ratio(q, p);
  return std::nullopt;
}

}  // namespace

std::size_t processing_threads(const processing_config& p) {
  if (p.threads > 0) return std::min(p.threads, k_max_processing_threads);
  std::size_t cpus = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
  if (const auto quota = cgroup_cpus()) cpus = std::min(cpus, std::max<std::size_t>(1, *quota));
  return std::min(cpus, k_max_processing_threads);
}

}  // namespace countersign::processor
