#include <countersign/processor/transport/partition_lifecycle.hpp>

#include <algorithm>

namespace countersign::processor::transport {

bool partition_lifecycle::assign(topic_role role, std::int32_t partition) {
  if (!stateful_) return false;
  switch (role) {
    case topic_role::input:
      return false;
    case topic_role::observations:
      owned_.erase(partition);
      if (active_ != partition && std::ranges::find(queue_, partition) == queue_.end()) queue_.push_back(partition);
      return true;
    case topic_role::deltas:
      deltas_waiting_.insert(partition);
      need_table_target_ = true;
      return true;
  }
  return false;
}

bool partition_lifecycle::revoke(topic_role role, std::int32_t partition) {
  if (role == topic_role::deltas) {
    deltas_waiting_.erase(partition);
    return false;
  }
  if (role != topic_role::observations) return false;
  owned_.erase(partition);
  std::erase(queue_, partition);
  if (active_ == partition) {
    active_.reset();
    return true;
  }
  return false;
}

bool partition_lifecycle::held(topic_role role, std::int32_t partition) const {
  if (!stateful_) return false;
  if (role == topic_role::observations) return !owned_.contains(partition);
  if (role == topic_role::deltas) return deltas_waiting_.contains(partition);
  return false;
}

std::optional<std::int32_t> partition_lifecycle::start_restore() {
  if (active_ || queue_.empty()) return std::nullopt;
  active_ = queue_.front();
  queue_.pop_front();
  return active_;
}

void partition_lifecycle::restore_postponed() {
  if (!active_) return;
  queue_.push_front(*active_);
  active_.reset();
}

void partition_lifecycle::restore_failed() {
  if (!active_) return;
  queue_.push_back(*active_);
  active_.reset();
}

std::int32_t partition_lifecycle::restore_done() {
  const std::int32_t p = active_.value_or(-1);
  if (active_) owned_.insert(p);
  active_.reset();
  return p;
}

std::vector<std::int32_t> partition_lifecycle::release_deltas() {
  std::vector<std::int32_t> out(deltas_waiting_.begin(), deltas_waiting_.end());
  deltas_waiting_.clear();
  return out;
}

}  // namespace countersign::processor::transport
