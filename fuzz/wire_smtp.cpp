// Fuzz target: an SMTP conversation through the session reader (reply-line reassembly and the AUTH
// username decoder). Input: a sequence of chunks, each a header byte (bit 7: client or server,
// bits 0-6: length) then that many bytes; a header of 0x00 or 0x80 is a hole in that direction.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "wire/smtp.hpp"

namespace {
struct Listener final : strikeout::wire::SessionListener {
  void on_auth_result(bool, std::string_view user) override {
    if (user.size() > strikeout::wire::kMaxWireUsername) __builtin_trap();
  }
  void on_encrypted() override {}
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::wire;
  static const ReplyPatterns patterns = [] {
    std::string error;
    return *ReplyPatterns::create({"535", "454 4.7.0 Temporary authentication failure"}, error);
  }();
  SmtpSession session(size > 0 && (data[0] & 1) != 0);
  Listener listener;
  std::size_t at = 1;
  while (at < size) {
    const std::uint8_t header = data[at++];
    const bool client = (header & 0x80) != 0;
    const std::size_t n = header & 0x7f;
    if (n == 0) {
      client ? session.client_gap() : session.server_gap();
      continue;
    }
    const std::size_t take = n < size - at ? n : size - at;
    const std::span<const std::uint8_t> chunk(data + at, take);
    at += take;
    if (client) {
      session.client_bytes(chunk, listener);
    } else {
      session.server_bytes(chunk, patterns, listener);
    }
  }
  return 0;
}
