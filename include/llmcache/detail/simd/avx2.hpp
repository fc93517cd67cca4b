// AVX2 + FMA dot product (x86-64, GCC and Clang). Compiled through a target attribute, not a global
// -m flag, so a binary built for baseline x86-64 contains it and uses it only when the CPU has it
// (see dispatch.hpp). Four independent 8-lane accumulators hide the FMA latency; the tail of
// fewer than 8 elements uses a masked load, so any length is handled without reading past the end.
#pragma once

#include "../../config.hpp"

#include <cstddef>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMCACHE_SIMD_HAS_AVX2_KERNEL 1
#include <immintrin.h>
#else
#define LLMCACHE_SIMD_HAS_AVX2_KERNEL 0
#endif

#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

__attribute__((target("avx2,fma"))) inline float dot_avx2(const float* a, const float* b,
                                                          std::size_t n) noexcept {
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps();
    __m256 acc3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    }
    if (i < n) {
        const int rest = static_cast<int>(n - i);
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(rest), lanes);
        acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask), acc1);
    }
    const __m256 acc = _mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3));
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
