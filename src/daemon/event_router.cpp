#include "daemon/event_router.hpp"

namespace strikeout::daemon {

void EventRouter::deliver(Sensor& sensor, const core::Event& event) {
  ++sensor.events;
  sensor.last_event = event.time;
  p_.metrics.event(sensor.metric, event.kind, event.service);
  p_.recent.record_event(event);
  p_.watch.on_event(sensor, event);
  p_.store.note(event);
  p_.engine.on_event(event, p_.decisions);
}

void EventRouter::burst_done() {
  // Bans go to the kernel as soon as the events that caused them are handled: this is the latency
  // that matters (failure seen -> address in the kernel set).
  const auto read_at = read_at_;
  read_at_.reset();
  p_.enforcer.flush(read_at);
  p_.store.burst_done();
}

}  // namespace strikeout::daemon
