// The wire sensor's offline commands: `probe` (the recipe's telnet session, automated) and `export`
// (a kernel-only ruleset for hosts without the daemon).
#pragma once

#include <CLI/CLI.hpp>

#include "app/cli.hpp"

namespace strikeout::app {

void register_wire_commands(CLI::App& app, CommandRegistry& registry);

}  // namespace strikeout::app
