#include <countersign/state/record_batch.hpp>

#include "varint.hpp"

namespace countersign::state {

void record_batch_writer::add(std::string_view key, std::string_view value) {
  if (bytes_.empty()) bytes_.push_back(static_cast<char>(k_record_batch_version));
  detail::put_varint(bytes_, key.size());
  bytes_.append(key);
  detail::put_varint(bytes_, value.size());
  bytes_.append(value);
  ++records_;
}

void record_batch_writer::clear() noexcept {
  bytes_.clear();
  records_ = 0;
}

record_batch_reader::record_batch_reader(std::string_view bytes) noexcept {
  if (bytes.empty() || static_cast<std::uint8_t>(bytes.front()) != k_record_batch_version) {
    ok_ = false;
    return;
  }
  rest_ = bytes.substr(1);
}

bool record_batch_reader::next(std::string_view& key, std::string_view& value) noexcept {
  if (!ok_ || rest_.empty()) return false;
  const auto take = [this](std::string_view& out) {
    const auto n = detail::get_varint(rest_);
    if (!n || *n > rest_.size()) return false;
    out = rest_.substr(0, static_cast<std::size_t>(*n));
    rest_.remove_prefix(static_cast<std::size_t>(*n));
    return true;
  };
  if (index_ >= k_record_batch_max_records || !take(key) || !take(value)) {
    ok_ = false;
    return false;
  }
  ++index_;
  return true;
}

}  // namespace countersign::state
