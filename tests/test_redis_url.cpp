// Redis URL parsing and password redaction (no server needed).
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using llmcache::ErrorCode;
using llmcache::detail::redis::default_url;
using llmcache::detail::redis::parse_url;
using llmcache::detail::redis::redact_url;
using llmcache::detail::redis::Transport;
using namespace std::chrono_literals;

TEST_CASE("redis url: host, port, database and defaults", "[redis][url]") {
    auto u = parse_url("redis://localhost");
    REQUIRE(u);
    CHECK(u->transport == Transport::tcp);
    CHECK(u->host == "localhost");
    CHECK(u->port == 6379);
    CHECK(u->db == 0);
    CHECK(u->username.empty());
    CHECK(u->password.empty());

    u = parse_url("redis://cache.internal:6380/2");
    REQUIRE(u);
    CHECK(u->host == "cache.internal");
    CHECK(u->port == 6380);
    CHECK(u->db == 2);
    CHECK(u->endpoint() == "cache.internal:6380");

    u = parse_url("redis://");
    REQUIRE(u);
    CHECK(u->host == "localhost");
    CHECK(u->port == 6379);

    u = parse_url("redis://127.0.0.1:7000/");
    REQUIRE(u);
    CHECK(u->host == "127.0.0.1");
    CHECK(u->port == 7000);
    CHECK(u->db == 0);

    u = parse_url("REDIS://h:1");
    REQUIRE(u);
    CHECK(u->port == 1);
}

TEST_CASE("redis url: user and password are percent-decoded", "[redis][url]") {
    auto u = parse_url("redis://app:p%40ss%3Aw%2Frd@h:6379/1");
    REQUIRE(u);
    CHECK(u->username == "app");
    CHECK(u->password == "p@ss:w/rd");
    CHECK(u->db == 1);

    u = parse_url("redis://:only-password@h");
    REQUIRE(u);
    CHECK(u->username.empty());
    CHECK(u->password == "only-password");

    u = parse_url("redis://us%65r:pw@h");
    REQUIRE(u);
    CHECK(u->username == "user");
}

TEST_CASE("redis url: TLS, IPv6 literals and unix sockets", "[redis][url]") {
    auto u = parse_url("rediss://app:pw@cache.example.com:6380/3");
    REQUIRE(u);
    CHECK(u->transport == Transport::tls);
    CHECK(u->tls());
    CHECK(u->port == 6380);
    CHECK(u->db == 3);

    u = parse_url("redis://[::1]:6390/4");
    REQUIRE(u);
    CHECK(u->host == "::1");
    CHECK(u->port == 6390);
    CHECK(u->db == 4);
    CHECK(u->endpoint() == "[::1]:6390");

    u = parse_url("rediss://[2001:db8::7]");
    REQUIRE(u);
    CHECK(u->host == "2001:db8::7");
    CHECK(u->port == 6379);

    u = parse_url("unix:///var/run/redis/redis.sock?db=5");
    REQUIRE(u);
    CHECK(u->transport == Transport::unix_socket);
    CHECK(u->path == "/var/run/redis/redis.sock");
    CHECK(u->db == 5);
    CHECK(u->endpoint() == "unix:/var/run/redis/redis.sock");

    for (const char* alias : {"redis+unix:///tmp/r.sock", "redis-socket:///tmp/r.sock"}) {
        u = parse_url(alias);
        REQUIRE(u);
        CHECK(u->transport == Transport::unix_socket);
        CHECK(u->path == "/tmp/r.sock");
    }

    u = parse_url("unix://app:s%3Fcret@/tmp/r%20x.sock");
    REQUIRE(u);
    CHECK(u->username == "app");
    CHECK(u->password == "s?cret");
    CHECK(u->path == "/tmp/r x.sock");

    u = parse_url("unix:///tmp/r.sock?password=pw&db=1");
    REQUIRE(u);
    CHECK(u->password == "pw");
    CHECK(u->db == 1);
}

TEST_CASE("redis url: query options", "[redis][url]") {
    auto u = parse_url("redis://h/1?connect_timeout=250ms&command_timeout=2s&pool_size=4&client_name=svc-a");
    REQUIRE(u);
    CHECK(u->connect_timeout == 250ms);
    CHECK(u->command_timeout == 2000ms);
    CHECK(u->pool_size == std::size_t{4});
    CHECK(u->client_name == std::string("svc-a"));
    CHECK(u->db == 1);

    u = parse_url("redis://h?timeout=75ms");
    REQUIRE(u);
    CHECK(u->command_timeout == 75ms);
}

TEST_CASE("redis url: malformed URLs are refused with a clear reason", "[redis][url]") {
    struct Case {
        const char* url;
        const char* reason;
    };
    const std::vector<Case> cases = {
        {"localhost:6379", "scheme"},
        {"http://localhost", "unknown scheme"},
        {"redis://h:0", "port"},
        {"redis://h:65536", "port"},
        {"redis://h:", "empty port"},
        {"redis://h/abc", "database number"},
        {"redis://h/-1", "database number"},
        {"redis://h/1/2", "database number"},
        {"redis://[::1", "IPv6"},
        {"redis://::1:6379", "IPv6"},
        {"redis://h?verify=false", "TLS verification"},
        {"rediss://h?ssl_cert_reqs=none", "TLS verification"},
        {"rediss://h?insecure=1", "TLS verification"},
        {"redis://h?frobnicate=1", "unknown query option"},
        {"redis://h?connect_timeout=5", "unit"},
        {"redis://h?pool_size=0", "pool_size"},
        {"redis://h?db=x", "db"},
        {"redis://h/2?db=3", "twice"},
        {"redis://u:p%zz@h", "percent-escape"},
        {"redis://u:p%4@h", "percent-escape"},
        {"redis://user@h", "needs a password"},
        {"unix://relative.sock", "no host"},
        {"unix://", "absolute"},
        {"redis://h#frag", "fragment"},
        {"redis://bad host", "not allowed"},
    };
    for (const Case& c : cases) {
        INFO(c.url);
        auto u = parse_url(c.url);
        REQUIRE_FALSE(u);
        CHECK(u.error().code == ErrorCode::invalid_argument);
        CHECK(u.error().message.find(c.reason) != std::string::npos);
        CHECK(u.error().message.find("invalid Redis URL") != std::string::npos);
    }
}

TEST_CASE("redis url: no error text ever holds the password", "[redis][url][secrets]") {
    const std::string pw = "Hunter2-Secret";
    const std::vector<std::string> urls = {
        "redis://app:" + pw + "@h:0",                 // bad port
        "redis://app:" + pw + "@h/notadb",            // bad db
        "redis://app:" + pw + "@h?verify=false",      // refused option
        "redis://app:" + pw + "@h?what=1",            // unknown option
        "rediss://:" + pw + "@[::1",                  // bad IPv6
        "redis://app:" + pw + "/x@h",                 // unencoded '/' in the password
        "redis://app:" + pw,                          // no '@': the password sits where the port goes
        "redis://app:" + pw + "%zz@h",                // bad escape next to the password
        "unix://app:" + pw + "@/tmp/x.sock?db=no",    // unix form
        "unix:///tmp/x.sock?password=" + pw + "&q=1", // password as a query option
        "ftp://app:" + pw + "@h",                     // bad scheme
    };
    for (const std::string& url : urls) {
        INFO(redact_url(url));
        auto u = parse_url(url);
        REQUIRE_FALSE(u);
        CHECK(u.error().message.find(pw) == std::string::npos);
        CHECK(u.error().message.find("Hunter2") == std::string::npos);
        CHECK(redact_url(url).find("Hunter2") == std::string::npos);
#if LLMCACHE_HAS_EXCEPTIONS
        llmcache::RedisStoreOptions o;
        o.url = url;
        try {
            llmcache::RedisStore store(o);
            FAIL("a bad URL must be refused");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("Hunter2") == std::string::npos);
        }
#endif
        auto made = llmcache::RedisStore::make(llmcache::RedisStoreOptions{.url = url});
        REQUIRE_FALSE(made);
        CHECK(made.error().message.find("Hunter2") == std::string::npos);
    }

    CHECK(redact_url("redis://app:" + pw + "@h:1/0") == "redis://app:***@h:1/0");
    CHECK(redact_url("redis://h:6379/0") == "redis://h:6379/0");
    auto u = parse_url("rediss://app:" + pw + "@h:6380/2");
    REQUIRE(u);
    CHECK(u->display() == "rediss://app:***@h:6380/2");
    llmcache::RedisStore store(llmcache::RedisStoreOptions{.url = "redis://app:" + pw + "@127.0.0.1:1/2"});
    CHECK(store.url() == "redis://app:***@127.0.0.1:1/2");
}

TEST_CASE("redis url: REDIS_URL is the default", "[redis][url]") {
    const char* old = std::getenv("REDIS_URL");
    const std::string saved = old != nullptr ? old : "";
    ::setenv("REDIS_URL", "redis://from-env:6390/7", 1);
    CHECK(default_url() == "redis://from-env:6390/7");
    llmcache::RedisStore store; // parses $REDIS_URL, does not connect
    CHECK(store.url() == "redis://from-env:6390/7");
    ::unsetenv("REDIS_URL");
    CHECK(default_url() == "redis://localhost:6379");
    if (old != nullptr)
        ::setenv("REDIS_URL", saved.c_str(), 1);
}

TEST_CASE("redis store: bad TLS files are reported at construction", "[redis][url]") {
    llmcache::RedisStoreOptions o;
    o.url = "rediss://127.0.0.1:1";
    o.tls.ca_file = "/nonexistent/ca.pem";
    auto made = llmcache::RedisStore::make(o);
    REQUIRE_FALSE(made);
    CHECK(made.error().code == ErrorCode::invalid_argument);
    CHECK(made.error().message.find("CA file") != std::string::npos);

    o.tls.ca_file.clear();
    o.tls.cert_file = "/nonexistent/client.pem";
    made = llmcache::RedisStore::make(o);
    REQUIRE_FALSE(made);
    CHECK(made.error().message.find("key_file") != std::string::npos);
}
