// Cross-process single-flight on real Redis servers: leases taken with SET NX PX and released with
// a compare-and-delete EVAL. Each Cache has its own RedisStore (its own pool and connections), as
// separate processes would; they meet only in the server.
#include "catch.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::CacheOptions;
using llmcache::RedisClusterOptions;
using llmcache::RedisClusterStore;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache_test::Admin;
using llmcache_test::answer_for;
using llmcache_test::prompt;
using llmcache_test::RedisCluster;
using llmcache_test::RedisServer;
using Clock = std::chrono::steady_clock;

static_assert(llmcache::leasing_store<RedisStore>);
static_assert(llmcache::leasing_store<RedisClusterStore>);

namespace {

/// A model that takes `delay` and counts its calls in a counter shared by every copy.
struct SlowModel {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::chrono::milliseconds delay{200};
    llmcache::Response operator()(const llmcache::Request& req) const {
        calls->fetch_add(1);
        std::this_thread::sleep_for(delay);
        llmcache::Response r;
        r.text = answer_for(req.messages.back().content);
        r.stop_reason = llmcache::StopReason::end_turn;
        r.model = req.model;
        return r;
    }
};

template <class Store>
using LeaseCache = llmcache::Cache<llmcache::Xxh3Key<>, Store, llmcache::ExactOnly, llmcache::ttl::Fixed,
                                   llmcache::CallableBackend<SlowModel>>;

CacheOptions distributed(std::chrono::milliseconds lease_ttl = 10s, std::chrono::milliseconds wait = 10s) {
    CacheOptions o;
    o.distributed_single_flight = true;
    o.lease_ttl = lease_ttl;
    o.lease_wait = wait;
    return o;
}

template <class Store>
std::unique_ptr<LeaseCache<Store>> make_lease_cache(Store store, SlowModel model,
                                                    CacheOptions o = distributed()) {
    return std::make_unique<LeaseCache<Store>>(llmcache::Xxh3Key<>{}, std::move(store), llmcache::ExactOnly{},
                                               llmcache::ttl::Fixed{10min}, llmcache::CallableBackend{model},
                                               llmcache::NullObserver{}, o);
}

RedisStoreOptions store_opts(const RedisServer& server) {
    RedisStoreOptions o;
    o.url = server.url();
    o.connect_timeout = 2s; // generous: the test machine is shared
    o.command_timeout = 2s;
    o.pool_wait = 2s;
    return o;
}

/// Every cache invokes `req` at once, each on its own thread (bounded wait); returns the texts.
template <class CachePtr>
std::vector<std::string> invoke_all(std::vector<CachePtr>& fleet, const llmcache::Request& req) {
    std::atomic<int> ready{0};
    std::vector<std::future<std::string>> done;
    for (auto& c : fleet)
        done.push_back(std::async(std::launch::async, [&, cache = c.get()] {
            ready.fetch_add(1);
            while (ready.load() < static_cast<int>(fleet.size()))
                std::this_thread::yield();
            auto r = cache->invoke(req);
            return r ? r->text : std::string("error: ") + r.error().message;
        }));
    std::vector<std::string> texts;
    for (auto& f : done) {
        REQUIRE(f.wait_for(60s) == std::future_status::ready);
        texts.push_back(f.get());
    }
    return texts;
}

} // namespace

TEST_CASE("redis lease: four caches with their own stores make one model call", "[redis][lease]") {
    RedisServer server;
    SlowModel model; // 200 ms
    std::vector<std::unique_ptr<LeaseCache<RedisStore>>> fleet;
    for (int i = 0; i < 4; ++i)
        fleet.push_back(make_lease_cache(RedisStore(store_opts(server)), model));
    const auto req = prompt("What are your opening hours?");

    const auto texts = invoke_all(fleet, req);
    CHECK(model.calls->load() == 1);
    for (const std::string& t : texts)
        CHECK(t == answer_for("What are your opening hours?"));
    std::uint64_t hits = 0, backend_calls = 0;
    for (auto& c : fleet) {
        hits += c->stats().hits;
        backend_calls += c->stats().backend_calls;
        CHECK(c->stats().store_errors == 0);
    }
    CHECK(hits == 3); // the others found the leader's answer in Redis
    CHECK(backend_calls == 1);
    // The leader released its lease after storing the answer.
    Admin admin(server.url());
    CHECK(admin.integer({"EXISTS", fleet[0]->key_for(req) + ":lease"}) == 0);
}

TEST_CASE("redis lease: a lease left by a crashed holder delays the others only until it expires",
          "[redis][lease]") {
    RedisServer server;
    SlowModel model;
    model.delay = 1ms;
    auto cache = make_lease_cache(RedisStore(store_opts(server)), model, distributed(10s, 10s));
    const auto req = prompt("How do I reset my password?");
    const std::string lease_key = cache->key_for(req) + ":lease";

    Admin admin(server.url());
    // A "crashed process" took the lease with its own token and will never release it.
    REQUIRE(admin.text({"SET", lease_key, "foreign-token", "NX", "PX", "300"}) == "OK");

    const auto t0 = Clock::now();
    auto r = cache->invoke(req);
    const auto waited = Clock::now() - t0;
    REQUIRE(r);
    CHECK(r->text == answer_for("How do I reset my password?"));
    CHECK_FALSE(r->cache_hit);
    CHECK(model.calls->load() == 1);
    CHECK(waited >= 250ms);                           // it respected the live lease
    CHECK(waited < 3s);                               // and took over soon after the lease expired
    CHECK(admin.integer({"EXISTS", lease_key}) == 0); // its own lease, released
    CHECK(cache->stats().store_errors == 0);
}

TEST_CASE("redis lease: acquire, contend, release only with the right token", "[redis][lease]") {
    RedisServer server;
    RedisStore a(store_opts(server));
    RedisStore b(store_opts(server)); // another "process"
    Admin admin(server.url());

    auto t1 = a.acquire_lease("llmcache:test:lease", 5s);
    REQUIRE(t1);
    REQUIRE(*t1);
    CHECK((*t1)->size() == 32);
    CHECK((*t1)->find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(admin.text({"GET", "llmcache:test:lease"}) == **t1);
    const long long pttl = admin.pttl("llmcache:test:lease");
    CHECK(pttl > 0);
    CHECK(pttl <= 5000); // the TTL came with the SET (PX)

    auto t2 = b.acquire_lease("llmcache:test:lease", 5s);
    REQUIRE(t2);
    CHECK_FALSE(*t2); // held by a

    // A wrong token (a holder whose lease expired and was taken over) removes nothing.
    REQUIRE(b.release_lease("llmcache:test:lease", "00000000000000000000000000000000"));
    CHECK(admin.text({"GET", "llmcache:test:lease"}) == **t1);
    auto t3 = b.acquire_lease("llmcache:test:lease", 5s);
    REQUIRE(t3);
    CHECK_FALSE(*t3);

    // The right token removes it; then another can take it, with a different token.
    REQUIRE(a.release_lease("llmcache:test:lease", **t1));
    CHECK(admin.integer({"EXISTS", "llmcache:test:lease"}) == 0);
    auto t4 = b.acquire_lease("llmcache:test:lease", 5s);
    REQUIRE(t4);
    REQUIRE(*t4);
    CHECK(**t4 != **t1);

    // Tokens differ every time.
    auto t5 = a.acquire_lease("llmcache:test:other", 5s);
    REQUIRE(t5);
    REQUIRE(*t5);
    CHECK(**t5 != **t4);

    // A TTL outside (0, max_ttl] is refused without touching the server.
    auto bad = a.acquire_lease("llmcache:test:x", 0ms);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == llmcache::ErrorCode::invalid_argument);
}

TEST_CASE("redis lease: an expired lease can be taken by another holder", "[redis][lease]") {
    RedisServer server;
    RedisStore a(store_opts(server));
    RedisStore b(store_opts(server));
    auto t1 = a.acquire_lease("llmcache:test:short", 100ms);
    REQUIRE(t1);
    REQUIRE(*t1);
    std::this_thread::sleep_for(250ms);
    auto t2 = b.acquire_lease("llmcache:test:short", 5s);
    REQUIRE(t2);
    REQUIRE(*t2);
    // The first holder's late release leaves the new holder's lease alone.
    REQUIRE(a.release_lease("llmcache:test:short", **t1));
    Admin admin(server.url());
    CHECK(admin.text({"GET", "llmcache:test:short"}) == **t2);
}

TEST_CASE("redis lease: Redis down, invoke still returns the model's answer (fail open)",
          "[redis][lease][faults]") {
    RedisServer server;
    RedisStoreOptions o = store_opts(server);
    o.connect_timeout = 200ms;
    o.command_timeout = 200ms;
    o.pool_wait = 100ms;
    o.log_sink = [](std::string_view) {};
    RedisStore store(o);
    REQUIRE(store.ping());
    server.kill9();

    SlowModel model;
    model.delay = 1ms;
    auto cache = make_lease_cache(store, model);
    for (int i = 0; i < 3; ++i) {
        const auto t0 = Clock::now();
        auto r = cache->invoke(prompt("Is the service up?"));
        REQUIRE(r);
        CHECK(r->text == answer_for("Is the service up?"));
        CHECK(Clock::now() - t0 < 5s);
    }
    CHECK(model.calls->load() == 3);
    CHECK(cache->stats().store_errors > 0);

    // The lease calls themselves report the outage as errors, never as "held".
    auto lease = store.acquire_lease("llmcache:test:down", 1s);
    CHECK_FALSE(lease);
    CHECK_FALSE(store.release_lease("llmcache:test:down", "x"));
}

TEST_CASE("redis lease: two cluster stores make one model call", "[redis][lease][cluster]") {
    RedisCluster cluster;
    auto opts = [&] {
        RedisClusterOptions o;
        o.seeds = {cluster.seed_url(0), cluster.seed_url(1)};
        o.command_timeout = 2s;
        o.connect_timeout = 2s;
        o.pool_wait = 2s;
        return o;
    };
    SlowModel model;
    std::vector<std::unique_ptr<LeaseCache<RedisClusterStore>>> fleet;
    for (int i = 0; i < 2; ++i)
        fleet.push_back(make_lease_cache(RedisClusterStore(opts()), model));
    for (int round = 0; round < 3; ++round) {
        const std::string text = "cluster question " + std::to_string(round);
        const auto texts = invoke_all(fleet, prompt(text));
        for (const std::string& t : texts)
            CHECK(t == answer_for(text));
    }
    CHECK(model.calls->load() == 3); // one per question, over different slots

    // Release by token on the slot's owner.
    RedisClusterStore a(opts()), b(opts());
    auto t1 = a.acquire_lease("llmcache:cl:lease", 5s);
    REQUIRE(t1);
    REQUIRE(*t1);
    auto t2 = b.acquire_lease("llmcache:cl:lease", 5s);
    REQUIRE(t2);
    CHECK_FALSE(*t2);
    REQUIRE(b.release_lease("llmcache:cl:lease", "wrong"));
    auto t3 = b.acquire_lease("llmcache:cl:lease", 5s);
    REQUIRE(t3);
    CHECK_FALSE(*t3);
    REQUIRE(a.release_lease("llmcache:cl:lease", **t1));
    auto t4 = b.acquire_lease("llmcache:cl:lease", 5s);
    REQUIRE(t4);
    CHECK(*t4);
}
