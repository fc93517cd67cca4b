// The hit verifier concept: a last check on a semantic candidate, after the distance threshold.
//
//     g.accepts(query_text, candidate_text) -> convertible to bool
//         query_text: the last user text of the request being answered;
//         candidate_text: the last user text the candidate entry was stored for.
//
// The Semantic policy asks the verifier about each candidate within the threshold, nearest
// first; a rejected candidate is skipped and the next one may still be accepted. Called
// concurrently from every thread that uses the cache. AcceptAll (the default) accepts everything.
#pragma once

#include "../config.hpp"

#include <concepts>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

template <class G>
concept verifier_has_accepts = requires(G& g, std::string_view query_text, std::string_view candidate_text) {
    { g.accepts(query_text, candidate_text) } -> std::convertible_to<bool>;
};
template <class G>
concept hit_verifier = verifier_has_accepts<G>;

/// The default verifier: the distance threshold alone decides.
struct AcceptAll {
    static constexpr bool accepts(std::string_view, std::string_view) noexcept { return true; }
};

LLMCACHE_END_NAMESPACE
