#pragma once
// Reading Sigma documents with yaml-cpp, shared by the rule loader (loader.cpp) and the
// correlation parser (correlation_load.cpp): lines of nodes and keys, scalars and lists
// that fail with a document_problem, and `collect`, which keeps every problem of a
// document instead of stopping at the first. Private to the Sigma sources.

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "correlation_parse.hpp"

namespace countersign::rules::sigma::detail {

inline int line_of(const YAML::Node& n, int fallback) {
  if (!n.IsDefined()) return fallback;
  const YAML::Mark m = n.Mark();
  return m.is_null() || m.line < 0 ? fallback : m.line + 1;
}

// Line of `key:` itself in a map (a value's own mark points at its first entry).
inline int key_line(const YAML::Node& map, std::string_view key, int fallback) {
  for (const auto& kv : map)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return line_of(kv.first, fallback);
  return fallback;
}

[[noreturn]] inline void fail(int line, std::string msg) { throw document_problem{line, std::move(msg), false}; }
// Valid Sigma that countersign does not implement: a warning, the rule skipped.
[[noreturn]] inline void unsupported(int line, std::string msg) {
  throw document_problem{line, std::move(msg), true};
}

inline std::string scalar(const YAML::Node& n, int line, std::string_view what) {
  if (!n.IsScalar()) fail(line_of(n, line), std::string(what) + " must be a scalar");
  return n.Scalar();
}

// A scalar or a list of scalars (absent or null: empty).
inline std::vector<std::string> string_list(const YAML::Node& n, int line, std::string_view what) {
  std::vector<std::string> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  if (!n.IsSequence()) fail(line_of(n, line), std::string(what) + " must be a list of strings");
  for (const auto& e : n) out.push_back(scalar(e, line_of(n, line), what));
  return out;
}

// Runs `fn`; a problem it raises (or a yaml-cpp error) is added to `into` instead of
// ending the document, so `rules check` names every problem of a rule.
template <class Fn>
void collect(std::vector<document_problem>& into, int line, Fn&& fn) {
  try {
    fn();
  } catch (document_problem& p) {
    into.push_back(std::move(p));
  } catch (const YAML::Exception& e) {
    into.push_back({e.mark.is_null() ? line : e.mark.line + 1, e.msg, false});
  }
}

}  // namespace countersign::rules::sigma::detail
