// Should not compile: a Cache over a store whose get() is not noexcept. Store failures must come
// back as values (StoreValue), never as exceptions through the Cache (store_has_get).
// With LLMCACHE_SANITY_OK get() is noexcept and the file must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#ifdef LLMCACHE_SANITY_OK
#define MAYBE_NOEXCEPT noexcept
#else
#define MAYBE_NOEXCEPT
#endif

struct ThrowingStore {
    llmcache::StoreValue get(std::string_view) MAYBE_NOEXCEPT { return std::optional<std::string>{}; }
    llmcache::Result<void> put(std::string_view, std::string_view,
                               std::optional<std::chrono::milliseconds>) noexcept {
        return {};
    }
    llmcache::Result<bool> erase(std::string_view) noexcept { return false; }
    llmcache::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};

void build_cache() {
    llmcache::Cache cache{
        llmcache::Xxh3Key{}, ThrowingStore{}, llmcache::ExactOnly{}, llmcache::ttl::None{},
        llmcache::CallableBackend{[](const llmcache::Request&) { return std::string("answer"); }}};
    (void)cache.key_for(llmcache::Request::chat("model", "prompt"));
}
