// JSON for the HTTP model backends: helpers around simdjson's on-demand parser for answers.
// (Request bodies are written with detail::JsonWriter, json_write.hpp.)
//
// On-demand parsing checks the structure of the whole document (a truncated or unbalanced body is
// an error) and the syntax and type of every value it reads; values the backends skip (fields they
// do not use) are only checked for structure. Everything the backends keep is fully checked.
#pragma once

#include "../../config.hpp"
#include "../../detail/json_write.hpp"
#include "../../error.hpp"

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::json {

namespace od = simdjson::ondemand;

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

/// Calls `f(std::string_view key, od::value& value) -> simdjson::error_code` for each field of
/// `o`, in document order. Stops at the first error, the document's or `f`'s, and returns it.
template <class F>
simdjson::error_code for_each_field(od::object& o, F&& f) {
    for (auto field : o) {
        std::string_view key;
        od::value v;
        if (auto e = field.unescaped_key().get(key))
            return e;
        if (auto e = field.value().get(v))
            return e;
        if (auto e = f(key, v))
            return e;
    }
    return simdjson::SUCCESS;
}

/// The same for a value, which must be an object.
template <class F>
simdjson::error_code for_each_field(od::value& v, F&& f) {
    od::object o;
    if (auto e = v.get_object().get(o))
        return e;
    return for_each_field(o, std::forward<F>(f));
}

/// The same for a value that is an object or null (null has no fields).
template <class F>
simdjson::error_code for_each_field_or_null(od::value& v, F&& f) {
    bool null = false;
    if (auto e = v.is_null().get(null))
        return e;
    if (null)
        return simdjson::SUCCESS;
    return for_each_field(v, std::forward<F>(f));
}

/// Reads `text` (padded in place) with the thread's parser: its top level must be an object, whose
/// fields go to `f` as in for_each_field. Strings read stay valid until the thread's parser reads
/// another document.
template <class F>
simdjson::error_code read_object(std::string& text, F&& f) {
    pad(text);
    od::document doc;
    od::object root;
    if (auto e = thread_parser().iterate(text).get(doc))
        return e;
    if (auto e = doc.get_object().get(root))
        return e;
    return for_each_field(root, std::forward<F>(f));
}

/// Calls `f(od::value& element) -> simdjson::error_code` for each element of `v`, which must be
/// an array. Stops at the first error and returns it.
template <class F>
simdjson::error_code for_each_element(od::value& v, F&& f) {
    od::array a;
    if (auto e = v.get_array().get(a))
        return e;
    for (auto element : a) {
        od::value ev;
        if (auto e = element.get(ev))
            return e;
        if (auto e = f(ev))
            return e;
    }
    return simdjson::SUCCESS;
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

/// A string, copied.
inline simdjson::error_code read_string(od::value& v, std::string& out) {
    std::string_view s;
    if (auto e = v.get_string().get(s))
        return e;
    out.assign(s);
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
