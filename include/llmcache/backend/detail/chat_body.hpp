// The parts of a chat request body that the Messages and Chat Completions APIs spell alike: the
// checks made before anything is sent, plain-text messages, and the sampling parameters and tools.
// (What differs, max_tokens, the system prompt, tool messages, streaming options, stays in each
// provider's *_wire.hpp.)
#pragma once

#include "../../config.hpp"
#include "../../detail/json_write.hpp"
#include "../../error.hpp"
#include "../../request.hpp"
#include "json.hpp"

#include <cstddef>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::provider {

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

/// Room to reserve for a body: `fixed` bytes of structure and fields, plus the texts it carries.
inline std::size_t body_size_hint(const Request& req, std::size_t fixed) {
    const GenerationParams& p = req.params;
    std::size_t size = fixed + req.system.size() + p.tools_json.size() + p.tool_choice_json.size();
    for (const Message& m : req.messages)
        size += m.content.size() + 40;
    return size;
}

/// {"role":"<role>","content":"<content>"}: a message whose content is plain text.
inline void write_text_message(JsonWriter& w, std::string_view role, std::string_view content) {
    w.begin_object();
    w.key("role").value(role);
    w.key("content").value(content);
    w.end_object();
}

/// temperature, top_p, top_k, the stop list under `stop_field`, tools and tool_choice, each when
/// set (tools and tool_choice are the caller's JSON, checked by check_params, passed through).
inline void write_sampling(JsonWriter& w, const GenerationParams& p, std::string_view stop_field) {
    if (p.temperature)
        w.key("temperature").value(*p.temperature);
    if (p.top_p)
        w.key("top_p").value(*p.top_p);
    if (p.top_k)
        w.key("top_k").value(*p.top_k);
    if (!p.stop_sequences.empty()) {
        w.key(stop_field).begin_array();
        for (const std::string& s : p.stop_sequences)
            w.value(s);
        w.end_array();
    }
    if (!p.tools_json.empty())
        w.key("tools").raw(p.tools_json);
    if (!p.tool_choice_json.empty())
        w.key("tool_choice").raw(p.tool_choice_json);
}

} // namespace detail::provider
LLMCACHE_END_NAMESPACE
