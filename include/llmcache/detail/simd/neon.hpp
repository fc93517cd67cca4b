// NEON dot product (arm64 only: Advanced SIMD is part of the AArch64 baseline, so no dispatch is
// needed there). Four independent 4-lane accumulators and a scalar tail.
#pragma once

#include "../../config.hpp"

#include <cstddef>

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

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
