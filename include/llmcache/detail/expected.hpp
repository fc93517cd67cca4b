// A small expected<T, E>: the result of every fallible llmcache call.
//
// C++20 has no std::expected (it arrived in C++23), so llmcache carries this subset of its
// interface. The names match std::expected so that moving to it later is a using-declaration.
#pragma once

#include "../config.hpp"

#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

LLMCACHE_BEGIN_NAMESPACE

template <class E>
class unexpected {
public:
    constexpr explicit unexpected(E e) : error_(std::move(e)) {}
    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }

private:
    E error_;
};

template <class E>
unexpected(E) -> unexpected<E>;

namespace detail {
[[noreturn]] inline void expected_access_failed() noexcept {
    // Reading the value of an error result is a programming error, like dereferencing an empty
    // optional; llmcache never throws for it so that -fno-exceptions builds behave the same.
    std::abort();
}
} // namespace detail

template <class T, class E>
class [[nodiscard]] expected {
public:
    using value_type = T;
    using error_type = E;

    constexpr expected() requires std::is_default_constructible_v<T> : state_(std::in_place_index<0>) {}
    template <class U = T>
    requires std::is_constructible_v<T, U&&> &&(!std::is_same_v<std::remove_cvref_t<U>, expected>)&&(
        !std::is_same_v<std::remove_cvref_t<U>, unexpected<E>>)constexpr expected(U&& v)
        : state_(std::in_place_index<0>, std::forward<U>(v)) {}
    template <class G>
    constexpr expected(unexpected<G> u) : state_(std::in_place_index<1>, std::move(u).error()) {}

    constexpr bool has_value() const noexcept { return state_.index() == 0; }
    constexpr explicit operator bool() const noexcept { return has_value(); }

    constexpr T& value() & { return check(), *std::get_if<0>(&state_); }
    constexpr const T& value() const& { return check(), *std::get_if<0>(&state_); }
    constexpr T&& value() && { return check(), std::move(*std::get_if<0>(&state_)); }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T&& operator*() && { return std::move(*this).value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    constexpr const E& error() const& {
        if (has_value())
            detail::expected_access_failed();
        return *std::get_if<1>(&state_);
    }
    constexpr E& error() & {
        if (has_value())
            detail::expected_access_failed();
        return *std::get_if<1>(&state_);
    }

    template <class U>
    constexpr T value_or(U&& fallback) const& {
        return has_value() ? *std::get_if<0>(&state_) : static_cast<T>(std::forward<U>(fallback));
    }

private:
    constexpr void check() const {
        if (!has_value())
            detail::expected_access_failed();
    }
    std::variant<T, E> state_;
};

template <class E>
class [[nodiscard]] expected<void, E> {
public:
    using value_type = void;
    using error_type = E;

    constexpr expected() noexcept = default;
    template <class G>
    constexpr expected(unexpected<G> u) : error_(std::in_place, std::move(u).error()) {}

    constexpr bool has_value() const noexcept { return !error_.has_value(); }
    constexpr explicit operator bool() const noexcept { return has_value(); }
    constexpr void value() const {
        if (!has_value())
            detail::expected_access_failed();
    }
    constexpr const E& error() const& {
        if (has_value())
            detail::expected_access_failed();
        return *error_;
    }

private:
    std::optional<E> error_;
};

LLMCACHE_END_NAMESPACE
