#include <countersign/state/record_batch.hpp>

#include <countersign/state/varint.hpp>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace countersign::state {

record_batch_writer::record_batch_writer(record_batch_writer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      records_(std::exchange(other.records_, 0)) {}

record_batch_writer& record_batch_writer::operator=(record_batch_writer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    records_ = std::exchange(other.records_, 0);
  }
  return *this;
}

void record_batch_writer::append(const char* p, std::size_t n) {
  if (size_ + n > capacity_) {
    const std::size_t grown = std::max({size_ + n, capacity_ * 2, std::size_t{256}});
    // data_ null: a fresh buffer after take(); realloc(nullptr) is malloc.
    auto* bigger = static_cast<char*>(std::realloc(data_, grown));
    if (bigger == nullptr) throw std::bad_alloc();  // as std::string's append would
    data_ = bigger;
    capacity_ = grown;
  }
  if (n > 0) std::memcpy(data_ + size_, p, n);
  size_ += n;
}

void record_batch_writer::put_varint(std::uint64_t v) {
  char buf[detail::k_max_varint];
  append(buf, detail::encode_varint(v, buf));
}

void record_batch_writer::add(std::string_view key, std::string_view value) {
  if (size_ == 0) {
    const char version = static_cast<char>(k_record_batch_version);
    append(&version, 1);
  }
  put_varint(key.size());
  append(key.data(), key.size());
  put_varint(value.size());
  append(value.data(), value.size());
  ++records_;
}

void record_batch_writer::clear() noexcept {
  size_ = 0;
  records_ = 0;
}

record_batch_writer::taken record_batch_writer::take() noexcept {
  taken out{std::unique_ptr<char, free_deleter>(data_), size_};
  // The next batch is likely as large: allocate its buffer now (an allocation failure
  // here leaves it to append(), which grows from nothing).
  const std::size_t keep = capacity_;
  data_ = static_cast<char*>(std::malloc(keep));
  capacity_ = data_ != nullptr ? keep : 0;
  size_ = 0;
  records_ = 0;
  return out;
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
