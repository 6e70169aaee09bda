// Prometheus text exposition and the metrics endpoint's HTTP request reader.
#include <gtest/gtest.h>

#include "metrics/exposition.hpp"
#include "metrics/http.hpp"
#include "prometheus_parser.hpp"

namespace strikeout::metrics {
namespace {

TEST(Exposition, EscapesLabelValuesAndHelp) {
  Exposition e;
  e.family("strikeout_events_total", "counter", "Events\\by \"sensor\"\nkind.");
  e.sample("strikeout_events_total", Labels{{"sensor", "odd\"name\\with\nbreak"}}, std::uint64_t{7});
  EXPECT_EQ(e.text(),
            "# HELP strikeout_events_total Events\\\\by \"sensor\"\\nkind.\n"
            "# TYPE strikeout_events_total counter\n"
            "strikeout_events_total{sensor=\"odd\\\"name\\\\with\\nbreak\"} 7\n");
  const auto parsed = test::parse_prometheus(e.text());
  ASSERT_TRUE(parsed.error.empty()) << parsed.error;
  EXPECT_EQ(parsed.samples.at(0).labels.at("sensor"), "odd\"name\\with\nbreak");
}

TEST(Exposition, HistogramBucketsAreCumulative) {
  Histogram h({0.001, 0.01, 0.1});
  h.observe(0.0005);
  h.observe(0.001);  // on the bound: counts in le="0.001"
  h.observe(0.05);
  h.observe(3);
  Exposition e;
  h.write(e, "strikeout_ban_latency_seconds", "Latency.");
  const auto parsed = test::parse_prometheus(e.text());
  ASSERT_TRUE(parsed.error.empty()) << parsed.error << "\n" << e.text();
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_bucket", {{"le", "0.001"}}), 2);
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_bucket", {{"le", "0.01"}}), 2);
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_bucket", {{"le", "0.1"}}), 3);
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_EQ(parsed.value("strikeout_ban_latency_seconds_count", {}), 4);
  EXPECT_DOUBLE_EQ(parsed.value("strikeout_ban_latency_seconds_sum", {}), 3.0515);
}

TEST(HttpRequest, ReadsGetAndWaitsForTheBlankLine) {
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.1\r\nHost: x\r\n").status,
            HttpRequest::Status::Incomplete);
  const auto r = parse_http_request("GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n");
  ASSERT_EQ(r.status, HttpRequest::Status::Complete);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/metrics");
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.0\n\n").status, HttpRequest::Status::Complete);
}

TEST(HttpRequest, RefusesWhatIsNotHttp) {
  EXPECT_EQ(parse_http_request("GET /metrics\r\n\r\n").error_status, 400);
  EXPECT_EQ(parse_http_request("GET metrics HTTP/1.1\r\n\r\n").error_status, 400);
  EXPECT_EQ(parse_http_request("get /metrics HTTP/1.1\r\n\r\n").error_status, 400);
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/2.0\r\n\r\n").error_status, 505);
  EXPECT_EQ(parse_http_request("GET /met\x01rics HTTP/1.1\r\n\r\n").error_status, 400);
  EXPECT_EQ(parse_http_request("GET /metrics HTTP/1.1\r\nno colon\r\n\r\n").error_status, 400);
  EXPECT_EQ(parse_http_request(std::string(kMaxRequestBytes, 'A')).error_status, 431);
}

}  // namespace
}  // namespace strikeout::metrics
