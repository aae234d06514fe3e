#pragma once
// A deterministic mix of Windows events in the Sigma engine's document form (Sigma's own
// field names, as sigma_view presents a record), for bench/sigma_bench.cpp and the rule-set
// equivalence test over the SigmaHQ folder (tests/rules/sigma_sigmahq_test.cpp).
//
// Every logsource the SigmaHQ Windows rules use in numbers: Sysmon process_creation (plus
// Security 4688 under Sigma's names), image_load, driver_load, file_event / file_delete /
// create_stream_hash, registry set / add (with the extra registry_event and
// registry_delete logsources the stage gives them), network_connection, dns_query,
// pipe_created, process_access, create_remote_thread, wmi_event, PowerShell ps_module /
// ps_script (script blocks from 200 B to 16 KiB) / ps_classic_start, and the builtin
// services security, system, application, windefend, firewall-as, taskscheduler, wmi,
// codeintegrity-operational, bits-client. Values are benign and realistic (real Windows
// paths, command lines, registry keys, DNS names). About 1% of the events (`suspicious`)
// take the fields of one selection of a rule that admits them, with the rule's literals
// and wildcards filled in, so some rules match. One seed, same events.
#include <algorithm>
#include <cctype>
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/rules/sigma/sigma.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::bench {

namespace sg = countersign::rules::sigma;

// One event: its logsources (one to three, as sigma_stage derives them) and its fields.
struct mix_event final : sg::sigma_event {
  struct source {
    std::string category, product = "windows", service;
  };
  std::vector<source> sources;
  std::vector<std::pair<std::string, std::string>> fields;

  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override {
    for (const auto& [k, v] : fields)
      if (k == name) return std::string_view(v);
    return std::nullopt;
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (const auto& f : fields) fn(f.second);
  }
  [[nodiscard]] std::vector<sg::event_logsource> logsources() const {
    std::vector<sg::event_logsource> out;
    for (const auto& s : sources) out.push_back({s.category, s.product, s.service});
    return out;
  }
  void set(std::string name, std::string value) {
    for (auto& [k, v] : fields)
      if (k == name) {
        v = std::move(value);
        return;
      }
    fields.emplace_back(std::move(name), std::move(value));
  }
  [[nodiscard]] std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& [k, v] : fields) n += k.size() + v.size();
    return n;
  }
};

// Every .yml/.yaml below `dir`, sorted, loaded; later duplicates of a rule id dropped (as
// sigma_library does). `files` gets the number of rule files.
inline sg::load_result load_rule_folder(const std::string& dir, std::size_t& files) {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    if (entry.is_regular_file() &&
        (entry.path().extension() == ".yml" || entry.path().extension() == ".yaml"))
      paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  files = paths.size();
  sg::load_result all;
  for (const auto& p : paths) {
    auto res = sg::load_rules_file(p);
    for (auto& r : res.rules) all.rules.push_back(std::move(r));
    all.skipped += res.skipped;
    for (auto& d : res.diagnostics) all.diagnostics.push_back(std::move(d));
  }
  std::set<std::string> seen;
  all.skipped += static_cast<std::size_t>(std::erase_if(
      all.rules, [&](const sg::rule& r) { return !r.id.empty() && !seen.insert(r.id).second; }));
  return all;
}

namespace mix_detail {

using strings = std::vector<std::string>;

inline const strings k_users = {"alice", "bob",   "carol", "dave", "erin",
                                "frank", "grace", "heidi", "ivan", "judy"};
inline const strings k_hosts = {"WKS-0142.corp.example",  "WKS-0388.corp.example", "SRV-FS-02.corp.example",
                                "SRV-DC-01.corp.example", "LAP-7731.corp.example", "SRV-SQL-04.corp.example"};
inline const strings k_system_exes = {"svchost.exe",
                                      "conhost.exe",
                                      "dllhost.exe",
                                      "taskhostw.exe",
                                      "RuntimeBroker.exe",
                                      "SearchIndexer.exe",
                                      "wermgr.exe",
                                      "WmiPrvSE.exe",
                                      "backgroundTaskHost.exe",
                                      "sihost.exe",
                                      "ctfmon.exe",
                                      "smartscreen.exe",
                                      "audiodg.exe",
                                      "spoolsv.exe",
                                      "lsass.exe",
                                      "services.exe",
                                      "explorer.exe",
                                      "msiexec.exe",
                                      "cmd.exe",
                                      "powershell.exe",
                                      "rundll32.exe",
                                      "reg.exe",
                                      "sc.exe",
                                      "schtasks.exe",
                                      "tasklist.exe",
                                      "whoami.exe",
                                      "net.exe",
                                      "ipconfig.exe",
                                      "gpupdate.exe",
                                      "wuauclt.exe",
                                      "MpCmdRun.exe",
                                      "consent.exe",
                                      "userinit.exe"};
inline const strings k_apps = {
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Program Files\\Mozilla Firefox\\firefox.exe",
    "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Program Files\\Microsoft VS Code\\Code.exe",
    "C:\\Program Files\\7-Zip\\7zFM.exe",
    "C:\\Program Files\\Notepad++\\notepad++.exe",
    "C:\\Program Files\\Zoom\\bin\\Zoom.exe",
    "C:\\Program Files\\Slack\\slack.exe",
    "C:\\Program Files\\Git\\cmd\\git.exe",
    "C:\\Program Files\\Java\\jre1.8.0_391\\bin\\java.exe",
    "C:\\Program Files\\Windows Defender\\MsMpEng.exe",
    "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe",
    "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe"};
inline const strings k_dlls = {
    "ntdll.dll",   "kernel32.dll", "KernelBase.dll", "user32.dll",       "advapi32.dll",
    "ws2_32.dll",  "crypt32.dll",  "wintrust.dll",   "amsi.dll",         "clr.dll",
    "dbghelp.dll", "combase.dll",  "ole32.dll",      "shell32.dll",      "bcrypt.dll",
    "winhttp.dll", "wininet.dll",  "msvcp140.dll",   "vcruntime140.dll", "uxtheme.dll",
    "dwmapi.dll",  "propsys.dll",  "sspicli.dll",    "mscoree.dll",      "version.dll"};
inline const strings k_args = {
    "-k netsvcs -p -s Schedule",
    "-k LocalServiceNetworkRestricted -p",
    "/d /c \"echo %PATH% > nul\"",
    "--type=renderer --lang=en-US --field-trial-handle=1784,i,1122334455 /prefetch:1",
    "-Embedding",
    "/processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
    "-NoProfile -ExecutionPolicy RemoteSigned -File C:\\Scripts\\inventory.ps1",
    "\"C:\\Users\\alice\\Documents\\Quarterly report.docx\" /o \"\"",
    "/S /norestart",
    "query \"HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" /v ProductName",
    "/query /fo csv /v",
    "/all",
    "/force /target:computer",
    "/detectnow",
    "-ScanType 1 -SignatureUpdate",
    "C:\\Windows\\System32\\shell32.dll,Control_RunDLL",
    "status wuauserv",
    "log --oneline -n 20",
    "--update-from=https://dl.example.com/channel/stable"};
inline const strings k_reg_keys = {
    "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Auto "
    "Update\\LastOnlineScanTimeForAppCategory",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-"
    "1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.docx",
    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-21-1004336348-1177238915-"
    "682003330-1001\\"
    "\\Device\\HarddiskVolume3\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Office\\16."
    "0\\Common\\Roaming\\Identities",
    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces\\{0fe1b6a4-2c1d-4a55-9bd1-"
    "1f2e3a4b5c6d}\\DhcpIPAddress",
    "HKLM\\SOFTWARE\\Microsoft\\Windows "
    "NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Microsoft\\Windows\\UpdateOrchestrator",
    "HKCR\\Local Settings\\Software\\Microsoft\\Windows\\Shell\\MuiCache\\C:\\Program "
    "Files\\7-Zip\\7zFM.exe.FriendlyAppName",
    "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU\\NoAutoUpdate",
    "HKU\\S-1-5-21-1004336348-1177238915-682003330-"
    "1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\ProxyEnable"};
inline const strings k_reg_details = {"DWORD (0x00000001)",
                                      "DWORD (0x00000000)",
                                      "QWORD (0x01da2c4e-0x8f1b2a30)",
                                      "Binary Data",
                                      "C:\\Program Files\\7-Zip\\7zFM.exe",
                                      "7-Zip File Manager",
                                      "(Empty)"};
inline const strings k_domains = {"www.google.com",          "login.microsoftonline.com",
                                  "outlook.office365.com",   "settings-win.data.microsoft.com",
                                  "update.googleapis.com",   "github.com",
                                  "api.slack.com",           "zoom.us",
                                  "ctldl.windowsupdate.com", "wpad.corp.example",
                                  "fs02.corp.example",       "dc01.corp.example",
                                  "cdn.jsdelivr.net",        "ocsp.digicert.com",
                                  "teams.microsoft.com",     "wdcp.microsoft.com",
                                  "edge.microsoft.com"};
inline const strings k_files = {
    "C:\\Users\\{u}\\AppData\\Local\\Temp\\{h}.tmp",
    "C:\\Users\\{u}\\Documents\\Budget 2026.xlsx",
    "C:\\Users\\{u}\\Downloads\\setup-{h}.msi",
    "C:\\Users\\{u}\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Cache\\Cache_Data\\f_{h}",
    "C:\\Windows\\Prefetch\\SVCHOST.EXE-{h}.pf",
    "C:\\Windows\\SoftwareDistribution\\Download\\{h}\\update.cab",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\Service\\{h}.log",
    "C:\\Users\\{u}\\AppData\\Roaming\\Microsoft\\Windows\\Recent\\report.lnk",
    "C:\\Windows\\Temp\\MpCmdRun.log"};
inline const strings k_pipes = {"\\lsass",
                                "\\ntsvcs",
                                "\\srvsvc",
                                "\\wkssvc",
                                "\\Winsock2\\CatalogChangeListener-2a4-0",
                                "\\mojo.5432.8876.1234567890",
                                "\\PSHost.133456789.4321.DefaultAppDomain.powershell",
                                "\\chrome.sync.1234.5678.90",
                                "\\MsFteWds",
                                "\\SQLLocal\\MSSQLSERVER"};
inline const strings k_ps_lines = {
    "$ErrorActionPreference = 'Stop'",
    "Import-Module ActiveDirectory",
    "$computers = Get-ADComputer -Filter * -SearchBase 'OU=Workstations,DC=corp,DC=example'",
    "foreach ($c in $computers) { Test-Connection -ComputerName $c.Name -Count 1 -Quiet }",
    "Get-ChildItem -Path $env:TEMP -Recurse | Where-Object { $_.LastWriteTime -lt (Get-Date).AddDays(-7) } | "
    "Remove-Item",
    "$log = Join-Path $PSScriptRoot 'inventory.log'",
    "Write-Output \"Collected $($items.Count) items\" | Out-File -FilePath $log -Append",
    "function Get-DiskReport { param([string]$Drive = 'C:') Get-PSDrive $Drive.TrimEnd(':') }",
    "$session = New-CimSession -ComputerName $env:COMPUTERNAME",
    "Get-CimInstance -ClassName Win32_OperatingSystem -CimSession $session | Select-Object Caption, Version",
    "if ($PSVersionTable.PSVersion.Major -lt 5) { throw 'PowerShell 5 or later required' }",
    "$settings = Get-Content -Raw -Path 'C:\\ProgramData\\Agent\\settings.json' | ConvertFrom-Json",
    "Set-Location -Path 'C:\\Program Files\\Agent'",
    "Start-Sleep -Milliseconds 250",
    "[System.Net.ServicePointManager]::SecurityProtocol = [System.Net.SecurityProtocolType]::Tls12",
    "$body = @{ host = $env:COMPUTERNAME; status = 'ok' } | ConvertTo-Json",
    "try { $r = Invoke-RestMethod -Uri 'https://inventory.corp.example/api/v1/report' -Method Post -Body "
    "$body } catch { Write-Warning $_ }",
    "Get-Service | Where-Object Status -eq 'Running' | Sort-Object DisplayName",
    "# Copyright (c) Microsoft Corporation. All rights reserved.",
    "Register-ArgumentCompleter -Native -CommandName winget -ScriptBlock { param($wordToComplete) }",
    "$ProgressPreference = 'SilentlyContinue'",
    "Export-ModuleMember -Function Get-DiskReport"};

// Splits a rule value piece list into a value: literals as written, '*' as a filler.
inline std::string fill_pieces(const std::vector<sg::value_matcher::piece>& ps, std::mt19937_64& rng) {
  std::string out;
  for (const auto& p : ps) {
    switch (p.t) {
      case sg::value_matcher::piece::type::literal:
        out += p.text;
        break;
      case sg::value_matcher::piece::type::star:
        out += (rng() % 2) ? "C:\\Users\\bob\\" : " x ";
        break;
      case sg::value_matcher::piece::type::qmark:
        out += 'a';
        break;
    }
  }
  return out;
}

}  // namespace mix_detail

class windows_event_mix {
 public:
  // `rules` supply the vocabulary of the suspicious events (may be empty).
  windows_event_mix(const std::vector<sg::rule>& rules, std::uint64_t seed) : rules_(rules), rng_(seed) {}

  std::vector<mix_event> make(std::size_t n) {
    std::vector<mix_event> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(next());
    return out;
  }

  mix_event next() {
    mix_event e = benign();
    if (below(100) == 0) suspicious(e);
    return e;
  }

 private:
  const std::vector<sg::rule>& rules_;
  std::mt19937_64 rng_;
  std::uint64_t record_ = 1000;

  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  bool chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }
  const std::string& pick(const mix_detail::strings& v) { return v[below(v.size())]; }
  std::string hex(std::size_t n) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string s(n, '0');
    for (char& c : s) c = digits[rng_() % 16];
    return s;
  }
  std::string guid() {
    return "{" + hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12) + "}";
  }
  std::string user() { return pick(mix_detail::k_users); }
  std::string number(std::size_t lo, std::size_t hi) { return std::to_string(lo + below(hi - lo + 1)); }
  std::string ip() { return "10." + number(0, 40) + "." + number(0, 255) + "." + number(1, 254); }
  std::string public_ip() {
    return number(13, 200) + "." + number(0, 255) + "." + number(0, 255) + "." + number(1, 254);
  }
  std::string substitute(std::string s) {
    for (std::size_t at; (at = s.find("{u}")) != std::string::npos;) s.replace(at, 3, user());
    for (std::size_t at; (at = s.find("{h}")) != std::string::npos;) s.replace(at, 3, hex(8));
    return s;
  }
  std::string system_exe() { return "C:\\Windows\\System32\\" + pick(mix_detail::k_system_exes); }
  std::string any_exe() {
    if (chance(55)) return system_exe();
    if (chance(80)) return pick(mix_detail::k_apps);
    return "C:\\Users\\" + user() + "\\AppData\\Local\\Programs\\tool" + number(1, 60) + "\\tool" +
           number(1, 60) + ".exe";
  }
  std::string file_name(std::string_view path) {
    const auto at = path.rfind('\\');
    return std::string(at == std::string_view::npos ? path : path.substr(at + 1));
  }
  std::string hashes() {
    return "SHA1=" + hex(40) + ",MD5=" + hex(32) + ",SHA256=" + hex(64) + ",IMPHASH=" + hex(32);
  }

  mix_event sysmon(std::string category, int id) {
    mix_event e;
    e.sources.push_back({std::move(category), "windows", "sysmon"});
    e.set("EventID", std::to_string(id));
    e.set("Channel", "Microsoft-Windows-Sysmon/Operational");
    e.set("Provider_Name", "Microsoft-Windows-Sysmon");
    e.set("Computer", pick(mix_detail::k_hosts));
    e.set("RuleName", "-");
    e.set("UtcTime", "2026-11-" + number(10, 28) + " " + number(10, 23) + ":" + number(10, 59) + ":" +
                         number(10, 59) + ".123");
    return e;
  }
  mix_event builtin(std::string service, std::string channel, std::string provider, int id,
                    std::string category = {}) {
    mix_event e;
    e.sources.push_back({std::move(category), "windows", std::move(service)});
    e.set("EventID", std::to_string(id));
    e.set("Channel", std::move(channel));
    e.set("Provider_Name", std::move(provider));
    e.set("Computer", pick(mix_detail::k_hosts));
    return e;
  }
  void process_fields(mix_event& e, const std::string& image) {
    e.set("ProcessGuid", guid());
    e.set("ProcessId", number(400, 30000));
    e.set("Image", image);
    e.set("User", "CORP\\" + user());
  }

  std::string command_line(const std::string& image) {
    std::string cli = image.find(' ') != std::string::npos ? "\"" + image + "\"" : image;
    return cli + " " + pick(mix_detail::k_args);
  }

  mix_event process_creation() {
    if (chance(10)) {  // Security 4688, under Sigma's names
      const std::string image = any_exe(), parent = any_exe();
      mix_event e =
          builtin("security", "Security", "Microsoft-Windows-Security-Auditing", 4688, "process_creation");
      e.set("Image", image);
      e.set("ParentImage", parent);
      e.set("CommandLine", command_line(image));
      e.set("ProcessId", number(400, 30000));
      e.set("ParentProcessId", number(400, 30000));
      e.set("User", "CORP\\" + user());
      e.set("SubjectUserName", user());
      e.set("SubjectDomainName", "CORP");
      e.set("SubjectLogonId", "0x" + hex(6));
      e.set("IntegrityLevel", chance(80) ? "S-1-16-8192" : "S-1-16-12288");
      e.set("TokenElevationType", "%%1938");
      return e;
    }
    const std::string image = any_exe(), parent = chance(40) ? "C:\\Windows\\explorer.exe" : any_exe();
    mix_event e = sysmon("process_creation", 1);
    process_fields(e, image);
    e.set("FileVersion", number(1, 20) + "." + number(0, 9) + "." + number(1000, 26000) + ".1");
    e.set("Description", file_name(image) + " application");
    e.set("Product", image.find("System32") != std::string::npos ? "Microsoft® Windows® Operating System"
                                                                 : "Vendor product");
    e.set("Company", image.find("System32") != std::string::npos ? "Microsoft Corporation" : "Vendor Inc.");
    e.set("OriginalFileName", file_name(image));
    e.set("CommandLine", command_line(image));
    e.set("CurrentDirectory", chance(60) ? "C:\\Windows\\system32\\" : "C:\\Users\\" + user() + "\\");
    e.set("LogonGuid", guid());
    e.set("LogonId", "0x" + hex(6));
    e.set("TerminalSessionId", number(0, 3));
    e.set("IntegrityLevel", chance(75) ? "Medium" : chance(70) ? "High" : "System");
    e.set("Hashes", hashes());
    e.set("ParentProcessGuid", guid());
    e.set("ParentProcessId", number(400, 30000));
    e.set("ParentImage", parent);
    e.set("ParentCommandLine", command_line(parent));
    e.set("ParentUser", "CORP\\" + user());
    return e;
  }

  mix_event image_or_driver_load(bool driver) {
    mix_event e = sysmon(driver ? "driver_load" : "image_load", driver ? 6 : 7);
    const bool microsoft = chance(85);
    if (driver) {
      e.set("ImageLoaded", "C:\\Windows\\System32\\drivers\\" + std::string(chance(50) ? "ndis" : "drv") +
                               number(1, 300) + ".sys");
    } else {
      process_fields(e, any_exe());
      const std::string dll = pick(mix_detail::k_dlls);
      e.set("ImageLoaded",
            microsoft ? "C:\\Windows\\System32\\" + dll : "C:\\Program Files\\Vendor\\bin\\" + dll);
      e.set("FileVersion", "10.0." + number(17000, 26000) + ".1");
      e.set("Description", dll);
      e.set("Product", microsoft ? "Microsoft® Windows® Operating System" : "Vendor product");
      e.set("Company", microsoft ? "Microsoft Corporation" : "Vendor Inc.");
      e.set("OriginalFileName", dll);
    }
    e.set("Hashes", hashes());
    e.set("Signed", chance(97) ? "true" : "false");
    e.set("Signature", microsoft ? "Microsoft Windows" : "Vendor Inc.");
    e.set("SignatureStatus", chance(98) ? "Valid" : "Expired");
    return e;
  }

  mix_event file_event(int kind) {  // 0 file_event, 1 file_delete, 2 create_stream_hash
    static const char* const k_cats[] = {"file_event", "file_delete", "create_stream_hash"};
    static const int k_ids[] = {11, 23, 15};
    mix_event e = sysmon(k_cats[kind], k_ids[kind]);
    process_fields(e, any_exe());
    e.set("TargetFilename", substitute(pick(mix_detail::k_files)));
    e.set("CreationUtcTime", "2026-11-20 08:15:" + number(10, 59) + ".000");
    if (kind == 1) {
      e.set("Hashes", hashes());
      e.set("IsExecutable", "false");
      e.set("Archived", "false");
    }
    if (kind == 2) {
      e.set("Hash", hashes());
      e.set("Contents", "[ZoneTransfer]  ZoneId=3  HostUrl=https://" + pick(mix_detail::k_domains) + "/");
    }
    return e;
  }

  mix_event registry(bool set) {
    mix_event e = sysmon(set ? "registry_set" : "registry_add", set ? 13 : 12);
    e.sources.push_back({"registry_event", "windows", "sysmon"});
    if (!set) e.sources.push_back({"registry_delete", "windows", "sysmon"});
    process_fields(e, any_exe());
    e.set("EventType", set ? "SetValue" : "CreateKey");
    e.set("TargetObject", pick(mix_detail::k_reg_keys));
    if (set) e.set("Details", pick(mix_detail::k_reg_details));
    return e;
  }

  mix_event network() {
    mix_event e = sysmon("network_connection", 3);
    process_fields(e, any_exe());
    e.set("Protocol", chance(90) ? "tcp" : "udp");
    e.set("Initiated", chance(85) ? "true" : "false");
    e.set("SourceIsIpv6", "false");
    e.set("SourceIp", ip());
    e.set("SourceHostname", pick(mix_detail::k_hosts));
    e.set("SourcePort", number(49152, 65535));
    e.set("DestinationIsIpv6", "false");
    e.set("DestinationIp", chance(50) ? public_ip() : ip());
    e.set("DestinationHostname", pick(mix_detail::k_domains));
    const bool https = chance(80);
    e.set("DestinationPort", https ? "443" : chance(50) ? "445" : "53");
    e.set("DestinationPortName", https ? "https" : "-");
    return e;
  }

  mix_event dns() {
    mix_event e = sysmon("dns_query", 22);
    process_fields(e, any_exe());
    e.set("QueryName", pick(mix_detail::k_domains));
    e.set("QueryStatus", "0");
    e.set("QueryResults", "::ffff:" + public_ip() + ";");
    return e;
  }

  mix_event pipe() {
    mix_event e = sysmon("pipe_created", 17);
    process_fields(e, any_exe());
    e.set("EventType", "CreatePipe");
    e.set("PipeName", pick(mix_detail::k_pipes));
    return e;
  }

  mix_event process_access(bool remote_thread) {
    mix_event e = sysmon(remote_thread ? "create_remote_thread" : "process_access", remote_thread ? 8 : 10);
    e.set("SourceProcessGuid", guid());
    e.set("SourceProcessId", number(400, 30000));
    e.set("SourceImage", any_exe());
    e.set("TargetProcessGuid", guid());
    e.set("TargetProcessId", number(400, 30000));
    e.set("TargetImage", any_exe());
    if (remote_thread) {
      e.set("NewThreadId", number(400, 30000));
      e.set("StartAddress", "0x00007FF" + hex(9));
      e.set("StartModule", "C:\\Windows\\System32\\" + pick(mix_detail::k_dlls));
      e.set("StartFunction", chance(50) ? "LoadLibraryW" : "-");
    } else {
      e.set("GrantedAccess", chance(60) ? "0x1000" : chance(50) ? "0x1400" : "0x101541");
      e.set("CallTrace",
            "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|"
            "C:\\Windows\\System32\\" +
                pick(mix_detail::k_dlls) + "+" + hex(5));
      e.set("SourceUser", "CORP\\" + user());
      e.set("TargetUser", "NT AUTHORITY\\SYSTEM");
    }
    return e;
  }

  mix_event wmi_event() {
    mix_event e = sysmon("wmi_event", 19 + static_cast<int>(below(3)));
    e.set("EventType", "WmiFilterEvent");
    e.set("Operation", "Created");
    e.set("User", "CORP\\" + user());
    e.set("EventNamespace", "\"root\\\\cimv2\"");
    e.set("Name", "\"SCM Event Log Filter\"");
    e.set("Query",
          "\"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_Service'\"");
    return e;
  }

  std::string script_block() {
    // Mostly short, some long (up to 16 KiB): PowerShell splits blocks at about 16 KiB.
    const std::size_t target = chance(80)   ? 200 + below(1200)
                               : chance(70) ? 2000 + below(6000)
                                            : 12000 + below(4384);
    std::string s;
    while (s.size() < target) s += pick(mix_detail::k_ps_lines) + "\r\n";
    return s;
  }

  mix_event powershell() {
    const auto roll = below(100);
    if (roll < 55) {
      mix_event e = builtin("powershell", "Microsoft-Windows-PowerShell/Operational",
                            "Microsoft-Windows-PowerShell", 4104, "ps_script");
      e.set("MessageNumber", "1");
      e.set("MessageTotal", "1");
      e.set("ScriptBlockText", script_block());
      e.set("ScriptBlockId", guid());
      e.set("Path", chance(50) ? "C:\\Scripts\\inventory.ps1" : "");
      return e;
    }
    if (roll < 85) {
      mix_event e = builtin("powershell", "Microsoft-Windows-PowerShell/Operational",
                            "Microsoft-Windows-PowerShell", 4103, "ps_module");
      e.set("ContextInfo",
            "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Version = "
            "5.1.19041.4291\r\n"
            "        Host ID = " +
                guid() +
                "\r\n        Host Application = "
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile\r\n"
                "        Engine Version = 5.1.19041.4291\r\n        Runspace ID = " +
                guid() + "\r\n        Pipeline ID = " + number(1, 90) +
                "\r\n        Command Name = Get-ChildItem\r\n        Command Type = Cmdlet\r\n        Script "
                "Name = \r\n        Command Path = \r\n"
                "        Sequence Number = " +
                number(10, 900) + "\r\n        User = CORP\\" + user() +
                "\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n");
      e.set("Payload",
            "CommandInvocation(Get-ChildItem): \"Get-ChildItem\"\r\nParameterBinding(Get-ChildItem): "
            "name=\"Path\"; value=\"C:\\Users\\" +
                user() + "\\Documents\"");
      return e;
    }
    mix_event e = builtin("powershell-classic", "Windows PowerShell", "PowerShell", 400, "ps_classic_start");
    e.set("Data",
          "Available\nNone\n\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber="
          "13\r\n\r\n"
          "\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.4291\r\n\tHostId=" +
              guid() +
              "\r\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe "
              "-NoProfile -File C:\\Scripts\\inventory.ps1\r\n"
              "\tEngineVersion=5.1.19041.4291\r\n\tRunspaceId=" +
              guid() + "\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n");
    return e;
  }

  mix_event security() {
    const auto roll = below(100);
    const int id = roll < 35   ? 4624
                   : roll < 45 ? 4634
                   : roll < 55 ? 4672
                   : roll < 65 ? 4663
                   : roll < 75 ? 5145
                   : roll < 82 ? 4625
                   : roll < 88 ? 4769
                   : roll < 92 ? 4768
                   : roll < 96 ? 5156
                   : roll < 98 ? 4697
                               : 4698;
    mix_event e = builtin("security", "Security", "Microsoft-Windows-Security-Auditing", id);
    e.set("SubjectUserSid", "S-1-5-18");
    e.set("SubjectUserName", chance(50) ? "WKS-0142$" : user());
    e.set("SubjectDomainName", "CORP");
    e.set("SubjectLogonId", "0x3e7");
    switch (id) {
      case 4624:
      case 4625:
      case 4634:
        e.set("TargetUserName", user());
        e.set("TargetDomainName", "CORP");
        e.set("LogonType", chance(50) ? "3" : chance(50) ? "2" : "10");
        e.set("LogonProcessName", "NtLmSsp ");
        e.set("AuthenticationPackageName", chance(70) ? "Kerberos" : "NTLM");
        e.set("WorkstationName", "WKS-0" + number(100, 999));
        e.set("IpAddress", ip());
        e.set("IpPort", number(49152, 65535));
        e.set("ProcessName", chance(50) ? "C:\\Windows\\System32\\lsass.exe" : "-");
        break;
      case 4672:
        e.set("PrivilegeList", "SeSecurityPrivilege\r\n\t\t\tSeBackupPrivilege\r\n\t\t\tSeRestorePrivilege");
        break;
      case 4663:
        e.set("ObjectServer", "Security");
        e.set("ObjectType", "File");
        e.set("ObjectName", substitute(pick(mix_detail::k_files)));
        e.set("AccessList", "%%4416");
        e.set("AccessMask", "0x1");
        e.set("ProcessName", any_exe());
        break;
      case 5145:
        e.set("ShareName", chance(50) ? "\\\\*\\IPC$" : "\\\\*\\SYSVOL");
        e.set("RelativeTargetName",
              chance(50) ? "srvsvc"
                         : "corp.example\\Policies\\{31B2F340-016D-11D2-945F-00C04FB984F9}\\GPT.INI");
        e.set("AccessList", "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416");
        e.set("IpAddress", ip());
        break;
      case 4768:
      case 4769:
        e.set("TargetUserName", user() + "@CORP.EXAMPLE");
        e.set("ServiceName", chance(50) ? "krbtgt" : "SRV-FS-02$");
        e.set("TicketEncryptionType", "0x12");
        e.set("TicketOptions", "0x40810000");
        e.set("IpAddress", "::ffff:" + ip());
        e.set("Status", "0x0");
        break;
      case 5156:
        e.set("Application", "\\device\\harddiskvolume3\\windows\\system32\\svchost.exe");
        e.set("Direction", "%%14593");
        e.set("SourceAddress", ip());
        e.set("DestAddress", public_ip());
        e.set("DestPort", "443");
        break;
      case 4697:
        e.set("ServiceName", "Vendor Update Service");
        e.set("ServiceFileName", "\"C:\\Program Files\\Vendor\\update.exe\" /service");
        e.set("ServiceType", "0x10");
        e.set("ServiceStartType", "2");
        break;
      case 4698:
        e.set("TaskName", "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan");
        e.set("TaskContent",
              "<?xml version=\"1.0\" "
              "encoding=\"UTF-16\"?><Task><Actions><Exec><Command>%systemroot%\\system32\\usoclient.exe</"
              "Command><Arguments>StartScan</Arguments></Exec></Actions></Task>");
        break;
      default:
        break;
    }
    return e;
  }

  mix_event other_builtin() {
    const auto roll = below(100);
    if (roll < 30) {
      const bool install = chance(20);
      mix_event e = builtin("system", "System", "Service Control Manager", install ? 7045 : 7036);
      if (install) {
        e.set("ServiceName", "Vendor Update Service");
        e.set("ImagePath", "\"C:\\Program Files\\Vendor\\update.exe\" /service");
        e.set("ServiceType", "user mode service");
        e.set("StartType", "auto start");
        e.set("AccountName", "LocalSystem");
      } else {
        e.set("param1", chance(50) ? "Windows Update" : "Background Intelligent Transfer Service");
        e.set("param2", chance(50) ? "running" : "stopped");
      }
      return e;
    }
    if (roll < 45) {
      mix_event e = builtin("application", "Application", chance(50) ? "Application Error" : "MsiInstaller",
                            chance(50) ? 1000 : 11707);
      e.set("Data", "Faulting application name: " + file_name(any_exe()) +
                        ", version: 10.0.19041.1, time stamp: 0x" + hex(8));
      return e;
    }
    if (roll < 60) {
      mix_event e = builtin("windefend", "Microsoft-Windows-Windows Defender/Operational",
                            "Microsoft-Windows-Windows Defender", chance(70) ? 5007 : 1150);
      e.set("Product Name", "Microsoft Defender Antivirus");
      e.set("Product Version", "4.18.24010.12");
      e.set("NewValue",
            "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignatureType = 0x1");
      e.set("OldValue", "");
      return e;
    }
    if (roll < 72) {
      mix_event e =
          builtin("firewall-as", "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
                  "Microsoft-Windows-Windows Firewall With Advanced Security", chance(60) ? 2004 : 2006);
      e.set("RuleId", guid());
      e.set("RuleName", "Google Chrome (mDNS-In)");
      e.set("ApplicationPath", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe");
      e.set("Direction", "1");
      e.set("Action", "3");
      e.set("ModifyingUser", "S-1-5-18");
      e.set("ModifyingApplication", "C:\\Windows\\System32\\svchost.exe");
      return e;
    }
    if (roll < 82) {
      mix_event e = builtin("taskscheduler", "Microsoft-Windows-TaskScheduler/Operational",
                            "Microsoft-Windows-TaskScheduler", chance(50) ? 200 : 201);
      e.set("TaskName", "\\Microsoft\\Windows\\UpdateOrchestrator\\Schedule Scan");
      e.set("ActionName", "C:\\Windows\\system32\\usoclient.exe");
      e.set("TaskInstanceId", guid());
      e.set("ResultCode", "0");
      return e;
    }
    if (roll < 88) {
      mix_event e = builtin("wmi", "Microsoft-Windows-WMI-Activity/Operational",
                            "Microsoft-Windows-WMI-Activity", 5857);
      e.set("ProviderName", "CIMWin32");
      e.set("Code", "0x0");
      e.set("HostProcess", "wmiprvse.exe");
      e.set("ProcessID", number(400, 30000));
      e.set("ProviderPath", "%systemroot%\\system32\\wbem\\cimwin32.dll");
      return e;
    }
    if (roll < 96) {
      mix_event e = builtin("codeintegrity-operational", "Microsoft-Windows-CodeIntegrity/Operational",
                            "Microsoft-Windows-CodeIntegrity", chance(60) ? 3089 : 3033);
      e.set("FileNameBuffer",
            "\\Device\\HarddiskVolume3\\Program Files\\Vendor\\bin\\" + pick(mix_detail::k_dlls));
      e.set("ProcessNameBuffer", "\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe");
      e.set("RequestedPolicy", chance(50) ? "8" : "12");
      e.set("ValidatedPolicy", "1");
      e.set("Status", "0xc0000428");
      return e;
    }
    mix_event e = builtin("bits-client", "Microsoft-Windows-Bits-Client/Operational",
                          "Microsoft-Windows-Bits-Client", 59);
    e.set("transferId", guid());
    e.set("name", "Microsoft Edge Update");
    e.set("url", "https://msedge.b.tlu.dl.delivery.mp.microsoft.com/filestreamingservice/files/" + hex(12));
    e.set("fileTime", "2026-11-20T08:15:00.000Z");
    return e;
  }

  mix_event benign() {
    const auto roll = below(1000);
    mix_event e = roll < 220   ? process_creation()
                  : roll < 400 ? image_or_driver_load(false)
                  : roll < 405 ? image_or_driver_load(true)
                  : roll < 470 ? file_event(0)
                  : roll < 480 ? file_event(1)
                  : roll < 483 ? file_event(2)
                  : roll < 580 ? registry(true)
                  : roll < 610 ? registry(false)
                  : roll < 680 ? network()
                  : roll < 730 ? dns()
                  : roll < 745 ? pipe()
                  : roll < 775 ? process_access(false)
                  : roll < 778 ? process_access(true)
                  : roll < 780 ? wmi_event()
                  : roll < 850 ? powershell()
                  : roll < 950 ? security()
                               : other_builtin();
    e.set("RecordID", std::to_string(++record_));
    return e;
  }

  static bool admits(const std::string& want, std::string_view have) {
    if (want.size() != have.size() && !want.empty()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(want[i])) !=
          std::tolower(static_cast<unsigned char>(have[i])))
        return false;
    return true;
  }

  // The fields of one selection of a rule admitting `e`, with its literals filled in.
  void suspicious(mix_event& e) {
    if (rules_.empty()) return;
    for (int attempt = 0; attempt < 200; ++attempt) {
      const sg::rule& r = rules_[below(rules_.size())];
      bool admitted = false;
      for (const auto& s : e.sources)
        admitted = admitted || (admits(r.source.category, s.category) &&
                                admits(r.source.product, s.product) && admits(r.source.service, s.service));
      if (!admitted || r.searches.empty()) continue;
      const auto& search = r.searches[below(r.searches.size())];
      if (search.alternatives.empty()) continue;
      for (const auto& fc : search.alternatives[below(search.alternatives.size())]) {
        if (fc.values.empty()) continue;
        std::string value;
        const std::size_t groups = fc.all ? fc.values.size() : 1;
        for (std::size_t g = 0; g < groups; ++g) {
          const auto& group = fc.values[fc.all ? g : below(fc.values.size())];
          if (group.empty()) continue;
          const auto& m = group[below(group.size())];
          if (m.k != sg::value_matcher::kind::glob) continue;
          value += (value.empty() ? "" : " ") + mix_detail::fill_pieces(m.pieces, rng_);
        }
        if (value.empty()) continue;
        e.set(fc.field.empty() ? "Data" : fc.field, std::move(value));
      }
      return;
    }
  }
};

}  // namespace countersign::bench
