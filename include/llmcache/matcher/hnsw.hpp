// HnswMatcher: approximate cosine top-k on hnswlib's HNSW graph (Debian: libhnswlib-dev, header-only).
//
// Not part of the umbrella header, because it needs hnswlib: include <llmcache/matcher/hnsw.hpp>
// directly. Like the flat matchers it takes L2-normalised vectors and returns distance = 1 - dot,
// nearest first (ties by ascending id), only distance <= max_distance; it fits the `matcher`
// concept. Unlike them it is approximate: a query can miss its true nearest neighbour (recall@1 is
// measured in bench/bench_matcher.cpp and asserted >= 0.95 in tests/test_hnsw_matcher.cpp on
// clustered data). Returned distances are exact for the rows returned (the same float32 kernel as
// FlatMatcher computes them), so the threshold test itself is never approximate.
//
// How it uses hnswlib (0.6.2):
// - Distances come from this library's dispatched dot kernel (scalar / AVX2+FMA / AVX-512F / NEON,
//   chosen at construction), given to hnswlib as a space (HnswDotSpace): hnswlib's own
//   InnerProductSpace picks its SIMD path from compile-time macros (so a baseline x86-64 build gets
//   SSE at best) and assigns process-wide function pointers in its constructor.
// - NO_MANUAL_VECTORIZATION is defined before hnswlib is included (unless it was included already):
//   otherwise hnswlib 0.6.2 defines non-inline functions (cpuid, AVXCapable, ...) and globals in its
//   headers, and two translation units including it would not link.
// - remove() is markDelete (the graph keeps the node); add() of a removed id reuses its node. The
//   graph grows with resizeIndex (capacity doubles) under the exclusive lock.
// - Thread safety: a std::shared_mutex. top_k takes it shared (hnswlib's searchKnn is safe to run
//   concurrently), add/remove/set_ef exclusively.
// - hnswlib reports errors (out of memory, a corrupt graph) by throwing std::runtime_error; they
//   are caught here and become `false` or an empty result. hnswlib itself throws, so this header
//   needs exceptions enabled (the rest of llmcache does not).
//
// Memory: per vector 4 D bytes (the vector) + about 8 M (level-0 links) + id and label maps.
#pragma once

#include "../config.hpp"
#include "../detail/simd/dispatch.hpp"
#include "flat.hpp"

#ifndef NO_MANUAL_VECTORIZATION
#define NO_MANUAL_VECTORIZATION
#define LLMCACHE_HNSW_DEFINED_NO_MANUAL_VECTORIZATION
#endif
#include <hnswlib/hnswlib.h>
#ifdef LLMCACHE_HNSW_DEFINED_NO_MANUAL_VECTORIZATION
#undef NO_MANUAL_VECTORIZATION
#undef LLMCACHE_HNSW_DEFINED_NO_MANUAL_VECTORIZATION
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <span>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

/// Construction options of an HnswMatcher (hnswlib's parameters).
struct HnswOptions {
    /// Graph degree: links per node per layer (2 M on the bottom layer). Higher: better recall, more memory.
    std::size_t M = 16;
    /// Candidate list size while inserting. Higher: better graph, slower add().
    std::size_t ef_construction = 200;
    /// Candidate list size while searching (at least k is used). Higher: better recall, slower top_k.
    std::size_t ef = 64;
    /// Nodes allocated up front; the graph doubles when full.
    std::size_t initial_capacity = 1024;
    /// Seed of hnswlib's level generator (the graph is deterministic for a given insertion order).
    std::size_t seed = 100;
    /// The dot kernel's instruction set (as FlatOptions::isa).
    Isa isa = Isa::automatic;
};

namespace detail {

/// hnswlib's space interface over our dispatched dot kernel: distance = 1 - dot. hnswlib asks for
/// the function pointer once, at graph construction; the search path is a plain function-pointer
/// call. Its first parameter member must be the dimension: hnswlib reads it as a size_t.
class HnswDotSpace final : public hnswlib::SpaceInterface<float> {
public:
    HnswDotSpace(std::size_t dimensions, simd::dot_fn dot) noexcept : parameters_{dimensions, dot} {}

    std::size_t get_data_size() override { return parameters_.dimensions * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
    void* get_dist_func_param() override { return &parameters_; }

private:
    struct Parameters {
        std::size_t dimensions;
        simd::dot_fn dot;
    };

    static float distance(const void* a, const void* b, const void* parameters) {
        const auto* p = static_cast<const Parameters*>(parameters);
        return 1.0f - p->dot(static_cast<const float*>(a), static_cast<const float*>(b), p->dimensions);
    }

    Parameters parameters_;
};

} // namespace detail

class HnswMatcher {
public:
    /// A matcher for vectors of `dimensions` floats. If hnswlib cannot allocate the initial graph,
    /// the matcher is empty and every add() returns false.
    explicit HnswMatcher(std::size_t dimensions, const HnswOptions& options = {})
        : dimensions_(dimensions), options_(options), isa_(detail::simd::resolve_isa(options.isa)),
          space_(dimensions, detail::simd::dot_kernel(isa_)) {
        options_.isa = isa_;
        options_.initial_capacity = std::max<std::size_t>(1, options_.initial_capacity);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(
                &space_, options_.initial_capacity, options_.M, options_.ef_construction, options_.seed);
            index_->setEf(options_.ef);
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::exception&) {
            index_.reset();
        }
#endif
    }

    HnswMatcher(const HnswMatcher&) = delete;
    HnswMatcher& operator=(const HnswMatcher&) = delete;

    [[nodiscard]] std::size_t dimensions() const noexcept {
        return dimensions_;
    }
    [[nodiscard]] const HnswOptions& options() const noexcept {
        return options_;
    }
    [[nodiscard]] Isa isa() const noexcept {
        return isa_;
    }
    [[nodiscard]] std::string_view isa_name() const noexcept {
        return llmcache::isa_name(isa_);
    }

    /// Adds `vector` under `id`, replacing the vector already stored under `id` (hnswlib updates
    /// the node and its links). False on a wrong dimension or when hnswlib fails (out of memory).
    bool add(std::uint64_t id, std::span<const float> vector) {
        if (vector.size() != dimensions_) {
            return false;
        }
        std::unique_lock lock(mutex_);
        if (!index_) {
            return false;
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            if (!live_.contains(id) && !index_->label_lookup_.contains(id) &&
                index_->cur_element_count >= index_->max_elements_) {
                index_->resizeIndex(std::max<std::size_t>(index_->max_elements_ * 2, 1));
            }
            live_.insert(id);
            index_->addPoint(vector.data(), static_cast<hnswlib::labeltype>(id));
            return true;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::exception&) {
            // Not stored (or stored with a partial update): forget it unless hnswlib knows the label.
            if (!index_->label_lookup_.contains(id)) {
                live_.erase(id);
            }
            return false;
        }
#endif
    }

    /// Removes the vector stored under `id` (marks its node deleted); false when there is none.
    bool remove(std::uint64_t id) {
        std::unique_lock lock(mutex_);
        if (!index_ || !live_.contains(id)) {
            return false;
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            index_->markDelete(static_cast<hnswlib::labeltype>(id));
            live_.erase(id);
            return true;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::exception&) {
            return false;
        }
#endif
    }

    [[nodiscard]] bool contains(std::uint64_t id) const {
        std::shared_lock lock(mutex_);
        return live_.contains(id);
    }

    [[nodiscard]] std::size_t size() const {
        std::shared_lock lock(mutex_);
        return live_.size();
    }

    /// Graph nodes allocated (live, removed and free).
    [[nodiscard]] std::size_t capacity() const {
        std::shared_lock lock(mutex_);
        return index_ ? index_->max_elements_ : 0;
    }

    /// Changes the search candidate list size (recall against speed).
    void set_ef(std::size_t ef) {
        std::unique_lock lock(mutex_);
        options_.ef = ef;
        if (index_) {
            index_->setEf(ef);
        }
    }

    /// The (at most) `k` approximately nearest stored vectors whose distance 1 - dot(query, v) is at
    /// most `max_distance`, nearest first (ties by ascending id). A query of the wrong dimension or
    /// k == 0 gives an empty result, as does an hnswlib error.
    [[nodiscard]] std::vector<MatchResult> top_k(std::span<const float> query, std::size_t k,
                                                 float max_distance = 2.0f) const {
        std::vector<MatchResult> results;
        if (query.size() != dimensions_ || k == 0) {
            return results;
        }
        std::shared_lock lock(mutex_);
        if (!index_ || live_.empty()) {
            return results;
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            auto found = index_->searchKnn(query.data(), std::min(k, live_.size()));
            lock.unlock();
            results.reserve(found.size());
            while (!found.empty()) {
                const auto& [distance, label] = found.top();
                if (distance <= max_distance) {
                    results.push_back({static_cast<std::uint64_t>(label), distance});
                }
                found.pop();
            }
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::exception&) {
            return {};
        }
#endif
        std::sort(results.begin(), results.end(), [](const MatchResult& a, const MatchResult& b) {
            return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
        });
        return results;
    }

private:
    std::size_t dimensions_;
    HnswOptions options_;
    Isa isa_;
    detail::HnswDotSpace space_;
    mutable std::shared_mutex mutex_;
    std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
    std::unordered_set<std::uint64_t> live_;
};

LLMCACHE_END_NAMESPACE
