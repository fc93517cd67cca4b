// MemoryStore get (hit, miss) and put next to what it is compared with, in the same run.
//
//   Store/Hit          store.get(key) of a present key: shard lock, index lookup, LRU splice, copy
//                      of the 2 KB value out (std::optional<std::string>)
//   Store/Miss         store.get(key) of an absent key
//   Store/Put          store.put(key, value, ttl) overwriting a present key (steady state: the
//                      old node goes, a new node with copies of key and value comes)
//   Baseline/MutexMap  std::unordered_map<std::string, std::string> under ONE std::mutex:
//                      find + copy of the value out (what a naive cache does)
//   Baseline/StringCopy  copy-construct a std::string from a 2 KB value (malloc + memcpy): the
//                      floor of any get that returns an owned std::string
//   Baseline/Memcpy    bare memcpy (glibc) of 2 KB into a reused buffer, from the same value pool
//                      (and from one hot value, Memcpy_hot)
//
// Keys are real cache keys (Xxh3Key over 200-byte prompts, ~75 bytes); values are 2048 bytes.
// The argument is the key-set size: 1000 keys (~2.3 MB of entries: past L2, inside L3) and 10000
// (~23 MB: past this machine's 16 MB L3). Each thread walks its own pseudo-random order of the
// keys, from a different start. Threads(1) and Threads(2) with real time: with 2 threads the
// reported time per item is wall time / items of both threads, so perfect scaling halves it.
#include <llmcache/key/xxh3.hpp>
#include <llmcache/store/memory.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace llmcache;

constexpr std::size_t kValueBytes = 2048;
constexpr std::size_t kPromptBytes = 200;

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

struct Fixture {
    std::vector<std::string> keys;        // present in the store and the map
    std::vector<std::string> absent_keys; // never written
    std::vector<std::string> values;      // one 2 KB value per key
    std::vector<std::uint32_t> order;     // a random permutation of [0, n)
    MemoryStore store;
    std::mutex map_mutex;
    std::unordered_map<std::string, std::string> map;

    explicit Fixture(std::size_t n) {
        const Xxh3Key<> policy;
        keys.reserve(n);
        absent_keys.reserve(n);
        values.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            keys.push_back(policy.key_for(Request::chat("claude-sonnet-4-5", make_text(kPromptBytes, i))));
            absent_keys.push_back(
                policy.key_for(Request::chat("claude-sonnet-4-5", make_text(kPromptBytes, i + (1u << 30)))));
            values.push_back(make_text(kValueBytes, i + (1u << 31)));
        }
        order.resize(n);
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), std::mt19937_64{42});
        map.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            if (!store.put(keys[i], values[i], std::chrono::hours{1}))
                std::abort();
            map.emplace(keys[i], values[i]);
        }
    }
};

// One fixture per key-set size, built on first use (thread-safe static init).
Fixture& fixture(std::size_t n) {
    static std::mutex m;
    static std::map<std::size_t, std::unique_ptr<Fixture>> all;
    std::lock_guard lock(m);
    auto& f = all[n];
    if (!f)
        f = std::make_unique<Fixture>(n);
    return *f;
}

// Each thread walks the shared random order from its own start.
struct Walk {
    const std::vector<std::uint32_t>& order;
    std::size_t pos;
    Walk(const Fixture& f, const benchmark::State& state)
        : order(f.order), pos(static_cast<std::size_t>(state.thread_index()) * f.order.size() /
                              static_cast<std::size_t>(state.threads())) {}
    std::size_t next() {
        const std::size_t i = order[pos];
        if (++pos == order.size())
            pos = 0;
        return i;
    }
};

void BM_Store_Hit(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    for (auto _ : state) {
        StoreValue v = f.store.get(f.keys[walk.next()]);
        if (!v || !*v || (*v)->size() != kValueBytes)
            std::abort();
        benchmark::DoNotOptimize((*v)->data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Store_Miss(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    for (auto _ : state) {
        StoreValue v = f.store.get(f.absent_keys[walk.next()]);
        if (!v || *v)
            std::abort();
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Store_Put(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    const std::optional<std::chrono::milliseconds> ttl = std::chrono::hours{1};
    for (auto _ : state) {
        const std::size_t i = walk.next();
        if (!f.store.put(f.keys[i], f.values[i], ttl))
            std::abort();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Baseline_MutexMap_Hit(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    for (auto _ : state) {
        std::optional<std::string> out;
        {
            std::lock_guard lock(f.map_mutex);
            auto it = f.map.find(f.keys[walk.next()]);
            if (it != f.map.end())
                out.emplace(it->second);
        }
        if (!out || out->size() != kValueBytes)
            std::abort();
        benchmark::DoNotOptimize(out->data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Baseline_StringCopy(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    for (auto _ : state) {
        std::string out = f.values[walk.next()];
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Baseline_Memcpy(benchmark::State& state) {
    Fixture& f = fixture(static_cast<std::size_t>(state.range(0)));
    Walk walk(f, state);
    std::vector<char> buffer(kValueBytes);
    std::size_t n = kValueBytes;
    benchmark::DoNotOptimize(n); // a run-time size: glibc memcpy, not an inlined rep movsq
    for (auto _ : state) {
        std::memcpy(buffer.data(), f.values[walk.next()].data(), n);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Baseline_Memcpy_hot(benchmark::State& state) {
    const std::string value = make_text(kValueBytes, 7);
    std::vector<char> buffer(kValueBytes);
    std::size_t n = kValueBytes;
    benchmark::DoNotOptimize(n);
    for (auto _ : state) {
        std::memcpy(buffer.data(), value.data(), n);
        benchmark::DoNotOptimize(buffer.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void key_sets(benchmark::internal::Benchmark* b) {
    b->ArgName("keys")->Arg(1000)->Arg(10000)->Threads(1)->Threads(2)->UseRealTime();
}

} // namespace

BENCHMARK(BM_Store_Hit)->Apply(key_sets);
BENCHMARK(BM_Store_Miss)->Apply(key_sets);
BENCHMARK(BM_Store_Put)->Apply(key_sets);
BENCHMARK(BM_Baseline_MutexMap_Hit)->Apply(key_sets);
BENCHMARK(BM_Baseline_StringCopy)->Apply(key_sets);
BENCHMARK(BM_Baseline_Memcpy)->Apply(key_sets);
BENCHMARK(BM_Baseline_Memcpy_hot)->Threads(1)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();
