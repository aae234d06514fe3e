#pragma once
// Detection content: the lists detectors use (trusted publishers, known code-signing
// CAs, protected vendors, user-writable and system folders). The files in
// rules/content/ are compiled into the binary as the defaults; `detectors.content_dir`
// points at a directory whose files (same names) replace them one by one.

#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

struct content_file {
  std::string_view name;  // e.g. "known_code_signing_cas.yaml"
  std::string_view text;  // the shipped file, verbatim
};

// The shipped rules/content files, in a fixed order.
[[nodiscard]] const std::vector<content_file>& builtin_content();

}  // namespace countersign::processor
