#include <countersign/processor/engine/ci_join.hpp>

#include <algorithm>
#include <iterator>

namespace countersign::processor {
namespace {

// A signature whose verification found a problem: revoked 4/19, expired 5, untrusted
// root 7, chain 27 (docs/detections.md section 3 raises a Code Integrity alert to high
// for those) and bad digest 1/11/23. Such a signature speaks for the file over a valid
// one.
bool significant(const rules::observation& s) {
  if (!s.ci.verification_error) return false;
  switch (*s.ci.verification_error) {
    case 1: case 4: case 5: case 7: case 11: case 19: case 23: case 27: return true;
    default: return false;
  }
}

}  // namespace

bool ci_joiner::complete(const entry& e) {
  if (!e.verdict) return false;
  if (e.signatures.empty()) return false;
  const auto& first = e.signatures.front().ci;
  const std::int64_t expected = first.total_signature_count.value_or(1);
  return static_cast<std::int64_t>(e.signatures.size()) >= std::max<std::int64_t>(expected, 1);
}

// The verdict takes the signer facts of the most telling signature: one with a
// certificate problem if any, else the leaf signature (index 0), else the first seen.
void ci_joiner::merge(rules::observation& v, const std::vector<rules::observation>& signatures) {
  if (signatures.empty()) return;
  const rules::observation* chosen = &signatures.front();
  for (const auto& s : signatures) {
    if (significant(s)) {
      chosen = &s;
      break;
    }
    if (s.ci.signature_index == 0 && !significant(*chosen)) chosen = &s;
  }
  const rules::code_signature verdict_sig = v.signature;
  v.signature = chosen->signature;
  // A verdict that itself says revoked or unsigned keeps that status.
  if (verdict_sig.status != rules::signature_status::missing) {
    v.signature.status = verdict_sig.status;
    v.signature.status_raw = verdict_sig.status_raw;
  }
  v.ci.verification_error = chosen->ci.verification_error;
  v.ci.signature_index = chosen->ci.signature_index;
  v.ci.total_signature_count = chosen->ci.total_signature_count;
  v.ci.publisher_tbs_hash = chosen->ci.publisher_tbs_hash;
  v.ci.issuer_tbs_hash = chosen->ci.issuer_tbs_hash;
  if (!v.ci.validated_signing_level) v.ci.validated_signing_level = chosen->ci.validated_signing_level;
  if (!v.sha1.present && chosen->sha1.present) v.sha1 = chosen->sha1;
  v.ci.joined_signatures = static_cast<std::uint32_t>(signatures.size());
}

void ci_joiner::release_entry(entry_map::iterator it, const release_fn& release) {
  entry& e = it->second;
  if (e.verdict) {
    merge(*e.verdict, e.signatures);
    ++(e.signatures.empty() ? stats_.unjoined : stats_.joined);
    rules::observation v = std::move(*e.verdict);
    const std::uint64_t token = e.token;
    entries_.erase(it);
    release(v, token);
    return;
  }
  stats_.orphan_signatures += e.signatures.size();
  entries_.erase(it);
}

void ci_joiner::make_room(const release_fn& release) {
  while (entries_.size() >= config_.max_pending && !order_.empty()) {
    const auto [since, k] = order_.front();
    order_.pop_front();
    if (auto it = entries_.find(k); it != entries_.end() && it->second.since_ms == since) {
      ++stats_.evicted;
      release_entry(it, release);
    }
  }
}

ci_joiner::entry_map::iterator ci_joiner::find_or_add(const rules::observation& o, std::int64_t now_ms,
                                                     const release_fn& release) {
  key k{o.host_hash, o.ci.activity_id.value};
  auto it = entries_.find(k);
  if (it != entries_.end()) return it;
  make_room(release);
  it = entries_.emplace(k, entry{now_ms, std::nullopt, 0, {}}).first;
  order_.emplace_back(now_ms, std::move(k));
  return it;
}

void ci_joiner::add_signature(const rules::observation& sig, std::int64_t now_ms, const release_fn& release) {
  if (!sig.ci.activity_id.has_value()) {
    ++stats_.orphan_signatures;  // nothing to join on
    return;
  }
  const auto it = find_or_add(sig, now_ms, release);
  entry& e = it->second;
  if (e.signatures.size() < config_.max_signatures) e.signatures.push_back(sig);
  if (complete(e)) release_entry(it, release);
}

bool ci_joiner::add_verdict(const rules::observation& verdict, std::uint64_t token, std::int64_t now_ms,
                            const release_fn& release) {
  if (!verdict.ci.activity_id.has_value()) {
    ++stats_.unjoined;
    return true;
  }
  auto it = find_or_add(verdict, now_ms, release);
  if (it->second.verdict) {
    // A second verdict for the same activity: release the first as it is.
    release_entry(it, release);
    return add_verdict(verdict, token, now_ms, release);
  }
  it->second.verdict = verdict;
  it->second.token = token;
  if (complete(it->second)) {
    release_entry(it, release);
  }
  return false;
}

void ci_joiner::expire(std::int64_t now_ms, const release_fn& release) {
  while (!order_.empty() && now_ms - order_.front().first >= config_.hold_ms) {
    const auto [since, k] = order_.front();
    order_.pop_front();
    if (auto it = entries_.find(k); it != entries_.end() && it->second.since_ms == since) {
      release_entry(it, release);
    }
  }
}

std::size_t ci_joiner::forget(const std::function<bool(std::uint64_t)>& revoked) {
  std::size_t dropped = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    entry& e = it->second;
    if (!e.verdict || !revoked(e.token)) {
      ++it;
      continue;
    }
    ++dropped;
    e.verdict.reset();
    e.token = 0;
    // Its place in order_ stays: a key without verdict or signatures is skipped there.
    it = e.signatures.empty() ? entries_.erase(it) : std::next(it);
  }
  stats_.forgotten += dropped;
  return dropped;
}

void ci_joiner::flush(const release_fn& release) {
  while (!entries_.empty()) release_entry(entries_.begin(), release);
  order_.clear();
}

}  // namespace countersign::processor
