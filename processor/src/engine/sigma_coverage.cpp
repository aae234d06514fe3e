// Coverage of the loaded Sigma rules over the configured input shapes (sigma_coverage.hpp).
//
//   configured shapes ─► probe_logsources (sigma_view on probe events) ─► logsources per shape
//   rule ─► admitted by none? ─► product / service / category / combination
//        └► else: fields of its searches vs probe_field of the shapes admitting it ─► field

#include <countersign/processor/engine/sigma_coverage.hpp>
#include <countersign/processor/engine/sigma_stage.hpp>
#include <countersign/rules/sigma/detail.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace countersign::processor {

using rules::schema_profile;

std::string_view to_string(coverage_reason r) noexcept {
  switch (r) {
    case coverage_reason::product: return "product not produced";
    case coverage_reason::service: return "service unmapped";
    case coverage_reason::category: return "category unmapped";
    case coverage_reason::combination: return "logsource never produced as a whole";
    case coverage_reason::field: return "field not provided";
  }
  return "?";
}

std::vector<schema_profile> configured_shapes(const config& cfg) {
  static constexpr schema_profile k_detected[] = {
      schema_profile::ecs,     schema_profile::ocsf, schema_profile::defender,    schema_profile::codeintegrity,
      schema_profile::windows, schema_profile::evtx, schema_profile::sentinelone, schema_profile::user};
  std::set<schema_profile> out;
  for (const auto& topic : cfg.kafka.input_topics) {
    if (const auto it = cfg.input.schemas.find(topic); it != cfg.input.schemas.end() && it->second != schema_profile::unknown) {
      out.insert(it->second);
      continue;
    }
    out.insert(std::begin(k_detected), std::end(k_detected));
    const auto policy = cfg.input.unknown_shapes_by_topic.find(topic);
    if ((policy == cfg.input.unknown_shapes_by_topic.end() ? cfg.input.unknown_shapes : policy->second) ==
        unknown_shape_policy::accept) {
      out.insert(schema_profile::unknown);
    }
  }
  return {out.begin(), out.end()};
}

namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return rules::sigma::detail::lower_ascii(x) == rules::sigma::detail::lower_ascii(y);
         });
}

// Empty on the rule's side admits anything, as in rule_set.
bool admits(std::string_view rule_value, std::string_view event_value) {
  return rule_value.empty() || iequal(rule_value, event_value);
}

bool admits(const rules::sigma::logsource& rule, const rules::sigma::logsource& event) {
  return admits(rule.category, event.category) && admits(rule.product, event.product) &&
         admits(rule.service, event.service);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = rules::sigma::detail::lower_ascii(c);
  return out;
}

// The event with no field at all: what a matcher says of a field no shape carries.
struct empty_event final : rules::sigma::sigma_event {
  [[nodiscard]] std::optional<std::string_view> field(std::string_view) const override { return std::nullopt; }
  void for_each_value(const std::function<void(std::string_view)>&) const override {}
};

bool matches_missing(const rules::sigma::field_condition& c) {
  static const empty_event none;
  const auto value = [](const std::vector<rules::sigma::value_matcher>& variants) {
    return std::ranges::any_of(variants, [](const auto& m) { return m.matches(std::nullopt, none); });
  };
  return c.all ? std::ranges::all_of(c.values, value) : std::ranges::any_of(c.values, value);
}

// Whether the condition can be true when the searches flagged in `impossible` are false
// (a `not` can always be: the search under it may be false).
bool possible(const rules::sigma::condition_node& n, const std::vector<bool>& impossible) {
  using kind = rules::sigma::condition_node::kind;
  const auto ident = [&impossible](std::size_t i) { return i >= impossible.size() || !impossible[i]; };
  const auto kid = [&impossible](const rules::sigma::condition_node& k) { return possible(k, impossible); };
  switch (n.k) {
    case kind::ident: return std::ranges::all_of(n.idents, ident);
    case kind::one_of: return std::ranges::any_of(n.idents, ident);
    case kind::all_of: return std::ranges::all_of(n.idents, ident);
    case kind::and_: return std::ranges::all_of(n.kids, kid);
    case kind::or_: return std::ranges::any_of(n.kids, kid);
    case kind::not_: return true;
  }
  return true;
}

std::string describe(const rules::sigma::logsource& s) {
  std::string out;
  for (const auto& [name, value] : {std::pair<std::string_view, std::string_view>{"category", s.category},
                                    {"product", s.product},
                                    {"service", s.service}}) {
    if (value.empty()) continue;
    if (!out.empty()) out += ' ';
    out.append(name).append("=").append(lower(value));
  }
  return out.empty() ? "any" : out;
}

struct shape_sources {
  schema_profile profile;
  std::vector<rules::sigma::logsource> sources;
};

class coverage_checker {
 public:
  explicit coverage_checker(std::span<const schema_profile> shapes) {
    for (const auto p : shapes) shapes_.push_back({p, probe_logsources(p)});
  }

  std::optional<unreachable_rule> check(const rules::sigma::rule& r) {
    std::vector<schema_profile> admitting;
    for (const auto& s : shapes_) {
      if (std::ranges::any_of(s.sources, [&r](const auto& src) { return admits(r.source, src); })) {
        admitting.push_back(s.profile);
      }
    }
    if (admitting.empty()) return by_logsource(r);
    return by_field(r, admitting);
  }

 private:
  bool any_source(const std::function<bool(const rules::sigma::logsource&)>& pred) const {
    return std::ranges::any_of(shapes_, [&](const auto& s) { return std::ranges::any_of(s.sources, pred); });
  }

  unreachable_rule by_logsource(const rules::sigma::rule& r) const {
    const auto& ls = r.source;
    unreachable_rule u{&r, coverage_reason::combination, describe(ls), {}};
    if (!any_source([&ls](const auto& s) { return admits(ls.product, s.product); })) {
      u.reason = coverage_reason::product;
      u.subject = lower(ls.product);
      u.why = "logsource product=" + u.subject + " not produced by any configured input shape";
    } else if (!any_source([&ls](const auto& s) { return admits(ls.service, s.service); })) {
      u.reason = coverage_reason::service;
      u.subject = lower(ls.service);
      u.why = "logsource service=" + u.subject + " unmapped: no configured input shape gives it";
    } else if (!any_source([&ls](const auto& s) { return admits(ls.category, s.category); })) {
      u.reason = coverage_reason::category;
      u.subject = lower(ls.category);
      u.why = "logsource category=" + u.subject + " unmapped: no configured input shape gives it";
    } else {
      u.why = "logsource " + u.subject + ": each part is produced, never all together";
    }
    return u;
  }

  bool provided(schema_profile p, const std::string& field) {
    const auto [it, fresh] = fields_.try_emplace({p, field}, false);
    if (fresh) it->second = probe_field(p, field);
    return it->second;
  }

  std::optional<unreachable_rule> by_field(const rules::sigma::rule& r, const std::vector<schema_profile>& shapes) {
    std::set<std::string> missing;  // fields that make a search impossible
    std::vector<bool> impossible(r.searches.size(), false);
    for (std::size_t i = 0; i < r.searches.size(); ++i) {
      const auto& alternatives = r.searches[i].alternatives;
      std::set<std::string> blocking;
      const auto blocked = [&](const std::vector<rules::sigma::field_condition>& alternative) {
        for (const auto& c : alternative) {
          if (c.field.empty() || matches_missing(c)) continue;
          if (std::ranges::none_of(shapes, [&](schema_profile p) { return provided(p, c.field); })) {
            blocking.insert(c.field);
            return true;
          }
        }
        return false;
      };
      if (alternatives.empty() || !std::ranges::all_of(alternatives, blocked)) continue;
      impossible[i] = true;
      missing.insert(blocking.begin(), blocking.end());
    }
    if (missing.empty() || possible(r.condition, impossible)) return std::nullopt;
    std::string fields, names;
    for (const auto& f : missing) fields += (fields.empty() ? "" : ", ") + f;
    for (const auto p : shapes) names += std::string(names.empty() ? "" : ", ") + std::string(rules::to_string(p));
    unreachable_rule u{&r, coverage_reason::field, fields, {}};
    u.why = "field " + fields + " not provided by any configured input shape for " +
            (r.source.category.empty() ? "logsource " + describe(r.source) : "category " + lower(r.source.category)) +
            " (" + names + ")";
    return u;
  }

  std::vector<shape_sources> shapes_;
  std::map<std::pair<schema_profile, std::string>, bool> fields_;
};

}  // namespace

coverage_report check_coverage(const std::vector<rules::sigma::rule>& rules, std::span<const schema_profile> shapes) {
  coverage_report report;
  report.rules = rules.size();
  report.shapes.assign(shapes.begin(), shapes.end());
  coverage_checker checker(shapes);
  for (const auto& r : rules) {
    if (auto u = checker.check(r)) report.unreachable.push_back(std::move(*u));
  }
  return report;
}

void write_coverage(const coverage_report& report, std::ostream& out) {
  for (const auto& u : report.unreachable) {
    out << u.rule->file << ':' << u.rule->line << ": rule " << u.rule->id << ": never fires: " << u.why << '\n';
  }
  std::string shapes;
  for (const auto p : report.shapes) shapes += std::string(shapes.empty() ? "" : " ") + std::string(rules::to_string(p));
  out << "coverage: " << report.rules - report.unreachable.size() << " of " << report.rules
      << " rules reachable, " << report.unreachable.size() << " never fire (input shapes: "
      << (shapes.empty() ? "none" : shapes) << ")\n";
  // Per reason, per subject, most rules first.
  for (const auto reason : {coverage_reason::product, coverage_reason::service, coverage_reason::category,
                            coverage_reason::combination, coverage_reason::field}) {
    std::map<std::string, std::size_t> by_subject;
    std::size_t total = 0;
    for (const auto& u : report.unreachable) {
      if (u.reason != reason) continue;
      ++by_subject[u.subject];
      ++total;
    }
    if (total == 0) continue;
    std::vector<std::pair<std::string, std::size_t>> sorted(by_subject.begin(), by_subject.end());
    std::ranges::stable_sort(sorted, std::greater<>{}, &std::pair<std::string, std::size_t>::second);
    out << "coverage: " << to_string(reason) << ": " << total << " rules (";
    for (std::size_t i = 0; i < sorted.size(); ++i) out << (i ? ", " : "") << sorted[i].first << ' ' << sorted[i].second;
    out << ")\n";
  }
}

}  // namespace countersign::processor
