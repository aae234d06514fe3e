#include <countersign/processor/service/metrics_bridge.hpp>
#include <countersign/processor/version.hpp>

#include <algorithm>
#include <chrono>

namespace countersign::processor {
namespace {

prometheus::Counter* plain_counter(prometheus::Registry& r, const std::string& name, const std::string& help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

metrics_bridge::metrics_bridge(std::shared_ptr<prometheus::Registry> registry, std::size_t thread,
                               std::shared_ptr<metrics_threads> threads)
    : registry_(std::move(registry)),
      thread_(std::to_string(thread)),
      threads_(threads ? std::move(threads) : std::make_shared<metrics_threads>()),
      consumed_(prometheus::BuildCounter()
                    .Name("countersign_events_consumed_total")
                    .Help("Input messages consumed, by topic")
                    .Register(*registry_)),
      produced_(prometheus::BuildCounter()
                    .Name("countersign_messages_produced_total")
                    .Help("Output messages acknowledged by the broker, by topic (alerts, dead letters)")
                    .Register(*registry_)),
      rejected_(prometheus::BuildCounter()
                    .Name("countersign_input_rejected_total")
                    .Help("Input messages rejected, by reason")
                    .Register(*registry_)),
      detections_(prometheus::BuildCounter()
                      .Name("countersign_detections_total")
                      .Help("Detector hits, by detector id (one alert can carry several)")
                      .Register(*registry_)),
      consumer_lag_(prometheus::BuildGauge()
                        .Name("countersign_consumer_lag")
                        .Help("Messages between the committed-to-be offset and the partition end, per assigned "
                              "partition (librdkafka statistics, every 5 s)")
                        .Register(*registry_)) {
  auto& r = *registry_;
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) {
    rejected_by_reason_[i].counter =
        &rejected_.Add({{"reason", std::string(to_string(static_cast<reject_reason>(i)))}});
  }
  auto& parsed = prometheus::BuildCounter()
                     .Name("countersign_events_parsed_total")
                     .Help("Input messages parsed, by detected (or configured) schema profile")
                     .Register(r);
  for (std::size_t i = 1; i < events_by_schema_.size(); ++i) {
    events_by_schema_[i].counter =
        &parsed.Add({{"schema", std::string(rules::to_string(static_cast<rules::schema_profile>(i)))}});
  }
  auto& join = prometheus::BuildCounter()
                   .Name("countersign_codeintegrity_join_total")
                   .Help("Code Integrity join outcomes: verdicts released joined or unjoined, 3089 signature "
                         "events that found no verdict, keys evicted by the memory bound")
                   .Register(r);
  ci_joined_.counter = &join.Add({{"outcome", "joined"}});
  ci_unjoined_.counter = &join.Add({{"outcome", "unjoined"}});
  ci_orphans_.counter = &join.Add({{"outcome", "orphan_signature"}});
  ci_evicted_.counter = &join.Add({{"outcome", "evicted"}});
  ci_forgotten_.counter = &join.Add({{"outcome", "forgotten"}});
  auto& cert = prometheus::BuildCounter()
                   .Name("countersign_certificate_join_total")
                   .Help("Execution rows without signer facts (Defender) and their file's certificate row: joined "
                         "(certificate known), held (came first; waits in the file's hash record), joined_late "
                         "(judged when it came), unmatched (waited longer than the join allows), evicted (the "
                         "file already holds the most waiting rows it keeps)")
                   .Register(r);
  cert_joined_.counter = &cert.Add({{"outcome", "joined"}});
  cert_held_.counter = &cert.Add({{"outcome", "held"}});
  cert_joined_late_.counter = &cert.Add({{"outcome", "joined_late"}});
  cert_unmatched_.counter = &cert.Add({{"outcome", "unmatched"}});
  cert_evicted_.counter = &cert.Add({{"outcome", "evicted"}});
  state_updates_.counter = plain_counter(r, "countersign_state_updates_total",
                                         "New (host, file, signature) facts merged into the prevalence store");
  state_errors_.counter = plain_counter(r, "countersign_state_errors_total", "Failed prevalence store writes");
  event_time_lag_ = &prometheus::BuildGauge()
                         .Name("countersign_event_time_lag_seconds")
                         .Help("Wall time minus the newest event time processed (how far behind the fleet)")
                         .Register(r)
                         .Add({});
  learning_ = &prometheus::BuildGauge()
                   .Name("countersign_learning")
                   .Help("1 while prevalence conditions are off (learning.min_history not yet reached), else 0")
                   .Register(r)
                   .Add({});
  events_.counter = plain_counter(r, "countersign_events_processed_total", "Input messages processed by the pipeline");
  observations_.counter = plain_counter(r, "countersign_observations_total", "Events parsed and in scope (signed code)");
  auto& out_of_scope = prometheus::BuildCounter()
                           .Name("countersign_events_out_of_scope_total")
                           .Help("Well-formed events the detectors do not judge, by reason: unknown_schema (no "
                                 "profile reads the shape; Sigma still sees it), other_event (another channel or "
                                 "event type), no_signature (no signature facts)")
                           .Register(r);
  for (std::size_t i = 0; i < k_scope_reason_count; ++i) {
    out_of_scope_by_reason_[i].counter =
        &out_of_scope.Add({{"reason", std::string(to_string(static_cast<scope_reason>(i)))}});
  }
  alerts_.counter = plain_counter(r, "countersign_alerts_total", "Alerts emitted");
  suppressed_.counter = plain_counter(r, "countersign_alerts_suppressed_total",
                                      "Alerts withheld as repeats inside their suppression window");
  produce_retries_.counter = plain_counter(r, "countersign_produce_retries_total",
                                           "Outputs produced again after a failed delivery");
  produce_failures_.counter = plain_counter(r, "countersign_produce_failures_total",
                                            "Outputs dropped after a permanent produce error");
  internal_batches_.counter = plain_counter(r, "countersign_internal_batches_total",
                                            "Batch records produced to the observations and deltas topics");
  consume_errors_.counter = plain_counter(r, "countersign_consume_errors_total", "Errors reported by the consumer");
  rebalances_.counter = plain_counter(r, "countersign_rebalances_total", "Consumer group rebalances seen");
  assigned_.gauge = &prometheus::BuildGauge()
                   .Name("countersign_assigned_partitions")
                   .Help("Input partitions currently assigned to this instance")
                   .Register(r)
                   .Add({});
  fields_truncated_.counter =
      plain_counter(r, "countersign_fields_truncated_total",
                    "Event fields longer than input.max_field_bytes, cut to it (the event is still read; Sigma "
                    "sees the whole field)");
  repeats_.counter = plain_counter(r, "countersign_observations_repeated_total",
                                   "In-scope observations dropped at ingest as a repeat of a (host, file, signature) "
                                   "fact routed within the same suppression window");
  forwarded_.counter = plain_counter(r, "countersign_observations_forwarded_total",
                                     "Observations sent to the hash stage (observations topic)");
  restored_.counter = plain_counter(r, "countersign_state_restored_records_total",
                                    "Changelog records applied while restoring assigned partitions");
  table_records_.counter = plain_counter(r, "countersign_global_table_records_total",
                                         "Signer and issuer snapshots applied to the global table");
  intel_errors_.counter = plain_counter(r, "countersign_intel_load_errors_total",
                                        "Abused-certificate list files or rows that failed to load (the previous "
                                        "records of a failed file stay in use)");
  const auto gauge = [&r](const std::string& name, const std::string& help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
  };
  restoring_.gauge = gauge("countersign_state_restoring_partitions", "Assigned observations partitions still restoring");
  restore_seconds_ = gauge("countersign_state_last_restore_seconds", "Duration of the latest partition restore");
  {
    auto& family = prometheus::BuildHistogram()
                       .Name("countersign_stage_duration_seconds")
                       .Help("Processing time of one consumed message, by stage (ingest: parse to forwarded "
                             "observation; hash: detectors, state, alert; signer: delta merge)")
                       .Register(r);
    const prometheus::Histogram::BucketBoundaries bounds(latency_histogram::k_bounds_seconds.begin(),
                                                         latency_histogram::k_bounds_seconds.end());
    const char* names[] = {"ingest", "hash", "signer"};
    for (std::size_t i = 0; i < stage_latency_.size(); ++i) {
      stage_latency_[i].histogram = &family.Add({{"stage", names[i]}}, bounds);
    }
  }
  state_sst_bytes_ = gauge("countersign_state_sst_bytes", "Size of the live RocksDB SST files of the prevalence store");
  {
    auto& family = prometheus::BuildGauge()
                       .Name("countersign_state_memory_bytes")
                       .Help("Memory RocksDB reports for the prevalence store, by part (memtables; the shared block "
                             "cache, which also holds the memtables' reservation; table readers outside the cache)")
                       .Register(r);
    const char* parts[] = {"memtables", "block_cache", "table_readers"};
    for (std::size_t i = 0; i < state_memory_.size(); ++i) state_memory_[i] = &family.Add({{"part", parts[i]}});
  }
  state_write_stalled_ = gauge("countersign_state_write_stalled",
                               "1 while RocksDB delays or stops writes (compaction behind), else 0");
  state_writable_ = gauge("countersign_state_writable",
                          "0 while a failed state write (disk full, RocksDB error) has paused consumption, else 1");
  group_member_.gauge = gauge("countersign_group_member",
                        "1 once the consumer group gave this instance an assignment (possibly of no partitions: "
                        "more instances than partitions), 0 before and after leaving the group");
  state_write_errors_.counter =
      plain_counter(r, "countersign_state_write_errors_total",
                    "Prevalence store writes that failed or were refused for low space (state.min_free_bytes)");
  state_reads_.counter = plain_counter(r, "countersign_state_reads_total", "Prevalence store record reads");
  state_read_misses_.counter = plain_counter(r, "countersign_state_read_misses_total",
                                             "Prevalence store reads that found no record (hit rate = 1 - misses/reads)");
  state_dropped_.counter = plain_counter(r, "countersign_state_dropped_by_retention_total",
                                         "Records dropped by the retention compaction filter");
  intel_records_ = gauge("countersign_intel_records", "Abused-certificate list entries in use");
  sigma_rules_ = gauge("countersign_sigma_rules", "Sigma rules in use (built-in and sigma.rules_dir)");
  sigma_events_.counter = plain_counter(r, "countersign_sigma_events_total", "Events evaluated against the Sigma rules");
  sigma_evaluated_.counter = plain_counter(
      r, "countersign_sigma_rule_evaluations_total",
      "Sigma rules evaluated in full (admitted by logsource and passing the literal prefilter), summed over events");
  sigma_matches_.counter = plain_counter(r, "countersign_sigma_matches_total", "Sigma rule matches");
  sigma_alerts_.counter = plain_counter(r, "countersign_sigma_alerts_total",
                                        "Alerts emitted for Sigma rule matches (also in countersign_alerts_total)");
  sigma_truncated_.counter = plain_counter(r, "countersign_sigma_truncated_events_total",
                                           "Events with more scalars than sigma.max_fields (evaluated on the first ones)");
  sigma_reload_errors_.counter = plain_counter(
      r, "countersign_sigma_load_errors_total",
      "Sigma rule files that failed to load or reload (their previous rules stay in use)");
  sigma_correlations_ = gauge("countersign_sigma_correlations", "Sigma correlation rules in use");
  sigma_withheld_.counter = plain_counter(
      r, "countersign_sigma_alerts_withheld_total",
      "Sigma rule matches not alerted because a correlation refers to the rule without generate: true");
  correlation_windows_.gauge = gauge("countersign_correlation_windows_open",
                               "Correlation groups with open windows, over the observations partitions this instance owns");
  correlation_matches_.counter = plain_counter(r, "countersign_correlation_matches_total",
                                               "Base-rule matches judged by correlations (one per correlation)");
  correlation_alerts_.counter = plain_counter(
      r, "countersign_correlation_alerts_total", "Correlation alerts raised (also in countersign_alerts_total)");
  correlation_late_.counter = plain_counter(r, "countersign_correlation_late_events_total",
                                            "Matches older than the partition's watermark - sigma.correlations.allowed_lateness: dropped");
  correlation_duplicates_.counter = plain_counter(r, "countersign_correlation_duplicate_events_total",
                                                  "Matches of an event already in its group's window (redelivery): ignored");
  correlation_evicted_.counter = plain_counter(
      r, "countersign_correlation_evictions_total",
      "Groups (sigma.correlations.max_groups) and events (max_entries_per_group) dropped to bound the state");
  correlation_unrouted_.counter = plain_counter(
      r, "countersign_correlation_unrouted_total",
      "Matches of a referenced rule not judged: a group-by or value_count field missing, no event time, or a stale rule");
  table_caught_up_.gauge = gauge("countersign_global_table_caught_up",
                           "1 once the global signer table has read the signers topic to its end seen at start");
  prometheus::BuildGauge()
      .Name("countersign_build_info")
      .Help("Build information")
      .Register(r)
      .Add({{"version", std::string(k_version)}})
      .Set(1);
}

void metrics_bridge::mirrored_histogram::sync(const latency_histogram& total) {
  std::vector<double> increments(total.counts.size());
  bool any = false;
  for (std::size_t i = 0; i < total.counts.size(); ++i) {
    increments[i] = static_cast<double>(total.counts[i] - published.counts[i]);
    any = any || increments[i] > 0;
  }
  if (!any) return;
  histogram->ObserveMultiple(increments, total.sum_seconds - published.sum_seconds);
  published = total;
}

metrics_bridge::mirrored& metrics_bridge::labelled(prometheus::Family<prometheus::Counter>& family,
                                                   std::map<std::string, mirrored>& cache,
                                                   const std::string& label, const std::string& value) {
  auto it = cache.find(value);
  if (it == cache.end()) {
    it = cache.emplace(value, mirrored{&family.Add({{label, value}}), 0}).first;
  }
  return it->second;
}

void metrics_bridge::publish(const pipeline_stats& p, const runner_stats* r) {
  events_.sync(p.events);
  observations_.sync(p.observations);
  for (std::size_t i = 0; i < k_scope_reason_count; ++i) out_of_scope_by_reason_[i].sync(p.out_of_scope_by_reason[i]);
  alerts_.sync(p.alerts + p.sigma.alerts + p.correlation.alerts);
  suppressed_.sync(p.suppressed + p.sigma.suppressed);
  sigma_rules_->Set(static_cast<double>(p.sigma.rules));
  sigma_events_.sync(p.sigma.events);
  sigma_evaluated_.sync(p.sigma.evaluated);
  sigma_matches_.sync(p.sigma.matches);
  sigma_alerts_.sync(p.sigma.alerts);
  sigma_truncated_.sync(p.sigma.truncated);
  sigma_reload_errors_.sync(p.sigma.reload_errors);
  sigma_correlations_->Set(static_cast<double>(p.sigma.correlations));
  sigma_withheld_.sync(p.sigma.withheld);
  const auto& c = p.correlation;
  correlation_windows_.set(static_cast<double>(c.open_windows));
  correlation_matches_.sync(c.evaluator.matches);
  correlation_alerts_.sync(c.alerts);
  correlation_late_.sync(c.evaluator.late_dropped);
  correlation_duplicates_.sync(c.evaluator.duplicates);
  correlation_evicted_.sync(c.evaluator.groups_evicted + c.evaluator.entries_evicted);
  correlation_unrouted_.sync(p.sigma.correlation_missing_field + p.sigma.correlation_no_time + c.evaluator.stale_matches +
                             c.bad_records);
  // Internal records that do not decode: observations the hash stage rejected, plus what
  // the runner found (broken batches, hash records, deltas, changelog records, snapshots).
  constexpr auto bad_internal = static_cast<std::size_t>(reject_reason::bad_internal_record);
  for (std::size_t i = 0; i < k_reject_reason_count; ++i) {
    rejected_by_reason_[i].sync(p.rejected[i] + (i == bad_internal && r ? r->bad_internal_records : 0));
  }
  for (std::size_t i = 1; i < p.events_by_schema.size(); ++i) events_by_schema_[i].sync(p.events_by_schema[i]);
  ci_joined_.sync(p.ci_join.joined);
  ci_unjoined_.sync(p.ci_join.unjoined);
  ci_orphans_.sync(p.ci_join.orphan_signatures);
  ci_evicted_.sync(p.ci_join.evicted);
  ci_forgotten_.sync(p.ci_join.forgotten);
  cert_joined_.sync(p.certificate_join.joined);
  cert_joined_late_.sync(p.certificate_join.joined_late);
  cert_unmatched_.sync(p.certificate_join.unmatched);
  cert_evicted_.sync(p.certificate_join.evicted);
  cert_held_.sync(p.certificate_join.held);
  repeats_.sync(p.repeats);
  fields_truncated_.sync(p.fields_truncated);
  forwarded_.sync(p.forwarded);
  state_updates_.sync(p.state_updates);
  state_errors_.sync(p.state_errors);
  learning_->Set(p.learning ? 1 : 0);
  auto& newest = threads_->max_event_time_ms;
  for (std::int64_t seen = newest.load(std::memory_order_relaxed);
       p.max_event_time_ms > seen && !newest.compare_exchange_weak(seen, p.max_event_time_ms, std::memory_order_relaxed);) {
  }
  if (const std::int64_t max_event_time_ms = newest.load(std::memory_order_relaxed); max_event_time_ms > 0) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    event_time_lag_->Set(static_cast<double>(now - max_event_time_ms) / 1000.0);
  }
  for (const auto& [id, n] : p.hits_by_detector) {
    labelled(detections_, detections_by_id_, "detector", std::string(id)).sync(n);
  }
  if (r == nullptr) return;
  for (const auto& [topic, n] : r->consumed_by_topic) labelled(consumed_, consumed_by_topic_, "topic", topic).sync(n);
  for (const auto& [topic, n] : r->produced_by_topic) labelled(produced_, produced_by_topic_, "topic", topic).sync(n);
  produce_retries_.sync(r->produce_retries);
  produce_failures_.sync(r->produce_failures);
  internal_batches_.sync(r->internal_batches);
  consume_errors_.sync(r->consume_errors);
  rebalances_.sync(r->rebalances);
  assigned_.set(static_cast<double>(r->assigned_partitions));
  restored_.sync(r->restored_records);
  table_records_.sync(r->table_records);
  restoring_.set(static_cast<double>(r->restoring_partitions));
  restore_seconds_->Set(r->last_restore_seconds);
  table_caught_up_.set(r->table_caught_up, threads_->table_caught_up, threads_->count);
  intel_errors_.sync(r->intel_errors);
  stage_latency_[0].sync(r->ingest_latency);
  stage_latency_[1].sync(r->hash_latency);
  stage_latency_[2].sync(r->signer_latency);
  state_sst_bytes_->Set(static_cast<double>(r->state_sst_bytes));
  state_memory_[0]->Set(static_cast<double>(r->state_memtable_bytes));
  state_memory_[1]->Set(static_cast<double>(r->state_block_cache_bytes));
  state_memory_[2]->Set(static_cast<double>(r->state_table_reader_bytes));
  state_write_stalled_->Set(r->state_write_stalled ? 1 : 0);
  state_writable_->Set(r->state_writable ? 1 : 0);
  group_member_.set(r->group_member, threads_->group_member, threads_->count);
  state_write_errors_.sync(r->state_write_errors);
  state_reads_.sync(r->state_reads);
  state_read_misses_.sync(r->state_read_misses);
  state_dropped_.sync(r->state_dropped_by_retention);
  intel_records_->Set(static_cast<double>(r->intel_records));
  // Partitions no longer assigned drop out of the lag family.
  for (auto it = consumer_lag_by_partition_.begin(); it != consumer_lag_by_partition_.end();) {
    const bool assigned = std::ranges::any_of(r->consumer_lag, [&](const auto& l) {
      return it->first == l.topic + "/" + std::to_string(l.partition);
    });
    if (assigned) {
      ++it;
    } else {
      consumer_lag_.Remove(it->second);
      it = consumer_lag_by_partition_.erase(it);
    }
  }
  for (const auto& l : r->consumer_lag) {
    const std::string key = l.topic + "/" + std::to_string(l.partition);
    auto it = consumer_lag_by_partition_.find(key);
    if (it == consumer_lag_by_partition_.end()) {
      it = consumer_lag_by_partition_
               .emplace(key, &consumer_lag_.Add(
                                 {{"topic", l.topic}, {"partition", std::to_string(l.partition)}, {"thread", thread_}}))
               .first;
    }
    it->second->Set(static_cast<double>(l.lag));
  }
}

}  // namespace countersign::processor
