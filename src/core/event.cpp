#include "core/event.hpp"

namespace strikeout::core {

std::string_view to_string(EventKind kind) {
  switch (kind) {
    case EventKind::AuthFailure:
      return "auth-failure";
    case EventKind::AuthSuccess:
      return "auth-success";
    case EventKind::Connect:
      return "connect";
    case EventKind::ProtocolAbuse:
      return "protocol-abuse";
  }
  return "unknown";
}

std::string_view to_string(Reporter reporter) {
  const auto i = static_cast<std::size_t>(reporter);
  return i < kReporters.size() ? kReporters[i].name : "unknown";
}

}  // namespace strikeout::core
