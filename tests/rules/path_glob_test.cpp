// Windows path patterns (rules/src/path_glob.cpp): `*` within one folder, `**` across
// folders, `?` one non-separator character, case-insensitive, either separator; and the
// shipped folder lists of rules/content/user_writable_paths.yaml on realistic paths.
// Then the canonical form paths are matched in, and the spellings attackers use to slip
// past a folder test, against both roles of a set: `exempt` (system folders,
// exclusions) and `suspect` (user-writable folders).

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
namespace path_glob_test {  // one per file: the test programs are unity builds
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

// The user-writable list as the rare-user-path detector should hold it.
const path_glob_set& user_writable_suspect() {
  static const path_glob_set set(shipped("user_writable_paths"), glob_role::suspect);
  return set;
}

std::string canonical(std::string_view path) { return std::string(canonicalize_path(path).folded); }
bool mock(std::string_view path) { return canonicalize_path(path).mock_segment; }
bool unresolved(std::string_view path) { return canonicalize_path(path).unresolved_short_name; }

std::string repeat(std::string_view piece, std::size_t times) {
  std::string out;
  out.reserve(piece.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
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

TEST(path_glob_canonical, namespace_prefixes_are_removed) {
  EXPECT_EQ(canonical(R"(\\?\C:\Users\bob\x.exe)"), R"(c:\users\bob\x.exe)");
  EXPECT_EQ(canonical("//?/C:/Users/bob/x.exe"), R"(c:\users\bob\x.exe)");
  EXPECT_EQ(canonical(R"(\??\C:\Windows\x.dll)"), R"(c:\windows\x.dll)");
  EXPECT_EQ(canonical(R"(\\.\C:\x.exe)"), R"(c:\x.exe)");
  EXPECT_EQ(canonical(R"(\GLOBAL??\C:\x.exe)"), R"(c:\x.exe)");
  EXPECT_EQ(canonical(R"(\\?\UNC\srv\share\x.exe)"), R"(\\srv\share\x.exe)");
  EXPECT_EQ(canonical(R"(\??\UNC\srv\share\x.exe)"), R"(\\srv\share\x.exe)");
  EXPECT_EQ(canonical(R"(\\?\GLOBALROOT\Device\HarddiskVolume3\Windows\x.dll)"), R"(\device\harddiskvolume3\windows\x.dll)");
  EXPECT_EQ(canonical(R"(\\?\GLOBALROOT\??\C:\x.exe)"), R"(c:\x.exe)");
  EXPECT_EQ(canonical(R"(\Device\HarddiskVolume3\Windows\x.dll)"), R"(\device\harddiskvolume3\windows\x.dll)");
  EXPECT_EQ(canonical(R"(\\srv\share\x.exe)"), R"(\\srv\share\x.exe)");  // a UNC path keeps its `\\`
  EXPECT_FALSE(mock(R"(\\?\C:\Users\bob\x.exe)"));
  EXPECT_FALSE(unresolved(R"(\\?\C:\Users\bob\x.exe)"));
}

TEST(path_glob_canonical, separators_collapse_and_dot_segments_resolve_never_above_the_root) {
  EXPECT_EQ(canonical(R"(C:\\Users\\\bob\.\x.exe)"), R"(c:\users\bob\x.exe)");
  EXPECT_EQ(canonical(R"(C:/Users//bob/./x.exe)"), R"(c:\users\bob\x.exe)");
  EXPECT_EQ(canonical(R"(\\srv\\share\\x.exe)"), R"(\\srv\share\x.exe)");
  EXPECT_EQ(canonical(R"(C:\Users\bob\AppData\Local\Temp\..\..\Roaming\x.exe)"), R"(c:\users\bob\appdata\roaming\x.exe)");
  EXPECT_EQ(canonical(R"(C:\a\b\..\..\..\..\x.exe)"), R"(c:\x.exe)");
  EXPECT_EQ(canonical(R"(\\srv\share\..\..\x.exe)"), R"(\\srv\share\x.exe)");
  EXPECT_EQ(canonical(R"(\Device\HarddiskVolume3\..\Windows\x.dll)"), R"(\device\harddiskvolume3\windows\x.dll)");
  EXPECT_EQ(canonical(R"(\a\..\..\x.exe)"), R"(\x.exe)");
  // Without a root there is no telling what `..` leaves: it stays.
  EXPECT_EQ(canonical(R"(a\..\..\b\x.exe)"), R"(..\b\x.exe)");
  EXPECT_EQ(canonical(R"(..\..\a\..\x.exe)"), R"(..\..\x.exe)");
  EXPECT_EQ(canonical(R"(C:\Windows\)"), R"(c:\windows\)");
  EXPECT_EQ(canonical(R"(C:\)"), R"(c:\)");
  EXPECT_EQ(canonical(""), "");
  EXPECT_FALSE(mock(R"(C:\a\.\b\..\x.exe)"));  // `.` and `..` are no disguise
}

TEST(path_glob_canonical, trailing_dots_and_spaces_are_removed_and_mark_a_mock_segment) {
  EXPECT_EQ(canonical(R"(C:\Windows \System32\x.dll)"), R"(c:\windows\system32\x.dll)");
  EXPECT_TRUE(mock(R"(C:\Windows \System32\x.dll)"));
  EXPECT_TRUE(mock(R"(\\?\C:\Windows \System32\x.dll)"));
  EXPECT_EQ(canonical(R"(C:\Windows\System32.\x.dll)"), R"(c:\windows\system32\x.dll)");
  EXPECT_TRUE(mock(R"(C:\Windows\System32.\x.dll)"));
  EXPECT_EQ(canonical(R"(C:\Windows\System32\x.dll. . )"), R"(c:\windows\system32\x.dll)");
  EXPECT_TRUE(mock(R"(C:\Windows\System32\x.dll. . )"));
  EXPECT_EQ(canonical(R"(C:\Windows\...\ \System32\x.dll)"), R"(c:\windows\system32\x.dll)");
  EXPECT_TRUE(mock(R"(C:\Windows\...\System32\x.dll)"));
  EXPECT_FALSE(mock(R"(C:\Windows\System32\x.dll)"));
  EXPECT_FALSE(mock(R"(C:\Program Files\A. B\x.dll)"));  // inner dots and spaces are ordinary
  EXPECT_EQ(canonical(R"(C:\Windows \..\Windows\System32\x.dll)"), R"(c:\windows\system32\x.dll)");
  EXPECT_TRUE(mock(R"(C:\Windows \..\Windows\System32\x.dll)"));  // walked through, still disguised
}

TEST(path_glob_canonical, well_known_short_names_expand_where_their_long_name_is_certain) {
  EXPECT_EQ(canonical(R"(C:\PROGRA~1\Vendor\x.exe)"), R"(c:\program files\vendor\x.exe)");
  EXPECT_EQ(canonical(R"(C:\PROGRA~2\Vendor\x.exe)"), R"(c:\program files (x86)\vendor\x.exe)");
  EXPECT_EQ(canonical(R"(C:\PROGRA~3\Vendor\x.exe)"), R"(c:\programdata\vendor\x.exe)");
  EXPECT_EQ(canonical(R"(\Device\HarddiskVolume3\PROGRA~1\x.exe)"), R"(\device\harddiskvolume3\program files\x.exe)");
  EXPECT_EQ(canonical(R"(C:\Users\bob\APPDAT~1\Local\Temp\x.exe)"), R"(c:\users\bob\appdata\local\temp\x.exe)");
  EXPECT_EQ(canonical(R"(C:\DOCUME~1\bob\LOCALS~1\TEMPOR~1\x.exe)"),
            R"(c:\documents and settings\bob\local settings\temporary internet files\x.exe)");
  EXPECT_EQ(canonical(R"(C:\Users\bob\DOCUME~1\x.exe)"), R"(c:\users\bob\documents\x.exe)");
  EXPECT_EQ(canonical(R"(C:\Users\bob\DOWNLO~1\x.exe)"), R"(c:\users\bob\downloads\x.exe)");
  EXPECT_EQ(canonical(R"(C:\PROGRA~1\WINDOW~1\x.exe)"), R"(c:\program files\windowsapps\x.exe)");
  EXPECT_EQ(canonical(R"(C:\$RECYC~1.BIN\x.exe)"), R"(c:\$recycle.bin\x.exe)");
  EXPECT_EQ(canonical(R"(C:\ProgramData\MICROS~1\x.exe)"), R"(c:\programdata\microsoft\x.exe)");
  EXPECT_FALSE(unresolved(R"(C:\PROGRA~1\WINDOW~1\x.exe)"));
  EXPECT_FALSE(unresolved(R"(C:\Users\bob\APPDAT~1\Local\Temp\x.exe)"));
}

TEST(path_glob_canonical, other_short_names_stay_as_written_and_are_flagged) {
  // PROGRA~1 is Program Files only at the root of a volume, WindowsApps only in Program Files.
  EXPECT_EQ(canonical(R"(C:\Tools\PROGRA~1\x.exe)"), R"(c:\tools\progra~1\x.exe)");
  EXPECT_TRUE(unresolved(R"(C:\Tools\PROGRA~1\x.exe)"));
  EXPECT_TRUE(unresolved(R"(C:\WINDOW~1\x.exe)"));
  EXPECT_EQ(canonical(R"(C:\Users\BOBSMI~1\x.exe)"), R"(c:\users\bobsmi~1\x.exe)");
  EXPECT_TRUE(unresolved(R"(C:\Users\BOBSMI~1\x.exe)"));
  EXPECT_TRUE(unresolved(R"(C:\Users\bob\APPDAT~2\x.exe)"));
  EXPECT_TRUE(unresolved(R"(C:\Temp\SETUP~12.EXE)"));
  EXPECT_TRUE(unresolved(R"(C:\Tools\PROGRA~1.\x.exe)"));  // the trailing dot goes first
  EXPECT_EQ(canonical(R"(C:\PROGRA~1.\x.exe)"), R"(c:\program files\x.exe)");
  for (const std::string_view path : {
           R"(C:\a~\x.exe)",             // no number
           R"(C:\~1\x.exe)",             // no base
           R"(C:\abcdefg~1\x.exe)",      // base longer than 6
           R"(C:\ab~1x\x.exe)",          // not only digits after `~`
           R"(C:\backup~2024-01\x.exe)",
           R"(C:\ab~1.long\x.exe)",      // extension longer than 3
           R"(C:\Users\bob\x.exe)",
       }) {
    EXPECT_FALSE(unresolved(path)) << path;
  }
}

TEST(path_glob_role, sets_are_exempt_unless_told_otherwise) {
  EXPECT_EQ(path_glob_set({"**"}).role(), glob_role::exempt);
  EXPECT_EQ(path_glob_set({"**"}, glob_role::suspect).role(), glob_role::suspect);
  EXPECT_EQ(path_glob_set().role(), glob_role::exempt);
  EXPECT_FALSE(path_glob_set({}, glob_role::suspect).matches(R"(C:\Windows \x.exe)"));  // no patterns, no match
}

TEST(path_glob_role, an_extended_length_prefix_matches_in_both_roles) {
  const std::string_view path = R"(\\?\C:\Users\bob\AppData\Local\Temp\x.exe)";
  EXPECT_TRUE(user_writable_suspect().matches(path));
  EXPECT_TRUE(path_glob_set({R"(?:\Users\*\AppData\Local\Temp\**)"}).matches(path));
  EXPECT_TRUE(path_glob_set({R"(?:\Users\*\AppData\Local\Temp\**)"}, glob_role::suspect).matches(path));
}

TEST(path_glob_role, forward_slashes_match_in_both_roles) {
  const std::string_view path = "C:/Users/bob/AppData/Local/Temp/x.exe";
  EXPECT_TRUE(user_writable_suspect().matches(path));
  EXPECT_TRUE(path_glob_set({R"(?:\Users\*\AppData\Local\Temp\**)"}).matches(path));
}

TEST(path_glob_role, a_well_known_short_name_matches_in_both_roles) {
  const std::string_view path = R"(C:\Users\bob\APPDAT~1\Local\Temp\x.exe)";
  EXPECT_TRUE(user_writable_suspect().matches(path));
  EXPECT_TRUE(user_writable().matches(path));
  EXPECT_TRUE(path_glob_set({R"(?:\Users\*\AppData\Local\Temp\**)"}).matches(path));
  // C:\PROGRA~1 is Program Files: a system folder, not a user-writable one.
  EXPECT_TRUE(system_folders().matches(R"(C:\PROGRA~1\Vendor\x.exe)"));
  EXPECT_TRUE(system_folders().matches(R"(C:\PROGRA~2\Vendor\x.exe)"));
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\PROGRA~1\Vendor\x.exe)"));
}

TEST(path_glob_role, an_unresolved_short_name_is_suspect_through_the_patterns_words_never_exempt) {
  const std::string_view path = R"(C:\Users\BOBSMI~1\APPDAT~2\Roaming\x.dll)";
  EXPECT_TRUE(user_writable_suspect().matches(path));  // APPDAT~2 read as AppData
  EXPECT_TRUE(user_writable_suspect().matches(R"(C:\Users\bob\AppData\LOCALL~1\Sun\x.exe)"));
  EXPECT_TRUE(user_writable_suspect().matches(R"(C:\Users\bob\DOWNLO~2\x.exe)"));
  EXPECT_TRUE(user_writable_suspect().matches(R"(C:\$RECYC~2.BIN\S-1-5-21\x.exe)"));
  // Today's exempt reading of the same list (a match that would quiet things) refuses it.
  EXPECT_FALSE(user_writable().matches(path));
  EXPECT_FALSE(path_glob_set({R"(**\Users\*\*\Roaming\**)"}).matches(path));
  EXPECT_FALSE(system_folders().matches(R"(C:\Program Files\VENDOR~1\x.exe)"));
  EXPECT_FALSE(path_glob_set({R"(?:\Tools\**)"}).matches(R"(C:\Tools\PROGRA~1\x.exe)"));
  // A short name the patterns have no word for is no reason by itself.
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\Tools\ZZTOOL~1\x.exe)"));
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\Users\bob\APPDAT~2\Elsewhere\x.exe)"));
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\Users\bob\AppData\LOCALL~1.EXE\x.exe)"));  // no extension in LocalLow
  // A short user name under a user folder matches as written, through `*`.
  EXPECT_TRUE(user_writable_suspect().matches(R"(C:\Users\BOBSMI~1\Downloads\x.exe)"));
}

TEST(path_glob_role, every_combination_of_readings_is_tried) {
  // VENDOR~1 and VENDOR~2 may each be VendorA or VendorB: only A then B is the folder.
  const path_glob_set set({R"(**\VendorA\VendorB\**)", R"(**\VendorB\Other\**)"}, glob_role::suspect);
  EXPECT_TRUE(set.matches(R"(C:\VENDOR~1\VENDOR~2\x.exe)"));
  EXPECT_TRUE(set.matches(R"(C:\VendorA\VENDOR~2\x.exe)"));
  EXPECT_FALSE(set.matches(R"(C:\VENDOR~1\VendorA\x.exe)"));
  EXPECT_TRUE(set.matches(R"(C:\VENDOR~1\OTHER~1\x.exe)"));
  EXPECT_FALSE(set.matches(R"(C:\VENDOR~1\x\VENDOR~2\x.exe)"));  // 9 readings, none of them a folder of the set
}

TEST(path_glob_role, past_64_readings_a_short_name_counts_as_suspect) {
  std::vector<std::string> patterns;
  for (char c = 'a'; c <= 'j'; ++c) patterns.push_back(std::string(R"(**\Vendor)") + c + R"(\Only-Here\**)");
  const path_glob_set ten(patterns, glob_role::suspect);
  EXPECT_FALSE(ten.matches(R"(C:\VENDOR~1\x.exe)"));  // 11 readings, tried, none matches
  EXPECT_TRUE(ten.matches(R"(C:\VENDOR~1\VENDOR~2\x.exe)"));  // 121: not tried
  EXPECT_FALSE(path_glob_set(patterns).matches(R"(C:\VENDOR~1\VENDOR~2\x.exe)"));

  for (char c = 'k'; c <= 'z'; ++c) patterns.push_back(std::string(R"(**\Vendor)") + c + R"(\Only-Here\**)");
  for (char c = 'a'; c <= 'z'; ++c) patterns.push_back(std::string(R"(**\Vendor_)") + c + R"(\Only-Here\**)");
  for (char c = 'a'; c <= 'z'; ++c) patterns.push_back(std::string(R"(**\Vendor-)") + c + R"(\Only-Here\**)");
  EXPECT_TRUE(path_glob_set(patterns, glob_role::suspect).matches(R"(C:\VENDOR~1\x.exe)"));  // 79 words for one name
}

TEST(path_glob_role, a_mock_trusted_directory_is_never_exempt_and_always_suspect) {
  for (const std::string_view path : {
           R"(C:\Windows \System32\x.dll)",
           R"(\\?\C:\Windows \System32\x.dll)",
           R"(C:\Windows\System32.\x.dll)",
           R"(C:\Program Files \Vendor\x.exe)",
       }) {
    EXPECT_FALSE(system_folders().matches(path)) << path;
    EXPECT_TRUE(user_writable_suspect().matches(path)) << path;
    EXPECT_TRUE(path_glob(R"(?:\Windows\System32\**)").matches(path) || path_glob(R"(?:\Program Files\**)").matches(path))
        << path;  // the canonical form alone would pass as a system folder
  }
  EXPECT_TRUE(system_folders().matches(R"(C:\Windows\System32\x.dll)"));
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\Windows\System32\x.dll)"));
}

TEST(path_glob_role, dot_dot_segments_are_resolved_before_matching) {
  const std::string_view roaming = R"(C:\Users\bob\AppData\Local\Temp\..\..\Roaming\x.exe)";
  EXPECT_TRUE(user_writable_suspect().matches(roaming));
  EXPECT_TRUE(path_glob_set({R"(?:\Users\*\AppData\Roaming\**)"}).matches(roaming));
  EXPECT_FALSE(path_glob_set({R"(?:\Users\*\AppData\Local\Temp\**)"}).matches(roaming));

  const std::string_view escape = R"(C:\Windows\System32\..\..\Users\bob\Downloads\x.exe)";
  EXPECT_FALSE(system_folders().matches(escape));  // `**` would have crossed the `..` and called it System32
  EXPECT_TRUE(user_writable_suspect().matches(escape));
  EXPECT_TRUE(user_writable().matches(escape));
}

TEST(path_glob_role, unc_paths_through_the_extended_prefix) {
  const path_glob_set share({R"(\\srv\share\**)"});
  const path_glob_set share_suspect({R"(\\srv\share\**)"}, glob_role::suspect);
  for (const std::string_view path : {
           R"(\\?\UNC\srv\share\x.exe)", R"(\??\UNC\srv\share\x.exe)", R"(//srv/share/x.exe)",
           R"(\\srv\\share\x.exe)", R"(\\?\UNC\srv\share\..\..\x.exe)",
       }) {
    EXPECT_TRUE(share.matches(path)) << path;
    EXPECT_TRUE(share_suspect.matches(path)) << path;
  }
  EXPECT_FALSE(share.matches(R"(\\?\UNC\srv\other\x.exe)"));
  EXPECT_FALSE(share_suspect.matches(R"(\\?\UNC\srv\other\x.exe)"));
}

TEST(path_glob_role, one_canonical_path_serves_several_sets) {
  const canonical_path path = canonicalize_path(R"(C:\Windows\System32\..\Temp\x.exe)");
  EXPECT_EQ(path.folded, R"(c:\windows\temp\x.exe)");
  EXPECT_FALSE(system_folders().matches_canonical(path));
  EXPECT_TRUE(user_writable_suspect().matches_canonical(path));
  EXPECT_TRUE(user_writable().matches_canonical(path));
}

TEST(path_glob_role, matches_folded_is_left_to_the_callers_spelling) {
  const path_glob system32(R"(?:\Windows\System32\**)");
  EXPECT_TRUE(system32.matches_folded(R"(c:\windows\system32\..\..\users\x.exe)"));
  EXPECT_FALSE(system32.matches(R"(c:\windows\system32\..\..\users\x.exe)"));
  EXPECT_TRUE(system32.matches_folded(canonicalize_path(R"(\\?\C:\Windows\System32\x.dll)").folded));
}

TEST(path_glob_role, hostile_paths_stay_bounded_and_decided) {
  const std::string up = R"(C:\Windows\System32\)" + repeat(R"(..\)", 22000) + "x.dll";
  EXPECT_EQ(canonical(up), R"(c:\x.dll)");
  EXPECT_FALSE(system_folders().matches(up));

  const std::string relative_up = repeat(R"(..\)", 22000) + "x.dll";
  EXPECT_EQ(canonical(relative_up).size(), 22000 * 3 + 5);

  // Every segment could be AppData (a reading per segment): far past 64 readings, suspect
  // without trying them; never exempt.
  const std::string shorts = R"(C:\Users\bob\)" + repeat(R"(APPDA~1\)", 8000) + "x.exe";
  EXPECT_TRUE(unresolved(shorts));
  EXPECT_TRUE(user_writable_suspect().matches(shorts));
  EXPECT_FALSE(user_writable().matches(shorts));
  EXPECT_FALSE(system_folders().matches(shorts));

  // Short names nobody's words fit multiply nothing: decided on the path as written.
  const std::string unknown = R"(C:\Tools\)" + repeat(R"(ZZ~1\)", 12000) + "x.exe";
  EXPECT_FALSE(user_writable_suspect().matches(unknown));
  EXPECT_TRUE(user_writable_suspect().matches(R"(C:\Users\bob\Downloads\)" + repeat(R"(ZZ~1\)", 12000) + "x.exe"));

  // Two readable short names (2 x 2 readings) on a path too long to try them all; on a
  // short path the same readings are tried, and none is a user folder.
  EXPECT_FALSE(user_writable_suspect().matches(R"(C:\Tools\APPDAT~2\LOCALL~2\x.exe)"));
  const std::string long_readings = R"(C:\Tools\APPDAT~2\LOCALL~2\)" + repeat(R"(a\)", 40000) + "x.exe";
  EXPECT_TRUE(user_writable_suspect().matches(long_readings));

  const std::string window_pops = R"(C:\)" + std::string(60000, 'A') + repeat(R"(\WINDOW~1\..)", 5000) + R"(\x.exe)";
  EXPECT_EQ(canonical(window_pops).size(), 3 + 60000 + 6);

  const std::string prefixes = repeat(R"(\\?\)", 16000) + R"(C:\Windows\System32\x.dll)";
  EXPECT_EQ(canonical(prefixes), R"(c:\windows\system32\x.dll)");

  const std::string spaces = R"(C:\Windows)" + std::string(64000, ' ') + R"(\System32\x.dll)";
  EXPECT_TRUE(mock(spaces));
  EXPECT_FALSE(system_folders().matches(spaces));
  EXPECT_TRUE(user_writable_suspect().matches(spaces));

  const std::string slashes = "C:" + std::string(64000, '/') + "Windows" + std::string(64000, '\\') + R"(System32\x.dll)";
  EXPECT_EQ(canonical(slashes), R"(c:\windows\system32\x.dll)");

  const std::string dots = R"(C:\)" + repeat(R"(.\)", 30000) + "x.exe";
  EXPECT_EQ(canonical(dots), R"(c:\x.exe)");

  const std::string tildes = R"(C:\)" + std::string(64000, '~') + R"(\x.exe)";
  EXPECT_FALSE(unresolved(tildes));
  EXPECT_FALSE(user_writable_suspect().matches(tildes));
}

}  // namespace
}  // namespace path_glob_test
}  // namespace countersign::rules
