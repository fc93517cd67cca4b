// RedisClusterStore against a real 3-master Redis Cluster (redis-server --cluster-enabled yes,
// joined by redis-cli --cluster create): hash slots, round trips across slots, batches per node,
// clearing on every master, MOVED after a slot migration, ASK during one, a redirect loop that
// ends, and a dead master whose slots fail fast while the others keep serving.
#include "catch.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::RedisCircuitState;
using llmcache::RedisClusterOptions;
using llmcache::RedisClusterStore;
using llmcache::StoreItem;
using llmcache::detail::redis::crc16_xmodem;
using llmcache::detail::redis::key_slot;
using llmcache_test::Admin;
using llmcache_test::answer_for;
using llmcache_test::CountingModel;
using llmcache_test::LogCapture;
using llmcache_test::prompt;
using llmcache_test::RedisCluster;
using Clock = std::chrono::steady_clock;

static_assert(llmcache::store_policy<RedisClusterStore>);
static_assert(llmcache::touching_store<RedisClusterStore>);
static_assert(llmcache::batch_get_store<RedisClusterStore>);
static_assert(llmcache::batch_put_store<RedisClusterStore>);

namespace {

/// One cluster for the tests that leave it healthy (created on first use).
RedisCluster& shared_cluster() {
    static RedisCluster cluster;
    return cluster;
}

RedisClusterOptions opts_for(RedisCluster& c, LogCapture* log = nullptr) {
    RedisClusterOptions o;
    o.seeds = {c.seed_url(0), c.seed_url(1)};
    o.command_timeout = 2s; // generous: the test machine is shared
    o.connect_timeout = 2s;
    o.refresh_min_interval = 50ms;
    if (log != nullptr)
        o.log_sink = log->sink();
    return o;
}

/// A key shaped like llmcache's own (no hash tag).
std::string cache_key(std::string_view scope, int i) {
    return "llmcache:k1:" + std::string(scope) + ":xxh3:" + std::to_string(1000003LL * i + 17);
}

std::chrono::milliseconds ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

using ClusterCache = llmcache::Cache<llmcache::Xxh3Key<>, RedisClusterStore, llmcache::ExactOnly,
                                     llmcache::ttl::Fixed, llmcache::CallableBackend<CountingModel>>;

} // namespace

TEST_CASE("redis cluster: CRC16-XMODEM and hash slots", "[redis][cluster]") {
    CHECK(crc16_xmodem("123456789") == 0x31C3);
    CHECK(crc16_xmodem("") == 0);
    CHECK(key_slot("123456789") == 12739);
    CHECK(key_slot("somekey") == 11058);
    CHECK(key_slot("foo{hash_tag}") == 2515);
    CHECK(key_slot("bar{hash_tag}") == 2515);
    CHECK(key_slot("{user1000}.following") == 3443);
    CHECK(key_slot("{user1000}.followers") == 3443);
    // An empty first tag: the whole key is hashed.
    CHECK(key_slot("foo{}{bar}") == (crc16_xmodem("foo{}{bar}") & 16383));
    CHECK(key_slot("foo{}{bar}") != key_slot("bar"));
    // The tag runs from the first '{' to the first '}' after it.
    CHECK(key_slot("foo{{bar}}zap") == (crc16_xmodem("{bar") & 16383));
    CHECK(key_slot("foo{bar}{zap}") == key_slot("bar"));
    CHECK(key_slot("foo{bar") == (crc16_xmodem("foo{bar") & 16383));
    CHECK(RedisClusterStore::slot_of("{user1000}.following") == 3443);

    // And the server agrees, for awkward keys and llmcache-shaped ones.
    RedisCluster& cluster = shared_cluster();
    Admin admin(cluster.seed_url(0));
    const std::vector<std::string> keys = {"123456789",
                                           "somekey",
                                           "foo{}{bar}",
                                           "foo{{bar}}zap",
                                           "foo{bar}{zap}",
                                           "{}",
                                           "}{",
                                           "{a}",
                                           "a{b",
                                           cache_key("s", 1),
                                           cache_key("t", 99),
                                           std::string("bin\0\xff{x}", 9)};
    for (const std::string& k : keys) {
        INFO("key " << k);
        CHECK(admin.integer({"CLUSTER", "KEYSLOT", k}) == key_slot(k));
    }
}

TEST_CASE("redis cluster: round trips spread over all masters", "[redis][cluster]") {
    RedisCluster& cluster = shared_cluster();
    RedisClusterStore store(opts_for(cluster));
    std::set<std::string> owners;
    std::map<std::string, int> per_node;
    for (int i = 0; i < 120; ++i) {
        const std::string k = cache_key("rt", i);
        REQUIRE(store.put(k, "value-" + std::to_string(i), std::nullopt));
        auto owner = store.node_for_key(k);
        REQUIRE(owner);
        owners.insert(*owner);
        ++per_node[*owner];
    }
    CHECK(owners.size() == 3); // llmcache keys have no hash tag: they spread
    CHECK(store.masters().size() == 3);
    for (int i = 0; i < 120; ++i) {
        auto v = store.get(cache_key("rt", i));
        REQUIRE(v);
        REQUIRE(v->has_value());
        CHECK(**v == "value-" + std::to_string(i));
    }
    // Each key sits on the node the map names.
    for (std::size_t n = 0; n < cluster.size(); ++n) {
        Admin admin(cluster.seed_url(n));
        int here = 0;
        for (int i = 0; i < 120; ++i) {
            const std::string k = cache_key("rt", i);
            if (*store.node_for_key(k) != cluster.endpoint(n))
                continue;
            CHECK(admin.text({"GET", k}) == "value-" + std::to_string(i));
            ++here;
        }
        CHECK(here == per_node[cluster.endpoint(n)]);
        CHECK(admin.dbsize() >= here);
    }

    // TTL in the same command, checked with the owner's PTTL; sliding TTL with GETEX.
    const std::string tk = cache_key("ttl", 1);
    REQUIRE(store.put(tk, "v", 5000ms));
    Admin owner(cluster.seed_url(cluster.index_of(*store.node_for_key(tk))));
    CHECK(owner.pttl(tk) > 4000);
    CHECK(owner.pttl(tk) <= 5000);
    auto touched = store.get_and_touch(tk, 60'000ms);
    REQUIRE(touched);
    CHECK(touched->value_or("") == "v");
    CHECK(owner.pttl(tk) > 50'000);
    touched = store.get_and_touch(tk, std::nullopt);
    REQUIRE(touched);
    CHECK(owner.pttl(tk) == -1);

    auto erased = store.erase(tk);
    REQUIRE(erased);
    CHECK(*erased);
    erased = store.erase(tk);
    REQUIRE(erased);
    CHECK_FALSE(*erased);
    auto gone = store.get(tk);
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());

    auto pong = store.ping();
    REQUIRE(pong);
    const auto st = store.stats();
    CHECK(st.errors.total() == 0);
    CHECK(st.moved == 0);
    CHECK(st.refreshes >= 1);
    CHECK(st.slots_covered == 16384);
    CHECK(store.clear_prefix("llmcache:k1:rt:").value_or(0) == 120);
}

TEST_CASE("redis cluster: get_many / put_many across nodes, clear_prefix on every master",
          "[redis][cluster]") {
    RedisCluster& cluster = shared_cluster();
    RedisClusterStore store(opts_for(cluster));
    std::vector<std::string> keys, values;
    for (int i = 0; i < 300; ++i) {
        keys.push_back(cache_key("batch", i));
        values.push_back(std::string(static_cast<std::size_t>(i % 7 + 1), static_cast<char>('a' + i % 26)));
    }
    std::vector<StoreItem> items;
    for (int i = 0; i < 300; ++i)
        items.push_back({keys[i], values[i], i % 2 == 0 ? std::optional(60'000ms) : std::nullopt});
    auto written = store.put_many(items);
    REQUIRE(written);
    CHECK(*written == 300);

    std::vector<std::string_view> ask(keys.begin(), keys.end());
    ask.push_back("llmcache:k1:batch:xxh3:absent-1");
    ask.push_back("llmcache:k1:batch:xxh3:absent-2");
    auto got = store.get_many(ask);
    REQUIRE(got.size() == ask.size());
    for (int i = 0; i < 300; ++i) {
        REQUIRE(got[i]);
        REQUIRE(got[i]->has_value());
        CHECK(**got[i] == values[i]);
    }
    REQUIRE(got[300]);
    CHECK_FALSE(got[300]->has_value());
    REQUIRE(got[301]);
    CHECK_FALSE(got[301]->has_value());

    // Keys of another scope and a foreign key survive the clear.
    REQUIRE(store.put(cache_key("other", 1), "keep", std::nullopt));
    REQUIRE(store.put(cache_key("other", 2), "keep", std::nullopt));
    REQUIRE(store.put("llmcache:k1:batchX", "keep: shares the text prefix, not the scope", std::nullopt));
    int on_nodes = 0;
    for (std::size_t n = 0; n < cluster.size(); ++n)
        on_nodes += static_cast<int>(Admin(cluster.seed_url(n)).dbsize());
    CHECK(on_nodes >= 303);

    auto usage = store.scope_usage("llmcache:k1:batch:");
    REQUIRE(usage);
    CHECK(usage->keys == 300);
    std::size_t bytes = 0;
    for (const auto& v : values)
        bytes += v.size();
    CHECK(usage->bytes == bytes);

    auto cleared = store.clear_prefix("llmcache:k1:batch:");
    REQUIRE(cleared);
    CHECK(*cleared == 300);
    got = store.get_many(ask);
    for (const auto& g : got) {
        REQUIRE(g);
        CHECK_FALSE(g->has_value());
    }
    for (int i : {1, 2}) {
        auto v = store.get(cache_key("other", i));
        REQUIRE(v);
        CHECK(v->value_or("") == "keep");
    }
    CHECK(store.get("llmcache:k1:batchX").value_or(std::nullopt).has_value());
    CHECK(store.clear_prefix("llmcache:k1:other:").value_or(0) == 2);
    CHECK(store.erase("llmcache:k1:batchX").value_or(false));
    CHECK(store.stats().errors.total() == 0);
}

TEST_CASE("redis cluster: a slot migrated mid-run (ASK while migrating, MOVED after)", "[redis][cluster]") {
    RedisCluster& cluster = shared_cluster();
    RedisClusterStore store(opts_for(cluster));
    const std::string key = cache_key("mig", 7);
    REQUIRE(store.put(key, "before", std::nullopt));
    const std::uint16_t slot = key_slot(key);
    const std::string slot_s = std::to_string(slot);
    const std::size_t from = cluster.index_of(*store.node_for_key(key));
    const std::size_t to = (from + 1) % cluster.size();
    Admin src(cluster.seed_url(from)), dst(cluster.seed_url(to));
    const std::string src_id = cluster.node_id(from), dst_id = cluster.node_id(to);

    REQUIRE(dst.text({"CLUSTER", "SETSLOT", slot_s, "IMPORTING", src_id}) == "OK");
    REQUIRE(src.text({"CLUSTER", "SETSLOT", slot_s, "MIGRATING", dst_id}) == "OK");

    // While migrating: a key still on the source is served there; a new key of the slot is not
    // on the source, so the source answers ASK and the write lands on the target.
    auto v = store.get(key);
    REQUIRE(v);
    CHECK(v->value_or("") == "before");
    std::string fresh;
    for (int i = 0; fresh.empty(); ++i) // another llmcache-shaped key in the same slot
        if (std::string k = cache_key("mig", 1000 + i); key_slot(k) == slot)
            fresh = k;
    REQUIRE(store.put(fresh, "asked", std::nullopt));
    CHECK(store.stats().ask >= 1);
    CHECK(dst.integer({"CLUSTER", "COUNTKEYSINSLOT", slot_s}) == 1);
    CHECK(src.integer({"CLUSTER", "COUNTKEYSINSLOT", slot_s}) == 1); // only `key`
    v = store.get(fresh);
    REQUIRE(v);
    CHECK(v->value_or("") == "asked");
    CHECK(*store.node_for_key(key) == cluster.endpoint(from)); // ASK never changes the map
    const auto moved_before = store.stats().moved;

    // Move the remaining keys, then give the slot to the target everywhere.
    auto keys = src.cmd({"CLUSTER", "GETKEYSINSLOT", slot_s, "100"});
    REQUIRE(keys->type == REDIS_REPLY_ARRAY);
    REQUIRE(keys->elements == 1);
    const std::string port = std::to_string(cluster.node(to).port());
    REQUIRE(src.text({"MIGRATE", "127.0.0.1", port, "", "0", "5000", "KEYS",
                      llmcache_test::lr::reply_text(*keys->element[0])}) == "OK");
    for (std::size_t n = 0; n < cluster.size(); ++n)
        REQUIRE(Admin(cluster.seed_url(n)).text({"CLUSTER", "SETSLOT", slot_s, "NODE", dst_id}) == "OK");

    // The store still thinks `from` owns the slot: MOVED, followed transparently, map updated.
    v = store.get(key);
    REQUIRE(v);
    CHECK(v->value_or("") == "before");
    CHECK(store.stats().moved == moved_before + 1);
    CHECK(*store.node_for_key(key) == cluster.endpoint(to));
    REQUIRE(store.put(key, "after", std::nullopt));
    CHECK(dst.text({"GET", key}) == "after");
    CHECK(store.stats().moved == moved_before + 1); // the map was right this time
    CHECK(store.stats().errors.total() == 0);

    // The MOVED above also asked for a full refresh; settle it now, so that the batch below meets
    // the stale map (and its MOVED) however slowly the machine runs the steps in between.
    REQUIRE(store.refresh_topology());

    // Move it back, so the shared cluster ends as it began; a batch follows the MOVED too.
    REQUIRE(src.text({"CLUSTER", "SETSLOT", slot_s, "IMPORTING", dst_id}) == "OK");
    REQUIRE(dst.text({"CLUSTER", "SETSLOT", slot_s, "MIGRATING", src_id}) == "OK");
    REQUIRE(dst.text({"MIGRATE", "127.0.0.1", std::to_string(cluster.node(from).port()), "", "0", "5000",
                      "KEYS", key, fresh}) == "OK");
    for (std::size_t n = 0; n < cluster.size(); ++n)
        REQUIRE(Admin(cluster.seed_url(n)).text({"CLUSTER", "SETSLOT", slot_s, "NODE", src_id}) == "OK");
    const std::vector<std::string_view> both = {key, fresh};
    auto got = store.get_many(both);
    REQUIRE(got.size() == 2);
    REQUIRE(got[0]);
    CHECK(got[0]->value_or("") == "after");
    REQUIRE(got[1]);
    CHECK(got[1]->value_or("") == "asked");
    CHECK(store.stats().moved >= moved_before + 2);
    CHECK(*store.node_for_key(key) == cluster.endpoint(from));
    REQUIRE(store.clear_prefix("llmcache:k1:mig:"));
    cluster.wait_ok(5s);
}

TEST_CASE("redis cluster: the slot map is refreshed periodically, without a MOVED", "[redis][cluster]") {
    RedisCluster& cluster = shared_cluster();
    RedisClusterOptions o = opts_for(cluster);
    o.refresh_interval = 200ms;
    RedisClusterStore store(o);
    const std::string key = cache_key("periodic", 5);
    REQUIRE(store.get(key)); // map loaded
    const std::string slot_s = std::to_string(key_slot(key));
    const std::size_t from = cluster.index_of(*store.node_for_key(key));
    const std::size_t to = (from + 2) % cluster.size();
    const auto before = store.stats();
    // The slot holds no keys: it can change owners with SETSLOT NODE alone.
    REQUIRE(Admin(cluster.seed_url(from)).integer({"CLUSTER", "COUNTKEYSINSLOT", slot_s}) == 0);
    auto give_to = [&](std::size_t owner) {
        const std::string id = cluster.node_id(owner);
        for (std::size_t n : {owner, from == owner ? to : from, 3 - from - to})
            REQUIRE(Admin(cluster.seed_url(n)).text({"CLUSTER", "SETSLOT", slot_s, "NODE", id}) == "OK");
    };
    give_to(to);
    CHECK(*store.node_for_key(key) == cluster.endpoint(from)); // nothing told the store yet
    std::this_thread::sleep_for(300ms);
    REQUIRE(store.get(cache_key("periodic", 6))); // any operation may run the due refresh
    CHECK(*store.node_for_key(key) == cluster.endpoint(to));
    const auto after = store.stats();
    CHECK(after.refreshes > before.refreshes);
    CHECK(after.moved == before.moved);
    give_to(from);
    cluster.wait_ok(5s);
}

TEST_CASE("redis cluster: a slot left MIGRATING forever ends after max_redirects, no hang",
          "[redis][cluster]") {
    RedisCluster& cluster = shared_cluster();
    LogCapture log;
    RedisClusterOptions o = opts_for(cluster, &log);
    o.max_redirects = 5;
    RedisClusterStore store(o);
    const std::string key = cache_key("loop", 3);
    REQUIRE(store.get(key)); // map loaded
    const std::uint16_t slot = key_slot(key);
    const std::string slot_s = std::to_string(slot);
    const std::size_t from = cluster.index_of(*store.node_for_key(key));
    const std::size_t to = (from + 1) % cluster.size();
    Admin src(cluster.seed_url(from));
    // The source sends ASK to the target, which is not importing and sends MOVED back: a loop.
    REQUIRE(src.text({"CLUSTER", "SETSLOT", slot_s, "MIGRATING", cluster.node_id(to)}) == "OK");

    const auto before = store.stats();
    const auto t0 = Clock::now();
    auto v = store.get(key);
    const auto took = ms_since(t0);
    REQUIRE_FALSE(v);
    CHECK(v.error().code == ErrorCode::store_unavailable);
    CHECK(v.error().message.find("redirects") != std::string::npos);
    CHECK(took < 2000ms);
    const auto after = store.stats();
    CHECK(after.redirect_limit == before.redirect_limit + 1);
    CHECK(after.ask + after.moved - before.ask - before.moved == 5); // exactly max_redirects followed
    CHECK(after.errors.redirect == before.errors.redirect + 1);
    CHECK(log.count("redirects") == 1);

    // Writes too, and the Cache on top answers from the model (fail-open).
    CHECK_FALSE(store.put(key, "x", std::nullopt));
    CountingModel model;
    ClusterCache cache(llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Fixed{60s},
                       llmcache::CallableBackend{model});
    std::string loop_prompt;
    for (int i = 0; loop_prompt.empty(); ++i) { // a prompt whose entry lands in the stuck slot
        const std::string p = "loop prompt " + std::to_string(i);
        if (key_slot(llmcache::Xxh3Key<>{}.key_for(prompt(p))) == slot)
            loop_prompt = p;
    }
    for (int i = 0; i < 3; ++i) {
        auto r = cache.invoke(prompt(loop_prompt));
        REQUIRE(r);
        CHECK(r->text == answer_for(loop_prompt));
    }
    CHECK(model.calls->load() == 3); // no hit: the entry could never be stored

    REQUIRE(src.text({"CLUSTER", "SETSLOT", slot_s, "STABLE"}) == "OK");
    REQUIRE(store.put(key, "fine", std::nullopt));
    CHECK(store.get(key).value_or(std::nullopt).value_or("") == "fine");
    REQUIRE(store.erase(key));
}

TEST_CASE("redis cluster: a non-cluster server is refused with a clear error", "[redis][cluster]") {
    llmcache_test::RedisServer plain;
    LogCapture log;
    RedisClusterOptions o;
    o.seeds = {plain.url()};
    o.log_sink = log.sink();
    RedisClusterStore store(o);
    auto v = store.get("llmcache:k1:x");
    REQUIRE_FALSE(v);
    CHECK(v.error().code == ErrorCode::store_unavailable);
    CHECK(v.error().message.find("not in cluster mode") != std::string::npos);
    CHECK_FALSE(store.put("llmcache:k1:x", "v", std::nullopt));
    CHECK(Admin(plain.url()).dbsize() == 0);

    auto bad = RedisClusterStore::make({.seeds = {"redis://127.0.0.1:7000/3"}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("only database 0") != std::string::npos);
    bad = RedisClusterStore::make({.seeds = {"redis://127.0.0.1:7000", "rediss://127.0.0.1:7001"}});
    REQUIRE_FALSE(bad);
    bad = RedisClusterStore::make({.seeds = {"redis://u:Secr3tPw@127.0.0.1:bad"}});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("Secr3tPw") == std::string::npos);
}

TEST_CASE("redis cluster: a killed master fails fast on its slots, the others keep serving",
          "[redis][cluster][faults]") {
    RedisCluster cluster;
    LogCapture log;
    RedisClusterOptions o = opts_for(cluster, &log);
    o.connect_timeout = 300ms;
    o.command_timeout = 300ms;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 5s;
    RedisClusterStore store(o);
    std::map<std::size_t, std::vector<std::string>> by_node;
    for (int i = 0; i < 90; ++i) {
        const std::string k = cache_key("kill", i);
        REQUIRE(store.put(k, "v" + std::to_string(i), std::nullopt));
        by_node[cluster.index_of(*store.node_for_key(k))].push_back(k);
    }
    REQUIRE(by_node.size() == 3);
    const std::size_t dead = 2;
    const auto refreshes_before = store.stats().refreshes;
    cluster.node(dead).kill9();

    // The dead node's keys: failures (never exceptions), quickly; once its circuit is open,
    // without touching the network at all.
    for (const std::string& k : by_node[dead]) {
        const auto t0 = Clock::now();
        auto v = store.get(k);
        CHECK(ms_since(t0) < 1000ms);
        REQUIRE_FALSE(v);
    }
    const auto t0 = Clock::now();
    for (int round = 0; round < 20; ++round)
        CHECK_FALSE(store.get(by_node[dead].front()));
    CHECK(ms_since(t0) < 100ms);
    auto st = store.stats();
    CHECK(st.errors.circuit_open >= 20);
    const auto node_stats = std::find_if(st.nodes.begin(), st.nodes.end(),
                                         [&](const auto& n) { return n.endpoint == cluster.endpoint(dead); });
    REQUIRE(node_stats != st.nodes.end());
    CHECK(node_stats->circuit == RedisCircuitState::open);
    CHECK(log.count("circuit open") == 1);

    // The connection errors asked for a new slot map (read once the rate limit allows it, by the
    // next operation), and the other masters answer as before, single and batched.
    std::this_thread::sleep_for(100ms);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}}) {
        for (const std::string& k : by_node[n]) {
            auto v = store.get(k);
            REQUIRE(v);
            CHECK(v->has_value());
        }
        REQUIRE(store.put(by_node[n].front(), "new", std::nullopt));
    }
    CHECK(store.stats().refreshes > refreshes_before);
    std::vector<std::string_view> mixed = {by_node[0].front(), by_node[dead].front(), by_node[1].back()};
    auto got = store.get_many(mixed);
    REQUIRE(got.size() == 3);
    REQUIRE(got[0]);
    CHECK(got[0]->value_or("") == "new");
    CHECK_FALSE(got[1]);
    REQUIRE(got[2]);
    CHECK(got[2]->has_value());

    // clear_prefix clears what it can reach and reports the dead master.
    auto cleared = store.clear_prefix("llmcache:k1:kill:");
    CHECK_FALSE(cleared);
    CHECK(Admin(cluster.seed_url(0)).dbsize() == 0);
    CHECK(Admin(cluster.seed_url(1)).dbsize() == 0);

    // The Cache on top answers every call from the model, from 4 threads.
    CountingModel model;
    ClusterCache cache(llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Fixed{60s},
                       llmcache::CallableBackend{model});
    std::vector<std::future<int>> workers;
    for (int t = 0; t < 4; ++t)
        workers.push_back(std::async(std::launch::async, [&cache, t] {
            int ok = 0;
            for (int i = 0; i < 40; ++i) {
                const std::string p = "kill prompt " + std::to_string((t * 40 + i) % 60);
                auto r = cache.invoke(prompt(p));
                ok += r && r->text == answer_for(p) ? 1 : 0;
            }
            return ok;
        }));
    for (auto& w : workers) {
        REQUIRE(w.wait_for(30s) == std::future_status::ready);
        CHECK(w.get() == 40);
    }
    // Prompts on live masters were stored once and then hit.
    CHECK(model.calls->load() < 160);
}

TEST_CASE("redis cluster: TLS and a password on every node", "[redis][cluster][tls]") {
    const std::string pw = "cluster-Pw-9";
    RedisCluster cluster({.tls = true, .password = pw});
    LogCapture log;
    RedisClusterOptions o;
    o.seeds = {cluster.seed_url(0)};
    REQUIRE(o.seeds[0].starts_with("rediss://:" + pw + "@"));
    o.tls.ca_file = llmcache_test::TestCerts::get().ca_crt;
    o.connect_timeout = 2s;
    o.command_timeout = 2s;
    o.log_sink = log.sink();
    RedisClusterStore store(o);
    std::set<std::string> owners;
    for (int i = 0; i < 60; ++i)
        REQUIRE(store.put(cache_key("tls", i), "secret-" + std::to_string(i), 60'000ms));
    for (int i = 0; i < 60; ++i) {
        auto v = store.get(cache_key("tls", i));
        REQUIRE(v);
        CHECK(v->value_or("") == "secret-" + std::to_string(i));
        owners.insert(*store.node_for_key(cache_key("tls", i)));
    }
    CHECK(owners.size() == 3);
    CHECK(store.stats().errors.total() == 0);
    CHECK(store.clear_prefix("llmcache:k1:tls:").value_or(0) == 60);
    for (const std::string& s : store.seeds())
        CHECK(s.find(pw) == std::string::npos);

    // A wrong password: a clear refusal that never shows the password.
    o.seeds = {cluster.node(0).url(":Wrong-Pw-7")};
    RedisClusterStore wrong(o);
    auto v = wrong.get(cache_key("tls", 1));
    REQUIRE_FALSE(v);
    CHECK(v.error().message.find("authentication failed") != std::string::npos);
    CHECK(v.error().message.find("Wrong-Pw-7") == std::string::npos);

    // A certificate from a CA we do not trust: refused.
    o.seeds = {cluster.seed_url(0)};
    o.tls.ca_file = llmcache_test::TestCerts::get().other_ca_crt;
    RedisClusterStore untrusted(o);
    v = untrusted.get(cache_key("tls", 1));
    REQUIRE_FALSE(v);
    CHECK(v.error().message.find("certificate verification failed") != std::string::npos);
    CHECK(log.all().find(pw) == std::string::npos);
    CHECK(log.all().find("Wrong-Pw-7") == std::string::npos);
}
