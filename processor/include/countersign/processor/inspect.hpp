#pragma once
// `countersign inspect`: what countersign makes of a sample of a pipeline's events, the
// first command a new user runs on their own data. Every record of every file (any shape
// record_reader reads) goes through the input parser, and the report says:
//
//   * events read per file and format;
//   * which profile took how many events, and per profile how often each Observation
//     field came out filled, present but empty, or missing;
//   * rejects by reason and out-of-scope events by reason, each with one example;
//   * events of no known shape, grouped by their sorted top-level keys, with a
//     user-profile skeleton for the largest groups.
//
// Nothing is judged and nothing is written anywhere but the report. Single-threaded.

#include <countersign/processor/config.hpp>
#include <countersign/rules/observation.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

struct inspect_options {
  rules::schema_profile forced = rules::schema_profile::unknown;  // --schema; unknown: detect
  bool progress = false;       // the progress line on stderr
  std::size_t skeletons = 3;   // unknown shapes that get a profile skeleton
};

// Where an example event is, and what was said about it.
struct inspect_example {
  std::string file;
  std::int64_t position = 0;  // line, or evtx record number
  std::string detail;
};

struct inspect_report {
  struct file_entry {
    std::string name;
    std::string format;          // "ndjson", "json", "evtx"; empty when it did not open
    std::uint64_t events = 0;
    std::uint64_t blank_lines = 0;
    std::string error;           // why it could not be opened or read to the end
  };
  struct tally {
    std::uint64_t count = 0;
    inspect_example example;     // the first one
  };
  struct field_fill {
    std::uint64_t filled = 0;    // present and not empty
    std::uint64_t empty = 0;     // present but empty
    std::uint64_t missing = 0;
  };
  struct profile_entry {
    std::uint64_t events = 0;        // messages read as this profile
    std::uint64_t observations = 0;  // observations they yielded
    std::uint64_t in_scope = 0;      // events the built-in detectors judge
    std::vector<field_fill> fields;  // indexed like inspect_field_names()
  };
  struct shape {
    std::vector<std::string> keys;   // sorted top-level keys
    std::uint64_t count = 0;
    inspect_example example;
    std::vector<std::string> paths;  // dotted leaf paths of the example (for the skeleton)
  };

  std::vector<file_entry> files;
  std::uint64_t events = 0;
  std::vector<std::string> profile_problems;      // input.profiles_file load problems
  std::map<std::string, profile_entry> profiles;  // by profile name ("user:NAME" for user profiles)
  std::map<std::string, tally> rejects;           // by reject reason
  std::map<std::string, tally> out_of_scope;      // by reason (see inspect.cpp)
  std::vector<shape> unknown_shapes;              // largest group first (at most 1000 groups)
  std::uint64_t ungrouped_shapes = 0;             // events of further shapes, counted only

  // A file could not be opened, or stopped early.
  [[nodiscard]] bool failed() const noexcept;
};

// The Observation fields the report counts, in report order ("host_name", "pe.company",
// "signature.status", "ci.event_id", "kind", ...).
[[nodiscard]] std::span<const std::string_view> inspect_field_names() noexcept;

// Reads every file ("-" is stdin) with `cfg`'s input limits. Never throws on bad input.
[[nodiscard]] inspect_report run_inspect(const config& cfg, const std::vector<std::string>& files,
                                         const inspect_options& options = {});

// The report as text (for people) or one JSON object (for scripts).
void write_inspect_text(const inspect_report& report, std::ostream& out, std::size_t skeletons = 3);
void write_inspect_json(const inspect_report& report, std::ostream& out, std::size_t skeletons = 3);

// A user-profile YAML skeleton (a `profiles:` list entry) for one unknown shape: its keys
// as the match condition, Observation fields guessed from key names. To be edited.
[[nodiscard]] std::string profile_skeleton(const inspect_report::shape& shape, std::string_view name);

}  // namespace countersign::processor
