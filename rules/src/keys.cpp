#include <countersign/rules/keys.hpp>

#include <array>

namespace countersign::rules {
namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

void append_lower(std::string& out, std::string_view s) {
  for (const char c : s) out.push_back(ascii_lower(c));
}

bool is_word_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;  // keep non-ASCII letters
}

}  // namespace

std::string signer_key(const code_signature& sig) {
  std::string key;
  if (sig.thumbprint.has_value()) {
    key = "t:" + sig.thumbprint.value;
  } else if (sig.issuer.has_value() && sig.serial.has_value()) {
    key = "s:";
    append_lower(key, sig.issuer.view());
    key += '|';
    key += sig.serial.value;
  } else if (sig.subject.has_value()) {
    key = "n:";
    append_lower(key, sig.subject.view());
  }
  return key;
}

std::string issuer_key(const code_signature& sig) {
  std::string key;
  append_lower(key, sig.issuer.has_value() ? sig.issuer.view() : sig.issuer_cn.view());
  return key;
}

bool joins_certificates_by_sha1(const observation& obs) noexcept {
  return obs.source.schema == schema_profile::defender;
}

bool is_certificate_row(const observation& obs) noexcept {
  return obs.kind == event_kind::file_certificate && joins_certificates_by_sha1(obs);
}

bool awaits_certificate(const observation& obs) noexcept {
  const bool execution = obs.kind == event_kind::process_start || obs.kind == event_kind::image_load ||
                         obs.kind == event_kind::driver_load;
  return execution && joins_certificates_by_sha1(obs) && obs.sha1.has_value() && !obs.signature.is_present();
}

std::string file_key(const observation& obs) {
  if (obs.sha1.has_value() && joins_certificates_by_sha1(obs)) return "sha1:" + obs.sha1.value;
  if (obs.sha256.has_value()) return obs.sha256.value;
  if (obs.sha1.has_value()) return "sha1:" + obs.sha1.value;
  return {};
}

std::string normalize_company(std::string_view company) {
  static constexpr std::array<std::string_view, 16> k_legal = {
      "inc", "ltd", "llc", "corp", "corporation", "co", "gmbh", "limited", "incorporated",
      "company", "ag", "sa", "bv", "plc", "srl", "oy"};
  std::string out, token;
  const auto flush = [&] {
    if (token.empty()) return;
    bool legal = false;
    for (const auto l : k_legal) legal = legal || token == l;
    if (!legal) {
      if (!out.empty()) out.push_back(' ');
      out += token;
    }
    token.clear();
  };
  for (const char ch : company) {
    const char c = ascii_lower(ch);
    if (is_word_char(static_cast<unsigned char>(c))) token.push_back(c);
    else flush();
  }
  flush();
  return out;
}

}  // namespace countersign::rules
