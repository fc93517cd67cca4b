// Published per-token prices, for the dollars a call cost or a hit saved.
//
// Figures are USD per million tokens from the providers' pricing pages as published in 2025-2026
// (Anthropic: platform.claude.com pricing; OpenAI: openai.com/api/pricing). Prices change:
// pass your own function in CacheOptions::price_of when you need different ones.
#pragma once

#include "config.hpp"
#include "response.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

struct Price {
    double input_per_mtok = 0;
    double output_per_mtok = 0;
    double cache_read_per_mtok = 0;  ///< provider prompt-cache reads
    double cache_write_per_mtok = 0; ///< provider prompt-cache writes (5-minute)
};

namespace detail {
struct PriceRow {
    std::string_view prefix;
    Price price;
};
// At namespace scope rather than inside published_price, where the table was copied onto the
// stack (672 bytes) on every call, i.e. on every cache hit and miss.
// Rows are ordered so that a longer id precedes any id it extends ("gpt-4o-mini" before "gpt-4o").
inline constexpr PriceRow published_prices[] = {
    {"claude-sonnet-4-5", {3.0, 15.0, 0.30, 3.75}}, {"claude-sonnet-4-6", {3.0, 15.0, 0.30, 3.75}},
    {"claude-sonnet-4", {3.0, 15.0, 0.30, 3.75}},   {"claude-haiku-4-5", {1.0, 5.0, 0.10, 1.25}},
    {"claude-opus-4-5", {5.0, 25.0, 0.50, 6.25}},   {"claude-opus-4-6", {5.0, 25.0, 0.50, 6.25}},
    {"claude-opus-4-7", {5.0, 25.0, 0.50, 6.25}},   {"claude-opus-4-8", {5.0, 25.0, 0.50, 6.25}},
    {"claude-opus-4-1", {15.0, 75.0, 1.50, 18.75}}, {"gpt-4o-mini", {0.15, 0.60, 0.075, 0.15}},
    {"gpt-4o", {2.50, 10.0, 1.25, 2.50}},           {"gpt-4.1-nano", {0.10, 0.40, 0.025, 0.10}},
    {"gpt-4.1-mini", {0.40, 1.60, 0.10, 0.40}},     {"gpt-4.1", {2.0, 8.0, 0.50, 2.0}},
};
} // namespace detail

/// The published price of a model id (aliases and dated snapshots), or empty when unknown.
constexpr std::optional<Price> published_price(std::string_view model) noexcept {
    for (const detail::PriceRow& row : detail::published_prices)
        if (model.starts_with(row.prefix))
            return row.price;
    return std::nullopt;
}

/// Dollars for `usage` at `price`; empty when the usage is unknown (not reported by the provider).
constexpr std::optional<double> cost_of(const Usage& usage, const Price& price) noexcept {
    if (!usage.input_tokens && !usage.output_tokens)
        return std::nullopt;
    auto n = [](const std::optional<std::uint64_t>& v) { return v ? static_cast<double>(*v) : 0.0; };
    return (n(usage.input_tokens) * price.input_per_mtok + n(usage.output_tokens) * price.output_per_mtok +
            n(usage.cache_read_input_tokens) * price.cache_read_per_mtok +
            n(usage.cache_creation_input_tokens) * price.cache_write_per_mtok) /
           1e6;
}

LLMCACHE_END_NAMESPACE
