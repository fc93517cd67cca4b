// One time budget for all the store operations of one Cache call (CacheOptions::store_budget).
//
// The Cache opens a Scope at the start of invoke / lookup / store: a thread-local deadline of
// now + budget. Model calls (and waits for another process's model call) are excluded with a
// Pause, which moves the deadline on by the time paused. Before each store operation the Cache
// asks exhausted() and skips the operation when the budget is gone; stores that talk to a server
// (RedisStore, RedisClusterStore) clamp their own deadlines (pool wait, connect, reply) with
// clamp(), so one slow server cannot take more than what is left.
//
// Nesting: an inner Scope never extends an outer one (its deadline is the earlier of the two),
// and a budget of 0 opens nothing (unlimited, or the outer scope's budget).
#pragma once

#include "../config.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::store_budget {

using Clock = std::chrono::steady_clock;

struct State {
    bool active = false;
    Clock::time_point deadline{};
    Clock::duration paused_total{}; ///< all time paused on this thread (only grows)
};

inline State& current() noexcept {
    thread_local State state;
    return state;
}

/// A budget scope is open (and not paused) on this thread.
inline bool active() noexcept {
    return current().active;
}

/// The budget's deadline, or empty when no budget applies.
inline std::optional<Clock::time_point> deadline() noexcept {
    const State& s = current();
    return s.active ? std::optional<Clock::time_point>(s.deadline) : std::nullopt;
}

/// What is left of the budget (zero when used up), or empty when no budget applies.
inline std::optional<Clock::duration> remaining() noexcept {
    const State& s = current();
    if (!s.active)
        return std::nullopt;
    return std::max(Clock::duration::zero(), s.deadline - Clock::now());
}

/// The budget is used up: the caller should skip its store operation.
inline bool exhausted() noexcept {
    const State& s = current();
    return s.active && Clock::now() >= s.deadline;
}

/// `d`, or the budget's deadline when that comes first.
inline Clock::time_point clamp(Clock::time_point d) noexcept {
    const State& s = current();
    return s.active ? std::min(d, s.deadline) : d;
}

/// `timeout` shortened to what is left of the budget.
inline std::chrono::milliseconds clamp(std::chrono::milliseconds timeout) noexcept {
    const auto left = remaining();
    if (!left)
        return timeout;
    return std::min(timeout, std::chrono::ceil<std::chrono::milliseconds>(*left));
}

/// Opens a budget of `budget` for this thread until destroyed (0: no budget of its own).
class Scope {
public:
    explicit Scope(std::chrono::milliseconds budget) noexcept
        : saved_(current()), paused_at_open_(saved_.paused_total) {
        if (budget.count() > 0)
            open(Clock::now() + budget);
    }
    /// The same, counting the budget from `start`, a time the caller has just read (the Cache
    /// passes its call's start: one clock read fewer on every call, hits included).
    Scope(std::chrono::milliseconds budget, Clock::time_point start) noexcept
        : saved_(current()), paused_at_open_(saved_.paused_total) {
        if (budget.count() > 0)
            open(start + budget);
    }
    ~Scope() {
        State& s = current();
        s.active = saved_.active;
        s.deadline = saved_.deadline;
        if (saved_.active) // a pause inside this scope paused the outer budget too
            s.deadline += s.paused_total - paused_at_open_;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

private:
    static void open(Clock::time_point mine) noexcept {
        State& s = current();
        s.deadline = s.active ? std::min(s.deadline, mine) : mine;
        s.active = true;
    }

    State saved_;
    Clock::duration paused_at_open_;
};

/// Stops the clock (a model call is not store time) until destroyed.
class Pause {
public:
    Pause() noexcept
        : was_active_(current().active), paused_before_(current().paused_total), started_(Clock::now()) {
        current().active = false;
    }
    ~Pause() {
        if (!was_active_)
            return; // nothing was running (scopes opened meanwhile restored the state)
        State& s = current();
        const auto paused = Clock::now() - started_;
        s.paused_total = paused_before_ + paused; // pauses nested in this one are inside it
        s.active = true;
        s.deadline += paused;
    }
    Pause(const Pause&) = delete;
    Pause& operator=(const Pause&) = delete;

private:
    bool was_active_;
    Clock::duration paused_before_;
    Clock::time_point started_;
};

} // namespace detail::store_budget
LLMCACHE_END_NAMESPACE
