// User-defined input profiles (docs/profiles.md): the YAML reader and compiler, the
// compiled set's match() and walk(), and the hot-reloading library.
//
//   load:  YAML ─► read_profile (one profile; throws profile_problem, caught per profile)
//               ─► profile: mappings + a trie of key segments (document root = node 0,
//                  record root = node 1 when `records` is set)
//   set:   profiles ─► index: one trie of all match conditions (presence and value tests)
//   match: one scan of the top-level object (descending only into objects a condition
//          names); a bitset of satisfied conditions on the stack; first profile whose
//          conditions all hold
//   walk:  one pass in document order; a member is looked up by (node, key segment), so
//          unmapped members are skipped unread, nested objects and dotted keys alike;
//          every mapped scalar is read once as text and converted per target; root facts
//          of a records document are copied into each record at the end
//
// Exceptions are thrown and caught only while loading; match() and walk() report through
// values (walk_status and the walk_context's parse_error).

#include <countersign/processor/engine/user_profiles.hpp>

#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>
#include <countersign/rules/observation_fields.hpp>
#include <countersign/rules/time.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>
#include <utility>

namespace countersign::processor {

namespace od = simdjson::ondemand;
using detail::walk_context;
using detail::walk_status;
using rules::event_kind;
using rules::observation;
using rules::signature_status;
using rules::text_field;

namespace {

// ---------------------------------------------------------------------------------------
// Targets: the observation fields a profile can fill, by their row in
// rules::k_observation_fields; the row's `form` says how a source value is converted
// (value_form::none: not a `fields` name).

using rules::value_form;
using target = std::uint8_t;

static_assert(rules::k_observation_field_count <= 256, "targets are one byte");
consteval target target_of(std::string_view name) { return static_cast<target>(rules::observation_field_row(name)); }

constexpr target k_kind = target_of("kind");  // kind_from: not a `fields` name
constexpr target k_event_time = target_of("event_time");
constexpr target k_host_id = target_of("host_id");
constexpr target k_host_name = target_of("host_name");
constexpr target k_signature_status = target_of("signature.status");

text_field* text_of(observation& o, target t) { return rules::observation_field_as<text_field>(o, t); }
std::optional<std::int64_t>* int_of(observation& o, target t) {
  return rules::observation_field_as<std::optional<std::int64_t>>(o, t);
}
std::optional<bool>* bool_of(observation& o, target t) { return rules::observation_field_as<std::optional<bool>>(o, t); }

// Copies one target's value from `from` to `to` unless `to` already has one.
void copy_if_unset(target t, const observation& from, observation& to) {
  auto& src = const_cast<observation&>(from);  // the accessors are shared; nothing is written
  if (t == k_signature_status) {
    if (to.signature.status == signature_status::missing && !to.signature.status_raw.present) {
      to.signature.status = src.signature.status;
      to.signature.status_raw = src.signature.status_raw;
    }
  } else if (text_field* f = text_of(src, t)) {
    if (f->present && !text_of(to, t)->present) *text_of(to, t) = *f;
  } else if (auto* i = int_of(src, t)) {
    if (*i && !*int_of(to, t)) *int_of(to, t) = *i;
  } else if (auto* b = bool_of(src, t)) {
    if (*b && !*bool_of(to, t)) *bool_of(to, t) = *b;
  }
}

// ---------------------------------------------------------------------------------------
// Small text helpers (ASCII; no locale).

char lower_ascii(char ch) { return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  }
  return true;
}

std::string_view trim_token(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// ---------------------------------------------------------------------------------------
// Times.

enum class time_format : std::uint8_t { automatic, rfc3339, epoch_s, epoch_ms, epoch_us, epoch_ns, pattern };

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr std::array<std::string_view, 12> k_months = {"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};

// The strptime-like directives a pattern may use; validated at load.
constexpr std::string_view k_pattern_directives = "YmdeHMSfbBaAzZsy%";

// Parses `s` with a strftime-style pattern (docs/profiles.md lists the directives). A
// space in the pattern matches any run of spaces (also none). Fields default to
// 1970-01-01 00:00:00 UTC.
std::optional<std::int64_t> parse_time_pattern(std::string_view pattern, std::string_view s) {
  std::int64_t year = 1970;
  unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  std::int64_t offset_s = 0;
  std::optional<std::int64_t> epoch;
  std::size_t at = 0;
  const auto digits = [&](std::size_t max, std::int64_t& out) {
    std::size_t n = 0;
    out = 0;
    while (n < max && at < s.size() && s[at] >= '0' && s[at] <= '9') {
      out = out * 10 + (s[at++] - '0');
      ++n;
    }
    return n > 0;
  };
  const auto letters = [&]() {
    const std::size_t begin = at;
    while (at < s.size() && ((s[at] | 0x20) >= 'a' && (s[at] | 0x20) <= 'z')) ++at;
    return s.substr(begin, at - begin);
  };
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char pc = pattern[i];
    if (pc == ' ') {
      while (at < s.size() && s[at] == ' ') ++at;
      continue;
    }
    if (pc != '%') {
      if (at >= s.size() || s[at] != pc) return std::nullopt;
      ++at;
      continue;
    }
    if (++i >= pattern.size()) return std::nullopt;
    std::int64_t v = 0;
    switch (pattern[i]) {
      case 'Y':
        if (!digits(4, v)) return std::nullopt;
        year = v;
        break;
      case 'y':
        if (!digits(2, v)) return std::nullopt;
        year = v < 69 ? 2000 + v : 1900 + v;
        break;
      case 'm':
        if (!digits(2, v) || v < 1 || v > 12) return std::nullopt;
        month = static_cast<unsigned>(v);
        break;
      case 'e':
        while (at < s.size() && s[at] == ' ') ++at;
        [[fallthrough]];
      case 'd':
        if (!digits(2, v) || v < 1 || v > 31) return std::nullopt;
        day = static_cast<unsigned>(v);
        break;
      case 'H':
        if (!digits(2, v) || v > 23) return std::nullopt;
        hour = static_cast<unsigned>(v);
        break;
      case 'M':
        if (!digits(2, v) || v > 59) return std::nullopt;
        minute = static_cast<unsigned>(v);
        break;
      case 'S':
        if (!digits(2, v) || v > 60) return std::nullopt;
        second = static_cast<unsigned>(v);
        break;
      case 'f': {
        std::size_t n = 0;
        millis = 0;
        while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
          if (n < 3) millis = millis * 10 + static_cast<unsigned>(s[at] - '0');
          ++n;
          ++at;
        }
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n) millis *= 10;
        break;
      }
      case 'b':
      case 'B': {
        const std::string_view name = letters();
        if (name.size() < 3) return std::nullopt;
        const auto it = std::ranges::find_if(k_months, [&](std::string_view m) { return iequals(name.substr(0, 3), m); });
        if (it == k_months.end()) return std::nullopt;
        month = static_cast<unsigned>(it - k_months.begin()) + 1;
        break;
      }
      case 'a':
      case 'A':
        if (letters().size() < 3) return std::nullopt;
        break;
      case 'Z': {
        const std::string_view zone = letters();
        if (!iequals(zone, "UTC") && !iequals(zone, "GMT") && !iequals(zone, "Z")) return std::nullopt;
        break;
      }
      case 'z': {
        if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
          ++at;
          break;
        }
        if (at >= s.size() || (s[at] != '+' && s[at] != '-')) return std::nullopt;
        const bool minus = s[at++] == '-';
        std::int64_t hh = 0, mm = 0;
        if (!digits(2, hh)) return std::nullopt;
        if (at < s.size() && s[at] == ':') ++at;
        if (!digits(2, mm)) return std::nullopt;
        offset_s = (hh * 3600 + mm * 60) * (minus ? -1 : 1);
        break;
      }
      case 's': {
        const bool minus = at < s.size() && s[at] == '-';
        if (minus) ++at;
        if (!digits(12, v)) return std::nullopt;
        epoch = minus ? -v : v;
        break;
      }
      case '%':
        if (at >= s.size() || s[at] != '%') return std::nullopt;
        ++at;
        break;
      default:
        return std::nullopt;
    }
  }
  if (at != s.size()) return std::nullopt;
  std::int64_t ms = 0;
  if (epoch) {
    ms = *epoch * 1000;
  } else {
    static constexpr std::array<unsigned, 12> k_days = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day > k_days[month - 1]) return std::nullopt;
    const std::int64_t days = days_from_civil(year, month, day);
    ms = ((days * 86400 + hour * 3600 + minute * 60 + second) - offset_s) * 1000 + millis;
  }
  if (ms < k_min_time_ms || ms > k_max_time_ms) return std::nullopt;
  return ms;
}

// ---------------------------------------------------------------------------------------
// Status words.

std::optional<signature_status> status_by_name(std::string_view name) {
  for (auto s : {signature_status::missing, signature_status::valid, signature_status::expired,
                 signature_status::revoked, signature_status::untrusted_root, signature_status::bad_digest,
                 signature_status::chain_error, signature_status::not_signed, signature_status::unknown,
                 signature_status::other}) {
    if (iequals(name, rules::to_string(s))) return s;
  }
  return std::nullopt;
}

// A status word no map names: countersign's own names, then the ECS / Sysmon words.
signature_status default_status(std::string_view raw) {
  if (auto s = status_by_name(raw); s && *s != signature_status::missing) return *s;
  return ecs_signature_status(raw);
}

std::optional<event_kind> kind_by_name(std::string_view name) {
  for (auto k : {event_kind::unknown, event_kind::process_start, event_kind::image_load, event_kind::driver_load,
                 event_kind::file_certificate, event_kind::code_integrity, event_kind::signature_info,
                 event_kind::policy}) {
    if (name == rules::to_string(k)) return k;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// The trie of key segments: (parent node, segment) -> child node in an open-addressing
// table, as ecs.cpp does, with the segments owned (profiles are built at run time).

class segment_trie {
 public:
  explicit segment_trie(int roots = 1) : nodes_(static_cast<std::size_t>(roots)) { slots_.resize(16); }

  struct node {
    std::vector<int> actions;  // mapping or condition indices
    bool has_children = false;
    bool records = false;
  };

  // The node of `segments` under `root`, created as needed.
  int insert(int root, const std::vector<std::string>& segments) {
    int parent = root;
    for (const auto& seg : segments) {
      if ((count_ + 1) * 4 > slots_.size()) grow();
      slot* s = probe(parent, seg);
      if (s->child < 0) {
        nodes_[static_cast<std::size_t>(parent)].has_children = true;
        *s = slot{hash(parent, seg), parent, seg, static_cast<int>(nodes_.size())};
        nodes_.emplace_back();
        ++count_;
      }
      parent = s->child;
    }
    return parent;
  }

  // The child `seg` of `parent`, or -1.
  [[nodiscard]] int find(int parent, std::string_view seg) const {
    const slot& s = probe_const(parent, seg);
    return s.child;
  }
  // Follows a dotted key segment by segment from `parent`; -1 when a segment is unmapped.
  [[nodiscard]] int find_dotted(int parent, std::string_view key) const {
    if (key.find('.') == std::string_view::npos) return find(parent, key);
    int at = parent;
    for (std::string_view rest = key;;) {
      const auto dot = rest.find('.');
      at = find(at, rest.substr(0, dot));
      if (at < 0 || dot == std::string_view::npos) return at;
      rest = rest.substr(dot + 1);
    }
  }

  [[nodiscard]] node& at(int id) { return nodes_[static_cast<std::size_t>(id)]; }
  [[nodiscard]] const node& at(int id) const { return nodes_[static_cast<std::size_t>(id)]; }

 private:
  struct slot {
    std::uint64_t h = 0;
    int parent = 0;
    std::string seg;
    int child = -1;
  };
  static std::uint64_t hash(int parent, std::string_view seg) {
    std::uint64_t h = 14695981039346656037ULL ^ static_cast<std::uint64_t>(parent);
    for (const char ch : seg) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    return h;
  }
  const slot& probe_const(int parent, std::string_view seg) const {
    const std::uint64_t h = hash(parent, seg);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.child < 0 || (s.h == h && s.parent == parent && s.seg == seg)) return s;
    }
  }
  slot* probe(int parent, std::string_view seg) { return const_cast<slot*>(&probe_const(parent, seg)); }
  void grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, slot{});
    for (auto& s : old) {
      if (s.child < 0) continue;
      slot* d = probe(s.parent, s.seg);
      *d = std::move(s);
    }
  }

  std::vector<slot> slots_;  // power of two, at most a quarter full
  std::vector<node> nodes_;
  std::size_t count_ = 0;
};

// The key of a member, unescaped only when it has escapes (simdjson's string buffer, no heap).
simdjson::error_code member_key(od::field& f, std::string_view& out) {
  bool escaped = false;
  out = detail::raw_key(f, &escaped);
  if (escaped) return f.unescaped_key().get(out);
  return simdjson::SUCCESS;
}

// A value test of `match.equals`.
struct value_test {
  enum class op : std::uint8_t { exact, prefix, suffix };
  op how = op::exact;
  std::string text;
  [[nodiscard]] bool holds(std::string_view v) const {
    switch (how) {
      case op::exact: return v == text;
      case op::prefix: return v.starts_with(text);
      case op::suffix: return v.ends_with(text);
    }
    return false;
  }
};

struct condition {
  std::vector<std::string> path;
  std::vector<value_test> any_of;  // empty: the key is present
  int line = 0;
};

struct map_entry {
  std::string from;     // compared case-insensitively
  std::string to_text;  // text targets
  std::uint8_t code = 0;  // status, boolean (0/1), kind
};

struct mapping {
  target t = k_host_id;
  value_form type = value_form::text;
  bool root_scope = true;  // written to the document-level observation
  time_format format = time_format::automatic;
  std::string pattern;
  std::vector<map_entry> map;
  std::optional<std::uint8_t> default_code;  // kind_from's default
  std::string display_path;                  // for missing_field details

  [[nodiscard]] const map_entry* lookup(std::string_view raw) const {
    for (const auto& e : map) {
      if (iequals(e.from, raw)) return &e;
    }
    return nullptr;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------
// The compiled profile.

struct user_profile_set::profile {
  std::string name;
  std::vector<condition> conditions;
  std::vector<mapping> mappings;
  segment_trie trie{2};  // node 0: document root; node 1: record root
  bool has_records = false;
  bool empty_is_missing = false;
  event_kind kind = event_kind::unknown;  // fixed kind, or kind_from's default
  int kind_mapping = -1;                  // index of the kind_from mapping
  int event_time_mapping = -1;
  int host_mapping = -1;  // host_id or host_name, whichever the profile names first
};

struct user_profile_set::index {
  segment_trie trie;          // actions: indices into conditions
  std::vector<condition> conditions;
  std::vector<int> owner;     // profile of each condition
  std::vector<std::pair<int, int>> span;  // per profile: first condition, count
};

namespace {

using profile = user_profile_set::profile;

// ---------------------------------------------------------------------------------------
// match()

class matcher {
 public:
  matcher(const user_profile_set::index& ix, std::span<std::uint64_t> bits) : ix_(ix), bits_(bits) {}

  simdjson::error_code scan(od::object obj, int node) {
    for (auto member : obj) {
      od::field f;
      if (auto err = std::move(member).get(f)) return err;
      std::string_view key;
      if (auto err = member_key(f, key)) return err;
      const int n = ix_.trie.find_dotted(node, key);
      if (n < 0) continue;
      const auto& nd = ix_.trie.at(n);
      od::value v = f.value();
      bool need_value = false;
      for (const int c : nd.actions) {
        if (ix_.conditions[static_cast<std::size_t>(c)].any_of.empty()) set(c);
        else need_value = true;
      }
      od::json_type type;
      if (need_value || nd.has_children) {
        if (auto err = v.type().get(type)) return err;
      } else {
        continue;
      }
      if (type == od::json_type::object) {
        if (!nd.has_children) continue;
        od::object child;
        if (auto err = v.get_object().get(child)) return err;
        if (auto err = scan(child, n)) return err;
        continue;
      }
      if (!need_value) continue;
      std::string_view text;
      if (type == od::json_type::string) {
        if (auto err = v.get_string().get(text)) return err;
      } else if (type == od::json_type::number || type == od::json_type::boolean) {
        text = trim_token(v.raw_json_token());
      } else {
        continue;
      }
      for (const int c : nd.actions) {
        const auto& cond = ix_.conditions[static_cast<std::size_t>(c)];
        if (cond.any_of.empty()) continue;
        if (std::ranges::any_of(cond.any_of, [&](const value_test& t) { return t.holds(text); })) set(c);
      }
    }
    return simdjson::SUCCESS;
  }

 private:
  void set(int c) { bits_[static_cast<std::size_t>(c) / 64] |= std::uint64_t{1} << (c % 64); }

  const user_profile_set::index& ix_;
  std::span<std::uint64_t> bits_;
};

// ---------------------------------------------------------------------------------------
// walk()

class profile_walker {
 public:
  profile_walker(const profile& p, walk_context& c, observation_batch& out) : p_(p), c_(c), out_(out) {}

  walk_status run(od::object root) {
    first_ = out_.size();
    if (p_.has_records) {
      doc_ = &c_.side;
      doc_->reset();
    } else {
      doc_ = &out_.add();
    }
    doc_->kind = p_.kind;
    if (walk(root, 0, *doc_) == walk_status::failed) return walk_status::failed;
    for (std::size_t i = first_; i < out_.size(); ++i) {
      if (finish(out_[i]) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

 private:
  walk_status walk(od::object obj, int node, observation& o) {
    for (auto member : obj) {
      od::field f;
      if (auto err = std::move(member).get(f)) return c_.fail_json(err);
      std::string_view key;
      if (c_.key(f, key) == walk_status::failed) return walk_status::failed;
      const int n = p_.trie.find_dotted(node, key);
      if (n < 0) continue;  // not mapped: skipped unread
      const auto& nd = p_.trie.at(n);
      od::value v = f.value();
      if (nd.records) {
        walk_context::scope in(c_, key);
        if (records(v) == walk_status::failed) return walk_status::failed;
        continue;
      }
      if (!nd.has_children) {
        // Leaves are the hot path: the key joins the error path only on failure.
        if (leaf(nd, v, o) == walk_status::failed) {
          if (c_.error.detail == c_.path) {
            c_.error.detail = c_.path.empty() ? std::string(key) : c_.path + "." + std::string(key);
          }
          return walk_status::failed;
        }
        continue;
      }
      walk_context::scope in(c_, key);
      od::json_type type;
      if (auto err = v.type().get(type)) return c_.fail_json(err);
      if (type == od::json_type::null) continue;
      if (type == od::json_type::object) {
        od::object child;
        if (auto err = v.get_object().get(child)) return c_.fail_json(err);
        if (walk(child, n, o) == walk_status::failed) return walk_status::failed;
      } else if (!nd.actions.empty()) {
        if (leaf(nd, v, o) == walk_status::failed) return walk_status::failed;
      } else {
        return c_.fail(reject_reason::wrong_type);
      }
    }
    return walk_status::ok;
  }

  // A records path: an array of objects (one observation each) or one object.
  walk_status records(od::value v) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::null) return walk_status::ok;
    if (type == od::json_type::object) {
      od::object obj;
      if (auto err = v.get_object().get(obj)) return c_.fail_json(err);
      return record(obj);
    }
    if (type != od::json_type::array) return c_.fail(reject_reason::wrong_type);
    od::array arr;
    if (auto err = v.get_array().get(arr)) return c_.fail_json(err);
    for (auto element : arr) {
      od::value ev;
      if (auto err = std::move(element).get(ev)) return c_.fail_json(err);
      od::json_type et;
      if (auto err = ev.type().get(et)) return c_.fail_json(err);
      if (et == od::json_type::null) continue;
      if (et != od::json_type::object) return c_.fail(reject_reason::wrong_type);
      od::object obj;
      if (auto err = ev.get_object().get(obj)) return c_.fail_json(err);
      if (record(obj) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

  walk_status record(od::object obj) {
    observation& o = out_.add();
    o.kind = p_.kind;
    return walk(obj, 1, o);
  }

  // A mapped scalar, read once as text: a string's content, a number's or boolean's
  // token, or an array's first non-null element; null leaves the fields unset.
  walk_status leaf(const segment_trie::node& nd, od::value v, observation& o) {
    std::string_view raw;
    bool present = false;
    auto direct = v.get_string();
    if (direct.error() == simdjson::SUCCESS) {
      raw = direct.value_unsafe();
      present = true;
    } else {
      if (direct.error() != simdjson::INCORRECT_TYPE) return c_.fail_json(direct.error());
      od::json_type type;
      if (auto err = v.type().get(type)) return c_.fail_json(err);
      if (type == od::json_type::number || type == od::json_type::boolean) {
        raw = trim_token(v.raw_json_token());
        present = true;
      } else if (type == od::json_type::array) {
        od::array arr;
        if (auto err = v.get_array().get(arr)) return c_.fail_json(err);
        for (auto element : arr) {
          od::value ev;
          if (auto err = std::move(element).get(ev)) return c_.fail_json(err);
          od::json_type et;
          if (auto err = ev.type().get(et)) return c_.fail_json(err);
          if (et == od::json_type::null) continue;
          if (et == od::json_type::string) {
            if (auto err = ev.get_string().get(raw)) return c_.fail_json(err);
          } else if (et == od::json_type::number || et == od::json_type::boolean) {
            raw = trim_token(ev.raw_json_token());
          } else {
            return c_.fail(reject_reason::wrong_type);
          }
          present = true;
          break;
        }
      } else if (type != od::json_type::null) {
        return c_.fail(reject_reason::wrong_type);
      }
    }
    if (!present) return walk_status::ok;
    c_.clip(raw);
    for (const int m : nd.actions) {
      if (apply(p_.mappings[static_cast<std::size_t>(m)], raw, o) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

  walk_status apply(const mapping& m, std::string_view raw, observation& o) {
    if (raw.empty() && p_.empty_is_missing) return walk_status::ok;
    switch (m.type) {
      case value_form::none: return walk_status::ok;  // the loader maps no such field
      case value_form::text: {
        text_field* f = text_of(o, m.t);
        if (const map_entry* e = m.map.empty() ? nullptr : m.lookup(raw)) f->set(e->to_text);
        else f->set(raw);
        return walk_status::ok;
      }
      case value_form::hex:
        set_normalized_hex(*text_of(o, m.t), raw);
        return walk_status::ok;
      case value_form::activity_id:
        detail::set_activity_id(o.ci.activity_id, raw);
        return walk_status::ok;
      case value_form::time: return time(m, raw, *int_of(o, m.t));
      case value_form::integer: return c_.integer_from(raw, *int_of(o, m.t));
      case value_form::boolean: {
        // The loader pairs boolean mappings with boolean targets only; the check keeps
        // the compiler (and a future target) honest.
        auto* slot = bool_of(o, m.t);
        if (slot == nullptr) return walk_status::ok;
        if (!m.map.empty()) {
          if (const map_entry* e = m.lookup(raw)) *slot = e->code != 0;
          return walk_status::ok;  // a word the map does not name says nothing
        }
        if (auto b = parse_bool(raw)) {
          *slot = *b;
          return walk_status::ok;
        }
        return c_.fail(reject_reason::wrong_type);
      }
      case value_form::status: {
        if (m.t == k_kind) {
          const map_entry* e = m.lookup(raw);
          o.kind = e ? static_cast<event_kind>(e->code) : static_cast<event_kind>(*m.default_code);
          return walk_status::ok;
        }
        if (raw.empty()) return walk_status::ok;
        const map_entry* e = m.map.empty() ? nullptr : m.lookup(raw);
        const auto s = e ? static_cast<signature_status>(e->code) : default_status(raw);
        if (s == signature_status::missing) return walk_status::ok;  // mapped to "no status"
        o.signature.status = s;
        o.signature.status_raw.set(raw);
        return walk_status::ok;
      }
    }
    return walk_status::ok;
  }

  walk_status time(const mapping& m, std::string_view raw, std::optional<std::int64_t>& out) {
    const auto epoch = [&](double scale) {
      double d = 0;
      const auto res = std::from_chars(raw.data(), raw.data() + raw.size(), d);
      if (res.ec != std::errc() || res.ptr != raw.data() + raw.size() || !std::isfinite(d)) {
        return c_.fail(reject_reason::bad_timestamp);
      }
      const double ms = std::floor(d * scale);
      if (ms < static_cast<double>(k_min_time_ms) || ms > static_cast<double>(k_max_time_ms)) {
        return c_.fail(reject_reason::bad_timestamp);
      }
      out = static_cast<std::int64_t>(ms);
      return walk_status::ok;
    };
    switch (m.format) {
      case time_format::automatic: return c_.time_from(raw, out);
      case time_format::rfc3339: {
        const auto ms = rules::parse_rfc3339_ms(raw);
        if (!ms || *ms < k_min_time_ms || *ms > k_max_time_ms) return c_.fail(reject_reason::bad_timestamp);
        out = *ms;
        return walk_status::ok;
      }
      case time_format::epoch_s: return epoch(1000.0);
      case time_format::epoch_ms: return epoch(1.0);
      case time_format::epoch_us: return epoch(1e-3);
      case time_format::epoch_ns: return epoch(1e-6);
      case time_format::pattern: {
        const auto ms = parse_time_pattern(m.pattern, raw);
        if (!ms) return c_.fail(reject_reason::bad_timestamp);
        out = *ms;
        return walk_status::ok;
      }
    }
    return c_.fail(reject_reason::bad_timestamp);
  }

  walk_status finish(observation& o) {
    if (p_.has_records) {
      for (const auto& m : p_.mappings) {
        if (!m.root_scope) continue;
        if (m.t == k_kind) o.kind = doc_->kind;
        else copy_if_unset(m.t, *doc_, o);
      }
    }
    if (o.ci.event_id) o.ci.klass = rules::ci_class_of(*o.ci.event_id);
    if (!o.event_time_ms) return c_.fail(reject_reason::missing_field, display(p_.event_time_mapping));
    if (!o.host_id.has_value() && !o.host_name.has_value()) {
      return c_.fail(reject_reason::missing_field, display(p_.host_mapping));
    }
    detail::finish_signature(o);
    detail::finish_host(o);
    return walk_status::ok;
  }

  std::string_view display(int m) const {
    return m < 0 ? std::string_view("?") : std::string_view(p_.mappings[static_cast<std::size_t>(m)].display_path);
  }

  const profile& p_;
  walk_context& c_;
  observation_batch& out_;
  observation* doc_ = nullptr;  // document-level facts (the observation itself without records)
  std::size_t first_ = 0;
};

// ---------------------------------------------------------------------------------------
// Loading

struct profile_problem {
  int line;
  std::string message;
};

[[noreturn]] void fail(int line, std::string message) { throw profile_problem{line, std::move(message)}; }

int line_of(const YAML::Node& n, int fallback) {
  if (!n.IsDefined()) return fallback;
  const YAML::Mark m = n.Mark();
  return m.is_null() || m.line < 0 ? fallback : m.line + 1;
}

std::string scalar(const YAML::Node& n, int line, std::string_view what) {
  if (!n.IsScalar()) fail(line_of(n, line), std::string(what) + " must be a string");
  return n.Scalar();
}

// A path as written: `a.b.c` (relative to the record when `records` is set), `$.a.b`
// (from the document root). Segments are non-empty.
struct parsed_path {
  bool from_root = false;
  std::vector<std::string> segments;
};

parsed_path parse_path(const std::string& text, int line) {
  parsed_path p;
  std::string_view rest = text;
  if (rest == "$") fail(line, "bad path '" + text + "': `$` alone names the whole document");
  if (rest.starts_with("$.")) {
    p.from_root = true;
    rest.remove_prefix(2);
  }
  if (rest.empty()) fail(line, "bad path '" + text + "': empty");
  for (;;) {
    const auto dot = rest.find('.');
    const std::string_view seg = rest.substr(0, dot);
    if (seg.empty()) fail(line, "bad path '" + text + "': empty segment");
    if (seg.find_first_of("[]*\"'") != std::string_view::npos) {
      fail(line, "bad path '" + text + "': segments are plain keys (no [index], wildcards or quotes)");
    }
    p.segments.emplace_back(seg);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return p;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::ranges::all_of(name, [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
  });
}

int key_line(const YAML::Node& map, std::string_view key, int fallback) {
  for (const auto& kv : map) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return line_of(kv.first, fallback);
  }
  return fallback;
}

std::vector<value_test> read_value_tests(const YAML::Node& n, int line, const std::string& path) {
  std::vector<value_test> out;
  const auto one = [&](const YAML::Node& v) {
    if (v.IsScalar()) {
      out.push_back({value_test::op::exact, v.Scalar()});
      return;
    }
    if (v.IsMap() && v.size() == 1) {
      const std::string op = v.begin()->first.Scalar();
      const YAML::Node arg = v.begin()->second;
      if (!arg.IsScalar()) fail(line_of(v, line), "match.equals." + path + ": `" + op + "` takes a string");
      if (op == "prefix") out.push_back({value_test::op::prefix, arg.Scalar()});
      else if (op == "suffix") out.push_back({value_test::op::suffix, arg.Scalar()});
      else fail(line_of(v, line), "match.equals." + path + ": unknown test '" + op + "' (prefix, suffix)");
      return;
    }
    fail(line_of(v, line), "match.equals." + path + ": a string, {prefix: ...}, {suffix: ...} or a list of them");
  };
  if (n.IsSequence()) {
    if (n.size() == 0) fail(line_of(n, line), "match.equals." + path + ": empty list");
    for (const auto& v : n) one(v);
  } else {
    one(n);
  }
  return out;
}

time_format read_time_format(const std::string& f, int line, std::string& pattern) {
  if (f == "auto") return time_format::automatic;
  if (f == "rfc3339" || f == "iso8601") return time_format::rfc3339;
  if (f == "epoch_s") return time_format::epoch_s;
  if (f == "epoch_ms") return time_format::epoch_ms;
  if (f == "epoch_us") return time_format::epoch_us;
  if (f == "epoch_ns") return time_format::epoch_ns;
  if (f.find('%') != std::string::npos) {
    for (std::size_t i = 0; i < f.size(); ++i) {
      if (f[i] != '%') continue;
      if (i + 1 >= f.size() || k_pattern_directives.find(f[i + 1]) == std::string_view::npos) {
        fail(line, "unknown time format '" + f + "': unsupported directive" +
                       (i + 1 < f.size() ? std::string(" %") + f[i + 1] : std::string(" at the end")));
      }
      ++i;
    }
    pattern = f;
    return time_format::pattern;
  }
  fail(line, "unknown time format '" + f + "' (auto, rfc3339, epoch_s, epoch_ms, epoch_us, epoch_ns, or a %-pattern)");
}

// Adds a mapping's path to the profile's trie.
void place(profile& p, mapping& m, const parsed_path& path, int index) {
  const bool from_root = path.from_root || !p.has_records;
  m.root_scope = from_root;
  m.display_path = (p.has_records && path.from_root ? "$." : "");
  for (std::size_t i = 0; i < path.segments.size(); ++i) {
    if (i > 0) m.display_path += '.';
    m.display_path += path.segments[i];
  }
  const int node = p.trie.insert(from_root ? 0 : 1, path.segments);
  p.trie.at(node).actions.push_back(index);
}

void read_map(const YAML::Node& n, int line, mapping& m, const std::string& field) {
  if (!n.IsMap()) fail(line_of(n, line), field + ": `map` must be a map of source value to target");
  for (const auto& kv : n) {
    const int l = line_of(kv.first, line);
    map_entry e;
    e.from = scalar(kv.first, l, field + ": a map key");
    const std::string to = scalar(kv.second, l, field + ": a map value");
    switch (m.type) {
      case value_form::status:
        if (m.t == k_kind) {
          const auto k = kind_by_name(to);
          if (!k) fail(l, field + ": unknown event kind '" + to + "'");
          e.code = static_cast<std::uint8_t>(*k);
        } else {
          const auto s = status_by_name(to);
          if (!s) {
            fail(l, field + ": unknown status '" + to +
                        "' (valid, expired, revoked, untrusted_root, bad_digest, chain_error, unsigned, unknown, "
                        "other, missing)");
          }
          e.code = static_cast<std::uint8_t>(*s);
        }
        break;
      case value_form::boolean: {
        const auto b = parse_bool(to);
        if (!b) fail(l, field + ": map value '" + to + "' is not true or false");
        e.code = *b ? 1 : 0;
        break;
      }
      case value_form::text:
        e.to_text = to;
        break;
      default:
        fail(l, field + ": `map` applies to text, boolean and status fields");
    }
    m.map.push_back(std::move(e));
  }
}

profile read_profile(const YAML::Node& doc, int line) {
  profile p;
  if (!doc.IsMap()) fail(line, "a profile must be a YAML map");
  static constexpr std::array<std::string_view, 7> k_keys = {"name", "match", "records", "kind",
                                                             "kind_from", "fields", "empty_is_missing"};
  for (const auto& kv : doc) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (std::ranges::find(k_keys, key) == k_keys.end()) {
      fail(line_of(kv.first, line), "unknown key '" + key + "' (name, match, records, kind, kind_from, fields, "
                                    "empty_is_missing)");
    }
  }
  if (!doc["name"]) fail(line, "missing `name`");
  p.name = scalar(doc["name"], key_line(doc, "name", line), "name");
  if (!valid_name(p.name)) fail(key_line(doc, "name", line), "name must be 1-64 of A-Z a-z 0-9 _ - .");

  // match
  const YAML::Node match = doc["match"];
  if (!match) fail(line, "missing `match` (which keys and values recognize a message)");
  const int match_line = key_line(doc, "match", line);
  if (!match.IsMap()) fail(match_line, "match must be a map with `keys` and/or `equals`");
  for (const auto& kv : match) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
    if (key != "keys" && key != "equals") fail(line_of(kv.first, match_line), "match: unknown key '" + key + "' (keys, equals)");
  }
  if (const YAML::Node keys = match["keys"]) {
    const int l = key_line(match, "keys", match_line);
    if (!keys.IsSequence()) fail(l, "match.keys must be a list of paths");
    for (const auto& k : keys) {
      const int kl = line_of(k, l);
      const auto path = parse_path(scalar(k, kl, "match.keys entry"), kl);
      p.conditions.push_back({path.segments, {}, kl});
    }
  }
  if (const YAML::Node equals = match["equals"]) {
    const int l = key_line(match, "equals", match_line);
    if (!equals.IsMap()) fail(l, "match.equals must be a map of path to value");
    for (const auto& kv : equals) {
      const int kl = line_of(kv.first, l);
      const std::string text = scalar(kv.first, kl, "match.equals key");
      const auto path = parse_path(text, kl);
      p.conditions.push_back({path.segments, read_value_tests(kv.second, kl, text), kl});
    }
  }
  if (p.conditions.empty()) fail(match_line, "match names no keys and no values: it would take every message");

  // records
  if (const YAML::Node rec = doc["records"]) {
    const int l = key_line(doc, "records", line);
    std::vector<std::string> paths;
    if (rec.IsSequence()) {
      for (const auto& r : rec) paths.push_back(scalar(r, line_of(r, l), "records entry"));
    } else {
      paths.push_back(scalar(rec, l, "records"));
    }
    if (paths.empty()) fail(l, "records: empty list");
    p.has_records = true;
    for (const auto& text : paths) {
      const auto path = parse_path(text, l);
      const int node = p.trie.insert(0, path.segments);
      p.trie.at(node).records = true;
    }
  }

  // kind / kind_from
  const YAML::Node kind = doc["kind"];
  const YAML::Node kind_from = doc["kind_from"];
  if (kind && kind_from) fail(key_line(doc, "kind_from", line), "kind and kind_from are exclusive");
  if (kind) {
    const int l = key_line(doc, "kind", line);
    const std::string k = scalar(kind, l, "kind");
    const auto parsed = kind_by_name(k);
    if (!parsed) fail(l, "unknown event kind '" + k + "'");
    p.kind = *parsed;
  } else if (kind_from) {
    const int l = key_line(doc, "kind_from", line);
    if (!kind_from.IsMap() || !kind_from["path"] || !kind_from["map"]) {
      fail(l, "kind_from needs `path` and `map` (and may give `default`)");
    }
    mapping m;
    m.t = k_kind;
    m.type = value_form::status;
    read_map(kind_from["map"], l, m, "kind_from");
    if (const YAML::Node d = kind_from["default"]) {
      const std::string k = scalar(d, line_of(d, l), "kind_from.default");
      const auto parsed = kind_by_name(k);
      if (!parsed) fail(line_of(d, l), "kind_from: unknown event kind '" + k + "'");
      p.kind = *parsed;
    }
    m.default_code = static_cast<std::uint8_t>(p.kind);
    const auto path = parse_path(scalar(kind_from["path"], l, "kind_from.path"), l);
    p.kind_mapping = static_cast<int>(p.mappings.size());
    place(p, m, path, p.kind_mapping);
    p.mappings.push_back(std::move(m));
  } else {
    fail(line, "missing `kind` (process_start, image_load, driver_load, file_certificate, ...) or `kind_from`");
  }

  if (const YAML::Node e = doc["empty_is_missing"]) {
    const auto b = parse_bool(scalar(e, key_line(doc, "empty_is_missing", line), "empty_is_missing"));
    if (!b) fail(key_line(doc, "empty_is_missing", line), "empty_is_missing must be true or false");
    p.empty_is_missing = *b;
  }

  // fields
  const YAML::Node fields = doc["fields"];
  const int fields_line = key_line(doc, "fields", line);
  if (!fields || !fields.IsMap()) fail(fields_line, "missing `fields` (observation field: path)");
  for (const auto& kv : fields) {
    const int l = line_of(kv.first, fields_line);
    const std::string field = scalar(kv.first, l, "a field name");
    const std::size_t row = rules::observation_field_index(field);
    if (row >= rules::k_observation_field_count || rules::k_observation_field_info[row].form == value_form::none) {
      fail(l, "unknown observation field '" + field + "'");
    }
    if (std::ranges::any_of(p.mappings, [&](const mapping& m) { return m.t == row; })) {
      fail(l, "field '" + field + "' is mapped twice");
    }
    mapping m;
    m.t = static_cast<target>(row);
    m.type = rules::k_observation_field_info[row].form;
    std::string path_text;
    const YAML::Node v = kv.second;
    if (v.IsScalar()) {
      path_text = v.Scalar();
    } else if (v.IsMap()) {
      for (const auto& opt : v) {
        const std::string k = opt.first.IsScalar() ? opt.first.Scalar() : std::string();
        if (k != "path" && k != "format" && k != "map") {
          fail(line_of(opt.first, l), field + ": unknown key '" + k + "' (path, format, map)");
        }
      }
      path_text = scalar(v["path"], l, field + ": path");
      if (const YAML::Node f = v["format"]) {
        if (m.type != value_form::time) fail(line_of(f, l), field + ": `format` applies to time fields only");
        m.format = read_time_format(scalar(f, line_of(f, l), field + ": format"), line_of(f, l), m.pattern);
      }
      if (const YAML::Node mp = v["map"]) read_map(mp, line_of(mp, l), m, field);
    } else {
      fail(l, field + ": a path, or {path, format, map}");
    }
    const auto path = parse_path(path_text, l);
    const int index = static_cast<int>(p.mappings.size());
    place(p, m, path, index);
    if (m.t == k_event_time) p.event_time_mapping = index;
    if ((m.t == k_host_id || m.t == k_host_name) && p.host_mapping < 0) p.host_mapping = index;
    p.mappings.push_back(std::move(m));
  }
  if (p.event_time_mapping < 0) fail(fields_line, "fields: event_time is not mapped (every observation needs a time)");
  if (p.host_mapping < 0) {
    fail(fields_line, "fields: neither host_id nor host_name is mapped (every observation needs a host)");
  }
  return p;
}

// Records paths must be leaves of the root trie: a path mapped under one would never be read.
void check_records_paths(const profile& p, const YAML::Node& doc, int line) {
  if (!p.has_records) return;
  const YAML::Node rec = doc["records"];
  std::vector<std::string> paths;
  if (rec.IsSequence()) {
    for (const auto& r : rec) paths.push_back(r.Scalar());
  } else {
    paths.push_back(rec.Scalar());
  }
  for (const auto& text : paths) {
    const auto path = parse_path(text, line);
    int node = 0;
    for (const auto& seg : path.segments) node = p.trie.find(node, seg);
    const auto& nd = p.trie.at(node);
    if (nd.has_children || !nd.actions.empty()) {
      fail(key_line(doc, "records", line), "records path '" + text + "' also holds mapped fields (`$.` paths); "
                                           "map them relative to the record instead");
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// profile_diagnostic, load results

std::string profile_diagnostic::text() const {
  return file + ":" + std::to_string(line) + ": profile " + (profile.empty() ? "?" : profile) + ": " +
         (error ? "" : "warning: ") + message;
}

bool profile_load_result::has_errors() const noexcept {
  return std::ranges::any_of(diagnostics, [](const profile_diagnostic& d) { return d.error; });
}

// ---------------------------------------------------------------------------------------
// user_profile_set

user_profile_set::user_profile_set() : index_(std::make_unique<index>()) {}

user_profile_set::user_profile_set(std::vector<profile> profiles)
    : profiles_(std::move(profiles)), index_(std::make_unique<index>()) {
  auto& ix = *index_;
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    const auto& p = profiles_[i];
    ix.span.emplace_back(static_cast<int>(ix.conditions.size()), static_cast<int>(p.conditions.size()));
    for (const auto& c : p.conditions) {
      const int id = static_cast<int>(ix.conditions.size());
      ix.conditions.push_back(c);
      ix.owner.push_back(static_cast<int>(i));
      ix.trie.at(ix.trie.insert(0, c.path)).actions.push_back(id);
    }
  }
}

user_profile_set::~user_profile_set() = default;

std::size_t user_profile_set::size() const noexcept { return profiles_.size(); }

std::string_view user_profile_set::name(std::size_t i) const { return profiles_.at(i).name; }

int user_profile_set::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    if (profiles_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int user_profile_set::match(simdjson::ondemand::object root) const {
  if (profiles_.empty()) return -1;
  const std::size_t words = (index_->conditions.size() + 63) / 64;
  std::array<std::uint64_t, 8> small{};
  std::vector<std::uint64_t> large;  // only for sets with more than 512 conditions
  std::span<std::uint64_t> bits(small.data(), words);
  if (words > small.size()) {
    large.assign(words, 0);
    bits = large;
  }
  matcher m(*index_, bits);
  if (m.scan(root, 0) != simdjson::SUCCESS) return -1;
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    const auto [first, count] = index_->span[i];
    bool all = true;
    for (int c = first; c < first + count && all; ++c) {
      all = (bits[static_cast<std::size_t>(c) / 64] >> (c % 64)) & 1U;
    }
    if (all) return static_cast<int>(i);
  }
  return -1;
}

walk_status user_profile_set::walk(std::size_t i, simdjson::ondemand::object root, walk_context& c,
                                   observation_batch& out) const {
  if (i >= profiles_.size()) return c.fail(reject_reason::unknown_schema, "no such user profile");
  profile_walker w(profiles_[i], c, out);
  return w.run(root);
}

std::shared_ptr<const user_profile_set> user_profile_set::combine(const user_profile_set& first,
                                                                  const user_profile_set& then) {
  std::vector<profile> all = first.profiles_;
  for (const auto& p : then.profiles_) {
    if (std::ranges::none_of(all, [&](const profile& q) { return q.name == p.name; })) all.push_back(p);
  }
  return std::make_shared<const user_profile_set>(std::move(all));
}

// ---------------------------------------------------------------------------------------
// Loading

profile_load_result load_user_profiles(std::string_view yaml_text, std::string_view file) {
  profile_load_result res;
  std::vector<profile> loaded;
  const auto report = [&](int line, std::string profile_name, std::string message, bool error = true) {
    res.diagnostics.push_back({std::string(file), line, std::move(profile_name), std::move(message), error});
  };
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    report(e.mark.is_null() ? 0 : e.mark.line + 1, "?", "YAML: " + e.msg);
    res.set = std::make_shared<const user_profile_set>();
    return res;
  }
  try {
    if (doc.IsNull()) {
      // An empty file: no profiles.
    } else if (!doc.IsMap() || !doc["profiles"]) {
      report(line_of(doc, 1), "?", "expected a map with `profiles:` (a list of profiles)");
    } else if (const YAML::Node list = doc["profiles"]; !list.IsSequence()) {
      report(key_line(doc, "profiles", 1), "?", "`profiles` must be a list");
    } else {
      for (const auto& item : list) {
        const int line = line_of(item, 1);
        std::string name = "?";
        if (item.IsMap() && item["name"] && item["name"].IsScalar()) name = item["name"].Scalar();
        try {
          profile p = read_profile(item, line);
          check_records_paths(p, item, line);
          if (std::ranges::any_of(loaded, [&](const profile& q) { return q.name == p.name; })) {
            fail(key_line(item, "name", line), "duplicate profile name (the first one is kept)");
          }
          loaded.push_back(std::move(p));
        } catch (const profile_problem& p) {
          report(p.line, name, p.message + "; profile skipped");
        } catch (const YAML::Exception& e) {
          report(e.mark.is_null() ? line : e.mark.line + 1, name, e.msg + "; profile skipped");
        }
      }
    }
  } catch (const YAML::Exception& e) {
    report(e.mark.is_null() ? 0 : e.mark.line + 1, "?", "YAML: " + e.msg);
  }
  res.set = std::make_shared<const user_profile_set>(std::move(loaded));
  return res;
}

profile_load_result load_user_profiles_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    profile_load_result res;
    res.set = std::make_shared<const user_profile_set>();
    res.diagnostics.push_back({path.string(), 0, "?", "cannot read file", true});
    return res;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_user_profiles(ss.str(), path.string());
}

profile_load_result load_builtin_profiles() {
  profile_load_result all;
  all.set = std::make_shared<const user_profile_set>();
  for (const auto& f : builtin_profile_files()) {
    auto res = load_user_profiles(f.text, f.name);
    all.set = user_profile_set::combine(*all.set, *res.set);
    for (auto& d : res.diagnostics) all.diagnostics.push_back(std::move(d));
  }
  return all;
}

// ---------------------------------------------------------------------------------------
// user_profile_library

user_profile_library::user_profile_library(std::string path, bool include_builtin)
    : path_(std::move(path)), include_builtin_(include_builtin), current_(std::make_shared<const user_profile_set>()) {}

user_profile_library::reload_report user_profile_library::reload() {
  reload_report report;
  const bool first = !loaded_;
  if (first) {
    loaded_ = true;
    if (include_builtin_) {
      auto res = load_builtin_profiles();
      builtin_ = res.set;
      for (auto& d : res.diagnostics) report.diagnostics.push_back(std::move(d));
    } else {
      builtin_ = std::make_shared<const user_profile_set>();
    }
    current_ = builtin_;
    report.changed = true;
  }
  if (path_.empty()) return report;
  // Unchanged (or still unreadable) since the last read: nothing new to load or to say.
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  const bool readable = !ec;
  const auto size = readable ? std::filesystem::file_size(path_, ec) : 0;
  if (!first && readable == readable_ && mtime == mtime_ && size == size_) return report;
  mtime_ = mtime;
  size_ = size;
  readable_ = readable;
  auto res = load_user_profiles_file(path_);
  for (auto& d : res.diagnostics) report.diagnostics.push_back(std::move(d));
  failed_ = res.has_errors();
  // The first load takes the profiles that loaded; a later one with errors keeps the
  // previous set whole (a half-edited file must not drop profiles that were working).
  if (first || !failed_) {
    current_ = user_profile_set::combine(*res.set, *builtin_);
    report.changed = true;
  }
  return report;
}

}  // namespace countersign::processor
