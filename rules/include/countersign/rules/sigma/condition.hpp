#pragma once
// Sigma condition expressions: a small recursive-descent parser to an AST.
// Grammar (precedence not > and > or, all left-associative):
//   expr   := term ("or" term)*
//   term   := factor ("and" factor)*
//   factor := "not" factor | "(" expr ")" | quant | IDENT
//   quant  := ("1" | "any" | "all") "of" (PATTERN | "them")
// PATTERN / IDENT may contain '*' (globbing over the rule's search identifiers).
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules::sigma {

struct condition_node {
  enum class kind { ident, one_of, all_of, and_, or_, not_ };
  kind k = kind::ident;
  // ident: exactly one index; one_of / all_of: the matched identifiers (indices into the
  // search-identifier list handed to parse_condition).
  std::vector<std::size_t> idents;
  std::vector<condition_node> kids;  // and_/or_: two or more; not_: one
};

// Why a condition was rejected; `unsupported` means valid Sigma this engine does not
// implement (aggregations `| count()`, `near`): the loader warns and skips the rule.
struct condition_error {
  bool unsupported = false;
  std::string message;
};

std::expected<condition_node, condition_error> parse_condition(
    std::string_view text, const std::vector<std::string>& identifiers);

// Debug rendering, e.g. "or(sel1,not(sel2),1of[a,b])" (identifier names, not indices).
std::string to_string(const condition_node& n, const std::vector<std::string>& identifiers);

}  // namespace countersign::rules::sigma
