// Should not compile: a Cache over a key policy without scope_prefix(scope) (key_policy needs
// key_for, scope_prefix and prefix; Cache::clear(scope) uses scope_prefix).
// With LLMCACHE_SANITY_OK the key policy has scope_prefix() and the file must compile.
#include <llmcache/llmcache.hpp>

#include <string>
#include <string_view>

struct KeyWithoutScopePrefix {
    std::string key_for(const llmcache::Request& r) const { return "mykeys:" + r.scope + ":" + r.model; }
#ifdef LLMCACHE_SANITY_OK
    std::string scope_prefix(std::string_view scope) const {
        return "mykeys:" + std::string(scope) + ":";
    }
#endif
    std::string prefix() const {
        return "mykeys:";
    }
};

void build_cache() {
    llmcache::Cache cache{
        KeyWithoutScopePrefix{}, llmcache::MemoryStore{}, llmcache::ExactOnly{}, llmcache::ttl::None{},
        llmcache::CallableBackend{[](const llmcache::Request&) { return std::string("answer"); }}};
    (void)cache.clear("tenant");
}
