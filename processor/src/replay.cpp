#include <countersign/processor/replay.hpp>

#include <array>
#include <fstream>
#include <iostream>

namespace countersign::processor {

replay_summary run_replay(const config& cfg, const std::vector<std::string>& files,
                          std::ostream& alerts, std::ostream& diagnostics, state::prevalence_store* store) {
  constexpr std::uint64_t k_reports_per_reason = 20;
  replay_summary summary;
  pipeline pipe(cfg, store);
  std::array<std::uint64_t, k_reject_reason_count> reported{};
  std::string line;
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
    for (const auto& a : pipe.sigma_alerts()) alerts << a.json << '\n';
    for (const auto& a : pipe.alerts()) alerts << a.json << '\n';
  };
  const auto replay_stream = [&](std::istream& in, const std::string& name) {
    const auto it = cfg.input.schemas.find(name);
    const auto forced = it == cfg.input.schemas.end() ? rules::schema_profile::unknown : it->second;
    std::int64_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) {
        ++summary.blank_lines;
        continue;
      }
      const auto res = pipe.process(line, {name, 0, line_no}, std::nullopt, 0, forced);
      print_alerts();
      if (res.kind == outcome::rejected) {
        auto& n = reported[static_cast<std::size_t>(res.reason)];
        if (n++ < k_reports_per_reason) {
          diagnostics << name << ':' << line_no << ": rejected: " << to_string(res.reason);
          if (!res.detail.empty()) diagnostics << " (" << res.detail << ')';
          diagnostics << '\n';
        }
      }
    }
  };

  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.emplace_back("-");
  for (const auto& name : inputs) {
    if (name == "-") {
      replay_stream(std::cin, "-");
      continue;
    }
    std::ifstream in(name, std::ios::binary);
    if (!in) {
      diagnostics << name << ": cannot open\n";
      ++summary.unreadable_files;
      continue;
    }
    replay_stream(in, name);
  }
  pipe.flush(std::nullopt);  // verdicts still waiting for a Code Integrity join
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
