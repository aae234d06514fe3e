// prevalence_value: merge and wire format.
//
// Wire format, version 1 and 2:
//   byte    version (1, or 2 when a released part is present)
//   byte    presence bits: 0 first_seen, 1 last_seen, 2 hosts, 3 items, 4 issuers,
//           5 min_not_before, 6 certificate, 7 pending
//   byte    version 2 only, more presence bits: 0 released_at, 1 released
//   then the present parts in that order:
//     first_seen        zigzag varint
//     last_seen         zigzag varint of (last - first) when first is present, else of
//                       last; the subtraction wraps, so every int64 pair round-trips
//     hosts/items/issuers  distinct_set encoding
//     min_not_before    like last_seen
//     certificate       its time like last_seen, then varint length and the bytes
//                       (at most k_max_certificate)
//     pending           varint count (1..k_max_pending), then each as varint length
//                       and bytes (at most k_max_certificate each), in sorted order
//     released_at       zigzag varint (an offset, not a time)
//     released          like pending
// Deltas keep a typical record small: two epoch-ms times cost 6 + 1..4 bytes instead of 12.

#include <countersign/state/prevalence_value.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <iterator>
#include <tuple>
#include <utility>

#include <countersign/state/varint.hpp>

namespace countersign::state {
namespace {

using detail::get_varint;
using detail::put_varint;
using detail::unzigzag;
using detail::zigzag;

constexpr std::uint8_t k_version = 1;
constexpr std::uint8_t k_version_released = 2;
constexpr std::int64_t k_no_min = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_no_max = std::numeric_limits<std::int64_t>::min();

// Presence bits.
constexpr std::uint8_t k_first_seen = 1U << 0;
constexpr std::uint8_t k_last_seen = 1U << 1;
constexpr std::uint8_t k_hosts = 1U << 2;
constexpr std::uint8_t k_items = 1U << 3;
constexpr std::uint8_t k_issuers = 1U << 4;
constexpr std::uint8_t k_min_not_before = 1U << 5;
constexpr std::uint8_t k_certificate = 1U << 6;
constexpr std::uint8_t k_pending = 1U << 7;
constexpr std::uint8_t k_all = 0xff;
// Second presence byte (version 2).
constexpr std::uint8_t k_released_at = 1U << 0;
constexpr std::uint8_t k_released = 1U << 1;
constexpr std::uint8_t k_all_released = k_released_at | k_released;
constexpr std::size_t k_max_certificate = 64U << 10;

// Wrapping arithmetic through uint64: defined for every pair and exactly invertible.
constexpr std::int64_t wrap_sub(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
constexpr std::int64_t wrap_add(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::expected<std::int64_t, decode_error> get_time(std::string_view& in, bool relative, std::int64_t base) {
  const auto v = get_varint(in);
  if (!v) return std::unexpected(v.error());
  const std::int64_t t = unzigzag(*v);
  return relative ? wrap_add(base, t) : t;
}

// A sorted row list, bounded to k_max_pending: `into` becomes the union of both.
void unite_rows(std::vector<std::string>& into, const std::vector<std::string>& other) {
  if (other.empty()) return;
  std::vector<std::string> both;
  both.reserve(into.size() + other.size());
  std::ranges::set_union(into, other, std::back_inserter(both));
  if (both.size() > prevalence_value::k_max_pending) both.resize(prevalence_value::k_max_pending);
  into = std::move(both);
}

void put_rows(std::string& out, const std::vector<std::string>& rows) {
  put_varint(out, rows.size());
  for (const auto& row : rows) {
    put_varint(out, row.size());
    out.append(row);
  }
}

std::expected<void, decode_error> get_rows(std::string_view& in, std::vector<std::string>& rows) {
  const auto count = get_varint(in);
  if (!count) return std::unexpected(count.error());
  if (*count == 0 || *count > prevalence_value::k_max_pending) return std::unexpected(decode_error::bad_value);
  for (std::uint64_t i = 0; i < *count; ++i) {
    const auto size = get_varint(in);
    if (!size) return std::unexpected(size.error());
    if (*size == 0 || *size > k_max_certificate) return std::unexpected(decode_error::bad_value);
    if (*size > in.size()) return std::unexpected(decode_error::truncated);
    std::string row(in.substr(0, *size));
    in.remove_prefix(*size);
    if (!rows.empty() && row <= rows.back()) return std::unexpected(decode_error::bad_value);
    rows.push_back(std::move(row));
  }
  return {};
}

}  // namespace

void prevalence_value::merge(const prevalence_value& other) {
  first_seen_ms = std::min(first_seen_ms, other.first_seen_ms);
  last_seen_ms = std::max(last_seen_ms, other.last_seen_ms);
  hosts.merge(other.hosts);
  items.merge(other.items);
  issuers.merge(other.issuers);
  min_not_before_ms = std::min(min_not_before_ms, other.min_not_before_ms);
  if (!other.certificate.empty() &&
      std::tie(other.certificate_time_ms, other.certificate) > std::tie(certificate_time_ms, certificate)) {
    certificate_time_ms = other.certificate_time_ms;
    certificate = other.certificate;
  }
  if (!certificate.empty()) {
    pending.clear();
  } else {
    unite_rows(pending, other.pending);
  }
  if (other.released_at > released_at) {
    released_at = other.released_at;
    released = other.released;
  } else if (other.released_at == released_at) {
    unite_rows(released, other.released);
  }
}

void prevalence_value::encode(std::string& out) const {
  const bool has_first = first_seen_ms != k_no_min;
  std::uint8_t bits = 0;
  if (has_first) bits |= k_first_seen;
  if (last_seen_ms != k_no_max) bits |= k_last_seen;
  if (!hosts.empty()) bits |= k_hosts;
  if (!items.empty()) bits |= k_items;
  if (!issuers.empty()) bits |= k_issuers;
  if (min_not_before_ms != k_no_min) bits |= k_min_not_before;
  if (!certificate.empty()) bits |= k_certificate;
  if (!pending.empty()) bits |= k_pending;
  std::uint8_t more = 0;
  if (released_at != k_no_max) more |= k_released_at;
  if (!released.empty()) more |= k_released;

  out.push_back(static_cast<char>(more != 0 ? k_version_released : k_version));
  out.push_back(static_cast<char>(bits));
  if (more != 0) out.push_back(static_cast<char>(more));
  const auto relative = [&](std::int64_t t) { return has_first ? wrap_sub(t, first_seen_ms) : t; };
  if (bits & k_first_seen) put_varint(out, zigzag(first_seen_ms));
  if (bits & k_last_seen) put_varint(out, zigzag(relative(last_seen_ms)));
  if (bits & k_hosts) hosts.encode(out);
  if (bits & k_items) items.encode(out);
  if (bits & k_issuers) issuers.encode(out);
  if (bits & k_min_not_before) put_varint(out, zigzag(relative(min_not_before_ms)));
  if (bits & k_certificate) {
    put_varint(out, zigzag(relative(certificate_time_ms)));
    put_varint(out, certificate.size());
    out.append(certificate);
  }
  if (bits & k_pending) put_rows(out, pending);
  if (more & k_released_at) put_varint(out, zigzag(released_at));
  if (more & k_released) put_rows(out, released);
}

std::expected<prevalence_value, decode_error> prevalence_value::decode(std::string_view in) {
  if (in.empty()) return std::unexpected(decode_error::truncated);
  const auto version = static_cast<std::uint8_t>(in.front());
  if (version != k_version && version != k_version_released) return std::unexpected(decode_error::bad_version);
  in.remove_prefix(1);
  if (in.empty()) return std::unexpected(decode_error::truncated);
  const auto bits = static_cast<std::uint8_t>(in.front());
  in.remove_prefix(1);
  if ((bits & ~k_all) != 0) return std::unexpected(decode_error::bad_value);
  std::uint8_t more = 0;
  if (version == k_version_released) {
    if (in.empty()) return std::unexpected(decode_error::truncated);
    more = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    // Version 2 is written only with a released part.
    if (more == 0 || (more & ~k_all_released) != 0) return std::unexpected(decode_error::bad_value);
  }

  prevalence_value v;
  const bool has_first = (bits & k_first_seen) != 0;
  if (has_first) {
    auto t = get_time(in, false, 0);
    if (!t) return std::unexpected(t.error());
    v.first_seen_ms = *t;
  }
  if (bits & k_last_seen) {
    auto t = get_time(in, has_first, v.first_seen_ms);
    if (!t) return std::unexpected(t.error());
    v.last_seen_ms = *t;
  }
  const std::array<std::pair<std::uint8_t, distinct_set*>, 3> sets = {
      {{k_hosts, &v.hosts}, {k_items, &v.items}, {k_issuers, &v.issuers}}};
  for (const auto& [bit, set] : sets) {
    if ((bits & bit) == 0) continue;
    auto s = distinct_set::decode(in);
    if (!s) return std::unexpected(s.error());
    *set = std::move(*s);
  }
  if (bits & k_min_not_before) {
    auto t = get_time(in, has_first, v.first_seen_ms);
    if (!t) return std::unexpected(t.error());
    v.min_not_before_ms = *t;
  }
  if (bits & k_certificate) {
    auto t = get_time(in, has_first, v.first_seen_ms);
    if (!t) return std::unexpected(t.error());
    const auto size = get_varint(in);
    if (!size) return std::unexpected(size.error());
    if (*size == 0 || *size > k_max_certificate) return std::unexpected(decode_error::bad_value);
    if (*size > in.size()) return std::unexpected(decode_error::truncated);
    v.certificate_time_ms = *t;
    v.certificate.assign(in.substr(0, *size));
    in.remove_prefix(*size);
  }
  if (bits & k_pending) {
    if (auto r = get_rows(in, v.pending); !r) return std::unexpected(r.error());
  }
  if (more & k_released_at) {
    auto t = get_time(in, false, 0);
    if (!t) return std::unexpected(t.error());
    if (*t == k_no_max) return std::unexpected(decode_error::bad_value);  // the identity is not written
    v.released_at = *t;
  }
  if (more & k_released) {
    if (auto r = get_rows(in, v.released); !r) return std::unexpected(r.error());
  }
  if (!in.empty()) return std::unexpected(decode_error::trailing_bytes);
  return v;
}

prevalence_record prevalence_value::view() const {
  prevalence_record r;
  r.first_seen_ms = first_seen_ms == k_no_min ? 0 : first_seen_ms;
  r.last_seen_ms = last_seen_ms == k_no_max ? 0 : last_seen_ms;
  r.hosts = hosts.estimate();
  r.hashes = items.estimate();
  return r;
}

}  // namespace countersign::state
