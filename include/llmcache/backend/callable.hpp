// CallableBackend: any callable as a model backend.
//
// The callable takes `const Request&` and returns one of
//   Result<Response>   errors as values (preferred),
//   Response           always succeeds,
//   std::string        just the answer text (stop reason end_turn, usage unknown).
// An exception thrown by the callable becomes ErrorCode::backend_failed with the exception's
// message: it never escapes through the Cache, and the failed answer is never cached.
#pragma once

#include "../config.hpp"
#include "../error.hpp"
#include "../request.hpp"
#include "../response.hpp"

#include <chrono>
#include <concepts>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

LLMCACHE_BEGIN_NAMESPACE

template <class F>
concept backend_callable = std::invocable<F&, const Request&> &&
    (std::same_as<std::invoke_result_t<F&, const Request&>, Result<Response>> ||
     std::same_as<std::invoke_result_t<F&, const Request&>, Response> ||
     std::convertible_to<std::invoke_result_t<F&, const Request&>, std::string>);

template <backend_callable F>
class CallableBackend {
public:
    explicit CallableBackend(F f) : f_(std::move(f)) {}

    Result<Response> complete(const Request& req) {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
            return call(req);
        } catch (const std::exception& e) {
            return fail(ErrorCode::backend_failed, std::string("model callable threw: ") + e.what());
        } catch (...) {
            return fail(ErrorCode::backend_failed, "model callable threw a non-standard exception");
        }
#else
        return call(req);
#endif
    }

private:
    Result<Response> call(const Request& req) {
        using R = std::invoke_result_t<F&, const Request&>;
        if constexpr (std::same_as<R, Result<Response>> || std::same_as<R, Response>) {
            return f_(req);
        } else {
            Response r;
            r.text = std::string(f_(req));
            r.stop_reason = StopReason::end_turn;
            r.model = req.model;
            r.created = std::chrono::system_clock::now();
            return r;
        }
    }

    F f_;
};

template <class F>
CallableBackend(F) -> CallableBackend<F>;

LLMCACHE_END_NAMESPACE
