// The container both stored formats share: entry.hpp's cache entries ("LMCE") and
// similarity/record.hpp's semantic records ("LMCS").
//
//     offset  size  field
//     0       4     magic
//     4       1     format version
//     5       3     reserved, zero
//     8       4     body length, little-endian
//     12      8     XXH3-64 of the body, little-endian
//     20      n     body: fields as <tag u8><length u32 LE><bytes>
//
// Writing: begin(), then put_field() per field, then finish() patches the length and checksum.
// Reading: open() checks the header, the length and the checksum and returns the body; next_field()
// walks it. Neither trusts a length nor throws; a problem is a short phrase ("failed its
// checksum") that the format's decoder puts after its own noun ("cache entry failed its checksum").
#pragma once

#include "../config.hpp"
#include "xxhash.hpp"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::frame {

inline constexpr std::size_t header_size = 20;

// On little-endian hosts the bytes are copied as they are: one load or store, not a byte loop.
inline void put_le(std::string& out, std::uint64_t v, int bytes) {
    char le[8];
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(le, &v, 8);
    } else {
        for (int i = 0; i < 8; ++i)
            le[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    }
    out.append(le, static_cast<std::size_t>(bytes));
}

inline std::uint64_t get_le(const char* p, int bytes) noexcept {
    std::uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&v, p, static_cast<std::size_t>(bytes));
    } else {
        for (int i = 0; i < bytes; ++i)
            v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    }
    return v;
}

/// Appends the header of a new value; its length and checksum are written by finish().
inline void begin(std::string& out, std::string_view magic, std::uint8_t version) {
    out.append(magic.substr(0, 4));
    out.push_back(static_cast<char>(version));
    out.append(3, '\0');
    out.append(12, '\0');
}

/// Appends a field's tag and length; its `length` bytes must follow.
inline void put_field_header(std::string& out, std::uint8_t tag, std::size_t length) {
    out.push_back(static_cast<char>(tag));
    put_le(out, length, 4);
}

inline void put_field(std::string& out, std::uint8_t tag, std::string_view bytes) {
    put_field_header(out, tag, bytes.size());
    out.append(bytes);
}

/// A field holding one little-endian integer of `bytes` bytes.
inline void put_number_field(std::string& out, std::uint8_t tag, std::uint64_t v, int bytes) {
    put_field_header(out, tag, static_cast<std::size_t>(bytes));
    put_le(out, v, bytes);
}

/// Writes the body length and checksum into the header begin() wrote at the start of `out`.
inline void finish(std::string& out) {
    const std::size_t body = out.size() - header_size;
    std::string patch;
    put_le(patch, body, 4);
    put_le(patch, XXH3_64bits(out.data() + header_size, body), 8);
    std::memcpy(out.data() + 8, patch.data(), patch.size());
}

/// The body of a value written with `magic` and `version`, or why it is not one.
struct Opened {
    std::string_view body;
    const char* problem = nullptr; ///< nullptr: `body` is valid
};

inline Opened open(std::string_view stored, std::string_view magic, std::uint8_t version) noexcept {
    if (stored.size() < header_size || stored.substr(0, 4) != magic.substr(0, 4))
        return {{}, "has no llmcache header of its kind (foreign or garbage value)"};
    if (static_cast<std::uint8_t>(stored[4]) != version)
        return {{}, "has an unsupported format version"};
    if (stored[5] != '\0' || stored[6] != '\0' || stored[7] != '\0')
        return {{}, "has non-zero reserved header bytes"};
    const std::uint64_t body = get_le(stored.data() + 8, 4);
    if (body != stored.size() - header_size)
        return {{}, "is truncated or has trailing bytes"};
    if (get_le(stored.data() + 12, 8) != XXH3_64bits(stored.data() + header_size, body))
        return {{}, "failed its checksum"};
    return {stored.substr(header_size), nullptr};
}

/// Takes the next field off the front of `rest` (which must not be empty) into `tag` and `value`.
/// Returns nullptr, or why the body is malformed.
inline const char* next_field(std::string_view& rest, std::uint8_t& tag, std::string_view& value) noexcept {
    if (rest.size() < 5)
        return "has a truncated field header";
    tag = static_cast<std::uint8_t>(rest[0]);
    const std::uint64_t len = get_le(rest.data() + 1, 4);
    if (len > rest.size() - 5)
        return "has a field longer than the value";
    value = rest.substr(5, len);
    rest.remove_prefix(5 + len);
    return nullptr;
}

} // namespace detail::frame
LLMCACHE_END_NAMESPACE
