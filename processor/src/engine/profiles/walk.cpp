#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>
#include <countersign/rules/time.hpp>

#include <xxhash.h>

#include <charconv>

namespace countersign::processor::detail {

walk_status walk_context::fail(reject_reason reason, std::string_view detail) {
  error.reason = reason;
  error.detail.assign(detail.empty() ? std::string_view(path) : detail);
  return walk_status::failed;
}

walk_status walk_context::fail_json(simdjson::error_code err) {
  return fail(reject_reason::invalid_json, simdjson::error_message(err));
}

walk_context::scope::scope(walk_context& c, std::string_view key) : c_(c), saved_(c.path.size()) {
  if (!c_.path.empty()) c_.path.push_back('.');
  c_.path.append(key);
}

walk_context::scope::~scope() { c_.path.resize(saved_); }

walk_status walk_context::key(od::field& f, std::string_view& out) {
  // Keys are short and rarely escaped: only an escaped one is unescaped (which copies).
  bool escaped = false;
  out = raw_key(f, &escaped);
  if (escaped) {
    if (auto err = f.unescaped_key().get(out)) return fail_json(err);
  }
  return walk_status::ok;
}

walk_status walk_context::view(od::value v, std::string_view& out, bool& present) {
  present = false;
  // The common case first: a string. A type mismatch leaves the value readable.
  auto direct = v.get_string();
  if (direct.error() == simdjson::SUCCESS) {
    out = direct.value_unsafe();
    present = true;
    clip(out);
    return walk_status::ok;
  }
  if (direct.error() != simdjson::INCORRECT_TYPE) return fail_json(direct.error());
  od::json_type type;
  if (auto err = v.type().get(type)) return fail_json(err);
  if (type == od::json_type::null) return walk_status::ok;
  if (type != od::json_type::array) return fail(reject_reason::wrong_type);
  od::array arr;
  if (auto err = v.get_array().get(arr)) return fail_json(err);
  for (auto element : arr) {
    od::value ev;
    if (auto err = std::move(element).get(ev)) return fail_json(err);
    od::json_type et;
    if (auto err = ev.type().get(et)) return fail_json(err);
    if (et == od::json_type::null) continue;
    if (et != od::json_type::string) return fail(reject_reason::wrong_type);
    if (auto err = ev.get_string().get(out)) return fail_json(err);
    present = true;
    break;
  }
  if (present) clip(out);
  return walk_status::ok;  // an empty array: nothing known
}

walk_status walk_context::scalar(od::value v, std::string_view& out, bool& is_scalar) {
  is_scalar = false;
  od::json_type type;
  if (auto err = v.type().get(type)) return fail_json(err);
  if (type == od::json_type::string) {
    if (auto err = v.get_string().get(out)) return fail_json(err);
  } else if (type == od::json_type::number || type == od::json_type::boolean) {
    out = v.raw_json_token();
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n' || out.back() == '\r' || out.back() == '\t')) {
      out.remove_suffix(1);
    }
  } else {
    return walk_status::ok;
  }
  is_scalar = true;
  return walk_status::ok;
}

void walk_context::clip(std::string_view& s) {
  if (s.size() <= limits.max_field_bytes) return;
  std::size_t cut = limits.max_field_bytes;
  // Back over UTF-8 continuation bytes (10xxxxxx), at most three.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++i) --cut;
  s = s.substr(0, cut);
  ++truncated;
}

walk_status walk_context::text(od::value v, rules::text_field& out) {
  std::string_view s;
  bool present = false;
  if (view(v, s, present) == walk_status::failed) return walk_status::failed;
  if (present) out.set(s);
  return walk_status::ok;
}

walk_status walk_context::hex(od::value v, rules::text_field& out) {
  std::string_view s;
  bool present = false;
  if (view(v, s, present) == walk_status::failed) return walk_status::failed;
  if (present) set_normalized_hex(out, s);
  return walk_status::ok;
}

walk_status walk_context::boolean(od::value v, std::optional<bool>& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return fail_json(err);
  switch (type) {
    case od::json_type::null:
      return walk_status::ok;
    case od::json_type::boolean: {
      bool b = false;
      if (auto err = v.get_bool().get(b)) return fail_json(err);
      out = b;
      return walk_status::ok;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto err = v.get_string().get(s)) return fail_json(err);
      if (auto b = parse_bool(s)) {
        out = *b;
        return walk_status::ok;
      }
      return fail(reject_reason::wrong_type);
    }
    default:
      return fail(reject_reason::wrong_type);
  }
}

walk_status walk_context::integer_from(std::string_view s, std::optional<std::int64_t>& out) {
  if (auto n = parse_integer(s)) {
    out = *n;
    return walk_status::ok;
  }
  return fail(reject_reason::wrong_type);
}

walk_status walk_context::integer(od::value v, std::optional<std::int64_t>& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return fail_json(err);
  if (type == od::json_type::null) return walk_status::ok;
  if (type == od::json_type::number) {
    std::int64_t n = 0;
    if (v.get_int64().get(n)) {
      // A float or an out-of-range integer where an integer belongs.
      return fail(reject_reason::wrong_type);
    }
    out = n;
    return walk_status::ok;
  }
  if (type == od::json_type::string) {
    std::string_view s;
    if (auto err = v.get_string().get(s)) return fail_json(err);
    return integer_from(s, out);
  }
  return fail(reject_reason::wrong_type);
}

walk_status walk_context::time_from(std::string_view s, std::optional<std::int64_t>& out) {
  if (s.size() > limits.max_field_bytes) return fail(reject_reason::field_too_large);
  // RFC 3339 has its first '-' at index 4; anything else may be epoch seconds or ms.
  if (s.size() >= 10 && s[4] == '-') {
    const auto ms = rules::parse_rfc3339_ms(s);
    if (!ms || *ms < k_min_time_ms || *ms > k_max_time_ms) return fail(reject_reason::bad_timestamp);
    out = *ms;
    return walk_status::ok;
  }
  double d = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), d);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return fail(reject_reason::bad_timestamp);
  const auto ms = epoch_to_ms(d);
  if (!ms) return fail(reject_reason::bad_timestamp);
  out = *ms;
  return walk_status::ok;
}

walk_status walk_context::time(od::value v, std::optional<std::int64_t>& out) {
  od::json_type type;
  if (auto err = v.type().get(type)) return fail_json(err);
  if (type == od::json_type::null) return walk_status::ok;
  if (type == od::json_type::number) {
    double d = 0;
    if (v.get_double().get(d)) return fail(reject_reason::bad_timestamp);
    const auto ms = epoch_to_ms(d);
    if (!ms) return fail(reject_reason::bad_timestamp);
    out = *ms;
    return walk_status::ok;
  }
  if (type != od::json_type::string) return fail(reject_reason::wrong_type);
  std::string_view s;
  if (auto err = v.get_string().get(s)) return fail_json(err);
  return time_from(s, out);
}

void finish_signature(rules::observation& o) {
  auto& sig = o.signature;
  if (sig.exists == false && sig.status == rules::signature_status::missing) {
    sig.status = rules::signature_status::not_signed;
  }
  if (sig.subject.has_value()) {
    if (looks_like_dn(sig.subject.view())) {
      if (!sig.subject_cn.present) (void)dn_attribute(sig.subject.view(), "CN", sig.subject_cn);
      if (!sig.subject_o.present) (void)dn_attribute(sig.subject.view(), "O", sig.subject_o);
    } else if (!sig.subject_cn.present) {
      sig.subject_cn = sig.subject;
    }
  }
  if (sig.issuer.has_value()) {
    if (!sig.issuer_cn.present) {
      if (looks_like_dn(sig.issuer.view())) (void)dn_attribute(sig.issuer.view(), "CN", sig.issuer_cn);
      else sig.issuer_cn = sig.issuer;
    }
  } else if (sig.issuer_cn.has_value()) {
    sig.issuer = sig.issuer_cn;
  }
}

void finish_host(rules::observation& o) {
  const std::string_view host = o.host_key();
  o.host_hash = XXH3_64bits(host.data(), host.size());
}

}  // namespace countersign::processor::detail
