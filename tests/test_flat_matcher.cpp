// FlatMatcher and the dot-product kernels: every kernel available on this CPU against the scalar
// reference, top_k order and threshold, remove, dimension checks, and readers racing a writer.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using llmcache::FlatMatcher;
using llmcache::Isa;
using llmcache::MatchResult;

namespace {

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

} // namespace

TEST_CASE("every available dot kernel equals the scalar reference", "[matcher][simd]") {
    const Isa all[] = {Isa::scalar, Isa::avx2, Isa::avx512, Isa::neon};
    std::mt19937_64 rng(42);
    int kernels_tested = 0;
    for (const Isa isa : all) {
        if (!FlatMatcher::isa_available(isa)) {
            WARN("kernel not available on this machine: " << llmcache::isa_name(isa));
            continue;
        }
        ++kernels_tested;
        const FlatMatcher forced(1, isa);
        REQUIRE(forced.isa() == isa);
        REQUIRE(forced.isa_name() == llmcache::isa_name(isa));
        for (std::size_t d = 1; d <= 1537; d += (d < 80 ? 1 : 37)) {
            const auto a = random_vector(rng, d);
            const auto b = random_vector(rng, d);
            const float reference = llmcache::detail::simd::dot_scalar(a.data(), b.data(), d);
            const float got = llmcache::detail::simd::dot_kernel(isa)(a.data(), b.data(), d);
            // Relative to sum |a_i b_i|, the scale of the rounding errors (a dot product of random
            // vectors can be near 0, where a plain relative error is meaningless).
            double magnitude = 0.0;
            for (std::size_t i = 0; i < d; ++i) {
                magnitude += std::fabs(static_cast<double>(a[i]) * b[i]);
            }
            INFO("isa " << llmcache::isa_name(isa) << " d " << d);
            REQUIRE(std::fabs(static_cast<double>(got) - reference) <= 1e-5 * magnitude + 1e-30);
        }
        // Exact values that every kernel must get exactly (small integers).
        for (std::size_t d : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 63u, 65u, 384u, 1536u, 1537u}) {
            const std::vector<float> ones(d, 1.0f);
            REQUIRE(llmcache::detail::simd::dot_kernel(isa)(ones.data(), ones.data(), d) ==
                    static_cast<float>(d));
        }
    }
    REQUIRE(kernels_tested >= 1);
    // The automatic choice is the best available one, and it is never 'automatic'.
    const FlatMatcher automatic(8);
    REQUIRE(automatic.isa() == llmcache::detail::simd::best_isa());
    REQUIRE(automatic.isa() != Isa::automatic);
}

TEST_CASE("forcing an unavailable kernel falls back to scalar", "[matcher][simd]") {
    for (const Isa isa : {Isa::avx2, Isa::avx512, Isa::neon}) {
        if (!FlatMatcher::isa_available(isa)) {
            const FlatMatcher m(4, isa);
            REQUIRE(m.isa() == Isa::scalar);
            REQUIRE(m.isa_name() == "scalar");
        }
    }
}

TEST_CASE("FlatMatcher top_k: order, k, threshold", "[matcher]") {
    const std::size_t d = 19; // not a multiple of 8 or 16
    for (const Isa isa : {Isa::scalar, Isa::automatic}) {
        FlatMatcher m(d, isa);
        // Vectors at known cosines from the query axis(0): cos = c, distance = 1 - c.
        const float cosines[] = {1.0f, 0.9f, 0.5f, 0.0f, -1.0f, 0.95f};
        for (std::size_t i = 0; i < std::size(cosines); ++i) {
            std::vector<float> v(d, 0.0f);
            v[0] = cosines[i];
            v[1] = std::sqrt(1.0f - cosines[i] * cosines[i]);
            REQUIRE(m.add(100 + i, v));
        }
        REQUIRE(m.size() == 6);
        const auto q = axis(d, 0);

        auto all = m.top_k(q, 10, 2.0f);
        REQUIRE(all.size() == 6);
        const std::uint64_t expected_order[] = {100, 105, 101, 102, 103, 104};
        for (std::size_t i = 0; i < all.size(); ++i) {
            REQUIRE(all[i].id == expected_order[i]);
            if (i > 0) {
                REQUIRE(all[i - 1].distance <= all[i].distance);
            }
        }
        REQUIRE(all[0].distance == Approx(0.0f).margin(1e-6));
        REQUIRE(all[5].distance == Approx(2.0f).margin(1e-6));

        auto top2 = m.top_k(q, 2, 2.0f);
        REQUIRE(top2.size() == 2);
        REQUIRE(top2[0].id == 100);
        REQUIRE(top2[1].id == 105);

        // Threshold 0.2 keeps cos >= 0.8: ids 100, 105, 101.
        auto near = m.top_k(q, 10, 0.2f);
        REQUIRE(near.size() == 3);
        for (const auto& r : near) {
            REQUIRE(r.distance <= 0.2f);
        }
        REQUIRE(m.top_k(q, 10, -0.5f).empty());
        REQUIRE(m.top_k(q, 0, 2.0f).empty());
    }
}

TEST_CASE("FlatMatcher top_k agrees with a brute-force scalar ranking", "[matcher]") {
    std::mt19937_64 rng(7);
    const std::size_t d = 101;
    FlatMatcher fast(d);
    FlatMatcher scalar(d, Isa::scalar);
    for (std::uint64_t id = 0; id < 500; ++id) {
        const auto v = unit(random_vector(rng, d));
        REQUIRE(fast.add(id, v));
        REQUIRE(scalar.add(id, v));
    }
    for (int q = 0; q < 20; ++q) {
        const auto query = unit(random_vector(rng, d));
        const auto a = fast.top_k(query, 5, 2.0f);
        const auto b = scalar.top_k(query, 5, 2.0f);
        REQUIRE(a.size() == 5);
        REQUIRE(b.size() == 5);
        for (std::size_t i = 0; i < 5; ++i) {
            REQUIRE(a[i].distance == Approx(b[i].distance).margin(1e-5));
        }
        REQUIRE(a[0].id == b[0].id);
    }
}

TEST_CASE("FlatMatcher add replaces, remove, contains", "[matcher]") {
    const std::size_t d = 3;
    FlatMatcher m(d);
    REQUIRE(m.add(1, axis(d, 0)));
    REQUIRE(m.add(2, axis(d, 1)));
    REQUIRE(m.add(3, axis(d, 2)));
    REQUIRE(m.size() == 3);

    // Replacing id 1 moves it away from axis 0.
    REQUIRE(m.add(1, axis(d, 1)));
    REQUIRE(m.size() == 3);
    auto r = m.top_k(axis(d, 0), 3, 0.5f);
    REQUIRE(r.empty());

    // Removing the first row moves the last one into its place; lookups stay right.
    REQUIRE(m.remove(1));
    REQUIRE_FALSE(m.remove(1));
    REQUIRE_FALSE(m.contains(1));
    REQUIRE(m.size() == 2);
    r = m.top_k(axis(d, 2), 1, 0.5f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 3);
    r = m.top_k(axis(d, 1), 1, 0.5f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 2);
    REQUIRE(m.remove(3));
    REQUIRE(m.remove(2));
    REQUIRE(m.size() == 0);
    REQUIRE(m.top_k(axis(d, 0), 5, 2.0f).empty());
    REQUIRE_FALSE(m.remove(42));
}

TEST_CASE("FlatMatcher rejects vectors of the wrong dimension", "[matcher]") {
    FlatMatcher m(4);
    REQUIRE_FALSE(m.add(1, std::vector<float>(3, 0.5f)));
    REQUIRE_FALSE(m.add(1, std::vector<float>(5, 0.5f)));
    REQUIRE_FALSE(m.add(1, std::vector<float>{}));
    REQUIRE(m.size() == 0);
    REQUIRE(m.add(1, std::vector<float>(4, 0.5f)));
    REQUIRE(m.top_k(std::vector<float>(3, 0.5f), 1, 2.0f).empty());
    REQUIRE(m.top_k(std::vector<float>(4, 0.5f), 1, 2.0f).size() == 1);
}

TEST_CASE("FlatMatcher NaN distances never pass the threshold", "[matcher]") {
    FlatMatcher m(2);
    REQUIRE(m.add(1, std::vector<float>{std::nanf(""), 0.0f}));
    REQUIRE(m.add(2, std::vector<float>{1.0f, 0.0f}));
    const auto r = m.top_k(std::vector<float>{1.0f, 0.0f}, 5, 2.0f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 2);
}

TEST_CASE("FlatMatcher concurrent readers and a writer", "[matcher][threads]") {
    const std::size_t d = 37;
    FlatMatcher m(d);
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
            for (int i = 0; i < 2000; ++i) {
                const std::size_t which = static_cast<std::size_t>((i + t) % 64);
                const auto r = m.top_k(stable[which], 1, 0.01f);
                // The stable ids are never removed, so each query finds its own vector.
                if (r.size() != 1 || r[0].id != which) {
                    failed = true;
                }
            }
        });
    }
    std::thread writer([&] {
        std::mt19937_64 wrng(9);
        for (int i = 0; i < 2000; ++i) {
            // Far from every stable vector: the negated stable vector has distance 2 to it, but
            // others could be near, so use ids >= 1000 and vectors orthogonal-ish by construction.
            auto v = unit(random_vector(wrng, d));
            for (float& x : v) {
                x *= 0.5f; // norm 0.5: dot <= 0.5, distance >= 0.5, never within 0.01
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
    REQUIRE(m.size() >= 64);
    for (std::uint64_t id = 0; id < 64; ++id) {
        REQUIRE(m.contains(id));
    }
}
