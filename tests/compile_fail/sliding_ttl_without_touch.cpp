// Should not compile: a sliding TTL (refresh_on_hit) with a store that cannot restart a TTL on
// read, i.e. has no noexcept get_and_touch (sliding_ttl_supported / touching_store).
// With LLMCACHE_SANITY_OK the store has get_and_touch() and the file must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

struct StoreWithoutTouch {
    llmcache::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
#ifdef LLMCACHE_SANITY_OK
    llmcache::StoreValue get_and_touch(std::string_view, std::optional<std::chrono::milliseconds>) noexcept {
        return std::optional<std::string>{};
    }
#endif
    llmcache::Result<void> put(std::string_view, std::string_view,
                               std::optional<std::chrono::milliseconds>) noexcept {
        return {};
    }
    llmcache::Result<bool> erase(std::string_view) noexcept {
        return false;
    }
    llmcache::Result<std::size_t> clear_prefix(std::string_view) noexcept {
        return std::size_t{0};
    }
};

void build_cache() {
    llmcache::Cache cache{
        llmcache::Xxh3Key{}, StoreWithoutTouch{}, llmcache::ExactOnly{},
        llmcache::ttl::Sliding{std::chrono::minutes{10}},
        llmcache::CallableBackend{[](const llmcache::Request&) { return std::string("answer"); }}};
    (void)cache.key_for(llmcache::Request::chat("model", "prompt"));
}
