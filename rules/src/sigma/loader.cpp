#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include "correlation_parse.hpp"
#include "yaml_support.hpp"
#include "countersign/rules/sigma/detail.hpp"
#include "countersign/rules/sigma/sigma.hpp"

namespace countersign::rules::sigma {
namespace {

using piece = value_matcher::piece;
using pattern = std::vector<piece>;

using rule_problem = detail::document_problem;
using detail::collect;
using detail::fail;
using detail::key_line;
using detail::line_of;
using detail::scalar;
using detail::string_list;
using detail::unsupported;

// Plain Sigma value -> pieces: '*' and '?' are wildcards, '\*' '\?' '\\' escapes; any other
// backslash is literal.
pattern parse_value(std::string_view v) {
  pattern out;
  auto lit = [&]() -> std::string& {
    if (out.empty() || out.back().t != piece::type::literal) out.push_back({piece::type::literal, {}});
    return out.back().text;
  };
  for (std::size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
      lit().push_back(v[++i]);
    } else if (c == '*') {
      if (out.empty() || out.back().t != piece::type::star) out.push_back({piece::type::star, {}});
    } else if (c == '?') {
      out.push_back({piece::type::qmark, {}});
    } else {
      lit().push_back(c);
    }
  }
  return out;
}

bool has_wildcards(const pattern& p) {
  return std::any_of(p.begin(), p.end(), [](const piece& x) { return x.t != piece::type::literal; });
}

std::string literal_of(const pattern& p) { return p.empty() ? std::string{} : p.front().text; }

std::string base64(std::string_view in) {
  static constexpr char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = b(i) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    unsigned v = (b(i) << 16) | (b(i + 1) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// UTF-8 -> UTF-16 (LE or BE); invalid bytes are taken as Latin-1.
std::string utf16(std::string_view s, bool le) {
  std::string out;
  auto put = [&](unsigned u) {
    char lo = static_cast<char>(u & 0xFF), hi = static_cast<char>((u >> 8) & 0xFF);
    if (le) {
      out += lo;
      out += hi;
    } else {
      out += hi;
      out += lo;
    }
  };
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    unsigned cp = c;
    std::size_t len = 1;
    if (c >= 0xF0) {
      len = 4;
      cp = c & 0x07u;
    } else if (c >= 0xE0) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xC0) {
      len = 2;
      cp = c & 0x1Fu;
    }
    if (len > 1) {
      bool ok = i + len <= s.size();
      for (std::size_t k = 1; ok && k < len; ++k) {
        auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) ok = false;
        cp = (cp << 6) | (cc & 0x3Fu);
      }
      if (!ok) {
        len = 1;
        cp = c;
      }
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
    i += len;
  }
  return out;
}

// A regex \w character as pySigma (Python, Unicode) sees it: ASCII letters, digits and
// '_', and any byte of a multi-byte UTF-8 sequence (letters outside ASCII).
bool word_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || u >= 0x80;
}

// windash, as pySigma: every '-' or '/' that starts a word (regex \B[-/]\b) becomes each of
// - / en-dash em-dash horizontal-bar, independently (all 5^n combinations). Beyond four
// such flags in one value (625 variants) all flags take the same dash instead.
bool windash_at(const std::string& t, std::size_t i) {
  return (t[i] == '-' || t[i] == '/') && (i == 0 || !word_char(t[i - 1])) && i + 1 < t.size() &&
         word_char(t[i + 1]);
}

std::vector<pattern> windash(const pattern& p) {
  static const std::array<std::string, 5> dashes = {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"};
  std::size_t n = 0;
  for (const auto& pc : p)
    if (pc.t == piece::type::literal)
      for (std::size_t i = 0; i < pc.text.size(); ++i) n += windash_at(pc.text, i) ? 1 : 0;
  if (n == 0) return {p};
  const bool product = n <= 4;
  std::size_t combos = 1;
  for (std::size_t k = 0; k < (product ? n : 1); ++k) combos *= dashes.size();
  std::vector<pattern> out;
  for (std::size_t c = 0; c < combos; ++c) {
    pattern q = p;
    std::size_t code = c;
    for (auto& pc : q) {
      if (pc.t != piece::type::literal) continue;
      std::string r;
      const auto& t = pc.text;
      for (std::size_t i = 0; i < t.size(); ++i) {
        if (windash_at(t, i)) {
          r += dashes[code % dashes.size()];
          if (product) code /= dashes.size();
        } else {
          r += t[i];
        }
      }
      pc.text = std::move(r);
    }
    out.push_back(std::move(q));
  }
  return out;
}

struct modifiers {
  bool contains = false, startswith = false, endswith = false, all = false, cased = false;
  bool re = false, re_i = false, re_m = false, re_s = false;
  bool cidr = false, exists = false, fieldref = false;
  std::optional<value_matcher::cmp> cmp;
  std::vector<std::string> transforms;  // wide/utf16le/utf16be/utf16/base64/base64offset/windash, in order
};

// The modifiers parse_modifiers implements.
constexpr std::array<std::string_view, 23> k_modifiers = {
    "contains", "startswith", "endswith", "all",      "cased",  "re",           "i",      "m",
    "s",        "cidr",       "exists",   "fieldref", "lt",     "lte",          "gt",     "gte",
    "wide",     "utf16le",    "utf16be",  "utf16",    "base64", "base64offset", "windash"};

// Modifiers of the Sigma specification this engine does not implement: a rule using one
// is valid Sigma, skipped with a warning. Any other name is an error: a typo such as
// `endwith` leaves a rule that cannot do what its author meant.
constexpr std::array<std::string_view, 8> k_unimplemented_modifiers = {"neq", "expand", "minute", "hour",
                                                                       "day", "week",   "month",  "year"};

// Edit distance, for the "did you mean" of an unknown modifier (names are a few bytes).
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string unknown_modifier_message(std::string_view s) {
  std::string msg = "unknown modifier '" + std::string(s) + "'";
  std::string_view best;
  std::size_t best_distance = 3;  // a suggestion only for a near miss
  for (const auto k : k_modifiers) {
    if (k.size() < 3) continue;
    const std::size_t d = distance(s, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (!best.empty()) msg += " (did you mean '" + std::string(best) + "'?)";
  return msg;
}

modifiers parse_modifiers(const std::vector<std::string>& mods, int line) {
  // An unknown name is an error even next to a known but unsupported one.
  for (const auto& s : mods) {
    if (std::ranges::find(k_modifiers, s) == k_modifiers.end() &&
        std::ranges::find(k_unimplemented_modifiers, s) == k_unimplemented_modifiers.end())
      fail(line, unknown_modifier_message(s));
  }
  modifiers m;
  for (const auto& s : mods) {
    if (s == "contains") m.contains = true;
    else if (s == "startswith") m.startswith = true;
    else if (s == "endswith") m.endswith = true;
    else if (s == "all") m.all = true;
    else if (s == "cased") m.cased = true;
    else if (s == "re") m.re = true;
    else if (s == "i") m.re_i = true;
    else if (s == "m") m.re_m = true;
    else if (s == "s") m.re_s = true;
    else if (s == "cidr") m.cidr = true;
    else if (s == "exists") m.exists = true;
    else if (s == "fieldref") m.fieldref = true;
    else if (s == "lt") m.cmp = value_matcher::cmp::lt;
    else if (s == "lte") m.cmp = value_matcher::cmp::lte;
    else if (s == "gt") m.cmp = value_matcher::cmp::gt;
    else if (s == "gte") m.cmp = value_matcher::cmp::gte;
    else if (s == "wide" || s == "utf16le" || s == "utf16be" || s == "utf16" || s == "base64" ||
             s == "base64offset" || s == "windash")
      m.transforms.push_back(s);
    else unsupported(line, "modifier '" + s + "' is not supported");
  }
  if ((m.re_i || m.re_m || m.re_s) && !m.re) fail(line, "modifiers i, m, s need 're'");
  int kinds = int{m.re} + int{m.cidr} + int{m.exists} + int{m.fieldref} + int{m.cmp.has_value()};
  if (kinds > 1) fail(line, "conflicting modifiers");
  if (kinds == 1 && (m.contains || m.startswith || m.endswith || !m.transforms.empty()))
    unsupported(line, "modifier combination not supported");
  return m;
}

std::vector<value_matcher> compile_value(const YAML::Node& v, const modifiers& m, int line) {
  value_matcher vm;
  if (v.IsNull()) {
    vm.k = value_matcher::kind::null_value;
    return {vm};
  }
  if (!v.IsScalar()) fail(line, "field value must be a scalar or a list of scalars");
  const std::string& s = v.Scalar();
  if (m.exists) {
    vm.k = value_matcher::kind::exists;
    if (s == "true") vm.want_exists = true;
    else if (s == "false") vm.want_exists = false;
    else fail(line, "'exists' needs true or false");
    return {vm};
  }
  if (m.fieldref) {
    vm.k = value_matcher::kind::fieldref;
    vm.other_field = s;
    vm.cased = m.cased;
    return {vm};
  }
  if (m.cmp) {
    vm.k = value_matcher::kind::numeric;
    vm.op = *m.cmp;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), vm.number);
    if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) fail(line, "'" + s + "' is not a number");
    return {vm};
  }
  if (m.cidr) {
    vm.k = value_matcher::kind::cidr;
    auto slash = s.find('/');
    std::string addr = s.substr(0, slash);
    if (!detail::parse_ip(addr, vm.v6, vm.net)) fail(line, "bad CIDR '" + s + "'");
    int max = vm.v6 ? 128 : 32;
    vm.prefix = max;
    if (slash != std::string::npos) {
      std::string_view p = std::string_view(s).substr(slash + 1);
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), vm.prefix);
      if (ec != std::errc{} || ptr != p.data() + p.size() || vm.prefix < 0 || vm.prefix > max)
        fail(line, "bad CIDR prefix '" + s + "'");
    }
    return {vm};
  }
  if (m.re) {
    RE2::Options o;
    o.set_log_errors(false);
    o.set_case_sensitive(!m.re_i);
    o.set_dot_nl(m.re_s);
    std::string p = m.re_m ? "(?m)" + s : s;
    auto re = std::make_shared<const RE2>(p, o);
    if (!re->ok()) unsupported(line, "regex '" + s + "' not supported: " + re->error());
    vm.k = value_matcher::kind::regex;
    vm.re = std::move(re);
    // PCRE (the flavour the specification names) lets '$' match before a final newline.
    vm.dollar_before_newline = !m.re_m && s.find('$') != std::string::npos;
    return {vm};
  }
  // String pipeline.
  std::vector<pattern> variants{parse_value(s)};
  bool cased = m.cased;
  for (const auto& t : m.transforms) {
    std::vector<pattern> next;
    if (t == "windash") {
      for (const auto& p : variants)
        for (auto& q : windash(p)) next.push_back(std::move(q));
    } else {
      for (const auto& p : variants) {
        if (t == "wide" || t == "utf16le" || t == "utf16be" || t == "utf16") {
          pattern q = p;
          for (auto& pc : q)
            if (pc.t == piece::type::literal) pc.text = utf16(pc.text, t != "utf16be");
          if (t == "utf16" && !q.empty() && q.front().t == piece::type::literal)
            q.front().text.insert(0, "\xFF\xFE");
          else if (t == "utf16")
            q.insert(q.begin(), piece{piece::type::literal, "\xFF\xFE"});
          next.push_back(std::move(q));
          continue;
        }
        if (has_wildcards(p)) unsupported(line, "wildcards with '" + t + "' are not supported");
        std::string lit = literal_of(p);
        // Encoded text stays case-insensitive unless `cased`, as the specification and
        // pySigma have it (a case-swapped encoding would decode to other bytes, but the
        // reference matches it; tests/sigma_diff compares against it).
        if (t == "base64") {
          next.push_back({{piece::type::literal, base64(lit)}});
        } else {  // base64offset, as pySigma
          static constexpr std::array<std::size_t, 3> start{0, 2, 3};
          static constexpr std::array<std::size_t, 3> end_trim{0, 3, 2};
          for (std::size_t i = 0; i < 3; ++i) {
            std::string enc = base64(std::string(i, ' ') + lit);
            std::size_t trim = end_trim[(lit.size() + i) % 3];
            if (enc.size() < start[i] + trim) continue;
            next.push_back({{piece::type::literal, enc.substr(start[i], enc.size() - start[i] - trim)}});
          }
        }
      }
    }
    variants = std::move(next);
  }
  std::vector<value_matcher> out;
  for (auto& p : variants) {
    if (m.contains || m.endswith)
      if (p.empty() || p.front().t != piece::type::star) p.insert(p.begin(), piece{piece::type::star, {}});
    if (m.contains || m.startswith)
      if (p.empty() || p.back().t != piece::type::star) p.push_back(piece{piece::type::star, {}});
    if (!cased)
      for (auto& pc : p)
        for (char& c : pc.text) c = detail::lower_ascii(c);
    if (p.empty()) p.push_back({piece::type::literal, {}});  // '' matches only an empty value
    value_matcher x;
    x.k = value_matcher::kind::glob;
    x.cased = cased;
    x.pieces = std::move(p);
    out.push_back(std::move(x));
  }
  return out;
}

field_condition compile_field(const std::string& key, const YAML::Node& value, int line) {
  field_condition fc;
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto bar = key.find('|', start);
    parts.push_back(key.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  fc.field = parts.front();
  modifiers m = parse_modifiers({parts.begin() + 1, parts.end()}, line);
  if (fc.field.empty() && (m.all || m.exists || m.fieldref || m.cmp))
    unsupported(line, "modifier not supported on keyword searches");
  fc.all = m.all;
  if (value.IsSequence()) {
    if (value.size() == 0) fail(line, "empty value list for '" + key + "'");
    for (const auto& e : value) fc.values.push_back(compile_value(e, m, line_of(e, line)));
  } else {
    fc.values.push_back(compile_value(value, m, line_of(value, line)));
  }
  return fc;
}

// Every problem of a rule is collected, not only the first, so `rules check` names them
// all (an unknown modifier in one selection does not hide an unparsable condition).
using problems = std::vector<rule_problem>;


std::vector<field_condition> compile_map(const YAML::Node& map, int line, problems& found) {
  std::vector<field_condition> out;
  for (const auto& kv : map) {
    int l = line_of(kv.first, line);
    collect(found, l, [&] { out.push_back(compile_field(scalar(kv.first, l, "field name"), kv.second, l)); });
  }
  if (map.size() == 0) fail(line, "empty selection");
  return out;
}

search_identifier compile_search(const std::string& name, const YAML::Node& n, int line, problems& found) {
  search_identifier s;
  s.name = name;
  if (n.IsMap()) {
    s.alternatives.push_back(compile_map(n, line, found));
  } else if (n.IsSequence() && n.size() > 0) {
    bool maps = n[0].IsMap();
    field_condition keywords;  // field empty
    for (const auto& e : n) {
      int l = line_of(e, line);
      if (maps != e.IsMap()) fail(l, "search identifier '" + name + "' mixes maps and plain values");
      if (maps) {
        s.alternatives.push_back(compile_map(e, l, found));
      } else {
        modifiers m;
        m.contains = true;  // keywords match anywhere in a value
        collect(found, l, [&] { keywords.values.push_back(compile_value(e, m, l)); });
      }
    }
    if (!maps) s.alternatives.push_back({std::move(keywords)});
  } else {
    fail(line, "search identifier '" + name + "' must be a map or a non-empty list");
  }
  return s;
}

// The rule, or nothing with every problem in `found`.
std::optional<rule> compile_rule(const YAML::Node& doc, std::string_view file, int line, problems& found) {
  rule r;
  r.file = std::string(file);
  r.line = line;
  collect(found, line, [&] {
    if (doc["id"]) r.id = scalar(doc["id"], line, "id");
    if (doc["name"]) r.name = scalar(doc["name"], line, "name");
  });
  collect(found, line, [&] {
    if (!doc["title"]) fail(line, "missing 'title'");
    r.title = scalar(doc["title"], line, "title");
  });
  collect(found, line, [&] {
    if (doc["status"]) r.status = scalar(doc["status"], line, "status");
    if (doc["level"]) r.level = scalar(doc["level"], line, "level");
  });
  collect(found, line, [&] { r.tags = string_list(doc["tags"], line, "tags"); });
  collect(found, line,
          [&] { r.falsepositives = string_list(doc["falsepositives"], line, "falsepositives"); });
  // Collections have no detection of their own to check (correlations are parsed apart).
  if (doc["action"]) {
    found.push_back({line_of(doc["action"], line), "rule collections ('action') are not supported", true});
    return std::nullopt;
  }
  collect(found, line, [&] {
    if (const auto ls = doc["logsource"]) {
      if (!ls.IsMap()) fail(line_of(ls, line), "'logsource' must be a map");
      if (ls["category"]) r.source.category = scalar(ls["category"], line, "logsource.category");
      if (ls["product"]) r.source.product = scalar(ls["product"], line, "logsource.product");
      if (ls["service"]) r.source.service = scalar(ls["service"], line, "logsource.service");
    }
  });
  const auto det = doc["detection"];
  if (!det) {
    found.push_back({line, "missing 'detection'", false});
    return std::nullopt;
  }
  const int dline = key_line(doc, "detection", line);
  if (!det.IsMap()) {
    found.push_back({dline, "'detection' must be a map", false});
    return std::nullopt;
  }
  std::vector<std::string> names;
  std::optional<YAML::Node> cond;
  for (const auto& kv : det) {
    int l = line_of(kv.first, dline);
    std::optional<std::string> key;
    collect(found, l, [&] { key = scalar(kv.first, l, "search identifier"); });
    if (!key) continue;
    const std::string& name = *key;
    if (name == "condition") {
      cond.emplace(kv.second);
      continue;
    }
    if (name == "timeframe") {
      found.push_back({l, "'timeframe' is not supported", true});
      continue;
    }
    // A search that does not compile is still a name the condition may use.
    names.push_back(name);
    collect(found, l, [&] { r.searches.push_back(compile_search(name, kv.second, l, found)); });
  }
  if (!cond) {
    found.push_back({dline, "missing 'condition'", false});
    return std::nullopt;
  }
  const int cline = line_of(*cond, dline);
  collect(found, cline, [&] {
    r.condition_text = string_list(*cond, cline, "condition");
    if (r.condition_text.empty()) fail(cline, "empty condition");
  });
  std::vector<condition_node> parsed;
  for (const auto& text : r.condition_text) {
    auto c = parse_condition(text, names);
    if (!c) {
      found.push_back(
          {cline,
           c.error().unsupported ? c.error().message : "condition '" + text + "': " + c.error().message,
           c.error().unsupported});
      continue;
    }
    parsed.push_back(std::move(*c));
  }
  if (!found.empty()) return std::nullopt;
  if (parsed.size() == 1) {
    r.condition = std::move(parsed.front());
  } else {
    r.condition.k = condition_node::kind::or_;
    r.condition.kids = std::move(parsed);
  }
  return r;
}

}  // namespace

load_result load_rules(std::string_view yaml_text, std::string_view file_name) {
  load_result res;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    res.diagnostics.push_back({diagnostic::severity::error, std::string(file_name),
                               e.mark.is_null() ? 0 : e.mark.line + 1, "?", "YAML: " + e.msg});
    return res;
  }
  for (const auto& doc : docs) {
    if (doc.IsNull()) continue;
    const int line = line_of(doc, 1);
    std::string id = "?";
    problems found;
    std::optional<rule> r;
    bool correlation = false;
    collect(found, line, [&] {
      if (doc.IsMap() && doc["id"] && doc["id"].IsScalar()) id = doc["id"].Scalar();
      if (!doc.IsMap()) fail(line, "a rule must be a YAML map");
      if (doc["correlation"]) {
        std::vector<detail::correlation_problem> cp;
        if (auto c = detail::parse_correlation(doc, file_name, line, cp)) res.correlations.push_back(std::move(*c));
        for (auto& p : cp) found.push_back({p.line, std::move(p.message), p.unsupported});
        correlation = true;
        return;
      }
      r = compile_rule(doc, file_name, line, found);
    });
    if (correlation && found.empty()) continue;
    if (r && found.empty()) {
      res.rules.push_back(std::move(*r));
      continue;
    }
    ++res.skipped;
    for (auto& p : found) {
      res.diagnostics.push_back({p.unsupported ? diagnostic::severity::warning : diagnostic::severity::error,
                                 std::string(file_name), p.line, id,
                                 p.unsupported ? p.message + "; rule skipped" : std::move(p.message)});
    }
  }
  return res;
}

load_result load_rules_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result res;
    res.diagnostics.push_back({diagnostic::severity::error, path.string(), 0, "?", "cannot read file"});
    return res;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_rules(ss.str(), path.string());
}

}  // namespace countersign::rules::sigma
