#include "enforce/element_batch.hpp"

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <cstring>

namespace strikeout::enforce {
namespace {

constexpr std::size_t align4(std::size_t n) {
  return (n + 3U) & ~std::size_t{3};
}
// An attribute nest's length is 16 bits; leave room for one more element and the message header.
constexpr std::size_t kMaxNest = 60000;
constexpr std::size_t kAttrHeader = sizeof(nlattr);           // kAttrHeader, unsigned
constexpr std::size_t kMsgHeader = align4(sizeof(nlmsghdr));  // kMsgHeader, unsigned

}  // namespace

ElementBatch::ElementBatch(std::string table, std::uint32_t first_sequence)
    : table_(std::move(table)), first_seq_(first_sequence), seq_(first_sequence) {
  const auto begin = begin_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES);
  end_message(begin);
}

std::size_t ElementBatch::begin_message(std::uint16_t type, std::uint16_t flags, std::uint16_t res_id) {
  const std::size_t start = buf_.size();
  buf_.resize(start + kMsgHeader + align4(sizeof(nfgenmsg)));
  nlmsghdr hdr{};
  hdr.nlmsg_type = type;
  hdr.nlmsg_flags = flags;
  hdr.nlmsg_seq = seq_++;
  std::memcpy(buf_.data() + start, &hdr, sizeof hdr);
  nfgenmsg gen{};
  gen.nfgen_family = type == NFNL_MSG_BATCH_BEGIN || type == NFNL_MSG_BATCH_END ? AF_UNSPEC : NFPROTO_INET;
  gen.version = NFNETLINK_V0;
  gen.res_id = htons(res_id);
  std::memcpy(buf_.data() + start + kMsgHeader, &gen, sizeof gen);
  return start;
}

void ElementBatch::end_message(std::size_t start) {
  const auto len = static_cast<std::uint32_t>(buf_.size() - start);
  std::memcpy(buf_.data() + start, &len, sizeof len);  // nlmsg_len is the header's first field
}

std::size_t ElementBatch::begin_nest(std::uint16_t type) {
  const std::size_t start = buf_.size();
  put_attr(static_cast<std::uint16_t>(type | NLA_F_NESTED), nullptr, 0);
  return start;
}

void ElementBatch::end_nest(std::size_t start) {
  const auto len = static_cast<std::uint16_t>(buf_.size() - start);
  std::memcpy(buf_.data() + start, &len, sizeof len);
}

void ElementBatch::put_attr(std::uint16_t type, const void* data, std::size_t len) {
  const std::size_t start = buf_.size();
  buf_.resize(start + kAttrHeader + align4(len), 0);
  nlattr a{};
  a.nla_len = static_cast<std::uint16_t>(kAttrHeader + len);
  a.nla_type = type;
  std::memcpy(buf_.data() + start, &a, sizeof a);
  if (len != 0) std::memcpy(buf_.data() + start + kAttrHeader, data, len);
}

void ElementBatch::put(std::uint16_t type, const std::string& set, std::span<const SetElement> elements) {
  const bool adding = type == NFT_MSG_NEWSETELEM;
  std::size_t i = 0;
  while (i < elements.size()) {
    const auto msg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
    const auto flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | (adding ? NLM_F_CREATE : 0));
    const auto msg = begin_message(msg_type, flags, 0);
    put_attr(NFTA_SET_ELEM_LIST_TABLE, table_.c_str(), table_.size() + 1);
    put_attr(NFTA_SET_ELEM_LIST_SET, set.c_str(), set.size() + 1);
    const auto list = begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    const std::size_t first = i;
    while (i < elements.size() && buf_.size() - list < kMaxNest) {
      const SetElement& e = elements[i++];
      const auto elem = begin_nest(NFTA_LIST_ELEM);
      const auto key = begin_nest(NFTA_SET_ELEM_KEY);
      put_attr(NFTA_DATA_VALUE, e.key.data(), e.key_length);
      end_nest(key);
      if (adding && e.timeout_ms != 0) {
        const std::uint64_t be = htobe64(e.timeout_ms);
        put_attr(NFTA_SET_ELEM_TIMEOUT, &be, sizeof be);
      }
      end_nest(elem);
    }
    end_nest(list);
    end_message(msg);
    elements_ += i - first;
    what_.push_back(std::string(adding ? "adding " : "deleting ") + std::to_string(i - first) + " elements " +
                    (adding ? "to" : "from") + " set " + set);
  }
}

void ElementBatch::add(const std::string& set, std::span<const SetElement> elements) {
  put(NFT_MSG_NEWSETELEM, set, elements);
}

void ElementBatch::remove(const std::string& set, std::span<const SetElement> elements) {
  put(NFT_MSG_DELSETELEM, set, elements);
}

const std::vector<std::uint8_t>& ElementBatch::finish() {
  if (!finished_) {
    const auto end = begin_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES);
    end_message(end);
    finished_ = true;
  }
  return buf_;
}

std::string ElementBatch::describe(std::uint32_t sequence) const {
  // Sequence numbers: first_seq_ is BEGIN, then one per element message.
  if (sequence <= first_seq_ || sequence - first_seq_ > what_.size()) return "the batch";
  return what_[sequence - first_seq_ - 1];
}

}  // namespace strikeout::enforce
