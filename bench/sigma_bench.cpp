// sigma::rule_set throughput, one thread, two rows:
//
//   1. a rule folder (the SigmaHQ Windows rules: ../shared/sigmahq/rules/windows) over a
//      realistic Windows event mix of every logsource (bench/windows_event_mix.hpp);
//   2. 1,000 generated rules (templates modelled on SigmaHQ's process_creation,
//      image_load, driver_load and codeintegrity-operational rules) over generated
//      process, image, driver and Code Integrity events. These rules match almost nothing
//      of real events, which hid what the full SigmaHQ set costs: row 1 is the one to watch.
//
//   build/h_sigma/bench/countersign_bench_sigma [RULE_DIR [EVENTS [CHECK_EVENTS [ENGINES]]]]
//     RULE_DIR      default ../shared/sigmahq/rules/windows; "-" skips row 1
//     EVENTS        events timed per row (default 200000)
//     CHECK_EVENTS  events also evaluated naively (every rule whose logsource admits the
//                   event, through sigma::matches()) whose per-event rule-id sets must
//                   equal evaluate()'s (default 20000; 0 skips). A difference exits 1.
//     ENGINES       literal engines of row 1: all (default), hyperscan, aho_corasick
//                   (one engine alone, e.g. under a profiler)
//
// Throughput is events per CPU-second of the evaluating thread (CLOCK_THREAD_CPUTIME_ID),
// of the fastest of k_timed_passes passes over the same events (other processes on the
// same cores slow a pass down, never speed it up).
// Rule-set memory ("mem MiB") is the growth of resident memory over loading the rules and
// building the set; only the first engine of a run is measured clean (the next one reuses
// memory the first freed): run one ENGINES per process for memory.
//
// Builds against the engine before rule_set_options too (COUNTERSIGN_SIGMA_RULE_SET_OPTIONS
// unset): one "sigmahq" row, no per-field counts; docs/benchmarks.md measures the "before"
// rows that way.
#include <countersign/rules/sigma/rule_set.hpp>
#include <countersign/rules/sigma/sigma.hpp>

#include <time.h>
#include <unistd.h>

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

#include "windows_event_mix.hpp"

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

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
double cpu_seconds(F&& run) {
  const double t0 = thread_cpu_seconds();
  run();
  return thread_cpu_seconds() - t0;
}

template <class F>
double wall_seconds(F&& run) {
  const auto t0 = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Resident memory (bytes) from /proc/self/statm.
std::size_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

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

// One evaluation of `ev` over all its logsources: one call where the engine takes them
// together, else one per source (the same hits).
void evaluate_all(const sg::rule_set& rs, const std::vector<sg::event_logsource>& sources, const sg::sigma_event& ev,
                  std::vector<const sg::rule*>& hits, sg::eval_counters* c = nullptr) {
#if COUNTERSIGN_SIGMA_EVALUATE_SOURCES
  rs.evaluate(sources, ev, hits, c);
#else
  for (const auto& src : sources) rs.evaluate(src, ev, hits, c);
#endif
}

constexpr int k_timed_passes = 3;

struct result {
  double events_per_s = 0;
  double considered = 0, evaluated = 0;  // per event
  std::uint64_t matched = 0;
};

// Events of either row with their logsources.
template <class Event>
using sources_of = std::vector<sg::event_logsource> (*)(const Event&);

template <class Event>
result with_prefilter(const sg::rule_set& rs, const std::vector<Event>& events, sources_of<Event> sources,
                      int passes = 1) {
  sg::eval_counters c;
  std::vector<const sg::rule*> hits;
  std::vector<std::vector<sg::event_logsource>> srcs;
  srcs.reserve(events.size());
  for (const auto& e : events) srcs.push_back(sources(e));
  double s = 0;
  for (int pass = 0; pass < passes; ++pass) {
    sg::eval_counters pass_counters;
    const double pass_s = cpu_seconds([&] {
      for (std::size_t i = 0; i < events.size(); ++i) {
        hits.clear();
        evaluate_all(rs, srcs[i], events[i], hits, &pass_counters);
      }
    });
    if (pass == 0 || pass_s < s) s = pass_s;
    if (pass == 0) c = pass_counters;
  }
  const auto n = static_cast<double>(events.size());
  return {n / s, static_cast<double>(c.considered) / n, static_cast<double>(c.evaluated) / n, c.matched};
}

// The naive path: every rule whose logsource admits the event, through sigma::matches().
template <class Event>
std::vector<std::vector<std::string>> naive_ids(const std::vector<sg::rule>& rules, const std::vector<Event>& events,
                                                sources_of<Event> sources, double& cpu_s) {
  std::vector<std::vector<std::string>> out(events.size());
  cpu_s = cpu_seconds([&] {
    for (std::size_t i = 0; i < events.size(); ++i)
      for (const auto& src : sources(events[i]))
        for (const auto& r : rules)
          if (admits(r.source, src) && sg::matches(r, events[i])) out[i].push_back(r.id);
  });
  for (auto& ids : out) std::ranges::sort(ids);
  return out;
}

template <class Event>
std::vector<std::vector<std::string>> fast_ids(const sg::rule_set& rs, const std::vector<Event>& events,
                                               sources_of<Event> sources) {
  std::vector<std::vector<std::string>> out(events.size());
  std::vector<const sg::rule*> hits;
  for (std::size_t i = 0; i < events.size(); ++i) {
    hits.clear();
    evaluate_all(rs, sources(events[i]), events[i], hits);
    for (const auto* r : hits) out[i].push_back(r->id);
    std::ranges::sort(out[i]);
  }
  return out;
}

// Compares the per-event rule-id sets of evaluate() and of the naive path on the first
// `n` events; prints the first differences. Returns false on any.
template <class Event>
bool check(const sg::rule_set& rs, const std::vector<Event>& events, std::size_t n, sources_of<Event> sources) {
  const std::vector<Event> sample(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(std::min(n, events.size())));
  double naive_s = 0;
  const auto slow = naive_ids(rs.rules(), sample, sources, naive_s);
  const auto fast = fast_ids(rs, sample, sources);
  std::size_t differ = 0, matches = 0;
  for (std::size_t i = 0; i < sample.size(); ++i) {
    matches += slow[i].size();
    if (slow[i] == fast[i]) continue;
    if (differ++ < 5) {
      std::string a, b;
      for (const auto& id : slow[i]) a += " " + id;
      for (const auto& id : fast[i]) b += " " + id;
      std::fprintf(stderr, "MISMATCH event %zu: naive [%s ] evaluate [%s ]\n", i, a.c_str(), b.c_str());
    }
  }
  std::printf("check: %zu events, naive path %.0f events/CPU-s, %zu matches, %zu events differ\n", sample.size(),
              static_cast<double>(sample.size()) / naive_s, matches, differ);
  return differ == 0;
}

std::vector<sg::event_logsource> generated_sources(const bench_event& e) {
  return {k_sources[static_cast<std::size_t>(e.source)]};
}
std::vector<sg::event_logsource> mix_sources(const countersign::bench::mix_event& e) { return e.logsources(); }

void print_row(const char* name, std::size_t rules, const result& r, double load_ms, double build_ms, double mem_mib,
               std::size_t prefilter_bytes, std::size_t unfiltered) {
  std::printf("%-10s %6zu %12.0f %13.1f %12.2f %8llu %10zu %9.0f %9.0f %9.1f %9.0f\n", name, rules, r.events_per_s,
              r.considered, r.evaluated, static_cast<unsigned long long>(r.matched), unfiltered, load_ms, build_ms,
              mem_mib, static_cast<double>(prefilter_bytes) / 1024.0);
}

void print_header() {
  std::printf("%-10s %6s %12s %13s %12s %8s %10s %9s %9s %9s %9s\n", "row", "rules", "events/CPU-s", "considered/ev",
              "evaluated/ev", "matches", "unfiltered", "load ms", "build ms", "mem MiB", "pf KiB");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/sigmahq/rules/windows";
  const std::size_t n_events = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200'000;
  const std::size_t n_check = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20'000;
  const std::string_view engines = argc > 4 ? argv[4] : "all";
  bool ok = true;

  if (dir != "-") {
    const std::size_t rss0 = rss_bytes();
    std::size_t files = 0;
    sg::load_result loaded;
    const double load_s = wall_seconds([&] { loaded = countersign::bench::load_rule_folder(dir, files); });
    const std::size_t rss_rules = rss_bytes();
    std::size_t errors = 0;
    for (const auto& d : loaded.diagnostics) errors += d.sev == sg::diagnostic::severity::error ? 1 : 0;
    std::vector<countersign::bench::mix_event> events;
    const double gen_s = wall_seconds([&] { events = countersign::bench::windows_event_mix(loaded.rules, 0x5eed).make(n_events); });
    std::size_t bytes = 0;
    for (const auto& e : events) bytes += e.bytes();
    std::printf("%s: %zu files, %zu rules loaded, %zu skipped (%zu errors, %zu diagnostics)\n", dir.c_str(), files,
                loaded.rules.size(), loaded.skipped, errors, loaded.diagnostics.size());
    std::printf("event mix: %zu events, %.0f B of field values on average, generated in %.2f s\n", events.size(),
                static_cast<double>(bytes) / static_cast<double>(std::max<std::size_t>(1, events.size())), gen_s);
    std::printf("rule-set memory (mem MiB) = resident growth over loading the rules (%.1f MiB) and building the set\n\n",
                static_cast<double>(rss_rules - rss0) / (1024.0 * 1024.0));
    print_header();
    std::optional<sg::rule_set> kept;
#if COUNTERSIGN_SIGMA_RULE_SET_OPTIONS
    sg::prefilter_stats stats;
    using engine_t = sg::rule_set_options::literal_engine;
    for (const auto engine : {engine_t::aho_corasick, engine_t::hyperscan}) {
      const bool hs = engine == engine_t::hyperscan;
      const char* name = hs ? "hyperscan" : "aho_corasick";
      if (engines != "all" && engines != name) continue;
      kept.reset();
      const std::size_t rss1 = rss_bytes();
      std::optional<sg::rule_set> rs;
      std::vector<sg::rule> rules = loaded.rules;
      const double build_s = wall_seconds([&] { rs.emplace(std::move(rules), sg::rule_set_options{engine}); });
      const double mem_mib = static_cast<double>(rss_rules - rss0 + rss_bytes() - rss1) / (1024.0 * 1024.0);
      with_prefilter(*rs, std::vector(events.begin(), events.begin() + std::min<std::ptrdiff_t>(5'000, std::ssize(events))),
                     mix_sources);
      const result fast = with_prefilter(*rs, events, mix_sources, k_timed_passes);
      print_row(hs ? "sigmahq/hs" : "sigmahq/ac", rs->size(), fast, load_s * 1e3, build_s * 1e3, mem_mib,
                rs->prefilter_memory_bytes(), rs->unfiltered());
      {  // per-field counts and the check: of the last engine measured
        stats = {};
        std::vector<const sg::rule*> hits;
        for (const auto& e : events)
#if COUNTERSIGN_SIGMA_EVALUATE_SOURCES
          rs->evaluate(e.logsources(), e, hits, nullptr, &stats);
#else
          for (const auto& src : e.logsources()) rs->evaluate(src, e, hits, nullptr, &stats);
#endif
        kept = std::move(rs);
      }
    }
    std::printf("\nprefilter per field: events whose value was scanned, and the share with a hit\n");
    std::ranges::sort(stats.fields, [](const auto& a, const auto& b) { return a.scanned > b.scanned; });
    for (const auto& f : stats.fields) {
      if (f.scanned == 0) continue;
      std::printf("  %-28s %9llu scanned %6.1f%% hit\n", f.field.empty() ? "(keywords: every value)" : f.field.c_str(),
                  static_cast<unsigned long long>(f.scanned), 100.0 * static_cast<double>(f.hit) / static_cast<double>(f.scanned));
    }
#else
    // The engine before rule_set_options: one Aho-Corasick prefilter, no per-field counts.
    (void)engines;
    const std::size_t rss1 = rss_bytes();
    std::vector<sg::rule> rules = loaded.rules;
    const double build_s = wall_seconds([&] { kept.emplace(std::move(rules)); });
    const double mem_mib = static_cast<double>(rss_rules - rss0 + rss_bytes() - rss1) / (1024.0 * 1024.0);
    with_prefilter(*kept, std::vector(events.begin(), events.begin() + std::min<std::ptrdiff_t>(5'000, std::ssize(events))),
                   mix_sources);
    const result fast = with_prefilter(*kept, events, mix_sources, k_timed_passes);
    print_row("sigmahq", kept->size(), fast, load_s * 1e3, build_s * 1e3, mem_mib, kept->prefilter_memory_bytes(),
              kept->unfiltered());
#endif
    std::printf("\n");
    if (n_check > 0 && kept) ok = check(*kept, events, n_check, mix_sources) && ok;
    std::printf("\n");
  }

  gen g(42);
  std::string yaml;
  for (int i = 0; i < 1000; ++i) yaml += rule_yaml(g, i);
  std::vector<sg::rule> generated;
  const double load_s = wall_seconds([&] { generated = sg::load_rules(yaml, "bench.yml").rules; });
  const std::vector<bench_event> events = make_events(n_events);
  std::optional<sg::rule_set> rs;
  const double build_s = wall_seconds([&] { rs.emplace(generated); });
  with_prefilter(*rs, std::vector(events.begin(), events.begin() + std::min<std::ptrdiff_t>(5'000, std::ssize(events))),
                 generated_sources);
  const result fast = with_prefilter(*rs, events, generated_sources, k_timed_passes);
  print_header();
  print_row("generated", rs->size(), fast, load_s * 1e3, build_s * 1e3, 0, rs->prefilter_memory_bytes(), rs->unfiltered());
  if (n_check > 0) ok = check(*rs, events, n_check, generated_sources) && ok;
  return ok ? 0 : 1;
}
