#include "enforce/host_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

namespace strikeout::enforce {

std::vector<core::Prefix> host_addresses(std::string& error) {
  std::vector<core::Prefix> out{*core::Prefix::parse("127.0.0.0/8"), *core::Prefix::parse("::1")};
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    error = std::string("reading the host's addresses (getifaddrs): ") + std::strerror(errno);
    return out;
  }
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, i->ifa_addr, sizeof sin);
      out.push_back(core::Prefix::host(core::Address::from_v4(ntohl(sin.sin_addr.s_addr))));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
      core::Address::Bytes b{};
      std::memcpy(b.data(), &sin6.sin6_addr, 16);
      out.push_back(core::Prefix::host(core::Address::from_bytes(b)));
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace strikeout::enforce
