// A hash that lets unordered containers keyed by std::string be searched with a string_view,
// without building a std::string for every lookup.
#pragma once

#include "../config.hpp"

#include <cstddef>
#include <functional>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail {

struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

} // namespace detail
LLMCACHE_END_NAMESPACE
