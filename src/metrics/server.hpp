// The metrics endpoint: GET /metrics over HTTP/1.1 on the daemon's Asio loop, Prometheus text.
// Bounded: at most max_connections at once (more are closed at accept), kMaxRequestBytes per request,
// a deadline per connection, one request per connection (Connection: close).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include <asio.hpp>

#include "core/address.hpp"

namespace strikeout::metrics {

struct MetricsServerOptions {
  core::Address address = core::Address::from_v4(0x7F000001U);
  std::uint16_t port = 9753;  // 0: any free port (tests); see port()
  std::size_t max_connections = 16;
  std::chrono::milliseconds deadline{10000};  // to send the request and read the answer
};

class MetricsServer {
 public:
  // `render` is called on the loop for each GET /metrics and returns the exposition text.
  static std::variant<std::unique_ptr<MetricsServer>, std::string> open(asio::io_context& io,
                                                                        MetricsServerOptions options,
                                                                        std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  std::uint16_t port() const;     // the port bound (useful with port 0)
  std::uint64_t scrapes() const;  // answered GET /metrics
  std::uint64_t refused() const;  // connections closed for the limit

  struct Impl;

 private:
  explicit MetricsServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace strikeout::metrics
