// Configuration loading (processor/src/config.cpp): defaults, every key of every
// section, error reporting with file:line and the dotted key, environment overrides.

#include "test_support.hpp"

#include <countersign/processor/config.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <map>
#include <fstream>
#include <filesystem>

#include <cstdlib>
#include <string>
#include <vector>

namespace countersign::processor {
namespace config_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Sets an environment variable for the lifetime of the guard and restores the previous
// state afterwards, so tests do not leak overrides into each other.
class env_guard {
 public:
  env_guard(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~env_guard() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Clears the overrides the tests use, in case the calling environment has them.
struct clean_env {
  env_guard servers{"COUNTERSIGN_KAFKA_BOOTSTRAP_SERVERS", nullptr};
  env_guard topics{"COUNTERSIGN_KAFKA_INPUT_TOPICS", nullptr};
  env_guard window{"COUNTERSIGN_ALERTS_SUPPRESSION_WINDOW", nullptr};
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::string::size_type start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

config parse_ok(const std::string& yaml) { return test_support::config_or_fail(yaml, "test.yaml"); }

std::string parse_err(const std::string& yaml) {
  auto c = parse_config(yaml, "test.yaml");
  EXPECT_FALSE(c.has_value()) << "accepted:\n" << yaml;
  return c ? std::string() : c.error();
}

TEST(parse_config, empty_text_gives_the_documented_defaults) {
  clean_env env;
  const auto c = parse_ok("");
  EXPECT_EQ(c.source, "test.yaml");
  EXPECT_EQ(c.kafka.bootstrap_servers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka.group_id, "countersign");
  EXPECT_EQ(c.kafka.client_id, "countersign");
  EXPECT_THAT(c.kafka.input_topics, ElementsAre("countersign.events"));
  EXPECT_EQ(c.kafka.alerts_topic, "countersign.alerts");
  EXPECT_EQ(c.kafka.dead_letter_topic, "countersign.dead-letter");
  EXPECT_THAT(c.kafka.consumer, IsEmpty());
  EXPECT_THAT(c.kafka.producer, IsEmpty());
  EXPECT_EQ(c.input.max_message_bytes, 1U << 20);
  EXPECT_EQ(c.input.max_field_bytes, 4096U);
  EXPECT_EQ(c.metrics.listen, "0.0.0.0:9464");
  EXPECT_EQ(c.alerts.suppression_window_ms, 24LL * 3600 * 1000);
  EXPECT_EQ(c.alerts.suppression_cache_entries, 100'000U);
  EXPECT_EQ(c.processing.drain_timeout_ms, 30'000);
  EXPECT_EQ(c.processing.commit_interval_ms, 1'000);
  EXPECT_EQ(c.processing.max_in_flight, 100'000U);
  EXPECT_EQ(c.log_level, "info");
  const auto& d = c.detectors;
  EXPECT_TRUE(d.revoked.enabled);
  EXPECT_EQ(d.revoked.level, rules::severity::high);
  EXPECT_TRUE(d.untrusted.enabled);
  EXPECT_EQ(d.untrusted.level, rules::severity::medium);
  EXPECT_TRUE(d.untrusted.internal_pki_issuers.empty());
  EXPECT_TRUE(d.untrusted.internal_pki_thumbprints.empty());
  EXPECT_TRUE(d.recently_issued.enabled);
  EXPECT_EQ(d.recently_issued.level, rules::severity::medium);
  EXPECT_EQ(d.recently_issued.max_validity_days, 8);
  EXPECT_EQ(d.recently_issued.issued_within_days, 14);
  EXPECT_EQ(d.recently_issued.max_signer_hosts, 5U);
  // docs/detections.md section 3's default trusted-publisher list.
  for (const char* p : {"Microsoft Corporation", "Microsoft Windows", "Google LLC", "Adobe Inc.", "Oracle America",
                        "Mozilla Corporation", "Cisco Systems", "VMware, Inc.", "Intel Corporation",
                        "NVIDIA Corporation", "Apple Inc.", "Amazon.com"}) {
    EXPECT_TRUE(d.recently_issued.trusted_publishers.contains(p)) << p;
  }
  EXPECT_FALSE(d.recently_issued.trusted_publishers.contains("Kestrel Ventures Ltd"));
}

TEST(parse_config, a_comment_only_file_gives_the_defaults) {
  clean_env env;
  EXPECT_EQ(parse_ok("# nothing here\n").kafka.alerts_topic, "countersign.alerts");
}

TEST(parse_config, kafka_security_becomes_librdkafka_properties_and_never_echoes_the_password) {
  clean_env env;
  const auto plain = parse_ok("");
  EXPECT_TRUE(security_properties(plain.kafka).empty());

  const auto c = parse_ok(R"yaml(
kafka:
  security:
    protocol: sasl_ssl
    sasl_mechanism: SCRAM-SHA-512
    sasl_username: countersign
    sasl_password: "s3cret-in-file"
    ssl_ca_location: /etc/countersign/tls/ca.pem
)yaml");
  const auto props = security_properties(c.kafka);
  const std::map<std::string, std::string> m(props.begin(), props.end());
  EXPECT_EQ(m.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(m.at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(m.at("sasl.username"), "countersign");
  EXPECT_EQ(m.at("sasl.password"), "s3cret-in-file");
  EXPECT_EQ(m.at("ssl.ca.location"), "/etc/countersign/tls/ca.pem");
  EXPECT_EQ(m.at("ssl.endpoint.identification.algorithm"), "https");

  // From a mounted file (first line), or from the environment.
  const std::string file = (std::filesystem::temp_directory_path() / "countersign-sasl-password").string();
  {
    std::ofstream f(file);
    f << "from-the-file\n";
  }
  const auto from_file = parse_ok("kafka:\n  security: {protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN, "
                                  "sasl_username: u, sasl_password_file: \"" + file + "\"}\n");
  EXPECT_EQ(from_file.kafka.security.sasl_password, "from-the-file");
  std::filesystem::remove(file);
  ::setenv("COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD", "from-the-env", 1);
  const auto from_env = parse_ok("kafka:\n  security: {protocol: SASL_SSL, sasl_mechanism: PLAIN, sasl_username: u}\n");
  ::unsetenv("COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD");
  EXPECT_EQ(from_env.kafka.security.sasl_password, "from-the-env");

  // Mistakes name the key, and never the password.
  const auto bad = parse_config("kafka:\n  security: {protocol: SASL_SSL, sasl_mechanism: GSSAPI, "
                                "sasl_username: u, sasl_password: hunter2}\n", "k.yaml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_THAT(bad.error(), HasSubstr("kafka.security.sasl_mechanism"));
  EXPECT_THAT(bad.error(), Not(HasSubstr("hunter2")));
  const auto no_password = parse_config("kafka:\n  security: {protocol: SASL_SSL, sasl_mechanism: PLAIN, sasl_username: u}\n", "k.yaml");
  ASSERT_FALSE(no_password.has_value());
  EXPECT_THAT(no_password.error(), HasSubstr("password"));
  EXPECT_FALSE(parse_config("kafka:\n  security: {protocol: TLS}\n", "k.yaml").has_value());
}

TEST(parse_config, internal_topics_default_to_the_group_id_and_bad_topology_values_name_their_key) {
  clean_env env;
  const auto c = parse_ok("kafka: {group_id: fleet-a}\n");
  EXPECT_EQ(topics_of(c).observations, "fleet-a.observations");
  EXPECT_EQ(c.topology.partitions, 6);
  for (const std::string bad : {"topology: {partitions: 0}", "topology: {partitions: 5000}",
                                "topology: {replication_factor: 0}", "topology: {flush_interval: 1ms}",
                                "topology: {partitons: 3}"}) {
    const auto r = parse_config(bad + "\n", "t.yaml");
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().find("topology."), std::string::npos) << r.error();
  }
}

TEST(parse_config, every_key_of_every_section_is_read) {
  clean_env env;
  const auto c = parse_ok(R"yaml(
kafka:
  bootstrap_servers: "broker-1:9092,broker-2:9092"
  group_id: cs-test
  client_id: cs-client
  input_topics: [edr.events, sysmon.events]
  alerts_topic: cs.alerts
  dead_letter_topic: ""
  consumer:
    fetch.min.bytes: "1024"
    session.timeout.ms: "45000"
  producer:
    linger.ms: "5"
input:
  max_message_bytes: 65536
  max_field_bytes: 512
metrics:
  listen: "127.0.0.1:0"
alerts:
  suppression_window: 6h
  suppression_cache_entries: 0
processing:
  drain_timeout: 10s
  commit_interval: 250ms
  max_in_flight: 500
  threads: 3
topology:
  topic_prefix: cs-internal
  partitions: 12
  replication_factor: 3
  flush_interval: 2s
detectors:
  signature_revoked:
    enabled: false
    severity: critical
  signature_untrusted:
    enabled: yes
    severity: low
    internal_pki_issuers: ["Contoso Internal Code Signing CA", "CN=Fabrikam Root"]
    internal_pki_thumbprints:
      - abcdef0123
  certificate_recently_issued:
    enabled: off
    severity: info
    max_validity_days: 3
    issued_within_days: 30
    max_signer_hosts: 12
    trusted_publishers: ["Acme Widgets LLC"]
log:
  level: debug
)yaml");
  EXPECT_EQ(c.kafka.bootstrap_servers, "broker-1:9092,broker-2:9092");
  EXPECT_EQ(c.kafka.group_id, "cs-test");
  EXPECT_EQ(c.kafka.client_id, "cs-client");
  EXPECT_THAT(c.kafka.input_topics, ElementsAre("edr.events", "sysmon.events"));
  EXPECT_EQ(c.kafka.alerts_topic, "cs.alerts");
  EXPECT_EQ(c.kafka.dead_letter_topic, "");
  EXPECT_EQ(c.kafka.consumer.size(), 2U);
  EXPECT_EQ(c.kafka.consumer.at("fetch.min.bytes"), "1024");
  EXPECT_EQ(c.kafka.consumer.at("session.timeout.ms"), "45000");
  EXPECT_EQ(c.kafka.producer.at("linger.ms"), "5");
  EXPECT_EQ(c.input.max_message_bytes, 65536U);
  EXPECT_EQ(c.input.max_field_bytes, 512U);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:0");
  EXPECT_EQ(c.topology.partitions, 12);
  EXPECT_EQ(c.topology.replication_factor, 3);
  EXPECT_EQ(c.topology.flush_interval_ms, 2000);
  EXPECT_EQ(topics_of(c).observations, "cs-internal.observations");
  EXPECT_EQ(topics_of(c).changelog, "cs-internal.hash-state-changelog");
  EXPECT_EQ(topics_of(c).deltas, "cs-internal.signer-deltas");
  EXPECT_EQ(topics_of(c).signers, "cs-internal.signers");
  EXPECT_EQ(c.alerts.suppression_window_ms, 6 * 3'600'000);
  EXPECT_EQ(c.alerts.suppression_cache_entries, 0U);
  EXPECT_EQ(c.processing.drain_timeout_ms, 10'000);
  EXPECT_EQ(c.processing.commit_interval_ms, 250);
  EXPECT_EQ(c.processing.max_in_flight, 500U);
  EXPECT_EQ(c.processing.threads, 3U);
  EXPECT_EQ(processing_threads(c.processing), 3U);
  const auto& d = c.detectors;
  EXPECT_FALSE(d.revoked.enabled);
  EXPECT_EQ(d.revoked.level, rules::severity::critical);
  EXPECT_TRUE(d.untrusted.enabled);
  EXPECT_EQ(d.untrusted.level, rules::severity::low);
  EXPECT_EQ(d.untrusted.internal_pki_issuers.size(), 2U);
  EXPECT_TRUE(d.untrusted.internal_pki_issuers.contains("contoso internal code signing ca"));
  EXPECT_TRUE(d.untrusted.internal_pki_issuers.contains("CN=Fabrikam Root"));
  EXPECT_TRUE(d.untrusted.internal_pki_thumbprints.contains("abcdef0123"));
  EXPECT_FALSE(d.recently_issued.enabled);
  EXPECT_EQ(d.recently_issued.level, rules::severity::info);
  EXPECT_EQ(d.recently_issued.max_validity_days, 3);
  EXPECT_EQ(d.recently_issued.issued_within_days, 30);
  EXPECT_EQ(d.recently_issued.max_signer_hosts, 12U);
  EXPECT_EQ(d.recently_issued.trusted_publishers.size(), 1U);  // replaces the default list
  EXPECT_TRUE(d.recently_issued.trusted_publishers.contains("Acme Widgets LLC"));
  EXPECT_FALSE(d.recently_issued.trusted_publishers.contains("Microsoft Corporation"));
  EXPECT_EQ(c.log_level, "debug");
}

TEST(parse_config, an_explicit_empty_trusted_publisher_list_empties_it) {
  clean_env env;
  const auto c = parse_ok("detectors:\n  certificate_recently_issued:\n    trusted_publishers: []\n");
  EXPECT_TRUE(c.detectors.recently_issued.trusted_publishers.empty());
}

TEST(parse_config, an_unknown_top_level_key_is_reported_with_file_and_line) {
  clean_env env;
  const auto e = parse_err("kafka:\n  group_id: g\nkafak:\n  group_id: typo\n");
  EXPECT_THAT(lines(e), ElementsAre("test.yaml:3: kafak: unknown key"));
}

TEST(parse_config, an_unknown_nested_key_is_reported_with_its_full_dotted_path) {
  clean_env env;
  const auto e = parse_err(R"yaml(detectors:
  signature_untrusted:
    enabled: true
    internal_pki_issuer: ["Contoso"]
kafka:
  bootstrap_server: "x:1"
)yaml");
  const auto got = lines(e);
  EXPECT_EQ(got.size(), 2U) << e;
  EXPECT_THAT(got, ::testing::Contains("test.yaml:4: detectors.signature_untrusted.internal_pki_issuer: unknown key"));
  EXPECT_THAT(got, ::testing::Contains("test.yaml:6: kafka.bootstrap_server: unknown key"));
}

TEST(parse_config, a_bad_severity_is_named) {
  clean_env env;
  const auto e = parse_err("detectors:\n  signature_revoked:\n    severity: urgent\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:3: detectors.signature_revoked.severity: must be one of"));
}

TEST(parse_config, a_bad_duration_is_named) {
  clean_env env;
  const auto e = parse_err("alerts:\n  suppression_window: 10 parsecs\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:2: alerts.suppression_window:"));
  EXPECT_THAT(e, HasSubstr("parsecs"));
}

TEST(parse_config, a_duration_below_its_minimum_is_named) {
  clean_env env;
  const auto e = parse_err("alerts:\n  suppression_window: 10ms\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:2: alerts.suppression_window: must be at least 1000ms"));
}

TEST(parse_config, an_integer_out_of_range_is_named_with_its_bounds) {
  clean_env env;
  const auto e = parse_err("input:\n  max_field_bytes: 8\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:2: input.max_field_bytes: must be between 16 and 1048576"));
  const auto big = parse_err("processing:\n  max_in_flight: 99999999999999999999\n");
  EXPECT_THAT(big, HasSubstr("processing.max_in_flight"));
}

TEST(parse_config, a_non_integer_is_named_with_its_value) {
  clean_env env;
  const auto e = parse_err("detectors:\n  certificate_recently_issued:\n    max_validity_days: 7.5\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:3: detectors.certificate_recently_issued.max_validity_days: must be an integer"));
  EXPECT_THAT(e, HasSubstr("7.5"));
}

TEST(parse_config, a_scalar_where_a_list_is_expected_is_named) {
  clean_env env;
  const auto e = parse_err("kafka:\n  input_topics: edr.events\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:2: kafka.input_topics: must be a list"));
}

TEST(parse_config, a_list_where_a_scalar_is_expected_is_named) {
  clean_env env;
  const auto e = parse_err("kafka:\n  group_id: [a, b]\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:2: kafka.group_id: must be a single value"));
}

TEST(parse_config, a_bad_boolean_is_named) {
  clean_env env;
  const auto e = parse_err("detectors:\n  signature_revoked:\n    enabled: maybe\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:3: detectors.signature_revoked.enabled: must be true or false"));
}

TEST(parse_config, a_section_that_is_not_a_mapping_is_named) {
  clean_env env;
  const auto e = parse_err("kafka: localhost:9092\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:1: kafka: must be a mapping"));
}

TEST(parse_config, cross_field_rules_are_checked) {
  clean_env env;
  EXPECT_THAT(parse_err("kafka:\n  input_topics: [a, b]\n  alerts_topic: b\n"),
              HasSubstr("kafka.alerts_topic: must not be one of kafka.input_topics"));
  EXPECT_THAT(parse_err("kafka:\n  input_topics: []\n"), HasSubstr("kafka.input_topics: must name at least one topic"));
  EXPECT_THAT(parse_err("kafka:\n  group_id: \"\"\n"), HasSubstr("kafka.group_id: must not be empty"));
  EXPECT_THAT(parse_err("log:\n  level: loud\n"), HasSubstr("log.level: must be one of"));
}

TEST(parse_config, several_errors_are_reported_together) {
  clean_env env;
  const auto e = parse_err(R"yaml(kafka:
  input_topics: edr.events
alerts:
  suppression_window: 10 parsecs
input:
  max_field_bytes: 8
detectors:
  signature_revoked:
    severity: urgent
  certificate_recently_issued:
    max_validity_dayz: 3
unknown_section: 1
)yaml");
  const auto got = lines(e);
  EXPECT_EQ(got.size(), 6U) << e;
  EXPECT_THAT(e, HasSubstr("test.yaml:2: kafka.input_topics"));
  EXPECT_THAT(e, HasSubstr("test.yaml:4: alerts.suppression_window"));
  EXPECT_THAT(e, HasSubstr("test.yaml:6: input.max_field_bytes"));
  EXPECT_THAT(e, HasSubstr("test.yaml:9: detectors.signature_revoked.severity"));
  EXPECT_THAT(e, HasSubstr("test.yaml:11: detectors.certificate_recently_issued.max_validity_dayz: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.yaml:12: unknown_section: unknown key"));
}

TEST(parse_config, invalid_yaml_is_reported_with_a_line) {
  clean_env env;
  const auto e = parse_err("kafka:\n  group_id: [unclosed\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:"));
  EXPECT_THAT(e, HasSubstr("invalid YAML"));
}

TEST(parse_config, a_top_level_that_is_not_a_mapping_is_refused) {
  clean_env env;
  EXPECT_THAT(parse_err("- a\n- b\n"), HasSubstr("the top level must be a mapping"));
}

TEST(parse_config, an_environment_variable_overrides_a_scalar) {
  clean_env env;
  env_guard servers("COUNTERSIGN_KAFKA_BOOTSTRAP_SERVERS", "env-broker:9093");
  EXPECT_EQ(parse_ok("").kafka.bootstrap_servers, "env-broker:9093");
  EXPECT_EQ(parse_ok("kafka:\n  bootstrap_servers: file-broker:9092\n").kafka.bootstrap_servers, "env-broker:9093");
}

TEST(parse_config, without_the_environment_variable_the_file_value_is_used) {
  clean_env env;
  EXPECT_EQ(parse_ok("kafka:\n  bootstrap_servers: file-broker:9092\n").kafka.bootstrap_servers, "file-broker:9092");
}

TEST(parse_config, an_environment_variable_overrides_a_list_with_comma_separated_items) {
  clean_env env;
  env_guard topics("COUNTERSIGN_KAFKA_INPUT_TOPICS", "a.events,b.events");
  EXPECT_THAT(parse_ok("kafka:\n  input_topics: [file.events]\n").kafka.input_topics,
              ElementsAre("a.events", "b.events"));
}

TEST(parse_config, an_environment_value_is_validated_like_a_file_value) {
  clean_env env;
  env_guard window("COUNTERSIGN_ALERTS_SUPPRESSION_WINDOW", "10 parsecs");
  EXPECT_THAT(parse_err(""), HasSubstr("alerts.suppression_window"));
}

// --- load_config ----------------------------------------------------------------------

TEST(load_config, the_shipped_config_file_loads_and_states_the_built_in_defaults) {
  clean_env env;
  const auto shipped = load_config(COUNTERSIGN_SHIPPED_CONFIG);
  ASSERT_TRUE(shipped.has_value()) << shipped.error();
  const auto defaults = parse_ok("");
  EXPECT_EQ(shipped->source, COUNTERSIGN_SHIPPED_CONFIG);
  EXPECT_EQ(shipped->kafka.bootstrap_servers, defaults.kafka.bootstrap_servers);
  EXPECT_EQ(shipped->kafka.group_id, defaults.kafka.group_id);
  EXPECT_EQ(shipped->kafka.input_topics, defaults.kafka.input_topics);
  EXPECT_EQ(shipped->kafka.alerts_topic, defaults.kafka.alerts_topic);
  EXPECT_EQ(shipped->kafka.dead_letter_topic, defaults.kafka.dead_letter_topic);
  EXPECT_EQ(shipped->input.max_message_bytes, defaults.input.max_message_bytes);
  EXPECT_EQ(shipped->input.max_field_bytes, defaults.input.max_field_bytes);
  EXPECT_EQ(shipped->metrics.listen, defaults.metrics.listen);
  EXPECT_EQ(shipped->alerts.suppression_window_ms, defaults.alerts.suppression_window_ms);
  EXPECT_EQ(shipped->alerts.suppression_cache_entries, defaults.alerts.suppression_cache_entries);
  EXPECT_EQ(shipped->processing.drain_timeout_ms, defaults.processing.drain_timeout_ms);
  EXPECT_EQ(shipped->processing.commit_interval_ms, defaults.processing.commit_interval_ms);
  EXPECT_EQ(shipped->processing.max_in_flight, defaults.processing.max_in_flight);
  const auto& s = shipped->detectors;
  const auto& d = defaults.detectors;
  EXPECT_EQ(s.revoked.enabled, d.revoked.enabled);
  EXPECT_EQ(s.revoked.level, d.revoked.level);
  EXPECT_EQ(s.untrusted.level, d.untrusted.level);
  EXPECT_EQ(s.recently_issued.max_validity_days, d.recently_issued.max_validity_days);
  EXPECT_EQ(s.recently_issued.issued_within_days, d.recently_issued.issued_within_days);
  EXPECT_EQ(s.recently_issued.max_signer_hosts, d.recently_issued.max_signer_hosts);
  EXPECT_EQ(s.recently_issued.trusted_publishers.size(), d.recently_issued.trusted_publishers.size());
  // The compiled-in rules/content lists are in force.
  for (const auto* p : {"Microsoft Corporation", "Google LLC", "Mozilla Corporation"}) {
    EXPECT_TRUE(s.recently_issued.trusted_publishers.contains(p)) << p;
  }
  EXPECT_GT(s.issuer_unusual.known_cas.size(), 20U);
  EXPECT_TRUE(s.issuer_unusual.known_cas.matches("DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"));
  EXPECT_FALSE(s.issuer_unusual.known_cas.matches("Totally Legit Signing Authority"));
  EXPECT_FALSE(s.subject_mismatch.protected_vendors.empty());
  EXPECT_TRUE(s.rare_user_path.user_writable.matches(R"(C:\Users\bob\AppData\Local\Temp\x.exe)"));
  EXPECT_FALSE(s.rare_user_path.user_writable.matches(R"(C:\Program Files\App\x.exe)"));
  EXPECT_EQ(shipped->log_level, defaults.log_level);
}

TEST(load_config, a_missing_file_is_an_error_naming_it) {
  const auto c = load_config("/nonexistent/countersign.yaml");
  ASSERT_FALSE(c.has_value());
  EXPECT_THAT(c.error(), HasSubstr("/nonexistent/countersign.yaml"));
}

// --- parse_duration_ms --------------------------------------------------------------------

TEST(parse_duration_ms, reads_every_unit) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("30s"), 30'000);
  EXPECT_EQ(parse_duration_ms("5m"), 300'000);
  EXPECT_EQ(parse_duration_ms("24h"), 86'400'000);
  EXPECT_EQ(parse_duration_ms("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(parse_duration_ms("1500"), 1500);  // a bare number is milliseconds
  EXPECT_EQ(parse_duration_ms("0"), 0);
}

TEST(parse_duration_ms, rejects_malformed_text) {
  for (const char* bad : {"", "ms", "-5s", "5 s", "5sec", "1.5h", "10 parsecs", "5S", "+5s", " 5s"}) {
    const auto r = parse_duration_ms(bad);
    EXPECT_FALSE(r.has_value()) << '"' << bad << "\" gave " << r.value_or(0);
  }
}

TEST(parse_duration_ms, the_error_names_the_bad_unit) {
  const auto r = parse_duration_ms("10 parsecs");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error(), HasSubstr("parsecs"));
}

TEST(parse_duration_ms, a_value_that_overflows_milliseconds_is_rejected) {
  // 200'000'000'000 days is 1.7e19 ms, beyond int64; the product must not wrap around.
  for (const char* huge : {"200000000000d", "9223372036854775807h", "9223372036854775807s"}) {
    const auto r = parse_duration_ms(huge);
    EXPECT_FALSE(r.has_value()) << huge << " gave " << r.value_or(0);
  }
}

TEST(parse_config, expired_signing_new_file_keys_are_read_and_bounded) {
  clean_env env;
  const auto c = parse_ok(
      "detectors:\n  certificate_expired_signing:\n    new_file_hours: 48\n    new_file_severity: medium\n");
  EXPECT_EQ(c.detectors.expired_signing.new_file_hours, 48);
  EXPECT_EQ(c.detectors.expired_signing.new_file_level, rules::severity::medium);
  EXPECT_EQ(parse_ok("").detectors.expired_signing.new_file_hours, 24);
  const auto e = parse_err("detectors:\n  certificate_expired_signing:\n    new_file_hours: 0\n");
  EXPECT_THAT(e, HasSubstr("test.yaml:3: detectors.certificate_expired_signing.new_file_hours:"));
}

}  // namespace
}  // namespace config_test
}  // namespace countersign::processor
