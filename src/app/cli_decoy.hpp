// `strikeout decoy serve` and `strikeout decoy report` (docs/decoy.md).
#pragma once

#include <CLI/CLI.hpp>

#include "app/cli.hpp"

namespace strikeout::app {

void register_decoy_commands(CLI::App& app, CommandRegistry& registry);

}  // namespace strikeout::app
