#pragma once
// One prevalence record of any store: hash, signer, issuer, or (company, signer)
// (docs/detections.md section 2). Each store uses the parts it needs; unused parts stay at
// their identity (empty set, or the min/max sentinel) and cost nothing on disk beyond a
// bit in the presence byte.
//
// Every part merges with an associative, commutative, idempotent operation (min, max,
// set union), so a record built from deltas in any order, grouping or multiplicity is
// identical to one built in a single pass. A RocksDB merge operator
// (merge_operator.hpp) applies merge() to encoded values.
//
// A value type without internal synchronisation: one thread at a time.

#include <countersign/state/distinct_set.hpp>
#include <countersign/state/errors.hpp>
#include <countersign/state/prevalence_view.hpp>

#include <cstdint>
#include <expected>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::state {

struct prevalence_value {
  std::int64_t first_seen_ms = std::numeric_limits<std::int64_t>::max();       // min
  std::int64_t last_seen_ms = std::numeric_limits<std::int64_t>::min();        // max
  distinct_set hosts;                                                          // distinct host id hashes
  distinct_set items;    // signer: distinct file hashes; issuer: distinct signers
  distinct_set issuers;  // signer: distinct issuers
  std::int64_t min_not_before_ms = std::numeric_limits<std::int64_t>::max();  // signer: earliest not-before
  // hash: the file's certificate facts from a certificate row (Defender
  // DeviceFileCertificateInfo), an encoded observation; the row with the newest time
  // wins, ties by bytes, so the merge stays commutative and idempotent.
  std::int64_t certificate_time_ms = std::numeric_limits<std::int64_t>::min();
  std::string certificate;
  // hash: execution rows (encoded observations) that came before any certificate row
  // and wait for one, sorted, at most k_max_pending (the smallest are kept). A record
  // with a certificate has none: the owner of the hash judged them when it came, in
  // the order the changelog keeps, so merging a certificate clears them.
  static constexpr std::size_t k_max_pending = 8;
  std::vector<std::string> pending;
  // hash: the rows a certificate row released, kept beside the certificate until that
  // row's message is committed, so a certificate row delivered again after a crash
  // judges them again. `released_at` is the row's offset in its observations
  // partition; the newest offset wins with its rows (a tie unites them, sorted, at
  // most k_max_pending), so a later message that finds the offset committed clears
  // the rows by writing its own offset with none.
  std::int64_t released_at = std::numeric_limits<std::int64_t>::min();
  std::vector<std::string> released;

  void merge(const prevalence_value& other);

  // Appends: a version byte, a presence byte (one bit per part that differs from its
  // identity; version 2 adds a second one for the released rows, written only when
  // they are present, so every other record keeps its version 1 bytes), then the
  // present parts in declaration order; times as zigzag varints,
  // last_seen_ms and min_not_before_ms as deltas from first_seen_ms when it is present.
  // An empty value is 2 bytes; a hash record with one host about 24.
  void encode(std::string& out) const;
  // Decodes the whole buffer; bytes after the record are an error.
  [[nodiscard]] static std::expected<prevalence_value, decode_error> decode(std::string_view in);

  // The read-only summary detectors see. Times never set read as 0, like a
  // default-constructed prevalence_record; `hashes` is the estimate of `items`.
  [[nodiscard]] prevalence_record view() const;

  friend bool operator==(const prevalence_value&, const prevalence_value&) = default;
};

}  // namespace countersign::state
