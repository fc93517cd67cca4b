// JSON writing (detail/json_write.hpp), JSON reading with simdjson (detail/json_read.hpp) and
// base64 (detail/base64.hpp): the pieces the HTTP clients build their bodies and read replies with.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

using llmcache::detail::JsonWriter;
namespace json = llmcache::detail::json_read;
namespace base64 = llmcache::detail::base64;

namespace {
std::string json_quoted(std::string_view s) {
    std::string out;
    llmcache::detail::append_json_string(out, s);
    return out;
}
/// Round trip through simdjson: what a server reading our JSON would see.
std::string read_back(const std::string& json_string) {
    std::string doc = "[" + json_string + "]";
    auto v = json::parse(doc);
    REQUIRE(v);
    REQUIRE(v->items.size() == 1);
    REQUIRE(v->items[0].is_string());
    return v->items[0].string;
}
} // namespace

TEST_CASE("json: quotes, backslashes and every control character are escaped", "[json]") {
    CHECK(json_quoted("a\"b") == R"("a\"b")");
    CHECK(json_quoted("a\\b") == R"("a\\b")");
    CHECK(json_quoted("\n\r\t\b\f") == R"("\n\r\t\b\f")");
    CHECK(json_quoted(std::string("x\0y", 3)) == R"("x\u0000y")");
    CHECK(json_quoted("\x1f\x01\x7f") == R"("\u001f\u0001\u007f")");
    CHECK(json_quoted("/") == R"("/")");
    for (int c = 0; c < 0x20; ++c) {
        const std::string in(1, static_cast<char>(c));
        const std::string out = json_quoted(in);
        for (char ch : out)
            CHECK(static_cast<unsigned char>(ch) >= 0x20); // no raw control byte left
        CHECK(read_back(out) == in);                       // and a parser restores it exactly
    }
}

TEST_CASE("json: valid UTF-8 passes through; invalid bytes become U+FFFD, one per byte", "[json]") {
    const std::string utf8 = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"; // é € 😀
    CHECK(json_quoted(utf8) == "\"" + utf8 + "\"");
    CHECK(read_back(json_quoted(utf8)) == utf8);
    CHECK(json_quoted("\xff") == R"("\ufffd")");
    CHECK(json_quoted("a\x80z") == R"("a\ufffdz")");
    CHECK(json_quoted("\xc0\xaf") == R"("\ufffd\ufffd")");                       // overlong '/'
    CHECK(json_quoted("\xed\xa0\x80") == R"("\ufffd\ufffd\ufffd")");             // a UTF-16 surrogate
    CHECK(json_quoted("\xe2\x82") == R"("\ufffd\ufffd")");                       // truncated sequence
    CHECK(json_quoted("\xf4\x90\x80\x80").find("\\ufffd") != std::string::npos); // above U+10FFFF
    CHECK(read_back(json_quoted("a\xffz")) == "a\xef\xbf\xbdz");
    CHECK(llmcache::detail::is_valid_utf8(utf8));
    CHECK_FALSE(llmcache::detail::is_valid_utf8("a\xff"));
    CHECK(llmcache::detail::is_valid_utf8(std::string("\0", 1)));

    // Any byte string gives text a strict parser accepts.
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        std::string s(static_cast<std::size_t>(rng() % 40), '\0');
        for (char& c : s)
            c = static_cast<char>(rng() & 0xff);
        std::string doc = "[" + json_quoted(s) + "]";
        CHECK(json::parse(doc).has_value());
    }
}

TEST_CASE("json: JsonWriter puts commas and colons in the right places", "[json]") {
    JsonWriter w;
    w.begin_object()
        .key("model")
        .value("m\"1")
        .key("input")
        .begin_array()
        .value("a")
        .value(std::string("b\0", 2))
        .end_array()
        .key("dimensions")
        .value(256)
        .key("t")
        .value(0.5)
        .key("flag")
        .value(true)
        .key("none")
        .null()
        .key("nested")
        .begin_array()
        .begin_array()
        .end_array()
        .begin_object()
        .end_object()
        .end_array()
        .key("nan")
        .value(std::numeric_limits<double>::quiet_NaN())
        .key("big")
        .value(std::int64_t{-9007199254740993})
        .end_object();
    CHECK(w.view() == R"({"model":"m\"1","input":["a","b\u0000"],"dimensions":256,"t":0.5,"flag":true,)"
                      R"("none":null,"nested":[[],{}],"nan":null,"big":-9007199254740993})");
    std::string doc = w.view();
    const auto v = json::parse(doc);
    REQUIRE(v);
    REQUIRE(v->find("input"));
    CHECK(v->find("input")->items[1].string == std::string("b\0", 2));
    CHECK(v->find("big")->integer == -9007199254740993);
    CHECK(v->find("t")->number == 0.5);
}

TEST_CASE("json: parse refuses malformed, truncated and trailing text", "[json]") {
    for (const char* bad : {"", "{", "[1,2", R"({"a":})", R"({"a":1}})", R"({"a":1} x)", "[\"unterminated]",
                            "nul", "42", R"({"a":"\x"})"}) {
        std::string text = bad;
        CHECK_FALSE(json::parse(text).has_value());
    }
    std::string deep(100, '[');
    deep += std::string(100, ']');
    CHECK_FALSE(json::parse(deep).has_value()); // deeper than max_depth
    std::string ok = R"({"result":["a",null,7,["x"]],"error":"ERR \u00e9"})";
    const auto v = json::parse(ok);
    REQUIRE(v);
    const auto* r = v->find("result");
    REQUIRE(r);
    REQUIRE(r->items.size() == 4);
    CHECK(r->items[0].string == "a");
    CHECK(r->items[1].is_null());
    CHECK(r->items[2].integer == 7);
    CHECK(r->items[3].items[0].string == "x");
    CHECK(v->find("error")->string == "ERR \xc3\xa9");
}

TEST_CASE("base64: round trips every length and byte, and refuses non-base64", "[json]") {
    CHECK(base64::encode("") == "");
    CHECK(base64::encode("f") == "Zg==");
    CHECK(base64::encode("fo") == "Zm8=");
    CHECK(base64::encode("foo") == "Zm9v");
    CHECK(base64::encode("foobar") == "Zm9vYmFy");
    std::string all;
    for (int i = 0; i < 256; ++i)
        all.push_back(static_cast<char>(i));
    for (std::size_t n = 0; n <= all.size(); n += 1) {
        const std::string s = all.substr(0, n);
        const auto back = base64::decode(base64::encode(s));
        REQUIRE(back);
        CHECK(*back == s);
    }
    for (const char* bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9v!A==", "Zg==Zg==", "====", "Zm8a="})
        CHECK_FALSE(base64::decode(bad).has_value());
}
