#pragma once
// Wording and evidence shared by the detector implementations (not a public header).

#include <countersign/rules/detectors.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules::detail {

// The signer as an analyst would name it: subject CN, else organization, else raw subject.
inline std::string_view signer_name(const code_signature& sig) {
  if (sig.subject_cn.has_value()) return sig.subject_cn.view();
  if (sig.subject_o.has_value()) return sig.subject_o.view();
  if (sig.subject.has_value()) return sig.subject.view();
  return "an unknown signer";
}

inline std::string_view image_name(const observation& obs) {
  if (obs.image_path.has_value()) return obs.image_path.view();
  if (obs.sha256.has_value()) return obs.sha256.view();
  return "an unnamed image";
}

inline void add_signature_evidence(const code_signature& sig, std::vector<evidence_item>& ev) {
  ev.push_back({"status", std::string(to_string(sig.status))});
  if (sig.status_raw.present) ev.push_back({"status_raw", sig.status_raw.value});
  if (sig.subject.has_value()) ev.push_back({"subject", sig.subject.value});
  if (sig.issuer.has_value()) ev.push_back({"issuer", sig.issuer.value});
  if (sig.thumbprint.has_value()) ev.push_back({"thumbprint", sig.thumbprint.value});
}

}  // namespace countersign::rules::detail
