// SentinelOne Deep Visibility / Cloud Funnel profile.
//
// Cloud Funnel writes one flat JSON object per event whose keys are literally dotted
// ("src.process.image.path", "event.time"); exports that re-nest them
// ({"src":{"process":{...}}}) and mixtures of both read the same. The walker follows
// every key segment by segment through one trie of the mapped paths (as the ECS
// walker does): members outside it, most of an event's hundred-odd keys, are skipped
// unread. Values are kept as views into the parser's buffer until the event type is
// known, then copied once into the side that is judged.
//
// What an event yields:
//
//   event (meta.event.name, else event.type)  observation(s)
//   PROCESSCREATION / "Process Creation"      the created process (tgt.process.*), kind
//                                             process_start; process_path = the creator
//                                             (src.process.image.path); user = tgt.process.user
//   MODULELOAD / "Module Load"                [0] the module (module.path, module.sha1,
//                                             module.sha256; tgt.file.isSigned;
//                                             module.signer.name, module.certificate.thumbprint
//                                             when present), kind image_load, process_path =
//                                             the loader; user = src.process.user
//                                             [1] the loader's own facts (src.process.*), kind
//                                             unknown, when it carries a signed status
//   anything else (file, network, registry,   the acting process (src.process.*), kind unknown
//   DNS, cross-process, driver load, ...)
//
// Why a module load yields the loader too: Cloud Funnel gives the module only a signed
// bit, while the loader's publisher and verdict sit beside it; module loads are also
// where a long-running process shows up most (dozens per process), so its facts are
// judged even when its creation predates the stream or was filtered out of the export.
// Kind `unknown` keeps Sigma's process_creation logsource off events that are not one.
// An actor without a signed status, or an unsigned one, has no signature present and
// is counted out of scope by the pipeline; a signed one is a fact about code running.
//
// Signature words (compared without case):
//   signedStatus  verifiedStatus  ->  exists  status          trusted  status_raw
//   signed        verified            true    valid           true     "signed/verified"
//   signed        unverified          true    untrusted_root  false    "signed/unverified"
//   signed        (other word)        true    other           -        "signed/<word>"
//   signed        (none)              true    missing         -        "signed"
//   unsigned      (any)               false   not_signed      -        "unsigned[/<word>]"
//   (other word)  (any)               -       other           -        "<word>[/<word>]"
//   (none)        verified            -       valid           true     "verified"
//   (none)        unverified          -       unknown         -        "unverified"
// "Unverified" is read like Defender's IsSigned && !IsTrusted: a signature that did not
// verify, reason unknown, reported as untrusted_root (cs.signature.untrusted), not as
// revoked or a bad digest. tgt.file.isSigned is the created image's or the module's
// signed bit, used where the process has no signedStatus of its own. The publisher is
// the signer's subject as S1 prints it (Cloud Funnel drops its spaces:
// "MICROSOFTWINDOWS").
//
// Host: endpoint.name -> host name, agent.uuid -> host id; one of them is required.
// Time: event.time (epoch ms), else `timestamp` when it is a date-time or an epoch
// number (Cloud Funnel's "15:17:47.290" is a time of day and is ignored); required.

#include "field_trie.hpp"
#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <initializer_list>
#include <vector>

namespace countersign::processor::detail {
namespace {

using rules::observation;
using rules::signature_status;
using rules::text_field;

enum field : int {
  container,
  event_time,
  timestamp,
  event_type,
  meta_event_name,
  endpoint_name,
  agent_uuid,
  src_path,
  src_sha256,
  src_sha1,
  src_publisher,
  src_signed,
  src_verified,
  src_user,
  src_original_file_name,
  tgt_path,
  tgt_sha256,
  tgt_sha1,
  tgt_publisher,
  tgt_signed,
  tgt_verified,
  tgt_user,
  tgt_original_file_name,
  tgt_file_is_signed,
  module_path,
  module_sha1,
  module_sha256,
  module_signer,
  module_thumbprint,
};

const field_trie& table() {
  static const field_trie k_table = {
      {"event.time", event_time},
      {"timestamp", timestamp},
      {"event.type", event_type},
      {"meta.event.name", meta_event_name},
      {"endpoint.name", endpoint_name},
      {"agent.uuid", agent_uuid},
      {"src.process.image.path", src_path},
      {"src.process.image.sha256", src_sha256},
      {"src.process.image.sha1", src_sha1},
      {"src.process.image.originalFileName", src_original_file_name},
      {"src.process.publisher", src_publisher},
      {"src.process.signedStatus", src_signed},
      {"src.process.verifiedStatus", src_verified},
      {"src.process.user", src_user},
      {"tgt.process.image.path", tgt_path},
      {"tgt.process.image.sha256", tgt_sha256},
      {"tgt.process.image.sha1", tgt_sha1},
      {"tgt.process.image.originalFileName", tgt_original_file_name},
      {"tgt.process.publisher", tgt_publisher},
      {"tgt.process.signedStatus", tgt_signed},
      {"tgt.process.verifiedStatus", tgt_verified},
      {"tgt.process.user", tgt_user},
      {"tgt.file.isSigned", tgt_file_is_signed},
      {"module.path", module_path},
      {"module.sha1", module_sha1},
      {"module.sha256", module_sha256},
      {"module.signer.name", module_signer},
      {"module.certificate.thumbprint", module_thumbprint},
  };
  return k_table;
}

// A string member as read: a view into the parser's buffer, and whether the source
// carried it (null and absent are both not carried; "" is carried).
struct slice {
  std::string_view value;
  bool present = false;
};

// What S1 reports about one process (src: the actor, tgt: the target).
struct process_facts {
  slice path, sha256, sha1, original_file_name, publisher, signed_status, verified_status, user;
};

struct pending {
  process_facts src, tgt;
  slice module_path, module_sha1, module_sha256, module_signer, module_thumbprint, file_is_signed;
  slice event_name, event_type, host_name, host_id, timestamp_text;
  std::optional<std::int64_t> event_time_ms, timestamp_ms;
};

enum class event_class : std::uint8_t { process_creation, module_load, other };

// `s` equals `word` (lowercase letters) ignoring case, spaces, '_' and '-':
// "PROCESSCREATION", "ProcessCreation" and "Process Creation" all read processcreation.
bool same_word(std::string_view s, std::string_view word) {
  std::size_t j = 0;
  for (const char ch : s) {
    if (ch == ' ' || ch == '_' || ch == '-') continue;
    const char lower = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    if (j == word.size() || lower != word[j]) return false;
    ++j;
  }
  return j == word.size();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if (x != y && (x | 0x20) != (y | 0x20)) return false;
  }
  return true;
}

void set_text(text_field& out, const slice& s) {
  if (s.present) out.set(s.value);
}

void set_hex(text_field& out, const slice& s) {
  if (s.present) set_normalized_hex(out, s.value);
}

// The signature words as the table in the header maps them.
void set_signature(const slice& signed_status, const slice& verified_status, rules::code_signature& sig) {
  const std::string_view s = signed_status.present ? signed_status.value : std::string_view();
  const std::string_view v = verified_status.present ? verified_status.value : std::string_view();
  if (s.empty() && v.empty()) return;
  sig.status_raw.set(s);
  if (!v.empty()) {
    if (!s.empty()) sig.status_raw.value.push_back('/');
    sig.status_raw.value.append(v);
  }
  const bool verified = iequals(v, "verified");
  const bool unverified = iequals(v, "unverified");
  if (s.empty()) {
    sig.status = verified     ? signature_status::valid
                 : unverified ? signature_status::unknown
                              : signature_status::other;
    if (verified) sig.trusted = true;
  } else if (iequals(s, "signed")) {
    sig.exists = true;
    if (verified) {
      sig.status = signature_status::valid;
      sig.trusted = true;
    } else if (unverified) {
      sig.status = signature_status::untrusted_root;
      sig.trusted = false;
    } else if (!v.empty()) {
      sig.status = signature_status::other;
    }
  } else if (iequals(s, "unsigned")) {
    sig.exists = false;
    sig.status = signature_status::not_signed;
  } else {
    sig.status = signature_status::other;
  }
}

// The facts of one process as the judged image.
void set_process(const process_facts& p, const slice& file_is_signed, observation& o) {
  set_text(o.image_path, p.path);
  set_hex(o.sha256, p.sha256);
  set_hex(o.sha1, p.sha1);
  set_text(o.pe.original_file_name, p.original_file_name);
  set_text(o.signature.subject, p.publisher);
  const slice& signed_status = p.signed_status.value.empty() ? file_is_signed : p.signed_status;
  set_signature(signed_status, p.verified_status, o.signature);
}

class sentinelone_walker {
 public:
  explicit sentinelone_walker(walk_context& c) : c_(c) {}

  walk_status walk(od::object object, int node) {
    const auto& t = table();
    for (auto member : object) {
      od::field fld;
      if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
      std::string_view key;
      if (c_.key(fld, key) == walk_status::failed) return walk_status::failed;
      const field_trie::node* n = nullptr;
      if (key.find('.') == std::string_view::npos) {
        n = t.find(node, key);
      } else {  // a dotted key: follow it segment by segment
        int at = node;
        for (std::string_view rest = key; !rest.empty();) {
          const auto dot = rest.find('.');
          n = t.find(at, rest.substr(0, dot));
          if (n == nullptr) break;
          at = n->id;
          rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        }
      }
      if (n == nullptr) continue;  // not mapped: skipped unread
      recognized_ = true;
      od::value value = fld.value();
      if (n->field != container) {
        // Leaves are the hot path: the key joins the error path only on failure.
        if (assign(n->field, value) == walk_status::failed) {
          if (c_.error.detail == c_.path) {
            c_.error.detail = c_.path.empty() ? std::string(key) : c_.path + "." + std::string(key);
          }
          return walk_status::failed;
        }
        continue;
      }
      walk_context::scope in(c_, key);
      od::json_type type;
      if (auto err = value.type().get(type)) return c_.fail_json(err);
      if (type == od::json_type::null) continue;
      if (type != od::json_type::object) return c_.fail(reject_reason::wrong_type);
      od::object child;
      if (auto err = value.get_object().get(child)) return c_.fail_json(err);
      if (walk(child, n->id) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

  walk_status finish(observation_batch& out);
  bool recognized_ = false;

 private:
  walk_status read(od::value v, slice& out) {
    out = {};
    return c_.view(v, out.value, out.present);
  }

  walk_status assign(int f, od::value v) {
    switch (f) {
      case event_time: return c_.time(v, p_.event_time_ms);
      case timestamp: return read_timestamp(v);
      case event_type: return read(v, p_.event_type);
      case meta_event_name: return read(v, p_.event_name);
      case endpoint_name: return read(v, p_.host_name);
      case agent_uuid: return read(v, p_.host_id);
      case src_path: return read(v, p_.src.path);
      case src_sha256: return read(v, p_.src.sha256);
      case src_sha1: return read(v, p_.src.sha1);
      case src_original_file_name: return read(v, p_.src.original_file_name);
      case src_publisher: return read(v, p_.src.publisher);
      case src_signed: return read(v, p_.src.signed_status);
      case src_verified: return read(v, p_.src.verified_status);
      case src_user: return read(v, p_.src.user);
      case tgt_path: return read(v, p_.tgt.path);
      case tgt_sha256: return read(v, p_.tgt.sha256);
      case tgt_sha1: return read(v, p_.tgt.sha1);
      case tgt_original_file_name: return read(v, p_.tgt.original_file_name);
      case tgt_publisher: return read(v, p_.tgt.publisher);
      case tgt_signed: return read(v, p_.tgt.signed_status);
      case tgt_verified: return read(v, p_.tgt.verified_status);
      case tgt_user: return read(v, p_.tgt.user);
      case tgt_file_is_signed: return read(v, p_.file_is_signed);
      case module_path: return read(v, p_.module_path);
      case module_sha1: return read(v, p_.module_sha1);
      case module_sha256: return read(v, p_.module_sha256);
      case module_signer: return read(v, p_.module_signer);
      case module_thumbprint: return read(v, p_.module_thumbprint);
      default: return walk_status::ok;
    }
  }

  // `timestamp` is a number (epoch) or a string read after the walk, where it is used
  // only when event.time is absent.
  walk_status read_timestamp(od::value v) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::number) return c_.time(v, p_.timestamp_ms);
    return read(v, p_.timestamp_text);
  }

  [[nodiscard]] event_class classify() const {
    const slice& name = p_.event_name.value.empty() ? p_.event_type : p_.event_name;
    if (same_word(name.value, "processcreation")) return event_class::process_creation;
    if (same_word(name.value, "moduleload")) return event_class::module_load;
    return event_class::other;
  }

  walk_status resolve_time(std::optional<std::int64_t>& out);
  void set_common(observation& o) const;

  walk_context& c_;
  pending p_;
};

walk_status sentinelone_walker::resolve_time(std::optional<std::int64_t>& out) {
  out = p_.event_time_ms ? p_.event_time_ms : p_.timestamp_ms;
  if (out) return walk_status::ok;
  const std::string_view ts = p_.timestamp_text.value;
  // "HH:MM:SS.mmm", Cloud Funnel's time of day, names no day: not an event time.
  const bool time_of_day = ts.size() >= 3 && ts[2] == ':';
  if (!ts.empty() && !time_of_day) {
    walk_context::scope in(c_, "timestamp");
    return c_.time_from(ts, out);
  }
  return c_.fail(reject_reason::missing_field, "event.time");
}

void sentinelone_walker::set_common(observation& o) const {
  set_text(o.host_name, p_.host_name);
  set_text(o.host_id, p_.host_id);
}

walk_status sentinelone_walker::finish(observation_batch& out) {
  std::optional<std::int64_t> time;
  if (resolve_time(time) == walk_status::failed) return walk_status::failed;
  if (p_.host_id.value.empty() && p_.host_name.value.empty()) {  // absent, null or "": no host
    return c_.fail(reject_reason::missing_field, "endpoint.name");
  }
  const event_class klass = classify();
  observation& o = out.add();
  o.event_time_ms = time;
  set_common(o);
  switch (klass) {
    case event_class::process_creation:
      o.kind = rules::event_kind::process_start;
      set_process(p_.tgt, p_.file_is_signed, o);
      set_text(o.process_path, p_.src.path);
      set_text(o.user_name, p_.tgt.user);
      break;
    case event_class::module_load:
      o.kind = rules::event_kind::image_load;
      set_text(o.image_path, p_.module_path);
      set_hex(o.sha256, p_.module_sha256);
      set_hex(o.sha1, p_.module_sha1);
      set_text(o.signature.subject, p_.module_signer);
      set_hex(o.signature.thumbprint, p_.module_thumbprint);
      set_signature(p_.file_is_signed, {}, o.signature);
      set_text(o.process_path, p_.src.path);
      set_text(o.user_name, p_.src.user);
      break;
    case event_class::other:
      o.kind = rules::event_kind::unknown;
      set_process(p_.src, {}, o);
      set_text(o.user_name, p_.src.user);
      break;
  }
  finish_signature(o);
  finish_host(o);
  if (klass != event_class::module_load || p_.src.signed_status.value.empty()) {
    return walk_status::ok;
  }
  // The loader's own facts; `o` may not outlive this add().
  observation& loader = out.add();
  loader.kind = rules::event_kind::unknown;
  loader.event_time_ms = time;
  set_common(loader);
  set_process(p_.src, {}, loader);
  set_text(loader.user_name, p_.src.user);
  finish_signature(loader);
  finish_host(loader);
  return walk_status::ok;
}

}  // namespace

walk_status walk_sentinelone(od::object root, walk_context& c, observation_batch& out) {
  sentinelone_walker w(c);
  if (w.walk(root, 0) == walk_status::failed) return walk_status::failed;
  if (!w.recognized_) return c.fail(reject_reason::unknown_schema, "no SentinelOne field");
  return w.finish(out);
}

}  // namespace countersign::processor::detail
