// HmacSha256Key: keyed HMAC-SHA-256 over the canonical request encoding (OpenSSL libcrypto).
//
// Requires: LLMCACHE_WITH_OPENSSL=1 and libcrypto. With a secret key, whoever can read the
// store's keys (a shared Redis, a key dump) cannot test guesses of prompts against them. The
// secret never appears in keys, logs or error text; its memory is wiped when the last copy of the
// policy goes. `key_id` (public, short) is written into every key, so rotating the secret with a
// new id starts a fresh keyspace instead of silently missing on every old entry.
#pragma once

#include "../normalize.hpp"
#include "layout.hpp"

#include <cstdlib>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

LLMCACHE_BEGIN_NAMESPACE

template <class Normalizer = normalize::None>
class HmacSha256Key : public detail::KeyPolicyBase<HmacSha256Key<Normalizer>, Normalizer> {
    using Base = detail::KeyPolicyBase<HmacSha256Key<Normalizer>, Normalizer>;
    friend Base;

public:
    /// `secret` should be at least 32 random bytes; shorter secrets are rejected.
    /// `key_id` names the secret in keys: letters, digits, '.', '-' only, at most 16 characters.
    HmacSha256Key(std::string_view secret, std::string_view key_id, KeyOptions opts = {},
                  Normalizer norm = {})
        : Base(std::move(opts.prefix), norm) {
        if (secret.size() < 32)
            detail::invalid_argument("llmcache: HMAC secret must be at least 32 bytes");
        if (key_id.empty() || key_id.size() > 16)
            detail::invalid_argument("llmcache: HMAC key id must be 1-16 characters");
        for (char c : key_id)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-'))
                detail::invalid_argument(
                    "llmcache: HMAC key id may contain only letters, digits, '.' and '-'");
        algorithm_ = "hmac-";
        algorithm_.append(key_id);
        secret_ = std::make_shared<Secret>(secret);
    }

    /// Reads the secret from an environment variable (e.g. LLMCACHE_HMAC_KEY); an unset or short
    /// value is an error whose text names the variable, never its content.
    static HmacSha256Key from_env(const char* variable, std::string_view key_id, KeyOptions opts = {}) {
        const char* value = std::getenv(variable);
        if (value == nullptr || std::string_view(value).size() < 32)
            detail::invalid_argument(std::string("llmcache: environment variable ") + variable +
                                     " must hold an HMAC secret of at least 32 bytes");
        return HmacSha256Key(value, key_id, std::move(opts));
    }

private:
    struct Secret {
        explicit Secret(std::string_view s) : bytes(s) {}
        ~Secret() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
        Secret(const Secret&) = delete;
        Secret& operator=(const Secret&) = delete;
        std::string bytes;
    };

    std::string_view algorithm_name() const noexcept { return algorithm_; }
    void digest_into(std::string_view bytes, std::string& out) const {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (HMAC(EVP_sha256(), secret_->bytes.data(), static_cast<int>(secret_->bytes.size()),
                 reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md, &len) == nullptr)
            std::abort(); // only fails when libcrypto itself is broken
        detail::append_hex(out, md, len);
    }

    std::string algorithm_;
    std::shared_ptr<const Secret> secret_;
};

LLMCACHE_END_NAMESPACE
