// Float16Matcher and Int8Matcher (and FlatMatcher where the semantics are shared): the half
// conversions against F16C, every storage kernel against its scalar reference, the documented error
// bounds, top-k/threshold semantics identical to FlatMatcher, Int8 re-ranking giving FlatMatcher's
// exact results, add/replace/remove, dimension checks, multi-threaded scans equal to single-threaded
// ones, and readers racing a writer.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>
#include <thread>
#include <vector>

using llmcache::FlatMatcher;
using llmcache::FlatOptions;
using llmcache::Float16Matcher;
using llmcache::Int8Matcher;
using llmcache::Isa;
using llmcache::MatchResult;
namespace simd = llmcache::detail::simd;

namespace {

// The `matcher` concept of INTERFACES.md, spelled out here so these tests check every matcher fits
// it without depending on the header that defines it.
template <class M>
concept fits_matcher_interface = std::constructible_from<M, std::size_t> &&
    requires(M& m, const M& cm, std::uint64_t id, std::span<const float> v) {
    { m.add(id, v) } -> std::same_as<bool>;
    { m.remove(id) } -> std::same_as<bool>;
    { cm.top_k(v, std::size_t{1}, 0.5f) } -> std::same_as<std::vector<MatchResult>>;
    { cm.size() } -> std::same_as<std::size_t>;
};
static_assert(fits_matcher_interface<FlatMatcher>);
static_assert(fits_matcher_interface<Float16Matcher>);
static_assert(fits_matcher_interface<Int8Matcher>);

const Isa all_isas[] = {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon};

std::vector<float> random_vector(std::mt19937_64& rng, std::size_t d) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(d);
    for (float& x : v) {
        x = dist(rng);
    }
    return v;
}

std::vector<float> unit(std::vector<float> v) {
    double norm = 0.0;
    for (const float x : v) {
        norm += static_cast<double>(x) * x;
    }
    for (float& x : v) {
        x = static_cast<float>(x / std::sqrt(norm));
    }
    return v;
}

std::vector<float> axis(std::size_t d, std::size_t i) {
    std::vector<float> v(d, 0.0f);
    v[i] = 1.0f;
    return v;
}

double exact_dot(const std::vector<float>& a, const std::vector<float>& b) {
    double sum = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sum += static_cast<double>(a[i]) * b[i];
    }
    return sum;
}

// `centres` cluster centres, each vector a centre plus noise of relative size `spread`, unit length.
std::vector<std::vector<float>> clustered(std::mt19937_64& rng, std::size_t n, std::size_t d,
                                          std::size_t centres, float spread) {
    std::vector<std::vector<float>> c;
    for (std::size_t i = 0; i < centres; ++i) {
        c.push_back(unit(random_vector(rng, d)));
    }
    std::vector<std::vector<float>> out;
    for (std::size_t i = 0; i < n; ++i) {
        auto v = unit(random_vector(rng, d));
        const auto& centre = c[i % centres];
        for (std::size_t j = 0; j < d; ++j) {
            v[j] = centre[j] + spread * v[j];
        }
        out.push_back(unit(std::move(v)));
    }
    return out;
}

#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
__attribute__((target("avx,f16c"))) float f16c_decode(std::uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}
#endif

} // namespace

TEST_CASE("float16 conversions: exact round trip, rounding, and F16C agreement", "[matcher][float16]") {
    // Every half survives half -> float -> half (NaNs stay NaN).
    for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
        const auto half = static_cast<std::uint16_t>(h);
        const float f = simd::half_to_float(half);
        if (std::isnan(f)) {
            REQUIRE(((half & 0x7c00u) == 0x7c00u && (half & 0x03ffu) != 0));
            REQUIRE(std::isnan(simd::half_to_float(simd::float_to_half(f))));
        } else {
            REQUIRE(simd::float_to_half(f) == half);
        }
    }
    // Known values: rounding to nearest even, overflow, underflow, subnormals.
    REQUIRE(simd::float_to_half(1.0f) == 0x3c00u);
    REQUIRE(simd::float_to_half(-2.0f) == 0xc000u);
    REQUIRE(simd::float_to_half(65504.0f) == 0x7bffu);
    REQUIRE(simd::float_to_half(65519.0f) == 0x7bffu);
    REQUIRE(simd::float_to_half(65520.0f) == 0x7c00u);              // tie rounds to even: infinity
    REQUIRE(simd::float_to_half(1.0f + 1.0f / 2048.0f) == 0x3c00u); // tie to even (down)
    REQUIRE(simd::float_to_half(1.0f + 3.0f / 2048.0f) == 0x3c02u); // tie to even (up)
    REQUIRE(simd::float_to_half(std::ldexp(1.0f, -24)) == 0x0001u);
    REQUIRE(simd::float_to_half(std::ldexp(1.0f, -25)) == 0x0000u);
    REQUIRE(simd::float_to_half(std::ldexp(1.5f, -25)) == 0x0001u);
    REQUIRE(simd::float_to_half(-std::ldexp(1.0f, -30)) == 0x8000u);
    REQUIRE(simd::float_to_half(std::numeric_limits<float>::infinity()) == 0x7c00u);

    std::mt19937_64 rng(11);
    std::vector<float> values;
    for (int i = 0; i < 200000; ++i) {
        // Random bit patterns cover every exponent, including subnormal halves and overflow.
        values.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
    }
    // Relative error of the rounding in the normal range is at most 2^-11.
    for (const float v : values) {
        const float a = std::fabs(v);
        if (std::isfinite(v) && a >= std::ldexp(1.0f, -14) && a <= 65504.0f) {
            const float back = simd::half_to_float(simd::float_to_half(v));
            REQUIRE(std::fabs(back - v) <= a * std::ldexp(1.0f, -11));
        }
    }
#if LLMCACHE_SIMD_HAS_AVX2_KERNEL
    if (simd::cpu_has_f16c()) {
        std::vector<std::uint16_t> scalar(values.size()), f16c(values.size());
        simd::encode_half_scalar(values.data(), scalar.data(), values.size());
        simd::encode_half_f16c(values.data(), f16c.data(), values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
            INFO("value bits " << std::bit_cast<std::uint32_t>(values[i]));
            if (std::isnan(values[i])) {
                REQUIRE(std::isnan(simd::half_to_float(f16c[i])));
                REQUIRE(std::isnan(simd::half_to_float(scalar[i])));
            } else {
                REQUIRE(scalar[i] == f16c[i]);
            }
        }
        for (std::uint32_t h = 0; h <= 0xffffu; ++h) {
            const float mine = simd::half_to_float(static_cast<std::uint16_t>(h));
            const float theirs = f16c_decode(static_cast<std::uint16_t>(h));
            if (std::isnan(theirs)) {
                REQUIRE(std::isnan(mine));
            } else {
                REQUIRE(std::bit_cast<std::uint32_t>(mine) == std::bit_cast<std::uint32_t>(theirs));
            }
        }
    } else {
        WARN("F16C not available: the F16C conversions were not compared with the portable ones");
    }
#endif
}

TEST_CASE("every available float16 and int8 kernel equals its scalar reference", "[matcher][simd]") {
    std::mt19937_64 rng(5);
    int f16_tested = 0;
    int i8_tested = 0;
    for (const Isa isa : all_isas) {
        const bool f16 = Float16Matcher::isa_available(isa);
        const bool i8 = Int8Matcher::isa_available(isa);
        if (!f16 || !i8) {
            WARN("storage kernel not available on this machine: "
                 << llmcache::isa_name(isa) << (f16 ? "" : " float16") << (i8 ? "" : " int8"));
        }
        f16_tested += f16 ? 1 : 0;
        i8_tested += i8 ? 1 : 0;
        if (f16) {
            REQUIRE(Float16Matcher(4, isa).isa() == isa);
        }
        if (i8) {
            REQUIRE(Int8Matcher(4, isa).isa() == isa);
        }
        std::uniform_int_distribution<int> q8(-127, 127);
        std::uniform_int_distribution<int> u7(0, 127);
        for (std::size_t d = 1; d <= 1537; d += (d < 80 ? 1 : 37)) {
            const std::size_t rows = 3;
            INFO("isa " << llmcache::isa_name(isa) << " d " << d);
            if (f16) {
                const auto q = random_vector(rng, d);
                std::vector<std::uint16_t> r(rows * d);
                const auto rf = random_vector(rng, rows * d);
                simd::encode_half_scalar(rf.data(), r.data(), r.size());
                float got[rows], want[rows];
                simd::dots_f16_kernel(isa)(q.data(), r.data(), rows, d, got);
                simd::dots_f16_scalar(q.data(), r.data(), rows, d, want);
                for (std::size_t j = 0; j < rows; ++j) {
                    double magnitude = 0.0;
                    for (std::size_t i = 0; i < d; ++i) {
                        magnitude += std::fabs(q[i] * static_cast<double>(simd::half_to_float(r[j * d + i])));
                    }
                    REQUIRE(std::fabs(static_cast<double>(got[j]) - want[j]) <= 1e-5 * magnitude + 1e-30);
                }
            }
            if (i8) {
                std::vector<std::uint8_t> q(d); // the kernels' contract: query bytes <= 127
                std::vector<std::int8_t> r(rows * d);
                for (auto& x : q) {
                    x = static_cast<std::uint8_t>(u7(rng));
                }
                for (auto& x : r) {
                    x = static_cast<std::int8_t>(q8(rng));
                }
                std::int32_t got[rows], want[rows];
                simd::dots_i8_kernel(isa)(q.data(), r.data(), rows, d, got);
                simd::dots_i8_scalar(q.data(), r.data(), rows, d, want);
                for (std::size_t j = 0; j < rows; ++j) {
                    REQUIRE(got[j] == want[j]); // integer arithmetic: exact
                }
            }
        }
        if (i8) {
            // The extremes, where a 16-bit pair sum would saturate if the kernel let it: 127 x +-127.
            for (const std::size_t d : {384u, 1536u, 4099u}) {
                const std::vector<std::uint8_t> q(d, 127);
                for (const int value : {127, -127}) {
                    const std::vector<std::int8_t> r(d, static_cast<std::int8_t>(value));
                    std::int32_t got = 0;
                    simd::dots_i8_kernel(isa)(q.data(), r.data(), 1, d, &got);
                    REQUIRE(got == static_cast<std::int32_t>(d) * 127 * value);
                }
            }
        }
    }
    REQUIRE(f16_tested >= 1);
    REQUIRE(i8_tested >= 1);
    for (const Isa isa : {Isa::avx2, Isa::avx512, Isa::neon}) {
        if (!Int8Matcher::isa_available(isa)) {
            REQUIRE(Int8Matcher(4, isa).isa() == Isa::scalar);
        }
        if (!Float16Matcher::isa_available(isa)) {
            REQUIRE(Float16Matcher(4, isa).isa() == Isa::scalar);
        }
    }
    REQUIRE(Float16Matcher(4).isa() != Isa::automatic);
    REQUIRE(Int8Matcher(4).isa() != Isa::automatic);
    REQUIRE(Float16Matcher::storage_name() == "float16");
    REQUIRE(Int8Matcher::storage_name() == "int8");
    REQUIRE(FlatMatcher::storage_name() == "float32");
}

TEST_CASE("Float16Matcher distances are within the documented bound of float32", "[matcher][float16]") {
    std::mt19937_64 rng(21);
    for (const std::size_t d : {7u, 384u, 1536u}) {
        for (const Isa isa : {Isa::scalar, Isa::automatic}) {
            Float16Matcher m(d, isa);
            std::vector<std::vector<float>> stored;
            for (std::uint64_t id = 0; id < 200; ++id) {
                stored.push_back(unit(random_vector(rng, d)));
                REQUIRE(m.add(id, stored.back()));
            }
            for (int t = 0; t < 5; ++t) {
                const auto q = unit(random_vector(rng, d));
                const auto all = m.top_k(q, 1000, 2.0f);
                REQUIRE(all.size() == 200);
                float max_q = 0.0f;
                for (const float x : q) {
                    max_q = std::max(max_q, std::fabs(x));
                }
                for (const auto& r : all) {
                    const auto& v = stored[r.id];
                    double magnitude = 0.0;
                    for (std::size_t i = 0; i < d; ++i) {
                        magnitude += std::fabs(static_cast<double>(q[i]) * v[i]);
                    }
                    const double bound =
                        std::ldexp(magnitude, -11) + static_cast<double>(d) * std::ldexp(1.0, -25) * max_q;
                    const double error = std::fabs(r.distance - (1.0 - exact_dot(q, v)));
                    INFO("d " << d << " id " << r.id);
                    REQUIRE(error <= bound + 1e-6); // + float32 accumulation
                    REQUIRE(error <= 2e-3);         // the documented tolerance
                }
            }
        }
    }
}

TEST_CASE("Int8Matcher approximate distances stay within their bound and 1e-2", "[matcher][int8]") {
    std::mt19937_64 rng(31);
    for (const std::size_t d : {16u, 384u, 1536u}) {
        Int8Matcher m(d);
        std::vector<std::vector<float>> stored;
        for (std::uint64_t id = 0; id < 300; ++id) {
            stored.push_back(unit(random_vector(rng, d)));
            REQUIRE(m.add(id, stored.back()));
        }
        double worst = 0.0;
        for (int t = 0; t < 5; ++t) {
            const auto q = unit(random_vector(rng, d));
            const auto approximate = m.approximate_top_k(q, 1000, 2.0f);
            REQUIRE(approximate.size() == 300);
            for (const auto& r : approximate) {
                worst = std::max(worst, std::fabs(r.distance - (1.0 - exact_dot(q, stored[r.id]))));
            }
        }
        INFO("d " << d << " worst approximate error " << worst);
        REQUIRE(worst <= 1e-2);
        REQUIRE(worst > 0.0); // quantisation does change distances: the test is not vacuous
    }
}

TEMPLATE_TEST_CASE("every flat matcher: top_k order, k and threshold as FlatMatcher", "[matcher]",
                   FlatMatcher, Float16Matcher, Int8Matcher) {
    const std::size_t d = 19;
    for (const Isa isa : {Isa::scalar, Isa::automatic}) {
        TestType m(d, isa);
        const float cosines[] = {1.0f, 0.9f, 0.5f, 0.0f, -1.0f, 0.95f};
        for (std::size_t i = 0; i < std::size(cosines); ++i) {
            std::vector<float> v(d, 0.0f);
            v[0] = cosines[i];
            v[1] = std::sqrt(1.0f - cosines[i] * cosines[i]);
            REQUIRE(m.add(100 + i, v));
        }
        REQUIRE(m.size() == 6);
        const auto q = axis(d, 0);
        const auto all = m.top_k(q, 10, 2.0f);
        REQUIRE(all.size() == 6);
        const std::uint64_t expected_order[] = {100, 105, 101, 102, 103, 104};
        for (std::size_t i = 0; i < all.size(); ++i) {
            REQUIRE(all[i].id == expected_order[i]);
            REQUIRE(all[i].distance == Approx(1.0f - cosines[all[i].id - 100]).margin(1e-3));
        }
        const auto top2 = m.top_k(q, 2, 2.0f);
        REQUIRE(top2.size() == 2);
        REQUIRE(top2[0].id == 100);
        REQUIRE(top2[1].id == 105);
        const auto near = m.top_k(q, 10, 0.2f);
        REQUIRE(near.size() == 3);
        for (const auto& r : near) {
            REQUIRE(r.distance <= 0.2f);
        }
        REQUIRE(m.top_k(q, 10, -0.5f).empty());
        REQUIRE(m.top_k(q, 0, 2.0f).empty());
        // Ties: equal vectors come back by ascending id.
        REQUIRE(m.add(7, axis(d, 0)));
        const auto tied = m.top_k(q, 2, 2.0f);
        REQUIRE(tied.size() == 2);
        REQUIRE(tied[0].id == 7);
        REQUIRE(tied[1].id == 100);
        REQUIRE(tied[0].distance == tied[1].distance);
    }
}

TEMPLATE_TEST_CASE("every flat matcher: add replaces, remove, contains, wrong dimensions, NaN", "[matcher]",
                   FlatMatcher, Float16Matcher, Int8Matcher) {
    const std::size_t d = 3;
    TestType m(d);
    REQUIRE(m.add(1, axis(d, 0)));
    REQUIRE(m.add(2, axis(d, 1)));
    REQUIRE(m.add(3, axis(d, 2)));
    REQUIRE(m.add(1, axis(d, 1))); // replaces: id 1 leaves axis 0
    REQUIRE(m.size() == 3);
    REQUIRE(m.top_k(axis(d, 0), 3, 0.5f).empty());
    REQUIRE(m.remove(1));
    REQUIRE_FALSE(m.remove(1));
    REQUIRE_FALSE(m.contains(1));
    REQUIRE(m.size() == 2);
    auto r = m.top_k(axis(d, 2), 1, 0.5f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 3);
    REQUIRE(r[0].distance == Approx(0.0f).margin(1e-6));
    r = m.top_k(axis(d, 1), 1, 0.5f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 2);
    REQUIRE(m.remove(3));
    REQUIRE(m.remove(2));
    REQUIRE(m.size() == 0);
    REQUIRE(m.top_k(axis(d, 0), 5, 2.0f).empty());

    REQUIRE_FALSE(m.add(9, std::vector<float>(2, 0.5f)));
    REQUIRE_FALSE(m.add(9, std::vector<float>{}));
    REQUIRE(m.size() == 0);
    REQUIRE(m.add(9, std::vector<float>(3, 0.5f)));
    REQUIRE(m.top_k(std::vector<float>(4, 0.5f), 1, 2.0f).empty());
    REQUIRE(m.top_k(std::vector<float>(3, 0.5f), 1, 2.0f).size() == 1);

    // A vector with a NaN is stored but never matches; a zero vector has distance 1.
    REQUIRE(m.add(10, std::vector<float>{std::nanf(""), 0.0f, 0.0f}));
    REQUIRE(m.add(11, std::vector<float>{0.0f, 0.0f, 0.0f}));
    r = m.top_k(std::vector<float>{1.0f, 0.0f, 0.0f}, 5, 2.0f);
    REQUIRE(r.size() == 2);
    REQUIRE(r[0].id == 9);
    REQUIRE(r[1].id == 11);
    REQUIRE(r[1].distance == 1.0f);
    REQUIRE(m.top_k(std::vector<float>{1.0f, 0.0f, 0.0f}, 5, 0.99f).size() == 1);
}

TEST_CASE("Int8Matcher returns FlatMatcher's exact top-k on random and clustered vectors",
          "[matcher][int8]") {
    std::mt19937_64 rng(41);
    struct Set {
        const char* name;
        std::vector<std::vector<float>> vectors;
        bool near_queries; // queries are stored vectors plus noise (a cache's typical repeat question)
    };
    const std::size_t d = 384;
    Set sets[] = {{"random", {}, false}, {"clustered", clustered(rng, 3000, d, 30, 0.6f), true}};
    for (int i = 0; i < 3000; ++i) {
        sets[0].vectors.push_back(unit(random_vector(rng, d)));
    }
    for (auto& set : sets) {
        FlatMatcher exact(d);
        Int8Matcher quantised(d);
        for (std::size_t id = 0; id < set.vectors.size(); ++id) {
            REQUIRE(exact.add(id, set.vectors[id]));
            REQUIRE(quantised.add(id, set.vectors[id]));
        }
        REQUIRE(quantised.isa() == exact.isa()); // same float32 kernel for the re-ranking
        int top1_same = 0;
        for (int t = 0; t < 100; ++t) {
            std::vector<float> q = unit(random_vector(rng, d));
            if (set.near_queries) {
                const auto& base = set.vectors[static_cast<std::size_t>(t) * 29 % set.vectors.size()];
                for (std::size_t j = 0; j < d; ++j) {
                    q[j] = base[j] + 0.3f * q[j];
                }
                q = unit(std::move(q));
            }
            INFO(set.name << " query " << t);
            const auto want = exact.top_k(q, 10, 2.0f);
            const auto got = quantised.top_k(q, 10, 2.0f);
            REQUIRE(got == want); // same ids, same order, bit-identical distances
            top1_same += got.front().id == want.front().id ? 1 : 0;
            // Threshold exactly at the 5th distance: both keep exactly the rows up to it.
            const float threshold = want[4].distance;
            REQUIRE(quantised.top_k(q, 10, threshold) == exact.top_k(q, 10, threshold));
            REQUIRE(exact.top_k(q, 10, threshold).size() >= 5);
        }
        REQUIRE(top1_same == 100);
    }
}

TEMPLATE_TEST_CASE("every flat matcher: multi-threaded scans equal single-threaded ones",
                   "[matcher][threads]", FlatMatcher, Float16Matcher, Int8Matcher) {
    std::mt19937_64 rng(51);
    const std::size_t d = 40;
    const auto vectors = clustered(rng, 5003, d, 50, 0.8f);
    TestType single(d);
    FlatOptions options;
    options.min_bytes_per_thread = 1;
    options.threads = 3;
    TestType three(d, options);
    options.threads = 2;
    TestType two(d, options);
    for (std::size_t id = 0; id < vectors.size(); ++id) {
        REQUIRE(single.add(id * 7, vectors[id]));
        REQUIRE(two.add(id * 7, vectors[id]));
        REQUIRE(three.add(id * 7, vectors[id]));
    }
    REQUIRE(single.scan_threads() == 1);
    REQUIRE(two.scan_threads() == 2);
    REQUIRE(three.scan_threads() == 3);
    for (int t = 0; t < 30; ++t) {
        const auto q = unit(random_vector(rng, d));
        for (const std::size_t k : {1u, 5u, 100u}) {
            const float threshold = t % 2 == 0 ? 2.0f : 0.9f;
            const auto want = single.top_k(q, k, threshold);
            REQUIRE(two.top_k(q, k, threshold) == want);
            REQUIRE(three.top_k(q, k, threshold) == want);
        }
    }
    // Below the size threshold a scan stays on the calling thread.
    options.min_bytes_per_thread = std::size_t{1} << 40;
    TestType small(d, options);
    REQUIRE(small.add(1, vectors[0]));
    REQUIRE(small.scan_threads() == 1);
    options.threads = 0; // hardware_concurrency
    options.min_bytes_per_thread = 1;
    TestType automatic(d, options);
    for (std::size_t id = 0; id < 64; ++id) {
        REQUIRE(automatic.add(id, vectors[id]));
    }
    REQUIRE(automatic.scan_threads() == std::max<std::size_t>(1, std::thread::hardware_concurrency()));
}

TEMPLATE_TEST_CASE("every flat matcher: concurrent readers (multi-threaded scans) and a writer",
                   "[matcher][threads]", FlatMatcher, Float16Matcher, Int8Matcher) {
    const std::size_t d = 37;
    FlatOptions options;
    options.threads = 2;
    options.min_bytes_per_thread = 1;
    TestType m(d, options);
    std::mt19937_64 rng(3);
    std::vector<std::vector<float>> stable;
    for (std::uint64_t id = 0; id < 64; ++id) {
        stable.push_back(unit(random_vector(rng, d)));
        REQUIRE(m.add(id, stable.back()));
    }
    std::atomic<bool> failed{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) {
                const std::size_t which = static_cast<std::size_t>((i + t) % 64);
                const auto r = m.top_k(stable[which], 1, 0.01f);
                if (r.size() != 1 || r[0].id != which) {
                    failed = true;
                }
            }
        });
    }
    std::thread writer([&] {
        std::mt19937_64 wrng(9);
        for (int i = 0; i < 1000; ++i) {
            auto v = unit(random_vector(wrng, d));
            for (float& x : v) {
                x *= 0.5f; // norm 0.5: distance >= 0.5 from every unit vector, never within 0.01
            }
            m.add(1000 + static_cast<std::uint64_t>(i % 50), v);
            if (i % 3 == 0) {
                m.remove(1000 + static_cast<std::uint64_t>((i / 3) % 50));
            }
        }
    });
    writer.join();
    for (auto& r : readers) {
        r.join();
    }
    REQUIRE_FALSE(failed.load());
    for (std::uint64_t id = 0; id < 64; ++id) {
        REQUIRE(m.contains(id));
    }
}

TEST_CASE("Int8Matcher: dimension limit and memory per vector", "[matcher][int8]") {
    Int8Matcher too_wide(llmcache::storage::Int8::max_dimensions + 1);
    REQUIRE_FALSE(too_wide.add(1, std::vector<float>(llmcache::storage::Int8::max_dimensions + 1, 0.01f)));
    REQUIRE(too_wide.size() == 0);
    REQUIRE(Int8Matcher(384).bytes_per_vector() == 384 * 5 + 12);
    REQUIRE(Float16Matcher(384).bytes_per_vector() == 384 * 2);
    REQUIRE(FlatMatcher(384).bytes_per_vector() == 384 * 4);
    // A query with a non-finite component matches nothing (its quantisation would be meaningless).
    Int8Matcher m(2);
    REQUIRE(m.add(1, std::vector<float>{1.0f, 0.0f}));
    REQUIRE(m.top_k(std::vector<float>{std::numeric_limits<float>::infinity(), 0.0f}, 1, 2.0f).empty());
    REQUIRE(m.top_k(std::vector<float>{1.0f, 0.0f}, 1, 2.0f).size() == 1);
}
