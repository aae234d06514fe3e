#pragma once
// A validator for the part of JSON Schema (draft 2020-12) that
// schema/countersign.alert.v1.schema.json uses: type, const, enum, properties,
// required, additionalProperties (false or a schema), items, minItems, minimum,
// minLength, pattern, format date-time and local $ref into $defs. Anything else in a
// schema is reported as unsupported, so the schema cannot silently outgrow the checker.

#include <countersign/rules/time.hpp>

#include <simdjson.h>

#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::test_support {

class json_schema {
 public:
  // `text` must outlive nothing: the schema is parsed into its own document.
  explicit json_schema(const std::string& text) {
    if (parser_.parse(text).get(root_) != simdjson::SUCCESS) errors_.push_back("schema: not JSON");
  }

  // Problems of the schema itself (empty when it loaded).
  [[nodiscard]] const std::vector<std::string>& load_errors() const noexcept { return errors_; }

  // Every violation of `instance`, each with its JSON pointer.
  [[nodiscard]] std::vector<std::string> validate(std::string_view instance) const {
    std::vector<std::string> out;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(instance.data(), instance.size()).get(doc) != simdjson::SUCCESS) {
      out.emplace_back("(document): not JSON");
      return out;
    }
    check(root_, doc, "", out);
    return out;
  }

 private:
  static std::string_view type_name(simdjson::dom::element v) {
    using t = simdjson::dom::element_type;
    switch (v.type()) {
      case t::ARRAY: return "array";
      case t::OBJECT: return "object";
      case t::INT64:
      case t::UINT64: return "integer";
      case t::DOUBLE: return "number";
      case t::STRING: return "string";
      case t::BOOL: return "boolean";
      case t::NULL_VALUE: return "null";
    }
    return "null";
  }

  static bool equal(simdjson::dom::element a, simdjson::dom::element b) {
    return simdjson::to_string(a) == simdjson::to_string(b);
  }

  simdjson::dom::element resolve(simdjson::dom::element schema, std::vector<std::string>& out) const {
    std::string_view ref;
    if (schema["$ref"].get(ref) != simdjson::SUCCESS) return schema;
    constexpr std::string_view k_prefix = "#/$defs/";
    simdjson::dom::element target;
    if (!ref.starts_with(k_prefix) || root_["$defs"][ref.substr(k_prefix.size())].get(target) != simdjson::SUCCESS) {
      out.push_back("schema: unresolved $ref " + std::string(ref));
      return schema;
    }
    return target;
  }

  void check(simdjson::dom::element schema_in, simdjson::dom::element v, const std::string& at,
             std::vector<std::string>& out) const {
    const simdjson::dom::element schema = resolve(schema_in, out);
    const std::string where = at.empty() ? "/" : at;
    const auto fail = [&](const std::string& what) { out.push_back(where + ": " + what); };
    for (const auto [key, rule] : schema.get_object()) {
      if (key == "type") {
        const std::string_view want = rule.get_string().value_unsafe();
        const std::string_view have = type_name(v);
        if (have != want && !(want == "number" && have == "integer")) fail("is " + std::string(have) + ", not " + std::string(want));
      } else if (key == "const") {
        if (!equal(rule, v)) fail("must be " + simdjson::to_string(rule));
      } else if (key == "enum") {
        bool found = false;
        for (const auto option : rule.get_array()) found = found || equal(option, v);
        if (!found) fail(simdjson::to_string(v) + " is not one of " + simdjson::to_string(rule));
      } else if (key == "properties") {
        if (!v.is_object()) continue;
        for (const auto [name, value] : v.get_object()) {
          simdjson::dom::element sub;
          if (rule[name].get(sub) == simdjson::SUCCESS) check(sub, value, at + "/" + std::string(name), out);
        }
      } else if (key == "required") {
        if (!v.is_object()) continue;
        for (const auto name : rule.get_array()) {
          const std::string_view n = name.get_string().value_unsafe();
          if (v[n].error() != simdjson::SUCCESS) fail("missing required " + std::string(n));
        }
      } else if (key == "additionalProperties") {
        if (!v.is_object()) continue;
        simdjson::dom::object props;
        const bool has_props = schema["properties"].get(props) == simdjson::SUCCESS;
        for (const auto [name, value] : v.get_object()) {
          if (has_props && props[name].error() == simdjson::SUCCESS) continue;
          if (rule.is_bool()) {
            if (!rule.get_bool().value_unsafe()) fail("unexpected member " + std::string(name));
          } else {
            check(rule, value, at + "/" + std::string(name), out);
          }
        }
      } else if (key == "items") {
        if (!v.is_array()) continue;
        std::size_t i = 0;
        for (const auto item : v.get_array()) check(rule, item, at + "/" + std::to_string(i++), out);
      } else if (key == "minItems") {
        if (v.is_array() && v.get_array().size() < rule.get_uint64().value_unsafe()) fail("has too few items");
      } else if (key == "minimum") {
        std::int64_t n = 0;
        if (v.get_int64().get(n) == simdjson::SUCCESS && n < rule.get_int64().value_unsafe()) fail("is below the minimum");
      } else if (key == "minLength") {
        std::string_view s;
        if (v.get_string().get(s) == simdjson::SUCCESS && s.size() < rule.get_uint64().value_unsafe()) fail("is too short");
      } else if (key == "pattern") {
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS) continue;
        const std::regex& re = compiled(rule.get_string().value_unsafe());
        if (!std::regex_search(s.begin(), s.end(), re)) fail("\"" + std::string(s) + "\" does not match " + std::string(rule.get_string().value_unsafe()));
      } else if (key == "format") {
        std::string_view s;
        if (rule.get_string().value_unsafe() != "date-time") {
          fail("schema: unsupported format " + std::string(rule.get_string().value_unsafe()));
        } else if (v.get_string().get(s) == simdjson::SUCCESS && !rules::parse_rfc3339_ms(s)) {
          fail("\"" + std::string(s) + "\" is not an RFC 3339 date-time");
        }
      } else if (key != "$ref" && key != "$defs" && key != "$schema" && key != "$id" && key != "title" &&
                 key != "description") {
        fail("schema: unsupported keyword " + std::string(key));
      }
    }
  }

  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  std::vector<std::string> errors_;
  // Patterns compiled once: the integration harness validates thousands of alerts.
  mutable std::map<std::string, std::regex, std::less<>> patterns_;
  const std::regex& compiled(std::string_view pattern) const {
    auto it = patterns_.find(pattern);
    if (it == patterns_.end()) it = patterns_.emplace(std::string(pattern), std::regex(std::string(pattern))).first;
    return it->second;
  }
};

}  // namespace countersign::test_support
