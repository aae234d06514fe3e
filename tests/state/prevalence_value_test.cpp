// prevalence_value (state/src/prevalence_value.cpp): merge and wire format of a record.

#include <countersign/state/prevalence_value.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <algorithm>
#include <vector>

namespace countersign::state {
namespace prevalence_value_test {  // one per file: the test programs are unity builds
namespace {

constexpr std::int64_t k_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t k_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t k_now = 1'700'000'000'000;  // 2023-11-14, epoch ms
constexpr std::int64_t k_day = 86'400'000;

std::uint64_t item_hash(std::uint64_t id) {
  std::uint64_t z = id + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Mostly realistic times, sometimes the extremes and the sentinels themselves.
std::int64_t random_time(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0: return k_min;
    case 1: return k_max;
    case 2: return 0;
    case 3: return -static_cast<std::int64_t>(rng() % 1000) - 1;
    default: return k_now - 400 * k_day + static_cast<std::int64_t>(rng() % (500 * k_day));
  }
}

// Sizes straddle distinct_set::k_exact_cap; one set in ten is large.
void fill(std::mt19937_64& rng, distinct_set& s, std::uint64_t salt) {
  const std::uint64_t size = rng() % 10 == 0 ? rng() % 4000 : rng() % 140;
  for (std::uint64_t i = 0; i < size; ++i) s.insert(item_hash(salt + rng() % 160));
}

// A sorted list of distinct rows, at most k_max_pending.
void random_rows(std::mt19937_64& rng, std::vector<std::string>& rows) {
  for (std::uint64_t i = rng() % 12; i > 0; --i) rows.push_back(std::string(1 + rng() % 40, static_cast<char>('a' + rng() % 12)));
  std::ranges::sort(rows);
  const auto [first, last] = std::ranges::unique(rows);
  rows.erase(first, last);
  if (rows.size() > prevalence_value::k_max_pending) rows.resize(prevalence_value::k_max_pending);
}

prevalence_value random_value(std::mt19937_64& rng) {
  prevalence_value v;
  if (rng() % 4 != 0) v.first_seen_ms = random_time(rng);
  if (rng() % 4 != 0) v.last_seen_ms = random_time(rng);
  if (rng() % 3 != 0) fill(rng, v.hosts, 0);
  if (rng() % 3 == 0) fill(rng, v.items, 1'000'000);
  if (rng() % 3 == 0) fill(rng, v.issuers, 2'000'000);
  if (rng() % 3 == 0) v.min_not_before_ms = random_time(rng);
  if (rng() % 4 == 0) {  // a certificate row's facts (bytes drawn from a few values, so ties happen)
    v.certificate_time_ms = rng() % 2 == 0 ? k_now : random_time(rng);
    v.certificate.assign(1 + rng() % 300, static_cast<char>('a' + rng() % 3));
  } else if (rng() % 3 == 0) {  // execution rows waiting for it (never beside a certificate)
    random_rows(rng, v.pending);
  }
  if (rng() % 5 == 0) {  // rows a certificate row released, under its offset (few offsets, so ties happen)
    v.released_at = static_cast<std::int64_t>(rng() % 4);
    if (rng() % 4 != 0) random_rows(rng, v.released);
  }
  return v;
}

prevalence_value merged(prevalence_value a, const prevalence_value& b) {
  a.merge(b);
  return a;
}

std::string encoded(const prevalence_value& v) {
  std::string out;
  v.encode(out);
  return out;
}

TEST(prevalence_value, an_empty_value_encodes_in_two_bytes_and_views_as_a_default_record) {
  const prevalence_value v;
  const auto bytes = encoded(v);
  EXPECT_EQ(bytes.size(), 2U);
  const auto back = prevalence_value::decode(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, v);
  const auto r = v.view();
  EXPECT_EQ(r.first_seen_ms, 0);
  EXPECT_EQ(r.last_seen_ms, 0);
  EXPECT_EQ(r.hosts, 0U);
  EXPECT_EQ(r.hashes, 0U);
}

TEST(prevalence_value, merge_keeps_earliest_first_latest_last_and_unions_the_sets) {
  prevalence_value a;
  a.first_seen_ms = k_now;
  a.last_seen_ms = k_now;
  a.hosts.insert(item_hash(1));
  a.items.insert(item_hash(10));
  a.min_not_before_ms = k_now - 30 * k_day;
  prevalence_value b;
  b.first_seen_ms = k_now - k_day;
  b.last_seen_ms = k_now - k_day;
  b.hosts.insert(item_hash(1));
  b.hosts.insert(item_hash(2));
  b.issuers.insert(item_hash(20));
  b.min_not_before_ms = k_now - 60 * k_day;

  a.merge(b);
  EXPECT_EQ(a.first_seen_ms, k_now - k_day);
  EXPECT_EQ(a.last_seen_ms, k_now);
  EXPECT_EQ(a.hosts.estimate(), 2U);
  EXPECT_EQ(a.items.estimate(), 1U);
  EXPECT_EQ(a.issuers.estimate(), 1U);
  EXPECT_EQ(a.min_not_before_ms, k_now - 60 * k_day);

  const auto r = a.view();
  EXPECT_EQ(r.first_seen_ms, k_now - k_day);
  EXPECT_EQ(r.last_seen_ms, k_now);
  EXPECT_EQ(r.hosts, 2U);
  EXPECT_EQ(r.hashes, 1U);
}

TEST(prevalence_value, an_empty_value_is_the_identity_of_merge) {
  std::mt19937_64 rng(21);
  for (int c = 0; c < 200; ++c) {
    const auto v = random_value(rng);
    ASSERT_EQ(merged(v, prevalence_value{}), v);
    ASSERT_EQ(merged(prevalence_value{}, v), v);
  }
}

TEST(prevalence_value, merge_is_idempotent_commutative_and_associative_on_random_values) {
  std::mt19937_64 rng(22);
  for (int c = 0; c < 400; ++c) {
    const auto a = random_value(rng);
    const auto b = random_value(rng);
    const auto d = random_value(rng);
    ASSERT_EQ(merged(a, a), a) << "case " << c;
    ASSERT_EQ(merged(a, b), merged(b, a)) << "case " << c;
    const auto abd = merged(merged(a, b), d);
    ASSERT_EQ(abd, merged(a, merged(b, d))) << "case " << c;
    ASSERT_EQ(abd, merged(merged(d, b), a)) << "case " << c;
    ASSERT_EQ(merged(abd, a), abd) << "case " << c;
    // Equal values encode to equal bytes, so RocksDB stores identical records.
    ASSERT_EQ(encoded(abd), encoded(merged(d, merged(a, b)))) << "case " << c;
  }
}

TEST(prevalence_value, encode_then_decode_round_trips_random_values) {
  std::mt19937_64 rng(23);
  for (int c = 0; c < 600; ++c) {
    const auto v = random_value(rng);
    const auto bytes = encoded(v);
    const auto back = prevalence_value::decode(bytes);
    ASSERT_TRUE(back.has_value()) << "case " << c << ": " << to_string(back.error());
    ASSERT_EQ(*back, v) << "case " << c;
    ASSERT_EQ(encoded(*back), bytes) << "case " << c;
  }
}

TEST(prevalence_value, extreme_times_round_trip_with_and_without_a_first_seen) {
  const std::vector<std::int64_t> times = {k_min, k_min + 1, -1, 0, 1, k_now, k_max - 1, k_max};
  for (const auto first : times) {
    for (const auto last : times) {
      for (const auto not_before : times) {
        prevalence_value v;
        v.first_seen_ms = first;
        v.last_seen_ms = last;
        v.min_not_before_ms = not_before;
        const auto back = prevalence_value::decode(encoded(v));
        ASSERT_TRUE(back.has_value());
        ASSERT_EQ(*back, v) << first << " " << last << " " << not_before;
      }
    }
  }
}

TEST(prevalence_value, typical_records_are_small) {
  prevalence_value hash;  // a hash seen once on one host
  hash.first_seen_ms = k_now;
  hash.last_seen_ms = k_now + 5 * 60'000;
  hash.hosts.insert(item_hash(1));
  const auto hash_bytes = encoded(hash).size();
  EXPECT_LE(hash_bytes, 24U);

  prevalence_value signer;  // a signer on 10 hosts, 3 files, 1 issuer
  signer.first_seen_ms = k_now - 20 * k_day;
  signer.last_seen_ms = k_now;
  for (std::uint64_t i = 0; i < 10; ++i) signer.hosts.insert(item_hash(i));
  for (std::uint64_t i = 0; i < 3; ++i) signer.items.insert(item_hash(100 + i));
  signer.issuers.insert(item_hash(200));
  signer.min_not_before_ms = k_now - 400 * k_day;
  const auto signer_bytes = encoded(signer).size();
  EXPECT_LE(signer_bytes, 160U);
  std::printf("[ sizes    ] empty %zu, hash with 1 host %zu, signer (10 hosts, 3 files, 1 issuer) %zu B\n",
              encoded(prevalence_value{}).size(), hash_bytes, signer_bytes);
}

TEST(prevalence_value, every_truncation_of_a_valid_encoding_is_reported_as_truncated) {
  std::mt19937_64 rng(24);
  for (int c = 0; c < 60; ++c) {
    const auto bytes = encoded(random_value(rng));
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      const auto r = prevalence_value::decode(std::string_view(bytes.data(), n));
      ASSERT_FALSE(r.has_value()) << "prefix " << n << " of " << bytes.size();
      ASSERT_EQ(r.error(), decode_error::truncated) << "prefix " << n << " of " << bytes.size();
    }
  }
}

TEST(prevalence_value, bytes_after_the_record_are_rejected) {
  prevalence_value v;
  v.first_seen_ms = k_now;
  v.hosts.insert(item_hash(3));
  auto bytes = encoded(v);
  bytes.push_back('\0');
  const auto r = prevalence_value::decode(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), decode_error::trailing_bytes);
}

TEST(prevalence_value, decode_rejects_an_unknown_version) {
  for (const char version : {'\x00', '\x03', '\x10', '\xff'}) {
    const auto r = prevalence_value::decode(std::string{version, '\0'});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), decode_error::bad_version);
  }
}

// Every presence bit names a part now; a part announced but absent is truncation.
TEST(prevalence_value, decode_reports_an_announced_part_that_is_absent_as_truncated) {
  for (const char bits : {'\x80', '\x40', '\xc1'}) {
    const auto r = prevalence_value::decode(std::string{'\x01', bits});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), decode_error::truncated);
  }
  const auto zero_rows = prevalence_value::decode(std::string("\x01\x80\x00", 3));
  ASSERT_FALSE(zero_rows.has_value());
  EXPECT_EQ(zero_rows.error(), decode_error::bad_value);
}

TEST(prevalence_value, the_newest_certificate_wins_and_ties_are_broken_by_bytes) {
  prevalence_value older, newer, same_time;
  older.certificate_time_ms = k_now;
  older.certificate = "revoked";
  newer.certificate_time_ms = k_now + k_day;
  newer.certificate = "valid";
  same_time.certificate_time_ms = k_now + k_day;
  same_time.certificate = "zzz";
  EXPECT_EQ(merged(older, newer).certificate, "valid");
  EXPECT_EQ(merged(newer, older).certificate, "valid");
  EXPECT_EQ(merged(newer, same_time).certificate, "zzz");
  EXPECT_EQ(merged(same_time, newer).certificate, "zzz");
  EXPECT_EQ(merged(older, prevalence_value{}).certificate, "revoked") << "no certificate is the identity";
  const auto back = prevalence_value::decode(encoded(newer));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, newer);
}

TEST(prevalence_value, waiting_rows_are_a_bounded_union_that_a_certificate_clears) {
  prevalence_value a, b, certificate;
  a.pending = {"row-1", "row-3"};
  b.pending = {"row-2", "row-3"};
  EXPECT_EQ(merged(a, b).pending, (std::vector<std::string>{"row-1", "row-2", "row-3"}));
  prevalence_value many;
  for (int i = 0; i < 12; ++i) {
    prevalence_value one;
    one.pending.push_back("row-" + std::to_string(10 + i));
    many = merged(many, one);
  }
  EXPECT_EQ(many.pending.size(), prevalence_value::k_max_pending);
  EXPECT_EQ(many.pending.front(), "row-10");
  certificate.certificate_time_ms = k_now;
  certificate.certificate = "signer";
  EXPECT_TRUE(merged(a, certificate).pending.empty());
  EXPECT_TRUE(merged(certificate, a).pending.empty()) << "in either order";
  const auto back = prevalence_value::decode(encoded(many));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, many);
}

TEST(prevalence_value, released_rows_follow_the_newest_offset_and_older_records_keep_version_1) {
  prevalence_value plain;
  plain.first_seen_ms = k_now;
  EXPECT_EQ(encoded(plain).front(), '\x01') << "a record without released rows is written as before";
  prevalence_value first, again, later;
  first.released_at = 7;
  first.released = {"row-1"};
  again.released_at = 7;
  again.released = {"row-2"};
  later.released_at = 9;  // a later row that found offset 7 committed
  EXPECT_EQ(merged(first, again).released, (std::vector<std::string>{"row-1", "row-2"})) << "a tie unites";
  EXPECT_TRUE(merged(first, later).released.empty());
  EXPECT_TRUE(merged(later, first).released.empty()) << "in either order";
  EXPECT_EQ(merged(later, first).released_at, 9);
  EXPECT_EQ(merged(first, plain).released, first.released) << "no released part is the identity";
  const std::string bytes = encoded(merged(first, plain));
  EXPECT_EQ(bytes.front(), '\x02');
  const auto back = prevalence_value::decode(bytes);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, merged(first, plain));
  std::string no_parts = bytes.substr(0, 2) + std::string(1, '\0');  // version 2 without a released part
  no_parts[1] = '\0';
  EXPECT_EQ(prevalence_value::decode(no_parts).error(), decode_error::bad_value);
}

TEST(prevalence_value, a_certificate_of_zero_or_more_than_64_kib_is_rejected) {
  prevalence_value v;
  v.certificate_time_ms = k_now;
  v.certificate = "x";
  std::string bytes = encoded(v);  // version, bits, time, size 1, 'x'
  bytes[bytes.size() - 2] = '\0';
  bytes.pop_back();
  auto r = prevalence_value::decode(bytes);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), decode_error::bad_value);
  v.certificate.assign((64U << 10) + 1, 'x');
  r = prevalence_value::decode(encoded(v));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), decode_error::bad_value);
}

TEST(prevalence_value, a_bad_set_inside_the_record_is_reported_with_its_reason) {
  // presence: hosts only; the set claims kind 0x17
  auto r = prevalence_value::decode(std::string("\x01\x04\x17\x00", 4));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), decode_error::bad_kind);
  // an exact set above the cap
  std::string above_cap = "\x01\x04\x10\x41";
  above_cap.append(65, '\x01');
  r = prevalence_value::decode(above_cap);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), decode_error::bad_value);
}

TEST(prevalence_value, random_corruption_never_crashes_and_what_decodes_re_encodes_stably) {
  std::mt19937_64 rng(25);
  int rejected = 0;
  for (int c = 0; c < 3000; ++c) {
    auto bytes = encoded(random_value(rng));
    const int flips = 1 + static_cast<int>(rng() % 3);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<char>(1U << (rng() % 8));
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    if (rng() % 8 == 0) bytes.push_back(static_cast<char>(rng()));
    const auto r = prevalence_value::decode(bytes);
    if (!r) {
      ++rejected;
      continue;
    }
    (void)r->view();
    const auto back = prevalence_value::decode(encoded(*r));
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(*back, *r);
  }
  EXPECT_GT(rejected, 0);
}

TEST(prevalence_value, random_garbage_never_crashes) {
  std::mt19937_64 rng(26);
  for (int c = 0; c < 3000; ++c) {
    std::string bytes(rng() % 80, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    if (bytes.size() >= 2 && rng() % 2 == 0) {
      bytes[0] = '\x01';
      bytes[1] = static_cast<char>(rng() % 64);
    }
    const auto r = prevalence_value::decode(bytes);
    if (r) (void)r->view();
  }
}

}  // namespace
}  // namespace prevalence_value_test
}  // namespace countersign::state
