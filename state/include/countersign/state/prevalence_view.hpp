#pragma once
// The narrow, read-only interface through which detectors see fleet prevalence
// (docs/design.md section 1). Without state (or while learning) detectors receive a null
// view and use only their stateless conditions.

#include <cstdint>
#include <optional>
#include <string_view>

namespace countersign::state {

struct prevalence_record {
  std::int64_t first_seen_ms = 0;
  std::int64_t last_seen_ms = 0;
  std::uint64_t hosts = 0;   // distinct hosts (exact or estimated)
  std::uint64_t hashes = 0;  // signers: distinct hashes; issuers: distinct signers
};

class prevalence_view {
 public:
  virtual ~prevalence_view() = default;
  [[nodiscard]] virtual std::optional<prevalence_record> hash(std::string_view sha256) const = 0;
  [[nodiscard]] virtual std::optional<prevalence_record> signer(std::string_view signer_key) const = 0;
  [[nodiscard]] virtual std::optional<prevalence_record> issuer(std::string_view issuer) const = 0;
  // Event time from which the fleet has been watched (the store's first event);
  // nullopt when unknown. "First seen after X" only means "new" if this is before X.
  [[nodiscard]] virtual std::optional<std::int64_t> watching_since() const { return std::nullopt; }
  // A (normalized PE company, signer) pair, keyed company + '\0' + signer key.
  [[nodiscard]] virtual std::optional<prevalence_record> company_signer(std::string_view key) const = 0;
};

}  // namespace countersign::state
