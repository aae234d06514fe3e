#pragma once
// GoogleTest printers for the enums the processor tests compare, so that a failure
// reads "revoked" instead of "1-byte object <03>". Found by argument-dependent lookup.

#include <countersign/processor/pipeline.hpp>
#include <countersign/processor/reject_reason.hpp>
#include <countersign/rules/observation.hpp>
#include <countersign/rules/severity.hpp>

#include <ostream>

namespace countersign::rules {
inline void PrintTo(signature_status s, std::ostream* os) { *os << to_string(s); }
inline void PrintTo(severity s, std::ostream* os) { *os << to_string(s); }
}  // namespace countersign::rules

namespace countersign::processor {
inline void PrintTo(reject_reason r, std::ostream* os) { *os << to_string(r); }
inline void PrintTo(outcome o, std::ostream* os) {
  switch (o) {
    case outcome::alert: *os << "alert"; return;
    case outcome::no_alert: *os << "no_alert"; return;
    case outcome::out_of_scope: *os << "out_of_scope"; return;
    case outcome::suppressed: *os << "suppressed"; return;
    case outcome::rejected: *os << "rejected"; return;
  }
  *os << "outcome(" << static_cast<int>(o) << ')';
}
}  // namespace countersign::processor
