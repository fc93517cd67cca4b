// Redis Cluster hash slots: CRC16-XMODEM of the key (or of its {hash tag}) modulo 16384.
//
// CRC16-XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor; the check value
// of "123456789" is 0x31C3. Hash tags: when the key holds a '{' followed later by a '}' with at
// least one byte between them, only the bytes between the first '{' and the first '}' after it
// are hashed ("{user1000}.following" -> "user1000"; "foo{}{bar}" -> the whole key, because the
// first tag is empty; "foo{{bar}}zap" -> "{bar").
#pragma once

#include "../../config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

inline constexpr std::size_t cluster_slots = 16384;

namespace crc_detail {
constexpr std::array<std::uint16_t, 256> make_table() noexcept {
    std::array<std::uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        auto crc = static_cast<std::uint16_t>(i << 8);
        for (int b = 0; b < 8; ++b)
            crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                      : static_cast<std::uint16_t>(crc << 1);
        t[i] = crc;
    }
    return t;
}
inline constexpr std::array<std::uint16_t, 256> table = make_table();
} // namespace crc_detail

/// CRC16-XMODEM of `data`.
constexpr std::uint16_t crc16_xmodem(std::string_view data) noexcept {
    std::uint16_t crc = 0;
    for (char ch : data) {
        const auto byte = static_cast<unsigned char>(ch);
        crc = static_cast<std::uint16_t>((crc << 8) ^ crc_detail::table[((crc >> 8) ^ byte) & 0xFF]);
    }
    return crc;
}

/// The part of `key` that decides its slot: the hash tag when there is a non-empty one, else the
/// whole key.
constexpr std::string_view hash_tag_of(std::string_view key) noexcept {
    const std::size_t open = key.find('{');
    if (open == std::string_view::npos)
        return key;
    const std::size_t close = key.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1)
        return key;
    return key.substr(open + 1, close - open - 1);
}

/// The cluster hash slot of `key` (0..16383).
constexpr std::uint16_t key_slot(std::string_view key) noexcept {
    return static_cast<std::uint16_t>(crc16_xmodem(hash_tag_of(key)) & (cluster_slots - 1));
}

static_assert(crc16_xmodem("123456789") == 0x31C3);
static_assert(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
