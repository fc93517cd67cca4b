// Value types shared by every store.
#pragma once

#include "../config.hpp"
#include "../error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

/// What a store's get returns: the stored bytes, nothing (a miss), or an error.
using StoreValue = Result<std::optional<std::string>>;

/// One item of a batch write. An empty ttl means "never expires".
struct StoreItem {
    std::string_view key;
    std::string_view value;
    std::optional<std::chrono::milliseconds> ttl{};
};

/// One member of an ordered index (indexing_store): a string and its integer score. Semantic
/// policies use the score for the time the member was added (milliseconds since the epoch).
struct IndexMember {
    std::string member;
    std::int64_t score = 0;
    friend bool operator==(const IndexMember&, const IndexMember&) = default;
};

LLMCACHE_END_NAMESPACE
