// UpstashRestStore end to end: the REST client against the Upstash stand-in
// (support/upstash_standin.hpp), which forwards every command to a real local redis-server.
// Asserts on what the client sent (paths, headers, JSON commands) and on what it did with the
// answers; faults (wrong token, server down, slow, malformed replies) are errors, never exceptions.
// Needs hiredis too (the stand-in talks to Redis with it).
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

// The store's capabilities, checked at compile time (test_http_* files are built only with curl).
static_assert(llmcache::store_policy<llmcache::UpstashRestStore>);
static_assert(llmcache::touching_store<llmcache::UpstashRestStore>);
static_assert(llmcache::batch_get_store<llmcache::UpstashRestStore>);
static_assert(llmcache::batch_put_store<llmcache::UpstashRestStore>);
static_assert(llmcache::indexing_store<llmcache::UpstashRestStore>);
static_assert(llmcache::leasing_store<llmcache::UpstashRestStore>);
static_assert(!llmcache::in_process_store<llmcache::UpstashRestStore>);

#if LLMCACHE_WITH_HIREDIS

#include "support/http_server.hpp"
#include "support/redis_test_util.hpp"
#include "support/scoped_env.hpp"
#include "support/upstash_standin.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::UpstashRestStore;
using llmcache::UpstashStoreOptions;
using llmcache_test::Admin;
using llmcache_test::LogCapture;
using llmcache_test::RedisServer;
using llmcache_test::UpstashStandin;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* token = "upstash-TOKEN-s3cr3t-0123456789";

struct Fixture {
    RedisServer redis;
    UpstashStandin upstash{redis.port(), token};
    Admin admin{redis.url()};
    LogCapture logs;

    UpstashStoreOptions options(bool base64 = false) {
        UpstashStoreOptions o;
        o.url = upstash.url() + "/";
        o.token = token;
        o.base64_responses = base64;
        o.log_sink = logs.sink();
        return o;
    }
    UpstashRestStore store(bool base64 = false) { return UpstashRestStore(options(base64)); }
};

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i)
        s.push_back(static_cast<char>(i));
    return s + std::string("\0\0\xff\xfe", 4);
}

std::vector<std::string> last_command(UpstashStandin& u) {
    const auto c = u.commands();
    REQUIRE_FALSE(c.empty());
    return c.back();
}

} // namespace

TEST_CASE("upstash: get, put, erase round trip binary values; what was sent on the wire", "[upstash]") {
    Fixture f;
    const bool base64 = GENERATE(false, true);
    auto store = f.store(base64);
    const std::string value = all_bytes();

    auto miss = store.get("llm:k1");
    REQUIRE(miss);
    CHECK_FALSE(miss->has_value());

    REQUIRE(store.put("llm:k1", value, std::nullopt));
    const auto req = f.upstash.server().last_request();
    CHECK(req.method == "POST");
    CHECK(req.path == "/");
    CHECK(req.header("authorization") == std::string("Bearer ") + token);
    CHECK(req.header("content-type") == "application/json");
    CHECK((req.header("upstash-encoding") == "base64") == base64);
    // The command is a JSON array; the value travels as base64 text.
    std::string body = req.body;
    const auto cmd = llmcache::detail::json_read::parse(body);
    REQUIRE(cmd);
    REQUIRE(cmd->items.size() == 3);
    CHECK(cmd->items[0].string == "SET");
    CHECK(cmd->items[1].string == "llm:k1");
    CHECK(cmd->items[2].string == llmcache::detail::base64::encode(value));
    CHECK(f.admin.text({"GET", "llm:k1"}) == llmcache::detail::base64::encode(value));
    CHECK(f.admin.pttl("llm:k1") == -1); // no TTL asked, none set

    auto hit = store.get("llm:k1");
    REQUIRE(hit);
    REQUIRE(hit->has_value());
    CHECK(**hit == value); // every byte, NUL and >= 0x80 included
    CHECK(last_command(f.upstash) == std::vector<std::string>{"GET", "llm:k1"});

    auto erased = store.erase("llm:k1");
    REQUIRE(erased);
    CHECK(*erased);
    CHECK(last_command(f.upstash)[0] == "UNLINK");
    auto again = store.erase("llm:k1");
    REQUIRE(again);
    CHECK_FALSE(*again);
    CHECK(f.admin.dbsize() == 0);

    // The sync token of each answer is sent back with the next request (read-your-writes).
    const auto reqs = f.upstash.server().requests();
    REQUIRE(reqs.size() >= 3);
    CHECK_FALSE(reqs[0].has_header("upstash-sync-token"));
    CHECK(reqs[1].header("upstash-sync-token") == "1");
    CHECK(reqs[2].header("upstash-sync-token") == "2");
    CHECK(store.stats().total_errors() == 0);
    CHECK(f.logs.lines().empty());
}

TEST_CASE("upstash: TTL in the same command, expiry, and sliding TTL with GETEX", "[upstash]") {
    Fixture f;
    auto store = f.store();
    REQUIRE(store.put("t:a", "v", 60'000ms));
    CHECK(last_command(f.upstash) == std::vector<std::string>{"SET", "t:a", "dg==", "PX", "60000"});
    const auto pttl = f.admin.pttl("t:a");
    CHECK(pttl > 59'000);
    CHECK(pttl <= 60'000);

    REQUIRE(store.put("t:short", "v", 150ms));
    REQUIRE(store.get("t:short")->has_value());
    std::this_thread::sleep_for(300ms);
    auto gone = store.get("t:short");
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());

    REQUIRE(store.put("t:slide", "v", 5'000ms));
    auto touched = store.get_and_touch("t:slide", 120'000ms);
    REQUIRE(touched);
    CHECK(**touched == "v");
    CHECK(last_command(f.upstash) == std::vector<std::string>{"GETEX", "t:slide", "PX", "120000"});
    CHECK(f.admin.pttl("t:slide") > 100'000);
    REQUIRE(store.get_and_touch("t:slide", std::nullopt));
    CHECK(last_command(f.upstash) == std::vector<std::string>{"GETEX", "t:slide", "PERSIST"});
    CHECK(f.admin.pttl("t:slide") == -1);

    CHECK(store.put("t:bad", "v", 0ms).error().code == ErrorCode::invalid_argument);
    CHECK(store.put("t:bad", "v", -5ms).error().code == ErrorCode::invalid_argument);
}

TEST_CASE("upstash: clear_prefix walks the SCAN cursor and leaves other keys alone", "[upstash]") {
    Fixture f;
    UpstashStoreOptions o = f.options();
    o.scan_count = 50; // many pages
    UpstashRestStore store(o);
    std::vector<llmcache::StoreItem> items;
    std::vector<std::string> keys;
    for (int i = 0; i < 600; ++i)
        keys.push_back("scope:a*[x]:" + std::to_string(i));
    for (const std::string& k : keys)
        items.push_back({k, "value", std::nullopt});
    REQUIRE(store.put_many(items).value_or(999) == 600);
    REQUIRE(store.put("scope:aZZ", "other", std::nullopt)); // matches "scope:a*" unescaped
    REQUIRE(store.put("scope:b:1", "other", std::nullopt));
    f.upstash.clear_commands();

    auto removed = store.clear_prefix("scope:a*[x]:");
    REQUIRE(removed);
    CHECK(*removed == 600);
    CHECK(f.admin.dbsize() == 2);
    CHECK(store.get("scope:aZZ")->has_value());
    std::size_t scans = 0;
    for (const auto& c : f.upstash.commands())
        if (c[0] == "SCAN") {
            ++scans;
            CHECK(c[3] == "scope:a\\*\\[x\\]:*"); // glob characters escaped
            CHECK(c[5] == "50");
        }
    CHECK(scans > 2); // followed the cursor over several pages
    CHECK(store.clear_prefix("").error().code == ErrorCode::invalid_argument);
}

TEST_CASE("upstash: get_many and put_many go through /pipeline", "[upstash]") {
    Fixture f;
    const bool base64 = GENERATE(false, true);
    UpstashStoreOptions o = f.options(base64);
    o.scan_count = 3; // MGET chunks of 3
    UpstashRestStore store(o);
    const std::string binary = all_bytes();
    const std::vector<llmcache::StoreItem> items = {{"b:1", "one", std::nullopt},
                                                    {"b:2", binary, 30'000ms},
                                                    {"b:3", "", std::nullopt},
                                                    {"b:4", "four", 1000ms}};
    auto written = store.put_many(items);
    REQUIRE(written);
    CHECK(*written == 4);
    const auto put_req = f.upstash.server().last_request();
    CHECK(put_req.path == "/pipeline");
    CHECK(f.upstash.server().request_count() == 1); // one round trip
    CHECK(f.admin.pttl("b:2") > 29'000);
    CHECK(f.admin.pttl("b:1") == -1);

    const std::vector<std::string_view> keys = {"b:1", "b:missing", "b:2", "b:3", "b:4"};
    auto values = store.get_many(keys);
    REQUIRE(values.size() == 5);
    CHECK(f.upstash.server().last_request().path == "/pipeline");
    CHECK(f.upstash.server().request_count() == 2);
    REQUIRE(values[0]);
    CHECK(values[0]->value() == "one");
    REQUIRE(values[1]);
    CHECK_FALSE(values[1]->has_value());
    CHECK(values[2]->value() == binary);
    CHECK(values[3]->value().empty());
    CHECK(values[4]->value() == "four");
    std::size_t mgets = 0;
    for (const auto& c : f.upstash.commands())
        mgets += c[0] == "MGET";
    CHECK(mgets == 2); // 5 keys in chunks of 3

    auto empty = store.put_many({});
    CHECK(empty.value_or(999) == 0);
}

TEST_CASE("upstash: ordered indexes (ZADD, ZRANGEBYSCORE WITHSCORES LIMIT, ZREM, ZREMRANGEBYSCORE)",
          "[upstash]") {
    Fixture f;
    const bool base64 = GENERATE(false, true);
    auto store = f.store(base64);
    const std::int64_t t0 = 1'700'000'000'000;
    REQUIRE(store.index_add("idx:p", "m3", t0 + 3));
    REQUIRE(store.index_add("idx:p", "m1", t0 + 1));
    REQUIRE(store.index_add("idx:p", "m2b", t0 + 2));
    REQUIRE(store.index_add("idx:p", "m2a", t0 + 2));
    CHECK(last_command(f.upstash) ==
          std::vector<std::string>{"ZADD", "idx:p", std::to_string(t0 + 2), "m2a"});

    auto all = store.index_range("idx:p", 0, 0, 100);
    REQUIRE(all);
    using M = llmcache::IndexMember;
    CHECK(*all == std::vector<M>{{"m1", t0 + 1}, {"m2a", t0 + 2}, {"m2b", t0 + 2}, {"m3", t0 + 3}});
    auto page = store.index_range("idx:p", t0 + 2, 1, 2);
    REQUIRE(page);
    CHECK(*page == std::vector<M>{{"m2b", t0 + 2}, {"m3", t0 + 3}});
    CHECK(last_command(f.upstash) == std::vector<std::string>{"ZRANGEBYSCORE", "idx:p",
                                                              std::to_string(t0 + 2), "+inf", "WITHSCORES",
                                                              "LIMIT", "1", "2"});
    auto missing = store.index_range("idx:none", 0, 0, 10);
    REQUIRE(missing);
    CHECK(missing->empty());

    const std::vector<std::string_view> gone = {"m1", "nope"};
    CHECK(store.index_remove("idx:p", gone).value_or(999) == 1);
    CHECK(store.index_trim("idx:p", t0 + 2).value_or(999) == 2);
    auto rest = store.index_range("idx:p", 0, 0, 100);
    REQUIRE(rest);
    CHECK(*rest == std::vector<M>{{"m3", t0 + 3}});
    CHECK(store.index_add("idx:p", std::string_view("bad\xff", 4), 1).error().code ==
          ErrorCode::invalid_argument);
}

TEST_CASE("upstash: leases with SET NX PX and a compare-and-delete EVAL", "[upstash]") {
    Fixture f;
    auto store = f.store();
    auto a = store.acquire_lease("lease:x", 5'000ms);
    REQUIRE(a);
    REQUIRE(a->has_value());
    auto b = store.acquire_lease("lease:x", 5'000ms);
    REQUIRE(b);
    CHECK_FALSE(b->has_value()); // held by a
    REQUIRE(store.release_lease("lease:x", "not-the-token"));
    CHECK(f.admin.text({"GET", "lease:x"}) == **a); // not released by a stranger
    CHECK(last_command(f.upstash)[0] == "EVAL");
    REQUIRE(store.release_lease("lease:x", **a));
    CHECK(f.admin.text({"GET", "lease:x"}) == "(nil)");
}

TEST_CASE("upstash: keys that are not UTF-8 are refused, never replaced", "[upstash]") {
    Fixture f;
    auto store = f.store();
    const std::string bad("k\xc3", 2);
    CHECK(store.put(bad, "v", std::nullopt).error().code == ErrorCode::invalid_argument);
    CHECK(store.get(bad).error().code == ErrorCode::invalid_argument);
    CHECK(f.upstash.server().request_count() == 0); // refused before any request
    // A value under our key that is not base64 (written by another client) is corrupt, not bytes.
    f.admin.cmd({"SET", "foreign", "not base64!"});
    CHECK(store.get("foreign").error().code == ErrorCode::corrupt_entry);
}

TEST_CASE("upstash: a wrong token is a store_rejected error, with no token in any message", "[upstash]") {
    Fixture f;
    UpstashStoreOptions o = f.options();
    o.token = "wrong-TOKEN-0123456789";
    UpstashRestStore store(o);
    auto r = store.get("k");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::store_rejected);
    CHECK(r.error().message.find("401") != std::string::npos);
    CHECK(r.error().message.find("TOKEN") == std::string::npos);
    CHECK(f.upstash.commands().empty()); // nothing reached Redis
    CHECK(store.stats().auth == 1);
    CHECK(f.logs.all().find("TOKEN") == std::string::npos);
    CHECK(f.logs.count("refused the token") == 1);
}

TEST_CASE("upstash: configuration from the environment", "[upstash]") {
    Fixture f;
    const std::string url = f.upstash.url();
    llmcache_test::ScopedEnv url_env("UPSTASH_REDIS_REST_URL", nullptr);
    llmcache_test::ScopedEnv token_env("UPSTASH_REDIS_REST_TOKEN", nullptr);
    llmcache_test::ScopedEnv kv_url_env("KV_REST_API_URL", nullptr);
    llmcache_test::ScopedEnv kv_token_env("KV_REST_API_TOKEN", nullptr);
    auto missing = UpstashRestStore::from_env();
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::invalid_argument);
    CHECK(missing.error().message.find("UPSTASH_REDIS_REST_URL") != std::string::npos);

    ::setenv("UPSTASH_REDIS_REST_URL", url.c_str(), 1); // restored by url_env
    ::setenv("UPSTASH_REDIS_REST_TOKEN", token, 1);
    auto store = UpstashRestStore::from_env();
    REQUIRE(store);
    REQUIRE(store->put("env:k", "v", std::nullopt));
    CHECK(store->get("env:k")->value() == "v");
    CHECK(store->host() == f.upstash.url().substr(7));

    ::setenv("UPSTASH_REDIS_REST_TOKEN", "has space", 1);
    auto spaced = UpstashRestStore::from_env();
    REQUIRE_FALSE(spaced);
    CHECK(spaced.error().message.find("has space") == std::string::npos);

    // Vercel KV's names are the fallback.
    ::unsetenv("UPSTASH_REDIS_REST_URL");
    ::unsetenv("UPSTASH_REDIS_REST_TOKEN");
    ::setenv("KV_REST_API_URL", url.c_str(), 1);
    ::setenv("KV_REST_API_TOKEN", token, 1);
    auto kv = UpstashRestStore::from_env();
    REQUIRE(kv);
    CHECK(kv->get("env:k")->value() == "v");
}

TEST_CASE("upstash: server down is store_unavailable, fast; the circuit opens and closes", "[upstash]") {
    const int port = llmcache_test::free_port();
    LogCapture logs;
    UpstashStoreOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port);
    o.token = token;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 200ms;
    o.log_sink = logs.sink();
    UpstashRestStore store(o);
    const auto start = Clock::now();
    for (int i = 0; i < 10; ++i) {
        auto r = store.get("k");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
        CHECK(r.error().message.find(token) == std::string::npos);
    }
    CHECK(Clock::now() - start < 1s);
    const auto st = store.stats();
    CHECK(st.unavailable == 3); // then the circuit answers without trying
    CHECK(st.circuit_open == 7);
    CHECK(st.circuit_is_open);
    CHECK(logs.count("failing open") == 1); // once per outage, not per call
    CHECK(logs.count("circuit open") == 1);
    CHECK(logs.all().find(token) == std::string::npos);
}

TEST_CASE("upstash: the circuit closes again after a successful probe", "[upstash]") {
    Fixture f;
    UpstashStoreOptions o = f.options();
    o.circuit.failure_threshold = 2;
    o.circuit.cool_down = 150ms;
    o.request_timeout = 100ms;
    UpstashRestStore store(o);
    f.upstash.delay = 400ms; // slow: timeouts
    for (int i = 0; i < 4; ++i) {
        auto r = store.get("k");
        REQUIRE_FALSE(r);
        CHECK((r.error().code == ErrorCode::store_timeout || r.error().code == ErrorCode::store_unavailable));
    }
    CHECK(store.stats().timeouts == 2);
    CHECK(store.stats().circuit_is_open);
    f.upstash.delay = 0ms;
    std::this_thread::sleep_for(200ms);
    REQUIRE(store.get("k")); // the probe
    CHECK_FALSE(store.stats().circuit_is_open);
    CHECK(store.stats().circuit_closed == 1);
    CHECK(f.logs.count("answers again") == 1);
}

TEST_CASE("upstash: a slow server gives store_timeout within the request timeout", "[upstash]") {
    Fixture f;
    UpstashStoreOptions o = f.options();
    o.request_timeout = 150ms;
    UpstashRestStore store(o);
    f.upstash.delay = 2s;
    const auto start = Clock::now();
    auto r = store.get("k");
    const auto elapsed = Clock::now() - start;
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::store_timeout);
    CHECK(elapsed >= 140ms);
    CHECK(elapsed < 1s);
    CHECK(store.stats().timeouts == 1);
}

TEST_CASE("upstash: malformed, truncated and unexpected replies are errors", "[upstash]") {
    std::string next_body;
    int next_status = 200;
    llmcache_test::HttpServer fake([&](const llmcache_test::RecordedRequest&) {
        llmcache_test::Reply r;
        r.status = next_status;
        r.headers = {{"Content-Type", "application/json"}};
        r.body = next_body;
        return r;
    });
    UpstashStoreOptions o;
    o.url = fake.url();
    o.token = token;
    o.circuit.failure_threshold = 0; // never opens: every case reaches the server
    o.log_sink = [](std::string_view) {};
    UpstashRestStore store(o);
    for (const char* body : {"", "{", R"({"result":"dg==")", R"(["not","an","envelope"])",
                             "<html>oops</html>", R"({"something":1})"}) {
        next_body = body;
        auto r = store.get("k");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
    }
    next_body = R"({"result":42})";
    CHECK(store.get("k").error().code == ErrorCode::store_unavailable); // a GET answering an integer
    next_body = R"({"error":"ERR max request size exceeded"})";
    next_status = 400;
    auto rejected = store.get("k");
    REQUIRE_FALSE(rejected);
    CHECK(rejected.error().code == ErrorCode::store_rejected);
    CHECK(rejected.error().message.find("max request size") != std::string::npos);
    next_status = 503;
    next_body = "busy";
    CHECK(store.get("k").error().code == ErrorCode::store_unavailable);
    // A connection cut mid-body.
    fake.set_handler([](const llmcache_test::RecordedRequest&) {
        llmcache_test::Reply r;
        r.body = R"({"result":"dmFsdWU="})";
        r.cut_after = 8;
        return r;
    });
    CHECK(store.get("k").error().code == ErrorCode::store_unavailable);
    fake.set_handler([&](const llmcache_test::RecordedRequest&) {
        llmcache_test::Reply r;
        r.status = next_status;
        r.body = next_body;
        return r;
    });
    // A pipeline answered with the wrong number of envelopes.
    next_status = 200;
    next_body = R"([{"result":"OK"}])";
    const std::vector<llmcache::StoreItem> two = {{"a", "1", std::nullopt}, {"b", "2", std::nullopt}};
    CHECK(store.put_many(two).error().code == ErrorCode::store_unavailable);
    // One entry of a pipeline refused: the others count, the refusal is reported.
    next_body = R"([{"result":"OK"},{"error":"ERR something"}])";
    auto partial = store.put_many(two);
    REQUIRE_FALSE(partial);
    CHECK(partial.error().code == ErrorCode::store_rejected);
    CHECK(partial.error().message.find("1 of 2 written") != std::string::npos);
    // A whole pipeline refused.
    next_body = R"({"error":"ERR max daily request limit exceeded"})";
    CHECK(store.put_many(two).error().code == ErrorCode::store_rejected);
}

TEST_CASE("upstash: one store shared by threads; each thread keeps its own keep-alive connection",
          "[upstash]") {
    Fixture f;
    auto store = f.store();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                const std::string key = "mt:" + std::to_string(t) + ":" + std::to_string(i);
                const std::string value = std::string(1, static_cast<char>(t)) + std::string(i, '\xff');
                if (store.put(key, value, 60'000ms) && store.get(key).value_or(std::nullopt) == value)
                    ++good;
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(good == 100);
    CHECK(f.admin.dbsize() == 100);
    CHECK(f.upstash.server().connections() <= 4);
    CHECK(store.stats().requests == 200);
}

TEST_CASE("upstash: a value over max_request_bytes is refused before sending", "[upstash]") {
    Fixture f;
    UpstashStoreOptions o = f.options();
    o.max_request_bytes = 1000;
    UpstashRestStore store(o);
    CHECK(store.put("k", std::string(800, 'x'), std::nullopt).error().code == ErrorCode::too_large);
    CHECK(f.upstash.server().request_count() == 0);
    // put_many splits into several pipelines to stay under the limit.
    std::vector<llmcache::StoreItem> items;
    const std::string v(200, 'y');
    std::vector<std::string> keys;
    for (int i = 0; i < 10; ++i)
        keys.push_back("split:" + std::to_string(i));
    for (const auto& k : keys)
        items.push_back({k, v, std::nullopt});
    CHECK(store.put_many(items).value_or(999) == 10);
    CHECK(f.upstash.server().request_count() > 1);
    for (const auto& r : f.upstash.server().requests())
        CHECK(r.body.size() <= 1000);
    CHECK(f.admin.dbsize() == 10);
}

TEST_CASE("upstash: a Cache over UpstashRestStore, miss then hit, sliding TTL", "[upstash]") {
    Fixture f;
    using Model = llmcache_test::CountingModel;
    llmcache_test::CountingModel model;
    using UpstashCache = llmcache::Cache<llmcache::Xxh3Key<>, UpstashRestStore, llmcache::ExactOnly,
                                         llmcache::ttl::Sliding<>, llmcache::CallableBackend<Model>>;
    UpstashCache cache(llmcache::Xxh3Key<>{}, f.store(), llmcache::ExactOnly{},
                       llmcache::ttl::Sliding<>{60'000ms}, llmcache::CallableBackend{model});
    const auto req = llmcache_test::prompt("what is the capital of France?", "tenant-1");
    auto first = cache.invoke(req);
    REQUIRE(first);
    CHECK_FALSE(first->cache_hit);
    CHECK(first->text == llmcache_test::answer_for("what is the capital of France?"));
    auto second = cache.invoke(req);
    REQUIRE(second);
    CHECK(second->cache_hit);
    CHECK(second->text == first->text);
    CHECK(*model.calls == 1);
    bool touched = false;
    for (const auto& c : f.upstash.commands())
        touched = touched || (c[0] == "GETEX" && c[2] == "PX");
    CHECK(touched);
    CHECK(cache.stats().hits == 1);
    CHECK(cache.stats().store_errors == 0);
}

TEST_CASE("upstash: a Cache keeps answering when Upstash is down (fail-open)", "[upstash]") {
    const int port = llmcache_test::free_port();
    UpstashStoreOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port);
    o.token = token;
    o.log_sink = [](std::string_view) {};
    llmcache_test::CountingModel model;
    llmcache::Cache<llmcache::Xxh3Key<>, UpstashRestStore, llmcache::ExactOnly, llmcache::ttl::Fixed,
                    llmcache::CallableBackend<llmcache_test::CountingModel>>
        cache(llmcache::Xxh3Key<>{}, UpstashRestStore(o), llmcache::ExactOnly{},
              llmcache::ttl::Fixed{60'000ms}, llmcache::CallableBackend{model});
    for (int i = 0; i < 3; ++i) {
        auto r = cache.invoke(llmcache_test::prompt("q"));
        REQUIRE(r);
        CHECK_FALSE(r->cache_hit);
    }
    CHECK(*model.calls == 3);
    CHECK(cache.stats().store_errors > 0);
}

#endif // LLMCACHE_WITH_HIREDIS

TEST_CASE("upstash: semantic entries persisted through Upstash are shared by two caches",
          "[upstash][semantic]") {
    Fixture f;
    namespace lc = llmcache;
    using Model = llmcache_test::CountingModel;
    using SemanticUpstashCache = lc::Cache<lc::Xxh3Key<>, UpstashRestStore, lc::Semantic<lc::HashingEmbedder>,
                                           lc::ttl::Fixed, lc::CallableBackend<Model>>;
    static_assert(lc::indexing_store<UpstashRestStore>);
    lc::CacheOptions options;
    options.store_budget = 0ms; // a loaded test machine must not turn round trips into misses
    Model model_a, model_b;
    SemanticUpstashCache a(lc::Xxh3Key<>{}, f.store(),
                           lc::Semantic<lc::HashingEmbedder>(lc::HashingEmbedder{}), lc::ttl::Fixed{1h},
                           lc::CallableBackend<Model>{model_a}, {}, options);
    SemanticUpstashCache b(lc::Xxh3Key<>{}, f.store(),
                           lc::Semantic<lc::HashingEmbedder>(lc::HashingEmbedder{}, {.sync_interval = 0ms}),
                           lc::ttl::Fixed{1h}, lc::CallableBackend<Model>{model_b}, {}, options);
    const auto ask = [](std::string_view text) {
        return lc::Request::chat("test-model", std::string(text), "You are terse.");
    };
    constexpr std::string_view question = "What is the BM25 ranking algorithm?";

    REQUIRE(a.invoke(ask(question)).has_value());
    // The record is a string with the entry's TTL; the partition index a sorted set in Redis.
    const lc::Request req = ask(question);
    const std::string partition = lc::Xxh3Key<>{}.partition_for(req);
    const std::string record = a.similarity().record_key("", partition, a.key_for(req));
    const std::string index = a.similarity().index_key("", partition);
    CHECK(f.admin.type(record) == "string");
    CHECK(f.admin.type(index) == "zset");
    CHECK(f.admin.pttl(record) > 3'500'000);

    // b has never seen the partition: it loads it through Upstash and answers a reordering.
    auto hit = b.lookup(ask("The BM25 ranking algorithm: what is it?"));
    REQUIRE(hit.has_value());
    CHECK(hit->text == llmcache_test::answer_for(question));
    CHECK(b.similarity().stats().records_loaded == 1);
    CHECK_FALSE(b.lookup(ask("What is the PageRank algorithm?")).has_value()); // another question
    CHECK(model_b.calls->load() == 0);

    // a invalidates; b notices the entry is gone, drops its vector and misses.
    REQUIRE(a.invalidate(req).has_value());
    CHECK_FALSE(b.lookup(ask("The BM25 ranking algorithm: what is it?")).has_value());
    CHECK(b.similarity().stats().stale_dropped == 1);
    REQUIRE(b.clear_all().has_value());
    CHECK(f.admin.dbsize() == 0);
}
