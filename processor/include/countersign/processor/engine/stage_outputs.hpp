#pragma once
// What an engine stage made of its last input, for whoever carries it on (the Kafka
// runner, replay, tests): every stage reports through this one type, and no stage knows
// where its outputs go.
//
//   ingest (pipeline)    sigma_alerts; observations and correlation matches for the
//                        observations topic; releases of held Code Integrity verdicts;
//                        alerts too when it judges in-process (replay)
//   hash owner           alerts
//   correlation stage    alerts (its caller's buffer: correlation_stage::process)
//
// The spans point into the stage's reused buffers: valid until its next call.

#include <countersign/processor/engine/pipeline_stats.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace countersign::processor {

// An observation (or a Sigma match a correlation needs) for the observations topic.
struct forwarded_observation {
  std::uint64_t token = 0;    // of the message it came from
  bool deferred = false;      // a verdict released after its message was processed
  std::int32_t partition = 0; // observations partition of its key
  std::string key;            // file hash (else host): the hash stage's key; a
                              // correlation match: the correlation's group
  std::string record;         // rules::encode_observation / rules::sigma::encode_routed
};

struct stage_outputs {
  std::span<const emitted_alert> alerts{};        // judged: detectors, correlations
  std::span<const emitted_alert> sigma_alerts{};  // Sigma rule matches (at ingest)
  // For the observations topic. An entry with `deferred` set belongs to an earlier
  // message (a held verdict released now, by its token); the others to this input.
  std::span<const forwarded_observation> observations{};
  std::span<const forwarded_observation> correlation_matches{};
  // Tokens of held messages whose verdicts all left the join in this call.
  std::span<const std::uint64_t> releases{};
};

}  // namespace countersign::processor
