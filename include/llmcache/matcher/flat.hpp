// Flat (brute-force) cosine matchers: every stored vector is compared with the query.
//
//   FlatMatcher     = BasicFlatMatcher<storage::Float32>   exact float32 scan
//   Float16Matcher  = BasicFlatMatcher<storage::Float16>   half the memory, float16-rounded distances
//   Int8Matcher     = BasicFlatMatcher<storage::Int8>      int8 scan + exact float32 re-ranking
// (storage.hpp has each one's memory and error bounds.)
//
// Cosine distance is 1 - dot(a, b), which equals 1 - cos(a, b) only when both vectors have unit
// length: the matcher does not normalise, the embedder does (HashingEmbedder's vectors are). The
// kernels (scalar, AVX2, AVX-512 or NEON for each storage) are chosen once, when the matcher is
// constructed, and kept as function pointer members: no virtual call, no mutable global.
//
// Int8Matcher: the int8 scan keeps the max(k * rerank_factor, rerank_min) rows nearest by
// approximate distance among those whose per-row error bound lets them be within max_distance; their
// exact float32 distances then decide the order and the threshold. So every distance returned and
// the threshold test are exactly FlatMatcher's; the result can differ only when a true neighbour's
// approximate rank is beyond the candidate pool (none in the tests on random and clustered data).
//
// Multi-threaded scans: with FlatOptions::threads > 1, a top_k over enough rows (one thread per full
// min_bytes_per_thread of stored rows) splits the rows into contiguous chunks, scans them on
// short-lived std::threads (the calling thread takes the first chunk) and merges the per-chunk
// top-k. Nothing runs between queries: no pool, no spinning. The merged result is the same as the
// single-threaded one (same per-row distances, same total order: distance, then id).
//
// Vectors are stored row-major in one contiguous buffer (on transparent huge pages once it reaches
// 2 MiB, see detail/simd/row_allocator.hpp); remove() moves the last row into the hole.
// Thread safety: any number of concurrent readers (top_k, size, contains) share a std::shared_mutex;
// add and remove take it exclusively.
//
// Nothing here throws except std::bad_alloc from the standard containers: a vector of the wrong
// dimension is rejected by returning false or an empty result. If a scan thread cannot be started,
// its chunk is scanned on the calling thread.
#pragma once

#include "../config.hpp"
#include "../detail/simd/dispatch.hpp"
#include "../detail/simd/row_allocator.hpp"
#include "matcher.hpp"
#include "storage.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

/// Construction options of a flat matcher. The defaults give FlatMatcher's original behaviour.
struct FlatOptions {
    /// The kernel's instruction set; a forced one the CPU lacks falls back to scalar.
    Isa isa = Isa::automatic;
    /// Threads one top_k may use, the calling thread included; 0 means hardware_concurrency().
    std::size_t threads = 1;
    /// One more thread per full this many bytes of stored rows (4 MiB: ~0.3 ms of scanning, well
    /// above the ~20-50 us of starting a thread); smaller scans stay on the calling thread.
    std::size_t min_bytes_per_thread = std::size_t{4} << 20;
    /// Int8 only: rows re-ranked with exact float32 dots = max(k * rerank_factor, rerank_min).
    std::size_t rerank_factor = 4;
    std::size_t rerank_min = 32;
};

namespace detail {

struct ScanCandidate {
    float distance;
    std::uint64_t id;
    std::size_t row;
};

/// Nearest first; ties by ascending id (the order every matcher returns).
inline bool nearer(const ScanCandidate& a, const ScanCandidate& b) noexcept {
    return a.distance < b.distance || (a.distance == b.distance && a.id < b.id);
}

/// The `capacity` nearest candidates offered so far (a max-heap on nearer()).
class NearestHeap {
public:
    explicit NearestHeap(std::size_t capacity) : capacity_(capacity) {}

    void reserve(std::size_t n) { items_.reserve(std::min(n, capacity_) + 1); }

    void offer(const ScanCandidate& c) {
        if (items_.size() < capacity_) {
            items_.push_back(c);
            std::push_heap(items_.begin(), items_.end(), nearer);
        } else if (capacity_ != 0 && nearer(c, items_.front())) {
            std::pop_heap(items_.begin(), items_.end(), nearer);
            items_.back() = c;
            std::push_heap(items_.begin(), items_.end(), nearer);
        }
    }

    std::vector<ScanCandidate>& items() noexcept { return items_; }

    /// Whether a candidate at `distance` would certainly be turned away (ties may still enter).
    bool rejects(float distance) const noexcept {
        return items_.size() == capacity_ && (capacity_ == 0 || distance > items_.front().distance);
    }

private:
    std::size_t capacity_;
    std::vector<ScanCandidate> items_;
};

inline std::size_t saturating_mul(std::size_t a, std::size_t b) noexcept {
    return b != 0 && a > std::numeric_limits<std::size_t>::max() / b ? std::numeric_limits<std::size_t>::max()
                                                                     : a * b;
}

/// round(x) clamped to [-limit, limit], independent of the floating-point rounding mode.
inline int quantise_component(float x, float limit) noexcept {
    const float rounded = x >= 0.0f ? std::floor(x + 0.5f) : -std::floor(-x + 0.5f);
    return static_cast<int>(std::clamp(rounded, -limit, limit));
}

} // namespace detail

template <flat_storage Storage>
class BasicFlatMatcher {
    static constexpr bool is_float32 = std::is_same_v<Storage, storage::Float32>;
    static constexpr bool is_float16 = std::is_same_v<Storage, storage::Float16>;
    static constexpr bool is_int8 = std::is_same_v<Storage, storage::Int8>;
    using element = typename Storage::element;
    using kernel_type = std::conditional_t<
        is_float32, detail::simd::dots_fn,
        std::conditional_t<is_float16, detail::simd::dots_f16_fn, detail::simd::dots_i8_fn>>;
    using kernel_result = std::conditional_t<is_int8, std::int32_t, float>;

public:
    using storage_type = Storage;

    /// A matcher for vectors of `dimensions` floats. `isa` forces a kernel (for tests and
    /// benchmarks); a forced instruction set the CPU lacks falls back to scalar, which isa() and
    /// isa_name() then report.
    explicit BasicFlatMatcher(std::size_t dimensions, Isa isa = Isa::automatic) noexcept
        : BasicFlatMatcher(dimensions, FlatOptions{.isa = isa}) {}

    BasicFlatMatcher(std::size_t dimensions, const FlatOptions& options) noexcept
        : dimensions_(dimensions), options_(options),
          isa_(detail::simd::resolve_isa_with(options.isa, &Storage::isa_available)),
          exact_dot_(detail::simd::dot_kernel(detail::simd::resolve_isa(isa_))),
          kernel_(select_kernel(isa_)) {
        options_.isa = isa_;
        if constexpr (is_float16) {
            encode_half_ = detail::simd::encode_half_kernel(isa_);
        }
    }

    BasicFlatMatcher(const BasicFlatMatcher&) = delete;
    BasicFlatMatcher& operator=(const BasicFlatMatcher&) = delete;

    [[nodiscard]] std::size_t dimensions() const noexcept { return dimensions_; }
    /// The options in use (options().isa is the resolved instruction set).
    [[nodiscard]] const FlatOptions& options() const noexcept { return options_; }
    /// The instruction set of the kernel in use (never Isa::automatic).
    [[nodiscard]] Isa isa() const noexcept { return isa_; }
    [[nodiscard]] std::string_view isa_name() const noexcept { return llmcache::isa_name(isa_); }
    /// "float32", "float16" or "int8".
    [[nodiscard]] static constexpr std::string_view storage_name() noexcept { return Storage::name; }
    /// Whether `isa` can be forced for this storage on this machine (automatic and scalar always can).
    [[nodiscard]] static bool isa_available(Isa isa) noexcept {
        return isa == Isa::automatic || Storage::isa_available(isa);
    }
    /// Bytes stored per vector (rows, per-row scale and the float32 copy; not ids and the id map).
    [[nodiscard]] std::size_t bytes_per_vector() const noexcept {
        if constexpr (is_int8) {
            return dimensions_ * (sizeof(std::int8_t) + sizeof(float)) + sizeof(float) +
                   2 * sizeof(std::int32_t);
        } else {
            return dimensions_ * sizeof(element);
        }
    }

    /// Adds `vector` under `id`, replacing the vector already stored under `id`. Returns false
    /// (and stores nothing) when the vector does not have dimensions() floats (or, for Int8, when
    /// dimensions() exceeds storage::Int8::max_dimensions).
    bool add(std::uint64_t id, std::span<const float> vector) {
        if (vector.size() != dimensions_) {
            return false;
        }
        if constexpr (is_int8) {
            if (dimensions_ > storage::Int8::max_dimensions) {
                return false;
            }
        }
        std::unique_lock lock(mutex_);
        std::size_t row = ids_.size();
        if (const auto it = row_of_.find(id); it != row_of_.end()) {
            row = it->second;
        } else {
            data_.resize(data_.size() + dimensions_);
            if constexpr (is_int8) {
                exact_.resize(exact_.size() + dimensions_);
                scales_.push_back(0.0f);
                l1_.push_back(0);
                sums_.push_back(0);
            }
            ids_.push_back(id);
            row_of_.emplace(id, row);
        }
        store_row(row, vector.data());
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
            move_row(data_, last, row);
            if constexpr (is_int8) {
                move_row(exact_, last, row);
                scales_[row] = scales_[last];
                l1_[row] = l1_[last];
                sums_[row] = sums_[last];
            }
            ids_[row] = ids_[last];
            row_of_[ids_[row]] = row;
        }
        ids_.pop_back();
        data_.resize(last * dimensions_);
        if constexpr (is_int8) {
            exact_.resize(last * dimensions_);
            scales_.pop_back();
            l1_.pop_back();
            sums_.pop_back();
        }
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
    /// gives an empty result. NaN distances never pass the threshold; for Int8 a query with a
    /// non-finite component matches nothing.
    [[nodiscard]] std::vector<MatchResult> top_k(std::span<const float> query, std::size_t k,
                                                 float max_distance = 2.0f) const {
        std::vector<MatchResult> results;
        if (query.size() != dimensions_ || k == 0) {
            return results;
        }
        PreparedQuery prepared;
        if (!prepare(query, prepared)) {
            return results;
        }
        std::size_t pool = k;
        if constexpr (is_int8) {
            pool = std::max(detail::saturating_mul(k, options_.rerank_factor),
                            std::max<std::size_t>(options_.rerank_min, k));
        }

        std::shared_lock lock(mutex_);
        std::vector<detail::ScanCandidate> candidates = scan_all(prepared, pool, max_distance);
        if constexpr (is_int8) {
            // Exact float32 distances decide the order and the threshold.
            std::size_t kept = 0;
            for (const auto& c : candidates) {
                const float distance =
                    1.0f - exact_dot_(query.data(), exact_.data() + c.row * dimensions_, dimensions_);
                if (distance <= max_distance) {
                    candidates[kept++] = {distance, c.id, c.row};
                }
            }
            candidates.resize(kept);
        }
        lock.unlock();

        std::sort(candidates.begin(), candidates.end(), detail::nearer);
        const std::size_t n = std::min(k, candidates.size());
        results.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            results.push_back({candidates[i].id, candidates[i].distance});
        }
        return results;
    }

    /// Int8 only: the int8 scan alone, without re-ranking: the (at most) `k` rows nearest by
    /// approximate distance whose error bound lets them be within `max_distance`, with their
    /// approximate distances. For measuring the quantisation error and the scan's own speed.
    [[nodiscard]] std::vector<MatchResult>
    approximate_top_k(std::span<const float> query, std::size_t k,
                      float max_distance = 2.0f) const requires is_int8 {
        std::vector<MatchResult> results;
        PreparedQuery prepared;
        if (query.size() != dimensions_ || k == 0 || !prepare(query, prepared)) {
            return results;
        }
        std::shared_lock lock(mutex_);
        std::vector<detail::ScanCandidate> candidates = scan_all(prepared, k, max_distance);
        lock.unlock();
        std::sort(candidates.begin(), candidates.end(), detail::nearer);
        for (const auto& c : candidates) {
            results.push_back({c.id, c.distance});
        }
        return results;
    }

    /// How many threads a top_k would scan with now (1 below the size threshold or with threads == 1).
    [[nodiscard]] std::size_t scan_threads() const {
        std::shared_lock lock(mutex_);
        return scan_threads(ids_.size());
    }

    /// The float32 dot product with the kernel of this matcher's instruction set (what FlatMatcher's
    /// top_k computes per row, and what Int8Matcher re-ranks with).
    [[nodiscard]] float dot(std::span<const float> a, std::span<const float> b) const noexcept {
        return a.size() == b.size() ? exact_dot_(a.data(), b.data(), a.size()) : 0.0f;
    }

private:
    struct PreparedQuery {
        const float* values = nullptr;
        std::vector<std::uint8_t> quantised; // Int8 only: round(query_i / scale) + 64, in [1, 127]
        float scale = 0.0f;                  // Int8: query ~ scale * (quantised - 64)
        float l1 = 0.0f;                     // Int8: sum |query_i|
    };

    static kernel_type select_kernel(Isa isa) noexcept {
        if constexpr (is_float32) {
            return detail::simd::dots_kernel(isa);
        } else if constexpr (is_float16) {
            return detail::simd::dots_f16_kernel(isa);
        } else {
            return detail::simd::dots_i8_kernel(isa);
        }
    }

    template <class Rows>
    void move_row(Rows& rows, std::size_t from, std::size_t to) const {
        const auto src = rows.begin() + static_cast<std::ptrdiff_t>(from * dimensions_);
        std::copy(src, src + static_cast<std::ptrdiff_t>(dimensions_),
                  rows.begin() + static_cast<std::ptrdiff_t>(to * dimensions_));
    }

    void store_row(std::size_t row, const float* in) {
        element* out = data_.data() + row * dimensions_;
        if constexpr (is_float32) {
            std::copy(in, in + dimensions_, out);
        } else if constexpr (is_float16) {
            encode_half_(in, out, dimensions_);
        } else {
            std::copy(in, in + dimensions_, exact_.data() + row * dimensions_);
            float max_abs = 0.0f;
            bool finite = true;
            for (std::size_t i = 0; i < dimensions_; ++i) {
                finite = finite && std::isfinite(in[i]);
                max_abs = std::max(max_abs, std::fabs(in[i]));
            }
            std::int32_t l1 = 0;
            std::int32_t sum = 0;
            if (!finite || max_abs == 0.0f) {
                std::fill(out, out + dimensions_, std::int8_t{0});
                // A NaN scale makes every approximate distance NaN: the row never matches, as its
                // float32 distance (NaN) would not either. A zero row has distance exactly 1.
                scales_[row] = finite ? 0.0f : std::numeric_limits<float>::quiet_NaN();
            } else {
                const float inverse = 127.0f / max_abs;
                for (std::size_t i = 0; i < dimensions_; ++i) {
                    out[i] = static_cast<std::int8_t>(detail::quantise_component(in[i] * inverse, 127.0f));
                    l1 += out[i] < 0 ? -out[i] : out[i];
                    sum += out[i];
                }
                scales_[row] = max_abs / 127.0f;
            }
            l1_[row] = l1;
            sums_[row] = sum;
        }
    }

    bool prepare(std::span<const float> query, PreparedQuery& prepared) const {
        prepared.values = query.data();
        if constexpr (is_int8) {
            float max_abs = 0.0f;
            double l1 = 0.0;
            for (const float x : query) {
                if (!std::isfinite(x)) {
                    return false;
                }
                max_abs = std::max(max_abs, std::fabs(x));
                l1 += std::fabs(static_cast<double>(x));
            }
            // 7 bits + sign, stored offset by 64 as unsigned bytes: the u8 x s8 kernels (vpmaddubsw)
            // cannot saturate with bytes <= 127. The scan subtracts 64 * sum(row) again.
            prepared.quantised.assign(dimensions_, std::uint8_t{64});
            prepared.l1 = static_cast<float>(l1);
            if (max_abs > 0.0f) {
                const float inverse = 63.0f / max_abs;
                for (std::size_t i = 0; i < dimensions_; ++i) {
                    prepared.quantised[i] =
                        static_cast<std::uint8_t>(detail::quantise_component(query[i] * inverse, 63.0f) + 64);
                }
                prepared.scale = max_abs / 63.0f;
            }
        }
        return true;
    }

    /// Rows [begin, end) into `heap`, in blocks so the kernel runs over consecutive rows.
    void scan_range(const PreparedQuery& q, std::size_t begin, std::size_t end, float max_distance,
                    detail::NearestHeap& heap) const {
        constexpr std::size_t block = 64;
        kernel_result dots[block];
        for (std::size_t first = begin; first < end; first += block) {
            const std::size_t count = std::min(block, end - first);
            const element* rows = data_.data() + first * dimensions_;
            if constexpr (is_int8) {
                kernel_(q.quantised.data(), rows, count, dimensions_, dots);
            } else {
                kernel_(q.values, rows, count, dimensions_, dots);
            }
            for (std::size_t j = 0; j < count; ++j) {
                const std::size_t row = first + j;
                float distance;
                if constexpr (is_int8) {
                    const float row_scale = scales_[row];
                    const std::int32_t dot = dots[j] - 64 * sums_[row]; // undo the query's offset
                    distance = 1.0f - q.scale * row_scale * static_cast<float>(dot);
                    if (heap.rejects(distance)) {
                        continue; // the common case once the pool is full: skip the bound
                    }
                    // Keep the row if its exact distance could be within max_distance.
                    const float error = row_scale * (q.l1 + q.scale * static_cast<float>(l1_[row])) * 0.5f;
                    if (!(distance - (error * 1.001f + 1e-5f) <= max_distance)) {
                        continue;
                    }
                } else {
                    distance = 1.0f - dots[j];
                    if (!(distance <= max_distance)) {
                        continue;
                    }
                }
                heap.offer({distance, ids_[row], row});
            }
        }
    }

    std::size_t scan_threads(std::size_t rows) const noexcept {
        std::size_t wanted = options_.threads;
        if (wanted == 0) {
            wanted = std::max(1u, std::thread::hardware_concurrency());
        }
        const std::size_t bytes = rows * dimensions_ * sizeof(element);
        const std::size_t by_size = bytes / std::max<std::size_t>(1, options_.min_bytes_per_thread);
        return std::max<std::size_t>(1, std::min({wanted, by_size, rows}));
    }

    std::vector<detail::ScanCandidate> scan_all(const PreparedQuery& q, std::size_t pool,
                                                float max_distance) const {
        const std::size_t rows = ids_.size();
        const std::size_t threads = scan_threads(rows);
        std::vector<detail::NearestHeap> heaps(threads, detail::NearestHeap(pool));
        const auto chunk_begin = [&](std::size_t t) {
            return rows / threads * t + std::min(t, rows % threads);
        };
        const auto scan_chunk = [&](std::size_t t) {
            heaps[t].reserve(pool);
            scan_range(q, chunk_begin(t), chunk_begin(t + 1), max_distance, heaps[t]);
        };
        if (threads == 1) {
            scan_chunk(0);
            return std::move(heaps[0].items());
        }
        std::vector<std::thread> workers;
        workers.reserve(threads - 1);
        std::vector<std::size_t> inline_chunks;
        for (std::size_t t = 1; t < threads; ++t) {
#if LLMCACHE_HAS_EXCEPTIONS
            try {
                workers.emplace_back(scan_chunk, t);
            } catch (const std::system_error&) {
                inline_chunks.push_back(t); // could not start a thread: scan it here
            }
#else
            workers.emplace_back(scan_chunk, t);
#endif
        }
        scan_chunk(0);
        for (const std::size_t t : inline_chunks) {
            scan_chunk(t);
        }
        for (auto& worker : workers) {
            worker.join();
        }
        std::vector<detail::ScanCandidate> merged = std::move(heaps[0].items());
        for (std::size_t t = 1; t < threads; ++t) {
            merged.insert(merged.end(), heaps[t].items().begin(), heaps[t].items().end());
        }
        if (merged.size() > pool) {
            std::nth_element(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(pool), merged.end(),
                             detail::nearer);
            merged.resize(pool);
        }
        return merged;
    }

    std::size_t dimensions_;
    FlatOptions options_;
    Isa isa_;
    detail::simd::dot_fn exact_dot_;
    kernel_type kernel_;
    detail::simd::encode_half_fn encode_half_ = nullptr; // Float16 only
    mutable std::shared_mutex mutex_;
    std::vector<element, detail::simd::RowAllocator<element>> data_;
    std::vector<std::uint64_t> ids_;
    std::unordered_map<std::uint64_t, std::size_t> row_of_;
    std::vector<float, detail::simd::RowAllocator<float>>
        exact_;                      // Int8 only: the float32 vectors, for re-ranking
    std::vector<float> scales_;      // Int8 only: row ~ scale * int8 row
    std::vector<std::int32_t> sums_; // Int8 only: sum of the int8 row
    std::vector<std::int32_t> l1_;   // Int8 only: sum |int8 row_i|, for the error bound
};

/// Exact float32 scan (the reference).
using FlatMatcher = BasicFlatMatcher<storage::Float32>;
/// float16 rows: half the memory; distances of the float16-rounded vectors.
using Float16Matcher = BasicFlatMatcher<storage::Float16>;
/// int8 scan plus exact float32 re-ranking: distances and threshold as FlatMatcher's.
using Int8Matcher = BasicFlatMatcher<storage::Int8>;

LLMCACHE_END_NAMESPACE
