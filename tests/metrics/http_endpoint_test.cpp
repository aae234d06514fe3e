// The HTTP endpoint (metrics/src/http_endpoint.cpp): /metrics, /healthz, /readyz, and a
// busy port reported as an error. Talks HTTP/1.0 over a plain POSIX socket.

#include <countersign/metrics/health.hpp>
#include <countersign/metrics/http_endpoint.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace countersign::metrics {
namespace http_endpoint_test {  // one per file: the test programs are unity builds
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct http_response {
  int status = 0;
  std::string headers;
  std::string body;
};

// One GET to 127.0.0.1:port; nullopt when the connection or the response fails. The
// server closes the connection after each response, so the body runs to EOF.
std::optional<http_response> http_get(std::uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval timeout{};
  timeout.tv_sec = 10;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    const auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return std::nullopt;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto header_end = raw.find("\r\n\r\n");
  if (header_end == std::string::npos || !raw.starts_with("HTTP/1.")) return std::nullopt;
  http_response r;
  r.headers = raw.substr(0, header_end);
  r.body = raw.substr(header_end + 4);
  const auto space = r.headers.find(' ');
  if (space == std::string::npos) return std::nullopt;
  r.status = std::stoi(r.headers.substr(space + 1, 3));
  return r;
}

std::unique_ptr<http_endpoint> start_or_fail(std::shared_ptr<prometheus::Registry> registry,
                                             std::shared_ptr<const health_state> health) {
  auto started = http_endpoint::start("127.0.0.1:0", std::move(registry), std::move(health));
  EXPECT_TRUE(started.has_value()) << (started ? "" : started.error());
  if (!started) return nullptr;
  EXPECT_NE((*started)->port(), 0) << "port 0 must be resolved to the port actually bound";
  return std::move(*started);
}

TEST(http_endpoint, serves_registered_counters_on_metrics) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter()
                     .Name("countersign_test_widgets_total")
                     .Help("Widgets seen by the test")
                     .Register(*registry);
  family.Add({{"kind", "blue"}}).Increment(3);
  auto endpoint = start_or_fail(registry, std::make_shared<health_state>());
  ASSERT_NE(endpoint, nullptr);

  const auto r = http_get(endpoint->port(), "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->headers, HasSubstr("text/plain"));
  EXPECT_THAT(r->body, HasSubstr("# HELP countersign_test_widgets_total Widgets seen by the test"));
  EXPECT_THAT(r->body, HasSubstr("# TYPE countersign_test_widgets_total counter"));
  EXPECT_THAT(r->body, HasSubstr("countersign_test_widgets_total{kind=\"blue\"} 3"));

  // The registry is read per request, not copied at start.
  family.Add({{"kind", "blue"}}).Increment(2);
  const auto again = http_get(endpoint->port(), "/metrics");
  ASSERT_TRUE(again.has_value());
  EXPECT_THAT(again->body, HasSubstr("countersign_test_widgets_total{kind=\"blue\"} 5"));
}

TEST(http_endpoint, healthz_is_200_while_the_loop_beats) {
  auto health = std::make_shared<health_state>(std::chrono::hours(1));
  auto endpoint = start_or_fail(std::make_shared<prometheus::Registry>(), health);
  ASSERT_NE(endpoint, nullptr);
  health->beat();
  const auto r = http_get(endpoint->port(), "/healthz");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
}

TEST(http_endpoint, healthz_is_503_once_the_stall_limit_has_passed) {
  auto health = std::make_shared<health_state>(std::chrono::milliseconds(1));
  health->set_started();
  auto endpoint = start_or_fail(std::make_shared<prometheus::Registry>(), health);
  ASSERT_NE(endpoint, nullptr);
  // Poll (no fixed sleep) until the 1 ms stall limit has passed; nothing beats after that.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (health->alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_FALSE(health->alive()) << "the stall limit never passed";

  const auto r = http_get(endpoint->port(), "/healthz");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_THAT(r->headers, StartsWith("HTTP/1.1 503"));
  EXPECT_EQ(r->body, "stalled\n");
}

// Before the processing loop runs (state opening, topic creation, the global table),
// the stall limit does not apply: start-up has its own, longer limit.
TEST(health_state, start_up_counts_as_alive_until_the_start_up_limit) {
  health_state starting(std::chrono::milliseconds(1), std::chrono::hours(1));
  const auto stalled_by_now = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  while (std::chrono::steady_clock::now() < stalled_by_now) std::this_thread::yield();
  EXPECT_TRUE(starting.alive()) << "no beat for longer than the stall limit, but still starting";
  EXPECT_FALSE(starting.started());
  starting.set_started();
  EXPECT_TRUE(starting.started());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (starting.alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_FALSE(starting.alive()) << "once started, the stall limit applies";

  health_state stuck(std::chrono::hours(1), std::chrono::milliseconds(1));
  const auto stuck_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stuck.alive() && std::chrono::steady_clock::now() < stuck_deadline) std::this_thread::yield();
  EXPECT_FALSE(stuck.alive()) << "a start-up longer than its limit is not alive";
}

// processing.threads: each thread reports as a part; the process is ready, started and
// alive only as a whole.
TEST(health_state, every_processing_thread_must_be_started_ready_and_beating) {
  health_state h(std::chrono::milliseconds(200), std::chrono::hours(1));
  h.set_parts(2);
  h.set_started(0);
  EXPECT_FALSE(h.started()) << "one of two threads started";
  h.set_started(1);
  EXPECT_TRUE(h.started());
  h.set_ready(0, true);
  EXPECT_FALSE(h.ready()) << "the second thread is still restoring";
  h.set_ready(1, true);
  EXPECT_TRUE(h.ready());
  h.set_ready(1, false);
  EXPECT_FALSE(h.ready());
  h.set_ready(1, true);
  // Thread 1 stops beating (wedged); thread 0 beating does not keep the process alive.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.alive() && std::chrono::steady_clock::now() < deadline) {
    h.beat(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(h.alive()) << "a wedged thread must fail /healthz";
  h.beat(1);
  h.beat(0);
  EXPECT_TRUE(h.alive());
}

TEST(http_endpoint, readyz_is_503_until_set_ready) {
  auto health = std::make_shared<health_state>(std::chrono::hours(1));
  auto endpoint = start_or_fail(std::make_shared<prometheus::Registry>(), health);
  ASSERT_NE(endpoint, nullptr);

  const auto before = http_get(endpoint->port(), "/readyz");
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->status, 503);
  EXPECT_EQ(before->body, "not ready\n");

  health->set_ready(true);
  const auto after = http_get(endpoint->port(), "/readyz");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->body, "ok\n");

  health->set_ready(false);  // e.g. during shutdown
  const auto draining = http_get(endpoint->port(), "/readyz");
  ASSERT_TRUE(draining.has_value());
  EXPECT_EQ(draining->status, 503);
}

TEST(http_endpoint, readiness_and_liveness_are_independent) {
  auto health = std::make_shared<health_state>(std::chrono::milliseconds(1));
  health->set_started();
  health->set_ready(true);
  auto endpoint = start_or_fail(std::make_shared<prometheus::Registry>(), health);
  ASSERT_NE(endpoint, nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (health->alive() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_FALSE(health->alive());
  const auto ready = http_get(endpoint->port(), "/readyz");
  const auto live = http_get(endpoint->port(), "/healthz");
  ASSERT_TRUE(ready.has_value());
  ASSERT_TRUE(live.has_value());
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(live->status, 503);
}

TEST(http_endpoint, a_second_endpoint_on_a_busy_port_returns_an_error_naming_the_address) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto health = std::make_shared<health_state>();
  auto first = start_or_fail(registry, health);
  ASSERT_NE(first, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(first->port());

  auto second = http_endpoint::start(address, registry, health);
  ASSERT_FALSE(second.has_value());
  EXPECT_THAT(second.error(), HasSubstr(address));

  // The first endpoint is unaffected.
  const auto r = http_get(first->port(), "/healthz");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
}

TEST(http_endpoint, a_bad_address_returns_an_error) {
  auto started = http_endpoint::start("not-an-address:99999", std::make_shared<prometheus::Registry>(),
                                      std::make_shared<health_state>());
  ASSERT_FALSE(started.has_value());
  EXPECT_THAT(started.error(), HasSubstr("not-an-address:99999"));
}

TEST(http_endpoint, stops_listening_when_destroyed) {
  auto endpoint = start_or_fail(std::make_shared<prometheus::Registry>(), std::make_shared<health_state>());
  ASSERT_NE(endpoint, nullptr);
  const auto port = endpoint->port();
  ASSERT_TRUE(http_get(port, "/healthz").has_value());
  endpoint.reset();
  EXPECT_FALSE(http_get(port, "/healthz").has_value());
}

}  // namespace
}  // namespace http_endpoint_test
}  // namespace countersign::metrics
