#include <countersign/processor/replay.hpp>

#include <countersign/processor/record_reader.hpp>

#include <array>
#include <ostream>

namespace countersign::processor {

replay_summary run_replay(const config& cfg, const std::vector<std::string>& files,
                          std::ostream& alerts, std::ostream& diagnostics, state::prevalence_store* store,
                          bool progress) {
  constexpr std::uint64_t k_reports_per_reason = 20;
  replay_summary summary;
  pipeline pipe(cfg, store);
  std::array<std::uint64_t, k_reject_reason_count> reported{};
  if (pipe.local()) {
    const auto& intel = pipe.local()->initial_intel_report();
    for (const auto& e : intel.errors) {
      diagnostics << e.file;
      if (e.line) diagnostics << ':' << e.line;
      diagnostics << ": " << e.message << '\n';
    }
    summary.intel_errors = intel.errors.size();
  }

  const auto print_alerts = [&] {
    for (const auto& a : pipe.sigma_alerts()) alerts << a.payload(cfg.alerts.format) << '\n';
    for (const auto& a : pipe.alerts()) alerts << a.payload(cfg.alerts.format) << '\n';
  };
  progress_meter meter(progress);
  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.emplace_back("-");
  for (const auto& name : inputs) {
    auto opened = record_reader::open(name);
    if (!opened) {
      meter.clear();
      diagnostics << opened.error().message << '\n';
      ++summary.unreadable_files;
      continue;
    }
    record_reader& reader = **opened;
    ++summary.files_by_format[static_cast<std::size_t>(reader.format())];
    const auto it = cfg.input.schemas.find(name);
    const auto forced = it == cfg.input.schemas.end() ? rules::schema_profile::unknown : it->second;
    for (;;) {
      auto next = reader.next();
      if (!next) {
        meter.clear();
        diagnostics << next.error().message;
        if (!next.error().detail.empty()) diagnostics << " (" << next.error().detail << ')';
        diagnostics << '\n';
        ++summary.read_errors;
        break;
      }
      if (!*next) break;
      const input_record& rec = **next;
      const auto res = pipe.process(rec.bytes, {name, 0, rec.position}, std::nullopt, 0, forced);
      print_alerts();
      meter.tick(reader);
      if (res.kind == outcome::rejected) {
        auto& n = reported[static_cast<std::size_t>(res.reason)];
        if (n++ < k_reports_per_reason) {
          meter.clear();
          diagnostics << name << ':' << rec.position << ": rejected: " << to_string(res.reason);
          if (!res.detail.empty()) diagnostics << " (" << res.detail << ')';
          diagnostics << '\n';
        }
      }
    }
    summary.blank_lines += reader.blank_lines();
  }
  meter.clear();
  pipe.flush(std::nullopt);  // verdicts still waiting for a Code Integrity join
  print_alerts();
  // The input is finished: correlation windows still open are judged now (an
  // upper-bounded condition, `lt: 3`, is otherwise judged only once later events close them).
  pipe.finish_correlations(std::nullopt);
  print_alerts();
  pipe.flush_state();
  if (store && pipe.stats().state_updates > 0) {
    // History that only this directory holds: `countersign run` publishes it once.
    store->put_meta(state::k_unpublished_meta, 1);
    if (auto w = store->commit(); !w) diagnostics << "state: " << w.error() << '\n';
  }
  alerts.flush();
  summary.stats = pipe.stats();
  return summary;
}

}  // namespace countersign::processor
