// RedisStore against a real redis-server: round trips, TTLs checked with the server's own PTTL,
// sliding TTL, prefix clearing, pipelined batches, usage, unix sockets, the Cache on top.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache::StoreItem;
using llmcache_test::Admin;
using llmcache_test::RedisServer;

static_assert(llmcache::store_policy<RedisStore>);
static_assert(llmcache::touching_store<RedisStore>);
static_assert(llmcache::batch_get_store<RedisStore>);
static_assert(llmcache::batch_put_store<RedisStore>);
static_assert(RedisStore::max_ttl == llmcache::ttl::limit);

namespace {

RedisStoreOptions opts_for(const RedisServer& s) {
    RedisStoreOptions o;
    o.url = s.url();
    o.command_timeout = 2s; // generous: the test machine is shared
    o.connect_timeout = 2s;
    return o;
}

std::string binary_value(std::size_t n, unsigned seed) {
    std::string v(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<char>((i * 131 + seed * 7) % 256); // includes NUL, \r, \n, 0xFF
    return v;
}

} // namespace

TEST_CASE("redis store: get, put, erase round trips, binary-safe", "[redis]") {
    RedisServer server;
    RedisStore store(opts_for(server));

    auto miss = store.get("llmcache:t:missing");
    REQUIRE(miss);
    CHECK_FALSE(miss->has_value());

    const std::string bin = std::string("a\0b\r\n$-1\r\n*0\r\n", 15) + binary_value(4096, 3);
    REQUIRE(store.put("llmcache:t:bin", bin, std::nullopt));
    auto got = store.get("llmcache:t:bin");
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(**got == bin);

    REQUIRE(store.put("llmcache:t:empty", "", std::nullopt));
    got = store.get("llmcache:t:empty");
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK((*got)->empty());

    // A key with spaces, NUL and glob characters is just bytes.
    const std::string odd_key = std::string("llmcache:t:odd key*?[\0]", 24);
    REQUIRE(store.put(odd_key, "v-odd", std::nullopt));
    got = store.get(odd_key);
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(**got == "v-odd");

    REQUIRE(store.put("llmcache:t:bin", "overwritten", std::nullopt));
    got = store.get("llmcache:t:bin");
    REQUIRE(got);
    CHECK(got->value_or("") == "overwritten");

    auto erased = store.erase("llmcache:t:bin");
    REQUIRE(erased);
    CHECK(*erased);
    erased = store.erase("llmcache:t:bin");
    REQUIRE(erased);
    CHECK_FALSE(*erased);
    got = store.get("llmcache:t:bin");
    REQUIRE(got);
    CHECK_FALSE(got->has_value());

    // A large value (1 MB) survives the trip.
    const std::string big = binary_value(1 << 20, 9);
    REQUIRE(store.put("llmcache:t:big", big, std::nullopt));
    got = store.get("llmcache:t:big");
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(**got == big);

    auto pong = store.ping();
    REQUIRE(pong);
    CHECK(pong->count() >= 0);
    auto version = store.server_version();
    REQUIRE(version);
    Admin admin(server.url());
    const std::string info = admin.text({"INFO", "server"});
    CHECK(info.find("redis_version:" + *version + "\r\n") != std::string::npos);

    const auto st = store.stats();
    CHECK(st.errors.total() == 0);
    CHECK(st.connections_opened >= 1);
    CHECK(st.connections_open <= store.options().pool_size);

    // The connection named itself.
    CHECK(admin.text({"CLIENT", "LIST"}).find("name=llmcache ") != std::string::npos);
}

TEST_CASE("redis store: invalid arguments are refused without a round trip", "[redis]") {
    RedisServer server;
    RedisStore store(opts_for(server));
    auto r = store.put("k", "v", 0ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    r = store.put("k", "v", -5ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    r = store.put("k", "v", RedisStore::max_ttl + 1ms);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    auto c = store.clear_prefix("");
    REQUIRE_FALSE(c);
    CHECK(c.error().code == ErrorCode::invalid_argument);
    CHECK(store.stats().connections_opened == 0); // nothing needed the server
}

TEST_CASE("redis store: the TTL is set in the same command (server PTTL)", "[redis][ttl]") {
    RedisServer server;
    RedisStore store(opts_for(server));
    Admin admin(server.url());

    REQUIRE(store.put("llmcache:ttl:a", "v", 5000ms));
    const long long pttl = admin.pttl("llmcache:ttl:a");
    CHECK(pttl > 4900);
    CHECK(pttl <= 5000);

    REQUIRE(store.put("llmcache:ttl:b", "v", std::nullopt));
    CHECK(admin.pttl("llmcache:ttl:b") == -1);

    // Overwriting without a TTL removes the TTL (a plain SET), with one sets the new one.
    REQUIRE(store.put("llmcache:ttl:a", "v2", std::nullopt));
    CHECK(admin.pttl("llmcache:ttl:a") == -1);
    REQUIRE(store.put("llmcache:ttl:b", "v2", 800ms));
    const long long b = admin.pttl("llmcache:ttl:b");
    CHECK(b > 700);
    CHECK(b <= 800);

    // The entry really expires.
    REQUIRE(store.put("llmcache:ttl:short", "v", 150ms));
    std::this_thread::sleep_for(400ms);
    auto gone = store.get("llmcache:ttl:short");
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());

    // SET ... PX is one command: the server's command stats show no EXPIRE family call.
    const std::string stats = admin.text({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_set:") != std::string::npos);
    CHECK(stats.find("cmdstat_expire") == std::string::npos);
    CHECK(stats.find("cmdstat_pexpire") == std::string::npos);
}

TEST_CASE("redis store: sliding TTL with get_and_touch (GETEX and the pre-6.2 fallback)", "[redis][ttl]") {
    RedisServer server;
    Admin admin(server.url());
    for (const char* version : {"", "6.0.0"}) {
        INFO("assumed server version: " << (*version ? version : "as reported"));
        RedisStoreOptions o = opts_for(server);
        o.assume_version = version;
        RedisStore store(o);
        const std::string key = std::string("llmcache:slide:") + version;
        REQUIRE(store.put(key, "value", 2000ms));
        std::this_thread::sleep_for(300ms);
        const long long before = admin.pttl(key);
        CHECK(before < 1800);
        auto v = store.get_and_touch(key, 2000ms);
        REQUIRE(v);
        REQUIRE(v->has_value());
        CHECK(**v == "value");
        const long long after = admin.pttl(key);
        CHECK(after > 1900);
        CHECK(after <= 2000);

        v = store.get_and_touch(key, std::nullopt); // PERSIST
        REQUIRE(v);
        CHECK(v->value_or("") == "value");
        CHECK(admin.pttl(key) == -1);

        v = store.get_and_touch("llmcache:slide:absent", 1000ms);
        REQUIRE(v);
        CHECK_FALSE(v->has_value());
        CHECK(admin.integer({"EXISTS", "llmcache:slide:absent"}) == 0);
    }
    const std::string stats = admin.text({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_getex:") != std::string::npos);   // 7.0 path
    CHECK(stats.find("cmdstat_pexpire:") != std::string::npos); // fallback path
    CHECK(stats.find("cmdstat_persist:") != std::string::npos);
}

TEST_CASE("redis store: erase uses UNLINK, DEL before 4.0", "[redis]") {
    RedisServer server;
    Admin admin(server.url());
    RedisStoreOptions o = opts_for(server);
    RedisStore modern(o);
    o.assume_version = "3.2.0";
    RedisStore old(o);
    REQUIRE(modern.put("k1", "v", std::nullopt));
    REQUIRE(old.put("k2", "v", std::nullopt));
    CHECK(modern.erase("k1").value_or(false));
    CHECK(old.erase("k2").value_or(false));
    const std::string stats = admin.text({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_unlink:calls=1,") != std::string::npos);
    CHECK(stats.find("cmdstat_del:calls=1,") != std::string::npos);
}

TEST_CASE("redis store: clear_prefix removes one scope only, glob characters included", "[redis][scan]") {
    RedisServer server;
    RedisStore store(opts_for(server));
    Admin admin(server.url());

    // 2500 keys in scope A (several SCAN pages), 300 in B, a sibling prefix and glob look-alikes.
    std::vector<std::string> keys;
    std::vector<StoreItem> items;
    for (int i = 0; i < 2500; ++i)
        keys.push_back("llmcache:A:" + std::to_string(i));
    for (int i = 0; i < 300; ++i)
        keys.push_back("llmcache:B:" + std::to_string(i));
    keys.push_back("llmcache:AB:sibling");
    keys.push_back("llmcache:A"); // the prefix minus its colon
    for (const std::string& k : keys)
        items.push_back(StoreItem{k, "v", std::nullopt});
    REQUIRE(store.put_many(items).value_or(0) == keys.size());

    auto removed = store.clear_prefix("llmcache:A:");
    REQUIRE(removed);
    CHECK(*removed == 2500);
    CHECK(admin.dbsize() == 302);
    CHECK(store.get("llmcache:B:7").value_or(std::nullopt).has_value());
    CHECK(store.get("llmcache:AB:sibling").value_or(std::nullopt).has_value());
    CHECK(store.get("llmcache:A").value_or(std::nullopt).has_value());

    // Prefixes with glob characters match literally.
    const std::string glob = "llmcache:g*[a-z]?\\:";
    REQUIRE(store.put(glob + "1", "v", std::nullopt));
    REQUIRE(store.put(glob + "2", "v", std::nullopt));
    REQUIRE(store.put("llmcache:gXXa7\\:1", "v", std::nullopt));  // matches the unescaped glob
    REQUIRE(store.put("llmcache:g*[a-z]?:1", "v", std::nullopt)); // differs by the backslash
    removed = store.clear_prefix(glob);
    REQUIRE(removed);
    CHECK(*removed == 2);
    CHECK(store.get("llmcache:gXXa7\\:1").value_or(std::nullopt).has_value());
    CHECK(store.get("llmcache:g*[a-z]?:1").value_or(std::nullopt).has_value());

    removed = store.clear_prefix("llmcache:nothing-here:");
    REQUIRE(removed);
    CHECK(*removed == 0);

    const std::string stats = admin.text({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_keys:") == std::string::npos); // never KEYS
    CHECK(stats.find("cmdstat_scan:") != std::string::npos);
}

TEST_CASE("redis store: pipelined batches of 1000", "[redis][batch]") {
    RedisServer server;
    RedisStore store(opts_for(server));
    Admin admin(server.url());

    std::vector<std::string> keys, values;
    for (int i = 0; i < 1000; ++i) {
        keys.push_back("llmcache:batch:" + std::to_string(i));
        values.push_back(binary_value(static_cast<std::size_t>(100 + i), static_cast<unsigned>(i)));
    }
    std::vector<StoreItem> items;
    for (int i = 0; i < 1000; ++i)
        items.push_back(StoreItem{keys[i], values[i], i % 2 == 0 ? std::optional(60'000ms) : std::nullopt});
    auto written = store.put_many(items);
    REQUIRE(written);
    CHECK(*written == 1000);
    CHECK(admin.dbsize() == 1000);
    const long long even = admin.pttl(keys[10]);
    CHECK(even > 59'000);
    CHECK(even <= 60'000);
    CHECK(admin.pttl(keys[11]) == -1);

    std::vector<std::string_view> ask;
    for (int i = 0; i < 1000; ++i)
        ask.push_back(keys[i]);
    ask.push_back("llmcache:batch:absent");
    ask.push_back(keys[5]); // asked twice
    auto got = store.get_many(ask);
    REQUIRE(got.size() == 1002);
    for (int i = 0; i < 1000; ++i) {
        REQUIRE(got[i]);
        REQUIRE(got[i]->has_value());
        CHECK(**got[i] == values[i]);
    }
    REQUIRE(got[1000]);
    CHECK_FALSE(got[1000]->has_value());
    REQUIRE(got[1001]);
    CHECK(got[1001]->value_or("") == values[5]);

    // 2500 keys: several MGET chunks in one pipeline, order kept.
    std::vector<std::string> many_keys;
    std::vector<std::string_view> many;
    for (int i = 0; i < 2500; ++i)
        many_keys.push_back("llmcache:batch:" + std::to_string(i % 1200));
    for (const auto& k : many_keys)
        many.push_back(k);
    got = store.get_many(many);
    REQUIRE(got.size() == 2500);
    for (int i = 0; i < 2500; ++i) {
        REQUIRE(got[i]);
        if (i % 1200 < 1000)
            CHECK(got[i]->value_or("") == values[i % 1200]);
        else
            CHECK_FALSE(got[i]->has_value());
    }

    CHECK(store.get_many({}).empty());
    CHECK(store.put_many({}).value_or(99) == 0);
    const std::string stats = admin.text({"INFO", "commandstats"});
    CHECK(stats.find("cmdstat_mget:calls=5,") != std::string::npos); // 2 + 3 chunks
}

TEST_CASE("redis store: scope_usage counts keys and bytes under a prefix", "[redis][scan]") {
    RedisServer server;
    RedisStore store(opts_for(server));
    std::size_t bytes = 0, key_bytes = 0;
    for (int i = 0; i < 1500; ++i) {
        const std::string k = "llmcache:u:" + std::to_string(i);
        const std::string v(static_cast<std::size_t>(i % 50 + 1), 'x');
        REQUIRE(store.put(k, v, std::nullopt));
        bytes += v.size();
        key_bytes += k.size();
    }
    REQUIRE(store.put("llmcache:other:1", "yyyy", std::nullopt));
    auto usage = store.scope_usage("llmcache:u:");
    REQUIRE(usage);
    CHECK(usage->keys == 1500);
    CHECK(usage->bytes == bytes);
    CHECK(usage->key_bytes == key_bytes);
    usage = store.scope_usage("llmcache:none:");
    REQUIRE(usage);
    CHECK(usage->keys == 0);
    CHECK(usage->bytes == 0);
}

TEST_CASE("redis store: unix socket and database selection", "[redis]") {
    RedisServer server;
    RedisStoreOptions o = opts_for(server);
    o.url = "unix://" + server.unix_path() + "?db=3";
    RedisStore store(o);
    REQUIRE(store.put("llmcache:unix", "over-unix", std::nullopt));
    Admin admin(server.url());
    CHECK(admin.integer({"EXISTS", "llmcache:unix"}) == 0); // db 0 does not have it
    admin.cmd({"SELECT", "3"});
    CHECK(admin.text({"GET", "llmcache:unix"}) == "over-unix");

    o.url = server.url() + "/3";
    RedisStore tcp(o);
    CHECK(tcp.get("llmcache:unix").value_or(std::nullopt).value_or("") == "over-unix");

    o.url = server.url() + "/99";
    RedisStore bad_db(o);
    auto r = bad_db.get("x");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::store_rejected);
    CHECK(r.error().message.find("SELECT 99") != std::string::npos);
}

TEST_CASE("redis store: a Cache on Redis answers from the store", "[redis][cache]") {
    RedisServer server;
    llmcache_test::CountingModel model;
    RedisStore store(opts_for(server));
    auto cache = llmcache_test::make_cache(store, model, 30s);
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 20; ++i) {
            const std::string p = "question " + std::to_string(i);
            auto r = cache->invoke(llmcache_test::prompt(p, i % 2 ? "tenant-a" : "tenant-b"));
            REQUIRE(r);
            CHECK(r->text == llmcache_test::answer_for(p));
            CHECK(r->cache_hit == (round == 1));
        }
    }
    CHECK(model.calls->load() == 20);
    CHECK(cache->stats().hits == 20);
    Admin admin(server.url());
    const long long pttl = admin.pttl(cache->key_for(llmcache_test::prompt("question 3", "tenant-a")));
    CHECK(pttl > 29'000);
    CHECK(pttl <= 30'000);

    // Clearing one tenant leaves the other.
    auto cleared = cache->clear("tenant-a");
    REQUIRE(cleared);
    CHECK(*cleared == 10);
    CHECK(admin.dbsize() == 10);

    // Sliding TTL through the Cache.
    llmcache::Cache sliding{llmcache::Xxh3Key<>{}, store, llmcache::ExactOnly{}, llmcache::ttl::Sliding<>{2s},
                            llmcache::CallableBackend{model}};
    auto req = llmcache_test::prompt("slide me");
    REQUIRE(sliding.invoke(req));
    std::this_thread::sleep_for(300ms);
    CHECK(admin.pttl(sliding.key_for(req)) < 1800);
    auto hit = sliding.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(admin.pttl(sliding.key_for(req)) > 1900);
}
