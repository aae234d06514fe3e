// Confusable skeletons (rules/src/skeleton.cpp): look-alike spellings of vendor names
// share the vendor's skeleton, different vendors keep different ones, the ASCII table
// gives exactly what ICU gives, and hostile input neither crashes nor stalls.

#include <countersign/rules/keys.hpp>
#include <countersign/rules/skeleton.hpp>
#include <countersign/rules/vendor_identity.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace countersign::rules {
namespace skeleton_test {  // one per file: the test programs are unity builds
namespace {

std::string icu(std::string_view s) {
  std::string out;
  detail::name_skeleton_icu(s, out);
  return out;
}

// Printable escapes, so that a failure shows which bytes differ.
std::string visible(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F) {
      out.push_back(c);
    } else {
      static constexpr char k_hex[] = "0123456789ABCDEF";
      out += "\\x";
      out.push_back(k_hex[b >> 4]);
      out.push_back(k_hex[b & 0xF]);
    }
  }
  return out;
}

TEST(skeleton, homoglyphs_from_other_scripts_give_microsofts_skeleton) {
  const std::string microsoft = name_skeleton("Microsoft");
  EXPECT_EQ(microsoft, "rnlcrosoft");
  for (const std::string_view lookalike : {
           "\u041Cicrosoft",                                               // Cyrillic capital М
           "Micr\u043Esoft",                                               // Cyrillic о
           "Micr\u03BFsoft",                                               // Greek ο
           "\u041C\u0456\u0441r\u043E\u0455\u043Eft",                       // Cyrillic М і с о ѕ о
           "\uFF2D\uFF49\uFF43\uFF52\uFF4F\uFF53\uFF4F\uFF46\uFF54",       // fullwidth
           "\U0001D40C\U0001D422\U0001D41C\U0001D42B\U0001D428\U0001D42C"  // mathematical bold
           "\U0001D428\U0001D41F\U0001D42D",
           "\u041C\u0406\u0421R\u041E\u0405\u041EFT",                       // all-caps Cyrillic М І С О Ѕ О
       }) {
    EXPECT_EQ(name_skeleton(lookalike), microsoft) << visible(lookalike);
  }
}

TEST(skeleton, google_with_cyrillic_o_is_google) {
  EXPECT_EQ(name_skeleton("G\u043Eogle"), name_skeleton("Google"));
  EXPECT_EQ(name_skeleton("G\u043E\u043Egle"), name_skeleton("Google"));
  EXPECT_EQ(name_skeleton("G\u043E\u043Egle"), "google");
}

// TR39 maps 0 -> O, 1 -> l, I -> l, | -> l and m -> rn among ASCII letters and digits
// (plus i -> l here, for case-insensitivity).
TEST(skeleton, digits_and_letters_tr39_maps_look_alike) {
  for (const std::string_view lookalike :
       {"Micros0ft", "Micr0s0ft", "M1crosoft", "MICR0SOFT", "Mlcrosoft", "Rnicrosoft", "RNICROSOFT", "rnicr0soft"}) {
    EXPECT_EQ(name_skeleton(lookalike), name_skeleton("Microsoft")) << lookalike;
  }
  for (const std::string_view lookalike : {"GoogIe", "Goog1e", "Goog|e", "G00gle"}) {
    EXPECT_EQ(name_skeleton(lookalike), name_skeleton("Google")) << lookalike;
  }
  EXPECT_EQ(name_skeleton("lNTEL"), name_skeleton("Intel"));
}

// Pairs people call look-alikes but TR39 does not: inventing them would merge real names.
TEST(skeleton, look_alikes_tr39_does_not_list_stay_apart) {
  EXPECT_NE(name_skeleton("Micro5oft"), name_skeleton("Microsoft"));  // 5 / S
  EXPECT_NE(name_skeleton("Ado8e"), name_skeleton("Adobe"));          // 8 / B
  EXPECT_NE(name_skeleton("VVindows"), name_skeleton("Windows"));     // vv / w
  EXPECT_NE(name_skeleton("Clell"), name_skeleton("Dell"));           // cl / d
  EXPECT_NE(name_skeleton("Z00m3"), name_skeleton("Zoome"));          // 3 / e
}

TEST(skeleton, hidden_characters_inside_a_name_are_removed) {
  const std::string microsoft = name_skeleton("Microsoft");
  for (const std::string_view hidden : {
           "\u200B",          // zero-width space
           "\u200C",          // zero-width non-joiner
           "\u200D",          // zero-width joiner
           "\u2060",          // word joiner
           "\uFEFF",          // BOM / zero-width no-break space
           "\u00AD",          // soft hyphen
           "\u200E",          // left-to-right mark
           "\u202E",          // right-to-left override
           "\u202A\u202C",    // left-to-right embedding ... pop
           "\u2067\u2069",    // right-to-left isolate ... pop
           "\uFE0F",          // variation selector 16
           "\u3164",          // Hangul filler
           "\U000E0041",      // tag latin capital A
       }) {
    const std::string name = "Micro" + std::string(hidden) + "soft";
    EXPECT_EQ(name_skeleton(name), microsoft) << visible(name);
    EXPECT_EQ(name_skeleton(std::string(hidden) + "Microsoft" + std::string(hidden)), microsoft) << visible(hidden);
  }
  EXPECT_EQ(name_skeleton("\u200B\u202E\uFEFF"), "");
}

TEST(skeleton, case_does_not_matter) {
  for (const std::string_view name : {"MICROSOFT", "microsoft", "mIcRoSoFt"}) {
    EXPECT_EQ(name_skeleton(name), name_skeleton("Microsoft")) << name;
  }
  EXPECT_EQ(name_skeleton("INTEL"), name_skeleton("intel"));
  EXPECT_EQ(name_skeleton("GOOGLE"), name_skeleton("google"));
  // Greek capitals read as the Latin capitals they look like, then fold.
  EXPECT_EQ(name_skeleton("\u039D\u039F\u039A\u0399\u0391"), name_skeleton("nokia"));      // ΝΟΚΙΑ
  EXPECT_EQ(name_skeleton("\u039D\u039F\u039A\u0399\u0391"), name_skeleton("NOKIA"));
  EXPECT_EQ(name_skeleton("\u00C9COLE"), name_skeleton("\u00E9cole"));  // ÉCOLE, école
}

TEST(skeleton, different_vendors_keep_different_skeletons) {
  EXPECT_NE(name_skeleton("Microsoft"), name_skeleton("Microstrategy"));
  EXPECT_NE(name_skeleton("Intel"), name_skeleton("Intuit"));
  EXPECT_NE(name_skeleton("Adobe"), name_skeleton("Adobo"));
  EXPECT_NE(name_skeleton("Oracle"), name_skeleton("Orade"));
  EXPECT_NE(name_skeleton("VMware"), name_skeleton("VMwave"));
  EXPECT_NE(name_skeleton("Cisco"), name_skeleton("Cirrus"));
  // Lowercase Greek νοκια does not look like nokia (ν is v), unlike its capitals.
  EXPECT_NE(name_skeleton("\u03BD\u03BF\u03BA\u03B9\u03B1"), name_skeleton("nokia"));
  // TR39 keeps diacritics: Micrósoft is visibly not Microsoft.
  EXPECT_NE(name_skeleton("Micr\u00F3soft"), name_skeleton("Microsoft"));
  // Other scripts keep their letters.
  EXPECT_NE(name_skeleton("\u5FAE\u8F6F"), name_skeleton("\u5FAE\u535A"));  // 微软, 微博
}

TEST(skeleton, ascii_table_is_icu_for_every_character) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(name_skeleton(s), icu(s)) << "0x" << std::hex << c;
  }
}

TEST(skeleton, ascii_table_is_icu_for_every_pair_and_for_names) {
  int mismatches = 0;
  for (int a = 0x20; a < 0x7F; ++a) {
    for (int b = 0x20; b < 0x7F; ++b) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      if (name_skeleton(s) != icu(s) && ++mismatches <= 10) ADD_FAILURE() << "pair \"" << s << '"';
    }
  }
  EXPECT_EQ(mismatches, 0);
  for (const std::string_view s :
       {"Microsoft Corporation", "Micr0s0ft", "M1CROSOFT", "rnicrosoft", "VVindows", "cl", "Google LLC", "100% Pure",
        "\"Quoted\" `tick`", "a|b", "Mozilla Foundation", "NVIDIA Corporation", "VMware, Inc.", "Zoom Video", ""}) {
    EXPECT_EQ(name_skeleton(s), icu(s)) << s;
  }
}

// After the first ICU pass a name that became ASCII is finished by the table: that must
// equal a second ICU pass, for every ASCII character it can hold.
TEST(skeleton, table_finish_of_a_non_ascii_name_is_icu) {
  for (int c = 0x01; c < 0x80; ++c) {
    const std::string s = "G\u043E" + std::string(1, static_cast<char>(c)) + "x";  // Cyrillic о makes it non-ASCII
    EXPECT_EQ(name_skeleton(s), icu(s)) << "0x" << std::hex << c;
  }
  for (const std::string_view s : {"\u041Cicrosoft", "MICR\u041ESOFT", "\uFF2D\uFF49\uFF43\uFF52\uFF4F", "\u039D\u039F\u039A\u0399\u0391",
                                   "M\u00FCller GmbH", "\u5FAE\u8F6F", "Micro\u200Bsoft"}) {
    EXPECT_EQ(name_skeleton(s), icu(s)) << visible(s);
  }
}

TEST(skeleton, invalid_utf8_reads_as_replacement_characters) {
  for (const std::string_view bad : {std::string_view("\xFF"), std::string_view("\xC0\x80"), std::string_view("\xE2\x82"),
                                     std::string_view("\xED\xA0\x80"), std::string_view("\xF4\x90\x80\x80"),
                                     std::string_view("a\0b", 3), std::string_view("\x80\x80\x80\x80")}) {
    std::string out;
    EXPECT_NO_THROW(name_skeleton(bad, out)) << visible(bad);
  }
  // A stray byte does not switch the skeleton off for the rest of the name.
  EXPECT_EQ(name_skeleton("Micr\u043Esoft \xFF"), "rnlcrosoft \xEF\xBF\xBD");
  EXPECT_EQ(normalize_company_skeleton("Micr\u043Esoft \xFF"), "rnlcrosoft \xEF\xBF\xBD");
}

TEST(skeleton, hostile_64_kib_names_are_cut_and_fast) {
  const auto repeat = [](std::string_view unit) {
    std::string s;
    while (s.size() < 64 * 1024) s += unit;
    return s;
  };
  const std::vector<std::string> hostile = {
      "a" + repeat("\u0301\u0316"),  // combining marks whose canonical reordering is quadratic
      repeat("\uFDFA"),              // NFKC expands it to 18 characters
      repeat("%"),                   // the longest ASCII image
      repeat("\xFF\xFE"),            // invalid UTF-8
      repeat("\u200B"),              // nothing but hidden characters
      repeat("Micr\u043Esoft "),
  };
  for (const auto& s : hostile) {
    const auto start = std::chrono::steady_clock::now();
    std::string out;
    EXPECT_NO_THROW(name_skeleton(s, out));
    // Uncut, the combining marks alone take ICU about a second (more under sanitizers).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200)) << visible(s.substr(0, 8));
    EXPECT_LE(out.size(), 64 * k_max_skeleton_input) << visible(s.substr(0, 8));
    // Only the first k_max_skeleton_input bytes (cut at a character boundary) count.
    std::size_t cut = k_max_skeleton_input;
    while ((static_cast<unsigned char>(s[cut]) & 0xC0U) == 0x80U && cut > k_max_skeleton_input - 3) --cut;
    EXPECT_EQ(out, name_skeleton(s.substr(0, cut))) << visible(s.substr(0, 8));
  }
  EXPECT_EQ(name_skeleton(repeat("Micr\u043Esoft ")).substr(0, 11), "rnlcrosoft ");
}

TEST(skeleton, writes_into_the_callers_buffer) {
  std::string out;
  out.reserve(256);
  const char* const storage = out.data();
  name_skeleton("Micr\u043Esoft Corporation", out);
  EXPECT_EQ(out, "rnlcrosoft corporatlon");
  name_skeleton("Google", out);
  EXPECT_EQ(out, "google");
  EXPECT_EQ(out.data(), storage);  // same buffer, no reallocation
}

TEST(skeleton, each_thread_computes_the_same_skeletons) {
  const std::vector<std::string_view> names = {"\u041Cicrosoft", "G\u043E\u043Egle", "\uFF29\uFF4E\uFF54\uFF45\uFF4C",
                                               "Micro\u200Bsoft", "M\u00FCller"};
  std::vector<std::string> expected;
  for (const auto n : names) expected.push_back(name_skeleton(n));
  std::vector<int> wrong(4, 0);
  {
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < wrong.size(); ++t) {
      threads.emplace_back([&, t] {
        std::string out;
        for (int round = 0; round < 2000; ++round) {
          for (std::size_t i = 0; i < names.size(); ++i) {
            // Uncached, so that every round runs ICU on this thread's checker and buffers.
            detail::name_skeleton_icu(names[i], out);
            wrong[t] += out != expected[i] ? 1 : 0;
            wrong[t] += name_skeleton(names[i]) != expected[i] ? 1 : 0;
          }
        }
      });
    }
  }
  for (const int w : wrong) EXPECT_EQ(w, 0);
}

// Thousands of names through a cache of a few hundred slots: evictions and names that
// share a slot must still give each name its own skeleton.
TEST(skeleton, cached_names_keep_their_own_skeletons) {
  const auto name = [](int i) {
    return "Vend\u043Er " + std::to_string(i) + (i % 3 == 0 ? " \u041Cedia" : " Ltd");
  };
  for (int pass = 0; pass < 2; ++pass) {
    int mismatches = 0;
    for (int i = 0; i < 3000; ++i) {
      const std::string n = name(i);
      if (name_skeleton(n) != icu(n) && ++mismatches <= 5) ADD_FAILURE() << "pass " << pass << ": " << visible(n);
    }
    EXPECT_EQ(mismatches, 0);
  }
  EXPECT_EQ(name_skeleton(name(7)), "vendor 7 ltd");
  EXPECT_EQ(name_skeleton(name(9)), "vendor 9 rnedla");
}

TEST(skeleton, normalize_company_skeleton_drops_legal_forms_and_hidden_characters) {
  for (const std::string_view name :
       {"Microsoft Corporation", "Micr\u043Esoft Corporation", "MICROS0FT CORP.", "Micro\u200Bsoft Corp",
        "\uFF2D\uFF49\uFF43\uFF52\uFF4F\uFF53\uFF4F\uFF46\uFF54\u3000\uFF23\uFF4F\uFF52\uFF50",  // fullwidth, ideographic space
        "Microsoft C0rp", "Micr0soft, Inc.", "M\u0456crosoft \u0421orp"}) {
    EXPECT_EQ(normalize_company_skeleton(name), "rnlcrosoft") << visible(name);
  }
  EXPECT_EQ(normalize_company_skeleton("Google LLC"), "google");
  EXPECT_EQ(normalize_company_skeleton("G\u043E\u043Egle L1C"), "google");  // the skeleton reveals "llc"
  EXPECT_EQ(normalize_company_skeleton("Intel Corporation"), "lntel");
  EXPECT_NE(normalize_company_skeleton("Intel Corporation"), normalize_company_skeleton("Intuit Inc."));
  EXPECT_EQ(normalize_company_skeleton("Mozilla Foundation"), "rnozllla foundatlon");
  // A name without 0, 1, i, I, l, m, |, `, ", % keeps normalize_company's tokens.
  EXPECT_EQ(normalize_company_skeleton("Oracle Corporation"), normalize_company("Oracle Corporation"));
  EXPECT_EQ(normalize_company_skeleton("Adobe Software Co."), normalize_company("Adobe Software Co."));
  EXPECT_EQ(normalize_company_skeleton(""), "");
}

// The per-thread cache of name forms gives what computing them gives, for names that
// come again, names that evict each other from its slots, and the empty name.
TEST(skeleton, cached_name_forms_equal_the_computed_ones_whatever_was_asked_before) {
  std::vector<std::string> names = {"Microsoft Corporation", "Microsoft Corporatlon", "", "Zoom Video Communications, Inc."};
  for (int i = 0; i < 2000; ++i) names.push_back("Vendor " + std::to_string(i) + " GmbH");
  for (int round = 0; round < 3; ++round) {
    for (const auto& n : names) {
      const name_forms direct(n);
      const name_forms cached = cached_name_forms(n);
      ASSERT_EQ(cached.plain, direct.plain) << n;
      ASSERT_EQ(cached.skeleton, direct.skeleton) << n;
    }
  }
}

}  // namespace
}  // namespace skeleton_test
}  // namespace countersign::rules
