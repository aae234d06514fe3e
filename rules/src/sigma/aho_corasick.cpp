#include "aho_corasick.hpp"

#include <limits>
#include <stdexcept>

#include "countersign/rules/sigma/detail.hpp"

namespace countersign::rules::sigma::detail {
namespace {

constexpr std::uint32_t k_no_child = std::numeric_limits<std::uint32_t>::max();

std::uint8_t byte_of(char c) { return static_cast<std::uint8_t>(lower_ascii(c)); }

}  // namespace

aho_corasick::aho_corasick(const std::vector<std::string>& patterns) {
  // Byte classes: 0 for bytes no pattern uses, one class per lowercased byte otherwise.
  for (const auto& p : patterns)
    for (char c : p) {
      const std::uint8_t b = byte_of(c);
      if (class_of_[b] == 0) class_of_[b] = static_cast<std::uint8_t>(classes_++);
    }
  for (int c = 'A'; c <= 'Z'; ++c) class_of_[static_cast<std::size_t>(c)] = class_of_[static_cast<std::size_t>(c - 'A' + 'a')];

  // The trie, as dense rows of child state numbers (not yet offsets).
  std::size_t total = 1;
  for (const auto& p : patterns) total += p.size();
  if (total * classes_ > k_row_mask) throw std::length_error("aho_corasick: pattern set too large");
  std::vector<std::uint32_t> child(classes_, k_no_child);
  std::vector<std::vector<std::uint32_t>> own(1);  // patterns ending exactly at a state
  for (std::uint32_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].empty()) continue;
    std::uint32_t s = 0;
    for (char c : patterns[i]) {
      const std::size_t slot = s * classes_ + class_of_[byte_of(c)];
      if (child[slot] == k_no_child) {
        child[slot] = static_cast<std::uint32_t>(own.size());
        own.emplace_back();
        child.resize(child.size() + classes_, k_no_child);
      }
      s = child[slot];
    }
    own[s].push_back(i);
  }
  const auto n = static_cast<std::uint32_t>(own.size());

  // Breadth-first: a state's failure target is shallower, so its row and its outputs are
  // complete when the state is reached. Missing children take the failure target's
  // transition, which turns the trie into the DFA.
  std::vector<std::uint32_t> fail(n, 0), order;
  std::vector<std::vector<std::uint32_t>> outputs(n);
  order.reserve(n);
  for (std::uint32_t c = 0; c < classes_; ++c) {
    std::uint32_t& next = child[c];
    if (next == k_no_child) {
      next = 0;
    } else {
      order.push_back(next);
    }
  }
  for (std::size_t head = 0; head < order.size(); ++head) {
    const std::uint32_t s = order[head];
    outputs[s] = own[s];
    outputs[s].insert(outputs[s].end(), outputs[fail[s]].begin(), outputs[fail[s]].end());
    for (std::uint32_t c = 0; c < classes_; ++c) {
      std::uint32_t& next = child[s * classes_ + c];
      const std::uint32_t via_fail = child[fail[s] * classes_ + c];
      if (next == k_no_child) {
        next = via_fail;
      } else {
        fail[next] = via_fail;
        order.push_back(next);
      }
    }
  }

  delta_.resize(child.size());
  for (std::size_t i = 0; i < child.size(); ++i)
    delta_[i] = child[i] * classes_ | (outputs[child[i]].empty() ? 0 : k_output_bit);
  out_begin_.reserve(n + 1);
  for (std::uint32_t s = 0; s < n; ++s) {
    out_begin_.push_back(static_cast<std::uint32_t>(out_.size()));
    out_.insert(out_.end(), outputs[s].begin(), outputs[s].end());
  }
  out_begin_.push_back(static_cast<std::uint32_t>(out_.size()));
}

std::size_t aho_corasick::memory_bytes() const noexcept {
  return (delta_.capacity() + out_begin_.capacity() + out_.capacity()) * sizeof(std::uint32_t);
}

}  // namespace countersign::rules::sigma::detail
