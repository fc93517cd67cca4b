// llmcache — a cache in front of LLM calls, composed from policies at compile time.
//
// This umbrella header brings in the core: the Cache, the xxHash key policy, the in-memory store,
// the TTL policies, the callable and simulated backends, the observers, the Semantic similarity
// policy with the HashingEmbedder, StaticWordEmbeddings (GloVe/fastText vectors), the FalseHitGuard
// and the flat matchers (SIMD cosine scans over float32, float16 or int8 vectors; HnswMatcher needs
// hnswlib and is included on its own: <llmcache/matcher/hnsw.hpp>). Optional parts that need other
// libraries are included only when their macro is set (the CMake and Meson targets set it when the
// library is found), so including llmcache never pulls in a library you do not use:
//   LLMCACHE_WITH_OPENSSL   Sha256Key, HmacSha256Key   (libcrypto)
//   LLMCACHE_WITH_HIREDIS   RedisStore, RedisClusterStore (libhiredis, libssl, libcrypto)
//   LLMCACHE_WITH_CURL      HTTP model backends, embeddings client, UpstashRestStore (libcurl,
//                           simdjson)
#pragma once

#include "config.hpp"
#include "fwd.hpp"

#include "backend/callable.hpp"
#include "backend/retry.hpp"
#include "backend/simulated.hpp"
#include "cache.hpp"
#include "call_record.hpp"
#include "concepts.hpp"
#include "detail/sse.hpp"
#include "embed/embedder.hpp"
#include "embed/hashing.hpp"
#include "embed/static_words.hpp"
#include "entry.hpp"
#include "error.hpp"
#include "guard/false_hit.hpp"
#include "key/xxh3.hpp"
#include "matcher/flat.hpp"
#include "matcher/matcher.hpp"
#include "normalize.hpp"
#include "observer.hpp"
#include "options.hpp"
#include "pricing.hpp"
#include "request.hpp"
#include "response.hpp"
#include "similarity/exact.hpp"
#include "similarity/record.hpp"
#include "similarity/semantic.hpp"
#include "similarity/verifier.hpp"
#include "stats.hpp"
#include "store/memory.hpp"
#include "store/tiered.hpp"
#include "ttl.hpp"

// Standard library only; used by RedisStore and UpstashRestStore (two conditional blocks below),
// so the single header must carry it outside both.
#include "detail/redis/lease.hpp"

#if LLMCACHE_WITH_OPENSSL
#include "key/hmac.hpp"
#include "key/sha256.hpp"
#endif

#if LLMCACHE_WITH_HIREDIS
#include "store/redis.hpp"
#include "store/redis_cluster.hpp"
#endif

#if LLMCACHE_WITH_CURL
#include "backend/anthropic.hpp"
#include "backend/openai.hpp"
#include "detail/http/client.hpp"
#include "embed/openai.hpp"
#include "store/upstash.hpp"
#endif

LLMCACHE_BEGIN_NAMESPACE

/// The common exact cache: XXH3 keys, ExactOnly, defaults for store and TTL.
template <class Backend, class Store = MemoryStore, class Ttl = ttl::None, class Observer = NullObserver>
using ExactCache = Cache<Xxh3Key<>, Store, ExactOnly, Ttl, Backend, Observer>;

/// The common semantic cache: XXH3 keys and Semantic<Embedder, Matcher, Verifier> (exact first,
/// then the nearest similar question of the same partition).
template <class Backend, class Embedder = HashingEmbedder, class Store = MemoryStore, class Ttl = ttl::None,
          class Matcher = FlatMatcher, class Verifier = AcceptAll, class Observer = NullObserver>
using SemanticCache = Cache<Xxh3Key<>, Store, Semantic<Embedder, Matcher, Verifier>, Ttl, Backend, Observer>;

LLMCACHE_END_NAMESPACE
