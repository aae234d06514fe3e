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
// whichever way it travelled. Shipper keys (Message, Keywords, SourceModuleName, port,
// tags, @version, ...) are collected like data items and simply never asked for.

#include "walk.hpp"

#include <countersign/processor/normalize.hpp>

#include <array>

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

int time_rank_of(std::string_view key) {
  if (key == "TimeCreated" || key == "SystemTime") return rank_time_created;
  if (key == "UtcTime") return rank_utc_time;
  if (key == "@timestamp") return rank_timestamp;
  if (key == "EventTime") return rank_event_time;
  if (key == "timestamp" || key == "Timestamp" || key == "TimeGenerated" || key == "TimeWritten") return rank_other;
  return -1;
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

bool is_computer_key(std::string_view key) {
  return key == "Computer" || key == "Hostname" || key == "ComputerName" || key == "hostname" || key == "DeviceName" ||
         key == "computer_name";
}

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
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    if (equals_ci(hay.substr(i, needle.size()), needle)) return true;
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
  for (const auto& [name, value] : fields) {
    // Only the items read below are held to max_field_bytes: a long command line or a
    // shipper's rendered Message must not cost the event its signature facts.
    text_field* target = nullptr;
    if (name == (image_side ? "ImageLoaded" : "Image")) target = &o.image_path;
    else if (image_side && name == "Image") target = &o.process_path;
    else if (name == "Company") target = &o.pe.company;
    else if (name == "Product") target = &o.pe.product;
    else if (name == "Description") target = &o.pe.description;
    else if (name == "FileVersion") target = &o.pe.file_version;
    else if (name == "OriginalFileName") target = &o.pe.original_file_name;
    else if (name == "User") target = &o.user_name;
    else if (image_side && name == "Signature") target = &sig.subject;
    const bool read = target != nullptr || name == "Hashes" || (image_side && (name == "Signed" || name == "SignatureStatus"));
    if (!read) continue;
    if (value.size() > c.limits.max_field_bytes) {
      walk_context::scope field(c, name);
      return c.fail(reject_reason::field_too_large);
    }
    if (target != nullptr) {
      if (!target->present && usable(value)) target->set(value);
    } else if (name == "Hashes") {
      if (!o.sha256.present && !o.sha1.present) parse_sysmon_hashes(value, o.sha256, o.sha1);
    } else if (name == "Signed") {
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
    } else if (name == "SignatureStatus") {
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

walk_status walk_windows(od::object root, walk_context& c, observation_batch& out, windows_source source) {
  observation& o = out.add();
  windows_system sys;
  time_candidates times;
  host_candidates hosts;
  for (auto member : root) {
    od::field fld;
    if (auto err = std::move(member).get(fld)) return c.fail_json(err);
    std::string_view key;
    if (auto err = fld.unescaped_key().get(key)) return c.fail_json(err);
    walk_context::scope in(c, key);
    od::value v = fld.value();
    walk_status s = walk_status::ok;
    bool present = false;
    if (key == "EventID" || key == "EventId" || key == "event_id" || key == "Id" || key == "EventCode") {
      if (!sys.event_id) s = c.integer(v, sys.event_id);
    } else if (key == "Channel" || key == "channel" || key == "LogName") {
      s = c.view(v, sys.channel, present);
    } else if (key == "SourceName" || key == "ProviderName" || key == "Provider_Name" || key == "Provider") {
      s = c.view(v, sys.provider, present);
    } else if (is_computer_key(key)) {
      if (hosts.computer.empty()) s = c.view(v, hosts.computer, present);
    } else if (key == "host") {
      s = read_host(v, c, hosts.host);
    } else if (key == "HostId" || key == "host_id") {
      s = c.text(v, o.host_id);
    } else if (key == "ActivityID" || key == "ActivityId" || key == "Correlation ActivityID") {
      s = c.view(v, sys.activity_id, present);
    } else if (key == "EventData" || key == "UserData") {
      od::json_type type;
      if (auto err = v.type().get(type)) return c.fail_json(err);
      if (type == od::json_type::object) {
        od::object data;
        if (auto err = v.get_object().get(data)) return c.fail_json(err);
        s = collect_fields(data, c);
      } else if (type != od::json_type::null && key == "EventData") {
        return c.fail(reject_reason::wrong_type);
      }
    } else {
      std::string_view value;
      bool is_scalar = false;
      s = c.scalar(v, value, is_scalar);
      if (s == walk_status::ok && is_scalar) {
        if (const int rank = time_rank_of(key); rank >= 0) times.offer(rank, key, value);
        else c.fields.push_back({key, value});
      }
    }
    if (s == walk_status::failed) return s;
  }
  c.path.clear();
  if (times.resolve(c, o.event_time_ms) == walk_status::failed) return walk_status::failed;
  finish_host_name(o, hosts);
  return interpret_windows_event(sys, source, c, o);
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
