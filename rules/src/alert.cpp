#include <countersign/rules/alert.hpp>
#include "alert_parts.hpp"
#include <countersign/rules/json_writer.hpp>
#include <countersign/rules/observation_fields.hpp>
#include <countersign/rules/time.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <string>
#include <type_traits>

namespace countersign::rules {
namespace {

void optional_field(json_writer& w, std::string_view key, const text_field& f) {
  if (f.present) w.field(key, f.view());
}

void optional_time(json_writer& w, std::string_view key, const std::optional<std::int64_t>& t,
                   std::string& scratch) {
  if (!t) return;
  scratch.clear();
  format_rfc3339_ms(*t, scratch);
  w.field(key, scratch);
}

// One field under its countersign.alert/v1 key: text and optional values when the source
// carried them, enums by name, counts and provenance always. A uint64 (host_hash) has no
// JSON form here; the table gives it no alert key.
template <class Row>
void write_value(json_writer& w, std::string_view key, const Row& row, const observation& obs, std::string& scratch) {
  const auto& v = Row::of(obs);
  using V = typename Row::type;
  if constexpr (std::is_same_v<V, text_field>) {
    optional_field(w, key, v);
  } else if constexpr (std::is_same_v<V, std::optional<std::int64_t>>) {
    if (row.form == value_form::time) optional_time(w, key, v, scratch);
    else if (v) w.field(key, *v);
  } else if constexpr (std::is_same_v<V, std::optional<bool>>) {
    if (v) w.field_bool(key, *v);
  } else if constexpr (std::is_enum_v<V>) {
    w.field(key, to_string(v));
  } else if constexpr (std::is_same_v<V, std::string>) {
    w.field(key, v);
  } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, std::uint64_t>) {
    w.field(key, static_cast<std::int64_t>(v));
  }
}

// The fields whose alert key is `block`.<key>, in the table's order (rules/
// observation_fields.hpp). The blocks written so are those whose key order in
// countersign.alert/v1 is the table's: host, process.hash, process.pe, source. The
// signature and Code Integrity blocks keep their published order below, which is not the
// wire order the table fixes.
void write_fields(json_writer& w, std::string_view block, const observation& obs, std::string& scratch) {
  for_each_observation_field([&](const auto& row) {
    if (row.alert.size() <= block.size() || !row.alert.starts_with(block) || row.alert[block.size()] != '.') return;
    const auto key = row.alert.substr(block.size() + 1);
    if (key.find('.') != std::string_view::npos) return;  // a nested block's
    write_value(w, key, row, obs, scratch);
  });
}

}  // namespace

severity combined_severity(std::span<const hit> hits) noexcept {
  severity max = severity::info;
  int mediums = 0;
  for (const auto& h : hits) {
    max = std::max(max, h.level);
    if (h.level == severity::medium) ++mediums;
  }
  if (mediums >= 2 && max < severity::high) max = severity::high;
  return max;
}

std::string alert_id(std::span<const hit> hits, const observation& obs,
                     std::int64_t suppression_window_ms) {
  // At most a handful of detectors hit one observation; a small array avoids allocation.
  std::array<std::string_view, 16> ids{};
  const std::size_t n = std::min(hits.size(), ids.size());
  for (std::size_t i = 0; i < n; ++i) ids[i] = hits[i].id;
  std::sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));

  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  const auto feed = [&state](std::string_view s) {
    XXH3_128bits_update(&state, s.data(), s.size());
    XXH3_128bits_update(&state, "\0", 1);  // field separator: "ab"+"c" != "a"+"bc"
  };
  for (std::size_t i = 0; i < n; ++i) feed(ids[i]);
  // Hits that all share a group key (a CA mass revocation) are one alert per group.
  const bool grouped = !hits.empty() && !hits.front().group_key.empty() &&
                       std::all_of(hits.begin(), hits.end(), [&](const hit& h) { return h.group_key == hits.front().group_key; });
  if (grouped) {
    feed(hits.front().group_key);
  } else {
    feed(obs.host_key());
    feed(obs.sha256.has_value() ? obs.sha256.view()
         : obs.sha1.has_value() ? obs.sha1.view()
                                : obs.image_path.view());
  }
  // Code Integrity enforcement aggregates per (host, file, policy) and window.
  if (obs.ci.present()) feed(obs.ci.policy_id.has_value() ? obs.ci.policy_id.view() : obs.ci.policy_name.view());
  const std::int64_t window =
      suppression_window_ms > 0 && obs.event_time_ms ? *obs.event_time_ms / suppression_window_ms : 0;
  XXH3_128bits_update(&state, &window, sizeof window);
  const XXH128_hash_t h = XXH3_128bits_digest(&state);
  return hex_id(h.high64, h.low64);
}

std::string hex_id(std::uint64_t high64, std::uint64_t low64) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    const std::uint64_t word = i < 8 ? high64 : low64;
    const auto byte = static_cast<unsigned>((word >> (8 * (7 - (i % 8)))) & 0xFF);
    out[static_cast<std::size_t>(2 * i)] = k_hex[byte >> 4];
    out[static_cast<std::size_t>(2 * i + 1)] = k_hex[byte & 0xF];
  }
  return out;
}

void render_alert(const observation& obs, std::span<const hit> hits, std::string_view id,
                  std::int64_t detected_at_ms, const alert_prevalence* prevalence,
                  std::span<const std::string_view> techniques, std::string& out) {
  out.clear();
  std::string scratch;
  json_writer w(out);
  w.begin_object();
  w.field("schema", k_alert_schema);
  w.field("id", id);
  optional_time(w, "time", obs.event_time_ms, scratch);
  optional_time(w, "detected_at", detected_at_ms, scratch);
  w.field("severity", to_string(combined_severity(hits)));
  w.key("technique").begin_array();
  for (const auto t : techniques) w.string(t);
  w.end_array();

  w.key("detections").begin_array();
  for (const auto& h : hits) detail::write_detection(w, h);
  w.end_array();

  w.key("host").begin_object();
  write_fields(w, "host", obs, scratch);
  w.end_object();
  if (obs.user_name.present) {
    w.key("user").begin_object().field("name", obs.user_name.view()).end_object();
  }

  w.key("process").begin_object();
  optional_field(w, "executable", obs.image_path);
  w.key("hash").begin_object();
  write_fields(w, "process.hash", obs, scratch);
  w.end_object();
  w.key("pe").begin_object();
  write_fields(w, "process.pe", obs, scratch);
  w.end_object();
  const auto& sig = obs.signature;
  w.key("code_signature").begin_object();
  w.field("status", to_string(sig.status));
  optional_field(w, "status_raw", sig.status_raw);
  if (sig.trusted) w.field_bool("trusted", *sig.trusted);
  optional_field(w, "subject_name", sig.subject);
  optional_field(w, "issuer", sig.issuer);
  optional_field(w, "serial_number", sig.serial);
  optional_field(w, "thumbprint", sig.thumbprint);
  optional_time(w, "not_before", sig.not_before_ms, scratch);
  optional_time(w, "not_after", sig.not_after_ms, scratch);
  optional_time(w, "timestamp", sig.signing_time_ms, scratch);
  w.end_object();
  w.end_object();

  if (obs.ci.present()) {
    w.key("codeintegrity");
    detail::write_codeintegrity(w, obs.ci);
  }
  if (prevalence != nullptr) {
    w.key("prevalence");
    detail::write_prevalence(w, *prevalence, scratch);
  }
  w.key("source");
  detail::write_source(w, obs);
  w.end_object();
}

namespace detail {

void write_detection(json_writer& w, const hit& h) {
  w.begin_object();
  w.field("id", h.id).field("title", h.title).field("severity", to_string(h.level));
  w.field("reason", h.reason);
  w.key("evidence").begin_object();
  for (const auto& e : h.evidence) w.field(e.key, e.value);
  w.end_object();
  w.end_object();
}

void write_prevalence(json_writer& w, const alert_prevalence& p, std::string& scratch) {
  const auto record = [&](std::string_view key, const std::optional<state::prevalence_record>& r, bool hashes) {
    if (!r) return;
    w.key(key).begin_object();
    w.field("hosts", static_cast<std::int64_t>(r->hosts));
    if (hashes) w.field("hashes", static_cast<std::int64_t>(r->hashes));
    optional_time(w, "first_seen", r->first_seen_ms, scratch);
    optional_time(w, "last_seen", r->last_seen_ms, scratch);
    w.end_object();
  };
  w.begin_object();
  record("hash", p.hash, false);
  record("signer", p.signer, true);
  record("issuer", p.issuer, false);
  w.end_object();
}

void write_codeintegrity(json_writer& w, const codeintegrity_info& ci) {
  const auto optional_int = [&w](std::string_view key, const std::optional<std::int64_t>& v) {
    if (v) w.field(key, *v);
  };
  w.begin_object();
  optional_int("event_id", ci.event_id);
  w.field("class", to_string(ci.klass));
  optional_field(w, "policy_name", ci.policy_name);
  optional_field(w, "policy_id", ci.policy_id);
  optional_field(w, "policy_guid", ci.policy_guid);
  optional_int("requested_signing_level", ci.requested_signing_level);
  optional_int("validated_signing_level", ci.validated_signing_level);
  optional_field(w, "status", ci.status);
  optional_int("verification_error", ci.verification_error);
  optional_field(w, "process", ci.process_name);
  optional_field(w, "activity_id", ci.activity_id);
  if (ci.user_writable) w.field_bool("user_writable", *ci.user_writable);
  w.field("joined_signatures", static_cast<std::int64_t>(ci.joined_signatures));
  w.end_object();
}

void write_source(json_writer& w, const observation& obs) {
  std::string no_times;  // the source block has none; never allocates
  w.begin_object();
  write_fields(w, "source", obs, no_times);
  w.end_object();
}

}  // namespace detail

}  // namespace countersign::rules
