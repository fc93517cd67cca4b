// The canonical encoding of a request, which key policies hash.
//
// Every field is written as a one-byte tag, a 64-bit little-endian length and the bytes, so no
// two different requests share an encoding (("abc","x") and ("ab","cx") differ in the lengths).
// Unset optional parameters have their own tag, distinct from any value. Bump
// `canonical_version` whenever the encoding changes: it is part of every key.
#pragma once

#include "../config.hpp"
#include "../request.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail {

inline constexpr char canonical_version = '1';

enum class Part { whole_request, partition };

class CanonicalWriter {
public:
    explicit CanonicalWriter(std::string& out) : out_(out) {}

    // Each call writes its bytes with one append: a tag, a length or a number is staged in a
    // small array first (a push_back per byte costs a call and a capacity check per byte).
    void raw_u64(std::uint64_t v) {
        char bytes[8];
        put_u64(bytes, v);
        out_.append(bytes, 8);
    }
    void tag_u64(char tag, std::uint64_t v) {
        char bytes[9];
        bytes[0] = tag;
        put_u64(bytes + 1, v);
        out_.append(bytes, 9);
    }
    void field(char tag, std::string_view bytes) {
        tag_u64(tag, bytes.size());
        out_.append(bytes.data(), bytes.size());
    }
    void absent(char tag) {
        const char bytes[2] = {tag, '\0'};
        out_.append(bytes, 2);
    }
    void number(char tag, const std::optional<double>& v) {
        if (!v) {
            absent(tag);
            return;
        }
        double d = *v;
        if (d == 0.0)
            d = 0.0; // -0.0 and 0.0 ask for the same thing
        std::uint64_t bits = std::isnan(d) ? 0x7ff8000000000000ull : std::bit_cast<std::uint64_t>(d);
        present(tag, bits);
    }
    void integer(char tag, const std::optional<int>& v) {
        if (!v) {
            absent(tag);
            return;
        }
        present(tag, static_cast<std::uint64_t>(static_cast<std::int64_t>(*v)));
    }

private:
    static void put_u64(char* p, std::uint64_t v) {
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(p, &v, 8);
        } else {
            for (int i = 0; i < 8; ++i)
                p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
        }
    }
    void present(char tag, std::uint64_t bits) {
        char bytes[10];
        bytes[0] = tag;
        bytes[1] = '\1';
        put_u64(bytes + 2, bits);
        out_.append(bytes, 10);
    }

    std::string& out_;
};

/// Appends the canonical encoding of `req` to `out`. With Part::partition the text of the last
/// user message is left out: what remains identifies the "conversation so far", which is what a
/// semantic lookup must match exactly before it compares the last question by meaning.
template <class Normalizer>
void canonical_encode(const Request& req, const Normalizer& norm, Part part, std::string& out,
                      std::string& scratch) {
    const GenerationParams& p = req.params;
    {
        // Room for the whole encoding at once (exact unless a normaliser changes the text's
        // length), so a long prompt is copied once rather than through every doubling.
        std::size_t size = 3 + 3 * 9 + req.model.size() + req.scope.size() + req.system.size() + 8 + 4 * 10 +
                           9 + 2 * 9 + p.tools_json.size() + p.tool_choice_json.size();
        for (const Message& m : req.messages)
            size += 2 + 9 + m.content.size();
        for (const std::string& s : p.stop_sequences)
            size += 9 + s.size();
        out.reserve(out.size() + size);
    }
    CanonicalWriter w(out);
    const char head[3] = {'L', canonical_version, part == Part::whole_request ? 'W' : 'P'};
    out.append(head, 3);

    auto text_field = [&](char tag, std::string_view text) {
        if constexpr (Normalizer::identity) {
            w.field(tag, text);
        } else {
            scratch.clear();
            norm.apply(text, scratch);
            w.field(tag, scratch);
        }
    };

    w.field('M', req.model);
    w.field('C', req.scope);
    text_field('S', req.system);

    std::size_t last_user = req.messages.size();
    if (part == Part::partition)
        for (std::size_t i = req.messages.size(); i-- > 0;)
            if (req.messages[i].role == Role::user) {
                last_user = i;
                break;
            }
    w.raw_u64(req.messages.size());
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
        const Message& m = req.messages[i];
        const char role[2] = {'R', static_cast<char>('0' + static_cast<int>(m.role))};
        out.append(role, 2);
        if (i == last_user)
            w.absent('T');
        else
            text_field('T', m.content);
    }

    w.number('t', p.temperature);
    w.integer('x', p.max_tokens);
    w.number('p', p.top_p);
    w.integer('k', p.top_k);

    // Stop sequences are a set: sort and de-duplicate so ["a","b"] keys like ["b","a","a"].
    std::vector<std::string_view> stops(p.stop_sequences.begin(), p.stop_sequences.end());
    std::sort(stops.begin(), stops.end());
    stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
    w.tag_u64('s', stops.size());
    for (std::string_view s : stops)
        w.field('q', s);

    w.field('J', p.tools_json);
    w.field('j', p.tool_choice_json);
}

/// Per-thread buffers for the encoding, so deriving a key does not allocate in steady state.
/// A buffer grown by a huge prompt is released afterwards rather than kept for the thread's life.
struct CanonicalBuffers {
    std::string encoded;
    std::string scratch;

    static CanonicalBuffers& local() {
        thread_local CanonicalBuffers buffers;
        return buffers;
    }
    void trim() {
        constexpr std::size_t keep = 1 << 16;
        if (encoded.capacity() > keep)
            std::string().swap(encoded);
        if (scratch.capacity() > keep)
            std::string().swap(scratch);
    }
};

/// Lower-case hex of `n` bytes.
inline void append_hex(std::string& out, const unsigned char* bytes, std::size_t n) {
    constexpr char digits[] = "0123456789abcdef";
    const std::size_t at = out.size();
    out.resize(at + 2 * n); // one size change, not 2n push_backs
    char* hex = out.data() + at;
    for (std::size_t i = 0; i < n; ++i) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0xf];
    }
}

/// Scopes appear in keys, so they are escaped: letters, digits, '.' and '-' stay, every other
/// byte becomes %XX. This keeps ':' (the key separator) and the glob characters Redis SCAN MATCH
/// interprets out of keys, so one scope's prefix can never match another scope's keys.
/// The empty scope is written "_" (which no escaped scope can be, since '_' is escaped).
inline void append_escaped_scope(std::string& out, std::string_view scope) {
    if (scope.empty()) {
        out.push_back('_');
        return;
    }
    constexpr char digits[] = "0123456789ABCDEF";
    for (unsigned char c : scope) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '-';
        if (plain) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0xf]);
        }
    }
}

} // namespace detail
LLMCACHE_END_NAMESPACE
