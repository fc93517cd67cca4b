// Single-flight: concurrent identical misses make one model call; failures, exceptions and slow
// leaders are handled without hanging or leaking flights.
//
// Determinism: a "gate" makes the model's call wait until every caller has done its cache lookup
// (counted by the store), so every caller is known to have missed before the answer exists. The
// counts asserted below then follow from the single-flight rules alone, not from timing.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

struct FlightState {
    std::atomic<int> calls{0};
    std::atomic<int> gets{0};      ///< store reads so far
    std::atomic<int> gate{0};      ///< a call waits until gets >= gate (0: no wait)
    std::atomic<int> delay_ms{50}; ///< then sleeps this long
    std::atomic<bool> first_fails{false};
    std::atomic<ErrorCode> first_error{ErrorCode::backend_unavailable};
    std::atomic<bool> always_fails{false};
    std::atomic<bool> first_throws{false};
    std::atomic<int> active{0};          ///< calls in progress
    std::atomic<int> max_active{0};      ///< most calls in progress at once
    std::atomic<bool> rendezvous{false}; ///< wait (bounded) until two calls are in progress

    /// The common part of every test model call; returns the call's number (1-based).
    int enter() {
        const int n = ++calls;
        const int now_active = ++active;
        int seen = max_active.load();
        while (now_active > seen && !max_active.compare_exchange_weak(seen, now_active)) {
        }
        const auto deadline = Clock::now() + 5s;
        if (gate > 0) {
            while (gets < gate && Clock::now() < deadline)
                std::this_thread::sleep_for(1ms);
            std::this_thread::sleep_for(20ms); // let the last readers reach the flight
        }
        if (rendezvous)
            while (max_active < 2 && Clock::now() < deadline)
                std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
        --active;
        return n;
    }
};

Response answer_to(const Request& req) {
    Response r;
    r.text = "answer to " + std::string(req.last_user_text());
    r.stop_reason = StopReason::end_turn;
    r.model = req.model;
    r.usage.input_tokens = 10;
    r.usage.output_tokens = 20;
    return r;
}

struct SlowModel {
    std::shared_ptr<FlightState> s;
    Result<Response> operator()(const Request& req) const {
        const int n = s->enter();
        if (s->first_throws && n == 1)
            throw std::runtime_error("leader exploded");
        if (s->always_fails || (s->first_fails && n == 1))
            return fail(s->first_error.load(), "model failed");
        return answer_to(req);
    }
};

/// A backend that is not a CallableBackend: its first call throws through the Cache.
struct ThrowingBackend {
    std::shared_ptr<FlightState> s;
    Result<Response> complete(const Request& req) {
        if (s->enter() == 1)
            throw std::runtime_error("leader exploded");
        return answer_to(req);
    }
};

/// A MemoryStore that counts reads (after they happen), for the gate.
struct CountingStore {
    MemoryStore inner;
    std::shared_ptr<FlightState> s;

    StoreValue get(std::string_view key) noexcept {
        StoreValue v = inner.get(key);
        ++s->gets;
        return v;
    }
    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        return inner.put(key, value, ttl);
    }
    Result<bool> erase(std::string_view key) noexcept { return inner.erase(key); }
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept { return inner.clear_prefix(prefix); }
};

template <class Backend = CallableBackend<SlowModel>>
using TestCache = Cache<Xxh3Key<>, CountingStore, ExactOnly, ttl::None, Backend>;

CacheOptions with_wait(std::chrono::milliseconds wait, bool single_flight = true) {
    CacheOptions o;
    o.single_flight_wait = wait;
    o.single_flight = single_flight;
    return o;
}

template <class Backend = CallableBackend<SlowModel>>
struct Fixture {
    std::shared_ptr<FlightState> s = std::make_shared<FlightState>(); // before cache, which uses it
    explicit Fixture(CacheOptions options = with_wait(10s), Backend b = Backend{SlowModel{}})
        : cache(Xxh3Key<>{}, CountingStore{MemoryStore{}, s}, ExactOnly{}, ttl::None{}, with_state(b),
                NullObserver{}, options) {}

    Backend with_state(Backend b) const {
        if constexpr (requires { b.s; })
            b.s = s;
        else
            b = Backend{SlowModel{s}};
        return b;
    }

    TestCache<Backend> cache;
};

/// What one caller got: a result, or the message of the exception that reached it.
struct CallerResult {
    std::optional<Result<Response>> result;
    std::optional<std::string> exception;
};

/// Runs `n` callers of invoke(req) released at the same moment.
template <class C>
std::vector<CallerResult> invoke_concurrently(C& cache, const Request& req, int n) {
    std::vector<CallerResult> out(static_cast<std::size_t>(n));
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            ++ready;
            while (!go)
                std::this_thread::yield();
            try {
                out[static_cast<std::size_t>(i)].result = cache.invoke(req);
            } catch (const std::exception& e) {
                out[static_cast<std::size_t>(i)].exception = e.what();
            }
        });
    while (ready < n)
        std::this_thread::yield();
    go = true;
    for (auto& t : threads)
        t.join();
    return out;
}

/// No flight is left behind: after the entry is gone, one call makes its own model call at once
/// (a leftover flight would make it wait for the whole single_flight_wait, or share an old answer).
template <class C>
void check_no_flight_left(C& cache, FlightState& s, const Request& req) {
    REQUIRE(cache.invalidate(req));
    s.gate = 0;
    s.delay_ms = 0;
    s.first_fails = false;
    s.always_fails = false;
    const int calls = s.calls;
    const auto coalesced = cache.stats().coalesced;
    const auto start = Clock::now();
    auto r = cache.invoke(req);
    const auto elapsed = Clock::now() - start;
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(s.calls == calls + 1);
    CHECK(cache.stats().coalesced == coalesced);
    CHECK(elapsed < cache.options().single_flight_wait / 4);
}

Request chat(std::string prompt) {
    return Request::chat("claude-sonnet-4-5", std::move(prompt));
}

} // namespace

TEST_CASE("single_flight: concurrent identical misses make one model call", "[single_flight][threads]") {
    for (int n : {16, 64}) {
        INFO(n << " callers");
        Fixture<> f;
        f.s->gate = n + 1; // every caller's lookup, plus the leader's re-check
        const Request req = chat("What is single flight?");

        const auto out = invoke_concurrently(f.cache, req, n);
        CHECK(f.s->calls == 1);
        for (const CallerResult& o : out) {
            REQUIRE_FALSE(o.exception);
            REQUIRE(o.result);
            REQUIRE(*o.result);
            CHECK((*o.result)->text == "answer to What is single flight?");
            CHECK_FALSE((*o.result)->cache_hit);
        }
        const CacheStats st = f.cache.stats();
        CHECK(st.backend_calls == 1);
        CHECK(st.misses == 1);
        CHECK(st.hits + st.coalesced == static_cast<std::uint64_t>(n - 1));
        CHECK(st.coalesced >= 1);
        CHECK(st.writes == 1);
        // Coalesced callers saved the leader's tokens.
        CHECK(st.input_tokens_saved == 10 * (st.hits + st.coalesced));
        check_no_flight_left(f.cache, *f.s, req);
    }
}

TEST_CASE("single_flight: without single flight every concurrent miss calls the model",
          "[single_flight][threads]") {
    const int n = 16;
    Fixture<> f(with_wait(10s, false));
    f.s->gate = n; // every caller's lookup (no re-check without single flight)
    const auto out = invoke_concurrently(f.cache, chat("Hello"), n);
    CHECK(f.s->calls == n);
    CHECK(f.cache.stats().coalesced == 0);
    for (const CallerResult& o : out) {
        REQUIRE(o.result);
        CHECK(*o.result);
    }
}

TEST_CASE("single_flight: a transient leader failure makes followers elect a new leader",
          "[single_flight][threads]") {
    const int n = 16;
    Fixture<> f;
    f.s->gate = n + 1;
    f.s->first_fails = true;
    f.s->first_error = ErrorCode::backend_unavailable;
    const Request req = chat("Flaky");

    const auto out = invoke_concurrently(f.cache, req, n);
    int errors = 0, answers = 0;
    for (const CallerResult& o : out) {
        REQUIRE_FALSE(o.exception);
        REQUIRE(o.result);
        if (*o.result) {
            ++answers;
            CHECK((*o.result)->text == "answer to Flaky");
        } else {
            ++errors;
            CHECK(o.result->error().code == ErrorCode::backend_unavailable);
        }
    }
    // Only the caller whose own call failed sees the error; one more call serves everyone else.
    CHECK(errors == 1);
    CHECK(answers == n - 1);
    CHECK(f.s->calls == 2);
    CHECK(f.cache.stats().backend_errors == 1);
    CHECK(f.cache.lookup(req));
    check_no_flight_left(f.cache, *f.s, req);
}

TEST_CASE("single_flight: a non-transient failure is shared with the followers", "[single_flight][threads]") {
    const int n = 16;
    Fixture<> f;
    f.s->gate = n + 1;
    f.s->always_fails = true;
    f.s->first_error = ErrorCode::invalid_request;
    const Request req = chat("Bad request");

    const auto out = invoke_concurrently(f.cache, req, n);
    CHECK(f.s->calls == 1);
    for (const CallerResult& o : out) {
        REQUIRE(o.result);
        REQUIRE_FALSE(*o.result);
        CHECK(o.result->error().code == ErrorCode::invalid_request);
    }
    CHECK(f.cache.stats().backend_errors == 1);
    CHECK_FALSE(f.cache.lookup(req));
    check_no_flight_left(f.cache, *f.s, req);
}

TEST_CASE("single_flight: a throwing model callable is a shared backend_failed", "[single_flight][threads]") {
    const int n = 16;
    Fixture<> f;
    f.s->gate = n + 1;
    f.s->first_throws = true;
    const Request req = chat("Explosive");

    const auto out = invoke_concurrently(f.cache, req, n);
    CHECK(f.s->calls == 1);
    for (const CallerResult& o : out) {
        REQUIRE_FALSE(o.exception);
        REQUIRE(o.result);
        REQUIRE_FALSE(*o.result);
        CHECK(o.result->error().code == ErrorCode::backend_failed);
    }
    check_no_flight_left(f.cache, *f.s, req);
}

TEST_CASE("single_flight: a leader whose backend throws never leaves followers hanging",
          "[single_flight][threads]") {
    const int n = 16;
    Fixture<ThrowingBackend> f(with_wait(10s), ThrowingBackend{});
    f.s->gate = n + 1;
    const Request req = chat("Explosive");

    const auto start = Clock::now();
    const auto out = invoke_concurrently(f.cache, req, n);
    const auto elapsed = Clock::now() - start;

    int thrown = 0;
    for (const CallerResult& o : out) {
        if (o.exception) {
            ++thrown;
            CHECK(*o.exception == "leader exploded");
            continue;
        }
        REQUIRE(o.result);
        REQUIRE_FALSE(*o.result); // the followers learn that the leading call was abandoned
        CHECK(o.result->error().code == ErrorCode::backend_failed);
    }
    CHECK(thrown == 1); // only the leader's caller sees the exception
    CHECK(f.s->calls == 1);
    CHECK(elapsed < 5s); // far less than the 10 s the followers would wait for a lost leader
    check_no_flight_left(f.cache, *f.s, req);
}

TEST_CASE("single_flight: followers stop waiting for a slow leader and call the model themselves",
          "[single_flight][threads]") {
    const int n = 8;
    Fixture<> f(with_wait(50ms));
    f.s->delay_ms = 300;
    const Request req = chat("Slow");

    const auto start = Clock::now();
    const auto out = invoke_concurrently(f.cache, req, n);
    const auto elapsed = Clock::now() - start;

    for (const CallerResult& o : out) {
        REQUIRE(o.result);
        REQUIRE(*o.result);
        CHECK((*o.result)->text == "answer to Slow");
    }
    const CacheStats st = f.cache.stats();
    CHECK(f.s->calls > 1);
    CHECK(st.backend_calls == static_cast<std::uint64_t>(f.s->calls));
    CHECK(st.hits + st.misses + st.coalesced == static_cast<std::uint64_t>(n));
    CHECK(elapsed < n * 300ms / 2); // the callers ran in parallel, not one after another
    check_no_flight_left(f.cache, *f.s, req);
}

TEST_CASE("single_flight: different keys are called in parallel", "[single_flight][threads]") {
    Fixture<> f;
    f.s->rendezvous = true; // each call waits (up to 5 s) until the other one is running too
    f.s->delay_ms = 100;
    std::optional<Result<Response>> a, b;
    const auto start = Clock::now();
    std::thread ta([&] { a = f.cache.invoke(chat("Prompt A")); });
    std::thread tb([&] { b = f.cache.invoke(chat("Prompt B")); });
    ta.join();
    tb.join();
    const auto elapsed = Clock::now() - start;
    REQUIRE(a);
    REQUIRE(*a);
    REQUIRE(b);
    REQUIRE(*b);
    CHECK((*a)->text == "answer to Prompt A");
    CHECK((*b)->text == "answer to Prompt B");
    CHECK(f.s->max_active == 2);
    CHECK(elapsed < 3s);
}

TEST_CASE("single_flight: many threads over a few keys make one call per key", "[single_flight][threads]") {
    Fixture<> f;
    f.s->delay_ms = 5;
    const std::vector<std::string> prompts{"k0", "k1", "k2", "k3"};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int round = 0; round < 3; ++round)
                for (std::size_t i = 0; i < prompts.size(); ++i) {
                    const std::string& p = prompts[(i + static_cast<std::size_t>(t)) % prompts.size()];
                    auto r = f.cache.invoke(chat(p));
                    if (!r || r->text != "answer to " + p)
                        ++wrong;
                }
        });
    for (auto& t : threads)
        t.join();
    CHECK(wrong == 0);
    CHECK(f.s->calls == 4);
    const CacheStats st = f.cache.stats();
    CHECK(st.misses == 4);
    CHECK(st.hits + st.coalesced == 8 * 3 * 4 - 4);
    for (const std::string& p : prompts)
        check_no_flight_left(f.cache, *f.s, chat(p));
}

TEST_CASE("single_flight: detail::SingleFlight elects one leader and forgets finished flights",
          "[single_flight]") {
    detail::SingleFlight flights;
    CHECK(flights.in_flight() == 0);
    auto leader = flights.join("k");
    auto follower = flights.join("k");
    auto other = flights.join("other");
    CHECK(leader.leader);
    CHECK_FALSE(follower.leader);
    CHECK(other.leader);
    CHECK(follower.flight == leader.flight);
    CHECK(flights.in_flight() == 2);

    // A follower gives up at its deadline when the leader has not finished.
    CHECK_FALSE(detail::SingleFlight::wait(follower, Clock::now() + 1ms));

    Response r;
    r.text = "shared";
    flights.finish("k", leader, r);
    CHECK(flights.in_flight() == 1);
    auto shared = detail::SingleFlight::wait(follower, Clock::now() + 1s);
    REQUIRE(shared);
    REQUIRE(*shared);
    CHECK((*shared)->text == "shared");

    auto next = flights.join("k"); // a finished flight is not joined again
    CHECK(next.leader);
    CHECK(next.flight != leader.flight);
    flights.finish("k", next, fail(ErrorCode::rate_limited, "slow down"));
    flights.finish("other", other, fail(ErrorCode::invalid_request, "bad"));
    CHECK(flights.in_flight() == 0);
    auto failed = detail::SingleFlight::wait(next, Clock::now());
    REQUIRE(failed);
    REQUIRE_FALSE(*failed);
    CHECK(failed->error().code == ErrorCode::rate_limited);
}
