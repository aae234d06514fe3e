// .evtx files for record_reader: libevtx reads the records, each record's XML is turned
// into the evtx_dump JSON shape, so the evtx profile reads a file exactly as it reads
// evtx_dump's output of it.
//
// libevtx gives no error for a file cut short: it counts the records of the chunks it
// could read. The file header says how many chunks there are, so a file shorter than
// that is reported as truncated after its readable records; a chunk libevtx could not
// read marks the file corrupted, reported the same way.

#include "evtx_file.hpp"

#include <countersign/rules/json_writer.hpp>

#include <libevtx.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace countersign::processor {

namespace {

// ---------------------------------------------------------------------------------------
// A small XML reader, enough for what libevtx writes: elements, attributes, text,
// entities and CDATA; declarations, comments and processing instructions are skipped.

struct xml_node {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<xml_node> children;
  std::string text;
};

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class xml_reader {
 public:
  explicit xml_reader(std::string_view s) : s_(s) {}

  // The document's root element.
  bool parse(xml_node& root) {
    if (!skip_misc()) return false;
    if (!element(root, 0)) return false;
    skip_misc();
    return true;
  }

 private:
  static bool name_char(char c) {
    return c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '=' && c != '>' && c != '/' && c != '<' &&
           c != '"' && c != '\'';
  }
  bool starts(std::string_view p) const { return s_.substr(i_, p.size()) == p; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool skip_past(std::string_view end) {
    const auto at = s_.find(end, i_);
    if (at == std::string_view::npos) return false;
    i_ = at + end.size();
    return true;
  }
  // Whitespace, declarations, comments, processing instructions, doctype.
  bool skip_misc() {
    for (;;) {
      skip_space();
      if (starts("<?")) {
        if (!skip_past("?>")) return false;
      } else if (starts("<!--")) {
        if (!skip_past("-->")) return false;
      } else if (starts("<!") && !starts("<![CDATA[")) {
        if (!skip_past(">")) return false;
      } else {
        return true;
      }
    }
  }
  std::string_view name() {
    const std::size_t b = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    return s_.substr(b, i_ - b);
  }
  // Appends `raw` with its entity references decoded.
  static bool decode(std::string_view raw, std::string& out) {
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '&') {
        out.push_back(raw[k]);
        continue;
      }
      const auto semi = raw.find(';', k);
      if (semi == std::string_view::npos) return false;
      const std::string_view ent = raw.substr(k + 1, semi - k - 1);
      if (ent == "lt") {
        out.push_back('<');
      } else if (ent == "gt") {
        out.push_back('>');
      } else if (ent == "amp") {
        out.push_back('&');
      } else if (ent == "quot") {
        out.push_back('"');
      } else if (ent == "apos") {
        out.push_back('\'');
      } else if (ent.size() > 1 && ent[0] == '#') {
        const bool hex = ent[1] == 'x' || ent[1] == 'X';
        const std::string digits(ent.substr(hex ? 2 : 1));
        if (digits.empty()) return false;
        char* end = nullptr;
        const unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
        if (*end != '\0' || cp > 0x10FFFF) return false;
        append_utf8(out, static_cast<std::uint32_t>(cp));
      } else {
        return false;
      }
      k = semi;
    }
    return true;
  }
  bool element(xml_node& node, int depth) {
    if (depth > 64 || i_ >= s_.size() || s_[i_] != '<') return false;
    ++i_;
    node.name.assign(name());
    if (node.name.empty()) return false;
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) return false;
      if (starts("/>")) {
        i_ += 2;
        return true;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      std::string attr(name());
      if (attr.empty()) return false;
      skip_space();
      if (i_ >= s_.size() || s_[i_] != '=') return false;
      ++i_;
      skip_space();
      if (i_ >= s_.size() || (s_[i_] != '"' && s_[i_] != '\'')) return false;
      const char quote = s_[i_++];
      const auto close = s_.find(quote, i_);
      if (close == std::string_view::npos) return false;
      std::string value;
      if (!decode(s_.substr(i_, close - i_), value)) return false;
      i_ = close + 1;
      node.attributes.emplace_back(std::move(attr), std::move(value));
    }
    // Content: text, CDATA, children, until the end tag.
    for (;;) {
      if (i_ >= s_.size()) return false;
      if (starts("</")) {
        i_ += 2;
        if (name() != node.name) return false;
        skip_space();
        if (i_ >= s_.size() || s_[i_] != '>') return false;
        ++i_;
        return true;
      }
      if (starts("<![CDATA[")) {
        i_ += 9;
        const auto end = s_.find("]]>", i_);
        if (end == std::string_view::npos) return false;
        node.text.append(s_.substr(i_, end - i_));
        i_ = end + 3;
        continue;
      }
      if (starts("<!--") || starts("<?")) {
        if (!skip_past(starts("<!--") ? "-->" : "?>")) return false;
        continue;
      }
      if (s_[i_] == '<') {
        node.children.emplace_back();
        if (!element(node.children.back(), depth + 1)) return false;
        continue;
      }
      const auto lt = s_.find('<', i_);
      if (lt == std::string_view::npos) return false;
      if (!decode(s_.substr(i_, lt - i_), node.text)) return false;
      i_ = lt;
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// ---------------------------------------------------------------------------------------
// evtx_dump's JSON shape.

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool all_digits(std::string_view v) {
  if (v.empty() || v.size() > 18) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// libevtx's renderings of GUIDs, FILETIMEs and hex integers, as evtx_dump writes them.
std::string_view normalized(std::string_view v, std::string& scratch) {
  // {8-4-4-4-12} -> without braces
  if (v.size() == 38 && v.front() == '{' && v.back() == '}' && v[9] == '-' && v[14] == '-' && v[19] == '-' &&
      v[24] == '-') {
    bool ok = true;
    for (std::size_t k = 1; k < 37 && ok; ++k) ok = (k == 9 || k == 14 || k == 19 || k == 24) ? true : is_hex(v[k]);
    if (ok) return v.substr(1, 36);
  }
  // 0x0000000000529ae3 (zero-padded HexInt32/HexInt64) -> 0x529ae3
  if ((v.size() == 10 || v.size() == 18) && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && v[2] == '0') {
    bool ok = true;
    for (std::size_t k = 2; k < v.size() && ok; ++k) ok = is_hex(v[k]);
    if (ok) {
      std::size_t k = 2;
      while (k + 1 < v.size() && v[k] == '0') ++k;
      scratch.assign("0x");
      scratch.append(v.substr(k));
      return scratch;
    }
  }
  // 2026-01-12T07:51:17.415898900Z -> 2026-01-12T07:51:17.415898Z
  if (v.size() > 27 && v.size() <= 30 && v[4] == '-' && v[10] == 'T' && v[19] == '.' && v.back() == 'Z') {
    scratch.assign(v.substr(0, 26));
    scratch.push_back('Z');
    return scratch;
  }
  return v;
}

bool numeric_element(std::string_view parent, std::string_view name) {
  if (parent != "System") return false;
  return name == "EventID" || name == "Version" || name == "Level" || name == "Task" || name == "Opcode" ||
         name == "EventRecordID";
}

bool numeric_attribute(std::string_view element, std::string_view name) {
  return (element == "Execution" && (name == "ProcessID" || name == "ThreadID")) ||
         (element == "EventID" && name == "Qualifiers");
}

void write_key(std::string& out, std::string_view key) {
  rules::append_json_escaped(out, key);  // quotes included
  out.push_back(':');
}

void write_scalar(std::string& out, std::string_view value, bool numeric) {
  if (numeric && all_digits(value)) {
    // Leading zeros are not JSON.
    std::size_t k = 0;
    while (k + 1 < value.size() && value[k] == '0') ++k;
    out.append(value.substr(k));
    return;
  }
  std::string scratch;
  const std::string_view v = normalized(value, scratch);
  rules::append_json_escaped(out, v);
}

bool blank(std::string_view text) { return text.find_first_not_of(" \t\r\n") == std::string_view::npos; }

void write_element(std::string& out, const xml_node& node, std::string_view parent);

// The members of an element's object: attributes, children (Data by Name; repeated
// names as arrays), then its text.
void write_members(std::string& out, const xml_node& node) {
  bool comma = false;
  const auto sep = [&] {
    if (comma) out.push_back(',');
    comma = true;
  };
  if (!node.attributes.empty()) {
    sep();
    write_key(out, "#attributes");
    out.push_back('{');
    for (std::size_t a = 0; a < node.attributes.size(); ++a) {
      if (a > 0) out.push_back(',');
      write_key(out, node.attributes[a].first);
      write_scalar(out, node.attributes[a].second, numeric_attribute(node.name, node.attributes[a].first));
    }
    out.push_back('}');
  }
  std::vector<bool> written(node.children.size(), false);
  bool unnamed_data_written = false;
  for (std::size_t c = 0; c < node.children.size(); ++c) {
    if (written[c]) continue;
    const xml_node& child = node.children[c];
    if (child.name == "Data") {
      const auto name_attr = std::find_if(child.attributes.begin(), child.attributes.end(),
                                          [](const auto& a) { return a.first == "Name"; });
      if (name_attr != child.attributes.end()) {
        written[c] = true;
        sep();
        write_key(out, name_attr->second);
        if (child.children.empty()) {
          write_scalar(out, child.text, false);  // empty stays "": present, as evtx_dump writes it
        } else {
          out.push_back('{');
          write_members(out, child);
          out.push_back('}');
        }
        continue;
      }
      if (unnamed_data_written) continue;
      // Unnamed Data elements: one array of their values.
      unnamed_data_written = true;
      sep();
      write_key(out, "Data");
      out.push_back('[');
      bool first = true;
      for (std::size_t d = c; d < node.children.size(); ++d) {
        const xml_node& dn = node.children[d];
        if (dn.name != "Data" || written[d]) continue;
        if (std::any_of(dn.attributes.begin(), dn.attributes.end(), [](const auto& a) { return a.first == "Name"; }))
          continue;
        written[d] = true;
        if (!first) out.push_back(',');
        first = false;
        write_scalar(out, dn.text, false);
      }
      out.push_back(']');
      continue;
    }
    // Siblings of the same name become an array.
    std::vector<std::size_t> same;
    for (std::size_t d = c; d < node.children.size(); ++d) {
      if (!written[d] && node.children[d].name == child.name) same.push_back(d);
    }
    sep();
    write_key(out, child.name);
    if (same.size() > 1) out.push_back('[');
    for (std::size_t k = 0; k < same.size(); ++k) {
      if (k > 0) out.push_back(',');
      written[same[k]] = true;
      write_element(out, node.children[same[k]], node.name);
    }
    if (same.size() > 1) out.push_back(']');
  }
  if (!blank(node.text) && (!node.attributes.empty() || !node.children.empty())) {
    sep();
    write_key(out, "#text");
    write_scalar(out, node.text, node.name == "EventID");
  }
}

// The value of one element.
void write_element(std::string& out, const xml_node& node, std::string_view parent) {
  if (node.attributes.empty() && node.children.empty()) {
    if (node.text.empty()) {
      out.append("null");
    } else {
      write_scalar(out, node.text, numeric_element(parent, node.name));
    }
    return;
  }
  out.push_back('{');
  write_members(out, node);
  out.push_back('}');
}

// ---------------------------------------------------------------------------------------

std::string libevtx_message(libevtx_error_t* error) {
  if (error == nullptr) return {};
  std::array<char, 1024> buf{};
  libevtx_error_sprint(error, buf.data(), buf.size());
  libevtx_error_free(&error);
  std::string text(buf.data());
  // libevtx writes its call chain one function a line; the last line is the outermost.
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (auto& c : text) {
    if (c == '\n') c = ';';
  }
  return text;
}

struct evtx_header {
  std::uint16_t header_block_size = 0;
  std::uint16_t chunks = 0;
  std::uint32_t flags = 0;
};

std::optional<evtx_header> read_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 128> h{};
  if (!in.read(reinterpret_cast<char*>(h.data()), h.size())) return std::nullopt;
  const auto u16 = [&](std::size_t at) { return static_cast<std::uint16_t>(h[at] | (h[at + 1] << 8)); };
  evtx_header out;
  out.header_block_size = u16(40);
  out.chunks = u16(42);
  out.flags = static_cast<std::uint32_t>(h[120] | (h[121] << 8) | (h[122] << 16) | (static_cast<std::uint32_t>(h[123]) << 24));
  return out;
}

constexpr std::uint64_t k_chunk_bytes = 64 * 1024;

class evtx_reader final : public record_reader {
 public:
  evtx_reader(std::string display, std::string path, bool remove_after, std::optional<std::uint64_t> total,
              libevtx_file_t* file, int records, std::string problem)
      : record_reader(std::move(display), input_format::evtx, total),
        file_path_(std::move(path)),
        remove_after_(remove_after),
        file_(file),
        records_(records),
        problem_(std::move(problem)) {}
  ~evtx_reader() override {
    libevtx_error_t* error = nullptr;
    libevtx_file_close(file_, &error);
    libevtx_file_free(&file_, &error);
    if (error != nullptr) libevtx_error_free(&error);
    if (remove_after_) ::unlink(file_path_.c_str());
  }
  evtx_reader(const evtx_reader&) = delete;
  evtx_reader& operator=(const evtx_reader&) = delete;

  std::expected<std::optional<input_record>, read_error> next() override {
    if (done_) return std::nullopt;
    if (next_ >= records_) {
      done_ = true;
      if (!problem_.empty()) {
        // The readable records are out; now say what is missing after them.
        bytes_read_ = total_bytes().value_or(bytes_read_);
        return std::unexpected(read_error{path() + ": record " + std::to_string(next_ + 1) + problem_, next_ + 1, {}});
      }
      bytes_read_ = total_bytes().value_or(bytes_read_);
      return std::nullopt;
    }
    const int index = next_++;
    const std::int64_t position = index + 1;
    const auto fail = [&](std::string what, libevtx_error_t* error) {
      done_ = true;
      return std::unexpected(read_error{path() + ": record " + std::to_string(position) + ": " + what, position,
                                        libevtx_message(error)});
    };
    libevtx_error_t* error = nullptr;
    libevtx_record_t* record = nullptr;
    if (libevtx_file_get_record_by_index(file_, index, &record, &error) != 1) return fail("cannot be read", error);
    std::size_t size = 0;
    off64_t offset = 0;
    if (libevtx_record_get_offset(record, &offset, nullptr) == 1 && offset > 0) bytes_read_ = static_cast<std::uint64_t>(offset);
    if (libevtx_record_get_utf8_xml_string_size(record, &size, &error) != 1 || size == 0) {
      libevtx_record_free(&record, nullptr);
      return fail("cannot be rendered as XML", error);
    }
    xml_.resize(size);
    if (libevtx_record_get_utf8_xml_string(record, reinterpret_cast<std::uint8_t*>(xml_.data()), size, &error) != 1) {
      libevtx_record_free(&record, nullptr);
      return fail("cannot be rendered as XML", error);
    }
    libevtx_record_free(&record, nullptr);
    while (!xml_.empty() && (xml_.back() == '\0' || xml_.back() == '\n')) xml_.pop_back();
    json_.clear();
    if (!evtx_xml_to_json(xml_, json_)) return fail("its XML is not well-formed", nullptr);
    return input_record{json_, position};
  }
  std::uint64_t bytes_read() const noexcept override { return bytes_read_; }
  std::uint64_t recovered_records() const noexcept override { return recovered_; }
  bool dirty() const noexcept override { return dirty_; }

  void set_state(bool dirty, std::uint64_t recovered) {
    dirty_ = dirty;
    recovered_ = recovered;
  }

 private:
  std::string file_path_;
  bool remove_after_;
  libevtx_file_t* file_;
  int records_;
  int next_ = 0;
  bool done_ = false;
  std::string problem_;  // truncated or corrupted: reported after the last readable record
  std::string xml_;
  std::string json_;
  std::uint64_t bytes_read_ = 0;
  bool dirty_ = false;
  std::uint64_t recovered_ = 0;
};

}  // namespace

bool evtx_xml_to_json(std::string_view xml, std::string& out) {
  xml_node root;
  if (!xml_reader(xml).parse(root)) return false;
  out.push_back('{');
  write_key(out, root.name);
  write_element(out, root, {});
  out.push_back('}');
  return true;
}

namespace detail {

std::expected<std::unique_ptr<record_reader>, read_error> open_evtx(const std::string& path,
                                                                    const std::string& display_name,
                                                                    bool remove_after) {
  const auto cleanup = [&] {
    if (remove_after) ::unlink(path.c_str());
  };
  std::optional<std::uint64_t> total;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) total = static_cast<std::uint64_t>(st.st_size);

  libevtx_error_t* error = nullptr;
  libevtx_file_t* file = nullptr;
  if (libevtx_file_initialize(&file, &error) != 1) {
    cleanup();
    return std::unexpected(read_error{display_name + ": cannot open as evtx", 0, libevtx_message(error)});
  }
  if (libevtx_file_open(file, path.c_str(), LIBEVTX_OPEN_READ, &error) != 1) {
    libevtx_file_free(&file, nullptr);
    cleanup();
    return std::unexpected(read_error{display_name + ": not a readable evtx file (bad file header)", 0,
                                      libevtx_message(error)});
  }
  int records = 0;
  if (libevtx_file_get_number_of_records(file, &records, &error) != 1) {
    const std::string why = libevtx_message(error);
    libevtx_file_close(file, nullptr);
    libevtx_file_free(&file, nullptr);
    cleanup();
    return std::unexpected(read_error{display_name + ": cannot count the evtx records", 0, why});
  }
  int recovered = 0;
  (void)libevtx_file_get_number_of_recovered_records(file, &recovered, nullptr);  // 0 when it fails

  std::string problem;
  bool dirty = false;
  if (const auto header = read_header(path)) {
    dirty = (header->flags & LIBEVTX_FILE_FLAG_IS_DIRTY) != 0;
    const std::uint64_t expected = header->header_block_size + k_chunk_bytes * header->chunks;
    if (total && *total < expected) {
      problem = " and later are missing: the file is truncated (" + std::to_string(*total) + " bytes; its header declares " +
                std::to_string(header->chunks) + " chunks, " + std::to_string(expected) + " bytes)";
    }
  }
  if (problem.empty() && libevtx_file_is_corrupted(file, nullptr) == 1) {
    problem = " and later may be missing: a chunk of the file is corrupt";
  }
  auto reader = std::make_unique<evtx_reader>(display_name, path, remove_after, total, file, records, std::move(problem));
  reader->set_state(dirty, static_cast<std::uint64_t>(recovered));
  return reader;
}

}  // namespace detail

}  // namespace countersign::processor
