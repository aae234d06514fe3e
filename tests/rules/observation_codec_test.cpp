// The observation wire format (rules/src/observation_codec.cpp): exact round trips,
// missing versus empty, and rejection of malformed input without reading past it.

#include "printers.hpp"

#include <countersign/rules/observation_codec.hpp>
#include <countersign/rules/observation_fields.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace countersign::rules {

inline void PrintTo(observation_decode_error e, std::ostream* os) { *os << to_string(e); }

namespace observation_codec_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_now = 1'795'927'420'000;  // 2026-11-29T04:43:40Z

// Compile-time guard: structured bindings need exactly one name per member, so this stops
// compiling when a struct gains or loses a field. Whoever lands here adds the field to
// k_observation_fields in rules/observation_fields.hpp (with a new codec format version)
// and to the lists below, which stay written out by hand so that the tests do not take
// the table's word for what an observation holds.
[[maybe_unused]] void every_field_is_listed(observation& o) {
  [[maybe_unused]] auto& [kind, event_time_ms, host_id, host_name, host_hash, user_name, image_path,
                          process_path, sha256, sha1, pe, signature, ci, source] = o;
  [[maybe_unused]] auto& [original_file_name, company, product, description, file_version] = o.pe;
  [[maybe_unused]] auto& [exists, status, status_raw, trusted, subject, subject_cn, subject_o,
                          thumbprint, issuer, issuer_cn, serial, not_before_ms, not_after_ms,
                          signing_time_ms, signature_type] = o.signature;
  [[maybe_unused]] auto& [event_id, klass, activity_id, process_name, policy_name, policy_id,
                          policy_guid, requested_signing_level, validated_signing_level, ci_status,
                          verification_error, signature_index, total_signature_count,
                          publisher_tbs_hash, issuer_tbs_hash, user_writable, joined_signatures] = o.ci;
  [[maybe_unused]] auto& [schema, topic, partition, offset] = o.source;
  [[maybe_unused]] auto& [value, present] = o.host_id;
}

template <class Obs, class T>
using field_ptr = std::pair<std::string_view, std::conditional_t<std::is_const_v<Obs>, const T*, T*>>;

// Every text_field, optional<int64> and optional<bool> of an observation, named for messages.
template <class Obs>
auto text_fields(Obs& o) {
  using p = field_ptr<Obs, text_field>;
  return std::array{
      p{"host_id", &o.host_id},
      p{"host_name", &o.host_name},
      p{"user_name", &o.user_name},
      p{"image_path", &o.image_path},
      p{"process_path", &o.process_path},
      p{"sha256", &o.sha256},
      p{"sha1", &o.sha1},
      p{"pe.original_file_name", &o.pe.original_file_name},
      p{"pe.company", &o.pe.company},
      p{"pe.product", &o.pe.product},
      p{"pe.description", &o.pe.description},
      p{"pe.file_version", &o.pe.file_version},
      p{"signature.status_raw", &o.signature.status_raw},
      p{"signature.subject", &o.signature.subject},
      p{"signature.subject_cn", &o.signature.subject_cn},
      p{"signature.subject_o", &o.signature.subject_o},
      p{"signature.thumbprint", &o.signature.thumbprint},
      p{"signature.issuer", &o.signature.issuer},
      p{"signature.issuer_cn", &o.signature.issuer_cn},
      p{"signature.serial", &o.signature.serial},
      p{"signature.signature_type", &o.signature.signature_type},
      p{"ci.activity_id", &o.ci.activity_id},
      p{"ci.process_name", &o.ci.process_name},
      p{"ci.policy_name", &o.ci.policy_name},
      p{"ci.policy_id", &o.ci.policy_id},
      p{"ci.policy_guid", &o.ci.policy_guid},
      p{"ci.status", &o.ci.status},
      p{"ci.publisher_tbs_hash", &o.ci.publisher_tbs_hash},
      p{"ci.issuer_tbs_hash", &o.ci.issuer_tbs_hash},
  };
}

template <class Obs>
auto int_fields(Obs& o) {
  using p = field_ptr<Obs, std::optional<std::int64_t>>;
  return std::array{
      p{"event_time_ms", &o.event_time_ms},
      p{"signature.not_before_ms", &o.signature.not_before_ms},
      p{"signature.not_after_ms", &o.signature.not_after_ms},
      p{"signature.signing_time_ms", &o.signature.signing_time_ms},
      p{"ci.event_id", &o.ci.event_id},
      p{"ci.requested_signing_level", &o.ci.requested_signing_level},
      p{"ci.validated_signing_level", &o.ci.validated_signing_level},
      p{"ci.verification_error", &o.ci.verification_error},
      p{"ci.signature_index", &o.ci.signature_index},
      p{"ci.total_signature_count", &o.ci.total_signature_count},
  };
}

template <class Obs>
auto bool_fields(Obs& o) {
  using p = field_ptr<Obs, std::optional<bool>>;
  return std::array{
      p{"signature.exists", &o.signature.exists},
      p{"signature.trusted", &o.signature.trusted},
      p{"ci.user_writable", &o.ci.user_writable},
  };
}

// Field by field, so a failure names the field.
void expect_same(const observation& want, const observation& got) {
  const auto want_texts = text_fields(want);
  const auto got_texts = text_fields(got);
  for (std::size_t i = 0; i < want_texts.size(); ++i) {
    const auto& [name, w] = want_texts[i];
    const text_field* g = got_texts[i].second;
    EXPECT_EQ(g->present, w->present) << name;
    EXPECT_EQ(g->value, w->value) << name;
  }
  const auto want_ints = int_fields(want);
  const auto got_ints = int_fields(got);
  for (std::size_t i = 0; i < want_ints.size(); ++i) {
    EXPECT_EQ(*got_ints[i].second, *want_ints[i].second) << want_ints[i].first;
  }
  const auto want_bools = bool_fields(want);
  const auto got_bools = bool_fields(got);
  for (std::size_t i = 0; i < want_bools.size(); ++i) {
    EXPECT_EQ(*got_bools[i].second, *want_bools[i].second) << want_bools[i].first;
  }
  // Enums through to_string: readable, and every value compared here is a named one.
  EXPECT_EQ(to_string(got.kind), to_string(want.kind));
  EXPECT_EQ(got.signature.status, want.signature.status);
  EXPECT_EQ(to_string(got.ci.klass), to_string(want.ci.klass));
  EXPECT_EQ(to_string(got.source.schema), to_string(want.source.schema));
  EXPECT_EQ(got.host_hash, want.host_hash);
  EXPECT_EQ(got.ci.joined_signatures, want.ci.joined_signatures);
  EXPECT_EQ(got.source.topic, want.source.topic);
  EXPECT_EQ(got.source.partition, want.source.partition);
  EXPECT_EQ(got.source.offset, want.source.offset);
}

std::string encoded(const observation& o) {
  std::string out;
  encode_observation(o, out);
  return out;
}

// Every field set to a non-default value; a few strings present but empty, one long
// enough for a multi-byte length, and strings with NUL and non-UTF-8 bytes.
observation full_observation() {
  observation o;
  auto texts = text_fields(o);
  for (auto& [name, f] : texts) f->set(std::string(name) + "=value");
  o.user_name.set("");
  o.signature.subject_o.set("");
  o.ci.status.set("");
  o.image_path.set(std::string(300, 'x'));
  o.pe.description.set(std::string("nul\0inside\xff\xfe", 12));
  std::int64_t v = k_now;
  for (auto& [name, f] : int_fields(o)) *f = v++;
  o.signature.not_before_ms = k_min;
  o.signature.not_after_ms = k_max;
  o.ci.signature_index = 0;
  o.ci.verification_error = -1;
  o.signature.exists = true;
  o.signature.trusted = false;
  o.ci.user_writable = true;
  o.kind = event_kind::policy;
  o.signature.status = signature_status::other;
  o.ci.klass = ci_class::policy;
  o.source.schema = schema_profile::codeintegrity;
  o.host_hash = 0x8000'0000'0000'00ffULL;
  o.ci.joined_signatures = std::numeric_limits<std::uint32_t>::max();
  o.source.topic = "edr.process";
  o.source.partition = std::numeric_limits<std::int32_t>::min();
  o.source.offset = k_max;
  return o;
}

// Mostly short; with `long_strings`, one in ten long enough for a 2- or 3-byte length varint.
std::string random_bytes(std::mt19937_64& rng, bool long_strings) {
  const std::size_t n = long_strings && rng() % 10 == 0 ? rng() % 20'000 : rng() % 40;
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::int64_t random_int(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return k_min;
    case 1: return k_max;
    case 2: return 0;
    case 3: return -static_cast<std::int64_t>(rng() % 1000) - 1;
    case 4: return static_cast<std::int64_t>(rng());
    default: return k_now + static_cast<std::int64_t>(rng() % 1'000'000'000);
  }
}

template <class E>
E random_enum(std::mt19937_64& rng, E last) {
  return static_cast<E>(rng() % (std::to_underlying(last) + 1U));
}

observation random_observation(std::mt19937_64& rng, bool long_strings = true) {
  observation o;
  for (auto& [name, f] : text_fields(o)) {
    switch (rng() % 4) {
      case 0: break;  // missing
      case 1: f->set(""); break;
      default: f->set(random_bytes(rng, long_strings));
    }
  }
  for (auto& [name, f] : int_fields(o)) {
    if (rng() % 2 == 0) *f = random_int(rng);
  }
  for (auto& [name, f] : bool_fields(o)) {
    if (rng() % 3 != 0) *f = rng() % 2 == 0;
  }
  o.kind = random_enum(rng, event_kind::policy);
  o.signature.status = random_enum(rng, signature_status::other);
  o.ci.klass = random_enum(rng, ci_class::policy);
  o.source.schema = random_enum(rng, schema_profile::codeintegrity);
  o.host_hash = rng();
  o.ci.joined_signatures = static_cast<std::uint32_t>(rng());
  o.source.topic = random_bytes(rng, long_strings);
  o.source.partition = static_cast<std::int32_t>(static_cast<std::uint32_t>(rng()));
  o.source.offset = random_int(rng);
  return o;
}

void expect_round_trip(const observation& o) {
  const auto bytes = encoded(o);
  observation got;
  const auto r = decode_observation(bytes, got);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  expect_same(o, got);
}

observation_decode_error decode_error_of(std::string_view bytes) {
  observation o;
  const auto r = decode_observation(bytes, o);
  EXPECT_FALSE(r.has_value());
  return r ? observation_decode_error::bad_value : r.error();
}

void append_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(v) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Where `changed` first differs from a default observation on the wire: the byte of the
// field it changed. Finds positions without hard-coding the layout into every test.
std::size_t offset_of_change(const observation& changed) {
  const auto base = encoded(observation{});
  const auto other = encoded(changed);
  std::size_t i = 0;
  while (i < base.size() && i < other.size() && base[i] == other[i]) ++i;
  return i;
}

TEST(observation_codec, a_fully_populated_observation_round_trips) {
  expect_round_trip(full_observation());
}

TEST(observation_codec, a_default_observation_round_trips_in_a_few_bytes) {
  expect_round_trip(observation{});
  // One byte per absent field, plus the fixed host hash.
  EXPECT_LE(encoded(observation{}).size(), 64U);
}

TEST(observation_codec, missing_and_present_but_empty_stay_distinct) {
  observation probe;
  for (std::size_t i = 0; i < text_fields(probe).size(); ++i) {
    observation o;
    auto texts = text_fields(o);
    texts[i].second->set("");
    // The neighbours are missing on one side and empty on the other.
    if (i + 1 < texts.size()) texts[i + 1].second->set("x");
    SCOPED_TRACE(texts[i].first);
    expect_round_trip(o);
  }
}

TEST(observation_codec, every_other_field_missing_round_trips) {
  for (int parity = 0; parity < 2; ++parity) {
    observation o = full_observation();
    int n = parity;
    for (auto& [name, f] : text_fields(o)) {
      if (n++ % 2 == 0) f->reset();
    }
    for (auto& [name, f] : int_fields(o)) {
      if (n++ % 2 == 0) f->reset();
    }
    for (auto& [name, f] : bool_fields(o)) {
      if (n++ % 2 == 0) f->reset();
    }
    SCOPED_TRACE(parity);
    expect_round_trip(o);
  }
}

TEST(observation_codec, random_observations_round_trip) {
  std::mt19937_64 rng(20261129);
  for (int c = 0; c < 300; ++c) {
    SCOPED_TRACE(c);
    expect_round_trip(random_observation(rng));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(observation_codec, encode_appends) {
  std::string out = "prefix";
  encode_observation(full_observation(), out);
  ASSERT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), encoded(full_observation()));
}

TEST(observation_codec, decoding_into_a_used_observation_replaces_every_field) {
  const observation first = full_observation();
  observation second;  // every field at its default: missing, where the first has values
  second.host_id.set("h");
  second.ci.status.set("0xc0000428");

  observation o;
  ASSERT_TRUE(decode_observation(encoded(first), o).has_value());
  expect_same(first, o);
  const auto capacity = o.image_path.value.capacity();
  ASSERT_TRUE(decode_observation(encoded(second), o).has_value());
  expect_same(second, o);
  // reset() keeps capacity, so a reused observation stops allocating.
  EXPECT_GE(o.image_path.value.capacity(), capacity);

  ASSERT_TRUE(decode_observation(encoded(first), o).has_value());
  expect_same(first, o);
}

TEST(observation_codec, every_truncation_is_reported_and_leaves_the_observation_reset) {
  std::mt19937_64 rng(7);
  std::vector<observation> cases = {full_observation(), observation{}};
  // Short strings: every prefix is decoded, so the cost is quadratic in the length.
  for (int c = 0; c < 20; ++c) cases.push_back(random_observation(rng, false));
  for (const auto& original : cases) {
    const auto bytes = encoded(original);
    observation o;
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      o = full_observation();  // decoding must not leave any of this behind
      const auto r = decode_observation(std::string_view(bytes.data(), n), o);
      ASSERT_FALSE(r.has_value()) << "prefix " << n << " of " << bytes.size();
      ASSERT_EQ(r.error(), observation_decode_error::truncated) << "prefix " << n << " of " << bytes.size();
      expect_same(observation{}, o);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(observation_codec, an_unknown_version_is_rejected) {
  auto bytes = encoded(full_observation());
  for (const char version : {'\x00', '\x02', '\x7f', '\xff'}) {
    bytes[0] = version;
    EXPECT_EQ(decode_error_of(bytes), observation_decode_error::bad_version);
  }
}

TEST(observation_codec, bytes_after_the_observation_are_rejected) {
  auto bytes = encoded(full_observation());
  EXPECT_EQ(decode_error_of(bytes + '\0'), observation_decode_error::trailing_bytes);
  EXPECT_EQ(decode_error_of(bytes + bytes), observation_decode_error::trailing_bytes);
}

TEST(observation_codec, an_enum_byte_past_the_last_enumerator_is_a_bad_value) {
  const auto expect_bad = [](const observation& o, std::string_view what) {
    EXPECT_EQ(decode_error_of(encoded(o)), observation_decode_error::bad_value) << what;
  };
  observation o;
  o.kind = static_cast<event_kind>(std::to_underlying(event_kind::policy) + 1);
  expect_bad(o, "kind");
  o = {};
  o.signature.status = static_cast<signature_status>(std::to_underlying(signature_status::other) + 1);
  expect_bad(o, "signature.status");
  o = {};
  o.ci.klass = static_cast<ci_class>(0xff);
  expect_bad(o, "ci.klass");
  o = {};
  o.source.schema = static_cast<schema_profile>(std::to_underlying(schema_profile::user) + 1);
  expect_bad(o, "source.schema");
}

// A byte decodes exactly when it is a named enumerator. "Named" is read off to_string,
// whose switch -Wswitch keeps complete: an enumerator added without moving the codec's
// bound fails here. Values outside the enum return the fallback's name.
template <class E, class Set>
void expect_named_values_decode(E fallback, Set set) {
  for (unsigned b = 0; b < 256; ++b) {
    const auto e = static_cast<E>(b);
    const bool named = b == std::to_underlying(fallback) || to_string(e) != to_string(fallback);
    observation o;
    set(o, e);
    observation got;
    const auto r = decode_observation(encoded(o), got);
    EXPECT_EQ(r.has_value(), named) << "byte " << b;
    if (!r) {
      EXPECT_EQ(r.error(), observation_decode_error::bad_value) << "byte " << b;
    }
  }
}

TEST(observation_codec, exactly_the_named_enumerators_decode) {
  expect_named_values_decode(event_kind::unknown, [](observation& o, event_kind e) { o.kind = e; });
  expect_named_values_decode(signature_status::other,
                             [](observation& o, signature_status e) { o.signature.status = e; });
  expect_named_values_decode(ci_class::none, [](observation& o, ci_class e) { o.ci.klass = e; });
  expect_named_values_decode(schema_profile::unknown,
                             [](observation& o, schema_profile e) { o.source.schema = e; });
}

TEST(observation_codec, presence_tags_no_encoder_writes_are_bad_values) {
  observation with_time;
  with_time.event_time_ms = 0;
  auto bytes = encoded(with_time);
  bytes[offset_of_change(with_time)] = '\x02';
  EXPECT_EQ(decode_error_of(bytes), observation_decode_error::bad_value) << "optional int tag";

  observation with_bool;
  with_bool.signature.exists = true;
  bytes = encoded(with_bool);
  bytes[offset_of_change(with_bool)] = '\x03';
  EXPECT_EQ(decode_error_of(bytes), observation_decode_error::bad_value) << "optional bool tag";
}

TEST(observation_codec, a_length_past_the_end_is_truncated_without_allocating_it) {
  observation o;
  o.host_id.set("");
  const auto at = offset_of_change(o);  // host_id's length byte
  const auto base = encoded(o);
  const std::uint64_t left = base.size() - at - 1;  // bytes after it
  // varints of (length + 1): one byte more than is left, then absurd lengths.
  for (const std::uint64_t length_plus_one : {left + 2, std::uint64_t{1} << 40, std::uint64_t{1} << 63,
                                              std::numeric_limits<std::uint64_t>::max()}) {
    std::string length;
    append_varint(length, length_plus_one);
    auto bytes = base;
    bytes.replace(at, 1, length);
    EXPECT_EQ(decode_error_of(bytes), observation_decode_error::truncated) << length_plus_one;
  }

  // The topic length, with nothing after it.
  observation plain;
  auto bytes = encoded(plain);
  // A default observation ends: schema, topic length 0, partition -1, offset -1.
  ASSERT_EQ(bytes.substr(bytes.size() - 3), std::string("\x00\x01\x01", 3));
  bytes.resize(bytes.size() - 3);
  append_varint(bytes, 1'000'000);
  bytes += "ab";
  EXPECT_EQ(decode_error_of(bytes), observation_decode_error::truncated);
}

TEST(observation_codec, over_long_and_out_of_range_integers_are_bad_values) {
  observation o;
  o.ci.joined_signatures = 1;
  const auto at = offset_of_change(o);  // a 1-byte varint in the default encoding
  const auto with_joined = [&](std::string_view varint) {
    auto bytes = encoded(observation{});
    bytes.replace(at, 1, varint);
    return bytes;
  };
  // Eleven bytes, and ten whose last carries bits past 64.
  EXPECT_EQ(decode_error_of(with_joined(std::string(10, '\x80') + '\x01')), observation_decode_error::bad_value);
  EXPECT_EQ(decode_error_of(with_joined(std::string(9, '\x80') + '\x02')), observation_decode_error::bad_value);
  std::string wide;
  append_varint(wide, std::uint64_t{1} << 32);
  EXPECT_EQ(decode_error_of(with_joined(wide)), observation_decode_error::bad_value);
  // An over-long but in-range encoding of 1 is accepted.
  observation got;
  ASSERT_TRUE(decode_observation(with_joined(std::string_view("\x81\x80\x00", 3)), got).has_value());
  EXPECT_EQ(got.ci.joined_signatures, 1U);

  // Partition: a zigzag varint that must fit in int32.
  auto bytes = encoded(observation{});
  bytes.resize(bytes.size() - 2);  // partition -1 and offset -1, one byte each
  std::string partition = bytes;
  append_varint(partition, std::uint64_t{1} << 32);  // zigzag of 2^31
  partition += '\x01';
  EXPECT_EQ(decode_error_of(partition), observation_decode_error::bad_value);
  append_varint(bytes, (std::uint64_t{1} << 32) - 2);  // zigzag of 2^31 - 1
  bytes += '\x01';
  ASSERT_TRUE(decode_observation(bytes, got).has_value());
  EXPECT_EQ(got.source.partition, std::numeric_limits<std::int32_t>::max());
}

TEST(observation_codec, arbitrary_bytes_never_crash_and_what_decodes_re_encodes) {
  std::mt19937_64 rng(99);
  const auto valid = encoded(full_observation());
  observation o;
  observation again;
  for (int c = 0; c < 20'000; ++c) {
    std::string bytes;
    if (c % 2 == 0) {
      // A valid encoding with a few bytes changed reaches deep into the decoder.
      bytes = valid;
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
      }
    } else {
      bytes.assign(rng() % 128, '\0');
      for (auto& ch : bytes) ch = static_cast<char>(rng());
      if (!bytes.empty()) bytes[0] = static_cast<char>(k_observation_format_version);
    }
    if (!decode_observation(bytes, o)) {
      expect_same(observation{}, o);
    } else {
      ASSERT_TRUE(decode_observation(encoded(o), again).has_value());
      expect_same(o, again);
    }
    if (::testing::Test::HasFailure()) return;
  }
}

// Every field set by hand (not through the lists above, so that a list and the codec
// cannot agree on a mistake): kind, enums and presence flags at non-default values, one
// string present but empty, one long enough for a two-byte length, negative integers.
observation golden_observation() {
  observation o;
  o.kind = event_kind::driver_load;
  o.event_time_ms = k_now;
  o.host_id.set("host-1");
  o.host_name.set("WS-01");
  o.host_hash = 0x0123'4567'89ab'cdefULL;
  o.user_name.set("");
  o.image_path.set("C:\\Windows\\System32\\drivers\\" + std::string(130, 'd') + ".sys");
  o.process_path.set("C:\\Windows\\System32\\services.exe");
  o.sha256.set(std::string(64, 'a'));
  o.sha1.set(std::string(40, 'b'));
  o.pe.original_file_name.set("ofn.sys");
  o.pe.company.set("Company");
  o.pe.product.set("Product");
  o.pe.description.set("Description");
  o.pe.file_version.set("1.2.3.4");
  o.signature.exists = true;
  o.signature.status = signature_status::revoked;
  o.signature.status_raw.set("Revoked");
  o.signature.trusted = false;
  o.signature.subject.set("CN=Signer, O=Org");
  o.signature.subject_cn.set("Signer");
  o.signature.subject_o.set("Org");
  o.signature.thumbprint.set(std::string(40, 'c'));
  o.signature.issuer.set("CN=Issuing CA");
  o.signature.issuer_cn.set("Issuing CA");
  o.signature.serial.set("0a0b");
  o.signature.not_before_ms = -86'400'000;
  o.signature.not_after_ms = k_now + 1;
  o.signature.signing_time_ms = 0;
  o.signature.signature_type.set("Authenticode");
  o.ci.event_id = 3033;
  o.ci.klass = ci_class::block;
  o.ci.activity_id.set("6a1b5d2e-0000-0000-0000-000000000001");
  o.ci.process_name.set("System");
  o.ci.policy_name.set("Policy");
  o.ci.policy_id.set("{policy-id}");
  o.ci.policy_guid.set("{guid}");
  o.ci.requested_signing_level = 12;
  o.ci.validated_signing_level = 1;
  o.ci.status.set("0xc0000428");
  o.ci.verification_error = -2;
  o.ci.signature_index = 0;
  o.ci.total_signature_count = 2;
  o.ci.publisher_tbs_hash.set("dd");
  o.ci.issuer_tbs_hash.set("ee");
  o.ci.user_writable = true;
  o.ci.joined_signatures = 300;
  o.source.schema = schema_profile::evtx;
  o.source.topic = "edr.ci";
  o.source.partition = -7;
  o.source.offset = 1'234'567;
  return o;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char k_digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out.push_back(k_digits[static_cast<std::uint8_t>(c) >> 4]);
    out.push_back(k_digits[static_cast<std::uint8_t>(c) & 0xf]);
  }
  return out;
}

// Bytes the codec wrote before its field list moved to rules/observation_fields.hpp
// (commit c20fe20). Records in Kafka topics and RocksDB were written so; they must keep
// decoding, and the encoder must keep writing them.
constexpr std::string_view k_golden_hex =
    "010301c0b1edd9c46807686f73742d310657532d3031efcdab896745230101a301433a5c57696e646f77735c53797374"
    "656d33325c647269766572735c6464646464646464646464646464646464646464646464646464646464646464646464"
    "646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464"
    "64646464646464646464646464646464646464646464646464646464646464646464646464646464646464646464642e"
    "73797321433a5c57696e646f77735c53797374656d33325c73657276696365732e657865416161616161616161616161"
    "616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161616161"
    "61616161612962626262626262626262626262626262626262626262626262626262626262626262626262626262086f"
    "666e2e73797308436f6d70616e790850726f647563740c4465736372697074696f6e08312e322e332e34020308526576"
    "6f6b65640111434e3d5369676e65722c204f3d4f7267075369676e6572044f7267296363636363636363636363636363"
    "63636363636363636363636363636363636363636363636363630e434e3d49737375696e672043410b49737375696e67"
    "204341053061306201ffefb25201c2b1edd9c46801000d41757468656e7469636f646501b22f01253661316235643265"
    "2d303030302d303030302d303030302d3030303030303030303030310753797374656d07506f6c6963790c7b706f6c69"
    "63792d69647d077b677569647d011801020b3078633030303034323801030100010403646403656502ac020606656472"
    "2e63690d8eda9601";

TEST(observation_codec, a_fully_populated_observation_encodes_to_the_recorded_bytes) {
  EXPECT_EQ(to_hex(encoded(golden_observation())), k_golden_hex);
}

TEST(observation_codec, the_recorded_bytes_decode_to_the_fully_populated_observation) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < k_golden_hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(k_golden_hex.substr(i, 2)), nullptr, 16)));
  }
  observation o;
  const auto r = decode_observation(bytes, o);
  ASSERT_TRUE(r.has_value()) << to_string(r.error());
  expect_same(golden_observation(), o);
}

// The table has one row per field of the observation: the rows reach distinct members,
// and every member the hand-written lists name is reached by a row.
TEST(observation_fields, every_field_of_the_observation_is_one_row) {
  observation o;
  std::vector<const void*> rows;
  for_each_observation_field([&](const auto& row) { rows.push_back(&row.of(o)); });
  ASSERT_EQ(rows.size(), k_observation_field_count);
  std::vector<const void*> listed;
  for (const auto& [name, f] : text_fields(o)) listed.push_back(f);
  for (const auto& [name, f] : int_fields(o)) listed.push_back(f);
  for (const auto& [name, f] : bool_fields(o)) listed.push_back(f);
  for (const void* f : {static_cast<const void*>(&o.kind), static_cast<const void*>(&o.host_hash),
                        static_cast<const void*>(&o.signature.status), static_cast<const void*>(&o.ci.klass),
                        static_cast<const void*>(&o.ci.joined_signatures), static_cast<const void*>(&o.source.schema),
                        static_cast<const void*>(&o.source.topic), static_cast<const void*>(&o.source.partition),
                        static_cast<const void*>(&o.source.offset)}) {
    listed.push_back(f);
  }
  auto sorted_rows = rows;
  std::ranges::sort(sorted_rows);
  EXPECT_EQ(std::ranges::adjacent_find(sorted_rows), sorted_rows.end()) << "two rows reach one member";
  std::ranges::sort(listed);
  EXPECT_EQ(sorted_rows, listed);
}

TEST(observation_fields, names_are_unique_and_found_by_index) {
  for (std::size_t i = 0; i < k_observation_field_count; ++i) {
    const auto name = k_observation_field_info[i].name;
    EXPECT_EQ(observation_field_index(name), i) << name;
  }
  EXPECT_EQ(observation_field_index("signature.colour"), k_observation_field_count);
  EXPECT_EQ(observation_field_index("pe.company"), observation_field_row("pe.company"));
}

TEST(observation_fields, a_row_is_reached_as_its_own_type_only) {
  observation o;
  const std::size_t company = observation_field_index("pe.company");
  EXPECT_EQ(observation_field_as<text_field>(o, company), &o.pe.company);
  EXPECT_EQ(observation_field_as<std::optional<bool>>(o, company), nullptr);
  const std::size_t not_after = observation_field_index("signature.not_after");
  EXPECT_EQ(observation_field_as<std::optional<std::int64_t>>(o, not_after), &o.signature.not_after_ms);
  EXPECT_EQ(observation_field_as<text_field>(o, not_after), nullptr);
  EXPECT_EQ(observation_field_as<std::optional<bool>>(o, observation_field_index("ci.user_writable")),
            &o.ci.user_writable);
  EXPECT_EQ(observation_field_as<text_field>(o, k_observation_field_count), nullptr);
}

TEST(observation_fields, reset_restores_every_field_and_keeps_text_capacity) {
  observation o = full_observation();
  const auto capacity = o.image_path.value.capacity();
  o.reset();
  expect_same(observation{}, o);
  EXPECT_EQ(o.image_path.value.capacity(), capacity);
}

TEST(observation_codec, errors_have_names) {
  EXPECT_EQ(to_string(observation_decode_error::truncated), "truncated");
  EXPECT_EQ(to_string(observation_decode_error::bad_version), "bad_version");
  EXPECT_EQ(to_string(observation_decode_error::bad_value), "bad_value");
  EXPECT_EQ(to_string(observation_decode_error::trailing_bytes), "trailing_bytes");
}

}  // namespace
}  // namespace observation_codec_test
}  // namespace countersign::rules
