// The seam every sensor of the daemon plugs into: a Sensor is what the daemon knows of one input (its
// name in reports, status and `watch`, its events), and the EventPath is the one way its core::Events
// reach the engine. Logs, the wire, the decoy and any new sensor (auth policy, fleet, an HTTP
// receiver) deliver through it, so each of them shows in watch, explain, the events metric and the
// stored windows without a line of its own (docs/architecture.md, "Adding a sensor").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/event.hpp"
#include "core/time.hpp"

namespace strikeout::daemon {

struct Sensor {
  std::string name;          // as configured ("mail.log", "wire:eth0", "decoy"); in every report
  std::size_t metric = 0;    // its index in the events metric (EventPath::enrol sets it)
  std::uint64_t events = 0;  // events delivered
  core::Time last_event{};   // time of its newest event (zero: none yet)
};

class EventPath {
 public:
  virtual ~EventPath() = default;

  // Makes `sensor` known to the metrics under its name. Once, when the sensor opens.
  virtual void enrol(Sensor& sensor) = 0;

  // Marks the start of a burst read from one input: the ban latency is measured from here.
  virtual void burst_started() = 0;

  // One event: counted for its sensor, shown to `watch`, remembered for `explain`, its keys noted for
  // the store, then handed to the engine, whose decisions go through the daemon's ordered sinks.
  virtual void deliver(Sensor& sensor, const core::Event& event) = 0;

  // The burst is handled: the bans it made go to the kernel now (the latency that counts: failure
  // seen -> address in the kernel set), and a large burst goes to the store at once.
  virtual void burst_done() = 0;
};

}  // namespace strikeout::daemon
