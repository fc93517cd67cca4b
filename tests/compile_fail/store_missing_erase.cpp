// Should not compile: a Cache over a store type that has no erase(). The store concept
// (store_policy) requires get, put, erase and clear_prefix, all noexcept.
// With LLMCACHE_SANITY_OK the store has erase() and the file must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

struct StoreWithoutErase {
    llmcache::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    llmcache::Result<void> put(std::string_view, std::string_view,
                               std::optional<std::chrono::milliseconds>) noexcept {
        return {};
    }
#ifdef LLMCACHE_SANITY_OK
    llmcache::Result<bool> erase(std::string_view) noexcept {
        return false;
    }
#endif
    llmcache::Result<std::size_t> clear_prefix(std::string_view) noexcept {
        return std::size_t{0};
    }
};

void build_cache() {
    llmcache::Cache cache{
        llmcache::Xxh3Key{}, StoreWithoutErase{}, llmcache::ExactOnly{}, llmcache::ttl::None{},
        llmcache::CallableBackend{[](const llmcache::Request&) { return std::string("answer"); }}};
    (void)cache.key_for(llmcache::Request::chat("model", "prompt"));
}
