// Errors: what went wrong in a store, a backend or the cache itself, as a value.
//
// llmcache never reports a cache miss as an error, and never lets a store failure become the
// caller's failure: the Cache turns store errors into misses and skipped writes (counted in the
// statistics). Errors reach the caller only from the model backend or from invalid input.
#pragma once

#include "config.hpp"
#include "detail/expected.hpp"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

enum class ErrorCode {
    // Cache and store side.
    store_unavailable, ///< the store could not be reached (connection refused, circuit open)
    store_timeout,     ///< the store did not answer within its budget
    store_rejected,    ///< the store answered with an error (OOM, READONLY, NOAUTH, ...)
    corrupt_entry,     ///< a stored value failed its format or checksum test
    too_large,         ///< a value exceeds the configured or the store's size limit
    invalid_argument,  ///< bad input: an invalid TTL, an empty model id, ...
    // Backend side.
    backend_unavailable, ///< connection failure or the provider's 5xx / overloaded
    backend_timeout,     ///< the call exceeded its deadline
    rate_limited,        ///< 429 (transient; see retry_after)
    quota_exhausted,     ///< spend or billing limit: retrying will not help
    authentication,      ///< 401 / 403
    invalid_request,     ///< 400 / 404 / 413 / 422: the request itself is wrong
    bad_response,        ///< malformed, truncated or unparsable answer
    backend_failed,      ///< any other backend failure (including a callable that threw)
};

/// A short, stable name for a code ("store_timeout", ...), for logs and metrics labels.
constexpr std::string_view to_string(ErrorCode code) noexcept {
    switch (code) {
    case ErrorCode::store_unavailable:
        return "store_unavailable";
    case ErrorCode::store_timeout:
        return "store_timeout";
    case ErrorCode::store_rejected:
        return "store_rejected";
    case ErrorCode::corrupt_entry:
        return "corrupt_entry";
    case ErrorCode::too_large:
        return "too_large";
    case ErrorCode::invalid_argument:
        return "invalid_argument";
    case ErrorCode::backend_unavailable:
        return "backend_unavailable";
    case ErrorCode::backend_timeout:
        return "backend_timeout";
    case ErrorCode::rate_limited:
        return "rate_limited";
    case ErrorCode::quota_exhausted:
        return "quota_exhausted";
    case ErrorCode::authentication:
        return "authentication";
    case ErrorCode::invalid_request:
        return "invalid_request";
    case ErrorCode::bad_response:
        return "bad_response";
    case ErrorCode::backend_failed:
        return "backend_failed";
    }
    return "unknown";
}

/// An error with a human-readable message. Messages never contain secrets (API keys, passwords,
/// HMAC keys) nor prompt text: components that build them are responsible for that.
struct Error {
    ErrorCode code = ErrorCode::backend_failed;
    std::string message;
    int http_status = 0;                                    ///< provider status, 0 when not HTTP
    std::optional<std::chrono::milliseconds> retry_after{}; ///< provider's hint, when it gave one

    /// True when the same call may succeed if tried again later (timeouts, 5xx, rate limits).
    /// Single-flight followers re-elect a leader after a transient failure instead of sharing it.
    constexpr bool transient() const noexcept {
        switch (code) {
        case ErrorCode::store_unavailable:
        case ErrorCode::store_timeout:
        case ErrorCode::backend_unavailable:
        case ErrorCode::backend_timeout:
        case ErrorCode::rate_limited:
            return true;
        default:
            return false;
        }
    }
};

template <class T>
using Result = expected<T, Error>;

namespace detail {
/// Rejects an invalid argument where no Result can carry the error (constructors, constant
/// expressions): throws std::invalid_argument, or aborts when exceptions are off. Called during
/// constant evaluation it makes the expression non-constant, which is a compile-time error.
[[noreturn]] inline void invalid_argument(const std::string& what) {
#if LLMCACHE_HAS_EXCEPTIONS
    throw std::invalid_argument(what);
#else
    (void)what;
    std::abort();
#endif
}
} // namespace detail

/// Shorthand for returning an error: `return fail(ErrorCode::too_large, "entry exceeds ...");`
inline unexpected<Error> fail(ErrorCode code, std::string message, int http_status = 0) {
    return unexpected<Error>(Error{code, std::move(message), http_status, std::nullopt});
}

LLMCACHE_END_NAMESPACE
