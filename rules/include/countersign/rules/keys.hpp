#pragma once
// The identities prevalence is kept under (docs/detections.md section 2). Detectors and the
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
// Rows of a schema whose certificate facts arrive in rows of their own, keyed by SHA-1
// (Defender: DeviceFileCertificateInfo beside DeviceProcessEvents), key by "sha1:" +
// SHA-1 first, so a file's certificate row and its execution rows share a key and a
// partition, and the hash stage can join them.
[[nodiscard]] std::string file_key(const observation& obs);

// True for the schemas above (their rows key by SHA-1 and join certificate rows).
[[nodiscard]] bool joins_certificates_by_sha1(const observation& obs) noexcept;

// A certificate row of such a schema (Defender DeviceFileCertificateInfo).
[[nodiscard]] bool is_certificate_row(const observation& obs) noexcept;

// An execution row that waits for its file's certificate row: a process start, image or
// driver load of such a schema, with a SHA-1 and no signer facts of its own.
[[nodiscard]] bool awaits_certificate(const observation& obs) noexcept;

// A PE company name reduced to its distinctive tokens: lower case, punctuation dropped,
// legal-form words (Inc, Ltd, LLC, Corp, Corporation, Co, GmbH, ...) removed, tokens
// joined by single spaces. "Microsoft Corporation" and "MICROSOFT CORP." give "microsoft".
[[nodiscard]] std::string normalize_company(std::string_view company);

}  // namespace countersign::rules
