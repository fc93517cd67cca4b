// The matcher concept: nearest-neighbour search over L2-normalised vectors, as the Semantic
// similarity policy uses it (one matcher per partition).
//
//     M m(dimensions);                            constructible from the dimension alone
//     m.add(id, vector)         -> bool           id: std::uint64_t, vector: std::span<const float>;
//                                                 replaces an existing id; false on a wrong size
//     m.remove(id)              -> bool           false when there was no such id
//     m.top_k(query, k, max_distance) -> std::vector<MatchResult>
//                                                 nearest first, distance = 1 - dot(query, v),
//                                                 only distance <= max_distance (NaN never passes)
//     m.size()                  -> std::size_t
//
// Thread safety: concurrent top_k (and size) calls; add and remove may be exclusive inside the
// matcher. FlatMatcher (matcher/flat.hpp) is the exact float32 scan shipped with llmcache.
#pragma once

#include "../config.hpp"

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

/// One result of a matcher query: the id given to add() and its cosine distance 1 - dot.
struct MatchResult {
    std::uint64_t id = 0;
    float distance = 0.0f;
    friend bool operator==(const MatchResult&, const MatchResult&) = default;
};

template <class M>
concept matcher_constructible_from_dimensions = std::constructible_from<M, std::size_t>;
template <class M>
concept matcher_has_add = requires(M& m, std::uint64_t id, std::span<const float> v) {
    { m.add(id, v) } -> std::convertible_to<bool>;
};
template <class M>
concept matcher_has_remove = requires(M& m, std::uint64_t id) {
    { m.remove(id) } -> std::convertible_to<bool>;
};
template <class M>
concept matcher_has_top_k = requires(M& m, std::span<const float> query, std::size_t k, float max_distance) {
    { m.top_k(query, k, max_distance) } -> std::same_as<std::vector<MatchResult>>;
};
template <class M>
concept matcher_has_size = requires(M& m) {
    { m.size() } -> std::convertible_to<std::size_t>;
};
template <class M>
concept matcher = matcher_constructible_from_dimensions<M> && matcher_has_add<M> && matcher_has_remove<M> &&
    matcher_has_top_k<M> && matcher_has_size<M>;

LLMCACHE_END_NAMESPACE
