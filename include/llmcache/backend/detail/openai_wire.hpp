// The OpenAI Chat Completions API on the wire (and the servers that copy it: Ollama, vLLM,
// llama.cpp's llama-server): the request body, the answer, and the chunk stream.
// Reference: POST {base}/chat/completions.
#pragma once

#include "../../config.hpp"
#include "../../detail/json_write.hpp"
#include "../../detail/sse.hpp"
#include "../../error.hpp"
#include "../../request.hpp"
#include "../../response.hpp"
#include "chat_body.hpp"
#include "json.hpp"
#include "provider.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::openai {

inline constexpr std::string_view provider_name = "OpenAI";

/// OpenAI's finish_reason in llmcache's terms. "stop" is end_turn: OpenAI does not say whether a
/// stop sequence ended the answer.
inline StopReason finish_reason_from(std::string_view s) noexcept {
    if (s == "stop")
        return StopReason::end_turn;
    if (s == "length")
        return StopReason::max_tokens;
    if (s == "tool_calls" || s == "function_call")
        return StopReason::tool_use;
    if (s == "content_filter")
        return StopReason::refusal;
    return StopReason::unknown;
}

inline std::string_view trim_json_space(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

/// How the request body is written (OpenAIOptions fills it).
struct BodyOptions {
    std::string_view max_tokens_field = "max_completion_tokens"; ///< or "max_tokens" (older servers)
    bool stream_usage = true; ///< stream_options.include_usage when streaming
};

/// The JSON body of POST /chat/completions for `req`: the system prompt becomes the first
/// message. Role::tool messages hold a JSON object with the tool message's fields (at least
/// "tool_call_id" and "content"), sent with "role":"tool".
inline Result<std::string> request_body(const Request& req, const BodyOptions& o, bool stream) {
    if (auto ok = provider::check_params(req, true); !ok)
        return unexpected<Error>(std::move(ok.error()));
    const GenerationParams& p = req.params;
    JsonWriter w;
    w.reserve(provider::body_size_hint(req, 200));
    w.begin_object();
    w.key("model").value(req.model);
    w.key("messages").begin_array();
    if (!req.system.empty())
        provider::write_text_message(w, "system", req.system);
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
        const Message& m = req.messages[i];
        if (m.role != Role::tool) {
            provider::write_text_message(w, to_string(m.role), m.content);
            continue;
        }
        if (json::validate(m.content) != json::Kind::object)
            return fail(ErrorCode::invalid_argument,
                        "message " + std::to_string(i) +
                            ": a tool message must be a JSON object with tool_call_id and content");
        // {"role":"tool", <the object's own fields>}
        const std::string_view object = trim_json_space(m.content); // "{...}", validated
        const std::string_view fields = trim_json_space(object.substr(1, object.size() - 2));
        std::string merged = "{\"role\":\"tool\"";
        if (!fields.empty()) {
            merged += ',';
            merged.append(fields);
        }
        merged += '}';
        w.raw(merged);
    }
    w.end_array();
    if (p.max_tokens)
        w.key(o.max_tokens_field).value(*p.max_tokens);
    provider::write_sampling(w, p, "stop");
    if (stream) {
        w.key("stream").value(true);
        if (o.stream_usage)
            w.key("stream_options").begin_object().key("include_usage").value(true).end_object();
    }
    w.end_object();
    return std::move(w).str();
}

/// Reads an OpenAI usage object. prompt_tokens counts the prompt-cache hits too, while
/// Usage::input_tokens means uncached input (as Anthropic reports it, and as pricing.hpp prices
/// it): input_tokens = prompt_tokens - cached_tokens, cache_read_input_tokens = cached_tokens.
inline simdjson::error_code read_usage(json::od::value& v, Usage& out) {
    std::optional<std::uint64_t> prompt, completion, cached;
    auto read_details = [&](std::string_view key, json::od::value& dv) -> simdjson::error_code {
        return key == "cached_tokens" ? json::read_count(dv, cached) : simdjson::SUCCESS;
    };
    auto read_field = [&](std::string_view key, json::od::value& fv) -> simdjson::error_code {
        if (key == "prompt_tokens")
            return json::read_count(fv, prompt);
        if (key == "completion_tokens")
            return json::read_count(fv, completion);
        if (key == "prompt_tokens_details")
            return json::for_each_field_or_null(fv, read_details);
        return simdjson::SUCCESS;
    };
    if (auto e = json::for_each_field_or_null(v, read_field))
        return e;
    if (prompt) {
        if (cached && *cached <= *prompt) {
            out.input_tokens = *prompt - *cached;
            out.cache_read_input_tokens = cached;
        } else {
            out.input_tokens = prompt;
        }
    }
    if (completion)
        out.output_tokens = completion;
    return simdjson::SUCCESS;
}

/// Reads a chat.completion (HTTP 200). `body` is padded in place. The first choice is the answer;
/// message.tool_calls is kept as the provider's JSON in Response::tool_calls_json; a refusal with
/// no content becomes the text with StopReason::refusal. Missing usage stays unknown.
inline Result<Response> parse_completion(std::string& body) {
    Response r;
    bool has_choice = false, has_message = false, has_error = false;
    std::string refusal;
    auto read_message = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
        if (key == "content")
            return json::read_string_or_null(v, r.text);
        if (key == "refusal")
            return json::read_string_or_null(v, refusal);
        if (key == "tool_calls") {
            bool null = false;
            if (auto e = v.is_null().get(null); e || null)
                return e;
            json::od::array calls;
            std::string_view raw;
            if (auto e = v.get_array().get(calls))
                return e;
            if (auto e = calls.raw_json().get(raw))
                return e;
            r.tool_calls_json.assign(raw);
        }
        return simdjson::SUCCESS;
    };
    auto read_choice_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
        if (key == "finish_reason") {
            std::string s;
            if (auto e = json::read_string_or_null(v, s))
                return e;
            r.stop_reason = finish_reason_from(s);
        } else if (key == "message") {
            json::od::object m;
            if (auto e = v.get_object().get(m))
                return e;
            has_message = true;
            return json::for_each_field(m, read_message);
        }
        return simdjson::SUCCESS;
    };
    auto read_choice = [&](json::od::value& element) -> simdjson::error_code {
        json::od::object choice;
        if (auto e = element.get_object().get(choice))
            return e;
        if (has_choice)
            return simdjson::SUCCESS; // n > 1: the first choice is the answer
        has_choice = true;
        return json::for_each_field(choice, read_choice_field);
    };
    auto read_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
        if (key == "model")
            return json::read_string(v, r.model);
        if (key == "usage")
            return read_usage(v, r.usage);
        if (key == "choices")
            return json::for_each_element(v, read_choice);
        if (key == "error")
            has_error = true;
        return simdjson::SUCCESS;
    };
    if (auto e = json::read_object(body, read_field))
        return json::bad_answer(provider_name, json::describe(e));
    if (has_error)
        return unexpected<Error>(provider::answer_error(provider_name, body));
    if (!has_choice || !has_message)
        return json::bad_answer(provider_name, "no choices[0].message");
    if (r.tool_calls_json == "[]")
        r.tool_calls_json.clear();
    if (r.text.empty() && !refusal.empty()) {
        r.text = std::move(refusal);
        r.stop_reason = StopReason::refusal;
    }
    r.created = std::chrono::system_clock::now();
    return r;
}

/// Assembles a chat.completion.chunk stream: content deltas are handed on, tool-call fragments
/// joined per index, finish_reason and the usage chunk (stream_options.include_usage) read. Only a
/// stream that reached `data: [DONE]` gives an answer; `data: {"error":...}` gives its error.
class StreamState {
public:
    template <class Deliver>
    bool on_event(const SseEvent& ev, Deliver& deliver) {
        if (ev.data == "[DONE]") {
            done_ = true;
            return true;
        }
        return s_.read_event(
            ev.data, [&](std::string& text) { return read_chunk(text); }, deliver);
    }

    Result<Response> finish(bool cut) {
        if (s_.error)
            return unexpected<Error>(*s_.error);
        if (!done_)
            return json::bad_answer(provider_name, cut ? "the stream was cut inside an event, before [DONE]"
                                                       : "the stream ended before [DONE]");
        if (!s_.tools.empty()) {
            JsonWriter w;
            w.begin_array();
            for (const auto& t : s_.tools) {
                w.begin_object();
                w.key("id").value(t.id);
                w.key("type").value("function");
                w.key("function").begin_object().key("name").value(t.name).key("arguments").value(t.input);
                w.end_object().end_object();
            }
            w.end_array();
            s_.response.tool_calls_json = std::move(w).str();
        }
        if (s_.response.text.empty() && !refusal_.empty()) {
            s_.response.text = std::move(refusal_);
            s_.response.stop_reason = StopReason::refusal;
        }
        return s_.take();
    }

private:
    bool malformed(simdjson::error_code e) { return s_.malformed(provider_name, "chunk", e); }

    /// The tool call at `index`, added at its first fragment.
    provider::StreamedAnswer::Tool& tool_at(std::uint64_t index) {
        if (auto* t = s_.tool(index))
            return *t;
        s_.tools.push_back({index, {}, {}, {}});
        return s_.tools.back();
    }

    simdjson::error_code read_tool_calls(json::od::value& v) {
        bool null = false;
        if (auto e = v.is_null().get(null); e || null)
            return e;
        return json::for_each_element(v, [&](json::od::value& call) -> simdjson::error_code {
            std::uint64_t index = 0;
            std::string_view id, name, arguments;
            auto read_function = [&](std::string_view key, json::od::value& fv) -> simdjson::error_code {
                if (key == "name")
                    return fv.get_string().get(name);
                if (key == "arguments")
                    return fv.get_string().get(arguments);
                return simdjson::SUCCESS;
            };
            auto read_call_field = [&](std::string_view key, json::od::value& fv) -> simdjson::error_code {
                if (key == "index")
                    return fv.get_uint64().get(index);
                if (key == "id")
                    return fv.get_string().get(id);
                if (key == "function")
                    return json::for_each_field(fv, read_function);
                return simdjson::SUCCESS;
            };
            if (auto e = json::for_each_field(call, read_call_field))
                return e;
            auto& t = tool_at(index);
            t.id.append(id);
            t.name.append(name);
            t.input.append(arguments);
            return simdjson::SUCCESS;
        });
    }

    bool read_chunk(std::string& text) {
        bool has_error = false;
        auto read_choice = [&](json::od::value& element) -> simdjson::error_code {
            std::uint64_t index = 0;
            std::string_view content, refusal;
            std::string finish;
            bool has_finish = false;
            auto read_delta = [&](std::string_view key, json::od::value& dv) -> simdjson::error_code {
                if (key == "content" || key == "refusal") {
                    bool null = false;
                    if (auto e = dv.is_null().get(null); e || null)
                        return e;
                    return dv.get_string().get(key == "content" ? content : refusal);
                }
                if (key == "tool_calls")
                    return read_tool_calls(dv);
                return simdjson::SUCCESS;
            };
            auto read_choice_field = [&](std::string_view key, json::od::value& cv) -> simdjson::error_code {
                if (key == "index")
                    return cv.get_uint64().get(index);
                if (key == "finish_reason") {
                    const simdjson::error_code e = json::read_string_or_null(cv, finish);
                    has_finish = !e && !finish.empty();
                    return e;
                }
                if (key == "delta")
                    return json::for_each_field(cv, read_delta);
                return simdjson::SUCCESS;
            };
            if (auto e = json::for_each_field(element, read_choice_field))
                return e;
            if (index != 0)
                return simdjson::SUCCESS; // n > 1: the first choice is the answer
            s_.response.text.append(content);
            text.append(content);
            refusal_.append(refusal);
            if (has_finish)
                s_.response.stop_reason = finish_reason_from(finish);
            return simdjson::SUCCESS;
        };
        auto read_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "error")
                has_error = true;
            else if (key == "model")
                return json::read_string(v, s_.response.model);
            else if (key == "usage")
                return read_usage(v, s_.response.usage);
            else if (key == "choices")
                return json::for_each_element(v, read_choice);
            return simdjson::SUCCESS;
        };
        if (auto e = json::read_object(s_.event, read_field))
            return malformed(e);
        if (has_error)
            return s_.stop(provider::answer_error(provider_name, s_.event));
        return true;
    }

    provider::StreamedAnswer s_{};
    std::string refusal_{};
    bool done_ = false;
};

} // namespace detail::openai
LLMCACHE_END_NAMESPACE
