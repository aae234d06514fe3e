# Compiler flags shared by every target of the project, applied through an
# interface library so that third-party code is never built with -Werror.
add_library(countersign_compile_options INTERFACE)
target_compile_options(countersign_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
# simdjson turns its development checks on in any translation unit compiled without
# optimization, and they add members to its parser and document classes: test code at -O0
# (tests/CMakeLists.txt, sanitizer builds) against libraries at -O1 then saw another
# layout of the objects they share (heap-use-after-free under ASan). One value for every
# unit of a build: on in Debug builds, off otherwise.
target_compile_definitions(countersign_compile_options INTERFACE
  SIMDJSON_DEVELOPMENT_CHECKS=$<IF:$<CONFIG:Debug>,1,0>)
# GCC 12 reports -Wrestrict false positives inside libstdc++'s std::string operator+
# at -O2/-O3 (GCC bug 105329); the warning stays on for other compilers.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(countersign_compile_options INTERFACE -Wno-restrict)
endif()
# Flow-sensitive warnings for the product code only. Test programs (the targets
# tests/CMakeLists.txt marks COUNTERSIGN_TEST_CODE) inline libstdc++ and GoogleTest
# templates into long test bodies, where GCC 12 reports false positives by the dozen
# (`v.front()` after ASSERT_EQ(v.size(), 1), std::istreambuf_iterator, std::string
# members, the allocation-counting operator new/delete some tests define; -Warray-bounds
# and -Wstringop-overflow in std::string operator+, which GCC 12 reports once the
# standard headers come from the tests' precompiled headers).
set(countersign_test_code "$<BOOL:$<TARGET_PROPERTY:COUNTERSIGN_TEST_CODE>>")
target_compile_options(countersign_compile_options INTERFACE
  $<$<NOT:${countersign_test_code}>:-Wnull-dereference>)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(countersign_compile_options INTERFACE
    $<${countersign_test_code}:-Wno-maybe-uninitialized -Wno-mismatched-new-delete -Wno-array-bounds
    -Wno-stringop-overflow>)
endif()
# librdkafka's RD_KAFKA_V_* macros are GNU statement expressions, which clang's -Wpedantic
# reports at every use.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_options(countersign_compile_options INTERFACE -Wno-gnu-statement-expression-from-macro-expansion)
endif()
if(COUNTERSIGN_WERROR)
  target_compile_options(countersign_compile_options INTERFACE -Werror)
endif()
if(COUNTERSIGN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COUNTERSIGN_FUZZ needs clang (libFuzzer); scripts/fuzz.sh sets it up")
  endif()
  set(COUNTERSIGN_SANITIZE ON)
  # Coverage for libFuzzer in every library (the fuzzer's main is linked into its target
  # only); not in test programs, which the fuzzer never runs.
  target_compile_options(countersign_compile_options INTERFACE
    $<$<NOT:${countersign_test_code}>:-fsanitize=fuzzer-no-link>)
  # libstdc++ 12 hides std::expected from clang < 19, whose __cpp_concepts is still
  # 201907 although clang 16 implements what <expected> needs (P0848).
  target_compile_options(countersign_compile_options INTERFACE
    -D__cpp_concepts=202002L -Wno-macro-redefined -Wno-builtin-macro-redefined)
endif()
if(COUNTERSIGN_SANITIZE)
  target_compile_options(countersign_compile_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(countersign_compile_options INTERFACE -fsanitize=address,undefined)
endif()
