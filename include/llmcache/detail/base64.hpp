// Base64 (RFC 4648, standard alphabet, with padding): Upstash values and OpenAI's base64 embeddings.
#pragma once

#include "../config.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::base64 {

inline constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::size_t encoded_size(std::size_t n) noexcept {
    return (n + 2) / 3 * 4;
}

inline void encode_into(std::string& out, std::string_view in) {
    out.reserve(out.size() + encoded_size(in.size()));
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k])); };
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out.push_back(alphabet[(v >> 18) & 63]);
        out.push_back(alphabet[(v >> 12) & 63]);
        out.push_back(alphabet[(v >> 6) & 63]);
        out.push_back(alphabet[v & 63]);
    }
    const std::size_t rest = in.size() - i;
    if (rest == 0)
        return;
    const std::uint32_t v = (byte(i) << 16) | (rest == 2 ? byte(i + 1) << 8 : 0);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
}

inline std::string encode(std::string_view in) {
    std::string out;
    encode_into(out, in);
    return out;
}

namespace impl {
constexpr std::array<std::int8_t, 256> make_table() noexcept {
    std::array<std::int8_t, 256> t{};
    for (auto& x : t)
        x = -1;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
inline constexpr std::array<std::int8_t, 256> table = make_table();
} // namespace impl

/// Decodes padded standard base64 into `out` (appending); false for any other text (a length
/// that is not a multiple of 4, a character outside the alphabet, misplaced padding, non-zero
/// bits after the last byte).
inline bool decode_into(std::string& out, std::string_view in) {
    if (in.size() % 4 != 0)
        return false;
    out.reserve(out.size() + in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        const std::size_t pad = last ? (in[i + 3] == '=' ? (in[i + 2] == '=' ? 2u : 1u) : 0u) : 0u;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4 - pad; ++k) {
            const std::int8_t d = impl::table[static_cast<unsigned char>(in[i + k])];
            if (d < 0)
                return false;
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        if (pad == 0) {
            out.push_back(static_cast<char>((v >> 16) & 0xff));
            out.push_back(static_cast<char>((v >> 8) & 0xff));
            out.push_back(static_cast<char>(v & 0xff));
        } else if (pad == 1) { // 18 bits: 2 bytes + 2 zero bits
            if ((v & 3) != 0)
                return false;
            out.push_back(static_cast<char>((v >> 10) & 0xff));
            out.push_back(static_cast<char>((v >> 2) & 0xff));
        } else { // 12 bits: 1 byte + 4 zero bits
            if ((v & 15) != 0)
                return false;
            out.push_back(static_cast<char>((v >> 4) & 0xff));
        }
    }
    return true;
}

inline std::optional<std::string> decode(std::string_view in) {
    std::string out;
    if (!decode_into(out, in))
        return std::nullopt;
    return out;
}

} // namespace detail::base64
LLMCACHE_END_NAMESPACE
