// rule_set: logsource index + literal prefilter in front of sigma::matches().
//
//   build (once per rule load)                 evaluate (per event, any thread)
//   --------------------------                 --------------------------------
//   rule -> logsource group (lowercase          event logsource -> admitted groups
//           category/product/service)            (category lookup + product/service check)
//   rule -> needles: (field, literal) pairs,    for each field some admitted group needs:
//           one must occur for a match, or        ev.field(name), one Aho-Corasick scan,
//           none (rule is "unfiltered")           hits mark rules of admitted groups
//   per field: one automaton over the           marked rules + unfiltered rules of the
//           literals of every rule               admitted groups, in load order -> matches()
//
// Invariant: the prefilter is a necessary condition only. A rule is skipped only when
// none of its needles occurs in the event, and needles are derived so that no event
// lacking all of them can satisfy the condition (see needles_of below). The result of
// evaluate() is therefore exactly the set of admitted rules for which matches() is true.
//
// Scratch state (marks, candidate list) is thread_local and epoch-stamped, so evaluate()
// allocates nothing once the vectors have grown to the largest rule set seen on the thread.
#include "countersign/rules/sigma/rule_set.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include "aho_corasick.hpp"
#include "countersign/rules/sigma/detail.hpp"

namespace countersign::rules::sigma {
namespace {

// A literal shorter than this is too common to be worth a scan; its value is unfiltered.
constexpr std::size_t k_min_literal = 3;
// A rule needing more literals than this (windash over many flags, long lists) is
// evaluated unfiltered rather than inflating the automata.
constexpr std::size_t k_max_needles = 2048;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = detail::lower_ascii(c);
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, {}, detail::lower_ascii, detail::lower_ascii);
}

// Case-insensitive hashing for the category index (transparent: looked up by string_view).
struct ci_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(detail::lower_ascii(c))) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
  }
};
struct ci_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return iequal(a, b); }
};

// ---- needle derivation -------------------------------------------------------------
//
// need(x) is a set of (field, literal) of which at least one occurs (case-insensitively)
// in every event satisfying x, or nullopt when no such set is known:
//   or / 1 of / search alternatives / list of values / value variants: union, null if
//     any part is null (an event may satisfy the part without any literal);
//   and / all of / field conditions of one map / |all values: the cheapest non-null
//     part (satisfying the whole implies satisfying that part);
//   not: null; a glob value: its longest literal piece; a regex: RE2's prefilter atoms;
//     cidr, exists, numeric, fieldref, null, and literals shorter than k_min_literal: null.
// Keyword searches (empty field name) are null: they would need a scan of every field
// value through for_each_value(); rules built only on keywords are evaluated unfiltered.

struct needle {
  std::string field;
  std::string text;  // lowercased
  auto operator<=>(const needle&) const = default;
};
using needles = std::optional<std::vector<needle>>;

// Fewer needles first; a short literal counts for more, being likelier to occur in events
// that do not match.
double cost(const std::vector<needle>& ns) {
  double c = 0;
  for (const auto& n : ns) c += n.text.size() >= 8 ? 1.0 : 1.0 + 0.25 * static_cast<double>(8 - n.text.size());
  return c;
}

void unite(needles& acc, needles part) {
  if (!acc || !part) {
    acc.reset();
    return;
  }
  acc->insert(acc->end(), std::make_move_iterator(part->begin()), std::make_move_iterator(part->end()));
}

void keep_cheaper(needles& best, needles candidate) {
  if (!candidate || candidate->empty()) return;
  if (!best || cost(*candidate) < cost(*best)) best = std::move(candidate);
}

// A regex's necessary literals, from RE2's own prefilter analysis (FilteredRE2): the
// atoms it returns are lowercased, and a regex with atoms cannot match a text that
// contains none of them (a regex that could is "unfiltered" there and yields none).
needles regex_needles(const std::string& field, const re2::RE2& re) {
  re2::FilteredRE2 filter(static_cast<int>(k_min_literal));
  int id = 0;
  if (filter.Add(re.pattern(), re.options(), &id) != re2::RE2::NoError) return std::nullopt;
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  if (atoms.empty()) return std::nullopt;
  std::vector<needle> out;
  for (auto& a : atoms) {
    if (a.size() < k_min_literal) return std::nullopt;
    out.push_back({field, std::move(a)});
  }
  return out;
}

needles value_needles(const std::string& field, const value_matcher& m) {
  if (m.k == value_matcher::kind::regex && m.re) return regex_needles(field, *m.re);
  if (m.k != value_matcher::kind::glob) return std::nullopt;
  const value_matcher::piece* longest = nullptr;
  for (const auto& p : m.pieces)
    if (p.t == value_matcher::piece::type::literal && (!longest || p.text.size() > longest->text.size()))
      longest = &p;
  if (!longest || longest->text.size() < k_min_literal) return std::nullopt;
  return std::vector<needle>{{field, lower(longest->text)}};
}

needles field_needles(const field_condition& fc) {
  if (fc.field.empty()) return std::nullopt;
  needles result;
  if (!fc.all) result.emplace();
  for (const auto& variants : fc.values) {
    needles value = std::vector<needle>{};
    for (const auto& m : variants) unite(value, value_needles(fc.field, m));
    if (fc.all) {
      keep_cheaper(result, std::move(value));
    } else {
      unite(result, std::move(value));
    }
  }
  return result;
}

needles search_needles(const search_identifier& s) {
  needles result = std::vector<needle>{};
  for (const auto& alternative : s.alternatives) {
    needles best;
    for (const auto& fc : alternative) keep_cheaper(best, field_needles(fc));
    unite(result, std::move(best));
  }
  return result;
}

needles condition_needles(const condition_node& n, const rule& r) {
  using kind = condition_node::kind;
  needles result;
  switch (n.k) {
    case kind::ident:
      return search_needles(r.searches[n.idents[0]]);
    case kind::one_of:
      result.emplace();
      for (auto i : n.idents) unite(result, search_needles(r.searches[i]));
      return result;
    case kind::all_of:
      for (auto i : n.idents) keep_cheaper(result, search_needles(r.searches[i]));
      return result;
    case kind::or_:
      result.emplace();
      for (const auto& k : n.kids) unite(result, condition_needles(k, r));
      return result;
    case kind::and_:
      for (const auto& k : n.kids) keep_cheaper(result, condition_needles(k, r));
      return result;
    case kind::not_:
      return std::nullopt;
  }
  return std::nullopt;
}

// The rule's needles, deduplicated; nullopt when it must be evaluated unfiltered.
needles needles_of(const rule& r) {
  needles ns = condition_needles(r.condition, r);
  if (!ns || ns->empty()) return std::nullopt;
  std::sort(ns->begin(), ns->end());
  ns->erase(std::unique(ns->begin(), ns->end()), ns->end());
  if (ns->size() > k_max_needles) return std::nullopt;
  return ns;
}

// ---- per-thread scratch ---------------------------------------------------------------

// Marks are "== epoch" tests, so nothing is cleared between events; the vectors only grow.
struct scratch {
  std::uint64_t epoch = 0;
  std::vector<std::uint64_t> rule_marked, group_admitted, field_queued;
  std::vector<std::uint32_t> candidates, fields;

  void begin(std::size_t rules, std::size_t groups, std::size_t field_count) {
    ++epoch;
    if (rule_marked.size() < rules) rule_marked.resize(rules, 0);
    if (group_admitted.size() < groups) group_admitted.resize(groups, 0);
    if (field_queued.size() < field_count) field_queued.resize(field_count, 0);
    candidates.clear();
    fields.clear();
  }
};

scratch& thread_scratch() {
  thread_local scratch s;
  return s;
}

}  // namespace

// Rules sharing one (lowercased) logsource. Empty fields admit any event value.
struct source_group {
  std::string category, product, service;
  std::uint32_t size = 0;                  // rules in the group
  std::vector<std::uint32_t> unfiltered;   // rule indices, ascending
  std::vector<std::uint32_t> fields;       // field_index entries its other rules need
};

// One event field that some rule's needles refer to: its automaton and, per pattern, the
// rules needing it (CSR layout: rules_[rules_begin_[p] .. rules_begin_[p + 1])).
struct field_index {
  std::string name;
  detail::aho_corasick automaton;
  std::vector<std::uint32_t> rules_begin;
  std::vector<std::uint32_t> rules;
};

struct rule_set::impl {
  std::vector<rule> rules;
  std::vector<std::uint32_t> group_of;  // per rule
  std::vector<source_group> groups;
  std::unordered_map<std::string, std::vector<std::uint32_t>, ci_hash, ci_equal> groups_by_category;
  std::vector<std::uint32_t> any_category_groups;
  std::vector<field_index> fields;
  std::size_t unfiltered = 0;

  explicit impl(std::vector<rule> rs);
  [[nodiscard]] bool admits(const source_group& g, const event_logsource& src) const {
    return (g.category.empty() || iequal(g.category, src.category)) &&
           (g.product.empty() || iequal(g.product, src.product)) &&
           (g.service.empty() || iequal(g.service, src.service));
  }
  void admit_groups(const event_logsource& src, scratch& s, std::uint64_t& considered) const;
  void scan_fields(const sigma_event& ev, scratch& s) const;
};

rule_set::impl::impl(std::vector<rule> rs) : rules(std::move(rs)) {
  if (rules.size() >= std::numeric_limits<std::uint32_t>::max()) throw std::length_error("rule_set: too many rules");
  std::map<std::tuple<std::string, std::string, std::string>, std::uint32_t> group_ids;
  std::map<std::string, std::uint32_t, std::less<>> field_ids;
  // Per field: literal -> rules needing it, in ascending rule order.
  std::vector<std::map<std::string, std::vector<std::uint32_t>>> literals;
  group_of.reserve(rules.size());
  for (std::uint32_t i = 0; i < rules.size(); ++i) {
    const auto& src = rules[i].source;
    auto key = std::make_tuple(lower(src.category), lower(src.product), lower(src.service));
    auto [it, fresh] = group_ids.try_emplace(key, static_cast<std::uint32_t>(groups.size()));
    if (fresh) {
      auto& [category, product, service] = key;
      groups.push_back({category, product, service, 0, {}, {}});
      (category.empty() ? any_category_groups : groups_by_category[category]).push_back(it->second);
    }
    source_group& g = groups[it->second];
    group_of.push_back(it->second);
    ++g.size;
    needles ns = needles_of(rules[i]);
    if (!ns) {
      g.unfiltered.push_back(i);
      ++unfiltered;
      continue;
    }
    for (auto& n : *ns) {
      auto [f, new_field] = field_ids.try_emplace(n.field, static_cast<std::uint32_t>(fields.size()));
      if (new_field) {
        fields.push_back({n.field, {}, {}, {}});
        literals.emplace_back();
      }
      g.fields.push_back(f->second);
      auto& users = literals[f->second][std::move(n.text)];
      if (users.empty() || users.back() != i) users.push_back(i);
    }
  }
  for (auto& g : groups) {
    std::sort(g.fields.begin(), g.fields.end());
    g.fields.erase(std::unique(g.fields.begin(), g.fields.end()), g.fields.end());
  }
  for (std::size_t f = 0; f < fields.size(); ++f) {
    std::vector<std::string> patterns;
    patterns.reserve(literals[f].size());
    field_index& fi = fields[f];
    for (auto& [text, users] : literals[f]) {
      patterns.push_back(text);
      fi.rules_begin.push_back(static_cast<std::uint32_t>(fi.rules.size()));
      fi.rules.insert(fi.rules.end(), users.begin(), users.end());
    }
    fi.rules_begin.push_back(static_cast<std::uint32_t>(fi.rules.size()));
    fi.automaton = detail::aho_corasick(patterns);
  }
}

void rule_set::impl::admit_groups(const event_logsource& src, scratch& s, std::uint64_t& considered) const {
  auto admit = [&](std::uint32_t gi) {
    const source_group& g = groups[gi];
    if (!admits(g, src)) return;
    s.group_admitted[gi] = s.epoch;
    considered += g.size;
    s.candidates.insert(s.candidates.end(), g.unfiltered.begin(), g.unfiltered.end());
    for (auto f : g.fields)
      if (s.field_queued[f] != s.epoch) {
        s.field_queued[f] = s.epoch;
        s.fields.push_back(f);
      }
  };
  if (auto it = groups_by_category.find(src.category); it != groups_by_category.end())
    for (auto gi : it->second) admit(gi);
  for (auto gi : any_category_groups) admit(gi);
}

void rule_set::impl::scan_fields(const sigma_event& ev, scratch& s) const {
  for (auto f : s.fields) {
    const field_index& fi = fields[f];
    const auto value = ev.field(fi.name);
    if (!value) continue;  // every needle is a glob literal: a missing field cannot match it
    fi.automaton.scan(*value, [&](std::uint32_t pattern) {
      for (auto k = fi.rules_begin[pattern]; k < fi.rules_begin[pattern + 1]; ++k) {
        const std::uint32_t r = fi.rules[k];
        if (s.rule_marked[r] == s.epoch || s.group_admitted[group_of[r]] != s.epoch) continue;
        s.rule_marked[r] = s.epoch;
        s.candidates.push_back(r);
      }
    });
  }
}

rule_set::rule_set() : rule_set(std::vector<rule>{}) {}
rule_set::rule_set(std::vector<rule> rules) : impl_(std::make_unique<impl>(std::move(rules))) {}
rule_set::~rule_set() = default;
rule_set::rule_set(rule_set&&) noexcept = default;
rule_set& rule_set::operator=(rule_set&&) noexcept = default;

void rule_set::evaluate(const event_logsource& src, const sigma_event& ev, std::vector<const rule*>& hits,
                        eval_counters* counters) const {
  const impl& d = *impl_;
  scratch& s = thread_scratch();
  s.begin(d.rules.size(), d.groups.size(), d.fields.size());
  eval_counters local;
  d.admit_groups(src, s, local.considered);
  d.scan_fields(ev, s);
  // Unfiltered rules and scan hits arrive group by group and field by field.
  std::sort(s.candidates.begin(), s.candidates.end());
  for (auto r : s.candidates) {
    ++local.evaluated;
    if (!matches(d.rules[r], ev)) continue;
    ++local.matched;
    hits.push_back(&d.rules[r]);
  }
  if (counters) {
    counters->considered += local.considered;
    counters->evaluated += local.evaluated;
    counters->matched += local.matched;
  }
}

std::size_t rule_set::size() const noexcept { return impl_->rules.size(); }
const std::vector<rule>& rule_set::rules() const noexcept { return impl_->rules; }
std::size_t rule_set::unfiltered() const noexcept { return impl_->unfiltered; }
std::size_t rule_set::prefilter_memory_bytes() const noexcept {
  std::size_t bytes = 0;
  for (const auto& f : impl_->fields)
    bytes += f.automaton.memory_bytes() + (f.rules_begin.capacity() + f.rules.capacity()) * sizeof(std::uint32_t);
  return bytes;
}

}  // namespace countersign::rules::sigma
