#pragma once
// GoogleTest printers for the enums the processor tests compare, so that a failure
// reads "revoked" instead of "1-byte object <03>". Found by argument-dependent lookup.
// The rules enums' printers are the rules tests' own (tests/rules/printers.hpp).

#include "../rules/printers.hpp"

#include <countersign/processor/engine/pipeline.hpp>
#include <countersign/processor/engine/reject_reason.hpp>

#include <ostream>

namespace countersign::processor {
inline void PrintTo(reject_reason r, std::ostream* os) { *os << to_string(r); }
inline void PrintTo(outcome o, std::ostream* os) {
  switch (o) {
    case outcome::alert: *os << "alert"; return;
    case outcome::no_alert: *os << "no_alert"; return;
    case outcome::out_of_scope: *os << "out_of_scope"; return;
    case outcome::suppressed: *os << "suppressed"; return;
    case outcome::rejected: *os << "rejected"; return;
    case outcome::held: *os << "held"; return;
  }
  *os << "outcome(" << static_cast<int>(o) << ')';
}
}  // namespace countersign::processor
