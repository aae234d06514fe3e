// sigma::rule_set throughput: generated Sigma rules (1, 100, 1000) over generated Windows
// events, with the logsource index and literal prefilter (rule_set::evaluate) and naively
// (every rule whose logsource admits the event, through sigma::matches()). One thread.
//
//   build/ruleset/bench/countersign_bench_sigma [EVENTS [prefilter]]   (default 200000)
//   ("prefilter" skips the naive runs, e.g. under a profiler)
//
// Rules come from templates modelled on SigmaHQ's process_creation, image_load,
// driver_load and codeintegrity-operational rules (Image|endswith with CommandLine|contains
// lists, OriginalFileName, ParentImage, Hashes|contains, Signature/SignatureStatus,
// Company, |windash, regexes, `not` filters), loaded through sigma::load_rules. Events are
// mostly benign process starts, image and driver loads; about 1% are built from the same
// suspicious vocabulary as the rules, so some of them match. Everything comes from one
// fixed seed, so runs compare.
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/rules/sigma/sigma.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace sg = countersign::rules::sigma;

// ---- vocabulary ----------------------------------------------------------------------

const std::vector<std::string> k_lolbins = {
    "cmd.exe",      "powershell.exe", "pwsh.exe",       "rundll32.exe",  "regsvr32.exe",  "mshta.exe",
    "wscript.exe",  "cscript.exe",    "certutil.exe",   "bitsadmin.exe", "msiexec.exe",   "wmic.exe",
    "schtasks.exe", "reg.exe",        "net.exe",        "net1.exe",      "whoami.exe",    "nltest.exe",
    "vssadmin.exe", "wevtutil.exe",   "bcdedit.exe",    "installutil.exe", "regasm.exe",  "msbuild.exe",
    "cmstp.exe",    "forfiles.exe",   "odbcconf.exe",   "hh.exe",        "esentutl.exe",  "expand.exe",
    "findstr.exe",  "makecab.exe",    "curl.exe",       "tar.exe",       "sc.exe",        "taskkill.exe"};
const std::vector<std::string> k_tool_heads = {"Sharp", "Rubeus", "Kerb", "Cred", "Lsa",  "Token", "Dump", "Inject",
                                               "Spoof", "Sys",    "Win",  "Net",  "Ad",   "Priv",  "Proc", "Shadow"};
const std::vector<std::string> k_tool_tails = {"Hound", "Dump", "Exec",  "Spray", "Roast", "Kat",
                                               "Loader", "View", "Steal", "Shell", "Pwn",   "Relay"};
const std::vector<std::string> k_fragments = {
    "-encodedcommand", " -enc ",          "downloadstring",    "invoke-expression", "iex(",
    "frombase64string", "/c whoami",      "sekurlsa::",        "lsass",             "comsvcs.dll",
    "minidump",         "delete shadows", "/transfer",         "-urlcache",         "-decode",
    "javascript:",      "vbscript:",      "\\\\.\\pipe\\",     "add-mppreference",  "-exclusionpath",
    "-windowstyle hidden", "bypass",      "net user /add",     "localgroup administrators",
    "reg save hklm\\sam", "procdump -ma", "/domain_trusts",    "shadowcopy delete", "recoveryenabled no",
    "clear-eventlog"};
const std::vector<std::string> k_parents_office = {"\\winword.exe", "\\excel.exe", "\\powerpnt.exe",
                                                   "\\outlook.exe", "\\msaccess.exe", "\\mspub.exe"};
const std::vector<std::string> k_benign_system = {"svchost.exe", "conhost.exe", "cmd.exe",      "powershell.exe",
                                                  "taskhostw.exe", "dllhost.exe", "rundll32.exe", "msiexec.exe",
                                                  "SearchProtocolHost.exe", "wermgr.exe", "backgroundTaskHost.exe"};
const std::vector<std::string> k_vendors = {"Google",  "Mozilla", "Adobe",  "Zoom",   "Slack",    "JetBrains",
                                            "Oracle",  "Cisco",   "VMware", "Citrix", "Dropbox",  "Notepad++"};
const std::vector<std::string> k_benign_args = {"-k netsvcs -p",   "/d /c echo ok", "--type=renderer",
                                                "-Embedding",      "/processid:{4A5B}", "--update",
                                                "-NoProfile -File C:\\Scripts\\inventory.ps1",
                                                "C:\\Users\\alice\\Documents\\report.docx", "/S /norestart",
                                                "--no-sandbox --lang=en-US"};
const std::vector<std::string> k_dlls = {"ntdll.dll", "kernel32.dll", "user32.dll", "advapi32.dll", "ws2_32.dll",
                                         "crypt32.dll", "wintrust.dll", "amsi.dll", "clr.dll", "dbghelp.dll"};

struct gen {
  std::mt19937_64 rng;
  explicit gen(std::uint64_t seed) : rng(seed) {}
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng() % n); }
  bool chance(int percent) { return static_cast<int>(rng() % 100) < percent; }
  const std::string& pick(const std::vector<std::string>& v) { return v[below(v.size())]; }
  std::string hex(std::size_t n) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string s(n, '0');
    for (char& c : s) c = digits[rng() % 16];
    return s;
  }
  std::string hacktool() { return pick(k_tool_heads) + pick(k_tool_tails) + std::to_string(below(40)) + ".exe"; }
  std::string fragment() { return chance(50) ? pick(k_fragments) : "--" + hex(6) + "-x"; }
  std::string suspicious_image() { return chance(50) ? pick(k_lolbins) : hacktool(); }
};

// YAML single-quoted scalar.
std::string q(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string list(gen& g, std::size_t n, auto&& item) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += "      - " + q(item(g)) + "\n";
  return out;
}

// ---- rules ---------------------------------------------------------------------------

const char* const k_proc = "  category: process_creation\n  product: windows\n";
const char* const k_image_load = "  category: image_load\n  product: windows\n";
const char* const k_driver = "  category: driver_load\n  product: windows\n";
const char* const k_ci = "  product: windows\n  service: codeintegrity-operational\n";

std::string rule_yaml(gen& g, int i) {
  std::string logsource = k_proc, det, condition = "sel";
  switch (i % 10) {
    case 0:
    case 1:  // tool with suspicious arguments, often minus a Program Files parent
      det = "  sel:\n    Image|endswith: " + q("\\" + g.suspicious_image()) + "\n    CommandLine|contains:\n" +
            list(g, 1 + g.below(4), [](gen& x) { return x.fragment(); });
      if (g.chance(30)) {
        det += "  filter:\n    ParentImage|startswith: 'C:\\Program Files\\'\n";
        condition = "sel and not filter";
      }
      break;
    case 2:  // renamed binary: image or original name, plus arguments
      det = "  sel_img:\n    - Image|endswith: " + q("\\" + g.pick(k_lolbins)) + "\n    - OriginalFileName: " +
            q(g.hacktool()) + "\n  sel_cli:\n    CommandLine|contains|all:\n" +
            list(g, 2, [](gen& x) { return x.fragment(); });
      condition = "all of sel_*";
      break;
    case 3:  // office spawning a script host
      det = "  sel:\n    ParentImage|endswith:\n" + list(g, 3, [](gen& x) { return x.pick(k_parents_office); }) +
            "    Image|endswith:\n" + list(g, 2, [](gen& x) { return "\\" + x.pick(k_lolbins); });
      break;
    case 4:  // known-bad hashes
      logsource = g.chance(50) ? k_proc : k_driver;
      det = "  sel:\n    Hashes|contains:\n" +
            list(g, 3 + g.below(8), [](gen& x) { return (x.chance(50) ? "SHA256=" : "IMPHASH=") + x.hex(32); });
      break;
    case 5:  // vulnerable or abused driver, signer-based
      logsource = k_driver;
      det = "  sel_name:\n    ImageLoaded|endswith: " + q("\\" + g.hex(6) + ".sys") + "\n  sel_sig:\n    Signature: " +
            q("Abused Signer " + g.hex(4) + " Ltd") + "\n    SignatureStatus: 'Expired'\n";
      condition = "1 of sel_*";
      break;
    case 6:  // DLL side-loading: a DLL from a writable path, unsigned
      logsource = k_image_load;
      det = "  sel:\n    ImageLoaded|endswith: " + q("\\" + g.hex(5) + ".dll") +
            "\n  filter:\n    SignatureStatus: 'Valid'\n    Signature: 'Microsoft Windows'\n";
      condition = "sel and not filter";
      break;
    case 7:  // code integrity: blocked image, or (1 in 3) a regex rule
      if (g.chance(33)) {
        det = "  sel:\n    CommandLine|re: " + q("(?i)" + g.pick(k_tool_heads) + "[a-z]{2,8}\\.exe\\s+-{1,2}[a-z]+") + "\n";
        break;
      }
      logsource = k_ci;
      det = "  sel:\n    EventID: 3033\n    FileNameBuffer|endswith: " + q("\\" + g.hex(6) + ".dll") + "\n";
      break;
    case 8:  // impersonated company name from a user-writable directory
      det = "  sel:\n    Company: " + q(g.pick(k_vendors) + " " + g.hex(3) + " Corp") +
            "\n    Image|contains: '\\AppData\\'\n";
      break;
    case 9:  // windash arguments of a lolbin
      det = "  sel:\n    Image|endswith: " + q("\\" + g.pick(k_lolbins)) + "\n    CommandLine|windash|contains:\n" +
            list(g, 2, [](gen& x) { return " -" + x.hex(4) + " "; });
      break;
  }
  return "---\ntitle: bench rule " + std::to_string(i) + "\nid: bench-" + std::to_string(i) +
         "\nlevel: high\nlogsource:\n" + logsource + "detection:\n" + det + "  condition: " + condition + "\n";
}

// ---- events --------------------------------------------------------------------------

constexpr std::array<std::string_view, 14> k_field_names = {
    "Image",  "CommandLine", "ParentImage", "OriginalFileName", "Hashes",  "Company",        "Signature",
    "SignatureStatus", "ImageLoaded", "EventID", "FileNameBuffer", "User", "CurrentDirectory", "IntegrityLevel"};
enum class slot : std::size_t {
  image, command_line, parent_image, original_file_name, hashes, company, signature,
  signature_status, image_loaded, event_id, file_name_buffer, user, current_directory, integrity_level
};

// All values of one event in a single string; a field is missing when its length is -1.
struct bench_event final : sg::sigma_event {
  std::string text;
  std::array<std::uint32_t, k_field_names.size()> begin{};
  std::array<std::int32_t, k_field_names.size()> length{};
  int source = 0;  // index into k_sources

  bench_event() { length.fill(-1); }
  void set(slot s, std::string_view value) {
    const auto f = std::to_underlying(s);
    begin[f] = static_cast<std::uint32_t>(text.size());
    length[f] = static_cast<std::int32_t>(value.size());
    text += value;
  }
  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override {
    for (std::size_t f = 0; f < k_field_names.size(); ++f)
      if (k_field_names[f] == name)
        return length[f] < 0 ? std::nullopt
                             : std::optional<std::string_view>(
                                   std::string_view(text).substr(begin[f], static_cast<std::size_t>(length[f])));
    return std::nullopt;
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (std::size_t f = 0; f < k_field_names.size(); ++f)
      if (length[f] >= 0) fn(std::string_view(text).substr(begin[f], static_cast<std::size_t>(length[f])));
  }
};

const std::array<sg::event_logsource, 4> k_sources = {{{"process_creation", "windows", "sysmon"},
                                                        {"image_load", "windows", "sysmon"},
                                                        {"driver_load", "windows", "sysmon"},
                                                        {"", "windows", "codeintegrity-operational"}}};

void signer_fields(gen& g, bench_event& e, bool microsoft) {
  e.set(slot::company, microsoft ? "Microsoft Corporation" : g.pick(k_vendors) + " Inc.");
  e.set(slot::signature, microsoft ? "Microsoft Windows" : g.pick(k_vendors) + " Inc.");
  e.set(slot::signature_status, g.chance(98) ? "Valid" : "Expired");
  e.set(slot::hashes, "SHA1=" + g.hex(40) + ",MD5=" + g.hex(32) + ",SHA256=" + g.hex(64) + ",IMPHASH=" + g.hex(32));
}

bench_event process_event(gen& g, bool suspicious) {
  bench_event e;
  e.source = 0;
  const bool system = g.chance(60);
  std::string name = suspicious ? g.suspicious_image() : system ? g.pick(k_benign_system) : "app" + std::to_string(g.below(50)) + ".exe";
  std::string dir = system ? "C:\\Windows\\System32\\"
                           : g.chance(70) ? "C:\\Program Files\\" + g.pick(k_vendors) + "\\"
                                          : "C:\\Users\\u" + std::to_string(g.below(500)) + "\\AppData\\Local\\Temp\\";
  std::string cli = "\"" + dir + name + "\" " + g.pick(k_benign_args);
  if (suspicious)
    for (auto n = 1 + g.below(3); n > 0; --n) cli += " " + g.fragment();
  e.set(slot::image, dir + name);
  e.set(slot::command_line, cli);
  e.set(slot::parent_image, g.chance(5) ? "C:\\Program Files\\Microsoft Office\\root\\Office16" + g.pick(k_parents_office)
                                  : "C:\\Windows\\" + g.pick(k_benign_system));
  e.set(slot::original_file_name, g.chance(3) ? g.hacktool() : name);
  signer_fields(g, e, system);
  e.set(slot::user, "CORP\\u" + std::to_string(g.below(500)));
  e.set(slot::current_directory, "C:\\Windows\\System32\\");
  e.set(slot::integrity_level, g.chance(80) ? "Medium" : "High");
  return e;
}

bench_event load_event(gen& g, int source, bool suspicious) {
  bench_event e;
  e.source = source;
  const std::string file = suspicious ? g.hex(source == 1 ? 5 : 6) + (source == 2 ? ".sys" : ".dll")
                           : source == 2  ? "drv" + std::to_string(g.below(300)) + ".sys"
                                          : g.pick(k_dlls);
  const std::string path = "C:\\Windows\\System32\\" + std::string(source == 2 ? "drivers\\" : "") + file;
  if (source == 3) {
    e.set(slot::event_id, g.chance(80) ? "3033" : "3089");
    e.set(slot::file_name_buffer, path);
    e.set(slot::image, "C:\\Windows\\System32\\" + g.pick(k_benign_system));
    return e;
  }
  e.set(slot::image_loaded, path);
  e.set(slot::image, "C:\\Windows\\System32\\" + g.pick(k_benign_system));
  signer_fields(g, e, !suspicious && g.chance(85));
  return e;
}

std::vector<bench_event> make_events(std::size_t n) {
  gen g(0x5eed'e7e7);
  std::vector<bench_event> events;
  events.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const bool suspicious = g.chance(1);
    const auto roll = g.below(100);
    const int source = roll < 70 ? 0 : roll < 90 ? 1 : roll < 95 ? 2 : 3;
    events.push_back(source == 0 ? process_event(g, suspicious) : load_event(g, source, suspicious));
  }
  return events;
}

// ---- measurement ---------------------------------------------------------------------

struct result {
  double events_per_s = 0;
  double considered = 0, evaluated = 0;  // per event
  std::uint64_t matched = 0;
};

bool admits(const sg::logsource& ls, const sg::event_logsource& src) {
  auto eq = [](const std::string& want, std::string_view have) {
    if (want.empty()) return true;
    if (want.size() != have.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(want[i])) != std::tolower(static_cast<unsigned char>(have[i])))
        return false;
    return true;
  };
  return eq(ls.category, src.category) && eq(ls.product, src.product) && eq(ls.service, src.service);
}

template <class F>
double seconds(F&& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

result with_prefilter(const sg::rule_set& rs, const std::vector<bench_event>& events) {
  sg::eval_counters c;
  std::vector<const sg::rule*> hits;
  const double s = seconds([&] {
    for (const auto& e : events) {
      hits.clear();
      rs.evaluate(k_sources[static_cast<std::size_t>(e.source)], e, hits, &c);
    }
  });
  const auto n = static_cast<double>(events.size());
  return {n / s, static_cast<double>(c.considered) / n, static_cast<double>(c.evaluated) / n, c.matched};
}

result naive(const std::vector<sg::rule>& rules, const std::vector<bench_event>& events) {
  std::uint64_t evaluated = 0, matched = 0;
  const double s = seconds([&] {
    for (const auto& e : events)
      for (const auto& r : rules) {
        if (!admits(r.source, k_sources[static_cast<std::size_t>(e.source)])) continue;
        ++evaluated;
        matched += sg::matches(r, e) ? 1 : 0;
      }
  });
  const auto n = static_cast<double>(events.size());
  return {n / s, static_cast<double>(evaluated) / n, static_cast<double>(evaluated) / n, matched};
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n_events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200'000;
  const bool run_naive = argc <= 2 || std::string_view(argv[2]) != "prefilter";
  gen g(42);
  std::string yaml;
  for (int i = 0; i < 1000; ++i) yaml += rule_yaml(g, i);
  auto loaded = sg::load_rules(yaml, "bench.yml");
  for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.text().c_str());
  std::vector<bench_event> events;
  const double gen_s = seconds([&] { events = make_events(n_events); });
  std::printf("%zu rules loaded (%zu diagnostics), %zu events generated in %.2f s\n\n", loaded.rules.size(),
              loaded.diagnostics.size(), events.size(), gen_s);

  std::printf("%6s  %-10s %12s %11s %11s %9s %10s %9s %8s\n", "rules", "mode", "events/s", "admitted/ev",
              "evaluated/ev", "matches", "unfiltered", "build ms", "AC KiB");
  std::array<double, 2> first{}, last{};
  for (std::size_t n : {std::size_t{1}, std::size_t{100}, std::size_t{1000}}) {
    std::vector<sg::rule> rules(loaded.rules.begin(), loaded.rules.begin() + static_cast<std::ptrdiff_t>(n));
    std::optional<sg::rule_set> rs;
    const double build_s = seconds([&] { rs.emplace(rules); });
    with_prefilter(*rs, {events.begin(), events.begin() + std::min<std::ptrdiff_t>(10'000, std::ssize(events))});
    const result fast = with_prefilter(*rs, events);
    const result slow = run_naive ? naive(rules, events) : fast;
    std::printf("%6zu  %-10s %12.0f %11.1f %11.2f %9llu %10zu %9.1f %8.0f\n", n, "prefilter", fast.events_per_s,
                fast.considered, fast.evaluated, static_cast<unsigned long long>(fast.matched), rs->unfiltered(),
                build_s * 1e3, static_cast<double>(rs->prefilter_memory_bytes()) / 1024.0);
    std::printf("%6zu  %-10s %12.0f %11.1f %11.2f %9llu\n", n, "naive", slow.events_per_s, slow.considered,
                slow.evaluated, static_cast<unsigned long long>(slow.matched));
    if (fast.matched != slow.matched) {
      std::fprintf(stderr, "MISMATCH: prefilter found %llu matches, naive %llu\n",
                   static_cast<unsigned long long>(fast.matched), static_cast<unsigned long long>(slow.matched));
      return 1;
    }
    (n == 1 ? first : last) = {fast.events_per_s, slow.events_per_s};
  }
  std::printf("\nevents/s with 1 rule / with 1000 rules: prefilter %.1fx, naive %.1fx\n", first[0] / last[0],
              first[1] / last[1]);
  return 0;
}
