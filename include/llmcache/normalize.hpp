// Prompt normalisation for the exact key: which spellings of a prompt count as the same prompt.
//
// A normaliser is a plain type with `static constexpr bool identity` and
// `void apply(std::string_view in, std::string& out) const` (out is cleared by the caller).
// It applies to the system prompt and message texts only; the model id, scope, stop sequences
// and tool JSON are always keyed byte for byte.
#pragma once

#include "config.hpp"

#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE

namespace normalize {

/// Key the text exactly as given (the default).
struct None {
    static constexpr bool identity = true;
    void apply(std::string_view in, std::string& out) const { out.append(in); }
};

namespace detail {
constexpr bool is_ascii_space(unsigned char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
// Non-ASCII bytes pass through untouched, so invalid UTF-8 never breaks normalisation.
template <bool FoldCase>
void fold(std::string_view in, std::string& out) {
    out.reserve(out.size() + in.size());
    bool pending_space = false;
    for (unsigned char c : in) {
        if (is_ascii_space(c)) {
            pending_space = true;
            continue;
        }
        if (pending_space && !out.empty())
            out.push_back(' ');
        pending_space = false;
        if constexpr (FoldCase)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<unsigned char>(c - 'A' + 'a');
        out.push_back(static_cast<char>(c));
    }
}
} // namespace detail

/// Trim leading and trailing ASCII whitespace and fold every inner run into one space:
/// "Hello,\n  world " keys like "Hello, world".
struct Whitespace {
    static constexpr bool identity = false;
    void apply(std::string_view in, std::string& out) const { detail::fold<false>(in, out); }
};

/// Whitespace folding plus ASCII case folding ("BM25" keys like "bm25"). Off by default: case can
/// change meaning ("US" vs "us"), and only ASCII letters are folded.
struct WhitespaceAndCase {
    static constexpr bool identity = false;
    void apply(std::string_view in, std::string& out) const { detail::fold<true>(in, out); }
};

} // namespace normalize

LLMCACHE_END_NAMESPACE
