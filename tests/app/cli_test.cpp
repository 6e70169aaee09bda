// The program as a user runs it: exit codes, --help on every command, errors that name what was wrong.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Run {
  int status = -1;
  std::string output;  // standard output and standard error together
};

Run run(const std::string& args) {
  Run r;
  const std::string command = std::string(STRIKEOUT_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

const std::string kFixtures = STRIKEOUT_FIXTURES_DIR;

TEST(Cli, EveryCommandHasHelp) {
  for (const char* command : {"", "replay", "check-config", "default-config"}) {
    const auto r = run(std::string(command) + " --help");
    EXPECT_EQ(r.status, 0) << command << ": " << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << command;
  }
}

TEST(Cli, UnknownOptionIsAUsageError) {
  const auto r = run("replay --no-such-option x.log");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--no-such-option"), std::string::npos) << r.output;
}

TEST(Cli, MalformedYearIsAUsageErrorNamingIt) {
  const auto r = run("replay --year twenty x.log");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--year"), std::string::npos) << r.output;
}

TEST(Cli, UnreadableLogFailsWithExitOne) {
  const auto r = run("replay /nonexistent/mail.log");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot read '/nonexistent/mail.log'"), std::string::npos) << r.output;
}

TEST(Cli, ReplayReadsStandardInput) {
  const auto r =
      run("replay --json --year 2026 - < " + kFixtures + "/real-logs/postfix-3.7-submission-sasl.log");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"action\":\"summary\""), std::string::npos) << r.output;
}

TEST(Cli, CheckConfigReportsErrorsWithPositionsAndExitsOne) {
  const auto path =
      std::filesystem::temp_directory_path() / ("strikeout-cli-" + std::to_string(getpid()) + ".toml");
  std::ofstream(path) << "[[rule]]\nname = \"x\"\non = \"auth-failure\"\nkey = \"adress\"\nhits = 0\n";
  const auto r = run("check-config " + path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(path.string() + ":4:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(path.string() + ":5:"), std::string::npos) << r.output;
}

TEST(Cli, DefaultConfigPassesCheckConfig) {
  const auto path =
      std::filesystem::temp_directory_path() / ("strikeout-default-" + std::to_string(getpid()) + ".toml");
  const auto printed = run("default-config > " + path.string());
  ASSERT_EQ(printed.status, 0) << printed.output;
  const auto r = run("check-config " + path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Cli, ReplayWithBadConfigNothingIsReplayed) {
  const auto path =
      std::filesystem::temp_directory_path() / ("strikeout-bad-" + std::to_string(getpid()) + ".toml");
  std::ofstream(path) << "[allow]\nnetworks = [\"0.0.0.0/0\"]\n";
  const auto r = run("replay --config " + path.string() + " " + kFixtures +
                     "/real-logs/postfix-3.7-submission-sasl.log");
  std::filesystem::remove(path);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(path.string() + ":2:"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Summary"), std::string::npos) << r.output;
}

}  // namespace

namespace {

TEST(CliImportFail2ban, WritesAConfigurationCheckConfigAccepts) {
  const auto help = run("import fail2ban --help");
  EXPECT_EQ(help.status, 0) << help.output;
  EXPECT_NE(help.output.find("--json"), std::string::npos);

  const auto out =
      std::filesystem::temp_directory_path() / ("strikeout-import-" + std::to_string(::getpid()) + ".toml");
  std::filesystem::remove(out);
  const auto r = run("import fail2ban " + kFixtures + "/fail2ban/custom --output " + out.string());
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not carried over: filter myapp-smtp: failregex"), std::string::npos) << r.output;
  const auto check = run("check-config " + out.string());
  EXPECT_EQ(check.status, 0) << check.output;
  // An existing file is kept unless --force says otherwise.
  EXPECT_EQ(run("import fail2ban " + kFixtures + "/fail2ban/custom --output " + out.string()).status, 1);
  EXPECT_EQ(run("import fail2ban " + kFixtures + "/fail2ban/custom --force --output " + out.string()).status,
            0);
  std::filesystem::remove(out);
}

TEST(CliImportFail2ban, JsonIsOneObject) {
  const auto r = run("import fail2ban --json " + kFixtures + "/fail2ban/custom");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto json = nlohmann::json::parse(r.output);
  EXPECT_EQ(json["jails"][0]["name"], "myapp-smtp");
  EXPECT_TRUE(json["config"].is_string());
  EXPECT_FALSE(json["notes"].empty());
}

TEST(CliImportFail2ban, NoMailJailOrNoDirectoryIsAFailure) {
  auto r = run("import fail2ban " + kFixtures + "/fail2ban/debian12");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("no enabled mail jail"), std::string::npos) << r.output;
  r = run("import fail2ban /nonexistent/fail2ban");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/fail2ban: error: not a directory"), std::string::npos) << r.output;
}

}  // namespace
