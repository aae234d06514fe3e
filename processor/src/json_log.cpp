#include <countersign/processor/json_log.hpp>
#include <countersign/rules/json_writer.hpp>
#include <countersign/rules/time.hpp>

#include <spdlog/details/log_msg.h>

#include <chrono>
#include <string>

namespace countersign::processor {

void json_log_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string line;
  line.reserve(128 + msg.payload.size());
  rules::json_writer w(line);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
  const auto level = spdlog::level::to_string_view(msg.level);
  w.begin_object();
  w.field("ts", rules::format_rfc3339_ms(ms));
  w.field("level", std::string_view(level.data(), level.size()));
  w.field("logger", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
  w.field("msg", std::string_view(msg.payload.data(), msg.payload.size()));
  w.end_object();
  line.push_back('\n');
  dest.append(line.data(), line.data() + line.size());
}

std::unique_ptr<spdlog::formatter> json_log_formatter::clone() const {
  return std::make_unique<json_log_formatter>();
}

}  // namespace countersign::processor
