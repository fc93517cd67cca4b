// The Anthropic Messages API on the wire: the request body built from a Request, the answer read
// into a Response, and the server-sent-event stream assembled into one.
// Reference: POST /v1/messages, anthropic-version 2023-06-01.
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
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::anthropic {

inline constexpr std::string_view provider_name = "Anthropic";

/// Reads the token counts of a usage object into `u`; counts that are absent or null are left as
/// they were (unknown, or the value an earlier stream event gave).
inline simdjson::error_code read_anthropic_usage(json::od::object& o, Usage& u) {
    for (auto field : o) {
        std::string_view key;
        json::od::value v;
        if (auto e = field.unescaped_key().get(key))
            return e;
        if (auto e = field.value().get(v))
            return e;
        std::optional<std::uint64_t>* slot = nullptr;
        if (key == "input_tokens")
            slot = &u.input_tokens;
        else if (key == "output_tokens")
            slot = &u.output_tokens;
        else if (key == "cache_read_input_tokens")
            slot = &u.cache_read_input_tokens;
        else if (key == "cache_creation_input_tokens")
            slot = &u.cache_creation_input_tokens;
        if (slot == nullptr)
            continue;
        std::optional<std::uint64_t> n;
        if (auto e = json::read_count(v, n))
            return e;
        if (n)
            *slot = n;
    }
    return simdjson::SUCCESS;
}

/// Appends one tool_use block, as the Messages API shows it, to a JSON array being written.
inline void write_tool_use(JsonWriter& w, std::string_view id, std::string_view name,
                           std::string_view input) {
    w.begin_object();
    w.key("type").value("tool_use");
    w.key("id").value(id);
    w.key("name").value(name);
    w.key("input").raw(input.empty() ? std::string_view("{}") : input);
    w.end_object();
}

/// The JSON body of POST /v1/messages for `req`. `default_max_tokens` is sent when the request
/// has none (the API requires the field). Role::tool messages carry the provider's content blocks
/// as JSON (an array of tool_result blocks, or one block) and are sent as a user turn.
inline Result<std::string> request_body(const Request& req, int default_max_tokens, bool stream) {
    if (auto ok = provider::check_params(req, false); !ok)
        return unexpected<Error>(std::move(ok.error()));
    const GenerationParams& p = req.params;
    std::size_t size = 160 + req.system.size() + p.tools_json.size() + p.tool_choice_json.size();
    for (const Message& m : req.messages)
        size += m.content.size() + 40;
    JsonWriter w;
    w.reserve(size);
    w.begin_object();
    w.key("model").value(req.model);
    w.key("max_tokens").value(p.max_tokens ? *p.max_tokens : default_max_tokens);
    if (!req.system.empty())
        w.key("system").value(req.system);
    w.key("messages").begin_array();
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
        const Message& m = req.messages[i];
        w.begin_object();
        if (m.role == Role::tool) {
            const json::Kind k = json::validate(m.content);
            if (k != json::Kind::array && k != json::Kind::object)
                return fail(ErrorCode::invalid_argument,
                            "message " + std::to_string(i) +
                                ": a tool message must hold the content blocks as JSON (tool_result blocks)");
            w.key("role").value("user");
            w.key("content");
            if (k == json::Kind::array) {
                w.raw(m.content);
            } else {
                w.begin_array().raw(m.content).end_array();
            }
        } else {
            w.key("role").value(m.role == Role::assistant ? "assistant" : "user");
            w.key("content").value(m.content);
        }
        w.end_object();
    }
    w.end_array();
    if (p.temperature)
        w.key("temperature").value(*p.temperature);
    if (p.top_p)
        w.key("top_p").value(*p.top_p);
    if (p.top_k)
        w.key("top_k").value(*p.top_k);
    if (!p.stop_sequences.empty()) {
        w.key("stop_sequences").begin_array();
        for (const std::string& s : p.stop_sequences)
            w.value(s);
        w.end_array();
    }
    if (!p.tools_json.empty())
        w.key("tools").raw(p.tools_json);
    if (!p.tool_choice_json.empty())
        w.key("tool_choice").raw(p.tool_choice_json);
    if (stream)
        w.key("stream").value(true);
    w.end_object();
    return std::move(w).str();
}

/// Reads a Messages API answer (HTTP 200). `body` is padded in place for simdjson.
/// Text blocks are joined into Response::text; tool_use blocks are kept as a JSON array in
/// Response::tool_calls_json. Missing usage counts stay unknown.
inline Result<Response> parse_message(std::string& body) {
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
    bool has_content = false;
    bool is_error = false;
    JsonWriter tools; // a JSON array of the tool_use blocks, begun at the first one
    for (auto field : root) {
        std::string_view key;
        json::od::value v;
        if (auto e = field.unescaped_key().get(key))
            return bad_json(e);
        if (auto e = field.value().get(v))
            return bad_json(e);
        if (key == "type") {
            std::string_view t;
            if (auto e = v.get_string().get(t))
                return bad_json(e);
            is_error = t == "error";
        } else if (key == "model") {
            std::string_view s;
            if (auto e = v.get_string().get(s))
                return bad_json(e);
            r.model.assign(s);
        } else if (key == "stop_reason") {
            std::string s;
            if (auto e = json::read_string_or_null(v, s))
                return bad_json(e);
            r.stop_reason = provider::stop_reason_from(s);
        } else if (key == "stop_sequence") {
            if (auto e = json::read_string_or_null(v, r.stop_sequence))
                return bad_json(e);
        } else if (key == "usage") {
            json::od::object u;
            if (auto e = v.get_object().get(u))
                return bad_json(e);
            if (auto e = read_anthropic_usage(u, r.usage))
                return bad_json(e);
        } else if (key == "content") {
            json::od::array blocks;
            if (auto e = v.get_array().get(blocks))
                return bad_json(e);
            has_content = true;
            for (auto element : blocks) {
                json::od::object block;
                if (auto e = element.get_object().get(block))
                    return bad_json(e);
                std::string_view type, text, id, name, input;
                for (auto bf : block) {
                    std::string_view bk;
                    json::od::value bv;
                    if (auto e = bf.unescaped_key().get(bk))
                        return bad_json(e);
                    if (auto e = bf.value().get(bv))
                        return bad_json(e);
                    simdjson::error_code e = simdjson::SUCCESS;
                    if (bk == "type")
                        e = bv.get_string().get(type);
                    else if (bk == "text")
                        e = bv.get_string().get(text);
                    else if (bk == "id")
                        e = bv.get_string().get(id);
                    else if (bk == "name")
                        e = bv.get_string().get(name);
                    else if (bk == "input")
                        e = json::raw_of(bv).get(input);
                    if (e)
                        return bad_json(e);
                }
                // The views into simdjson's string buffer stay valid for this document.
                if (type == "text") {
                    r.text.append(text);
                } else if (type == "tool_use") {
                    if (tools.view().empty())
                        tools.begin_array();
                    write_tool_use(tools, id, name, input);
                }
            }
        }
    }
    if (is_error) {
        const provider::ErrorBody b = provider::parse_error_body(body);
        return unexpected<Error>(
            Error{provider::code_for_type(b), provider::error_message(provider_name, 0, b, {}, {}), 0, {}});
    }
    if (!has_content)
        return bad("no content array");
    if (!tools.view().empty()) {
        tools.end_array();
        r.tool_calls_json = std::move(tools).str();
    }
    r.created = std::chrono::system_clock::now();
    return r;
}

/// Assembles a Messages API event stream (message_start, content_block_start/delta/stop,
/// message_delta, message_stop, ping, error) into one Response, handing text deltas on as they
/// arrive. Only a stream that reached message_stop gives an answer; an error event gives its
/// error; unknown events are ignored.
class StreamState {
public:
    template <class Deliver>
    bool on_event(const SseEvent& ev, Deliver& deliver) {
        scratch_.assign(ev.data);
        json::pad(scratch_);
        std::string text;
        if (!read_event(text))
            return false;
        deliver(std::string_view(text)); // after parsing: the callback may use the parser itself
        return true;
    }

    Result<Response> finish(bool cut) {
        if (error_)
            return unexpected<Error>(*error_);
        if (!stopped_)
            return json::bad_answer(provider_name,
                                    cut ? "the stream was cut inside an event, before message_stop"
                                        : "the stream ended before message_stop");
        if (!started_)
            return json::bad_answer(provider_name, "the stream had no message_start");
        if (!tools_.empty()) {
            JsonWriter w;
            w.begin_array();
            for (const ToolBlock& t : tools_) {
                if (!t.input.empty() && json::validate(t.input) != json::Kind::object)
                    return json::bad_answer(provider_name, "a tool_use input streamed is not a JSON object");
                write_tool_use(w, t.id, t.name, t.input);
            }
            w.end_array();
            resp_.tool_calls_json = std::move(w).str();
        }
        resp_.created = std::chrono::system_clock::now();
        return std::move(resp_);
    }

private:
    struct ToolBlock {
        std::uint64_t index = 0;
        std::string id, name, input;
    };

    bool malformed(simdjson::error_code e) {
        error_ = json::bad_answer(provider_name, "malformed stream event: " + json::describe(e)).error();
        return false;
    }

    ToolBlock* tool_at(std::uint64_t index) {
        for (ToolBlock& t : tools_)
            if (t.index == index)
                return &t;
        return nullptr;
    }

    bool read_event(std::string& text) {
        json::od::document doc;
        json::od::object root;
        if (auto e = json::thread_parser().iterate(scratch_).get(doc))
            return malformed(e);
        if (auto e = doc.get_object().get(root))
            return malformed(e);
        std::string_view type, block_type, block_id, block_name, block_text, delta_type, delta_text, partial;
        std::string stop_reason, stop_sequence;
        bool has_stop_reason = false, has_stop_sequence = false, has_error = false;
        std::uint64_t index = 0;
        for (auto field : root) {
            std::string_view key;
            json::od::value v;
            if (auto e = field.unescaped_key().get(key))
                return malformed(e);
            if (auto e = field.value().get(v))
                return malformed(e);
            simdjson::error_code e = simdjson::SUCCESS;
            if (key == "type") {
                e = v.get_string().get(type);
            } else if (key == "index") {
                e = v.get_uint64().get(index);
            } else if (key == "message") { // message_start
                json::od::object m;
                if ((e = v.get_object().get(m)))
                    return malformed(e);
                for (auto mf : m) {
                    std::string_view mk;
                    json::od::value mv;
                    if ((e = mf.unescaped_key().get(mk)) || (e = mf.value().get(mv)))
                        return malformed(e);
                    if (mk == "model") {
                        std::string_view s;
                        if ((e = mv.get_string().get(s)))
                            return malformed(e);
                        resp_.model.assign(s);
                    } else if (mk == "usage") {
                        json::od::object u;
                        if ((e = mv.get_object().get(u)) || (e = read_anthropic_usage(u, resp_.usage)))
                            return malformed(e);
                    }
                }
            } else if (key == "content_block") {
                json::od::object b;
                if ((e = v.get_object().get(b)))
                    return malformed(e);
                for (auto bf : b) {
                    std::string_view bk;
                    json::od::value bv;
                    if ((e = bf.unescaped_key().get(bk)) || (e = bf.value().get(bv)))
                        return malformed(e);
                    if (bk == "type")
                        e = bv.get_string().get(block_type);
                    else if (bk == "id")
                        e = bv.get_string().get(block_id);
                    else if (bk == "name")
                        e = bv.get_string().get(block_name);
                    else if (bk == "text")
                        e = bv.get_string().get(block_text);
                    if (e)
                        return malformed(e);
                }
            } else if (key == "delta") {
                json::od::object d;
                if ((e = v.get_object().get(d)))
                    return malformed(e);
                for (auto df : d) {
                    std::string_view dk;
                    json::od::value dv;
                    if ((e = df.unescaped_key().get(dk)) || (e = df.value().get(dv)))
                        return malformed(e);
                    if (dk == "type")
                        e = dv.get_string().get(delta_type);
                    else if (dk == "text")
                        e = dv.get_string().get(delta_text);
                    else if (dk == "partial_json")
                        e = dv.get_string().get(partial);
                    else if (dk == "stop_reason") {
                        e = json::read_string_or_null(dv, stop_reason);
                        has_stop_reason = true;
                    } else if (dk == "stop_sequence") {
                        e = json::read_string_or_null(dv, stop_sequence);
                        has_stop_sequence = true;
                    }
                    if (e)
                        return malformed(e);
                }
            } else if (key == "usage") { // message_delta: cumulative counts
                json::od::object u;
                if ((e = v.get_object().get(u)) || (e = read_anthropic_usage(u, resp_.usage)))
                    return malformed(e);
            } else if (key == "error") {
                has_error = true;
            }
            if (e)
                return malformed(e);
        }

        if (type == "message_start") {
            started_ = true;
        } else if (type == "content_block_start") {
            if (block_type == "text")
                append(text, block_text);
            else if (block_type == "tool_use")
                tools_.push_back(ToolBlock{index, std::string(block_id), std::string(block_name), {}});
        } else if (type == "content_block_delta") {
            if (delta_type == "text_delta") {
                append(text, delta_text);
            } else if (delta_type == "input_json_delta") {
                ToolBlock* t = tool_at(index);
                if (t == nullptr) {
                    error_ =
                        json::bad_answer(provider_name, "input_json_delta for a block that is not tool_use")
                            .error();
                    return false;
                }
                t->input.append(partial);
            }
        } else if (type == "message_delta") {
            if (has_stop_reason)
                resp_.stop_reason = provider::stop_reason_from(stop_reason);
            if (has_stop_sequence)
                resp_.stop_sequence = std::move(stop_sequence);
        } else if (type == "message_stop") {
            stopped_ = true;
        } else if (type == "error" || has_error) {
            const provider::ErrorBody b = provider::parse_error_body(scratch_);
            error_ = Error{
                provider::code_for_type(b), provider::error_message(provider_name, 0, b, {}, {}), 0, {}};
            return false;
        }
        return true;
    }

    void append(std::string& text, std::string_view piece) {
        resp_.text.append(piece);
        text.append(piece);
    }

    Response resp_{};
    std::vector<ToolBlock> tools_{};
    std::optional<Error> error_{};
    std::string scratch_{};
    bool started_ = false;
    bool stopped_ = false;
};

} // namespace detail::anthropic
LLMCACHE_END_NAMESPACE
