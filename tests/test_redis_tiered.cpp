// TieredStore<MemoryStore, RedisStore> against a real redis-server: two tiered stores stand for
// two processes sharing one Redis (an invalidation in one is seen by the other within l1_ttl),
// L1 keeps answering while Redis is down, and a Cache on the tiered store misses, then hits.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::MemoryStore;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache::TieredStore;
using llmcache::TieredStoreOptions;
using llmcache_test::Admin;
using llmcache_test::answer_for;
using llmcache_test::CountingModel;
using llmcache_test::prompt;
using llmcache_test::RedisServer;
using Clock = std::chrono::steady_clock;

using Tiered = TieredStore<MemoryStore, RedisStore>;

static_assert(llmcache::store_policy<Tiered>);
static_assert(llmcache::touching_store<Tiered> && llmcache::batch_get_store<Tiered> &&
              llmcache::batch_put_store<Tiered> && llmcache::leasing_store<Tiered> &&
              llmcache::indexing_store<Tiered>);
static_assert(!llmcache::in_process_store<Tiered>); // the Cache's store budget applies
static_assert(Tiered::max_ttl == RedisStore::max_ttl);

namespace {

std::optional<std::string> value_of(Tiered& store, std::string_view key) {
    llmcache::StoreValue v = store.get(key);
    REQUIRE(v);
    return *v;
}

using TieredCache = llmcache::Cache<llmcache::Xxh3Key<>, Tiered, llmcache::ExactOnly, llmcache::ttl::Fixed,
                                    llmcache::CallableBackend<CountingModel>>;

} // namespace

TEST_CASE("redis tiered: two processes share Redis; invalidation is seen within l1_ttl", "[redis][tiered]") {
    RedisServer server;
    Admin admin(server.url());
    const TieredStoreOptions opts{.l1_ttl = 300ms};
    // Two "processes": each with its own L1 and its own connection pool.
    Tiered a(MemoryStore{}, RedisStore(llmcache_test::store_options(server)), opts);
    Tiered b(MemoryStore{}, RedisStore(llmcache_test::store_options(server)), opts);

    REQUIRE(a.put("llmcache:k1:t:xxh3:01", "v1", 10min));
    CHECK(admin.text({"GET", "llmcache:k1:t:xxh3:01"}) == "v1");
    const long long pttl = admin.pttl("llmcache:k1:t:xxh3:01");
    CHECK(pttl > 9 * 60 * 1000);                         // Redis keeps the entry's own TTL, not l1_ttl
    CHECK(value_of(b, "llmcache:k1:t:xxh3:01") == "v1"); // from Redis, copied into b's L1
    CHECK(b.l1().ttl_remaining("llmcache:k1:t:xxh3:01").value_or(0ms) <= 300ms);

    // a invalidates; b's copy may answer until it expires, never longer than l1_ttl.
    const auto invalidated = Clock::now();
    auto erased = a.erase("llmcache:k1:t:xxh3:01");
    REQUIRE(erased);
    CHECK(*erased);
    CHECK(admin.integer({"EXISTS", "llmcache:k1:t:xxh3:01"}) == 0);
    CHECK_FALSE(value_of(a, "llmcache:k1:t:xxh3:01"));
    bool stale_seen = false;
    while (value_of(b, "llmcache:k1:t:xxh3:01")) {
        stale_seen = true;
        REQUIRE(Clock::now() - invalidated < 300ms + 100ms); // the bound, with scheduling slack
        std::this_thread::sleep_for(10ms);
    }
    CHECK(stale_seen); // b did hold a copy: the bound was really exercised
    CHECK_FALSE(value_of(b, "llmcache:k1:t:xxh3:01"));

    // clear_prefix in one process removes the shared entries; the other catches up the same way.
    REQUIRE(a.put("llmcache:k1:u:xxh3:01", "u1", 10min));
    REQUIRE(a.put("llmcache:k1:u:xxh3:02", "u2", 10min));
    CHECK(value_of(b, "llmcache:k1:u:xxh3:02") == "u2");
    auto cleared = a.clear_prefix("llmcache:k1:u:");
    REQUIRE(cleared);
    CHECK(*cleared == 2);
    std::this_thread::sleep_for(350ms);
    CHECK_FALSE(value_of(b, "llmcache:k1:u:xxh3:02"));
    CHECK_FALSE(value_of(b, "llmcache:k1:u:xxh3:01"));
}

TEST_CASE("redis tiered: with Redis down, L1 still serves its hits, fast", "[redis][tiered][faults]") {
    RedisServer server;
    RedisStoreOptions o = llmcache_test::store_options(server);
    o.connect_timeout = 200ms;
    o.command_timeout = 300ms;
    o.circuit.failure_threshold = 2;
    o.circuit.cool_down = 60s;
    o.log_sink = [](std::string_view) {};
    Tiered store(MemoryStore{}, RedisStore(o), TieredStoreOptions{.l1_ttl = 60s});
    REQUIRE(store.put("llmcache:k1:d:xxh3:01", "held", 10min));
    server.kill9();

    const auto start = Clock::now();
    for (int i = 0; i < 100; ++i)
        CHECK(value_of(store, "llmcache:k1:d:xxh3:01") == "held");
    CHECK(Clock::now() - start < 100ms); // L1 answers without any network
    CHECK(store.l2().stats().errors.total() == 0);

    // What L1 does not hold is Redis's error (a miss for the Cache), not an exception.
    auto miss = store.get("llmcache:k1:d:xxh3:02");
    REQUIRE_FALSE(miss);
    CHECK(miss.error().code == ErrorCode::store_unavailable);
    auto w = store.put("llmcache:k1:d:xxh3:03", "fresh", 10min);
    REQUIRE_FALSE(w);
    CHECK(value_of(store, "llmcache:k1:d:xxh3:03") == "fresh"); // kept in this process
}

TEST_CASE("redis tiered: a Cache on MemoryStore + Redis misses, then hits", "[redis][tiered][cache]") {
    RedisServer server;
    Admin admin(server.url());
    CountingModel model;
    auto make = [&] {
        return std::make_unique<TieredCache>(
            llmcache::Xxh3Key<>{}, Tiered(MemoryStore{}, RedisStore(llmcache_test::store_options(server))),
            llmcache::ExactOnly{}, llmcache::ttl::Fixed{10min}, llmcache::CallableBackend{model});
    };
    auto one = make();
    auto r = one->invoke(prompt("what is a tiered cache?"));
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(r->text == answer_for("what is a tiered cache?"));
    CHECK(admin.dbsize() == 1); // written through to Redis
    r = one->invoke(prompt("what is a tiered cache?"));
    REQUIRE(r);
    CHECK(r->cache_hit);
    CHECK(model.calls->load() == 1);

    // A second process (its own L1, empty) hits through Redis.
    auto two = make();
    r = two->invoke(prompt("what is a tiered cache?"));
    REQUIRE(r);
    CHECK(r->cache_hit);
    CHECK(r->text == answer_for("what is a tiered cache?"));
    CHECK(model.calls->load() == 1);

    // Invalidated in the first: gone from Redis and from its own L1 at once.
    auto gone = one->invalidate(prompt("what is a tiered cache?"));
    REQUIRE(gone);
    CHECK(admin.dbsize() == 0);
    r = one->invoke(prompt("what is a tiered cache?"));
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(model.calls->load() == 2);
}
