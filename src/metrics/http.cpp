#include "metrics/http.hpp"

namespace strikeout::metrics {

namespace {

HttpRequest bad(int status, std::string why) {
  HttpRequest r;
  r.status = HttpRequest::Status::Bad;
  r.error_status = status;
  r.error = std::move(why);
  return r;
}

bool is_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

}  // namespace

HttpRequest parse_http_request(std::string_view bytes) {
  // The end of the headers: an empty line (CRLF CRLF, or LF LF from a hand-typed request).
  std::size_t end = std::string_view::npos;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < bytes.size() && i < kMaxRequestBytes; ++i) {
    if (bytes[i] != '\n') continue;
    const std::size_t len = i - line_start;
    const bool empty_line = len == 0 || (len == 1 && bytes[line_start] == '\r');
    if (empty_line && line_start > 0) {
      end = i;
      break;
    }
    line_start = i + 1;
  }
  if (end == std::string_view::npos) {
    if (bytes.size() >= kMaxRequestBytes) return bad(431, "request headers longer than 8192 bytes");
    return HttpRequest{};
  }

  const std::size_t eol = bytes.find('\n');
  std::string_view line = bytes.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (char c : line) {
    if (is_control(c)) return bad(400, "control byte in the request line");
  }
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return bad(400, "malformed request line");
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return bad(400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : method) {
    if (c < 'A' || c > 'Z') return bad(400, "malformed method");
  }
  if (target.front() != '/' || target.find(' ') != std::string_view::npos)
    return bad(400, "malformed target");
  if (version != "HTTP/1.1" && version != "HTTP/1.0")
    return bad(505, "only HTTP/1.0 and HTTP/1.1 are served");

  // Header lines: "Name: value" without control bytes (a tab is allowed in values).
  std::size_t pos = eol + 1;
  while (pos < end) {
    std::size_t nl = bytes.find('\n', pos);
    std::string_view header = bytes.substr(pos, nl - pos);
    if (!header.empty() && header.back() == '\r') header.remove_suffix(1);
    if (header.empty()) break;
    const std::size_t colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad(400, "malformed header line");
    for (char c : header) {
      if (is_control(c) && c != '\t') return bad(400, "control byte in a header");
    }
    pos = nl + 1;
  }

  HttpRequest r;
  r.status = HttpRequest::Status::Complete;
  r.method = std::string(method);
  r.target = std::string(target.substr(0, target.find('?')));
  return r;
}

}  // namespace strikeout::metrics
