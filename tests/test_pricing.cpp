// Published prices and cost arithmetic.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using namespace llmcache;

namespace {

void check_price(std::string_view model, double in, double out) {
    INFO(model);
    const auto p = published_price(model);
    REQUIRE(p);
    CHECK(p->input_per_mtok == Approx(in));
    CHECK(p->output_per_mtok == Approx(out));
}

constexpr Usage usage(std::optional<std::uint64_t> in, std::optional<std::uint64_t> out,
                      std::optional<std::uint64_t> cache_read = std::nullopt,
                      std::optional<std::uint64_t> cache_write = std::nullopt) {
    Usage u;
    u.input_tokens = in;
    u.output_tokens = out;
    u.cache_read_input_tokens = cache_read;
    u.cache_creation_input_tokens = cache_write;
    return u;
}

std::optional<Price> house_price(std::string_view model) noexcept {
    if (model == "house-model")
        return Price{2.0, 4.0, 0.0, 0.0};
    return std::nullopt;
}

} // namespace

TEST_CASE("pricing: published prices of the documented models", "[pricing]") {
    check_price("claude-sonnet-4-5", 3.0, 15.0);
    check_price("claude-haiku-4-5", 1.0, 5.0);
    check_price("claude-opus-4-5", 5.0, 25.0);
    check_price("claude-opus-4-1", 15.0, 75.0);
    check_price("claude-sonnet-4", 3.0, 15.0);
    check_price("gpt-4o", 2.50, 10.0);
    check_price("gpt-4o-mini", 0.15, 0.60);
    check_price("gpt-4.1", 2.0, 8.0);
    check_price("gpt-4.1-mini", 0.40, 1.60);
    check_price("gpt-4.1-nano", 0.10, 0.40);

    const auto sonnet = published_price("claude-sonnet-4-5");
    REQUIRE(sonnet);
    CHECK(sonnet->cache_read_per_mtok == Approx(0.30));
    CHECK(sonnet->cache_write_per_mtok == Approx(3.75));
    const auto haiku = published_price("claude-haiku-4-5");
    REQUIRE(haiku);
    CHECK(haiku->cache_read_per_mtok == Approx(0.10));
    CHECK(haiku->cache_write_per_mtok == Approx(1.25));

    // Usable at compile time.
    static_assert(published_price("claude-haiku-4-5")->output_per_mtok == 5.0);
    static_assert(!published_price("no-such-model"));
}

TEST_CASE("pricing: dated snapshots resolve; longer ids are not priced as their prefixes", "[pricing]") {
    check_price("claude-sonnet-4-5-20250929", 3.0, 15.0);
    check_price("claude-haiku-4-5-20251001", 1.0, 5.0);
    check_price("claude-opus-4-1-20250805", 15.0, 75.0);
    check_price("claude-sonnet-4-20250514", 3.0, 15.0);
    check_price("gpt-4o-2024-08-06", 2.50, 10.0);
    check_price("gpt-4o-mini-2024-07-18", 0.15, 0.60);  // not gpt-4o's price
    check_price("gpt-4.1-mini-2025-04-14", 0.40, 1.60); // not gpt-4.1's price
    check_price("gpt-4.1-2025-04-14", 2.0, 8.0);
}

TEST_CASE("pricing: unknown models have no price", "[pricing]") {
    for (std::string_view model :
         {"", "my-local-llama", "claude", "claude-sonnet", "gpt-4", "gpt-3.5-turbo", "CLAUDE-SONNET-4-5",
          " claude-sonnet-4-5", "simulated:claude-sonnet-4-5"}) {
        INFO("'" << model << "'");
        CHECK_FALSE(published_price(model));
    }
}

TEST_CASE("pricing: cost_of arithmetic", "[pricing]") {
    const Price sonnet{3.0, 15.0, 0.30, 3.75};
    CHECK(*cost_of(usage(1'000'000, 1'000'000), sonnet) == Approx(18.0));
    CHECK(*cost_of(usage(1234, 567), sonnet) == Approx((1234 * 3.0 + 567 * 15.0) / 1e6));
    CHECK(*cost_of(usage(1000, std::nullopt), sonnet) == Approx(0.003));
    CHECK(*cost_of(usage(std::nullopt, 1000), sonnet) == Approx(0.015));
    // Provider prompt-cache tokens at their own prices.
    CHECK(*cost_of(usage(100, 200, 10'000, 2'000), sonnet) ==
          Approx((100 * 3.0 + 200 * 15.0 + 10'000 * 0.30 + 2'000 * 3.75) / 1e6));
    // Known zero is free, which is not unknown.
    const auto zero = cost_of(usage(0, 0), sonnet);
    REQUIRE(zero);
    CHECK(*zero == 0.0);
    static_assert(*cost_of(Usage{std::uint64_t{2'000'000}, std::uint64_t{0}, std::nullopt, std::nullopt},
                           Price{1.0, 5.0, 0.0, 0.0}) == 2.0);
}

TEST_CASE("pricing: unknown usage has no cost", "[pricing]") {
    const Price sonnet{3.0, 15.0, 0.30, 3.75};
    CHECK_FALSE(cost_of(Usage{}, sonnet));
    CHECK_FALSE(cost_of(usage(std::nullopt, std::nullopt, 500, 500), sonnet));
}

TEST_CASE("pricing: the Cache bills and saves at CacheOptions::price_of", "[pricing][cache]") {
    CacheOptions options;
    options.price_of = &house_price;
    Cache cache{Xxh3Key<>{},
                MemoryStore{},
                ExactOnly{},
                ttl::None{},
                CallableBackend{[](const Request&) {
                    Response r;
                    r.text = "ok";
                    r.stop_reason = StopReason::end_turn;
                    r.usage.input_tokens = 500'000;
                    r.usage.output_tokens = 250'000;
                    return r;
                }},
                NullObserver{},
                options};
    const Request priced = Request::chat("house-model", "hello");
    const Request unpriced = Request::chat("claude-sonnet-4-5", "hello"); // not known to house_price
    REQUIRE(cache.invoke(priced));
    REQUIRE(cache.invoke(priced)->cache_hit);
    REQUIRE(cache.invoke(unpriced));
    REQUIRE(cache.invoke(unpriced)->cache_hit);
    const CacheStats s = cache.stats();
    CHECK(s.dollars_billed == Approx(0.5 * 2.0 + 0.25 * 4.0)); // $2.00
    CHECK(s.dollars_saved == Approx(2.0));
    CHECK(s.input_tokens_saved == 1'000'000);
}
