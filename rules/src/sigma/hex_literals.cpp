#include "hex_literals.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <stdexcept>

namespace countersign::rules::sigma::detail {

std::pair<std::size_t, std::size_t> hex_literals::run_of(std::string_view literal) noexcept {
  std::pair<std::size_t, std::size_t> best{0, 0};
  std::size_t i = 0;
  while (i < literal.size()) {
    if (!is_hex(literal[i])) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < literal.size() && is_hex(literal[i])) ++i;
    if (start > 0 && i - start >= k_min_run && i - start > best.second) best = {start, i - start};
  }
  return best;
}

hex_literals::hex_literals(const std::vector<std::pair<std::uint32_t, std::string>>& literals) {
  for (const auto& [id, text] : literals) {
    const auto [at, len] = run_of(text);
    if (len == 0) throw std::logic_error("hex_literals: literal without a hex run");
    if (text_.size() + text.size() > std::numeric_limits<std::uint32_t>::max())
      throw std::length_error("hex_literals: too much literal text");
    entries_.push_back({id, static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(text.size()),
                        static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(len)});
    text_ += text;
    lengths_.push_back(static_cast<std::uint32_t>(len));
  }
  std::ranges::sort(lengths_);
  lengths_.erase(std::unique(lengths_.begin(), lengths_.end()), lengths_.end());
  if (entries_.empty()) return;
  // At most half full: a miss (the usual answer) ends at an empty slot within a probe or two.
  table_.resize(std::bit_ceil(std::max<std::size_t>(16, 2 * entries_.size())));
  mask_ = table_.size() - 1;
  for (std::uint32_t i = 0; i < entries_.size(); ++i) {
    const entry& e = entries_[i];
    const std::uint64_t h = hash(text_.data() + e.text + e.run_at, e.run_len);
    std::size_t s = h & mask_;
    while (table_[s].entry != 0) s = (s + 1) & mask_;
    table_[s] = {static_cast<std::uint32_t>(h >> 32), i + 1};
  }
}

std::size_t hex_literals::memory_bytes() const noexcept {
  return entries_.capacity() * sizeof(entry) + text_.capacity() + lengths_.capacity() * sizeof(std::uint32_t) +
         table_.capacity() * sizeof(slot);
}

}  // namespace countersign::rules::sigma::detail
