// How a flat matcher stores its vectors: the Storage policy of BasicFlatMatcher (matcher/flat.hpp).
//
// | Policy           | bytes per vector of D floats      | distances returned               |
// |------------------|-----------------------------------|----------------------------------|
// | storage::Float32 | 4 D                               | exact float32 (1 - dot)          |
// | storage::Float16 | 2 D                               | of the float16-rounded vectors   |
// | storage::Int8    | D + 12 (scan) + 4 D (float32 copy) | exact float32, after re-ranking |
//
// Error bounds, for a query q and a stored vector r (unit vectors in the numbers):
// - Float32: SIMD kernels differ from the scalar (double-accumulating) reference by at most
//   1e-5 * sum|q_i r_i| (tested; in practice a few float ulps).
// - Float16: each component is rounded to the nearest half (relative error <= 2^-11 in the normal
//   range, absolute <= 2^-25 below it), so a distance differs from the float32 one by at most
//   2^-11 * sum|q_i r_i| + D * 2^-25 * max|q_i|: <= 5e-4 for unit vectors (tests assert <= 2e-3, the
//   documented tolerance). Components beyond +-65504 become infinities: store normalised vectors.
// - Int8: symmetric per-vector quantisation, r ~ s_r * R with R_i = round(r_i * 127 / max|r|); the
//   query gets 7 bits, q ~ s_q * Q with Q_i = round(q_i * 63 / max|q|), so that the u8 x s8 kernels
//   (vpmaddubsw) cannot saturate. The int8 kernels are exact integer arithmetic (all kernels give the
//   same bits). The scan's approximate distance differs from the float32 one by at most
//   s_r * (|q|_1 + s_q * |R|_1) / 2 (a bound computed per row and used to keep every row that could
//   be within max_distance); measured on random unit vectors it is below 1e-2 (tests assert it).
//   Results are then re-ranked with exact float32 dots, so the distances returned and the threshold
//   test are FlatMatcher's, bit for bit. Int8 accepts at most max_dimensions dimensions (int32
//   accumulators stay exact: D * 127 * 127 < 2^31).
#pragma once

#include "../config.hpp"
#include "../detail/simd/dispatch.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

LLMCACHE_BEGIN_NAMESPACE
namespace storage {

/// float32 rows: the exact reference; scans are memory-bound for large N.
struct Float32 {
    using element = float;
    static constexpr std::string_view name = "float32";
    static bool isa_available(Isa isa) noexcept { return detail::simd::isa_available(isa); }
};

/// IEEE binary16 rows: half the memory and scan traffic; distances carry the rounding error above.
struct Float16 {
    using element = std::uint16_t;
    static constexpr std::string_view name = "float16";
    static bool isa_available(Isa isa) noexcept { return detail::simd::f16_isa_available(isa); }
};

/// int8 rows with a per-vector scale, scanned for candidates that exact float32 dots re-rank.
/// Keeps a float32 copy of every vector for the re-ranking: it is faster, not smaller.
struct Int8 {
    using element = std::int8_t;
    static constexpr std::string_view name = "int8";
    static constexpr std::size_t max_dimensions = 133'000;
    static bool isa_available(Isa isa) noexcept { return detail::simd::i8_isa_available(isa); }
};

} // namespace storage

/// One of the storage policies above (the scan is specialised for each).
template <class S>
concept flat_storage = std::is_same_v<S, storage::Float32> || std::is_same_v<S, storage::Float16> ||
    std::is_same_v<S, storage::Int8>;

LLMCACHE_END_NAMESPACE
