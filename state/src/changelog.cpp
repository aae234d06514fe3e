#include <countersign/state/changelog.hpp>

#include <countersign/state/prevalence_value.hpp>

namespace countersign::state {

std::string changelog_checkpoint_key(std::int32_t partition) {
  return "changelog-offset/" + std::to_string(partition);
}

std::int64_t changelog_restore_start(const prevalence_store& store, std::int32_t partition,
                                     std::int64_t changelog_end) {
  const std::int64_t from = store.get_meta(changelog_checkpoint_key(partition)).value_or(0);
  return from > changelog_end ? 0 : from;
}

bool apply_changelog_record(prevalence_store& store, std::int32_t partition, std::string_view key,
                            std::string_view record) {
  if (key.empty() || !prevalence_value::decode(record)) return false;
  store.add_encoded(store_kind::hash, partition, key, record);
  return true;
}

bool is_window_changelog_key(std::string_view key) noexcept { return key.starts_with(k_window_changelog_prefix); }

std::string window_changelog_key(std::string_view window_key) {
  std::string k(k_window_changelog_prefix);
  k.append(window_key);
  return k;
}

bool apply_window_changelog_record(prevalence_store& store, std::int32_t partition, std::string_view key,
                                   const char* stored, std::size_t size) {
  if (!is_window_changelog_key(key) || key.size() == k_window_changelog_prefix.size()) return false;
  const std::string_view window_key = key.substr(k_window_changelog_prefix.size());
  if (stored == nullptr || size == 0) {  // a stored record is never empty (its expiry comes first)
    store.erase_window(partition, window_key);
    return true;
  }
  const std::string_view value(stored, size);
  if (!split_window_value(value)) return false;
  store.put_window(partition, window_key, value);
  return true;
}

void put_changelog_checkpoint(prevalence_store& store, std::int32_t partition, std::int64_t next) {
  store.put_meta(changelog_checkpoint_key(partition), next);
}

}  // namespace countersign::state
