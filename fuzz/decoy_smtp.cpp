// Fuzz target: the decoy's SMTP conversation fed bytes an attacker wrote. The first byte picks the
// mode and the fake-success probability; the rest arrives in chunks whose sizes the input also picks
// (so lines split anywhere). Checks what must hold for any input: no crash, no read past a buffer,
// and output never beyond the allowance plus a multiple of input. Also runs the parsers directly.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "decoy/session.hpp"
#include "decoy/smtp_command.hpp"

namespace {

struct Discard final : strikeout::decoy::AttemptSink {
  void on_attempt(const strikeout::decoy::AuthAttempt& a) override {
    if (a.user.size() > strikeout::decoy::Session::kUserCapacity) std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strikeout::decoy;
  using namespace std::chrono_literals;
  if (size == 0) return 0;
  const std::string_view all(reinterpret_cast<const char*>(data), size);

  // The parsers alone.
  const Command c = parse_command(all.substr(1));
  std::string_view rest;
  (void)parse_mechanism(c.argument, rest);
  std::array<char, 512> out{};
  if (auto n = decode_base64(rest, out)) (void)split_auth_plain(std::string_view(out.data(), *n));

  // The whole conversation.
  static DecoyOptions options = [] {
    DecoyOptions o;
    o.reply_delay = 0s;
    o.output_allowance = 512;
    return o;
  }();
  static const Script script = Script::build(options);
  options.success_probability = (data[0] & 3U) / 3.0;
  const SessionContext ctx = SessionContext::make(options, script, DecoySecret{});
  const auto mode = static_cast<Mode>((data[0] >> 2U) & 3U);
  Session session;
  strikeout::core::Time now = strikeout::core::from_seconds(1'800'000'000);
  session.start(mode, now, ctx);
  Discard sink;
  const auto source = strikeout::core::Address::from_v4(0xCB007107U);
  std::string_view input = all.substr(1);
  std::size_t chunk = (data[0] >> 4U) + 1U;
  for (int rounds = 0; rounds < 100000 && (!input.empty() || !session.output(now, ctx).empty()); ++rounds) {
    if (session.wants_input() && !input.empty()) {
      const std::size_t used = session.on_input(input.substr(0, chunk), source, 1234, now, ctx, sink);
      if (used > chunk) std::abort();
      input.remove_prefix(used);
    }
    const std::string_view o = session.output(now, ctx);
    session.on_sent(o.size(), now, ctx);
    if (session.bytes_out() > options.output_allowance + options.output_per_input * session.bytes_in())
      std::abort();
    if (session.close_reason(now, ctx) != CloseReason::None) break;
    if (o.empty() && !session.wants_input())
      now = std::max(now + 1ms, session.next_wake(ctx));
    else if (o.empty() && input.empty())
      break;
  }
  return 0;
}
