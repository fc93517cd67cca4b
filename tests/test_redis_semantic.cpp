// The Semantic policy on a real redis-server, with two caches that each have their own RedisStore
// (their own connections), as two processes would: records persisted with the entry's TTL, the
// partition index as a sorted set, a partition loaded by the second cache, writes picked up after
// sync_interval, invalidation seen through a missing entry, scope clearing. The same sharing is
// then checked on a real Redis Cluster (records and indexes spread over the masters).
#include "catch.hpp"
#include "support/redis_cluster.hpp"
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

static_assert(lc::indexing_store<lc::RedisStore>);
static_assert(lc::indexing_store<lc::RedisClusterStore>);

template <class Store>
using RedisSemanticCache = lc::Cache<lc::Xxh3Key<>, Store, lc::Semantic<lc::HashingEmbedder>, lc::ttl::Fixed,
                                     lc::CallableBackend<CountingModel>>;

template <class Store, class StoreOptions>
RedisSemanticCache<Store> make_cache(StoreOptions store_options, CountingModel model,
                                     lc::SemanticOptions o = {}) {
    lc::CacheOptions options;
    options.store_budget = 0ms; // a loaded test machine must not turn round trips into misses
    return RedisSemanticCache<Store>(lc::Xxh3Key<>{}, Store(std::move(store_options)),
                                     lc::Semantic<lc::HashingEmbedder>(lc::HashingEmbedder{}, o),
                                     lc::ttl::Fixed{1h}, lc::CallableBackend<CountingModel>{model}, {},
                                     options);
}

constexpr std::string_view question = "What is the BM25 ranking algorithm?";
constexpr std::string_view same_words = "what is the BM25 ranking algorithm";
constexpr std::string_view reordered = "The BM25 ranking algorithm: what is it?";
constexpr std::string_view other_question = "What is the PageRank algorithm?";

template <class Store>
void two_processes(RedisServer& server) {
    Admin admin(server.url());
    CountingModel model_a, model_b;
    auto a = make_cache<Store>(opts_for(server), model_a);
    auto b = make_cache<Store>(opts_for(server), model_b, lc::SemanticOptions{.sync_interval = 400ms});

    REQUIRE(a.invoke(ask(question)).has_value());
    const lc::Request req = ask(question);
    const std::string partition = lc::Xxh3Key<>{}.partition_for(req);
    const std::string record = a.similarity().record_key("", partition, a.key_for(req));
    const std::string index = a.similarity().index_key("", partition);
    CHECK(admin.type(record) == "string");
    const long long record_ttl = admin.pttl(record);
    CHECK(record_ttl > 3'500'000); // the entry's TTL (1 h)
    CHECK(record_ttl <= 3'600'000);

    {
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
    }
    CHECK(model_a.calls->load() == 2);
}

} // namespace

TEST_CASE("redis semantic: two caches with their own connections share semantic entries",
          "[redis][semantic]") {
    RedisServer server;
    two_processes<lc::RedisStore>(server);
}

TEST_CASE("redis semantic: two caches share semantic entries on a Redis Cluster",
          "[redis][semantic][cluster]") {
    llmcache_test::RedisCluster cluster;
    auto cluster_options = [&] {
        lc::RedisClusterOptions o;
        o.seeds = {cluster.seed_url(0), cluster.seed_url(1)};
        o.command_timeout = 2s; // generous: the test machine is shared
        o.connect_timeout = 2s;
        return o;
    };
    CountingModel model_a, model_b;
    auto a = make_cache<lc::RedisClusterStore>(cluster_options(), model_a);
    auto b = make_cache<lc::RedisClusterStore>(cluster_options(), model_b,
                                               lc::SemanticOptions{.sync_interval = 0ms});

    // Several scopes, so records and indexes land in slots of different masters.
    for (const char* scope : {"acme", "globex", "initech", "umbrella"}) {
        REQUIRE(a.invoke(ask(question, scope)).has_value());
        auto hit = b.lookup(ask(reordered, scope));
        REQUIRE(hit.has_value());
        CHECK(hit->text == llmcache_test::answer_for(question));
        CHECK_FALSE(b.lookup(ask(other_question, scope)).has_value()); // another question: a miss
    }
    CHECK(b.similarity().stats().records_loaded == 4);
    CHECK(model_b.calls->load() == 0);

    // Invalidated by a, gone for b; clearing a scope leaves the others.
    REQUIRE(a.invalidate(ask(question, "acme")).has_value());
    CHECK_FALSE(b.lookup(ask(reordered, "acme")).has_value());
    REQUIRE(b.clear("globex").has_value());
    CHECK_FALSE(a.lookup(ask(reordered, "globex")).has_value());
    CHECK(a.lookup(ask(reordered, "initech")).has_value());
    REQUIRE(a.clear_all().has_value());
    CHECK_FALSE(b.lookup(ask(question, "umbrella")).has_value());
}
