// The whole Cache: invoke() hits, lookup(), the miss path and the cost of single-flight.
//
// Cache<Xxh3Key<>, MemoryStore, ExactOnly, ttl::Fixed, CallableBackend<InstantModel>>, where
// InstantModel returns a prebuilt 2 KB answer (stop end_turn, usage reported) without waiting,
// so everything measured is the cache's own work. Prompts are 200 characters, model
// "claude-sonnet-4-5" (a priced model, so the hit path also does the dollars-saved arithmetic).
//
//   Cache/InvokeHit       invoke() of a pre-warmed request: validate, key (canonical encoding +
//                         XXH3-128), store get (copy of the ~2.3 KB entry), decode (checksum +
//                         copy of the 2 KB text), stats counters, Response out. 1000 warm prompts
//                         walked in random order; 1 and 2 threads.
//   Cache/InvokeHit_same  the same, every thread asking for the one same prompt (worst case: one
//                         shard lock and one LRU list shared by both threads).
//   Cache/LookupHit       lookup() alone (no stats, no Result wrapping).
//   Cache/InvokeMiss      invoke() of a never-seen prompt (fresh text per iteration): key, store
//                         miss, single-flight join, second store read, backend (a 2 KB Response
//                         copy), encode, put (LRU eviction in steady state: the store holds 8192
//                         entries), single-flight finish. single_flight:1 is the default;
//                         single_flight:0 is the same Cache with CacheOptions::single_flight=false,
//                         so the difference is exactly what single-flight adds to a miss.
//   Backend/Instant       the backend alone, for reference (the part of a miss that is not the cache).
//   Cache/HitLatency      200k invoke() hits, each timed on its own with steady_clock; the
//                         counters p50_ns / p90_ns / p99_ns / p999_ns are percentiles of single calls
//                         (clock overhead included; Clock/now_pair gives that overhead).
//   Cache/LookupLatency   the same for lookup().
#include <llmcache/llmcache.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace llmcache;
using namespace std::chrono_literals;

constexpr const char* kModel = "claude-sonnet-4-5";
constexpr std::size_t kPromptBytes = 200;
constexpr std::size_t kAnswerBytes = 2048;
constexpr std::size_t kWarmPrompts = 1000;

std::string make_text(std::size_t n, std::uint64_t seed) {
    static constexpr const char* words[] = {"what ", "is ",    "the ",   "cache ", "answer ", "for ",
                                            "BM25 ", "model ", "token ", "query ", "and ",    "why "};
    std::string s;
    s.reserve(n + 16);
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    while (s.size() < n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s.append(words[(x >> 33) % 12]);
    }
    s.resize(n);
    return s;
}

const Response& answer() {
    static const Response r = [] {
        Response a;
        a.text = make_text(kAnswerBytes, 99);
        a.stop_reason = StopReason::end_turn;
        a.model = kModel;
        a.usage.input_tokens = 57;
        a.usage.output_tokens = 512;
        a.created = std::chrono::system_clock::now();
        return a;
    }();
    return r;
}

/// A model that answers at once with a copy of a prebuilt 2 KB answer.
struct InstantModel {
    Result<Response> operator()(const Request&) const { return answer(); }
};

using BenchCache = Cache<Xxh3Key<>, MemoryStore, ExactOnly, ttl::Fixed, CallableBackend<InstantModel>>;

std::unique_ptr<BenchCache> make_cache(bool single_flight, std::size_t max_entries) {
    CacheOptions opts;
    opts.single_flight = single_flight;
    MemoryStoreOptions store;
    store.max_entries = max_entries;
    return std::make_unique<BenchCache>(Xxh3Key<>{}, MemoryStore{store}, ExactOnly{}, ttl::Fixed{1h},
                                        CallableBackend{InstantModel{}}, NullObserver{}, opts);
}

/// A cache with kWarmPrompts answers stored, and those requests in a random order.
struct Warm {
    std::unique_ptr<BenchCache> cache = make_cache(true, 100'000);
    std::vector<Request> requests;
    std::vector<std::uint32_t> order;

    Warm() {
        for (std::size_t i = 0; i < kWarmPrompts; ++i) {
            requests.push_back(Request::chat(kModel, make_text(kPromptBytes, i)));
            auto r = cache->invoke(requests.back());
            if (!r || r->cache_hit)
                std::abort();
        }
        order.resize(kWarmPrompts);
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), std::mt19937_64{42});
    }
};

Warm& warm() {
    static Warm w;
    return w;
}

struct Walk {
    const std::vector<std::uint32_t>& order;
    std::size_t pos;
    Walk(const Warm& w, const benchmark::State& state)
        : order(w.order), pos(static_cast<std::size_t>(state.thread_index()) * w.order.size() /
                              static_cast<std::size_t>(state.threads())) {}
    std::size_t next() {
        const std::size_t i = order[pos];
        if (++pos == order.size())
            pos = 0;
        return i;
    }
};

void check_hit(const Result<Response>& r) {
    if (!r || !r->cache_hit || r->text.size() != kAnswerBytes)
        std::abort();
}

void BM_Cache_InvokeHit(benchmark::State& state) {
    Warm& w = warm();
    Walk walk(w, state);
    for (auto _ : state) {
        Result<Response> r = w.cache->invoke(w.requests[walk.next()]);
        check_hit(r);
        benchmark::DoNotOptimize(r->text.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Cache_InvokeHit_same(benchmark::State& state) {
    Warm& w = warm();
    const Request& req = w.requests[0];
    for (auto _ : state) {
        Result<Response> r = w.cache->invoke(req);
        check_hit(r);
        benchmark::DoNotOptimize(r->text.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Cache_LookupHit(benchmark::State& state) {
    Warm& w = warm();
    Walk walk(w, state);
    for (auto _ : state) {
        std::optional<Response> r = w.cache->lookup(w.requests[walk.next()]);
        if (!r || r->text.size() != kAnswerBytes)
            std::abort();
        benchmark::DoNotOptimize(r->text.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Two caches for the miss path, identical but for single_flight; 8192 entries so the store
// reaches its bound quickly and every put also evicts the LRU tail (steady state).
BenchCache& miss_cache(bool single_flight) {
    static std::unique_ptr<BenchCache> with = make_cache(true, 8192);
    static std::unique_ptr<BenchCache> without = make_cache(false, 8192);
    return single_flight ? *with : *without;
}

// Never-seen prompts: the last 16 characters of the prompt are a counter unique across threads,
// runs and repetitions (written in place: no allocation in the timed loop beyond the cache's own).
std::atomic<std::uint64_t> fresh_counter{0};

void BM_Cache_InvokeMiss(benchmark::State& state) {
    BenchCache& cache = miss_cache(state.range(0) != 0);
    Request req = Request::chat(kModel, make_text(kPromptBytes, 12345));
    std::string& text = req.messages[0].content;
    const std::uint64_t base = fresh_counter.fetch_add(std::uint64_t{1} << 40);
    std::uint64_t n = base;
    for (auto _ : state) {
        char* tail = text.data() + kPromptBytes - 16;
        for (int d = 0; d < 16; ++d)
            tail[d] = "0123456789abcdef"[(n >> (60 - 4 * d)) & 0xf];
        ++n;
        Result<Response> r = cache.invoke(req);
        if (!r || r->cache_hit)
            std::abort();
        benchmark::DoNotOptimize(r->text.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Backend_Instant(benchmark::State& state) {
    CallableBackend backend{InstantModel{}};
    const Request req = Request::chat(kModel, make_text(kPromptBytes, 1));
    for (auto _ : state) {
        Result<Response> r = backend.complete(req);
        benchmark::DoNotOptimize(r->text.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// Percentiles of single calls: each call is timed on its own into a preallocated vector.
template <class Call>
void latency_bench(benchmark::State& state, Call call) {
    using Clock = std::chrono::steady_clock;
    std::vector<std::int64_t> ns;
    ns.reserve(static_cast<std::size_t>(state.max_iterations));
    for (auto _ : state) {
        const auto t0 = Clock::now();
        call();
        const auto t1 = Clock::now();
        ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    }
    std::sort(ns.begin(), ns.end());
    auto pct = [&](double p) {
        return static_cast<double>(ns[std::min(ns.size() - 1, static_cast<std::size_t>(p * ns.size()))]);
    };
    state.counters["p50_ns"] = pct(0.50);
    state.counters["p90_ns"] = pct(0.90);
    state.counters["p99_ns"] = pct(0.99);
    state.counters["p999_ns"] = pct(0.999);
    state.counters["min_ns"] = static_cast<double>(ns.front());
}

void BM_Cache_HitLatency(benchmark::State& state) {
    Warm& w = warm();
    Walk walk(w, state);
    latency_bench(state, [&] {
        Result<Response> r = w.cache->invoke(w.requests[walk.next()]);
        check_hit(r);
        benchmark::DoNotOptimize(r->text.data());
    });
}

void BM_Cache_LookupLatency(benchmark::State& state) {
    Warm& w = warm();
    Walk walk(w, state);
    latency_bench(state, [&] {
        std::optional<Response> r = w.cache->lookup(w.requests[walk.next()]);
        if (!r)
            std::abort();
        benchmark::DoNotOptimize(r->text.data());
    });
}

void BM_Clock_now_pair(benchmark::State& state) {
    latency_bench(state, [] {});
}

} // namespace

BENCHMARK(BM_Cache_InvokeHit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Cache_InvokeHit_same)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Cache_LookupHit)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Cache_InvokeMiss)
    ->ArgName("single_flight")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_Backend_Instant);
BENCHMARK(BM_Cache_HitLatency)->Iterations(200'000);
BENCHMARK(BM_Cache_LookupLatency)->Iterations(200'000);
BENCHMARK(BM_Clock_now_pair)->Iterations(200'000);

BENCHMARK_MAIN();
