// RedisStore through Redis Sentinel (redis+sentinel:// URLs) against real servers: a master, a
// replica and three sentinels (Debian's redis-sentinel, quorum 2). URL parsing, finding the
// master, clear errors, and SENTINEL FAILOVER under a load of Cache calls from 4 threads: every
// call returns the model's answer and, after the failover, writes land on the new master.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache_test::Admin;
using llmcache_test::answer_for;
using llmcache_test::CountingModel;
using llmcache_test::LogCapture;
using llmcache_test::prompt;
using llmcache_test::RedisServer;
using llmcache_test::RedisServerOptions;
namespace lr = llmcache::detail::redis;
using Clock = std::chrono::steady_clock;

namespace {

/// Polls `done` every 20 ms until it holds or `limit` passes; returns whether it held.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (Clock::now() < until) {
        if (done())
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return done();
}

std::string role_of(const std::string& url) {
    try {
        auto r = Admin(url).cmd({"ROLE"});
        if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
            return std::string(lr::reply_text(*r->element[0]));
    } catch (const std::exception&) {
    }
    return "?";
}

/// A master, one replica, three sentinels monitoring them as "mymaster" with quorum 2; with
/// passwords, the data servers require `data_pw` and the sentinels `sentinel_pw`.
struct SentinelGroup {
    std::string data_pw, sentinel_pw;
    std::unique_ptr<RedisServer> master, replica;
    std::vector<std::unique_ptr<RedisServer>> sentinels;

    explicit SentinelGroup(std::string data_password = {}, std::string sentinel_password = {})
        : data_pw(std::move(data_password)), sentinel_pw(std::move(sentinel_password)) {
        std::vector<std::string> data_conf;
        if (!data_pw.empty())
            data_conf = {"requirepass " + data_pw, "masterauth " + data_pw};
        master = std::make_unique<RedisServer>(RedisServerOptions{.config = data_conf});
        const std::string mport = std::to_string(master->port());
        data_conf.push_back("replicaof 127.0.0.1 " + mport);
        replica = std::make_unique<RedisServer>(RedisServerOptions{.config = data_conf});
        auto synced = [&] {
            return Admin(data_url(*replica)).text({"INFO", "replication"}).find("master_link_status:up") !=
                   std::string::npos;
        };
        if (!eventually(synced, 10s))
            throw std::runtime_error("the replica did not sync with the master within 10 s");
        for (int i = 0; i < 3; ++i) {
            std::vector<std::string> conf = {"sentinel monitor mymaster 127.0.0.1 " + mport + " 2",
                                             "sentinel down-after-milliseconds mymaster 1000",
                                             "sentinel failover-timeout mymaster 5000",
                                             "sentinel parallel-syncs mymaster 1"};
            if (!data_pw.empty())
                conf.push_back("sentinel auth-pass mymaster " + data_pw);
            if (!sentinel_pw.empty())
                conf.push_back("requirepass " + sentinel_pw);
            sentinels.push_back(
                std::make_unique<RedisServer>(RedisServerOptions{.config = conf, .sentinel = true}));
        }
        // Every sentinel knows the replica and the two other sentinels.
        auto ready = [&] {
            for (std::size_t i = 0; i < sentinels.size(); ++i) {
                Admin a(sentinel_admin_url(i), {}, true);
                auto reps = a.cmd({"SENTINEL", "REPLICAS", "mymaster"});
                if (reps->type != REDIS_REPLY_ARRAY || reps->elements != 1)
                    return false;
                if (a.text({"SENTINEL", "CKQUORUM", "mymaster"}).find("OK 3 usable") == std::string::npos)
                    return false;
            }
            return true;
        };
        if (!eventually(ready, 15s))
            throw std::runtime_error("the sentinels did not discover the replica and each other within 15 s");
    }

    /// SIGKILL: a master with a replica still syncing would wait up to shutdown-timeout on SIGTERM.
    ~SentinelGroup() {
        for (auto& s : sentinels)
            s->kill9();
        replica->kill9();
        master->kill9();
    }
    SentinelGroup(const SentinelGroup&) = delete;
    SentinelGroup& operator=(const SentinelGroup&) = delete;

    /// The store's URL: every sentinel, and the passwords when there are some.
    std::string url() const {
        std::string u = "redis+sentinel://";
        if (!data_pw.empty())
            u += ":" + data_pw + "@";
        for (std::size_t i = 0; i < sentinels.size(); ++i)
            u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(sentinels[i]->port());
        u += "/mymaster";
        if (!sentinel_pw.empty())
            u += "?sentinel_password=" + sentinel_pw;
        return u;
    }
    std::string data_url(const RedisServer& s) const { return s.url(data_pw.empty() ? "" : ":" + data_pw); }
    std::string sentinel_admin_url(std::size_t i) const {
        return sentinels.at(i)->url(sentinel_pw.empty() ? "" : ":" + sentinel_pw);
    }
    /// The master's address as sentinel `s` reports it.
    std::string reported_master(std::size_t s = 0) {
        auto r =
            Admin(sentinel_admin_url(s), {}, true).cmd({"SENTINEL", "get-master-addr-by-name", "mymaster"});
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
            return "?";
        return std::string(lr::reply_text(*r->element[0])) + ":" +
               std::string(lr::reply_text(*r->element[1]));
    }
};

std::string endpoint(const RedisServer& s) {
    return "127.0.0.1:" + std::to_string(s.port());
}

} // namespace

TEST_CASE("redis sentinel: URL parsing", "[redis][sentinel][url]") {
    auto u = lr::parse_url("redis+sentinel://app:pw%40x@127.0.0.1:26380,[::1],sentinel-3.internal:5000/"
                           "mymaster/2?sentinel_password=sp&sentinel_user=watch&command_timeout=150ms");
    REQUIRE(u);
    CHECK(u->via_sentinel());
    CHECK_FALSE(u->tls());
    CHECK(u->master_name == "mymaster");
    CHECK(u->db == 2);
    CHECK(u->username == "app");
    CHECK(u->password == "pw@x");
    CHECK(u->sentinel_username == "watch");
    CHECK(u->sentinel_password == "sp");
    REQUIRE(u->sentinels.size() == 3);
    CHECK(u->sentinels[0].host == "127.0.0.1");
    CHECK(u->sentinels[0].port == 26380);
    CHECK(u->sentinels[1].host == "::1");
    CHECK(u->sentinels[1].port == 26379);
    CHECK(u->sentinels[2].host == "sentinel-3.internal");
    CHECK(u->sentinels[2].port == 5000);
    CHECK(u->command_timeout == 150ms);
    CHECK(u->display() ==
          "redis+sentinel://app:***@127.0.0.1:26380,[::1]:26379,sentinel-3.internal:5000/mymaster/2");
    CHECK(u->endpoint() == "sentinel master 'mymaster'");

    u = lr::parse_url("rediss+sentinel://s1/cache");
    REQUIRE(u);
    CHECK(u->tls());
    CHECK(u->master_name == "cache");
    CHECK(u->db == 0);
    REQUIRE(u->sentinels.size() == 1);
    CHECK(u->sentinels[0].port == 26379);
    u = lr::parse_url("redis+sentinel://s1:1/cache?db=3");
    REQUIRE(u);
    CHECK(u->db == 3);

    for (const char* bad : {"redis+sentinel://127.0.0.1:26379", "redis+sentinel://127.0.0.1:26379/",
                            "redis+sentinel:///mymaster", "redis+sentinel://a,,b/m", "redis+sentinel://a,/m",
                            "redis+sentinel://a:0/m", "redis+sentinel://a/m/x",
                            "redis+sentinel://a/m?bogus=1", "redis+sentinel://u:S3cretPw@a:b/m",
                            "redis://a:6379?sentinel_password=x", "redis+sentinel://a/m?sentinel_user=w"}) {
        INFO(bad);
        auto r = lr::parse_url(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK(r.error().message.find("S3cretPw") == std::string::npos);
    }
    // Existing schemes are untouched.
    u = lr::parse_url("redis://h:7000/1");
    REQUIRE(u);
    CHECK_FALSE(u->via_sentinel());
    CHECK(u->endpoint() == "h:7000");
    CHECK(u->display() == "redis://h:7000/1");
}

TEST_CASE("redis sentinel: the store finds the master (passwords on both); clear errors otherwise",
          "[redis][sentinel]") {
    SentinelGroup g("Data-Pw-1", "Sentinel-Pw-2");
    LogCapture log;
    RedisStoreOptions o;
    o.log_sink = log.sink();
    o.url = g.url();
    o.connect_timeout = 2s;
    o.command_timeout = 2s;
    RedisStore store(o);
    CHECK_FALSE(store.sentinel_master());
    REQUIRE(store.put("llmcache:sen:a", "va", 60'000ms));
    REQUIRE(store.sentinel_master());
    CHECK(*store.sentinel_master() == endpoint(*g.master));
    CHECK(Admin(g.data_url(*g.master)).text({"GET", "llmcache:sen:a"}) == "va");
    auto v = store.get("llmcache:sen:a");
    REQUIRE(v);
    CHECK(v->value_or("") == "va");
    const std::string s0 = "127.0.0.1:" + std::to_string(g.sentinels[0]->port());
    CHECK(store.url() == "redis+sentinel://:***@" + s0 +
                             ",127.0.0.1:" + std::to_string(g.sentinels[1]->port()) +
                             ",127.0.0.1:" + std::to_string(g.sentinels[2]->port()) + "/mymaster");
    CHECK(store.stats().sentinel_switches == 0);
    CHECK(store.stats().sentinel_lookups >= 1);
    CHECK(store.stats().errors.total() == 0);

    // Sentinels that want a password we did not give, or a wrong one; a wrong master password.
    o.url = "redis+sentinel://:Data-Pw-1@" + s0 + "/mymaster";
    RedisStore no_sentinel_pw(o);
    auto w = no_sentinel_pw.get("k");
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("requires authentication") != std::string::npos);
    CHECK(w.error().message.find("sentinel_password=") != std::string::npos);
    o.url = "redis+sentinel://:Data-Pw-1@" + s0 + "/mymaster?sentinel_password=Bad-Pw-3";
    RedisStore bad_sentinel_pw(o);
    w = bad_sentinel_pw.get("k");
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("authentication failed") != std::string::npos);
    o.url = "redis+sentinel://:Bad-Pw-4@" + s0 + "/mymaster?sentinel_password=Sentinel-Pw-2";
    RedisStore bad_data_pw(o);
    w = bad_data_pw.get("k");
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("authentication failed") != std::string::npos);
    CHECK(Admin(g.data_url(*g.master)).dbsize() == 1);

    // A name the sentinels do not monitor.
    o.url = "redis+sentinel://" + s0 + "/nosuchmaster?sentinel_password=Sentinel-Pw-2";
    RedisStore wrong(o);
    w = wrong.get("k");
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::store_unavailable);
    CHECK(w.error().message.find("does not monitor a master named 'nosuchmaster'") != std::string::npos);

    // A data server where a sentinel should be.
    o.url = "redis+sentinel://127.0.0.1:" + std::to_string(g.master->port()) +
            "/mymaster?sentinel_password=Data-Pw-1";
    RedisStore not_sentinel(o);
    w = not_sentinel.get("k");
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("not a Redis Sentinel") != std::string::npos);

    // No sentinel reachable: fails, quickly; and the first reachable one in the list is used.
    o.url = "redis+sentinel://127.0.0.1:" + std::to_string(llmcache_test::free_port()) + "/mymaster";
    o.connect_timeout = 300ms;
    RedisStore dead(o);
    const auto t0 = Clock::now();
    w = dead.get("k");
    CHECK(Clock::now() - t0 < 1s);
    REQUIRE_FALSE(w);
    CHECK(w.error().message.find("no sentinel named a reachable master") != std::string::npos);
    o.url = "redis+sentinel://:Data-Pw-1@127.0.0.1:" + std::to_string(llmcache_test::free_port()) +
            ",127.0.0.1:" + std::to_string(g.sentinels[1]->port()) +
            "/mymaster?sentinel_password=Sentinel-Pw-2";
    RedisStore second(o);
    v = second.get("llmcache:sen:a");
    REQUIRE(v);
    CHECK(v->value_or("") == "va");

    for (const char* secret : {"Data-Pw-1", "Sentinel-Pw-2", "Bad-Pw-3", "Bad-Pw-4"}) {
        INFO(secret);
        CHECK(log.all().find(secret) == std::string::npos);
    }
    CHECK_FALSE(log.lines().empty());
}

TEST_CASE("redis sentinel: SENTINEL FAILOVER under load; calls keep answering, writes go to the new master",
          "[redis][sentinel][faults]") {
    SentinelGroup g;
    LogCapture log;
    RedisStoreOptions o;
    o.url = g.url();
    o.connect_timeout = 300ms;
    o.command_timeout = 300ms;
    o.pool_size = 4;
    o.pool_wait = 200ms;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 200ms;
    o.sentinel_refresh_min_interval = 100ms;
    o.sentinel_check_interval = 500ms;
    o.log_sink = log.sink();
    RedisStore store(o);
    RedisStoreOptions ro = o;
    ro.sentinel_check_interval = 0ms; // only errors make this one ask the sentinels
    LogCapture reactive_log;
    ro.log_sink = reactive_log.sink();
    RedisStore reactive(ro);
    REQUIRE(reactive.put("llmcache:sen:reactive-before", "1", std::nullopt));
    REQUIRE(store.put("llmcache:sen:before", "1", std::nullopt));
    CHECK(Admin(g.data_url(*g.master)).text({"GET", "llmcache:sen:before"}) == "1");
    REQUIRE(store.sentinel_master() == endpoint(*g.master));

    CountingModel model;
    auto cache = llmcache_test::make_cache(store, model);
    std::atomic<bool> stop{false};
    std::atomic<int> calls{0}, wrong{0}, exceptions{0};
    std::vector<std::future<void>> workers;
    for (int t = 0; t < 4; ++t)
        workers.push_back(std::async(std::launch::async, [&, t] {
            for (int i = 0; !stop.load(); ++i) {
                const std::string p = "failover prompt " + std::to_string((t * 7 + i) % 40);
                try {
                    auto r = cache->invoke(prompt(p));
                    if (!r || r->text != answer_for(p))
                        wrong.fetch_add(1);
                } catch (...) {
                    exceptions.fetch_add(1);
                }
                calls.fetch_add(1);
                std::this_thread::sleep_for(2ms);
            }
        }));
    std::this_thread::sleep_for(300ms);
    const int calls_before = calls.load();
    CHECK(calls_before > 0);

    REQUIRE(Admin(g.sentinel_admin_url(0), {}, true).text({"SENTINEL", "FAILOVER", "mymaster"}) == "OK");
    const bool switched = eventually([&] { return g.reported_master() == endpoint(*g.replica); }, 15s);
    CHECK(switched);
    CHECK(eventually([&] { return role_of(g.data_url(*g.replica)) == "master"; }, 5s));

    // A fresh write through the store lands on the new master (bounded wait).
    int n = 0;
    std::string key;
    const bool landed = eventually(
        [&] {
            key = "llmcache:sen:after-" + std::to_string(n++);
            return store.put(key, "new", std::nullopt) &&
                   Admin(g.data_url(*g.replica)).text({"GET", key}) == "new";
        },
        10s);
    CHECK(landed);
    std::this_thread::sleep_for(300ms); // a little more load after the switch

    // Without periodic checks, a store follows when the old master refuses its writes: demote the
    // old master now, as the sentinels would a few seconds later. The write that meets READONLY
    // makes the store ask the sentinels, move to the new master and send the write there.
    REQUIRE(
        Admin(g.data_url(*g.master)).text({"REPLICAOF", "127.0.0.1", std::to_string(g.replica->port())}) ==
        "OK");
    const auto retries_before = reactive.stats().retries;
    REQUIRE(reactive.put("llmcache:sen:reactive-after", "r", std::nullopt));
    CHECK(Admin(g.data_url(*g.replica)).text({"GET", "llmcache:sen:reactive-after"}) == "r");
    CHECK(reactive.stats().retries == retries_before + 1);
    CHECK(reactive.sentinel_master() == endpoint(*g.replica));
    CHECK(reactive.stats().sentinel_switches == 1);
    CHECK(reactive.stats().errors.total() == 0);
    CHECK(reactive_log.count("the master moved from " + endpoint(*g.master)) == 1);
    stop.store(true);
    for (auto& w : workers)
        REQUIRE(w.wait_for(20s) == std::future_status::ready);

    CHECK(exceptions.load() == 0);
    CHECK(wrong.load() == 0);
    CHECK(calls.load() > calls_before);
    CHECK(store.sentinel_master() == endpoint(*g.replica));
    CHECK(role_of(g.data_url(*g.replica)) == "master");
    const auto st = store.stats();
    CHECK(st.sentinel_switches == 1);
    CHECK(log.count("the master moved from " + endpoint(*g.master) + " to " + endpoint(*g.replica)) == 1);

    // Cache entries written after the switch are hits served by the new master.
    const int before_hits = model.calls->load();
    auto r1 = cache->invoke(prompt("after the failover"));
    auto r2 = cache->invoke(prompt("after the failover"));
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(r2->text == answer_for("after the failover"));
    CHECK(model.calls->load() == before_hits + 1);
    CHECK(Admin(g.data_url(*g.replica)).dbsize() >= 2);
}
