#include <countersign/rules/path_glob.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {
namespace {

using namespace std::string_view_literals;

constexpr auto npos = std::string_view::npos;

char fold(char c) {
  if (c == '/') return '\\';
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
}

// An 8.3 short name as Windows generates it: up to 6 characters of the long name, '~',
// a number, at most 8 characters in all, and at most 3 of the long name's extension.
struct short_name {
  std::string_view stem;  // before the extension: "progra~1"
  std::string_view base;  // before the '~': "progra"
  std::string_view ext;   // "bin" of "$recyc~1.bin", or empty
  bool valid = false;
};

short_name parse_short_name(std::string_view seg) {
  if (seg.size() > 12) return {};  // also keeps the scans below short on hostile segments
  const auto dot = seg.find('.');
  const std::string_view stem = seg.substr(0, dot);
  const std::string_view ext = dot == npos ? std::string_view{} : seg.substr(dot + 1);
  if (stem.size() > 8 || ext.size() > 3 || ext.find_first_of(". ~") != npos) return {};
  const auto tilde = stem.find('~');
  if (tilde == npos || tilde == 0 || tilde > 6 || tilde + 1 == stem.size()) return {};
  if (stem.substr(0, tilde).find(' ') != npos) return {};
  for (const char c : stem.substr(tilde + 1)) {
    if (c < '0' || c > '9') return {};
  }
  return {stem, stem.substr(0, tilde), ext, true};
}

// The 8.3 extension of a long name: the first 3 characters after its last dot.
std::string_view short_ext(std::string_view long_name) {
  const auto dot = long_name.rfind('.');
  return dot == npos ? std::string_view{} : long_name.substr(dot + 1, 3);
}

enum class placement : std::uint8_t { anywhere, volume_root, program_files };

struct well_known_short_name {
  std::string_view stem;
  std::string_view long_name;
  placement where;
};

// Windows numbers short names in the order folders of the same base appear in a
// directory. These folders come with the installation or the user profile, before
// anything else could take their number, so the mapping holds on any machine; where
// it depends on the parent (Program Files and Program Files (x86) and ProgramData all
// start PROGRA), only that parent is trusted. First match wins.
constexpr std::array k_well_known_short_names{
    well_known_short_name{"progra~1", "program files", placement::volume_root},
    well_known_short_name{"progra~2", "program files (x86)", placement::volume_root},
    well_known_short_name{"progra~3", "programdata", placement::volume_root},
    well_known_short_name{"docume~1", "documents and settings", placement::volume_root},
    well_known_short_name{"docume~1", "documents", placement::anywhere},
    well_known_short_name{"appdat~1", "appdata", placement::anywhere},
    well_known_short_name{"locals~1", "local settings", placement::anywhere},
    well_known_short_name{"downlo~1", "downloads", placement::anywhere},
    well_known_short_name{"tempor~1", "temporary internet files", placement::anywhere},
    well_known_short_name{"$recyc~1", "$recycle.bin", placement::anywhere},
    well_known_short_name{"window~1", "windowsapps", placement::program_files},
    well_known_short_name{"micros~1", "microsoft", placement::anywhere},
};

// `parent_is_program_files` is asked lazily: only window~1 needs it.
template <typename ParentIsProgramFiles>
std::string_view expand_short_name(const short_name& name, bool at_volume_root, ParentIsProgramFiles parent_is_program_files) {
  for (const auto& known : k_well_known_short_names) {
    if (known.stem != name.stem) continue;
    if (!name.ext.empty() && short_ext(known.long_name) != name.ext) continue;
    if (known.where == placement::volume_root && !at_volume_root) continue;
    if (known.where == placement::program_files && !parent_is_program_files()) continue;
    return known.long_name;
  }
  return {};
}

// Dynamic programming over (pattern token, subject prefix): O(tokens x length), no
// backtracking blow-up whatever the pattern. row[j]: the tokens so far match s[0, j).
bool match(std::string_view p, std::string_view s) {
  thread_local std::vector<char> row;
  thread_local std::vector<char> next;
  row.assign(s.size() + 1, 0);
  next.assign(s.size() + 1, 0);
  row[0] = 1;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const bool star = p[i] == '*';
    const bool crosses = star && i + 1 < p.size() && p[i + 1] == '*';
    if (crosses) ++i;
    next[0] = star ? row[0] : 0;
    for (std::size_t j = 1; j <= s.size(); ++j) {
      const char c = s[j - 1];
      if (star) {
        next[j] = static_cast<char>(row[j] || (next[j - 1] && (crosses || c != '\\')));
      } else if (p[i] == '?') {
        next[j] = static_cast<char>(row[j - 1] && c != '\\');
      } else {
        next[j] = static_cast<char>(row[j - 1] && p[i] == c);
      }
    }
    row.swap(next);
  }
  return row[s.size()] != 0;
}

}  // namespace

canonical_path canonicalize_path(std::string_view path) {
  thread_local std::string in;
  thread_local std::string out;
  in.resize(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) in[i] = fold(path[i]);
  std::string_view p = in;

  // Namespace prefixes nest (`\\?\GLOBALROOT\??\C:\...`); each pass consumes input,
  // so the loop stays linear however many an attacker stacks up.
  bool prefixed = false;
  bool unc = false;
  for (bool again = true; again;) {
    again = false;
    for (const std::string_view prefix : {R"(\\?\)"sv, R"(\\.\)"sv, R"(\??\)"sv, R"(\global??\)"sv}) {
      if (p.starts_with(prefix)) {
        p.remove_prefix(prefix.size());
        prefixed = again = true;
        break;
      }
    }
    if (again && p.starts_with(R"(unc\)")) {
      p.remove_prefix(3);
      unc = true;
      break;
    }
    if (again && p.starts_with(R"(globalroot\)")) p.remove_prefix(10);  // keeps the '\' of `\device\...`
  }

  // The root: what `..` never climbs above, and what the first segment follows without
  // a separator of its own (`bare`).
  out.clear();
  std::size_t root_segments = 0;  // segments still to join the root: UNC server and share, device and volume
  bool rooted = true;             // `..` above the root is dropped; a relative path keeps it instead
  bool volume_root = false;       // a drive or a volume, where PROGRA~1 is Program Files
  if (unc || p.starts_with(R"(\\)")) {
    out = R"(\\)";
    root_segments = 2;
  } else if (p.size() >= 2 && p[0] >= 'a' && p[0] <= 'z' && p[1] == ':') {
    out.assign(p.substr(0, 2));
    p.remove_prefix(2);
    if (p.starts_with('\\')) {
      out += '\\';
      volume_root = true;
    } else {
      rooted = false;  // `c:x`, relative to the drive's current folder
    }
  } else if (p.starts_with('\\')) {
    out = "\\";
    if (p.starts_with(R"(\device\)")) {
      root_segments = 2;
      volume_root = true;
    }
  } else if (prefixed && p.starts_with("volume{")) {
    root_segments = 1;
    volume_root = true;
  } else {
    rooted = false;
  }
  const std::size_t bare = out.size();
  std::size_t keep = out.size();  // out[0, keep) is never popped: the root, and the `..` a relative path keeps

  const auto append = [&](std::string_view seg) {
    if (out.size() > bare) out += '\\';
    out += seg;
  };
  // Scans back over exactly the segment it removes: linear over the whole path.
  const auto pop = [&] {
    const auto k = out.find_last_of('\\');
    out.resize(k == std::string::npos || k < keep ? keep : k);
  };

  canonical_path result;
  std::size_t i = 0;
  while (i < p.size()) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    const std::size_t end = std::min(p.find('\\', i), p.size());
    std::string_view seg = p.substr(i, end - i);
    i = end;
    if (seg == ".") continue;
    if (seg == "..") {
      if (root_segments > 0) continue;
      if (out.size() > keep) {
        pop();
      } else if (!rooted) {
        append(seg);
        keep = out.size();
      }
      continue;
    }
    const auto kept = seg.find_last_not_of(". ");
    if (kept + 1 != seg.size()) {  // npos + 1 == 0: nothing but dots and spaces
      result.mock_segment = true;
      seg = seg.substr(0, kept + 1);
      if (seg.empty()) continue;
    }
    if (root_segments > 0) {
      append(seg);
      if (--root_segments == 0) keep = out.size();
      continue;
    }
    if (const short_name name = parse_short_name(seg); name.valid) {
      const std::string_view expanded = expand_short_name(name, volume_root && out.size() == keep, [&] {
        return out.size() > keep && std::string_view(out).ends_with(R"(\program files)");
      });
      if (expanded.empty()) {
        result.unresolved_short_name = true;
      } else {
        seg = expanded;
      }
    }
    append(seg);
  }
  if (p.ends_with('\\') && out.size() > bare) out += '\\';
  result.folded = out;
  return result;
}

path_glob::path_glob(std::string_view pattern) {
  pattern_.reserve(pattern.size());
  for (const char c : pattern) pattern_.push_back(fold(c));
  std::size_t start = 0;
  for (std::size_t i = 0; i <= pattern_.size(); ++i) {
    if (i == pattern_.size() || pattern_[i] == '*' || pattern_[i] == '?') {
      if (i - start > needle_.size()) needle_ = pattern_.substr(start, i - start);
      start = i + 1;
    }
  }
}

bool path_glob::matches(std::string_view path) const { return matches_folded(canonicalize_path(path).folded); }

bool path_glob::matches_folded(std::string_view s) const {
  if (pattern_.empty()) return false;
  if (!needle_.empty() && s.find(needle_) == std::string_view::npos) return false;
  return match(pattern_, s);
}

path_glob_set::path_glob_set(const std::vector<std::string>& patterns, glob_role role) : role_(role) {
  for (const auto& p : patterns) globs_.emplace_back(p);
  if (role_ != glob_role::suspect) return;
  for (const auto& g : globs_) {
    std::string_view rest = g.pattern();
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find('\\'), rest.size());
      const std::string_view seg = rest.substr(0, end);
      rest.remove_prefix(std::min(end + 1, rest.size()));
      if (seg.empty() || seg.find_first_of("*?") != npos) continue;
      if (std::ranges::any_of(vocabulary_, [seg](const literal_segment& l) { return l.name == seg; })) continue;
      literal_segment word{std::string(seg), {}, {}};
      for (const char c : seg) {
        if (c != ' ' && c != '.' && word.base.size() < 6) word.base.push_back(c);
      }
      if (const auto dot = seg.rfind('.'); dot != npos) {
        for (const char c : seg.substr(dot + 1)) {
          if (c != ' ' && word.ext.size() < 3) word.ext.push_back(c);
        }
      }
      vocabulary_.push_back(std::move(word));
    }
  }
}

bool path_glob_set::matches(std::string_view path) const {
  if (globs_.empty()) return false;
  return matches_canonical(canonicalize_path(path));
}

bool path_glob_set::matches_canonical(const canonical_path& path) const {
  if (globs_.empty()) return false;
  if (role_ == glob_role::exempt) {
    return !path.mock_segment && !path.unresolved_short_name && any_glob_matches(path.folded);
  }
  if (path.mock_segment || any_glob_matches(path.folded)) return true;
  return path.unresolved_short_name && some_expansion_matches(path.folded);
}

bool path_glob_set::any_glob_matches(std::string_view folded) const {
  return std::ranges::any_of(globs_, [folded](const path_glob& g) { return g.matches_folded(folded); });
}

// Tries every reading of the short segments that have one (each segment as written or
// as one of its vocabulary words) but the all-as-written one the caller already tried.
bool path_glob_set::some_expansion_matches(std::string_view folded) const {
  constexpr std::size_t k_max_readings = 64;
  constexpr std::size_t k_max_reading_chars = k_max_readings * 4096;
  struct slot {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t count = 0;  // words this segment may stand for
    std::array<std::size_t, k_max_readings> words{};
  };
  // Seven segments with a word each already make 2^7 readings: past the bound.
  constexpr std::size_t k_max_slots = 6;
  std::array<slot, k_max_slots> slots;
  std::size_t used = 0;
  std::size_t readings = 1;
  for (std::size_t i = 0; i < folded.size();) {
    if (folded[i] == '\\') {
      ++i;
      continue;
    }
    const std::size_t end = std::min(folded.find('\\', i), folded.size());
    const short_name name = parse_short_name(folded.substr(i, end - i));
    slot s{i, end, 0, {}};
    i = end;
    if (!name.valid) continue;
    for (std::size_t w = 0; w < vocabulary_.size(); ++w) {
      const auto& word = vocabulary_[w];
      if (!word.base.starts_with(name.base) || (!name.ext.empty() && word.ext != name.ext)) continue;
      if (s.count + 1 == k_max_readings) return true;
      s.words[s.count++] = w;
    }
    if (s.count == 0) continue;
    if (used == slots.size()) return true;
    readings *= s.count + 1;
    if (readings > k_max_readings) return true;
    slots[used++] = s;
  }
  if (readings == 1) return false;
  if (readings * folded.size() > k_max_reading_chars) return true;

  thread_local std::string reading;
  std::array<std::size_t, k_max_slots> digit{};  // 0: as written, n: words[n - 1]
  for (std::size_t n = 1; n < readings; ++n) {
    for (std::size_t k = 0; k < used; ++k) {
      if (++digit[k] <= slots[k].count) break;
      digit[k] = 0;
    }
    reading.clear();
    std::size_t at = 0;
    for (std::size_t k = 0; k < used; ++k) {
      const slot& s = slots[k];
      reading.append(folded.substr(at, s.begin - at));
      reading.append(digit[k] == 0 ? folded.substr(s.begin, s.end - s.begin) : vocabulary_[s.words[digit[k] - 1]].name);
      at = s.end;
    }
    reading.append(folded.substr(at));
    if (any_glob_matches(reading)) return true;
  }
  return false;
}

}  // namespace countersign::rules
