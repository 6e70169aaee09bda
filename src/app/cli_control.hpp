// The commands that talk to a running daemon over its control socket: status, list, ban, unban,
// explain, allow add|remove|list, watch, reload (docs/cli.md).
#pragma once

#include <CLI/CLI.hpp>

#include "app/cli.hpp"

namespace strikeout::app {

inline constexpr const char* kDefaultControlSocket = "/run/strikeout/control.sock";

void register_control_commands(CLI::App& app, CommandRegistry& registry);

}  // namespace strikeout::app
