// Response: what a model answered, with its stop reason and token usage.
#pragma once

#include "config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

/// Why generation stopped. The names follow the Anthropic Messages API; OpenAI's finish_reason
/// values map onto them (stop → end_turn, length → max_tokens, tool_calls → tool_use,
/// content_filter → refusal).
enum class StopReason : std::uint8_t {
    end_turn,
    stop_sequence,
    max_tokens,
    tool_use,
    pause_turn,
    refusal,
    context_window_exceeded,
    unknown,
};

constexpr std::string_view to_string(StopReason r) noexcept {
    switch (r) {
    case StopReason::end_turn:
        return "end_turn";
    case StopReason::stop_sequence:
        return "stop_sequence";
    case StopReason::max_tokens:
        return "max_tokens";
    case StopReason::tool_use:
        return "tool_use";
    case StopReason::pause_turn:
        return "pause_turn";
    case StopReason::refusal:
        return "refusal";
    case StopReason::context_window_exceeded:
        return "model_context_window_exceeded";
    case StopReason::unknown:
        return "unknown";
    }
    return "unknown";
}

/// Token counts as the provider reported them. A count the provider did not report is empty,
/// never zero: "unknown" and "free" are different things when you add up savings.
struct Usage {
    std::optional<std::uint64_t> input_tokens{};
    std::optional<std::uint64_t> output_tokens{};
    std::optional<std::uint64_t> cache_read_input_tokens{};     ///< provider prompt-cache reads
    std::optional<std::uint64_t> cache_creation_input_tokens{}; ///< provider prompt-cache writes

    bool operator==(const Usage&) const = default;
};

struct Response {
    std::string text;
    StopReason stop_reason = StopReason::unknown;
    std::string stop_sequence{};   ///< the matched stop sequence, when stop_reason is stop_sequence
    std::string model;             ///< the model that actually answered
    std::string tool_calls_json{}; ///< tool calls the model asked for, as the provider's JSON (opaque)
    Usage usage{};
    std::chrono::system_clock::time_point created{}; ///< when the model produced the answer
    bool cache_hit = false;                          ///< true when served from the cache

    /// True when the answer is complete: generation ended by itself or at a stop sequence.
    constexpr bool complete() const noexcept {
        return stop_reason == StopReason::end_turn || stop_reason == StopReason::stop_sequence;
    }
};

LLMCACHE_END_NAMESPACE
