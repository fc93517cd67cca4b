// Should not compile: a zero TTL in a constant expression. ttl::Fixed validates its duration in
// its constexpr constructor, so an invalid constant is a compile-time error (use ttl::None for
// entries that never expire). With LLMCACHE_SANITY_OK the TTL is one second and must compile.
#include <llmcache/llmcache.hpp>

#include <chrono>

#ifdef LLMCACHE_SANITY_OK
constexpr llmcache::ttl::Fixed t{std::chrono::seconds{1}};
#else
constexpr llmcache::ttl::Fixed t{std::chrono::seconds{0}};
#endif

static_assert(t.duration() > std::chrono::milliseconds{0});
