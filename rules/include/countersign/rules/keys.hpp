#pragma once
// The identities prevalence is kept under (DETECTIONS.md section 2). Detectors and the
// state updates must agree on them, so they are built here, once.

#include <countersign/rules/observation.hpp>

#include <string>
#include <string_view>

namespace countersign::rules {

// A signer: its certificate thumbprint, else issuer + serial, else subject ("t:", "s:",
// "n:" prefixes keep the three kinds apart). Empty when the signature names nothing.
[[nodiscard]] std::string signer_key(const code_signature& sig);

// An issuer: the issuer DN (or CN) in lower case. Empty when unknown.
[[nodiscard]] std::string issuer_key(const code_signature& sig);

// A file: its SHA-256, else "sha1:" + SHA-1. Empty when the event has no hash.
[[nodiscard]] std::string file_key(const observation& obs);

// A PE company name reduced to its distinctive tokens: lower case, punctuation dropped,
// legal-form words (Inc, Ltd, LLC, Corp, Corporation, Co, GmbH, ...) removed, tokens
// joined by single spaces. "Microsoft Corporation" and "MICROSOFT CORP." give "microsoft".
[[nodiscard]] std::string normalize_company(std::string_view company);

}  // namespace countersign::rules
