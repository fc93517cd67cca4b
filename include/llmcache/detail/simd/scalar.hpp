// Scalar reference kernels: what every SIMD kernel is tested against, and what a matcher uses when
// no SIMD kernel is available or when the scalar kernel is forced.
//   dot_scalar      float32 x float32, accumulated in double (so also the most accurate one)
//   dot_f16_scalar  float32 query x float16 row (decoded exactly), accumulated in double
//   dot_i8_scalar   uint8 query (each byte <= 127) x int8 row, exact integer arithmetic
// The dots_* forms compute `count` consecutive rows of `dims` elements into out[0..count).
#pragma once

#include "../../config.hpp"
#include "half.hpp"

#include <cstddef>
#include <cstdint>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

inline float dot_scalar(const float* a, const float* b, std::size_t n) noexcept {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    }
    return static_cast<float>(sum);
}

inline float dot_f16_scalar(const float* query, const std::uint16_t* row, std::size_t n) noexcept {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += static_cast<double>(query[i]) * static_cast<double>(half_to_float(row[i]));
    }
    return static_cast<float>(sum);
}

inline std::int32_t dot_i8_scalar(const std::uint8_t* query, const std::int8_t* row, std::size_t n) noexcept {
    std::int64_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += static_cast<std::int64_t>(query[i]) * static_cast<std::int64_t>(row[i]);
    }
    return static_cast<std::int32_t>(sum);
}

inline void dots_scalar(const float* query, const float* rows, std::size_t count, std::size_t dims,
                        float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_scalar(query, rows, dims);
    }
}

inline void dots_f16_scalar(const float* query, const std::uint16_t* rows, std::size_t count,
                            std::size_t dims, float* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_f16_scalar(query, rows, dims);
    }
}

inline void dots_i8_scalar(const std::uint8_t* query, const std::int8_t* rows, std::size_t count,
                           std::size_t dims, std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r, rows += dims) {
        out[r] = dot_i8_scalar(query, rows, dims);
    }
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
