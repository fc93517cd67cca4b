// Streaming over HTTP: both backends' server-sent-event streams from local servers, split at
// awkward places, with error events, early ends, cut connections and slow servers; and
// Cache::invoke_stream storing only streams that ended normally and replaying hits.
#include "catch.hpp"
#include "support/http_server.hpp"

#include <llmcache/llmcache.hpp>

#include <simdjson.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;
using llmcache_test::HttpServer;
using llmcache_test::RecordedRequest;
using llmcache_test::Reply;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kAnthropicKey = "sk-ant-api03-FAKE-stream-key-0123456789abcdef";
const std::string kOpenAIKey = "sk-proj-FAKE-stream-key-9876543210fedcba";

std::string event(std::string_view name, std::string_view data) {
    return "event: " + std::string(name) + "\ndata: " + std::string(data) + "\n\n";
}

const std::string message_start =
    event("message_start",
          R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",)"
          R"("content":[],"model":"claude-haiku-4-5-20251001","stop_reason":null,"stop_sequence":null,)"
          R"("usage":{"input_tokens":12,"cache_read_input_tokens":100,"output_tokens":1}}})");
const std::string block_start =
    event("content_block_start",
          R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
const std::string ping = event("ping", R"({"type": "ping"})");
std::string text_delta(std::string_view text) {
    return event("content_block_delta",
                 R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" +
                     std::string(text) + R"("}})");
}
const std::string block_stop = event("content_block_stop", R"({"type":"content_block_stop","index":0})");
const std::string message_delta = event(
    "message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},)"
                     R"("usage":{"output_tokens":5}})");
const std::string message_stop = event("message_stop", R"({"type":"message_stop"})");
const std::string overloaded =
    event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");

/// The documented example transcript, plus an unknown event type.
std::string paris_stream() {
    return message_start + block_start + ping + text_delta("Par") +
           event("brand_new_event", R"({"type":"brand_new_event","x":1})") + text_delta("is.") + block_stop +
           message_delta + message_stop;
}

/// Splits `s` into pieces of `n` bytes, so events, lines and CRLFs straddle chunk boundaries.
std::vector<std::string> pieces(const std::string& s, std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < s.size(); i += n)
        out.push_back(s.substr(i, n));
    return out;
}

Reply sse_reply(const std::string& stream, std::size_t piece = 7, std::chrono::milliseconds delay = 0ms) {
    Reply r;
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
    r.chunks = pieces(stream, piece);
    r.chunk_delay = delay;
    return r;
}

/// A chunked SSE response that stops after `stream` without the final chunk: the connection is cut.
Reply cut_sse_reply(const std::string& stream) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", stream.size());
    Reply r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
            std::string(size) + "\r\n" + stream + "\r\n";
    return r;
}

AnthropicBackend claude_at(const HttpServer& server) {
    AnthropicOptions o;
    o.api_key = kAnthropicKey;
    o.base_url = server.url();
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 4ms;
    return AnthropicBackend(o);
}

OpenAIBackend gpt_at(const HttpServer& server, bool stream_usage = true) {
    OpenAIOptions o;
    o.api_key = kOpenAIKey;
    o.base_url = server.url() + "/v1";
    o.stream_usage = stream_usage;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 4ms;
    return OpenAIBackend(o);
}

struct Collect {
    std::vector<std::string>* out;
    void operator()(std::string_view d) const { out->emplace_back(d); }
};

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& p : v)
        s += p;
    return s;
}

bool leaks(std::string_view text) {
    return text.find("0123456789abcdef") != std::string_view::npos ||
           text.find("9876543210fedcba") != std::string_view::npos;
}

static_assert(streaming_backend<AnthropicBackend>);
static_assert(streaming_backend<OpenAIBackend>);

} // namespace

TEST_CASE("streaming: an Anthropic stream split anywhere is assembled; deltas reach the callback",
          "[streaming][anthropic]") {
    for (std::size_t piece : {1u, 7u, 64u, 4096u}) {
        INFO("piece size " << piece);
        HttpServer server([&](const RecordedRequest&) { return sse_reply(paris_stream(), piece); });
        std::vector<std::string> deltas;
        auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "Capital of France?"),
                                          Collect{&deltas});
        REQUIRE(r);
        CHECK(deltas == std::vector<std::string>{"Par", "is."});
        CHECK(r->text == "Paris.");
        CHECK(r->stop_reason == StopReason::end_turn);
        CHECK(r->model == "claude-haiku-4-5-20251001");
        CHECK(r->usage.input_tokens == 12u);
        CHECK(r->usage.output_tokens == 5u); // message_delta's cumulative count, not message_start's 1
        CHECK(r->usage.cache_read_input_tokens == 100u);
        CHECK_FALSE(r->usage.cache_creation_input_tokens);

        const RecordedRequest sent = server.last_request();
        CHECK(sent.header("accept") == "text/event-stream");
        const bool key_sent = sent.header("x-api-key") == kAnthropicKey;
        CHECK(key_sent);
        simdjson::dom::parser p;
        simdjson::dom::element body;
        REQUIRE_FALSE(p.parse(sent.body).get(body));
        CHECK(bool(body["stream"]) == true);
    }
}

TEST_CASE("streaming: CRLF line ends and comments in an Anthropic stream", "[streaming][anthropic]") {
    std::string crlf;
    for (char c : ": hello\n" + paris_stream()) {
        if (c == '\n')
            crlf += "\r\n";
        else
            crlf += c;
    }
    HttpServer server([&](const RecordedRequest&) { return sse_reply(crlf, 5); });
    std::vector<std::string> deltas;
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(joined(deltas) == "Paris.");
}

TEST_CASE("streaming: invoke_stream stores a finished stream and replays the hit through the callback",
          "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) { return sse_reply(paris_stream()); });
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, claude_at(server)};
    const Request req = Request::chat("claude-haiku-4-5", "Capital of France?");
    std::vector<std::string> first, second;
    auto miss = cache.invoke_stream(req, Collect{&first});
    REQUIRE(miss);
    CHECK_FALSE(miss->cache_hit);
    CHECK(first == std::vector<std::string>{"Par", "is."});
    CHECK(store.stats().entries == 1);

    auto hit = cache.invoke_stream(req, Collect{&second});
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(second == std::vector<std::string>{"Paris."});
    CHECK(hit->usage == miss->usage);
    CHECK(server.request_count() == 1);
    // A streamed answer serves invoke() too.
    auto plain = cache.invoke(req);
    REQUIRE(plain);
    CHECK(plain->cache_hit);
    CHECK(server.request_count() == 1);
}

TEST_CASE("streaming: an error event mid-stream is an error; the partial text is not cached",
          "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        return sse_reply(message_start + block_start + text_delta("Par") + overloaded);
    });
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, claude_at(server)};
    std::vector<std::string> deltas;
    auto r = cache.invoke_stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("Overloaded") && Catch::Contains("overloaded_error"));
    CHECK(deltas == std::vector<std::string>{"Par"});
    CHECK(store.stats().entries == 0);
    CHECK(server.request_count() == 1); // text was delivered: no retry, which would repeat it
}

TEST_CASE("streaming: an error event before any text is retried like a failed status",
          "[streaming][anthropic]") {
    int n = 0;
    HttpServer server([&](const RecordedRequest&) {
        return ++n == 1 ? sse_reply(message_start + overloaded) : sse_reply(paris_stream());
    });
    std::vector<std::string> deltas;
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(joined(deltas) == "Paris.");
    CHECK(server.request_count() == 2);
}

TEST_CASE("streaming: a stream that ends before message_stop is bad_response and never cached",
          "[streaming][anthropic]") {
    const std::string truncated[] = {
        message_start + block_start + text_delta("Par") + text_delta("is.") + block_stop + message_delta,
        message_start + block_start + text_delta("Par") +
            "event: content_block_delta\ndata: {\"type\":\"cont",
        "",
        text_delta("Par") + message_stop, // no message_start
    };
    for (const std::string& stream : truncated) {
        HttpServer server([&](const RecordedRequest&) { return sse_reply(stream); });
        MemoryStore store;
        Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, claude_at(server)};
        std::vector<std::string> deltas;
        auto r = cache.invoke_stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_response);
        CHECK(store.stats().entries == 0);
        CHECK(server.request_count() == 1);
    }
}

TEST_CASE("streaming: a malformed event is bad_response", "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        return sse_reply(message_start + block_start +
                         event("content_block_delta", "{\"type\":\"content_block_delta\",") + message_stop);
    });
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), [](std::string_view) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::bad_response);
    CHECK_THAT(r.error().message, Catch::Contains("malformed stream event"));
}

TEST_CASE("streaming: a connection cut mid-stream is an error, not retried after text, not cached",
          "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        return cut_sse_reply(message_start + block_start + text_delta("Par"));
    });
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, claude_at(server)};
    std::vector<std::string> deltas;
    auto r = cache.invoke_stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK(deltas == std::vector<std::string>{"Par"});
    CHECK(store.stats().entries == 0);
    CHECK(server.request_count() == 1);
    CHECK_FALSE(leaks(r.error().message));
}

TEST_CASE("streaming: a stream slower than the timeout gives backend_timeout", "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) { return sse_reply(paris_stream(), 64, 150ms); });
    AnthropicOptions o = claude_at(server).options();
    o.timeout = 300ms;
    o.retry.max_retries = 0;
    const auto t0 = Clock::now();
    auto r = AnthropicBackend(o).stream(Request::chat("claude-haiku-4-5", "x"), [](std::string_view) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_timeout);
    CHECK(Clock::now() - t0 < 1500ms);
}

TEST_CASE("streaming: a stream that stalls after some text is cut by stream_idle_timeout, not cached",
          "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r = sse_reply(message_start + block_start + text_delta("Par"), 4096);
        r.chunks.push_back(text_delta("is.") + block_stop + message_delta + message_stop);
        r.chunk_delays = {0ms, 6s}; // the first text at once, then silence
        return r;
    });
    AnthropicOptions o = claude_at(server).options();
    o.timeout = 30s;
    o.stream_idle_timeout = 1s;
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, AnthropicBackend(o)};
    std::vector<std::string> deltas;
    const auto t0 = Clock::now();
    auto r = cache.invoke_stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_timeout);
    CHECK(Clock::now() - t0 < 4s); // not the 30 s timeout, nor the 6 s stall
    CHECK(deltas == std::vector<std::string>{"Par"});
    CHECK(store.stats().entries == 0);
    CHECK(server.request_count() == 1); // text had reached the caller: not retried
    CHECK_FALSE(leaks(r.error().message));
}

TEST_CASE("streaming: error statuses on a stream request are read from the JSON body and retried as usual",
          "[streaming][anthropic]") {
    int n = 0;
    HttpServer server([&](const RecordedRequest&) {
        Reply r;
        r.headers = {{"Content-Type", "application/json"}, {"retry-after", "0"}};
        if (++n == 1) {
            r.status = 429;
            r.body = R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})";
            return r;
        }
        return sse_reply(paris_stream());
    });
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), [](std::string_view) {});
    REQUIRE(r);
    CHECK(server.request_count() == 2);

    HttpServer quota([](const RecordedRequest&) {
        Reply r;
        r.status = 429;
        r.headers = {{"Content-Type", "application/json"}};
        r.body =
            R"({"type":"error","error":{"type":"rate_limit_error","message":"You have reached your specified API usage limits."}})";
        return r;
    });
    std::vector<std::string> deltas;
    auto q = claude_at(quota).stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE_FALSE(q);
    CHECK(q.error().code == ErrorCode::quota_exhausted);
    CHECK(q.error().http_status == 429);
    CHECK(deltas.empty());
    CHECK(quota.request_count() == 1);
}

TEST_CASE("streaming: streamed tool use is assembled from input_json_delta fragments",
          "[streaming][anthropic]") {
    const std::string stream =
        message_start +
        event("content_block_start",
              R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use",)"
              R"("id":"toolu_01","name":"get_weather","input":{}}})") +
        event("content_block_delta",
              R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
              R"("partial_json":"{\"city\": \"Pa"}})") +
        event("content_block_delta",
              R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta",)"
              R"("partial_json":"ris\"}"}})") +
        event("content_block_stop", R"({"type":"content_block_stop","index":0})") +
        event("message_delta",
              R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},)"
              R"("usage":{"output_tokens":9}})") +
        message_stop;
    HttpServer server([&](const RecordedRequest&) { return sse_reply(stream); });
    std::vector<std::string> deltas;
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE(r);
    CHECK(deltas.empty());
    CHECK(r->stop_reason == StopReason::tool_use);
    CHECK(r->tool_calls_json ==
          R"([{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city": "Paris"}}])");
}

TEST_CASE("streaming: a server that answers a stream request with plain JSON still works",
          "[streaming][anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r;
        r.headers = {{"Content-Type", "application/json"}};
        r.body = R"({"type":"message","content":[{"type":"text","text":"Paris."}],"stop_reason":"end_turn",)"
                 R"("usage":{"input_tokens":3,"output_tokens":2}})";
        return r;
    });
    std::vector<std::string> deltas;
    auto r = claude_at(server).stream(Request::chat("claude-haiku-4-5", "x"), Collect{&deltas});
    REQUIRE(r);
    CHECK(deltas == std::vector<std::string>{"Paris."});
    CHECK(r->usage.output_tokens == 2u);
}

// ---- OpenAI ------------------------------------------------------------------------------------

namespace {

std::string chunk(std::string_view choices_and_rest) {
    return R"(data: {"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini",)" +
           std::string(choices_and_rest) + "}\n\n";
}

std::string openai_stream(bool with_usage = true, bool with_done = true) {
    std::string s =
        chunk(
            R"("choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}])") +
        chunk(R"("choices":[{"index":0,"delta":{"content":"Par"},"logprobs":null,"finish_reason":null}])") +
        chunk(R"("choices":[{"index":0,"delta":{"content":"is."},"logprobs":null,"finish_reason":null}])") +
        chunk(R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}])");
    if (with_usage)
        s += chunk(
            R"("choices":[],"usage":{"prompt_tokens":19,"completion_tokens":3,"total_tokens":22,"prompt_tokens_details":{"cached_tokens":4}})");
    if (with_done)
        s += "data: [DONE]\n\n";
    return s;
}

} // namespace

TEST_CASE("streaming: an OpenAI chunk stream with the usage chunk and [DONE]", "[streaming][openai]") {
    HttpServer server([](const RecordedRequest&) { return sse_reply(openai_stream(), 11); });
    std::vector<std::string> deltas;
    auto r = gpt_at(server).stream(Request::chat("gpt-4o-mini", "Capital of France?"), Collect{&deltas});
    REQUIRE(r);
    CHECK(deltas == std::vector<std::string>{"Par", "is."});
    CHECK(r->text == "Paris.");
    CHECK(r->stop_reason == StopReason::end_turn);
    CHECK(r->model == "gpt-4o-mini");
    CHECK(r->usage.input_tokens == 15u);
    CHECK(r->usage.cache_read_input_tokens == 4u);
    CHECK(r->usage.output_tokens == 3u);

    const RecordedRequest sent = server.last_request();
    const bool bearer = sent.header("authorization") == "Bearer " + kOpenAIKey;
    CHECK(bearer);
    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(sent.body).get(body));
    CHECK(bool(body["stream"]) == true);
    CHECK(bool(body["stream_options"]["include_usage"]) == true);
}

TEST_CASE("streaming: an OpenAI stream without usage reports unknown usage", "[streaming][openai]") {
    HttpServer server([](const RecordedRequest&) { return sse_reply(openai_stream(false)); });
    auto r = gpt_at(server, false).stream(Request::chat("llama3.2", "x"), [](std::string_view) {});
    REQUIRE(r);
    CHECK(r->usage == Usage{});
    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(server.last_request().body).get(body));
    CHECK(body["stream_options"].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("streaming: an OpenAI stream without [DONE], or with an error chunk, is an error and not cached",
          "[streaming][openai]") {
    const std::pair<std::string, ErrorCode> cases[] = {
        {openai_stream(true, false), ErrorCode::bad_response},
        {chunk(R"("choices":[{"index":0,"delta":{"content":"Par"},"finish_reason":null}])") +
             R"(data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}})" +
             "\n\n",
         ErrorCode::backend_unavailable},
        {chunk(R"("choices":[{"index":0,"delta":{"content":42},"finish_reason":null}])") + "data: [DONE]\n\n",
         ErrorCode::bad_response},
    };
    for (const auto& c : cases) {
        const std::string& stream = c.first;
        const ErrorCode code = c.second;
        HttpServer server([&](const RecordedRequest&) { return sse_reply(stream); });
        MemoryStore store;
        Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, gpt_at(server)};
        auto r = cache.invoke_stream(Request::chat("gpt-4o-mini", "x"), [](std::string_view) {});
        REQUIRE_FALSE(r);
        CHECK(r.error().code == code);
        CHECK(store.stats().entries == 0);
        CHECK_FALSE(leaks(r.error().message));
    }
}

TEST_CASE("streaming: OpenAI tool-call fragments are joined per index", "[streaming][openai]") {
    const std::string stream =
        chunk(
            R"("choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}])") +
        chunk(
            R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}])") +
        chunk(
            R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}])") +
        chunk(R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}])") + "data: [DONE]\n\n";
    HttpServer server([&](const RecordedRequest&) { return sse_reply(stream, 13); });
    auto r = gpt_at(server).stream(Request::chat("gpt-4o-mini", "x"), [](std::string_view) {});
    REQUIRE(r);
    CHECK(r->stop_reason == StopReason::tool_use);
    CHECK(
        r->tool_calls_json ==
        R"([{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])");
}

TEST_CASE("streaming: OpenAI invoke_stream: miss streams and stores, hit replays; errors by status",
          "[streaming][openai]") {
    HttpServer server([](const RecordedRequest&) { return sse_reply(openai_stream()); });
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, gpt_at(server)};
    std::vector<std::string> a, b;
    REQUIRE(cache.invoke_stream(Request::chat("gpt-4o-mini", "x"), Collect{&a}));
    auto hit = cache.invoke_stream(Request::chat("gpt-4o-mini", "x"), Collect{&b});
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(joined(a) == "Paris.");
    CHECK(b == std::vector<std::string>{"Paris."});
    CHECK(server.request_count() == 1);

    HttpServer quota([](const RecordedRequest&) {
        Reply r;
        r.status = 429;
        r.headers = {{"Content-Type", "application/json"}};
        r.body =
            R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})";
        return r;
    });
    auto q = gpt_at(quota).stream(Request::chat("gpt-4o-mini", "x"), [](std::string_view) {});
    REQUIRE_FALSE(q);
    CHECK(q.error().code == ErrorCode::quota_exhausted);
    CHECK(quota.request_count() == 1);
}
