// The control protocol: what a request may say, and that every refusal names what was wrong.
#include <gtest/gtest.h>

#include "control/protocol.hpp"

namespace strikeout::control {
namespace {

Request ok(std::string_view line) {
  auto r = parse_request(line);
  EXPECT_TRUE(std::holds_alternative<Request>(r)) << line << ": " << std::get<ProtocolError>(r).message;
  return std::holds_alternative<Request>(r) ? std::get<Request>(r) : Request{};
}

std::string refused(std::string_view line) {
  auto r = parse_request(line);
  EXPECT_TRUE(std::holds_alternative<ProtocolError>(r)) << line;
  return std::holds_alternative<ProtocolError>(r) ? std::get<ProtocolError>(r).message : "";
}

TEST(ControlProtocol, RoundTripsEveryCommand) {
  for (Command c : {Command::Status, Command::List, Command::Explain, Command::Watch, Command::AllowList,
                    Command::Ban, Command::Unban, Command::AllowAdd, Command::AllowRemove, Command::Reload}) {
    Request r;
    r.id = 42;
    r.command = c;
    if (c == Command::Ban || c == Command::Unban || c == Command::AllowAdd || c == Command::AllowRemove ||
        c == Command::Explain) {
      r.target = *core::Prefix::parse(c == Command::Explain ? "2001:db8::7" : "203.0.113.0/24");
    }
    if (c == Command::Ban) {
      r.duration = std::chrono::minutes(90);
      r.reason = "seen in the web log";
    }
    if (c == Command::List) r.rule = "auth-failures";
    const Request back = ok(format_request(r));
    EXPECT_EQ(back.id, 42U);
    EXPECT_EQ(back.command, c);
    EXPECT_EQ(back.target, r.target);
    EXPECT_EQ(back.duration, r.duration);
    EXPECT_EQ(back.reason, r.reason);
    EXPECT_EQ(back.rule, r.rule);
  }
}

TEST(ControlProtocol, RefusalsNameWhatWasWrong) {
  EXPECT_EQ(refused("not json"), "request is not valid JSON");
  EXPECT_EQ(refused("[1]"), "request is not a JSON object");
  EXPECT_NE(refused(R"({"id":1,"command":"status"})").find("\"v\""), std::string::npos);
  EXPECT_NE(refused(R"({"v":2,"id":1,"command":"status"})").find("version 2 is not supported"),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"id":1,"command":"shutdown"})").find("unknown command \"shutdown\""),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"ban","target":"1.2.3"})").find("\"1.2.3\" is not an address"),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"ban","target":"10.0.0.1/8"})").find("did you mean 10.0.0.0/8"),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"ban","target":"10.0.0.1","for":"5"})").find("duration \"5\""),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"ban","target":"10.0.0.1","for":"0s"})").find("positive"),
            std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"ban"})").find("needs a \"target\""), std::string::npos);
  EXPECT_NE(
      refused(R"({"v":1,"command":"status","target":"10.0.0.1"})").find("field \"target\" is not known"),
      std::string::npos);
  EXPECT_NE(
      refused(R"({"v":1,"command":"explain","target":"10.0.0.0/8"})").find("not an IPv4 or IPv6 address"),
      std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"command":"list","rule":7})").find("must be a string"), std::string::npos);
  EXPECT_NE(refused(R"({"v":1,"id":-1,"command":"list"})").find("\"id\""), std::string::npos);
  EXPECT_NE(refused(std::string(kMaxLine + 1, ' ')).find("longer than"), std::string::npos);
}

TEST(ControlProtocol, RefusalKeepsTheRequestId) {
  auto r = parse_request(R"({"v":1,"id":9,"command":"nope"})");
  ASSERT_TRUE(std::holds_alternative<ProtocolError>(r));
  EXPECT_EQ(std::get<ProtocolError>(r).id, 9U);
}

TEST(ControlProtocol, OnlyReadingCommandsAreReadOnly) {
  for (Command c : {Command::Status, Command::List, Command::Explain, Command::Watch, Command::AllowList}) {
    EXPECT_TRUE(is_read_only(c)) << to_string(c);
  }
  for (Command c : {Command::Ban, Command::Unban, Command::AllowAdd, Command::AllowRemove, Command::Reload}) {
    EXPECT_FALSE(is_read_only(c)) << to_string(c);
  }
}

TEST(ControlProtocol, ResponsesParseAndInvalidUtf8IsReplacedNotThrown) {
  // A username an attacker chose may hold any bytes: the line must still be valid JSON.
  const std::string line = format_ok(3, nlohmann::json{{"user", std::string("al\xff\xfeice")}});
  auto parsed = parse_response(line);
  ASSERT_TRUE(std::holds_alternative<Response>(parsed));
  EXPECT_TRUE(std::get<Response>(parsed).ok);
  EXPECT_EQ(std::get<Response>(parsed).id, 3U);
  EXPECT_NE(std::get<Response>(parsed).result["user"].get<std::string>().find("\xEF\xBF\xBD"),
            std::string::npos);

  auto error = parse_response(format_error(4, code::kAllowlisted, "on the allowlist"));
  ASSERT_TRUE(std::holds_alternative<Response>(error));
  EXPECT_FALSE(std::get<Response>(error).ok);
  EXPECT_EQ(std::get<Response>(error).code, "allowlisted");

  auto watch = parse_response(format_watch({{"type", "ban"}}));
  ASSERT_TRUE(std::holds_alternative<Response>(watch));
  EXPECT_EQ(std::get<Response>(watch).kind, Response::Kind::Watch);
  auto end = parse_response(format_watch_end("dropped"));
  ASSERT_TRUE(std::holds_alternative<Response>(end));
  EXPECT_EQ(std::get<Response>(end).kind, Response::Kind::WatchEnd);

  EXPECT_TRUE(std::holds_alternative<std::string>(parse_response(R"({"v":2,"id":1,"ok":true})")));
}

}  // namespace
}  // namespace strikeout::control
