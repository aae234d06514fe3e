// Windows event log records in the shapes pipelines carry them, and the one
// interpretation they share.
//
//   flat (NXLog, Logstash/HELK, Splunk, Cribl)   {"EventID": 7, "Channel": ..., "Hostname": ..., "ImageLoaded": ...}
//   evtx JSON (evtx_dump, python-evtx, .evtx)    {"Event": {"System": {...}, "EventData": {...} | "UserData": {...}}}
//   Winlogbeat (ecs.cpp)                         {"winlog": {"channel", "event_id", "event_data": {...}}, ...}
//
// Each walker only finds the System facts (event id, channel, provider, computer, time,
// activity id) and collects the data items as raw fields; interpret_windows_event turns
// them into an observation the same way for every shape, so a record reads the same
// whichever way it travelled. The flat walker collects only the data items the
// interpretation can read (see flat_name_of): shipper keys (Message, Keywords,
// SourceModuleName, port, tags, @version, ...) are skipped without being unescaped.

#include "name_table.hpp"
#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <array>
#include <utility>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::text_field;

bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((static_cast<unsigned char>(a[i]) | 0x20) != (static_cast<unsigned char>(b[i]) | 0x20)) return false;
  }
  return true;
}

// Which time of a flat record wins when several are present: the record's own system
// time first (what Winlogbeat's @timestamp and evtx's SystemTime carry), then Sysmon's
// UtcTime, then the shipper's @timestamp, then NXLog's EventTime (local time, no zone).
enum time_rank : std::uint8_t { rank_time_created, rank_utc_time, rank_timestamp, rank_event_time, rank_other, rank_count };

// The Sysmon EventData items apply_sysmon_fields reads.
enum class sysmon_item : std::uint8_t {
  image,
  image_loaded,
  company,
  product,
  description,
  file_version,
  original_file_name,
  user,
  signature,
  hashes,
  signed_flag,
  signature_status,
};

// What a key of a flat record is to the walker. `other` keys are skipped unread unless
// the record is Code Integrity, whose names apply_ci_fields resolves for itself.
enum class flat_role : std::uint8_t {
  other,
  event_id,
  channel,
  provider,
  computer,
  host,
  host_id,
  activity_id,
  event_data,
  user_data,
  time_candidate,  // `arg`: the time_rank
  sysmon_data,     // `arg`: the sysmon_item
  shipper_text,    // the shipper's rendered text: no interpretation reads it, whatever the event
};

struct flat_name {
  flat_role role = flat_role::other;
  std::uint8_t arg = 0;
};

// The names the flat walker knows (name_table.hpp): a key costs a hash of its length and
// three of its bytes, a probe or two and one comparison. Most keys of an NXLog record are
// names nothing reads; a chain of comparisons made each of those pay for every known name.
struct flat_name_hash {
  constexpr std::uint64_t operator()(std::string_view key) const {
    const auto byte = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(key[i])); };
    const std::size_t n = key.size();
    const std::uint64_t x = n | byte(0) << 8 | byte(n / 2) << 16 | byte(n - 1) << 24;
    return x * 0x9E3779B97F4A7C15ULL;
  }
};
using flat_name_table = name_table<flat_name, 256, flat_name_hash>;  // about four times the names

constexpr flat_name sysmon_name(sysmon_item i) { return {flat_role::sysmon_data, static_cast<std::uint8_t>(i)}; }
constexpr flat_name time_name(time_rank r) { return {flat_role::time_candidate, r}; }

// Built at compile time: no guard to check and nothing to construct at start-up.
constexpr flat_name_table k_flat_names{
    {"EventID", {flat_role::event_id}},
    {"EventId", {flat_role::event_id}},
    {"event_id", {flat_role::event_id}},
    {"Id", {flat_role::event_id}},
    {"EventCode", {flat_role::event_id}},
    {"Channel", {flat_role::channel}},
    {"channel", {flat_role::channel}},
    {"LogName", {flat_role::channel}},
    {"SourceName", {flat_role::provider}},
    {"ProviderName", {flat_role::provider}},
    {"Provider_Name", {flat_role::provider}},
    {"Provider", {flat_role::provider}},
    // The endpoint's own name; the shipper's `host` (which may name a collector) is the last resort.
    {"Computer", {flat_role::computer}},
    {"Hostname", {flat_role::computer}},
    {"ComputerName", {flat_role::computer}},
    {"hostname", {flat_role::computer}},
    {"DeviceName", {flat_role::computer}},
    {"computer_name", {flat_role::computer}},
    {"host", {flat_role::host}},
    {"HostId", {flat_role::host_id}},
    {"host_id", {flat_role::host_id}},
    {"ActivityID", {flat_role::activity_id}},
    {"ActivityId", {flat_role::activity_id}},
    {"Correlation ActivityID", {flat_role::activity_id}},
    {"EventData", {flat_role::event_data}},
    {"UserData", {flat_role::user_data}},
    {"TimeCreated", time_name(rank_time_created)},
    {"SystemTime", time_name(rank_time_created)},
    {"UtcTime", time_name(rank_utc_time)},
    {"@timestamp", time_name(rank_timestamp)},
    {"EventTime", time_name(rank_event_time)},
    {"timestamp", time_name(rank_other)},
    {"Timestamp", time_name(rank_other)},
    {"TimeGenerated", time_name(rank_other)},
    {"TimeWritten", time_name(rank_other)},
    {"Image", sysmon_name(sysmon_item::image)},
    {"ImageLoaded", sysmon_name(sysmon_item::image_loaded)},
    {"Company", sysmon_name(sysmon_item::company)},
    {"Product", sysmon_name(sysmon_item::product)},
    {"Description", sysmon_name(sysmon_item::description)},
    {"FileVersion", sysmon_name(sysmon_item::file_version)},
    {"OriginalFileName", sysmon_name(sysmon_item::original_file_name)},
    {"User", sysmon_name(sysmon_item::user)},
    {"Signature", sysmon_name(sysmon_item::signature)},
    {"Hashes", sysmon_name(sysmon_item::hashes)},
    {"Signed", sysmon_name(sysmon_item::signed_flag)},
    {"SignatureStatus", sysmon_name(sysmon_item::signature_status)},
    // NXLog's rendered event text (1-3 KB, escaped line breaks): never a data item.
    {"Message", {flat_role::shipper_text}},
    {"message", {flat_role::shipper_text}},
};

flat_name flat_name_of(std::string_view key) {
  const flat_name* n = k_flat_names.find(key);
  return n != nullptr ? *n : flat_name{};
}

// A candidate time: the raw string or number token, read once the winner is known.
struct time_candidates {
  std::array<std::string_view, rank_count> raw{};
  std::array<std::string_view, rank_count> key{};
  void offer(int rank, std::string_view k, std::string_view v) {
    if (rank >= 0 && raw[static_cast<std::size_t>(rank)].empty() && !v.empty()) {
      raw[static_cast<std::size_t>(rank)] = v;
      key[static_cast<std::size_t>(rank)] = k;
    }
  }
  walk_status resolve(walk_context& c, std::optional<std::int64_t>& out) const {
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i].empty()) continue;
      walk_context::scope in(c, key[i]);
      return c.time_from(raw[i], out);
    }
    return walk_status::ok;
  }
};

// Host name sources of a flat record, best first: the endpoint's own name, then the
// shipper's `host` (a Logstash string or an ECS-like object), which may be a collector.
struct host_candidates {
  std::string_view computer, host;
};

// `host` as Logstash writes it (a string) or as an object with name/hostname.
walk_status read_host(od::value v, walk_context& c, std::string_view& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return c.fail_json(err);
  if (type == od::json_type::string || type == od::json_type::array) {
    bool present = false;
    return c.view(v, out, present);
  }
  if (type != od::json_type::object) return walk_status::ok;  // a number or null names no host
  od::object obj;
  if (auto err = v.get_object().get(obj)) return c.fail_json(err);
  std::string_view hostname;
  for (auto member : obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    std::string_view* slot = key == "name" ? &out : key == "hostname" ? &hostname : nullptr;
    if (slot == nullptr) continue;
    walk_context::scope in(c, key);
    od::json_type t;
    if (auto err = f.value().type().get(t)) return c.fail_json(err);
    if (t != od::json_type::string && t != od::json_type::array) continue;
    bool present = false;
    if (c.view(f.value(), *slot, present) == walk_status::failed) return walk_status::failed;
  }
  if (out.empty()) out = hostname;
  return walk_status::ok;
}

void finish_host_name(observation& o, const host_candidates& h) {
  if (o.host_name.present && !o.host_name.value.empty()) return;
  if (!h.computer.empty()) o.host_name.set(h.computer);
  else if (!h.host.empty()) o.host_name.set(h.host);
}

bool usable(std::string_view v) { return !v.empty() && v != "-"; }

}  // namespace

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (needle.size() > hay.size()) return false;
  // Every event asks this of its channel and provider (is_sysmon, is_code_integrity):
  // positions whose first byte differs are passed over without the full comparison.
  const unsigned char first = static_cast<unsigned char>(needle[0]) | 0x20;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if ((static_cast<unsigned char>(hay[i]) | 0x20) != first) continue;
    if (equals_ci(hay.substr(i + 1, needle.size() - 1), needle.substr(1))) return true;
  }
  return false;
}

bool is_sysmon(std::string_view channel, std::string_view provider) {
  return contains_ci(channel, "Sysmon") || contains_ci(provider, "Sysmon");
}

bool is_code_integrity(std::string_view channel, std::string_view provider) {
  return contains_ci(channel, "CodeIntegrity") || contains_ci(provider, "CodeIntegrity");
}

walk_status apply_sysmon_fields(std::span<const raw_field> fields, bool image_side, walk_context& c, observation& o) {
  auto& sig = o.signature;
  for (const auto& [name, field_value] : fields) {
    const flat_name known = flat_name_of(name);
    if (known.role != flat_role::sysmon_data) continue;
    const auto item = static_cast<sysmon_item>(known.arg);
    // Only the items read below are held to max_field_bytes: a long command line or a
    // shipper's rendered Message must not cost the event its signature facts.
    text_field* target = nullptr;
    bool read = true;
    switch (item) {
      case sysmon_item::image_loaded:
        if (image_side) target = &o.image_path;
        else read = false;
        break;
      case sysmon_item::image: target = image_side ? &o.process_path : &o.image_path; break;
      case sysmon_item::company: target = &o.pe.company; break;
      case sysmon_item::product: target = &o.pe.product; break;
      case sysmon_item::description: target = &o.pe.description; break;
      case sysmon_item::file_version: target = &o.pe.file_version; break;
      case sysmon_item::original_file_name: target = &o.pe.original_file_name; break;
      case sysmon_item::user: target = &o.user_name; break;
      case sysmon_item::signature:
        if (image_side) target = &sig.subject;
        else read = false;
        break;
      case sysmon_item::hashes: break;
      case sysmon_item::signed_flag:
      case sysmon_item::signature_status: read = image_side; break;
    }
    if (!read) continue;
    std::string_view value = field_value;
    c.clip(value);
    if (target != nullptr) {
      if (!target->present && usable(value)) target->set(value);
    } else if (item == sysmon_item::hashes) {
      if (!o.sha256.present && !o.sha1.present) parse_sysmon_hashes(value, o.sha256, o.sha1);
    } else if (item == sysmon_item::signed_flag) {
      if (sig.exists) continue;
      if (auto b = parse_bool(value)) {
        sig.exists = *b;
      } else if (usable(value)) {
        // Not a boolean (e.g. "failed: Invalid hash"): a signature was checked and failed.
        sig.exists = true;
        if (!sig.status_raw.present) {
          sig.status_raw.set(value);
          sig.status = contains_ci(value, "hash") ? rules::signature_status::bad_digest : rules::signature_status::other;
        }
      }
    } else if (item == sysmon_item::signature_status) {
      if (!sig.status_raw.present && usable(value)) {
        sig.status_raw.set(value);
        sig.status = ecs_signature_status(value);
      }
    }
  }
  return walk_status::ok;
}

walk_status interpret_windows_event(const windows_system& sys, windows_source source, walk_context& c, observation& o) {
  if (!o.host_name.has_value() && !sys.computer.empty()) o.host_name.set(sys.computer);
  const bool ci = is_code_integrity(sys.channel, sys.provider) ||
                  (source == windows_source::codeintegrity && sys.channel.empty() && sys.provider.empty());
  const bool sysmon = !ci && is_sysmon(sys.channel, sys.provider);
  const std::int64_t id = sys.event_id.value_or(-1);
  bool judged = true;  // the detectors read it: host and time are required
  if (ci) {
    if (!sys.event_id) return c.fail(reject_reason::missing_field, "EventID");
    if (!sys.activity_id.empty() && !o.ci.activity_id.present) set_activity_id(o.ci.activity_id, sys.activity_id);
    c.path.clear();
    if (apply_ci_fields(c.fields, id, c, o) == walk_status::failed) return walk_status::failed;
  } else if (sysmon && (id == 6 || id == 7)) {
    o.kind = id == 6 ? rules::event_kind::driver_load : rules::event_kind::image_load;
    if (apply_sysmon_fields(c.fields, true, c, o) == walk_status::failed) return walk_status::failed;
  } else if (sysmon && id == 1) {
    o.kind = rules::event_kind::process_start;
    if (apply_sysmon_fields(c.fields, false, c, o) == walk_status::failed) return walk_status::failed;
  } else {
    // Another channel or event id: nothing for the detectors, everything for Sigma.
    o.kind = rules::event_kind::unknown;
    judged = false;
  }
  if (judged) {
    if (!o.event_time_ms) return c.fail(reject_reason::missing_field, "TimeCreated");
    if (!o.host_id.has_value() && !o.host_name.has_value()) return c.fail(reject_reason::missing_field, "Computer");
  }
  finish_signature(o);
  finish_host(o);
  return walk_status::ok;
}

// ---------------------------------------------------------------------------------------
// Flat records: System and EventData side by side at the top level.

namespace {

// What the members of a flat record say about its System facts.
struct flat_facts {
  windows_system sys;
  time_candidates times;
  host_candidates hosts;
};

// Whether a data item goes to `c.fields`: every item of a Code Integrity record (its
// names are apply_ci_fields' own), else only the Sysmon items. The shipper's rendered
// Message is never one.
bool collected(flat_role role, bool keep_all) {
  return role == flat_role::sysmon_data || (keep_all && role != flat_role::shipper_text);
}

// The data items of a nested EventData/UserData object.
walk_status collect_flat_data(od::object obj, walk_context& c, bool keep_all) {
  for (auto member : obj) {
    od::field fld;
    if (auto err = std::move(member).get(fld)) return c.fail_json(err);
    std::string_view key;
    if (c.key(fld, key) == walk_status::failed) return walk_status::failed;
    // Inside EventData every name is a data item, System-like or not.
    if (!collected(flat_name_of(key).role, keep_all)) continue;
    std::string_view value;
    bool is_scalar = false;
    if (c.scalar(fld.value(), value, is_scalar) == walk_status::failed) return walk_status::failed;
    if (is_scalar) c.fields.push_back({key, value});
  }
  return walk_status::ok;
}

// One pass over the members. Keys are compared as written (unescaped only when they
// have a backslash) and the value of a member nothing reads is skipped untouched.
walk_status walk_flat_members(od::object root, walk_context& c, observation& o, bool keep_all, flat_facts& f) {
  for (auto member : root) {
    od::field fld;
    if (auto err = std::move(member).get(fld)) return c.fail_json(err);
    std::string_view key;
    if (c.key(fld, key) == walk_status::failed) return walk_status::failed;
    const flat_name known = flat_name_of(key);
    const bool data_item = known.role == flat_role::other || known.role == flat_role::shipper_text;
    if (data_item && !collected(known.role, keep_all)) continue;
    walk_context::scope in(c, key);
    od::value v = fld.value();
    walk_status s = walk_status::ok;
    bool present = false;
    switch (known.role) {
      case flat_role::event_id:
        if (!f.sys.event_id) s = c.integer(v, f.sys.event_id);
        break;
      case flat_role::channel: s = c.view(v, f.sys.channel, present); break;
      case flat_role::provider: s = c.view(v, f.sys.provider, present); break;
      case flat_role::computer:
        if (f.hosts.computer.empty()) s = c.view(v, f.hosts.computer, present);
        break;
      case flat_role::host: s = read_host(v, c, f.hosts.host); break;
      case flat_role::host_id: s = c.text(v, o.host_id); break;
      case flat_role::activity_id: s = c.view(v, f.sys.activity_id, present); break;
      case flat_role::event_data:
      case flat_role::user_data: {
        od::json_type type;
        if (auto err = v.type().get(type)) return c.fail_json(err);
        if (type == od::json_type::object) {
          od::object data;
          if (auto err = v.get_object().get(data)) return c.fail_json(err);
          s = collect_flat_data(data, c, keep_all);
        } else if (type != od::json_type::null && known.role == flat_role::event_data) {
          return c.fail(reject_reason::wrong_type);
        }
        break;
      }
      case flat_role::time_candidate:
      case flat_role::sysmon_data:
      case flat_role::other: {
        std::string_view value;
        bool is_scalar = false;
        s = c.scalar(v, value, is_scalar);
        if (s != walk_status::ok || !is_scalar) break;
        if (known.role == flat_role::time_candidate) f.times.offer(known.arg, key, value);
        else c.fields.push_back({key, value});
        break;
      }
      case flat_role::shipper_text: break;
    }
    if (s == walk_status::failed) return s;
  }
  return walk_status::ok;
}

}  // namespace

walk_status walk_windows(od::object root, walk_context& c, observation_batch& out, windows_source source) {
  observation& o = out.add();
  flat_facts f;
  // The flat Code Integrity profile keeps every data item for apply_ci_fields. Any other
  // record keeps the Sysmon items only, and is read again in full in the rare case that
  // it turns out to be Code Integrity all the same (a topic pinned to `windows`, or a
  // channel under a key profile detection does not look at).
  const bool keep_all = source == windows_source::codeintegrity;
  if (walk_flat_members(root, c, o, keep_all, f) == walk_status::failed) return walk_status::failed;
  if (!keep_all && is_code_integrity(f.sys.channel, f.sys.provider)) {
    c.fields.clear();
    if (auto err = root.reset().error()) return c.fail_json(err);
    f = flat_facts{};
    if (walk_flat_members(root, c, o, true, f) == walk_status::failed) return walk_status::failed;
  }
  c.path.clear();
  if (f.times.resolve(c, o.event_time_ms) == walk_status::failed) return walk_status::failed;
  finish_host_name(o, f.hosts);
  return interpret_windows_event(f.sys, source, c, o);
}

walk_status walk_windows(od::object root, walk_context& c, observation_batch& out) {
  return walk_windows(root, c, out, windows_source::log);
}

walk_status walk_codeintegrity(od::object root, walk_context& c, observation_batch& out) {
  return walk_windows(root, c, out, windows_source::codeintegrity);
}

// ---------------------------------------------------------------------------------------
// evtx JSON: {"Event": {"#attributes": ..., "System": {...}, "EventData" | "UserData": {...}}}
// (also the bare {"System", "EventData"} of Velociraptor-style exports).

namespace {

// The value of `#attributes.<name>` in an object, or its `#text`; `out` untouched when absent.
walk_status attribute(od::value v, std::string_view name, walk_context& c, std::string_view& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return c.fail_json(err);
  if (type == od::json_type::string) {
    bool present = false;
    return c.view(v, out, present);
  }
  if (type != od::json_type::object) return walk_status::ok;
  od::object obj;
  if (auto err = v.get_object().get(obj)) return c.fail_json(err);
  for (auto member : obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    if (key != "#attributes") continue;
    od::object attrs;
    if (f.value().get_object().get(attrs) != simdjson::SUCCESS) return walk_status::ok;
    for (auto a : attrs) {
      od::field af;
      if (auto err = std::move(a).get(af)) return c.fail_json(err);
      if (raw_key(af) != name) continue;
      walk_context::scope in(c, name);
      std::string_view value;
      bool is_scalar = false;
      if (c.scalar(af.value(), value, is_scalar) == walk_status::failed) return walk_status::failed;
      if (is_scalar) out = value;
    }
  }
  return walk_status::ok;
}

// EventID as a number, a string, or {"#text": "4688", "#attributes": {"Qualifiers": ...}}.
walk_status event_id_of(od::value v, walk_context& c, std::optional<std::int64_t>& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return c.fail_json(err);
  if (type != od::json_type::object) return c.integer(v, out);
  od::object obj;
  if (auto err = v.get_object().get(obj)) return c.fail_json(err);
  for (auto member : obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    if (raw_key(f) == "#text") return c.integer(f.value(), out);
  }
  return walk_status::ok;
}

walk_status walk_system(od::object sys_obj, walk_context& c, windows_system& sys, std::string_view& time_raw) {
  for (auto member : sys_obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    walk_context::scope in(c, key);
    od::value v = f.value();
    walk_status s = walk_status::ok;
    bool present = false;
    if (key == "EventID") s = event_id_of(v, c, sys.event_id);
    else if (key == "Channel") s = c.view(v, sys.channel, present);
    else if (key == "Computer") s = c.view(v, sys.computer, present);
    else if (key == "Provider") s = attribute(v, "Name", c, sys.provider);
    else if (key == "TimeCreated") s = attribute(v, "SystemTime", c, time_raw);
    else if (key == "Correlation") s = attribute(v, "ActivityID", c, sys.activity_id);
    else if (key == "Security") s = attribute(v, "UserID", c, sys.user_id);
    if (s == walk_status::failed) return s;
  }
  return walk_status::ok;
}

walk_status attribute_name(od::value attrs, walk_context& c, std::string_view& out) {
  od::object obj;
  if (attrs.get_object().get(obj) != simdjson::SUCCESS) return walk_status::ok;
  for (auto member : obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    if (raw_key(f) != "Name") continue;
    bool present = false;
    if (c.view(f.value(), out, present) == walk_status::failed) return walk_status::failed;
  }
  return walk_status::ok;
}

// One element of EventData's Data array: {"#attributes": {"Name": "X"}, "#text": "v"}, or
// a bare value (an unnamed data item, kept as "Data").
walk_status data_item(od::value v, walk_context& c) {
  od::json_type type;
  if (auto err = v.type().get(type)) return c.fail_json(err);
  if (type != od::json_type::object) {
    std::string_view value;
    bool is_scalar = false;
    if (c.scalar(v, value, is_scalar) == walk_status::failed) return walk_status::failed;
    if (is_scalar) c.fields.push_back({"Data", value});
    return walk_status::ok;
  }
  od::object obj;
  if (auto err = v.get_object().get(obj)) return c.fail_json(err);
  std::string_view name, value;
  bool has_value = false;
  for (auto member : obj) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    if (key == "#attributes") {
      if (attribute_name(f.value(), c, name) == walk_status::failed) return walk_status::failed;
    } else if (key == "#text") {
      if (c.scalar(f.value(), value, has_value) == walk_status::failed) return walk_status::failed;
    }
  }
  if (!name.empty()) c.fields.push_back({name, has_value ? value : std::string_view()});
  return walk_status::ok;
}


// EventData: named items as members, or Data as an array (or one object) of named items.
walk_status walk_event_data(od::object data, walk_context& c) {
  for (auto member : data) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    std::string_view key;
    if (auto err = f.unescaped_key().get(key)) return c.fail_json(err);
    if (key == "#attributes") continue;
    walk_context::scope in(c, key);
    od::value v = f.value();
    od::json_type type;
    if (auto err = v.type().get(type)) return c.fail_json(err);
    if (key == "Data" && type == od::json_type::array) {
      od::array arr;
      if (auto err = v.get_array().get(arr)) return c.fail_json(err);
      for (auto element : arr) {
        od::value item;
        if (auto err = std::move(element).get(item)) return c.fail_json(err);
        if (data_item(item, c) == walk_status::failed) return walk_status::failed;
      }
      continue;
    }
    if (key == "Data" && type == od::json_type::object) {
      if (data_item(v, c) == walk_status::failed) return walk_status::failed;
      continue;
    }
    std::string_view value;
    bool is_scalar = false;
    if (c.scalar(v, value, is_scalar) == walk_status::failed) return walk_status::failed;
    if (is_scalar) c.fields.push_back({key, value});
  }
  return walk_status::ok;
}

// UserData: one element named after the event (EventXML, RuleAndFileData, ...), whose
// scalar members are the data items; nested elements one level further are read too.
walk_status walk_user_data(od::object data, walk_context& c, int depth) {
  for (auto member : data) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    std::string_view key;
    if (auto err = f.unescaped_key().get(key)) return c.fail_json(err);
    if (key == "#attributes") continue;
    walk_context::scope in(c, key);
    od::value v = f.value();
    od::json_type type;
    if (auto err = v.type().get(type)) return c.fail_json(err);
    if (type == od::json_type::object) {
      if (depth >= 3) continue;
      od::object child;
      if (auto err = v.get_object().get(child)) return c.fail_json(err);
      if (walk_user_data(child, c, depth + 1) == walk_status::failed) return walk_status::failed;
      continue;
    }
    std::string_view value;
    bool is_scalar = false;
    if (c.scalar(v, value, is_scalar) == walk_status::failed) return walk_status::failed;
    if (is_scalar && depth > 0) c.fields.push_back({key, value});
  }
  return walk_status::ok;
}

// The members of an Event object (or of a bare export's top level).
walk_status walk_event(od::object event, walk_context& c, windows_system& sys, std::string_view& time_raw,
                       bool& saw_system) {
  for (auto member : event) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    const bool system = key == "System", event_data = key == "EventData", user_data = key == "UserData";
    if (!system && !event_data && !user_data) continue;  // #attributes, RenderingInfo, Message, ...
    walk_context::scope in(c, key);
    od::value v = f.value();
    od::json_type type;
    if (auto err = v.type().get(type)) return c.fail_json(err);
    if (type == od::json_type::null) continue;
    if (type != od::json_type::object) return c.fail(reject_reason::wrong_type);
    od::object obj;
    if (auto err = v.get_object().get(obj)) return c.fail_json(err);
    walk_status s = walk_status::ok;
    if (system) {
      saw_system = true;
      s = walk_system(obj, c, sys, time_raw);
    } else if (event_data) {
      s = walk_event_data(obj, c);
    } else {
      s = walk_user_data(obj, c, 0);
    }
    if (s == walk_status::failed) return s;
  }
  return walk_status::ok;
}

}  // namespace

walk_status walk_evtx(od::object root, walk_context& c, observation_batch& out) {
  observation& o = out.add();
  windows_system sys;
  std::string_view time_raw;
  bool saw_system = false;
  bool nested = false;
  for (auto member : root) {
    od::field f;
    if (auto err = std::move(member).get(f)) return c.fail_json(err);
    const std::string_view key = raw_key(f);
    if (key != "Event") continue;
    nested = true;
    walk_context::scope in(c, key);
    od::object event;
    if (auto err = f.value().get_object().get(event)) {
      if (err == simdjson::INCORRECT_TYPE) return c.fail(reject_reason::wrong_type);
      return c.fail_json(err);
    }
    if (walk_event(event, c, sys, time_raw, saw_system) == walk_status::failed) return walk_status::failed;
  }
  if (!nested) {
    // A bare {"System": ..., "EventData": ...} export: the top level is the Event.
    if (auto err = root.reset().error()) return c.fail_json(err);
    if (walk_event(root, c, sys, time_raw, saw_system) == walk_status::failed) return walk_status::failed;
  }
  if (!saw_system) return c.fail(reject_reason::missing_field, nested ? "Event.System" : "System");
  c.path.assign("Event.System.TimeCreated.#attributes.SystemTime");
  if (!time_raw.empty() && c.time_from(time_raw, o.event_time_ms) == walk_status::failed) return walk_status::failed;
  c.path.clear();
  return interpret_windows_event(sys, windows_source::log, c, o);
}

}  // namespace countersign::processor::detail
