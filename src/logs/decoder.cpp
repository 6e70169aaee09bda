#include "logs/decoder.hpp"

#include "logs/custom.hpp"
#include "logs/header.hpp"
#include "logs/matchers.hpp"
#include "logs/scan.hpp"

namespace strikeout::logs {

// ---------------------------------------------------------------- YearAnchor

namespace {
// The civil year and month of a point in time (UTC).
void civil_of(core::Time t, int& year, unsigned& month) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{days};
  year = static_cast<int>(ymd.year());
  month = static_cast<unsigned>(ymd.month());
}
}  // namespace

YearAnchor YearAnchor::ending_at(core::Time reference) {
  int year = 1970;
  unsigned month = 1;
  civil_of(reference, year, month);
  return YearAnchor(Mode::EndingAt, year, month);
}

YearAnchor YearAnchor::starting_in(int year) {
  return YearAnchor(Mode::StartingIn, year, 0);
}

int YearAnchor::year_for(unsigned month) {
  if (month < 1 || month > 12) return year_;
  if (mode_ == Mode::EndingAt) return month > month_ ? year_ - 1 : year_;
  if (month_ == 0) {
    month_ = month;
    return year_;
  }
  if (month + 6 < month_) {  // December -> January: a new year begins
    ++year_;
    month_ = month;
    return year_;
  }
  if (month > month_ + 6) return year_ - 1;  // a late line from before New Year: state unchanged
  if (month > month_) month_ = month;
  return year_;
}

// ---------------------------------------------------------------- formats and custom matchers

const std::vector<std::string>& builtin_format_names() {
  static const std::vector<std::string> names{"postfix",   "dovecot", "exim", "sendmail",
                                              "opensmtpd", "courier", "cyrus"};
  return names;
}

std::optional<std::string> validate_custom_matcher(const CustomMatcherSpec& spec) {
  std::string error;
  if (!detail::CustomMatcher::compile(spec, error)) return error;
  return std::nullopt;
}

// ---------------------------------------------------------------- LineDecoder

struct LineDecoder::Impl {
  enum class Mode : std::uint8_t { Auto, Builtin, Custom };
  Mode mode = Mode::Auto;
  std::optional<detail::Server> builtin;
  std::vector<detail::CustomMatcher> custom;  // Auto: all of them; Custom: just the one named
  TimeZone zone;
  YearAnchor year;
  std::string sensor;
  detail::MatchState state;
  detail::HeaderCache header_cache;
};

LineDecoder::LineDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LineDecoder::LineDecoder(LineDecoder&&) noexcept = default;
LineDecoder& LineDecoder::operator=(LineDecoder&&) noexcept = default;
LineDecoder::~LineDecoder() = default;

std::variant<LineDecoder, std::string> LineDecoder::create(DecoderOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->zone = std::move(options.zone);
  impl->year = options.year;
  impl->sensor = std::move(options.sensor);
  std::vector<detail::CustomMatcher> compiled;
  for (std::size_t i = 0; i < options.custom.size(); ++i) {
    const auto& spec = options.custom[i];
    if (spec.name.empty()) return "custom matcher " + std::to_string(i) + ": the name is empty";
    if (spec.name == "auto" || detail::server_for_format(spec.name).has_value()) {
      return "custom matcher '" + spec.name + "': the name is taken by a built-in format";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (options.custom[j].name == spec.name) return "custom matcher '" + spec.name + "' is defined twice";
    }
    std::string error;
    auto m = detail::CustomMatcher::compile(spec, error);
    if (!m) return error;
    compiled.push_back(std::move(*m));
  }
  if (options.format == "auto") {
    impl->mode = Impl::Mode::Auto;
    impl->custom = std::move(compiled);
  } else if (const auto server = detail::server_for_format(options.format); server.has_value()) {
    impl->mode = Impl::Mode::Builtin;
    impl->builtin = server;
  } else {
    for (auto& m : compiled) {
      if (m.name() == options.format) {
        impl->mode = Impl::Mode::Custom;
        impl->custom.push_back(std::move(m));
        break;
      }
    }
    if (impl->mode != Impl::Mode::Custom) {
      return "format '" + options.format +
             "' is neither \"auto\", a built-in format (postfix, dovecot, exim, "
             "sendmail, opensmtpd, courier, cyrus) nor the name of a custom matcher";
    }
  }
  return LineDecoder(std::move(impl));
}

void LineDecoder::set_year_anchor(YearAnchor year) {
  impl_->year = year;
  impl_->header_cache = detail::HeaderCache{};  // its times were resolved with the old anchor
}

LineStatus LineDecoder::decode(std::string_view line, core::Event& out) {
  detail::Header h;
  if (!detail::parse_header(line, impl_->zone, impl_->year, h, impl_->header_cache)) {
    return LineStatus::Unparsed;
  }
  return decode_record(LogRecord{h.time, h.host, h.program, h.pid, h.message}, out);
}

LineStatus LineDecoder::decode_unordered(std::string_view line, core::Event& out, LogRecord& record,
                                         bool& deferred) {
  deferred = false;
  detail::Header h;
  if (!detail::parse_header(line, impl_->zone, impl_->year, h, impl_->header_cache)) {
    return LineStatus::Unparsed;
  }
  record = LogRecord{h.time, h.host, h.program, h.pid, h.message};
  const Impl& d = *impl_;
  const auto server = d.mode == Impl::Mode::Builtin ? d.builtin
                      : d.mode == Impl::Mode::Auto  ? detail::server_for_program(record.program)
                                                    : std::nullopt;
  if (detail::matcher_keeps_state(server)) {
    deferred = true;
    return LineStatus::NoEvent;
  }
  return decode_record(record, out);
}

const YearAnchor& LineDecoder::year_anchor() const {
  return impl_->year;
}

LineStatus LineDecoder::decode_record(const LogRecord& record, core::Event& out) {
  Impl& d = *impl_;
  out = core::Event{};
  out.time = record.time;
  out.sensor = d.sensor;
  switch (d.mode) {
    case Impl::Mode::Builtin:
      return detail::match_server(*d.builtin, record, out, d.state);
    case Impl::Mode::Custom:
      return d.custom.front().match(record, out);
    case Impl::Mode::Auto:
      break;
  }
  const auto server = detail::server_for_program(record.program);
  if (server.has_value() && detail::match_server(*server, record, out, d.state) == LineStatus::Event) {
    return LineStatus::Event;
  }
  for (const auto& m : d.custom) {
    if (m.match(record, out) == LineStatus::Event) return LineStatus::Event;
  }
  return LineStatus::NoEvent;
}

}  // namespace strikeout::logs
