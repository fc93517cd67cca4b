// CacheOptions::store_budget: one time budget per call for all its store operations. The model's
// time does not count; once the budget is used up, store operations are skipped and counted.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace budget = llmcache::detail::store_budget;

namespace {

/// A MemoryStore whose reads and writes take a set time; counts calls and the time spent in it.
struct SlowStore {
    struct Shared {
        std::atomic<int> gets{0}, puts{0};
        std::atomic<long long> busy_ns{0};
    };
    MemoryStore inner{};
    std::chrono::milliseconds get_delay{0};
    std::chrono::milliseconds put_delay{0};
    std::shared_ptr<Shared> shared = std::make_shared<Shared>();

    void spend(std::chrono::milliseconds d, Clock::time_point t0) noexcept {
        std::this_thread::sleep_for(d);
        shared->busy_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    }
    StoreValue get(std::string_view key) noexcept {
        const auto t0 = Clock::now();
        ++shared->gets;
        auto v = inner.get(key);
        spend(get_delay, t0);
        return v;
    }
    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        const auto t0 = Clock::now();
        ++shared->puts;
        auto r = inner.put(key, value, ttl);
        spend(put_delay, t0);
        return r;
    }
    Result<bool> erase(std::string_view key) noexcept { return inner.erase(key); }
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept { return inner.clear_prefix(prefix); }
    std::chrono::milliseconds busy() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::nanoseconds(shared->busy_ns));
    }
};

struct Model {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::chrono::milliseconds delay{0};
    Response operator()(const Request& req) const {
        ++*calls;
        std::this_thread::sleep_for(delay);
        Response r;
        r.text = "answer to " + std::string(req.last_user_text());
        r.stop_reason = StopReason::end_turn;
        r.model = req.model;
        return r;
    }
};

struct Records {
    struct Data {
        std::mutex mu;
        std::vector<std::optional<ErrorCode>> store_errors;
    };
    std::shared_ptr<Data> data = std::make_shared<Data>();
    void on_call(const CallRecord& r) noexcept {
        std::lock_guard lock(data->mu);
        data->store_errors.push_back(r.store_error);
    }
};

using BudgetCache = Cache<Xxh3Key<>, SlowStore, ExactOnly, ttl::None, CallableBackend<Model>, Records>;

CacheOptions with_budget(std::chrono::milliseconds b) {
    CacheOptions o;
    o.store_budget = b;
    return o;
}

} // namespace

TEST_CASE("store budget: a slow store is cut off once the call's budget is used up", "[budget]") {
    SlowStore store;
    store.get_delay = 30ms;
    Model model;
    Records records;
    BudgetCache cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model}, records,
                      with_budget(50ms));

    auto r = cache.invoke(Request::chat("m", "What is BM25?"));
    REQUIRE(r);
    CHECK(r->text == "answer to What is BM25?");
    CHECK(*model.calls == 1);
    // Lookup (30 ms) and the leader's re-check (started at 30 ms < 50 ms) ran; by the write the
    // 50 ms were gone, so it was skipped and counted.
    CHECK(store.shared->gets == 2);
    CHECK(store.shared->puts == 0);
    CHECK(cache.stats().budget_exhausted == 1);
    CHECK(cache.stats().writes == 0);
    CHECK(cache.stats().write_failures == 0);
    // A store that does not cut its own operations overruns by at most one of them.
    CHECK(store.busy() <= 50ms + 30ms + 60ms);
    REQUIRE(records.data->store_errors.size() == 1);
    CHECK(records.data->store_errors[0] == ErrorCode::store_timeout);
}

TEST_CASE("store budget: every call has its own budget", "[budget]") {
    SlowStore store;
    store.get_delay = 30ms;
    Model model;
    BudgetCache cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model}, Records{},
                      with_budget(50ms));
    for (int i = 0; i < 3; ++i)
        REQUIRE(cache.invoke(Request::chat("m", "question " + std::to_string(i))));
    CHECK(store.shared->gets == 6); // two per call: the budget is not shared across calls
    CHECK(cache.stats().budget_exhausted == 3);
}

TEST_CASE("store budget: 0 means unlimited", "[budget]") {
    SlowStore store;
    store.get_delay = 30ms;
    store.put_delay = 30ms;
    Model model;
    BudgetCache cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model}, Records{},
                      with_budget(0ms));
    REQUIRE(cache.invoke(Request::chat("m", "What is BM25?")));
    CHECK(store.shared->gets == 2);
    CHECK(store.shared->puts == 1);
    CHECK(cache.stats().writes == 1);
    CHECK(cache.stats().budget_exhausted == 0);
    auto again = cache.invoke(Request::chat("m", "What is BM25?"));
    REQUIRE(again);
    CHECK(again->cache_hit);
}

TEST_CASE("store budget: the model's time does not count", "[budget]") {
    SlowStore store;
    store.get_delay = 5ms;
    store.put_delay = 5ms;
    Model model;
    model.delay = 200ms; // far beyond the budget
    BudgetCache cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model}, Records{},
                      with_budget(50ms));
    REQUIRE(cache.invoke(Request::chat("m", "Slow question")));
    CHECK(store.shared->puts == 1);
    CHECK(cache.stats().writes == 1);
    CHECK(cache.stats().budget_exhausted == 0);
    auto again = cache.invoke(Request::chat("m", "Slow question"));
    REQUIRE(again);
    CHECK(again->cache_hit);
    CHECK(*model.calls == 1);
}

TEST_CASE("store budget: lookup and store are budgeted too", "[budget]") {
    SlowStore store;
    store.get_delay = 60ms;
    store.put_delay = 60ms;
    Model model;
    BudgetCache cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model}, Records{},
                      with_budget(50ms));
    Response resp;
    resp.text = "stored by hand";
    resp.stop_reason = StopReason::end_turn;
    const Request req = Request::chat("m", "By hand");
    REQUIRE(cache.store(req, resp)); // one write: the budget is not used up before it starts
    CHECK(cache.lookup(req));        // one read, likewise
    CHECK(store.shared->gets == 1);
    CHECK(cache.stats().budget_exhausted == 0);
}

TEST_CASE("store budget: scopes nest without extending, pauses move the deadline", "[budget]") {
    CHECK_FALSE(budget::active());
    CHECK_FALSE(budget::exhausted());
    const auto far = Clock::now() + 1h;
    CHECK(budget::clamp(far) == far); // no scope: nothing is cut
    {
        budget::Scope outer(50ms);
        REQUIRE(budget::active());
        const auto outer_deadline = *budget::deadline();
        {
            budget::Scope inner(10s); // must not extend the outer budget
            CHECK(*budget::deadline() == outer_deadline);
            budget::Scope unlimited(0ms); // 0: nothing of its own
            CHECK(*budget::deadline() == outer_deadline);
        }
        {
            budget::Scope shorter(5ms); // may shorten it
            CHECK(*budget::deadline() < outer_deadline);
        }
        CHECK(*budget::deadline() == outer_deadline);
        CHECK(budget::clamp(far) == outer_deadline);
        {
            budget::Pause model_time;
            CHECK_FALSE(budget::active());
            std::this_thread::sleep_for(80ms); // longer than the whole budget
        }
        REQUIRE(budget::active());
        CHECK_FALSE(budget::exhausted()); // the pause did not count
        CHECK(*budget::deadline() >= outer_deadline + 80ms);
        {
            budget::Scope inner(10s);
            budget::Pause nested;
            std::this_thread::sleep_for(20ms);
        }
        CHECK(*budget::deadline() >= outer_deadline + 100ms); // an inner pause pauses the outer too
        std::this_thread::sleep_for(60ms);
        CHECK(budget::exhausted());
        CHECK(budget::remaining() == Clock::duration::zero());
    }
    CHECK_FALSE(budget::active());
}

TEST_CASE("store budget: an in-process store is never cut off", "[budget]") {
    static_assert(in_process_store<MemoryStore>);
    static_assert(!in_process_store<SlowStore>);
    Model model;
    Cache memory_cache{Xxh3Key{}, MemoryStore{}, ExactOnly{}, ttl::None{}, CallableBackend{model}};
    BudgetCache slow_cache(Xxh3Key<>{}, SlowStore{}, ExactOnly{}, ttl::None{}, CallableBackend<Model>{model},
                           Records{});
    const Request req = Request::chat("claude-haiku-4-5", "When are you open?");
    REQUIRE(memory_cache.invoke(req));
    REQUIRE(slow_cache.invoke(req));

    // An enclosing budget that is already spent: the network store skips its read, the
    // in-process store still answers from memory.
    detail::store_budget::Scope spent(1ms, Clock::now() - 1s);
    auto from_memory = memory_cache.invoke(req);
    REQUIRE(from_memory);
    CHECK(from_memory->cache_hit);
    CHECK(memory_cache.stats().budget_exhausted == 0);

    auto from_slow = slow_cache.invoke(req);
    REQUIRE(from_slow);
    CHECK_FALSE(from_slow->cache_hit);
    CHECK(slow_cache.stats().budget_exhausted > 0);
}
