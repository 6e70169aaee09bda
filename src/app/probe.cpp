#include "app/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "report/text_escape.hpp"

#if STRIKEOUT_HAVE_OPENSSL
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

namespace strikeout::app {

namespace {

constexpr std::size_t kMaxReplyLines = 100;
constexpr std::size_t kMaxLineBytes = 4096;

std::string b64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return std::uint32_t{static_cast<unsigned char>(in[k])}; };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    for (int k = 3; k >= 0; --k) out.push_back(kAlphabet[(v >> (6 * k)) & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    const std::uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::string hex;
  for (char c : raw) hex += fmt::format("{:02x}", static_cast<unsigned char>(c));
  return hex;
}

// Splits "host", "host:port", "[v6]:port", "[v6]" or a bare IPv6 address (several colons, no
// brackets: no port). Refuses an empty host, a missing ']' and a port outside 1..65535.
bool parse_target(const std::string& t, std::string& host, std::uint16_t& port, std::string& error) {
  port = 587;
  std::string port_text;
  bool has_port = false;
  if (!t.empty() && t.front() == '[') {
    const auto close = t.find(']');
    if (close == std::string::npos) {
      error = "\"" + t + "\": missing ']' after the IPv6 address";
      return false;
    }
    host = t.substr(1, close - 1);
    if (close + 1 < t.size()) {
      if (t[close + 1] != ':') {
        error = "\"" + t + "\": expected ':PORT' after ']'";
        return false;
      }
      has_port = true;
      port_text = t.substr(close + 2);
    }
  } else if (std::count(t.begin(), t.end(), ':') == 1) {
    host = t.substr(0, t.find(':'));
    has_port = true;
    port_text = t.substr(t.find(':') + 1);
  } else {
    host = t;
  }
  if (host.empty()) {
    error = "\"" + t + "\": no host given";
    return false;
  }
  if (has_port) {
    unsigned long value = 0;
    bool ok = !port_text.empty() && port_text.size() <= 5;
    for (char c : port_text) {
      if (c < '0' || c > '9') ok = false;
      value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!ok || value == 0 || value > 65535) {
      error = "\"" + t + "\": the port must be a number from 1 to 65535";
      return false;
    }
    port = static_cast<std::uint16_t>(value);
  }
  return true;
}

// A connection to the server: plain socket, or TLS after STARTTLS.
class Session {
 public:
  explicit Session(std::chrono::milliseconds timeout) : timeout_(timeout) {}
  ~Session() {
#if STRIKEOUT_HAVE_OPENSSL
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
      SSL_CTX_free(ctx_);
    }
#endif
    if (fd_ >= 0) close(fd_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects to the first address of `host` that answers. Sets `error` in the operator's words.
  bool connect_to(const std::string& host, std::uint16_t port, std::string& address, std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (rc != 0) {
      error = fmt::format("cannot resolve \"{}\": {}", host, gai_strerror(rc));
      return false;
    }
    error.clear();
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      char text[INET6_ADDRSTRLEN] = {0};
      const void* where =
          ai->ai_family == AF_INET
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
      inet_ntop(ai->ai_family, where, text, sizeof text);
      address = text;
      const std::string shown = ai->ai_family == AF_INET6 ? "[" + address + "]" : address;
      const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) continue;
      int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
      int err = r == 0 ? 0 : errno;
      if (r != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        const int n = poll(&p, 1, static_cast<int>(timeout_.count()));
        if (n == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof err;
          getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        }
      }
      if (err == 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        fd_ = fd;
        freeaddrinfo(list);
        return true;
      }
      close(fd);
      if (err == ECONNREFUSED) {
        error = fmt::format(
            "connection refused by {}:{} (nothing listens on that port, or a firewall rejects us)", shown,
            port);
      } else if (err == ETIMEDOUT) {
        error =
            fmt::format("no answer from {}:{} within {} (a firewall dropping packets, or the host is down)",
                        shown, port, format_ms(timeout_));
      } else {
        error = fmt::format("cannot connect to {}:{}: {}", shown, port, std::strerror(err));
      }
    }
    freeaddrinfo(list);
    return false;
  }

  bool send_line(const std::string& line, std::string& error) {
    const std::string data = line + "\r\n";
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = 0;
#if STRIKEOUT_HAVE_OPENSSL
      if (ssl_ != nullptr) {
        n = SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent));
      } else
#endif
      {
        n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      }
      if (n <= 0) {
        error = "the server closed the connection while we were sending";
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads one whole reply (all its lines). Refuses lines that are not SMTP reply lines.
  bool read_reply(std::vector<std::string>& lines, std::string& error, const char* what) {
    lines.clear();
    for (;;) {
      std::string line;
      if (!read_line(line, error, what)) return false;
      const bool code = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                        std::isdigit(static_cast<unsigned char>(line[1])) &&
                        std::isdigit(static_cast<unsigned char>(line[2]));
      if (!code || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        std::string shown;
        report::append_quoted(shown, line.substr(0, 80));
        error = fmt::format("not an SMTP server: the {} was {}", what, shown);
        lines.push_back(line);
        return false;
      }
      lines.push_back(line);
      if (line.size() == 3 || line[3] == ' ') return true;
      if (lines.size() == kMaxReplyLines) {
        error =
            fmt::format("not an SMTP server: the {} went on for more than {} lines", what, kMaxReplyLines);
        return false;
      }
    }
  }

#if STRIKEOUT_HAVE_OPENSSL
  // TLS on the connection (after the server's 220 to STARTTLS). The server's certificate is not
  // verified: probe only needs to see what it answers, not to trust it.
  bool start_tls(const std::string& host, std::string& version, std::string& error) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    // SNI (SSL_set_tlsext_host_name is a macro with a C cast: call what it expands to).
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
    if (SSL_connect(ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      error = std::string("TLS handshake failed: ") + buf;
      return false;
    }
    version = SSL_get_version(ssl_);
    buffer_.clear();
    return true;
  }
#endif

  static std::string format_ms(std::chrono::milliseconds d) {
    return d.count() % 1000 == 0 ? fmt::format("{} s", d.count() / 1000) : fmt::format("{} ms", d.count());
  }

 private:
  bool read_line(std::string& line, std::string& error, const char* what) {
    for (;;) {
      const auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (buffer_.size() > kMaxLineBytes) {
        error =
            fmt::format("not an SMTP server: the {} has a line longer than {} bytes", what, kMaxLineBytes);
        return false;
      }
      char buf[2048];
      ssize_t n = 0;
#if STRIKEOUT_HAVE_OPENSSL
      if (ssl_ != nullptr) {
        n = SSL_read(ssl_, buf, sizeof buf);
      } else
#endif
      {
        n = recv(fd_, buf, sizeof buf, 0);
      }
      if (n > 0) {
        buffer_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        error = buffer_.empty()
                    ? fmt::format("no {} within {} (is this an SMTP port?)", what, format_ms(timeout_))
                    : fmt::format("not an SMTP server: the {} did not end a line within {}", what,
                                  format_ms(timeout_));
      } else {
        error = fmt::format("the server closed the connection instead of sending the {}", what);
      }
      return false;
    }
  }

  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;
#if STRIKEOUT_HAVE_OPENSSL
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
#endif
};

std::string upper(std::string s) {
  for (char& c : s) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return s;
}

// From EHLO's lines: the AUTH mechanisms and whether STARTTLS is offered.
void read_ehlo(const std::vector<std::string>& lines, std::vector<std::string>& mechanisms, bool& starttls) {
  mechanisms.clear();
  starttls = false;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string kw = upper(lines[i].substr(4));
    if (kw == "STARTTLS") starttls = true;
    if (kw.rfind("AUTH ", 0) == 0 || kw.rfind("AUTH=", 0) == 0) {
      std::string rest = kw.substr(5);
      std::size_t at = 0;
      while (at < rest.size()) {
        const auto sp = std::min(rest.find(' ', at), rest.size());
        const std::string m = rest.substr(at, sp - at);
        if (!m.empty() && std::find(mechanisms.begin(), mechanisms.end(), m) == mechanisms.end())
          mechanisms.push_back(m);
        at = sp + 1;
      }
    }
  }
}

bool offered(const std::vector<std::string>& mechanisms, const char* m) {
  return std::find(mechanisms.begin(), mechanisms.end(), m) != mechanisms.end();
}

// Tries one mechanism with the random credentials. Returns false when the connection broke.
bool try_auth(Session& s, const std::string& mechanism, bool tls, const std::string& user,
              const std::string& password, ProbeReport& report, std::string& error) {
  ProbeAttempt a;
  a.mechanism = mechanism;
  a.tls = tls;
  auto step = [&](const std::string& wire, const std::string& shown) {
    ProbeStep st;
    st.sent = shown;
    if (!s.send_line(wire, error) || !s.read_reply(st.reply, error, "reply to AUTH")) {
      if (!st.reply.empty()) a.steps.push_back(st);
      return false;
    }
    a.steps.push_back(st);
    return true;
  };
  bool ok = true;
  if (mechanism == "LOGIN") {
    ok = step("AUTH LOGIN", "AUTH LOGIN");
    if (ok && a.steps.back().reply.back().rfind("334", 0) == 0) {
      ok = step(b64(user), "(username \"" + user + "\", base64)");
      if (ok && a.steps.back().reply.back().rfind("334", 0) == 0)
        ok = step(b64(password), "(password, base64)");
    }
  } else {
    std::string raw;
    raw += '\0';
    raw += user;
    raw += '\0';
    raw += password;
    ok = step("AUTH PLAIN " + b64(raw), "AUTH PLAIN (username \"" + user + "\" and password, base64)");
  }
  if (!a.steps.empty() && !a.steps.back().reply.empty()) {
    a.final_reply = a.steps.back().reply.back();
    a.failed = !a.final_reply.empty() && a.final_reply[0] == '5';
  }
  report.attempts.push_back(std::move(a));
  return ok;
}

}  // namespace

ProbeReport probe_server(const ProbeOptions& options) {
  ProbeReport r;
  if (!parse_target(options.target, r.host, r.port, r.error)) return r;
  Session s(options.timeout);
  if (!s.connect_to(r.host, r.port, r.address, r.error)) return r;
  if (!s.read_reply(r.banner, r.error, "greeting")) return r;
  if (r.banner.back().rfind("220", 0) != 0) {
    r.error = "the server refused to talk to us: " + r.banner.back();
    return r;
  }
  if (!s.send_line("EHLO " + options.helo, r.error) || !s.read_reply(r.ehlo, r.error, "reply to EHLO"))
    return r;
  if (r.ehlo.back().rfind("250", 0) != 0) {
    r.error = "EHLO was refused: " + r.ehlo.back();
    return r;
  }
  read_ehlo(r.ehlo, r.mechanisms, r.starttls_offered);
  r.auth_before_tls = !r.mechanisms.empty();
  const std::string user = options.username.empty() ? "probe-" + random_hex(4) : options.username;
  std::string password = random_hex(12);
  std::string error;
  bool alive = true;
  for (const char* m : {"LOGIN", "PLAIN"}) {
    if (alive && offered(r.mechanisms, m)) alive = try_auth(s, m, false, user, password, r, error);
  }
  if (alive && r.starttls_offered && options.starttls) {
#if STRIKEOUT_HAVE_OPENSSL
    std::vector<std::string> reply;
    if (!s.send_line("STARTTLS", error) || !s.read_reply(reply, error, "reply to STARTTLS")) {
      r.tls_status = "failed: " + error;
    } else if (reply.back().rfind("220", 0) != 0) {
      r.tls_status = "refused: " + reply.back();
    } else {
      std::string version;
      if (!s.start_tls(r.host, version, error)) {
        r.tls_status = "failed: " + error;
      } else if (!s.send_line("EHLO " + options.helo, error) ||
                 !s.read_reply(reply, error, "reply to EHLO")) {
        r.tls_status = "failed after the handshake: " + error;
      } else {
        r.tls_status = "ok (" + version + ")";
        bool tls_starttls = false;
        read_ehlo(reply, r.mechanisms_tls, tls_starttls);
        bool tls_alive = true;
        for (const char* m : {"LOGIN", "PLAIN"}) {
          if (tls_alive && offered(r.mechanisms_tls, m))
            tls_alive = try_auth(s, m, true, user, password, r, error);
        }
      }
    }
#else
    r.tls_status = "not tried: this strikeout was built without OpenSSL";
#endif
  }
  std::vector<std::string> bye;
  if (s.send_line("QUIT", error)) s.read_reply(bye, error, "reply to QUIT");
  std::fill(password.begin(), password.end(), '\0');
  return r;
}

namespace {

// The mail server software, from its greeting, for the log-source suggestion.
std::string server_software(const ProbeReport& r) {
  const std::string b = r.banner.empty() ? "" : upper(r.banner.front());
  for (const char* name : {"POSTFIX", "EXIM", "SENDMAIL", "OPENSMTPD", "COURIER"}) {
    if (b.find(name) != std::string::npos) {
      std::string n(name);
      for (std::size_t i = 1; i < n.size(); ++i) n[i] = static_cast<char>(n[i] - 'A' + 'a');
      return n;
    }
  }
  return "";
}

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::string> suggested_configuration(const ProbeReport& r) {
  std::vector<std::string> lines;
  const ProbeAttempt* plain_failure = nullptr;
  for (const auto& a : r.attempts) {
    if (!a.tls && a.failed) {
      plain_failure = &a;
      break;
    }
  }
  if (plain_failure != nullptr) {
    const std::string& reply = plain_failure->final_reply;
    const std::string code = reply.substr(0, 3);
    lines.push_back("[wire]   # the server's own failure reply, seen leaving it");
    lines.push_back("failure_replies = [" + toml_string(code) + "]   # every " + code + " reply");
    const std::string exact = reply.substr(0, 64);
    if (exact.size() > 3) {
      lines.push_back("# or exactly what this server said (the recipe's way):");
      lines.push_back("# failure_replies = [" + toml_string(exact) + "]");
    }
  } else if (r.auth_before_tls || r.starttls_offered) {
    lines.push_back(
        "# The wire sees no failure reply from this server before TLS: count failures from its log.");
  }
  const std::string software = server_software(r);
  lines.push_back("[[source]]   # the log: also sees AUTH after STARTTLS and on port 465");
  lines.push_back("type = \"journald\"");
  lines.push_back("name = \"journal\"");
  if (software == "Postfix") {
    lines.push_back("format = \"postfix\"");
    lines.push_back(r.port == 587 ? "matches = [\"SYSLOG_IDENTIFIER=postfix/submission/smtpd\", "
                                    "\"SYSLOG_IDENTIFIER=postfix/smtpd\"]"
                                  : "matches = [\"SYSLOG_IDENTIFIER=postfix/smtpd\"]");
  } else if (software == "Exim") {
    lines.push_back("format = \"exim\"");
    lines.push_back("matches = [\"SYSLOG_IDENTIFIER=exim\", \"SYSLOG_IDENTIFIER=exim4\"]");
  } else if (software == "Sendmail") {
    lines.push_back("format = \"sendmail\"");
    lines.push_back("matches = [\"SYSLOG_IDENTIFIER=sendmail\", \"SYSLOG_IDENTIFIER=sm-mta\"]");
  } else if (software == "Opensmtpd") {
    lines.push_back("format = \"opensmtpd\"");
    lines.push_back("matches = [\"SYSLOG_IDENTIFIER=smtpd\"]");
  } else {
    lines.push_back("format = \"auto\"   # the greeting does not name the server software");
  }
  return lines;
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  report::append_json_escaped(out, s);
  out += '"';
}

void append_json_list(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    append_json_string(out, v[i]);
  }
  out += ']';
}

std::string to_json(const ProbeReport& r) {
  std::string o = "{\"host\":";
  append_json_string(o, r.host);
  o += fmt::format(",\"port\":{},\"address\":", r.port);
  append_json_string(o, r.address);
  if (!r.error.empty()) {
    o += ",\"error\":";
    append_json_string(o, r.error);
  }
  o += ",\"banner\":";
  append_json_list(o, r.banner);
  o += ",\"ehlo\":";
  append_json_list(o, r.ehlo);
  o += fmt::format(",\"auth_before_tls\":{},\"mechanisms\":", r.auth_before_tls);
  append_json_list(o, r.mechanisms);
  o += fmt::format(",\"starttls\":{},\"starttls_required\":{},\"tls\":", r.starttls_offered,
                   r.starttls_offered && !r.auth_before_tls);
  append_json_string(o, r.tls_status);
  o += ",\"mechanisms_after_tls\":";
  append_json_list(o, r.mechanisms_tls);
  o += ",\"attempts\":[";
  for (std::size_t i = 0; i < r.attempts.size(); ++i) {
    const auto& a = r.attempts[i];
    if (i > 0) o += ',';
    o += "{\"mechanism\":";
    append_json_string(o, a.mechanism);
    o += fmt::format(",\"tls\":{},\"wire_visible\":{},\"failed\":{},\"final_reply\":", a.tls, !a.tls,
                     a.failed);
    append_json_string(o, a.final_reply);
    o += ",\"exchange\":[";
    for (std::size_t k = 0; k < a.steps.size(); ++k) {
      if (k > 0) o += ',';
      o += "{\"sent\":";
      append_json_string(o, a.steps[k].sent);
      o += ",\"reply\":";
      append_json_list(o, a.steps[k].reply);
      o += '}';
    }
    o += "]}";
  }
  o += "],\"configuration\":";
  append_json_list(o, r.error.empty() ? suggested_configuration(r) : std::vector<std::string>{});
  o += "}\n";
  return o;
}

void human_reply(std::string& o, const std::vector<std::string>& lines, const char* indent) {
  for (const auto& l : lines) {
    std::string q;
    report::append_quoted(q, l);
    o += fmt::format("{}< {}\n", indent, q.size() >= 2 ? q.substr(1, q.size() - 2) : q);
  }
}

std::string to_human(const ProbeReport& r) {
  std::string o = fmt::format("strikeout probe {}:{}{}\n", r.host, r.port,
                              r.address.empty() ? "" : " (" + r.address + ")");
  if (!r.banner.empty()) {
    o += "greeting:\n";
    human_reply(o, r.banner, "  ");
  }
  if (!r.ehlo.empty()) {
    o += "EHLO:\n";
    human_reply(o, r.ehlo, "  ");
  }
  if (!r.error.empty()) {
    o += "error: " + r.error + "\n";
    return o;
  }
  std::string mechanisms;
  for (const auto& m : r.mechanisms) mechanisms += (mechanisms.empty() ? "" : " ") + m;
  o += fmt::format("AUTH before TLS: {}\n",
                   r.auth_before_tls ? "offered (" + mechanisms + ")" : "not offered");
  o += fmt::format("STARTTLS: {}\n", r.starttls_offered ? "offered" : "not offered");
  if (r.starttls_offered && !r.auth_before_tls) {
    o +=
        "  this server needs STARTTLS before AUTH: its failure replies travel encrypted and the wire sensor\n"
        "  cannot see them; count failures from its log (below).\n";
  }
  if (!r.tls_status.empty()) o += "  through STARTTLS: " + r.tls_status + "\n";
  for (const auto& a : r.attempts) {
    o += fmt::format("AUTH {}{} with a random username and password:\n", a.mechanism,
                     a.tls ? " (through STARTTLS)" : "");
    for (const auto& st : a.steps) {
      o += "  > " + st.sent + "\n";
      human_reply(o, st.reply, "  ");
    }
    if (a.tls) o += "  (encrypted: the wire cannot see this reply; only the log can)\n";
  }
  o += "\nConfiguration for this server:\n";
  for (const auto& l : suggested_configuration(r)) o += "  " + l + "\n";
  return o;
}

}  // namespace

int run_probe(const ProbeOptions& options, std::FILE* out, std::FILE* err) {
  const ProbeReport r = probe_server(options);
  const std::string text = options.json ? to_json(r) : to_human(r);
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
  if (!r.error.empty()) {
    fmt::print(err, "strikeout probe: {}\n", r.error);
    return 1;
  }
  return 0;
}

}  // namespace strikeout::app
