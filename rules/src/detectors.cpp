#include <countersign/rules/detectors.hpp>
#include <countersign/rules/ascii.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/time.hpp>

#include <fmt/format.h>

#include <algorithm>

#include "detector_support.hpp"

namespace countersign::rules {
namespace {

using detail::add_signature_evidence;
using detail::image_name;
using detail::signer_name;

constexpr std::string_view k_title_revoked = "Execution of code with a revoked or broken signature";
constexpr std::string_view k_title_untrusted = "Execution of code signed by an untrusted certificate";
constexpr std::string_view k_title_recent = "Execution of code signed with a freshly issued certificate";

}  // namespace

std::size_t name_set::ci_hash::operator()(std::string_view s) const noexcept {
  std::size_t h = 14695981039346656037ULL;  // FNV-1a over lowercased bytes
  for (unsigned char c : s) {
    h ^= static_cast<unsigned char>(detail::ascii_lower(static_cast<char>(c)));
    h *= 1099511628211ULL;
  }
  return h;
}

bool name_set::ci_equal::operator()(std::string_view a, std::string_view b) const noexcept {
  return std::ranges::equal(a, b, [](char x, char y) { return detail::ascii_lower(x) == detail::ascii_lower(y); });
}

name_set::name_set(const std::vector<std::string>& names) : names_(names.begin(), names.end()) {}

bool name_set::contains(std::string_view name) const {
  if (names_.empty() || name.empty()) return false;
  return names_.find(name) != names_.end();
}

void detector_set::evaluate(const observation& obs, const state::prevalence_view* prevalence,
                            std::vector<hit>& hits) const {
  const std::size_t first = hits.size();
  // Code Integrity verdicts are judged whether or not the file carried a signature.
  if (config_.codeintegrity.enabled && obs.kind == event_kind::code_integrity) check_codeintegrity(obs, hits);
  if (obs.signature.is_present()) {
    if (config_.revoked.enabled) check_revoked(obs, hits);
    if (config_.untrusted.enabled) check_untrusted(obs, hits);
    if (config_.expired_signing.enabled) check_expired_signing(obs, prevalence, hits);
    if (config_.recently_issued.enabled) check_recently_issued(obs, prevalence, hits);
    if (config_.issuer_unusual.enabled) check_issuer_unusual(obs, prevalence, hits);
    if (config_.subject_mismatch.enabled) check_subject_mismatch(obs, prevalence, hits);
    if (config_.abused.enabled) check_abused(obs, prevalence, hits);
    if (config_.first_seen.enabled) check_first_seen(obs, prevalence, hits);
  }
  if (hits.size() > first) apply_exclusions(obs, hits, first);
  // Last, after exclusions: its severity depends on whether anything else still hits.
  if (config_.rare_user_path.enabled && obs.signature.is_present()) {
    const std::size_t before = hits.size();
    check_rare_user_path(obs, prevalence, hits, first);
    if (hits.size() > before) apply_exclusions(obs, hits, before);
  }
  if (hits.size() > first) apply_mass_revocations(obs, hits, first);
}

bool detector_set::is_internal_pki(const code_signature& sig) const {
  const auto& cfg = config_.untrusted;
  return cfg.internal_pki_thumbprints.contains(sig.thumbprint.view()) ||
         cfg.internal_pki_issuers.contains(sig.issuer.view()) ||
         cfg.internal_pki_issuers.contains(sig.issuer_cn.view());
}

void detector_set::check_revoked(const observation& obs, std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  if (sig.status != signature_status::revoked && sig.status != signature_status::bad_digest &&
      sig.status != signature_status::chain_error) {
    return;
  }
  hit h{detector_id::signature_revoked, k_title_revoked, config_.revoked.level, {}, {}, {}};
  h.reason = fmt::format("{} ran with signature status {} (raw \"{}\") from signer \"{}\".",
                         image_name(obs), to_string(sig.status), sig.status_raw.view(),
                         signer_name(sig));
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::check_untrusted(const observation& obs, std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.untrusted;
  // Statuses with a detector of their own (revoked, broken, expired) or with nothing to
  // judge (unsigned, not evaluated) are left to it, so one fact does not count twice toward severity.
  bool fires = sig.status == signature_status::untrusted_root;
  if (!fires && sig.trusted == false) {
    switch (sig.status) {
      case signature_status::revoked:
      case signature_status::bad_digest:
      case signature_status::chain_error:
      case signature_status::expired:
      case signature_status::not_signed:
      case signature_status::unknown:  // the endpoint could not evaluate: nothing to judge
        break;
      default:
        fires = true;
    }
  }
  if (!fires || is_internal_pki(sig)) return;
  hit h{detector_id::signature_untrusted, k_title_untrusted, cfg.level, {}, {}, {}};
  h.reason = fmt::format(
      "{} ran signed by \"{}\", whose certificate does not chain to a trusted root (status {}, "
      "trusted={}); issuer \"{}\" is not on the internal-PKI list.",
      image_name(obs), signer_name(sig),
      sig.status == signature_status::missing ? std::string_view("not reported") : to_string(sig.status),
      sig.trusted.has_value() ? (*sig.trusted ? "true" : "false") : "unknown",
      sig.issuer.has_value() ? sig.issuer.view() : std::string_view("unknown"));
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::check_recently_issued(const observation& obs,
                                         const state::prevalence_view* prevalence,
                                         std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.recently_issued;
  if (!sig.not_before_ms) return;
  if (cfg.trusted_publishers.contains(sig.subject_cn.view()) ||
      cfg.trusted_publishers.contains(sig.subject_o.view()) ||
      cfg.trusted_publishers.contains(sig.subject.view())) {
    return;
  }
  const std::int64_t not_before = *sig.not_before_ms;
  std::optional<std::int64_t> validity_ms;
  if (sig.not_after_ms) validity_ms = *sig.not_after_ms - not_before;
  std::optional<std::int64_t> age_ms;
  if (obs.event_time_ms) age_ms = *obs.event_time_ms - not_before;

  const bool short_validity =
      validity_ms && *validity_ms >= 0 && *validity_ms < cfg.max_validity_days * k_ms_per_day;
  const bool fresh = age_ms && *age_ms >= 0 && *age_ms <= cfg.issued_within_days * k_ms_per_day;
  if (!short_validity && !fresh) return;

  std::optional<state::prevalence_record> signer;
  if (prevalence) {
    signer = prevalence->signer(signer_key(sig));
    if (signer && signer->hosts > cfg.max_signer_hosts) return;
  }

  hit h{detector_id::certificate_recently_issued, k_title_recent, cfg.level, {}, {}, {}};
  const double age_days = age_ms ? static_cast<double>(*age_ms) / k_ms_per_day : 0.0;
  const double validity_days = validity_ms ? static_cast<double>(*validity_ms) / k_ms_per_day : 0.0;
  if (fresh && short_validity) {
    h.reason = fmt::format(
        "{} ran {:.1f} days after its signer \"{}\" got a certificate valid for only {:.1f} days.",
        image_name(obs), age_days, signer_name(sig), validity_days);
  } else if (fresh) {
    h.reason = fmt::format("{} ran {:.1f} days after the certificate of \"{}\" was issued (limit {} days).",
                           image_name(obs), age_days, signer_name(sig), cfg.issued_within_days);
  } else {
    h.reason = fmt::format("{} is signed by \"{}\" with a certificate valid for only {:.1f} days (limit {} days).",
                           image_name(obs), signer_name(sig), validity_days, cfg.max_validity_days);
  }
  h.evidence.push_back({"not_before", format_rfc3339_ms(not_before)});
  if (sig.not_after_ms) h.evidence.push_back({"not_after", format_rfc3339_ms(*sig.not_after_ms)});
  if (age_ms) h.evidence.push_back({"days_since_not_before", fmt::format("{:.1f}", age_days)});
  if (validity_ms) h.evidence.push_back({"validity_days", fmt::format("{:.1f}", validity_days)});
  if (signer) h.evidence.push_back({"signer_hosts", fmt::format("{}", signer->hosts)});
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

}  // namespace countersign::rules
