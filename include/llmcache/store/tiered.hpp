// TieredStore<L1, L2>: a small fast store (L1, usually MemoryStore) in front of a shared one (L2,
// usually RedisStore), as one store policy.
//
// Requires: nothing beyond its two stores.
//
//     using Tiered = llmcache::TieredStore<llmcache::MemoryStore, llmcache::RedisStore>;
//     Tiered store(llmcache::MemoryStore({.max_entries = 10'000}), llmcache::RedisStore(),
//                  {.l1_ttl = std::chrono::seconds(30)});
//
// L2 is the truth, shared by every process; L1 is this process's short-lived copy of it:
//   get            L1; on a miss (or an L1 error) L2, and an L2 hit is copied into L1 for l1_ttl.
//                  An L1 hit never touches L2.
//   put            L2, then L1 with min(ttl, l1_ttl). Returns L2's result. When L2 fails the value
//                  still goes into L1 (so this process keeps answering while L2 is down), unless
//                  L2 refused the arguments (invalid_argument); the Cache still sees the failure.
//                  When L1 cannot take the value, any older L1 copy of the key is erased.
//   erase          L2, then L1 (always, even when L2 failed). Returns L2's error, else whether
//                  either removed something.
//   clear_prefix   L2, then L1 (always). Returns L2's result (L1 holds copies, not extra keys).
//   get_and_touch  (when L2 is a touching_store) L1 as for get (an L1 copy is never touched, so it
//                  never outlives l1_ttl); on an L1 miss, L2's get_and_touch restarts the shared
//                  TTL and the value is copied into L1 for min(ttl, l1_ttl).
//   get_many / put_many   (when L2 has them) the same rules, batched on L2.
//   index_* / acquire_lease / release_lease   (when L2 has them) L2 only: indexes and leases are
//                  shared state, and a per-process copy of them would only go stale.
//   in_process     true only when both stores are in-process; max_ttl the smaller of the two
//                  stores' max_ttl (absent when neither declares one).
//
// Staleness bound: an L1 copy lives at most l1_ttl, so another process's write, erase or
// invalidate reaches this process within l1_ttl (a plain GET does not say how long an L2 entry
// has left, so a copy taken from L2 can also outlive the entry's own TTL by up to l1_ttl). This
// holds for copies raced in by concurrent gets too. With a sliding TTL the shared TTL is restarted
// on L1 misses only, i.e. at least once per l1_ttl while the key is hot here: an entry can expire
// in L2 up to l1_ttl early. Keep l1_ttl well below your TTLs; l1_ttl is the price of each hit
// that L1 spares L2.
//
// Copies share their stores when the stores are handles (MemoryStore and RedisStore are).
// No virtual dispatch: each optional member exists only when the stores allow it, so TieredStore
// satisfies exactly the optional concepts (touching_store, batch_get_store, ...) its parts do.
#pragma once

#include "../concepts.hpp"
#include "../config.hpp"
#include "../error.hpp"
#include "types.hpp"

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct TieredStoreOptions {
    /// The longest an L1 copy lives: the staleness bound (see above). Must be positive.
    std::chrono::milliseconds l1_ttl{60'000};
};

namespace detail {
template <class S>
concept store_with_max_ttl = requires {
    { S::max_ttl } -> std::convertible_to<std::chrono::milliseconds>;
};

/// max_ttl of a TieredStore: present when either store has one, the smaller when both do.
template <class L1, class L2>
struct TieredMaxTtl {};
template <class L1, class L2>
requires(store_with_max_ttl<L1> || store_with_max_ttl<L2>) struct TieredMaxTtl<L1, L2> {
    static constexpr std::chrono::milliseconds max_ttl = [] {
        if constexpr (store_with_max_ttl<L1> && store_with_max_ttl<L2>)
            return std::min<std::chrono::milliseconds>(L1::max_ttl, L2::max_ttl);
        else if constexpr (store_with_max_ttl<L1>)
            return std::chrono::milliseconds(L1::max_ttl);
        else
            return std::chrono::milliseconds(L2::max_ttl);
    }();
};
} // namespace detail

template <store_policy L1, store_policy L2>
class TieredStore : public detail::TieredMaxTtl<L1, L2> {
public:
    static constexpr bool in_process = in_process_store<L1> && in_process_store<L2>;

    /// Throws std::invalid_argument when l1_ttl is not positive or exceeds L1's max_ttl.
    TieredStore(L1 l1, L2 l2, TieredStoreOptions opts = {})
        : l1_(std::move(l1)), l2_(std::move(l2)), opts_(opts) {
        if (opts_.l1_ttl.count() <= 0)
            detail::invalid_argument("llmcache: TieredStoreOptions::l1_ttl must be positive");
        if constexpr (detail::store_with_max_ttl<L1>)
            if (opts_.l1_ttl > std::chrono::milliseconds(L1::max_ttl))
                detail::invalid_argument(
                    "llmcache: TieredStoreOptions::l1_ttl exceeds the L1 store's max_ttl");
    }
    TieredStore() requires std::default_initializable<L1> && std::default_initializable<L2>
        : TieredStore(L1{}, L2{}) {}

    // --- StorePolicy ------------------------------------------------------------------------
    StoreValue get(std::string_view key) noexcept {
        if (auto hit = l1_hit(key))
            return std::move(*hit);
        StoreValue v = l2_.get(key);
        if (v && *v)
            fill(key, **v, std::nullopt);
        return v;
    }

    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        Result<void> r = l2_.put(key, value, ttl);
        if (r || r.error().code != ErrorCode::invalid_argument)
            fill(key, value, ttl);
        return r;
    }

    Result<bool> erase(std::string_view key) noexcept {
        Result<bool> r = l2_.erase(key);
        Result<bool> local = l1_.erase(key);
        if (!r)
            return r;
        return *r || (local && *local);
    }

    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept {
        Result<std::size_t> r = l2_.clear_prefix(prefix);
        (void)l1_.clear_prefix(prefix);
        return r;
    }

    // --- optional members, present when L2 has them -----------------------------------------
    /// L1 first (not touched); on a miss L2's get_and_touch, copied into L1 for min(ttl, l1_ttl).
    StoreValue
    get_and_touch(std::string_view key,
                  std::optional<std::chrono::milliseconds> ttl) noexcept requires touching_store<L2> {
        if (auto hit = l1_hit(key))
            return std::move(*hit);
        StoreValue v = l2_.get_and_touch(key, ttl);
        if (v && *v)
            fill(key, **v, ttl);
        return v;
    }

    /// L1 for every key, then one L2 batch for the misses; L2 hits are copied into L1.
    std::vector<StoreValue>
    get_many(std::span<const std::string_view> keys) noexcept requires batch_get_store<L2> {
        std::vector<StoreValue> out;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            out.reserve(keys.size());
            std::vector<std::string_view> missed;
            std::vector<std::size_t> where;
            for (std::size_t i = 0; i < keys.size(); ++i) {
                if (auto hit = l1_hit(keys[i])) {
                    out.push_back(std::move(*hit));
                } else {
                    out.emplace_back(std::optional<std::string>{});
                    missed.push_back(keys[i]);
                    where.push_back(i);
                }
            }
            if (missed.empty())
                return out;
            std::vector<StoreValue> fetched = l2_.get_many(std::span<const std::string_view>(missed));
            if (fetched.size() != missed.size()) {
                out.clear(); // L2 could not answer per key: a miss for everyone, as L2 itself does
                return out;
            }
            for (std::size_t j = 0; j < missed.size(); ++j) {
                if (fetched[j] && *fetched[j])
                    fill(missed[j], **fetched[j], std::nullopt);
                out[where[j]] = std::move(fetched[j]);
            }
            return out;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            out.clear();
            return out;
        }
#endif
    }

    /// One L2 batch, then each item into L1 (by the rules of put). Returns L2's result.
    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept requires batch_put_store<L2> {
        Result<std::size_t> r = l2_.put_many(items);
        if (r || r.error().code != ErrorCode::invalid_argument)
            for (const StoreItem& item : items)
                fill(item.key, item.value, item.ttl);
        return r;
    }

    Result<void> index_add(std::string_view index, std::string_view member,
                           std::int64_t score) noexcept requires indexing_store<L2> {
        return l2_.index_add(index, member, score);
    }
    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min_score,
                                                 std::size_t offset,
                                                 std::size_t count) noexcept requires indexing_store<L2> {
        return l2_.index_range(index, min_score, offset, count);
    }
    Result<std::size_t>
    index_remove(std::string_view index,
                 std::span<const std::string_view> members) noexcept requires indexing_store<L2> {
        return l2_.index_remove(index, members);
    }
    Result<std::size_t> index_trim(std::string_view index,
                                   std::int64_t max_score) noexcept requires indexing_store<L2> {
        return l2_.index_trim(index, max_score);
    }

    Result<std::optional<std::string>>
    acquire_lease(std::string_view key, std::chrono::milliseconds ttl) noexcept requires leasing_store<L2> {
        return l2_.acquire_lease(key, ttl);
    }
    Result<void> release_lease(std::string_view key,
                               std::string_view token) noexcept requires leasing_store<L2> {
        return l2_.release_lease(key, token);
    }

    // --- access -----------------------------------------------------------------------------
    L1& l1() noexcept {
        return l1_;
    }
    L2& l2() noexcept {
        return l2_;
    }
    const L1& l1() const noexcept {
        return l1_;
    }
    const L2& l2() const noexcept {
        return l2_;
    }
    const TieredStoreOptions& options() const noexcept {
        return opts_;
    }

private:
    /// The L1 value of `key`, if L1 has it. An L1 error is a miss: L2 answers instead.
    std::optional<StoreValue> l1_hit(std::string_view key) noexcept {
        StoreValue v = l1_.get(key);
        if (v && *v)
            return std::optional<StoreValue>(std::move(v));
        return std::nullopt;
    }

    /// Copies a value into L1 for min(ttl, l1_ttl). When L1 refuses it, an older copy must not
    /// stay behind, so the key is erased from L1.
    void fill(std::string_view key, std::string_view value,
              std::optional<std::chrono::milliseconds> ttl) noexcept {
        const std::chrono::milliseconds life = ttl ? std::min(*ttl, opts_.l1_ttl) : opts_.l1_ttl;
        if (life.count() <= 0 || !l1_.put(key, value, life))
            (void)l1_.erase(key);
    }

    L1 l1_;
    L2 l2_;
    TieredStoreOptions opts_;
};

LLMCACHE_END_NAMESPACE
