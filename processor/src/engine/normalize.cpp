#include <countersign/processor/engine/normalize.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

namespace countersign::processor {
namespace {

// ASCII-only case folding: locale-aware tolower is a libc call per byte on hot paths.
constexpr unsigned char ascii_lower(unsigned char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(a, b, [](unsigned char x, unsigned char y) { return ascii_lower(x) == ascii_lower(y); });
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

rules::signature_status ecs_signature_status(std::string_view raw) noexcept {
  using rules::signature_status;
  // Elastic Defend values first, then Sysmon's as Winlogbeat carries them.
  static constexpr std::array<std::pair<std::string_view, signature_status>, 12> k_map = {{
      {"trusted", signature_status::valid},
      {"valid", signature_status::valid},
      {"errorExpired", signature_status::expired},
      {"expired", signature_status::expired},
      {"errorRevoked", signature_status::revoked},
      {"revoked", signature_status::revoked},
      {"errorUntrustedRoot", signature_status::untrusted_root},
      {"errorBadDigest", signature_status::bad_digest},
      {"errorChaining", signature_status::chain_error},
      {"unsigned", signature_status::not_signed},
      {"errorNoSignature", signature_status::not_signed},
      {"unavailable", signature_status::unknown},
  }};
  const std::string_view v = trim(raw);
  if (v.empty()) return signature_status::missing;
  for (const auto& [name, status] : k_map) {
    if (iequals(v, name)) return status;
  }
  if (istarts_with(v, "errorCode_endpoint")) return signature_status::unknown;
  return signature_status::other;
}

namespace {

// Per byte: what it becomes in a normalized hex identifier (ASCII upper case lowered) and
// whether it stays (separators ':', ' ', '-', tab are dropped).
struct hex_byte_table {
  std::array<char, 256> lowered{};
  std::array<std::uint8_t, 256> keep{};
  constexpr hex_byte_table() {
    for (int c = 0; c < 256; ++c) {
      lowered[static_cast<std::size_t>(c)] = static_cast<char>(ascii_lower(static_cast<unsigned char>(c)));
      keep[static_cast<std::size_t>(c)] = c == ':' || c == ' ' || c == '-' || c == '\t' ? 0 : 1;
    }
  }
};
constexpr hex_byte_table k_hex_bytes;

}  // namespace

void set_normalized_hex(rules::text_field& out, std::string_view raw) {
  // Hot: two hashes per event. One pass without branches on the bytes: a branch on
  // digit-or-letter is mispredicted about every other byte of a hash.
  out.value.resize(raw.size());
  out.present = true;
  char* const begin = out.value.data();
  char* d = begin;
  for (const char ch : raw) {
    const auto b = static_cast<unsigned char>(ch);
    *d = k_hex_bytes.lowered[b];
    d += k_hex_bytes.keep[b];
  }
  out.value.resize(static_cast<std::size_t>(d - begin));
}

bool looks_like_dn(std::string_view s) noexcept {
  const auto eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0) return false;
  const auto name = trim(s.substr(0, eq));
  return !name.empty() && std::ranges::all_of(name, [](unsigned char c) {
    return std::isalnum(c) || c == '.';
  });
}

bool dn_attribute(std::string_view dn, std::string_view attr, rules::text_field& out) {
  std::size_t i = 0;
  while (i < dn.size()) {
    // attribute name
    while (i < dn.size() && (dn[i] == ' ' || dn[i] == ',' || dn[i] == ';' || dn[i] == '+')) ++i;
    const std::size_t name_start = i;
    while (i < dn.size() && dn[i] != '=' && dn[i] != ',' && dn[i] != ';') ++i;
    if (i >= dn.size() || dn[i] != '=') continue;  // no '=': skip the fragment
    const bool wanted = iequals(trim(dn.substr(name_start, i - name_start)), attr);
    ++i;  // '='
    while (i < dn.size() && dn[i] == ' ') ++i;
    // The value is unescaped straight into `out` when wanted, else only skipped.
    if (wanted) out.value.clear();
    const auto keep = [&](char ch) {
      if (wanted) out.value.push_back(ch);
    };
    if (i < dn.size() && dn[i] == '"') {
      ++i;
      while (i < dn.size() && dn[i] != '"') {
        if (dn[i] == '\\' && i + 1 < dn.size()) ++i;
        keep(dn[i++]);
      }
      if (i < dn.size()) ++i;  // closing quote
    } else {
      while (i < dn.size() && dn[i] != ',' && dn[i] != ';' && dn[i] != '+') {
        if (dn[i] == '\\' && i + 1 < dn.size()) ++i;
        keep(dn[i++]);
      }
      if (wanted) {
        while (!out.value.empty() && out.value.back() == ' ') out.value.pop_back();
      }
    }
    if (wanted) {
      out.present = true;
      return true;
    }
  }
  return false;
}

std::optional<std::int64_t> epoch_to_ms(double value) noexcept {
  constexpr double k_seconds_below = 1e11;
  if (!std::isfinite(value)) return std::nullopt;
  const double ms = std::fabs(value) < k_seconds_below ? value * 1000.0 : value;
  if (ms < static_cast<double>(k_min_time_ms) || ms > static_cast<double>(k_max_time_ms)) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(ms));
}

std::optional<bool> parse_bool(std::string_view s) noexcept {
  if (iequals(s, "true")) return true;
  if (iequals(s, "false")) return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_integer(std::string_view s) noexcept {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
    // NTSTATUS values such as 0xC0E90002 exceed int64's positive half only as unsigned
    // 32-bit; read as unsigned 64-bit and keep what fits.
    std::uint64_t u = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), u, base);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size() || u > static_cast<std::uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(u);
  }
  std::int64_t v = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

void parse_sysmon_hashes(std::string_view hashes, rules::text_field& sha256, rules::text_field& sha1) {
  while (!hashes.empty()) {
    const auto comma = hashes.find(',');
    const std::string_view item = trim(hashes.substr(0, comma));
    hashes = comma == std::string_view::npos ? std::string_view() : hashes.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (iequals(name, "SHA256")) set_normalized_hex(sha256, value);
    else if (iequals(name, "SHA1")) set_normalized_hex(sha1, value);
  }
}

}  // namespace countersign::processor
