// Vendor identity families: loading rules/content/protected_vendors.yaml and relating a
// signer or a company name to a vendor (vendor_identity.hpp).

#include <countersign/rules/keys.hpp>
#include <countersign/rules/skeleton.hpp>
#include <countersign/rules/vendor_identity.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <set>

namespace countersign::rules {
namespace {

using vendor = subject_mismatch_config::protected_vendor;

bool has_token(std::string_view normalized, std::string_view token) {
  // Each place the token occurs, bounded by spaces or the ends: one search instead of
  // splitting the name at every space (this runs per protected vendor and event).
  for (std::size_t at = normalized.find(token); at != std::string_view::npos; at = normalized.find(token, at + 1)) {
    const std::size_t end = at + token.size();
    if ((at == 0 || normalized[at - 1] == ' ') && (end == normalized.size() || normalized[end] == ' ')) return true;
  }
  return false;
}

// The token inside a longer word ("microsoftupdate"). Short tokens are left out: "intel"
// inside "intelligent" says nothing.
constexpr std::size_t k_min_embedded_token = 5;

// `token` in either form; the length that counts is the vendor token's as written (a
// skeleton is longer: "zoom" is "zoorn", and "Zoominfo" is no look-alike of Zoom).
bool embeds_token(std::string_view normalized, std::string_view token, std::string_view plain_token) {
  return plain_token.size() >= k_min_embedded_token && normalized.find(token) != std::string_view::npos;
}

bool in(const std::vector<std::string>& names, std::string_view name) {
  return !name.empty() && std::ranges::find(names, name) != names.end();
}

}  // namespace

name_forms::name_forms(std::string_view name)
    : plain(normalize_company(name)), skeleton(normalize_company_skeleton(name)) {}

name_forms cached_name_forms(std::string_view name) {
  // Direct-mapped: a collision costs one recomputation, never a wrong answer.
  struct slot {
    std::string name;
    std::optional<name_forms> forms;
  };
  constexpr std::size_t k_slots = 512;
  // On the heap: 512 slots in static TLS would grow every thread's TLS block by 50 KB,
  // and glibc refuses to start a thread whose stack cannot hold it (civetweb's HTTP
  // workers, started with a small stack, then failed to start at all).
  thread_local std::unique_ptr<std::array<slot, k_slots>> cache;
  if (!cache) cache = std::make_unique<std::array<slot, k_slots>>();
  slot& s = (*cache)[std::hash<std::string_view>{}(name) % k_slots];
  if (!s.forms || s.name != name) {
    s.forms.emplace(name);
    s.name.assign(name);
  }
  return *s.forms;
}

std::string_view to_string(vendor_relation r) noexcept {
  switch (r) {
    case vendor_relation::none: return "none";
    case vendor_relation::member: return "member";
    case vendor_relation::stranger_ca: return "stranger_ca";
    case vendor_relation::embedded: return "embedded";
    case vendor_relation::lookalike: return "lookalike";
  }
  return "none";
}

vendor_relation relate_signer(const vendor& v, const name_forms& signer, std::string_view issuer_cn) {
  if (signer.plain.empty() && signer.skeleton.empty()) return vendor_relation::none;
  // Issuers are checked only where the content lists them and the source reports one.
  const bool issuer_checked = !v.issuers.empty() && !issuer_cn.empty();
  const bool vendor_ca = issuer_checked && v.issuers.matches(issuer_cn);
  if (in(v.signers, signer.plain) || (v.signers.empty() && has_token(signer.plain, v.token))) {
    return issuer_checked && !vendor_ca ? vendor_relation::stranger_ca : vendor_relation::member;
  }
  if (has_token(signer.plain, v.token) || embeds_token(signer.plain, v.token, v.token)) {
    // A name of the vendor's we do not list, on a certificate from its own CA, is its own.
    if (vendor_ca) return vendor_relation::member;
    return issuer_checked ? vendor_relation::stranger_ca : vendor_relation::embedded;
  }
  // Reached only when the plain form names nothing of the vendor's.
  if (in(v.signer_skeletons, signer.skeleton) || has_token(signer.skeleton, v.token_skeleton) ||
      embeds_token(signer.skeleton, v.token_skeleton, v.token)) {
    return vendor_relation::lookalike;
  }
  return vendor_relation::none;
}

bool company_names(const vendor& v, const name_forms& company) {
  if (company.plain.empty() && company.skeleton.empty()) return false;
  return has_token(company.plain, v.token) || in(v.signers, company.plain) ||
         has_token(company.skeleton, v.token_skeleton) || in(v.signer_skeletons, company.skeleton);
}

vendor make_protected_vendor(std::string name, std::string_view token, const std::vector<std::string>& signers,
                             const std::vector<std::string>& issuers, const std::vector<std::string>& binaries,
                             bool signs_for_others) {
  vendor v;
  v.name = std::move(name);
  v.token = normalize_company(token);
  v.token_skeleton = normalize_company_skeleton(token);
  for (const auto& s : signers) {
    v.signers.push_back(normalize_company(s));
    v.signer_skeletons.push_back(normalize_company_skeleton(s));
  }
  v.signer_names = signers;
  v.issuers = prefix_set(issuers);
  v.issuer_names = issuers;
  v.binaries = name_set(binaries);
  v.signs_for_others = signs_for_others;
  return v;
}

protected_vendor_list load_protected_vendors(std::string_view yaml, std::string_view file) {
  protected_vendor_list out;
  const auto error = [&](const YAML::Node& at, std::string_view key, std::string_view message) {
    if (at && at.Mark().line >= 0) {
      out.errors.push_back(fmt::format("{}:{}: {}: {}", file, at.Mark().line + 1, key, message));
    } else {
      out.errors.push_back(fmt::format("{}: {}: {}", file, key, message));
    }
  };
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.errors.push_back(fmt::format("{}:{}: {}", file, e.mark.line + 1, e.msg));
    return out;
  }
  const YAML::Node list = root.IsMap() ? root["protected_vendors"] : YAML::Node();
  if (!list || !list.IsSequence()) {
    error(root, "protected_vendors", "must be a list of vendors");
    return out;
  }
  static const std::set<std::string, std::less<>> k_keys = {"name", "token", "signers", "issuers", "binaries",
                                                            "signs_for_others"};
  std::size_t index = 0;
  for (const auto& item : list) {
    const std::string at = fmt::format("protected_vendors[{}]", index++);
    if (!item.IsMap()) {
      error(item, at, "must be a mapping");
      continue;
    }
    bool ok = true;
    for (const auto& kv : item) {
      const auto key = kv.first.as<std::string>("");
      if (!k_keys.contains(key)) {
        error(kv.first, at + "." + key, "unknown key");
        ok = false;
      }
    }
    const auto text = [&](const char* key) -> std::string {
      const YAML::Node n = item[key];
      if (!n) return {};
      if (!n.IsScalar()) {
        error(n, at + "." + key, "must be a string");
        ok = false;
        return {};
      }
      return n.as<std::string>();
    };
    const auto names = [&](const char* key) {
      std::vector<std::string> values;
      const YAML::Node n = item[key];
      if (!n) return values;
      if (!n.IsSequence()) {
        error(n, at + "." + key, "must be a list of strings");
        ok = false;
        return values;
      }
      for (const auto& e : n) {
        if (!e.IsScalar() || e.as<std::string>().empty()) {
          error(e, at + "." + key, "every entry must be a non-empty string");
          ok = false;
          continue;
        }
        values.push_back(e.as<std::string>());
      }
      return values;
    };
    const std::string token = text("token");
    std::string name = text("name");
    const auto signers = names("signers");
    const auto issuers = names("issuers");
    const auto binaries = names("binaries");
    bool signs_for_others = false;
    if (const YAML::Node n = item["signs_for_others"]) {
      const std::string v = n.IsScalar() ? n.as<std::string>() : std::string();
      if (v == "true" || v == "false") {
        signs_for_others = v == "true";
      } else {
        error(n, at + ".signs_for_others", "must be true or false");
        ok = false;
      }
    }
    if (normalize_company(token).empty() || normalize_company(token).find(' ') != std::string::npos) {
      error(item["token"] ? item["token"] : item, at + ".token", "is required: one distinctive word of the vendor's name");
      ok = false;
    }
    if (!ok) continue;
    if (name.empty()) name = token;
    out.vendors.push_back(make_protected_vendor(std::move(name), token, signers, issuers, binaries, signs_for_others));
  }
  return out;
}

}  // namespace countersign::rules
