// Should not compile: a jitter fraction outside (0, 0.5] in a constant expression.
// With LLMCACHE_SANITY_OK the fraction is 0.25 and the file must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>

#ifdef LLMCACHE_SANITY_OK
constexpr llmcache::ttl::Jittered<> j{llmcache::ttl::Fixed{std::chrono::hours{1}}, 0.25};
#else
constexpr llmcache::ttl::Jittered<> j{llmcache::ttl::Fixed{std::chrono::hours{1}}, 0.75};
#endif

static_assert(j.fraction() > 0.0);
