#pragma once
// Windows path patterns for folder lists and exclusions, matched case-insensitively
// against a path with either separator:
//   *   any run of characters within one path segment (never a backslash)
//   **  any run of characters, separators included
//   ?   one character other than a separator
// e.g. `**\users\*\appdata\local\temp\**` matches `C:\Users\bob\AppData\Local\Temp\x.exe`
// and `\Device\HarddiskVolume3\Users\bob\AppData\Local\Temp\a\b.dll`.
//
// Paths are matched in canonical form (canonicalize_path below), because Windows
// accepts many spellings of one folder and an attacker picks whichever slips past a
// folder test: `\\?\C:\...`, `C:\Windows\System32\..\..\Users\...`, `C:\PROGRA~1\...`,
// or a real folder named `C:\Windows \` (the "mock trusted directory").

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {

// The spelling of a path that folder lists are matched against.
//
// folded: lowercase ASCII, '\\' as the only separator, and
//   - Win32/NT namespace prefixes removed: `\\?\`, `\\.\`, `\??\`, `\GLOBAL??\`
//     (`\\?\C:\x` -> `c:\x`), `\\?\UNC\srv\share` -> `\\srv\share`,
//     `\\?\GLOBALROOT\Device\...` -> `\device\...`; `\Device\HarddiskVolumeN\...` stays;
//   - runs of separators collapsed (a UNC path keeps its leading `\\`), `.` segments
//     dropped, `..` segments resolved; never above the root (`c:\`, `\\srv\share`,
//     `\device\<volume>`, `\`); a relative path keeps the `..` it cannot resolve;
//   - trailing dots and spaces removed from every segment;
//   - well-known 8.3 short names expanded (`progra~1` under a volume root ->
//     `program files`, `appdat~1` -> `appdata`, ...: the table in path_glob.cpp).
// mock_segment: some segment lost trailing dots or spaces. Win32 trims them when it
//   normalizes a path, so a trust check sees `C:\Windows\System32`, while the file
//   system kept the folder `C:\Windows \System32` that only the `\\?\` namespace can
//   create: benign software essentially never has one.
// unresolved_short_name: some segment looks like an 8.3 short name (`BASE~N`, BASE
//   1-6 characters, optionally `.EXT`) that the table does not expand; it stays as
//   written, so the long folder it stands for is unknown.
// Both flags stay set when a later `..` removes the segment: a path that walks through a
// disguised folder is no less disguised.
//
// `folded` lives in a thread_local buffer: valid until the next canonicalize_path call
// on the same thread. Linear time, no allocation once the buffer has grown.
struct canonical_path {
  std::string_view folded;
  bool mock_segment = false;
  bool unresolved_short_name = false;
};
[[nodiscard]] canonical_path canonicalize_path(std::string_view path);

class path_glob {
 public:
  path_glob() = default;
  explicit path_glob(std::string_view pattern);
  // The canonical form of `path` matches; whether a disguised path should count is the
  // set's decision (glob_role), not one pattern's.
  [[nodiscard]] bool matches(std::string_view path) const;
  // Exactly this string, already folded (lowercase ASCII, '/' as '\\'), not canonicalized:
  // pass canonicalize_path(path).folded for the canonical form.
  [[nodiscard]] bool matches_folded(std::string_view folded) const;
  [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }

 private:
  std::string pattern_;  // lowercase, '/' as '\'
  std::string needle_;   // the longest literal run: a path without it cannot match
};

// What a match of a set leads to, which decides how a disguised path counts.
enum class glob_role : std::uint8_t {
  // A match makes things quieter (system folders, exclusions, trusted places): only the
  // canonical path may match, and a path with a mock segment or an unresolved short
  // name never does; a disguised path earns no exemption.
  exempt,
  // A match makes things louder (user-writable folders): the canonical path matches; a
  // path with a mock segment always matches (only a user creates such a folder); an
  // unresolved short name `BASE~N` may stand for any literal segment of the set's
  // patterns whose 8.3 base starts with BASE (`APPDAT~2` -> `appdata`) and matches if
  // one of those readings does. Past 64 readings, or 64 readings of a 4 KiB path, the
  // path matches without trying them: nobody writes that many short names innocently.
  suspect,
};

// Any of several patterns.
class path_glob_set {
 public:
  path_glob_set() = default;
  explicit path_glob_set(const std::vector<std::string>& patterns, glob_role role = glob_role::exempt);
  [[nodiscard]] bool matches(std::string_view path) const;
  // For a caller testing one path against several sets: canonicalize once.
  [[nodiscard]] bool matches_canonical(const canonical_path& path) const;
  [[nodiscard]] bool empty() const noexcept { return globs_.empty(); }
  [[nodiscard]] glob_role role() const noexcept { return role_; }
  [[nodiscard]] const std::vector<path_glob>& globs() const noexcept { return globs_; }

 private:
  // A literal segment of some pattern, as an unresolved short name may abbreviate it.
  struct literal_segment {
    std::string name;  // folded
    std::string base;  // 8.3 base: spaces and dots removed, at most 6 characters
    std::string ext;   // 8.3 extension: after the last dot, at most 3 characters
  };

  [[nodiscard]] bool any_glob_matches(std::string_view folded) const;
  [[nodiscard]] bool some_expansion_matches(std::string_view folded) const;

  std::vector<path_glob> globs_;
  glob_role role_ = glob_role::exempt;
  std::vector<literal_segment> vocabulary_;  // suspect sets only
};

}  // namespace countersign::rules
