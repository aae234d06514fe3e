#pragma once
// Several internal records in one Kafka record. Observations bound for one observations
// partition, and signer deltas bound for one deltas partition, are sent together: one
// produce, one delivery report, one fetched message and one offset instead of one per
// record, which is where the broker's and librdkafka's cost per record goes.
//
// Format: a version byte (1), then for each record its key and value, each a LEB128
// length and the bytes. A batch record carries the header `countersign.record: batch`
// (the runner's); a record without it is a single internal record, as earlier versions
// wrote them, and still read.
//
// No Kafka: the runner hands the bytes in and out.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace countersign::state {

inline constexpr std::uint8_t k_record_batch_version = 1;
// At most this many records in one batch: a record's position in its batch fits in the
// low 16 bits of `batch_position`.
inline constexpr std::size_t k_record_batch_max_records = 65'535;

// Kafka offset and index in its batch in one number that orders like the records:
// offset * 65536 + index. A record that is not in a batch has index 0.
[[nodiscard]] constexpr std::int64_t batch_position(std::int64_t offset, std::size_t index) noexcept {
  return offset * 65'536 + static_cast<std::int64_t>(index);
}

// Builds one batch in a malloc'ed buffer, so a producer can take the buffer over
// (librdkafka's RD_KAFKA_MSG_F_FREE frees it with free()) instead of copying it.
// Owned by one thread.
class record_batch_writer {
 public:
  struct free_deleter {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  // A batch's bytes, handed over: `data` was allocated with malloc.
  struct taken {
    std::unique_ptr<char, free_deleter> data;
    std::size_t size = 0;
  };

  record_batch_writer() = default;
  record_batch_writer(record_batch_writer&& other) noexcept;
  record_batch_writer& operator=(record_batch_writer&& other) noexcept;
  record_batch_writer(const record_batch_writer&) = delete;
  record_batch_writer& operator=(const record_batch_writer&) = delete;
  ~record_batch_writer() { std::free(data_); }

  void add(std::string_view key, std::string_view value);
  [[nodiscard]] std::size_t records() const noexcept { return records_; }
  [[nodiscard]] std::size_t size_bytes() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return records_ == 0; }
  [[nodiscard]] bool full() const noexcept { return records_ >= k_record_batch_max_records; }
  // Whether a record of `adding` bytes (key and value) may join without the batch going
  // past `limit` bytes; an empty batch takes any record (a larger one goes alone).
  [[nodiscard]] bool fits(std::size_t adding, std::size_t limit) const noexcept {
    return empty() || (!full() && size_bytes() + adding <= limit);
  }
  [[nodiscard]] std::string_view bytes() const noexcept { return {data_, size_}; }
  // Empty again; the buffer's capacity is kept for the next batch.
  void clear() noexcept;
  // The bytes, handed over; the writer is empty again and its next batch starts in a
  // new buffer of the same capacity. Null data only if the allocation failed.
  [[nodiscard]] taken take() noexcept;

 private:
  void append(const char* p, std::size_t n);
  void put_varint(std::uint64_t v);

  char* data_ = nullptr;  // malloc'ed
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t records_ = 0;
};

// Reads a batch record by record. A malformed batch (unknown version, a length past the
// end) ends the reading with `ok()` false; the records read before it stand.
class record_batch_reader {
 public:
  explicit record_batch_reader(std::string_view bytes) noexcept;
  // The next record; false at the end or at a malformed record.
  bool next(std::string_view& key, std::string_view& value) noexcept;
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  // Records returned so far.
  [[nodiscard]] std::size_t index() const noexcept { return index_; }

 private:
  std::string_view rest_;
  std::size_t index_ = 0;
  bool ok_ = true;
};

}  // namespace countersign::state
