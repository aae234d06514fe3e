#pragma once
// The mapped paths of a walker as a trie of key segments (ecs.cpp, sentinelone.cpp).
// Internal to the processor module.

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::processor::detail {

// A walker's field ids are an enum whose value 0 is `container` (an object to descend into).
inline constexpr int k_trie_container = 0;

// The mapped paths as a trie of key segments: a lookup is (parent node, key) -> node,
// hashed in an open-addressing table, so a member costs one probe on its key alone and
// dotted keys ("process.pe.company") walk the same trie segment by segment.
class field_trie {
 public:
  struct node {
    int field = k_trie_container;
    int id = 0;
  };

  // `slots`: a power of two, at least four times the number of path segments.
  field_trie(std::initializer_list<std::pair<std::string_view, int>> paths, std::size_t slots = 512) {
    slots_.resize(slots);
    for (const auto& [path, f] : paths) {
      int parent = 0;
      std::string_view rest = path;
      while (!rest.empty()) {
        const auto dot = rest.find('.');
        const std::string_view seg = rest.substr(0, dot);
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        slot* s = probe(parent, seg);
        if (s->seg.data() == nullptr) {
          *s = slot{hash(parent, seg), parent, seg, node{rest.empty() ? f : k_trie_container, ++nodes_}};
        } else if (rest.empty()) {
          s->n.field = f;
        }
        parent = s->n.id;
      }
    }
  }

  // The child `seg` of node `parent`, or nullptr.
  [[nodiscard]] const node* find(int parent, std::string_view seg) const {
    const slot* s = probe_const(parent, seg);
    return s->seg.data() == nullptr ? nullptr : &s->n;
  }

 private:
  struct slot {
    std::uint64_t h = 0;
    int parent = 0;
    std::string_view seg;
    node n;
  };
  static std::uint64_t hash(int parent, std::string_view seg) {
    std::uint64_t h = 14695981039346656037ULL ^ static_cast<std::uint64_t>(parent);
    for (const char ch : seg) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    return h;
  }
  const slot* probe_const(int parent, std::string_view seg) const {
    const std::uint64_t h = hash(parent, seg);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const slot& s = slots_[i];
      if (s.seg.data() == nullptr || (s.h == h && s.parent == parent && s.seg == seg)) return &s;
    }
  }
  slot* probe(int parent, std::string_view seg) { return const_cast<slot*>(probe_const(parent, seg)); }

  std::vector<slot> slots_;  // power of two, at most a quarter full
  int nodes_ = 0;
};


}  // namespace countersign::processor::detail
