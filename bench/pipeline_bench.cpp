// Parse and full-pipeline throughput on one core, per input profile, over the project's
// fixture events (tests/data/<profile>/*.ndjson, the lines the parser accepts) cycled in
// memory. Reports events/s and bytes/s. See docs/benchmarks.md for numbers.
//
//   build/release/bench/countersign_bench_pipeline --benchmark_min_time=2

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/pipeline.hpp>

#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace cp = countersign::processor;

// Accepted lines of every fixture file under tests/data/<dir>.
std::vector<std::string> load_events(const std::string& dir) {
  std::vector<std::string> out;
  cp::input_parser parser;
  cp::observation_batch batch;
  const std::filesystem::path root = std::filesystem::path(COUNTERSIGN_TEST_DATA) / dir;
  if (!std::filesystem::exists(root)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    if (entry.path().extension() != ".ndjson") continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (parser.parse(line, batch)) out.push_back(line);
    }
  }
  return out;
}

void bm_parse(benchmark::State& state, const std::vector<std::string>& events) {
  cp::input_parser parser;
  cp::observation_batch batch;
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& e = events[i++ % events.size()];
    auto r = parser.parse(e, batch);
    benchmark::DoNotOptimize(r);
    bytes += e.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

// Parse, join, detect and render; suppression off so every malicious event renders.
void bm_pipeline(benchmark::State& state, const std::vector<std::string>& events) {
  auto cfg = cp::parse_config("alerts: {suppression_cache_entries: 0}\n", "bench").value();
  cp::pipeline pipe(cfg);
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& e = events[i % events.size()];
    auto r = pipe.process(e, {"bench", 0, static_cast<std::int64_t>(i)}, std::nullopt, i);
    benchmark::DoNotOptimize(r);
    bytes += e.size();
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["alerts_per_event"] =
      static_cast<double>(pipe.stats().alerts) / static_cast<double>(pipe.stats().events);
}

// A fleet-like stream: events that alert make up about 1%, the rest are benign
// executions (the fixture's lines that do not alert), as in a real fleet where a few
// vendors sign most executions.
std::vector<std::string> fleet_mix(const std::vector<std::string>& events) {
  auto cfg = cp::parse_config("alerts: {suppression_cache_entries: 0}\n", "bench").value();
  cp::pipeline pipe(cfg);
  std::vector<std::string> benign, alerting, mix;
  for (const auto& e : events) {
    (void)pipe.process(e, {"bench", 0, 0}, std::nullopt);
    (pipe.alerts().empty() ? benign : alerting).push_back(e);
  }
  if (benign.empty() || alerting.empty()) return mix;
  for (std::size_t i = 0; i < 1000; ++i) {
    mix.push_back(i % 100 == 0 ? alerting[(i / 100) % alerting.size()] : benign[i % benign.size()]);
  }
  return mix;
}

}  // namespace

int main(int argc, char** argv) {
  static std::vector<std::pair<std::string, std::vector<std::string>>> sets;
  for (const char* dir : {"ecs", "winlogbeat", "ocsf", "defender", "codeintegrity"}) {
    auto events = load_events(dir);
    if (!events.empty()) sets.emplace_back(dir, std::move(events));
  }
  for (const auto& [name, events] : std::vector(sets)) {
    if (auto mix = fleet_mix(events); !mix.empty()) sets.emplace_back(name + "-fleet-1pct-alerts", std::move(mix));
  }
  for (const auto& [name, events] : sets) {
    benchmark::RegisterBenchmark(("parse/" + name).c_str(), bm_parse, std::cref(events));
    benchmark::RegisterBenchmark(("pipeline/" + name).c_str(), bm_pipeline, std::cref(events));
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
