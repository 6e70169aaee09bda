#include "control/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <unordered_set>
#include <vector>

namespace strikeout::control {

namespace {

using stream = asio::local::stream_protocol;

// How long a dropped watcher (or a refused client) is given to read its last line before the
// connection is cut regardless.
constexpr auto kGoodbyeDeadline = std::chrono::seconds(5);

std::string errno_text(int e) {
  return std::strerror(e);
}

// True when the user `uid` belongs to `group` as a supplementary group (the primary group is
// compared by the caller from the peer's credentials).
bool user_in_group(uid_t uid, gid_t group) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return false;
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  }
  for (int i = 0; i < n; ++i) {
    if (groups[static_cast<std::size_t>(i)] == group) return true;
  }
  return false;
}

}  // namespace

class Session;

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  Impl(asio::io_context& io_, ControlServerOptions o, ControlHandler& h)
      : io(io_), options(std::move(o)), handler(h), acceptor(io_) {}

  asio::io_context& io;
  ControlServerOptions options;
  ControlHandler& handler;
  stream::acceptor acceptor;
  std::optional<gid_t> group;
  ino_t inode = 0;
  bool closed = false;
  std::unordered_set<std::shared_ptr<Session>> sessions;
  std::size_t watchers = 0;
  std::uint64_t dropped = 0;

  void accept();
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ControlServer::Impl> server, stream::socket socket)
      : server_(std::move(server)), socket_(std::move(socket)), deadline_(server_->io) {}

  // Reads the peer's credentials and decides what it may do; refuses it with one line otherwise.
  void start(bool busy) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      refuse(code::kForbidden, "the daemon could not read this client's credentials");
      return;
    }
    peer_.pid = cred.pid;
    peer_.uid = cred.uid;
    peer_.gid = cred.gid;
    peer_.admin = cred.uid == 0;
    allowed_ = peer_.admin;
    if (!allowed_ && server_->group) {
      allowed_ = cred.gid == *server_->group || user_in_group(cred.uid, *server_->group);
    }
    if (!allowed_) {
      refuse(code::kForbidden,
             "permission denied: the control socket is for root" +
                 std::string(server_->group ? " and the group " + server_->options.group : ""));
      return;
    }
    if (busy) {
      refuse(code::kBusy, "too many clients on the control socket; try again");
      return;
    }
    pump();
  }

  // Queues a watch line; drops the watcher when its backlog would grow past the limit.
  void publish(const std::string& line) {
    if (!watching_ || closing_) return;
    if (queued_bytes_ + line.size() + 1 > server_->options.max_watch_backlog) {
      ++server_->dropped;
      // Keep only the line being written (it cannot be taken back half-sent), then say why.
      while (out_.size() > (writing_ ? 1U : 0U)) {
        queued_bytes_ -= out_.back().size();
        out_.pop_back();
      }
      send(
          format_watch_end("dropped: this watcher did not read fast enough; the daemon never waits for one") +
          '\n');
      finish();
      return;
    }
    send(line + '\n');
  }

  bool watching() const { return watching_ && !closing_; }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (watching_) --server_->watchers;
    watching_ = false;
    asio::error_code ignored;
    socket_.shutdown(stream::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
    server_->sessions.erase(shared_from_this());
  }

 private:
  void refuse(std::string_view c, const std::string& message) {
    send(format_error(0, c, message) + '\n');
    finish();
  }

  // No more requests: the queued lines are sent, then the connection is closed (at the latest
  // after kGoodbyeDeadline).
  void finish() {
    closing_ = true;
    if (!writing_ && out_.empty()) {
      close();
      return;
    }
    deadline_.expires_after(kGoodbyeDeadline);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (!ec) self->close();
    });
  }

  void send(std::string line) {
    queued_bytes_ += line.size();
    out_.push_back(std::move(line));
    write_next();
  }

  void write_next() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                        self->writing_ = false;
                        if (self->closed_ || self->server_->closed) return;
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->queued_bytes_ -= self->out_.front().size();
                        self->out_.pop_front();
                        if (!self->out_.empty()) {
                          self->write_next();
                        } else if (self->closing_) {
                          self->close();
                        } else {
                          self->pump();
                        }
                      });
  }

  // Answers complete request lines, one at a time: the next is taken only when the previous answer
  // is written, so a client that sends without reading cannot make the daemon hold its answers.
  void pump() {
    while (!closing_ && !closed_ && out_.empty()) {
      const auto nl = in_.find('\n');
      if (nl == std::string::npos) {
        if (in_.size() > kMaxLine) {
          send(format_error(0, code::kBadRequest,
                            "request longer than " + std::to_string(kMaxLine) + " bytes without a newline") +
               '\n');
          finish();
          return;
        }
        if (eof_) {
          close();
          return;
        }
        break;
      }
      std::string_view line(in_.data(), nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) answer(line);
      in_.erase(0, nl + 1);
    }
    read_more();
  }

  void read_more() {
    if (reading_ || closing_ || closed_ || eof_ || in_.size() > kMaxLine) return;
    reading_ = true;
    socket_.async_read_some(asio::buffer(chunk_),
                            [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                              self->reading_ = false;
                              if (self->closed_ || self->server_->closed) return;
                              if (ec) {
                                // The client went away (or shut its side after sending its request): answer
                                // what is left.
                                self->eof_ = true;
                                if (self->watching_) {
                                  self->close();
                                  return;
                                }
                              } else {
                                self->in_.append(self->chunk_.data(), n);
                              }
                              self->pump();
                            });
  }

  void answer(std::string_view line) {
    auto parsed = parse_request(line);
    if (auto* error = std::get_if<ProtocolError>(&parsed)) {
      send(format_error(error->id, code::kBadRequest, error->message) + '\n');
      return;
    }
    const Request& request = std::get<Request>(parsed);
    if (!peer_.admin && !is_read_only(request.command)) {
      send(format_error(request.id, code::kForbidden,
                        "\"" + std::string(to_string(request.command)) + "\" is for root only; the group " +
                            server_->options.group + " may use status, list, explain, watch and allow list") +
           '\n');
      return;
    }
    if (request.command == Command::Watch && watching_) {
      send(format_error(request.id, code::kBadRequest, "this connection is already watching") + '\n');
      return;
    }
    Reply reply = server_->handler.handle(request, peer_);
    if (closed_) return;  // the handler's work may have ended the server
    if (!reply.ok) {
      send(format_error(request.id, reply.code.empty() ? code::kFailed : reply.code, reply.error) + '\n');
      return;
    }
    send(format_ok(request.id, reply.result) + '\n');
    if (request.command == Command::Watch) {
      watching_ = true;
      ++server_->watchers;
    }
  }

  std::shared_ptr<ControlServer::Impl> server_;
  stream::socket socket_;
  asio::steady_timer deadline_;
  Peer peer_;
  bool allowed_ = false;
  std::array<char, 4096> chunk_{};
  std::string in_;
  std::deque<std::string> out_;
  std::size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool watching_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool eof_ = false;
};

void ControlServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](const asio::error_code& ec, stream::socket socket) {
    if (self->closed) return;
    if (!ec) {
      const bool busy = self->sessions.size() >= self->options.max_clients;
      auto session = std::make_shared<Session>(self, std::move(socket));
      self->sessions.insert(session);
      session->start(busy);
    } else if (ec == asio::error::operation_aborted) {
      return;
    }
    // Out of file descriptors (EMFILE) and the like: keep serving, the next client may succeed.
    self->accept();
  });
}

std::variant<std::unique_ptr<ControlServer>, std::string> ControlServer::open(asio::io_context& io,
                                                                              ControlServerOptions options,
                                                                              ControlHandler& handler) {
  const std::string path = options.socket.string();
  if (path.empty()) return std::string("[control] socket is empty");
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return "control socket path " + path + " is longer than a Unix socket path may be (" +
           std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes)";
  }
  auto impl = std::make_shared<Impl>(io, std::move(options), handler);
  if (!impl->options.group.empty()) {
    std::vector<char> buf(16384);
    group gr{};
    group* found = nullptr;
    if (getgrnam_r(impl->options.group.c_str(), &gr, buf.data(), buf.size(), &found) != 0 ||
        found == nullptr) {
      return "[control] group \"" + impl->options.group + "\" does not exist on this system";
    }
    impl->group = gr.gr_gid;
  }
  std::error_code fs_ec;
  const auto dir = impl->options.socket.parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, fs_ec)) {
    std::filesystem::create_directories(dir, fs_ec);
    if (fs_ec)
      return "cannot create the directory " + dir.string() + " of the control socket: " + fs_ec.message();
    ::chmod(dir.c_str(), 0755);
  }

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return path + " exists and is not a socket: not replacing it";
    stream::socket probe(io);
    asio::error_code ec;
    probe.connect(stream::endpoint(path), ec);
    if (!ec) return "another strikeout daemon is answering on " + path;
    ::unlink(path.c_str());  // left by a daemon that is gone
  }

  asio::error_code ec;
  impl->acceptor.open(stream(), ec);
  if (!ec) impl->acceptor.bind(stream::endpoint(path), ec);
  if (ec) return "cannot create the control socket " + path + ": " + ec.message();
  // Mode first, then owner: at no point may anyone but root (and the group, when configured) connect.
  const mode_t mode = impl->group ? 0660 : 0600;
  if (::chmod(path.c_str(), mode) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return "cannot set the mode of " + path + ": " + errno_text(e);
  }
  if (impl->group && ::chown(path.c_str(), 0, *impl->group) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return "cannot give " + path + " to the group " + impl->options.group + ": " + errno_text(e);
  }
  impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    return "cannot listen on the control socket " + path + ": " + ec.message();
  }
  if (::lstat(path.c_str(), &st) == 0) impl->inode = st.st_ino;
  impl->accept();
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlServer::~ControlServer() {
  impl_->closed = true;
  asio::error_code ignored;
  impl_->acceptor.close(ignored);
  auto sessions = impl_->sessions;  // close() erases from the set
  for (auto& s : sessions) s->close();
  impl_->sessions.clear();
  // Remove the socket only if it is still ours (a new daemon may already have replaced it).
  const std::string path = impl_->options.socket.string();
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == impl_->inode)
    ::unlink(path.c_str());
}

void ControlServer::publish(const nlohmann::json& event) {
  if (impl_->watchers == 0) return;
  const std::string line = format_watch(event);
  // publish() may drop a watcher, which changes the set: walk a copy.
  std::vector<std::shared_ptr<Session>> watching;
  for (const auto& s : impl_->sessions) {
    if (s->watching()) watching.push_back(s);
  }
  for (auto& s : watching) s->publish(line);
}

bool ControlServer::has_watchers() const {
  return impl_->watchers > 0;
}
std::size_t ControlServer::watchers() const {
  return impl_->watchers;
}
std::size_t ControlServer::clients() const {
  return impl_->sessions.size();
}
std::uint64_t ControlServer::watchers_dropped() const {
  return impl_->dropped;
}

}  // namespace strikeout::control
