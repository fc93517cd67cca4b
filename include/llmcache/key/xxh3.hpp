// Xxh3Key: the default key policy, XXH3-128 over the canonical request encoding.
//
// Requires: <xxhash.h> (Debian: libxxhash-dev), header only.
// Fast (tens of nanoseconds for a short prompt) and collision-safe for a cache in practice
// (128 bits), but not keyed: anyone who can guess a prompt can compute its key. Use Sha256Key
// or HmacSha256Key when that matters.
#pragma once

#include "../detail/xxhash.hpp"
#include "../normalize.hpp"
#include "layout.hpp"

LLMCACHE_BEGIN_NAMESPACE

template <class Normalizer = normalize::None>
class Xxh3Key : public detail::KeyPolicyBase<Xxh3Key<Normalizer>, Normalizer> {
    using Base = detail::KeyPolicyBase<Xxh3Key<Normalizer>, Normalizer>;
    friend Base;

public:
    static constexpr std::string_view algorithm = "xxh3";

    Xxh3Key() : Base("llmcache", Normalizer{}) {}
    explicit Xxh3Key(KeyOptions opts, Normalizer norm = {}) : Base(std::move(opts.prefix), norm) {}

private:
    static constexpr std::string_view algorithm_name() noexcept { return algorithm; }
    static void digest_into(std::string_view bytes, std::string& out) {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, XXH3_128bits(bytes.data(), bytes.size()));
        detail::append_hex(out, canonical.digest, sizeof canonical.digest);
    }
};

LLMCACHE_END_NAMESPACE
