// The detectors beyond signature status (docs/detections.md section 3): certificate age and
// expiry, unusual issuers, metadata that names another vendor, Code Integrity
// enforcement, rare signed code in user-writable folders, abused-certificate lists, and
// the false-positive handling of section 4 (exclusions, CA mass revocations).

#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/detectors.hpp>
#include <countersign/rules/keys.hpp>
#include <countersign/rules/time.hpp>
#include <countersign/rules/vendor_identity.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "detector_support.hpp"

namespace countersign::rules {
namespace {

using detail::add_signature_evidence;
using detail::image_name;
using detail::signer_name;

constexpr std::string_view k_title_expired = "Execution of new code signed with an expired certificate";
constexpr std::string_view k_title_issuer = "Execution of code from an unusual certificate issuer";
constexpr std::string_view k_title_mismatch = "Signer does not match the vendor the file claims";
constexpr std::string_view k_title_ci = "Code Integrity blocked or flagged an image";
constexpr std::string_view k_title_user_path = "Rare signed code running from a user-writable folder";
constexpr std::string_view k_title_abused = "Execution of code signed with a known abused certificate";
constexpr std::string_view k_title_first_seen = "A signer never seen in the fleet before";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string day_of(std::int64_t ms) { return format_rfc3339_ms(ms).substr(0, 10); }

// Whitespace-separated tokens of a normalized name.
std::vector<std::string_view> tokens(std::string_view normalized) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < normalized.size()) {
    const std::size_t j = normalized.find(' ', i);
    const std::size_t end = j == std::string_view::npos ? normalized.size() : j;
    if (end > i) out.push_back(normalized.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

bool share_token(std::string_view a, std::string_view b) {
  const auto tb = tokens(b);
  for (const auto t : tokens(a)) {
    if (std::find(tb.begin(), tb.end(), t) != tb.end()) return true;
  }
  return false;
}

std::string_view issuer_name(const code_signature& sig) {
  return sig.issuer_cn.has_value() ? sig.issuer_cn.view() : sig.issuer.view();
}

bool is_untrusted(const code_signature& sig) {
  return sig.status == signature_status::untrusted_root || sig.trusted == false;
}

std::string_view ci_verb(ci_class c) {
  switch (c) {
    case ci_class::block:
    case ci_class::block_revoked: return "blocked";
    case ci_class::audit: return "would have blocked (audit mode)";
    default: return "let load";
  }
}

}  // namespace

prefix_set::prefix_set(const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes) {
    if (!p.empty()) prefixes_.push_back(lower(p));
  }
}

bool prefix_set::matches(std::string_view name) const {
  if (name.empty()) return false;
  for (const auto& p : prefixes_) {
    if (name.size() >= p.size() &&
        std::ranges::equal(name.substr(0, p.size()), p, [](unsigned char a, unsigned char b) {
          return std::tolower(a) == b;
        })) {
      return true;
    }
  }
  return false;
}

// New code under an expired certificate. Old binaries keep running after their
// vendor's certificate expires, so expiry alone says nothing: the file must be new
// after not-after (state), or say itself that it was signed after (signing time).
// docs/detection-quality.md writes the cases down:
//   signing time after not-after                                  fires (the file says so)
//   signing time before not-after, file first seen more than
//     contradiction_days after not-after in a fleet watched before   fires at `level`
//   no signing time: first seen after not-after + grace_days           fires
//   no not-after at all, status expired, no signing time: first seen
//     more than grace_days after the fleet started watching          fires (driver loads)
void detector_set::check_expired_signing(const observation& obs, const state::prevalence_view* prevalence,
                                         std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.expired_signing;
  if (!sig.not_after_ms) {
    check_expired_status_without_dates(obs, prevalence, hits);
    return;
  }
  const std::int64_t not_after = *sig.not_after_ms;
  const bool signed_after = sig.signing_time_ms && *sig.signing_time_ms > not_after;
  const bool signed_before = sig.signing_time_ms && !signed_after;
  // Run before the certificate expired: this sighting itself says the file is older
  // than the expiry, whatever the record holds. Most events end here, before the
  // state read this detector would otherwise cost every signed event.
  if (!signed_after && obs.event_time_ms && *obs.event_time_ms < not_after) return;
  std::optional<state::prevalence_record> file;
  if (prevalence) file = prevalence->hash(file_key(obs));
  if (signed_before && !(file && file->first_seen_ms > not_after + cfg.contradiction_days * k_ms_per_day)) return;
  bool new_code = false;
  bool new_to_fleet = false;
  const bool untimestamped = sig.status == signature_status::expired && !sig.signing_time_ms;
  std::optional<std::int64_t> since;
  if (file && file->first_seen_ms > 0) {
    if (file->first_seen_ms < not_after) return;  // deployed before expiry: never
    // "First seen after expiry" only means new code if the fleet was watched before the
    // certificate expired; otherwise every old binary would look new on day one.
    since = prevalence->watching_since();
    const bool watched = since && *since < not_after;
    new_code = watched && (file->first_seen_ms > not_after + cfg.grace_days * k_ms_per_day || untimestamped);
    // A shorter memory still tells a file that arrived after the fleet's first day from
    // one that was always there: rare and new to the fleet, it is worth a look.
    new_to_fleet = !new_code && (signed_before || untimestamped) && file->hosts <= cfg.rare_hosts &&
                   new_to_the_fleet(file->first_seen_ms, since);
  }
  if (!new_code && !signed_after && !new_to_fleet) return;
  const bool rare = file && file->hosts <= cfg.rare_hosts;
  // A signing time before not-after that the fleet contradicts is a doubt, not a proof:
  // a legacy file can arrive late. It never takes the rare level.
  severity level = signed_before ? cfg.level : (rare ? cfg.rare_level : cfg.level);
  if (!new_code && !signed_after) level = cfg.new_file_level;
  hit h{detector_id::certificate_expired_signing, k_title_expired, level, {}, {}, {}};
  if (!new_code && !signed_after) {
    h.reason = fmt::format(
        "{} is signed by \"{}\" with a certificate that expired on {}, and {}. The fleet has been watched only since {}, "
        "not since before the expiry, but the file is new to it: first seen on {}, on {} host(s).",
        image_name(obs), signer_name(sig), day_of(not_after),
        signed_before ? fmt::format("claims a signing time of {}, {:.0f} days before the file first appeared",
                                    day_of(*sig.signing_time_ms),
                                    static_cast<double>(file->first_seen_ms - *sig.signing_time_ms) / k_ms_per_day)
                      : std::string("the endpoint reports it expired without a timestamp"),
        day_of(*since), day_of(file->first_seen_ms), file->hosts);
    h.evidence.push_back({"watching_since", format_rfc3339_ms(*since)});
  } else if (signed_after) {
    h.reason = fmt::format("{} was signed by \"{}\" on {}, after its certificate expired on {}.", image_name(obs),
                           signer_name(sig), day_of(*sig.signing_time_ms), day_of(not_after));
  } else if (signed_before) {
    h.reason = fmt::format(
        "{} claims to be signed by \"{}\" on {}, before its certificate expired on {}, but the fleet, watched since "
        "before the expiry, first saw it on {}, {:.0f} days after (limit {} days); it is on {} host(s).",
        image_name(obs), signer_name(sig), day_of(*sig.signing_time_ms), day_of(not_after), day_of(file->first_seen_ms),
        static_cast<double>(file->first_seen_ms - not_after) / k_ms_per_day, cfg.contradiction_days, file->hosts);
  } else {
    h.reason = fmt::format(
        "{} was first seen in the fleet on {}, {:.0f} days after the certificate of \"{}\" expired on {}; it is on {} "
        "host(s).",
        image_name(obs), day_of(file->first_seen_ms),
        static_cast<double>(file->first_seen_ms - not_after) / k_ms_per_day, signer_name(sig), day_of(not_after),
        file->hosts);
  }
  h.evidence.push_back({"not_after", format_rfc3339_ms(not_after)});
  if (sig.signing_time_ms) h.evidence.push_back({"signing_time", format_rfc3339_ms(*sig.signing_time_ms)});
  if (file) {
    h.evidence.push_back({"file_first_seen", format_rfc3339_ms(file->first_seen_ms)});
    h.evidence.push_back({"file_hosts", fmt::format("{}", file->hosts)});
  }
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

bool detector_set::new_to_the_fleet(std::int64_t first_seen_ms, std::optional<std::int64_t> watching_since) const {
  return watching_since && first_seen_ms > *watching_since + config_.expired_signing.new_file_hours * k_ms_per_hour;
}

// The endpoint says "expired" but reports no certificate dates (Sysmon's driver and
// image loads): Windows reports an expired certificate only for a signature without a
// timestamp, so nothing shows the file was signed while the certificate was valid. New
// code is the file's first appearance well after the fleet started watching.
void detector_set::check_expired_status_without_dates(const observation& obs, const state::prevalence_view* prevalence,
                                                      std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.expired_signing;
  if (sig.status != signature_status::expired || sig.signing_time_ms || prevalence == nullptr) return;
  const auto since = prevalence->watching_since();
  if (!since) return;
  const auto file = prevalence->hash(file_key(obs));
  if (!file) return;
  const bool rare = file->hosts <= cfg.rare_hosts;
  const bool new_code = file->first_seen_ms > *since + cfg.grace_days * k_ms_per_day;
  // Not new code by the long rule, but a rare file that arrived after the fleet's first
  // day: old code the fleet had not run yet, or new code; worth a look.
  if (!new_code && !(rare && new_to_the_fleet(file->first_seen_ms, since))) return;
  const severity level = !new_code ? cfg.new_file_level : (rare ? cfg.rare_level : cfg.level);
  hit h{detector_id::certificate_expired_signing, k_title_expired, level, {}, {}, {}};
  h.reason = fmt::format(
      "{} is signed by \"{}\" with a certificate the endpoint reports expired and no timestamp; the fleet, watched since "
      "{}, first saw the file on {} and it is on {} host(s){}.",
      image_name(obs), signer_name(sig), day_of(*since), day_of(file->first_seen_ms), file->hosts,
      new_code ? "" : fmt::format(" (new to the fleet, but within {} days of the start of watching)", cfg.grace_days));
  h.evidence.push_back({"file_first_seen", format_rfc3339_ms(file->first_seen_ms)});
  h.evidence.push_back({"file_hosts", fmt::format("{}", file->hosts)});
  h.evidence.push_back({"watching_since", format_rfc3339_ms(*since)});
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

// An issuer outside the known code-signing CAs that the fleet rarely or only recently
// sees. Needs prevalence: without it, an unknown CA alone is not worth an alert.
void detector_set::check_issuer_unusual(const observation& obs, const state::prevalence_view* prevalence,
                                        std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.issuer_unusual;
  const std::string_view name = issuer_name(sig);
  if (prevalence == nullptr || name.empty() || cfg.known_cas.matches(name) || is_internal_pki(sig)) return;
  const auto issuer = prevalence->issuer(issuer_key(sig));
  if (!issuer) return;
  const bool rare = issuer->hosts <= cfg.max_issuer_hosts;
  const bool recent = obs.event_time_ms && issuer->first_seen_ms >= *obs.event_time_ms - cfg.new_within_days * k_ms_per_day;
  if (!rare && !recent) return;
  const auto signer = prevalence->signer(signer_key(sig));
  const bool escalate = is_untrusted(sig) && signer && signer->hashes <= cfg.max_signer_hashes;
  hit h{detector_id::issuer_unusual, k_title_issuer, escalate ? cfg.escalated_level : cfg.level, {}, {}, {}};
  h.reason = fmt::format(
      "{} is signed by \"{}\" under issuer \"{}\", which is not a known code-signing CA and was first seen on {} on "
      "{} host(s){}.",
      image_name(obs), signer_name(sig), name, day_of(issuer->first_seen_ms), issuer->hosts,
      escalate ? fmt::format("; the signature is untrusted and the signer has {} file(s)", signer->hashes) : "");
  h.evidence.push_back({"issuer_hosts", fmt::format("{}", issuer->hosts)});
  h.evidence.push_back({"issuer_first_seen", format_rfc3339_ms(issuer->first_seen_ms)});
  if (signer) h.evidence.push_back({"signer_hashes", fmt::format("{}", signer->hashes)});
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

namespace {

// The organization a signer's certificate names: subject O, else CN, else the raw subject.
std::string_view signer_org_text(const code_signature& sig) {
  if (sig.subject_o.has_value()) return sig.subject_o.view();
  if (sig.subject_cn.has_value()) return sig.subject_cn.view();
  return sig.subject.view();
}

// The folder of a path, canonical (case, separators, namespace prefixes, short names),
// with its trailing separator; empty for a disguised path (mock folder, unknown short
// name), which earns no exemption.
std::string folder_of(std::string_view path) {
  const auto c = canonicalize_path(path);
  if (c.mock_segment || c.unresolved_short_name) return {};
  std::string p(c.folded);
  const auto slash = p.rfind('\\');
  p.resize(slash == std::string::npos ? 0 : slash + 1);
  return p;
}

}  // namespace

// A library loaded from the loading program's own product folder: the deepest folder
// both share is one product's (its folder under Program Files, a per-user install).
bool detector_set::is_bundled_component(const observation& obs) const {
  const auto& cfg = config_.subject_mismatch;
  if (obs.kind != event_kind::image_load || !obs.process_path.has_value() || !obs.image_path.has_value()) return false;
  const std::string image = folder_of(obs.image_path.view());
  const std::string process = folder_of(obs.process_path.view());
  std::size_t common = 0;
  while (common < image.size() && common < process.size() && image[common] == process[common]) ++common;
  while (common > 0 && image[common - 1] != '\\') --common;  // whole folders only
  if (common == 0) return false;
  const canonical_path shared{std::string_view(image.data(), common)};
  return cfg.product_folders.matches_canonical(shared) && !cfg.transient_folders.matches_canonical(shared);
}

void detector_set::check_subject_mismatch(const observation& obs, const state::prevalence_view* prevalence,
                                          std::vector<hit>& hits) const {
  const auto& sig = obs.signature;
  const auto& cfg = config_.subject_mismatch;
  const name_forms signer = cached_name_forms(signer_org_text(sig));
  if (signer.plain.empty() && signer.skeleton.empty()) return;
  const name_forms company = cached_name_forms(obs.pe.company.view());
  const std::string_view issuer = issuer_name(sig);
  const std::string_view original_name = obs.pe.original_file_name.view();

  // Prevalence, read once and only when a decision needs it.
  std::optional<std::optional<state::prevalence_record>> signer_rec;
  const auto signer_hosts = [&]() -> std::optional<std::uint64_t> {
    if (prevalence == nullptr) return std::nullopt;
    if (!signer_rec) signer_rec = prevalence->signer(signer_key(sig));
    return *signer_rec ? std::optional<std::uint64_t>((*signer_rec)->hosts) : std::nullopt;
  };
  const auto established = [&] {
    const auto h = signer_hosts();
    return h && *h > cfg.rare_signer_hosts;
  };
  std::optional<std::optional<state::prevalence_record>> pair_rec;
  const auto pair = [&]() -> const std::optional<state::prevalence_record>& {
    if (!pair_rec) {
      pair_rec = prevalence != nullptr ? prevalence->company_signer(company.plain + '\0' + signer_key(sig))
                                       : std::optional<state::prevalence_record>();
    }
    return *pair_rec;
  };
  const auto learned = [&] { return pair() && pair()->hosts >= cfg.learned_pair_hosts; };

  const auto emit = [&](severity level, const subject_mismatch_config::protected_vendor* v, vendor_relation rel,
                        std::string reason) {
    hit h{detector_id::metadata_subject_mismatch, k_title_mismatch, level, std::move(reason), {}, {}};
    if (obs.pe.company.present) h.evidence.push_back({"pe_company", obs.pe.company.value});
    if (obs.pe.original_file_name.present) h.evidence.push_back({"pe_original_file_name", obs.pe.original_file_name.value});
    if (v != nullptr) {
      h.evidence.push_back({"protected_vendor", v->token});
      h.evidence.push_back({"signer_relation", std::string(to_string(rel))});
    }
    if (const auto hosts = signer_hosts()) h.evidence.push_back({"signer_hosts", fmt::format("{}", *hosts)});
    if (pair_rec && *pair_rec) h.evidence.push_back({"pair_hosts", fmt::format("{}", (*pair_rec)->hosts)});
    add_signature_evidence(sig, h.evidence);
    hits.push_back(std::move(h));
  };

  // How the signer relates to each vendor, worked out once for both passes below.
  thread_local std::vector<vendor_relation> relations;
  relations.clear();
  for (const auto& v : cfg.protected_vendors) relations.push_back(relate_signer(v, signer, issuer));

  // Whose code this signer signs: a vendor that signs for others (WHQL) makes any
  // company on the file normal.
  bool signs_for_others = false;
  for (std::size_t i = 0; i < cfg.protected_vendors.size(); ++i) {
    const auto& v = cfg.protected_vendors[i];
    const auto rel = relations[i];
    // Never benign whatever the file claims: only a look-alike of a vendor's name, or
    // its own name on a certificate from a CA it does not use.
    if (rel == vendor_relation::lookalike) {
      emit(cfg.protected_level, &v, rel,
           fmt::format("{} is signed by \"{}\", a look-alike of {}'s name (same confusable skeleton, different "
                       "characters).",
                       image_name(obs), signer_name(sig), v.name));
      return;
    }
    if (rel == vendor_relation::stranger_ca) {
      emit(cfg.protected_level, &v, rel,
           fmt::format("{} is signed by \"{}\", {}'s name, but under issuer \"{}\", which is not one of {}'s CAs "
                       "(rules/content/protected_vendors.yaml).",
                       image_name(obs), signer_name(sig), v.name, issuer, v.name));
      return;
    }
    if (rel == vendor_relation::member && v.signs_for_others) signs_for_others = true;
  }

  // A protected vendor claimed by name or by one of its binaries.
  for (std::size_t i = 0; i < cfg.protected_vendors.size(); ++i) {
    const auto& v = cfg.protected_vendors[i];
    const bool by_binary = v.binaries.contains(original_name);
    if (!by_binary && !company_names(v, company)) continue;
    const auto rel = relations[i];
    if (rel == vendor_relation::member) return;
    if (rel == vendor_relation::embedded) {
      // The vendor's token inside a name of no family of ours: on one of its binaries a
      // disguise; on a company claim, a name of the vendor's we do not list unless rare.
      if (!by_binary && (established() || learned())) return;
      emit(by_binary ? cfg.protected_level : cfg.established_level, &v, rel,
           fmt::format("{} claims to be {} (company \"{}\", original name \"{}\"); its signer \"{}\" carries {}'s "
                       "name but is not one of its signing identities{}.",
                       image_name(obs), v.name, obs.pe.company.view(), original_name, signer_name(sig), v.name,
                       by_binary ? " and signs one of its binaries" : " and is rare in the fleet"));
      return;
    }
    if (signs_for_others) return;
    if (learned()) return;  // the fleet's own evidence: this signer ships this company's code
    if (!by_binary && established() && is_bundled_component(obs)) return;
    const auto hosts = signer_hosts();
    const bool rare = !hosts || *hosts <= cfg.rare_signer_hosts;
    emit(rare ? cfg.protected_level : cfg.established_level, &v, rel,
         fmt::format("{} claims to be {} (company \"{}\", original name \"{}\") but is signed by \"{}\", outside {}'s "
                     "identity family; the signer is {} and the pair is on {} host(s) (learned at {}).",
                     image_name(obs), v.name, obs.pe.company.view(), original_name, signer_name(sig), v.name,
                     hosts ? fmt::format("on {} host(s)", *hosts) : std::string("without a record"),
                     pair() ? pair()->hosts : 0, cfg.learned_pair_hosts));
    return;
  }
  if (!company.plain.empty()) {
    // Any other company that shares nothing with its signer: only a new pair on a rare
    // file is worth a look (resellers and OEMs sign for others all the time).
    if (share_token(company.plain, signer.plain) || signs_for_others || prevalence == nullptr) return;
    const auto file = prevalence->hash(file_key(obs));
    if (!pair() || pair()->hosts > cfg.max_pair_hosts || !file || file->hosts > cfg.max_hash_hosts) return;
    const bool bundled = is_bundled_component(obs);
    if (bundled && established()) return;
    emit(bundled ? cfg.bundled_level : cfg.level, nullptr, vendor_relation::none,
         fmt::format("{} names its company \"{}\" but is signed by \"{}\"; the pair is new ({} host) and the file is on "
                     "{} host(s){}.",
                     image_name(obs), obs.pe.company.view(), signer_name(sig), pair()->hosts, file->hosts,
                     bundled ? "; it is a library in its loader's product folder with a rare signer" : ""));
    hits.back().evidence.push_back({"file_hosts", fmt::format("{}", file->hosts)});
    return;
  }
  // Signed, but every version-info field the source carries is empty: common for
  // malware, rare for vendor software outside the system and program folders.
  const auto& pe = obs.pe;
  const bool carried = pe.company.present || pe.product.present || pe.description.present || pe.original_file_name.present;
  const auto blank = [](const text_field& f) { return !f.present || f.value.empty() || f.value == "-"; };
  if (!carried || !blank(pe.company) || !blank(pe.product) || !blank(pe.description) || !blank(pe.original_file_name)) return;
  if (signs_for_others || cfg.system_folders.matches(obs.image_path.view())) return;
  hit h{detector_id::metadata_subject_mismatch, k_title_mismatch, cfg.level, {}, {}, {}};
  h.reason = fmt::format("{} is signed by \"{}\" but carries no version information, outside the system and program folders.",
                         image_name(obs), signer_name(sig));
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::check_codeintegrity(const observation& obs, std::vector<hit>& hits) const {
  const auto& ci = obs.ci;
  const auto& cfg = config_.codeintegrity;
  severity level;
  switch (ci.klass) {
    case ci_class::block:
    case ci_class::block_revoked:
    case ci_class::load_revoked: level = cfg.block_level; break;
    case ci_class::load_unsigned:
    case ci_class::load_invalid: level = cfg.load_level; break;
    case ci_class::audit:
      // An audit of your own PKI's code is the policy not yet listing it: expected
      // while a policy is being rolled out (docs/detections.md section 4, internal PKI).
      if (is_internal_pki(obs.signature)) return;
      level = cfg.audit_level;
      break;
    default: return;  // policy activity, signature events
  }
  // Your own PKI chains to a root Windows does not trust (error 7) by design: that is
  // no reason to raise an audit of an internal application.
  const bool escalate = ci.verification_error &&
                        std::ranges::find(cfg.escalating_errors, *ci.verification_error) != cfg.escalating_errors.end() &&
                        !is_internal_pki(obs.signature);
  if (escalate) level = std::max(level, severity::high);
  hit h{detector_id::codeintegrity_enforcement, k_title_ci, level, {}, {}, {}};
  const std::string_view policy = ci.policy_name.has_value() ? ci.policy_name.view() : ci.policy_id.view();
  h.reason = fmt::format("Code Integrity {} {} (event {}{}{}{}).", ci_verb(ci.klass), image_name(obs),
                         ci.event_id.value_or(0), policy.empty() ? "" : ", policy ", policy,
                         ci.verification_error ? fmt::format(", signature verification error {}", *ci.verification_error)
                                               : std::string());
  h.evidence.push_back({"event_id", fmt::format("{}", ci.event_id.value_or(0))});
  h.evidence.push_back({"class", std::string(to_string(ci.klass))});
  if (!policy.empty()) h.evidence.push_back({"policy", std::string(policy)});
  if (ci.process_name.has_value()) h.evidence.push_back({"process", ci.process_name.value});
  if (ci.status.has_value()) h.evidence.push_back({"status", ci.status.value});
  if (ci.verification_error) h.evidence.push_back({"verification_error", fmt::format("{}", *ci.verification_error)});
  hits.push_back(std::move(h));
}

void detector_set::check_rare_user_path(const observation& obs, const state::prevalence_view* prevalence,
                                        std::vector<hit>& hits, std::size_t first) const {
  const auto& cfg = config_.rare_user_path;
  if (prevalence == nullptr) return;
  const bool user_writable = cfg.user_writable.matches(obs.image_path.view()) || obs.ci.user_writable == true;
  if (!user_writable) return;
  const auto file = prevalence->hash(file_key(obs));
  if (!file || file->hosts > cfg.max_hash_hosts) return;
  const std::string signer_id = signer_key(obs.signature);
  const auto signer = signer_id.empty() ? std::nullopt : prevalence->signer(signer_id);
  if (signer && signer->hosts > cfg.max_signer_hosts) return;
  // Another finding (not an informational building block) makes the rare path worth more.
  const bool with_other = std::any_of(hits.begin() + static_cast<std::ptrdiff_t>(first), hits.end(),
                                      [](const hit& h) { return h.level > severity::info; });
  hit h{detector_id::prevalence_rare_signed_user_path, k_title_user_path, with_other ? cfg.with_other_level : cfg.level,
        {}, {}, {}};
  h.reason = fmt::format("{} runs from a user-writable folder; the file is on {} host(s) and its signer \"{}\" on {}.",
                         image_name(obs), file->hosts, signer_name(obs.signature),
                         signer ? fmt::format("{} host(s)", signer->hosts) : std::string("no record"));
  h.evidence.push_back({"file_hosts", fmt::format("{}", file->hosts)});
  if (signer) h.evidence.push_back({"signer_hosts", fmt::format("{}", signer->hosts)});
  add_signature_evidence(obs.signature, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::check_abused(const observation& obs, const state::prevalence_view* prevalence,
                                std::vector<hit>& hits) const {
  if (!intel_) return;
  const auto& sig = obs.signature;
  const abused_certificate* entry = sig.thumbprint.has_value() ? intel_->by_thumbprint(sig.thumbprint.view()) : nullptr;
  if (entry == nullptr && sig.serial.has_value()) entry = intel_->by_issuer_serial(issuer_name(sig), sig.serial.view());
  if (entry == nullptr) return;
  const auto& cfg = config_.abused;
  severity level = cfg.level;
  // Genuine binaries of the vendor whose certificate leaked keep circulating: the
  // file predates the leak and names the vendor.
  std::optional<state::prevalence_record> file;
  if (prevalence) file = prevalence->hash(file_key(obs));
  const bool genuine_old = entry->leak_time_ms && file && file->first_seen_ms > 0 && file->first_seen_ms < *entry->leak_time_ms &&
                           share_token(normalize_company(obs.pe.company.view()), normalize_company(entry->subject));
  if (genuine_old) level = cfg.genuine_old_level;
  hit h{detector_id::intel_abused_certificate, k_title_abused, level, {}, {}, {}};
  h.reason = fmt::format("{} is signed by \"{}\" with a certificate listed by {} as abused ({}){}.", image_name(obs),
                         signer_name(sig), entry->source, entry->reason.empty() ? "no reason given" : entry->reason,
                         genuine_old ? fmt::format("; the file predates the leak ({}) and names the vendor",
                                                   day_of(*entry->leak_time_ms))
                                     : std::string());
  h.evidence.push_back({"list", entry->source});
  if (!entry->serial.empty()) h.evidence.push_back({"listed_serial", entry->serial});
  if (!entry->thumbprint_sha256.empty()) h.evidence.push_back({"listed_thumbprint", entry->thumbprint_sha256});
  if (entry->leak_time_ms) h.evidence.push_back({"leak_time", format_rfc3339_ms(*entry->leak_time_ms)});
  add_signature_evidence(sig, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::check_first_seen(const observation& obs, const state::prevalence_view* prevalence,
                                    std::vector<hit>& hits) const {
  if (prevalence == nullptr || !obs.event_time_ms) return;
  const std::string key = signer_key(obs.signature);
  if (key.empty()) return;
  const auto signer = prevalence->signer(key);
  // The record already holds this sighting: first means nothing earlier, one host.
  if (!signer || signer->hosts > 1 || signer->first_seen_ms < *obs.event_time_ms) return;
  hit h{detector_id::signer_first_seen, k_title_first_seen, config_.first_seen.level, {}, {}, {}};
  h.reason = fmt::format("\"{}\" signed {}, the first time the fleet sees this signer.", signer_name(obs.signature),
                         image_name(obs));
  add_signature_evidence(obs.signature, h.evidence);
  hits.push_back(std::move(h));
}

void detector_set::apply_exclusions(const observation& obs, std::vector<hit>& hits, std::size_t first) const {
  const auto& sig = obs.signature;
  for (const auto& rule : config_.exclusions) {
    if (!rule.thumbprints.empty() && !rule.thumbprints.contains(sig.thumbprint.view())) continue;
    if (!rule.signers.empty() && !rule.signers.contains(sig.subject_cn.view()) &&
        !rule.signers.contains(sig.subject_o.view()) && !rule.signers.contains(sig.subject.view())) {
      continue;
    }
    if (!rule.issuers.empty() && !rule.issuers.contains(sig.issuer.view()) && !rule.issuers.contains(sig.issuer_cn.view())) {
      continue;
    }
    if (!rule.paths.empty() && !rule.paths.matches(obs.image_path.view())) continue;
    if (!rule.hosts.empty() && !rule.hosts.matches(obs.host_id.view()) && !rule.hosts.matches(obs.host_name.view())) {
      continue;
    }
    const auto excluded = [&rule](const hit& h) {
      if (rule.detectors.empty()) {
        // Allowlisting never hides a revoked signature or a known abused certificate.
        return h.id != detector_id::signature_revoked && h.id != detector_id::intel_abused_certificate;
      }
      return std::ranges::find(rule.detectors, h.id) != rule.detectors.end();
    };
    hits.erase(std::remove_if(hits.begin() + static_cast<std::ptrdiff_t>(first), hits.end(), excluded), hits.end());
    if (hits.size() == first) return;
  }
}

void detector_set::apply_mass_revocations(const observation& obs, std::vector<hit>& hits, std::size_t first) const {
  const auto& sig = obs.signature;
  for (const auto& m : config_.mass_revocations) {
    const name_set names({m.signer});
    const bool signer = m.signer == sig.thumbprint.view() || names.contains(sig.subject_cn.view()) ||
                        names.contains(sig.subject_o.view()) || names.contains(sig.subject.view());
    if (!signer || !obs.event_time_ms || *obs.event_time_ms >= m.until_ms) continue;
    for (std::size_t i = first; i < hits.size(); ++i) {
      if (hits[i].id == detector_id::signature_revoked) hits[i].group_key = "mass-revocation:" + m.signer;
    }
    return;
  }
}

}  // namespace countersign::rules
