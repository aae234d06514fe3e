#include <countersign/rules/path_glob.hpp>

#include <cctype>
#include <vector>

namespace countersign::rules {
namespace {

char fold(char c) {
  if (c == '/') return '\\';
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

// Dynamic programming over (pattern token, subject prefix): O(tokens x length), no
// backtracking blow-up whatever the pattern. row[j]: the tokens so far match s[0, j).
bool match(std::string_view p, std::string_view s) {
  std::vector<char> row(s.size() + 1, 0);
  std::vector<char> next(s.size() + 1, 0);
  row[0] = 1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool star = p[i] == '*';
    const bool crosses = star && i + 1 < p.size() && p[i + 1] == '*';
    if (crosses) ++i;
    next[0] = star ? row[0] : 0;
    for (std::size_t j = 1; j <= s.size(); ++j) {
      const char c = fold(s[j - 1]);
      if (star) {
        next[j] = static_cast<char>(row[j] || (next[j - 1] && (crosses || c != '\\')));
      } else if (p[i] == '?') {
        next[j] = static_cast<char>(row[j - 1] && c != '\\');
      } else {
        next[j] = static_cast<char>(row[j - 1] && p[i] == c);
      }
    }
    row.swap(next);
  }
  return row[s.size()] != 0;
}

}  // namespace

path_glob::path_glob(std::string_view pattern) {
  pattern_.reserve(pattern.size());
  for (const char c : pattern) pattern_.push_back(fold(c));
}

bool path_glob::matches(std::string_view path) const { return !pattern_.empty() && match(pattern_, path); }

path_glob_set::path_glob_set(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) globs_.emplace_back(p);
}

bool path_glob_set::matches(std::string_view path) const {
  for (const auto& g : globs_) {
    if (g.matches(path)) return true;
  }
  return false;
}

}  // namespace countersign::rules
