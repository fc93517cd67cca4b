// Should not compile: a workload preset outside its documented range in a constant expression
// (ttl::Agentic allows 5-15 minutes). With LLMCACHE_SANITY_OK the TTL is 10 minutes and must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>

#ifdef LLMCACHE_SANITY_OK
constexpr llmcache::ttl::Agentic a{std::chrono::minutes{10}};
#else
constexpr llmcache::ttl::Agentic a{std::chrono::hours{2}};
#endif

static_assert(a.duration() >= llmcache::ttl::Agentic::minimum);
