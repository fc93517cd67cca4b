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
    std::size_t size = 200 + req.system.size() + p.tools_json.size() + p.tool_choice_json.size();
    for (const Message& m : req.messages)
        size += m.content.size() + 40;
    JsonWriter w;
    w.reserve(size);
    w.begin_object();
    w.key("model").value(req.model);
    w.key("messages").begin_array();
    if (!req.system.empty()) {
        w.begin_object();
        w.key("role").value("system");
        w.key("content").value(req.system);
        w.end_object();
    }
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
        const Message& m = req.messages[i];
        if (m.role == Role::tool) {
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
            continue;
        }
        w.begin_object();
        w.key("role").value(m.role == Role::assistant ? "assistant" : "user");
        w.key("content").value(m.content);
        w.end_object();
    }
    w.end_array();
    if (p.max_tokens)
        w.key(o.max_tokens_field).value(*p.max_tokens);
    if (p.temperature)
        w.key("temperature").value(*p.temperature);
    if (p.top_p)
        w.key("top_p").value(*p.top_p);
    if (p.top_k) // not an OpenAI parameter; vLLM and llama.cpp accept it, OpenAI refuses it (400)
        w.key("top_k").value(*p.top_k);
    if (!p.stop_sequences.empty()) {
        w.key("stop").begin_array();
        for (const std::string& s : p.stop_sequences)
            w.value(s);
        w.end_array();
    }
    if (!p.tools_json.empty())
        w.key("tools").raw(p.tools_json);
    if (!p.tool_choice_json.empty())
        w.key("tool_choice").raw(p.tool_choice_json);
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
    bool null = false;
    if (auto e = v.is_null().get(null))
        return e;
    if (null)
        return simdjson::SUCCESS;
    json::od::object o;
    if (auto e = v.get_object().get(o))
        return e;
    std::optional<std::uint64_t> prompt, completion, cached;
    for (auto field : o) {
        std::string_view key;
        json::od::value fv;
        if (auto e = field.unescaped_key().get(key))
            return e;
        if (auto e = field.value().get(fv))
            return e;
        simdjson::error_code e = simdjson::SUCCESS;
        if (key == "prompt_tokens") {
            e = json::read_count(fv, prompt);
        } else if (key == "completion_tokens") {
            e = json::read_count(fv, completion);
        } else if (key == "prompt_tokens_details") {
            bool details_null = false;
            if ((e = fv.is_null().get(details_null)))
                return e;
            if (details_null)
                continue;
            json::od::object d;
            if ((e = fv.get_object().get(d)))
                return e;
            for (auto df : d) {
                std::string_view dk;
                json::od::value dv;
                if ((e = df.unescaped_key().get(dk)) || (e = df.value().get(dv)))
                    return e;
                if (dk == "cached_tokens" && (e = json::read_count(dv, cached)))
                    return e;
            }
        }
        if (e)
            return e;
    }
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

inline Error error_from(std::string_view json_text) {
    const provider::ErrorBody b = provider::parse_error_body(json_text);
    return Error{provider::code_for_type(b), provider::error_message(provider_name, 0, b, {}, {}), 0, {}};
}

/// Reads a chat.completion (HTTP 200). `body` is padded in place. The first choice is the answer;
/// message.tool_calls is kept as the provider's JSON in Response::tool_calls_json; a refusal with
/// no content becomes the text with StopReason::refusal. Missing usage stays unknown.
inline Result<Response> parse_completion(std::string& body) {
    auto bad = [](std::string_view what) { return json::bad_answer(provider_name, what); };
    auto bad_json = [&](simdjson::error_code e) { return bad(json::describe(e)); };
    json::pad(body);
    json::od::document doc;
    json::od::object root;
    if (auto e = json::thread_parser().iterate(body).get(doc))
        return bad_json(e);
    if (auto e = doc.get_object().get(root))
        return bad_json(e);
    Response r;
    bool has_choice = false, has_message = false, has_error = false;
    std::string refusal;
    for (auto field : root) {
        std::string_view key;
        json::od::value v;
        if (auto e = field.unescaped_key().get(key))
            return bad_json(e);
        if (auto e = field.value().get(v))
            return bad_json(e);
        if (key == "model") {
            std::string_view s;
            if (auto e = v.get_string().get(s))
                return bad_json(e);
            r.model.assign(s);
        } else if (key == "usage") {
            if (auto e = read_usage(v, r.usage))
                return bad_json(e);
        } else if (key == "error") {
            has_error = true;
        } else if (key == "choices") {
            json::od::array choices;
            if (auto e = v.get_array().get(choices))
                return bad_json(e);
            for (auto element : choices) {
                json::od::object choice;
                if (auto e = element.get_object().get(choice))
                    return bad_json(e);
                if (has_choice)
                    continue; // n > 1: the first choice is the answer
                has_choice = true;
                for (auto cf : choice) {
                    std::string_view ck;
                    json::od::value cv;
                    if (auto e = cf.unescaped_key().get(ck))
                        return bad_json(e);
                    if (auto e = cf.value().get(cv))
                        return bad_json(e);
                    if (ck == "finish_reason") {
                        std::string s;
                        if (auto e = json::read_string_or_null(cv, s))
                            return bad_json(e);
                        r.stop_reason = finish_reason_from(s);
                    } else if (ck == "message") {
                        json::od::object m;
                        if (auto e = cv.get_object().get(m))
                            return bad_json(e);
                        has_message = true;
                        for (auto mf : m) {
                            std::string_view mk;
                            json::od::value mv;
                            if (auto e = mf.unescaped_key().get(mk))
                                return bad_json(e);
                            if (auto e = mf.value().get(mv))
                                return bad_json(e);
                            simdjson::error_code e = simdjson::SUCCESS;
                            if (mk == "content") {
                                e = json::read_string_or_null(mv, r.text);
                            } else if (mk == "refusal") {
                                e = json::read_string_or_null(mv, refusal);
                            } else if (mk == "tool_calls") {
                                bool null = false;
                                if (!(e = mv.is_null().get(null)) && !null) {
                                    json::od::array calls;
                                    std::string_view raw;
                                    if (!(e = mv.get_array().get(calls)) && !(e = calls.raw_json().get(raw)))
                                        r.tool_calls_json.assign(raw);
                                }
                            }
                            if (e)
                                return bad_json(e);
                        }
                    }
                }
            }
        }
    }
    if (has_error)
        return unexpected<Error>(error_from(body));
    if (!has_choice || !has_message)
        return bad("no choices[0].message");
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
        scratch_.assign(ev.data);
        json::pad(scratch_);
        std::string text;
        if (!read_chunk(text))
            return false;
        deliver(std::string_view(text));
        return true;
    }

    Result<Response> finish(bool cut) {
        if (error_)
            return unexpected<Error>(*error_);
        if (!done_)
            return json::bad_answer(provider_name, cut ? "the stream was cut inside an event, before [DONE]"
                                                       : "the stream ended before [DONE]");
        if (!tools_.empty()) {
            JsonWriter w;
            w.begin_array();
            for (const ToolCall& t : tools_) {
                w.begin_object();
                w.key("id").value(t.id);
                w.key("type").value("function");
                w.key("function")
                    .begin_object()
                    .key("name")
                    .value(t.name)
                    .key("arguments")
                    .value(t.arguments);
                w.end_object().end_object();
            }
            w.end_array();
            resp_.tool_calls_json = std::move(w).str();
        }
        if (resp_.text.empty() && !refusal_.empty()) {
            resp_.text = std::move(refusal_);
            resp_.stop_reason = StopReason::refusal;
        }
        resp_.created = std::chrono::system_clock::now();
        return std::move(resp_);
    }

private:
    struct ToolCall {
        std::uint64_t index = 0;
        std::string id, name, arguments;
    };

    bool malformed(simdjson::error_code e) {
        error_ = json::bad_answer(provider_name, "malformed stream chunk: " + json::describe(e)).error();
        return false;
    }

    ToolCall& tool_at(std::uint64_t index) {
        for (ToolCall& t : tools_)
            if (t.index == index)
                return t;
        tools_.push_back(ToolCall{index, {}, {}, {}});
        return tools_.back();
    }

    simdjson::error_code read_tool_calls(json::od::value& v) {
        bool null = false;
        if (auto e = v.is_null().get(null); e || null)
            return e;
        json::od::array calls;
        if (auto e = v.get_array().get(calls))
            return e;
        for (auto element : calls) {
            json::od::object call;
            if (auto e = element.get_object().get(call))
                return e;
            std::uint64_t index = 0;
            std::string_view id, name, arguments;
            for (auto f : call) {
                std::string_view k;
                json::od::value fv;
                if (auto e = f.unescaped_key().get(k))
                    return e;
                if (auto e = f.value().get(fv))
                    return e;
                simdjson::error_code e = simdjson::SUCCESS;
                if (k == "index") {
                    e = fv.get_uint64().get(index);
                } else if (k == "id") {
                    e = fv.get_string().get(id);
                } else if (k == "function") {
                    json::od::object fn;
                    if ((e = fv.get_object().get(fn)))
                        return e;
                    for (auto ff : fn) {
                        std::string_view fk;
                        json::od::value ffv;
                        if ((e = ff.unescaped_key().get(fk)) || (e = ff.value().get(ffv)))
                            return e;
                        if (fk == "name")
                            e = ffv.get_string().get(name);
                        else if (fk == "arguments")
                            e = ffv.get_string().get(arguments);
                        if (e)
                            return e;
                    }
                }
                if (e)
                    return e;
            }
            ToolCall& t = tool_at(index);
            t.id.append(id);
            t.name.append(name);
            t.arguments.append(arguments);
        }
        return simdjson::SUCCESS;
    }

    bool read_chunk(std::string& text) {
        json::od::document doc;
        json::od::object root;
        if (auto e = json::thread_parser().iterate(scratch_).get(doc))
            return malformed(e);
        if (auto e = doc.get_object().get(root))
            return malformed(e);
        bool has_error = false;
        for (auto field : root) {
            std::string_view key;
            json::od::value v;
            if (auto e = field.unescaped_key().get(key))
                return malformed(e);
            if (auto e = field.value().get(v))
                return malformed(e);
            simdjson::error_code e = simdjson::SUCCESS;
            if (key == "error") {
                has_error = true;
            } else if (key == "model") {
                std::string_view s;
                if (!(e = v.get_string().get(s)))
                    resp_.model.assign(s);
            } else if (key == "usage") {
                e = read_usage(v, resp_.usage);
            } else if (key == "choices") {
                json::od::array choices;
                if ((e = v.get_array().get(choices)))
                    return malformed(e);
                for (auto element : choices) {
                    json::od::object choice;
                    if ((e = element.get_object().get(choice)))
                        return malformed(e);
                    std::uint64_t index = 0;
                    std::string_view content, refusal;
                    std::string finish;
                    bool has_finish = false;
                    for (auto cf : choice) {
                        std::string_view ck;
                        json::od::value cv;
                        if ((e = cf.unescaped_key().get(ck)) || (e = cf.value().get(cv)))
                            return malformed(e);
                        if (ck == "index") {
                            e = cv.get_uint64().get(index);
                        } else if (ck == "finish_reason") {
                            e = json::read_string_or_null(cv, finish);
                            has_finish = !e && !finish.empty();
                        } else if (ck == "delta") {
                            json::od::object d;
                            if ((e = cv.get_object().get(d)))
                                return malformed(e);
                            for (auto df : d) {
                                std::string_view dk;
                                json::od::value dv;
                                if ((e = df.unescaped_key().get(dk)) || (e = df.value().get(dv)))
                                    return malformed(e);
                                bool null = false;
                                if (dk == "content" || dk == "refusal") {
                                    if (!(e = dv.is_null().get(null)) && !null)
                                        e = dv.get_string().get(dk == "content" ? content : refusal);
                                } else if (dk == "tool_calls") {
                                    e = read_tool_calls(dv);
                                }
                                if (e)
                                    return malformed(e);
                            }
                        }
                        if (e)
                            return malformed(e);
                    }
                    if (index != 0)
                        continue; // n > 1: the first choice is the answer
                    resp_.text.append(content);
                    text.append(content);
                    refusal_.append(refusal);
                    if (has_finish)
                        resp_.stop_reason = finish_reason_from(finish);
                }
            }
            if (e)
                return malformed(e);
        }
        if (has_error) {
            error_ = error_from(scratch_);
            return false;
        }
        return true;
    }

    Response resp_{};
    std::vector<ToolCall> tools_{};
    std::string refusal_{};
    std::optional<Error> error_{};
    std::string scratch_{};
    bool done_ = false;
};

} // namespace detail::openai
LLMCACHE_END_NAMESPACE
