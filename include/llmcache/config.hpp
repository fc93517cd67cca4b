// llmcache — configuration macros, version and the ABI-tagged namespace.
//
// Optional parts are switched on by macros that the build system sets (CMake and Meson do it
// for you); a single-header user can also drop an <llmcache/user_config.hpp> on the include path.
#pragma once

#if defined(__has_include)
#if __has_include(<llmcache/user_config.hpp>)
#include <llmcache/user_config.hpp>
#endif
#endif

#include <string_view>

#define LLMCACHE_VERSION_MAJOR 0
#define LLMCACHE_VERSION_MINOR 1
#define LLMCACHE_VERSION_PATCH 0

// SHA-256 and HMAC-SHA-256 key policies need OpenSSL's libcrypto.
#ifndef LLMCACHE_WITH_OPENSSL
#define LLMCACHE_WITH_OPENSSL 0
#endif

// RedisStore needs hiredis (protocol codec) and OpenSSL's libssl + libcrypto (rediss://).
#ifndef LLMCACHE_WITH_HIREDIS
#define LLMCACHE_WITH_HIREDIS 0
#endif

// The HTTP components (Anthropic / OpenAI backends, embeddings client, UpstashRestStore) need
// libcurl and simdjson.
#ifndef LLMCACHE_WITH_CURL
#define LLMCACHE_WITH_CURL 0
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define LLMCACHE_HAS_EXCEPTIONS 1
#else
#define LLMCACHE_HAS_EXCEPTIONS 0
#endif

// Everything lives in an inline namespace named after the version and the options that change
// layout, so translation units built with different settings cannot silently link together.
#define LLMCACHE_ABI_CONCAT_(a, b, c, d, e) v##a##_##b##_o##c##_r##d##_h##e
#define LLMCACHE_ABI_NAME_(a, b, c, d, e) LLMCACHE_ABI_CONCAT_(a, b, c, d, e)
#define LLMCACHE_ABI_NAMESPACE                                                                               \
    LLMCACHE_ABI_NAME_(LLMCACHE_VERSION_MAJOR, LLMCACHE_VERSION_MINOR, LLMCACHE_WITH_OPENSSL,                \
                       LLMCACHE_WITH_HIREDIS, LLMCACHE_WITH_CURL)

#define LLMCACHE_BEGIN_NAMESPACE                                                                             \
    namespace llmcache {                                                                                     \
    inline namespace LLMCACHE_ABI_NAMESPACE {
#define LLMCACHE_END_NAMESPACE                                                                               \
    }                                                                                                        \
    }

LLMCACHE_BEGIN_NAMESPACE

/// The library version as "major.minor.patch".
inline constexpr std::string_view version_string() noexcept {
    return "0.1.0";
}

LLMCACHE_END_NAMESPACE
