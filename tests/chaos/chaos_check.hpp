#pragma once
// The verdict of one chaos scenario: what the alerts topic, the dead-letter topic and
// the group's committed offsets hold at the end, against what replay of the same input
// says they must hold. Pure, so the self-test can show each check failing.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace countersign::chaos {

struct outcome {
  std::set<std::string> expected_ids;        // alert ids of replay over the same input
  std::vector<std::string> alert_ids;        // every record of the alerts topic, in order
  std::set<std::string> hostile_sources;     // "partition@offset" of every hostile input message
  std::vector<std::string> dead_letter_sources;  // countersign.source.* headers of every dead letter
  std::map<std::string, long long> uncommitted;  // "topic/partition" -> end minus committed, where not 0
};

struct verdict {
  std::size_t received = 0;     // distinct alert ids read
  std::size_t duplicated = 0;   // records beyond the first of an id (allowed: at-least-once after kill -9)
  std::size_t missing = 0;      // expected ids never read (never allowed)
  std::size_t unexpected = 0;   // ids replay does not raise (never allowed)
  std::size_t hostile_missing = 0;  // hostile messages not dead-lettered
  std::size_t real_dead_lettered = 0;  // dead letters of messages that were not hostile
  std::vector<std::string> problems;   // empty: the scenario passed
};

inline verdict judge(const outcome& o) {
  verdict v;
  std::set<std::string> seen;
  for (const auto& id : o.alert_ids) {
    if (!seen.insert(id).second) ++v.duplicated;
  }
  v.received = seen.size();
  for (const auto& id : o.expected_ids) v.missing += seen.contains(id) ? 0 : 1;
  for (const auto& id : seen) v.unexpected += o.expected_ids.contains(id) ? 0 : 1;
  const std::set<std::string> dead(o.dead_letter_sources.begin(), o.dead_letter_sources.end());
  for (const auto& h : o.hostile_sources) v.hostile_missing += dead.contains(h) ? 0 : 1;
  for (const auto& d : dead) v.real_dead_lettered += o.hostile_sources.contains(d) ? 0 : 1;
  if (v.missing > 0) v.problems.push_back(std::to_string(v.missing) + " expected alert(s) never arrived");
  if (v.unexpected > 0) v.problems.push_back(std::to_string(v.unexpected) + " alert id(s) replay does not raise");
  if (v.hostile_missing > 0) v.problems.push_back(std::to_string(v.hostile_missing) + " hostile message(s) not dead-lettered");
  if (v.real_dead_lettered > 0) v.problems.push_back(std::to_string(v.real_dead_lettered) + " real event(s) dead-lettered");
  for (const auto& [where, lag] : o.uncommitted) {
    v.problems.push_back(where + ": committed offset " + std::to_string(lag) + " behind the end");
  }
  return v;
}

}  // namespace countersign::chaos
