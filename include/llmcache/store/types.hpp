// Value types shared by every store.
#pragma once

#include "../config.hpp"
#include "../error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

/// What a store's get returns: the stored bytes, nothing (a miss), or an error.
using StoreValue = Result<std::optional<std::string>>;

/// One item of a batch write. An empty ttl means "never expires".
struct StoreItem {
    std::string_view key;
    std::string_view value;
    std::optional<std::chrono::milliseconds> ttl{};
};

LLMCACHE_END_NAMESPACE
