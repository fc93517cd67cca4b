// The Semantic policy on a real redis-server, with two caches that each have their own RedisStore
// (their own connections), as two processes would: records persisted with the entry's TTL, the
// partition index as a sorted set, a partition loaded by the second cache, writes picked up after
// sync_interval, invalidation seen through a missing entry, scope clearing.
//
// The cross-instance scenario needs RedisStore to implement indexing_store (ZADD / ZRANGEBYSCORE /
// ZREM / ZREMRANGEBYSCORE), which the `stores` branch adds. It is written against the concept and
// compiled only when RedisStore satisfies it (`if constexpr` in a template); until then this file
// tests what the Semantic header documents for stores without ordered indexes (records persisted,
// the index process-local) and says so with a WARN, so the gap is visible in the test output.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using llmcache_test::Admin;
using llmcache_test::CountingModel;
using llmcache_test::RedisServer;

namespace {

namespace lc = llmcache;

lc::RedisStoreOptions opts_for(const RedisServer& s) {
    lc::RedisStoreOptions o;
    o.url = s.url();
    o.command_timeout = 2s; // generous: the test machine is shared
    o.connect_timeout = 2s;
    return o;
}

lc::Request ask(std::string_view text, std::string scope = {}) {
    return lc::Request::chat("test-model", std::string(text), "You are terse.", std::move(scope));
}

template <class Store>
using RedisSemanticCache = lc::Cache<lc::Xxh3Key<>, Store, lc::Semantic<lc::HashingEmbedder>, lc::ttl::Fixed,
                                     lc::CallableBackend<CountingModel>>;

template <class Store>
RedisSemanticCache<Store> make_cache(const RedisServer& server, CountingModel model,
                                     lc::SemanticOptions o = {}) {
    lc::CacheOptions options;
    options.store_budget = 0ms; // a loaded test machine must not turn round trips into misses
    return RedisSemanticCache<Store>(
        lc::Xxh3Key<>{}, Store(opts_for(server)), lc::Semantic<lc::HashingEmbedder>(lc::HashingEmbedder{}, o),
        lc::ttl::Fixed{1h}, lc::CallableBackend<CountingModel>{model}, {}, options);
}

constexpr std::string_view question = "What is the BM25 ranking algorithm?";
constexpr std::string_view same_words = "what is the BM25 ranking algorithm";
constexpr std::string_view reordered = "The BM25 ranking algorithm: what is it?";
constexpr std::string_view other_question = "What is the PageRank algorithm?";

template <class Store>
void two_processes(RedisServer& server) {
    Admin admin(server.url());
    CountingModel model_a, model_b;
    auto a = make_cache<Store>(server, model_a);
    auto b = make_cache<Store>(server, model_b, lc::SemanticOptions{.sync_interval = 400ms});

    REQUIRE(a.invoke(ask(question)).has_value());
    const lc::Request req = ask(question);
    const std::string partition = lc::Xxh3Key<>{}.partition_for(req);
    const std::string record = a.similarity().record_key("", partition, a.key_for(req));
    const std::string index = a.similarity().index_key("", partition);
    CHECK(admin.type(record) == "string");
    const long long record_ttl = admin.pttl(record);
    CHECK(record_ttl > 3'500'000); // the entry's TTL (1 h)
    CHECK(record_ttl <= 3'600'000);

    if constexpr (lc::indexing_store<Store>) {
        CHECK(admin.type(index) == "zset");
        CHECK(admin.integer({"ZCARD", index}) == 1);

        // b has never seen the partition: it loads it from the sorted set.
        auto first = b.lookup(ask(same_words));
        REQUIRE(first.has_value());
        CHECK(first->text == llmcache_test::answer_for(question));
        CHECK(b.similarity().stats().records_loaded == 1);

        // A write after b's load is invisible to b until sync_interval has passed, then visible.
        const auto loaded = std::chrono::steady_clock::now();
        REQUIRE(a.invoke(ask(other_question)).has_value());
        CHECK_FALSE(b.lookup(ask("what is the pagerank algorithm")).has_value());
        std::this_thread::sleep_until(loaded + 500ms);
        auto synced = b.lookup(ask("what is the pagerank algorithm"));
        REQUIRE(synced.has_value());
        CHECK(synced->text == llmcache_test::answer_for(other_question));
        CHECK(b.similarity().stats().records_synced == 1);

        // a invalidates: record and index member go at once; b notices when its hit's entry is gone.
        REQUIRE(a.invalidate(req).has_value());
        CHECK(admin.integer({"EXISTS", record}) == 0);
        CHECK(admin.integer({"ZCARD", index}) == 1);
        CHECK_FALSE(b.lookup(ask(reordered)).has_value());
        CHECK(b.similarity().stats().stale_dropped == 1);

        // Clearing a scope removes its records and index.
        REQUIRE(b.clear("").has_value());
        CHECK(admin.integer({"EXISTS", index}) == 0);
        CHECK(admin.dbsize() == 0);
        CHECK(model_b.calls->load() == 0);
    } else {
        WARN("RedisStore does not implement indexing_store on this branch: the two-process semantic "
             "scenario is not compiled; checking the documented process-local behaviour instead");
        CHECK(admin.integer({"EXISTS", index}) == 0); // no index without ordered indexes
        CHECK_FALSE(b.lookup(ask(same_words)).has_value());
        auto own = a.lookup(ask(same_words));
        REQUIRE(own.has_value());
        CHECK(own->text == llmcache_test::answer_for(question));
        REQUIRE(b.clear("").has_value());
        CHECK(admin.dbsize() == 0);
    }
    CHECK(model_a.calls->load() == (lc::indexing_store<Store> ? 2 : 1));
}

} // namespace

TEST_CASE("redis semantic: two caches with their own connections share semantic entries",
          "[redis][semantic]") {
    RedisServer server;
    two_processes<lc::RedisStore>(server);
}
