// Forward declarations of llmcache's templates and policies, with their defaults.
#pragma once

#include "config.hpp"

LLMCACHE_BEGIN_NAMESPACE

namespace normalize {
struct None;
struct Whitespace;
struct WhitespaceAndCase;
} // namespace normalize

namespace ttl {
struct None;
class Fixed;
template <class Inner>
class Sliding;
template <class Inner>
class Jittered;
struct StaticFaq;
struct ProductQa;
struct DateSensitive;
struct Agentic;
} // namespace ttl

struct Request;
struct Response;
struct Error;
struct CallRecord;
struct CacheOptions;
struct CallOptions;
struct CacheStats;
struct ExactOnly;
struct AcceptAll;
class HashingEmbedder;
class MemoryStore;
class SimulatedModel;
struct RetryPolicy;
struct AnthropicOptions;
class AnthropicBackend; // backend/anthropic.hpp (LLMCACHE_WITH_CURL)
struct OpenAIOptions;
class OpenAIBackend; // backend/openai.hpp (LLMCACHE_WITH_CURL)
struct NullObserver;
class JsonLinesObserver;

template <class Normalizer>
class Xxh3Key;
template <class Normalizer>
class Sha256Key;
template <class Normalizer>
class HmacSha256Key;

LLMCACHE_END_NAMESPACE
