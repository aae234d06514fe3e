#pragma once
// A minimal streaming JSON writer into a caller-owned, reused std::string.
//
// It writes what it is told: callers keep objects and arrays balanced. Strings are
// escaped per RFC 8259 (quote, backslash, control characters); bytes >= 0x80 pass
// through, because every string we write came out of simdjson, which validated UTF-8.

#include <cstdint>
#include <string>
#include <string_view>

namespace countersign::rules {

class json_writer {
 public:
  explicit json_writer(std::string& out) : out_(out) {}

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& string(std::string_view v);
  json_writer& number(std::int64_t v);
  json_writer& boolean(bool v);
  json_writer& null();

  // key + value shorthands
  json_writer& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  json_writer& field(std::string_view k, const char* v) { return key(k).string(v); }
  json_writer& field(std::string_view k, std::int64_t v) { return key(k).number(v); }
  json_writer& field_bool(std::string_view k, bool v) { return key(k).boolean(v); }

 private:
  void separate();
  std::string& out_;
  bool need_comma_ = false;
};

void append_json_escaped(std::string& out, std::string_view v);

}  // namespace countersign::rules
