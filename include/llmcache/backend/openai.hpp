// OpenAIBackend: chat completions (POST {base_url}/chat/completions) from OpenAI or any server
// that speaks the same API: Ollama (http://localhost:11434/v1), vLLM (http://localhost:8000/v1),
// llama.cpp's llama-server (http://127.0.0.1:8080/v1).
//
//     auto gpt = llmcache::OpenAIBackend::from_env();        // OPENAI_API_KEY, OPENAI_BASE_URL
//     llmcache::OpenAIOptions local;
//     local.base_url = "http://localhost:11434/v1";          // Ollama; no key needed
//     local.max_tokens_field = "max_tokens";
//     llmcache::OpenAIBackend ollama{local};
//
// Request → body: the system prompt as the first message, then the messages; max_tokens as
// `max_completion_tokens` (OpenAI's current name; set max_tokens_field = "max_tokens" for servers
// that only know the older name), temperature, top_p, top_k (not an OpenAI parameter: OpenAI
// refuses it, vLLM and llama.cpp accept it), stop, tools and tool_choice passed through.
// Answer → Response: the first choice's content; tool_calls as the provider's JSON in
// tool_calls_json; finish_reason stop → end_turn, length → max_tokens, tool_calls → tool_use,
// content_filter → refusal. Usage: prompt_tokens includes OpenAI's prompt-cache hits, so
// input_tokens = prompt_tokens - cached_tokens and cache_read_input_tokens = cached_tokens (the
// meaning Usage and the pricing table give them); servers that send no usage give unknown counts.
//
// Errors and retries as AnthropicBackend's: by status and by error.type / error.code
// (insufficient_quota and the spend-limit codes are quota_exhausted, never retried), with
// retry-after-ms / retry-after honoured. The key is sent only as `Authorization: Bearer`; without
// a key no Authorization header is sent (local servers need none).
#pragma once

#include "../config.hpp"
#include "../error.hpp"
#include "../request.hpp"
#include "../response.hpp"
#include "detail/openai_wire.hpp"
#include "detail/provider.hpp"
#include "retry.hpp"

#include <chrono>
#include <concepts>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct OpenAIOptions {
    std::string api_key{};                              ///< Bearer token; from_env(): OPENAI_API_KEY
    std::string base_url = "https://api.openai.com/v1"; ///< from_env(): OPENAI_BASE_URL when set
    std::string organization{};                         ///< OpenAI-Organization; from_env(): OPENAI_ORG_ID
    std::string project{};                              ///< OpenAI-Project; from_env(): OPENAI_PROJECT_ID
    std::string max_tokens_field = "max_completion_tokens"; ///< or "max_tokens" for older servers
    bool stream_usage = true; ///< ask for the usage chunk when streaming (stream_options.include_usage)
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{600'000};  ///< one attempt
    std::chrono::milliseconds deadline{600'000}; ///< the whole call: attempts and waits between them
    /// A streamed answer that sends nothing for this long is cut and fails with backend_timeout
    /// (retried only if no text had reached the caller), without waiting for `timeout`; checked
    /// about once a second. 0: no idle limit. Raise it for models that think longer than this
    /// before their first token without streaming their thinking.
    std::chrono::milliseconds stream_idle_timeout{300'000};
    RetryPolicy retry{}; ///< 2 retries, as the official SDKs
};

class OpenAIBackend {
public:
    OpenAIBackend() = default;
    explicit OpenAIBackend(OpenAIOptions options) : opts_(std::move(options)) {}

    /// `options` with the key from OPENAI_API_KEY and, when set, the base URL from OPENAI_BASE_URL,
    /// the organization from OPENAI_ORG_ID and the project from OPENAI_PROJECT_ID.
    static OpenAIBackend from_env(OpenAIOptions options = {}) {
        using detail::provider::env;
        if (std::string key = env("OPENAI_API_KEY"); !key.empty())
            options.api_key = std::move(key);
        if (std::string url = env("OPENAI_BASE_URL"); !url.empty())
            options.base_url = std::move(url);
        if (std::string org = env("OPENAI_ORG_ID"); !org.empty())
            options.organization = std::move(org);
        if (std::string project = env("OPENAI_PROJECT_ID"); !project.empty())
            options.project = std::move(project);
        return OpenAIBackend(std::move(options));
    }

    bool has_api_key() const noexcept { return !opts_.api_key.empty(); }
    const OpenAIOptions& options() const noexcept { return opts_; }
    /// The URL requests go to: {base_url}/chat/completions.
    std::string url() const { return detail::provider::join_url(opts_.base_url, "/chat/completions"); }

    /// One model call (retried per the RetryPolicy). Fits the model_backend concept.
    Result<Response> complete(const Request& req) const {
        return detail::provider::complete(endpoint(false),
                                          detail::openai::request_body(req, body_options(), false),
                                          detail::openai::parse_completion);
    }

    /// Streams the answer through `on_delta(std::string_view)`; the result is the whole answer
    /// once the stream reached `data: [DONE]`, or the error. Retries as AnthropicBackend::stream.
    template <class OnDelta>
    requires std::invocable<OnDelta&, std::string_view> Result<Response> stream(const Request& req,
                                                                                OnDelta&& on_delta)
    const {
        return detail::provider::complete_stream<detail::openai::StreamState>(
            endpoint(true), detail::openai::request_body(req, body_options(), true),
            detail::openai::parse_completion, on_delta);
    }

private:
    detail::openai::BodyOptions body_options() const noexcept {
        return detail::openai::BodyOptions{opts_.max_tokens_field, opts_.stream_usage};
    }

    detail::provider::Endpoint endpoint(bool streaming) const {
        std::vector<http::Header> headers = {
            {"content-type", "application/json"},
            {"accept", streaming ? "text/event-stream" : "application/json"}};
        if (!opts_.api_key.empty())
            headers.push_back({"authorization", "Bearer " + opts_.api_key});
        if (!opts_.organization.empty())
            headers.push_back({"openai-organization", opts_.organization});
        if (!opts_.project.empty())
            headers.push_back({"openai-project", opts_.project});
        return detail::provider::endpoint_for(detail::openai::provider_name, url(), std::move(headers),
                                              opts_);
    }

    OpenAIOptions opts_{};
};

LLMCACHE_END_NAMESPACE
