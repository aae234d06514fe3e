// observation wire format.
//
// Version 1:
//   byte    version (1)
//   then every field of `observation` in the order of k_observation_fields
//   (rules/observation_fields.hpp), nested structs inline, each encoded by its type:
//     text_field        varint of (length + 1), then the bytes; 0 alone means missing
//     optional<int64>   byte 0 missing, or byte 1 then the zigzag varint
//     optional<bool>    byte 0 missing, 1 false, 2 true
//     enum              one byte, the enumerator's value
//     uint64 (host_hash) 8 bytes, little-endian
//     uint32 (joined_signatures) varint
//     string (topic)    varint length, then the bytes
//     int32, int64 (partition, offset) zigzag varint
// A field absent from the source costs one byte, so a typical observation is dominated
// by its strings. Adding, removing or reordering a field needs a new version.

#include <countersign/rules/observation_codec.hpp>

#include <countersign/rules/observation_fields.hpp>
#include <countersign/state/varint.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace countersign::rules {
namespace {

constexpr std::uint8_t k_missing = 0;
constexpr std::uint8_t k_present = 1;
constexpr std::uint8_t k_false = 1;
constexpr std::uint8_t k_true = 2;

using state::detail::unzigzag;
using state::detail::zigzag;

class writer {
 public:
  explicit writer(std::string& out) noexcept : out_(out) {}

  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }

  void varint(std::uint64_t v) { state::detail::put_varint(out_, v); }

  void fixed64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
  }

  void text(const text_field& f) {
    if (!f.present) {
      byte(k_missing);
      return;
    }
    varint(static_cast<std::uint64_t>(f.value.size()) + 1);
    out_.append(f.value);
  }

  void string(const std::string& s) {
    varint(s.size());
    out_.append(s);
  }

  void int64(std::int64_t v) { varint(zigzag(v)); }
  void int32(std::int32_t v) { int64(v); }
  void uint32(std::uint32_t v) { varint(v); }

  void optional_int(const std::optional<std::int64_t>& v) {
    if (!v) {
      byte(k_missing);
      return;
    }
    byte(k_present);
    int64(*v);
  }

  void optional_bool(const std::optional<bool>& v) {
    byte(!v ? k_missing : *v ? k_true : k_false);
  }

  // `last` bounds only the reader: a value past it is written as is and rejected on decode.
  template <class E>
  void enumeration(E e, E /*last*/) {
    byte(std::to_underlying(e));
  }

 private:
  std::string& out_;
};

// Reads with a sticky error: after the first failure every read is a no-op returning
// zero, so the field list below needs no check after each field and still never reads
// past the end. The caller looks at error() once at the end.
class reader {
 public:
  explicit reader(std::string_view in) noexcept : in_(in) {}

  [[nodiscard]] std::optional<observation_decode_error> error() const noexcept { return error_; }
  [[nodiscard]] bool at_end() const noexcept { return in_.empty(); }

  std::uint8_t byte() noexcept {
    if (error_) return 0;
    if (in_.empty()) {
      fail(observation_decode_error::truncated);
      return 0;
    }
    const auto b = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return b;
  }

  // At most 10 bytes; a tenth byte above 1 would overflow 64 bits. Over-long encodings
  // of small values (0x80 0x00) are accepted: they decode to the same value.
  std::uint64_t varint() noexcept {
    if (error_) return 0;
    const auto v = state::detail::get_varint(in_);
    if (v) return *v;
    fail(v.error() == state::decode_error::truncated ? observation_decode_error::truncated
                                                     : observation_decode_error::bad_value);
    return 0;
  }

  void fixed64(std::uint64_t& v) noexcept {
    std::uint64_t x = 0;
    for (int i = 0; i < 8; ++i) x |= static_cast<std::uint64_t>(byte()) << (8 * i);
    if (!error_) v = x;
  }

  void text(text_field& f) {
    const std::uint64_t n = varint();
    if (error_ || n == 0) return;  // 0: missing, as reset() left it
    const auto bytes = take(n - 1);
    if (!error_) f.set(bytes);
  }

  void string(std::string& s) {
    const auto bytes = take(varint());
    if (!error_) s.assign(bytes);
  }

  void int64(std::int64_t& v) noexcept {
    const std::uint64_t z = varint();
    if (!error_) v = unzigzag(z);
  }

  void int32(std::int32_t& v) noexcept {
    std::int64_t wide = 0;
    int64(wide);
    if (error_) return;
    if (wide < std::numeric_limits<std::int32_t>::min() || wide > std::numeric_limits<std::int32_t>::max()) {
      fail(observation_decode_error::bad_value);
      return;
    }
    v = static_cast<std::int32_t>(wide);
  }

  void uint32(std::uint32_t& v) noexcept {
    const std::uint64_t wide = varint();
    if (error_) return;
    if (wide > std::numeric_limits<std::uint32_t>::max()) {
      fail(observation_decode_error::bad_value);
      return;
    }
    v = static_cast<std::uint32_t>(wide);
  }

  void optional_int(std::optional<std::int64_t>& v) noexcept {
    switch (byte()) {
      case k_missing: return;  // also the error case: byte() returned 0
      case k_present: {
        std::int64_t x = 0;
        int64(x);
        if (!error_) v = x;
        return;
      }
      default: fail(observation_decode_error::bad_value);
    }
  }

  void optional_bool(std::optional<bool>& v) noexcept {
    switch (byte()) {
      case k_missing: return;
      case k_false: v = false; return;
      case k_true: v = true; return;
      default: fail(observation_decode_error::bad_value);
    }
  }

  // Values past `last` would be enumerators this build does not know; storing them would
  // hand detectors an enum no switch handles.
  template <class E>
  void enumeration(E& e, E last) noexcept {
    const std::uint8_t b = byte();
    if (error_) return;
    if (b > std::to_underlying(last)) {
      fail(observation_decode_error::bad_value);
      return;
    }
    e = static_cast<E>(b);
  }

 private:
  void fail(observation_decode_error e) noexcept {
    if (!error_) error_ = e;
  }

  // The next n bytes. A length beyond the input is truncation, checked before anything
  // is allocated for it.
  std::string_view take(std::uint64_t n) noexcept {
    if (error_) return {};
    if (n > in_.size()) {
      fail(observation_decode_error::truncated);
      return {};
    }
    const auto bytes = in_.substr(0, static_cast<std::size_t>(n));
    in_.remove_prefix(bytes.size());
    return bytes;
  }

  std::string_view in_;
  std::optional<observation_decode_error> error_;
};

// One field in either direction, encoded by its type. A field of a type with no
// encoding here does not compile: give the type one, with a new format version.
template <class Io, class T>
void transfer_value(Io& io, T& v) {
  using V = std::remove_const_t<T>;
  if constexpr (std::is_same_v<V, text_field>) io.text(v);
  else if constexpr (std::is_same_v<V, std::optional<std::int64_t>>) io.optional_int(v);
  else if constexpr (std::is_same_v<V, std::optional<bool>>) io.optional_bool(v);
  else if constexpr (std::is_enum_v<V>) io.enumeration(v, last_enumerator(V{}));
  else if constexpr (std::is_same_v<V, std::uint64_t>) io.fixed64(v);  // host_hash: uniform, a varint would be longer
  else if constexpr (std::is_same_v<V, std::uint32_t>) io.uint32(v);
  else if constexpr (std::is_same_v<V, std::int32_t>) io.int32(v);
  else if constexpr (std::is_same_v<V, std::int64_t>) io.int64(v);
  else if constexpr (std::is_same_v<V, std::string>) io.string(v);
  else static_assert(sizeof(V) == 0, "a field type the observation codec has no encoding for");
}

// The layout, once for both directions so that encoder and decoder cannot drift apart:
// `Obs` is `const observation` with a writer and `observation` with a reader. The fields
// and their order are k_observation_fields (rules/observation_fields.hpp).
template <class Io, class Obs>
void transfer(Io& io, Obs& obs) {
  for_each_observation_field([&](const auto& row) { transfer_value(io, row.of(obs)); });
}

}  // namespace

void encode_observation(const observation& obs, std::string& out) {
  writer w(out);
  w.byte(k_observation_format_version);
  transfer(w, obs);
}

std::string_view to_string(observation_decode_error e) noexcept {
  switch (e) {
    case observation_decode_error::truncated: return "truncated";
    case observation_decode_error::bad_version: return "bad_version";
    case observation_decode_error::bad_value: return "bad_value";
    case observation_decode_error::trailing_bytes: return "trailing_bytes";
  }
  return "bad_value";
}

std::expected<void, observation_decode_error> decode_observation(std::string_view in, observation& obs) {
  obs.reset();
  if (in.empty()) return std::unexpected(observation_decode_error::truncated);
  if (static_cast<std::uint8_t>(in.front()) != k_observation_format_version) {
    return std::unexpected(observation_decode_error::bad_version);
  }
  reader r(in.substr(1));
  transfer(r, obs);
  auto error = r.error();
  if (!error && !r.at_end()) error = observation_decode_error::trailing_bytes;
  if (error) {
    obs.reset();  // no half-decoded observation reaches a caller that ignores the error
    return std::unexpected(*error);
  }
  return {};
}

}  // namespace countersign::rules
