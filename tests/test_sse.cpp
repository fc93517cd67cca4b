// SseParser: the text/event-stream grammar, whatever the chunk boundaries.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <string>
#include <string_view>
#include <vector>

using llmcache::detail::SseEvent;
using llmcache::detail::SseParser;

namespace {

struct Seen {
    std::string type, data, id;
    bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) {
    return os << "{" << s.type << "|" << s.data << "|" << s.id << "}";
}

/// Feeds `chunks` one after another and collects the events.
std::vector<Seen> parse_chunks(const std::vector<std::string_view>& chunks, bool* pending = nullptr) {
    SseParser p;
    std::vector<Seen> out;
    for (auto c : chunks)
        REQUIRE(p.feed(c, [&](const SseEvent& e) {
            out.push_back({std::string(e.type), std::string(e.data), std::string(e.id)});
            return true;
        }));
    if (pending)
        *pending = p.pending();
    return out;
}

std::vector<Seen> parse(std::string_view all, bool* pending = nullptr) {
    return parse_chunks(std::vector<std::string_view>{all}, pending);
}

const std::string anthropic_like = "event: message_start\n"
                                   "data: {\"type\":\"message_start\"}\n"
                                   "\n"
                                   ": keep-alive comment\n"
                                   "event: content_block_delta\r\n"
                                   "data: {\"text\":\"Par\"}\r\n"
                                   "\r\n"
                                   "event: ping\r"
                                   "data: {}\r"
                                   "\r"
                                   "data: line one\n"
                                   "data: line two\n"
                                   "id: 7\n"
                                   "\n"
                                   "event: message_stop\n"
                                   "data: {\"type\":\"message_stop\"}\n"
                                   "\n";

const std::vector<Seen> anthropic_like_events = {
    {"message_start", "{\"type\":\"message_start\"}", ""},
    {"content_block_delta", "{\"text\":\"Par\"}", ""},
    {"ping", "{}", ""},
    {"message", "line one\nline two", "7"},
    {"message_stop", "{\"type\":\"message_stop\"}", "7"},
};

} // namespace

TEST_CASE("sse: events, comments, CRLF/CR/LF line ends, multi-line data, ids", "[sse]") {
    bool pending = true;
    CHECK(parse(anthropic_like, &pending) == anthropic_like_events);
    CHECK_FALSE(pending);
}

TEST_CASE("sse: any split into two chunks, and byte by byte, gives the same events", "[sse]") {
    const std::string_view all = anthropic_like;
    for (std::size_t cut = 0; cut <= all.size(); ++cut) {
        INFO("cut at " << cut);
        CHECK(parse_chunks({all.substr(0, cut), all.substr(cut)}) == anthropic_like_events);
    }
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < all.size(); ++i)
        bytes.push_back(all.substr(i, 1));
    CHECK(parse_chunks(bytes) == anthropic_like_events);
    // Three chunks, cutting at every pair of positions in a shorter stream with CRLFs.
    const std::string_view crlf = "event: a\r\ndata: x\r\n\r\ndata: y\r\n\r\n";
    const std::vector<Seen> want = {{"a", "x", ""}, {"message", "y", ""}};
    for (std::size_t i = 0; i <= crlf.size(); ++i)
        for (std::size_t j = i; j <= crlf.size(); ++j)
            CHECK(parse_chunks({crlf.substr(0, i), crlf.substr(i, j - i), crlf.substr(j)}) == want);
}

TEST_CASE("sse: field syntax: one space stripped, no colon, empty data, unknown fields", "[sse]") {
    CHECK(parse("data:x\n\n") == std::vector<Seen>{{"message", "x", ""}});
    CHECK(parse("data:  two spaces\n\n") == std::vector<Seen>{{"message", " two spaces", ""}});
    CHECK(parse("data\n\n") == std::vector<Seen>{{"message", "", ""}});
    CHECK(parse("data:\ndata:\n\n") == std::vector<Seen>{{"message", "\n", ""}});
    CHECK(parse("retry: 100\nfoo: bar\ndata: z\n\n") == std::vector<Seen>{{"message", "z", ""}});
    CHECK(parse("data: a:b: c\n\n") == std::vector<Seen>{{"message", "a:b: c", ""}});
}

TEST_CASE("sse: an event without data is not dispatched, and its type does not leak", "[sse]") {
    CHECK(parse("event: lonely\n\ndata: next\n\n") == std::vector<Seen>{{"message", "next", ""}});
    CHECK(parse(":only a comment\n\n\n\n").empty());
}

TEST_CASE("sse: a byte-order mark at the start is skipped, even split, and only there", "[sse]") {
    CHECK(parse("\xEF\xBB\xBF"
                "data: a\n\n") == std::vector<Seen>{{"message", "a", ""}});
    CHECK(parse_chunks({"\xEF", "\xBB",
                        "\xBF"
                        "data: a\n\n"}) == std::vector<Seen>{{"message", "a", ""}});
    // Not a BOM: the bytes are kept (as part of an unknown field name, so nothing dispatched).
    CHECK(parse_chunks({"\xEF\xBB", "data: a\n\n"}).empty());
    CHECK(parse("data: \xEF\xBB\xBF"
                "a\n\n") == std::vector<Seen>{{"message",
                                               "\xEF\xBB\xBF"
                                               "a",
                                               ""}});
}

TEST_CASE("sse: pending() tells a stream cut inside an event", "[sse]") {
    bool pending = false;
    CHECK(parse("data: whole\n\ndata: half", &pending).size() == 1);
    CHECK(pending);
    CHECK(parse("data: whole\n\ndata: line ended but no blank line\n", &pending).size() == 1);
    CHECK(pending);
    CHECK(parse("data: whole\n\nevent: x\n", &pending).size() == 1);
    CHECK(pending);
    CHECK(parse("data: whole\n\n", &pending).size() == 1);
    CHECK_FALSE(pending);
    // A trailing CR ends the line; a following LF in the next chunk is not a second line end.
    CHECK(parse_chunks({"data: a\r", "\n\r", "\n"}, &pending) == std::vector<Seen>{{"message", "a", ""}});
    CHECK_FALSE(pending);
}

TEST_CASE("sse: the handler can stop the parse", "[sse]") {
    SseParser p;
    int n = 0;
    CHECK_FALSE(p.feed("data: 1\n\ndata: 2\n\ndata: 3\n\n", [&](const SseEvent&) { return ++n < 2; }));
    CHECK(n == 2);
}
