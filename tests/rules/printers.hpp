#pragma once
// GoogleTest printers for the rules enums, so that a failure reads "high" instead of
// "1-byte object <03>". Found by argument-dependent lookup.

#include <countersign/rules/observation.hpp>
#include <countersign/rules/severity.hpp>

#include <ostream>

namespace countersign::rules {
inline void PrintTo(signature_status s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(severity s, std::ostream* os) { *os << to_string(s); }
}  // namespace countersign::rules
