// The HTTP layer (detail/http/client.hpp) against the local test server: what the client sends,
// status codes passed through, timeouts, refused and cut connections, streaming and aborting,
// connection reuse, proxies from the environment, and no secrets in error text.
#include "catch.hpp"
#include "support/http_server.hpp"
#include "support/redis_server.hpp" // free_port, and a TLS server
#include "support/scoped_env.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::http::HttpRequest;
using llmcache_test::HttpServer;
using llmcache_test::RecordedRequest;
using llmcache_test::Reply;
using llmcache_test::ScopedEnv;
using Clock = std::chrono::steady_clock;

namespace {

Reply text_reply(int status, std::string body) {
    Reply r;
    r.status = status;
    r.headers = {{"Content-Type", "text/plain"}, {"X-Server-Tag", "  Tagged  "}};
    r.body = std::move(body);
    return r;
}

} // namespace

TEST_CASE("http: POST sends method, path, headers and body exactly; the response comes back whole",
          "[http]") {
    HttpServer server([](const RecordedRequest& r) { return text_reply(201, "echo:" + r.body); });
    HttpRequest req;
    req.url = server.url() + "/v1/things?x=1";
    req.headers = {
        {"Content-Type", "application/json"}, {"X-Custom", "value 1"}, {"Authorization", "Bearer k"}};
    req.body = std::string("{\"a\":\"b\\u0000\"}\n", 16);
    const auto res = llmcache::http::perform(req);
    REQUIRE(res);
    CHECK(res->status == 201);
    CHECK(res->body == "echo:" + req.body);
    CHECK(res->header("content-type") == "text/plain");
    CHECK(res->header("x-server-tag") == "Tagged"); // names lower-cased, values trimmed
    CHECK(res->header("absent").empty());

    const RecordedRequest seen = server.last_request();
    CHECK(seen.method == "POST");
    CHECK(seen.target == "/v1/things?x=1");
    CHECK(seen.body == req.body);
    CHECK(seen.header("content-type") == "application/json");
    CHECK(seen.header("x-custom") == "value 1");
    CHECK(seen.header("authorization") == "Bearer k");
    CHECK(seen.header("content-length") == std::to_string(req.body.size()));
    CHECK_FALSE(seen.has_header("expect")); // no 100-continue round trip
    CHECK(seen.header("accept-encoding").find("gzip") != std::string::npos);
}

TEST_CASE("http: GET, PUT and DELETE; a body without Content-Type is not sent as a form", "[http]") {
    HttpServer server([](const RecordedRequest& r) { return text_reply(200, r.method); });
    for (const char* method : {"GET", "PUT", "DELETE"}) {
        HttpRequest req;
        req.method = method;
        req.url = server.url() + "/m";
        if (std::string(method) == "PUT")
            req.body = "payload";
        const auto res = llmcache::http::perform(req);
        REQUIRE(res);
        CHECK(res->body == method);
        CHECK(server.last_request().method == method);
    }
    const RecordedRequest put = server.requests()[1];
    CHECK(put.body == "payload");
    CHECK_FALSE(put.has_header("content-type"));
}

TEST_CASE("http: every status is a response, not an error", "[http]") {
    int next_status = 0;
    HttpServer server([&](const RecordedRequest&) { return text_reply(next_status, "status body"); });
    for (int status : {200, 204, 400, 401, 404, 429, 500, 503}) {
        next_status = status;
        const auto res = llmcache::http::perform(HttpRequest{.url = server.url() + "/s", .body = "x"});
        REQUIRE(res);
        CHECK(res->status == status);
        if (status != 204)
            CHECK(res->body == "status body");
    }
}

TEST_CASE("http: a server slower than the timeout gives backend_timeout, promptly", "[http]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r = text_reply(200, "late");
        r.delay = 3s;
        return r;
    });
    const auto start = Clock::now();
    const auto res = llmcache::http::perform(HttpRequest{.url = server.url() + "/slow", .timeout = 200ms});
    const auto elapsed = Clock::now() - start;
    REQUIRE_FALSE(res);
    CHECK(res.error().code == ErrorCode::backend_timeout);
    CHECK(res.error().transient());
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < 1500ms);
}

TEST_CASE("http: idle_timeout ends a stalled transfer early, and spares a slow but steady one", "[http]") {
    SECTION("no byte for longer than idle_timeout: backend_timeout long before `timeout`") {
        HttpServer server([](const RecordedRequest&) {
            Reply r;
            r.headers = {{"Content-Type", "text/event-stream"}};
            r.chunks = {"data: late\n\n"};
            r.chunk_delay = 4s; // headers at once, then silence
            return r;
        });
        std::string received;
        const auto start = Clock::now();
        const auto res = llmcache::http::perform_streaming(
            HttpRequest{.url = server.url() + "/stall", .timeout = 20s, .idle_timeout = 1s},
            [&](std::string_view b) {
                received.append(b);
                return true;
            });
        const auto elapsed = Clock::now() - start;
        REQUIRE_FALSE(res);
        CHECK(res.error().code == ErrorCode::backend_timeout);
        CHECK(received.empty());
        CHECK(elapsed >= 900ms);
        CHECK(elapsed < 3500ms);
    }
    SECTION("a byte every second never trips a 3 s idle limit, even past 3 s in total") {
        HttpServer server([](const RecordedRequest&) {
            Reply r;
            r.headers = {{"Content-Type", "text/event-stream"}};
            r.chunks = {"data: 1\n\n", "data: 2\n\n", "data: 3\n\n", "data: 4\n\n"};
            r.chunk_delay = 1s;
            return r;
        });
        std::string received;
        const auto res = llmcache::http::perform_streaming(
            HttpRequest{.url = server.url() + "/steady", .timeout = 20s, .idle_timeout = 3s},
            [&](std::string_view b) {
                received.append(b);
                return true;
            });
        REQUIRE(res);
        CHECK(received == "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n");
    }
}

TEST_CASE("http: a refused connection gives backend_unavailable with the host in the message", "[http]") {
    const int port = llmcache_test::free_port(); // nothing listens there
    const auto res = llmcache::http::perform(
        HttpRequest{.url = "http://127.0.0.1:" + std::to_string(port) + "/x", .connect_timeout = 2s});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == ErrorCode::backend_unavailable);
    CHECK(res.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}

TEST_CASE("http: a connection cut mid-body is an error, not a short body", "[http]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r = text_reply(200, std::string(10000, 'z'));
        r.cut_after = 100;
        return r;
    });
    const auto res = llmcache::http::perform(HttpRequest{.url = server.url() + "/cut"});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == ErrorCode::backend_unavailable);
}

TEST_CASE("http: a body over max_response_bytes stops with bad_response", "[http]") {
    HttpServer server([](const RecordedRequest&) { return text_reply(200, std::string(5000, 'b')); });
    HttpRequest req{.url = server.url() + "/big"};
    req.max_response_bytes = 4096;
    const auto res = llmcache::http::perform(req);
    REQUIRE_FALSE(res);
    CHECK(res.error().code == ErrorCode::bad_response);
    req.max_response_bytes = 5000;
    const auto ok = llmcache::http::perform(req);
    REQUIRE(ok);
    CHECK(ok->body.size() == 5000);
}

TEST_CASE("http: streaming delivers chunks in order as they arrive, and can abort", "[http]") {
    HttpServer server([](const RecordedRequest&) {
        Reply r;
        r.headers = {{"Content-Type", "text/event-stream"}};
        r.chunks = {"data: one\n\n", "data: two\n\n", "data: three\n\n"};
        r.chunk_delay = 60ms;
        return r;
    });
    SECTION("all chunks, in order, spread over time") {
        std::string received;
        std::vector<Clock::time_point> arrivals;
        const auto res = llmcache::http::perform_streaming(HttpRequest{.url = server.url() + "/sse"},
                                                           [&](std::string_view b) {
                                                               received.append(b);
                                                               arrivals.push_back(Clock::now());
                                                               return true;
                                                           });
        REQUIRE(res);
        CHECK(res->status == 200);
        CHECK(res->header("content-type") == "text/event-stream");
        CHECK(res->body.empty());
        CHECK(received == "data: one\n\ndata: two\n\ndata: three\n\n");
        REQUIRE(arrivals.size() >= 2); // not one buffered delivery at the end
        CHECK(arrivals.back() - arrivals.front() >= 80ms);
    }
    SECTION("returning false stops the transfer early") {
        std::string received;
        const auto start = Clock::now();
        const auto res = llmcache::http::perform_streaming(HttpRequest{.url = server.url() + "/sse"},
                                                           [&](std::string_view b) {
                                                               received.append(b);
                                                               return false;
                                                           });
        REQUIRE(res); // the caller stopped: status and headers so far, not an error
        CHECK(res->status == 200);
        CHECK(received == "data: one\n\n");
        CHECK(Clock::now() - start < 150ms); // did not wait for the other chunks
    }
}

TEST_CASE("http: consecutive requests on one thread reuse one keep-alive connection", "[http]") {
    HttpServer server([](const RecordedRequest& r) { return text_reply(200, r.body); });
    for (int i = 0; i < 5; ++i) {
        const auto res =
            llmcache::http::perform(HttpRequest{.url = server.url() + "/k", .body = std::to_string(i)});
        REQUIRE(res);
        CHECK(res->body == std::to_string(i));
    }
    CHECK(server.request_count() == 5);
    CHECK(server.connections() == 1);
    for (const RecordedRequest& r : server.requests())
        CHECK(r.connection == 1);

    // Another thread has its own handle, hence its own connection.
    std::thread([&] {
        REQUIRE(llmcache::http::perform(HttpRequest{.url = server.url() + "/k", .body = "t"}));
    }).join();
    CHECK(server.connections() == 2);
}

TEST_CASE("http: a request from inside a streaming callback works (nested handle)", "[http]") {
    HttpServer server([](const RecordedRequest& r) {
        if (r.path == "/inner")
            return text_reply(200, "inner");
        Reply s;
        s.chunks = {"a", "b"};
        return s;
    });
    std::string inner;
    const auto res =
        llmcache::http::perform_streaming(HttpRequest{.url = server.url() + "/outer"}, [&](std::string_view) {
            if (inner.empty()) {
                const auto r = llmcache::http::perform(HttpRequest{.url = server.url() + "/inner"});
                inner = r ? r->body : "failed";
            }
            return true;
        });
    REQUIRE(res);
    CHECK(inner == "inner");
}

TEST_CASE("http: http_proxy from the environment is honoured (absolute-URI request to the proxy)", "[http]") {
    HttpServer proxy([](const RecordedRequest&) { return text_reply(200, "via proxy"); });
    const std::string proxy_url = proxy.url();
    {
        ScopedEnv http_proxy("http_proxy", proxy_url.c_str());
        ScopedEnv no_proxy_lower("no_proxy", nullptr);
        ScopedEnv no_proxy_upper("NO_PROXY", nullptr);
        const auto res = llmcache::http::perform(HttpRequest{
            .method = "GET", .url = "http://upstream.invalid:8080/v1/x?q=2", .connect_timeout = 2s});
        REQUIRE(res);
        CHECK(res->body == "via proxy");
        const RecordedRequest seen = proxy.last_request();
        CHECK(seen.target == "http://upstream.invalid:8080/v1/x?q=2");
        CHECK(seen.header("host") == "upstream.invalid:8080");
    }
    // no_proxy exempts a host: the request then goes directly (and fails: .invalid does not resolve).
    {
        ScopedEnv http_proxy("http_proxy", proxy_url.c_str());
        ScopedEnv no_proxy_lower("no_proxy", "upstream.invalid");
        const auto before = proxy.request_count();
        const auto res = llmcache::http::perform(
            HttpRequest{.method = "GET", .url = "http://upstream.invalid:8080/v1/x", .connect_timeout = 2s});
        CHECK_FALSE(res);
        CHECK(proxy.request_count() == before);
    }
}

TEST_CASE("http: error messages carry no credentials, header values, path or query", "[http]") {
    const int port = llmcache_test::free_port();
    const std::string secret = "sk-test-SECRET-0123456789";
    HttpRequest req;
    req.url = "http://user:" + secret + "pw@127.0.0.1:" + std::to_string(port) + "/v1/" + secret +
              "?_token=" + secret;
    req.headers = {{"Authorization", "Bearer " + secret}, {"x-api-key", secret}};
    req.connect_timeout = 2s;
    const auto res = llmcache::http::perform(req);
    REQUIRE_FALSE(res);
    CHECK(res.error().message.find(secret) == std::string::npos);
    CHECK(res.error().message.find("SECRET") == std::string::npos);
    CHECK(res.error().message.find("user") == std::string::npos);
    CHECK(res.error().message.find("127.0.0.1") != std::string::npos);

    HttpServer slow([](const RecordedRequest&) {
        Reply r;
        r.delay = 2s;
        return r;
    });
    req.url = "http://user:" + secret + "@127.0.0.1:" + std::to_string(slow.port()) + "/p?k=" + secret;
    req.timeout = 100ms;
    const auto timed_out = llmcache::http::perform(req);
    REQUIRE_FALSE(timed_out);
    CHECK(timed_out.error().code == ErrorCode::backend_timeout);
    CHECK(timed_out.error().message.find("SECRET") == std::string::npos);
}

TEST_CASE("http: chunked responses and concurrent clients", "[http]") {
    HttpServer server([](const RecordedRequest& r) {
        Reply reply;
        reply.chunks = {"part1-", "part2-", r.body};
        return reply;
    });
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                const std::string body = std::to_string(t) + ":" + std::to_string(i);
                const auto res =
                    llmcache::http::perform(HttpRequest{.url = server.url() + "/c", .body = body});
                if (res && res->body == "part1-part2-" + body)
                    ++ok;
            }
        });
    for (auto& th : threads)
        th.join();
    CHECK(ok == 40);
    CHECK(server.connections() == 4); // one per thread, each reused
}

TEST_CASE("http: TLS verification is on (a certificate from an unknown CA is refused)", "[http]") {
    // A TLS server whose certificate (for 127.0.0.1) is signed by the tests' own CA, which is not
    // in the system store: the handshake must fail on verification. (A redis-server speaks TLS
    // here; with verification off the handshake would pass and the HTTP exchange fail instead.)
    llmcache_test::RedisServer tls({.tls = true});
    const auto res =
        llmcache::http::perform(HttpRequest{.method = "GET",
                                            .url = "https://127.0.0.1:" + std::to_string(tls.port()) + "/",
                                            .connect_timeout = 5s,
                                            .timeout = 5s});
    REQUIRE_FALSE(res);
    CHECK(res.error().code == ErrorCode::backend_unavailable);
    INFO(res.error().message);
    CHECK(res.error().message.find("certificate") != std::string::npos);
}
