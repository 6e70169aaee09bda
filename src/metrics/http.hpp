// The smallest HTTP/1.x request reader the metrics endpoint needs: the request line and the end of
// the headers. Bytes come from anyone who can reach the port, so everything is bounded and checked.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace strikeout::metrics {

inline constexpr std::size_t kMaxRequestBytes = 8192;  // request line + headers

struct HttpRequest {
  enum class Status : unsigned char {
    Incomplete,  // no blank line yet: read more (up to kMaxRequestBytes)
    Complete,    // method and target are set
    Bad,         // answer `error_status` with `error` and close
  } status = Status::Incomplete;
  std::string method;      // "GET", "HEAD", ...
  std::string target;      // "/metrics" (query string removed)
  int error_status = 400;  // 400 malformed, 431 too large, 505 not HTTP/1.x
  std::string error;
};

// Accepts "METHOD SP TARGET SP HTTP/1.x CRLF" (bare LF tolerated) followed by header lines and an
// empty line. Refuses: a request line or header with control bytes, a missing version, a version
// other than HTTP/1.0 or 1.1, a method that is not an upper-case token, a target that does not start
// with '/', more than kMaxRequestBytes before the blank line. Header contents are not interpreted
// (a GET has no body to read).
HttpRequest parse_http_request(std::string_view bytes);

}  // namespace strikeout::metrics
