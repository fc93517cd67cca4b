// Key derivation cost by prompt size, next to the physical limit of each digest.
//
// For every prompt size this measures
//   Key/<policy>        policy.key_for(Request::chat(model, prompt)): canonical encoding into the
//                       per-thread buffer + digest + hex + key layout (what the Cache pays per call)
//   Encode              the canonical encoding alone (copy of the request into the buffer)
//   Raw/<digest>        the bare digest over the prompt bytes only, no encoding, no key string:
//                       XXH3_128bits, EVP_Digest(SHA-256) and HMAC(SHA-256) one-shot calls exactly
//                       as the key policies make them, plus the same digests with a pre-fetched
//                       EVP_MD / EVP_MAC context (what OpenSSL 3 can do without per-call fetches)
// Bytes/s are prompt bytes per second, so Key/<policy> vs Raw/<digest> at the same size shows
// the overhead of the canonical encoding and the key layout.
#include <llmcache/config.hpp>
#include <llmcache/detail/canonical.hpp>
#include <llmcache/key/xxh3.hpp>

#include <benchmark/benchmark.h>

// The SHA-256 and HMAC parts need libcrypto (LLMCACHE_WITH_OPENSSL=1, set by the CMake and Meson
// targets when OpenSSL is found); without it only the XXH3 rows are built.
#if LLMCACHE_WITH_OPENSSL
#include <llmcache/key/hmac.hpp>
#include <llmcache/key/sha256.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#endif

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace llmcache;

constexpr const char* kModel = "claude-sonnet-4-5";
constexpr const char* kSecret = "0123456789abcdef0123456789abcdef-bench-secret";

// Deterministic, word-like prompt text of exactly `n` bytes.
std::string make_prompt(std::size_t n) {
    static constexpr const char* words[] = {"what ", "is ",    "the ",   "cache ", "answer ", "for ",
                                            "BM25 ", "model ", "token ", "query ", "and ",    "why "};
    std::string s;
    s.reserve(n + 16);
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    while (s.size() < n) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        s.append(words[(x >> 33) % 12]);
    }
    s.resize(n);
    return s;
}

void sizes(benchmark::internal::Benchmark* b) {
    for (long n : {64L, 200L, 2L << 10, 64L << 10, 1L << 20})
        b->Arg(n);
}

template <class Policy>
void key_bench(benchmark::State& state, const Policy& policy) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Request req = Request::chat(kModel, make_prompt(n));
    for (auto _ : state) {
        std::string key = policy.key_for(req);
        benchmark::DoNotOptimize(key.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

void BM_Key_Xxh3(benchmark::State& state) {
    key_bench(state, Xxh3Key<>{});
}
#if LLMCACHE_WITH_OPENSSL
void BM_Key_Sha256(benchmark::State& state) {
    key_bench(state, Sha256Key<>{});
}
void BM_Key_HmacSha256(benchmark::State& state) {
    key_bench(state, HmacSha256Key<>{kSecret, "k1"});
}
#endif

// The canonical encoding alone, into a reused buffer (as make_key does).
void BM_Encode(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const Request req = Request::chat(kModel, make_prompt(n));
    std::string encoded, scratch;
    for (auto _ : state) {
        encoded.clear();
        detail::canonical_encode(req, normalize::None{}, detail::Part::whole_request, encoded, scratch);
        benchmark::DoNotOptimize(encoded.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

void BM_Raw_Xxh3_128(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prompt = make_prompt(n);
    for (auto _ : state) {
        XXH128_hash_t h = XXH3_128bits(prompt.data(), prompt.size());
        benchmark::DoNotOptimize(h);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

#if LLMCACHE_WITH_OPENSSL
// Exactly the call Sha256Key makes (implicit fetch of the SHA-256 implementation on every call).
void BM_Raw_Sha256_EVP_Digest(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prompt = make_prompt(n);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    for (auto _ : state) {
        if (EVP_Digest(prompt.data(), prompt.size(), md, &len, EVP_sha256(), nullptr) != 1)
            std::abort();
        benchmark::DoNotOptimize(md);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

// SHA-256 with the implementation fetched once (OpenSSL 3 explicit fetch): the physical limit.
void BM_Raw_Sha256_Prefetched(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prompt = make_prompt(n);
    EVP_MD* sha = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    for (auto _ : state) {
        if (EVP_DigestInit_ex(ctx, sha, nullptr) != 1 ||
            EVP_DigestUpdate(ctx, prompt.data(), prompt.size()) != 1 ||
            EVP_DigestFinal_ex(ctx, md, &len) != 1)
            std::abort();
        benchmark::DoNotOptimize(md);
    }
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(sha);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

// Exactly the call HmacSha256Key makes (one-shot HMAC()).
void BM_Raw_Hmac_OneShot(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prompt = make_prompt(n);
    const std::string secret = kSecret;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    for (auto _ : state) {
        if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                 reinterpret_cast<const unsigned char*>(prompt.data()), prompt.size(), md, &len) == nullptr)
            std::abort();
        benchmark::DoNotOptimize(md);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

// HMAC-SHA-256 from a keyed context prepared once and duplicated per message (the inner and outer
// key blocks are already absorbed): the physical limit of a keyed SHA-256.
void BM_Raw_Hmac_Prefetched(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::string prompt = make_prompt(n);
    std::string secret = kSecret;
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* keyed = EVP_MAC_CTX_new(mac);
    char digest_name[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(keyed, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), params) !=
        1)
        std::abort();
    unsigned char md[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    for (auto _ : state) {
        EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
        if (ctx == nullptr ||
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(prompt.data()), prompt.size()) != 1 ||
            EVP_MAC_final(ctx, md, &len, sizeof md) != 1)
            std::abort();
        EVP_MAC_CTX_free(ctx);
        benchmark::DoNotOptimize(md);
    }
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}
#endif

} // namespace

BENCHMARK(BM_Key_Xxh3)->Apply(sizes);
#if LLMCACHE_WITH_OPENSSL
BENCHMARK(BM_Key_Sha256)->Apply(sizes);
BENCHMARK(BM_Key_HmacSha256)->Apply(sizes);
#endif
BENCHMARK(BM_Encode)->Apply(sizes);
BENCHMARK(BM_Raw_Xxh3_128)->Apply(sizes);
#if LLMCACHE_WITH_OPENSSL
BENCHMARK(BM_Raw_Sha256_EVP_Digest)->Apply(sizes);
BENCHMARK(BM_Raw_Sha256_Prefetched)->Apply(sizes);
BENCHMARK(BM_Raw_Hmac_OneShot)->Apply(sizes);
BENCHMARK(BM_Raw_Hmac_Prefetched)->Apply(sizes);
#endif

BENCHMARK_MAIN();
