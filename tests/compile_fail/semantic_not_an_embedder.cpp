// Should not compile: a Semantic policy over a type that is not an embedder (its embed returns a
// vector instead of writing into the caller's span). The embedder concept names the missing part
// (embedder_has_embed_into). With LLMCACHE_SANITY_OK the type has embed_into and must compile.
#include <llmcache/llmcache.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

struct NotAnEmbedder {
    std::string_view id() const { return "toy-d4"; }
    std::size_t dimensions() const { return 4; }
#ifdef LLMCACHE_SANITY_OK
    bool embed_into(std::string_view, std::span<float> out) const {
        out[0] = 1.0f;
        return true;
    }
#else
    std::vector<float> embed(std::string_view) const {
        return {1.0f, 0.0f, 0.0f, 0.0f};
    }
#endif
};

void build_policy() {
    llmcache::Semantic semantic{NotAnEmbedder{}};
    (void)semantic.dimensions();
}
