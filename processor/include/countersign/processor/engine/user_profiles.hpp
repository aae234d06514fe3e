#pragma once
// User-defined input profiles (docs/profiles.md): a YAML file maps a JSON shape nobody
// foresaw onto the observation, so a new pipeline needs configuration, not a release.
//
//   YAML ─► load_user_profiles (reader + compiler; every problem with file:line and the
//           profile name; a broken profile is skipped, the rest load)
//        ─► user_profile_set (immutable; paths compiled into one trie of key segments per
//           profile, and one trie of the match conditions of all profiles)
//   message ─► match(root) ─► index i ─► walk(i, root, ...) ─► observations
//
// The shipped profiles (rules/content/profiles/*.yaml: osquery) are compiled in and load
// through the same engine. `user_profile_library` re-reads a profile file when it
// changes and keeps the previous set when the new text does not load.
//
// Threading: a set is immutable after load and shared between threads through
// shared_ptr<const>; match() and walk() keep their state on the stack and in the
// caller's walk_context, and allocate nothing per message once the caller's reused
// observations have grown. The library is used by one thread (the runner's loop).

#include <countersign/processor/engine/observation_batch.hpp>

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

namespace detail {
// processor/src/engine/profiles/walk.hpp (internal): the walkers' shared context and result.
enum class walk_status : std::uint8_t;
struct walk_context;
}  // namespace detail

// One problem found while loading profiles. `error` false: a warning (the profile loads).
struct profile_diagnostic {
  std::string file;
  int line = 0;
  std::string profile;  // "?" when the profile has no usable name
  std::string message;
  bool error = true;
  // "FILE:LINE: profile NAME: message" (warnings say "warning: " before the message).
  [[nodiscard]] std::string text() const;
};

// The profiles of one load, in match order. Immutable after construction.
class user_profile_set {
 public:
  struct profile;  // compiled, internal (user_profile.cpp)
  struct index;    // the match trie over all profiles, internal

  user_profile_set();
  explicit user_profile_set(std::vector<profile> profiles);
  ~user_profile_set();
  user_profile_set(const user_profile_set&) = delete;
  user_profile_set& operator=(const user_profile_set&) = delete;

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] std::string_view name(std::size_t i) const;
  // The index of the profile named `name` (input.schemas pins a topic to "user:NAME"), -1 if none.
  [[nodiscard]] int find(std::string_view name) const noexcept;
  // Which profile recognizes this top-level object: the first, in set order, whose match
  // conditions all hold; -1 for none. Reads the keys (and the values its conditions name)
  // of `root` in one scan without allocating; the caller rewinds the document afterwards.
  // A JSON error while scanning is -1 too (the built-in path reports it).
  [[nodiscard]] int match(simdjson::ondemand::object root) const;
  // Reads the document as profile i, appending observations to `out`: one, one per
  // element of a `records` array, or none for an empty records array. Failures (wrong
  // type, missing host or time, a field above the size limit) name the mapped path in
  // the context's error. The caller sets `source.schema` (rules::schema_profile::user).
  [[nodiscard]] detail::walk_status walk(std::size_t i, simdjson::ondemand::object root, detail::walk_context& c,
                                         observation_batch& out) const;

  // The profiles of `first`, then those of `then` whose names `first` does not use
  // (file profiles before the shipped ones: a user's profile wins a tie).
  [[nodiscard]] static std::shared_ptr<const user_profile_set> combine(const user_profile_set& first,
                                                                      const user_profile_set& then);

 private:
  std::vector<profile> profiles_;
  std::unique_ptr<index> index_;
};

struct profile_load_result {
  std::shared_ptr<const user_profile_set> set;  // never null (possibly empty)
  std::vector<profile_diagnostic> diagnostics;
  [[nodiscard]] bool has_errors() const noexcept;
};

// YAML text of one file (`file` names it in diagnostics).
[[nodiscard]] profile_load_result load_user_profiles(std::string_view yaml_text, std::string_view file);
// The same from a file on disk ("cannot read file" when it cannot be read).
[[nodiscard]] profile_load_result load_user_profiles_file(const std::filesystem::path& path);

// The shipped profiles (rules/content/profiles/*.yaml, compiled in): osquery.
struct profile_content_file {
  std::string_view name;
  std::string_view text;
};
[[nodiscard]] const std::vector<profile_content_file>& builtin_profile_files();
[[nodiscard]] profile_load_result load_builtin_profiles();

// A profile file re-read when its mtime or size changes, like sigma_library. current()
// is the file's profiles followed by the shipped ones (unless `include_builtin` is
// false); a file that no longer loads cleanly keeps the previous set and reports why.
// An empty path: the shipped profiles only. Used by one thread.
class user_profile_library {
 public:
  explicit user_profile_library(std::string path, bool include_builtin = true);

  struct reload_report {
    bool changed = false;  // a new set was built
    std::vector<profile_diagnostic> diagnostics;
  };
  // The first call loads; later calls re-read the file when its mtime or size changed.
  reload_report reload();
  // Never null (the shipped profiles before the first reload).
  [[nodiscard]] std::shared_ptr<const user_profile_set> current() const { return current_; }

 private:
  std::string path_;
  bool include_builtin_;
  std::shared_ptr<const user_profile_set> builtin_;
  std::shared_ptr<const user_profile_set> current_;
  std::filesystem::file_time_type mtime_{};
  std::uintmax_t size_ = 0;
  bool readable_ = false;
  bool loaded_ = false;
  bool failed_ = false;  // the last read had errors: its profiles were not taken
};

}  // namespace countersign::processor
