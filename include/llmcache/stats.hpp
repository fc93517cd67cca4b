// CacheStats: counters of one Cache, and the striped counters behind them.
#pragma once

#include "config.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>

LLMCACHE_BEGIN_NAMESPACE

/// A snapshot of a Cache's counters since construction (or the last reset_stats()).
struct CacheStats {
    std::uint64_t hits = 0;             ///< answered from the store (exact or semantic)
    std::uint64_t semantic_hits = 0;    ///< the subset of hits found by similarity
    std::uint64_t misses = 0;           ///< looked up, not found, model called
    std::uint64_t coalesced = 0;        ///< shared a concurrent identical call's answer
    std::uint64_t bypasses = 0;         ///< skip_read / force_refresh calls
    std::uint64_t backend_calls = 0;    ///< model calls made
    std::uint64_t backend_errors = 0;   ///< model calls that failed
    std::uint64_t writes = 0;           ///< answers stored
    std::uint64_t not_cacheable = 0;    ///< answers not stored because incomplete (max_tokens, ...)
    std::uint64_t write_failures = 0;   ///< store writes that failed (absorbed)
    std::uint64_t too_large = 0;        ///< answers over max_entry_bytes, not stored
    std::uint64_t store_errors = 0;     ///< store failures absorbed as misses or skipped writes
    std::uint64_t corrupt_entries = 0;  ///< stored values that failed to decode (erased, missed)
    std::uint64_t budget_exhausted = 0; ///< store operations skipped: the call's store_budget was used up
    std::uint64_t invalidations = 0;    ///< entries flagged and evicted through invalidate()
    std::uint64_t input_tokens_saved = 0;
    std::uint64_t output_tokens_saved = 0;
    std::uint64_t input_tokens_billed = 0;
    std::uint64_t output_tokens_billed = 0;
    double dollars_saved = 0; ///< at CacheOptions::price_of prices; unknown prices count as 0
    double dollars_billed = 0;
    std::chrono::nanoseconds hit_latency_total{};
    std::chrono::nanoseconds miss_latency_total{};

    /// hits / (hits + misses + coalesced); bypasses are not lookups. 0 when there were none.
    double hit_rate() const noexcept {
        const double lookups = static_cast<double>(hits + misses + coalesced);
        return lookups > 0 ? static_cast<double>(hits) / lookups : 0.0;
    }
};

namespace detail {

enum class Counter : std::size_t {
    hits,
    semantic_hits,
    misses,
    coalesced,
    bypasses,
    backend_calls,
    backend_errors,
    writes,
    not_cacheable,
    write_failures,
    too_large,
    store_errors,
    corrupt_entries,
    budget_exhausted,
    invalidations,
    input_tokens_saved,
    output_tokens_saved,
    input_tokens_billed,
    output_tokens_billed,
    nanodollars_saved,
    nanodollars_billed,
    hit_ns,
    miss_ns,
    count_
};

/// Counters split into per-thread-ish stripes on separate cache lines, so threads that hit the
/// cache at the same time do not fight over one line; reading sums the stripes.
class StripedCounters {
public:
    void add(Counter c, std::uint64_t n = 1) noexcept {
        stripes_[stripe()].v[static_cast<std::size_t>(c)].fetch_add(n, std::memory_order_relaxed);
    }
    std::uint64_t sum(Counter c) const noexcept {
        std::uint64_t total = 0;
        for (const Stripe& s : stripes_)
            total += s.v[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
        return total;
    }
    void reset() noexcept {
        for (Stripe& s : stripes_)
            for (auto& v : s.v)
                v.store(0, std::memory_order_relaxed);
    }

private:
    static constexpr std::size_t stripes = 8;
    struct alignas(64) Stripe {
        std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Counter::count_)> v{};
    };
    static std::size_t stripe() noexcept {
        // Threads take the stripes in turn, so up to `stripes` threads never share one. (A hash of
        // the thread id put two threads on one stripe one time in eight, and then every hit of
        // both fought over the same cache lines.)
        static std::atomic<std::size_t> next{0};
        thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % stripes;
        return index;
    }
    std::array<Stripe, stripes> stripes_{};
};

} // namespace detail
LLMCACHE_END_NAMESPACE
