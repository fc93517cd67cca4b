// ODR/link test, translation unit 1 of 2 (see b.cpp). Both TUs include the whole library; if a
// header defines a non-inline function or variable, linking them together fails with a duplicate
// symbol. Headers the umbrella does not include (optional backends) belong in both TUs too.
#include <llmcache/llmcache.hpp>

#include <string_view>

std::string_view llmcache_odr_version_from_a() noexcept;

std::string_view llmcache_odr_version_from_a() noexcept {
    return llmcache::version_string();
}
