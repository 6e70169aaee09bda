// Fuzz target: the metrics endpoint's HTTP request reader (bytes from anyone who reaches the port).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "metrics/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto r =
      strikeout::metrics::parse_http_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.status == strikeout::metrics::HttpRequest::Status::Complete &&
      (r.target.empty() || r.target[0] != '/')) {
    __builtin_trap();
  }
  return 0;
}
