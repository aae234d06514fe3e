// Parse and full-pipeline throughput on one core, over the ECS fixture events cycled
// in memory. Reports events/s and bytes/s.
//
//   build/release/bench/countersign_bench_pipeline --benchmark_min_time=2

#include <countersign/processor/config.hpp>
#include <countersign/processor/input_parser.hpp>
#include <countersign/processor/pipeline.hpp>

#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> load_events() {
  std::vector<std::string> out;
  std::ifstream in(std::string(COUNTERSIGN_TEST_DATA) + "/ecs/process_events.ndjson");
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void bm_ecs_parse(benchmark::State& state) {
  const auto events = load_events();
  countersign::processor::input_parser parser;
  countersign::processor::observation_batch obs;
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& e = events[i++ % events.size()];
    auto r = parser.parse(e, obs);
    benchmark::DoNotOptimize(r);
    bytes += e.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(bm_ecs_parse);

// Parse, detect and render; suppression off so every malicious event renders an alert.
void bm_pipeline(benchmark::State& state) {
  const auto events = load_events();
  auto cfg = countersign::processor::parse_config("alerts: {suppression_cache_entries: 0}\n", "bench").value();
  countersign::processor::pipeline pipe(cfg);
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto& e = events[i % events.size()];
    auto r = pipe.process(e, {"bench", 0, static_cast<std::int64_t>(i)}, std::nullopt);
    benchmark::DoNotOptimize(r);
    bytes += e.size();
    ++i;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["alert_share"] =
      static_cast<double>(pipe.stats().alerts) / static_cast<double>(pipe.stats().events);
}
BENCHMARK(bm_pipeline);

}  // namespace

BENCHMARK_MAIN();
