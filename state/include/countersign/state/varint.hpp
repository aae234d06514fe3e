#pragma once
// The LEB128 varint and zigzag helpers of the project's record formats: the state
// module's (distinct_set, prevalence_value, record batches) and the rules module's
// (observation codec, Sigma correlation records). One encoder and one decoder for all.

#include <countersign/state/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace countersign::state::detail {

// Bytes put_varint(v) appends: 1 for v < 128, up to 10.
inline std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// The longest LEB128 of a uint64.
inline constexpr std::size_t k_max_varint = 10;

// Writes v as LEB128 (7 bits a byte, low bits first, high bit set on all but the last)
// to `out`, which has room for k_max_varint bytes; returns the bytes written.
inline std::size_t encode_varint(std::uint64_t v, char* out) noexcept {
  std::size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>(static_cast<std::uint8_t>(v) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  return n;
}

// Appends v as LEB128 (encode_varint).
inline void put_varint(std::string& out, std::uint64_t v) {
  char buf[k_max_varint];
  out.append(buf, encode_varint(v, buf));
}

// Consumes one LEB128 of at most 10 bytes; a tenth byte above 1 would overflow 64 bits.
inline std::expected<std::uint64_t, decode_error> get_varint(std::string_view& in) noexcept {
  std::uint64_t v = 0;
  for (int shift = 0, i = 0; i < 10; ++i, shift += 7) {
    if (in.empty()) return std::unexpected(decode_error::truncated);
    const auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    if (i == 9 && b > 1) return std::unexpected(decode_error::bad_value);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  return std::unexpected(decode_error::bad_value);
}

// Maps signed to unsigned so small magnitudes of either sign stay short: 0, -1, 1, -2 -> 0, 1, 2, 3.
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

// Inverse of zigzag, for every uint64.
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

}  // namespace countersign::state::detail
