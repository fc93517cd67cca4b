// TTL policies: how long an entry lives, and whether a hit extends it.
//
// A TTL policy is a plain type with
//     static constexpr bool refresh_on_hit;                 // sliding expiry
//     std::optional<std::chrono::milliseconds> ttl_for(std::string_view key) const noexcept;
//     std::optional<std::chrono::milliseconds> longest() const noexcept;   // upper bound
// where an empty optional means "never expires". Durations are validated when a policy is made:
// zero, negative or longer than ttl::limit is rejected — at compile time when the policy is a
// constant (`constexpr ttl::Fixed t{0s};` does not compile), with std::invalid_argument at run
// time (or through the non-throwing `make` factories).
#pragma once

#include "config.hpp"
#include "detail/xxhash.hpp"
#include "error.hpp"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>

LLMCACHE_BEGIN_NAMESPACE
namespace ttl {

using Duration = std::chrono::milliseconds;

/// The longest TTL llmcache accepts (ten years). Stores may declare a lower `max_ttl`.
inline constexpr Duration limit = std::chrono::duration_cast<Duration>(std::chrono::days{3650});

namespace detail {

using llmcache::detail::invalid_argument;

template <class Rep, class Period>
constexpr Duration checked(std::chrono::duration<Rep, Period> d) {
    if (!(d > std::chrono::duration<Rep, Period>::zero())) // also rejects NaN
        invalid_argument("llmcache::ttl: a TTL must be longer than zero (ttl::None never expires)");
    if (d > limit)
        invalid_argument("llmcache::ttl: a TTL must not exceed ttl::limit (3650 days)");
    auto ms = std::chrono::duration_cast<Duration>(d);
    if (ms <= Duration::zero())
        invalid_argument("llmcache::ttl: a TTL must be at least one millisecond");
    return ms;
}

inline Result<Duration> try_check(Duration d) {
    if (d <= Duration::zero())
        return fail(ErrorCode::invalid_argument, "llmcache::ttl: a TTL must be longer than zero");
    if (d > limit)
        return fail(ErrorCode::invalid_argument,
                    "llmcache::ttl: a TTL must not exceed ttl::limit (3650 days)");
    return d;
}
} // namespace detail

/// Entries never expire (they can still be evicted by the store's size bounds).
struct None {
    static constexpr bool refresh_on_hit = false;
    constexpr std::optional<Duration> ttl_for(std::string_view) const noexcept { return std::nullopt; }
    constexpr std::optional<Duration> longest() const noexcept { return std::nullopt; }
};

/// Every entry lives for the same duration from its write.
class Fixed {
public:
    static constexpr bool refresh_on_hit = false;

    template <class Rep, class Period>
    constexpr explicit Fixed(std::chrono::duration<Rep, Period> d) : ttl_(detail::checked(d)) {}

    /// Non-throwing construction for run-time values.
    static Result<Fixed> make(Duration d) {
        auto checked = detail::try_check(d);
        if (!checked)
            return unexpected<Error>(checked.error());
        return Fixed(*checked);
    }

    constexpr std::optional<Duration> ttl_for(std::string_view) const noexcept { return ttl_; }
    constexpr std::optional<Duration> longest() const noexcept { return ttl_; }
    constexpr Duration duration() const noexcept { return ttl_; }

private:
    Duration ttl_;
};

/// Wraps a policy so that every hit restarts the entry's TTL (Redis GETEX; MemoryStore's touch).
/// Hot entries stay, cold ones expire. Needs a store with `get_and_touch`.
template <class Inner = Fixed>
class Sliding {
public:
    static constexpr bool refresh_on_hit = true;

    constexpr explicit Sliding(Inner inner) : inner_(inner) {}
    template <class Rep, class Period>
    requires std::is_constructible_v<Inner, std::chrono::duration<Rep, Period>>
    constexpr explicit Sliding(std::chrono::duration<Rep, Period> d) : inner_(d) {}

    constexpr std::optional<Duration> ttl_for(std::string_view key) const noexcept {
        return inner_.ttl_for(key);
    }
    constexpr std::optional<Duration> longest() const noexcept { return inner_.longest(); }

private:
    Inner inner_;
};

/// Wraps a policy and spreads each TTL by up to ±fraction, so entries written together (a cache
/// warmed on deploy) do not all expire in the same second. The spread is derived from the key,
/// so it is deterministic, needs no random state and is safe from any thread.
template <class Inner = Fixed>
class Jittered {
public:
    static constexpr bool refresh_on_hit = Inner::refresh_on_hit;

    /// `fraction` must be in (0, 0.5]: ±50% is already a factor of three between extremes.
    constexpr Jittered(Inner inner, double fraction) : inner_(inner), fraction_(fraction) {
        if (!(fraction > 0.0 && fraction <= 0.5))
            detail::invalid_argument("llmcache::ttl::Jittered: the fraction must be in (0, 0.5]");
        if (!inner.longest())
            detail::invalid_argument("llmcache::ttl::Jittered: cannot jitter a TTL that never expires");
    }

    std::optional<Duration> ttl_for(std::string_view key) const noexcept {
        auto base = inner_.ttl_for(key);
        if (!base)
            return base;
        // Map the key's hash to [-1, 1) and scale the TTL by 1 + fraction * that.
        const double unit = static_cast<double>(XXH3_64bits(key.data(), key.size()) >> 11) * 0x1.0p-53;
        const double scale = 1.0 + fraction_ * (2.0 * unit - 1.0);
        auto ms = static_cast<Duration::rep>(static_cast<double>(base->count()) * scale);
        return Duration{ms < 1 ? 1 : ms};
    }
    constexpr std::optional<Duration> longest() const noexcept {
        auto base = inner_.longest();
        if (!base)
            return base;
        return Duration{static_cast<Duration::rep>(static_cast<double>(base->count()) * (1.0 + fraction_)) +
                        1};
    }
    constexpr double fraction() const noexcept { return fraction_; }

private:
    Inner inner_;
    double fraction_;
};

namespace detail {
/// A workload preset: a fixed TTL that must stay inside the range the workload calls for.
template <long long MinSeconds, long long DefaultSeconds, long long MaxSeconds>
class RangedPreset {
    static_assert(0 < MinSeconds && MinSeconds <= DefaultSeconds && DefaultSeconds <= MaxSeconds);

public:
    static constexpr bool refresh_on_hit = false;
    static constexpr std::chrono::seconds minimum{MinSeconds};
    static constexpr std::chrono::seconds default_ttl{DefaultSeconds};
    static constexpr std::chrono::seconds maximum{MaxSeconds};

    constexpr RangedPreset() : ttl_(default_ttl) {}
    template <class Rep, class Period>
    constexpr explicit RangedPreset(std::chrono::duration<Rep, Period> d) : ttl_(checked(d)) {
        if (d < minimum || d > maximum)
            invalid_argument("llmcache::ttl preset: TTL outside the range of this preset (use ttl::Fixed)");
    }

    constexpr std::optional<Duration> ttl_for(std::string_view) const noexcept { return ttl_; }
    constexpr std::optional<Duration> longest() const noexcept { return ttl_; }
    constexpr Duration duration() const noexcept { return ttl_; }

private:
    Duration ttl_;
};
constexpr long long hours = 3600;
constexpr long long days = 24 * hours;
} // namespace detail

/// Static FAQ / knowledge base: content rarely changes. Range 7–30 days, default 14 days.
struct StaticFaq : detail::RangedPreset<7 * detail::days, 14 * detail::days, 30 * detail::days> {
    using RangedPreset::RangedPreset;
    static constexpr std::string_view name = "static_faq";
};

/// Product Q&A with price or spec data, which drifts daily. Range 6–24 hours, default 12 hours.
struct ProductQa : detail::RangedPreset<6 * detail::hours, 12 * detail::hours, 24 * detail::hours> {
    using RangedPreset::RangedPreset;
    static constexpr std::string_view name = "product_qa";
};

/// Chatbot with date-sensitive answers: hedge against yesterday's news. Range 1–6 hours,
/// default 3 hours.
struct DateSensitive : detail::RangedPreset<1 * detail::hours, 3 * detail::hours, 6 * detail::hours> {
    using RangedPreset::RangedPreset;
    static constexpr std::string_view name = "date_sensitive";
};

/// Agentic workflows with tool calls: tool outputs go stale fast. Range 5–15 minutes,
/// default 10 minutes.
struct Agentic : detail::RangedPreset<5 * 60, 10 * 60, 15 * 60> {
    using RangedPreset::RangedPreset;
    static constexpr std::string_view name = "agentic";
};

} // namespace ttl
LLMCACHE_END_NAMESPACE
