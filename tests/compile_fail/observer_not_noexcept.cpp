// Should not compile: a Cache with an observer whose on_call is not noexcept (call_observer):
// an observer must never throw through the call it describes.
// With LLMCACHE_SANITY_OK on_call is noexcept and the file must compile.
#include <llmcache/llmcache.hpp>

#include <string>

struct CountingObserver {
#ifdef LLMCACHE_SANITY_OK
    void on_call(const llmcache::CallRecord&) noexcept {
        ++calls;
    }
#else
    void on_call(const llmcache::CallRecord&) {
        ++calls;
    }
#endif
    int calls = 0;
};

void build_cache() {
    llmcache::Cache cache{
        llmcache::Xxh3Key{},
        llmcache::MemoryStore{},
        llmcache::ExactOnly{},
        llmcache::ttl::None{},
        llmcache::CallableBackend{[](const llmcache::Request&) { return std::string("answer"); }},
        CountingObserver{}};
    (void)cache.key_for(llmcache::Request::chat("model", "prompt"));
}
