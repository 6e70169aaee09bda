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
  switch (reporter) {
    case Reporter::Postfix:
      return "postfix";
    case Reporter::Dovecot:
      return "dovecot";
    case Reporter::Exim:
      return "exim";
    case Reporter::Sendmail:
      return "sendmail";
    case Reporter::OpenSmtpd:
      return "opensmtpd";
    case Reporter::Courier:
      return "courier";
    case Reporter::Cyrus:
      return "cyrus";
    case Reporter::Saslauthd:
      return "saslauthd";
    case Reporter::Custom:
      return "custom";
    case Reporter::Wire:
      return "wire";
    case Reporter::Decoy:
      return "decoy";
    case Reporter::Kernel:
      return "kernel";
    case Reporter::Operator:
      return "operator";
  }
  return "unknown";
}

}  // namespace strikeout::core
