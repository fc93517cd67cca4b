// RedisStore under faults, against real redis-server processes: SIGKILL + restart, SIGSTOP,
// late replies after timeouts, OOM, foreign values under our keys, pool exhaustion.
// Fail-open is the rule: every Cache call returns the model's answer, nothing throws.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::RedisCircuitState;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache_test::Admin;
using llmcache_test::answer_for;
using llmcache_test::LogCapture;
using llmcache_test::prompt;
using llmcache_test::RedisServer;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

/// Runs fn on n threads; fails the test (instead of hanging) if they do not finish in `limit`.
template <class F>
void run_threads(int n, F fn, std::chrono::seconds limit = 60s) {
    std::vector<std::future<void>> done;
    for (int t = 0; t < n; ++t)
        done.push_back(std::async(std::launch::async, fn, t));
    for (auto& f : done)
        REQUIRE(f.wait_for(limit) == std::future_status::ready);
    for (auto& f : done)
        f.get();
}

} // namespace

TEST_CASE("redis faults: server SIGKILLed and restarted mid-run", "[redis][faults]") {
    RedisServer server;
    LogCapture log;
    RedisStoreOptions o;
    o.url = server.url();
    o.connect_timeout = 200ms;
    o.command_timeout = 250ms;
    o.pool_size = 4;
    o.pool_wait = 100ms;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 200ms;
    o.log_sink = log.sink();
    RedisStore store(o);
    llmcache_test::CountingModel model;
    auto cache = llmcache_test::make_cache(store, model);

    std::vector<std::string> prompts;
    for (int i = 0; i < 40; ++i)
        prompts.push_back("kill-test prompt " + std::to_string(i));
    for (const auto& p : prompts)
        REQUIRE(cache->invoke(prompt(p)));
    for (const auto& p : prompts)
        CHECK(cache->invoke(prompt(p))->cache_hit);
    CHECK(model.calls->load() == 40);

    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0}, exceptions{0}, calls{0};
    std::atomic<long long> slowest_ms{0};
    auto worker = [&](int t) {
        for (int i = t; !stop.load() && i < 1'000'000; ++i) {
            const std::string& p = prompts[static_cast<std::size_t>(i) % prompts.size()];
            const auto start = Clock::now();
            try {
                auto r = cache->invoke(prompt(p));
                if (!r || r->text != answer_for(p))
                    wrong.fetch_add(1);
            } catch (...) {
                exceptions.fetch_add(1);
            }
            const long long ms = ms_since(start).count();
            long long prev = slowest_ms.load();
            while (ms > prev && !slowest_ms.compare_exchange_weak(prev, ms)) {
            }
            calls.fetch_add(1);
            if (store.stats().connections_open > o.pool_size)
                wrong.fetch_add(1000); // never more connections than the pool allows
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back(worker, t);
    std::this_thread::sleep_for(300ms);
    server.kill9();
    std::this_thread::sleep_for(1000ms);
    const int calls_before_restart = calls.load();
    server.restart();
    const auto restarted = Clock::now();
    std::this_thread::sleep_for(1000ms);
    stop = true;
    for (auto& th : threads)
        th.join();

    CHECK(exceptions.load() == 0);
    CHECK(wrong.load() == 0);
    CHECK(calls_before_restart > 100);
    // Two store operations per call (get + put) at most, each bounded by its timeouts.
    CHECK(slowest_ms.load() < 2 * (100 + 250) + 400);
    const auto st = store.stats();
    CHECK(st.circuit_opened >= 1);
    CHECK(st.errors.circuit_open > 0); // calls that did not even try
    CHECK(st.connections_peak <= o.pool_size);
    CHECK(log.count("circuit open") == st.circuit_opened);
    CHECK(log.count("circuit closed") >= 1);

    // The restarted server is empty (no persistence): one pass fills it, the next one hits.
    bool all_hits = false;
    for (int pass = 0; pass < 20 && !all_hits; ++pass) {
        all_hits = true;
        for (const auto& p : prompts) {
            auto r = cache->invoke(prompt(p));
            REQUIRE(r);
            CHECK(r->text == answer_for(p));
            all_hits = all_hits && r->cache_hit;
        }
    }
    CHECK(all_hits);
    CHECK(ms_since(restarted) < 6000ms);
    CHECK(store.stats().circuit == RedisCircuitState::closed);
}

TEST_CASE("redis faults: SIGSTOP bounds every call, opens the circuit, SIGCONT closes it",
          "[redis][faults]") {
    RedisServer server;
    LogCapture log;
    RedisStoreOptions o;
    o.url = server.url();
    o.connect_timeout = 150ms;
    o.command_timeout = 150ms;
    o.pool_size = 4;
    o.pool_wait = 50ms;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 300ms;
    o.log_sink = log.sink();
    RedisStore store(o);
    REQUIRE(store.put("llmcache:stop:k", "the value", std::nullopt));

    std::atomic<bool> stop{false};
    std::atomic<long long> slowest_ms{0};
    std::atomic<int> wrong{0}, failures{0};
    auto worker = [&](int) {
        while (!stop.load()) {
            const auto start = Clock::now();
            auto r = store.get("llmcache:stop:k");
            const long long ms = ms_since(start).count();
            long long prev = slowest_ms.load();
            while (ms > prev && !slowest_ms.compare_exchange_weak(prev, ms)) {
            }
            if (!r)
                failures.fetch_add(1);
            else if (r->value_or("") != "the value")
                wrong.fetch_add(1);
            std::this_thread::sleep_for(1ms);
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back(worker, t);
    std::this_thread::sleep_for(200ms);
    server.pause();
    std::this_thread::sleep_for(2000ms);
    const auto during = store.stats();
    server.resume();
    const auto resumed = Clock::now();
    // Recovery: the circuit closes by itself within a cool-down or two.
    bool back = false;
    while (!back && ms_since(resumed) < 3000ms) {
        std::this_thread::sleep_for(20ms);
        back = store.stats().circuit == RedisCircuitState::closed && store.get("llmcache:stop:k").has_value();
    }
    const auto recovery = ms_since(resumed);
    stop = true;
    for (auto& th : threads)
        th.join();

    CHECK(back);
    CHECK(recovery < 2000ms);
    CHECK(wrong.load() == 0);
    CHECK(failures.load() > 0);
    // Each call waits at most pool_wait + max(connect, command) timeout; a margin for the box.
    CHECK(slowest_ms.load() <= 50 + 150 + 150);
    CHECK(during.circuit_opened >= 1);
    CHECK(during.errors.timeout >= 1);
    CHECK(during.errors.circuit_open > during.errors.timeout); // most calls never touched the network
    const auto after = store.stats();
    CHECK(after.circuit_closed >= 1);
    CHECK(log.count("circuit open") == after.circuit_opened);
    CHECK(log.count("circuit closed") == after.circuit_closed);
}

TEST_CASE("redis faults: a late reply after a timeout never reaches the next request", "[redis][faults]") {
    RedisServer server;
    RedisStoreOptions o;
    o.url = server.url();
    o.command_timeout = 100ms;
    o.pool_size = 1; // the next request would get the very same connection if it were kept
    o.circuit.failure_threshold = 0;
    o.log_sink = [](std::string_view) {};
    RedisStore store(o);
    for (int i = 0; i < 10; ++i)
        REQUIRE(store.put("llmcache:late:" + std::to_string(i), "value-" + std::to_string(i), std::nullopt));
    Admin admin(server.url());

    int timeouts = 0;
    for (int round = 0; round < 4; ++round) {
        const std::string a = std::to_string(2 * round), b = std::to_string(2 * round + 1);
        // Stall the server: DEBUG SLEEP on odd rounds, CLIENT PAUSE on even ones.
        std::thread staller;
        if (round % 2 == 1) {
            staller = std::thread([&] { admin.cmd({"DEBUG", "SLEEP", "0.3"}); });
            std::this_thread::sleep_for(50ms); // let DEBUG SLEEP reach the server first
        } else {
            admin.cmd({"CLIENT", "PAUSE", "300", "ALL"});
        }
        const auto start = Clock::now();
        auto r = store.get("llmcache:late:" + a);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_timeout);
        CHECK(ms_since(start) < 300ms);
        ++timeouts;
        if (staller.joinable())
            staller.join();
        else
            std::this_thread::sleep_for(350ms);
        // The server has now answered the timed-out GET, onto a socket that is gone.
        auto next = store.get("llmcache:late:" + b);
        REQUIRE(next);
        CHECK(next->value_or("") == "value-" + b);
        auto again = store.get("llmcache:late:" + a);
        REQUIRE(again);
        CHECK(again->value_or("") == "value-" + a);
    }
    const auto st = store.stats();
    CHECK(st.errors.timeout == static_cast<std::uint64_t>(timeouts));
    CHECK(st.connections_closed >= static_cast<std::uint64_t>(timeouts));
    CHECK(st.connections_opened == st.connections_closed + st.connections_open);
}

TEST_CASE("redis faults: OOM under maxmemory + noeviction skips writes, reads go on", "[redis][faults]") {
    RedisServer server;
    LogCapture log;
    RedisStoreOptions o;
    o.url = server.url();
    o.command_timeout = 2s;
    o.log_sink = log.sink();
    RedisStore store(o);
    llmcache_test::CountingModel model;
    model.pad = 4000; // ~4 KB answers
    auto cache = llmcache_test::make_cache(store, model);

    for (int i = 0; i < 10; ++i)
        REQUIRE(cache->invoke(prompt("before OOM " + std::to_string(i))));
    Admin admin(server.url());
    admin.cmd({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    admin.cmd({"CONFIG", "SET", "maxmemory", "1mb"});

    for (int i = 0; i < 400; ++i) {
        const std::string p = "during OOM " + std::to_string(i);
        auto r = cache->invoke(prompt(p));
        REQUIRE(r);
        CHECK(r->text.starts_with(answer_for(p)));
    }
    const auto st = store.stats();
    const auto cs = cache->stats();
    CHECK(st.errors.oom > 0);
    CHECK(cs.write_failures == st.errors.oom); // each OOM is a skipped write, and only those failed
    CHECK(st.errors.total() == st.errors.oom);
    CHECK(st.circuit == RedisCircuitState::closed); // the server answers: no reason to stop reading
    CHECK(log.count("OOM") == 1);                   // logged once, counted always

    // Entries written before still hit.
    for (int i = 0; i < 10; ++i)
        CHECK(cache->invoke(prompt("before OOM " + std::to_string(i)))->cache_hit);

    auto direct = store.put("llmcache:oom:x", std::string(100'000, 'x'), std::nullopt);
    REQUIRE_FALSE(direct);
    CHECK(direct.error().code == ErrorCode::store_rejected);
    CHECK(direct.error().message.find("OOM") != std::string::npos);

    // Memory back: writes work again, and a new OOM episode is logged again.
    admin.cmd({"CONFIG", "SET", "maxmemory", "0"});
    REQUIRE(store.put("llmcache:oom:y", "fits", std::nullopt));
    admin.cmd({"CONFIG", "SET", "maxmemory", "1mb"});
    REQUIRE_FALSE(store.put("llmcache:oom:z", std::string(100'000, 'z'), std::nullopt));
    CHECK(log.count("OOM") == 2);
}

TEST_CASE("redis faults: garbage and foreign types under our key are misses, replaced, counted",
          "[redis][faults]") {
    RedisServer server;
    RedisStoreOptions o;
    o.url = server.url();
    o.command_timeout = 2s;
    o.log_sink = [](std::string_view) {};
    RedisStore store(o);
    llmcache_test::CountingModel model;
    auto cache = llmcache_test::make_cache(store, model);
    Admin admin(server.url());

    const auto req = prompt("what is under my key?");
    const std::string key = cache->key_for(req);

    admin.cmd({"SET", key, std::string("\x00\xffgarbage", 9)});
    auto r = cache->invoke(req);
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(r->text == answer_for("what is under my key?"));
    CHECK(cache->stats().corrupt_entries == 1);
    CHECK(cache->invoke(req)->cache_hit); // replaced by a good entry

    // A truncated entry.
    const std::string good = admin.text({"GET", key});
    admin.cmd({"SET", key, good.substr(0, good.size() / 2)});
    r = cache->invoke(req);
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(cache->stats().corrupt_entries == 2);
    CHECK(cache->invoke(req)->cache_hit);

    // A list under our key: WRONGTYPE is a miss, counted, and the write replaces it.
    admin.cmd({"DEL", key});
    admin.cmd({"RPUSH", key, "not", "a", "string"});
    const int calls_before = model.calls->load();
    r = cache->invoke(req);
    REQUIRE(r);
    CHECK_FALSE(r->cache_hit);
    CHECK(r->text == answer_for("what is under my key?"));
    CHECK(model.calls->load() == calls_before + 1);
    // (The Cache reads twice on a miss: once, and again as the single-flight leader.)
    CHECK(store.stats().errors.wrongtype >= 1);
    CHECK(cache->stats().store_errors == store.stats().errors.wrongtype);
    CHECK(admin.type(key) == "string");
    CHECK(cache->invoke(req)->cache_hit);

    // The store itself reports WRONGTYPE as store_rejected, never as data.
    admin.cmd({"HSET", "llmcache:hash", "f", "v"});
    auto direct = store.get("llmcache:hash");
    REQUIRE_FALSE(direct);
    CHECK(direct.error().code == ErrorCode::store_rejected);
    CHECK(direct.error().message.find("WRONGTYPE") != std::string::npos);
    CHECK(store.stats().circuit == RedisCircuitState::closed);
}

TEST_CASE("redis faults: pool exhaustion under 16 threads with 4 connections", "[redis][faults][pool]") {
    RedisServer server;
    RedisStoreOptions o;
    o.url = server.url();
    o.pool_size = 4;
    o.pool_wait = 20ms;
    o.command_timeout = 2s;
    o.circuit.failure_threshold = 0;
    o.log_sink = [](std::string_view) {};
    RedisStore store(o);
    REQUIRE(store.put("llmcache:pool:k", "pooled", std::nullopt));
    Admin admin(server.url());

    std::atomic<bool> stop{false};
    std::thread staller([&] { // keeps the server stalling so that connections stay busy
        for (int i = 0; i < 40 && !stop.load(); ++i) {
            admin.cmd({"DEBUG", "SLEEP", "0.04"});
            std::this_thread::sleep_for(10ms);
        }
    });
    std::atomic<int> ok{0}, pool_failures{0}, other{0}, wrong{0}, exceptions{0};
    std::atomic<long long> slowest_failure_ms{0};
    run_threads(16, [&](int) {
        for (int i = 0; i < 100; ++i) {
            try {
                const auto start = Clock::now();
                auto r = store.get("llmcache:pool:k");
                if (r) {
                    ok.fetch_add(1);
                    if (r->value_or("") != "pooled")
                        wrong.fetch_add(1);
                } else if (r.error().code == ErrorCode::store_timeout &&
                           r.error().message.find("pooled connections") != std::string::npos) {
                    pool_failures.fetch_add(1);
                    const long long ms = ms_since(start).count();
                    long long prev = slowest_failure_ms.load();
                    while (ms > prev && !slowest_failure_ms.compare_exchange_weak(prev, ms)) {
                    }
                } else {
                    other.fetch_add(1);
                }
            } catch (...) {
                exceptions.fetch_add(1);
            }
        }
    });
    stop = true;
    staller.join();

    CHECK(exceptions.load() == 0);
    CHECK(wrong.load() == 0);
    CHECK(other.load() == 0);
    CHECK(ok.load() + pool_failures.load() == 1600);
    CHECK(ok.load() > 0);
    CHECK(pool_failures.load() > 0);
    CHECK(slowest_failure_ms.load() <= 20 + 100); // the bounded wait, plus scheduling slack
    const auto st = store.stats();
    CHECK(st.pool_wait_timeouts == static_cast<std::uint64_t>(pool_failures.load()));
    CHECK(st.errors.pool_timeout == static_cast<std::uint64_t>(pool_failures.load()));
    CHECK(st.connections_peak <= 4);
    CHECK(st.connections_opened <= 4); // busy is not broken: no connection was thrown away
}
