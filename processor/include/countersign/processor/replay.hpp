#pragma once
// `countersign replay`: the pipeline over files or stdin (NDJSON, concatenated JSON
// documents, .evtx or event XML, told apart by content: record_reader), alerts as NDJSON on
// stdout in alerts.format (countersign, ocsf or ecs; `--format` overrides it). Detection
// time is event time, so the output is a pure function of the input and the config: the
// same files always print the same alerts.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/record_reader.hpp>

#include <array>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace countersign::processor {

struct replay_summary {
  pipeline_stats stats;
  std::uint64_t blank_lines = 0;
  std::uint64_t unreadable_files = 0;  // could not be opened
  std::uint64_t read_errors = 0;       // files that stopped early (I/O error, truncated or corrupt evtx)
  std::array<std::uint64_t, k_input_format_count> files_by_format{};  // indexed by input_format
  std::uint64_t intel_errors = 0;  // abused-certificate list files or rows that failed to load
};

// Processes each file in order ("-" is stdin; no files means stdin). Rejected records are
// reported on `diagnostics` as FILE:POSITION: reason (line, or evtx record number; the
// first 20 per reason, then counted). A file that stops early is reported by name and
// record, and the next file still runs. `progress` shows a progress line on stderr.
// `threads` > 1 parses and evaluates Sigma rules on that many threads (the calling one
// included) and runs everything that depends on earlier messages (Code Integrity join,
// repeat filter, hash stage, suppression, correlations) on the calling thread in input
// order: alerts, diagnostics, summary and state are those of one thread.
[[nodiscard]] replay_summary run_replay(const config& cfg, const std::vector<std::string>& files,
                                        std::ostream& alerts, std::ostream& diagnostics,
                                        state::prevalence_store* store = nullptr, bool progress = false,
                                        unsigned threads = 1);

}  // namespace countersign::processor
