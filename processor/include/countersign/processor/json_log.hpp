#pragma once
// Structured logs: one JSON object per line on stderr, for log shippers.
//   {"ts":"2026-11-29T06:40:00.123Z","level":"warn","logger":"countersign","msg":"..."}
// Installed by `countersign` when log.format is json (the default); text stays for humans.

#include <spdlog/formatter.h>

#include <memory>

namespace countersign::processor {

class json_log_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace countersign::processor
