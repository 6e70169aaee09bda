// One way to say that something may fail, across src/: a Result<T> holds the value or an Error, and a
// Status (Result<void>) holds nothing or an Error. The error is a message for the operator that names
// what failed and why ("/var/lib/strikeout/state.db: disk I/O error"); callers add their context in
// front of it. No exceptions: a check that can fail returns one of these.
//
//   core::Result<int> parse_port(std::string_view text);
//   if (auto port = parse_port(text)) use(*port); else log(port.error());
//   core::Status save(...);   return core::Failure{"cannot write " + path};   return {};  // success
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace strikeout::core {

// Why something failed: one message, written for the operator.
struct Failure {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Failure>, "a Result of a Failure says nothing");

 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}            // NOLINT: implicit on purpose
  Result(Failure failure) : v_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // The value; only when ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The message; only when !ok().
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, Failure> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure failure) : error_(std::move(failure.message)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace strikeout::core
