// RetryPolicy: how the HTTP model backends retry a failed call.
//
// The defaults copy the official Anthropic and OpenAI SDKs: 2 retries; exponential backoff from
// 0.5 s doubling up to 8 s; a server's `retry-after-ms` / `retry-after` (seconds or HTTP date) wins
// over the backoff. Unlike the SDKs, the backoff uses full jitter (a uniform wait between 0 and
// the exponential bound), so many clients that failed together do not come back together.
//
// What is retried is decided by the error (Error::transient(): connection failures, timeouts,
// 408, 409, 429 rate limits, 5xx, 529), never a quota or spend limit, an authentication failure or
// a bad request. A retry is never made when its wait would end after the call's deadline, and a
// server asking for a longer wait than max_retry_after gets its error returned at once, with
// Error::retry_after set, rather than a retry that would only be refused again.
#pragma once

#include "../config.hpp"
#include "../error.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>

LLMCACHE_BEGIN_NAMESPACE

struct RetryPolicy {
    int max_retries = 2;                               ///< retries after the first attempt
    std::chrono::milliseconds initial_backoff{500};    ///< bound of the first retry's wait
    std::chrono::milliseconds max_backoff{8'000};      ///< the bound stops doubling here
    std::chrono::milliseconds max_retry_after{60'000}; ///< longest server-asked wait we honour
};

namespace detail {

/// The wait before retry number `retry` (0 for the first retry): uniform in [0, bound) with
/// bound = min(max_backoff, initial_backoff * 2^retry); `unit` is a random number in [0, 1).
inline std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int retry, double unit) noexcept {
    const double initial = static_cast<double>(p.initial_backoff.count());
    const double bound = std::min(static_cast<double>(p.max_backoff.count()),
                                  initial * std::ldexp(1.0, std::clamp(retry, 0, 60)));
    const double u = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(bound * u));
}

/// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the form RFC 9110 requires senders
/// to use in Retry-After.
inline std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view s) noexcept {
    // "Www, DD Mon YYYY HH:MM:SS GMT" is 29 characters.
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
        return std::nullopt;
    auto number = [&](std::size_t pos, std::size_t len, int& out) {
        const char* first = s.data() + pos;
        auto [ptr, ec] = std::from_chars(first, first + len, out);
        return ec == std::errc{} && ptr == first + len;
    };
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day = 0, year = 0, hour = 0, minute = 0, second = 0;
    unsigned month = 0;
    for (unsigned m = 0; m < 12; ++m)
        if (s.substr(8, 3) == months[m])
            month = m + 1;
    if (month == 0 || !number(5, 2, day) || !number(12, 4, year) || !number(17, 2, hour) ||
        !number(20, 2, minute) || !number(23, 2, second) || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year{year}, std::chrono::month{month},
                                          std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok())
        return std::nullopt;
    return std::chrono::sys_days{ymd} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
           std::chrono::seconds{second};
}

/// A non-negative decimal number ("2", "1.5"); no sign, no exponent.
inline std::optional<double> parse_decimal(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    if (s.empty() || !((s.front() >= '0' && s.front() <= '9') || s.front() == '.'))
        return std::nullopt;
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
    if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v))
        return std::nullopt;
    return v;
}

/// The wait a server asked for: `retry-after-ms` (milliseconds, OpenAI's) first, then
/// `retry-after` as seconds or an HTTP date (relative to `now`). Empty when neither parses.
/// A date in the past is a wait of zero.
inline std::optional<std::chrono::milliseconds>
parse_retry_after(std::string_view retry_after_ms, std::string_view retry_after,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) noexcept {
    constexpr double max_ms = 1e12; // ~30 years: anything longer is as good as "never"
    if (auto ms = parse_decimal(retry_after_ms))
        return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(std::min(*ms, max_ms))));
    if (auto seconds = parse_decimal(retry_after))
        return std::chrono::milliseconds(
            static_cast<std::int64_t>(std::ceil(std::min(*seconds * 1e3, max_ms))));
    if (auto date = parse_http_date(retry_after)) {
        if (*date <= now)
            return std::chrono::milliseconds{0};
        return std::chrono::ceil<std::chrono::milliseconds>(*date - now);
    }
    return std::nullopt;
}

/// A uniform random number in [0, 1) from a per-thread generator (jitter needs no quality).
inline double jitter_unit() noexcept {
    thread_local std::minstd_rand gen{static_cast<std::minstd_rand::result_type>(
        std::random_device{}() ^ std::hash<std::thread::id>{}(std::this_thread::get_id()))};
    return std::generate_canonical<double, 32>(gen) * 0.999999;
}

/// What one attempt produced, and whether it may be retried (by default: Error::transient()).
template <class T>
struct Attempt {
    Result<T> result;
    bool retryable = false;

    static Attempt from(Result<T> r) {
        const bool again = !r && r.error().transient();
        return Attempt{std::move(r), again};
    }
};

/// The real clock and sleep; tests pass their own.
struct SteadyTime {
    std::chrono::steady_clock::time_point now() const noexcept { return std::chrono::steady_clock::now(); }
    void sleep(std::chrono::milliseconds d) const { std::this_thread::sleep_for(d); }
    double unit() const noexcept { return jitter_unit(); }
};

/// Adds to a failure's message how many attempts were made and why retrying stopped.
template <class T>
Result<T> note_attempts(Result<T> r, int attempts, std::string_view why_stopped = {}) {
    if (!r && (attempts > 1 || !why_stopped.empty())) {
        std::string& m = r.error().message;
        if (attempts > 1)
            m += " (after " + std::to_string(attempts) + " attempts)";
        m += why_stopped;
    }
    return r;
}

/// Calls `attempt(std::chrono::milliseconds time_left) -> Attempt<T>` until it succeeds, fails in
/// a way that is not retryable, has been retried `policy.max_retries` times, or the next wait
/// would end at or after `deadline`. `time` provides now(), sleep(ms) and unit() (see SteadyTime).
/// The last error is returned; when retries were made its message says how many attempts.
template <class T, class AttemptFn, class Time = SteadyTime>
Result<T> run_with_retries(const RetryPolicy& policy, std::chrono::steady_clock::time_point deadline,
                           AttemptFn&& attempt, Time&& time = {}) {
    for (int n = 0;; ++n) {
        const auto now = time.now();
        if (now >= deadline)
            return fail(ErrorCode::backend_timeout,
                        n == 0 ? std::string("the call's deadline passed before it was made")
                               : "the call's deadline passed after " + std::to_string(n) + " attempts");
        Attempt<T> a = attempt(std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
        if (a.result || !a.retryable || n >= policy.max_retries)
            return note_attempts(std::move(a.result), n + 1);
        const Error& e = a.result.error();
        std::chrono::milliseconds wait;
        if (e.retry_after) {
            if (*e.retry_after > policy.max_retry_after)
                return note_attempts(std::move(a.result), n + 1,
                                     "; retry-after exceeds RetryPolicy::max_retry_after");
            wait = *e.retry_after;
        } else {
            wait = backoff_delay(policy, n, time.unit());
        }
        if (time.now() + wait >= deadline)
            return note_attempts(std::move(a.result), n + 1, "; no retry: the wait would pass the deadline");
        time.sleep(wait);
    }
}

} // namespace detail
LLMCACHE_END_NAMESPACE
