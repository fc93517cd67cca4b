// AnthropicBackend against a local server that speaks the Messages API as documented: what the
// client sends (headers, body), how answers, usage and every error status are read, retries with
// backoff and retry-after, spend limits, timeouts, cut connections and malformed JSON (never
// cached). The API key is a fake one, and no assertion ever prints it (checks compare booleans).
#include "catch.hpp"
#include "support/http_server.hpp"
#include "support/scoped_env.hpp"

#include <llmcache/llmcache.hpp>

#include <simdjson.h>

#include <chrono>
#include <cstdlib>
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

const std::string kKey = "sk-ant-api03-FAKE-test-key-0123456789abcdef";

bool leaks_key(std::string_view text) {
    return text.find(kKey) != std::string_view::npos ||
           text.find("0123456789abcdef") != std::string_view::npos;
}

AnthropicOptions options_for(const HttpServer& server) {
    AnthropicOptions o;
    o.api_key = kKey;
    o.base_url = server.url();
    o.retry.initial_backoff = 1ms; // keep the retry tests fast; the backoff itself is test_retry's
    o.retry.max_backoff = 4ms;
    return o;
}

Reply json_reply(int status, std::string body, std::vector<std::pair<std::string, std::string>> extra = {}) {
    Reply r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}, {"request-id", "req_011CTEST"}};
    for (auto& h : extra)
        r.headers.push_back(std::move(h));
    r.body = std::move(body);
    return r;
}

// The documented example answer (anthropic-messages.md §4), with prompt-cache counts.
const std::string paris = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
  "type": "message",
  "role": "assistant",
  "model": "claude-sonnet-4-5-20250929",
  "content": [{"type": "text", "text": "Paris."}],
  "stop_reason": "end_turn",
  "stop_sequence": null,
  "usage": {
    "input_tokens": 21,
    "cache_creation_input_tokens": 7,
    "cache_read_input_tokens": 1024,
    "cache_creation": {"ephemeral_5m_input_tokens": 7, "ephemeral_1h_input_tokens": 0},
    "output_tokens": 5,
    "service_tier": "standard"
  }
})";

std::string error_body(std::string_view type, std::string_view message) {
    return R"({"type":"error","error":{"type":")" + std::string(type) + R"(","message":")" +
           std::string(message) + R"("},"request_id":"req_011CTEST"})";
}

Request full_request() {
    Request req;
    req.model = "claude-sonnet-4-5";
    req.system = "You are terse.";
    req.messages = {{Role::user, "What is the capital of France?"},
                    {Role::assistant, "Paris."},
                    {Role::user, "And of \"Italy\"?\n"}};
    req.params.temperature = 0.25;
    req.params.max_tokens = 256;
    req.params.top_p = 0.9;
    req.params.top_k = 40;
    req.params.stop_sequences = {"\n\nHuman:", "END"};
    req.params.tools_json =
        R"([{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}])";
    req.params.tool_choice_json = R"({"type":"auto"})";
    return req;
}

std::string minified(std::string_view json) {
    simdjson::dom::parser p;
    simdjson::dom::element e;
    REQUIRE_FALSE(p.parse(json.data(), json.size()).get(e));
    return simdjson::minify(e);
}

} // namespace

TEST_CASE("anthropic: the request carries the documented headers and body", "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(full_request());
    REQUIRE(r);

    const RecordedRequest sent = server.last_request();
    CHECK(sent.method == "POST");
    CHECK(sent.path == "/v1/messages");
    const bool key_sent = sent.header("x-api-key") == kKey;
    CHECK(key_sent);
    CHECK(sent.header("anthropic-version") == "2023-06-01");
    CHECK(sent.header("content-type") == "application/json");
    CHECK_FALSE(sent.has_header("authorization"));
    CHECK_FALSE(sent.has_header("anthropic-beta"));

    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(sent.body).get(body));
    CHECK(std::string_view(body["model"]) == "claude-sonnet-4-5");
    CHECK(int64_t(body["max_tokens"]) == 256);
    CHECK(std::string_view(body["system"]) == "You are terse.");
    simdjson::dom::array messages = body["messages"];
    REQUIRE(messages.size() == 3);
    CHECK(std::string_view(messages.at(0)["role"]) == "user");
    CHECK(std::string_view(messages.at(0)["content"]) == "What is the capital of France?");
    CHECK(std::string_view(messages.at(1)["role"]) == "assistant");
    CHECK(std::string_view(messages.at(2)["content"]) == "And of \"Italy\"?\n");
    CHECK(double(body["temperature"]) == 0.25);
    CHECK(double(body["top_p"]) == 0.9);
    CHECK(int64_t(body["top_k"]) == 40);
    simdjson::dom::array stops = body["stop_sequences"];
    REQUIRE(stops.size() == 2);
    CHECK(std::string_view(stops.at(0)) == "\n\nHuman:");
    CHECK(std::string_view(stops.at(1)) == "END");
    CHECK(simdjson::minify(body["tools"]) == minified(full_request().params.tools_json));
    CHECK(simdjson::minify(body["tool_choice"]) == R"({"type":"auto"})");
    CHECK(body["stream"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(body["metadata"].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("anthropic: defaults: max_tokens from the options, no system or params when unset, beta header",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    AnthropicOptions o = options_for(server);
    o.default_max_tokens = 1234;
    o.beta = "prompt-caching-2024-07-31";
    o.version = "2023-06-01";
    AnthropicBackend claude(o);
    REQUIRE(claude.complete(Request::chat("claude-haiku-4-5", "Hi")));
    const RecordedRequest sent = server.last_request();
    CHECK(sent.header("anthropic-beta") == "prompt-caching-2024-07-31");
    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(sent.body).get(body));
    CHECK(int64_t(body["max_tokens"]) == 1234);
    for (const char* absent :
         {"system", "temperature", "top_p", "top_k", "stop_sequences", "tools", "tool_choice"})
        CHECK(body[absent].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("anthropic: tool results are sent as user turns with their blocks; bad tool JSON is refused",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    AnthropicBackend claude(options_for(server));
    Request req = Request::chat("claude-sonnet-4-5", "Weather in Paris?");
    req.messages.push_back(
        {Role::tool, R"([{"type":"tool_result","tool_use_id":"toolu_1","content":"18 C"}])"});
    REQUIRE(claude.complete(req));
    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(server.last_request().body).get(body));
    CHECK(std::string_view(body["messages"].at(1)["role"]) == "user");
    CHECK(std::string_view(body["messages"].at(1)["content"].at(0)["tool_use_id"]) == "toolu_1");

    const std::size_t before = server.request_count();
    Request bad_tools = Request::chat("claude-sonnet-4-5", "x");
    bad_tools.params.tools_json = R"([{"name": "broken")";
    auto r = claude.complete(bad_tools);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    Request bad_choice = Request::chat("claude-sonnet-4-5", "x");
    bad_choice.params.tool_choice_json = R"("auto")"; // valid JSON, but Anthropic wants an object
    CHECK(claude.complete(bad_choice).error().code == ErrorCode::invalid_argument);
    Request bad_tool_msg = Request::chat("claude-sonnet-4-5", "x");
    bad_tool_msg.messages.push_back({Role::tool, "18 C"});
    CHECK(claude.complete(bad_tool_msg).error().code == ErrorCode::invalid_argument);
    CHECK(server.request_count() == before); // nothing was sent
}

TEST_CASE("anthropic: the answer is mapped: text, stop reason, model, usage with prompt-cache tokens",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "What is the capital of France?"));
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(r->stop_reason == StopReason::end_turn);
    CHECK(r->stop_sequence.empty());
    CHECK(r->model == "claude-sonnet-4-5-20250929");
    CHECK(r->usage.input_tokens == 21u);
    CHECK(r->usage.output_tokens == 5u);
    CHECK(r->usage.cache_read_input_tokens == 1024u);
    CHECK(r->usage.cache_creation_input_tokens == 7u);
    CHECK(r->tool_calls_json.empty());
    CHECK_FALSE(r->cache_hit);
    CHECK(r->created != std::chrono::system_clock::time_point{});
}

TEST_CASE("anthropic: stop sequences, several text blocks, tool use and every stop reason", "[anthropic]") {
    std::string body;
    HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
    AnthropicBackend claude(options_for(server));
    const Request req = Request::chat("claude-sonnet-4-5", "x");

    body =
        R"({"type":"message","model":"m","content":[{"type":"text","text":"Hello"},)"
        R"({"type":"thinking","thinking":"hmm","signature":"s"},{"type":"text","text":", world"}],)"
        R"("stop_reason":"stop_sequence","stop_sequence":"END","usage":{"input_tokens":3,"output_tokens":4}})";
    auto r = claude.complete(req);
    REQUIRE(r);
    CHECK(r->text == "Hello, world");
    CHECK(r->stop_reason == StopReason::stop_sequence);
    CHECK(r->stop_sequence == "END");

    body = R"({"content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01D7",)"
           R"("name":"get_stock_price","input":{"ticker":"^GSPC","n":[1,2]}}],"stop_reason":"tool_use",)"
           R"("usage":{"input_tokens":3,"output_tokens":4},"model":"m","type":"message"})";
    r = claude.complete(req);
    REQUIRE(r);
    CHECK(r->stop_reason == StopReason::tool_use);
    CHECK(r->text == "Let me check.");
    CHECK(
        r->tool_calls_json ==
        R"([{"type":"tool_use","id":"toolu_01D7","name":"get_stock_price","input":{"ticker":"^GSPC","n":[1,2]}}])");

    const std::pair<const char*, StopReason> reasons[] = {
        {"end_turn", StopReason::end_turn},
        {"max_tokens", StopReason::max_tokens},
        {"pause_turn", StopReason::pause_turn},
        {"refusal", StopReason::refusal},
        {"model_context_window_exceeded", StopReason::context_window_exceeded},
        {"something_new", StopReason::unknown}};
    for (const auto& [wire, expected] : reasons) {
        body = std::string(R"({"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":")") +
               wire + R"(","usage":{"input_tokens":1,"output_tokens":1}})";
        r = claude.complete(req);
        REQUIRE(r);
        CHECK(r->stop_reason == expected);
    }
}

TEST_CASE("anthropic: missing usage is unknown, not zero", "[anthropic]") {
    std::string body;
    HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
    AnthropicBackend claude(options_for(server));
    const Request req = Request::chat("claude-sonnet-4-5", "x");

    body = R"({"type":"message","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn"})";
    auto r = claude.complete(req);
    REQUIRE(r);
    CHECK_FALSE(r->usage.input_tokens);
    CHECK_FALSE(r->usage.output_tokens);
    CHECK_FALSE(r->usage.cache_read_input_tokens);
    CHECK_FALSE(r->usage.cache_creation_input_tokens);

    body = R"({"type":"message","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn",)"
           R"("usage":{"input_tokens":0,"output_tokens":2,"cache_read_input_tokens":null}})";
    r = claude.complete(req);
    REQUIRE(r);
    CHECK(r->usage.input_tokens == 0u); // a reported zero stays a zero
    CHECK(r->usage.output_tokens == 2u);
    CHECK_FALSE(r->usage.cache_read_input_tokens);
    CHECK_FALSE(r->usage.cache_creation_input_tokens);
}

TEST_CASE("anthropic: each error status with its documented body maps to a typed error", "[anthropic]") {
    struct Case {
        int status;
        const char* type;
        const char* message;
        ErrorCode code;
        std::size_t requests; // 1 + retries
    };
    const Case cases[] = {
        {400, "invalid_request_error", "messages: field required", ErrorCode::invalid_request, 1},
        {401, "authentication_error", "invalid x-api-key", ErrorCode::authentication, 1},
        {403, "permission_error", "Your API key does not have permission to use the specified resource.",
         ErrorCode::authentication, 1},
        {404, "not_found_error", "model: claude-nonexistent", ErrorCode::invalid_request, 1},
        {413, "request_too_large", "Request exceeds the maximum allowed number of bytes.",
         ErrorCode::invalid_request, 1},
        {429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
         ErrorCode::rate_limited, 3},
        {500, "api_error", "An unexpected error has occurred internal to Anthropic's systems.",
         ErrorCode::backend_unavailable, 3},
        {529, "overloaded_error", "Overloaded", ErrorCode::backend_unavailable, 3},
        {504, "timeout_error", "Request timed out", ErrorCode::backend_timeout, 3},
        {402, "billing_error", "Your credit balance is too low to access the Anthropic API.",
         ErrorCode::quota_exhausted, 1},
    };
    for (const Case& c : cases) {
        INFO("status " << c.status);
        HttpServer server(
            [&](const RecordedRequest&) { return json_reply(c.status, error_body(c.type, c.message)); });
        AnthropicBackend claude(options_for(server));
        auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().http_status == c.status);
        CHECK_THAT(r.error().message, Catch::Contains(c.message) && Catch::Contains(c.type) &&
                                          Catch::Contains("req_011CTEST") &&
                                          Catch::Contains(std::to_string(c.status)));
        CHECK(r.error().transient() == (c.requests > 1));
        CHECK(server.request_count() == c.requests);
        CHECK_FALSE(leaks_key(r.error().message));
    }
}

TEST_CASE("anthropic: a 413 from the proxy in front of the API (not JSON) is still a clear error",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r;
        r.status = 413;
        r.headers = {{"Content-Type", "text/html"}};
        r.body =
            "<html><head><title>413 Request Entity Too Large</title></head><body>cloudflare</body></html>";
        return r;
    });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_request);
    CHECK(r.error().http_status == 413);
    CHECK_THAT(r.error().message, Catch::Contains("413 Request Entity Too Large"));
    CHECK(server.request_count() == 1);
}

TEST_CASE("anthropic: 429 with retry-after is retried after the server's delay", "[anthropic]") {
    int n = 0;
    HttpServer server([&](const RecordedRequest&) {
        if (++n == 1)
            return json_reply(429, error_body("rate_limit_error", "Rate limited"), {{"retry-after", "1"}});
        return json_reply(200, paris);
    });
    AnthropicBackend claude(options_for(server));
    const auto t0 = Clock::now();
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    const auto took = Clock::now() - t0;
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(server.request_count() == 2);
    CHECK(took >= 1s); // honoured the 1 s, not the 1-4 ms backoff
    CHECK(took < 1800ms);
}

TEST_CASE("anthropic: retry-after beyond the cap is returned at once with the hint", "[anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        return json_reply(429, error_body("rate_limit_error", "Rate limited"), {{"retry-after", "3600"}});
    });
    AnthropicBackend claude(options_for(server));
    const auto t0 = Clock::now();
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(Clock::now() - t0 < 1s);
    CHECK(r.error().code == ErrorCode::rate_limited);
    CHECK(r.error().retry_after == std::chrono::milliseconds(3600s));
    CHECK(server.request_count() == 1);
}

TEST_CASE("anthropic: a 429 that says a spend limit was reached is quota_exhausted and not retried",
          "[anthropic]") {
    const char* messages[] = {
        "You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 "
        "UTC.",
        "This request would exceed your organization's monthly spend limit.",
    };
    for (const char* message : messages) {
        HttpServer server(
            [&](const RecordedRequest&) { return json_reply(429, error_body("rate_limit_error", message)); });
        AnthropicBackend claude(options_for(server));
        auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::quota_exhausted);
        CHECK_FALSE(r.error().transient());
        CHECK(r.error().http_status == 429);
        CHECK(server.request_count() == 1);
    }
}

TEST_CASE("anthropic: x-should-retry overrides the status; max_retries = 0 makes one attempt",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        return json_reply(500, error_body("api_error", "boom"), {{"x-should-retry", "false"}});
    });
    AnthropicBackend claude(options_for(server));
    CHECK_FALSE(claude.complete(Request::chat("claude-sonnet-4-5", "x")));
    CHECK(server.request_count() == 1);

    HttpServer conflict([](const RecordedRequest&) {
        return json_reply(409, error_body("conflict_error", "busy"), {{"x-should-retry", "true"}});
    });
    AnthropicOptions o = options_for(conflict);
    o.retry.max_retries = 0;
    AnthropicBackend once(o);
    CHECK_FALSE(once.complete(Request::chat("claude-sonnet-4-5", "x")));
    CHECK(conflict.request_count() == 1);
    o.retry.max_retries = 1;
    CHECK_FALSE(AnthropicBackend(o).complete(Request::chat("claude-sonnet-4-5", "x")));
    CHECK(conflict.request_count() == 3);
}

TEST_CASE("anthropic: 529 then success: the retry answers", "[anthropic]") {
    int n = 0;
    HttpServer server([&](const RecordedRequest&) {
        return ++n <= 2 ? json_reply(529, error_body("overloaded_error", "Overloaded"))
                        : json_reply(200, paris);
    });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(server.request_count() == 3);
}

TEST_CASE("anthropic: a server slower than the timeout gives backend_timeout within the deadline",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r = json_reply(200, paris);
        r.delay = 3s;
        return r;
    });
    AnthropicOptions o = options_for(server);
    o.timeout = 200ms;
    o.retry.max_retries = 0;
    const auto t0 = Clock::now();
    auto r = AnthropicBackend(o).complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_timeout);
    CHECK(Clock::now() - t0 < 1500ms);

    // With retries, the overall deadline still bounds the call.
    o.retry.max_retries = 5;
    o.deadline = 500ms;
    const auto t1 = Clock::now();
    r = AnthropicBackend(o).complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_timeout);
    CHECK(Clock::now() - t1 < 1500ms);
}

TEST_CASE("anthropic: a connection cut mid-body is a transient error, retried, never a short answer",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r = json_reply(200, paris);
        r.cut_after = paris.size() / 2;
        return r;
    });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK(server.request_count() == 3);
    CHECK_FALSE(leaks_key(r.error().message));
}

TEST_CASE("anthropic: malformed, truncated or mistyped JSON is bad_response and never cached",
          "[anthropic]") {
    const std::string bodies[] = {
        paris.substr(0, paris.size() - 40),                                  // truncated
        "<html>upstream error</html>",                                       // not JSON
        R"({"type":"message","content":"Paris.","stop_reason":"end_turn"})", // content not an array
        R"({"type":"message","content":[{"type":"text","text":42}],"stop_reason":"end_turn"})",
        R"({"type":"message","stop_reason":"end_turn"})", // no content
        R"({"type":"message","content":[],"stop_reason":"end_turn","usage":{"input_tokens":-3}})",
        R"({"type":"message","content":[{"type":"text","text":"Paris."}],"stop_reason":"end_turn"} trailing)",
        "",
    };
    for (const std::string& body : bodies) {
        INFO("body: " << body);
        HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
        MemoryStore store;
        Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, AnthropicBackend(options_for(server))};
        auto r = cache.invoke(Request::chat("claude-sonnet-4-5", "x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_response);
        CHECK(server.request_count() == 1); // not retried
        CHECK(store.stats().entries == 0);
        CHECK(cache.stats().writes == 0);
    }
}

TEST_CASE("anthropic: an answer is cached, and the hit costs no request", "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    MemoryStore store;
    Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, AnthropicBackend(options_for(server))};
    auto miss = cache.invoke(Request::chat("claude-sonnet-4-5", "What is the capital of France?"));
    REQUIRE(miss);
    auto hit = cache.invoke(Request::chat("claude-sonnet-4-5", "What is the capital of France?"));
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == "Paris.");
    CHECK(hit->usage == miss->usage);
    CHECK(server.request_count() == 1);
    CHECK(store.stats().entries == 1);
}

TEST_CASE("anthropic: the key never appears in errors, even when a server echoes it", "[anthropic]") {
    HttpServer server([](const RecordedRequest& req) {
        return json_reply(
            401, error_body("authentication_error", "invalid x-api-key: " + req.header("x-api-key")));
    });
    AnthropicBackend claude(options_for(server));
    auto r = claude.complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::authentication);
    CHECK_FALSE(leaks_key(r.error().message));
    CHECK_THAT(r.error().message, Catch::Contains("[redacted]"));

    // Refused connection: the transport error names the host, not the key.
    const int port = server.port();
    server.stop();
    AnthropicOptions o = options_for(server);
    o.base_url = "http://127.0.0.1:" + std::to_string(port);
    auto refused = AnthropicBackend(o).complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::backend_unavailable);
    CHECK_FALSE(leaks_key(refused.error().message));
}

TEST_CASE("anthropic: without a key nothing is sent; from_env reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL",
          "[anthropic]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    AnthropicOptions no_key = options_for(server);
    no_key.api_key.clear();
    auto r = AnthropicBackend(no_key).complete(Request::chat("claude-sonnet-4-5", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::authentication);
    CHECK_THAT(r.error().message, Catch::Contains("ANTHROPIC_API_KEY"));
    CHECK(server.request_count() == 0);

    const AnthropicBackend from_env = [&] {
        llmcache_test::ScopedEnv key("ANTHROPIC_API_KEY", kKey.c_str());
        llmcache_test::ScopedEnv url("ANTHROPIC_BASE_URL", (server.url() + "/").c_str());
        return AnthropicBackend::from_env();
    }();
    CHECK(from_env.has_api_key());
    CHECK(from_env.url() == server.url() + "/v1/messages");
    REQUIRE(from_env.complete(Request::chat("claude-sonnet-4-5", "x")));
    CHECK(server.request_count() == 1);
    const bool key_sent = server.last_request().header("x-api-key") == kKey;
    CHECK(key_sent);

    const AnthropicBackend defaults = [] {
        llmcache_test::ScopedEnv key("ANTHROPIC_API_KEY", nullptr);
        llmcache_test::ScopedEnv url("ANTHROPIC_BASE_URL", nullptr);
        return AnthropicBackend::from_env();
    }();
    CHECK_FALSE(defaults.has_api_key());
    CHECK(defaults.url() == "https://api.anthropic.com/v1/messages");
}

TEST_CASE("anthropic: the body writer escapes exactly as append_json_string, and writes valid JSON",
          "[anthropic][json]") {
    // The request body is written with detail::JsonWriter: every string in it, whatever its bytes,
    // must appear exactly as append_json_string writes it, and the body must stay valid JSON.
    const std::string samples[] = {
        "",
        "plain ascii text",
        "quote \" backslash \\ slash / tab \t newline \n cr \r nul " + std::string(1, '\0') + " del \x7f",
        "caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80 end",
        "bad \xC3 lead, bad \x80 continuation, overlong \xC0\xAF, surrogate \xED\xA0\x80, cut \xE2\x82",
        "\xE2\x82"
        "a",
        std::string(300, 'x') + "\"" + std::string(300, 'y'),
    };
    for (const std::string& s : samples) {
        std::string reference;
        llmcache::detail::append_json_string(reference, s);
        llmcache::detail::JsonWriter written;
        written.value(s);
        CHECK(written.view() == reference);

        Request req;
        req.model = "claude-sonnet-4-5";
        req.system = s;
        req.messages = {{Role::user, s}};
        req.params.stop_sequences = {s};
        auto body = llmcache::detail::anthropic::request_body(req, 64, false);
        REQUIRE(body);
        if (!s.empty()) // an empty system prompt is left out
            CHECK(body->find(R"("system":)" + reference + ",") != std::string::npos);
        CHECK(body->find(R"("content":)" + reference + "}") != std::string::npos);
        CHECK(body->find(R"("stop_sequences":[)" + reference + "]") != std::string::npos);
        simdjson::dom::parser p;
        simdjson::dom::element parsed;
        CHECK_FALSE(p.parse(*body).get(parsed));
    }
    llmcache::detail::JsonWriter w;
    w.begin_object().key("a").begin_array().value(-3).value(0.1).value(false).value("x").end_array();
    w.key("b").begin_object().end_object().key("c").raw("[1,{}]").end_object();
    CHECK(w.view() == R"({"a":[-3,0.1,false,"x"],"b":{},"c":[1,{}]})");
}
