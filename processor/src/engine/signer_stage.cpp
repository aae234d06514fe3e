#include <countersign/processor/engine/signer_stage.hpp>
#include <countersign/state/prevalence_value.hpp>

namespace countersign::processor {

std::optional<entity_key> parse_entity_key(std::string_view topic_key) noexcept {
  if (topic_key.size() < 2) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(topic_key[0]);
  if (kind != static_cast<std::uint8_t>(state::store_kind::signer) &&
      kind != static_cast<std::uint8_t>(state::store_kind::issuer) &&
      kind != static_cast<std::uint8_t>(state::store_kind::company_signer)) {
    return std::nullopt;
  }
  return entity_key{static_cast<state::store_kind>(kind), topic_key.substr(1)};
}

bool signer_stage::apply_delta(std::string_view topic_key, std::string_view value) {
  const auto entity = parse_entity_key(topic_key);
  if (!entity || !state::prevalence_value::decode(value)) return false;
  store_.add_encoded(entity->kind, state::k_global_partition, entity->key, value);
  dirty_.emplace(topic_key);
  return true;
}

std::expected<std::size_t, std::string> signer_stage::flush(const publish_fn& publish) {
  if (dirty_.empty()) return 0;
  if (auto written = store_.commit(); !written) return std::unexpected(written.error());
  std::size_t published = 0;
  for (const auto& topic_key : dirty_) {
    const auto entity = parse_entity_key(topic_key);
    auto record = store_.get(entity->kind, state::k_global_partition, entity->key);
    if (!record) continue;
    scratch_.clear();
    record->encode(scratch_);
    publish(topic_key, scratch_);
    ++published;
  }
  dirty_.clear();
  return published;
}

namespace {
std::string offset_name(std::int32_t partition) { return "signers-offset/" + std::to_string(partition); }
}  // namespace

bool signer_stage::apply_snapshot(std::int32_t partition, std::int64_t next_offset, std::string_view topic_key,
                                  std::string_view value) {
  store_.put_meta(offset_name(partition), next_offset);  // a bad record is consumed too
  const auto entity = parse_entity_key(topic_key);
  if (!entity || !state::prevalence_value::decode(value)) return false;
  store_.add_encoded(entity->kind, state::k_global_partition, entity->key, value);
  return true;
}

std::optional<std::int64_t> signer_stage::table_offset(std::int32_t partition) const {
  return store_.get_meta(offset_name(partition));
}

}  // namespace countersign::processor
