#include <countersign/rules/path_glob.hpp>

#include <cctype>
#include <vector>

namespace countersign::rules {
namespace {

char fold(char c) {
  if (c == '/') return '\\';
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

std::string_view folded(std::string_view s) {
  thread_local std::string out;
  out.resize(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = fold(s[i]);
  return out;
}

// Dynamic programming over (pattern token, subject prefix): O(tokens x length), no
// backtracking blow-up whatever the pattern. row[j]: the tokens so far match s[0, j).
bool match(std::string_view p, std::string_view s) {
  thread_local std::vector<char> row;
  thread_local std::vector<char> next;
  row.assign(s.size() + 1, 0);
  next.assign(s.size() + 1, 0);
  row[0] = 1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool star = p[i] == '*';
    const bool crosses = star && i + 1 < p.size() && p[i + 1] == '*';
    if (crosses) ++i;
    next[0] = star ? row[0] : 0;
    for (std::size_t j = 1; j <= s.size(); ++j) {
      const char c = s[j - 1];
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
  std::size_t start = 0;
  for (std::size_t i = 0; i <= pattern_.size(); ++i) {
    if (i == pattern_.size() || pattern_[i] == '*' || pattern_[i] == '?') {
      if (i - start > needle_.size()) needle_ = pattern_.substr(start, i - start);
      start = i + 1;
    }
  }
}

bool path_glob::matches(std::string_view path) const { return matches_folded(folded(path)); }

bool path_glob::matches_folded(std::string_view s) const {
  if (pattern_.empty()) return false;
  if (!needle_.empty() && s.find(needle_) == std::string_view::npos) return false;
  return match(pattern_, s);
}

path_glob_set::path_glob_set(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) globs_.emplace_back(p);
}

bool path_glob_set::matches(std::string_view path) const {
  if (globs_.empty()) return false;
  const std::string_view s = folded(path);
  for (const auto& g : globs_) {
    if (g.matches_folded(s)) return true;
  }
  return false;
}

}  // namespace countersign::rules
