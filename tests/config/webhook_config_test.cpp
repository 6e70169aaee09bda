// [[webhook]] (docs/webhooks.md): the documented defaults, every setting read, and each mistake at its
// line and column.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.hpp"
#include "config_test_util.hpp"

namespace strikeout::config {
namespace {

using testing::config_of;
using testing::errors_of;
using testing::has_error;
using testing::kValidRule;
using namespace std::chrono_literals;

std::string with_rule(std::string_view text) {
  return std::string(kValidRule) + "\n" + std::string(text);
}

TEST(WebhookConfig, NoneByDefault) {
  EXPECT_TRUE(config_of(kValidRule).webhooks.empty());
}

TEST(WebhookConfig, UrlAloneGetsTheDocumentedDefaults) {
  const Config c = config_of(with_rule("[[webhook]]\nurl = \"https://chat.example/hooks/T0/B0/x\"\n"));
  ASSERT_EQ(c.webhooks.size(), 1U);
  const WebhookSettings& w = c.webhooks[0];
  EXPECT_EQ(w.name, "webhook1");
  EXPECT_EQ(w.url, "https://chat.example/hooks/T0/B0/x");
  EXPECT_EQ(w.events, kWebhookBan | kWebhookUnban | kWebhookAlert | kWebhookCampaign);
  EXPECT_FALSE(w.slack);
  EXPECT_TRUE(w.secret_file.empty());
  EXPECT_EQ(w.queue, 1000U);
  EXPECT_EQ(w.attempts, 4);
  EXPECT_EQ(w.timeout, 5s);
  EXPECT_EQ(w.backoff, 500ms);
}

TEST(WebhookConfig, EverySettingIsRead) {
  const Config c = config_of(with_rule(R"([[webhook]]
name = "chat"
url = "http://127.0.0.1:8080/in"
events = ["campaign", "alert"]
format = "slack"
secret_file = "/etc/strikeout/webhook.secret"
queue = 50
attempts = 2
timeout = "2s"
backoff = "1s"

[[webhook]]
url = "https://siem.example/strikeout"
)"));
  ASSERT_EQ(c.webhooks.size(), 2U);
  const WebhookSettings& w = c.webhooks[0];
  EXPECT_EQ(w.name, "chat");
  EXPECT_EQ(w.events, kWebhookCampaign | kWebhookAlert);
  EXPECT_TRUE(w.slack);
  EXPECT_EQ(w.secret_file, "/etc/strikeout/webhook.secret");
  EXPECT_EQ(w.queue, 50U);
  EXPECT_EQ(w.attempts, 2);
  EXPECT_EQ(w.timeout, 2s);
  EXPECT_EQ(w.backoff, 1s);
  EXPECT_EQ(c.webhooks[1].name, "webhook2");
}

TEST(WebhookConfig, MistakesAtTheirLineAndColumn) {
  const auto d = errors_of(with_rule(R"([[webhook]]
url = "ftp://files.example/x"
events = ["ban", "unbna"]
format = "xml"
secret_file = "webhook.secret"
queue = 0

[[webhook]]
name = "a b"
url = "https://user:pw@siem.example/"

[[webhook]]
events = []
)"));
  // kValidRule takes lines 1-5 and with_rule a blank line 6.
  EXPECT_TRUE(has_error(d, 8, 7, "webhook[1].url: must start with http:// or https://"));
  EXPECT_TRUE(has_error(d, 9, 18, "unknown event \"unbna\"; the events are"));
  EXPECT_TRUE(has_error(d, 9, 18, "did you mean \"unban\"?"));
  EXPECT_TRUE(has_error(d, 10, 10, "format"));
  EXPECT_TRUE(has_error(d, 11, 15, "must be an absolute path"));
  EXPECT_TRUE(has_error(d, 12, 9, "queue"));
  EXPECT_TRUE(has_error(d, 15, 8, "is not a valid name"));
  EXPECT_TRUE(has_error(d, 16, 7, "no user:password@"));
  EXPECT_TRUE(has_error(d, 19, 10, "must be a non-empty list of events"));
  EXPECT_TRUE(has_error(d, 18, 1, "has no 'url'"));
}

TEST(WebhookConfig, DuplicateNamesAreRefused) {
  const auto d = errors_of(with_rule(R"([[webhook]]
name = "chat"
url = "https://a.example/"

[[webhook]]
name = "chat"
url = "https://b.example/"
)"));
  EXPECT_TRUE(has_error(d, 12, 8, "duplicate webhook name \"chat\" (first at line 8)"));
}

TEST(WebhookConfig, UrlWithSpacesOrWithoutHostIsRefused) {
  EXPECT_TRUE(has_error(errors_of(with_rule("[[webhook]]\nurl = \"https://a.example/x y\"\n")), 8, 7,
                        "printable ASCII without spaces"));
  EXPECT_TRUE(has_error(errors_of(with_rule("[[webhook]]\nurl = \"https:///x\"\n")), 8, 7, "needs a host"));
}

}  // namespace
}  // namespace strikeout::config
