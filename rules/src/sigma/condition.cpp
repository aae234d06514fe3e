#include "countersign/rules/sigma/condition.hpp"

#include <cctype>
#include <optional>
#include <utility>

namespace countersign::rules::sigma {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// '*' only (identifier globbing); iterative with backtracking.
bool ident_glob(std::string_view pat, std::string_view s) {
  std::size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] != '*' && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

struct parser {
  std::vector<std::string> toks;
  std::size_t pos = 0;
  const std::vector<std::string>& ids;
  std::optional<condition_error> err;
  int depth = 0;  // bounds recursion on hostile input ("((((((...")
  static constexpr int max_depth = 256;

  [[nodiscard]] bool at_end() const { return pos >= toks.size(); }
  [[nodiscard]] std::string peek_lower() const { return at_end() ? std::string{} : lower(toks[pos]); }

  void fail(std::string msg) {
    if (!err) err = condition_error{false, std::move(msg)};
  }

  condition_node expr() {
    condition_node first = term();
    if (err || peek_lower() != "or") return first;
    condition_node n{condition_node::kind::or_, {}, {}};
    n.kids.push_back(std::move(first));
    while (!err && peek_lower() == "or") {
      ++pos;
      n.kids.push_back(term());
    }
    return n;
  }
  condition_node term() {
    condition_node first = factor();
    if (err || peek_lower() != "and") return first;
    condition_node n{condition_node::kind::and_, {}, {}};
    n.kids.push_back(std::move(first));
    while (!err && peek_lower() == "and") {
      ++pos;
      n.kids.push_back(factor());
    }
    return n;
  }
  condition_node factor() {
    if (at_end()) {
      fail("unexpected end of condition");
      return {};
    }
    if (depth >= max_depth) {
      fail("condition nested too deeply");
      return {};
    }
    std::string t = peek_lower();
    if (t == "not") {
      ++pos;
      condition_node n{condition_node::kind::not_, {}, {}};
      ++depth;
      n.kids.push_back(factor());
      --depth;
      return n;
    }
    if (t == "(") {
      ++pos;
      ++depth;
      condition_node n = expr();
      --depth;
      if (err) return n;
      if (peek_lower() != ")") {
        fail("missing ')'");
        return n;
      }
      ++pos;
      return n;
    }
    if (t == ")" || t == "and" || t == "or" || t == "of" || t == "them") {
      fail("unexpected '" + toks[pos] + "'");
      return {};
    }
    if ((t == "1" || t == "any" || t == "all") && pos + 1 < toks.size() && lower(toks[pos + 1]) == "of") {
      pos += 2;
      if (at_end()) {
        fail("'of' needs an identifier pattern or 'them'");
        return {};
      }
      condition_node n{t == "all" ? condition_node::kind::all_of : condition_node::kind::one_of, {}, {}};
      std::string pat = toks[pos++];
      if (lower(pat) == "them") {
        for (std::size_t i = 0; i < ids.size(); ++i)
          if (!ids[i].starts_with('_')) n.idents.push_back(i);
      } else {
        // As `them`, a pattern skips identifiers starting with '_' unless it starts with one.
        for (std::size_t i = 0; i < ids.size(); ++i)
          if (ident_glob(pat, ids[i]) && (pat.starts_with('_') || !ids[i].starts_with('_'))) n.idents.push_back(i);
      }
      if (n.idents.empty()) fail("'" + pat + "' matches no search identifier");
      return n;
    }
    std::string name = toks[pos++];
    if (name.find('*') != std::string::npos) {
      fail("wildcard identifier '" + name + "' needs '1 of' or 'all of'");
      return {};
    }
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (ids[i] == name) return condition_node{condition_node::kind::ident, {i}, {}};
    fail("unknown search identifier '" + name + "'");
    return {};
  }
};

}  // namespace

std::expected<condition_node, condition_error> parse_condition(
    std::string_view text, const std::vector<std::string>& identifiers) {
  if (text.find('|') != std::string_view::npos)
    return std::unexpected(condition_error{true, "aggregation ('|') in condition is not supported"});
  parser p{{}, 0, identifiers, std::nullopt};
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) p.toks.push_back(std::exchange(cur, {}));
  };
  for (char c : text) {
    if (c == '(' || c == ')') {
      flush();
      p.toks.emplace_back(1, c);
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      flush();
    } else {
      cur.push_back(c);
    }
  }
  flush();
  for (const auto& t : p.toks)
    if (lower(t) == "near")
      return std::unexpected(condition_error{true, "'near' in condition is not supported"});
  if (p.toks.empty()) return std::unexpected(condition_error{false, "empty condition"});
  condition_node n = p.expr();
  if (!p.err && !p.at_end()) p.fail("unexpected '" + p.toks[p.pos] + "'");
  if (p.err) return std::unexpected(*p.err);
  return n;
}

std::string to_string(const condition_node& n, const std::vector<std::string>& ids) {
  using k = condition_node::kind;
  std::string out;
  auto join_ids = [&] {
    std::string s = "[";
    for (std::size_t i = 0; i < n.idents.size(); ++i) s += (i ? "," : "") + ids.at(n.idents[i]);
    return s + "]";
  };
  switch (n.k) {
    case k::ident:
      return ids.at(n.idents.at(0));
    case k::one_of:
      return "1of" + join_ids();
    case k::all_of:
      return "allof" + join_ids();
    case k::not_:
      return "not(" + to_string(n.kids.at(0), ids) + ")";
    case k::and_:
    case k::or_:
      out = n.k == k::and_ ? "and(" : "or(";
      for (std::size_t i = 0; i < n.kids.size(); ++i) out += (i ? "," : "") + to_string(n.kids[i], ids);
      return out + ")";
  }
  return out;
}

}  // namespace countersign::rules::sigma
