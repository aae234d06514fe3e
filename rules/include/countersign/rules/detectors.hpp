#pragma once
// Built-in T1588.003 detectors (DETECTIONS.md section 3).
//
// `detector_set` is immutable after construction and safe to share between threads;
// `evaluate` appends hits to a caller-owned vector so the hot path reuses storage.

#include <countersign/rules/observation.hpp>
#include <countersign/rules/severity.hpp>
#include <countersign/state/prevalence_view.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace countersign::rules {

namespace detector_id {
inline constexpr std::string_view signature_revoked = "cs.signature.revoked";
inline constexpr std::string_view signature_untrusted = "cs.signature.untrusted";
inline constexpr std::string_view certificate_recently_issued = "cs.certificate.recently_issued";
}  // namespace detector_id

struct evidence_item {
  std::string key;
  std::string value;
};

struct hit {
  std::string_view id;     // one of detector_id::*, static storage
  std::string_view title;  // static storage
  severity level = severity::info;
  std::string reason;      // one sentence with the numbers
  std::vector<evidence_item> evidence;
};

// A case-insensitive set of names (subjects, issuers) or lowercase hex values.
class name_set {
 public:
  name_set() = default;
  explicit name_set(const std::vector<std::string>& names);
  [[nodiscard]] bool contains(std::string_view name) const;
  [[nodiscard]] bool empty() const noexcept { return names_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }

 private:
  // ASCII case-insensitive hashing and comparison, transparent so lookups by
  // string_view allocate nothing.
  struct ci_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct ci_equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept;
  };
  std::unordered_set<std::string, ci_hash, ci_equal> names_;
};

struct revoked_config {
  bool enabled = true;
  severity level = severity::high;
};

struct untrusted_config {
  bool enabled = true;
  severity level = severity::medium;
  name_set internal_pki_issuers;      // issuer DN or CN
  name_set internal_pki_thumbprints;  // lowercase hex
};

struct recently_issued_config {
  bool enabled = true;
  severity level = severity::medium;
  std::int64_t max_validity_days = 8;   // validity shorter than this fires
  std::int64_t issued_within_days = 14; // execution within this many days of not-before fires
  std::uint64_t max_signer_hosts = 5;   // only when prevalence is known
  name_set trusted_publishers;          // signer subject CN or O
};

struct detector_config {
  revoked_config revoked;
  untrusted_config untrusted;
  recently_issued_config recently_issued;
};

// The default trusted-publisher list of DETECTIONS.md section 3.
[[nodiscard]] std::vector<std::string> default_trusted_publishers();

class detector_set {
 public:
  explicit detector_set(detector_config config) : config_(std::move(config)) {}

  // Appends every hit for `obs` to `hits`. `prevalence` may be null when no state
  // is attached; detectors that need prevalence then use only their stateless part.
  void evaluate(const observation& obs, const state::prevalence_view* prevalence,
                std::vector<hit>& hits) const;

  [[nodiscard]] const detector_config& config() const noexcept { return config_; }

 private:
  void check_revoked(const observation& obs, std::vector<hit>& hits) const;
  void check_untrusted(const observation& obs, std::vector<hit>& hits) const;
  void check_recently_issued(const observation& obs, const state::prevalence_view* prevalence,
                             std::vector<hit>& hits) const;

  detector_config config_;
};

}  // namespace countersign::rules
