// The stored entry format: a versioned, checksummed encoding of a Response.
//
//     offset  size  field
//     0       4     magic "LMCE"
//     4       1     format version (1)
//     5       3     reserved, zero
//     8       4     body length, little-endian
//     12      8     XXH3-64 of the body, little-endian
//     20      n     body: fields as <tag u8><length u32 LE><bytes>
//
// Body fields (tag: content): 1 the cache key the entry was written under, 2 answer text,
// 3 model, 4 stop reason (1 byte), 5 stop sequence, 6 usage (presence mask u8 + up to four u64),
// 7 creation time (i64 ms since the Unix epoch), 8 tool calls JSON (only when present). Readers skip tags
// they do not know, so later versions can add fields (the semantic layer adds prompt text and vectors)
// without breaking older readers. The key field catches a value that was copied or written under another key.
//
// decode() never throws and never trusts a length: anything malformed is ErrorCode::corrupt_entry,
// which the Cache counts, treats as a miss and erases.
#pragma once

#include "config.hpp"
#include "detail/frame.hpp"
#include "error.hpp"
#include "response.hpp"

#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace entry {

inline constexpr std::string_view magic = "LMCE";
inline constexpr std::uint8_t format_version = 1;
inline constexpr std::size_t header_size = llmcache::detail::frame::header_size;

enum Tag : std::uint8_t {
    tag_key = 1,
    tag_text = 2,
    tag_model = 3,
    tag_stop_reason = 4,
    tag_stop_sequence = 5,
    tag_usage = 6,
    tag_created = 7,
    tag_tool_calls = 8,
};

namespace detail {
using llmcache::detail::frame::get_le;
using llmcache::detail::frame::put_field;
using llmcache::detail::frame::put_le;
} // namespace detail

/// Encodes `r` as stored under `key`. The result is what a store keeps.
inline std::string encode(std::string_view key, const Response& r) {
    std::string out;
    out.reserve(header_size + key.size() + r.text.size() + r.model.size() + 96);
    llmcache::detail::frame::begin(out, magic, format_version);

    detail::put_field(out, tag_key, key);
    detail::put_field(out, tag_text, r.text);
    detail::put_field(out, tag_model, r.model);
    const char reason = static_cast<char>(r.stop_reason);
    detail::put_field(out, tag_stop_reason, std::string_view(&reason, 1));
    if (!r.stop_sequence.empty())
        detail::put_field(out, tag_stop_sequence, r.stop_sequence);

    if (!r.tool_calls_json.empty())
        detail::put_field(out, tag_tool_calls, r.tool_calls_json);

    std::string usage;
    const std::optional<std::uint64_t>* counts[] = {&r.usage.input_tokens, &r.usage.output_tokens,
                                                    &r.usage.cache_read_input_tokens,
                                                    &r.usage.cache_creation_input_tokens};
    std::uint8_t mask = 0;
    for (int i = 0; i < 4; ++i)
        if (*counts[i])
            mask |= static_cast<std::uint8_t>(1u << i);
    usage.push_back(static_cast<char>(mask));
    for (auto* c : counts)
        if (*c)
            detail::put_le(usage, **c, 8);
    detail::put_field(out, tag_usage, usage);

    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(r.created.time_since_epoch()).count();
    llmcache::detail::frame::put_number_field(out, tag_created, static_cast<std::uint64_t>(ms), 8);

    llmcache::detail::frame::finish(out);
    return out;
}

namespace detail {
// The body of decode(). With `text_at`, the answer text is not copied: *text_at is set to where
// it lies in `stored`, and r.text stays empty.
inline Result<Response> decode_entry(std::string_view stored, std::string_view key,
                                     std::string_view* text_at) {
    auto corrupt = [](const char* why) {
        return fail(ErrorCode::corrupt_entry, std::string("cache entry ") + why);
    };
    const auto opened = llmcache::detail::frame::open(stored, magic, format_version);
    if (opened.problem != nullptr)
        return corrupt(opened.problem);

    Response r;
    bool have_key = false, have_text = false, have_reason = false;
    std::string_view rest = opened.body;
    while (!rest.empty()) {
        std::uint8_t tag = 0;
        std::string_view value;
        if (const char* problem = llmcache::detail::frame::next_field(rest, tag, value))
            return corrupt(problem);
        switch (tag) {
        case tag_key:
            if (value != key)
                return corrupt("was written under another key");
            have_key = true;
            break;
        case tag_text:
            if (text_at != nullptr)
                *text_at = value;
            else
                r.text.assign(value);
            have_text = true;
            break;
        case tag_model:
            r.model.assign(value);
            break;
        case tag_stop_reason:
            if (value.size() != 1 ||
                static_cast<std::uint8_t>(value[0]) > static_cast<std::uint8_t>(StopReason::unknown))
                return corrupt("has an invalid stop reason");
            r.stop_reason = static_cast<StopReason>(value[0]);
            have_reason = true;
            break;
        case tag_stop_sequence:
            r.stop_sequence.assign(value);
            break;
        case tag_tool_calls:
            r.tool_calls_json.assign(value);
            break;
        case tag_usage: {
            if (value.empty())
                return corrupt("has an empty usage field");
            const auto mask = static_cast<std::uint8_t>(value[0]);
            std::optional<std::uint64_t>* counts[] = {&r.usage.input_tokens, &r.usage.output_tokens,
                                                      &r.usage.cache_read_input_tokens,
                                                      &r.usage.cache_creation_input_tokens};
            std::size_t pos = 1;
            for (int i = 0; i < 4; ++i) {
                if (!(mask & (1u << i)))
                    continue;
                if (pos + 8 > value.size())
                    return corrupt("has a truncated usage field");
                *counts[i] = detail::get_le(value.data() + pos, 8);
                pos += 8;
            }
            break;
        }
        case tag_created: {
            if (value.size() != 8)
                return corrupt("has an invalid creation time");
            // encode() writes only representable times; anything else would overflow the cast.
            using SysDuration = std::chrono::system_clock::duration;
            constexpr auto earliest =
                std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::min());
            constexpr auto latest = std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::max());
            const std::chrono::milliseconds ms(static_cast<std::int64_t>(detail::get_le(value.data(), 8)));
            if (ms < earliest || ms > latest)
                return corrupt("has an invalid creation time");
            r.created = std::chrono::system_clock::time_point(std::chrono::duration_cast<SysDuration>(ms));
            break;
        }
        default:
            break; // a field from a newer minor revision: skip it
        }
    }
    if (!have_key || !have_text || !have_reason)
        return corrupt("lacks a required field");
    return r;
}
} // namespace detail

/// Decodes a stored value that must have been written under `key`.
inline Result<Response> decode(std::string_view stored, std::string_view key) {
    return detail::decode_entry(stored, key, nullptr);
}

namespace detail {
/// decode() of a stored value the caller owns and no longer needs (the Cache's read path): when
/// the answer text is most of the entry, the text takes over the value's buffer instead of being
/// copied out of it. A separate name, not an overload: decode("...", key) must stay unambiguous.
inline Result<Response> decode_owned(std::string&& stored, std::string_view key) {
    std::string_view text;
    Result<Response> r = detail::decode_entry(stored, key, &text);
    if (r) {
        const auto offset = static_cast<std::size_t>(text.data() - stored.data());
        const std::size_t length = text.size();
        if (length >= stored.size() / 2) {
            stored.resize(offset + length);
            stored.erase(0, offset);
            r->text = std::move(stored);
        } else {
            r->text.assign(text);
        }
    }
    return r;
}
} // namespace detail

} // namespace entry
LLMCACHE_END_NAMESPACE
