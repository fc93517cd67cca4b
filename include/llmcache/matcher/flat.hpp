// FlatMatcher: exact (brute-force) cosine search over L2-normalised float32 vectors.
//
// Cosine distance is 1 - dot(a, b), which equals 1 - cos(a, b) only when both vectors have unit
// length: the matcher does not normalise, the embedder does (HashingEmbedder's vectors are). The
// dot-product kernel (scalar, AVX2+FMA, AVX-512F or NEON) is chosen once, when the matcher is
// constructed, and kept as a function pointer member: no virtual call, no mutable global.
//
// Vectors are stored row-major in one contiguous buffer; remove() moves the last row into the hole.
// Thread safety: any number of concurrent readers (top_k, size, contains) share a std::shared_mutex;
// add and remove take it exclusively.
//
// Nothing here throws except std::bad_alloc from the standard containers: a vector of the wrong
// dimension is rejected by returning false or an empty result.
#pragma once

#include "../config.hpp"
#include "../detail/simd/dispatch.hpp"
#include "matcher.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

class FlatMatcher {
public:
    /// A matcher for vectors of `dimensions` floats. `isa` forces a kernel (for tests and
    /// benchmarks); a forced instruction set the CPU lacks falls back to scalar, which isa() and
    /// isa_name() then report.
    explicit FlatMatcher(std::size_t dimensions, Isa isa = Isa::automatic) noexcept
        : dimensions_(dimensions), isa_(detail::simd::resolve_isa(isa)),
          dot_(detail::simd::dot_kernel(isa_)) {}

    FlatMatcher(const FlatMatcher&) = delete;
    FlatMatcher& operator=(const FlatMatcher&) = delete;

    [[nodiscard]] std::size_t dimensions() const noexcept { return dimensions_; }
    /// The instruction set of the kernel in use (never Isa::automatic).
    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    [[nodiscard]] std::string_view isa_name() const noexcept { return llmcache::isa_name(isa_); }
    /// Whether `isa` can be forced on this machine (Isa::automatic and Isa::scalar always can).
    [[nodiscard]] static bool isa_available(Isa isa) noexcept { return detail::simd::isa_available(isa); }

    /// Adds `vector` under `id`, replacing the vector already stored under `id`. Returns false
    /// (and stores nothing) when the vector does not have dimensions() floats.
    bool add(std::uint64_t id, std::span<const float> vector) {
        if (vector.size() != dimensions_) {
            return false;
        }
        std::unique_lock lock(mutex_);
        if (const auto it = row_of_.find(id); it != row_of_.end()) {
            std::copy(vector.begin(), vector.end(),
                      data_.begin() + static_cast<std::ptrdiff_t>(it->second * dimensions_));
            return true;
        }
        data_.insert(data_.end(), vector.begin(), vector.end());
        ids_.push_back(id);
        row_of_.emplace(id, ids_.size() - 1);
        return true;
    }

    /// Removes the vector stored under `id`; false when there is none.
    bool remove(std::uint64_t id) {
        std::unique_lock lock(mutex_);
        const auto it = row_of_.find(id);
        if (it == row_of_.end()) {
            return false;
        }
        const std::size_t row = it->second;
        const std::size_t last = ids_.size() - 1;
        row_of_.erase(it);
        if (row != last) {
            const auto src = data_.begin() + static_cast<std::ptrdiff_t>(last * dimensions_);
            std::copy(src, src + static_cast<std::ptrdiff_t>(dimensions_),
                      data_.begin() + static_cast<std::ptrdiff_t>(row * dimensions_));
            ids_[row] = ids_[last];
            row_of_[ids_[row]] = row;
        }
        ids_.pop_back();
        data_.resize(last * dimensions_);
        return true;
    }

    [[nodiscard]] bool contains(std::uint64_t id) const {
        std::shared_lock lock(mutex_);
        return row_of_.contains(id);
    }

    [[nodiscard]] std::size_t size() const {
        std::shared_lock lock(mutex_);
        return ids_.size();
    }

    /// The (at most) `k` nearest stored vectors whose distance 1 - dot(query, v) is at most
    /// `max_distance`, nearest first (ties by ascending id). A query of the wrong dimension or k == 0
    /// gives an empty result. NaN distances never pass the threshold.
    [[nodiscard]] std::vector<MatchResult> top_k(std::span<const float> query, std::size_t k,
                                                 float max_distance = 2.0f) const {
        std::vector<MatchResult> best;
        if (query.size() != dimensions_ || k == 0) {
            return best;
        }
        const auto worse = [](const MatchResult& a, const MatchResult& b) {
            return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
        };
        std::shared_lock lock(mutex_);
        best.reserve(std::min(k, ids_.size()) + 1);
        const float* row = data_.data();
        for (std::size_t i = 0; i < ids_.size(); ++i, row += dimensions_) {
            const float distance = 1.0f - dot_(query.data(), row, dimensions_);
            if (!(distance <= max_distance)) {
                continue;
            }
            const MatchResult candidate{ids_[i], distance};
            if (best.size() < k) {
                best.push_back(candidate);
                std::push_heap(best.begin(), best.end(), worse);
            } else if (worse(candidate, best.front())) {
                std::pop_heap(best.begin(), best.end(), worse);
                best.back() = candidate;
                std::push_heap(best.begin(), best.end(), worse);
            }
        }
        lock.unlock();
        std::sort_heap(best.begin(), best.end(), worse);
        return best;
    }

    /// The dot product with the kernel in use (what top_k computes per row).
    [[nodiscard]] float dot(std::span<const float> a, std::span<const float> b) const noexcept {
        return a.size() == b.size() ? dot_(a.data(), b.data(), a.size()) : 0.0f;
    }

private:
    std::size_t dimensions_;
    Isa isa_;
    detail::simd::dot_fn dot_;
    mutable std::shared_mutex mutex_;
    std::vector<float> data_;
    std::vector<std::uint64_t> ids_;
    std::unordered_map<std::uint64_t, std::size_t> row_of_;
};

LLMCACHE_END_NAMESPACE
