// Options of a Cache (CacheOptions) and of one call (CallOptions).
#pragma once

#include "config.hpp"
#include "pricing.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

struct CacheOptions {
    /// Store answers that did not finish by themselves (max_tokens, pause_turn, context window
    /// exceeded, unknown stop reason). Off: a truncated answer cached would be served truncated
    /// for the whole TTL.
    bool cache_incomplete = false;
    /// Store refusals. Off: a refusal may be a transient filter decision.
    bool cache_refusals = false;
    /// Store answers with empty text and no tool calls. Off: usually a provider hiccup.
    bool cache_empty = false;
    /// Concurrent identical misses make one model call (the others wait for it).
    bool single_flight = true;
    /// How long a follower waits for the leader before calling the model itself.
    std::chrono::milliseconds single_flight_wait{std::chrono::seconds{60}};
    /// Single-flight across processes (opt-in; the store must be a leasing_store, e.g. Redis):
    /// the process that misses first takes a lease (SET NX PX) and calls the model; the others
    /// poll the store for its answer for up to lease_wait, and call the model themselves when the
    /// lease ends without an answer. Costs two extra store round trips per miss.
    bool distributed_single_flight = false;
    /// How long a lease lives if its holder never releases it (crash): keep it above your
    /// model's p99 latency, but short enough that a lost holder does not hold others up for long.
    std::chrono::milliseconds lease_ttl{std::chrono::seconds{15}};
    /// How long a process waits for another process's answer before calling the model itself.
    std::chrono::milliseconds lease_wait{std::chrono::seconds{15}};
    /// The most one call (invoke, lookup, store) may spend in store operations in total: lookup,
    /// the leader's re-check, leases, write. Time in the model call, and waiting for another
    /// caller's model call, is not counted. Once it is used up the remaining store operations are
    /// skipped (a read is a miss, a write is not made), counted in CacheStats::budget_exhausted;
    /// Redis stores also cut their own waits (pool, connect, reply) to what is left, so a slow
    /// server costs a call at most this much. 0 = unlimited.
    std::chrono::milliseconds store_budget{50};
    /// Encoded entries larger than this are not stored (counted as too_large); the answer is
    /// still returned.
    std::size_t max_entry_bytes = std::size_t{8} << 20;
    /// Prices for the dollars billed and saved; published_price knows the common models.
    std::optional<Price> (*price_of)(std::string_view model) noexcept = &published_price;
};

/// Per-call controls, as LiteLLM and Portkey users know them.
struct CallOptions {
    bool skip_read = false;     ///< do not look up; the fresh answer is still stored
    bool skip_write = false;    ///< do not store the answer
    bool force_refresh = false; ///< evict the current entry first, then call and store afresh
    std::optional<std::chrono::milliseconds> ttl{}; ///< TTL for this write instead of the policy's
};

LLMCACHE_END_NAMESPACE
