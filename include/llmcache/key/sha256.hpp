// Sha256Key: SHA-256 over the canonical request encoding (OpenSSL libcrypto).
//
// Requires: LLMCACHE_WITH_OPENSSL=1 and linking libcrypto (the CMake and Meson targets do both
// when OpenSSL is found). Use it where a 128-bit non-cryptographic digest is not acceptable,
// e.g. a compliance rule that asks for SHA-2. It is still unkeyed: see HmacSha256Key.
#pragma once

#include "../normalize.hpp"
#include "layout.hpp"

#include <openssl/evp.h>

LLMCACHE_BEGIN_NAMESPACE

template <class Normalizer = normalize::None>
class Sha256Key : public detail::KeyPolicyBase<Sha256Key<Normalizer>, Normalizer> {
    using Base = detail::KeyPolicyBase<Sha256Key<Normalizer>, Normalizer>;
    friend Base;

public:
    static constexpr std::string_view algorithm = "sha256";

    Sha256Key() : Base("llmcache", Normalizer{}) {}
    explicit Sha256Key(KeyOptions opts, Normalizer norm = {}) : Base(std::move(opts.prefix), norm) {}

private:
    static constexpr std::string_view algorithm_name() noexcept { return algorithm; }
    static void digest_into(std::string_view bytes, std::string& out) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
            std::abort(); // only fails when libcrypto itself is broken (no SHA-256 provider)
        detail::append_hex(out, md, len);
    }
};

LLMCACHE_END_NAMESPACE
