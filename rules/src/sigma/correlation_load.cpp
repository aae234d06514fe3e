// Correlation rules: parsing one document (for loader.cpp) and checking references across
// everything loaded (link_correlations). Sigma specification 2.x, "Sigma Correlation Rules".
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "correlation_parse.hpp"
#include "yaml_support.hpp"
#include "countersign/rules/sigma/correlation.hpp"

namespace countersign::rules::sigma {

std::string_view to_string(correlation_type t) noexcept {
  switch (t) {
    case correlation_type::event_count: return "event_count";
    case correlation_type::value_count: return "value_count";
    case correlation_type::temporal: return "temporal";
    case correlation_type::temporal_ordered: return "temporal_ordered";
  }
  return "?";
}

bool count_condition::holds(std::uint64_t n) const noexcept {
  return (!gt || n > *gt) && (!gte || n >= *gte) && (!lt || n < *lt) && (!lte || n <= *lte) && (!eq || n == *eq);
}

std::uint64_t count_condition::lower() const noexcept {
  std::uint64_t low = 1;
  if (gt) low = std::max(low, *gt + 1);
  if (gte) low = std::max(low, *gte);
  if (eq) low = std::max(low, *eq);
  return low;
}

const std::string& correlation_rule::key() const noexcept {
  if (!id.empty()) return id;
  if (!name.empty()) return name;
  return title;
}

namespace detail {
namespace {

// A scalar or a list of scalars, without repeats.
std::vector<std::string> names(const YAML::Node& n, int line, std::string_view what) {
  std::vector<std::string> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
  } else if (n.IsSequence()) {
    for (const auto& e : n) {
      std::string s = scalar(e, line_of(e, line), what);
      if (std::ranges::find(out, s) != out.end()) fail(line_of(e, line), std::string(what) + " '" + s + "' is listed twice");
      out.push_back(std::move(s));
    }
  } else if (!n.IsNull()) {
    fail(line, std::string(what) + " must be a name or a list of names");
  }
  return out;
}

std::uint64_t count_value(const YAML::Node& n, int line, std::string_view op) {
  const std::string s = scalar(n, line, "condition value");
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size())
    fail(line, "condition '" + std::string(op) + ": " + s + "': the count must be a whole number, 0 or more");
  return v;
}

constexpr std::array<std::string_view, 4> k_metric_types = {"value_sum", "value_avg", "value_percentile",
                                                            "value_median"};

}  // namespace

std::optional<std::int64_t> parse_timespan(std::string_view text) noexcept {
  if (text.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = 86'400 * 1000; break;
    default: return std::nullopt;
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  if (!std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc{} || ptr != digits.data() + digits.size() || n <= 0) return std::nullopt;
  // A year is plenty; more would only be a typo (and must not overflow window arithmetic).
  if (n > 366LL * 86'400 * 1000 / unit) return std::nullopt;
  return n * unit;
}

std::optional<correlation_rule> parse_correlation(const YAML::Node& doc, std::string_view file, int line,
                                                  std::vector<correlation_problem>& found) {
  correlation_rule c;
  c.file = std::string(file);
  c.line = line;
  const std::size_t before = found.size();
  collect(found, line, [&] {
    if (doc["id"]) c.id = scalar(doc["id"], line, "id");
    if (doc["name"]) c.name = scalar(doc["name"], line, "name");
  });
  collect(found, line, [&] {
    if (!doc["title"]) fail(line, "missing 'title'");
    c.title = scalar(doc["title"], line, "title");
  });
  collect(found, line, [&] {
    if (doc["status"]) c.status = scalar(doc["status"], line, "status");
    if (doc["level"]) c.level = scalar(doc["level"], line, "level");
    if (doc["description"]) c.description = scalar(doc["description"], line, "description");
  });
  collect(found, line, [&] { c.tags = names(doc["tags"], line, "tag"); });
  collect(found, line, [&] {
    const auto fp = doc["falsepositives"];
    if (!fp || fp.IsNull()) return;
    if (fp.IsScalar()) {
      c.falsepositives.push_back(fp.Scalar());
      return;
    }
    if (!fp.IsSequence()) fail(line_of(fp, line), "falsepositives must be a list of strings");
    for (const auto& e : fp) c.falsepositives.push_back(scalar(e, line_of(e, line), "falsepositives"));
  });
  if (doc["detection"]) found.push_back({key_line(doc, "detection", line), "a correlation rule has no 'detection'", false});
  const auto corr = doc["correlation"];
  const int cline = key_line(doc, "correlation", line);
  if (!corr.IsMap()) {
    found.push_back({cline, "'correlation' must be a map", false});
    return std::nullopt;
  }
  // `generate` is a top-level attribute in the specification; some tools write it inside
  // the correlation section. Either is read.
  for (const auto* where : {&doc, &corr}) {
    collect(found, line, [&] {
      const auto g = (*where)["generate"];
      if (!g) return;
      const std::string s = scalar(g, line_of(g, line), "generate");
      if (s == "true") c.generate = true;
      else if (s != "false") fail(line_of(g, line), "'generate' must be true or false");
    });
  }
  static constexpr std::array<std::string_view, 7> k_keys = {"type",     "rules",     "group-by", "timespan",
                                                             "condition", "aliases", "generate"};
  for (const auto& kv : corr) {
    if (!kv.first.IsScalar() || std::ranges::find(k_keys, kv.first.Scalar()) == k_keys.end())
      found.push_back({line_of(kv.first, cline), "unknown key '" + (kv.first.IsScalar() ? kv.first.Scalar() : "?") +
                                                     "' in 'correlation'",
                       false});
  }
  bool type_known = false;
  collect(found, cline, [&] {
    if (!corr["type"]) fail(cline, "missing 'type' in 'correlation'");
    const int l = line_of(corr["type"], cline);
    const std::string t = scalar(corr["type"], l, "type");
    if (t == "event_count") c.type = correlation_type::event_count;
    else if (t == "value_count") c.type = correlation_type::value_count;
    else if (t == "temporal") c.type = correlation_type::temporal;
    else if (t == "temporal_ordered") c.type = correlation_type::temporal_ordered;
    else if (std::ranges::find(k_metric_types, t) != k_metric_types.end())
      unsupported(l, "correlation type '" + t + "' is not supported");
    else fail(l, "unknown correlation type '" + t + "' (event_count, value_count, temporal, temporal_ordered)");
    type_known = true;
  });
  collect(found, cline, [&] {
    if (!corr["rules"]) fail(cline, "missing 'rules' in 'correlation'");
    c.rules_line = key_line(corr, "rules", cline);
    c.rules = names(corr["rules"], c.rules_line, "rule");
    if (c.rules.empty()) fail(c.rules_line, "'rules' is empty");
    for (const auto& e : corr["rules"]) c.rule_lines.push_back(line_of(e, c.rules_line));
    if (corr["rules"].IsScalar()) c.rule_lines.push_back(line_of(corr["rules"], c.rules_line));
  });
  collect(found, cline, [&] {
    // Required for every type by the specification. An empty list is one group for all.
    if (!corr["group-by"]) {
      if (type_known) fail(cline, "missing 'group-by' (required for " + std::string(to_string(c.type)) + ")");
      fail(cline, "missing 'group-by'");
    }
    c.group_by_line = key_line(corr, "group-by", cline);
    c.group_by = names(corr["group-by"], c.group_by_line, "group-by field");
  });
  collect(found, cline, [&] {
    if (!corr["timespan"]) fail(cline, "missing 'timespan' in 'correlation'");
    const int l = key_line(corr, "timespan", cline);
    c.timespan_text = scalar(corr["timespan"], l, "timespan");
    const auto ms = parse_timespan(c.timespan_text);
    if (!ms) fail(l, "bad timespan '" + c.timespan_text + "': a positive number followed by s, m, h or d (e.g. 90m)");
    c.timespan_ms = *ms;
  });
  collect(found, cline, [&] {
    const auto cond = corr["condition"];
    const bool temporal = c.type == correlation_type::temporal || c.type == correlation_type::temporal_ordered;
    if (!cond) {
      if (type_known && !temporal)
        fail(cline, "missing 'condition' (required for " + std::string(to_string(c.type)) + ")");
      return;
    }
    c.condition_line = key_line(corr, "condition", cline);
    if (!cond.IsMap()) fail(c.condition_line, "'condition' must be a map (e.g. gte: 10)");
    c.condition_given = true;
    bool any = false;
    for (const auto& kv : cond) {
      const int l = line_of(kv.first, c.condition_line);
      const std::string op = scalar(kv.first, l, "condition key");
      if (op == "field") {
        if (type_known && c.type != correlation_type::value_count)
          fail(l, "'field' in 'condition' is for value_count only");
        if (kv.second.IsSequence()) unsupported(l, "a list of fields in value_count is not supported");
        c.value_field = scalar(kv.second, l, "field");
        if (c.value_field.empty()) fail(l, "'field' is empty");
        continue;
      }
      std::optional<std::uint64_t>* slot = op == "gt"    ? &c.condition.gt
                                           : op == "gte" ? &c.condition.gte
                                           : op == "lt"  ? &c.condition.lt
                                           : op == "lte" ? &c.condition.lte
                                           : op == "eq"  ? &c.condition.eq
                                                         : nullptr;
      if (!slot) fail(l, "unknown condition '" + op + "' (gt, gte, lt, lte, eq" +
                             (c.type == correlation_type::value_count ? ", field)" : ")"));
      *slot = count_value(kv.second, l, op);
      any = true;
    }
    if (!any) fail(c.condition_line, "'condition' has no bound (gt, gte, lt, lte or eq)");
    if (type_known && c.type == correlation_type::value_count && c.value_field.empty())
      fail(c.condition_line, "value_count needs 'field' in 'condition' (the field whose distinct values are counted)");
    // A range nothing can satisfy is a mistake, not a rule.
    const auto& k = c.condition;
    const std::uint64_t low = k.lower();
    std::uint64_t high = std::numeric_limits<std::uint64_t>::max();
    if (k.lt) high = *k.lt == 0 ? 0 : std::min(high, *k.lt - 1);
    if (k.lte) high = std::min(high, *k.lte);
    if (k.eq) high = std::min(high, *k.eq);
    if ((k.lt && *k.lt == 0) || low > high || (k.eq && !k.holds(*k.eq)))
      fail(c.condition_line, "'condition' can never hold (no count satisfies every bound)");
  });
  collect(found, cline, [&] {
    const auto al = corr["aliases"];
    if (!al || al.IsNull()) return;
    const int l = key_line(corr, "aliases", cline);
    if (!al.IsMap()) fail(l, "'aliases' must be a map: alias -> (rule name -> field)");
    for (const auto& kv : al) {
      correlation_alias a;
      a.line = line_of(kv.first, l);
      a.name = scalar(kv.first, a.line, "alias");
      if (!kv.second.IsMap()) fail(a.line, "alias '" + a.name + "' must be a map: rule name -> field");
      for (const auto& f : kv.second) {
        const int fl = line_of(f.first, a.line);
        a.fields.emplace_back(scalar(f.first, fl, "rule name"), scalar(f.second, fl, "field"));
      }
      c.aliases.push_back(std::move(a));
    }
  });
  if (found.size() != before) return std::nullopt;
  // The temporal types without a condition: every referenced rule.
  if (!c.condition_given) c.condition.gte = c.rules.size();
  return c;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Linking

std::size_t link_correlations(const std::vector<rule>& rules, std::vector<correlation_rule>& correlations,
                              std::vector<diagnostic>& diags) {
  struct ref_target {
    bool correlation = false;
    std::size_t index = 0;
    bool operator==(const ref_target&) const = default;
  };
  std::multimap<std::string, ref_target, std::less<>> by_ref;
  const auto add = [&](const std::string& id, const std::string& name, ref_target t) {
    if (!id.empty()) by_ref.emplace(id, t);
    if (!name.empty() && name != id) by_ref.emplace(name, t);
  };
  for (std::size_t i = 0; i < rules.size(); ++i) add(rules[i].id, rules[i].name, {false, i});
  for (std::size_t i = 0; i < correlations.size(); ++i) add(correlations[i].id, correlations[i].name, {true, i});

  const std::size_t n = correlations.size();
  std::vector<std::vector<std::pair<int, std::string>>> problems(n);
  std::vector<std::vector<std::size_t>> uses(n);  // correlations each one refers to
  std::set<std::string, std::less<>> rule_ids;
  for (const auto& r : rules)
    if (!r.id.empty()) rule_ids.insert(r.id);
  std::set<std::string, std::less<>> seen_ids;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = correlations[i];
    auto& p = problems[i];
    if (!c.id.empty() && (rule_ids.contains(c.id) || !seen_ids.insert(c.id).second))
      p.emplace_back(c.line, "id '" + c.id + "' is already used by another rule or correlation");
    std::vector<ref_target> resolved;
    for (std::size_t k = 0; k < c.rules.size(); ++k) {
      const std::string& ref = c.rules[k];
      const int rline = k < c.rule_lines.size() ? c.rule_lines[k] : c.rules_line;
      std::vector<ref_target> hits;
      for (auto [it, end] = by_ref.equal_range(ref); it != end; ++it)
        if (std::ranges::find(hits, it->second) == hits.end()) hits.push_back(it->second);
      if (hits.empty()) {
        p.emplace_back(rline, "unknown rule '" + ref + "': no loaded rule or correlation has that id or name");
        continue;
      }
      if (hits.size() > 1) {
        p.emplace_back(rline, "rule reference '" + ref + "' is ambiguous: " + std::to_string(hits.size()) +
                                         " rules or correlations have that id or name");
        continue;
      }
      const ref_target t = hits.front();
      if (t.correlation && t.index == i) {
        p.emplace_back(rline, "the correlation refers to itself ('" + ref + "')");
        continue;
      }
      if (std::ranges::find(resolved, t) != resolved.end()) {
        p.emplace_back(rline, "rule '" + ref + "' is referred to twice (by its id and its name)");
        continue;
      }
      resolved.push_back(t);
      if (t.correlation) uses[i].push_back(t.index);
    }
    for (const auto& a : c.aliases) {
      for (const auto& [ref, field] : a.fields) {
        bool known = std::ranges::find(c.rules, ref) != c.rules.end();
        for (auto [it, end] = by_ref.equal_range(ref); !known && it != end; ++it)
          known = std::ranges::find(resolved, it->second) != resolved.end();
        if (!known)
          p.emplace_back(a.line, "alias '" + a.name + "' names rule '" + ref +
                                     "', which is not one of the rules this correlation refers to");
      }
    }
  }
  // Chains that loop (i reachable from itself), and correlations that refer to one with
  // problems, go too.
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<std::size_t> stack(uses[i].begin(), uses[i].end());
    std::vector<bool> seen(n, false);
    bool loops = false;
    while (!stack.empty() && !loops) {
      const std::size_t j = stack.back();
      stack.pop_back();
      loops = j == i;
      if (seen[j]) continue;
      seen[j] = true;
      stack.insert(stack.end(), uses[j].begin(), uses[j].end());
    }
    if (loops) problems[i].emplace_back(correlations[i].rules_line, "the chain of correlations loops back to this one");
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (!problems[i].empty()) continue;
      for (const std::size_t j : uses[i]) {
        if (problems[j].empty()) continue;
        problems[i].emplace_back(correlations[i].rules_line,
                                 "refers to correlation '" + correlations[j].key() + "', which is not loaded");
        changed = true;
        break;
      }
    }
  }
  std::size_t removed = 0;
  std::vector<correlation_rule> kept;
  for (std::size_t i = 0; i < n; ++i) {
    auto& c = correlations[i];
    if (problems[i].empty()) {
      kept.push_back(std::move(c));
      continue;
    }
    ++removed;
    for (auto& [l, msg] : problems[i])
      diags.push_back({diagnostic::severity::error, c.file, l, c.id.empty() ? "?" : c.id, std::move(msg)});
  }
  correlations = std::move(kept);
  return removed;
}

}  // namespace countersign::rules::sigma
