#pragma once
// Parsing of one correlation document, for the loader (loader.cpp). Not public: it takes a
// yaml-cpp node.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "countersign/rules/sigma/correlation_rule.hpp"

namespace YAML {
class Node;
}

namespace countersign::rules::sigma::detail {

// A problem of a rule or correlation document, at its line.
struct document_problem {
  int line = 0;
  std::string message;
  bool unsupported = false;  // valid Sigma countersign does not implement: a warning
};
using correlation_problem = document_problem;

// The correlation in `doc` (a map with a `correlation:` key), or nothing with every
// problem in `found`. `line`: the document's first line.
std::optional<correlation_rule> parse_correlation(const YAML::Node& doc, std::string_view file, int line,
                                                  std::vector<correlation_problem>& found);

// "90m" -> 5'400'000; nullopt unless a positive number followed by s, m, h or d.
[[nodiscard]] std::optional<std::int64_t> parse_timespan(std::string_view text) noexcept;

}  // namespace countersign::rules::sigma::detail
