// The persisted semantic record: one stored vector, and the entry it answers with.
//
//     offset  size  field
//     0       4     magic "LMCS"
//     4       1     format version (1)
//     5       3     reserved, zero
//     8       4     body length, little-endian
//     12      8     XXH3-64 of the body, little-endian
//     20      n     body: fields as <tag u8><length u32 LE><bytes>
//
// Body fields (tag: content): 1 the record's own store key, 2 embedder id, 3 dimensions (u32),
// 4 the key of the cache entry it answers with, 5 the prompt text (the last user text; what a
// hit verifier compares), 6 creation time (i64 ms since the Unix epoch), 7 expiry (i64 ms since
// the epoch, 0 = never), 8 the vector (dimensions float32, little-endian). Unknown tags are skipped.
//
// The record does not hold the answer: that is the entry under field 4, read at hit time, so an
// evicted or invalidated entry can never be served through a stale record. decode() never throws
// and never trusts a length; it also refuses a record of another embedder or dimension, a copy
// under another key, and a vector that is not finite or not unit length.
#pragma once

#include "../config.hpp"
#include "../detail/frame.hpp"
#include "../error.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace semantic_record {

inline constexpr std::string_view magic = "LMCS";
inline constexpr std::uint8_t format_version = 1;
inline constexpr std::size_t header_size = detail::frame::header_size;

enum Tag : std::uint8_t {
    tag_record_key = 1,
    tag_embedder = 2,
    tag_dimensions = 3,
    tag_entry_key = 4,
    tag_prompt = 5,
    tag_created = 6,
    tag_expires = 7,
    tag_vector = 8,
};

/// A decoded record.
struct Record {
    std::string entry_key;
    std::string prompt;
    std::int64_t created_ms = 0;
    std::int64_t expires_ms = 0; ///< 0: never
    std::vector<float> vector;
};

/// Why a vector cannot be indexed, or an empty view when it can: every component finite, and
/// unit length within 1% (the matcher's cosine distance is 1 - dot, exact only for unit vectors).
inline std::string_view vector_problem(std::span<const float> v) noexcept {
    double norm2 = 0.0;
    for (const float x : v) {
        if (!std::isfinite(x))
            return "has a NaN or infinite component";
        norm2 += static_cast<double>(x) * static_cast<double>(x);
    }
    if (norm2 == 0.0)
        return "is all zeros";
    if (std::fabs(norm2 - 1.0) > 0.02)
        return "is not L2-normalised";
    return {};
}

/// Encodes a record stored under `record_key`.
inline std::string encode(std::string_view record_key, std::string_view embedder_id,
                          std::string_view entry_key, std::string_view prompt, std::int64_t created_ms,
                          std::int64_t expires_ms, std::span<const float> vector) {
    namespace frame = detail::frame;
    std::string out;
    out.reserve(header_size + record_key.size() + embedder_id.size() + entry_key.size() + prompt.size() +
                4 * vector.size() + 8 * 5 + 24);
    frame::begin(out, magic, format_version);
    frame::put_field(out, tag_record_key, record_key);
    frame::put_field(out, tag_embedder, embedder_id);
    frame::put_number_field(out, tag_dimensions, vector.size(), 4);
    frame::put_field(out, tag_entry_key, entry_key);
    frame::put_field(out, tag_prompt, prompt);
    frame::put_number_field(out, tag_created, static_cast<std::uint64_t>(created_ms), 8);
    frame::put_number_field(out, tag_expires, static_cast<std::uint64_t>(expires_ms), 8);
    frame::put_field_header(out, tag_vector, 4 * vector.size());
    if constexpr (std::endian::native == std::endian::little) {
        out.append(reinterpret_cast<const char*>(vector.data()), 4 * vector.size());
    } else {
        for (const float x : vector)
            frame::put_le(out, std::bit_cast<std::uint32_t>(x), 4);
    }
    frame::finish(out);
    return out;
}

/// Decodes a record that must have been written under `record_key` by embedder `embedder_id` with
/// `dimensions` floats. Anything else is ErrorCode::corrupt_entry.
inline Result<Record> decode(std::string_view stored, std::string_view record_key,
                             std::string_view embedder_id, std::size_t dimensions) {
    using detail::frame::get_le;
    auto corrupt = [](const char* why) {
        return fail(ErrorCode::corrupt_entry, std::string("semantic record ") + why);
    };
    const auto opened = detail::frame::open(stored, magic, format_version);
    if (opened.problem != nullptr)
        return corrupt(opened.problem);

    Record r;
    unsigned seen = 0;
    std::string_view rest = opened.body;
    while (!rest.empty()) {
        std::uint8_t tag = 0;
        std::string_view value;
        if (const char* problem = detail::frame::next_field(rest, tag, value))
            return corrupt(problem);
        if (tag >= tag_record_key && tag <= tag_vector)
            seen |= 1u << tag;
        switch (tag) {
        case tag_record_key:
            if (value != record_key)
                return corrupt("was written under another key");
            break;
        case tag_embedder:
            if (value != embedder_id)
                return corrupt("belongs to another embedder");
            break;
        case tag_dimensions:
            if (value.size() != 4 || get_le(value.data(), 4) != dimensions)
                return corrupt("has other dimensions than the embedder");
            break;
        case tag_entry_key:
            if (value.empty())
                return corrupt("has an empty entry key");
            r.entry_key.assign(value);
            break;
        case tag_prompt:
            r.prompt.assign(value);
            break;
        case tag_created:
        case tag_expires:
            if (value.size() != 8)
                return corrupt("has an invalid time");
            (tag == tag_created ? r.created_ms : r.expires_ms) =
                static_cast<std::int64_t>(get_le(value.data(), 8));
            break;
        case tag_vector:
            if (value.size() != 4 * dimensions)
                return corrupt("has a vector of the wrong length");
            r.vector.resize(dimensions);
            if constexpr (std::endian::native == std::endian::little) {
                std::memcpy(r.vector.data(), value.data(), value.size());
            } else {
                for (std::size_t i = 0; i < dimensions; ++i)
                    r.vector[i] =
                        std::bit_cast<float>(static_cast<std::uint32_t>(get_le(value.data() + 4 * i, 4)));
            }
            if (!vector_problem(r.vector).empty())
                return corrupt("has a vector that is not finite and unit length");
            break;
        default:
            break; // a field from a newer minor revision: skip it
        }
    }
    constexpr unsigned required = (1u << tag_record_key) | (1u << tag_embedder) | (1u << tag_dimensions) |
                                  (1u << tag_entry_key) | (1u << tag_prompt) | (1u << tag_created) |
                                  (1u << tag_expires) | (1u << tag_vector);
    if ((seen & required) != required)
        return corrupt("lacks a required field");
    return r;
}

} // namespace semantic_record
LLMCACHE_END_NAMESPACE
