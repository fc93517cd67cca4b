// Kernel selection for the dot product. There is no mutable global: a caller (FlatMatcher) asks
// once, at construction, for a function pointer and keeps it. Kernels compiled through target
// attributes are only called when __builtin_cpu_supports says the CPU (and the OS, which must save
// the wider registers) has the feature, so a baseline x86-64 build still uses AVX2/AVX-512.
// Do not build with -march=native if you want a binary that dispatches on other machines.
#pragma once

#include "../../config.hpp"
#include "avx2.hpp"
#include "avx512.hpp"
#include "neon.hpp"
#include "scalar.hpp"

#include <cstddef>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

/// Instruction sets a dot-product kernel exists for. `automatic` picks the best available one.
enum class Isa { automatic, scalar, avx2, avx512, neon };

namespace detail::simd {

using dot_fn = float (*)(const float*, const float*, std::size_t) noexcept;

/// Whether `isa`'s kernel is compiled in and the running CPU supports it (automatic and scalar:
/// always true).
inline bool isa_available(Isa isa) noexcept {
    switch (isa) {
    case Isa::automatic:
    case Isa::scalar:
        return true;
    case Isa::avx2:
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
        return false;
#endif
    case Isa::avx512:
#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f");
#else
        return false;
#endif
    case Isa::neon:
        return LLMCACHE_SIMD_HAS_NEON_KERNEL != 0;
    }
    return false;
}

/// The best available instruction set (never `automatic`).
inline Isa best_isa() noexcept {
    if (isa_available(Isa::avx512)) {
        return Isa::avx512;
    }
    if (isa_available(Isa::avx2)) {
        return Isa::avx2;
    }
    if (isa_available(Isa::neon)) {
        return Isa::neon;
    }
    return Isa::scalar;
}

/// `requested` if it is available, the best one for `automatic`, and scalar for an unavailable one.
inline Isa resolve_isa(Isa requested) noexcept {
    if (requested == Isa::automatic) {
        return best_isa();
    }
    return isa_available(requested) ? requested : Isa::scalar;
}

/// The kernel of a resolved instruction set (an unavailable one gives the scalar kernel).
inline dot_fn dot_kernel(Isa isa) noexcept {
    switch (resolve_isa(isa)) {
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
    case Isa::avx2:
        return &dot_avx2;
#endif
#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
    case Isa::avx512:
        return &dot_avx512;
#endif
#if LLMCACHE_SIMD_HAS_NEON_KERNEL
    case Isa::neon:
        return &dot_neon;
#endif
    default:
        return &dot_scalar;
    }
}

} // namespace detail::simd

/// "scalar", "avx2", "avx512", "neon" or "automatic".
inline std::string_view isa_name(Isa isa) noexcept {
    switch (isa) {
    case Isa::automatic:
        return "automatic";
    case Isa::scalar:
        return "scalar";
    case Isa::avx2:
        return "avx2";
    case Isa::avx512:
        return "avx512";
    case Isa::neon:
        return "neon";
    }
    return "unknown";
}

LLMCACHE_END_NAMESPACE
