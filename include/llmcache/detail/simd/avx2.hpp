// AVX2 kernels (x86-64, GCC and Clang). Compiled through target attributes, not a global -m flag,
// so a binary built for baseline x86-64 contains them and uses them only when the CPU has the
// features (see dispatch.hpp).
//   dot_avx2 / dots_avx2          float32 rows (AVX2 + FMA): four 8-lane accumulators hide the FMA
//                                 latency; the tail uses a masked load, never reading past the end.
//   dot_f16_avx2 / dots_f16_avx2  float16 rows (AVX2 + FMA + F16C): 8 halves widened per
//                                 vcvtph2ps; the tail goes through a zero-padded copy.
//   dot_i8_avx2 / dots_i8_avx2    int8 rows x uint8 query (bytes <= 127; AVX2): vpmaddubsw then
//                                 vpmaddwd into int32 lanes; exact, so equal to the scalar kernel.
//   encode_half_f16c              float32 -> float16 with vcvtps2ph, round to nearest even.
#pragma once

#include "../../config.hpp"
#include "half.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMCACHE_SIMD_HAS_AVX2_KERNEL 1
#include <immintrin.h>
#else
#define LLMCACHE_SIMD_HAS_AVX2_KERNEL 0
#endif

#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

__attribute__((target("avx2"))) inline float horizontal_sum_avx2(__m256 v) noexcept {
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
    sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
    return _mm_cvtss_f32(sum);
}

/// Lanes [0, rest) set, for a masked load of the last rest < 8 floats.
__attribute__((target("avx2"))) inline __m256i tail_mask_avx2(std::size_t rest) noexcept {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rest)), lanes);
}

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
        const __m256i mask = tail_mask_avx2(n - i);
        acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask), acc1);
    }
    return horizontal_sum_avx2(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

__attribute__((target("avx2,fma"))) inline void
dots_avx2(const float* query, const float* rows, std::size_t count, std::size_t dims, float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_avx2(query, rows, dims);
    }
}

__attribute__((target("avx2,fma,f16c"))) inline __m256 load_half8(const std::uint16_t* p) noexcept {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

__attribute__((target("avx2,fma,f16c"))) inline float
dot_f16_avx2(const float* query, const std::uint16_t* row, std::size_t n) noexcept {
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps();
    __m256 acc3 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i), load_half8(row + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i + 8), load_half8(row + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i + 16), load_half8(row + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i + 24), load_half8(row + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(query + i), load_half8(row + i), acc0);
    }
    if (i < n) {
        std::uint16_t tail[8] = {};
        std::memcpy(tail, row + i, (n - i) * sizeof(std::uint16_t));
        acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(query + i, tail_mask_avx2(n - i)), load_half8(tail), acc1);
    }
    return horizontal_sum_avx2(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

__attribute__((target("avx2,fma,f16c"))) inline void dots_f16_avx2(const float* query,
                                                                   const std::uint16_t* rows,
                                                                   std::size_t count, std::size_t dims,
                                                                   float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_f16_avx2(query, rows, dims);
    }
}

/// 32 products u8 x s8 summed into 8 int32 lanes: vpmaddubsw (pairs into int16, which cannot
/// saturate while every query byte is <= 127: 2 * 127 * 127 < 32768), then vpmaddwd with ones.
__attribute__((target("avx2"))) inline __m256i madd_u8i8_avx2(const std::uint8_t* query,
                                                              const std::int8_t* row) noexcept {
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(query)),
                                               _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row)));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

__attribute__((target("avx2"))) inline std::int32_t
dot_i8_avx2(const std::uint8_t* query, const std::int8_t* row, std::size_t n) noexcept {
    __m256i acc0 = _mm256_setzero_si256();
    __m256i acc1 = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = _mm256_add_epi32(acc0, madd_u8i8_avx2(query + i, row + i));
        acc1 = _mm256_add_epi32(acc1, madd_u8i8_avx2(query + i + 32, row + i + 32));
    }
    if (i + 32 <= n) {
        acc0 = _mm256_add_epi32(acc0, madd_u8i8_avx2(query + i, row + i));
        i += 32;
    }
    const __m256i acc = _mm256_add_epi32(acc0, acc1);
    __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4e));
    sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xb1));
    std::int32_t total = _mm_cvtsi128_si32(sum);
    for (; i < n; ++i) {
        total += static_cast<std::int32_t>(query[i]) * static_cast<std::int32_t>(row[i]);
    }
    return total;
}

__attribute__((target("avx2"))) inline void dots_i8_avx2(const std::uint8_t* query, const std::int8_t* rows,
                                                         std::size_t count, std::size_t dims,
                                                         std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_i8_avx2(query, rows, dims);
    }
}

__attribute__((target("avx,f16c"))) inline void encode_half_f16c(const float* in, std::uint16_t* out,
                                                                 std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; ++i) {
        out[i] = float_to_half(in[i]);
    }
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
