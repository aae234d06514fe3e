#pragma once
// Built-in T1588.003 detectors (docs/detections.md section 3).
//
// `detector_set` is immutable after construction and safe to share between threads;
// `evaluate` appends hits to a caller-owned vector so the hot path reuses storage.

#include <countersign/rules/observation.hpp>
#include <countersign/rules/path_glob.hpp>
#include <countersign/rules/severity.hpp>
#include <countersign/state/prevalence_view.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace countersign::rules {

namespace detector_id {
inline constexpr std::string_view signature_revoked = "cs.signature.revoked";
inline constexpr std::string_view signature_untrusted = "cs.signature.untrusted";
inline constexpr std::string_view certificate_expired_signing = "cs.certificate.expired_signing";
inline constexpr std::string_view certificate_recently_issued = "cs.certificate.recently_issued";
inline constexpr std::string_view issuer_unusual = "cs.issuer.unusual";
inline constexpr std::string_view metadata_subject_mismatch = "cs.metadata.subject_mismatch";
inline constexpr std::string_view codeintegrity_enforcement = "cs.codeintegrity.enforcement";
inline constexpr std::string_view prevalence_rare_signed_user_path = "cs.prevalence.rare_signed_user_path";
inline constexpr std::string_view intel_abused_certificate = "cs.intel.abused_certificate";
inline constexpr std::string_view signer_first_seen = "cs.signer.first_seen";
}  // namespace detector_id

// Every detector id, in the order of docs/detections.md section 3.
inline constexpr std::array<std::string_view, 10> k_detector_ids = {
    detector_id::signature_revoked,        detector_id::signature_untrusted,
    detector_id::certificate_expired_signing, detector_id::certificate_recently_issued,
    detector_id::issuer_unusual,           detector_id::metadata_subject_mismatch,
    detector_id::codeintegrity_enforcement, detector_id::prevalence_rare_signed_user_path,
    detector_id::intel_abused_certificate, detector_id::signer_first_seen};

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
  // Non-empty: alerts group by this key instead of (host, file), e.g. one alert per
  // signer during a CA mass revocation.
  std::string group_key;
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

struct expired_signing_config {
  bool enabled = true;
  severity level = severity::medium;
  severity rare_level = severity::high;  // when the file is on at most rare_hosts hosts
  std::int64_t grace_days = 7;           // first seen this long after not-after is new code
  // A signing time before not-after, on a file the fleet first sees this much later,
  // is contradicted by the fleet (a forged or back-dated signing time).
  std::int64_t contradiction_days = 365;
  std::uint64_t rare_hosts = 2;
  // A fleet not watched since before the expiry cannot call a file new code, but a rare
  // file (expired without a timestamp, or a signing time far before its first sighting)
  // first seen more than new_file_hours after the store began watching is new to the
  // fleet: new_file_level.
  std::int64_t new_file_hours = 24;
  severity new_file_level = severity::low;
};

// Issuer names matched by case-insensitive prefix of the issuer CN (or of its DN's CN).
class prefix_set {
 public:
  prefix_set() = default;
  explicit prefix_set(const std::vector<std::string>& prefixes);
  [[nodiscard]] bool matches(std::string_view name) const;
  [[nodiscard]] bool empty() const noexcept { return prefixes_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return prefixes_.size(); }

 private:
  std::vector<std::string> prefixes_;  // lowercase
};

struct issuer_unusual_config {
  bool enabled = true;
  severity level = severity::low;
  severity escalated_level = severity::medium;  // untrusted, and the signer has few files
  std::uint64_t max_issuer_hosts = 2;
  std::int64_t new_within_days = 30;            // issuer first seen this recently is new
  std::uint64_t max_signer_hashes = 2;
  prefix_set known_cas;                         // rules/content/known_code_signing_cas.yaml
};

struct subject_mismatch_config {
  bool enabled = true;
  // A protected vendor impersonated: a look-alike of its name, its name from a stranger's
  // CA, its name inside a stranger's on one of its binaries, or a rare signer on a file
  // that claims it (docs/detection-quality.md, severity policy).
  severity protected_level = severity::high;
  // A file claiming a protected vendor, signed by an established signer outside the
  // vendor's family, in a pair the fleet has not learned (a stolen certificate looks so).
  severity established_level = severity::medium;
  severity level = severity::low;             // a new (company, signer) pair on a rare file
  severity bundled_level = severity::info;    // a bundled component whose signer is rare
  std::uint64_t max_hash_hosts = 2;
  std::uint64_t max_pair_hosts = 1;
  // A (company, signer) pair on this many hosts is learned: the fleet's own evidence
  // that the signer ships this company's code (resellers, bundles, families we do not list).
  std::uint64_t learned_pair_hosts = 20;
  // A signer on more hosts than this is established (not rare).
  std::uint64_t rare_signer_hosts = 3;
  // Vendors whose name or binaries malware borrows: a file that claims one (by PE
  // company or original file name) must be signed by it (vendor_identity.hpp).
  struct protected_vendor {
    std::string name;                       // as the content names it ("Microsoft")
    std::string token;                      // distinctive token, normalize_company form
    std::string token_skeleton;             // the same, confusable skeleton form
    std::vector<std::string> signers;       // the family's signer names, normalize_company form
    std::vector<std::string> signer_skeletons;
    std::vector<std::string> signer_names;  // as written in the content, for `rules check`
    prefix_set issuers;                     // CN prefixes of the vendor's CAs (empty: unchecked)
    std::vector<std::string> issuer_names;
    name_set binaries;                      // original file names of its binaries
    bool signs_for_others = false;          // signs other vendors' code (WHQL, catalogs)
  };
  std::vector<protected_vendor> protected_vendors;  // rules/content/protected_vendors.yaml
  path_glob_set system_folders;               // where binaries without version info are common
  // Folders that hold one product (its own folder under Program Files, a per-user
  // install): a library loaded from the loading program's own product folder is
  // judged as a bundled component.
  path_glob_set product_folders;
  path_glob_set transient_folders;  // never a product folder (Temp, Downloads, Desktop)
};

struct codeintegrity_config {
  bool enabled = true;
  severity block_level = severity::high;     // blocks and revoked loads
  severity load_level = severity::medium;    // unsigned or invalid images loaded
  severity audit_level = severity::low;      // audit mode: would have been blocked
  std::vector<std::int64_t> escalating_errors = {4, 5, 7, 19, 27};  // 3089 VerificationError
};

struct rare_user_path_config {
  bool enabled = true;
  severity level = severity::low;
  severity with_other_level = severity::medium;  // when another detector hit as well
  std::uint64_t max_hash_hosts = 2;
  std::uint64_t max_signer_hosts = 3;
  path_glob_set user_writable;                   // rules/content/user_writable_paths.yaml
};

struct abused_config {
  bool enabled = true;
  severity level = severity::high;
  severity genuine_old_level = severity::medium;  // first seen before the leak, vendor's name
};

struct first_seen_config {
  bool enabled = false;  // a building block: noisy on its own
  severity level = severity::info;
};

// Drops hits of `detectors` (empty: all but revoked and abused-certificate) for
// observations matching every condition given (docs/detections.md section 4).
struct exclusion_rule {
  std::string name;
  std::vector<std::string> detectors;
  name_set thumbprints;  // signer certificate SHA-256
  name_set signers;      // subject CN, O or DN
  name_set issuers;      // issuer DN or CN
  path_glob_set paths;
  path_glob_set hosts;   // host id or name
};

// A CA mass revocation: until `until_ms`, revoked-signature hits of this signer are
// one alert per signer and window, not one per host.
struct mass_revocation {
  std::string signer;  // thumbprint, or subject CN/O/DN
  std::int64_t until_ms = 0;
};

class cert_intel;

struct detector_config {
  revoked_config revoked;
  untrusted_config untrusted;
  expired_signing_config expired_signing;
  recently_issued_config recently_issued;
  issuer_unusual_config issuer_unusual;
  subject_mismatch_config subject_mismatch;
  codeintegrity_config codeintegrity;
  rare_user_path_config rare_user_path;
  abused_config abused;
  first_seen_config first_seen;
  std::vector<exclusion_rule> exclusions;
  std::vector<mass_revocation> mass_revocations;
};


class detector_set {
 public:
  explicit detector_set(detector_config config) : config_(std::move(config)) {}

  // Appends every hit for `obs` to `hits`. `prevalence` may be null when no state
  // is attached (or while learning); detectors that need prevalence then use only
  // their stateless part, or stay silent when they have none.
  void evaluate(const observation& obs, const state::prevalence_view* prevalence,
                std::vector<hit>& hits) const;

  // The abused-certificate lists in use (swapped when a list file changes); may be null.
  void set_intel(std::shared_ptr<const cert_intel> intel) { intel_ = std::move(intel); }
  [[nodiscard]] const detector_config& config() const noexcept { return config_; }

 private:
  void check_revoked(const observation& obs, std::vector<hit>& hits) const;
  void check_untrusted(const observation& obs, std::vector<hit>& hits) const;
  void check_expired_signing(const observation& obs, const state::prevalence_view* prevalence,
                             std::vector<hit>& hits) const;
  void check_recently_issued(const observation& obs, const state::prevalence_view* prevalence,
                             std::vector<hit>& hits) const;
  void check_issuer_unusual(const observation& obs, const state::prevalence_view* prevalence,
                            std::vector<hit>& hits) const;
  void check_subject_mismatch(const observation& obs, const state::prevalence_view* prevalence,
                              std::vector<hit>& hits) const;
  void check_codeintegrity(const observation& obs, std::vector<hit>& hits) const;
  void check_rare_user_path(const observation& obs, const state::prevalence_view* prevalence,
                            std::vector<hit>& hits, std::size_t first) const;
  void check_abused(const observation& obs, const state::prevalence_view* prevalence,
                    std::vector<hit>& hits) const;
  void check_first_seen(const observation& obs, const state::prevalence_view* prevalence,
                        std::vector<hit>& hits) const;
  void apply_exclusions(const observation& obs, std::vector<hit>& hits, std::size_t first) const;
  void apply_mass_revocations(const observation& obs, std::vector<hit>& hits, std::size_t first) const;
  [[nodiscard]] bool is_internal_pki(const code_signature& sig) const;
  [[nodiscard]] bool is_bundled_component(const observation& obs) const;
  [[nodiscard]] bool new_to_the_fleet(std::int64_t first_seen_ms, std::optional<std::int64_t> watching_since) const;
  void check_expired_status_without_dates(const observation& obs, const state::prevalence_view* prevalence,
                                          std::vector<hit>& hits) const;

  detector_config config_;
  std::shared_ptr<const cert_intel> intel_;
};

}  // namespace countersign::rules
