// Writing JSON: strings with every character escaped correctly (llmcache's log lines), and a small
// JsonWriter for request bodies (the HTTP backends, the embeddings client, UpstashRestStore).
// (Parsing JSON is simdjson's job, see json_read.hpp; this only writes.)
//
// Strings: `"` and `\` are escaped, control characters (U+0000..U+001F, and DEL) are written as
// \n, \t, ... or \u00XX, so an embedded NUL survives as \u0000. Bytes that are not valid UTF-8
// (stray continuation bytes, overlong forms, surrogates, truncated sequences) are replaced by
// U+FFFD, one per invalid byte, deliberately: JSON text must be UTF-8, and a server either
// rejects invalid bytes or replaces them itself; replacing them here makes the result the same
// everywhere. Callers for whom a replacement would change meaning (cache keys) check
// is_valid_utf8() first and refuse the input instead.
#pragma once

#include "../config.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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
    out.reserve(out.size() + s.size() + 2);
    out.push_back('"');
    while (!s.empty()) {
        // Copy a run of characters that need no escaping in one append (most of any prose).
        std::size_t plain = 0;
        while (plain < s.size()) {
            const auto p = static_cast<unsigned char>(s[plain]);
            if (p < 0x20 || p >= 0x7f || p == '"' || p == '\\')
                break;
            ++plain;
        }
        if (plain > 0) {
            out.append(s.data(), plain);
            s.remove_prefix(plain);
            continue;
        }
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

/// True when every byte of `s` belongs to a valid UTF-8 sequence.
inline bool is_valid_utf8(std::string_view s) noexcept {
    while (!s.empty()) {
        const std::size_t n = utf8_sequence_length(s);
        if (n == 0)
            return false;
        s.remove_prefix(n);
    }
    return true;
}

/// Appends a JSON number: integers exactly, doubles in the shortest form that reads back to the
/// same value. NaN and infinities have no JSON form and are written as null.
template <class T>
requires std::is_arithmetic_v<T> &&(!std::is_same_v<T, bool>)void append_json_number(std::string& out, T v) {
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(v)) {
            out.append("null");
            return;
        }
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// Writes one JSON value into a string, with the commas and colons in the right places:
///
///     JsonWriter w;
///     w.begin_object().key("model").value("m").key("input").begin_array();
///     for (auto t : texts) w.value(t);
///     w.end_array().key("dimensions").value(256).end_object();
///     std::string body = std::move(w).str();
///
/// It does not check the nesting (a key outside an object is the caller's bug); it never emits
/// invalid text for any string content.
class JsonWriter {
public:
    JsonWriter& begin_object() { return open('{'); }
    JsonWriter& end_object() { return close('}'); }
    JsonWriter& begin_array() { return open('['); }
    JsonWriter& end_array() { return close(']'); }

    JsonWriter& key(std::string_view k) {
        comma();
        append_json_string(out_, k);
        out_.push_back(':');
        after_key_ = true;
        return *this;
    }
    JsonWriter& value(std::string_view s) {
        comma();
        append_json_string(out_, s);
        return *this;
    }
    JsonWriter& value(const char* s) { return value(std::string_view(s)); }
    JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
    JsonWriter& value(bool b) {
        comma();
        out_.append(b ? "true" : "false");
        return *this;
    }
    template <class T>
    requires std::is_arithmetic_v<T> &&(!std::is_same_v<T, bool>)JsonWriter& value(T v) {
        comma();
        append_json_number(out_, v);
        return *this;
    }
    JsonWriter& null() {
        comma();
        out_.append("null");
        return *this;
    }
    /// Inserts already-serialised JSON (the caller vouches for it).
    JsonWriter& raw(std::string_view json) {
        comma();
        out_.append(json);
        return *this;
    }

    const std::string& view() const& noexcept { return out_; }
    std::string str() && noexcept { return std::move(out_); }
    void reserve(std::size_t n) { out_.reserve(n); }

private:
    JsonWriter& open(char c) {
        comma();
        out_.push_back(c);
        first_.push_back(true);
        return *this;
    }
    JsonWriter& close(char c) {
        out_.push_back(c);
        if (!first_.empty())
            first_.pop_back();
        return *this;
    }
    void comma() {
        if (after_key_) { // the value of a key: no comma
            after_key_ = false;
            return;
        }
        if (first_.empty())
            return;
        if (first_.back())
            first_.back() = false;
        else
            out_.push_back(',');
    }

    std::string out_;
    std::vector<bool> first_; ///< per open container: nothing written in it yet
    bool after_key_ = false;
};

} // namespace detail
LLMCACHE_END_NAMESPACE
