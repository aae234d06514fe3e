#pragma once
#include <string_view>
namespace countersign::processor {
// Set by CMake from the project version.
inline constexpr std::string_view k_version = COUNTERSIGN_VERSION;
}  // namespace countersign::processor
