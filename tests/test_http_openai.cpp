// OpenAIBackend against local servers that speak Chat Completions as OpenAI documents it, and as
// the compatible servers (Ollama, vLLM, llama.cpp) vary it: request headers and body, answers,
// usage (including its absence), errors in each server's shape, quota vs rate limit, retries.
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

const std::string kKey = "sk-proj-FAKE-openai-test-key-9876543210fedcba";

bool leaks_key(std::string_view text) {
    return text.find(kKey) != std::string_view::npos ||
           text.find("9876543210fedcba") != std::string_view::npos;
}

OpenAIOptions options_for(const HttpServer& server) {
    OpenAIOptions o;
    o.api_key = kKey;
    o.base_url = server.url() + "/v1";
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 4ms;
    return o;
}

Reply json_reply(int status, std::string body, std::vector<std::pair<std::string, std::string>> extra = {}) {
    Reply r;
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}, {"x-request-id", "req_openai_42"}};
    for (auto& h : extra)
        r.headers.push_back(std::move(h));
    r.body = std::move(body);
    return r;
}

// The documented example (openai-chat-and-embeddings.md §1).
const std::string paris = R"({
  "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
  "object": "chat.completion",
  "created": 1741569952,
  "model": "gpt-4o-mini-2024-07-18",
  "choices": [{
    "index": 0,
    "message": {"role": "assistant", "content": "Paris.", "refusal": null, "annotations": []},
    "logprobs": null,
    "finish_reason": "stop"
  }],
  "usage": {
    "prompt_tokens": 19, "completion_tokens": 3, "total_tokens": 22,
    "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": "fp_06737a9306"
})";

std::string openai_error(std::string_view message, std::string_view type, std::string_view code) {
    return R"({"error":{"message":")" + std::string(message) + R"(","type":")" + std::string(type) +
           R"(","param":null,"code":)" +
           (code.empty() ? std::string("null") : "\"" + std::string(code) + "\"") + "}}";
}

std::string answer_with(std::string_view message_json, std::string_view finish, std::string_view usage = "") {
    std::string s = R"({"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":)";
    s += message_json;
    s += R"(,"finish_reason":)";
    s += finish;
    s += "}]";
    if (!usage.empty()) {
        s += R"(,"usage":)";
        s += usage;
    }
    s += "}";
    return s;
}

} // namespace

TEST_CASE("openai: the request carries Bearer auth and the documented body", "[openai]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    OpenAIOptions o = options_for(server);
    o.organization = "org-123";
    o.project = "proj_456";
    OpenAIBackend gpt(o);
    Request req = Request::chat("gpt-4o-mini", "What is the capital of France?", "You are terse.");
    req.messages.push_back({Role::assistant, "Paris."});
    req.messages.push_back({Role::user, "And Italy?"});
    req.params.temperature = 0.0;
    req.params.max_tokens = 64;
    req.params.top_p = 0.5;
    req.params.stop_sequences = {"\n\n"};
    req.params.tools_json = R"([{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
    req.params.tool_choice_json = R"("auto")";
    REQUIRE(gpt.complete(req));

    const RecordedRequest sent = server.last_request();
    CHECK(sent.method == "POST");
    CHECK(sent.path == "/v1/chat/completions");
    const bool bearer = sent.header("authorization") == "Bearer " + kKey;
    CHECK(bearer);
    CHECK(sent.header("content-type") == "application/json");
    CHECK(sent.header("openai-organization") == "org-123");
    CHECK(sent.header("openai-project") == "proj_456");
    CHECK_FALSE(sent.has_header("x-api-key"));

    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(sent.body).get(body));
    CHECK(std::string_view(body["model"]) == "gpt-4o-mini");
    simdjson::dom::array messages = body["messages"];
    REQUIRE(messages.size() == 4);
    CHECK(std::string_view(messages.at(0)["role"]) == "system");
    CHECK(std::string_view(messages.at(0)["content"]) == "You are terse.");
    CHECK(std::string_view(messages.at(1)["role"]) == "user");
    CHECK(std::string_view(messages.at(2)["role"]) == "assistant");
    CHECK(std::string_view(messages.at(3)["content"]) == "And Italy?");
    CHECK(int64_t(body["max_completion_tokens"]) == 64);
    CHECK(body["max_tokens"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(double(body["temperature"]) == 0.0);
    CHECK(double(body["top_p"]) == 0.5);
    CHECK(std::string_view(body["stop"].at(0)) == "\n\n");
    CHECK(std::string_view(body["tools"].at(0)["function"]["name"]) == "f");
    CHECK(std::string_view(body["tool_choice"]) == "auto");
    CHECK(body["stream"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(body["top_k"].error() == simdjson::NO_SUCH_FIELD);
}

TEST_CASE("openai: compatible servers: max_tokens field, no key means no Authorization, tool messages",
          "[openai]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    OpenAIOptions o = options_for(server);
    o.api_key.clear();
    o.max_tokens_field = "max_tokens";
    OpenAIBackend local(o);
    Request req = Request::chat("llama3.2", "Weather?");
    req.params.max_tokens = 32;
    req.params.top_k = 20;
    req.messages.push_back({Role::tool, R"( {"tool_call_id":"call_1","content":"18 C"} )"});
    REQUIRE(local.complete(req));
    const RecordedRequest sent = server.last_request();
    CHECK_FALSE(sent.has_header("authorization"));
    simdjson::dom::parser p;
    simdjson::dom::element body;
    REQUIRE_FALSE(p.parse(sent.body).get(body));
    CHECK(int64_t(body["max_tokens"]) == 32);
    CHECK(body["max_completion_tokens"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(int64_t(body["top_k"]) == 20);
    simdjson::dom::element tool = body["messages"].at(1);
    CHECK(std::string_view(tool["role"]) == "tool");
    CHECK(std::string_view(tool["tool_call_id"]) == "call_1");
    CHECK(std::string_view(tool["content"]) == "18 C");

    const std::size_t before = server.request_count();
    Request bad = Request::chat("llama3.2", "x");
    bad.messages.push_back({Role::tool, "18 C"});
    CHECK(local.complete(bad).error().code == ErrorCode::invalid_argument);
    Request bad_choice = Request::chat("llama3.2", "x");
    bad_choice.params.tool_choice_json = "auto"; // not JSON: the string must be quoted
    CHECK(local.complete(bad_choice).error().code == ErrorCode::invalid_argument);
    CHECK(server.request_count() == before);
}

TEST_CASE("openai: the answer is mapped; prompt-cache hits are split out of prompt_tokens", "[openai]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    auto r = OpenAIBackend(options_for(server)).complete(Request::chat("gpt-4o-mini", "x"));
    REQUIRE(r);
    CHECK(r->text == "Paris.");
    CHECK(r->stop_reason == StopReason::end_turn);
    CHECK(r->model == "gpt-4o-mini-2024-07-18");
    CHECK(r->usage.input_tokens == 11u); // 19 prompt tokens, 8 of them cached
    CHECK(r->usage.cache_read_input_tokens == 8u);
    CHECK(r->usage.output_tokens == 3u);
    CHECK_FALSE(r->usage.cache_creation_input_tokens);
    CHECK(r->tool_calls_json.empty());
}

TEST_CASE("openai: finish reasons, tool calls, refusals, several choices", "[openai]") {
    std::string body;
    HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
    OpenAIBackend gpt(options_for(server));
    const Request req = Request::chat("gpt-4o-mini", "x");
    const std::pair<const char*, StopReason> reasons[] = {{"\"stop\"", StopReason::end_turn},
                                                          {"\"length\"", StopReason::max_tokens},
                                                          {"\"content_filter\"", StopReason::refusal},
                                                          {"null", StopReason::unknown},
                                                          {"\"eos\"", StopReason::unknown}};
    for (const auto& [wire, expected] : reasons) {
        body = answer_with(R"({"role":"assistant","content":"x"})", wire);
        auto r = gpt.complete(req);
        REQUIRE(r);
        CHECK(r->stop_reason == expected);
    }

    const std::string calls =
        R"([{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])";
    body = answer_with(R"({"role":"assistant","content":null,"tool_calls":)" + calls + "}", "\"tool_calls\"");
    auto r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->stop_reason == StopReason::tool_use);
    CHECK(r->text.empty());
    CHECK(r->tool_calls_json == calls);

    body =
        answer_with(R"({"role":"assistant","content":null,"refusal":"I can't help with that."})", "\"stop\"");
    r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->stop_reason == StopReason::refusal);
    CHECK(r->text == "I can't help with that.");

    body = R"({"choices":[{"index":0,"message":{"content":"first"},"finish_reason":"stop"},)"
           R"({"index":1,"message":{"content":"second"},"finish_reason":"stop"}]})";
    r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->text == "first");
}

TEST_CASE("openai: usage missing, null or without details is unknown where unreported", "[openai]") {
    std::string body;
    HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
    OpenAIBackend gpt(options_for(server));
    const Request req = Request::chat("gpt-4o-mini", "x");

    body = answer_with(R"({"role":"assistant","content":"hi"})", "\"stop\""); // no usage at all
    auto r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->usage == Usage{});

    body = answer_with(R"({"role":"assistant","content":"hi"})", "\"stop\"", "null");
    r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->usage == Usage{});

    // llama.cpp / Ollama style: counts without prompt_tokens_details.
    body = answer_with(R"({"role":"assistant","content":"hi"})", "\"stop\"",
                       R"({"prompt_tokens":12,"completion_tokens":0,"total_tokens":12})");
    r = gpt.complete(req);
    REQUIRE(r);
    CHECK(r->usage.input_tokens == 12u);
    CHECK(r->usage.output_tokens == 0u);
    CHECK_FALSE(r->usage.cache_read_input_tokens);
}

TEST_CASE("openai: errors in each server's shape map to typed errors", "[openai]") {
    struct Case {
        int status;
        std::string body;
        ErrorCode code;
        const char* message;
        std::size_t requests;
    };
    const Case cases[] = {
        {400, openai_error("Invalid value for 'temperature'", "invalid_request_error", "invalid_value"),
         ErrorCode::invalid_request, "Invalid value for 'temperature'", 1},
        {401,
         openai_error("Incorrect API key provided: sk-proj-****cba.", "invalid_request_error",
                      "invalid_api_key"),
         ErrorCode::authentication, "Incorrect API key provided", 1},
        {403,
         openai_error("Country, region, or territory not supported", "request_forbidden",
                      "unsupported_country_region_territory"),
         ErrorCode::authentication, "not supported", 1},
        {404, openai_error("The model `gpt-9` does not exist", "invalid_request_error", "model_not_found"),
         ErrorCode::invalid_request, "does not exist", 1},
        {422,
         R"({"object":"error","message":"max_tokens must be at least 1","type":"BadRequestError","param":null,"code":422})",
         ErrorCode::invalid_request, "max_tokens must be at least 1", 1}, // older vLLM: flat, int code
        {429,
         openai_error("Rate limit reached for gpt-4o-mini on tokens per min (TPM): Limit 30000", "tokens",
                      "rate_limit_exceeded"),
         ErrorCode::rate_limited, "Rate limit reached", 3},
        {429,
         openai_error("You exceeded your current quota, please check your plan and billing details.",
                      "insufficient_quota", "insufficient_quota"),
         ErrorCode::quota_exhausted, "exceeded your current quota", 1},
        {429, openai_error("Project spend limit reached", "requests", "project_spend_limit_exceeded"),
         ErrorCode::quota_exhausted, "spend limit", 1},
        {500, openai_error("The server had an error while processing your request.", "server_error", ""),
         ErrorCode::backend_unavailable, "server had an error", 3},
        {503, R"({"error":{"code":503,"message":"Loading model","type":"unavailable_error"}})",
         ErrorCode::backend_unavailable, "Loading model", 3}, // llama.cpp while loading
    };
    for (const Case& c : cases) {
        INFO("status " << c.status << " " << c.message);
        HttpServer server([&](const RecordedRequest&) { return json_reply(c.status, c.body); });
        auto r = OpenAIBackend(options_for(server)).complete(Request::chat("gpt-4o-mini", "x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().http_status == c.status);
        CHECK_THAT(r.error().message, Catch::Contains(c.message) && Catch::Contains("req_openai_42"));
        CHECK(server.request_count() == c.requests);
        CHECK_FALSE(leaks_key(r.error().message));
    }
}

TEST_CASE("openai: 429 with retry-after-ms is retried after that many milliseconds", "[openai]") {
    int n = 0;
    HttpServer server([&](const RecordedRequest&) {
        if (++n == 1)
            return json_reply(429, openai_error("Rate limit reached", "requests", "rate_limit_exceeded"),
                              {{"retry-after-ms", "400"}, {"retry-after", "30"}});
        return json_reply(200, paris);
    });
    const auto t0 = Clock::now();
    auto r = OpenAIBackend(options_for(server)).complete(Request::chat("gpt-4o-mini", "x"));
    const auto took = Clock::now() - t0;
    REQUIRE(r);
    CHECK(server.request_count() == 2);
    CHECK(took >= 400ms);
    CHECK(took < 1500ms); // not the 30 s of retry-after
}

TEST_CASE("openai: malformed answers are bad_response and never cached", "[openai]") {
    const std::string bodies[] = {
        paris.substr(0, 120),
        R"({"object":"chat.completion","choices":[]})",
        R"({"choices":[{"index":0,"finish_reason":"stop"}]})",
        R"({"choices":[{"index":0,"message":{"content":["not","a","string"]},"finish_reason":"stop"}]})",
        R"({"choices":[{"index":0,"message":{"content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":"12"}})",
        "not json at all",
    };
    for (const std::string& body : bodies) {
        INFO("body: " << body);
        HttpServer server([&](const RecordedRequest&) { return json_reply(200, body); });
        MemoryStore store;
        Cache cache{Xxh3Key{}, store, ExactOnly{}, ttl::None{}, OpenAIBackend(options_for(server))};
        auto r = cache.invoke(Request::chat("gpt-4o-mini", "x"));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_response);
        CHECK(server.request_count() == 1);
        CHECK(store.stats().entries == 0);
    }
    // A 200 carrying an error object (some proxies do this) is that error, not an answer.
    HttpServer server([](const RecordedRequest&) {
        return json_reply(200, openai_error("upstream overloaded", "server_error", ""));
    });
    auto r = OpenAIBackend(options_for(server)).complete(Request::chat("gpt-4o-mini", "x"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK_THAT(r.error().message, Catch::Contains("upstream overloaded"));
}

TEST_CASE("openai: from_env reads OPENAI_API_KEY and OPENAI_BASE_URL; timeouts and cuts are errors",
          "[openai]") {
    HttpServer server([](const RecordedRequest&) { return json_reply(200, paris); });
    const OpenAIBackend gpt = [&] {
        llmcache_test::ScopedEnv key("OPENAI_API_KEY", kKey.c_str());
        llmcache_test::ScopedEnv url("OPENAI_BASE_URL", (server.url() + "/v1/").c_str());
        return OpenAIBackend::from_env();
    }();
    CHECK(gpt.url() == server.url() + "/v1/chat/completions");
    REQUIRE(gpt.complete(Request::chat("gpt-4o-mini", "x")));
    const bool bearer = server.last_request().header("authorization") == "Bearer " + kKey;
    CHECK(bearer);
    {
        llmcache_test::ScopedEnv url("OPENAI_BASE_URL", nullptr);
        CHECK(OpenAIBackend::from_env().url() == "https://api.openai.com/v1/chat/completions");
    }

    HttpServer slow([](const RecordedRequest&) {
        Reply r = json_reply(200, paris);
        r.delay = 3s;
        return r;
    });
    OpenAIOptions o = options_for(slow);
    o.timeout = 150ms;
    o.retry.max_retries = 1;
    const auto t0 = Clock::now();
    auto timed_out = OpenAIBackend(o).complete(Request::chat("gpt-4o-mini", "x"));
    REQUIRE_FALSE(timed_out);
    CHECK(timed_out.error().code == ErrorCode::backend_timeout);
    CHECK(Clock::now() - t0 < 1500ms);
    CHECK(slow.request_count() == 2);

    HttpServer cut([](const RecordedRequest&) {
        Reply r = json_reply(200, paris);
        r.cut_after = 50;
        return r;
    });
    auto cut_r = OpenAIBackend(options_for(cut)).complete(Request::chat("gpt-4o-mini", "x"));
    REQUIRE_FALSE(cut_r);
    CHECK(cut_r.error().code == ErrorCode::backend_unavailable);
    CHECK(cut.request_count() == 3);
}

TEST_CASE(
    "openai: every string in the body is escaped exactly as append_json_string, and the body is valid JSON",
    "[openai][json]") {
    const std::string samples[] = {
        "plain ascii text",
        "quote \" backslash \\ tab \t newline \n nul " + std::string(1, '\0') + " del \x7f",
        "caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x98\x80 end",
        "bad \xC3 lead, bad \x80 continuation, overlong \xC0\xAF, surrogate \xED\xA0\x80, cut \xE2\x82",
    };
    for (const std::string& s : samples) {
        std::string reference;
        llmcache::detail::append_json_string(reference, s);
        Request req;
        req.model = "gpt-4o-mini";
        req.system = s;
        req.messages = {{Role::user, s}, {Role::assistant, s}};
        req.params.stop_sequences = {s};
        auto body = llmcache::detail::openai::request_body(req, {}, true);
        REQUIRE(body);
        CHECK(body->find(R"({"role":"system","content":)" + reference + "}") != std::string::npos);
        CHECK(body->find(R"({"role":"user","content":)" + reference + "}") != std::string::npos);
        CHECK(body->find(R"({"role":"assistant","content":)" + reference + "}") != std::string::npos);
        CHECK(body->find(R"("stop":[)" + reference + "]") != std::string::npos);
        simdjson::dom::parser p;
        simdjson::dom::element parsed;
        CHECK_FALSE(p.parse(*body).get(parsed));
    }
}
