// ExactOnly: the similarity policy of an exact cache. Only the exact key can hit.
#pragma once

#include "../config.hpp"

LLMCACHE_BEGIN_NAMESPACE

struct ExactOnly {
    /// The Cache skips the similarity step entirely (no embedding, no index) when this is false.
    static constexpr bool enabled = false;
};

LLMCACHE_END_NAMESPACE
