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

// Queues the checkpoint: the store holds the changelog of `partition` below `next`. It
// becomes durable with the commit of the records it describes.
void put_changelog_checkpoint(prevalence_store& store, std::int32_t partition, std::int64_t next);

}  // namespace countersign::state
