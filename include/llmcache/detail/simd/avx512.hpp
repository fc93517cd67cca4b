// AVX-512F dot product (x86-64, GCC and Clang), compiled through a target attribute, not a global
// -m flag (see dispatch.hpp). Four independent 16-lane accumulators; the tail uses a masked load,
// so any length is handled without reading past the end.
#pragma once

#include "../../config.hpp"

#include <cstddef>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMCACHE_SIMD_HAS_AVX512_KERNEL 1
#include <immintrin.h>
#else
#define LLMCACHE_SIMD_HAS_AVX512_KERNEL 0
#endif

#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

__attribute__((target("avx512f"))) inline float dot_avx512(const float* a, const float* b,
                                                           std::size_t n) noexcept {
    __m512 acc0 = _mm512_setzero_ps();
    __m512 acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps();
    __m512 acc3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
    }
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    }
    if (i < n) {
        const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), acc1);
    }
    // Reduced through memory: GCC 12's _mm512_reduce_add_ps, _mm512_shuffle_f32x4 and
    // _mm512_castps512_ps128 trip -Wuninitialized inside its own header (_mm*_undefined_*).
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
    float sum = 0.0f;
    for (const float lane : lanes) {
        sum += lane;
    }
    return sum;
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
