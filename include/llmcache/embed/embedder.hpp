// The embedder concept: what the Semantic similarity policy needs from a text-to-vector model.
//
//     e.id()                          -> convertible to std::string_view
//         names the vector space (model, version, dimensions). It is part of every persisted
//         semantic key, so vectors of two spaces are never compared.
//     e.dimensions()                  -> convertible to std::size_t   (> 0, constant)
//     e.embed_into(text, out)         -> convertible to bool
//         text: std::string_view; out: std::span<float> of dimensions() floats.
//         true: `out` holds the L2-normalised vector of `text`;
//         false: no vector (a text without tokens, a failed remote call, a wrong `out` size).
//
// An embedder is called concurrently from every thread that uses the cache. HashingEmbedder
// (embed/hashing.hpp) is the offline one shipped with llmcache.
#pragma once

#include "../config.hpp"

#include <concepts>
#include <cstddef>
#include <span>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

template <class E>
concept embedder_has_id = requires(E& e) {
    { e.id() } -> std::convertible_to<std::string_view>;
};
template <class E>
concept embedder_has_dimensions = requires(E& e) {
    { e.dimensions() } -> std::convertible_to<std::size_t>;
};
template <class E>
concept embedder_has_embed_into = requires(E& e, std::string_view text, std::span<float> out) {
    { e.embed_into(text, out) } -> std::convertible_to<bool>;
};
template <class E>
concept embedder = embedder_has_id<E> && embedder_has_dimensions<E> && embedder_has_embed_into<E>;

LLMCACHE_END_NAMESPACE
