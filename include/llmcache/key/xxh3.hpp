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
class Xxh3Key {
public:
    static constexpr std::string_view algorithm = "xxh3";

    Xxh3Key() : prefix_("llmcache") {}
    explicit Xxh3Key(KeyOptions opts, Normalizer norm = {})
        : prefix_(detail::checked_prefix(std::move(opts.prefix))), norm_(norm) {}

    /// The cache key of a request.
    std::string key_for(const Request& req) const {
        return detail::make_key(prefix_, algorithm, req, norm_, digest, detail::Part::whole_request);
    }
    /// The key of the request's semantic partition (all of it except the last user text).
    std::string partition_for(const Request& req) const {
        return detail::make_key(prefix_, algorithm, req, norm_, digest, detail::Part::partition);
    }
    /// Every key of `scope` starts with this.
    std::string scope_prefix(std::string_view scope) const {
        std::string out;
        detail::append_scope_prefix(out, prefix_, scope);
        return out;
    }
    /// Every key this policy makes starts with this.
    std::string prefix() const { return prefix_ + ":"; }

private:
    static void digest(std::string_view bytes, std::string& out) {
        XXH128_canonical_t canonical;
        XXH128_canonicalFromHash(&canonical, XXH3_128bits(bytes.data(), bytes.size()));
        detail::append_hex(out, canonical.digest, sizeof canonical.digest);
    }

    std::string prefix_;
    [[no_unique_address]] Normalizer norm_{};
};

LLMCACHE_END_NAMESPACE
