#include "metrics/server.hpp"

#include <fmt/format.h>

#include <array>
#include <unordered_set>

#include "metrics/http.hpp"

namespace strikeout::metrics {

namespace {
using tcp = asio::ip::tcp;

asio::ip::address to_asio(const core::Address& a) {
  if (a.is_v4()) return asio::ip::address_v4(a.v4());
  asio::ip::address_v6::bytes_type b;
  std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
  return asio::ip::address_v6(b);
}

std::string reply(int status, std::string_view reason, std::string_view content_type, const std::string& body,
                  bool head) {
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n"
      "Cache-Control: no-store\r\n\r\n",
      status, reason, content_type, body.size());
  if (!head) out += body;
  return out;
}

std::string_view reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Bad Request";
  }
}
}  // namespace

class Connection;

struct MetricsServer::Impl : std::enable_shared_from_this<MetricsServer::Impl> {
  Impl(asio::io_context& io_, MetricsServerOptions o, std::function<std::string()> r)
      : io(io_), options(o), render(std::move(r)), acceptor(io_) {}
  asio::io_context& io;
  MetricsServerOptions options;
  std::function<std::string()> render;
  tcp::acceptor acceptor;
  std::unordered_set<std::shared_ptr<Connection>> connections;
  bool closed = false;
  std::uint64_t scrapes = 0;
  std::uint64_t refused = 0;
  void accept();
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<MetricsServer::Impl> server, tcp::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), deadline_(server_->io) {}

  void start() {
    deadline_.expires_after(server_->options.deadline);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
    read();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    asio::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
    server_->connections.erase(shared_from_this());
  }

 private:
  void read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec,
                                                                              std::size_t n) {
      if (self->closed_ || self->server_->closed) return;
      if (ec) {
        self->close();
        return;
      }
      // At most kMaxRequestBytes + one chunk is ever held: the parser refuses beyond the limit.
      self->request_.append(self->chunk_.data(), n);
      const HttpRequest r = parse_http_request(self->request_);
      switch (r.status) {
        case HttpRequest::Status::Incomplete:
          self->read();
          return;
        case HttpRequest::Status::Bad:
          self->respond(reply(r.error_status, reason_of(r.error_status), "text/plain; charset=utf-8",
                              r.error + "\n", false));
          return;
        case HttpRequest::Status::Complete:
          break;
      }
      const bool head = r.method == "HEAD";
      if (r.method != "GET" && !head) {
        self->respond(reply(405, reason_of(405), "text/plain; charset=utf-8", "only GET and HEAD\n", false));
      } else if (r.target != "/metrics") {
        self->respond(
            reply(404, reason_of(404), "text/plain; charset=utf-8", "the metrics are at /metrics\n", head));
      } else {
        ++self->server_->scrapes;
        self->respond(
            reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", self->server_->render(), head));
      }
    });
  }

  void respond(std::string text) {
    out_ = std::move(text);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](const asio::error_code&, std::size_t) { self->close(); });
  }

  std::shared_ptr<MetricsServer::Impl> server_;
  tcp::socket socket_;
  asio::steady_timer deadline_;
  std::array<char, 2048> chunk_{};
  std::string request_;
  std::string out_;
  bool closed_ = false;
};

void MetricsServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](const asio::error_code& ec, tcp::socket socket) {
    if (self->closed || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (self->connections.size() >= self->options.max_connections) {
        ++self->refused;
        asio::error_code ignored;
        socket.close(ignored);
      } else {
        auto c = std::make_shared<Connection>(self, std::move(socket));
        self->connections.insert(c);
        c->start();
      }
    }
    self->accept();
  });
}

std::variant<std::unique_ptr<MetricsServer>, std::string> MetricsServer::open(
    asio::io_context& io, MetricsServerOptions options, std::function<std::string()> render) {
  auto impl = std::make_shared<Impl>(io, options, std::move(render));
  const tcp::endpoint endpoint(to_asio(options.address), options.port);
  asio::error_code ec;
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string where = endpoint.address().is_v6()
                                  ? fmt::format("[{}]:{}", endpoint.address().to_string(), options.port)
                                  : fmt::format("{}:{}", endpoint.address().to_string(), options.port);
    return "cannot listen for metrics on " + where + ": " + ec.message();
  }
  impl->accept();
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->closed = true;
  asio::error_code ignored;
  impl_->acceptor.close(ignored);
  auto connections = impl_->connections;
  for (auto& c : connections) c->close();
  impl_->connections.clear();
}

std::uint16_t MetricsServer::port() const {
  asio::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}
std::uint64_t MetricsServer::scrapes() const {
  return impl_->scrapes;
}
std::uint64_t MetricsServer::refused() const {
  return impl_->refused;
}

}  // namespace strikeout::metrics
