// Writing JSON strings with every character escaped correctly, for llmcache's own log lines.
// (Parsing JSON is simdjson's job; this only writes.)
#pragma once

#include "../config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail {

/// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not valid UTF-8
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline std::size_t utf8_sequence_length(std::string_view s) noexcept {
    const auto b0 = static_cast<unsigned char>(s[0]);
    std::size_t n;
    std::uint32_t cp;
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf) {
        n = 2;
        cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
        n = 3;
        cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        n = 4;
        cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (s.size() < n)
        return 0;
    for (std::size_t i = 1; i < n; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/// Appends `s` as a quoted JSON string. Control characters are escaped; bytes that are not valid
/// UTF-8 are replaced by U+FFFD, deliberately, because JSON text must be UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    while (!s.empty()) {
        const auto c = static_cast<unsigned char>(s[0]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(s);
            if (n == 0) {
                out.append("\\ufffd");
                s.remove_prefix(1);
            } else {
                out.append(s.substr(0, n));
                s.remove_prefix(n);
            }
            continue;
        }
        switch (c) {
        case '"':
            out.append("\\\"");
            break;
        case '\\':
            out.append("\\\\");
            break;
        case '\n':
            out.append("\\n");
            break;
        case '\r':
            out.append("\\r");
            break;
        case '\t':
            out.append("\\t");
            break;
        case '\b':
            out.append("\\b");
            break;
        case '\f':
            out.append("\\f");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                out.append("\\u00");
                out.push_back(hex[c >> 4]);
                out.push_back(hex[c & 0xf]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
        s.remove_prefix(1);
    }
    out.push_back('"');
}

} // namespace detail
LLMCACHE_END_NAMESPACE
