// OCSF profile: OCSF 1.x Process Activity (class_uid 1007), docs/detections.md section 1.
//
// One pass over the document in member order. The walker descends only into the
// objects that hold mapped fields (device, actor.user, process.user, process.file and
// its signature and certificate); every other member is skipped unread. Facts that have
// a preferred and a fallback source (device.hostname / device.name, actor.user.name /
// process.user.name, process.file.path / process.file.name, file.signatures[] /
// file.signature, time / time_dt) are kept apart until the end of the document, because
// either may come first.
//
// Status: `state_id` decides (the table below); the raw value is the `state` caption
// when the producer gives one, else "state_id=N". A `state` caption without a
// `state_id` is normalized through the schema's captions. No signature object leaves
// the signature missing, never unsigned: OCSF has no "not signed" statement.
//
// Schema facts used (OCSF schema, objects/digital_signature.json, fingerprint.json,
// CHANGELOG): `file.signatures[]` was added in 1.8 and deprecates `file.signature`;
// `digital_signature.state_id` 6-10 (Untrusted, Distrusted, WrongUsage, Bad, Broken)
// were added in 1.7; fingerprint `algorithm_id` 2 is SHA-1, 3 is SHA-256.

#include "walk.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <array>
#include <charconv>
#include <utility>

namespace countersign::processor::detail {
namespace {

using rules::code_signature;
using rules::observation;
using rules::signature_status;
using rules::text_field;

constexpr std::int64_t k_process_activity = 1007;
constexpr std::int64_t k_activity_launch = 1;
constexpr std::int64_t k_type_launch = k_process_activity * 100 + k_activity_launch;

// fingerprint.algorithm_id
constexpr std::int64_t k_sha1 = 2;
constexpr std::int64_t k_sha256 = 3;

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// A fingerprint algorithm named by its caption, for producers that omit the id.
std::optional<std::int64_t> fingerprint_algorithm(std::string_view caption) noexcept {
  if (iequals(caption, "SHA-256") || iequals(caption, "SHA256")) return k_sha256;
  if (iequals(caption, "SHA-1") || iequals(caption, "SHA1")) return k_sha1;
  return std::nullopt;
}

// digital_signature.state_id captions, for producers that send only `state`.
std::optional<std::int64_t> state_id_of_caption(std::string_view caption) noexcept {
  struct entry {
    std::string_view caption;
    std::int64_t id;
  };
  static constexpr std::array<entry, 13> k_captions = {{
      {"Unknown", 0},
      {"Valid", 1},
      {"Expired", 2},
      {"Revoked", 3},
      {"Suspended", 4},
      {"Pending", 5},
      {"Untrusted", 6},
      {"Distrusted", 7},
      {"WrongUsage", 8},
      {"Wrong Usage", 8},
      {"Bad", 9},
      {"Broken", 10},
      {"Other", 99},
  }};
  for (const auto& e : k_captions) {
    if (iequals(caption, e.caption)) return e.id;
  }
  return std::nullopt;
}

struct state_mapping {
  signature_status status;
  std::optional<bool> trusted;
};

// docs/detections.md section 1, status normalization, OCSF state_id column.
state_mapping state_of(std::int64_t id) noexcept {
  switch (id) {
    case 1: return {signature_status::valid, true};
    case 2: return {signature_status::expired, false};
    case 3: return {signature_status::revoked, false};
    case 6: case 7: return {signature_status::untrusted_root, false};
    case 8: return {signature_status::chain_error, false};
    case 9: case 10: return {signature_status::bad_digest, false};
    case 0: case 4: case 5: case 99: return {signature_status::unknown, std::nullopt};
    default: return {signature_status::other, std::nullopt};
  }
}

// digital_signature.algorithm_id captions.
std::string_view algorithm_caption(std::int64_t id) noexcept {
  switch (id) {
    case 0: return "Unknown";
    case 1: return "DSA";
    case 2: return "RSA";
    case 3: return "ECDSA";
    case 4: return "Authenticode";
    case 5: return "Code Signing";
    case 6: return "App Package";
    case 99: return "Other";
    default: return {};
  }
}

// "<prefix>N" into a text field without a temporary string.
void set_numbered(text_field& out, std::string_view prefix, std::int64_t n) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, n);
  out.value.assign(prefix);
  out.value.append(buf, static_cast<std::size_t>(res.ptr - buf));
  out.present = true;
}

class ocsf_walker {
 public:
  // The scratch observation holds the fallbacks and the legacy `file.signature`.
  ocsf_walker(walk_context& c, observation& o) : c_(c), o_(o), s_(c.side) { s_.reset(); }

  walk_status root(od::object obj) {
    return members(obj, [this](std::string_view key, od::value v) {
      if (key == "time") return c_.time(v, o_.event_time_ms);
      if (key == "time_dt") return c_.time(v, time_dt_);  // Date/Time profile
      if (key == "class_uid") return c_.integer(v, class_uid_);
      if (key == "activity_id") return c_.integer(v, activity_id_);
      if (key == "type_uid") return c_.integer(v, type_uid_);
      if (key == "device") return device(v);
      if (key == "actor") return actor(v);
      if (key == "process") return process(v);
      return walk_status::ok;
    });
  }

  walk_status finish() {
    if (!o_.event_time_ms) o_.event_time_ms = time_dt_;
    if (!o_.event_time_ms) return c_.fail(reject_reason::missing_field, "time");
    if (!o_.host_name.has_value() && s_.host_name.has_value()) o_.host_name = s_.host_name;
    if (!o_.host_id.has_value() && !o_.host_name.has_value()) {
      return c_.fail(reject_reason::missing_field, "device.uid");
    }
    if (!o_.image_path.has_value() && s_.image_path.has_value()) o_.image_path = s_.image_path;
    if (!o_.user_name.has_value() && s_.user_name.has_value()) o_.user_name = s_.user_name;
    // file.signatures[] (1.8) wins over the deprecated file.signature.
    if (!o_.signature.exists.has_value() && s_.signature.exists.has_value()) std::swap(o_.signature, s_.signature);

    if (class_uid_ == k_process_activity &&
        (activity_id_ == k_activity_launch || (!activity_id_ && type_uid_ == k_type_launch))) {
      o_.kind = rules::event_kind::process_start;
    }
    finish_signature(o_);
    finish_host(o_);
    return walk_status::ok;
  }

 private:
  // Calls f(key, value) for every member of `obj`, with the key on the context path.
  template <typename F>
  walk_status members(od::object obj, F&& f) {
    for (auto member : obj) {
      od::field fld;
      if (auto err = std::move(member).get(fld)) return c_.fail_json(err);
      std::string_view key;
      if (c_.key(fld, key) == walk_status::failed) return walk_status::failed;
      walk_context::scope in(c_, key);
      if (f(key, fld.value()) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

  // `v` as an object; `present` false for null; wrong_type for anything else.
  walk_status object_of(od::value v, od::object& out, bool& present) {
    present = false;
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::null) return walk_status::ok;
    if (type != od::json_type::object) return c_.fail(reject_reason::wrong_type);
    if (auto err = v.get_object().get(out)) return c_.fail_json(err);
    present = true;
    return walk_status::ok;
  }

  // members() of an object value; null is nothing.
  template <typename F>
  walk_status nested(od::value v, F&& f) {
    od::object obj;
    bool present = false;
    if (object_of(v, obj, present) == walk_status::failed) return walk_status::failed;
    return present ? members(obj, std::forward<F>(f)) : walk_status::ok;
  }

  // Calls f(element) for every non-null element of an array value; null is nothing.
  template <typename F>
  walk_status elements(od::value v, F&& f) {
    od::json_type type;
    if (auto err = v.type().get(type)) return c_.fail_json(err);
    if (type == od::json_type::null) return walk_status::ok;
    if (type != od::json_type::array) return c_.fail(reject_reason::wrong_type);
    od::array arr;
    if (auto err = v.get_array().get(arr)) return c_.fail_json(err);
    for (auto element : arr) {
      od::value ev;
      if (auto err = std::move(element).get(ev)) return c_.fail_json(err);
      od::json_type et;
      if (auto err = ev.type().get(et)) return c_.fail_json(err);
      if (et == od::json_type::null) continue;
      if (f(ev) == walk_status::failed) return walk_status::failed;
    }
    return walk_status::ok;
  }

  walk_status device(od::value v) {
    return nested(v, [this](std::string_view key, od::value m) {
      if (key == "uid") return c_.text(m, o_.host_id);
      if (key == "hostname") return c_.text(m, o_.host_name);
      if (key == "name") return c_.text(m, s_.host_name);  // fallback, see finish()
      return walk_status::ok;
    });
  }

  // actor.user.name, or process.user.name as the fallback.
  walk_status user_name(od::value v, text_field& out) {
    return nested(v, [this, &out](std::string_view key, od::value m) {
      return key == "name" ? c_.text(m, out) : walk_status::ok;
    });
  }

  walk_status actor(od::value v) {
    return nested(v, [this](std::string_view key, od::value m) {
      return key == "user" ? user_name(m, o_.user_name) : walk_status::ok;
    });
  }

  walk_status process(od::value v) {
    return nested(v, [this](std::string_view key, od::value m) {
      if (key == "file") return file(m);
      if (key == "user") return user_name(m, s_.user_name);
      return walk_status::ok;
    });
  }

  walk_status file(od::value v) {
    return nested(v, [this](std::string_view key, od::value m) {
      if (key == "path") return c_.text(m, o_.image_path);
      if (key == "name") return c_.text(m, s_.image_path);  // fallback, see finish()
      if (key == "hashes" || key == "fingerprints") return hashes(m);
      if (key == "company_name") return c_.text(m, o_.pe.company);
      if (key == "product") {
        return nested(m, [this](std::string_view k, od::value p) {
          return k == "name" ? c_.text(p, o_.pe.product) : walk_status::ok;
        });
      }
      if (key == "internal_name") return c_.text(m, o_.pe.original_file_name);
      if (key == "version") return c_.text(m, o_.pe.file_version);
      if (key == "desc") return c_.text(m, o_.pe.description);
      if (key == "signatures") return signatures(m);
      if (key == "signature") return signature(m, s_.signature);  // <= 1.7, see finish()
      return walk_status::ok;
    });
  }

  // One fingerprint object: its algorithm (id, else caption) and its value (a view).
  struct fingerprint {
    std::optional<std::int64_t> algorithm;
    std::string_view value;
    bool has_value = false;
  };

  walk_status read_fingerprint(od::value v, fingerprint& fp) {
    std::optional<std::int64_t> id;
    std::string_view caption;
    bool has_caption = false;
    od::object obj;
    bool present = false;
    if (object_of(v, obj, present) == walk_status::failed) return walk_status::failed;
    if (!present) return walk_status::ok;
    const auto st = members(obj, [&](std::string_view key, od::value m) {
      if (key == "algorithm_id") return c_.integer(m, id);
      if (key == "value") return c_.view(m, fp.value, fp.has_value);
      if (key == "algorithm") return c_.view(m, caption, has_caption);
      return walk_status::ok;
    });
    if (st == walk_status::failed) return walk_status::failed;
    fp.algorithm = id ? id : (has_caption ? fingerprint_algorithm(caption) : std::nullopt);
    return walk_status::ok;
  }

  // file.hashes[] (or file.fingerprints[]): the first SHA-256 and the first SHA-1.
  walk_status hashes(od::value v) {
    return elements(v, [this](od::value ev) {
      fingerprint fp;
      if (read_fingerprint(ev, fp) == walk_status::failed) return walk_status::failed;
      if (!fp.has_value) return walk_status::ok;
      if (fp.algorithm == k_sha256 && !o_.sha256.present) set_normalized_hex(o_.sha256, fp.value);
      else if (fp.algorithm == k_sha1 && !o_.sha1.present) set_normalized_hex(o_.sha1, fp.value);
      return walk_status::ok;
    });
  }

  // file.signatures[]: the first signature is the one judged; the others are skipped.
  walk_status signatures(od::value v) {
    bool taken = false;
    return elements(v, [this, &taken](od::value ev) {
      if (taken) return walk_status::ok;
      taken = true;
      return signature(ev, o_.signature);
    });
  }

  walk_status signature(od::value v, code_signature& sig) {
    od::object obj;
    bool present = false;
    if (object_of(v, obj, present) == walk_status::failed) return walk_status::failed;
    if (!present) return walk_status::ok;
    sig.exists = true;
    std::optional<std::int64_t> algorithm_id, state_id;
    std::string_view state;
    bool has_state = false;
    const auto st = members(obj, [&](std::string_view key, od::value m) {
      if (key == "algorithm") return c_.text(m, sig.signature_type);
      if (key == "algorithm_id") return c_.integer(m, algorithm_id);
      if (key == "state_id") return c_.integer(m, state_id);
      if (key == "state") return c_.view(m, state, has_state);
      if (key == "created_time") return c_.time(m, sig.signing_time_ms);
      if (key == "certificate") return certificate(m, sig);
      return walk_status::ok;
    });
    if (st == walk_status::failed) return walk_status::failed;

    if (!sig.signature_type.present && algorithm_id) {
      const auto caption = algorithm_caption(*algorithm_id);
      if (caption.empty()) set_numbered(sig.signature_type, "algorithm_id=", *algorithm_id);
      else sig.signature_type.set(caption);
    }
    has_state = has_state && !state.empty();
    if (!state_id && has_state) state_id = state_id_of_caption(state);
    if (state_id) {
      const auto mapped = state_of(*state_id);
      sig.status = mapped.status;
      sig.trusted = mapped.trusted;
    } else if (has_state) {
      sig.status = signature_status::other;  // a caption outside the enum
    }
    if (has_state) sig.status_raw.set(state);
    else if (state_id) set_numbered(sig.status_raw, "state_id=", *state_id);
    return walk_status::ok;
  }

  walk_status certificate(od::value v, code_signature& sig) {
    bool sha256_thumbprint = false;
    return nested(v, [&](std::string_view key, od::value m) {
      if (key == "subject") return c_.text(m, sig.subject);
      if (key == "issuer") return c_.text(m, sig.issuer);
      if (key == "serial_number") return c_.hex(m, sig.serial);
      if (key == "created_time") return c_.time(m, sig.not_before_ms);
      if (key == "expiration_time") return c_.time(m, sig.not_after_ms);
      if (key == "fingerprints") {
        // The SHA-256 fingerprint is the thumbprint; the SHA-1 one only when there is none.
        return elements(m, [&](od::value ev) {
          fingerprint fp;
          if (read_fingerprint(ev, fp) == walk_status::failed) return walk_status::failed;
          if (!fp.has_value) return walk_status::ok;
          if (fp.algorithm == k_sha256 && !sha256_thumbprint) {
            set_normalized_hex(sig.thumbprint, fp.value);
            sha256_thumbprint = true;
          } else if (fp.algorithm == k_sha1 && !sig.thumbprint.present) {
            set_normalized_hex(sig.thumbprint, fp.value);
          }
          return walk_status::ok;
        });
      }
      return walk_status::ok;
    });
  }

  walk_context& c_;
  observation& o_;
  observation& s_;
  std::optional<std::int64_t> time_dt_, class_uid_, activity_id_, type_uid_;
};

}  // namespace

walk_status walk_ocsf(od::object root, walk_context& c, observation_batch& out) {
  observation& o = out.add();
  ocsf_walker w(c, o);
  if (w.root(root) == walk_status::failed) return walk_status::failed;
  return w.finish();
}

}  // namespace countersign::processor::detail
