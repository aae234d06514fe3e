#pragma once
// Reads Elastic Common Schema process events (Elastic Defend shape) into an
// `observation` with simdjson On-Demand, in one pass over the document.
//
// Nested objects and dotted keys (`"process.code_signature.status": ...`) are both
// accepted: the parser walks objects building the dotted path and looks each path up
// in one table, descending only into objects that can hold a mapped field. One parser
// per thread; it owns a padded copy buffer that grows to the largest message seen.

#include <countersign/processor/reject_reason.hpp>
#include <countersign/rules/observation.hpp>

#include <simdjson.h>

#include <cstddef>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::processor {

struct parse_error {
  reject_reason reason;
  std::string detail;  // the field path or simdjson's message; for logs and DLQ headers
};

struct parser_limits {
  std::size_t max_message_bytes = 1 << 20;
  std::size_t max_field_bytes = 4096;
};

class ecs_parser {
 public:
  explicit ecs_parser(parser_limits limits = {});

  // Parses `bytes` into `out` (reset first). On error, `out` is unspecified.
  [[nodiscard]] std::expected<void, parse_error> parse(std::string_view bytes,
                                                       rules::observation& out);

  [[nodiscard]] const parser_limits& limits() const noexcept { return limits_; }

 private:
  enum class walk_status { ok, failed };
  walk_status walk_object(simdjson::ondemand::object object, int depth);
  walk_status assign_leaf(int field, simdjson::ondemand::value value);
  walk_status fail(reject_reason reason, std::string_view detail);
  void finish_observation();

  parser_limits limits_;
  simdjson::ondemand::parser parser_;
  simdjson::dom::parser dom_parser_;  // validates documents whose top level is not an object
  std::vector<char> buffer_;  // payload copy with SIMDJSON_PADDING spare bytes
  std::string path_;          // dotted path of the value being visited
  rules::observation* obs_ = nullptr;
  parse_error error_{reject_reason::invalid_json, {}};
  bool recognized_ = false;   // saw at least one ECS field
  // ECS x509 subject parts, merged into the signature once the walk is done.
  rules::text_field x509_subject_dn_, x509_subject_cn_, x509_subject_o_, x509_issuer_cn_;
};

}  // namespace countersign::processor
