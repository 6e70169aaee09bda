// `strikeout import fail2ban [DIR]`: a fail2ban configuration brought over (docs/import.md).
#pragma once

#include <CLI/CLI.hpp>

#include "app/cli.hpp"

namespace strikeout::app {

void register_import_commands(CLI::App& app, CommandRegistry& registry);

}  // namespace strikeout::app
