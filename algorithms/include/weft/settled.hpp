#pragma once

/// @file
/// weft::Settled<T>: how one task ended — its value or its exception — held as a value, so a
/// caller can look at every outcome of a fan-out (gather_settled, asyncio's
/// return_exceptions=True) without the first failure hiding the rest.
///
/// A Settled holds exactly one of: nothing (only a default-constructed one, before it was
/// set), a value, or an exception. value() gives the value or rethrows the exception, so
/// `settled.value()` behaves like having awaited the task itself. Settled<T&> refers to the
/// object the task returned a reference to; Settled<void> only says "it succeeded".
///
/// weft::value_t<T> is how combinators hand out a task's result where a plain T cannot go (a
/// tuple or variant slot, a vector element): void becomes std::monostate and T& becomes
/// std::reference_wrapper<T>.

#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

template <class T>
/// The type a task of `T` leaves in gather's results and in Settled: `T` itself for a value.
struct value_of {
  /// The stored type.
  using type = T;
};
template <class T>
/// A reference is kept as a std::reference_wrapper.
struct value_of<T&> {
  /// The stored type.
  using type = std::reference_wrapper<T>;
};
template <>
/// Task<void> leaves std::monostate.
struct value_of<void> {
  /// The stored type.
  using type = std::monostate;
};
template <class T>
/// value_of<T>::type.
using value_t = typename value_of<T>::type;

namespace detail {
[[noreturn]] inline void throw_unset_settled() {
  throw std::logic_error("weft::Settled: no outcome (default-constructed)");
}
}  // namespace detail

template <class T>
/// How a task ended: its value or its exception; see this file's description.
class Settled {
 public:
  Settled() = default;

  /// True when the task returned a value.
  [[nodiscard]] bool has_value() const noexcept { return state_.index() == kValue; }
  /// True when the task threw.
  [[nodiscard]] bool has_error() const noexcept { return state_.index() == kError; }
  /// has_value().
  explicit operator bool() const noexcept { return has_value(); }

  /// The value, or the task's exception rethrown.
  [[nodiscard]] T& value() & { return checked(); }
  /// As the lvalue form.
  [[nodiscard]] const T& value() const& { return const_cast<Settled*>(this)->checked(); }
  /// As the lvalue form, moving the value out.
  [[nodiscard]] T&& value() && { return std::move(checked()); }

  /// The exception, or null if the task succeeded.
  [[nodiscard]] std::exception_ptr error() const noexcept {
    return has_error() ? std::get<kError>(state_) : nullptr;
  }

  template <class... Args>
  /// Stores a value built from `args`.
  void emplace_value(Args&&... args) {
    state_.template emplace<kValue>(std::forward<Args>(args)...);
  }
  /// Stores an exception.
  void set_error(std::exception_ptr e) noexcept { state_.template emplace<kError>(std::move(e)); }

 private:
  /// By index, not by type: T may itself be std::exception_ptr or std::monostate.
  static constexpr std::size_t kValue = 1;
  static constexpr std::size_t kError = 2;

  T& checked() {
    if (has_error()) std::rethrow_exception(std::get<kError>(state_));
    if (!has_value()) detail::throw_unset_settled();
    return std::get<kValue>(state_);
  }

  std::variant<std::monostate, T, std::exception_ptr> state_;
};

template <class T>
/// Settled of a task that returns a reference: it keeps a pointer to the referred object.
class Settled<T&> {
 public:
  Settled() = default;

  /// True when the task returned a reference.
  [[nodiscard]] bool has_value() const noexcept { return target_ != nullptr; }
  /// True when the task threw.
  [[nodiscard]] bool has_error() const noexcept { return error_ != nullptr; }
  /// has_value().
  explicit operator bool() const noexcept { return has_value(); }

  /// The referred object, or the task's exception rethrown.
  [[nodiscard]] T& value() const {
    if (error_) std::rethrow_exception(error_);
    if (target_ == nullptr) detail::throw_unset_settled();
    return *target_;
  }
  /// The exception, or null if the task succeeded.
  [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

  /// Stores a reference to `target`.
  void emplace_value(T& target) noexcept {
    target_ = std::addressof(target);
    error_ = nullptr;
  }
  /// Stores an exception.
  void set_error(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    target_ = nullptr;
  }

 private:
  T* target_ = nullptr;
  std::exception_ptr error_;
};

template <>
/// Settled of a Task<void>: whether it succeeded, or its exception.
class Settled<void> {
 public:
  Settled() = default;

  /// True when the task returned.
  [[nodiscard]] bool has_value() const noexcept { return succeeded_; }
  /// True when the task threw.
  [[nodiscard]] bool has_error() const noexcept { return error_ != nullptr; }
  /// has_value().
  explicit operator bool() const noexcept { return has_value(); }

  /// Returns if the task succeeded; rethrows its exception otherwise.
  void value() const {
    if (error_) std::rethrow_exception(error_);
    if (!succeeded_) detail::throw_unset_settled();
  }
  /// The exception, or null if the task succeeded.
  [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

  /// Records a success.
  void emplace_value() noexcept {
    succeeded_ = true;
    error_ = nullptr;
  }
  /// Stores an exception.
  void set_error(std::exception_ptr e) noexcept {
    error_ = std::move(e);
    succeeded_ = false;
  }

 private:
  bool succeeded_ = false;
  std::exception_ptr error_;
};

namespace detail {
// Moves the value out as a combinator hands it on (see value_t); rethrows the exception.
template <class T>
value_t<T> take_value(Settled<T>& settled) {
  if constexpr (std::is_void_v<T>) {
    settled.value();
    return std::monostate{};
  } else if constexpr (std::is_reference_v<T>) {
    return std::ref(settled.value());
  } else {
    return std::move(settled).value();
  }
}
}  // namespace detail

}  // namespace weft
