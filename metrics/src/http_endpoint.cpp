#include <countersign/metrics/http_endpoint.hpp>

#include <CivetServer.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <string_view>
#include <vector>

namespace countersign::metrics {
namespace {

void respond(mg_connection* conn, int status, std::string_view content_type, std::string_view body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %.*s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, status == 200 ? "OK" : "Service Unavailable",
            static_cast<int>(content_type.size()), content_type.data(), body.size());
  mg_write(conn, body.data(), body.size());
}

class metrics_handler final : public CivetHandler {
 public:
  explicit metrics_handler(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const std::string body = prometheus::TextSerializer().Serialize(registry_->Collect());
    respond(conn, 200, "text/plain; version=0.0.4; charset=utf-8", body);
    return true;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

class probe_handler final : public CivetHandler {
 public:
  probe_handler(std::shared_ptr<const health_state> health, bool readiness)
      : health_(std::move(health)), readiness_(readiness) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    const bool ok = readiness_ ? health_->ready() : health_->alive();
    respond(conn, ok ? 200 : 503, "text/plain", ok ? "ok\n" : (readiness_ ? "not ready\n" : "stalled\n"));
    return true;
  }

 private:
  std::shared_ptr<const health_state> health_;
  bool readiness_;
};

// Keeps civetweb's own error chatter (e.g. "cannot bind") off stderr; we report it.
int quiet_log(const mg_connection*, const char*) { return 1; }

}  // namespace

struct http_endpoint::impl {
  CivetCallbacks callbacks{};
  metrics_handler metrics;
  probe_handler healthz;
  probe_handler readyz;
  std::unique_ptr<CivetServer> server;

  impl(std::shared_ptr<prometheus::Registry> registry, std::shared_ptr<const health_state> health)
      : metrics(std::move(registry)), healthz(health, false), readyz(health, true) {
    callbacks.log_message = &quiet_log;
  }
};

std::expected<std::unique_ptr<http_endpoint>, std::string> http_endpoint::start(
    const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
    std::shared_ptr<const health_state> health) {
  auto p = std::make_unique<impl>(std::move(registry), std::move(health));
  const std::vector<std::string> options = {"listening_ports", listen, "num_threads", "2",
                                            "request_timeout_ms", "10000"};
  try {
    p->server = std::make_unique<CivetServer>(options, &p->callbacks);
  } catch (const std::exception& e) {
    return std::unexpected("cannot listen on " + listen + " (port in use or bad address): " + e.what());
  }
  if (p->server->getContext() == nullptr) {
    return std::unexpected("cannot listen on " + listen + " (port in use or bad address)");
  }
  p->server->addHandler("/metrics", p->metrics);
  p->server->addHandler("/healthz", p->healthz);
  p->server->addHandler("/readyz", p->readyz);
  const auto ports = p->server->getListeningPorts();
  const auto port = ports.empty() ? 0 : static_cast<std::uint16_t>(ports.front());
  return std::unique_ptr<http_endpoint>(new http_endpoint(std::move(p), port));
}

http_endpoint::http_endpoint(std::unique_ptr<impl> p, std::uint16_t port)
    : impl_(std::move(p)), port_(port) {}

http_endpoint::~http_endpoint() {
  if (impl_ && impl_->server) impl_->server->close();
}

}  // namespace countersign::metrics
