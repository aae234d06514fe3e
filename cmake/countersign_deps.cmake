# Third-party dependencies, all from Debian 12 packages (scripts/setup.sh installs them),
# except librdkafka: Debian trixie's source package built on bookworm by scripts/setup.sh
# into .cache/librdkafka-<Debian version> (bookworm's 2.0.2 cannot log in to Kafka 4 with
# SCRAM; docs/dependencies.md).
find_package(PkgConfig REQUIRED)

# The version setup.sh builds is pinned in scripts/lib/common.sh; read it from there so
# that the two cannot disagree.
file(STRINGS "${PROJECT_SOURCE_DIR}/scripts/lib/common.sh" countersign_rdkafka_pin
     REGEX "^RDKAFKA_DEB_VERSION=[0-9A-Za-z.+~-]+$")
string(REGEX REPLACE "^RDKAFKA_DEB_VERSION=" "" countersign_rdkafka_pin "${countersign_rdkafka_pin}")
if(NOT countersign_rdkafka_pin)
  message(FATAL_ERROR "no RDKAFKA_DEB_VERSION=<version> line in scripts/lib/common.sh")
endif()
set(COUNTERSIGN_RDKAFKA_PREFIX "${PROJECT_SOURCE_DIR}/.cache/librdkafka-${countersign_rdkafka_pin}"
    CACHE STRING "librdkafka install prefix (scripts/setup.sh builds it there); 'system' \
for the distribution's package through pkg-config (bookworm: 2.0.2, no SCRAM with Kafka 4)")
# pkg_check_modules caches its result and the library path it found: look again when the
# prefix changes (a build dir configured before the switch from Debian's 2.0.2 too).
if(NOT "${COUNTERSIGN_RDKAFKA_PREFIX}" STREQUAL "${countersign_rdkafka_prefix_checked}")
  unset(__pkg_config_checked_RDKAFKA CACHE)
  unset(pkgcfg_lib_RDKAFKA_rdkafka CACHE)
  set(countersign_rdkafka_prefix_checked "${COUNTERSIGN_RDKAFKA_PREFIX}" CACHE INTERNAL "")
endif()
if(COUNTERSIGN_RDKAFKA_PREFIX STREQUAL "system")
  pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)   # no CMake config in Debian
  if(RDKAFKA_VERSION VERSION_LESS 2.6.1)
    message(WARNING "librdkafka ${RDKAFKA_VERSION} from the system: SCRAM logins to Kafka 4 "
                    "brokers fail with it (fixed in 2.6.1)")
  endif()
else()
  if(NOT EXISTS "${COUNTERSIGN_RDKAFKA_PREFIX}/.complete")
    message(FATAL_ERROR "no librdkafka in ${COUNTERSIGN_RDKAFKA_PREFIX}: run scripts/setup.sh "
                        "(or scripts/setup.sh --librdkafka-only), or set COUNTERSIGN_RDKAFKA_PREFIX")
  endif()
  # Only this prefix's rdkafka.pc; its private dependencies (libssl, zstd, ...) still come
  # from the system's pkg-config dirs. The library is linked by its full path, so CMake
  # gives the binaries a RUNPATH to the prefix.
  set(countersign_saved_pkg_config_path "$ENV{PKG_CONFIG_PATH}")
  set(ENV{PKG_CONFIG_PATH} "${COUNTERSIGN_RDKAFKA_PREFIX}/lib/pkgconfig")
  pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka>=2.6.1)
  set(ENV{PKG_CONFIG_PATH} "${countersign_saved_pkg_config_path}")
  file(REAL_PATH "${RDKAFKA_PREFIX}" countersign_rdkafka_found)
  file(REAL_PATH "${COUNTERSIGN_RDKAFKA_PREFIX}" countersign_rdkafka_wanted)
  string(FIND "${RDKAFKA_LINK_LIBRARIES}" "${countersign_rdkafka_wanted}/" countersign_rdkafka_at)
  if(NOT countersign_rdkafka_found STREQUAL countersign_rdkafka_wanted OR NOT countersign_rdkafka_at EQUAL 0)
    message(FATAL_ERROR "librdkafka found in '${RDKAFKA_PREFIX}' (${RDKAFKA_LINK_LIBRARIES}), "
                        "not in ${COUNTERSIGN_RDKAFKA_PREFIX}")
  endif()
endif()
message(STATUS "librdkafka ${RDKAFKA_VERSION}: ${RDKAFKA_LINK_LIBRARIES}")
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
