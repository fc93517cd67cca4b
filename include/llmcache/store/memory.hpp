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
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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
            fresh.push_back(Node{std::string(key), std::string(value), expires, charge});
            std::lock_guard lock(shard.mutex);
            if (auto it = shard.index.find(key); it != shard.index.end()) {
                List::iterator node = it->second;
                shard.bytes = shard.bytes - node->charge + charge;
                node->value.swap(fresh.front().value);
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

    struct Node {
        std::string key;
        std::string value;
        Clock::time_point expires;
        std::size_t charge;
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
