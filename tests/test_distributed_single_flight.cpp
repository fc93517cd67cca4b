// Single-flight across caches that share a store (the stand-in for several processes sharing one
// Redis): leases taken with acquire_lease, answers picked up from the store.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

struct SlowModel {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::chrono::milliseconds delay{150};
    Result<Response> operator()(const Request& req) const {
        ++*calls;
        std::this_thread::sleep_for(delay);
        Response r;
        r.text = "answer to " + std::string(req.last_user_text());
        r.stop_reason = StopReason::end_turn;
        r.model = req.model;
        return r;
    }
};

using SharedCache = Cache<Xxh3Key<>, MemoryStore, ExactOnly, ttl::None, CallableBackend<SlowModel>>;

CacheOptions distributed(std::chrono::milliseconds lease_ttl = 5s, std::chrono::milliseconds wait = 5s) {
    CacheOptions o;
    o.distributed_single_flight = true;
    o.lease_ttl = lease_ttl;
    o.lease_wait = wait;
    return o;
}

} // namespace

TEST_CASE("distributed single-flight: caches sharing a store make one model call", "[single_flight][lease]") {
    MemoryStore shared;
    SlowModel model;
    constexpr int caches = 4;
    std::vector<std::unique_ptr<SharedCache>> fleet;
    for (int i = 0; i < caches; ++i)
        fleet.push_back(std::make_unique<SharedCache>(Xxh3Key<>{}, shared, ExactOnly{}, ttl::None{},
                                                      CallableBackend<SlowModel>{model}, NullObserver{},
                                                      distributed()));
    const Request req = Request::chat("claude-haiku-4-5", "What are your business hours?");
    std::vector<std::string> texts(caches);
    std::vector<std::thread> threads;
    for (int i = 0; i < caches; ++i)
        threads.emplace_back([&, i] {
            auto r = fleet[i]->invoke(req);
            if (r)
                texts[i] = r->text;
        });
    for (auto& t : threads)
        t.join();

    CHECK(*model.calls == 1);
    for (const std::string& t : texts)
        CHECK(t == "answer to What are your business hours?");
    std::uint64_t hits = 0;
    for (auto& c : fleet)
        hits += c->stats().hits;
    CHECK(hits == caches - 1); // the others found the leader's answer in the store
}

TEST_CASE("distributed single-flight: a lease whose holder died expires and blocks nobody for long",
          "[single_flight][lease]") {
    MemoryStore shared;
    SlowModel model;
    model.delay = 1ms;
    SharedCache cache(Xxh3Key<>{}, shared, ExactOnly{}, ttl::None{}, CallableBackend<SlowModel>{model},
                      NullObserver{}, distributed(300ms, 5s));
    const Request req = Request::chat("claude-haiku-4-5", "How do I reset my password?");

    // A "crashed process" took the lease and will never release it.
    auto stolen = shared.acquire_lease(cache.key_for(req) + ":lease", 300ms);
    REQUIRE(stolen);
    REQUIRE(*stolen);

    const auto t0 = std::chrono::steady_clock::now();
    auto r = cache.invoke(req);
    const auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(*model.calls == 1);
    CHECK(waited >= 250ms); // it did respect the live lease
    CHECK(waited < 2000ms); // and took over soon after it expired
}

TEST_CASE("distributed single-flight: the wait is bounded by lease_wait", "[single_flight][lease]") {
    MemoryStore shared;
    SlowModel model;
    model.delay = 1ms;
    SharedCache cache(Xxh3Key<>{}, shared, ExactOnly{}, ttl::None{}, CallableBackend<SlowModel>{model},
                      NullObserver{}, distributed(60s, 200ms));
    const Request req = Request::chat("claude-haiku-4-5", "When are you open?");
    auto held = shared.acquire_lease(cache.key_for(req) + ":lease", 60s);
    REQUIRE(held);
    REQUIRE(*held);

    const auto t0 = std::chrono::steady_clock::now();
    auto r = cache.invoke(req);
    const auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE(r);
    CHECK(*model.calls == 1);
    CHECK(waited >= 150ms);
    CHECK(waited < 1500ms);
}

TEST_CASE("distributed single-flight: leases are released and tokens are checked", "[single_flight][lease]") {
    MemoryStore store;
    auto a = store.acquire_lease("k:lease", 10s);
    REQUIRE(a);
    REQUIRE(*a);
    auto b = store.acquire_lease("k:lease", 10s);
    REQUIRE(b);
    CHECK_FALSE(*b); // held
    REQUIRE(store.release_lease("k:lease", "not-the-token"));
    auto c = store.acquire_lease("k:lease", 10s);
    REQUIRE(c);
    CHECK_FALSE(*c); // a wrong token released nothing
    REQUIRE(store.release_lease("k:lease", **a));
    auto d = store.acquire_lease("k:lease", 10s);
    REQUIRE(d);
    CHECK(*d);
    CHECK(**d != **a);
}

namespace {
struct NoLeaseStore {
    MemoryStore inner;
    StoreValue get(std::string_view k) noexcept { return inner.get(k); }
    Result<void> put(std::string_view k, std::string_view v,
                     std::optional<std::chrono::milliseconds> t) noexcept {
        return inner.put(k, v, t);
    }
    Result<bool> erase(std::string_view k) noexcept { return inner.erase(k); }
    Result<std::size_t> clear_prefix(std::string_view p) noexcept { return inner.clear_prefix(p); }
};
} // namespace

TEST_CASE("distributed single-flight: asking for it with a store without leases is a clear error",
          "[single_flight][lease]") {
    static_assert(leasing_store<MemoryStore>);
    static_assert(!leasing_store<NoLeaseStore>);
    using C = Cache<Xxh3Key<>, NoLeaseStore, ExactOnly, ttl::None, CallableBackend<SlowModel>>;
    CHECK_THROWS_WITH(C(Xxh3Key<>{}, NoLeaseStore{}, ExactOnly{}, ttl::None{},
                        CallableBackend<SlowModel>{SlowModel{}}, NullObserver{}, distributed()),
                      Catch::Contains("leasing_store"));
}
