#include <countersign/state/delta_combiner.hpp>

namespace countersign::state {

void delta_combiner::add(store_kind kind, std::string_view key, const prevalence_value& delta) {
  auto& m = maps_[static_cast<std::size_t>(kind)];
  if (auto it = m.find(key); it != m.end()) {
    it->second.merge(delta);
    return;
  }
  m.emplace(std::string(key), delta);
  ++size_;
}

const prevalence_value* delta_combiner::pending(store_kind kind, std::string_view key) const {
  const auto& m = maps_[static_cast<std::size_t>(kind)];
  const auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::expected<void, std::string> delta_combiner::flush(prevalence_store& store, std::int32_t partition) {
  for (std::size_t k = 0; k < maps_.size(); ++k) {
    for (const auto& [key, delta] : maps_[k]) store.add(static_cast<store_kind>(k), partition, key, delta);
  }
  auto written = store.commit();
  // On failure the deltas stay pending and are written with the next flush; merges are
  // idempotent, so writing them twice later is harmless.
  if (!written) return written;
  for (auto& m : maps_) m.clear();
  size_ = 0;
  return {};
}

std::optional<prevalence_value> combined_view::value(store_kind kind, std::string_view key) const {
  auto on_disk = store_.get(kind, partition_, key);
  const prevalence_value* pending = pending_.pending(kind, key);
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

}  // namespace countersign::state
