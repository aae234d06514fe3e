#pragma once
// A prevalence store directory of its own for one test, removed afterwards, with small
// memory bounds.

#include <countersign/state/prevalence_store.hpp>

#include <unistd.h>

#include <filesystem>
#include <string>

namespace countersign::state {

class temp_store_dir {
 public:
  temp_store_dir() {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("countersign-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::remove_all(path_);
  }
  ~temp_store_dir() { std::filesystem::remove_all(path_); }
  temp_store_dir(const temp_store_dir&) = delete;
  temp_store_dir& operator=(const temp_store_dir&) = delete;

  [[nodiscard]] store_options options() const {
    store_options o;
    o.path = path_;
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 4 << 20;
    return o;
  }

 private:
  std::string path_;
};

// A delta: one host saw the record at t.
inline prevalence_value seen(std::int64_t t, std::uint64_t host) {
  prevalence_value v;
  v.first_seen_ms = t;
  v.last_seen_ms = t;
  v.hosts.insert(host);
  return v;
}

}  // namespace countersign::state
