// Windows path patterns (rules/src/path_glob.cpp): `*` within one folder, `**` across
// folders, `?` one non-separator character, case-insensitive, either separator; and the
// shipped folder lists of rules/content/user_writable_paths.yaml on realistic paths.

#include <countersign/rules/path_glob.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::rules {
namespace {

using ::testing::SizeIs;

bool glob(std::string_view pattern, std::string_view path) { return path_glob(pattern).matches(path); }

// The `- item` lines of a top-level list in rules/content/user_writable_paths.yaml.
std::vector<std::string> shipped(std::string_view key) {
  std::ifstream in(COUNTERSIGN_TEST_DATA "/../../rules/content/user_writable_paths.yaml");
  std::vector<std::string> items;
  bool in_block = false;
  for (std::string line; std::getline(in, line);) {
    std::string_view t = line;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front())) != 0) t.remove_prefix(1);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back())) != 0) t.remove_suffix(1);
    if (t.empty() || t.front() == '#') continue;
    if (std::isspace(static_cast<unsigned char>(line.front())) == 0) {
      in_block = t == std::string(key) + ":";
      continue;
    }
    if (!in_block || !t.starts_with("- ")) continue;
    t.remove_prefix(2);
    if (t.size() >= 2 && (t.front() == '\'' || t.front() == '"') && t.back() == t.front()) t = t.substr(1, t.size() - 2);
    items.emplace_back(t);
  }
  return items;
}

const path_glob_set& user_writable() {
  static const path_glob_set set(shipped("user_writable_paths"));
  return set;
}

const path_glob_set& system_folders() {
  static const path_glob_set set(shipped("system_folders"));
  return set;
}

TEST(path_glob, a_literal_pattern_matches_the_whole_path_only) {
  EXPECT_TRUE(glob(R"(C:\Windows\notepad.exe)", R"(C:\Windows\notepad.exe)"));
  EXPECT_FALSE(glob(R"(C:\Windows\notepad.exe)", R"(C:\Windows\notepad.exe.bak)"));
  EXPECT_FALSE(glob(R"(C:\Windows\notepad.exe)", R"(D:\C:\Windows\notepad.exe)"));
  EXPECT_FALSE(glob(R"(C:\Windows\notepad.exe)", R"(C:\Windows\notepad.ex)"));
}

TEST(path_glob, single_star_stays_within_one_folder) {
  EXPECT_TRUE(glob(R"(C:\Users\*\x.exe)", R"(C:\Users\bob\x.exe)"));
  EXPECT_FALSE(glob(R"(C:\Users\*\x.exe)", R"(C:\Users\bob\sub\x.exe)"));
  EXPECT_FALSE(glob(R"(C:\Users\*\x.exe)", R"(C:/Users/bob/sub/x.exe)"));  // nor a forward slash
  EXPECT_TRUE(glob("*.exe", "setup.exe"));
  EXPECT_FALSE(glob("*.exe", R"(tmp\setup.exe)"));
  EXPECT_TRUE(glob(R"(C:\Users\*x.exe)", R"(C:\Users\x.exe)"));  // any run, including none
  EXPECT_TRUE(glob(R"(C:\*\*\*)", R"(C:\a\b\c)"));
  EXPECT_FALSE(glob(R"(C:\*\*\*)", R"(C:\a\b)"));
}

TEST(path_glob, double_star_crosses_folders) {
  EXPECT_TRUE(glob(R"(C:\**\x.exe)", R"(C:\a\b\c\x.exe)"));
  EXPECT_TRUE(glob(R"(C:\**\x.exe)", R"(C:\a\x.exe)"));
  EXPECT_TRUE(glob(R"(**\x.exe)", R"(\x.exe)"));  // and may match nothing
  EXPECT_TRUE(glob(R"(C:\build\**)", R"(C:\build\a\b\c.dll)"));
  EXPECT_FALSE(glob(R"(C:\build\**)", R"(C:\builds\a.dll)"));
  EXPECT_TRUE(glob("**", R"(\\?\C:\anything\at\all)"));
}

TEST(path_glob, question_mark_is_one_character_other_than_a_separator) {
  EXPECT_TRUE(glob(R"(?:\Windows\**)", R"(C:\Windows\System32\x.dll)"));
  EXPECT_TRUE(glob(R"(?:\Windows\**)", R"(e:\windows\x.dll)"));
  EXPECT_FALSE(glob(R"(?:\Windows\**)", R"(\Windows\x.dll)"));   // none
  EXPECT_FALSE(glob(R"(?:\Windows\**)", R"(CD:\Windows\x.dll)"));  // two
  EXPECT_FALSE(glob("a?b", R"(a\b)"));
  EXPECT_FALSE(glob("a?b", "a/b"));
  EXPECT_TRUE(glob("a?b", "a.b"));
  EXPECT_FALSE(glob("a?b", "ab"));
  EXPECT_TRUE(glob("host-??", "host-42"));
  EXPECT_FALSE(glob("host-??", "host-4"));
}

TEST(path_glob, case_insensitive_both_ways) {
  EXPECT_TRUE(glob(R"(C:\WINDOWS\TEMP\**)", R"(c:\windows\temp\a.exe)"));
  EXPECT_TRUE(glob(R"(c:\windows\temp\**)", R"(C:\WINDOWS\TEMP\A.EXE)"));
  EXPECT_TRUE(glob("STG-*", "stg-web-01"));
  EXPECT_FALSE(glob(R"(c:\windows\temp\**)", R"(c:\windows\tmp\a.exe)"));
}

TEST(path_glob, forward_slashes_in_pattern_or_path) {
  EXPECT_TRUE(glob("**/users/*/downloads/**", R"(C:\Users\bob\Downloads\x.exe)"));
  EXPECT_TRUE(glob(R"(**\Users\*\Downloads\**)", "C:/Users/bob/Downloads/x.exe"));
  EXPECT_TRUE(glob(R"(**\Users\*\Downloads\**)", R"(C:\Users/bob\Downloads/x.exe)"));  // mixed
  EXPECT_EQ(path_glob(R"(C:/Program Files/**)").pattern(), R"(c:\program files\**)");
}

TEST(path_glob, empty_patterns_never_match) {
  EXPECT_FALSE(path_glob("").matches(""));
  EXPECT_FALSE(path_glob("").matches(R"(C:\x.exe)"));
  EXPECT_FALSE(path_glob().matches(R"(C:\x.exe)"));
  const path_glob_set none;
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.matches(R"(C:\x.exe)"));
}

TEST(path_glob, a_set_matches_when_any_pattern_does) {
  const path_glob_set set({R"(C:\a\*)", R"(D:\b\**)"});
  EXPECT_FALSE(set.empty());
  EXPECT_THAT(set.globs(), SizeIs(2));
  EXPECT_TRUE(set.matches(R"(C:\a\x)"));
  EXPECT_TRUE(set.matches(R"(D:\b\c\d)"));
  EXPECT_FALSE(set.matches(R"(C:\a\c\d)"));
  EXPECT_FALSE(set.matches(""));
}

TEST(path_glob, device_and_extended_paths_match_through_a_leading_double_star) {
  const path_glob temp(R"(**\users\*\appdata\local\temp\**)");
  EXPECT_TRUE(temp.matches(R"(C:\Users\bob\AppData\Local\Temp\x.exe)"));
  EXPECT_TRUE(temp.matches(R"(\Device\HarddiskVolume3\Users\bob\AppData\Local\Temp\a\b.dll)"));
  EXPECT_TRUE(temp.matches(R"(\\?\C:\Users\bob\AppData\Local\Temp\x.exe)"));
  EXPECT_FALSE(temp.matches(R"(\Device\HarddiskVolume3\Users\bob\AppData\Local\x.exe)"));
}

TEST(path_glob, shipped_user_writable_paths_match_user_folders) {
  ASSERT_FALSE(user_writable().empty());
  for (const std::string_view path : {
           R"(C:\Users\alice\Downloads\setup.exe)",
           R"(C:\Users\alice\Downloads\nested\deeper\setup.exe)",
           R"(C:\Users\alice\Desktop\tool.exe)",
           R"(C:\Users\alice\AppData\Local\Temp\7zS4A12\setup.exe)",
           R"(C:\Users\alice\AppData\Local\Programs\Kestrel\kestrel.exe)",
           R"(C:\Users\alice\AppData\Roaming\Kestrel\update.exe)",
           R"(C:\Users\alice\AppData\LocalLow\Sun\Java\x.exe)",
           R"(C:\Users\Public\Libraries\lib.dll)",
           R"(C:\ProgramData\Kestrel\agent.exe)",
           R"(C:\Windows\Temp\drop.exe)",
           R"(C:\$Recycle.Bin\S-1-5-21-1004336348-1177238915-682003330-1001\$R0AB12.exe)",
           R"(c:\users\ALICE\downloads\SETUP.EXE)",
           R"(\Device\HarddiskVolume4\Users\alice\AppData\Local\Temp\x.dll)",
           "C:/Users/alice/Desktop/tool.exe",
       }) {
    EXPECT_TRUE(user_writable().matches(path)) << path;
  }
}

TEST(path_glob, shipped_user_writable_paths_leave_system_and_program_folders_alone) {
  for (const std::string_view path : {
           R"(C:\Program Files\Kestrel\agent.exe)",
           R"(C:\Program Files (x86)\Kestrel\agent.exe)",
           R"(C:\Windows\System32\svchost.exe)",
           R"(C:\Windows\Tempest\x.exe)",                       // not Windows\Temp
           R"(C:\Users\alice\AppData\Localx\y.exe)",            // not AppData\Local
           R"(C:\ProgramData\Kestrel\bin\agent.exe)",           // deeper than the top level
           R"(C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe)",
           R"(C:\Users\Downloads.exe)",
       }) {
    EXPECT_FALSE(user_writable().matches(path)) << path;
  }
}

TEST(path_glob, shipped_system_folders) {
  ASSERT_FALSE(system_folders().empty());
  for (const std::string_view path : {
           R"(C:\Windows\System32\drivers\etc\x.sys)", R"(D:\Windows\SysWOW64\x.dll)",
           R"(C:\Windows\WinSxS\amd64_x\y.dll)", R"(C:\Windows\Microsoft.NET\Framework64\v4.0.30319\csc.exe)",
           R"(C:\Program Files\Kestrel\agent.exe)", R"(C:\Program Files (x86)\Kestrel\agent.exe)",
           R"(\Device\HarddiskVolume3\Windows\System32\x.dll)",
           R"(\Device\HarddiskVolume12\Program Files (x86)\Kestrel\agent.exe)",
       }) {
    EXPECT_TRUE(system_folders().matches(path)) << path;
  }
  for (const std::string_view path : {
           R"(C:\Users\alice\Program Files\fake.exe)",  // anchored at the drive
           R"(C:\Windows\Temp\x.exe)", R"(C:\Program Filesx\a.exe)", R"(C:\Tools\a.exe)",
       }) {
    EXPECT_FALSE(system_folders().matches(path)) << path;
  }
}

TEST(path_glob, many_stars_on_a_long_path_do_not_blow_up) {
  // Backtracking matchers take exponential time on these; the answer must still be right.
  std::string star_pattern;
  for (int i = 0; i < 40; ++i) star_pattern += "*a";
  star_pattern += "*b";
  const std::string as(5000, 'a');
  EXPECT_FALSE(glob(star_pattern, as));
  EXPECT_TRUE(glob(star_pattern, as + "b"));

  std::string cross_pattern;
  for (int i = 0; i < 40; ++i) cross_pattern += R"(**\a)";
  cross_pattern += R"(**\b)";
  std::string deep;
  for (int i = 0; i < 1500; ++i) deep += R"(\a)";
  EXPECT_FALSE(glob(cross_pattern, deep));
  EXPECT_TRUE(glob(cross_pattern, deep + R"(\b)"));

  std::string long_path = R"(\Device\HarddiskVolume3\Users\alice\AppData\Local\Temp)";
  for (int i = 0; i < 200; ++i) long_path += R"(\nested)";
  EXPECT_TRUE(user_writable().matches(long_path + R"(\x.exe)"));
  EXPECT_FALSE(system_folders().matches(long_path + R"(\x.exe)"));
}

}  // namespace
}  // namespace countersign::rules
