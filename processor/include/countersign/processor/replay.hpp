#pragma once
// `countersign replay`: the pipeline over NDJSON files or stdin, alerts as NDJSON on
// stdout. Detection time is event time, so the output is a pure function of the input
// and the config: the same files always print the same alerts.

#include <countersign/processor/config.hpp>
#include <countersign/processor/pipeline.hpp>

#include <iosfwd>
#include <string>
#include <vector>

namespace countersign::processor {

struct replay_summary {
  pipeline_stats stats;
  std::uint64_t blank_lines = 0;
  std::uint64_t unreadable_files = 0;
  std::uint64_t intel_errors = 0;  // abused-certificate list files or rows that failed to load
};

// Processes each file in order ("-" is stdin; no files means stdin). Rejected lines are
// reported on `diagnostics` as FILE:LINE: reason (the first 20 per reason, then counted).
[[nodiscard]] replay_summary run_replay(const config& cfg, const std::vector<std::string>& files,
                                        std::ostream& alerts, std::ostream& diagnostics,
                                        state::prevalence_store* store = nullptr);

}  // namespace countersign::processor
