// sigma_document: every scalar of a message under its dotted path, read on first use.
//
// Paths join object keys with dots; array elements share their array's path (a Sigma
// field that names an array matches if any element does, get() returns the first). A
// Defender export's `records[i].properties.X` is stored as `X` of record i, so a record
// reads like a bare row. Code Integrity's nested `EventData.X` is reachable as `X` too
// (sigma_view asks for both). With a name filter (keep_only), only scalars whose last path
// component the rules can ask for are stored.

#include <countersign/processor/engine/sigma_stage.hpp>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <bit>

namespace countersign::processor {
namespace od = simdjson::ondemand;

namespace {

constexpr std::size_t k_max_depth = 32;

std::uint64_t path_hash(std::string_view p) { return XXH3_64bits(p.data(), p.size()); }

// The filter's table hash: length and three bytes. Keys of one shape differ in these
// almost always, and a full hash of every key of every message cost more than the walk.
std::size_t name_slot_hash(std::string_view s) {
  if (s.empty()) return 0;
  const auto at = [&s](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(s[i])); };
  return s.size() * 0x9e3779b1U ^ at(0) * 0x85ebca6bU ^ at(s.size() - 1) * 0xc2b2ae35U ^ at(s.size() / 2) * 0x27d4eb2fU;
}

// The raw token of a number or boolean (as written), without the whitespace and
// delimiters the raw view may carry.
std::string_view trim_token(std::string_view raw) {
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t' ||
                          raw.back() == ',' || raw.back() == '}' || raw.back() == ']')) {
    raw.remove_suffix(1);
  }
  return raw;
}

}  // namespace

void sigma_document::reset(const char* padded, std::size_t size, std::size_t capacity, rules::schema_profile profile,
                           od::document* indexed) {
  padded_ = padded;
  size_ = size;
  capacity_ = capacity;
  indexed_ = indexed;
  profile_ = profile;
  parsed_ = false;
}

int sigma_document::records() const {
  ensure();
  return records_;
}

void sigma_document::keep_only(std::shared_ptr<const name_filter> names) {
  filter_ = std::move(names);
  filter_lengths_ = 0;
  filter_first_ = {};
  filter_slots_.clear();
  if (!filter_) return;
  // Open addressing over views of the names (filter_ keeps them alive), at most a quarter full.
  filter_slots_.assign(std::bit_ceil(std::max<std::size_t>(64, filter_->size() * 4)), {});
  const std::size_t mask = filter_slots_.size() - 1;
  for (const auto& n : *filter_) {
    filter_lengths_ |= std::uint64_t{1} << std::min<std::size_t>(n.size(), 63);
    const auto c = static_cast<unsigned char>(n.empty() ? 0 : n.front());
    filter_first_[c >> 6] |= std::uint64_t{1} << (c & 63);
    std::size_t at = name_slot_hash(n) & mask;
    while (filter_slots_[at].data() != nullptr) at = (at + 1) & mask;
    filter_slots_[at] = n;
  }
}

std::string_view sigma_document::last_component(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

bool sigma_document::wanted(std::string_view key) const {
  if (!filter_) return true;
  // A key may hold dots itself (a flattened export's "process.command_line").
  const std::string_view last = last_component(key);
  if ((filter_lengths_ >> std::min<std::size_t>(last.size(), 63) & 1) == 0) return false;
  const auto c = static_cast<unsigned char>(last.empty() ? 0 : last.front());
  if ((filter_first_[c >> 6] >> (c & 63) & 1) == 0) return false;
  const std::size_t mask = filter_slots_.size() - 1;
  for (std::size_t at = name_slot_hash(last) & mask; filter_slots_[at].data() != nullptr; at = (at + 1) & mask) {
    if (filter_slots_[at] == last) return true;
  }
  return false;
}

void sigma_document::add_leaf(std::string_view value, bool is_null, int record) const {
  if (leaves_.size() >= max_leaves_) {
    truncated_ = true;
    return;
  }
  std::string_view path = path_;
  if (!path.empty() && path.front() == '.') path.remove_prefix(1);
  // A Defender export record reads like a bare row.
  if (record >= 0) {
    if (path.starts_with("records.")) path.remove_prefix(8);
    if (path.starts_with("properties.")) path.remove_prefix(11);
  }
  leaf l;
  l.path_off = static_cast<std::uint32_t>(arena_.size());
  l.path_len = static_cast<std::uint32_t>(path.size());
  arena_.append(path);
  l.hash = path_hash(path);
  l.value = value;
  l.record = record;
  l.is_null = is_null;
  leaves_.push_back(l);
}

void sigma_document::walk(od::value v, std::size_t depth, int record, bool keep) const {
  if (depth > k_max_depth || truncated_) return;
  od::json_type type;
  if (v.type().get(type) != simdjson::SUCCESS) return;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (v.get_object().get(obj) != simdjson::SUCCESS) return;
      for (auto member : obj) {
        od::field f;
        if (std::move(member).get(f) != simdjson::SUCCESS) return;
        std::string_view key;
        if (f.unescaped_key().get(key) != simdjson::SUCCESS) return;
        od::value child = f.value();
        // Judged once per member (an array's elements share its verdict); a scalar no
        // rule can ask for is passed over unread, its path never built.
        bool keep_child = true;
        if (filter_) {
          od::json_type child_type;
          if (child.type().get(child_type) != simdjson::SUCCESS) return;
          if (child_type != od::json_type::object) {
            keep_child = wanted(key);
            if (!keep_child && child_type != od::json_type::array) continue;
          }
        }
        const std::size_t saved = path_.size();
        path_.push_back('.');
        path_.append(key);
        walk(child, depth + 1, record, keep_child);
        path_.resize(saved);
      }
      return;
    }
    case od::json_type::array: {
      od::array arr;
      if (v.get_array().get(arr) != simdjson::SUCCESS) return;
      const bool export_records = profile_ == rules::schema_profile::defender && depth == 1 && path_ == ".records";
      int index = 0;
      for (auto element : arr) {
        od::value item;
        if (std::move(element).get(item) != simdjson::SUCCESS) return;
        walk(item, depth + 1, export_records ? index : record, keep);
        ++index;
      }
      if (export_records) records_ = index;
      return;
    }
    case od::json_type::string: {
      if (!keep) return;  // skipped unread: no unescaping
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) return;
      add_leaf(s, false, record);
      return;
    }
    case od::json_type::number:
    case od::json_type::boolean: {
      if (!keep) return;
      add_leaf(trim_token(v.raw_json_token()), false, record);
      return;
    }
    case od::json_type::null:
      if (keep) add_leaf({}, true, record);
      return;
    default:
      return;
  }
}

// evtx JSON (Event.System / Event.EventData / Event.UserData) stored under the names the
// flat and Winlogbeat shapes give the same record: EventData and UserData items by their
// Name (a Data[] array of {"#attributes": {"Name"}, "#text"} included), System elements by
// their own name or, for attributes, the attribute's (SystemTime, ActivityID, UserID,
// ProcessID), and the provider as Provider_Name. So one rule reads one record alike in
// every shape.
void sigma_document::walk_evtx(od::object obj, std::size_t depth, evtx_scope scope) const {
  if (depth > k_max_depth || truncated_) return;
  for (auto member : obj) {
    od::field f;
    if (std::move(member).get(f) != simdjson::SUCCESS) return;
    std::string_view key;
    if (f.unescaped_key().get(key) != simdjson::SUCCESS) return;
    od::value child = f.value();
    od::json_type type;
    if (child.type().get(type) != simdjson::SUCCESS) return;
    if (key == "#attributes" && scope != evtx_scope::system) continue;  // xmlns and the like
    const auto leaf_named = [&](std::string_view name, od::value v) {
      path_.assign(".");
      path_.append(name);
      walk(v, depth + 1, -1, wanted(name));
    };
    if (type == od::json_type::object) {
      od::object inner;
      if (child.get_object().get(inner) != simdjson::SUCCESS) return;
      if (scope == evtx_scope::root && key == "Event") {
        walk_evtx(inner, depth + 1, evtx_scope::event);
      } else if ((scope == evtx_scope::root || scope == evtx_scope::event) && key == "System") {
        walk_evtx(inner, depth + 1, evtx_scope::system);
      } else if ((scope == evtx_scope::root || scope == evtx_scope::event) && key == "EventData") {
        walk_evtx(inner, depth + 1, evtx_scope::data);
      } else if ((scope == evtx_scope::root || scope == evtx_scope::event) && key == "UserData") {
        walk_evtx(inner, depth + 1, evtx_scope::user);
      } else if (scope == evtx_scope::user) {
        walk_evtx(inner, depth + 1, evtx_scope::data);  // <EventXML> and its kin
      } else if (scope == evtx_scope::data && key == "Data") {
        walk_evtx_item(inner, depth + 1);
      } else if (scope == evtx_scope::system) {
        // <Provider Name=.../>, <TimeCreated SystemTime=.../>, <EventID Qualifiers="">4688</EventID>
        for (auto m : inner) {
          od::field af;
          if (std::move(m).get(af) != simdjson::SUCCESS) return;
          std::string_view akey;
          if (af.unescaped_key().get(akey) != simdjson::SUCCESS) return;
          if (akey == "#text") {
            leaf_named(key, af.value());
          } else if (akey == "#attributes") {
            od::object attrs;
            if (af.value().get_object().get(attrs) != simdjson::SUCCESS) continue;
            for (auto a : attrs) {
              od::field attr;
              if (std::move(a).get(attr) != simdjson::SUCCESS) return;
              std::string_view name;
              if (attr.unescaped_key().get(name) != simdjson::SUCCESS) return;
              if (key == "Provider") {
                provider_name_.assign("Provider_");
                provider_name_.append(name);
                leaf_named(provider_name_, attr.value());
              } else {
                leaf_named(name, attr.value());
              }
            }
          }
        }
      } else {
        leaf_named(key, child);  // RenderingInfo and other wrappers: by their own path
      }
      continue;
    }
    if (type == od::json_type::array && scope == evtx_scope::data && key == "Data") {
      od::array arr;
      if (child.get_array().get(arr) != simdjson::SUCCESS) return;
      for (auto element : arr) {
        od::value item;
        if (std::move(element).get(item) != simdjson::SUCCESS) return;
        od::object item_obj;
        if (item.get_object().get(item_obj) == simdjson::SUCCESS) {
          walk_evtx_item(item_obj, depth + 1);
        } else {
          leaf_named("Data", item);  // an unnamed data item
        }
      }
      continue;
    }
    leaf_named(key, child);
  }
}

// {"#attributes": {"Name": "X"}, "#text": "v"}: stored as X = v.
void sigma_document::walk_evtx_item(od::object item, std::size_t depth) const {
  std::string_view name, value;
  bool has_value = false, is_null = false;
  for (auto m : item) {
    od::field f;
    if (std::move(m).get(f) != simdjson::SUCCESS) return;
    std::string_view key;
    if (f.unescaped_key().get(key) != simdjson::SUCCESS) return;
    if (key == "#attributes") {
      od::object attrs;
      if (f.value().get_object().get(attrs) != simdjson::SUCCESS) continue;
      for (auto a : attrs) {
        od::field attr;
        if (std::move(a).get(attr) != simdjson::SUCCESS) return;
        std::string_view aname;
        if (attr.unescaped_key().get(aname) != simdjson::SUCCESS) return;
        if (aname == "Name" && attr.value().get_string().get(name) != simdjson::SUCCESS) name = {};
      }
    } else if (key == "#text") {
      od::value v = f.value();
      od::json_type t;
      if (v.type().get(t) != simdjson::SUCCESS) return;
      if (t == od::json_type::string) {
        has_value = v.get_string().get(value) == simdjson::SUCCESS;
      } else if (t == od::json_type::null) {
        is_null = true;
      } else if (t == od::json_type::number || t == od::json_type::boolean) {
        value = trim_token(v.raw_json_token());
        has_value = true;
      }
    }
  }
  if (name.empty() || !wanted(name) || depth > k_max_depth) return;
  path_.assign(".");
  path_.append(name);
  add_leaf(has_value ? value : std::string_view(), is_null || !has_value, -1);
}

void sigma_document::ensure() const {
  if (parsed_) return;
  parsed_ = true;
  truncated_ = false;
  records_ = 0;
  leaves_.clear();
  arena_.clear();
  path_.clear();
  if (padded_ == nullptr) return;
  // The ingest parser's structural index of these bytes, when there is one: indexing
  // them again was about a tenth of this walk.
  od::document own;
  od::document* doc = indexed_;
  if (doc != nullptr) {
    doc->rewind();
  } else {
    if (parser_.iterate(padded_, size_, capacity_).get(own) != simdjson::SUCCESS) return;
    doc = &own;
  }
  od::value root;
  if (doc->get_value().get(root) != simdjson::SUCCESS) return;
  od::object root_object;
  if (profile_ == rules::schema_profile::evtx && root.get_object().get(root_object) == simdjson::SUCCESS) {
    walk_evtx(root_object, 0, evtx_scope::root);
  } else {
    walk(root, 0, -1, wanted({}));
  }
  // Index: open addressing, at most half full.
  const std::size_t slots = std::bit_ceil(std::max<std::size_t>(16, leaves_.size() * 2));
  index_.assign(slots, -1);
  for (std::size_t i = 0; i < leaves_.size(); ++i) {
    std::size_t at = leaves_[i].hash & (slots - 1);
    while (index_[at] >= 0) at = (at + 1) & (slots - 1);
    index_[at] = static_cast<std::int32_t>(i);
  }
}

std::optional<std::string_view> sigma_document::get(std::string_view path, int record) const {
  ensure();
  if (leaves_.empty()) return std::nullopt;
  const std::uint64_t h = path_hash(path);
  const std::size_t mask = index_.size() - 1;
  // The first leaf (in document order) with this path and record: probes visit leaves
  // of one path in insertion order, so the first hit is the earliest.
  for (std::size_t at = h & mask; index_[at] >= 0; at = (at + 1) & mask) {
    const leaf& l = leaves_[static_cast<std::size_t>(index_[at])];
    if (l.hash != h || (record >= 0 && l.record != record)) continue;
    if (std::string_view(arena_).substr(l.path_off, l.path_len) != path) continue;
    if (l.is_null) return std::nullopt;
    return l.value;
  }
  return std::nullopt;
}

}  // namespace countersign::processor
