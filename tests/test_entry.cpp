// The stored entry format: round trips, the documented byte layout, and decode() rejecting every
// kind of damage (truncation, bit flips, trailing bytes, foreign keys, bad fields, garbage).
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <bit>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace entry = llmcache::entry;
using llmcache::ErrorCode;
using llmcache::Response;
using llmcache::StopReason;
using llmcache::Usage;

namespace {

using namespace std::chrono_literals;

std::chrono::system_clock::time_point at_ms(std::int64_t ms) {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::milliseconds(ms)));
}

Response full_response() {
    Response r;
    r.text = "BM25 is a bag-of-words ranking function.";
    r.stop_reason = StopReason::stop_sequence;
    r.stop_sequence = "\n\nHuman:";
    r.model = "claude-sonnet-4-5-20250929";
    r.tool_calls_json = R"([{"id":"toolu_1","name":"search","input":{"q":"bm25"}}])";
    r.usage.input_tokens = 1234;
    r.usage.output_tokens = std::nullopt; // unknown, not zero
    r.usage.cache_read_input_tokens = 0;  // known zero
    r.usage.cache_creation_input_tokens = std::nullopt;
    r.created = at_ms(1'750'000'000'123);
    return r;
}

void check_same(const Response& got, const Response& want) {
    CHECK(got.text == want.text);
    CHECK(got.stop_reason == want.stop_reason);
    CHECK(got.stop_sequence == want.stop_sequence);
    CHECK(got.model == want.model);
    CHECK(got.tool_calls_json == want.tool_calls_json);
    CHECK(got.usage == want.usage);
    CHECK(got.created == want.created);
    CHECK_FALSE(got.cache_hit); // not part of the stored entry
}

// ---- a hand-written encoder that follows the documented layout, independent of entry::encode ----
void le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct Field {
    std::uint8_t tag;
    std::string value;
};

std::string field_bytes(const Field& f) {
    std::string out;
    out.push_back(static_cast<char>(f.tag));
    le(out, f.value.size(), 4);
    out += f.value;
    return out;
}

/// Header + body; the checksum is XXH3-64 of the body, the length its size (both overridable).
std::string build_raw(const std::string& body, std::uint8_t version = 1,
                      std::optional<std::uint32_t> length = std::nullopt) {
    std::string out = "LMCE";
    out.push_back(static_cast<char>(version));
    out.append(3, '\0');
    le(out, length.value_or(static_cast<std::uint32_t>(body.size())), 4);
    le(out, XXH3_64bits(body.data(), body.size()), 8);
    return out + body;
}

std::string build(const std::vector<Field>& fields, std::uint8_t version = 1) {
    std::string body;
    for (const Field& f : fields)
        body += field_bytes(f);
    return build_raw(body, version);
}

std::string u64(std::uint64_t v) {
    std::string s;
    le(s, v, 8);
    return s;
}
std::string one(std::uint8_t b) {
    return std::string(1, static_cast<char>(b));
}

/// The fields of a minimal valid entry under `key`.
std::vector<Field> minimal_fields(const std::string& key, const std::string& text = "hi") {
    return {{1, key}, {2, text}, {3, "m"}, {4, one(0)}, {6, one(0)}, {7, u64(0)}};
}

void check_corrupt(const llmcache::Result<Response>& r, const char* why_contains = nullptr) {
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::corrupt_entry);
    CHECK_FALSE(r.error().message.empty());
    if (why_contains)
        CHECK(r.error().message.find(why_contains) != std::string::npos);
}

} // namespace

TEST_CASE("entry: round trip of every field", "[entry]") {
    const std::string key = "llmcache:k1:acme:xxh3:00112233445566778899aabbccddeeff";
    Response r = full_response();
    r.cache_hit = true;
    const std::string stored = entry::encode(key, r);
    auto back = entry::decode(stored, key);
    REQUIRE(back.has_value());
    check_same(*back, r);
    CHECK(back->usage.input_tokens == 1234u);
    CHECK_FALSE(back->usage.output_tokens.has_value());
    CHECK(back->usage.cache_read_input_tokens == 0u);
    // Encoding is deterministic.
    CHECK(entry::encode(key, r) == stored);
}

TEST_CASE("entry: round trip of every stop reason and every usage mask", "[entry]") {
    const std::uint64_t values[] = {0, 1, 0xfedcba9876543210ull, std::numeric_limits<std::uint64_t>::max()};
    for (int reason = 0; reason <= static_cast<int>(StopReason::unknown); ++reason)
        for (int mask = 0; mask < 16; ++mask) {
            Response r;
            r.text = "t";
            r.stop_reason = static_cast<StopReason>(reason);
            std::optional<std::uint64_t>* counts[] = {&r.usage.input_tokens, &r.usage.output_tokens,
                                                      &r.usage.cache_read_input_tokens,
                                                      &r.usage.cache_creation_input_tokens};
            for (int i = 0; i < 4; ++i)
                if (mask & (1 << i))
                    *counts[i] = values[(i + reason) % 4];
            INFO("reason " << reason << " mask " << mask);
            auto back = entry::decode(entry::encode("k", r), "k");
            REQUIRE(back.has_value());
            check_same(*back, r);
        }
}

TEST_CASE("entry: binary text, empty fields and extreme times round trip", "[entry]") {
    SECTION("NUL bytes and invalid UTF-8") {
        Response r;
        r.text = std::string("a\0b\xff\xfe\xc3(\xed\xa0\x80\0", 11);
        r.model = std::string("m\0", 2);
        r.stop_sequence = std::string("\0", 1);
        r.stop_reason = StopReason::stop_sequence;
        r.tool_calls_json = "\xc0\xaf";
        const std::string key = std::string("k\0ey", 4);
        auto back = entry::decode(entry::encode(key, r), key);
        REQUIRE(back.has_value());
        check_same(*back, r);
        CHECK(back->text.size() == 11);
        check_corrupt(entry::decode(entry::encode(key, r), "k"), "another key");
    }
    SECTION("empty model, empty text, empty key") {
        Response r;
        r.stop_reason = StopReason::end_turn;
        auto back = entry::decode(entry::encode("", r), "");
        REQUIRE(back.has_value());
        check_same(*back, r);
        CHECK(back->model.empty());
        CHECK(back->text.empty());
    }
    SECTION("creation times keep millisecond precision, before and after the epoch") {
        for (std::int64_t ms : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{-86'400'000'123},
                                std::int64_t{4'102'444'800'000}, std::int64_t{1}}) {
            Response r;
            r.text = "x";
            r.created = at_ms(ms);
            auto back = entry::decode(entry::encode("k", r), "k");
            REQUIRE(back.has_value());
            CHECK(back->created == r.created);
        }
        // Sub-millisecond parts are dropped.
        Response r;
        r.text = "x";
        r.created = at_ms(1'000) + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       std::chrono::microseconds(789));
        auto back = entry::decode(entry::encode("k", r), "k");
        REQUIRE(back.has_value());
        CHECK(back->created == at_ms(1'000));
    }
}

TEST_CASE("entry: a 10 MB answer round trips", "[entry][large]") {
    Response r;
    r.text.resize(10u << 20);
    for (std::size_t i = 0; i < r.text.size(); ++i)
        r.text[i] = static_cast<char>((i * 2654435761u) >> 13);
    r.stop_reason = StopReason::end_turn;
    r.model = "m";
    const std::string stored = entry::encode("big", r);
    CHECK(stored.size() > r.text.size());
    auto back = entry::decode(stored, "big");
    REQUIRE(back.has_value());
    CHECK(back->text == r.text);
    // Damage deep inside the text is caught by the checksum.
    std::string damaged = stored;
    damaged[stored.size() / 2] ^= 0x10;
    check_corrupt(entry::decode(damaged, "big"), "checksum");
}

TEST_CASE("entry: encode writes exactly the documented layout", "[entry]") {
    const Response r = full_response();
    const std::string key = "llmcache:k1:_:xxh3:0123";
    std::string usage = one(0b0101); // input and cache_read known
    le(usage, 1234, 8);
    le(usage, 0, 8);
    const std::string expected = build({{1, key},
                                        {2, r.text},
                                        {3, r.model},
                                        {4, one(static_cast<std::uint8_t>(StopReason::stop_sequence))},
                                        {5, r.stop_sequence},
                                        {8, r.tool_calls_json},
                                        {6, usage},
                                        {7, u64(1'750'000'000'123)}});
    const std::string stored = entry::encode(key, r);
    CHECK(stored.substr(0, 8) == std::string("LMCE\x01\0\0\0", 8));
    CHECK(stored == expected);

    // Without stop sequence and tool calls those fields are left out.
    Response plain;
    plain.text = "t";
    plain.stop_reason = StopReason::max_tokens;
    CHECK(entry::encode("k", plain) ==
          build({{1, "k"}, {2, "t"}, {3, ""}, {4, one(2)}, {6, one(0)}, {7, u64(0)}}));
}

TEST_CASE("entry: unknown tags are skipped", "[entry]") {
    std::vector<Field> fields = minimal_fields("k", "hello");
    fields.insert(fields.begin(), Field{200, "from the future"});
    fields.insert(fields.begin() + 3, Field{9, std::string(1000, 'v')});
    fields.push_back(Field{0, ""});
    fields.push_back(Field{255, std::string("\x01\x02\x00", 3)});
    auto back = entry::decode(build(fields), "k");
    REQUIRE(back.has_value());
    CHECK(back->text == "hello");
    CHECK(back->model == "m");
    CHECK(back->stop_reason == StopReason::end_turn);
    // The minimal entry alone decodes too (so the skipped tags are what was tested).
    REQUIRE(entry::decode(build(minimal_fields("k", "hello")), "k").has_value());
}

TEST_CASE("entry: decode rejects a wrong magic or version", "[entry]") {
    const std::string good = entry::encode("k", full_response());
    REQUIRE(entry::decode(good, "k").has_value());
    for (const std::string& magic : std::vector<std::string>{"LMCF", "lmce", "XMCE", std::string(4, '\0')}) {
        std::string bad = good;
        bad.replace(0, 4, magic.data(), 4);
        check_corrupt(entry::decode(bad, "k"), "header");
    }
    for (int version : {0, 2, 3, 0x81, 0xff}) {
        std::string bad = good;
        bad[4] = static_cast<char>(version);
        INFO("version " << version);
        check_corrupt(entry::decode(bad, "k"), "version");
    }
    // A well-formed entry of another version, checksum and all, is still refused.
    check_corrupt(entry::decode(build(minimal_fields("k"), 2), "k"), "version");
    check_corrupt(entry::decode("", "k"), "header");
    check_corrupt(entry::decode("LMCE", "k"), "header");
    check_corrupt(entry::decode("plain text someone else stored", "k"), "header");
}

TEST_CASE("entry: decode rejects every truncation and any trailing bytes", "[entry]") {
    const std::string good = entry::encode("llmcache:k1:_:xxh3:abcd", full_response());
    REQUIRE(entry::decode(good, "llmcache:k1:_:xxh3:abcd").has_value());
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("truncated to " << n << " of " << good.size() << " bytes");
        check_corrupt(entry::decode(std::string_view(good).substr(0, n), "llmcache:k1:_:xxh3:abcd"));
    }
    for (std::string tail : {std::string(1, '\0'), std::string("x"), good}) {
        check_corrupt(entry::decode(good + tail, "llmcache:k1:_:xxh3:abcd"), "trailing");
    }
}

TEST_CASE("entry: every single-bit flip is detected", "[entry]") {
    Response r;
    r.text = "hi";
    r.model = "m";
    r.stop_reason = StopReason::end_turn;
    const std::string good = entry::encode("k", r);
    REQUIRE(entry::decode(good, "k").has_value());
    CHECK(good.size() < 80);
    std::size_t detected = 0;
    for (std::size_t byte = 0; byte < good.size(); ++byte)
        for (int bit = 0; bit < 8; ++bit) {
            std::string bad = good;
            bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
            auto decoded = entry::decode(bad, "k");
            INFO("byte " << byte << " bit " << bit);
            CHECK_FALSE(decoded.has_value());
            if (!decoded && decoded.error().code == ErrorCode::corrupt_entry)
                ++detected;
        }
    CHECK(detected == good.size() * 8);
}

TEST_CASE("entry: decode rejects entries written under another key", "[entry]") {
    const std::string key = "llmcache:k1:acme:xxh3:00112233445566778899aabbccddeeff";
    const std::string stored = entry::encode(key, full_response());
    check_corrupt(entry::decode(stored, "llmcache:k1:acme:xxh3:00112233445566778899aabbccddeef0"),
                  "another key");
    check_corrupt(entry::decode(stored, "llmcache:k1:globex:xxh3:00112233445566778899aabbccddeeff"),
                  "another key");
    check_corrupt(entry::decode(stored, key.substr(0, key.size() - 1)), "another key");
    check_corrupt(entry::decode(stored, key + "0"), "another key");
    check_corrupt(entry::decode(stored, ""), "another key");
    // A second key field that disagrees is caught even when the first one matches.
    std::vector<Field> fields = minimal_fields("k");
    fields.push_back(Field{1, "other"});
    check_corrupt(entry::decode(build(fields), "k"), "another key");
}

TEST_CASE("entry: decode rejects malformed fields", "[entry]") {
    SECTION("invalid stop reasons") {
        for (std::string reason :
             {one(8), one(9), one(0x80), one(0xff), std::string(), std::string(2, '\0')}) {
            std::vector<Field> fields = minimal_fields("k");
            fields[3].value = reason;
            INFO("reason of " << reason.size() << " bytes");
            check_corrupt(entry::decode(build(fields), "k"), "stop reason");
        }
        std::vector<Field> fields = minimal_fields("k");
        fields[3].value = one(static_cast<std::uint8_t>(StopReason::unknown));
        CHECK(entry::decode(build(fields), "k").has_value());
    }
    SECTION("missing required fields") {
        for (std::size_t drop : {0u, 1u, 3u}) { // key, text, stop reason
            std::vector<Field> fields = minimal_fields("k");
            fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(drop));
            INFO("without field " << drop);
            check_corrupt(entry::decode(build(fields), "k"), "required");
        }
        check_corrupt(entry::decode(build({}), "k"), "required");
        // Model, usage and creation time are optional.
        CHECK(entry::decode(build({{1, "k"}, {2, "t"}, {4, one(0)}}), "k").has_value());
    }
    SECTION("a field longer than the entry, and a truncated field header") {
        std::string body = field_bytes({1, "k"}) + field_bytes({2, "t"}) + field_bytes({4, one(0)});
        std::string overlong = body;
        overlong += one(3);
        le(overlong, 100, 4);
        overlong += "short";
        check_corrupt(entry::decode(build_raw(overlong), "k"), "longer than the value");
        std::string huge = body;
        huge += one(3);
        le(huge, 0xffffffffu, 4);
        check_corrupt(entry::decode(build_raw(huge), "k"), "longer than the value");
        for (int extra = 1; extra < 5; ++extra) {
            check_corrupt(
                entry::decode(build_raw(body + std::string(static_cast<std::size_t>(extra), '\x02')), "k"),
                "truncated field header");
        }
    }
    SECTION("usage and creation time with the wrong size") {
        std::vector<Field> fields = minimal_fields("k");
        fields[4].value = "";
        check_corrupt(entry::decode(build(fields), "k"), "usage");
        fields[4].value = one(0b0011) + u64(5); // two counts announced, one present
        check_corrupt(entry::decode(build(fields), "k"), "usage");
        fields[4].value = one(0b1000) + std::string(7, '\0');
        check_corrupt(entry::decode(build(fields), "k"), "usage");
        fields[4].value = one(0b0011) + u64(5) + u64(6);
        auto ok = entry::decode(build(fields), "k");
        REQUIRE(ok.has_value());
        CHECK(ok->usage.input_tokens == 5u);
        CHECK(ok->usage.output_tokens == 6u);

        fields = minimal_fields("k");
        fields[5].value = std::string(7, '\0');
        check_corrupt(entry::decode(build(fields), "k"), "creation time");
        fields[5].value = std::string(9, '\0');
        check_corrupt(entry::decode(build(fields), "k"), "creation time");

        // Times a system_clock cannot represent are corrupt, not an overflow.
        using SysDuration = std::chrono::system_clock::duration;
        const auto latest = std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::max()).count();
        const auto earliest =
            std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::min()).count();
        for (std::int64_t ms : {std::numeric_limits<std::int64_t>::max(),
                                std::numeric_limits<std::int64_t>::min(), latest + 1, earliest - 1}) {
            INFO("created " << ms);
            fields[5].value = u64(static_cast<std::uint64_t>(ms));
            check_corrupt(entry::decode(build(fields), "k"), "creation time");
        }
        for (std::int64_t ms : {latest, earliest}) {
            fields[5].value = u64(static_cast<std::uint64_t>(ms));
            auto edge = entry::decode(build(fields), "k");
            REQUIRE(edge.has_value());
            CHECK(edge->created == at_ms(ms));
        }
    }
    SECTION("a body length that disagrees with the size") {
        const std::string body = field_bytes({1, "k"}) + field_bytes({2, "t"}) + field_bytes({4, one(0)});
        REQUIRE(entry::decode(build_raw(body), "k").has_value());
        const auto n = static_cast<std::uint32_t>(body.size());
        check_corrupt(entry::decode(build_raw(body, 1, n - 1), "k"));
        check_corrupt(entry::decode(build_raw(body, 1, n + 1), "k"));
        check_corrupt(entry::decode(build_raw(body, 1, 0xffffffffu), "k"));
    }
}

// ---- random garbage, checked against an independent reading of the documented format --------------
namespace {

/// True when `stored` is a valid entry for `key` according to the format documentation.
bool oracle_valid(std::string_view stored, std::string_view key, std::string* text) {
    if (stored.size() < 20 || stored.substr(0, 5) != std::string_view("LMCE\x01", 5) ||
        stored.substr(5, 3) != std::string_view("\0\0\0", 3))
        return false;
    std::uint64_t length = 0, sum = 0;
    for (int i = 0; i < 4; ++i)
        length |= std::uint64_t{static_cast<unsigned char>(stored[8 + i])} << (8 * i);
    for (int i = 0; i < 8; ++i)
        sum |= std::uint64_t{static_cast<unsigned char>(stored[12 + i])} << (8 * i);
    std::string_view body = stored.substr(20);
    if (length != body.size() || sum != XXH3_64bits(body.data(), body.size()))
        return false;
    bool have_key = false, have_text = false, have_reason = false;
    std::size_t pos = 0;
    while (pos < body.size()) {
        if (body.size() - pos < 5)
            return false;
        const auto tag = static_cast<unsigned char>(body[pos]);
        std::uint64_t len = 0;
        for (int i = 0; i < 4; ++i)
            len |= std::uint64_t{static_cast<unsigned char>(body[pos + 1 + static_cast<std::size_t>(i)])}
                   << (8 * i);
        if (len > body.size() - pos - 5)
            return false;
        const std::string_view v = body.substr(pos + 5, len);
        pos += 5 + len;
        if (tag == 1) {
            if (v != key)
                return false;
            have_key = true;
        } else if (tag == 2) {
            *text = std::string(v);
            have_text = true;
        } else if (tag == 4) {
            if (v.size() != 1 || static_cast<unsigned char>(v[0]) > 7)
                return false;
            have_reason = true;
        } else if (tag == 6) {
            if (v.empty())
                return false;
            const unsigned mask = static_cast<unsigned char>(v[0]) & 0x0fu;
            const auto counts = static_cast<std::size_t>(std::popcount(mask));
            if (v.size() < 1 + 8 * counts)
                return false;
        } else if (tag == 7) {
            if (v.size() != 8)
                return false;
            std::uint64_t raw = 0;
            for (int i = 0; i < 8; ++i)
                raw |= std::uint64_t{static_cast<unsigned char>(v[static_cast<std::size_t>(i)])} << (8 * i);
            // The time must be representable as a system_clock time point.
            const std::chrono::milliseconds ms(static_cast<std::int64_t>(raw));
            using SysDuration = std::chrono::system_clock::duration;
            if (ms > std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::max()) ||
                ms < std::chrono::duration_cast<std::chrono::milliseconds>(SysDuration::min()))
                return false;
        }
    }
    return have_key && have_text && have_reason;
}

class GarbageMaker {
public:
    explicit GarbageMaker(std::uint64_t seed) : rng_(seed) {}

    std::string bytes(std::size_t n) {
        std::string s(n, '\0');
        for (char& c : s)
            c = static_cast<char>(rng_());
        return s;
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
    bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

    /// A body made of plausible fields, each sometimes damaged.
    std::string plausible_body(const std::string& key) {
        std::string body;
        const std::uint8_t order[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 200};
        for (std::uint8_t tag : order) {
            if (!chance(tag <= 2 || tag == 4 ? 92 : 50))
                continue;
            std::string value;
            switch (tag) {
            case 1:
                value = chance(85) ? key : key + "x";
                break;
            case 4:
                value = chance(85) ? one(static_cast<std::uint8_t>(below(8))) : bytes(below(3));
                break;
            case 6: {
                const auto mask = static_cast<std::uint8_t>(below(16));
                value = one(mask) +
                        bytes(8 * static_cast<std::size_t>(std::popcount(static_cast<unsigned>(mask))));
                if (chance(15))
                    value.resize(below(value.size() + 1));
                break;
            }
            case 7: // mostly plausible times (about +-139 years), sometimes any 8 bytes or a wrong size
                if (chance(75))
                    value = u64(static_cast<std::uint64_t>(
                        static_cast<std::int64_t>(below(std::size_t{1} << 43)) - (std::int64_t{1} << 42)));
                else
                    value = bytes(chance(50) ? 8 : below(12));
                break;
            default:
                value = bytes(below(12));
            }
            std::string f = field_bytes({tag, value});
            if (chance(4)) // damage the length
                f[1] = static_cast<char>(f[1] + (chance(50) ? 1 : -1));
            body += f;
        }
        if (chance(3))
            body += bytes(below(5));
        return body;
    }

private:
    std::mt19937_64 rng_;
};

} // namespace

TEST_CASE("entry: random garbage never crashes and never decodes unless valid", "[entry][random]") {
    GarbageMaker g(0xe17e5eed);
    const std::string key = "llmcache:k1:_:xxh3:feed";
    std::size_t accepted = 0, plausible = 0;
    for (int i = 0; i < 10'000; ++i) {
        std::string buf;
        switch (i % 5) {
        case 0: // pure noise
            buf = g.bytes(g.below(200));
            break;
        case 1: // the magic, then noise
            buf = "LMCE" + g.bytes(g.below(200));
            break;
        case 2: // a valid-looking header, then noise
            buf = std::string("LMCE\x01\0\0\0", 8) + g.bytes(g.below(200));
            break;
        default: // a correct header and checksum over plausible fields
            buf = build_raw(g.plausible_body(key));
            ++plausible;
            break;
        }
        std::string text;
        const bool valid = oracle_valid(buf, key, &text);
        auto decoded = entry::decode(buf, key);
        INFO("case " << i);
        REQUIRE(decoded.has_value() == valid);
        if (decoded) {
            ++accepted;
            REQUIRE(decoded->text == text);
        } else {
            REQUIRE(decoded.error().code == ErrorCode::corrupt_entry);
        }
    }
    // Both outcomes must have come up among the plausible bodies.
    INFO(accepted << " of " << plausible << " plausible entries accepted");
    CHECK(accepted > plausible / 5);
    CHECK(accepted < plausible * 9 / 10);
}
