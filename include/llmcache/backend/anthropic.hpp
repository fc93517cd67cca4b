// AnthropicBackend: Claude through the Messages API (POST {base_url}/v1/messages).
//
//     auto claude = llmcache::AnthropicBackend::from_env();   // ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL
//     llmcache::Cache cache{llmcache::Xxh3Key{}, llmcache::MemoryStore{}, llmcache::ExactOnly{},
//                           llmcache::ttl::ProductQa{}, claude};
//     auto answer = cache.invoke(llmcache::Request::chat("claude-sonnet-4-5", "What is BM25?"));
//     auto streamed = cache.invoke_stream(req, [](std::string_view delta) { std::cout << delta; });
//
// Request → body: model, max_tokens (the request's, else AnthropicOptions::default_max_tokens,
// because the API requires one), system, messages, temperature, top_p, top_k, stop_sequences,
// tools and tool_choice (GenerationParams' JSON, checked to parse, passed through as is).
// Answer → Response: text blocks joined; tool_use blocks as a JSON array in tool_calls_json;
// stop_reason, stop_sequence, the model that answered, and usage with the prompt-cache counts
// (cache_read_input_tokens, cache_creation_input_tokens); a count the API left out is unknown.
//
// Errors: each status and error.type maps to an ErrorCode (400/404/413 invalid_request, 401/403
// authentication, 429 rate_limited, 500/529 backend_unavailable, ...) with the provider's message,
// its request-id, the status in Error::http_status and retry-after in Error::retry_after. A 429
// (or 400) whose body says a spend or billing limit was reached is quota_exhausted and is not
// retried. Transient failures are retried per RetryPolicy (see retry.hpp) within `deadline`. The
// API key is sent only in the x-api-key header: it never appears in an error message or a log.
//
// Thread-safe: calls share nothing but the options (each thread has its own connection).
#pragma once

#include "../config.hpp"
#include "../error.hpp"
#include "../request.hpp"
#include "../response.hpp"
#include "detail/anthropic_wire.hpp"
#include "detail/provider.hpp"
#include "retry.hpp"

#include <chrono>
#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct AnthropicOptions {
    std::string api_key{};                              ///< x-api-key; from_env(): ANTHROPIC_API_KEY
    std::string base_url = "https://api.anthropic.com"; ///< from_env(): ANTHROPIC_BASE_URL when set
    std::string version = "2023-06-01";                 ///< the anthropic-version header
    /// anthropic-beta header, when not empty. Betas can change answers and cache keys do not see
    /// this header: give each beta setting its own key prefix (KeyOptions) or cache.
    std::string beta{};
    /// max_tokens sent when the request has none (the API requires the field). The cache key sees
    /// only the request's own max_tokens: set that when answers must differ by limit.
    int default_max_tokens = 4096;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{600'000};  ///< one attempt (the SDKs' default: 10 minutes)
    std::chrono::milliseconds deadline{600'000}; ///< the whole call: attempts and waits between them
    /// A streamed answer that sends nothing for this long is cut and fails with backend_timeout
    /// (retried only if no text had reached the caller), without waiting for `timeout`; checked
    /// about once a second. 0: no idle limit. Raise it for models that think longer than this
    /// before their first token without streaming their thinking.
    std::chrono::milliseconds stream_idle_timeout{300'000};
    RetryPolicy retry{}; ///< 2 retries, as the official SDKs
};

class AnthropicBackend {
public:
    AnthropicBackend() = default;
    explicit AnthropicBackend(AnthropicOptions options) : opts_(std::move(options)) {}

    /// `options` with the key from ANTHROPIC_API_KEY and, when set, the base URL from
    /// ANTHROPIC_BASE_URL (as the official SDKs read them). Check has_api_key() afterwards.
    static AnthropicBackend from_env(AnthropicOptions options = {}) {
        if (std::string key = detail::provider::env("ANTHROPIC_API_KEY"); !key.empty())
            options.api_key = std::move(key);
        if (std::string url = detail::provider::env("ANTHROPIC_BASE_URL"); !url.empty())
            options.base_url = std::move(url);
        return AnthropicBackend(std::move(options));
    }

    bool has_api_key() const noexcept { return !opts_.api_key.empty(); }
    const AnthropicOptions& options() const noexcept { return opts_; }
    /// The URL requests go to: {base_url}/v1/messages.
    std::string url() const { return detail::provider::join_url(opts_.base_url, "/v1/messages"); }

    /// One model call (retried per the RetryPolicy). Fits the model_backend concept.
    Result<Response> complete(const Request& req) const {
        if (auto missing = check_key(); !missing)
            return unexpected<Error>(std::move(missing.error()));
        return detail::provider::complete(
            endpoint(false), detail::anthropic::request_body(req, opts_.default_max_tokens, false),
            detail::anthropic::parse_message);
    }

    /// Streams the answer: `on_delta(std::string_view)` gets each piece of text as it arrives; the
    /// result is the whole answer once the stream ended with message_stop, or the error (an error
    /// event, a cut connection, a stream that ended early: bad_response). A failure before any
    /// text arrived is retried like complete(); after that it is returned, since the caller has
    /// seen part of an answer. Fits the streaming_backend concept.
    template <class OnDelta>
    requires std::invocable<OnDelta&, std::string_view> Result<Response> stream(const Request& req,
                                                                                OnDelta&& on_delta)
    const {
        if (auto missing = check_key(); !missing)
            return unexpected<Error>(std::move(missing.error()));
        return detail::provider::complete_stream<detail::anthropic::StreamState>(
            endpoint(true), detail::anthropic::request_body(req, opts_.default_max_tokens, true),
            detail::anthropic::parse_message, on_delta);
    }

private:
    Result<void> check_key() const {
        if (opts_.api_key.empty())
            return fail(ErrorCode::authentication,
                        "no Anthropic API key: set ANTHROPIC_API_KEY or AnthropicOptions::api_key");
        return {};
    }

    detail::provider::Endpoint endpoint(bool streaming) const {
        std::vector<http::Header> headers = {
            {"x-api-key", opts_.api_key},
            {"anthropic-version", opts_.version},
            {"content-type", "application/json"},
            {"accept", streaming ? "text/event-stream" : "application/json"}};
        if (!opts_.beta.empty())
            headers.push_back({"anthropic-beta", opts_.beta});
        return detail::provider::endpoint_for(detail::anthropic::provider_name, url(), std::move(headers),
                                              opts_);
    }

    AnthropicOptions opts_{};
};

LLMCACHE_END_NAMESPACE
