#include <countersign/processor/engine/input_parser.hpp>

#include "profiles/walk.hpp"

#include <cstring>

namespace countersign::processor {
namespace od = simdjson::ondemand;
using rules::schema_profile;

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool is_ci_data_name(std::string_view key) {
  return key == "FileNameBuffer" || key == "File Name" || key == "PublisherName" || key == "PolicyName" ||
         key == "RequestedPolicy" || key == "Requested Signing Level" || key == "VerificationError" ||
         key == "ProcessNameBuffer" || key == "Process Name" || key == "TotalSignatureCount" ||
         key == "PolicyNameBuffer" || key == "PolicyIdBuffer";
}

// Decides the profile from top-level keys alone (values are skipped, not parsed).
// Decisive keys end the scan; weak hints are remembered until the end.
//
// Order of the verdicts when no key was decisive: a flat Windows record (an event id
// beside a channel, provider, computer name or Code Integrity data) wins over the ECS
// hints it may also carry (Logstash adds `@timestamp` and a `host` string to NXLog
// records), and ECS hints win over the Defender export's `category`/`properties`.
std::expected<schema_profile, simdjson::error_code> detect(od::object root) {
  bool ecs_hint = false;
  bool has_event_id = false, has_ci_field = false, has_windows_system = false, ci_channel = false;
  bool has_channel_or_provider = false;
  bool has_properties = false, has_category = false, has_system = false, has_event_data = false;
  for (auto member : root) {
    od::field f;
    if (auto err = std::move(member).get(f)) return std::unexpected(err);
    // Compared against plain names only: a key with escapes simply matches none of them.
    const std::string_view key = detail::raw_key(f);
    // Dotted prefixes are tested only on dotted keys: a flat record's many plain keys
    // would otherwise each pay every prefix comparison.
    const bool dotted = key.find('.') != std::string_view::npos;
    if (key == "class_uid") return schema_profile::ocsf;
    if (key == "records" || key == "DeviceId" || key == "DeviceName" || key == "ActionType") {
      return schema_profile::defender;
    }
    // evtx JSON: the record is one `Event` object.
    if (key == "Event") {
      od::json_type type;
      if (auto err = f.value().type().get(type)) return std::unexpected(err);
      if (type == od::json_type::object) return schema_profile::evtx;
    }
    // SentinelOne Deep Visibility: dotted source/target process and module keys.
    if (dotted && (starts_with(key, "src.process.") || starts_with(key, "tgt.process.") ||
                   starts_with(key, "tgt.file.") || key == "meta.event.name" || key == "dataSource.name")) {
      return schema_profile::sentinelone;
    }
    // One record of the streaming export on its own: {"time", "category", "properties"}.
    if (key == "properties") has_properties = true;
    if (key == "category") has_category = true;
    // ECS field sets that no other profile uses at the top level end the scan (an ECS
    // document names one within its first few keys). `host`, `process` and `file` are
    // only hints: Logstash writes `host` beside flat Windows records, OCSF uses
    // `process` and `file` (its `class_uid` may come later), SentinelOne `event.*`.
    if (key == "winlog" || key == "ecs" || key == "agent" || key == "event" || (dotted && starts_with(key, "winlog."))) {
      return schema_profile::ecs;
    }
    if (key == "@timestamp" || key == "host" || key == "process" || key == "file" ||
        (dotted && (starts_with(key, "host.") || starts_with(key, "event.") || starts_with(key, "process.") ||
                    starts_with(key, "file.")))) {
      ecs_hint = true;
      continue;
    }
    if (key == "EventID" || key == "EventId" || key == "event_id" || key == "Id" || key == "EventCode") {
      has_event_id = true;
    } else if (key == "Channel" || key == "SourceName" || key == "ProviderName" || key == "Provider_Name" ||
               key == "Computer" || key == "Hostname" || key == "ComputerName" || key == "LogName") {
      has_windows_system = true;
      if (key != "Computer" && key != "Hostname" && key != "ComputerName") has_channel_or_provider = true;
      if (key != "Computer" && key != "Hostname" && key != "ComputerName") {
        std::string_view name;
        if (f.value().get_string().get(name) == simdjson::SUCCESS && detail::is_code_integrity(name, {})) ci_channel = true;
      }
    } else if (key == "EventData") {
      has_ci_field = true;  // the nested-EventData form of the flat Code Integrity shape
      has_event_data = true;
    } else if (key == "System") {
      has_system = true;
    } else if (key == "UserData") {
      has_event_data = true;
    } else if (is_ci_data_name(key)) {
      has_ci_field = true;
    }
  }
  // A bare {"System", "EventData"} export (Velociraptor): evtx JSON without its wrapper.
  if (has_system && has_event_data) return schema_profile::evtx;
  if (has_event_id) {
    // Code Integrity by its channel, or by its data names where the shape omits the
    // channel and provider (the flat Code Integrity export).
    if (ci_channel || (has_ci_field && !has_channel_or_provider)) return schema_profile::codeintegrity;
    if (has_windows_system || has_ci_field) return schema_profile::windows;
  }
  if (ecs_hint) return schema_profile::ecs;
  if (has_properties && has_category) return schema_profile::defender;
  return schema_profile::unknown;
}

}  // namespace

std::optional<schema_profile> parse_profile_name(std::string_view name) noexcept {
  for (auto p : {schema_profile::unknown, schema_profile::ecs, schema_profile::ocsf, schema_profile::defender,
                 schema_profile::codeintegrity, schema_profile::windows, schema_profile::evtx,
                 schema_profile::sentinelone, schema_profile::user}) {
    if (name == (p == schema_profile::unknown ? std::string_view("auto") : rules::to_string(p))) return p;
  }
  return std::nullopt;
}

struct input_parser::scratch {
  parse_error error{reject_reason::invalid_json, {}};
  detail::walk_context context;
  explicit scratch(const parser_limits& limits) : context{limits, error, {}, {}, {}} {
    context.path.reserve(128);
    context.fields.reserve(64);
  }
};

input_parser::input_parser(parser_limits limits)
    : limits_(limits), scratch_(std::make_unique<scratch>(limits_)) {}

input_parser::~input_parser() = default;

void input_parser::set_user_profiles(std::shared_ptr<const user_profile_set> profiles) {
  user_ = std::move(profiles);
  user_index_ = -1;
}

std::uint32_t input_parser::last_truncated_fields() const noexcept { return scratch_->context.truncated; }

std::string_view input_parser::last_user_profile() const {
  return user_ && user_index_ >= 0 ? user_->name(static_cast<std::size_t>(user_index_)) : std::string_view();
}

std::expected<schema_profile, parse_error> input_parser::parse(std::string_view bytes, observation_batch& out,
                                                               schema_profile forced,
                                                               std::string_view user_profile) {
  out.clear();
  indexed_ = false;
  if (bytes.empty()) return std::unexpected(parse_error{reject_reason::empty, {}});
  if (bytes.size() > limits_.max_message_bytes) {
    return std::unexpected(parse_error{reject_reason::too_large, std::to_string(bytes.size())});
  }
  // Kafka payloads carry no padding guarantee: simdjson reads up to 64 bytes past the
  // end, so parse a copy in a buffer that has them.
  const std::size_t needed = bytes.size() + simdjson::SIMDJSON_PADDING;
  if (buffer_.size() < needed) buffer_.resize(needed);
  std::memcpy(buffer_.data(), bytes.data(), bytes.size());
  std::memset(buffer_.data() + bytes.size(), 0, simdjson::SIMDJSON_PADDING);
  last_size_ = bytes.size();

  const auto json_error = [](simdjson::error_code err) {
    return std::unexpected(parse_error{reject_reason::invalid_json, simdjson::error_message(err)});
  };
  od::document& doc = doc_;
  if (auto err = parser_.iterate(buffer_.data(), bytes.size(), buffer_.size()).get(doc)) return json_error(err);
  od::json_type type;
  if (auto err = doc.type().get(type)) return json_error(err);
  if (type != od::json_type::object) {
    // On-Demand only looked at the first byte: validate the whole text to tell a
    // well-formed non-object from garbage (rare path, so the DOM parser is fine here).
    simdjson::dom::element ignored;
    if (auto err = dom_parser_.parse(buffer_.data(), bytes.size(), false).get(ignored)) return json_error(err);
    return std::unexpected(parse_error{reject_reason::not_an_object, {}});
  }

  schema_profile profile = forced;
  od::object root;
  user_index_ = -1;
  if (profile == schema_profile::unknown) {
    if (auto err = doc.get_object().get(root)) return json_error(err);
    auto detected = detect(root);
    if (!detected) return json_error(detected.error());
    profile = *detected;
    // User-defined profiles read what no built-in profile claims (or what a topic pins
    // to `user`, below).
    if (profile == schema_profile::unknown && user_ && user_->size() > 0) {
      doc.rewind();
      if (auto err = doc.get_object().get(root)) return json_error(err);
      user_index_ = user_->match(root);
      if (user_index_ >= 0) profile = schema_profile::user;
    }
    if (profile == schema_profile::unknown) {
      // The scan read the whole object: garbage after it makes the message invalid JSON.
      if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
        return std::unexpected(parse_error{reject_reason::invalid_json, "trailing content after the object"});
      }
      indexed_ = true;  // the scan read every key without an error
      return std::unexpected(parse_error{reject_reason::unknown_schema, {}});
    }
    doc.rewind();
  } else if (profile == schema_profile::user && !user_profile.empty()) {
    user_index_ = user_ ? user_->find(user_profile) : -1;
    if (user_index_ < 0) {
      return std::unexpected(parse_error{reject_reason::unknown_schema, "no user profile named " + std::string(user_profile)});
    }
  } else if (profile == schema_profile::user) {
    if (auto err = doc.get_object().get(root)) return json_error(err);
    user_index_ = user_ ? user_->match(root) : -1;
    if (user_index_ < 0) return std::unexpected(parse_error{reject_reason::unknown_schema, "no user profile matches"});
    doc.rewind();
  }
  if (auto err = doc.get_object().get(root)) return json_error(err);

  auto& c = scratch_->context;
  c.path.clear();
  c.fields.clear();
  c.truncated = 0;
  detail::walk_status status = detail::walk_status::failed;
  switch (profile) {
    case schema_profile::ecs: status = detail::walk_ecs(root, c, out); break;
    case schema_profile::ocsf: status = detail::walk_ocsf(root, c, out); break;
    case schema_profile::defender: status = detail::walk_defender(root, c, out); break;
    case schema_profile::codeintegrity: status = detail::walk_codeintegrity(root, c, out); break;
    case schema_profile::windows: status = detail::walk_windows(root, c, out); break;
    case schema_profile::evtx: status = detail::walk_evtx(root, c, out); break;
    case schema_profile::sentinelone: status = detail::walk_sentinelone(root, c, out); break;
    case schema_profile::user:
      status = user_->walk(static_cast<std::size_t>(user_index_), root, c, out);
      break;
    case schema_profile::unknown: break;
  }
  if (status == detail::walk_status::failed) return std::unexpected(std::move(scratch_->error));
  // Anything after the top-level object is garbage: a location exists only if tokens remain.
  if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
    return std::unexpected(parse_error{reject_reason::invalid_json, "trailing content after the object"});
  }
  for (auto& o : out.items()) o.source.schema = profile;
  indexed_ = true;
  return profile;
}

}  // namespace countersign::processor
