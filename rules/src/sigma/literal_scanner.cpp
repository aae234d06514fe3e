#include "literal_scanner.hpp"

#include <hs/hs.h>

#include <limits>
#include <span>
#include <stdexcept>
#include <utility>

namespace countersign::rules::sigma::detail {
namespace {

// Per-thread Hyperscan scratch. hs_alloc_scratch() grows a scratch to fit each database
// it is given, so one region serves every database of a rule set; it is grown for a set
// the first time this thread scans with it (sets have unique ids, see scratch_for()).
struct hs_thread_scratch {
  hs_scratch_t* scratch = nullptr;
  std::uint64_t fitted = 0;  // id of the set the scratch was last grown for
  ~hs_thread_scratch() {
    if (scratch != nullptr) hs_free_scratch(scratch);
  }
};

thread_local hs_thread_scratch t_scratch;

struct hs_context {
  literal_scanner::on_match_fn fn;
  void* ctx;
};

int on_hs_match(unsigned id, unsigned long long /*from*/, unsigned long long to, unsigned /*flags*/,
                void* c) {
  const auto* hc = static_cast<const hs_context*>(c);
  hc->fn(id, static_cast<std::size_t>(to), hc->ctx);
  return 0;
}

}  // namespace

literal_scanner::literal_scanner(scan_engine engine, const std::vector<std::string>& literals)
    : engine_(engine) {
  if (engine_ == scan_engine::aho_corasick) {
    automaton_ = aho_corasick(literals);
    return;
  }
  if (literals.empty()) return;
  std::vector<const char*> exprs;
  std::vector<std::size_t> lens;
  std::vector<unsigned> flags, ids;
  for (std::size_t i = 0; i < literals.size(); ++i) {
    exprs.push_back(literals[i].data());
    lens.push_back(literals[i].size());
    flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                           static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db_,
                           &err) != HS_SUCCESS) {
    // Hyperscan refused the set (a resource limit): the automaton gives the same answers,
    // slower, and a rule reload on the processing thread must not throw for it.
    hs_free_compile_error(err);
    db_ = nullptr;
    engine_ = scan_engine::aho_corasick;
    automaton_ = aho_corasick(literals);
    return;
  }
  hs_scratch_t* probe = nullptr;
  if (hs_alloc_scratch(db_, &probe) != HS_SUCCESS)
    throw std::runtime_error("sigma prefilter: Hyperscan scratch allocation failed");
  hs_free_scratch(probe);
}

literal_scanner::~literal_scanner() {
  if (db_ != nullptr) hs_free_database(db_);
}

literal_scanner::literal_scanner(literal_scanner&& o) noexcept
    : engine_(o.engine_), automaton_(std::move(o.automaton_)), db_(std::exchange(o.db_, nullptr)) {}

literal_scanner& literal_scanner::operator=(literal_scanner&& o) noexcept {
  if (this != &o) {
    if (db_ != nullptr) hs_free_database(db_);
    engine_ = o.engine_;
    automaton_ = std::move(o.automaton_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}

hs_scratch* scratch_for(std::uint64_t set_id, std::span<const literal_scanner* const> scanners) {
  hs_thread_scratch& t = t_scratch;
  if (t.fitted == set_id && t.scratch != nullptr) return t.scratch;
  t.fitted = 0;
  for (const auto* sc : scanners)
    if (sc->db_ != nullptr && hs_alloc_scratch(sc->db_, &t.scratch) != HS_SUCCESS) return nullptr;
  t.fitted = set_id;
  return t.scratch;
}

bool literal_scanner::scan(std::string_view text, on_match_fn on_match, void* ctx,
                           hs_scratch* scratch) const {
  if (engine_ == scan_engine::aho_corasick) {
    automaton_.scan_ends(text, [&](std::uint32_t p, std::size_t end) { on_match(p, end, ctx); });
    return true;
  }
  if (db_ == nullptr) return true;
  hs_context c{on_match, ctx};
  return scratch != nullptr && text.size() <= std::numeric_limits<unsigned>::max() &&
         hs_scan(db_, text.data(), static_cast<unsigned>(text.size()), 0, scratch, on_hs_match, &c) ==
             HS_SUCCESS;
}

std::size_t literal_scanner::memory_bytes() const noexcept {
  if (engine_ == scan_engine::aho_corasick) return automaton_.memory_bytes();
  std::size_t bytes = 0;
  if (db_ != nullptr && hs_database_size(db_, &bytes) != HS_SUCCESS) bytes = 0;
  return bytes;
}

}  // namespace countersign::rules::sigma::detail
