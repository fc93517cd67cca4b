// What the HTTP model backends share: reading a provider's error body, mapping a status to an
// ErrorCode, and POSTing a request with retries, whole or as a server-sent-event stream.
#pragma once

#include "../../config.hpp"
#include "../../detail/http/client.hpp"
#include "../../detail/sse.hpp"
#include "../../error.hpp"
#include "../../request.hpp"
#include "../../response.hpp"
#include "../retry.hpp"
#include "json.hpp"

#include <algorithm>
#include <chrono>
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

inline void read_error_fields(json::od::object& o, ErrorBody& out) {
    for (auto field : o) {
        std::string_view key;
        json::od::value v;
        if (field.unescaped_key().get(key) || field.value().get(v))
            return;
        json::od::json_type t;
        if (v.type().get(t))
            return;
        std::string_view s;
        if (t == json::od::json_type::string) {
            if (v.get_string().get(s))
                return;
            if (key == "type")
                out.type.assign(s);
            else if (key == "code")
                out.code.assign(s);
            else if (key == "message")
                out.message.assign(s);
        } else if (t == json::od::json_type::number && key == "code") {
            if (json::raw_of(v).get(s))
                return;
            out.code.assign(s);
        }
    }
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
    json::pad(text);
    json::od::document doc;
    json::od::object root;
    bool understood = false;
    if (!json::thread_parser().iterate(text).get(doc) && !doc.get_object().get(root)) {
        understood = true;
        for (auto field : root) {
            std::string_view key;
            json::od::value v;
            if (field.unescaped_key().get(key) || field.value().get(v)) {
                understood = false;
                break;
            }
            if (key == "error") {
                json::od::json_type t;
                if (v.type().get(t)) {
                    understood = false;
                    break;
                }
                if (t == json::od::json_type::object) {
                    json::od::object inner;
                    if (v.get_object().get(inner)) {
                        understood = false;
                        break;
                    }
                    read_error_fields(inner, out);
                } else if (t == json::od::json_type::string) {
                    std::string_view s;
                    if (!v.get_string().get(s))
                        out.message.assign(s);
                }
            } else if (key == "message" || key == "type" || key == "code") {
                // Flat shape. Anthropic's top-level "type" is just "error": the inner one wins.
                json::od::json_type t;
                if (v.type().get(t))
                    break;
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
        }
    }
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
    RetryPolicy retry{};
};

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
            auto r = http::perform_streaming(make_request(ep, body, left), on_chunk);
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

/// Checks what a body cannot carry or the provider would refuse before sending anything:
/// non-finite numbers, and tool JSON that does not parse or is not of the expected kind.
inline Result<void> check_params(const Request& req, bool tool_choice_may_be_string) {
    if (req.model.empty())
        return fail(ErrorCode::invalid_argument, "the request has no model id");
    if (req.messages.empty())
        return fail(ErrorCode::invalid_argument, "the request has no messages");
    const GenerationParams& p = req.params;
    if ((p.temperature && !json::finite(*p.temperature)) || (p.top_p && !json::finite(*p.top_p)))
        return fail(ErrorCode::invalid_argument, "temperature and top_p must be finite numbers");
    if (!p.tools_json.empty() && json::validate(p.tools_json) != json::Kind::array)
        return fail(ErrorCode::invalid_argument, "GenerationParams::tools_json is not a JSON array");
    if (!p.tool_choice_json.empty()) {
        const json::Kind k = json::validate(p.tool_choice_json);
        if (!(k == json::Kind::object || (tool_choice_may_be_string && k == json::Kind::string)))
            return fail(ErrorCode::invalid_argument,
                        tool_choice_may_be_string
                            ? "GenerationParams::tool_choice_json is not a JSON object or string"
                            : "GenerationParams::tool_choice_json is not a JSON object");
    }
    return {};
}

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
