// Broker-backed tests of kafka.security: a SASL_SSL broker (ctest fixture `kafka_sasl`,
// scripts/kafka.sh with COUNTERSIGN_KAFKA_SECURITY=sasl_ssl: one SASL_SSL listener with
// SCRAM-SHA-512 and SCRAM-SHA-256, a test CA, the SCRAM user `countersign`) and a real
// `countersign run`. The test clients read the broker's client.properties; countersign
// gets the password only through its environment or a password file, never its config.

#include "harness.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace ct = countersign::testing;
using namespace std::chrono_literals;

namespace {

const std::string k_data = COUNTERSIGN_TEST_DATA;
const std::string k_fixture = k_data + "/ecs/process_events.ndjson";
const std::string k_client_properties = ct::broker_dir(COUNTERSIGN_TEST_KAFKA_SASL_DIR) + "/client.properties";
constexpr const char* k_password_env = "COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD";

std::multiset<std::string> expected_alerts() {
  std::multiset<std::string> out;
  for (const auto& line : ct::read_lines(k_data + "/ecs/expected_alerts.tsv")) {
    if (!line.empty() && line[0] != '#') out.insert(line);
  }
  return out;
}

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The SASL_SSL broker of the fixture, as scripts/kafka.sh describes it.
struct sasl_broker {
  std::map<std::string, std::string> client = ct::read_client_properties(k_client_properties);
  [[nodiscard]] const std::string& bootstrap() const { return client.at("bootstrap.servers"); }
  [[nodiscard]] const std::string& username() const { return client.at("sasl.username"); }
  [[nodiscard]] const std::string& password() const { return client.at("sasl.password"); }
  [[nodiscard]] const std::string& ca() const { return client.at("ssl.ca.location"); }
};

// A `countersign run` config for the SASL_SSL broker with kafka.security and no
// password: that comes from the environment or `password_file`.
std::string secure_config(const sasl_broker& broker, const ct::service_topics& t, const std::string& mechanism,
                          std::uint16_t metrics_port, const std::string& password_file = "") {
  std::ostringstream y;
  y << "kafka:\n"
    << "  bootstrap_servers: \"" << broker.bootstrap() << "\"\n"
    << "  group_id: " << t.group << "\n"
    << "  client_id: countersign-it-sec\n"
    << "  input_topics: [" << t.input << "]\n"
    << "  alerts_topic: " << t.alerts << "\n"
    << "  dead_letter_topic: \"" << t.dead_letter << "\"\n"
    << "  security:\n"
    << "    protocol: SASL_SSL\n"
    << "    sasl_mechanism: " << mechanism << "\n"
    << "    sasl_username: " << broker.username() << "\n";
  if (!password_file.empty()) y << "    sasl_password_file: \"" << password_file << "\"\n";
  y << "    ssl_ca_location: \"" << broker.ca() << "\"\n"
    << "    ssl_verify_hostname: true\n"
    << "metrics:\n"
    << "  listen: \"127.0.0.1:" << metrics_port << "\"\n"
    << "processing:\n"
    << "  commit_interval: 200ms\n"
    << "  drain_timeout: 30s\n"
    << "  threads: " << ct::processing_threads() << "\n"
    << "detectors:\n"
    << "  signature_untrusted:\n"
    << "    internal_pki_issuers: [\"Contoso Internal Code Signing CA\", \"Fabrikam Internal Code Signing CA\"]\n";
  return y.str();
}

void produce_fixture(ct::kafka_client& kafka, const std::string& topic) {
  const auto lines = ct::read_lines(k_fixture);
  ASSERT_EQ(lines.size(), 15u);
  for (std::size_t i = 0; i < lines.size(); ++i) kafka.produce(topic, "event-" + std::to_string(i), lines[i]);
  kafka.flush();
}

// The alerts on `topic` (read through SASL_SSL) as "detectors\thost" lines.
std::multiset<std::string> read_alerts(ct::kafka_client& kafka, const std::string& topic) {
  std::multiset<std::string> got;
  for (const auto& r : kafka.read_all(topic, expected_alerts().size(), 30s)) {
    const auto s = ct::summarize_alert(r.value);
    got.insert(s.detectors + "\t" + s.host);
  }
  return got;
}

// Runs countersign against the broker and checks that it consumes everything, emits the
// expected alerts and stops cleanly on SIGTERM; returns its stdout and stderr.
std::string run_end_to_end(ct::kafka_client& kafka, const ct::service_topics& t,
                           const std::string& config, const std::map<std::string, std::string>& env,
                           const std::string& log_dir) {
  ct::countersign_process service({"run", "--config", config}, log_dir, env);
  EXPECT_TRUE(kafka.wait_caught_up(t.group, t.input)) << service.stderr_text();
  EXPECT_EQ(read_alerts(kafka, t.alerts), expected_alerts()) << service.stderr_text();
  service.terminate();
  EXPECT_EQ(service.wait(60s), 0) << service.stderr_text();
  const std::string output = service.stdout_text() + service.stderr_text();
  EXPECT_EQ(lower(output).find("authentication failed"), std::string::npos) << output;
  return output;
}

}  // namespace

TEST(kafka_security, sasl_ssl_with_scram_processes_events_end_to_end) {
  const sasl_broker broker;
  ASSERT_EQ(broker.client.at("security.protocol"), "SASL_SSL");
  ct::temp_dir dir;
  ct::kafka_client kafka(broker.client);
  const ct::service_topics t(kafka, "sec");
  produce_fixture(kafka, t.input);

  const auto cfg =
      dir.write("countersign.yaml", secure_config(broker, t, "SCRAM-SHA-512", ct::free_port()));
  ASSERT_EQ(ct::read_file(cfg).find(broker.password()), std::string::npos) << "the password must come from the environment";
  const auto output = run_end_to_end(kafka, t, cfg, {{k_password_env, broker.password()}}, dir.path());
  EXPECT_EQ(output.find(broker.password()), std::string::npos) << "countersign printed the SASL password";
}

TEST(kafka_security, scram_sha_256_with_a_password_file_works_too) {
  const sasl_broker broker;
  ct::temp_dir dir;
  ct::kafka_client kafka(broker.client);
  const ct::service_topics t(kafka, "sec");
  produce_fixture(kafka, t.input);

  // A mounted Secret: the password on the first line, with a trailing newline.
  const auto password_file = dir.write("sasl-password", broker.password() + "\n");
  const auto cfg = dir.write("countersign.yaml",
                             secure_config(broker, t, "SCRAM-SHA-256", ct::free_port(), password_file));
  const auto output = run_end_to_end(kafka, t, cfg, {}, dir.path());
  EXPECT_EQ(output.find(broker.password()), std::string::npos) << "countersign printed the SASL password";
}

TEST(kafka_security, a_wrong_password_is_a_clear_error_and_a_nonzero_exit_not_a_hang) {
  const sasl_broker broker;
  ct::temp_dir dir;
  ct::kafka_client kafka(broker.client);
  // The topics exist and hold events: the only thing wrong is the password.
  const ct::service_topics t(kafka, "sec");
  produce_fixture(kafka, t.input);

  const std::string wrong = "Wr0ng-" + ct::unique_name("pw") + "-x7Q";
  ASSERT_NE(wrong, broker.password());
  const auto cfg =
      dir.write("countersign.yaml", secure_config(broker, t, "SCRAM-SHA-512", ct::free_port()));

  const auto started = std::chrono::steady_clock::now();
  ct::countersign_process service({"run", "--config", cfg}, dir.path(), {{k_password_env, wrong}});
  // Well past the 60 s bound, so that a slow exit is measured rather than cut short.
  const auto code = service.wait(150s);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::cout << "[ measured ] countersign run with a wrong password: "
            << (code ? "exit " + std::to_string(*code) : std::string("still running")) << " after "
            << elapsed.count() << " ms\n";
  ::testing::Test::RecordProperty("wrong_password_exit_ms", static_cast<int>(elapsed.count()));
  const std::string err = service.stderr_text();
  const std::string output = service.stdout_text() + err;

  ASSERT_TRUE(code.has_value()) << "countersign still runs " << elapsed.count() << " ms after start:\n" << err;
  EXPECT_GT(*code, 0) << "a wrong password must end `run` with a non-zero exit (not 0, not a signal)\n" << err;
  EXPECT_LT(elapsed, 60s) << err;
  EXPECT_NE(lower(err).find("authentication failed"), std::string::npos)
      << "stderr should say that authentication failed:\n" << err;
  EXPECT_NE(err.find("SASL"), std::string::npos) << err;
  EXPECT_EQ(output.find(wrong), std::string::npos) << "countersign printed the (wrong) SASL password";
  EXPECT_EQ(output.find(broker.password()), std::string::npos);
  // Nothing was consumed or committed by the group.
  EXPECT_FALSE(kafka.group_caught_up(t.group, t.input));
}
