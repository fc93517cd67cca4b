// Should not compile: a Cache over a backend whose complete() returns std::string instead of
// llmcache::Result<llmcache::Response> (model_backend). Wrap such a function in CallableBackend.
// With LLMCACHE_SANITY_OK complete() returns Result<Response> and the file must compile.
#include <llmcache/llmcache.hpp>

#include <string>

struct StringBackend {
#ifdef LLMCACHE_SANITY_OK
    llmcache::Result<llmcache::Response> complete(const llmcache::Request&) {
        llmcache::Response r;
        r.text = "answer";
        r.stop_reason = llmcache::StopReason::end_turn;
        return r;
    }
#else
    std::string complete(const llmcache::Request&) {
        return "answer";
    }
#endif
};

void build_cache() {
    llmcache::Cache cache{llmcache::Xxh3Key{}, llmcache::MemoryStore{}, llmcache::ExactOnly{},
                          llmcache::ttl::None{}, StringBackend{}};
    (void)cache.key_for(llmcache::Request::chat("model", "prompt"));
}
