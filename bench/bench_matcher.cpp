// Matcher top-1 query cost, each next to physical references measured in the same run.
//
// Data: unit vectors in 1000 clusters (a centre plus uniform noise, normalised); queries are stored
// vectors plus noise, normalised (a cache's repeat-question case), 64 of them in rotation. One data
// set per D holds 100k rows; the N = 1k and 10k sets are its first rows. Matchers are built once
// per (type, N, D, threads) and kept while the benchmarks of that configuration run.
//
//   Top1_<storage>/<isa>/N/D/threads    top_k(query, 1, 2.0f): float32 (scalar reference and the
//                                       best kernel), float16 and int8 (+ exact float32 re-rank)
//   PlainLoop/N/D                       a plain `float` dot loop over the float32 rows with a
//                                       running best (what a straightforward implementation does)
//   ReadBandwidth/MB/threads            the bandwidth reference: summing a float array with AVX2
//                                       loads (one pass per iteration)
//   Hnsw/N/D                            HnswMatcher (M 16, ef_construction 100, ef 64)
// Counters:
//   bound_ratio     time per query / (bytes the scan must read / read bandwidth measured in the same
//                   run on a buffer of the same size and the same number of threads). 1.0 = as fast
//                   as just reading the rows; for sets that fit in the caches the reference is cache
//                   bandwidth, not DRAM. Wall-clock time on both sides.
//   bound_ratio_cpu the same with the calling thread's CPU time on both sides (single-threaded scans
//                   only): on a shared machine it leaves out time the scheduler gave to others.
//   cpu_us          CPU time per query of the calling thread (single-threaded scans)
//   top1_agree      fraction of the 64 queries whose top-1 id equals the exact float32 top-1
//   speedup_vs_f32  float32 best-kernel single-thread time / this time, same N and D
//   speedup_vs_1t   this storage's single-thread time / this time (the multi-thread rows)
//   build_s         HNSW build time (seconds, single-threaded adds)
// Bytes/s are bytes of stored rows scanned per second (N * D * bytes per element).
#include <llmcache/llmcache.hpp>

#if __has_include(<hnswlib/hnswlib.h>)
#include <llmcache/matcher/hnsw.hpp>
#define LLMCACHE_BENCH_HNSW 1
#else
#define LLMCACHE_BENCH_HNSW 0
#endif

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using llmcache::FlatMatcher;
using llmcache::FlatOptions;
using llmcache::Float16Matcher;
using llmcache::Int8Matcher;
using llmcache::Isa;
using Clock = std::chrono::steady_clock;
template <class T>
using RowVector = std::vector<T, llmcache::detail::simd::RowAllocator<T>>; // huge pages, as the matchers

/// CPU time of the calling thread: on a shared machine it excludes the time other processes ran.
double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

constexpr std::size_t max_rows = 100000;
constexpr std::size_t query_count = 64;

struct XorShift {
    std::uint64_t state = 0x9E3779B97F4A7C15ULL;
    float next() { // uniform in [-1, 1)
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<float>(static_cast<double>(state >> 40) / static_cast<double>(1ULL << 23) - 1.0);
    }
};

void normalise(float* v, std::size_t d) {
    double norm = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
        norm += static_cast<double>(v[i]) * v[i];
    }
    const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (std::size_t i = 0; i < d; ++i) {
        v[i] *= scale;
    }
}

struct DataSet {
    std::size_t d = 0;
    RowVector<float> rows;                                        // max_rows x d
    std::vector<float> queries;                                   // query_count x d
    std::map<std::size_t, std::vector<std::uint64_t>> exact_top1; // by N

    const float* row(std::size_t i) const { return rows.data() + i * d; }
    std::span<const float> query(std::size_t i) const { return {queries.data() + (i % query_count) * d, d}; }
};

const DataSet& data_set(std::size_t d) {
    static std::map<std::size_t, std::unique_ptr<DataSet>> sets;
    auto& slot = sets[d];
    if (!slot) {
        auto set = std::make_unique<DataSet>();
        set->d = d;
        XorShift rng;
        std::vector<float> centres(1000 * d);
        for (float& x : centres) {
            x = rng.next();
        }
        for (std::size_t c = 0; c < 1000; ++c) {
            normalise(centres.data() + c * d, d);
        }
        set->rows.resize(max_rows * d);
        const float noise = 1.5f / std::sqrt(static_cast<float>(d)); // noise vector norm ~0.87
        for (std::size_t i = 0; i < max_rows; ++i) {
            float* v = set->rows.data() + i * d;
            const float* centre = centres.data() + (i % 1000) * d;
            for (std::size_t j = 0; j < d; ++j) {
                v[j] = centre[j] + noise * rng.next();
            }
            normalise(v, d);
        }
        set->queries.resize(query_count * d);
        for (std::size_t q = 0; q < query_count; ++q) {
            // Near a stored row among the first 1000 (so it is in every N's set).
            const float* base = set->row(q * 997 % 1000);
            float* v = set->queries.data() + q * d;
            for (std::size_t j = 0; j < d; ++j) {
                v[j] = base[j] + 0.5f * noise * rng.next();
            }
            normalise(v, d);
        }
        slot = std::move(set);
    }
    return *slot;
}

/// The exact float32 top-1 of every query over the first n rows (computed once).
const std::vector<std::uint64_t>& exact_top1(std::size_t n, std::size_t d) {
    auto& set = const_cast<DataSet&>(data_set(d));
    auto& ids = set.exact_top1[n];
    if (ids.empty()) {
        const FlatMatcher reference(d); // only for its dot kernel
        for (std::size_t q = 0; q < query_count; ++q) {
            float best = -3.0f;
            std::uint64_t best_id = 0;
            for (std::size_t i = 0; i < n; ++i) {
                const float dot = reference.dot(set.query(q), {set.row(i), d});
                if (dot > best) {
                    best = dot;
                    best_id = i;
                }
            }
            ids.push_back(best_id);
        }
    }
    return ids;
}

// ---- Read-bandwidth reference -----------------------------------------------------------------------

#if defined(__x86_64__)
__attribute__((target("avx2"))) float sum_avx2(const float* p, std::size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    for (std::size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    float s = 0.0f;
    for (const float x : lanes) {
        s += x;
    }
    return s;
}
#endif

float sum_floats(const float* p, std::size_t n) {
#if defined(__x86_64__)
    if (FlatMatcher::isa_available(Isa::avx2)) {
        return sum_avx2(p, n);
    }
#endif
    float a[8] = {};
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) {
            a[j] += p[i + static_cast<std::size_t>(j)];
        }
    }
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}

/// One pass over `threads` disjoint parts of `buffer`, each on its own thread (the caller takes one).
void read_pass(const RowVector<float>& buffer, std::size_t threads, float* sink) {
    const std::size_t part = buffer.size() / threads;
    std::vector<std::thread> workers;
    std::vector<float> sums(threads);
    for (std::size_t t = 1; t < threads; ++t) {
        workers.emplace_back([&, t] { sums[t] = sum_floats(buffer.data() + t * part, part); });
    }
    sums[0] = sum_floats(buffer.data(), part);
    for (auto& w : workers) {
        w.join();
    }
    *sink += sums[0];
}

struct ReadTime {
    double wall;
    double cpu; // the calling thread's CPU time (meaningful for threads == 1)
};

/// Time to read `bytes` bytes from a buffer of that size with `threads` threads: the best of
/// several rounds (each round enough passes for ~400 MB), measured once per (bytes, threads).
ReadTime read_seconds(std::size_t bytes, std::size_t threads) {
    static std::map<std::pair<std::size_t, std::size_t>, ReadTime> cache;
    const auto key = std::make_pair(bytes, threads);
    if (const auto it = cache.find(key); it != cache.end()) {
        return it->second;
    }
    RowVector<float> buffer(std::max<std::size_t>(bytes / sizeof(float), 32 * threads), 1.0f);
    float sink = 0.0f;
    read_pass(buffer, threads, &sink); // warm: pages touched, caches filled for small sets
    const std::size_t passes = std::clamp<std::size_t>((std::size_t{400} << 20) / bytes, 1, 4000);
    ReadTime best{1e30, 1e30};
    for (int round = 0; round < 5; ++round) {
        const auto start = Clock::now();
        const double cpu_start = thread_cpu_seconds();
        for (std::size_t p = 0; p < passes; ++p) {
            read_pass(buffer, threads, &sink);
        }
        const auto n = static_cast<double>(passes);
        best.wall = std::min(best.wall, std::chrono::duration<double>(Clock::now() - start).count() / n);
        best.cpu = std::min(best.cpu, (thread_cpu_seconds() - cpu_start) / n);
    }
    benchmark::DoNotOptimize(sink);
    cache[key] = best;
    return best;
}

void BM_ReadBandwidth(benchmark::State& state) {
    const auto bytes = static_cast<std::size_t>(state.range(0)) << 20;
    const auto threads = static_cast<std::size_t>(state.range(1));
    RowVector<float> buffer(bytes / sizeof(float), 1.0f);
    float sink = 0.0f;
    for (auto _ : state) {
        read_pass(buffer, threads, &sink);
    }
    benchmark::DoNotOptimize(sink);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

// ---- Matchers ---------------------------------------------------------------------------------------

struct Config {
    std::size_t n, d, threads;
    Isa isa;
    auto tie() const { return std::tie(n, d, threads, isa); }
    bool operator==(const Config& o) const { return tie() == o.tie(); }
};

/// The matcher of one configuration, built on first use and kept until another one is asked for.
template <class M>
M& cached_matcher(const Config& config) {
    static std::unique_ptr<M> matcher;
    static Config built{};
    if (!matcher || !(built == config)) {
        matcher.reset();
        FlatOptions options;
        options.isa = config.isa;
        options.threads = config.threads;
        matcher = std::make_unique<M>(config.d, options);
        const auto& set = data_set(config.d);
        for (std::size_t i = 0; i < config.n; ++i) {
            matcher->add(i, {set.row(i), config.d});
        }
        built = config;
    }
    return *matcher;
}

std::map<std::tuple<std::string, std::size_t, std::size_t>, double>& single_thread_seconds() {
    static std::map<std::tuple<std::string, std::size_t, std::size_t>, double> times;
    return times;
}

template <class M>
void BM_Top1(benchmark::State& state, Isa isa) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    const auto threads = static_cast<std::size_t>(state.range(2));
    if (!M::isa_available(isa)) {
        state.SkipWithError("kernel not available on this CPU");
        return;
    }
    const auto& set = data_set(d);
    const auto& expected = exact_top1(n, d);
    M& matcher = cached_matcher<M>({n, d, threads, isa});
    const std::size_t bytes = n * d * sizeof(typename M::storage_type::element);
    const ReadTime bound = read_seconds(bytes, matcher.scan_threads());

    std::size_t q = 0;
    const auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    for (auto _ : state) {
        auto result = matcher.top_k(set.query(q++), 1, 2.0f);
        benchmark::DoNotOptimize(result.data());
    }
    const auto iterations = static_cast<double>(state.iterations());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count() / iterations;
    const double cpu_seconds = (thread_cpu_seconds() - cpu_start) / iterations;

    std::size_t agree = 0;
    for (std::size_t i = 0; i < query_count; ++i) {
        const auto r = matcher.top_k(set.query(i), 1, 2.0f);
        agree += !r.empty() && r[0].id == expected[i] ? 1 : 0;
    }
    state.counters["bound_ratio"] = seconds / bound.wall;
    if (matcher.scan_threads() == 1) {
        state.counters["bound_ratio_cpu"] = cpu_seconds / bound.cpu;
        state.counters["cpu_us"] = cpu_seconds * 1e6;
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
    state.counters["top1_agree"] = static_cast<double>(agree) / query_count;
    state.counters["threads"] = static_cast<double>(matcher.scan_threads());
    const std::string storage(M::storage_name());
    auto& singles = single_thread_seconds();
    if (threads == 1 && isa == Isa::automatic) {
        singles[{storage, n, d}] = seconds;
    }
    if (const auto it = singles.find({"float32", n, d}); it != singles.end() && isa == Isa::automatic) {
        state.counters["speedup_vs_f32"] = it->second / seconds;
    }
    if (const auto it = singles.find({storage, n, d}); it != singles.end() && threads > 1) {
        state.counters["speedup_vs_1t"] = it->second / seconds;
    }
    state.SetLabel(storage + "/" + std::string(matcher.isa_name()));
}

void BM_PlainLoop(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    const auto& set = data_set(d);
    const ReadTime bound = read_seconds(n * d * sizeof(float), 1);
    std::size_t q = 0;
    const auto start = Clock::now();
    const double cpu_start = thread_cpu_seconds();
    for (auto _ : state) {
        const auto query = set.query(q++);
        float best = -3.0f;
        std::size_t best_row = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const float* row = set.row(i);
            float dot = 0.0f;
            for (std::size_t j = 0; j < d; ++j) {
                dot += query[j] * row[j];
            }
            if (dot > best) {
                best = dot;
                best_row = i;
            }
        }
        benchmark::DoNotOptimize(best_row);
    }
    const auto iterations = static_cast<double>(state.iterations());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count() / iterations;
    const double cpu_seconds = (thread_cpu_seconds() - cpu_start) / iterations;
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(n * d * 4));
    state.counters["bound_ratio"] = seconds / bound.wall;
    state.counters["bound_ratio_cpu"] = cpu_seconds / bound.cpu;
    state.counters["cpu_us"] = cpu_seconds * 1e6;
}

void BM_Top1_float32(benchmark::State& state, Isa isa) {
    BM_Top1<FlatMatcher>(state, isa);
}
void BM_Top1_float16(benchmark::State& state, Isa isa) {
    BM_Top1<Float16Matcher>(state, isa);
}
void BM_Top1_int8_rerank(benchmark::State& state, Isa isa) {
    BM_Top1<Int8Matcher>(state, isa);
}

#if LLMCACHE_BENCH_HNSW
void BM_Hnsw(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    const auto& set = data_set(d);
    const auto& expected = exact_top1(n, d);
    static std::unique_ptr<llmcache::HnswMatcher> matcher;
    static std::pair<std::size_t, std::size_t> built{};
    static double build_seconds = 0.0;
    if (!matcher || built != std::make_pair(n, d)) {
        matcher.reset();
        llmcache::HnswOptions options;
        options.ef_construction = 100;
        options.initial_capacity = n;
        matcher = std::make_unique<llmcache::HnswMatcher>(d, options);
        const auto start = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            matcher->add(i, {set.row(i), d});
        }
        build_seconds = std::chrono::duration<double>(Clock::now() - start).count();
        built = {n, d};
    }
    std::size_t q = 0;
    const auto start = Clock::now();
    for (auto _ : state) {
        auto result = matcher->top_k(set.query(q++), 1, 2.0f);
        benchmark::DoNotOptimize(result.data());
    }
    const double seconds =
        std::chrono::duration<double>(Clock::now() - start).count() / static_cast<double>(state.iterations());
    std::size_t agree = 0;
    for (std::size_t i = 0; i < query_count; ++i) {
        const auto r = matcher->top_k(set.query(i), 1, 2.0f);
        agree += !r.empty() && r[0].id == expected[i] ? 1 : 0;
    }
    state.counters["recall_at_1"] = static_cast<double>(agree) / query_count;
    state.counters["build_s"] = build_seconds;
    if (const auto it = single_thread_seconds().find({"float32", n, d});
        it != single_thread_seconds().end()) {
        state.counters["speedup_vs_f32"] = it->second / seconds;
    }
}
#endif

void sizes(benchmark::internal::Benchmark* b) {
    for (const std::int64_t d : {384, 1536}) {
        for (const std::int64_t n : {1000, 10000, 100000}) {
            b->Args({n, d, 1});
        }
    }
    b->ArgNames({"N", "D", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void large_two_threads(benchmark::internal::Benchmark* b) {
    for (const std::int64_t d : {384, 1536}) {
        b->Args({100000, d, 2});
    }
    b->ArgNames({"N", "D", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}

} // namespace

BENCHMARK(BM_ReadBandwidth)->Args({614, 1})->Args({614, 2})->ArgNames({"MB", "threads"})->UseRealTime();
BENCHMARK(BM_PlainLoop)->Apply([](benchmark::internal::Benchmark* b) {
    for (const std::int64_t d : {384, 1536}) {
        for (const std::int64_t n : {1000, 10000, 100000}) {
            b->Args({n, d});
        }
    }
    b->ArgNames({"N", "D"})->UseRealTime()->Unit(benchmark::kMicrosecond);
});
BENCHMARK_CAPTURE(BM_Top1_float32, scalar, Isa::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1_float32, best, Isa::automatic)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1_float16, best, Isa::automatic)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1_int8_rerank, best, Isa::automatic)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1_float32, best, Isa::automatic)->Apply(large_two_threads);
BENCHMARK_CAPTURE(BM_Top1_float16, best, Isa::automatic)->Apply(large_two_threads);
BENCHMARK_CAPTURE(BM_Top1_int8_rerank, best, Isa::automatic)->Apply(large_two_threads);
#if LLMCACHE_BENCH_HNSW
BENCHMARK(BM_Hnsw)
    ->Args({10000, 384})
    ->Args({100000, 384})
    ->Args({10000, 1536})
    ->ArgNames({"N", "D"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
#endif

BENCHMARK_MAIN();
