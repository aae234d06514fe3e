// Full pipeline in replay mode with the RocksDB prevalence store, over generated ECS
// events: events/s, state size on disk, peak RSS. One core, one thread.
//
//   build/release/bench/countersign_bench_state [EVENTS] [DISTINCT_HASHES] [HOSTS]
//   (defaults 1000000 100000 5000)
//
// The fleet: a few vendors sign most executions (80% of events run 1% of the hashes),
// a long tail of rare software, 200 signers with one signing half of all hashes,
// events spread over 10 days of event time. Generation cost is measured separately and
// reported, so the pipeline rate is not flattered or penalized by it.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/state/prevalence_store.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

namespace {

namespace cp = countersign::processor;

class fleet {
 public:
  fleet(std::uint64_t hashes, std::uint64_t hosts) : hashes_(hashes), hosts_(hosts) {}

  // One ECS process event; the i-th of the run.
  const std::string& event(std::uint64_t i) {
    const bool popular = rng_() % 100 < 80;
    const std::uint64_t hot = std::max<std::uint64_t>(1, hashes_ / 100);
    const std::uint64_t h = popular ? rng_() % hot : hot + rng_() % (hashes_ - hot);
    const std::uint64_t host = rng_() % hosts_;
    const std::uint64_t signer = h % 2 == 0 ? 0 : 1 + h % 199;  // signer 0 signs half of all hashes
    const std::int64_t t = 1'795'168'800'000 + static_cast<std::int64_t>(i * 864'000'000ULL / 1'000'000ULL % 864'000'000ULL);
    const std::int64_t secs = t / 1000;
    char ts[32];
    const std::time_t tt = secs;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char out[1400];
    const int n = std::snprintf(
        out, sizeof out,
        R"({"@timestamp":"%s","ecs":{"version":"8.11.0"},"event":{"kind":"event","category":["process"],"type":["start"]},)"
        R"("host":{"id":"host-%06llu","name":"WS-%06llu","os":{"family":"windows"}},"user":{"name":"user%llu"},)"
        R"("process":{"pid":%llu,"executable":"C:\\Program Files\\Vendor%llu\\app%llu.exe","hash":{"sha256":"%016llx%016llx%016llx%016llx"},)"
        R"("pe":{"original_file_name":"app%llu.exe","company":"Vendor %llu Inc."},)"
        R"("code_signature":{"exists":true,"status":"trusted","trusted":true,"subject_name":"Vendor %llu Inc.","thumbprint_sha256":"%016llx%016llx%016llx%016llx"}},)"
        R"("file":{"x509":{"issuer":{"common_name":"Code Signing CA %llu"},"not_before":"2025-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z"}}})",
        ts, static_cast<unsigned long long>(host), static_cast<unsigned long long>(host),
        static_cast<unsigned long long>(host % 50), static_cast<unsigned long long>(1000 + i % 60000),
        static_cast<unsigned long long>(signer), static_cast<unsigned long long>(h), 0xa5a5ULL,
        static_cast<unsigned long long>(h), 0x5a5aULL, static_cast<unsigned long long>(h * 2654435761ULL),
        static_cast<unsigned long long>(h), static_cast<unsigned long long>(signer),
        static_cast<unsigned long long>(signer), 0xbeefULL, static_cast<unsigned long long>(signer), 0xcafeULL,
        static_cast<unsigned long long>(signer), static_cast<unsigned long long>(signer % 12));
    buf_.assign(out, static_cast<std::size_t>(n > 0 ? n : 0));
    return buf_;
  }

 private:
  std::uint64_t hashes_;
  std::uint64_t hosts_;
  std::mt19937_64 rng_{20261129};
  std::string buf_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::uint64_t hashes = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100'000;
  const std::uint64_t hosts = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 5'000;
  const auto dir = std::filesystem::temp_directory_path() / ("countersign-bench-state-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);

  // Generation alone, to subtract.
  fleet gen_only(hashes, hosts);
  std::size_t bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < events; ++i) bytes += gen_only.event(i).size();
  const double gen_s = seconds_since(t0);

  auto cfg = cp::parse_config("learning: {min_history: 1d}\n", "bench").value();
  countersign::state::store_options options;
  options.path = dir.string();
  options.block_cache_bytes = cfg.state.block_cache_bytes;
  options.write_buffer_bytes = cfg.state.write_buffer_bytes;
  auto store = countersign::state::prevalence_store::open(options);
  if (!store) {
    std::cerr << store.error() << '\n';
    return 1;
  }
  std::uint64_t alerts = 0;
  {
    cp::pipeline pipe(cfg, store->get());
    fleet f(hashes, hosts);
    t0 = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < events; ++i) {
      (void)pipe.process(f.event(i), {"bench", 0, static_cast<std::int64_t>(i)}, std::nullopt, i);
      alerts += pipe.alerts().size();
    }
    pipe.flush_state();
    const double total_s = seconds_since(t0);
    const double pipeline_s = total_s - gen_s;
    if (auto s = (*store)->compact_all(); !s) std::cerr << "compaction: " << s.error() << '\n';
    const auto st = (*store)->current_stats();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::uintmax_t disk = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) disk += e.file_size();
    }
    std::printf("events                 %llu (%.0f B avg), %llu distinct hashes (target), %llu hosts\n",
                static_cast<unsigned long long>(events), static_cast<double>(bytes) / static_cast<double>(events),
                static_cast<unsigned long long>(hashes), static_cast<unsigned long long>(hosts));
    std::printf("generation only        %.2f s\n", gen_s);
    std::printf("pipeline with state    %.2f s  -> %.0f events/s (generation subtracted)\n", pipeline_s,
                static_cast<double>(events) / pipeline_s);
    std::printf("state updates          %llu new facts (%.1f%% of events), %llu write errors\n",
                static_cast<unsigned long long>(pipe.stats().state_updates),
                100.0 * static_cast<double>(pipe.stats().state_updates) / static_cast<double>(events),
                static_cast<unsigned long long>(pipe.stats().state_errors));
    std::printf("alerts                 %llu\n", static_cast<unsigned long long>(alerts));
    std::printf("state on disk          %.1f MiB (live SST %.1f MiB, after full compaction)\n",
                static_cast<double>(disk) / 1048576.0, static_cast<double>(st.sst_bytes) / 1048576.0);
    std::printf("peak RSS               %.1f MiB (block cache %zu MiB + write buffers %zu MiB configured)\n",
                static_cast<double>(usage.ru_maxrss) / 1024.0, options.block_cache_bytes >> 20,
                options.write_buffer_bytes >> 20);
  }
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
