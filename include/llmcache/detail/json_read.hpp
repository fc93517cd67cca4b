// Reading JSON with simdjson's On-Demand API: one parser per thread, and a small value tree for
// replies whose shape is only known at run time (Upstash results: null, integers, strings and
// nested arrays). Hot paths with a known shape (embedding vectors) iterate On-Demand directly.
// (Namespace detail::json_read; the model backends keep their streaming helpers in
// backend/detail/json.hpp, namespace detail::json.)
//
// simdjson needs SIMDJSON_PADDING readable bytes after the text; iterate() and parse() take the
// body as a std::string& and grow its capacity (not its size) when needed, instead of copying it.
// The root of a document is read with the document's own get_array/get_object (simdjson 3.0
// does not allow document::get_value() on it).
// Only the error-code API is used, so this compiles with -fno-exceptions too.
#pragma once

#include "../config.hpp"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::json_read {

/// The calling thread's On-Demand parser (reused: its buffers grow to the largest document seen).
inline simdjson::ondemand::parser& thread_parser() noexcept {
    thread_local simdjson::ondemand::parser parser;
    return parser;
}

/// A parsed JSON value. Objects keep their fields in document order.
struct Value {
    enum class Kind : std::uint8_t { null, boolean, integer, number, string, array, object };
    Kind kind = Kind::null;
    bool boolean = false;
    std::int64_t integer = 0;
    double number = 0; ///< for Kind::number (and integers too large for int64)
    std::string string{};
    std::vector<Value> items{};
    std::vector<std::pair<std::string, Value>> fields{};

    bool is_null() const noexcept { return kind == Kind::null; }
    bool is_string() const noexcept { return kind == Kind::string; }
    bool is_integer() const noexcept { return kind == Kind::integer; }
    bool is_array() const noexcept { return kind == Kind::array; }
    bool is_object() const noexcept { return kind == Kind::object; }
    /// The field called `name`, or nullptr (objects only).
    const Value* find(std::string_view name) const noexcept {
        for (const auto& [k, v] : fields)
            if (k == name)
                return &v;
        return nullptr;
    }
};

/// Deeper documents are refused (no reply llmcache reads nests more than a few levels).
inline constexpr int max_depth = 64;

inline bool to_value(simdjson::ondemand::value v, Value& out, int depth) noexcept;

inline bool fill_array(simdjson::ondemand::array& a, Value& out, int depth) noexcept {
    out.kind = Value::Kind::array;
    for (auto element : a) {
        simdjson::ondemand::value ev;
        if (element.get(ev) != simdjson::SUCCESS)
            return false;
        out.items.emplace_back();
        if (!to_value(ev, out.items.back(), depth + 1))
            return false;
    }
    return true;
}

inline bool fill_object(simdjson::ondemand::object& o, Value& out, int depth) noexcept {
    out.kind = Value::Kind::object;
    for (auto field : o) {
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS)
            return false;
        out.fields.emplace_back(std::string(key), Value{});
        simdjson::ondemand::value fv;
        if (field.value().get(fv) != simdjson::SUCCESS)
            return false;
        if (!to_value(fv, out.fields.back().second, depth + 1))
            return false;
    }
    return true;
}

inline bool to_value(simdjson::ondemand::value v, Value& out, int depth) noexcept {
    if (depth > max_depth)
        return false;
    simdjson::ondemand::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS)
        return false;
    switch (type) {
    case simdjson::ondemand::json_type::null: {
        out.kind = Value::Kind::null;
        bool is_null = false;
        return v.is_null().get(is_null) == simdjson::SUCCESS && is_null;
    }
    case simdjson::ondemand::json_type::boolean:
        out.kind = Value::Kind::boolean;
        return v.get_bool().get(out.boolean) == simdjson::SUCCESS;
    case simdjson::ondemand::json_type::number: {
        simdjson::ondemand::number_type nt;
        if (v.get_number_type().get(nt) != simdjson::SUCCESS)
            return false;
        if (nt == simdjson::ondemand::number_type::signed_integer) {
            out.kind = Value::Kind::integer;
            return v.get_int64().get(out.integer) == simdjson::SUCCESS;
        }
        out.kind = Value::Kind::number;
        return v.get_double().get(out.number) == simdjson::SUCCESS;
    }
    case simdjson::ondemand::json_type::string: {
        out.kind = Value::Kind::string;
        std::string_view s;
        if (v.get_string().get(s) != simdjson::SUCCESS)
            return false;
        out.string.assign(s);
        return true;
    }
    case simdjson::ondemand::json_type::array: {
        simdjson::ondemand::array a;
        return v.get_array().get(a) == simdjson::SUCCESS && fill_array(a, out, depth);
    }
    case simdjson::ondemand::json_type::object: {
        simdjson::ondemand::object o;
        return v.get_object().get(o) == simdjson::SUCCESS && fill_object(o, out, depth);
    }
    }
    return false;
}

/// Starts reading `text` with the thread's parser, first making sure simdjson's padding fits in
/// the string's capacity (reserve, no copy of the text when it already does).
inline simdjson::error_code iterate(std::string& text, simdjson::ondemand::document& doc) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
    try {
#endif
        if (text.capacity() < text.size() + simdjson::SIMDJSON_PADDING)
            text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
#if LLMCACHE_HAS_EXCEPTIONS
    } catch (...) {
        return simdjson::MEMALLOC;
    }
#endif
    return thread_parser()
        .iterate(simdjson::padded_string_view(text.data(), text.size(), text.capacity()))
        .get(doc);
}

/// The document was read to its end: nothing but whitespace follows the root value.
/// (simdjson 3.0 has no document::at_end(); current_location() fails once the end is reached.)
inline bool at_end(simdjson::ondemand::document& doc) noexcept {
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

/// Parses a whole document whose top level is an object or an array; empty when the text is not
/// valid JSON (malformed, truncated, trailing content, too deep). `text` may gain capacity.
inline std::optional<Value> parse(std::string& text) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
    try {
#endif
        simdjson::ondemand::document doc;
        if (iterate(text, doc) != simdjson::SUCCESS)
            return std::nullopt;
        simdjson::ondemand::json_type type;
        if (doc.type().get(type) != simdjson::SUCCESS)
            return std::nullopt;
        Value out;
        if (type == simdjson::ondemand::json_type::array) {
            simdjson::ondemand::array a;
            if (doc.get_array().get(a) != simdjson::SUCCESS || !fill_array(a, out, 0))
                return std::nullopt;
        } else if (type == simdjson::ondemand::json_type::object) {
            simdjson::ondemand::object o;
            if (doc.get_object().get(o) != simdjson::SUCCESS || !fill_object(o, out, 0))
                return std::nullopt;
        } else {
            return std::nullopt;
        }
        if (!at_end(doc))
            return std::nullopt;
        return out;
#if LLMCACHE_HAS_EXCEPTIONS
    } catch (...) { // allocation failure while building the tree
        return std::nullopt;
    }
#endif
}

} // namespace detail::json_read
LLMCACHE_END_NAMESPACE
