// countersign_sigma_eval: our Sigma engine as a command-line oracle for the differential
// test against pySigma (tests/sigma_diff/diff.py).
//
//   countersign_sigma_eval RULES_DIR EVENTS.ndjson   one line per event:
//                                                    "INDEX<TAB>id1,id2,..." (ids sorted)
//   countersign_sigma_eval --list RULES_DIR          the ids of the rules that loaded
//
// Rules: every *.yml / *.yaml file of RULES_DIR, in name order, through load_rules_file();
// each diagnostic (a skipped rule included) goes to stderr as FILE:LINE: rule ID: message.
// Events: one flat JSON object per line, field -> string, number, bool or null, read with
// simdjson. A number or bool is seen as its JSON token text ("42", "true"); null is a
// missing field. A line that is not such an object ends the run with exit status 2, so the
// comparison never runs on events the tool silently misread.
// Single-threaded; all state lives in main().
#include <countersign/rules/sigma/sigma.hpp>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace sigma = countersign::rules::sigma;
namespace od = simdjson::ondemand;

// One decoded event: field -> value, nullopt for a JSON null. Lookups are exact (case-
// sensitive field names), as the processor's own documents do.
class flat_event final : public sigma::sigma_event {
 public:
  std::map<std::string, std::optional<std::string>, std::less<>> fields;

  [[nodiscard]] std::optional<std::string_view> field(std::string_view name) const override {
    auto it = fields.find(name);
    if (it == fields.end() || !it->second) return std::nullopt;
    return std::string_view(*it->second);
  }
  void for_each_value(const std::function<void(std::string_view)>& fn) const override {
    for (const auto& [name, value] : fields)
      if (value) fn(*value);
  }
};

std::string_view trim_token(std::string_view raw) {
  while (!raw.empty() && std::string_view(" \n\r\t,}]").find(raw.back()) != std::string_view::npos)
    raw.remove_suffix(1);
  return raw;
}

// Decodes one NDJSON line; the error text on failure.
std::optional<std::string> decode(od::parser& parser, const std::string& line, flat_event& out) {
  out.fields.clear();
  simdjson::padded_string padded(line);
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc); err) return std::string(simdjson::error_message(err));
  od::object obj;
  if (auto err = doc.get_object().get(obj); err)
    return "not a JSON object: " + std::string(simdjson::error_message(err));
  for (auto member : obj) {
    std::string_view key;
    if (auto err = member.unescaped_key().get(key); err) return std::string(simdjson::error_message(err));
    od::value v;
    if (auto err = member.value().get(v); err) return std::string(simdjson::error_message(err));
    od::json_type t;
    if (auto err = v.type().get(t); err) return std::string(simdjson::error_message(err));
    std::optional<std::string> value;
    switch (t) {
      case od::json_type::string: {
        std::string_view s;
        if (auto err = v.get_string().get(s); err) return std::string(simdjson::error_message(err));
        value.emplace(s);
        break;
      }
      case od::json_type::number:
      case od::json_type::boolean:
        value.emplace(trim_token(v.raw_json_token()));
        break;
      case od::json_type::null:
        break;
      default:
        return "field '" + std::string(key) + "' is not a string, number, bool or null";
    }
    out.fields.insert_or_assign(std::string(key), std::move(value));
  }
  return std::nullopt;
}

std::vector<sigma::rule> load_dir(const std::filesystem::path& dir, bool& ok) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto ext = entry.path().extension();
    if (entry.is_regular_file() && (ext == ".yml" || ext == ".yaml")) files.push_back(entry.path());
  }
  if (ec) {
    std::cerr << dir.string() << ": " << ec.message() << '\n';
    ok = false;
    return {};
  }
  std::sort(files.begin(), files.end());
  std::vector<sigma::rule> rules;
  for (const auto& f : files) {
    auto res = sigma::load_rules_file(f);
    for (const auto& d : res.diagnostics) std::cerr << d.text() << '\n';
    for (auto& r : res.rules) rules.push_back(std::move(r));
  }
  return rules;
}

int usage() {
  std::cerr << "usage: countersign_sigma_eval RULES_DIR EVENTS.ndjson\n"
               "       countersign_sigma_eval --list RULES_DIR\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return usage();
  bool ok = true;
  if (std::string_view(argv[1]) == "--list") {
    auto rules = load_dir(argv[2], ok);
    for (const auto& r : rules) std::cout << r.id << '\n';
    return ok ? 0 : 2;
  }
  auto rules = load_dir(argv[1], ok);
  if (!ok) return 2;
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::cerr << argv[2] << ": cannot read\n";
    return 2;
  }
  od::parser parser;
  flat_event ev;
  std::string line;
  std::vector<std::string_view> hits;
  for (std::size_t index = 0; std::getline(in, line); ++index) {
    if (auto err = decode(parser, line, ev)) {
      std::cerr << argv[2] << ':' << index + 1 << ": " << *err << '\n';
      return 2;
    }
    hits.clear();
    for (const auto& r : rules)
      if (sigma::matches(r, ev)) hits.emplace_back(r.id);
    std::sort(hits.begin(), hits.end());
    std::cout << index << '\t';
    for (std::size_t i = 0; i < hits.size(); ++i) std::cout << (i ? "," : "") << hits[i];
    std::cout << '\n';
  }
  return 0;
}
