#pragma once
// Abused code-signing certificate lists (docs/detections.md section 3, `cs.intel.abused_certificate`).
//
// Three publishers, four file formats: the abuse.ch Code Signing Certificate Blocklist
// (CSV and JSON), WithSecure LoLCerts (CSV) and Cert Graveyard (CSV). The processor never
// fetches them; operators drop files on disk and `intel_watcher` picks up changes.
//
// Loading is start-up / reload work, never the hot path: a bad row is skipped and
// reported with file and line, good rows are kept; a file that cannot be read, has the
// wrong header, is not valid JSON, or yields no usable row at all is refused as a whole
// so that a truncated or garbled replacement never empties a list that was working.
//
// Lookups (`cert_intel`) are on the hot path: they normalize their inputs into stack
// buffers and allocate nothing.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace countersign::rules {

enum class intel_format : std::uint8_t { abusech_csv, abusech_json, lolcerts_csv, certgraveyard_csv };

// "abusech-csv", "abusech-json", "lolcerts-csv", "certgraveyard-csv".
[[nodiscard]] std::string_view to_string(intel_format format) noexcept;
// Inverse of to_string; ASCII case-insensitive. nullopt for anything else.
[[nodiscard]] std::optional<intel_format> parse_intel_format(std::string_view text) noexcept;

// One certificate a list names as abused. Identified by its SHA-256 thumbprint, by
// (issuer CN, serial), or by serial alone when the list gives no issuer.
struct abused_certificate {
  std::string serial;                        // lowercase hex, no separators or "0x"; leading zeros as listed
  std::string thumbprint_sha256;             // lowercase hex (64 digits) or empty
  std::string issuer_cn;                     // lowercase, trimmed, CN taken out of a DN; may be empty
  std::string subject;                       // signer / subject CN / name as the list gives it; may be empty
  std::string reason;                        // malware family, status, description
  std::optional<std::int64_t> leak_time_ms;  // LoLCerts timestamp, when known
  std::optional<std::int64_t> listed_ms;     // first seen / date
  std::string source;                        // "abuse.ch:", "lolcerts:", "certgraveyard:" + file name

  friend bool operator==(const abused_certificate&, const abused_certificate&) = default;
};

struct intel_error {
  std::string file;
  std::size_t line = 0;  // 1-based line the row starts on; 0 = the whole file
  std::string message;

  friend bool operator==(const intel_error&, const intel_error&) = default;
};

struct intel_load_result {
  std::vector<abused_certificate> records;
  std::vector<intel_error> skipped;  // rows that were dropped, with the reason
};

// Reads and parses one list. Bad rows are skipped and reported in `skipped`; the whole
// file is an error when unreadable, binary, missing its header (CSV formats with one),
// invalid JSON, or when it has rows but none of them is usable.
[[nodiscard]] std::expected<intel_load_result, intel_error> load_intel_file(const std::string& path,
                                                                            intel_format format);

// An index over loaded records. Immutable after construction, so one instance can be
// shared by every worker thread (hold it through shared_ptr<const cert_intel>). When
// several records share a key, the first one given wins.
class cert_intel {
 public:
  cert_intel() = default;
  explicit cert_intel(std::vector<abused_certificate> records);

  // `sha256_hex` in any case, with or without ':' / '-' / space separators. nullptr when
  // not listed or not a SHA-256 hex string.
  [[nodiscard]] const abused_certificate* by_thumbprint(std::string_view sha256_hex) const noexcept;

  // `serial` in any case, with ':' or spaces, "0x" prefix or leading zeros; `issuer_cn`
  // compared ASCII case-insensitively (a full DN is reduced to its CN). A record with an
  // issuer matches only that issuer; a record without one (abuse.ch CSV) matches the
  // serial under any issuer. A record for the same serial and issuer is preferred over
  // an issuer-less one.
  [[nodiscard]] const abused_certificate* by_issuer_serial(std::string_view issuer_cn,
                                                           std::string_view serial) const noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return records_.size(); }
  [[nodiscard]] const std::vector<abused_certificate>& records() const noexcept { return records_; }

 private:
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<abused_certificate> records_;
  std::unordered_map<std::string, std::size_t, key_hash, std::equal_to<>> thumbprints_;
  // Serial with leading zeros stripped -> indexes of the records listing it (one per issuer).
  std::unordered_map<std::string, std::vector<std::size_t>, key_hash, std::equal_to<>> serials_;
};

struct intel_source {
  std::string path;
  intel_format format;
};

// Keeps the lists current. `reload` re-reads each source whose modification time or size
// changed (and retries any source whose last attempt failed); a source that fails keeps
// its previous records and the error is reported on every reload until it loads again.
// Owned and called by one thread (the reload timer); readers only ever see the
// shared_ptr<const cert_intel> that thread publishes.
class intel_watcher {
 public:
  explicit intel_watcher(std::vector<intel_source> sources);

  struct reload_report {
    bool changed = false;  // a new cert_intel was built (always true on the first call)
    std::vector<intel_error> errors;
    std::size_t records = 0;  // records in current() after this reload
  };
  // The first call loads every source.
  [[nodiscard]] reload_report reload();
  // Never null after the first reload (possibly empty).
  [[nodiscard]] std::shared_ptr<const cert_intel> current() const { return current_; }

 private:
  struct source_state {
    intel_source source;
    std::optional<std::filesystem::file_time_type> mtime;  // of the last load attempt
    std::uintmax_t size = 0;
    bool failed = false;  // the last attempt failed: retry even if the file looks unchanged
    std::vector<abused_certificate> records;
  };
  std::vector<source_state> sources_;
  std::shared_ptr<const cert_intel> current_;
};

}  // namespace countersign::rules
