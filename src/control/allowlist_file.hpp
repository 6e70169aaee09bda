// The allowlist entries added at run time (`strikeout allow add`), kept in a small file beside the
// state until the store (issue 4, part 1) holds them: one network per line, '#' starts a comment.
// Written whole to a temporary file, fsync'd and renamed over the old one, so a crash leaves either
// the old list or the new one.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/address.hpp"

namespace strikeout::control {

// A missing file is an empty list. Refuses (naming FILE:LINE and the text) a line that is not an
// address or ADDRESS/LENGTH network without host bits.
std::variant<std::vector<core::Prefix>, std::string> load_allowlist_file(const std::filesystem::path& path);

// nullopt on success; else what failed, naming the file.
std::optional<std::string> save_allowlist_file(const std::filesystem::path& path,
                                               const std::vector<core::Prefix>& entries);

}  // namespace strikeout::control
