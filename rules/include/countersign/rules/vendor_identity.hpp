#pragma once
// Vendor identity families (rules/content/protected_vendors.yaml): which signer names a
// protected vendor really signs with, under which CAs, and how a signer name relates to
// a vendor: one of its own, its name from a stranger's CA, its name embedded in someone
// else's, or a look-alike of it (confusable skeleton, rules/skeleton.hpp).
// docs/detection-quality.md writes the rules down.

#include <countersign/rules/detectors.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {

// A name in the two forms it is compared in: normalize_company of the text as written,
// and of its confusable skeleton (which differs from the plain form for most names:
// TR39 writes "m" as "rn"). A look-alike is a name whose skeleton matches a vendor's
// while its plain form does not.
struct name_forms {
  std::string plain;
  std::string skeleton;
  explicit name_forms(std::string_view name);
};

// name_forms of `name` through a small cache of this thread's: almost every event carries
// one of a few signer and company names again, and their skeletons are costly (a
// profile of replay put company names at 5% of the CPU).
[[nodiscard]] name_forms cached_name_forms(std::string_view name);

// How a signer relates to one protected vendor.
enum class vendor_relation : std::uint8_t {
  none,         // nothing of the vendor's in the name
  member,       // one of the vendor's own signing identities
  stranger_ca,  // the vendor's name, but the certificate comes from a CA the vendor does not use
  embedded,     // the vendor's token inside a name that is not one of the vendor's
  lookalike,    // only its skeleton is the vendor's (homoglyphs, digits for letters, hidden characters)
};
[[nodiscard]] std::string_view to_string(vendor_relation r) noexcept;

// `signer`: the forms of the signer's organization (or CN); `issuer_cn`: empty when the
// source does not report the issuer (Sysmon), which then cannot rule a name out.
[[nodiscard]] vendor_relation relate_signer(const subject_mismatch_config::protected_vendor& v, const name_forms& signer,
                                            std::string_view issuer_cn);

// Whether a PE company (its forms) names the vendor: its token, plainly or as a look-alike,
// or one of the family's organization names.
[[nodiscard]] bool company_names(const subject_mismatch_config::protected_vendor& v, const name_forms& company);

// Reads protected_vendors.yaml. Errors are "FILE:LINE: KEY: message" and leave the
// faulty entry out.
struct protected_vendor_list {
  std::vector<subject_mismatch_config::protected_vendor> vendors;
  std::vector<std::string> errors;
};
[[nodiscard]] protected_vendor_list load_protected_vendors(std::string_view yaml, std::string_view file);

// One vendor built from its lists (normalized and skeleton forms computed once).
[[nodiscard]] subject_mismatch_config::protected_vendor make_protected_vendor(
    std::string name, std::string_view token, const std::vector<std::string>& signers,
    const std::vector<std::string>& issuers, const std::vector<std::string>& binaries, bool signs_for_others);

}  // namespace countersign::rules
