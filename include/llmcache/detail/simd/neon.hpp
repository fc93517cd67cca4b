// NEON kernels (arm64 only: Advanced SIMD and the half <-> single conversions are part of the
// AArch64 baseline, so no dispatch is needed there).
//   dot_neon / dots_neon          float32 rows, four 4-lane accumulators and a scalar tail
//   dot_f16_neon / dots_f16_neon  float16 rows widened with FCVTL (vcvt_f32_f16)
//   dot_i8_neon / dots_i8_neon    int8 rows x uint8 query, widening multiply-accumulate into int32
//                                 (SMLAL); exact, so equal to the scalar kernel
// Compile-checked with clang --target=aarch64-linux-gnu; not run on the x86 development machine.
#pragma once

#include "../../config.hpp"
#include "half.hpp"

#include <cstddef>
#include <cstdint>

#if defined(__aarch64__)
#define LLMCACHE_SIMD_HAS_NEON_KERNEL 1
#include <arm_neon.h>
#else
#define LLMCACHE_SIMD_HAS_NEON_KERNEL 0
#endif

#if LLMCACHE_SIMD_HAS_NEON_KERNEL
LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

inline float dot_neon(const float* a, const float* b, std::size_t n) noexcept {
    float32x4_t acc0 = vdupq_n_f32(0.0f);
    float32x4_t acc1 = vdupq_n_f32(0.0f);
    float32x4_t acc2 = vdupq_n_f32(0.0f);
    float32x4_t acc3 = vdupq_n_f32(0.0f);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        acc2 = vfmaq_f32(acc2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        acc3 = vfmaq_f32(acc3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    }
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
    for (; i < n; ++i) {
        sum += a[i] * b[i];
    }
    return sum;
}

inline void dots_neon(const float* query, const float* rows, std::size_t count, std::size_t dims,
                      float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_neon(query, rows, dims);
    }
}

inline float32x4_t load_half4(const std::uint16_t* p) noexcept {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

inline float dot_f16_neon(const float* query, const std::uint16_t* row, std::size_t n) noexcept {
    float32x4_t acc0 = vdupq_n_f32(0.0f);
    float32x4_t acc1 = vdupq_n_f32(0.0f);
    float32x4_t acc2 = vdupq_n_f32(0.0f);
    float32x4_t acc3 = vdupq_n_f32(0.0f);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(query + i), load_half4(row + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(query + i + 4), load_half4(row + i + 4));
        acc2 = vfmaq_f32(acc2, vld1q_f32(query + i + 8), load_half4(row + i + 8));
        acc3 = vfmaq_f32(acc3, vld1q_f32(query + i + 12), load_half4(row + i + 12));
    }
    for (; i + 4 <= n; i += 4) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(query + i), load_half4(row + i));
    }
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
    for (; i < n; ++i) {
        sum += query[i] * half_to_float(row[i]);
    }
    return sum;
}

inline void dots_f16_neon(const float* query, const std::uint16_t* rows, std::size_t count, std::size_t dims,
                          float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_f16_neon(query, rows, dims);
    }
}

inline std::int32_t dot_i8_neon(const std::uint8_t* query, const std::int8_t* row, std::size_t n) noexcept {
    int32x4_t acc0 = vdupq_n_s32(0);
    int32x4_t acc1 = vdupq_n_s32(0);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const uint8x16_t q = vld1q_u8(query + i);
        const int8x16_t r = vld1q_s8(row + i);
        const int16x8_t q_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(q)));
        const int16x8_t q_hi = vreinterpretq_s16_u16(vmovl_high_u8(q));
        const int16x8_t r_lo = vmovl_s8(vget_low_s8(r));
        const int16x8_t r_hi = vmovl_high_s8(r);
        acc0 = vmlal_s16(acc0, vget_low_s16(q_lo), vget_low_s16(r_lo));
        acc1 = vmlal_high_s16(acc1, q_lo, r_lo);
        acc0 = vmlal_s16(acc0, vget_low_s16(q_hi), vget_low_s16(r_hi));
        acc1 = vmlal_high_s16(acc1, q_hi, r_hi);
    }
    std::int32_t total = vaddvq_s32(vaddq_s32(acc0, acc1));
    for (; i < n; ++i) {
        total += static_cast<std::int32_t>(query[i]) * static_cast<std::int32_t>(row[i]);
    }
    return total;
}

inline void dots_i8_neon(const std::uint8_t* query, const std::int8_t* rows, std::size_t count,
                         std::size_t dims, std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_i8_neon(query, rows, dims);
    }
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
