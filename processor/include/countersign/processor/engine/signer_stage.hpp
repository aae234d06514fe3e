#pragma once
// The signer stage and the global table (docs/design.md section 2).
//
//   signer-deltas (key = kind + signer/issuer) ─► signer stage ─► snapshot ─► signers topic
//                                                                              (compacted)
//   signers topic, every partition, every instance ─► global table (signer/issuer stores)
//
// Both write into the store's global partition with the same idempotent merge, so the
// table is the union of everything published and of this instance's own deltas. The
// owner of a deltas partition publishes the whole merged record of each changed key,
// which is why its partitions are held back until the table has caught up with the
// signers topic: a snapshot taken from a table that is behind would lose facts once
// compaction keeps only the newest record per key.
// Single-threaded.

#include <countersign/state/prevalence_store.hpp>

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace countersign::processor {

// A signer-deltas or signers-topic key split into its store and entity key; nullopt
// when the kind byte names no global store.
struct entity_key {
  state::store_kind kind;
  std::string_view key;
};
[[nodiscard]] std::optional<entity_key> parse_entity_key(std::string_view topic_key) noexcept;

class signer_stage {
 public:
  explicit signer_stage(state::prevalence_store& store) : store_(store) {}

  // Merges a delta read from the signer-deltas topic; false when it does not decode.
  [[nodiscard]] bool apply_delta(std::string_view topic_key, std::string_view value);
  // Writes the merged deltas, then hands the whole record of each changed entity to
  // `publish(topic_key, record)`. Returns how many were published.
  using publish_fn = std::function<void(std::string_view topic_key, std::string_view record)>;
  [[nodiscard]] std::expected<std::size_t, std::string> flush(const publish_fn& publish);
  [[nodiscard]] std::size_t pending() const noexcept { return dirty_.size(); }

  // Merges a snapshot read from the signers topic into the global table, and records
  // `next_offset` of its partition in the same write; false when it does not decode.
  [[nodiscard]] bool apply_snapshot(std::int32_t partition, std::int64_t next_offset, std::string_view topic_key,
                                    std::string_view value);
  // Makes applied snapshots durable (with their offsets).
  [[nodiscard]] std::expected<void, std::string> commit_snapshots() { return store_.commit(); }
  // Where the table left off in a signers partition (nullopt: from the beginning).
  [[nodiscard]] std::optional<std::int64_t> table_offset(std::int32_t partition) const;

 private:
  state::prevalence_store& store_;
  std::set<std::string> dirty_;  // topic keys merged since the last flush
  std::string scratch_;
};

}  // namespace countersign::processor
