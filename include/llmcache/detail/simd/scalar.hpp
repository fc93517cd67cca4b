// Scalar reference dot product: the kernel every SIMD kernel is tested against. It accumulates in
// double, so it is also the most accurate of them; it is what FlatMatcher uses when no SIMD kernel
// is available or when the scalar kernel is forced.
#pragma once

#include "../../config.hpp"

#include <cstddef>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::simd {

inline float dot_scalar(const float* a, const float* b, std::size_t n) noexcept {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        sum += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    }
    return static_cast<float>(sum);
}

} // namespace detail::simd
LLMCACHE_END_NAMESPACE
