#pragma once
// Windows path patterns for folder lists and exclusions, matched case-insensitively
// against a path with either separator:
//   *   any run of characters within one path segment (never a backslash)
//   **  any run of characters, separators included
//   ?   one character other than a separator
// e.g. `**\users\*\appdata\local\temp\**` matches `C:\Users\bob\AppData\Local\Temp\x.exe`
// and `\Device\HarddiskVolume3\Users\bob\AppData\Local\Temp\a\b.dll`.

#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {

class path_glob {
 public:
  path_glob() = default;
  explicit path_glob(std::string_view pattern);
  [[nodiscard]] bool matches(std::string_view path) const;
  // Same, for a path already folded (lowercase ASCII, '/' as '\\').
  [[nodiscard]] bool matches_folded(std::string_view folded) const;
  [[nodiscard]] const std::string& pattern() const noexcept { return pattern_; }

 private:
  std::string pattern_;  // lowercase, '/' as '\'
  std::string needle_;   // the longest literal run: a path without it cannot match
};

// Any of several patterns.
class path_glob_set {
 public:
  path_glob_set() = default;
  explicit path_glob_set(const std::vector<std::string>& patterns);
  [[nodiscard]] bool matches(std::string_view path) const;
  [[nodiscard]] bool empty() const noexcept { return globs_.empty(); }
  [[nodiscard]] const std::vector<path_glob>& globs() const noexcept { return globs_; }

 private:
  std::vector<path_glob> globs_;
};

}  // namespace countersign::rules
