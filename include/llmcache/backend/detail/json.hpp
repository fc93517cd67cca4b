// JSON for the HTTP model backends: a small writer for request bodies, and helpers around simdjson's
// on-demand parser for answers.
//
// On-demand parsing checks the structure of the whole document (a truncated or unbalanced body is
// an error) and the syntax and type of every value it reads; values the backends skip (fields they
// do not use) are only checked for structure. Everything the backends keep is fully checked.
#pragma once

#include "../../config.hpp"
#include "../../detail/json_write.hpp"
#include "../../error.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::json {

namespace od = simdjson::ondemand;

/// Appends JSON to a string: objects, arrays, keys and values, with the commas in the right places.
/// Nesting deeper than 64 levels is not supported (request bodies need four).
class Writer {
public:
    explicit Writer(std::string& out) noexcept : out_(out) {}

    Writer& begin_object() { return open('{'); }
    Writer& end_object() { return close('}'); }
    Writer& begin_array() { return open('['); }
    Writer& end_array() { return close(']'); }

    Writer& key(std::string_view k) {
        separate();
        append_json_string(out_, k);
        out_.push_back(':');
        after_key_ = true;
        return *this;
    }
    /// A JSON string. Runs of plain ASCII are copied in bulk; the rest (quotes, backslashes,
    /// control characters, UTF-8) goes through detail::append_json_string, which escapes it and
    /// replaces invalid UTF-8. Same output, several times faster on prose.
    Writer& string(std::string_view v) {
        separate();
        out_.push_back('"');
        while (!v.empty()) {
            std::size_t plain = 0;
            while (plain < v.size() && is_plain(v[plain]))
                ++plain;
            out_.append(v.data(), plain);
            v.remove_prefix(plain);
            std::size_t special = 0;
            while (special < v.size() && !is_plain(v[special]))
                ++special;
            if (special == 0)
                break;
            const std::size_t mark = out_.size();
            append_json_string(out_, v.substr(0, special)); // appends "..."
            out_.erase(mark, 1);
            out_.pop_back();
            v.remove_prefix(special);
        }
        out_.push_back('"');
        return *this;
    }
    Writer& integer(std::int64_t v) {
        separate();
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, r.ptr);
        return *this;
    }
    /// A finite double in its shortest round-trip form (callers reject NaN and infinities).
    Writer& number(double v) {
        separate();
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, v);
        out_.append(buf, r.ptr);
        return *this;
    }
    Writer& boolean(bool v) {
        separate();
        out_.append(v ? "true" : "false");
        return *this;
    }
    /// Already-valid JSON, copied as is.
    Writer& raw(std::string_view json) {
        separate();
        out_.append(json);
        return *this;
    }

private:
    static bool is_plain(char c) noexcept {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    }

    void separate() {
        if (after_key_) {
            after_key_ = false;
            return;
        }
        if (depth_ > 0) {
            if (has_items_ & (std::uint64_t{1} << depth_))
                out_.push_back(',');
            has_items_ |= std::uint64_t{1} << depth_;
        }
    }
    Writer& open(char c) {
        separate();
        out_.push_back(c);
        ++depth_;
        has_items_ &= ~(std::uint64_t{1} << depth_);
        return *this;
    }
    Writer& close(char c) {
        out_.push_back(c);
        --depth_;
        return *this;
    }

    std::string& out_;
    std::uint64_t has_items_ = 0;
    unsigned depth_ = 0;
    bool after_key_ = false;
};

/// The calling thread's on-demand parser (parsers are reusable but not shareable).
inline od::parser& thread_parser() {
    thread_local od::parser parser;
    return parser;
}

/// Makes room for simdjson's padding after the text, so it can be parsed in place.
inline void pad(std::string& text) {
    if (text.capacity() - text.size() < simdjson::SIMDJSON_PADDING)
        text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
}

/// A short description of a simdjson error, for bad_response messages.
inline std::string describe(simdjson::error_code e) {
    return std::string(simdjson::error_message(e));
}

/// Whether `text` is one complete, valid JSON value (fully validated), and of which kind.
enum class Kind { invalid, object, array, string, other };
inline Kind validate(std::string_view text) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(text.data(), text.size(), true).get(root))
        return Kind::invalid;
    switch (root.type()) {
    case simdjson::dom::element_type::OBJECT:
        return Kind::object;
    case simdjson::dom::element_type::ARRAY:
        return Kind::array;
    case simdjson::dom::element_type::STRING:
        return Kind::string;
    default:
        return Kind::other;
    }
}

/// The raw JSON text of any value (object, array or scalar), consuming it.
inline simdjson::simdjson_result<std::string_view> raw_of(od::value& v) {
    od::json_type t;
    if (auto e = v.type().get(t))
        return e;
    if (t == od::json_type::object) {
        od::object o;
        if (auto e = v.get_object().get(o))
            return e;
        return o.raw_json();
    }
    if (t == od::json_type::array) {
        od::array a;
        if (auto e = v.get_array().get(a))
            return e;
        return a.raw_json();
    }
    return v.raw_json_token();
}

/// A token count: null reads as unknown (empty), a non-negative integer as itself.
inline simdjson::error_code read_count(od::value& v, std::optional<std::uint64_t>& out) {
    bool null = false;
    if (auto e = v.is_null().get(null))
        return e;
    if (null) {
        out.reset();
        return simdjson::SUCCESS;
    }
    std::uint64_t n = 0;
    if (auto e = v.get_uint64().get(n))
        return e;
    out = n;
    return simdjson::SUCCESS;
}

/// A string or null (empty).
inline simdjson::error_code read_string_or_null(od::value& v, std::string& out) {
    bool null = false;
    if (auto e = v.is_null().get(null))
        return e;
    if (null) {
        out.clear();
        return simdjson::SUCCESS;
    }
    std::string_view s;
    if (auto e = v.get_string().get(s))
        return e;
    out.assign(s);
    return simdjson::SUCCESS;
}

/// Fails with bad_response: "<provider> answer is not valid: <what>".
inline unexpected<Error> bad_answer(std::string_view provider, std::string_view what) {
    std::string m(provider);
    m += " answer is not valid: ";
    m += what;
    return fail(ErrorCode::bad_response, std::move(m));
}

inline bool finite(double v) noexcept {
    return std::isfinite(v);
}

} // namespace detail::json
LLMCACHE_END_NAMESPACE
