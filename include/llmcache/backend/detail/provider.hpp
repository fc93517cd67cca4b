// What the HTTP model backends share: reading a provider's error body, mapping a status to an
// ErrorCode, and POSTing a request with retries, whole or as a server-sent-event stream.
// (The parts of the request body both APIs spell alike are in chat_body.hpp.)
#pragma once

#include "../../config.hpp"
#include "../../detail/http/client.hpp"
#include "../../detail/sse.hpp"
#include "../../error.hpp"
#include "../../response.hpp"
#include "../retry.hpp"
#include "json.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::provider {

/// The fields of a provider's error body that matter.
struct ErrorBody {
    std::string type;    ///< error.type ("rate_limit_error", "insufficient_quota", ...)
    std::string code;    ///< error.code, as text (OpenAI: a string; vLLM, llama.cpp: the status)
    std::string message; ///< error.message, or the start of a body that is not JSON
};

/// Reads error.type, error.code (a string or a number) and error.message; stops at the first value
/// it cannot read, keeping what it has.
inline void read_error_fields(json::od::object& o, ErrorBody& out) {
    (void)json::for_each_field(o, [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
        json::od::json_type t;
        if (auto e = v.type().get(t))
            return e;
        std::string_view s;
        if (t == json::od::json_type::string) {
            if (auto e = v.get_string().get(s))
                return e;
            if (key == "type")
                out.type.assign(s);
            else if (key == "code")
                out.code.assign(s);
            else if (key == "message")
                out.message.assign(s);
        } else if (t == json::od::json_type::number && key == "code") {
            if (auto e = json::raw_of(v).get(s))
                return e;
            out.code.assign(s);
        }
        return simdjson::SUCCESS;
    });
}

/// The first `limit` bytes of a body that is not a JSON error (an HTML page from a proxy), with
/// control characters replaced, for a message.
inline std::string printable_prefix(std::string_view body, std::size_t limit = 200) {
    std::string out;
    for (char c : body.substr(0, limit))
        out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
    if (body.size() > limit)
        out += "...";
    return out;
}

/// Reads an error body in any shape the providers and compatible servers use:
///   {"type":"error","error":{"type":"...","message":"..."},"request_id":"..."}   Anthropic
///   {"error":{"message":"...","type":"...","code":"..." | int | null}}            OpenAI, Ollama,
///                                                                             llama.cpp, vLLM
///   {"object":"error","message":"...","type":"...","code":int}                 older vLLM, TEI
///   {"error":"..."}                                                            TEI's own routes
/// Anything else (a proxy's HTML page, a truncated body) gives its printable start as the message.
inline ErrorBody parse_error_body(std::string_view body) {
    ErrorBody out;
    std::string text(body);
    bool flat_value_unreadable = false; // stops reading, but what was read still counts
    const simdjson::error_code stopped =
        json::read_object(text, [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "error") {
                json::od::json_type t;
                if (auto e = v.type().get(t))
                    return e;
                if (t == json::od::json_type::object) {
                    json::od::object inner;
                    if (auto e = v.get_object().get(inner))
                        return e;
                    read_error_fields(inner, out);
                } else if (t == json::od::json_type::string) {
                    std::string_view s;
                    if (!v.get_string().get(s))
                        out.message.assign(s);
                }
            } else if (key == "message" || key == "type" || key == "code") {
                // Flat shape. Anthropic's top-level "type" is just "error": the inner one wins.
                json::od::json_type t;
                if (auto e = v.type().get(t)) {
                    flat_value_unreadable = true;
                    return e;
                }
                std::string_view s;
                if (t == json::od::json_type::string && !v.get_string().get(s)) {
                    if (key == "message" && out.message.empty())
                        out.message.assign(s);
                    else if (key == "type" && out.type.empty() && s != "error")
                        out.type.assign(s);
                    else if (key == "code" && out.code.empty())
                        out.code.assign(s);
                } else if (t == json::od::json_type::number && key == "code" && out.code.empty() &&
                           !json::raw_of(v).get(s)) {
                    out.code.assign(s);
                }
            }
            return simdjson::SUCCESS;
        });
    const bool understood = !stopped || flat_value_unreadable;
    if (out.message.empty() && (!understood || out.type.empty()))
        out.message = printable_prefix(body);
    return out;
}

inline bool contains_lower(std::string_view haystack, std::string_view needle) {
    if (needle.size() > haystack.size())
        return false;
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        std::size_t j = 0;
        while (j < needle.size() && http::detail::ascii_lower(haystack[i + j]) == needle[j])
            ++j;
        if (j == needle.size())
            return true;
    }
    return false;
}

/// True when the error says that a spend, billing or usage limit was reached: waiting a few
/// seconds will not help, so such a 429 is quota_exhausted, never retried.
inline bool says_quota_exhausted(const ErrorBody& b) {
    static constexpr std::string_view kinds[] = {"billing_error",
                                                 "insufficient_quota",
                                                 "credit_balance_exhausted",
                                                 "organization_spend_limit_exceeded",
                                                 "project_spend_limit_exceeded",
                                                 "organization_usage_limit_exceeded",
                                                 "billing_hard_limit_reached",
                                                 "billing_not_active"};
    for (std::string_view k : kinds)
        if (b.type == k || b.code == k)
            return true;
    static constexpr std::string_view phrases[] = {"spend limit",       "spending limit",
                                                   "usage limit",       "credit balance",
                                                   "billing",           "exceeded your current quota",
                                                   "insufficient_quota"};
    for (std::string_view p : phrases)
        if (contains_lower(b.message, p))
            return true;
    return false;
}

/// The code for an HTTP error status, refined by the body.
inline ErrorCode code_for_status(long status, const ErrorBody& b) {
    if ((status == 400 || status == 402 || status == 403 || status == 429) && says_quota_exhausted(b))
        return ErrorCode::quota_exhausted;
    switch (status) {
    case 401:
    case 403:
        return ErrorCode::authentication;
    case 402:
        return ErrorCode::quota_exhausted;
    case 408:
    case 504:
        return ErrorCode::backend_timeout;
    case 409:
        return ErrorCode::backend_unavailable; // a conflict that may clear (the SDKs retry it)
    case 429:
        return ErrorCode::rate_limited;
    default:
        break;
    }
    if (status >= 500)
        return ErrorCode::backend_unavailable; // 500, 502, 503, 529 overloaded, ...
    if (status >= 400)
        return ErrorCode::invalid_request; // 400, 404, 413, 422 and other client errors
    return ErrorCode::bad_response;        // 1xx, 3xx: not an answer we can use
}

/// The code for an error that arrived without a status (an error event inside a stream).
inline ErrorCode code_for_type(const ErrorBody& b) {
    if (says_quota_exhausted(b))
        return ErrorCode::quota_exhausted;
    const std::string_view t = b.type;
    if (t == "overloaded_error" || t == "api_error" || t == "server_error" ||
        t == "service_unavailable_error")
        return ErrorCode::backend_unavailable;
    if (t == "rate_limit_error" || b.code == "rate_limit_exceeded")
        return ErrorCode::rate_limited;
    if (t == "timeout_error")
        return ErrorCode::backend_timeout;
    if (t == "authentication_error" || t == "permission_error")
        return ErrorCode::authentication;
    if (t == "invalid_request_error" || t == "not_found_error" || t == "request_too_large")
        return ErrorCode::invalid_request;
    return ErrorCode::backend_failed;
}

/// "<provider> API error 429 (rate_limit_error): <message> [request-id req_..]", with `secret`
/// scrubbed in case a server echoed it.
inline std::string error_message(std::string_view provider, long status, const ErrorBody& b,
                                 std::string_view request_id, std::string_view secret) {
    std::string m(provider);
    m += " API error";
    if (status != 0) {
        m += ' ';
        m += std::to_string(status);
    }
    if (!b.type.empty() || !b.code.empty()) {
        m += " (";
        m += b.type.empty() ? b.code : b.type;
        m += ')';
    }
    m += ": ";
    m += b.message.empty() ? std::string("(no message)") : b.message;
    if (!request_id.empty()) {
        m += " [request-id ";
        m += request_id;
        m += ']';
    }
    http::detail::scrub(m, secret);
    return m;
}

/// The Error for an error body that arrived with a 2xx status, or as an event inside a stream.
inline Error answer_error(std::string_view provider, std::string_view json_text) {
    const ErrorBody b = parse_error_body(json_text);
    return Error{code_for_type(b), error_message(provider, 0, b, {}, {}), 0, {}};
}

/// The Error for a response with a non-2xx status.
inline Error status_error(std::string_view provider, const http::HttpResponse& r, std::string_view body,
                          std::string_view secret) {
    const ErrorBody b = parse_error_body(body);
    std::string_view request_id = r.header("request-id");
    if (request_id.empty())
        request_id = r.header("x-request-id");
    Error e{code_for_status(r.status, b), error_message(provider, r.status, b, request_id, secret),
            static_cast<int>(r.status),
            ::llmcache::detail::parse_retry_after(r.header("retry-after-ms"), r.header("retry-after"))};
    return e;
}

/// Whether a failed status may be retried: by its code (Error::transient()), unless the server
/// said otherwise with `x-should-retry` (as the official SDKs honour); a quota is never retried.
inline bool may_retry(const Error& e, const http::HttpResponse& r) {
    if (e.code == ErrorCode::quota_exhausted)
        return false;
    const std::string_view hint = r.header("x-should-retry");
    if (hint == "true")
        return true;
    if (hint == "false")
        return false;
    return e.transient();
}

/// Where and how a backend sends its requests.
struct Endpoint {
    std::string_view provider; ///< "Anthropic", "OpenAI": for messages
    std::string url;
    std::vector<http::Header> headers;
    std::string_view secret; ///< the API key: scrubbed from every message
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{600'000};
    std::chrono::milliseconds deadline{600'000};
    std::chrono::milliseconds stream_idle_timeout{0}; ///< streamed requests only (0: none)
    RetryPolicy retry{};
};

/// An Endpoint for `provider` at `url` with `headers`, taking the API key (the secret to scrub),
/// the timeouts and the retry policy from a backend's options (AnthropicOptions, OpenAIOptions).
template <class Options>
Endpoint endpoint_for(std::string_view provider, std::string url, std::vector<http::Header> headers,
                      const Options& o) {
    Endpoint ep;
    ep.provider = provider;
    ep.url = std::move(url);
    ep.headers = std::move(headers);
    ep.secret = o.api_key;
    ep.connect_timeout = o.connect_timeout;
    ep.timeout = o.timeout;
    ep.deadline = o.deadline;
    ep.stream_idle_timeout = o.stream_idle_timeout;
    ep.retry = o.retry;
    return ep;
}

inline http::HttpRequest make_request(const Endpoint& ep, const std::string& body,
                                      std::chrono::milliseconds left) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = ep.url;
    req.headers = ep.headers;
    req.body = body;
    req.connect_timeout = std::min(ep.connect_timeout, left);
    req.timeout = std::min(ep.timeout, left);
    return req;
}

/// POSTs `body` (with retries) and returns the response when its status is 2xx.
inline Result<http::HttpResponse> post(const Endpoint& ep, const std::string& body) {
    const auto deadline = std::chrono::steady_clock::now() + ep.deadline;
    return run_with_retries<http::HttpResponse>(
        ep.retry, deadline, [&](std::chrono::milliseconds left) -> Attempt<http::HttpResponse> {
            auto r = http::perform(make_request(ep, body, left));
            if (!r) {
                http::detail::scrub(r.error().message, ep.secret);
                return Attempt<http::HttpResponse>::from(std::move(r));
            }
            if (r->status >= 200 && r->status < 300)
                return Attempt<http::HttpResponse>{std::move(r), false};
            Error e = status_error(ep.provider, *r, r->body, ep.secret);
            const bool again = may_retry(e, *r);
            return Attempt<http::HttpResponse>{unexpected<Error>(std::move(e)), again};
        });
}

/// POSTs a streaming request (with retries while no text has reached the caller) and runs the
/// server-sent events through a fresh `State` per attempt:
///   bool st.on_event(const SseEvent&, Deliver&)  false stops the stream (an error event);
///                                                 deliver(std::string_view) hands text on
///   Result<Response> st.finish(bool cut)          the answer, or why there is none; `cut` is
///                                                 true when the stream ended inside an event
/// A 2xx answer that is plain JSON rather than a stream (a server that ignores "stream": true)
/// is read with `parse_whole(std::string&)` and its text handed on in one piece.
template <class State, class ParseWhole, class OnDelta>
Result<Response> stream(const Endpoint& ep, const std::string& body, ParseWhole&& parse_whole,
                        OnDelta& on_delta) {
    constexpr std::size_t kept_for_errors = 64 * 1024;
    const auto deadline = std::chrono::steady_clock::now() + ep.deadline;
    return run_with_retries<Response>(
        ep.retry, deadline, [&](std::chrono::milliseconds left) -> Attempt<Response> {
            State state;
            SseParser sse;
            std::string head; // the body's start: an error body, or a whole JSON answer
            enum class Mode { undecided, events, whole } mode = Mode::undecided;
            bool delivered = false;
            auto deliver = [&](std::string_view text) {
                if (!text.empty()) {
                    delivered = true;
                    on_delta(text);
                }
            };
            auto on_event = [&](const SseEvent& ev) { return state.on_event(ev, deliver); };
            auto on_chunk = [&](std::string_view bytes) -> bool {
                if (mode == Mode::undecided) {
                    const std::size_t first = bytes.find_first_not_of(" \t\r\n");
                    if (first == std::string_view::npos) {
                        head.append(bytes);
                        return true;
                    }
                    const char c = bytes[first];
                    mode = (c == '{' || c == '[' || c == '<') ? Mode::whole : Mode::events;
                    if (mode == Mode::events && !head.empty() && !sse.feed(head, on_event))
                        return false;
                }
                if (mode == Mode::whole) {
                    head.append(bytes);
                    return true;
                }
                if (head.size() < kept_for_errors)
                    head.append(bytes.substr(0, kept_for_errors - head.size()));
                return sse.feed(bytes, on_event);
            };
            http::HttpRequest req = make_request(ep, body, left);
            req.idle_timeout = ep.stream_idle_timeout;
            auto r = http::perform_streaming(req, on_chunk);
            if (!r) {
                http::detail::scrub(r.error().message, ep.secret);
                const bool again = r.error().transient() && !delivered;
                return Attempt<Response>{unexpected<Error>(std::move(r.error())), again};
            }
            if (r->status < 200 || r->status >= 300) {
                Error e = status_error(ep.provider, *r, head, ep.secret);
                const bool again = may_retry(e, *r) && !delivered;
                return Attempt<Response>{unexpected<Error>(std::move(e)), again};
            }
            Result<Response> answer = mode == Mode::whole ? parse_whole(head) : state.finish(sse.pending());
            if (answer && mode == Mode::whole)
                deliver(answer->text);
            const bool again = !answer && answer.error().transient() && !delivered;
            return Attempt<Response>{std::move(answer), again};
        });
}

/// One model call: `body` (or why there is none) POSTed with retries, and the 2xx answer read by
/// `parse(std::string&) -> Result<Response>`. The key is scrubbed from every error.
template <class Parse>
Result<Response> complete(const Endpoint& ep, Result<std::string> body, Parse&& parse) {
    if (!body)
        return unexpected<Error>(std::move(body.error()));
    auto reply = post(ep, *body);
    if (!reply)
        return unexpected<Error>(std::move(reply.error()));
    Result<Response> r = parse(reply->body);
    if (!r)
        http::detail::scrub(r.error().message, ep.secret);
    return r;
}

/// One streamed model call: `body` (or why there is none) through stream<State>() above, with
/// `parse_whole` for a server that answers with plain JSON. The key is scrubbed from every error.
template <class State, class ParseWhole, class OnDelta>
Result<Response> complete_stream(const Endpoint& ep, Result<std::string> body, ParseWhole&& parse_whole,
                                 OnDelta& on_delta) {
    if (!body)
        return unexpected<Error>(std::move(body.error()));
    Result<Response> r = stream<State>(ep, *body, parse_whole, on_delta);
    if (!r)
        http::detail::scrub(r.error().message, ep.secret);
    return r;
}

/// What both stream assemblers keep between events: the answer so far, the tool calls that arrive
/// in fragments (by content-block or tool-call index), the current event's JSON, and the error
/// that stopped the stream.
struct StreamedAnswer {
    struct Tool {
        std::uint64_t index = 0;
        std::string id, name, input; ///< input: the arguments' JSON text, as streamed
    };

    Response response{};
    std::vector<Tool> tools{};
    std::optional<Error> error{};
    std::string event{}; ///< a copy of the event's data, padded so simdjson reads it in place

    /// Copies `data` into `event`, lets `read(std::string& text) -> bool` parse it, and only then
    /// hands the text it collected to `deliver` (the callback may use the thread's parser itself).
    template <class Read, class Deliver>
    bool read_event(std::string_view data, Read&& read, Deliver& deliver) {
        event.assign(data);
        json::pad(event);
        std::string text;
        if (!read(text))
            return false;
        deliver(std::string_view(text));
        return true;
    }

    /// Records why the stream stops; false, for on_event to return.
    bool stop(Error e) {
        error = std::move(e);
        return false;
    }
    /// Stops the stream for an event that is not the JSON the API sends.
    bool malformed(std::string_view provider, std::string_view kind, simdjson::error_code e) {
        std::string what = "malformed stream ";
        what += kind;
        what += ": ";
        what += json::describe(e);
        return stop(json::bad_answer(provider, what).error());
    }

    Tool* tool(std::uint64_t index) noexcept {
        for (Tool& t : tools)
            if (t.index == index)
                return &t;
        return nullptr;
    }

    /// The assembled answer, stamped now.
    Response take() {
        response.created = std::chrono::system_clock::now();
        return std::move(response);
    }
};

/// Maps an Anthropic stop_reason (or an OpenAI finish_reason already translated) to StopReason.
inline StopReason stop_reason_from(std::string_view s) noexcept {
    if (s == "end_turn")
        return StopReason::end_turn;
    if (s == "stop_sequence")
        return StopReason::stop_sequence;
    if (s == "max_tokens")
        return StopReason::max_tokens;
    if (s == "tool_use")
        return StopReason::tool_use;
    if (s == "pause_turn")
        return StopReason::pause_turn;
    if (s == "refusal")
        return StopReason::refusal;
    if (s == "model_context_window_exceeded")
        return StopReason::context_window_exceeded;
    return StopReason::unknown;
}

/// Reads an environment variable; empty when unset.
inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
}

/// `base` without trailing slashes, then `path`.
inline std::string join_url(std::string_view base, std::string_view path) {
    while (!base.empty() && base.back() == '/')
        base.remove_suffix(1);
    std::string url(base);
    url += path;
    return url;
}

} // namespace detail::provider
LLMCACHE_END_NAMESPACE
