// AVX-512 kernels (x86-64, GCC and Clang), compiled through target attributes, not a global -m
// flag (see dispatch.hpp). Tails use masked loads, zero-padded copies or scalar steps, so any length
// is handled without reading past the end.
//   dot_avx512 / dots_avx512          float32 rows (AVX-512F), four 16-lane accumulators
//   dot_f16_avx512 / dots_f16_avx512  float16 rows (AVX-512F: vcvtph2ps zmm is part of it)
//   dot_i8_avx512 / dots_i8_avx512    int8 rows x uint8 query, bytes <= 127 (AVX-512F + BW:
//                                     vpmaddubsw, vpmaddwd); exact, so equal to the scalar kernel
// The development machine has no AVX-512: these are compile-checked there and tested only where a
// CPU has the features (the tests report which kernels they could run).
#pragma once

#include "../../config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LLMCACHE_SIMD_HAS_AVX512_KERNEL 1
#include <immintrin.h>
#else
#define LLMCACHE_SIMD_HAS_AVX512_KERNEL 0
#endif

#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

// Reduced through memory: GCC 12's _mm512_reduce_add_ps, _mm512_shuffle_f32x4 and
// _mm512_castps512_ps128 trip -Wuninitialized inside its own header (_mm*_undefined_*).
__attribute__((target("avx512f"))) inline float horizontal_sum_avx512(__m512 v) noexcept {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    float sum = 0.0f;
    for (const float lane : lanes) {
        sum += lane;
    }
    return sum;
}

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
        const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), acc1);
    }
    return horizontal_sum_avx512(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

__attribute__((target("avx512f"))) inline void
dots_avx512(const float* query, const float* rows, std::size_t count, std::size_t dims, float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_avx512(query, rows, dims);
    }
}

__attribute__((target("avx512f"))) inline __m512 load_half16(const std::uint16_t* p) noexcept {
    // The zero-masking form: GCC 12's plain _mm512_cvtph_ps trips -Wmaybe-uninitialized (see above).
    return _mm512_maskz_cvtph_ps(static_cast<__mmask16>(0xffffu),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

__attribute__((target("avx512f"))) inline float dot_f16_avx512(const float* query, const std::uint16_t* row,
                                                               std::size_t n) noexcept {
    __m512 acc0 = _mm512_setzero_ps();
    __m512 acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps();
    __m512 acc3 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(query + i), load_half16(row + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(query + i + 16), load_half16(row + i + 16), acc1);
        acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(query + i + 32), load_half16(row + i + 32), acc2);
        acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(query + i + 48), load_half16(row + i + 48), acc3);
    }
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(query + i), load_half16(row + i), acc0);
    }
    if (i < n) {
        const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
        // Halves through a zero-padded copy (a masked 16-bit load would need AVX-512BW + VL).
        std::uint16_t tail[16] = {};
        std::memcpy(tail, row + i, (n - i) * sizeof(std::uint16_t));
        acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, query + i), load_half16(tail), acc1);
    }
    return horizontal_sum_avx512(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

__attribute__((target("avx512f"))) inline void dots_f16_avx512(const float* query, const std::uint16_t* rows,
                                                               std::size_t count, std::size_t dims,
                                                               float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_f16_avx512(query, rows, dims);
    }
}

__attribute__((target("avx512f,avx512bw"))) inline std::int32_t
dot_i8_avx512(const std::uint8_t* query, const std::int8_t* row, std::size_t n) noexcept {
    // vpmaddubsw cannot saturate while every query byte is <= 127 (2 * 127 * 127 < 32768).
    const __m512i ones = _mm512_set1_epi16(1);
    __m512i acc0 = _mm512_setzero_si512();
    __m512i acc1 = _mm512_setzero_si512();
    std::size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        const __m512i p0 = _mm512_maddubs_epi16(_mm512_loadu_si512(query + i), _mm512_loadu_si512(row + i));
        const __m512i p1 =
            _mm512_maddubs_epi16(_mm512_loadu_si512(query + i + 64), _mm512_loadu_si512(row + i + 64));
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(p0, ones));
        acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(p1, ones));
    }
    if (i + 64 <= n) {
        const __m512i p0 = _mm512_maddubs_epi16(_mm512_loadu_si512(query + i), _mm512_loadu_si512(row + i));
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(p0, ones));
        i += 64;
    }
    alignas(64) std::int32_t lanes[16];
    _mm512_store_si512(lanes, _mm512_add_epi32(acc0, acc1));
    std::int32_t total = 0;
    for (const std::int32_t lane : lanes) {
        total += lane;
    }
    for (; i < n; ++i) {
        total += static_cast<std::int32_t>(query[i]) * static_cast<std::int32_t>(row[i]);
    }
    return total;
}

__attribute__((target("avx512f,avx512bw"))) inline void dots_i8_avx512(const std::uint8_t* query,
                                                                       const std::int8_t* rows,
                                                                       std::size_t count, std::size_t dims,
                                                                       std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_i8_avx512(query, rows, dims);
    }
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
#endif
