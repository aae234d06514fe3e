#pragma once
// Kafka's default key partitioner (Java client: murmur2 of the key bytes, sign bit
// cleared, modulo the partition count; librdkafka's "murmur2"). The ingest stage picks
// the observations partition of a file hash with it, and replay uses the same function,
// so a state directory bootstrapped by replay holds each hash under the partition the
// service will own it in.

#include <cstdint>
#include <string_view>

namespace countersign::processor {

[[nodiscard]] constexpr std::uint32_t kafka_murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto length = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = 0x9747b28c ^ length;
  const auto byte = [&key](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(key[i])); };
  const std::size_t blocks = key.size() / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint32_t k = byte(4 * i) | (byte(4 * i + 1) << 8) | (byte(4 * i + 2) << 16) | (byte(4 * i + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::size_t tail = blocks * 4;
  switch (key.size() % 4) {
    case 3: h ^= byte(tail + 2) << 16; [[fallthrough]];
    case 2: h ^= byte(tail + 1) << 8; [[fallthrough]];
    case 1:
      h ^= byte(tail);
      h *= m;
      break;
    default: break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

// The partition of `key` among `partitions` (> 0).
[[nodiscard]] constexpr std::int32_t kafka_partition(std::string_view key, std::int32_t partitions) noexcept {
  return static_cast<std::int32_t>((kafka_murmur2(key) & 0x7fffffffU) % static_cast<std::uint32_t>(partitions));
}

}  // namespace countersign::processor
