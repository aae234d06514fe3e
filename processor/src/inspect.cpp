// `countersign inspect` (inspect.hpp): records ─► input_parser ─► counts per profile,
// field fill, rejects, scope, unknown shapes ─► text or JSON report.
//
// Scope is decided as the pipeline decides it (pipeline::route): an observation is judged
// when it carries a signature or is a Code Integrity verdict. The out-of-scope reasons
// here name why not, from the observation alone. A well-formed object of no known shape
// is out of scope too (input.unknown_shapes: accept, the default), and grouped by its
// top-level keys; with --schema it is a reject (it does not fit the pinned profile).

#include <countersign/processor/inspect.hpp>

#include <countersign/processor/engine/input_parser.hpp>
#include <countersign/processor/engine/observation_batch.hpp>
#include <countersign/processor/engine/record_reader.hpp>
#include <countersign/processor/engine/user_profiles.hpp>
#include <countersign/rules/json_writer.hpp>
#include <countersign/rules/observation_fields.hpp>

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <functional>
#include <optional>
#include <ostream>
#include <set>
#include <utility>

namespace countersign::processor {

namespace {

using fill = inspect_report::field_fill;
using rules::observation;
using rules::text_field;

enum class fill_state : std::uint8_t { filled, empty, missing };

fill_state of(const text_field& f) {
  if (f.has_value()) return fill_state::filled;
  return f.present ? fill_state::empty : fill_state::missing;
}
template <typename T>
fill_state of(const std::optional<T>& v) {
  return v ? fill_state::filled : fill_state::missing;
}

// A field is filled when it differs from what reset() leaves: a non-empty text, a
// present value, an enum or count moved off its default.
template <class T>
fill_state fill_of(const T& v, const T& unset) {
  return v == unset ? fill_state::missing : fill_state::filled;
}
fill_state fill_of(const text_field& f, const text_field& /*unset*/) { return of(f); }
template <typename T>
fill_state fill_of(const std::optional<T>& v, const std::optional<T>& /*unset*/) {
  return of(v);
}

struct field_probe {
  std::string_view name;
  fill_state (*probe)(const observation&);
};

// Whether the report lists a field: provenance is always set, and ci.klass is read off
// ci.event_id, which is listed.
constexpr bool reported(std::string_view name) {
  return !name.starts_with("source.") && name != "ci.klass";
}

// The observation's fields (rules/observation_fields.hpp) in their order, host_hash last
// where the report has always had it.
constexpr auto k_fields = [] {
  constexpr auto all = std::apply(
      [](const auto&... row) {
        return std::array{field_probe{row.name, [](const observation& o) {
                                        using row_t = std::remove_cvref_t<decltype(row)>;
                                        return fill_of(row_t::of(o), row_t::of(rules::k_unset_observation));
                                      }}...};
      },
      rules::k_observation_fields);
  constexpr std::size_t n = std::ranges::count_if(all, [](const field_probe& f) { return reported(f.name); });
  std::array<field_probe, n> out{};
  std::size_t at = 0;
  for (const auto& f : all) {
    if (reported(f.name) && f.name != "host_hash") out[at++] = f;
  }
  for (const auto& f : all) {
    if (f.name == "host_hash") out[at++] = f;
  }
  return out;
}();

constexpr std::array<std::string_view, k_fields.size()> k_field_names = [] {
  std::array<std::string_view, k_fields.size()> out{};
  for (std::size_t i = 0; i < k_fields.size(); ++i) out[i] = k_fields[i].name;
  return out;
}();

// Out-of-scope reasons start with the pipeline's metric label
// (countersign_events_out_of_scope_total{reason=...}), then say more.
constexpr std::string_view k_unknown_shape =
    "unknown_schema: no profile reads this shape (see unknown shapes; dead-lettered when input.unknown_shapes is reject)";

// Why an observation is not judged; empty when it is.
std::string_view scope_reason(const observation& o) {
  using rules::event_kind;
  if (o.kind == event_kind::code_integrity) return {};
  if (o.kind == event_kind::signature_info) return "signature info (Code Integrity 3089, joined to its verdict)";
  if (o.signature.is_present()) return {};
  if (o.kind == event_kind::policy) return "other_event: Code Integrity policy event";
  if (o.kind == event_kind::unknown) return "other_event: an event type the detectors do not judge";
  if ((o.signature.exists && !*o.signature.exists) || o.signature.status == rules::signature_status::not_signed) {
    return "no_signature: unsigned per the source";
  }
  return "no_signature: no signature facts reported";
}

std::string describe(const observation& o) {
  std::string d = "kind ";
  d += rules::to_string(o.kind);
  if (o.image_path.has_value()) {
    d += ", image ";
    d += o.image_path.view();
  }
  if (o.signature.status_raw.has_value()) {
    d += ", status ";
    d += o.signature.status_raw.view();
  }
  return d;
}

void note(std::map<std::string, inspect_report::tally>& tallies, std::string_view reason, const std::string& file,
          std::int64_t position, std::string_view detail) {
  auto& t = tallies[std::string(reason)];
  if (t.count++ == 0) t.example = {file, position, std::string(detail)};
}

// Dotted leaf paths of a document, a few levels deep (arrays count as leaves).
void leaf_paths(simdjson::dom::element e, const std::string& prefix, int depth, std::vector<std::string>& out) {
  simdjson::dom::object obj;
  if (depth < 4 && e.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      std::string path = prefix.empty() ? std::string(field.key) : prefix + "." + std::string(field.key);
      leaf_paths(field.value, path, depth + 1, out);
    }
    return;
  }
  if (!prefix.empty()) out.push_back(prefix);
}

class shape_index {
 public:
  void add(simdjson::dom::parser& parser, std::string_view bytes, const std::string& file, std::int64_t position) {
    simdjson::dom::element doc;
    std::vector<std::string> keys;
    simdjson::dom::object obj;
    const bool parsed = parser.parse(bytes.data(), bytes.size(), true).get(doc) == simdjson::SUCCESS &&
                        doc.get_object().get(obj) == simdjson::SUCCESS;
    if (parsed) {
      for (auto field : obj) keys.emplace_back(field.key);
      std::sort(keys.begin(), keys.end());
      keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    }
    std::string id;
    for (const auto& k : keys) {
      id += k;
      id.push_back('\x1f');
    }
    auto it = index_.find(id);
    if (it == index_.end()) {
      if (shapes_.size() >= k_max_shapes) {
        ++overflow_;  // keys that vary per event (ids as keys): counted, not grouped
        return;
      }
      it = index_.emplace(id, shapes_.size()).first;
      inspect_report::shape s;
      s.keys = std::move(keys);
      s.example = {file, position, {}};
      if (parsed) leaf_paths(doc, "", 0, s.paths);
      shapes_.push_back(std::move(s));
    }
    ++shapes_[it->second].count;
  }
  [[nodiscard]] std::uint64_t overflow() const noexcept { return overflow_; }
  std::vector<inspect_report::shape> take() {
    std::stable_sort(shapes_.begin(), shapes_.end(), [](const auto& a, const auto& b) { return a.count > b.count; });
    return std::move(shapes_);
  }

 private:
  static constexpr std::size_t k_max_shapes = 1000;
  std::map<std::string, std::size_t> index_;
  std::vector<inspect_report::shape> shapes_;
  std::uint64_t overflow_ = 0;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// `name`, which must be a field profiles may map (rules/observation_fields.hpp); any
// other name fails the build, so a suggestion cannot name a field the loader refuses.
consteval std::string_view mappable(std::string_view name) { return rules::mappable_observation_field(name); }

// The Observation field a key name suggests; empty for none. `leaf` is the last path
// component, lower-cased, `full` the whole path lower-cased.
std::string_view guess_field(std::string_view leaf, std::string_view full) {
  const bool parent = has(full, "parent");
  if (has(leaf, "sha256")) return mappable("sha256");
  if (has(leaf, "sha1")) return mappable("sha1");
  if (has(leaf, "thumbprint")) return mappable("signature.thumbprint");
  if (has(leaf, "serial")) return mappable("signature.serial");
  if (has(leaf, "issuer")) return mappable("signature.issuer");
  if (has(leaf, "notbefore") || has(leaf, "not_before") || has(leaf, "validfrom") || has(leaf, "valid_from")) {
    return mappable("signature.not_before");
  }
  if (has(leaf, "notafter") || has(leaf, "not_after") || has(leaf, "validto") || has(leaf, "valid_to") ||
      has(leaf, "expir")) {
    return mappable("signature.not_after");
  }
  if (has(leaf, "signer") || has(leaf, "publisher") || has(leaf, "subject") || leaf == "signature") {
    return mappable("signature.subject");
  }
  if (has(leaf, "signaturestatus") || has(leaf, "signature_status") || has(leaf, "signedstatus") ||
      has(leaf, "verified") || (has(full, "sign") && has(leaf, "status"))) {
    return mappable("signature.status");
  }
  if (leaf == "signed" || leaf == "issigned" || leaf == "is_signed") return mappable("signature.exists");
  if (leaf == "host" || leaf == "hostname" || leaf == "host_name" || leaf == "computer" || leaf == "computername" ||
      leaf == "devicename" || leaf == "machine" || leaf == "machinename") {
    return mappable("host_name");
  }
  if (leaf == "timestamp" || leaf == "@timestamp" || has(leaf, "time")) return mappable("event_time");
  if (leaf == "user" || leaf == "username" || leaf == "user_name" || leaf == "account") return mappable("user_name");
  if (has(leaf, "originalfilename") || has(leaf, "original_file_name")) return mappable("pe.original_file_name");
  if (has(leaf, "company")) return mappable("pe.company");
  if (has(leaf, "product")) return mappable("pe.product");
  if (has(leaf, "fileversion") || has(leaf, "file_version")) return mappable("pe.file_version");
  if (has(leaf, "description")) return mappable("pe.description");
  if (!parent && (has(leaf, "path") || has(leaf, "image") || has(leaf, "executable") || leaf == "filename" ||
                  leaf == "file_name")) {
    return mappable("image_path");
  }
  return {};
}

std::string yaml_scalar(std::string_view s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  }) && s.front() != '-';
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

bool inspect_report::failed() const noexcept {
  return std::any_of(files.begin(), files.end(), [](const file_entry& f) { return !f.error.empty(); });
}

std::span<const std::string_view> inspect_field_names() noexcept { return k_field_names; }

inspect_report run_inspect(const config& cfg, const std::vector<std::string>& files, const inspect_options& options) {
  inspect_report report;
  input_parser parser(parser_limits{cfg.input.max_message_bytes, cfg.input.max_field_bytes});
  // The same user profiles the pipeline reads with: input.profiles_file, then the shipped ones.
  user_profile_library profiles(cfg.input.profiles_file);
  for (const auto& d : profiles.reload().diagnostics) report.profile_problems.push_back(d.text());
  parser.set_user_profiles(profiles.current());
  simdjson::dom::parser dom;
  observation_batch batch;
  shape_index shapes;
  progress_meter meter(options.progress);

  std::vector<std::string> inputs = files;
  if (inputs.empty()) inputs.emplace_back("-");
  for (const auto& name : inputs) {
    auto& entry = report.files.emplace_back();
    entry.name = name;
    auto opened = record_reader::open(name);
    if (!opened) {
      entry.error = opened.error().message;
      if (!opened.error().detail.empty()) entry.error += " (" + opened.error().detail + ")";
      continue;
    }
    record_reader& reader = **opened;
    entry.format = to_string(reader.format());
    const auto it = cfg.input.schemas.find(name);
    const auto forced = options.forced != rules::schema_profile::unknown ? options.forced
                        : it == cfg.input.schemas.end()                   ? rules::schema_profile::unknown
                                                                          : it->second;
    for (;;) {
      auto next = reader.next();
      if (!next) {
        entry.error = next.error().message;
        if (!next.error().detail.empty()) entry.error += " (" + next.error().detail + ")";
        break;
      }
      if (!*next) break;
      const input_record& rec = **next;
      ++entry.events;
      ++report.events;
      meter.tick(reader);
      auto parsed = parser.parse(rec.bytes, batch, forced);
      if (!parsed) {
        // An object no profile reads is out of scope (Sigma still sees it) unless the
        // topic is pinned to a profile it does not fit (or input.unknown_shapes is reject).
        if (parsed.error().reason == reject_reason::unknown_schema && forced == rules::schema_profile::unknown) {
          note(report.out_of_scope, k_unknown_shape, name, rec.position, parsed.error().detail);
          shapes.add(dom, rec.bytes, name, rec.position);
          continue;
        }
        note(report.rejects, to_string(parsed.error().reason), name, rec.position, parsed.error().detail);
        continue;
      }
      if (*parsed == rules::schema_profile::unknown) shapes.add(dom, rec.bytes, name, rec.position);
      std::string profile_name(rules::to_string(*parsed));
      if (*parsed == rules::schema_profile::user) profile_name += ":" + std::string(parser.last_user_profile());
      auto& profile = report.profiles[profile_name];
      if (profile.fields.empty()) profile.fields.resize(k_fields.size());
      ++profile.events;
      std::string_view first_reason;
      std::string first_detail;
      bool in_scope = false;
      for (const auto& obs : batch.items()) {
        ++profile.observations;
        for (std::size_t f = 0; f < k_fields.size(); ++f) {
          switch (k_fields[f].probe(obs)) {
            case fill_state::filled: ++profile.fields[f].filled; break;
            case fill_state::empty: ++profile.fields[f].empty; break;
            case fill_state::missing: ++profile.fields[f].missing; break;
          }
        }
        const auto why = scope_reason(obs);
        if (why.empty()) {
          in_scope = true;
        } else if (first_reason.empty()) {
          first_reason = why;
          first_detail = describe(obs);
        }
      }
      if (in_scope) {
        ++profile.in_scope;
      } else if (batch.empty()) {
        note(report.out_of_scope, "other_event: nothing to observe", name, rec.position, rules::to_string(*parsed));
      } else {
        note(report.out_of_scope, first_reason, name, rec.position, first_detail);
      }
    }
    entry.blank_lines = reader.blank_lines();
  }
  meter.clear();
  report.ungrouped_shapes = shapes.overflow();
  report.unknown_shapes = shapes.take();
  return report;
}

// The format is docs/profiles.md's (user_profiles.hpp): `match.keys` are paths that must
// be present, `kind` is required, `event_time` and a host field are required.
std::string profile_skeleton(const inspect_report::shape& shape, std::string_view name) {
  std::set<std::string_view> used;
  std::vector<std::pair<std::string_view, std::string>> mapped;
  const auto& paths = shape.paths.empty() ? shape.keys : shape.paths;
  std::string_view kind = "process_start";
  for (const auto& path : paths) {
    const std::string full = lower(path);
    if (has(full, "driver")) kind = "driver_load";
    if (kind == "process_start" && (has(full, "imageloaded") || has(full, "module") || has(full, "dll"))) {
      kind = "image_load";
    }
    const auto dot = path.rfind('.');
    const std::string leaf = lower(dot == std::string::npos ? std::string_view(path) : std::string_view(path).substr(dot + 1));
    const std::string_view field = guess_field(leaf, full);
    if (field.empty() || !used.insert(field).second) continue;
    mapped.emplace_back(field, path);
  }
  std::string y;
  y += "profiles:\n";
  y += "  - name: " + yaml_scalar(name) + "\n";
  y += "    match:\n";
  y += "      keys: [";
  for (std::size_t i = 0; i < shape.keys.size(); ++i) {
    if (i > 0) y += ", ";
    y += yaml_scalar(shape.keys[i]);
  }
  y += "]\n";
  y += "    kind: " + std::string(kind) +
       "   # or kind_from; process_start, image_load, driver_load, file_certificate, code_integrity, unknown\n";
  y += "    fields:\n";
  for (const auto& [field, path] : mapped) {
    y += "      " + std::string(field) + ": " + yaml_scalar(path);
    if (field == "event_time") y += "   # RFC 3339 or epoch; else {path: ..., format: \"%Y-%m-%d %H:%M:%S\"}";
    if (field == "signature.status") y += "   # words other than ECS/Sysmon ones: {path: ..., map: {WORD: valid, ...}}";
    y += "\n";
  }
  if (!used.contains("event_time")) y += "      # event_time: PATH   (required; no key name suggests it)\n";
  if (!used.contains("host_name")) y += "      # host_name: PATH    (required, or host_id; no key name suggests it)\n";
  return y;
}

void write_inspect_text(const inspect_report& r, std::ostream& out, std::size_t skeletons) {
  char buf[256];
  out << "inspect: " << r.files.size() << (r.files.size() == 1 ? " file, " : " files, ") << r.events << " events\n";
  for (const auto& f : r.files) {
    std::snprintf(buf, sizeof buf, "  %-7s %9llu events", f.format.empty() ? "-" : f.format.c_str(),
                  static_cast<unsigned long long>(f.events));
    out << buf << "  " << f.name;
    if (f.blank_lines > 0) out << " (" << f.blank_lines << " blank lines)";
    out << '\n';
    if (!f.error.empty()) out << "    error: " << f.error << '\n';
  }

  for (const auto& p : r.profile_problems) out << "  input profiles: " << p << '\n';

  std::uint64_t rejected = 0;
  for (const auto& [reason, t] : r.rejects) rejected += t.count;
  out << "\nprofiles (events read as each):\n";
  for (const auto& [name, p] : r.profiles) {
    std::snprintf(buf, sizeof buf, "  %-22s %9llu events, %llu observations, %llu in scope\n", name.c_str(),
                  static_cast<unsigned long long>(p.events), static_cast<unsigned long long>(p.observations),
                  static_cast<unsigned long long>(p.in_scope));
    out << buf;
  }
  std::snprintf(buf, sizeof buf, "  %-22s %9llu events\n", "(rejected)", static_cast<unsigned long long>(rejected));
  out << buf;

  for (const auto& [name, p] : r.profiles) {
    if (p.observations == 0) continue;
    out << "\nfields of profile " << name << " (" << p.observations << " observations): filled / empty / missing\n";
    const auto pct = [&](std::uint64_t n) { return static_cast<int>((100 * n + p.observations / 2) / p.observations); };
    for (std::size_t f = 0; f < k_fields.size() && f < p.fields.size(); ++f) {
      const auto& c = p.fields[f];
      std::snprintf(buf, sizeof buf, "  %-30s %9llu %3d%%  %9llu  %9llu\n", std::string(k_fields[f].name).c_str(),
                    static_cast<unsigned long long>(c.filled), pct(c.filled), static_cast<unsigned long long>(c.empty),
                    static_cast<unsigned long long>(c.missing));
      out << buf;
    }
  }

  const auto tallies = [&](std::string_view title, const std::map<std::string, inspect_report::tally>& m) {
    std::uint64_t total = 0;
    for (const auto& [reason, t] : m) total += t.count;
    out << '\n' << title << " (" << total << " events):\n";
    if (m.empty()) out << "  none\n";
    for (const auto& [reason, t] : m) {
      out << "  " << reason << ": " << t.count << ", e.g. " << t.example.file << ':' << t.example.position;
      if (!t.example.detail.empty()) out << " (" << t.example.detail << ')';
      out << '\n';
    }
  };
  tallies("rejected", r.rejects);
  tallies("out of scope for the built-in detectors (Sigma still sees them)", r.out_of_scope);

  std::uint64_t unknown = 0;
  for (const auto& s : r.unknown_shapes) unknown += s.count;
  out << "\nunknown shapes (" << r.unknown_shapes.size() << " groups, " << unknown << " events):\n";
  if (r.unknown_shapes.empty()) out << "  none\n";
  constexpr std::size_t k_listed = 20;
  for (std::size_t i = 0; i < r.unknown_shapes.size() && i < k_listed; ++i) {
    const auto& s = r.unknown_shapes[i];
    out << "  " << s.count << " events, e.g. " << s.example.file << ':' << s.example.position << ", keys [";
    for (std::size_t k = 0; k < s.keys.size(); ++k) out << (k > 0 ? ", " : "") << s.keys[k];
    out << "]\n";
  }
  if (r.unknown_shapes.size() > k_listed) {
    std::uint64_t rest = 0;
    for (std::size_t i = k_listed; i < r.unknown_shapes.size(); ++i) rest += r.unknown_shapes[i].count;
    out << "  " << r.unknown_shapes.size() - k_listed << " smaller groups, " << rest << " events (--json lists them all)\n";
  }
  if (r.ungrouped_shapes > 0) out << "  " << r.ungrouped_shapes << " more events in shapes beyond the first 1000\n";
  for (std::size_t i = 0; i < r.unknown_shapes.size() && i < skeletons; ++i) {
    const auto& s = r.unknown_shapes[i];
    out << "\nsuggested user profile for the " << s.count << " events like " << s.example.file << ':'
        << s.example.position << " (guessed from key names; check every line):\n";
    out << profile_skeleton(s, "my-shape-" + std::to_string(i + 1));
  }
}

void write_inspect_json(const inspect_report& r, std::ostream& out, std::size_t skeletons) {
  std::string s;
  rules::json_writer w(s);
  const auto example = [&](const inspect_example& e) {
    w.key("example").begin_object().field("file", e.file).field("position", e.position);
    if (!e.detail.empty()) w.field("detail", e.detail);
    w.end_object();
  };
  const auto count = [&](std::string_view k, std::uint64_t n) { w.field(k, static_cast<std::int64_t>(n)); };
  w.begin_object();
  count("events", r.events);
  w.key("profile_problems").begin_array();
  for (const auto& p : r.profile_problems) w.string(p);
  w.end_array();
  w.key("files").begin_array();
  for (const auto& f : r.files) {
    w.begin_object().field("name", f.name).field("format", f.format);
    count("events", f.events);
    count("blank_lines", f.blank_lines);
    if (!f.error.empty()) w.field("error", f.error);
    w.end_object();
  }
  w.end_array();
  w.key("profiles").begin_object();
  for (const auto& [name, p] : r.profiles) {
    w.key(name).begin_object();
    count("events", p.events);
    count("observations", p.observations);
    count("in_scope", p.in_scope);
    w.key("fields").begin_object();
    for (std::size_t f = 0; f < k_fields.size() && f < p.fields.size(); ++f) {
      w.key(k_fields[f].name).begin_object();
      count("filled", p.fields[f].filled);
      count("empty", p.fields[f].empty);
      count("missing", p.fields[f].missing);
      w.end_object();
    }
    w.end_object().end_object();
  }
  w.end_object();
  for (const auto& [key, m] : {std::pair{"rejected", &r.rejects}, std::pair{"out_of_scope", &r.out_of_scope}}) {
    w.key(key).begin_object();
    for (const auto& [reason, t] : *m) {
      w.key(reason).begin_object();
      count("count", t.count);
      example(t.example);
      w.end_object();
    }
    w.end_object();
  }
  w.key("unknown_shapes").begin_array();
  for (std::size_t i = 0; i < r.unknown_shapes.size(); ++i) {
    const auto& sh = r.unknown_shapes[i];
    w.begin_object();
    count("count", sh.count);
    w.key("keys").begin_array();
    for (const auto& k : sh.keys) w.string(k);
    w.end_array();
    example(sh.example);
    if (i < skeletons) w.field("profile_skeleton", profile_skeleton(sh, "my-shape-" + std::to_string(i + 1)));
    w.end_object();
  }
  w.end_array();
  count("ungrouped_shape_events", r.ungrouped_shapes);
  w.end_object();
  out << s << '\n';
}

}  // namespace countersign::processor
