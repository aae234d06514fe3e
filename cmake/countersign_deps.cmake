# Third-party dependencies, all from Debian 12 packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)   # no CMake config in Debian
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)           # Sigma |re modifier
pkg_check_modules(EVTX REQUIRED IMPORTED_TARGET libevtx)      # .evtx files (replay, inspect)
find_package(simdjson CONFIG REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
find_package(civetweb CONFIG REQUIRED)   # the HTTP server prometheus-cpp's exposer is built on
find_package(yaml-cpp CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(Threads REQUIRED)
if(COUNTERSIGN_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
if(COUNTERSIGN_BUILD_BENCH)
  find_package(benchmark CONFIG REQUIRED)
endif()
