#include <countersign/processor/service/offset_tracker.hpp>

#include <algorithm>

namespace countersign::processor {

partition_slot_ref offset_tracker::assign(const std::string& topic, std::int32_t partition) {
  if (auto ref = find(topic, partition); ref.generation != 0) return ref;
  std::uint32_t index = 0;
  while (index < slots_.size() && slots_[index].active) ++index;
  if (index == slots_.size()) slots_.emplace_back();
  slot& s = slots_[index];
  s.topic = topic;
  s.partition = partition;
  s.generation = next_generation_++;
  s.active = true;
  s.entries.clear();
  s.commit_next = -1;
  s.moved = false;
  return {index, s.generation};
}

void offset_tracker::revoke(const std::string& topic, std::int32_t partition) {
  const auto ref = find(topic, partition);
  if (ref.generation == 0) return;
  slot& s = slots_[ref.slot];
  for (const auto& e : s.entries) {
    if (e.pending > 0) --in_flight_;
  }
  s.entries.clear();
  s.active = false;
  s.generation = 0;
}

partition_slot_ref offset_tracker::find(const std::string& topic, std::int32_t partition) const {
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    const slot& s = slots_[i];
    if (s.active && s.partition == partition && s.topic == topic) return {i, s.generation};
  }
  return {0, 0};
}

void offset_tracker::consumed(partition_slot_ref ref, std::int64_t offset, std::uint32_t pending) {
  if (ref.slot >= slots_.size() || slots_[ref.slot].generation != ref.generation || ref.generation == 0) return;
  slot& s = slots_[ref.slot];
  s.entries.push_back({offset, pending});
  if (pending > 0) ++in_flight_;
  advance(s);
}

offset_tracker::entry* offset_tracker::find_entry(partition_slot_ref ref, std::int64_t offset) {
  if (ref.slot >= slots_.size() || slots_[ref.slot].generation != ref.generation || ref.generation == 0) {
    return nullptr;
  }
  slot& s = slots_[ref.slot];
  const auto it = std::lower_bound(s.entries.begin(), s.entries.end(), offset,
                                   [](const entry& e, std::int64_t o) { return e.offset < o; });
  if (it == s.entries.end() || it->offset != offset || it->pending == 0) return nullptr;
  return &*it;
}

void offset_tracker::add_pending(partition_slot_ref ref, std::int64_t offset, std::uint32_t more) {
  if (entry* e = find_entry(ref, offset)) e->pending += more;
}

void offset_tracker::acked(partition_slot_ref ref, std::int64_t offset) {
  entry* it = find_entry(ref, offset);
  if (it == nullptr) return;
  slot& s = slots_[ref.slot];
  if (--it->pending == 0) --in_flight_;
  advance(s);
}

void offset_tracker::advance(slot& s) {
  while (!s.entries.empty() && s.entries.front().pending == 0) {
    s.commit_next = s.entries.front().offset + 1;
    s.moved = true;
    s.entries.pop_front();
  }
}

std::vector<offset_tracker::commit_point> offset_tracker::take_committable() {
  std::vector<commit_point> out;
  for (auto& s : slots_) {
    if (!s.active || !s.moved) continue;
    out.push_back({s.topic, s.partition, s.commit_next});
    s.moved = false;
  }
  return out;
}

}  // namespace countersign::processor
