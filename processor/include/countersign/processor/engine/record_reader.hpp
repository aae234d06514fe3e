#pragma once
// Reads the input messages of one file (or stdin), whatever shape the file has, one at a
// time, for `replay` and `inspect`. The shape is decided by content, not by extension:
//
//   evtx    the file starts with "ElfFile\0": Windows event log records read with libevtx,
//           each rendered as evtx_dump-style JSON ({"Event":{"System":...,"EventData":...}});
//           position = record number (1-based)
//   ndjson  the first non-blank line is a complete JSON value on its own: one message per
//           line (CRLF allowed, blank lines skipped and counted, a malformed line is its own
//           message); position = line number
//   xml     the first non-blank line starts with '<': Windows event XML (wevtutil qe
//           /f:xml, Get-WinEvent ToXml(), with or without an <Events> wrapper); each
//           <Event> element rendered like an .evtx record; position = line of its start
//   json    otherwise: JSON documents one after another (pretty-printed, concatenated,
//           with or without separators; a single document is one message); found by
//           balancing braces and brackets outside strings; position = line of the start
//
// In both text shapes a top-level array whose elements are objects yields one message
// per element. Reading streams through a buffer that grows to the largest record, so a
// file of any size is read in bounded memory.
//
// A record_reader belongs to one thread; the messages it returns are valid until the
// next call to next().

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::processor {

enum class input_format : std::uint8_t { ndjson, json, evtx, xml };
inline constexpr std::size_t k_input_format_count = 4;

[[nodiscard]] std::string_view to_string(input_format f) noexcept;

// One message: its bytes and where it starts (line number or evtx record number).
struct input_record {
  std::string_view bytes;
  std::int64_t position = 0;
};

// The file cannot be read further (open failure, I/O error, corrupt or truncated evtx).
// Records before it were returned; the reader returns nothing more after it.
struct read_error {
  std::string message;        // names the file and, when known, the record
  std::int64_t position = 0;  // the record (or line) that could not be read; 0 at open
  std::string detail;         // the system's or libevtx's own words, when there are any
};

struct record_reader_options {
  // A text record longer than this is cut: an NDJSON line is returned truncated (the
  // pipeline rejects it as too_large), a JSON document stops the file with an error.
  std::size_t max_record_bytes = 256ULL << 20;
};

class record_reader {
 public:
  // Opens `path` ("-" is stdin) and decides its format from the first bytes.
  [[nodiscard]] static std::expected<std::unique_ptr<record_reader>, read_error> open(
      const std::string& path, record_reader_options options = {});
  virtual ~record_reader();
  record_reader(const record_reader&) = delete;
  record_reader& operator=(const record_reader&) = delete;

  // The next message; nullopt at the end of the file. After an error, nullopt.
  [[nodiscard]] virtual std::expected<std::optional<input_record>, read_error> next() = 0;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] input_format format() const noexcept { return format_; }
  // Progress: bytes consumed so far, and the file size when it is a regular file.
  [[nodiscard]] virtual std::uint64_t bytes_read() const noexcept = 0;
  [[nodiscard]] std::optional<std::uint64_t> total_bytes() const noexcept { return total_bytes_; }
  // Text shapes: blank lines skipped (NDJSON) so far.
  [[nodiscard]] virtual std::uint64_t blank_lines() const noexcept { return 0; }
  // evtx: records libevtx recovered from a dirty file's slack (not yielded), and whether
  // the header marked the file as not cleanly closed.
  [[nodiscard]] virtual std::uint64_t recovered_records() const noexcept { return 0; }
  [[nodiscard]] virtual bool dirty() const noexcept { return false; }

 protected:
  record_reader(std::string path, input_format format, std::optional<std::uint64_t> total)
      : path_(std::move(path)), format_(format), total_bytes_(total) {}

 private:
  std::string path_;
  input_format format_;
  std::optional<std::uint64_t> total_bytes_;
};

// The progress line `replay` and `inspect` show on a terminal: events, events/s, bytes and
// an ETA for files of known size, redrawn at most four times a second on `out` (stderr).
// Disabled (every call a no-op) when `out` is not a terminal. Single-threaded.
class progress_meter {
 public:
  explicit progress_meter(bool enabled);
  ~progress_meter();
  progress_meter(const progress_meter&) = delete;
  progress_meter& operator=(const progress_meter&) = delete;

  // Whether stderr is a terminal (the callers' default for `enabled`).
  [[nodiscard]] static bool stderr_is_terminal() noexcept;

  // One more event of `reader`; redraws when the last draw is old enough.
  void tick(const record_reader& reader) {
    ++events_;
    if (enabled_ && (events_ & 0xFF) == 0) draw(reader, false);
  }
  // Erases the line (before other output on stderr and at the end).
  void clear();

 private:
  void draw(const record_reader& reader, bool force);
  bool enabled_;
  bool shown_ = false;
  std::uint64_t events_ = 0;
  std::int64_t start_ns_ = 0;
  std::int64_t last_draw_ns_ = 0;
};

// evtx: renders one record's XML (as libevtx writes it) into evtx_dump-style JSON,
// appended to `out`. GUID braces are dropped, SystemTime keeps microseconds, zero-padded
// hex numbers lose their padding, and the System numbers (EventID, Version, Level, Task,
// Opcode, EventRecordID, ProcessID, ThreadID) are JSON numbers, as evtx_dump writes them.
// Returns false (and `out` unspecified) when the XML is not well-formed.
[[nodiscard]] bool evtx_xml_to_json(std::string_view xml, std::string& out);

}  // namespace countersign::processor
