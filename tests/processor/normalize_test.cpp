// Normalization helpers (processor/src/engine/normalize.cpp), called directly.

#include "printers.hpp"

#include <countersign/processor/engine/normalize.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace countersign::processor {
namespace normalize_test {  // one per file: the test programs are unity builds
namespace {

using rules::signature_status;
using rules::text_field;

TEST(ecs_signature_status, maps_elastic_defend_values) {
  EXPECT_EQ(ecs_signature_status("trusted"), signature_status::valid);
  EXPECT_EQ(ecs_signature_status("errorExpired"), signature_status::expired);
  EXPECT_EQ(ecs_signature_status("errorRevoked"), signature_status::revoked);
  EXPECT_EQ(ecs_signature_status("errorUntrustedRoot"), signature_status::untrusted_root);
  EXPECT_EQ(ecs_signature_status("errorBadDigest"), signature_status::bad_digest);
  EXPECT_EQ(ecs_signature_status("errorChaining"), signature_status::chain_error);
}

TEST(ecs_signature_status, maps_sysmon_values_case_insensitively) {
  EXPECT_EQ(ecs_signature_status("Valid"), signature_status::valid);
  EXPECT_EQ(ecs_signature_status("Expired"), signature_status::expired);
  EXPECT_EQ(ecs_signature_status("Unavailable"), signature_status::unknown);
  EXPECT_EQ(ecs_signature_status("TRUSTED"), signature_status::valid);
  EXPECT_EQ(ecs_signature_status("errorrevoked"), signature_status::revoked);
}

TEST(ecs_signature_status, endpoint_error_codes_are_unknown) {
  EXPECT_EQ(ecs_signature_status("errorCode_endpoint_0x800b0100"), signature_status::unknown);
  EXPECT_EQ(ecs_signature_status("errorCode_endpoint: 0x80096010"), signature_status::unknown);
  EXPECT_EQ(ecs_signature_status("errorcode_endpoint"), signature_status::unknown);
}

TEST(ecs_signature_status, surrounding_blanks_are_ignored_and_blank_is_missing) {
  EXPECT_EQ(ecs_signature_status("  errorRevoked\t"), signature_status::revoked);
  EXPECT_EQ(ecs_signature_status(""), signature_status::missing);
  EXPECT_EQ(ecs_signature_status(" \t "), signature_status::missing);
}

TEST(ecs_signature_status, anything_else_is_other) {
  EXPECT_EQ(ecs_signature_status("errorSomethingNew"), signature_status::other);
  EXPECT_EQ(ecs_signature_status("trusted!"), signature_status::other);
  EXPECT_EQ(ecs_signature_status("errorCode"), signature_status::other);
}

TEST(set_normalized_hex, removes_separators_and_lowercases) {
  text_field f;
  set_normalized_hex(f, "00:A1:b2 c3");
  EXPECT_TRUE(f.present);
  EXPECT_EQ(f.value, "00a1b2c3");
  set_normalized_hex(f, "AB-CD\tEF");
  EXPECT_EQ(f.value, "abcdef");  // replaced, not appended
}

TEST(set_normalized_hex, an_empty_value_is_present_and_empty) {
  text_field f;
  set_normalized_hex(f, "::");
  EXPECT_TRUE(f.present);
  EXPECT_EQ(f.value, "");
  EXPECT_FALSE(f.has_value());
}

TEST(dn_attribute, reads_plain_escaped_and_quoted_values) {
  const std::string_view dn = R"(CN=Acme\, Inc., O="Acme, Inc.", C=US)";
  text_field cn, o, c;
  ASSERT_TRUE(dn_attribute(dn, "CN", cn));
  ASSERT_TRUE(dn_attribute(dn, "O", o));
  ASSERT_TRUE(dn_attribute(dn, "C", c));
  EXPECT_EQ(cn.value, "Acme, Inc.");
  EXPECT_EQ(o.value, "Acme, Inc.");
  EXPECT_EQ(c.value, "US");
}

TEST(dn_attribute, attribute_names_match_case_insensitively_and_exactly) {
  const std::string_view dn = "OU=Engineering, o=Org, cn=Leaf";
  text_field o, cn, l;
  ASSERT_TRUE(dn_attribute(dn, "O", o));
  EXPECT_EQ(o.value, "Org");  // not the OU
  ASSERT_TRUE(dn_attribute(dn, "CN", cn));
  EXPECT_EQ(cn.value, "Leaf");
  EXPECT_FALSE(dn_attribute(dn, "L", l));
  EXPECT_FALSE(l.present);
}

TEST(dn_attribute, handles_semicolons_spaces_and_multi_valued_rdns) {
  text_field cn, o;
  ASSERT_TRUE(dn_attribute("  O = Spaced Org ;CN=Semi", "CN", cn));
  EXPECT_EQ(cn.value, "Semi");
  ASSERT_TRUE(dn_attribute("  O = Spaced Org ;CN=Semi", "O", o));
  EXPECT_EQ(o.value, "Spaced Org");
  text_field multi;
  ASSERT_TRUE(dn_attribute("CN=Leaf+O=Multi, C=DE", "O", multi));
  EXPECT_EQ(multi.value, "Multi");
}

TEST(dn_attribute, an_escaped_quote_inside_quotes_is_kept) {
  text_field o;
  ASSERT_TRUE(dn_attribute(R"(O="Say \"Hi\" Ltd", CN=x)", "O", o));
  EXPECT_EQ(o.value, R"(Say "Hi" Ltd)");
}

TEST(dn_attribute, malformed_names_do_not_hang_or_match) {
  text_field f;
  EXPECT_FALSE(dn_attribute("", "CN", f));
  EXPECT_FALSE(dn_attribute("no equals sign at all", "CN", f));
  EXPECT_FALSE(dn_attribute(",,,;;;", "CN", f));
  EXPECT_FALSE(dn_attribute(R"(O="unterminated, CN=x)", "CN", f));  // the quote swallows the rest
  EXPECT_TRUE(dn_attribute("junk, CN=after junk", "CN", f));
  EXPECT_EQ(f.value, "after junk");
  text_field trailing;
  EXPECT_TRUE(dn_attribute(R"(CN=ends with backslash\)", "CN", trailing));
  EXPECT_EQ(trailing.value, R"(ends with backslash\)");
}

TEST(looks_like_dn, tells_a_dn_from_a_bare_name) {
  EXPECT_TRUE(looks_like_dn("CN=Acme"));
  EXPECT_TRUE(looks_like_dn("O=Acme, C=US"));
  EXPECT_TRUE(looks_like_dn(" cn = Acme"));
  EXPECT_TRUE(looks_like_dn("1.2.840.113549.1.9.1=a@b.c, CN=x"));  // OID attribute names
  EXPECT_FALSE(looks_like_dn("Acme Widgets LLC"));
  EXPECT_FALSE(looks_like_dn("Open Source Developer, Random Person"));
  EXPECT_FALSE(looks_like_dn("Acme, Inc. (a=b)"));
  EXPECT_FALSE(looks_like_dn("=x"));
  EXPECT_FALSE(looks_like_dn(""));
}

TEST(epoch_to_ms, values_below_1e11_are_seconds) {
  EXPECT_EQ(epoch_to_ms(1'795'168'800.0), 1'795'168'800'000);
  EXPECT_EQ(epoch_to_ms(1.5), 1500);
  EXPECT_EQ(epoch_to_ms(0.0), 0);
  EXPECT_EQ(epoch_to_ms(99'999'999'999.0), 99'999'999'999'000);
  EXPECT_EQ(epoch_to_ms(-1.0), -1000);
  EXPECT_EQ(epoch_to_ms(1'795'168'800.123), 1'795'168'800'123);  // rounded, not truncated below
}

TEST(epoch_to_ms, values_from_1e11_are_milliseconds) {
  EXPECT_EQ(epoch_to_ms(100'000'000'000.0), 100'000'000'000);
  EXPECT_EQ(epoch_to_ms(1'795'168'800'000.0), 1'795'168'800'000);
  EXPECT_EQ(epoch_to_ms(1'795'168'800'000.4), 1'795'168'800'000);
}

}  // namespace
}  // namespace normalize_test
}  // namespace countersign::processor
