// Leases for cross-process single-flight on Redis (RedisStore, RedisClusterStore):
//   acquire: SET <key> <token> NX PX <ms>   (OK: ours; nil: someone else holds it)
//   release: EVAL <compare-and-delete script> 1 <key> <token>   (deletes only our own lease)
// The token is 128 random bits as 32 hex digits, from a per-thread generator seeded once from
// std::random_device (the kernel's entropy), the clock and the thread's identity (xoshiro256**).
#pragma once

#include "../../config.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string_view>
#include <thread>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

/// Deletes KEYS[1] only while it still holds ARGV[1] (our token): a lease that expired and was
/// taken by another process is left alone.
inline constexpr std::string_view release_lease_script =
    "if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end";

/// A lease token: 32 lowercase hex digits (128 random bits).
struct LeaseToken {
    std::array<char, 32> digits{};
    std::string_view view() const noexcept { return {digits.data(), digits.size()}; }
};

/// xoshiro256** (Blackman and Vigna): small, fast, 256 bits of state; no allocation.
struct LeaseGenerator {
    std::array<std::uint64_t, 4> s{};
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    std::uint64_t operator()() noexcept {
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};

inline LeaseGenerator seeded_lease_generator() noexcept {
    std::array<std::uint64_t, 4> words{};
#if LLMCACHE_HAS_EXCEPTIONS
    try {
#endif
        std::random_device rd;
        for (std::uint64_t& w : words)
            w = (std::uint64_t{rd()} << 32) | rd();
#if LLMCACHE_HAS_EXCEPTIONS
    } catch (...) {
        // No entropy source: the clock, the thread and an address below still differ per holder.
    }
#endif
    const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto wall = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    const auto tid = static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    const auto addr = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&words));
    // splitmix64 over the mixed words fills the state (never all zero).
    std::uint64_t x = now ^ (wall * 0x9E3779B97F4A7C15ULL) ^ (tid << 1) ^ (addr << 7);
    LeaseGenerator g;
    for (std::size_t i = 0; i < 4; ++i) {
        x += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        g.s[i] = (z ^ (z >> 31)) ^ words[i];
    }
    if ((g.s[0] | g.s[1] | g.s[2] | g.s[3]) == 0)
        g.s[0] = 1;
    return g;
}

/// A fresh random token (per-thread generator; no locking).
inline LeaseToken new_lease_token() noexcept {
    thread_local LeaseGenerator gen = seeded_lease_generator();
    static constexpr char hex[] = "0123456789abcdef";
    LeaseToken t;
    for (std::size_t half = 0; half < 2; ++half) {
        std::uint64_t bits = gen();
        for (std::size_t i = 0; i < 16; ++i, bits >>= 4)
            t.digits[half * 16 + i] = hex[bits & 0xF];
    }
    return t;
}

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
