// Kernel selection for the dot products. There is no mutable global: a caller (a matcher) asks
// once, at construction, for function pointers and keeps them. Kernels compiled through target
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
#include <cstdint>
#include <string_view>

#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
#include <cpuid.h>
#endif

LLMCACHE_BEGIN_NAMESPACE

/// Instruction sets a dot-product kernel exists for. `automatic` picks the best available one.
enum class Isa { automatic, scalar, avx2, avx512, neon };

namespace detail::simd {

using dot_fn = float (*)(const float*, const float*, std::size_t) noexcept;
/// Dot products of one query with `count` consecutive rows of `dims` elements, into out[0..count).
using dots_fn = void (*)(const float*, const float*, std::size_t, std::size_t, float*) noexcept;
using dots_f16_fn = void (*)(const float*, const std::uint16_t*, std::size_t, std::size_t, float*) noexcept;
/// Int8: the query is bytes in [0, 127] (a signed 7-bit value + 64), rows are signed bytes.
using dots_i8_fn = void (*)(const std::uint8_t*, const std::int8_t*, std::size_t, std::size_t,
                            std::int32_t*) noexcept;
using encode_half_fn = void (*)(const float*, std::uint16_t*, std::size_t) noexcept;

/// F16C (vcvtph2ps / vcvtps2ph). Read from CPUID directly: Clang 14's __builtin_cpu_supports does
/// not know "f16c". Only used together with AVX2, whose check covers the OS saving YMM registers.
inline bool cpu_has_f16c() noexcept {
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
#else
    return false;
#endif
}

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

/// Float16 rows: AVX2 needs FMA and F16C as well; AVX-512F has the conversions itself.
inline bool f16_isa_available(Isa isa) noexcept {
    if (isa == Isa::avx2) {
        return isa_available(Isa::avx2) && cpu_has_f16c();
    }
    return isa_available(isa);
}

/// Int8 rows: AVX2 alone (no FMA needed); AVX-512 needs BW for the 16-bit lanes.
inline bool i8_isa_available(Isa isa) noexcept {
    switch (isa) {
    case Isa::avx2:
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
#else
        return false;
#endif
    case Isa::avx512:
#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
        return false;
#endif
    default:
        return isa_available(isa);
    }
}

/// `requested` if `available(requested)`, the best available one for `automatic`, scalar otherwise.
template <class Available>
Isa resolve_isa_with(Isa requested, Available available) noexcept {
    if (requested != Isa::automatic) {
        return available(requested) ? requested : Isa::scalar;
    }
    for (const Isa isa : {Isa::avx512, Isa::avx2, Isa::neon}) {
        if (available(isa)) {
            return isa;
        }
    }
    return Isa::scalar;
}

/// One instruction set's kernels.
struct Kernels {
    dot_fn dot;
    dots_fn dots;
    dots_f16_fn dots_f16;
    dots_i8_fn dots_i8;
};

/// The kernels compiled for `isa`; the scalar ones for anything not compiled in. The caller has
/// checked that the CPU supports it (the *_isa_available functions).
inline Kernels kernels_for(Isa isa) noexcept {
    switch (isa) {
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
    case Isa::avx2:
        return {&dot_avx2, &dots_avx2, &dots_f16_avx2, &dots_i8_avx2};
#endif
#if LLMCACHE_SIMD_HAS_AVX512_KERNEL
    case Isa::avx512:
        return {&dot_avx512, &dots_avx512, &dots_f16_avx512, &dots_i8_avx512};
#endif
#if LLMCACHE_SIMD_HAS_NEON_KERNEL
    case Isa::neon:
        return {&dot_neon, &dots_neon, &dots_f16_neon, &dots_i8_neon};
#endif
    default:
        return {&dot_scalar, &dots_scalar, &dots_f16_scalar, &dots_i8_scalar};
    }
}

/// The single dot product of `isa`, resolved first (an unavailable one gives the scalar kernel).
inline dot_fn dot_kernel(Isa isa) noexcept {
    return kernels_for(resolve_isa(isa)).dot;
}
/// Block kernels of a resolved instruction set.
inline dots_fn dots_kernel(Isa isa) noexcept {
    return kernels_for(isa).dots;
}
inline dots_f16_fn dots_f16_kernel(Isa isa) noexcept {
    return kernels_for(isa).dots_f16;
}
inline dots_i8_fn dots_i8_kernel(Isa isa) noexcept {
    return kernels_for(isa).dots_i8;
}

/// float32 -> float16 for a resolved instruction set: F16C on x86 (AVX2 and AVX-512 CPUs have it),
/// the portable conversion otherwise (same bits either way; tested).
inline encode_half_fn encode_half_kernel(Isa isa) noexcept {
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
    if ((isa == Isa::avx2 || isa == Isa::avx512) && cpu_has_f16c()) {
        return &encode_half_f16c;
    }
#endif
    (void)isa;
    return &encode_half_scalar;
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
