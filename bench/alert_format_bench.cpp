// Rendering cost of one alert in each format (rules::render_alert): a process start
// with a full certificate, two detections and the prevalence block, as the hash stage
// renders it. Reports time per alert and bytes per alert. See docs/benchmarks.md.
//
//   build/release/bench/countersign_bench_alert_format --benchmark_min_time=1

#include <countersign/rules/alert.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

namespace rules = countersign::rules;

rules::observation sample_observation() {
  rules::observation o;
  o.kind = rules::event_kind::process_start;
  o.event_time_ms = 1'767'225'600'000;
  o.host_id.set("8f2d6c1e-0b7a-4d55-9a51-3c7f0e6b2a90");
  o.host_name.set("ws-finance-042");
  o.user_name.set("CORP\\j.doe");
  o.image_path.set("C:\\Users\\j.doe\\AppData\\Local\\Temp\\updater\\svc_update.exe");
  o.sha256.set("3f4a1c9e2b7d8a6f5e4c3b2a190817263544536271809a8b7c6d5e4f3a2b1c0d");
  o.sha1.set("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
  o.pe.original_file_name.set("svc_update.exe");
  o.pe.company.set("Microsoft Corporation");
  o.pe.product.set("Windows Update");
  o.pe.description.set("Update service");
  o.pe.file_version.set("10.0.19041.1");
  auto& s = o.signature;
  s.exists = true;
  s.status = rules::signature_status::revoked;
  s.status_raw.set("errorRevoked");
  s.trusted = false;
  s.subject.set("CN=Blue Ridge Software Ltd, O=Blue Ridge Software Ltd, C=GB");
  s.subject_cn.set("Blue Ridge Software Ltd");
  s.issuer.set("CN=Example Code Signing CA R3, O=Example Trust, C=US");
  s.serial.set("0e4d2c6a8b1f3e5d7c9a");
  s.thumbprint.set("9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b");
  s.not_before_ms = 1'760'000'000'000;
  s.not_after_ms = 1'791'536'000'000;
  s.signing_time_ms = 1'766'000'000'000;
  o.source = {rules::schema_profile::ecs, "edr.process", 3, 1'234'567};
  return o;
}

std::vector<rules::hit> sample_hits() {
  std::vector<rules::hit> hits(2);
  hits[0].id = "cs.signature.revoked";
  hits[0].title = "Code signed with a revoked certificate ran";
  hits[0].level = rules::severity::high;
  hits[0].reason = "signature status revoked (errorRevoked) at execution";
  hits[0].evidence = {{"status", "revoked"}, {"status_raw", "errorRevoked"}};
  hits[1].id = "cs.metadata.subject_mismatch";
  hits[1].title = "PE company does not match the signer";
  hits[1].level = rules::severity::high;
  hits[1].reason = "company \"Microsoft Corporation\" shares no token with signer \"Blue Ridge Software Ltd\"";
  hits[1].evidence = {{"company", "Microsoft Corporation"}, {"signer", "Blue Ridge Software Ltd"}, {"hash_hosts", "1"}};
  return hits;
}

void bm_render(benchmark::State& state, rules::alert_format format) {
  const auto obs = sample_observation();
  const auto hits = sample_hits();
  const rules::alert_prevalence prevalence{
      countersign::state::prevalence_record{1'767'225'600'000, 1'767'225'600'000, 1, 0},
      countersign::state::prevalence_record{1'767'000'000'000, 1'767'225'600'000, 2, 3},
      countersign::state::prevalence_record{1'700'000'000'000, 1'767'225'600'000, 40, 12}};
  static constexpr std::string_view k_technique[] = {"T1588.003"};
  const rules::alert_content content{obs, hits, "4c1f0d6b9e2a7c3d8f5b1a0e6d4c2b9a", 1'767'225'600'250, &prevalence,
                                     k_technique, "0.1.0"};
  std::string out;
  out.reserve(4096);  // the stages reuse their alert slots
  for (auto _ : state) {
    rules::render_alert(format, content, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_alert"] = static_cast<double>(out.size());
}

BENCHMARK_CAPTURE(bm_render, countersign, rules::alert_format::countersign);
BENCHMARK_CAPTURE(bm_render, ocsf, rules::alert_format::ocsf);
BENCHMARK_CAPTURE(bm_render, ecs, rules::alert_format::ecs);

}  // namespace

BENCHMARK_MAIN();
