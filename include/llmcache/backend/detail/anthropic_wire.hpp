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
#include "chat_body.hpp"
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
inline simdjson::error_code read_anthropic_usage(json::od::value& v, Usage& u) {
    return json::for_each_field(v, [&](std::string_view key, json::od::value& count) -> simdjson::error_code {
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
            return simdjson::SUCCESS;
        std::optional<std::uint64_t> n;
        if (auto e = json::read_count(count, n))
            return e;
        if (n)
            *slot = n;
        return simdjson::SUCCESS;
    });
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
    JsonWriter w;
    w.reserve(provider::body_size_hint(req, 160));
    w.begin_object();
    w.key("model").value(req.model);
    w.key("max_tokens").value(p.max_tokens ? *p.max_tokens : default_max_tokens);
    if (!req.system.empty())
        w.key("system").value(req.system);
    w.key("messages").begin_array();
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
        const Message& m = req.messages[i];
        if (m.role != Role::tool) {
            provider::write_text_message(w, to_string(m.role), m.content);
            continue;
        }
        const json::Kind k = json::validate(m.content);
        if (k != json::Kind::array && k != json::Kind::object)
            return fail(ErrorCode::invalid_argument,
                        "message " + std::to_string(i) +
                            ": a tool message must hold the content blocks as JSON (tool_result blocks)");
        w.begin_object();
        w.key("role").value("user");
        w.key("content");
        if (k == json::Kind::array) {
            w.raw(m.content);
        } else {
            w.begin_array().raw(m.content).end_array();
        }
        w.end_object();
    }
    w.end_array();
    provider::write_sampling(w, p, "stop_sequences");
    if (stream)
        w.key("stream").value(true);
    w.end_object();
    return std::move(w).str();
}

/// Reads a Messages API answer (HTTP 200). `body` is padded in place for simdjson.
/// Text blocks are joined into Response::text; tool_use blocks are kept as a JSON array in
/// Response::tool_calls_json. Missing usage counts stay unknown.
inline Result<Response> parse_message(std::string& body) {
    Response r;
    bool has_content = false;
    bool is_error = false;
    JsonWriter tools; // a JSON array of the tool_use blocks, begun at the first one
    auto read_block = [&](json::od::value& element) -> simdjson::error_code {
        std::string_view type, text, id, name, input;
        auto read_block_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "type")
                return v.get_string().get(type);
            if (key == "text")
                return v.get_string().get(text);
            if (key == "id")
                return v.get_string().get(id);
            if (key == "name")
                return v.get_string().get(name);
            if (key == "input")
                return json::raw_of(v).get(input);
            return simdjson::SUCCESS;
        };
        if (auto e = json::for_each_field(element, read_block_field))
            return e;
        // The views into simdjson's string buffer stay valid until the parser reads another document.
        if (type == "text") {
            r.text.append(text);
        } else if (type == "tool_use") {
            if (tools.view().empty())
                tools.begin_array();
            write_tool_use(tools, id, name, input);
        }
        return simdjson::SUCCESS;
    };
    auto read_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
        if (key == "type") {
            std::string_view t;
            if (auto e = v.get_string().get(t))
                return e;
            is_error = t == "error";
        } else if (key == "model") {
            return json::read_string(v, r.model);
        } else if (key == "stop_reason") {
            std::string s;
            if (auto e = json::read_string_or_null(v, s))
                return e;
            r.stop_reason = provider::stop_reason_from(s);
        } else if (key == "stop_sequence") {
            return json::read_string_or_null(v, r.stop_sequence);
        } else if (key == "usage") {
            return read_anthropic_usage(v, r.usage);
        } else if (key == "content") {
            has_content = true;
            return json::for_each_element(v, read_block);
        }
        return simdjson::SUCCESS;
    };
    if (auto e = json::read_object(body, read_field))
        return json::bad_answer(provider_name, json::describe(e));
    if (is_error)
        return unexpected<Error>(provider::answer_error(provider_name, body));
    if (!has_content)
        return json::bad_answer(provider_name, "no content array");
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
        return s_.read_event(
            ev.data, [&](std::string& text) { return read_event(text); }, deliver);
    }

    Result<Response> finish(bool cut) {
        if (s_.error)
            return unexpected<Error>(*s_.error);
        if (!stopped_)
            return json::bad_answer(provider_name,
                                    cut ? "the stream was cut inside an event, before message_stop"
                                        : "the stream ended before message_stop");
        if (!started_)
            return json::bad_answer(provider_name, "the stream had no message_start");
        if (!s_.tools.empty()) {
            JsonWriter w;
            w.begin_array();
            for (const auto& t : s_.tools) {
                if (!t.input.empty() && json::validate(t.input) != json::Kind::object)
                    return json::bad_answer(provider_name, "a tool_use input streamed is not a JSON object");
                write_tool_use(w, t.id, t.name, t.input);
            }
            w.end_array();
            s_.response.tool_calls_json = std::move(w).str();
        }
        return s_.take();
    }

private:
    bool malformed(simdjson::error_code e) { return s_.malformed(provider_name, "event", e); }

    bool read_event(std::string& text) {
        std::string_view type, block_type, block_id, block_name, block_text, delta_type, delta_text, partial;
        std::string stop_reason, stop_sequence;
        bool has_stop_reason = false, has_stop_sequence = false, has_error = false;
        std::uint64_t index = 0;
        auto read_message = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "model")
                return json::read_string(v, s_.response.model);
            if (key == "usage")
                return read_anthropic_usage(v, s_.response.usage);
            return simdjson::SUCCESS;
        };
        auto read_block = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "type")
                return v.get_string().get(block_type);
            if (key == "id")
                return v.get_string().get(block_id);
            if (key == "name")
                return v.get_string().get(block_name);
            if (key == "text")
                return v.get_string().get(block_text);
            return simdjson::SUCCESS;
        };
        auto read_delta = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "type")
                return v.get_string().get(delta_type);
            if (key == "text")
                return v.get_string().get(delta_text);
            if (key == "partial_json")
                return v.get_string().get(partial);
            if (key == "stop_reason") {
                has_stop_reason = true;
                return json::read_string_or_null(v, stop_reason);
            }
            if (key == "stop_sequence") {
                has_stop_sequence = true;
                return json::read_string_or_null(v, stop_sequence);
            }
            return simdjson::SUCCESS;
        };
        auto read_field = [&](std::string_view key, json::od::value& v) -> simdjson::error_code {
            if (key == "type")
                return v.get_string().get(type);
            if (key == "index")
                return v.get_uint64().get(index);
            if (key == "message") // message_start
                return json::for_each_field(v, read_message);
            if (key == "content_block")
                return json::for_each_field(v, read_block);
            if (key == "delta")
                return json::for_each_field(v, read_delta);
            if (key == "usage") // message_delta: cumulative counts
                return read_anthropic_usage(v, s_.response.usage);
            if (key == "error")
                has_error = true;
            return simdjson::SUCCESS;
        };
        if (auto e = json::read_object(s_.event, read_field))
            return malformed(e);

        if (type == "message_start") {
            started_ = true;
        } else if (type == "content_block_start") {
            if (block_type == "text")
                append(text, block_text);
            else if (block_type == "tool_use")
                s_.tools.push_back({index, std::string(block_id), std::string(block_name), {}});
        } else if (type == "content_block_delta") {
            if (delta_type == "text_delta") {
                append(text, delta_text);
            } else if (delta_type == "input_json_delta") {
                auto* t = s_.tool(index);
                if (t == nullptr)
                    return s_.stop(
                        json::bad_answer(provider_name, "input_json_delta for a block that is not tool_use")
                            .error());
                t->input.append(partial);
            }
        } else if (type == "message_delta") {
            if (has_stop_reason)
                s_.response.stop_reason = provider::stop_reason_from(stop_reason);
            if (has_stop_sequence)
                s_.response.stop_sequence = std::move(stop_sequence);
        } else if (type == "message_stop") {
            stopped_ = true;
        } else if (type == "error" || has_error) {
            return s_.stop(provider::answer_error(provider_name, s_.event));
        }
        return true;
    }

    void append(std::string& text, std::string_view piece) {
        s_.response.text.append(piece);
        text.append(piece);
    }

    provider::StreamedAnswer s_{};
    bool started_ = false;
    bool stopped_ = false;
};

} // namespace detail::anthropic
LLMCACHE_END_NAMESPACE
