#include "app/replay.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "report/decision_format.hpp"
#include "app/line_reader.hpp"
#include "app/pcap_replay.hpp"
#include "report/text_escape.hpp"
#include "core/engine.hpp"

namespace strikeout::app {

using report::append_ban_json;
using report::append_json_escaped;
using report::append_quoted;
using report::DecisionFormatter;

namespace {

// Replay's hash seed is fixed so that the same input gives the same output byte for byte, even when
// the engine's memory cap makes it evict keys. (The daemon seeds at random.)
constexpr std::uint64_t kReplayHashSeed = 0x5354524b454f5554ULL;  // "STRKEOUT"

// Distinct usernames remembered for the summary; beyond it they are counted as "(others)". Usernames
// are attacker text: without a bound a hostile log could make the summary grow without end.
constexpr std::size_t kMaxUsernames = 100'000;

// Failures per address for the summary's top offenders: one add per failure event, so a flat
// open-addressing table (linear probing, grows at 3/4 full) rather than a node per address.
class AddressCounter {
 public:
  void add(const core::Address& a, std::uint64_t n) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    Slot& slot = find_slot(slots_, a);
    if (!slot.used) {
      slot.used = true;
      slot.key = a;
      ++size_;
    }
    slot.count += n;
  }
  bool empty() const { return size_ == 0; }
  std::vector<std::pair<core::Address, std::uint64_t>> entries() const {
    std::vector<std::pair<core::Address, std::uint64_t>> out;
    out.reserve(size_);
    for (const auto& slot : slots_) {
      if (slot.used) out.emplace_back(slot.key, slot.count);
    }
    return out;
  }

 private:
  struct Slot {
    core::Address key{};
    std::uint64_t count = 0;
    bool used = false;
  };
  static Slot& find_slot(std::vector<Slot>& slots, const core::Address& a) {
    const std::size_t mask = slots.size() - 1;
    std::size_t i = static_cast<std::size_t>(core::hash_address(a, kReplayHashSeed)) & mask;
    while (slots[i].used && slots[i].key != a) i = (i + 1) & mask;
    return slots[i];
  }
  void grow() {
    std::vector<Slot> bigger(slots_.empty() ? 1024 : slots_.size() * 2);
    for (const auto& slot : slots_) {
      if (slot.used) find_slot(bigger, slot.key) = slot;
    }
    slots_.swap(bigger);
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

// Buffers output and writes it in large blocks: replay prints a line for most failures, and the
// JSON writer formats straight into this buffer (reserve(), then commit() the end it wrote).
class OutputBuffer {
 public:
  explicit OutputBuffer(std::FILE* f) : file_(f), data_(new char[kCapacity]) {}
  ~OutputBuffer() { flush(); }
  OutputBuffer(const OutputBuffer&) = delete;
  OutputBuffer& operator=(const OutputBuffer&) = delete;

  // Room for `n` more bytes at the returned pointer (flushing first if needed); larger writes go
  // through append().
  char* reserve(std::size_t n) {
    if (kCapacity - used_ < n) flush();
    return data_.get() + used_;
  }
  void commit(const char* end) {
    used_ = static_cast<std::size_t>(end - data_.get());
    if (used_ >= kFlushAt) flush();
  }
  void append(std::string_view text) {
    if (kCapacity - used_ < text.size()) flush();
    if (text.size() > kCapacity) {
      std::fwrite(text.data(), 1, text.size(), file_);
      return;
    }
    std::memcpy(data_.get() + used_, text.data(), text.size());
    used_ += text.size();
    if (used_ >= kFlushAt) flush();
  }
  void flush() {
    if (used_ > 0) std::fwrite(data_.get(), 1, used_, file_);
    used_ = 0;
  }
  static constexpr std::size_t kFlushAt = std::size_t{1} << 20;
  static constexpr std::size_t kCapacity = kFlushAt + (std::size_t{1} << 16);

 private:
  std::FILE* file_;
  std::unique_ptr<char[]> data_;
  std::size_t used_ = 0;
};

struct ServiceCount {
  core::EventKind kind;
  std::string service;
  std::uint64_t count;
};

// The summary lists events by kind (in the order of core::EventKind), then service name.
std::vector<ServiceCount> sorted_services(const std::vector<ServiceCount>& in) {
  std::vector<ServiceCount> out = in;
  std::sort(out.begin(), out.end(), [](const ServiceCount& a, const ServiceCount& b) {
    const std::string_view ka = core::to_string(a.kind);
    const std::string_view kb = core::to_string(b.kind);
    return ka != kb ? ka < kb : a.service < b.service;
  });
  return out;
}

struct Counters {
  std::uint64_t lines = 0;
  std::uint64_t event_lines = 0;
  std::uint64_t no_event_lines = 0;
  std::uint64_t unparsed_lines = 0;
  std::uint64_t long_lines = 0;
  std::vector<ServiceCount> by_kind_service;  // in order of first appearance; sorted for the summary
  std::string user_buffer;
  AddressCounter failures_by_address;
  std::unordered_map<std::string, std::uint64_t> failures_by_user;
  std::uint64_t other_users = 0;
  std::map<std::string, std::uint64_t> bans_by_rule;
  std::uint64_t strikes = 0;
  std::uint64_t bans = 0;
  std::uint64_t unbans = 0;
};

class ReplaySink final : public core::DecisionSink {
 public:
  ReplaySink(const core::Policy& policy, bool json, OutputBuffer& out, Counters& counters,
             ReplayObserver* observer)
      : formatter_(policy), json_(json), out_(out), counters_(counters), observer_(observer) {}

  void on_decision(const core::Decision& d) override {
    if (observer_ != nullptr) {
      observer_->on_decision(d);
    } else if (json_) {
      const std::size_t bound = DecisionFormatter::json_bound(d) + 1;
      if (bound <= OutputBuffer::kCapacity) {
        char* p = formatter_.write_json(out_.reserve(bound), d);
        *p++ = '\n';
        out_.commit(p);
      } else {  // a decision with kilobytes of attacker text: through a string
        line_.clear();
        formatter_.append_json(line_, d);
        line_ += '\n';
        out_.append(line_);
      }
    } else {
      line_.assign(formatter_.time_text(d.time));
      line_ += "  ";
      line_ += formatter_.human(d);
      line_ += '\n';
      out_.append(line_);
    }
    switch (d.kind) {
      case core::DecisionKind::Strike:
        ++counters_.strikes;
        break;
      case core::DecisionKind::Ban:
        if (!d.extended) {
          ++counters_.bans;
          ++counters_.bans_by_rule[d.rule];
        }
        break;
      case core::DecisionKind::Unban:
        ++counters_.unbans;
        break;
    }
  }

 private:
  DecisionFormatter formatter_;
  std::string line_;  // reused for human lines and oversized JSON ones
  bool json_;
  OutputBuffer& out_;
  Counters& counters_;
  ReplayObserver* observer_;
};

// Threads that decode parts of mapped logs ahead of the engine (replay --jobs). The thread that runs
// the engine is one of the `jobs`: while the part it needs next is not decoded yet, it decodes parts
// from the queue itself, so `--jobs 2` means one more thread, not two.
class DecodePool {
 public:
  explicit DecodePool(unsigned threads) {
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~DecodePool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    queued_.notify_all();
    for (auto& t : workers_) t.join();
  }
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  void submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    queued_.notify_one();
  }

  // Returns when `done` is true, running queued tasks on this thread meanwhile.
  void wait_for(const std::atomic<bool>& done) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done.load(std::memory_order_acquire)) {
      if (!tasks_.empty()) {
        auto task = std::move(tasks_.front());
        tasks_.pop_front();
        lock.unlock();
        task();
        lock.lock();
        continue;
      }
      finished_.wait(lock);
    }
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      queued_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left
      auto task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      finished_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable queued_;    // a task was queued, or the pool stops
  std::condition_variable finished_;  // a worker finished a task
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

// A run of whole lines of one mapped log, decoded on some thread of the pool.
struct Chunk {
  struct Entry {
    core::Event event;       // the line's event, unless deferred
    logs::LogRecord record;  // deferred: the header, for the engine's thread to match in order
    bool deferred = false;
  };
  std::string_view text;         // whole lines, the last one ending in '\n'
  std::uint64_t end_offset = 0;  // in the file, for the progress line
  std::vector<Entry> entries;    // events and deferred lines, in line order
  std::uint64_t lines = 0;
  std::uint64_t event_lines = 0;
  std::uint64_t no_event_lines = 0;
  std::uint64_t unparsed_lines = 0;
  std::uint64_t long_lines = 0;
  // The year anchor's state before the first line and after the last, as the decoder that did the
  // work had it. The result counts only if the first equals what the lines before left; otherwise
  // (a month turned over in the parts decoded meanwhile) the engine's thread decodes the part again.
  logs::YearAnchor start_anchor;
  logs::YearAnchor end_anchor;
  std::atomic<bool> done{false};
};

// Splits one line of a chunk as LineReader::next() does: over-long lines cut at kMaxLine (and
// counted), a '\r' before the newline dropped.
inline std::string_view cut_line(const char* p, std::size_t len, std::uint64_t& long_lines) {
  if (len > LineReader::kMaxLine) {
    ++long_lines;
    return std::string_view(p, LineReader::kMaxLine);
  }
  if (len > 0 && p[len - 1] == '\r') --len;
  return std::string_view(p, len);
}

// The mapped part of one log file, decoded in chunks by the pool, handed to the engine in order.
class ParallelInput {
 public:
  ParallelInput(DecodePool& pool, std::string_view text, std::uint64_t base_offset, std::size_t chunk_bytes,
                std::size_t window, logs::DecoderOptions options, logs::YearAnchor first_anchor)
      : pool_(pool),
        text_(text),
        base_offset_(base_offset),
        chunk_bytes_(chunk_bytes),
        window_(window),
        options_(std::move(options)),
        latest_anchor_(first_anchor) {
    while (in_flight_.size() < window_ && submit_next()) {
    }
  }
  ~ParallelInput() {
    // Tasks still queued point at this object's chunks: wait for them before they go.
    for (auto& c : in_flight_) pool_.wait_for(c->done);
  }
  ParallelInput(const ParallelInput&) = delete;
  ParallelInput& operator=(const ParallelInput&) = delete;

  // The next chunk in line order, decoded; nullptr after the last. Valid until the next call.
  Chunk* next_chunk() {
    if (!in_flight_.empty() && current_ != nullptr) in_flight_.pop_front();
    current_ = nullptr;
    while (in_flight_.size() < window_ && submit_next()) {
    }
    if (in_flight_.empty()) return nullptr;
    current_ = in_flight_.front().get();
    pool_.wait_for(current_->done);
    return current_;
  }

 private:
  bool submit_next() {
    if (offset_ >= text_.size()) return false;
    std::size_t end = std::min(text_.size(), offset_ + chunk_bytes_);
    if (end < text_.size()) {  // back to the end of a line (the text ends with one)
      const void* nl = memrchr(text_.data() + offset_, '\n', end - offset_);
      if (nl != nullptr) {
        end = static_cast<std::size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
      } else {  // a line longer than a chunk: the chunk ends with it
        nl = std::memchr(text_.data() + end, '\n', text_.size() - end);
        end = static_cast<std::size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
      }
    }
    auto chunk = std::make_unique<Chunk>();
    chunk->text = text_.substr(offset_, end - offset_);
    chunk->end_offset = base_offset_ + end;
    offset_ = end;
    Chunk* c = chunk.get();
    in_flight_.push_back(std::move(chunk));
    pool_.submit([this, c] { decode(*c); });
    return true;
  }

  void decode(Chunk& c) {
    std::unique_ptr<logs::LineDecoder> decoder;
    logs::YearAnchor guess;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      guess = latest_anchor_;
      if (!idle_decoders_.empty()) {
        decoder = std::move(idle_decoders_.back());
        idle_decoders_.pop_back();
      }
    }
    if (!decoder) {
      // The options were accepted once already (the engine thread's own decoder), so this succeeds.
      auto created = logs::LineDecoder::create(options_);
      decoder = std::make_unique<logs::LineDecoder>(std::move(std::get<logs::LineDecoder>(created)));
    }
    if (!(decoder->year_anchor() == guess)) decoder->set_year_anchor(guess);
    c.start_anchor = guess;
    c.entries.reserve(c.text.size() / 256);
    core::Event event;
    logs::LogRecord record;
    bool deferred = false;
    const char* p = c.text.data();
    const char* const end = p + c.text.size();
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const std::string_view line = cut_line(p, static_cast<std::size_t>(nl - p), c.long_lines);
      p = nl + 1;
      ++c.lines;
      switch (decoder->decode_unordered(line, event, record, deferred)) {
        case logs::LineStatus::Event:
          ++c.event_lines;
          c.entries.push_back(Chunk::Entry{event, {}, false});
          break;
        case logs::LineStatus::NoEvent:
          if (deferred) {
            c.entries.push_back(Chunk::Entry{{}, record, true});
          } else {
            ++c.no_event_lines;
          }
          break;
        case logs::LineStatus::Unparsed:
          ++c.unparsed_lines;
          break;
      }
    }
    c.end_anchor = decoder->year_anchor();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      latest_anchor_ = c.end_anchor;
      // Kept alive to the end: the events' sensor names point into the decoder that made them.
      idle_decoders_.push_back(std::move(decoder));
    }
    c.done.store(true, std::memory_order_release);
  }

  DecodePool& pool_;
  std::string_view text_;
  std::uint64_t base_offset_;
  std::size_t chunk_bytes_;
  std::size_t window_;
  logs::DecoderOptions options_;
  std::size_t offset_ = 0;
  std::deque<std::unique_ptr<Chunk>> in_flight_;
  Chunk* current_ = nullptr;
  std::mutex mutex_;
  logs::YearAnchor latest_anchor_;  // the end state of the chunk decoded last: the next one's guess
  std::vector<std::unique_ptr<logs::LineDecoder>> idle_decoders_;
};

// One input with the event it is holding back until the merge takes it.
struct Input {
  PcapEventStream* pcap = nullptr;  // a stream of packet captures instead of a log (not owned)
  std::unique_ptr<LineReader> reader;
  std::unique_ptr<logs::LineDecoder> decoder;
  std::unique_ptr<ParallelInput> parallel;  // the mapped part decoded ahead (--jobs), else null
  Chunk* chunk = nullptr;                   // the decoded chunk being handed out
  std::size_t next_entry = 0;               // in chunk->entries
  logs::YearAnchor anchor;                  // the year anchor's true state after the lines handed out
  std::uint64_t position = 0;               // bytes handed out (parallel part)
  std::size_t index = 0;
  core::Event pending{};
  bool has_pending = false;
  bool done = false;
};

void count_event(const core::Event& e, Counters& c) {
  // A handful of (kind, service) pairs exist: a linear search over them costs less than building a
  // map key for every event.
  const std::string_view service = e.service.empty() ? std::string_view("-") : e.service;
  ServiceCount* slot = nullptr;
  for (auto& sc : c.by_kind_service) {
    if (sc.kind == e.kind && sc.service == service) {
      slot = &sc;
      break;
    }
  }
  if (slot == nullptr) {
    c.by_kind_service.push_back(ServiceCount{e.kind, std::string(service), 0});
    slot = &c.by_kind_service.back();
  }
  slot->count += e.count;
  if (e.kind != core::EventKind::AuthFailure) return;
  c.failures_by_address.add(e.source, e.count);
  if (e.user.empty()) return;
  // Usernames are compared case-insensitively everywhere in strikeout. The buffer is reused, so a
  // username already counted costs no allocation.
  std::string& user = c.user_buffer;
  user.assign(e.user.substr(0, 256));
  for (char& ch : user) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  auto it = c.failures_by_user.find(user);
  if (it != c.failures_by_user.end()) {
    it->second += e.count;
  } else if (c.failures_by_user.size() < kMaxUsernames) {
    c.failures_by_user.emplace(user, e.count);
  } else {
    c.other_users += e.count;
  }
}

// Decodes a chunk again on the engine's thread, in order, with the input's own decoder: for a chunk
// whose decoder guessed the year anchor's state wrong (see Chunk).
void redecode_chunk(Input& in, Chunk& c) {
  if (!(in.decoder->year_anchor() == in.anchor)) in.decoder->set_year_anchor(in.anchor);
  c.entries.clear();
  c.lines = c.event_lines = c.no_event_lines = c.unparsed_lines = c.long_lines = 0;
  core::Event event;
  const char* p = c.text.data();
  const char* const end = p + c.text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const std::string_view line = cut_line(p, static_cast<std::size_t>(nl - p), c.long_lines);
    p = nl + 1;
    ++c.lines;
    switch (in.decoder->decode(line, event)) {
      case logs::LineStatus::Event:
        ++c.event_lines;
        c.entries.push_back(Chunk::Entry{event, {}, false});
        break;
      case logs::LineStatus::NoEvent:
        ++c.no_event_lines;
        break;
      case logs::LineStatus::Unparsed:
        ++c.unparsed_lines;
        break;
    }
  }
  c.end_anchor = in.decoder->year_anchor();
}

// The next event of the parallel part of `in`, if any is left.
bool next_parallel_event(Input& in, Counters& c) {
  for (;;) {
    if (in.chunk != nullptr) {
      while (in.next_entry < in.chunk->entries.size()) {
        Chunk::Entry& e = in.chunk->entries[in.next_entry++];
        if (!e.deferred) {
          in.pending = e.event;
          return true;
        }
        // A line for a matcher with state: matched here, in line order, by the input's own decoder.
        if (in.decoder->decode_record(e.record, in.pending) == logs::LineStatus::Event) {
          ++c.event_lines;
          return true;
        }
        ++c.no_event_lines;
      }
    }
    in.chunk = in.parallel->next_chunk();
    in.next_entry = 0;
    if (in.chunk == nullptr) {
      in.parallel.reset();
      return false;
    }
    if (!(in.chunk->start_anchor == in.anchor)) redecode_chunk(in, *in.chunk);
    in.anchor = in.chunk->end_anchor;
    in.position = in.chunk->end_offset;
    c.lines += in.chunk->lines;
    c.event_lines += in.chunk->event_lines;
    c.no_event_lines += in.chunk->no_event_lines;
    c.unparsed_lines += in.chunk->unparsed_lines;
    c.long_lines += in.chunk->long_lines;
  }
}

// Reads lines from `in` until one decodes to an event (kept in in.pending) or the input ends.
void advance_input(Input& in, Counters& c) {
  if (in.pcap != nullptr) {
    in.has_pending = in.pcap->next(in.pending);
    in.done = !in.has_pending;
    return;
  }
  if (in.parallel) {
    if (next_parallel_event(in, c)) {
      in.has_pending = true;
      return;
    }
    // The rest (what the file gained after it was mapped) in order, from where the chunks left the
    // year anchor.
    if (!(in.decoder->year_anchor() == in.anchor)) in.decoder->set_year_anchor(in.anchor);
  }
  std::string_view line;
  while (in.reader->next(line)) {
    ++c.lines;
    switch (in.decoder->decode(line, in.pending)) {
      case logs::LineStatus::Event:
        ++c.event_lines;
        in.has_pending = true;
        return;
      case logs::LineStatus::NoEvent:
        ++c.no_event_lines;
        break;
      case logs::LineStatus::Unparsed:
        ++c.unparsed_lines;
        break;
    }
  }
  in.has_pending = false;
  in.done = true;
}

template <typename Key>
std::vector<std::pair<Key, std::uint64_t>> top_of(std::vector<std::pair<Key, std::uint64_t>> entries,
                                                  std::size_t n) {
  using Entry = std::pair<Key, std::uint64_t>;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (entries.size() > n) entries.resize(n);
  return entries;
}

auto top_entries(const AddressCounter& counter, std::size_t n) {
  return top_of(counter.entries(), n);
}

template <typename Map>
auto top_entries(const Map& map, std::size_t n) {
  return top_of(std::vector<std::pair<typename Map::key_type, std::uint64_t>>(map.begin(), map.end()), n);
}

// `extra`: further members of the summary object, already written (",\"pcap\":{...}"), or empty.
void write_summary_json(std::string& out, const Counters& c, const core::Engine& engine, std::size_t top,
                        std::string_view extra) {
  const auto& s = engine.stats();
  out += fmt::format(
      "{{\"action\":\"summary\",\"lines\":{{\"read\":{},\"with_event\":{},\"without_event\":{},"
      "\"not_recognised\":{},\"too_long\":{}}}",
      c.lines, c.event_lines, c.no_event_lines, c.unparsed_lines, c.long_lines);
  out += ",\"events\":[";
  bool first = true;
  for (const auto& sc : sorted_services(c.by_kind_service)) {
    out += fmt::format("{}{{\"kind\":\"{}\",\"service\":\"", first ? "" : ",", core::to_string(sc.kind));
    append_json_escaped(out, sc.service);
    out += fmt::format("\",\"count\":{}}}", sc.count);
    first = false;
  }
  out += fmt::format(
      "],\"engine\":{{\"duplicates\":{},\"allowlisted\":{},\"while_banned\":{},\"too_late\":{},"
      "\"evictions\":{}}}",
      s.duplicates, s.allowlisted, s.while_banned, s.too_late, s.evictions);
  out += fmt::format(",\"decisions\":{{\"strikes\":{},\"bans\":{},\"unbans\":{}}},\"bans_by_rule\":{{",
                     c.strikes, c.bans, c.unbans);
  first = true;
  for (const auto& [rule, n] : c.bans_by_rule) {
    out += first ? "\"" : ",\"";
    append_json_escaped(out, rule);
    out += fmt::format("\":{}", n);
    first = false;
  }
  out += "},\"top_offenders\":[";
  first = true;
  for (const auto& [addr, n] : top_entries(c.failures_by_address, top)) {
    out += fmt::format("{}{{\"address\":\"{}\",\"failures\":{}}}", first ? "" : ",", addr.to_string(), n);
    first = false;
  }
  out += "],\"top_usernames\":[";
  first = true;
  for (const auto& [user, n] : top_entries(c.failures_by_user, top)) {
    out += first ? "{\"user\":\"" : ",{\"user\":\"";
    append_json_escaped(out, user);
    out += fmt::format("\",\"failures\":{}}}", n);
    first = false;
  }
  out += "],\"active_bans\":[";
  first = true;
  for (const auto& ban : engine.active_bans()) {
    if (!first) out += ',';
    append_ban_json(out, ban);
    first = false;
  }
  out += ']';
  out += extra;
  out += "}\n";
}

void write_summary_human(std::string& out, const Counters& c, const core::Engine& engine, std::size_t top) {
  const auto& s = engine.stats();
  out += "\nSummary\n";
  out += fmt::format("  lines: {} read, {} with an event, {} without, {} not recognised", c.lines,
                     c.event_lines, c.no_event_lines, c.unparsed_lines);
  if (c.long_lines > 0) out += fmt::format(", {} cut at 64 KiB", c.long_lines);
  out += '\n';
  out += "  events by kind and service:\n";
  for (const auto& sc : sorted_services(c.by_kind_service)) {
    std::string service;
    append_quoted(service, sc.service);
    out += fmt::format("    {:<13} {:<14} {}\n", core::to_string(sc.kind), service, sc.count);
  }
  out += fmt::format(
      "  not counted: {} duplicate reports, {} from allowlisted sources, {} while banned, {} too late\n",
      s.duplicates, s.allowlisted, s.while_banned, s.too_late);
  if (s.evictions > 0) out += fmt::format("  evicted at the memory cap: {} keys\n", s.evictions);
  out += fmt::format("  decisions: {} strikes, {} bans, {} unbans\n", c.strikes, c.bans, c.unbans);
  if (!c.bans_by_rule.empty()) {
    out += "  bans by rule:\n";
    for (const auto& [rule, n] : c.bans_by_rule) out += fmt::format("    {:<24} {}\n", rule, n);
  }
  if (!c.failures_by_address.empty()) {
    out += "  top offenders (failures):\n";
    for (const auto& [addr, n] : top_entries(c.failures_by_address, top)) {
      out += fmt::format("    {:<40} {}\n", addr.to_string(), n);
    }
  }
  if (!c.failures_by_user.empty()) {
    out += "  top usernames (failures):\n";
    for (const auto& [user, n] : top_entries(c.failures_by_user, top)) {
      std::string quoted;
      append_quoted(quoted, user);
      out += fmt::format("    {:<40} {}\n", quoted, n);
    }
  }
  const auto bans = engine.active_bans();
  out += fmt::format("  active bans at the end: {}\n", bans.size());
  for (const auto& ban : bans) {
    out += fmt::format("    {:<40} rule={} until={} offence={}\n", ban.target.to_string(), ban.rule,
                       core::format_rfc3339(ban.until), ban.offence);
  }
}

// A year anchor for one input: --year if given, else the file's modification time.
logs::YearAnchor anchor_for(const ReplayOptions& options, const LineReader& reader) {
  if (options.year) return logs::YearAnchor::starting_in(*options.year);
  return logs::YearAnchor::ending_at(core::from_seconds(reader.mtime().value_or(0)));
}

std::string sensor_name(const std::string& path) {
  if (path == "-") return "stdin";
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The cores this process may run on (taskset narrows them), for --jobs' default.
unsigned usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
    return static_cast<unsigned>(CPU_COUNT(&set));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int run_replay(const ReplayOptions& options, std::FILE* out, std::FILE* err) {
  const unsigned jobs = options.jobs != 0 ? options.jobs : usable_cores();
  // Declared before the inputs, so it outlives the chunks they hand it.
  std::unique_ptr<DecodePool> pool;
  if (jobs > 1) pool = std::make_unique<DecodePool>(jobs - 1);

  // Open every input first: an unreadable one is an error before anything is replayed.
  std::vector<Input> inputs;
  inputs.reserve(options.files.size());
  std::uint64_t total_bytes = 0;  // of the inputs whose size is known, for the progress line
  bool sizes_known = true;
  for (std::size_t i = 0; i < options.files.size(); ++i) {
    std::string error;
    auto reader = LineReader::open(options.files[i], error);
    if (!reader) {
      fmt::print(err, "strikeout replay: {}\n", error);
      return 1;
    }
    if (reader->is_pipe() && !options.year) {
      fmt::print(err,
                 "strikeout replay: warning: {} is a pipe: syslog lines without a year are dated from when "
                 "it was written; give --year for output that does not depend on that\n",
                 options.files[i] == "-" ? "standard input" : options.files[i]);
    }
    logs::DecoderOptions decoder_options;
    decoder_options.format = options.format;
    decoder_options.custom = options.custom;
    decoder_options.zone = options.zone;
    decoder_options.year = anchor_for(options, *reader);
    decoder_options.sensor = sensor_name(options.files[i]);
    const logs::DecoderOptions copy = pool ? decoder_options : logs::DecoderOptions{};
    auto decoder = logs::LineDecoder::create(std::move(decoder_options));
    if (auto* message = std::get_if<std::string>(&decoder)) {
      fmt::print(err, "strikeout replay: {}\n", *message);
      return 1;
    }
    Input in;
    in.reader = std::move(reader);
    in.decoder = std::make_unique<logs::LineDecoder>(std::move(std::get<logs::LineDecoder>(decoder)));
    in.anchor = in.decoder->year_anchor();
    in.index = i;
    total_bytes += in.reader->size();
    sizes_known = sizes_known && in.reader->size() > 0;
    if (pool) {
      // A mapped file is split at line boundaries and decoded on every thread; pipes and gzip files
      // are read in order on this one.
      const std::string_view text = in.reader->take_mapped_lines();
      if (!text.empty()) {
        std::size_t chunk_bytes = options.chunk_bytes;
        if (chunk_bytes == 0)
          chunk_bytes = std::clamp<std::size_t>(text.size() / (jobs * 16), 64 << 10, 1 << 20);
        in.parallel = std::make_unique<ParallelInput>(*pool, text, 0, chunk_bytes, 4 * std::size_t{jobs},
                                                      copy, in.anchor);
      }
    }
    inputs.push_back(std::move(in));
  }

  // The captures, after the logs: one more input of the merge.
  std::unique_ptr<PcapEventStream> pcap;
  if (!options.pcap_files.empty()) {
    PcapReplayOptions pcap_options;
    pcap_options.files = options.pcap_files;
    pcap_options.ports = options.ports;
    pcap_options.implicit_tls_ports = options.implicit_tls_ports;
    pcap_options.failure_replies = options.failure_replies;
    std::string error;
    pcap = PcapEventStream::open(pcap_options, error);
    if (!pcap) {
      fmt::print(err, "strikeout replay: {}\n", error);
      return 1;
    }
    Input in;
    in.pcap = pcap.get();
    in.index = inputs.size();
    inputs.push_back(std::move(in));
    sizes_known = false;
  }

  core::Policy policy = options.policy;
  policy.limits.hash_seed = kReplayHashSeed;
  core::Engine engine(policy);
  Counters counters;
  OutputBuffer buffer(out);
  ReplaySink sink(engine.policy(), options.json, buffer, counters, options.observer);

  // The progress line: only when asked (the command asks when standard error is a terminal), on
  // `err`, never mixed into the output.
  const bool progress = options.progress;
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  std::uint64_t next_progress_check = 1 << 16;
  auto report_progress = [&](bool final_line) {
    if (!progress) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final_line && now - last_progress < std::chrono::milliseconds(500)) return;
    last_progress = now;
    const double secs = std::chrono::duration<double>(now - started).count();
    std::uint64_t done_bytes = 0;
    for (const auto& in : inputs) {
      if (in.pcap != nullptr) continue;
      done_bytes += in.parallel ? in.position : in.reader->position();
    }
    const double mb_per_s = secs > 0 ? static_cast<double>(done_bytes) / 1e6 / secs : 0.0;
    std::string eta;
    if (!final_line && sizes_known && total_bytes > done_bytes && done_bytes > 0) {
      eta = fmt::format(", ETA {:.0f} s", static_cast<double>(total_bytes - done_bytes) / 1e6 / mb_per_s);
    }
    fmt::print(err, "\rreplay: {} lines, {} events, {:.0f} MB/s, {:.1f} s{}\033[K{}", counters.lines,
               counters.event_lines, mb_per_s, secs, eta, final_line ? "\n" : "");
    std::fflush(err);
  };

  for (auto& in : inputs) advance_input(in, counters);

  // Merge by event time; equal times keep input order (file order on the command line, then line order).
  for (;;) {
    Input* next = nullptr;
    for (auto& in : inputs) {
      if (!in.has_pending) continue;
      if (next == nullptr || in.pending.time < next->pending.time) next = &in;
    }
    if (next == nullptr) break;
    count_event(next->pending, counters);
    if (options.observer != nullptr) options.observer->on_event(next->pending);
    engine.on_event(next->pending, sink);
    advance_input(*next, counters);
    if (counters.lines >= next_progress_check) {
      next_progress_check = counters.lines + (1 << 16);
      report_progress(false);
    }
  }

  int status = 0;
  if (pcap) {
    for (const auto& e : pcap->errors()) {
      fmt::print(err, "strikeout replay: {}\n", e);
      status = 1;
    }
    for (const auto& n : pcap->notices()) fmt::print(err, "strikeout replay: {}\n", n);
  }
  for (auto& in : inputs) {
    if (in.pcap != nullptr) continue;
    counters.long_lines += in.reader->long_lines();
    if (!in.reader->error().empty()) {
      fmt::print(err, "strikeout replay: {}\n", in.reader->error());
      status = 1;
    }
  }
  report_progress(true);
  if (options.observer != nullptr) {
    options.observer->on_end(counters.lines, counters.event_lines, counters.unparsed_lines);
    return status;
  }
  std::string summary;
  if (options.json) {
    write_summary_json(summary, counters, engine, options.top,
                       pcap ? ",\"pcap\":" + pcap->summary_json() : std::string());
  } else {
    write_summary_human(summary, counters, engine, options.top);
    if (pcap) summary += "  " + pcap->summary_line() + "\n";
  }
  buffer.append(summary);
  buffer.flush();
  std::fflush(out);
  return status;
}

}  // namespace strikeout::app
