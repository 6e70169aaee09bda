#include "control/allowlist_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace strikeout::control {

std::variant<std::vector<core::Prefix>, std::string> load_allowlist_file(const std::filesystem::path& path) {
  std::vector<core::Prefix> out;
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return out;
    return "cannot read the runtime allowlist " + path.string() + ": " + std::strerror(errno);
  }
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const auto last = line.find_last_not_of(" \t\r");
    const std::string text = line.substr(first, last - first + 1);
    auto p = core::Prefix::parse(text, true);
    if (!p) {
      return path.string() + ":" + std::to_string(number) + ": \"" + text.substr(0, 64) +
             "\" is not an address or ADDRESS/LENGTH network (without host bits)";
    }
    out.push_back(*p);
  }
  return out;
}

std::optional<std::string> save_allowlist_file(const std::filesystem::path& path,
                                               const std::vector<core::Prefix>& entries) {
  std::string text =
      "# Allowlist entries added with `strikeout allow add` (written by the daemon; edit with the CLI).\n";
  for (const auto& p : entries) text += p.to_string() + "\n";
  const std::string tmp = path.string() + ".tmp";
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  ::fchmod(fd, 0600);  // the mode the file gets whatever the umask (docs/architecture.md, "Files")
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return "cannot write " + tmp + ": " + std::strerror(e);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return "cannot write " + tmp + ": " + std::strerror(errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return "cannot replace " + path.string() + ": " + std::strerror(errno);
  return std::nullopt;
}

}  // namespace strikeout::control
