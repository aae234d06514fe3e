// Microsoft Defender advanced-hunting profile (docs/detections.md section 1, Defender column).
//
// A message is either a bare row (the row's columns at the top level) or the Event Hub
// streaming export envelope
//   {"records":[{"time":..., "category":"AdvancedHunting-<Table>", "properties":{<row>}}, ...]}
// with one observation per supported record, in order. A record without `properties`
// is read as a flat row (Log Analytics data export: the columns sit in the record, with
// `Type` naming the table and `TimeGenerated` as its time); a single record at the top
// level (no `records` array) is read the same way.
//
// Supported tables:
//   DeviceProcessEvents        process start (FolderPath [+FileName], hashes, version info)
//   DeviceImageLoadEvents      image load (FolderPath = the DLL, InitiatingProcessFolderPath
//                              = the process that loaded it, hashes); no signer columns: the
//                              certificate facts of the DLL are DeviceFileCertificateInfo's
//   DeviceFileCertificateInfo  certificate facts of a file, keyed by SHA1
//   a join of the two          both (kind process start)
//   DeviceEvents with ActionType AppControlCodeIntegrity*
//                              Code Integrity verdicts and 3089 signature information; the
//                              event's facts are in AdditionalFields (an object, or a string
//                              holding one), interpreted by apply_ci_fields
// Rows of other tables are skipped: they yield no observation and do not fail the message.
//
// On-Demand reads each value once, in document order, and rows put their table-identifying
// columns anywhere; so every mapped column is read when met, what identifies the table is
// remembered, and the table is decided at the end of the row.

#include "name_table.hpp"
#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::signature_status;
using rules::text_field;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' || (x | 0x20) > 'z')) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) noexcept {
  const auto space = [](char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The advanced-hunting table a row belongs to, as far as the envelope or `Type` says.
enum class table : std::uint8_t { unknown, process_events, image_load_events, file_certificate_info, device_events, other };

table table_from_name(std::string_view name) noexcept {
  name = trim(name);
  if (istarts_with(name, "AdvancedHunting-")) name.remove_prefix(16);
  if (name.empty()) return table::unknown;
  if (iequals(name, "DeviceProcessEvents")) return table::process_events;
  if (iequals(name, "DeviceImageLoadEvents")) return table::image_load_events;
  if (iequals(name, "DeviceFileCertificateInfo")) return table::file_certificate_info;
  if (iequals(name, "DeviceEvents")) return table::device_events;
  return table::other;
}

// What a row is read as, decided at its end.
enum class row_kind : std::uint8_t { skip, process, image_load, certificate, code_integrity };

// The Code Integrity event a DeviceEvents ActionType stands for (docs/detections.md section 1).
// Other AppControlCodeIntegrity* actions (the Origin* ISG / managed-installer events) have
// no class in the table and are skipped.
std::optional<std::int64_t> ci_event_id(std::string_view action_type) noexcept {
  static constexpr std::pair<std::string_view, std::int64_t> k_actions[] = {
      {"AppControlCodeIntegrityPolicyBlocked", 3077},
      {"AppControlCodeIntegrityPolicyAudited", 3076},
      {"AppControlCodeIntegrityDriverRevoked", 3023},
      {"AppControlCodeIntegrityImageRevoked", 3036},
      {"AppControlCodeIntegritySigningInformation", 3089},
      {"AppControlCodeIntegrityPolicyLoaded", 3099},
  };
  for (const auto& [name, id] : k_actions) {
    if (iequals(action_type, name)) return id;
  }
  return std::nullopt;
}

// A `SignatureState` / `SignatureStatus` value (FileProfile() and joined hunting queries:
// SignedValid, SignedInvalid, Unsigned, Unknown). `exists` receives what the value says
// about the presence of a signature.
signature_status signature_state_status(std::string_view raw, std::optional<bool>& exists) noexcept {
  const std::string_view s = trim(raw);
  if (iequals(s, "SignedValid") || iequals(s, "Valid")) {
    exists = true;
    return signature_status::valid;
  }
  if (iequals(s, "Unsigned") || iequals(s, "NotSigned")) {
    exists = false;
    return signature_status::not_signed;
  }
  if (iequals(s, "Unknown")) return signature_status::unknown;
  exists = true;
  if (iequals(s, "Expired")) return signature_status::expired;
  if (iequals(s, "Revoked")) return signature_status::revoked;
  // SignedInvalid / Invalid: signed, but the signature did not verify; Defender does not
  // say why (digest, chain, root, revocation), so it stays `other` with the raw value.
  return signature_status::other;
}

enum class column : std::uint8_t {
  timestamp,
  time_generated,
  device_id,
  device_name,
  account_name,
  initiating_account_name,
  action_type,
  type,
  folder_path,
  file_name,
  sha256,
  sha1,
  initiating_folder_path,
  additional_fields,
  pe_original_file_name,
  pe_company,
  pe_product,
  pe_description,
  pe_version,
  process_other,  // marks a DeviceProcessEvents row; not read
  is_signed,
  is_trusted,
  signer,
  signer_hash,
  issuer,
  serial,
  not_before,
  not_after,
  countersignature_time,
  signature_type,
  signature_state,
  certificate_other,  // marks a DeviceFileCertificateInfo row; not read
};

// FNV-1a: short keys, and std::hash's murmur is slower on them. Not windows.cpp's hash of
// three bytes: Defender's column names share long prefixes and suffixes
// ("ProcessVersionInfo...Name").
struct column_hash {
  constexpr std::uint64_t operator()(std::string_view s) const {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char ch : s) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    return h;
  }
};
// The columns by name (name_table.hpp; std::unordered_map's modulo and node hop per key
// were 2% of a fleet-mix replay's CPU).
using column_table = name_table<column, 128, column_hash>;

constexpr column_table k_columns = {
    {"Timestamp", column::timestamp},
    {"TimeGenerated", column::time_generated},
    {"DeviceId", column::device_id},
    {"DeviceName", column::device_name},
    {"AccountName", column::account_name},
    {"InitiatingProcessAccountName", column::initiating_account_name},
    {"ActionType", column::action_type},
    {"Type", column::type},
    {"FolderPath", column::folder_path},
    {"FileName", column::file_name},
    {"SHA256", column::sha256},
    {"SHA1", column::sha1},
    {"InitiatingProcessFolderPath", column::initiating_folder_path},
    {"AdditionalFields", column::additional_fields},
    {"ProcessVersionInfoOriginalFileName", column::pe_original_file_name},
    {"ProcessVersionInfoCompanyName", column::pe_company},
    {"ProcessVersionInfoProductName", column::pe_product},
    {"ProcessVersionInfoFileDescription", column::pe_description},
    {"ProcessVersionInfoProductVersion", column::pe_version},
    {"ProcessVersionInfoInternalFileName", column::process_other},
    {"ProcessCommandLine", column::process_other},
    {"ProcessId", column::process_other},
    {"ProcessCreationTime", column::process_other},
    {"ProcessIntegrityLevel", column::process_other},
    {"ProcessTokenElevation", column::process_other},
    {"IsSigned", column::is_signed},
    {"IsTrusted", column::is_trusted},
    {"Signer", column::signer},
    {"SignerHash", column::signer_hash},
    {"Issuer", column::issuer},
    {"CertificateSerialNumber", column::serial},
    {"CertificateCreationTime", column::not_before},
    {"CertificateExpirationTime", column::not_after},
    {"CertificateCountersignatureTime", column::countersignature_time},
    {"SignatureType", column::signature_type},
    {"SignatureState", column::signature_state},
    {"SignatureStatus", column::signature_state},
    {"IssuerHash", column::certificate_other},
    {"IsRootSignerMicrosoft", column::certificate_other},
    {"CrlDistributionPointUrls", column::certificate_other},
};

// A string column read as a view into the parser's buffer (valid until the next message).
struct view_field {
  std::string_view value;
  bool present = false;
  [[nodiscard]] bool has_value() const noexcept { return present && !value.empty(); }
};

enum class additional_shape : std::uint8_t { none, object, text, empty_array, other };

// Facts of one row that are sorted out at its end.
struct row_state {
  table category = table::unknown;  // envelope `category`
  table type = table::unknown;      // Log Analytics `Type` column
  bool via_properties = false;      // the row was the record's `properties`
  bool any_column = false;          // a column this profile knows was seen
  bool process_columns = false;
  bool certificate_columns = false;
  std::optional<std::int64_t> time_generated;
  std::optional<std::int64_t> envelope_time;
  view_field action_type, folder_path, file_name, account, initiating_account, initiating_folder,
      signature_state;
  additional_shape additional = additional_shape::none;
  std::string_view additional_text;
};

// Appends "[i]" to the path for the lifetime of the guard.
class index_scope {
 public:
  index_scope(walk_context& c, std::size_t index) : c_(c), saved_(c.path.size()) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, index);
    c_.path.push_back('[');
    c_.path.append(buf, res.ptr);
    c_.path.push_back(']');
  }
  ~index_scope() { c_.path.resize(saved_); }
  index_scope(const index_scope&) = delete;
  index_scope& operator=(const index_scope&) = delete;

 private:
  walk_context& c_;
  std::size_t saved_;
};

// AdditionalFields delivered as a JSON string is parsed by a parser of its own: the
// message's parser is still in the middle of its document. The copy buffer and the
// parser's capacity grow only to the largest AdditionalFields seen, which the field
// limit bounds.
struct text_parser {
  simdjson::ondemand::parser parser;
  std::vector<char> buffer;
};

text_parser& additional_fields_parser() {
  thread_local text_parser p;
  return p;
}

class defender_walker {
 public:
  defender_walker(walk_context& c, observation_batch& out) : c_(c), out_(out) {}

  walk_status walk(od::object root) {
    // The top level may itself be a row (or a single record); its observation is built
    // aside and appended once the row turns out to be supported.
    observation& top = c_.side;
    top.reset();
    row_state r;
    begin_row();
    bool saw_records = false;
    for (auto member : root) {
      od::field fld;
      if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
      std::string_view key;
      if (c_.key(fld, key) == walk_status::failed) return walk_status::failed;
      if (key == "records") {
        saw_records = true;
        if (walk_records(fld.value()) == walk_status::failed) return walk_status::failed;
        begin_row();  // the records used the scratch fields; the top-level row starts over
        continue;
      }
      if (record_member(key, fld.value(), r, top) == walk_status::failed) return walk_status::failed;
    }
    const bool row_like = r.any_column || r.via_properties || r.category != table::unknown;
    if (!row_like) {
      if (saw_records) return walk_status::ok;  // a plain envelope
      return c_.fail(reject_reason::unknown_schema, "no Defender column");
    }
    bool keep = false;
    if (finish_row(r, top, keep) == walk_status::failed) return walk_status::failed;
    if (keep) std::swap(out_.add(), top);
    return walk_status::ok;
  }

 private:
  void begin_row() { c_.fields.clear(); }

  walk_status walk_records(od::value v) {
    walk_context::scope in(c_, "records");
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::null) return walk_status::ok;
    if (type != od::json_type::array) return c_.fail(reject_reason::wrong_type);
    od::array records;
    if (auto err = v.get_array().get(records)) return c_.fail_json(err);
    std::size_t index = 0;
    for (auto element : records) {
      index_scope at(c_, index++);
      od::value rv;
      if (auto err = std::move(element).get(rv)) return c_.fail_json(err);
      od::json_type rt;
      if (auto err = rv.type().get(rt)) return c_.fail_json(err);
      if (rt == od::json_type::null) continue;
      if (rt != od::json_type::object) return c_.fail(reject_reason::wrong_type);
      od::object record;
      if (auto err = rv.get_object().get(record)) return c_.fail_json(err);
      observation& o = out_.add();
      row_state r;
      begin_row();
      for (auto member : record) {
        od::field fld;
        if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
        std::string_view key;
        if (c_.key(fld, key) == walk_status::failed) return walk_status::failed;
        if (record_member(key, fld.value(), r, o) == walk_status::failed) return walk_status::failed;
      }
      bool keep = false;
      if (finish_row(r, o, keep) == walk_status::failed) return walk_status::failed;
      if (!keep) out_.drop_last();
    }
    return walk_status::ok;
  }

  // A member of a record (or of a top level read as one): the envelope's own keys, or a
  // column of a flat row.
  walk_status record_member(std::string_view key, od::value v, row_state& r, observation& o) {
    if (key == "properties") {
      walk_context::scope in(c_, key);
      od::json_type type;
      if (auto err = v.type().get(type)) return c_.fail_json(err);
      if (type == od::json_type::null) return walk_status::ok;
      if (type != od::json_type::object) return c_.fail(reject_reason::wrong_type);
      r.via_properties = true;
      // A table known to be unsupported (the export writes `category` first) is skipped
      // unread: DeviceNetworkEvents and the like are most of the volume.
      if (r.category == table::other) return walk_status::ok;
      od::object row;
      if (auto err = v.get_object().get(row)) return c_.fail_json(err);
      for (auto member : row) {
        od::field fld;
        if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
        std::string_view name;
        if (c_.key(fld, name) == walk_status::failed) return walk_status::failed;
        if (read_column(name, fld.value(), r, o) == walk_status::failed) return walk_status::failed;
      }
      return walk_status::ok;
    }
    if (key == "category") {
      walk_context::scope in(c_, key);
      view_field category;
      if (read_view(v, category) == walk_status::failed) return walk_status::failed;
      if (category.present) r.category = table_from_name(category.value);
      return walk_status::ok;
    }
    if (key == "time") {
      walk_context::scope in(c_, key);
      return optional_time(v, r.envelope_time);
    }
    return read_column(key, v, r, o);
  }

  walk_status read_column(std::string_view name, od::value v, row_state& r, observation& o) {
    const column* const col = k_columns.find(name);
    if (col == nullptr) return walk_status::ok;  // skipped unread
    r.any_column = true;
    walk_context::scope in(c_, name);
    auto& sig = o.signature;
    switch (*col) {
      case column::timestamp: return c_.time(v, o.event_time_ms);
      case column::time_generated: return c_.time(v, r.time_generated);
      case column::device_id: return c_.text(v, o.host_id);
      case column::device_name: return c_.text(v, o.host_name);
      case column::account_name: return read_view(v, r.account);
      case column::initiating_account_name: return read_view(v, r.initiating_account);
      case column::action_type: return read_view(v, r.action_type);
      case column::type: {
        view_field type;
        if (read_view(v, type) == walk_status::failed) return walk_status::failed;
        if (type.present) r.type = table_from_name(type.value);
        return walk_status::ok;
      }
      case column::folder_path: return read_view(v, r.folder_path);
      case column::file_name: return read_view(v, r.file_name);
      case column::sha256: return optional_hex(v, o.sha256);
      case column::sha1: return optional_hex(v, o.sha1);
      case column::initiating_folder_path: return read_view(v, r.initiating_folder);
      case column::additional_fields: return read_additional_fields(v, r);
      case column::pe_original_file_name:
        r.process_columns = true;
        return c_.text(v, o.pe.original_file_name);
      case column::pe_company:
        r.process_columns = true;
        return c_.text(v, o.pe.company);
      case column::pe_product:
        r.process_columns = true;
        return c_.text(v, o.pe.product);
      case column::pe_description:
        r.process_columns = true;
        return c_.text(v, o.pe.description);
      case column::pe_version:
        r.process_columns = true;
        return c_.text(v, o.pe.file_version);
      case column::process_other:
        r.process_columns = true;
        return walk_status::ok;
      case column::is_signed: r.certificate_columns = true; return flag(v, sig.exists);
      case column::is_trusted: r.certificate_columns = true; return flag(v, sig.trusted);
      case column::signer: r.certificate_columns = true; return c_.text(v, sig.subject);
      case column::signer_hash: r.certificate_columns = true; return optional_hex(v, sig.thumbprint);
      case column::issuer: r.certificate_columns = true; return c_.text(v, sig.issuer);
      case column::serial: r.certificate_columns = true; return optional_hex(v, sig.serial);
      case column::not_before: r.certificate_columns = true; return optional_time(v, sig.not_before_ms);
      case column::not_after: r.certificate_columns = true; return optional_time(v, sig.not_after_ms);
      case column::countersignature_time:
        r.certificate_columns = true;
        return optional_time(v, sig.signing_time_ms);
      case column::signature_type: r.certificate_columns = true; return c_.text(v, sig.signature_type);
      case column::signature_state: r.certificate_columns = true; return read_view(v, r.signature_state);
      case column::certificate_other: r.certificate_columns = true; return walk_status::ok;
    }
    return walk_status::ok;
  }

  walk_status read_view(od::value v, view_field& out) {
    out.value = {};
    return c_.view(v, out.value, out.present);
  }

  // Hashes, thumbprints and serials: Defender writes "" for "not known" (SHA256 of most
  // process rows), so an empty value is missing.
  walk_status optional_hex(od::value v, text_field& out) {
    std::string_view s;
    bool present = false;
    if (c_.view(v, s, present) == walk_status::failed) return walk_status::failed;
    if (present && !trim(s).empty()) set_normalized_hex(out, s);
    return walk_status::ok;
  }

  // Certificate dates and the envelope time: "" is missing (unsigned files carry no
  // dates); anything else must be a time.
  walk_status optional_time(od::value v, std::optional<std::int64_t>& out) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type != od::json_type::string) return c_.time(v, out);
    std::string_view s;
    if (auto err = v.get_string().get(s)) return c_.fail_json(err);
    if (trim(s).empty()) return walk_status::ok;
    return c_.time_from(s, out);
  }

  // Booleans arrive as true/false, "true"/"false", or 0/1 (and "0"/"1").
  walk_status flag(od::value v, std::optional<bool>& out) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::number) {
      std::int64_t n = 0;
      if (v.get_int64().get(n) || (n != 0 && n != 1)) return c_.fail(reject_reason::wrong_type);
      out = n == 1;
      return walk_status::ok;
    }
    if (type == od::json_type::string) {
      std::string_view s;
      if (auto err = v.get_string().get(s)) return c_.fail_json(err);
      s = trim(s);
      if (s.empty()) return walk_status::ok;
      if (s == "1" || s == "0") {
        out = s == "1";
        return walk_status::ok;
      }
      if (auto b = parse_bool(s)) {
        out = *b;
        return walk_status::ok;
      }
      return c_.fail(reject_reason::wrong_type);
    }
    return c_.boolean(v, out);  // null, true/false; anything else is wrong_type
  }

  // AdditionalFields is read whatever the table (it is needed only for Code Integrity
  // rows, and the table is known only at the end): an object is collected now, a string
  // is kept and parsed at the end of a Code Integrity row.
  walk_status read_additional_fields(od::value v, row_state& r) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    switch (type) {
      case od::json_type::null: return walk_status::ok;
      case od::json_type::object: {
        od::object obj;
        if (auto err = v.get_object().get(obj)) return c_.fail_json(err);
        c_.fields.clear();
        r.additional = additional_shape::object;
        return collect_fields(obj, c_);
      }
      case od::json_type::string: {
        // Unbounded here: a large value in a row that is skipped must not fail the message.
        if (auto err = v.get_string().get(r.additional_text)) return c_.fail_json(err);
        r.additional = additional_shape::text;
        return walk_status::ok;
      }
      case od::json_type::array: {
        od::array arr;
        if (auto err = v.get_array().get(arr)) return c_.fail_json(err);
        std::size_t n = 0;
        for (auto element : arr) {
          od::value ev;
          if (auto err = std::move(element).get(ev)) return c_.fail_json(err);
          ++n;
        }
        r.additional = n == 0 ? additional_shape::empty_array : additional_shape::other;
        return walk_status::ok;
      }
      default:
        r.additional = additional_shape::other;
        return walk_status::ok;
    }
  }

  // Parses AdditionalFields delivered as a JSON string and collects its members.
  walk_status collect_additional_text(std::string_view text) {
    if (text.size() > c_.limits.max_field_bytes) return c_.fail(reject_reason::field_too_large);
    const std::string_view json = trim(text);
    if (json.empty() || json == "null" || json == "{}" || json == "[]") return walk_status::ok;
    text_parser& tp = additional_fields_parser();
    const std::size_t needed = json.size() + simdjson::SIMDJSON_PADDING;
    if (tp.buffer.size() < needed) tp.buffer.resize(needed);
    std::memcpy(tp.buffer.data(), json.data(), json.size());
    std::memset(tp.buffer.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    od::document doc;
    if (tp.parser.iterate(tp.buffer.data(), json.size(), tp.buffer.size()).get(doc)) {
      return c_.fail(reject_reason::wrong_type);
    }
    od::object obj;
    if (doc.get_object().get(obj)) return c_.fail(reject_reason::wrong_type);  // not an object
    c_.fields.clear();
    if (collect_fields(obj, c_) == walk_status::failed) {
      // Malformed JSON inside the string: the column does not hold what it should.
      return c_.fail(reject_reason::wrong_type);
    }
    if (const char* rest = nullptr; doc.current_location().get(rest) == simdjson::SUCCESS) {
      return c_.fail(reject_reason::wrong_type);  // trailing content after the object
    }
    return walk_status::ok;
  }

  // Defender's AdditionalFields names for what apply_ci_fields knows under the event-log
  // names. Values that Defender writes in another form are brought to the event's form;
  // signing levels and status codes that are not numbers are dropped (the column is a
  // string in Defender's schema; an unexpected spelling must not reject the verdict).
  void normalize_ci_fields() {
    auto& fields = c_.fields;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      raw_field f = fields[i];
      if (f.name == "Sha1FlatHash") {
        f.name = "SHA1 Flat Hash";
      } else if (f.name == "Sha256FlatHash") {
        f.name = "SHA256 Flat Hash";
      } else if (f.name == "EtwActivityId") {
        f.name = "ActivityID";
      } else if (f.name == "PolicyId") {
        f.name = "PolicyID";
      } else if (f.name == "RequestedSigningLevel" || f.name == "ValidatedSigningLevel") {
        if (!parse_integer(f.value)) continue;
      } else if (f.name == "StatusCode" || f.name == "Status") {
        const auto status = parse_integer(f.value);
        if (!status) continue;
        if (*status < 0 && *status >= INT32_MIN) {
          // A negative NTSTATUS in decimal: the 32-bit value it stands for.
          std::snprintf(status_buf_, sizeof status_buf_, "0x%08x", static_cast<std::uint32_t>(*status));
          f.value = status_buf_;
        }
        f.name = "Status";
      } else if (f.name == "UserWriteable") {
        const std::string_view v = trim(f.value);
        if (v == "1") f.value = "true";
        else if (v == "0") f.value = "false";
      }
      fields[kept++] = f;
    }
    fields.resize(kept);
  }

  static row_kind resolve(const row_state& r, std::optional<std::int64_t>& event_id) {
    const table hint = r.category != table::unknown ? r.category : r.type;
    const std::string_view action = trim(r.action_type.value);
    const bool ci_action = r.action_type.present && istarts_with(action, "AppControlCodeIntegrity");
    if (ci_action) event_id = ci_event_id(action);
    switch (hint) {
      case table::process_events: return row_kind::process;
      case table::image_load_events: return row_kind::image_load;
      case table::file_certificate_info: return row_kind::certificate;
      case table::device_events: return event_id ? row_kind::code_integrity : row_kind::skip;
      case table::other: return row_kind::skip;
      case table::unknown: break;
    }
    if (r.action_type.present) {
      if (ci_action) return event_id ? row_kind::code_integrity : row_kind::skip;
      if (iequals(action, "ProcessCreated")) return row_kind::process;
      if (iequals(action, "ImageLoaded")) return row_kind::image_load;
      // Another table's row joined with certificate columns: the certificate facts of its file.
      return r.certificate_columns ? row_kind::certificate : row_kind::skip;
    }
    if (r.process_columns) return row_kind::process;
    if (r.certificate_columns) return row_kind::certificate;
    return row_kind::skip;
  }

  walk_status finish_row(row_state& r, observation& o, bool& keep) {
    keep = false;
    std::optional<std::int64_t> event_id;
    const row_kind kind = resolve(r, event_id);
    if (kind == row_kind::skip) return walk_status::ok;
    keep = true;
    // Problems found now are reported at the row's path.
    std::optional<walk_context::scope> in_row;
    if (r.via_properties) in_row.emplace(c_, "properties");

    if (!o.event_time_ms) o.event_time_ms = r.time_generated ? r.time_generated : r.envelope_time;
    set_user(r, o);
    if (kind == row_kind::code_integrity) {
      if (apply_code_integrity(r, *event_id, o) == walk_status::failed) return walk_status::failed;
    } else {
      o.kind = kind == row_kind::process      ? rules::event_kind::process_start
               : kind == row_kind::image_load ? rules::event_kind::image_load
                                              : rules::event_kind::file_certificate;
      if (r.certificate_columns) set_status(r, o);
      // The loading process of an image load (a process row's initiating process is its parent).
      if (kind == row_kind::image_load && r.initiating_folder.has_value()) o.process_path.set(r.initiating_folder.value);
    }
    // The row's path is the judged file, also over a name the Code Integrity fields gave.
    set_image_path(r, o);

    if (!o.event_time_ms) {
      walk_context::scope at(c_, "Timestamp");
      return c_.fail(reject_reason::missing_field);
    }
    if (!o.host_id.has_value() && !o.host_name.has_value()) {
      walk_context::scope at(c_, "DeviceId");
      return c_.fail(reject_reason::missing_field);
    }
    finish_signature(o);
    finish_host(o);
    return walk_status::ok;
  }

  walk_status apply_code_integrity(const row_state& r, std::int64_t event_id, observation& o) {
    {
      walk_context::scope in(c_, "AdditionalFields");
      switch (r.additional) {
        case additional_shape::text:
          if (collect_additional_text(r.additional_text) == walk_status::failed) return walk_status::failed;
          break;
        case additional_shape::other: return c_.fail(reject_reason::wrong_type);
        case additional_shape::object:
        case additional_shape::empty_array:
        case additional_shape::none: break;
      }
      if (r.additional == additional_shape::none || r.additional == additional_shape::empty_array) {
        c_.fields.clear();
      }
      normalize_ci_fields();
      // The row's SHA1/SHA256 are already set: the flat hashes of AdditionalFields, when
      // present, are the same file's and take their place.
      if (apply_ci_fields(c_.fields, event_id, c_, o) == walk_status::failed) return walk_status::failed;
    }
    if (r.initiating_folder.has_value()) {
      o.process_path.set(r.initiating_folder.value);
      if (!o.ci.process_name.present) o.ci.process_name.set(r.initiating_folder.value);
    }
    return walk_status::ok;
  }

  // FolderPath is normally the full path; when it is only the folder, FileName is appended.
  static void set_image_path(const row_state& r, observation& o) {
    const std::string_view folder = r.folder_path.value;
    const std::string_view name = r.file_name.value;
    if (!r.folder_path.present) {
      if (r.file_name.present) o.image_path.set(name);
      return;
    }
    if (name.empty() || folder.empty() || ends_with_component(folder, name)) {
      o.image_path.set(folder.empty() && !name.empty() ? name : folder);
      return;
    }
    auto& path = o.image_path.value;
    path.assign(folder);
    if (folder.back() != '\\' && folder.back() != '/') {
      const bool forward =
          folder.find('\\') == std::string_view::npos && folder.find('/') != std::string_view::npos;
      path.push_back(forward ? '/' : '\\');
    }
    path.append(name);
    o.image_path.present = true;
  }

  static bool ends_with_component(std::string_view path, std::string_view name) {
    if (path.size() < name.size() || !iequals(path.substr(path.size() - name.size()), name)) return false;
    if (path.size() == name.size()) return true;
    const char sep = path[path.size() - name.size() - 1];
    return sep == '\\' || sep == '/';
  }

  // AccountName, else InitiatingProcessAccountName; an empty value only when both are.
  static void set_user(const row_state& r, observation& o) {
    if (r.account.has_value()) o.user_name.set(r.account.value);
    else if (r.initiating_account.has_value()) o.user_name.set(r.initiating_account.value);
    else if (r.account.present || r.initiating_account.present) o.user_name.set({});
  }

  // Defender's status comes from IsTrusted / SignatureState (docs/detections.md section 1):
  // a state column that says something wins; otherwise IsSigned and IsTrusted decide.
  static void set_status(const row_state& r, observation& o) {
    auto& sig = o.signature;
    const std::string_view state = trim(r.signature_state.value);
    if (r.signature_state.present && !state.empty()) {
      std::optional<bool> exists;
      const signature_status status = signature_state_status(state, exists);
      if (!sig.exists && exists) sig.exists = exists;
      if (status != signature_status::unknown) {
        // Signed but not verified: not trusted, whatever the reason.
        const bool invalid = iequals(state, "SignedInvalid") || iequals(state, "Invalid");
        if (invalid && !sig.trusted) sig.trusted = false;
        sig.status = status;
        sig.status_raw.set(r.signature_state.value);
        return;
      }
      // "Unknown" says nothing the booleans do not: they decide when they can.
      if (!status_from_booleans(sig)) {
        sig.status = status;
        sig.status_raw.set(r.signature_state.value);
      }
      return;
    }
    (void)status_from_booleans(sig);
  }

  // IsSigned=false: unsigned; IsSigned and IsTrusted: valid; IsSigned and not IsTrusted:
  // untrusted root (WinVerifyTrust failed: internal PKI, self-signed, ...). False when
  // the booleans do not decide.
  static bool status_from_booleans(rules::code_signature& sig) {
    if (sig.exists == false) {
      sig.status = signature_status::not_signed;
      sig.status_raw.set("IsSigned=false");
      return true;
    }
    if (sig.exists == true && sig.trusted.has_value()) {
      sig.status = *sig.trusted ? signature_status::valid : signature_status::untrusted_root;
      sig.status_raw.set(*sig.trusted ? "IsTrusted=true" : "IsTrusted=false");
      return true;
    }
    return false;
  }

  walk_context& c_;
  observation_batch& out_;
  char status_buf_[24] = {};
};

}  // namespace

walk_status walk_defender(od::object root, walk_context& c, observation_batch& out) {
  defender_walker w(c, out);
  return w.walk(root);
}

}  // namespace countersign::processor::detail
