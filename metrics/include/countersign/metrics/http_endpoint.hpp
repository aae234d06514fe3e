#pragma once
// The HTTP endpoint: `/metrics` (Prometheus text format from a prometheus-cpp registry),
// `/healthz` and `/readyz` (200 or 503 from a `health_state`).
//
// prometheus-cpp's Exposer serves only collectables, so it cannot answer health probes
// with a status code; this endpoint runs the same embedded server the Exposer is built
// on (civetweb) and serializes the registry with prometheus-cpp's TextSerializer.
// Owns two civetweb worker threads; destroying it stops them.

#include <countersign/metrics/health.hpp>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace countersign::metrics {

class http_endpoint {
 public:
  // Binds `listen` ("host:port"; port 0 picks a free one). A busy port or a bad address
  // is returned as an error message, never thrown.
  [[nodiscard]] static std::expected<std::unique_ptr<http_endpoint>, std::string> start(
      const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
      std::shared_ptr<const health_state> health);

  ~http_endpoint();
  http_endpoint(const http_endpoint&) = delete;
  http_endpoint& operator=(const http_endpoint&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

 private:
  struct impl;
  explicit http_endpoint(std::unique_ptr<impl> p, std::uint16_t port);
  std::unique_ptr<impl> impl_;
  std::uint16_t port_;
};

}  // namespace countersign::metrics
