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
class Sha256Key {
public:
    static constexpr std::string_view algorithm = "sha256";

    Sha256Key() : prefix_("llmcache") {}
    explicit Sha256Key(KeyOptions opts, Normalizer norm = {})
        : prefix_(detail::checked_prefix(std::move(opts.prefix))), norm_(norm) {}

    std::string key_for(const Request& req) const {
        return detail::make_key(prefix_, algorithm, req, norm_, digest, detail::Part::whole_request);
    }
    std::string partition_for(const Request& req) const {
        return detail::make_key(prefix_, algorithm, req, norm_, digest, detail::Part::partition);
    }
    std::string scope_prefix(std::string_view scope) const {
        std::string out;
        detail::append_scope_prefix(out, prefix_, scope);
        return out;
    }
    std::string prefix() const { return prefix_ + ":"; }

private:
    static void digest(std::string_view bytes, std::string& out) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1)
            std::abort(); // only fails when libcrypto itself is broken (no SHA-256 provider)
        detail::append_hex(out, md, len);
    }

    std::string prefix_;
    [[no_unique_address]] Normalizer norm_{};
};

LLMCACHE_END_NAMESPACE
