// IEEE 754 binary16 ("half") conversions in portable C++: the reference that the F16C and NEON
// paths are tested against, and what Float16 storage uses on CPUs without them.
//
// float -> half rounds to nearest, ties to even (as F16C's _MM_FROUND_TO_NEAREST_INT and the
// default rounding of ARM FCVT do), so every path stores the same bits. Values at or above 65520 in
// magnitude become infinity, values below 2^-25 become (signed) zero, and NaN stays a quiet NaN.
#pragma once

#include "../../config.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

inline std::uint16_t float_to_half(float value) noexcept {
    std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    bits &= 0x7fffffffu;
    if (bits >= 0x7f800000u) { // infinity or NaN (NaN keeps its top payload bits and becomes quiet)
        const std::uint32_t nan = bits > 0x7f800000u ? 0x0200u | ((bits >> 13) & 0x03ffu) : 0u;
        return static_cast<std::uint16_t>(sign | 0x7c00u | nan);
    }
    if (bits >= 0x477ff000u) { // rounds to 65536 or more: overflow
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    }
    if (bits >= 0x38800000u) { // normal half range [2^-14, 65504]
        const std::uint32_t rounded = bits + 0x0fffu + ((bits >> 13) & 1u);
        return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
    }
    if (bits < 0x33000000u) { // below 2^-25: rounds to zero (2^-25 itself is a tie, to even = 0)
        return sign;
    }
    // Subnormal half: the value in units of 2^-24, rounded to nearest even. A carry into bit 10
    // gives 0x0400, which is exactly the smallest normal half.
    const std::uint32_t exponent = bits >> 23;
    const std::uint32_t mantissa = (bits & 0x007fffffu) | 0x00800000u;
    const std::uint32_t shift = 126u - exponent; // 14..24
    std::uint32_t result = mantissa >> shift;
    const std::uint32_t rest = mantissa & ((1u << shift) - 1u);
    const std::uint32_t half_way = 1u << (shift - 1u);
    if (rest > half_way || (rest == half_way && (result & 1u) != 0u)) {
        ++result;
    }
    return static_cast<std::uint16_t>(sign | result);
}

inline float half_to_float(std::uint16_t half) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
    const std::uint32_t exponent = (half >> 10) & 0x1fu;
    const std::uint32_t mantissa = half & 0x03ffu;
    if (exponent == 0x1fu) {
        return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent != 0u) {
        return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign != 0u ? -magnitude : magnitude;
}

inline void encode_half_scalar(const float* in, std::uint16_t* out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = float_to_half(in[i]);
    }
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
