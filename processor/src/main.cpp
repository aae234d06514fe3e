// countersign: the command line. Parses arguments, loads config, and hands over to the
// Kafka runner or the replay driver. Exit codes: 0 success, 1 runtime failure,
// 2 bad usage or bad config.

#include <countersign/metrics/http_endpoint.hpp>
#include <countersign/processor/config.hpp>
#include <countersign/processor/kafka_runner.hpp>
#include <countersign/processor/metrics_bridge.hpp>
#include <countersign/processor/replay.hpp>
#include <countersign/processor/version.hpp>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <prometheus/registry.h>
#include <simdjson.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <iostream>

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int) { g_stop.store(true); }

namespace cp = countersign::processor;

void setup_logging(const std::string& level) {
  // Logs go to stderr: in replay, stdout carries the alerts.
  auto logger = spdlog::stderr_logger_mt("countersign");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

std::optional<cp::config> load(const std::string& path) {
  auto cfg = cp::load_config(path);
  if (!cfg) {
    std::cerr << "countersign: invalid configuration:\n" << cfg.error() << '\n';
    return std::nullopt;
  }
  return std::move(*cfg);
}

int run_service(const cp::config& cfg) {
  setup_logging(cfg.log_level);
  auto registry = std::make_shared<prometheus::Registry>();
  auto health = std::make_shared<countersign::metrics::health_state>();
  cp::metrics_bridge bridge(registry);
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
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  cp::kafka_runner runner(cfg, health, &bridge);
  if (auto r = runner.run(g_stop); !r) {
    spdlog::error("{}", r.error());
    return 1;
  }
  return 0;
}

int run_replay(const cp::config& cfg, const std::vector<std::string>& files) {
  setup_logging(cfg.log_level);
  std::ios::sync_with_stdio(false);
  const auto summary = cp::run_replay(cfg, files, std::cout, std::cerr);
  const auto& s = summary.stats;
  std::uint64_t rejected = 0;
  for (auto n : s.rejected) rejected += n;
  std::cerr << "replay: " << s.events << " events, " << s.observations << " in scope, " << s.alerts
            << " alerts, " << s.suppressed << " suppressed, " << rejected << " rejected";
  for (std::size_t i = 0; i < s.rejected.size(); ++i) {
    if (s.rejected[i] > 0) std::cerr << ", " << cp::to_string(static_cast<cp::reject_reason>(i)) << '=' << s.rejected[i];
  }
  std::cerr << '\n';
  return summary.unreadable_files > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"countersign: detects abuse of code-signing certificates (MITRE ATT&CK T1588.003) "
               "in endpoint telemetry on Kafka"};
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Run the stream processor on Kafka");
  run->add_option("--config,-c", config_path, "YAML config file")->required();

  std::vector<std::string> files;
  auto* replay = app.add_subcommand("replay", "Run the pipeline over NDJSON files or stdin; alerts on stdout");
  replay->add_option("--config,-c", config_path, "YAML config file")->required();
  replay->add_option("files", files, "NDJSON files ('-' or none: stdin)");

  auto* version = app.add_subcommand("version", "Print version and library versions");

  CLI11_PARSE(app, argc, argv);

  if (version->parsed()) {
    std::cout << "countersign " << cp::k_version << " (librdkafka " << rd_kafka_version_str()
              << ", simdjson " << SIMDJSON_STRINGIFY(SIMDJSON_VERSION) << ")\n";
    return 0;
  }
  auto cfg = load(config_path);
  if (!cfg) return 2;
  if (run->parsed()) return run_service(*cfg);
  return run_replay(*cfg, files);
}
