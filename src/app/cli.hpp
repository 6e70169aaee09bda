// How each part of strikeout adds its subcommands to the program: a function that declares the
// subcommand on the CLI11 app (with --help text and options bound to its own variables) and registers
// what to run when it was given. main.cpp calls one such function per part and runs the one parsed.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <utility>
#include <vector>

namespace strikeout::app {

class CommandRegistry {
 public:
  // `run` returns the process exit code (0 success, 1 the command failed, 2 usage error).
  void add(CLI::App* subcommand, std::function<int()> run) {
    commands_.emplace_back(subcommand, std::move(run));
  }

  // Runs the parsed subcommand; 2 when none was (CLI11 already required one).
  int run_parsed() const {
    for (const auto& [sub, run] : commands_) {
      if (sub->parsed()) return run();
    }
    return 2;
  }

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

}  // namespace strikeout::app
