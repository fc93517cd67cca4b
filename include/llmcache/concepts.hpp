// The policy concepts: what a type needs to plug into llmcache::Cache.
//
// Each concept is built from small named parts, so a type that misses one member fails with the
// name of what it misses (e.g. "store_has_get<MyStore>" is not satisfied). The README carries the
// same requirements as tables; keep the two in step.
//
// Thread safety: a Cache calls its policies from every thread that calls the Cache, so every
// policy must be safe to call concurrently (the shipped ones are).
#pragma once

#include "call_record.hpp"
#include "config.hpp"
#include "error.hpp"
#include "request.hpp"
#include "response.hpp"
#include "store/types.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

// ---------------------------------------------------------------------------------------------
// KeyPolicy
//   k.key_for(req)         -> std::string   the entry's key; a pure function of the request
//   k.scope_prefix(scope)  -> std::string   every key of that scope starts with it
//   k.prefix()             -> std::string   every key this policy makes starts with it
// Keys must never contain raw prompt text, and different requests must get different keys.
template <class K>
concept key_has_key_for = requires(const K& k, const Request& r) {
    { k.key_for(r) } -> std::convertible_to<std::string>;
};
template <class K>
concept key_has_scope_prefix = requires(const K& k, std::string_view scope) {
    { k.scope_prefix(scope) } -> std::convertible_to<std::string>;
    { k.prefix() } -> std::convertible_to<std::string>;
};
template <class K>
concept key_policy = std::copy_constructible<K> && key_has_key_for<K> && key_has_scope_prefix<K>;

/// A key policy that can also name a request's semantic partition (everything but the last
/// user text); semantic similarity policies need it.
template <class K>
concept partitioning_key_policy = key_policy<K> && requires(const K& k, const Request& r) {
    { k.partition_for(r) } -> std::convertible_to<std::string>;
};

// ---------------------------------------------------------------------------------------------
// StorePolicy: byte strings under string keys, with TTLs. Every operation reports failure in its
// result and is noexcept: an unreachable Redis must never throw through the Cache.
//   s.get(key)                 -> StoreValue           value, empty optional on a miss, or error
//   s.put(key, value, ttl)     -> Result<void>         ttl: optional<milliseconds>, empty = never
//   s.erase(key)               -> Result<bool>         true when something was removed
//   s.clear_prefix(prefix)     -> Result<std::size_t>  removes every key starting with prefix
// Optional members (the Cache falls back when they are missing):
//   s.get_and_touch(key, ttl)  -> StoreValue           get and restart the TTL; needed by sliding TTLs
//   s.get_many(keys)           -> std::vector<StoreValue>   (fallback: get in a loop)
//   s.put_many(items)          -> Result<std::size_t>       (fallback: put in a loop)
//   S::max_ttl                 static constexpr milliseconds; the longest TTL the store accepts
//   S::in_process              static constexpr bool; true: never waits on I/O (no store budget)
template <class S>
concept store_has_get = requires(S& s, std::string_view key) {
    { s.get(key) }
    noexcept->std::same_as<StoreValue>;
};
template <class S>
concept store_has_put = requires(S& s, std::string_view key, std::string_view value,
                                 std::optional<std::chrono::milliseconds> ttl) {
    { s.put(key, value, ttl) }
    noexcept->std::same_as<Result<void>>;
};
template <class S>
concept store_has_erase = requires(S& s, std::string_view key) {
    { s.erase(key) }
    noexcept->std::same_as<Result<bool>>;
};
template <class S>
concept store_has_clear_prefix = requires(S& s, std::string_view prefix) {
    { s.clear_prefix(prefix) }
    noexcept->std::same_as<Result<std::size_t>>;
};
template <class S>
concept store_policy =
    store_has_get<S> && store_has_put<S> && store_has_erase<S> && store_has_clear_prefix<S>;

template <class S>
concept touching_store = store_policy<S> &&
    requires(S& s, std::string_view key, std::optional<std::chrono::milliseconds> ttl) {
    { s.get_and_touch(key, ttl) }
    noexcept->std::same_as<StoreValue>;
};
template <class S>
concept batch_get_store = store_policy<S> && requires(S& s, std::span<const std::string_view> keys) {
    { s.get_many(keys) }
    noexcept->std::same_as<std::vector<StoreValue>>;
};
template <class S>
concept batch_put_store = store_policy<S> && requires(S& s, std::span<const StoreItem> items) {
    { s.put_many(items) }
    noexcept->std::same_as<Result<std::size_t>>;
};

/// A store that can hand out short leases, for single-flight across processes
/// (CacheOptions::distributed_single_flight):
///   s.acquire_lease(key, ttl)   -> Result<std::optional<std::string>>  a token when acquired, empty
///                                  when someone else holds the lease (SET NX PX on Redis)
///   s.release_lease(key, token) -> Result<void>   releases only if the lease still holds `token`
/// A lease expires by itself after `ttl`, so a crashed holder blocks nobody for long.
template <class S>
concept leasing_store = store_policy<S> &&
    requires(S& s, std::string_view key, std::chrono::milliseconds ttl, std::string_view token) {
    { s.acquire_lease(key, ttl) }
    noexcept->std::same_as<Result<std::optional<std::string>>>;
    { s.release_lease(key, token) }
    noexcept->std::same_as<Result<void>>;
};

/// A store with ordered indexes (a Redis sorted set per index key), which semantic policies use to
/// find the vectors of a partition, and the ones added since they last looked, without scanning
/// the keyspace. An index key lives under the same prefixes as entries, so clear_prefix removes it.
///   s.index_add(index, member, score)          -> Result<void>   add or re-score (ZADD)
///   s.index_range(index, min_score, offset, count)
///                                              -> Result<std::vector<IndexMember>>  members with
///                                                 score >= min_score, by ascending score, then
///                                                 member; `count` at most (ZRANGEBYSCORE ...
///                                                 WITHSCORES LIMIT offset count)
///   s.index_remove(index, members)             -> Result<std::size_t>  how many were removed (ZREM)
///   s.index_trim(index, max_score)             -> Result<std::size_t>  removes every member with
///                                                 score <= max_score (ZREMRANGEBYSCORE -inf max)
/// A missing index is an empty one. All noexcept.
template <class S>
concept indexing_store = store_policy<S> &&
    requires(S& s, std::string_view index, std::string_view member, std::int64_t score, std::size_t n,
             std::span<const std::string_view> members) {
    { s.index_add(index, member, score) }
    noexcept->std::same_as<Result<void>>;
    { s.index_range(index, score, n, n) }
    noexcept->std::same_as<Result<std::vector<IndexMember>>>;
    { s.index_remove(index, members) }
    noexcept->std::same_as<Result<std::size_t>>;
    { s.index_trim(index, score) }
    noexcept->std::same_as<Result<std::size_t>>;
};

/// A store whose operations never wait on I/O (S::in_process is true), such as MemoryStore: the
/// Cache does not spend clock reads on CacheOptions::store_budget for it.
template <class S>
concept in_process_store = store_policy<S> && requires {
    requires S::in_process;
};

// ---------------------------------------------------------------------------------------------
// TtlPolicy
//   T::refresh_on_hit      static constexpr bool: a hit restarts the TTL (sliding expiry)
//   t.ttl_for(key)         -> optional<milliseconds>, noexcept; empty = never expires
//   t.longest()            -> optional<milliseconds>, noexcept; the most ttl_for can return
template <class T>
concept ttl_policy = std::copy_constructible<T> && requires(const T& t, std::string_view key) {
    { T::refresh_on_hit } -> std::convertible_to<bool>;
    { t.ttl_for(key) }
    noexcept->std::same_as<std::optional<std::chrono::milliseconds>>;
    { t.longest() }
    noexcept->std::same_as<std::optional<std::chrono::milliseconds>>;
};

// ---------------------------------------------------------------------------------------------
// SimilarityPolicy: how a miss on the exact key may still be answered by a similar entry.
//   P::enabled             static constexpr bool; false for ExactOnly, which the Cache then skips
// and, when enabled, for a store S and a partition key (KeyPolicy::partition_for):
//   p.find(req, partition, store)               -> Result<std::optional<SimilarMatch>>
//   p.remember(req, partition, key, store, ttl) -> Result<void>   index a freshly stored entry
//   p.forget(req, partition, key, store)        -> Result<void>   drop an entry from the index
/// A similar entry found by a semantic policy: its key, stored value and cosine distance.
struct SimilarMatch {
    std::string key;
    std::string value;
    float distance = 0.0f;
};
template <class P, class S>
concept similarity_policy = requires {
    { P::enabled } -> std::convertible_to<bool>;
}
&&(!P::enabled || requires(P & p, const Request& r, std::string_view partition, std::string_view key, S& s,
                           std::optional<std::chrono::milliseconds> ttl) {
    { p.find(r, partition, s) } -> std::same_as<Result<std::optional<SimilarMatch>>>;
    { p.remember(r, partition, key, s, ttl) } -> std::same_as<Result<void>>;
    { p.forget(r, partition, key, s) } -> std::same_as<Result<void>>;
});

// ---------------------------------------------------------------------------------------------
// ModelBackend
//   b.complete(req)        -> Result<Response>   one model call; errors as values
// Must be callable from several threads at once.
template <class B>
concept model_backend = requires(B& b, const Request& r) {
    { b.complete(r) } -> std::same_as<Result<Response>>;
};

namespace detail {
/// Stands for the callable a caller hands to stream(): it takes each piece of text.
struct TextDeltaArchetype {
    void operator()(std::string_view) const noexcept {}
};
} // namespace detail

/// A backend that can also stream (Cache::invoke_stream needs one):
///   b.stream(req, on_delta) -> Result<Response>   calls on_delta(std::string_view) with each
///                              piece of text as it arrives; returns the whole answer when the
///                              stream ended normally, or the error
/// The backend takes any callable (a template parameter); the concept checks one archetype.
template <class B>
concept streaming_backend = model_backend<B> &&
    requires(B& b, const Request& r, detail::TextDeltaArchetype& f) {
    { b.stream(r, f) } -> std::same_as<Result<Response>>;
};

// ---------------------------------------------------------------------------------------------
// Observer: told about every call, after it finished.
//   o.on_call(record)      noexcept; record is a CallRecord (see observer.hpp)
// Optional: O::enabled (static constexpr bool, default true): when false the Cache does not even
// build the record, so an unused observer costs nothing.
template <class O>
concept call_observer = requires(O& o, const CallRecord& rec) {
    { o.on_call(rec) }
    noexcept;
};

LLMCACHE_END_NAMESPACE
