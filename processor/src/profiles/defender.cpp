// Placeholder while the defender profile is being written (not for commit).
#include "walk.hpp"
namespace countersign::processor::detail {
walk_status walk_defender(od::object, walk_context& c, observation_batch&) {
  return c.fail(reject_reason::unknown_schema, "defender profile not implemented yet");
}
}  // namespace countersign::processor::detail
