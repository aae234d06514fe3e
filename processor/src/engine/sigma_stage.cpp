#include <countersign/processor/engine/sigma_stage.hpp>
#include <countersign/processor/version.hpp>
#include <countersign/rules/alert.hpp>
#include <countersign/rules/observation_fields.hpp>
#include <countersign/rules/sigma/correlation.hpp>
#include <countersign/rules/sigma/detail.hpp>
#include <countersign/rules/time.hpp>

#include "profiles/walk.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <set>
#include <system_error>
#include <tuple>

namespace countersign::processor {

using rules::event_kind;
using rules::schema_profile;
using rules::sigma::event_logsource;

// ---------------------------------------------------------------------------------------
// Field resolution

namespace {

struct field_alias {
  std::string_view sigma;
  std::array<std::string_view, 3> paths;  // tried in order; empty entries end the list
};

// Fields the observation does not carry, per schema. The observation covers the file
// judged (Image / ImageLoaded, hashes, PE metadata, signature), host and user.
constexpr field_alias k_ecs_fields[] = {
    {"CommandLine", {"process.command_line"}},
    {"ParentImage", {"process.parent.executable"}},
    {"ParentCommandLine", {"process.parent.command_line"}},
    {"CurrentDirectory", {"process.working_directory"}},
    {"ProcessId", {"process.pid"}},
    {"ParentProcessId", {"process.parent.pid"}},
    {"IntegrityLevel", {"process.Ext.token.integrity_level_name"}},
    {"EventID", {"winlog.event_id", "event.code"}},
    {"Channel", {"winlog.channel"}},
    {"Provider_Name", {"winlog.provider_name"}},
    {"md5", {"process.hash.md5", "dll.hash.md5", "file.hash.md5"}},
    {"Imphash", {"process.pe.imphash", "dll.pe.imphash", "file.pe.imphash"}},
    {"TargetFilename", {"file.path"}},
    {"TargetObject", {"registry.path"}},
    {"QueryName", {"dns.question.name"}},
    {"DestinationIp", {"destination.ip"}},
    {"DestinationPort", {"destination.port"}},
    {"SourceIp", {"source.ip"}},
};

constexpr field_alias k_ocsf_fields[] = {
    {"CommandLine", {"process.cmd_line"}},
    {"ParentImage", {"process.parent_process.file.path"}},
    {"ParentCommandLine", {"process.parent_process.cmd_line"}},
    {"ProcessId", {"process.pid"}},
    {"ParentProcessId", {"process.parent_process.pid"}},
    {"IntegrityLevel", {"process.integrity"}},
    {"CurrentDirectory", {"process.working_directory"}},
    {"md5", {"process.file.hashes.md5"}},
};

constexpr field_alias k_defender_fields[] = {
    {"CommandLine", {"ProcessCommandLine"}},
    {"ParentImage", {"InitiatingProcessFolderPath"}},
    {"ParentCommandLine", {"InitiatingProcessCommandLine"}},
    {"ProcessId", {"ProcessId"}},
    {"ParentProcessId", {"InitiatingProcessId"}},
    {"IntegrityLevel", {"ProcessIntegrityLevel"}},
    {"md5", {"MD5"}},
};

// Flat Windows records (and the flat Code Integrity shape): the System names shippers use
// for what Sigma calls EventID, Channel and Provider_Name. evtx JSON is stored under
// Sigma's names already (sigma_document::walk_evtx).
constexpr field_alias k_windows_fields[] = {
    {"EventID", {"EventId", "event_id", "Id"}},
    {"Channel", {"LogName", "channel"}},
    {"Provider_Name", {"SourceName", "ProviderName", "Provider"}},
    {"Computer", {"Hostname", "ComputerName", "hostname"}},
};

// Security 4688 under Sigma's process_creation names. Sigma's taxonomy maps the category
// to Sysmon 1 and Security 4688; the names follow SigmaHQ's windows-audit mapping (Image,
// ParentImage) and Hayabusa's builtin mapping (the rest), with values in Sysmon's form
// where the record's differ (hex process ids, accounts as DOMAIN\name). 4688 has no
// Hashes, OriginalFileName, Company, Product, Description, FileVersion, CurrentDirectory,
// ParentCommandLine, ProcessGuid, ParentProcessGuid, LogonGuid or TerminalSessionId:
// they stay missing. CommandLine and Computer are the record's own.
struct renamed_field {
  enum class how : std::uint8_t {
    copy,      // the first source present
    pid,       // a process id: 4688 writes 0x1a2c, Sysmon 6700
    account,   // sources are account prefixes: <p>UserSid, <p>UserName, <p>DomainName
    logon_id,  // the first source present and not 0x0
  };
  std::string_view sigma;
  how derive;
  std::array<std::string_view, 2> sources;  // tried in order; empty entries end the list
};

constexpr renamed_field k_process_creation_fields[] = {
    {"Image", renamed_field::how::copy, {"NewProcessName"}},
    {"ParentImage", renamed_field::how::copy, {"ParentProcessName"}},
    {"ProcessId", renamed_field::how::pid, {"NewProcessId"}},
    {"ParentProcessId", renamed_field::how::pid, {"ProcessId"}},  // 4688's ProcessId is the creator's
    // The new process runs as the Target account where the record names one (Windows 10
    // and later, when it differs from the creator), else as its creator, the Subject.
    {"User", renamed_field::how::account, {"Target", "Subject"}},
    {"ParentUser", renamed_field::how::account, {"Subject"}},
    {"LogonId", renamed_field::how::logon_id, {"TargetLogonId", "SubjectLogonId"}},
    // The label's SID as written (S-1-16-12288): SigmaHQ rules list it beside Sysmon's
    // word (High) for this reason.
    {"IntegrityLevel", renamed_field::how::copy, {"MandatoryLabel"}},
};

constexpr std::array<std::string_view, 3> k_account_parts = {"UserSid", "UserName", "DomainName"};

// The record fields a renamed field reads (for the document's name filter).
template <class Fn>
void for_each_source(const renamed_field& f, Fn&& fn) {
  for (const auto src : f.sources) {
    if (src.empty()) break;
    if (f.derive != renamed_field::how::account) {
      fn(std::string(src));
      continue;
    }
    for (const auto part : k_account_parts) fn(std::string(src) + std::string(part));
  }
}

// Winlogbeat's names for the unnamed data items of a record (the classic PowerShell log
// writes three: states or provider, and the Key=Value details).
constexpr std::array<std::string_view, 3> k_unnamed_items = {"param1", "param2", "param3"};

std::span<const field_alias> aliases(schema_profile p) {
  switch (p) {
    case schema_profile::ecs: return k_ecs_fields;
    case schema_profile::ocsf: return k_ocsf_fields;
    case schema_profile::defender: return k_defender_fields;
    case schema_profile::codeintegrity:
    case schema_profile::windows: return k_windows_fields;
    case schema_profile::evtx:
    case schema_profile::sentinelone:
    case schema_profile::user:
    case schema_profile::unknown: break;
  }
  return {};
}

std::optional<std::string_view> text(const rules::text_field& f) {
  if (!f.present) return std::nullopt;
  return f.view();
}

// Sysmon's SignatureStatus vocabulary for a normalized status.
std::string_view sysmon_status(const rules::code_signature& sig) {
  switch (sig.status) {
    case rules::signature_status::valid: return "Valid";
    case rules::signature_status::expired: return "Expired";
    case rules::signature_status::revoked: return "Revoked";
    case rules::signature_status::untrusted_root: return "Untrusted";
    case rules::signature_status::bad_digest: return "Bad Digest";
    case rules::signature_status::chain_error: return "Chain Error";
    case rules::signature_status::not_signed: return "Unsigned";
    case rules::signature_status::unknown: return "Unavailable";
    case rules::signature_status::other: return sig.status_raw.view();
    case rules::signature_status::missing: break;
  }
  return {};
}

void append_upper(std::string& out, std::string_view hex) {
  for (const char c : hex) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = rules::sigma::detail::lower_ascii(c);
  return out;
}

}  // namespace

sigma_view::sigma_view(const sigma_document& doc, schema_profile profile, const rules::observation* obs, int record)
    : doc_(doc), profile_(profile), obs_(obs), record_(record) {}

std::string_view sigma_view::keep(std::string value) const { return derived_.emplace_back(std::move(value)); }

// Every field with a Sigma name is one from_observation writes as text.
static_assert(std::apply(
    [](const auto&... row) {
      return ((row.sigma[0].empty() ||
               std::is_same_v<typename std::remove_cvref_t<decltype(row)>::type, rules::text_field> ||
               std::is_same_v<typename std::remove_cvref_t<decltype(row)>::type, std::optional<std::int64_t>>) &&
              ...);
    },
    rules::k_observation_fields));

std::optional<std::string_view> sigma_view::from_observation(std::string_view name) const {
  if (obs_ == nullptr) return std::nullopt;
  const auto& o = *obs_;
  const bool load = o.kind == event_kind::image_load || o.kind == event_kind::driver_load;
  const bool ci = o.kind == event_kind::code_integrity || o.kind == event_kind::signature_info;
  if (name == "Image") return load || ci ? text(o.process_path) : text(o.image_path);
  if (name == "ImageLoaded") return load ? text(o.image_path) : std::nullopt;
  if (name == "FileNameBuffer" || name == "File Name") return ci ? text(o.image_path) : std::nullopt;
  if (name == "ProcessNameBuffer" || name == "Process Name") return ci ? text(o.ci.process_name) : std::nullopt;
  if (name == "Hashes") {
    // Sysmon's form: "SHA1=...,MD5=...,SHA256=...,IMPHASH=..." (upper-case hex).
    std::string out;
    const auto add = [&out](std::string_view label, std::optional<std::string_view> v) {
      if (!v || v->empty()) return;
      if (!out.empty()) out.push_back(',');
      out.append(label).push_back('=');
      append_upper(out, *v);
    };
    add("SHA1", text(o.sha1));
    add("MD5", field("md5"));
    add("SHA256", text(o.sha256));
    add("IMPHASH", field("Imphash"));
    if (out.empty()) return std::nullopt;
    return keep(std::move(out));
  }
  const auto& sig = o.signature;
  if (name == "Signed") {
    if (sig.exists) return *sig.exists ? "true" : "false";
    if (sig.status == rules::signature_status::missing) return std::nullopt;
    return sig.is_present() ? "true" : "false";
  }
  if (name == "SignatureStatus") {
    const std::string_view s = sysmon_status(sig);
    if (s.empty()) return std::nullopt;
    return s;
  }
  if (name == "Signature") return sig.subject_cn.present ? text(sig.subject_cn) : text(sig.subject);
  if (name == "SignatureIssuer") return sig.issuer_cn.present ? text(sig.issuer_cn) : text(sig.issuer);
  // The rest read one field as it is: the `sigma` names of rules::k_observation_fields.
  std::optional<std::string_view> value;
  bool found = name.empty();
  rules::for_each_observation_field([&](const auto& row) {
    if (found || (row.sigma[0] != name && row.sigma[1] != name)) return;
    found = true;
    const auto& v = row.of(o);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, rules::text_field>) {
      value = text(v);
    } else if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, std::optional<std::int64_t>>) {
      if (v) value = keep(std::to_string(*v));
    }
  });
  return value;
}

std::optional<std::string_view> sigma_view::field(std::string_view name) const {
  switch (kind()) {
    case record_kind::process_creation:
      if (auto v = process_creation_field(name)) return *v;
      break;
    case record_kind::powershell_classic: return classic_powershell_field(name);
    case record_kind::not_read:
    case record_kind::other: break;
  }
  return plain_field(name);
}

std::optional<std::string_view> sigma_view::plain_field(std::string_view name) const {
  // 1. the name as a path of the document (ECS / OCSF / Defender / CI names as written)
  if (auto v = raw(name)) return v;
  // 2. Windows event data by its plain name
  if (profile_ == schema_profile::ecs || profile_ == schema_profile::codeintegrity ||
      profile_ == schema_profile::windows) {
    path_.assign(profile_ == schema_profile::ecs ? "winlog.event_data." : "EventData.");
    path_.append(name);
    if (auto v = raw(path_)) return v;
    // Records with UserData instead (Security 1102, AppLocker, ...).
    path_.assign(profile_ == schema_profile::ecs ? "winlog.user_data." : "UserData.");
    path_.append(name);
    if (auto v = raw(path_)) return v;
  }
  // 3. what the profile normalized into the observation
  if (auto v = from_observation(name)) return v;
  // 4. the profile's own names for the rest
  for (const auto& a : aliases(profile_)) {
    if (a.sigma != name) continue;
    for (const auto p : a.paths) {
      if (p.empty()) break;
      if (auto v = raw(p)) return v;
    }
  }
  return std::nullopt;
}

void sigma_view::for_each_value(const std::function<void(std::string_view)>& fn) const { doc_.for_each(record_, fn); }

namespace {

// Sigma service names of Windows event log channels (SigmaHQ's logsource taxonomy;
// where Windows and the usual Sigma backends write a channel two ways, both are here).
constexpr std::pair<std::string_view, std::string_view> k_channels[] = {
    {"Microsoft-Windows-Sysmon/Operational", "sysmon"},
    {"Microsoft-Windows-CodeIntegrity/Operational", "codeintegrity-operational"},
    {"Security", "security"},
    {"System", "system"},
    {"Application", "application"},
    {"Microsoft-Windows-PowerShell/Operational", "powershell"},
    {"Windows PowerShell", "powershell-classic"},
    {"Microsoft-Windows-Windows Defender/Operational", "windefend"},
    {"Microsoft-Windows-TaskScheduler/Operational", "taskscheduler"},
    {"Microsoft-Windows-WMI-Activity/Operational", "wmi"},
    {"Microsoft-Windows-Bits-Client/Operational", "bits-client"},
    {"Microsoft-Windows-DNS-Client/Operational", "dns-client"},
    {"Microsoft-Windows-DNS Client Events/Operational", "dns-client"},
    {"Microsoft-Windows-AppLocker/EXE and DLL", "applocker"},
    {"Microsoft-Windows-AppLocker/MSI and Script", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Deployment", "applocker"},
    {"Microsoft-Windows-AppLocker/Packaged app-Execution", "applocker"},
    {"Microsoft-Windows-Kernel-Driver/Operational", "driver-framework"},
    {"Microsoft-Windows-DriverFrameworks-UserMode/Operational", "driver-framework"},
    {"Microsoft-Windows-Security-Mitigations/KernelMode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/UserMode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/Kernel Mode", "security-mitigations"},
    {"Microsoft-Windows-Security-Mitigations/User Mode", "security-mitigations"},
    {"Microsoft-Windows-Windows Firewall With Advanced Security/Firewall", "firewall-as"},
    {"PowerShellCore/Operational", "powershell"},
    {"Microsoft-Windows-NTLM/Operational", "ntlm"},
    {"Microsoft-Windows-AppXDeploymentServer/Operational", "appxdeployment-server"},
    {"Microsoft-Windows-AppxPackaging/Operational", "appxpackaging-om"},
    {"Microsoft-Windows-AppModel-Runtime/Admin", "appmodel-runtime"},
    {"Microsoft-Windows-CAPI2/Operational", "capi2"},
    {"Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
     "certificateservicesclient-lifecycle-system"},
    {"Microsoft-Windows-Diagnosis-Scripted/Operational", "diagnosis-scripted"},
    {"DNS Server", "dns-server"},
    {"Microsoft-IIS-Configuration/Operational", "iis-configuration"},
    {"Microsoft-Windows-LDAP-Client/Debug", "ldap"},
    {"Microsoft-Windows-LSA/Operational", "lsa-server"},
    {"MSExchange Management", "msexchange-management"},
    {"OpenSSH/Operational", "openssh"},
    {"Microsoft-ServiceBus-Client", "microsoft-servicebus-client"},
    {"Microsoft-Windows-Shell-Core/Operational", "shell-core"},
    {"Microsoft-Windows-SmbClient/Security", "smbclient-security"},
    {"Microsoft-Windows-SmbClient/Connectivity", "smbclient-connectivity"},
    {"Microsoft-Windows-SMBServer/Connectivity", "smbserver-connectivity"},
    {"Microsoft-Windows-TerminalServices-LocalSessionManager/Operational", "terminalservices-localsessionmanager"},
    {"Microsoft-Windows-PrintService/Admin", "printservice-admin"},
    {"Microsoft-Windows-PrintService/Operational", "printservice-operational"},
    {"Microsoft-Windows-VHDMP/Operational", "vhdmp"},
    {"Microsoft-Windows-BitLocker/BitLocker Management", "bitlocker"},
};

std::string_view service_of_channel(std::string_view channel) {
  for (const auto& [name, service] : k_channels) {
    if (channel.size() == name.size() &&
        std::equal(channel.begin(), channel.end(), name.begin(), [](char a, char b) {
          return rules::sigma::detail::lower_ascii(a) == rules::sigma::detail::lower_ascii(b);
        })) {
      return service;
    }
  }
  return {};
}

// Sigma categories of a Sysmon event id (two for registry events).
std::array<std::string_view, 2> sysmon_categories(std::int64_t id) {
  switch (id) {
    case 1: return {"process_creation", {}};
    case 2: return {"file_change", {}};
    case 4: case 16: return {"sysmon_status", {}};  // service state, configuration state
    case 3: return {"network_connection", {}};
    case 5: return {"process_termination", {}};
    case 6: return {"driver_load", {}};
    case 7: return {"image_load", {}};
    case 8: return {"create_remote_thread", {}};
    case 9: return {"raw_access_thread", {}};
    case 10: return {"process_access", {}};
    case 11: return {"file_event", {}};
    case 12: return {"registry_add", "registry_event"};  // also registry_delete: see logsources()
    case 13: return {"registry_set", "registry_event"};
    case 14: return {"registry_rename", "registry_event"};
    case 15: return {"create_stream_hash", {}};
    case 17: case 18: return {"pipe_created", {}};
    case 19: case 20: case 21: return {"wmi_event", {}};
    case 22: return {"dns_query", {}};
    case 23: return {"file_delete", {}};
    case 25: return {"process_tampering", {}};
    case 26: return {"file_delete_detected", {}};
    case 27: return {"file_block_executable", {}};
    case 28: return {"file_block_shredding", {}};
    case 29: return {"file_executable_detected", {}};
    case 255: return {"sysmon_error", {}};
    default: return {};
  }
}

// The categories of a Windows event log record by its service and event id: Sysmon's,
// and those Sigma's taxonomy gives builtin events (SigmaHQ's windows-services and
// windows-audit mappings).
std::array<std::string_view, 2> record_categories(std::string_view service, std::int64_t id) {
  if (service == "sysmon") return sysmon_categories(id);
  if (service == "security" && id == 4688) return {"process_creation", {}};
  if (service == "powershell") {
    if (id == 4103) return {"ps_module", {}};
    if (id == 4104) return {"ps_script", {}};
  }
  if (service == "powershell-classic") {
    if (id == 400) return {"ps_classic_start", {}};
    if (id == 600) return {"ps_classic_provider_start", {}};
    if (id == 800) return {"ps_classic_script", {}};
  }
  return {};
}

std::optional<std::int64_t> to_int(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  std::int64_t out = 0;
  const auto res = std::from_chars(v->data(), v->data() + v->size(), out);
  if (res.ec != std::errc() || res.ptr != v->data() + v->size()) return std::nullopt;
  return out;
}

// A process id in Sysmon's decimal form; 4688 writes hex (0x1a2c).
std::optional<std::int64_t> process_id(std::string_view v) {
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
    std::int64_t out = 0;
    const auto res = std::from_chars(v.data() + 2, v.data() + v.size(), out, 16);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size()) return std::nullopt;
    return out;
  }
  return to_int(v);
}

bool blank_or_dash(std::optional<std::string_view> v) {
  return !v || v->empty() || *v == "-";
}

// evtx_dump writes a record's unnamed <Data> items as "Data": {"#text": ["a", "b"]} (one
// item: a plain string), which the document walk does not store: read from the message
// itself. Only classic PowerShell records ask, once per record. Returns the item count.
template <class Fn>
std::size_t evtx_unnamed_data(const sigma_document::padded_message& m, Fn&& add) {
  if (m.data == nullptr || m.capacity < m.size + simdjson::SIMDJSON_PADDING) return 0;
  static thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(m.data, m.size, false).get(root) != simdjson::SUCCESS) return 0;
  simdjson::dom::element event = root;
  if (simdjson::dom::element e; root["Event"].get(e) == simdjson::SUCCESS) event = e;
  simdjson::dom::element data;
  if (event["EventData"]["Data"].get(data) != simdjson::SUCCESS) return 0;
  std::size_t n = 0;
  const auto add_string = [&](simdjson::dom::element v) {
    std::string_view text;
    if (v.get_string().get(text) != simdjson::SUCCESS) return;
    add(text);
    ++n;
  };
  // One <Data>: a string, or {"#text": ...} (named ones, {"#attributes": {"Name"}}, are
  // stored by the walk); "#text" holds one string or, for several items, an array.
  const auto add_item = [&](simdjson::dom::element v) {
    if (!v.is_object()) return add_string(v);
    simdjson::dom::element ignored, text;
    if (v["#attributes"]["Name"].get(ignored) == simdjson::SUCCESS ||
        v["#text"].get(text) != simdjson::SUCCESS)
      return;
    if (simdjson::dom::array several; text.get_array().get(several) == simdjson::SUCCESS) {
      for (auto t : several) add_string(t);
    } else {
      add_string(text);
    }
  };
  if (simdjson::dom::array list; data.get_array().get(list) == simdjson::SUCCESS) {
    for (auto d : list) add_item(d);
  } else {
    add_item(data);
  }
  return n;
}

// The value of `key` in Key=Value lines (PowerShell's details: "\tHostApplication=...\r\n").
std::optional<std::string_view> key_value(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t' || line.front() == '\r'))
      line.remove_prefix(1);
    if (line.size() <= key.size() || line[key.size()] != '=' || !line.starts_with(key)) continue;
    line.remove_prefix(key.size() + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  return std::nullopt;
}

bool identifier(std::string_view name) {
  return !name.empty() &&
         std::ranges::all_of(name, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

const sigma_view::system_fields& sigma_view::system() const {
  if (system_) return *system_;
  system_fields s;
  switch (profile_) {
    case schema_profile::ecs:
      s.channel = raw("winlog.channel");
      s.provider = raw("winlog.provider_name");
      s.event_id = raw("winlog.event_id");
      break;
    case schema_profile::codeintegrity:
    case schema_profile::windows:
    case schema_profile::evtx:
      s.channel = plain_field("Channel");
      s.provider = plain_field("Provider_Name");
      s.event_id = plain_field("EventID");
      break;
    default: break;
  }
  return system_.emplace(s);
}

sigma_view::record_kind sigma_view::kind() const {
  if (kind_ != record_kind::not_read) return kind_;
  kind_ = record_kind::other;
  const auto& s = system();
  if (!s.channel) return kind_;
  const std::string_view service = service_of_channel(*s.channel);
  if (service == "security" && to_int(s.event_id) == 4688) kind_ = record_kind::process_creation;
  if (service == "powershell-classic") kind_ = record_kind::powershell_classic;
  return kind_;
}

// DOMAIN\name of one of 4688's accounts ("Target", "Subject"), as Sysmon writes User:
// SYSTEM as NT AUTHORITY\SYSTEM (the record names the machine account), nothing for the
// NULL SID or "-" (Target on most records).
std::optional<std::string_view> sigma_view::account(std::string_view prefix) const {
  const auto part = [&](std::string_view what) {
    std::string name(prefix);
    name.append(what);
    return plain_field(name);
  };
  const auto sid = part("UserSid");
  if (sid && *sid == "S-1-5-18") return "NT AUTHORITY\\SYSTEM";
  if (sid && *sid == "S-1-0-0") return std::nullopt;
  const auto name = part("UserName");
  if (blank_or_dash(name)) return std::nullopt;
  const auto domain = part("DomainName");
  if (blank_or_dash(domain)) return name;
  std::string out(*domain);
  out.push_back('\\');
  out.append(*name);
  return keep(std::move(out));
}

std::optional<std::optional<std::string_view>> sigma_view::process_creation_field(
    std::string_view name) const {
  const auto* f = std::ranges::find(k_process_creation_fields, name, &renamed_field::sigma);
  if (f == std::end(k_process_creation_fields)) return std::nullopt;
  for (const auto src : f->sources) {
    if (src.empty()) break;
    switch (f->derive) {
      case renamed_field::how::copy:
        if (auto v = plain_field(src)) return v;
        break;
      case renamed_field::how::pid:
        if (auto v = plain_field(src)) {
          const auto pid = process_id(*v);
          return pid ? keep(std::to_string(*pid)) : *v;
        }
        break;
      case renamed_field::how::account:
        if (auto v = account(src)) return v;
        break;
      case renamed_field::how::logon_id:
        if (auto v = plain_field(src); !blank_or_dash(v) && *v != "0x0") return v;
        break;
    }
  }
  return std::optional<std::string_view>();
}

// The record's unnamed data items, one per line: what SigmaHQ's classic PowerShell rules
// call Data (`Data|contains: 'HostApplication=...'`).
std::optional<std::string_view> sigma_view::classic_data() const {
  if (classic_data_) return *classic_data_;
  std::string joined;
  std::size_t n = 0;
  const auto add = [&](std::string_view v) {
    if (n++ > 0) joined.push_back('\n');
    joined.append(v);
  };
  // Flat exports and evtx JSON with a plain array: every value stored under Data.
  doc_.for_each_at(profile_ == schema_profile::ecs ? "winlog.event_data.Data" : "Data", record_, add);
  // Winlogbeat (and flat shippers after it) name the items param1, param2, ...
  if (n == 0) {
    for (const auto p : k_unnamed_items) {
      auto v = plain_field(p);
      if (!v) break;
      add(*v);
    }
  }
  if (n == 0 && profile_ == schema_profile::evtx) evtx_unnamed_data(doc_.message(), add);
  classic_data_.emplace(n == 0 ? std::nullopt : std::optional<std::string_view>(keep(std::move(joined))));
  return *classic_data_;
}

std::optional<std::string_view> sigma_view::classic_powershell_field(std::string_view name) const {
  if (name == "Data") return classic_data();
  // The details' Key=Value lines by key (HostApplication, EngineVersion, HostName, ...).
  // They come first: a flat export's top-level ProviderName is the event's provider, the
  // details' the PowerShell provider started. A shipper that split the details into
  // fields of their own (Elastic's pipeline) and dropped the items is read as written.
  if (identifier(name)) {
    if (const auto data = classic_data()) {
      if (auto v = key_value(*data, name)) return v;
    }
  }
  return plain_field(name);
}

sigma_view::logsource_list sigma_view::logsources() const {
  std::string_view product = "windows";
  std::string_view service;
  std::array<std::string_view, 2> categories{};
  if (obs_ != nullptr) {
    switch (obs_->kind) {
      case event_kind::process_start: categories[0] = "process_creation"; break;
      case event_kind::image_load: categories[0] = "image_load"; break;
      case event_kind::driver_load: categories[0] = "driver_load"; break;
      default: break;
    }
  }
  if (profile_ == schema_profile::codeintegrity) service = "codeintegrity-operational";
  if (profile_ == schema_profile::ecs) {
    if (auto os = raw("host.os.type")) {
      if (*os == "linux" || *os == "macos") product = *os;
    }
  }
  // A Windows event log record, in any shape: the channel (or, where a shipper dropped
  // it, a Sysmon provider) and the event id decide, not the walker's guess (Winlogbeat's
  // reads any non-Sysmon record as a process event).
  const auto& sys = system();
  std::string_view channel_service = sys.channel ? service_of_channel(*sys.channel) : std::string_view();
  if (!sys.channel && sys.provider && detail::is_sysmon({}, *sys.provider)) channel_service = "sysmon";
  if (sys.channel || !channel_service.empty()) {
    service = channel_service;
    categories = {};
    if (auto id = to_int(sys.event_id)) categories = record_categories(service, *id);
  }
  logsource_list out;
  out.push_back({categories[0], product, service});
  if (!categories[1].empty()) out.push_back({categories[1], product, service});
  if (categories[0] == "registry_add") out.push_back({"registry_delete", product, service});
  return out;
}

// ---------------------------------------------------------------------------------------
// Rule loading

namespace {

bool is_rule_file(const std::filesystem::path& p) {
  const auto ext = p.extension();
  return ext == ".yml" || ext == ".yaml";
}

void add_all(rules::sigma::load_result& into, rules::sigma::load_result&& from) {
  for (auto& r : from.rules) into.rules.push_back(std::move(r));
  for (auto& c : from.correlations) into.correlations.push_back(std::move(c));
  for (auto& d : from.diagnostics) into.diagnostics.push_back(std::move(d));
  into.skipped += from.skipped;
}

bool has_errors(const rules::sigma::load_result& r) {
  return std::ranges::any_of(r.diagnostics,
                             [](const auto& d) { return d.sev == rules::sigma::diagnostic::severity::error; });
}

// Rule files under `dir`, sorted, with an error for a folder that cannot be read.
std::vector<std::filesystem::path> rule_files(const std::string& dir, std::vector<rules::sigma::diagnostic>& diags) {
  std::vector<std::filesystem::path> out;
  if (dir.empty()) return out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::skip_permission_denied, ec);
  if (ec) {
    diags.push_back({rules::sigma::diagnostic::severity::error, dir, 0, "?", "cannot read the rule folder: " + ec.message()});
    return out;
  }
  // Hidden entries are skipped: editor backups, and the `..data` / `..<timestamp>` folders
  // of a Kubernetes ConfigMap volume (whose files are also linked at the top).
  for (auto entry = std::filesystem::begin(it); entry != std::filesystem::end(it); entry.increment(ec)) {
    if (ec) break;
    if (entry->path().filename().string().starts_with('.')) {
      if (entry->is_directory(ec)) entry.disable_recursion_pending();
      continue;
    }
    if (entry->is_regular_file(ec) && is_rule_file(entry->path())) out.push_back(entry->path());
  }
  std::ranges::sort(out);
  return out;
}

// Later rules with an id already seen are dropped with a warning; returns how many.
std::size_t drop_duplicate_ids(std::vector<rules::sigma::rule>& rules,
                               std::vector<rules::sigma::diagnostic>* diags) {
  std::set<std::string> seen;
  return std::erase_if(rules, [&](const rules::sigma::rule& r) {
    if (r.id.empty() || seen.insert(r.id).second) return false;
    if (diags) {
      diags->push_back({rules::sigma::diagnostic::severity::warning, r.file, r.line, r.id,
                        "duplicate rule id (an earlier rule has it); rule skipped"});
    }
    return true;
  });
}

}  // namespace

std::vector<std::string> all_builtin_sigma_files() {
  std::vector<std::string> out;
  for (const auto& f : builtin_sigma_rules()) out.emplace_back(f.name);
  return out;
}

rules::sigma::load_result load_sigma_rules(const std::vector<std::string>& builtin, const std::string& dir) {
  rules::sigma::load_result all;
  for (const auto& f : builtin_sigma_rules()) {
    if (std::ranges::find(builtin, f.name) == builtin.end()) continue;
    add_all(all, rules::sigma::load_rules(f.text, "builtin:" + std::string(f.name)));
  }
  for (const auto& path : rule_files(dir, all.diagnostics)) add_all(all, rules::sigma::load_rules_file(path));
  all.skipped += drop_duplicate_ids(all.rules, &all.diagnostics);
  all.skipped += rules::sigma::link_correlations(all.rules, all.correlations, all.diagnostics);
  return all;
}

sigma_library::sigma_library(const sigma_config& cfg)
    : cfg_(cfg),
      current_(std::make_shared<rules::sigma::rule_set>()),
      correlations_(std::make_shared<rules::sigma::correlation_set>()) {}

sigma_library::reload_report sigma_library::reload() {
  reload_report report;
  bool changed = !loaded_;
  if (!loaded_) {
    loaded_ = true;
    auto res = load_sigma_rules(cfg_.builtin, "");
    builtin_ = std::move(res.rules);
    builtin_correlations_ = std::move(res.correlations);
    for (auto& d : res.diagnostics) report.diagnostics.push_back(std::move(d));
  }
  const auto paths = rule_files(cfg_.rules_dir, report.diagnostics);
  // Removed files take their rules with them.
  for (auto it = files_.begin(); it != files_.end();) {
    if (std::ranges::find(paths, it->first) == paths.end()) {
      it = files_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  for (const auto& path : paths) {
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(path, ec);
    const auto size = std::filesystem::file_size(path, ec);
    auto [it, fresh] = files_.try_emplace(path);
    file_state& f = it->second;
    if (!fresh && !f.failed && f.mtime == mtime && f.size == size) continue;
    f.mtime = mtime;
    f.size = size;
    auto res = rules::sigma::load_rules_file(path);
    f.failed = has_errors(res);
    if (f.failed) {
      ++report.failed_files;
    }
    // A file with errors keeps what it had (nothing, the first time); one with only
    // warnings (skipped, unsupported rules) takes its new rules.
    if (!f.failed || fresh) {
      f.rules = std::move(res.rules);
      f.correlations = std::move(res.correlations);
      changed = true;
    }
    for (auto& d : res.diagnostics) report.diagnostics.push_back(std::move(d));
  }
  if (changed) {
    std::vector<rules::sigma::rule> all = builtin_;
    for (const auto& [path, f] : files_) all.insert(all.end(), f.rules.begin(), f.rules.end());
    drop_duplicate_ids(all, &report.diagnostics);
    // References are checked across every file: a correlation may refer to rules of
    // another file, or of the shipped content.
    std::vector<rules::sigma::correlation_rule> correlations = builtin_correlations_;
    for (const auto& [path, f] : files_) correlations.insert(correlations.end(), f.correlations.begin(), f.correlations.end());
    (void)rules::sigma::link_correlations(all, correlations, report.diagnostics);  // removed ones are reported
    correlations_ = std::make_shared<const rules::sigma::correlation_set>(std::move(correlations), all);
    current_ = std::make_shared<const rules::sigma::rule_set>(std::move(all));
  }
  report.changed = changed;
  report.rules = current_->size();
  report.correlations = correlations_->size();
  return report;
}

// ---------------------------------------------------------------------------------------
// The stage

namespace {

rules::severity severity_of_level(std::string_view level) {
  const std::string l = lower(level);
  if (l == "informational") return rules::severity::info;
  if (auto s = rules::parse_severity(l)) return *s;
  return rules::severity::medium;
}

// ATT&CK technique ids from tags: attack.t1588.003 -> T1588.003.
void techniques_of(const rules::sigma::rule& r, std::vector<std::string>& out) {
  for (const auto& tag : r.tags) {
    const std::string t = lower(tag);
    if (!t.starts_with("attack.t") || t.size() < 12 || !std::isdigit(static_cast<unsigned char>(t[8]))) continue;
    std::string id = "T" + t.substr(8);
    if (std::ranges::find(out, id) == out.end()) out.push_back(std::move(id));
  }
}

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out.append(sep);
    out.append(i);
  }
  return out;
}

}  // namespace

namespace {

// What sigma_document must keep for these rules: the last path component of every name
// a lookup can ask the document for (the rule's field, its event-data path, the
// profiles' aliases of it), plus what logsources and alert envelopes read. Null when a
// rule searches keywords, which look at every value.
std::shared_ptr<const sigma_document::name_filter> document_names(const rules::sigma::rule_set& set,
                                                                   const rules::sigma::correlation_set& correlations) {
  auto names = std::make_shared<sigma_document::name_filter>();
  const auto add_field = [&names](std::string_view field) {
    names->emplace(sigma_document::last_component(field));
    for (const auto profile : {schema_profile::ecs, schema_profile::ocsf, schema_profile::defender,
                               schema_profile::codeintegrity, schema_profile::windows}) {
      for (const auto& a : aliases(profile)) {
        if (a.sigma != field) continue;
        for (const auto p : a.paths) {
          if (!p.empty()) names->emplace(sigma_document::last_component(p));
        }
      }
    }
    // What Security 4688 carries it under (Image: NewProcessName, ...).
    for (const auto& f : k_process_creation_fields) {
      if (f.sigma == field) for_each_source(f, [&names](std::string n) { names->emplace(std::move(n)); });
    }
  };
  for (const auto& r : set.rules()) {
    for (const auto& search : r.searches) {
      for (const auto& alternative : search.alternatives) {
        for (const auto& condition : alternative) {
          if (condition.field.empty()) return nullptr;
          add_field(condition.field);
          for (const auto& variants : condition.values) {
            for (const auto& m : variants) {
              if (!m.other_field.empty()) add_field(m.other_field);
            }
          }
        }
      }
    }
  }
  // What correlations read from a match: group-by fields (aliases resolved per rule)
  // and value_count's field.
  for (std::size_t i = 0; i < correlations.size(); ++i) {
    for (const auto& fields : correlations.compiled_of(i).fields) {
      for (const auto& f : fields) add_field(f);
    }
    if (!correlations.correlations()[i].value_field.empty()) add_field(correlations.correlations()[i].value_field);
  }
  // sigma_view::logsources and the envelope of evaluate().
  // The logsource fields of the flat and evtx shapes (Channel, Provider_Name, EventID and
  // their shipper aliases) too: without them no flat or evtx record gets a logsource.
  for (const std::string_view n : {"host.os.type", "winlog.channel", "winlog.event_id", "winlog.provider_name",
                                   "Channel", "Provider_Name", "EventID", "Computer", "Image",
                                   "ProcessName", "NewProcessName", "Process Name", "User", "SubjectUserName",
                                   "TargetUserName"}) {
    add_field(n);
  }
  // A classic PowerShell record's unnamed data, whatever name a rule asks for: Data is
  // composed from them and the details' keys (HostApplication, ...) are read in them.
  names->emplace("Data");
  for (const auto n : k_unnamed_items) names->emplace(n);
  return names;
}

}  // namespace

sigma_stage::sigma_stage(const config& cfg) : sigma_stage(cfg, std::shared_ptr<shared_sigma_library>()) {}

sigma_stage::sigma_stage(const config& cfg, const sigma_stage& rules_of)
    : library_(cfg.sigma),
      set_(rules_of.set_),
      correlations_(rules_of.correlations_),
      names_(rules_of.names_),
      reload_interval_ms_(0),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      formats_(alert_formats(cfg)),
      suppression_by_level_(cfg.sigma.suppression),
      suppression_enabled_(cfg.alerts.suppression_cache_entries > 0),
      defer_suppression_(true),
      suppression_(1),
      doc_(cfg.sigma.max_fields) {
  doc_.keep_only(names_);
}

sigma_stage::sigma_stage(const config& cfg, std::shared_ptr<shared_sigma_library> shared)
    : library_(cfg.sigma),
      shared_(std::move(shared)),
      reload_interval_ms_(cfg.sigma.rules_dir.empty() ? 0 : cfg.sigma.reload_interval_ms),
      suppression_window_ms_(cfg.alerts.suppression_window_ms),
      formats_(alert_formats(cfg)),
      suppression_by_level_(cfg.sigma.suppression),
      suppression_enabled_(cfg.alerts.suppression_cache_entries > 0),
      suppression_(std::max<std::size_t>(1, cfg.alerts.suppression_cache_entries)),
      doc_(cfg.sigma.max_fields) {
  if (shared_) apply(shared_->poll(reload_interval_ms_));
  else note(library_.reload());
  next_reload_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(reload_interval_ms_);
}

shared_sigma_library::update shared_sigma_library::poll(std::int64_t interval_ms) {
  const std::lock_guard lock(mutex_);
  update u;
  const auto now = std::chrono::steady_clock::now();
  if (!loaded_ || (interval_ms > 0 && now >= next_read_)) {
    u.report = library_.reload();
    if (!loaded_ || u.report->changed) ++generation_;
    loaded_ = true;
    next_read_ = now + std::chrono::milliseconds(interval_ms);
  }
  u.generation = generation_;
  u.set = library_.current();
  u.correlations = library_.correlations();
  return u;
}

void sigma_stage::apply(const shared_sigma_library::update& u) {
  if (u.report) note(*u.report);
  if (u.generation != generation_) {
    generation_ = u.generation;
    use(u.set, u.correlations);
  }
}

std::size_t sigma_stage::rules() const { return set_ ? set_->size() : 0; }

void sigma_stage::note(const sigma_library::reload_report& report) {
  constexpr std::size_t k_logged = 50;  // per reload; the rest is counted
  std::size_t logged = 0;
  for (const auto& d : report.diagnostics) {
    if (logged++ == k_logged) {
      spdlog::warn("sigma: {} more rule problems not shown (countersign rules check lists them)",
                   report.diagnostics.size() - k_logged);
      break;
    }
    if (d.sev == rules::sigma::diagnostic::severity::error) {
      spdlog::error("sigma: {}", d.text());
    } else {
      spdlog::warn("sigma: {}", d.text());
    }
  }
  if (report.changed) spdlog::info("sigma: {} rules in use", report.rules);
  if (report.failed_files > 0) {
    spdlog::error("sigma: {} rule files failed to load; their previous rules stay in use", report.failed_files);
  }
  last_report_ = report;
  stats_.reload_errors += report.failed_files;
  if (report.changed && report.correlations > 0) spdlog::info("sigma: {} correlation rules in use", report.correlations);
  if (report.changed && !shared_) use(library_.current(), library_.correlations());
}

void sigma_stage::use(std::shared_ptr<const rules::sigma::rule_set> set,
                      std::shared_ptr<const rules::sigma::correlation_set> correlations) {
  set_ = std::move(set);
  correlations_ = std::move(correlations);
  names_ = set_ ? document_names(*set_, *correlations_) : nullptr;
  doc_.keep_only(names_);
  ++stats_.reloads;
  stats_.rules = set_ ? set_->size() : 0;
  stats_.correlations = correlations_ ? correlations_->size() : 0;
}

// Matches of rules that correlations refer to, taken apart per correlation (group values,
// counted value) for the partition that owns their group. The identity is where the
// event came from, so a redelivered record is recognised as one already counted.
void sigma_stage::route_correlated(const sigma_view& view, const rules::observation* obs, const source_position& where,
                                   int record, std::optional<std::int64_t> now_ms,
                                   std::vector<rules::sigma::routed_match>& routed) {
  std::optional<std::int64_t> time = obs ? obs->event_time_ms : std::nullopt;
  if (!time) time = synthetic_time(view);
  if (!time) time = now_ms;
  identity_ = fmt::format("{}/{}/{}#{}", where.topic, where.partition, where.offset, record);
  for (const auto* r : hits_) {
    if (!correlations_->targets_of(r->id, r->name)) continue;
    if (!time) {
      ++stats_.correlation_no_time;
      continue;
    }
    const rules::sigma::base_match m{r->id, r->name, *time, identity_, &view};
    const std::size_t before = routed.size();
    stats_.correlation_missing_field += rules::sigma::route_match(*correlations_, m, routed);
    stats_.correlation_routed += routed.size() - before;
  }
}

// The event time of an event without an observation: the first of the usual fields.
std::optional<std::int64_t> sigma_stage::synthetic_time(const sigma_view& view) const {
  for (const std::string_view name : {"@timestamp", "UtcTime", "TimeCreated", "Timestamp", "time", "EventTime"}) {
    const auto v = view.field(name);
    if (!v || v->empty()) continue;
    if (const auto t = rules::parse_rfc3339_ms(*v)) return t;
  }
  return std::nullopt;
}

void sigma_stage::maybe_reload() {
  if (reload_interval_ms_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_reload_) return;
  next_reload_ = now + std::chrono::milliseconds(reload_interval_ms_);
  if (shared_) apply(shared_->poll(reload_interval_ms_));
  else note(library_.reload());
}

void sigma_stage::evaluate(const char* padded, std::size_t size, std::size_t capacity,
                           simdjson::ondemand::document* indexed, schema_profile profile, const observation_batch& batch, const source_position& where,
                           std::optional<std::int64_t> now_ms, std::uint64_t token,
                           std::vector<emitted_alert>& out, std::size_t& count,
                           std::vector<rules::sigma::routed_match>& routed) {
  routed.clear();
  if (!set_ || set_->size() == 0) return;
  doc_.reset(padded, size, capacity, profile, indexed);
  const int records = profile == schema_profile::defender ? doc_.records() : 0;
  // One evaluation per event: per record of a Defender export, else the message.
  const int events = std::max(1, records);
  for (int e = 0; e < events; ++e) {
    const int record = records > 0 ? e : -1;
    // The observation of this event, for the envelope and the normalized fields.
    const rules::observation* obs = nullptr;
    if (records > 0 ? static_cast<std::size_t>(records) == batch.size() : batch.size() >= 1) {
      obs = &batch[records > 0 ? static_cast<std::size_t>(e) : 0];
      // A Code Integrity 3089 carries one signature; its verdict is the event of record.
      if (obs->kind == event_kind::signature_info && batch.size() > 1) obs = &batch[1];
    }
    sigma_view view(doc_, profile, obs, record);
    hits_.clear();
    rules::sigma::eval_counters counters;
    const auto sources = view.logsources();
    set_->evaluate(std::span(sources.begin(), sources.size), view, hits_, &counters);  // fields scanned once
    ++stats_.events;
    stats_.considered += counters.considered;
    stats_.evaluated += counters.evaluated;
    stats_.matches += hits_.size();
    if (doc_.truncated()) ++stats_.truncated;
    if (hits_.empty()) continue;
    if (correlations_->size() > 0) route_correlated(view, obs, where, record, now_ms, routed);

    // The envelope: the event's observation, with what the fields say where it is
    // silent (a Security or registry record names its process in its own fields).
    const rules::observation* env = obs;
    const auto first_field = [&view](std::initializer_list<std::string_view> names) -> std::optional<std::string_view> {
      for (const auto n : names) {
        if (auto v = view.field(n); v && !v->empty() && *v != "-") return v;
      }
      return std::nullopt;
    };
    if (env == nullptr || !env->image_path.has_value() || env->host_key().empty() || !env->user_name.present) {
      if (env != nullptr) {
        synthetic_ = *env;
      } else {
        synthetic_.reset();
        synthetic_.source.schema = profile;
        synthetic_.source.topic.assign(where.topic);
        synthetic_.source.partition = where.partition;
        synthetic_.source.offset = where.offset;
      }
      if (!synthetic_.host_id.has_value() && !synthetic_.host_name.has_value()) {
        if (auto v = first_field({"Computer"})) synthetic_.host_name.set(*v);
      }
      if (!synthetic_.image_path.has_value()) {
        if (auto v = first_field({"Image", "ProcessName", "NewProcessName", "Process Name"})) synthetic_.image_path.set(*v);
      }
      if (!synthetic_.user_name.present) {
        if (auto v = first_field({"User", "SubjectUserName", "TargetUserName"})) synthetic_.user_name.set(*v);
      }
      env = &synthetic_;
    }
    auto& hits = alert_hits_;
    auto& techniques = techniques_;
    hits.clear();
    techniques.clear();
    for (const auto* r : hits_) {
      // `generate`: a rule a correlation refers to alerts only when one of them says so.
      if (!correlations_->raises_alert(r->id, r->name)) {
        ++stats_.withheld;
        continue;
      }
      rules::hit h;
      h.id = r->id;
      h.title = r->title;
      h.level = severity_of_level(r->level);
      const std::string_view category = sources.front().category;
      h.reason = fmt::format("Sigma rule \"{}\" ({}) matched {}{}", r->title, r->level.empty() ? "no level" : r->level,
                             category.empty() ? "an event" : "a " + std::string(category) + " event",
                             env->image_path.has_value() ? " of " + env->image_path.value : std::string());
      h.evidence.push_back({"rule_file", r->file});
      if (!r->status.empty()) h.evidence.push_back({"status", r->status});
      if (!r->tags.empty()) h.evidence.push_back({"tags", joined(r->tags, ",")});
      h.evidence.push_back({"logsource", fmt::format("{}/{}/{}", r->source.category, r->source.product, r->source.service)});
      if (!r->falsepositives.empty()) h.evidence.push_back({"falsepositives", joined(r->falsepositives, "; ")});
      techniques_of(*r, techniques);
      hits.push_back(std::move(h));
    }
    // One alert per event: a Sigma match is about this record (the second malicious
    // command line of the same powershell.exe on the same host is a detection of its
    // own), so the id keys on the event (host, file, event time to the millisecond), not
    // on (host, file) alone. The same record delivered again, or read in another shape,
    // has the same id and is suppressed as before.
    // Rules whose level is grouped per file (sigma.suppression, by default informational
    // and low) alert once per rule, host and file in a suppression window.
    if (hits.empty()) continue;
    const bool per_file = std::ranges::all_of(hits, [&](const rules::hit& h) {
      return suppression_by_level_[static_cast<std::size_t>(h.level)] == sigma_config::grouping::per_file;
    });
    const std::string_view file = env->sha256.has_value() ? env->sha256.view() : env->image_path.view();
    const std::string group_key = per_file ? fmt::format("file:{}:{}", env->host_key(), file)
                                           : fmt::format("event:{}:{}:{}", env->host_key(), file,
                                                         env->event_time_ms.value_or(0));
    for (auto& h : hits) h.group_key = group_key;
    const std::string id = rules::alert_id(hits, *env, suppression_window_ms_);
    if (!defer_suppression_ && suppression_enabled_ && !suppression_.first_time(id)) {
      ++stats_.suppressed;
      continue;
    }
    if (count == out.size()) out.emplace_back();
    emitted_alert& a = out[count++];
    a.token = token;
    a.deferred = false;
    a.key.assign(env->host_key());
    std::vector<std::string_view> tech(techniques.begin(), techniques.end());
    render_emitted_alert({*env, hits, id, now_ms.value_or(env->event_time_ms.value_or(0)), nullptr, tech, k_version},
                         formats_, a);
    if (!defer_suppression_) ++stats_.alerts;
  }
}

void sigma_stage::admit(std::vector<emitted_alert>& out, std::size_t from, std::size_t& count) {
  std::size_t kept = from;
  for (std::size_t i = from; i < count; ++i) {
    if (suppression_enabled_ && !suppression_.first_time(out[i].id)) {
      ++stats_.suppressed;
      continue;
    }
    if (kept != i) std::swap(out[kept], out[i]);  // slots keep their buffers
    ++kept;
    ++stats_.alerts;
  }
  count = kept;
}

// ---------------------------------------------------------------------------------------
// Coverage probes (`rules check --coverage`, sigma_coverage.cpp): what the tables above
// can give an event, found by running sigma_view itself on probe events, so coverage
// cannot drift from evaluation.

namespace {

constexpr std::int64_t k_max_event_id = 65535;  // Windows event ids are 16-bit

// One probe event in `profile`'s shape: a Windows event log record's system fields where
// that profile reads them (winlog.* for ECS, Event.System for evtx, top level otherwise),
// and ECS's host.os.type.
std::string probe_record(schema_profile profile, std::string_view channel, std::string_view provider,
                         std::optional<std::int64_t> id, std::string_view os) {
  std::string fields;
  const auto add = [&fields](std::string_view name, std::string value) {
    if (!fields.empty()) fields.push_back(',');
    fields += fmt::format("\"{}\":{}", name, value);
  };
  const bool ecs = profile == schema_profile::ecs;
  const bool evtx = profile == schema_profile::evtx;
  if (!channel.empty()) add(ecs ? "channel" : "Channel", fmt::format("\"{}\"", channel));
  if (!provider.empty()) {
    add(ecs ? "provider_name" : evtx ? "Provider" : "Provider_Name",
        evtx ? fmt::format("{{\"#attributes\":{{\"Name\":\"{}\"}}}}", provider) : fmt::format("\"{}\"", provider));
  }
  if (id) add(ecs ? "event_id" : "EventID", std::to_string(*id));
  std::string out = ecs && !fields.empty() ? fmt::format("{{\"winlog\":{{{}}}", fields)
                    : evtx                 ? fmt::format("{{\"Event\":{{\"System\":{{{}}}}}", fields)
                                           : fmt::format("{{{}", fields);
  if (!os.empty()) out += fmt::format("{}\"host\":{{\"os\":{{\"type\":\"{}\"}}}}", out.size() > 1 ? "," : "", os);
  return out + "}";
}

// An observation with every fact sigma_view reads set, of kind `kind`: the fields with
// Sigma names, and those the kind-dependent names read.
rules::observation full_observation(event_kind kind) {
  rules::observation o;
  o.kind = kind;
  rules::for_each_observation_field([&o](const auto& row) {
    if (row.sigma[0].empty()) return;
    auto& v = row.of(o);
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, rules::text_field>) v.set("x");
    else if constexpr (std::is_same_v<std::remove_cvref_t<decltype(v)>, std::optional<std::int64_t>>) v = 1;
  });
  for (auto* f : {&o.image_path, &o.process_path, &o.signature.subject_cn, &o.signature.issuer_cn, &o.ci.process_name}) {
    f->set("x");
  }
  o.signature.exists = true;
  o.signature.status = rules::signature_status::valid;
  o.ci.event_id = 3033;
  return o;
}

constexpr event_kind k_event_kinds[] = {event_kind::unknown,         event_kind::process_start,
                                        event_kind::image_load,      event_kind::driver_load,
                                        event_kind::file_certificate, event_kind::code_integrity,
                                        event_kind::signature_info,  event_kind::policy};

}  // namespace

std::vector<rules::sigma::logsource> probe_logsources(schema_profile profile) {
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  sigma_document doc(64);
  const auto run = [&](const std::string& json, const rules::observation* obs) {
    const simdjson::padded_string padded(json);
    doc.reset(padded.data(), padded.size(), padded.size() + simdjson::SIMDJSON_PADDING, profile);
    const sigma_view view(doc, profile, obs, -1);
    for (const auto& s : view.logsources()) seen.emplace(s.category, s.product, s.service);
  };
  // The event ids each service's categories name (ids not named give no category).
  std::map<std::string_view, std::vector<std::int64_t>> named_ids;
  for (const auto& [channel, service] : k_channels) named_ids.try_emplace(service);
  named_ids.try_emplace("sysmon");
  for (auto& [service, ids] : named_ids) {
    for (std::int64_t id = 1; id <= k_max_event_id; ++id) {
      if (!record_categories(service, id)[0].empty()) ids.push_back(id);
    }
  }
  // Only ECS reads the operating system (host.os.type).
  std::vector<std::string_view> systems = {""};
  if (profile == schema_profile::ecs) systems.insert(systems.end(), {"windows", "linux", "macos"});
  for (const std::string_view os : systems) {
    // Events without a channel: the observation's kind decides.
    const std::string bare = probe_record(profile, {}, {}, std::nullopt, os);
    run(bare, nullptr);
    for (const auto kind : k_event_kinds) {
      const auto obs = full_observation(kind);
      run(bare, &obs);
    }
    // Windows event log records: every channel of the table, with each event id its
    // categories name and one they do not; an unknown channel; Sysmon without channel.
    const auto records = [&](std::string_view channel, std::string_view provider, std::string_view service) {
      run(probe_record(profile, channel, provider, std::nullopt, os), nullptr);
      run(probe_record(profile, channel, provider, 0, os), nullptr);
      const auto it = named_ids.find(service);
      if (it == named_ids.end()) return;
      for (const auto id : it->second) run(probe_record(profile, channel, provider, id, os), nullptr);
    };
    for (const auto& [channel, service] : k_channels) records(channel, {}, service);
    records("Unmapped/Operational", {}, {});
    records({}, "Microsoft-Windows-Sysmon", "sysmon");
  }
  std::vector<rules::sigma::logsource> out;
  for (const auto& [category, product, service] : seen) out.push_back({category, product, service});
  return out;
}

bool probe_field(schema_profile profile, std::string_view field) {
  // Windows event data is reachable by its plain name, and a flat record, an export row or
  // an unknown shape by its own keys: any name can be there. OCSF and SentinelOne name
  // every attribute in lower case or with dots, never as Sigma's Windows names do.
  if (profile != schema_profile::ocsf && profile != schema_profile::sentinelone) return true;
  if (field.find('.') != std::string_view::npos ||
      std::ranges::none_of(field, [](char c) { return c >= 'A' && c <= 'Z'; })) {
    return true;
  }
  for (const auto& a : aliases(profile)) {
    if (a.sigma == field) return true;
  }
  sigma_document doc(1);
  doc.reset(nullptr, 0, 0, profile);
  for (const auto kind : k_event_kinds) {
    const auto obs = full_observation(kind);
    if (sigma_view(doc, profile, &obs, -1).field(field)) return true;
  }
  return false;
}

}  // namespace countersign::processor
