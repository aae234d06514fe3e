#include <countersign/state/delta_combiner.hpp>

namespace countersign::state {

void delta_combiner::add(store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value& delta) {
  auto& m = maps_[static_cast<std::size_t>(kind)];
  assign_store_key(scratch_, partition, key);
  if (auto it = m.find(std::string_view(scratch_)); it != m.end()) {
    it->second.merge(delta);
    return;
  }
  m.emplace(scratch_, delta);
  ++size_;
}

const prevalence_value* delta_combiner::pending(store_kind kind, std::int32_t partition, std::string_view key) const {
  const auto& m = maps_[static_cast<std::size_t>(kind)];
  if (m.empty()) return nullptr;
  assign_store_key(scratch_, partition, key);
  const auto it = m.find(std::string_view(scratch_));
  return it == m.end() ? nullptr : &it->second;
}

std::expected<void, std::string> delta_combiner::flush(prevalence_store& store) {
  for_each([&store](store_kind kind, std::int32_t partition, std::string_view key, const prevalence_value& delta) {
    store.add(kind, partition, key, delta);
  });
  auto written = store.commit();
  // On failure the deltas stay pending and are written with the next flush; merges are
  // idempotent, so writing them twice later is harmless.
  if (!written) return written;
  clear();
  return {};
}

void delta_combiner::clear() {
  for (auto& m : maps_) m.clear();
  size_ = 0;
}

std::optional<prevalence_value> combined_view::value(store_kind kind, std::string_view key) const {
  const std::int32_t partition = kind == store_kind::hash ? partition_ : k_global_partition;
  auto on_disk = store_.get(kind, partition, key);
  const prevalence_value* pending = pending_.pending(kind, partition, key);
  if (pending == nullptr) return on_disk;
  if (!on_disk) return *pending;
  on_disk->merge(*pending);
  return on_disk;
}

std::optional<prevalence_record> combined_view::hash(std::string_view sha256) const {
  auto v = value(store_kind::hash, sha256);
  return v ? std::optional(v->view()) : std::nullopt;
}

std::optional<prevalence_record> combined_view::signer(std::string_view signer_key) const {
  auto v = value(store_kind::signer, signer_key);
  return v ? std::optional(v->view()) : std::nullopt;
}

std::optional<prevalence_record> combined_view::issuer(std::string_view issuer) const {
  auto v = value(store_kind::issuer, issuer);
  return v ? std::optional(v->view()) : std::nullopt;
}

std::optional<prevalence_record> combined_view::company_signer(std::string_view key) const {
  auto v = value(store_kind::company_signer, key);
  return v ? std::optional(v->view()) : std::nullopt;
}

}  // namespace countersign::state
