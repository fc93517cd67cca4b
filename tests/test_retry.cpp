// RetryPolicy and the retry loop of the HTTP backends: backoff bounds, retry-after parsing,
// deadlines, and what is never retried. A fake clock makes the waits exact and instant.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

/// Time that only moves when the retry loop sleeps; records every wait.
struct FakeTime {
    std::chrono::steady_clock::time_point t{};
    std::vector<milliseconds> sleeps{};
    double u = 0.5;
    std::chrono::steady_clock::time_point now() const noexcept { return t; }
    void sleep(milliseconds d) {
        sleeps.push_back(d);
        t += d;
    }
    double unit() const noexcept { return u; }
};

Error error_of(ErrorCode code, std::optional<milliseconds> retry_after = std::nullopt) {
    return Error{code, "provider says no", 0, retry_after};
}

} // namespace

TEST_CASE("retry: backoff is full jitter under a doubling bound capped at max_backoff", "[retry]") {
    RetryPolicy p; // 500 ms, doubling, 8 s cap
    CHECK(detail::backoff_delay(p, 0, 0.0) == 0ms);
    CHECK(detail::backoff_delay(p, 0, 0.5) == 250ms);
    CHECK(detail::backoff_delay(p, 1, 0.5) == 500ms);
    CHECK(detail::backoff_delay(p, 2, 0.999) == 1998ms);
    CHECK(detail::backoff_delay(p, 4, 0.999) == 7992ms);
    CHECK(detail::backoff_delay(p, 5, 0.999) == 7992ms);  // capped
    CHECK(detail::backoff_delay(p, 60, 0.999) == 7992ms); // no overflow
    for (int i = 0; i < 1000; ++i) {
        const double u = detail::jitter_unit();
        REQUIRE(u >= 0.0);
        REQUIRE(u < 1.0);
    }
}

TEST_CASE("retry: retry-after-ms, retry-after seconds and HTTP dates", "[retry]") {
    const auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} + 8h;
    CHECK(detail::parse_retry_after("", "2", now) == 2000ms);
    CHECK(detail::parse_retry_after("", "1.5", now) == 1500ms);
    CHECK(detail::parse_retry_after("", " 0 ", now) == 0ms);
    CHECK(detail::parse_retry_after("250", "30", now) == 250ms); // the ms header wins
    CHECK(detail::parse_retry_after("12.3", "", now) == 13ms);
    CHECK(detail::parse_retry_after("", "Thu, 26 Nov 2026 08:00:07 GMT", now) == 7000ms);
    CHECK(detail::parse_retry_after("", "Thu, 26 Nov 2026 07:59:00 GMT", now) == 0ms); // past
    CHECK(detail::parse_retry_after("", "Wed, 30 Feb 2026 08:00:07 GMT", now) == std::nullopt);
    CHECK(detail::parse_retry_after("", "-1", now) == std::nullopt);
    CHECK(detail::parse_retry_after("", "soon", now) == std::nullopt);
    CHECK(detail::parse_retry_after("", "1e3", now) == std::nullopt);
    CHECK(detail::parse_retry_after("", "", now) == std::nullopt);
    CHECK(detail::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") ==
          std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s);
    CHECK_FALSE(detail::parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"));
}

TEST_CASE("retry: transient errors are retried max_retries times with backoff", "[retry]") {
    RetryPolicy p;
    FakeTime time;
    int calls = 0;
    auto r = detail::run_with_retries<int>(
        p, time.t + 1h,
        [&](milliseconds) {
            ++calls;
            return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::backend_unavailable)));
        },
        time);
    REQUIRE_FALSE(r);
    CHECK(calls == 3);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("provider says no") && Catch::Contains("after 3 attempts"));
    CHECK(time.sleeps == std::vector<milliseconds>{250ms, 500ms});
}

TEST_CASE("retry: success after failures; zero retries means one attempt", "[retry]") {
    RetryPolicy p;
    FakeTime time;
    int calls = 0;
    auto r = detail::run_with_retries<int>(
        p, time.t + 1h,
        [&](milliseconds) -> detail::Attempt<int> {
            if (++calls < 3)
                return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::rate_limited)));
            return detail::Attempt<int>::from(42);
        },
        time);
    REQUIRE(r);
    CHECK(*r == 42);
    CHECK(calls == 3);

    p.max_retries = 0;
    calls = 0;
    auto once = detail::run_with_retries<int>(
        p, time.t + 1h,
        [&](milliseconds) {
            ++calls;
            return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::backend_timeout)));
        },
        time);
    CHECK_FALSE(once);
    CHECK(calls == 1);
    CHECK_THAT(once.error().message, !Catch::Contains("attempts"));
}

TEST_CASE("retry: errors that are not transient are never retried", "[retry]") {
    for (ErrorCode code : {ErrorCode::quota_exhausted, ErrorCode::authentication, ErrorCode::invalid_request,
                           ErrorCode::bad_response, ErrorCode::backend_failed}) {
        FakeTime time;
        int calls = 0;
        auto r = detail::run_with_retries<int>(
            RetryPolicy{}, time.t + 1h,
            [&](milliseconds) {
                ++calls;
                return detail::Attempt<int>::from(unexpected<Error>(error_of(code, 1ms)));
            },
            time);
        CHECK_FALSE(r);
        CHECK(calls == 1);
        CHECK(time.sleeps.empty());
    }
    // The attempt can also veto a retry of a transient error (e.g. a stream that already
    // delivered text).
    FakeTime time;
    int calls = 0;
    auto r = detail::run_with_retries<int>(
        RetryPolicy{}, time.t + 1h,
        [&](milliseconds) {
            ++calls;
            return detail::Attempt<int>{unexpected<Error>(error_of(ErrorCode::backend_unavailable)), false};
        },
        time);
    CHECK(calls == 1);
}

TEST_CASE("retry: retry-after is honoured up to max_retry_after", "[retry]") {
    RetryPolicy p;
    FakeTime time;
    int calls = 0;
    auto r = detail::run_with_retries<int>(
        p, time.t + 1h,
        [&](milliseconds) -> detail::Attempt<int> {
            if (++calls == 1)
                return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::rate_limited, 3s)));
            return detail::Attempt<int>::from(1);
        },
        time);
    CHECK(r);
    CHECK(time.sleeps == std::vector<milliseconds>{3s});

    // Longer than the cap: returned at once, with the server's hint kept for the caller.
    FakeTime t2;
    calls = 0;
    auto too_long = detail::run_with_retries<int>(
        p, t2.t + 1h,
        [&](milliseconds) {
            ++calls;
            return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::rate_limited, 120s)));
        },
        t2);
    REQUIRE_FALSE(too_long);
    CHECK(calls == 1);
    CHECK(t2.sleeps.empty());
    CHECK(too_long.error().retry_after == milliseconds{120s});
    CHECK_THAT(too_long.error().message, Catch::Contains("max_retry_after"));
}

TEST_CASE("retry: the deadline bounds the attempts and the waits", "[retry]") {
    RetryPolicy p;
    FakeTime time;
    std::vector<milliseconds> time_left;
    auto r = detail::run_with_retries<int>(
        p, time.t + 2s,
        [&](milliseconds left) {
            time_left.push_back(left);
            time.t += 1s; // the attempt itself takes a second
            return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::rate_limited, 1500ms)));
        },
        time);
    REQUIRE_FALSE(r);
    // 1 s spent, a 1.5 s wait would end past the 2 s deadline: no retry, no sleep.
    CHECK(time_left == std::vector<milliseconds>{2s});
    CHECK(time.sleeps.empty());
    CHECK_THAT(r.error().message, Catch::Contains("deadline"));

    FakeTime late;
    int calls = 0;
    auto none = detail::run_with_retries<int>(
        p, late.t, [&](milliseconds) { return ++calls, detail::Attempt<int>::from(1); }, late);
    REQUIRE_FALSE(none);
    CHECK(none.error().code == ErrorCode::backend_timeout);
    CHECK(calls == 0);
}

TEST_CASE("retry: the real clock sleeps the backoff", "[retry]") {
    RetryPolicy p;
    p.initial_backoff = 20ms;
    p.max_retries = 1;
    struct HalfJitter : detail::SteadyTime {
        double unit() const noexcept { return 0.99; }
    };
    const auto t0 = std::chrono::steady_clock::now();
    int calls = 0;
    auto r = detail::run_with_retries<int>(
        p, t0 + 10s,
        [&](milliseconds) {
            ++calls;
            return detail::Attempt<int>::from(unexpected<Error>(error_of(ErrorCode::backend_unavailable)));
        },
        HalfJitter{});
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK_FALSE(r);
    CHECK(calls == 2);
    CHECK(took >= 19ms);
    CHECK(took < 2s);
}
