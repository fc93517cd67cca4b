// CacheOptions::store_budget against a real redis-server that stops answering (SIGSTOP): the
// store's own timeouts are long (200 ms per command, 300 ms to connect), the call's budget is
// short (40 ms), and each call's time outside the model stays near the budget.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache_test::answer_for;
using llmcache_test::CountingModel;
using llmcache_test::prompt;
using llmcache_test::RedisServer;
using Clock = std::chrono::steady_clock;

namespace {

/// Keeps each call's total latency and model latency.
struct Timings {
    struct Data {
        std::mutex mu;
        std::vector<std::chrono::nanoseconds> overhead; ///< latency minus the model's
    };
    std::shared_ptr<Data> data = std::make_shared<Data>();
    void on_call(const llmcache::CallRecord& r) noexcept {
        std::lock_guard lock(data->mu);
        data->overhead.push_back(r.latency - r.backend_latency);
    }
};

/// CountingModel that takes a while, so the model's time is visibly not counted.
struct SlowCountingModel {
    CountingModel inner;
    llmcache::Response operator()(const llmcache::Request& req) const {
        std::this_thread::sleep_for(30ms);
        return inner(req);
    }
};

using BudgetCache =
    llmcache::Cache<llmcache::Xxh3Key<>, RedisStore, llmcache::ExactOnly, llmcache::ttl::Fixed,
                    llmcache::CallableBackend<SlowCountingModel>, Timings>;

RedisStoreOptions stalled_opts(const RedisServer& server) {
    RedisStoreOptions o;
    o.url = server.url();
    o.connect_timeout = 300ms;
    o.command_timeout = 200ms;
    o.pool_wait = 200ms;
    o.circuit.failure_threshold = 0; // never opens: every call really goes to the stalled server
    o.log_sink = [](std::string_view) {};
    return o;
}

std::chrono::milliseconds worst(const Timings& t) {
    std::lock_guard lock(t.data->mu);
    std::chrono::nanoseconds w{};
    for (auto d : t.data->overhead)
        w = std::max(w, d);
    return std::chrono::duration_cast<std::chrono::milliseconds>(w);
}

} // namespace

TEST_CASE("redis budget: a stalled server costs a call about its store_budget, not its timeouts",
          "[redis][budget][faults]") {
    RedisServer server;
    RedisStore store(stalled_opts(server));
    REQUIRE(store.ping()); // one pooled connection, ready
    SlowCountingModel model;
    Timings timings;
    llmcache::CacheOptions opts;
    opts.store_budget = 40ms;
    BudgetCache cache(llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Fixed{10min},
                      llmcache::CallableBackend<SlowCountingModel>{model}, timings, opts);

    server.pause(); // SIGSTOP: connections stay open, nothing answers
    constexpr int calls = 5;
    for (int i = 0; i < calls; ++i) {
        const std::string text = "stalled " + std::to_string(i);
        auto r = cache.invoke(prompt(text));
        REQUIRE(r); // fail open
        CHECK(r->text == answer_for(text));
    }
    server.resume();

    CHECK(model.inner.calls->load() == calls);
    const auto s = cache.stats();
    CHECK(s.store_errors >= calls);     // each lookup timed out (cut to the budget)
    CHECK(s.budget_exhausted >= calls); // and the rest of each call's store work was skipped
    // 40 ms budget, generous margin for a shared machine; without the budget a call takes at
    // least one command_timeout (200 ms) outside the model, see the next test.
    CHECK(worst(timings) <= 120ms);
    CHECK(store.stats().errors.timeout + store.stats().errors.connect >= calls);
}

TEST_CASE("redis budget: without a budget the same stall costs the store's own timeouts",
          "[redis][budget][faults]") {
    RedisServer server;
    RedisStore store(stalled_opts(server));
    REQUIRE(store.ping());
    SlowCountingModel model;
    Timings timings;
    llmcache::CacheOptions opts;
    opts.store_budget = 0ms; // unlimited
    BudgetCache cache(llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Fixed{10min},
                      llmcache::CallableBackend<SlowCountingModel>{model}, timings, opts);

    server.pause();
    auto r = cache.invoke(prompt("stalled, no budget"));
    server.resume();
    REQUIRE(r);
    CHECK(r->text == answer_for("stalled, no budget"));
    CHECK(cache.stats().budget_exhausted == 0);
    CHECK(worst(timings) >= 190ms); // at least the lookup's command_timeout
}

TEST_CASE("redis budget: a healthy server is unaffected by a short budget", "[redis][budget]") {
    RedisServer server;
    RedisStoreOptions o = stalled_opts(server);
    o.command_timeout = 2s;
    o.connect_timeout = 2s;
    RedisStore store(o);
    SlowCountingModel model;
    Timings timings;
    llmcache::CacheOptions opts;
    opts.store_budget = 200ms; // loose enough for a shared test machine
    BudgetCache cache(llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Fixed{10min},
                      llmcache::CallableBackend<SlowCountingModel>{model}, timings, opts);
    for (int round = 0; round < 2; ++round)
        for (int i = 0; i < 5; ++i)
            REQUIRE(cache.invoke(prompt("healthy " + std::to_string(i))));
    CHECK(model.inner.calls->load() == 5); // the second round was all hits
    CHECK(cache.stats().hits == 5);
    CHECK(cache.stats().writes == 5);
    CHECK(cache.stats().budget_exhausted == 0);
    CHECK(cache.stats().store_errors == 0);
}
