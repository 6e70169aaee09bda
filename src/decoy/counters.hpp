// The decoy's counters: what it holds and what it has cost the attackers. Each worker keeps its own and
// sends a snapshot to the supervisor every second; Supervisor::counters() sums them (for `status`,
// metrics and the stats file that `strikeout decoy report` reads).
#pragma once

#include <cstdint>

namespace strikeout::decoy {

struct DecoyCounters {
  std::uint64_t connections_open = 0;        // held right now
  std::uint64_t connections_peak = 0;        // most held at once (sum of the workers' peaks)
  std::uint64_t connections_total = 0;       // accepted and answered since start
  std::uint64_t refused_not_redirected = 0;  // came straight to the port, not through the nat redirect
  std::uint64_t refused_full = 0;            // max_connections held and when_full = "refuse"
  std::uint64_t closed_oldest = 0;           // closed to make room (when_full = "close-oldest")
  std::uint64_t refused_per_source = 0;      // the source already held per_source connections
  std::uint64_t closed_idle = 0;             // idle_timeout passed
  std::uint64_t closed_time_limit = 0;       // max_duration passed
  std::uint64_t closed_by_client = 0;        // the client closed, reset, or said QUIT
  std::uint64_t bytes_in = 0;                // bytes the clients sent
  std::uint64_t bytes_out = 0;               // bytes the decoy sent
  std::uint64_t time_wasted_us = 0;          // microseconds of connections held, closed and open
  std::uint64_t auth_attempts = 0;           // AUTH tries (with or without credentials)
  std::uint64_t fake_successes = 0;          // fake 235 replies given
  std::uint64_t replies_late = 0;            // replies sent more than 250 ms after they were due
  std::uint64_t max_lateness_us = 0;         // the latest reply, in microseconds after its due time
  std::uint64_t messages_dropped = 0;        // attempt reports lost because the supervisor lagged
  std::uint64_t workers_running = 0;         // worker processes alive (supervisor's count)
  std::uint64_t worker_restarts = 0;         // workers started again after they died

  DecoyCounters& operator+=(const DecoyCounters& o);
};

inline DecoyCounters& DecoyCounters::operator+=(const DecoyCounters& o) {
  connections_open += o.connections_open;
  connections_peak += o.connections_peak;
  connections_total += o.connections_total;
  refused_not_redirected += o.refused_not_redirected;
  refused_full += o.refused_full;
  closed_oldest += o.closed_oldest;
  refused_per_source += o.refused_per_source;
  closed_idle += o.closed_idle;
  closed_time_limit += o.closed_time_limit;
  closed_by_client += o.closed_by_client;
  bytes_in += o.bytes_in;
  bytes_out += o.bytes_out;
  time_wasted_us += o.time_wasted_us;
  auth_attempts += o.auth_attempts;
  fake_successes += o.fake_successes;
  replies_late += o.replies_late;
  max_lateness_us = o.max_lateness_us > max_lateness_us ? o.max_lateness_us : max_lateness_us;
  messages_dropped += o.messages_dropped;
  workers_running += o.workers_running;
  worker_restarts += o.worker_restarts;
  return *this;
}

}  // namespace strikeout::decoy
