// Abused code-signing certificate lists: one RFC 4180 reader shared by the three CSV
// formats, a simdjson walker for the abuse.ch JSON export, the lookup index and the
// file watcher.
//
//   file bytes --(BOM strip, NUL check)--> csv_reader / JSON walk --> raw_fields
//     --make_record (normalize serial, thumbprint, issuer, times)--> abused_certificate
//     --list_loader (collect, count rows, refuse files with no usable row)--> result
//
// Invariants: every stored serial/thumbprint is lowercase hex without separators; every
// stored issuer CN is lowercase and trimmed; a skipped row always carries the line it
// starts on.

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <countersign/rules/ascii.hpp>
#include <countersign/rules/cert_intel.hpp>
#include <countersign/rules/time.hpp>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <system_error>
#include <utility>


namespace countersign::rules {
namespace {

// Intel lists are a few MB; anything far larger is a wrong path, not a list.
constexpr std::uintmax_t k_max_file_bytes = std::uintmax_t{256} << 20;
constexpr std::size_t k_sha256_hex = 64;
// RFC 5280 caps serials at 20 octets (40 digits). Lists carry some non-conforming
// certificates, so allow far more, but keep a bound so lookups normalize on the stack.
constexpr std::size_t k_max_serial_hex = 128;
constexpr std::size_t k_max_thumbprint_hex = 128;
constexpr std::string_view k_utf8_bom = "\xEF\xBB\xBF";

using detail::ascii_lower;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Lists write "missing" in several ways; all of them mean an empty field.
std::string_view clean(std::string_view s) noexcept {
  s = trim(s);
  if (s == "-" || iequals(s, "n/a") || iequals(s, "none") || iequals(s, "null")) return {};
  return s;
}

// Untrusted text quoted in an error message: bounded, so a garbage row cannot produce a
// megabyte-long warning.
std::string excerpt(std::string_view s) {
  constexpr std::size_t k_max = 80;
  if (s.size() <= k_max) return std::string(s);
  return std::string(s.substr(0, k_max)) + "...";
}

// Writes `in` as lowercase hex into out[0, cap), dropping whitespace and any character of
// `separators` and, when allowed, a leading "0x". nullopt when a non-hex character is
// left or the result does not fit.
std::optional<std::size_t> normalize_hex(std::string_view in, bool allow_0x, std::string_view separators,
                                         char* out, std::size_t cap) noexcept {
  in = trim(in);
  if (allow_0x && in.size() >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) in.remove_prefix(2);
  std::size_t n = 0;
  for (const char c : in) {
    if (is_space(c) || separators.find(c) != std::string_view::npos) continue;
    if (!is_hex(c) || n == cap) return std::nullopt;
    out[n++] = ascii_lower(c);
  }
  return n;
}

// Serials are written "0a:1b", "0A 1B", "0x0a1b" or "a1b" by different tools; the
// lookup key drops the leading zeros that DER sign padding adds or omits.
using serial_buffer = std::array<char, k_max_serial_hex>;
std::optional<std::string_view> serial_key(std::string_view serial, serial_buffer& buf) noexcept {
  const auto n = normalize_hex(serial, true, ":", buf.data(), buf.size());
  if (!n || *n == 0) return std::nullopt;
  std::string_view key(buf.data(), *n);
  const std::size_t first = key.find_first_not_of('0');
  return first == std::string_view::npos ? key.substr(key.size() - 1) : key.substr(first);
}

using thumbprint_buffer = std::array<char, k_max_thumbprint_hex>;
std::optional<std::string_view> thumbprint_hex(std::string_view thumbprint, thumbprint_buffer& buf) noexcept {
  const auto n = normalize_hex(thumbprint, false, ":-", buf.data(), buf.size());
  if (!n) return std::nullopt;
  return std::string_view(buf.data(), *n);
}

// "CN=Sectigo Public Code Signing CA R36, O=Sectigo Limited, C=GB" -> "Sectigo Public
// Code Signing CA R36". Events and lists give the issuer sometimes as a DN, sometimes as
// the bare CN; text without a CN attribute is returned unchanged.
std::string_view common_name(std::string_view issuer) noexcept {
  issuer = trim(issuer);
  for (std::size_t i = 0; i + 3 <= issuer.size(); ++i) {
    if (ascii_lower(issuer[i]) != 'c' || ascii_lower(issuer[i + 1]) != 'n') continue;
    std::size_t eq = i + 2;
    while (eq < issuer.size() && issuer[eq] == ' ') ++eq;
    if (eq >= issuer.size() || issuer[eq] != '=') continue;
    std::size_t before = i;
    while (before > 0 && issuer[before - 1] == ' ') --before;
    if (before != 0 && issuer[before - 1] != ',' && issuer[before - 1] != ';' && issuer[before - 1] != '/' &&
        issuer[before - 1] != '+') {
      continue;  // "cn" inside another attribute's value
    }
    std::string_view value = issuer.substr(eq + 1);
    value = trim(value);
    if (!value.empty() && value.front() == '"') {
      const std::size_t close = value.find('"', 1);
      return close == std::string_view::npos ? value.substr(1) : value.substr(1, close - 1);
    }
    std::size_t end = 0;
    while (end < value.size() && !(value[end] == ',' && (end == 0 || value[end - 1] != '\\'))) ++end;
    return trim(value.substr(0, end));
  }
  return issuer;
}

std::string normalize_issuer(std::string_view issuer) {
  return to_lower(trim(common_name(clean(issuer))));
}

bool is_sha256_name(std::string_view algorithm) noexcept {
  std::array<char, 8> compact{};
  std::size_t n = 0;
  for (const char c : algorithm) {
    if (c == '-' || c == '_' || c == ' ') continue;
    if (n == compact.size()) return false;
    compact[n++] = ascii_lower(c);
  }
  return std::string_view(compact.data(), n) == "sha256";
}

// "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS" (UTC), RFC 3339 with Z or an offset, optionally
// followed by " UTC". Anything else is a missing time: the date columns are informative
// and never worth dropping a listed certificate over.
std::optional<std::int64_t> parse_list_time(std::string_view s) {
  s = clean(s);
  for (const std::string_view suffix : {std::string_view(" UTC"), std::string_view(" GMT")}) {
    if (s.size() > suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix)) {
      s = trim(s.substr(0, s.size() - suffix.size()));
    }
  }
  if (s.size() == 10) {  // a date alone: midnight UTC
    std::array<char, 20> buf{};
    std::copy(s.begin(), s.end(), buf.begin());
    const std::string_view midnight = "T00:00:00Z";
    std::copy(midnight.begin(), midnight.end(), buf.begin() + 10);
    return parse_rfc3339_ms(std::string_view(buf.data(), 20));
  }
  return parse_rfc3339_ms(s);
}

// ---------------------------------------------------------------------------------------
// RFC 4180 reader: quoted fields, doubled quotes, separators and line breaks inside
// quotes, CRLF / LF / CR line ends, a UTF-8 BOM at the start. Lenient where real lists
// are sloppy (spaces around a quoted field, a quote inside an unquoted field), strict
// where leniency would shift columns (text after a closing quote).
class csv_reader {
 public:
  enum class status : std::uint8_t { row, malformed, end };

  // `hash_comments`: a record starting with '#' is a comment line (abuse.ch).
  csv_reader(std::string_view text, bool hash_comments) noexcept : text_(text), comments_(hash_comments) {
    if (text_.starts_with(k_utf8_bom)) text_.remove_prefix(k_utf8_bom.size());
  }

  // The next non-blank record into `fields`; `line` is the line it starts on. On
  // `malformed`, `problem` says why and the reader has moved past the bad record.
  status next(std::vector<std::string>& fields, std::size_t& line, std::string& problem) {
    while (pos_ < text_.size()) {
      line = line_;
      if (comments_ && text_[pos_] == '#') {
        skip_line();
        continue;
      }
      fields.clear();
      if (!read_record(fields, problem)) return status::malformed;
      const bool blank = std::ranges::all_of(fields, [](const std::string& f) { return trim(f).empty(); });
      if (!blank) return status::row;
    }
    return status::end;
  }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  bool at_line_end() const noexcept { return text_[pos_] == '\n' || text_[pos_] == '\r'; }

  void consume_line_end() noexcept {
    if (text_[pos_] == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  void skip_line() noexcept {
    while (!at_end() && !at_line_end()) ++pos_;
    if (!at_end()) consume_line_end();
  }

  bool read_record(std::vector<std::string>& fields, std::string& problem) {
    std::string field;
    for (;;) {
      std::size_t p = pos_;
      while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t')) ++p;
      if (p < text_.size() && text_[p] == '"') {
        pos_ = p + 1;
        if (!read_quoted(field, problem)) return false;
      } else {
        while (!at_end() && text_[pos_] != ',' && !at_line_end()) field.push_back(text_[pos_++]);
      }
      fields.push_back(std::move(field));
      field.clear();
      if (at_end()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      consume_line_end();
      return true;
    }
  }

  bool read_quoted(std::string& field, std::string& problem) {
    for (;;) {
      if (at_end()) {
        problem = "unterminated quoted field";
        return false;
      }
      const char c = text_[pos_++];
      if (c == '"') {
        if (!at_end() && text_[pos_] == '"') {
          field.push_back('"');
          ++pos_;
          continue;
        }
        break;
      }
      if (c == '\n' || (c == '\r' && (at_end() || text_[pos_] != '\n'))) ++line_;
      field.push_back(c);
    }
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t')) ++pos_;
    if (!at_end() && text_[pos_] != ',' && !at_line_end()) {
      problem = "unexpected text after a closing quote";
      skip_line();
      return false;
    }
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  bool comments_;
};

// Header names compared ASCII case-insensitively, with '_' and ' ' equal ("Valid From"
// and "valid_from").
bool header_equals(std::string_view header, std::string_view name) noexcept {
  header = trim(header);
  const auto fold = [](char c) { return c == '_' ? ' ' : ascii_lower(c); };
  return header.size() == name.size() && std::equal(header.begin(), header.end(), name.begin(),
                                                    [&](char a, char b) { return fold(a) == fold(b); });
}

std::optional<std::size_t> find_column(const std::vector<std::string>& header,
                                       std::string_view name) noexcept {
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header_equals(header[i], name)) return i;
  }
  return std::nullopt;
}

std::string_view column(const std::vector<std::string>& fields, std::optional<std::size_t> index) noexcept {
  return index && *index < fields.size() ? std::string_view(fields[*index]) : std::string_view();
}

// ---------------------------------------------------------------------------------------
// One row of any format, before normalization. Views into the row's storage.
struct raw_fields {
  std::string_view serial;
  std::string_view thumbprint;
  std::string_view thumbprint_algorithm;
  std::string_view issuer;
  std::string_view subject;
  std::string reason;
  std::string_view leak_time;
  std::string_view listed;
};

std::expected<abused_certificate, std::string> make_record(const raw_fields& f, const std::string& source) {
  abused_certificate rec;
  if (const std::string_view serial = clean(f.serial); !serial.empty()) {
    serial_buffer buf;
    const auto n = normalize_hex(serial, true, ":", buf.data(), buf.size());
    if (!n || *n == 0) return std::unexpected(fmt::format("serial number '{}' is not hex", excerpt(serial)));
    rec.serial.assign(buf.data(), *n);
  }
  const std::string_view algorithm = clean(f.thumbprint_algorithm);
  // A thumbprint under another named algorithm (SHA-1) is not an error, just not a key
  // this index uses.
  if (const std::string_view thumb = clean(f.thumbprint);
      !thumb.empty() && (algorithm.empty() || is_sha256_name(algorithm))) {
    thumbprint_buffer buf;
    const auto hex = thumbprint_hex(thumb, buf);
    if (!hex) return std::unexpected(fmt::format("thumbprint '{}' is not hex", excerpt(thumb)));
    if (hex->size() == k_sha256_hex) {
      rec.thumbprint_sha256 = *hex;
    } else if (!algorithm.empty() || (hex->size() != 32 && hex->size() != 40)) {
      // 32 or 40 digits with no algorithm named are an MD5 / SHA-1 thumbprint (Windows
      // shows SHA-1): ignored like a named SHA-1. Any other length is corrupt.
      return std::unexpected(
          fmt::format("thumbprint '{}' is not a SHA-256 ({} hex digits)", excerpt(thumb), hex->size()));
    }
  }
  if (rec.serial.empty() && rec.thumbprint_sha256.empty()) {
    return std::unexpected("row names neither a serial number nor a SHA-256 thumbprint");
  }
  rec.issuer_cn = normalize_issuer(f.issuer);
  rec.subject = std::string(clean(f.subject));
  rec.reason = std::string(clean(f.reason));
  rec.leak_time_ms = parse_list_time(f.leak_time);
  rec.listed_ms = parse_list_time(f.listed);
  rec.source = source;
  return rec;
}

// Collects the rows of one file and decides whether the file as a whole is usable.
class list_loader {
 public:
  list_loader(const std::string& path, std::string source) : path_(path), source_(std::move(source)) {}

  void add(std::size_t line, const raw_fields& fields) {
    ++rows_;
    auto rec = make_record(fields, source_);
    if (rec) {
      result_.records.push_back(std::move(*rec));
    } else {
      result_.skipped.push_back({path_, line, std::move(rec.error())});
    }
  }

  void skip(std::size_t line, std::string message) {
    ++rows_;
    result_.skipped.push_back({path_, line, std::move(message)});
  }

  // A file with rows but not one usable is the wrong format or garbage; refusing it
  // keeps a reload from replacing a working list with nothing.
  std::expected<intel_load_result, intel_error> finish() && {
    if (rows_ > 0 && result_.records.empty()) {
      const intel_error& first = result_.skipped.front();
      return std::unexpected(intel_error{
          path_, 0, fmt::format("no usable row in {} rows (line {}: {})", rows_, first.line, first.message)});
    }
    return std::move(result_);
  }

  const std::string& path() const noexcept { return path_; }

 private:
  const std::string& path_;
  std::string source_;
  intel_load_result result_;
  std::size_t rows_ = 0;
};

std::string join_nonempty(std::string_view a, std::string_view b) {
  a = clean(a);
  b = clean(b);
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{}; {}", a, b);
}

// abuse.ch CSV: no header row (the column names sit in a '#' comment), fixed columns
// time stamp, serial number, thumbprint, thumbprint algorithm, reason.
std::expected<intel_load_result, intel_error> load_abusech_csv(std::string_view text, list_loader loader) {
  csv_reader reader(text, true);
  std::vector<std::string> fields;
  std::string problem;
  std::size_t line = 0;
  bool first = true;
  for (auto st = reader.next(fields, line, problem); st != csv_reader::status::end;
       st = reader.next(fields, line, problem)) {
    if (st == csv_reader::status::malformed) {
      loader.skip(line, problem);
      first = false;
      continue;
    }
    // Tolerate a copy of the list whose header line lost its '#'.
    if (first && fields.size() >= 2 && header_equals(fields[1], "serial number")) {
      first = false;
      continue;
    }
    first = false;
    constexpr std::size_t k_columns = 5;
    if (fields.size() < k_columns) {
      loader.skip(line, fmt::format("expected {} fields, got {}", k_columns, fields.size()));
      continue;
    }
    raw_fields f;
    f.listed = fields[0];
    f.serial = fields[1];
    f.thumbprint = fields[2];
    f.thumbprint_algorithm = fields[3];
    f.reason = std::string(clean(fields[4]));
    loader.add(line, f);
  }
  return std::move(loader).finish();
}

// LoLCerts and Cert Graveyard: a header row names the columns; rows are mapped by name
// so column order and extra columns do not matter.
struct header_columns {
  std::vector<std::string> header;
  std::size_t line = 0;
};

std::expected<header_columns, intel_error> read_header(csv_reader& reader, const std::string& path,
                                                       std::initializer_list<std::string_view> required) {
  header_columns h;
  std::string problem;
  const auto st = reader.next(h.header, h.line, problem);
  if (st == csv_reader::status::end)
    return std::unexpected(intel_error{path, 0, "empty file: no header row"});
  if (st == csv_reader::status::malformed) {
    return std::unexpected(intel_error{path, h.line, fmt::format("unreadable header row: {}", problem)});
  }
  for (const std::string_view name : required) {
    if (!find_column(h.header, name)) {
      return std::unexpected(intel_error{
          path, h.line, fmt::format("header has no '{}' column: wrong format for this list", name)});
    }
  }
  return h;
}

// Runs `map_row` over each data row that has the header's shape.
template <typename MapRow>
void for_each_data_row(csv_reader& reader, const header_columns& h, list_loader& loader, MapRow map_row) {
  std::vector<std::string> fields;
  std::string problem;
  std::size_t line = 0;
  for (auto st = reader.next(fields, line, problem); st != csv_reader::status::end;
       st = reader.next(fields, line, problem)) {
    if (st == csv_reader::status::malformed) {
      loader.skip(line, problem);
      continue;
    }
    // A different field count means an unquoted separator somewhere: the columns cannot
    // be trusted. Trailing empty fields are harmless.
    const bool extra_nonempty =
        fields.size() > h.header.size() &&
        std::any_of(fields.begin() + static_cast<std::ptrdiff_t>(h.header.size()), fields.end(),
                    [](const std::string& f) { return !trim(f).empty(); });
    if (fields.size() < h.header.size() || extra_nonempty) {
      loader.skip(line,
                  fmt::format("expected {} fields as in the header, got {}", h.header.size(), fields.size()));
      continue;
    }
    loader.add(line, map_row(fields));
  }
}

std::expected<intel_load_result, intel_error> load_lolcerts_csv(std::string_view text, list_loader loader) {
  csv_reader reader(text, false);
  auto h = read_header(reader, loader.path(), {"serial", "issuer"});
  if (!h) return std::unexpected(std::move(h.error()));
  const auto name = find_column(h->header, "name");
  const auto status = find_column(h->header, "status");
  const auto description = find_column(h->header, "description");
  const auto date = find_column(h->header, "date");
  const auto issuer = find_column(h->header, "issuer");
  const auto timestamp = find_column(h->header, "timestamp");
  const auto serial = find_column(h->header, "serial");
  for_each_data_row(reader, *h, loader, [&](const std::vector<std::string>& row) {
    raw_fields f;
    f.serial = column(row, serial);
    f.issuer = column(row, issuer);
    f.subject = column(row, name);
    f.reason = join_nonempty(column(row, status), column(row, description));
    f.leak_time = column(row, timestamp);
    f.listed = column(row, date);
    return f;
  });
  return std::move(loader).finish();
}

std::expected<intel_load_result, intel_error> load_certgraveyard_csv(std::string_view text,
                                                                     list_loader loader) {
  csv_reader reader(text, false);
  auto h = read_header(reader, loader.path(), {"serial", "issuer"});
  if (!h) return std::unexpected(std::move(h.error()));
  const auto malware = find_column(h->header, "malware");
  const auto signer = find_column(h->header, "signer");
  const auto issuer = find_column(h->header, "issuer");
  const auto serial = find_column(h->header, "serial");
  const auto thumbprint = find_column(h->header, "thumbprint");
  for_each_data_row(reader, *h, loader, [&](const std::vector<std::string>& row) {
    raw_fields f;
    f.serial = column(row, serial);
    f.thumbprint = column(row, thumbprint);
    f.issuer = column(row, issuer);
    f.subject = column(row, signer);
    f.reason = std::string(clean(column(row, malware)));
    return f;
  });
  return std::move(loader).finish();
}

// ---------------------------------------------------------------------------------------
// abuse.ch JSON. The whole document is validated with the DOM parser first (invalid
// JSON refuses the file); the records are then walked with On-Demand, which gives each
// record's byte offset and so the line a skipped record starts on.
namespace od = simdjson::ondemand;

// Line numbers for increasing byte offsets.
class line_counter {
 public:
  explicit line_counter(std::string_view text) noexcept : text_(text) {}
  std::size_t line_at(std::size_t offset) noexcept {
    offset = std::min(offset, text_.size());
    if (offset < pos_) {
      pos_ = 0;
      line_ = 1;
    }
    line_ += static_cast<std::size_t>(std::count(text_.begin() + static_cast<std::ptrdiff_t>(pos_),
                                                 text_.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
    pos_ = offset;
    return line_;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

class json_walker {
 public:
  json_walker(const simdjson::padded_string& json, list_loader& loader)
      : json_(json), lines_(json), loader_(loader) {}

  // One value that should be a record.
  simdjson::error_code record(od::value value) {
    const std::size_t line = line_of(value);
    od::json_type type{};
    if (auto err = value.type().get(type)) return err;
    if (type != od::json_type::object) {
      loader_.skip(line, "record is not a JSON object");
      return simdjson::SUCCESS;
    }
    od::object obj;
    if (auto err = value.get_object().get(obj)) return err;
    raw_fields f;
    std::string wrong_type;
    for (auto field_result : obj) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return err;
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return err;
      std::string_view* target = target_of(key, f);
      if (target == nullptr && !is_reason_key(key)) continue;
      od::json_type vt{};
      if (auto err = field.value().type().get(vt)) return err;
      if (vt == od::json_type::null) continue;
      if (vt != od::json_type::string) {
        // A number where a serial belongs could be decimal or hex: refuse to guess.
        if (target == &f.serial || target == &f.thumbprint) wrong_type = key;
        continue;
      }
      std::string_view text;
      if (auto err = field.value().get_string().get(text)) return err;
      if (target != nullptr) {
        if (target->empty()) *target = text;  // the first of several synonyms wins
      } else if (f.reason.empty()) {
        f.reason = std::string(clean(text));
      }
    }
    if (!wrong_type.empty()) {
      loader_.skip(line, fmt::format("'{}' is not a string", wrong_type));
    } else {
      loader_.add(line, f);
    }
    return simdjson::SUCCESS;
  }

  simdjson::error_code records_in(od::array array) {
    for (auto element : array) {
      od::value v;
      if (auto err = std::move(element).get(v)) return err;
      if (auto err = record(v)) return err;
    }
    return simdjson::SUCCESS;
  }

 private:
  std::size_t line_of(od::value& value) {
    const char* at = nullptr;
    if (value.current_location().get(at) != simdjson::SUCCESS || at < json_.data()) return 0;
    return lines_.line_at(static_cast<std::size_t>(at - json_.data()));
  }

  static bool is_reason_key(std::string_view key) noexcept {
    return iequals(key, "reason") || iequals(key, "cscb_reason") || iequals(key, "malware");
  }

  // String fields this loader reads, with the synonyms abuse.ch exports have used.
  static std::string_view* target_of(std::string_view key, raw_fields& f) noexcept {
    if (iequals(key, "serial_number") || iequals(key, "serial")) return &f.serial;
    if (iequals(key, "thumbprint") || iequals(key, "thumbprint_sha256")) return &f.thumbprint;
    if (iequals(key, "thumbprint_algorithm")) return &f.thumbprint_algorithm;
    if (iequals(key, "issuer_cn") || iequals(key, "issuer")) return &f.issuer;
    if (iequals(key, "subject_cn") || iequals(key, "subject")) return &f.subject;
    if (iequals(key, "first_seen") || iequals(key, "first_seen_utc") || iequals(key, "time_stamp") ||
        iequals(key, "timestamp")) {
      return &f.listed;
    }
    return nullptr;
  }

  const simdjson::padded_string& json_;
  line_counter lines_;
  list_loader& loader_;
};

std::expected<intel_load_result, intel_error> load_abusech_json(std::string_view text, list_loader loader) {
  if (text.starts_with(k_utf8_bom)) text.remove_prefix(k_utf8_bom.size());
  const simdjson::padded_string json(text);
  const auto invalid = [&](simdjson::error_code err) {
    return std::unexpected(
        intel_error{loader.path(), 0, fmt::format("invalid JSON: {}", simdjson::error_message(err))});
  };
  {
    simdjson::dom::parser dom;
    simdjson::dom::element root;
    if (auto err = dom.parse(json).get(root)) return invalid(err);
    if (!root.is_array() && !root.is_object()) {
      return std::unexpected(intel_error{loader.path(), 0, "expected a JSON array or object of records"});
    }
  }
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(json).get(doc)) return invalid(err);
  json_walker walker(json, loader);
  od::json_type type{};
  if (auto err = doc.type().get(type)) return invalid(err);
  if (type == od::json_type::array) {
    od::array array;
    if (auto err = doc.get_array().get(array)) return invalid(err);
    if (auto err = walker.records_in(array)) return invalid(err);
  } else {
    // An object keyed by record id whose values are records; values that are arrays of
    // records ({"data": [...]}) are accepted too; scalars (a status field) are ignored.
    od::object obj;
    if (auto err = doc.get_object().get(obj)) return invalid(err);
    for (auto field_result : obj) {
      od::field field;
      if (auto err = std::move(field_result).get(field)) return invalid(err);
      od::json_type vt{};
      if (auto err = field.value().type().get(vt)) return invalid(err);
      if (vt == od::json_type::object) {
        if (auto err = walker.record(field.value())) return invalid(err);
      } else if (vt == od::json_type::array) {
        od::array array;
        if (auto err = field.value().get_array().get(array)) return invalid(err);
        if (auto err = walker.records_in(array)) return invalid(err);
      }
    }
  }
  return std::move(loader).finish();
}

// ---------------------------------------------------------------------------------------
std::expected<std::string, intel_error> read_file(const std::string& path) {
  const auto fail = [&](std::string message) {
    return std::unexpected(intel_error{path, 0, std::move(message)});
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory, not a list file");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return fail(fmt::format("cannot read: {}", ec.message()));
  if (size > k_max_file_bytes)
    return fail(fmt::format("file is {} bytes, more than the {} allowed", size, k_max_file_bytes));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return fail(fmt::format("cannot open: {}", std::strerror(errno)));
  std::string text;
  std::array<char, 65536> buf;
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), file.get());
    text.append(buf.data(), n);
    if (text.size() > k_max_file_bytes) return fail("file grew past the size allowed while being read");
    if (n < buf.size()) break;
  }
  if (std::ferror(file.get()) != 0) return fail(fmt::format("read error: {}", std::strerror(errno)));
  return text;
}

std::string_view source_prefix(intel_format format) noexcept {
  switch (format) {
    case intel_format::abusech_csv:
    case intel_format::abusech_json:
      return "abuse.ch";
    case intel_format::lolcerts_csv:
      return "lolcerts";
    case intel_format::certgraveyard_csv:
      return "certgraveyard";
  }
  return "unknown";
}

}  // namespace

std::string_view to_string(intel_format format) noexcept {
  switch (format) {
    case intel_format::abusech_csv:
      return "abusech-csv";
    case intel_format::abusech_json:
      return "abusech-json";
    case intel_format::lolcerts_csv:
      return "lolcerts-csv";
    case intel_format::certgraveyard_csv:
      return "certgraveyard-csv";
  }
  return "unknown";
}

std::optional<intel_format> parse_intel_format(std::string_view text) noexcept {
  for (const auto f : {intel_format::abusech_csv, intel_format::abusech_json, intel_format::lolcerts_csv,
                       intel_format::certgraveyard_csv}) {
    if (iequals(text, to_string(f))) return f;
  }
  return std::nullopt;
}

std::expected<intel_load_result, intel_error> load_intel_file(const std::string& path, intel_format format) {
  auto text = read_file(path);
  if (!text) return std::unexpected(std::move(text.error()));
  // A NUL never occurs in a text list; binary content would otherwise turn into a
  // stream of confusing per-row errors.
  if (const std::size_t nul = text->find('\0'); nul != std::string::npos) {
    return std::unexpected(intel_error{path, 0, fmt::format("binary content (NUL byte at offset {})", nul)});
  }
  list_loader loader(
      path, fmt::format("{}:{}", source_prefix(format), std::filesystem::path(path).filename().string()));
  switch (format) {
    case intel_format::abusech_csv:
      return load_abusech_csv(*text, std::move(loader));
    case intel_format::abusech_json:
      return load_abusech_json(*text, std::move(loader));
    case intel_format::lolcerts_csv:
      return load_lolcerts_csv(*text, std::move(loader));
    case intel_format::certgraveyard_csv:
      return load_certgraveyard_csv(*text, std::move(loader));
  }
  return std::unexpected(intel_error{path, 0, "unknown list format"});
}

// ---------------------------------------------------------------------------------------
cert_intel::cert_intel(std::vector<abused_certificate> records) : records_(std::move(records)) {
  for (std::size_t i = 0; i < records_.size(); ++i) {
    const abused_certificate& rec = records_[i];
    if (!rec.thumbprint_sha256.empty()) thumbprints_.try_emplace(rec.thumbprint_sha256, i);
    serial_buffer buf;
    const auto key = serial_key(rec.serial, buf);
    if (!key) continue;
    auto& listed = serials_[std::string(*key)];
    // One entry per issuer: the first record for (issuer, serial) wins.
    const bool seen =
        std::ranges::any_of(listed, [&](std::size_t j) { return records_[j].issuer_cn == rec.issuer_cn; });
    if (!seen) listed.push_back(i);
  }
}

const abused_certificate* cert_intel::by_thumbprint(std::string_view sha256_hex) const noexcept {
  thumbprint_buffer buf;
  const auto hex = thumbprint_hex(sha256_hex, buf);
  if (!hex || hex->size() != k_sha256_hex) return nullptr;
  const auto it = thumbprints_.find(*hex);
  return it == thumbprints_.end() ? nullptr : &records_[it->second];
}

const abused_certificate* cert_intel::by_issuer_serial(std::string_view issuer_cn,
                                                       std::string_view serial) const noexcept {
  serial_buffer buf;
  const auto key = serial_key(serial, buf);
  if (!key) return nullptr;
  const auto it = serials_.find(*key);
  if (it == serials_.end()) return nullptr;
  const std::string_view issuer = trim(common_name(issuer_cn));
  const abused_certificate* serial_only = nullptr;
  for (const std::size_t i : it->second) {
    const abused_certificate& rec = records_[i];
    if (rec.issuer_cn.empty()) {
      serial_only = &rec;
    } else if (!issuer.empty() && iequals(rec.issuer_cn, issuer)) {
      return &rec;
    }
  }
  return serial_only;
}

// ---------------------------------------------------------------------------------------
intel_watcher::intel_watcher(std::vector<intel_source> sources) {
  sources_.reserve(sources.size());
  for (auto& s : sources) sources_.push_back(source_state{std::move(s), std::nullopt, 0, false, {}});
}

intel_watcher::reload_report intel_watcher::reload() {
  reload_report report;
  bool changed = current_ == nullptr;
  for (source_state& st : sources_) {
    const std::string& path = st.source.path;
    // Stat before reading: a write that lands after the read shows up as a newer mtime
    // on the next reload instead of being missed.
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(path, ec);
    std::uintmax_t size = 0;
    if (!ec) size = std::filesystem::file_size(path, ec);
    if (ec) {
      report.errors.push_back(
          {path, 0, fmt::format("cannot read: {}; keeping the previous records", ec.message())});
      st.failed = true;
      continue;
    }
    if (!st.failed && st.mtime == mtime && st.size == size) continue;
    st.mtime = mtime;
    st.size = size;
    auto loaded = load_intel_file(path, st.source.format);
    if (!loaded) {
      intel_error err = std::move(loaded.error());
      err.message += "; keeping the previous records";
      report.errors.push_back(std::move(err));
      st.failed = true;
      continue;
    }
    st.failed = false;
    for (intel_error& e : loaded->skipped) report.errors.push_back(std::move(e));
    if (loaded->records != st.records) {
      st.records = std::move(loaded->records);
      changed = true;
    }
  }
  if (changed) {
    std::vector<abused_certificate> all;
    std::size_t total = 0;
    for (const source_state& st : sources_) total += st.records.size();
    all.reserve(total);
    for (const source_state& st : sources_) all.insert(all.end(), st.records.begin(), st.records.end());
    current_ = std::make_shared<const cert_intel>(std::move(all));
  }
  report.changed = changed;
  report.records = current_->size();
  return report;
}

}  // namespace countersign::rules
