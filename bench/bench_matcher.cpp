// FlatMatcher top-1 scan cost, next to the memory-bandwidth bound measured in the same run.
//
// For N in {1k, 10k, 100k} stored float32 vectors of D in {384, 1536} dimensions:
//   Top1/<isa>/N/D     FlatMatcher::top_k(query, 1, 2.0f) with the kernel forced to <isa>
//                      (scalar reference, then every SIMD kernel this CPU has)
//   Memcpy/N/D         std::memcpy of the same N*D*4 bytes (one read + one write stream, so it
//                      moves twice the bytes a scan reads: an upper-bound reference for bandwidth,
//                      not an exact one)
// Bytes/s are the bytes of stored vectors scanned per second (N * D * 4 per query), so Top1 and
// Memcpy rows of the same N/D compare directly. At 100k x 1536 the data (614 MB) is far beyond
// the caches; at 1k x 384 (1.5 MB) it fits in L2/L3 and the kernels, not memory, are the limit.
// Each matcher is built inside its benchmark and freed after it, so peak memory is one data set.
#include <llmcache/llmcache.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using llmcache::FlatMatcher;
using llmcache::Isa;

// Cheap deterministic values in [-1, 1): the scan cost does not depend on them.
struct XorShift {
    std::uint64_t state = 0x9E3779B97F4A7C15ULL;
    float next() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return static_cast<float>(static_cast<double>(state >> 40) / static_cast<double>(1ULL << 23) - 1.0);
    }
};

void BM_Top1(benchmark::State& state, Isa isa) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const auto d = static_cast<std::size_t>(state.range(1));
    if (!FlatMatcher::isa_available(isa)) {
        state.SkipWithError("kernel not available on this CPU");
        return;
    }
    FlatMatcher matcher(d, isa);
    XorShift rng;
    std::vector<float> v(d);
    for (std::size_t id = 0; id < n; ++id) {
        for (float& x : v) {
            x = rng.next();
        }
        matcher.add(id, v);
    }
    std::vector<float> query(d);
    for (float& x : query) {
        x = rng.next();
    }
    for (auto _ : state) {
        auto result = matcher.top_k(query, 1, 1e30f);
        benchmark::DoNotOptimize(result.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                            static_cast<std::int64_t>(n * d * sizeof(float)));
    state.SetLabel(std::string(matcher.isa_name()));
}

void BM_Memcpy(benchmark::State& state) {
    const auto bytes = static_cast<std::size_t>(state.range(0) * state.range(1)) * sizeof(float);
    std::vector<char> src(bytes, 1);
    std::vector<char> dst(bytes, 0);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), bytes);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

void sizes(benchmark::internal::Benchmark* b) {
    for (const std::int64_t n : {1000, 10000, 100000}) {
        for (const std::int64_t d : {384, 1536}) {
            b->Args({n, d});
        }
    }
    b->ArgNames({"N", "D"});
}

} // namespace

BENCHMARK_CAPTURE(BM_Top1, scalar, Isa::scalar)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1, avx2, Isa::avx2)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1, avx512, Isa::avx512)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1, neon, Isa::neon)->Apply(sizes);
BENCHMARK_CAPTURE(BM_Top1, best, Isa::automatic)->Apply(sizes);
BENCHMARK(BM_Memcpy)->Apply(sizes);

BENCHMARK_MAIN();
