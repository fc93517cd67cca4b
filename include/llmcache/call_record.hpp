// CallRecord: what an observer learns about one finished Cache call.
#pragma once

#include "config.hpp"
#include "error.hpp"
#include "response.hpp"

#include <chrono>
#include <optional>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

/// How a call was answered.
enum class Outcome {
    hit,       ///< from the cache
    miss,      ///< the model was called (the answer may or may not have been stored)
    coalesced, ///< a concurrent identical call was in flight; its answer was shared (no model call)
    bypass,    ///< the caller asked not to read the cache (skip_read / force_refresh)
    error,     ///< the model call failed; the error went to the caller
};

constexpr std::string_view to_string(Outcome o) noexcept {
    switch (o) {
    case Outcome::hit:
        return "hit";
    case Outcome::miss:
        return "miss";
    case Outcome::coalesced:
        return "coalesced";
    case Outcome::bypass:
        return "bypass";
    case Outcome::error:
        return "error";
    }
    return "unknown";
}

/// Everything about one call that is safe to log: keys are digests, never prompt text. The views
/// are valid only during the observer call.
struct CallRecord {
    std::string_view key;   ///< the entry's key (digest; no prompt text)
    std::string_view scope; ///< the request's scope
    std::string_view model; ///< the requested model
    Outcome outcome = Outcome::miss;
    bool cache_hit = false;                 ///< served from the cache (outcome == hit)
    bool semantic = false;                  ///< the hit came from a similar prompt, not the exact one
    float distance = 0.0f;                  ///< cosine distance of a semantic hit
    bool stored = false;                    ///< the answer was written to the store
    std::optional<ErrorCode> error{};       ///< the backend error, when outcome == error
    std::optional<ErrorCode> store_error{}; ///< a store failure the cache absorbed (lookup or write)
    StopReason stop_reason = StopReason::unknown;
    Usage usage{};                      ///< tokens billed (miss) or not billed thanks to the cache (hit)
    std::optional<double> cost_usd{};   ///< dollars billed (miss) or saved (hit, coalesced); empty if unknown
    std::chrono::nanoseconds latency{}; ///< the whole call as the caller saw it
    std::chrono::nanoseconds backend_latency{};          ///< time inside the model call (zero on a hit)
    std::chrono::system_clock::time_point answered_at{}; ///< when the served answer was created
};

LLMCACHE_END_NAMESPACE
