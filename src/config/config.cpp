#include "config/config.hpp"

namespace strikeout::config {

std::string Endpoint::to_string() const {
  const std::string host = address.to_string();
  if (address.is_v4()) return host + ':' + std::to_string(port);
  return '[' + host + "]:" + std::to_string(port);
}

const Source* Config::find_source(std::string_view name) const {
  for (const Source& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace strikeout::config
