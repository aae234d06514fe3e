// record_reader: format detection and the text shapes (NDJSON lines, concatenated JSON
// documents, event XML). The evtx shape and the XML-to-JSON rendering live in
// evtx_file.cpp.
//
// Text reading keeps one buffer: [start_, end_) holds bytes not yet returned, pos_ is
// where scanning stopped. fill() moves the unreturned bytes to the front before reading
// more, so the buffer only grows when one record does not fit.

#include "evtx_file.hpp"

#include <countersign/processor/engine/record_reader.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace countersign::processor {

std::string_view to_string(input_format f) noexcept {
  switch (f) {
    case input_format::ndjson: return "ndjson";
    case input_format::json: return "json";
    case input_format::evtx: return "evtx";
    case input_format::xml: return "xml";
  }
  return "unknown";
}

record_reader::~record_reader() = default;

namespace {

constexpr std::string_view k_evtx_magic{"ElfFile\0", 8};
constexpr std::string_view k_utf8_bom{"\xEF\xBB\xBF"};
constexpr std::size_t k_read_chunk = 64 * 1024;

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Finds where a JSON value that starts with '{', '[' or '"' ends, fed in pieces: tracks
// nesting outside strings and backslash escapes inside them. It does not validate.
constexpr std::array<bool, 256> k_interesting = [] {
  std::array<bool, 256> t{};
  for (const unsigned char c : {'"', '\\', '{', '}', '[', ']', '\n'}) t[c] = true;
  return t;
}();

struct balance_scanner {
  std::int64_t depth = 0;
  bool in_string = false;
  bool escape = false;

  // Scans s[from, n); returns the index one past the value's last byte, or n when the
  // value goes on. Newlines seen are added to `lines`.
  std::size_t feed(const char* s, std::size_t from, std::size_t n, std::int64_t& lines) noexcept {
    for (std::size_t i = from; i < n; ++i) {
      // Most bytes are none of the seven that matter: skip them in a tight loop.
      if (!escape) {
        while (i < n && !k_interesting[static_cast<unsigned char>(s[i])]) ++i;
        if (i == n) break;
      }
      const char c = s[i];
      if (c == '\n') ++lines;
      if (in_string) {
        if (escape) {
          escape = false;
        } else if (c == '\\') {
          escape = true;
        } else if (c == '"') {
          in_string = false;
          if (depth == 0) return i + 1;
        }
        continue;
      }
      switch (c) {
        case '"': in_string = true; break;
        case '{':
        case '[': ++depth; break;
        case '}':
        case ']':
          if (--depth <= 0) return i + 1;
          break;
        default: break;
      }
    }
    return n;
  }
};

// Whether `text` (trimmed) is one complete '{' or '[' value with nothing after it.
bool complete_value(std::string_view text) {
  std::size_t b = 0;
  while (b < text.size() && is_space(text[b])) ++b;
  if (b == text.size() || (text[b] != '{' && text[b] != '[')) return false;
  balance_scanner scan;
  std::int64_t lines = 0;
  const std::size_t end = scan.feed(text.data(), b, text.size(), lines);
  if (scan.depth > 0 || scan.in_string) return false;
  for (std::size_t i = end; i < text.size(); ++i) {
    if (!is_space(text[i])) return false;
  }
  return true;
}

// The elements of `text` when it is a top-level array of objects and nothing else.
bool split_object_array(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  skip();
  if (i == text.size() || text[i] != '[') return false;
  ++i;
  for (;;) {
    skip();
    if (i == text.size() || text[i] != '{') return false;
    balance_scanner scan;
    std::int64_t lines = 0;
    const std::size_t end = scan.feed(text.data(), i, text.size(), lines);
    if (scan.depth > 0 || scan.in_string) return false;
    out.push_back(text.substr(i, end - i));
    i = end;
    skip();
    if (i == text.size()) return false;
    if (text[i] == ',') {
      ++i;
      continue;
    }
    if (text[i] != ']') return false;
    ++i;
    skip();
    return i == text.size();
  }
}

// Export envelopes: one object whose only key holds the events as an array of objects.
// Elastic's ingest-pipeline test files ({"events": [...]}), Azure Monitor / Event Hubs
// exports ({"records": [...]}) and CloudTrail-style files ({"Records": [...]}). Each
// element is one record; an envelope with any other key is left whole (one message).
constexpr std::array<std::string_view, 3> k_envelope_keys = {"events", "records", "Records"};

bool split_envelope(std::string_view text, std::vector<std::string_view>& out) {
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  skip();
  if (i == text.size() || text[i] != '{') return false;
  ++i;
  skip();
  if (i == text.size() || text[i] != '"') return false;
  const std::size_t key_end = text.find('"', i + 1);
  if (key_end == std::string_view::npos) return false;
  const std::string_view key = text.substr(i + 1, key_end - i - 1);
  if (std::find(k_envelope_keys.begin(), k_envelope_keys.end(), key) == k_envelope_keys.end()) return false;
  i = key_end + 1;
  skip();
  if (i == text.size() || text[i] != ':') return false;
  ++i;
  skip();
  if (i == text.size() || text[i] != '[') return false;
  balance_scanner scan;
  std::int64_t lines = 0;
  const std::size_t array_end = scan.feed(text.data(), i, text.size(), lines);
  if (scan.depth > 0 || scan.in_string) return false;
  std::size_t j = array_end;
  while (j < text.size() && is_space(text[j])) ++j;
  if (j == text.size() || text[j] != '}') return false;
  for (++j; j < text.size(); ++j) {
    if (!is_space(text[j])) return false;
  }
  return split_object_array(text.substr(i, array_end - i), out) && !out.empty();
}

// Reads from a file descriptor into a growing buffer; see the file comment.
class text_reader final : public record_reader {
 public:
  text_reader(std::string path, input_format format, std::optional<std::uint64_t> total, int fd, bool owns_fd,
              std::vector<char> initial, std::size_t initial_size, std::size_t skip, std::uint64_t bytes_read,
              bool eof, record_reader_options options)
      : record_reader(std::move(path), format, total),
        fd_(fd),
        owns_fd_(owns_fd),
        buf_(std::move(initial)),
        start_(skip),
        pos_(skip),
        end_(initial_size),
        eof_(eof),
        bytes_read_(bytes_read),
        options_(options) {
    if (buf_.size() < k_read_chunk) buf_.resize(k_read_chunk);
  }
  ~text_reader() override {
    if (owns_fd_) ::close(fd_);
  }
  text_reader(const text_reader&) = delete;
  text_reader& operator=(const text_reader&) = delete;

  std::expected<std::optional<input_record>, read_error> next() override {
    if (failed_) return std::nullopt;
    auto r = format() == input_format::ndjson ? next_line()
             : format() == input_format::xml  ? next_event_element()
                                              : next_document();
    if (!r) failed_ = true;
    return r;
  }
  std::uint64_t bytes_read() const noexcept override { return bytes_read_; }
  std::uint64_t blank_lines() const noexcept override { return blanks_; }

 private:
  // Reads more bytes after moving the unreturned ones to the front. False at the end of
  // the input or on an I/O error (io_errno_ set).
  bool fill() {
    if (eof_) return false;
    if (start_ > 0) {
      std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
      pos_ -= start_;
      end_ -= start_;
      start_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    ssize_t n = 0;
    do {
      n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      if (n < 0) io_errno_ = errno;
      eof_ = true;
      return false;
    }
    end_ += static_cast<std::size_t>(n);
    bytes_read_ += static_cast<std::uint64_t>(n);
    return true;
  }

  read_error io_error(std::int64_t position) const {
    return {path() + ": read error at line " + std::to_string(position), position, std::strerror(io_errno_)};
  }

  std::expected<std::optional<input_record>, read_error> next_line() {
    if (pending_next_ < pending_.size()) return input_record{pending_[pending_next_++], line_no_};
    for (;;) {
      const void* nl = pos_ < end_ ? std::memchr(buf_.data() + pos_, '\n', end_ - pos_) : nullptr;
      std::string_view line;
      if (nl == nullptr) {
        if (skipping_) {
          start_ = pos_ = end_;
        } else if (end_ - start_ > options_.max_record_bytes) {
          // An endless line: hand out its head (rejected downstream), drop the rest.
          ++line_no_;
          line = std::string_view(buf_.data() + start_, options_.max_record_bytes);
          start_ = pos_ = end_;
          skipping_ = true;
          return input_record{line, line_no_};
        } else {
          pos_ = end_;
        }
        if (fill()) continue;
        if (io_errno_ != 0) return std::unexpected(io_error(line_no_ + 1));
        if (start_ == end_) return std::nullopt;
        line = std::string_view(buf_.data() + start_, end_ - start_);
        start_ = pos_ = end_;
      } else {
        const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
        line = std::string_view(buf_.data() + start_, at - start_);
        start_ = pos_ = at + 1;
        if (skipping_) {
          skipping_ = false;
          continue;
        }
      }
      ++line_no_;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        ++blanks_;
        continue;
      }
      const auto first = line.find_first_not_of(" \t");
      if ((line[first] == '[' && split_object_array(line, pending_)) ||
          (line[first] == '{' && split_envelope(line, pending_))) {
        pending_next_ = 1;
        return input_record{pending_[0], line_no_};
      }
      pending_.clear();
      pending_next_ = 0;
      return input_record{line, line_no_};
    }
  }

  std::expected<std::optional<input_record>, read_error> next_document() {
    // Separators: whitespace, RS (RFC 7464 JSON text sequences), and inside a top-level
    // array of objects its commas and closing bracket.
    if (envelope_next_ < envelope_.size()) return input_record{envelope_[envelope_next_++], envelope_line_};
    for (;;) {
      if (pos_ == end_) {
        start_ = pos_;
        if (fill()) continue;
        if (io_errno_ != 0) return std::unexpected(io_error(line_));
        return std::nullopt;
      }
      const char c = buf_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
        continue;
      }
      if (is_space(c) || c == '\x1e' || (in_array_ && c == ',')) {
        ++pos_;
        continue;
      }
      if (in_array_ && c == ']') {
        in_array_ = false;
        ++pos_;
        continue;
      }
      if (!in_array_ && c == '[') {
        // An array of objects is split into its elements; any other array is one value.
        start_ = pos_;
        std::size_t q = 1;  // relative to start_, which fill() may move
        for (;;) {
          while (start_ + q < end_ && is_space(buf_[start_ + q])) ++q;
          if (start_ + q < end_ || !fill()) break;
        }
        if (start_ + q < end_ && buf_[start_ + q] == '{') {
          in_array_ = true;
          ++pos_;
          continue;
        }
      }
      break;
    }
    start_ = pos_;
    const std::int64_t doc_line = line_;
    const char c = buf_[pos_];
    if (c == '{' || c == '[' || c == '"') {
      balance_scanner scan;
      for (;;) {
        const std::size_t stop = scan.feed(buf_.data(), pos_, end_, line_);
        if (stop < end_ || (!scan.in_string && scan.depth <= 0)) {
          pos_ = stop;
          break;
        }
        pos_ = end_;
        if (end_ - start_ > options_.max_record_bytes) {
          return std::unexpected(read_error{path() + ": the JSON document at line " + std::to_string(doc_line) +
                                                " is longer than " + std::to_string(options_.max_record_bytes) +
                                                " bytes; the rest of the file is skipped",
                                            doc_line, {}});
        }
        if (!fill()) {
          if (io_errno_ != 0) return std::unexpected(io_error(doc_line));
          break;  // unbalanced at the end of the file: one message, rejected downstream
        }
      }
    } else {
      // Not JSON: the rest of the line (or of the array element) is one message.
      for (;;) {
        while (pos_ < end_ && buf_[pos_] != '\n' && !(in_array_ && (buf_[pos_] == ',' || buf_[pos_] == ']'))) ++pos_;
        if (pos_ < end_ || !fill()) break;
      }
    }
    const std::string_view doc(buf_.data() + start_, pos_ - start_);
    start_ = pos_;
    if (c == '{' && !in_array_ && doc.size() > 2 && doc[doc.size() - 1] == '}') {
      // An export envelope: its elements are the records. They are served from a copy,
      // since the next fill() may move the buffer.
      envelope_text_.assign(doc);
      if (split_envelope(envelope_text_, envelope_)) {
        envelope_next_ = 1;
        envelope_line_ = doc_line;
        return input_record{envelope_[0], doc_line};
      }
      envelope_.clear();
      envelope_next_ = 0;
    }
    return input_record{doc, doc_line};
  }

  // Moves pos_ to `to`, counting the newlines passed.
  void advance(std::size_t to) {
    line_ += std::count(buf_.data() + pos_, buf_.data() + to, '\n');
    pos_ = to;
  }

  // Windows event XML (wevtutil qe /f:xml, Get-WinEvent ToXml(), a saved Event Viewer
  // selection): each <Event> element, wherever it sits, rendered like an .evtx record.
  std::expected<std::optional<input_record>, read_error> next_event_element() {
    constexpr std::string_view k_open = "<Event";
    constexpr std::string_view k_close = "</Event>";
    for (;;) {
      const std::string_view have(buf_.data() + pos_, end_ - pos_);
      const auto at = have.find(k_open);
      if (at == std::string_view::npos || pos_ + at + k_open.size() >= end_) {
        // Keep a possible partial "<Event" at the end of the buffer.
        const std::size_t keep = at != std::string_view::npos ? end_ - (pos_ + at) : std::min(have.size(), k_open.size());
        advance(end_ - keep);
        start_ = pos_;
        if (fill()) continue;
        if (io_errno_ != 0) return std::unexpected(io_error(line_));
        return std::nullopt;
      }
      advance(pos_ + at);
      const char after = buf_[pos_ + k_open.size()];
      if (!is_space(after) && after != '>' && after != '/') {
        ++pos_;  // <Events>, <EventData>, ...: not an event element
        continue;
      }
      start_ = pos_;
      const std::int64_t doc_line = line_;
      std::size_t close = std::string_view::npos;
      std::size_t searched = k_open.size();  // relative to start_
      for (;;) {
        const std::string_view rest(buf_.data() + start_, end_ - start_);
        close = rest.find(k_close, searched);
        if (close != std::string_view::npos) break;
        searched = rest.size() >= k_close.size() ? rest.size() - k_close.size() + 1 : 0;
        if (end_ - start_ > options_.max_record_bytes) {
          return std::unexpected(read_error{path() + ": the <Event> element at line " + std::to_string(doc_line) +
                                                " is longer than " + std::to_string(options_.max_record_bytes) +
                                                " bytes; the rest of the file is skipped",
                                            doc_line, {}});
        }
        if (!fill()) {
          if (io_errno_ != 0) return std::unexpected(io_error(doc_line));
          break;
        }
      }
      const std::size_t stop = close == std::string_view::npos ? end_ : start_ + close + k_close.size();
      const std::string_view element(buf_.data() + start_, stop - start_);
      advance(stop);
      start_ = pos_;
      json_.clear();
      // A malformed element goes on as its raw bytes: the pipeline rejects it as invalid_json.
      if (!evtx_xml_to_json(element, json_)) return input_record{element, doc_line};
      return input_record{json_, doc_line};
    }
  }

  int fd_;
  bool owns_fd_;
  std::vector<char> buf_;
  std::size_t start_;
  std::size_t pos_;
  std::size_t end_;
  bool eof_;
  int io_errno_ = 0;
  std::uint64_t bytes_read_;
  record_reader_options options_;
  bool failed_ = false;
  std::uint64_t blanks_ = 0;
  // ndjson
  std::int64_t line_no_ = 0;
  bool skipping_ = false;  // dropping the tail of an over-long line
  std::vector<std::string_view> pending_;  // elements of a line holding an array of objects
  std::size_t pending_next_ = 0;
  // json
  std::int64_t line_ = 1;   // line of buf_[pos_]
  bool in_array_ = false;   // inside a top-level array of objects
  std::string envelope_text_;                // the last export envelope ({"events": [...]})
  std::vector<std::string_view> envelope_;   // its elements
  std::size_t envelope_next_ = 0;
  std::int64_t envelope_line_ = 0;
  // xml
  std::string json_;        // the last <Event> element as evtx JSON
};

// Copies stdin (its first `head` bytes already read) to a temp file libevtx can seek in.
std::expected<std::string, read_error> spool_stdin(const std::vector<char>& head, std::size_t head_size) {
  std::string pattern = (std::filesystem::temp_directory_path() / "countersign-stdin-XXXXXX.evtx").string();
  const int fd = ::mkstemps(pattern.data(), 5);
  if (fd < 0) return std::unexpected(read_error{"-: cannot spool evtx from stdin to a temp file", 0, std::strerror(errno)});
  const auto write_all = [fd](const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  };
  bool ok = write_all(head.data(), head_size);
  std::vector<char> chunk(k_read_chunk);
  while (ok) {
    const ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    ok = write_all(chunk.data(), static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (!ok) {
    ::unlink(pattern.c_str());
    return std::unexpected(read_error{"-: cannot spool evtx from stdin to a temp file", 0, std::strerror(errno)});
  }
  return pattern;
}

}  // namespace

std::expected<std::unique_ptr<record_reader>, read_error> record_reader::open(const std::string& path,
                                                                              record_reader_options options) {
  const bool is_stdin = path == "-";
  int fd = STDIN_FILENO;
  if (!is_stdin) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(read_error{path + ": cannot open", 0, std::strerror(errno)});
  }
  const auto fail = [&](std::string message, std::string detail) -> std::unexpected<read_error> {
    if (!is_stdin) ::close(fd);
    return std::unexpected(read_error{std::move(message), 0, std::move(detail)});
  };
  std::optional<std::uint64_t> total;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return fail(path + ": cannot open", "is a directory");
    if (S_ISREG(st.st_mode)) total = static_cast<std::uint64_t>(st.st_size);
  }

  // Read until the format is known: the magic, then the first non-blank line whole.
  std::vector<char> buf(k_read_chunk);
  std::size_t size = 0;
  bool eof = false;
  const auto read_more = [&]() -> std::expected<bool, int> {
    if (size == buf.size()) buf.resize(buf.size() * 2);
    ssize_t n = 0;
    do {
      n = ::read(fd, buf.data() + size, buf.size() - size);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return std::unexpected(errno);
    if (n == 0) {
      eof = true;
      return false;
    }
    size += static_cast<std::size_t>(n);
    return true;
  };
  while (size < k_evtx_magic.size() && !eof) {
    if (auto r = read_more(); !r) return fail(path + ": read error", std::strerror(r.error()));
  }
  if (size >= k_evtx_magic.size() && std::string_view(buf.data(), k_evtx_magic.size()) == k_evtx_magic) {
    if (!is_stdin) {
      ::close(fd);
      return detail::open_evtx(path, path, false);
    }
    auto spooled = spool_stdin(buf, size);
    if (!spooled) return std::unexpected(spooled.error());
    return detail::open_evtx(*spooled, path, true);
  }

  // Compressed input is not read here: say so instead of rejecting every "line".
  if (size >= 2 && static_cast<unsigned char>(buf[0]) == 0x1F && static_cast<unsigned char>(buf[1]) == 0x8B) {
    return fail(path + ": gzip-compressed; decompress it first (zcat " + path + " | countersign replay -)", {});
  }
  if (size >= 4 && std::string_view(buf.data(), 4) == std::string_view("\x28\xB5\x2F\xFD", 4)) {
    return fail(path + ": zstd-compressed; decompress it first (zstdcat " + path + " | countersign replay -)", {});
  }
  const std::size_t skip = size >= k_utf8_bom.size() && std::string_view(buf.data(), 3) == k_utf8_bom ? 3 : 0;
  input_format format = input_format::ndjson;
  std::size_t line_start = skip;
  for (;;) {
    const std::string_view have(buf.data() + line_start, size - line_start);
    const auto nl = have.find('\n');
    if (nl == std::string_view::npos && !eof && size - skip < options.max_record_bytes) {
      if (auto r = read_more(); !r) return fail(path + ": read error", std::strerror(r.error()));
      continue;
    }
    const std::string_view line = have.substr(0, nl);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      if (nl == std::string_view::npos) break;  // blank to the end: nothing to read
      line_start += nl + 1;
      continue;
    }
    format = complete_value(line) ? input_format::ndjson : input_format::json;
    const auto first = line.find_first_not_of(" \t\r");
    if (format == input_format::json && line[first] != '{' && line[first] != '[') format = input_format::ndjson;
    if (line[first] == '<') format = input_format::xml;
    break;
  }
  const std::uint64_t bytes_read = size;
  return std::make_unique<text_reader>(path, format, total, fd, !is_stdin, std::move(buf), size, skip, bytes_read, eof,
                                       options);
}

namespace {

std::int64_t monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string human_bytes(double b) {
  constexpr std::array<const char*, 5> k_units = {"B", "KiB", "MiB", "GiB", "TiB"};
  std::size_t u = 0;
  while (b >= 1024 && u + 1 < k_units.size()) {
    b /= 1024;
    ++u;
  }
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), u == 0 ? "%.0f %s" : "%.1f %s", b, k_units[u]);
  return buf.data();
}

}  // namespace

progress_meter::progress_meter(bool enabled) : enabled_(enabled), start_ns_(monotonic_ns()) {}

progress_meter::~progress_meter() { clear(); }

bool progress_meter::stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

void progress_meter::clear() {
  if (!shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

void progress_meter::draw(const record_reader& reader, bool force) {
  const std::int64_t now = monotonic_ns();
  if (!force && now - last_draw_ns_ < 250'000'000) return;
  last_draw_ns_ = now;
  const double seconds = static_cast<double>(now - start_ns_) / 1e9;
  const double rate = seconds > 0 ? static_cast<double>(events_) / seconds : 0;
  const auto read = static_cast<double>(reader.bytes_read());
  std::string line = std::to_string(events_) + " events, " + std::to_string(static_cast<std::uint64_t>(rate)) +
                     " events/s, " + human_bytes(read);
  if (const auto total = reader.total_bytes(); total && *total > 0) {
    line += " of " + human_bytes(static_cast<double>(*total));
    // The ETA of the current file, from its own byte rate so far.
    const double done = std::min(1.0, read / static_cast<double>(*total));
    if (done > 0 && seconds > 1) {
      const auto eta = static_cast<std::int64_t>(seconds * (1 - done) / done);
      line += ", ETA " + std::to_string(eta / 60) + "m" + std::to_string(eta % 60) + "s";
    }
  }
  std::string name = reader.path();
  if (name.size() > 40) name = "..." + name.substr(name.size() - 37);
  line += " (" + name + ")";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  shown_ = true;
}

}  // namespace countersign::processor
