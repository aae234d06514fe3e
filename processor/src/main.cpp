// countersign: the command line. Parses arguments, loads config, and hands over to the
// Kafka runner or the replay driver. Exit codes: 0 success, 1 runtime failure,
// 2 bad usage or bad config.

#include <countersign/metrics/http_endpoint.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/inspect.hpp>
#include <countersign/processor/json_log.hpp>
#include <countersign/processor/service/kafka_runner.hpp>
#include <countersign/processor/service/metrics_bridge.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/processor/replay.hpp>
#include <countersign/processor/engine/sigma_coverage.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>
#include <countersign/processor/version.hpp>
#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/json_writer.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/time.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <prometheus/registry.h>
#include <simdjson.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <signal.h>  // sigaction
#include <cstdlib>
#include <iostream>
#include <limits>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

namespace cp = countersign::processor;

void setup_logging(const cp::config& cfg) {
  // Logs go to stderr: in replay, stdout carries the alerts.
  auto logger = spdlog::stderr_logger_mt("countersign");
  if (cfg.log_format == "json") {
    logger->set_formatter(std::make_unique<cp::json_log_formatter>());
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
}

std::optional<cp::config> load(const std::string& path) {
  auto cfg = cp::load_config(path);
  if (!cfg) {
    std::cerr << "countersign: invalid configuration:\n" << cfg.error() << '\n';
    return std::nullopt;
  }
  return std::move(*cfg);
}

// Opens the prevalence store named by state.dir; null when state is off.
std::expected<std::unique_ptr<countersign::state::prevalence_store>, std::string> open_state(const cp::config& cfg) {
  if (cfg.state.dir.empty()) return std::unique_ptr<countersign::state::prevalence_store>();
  countersign::state::store_options options;
  options.path = cfg.state.dir;
  options.block_cache_bytes = cfg.state.block_cache_bytes;
  options.write_buffer_bytes = cfg.state.write_buffer_bytes;
  options.retention_ms = cfg.state.retention_ms;
  options.min_free_bytes = cfg.state.min_free_bytes;
  options.on_log = [](bool is_error, std::string_view message) {
    if (is_error) spdlog::error("rocksdb: {}", message);
    else spdlog::warn("rocksdb: {}", message);
  };
  return countersign::state::prevalence_store::open(options);
}

int run_service(const cp::config& cfg) {
  setup_logging(cfg);
  // The HTTP endpoint comes first: opening a big state directory can take a while, and
  // an orchestrator's probes must find the port (`/healthz` counts start-up as alive,
  // `/readyz` says 503) instead of a closed socket.
  const std::size_t threads = cp::processing_threads(cfg.processing);
  auto registry = std::make_shared<prometheus::Registry>();
  auto health = std::make_shared<countersign::metrics::health_state>();
  health->set_parts(threads);
  auto shared_metrics = std::make_shared<cp::metrics_threads>(threads);
  std::vector<std::unique_ptr<cp::metrics_bridge>> bridges;
  for (std::size_t i = 0; i < threads; ++i) {
    bridges.push_back(std::make_unique<cp::metrics_bridge>(registry, i, shared_metrics));
  }
  std::unique_ptr<countersign::metrics::http_endpoint> endpoint;
  if (!cfg.metrics.listen.empty()) {
    auto started = countersign::metrics::http_endpoint::start(cfg.metrics.listen, registry, health);
    if (!started) {
      std::cerr << "countersign: metrics.listen: " << started.error() << '\n';
      return 2;
    }
    endpoint = std::move(*started);
    spdlog::info("metrics on http://{}/metrics (port {})", cfg.metrics.listen, endpoint->port());
  }
  auto store = open_state(cfg);
  if (!store) {
    std::cerr << "countersign: state.dir: " << store.error() << '\n';
    return 2;
  }
  if (g_stop.load()) {
    spdlog::info("stopped during start-up");
    return 0;
  }
  // One runner per processing thread, each a group member with partitions of its own
  // (kafka_runner.hpp); the first uses the store opened above, the others sessions of it.
  // They share one Sigma library and one set of intel lists: loaded and reloaded once,
  // not once per thread; and one global-table reader, so the signers topic is read and
  // written once per process.
  std::vector<std::unique_ptr<countersign::state::prevalence_store>> sessions;
  std::vector<std::unique_ptr<cp::kafka_runner>> runners;
  cp::shared_content shared;
  if (threads > 1 && cfg.sigma.enabled) shared.sigma = std::make_shared<cp::shared_sigma_library>(cfg.sigma);
  if (threads > 1 && !cfg.intel_lists.empty()) shared.intel = std::make_shared<cp::shared_intel_library>(cfg.intel_lists);
  if (threads > 1 && *store) shared.table = std::make_shared<cp::global_table>(cfg, **store);
  if (threads > 1) shared.leave = std::make_shared<cp::leave_gate>(threads);
  for (std::size_t i = 0; i < threads; ++i) {
    countersign::state::prevalence_store* session = store->get();
    if (session && i > 0) session = sessions.emplace_back((*store)->session()).get();
    runners.push_back(
        std::make_unique<cp::kafka_runner>(cfg, health, bridges[i].get(), session, i, threads, shared));
  }
  if (threads == 1) {
    if (auto r = runners[0]->run(g_stop); !r) {
      spdlog::error("{}", r.error());
      return 1;
    }
    return 0;
  }
  spdlog::info("{} processing threads", threads);
  // A signal stops every thread; so does any thread's fatal error (the process exits 1
  // and its orchestrator restarts it whole, as with one thread).
  std::atomic<bool> stop_all{false};
  std::atomic<std::size_t> running{threads};
  std::vector<std::string> errors(threads);
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < threads; ++i) {
    workers.emplace_back([&, i] {
      if (auto r = runners[i]->run(stop_all); !r) {
        errors[i] = r.error();
        stop_all.store(true);
      }
      running.fetch_sub(1);
    });
  }
  while (!stop_all.load() && running.load() > 0) {
    if (g_stop.load()) stop_all.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& w : workers) w.join();
  if (shared.table) shared.table->stop();  // every runner is done with it
  int code = 0;
  for (std::size_t i = 0; i < threads; ++i) {
    if (errors[i].empty()) continue;
    spdlog::error("processing thread {}: {}", i + 1, errors[i]);
    code = 1;
  }
  return code;
}

int run_replay(const cp::config& cfg, const std::vector<std::string>& files, unsigned threads) {
  setup_logging(cfg);
  std::ios::sync_with_stdio(false);
  auto store = open_state(cfg);
  if (!store) {
    std::cerr << "countersign: state: " << store.error() << '\n';
    return 2;
  }
  const auto summary = cp::run_replay(cfg, files, std::cout, std::cerr, store->get(),
                                      cp::progress_meter::stderr_is_terminal(), threads);
  const auto& s = summary.stats;
  std::uint64_t rejected = 0;
  for (auto n : s.rejected) rejected += n;
  std::cerr << "replay: " << s.events << " events, " << s.observations << " in scope, " << s.alerts + s.sigma.alerts + s.correlation.alerts
            << " alerts (" << s.sigma.alerts << " from " << s.sigma.rules << " Sigma rules"
            << (s.sigma.correlations > 0
                    ? ", " + std::to_string(s.correlation.alerts) + " from " + std::to_string(s.sigma.correlations) +
                          " correlations over " + std::to_string(s.sigma.correlation_routed) + " routed matches, " +
                          std::to_string(s.correlation.evaluator.late_dropped) + " late, " +
                          std::to_string(s.sigma.correlation_missing_field + s.sigma.correlation_no_time) +
                          " without a group field or time"
                    : std::string())
            << "), " << s.suppressed + s.sigma.suppressed << " suppressed, " << s.repeats << " repeats skipped, " << rejected << " rejected";
  for (std::size_t i = 0; i < s.rejected.size(); ++i) {
    if (s.rejected[i] > 0) std::cerr << ", " << cp::to_string(static_cast<cp::reject_reason>(i)) << '=' << s.rejected[i];
  }
  if (summary.read_errors > 0) std::cerr << ", " << summary.read_errors << " files stopped early";
  std::cerr << '\n';
  if (const auto& j = s.certificate_join; j.joined + j.held > 0) {
    std::cerr << "replay: certificate join: " << j.joined << " joined, " << j.held << " waited (" << j.joined_late
              << " joined late, " << j.unmatched << " too late, " << j.held - j.joined_late - j.unmatched
              << " still waiting), " << j.evicted << " not kept\n";
  }
  if (!cfg.state.dir.empty()) {
    std::cerr << "replay: state " << cfg.state.dir << ": " << s.state_updates << " updates, " << s.state_errors
              << " errors, learning " << (s.learning ? "in progress" : "complete") << '\n';
  }
  return summary.unreadable_files > 0 || summary.read_errors > 0 || s.state_errors > 0 ? 1 : 0;
}

// `countersign inspect`: which profile reads a sample of events and what comes out of it.
// Exit 0 when every file was read (rejects included), 1 when one could not be, 2 on bad
// usage or configuration.
int run_inspect(const std::string& config_path, const std::string& schema, bool json,
                const std::vector<std::string>& files) {
  std::expected<cp::config, std::string> cfg =
      config_path.empty() ? cp::parse_config("{}", "(defaults)") : cp::load_config(config_path);
  if (!cfg) {
    std::cerr << "countersign: invalid configuration:\n" << cfg.error() << '\n';
    return 2;
  }
  cp::inspect_options options;
  if (!schema.empty()) {
    const auto forced = cp::parse_profile_name(schema);
    if (!forced) {
      std::cerr << "countersign inspect: --schema " << schema << ": not a profile name\n";
      return 2;
    }
    options.forced = *forced;
  }
  options.progress = cp::progress_meter::stderr_is_terminal();
  std::ios::sync_with_stdio(false);
  const auto report = cp::run_inspect(*cfg, files, options);
  if (json) {
    cp::write_inspect_json(report, std::cout, options.skeletons);
  } else {
    cp::write_inspect_text(report, std::cout, options.skeletons);
  }
  std::cout.flush();
  for (const auto& f : report.files) {
    if (!f.error.empty()) std::cerr << f.error << '\n';
  }
  return report.failed() ? 1 : 0;
}

// `countersign state inspect`: prints the record of a file hash, signer or issuer.
int inspect_state(const std::string& dir, const std::string& kind, const std::string& key) {
  namespace st = countersign::state;
  st::store_options options;
  options.path = dir;
  auto store = st::prevalence_store::open(options);
  if (!store) {
    std::cerr << "countersign: " << store.error() << '\n';
    return 2;
  }
  const st::store_kind k = kind == "signer"   ? st::store_kind::signer
                           : kind == "issuer" ? st::store_kind::issuer
                           : kind == "company-signer" ? st::store_kind::company_signer
                                              : st::store_kind::hash;
  const auto value = (*store)->get_any_partition(k, key);
  if (!value) {
    std::cout << "{\"store\":\"" << st::to_string(k) << "\",\"found\":false}\n";
    return 3;
  }
  std::string out;
  countersign::rules::json_writer w(out);
  const auto time = [&](std::string_view name, std::int64_t ms) {
    if (ms != std::numeric_limits<std::int64_t>::max() && ms != std::numeric_limits<std::int64_t>::min()) {
      w.field(name, countersign::rules::format_rfc3339_ms(ms));
    }
  };
  const auto count = [&](std::string_view name, const st::distinct_set& set) {
    if (set.empty()) return;
    w.key(name).begin_object();
    w.field("estimate", static_cast<std::int64_t>(set.estimate()));
    w.field_bool("exact", set.exact());
    w.end_object();
  };
  w.begin_object().field("store", st::to_string(k)).field("key", key).field_bool("found", true);
  time("first_seen", value->first_seen_ms);
  time("last_seen", value->last_seen_ms);
  count("hosts", value->hosts);
  count(k == st::store_kind::issuer ? "signers" : "hashes", value->items);
  count("issuers", value->issuers);
  time("earliest_not_before", value->min_not_before_ms);
  w.end_object();
  std::cout << out << '\n';
  return 0;
}

// `countersign rules check`: loads the config (with its detection content), every
// abused-certificate list and the Sigma rules, and reports each problem as FILE:LINE:
// what. Exit 0 when everything loads (skipped list rows and Sigma rules using features
// countersign does not implement are warnings unless --strict), 2 otherwise
// (cp::check_counts). With --coverage it lists the Sigma rules that can never fire on the
// configured input shapes (cp::check_coverage); with --strict as well, such a rule is a
// failure (2).
// The identity family of a protected vendor, as the detector sees it: an analyst asking
// why a signer was (or was not) taken for the vendor reads the lists here.
void print_vendor_family(const countersign::rules::subject_mismatch_config::protected_vendor& v) {
  std::cout << "vendor " << v.name << " (token \"" << v.token << "\", look-alike skeleton \"" << v.token_skeleton
            << "\")" << (v.signs_for_others ? ", signs other vendors' code" : "") << '\n';
  if (v.signer_names.empty()) {
    std::cout << "  signers: any name with the token (no list)\n";
  } else {
    for (std::size_t i = 0; i < v.signer_names.size(); ++i) {
      std::cout << "  signer: " << v.signer_names[i] << "  [" << v.signers[i] << "]\n";
    }
  }
  if (v.issuer_names.empty()) std::cout << "  issuers: not checked\n";
  for (const auto& issuer : v.issuer_names) std::cout << "  issuer prefix: \"" << issuer << "\"\n";
  std::cout << "  binaries: " << v.binaries.size() << '\n';
}

int check_rules(const std::string& config_path, const std::string& content_dir, const std::string& sigma_dir,
                bool strict, const std::string& vendor, bool coverage) {
  namespace cr = countersign::rules;
  std::expected<cp::config, std::string> cfg;
  if (config_path.empty()) {
    cfg = cp::parse_config(content_dir.empty() ? "{}" : "detectors: {content_dir: \"" + content_dir + "\"}\n",
                           "(defaults)");
  } else {
    if (!content_dir.empty()) ::setenv("COUNTERSIGN_DETECTORS_CONTENT_DIR", content_dir.c_str(), 1);
    cfg = cp::load_config(config_path);
  }
  if (!cfg) {
    std::cerr << cfg.error() << '\n';
    std::cout << "rules check: FAILED (configuration or content)\n";
    return 2;
  }
  cp::check_counts counts;
  std::size_t unreachable = 0;  // Sigma rules that can never fire (--coverage)
  const auto& d = cfg->detectors;
  std::cout << "content: " << (cfg->detectors_content_dir.empty() ? "built-in rules/content" : cfg->detectors_content_dir)
            << " (" << d.recently_issued.trusted_publishers.size() << " trusted publishers, "
            << d.issuer_unusual.known_cas.size() << " known CA prefixes, " << d.subject_mismatch.protected_vendors.size()
            << " protected vendors, " << d.rare_user_path.user_writable.globs().size() << " user-writable patterns)\n";
  std::cout << "exclusions: " << d.exclusions.size() << ", mass revocations: " << d.mass_revocations.size() << '\n';
  if (!vendor.empty()) {
    const std::string wanted = cr::normalize_company(vendor);
    bool found = false;
    for (const auto& v : d.subject_mismatch.protected_vendors) {
      if (v.token == wanted || cr::normalize_company(v.name) == wanted) {
        print_vendor_family(v);
        found = true;
      }
    }
    if (!found) {
      ++counts.errors;
      std::cerr << "rules check: no protected vendor named \"" << vendor << "\"\n";
    }
  }
  for (const auto& list : cfg->intel_lists) {
    auto loaded = cr::load_intel_file(list.path, list.format);
    if (!loaded) {
      ++counts.errors;
      std::cerr << loaded.error().file;
      if (loaded.error().line) std::cerr << ':' << loaded.error().line;
      std::cerr << ": " << loaded.error().message << '\n';
      continue;
    }
    for (const auto& e : loaded->skipped) {
      ++counts.warnings;
      std::cerr << e.file << ':' << e.line << ": " << e.message << " (row skipped)\n";
    }
    std::cout << "list " << list.path << " (" << cr::to_string(list.format) << "): " << loaded->records.size()
              << " entries, " << loaded->skipped.size() << " rows skipped\n";
  }
  if (cfg->sigma.enabled) {
    const std::string dir = sigma_dir.empty() ? cfg->sigma.rules_dir : sigma_dir;
    const auto sigma = cp::load_sigma_rules(cfg->sigma.builtin, dir);
    // Every problem of every rule, each with its file and line.
    for (const auto& diag : sigma.diagnostics) {
      counts.add(diag);
      std::cerr << diag.text() << '\n';
    }
    if (!sigma.correlations.empty())
      std::cout << "sigma correlations: " << sigma.correlations.size() << " valid\n";
    std::cout << "sigma: " << sigma.rules.size() << " rules, " << sigma.skipped << " not loaded ("
              << "built-in: " << (cfg->sigma.builtin.empty() ? std::string("none") : [&] {
                   std::string names;
                   for (const auto& n : cfg->sigma.builtin) names += (names.empty() ? "" : " ") + n;
                   return names;
                 }())
              << (dir.empty() ? "" : ", " + dir) << ")\n";
    if (coverage) {
      const auto report = cp::check_coverage(sigma.rules, cp::configured_shapes(*cfg));
      cp::write_coverage(report, std::cout);
      unreachable = report.unreachable.size();
    }
  } else {
    std::cout << "sigma: off\n";
  }
  // A rule that can never fire is a finding, not a load problem: it fails only --strict.
  const int code = strict && unreachable > 0 ? 2 : counts.exit_code(strict);
  std::cout << "rules check: " << (code != 0 ? "FAILED" : "ok") << " (" << counts.errors << " errors, "
            << counts.warnings << " warnings" << (coverage ? ", " + std::to_string(unreachable) + " rules never fire" : "")
            << ")\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  // First of all: as PID 1 in a container, SIGTERM is ignored until a handler exists,
  // and a stop request during start-up (config, state, broker metadata) must be seen.
  install_stop_handlers();
  CLI::App app{"countersign: detects abuse of code-signing certificates (MITRE ATT&CK T1588.003) "
               "in endpoint telemetry on Kafka"};
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run the stream processor on Kafka");
  run->add_option("--config,-c", config_path, "YAML config file")->required();

  std::vector<std::string> files;
  auto* replay = app.add_subcommand("replay", "Run the pipeline over event files or stdin; alerts on stdout");
  replay->add_option("--config,-c", config_path, "YAML config file (default: built-in defaults)");
  replay->add_option("files", files, "NDJSON, JSON, .evtx or event XML files ('-' or none: stdin)");

  std::string state_dir;
  replay->add_option("--state-dir", state_dir, "Prevalence store to fill and use (overrides state.dir)");
  std::string replay_format;
  replay->add_option("--format", replay_format, "Alert format: countersign, ocsf or ecs (overrides alerts.format)")
      ->check(CLI::IsMember({"countersign", "ocsf", "ecs"}));
  unsigned replay_threads = 1;
  replay->add_option("--threads", replay_threads,
                     "Threads that parse and evaluate Sigma rules (default 1); the output is the same for any number")
      ->check(CLI::Range(1U, 64U));

  auto* state = app.add_subcommand("state", "Look into a prevalence store");
  state->require_subcommand(1);
  auto* inspect = state->add_subcommand("inspect", "Print the record of a file hash, signer or issuer");
  std::string inspect_kind = "hash", inspect_key;
  inspect->add_option("--state-dir", state_dir, "State directory")->required();
  inspect->add_option("--store", inspect_kind, "hash, signer, issuer or company-signer")
      ->check(CLI::IsMember({"hash", "signer", "issuer", "company-signer"}));
  inspect->add_option("key", inspect_key, "sha256 (or sha1:HEX), signer key (t:THUMBPRINT, s:ISSUER|SERIAL, n:SUBJECT), issuer")
      ->required();

  auto* rules_cmd = app.add_subcommand("rules", "Detection content");
  rules_cmd->require_subcommand(1);
  auto* check = rules_cmd->add_subcommand("check", "Validate the config, detection content, abused-certificate lists and Sigma rules");
  std::string rules_dir;
  bool strict = false;
  check->add_option("--config,-c", config_path, "YAML config file (default: built-in defaults)");
  check->add_option("--rules", rules_dir, "Content directory (overrides detectors.content_dir)");
  std::string sigma_dir;
  check->add_option("--sigma", sigma_dir, "Sigma rule folder (overrides sigma.rules_dir)");
  check->add_flag("--strict", strict, "Skipped list rows and skipped Sigma rules are errors too");
  std::string vendor;
  check->add_option("--vendor", vendor, "Print the identity family of a protected vendor (e.g. Microsoft)");
  bool coverage = false;
  check->add_flag("--coverage", coverage,
                  "List the Sigma rules that can never fire on the configured input shapes, and why "
                  "(with --strict they fail the check)");

  auto* inspect_cmd = app.add_subcommand(
      "inspect", "Report how a sample of events is read: profiles, field fill, rejects, unknown shapes");
  std::string inspect_schema;
  bool inspect_json = false;
  std::vector<std::string> inspect_files;
  inspect_cmd->add_option("--config,-c", config_path, "YAML config file (default: built-in defaults)");
  inspect_cmd->add_option("--schema", inspect_schema, "Read every event as this profile (default: detect)");
  inspect_cmd->add_flag("--json", inspect_json, "The report as one JSON object");
  inspect_cmd->add_option("files", inspect_files, "NDJSON, JSON, .evtx or event XML files ('-': stdin)")->required();

  auto* version = app.add_subcommand("version", "Print version and library versions");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; any other is bad usage: 2, as documented.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (version->parsed()) {
    std::cout << "countersign " << cp::k_version << " (librdkafka " << rd_kafka_version_str()
              << ", simdjson " << SIMDJSON_STRINGIFY(SIMDJSON_VERSION) << ")\n";
    return 0;
  }
  if (inspect->parsed()) return inspect_state(state_dir, inspect_kind, inspect_key);
  if (check->parsed()) return check_rules(config_path, rules_dir, sigma_dir, strict, vendor, coverage);
  if (inspect_cmd->parsed()) return run_inspect(config_path, inspect_schema, inspect_json, inspect_files);
  std::optional<cp::config> cfg;
  if (replay->parsed() && config_path.empty()) {
    auto defaults = cp::parse_config("{}", "(defaults)");
    if (!defaults) {
      std::cerr << "countersign: invalid configuration:\n" << defaults.error() << '\n';
      return 2;
    }
    cfg = std::move(*defaults);
  } else {
    cfg = load(config_path);
  }
  if (!cfg) return 2;
  if (!state_dir.empty()) cfg->state.dir = state_dir;
  if (const auto f = countersign::rules::parse_alert_format(replay_format)) cfg->alerts.format = *f;
  if (run->parsed()) return run_service(*cfg);
  return run_replay(*cfg, files, replay_threads);
}
