// [wire]: the packet sensor's settings. Defaults (off, the recipe's 535 on every interface), every key
// landing where it belongs, and each mistake refused at its exact position.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/loader.hpp"
#include "config_test_util.hpp"

namespace strikeout::config {
namespace {

using namespace std::chrono_literals;
using testing::config_of;
using testing::errors_of;
using testing::has_error;
using testing::kValidRule;

std::string with_rule(std::string_view text) {
  return std::string(text) + "\n" + std::string(kValidRule);
}

TEST(WireConfig, OffByDefaultWithTheRecipesReply) {
  const Config c = config_of(kValidRule);
  EXPECT_FALSE(c.wire.enabled);
  EXPECT_EQ(c.wire.interfaces, (std::vector<std::string>{"any"}));
  EXPECT_EQ(c.wire.failure_replies, (std::vector<std::string>{"535"}));
  EXPECT_EQ(c.wire.implicit_tls_ports, (std::vector<std::uint16_t>{465}));
  EXPECT_EQ(c.wire.max_connections, 65'536U);
  EXPECT_EQ(c.wire.idle_timeout, 10min);
}

TEST(WireConfig, TheShippedFileLeavesItOffWithTheDocumentedDefaults) {
  LoadResult result = load_default_config(testing::hermetic_options());
  ASSERT_TRUE(std::holds_alternative<Config>(result)) << testing::dump(std::get<Diagnostics>(result));
  const Config& c = std::get<Config>(result);
  const WireSettings defaults;
  EXPECT_FALSE(c.wire.enabled);
  EXPECT_EQ(c.wire.interfaces, defaults.interfaces);
  EXPECT_EQ(c.wire.failure_replies, defaults.failure_replies);
  EXPECT_EQ(c.wire.implicit_tls_ports, defaults.implicit_tls_ports);
  EXPECT_EQ(c.wire.max_connections, defaults.max_connections);
  EXPECT_EQ(c.wire.idle_timeout, defaults.idle_timeout);
}

TEST(WireConfig, EverySettingLandsWhereItBelongs) {
  const Config c = config_of(with_rule(R"([protect]
ports = [25, 587, 465, 10465]
[wire]
enabled = true
interfaces = ["eth0", "ens3.100"]
failure_replies = ["535 5.7.0 authentication failed", "454"]
implicit_tls_ports = [465, 10465]
max_connections = 1000
idle_timeout = "2m"
)"));
  EXPECT_TRUE(c.wire.enabled);
  EXPECT_EQ(c.wire.interfaces, (std::vector<std::string>{"eth0", "ens3.100"}));
  EXPECT_EQ(c.wire.failure_replies, (std::vector<std::string>{"535 5.7.0 authentication failed", "454"}));
  EXPECT_EQ(c.wire.implicit_tls_ports, (std::vector<std::uint16_t>{465, 10465}));
  EXPECT_EQ(c.wire.max_connections, 1000U);
  EXPECT_EQ(c.wire.idle_timeout, 2min);
}

TEST(WireConfig, NoImplicitTlsPortIsAllowed) {
  const Config c = config_of(with_rule("[wire]\nenabled = true\nimplicit_tls_ports = []\n"));
  EXPECT_TRUE(c.wire.implicit_tls_ports.empty());
}

TEST(WireConfig, MistakesAreRefusedWhereTheyAre) {
  const auto d = errors_of(with_rule(R"([protect]
ports = [25, 587]
[wire]
enabled = "yes"
interfaces = ["eth0", "eth/1", "eth0", "a-name-far-too-long"]
failure_replies = ["5.7.8", "535-more", "535", "535", "2350 ok", "535 line one\nline two"]
implicit_tls_ports = [465, 0]
max_connections = 10
idle_timeout = "1s"
)"));
  EXPECT_TRUE(has_error(d, 4, 11, "wire.enabled must be"));
  EXPECT_TRUE(has_error(d, 5, 23, "wire.interfaces[2]: \"eth/1\" is not an interface name"));
  EXPECT_TRUE(has_error(d, 5, 32, "interface \"eth0\" is listed twice in wire.interfaces"));
  EXPECT_TRUE(has_error(d, 5, 40, "wire.interfaces[4]: \"a-name-far-too-long\" is not an interface name"));
  EXPECT_TRUE(
      has_error(d, 6, 20, "wire.failure_replies[1]: \"5.7.8\" must begin with a three-digit reply code"));
  EXPECT_TRUE(
      has_error(d, 6, 29, "wire.failure_replies[2]: \"535-more\" the code must be followed by a space"));
  EXPECT_TRUE(has_error(d, 6, 48, "\"535\" is listed twice in wire.failure_replies"));
  EXPECT_TRUE(
      has_error(d, 6, 55, "wire.failure_replies[5]: \"2350 ok\" the code must be followed by a space"));
  EXPECT_TRUE(has_error(d, 6, 66, "wire.failure_replies[6]: \"535 line one\\nline two\" must be one line"));
  EXPECT_TRUE(
      has_error(d, 7, 23, "wire.implicit_tls_ports[1] has no effect: port 465 is not a protected port"));
  EXPECT_TRUE(has_error(d, 7, 28, "wire.implicit_tls_ports[2] must be between 1 and 65535, not 0"));
  EXPECT_TRUE(has_error(d, 8, 19, "wire.max_connections must be between 64 and 16777216, not 10"));
  EXPECT_TRUE(has_error(d, 9, 16, "wire.idle_timeout"));
  EXPECT_EQ(d.size(), 13U) << testing::dump(d);
}

TEST(WireConfig, AnyBesideANamedInterfaceAndEmptyListsAreRefused) {
  const auto d = errors_of(with_rule(R"([wire]
interfaces = ["any", "eth0"]
failure_replies = []
implicit_tls_ports = 465
)"));
  EXPECT_TRUE(has_error(d, 2, 14, "\"any\" captures every interface already"));
  EXPECT_TRUE(has_error(d, 3, 19, "wire.failure_replies must be a list of 1 to 16 replies"));
  EXPECT_TRUE(has_error(d, 4, 22, "wire.implicit_tls_ports must be an array of port numbers"));
  EXPECT_EQ(d.size(), 3U) << testing::dump(d);
}

TEST(WireConfig, UnknownKeyGetsASuggestionAndAWireKeyElsewhereItsHome) {
  const auto d = errors_of(with_rule(R"([wire]
failure_reply = ["535"]
[metrics]
interfaces = ["eth0"]
)"));
  EXPECT_TRUE(has_error(d, 2, 1, "unknown key 'failure_reply' in [wire]; did you mean 'failure_replies'?"));
  EXPECT_TRUE(has_error(d, 4, 1, "it is a setting of [wire]"));
  EXPECT_EQ(d.size(), 2U) << testing::dump(d);
}

}  // namespace
}  // namespace strikeout::config
