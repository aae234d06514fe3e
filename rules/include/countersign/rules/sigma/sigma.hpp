#pragma once
// Sigma rules (https://sigmahq.io specification): loading, precompiled field matchers and
// evaluation against an abstract event. Correlation rules are loaded here too (their
// documents sit next to the rules they refer to); correlation.hpp checks and evaluates them.
// Not here: aggregations in conditions (`| count()`), `near`.
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "countersign/rules/sigma/condition.hpp"
#include "countersign/rules/sigma/correlation_rule.hpp"

namespace re2 {
class RE2;
}

namespace countersign::rules::sigma {

// The event as the engine sees it. field() returns nullopt for a missing field and for a
// field whose value is null (Sigma treats both alike). for_each_value() visits every field
// value (used by keyword searches).
struct sigma_event {
  virtual ~sigma_event() = default;
  [[nodiscard]] virtual std::optional<std::string_view> field(std::string_view name) const = 0;
  virtual void for_each_value(const std::function<void(std::string_view)>& fn) const = 0;
};

// One compiled value test. Built by the loader; exposed so tests can inspect it.
struct value_matcher {
  enum class kind {
    null_value,  // field missing or null
    glob,        // literal or wildcard pattern (contains/startswith/endswith folded in)
    regex,       // |re
    cidr,        // |cidr
    exists,      // |exists
    numeric,     // |lt |lte |gt |gte
    fieldref,    // |fieldref: equal to another field's value
  };
  enum class cmp { lt, lte, gt, gte };
  struct piece {
    enum class type { literal, star, qmark };
    type t = type::literal;
    std::string text;  // literal only; already lowercased unless `cased`
  };
  kind k = kind::glob;
  bool cased = false;
  // glob
  std::vector<piece> pieces;
  // regex
  std::shared_ptr<const re2::RE2> re;
  bool dollar_before_newline = false;  // retry without a final '\n' (PCRE's '$')
  // cidr
  bool v6 = false;
  std::array<std::uint8_t, 16> net{};
  int prefix = 0;
  // exists
  bool want_exists = true;
  // numeric
  cmp op = cmp::lt;
  double number = 0;
  // fieldref
  std::string other_field;
  // Set by the rule_set holding the rule: where the prefilter's scan answers this test
  // (0: it does not). Not part of the test's meaning.
  std::uint32_t probe = 0;

  [[nodiscard]] bool matches(std::optional<std::string_view> value, const sigma_event& ev) const;
};

// field|mod1|mod2: values  ->  OR over values, or AND with |all. One value can expand to
// several variants (windash, base64offset): the inner vector, always OR-ed.
struct field_condition {
  std::string field;  // empty: keyword search (matches any field value)
  bool all = false;
  std::vector<std::vector<value_matcher>> values;
  // Set by the rule_set holding the rule: where the prefilter's scan answers the whole
  // condition (0: it does not). Not part of the condition's meaning.
  std::uint32_t decided = 0;
  // Set likewise where every value is a test the scan looks for the literal of (a probe) but
  // the scan does not decide the condition alone (0: none): only the values whose literal
  // was seen need evaluating.
  std::uint32_t probed = 0;
  // Set likewise to 1 + the index of the field among those the prefilter reads (0: none),
  // so that evaluation reuses the value the scan read instead of asking the event again.
  std::uint32_t scanned = 0;
};

// A search identifier: OR over alternatives, each an AND of field conditions.
struct search_identifier {
  std::string name;
  std::vector<std::vector<field_condition>> alternatives;
};

struct logsource {
  std::string category, product, service;
};

struct rule {
  std::string file;
  int line = 0;  // 1-based line of the document's first key
  std::string id, title, status, level;
  std::string name;  // optional `name:`, by which correlation rules may refer to the rule
  std::vector<std::string> tags;
  logsource source;
  std::vector<std::string> falsepositives;
  std::vector<std::string> condition_text;
  std::vector<search_identifier> searches;
  condition_node condition;  // list of conditions already folded into one or_
};

struct diagnostic {
  enum class severity { warning, error };
  severity sev = severity::error;
  std::string file;
  int line = 0;
  std::string rule_id;  // "?" when unknown
  std::string message;
  // "FILE:LINE: rule ID: message"
  [[nodiscard]] std::string text() const;
};

struct load_result {
  std::vector<rule> rules;
  // Correlation documents that parse; their references are checked by link_correlations()
  // (correlation.hpp) once every file is loaded.
  std::vector<correlation_rule> correlations;
  std::vector<diagnostic> diagnostics;
  std::size_t skipped = 0;  // rule documents not loaded (a file that is not YAML counts none)
};

// Parse YAML text (one or more documents) into rules. A rule with any problem is skipped
// and every problem of it reported: errors for what is not valid Sigma (YAML, structure,
// values, conditions, unknown modifiers), warnings for valid Sigma this engine does not
// implement (aggregations, `near`, `timeframe`, some modifiers and regexes). A document
// with a `correlation:` section is a correlation rule (load_result::correlations).
// Nothing throws.
load_result load_rules(std::string_view yaml_text, std::string_view file_name);
load_result load_rules_file(const std::filesystem::path& path);

[[nodiscard]] bool matches(const rule& r, const sigma_event& ev);

}  // namespace countersign::rules::sigma
