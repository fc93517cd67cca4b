// The layout every shipped key policy writes:
//
//     <prefix>:k<canonical version>:<escaped scope>:<algorithm>:<hex digest>
//     llmcache:k1:acme:xxh3:5f0c3b8e1d2a4c6b9e7f0a1b2c3d4e5f
//
// The digest covers the canonical encoding of the whole request (model, system prompt,
// messages, parameters, tools, scope), so keys never contain prompt text. The scope is repeated
// in clear (escaped) so that one scope can be cleared by prefix. Semantic partitions use the same
// layout with "p" before the algorithm: <prefix>:k1:<scope>:p:<algorithm>:<hex>.
#pragma once

#include "../config.hpp"
#include "../detail/canonical.hpp"
#include "../error.hpp"
#include "../request.hpp"

#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

struct KeyOptions {
    /// First component of every key. Change it (e.g. "myapp-llm") to keep several applications
    /// apart on one Redis, or bump it to retire every existing entry at once.
    std::string prefix = "llmcache";
};

namespace detail {

inline bool valid_key_prefix(std::string_view p) noexcept {
    if (p.empty() || p.size() > 64)
        return false;
    for (char c : p)
        if (c == ':' || c == '*' || c == '?' || c == '[' || c == ']' || c == '\\' || c == ' ' ||
            static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
            return false;
    return true;
}

inline std::string checked_prefix(std::string prefix) {
    if (!valid_key_prefix(prefix))
        invalid_argument("llmcache: key prefix must be 1-64 printable ASCII characters without "
                         "':', spaces or glob characters (*?[]\\)");
    return prefix;
}

/// Builds "<prefix>:k1:<scope>:" — the part of a key shared by everything in one scope.
inline void append_scope_prefix(std::string& out, std::string_view prefix, std::string_view scope) {
    out.append(prefix);
    out.append(":k");
    out.push_back(canonical_version);
    out.push_back(':');
    append_escaped_scope(out, scope);
    out.push_back(':');
}

/// Shared body of the shipped key policies: encode canonically, digest with `Digest`
/// (`void operator()(std::string_view bytes, std::string& hex_out) const`), lay out the key.
template <class Normalizer, class Digest>
std::string make_key(const std::string& prefix, std::string_view algorithm, const Request& req,
                     const Normalizer& norm, const Digest& digest, Part part) {
    CanonicalBuffers& buf = CanonicalBuffers::local();
    buf.encoded.clear();
    canonical_encode(req, norm, part, buf.encoded, buf.scratch);
    std::string key;
    key.reserve(prefix.size() + req.scope.size() + algorithm.size() + 80);
    append_scope_prefix(key, prefix, req.scope);
    if (part == Part::partition)
        key.append("p:");
    key.append(algorithm);
    key.push_back(':');
    digest(std::string_view(buf.encoded), key);
    buf.trim();
    return key;
}

/// What every shipped key policy has in common: the prefix, the normaliser and the four members
/// of key_policy. `Derived` supplies `algorithm_name()` (the key's algorithm field) and
/// `digest_into(std::string_view bytes, std::string& hex_out) const`.
template <class Derived, class Normalizer>
class KeyPolicyBase {
public:
    /// The cache key of a request.
    std::string key_for(const Request& req) const { return make(req, Part::whole_request); }
    /// The key of the request's semantic partition (all of it except the last user text).
    std::string partition_for(const Request& req) const { return make(req, Part::partition); }
    /// Every key of `scope` starts with this.
    std::string scope_prefix(std::string_view scope) const {
        std::string out;
        append_scope_prefix(out, prefix_, scope);
        return out;
    }
    /// Every key this policy makes starts with this.
    std::string prefix() const { return prefix_ + ":"; }

protected:
    KeyPolicyBase(std::string prefix, Normalizer norm)
        : prefix_(checked_prefix(std::move(prefix))), norm_(norm) {}

private:
    std::string make(const Request& req, Part part) const {
        const Derived& self = static_cast<const Derived&>(*this);
        auto digest = [&self](std::string_view bytes, std::string& out) { self.digest_into(bytes, out); };
        return make_key(prefix_, self.algorithm_name(), req, norm_, digest, part);
    }

    std::string prefix_;
    [[no_unique_address]] Normalizer norm_{};
};

} // namespace detail
LLMCACHE_END_NAMESPACE
