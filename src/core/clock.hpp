// Where the daemon's parts read the time. The core itself never reads a clock (time is an argument
// to everything in it); the parts around it ask a Clock, so a test can drive the whole daemon loop
// on a FakeClock: bans expire when the test moves time, never after a sleep.
#pragma once

#include "core/time.hpp"

namespace strikeout::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Now, on the UTC timeline (what a log line's own time is compared with).
  virtual Time now() const = 0;
};

// A clock that moves only when told to. Pure: for tests of the daemon's parts.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Time start) : now_(start) {}
  Time now() const override { return now_; }
  void set(Time t) { now_ = t; }
  void advance(Duration d) { now_ += d; }

 private:
  Time now_;
};

}  // namespace strikeout::core
