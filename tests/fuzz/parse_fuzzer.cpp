// libFuzzer target for the parser entry point and everything it feeds: any bytes go
// through the full pipeline (schema detection, every profile walker, the Code Integrity
// join, detectors and alert rendering). Built only with -DCOUNTERSIGN_FUZZ=ON and clang;
// run by scripts/fuzz.sh. Every alert the pipeline renders must be valid JSON.

#include <countersign/processor/config.hpp>
#include <countersign/processor/engine/pipeline.hpp>

#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

countersign::processor::pipeline& shared_pipeline() {
  // Small limits so that the size checks are reached often; a short join hold so held
  // verdicts are released within a run.
  static const auto cfg = countersign::processor::parse_config(
                              "input: {max_message_bytes: 65536, max_field_bytes: 512, "
                              "codeintegrity_join: {hold: 10s, max_pending: 64}}\n",
                              "fuzz")
                              .value();
  static countersign::processor::pipeline p(cfg);
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& p = shared_pipeline();
  static std::int64_t offset = 0;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  const std::int64_t this_offset = offset++;
  (void)p.process(payload, {"fuzz", 0, this_offset}, std::nullopt, static_cast<std::uint64_t>(offset));
  static simdjson::dom::parser check;
  for (const auto& a : p.alerts()) {
    simdjson::dom::element doc;
    if (check.parse(a.json).get(doc) != simdjson::SUCCESS) std::abort();  // rendered invalid JSON
  }
  return 0;
}
