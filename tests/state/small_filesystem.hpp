#pragma once
// A tmpfs of a given size for tests that fill a disk (the state store's disk-full
// handling, the chaos suite's full state disk). Mounting needs root, as CI runs; without
// it `mounted()` is false and `why_not()` says why, for GTEST_SKIP.

#include <gtest/gtest.h>

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace countersign::test_support {

// A tmpfs of `size` mounted on a fresh directory, unmounted and removed afterwards.
class small_filesystem {
 public:
  explicit small_filesystem(std::uint64_t size) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("countersign-full-" + std::to_string(::getpid()) + "-" + std::to_string(counter++)))
                .string();
    std::filesystem::create_directories(path_);
    if (::geteuid() != 0) {
      why_not_ = "needs root to mount a tmpfs (CI runs as root)";
      return;
    }
    const std::string options = "size=" + std::to_string(size);
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      why_not_ = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~small_filesystem() {
    if (mounted_) (void)::umount2(path_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  small_filesystem(const small_filesystem&) = delete;
  small_filesystem& operator=(const small_filesystem&) = delete;

  [[nodiscard]] bool mounted() const noexcept { return mounted_; }
  [[nodiscard]] const std::string& why_not() const noexcept { return why_not_; }
  [[nodiscard]] std::string store_path() const { return path_ + "/state"; }
  [[nodiscard]] std::string filler_path() const { return path_ + "/filler"; }

  // Writes the filler file until the filesystem has at most `leave` bytes free (0: until
  // the filesystem refuses more).
  void fill(std::uint64_t leave) const {
    std::FILE* f = std::fopen(filler_path().c_str(), "ab");
    ASSERT_NE(f, nullptr);
    const std::vector<char> block(64 * 1024, 'f');
    for (;;) {
      const auto space = std::filesystem::space(path_);
      if (leave > 0 && space.available <= leave) break;
      const std::size_t n = leave > 0 ? std::min<std::uint64_t>(block.size(), space.available - leave) : block.size();
      if (std::fwrite(block.data(), 1, n, f) != n || std::fflush(f) != 0) break;  // full
    }
    std::fclose(f);
  }
  void free_filler() const { std::filesystem::remove(filler_path()); }

 private:
  std::string path_;
  std::string why_not_;
  bool mounted_ = false;
};

}  // namespace countersign::test_support
