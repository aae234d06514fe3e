#include <countersign/state/suppression_cache.hpp>

namespace countersign::state {

bool suppression_cache::first_time(std::string_view id) {
  if (capacity_ == 0) return true;
  if (index_.contains(id)) return false;
  if (index_.size() >= capacity_) {
    index_.erase(std::string_view(order_.front()));
    order_.pop_front();
  }
  order_.emplace_back(id);
  auto it = std::prev(order_.end());
  index_.emplace(std::string_view(*it), it);
  return true;
}

}  // namespace countersign::state
