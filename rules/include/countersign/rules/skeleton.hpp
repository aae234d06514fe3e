#pragma once
// Confusable skeletons of names (Unicode TR39 section 4), so that a name that only looks
// like a vendor's ("Micrоsoft" with a Cyrillic о, "Micros0ft", "Micro<U+200B>soft",
// all-caps Greek "ΝΟΚΙΑ") is recognized as a claim to be that vendor. Two names look
// alike when their skeletons are equal. A skeleton is a comparison key, never text to
// show: "Microsoft" becomes "rnlcrosoft".
//
// name_skeleton(x), step by step (ICU's TR39 data, libicu):
//   1. invalid UTF-8 sequences read as U+FFFD (a stray byte must not switch the rest of
//      the name off); only the first k_max_skeleton_input bytes are read;
//   2. Default_Ignorable_Code_Point characters removed: zero-width space, (non-)joiner,
//      word joiner, BOM, soft hyphen, LRM/RLM, bidi embeddings, overrides and isolates,
//      variation selectors, Hangul fillers, tags;
//   3. NFKC: fullwidth "Ｍｉｃｒｏｓｏｆｔ", mathematical "𝐌𝐢𝐜𝐫𝐨𝐬𝐨𝐟𝐭", ligatures, which
//      TR39's table (applied to NFD) leaves alone;
//   4. the TR39 skeleton, then case folding, then the skeleton and case folding again:
//      the first skeleton reads letters in the case they are shown in (a Cyrillic
//      capital М looks like M, its lowercase м does not look like m), the fold makes case
//      irrelevant, and the second skeleton applies what only lowercase letters map to
//      ("M" folds to "m", which TR39 maps to "rn");
//   5. 'i' written as 'l'. TR39 maps capital I, digit 1 and '|' to lowercase l, but not
//      i; compared case-insensitively "MICROSOFT" (I -> l) and "microsoft" must agree,
//      so i and l are one letter here. The price: names that differ only in i/l
//      ("Mill", "Mili") look alike.
// The result is lowercase ASCII wherever the prototype is ASCII; other characters stay
// UTF-8 (in NFD, as TR39 leaves them). When ICU fails (no confusables data, out of
// memory) the result is the input with ASCII letters lowercased. Never throws.
//
// TR39 (Unicode 15.0, ICU 72) maps these ASCII characters, and no others: 0 -> O,
// 1 -> l, I -> l, | -> l, m -> rn, ` -> ', " -> '', % -> º/₀. So "Micr0s0ft", "M1crosoft",
// "MICR0SOFT" and "Rnicrosoft" all look like "Microsoft"; 5/S, 3/E, 8/B, vv/w and cl/d
// are not TR39 look-alikes and stay apart.
//
// Pure-ASCII input takes a table (no ICU call) that gives exactly ICU's result
// (tests/rules/skeleton_test.cpp compares them); other input uses a spoof checker made
// once per thread, behind a per-thread cache of recent names (names repeat, ICU costs
// microseconds).

#include <cstddef>
#include <string>
#include <string_view>

namespace countersign::rules {

// Bytes of a name that name_skeleton reads (cut back to a character boundary). Unicode
// normalization sorts a run of combining marks in quadratic time: 64 KiB of them takes
// ICU ~0.4 s per pass. No vendor name comes near this length.
inline constexpr std::size_t k_max_skeleton_input = 512;

[[nodiscard]] std::string name_skeleton(std::string_view utf8);

// The same into `out` (replaced), reusing its capacity: no allocation once it is large
// enough.
void name_skeleton(std::string_view utf8, std::string& out);

// A PE company or signer name as normalize_company reduces it (keys.hpp), compared by
// skeleton: normalize_company of the text, its skeleton, and normalize_company again.
// The first pass drops legal forms while they are still plain words ("Corporation"'s
// skeleton is "corporatlon", which normalize_company would keep); the second splits
// what the skeleton turned into separators (fullwidth punctuation, ideographic space)
// and drops legal forms that only the skeleton reveals ("C0rp", "Cоrp" -> "corp").
// "Micrоsoft Corporation", "MICROS0FT CORP." and "Microsoft" all give "rnlcrosoft".
// A legal form disguised with i or m ("Cоrporation") stays as a token.
[[nodiscard]] std::string normalize_company_skeleton(std::string_view company);

namespace detail {
// The skeleton computed by ICU alone, also for ASCII input and for the second pass: the
// reference the ASCII table is tested against. Slower; not for the event path.
void name_skeleton_icu(std::string_view utf8, std::string& out);
}  // namespace detail

}  // namespace countersign::rules
