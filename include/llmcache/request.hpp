// Request: everything about a chat call that can change its answer, plus the cache scope.
#pragma once

#include "config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

enum class Role { user, assistant, tool };

constexpr std::string_view to_string(Role role) noexcept {
    switch (role) {
    case Role::user:
        return "user";
    case Role::assistant:
        return "assistant";
    case Role::tool:
        return "tool";
    }
    return "user";
}

struct Message {
    Role role = Role::user;
    std::string content;
};

/// Generation parameters. An unset optional means "the provider's default", which is a different
/// request from any explicit value, so unset and set are keyed differently.
struct GenerationParams {
    std::optional<double> temperature{};
    std::optional<int> max_tokens{};
    std::optional<double> top_p{};
    std::optional<int> top_k{};
    std::vector<std::string> stop_sequences{}; ///< a set: order and duplicates do not matter
    std::string tools_json{};                  ///< tool definitions, opaque JSON, passed through
    std::string tool_choice_json{};            ///< opaque JSON, passed through
};

struct Request {
    std::string model;             ///< provider model id, e.g. "claude-sonnet-4-5"
    std::string system;            ///< system prompt (may be empty)
    std::vector<Message> messages; ///< the conversation; usually ends with a user message
    GenerationParams params{};
    std::string scope; ///< tenant / user namespace; entries never cross scopes

    /// The common case: one user message.
    static Request chat(std::string model, std::string user_text, std::string system = {},
                        std::string scope = {}) {
        Request r;
        r.model = std::move(model);
        r.system = std::move(system);
        r.messages.push_back(Message{Role::user, std::move(user_text)});
        r.scope = std::move(scope);
        return r;
    }

    /// The text of the last user message, or an empty view when there is none.
    std::string_view last_user_text() const noexcept {
        for (auto it = messages.rbegin(); it != messages.rend(); ++it)
            if (it->role == Role::user)
                return it->content;
        return {};
    }
};

LLMCACHE_END_NAMESPACE
