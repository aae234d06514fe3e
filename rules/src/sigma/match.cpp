#include <arpa/inet.h>
#include <re2/re2.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "countersign/rules/sigma/sigma.hpp"
#include "countersign/rules/sigma/detail.hpp"

namespace countersign::rules::sigma {
namespace {

using piece = value_matcher::piece;

bool ieq(char a, char b) { return detail::lower_ascii(a) == b; }  // b already lowercased

// Does `lit` occur in `s` at `at`? (`lit` lowercased unless cased.)
bool lit_at(std::string_view s, std::size_t at, std::string_view lit, bool cased) {
  if (at + lit.size() > s.size()) return false;
  if (cased) return s.compare(at, lit.size(), lit) == 0;
  for (std::size_t i = 0; i < lit.size(); ++i)
    if (!ieq(s[at + i], lit[i])) return false;
  return true;
}

// Candidates for the first byte come from memchr (both cases of a letter), which scans
// long values (script blocks of kilobytes) many bytes at a time.
std::size_t lit_find(std::string_view s, std::size_t from, std::string_view lit, bool cased) {
  if (lit.empty()) return from;
  if (cased) return s.find(lit, from);
  if (s.size() < lit.size()) return std::string_view::npos;
  const char lo = lit[0];
  const char up = (lo >= 'a' && lo <= 'z') ? static_cast<char>(lo - 'a' + 'A') : lo;
  const char* const base = s.data();
  const char* const last = base + (s.size() - lit.size());  // last possible start
  const char* p = base + from;
  while (p <= last) {
    const auto n = static_cast<std::size_t>(last - p) + 1;
    const void* a = std::memchr(p, lo, n);
    const void* b = up == lo ? nullptr : std::memchr(p, up, a == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(a) - p));
    const char* hit = static_cast<const char*>(b != nullptr ? b : a);
    if (hit == nullptr) return std::string_view::npos;
    const auto i = static_cast<std::size_t>(hit - base);
    if (lit_at(s, i, lit, false)) return i;
    p = hit + 1;
  }
  return std::string_view::npos;
}

// The index after the UTF-8 character at `i` (continuation bytes go with the byte before them).
std::size_t next_char(std::string_view s, std::size_t i) {
  ++i;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i;
}

// Glob over pieces: literals, '*', '?'. Classic greedy algorithm with one backtrack point
// per star, literal runs compared as blocks.
bool glob_match(const std::vector<piece>& ps, std::string_view s, bool cased) {
  // Fast paths: literal, *lit*, lit*, *lit.
  if (ps.size() == 1 && ps[0].t == piece::type::literal)
    return s.size() == ps[0].text.size() && lit_at(s, 0, ps[0].text, cased);
  if (ps.size() == 3 && ps[0].t == piece::type::star && ps[1].t == piece::type::literal &&
      ps[2].t == piece::type::star)
    return lit_find(s, 0, ps[1].text, cased) != std::string_view::npos;
  if (ps.size() == 2 && ps[0].t == piece::type::literal && ps[1].t == piece::type::star)
    return lit_at(s, 0, ps[0].text, cased);
  if (ps.size() == 2 && ps[0].t == piece::type::star && ps[1].t == piece::type::literal)
    return s.size() >= ps[1].text.size() && lit_at(s, s.size() - ps[1].text.size(), ps[1].text, cased);
  std::size_t p = 0, i = 0;
  std::size_t star_p = std::string::npos, star_i = 0;
  while (true) {
    if (p < ps.size()) {
      const piece& cur = ps[p];
      if (cur.t == piece::type::star) {
        star_p = p++;
        star_i = i;
        continue;
      }
      if (cur.t == piece::type::qmark && i < s.size()) {
        ++p;
        i = next_char(s, i);  // one character, not one byte
        continue;
      }
      if (cur.t == piece::type::literal && lit_at(s, i, cur.text, cased)) {
        ++p;
        i += cur.text.size();
        continue;
      }
    } else if (i == s.size()) {
      return true;
    }
    if (star_p == std::string::npos || star_i >= s.size()) return false;
    p = star_p + 1;
    star_i = next_char(s, star_i);
    i = star_i;
  }
}

std::optional<double> to_number(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return d;
}

bool ieq_str(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (detail::lower_ascii(a[i]) != detail::lower_ascii(b[i])) return false;
  return true;
}

using detail::value_oracle;

bool eval(const condition_node& n, const rule& r, const sigma_event& ev, const value_oracle* oracle);

// A keyword search: some value of the event matches some test.
bool eval_keywords(const field_condition& fc, const sigma_event& ev, const value_oracle* oracle) {
  if (oracle != nullptr)
    if (const auto k = oracle->known(fc)) return *k;
  bool unknown = false;
  for (const auto& group : fc.values)
    for (const auto& m : group) {
      const auto k = oracle != nullptr ? oracle->known(m) : std::nullopt;
      if (k && *k) return true;
      unknown = unknown || !k;
    }
  if (!unknown) return false;
  bool ok = false;
  ev.for_each_value([&](std::string_view v) {
    if (ok) return;
    for (const auto& group : fc.values)
      for (const auto& m : group) {
        if (oracle != nullptr && oracle->known(m)) continue;  // known false (a true returned above)
        if (m.matches(v, ev)) {
          ok = true;
          return;
        }
      }
  });
  return ok;
}

bool eval_field(const field_condition& fc, const sigma_event& ev, const value_oracle* oracle) {
  if (oracle != nullptr)
    if (const auto k = oracle->known(fc)) return *k;
  if (oracle != nullptr && fc.probed != 0 && !fc.all)
    if (const auto k = oracle->seen_values_match(fc, ev)) return *k;
  // The field is read when a test needs its value, once (from the oracle when it has it).
  std::optional<std::optional<std::string_view>> value;
  const auto read = [&] {
    if (oracle != nullptr)
      if (auto v = oracle->value(fc)) return *v;
    return ev.field(fc.field);
  };
  auto group_ok = [&](const std::vector<value_matcher>& group) {
    for (const auto& m : group) {
      if (oracle != nullptr) {
        if (const auto k = oracle->known(m)) {
          if (*k) return true;
          continue;
        }
      }
      if (!value) value.emplace(read());
      if (m.matches(*value, ev)) return true;
    }
    return false;
  };
  if (fc.all) {
    for (const auto& group : fc.values)
      if (!group_ok(group)) return false;
    return true;
  }
  for (const auto& group : fc.values)
    if (group_ok(group)) return true;
  return false;
}

bool eval_search(const search_identifier& s, const sigma_event& ev, const value_oracle* oracle) {
  for (const auto& alt : s.alternatives) {
    bool all_ok = true;
    for (const auto& fc : alt) {
      if (!(fc.field.empty() ? eval_keywords(fc, ev, oracle) : eval_field(fc, ev, oracle))) {
        all_ok = false;
        break;
      }
    }
    if (all_ok) return true;
  }
  return false;
}

bool eval(const condition_node& n, const rule& r, const sigma_event& ev, const value_oracle* oracle) {
  using k = condition_node::kind;
  switch (n.k) {
    case k::ident:
      return eval_search(r.searches[n.idents[0]], ev, oracle);
    case k::one_of:
      for (auto i : n.idents)
        if (eval_search(r.searches[i], ev, oracle)) return true;
      return false;
    case k::all_of:
      for (auto i : n.idents)
        if (!eval_search(r.searches[i], ev, oracle)) return false;
      return true;
    case k::not_:
      return !eval(n.kids[0], r, ev, oracle);
    case k::and_:
      for (const auto& c : n.kids)
        if (!eval(c, r, ev, oracle)) return false;
      return true;
    case k::or_:
      for (const auto& c : n.kids)
        if (eval(c, r, ev, oracle)) return true;
      return false;
  }
  return false;
}

}  // namespace

bool detail::parse_ip(std::string_view text, bool& v6, std::array<std::uint8_t, 16>& out) {
  std::string s(text);
  out.fill(0);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

bool value_matcher::matches(std::optional<std::string_view> value, const sigma_event& ev) const {
  switch (k) {
    case kind::null_value:
      return !value.has_value();
    case kind::exists:
      return value.has_value() == want_exists;
    case kind::glob:
      return value && glob_match(pieces, *value, cased);
    case kind::regex: {
      if (!value) return false;
      if (RE2::PartialMatch(re2::StringPiece(value->data(), value->size()), *re)) return true;
      return dollar_before_newline && !value->empty() && value->back() == '\n' &&
             RE2::PartialMatch(re2::StringPiece(value->data(), value->size() - 1), *re);
    }
    case kind::numeric: {
      if (!value) return false;
      auto d = to_number(*value);
      if (!d) return false;
      switch (op) {
        case cmp::lt:
          return *d < number;
        case cmp::lte:
          return *d <= number;
        case cmp::gt:
          return *d > number;
        case cmp::gte:
          return *d >= number;
      }
      return false;
    }
    case kind::cidr: {
      if (!value) return false;
      bool is6 = false;
      std::array<std::uint8_t, 16> addr{};
      if (!detail::parse_ip(*value, is6, addr) || is6 != v6) return false;
      int full = prefix / 8, rest = prefix % 8;
      if (std::memcmp(addr.data(), net.data(), static_cast<std::size_t>(full)) != 0) return false;
      if (rest == 0) return true;
      auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
      return (addr[static_cast<std::size_t>(full)] & mask) == (net[static_cast<std::size_t>(full)] & mask);
    }
    case kind::fieldref: {
      if (!value) return false;
      auto other = ev.field(other_field);
      if (!other) return false;
      return cased ? *value == *other : ieq_str(*value, *other);
    }
  }
  return false;
}

bool matches(const rule& r, const sigma_event& ev) { return eval(r.condition, r, ev, nullptr); }

bool detail::matches(const rule& r, const sigma_event& ev, const value_oracle* oracle) {
  return eval(r.condition, r, ev, oracle);
}

std::string diagnostic::text() const {
  return file + ":" + std::to_string(line) + ": rule " + (rule_id.empty() ? "?" : rule_id) + ": " +
         (sev == severity::warning ? "warning: " : "") + message;
}

}  // namespace countersign::rules::sigma
