#pragma once
// The evtx side of record_reader (evtx_file.cpp): records read with libevtx, rendered as
// evtx_dump-style JSON. Internal to the processor library.

#include <countersign/processor/engine/record_reader.hpp>

#include <expected>
#include <memory>
#include <string>

namespace countersign::processor::detail {

// Opens an .evtx file by path. `display_name` names it in errors ("-" for stdin that was
// spooled to `path`); `remove_after` deletes `path` when the reader is destroyed.
[[nodiscard]] std::expected<std::unique_ptr<record_reader>, read_error> open_evtx(
    const std::string& path, const std::string& display_name, bool remove_after);

}  // namespace countersign::processor::detail
