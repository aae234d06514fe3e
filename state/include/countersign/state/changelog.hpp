#pragma once
// The hash state's changelog on the store side: restoring an observations partition's
// hash records from its changelog partition, and the checkpoint that says how much of
// the changelog the local store already holds, so a restart reads only the rest.
//
// No Kafka: the runner reads the records and hands them here.

#include <countersign/state/prevalence_store.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace countersign::state {

// The meta key of partition `partition`'s checkpoint.
[[nodiscard]] std::string changelog_checkpoint_key(std::int32_t partition);

// Where reading changelog partition `partition` starts: after what the store holds, or
// from 0 when the changelog ends before the checkpoint (the topic was recreated, so the
// checkpoint describes another changelog).
[[nodiscard]] std::int64_t changelog_restore_start(const prevalence_store& store, std::int32_t partition,
                                                   std::int64_t changelog_end);

// Queues one changelog record (a whole hash record, keyed by the hash) as a merge into
// the partition's hash state. False, and nothing queued, when it does not decode.
[[nodiscard]] bool apply_changelog_record(prevalence_store& store, std::int32_t partition, std::string_view key,
                                          std::string_view record);

// Correlation window records travel on the same changelog partition as the hash records
// of their partition (the partition that owns their group), under keys that start with
// this prefix (no hash key does); a null value is a deletion (a tombstone, so compaction
// forgets the group too).
inline constexpr std::string_view k_window_changelog_prefix{"\x01window\x00", 8};
[[nodiscard]] bool is_window_changelog_key(std::string_view key) noexcept;
[[nodiscard]] std::string window_changelog_key(std::string_view window_key);
// Queues one window changelog record (`stored` as prevalence_store stores it; null or
// empty: deleted). False, and nothing queued, when it is malformed.
[[nodiscard]] bool apply_window_changelog_record(prevalence_store& store, std::int32_t partition, std::string_view key,
                                                 const char* stored, std::size_t size);

// Queues the checkpoint: the store holds the changelog of `partition` below `next`. It
// becomes durable with the commit of the records it describes.
void put_changelog_checkpoint(prevalence_store& store, std::int32_t partition, std::int64_t next);

}  // namespace countersign::state
