#pragma once
// Parts of an alert that every format writes the same way (alert.cpp, alert_formats.cpp):
// a detection, the prevalence block, the Code Integrity block and the source record.
// Text fields are written when present, empty or not, as countersign.alert/v1 always has.

#include <countersign/rules/alert.hpp>
#include <countersign/rules/json_writer.hpp>

#include <string>

namespace countersign::rules::detail {

void write_detection(json_writer& w, const hit& h);
// `scratch` holds formatted times between calls.
void write_prevalence(json_writer& w, const alert_prevalence& p, std::string& scratch);
void write_codeintegrity(json_writer& w, const codeintegrity_info& ci);
// The observation's provenance (its `source.*` fields).
void write_source(json_writer& w, const observation& obs);

}  // namespace countersign::rules::detail
