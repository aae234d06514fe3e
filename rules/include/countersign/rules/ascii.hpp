#pragma once
// ASCII case folding for names, hex text and Sigma values: the one definition (the Sigma
// engine's sigma::detail::lower_ascii is this). Not std::tolower: that is a call into the
// C library per byte (it was 1.7% of a replay's CPU in the detectors' name lookups), and
// it folds the same way in the "C" locale countersign runs in.

namespace countersign::rules::detail {

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace countersign::rules::detail
