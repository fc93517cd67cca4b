// MemoryStore: an in-process store, bounded by entries and bytes, LRU-evicting, honouring TTLs.
//
// Requires: nothing beyond the standard library (and xxhash.h, header only).
// The store is split into shards, each with its own lock and its own LRU list, so there is no
// global lock: threads hitting different keys rarely meet. Bounds are per shard (the limits
// divided by the shard count), which makes LRU order exact within a shard and approximate across
// shards; small stores get one shard and exact LRU.
//
// Copies of a MemoryStore are handles to the same storage (like a connection pool to a Redis),
// so a Cache and the code that inspects or warms it can share one store.
//
// Ordered indexes (indexing_store, what Semantic uses to list a partition's vectors) behave like
// Redis sorted sets: an index is a key of its own, in the same shards and LRU lists as values,
// so it counts against max_entries and max_bytes (its key, per_entry_overhead, and each member
// plus per_index_member_overhead), can be evicted as a whole, and is removed by erase and
// clear_prefix like any key. It never expires. get() on an index key, or index_add() on a value
// key, is an error (Redis's WRONGTYPE); put() over an index key replaces it, as SET does.
#pragma once

#include "../config.hpp"
#include "../detail/transparent_hash.hpp"
#include "../detail/xxhash.hpp"
#include "../ttl.hpp"
#include "types.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct MemoryStoreOptions {
    std::size_t max_entries = 100'000;
    std::size_t max_bytes = std::size_t{256} << 20; ///< keys + values + a per-entry overhead
    std::size_t shards = 0;                         ///< 0: chosen from max_entries (power of two ≤ 64)
};

/// Counters of one MemoryStore (a consistent snapshot per shard, summed).
struct MemoryStoreStats {
    std::size_t entries = 0;
    std::size_t bytes = 0;
    std::size_t evictions = 0;   ///< removed to respect the bounds
    std::size_t expirations = 0; ///< removed because their TTL had passed
};

class MemoryStore {
public:
    static constexpr std::chrono::milliseconds max_ttl = ttl::limit;
    /// Operations never wait on I/O, so the Cache's per-call store budget does not apply.
    static constexpr bool in_process = true;
    /// Bytes charged per entry on top of key and value (list node, map slot, bookkeeping).
    static constexpr std::size_t per_entry_overhead = 96;
    /// Bytes charged per index member on top of its own bytes (two tree nodes).
    static constexpr std::size_t per_index_member_overhead = 96;

    MemoryStore() : MemoryStore(MemoryStoreOptions{}) {}
    explicit MemoryStore(MemoryStoreOptions opts) : state_(std::make_shared<State>(opts)) {}

    StoreValue get(std::string_view key) noexcept { return lookup(key, false, std::nullopt); }

    /// A get that also restarts the entry's TTL (used by sliding TTL policies).
    StoreValue get_and_touch(std::string_view key, std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (!valid_ttl(ttl))
            return fail(ErrorCode::invalid_argument, "memory store: TTL must be in (0, max_ttl]");
        return lookup(key, true, ttl);
    }

    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (!valid_ttl(ttl))
            return fail(ErrorCode::invalid_argument, "memory store: TTL must be in (0, max_ttl]");
        const std::size_t charge = key.size() + value.size() + per_entry_overhead;
        Shard& shard = shard_for(key);
        if (charge > shard.max_bytes)
            return fail(ErrorCode::too_large, "value exceeds the memory store's per-shard byte limit");
        const auto expires = expiry(ttl);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            // Everything that can throw happens before the shard changes, so running out of
            // memory leaves the list, the index and the byte count as they were.
            List fresh;
            fresh.push_back(Node{std::string(key), std::string(value), expires, charge, {}});
            std::lock_guard lock(shard.mutex);
            if (auto it = shard.index.find(key); it != shard.index.end()) {
                List::iterator node = it->second;
                shard.bytes = shard.bytes - node->charge + charge;
                node->value.swap(fresh.front().value);
                node->sorted.reset(); // SET over a sorted set replaces it
                node->expires = expires;
                node->charge = charge;
                shard.lru.splice(shard.lru.begin(), shard.lru, node);
            } else {
                shard.index.emplace(std::string_view(fresh.front().key), fresh.begin());
                shard.lru.splice(shard.lru.begin(), fresh); // iterators stay valid across splice
                shard.bytes += charge;
            }
            shard.evict_to_bounds();
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::store_rejected, "memory store out of memory");
        }
#endif
        return {};
    }

    Result<bool> erase(std::string_view key) noexcept {
        Shard& shard = shard_for(key);
        std::lock_guard lock(shard.mutex);
        auto it = shard.index.find(key);
        if (it == shard.index.end())
            return false;
        shard.remove(it->second);
        return true;
    }

    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept {
        std::size_t removed = 0;
        for (Shard& shard : shards()) {
            std::lock_guard lock(shard.mutex);
            for (auto it = shard.lru.begin(); it != shard.lru.end();) {
                auto next = std::next(it);
                if (std::string_view(it->key).starts_with(prefix)) {
                    shard.remove(it);
                    ++removed;
                }
                it = next;
            }
        }
        return removed;
    }

    std::vector<StoreValue> get_many(std::span<const std::string_view> keys) noexcept {
        std::vector<StoreValue> out;
        out.reserve(keys.size());
        for (std::string_view k : keys)
            out.push_back(get(k));
        return out;
    }

    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept {
        std::size_t written = 0;
        for (const StoreItem& item : items) {
            auto r = put(item.key, item.value, item.ttl);
            if (!r)
                return unexpected<Error>(r.error());
            ++written;
        }
        return written;
    }

    /// Leases for single-flight between caches that share this store (see leasing_store).
    Result<std::optional<std::string>> acquire_lease(std::string_view key,
                                                     std::chrono::milliseconds ttl) noexcept {
        if (!valid_ttl(ttl)) {
            return fail(ErrorCode::invalid_argument, "memory store: lease TTL must be in (0, max_ttl]");
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            Leases& leases = state_->leases;
            const auto now = Clock::now();
            std::lock_guard lock(leases.mutex);
            auto it = leases.held.find(key);
            if (it != leases.held.end() && it->second.expires > now)
                return std::optional<std::string>{};
            std::string token = std::to_string(++leases.issued);
            if (it == leases.held.end())
                leases.held.emplace(std::string(key), Lease{token, now + ttl});
            else
                it->second = Lease{token, now + ttl};
            return std::optional<std::string>(std::move(token));
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::store_rejected, "memory store out of memory");
        }
#endif
    }

    Result<void> release_lease(std::string_view key, std::string_view token) noexcept {
        Leases& leases = state_->leases;
        std::lock_guard lock(leases.mutex);
        auto it = leases.held.find(key);
        if (it != leases.held.end() && it->second.token == token)
            leases.held.erase(it);
        return {};
    }

    // ---- ordered indexes (indexing_store) ------------------------------------------------------

    /// Adds `member` with `score` to the index, or moves it to `score` (ZADD). Creates the index.
    Result<void> index_add(std::string_view index, std::string_view member, std::int64_t score) noexcept {
        Shard& shard = shard_for(index);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::lock_guard lock(shard.mutex);
            List::iterator node;
            if (auto it = shard.index.find(index); it != shard.index.end() && !expired(it->second)) {
                node = it->second;
                if (!node->sorted)
                    return wrong_type();
            } else {
                if (it != shard.index.end()) { // an expired value
                    shard.remove(it->second);
                    ++shard.expirations;
                }
                const std::size_t charge = index.size() + per_entry_overhead;
                if (charge + member.size() + per_index_member_overhead > shard.max_bytes)
                    return fail(ErrorCode::too_large,
                                "index member exceeds the memory store's per-shard byte limit");
                List fresh;
                fresh.push_back(Node{std::string(index),
                                     {},
                                     Clock::time_point::max(),
                                     charge,
                                     std::make_unique<SortedIndex>()});
                shard.index.emplace(std::string_view(fresh.front().key), fresh.begin());
                shard.lru.splice(shard.lru.begin(), fresh);
                shard.bytes += charge;
                node = shard.lru.begin();
            }
            SortedIndex& sorted = *node->sorted;
            if (auto at = sorted.score_of.find(member); at != sorted.score_of.end()) {
                if (at->second != score) {
                    auto moved = sorted.order.extract({at->second, std::string_view(at->first)});
                    moved.value().first = score;
                    sorted.order.insert(std::move(moved));
                    at->second = score;
                }
            } else {
                const std::size_t added = member.size() + per_index_member_overhead;
                if (node->charge + added > shard.max_bytes) {
                    if (sorted.score_of.empty())
                        shard.remove(node);
                    return fail(ErrorCode::too_large,
                                "index exceeds the memory store's per-shard byte limit");
                }
                auto [inserted, ok] = sorted.score_of.emplace(std::string(member), score);
                (void)ok;
                insert_order(sorted, inserted);
                node->charge += added;
                shard.bytes += added;
            }
            shard.lru.splice(shard.lru.begin(), shard.lru, node);
            shard.evict_to_bounds();
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::store_rejected, "memory store out of memory");
        }
#endif
        return {};
    }

    /// Members with score >= min_score, by ascending score then member, skipping `offset` and
    /// returning at most `count` (ZRANGEBYSCORE index min +inf WITHSCORES LIMIT offset count).
    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min_score,
                                                 std::size_t offset, std::size_t count) noexcept {
        Shard& shard = shard_for(index);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::vector<IndexMember> out;
            std::lock_guard lock(shard.mutex);
            auto node = live_index(shard, index);
            if (!node)
                return unexpected<Error>(node.error());
            if (*node == shard.lru.end())
                return out;
            const SortedIndex& sorted = *(*node)->sorted;
            auto it = sorted.order.lower_bound({min_score, std::string_view{}});
            for (std::size_t skipped = 0; skipped < offset && it != sorted.order.end(); ++skipped)
                ++it;
            for (; it != sorted.order.end() && out.size() < count; ++it)
                out.push_back(IndexMember{std::string(it->second), it->first});
            shard.lru.splice(shard.lru.begin(), shard.lru, *node);
            return out;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::store_rejected, "memory store out of memory");
        }
#endif
    }

    /// Removes `members` from the index (ZREM); an emptied index is removed. Returns how many were
    /// members.
    Result<std::size_t> index_remove(std::string_view index,
                                     std::span<const std::string_view> members) noexcept {
        Shard& shard = shard_for(index);
        std::lock_guard lock(shard.mutex);
        auto node = live_index(shard, index);
        if (!node)
            return unexpected<Error>(node.error());
        if (*node == shard.lru.end())
            return std::size_t{0};
        SortedIndex& sorted = *(*node)->sorted;
        std::size_t removed = 0;
        for (std::string_view member : members) {
            auto at = sorted.score_of.find(member);
            if (at == sorted.score_of.end())
                continue;
            remove_member(shard, **node, at);
            ++removed;
        }
        if (sorted.score_of.empty())
            shard.remove(*node);
        return removed;
    }

    /// Removes every member with score <= max_score (ZREMRANGEBYSCORE index -inf max_score); an
    /// emptied index is removed. Returns how many went.
    Result<std::size_t> index_trim(std::string_view index, std::int64_t max_score) noexcept {
        Shard& shard = shard_for(index);
        std::lock_guard lock(shard.mutex);
        auto node = live_index(shard, index);
        if (!node)
            return unexpected<Error>(node.error());
        if (*node == shard.lru.end())
            return std::size_t{0};
        SortedIndex& sorted = *(*node)->sorted;
        std::size_t removed = 0;
        while (!sorted.order.empty() && sorted.order.begin()->first <= max_score) {
            remove_member(shard, **node, sorted.score_of.find(sorted.order.begin()->second));
            ++removed;
        }
        if (sorted.score_of.empty())
            shard.remove(*node);
        return removed;
    }

    /// Removes every expired entry now (expired entries are otherwise removed when touched or
    /// evicted). Returns how many went.
    std::size_t purge_expired() noexcept {
        std::size_t removed = 0;
        const auto now = Clock::now();
        for (Shard& shard : shards()) {
            std::lock_guard lock(shard.mutex);
            for (auto it = shard.lru.begin(); it != shard.lru.end();) {
                auto next = std::next(it);
                if (it->expires <= now) {
                    shard.remove(it);
                    ++shard.expirations;
                    ++removed;
                }
                it = next;
            }
        }
        return removed;
    }

    /// Milliseconds until `key` expires: empty when absent (or already expired) or without TTL
    /// (for tests and tools).
    std::optional<std::chrono::milliseconds> ttl_remaining(std::string_view key) const noexcept {
        Shard& shard = const_cast<MemoryStore*>(this)->shard_for(key);
        std::lock_guard lock(shard.mutex);
        auto it = shard.index.find(key);
        const auto now = Clock::now();
        if (it == shard.index.end() || it->second->expires == Clock::time_point::max() ||
            it->second->expires <= now)
            return std::nullopt;
        return std::chrono::duration_cast<std::chrono::milliseconds>(it->second->expires - now);
    }

    MemoryStoreStats stats() const noexcept {
        MemoryStoreStats s;
        for (Shard& shard : const_cast<MemoryStore*>(this)->shards()) {
            std::lock_guard lock(shard.mutex);
            s.entries += shard.lru.size();
            s.bytes += shard.bytes;
            s.evictions += shard.evictions;
            s.expirations += shard.expirations;
        }
        return s;
    }

    std::size_t shard_count() const noexcept {
        return state_->shards.size();
    }

private:
    using Clock = std::chrono::steady_clock;

    /// A sorted set: members by (score, member), and each member's score.
    struct SortedIndex {
        std::map<std::string, std::int64_t, std::less<>> score_of;
        std::set<std::pair<std::int64_t, std::string_view>> order; // views into score_of's keys
    };

    struct Node {
        std::string key;
        std::string value;
        Clock::time_point expires;
        std::size_t charge;
        std::unique_ptr<SortedIndex> sorted; // set for an index key (value is then empty)
    };
    using List = std::list<Node>;

    struct alignas(64) Shard {
        std::mutex mutex;
        List lru; // front = most recently used
        std::unordered_map<std::string_view, List::iterator> index;
        std::size_t bytes = 0;
        std::size_t max_entries = 0;
        std::size_t max_bytes = 0;
        std::size_t evictions = 0;
        std::size_t expirations = 0;

        void remove(List::iterator it) {
            bytes -= it->charge;
            index.erase(std::string_view(it->key));
            lru.erase(it);
        }
        void evict_to_bounds() {
            while (!lru.empty() && (lru.size() > max_entries || bytes > max_bytes)) {
                remove(std::prev(lru.end()));
                ++evictions;
            }
        }
    };

    struct Lease {
        std::string token;
        Clock::time_point expires;
    };
    struct Leases {
        std::mutex mutex;
        std::unordered_map<std::string, Lease, detail::TransparentHash, std::equal_to<>> held;
        std::uint64_t issued = 0;
    };

    struct State {
        explicit State(const MemoryStoreOptions& opts) : shards(shard_count_for(opts)) {
            const std::size_t n = shards.size();
            for (Shard& s : shards) {
                s.max_entries = std::max<std::size_t>(1, opts.max_entries / n);
                s.max_bytes = std::max<std::size_t>(1, opts.max_bytes / n);
            }
            mask = n - 1;
        }
        static std::size_t shard_count_for(const MemoryStoreOptions& opts) {
            std::size_t want = opts.shards;
            if (want == 0) // at least 256 entries per shard, at most 64 shards
                want = std::clamp<std::size_t>(opts.max_entries / 256, 1, 64);
            std::size_t n = 1;
            while (n * 2 <= want && n < 1024)
                n *= 2;
            return n;
        }
        std::vector<Shard> shards;
        std::size_t mask = 0;
        Leases leases;
    };

    Shard& shard_for(std::string_view key) noexcept {
        return state_->shards[XXH3_64bits(key.data(), key.size()) & state_->mask];
    }
    std::vector<Shard>& shards() noexcept {
        return state_->shards;
    }

    static unexpected<Error> wrong_type() {
        return fail(ErrorCode::store_rejected,
                    "memory store: WRONGTYPE operation against a key holding the wrong kind of value");
    }

    static bool expired(List::iterator node) noexcept {
        return node->expires <= Clock::now();
    }

    /// The index node under `key` (lru.end() when there is none), or WRONGTYPE for a value key.
    /// Called with the shard locked.
    static Result<List::iterator> live_index(Shard& shard, std::string_view key) noexcept {
        auto it = shard.index.find(key);
        if (it == shard.index.end())
            return shard.lru.end();
        if (expired(it->second)) {
            shard.remove(it->second);
            ++shard.expirations;
            return shard.lru.end();
        }
        if (!it->second->sorted)
            return wrong_type();
        return it->second;
    }

    /// Puts a member just added to score_of into the order; undoes the add if that throws.
    static void insert_order(SortedIndex& sorted,
                             std::map<std::string, std::int64_t, std::less<>>::iterator at) {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            sorted.order.emplace(at->second, std::string_view(at->first));
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            sorted.score_of.erase(at);
            throw;
        }
#endif
    }

    static void remove_member(Shard& shard, Node& node,
                              std::map<std::string, std::int64_t, std::less<>>::iterator at) noexcept {
        const std::size_t released = at->first.size() + per_index_member_overhead;
        node.sorted->order.erase({at->second, std::string_view(at->first)});
        node.sorted->score_of.erase(at);
        node.charge -= released;
        shard.bytes -= released;
    }

    static bool valid_ttl(std::optional<std::chrono::milliseconds> ttl) noexcept {
        return !ttl || (*ttl > std::chrono::milliseconds::zero() && *ttl <= max_ttl);
    }

    static Clock::time_point expiry(std::optional<std::chrono::milliseconds> ttl) noexcept {
        return ttl ? Clock::now() + *ttl : Clock::time_point::max();
    }

    StoreValue lookup(std::string_view key, bool touch,
                      std::optional<std::chrono::milliseconds> ttl) noexcept {
        Shard& shard = shard_for(key);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::lock_guard lock(shard.mutex);
            auto it = shard.index.find(key);
            if (it == shard.index.end())
                return std::optional<std::string>{};
            List::iterator node = it->second;
            const auto now = Clock::now();
            if (node->expires <= now) {
                shard.remove(node);
                ++shard.expirations;
                return std::optional<std::string>{};
            }
            if (node->sorted)
                return wrong_type();
            if (touch)
                node->expires = ttl ? now + *ttl : Clock::time_point::max();
            shard.lru.splice(shard.lru.begin(), shard.lru, node);
            return std::optional<std::string>(node->value);
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::store_rejected, "memory store out of memory");
        }
#endif
    }

    std::shared_ptr<State> state_;
};

LLMCACHE_END_NAMESPACE
