// RedisStore: authentication (password, ACL user), secrets never printed, a non-Redis listener,
// and TLS (trusted CA, untrusted certificate, host name mismatch, explicit verify=false, mutual
// TLS), all against real redis-server processes.
#include "catch.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using llmcache::Error;
using llmcache::ErrorCode;
using llmcache::RedisCircuitState;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache_test::Admin;
using llmcache_test::LogCapture;
using llmcache_test::RedisServer;
using llmcache_test::TestCerts;

namespace {

RedisStoreOptions quick(std::string url, const LogCapture& log) {
    RedisStoreOptions o;
    o.url = std::move(url);
    o.connect_timeout = 1s;
    o.command_timeout = 1s;
    o.log_sink = log.sink();
    return o;
}

/// A TCP listener on a free loopback port that answers every connection with `reply` (or
/// nothing, when empty: it just holds the connection) and closes it.
class FakeListener {
public:
    explicit FakeListener(std::string reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeListener() {
        stop_ = true;
        thread_.join();
        for (int c : held_)
            ::close(c);
        ::close(fd_);
    }
    int port() const { return port_; }
    int accepted() const { return accepted_.load(); }

private:
    void serve() {
        while (!stop_.load()) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) != 1)
                continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0)
                continue;
            accepted_.fetch_add(1);
            if (reply_.empty()) {
                held_.push_back(c);
                continue;
            }
            std::this_thread::sleep_for(10ms); // let the client's handshake arrive first
            (void)!::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
            ::shutdown(c, SHUT_RDWR);
            ::close(c);
        }
    }
    std::string reply_;
    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::vector<int> held_;
    std::thread thread_;
};

} // namespace

TEST_CASE("redis auth: passwords and ACL users; no text ever holds a password", "[redis][auth][secrets]") {
    const std::string server_pw = "Srv-Pa55-7f3a9";
    const std::string user_pw = "Usr-Pa55-c41d2";
    const std::string wrong_pw = "Wrg-Pa55-9e0b8";
    RedisServer server(
        {.config = {"requirepass " + server_pw, "user app on >" + user_pw + " ~llmcache:* +@all"}});
    LogCapture log;
    std::vector<std::string> texts; // every error message and URL rendering we produce

    auto attempt = [&](const std::string& userinfo) {
        RedisStore store(quick(server.url(userinfo), log));
        texts.push_back(store.url());
        auto r = store.get("llmcache:auth:k");
        if (!r)
            texts.push_back(r.error().message);
        auto p = store.put("llmcache:auth:k", "v", std::nullopt);
        if (!p)
            texts.push_back(p.error().message);
        return std::pair{r.has_value() ? std::optional<Error>{} : std::optional(r.error()), store.stats()};
    };

    SECTION("wrong password for the default user") {
        auto [err, st] = attempt(":" + wrong_pw);
        REQUIRE(err);
        CHECK(err->code == ErrorCode::store_rejected);
        CHECK(err->message.find("authentication failed") != std::string::npos);
        CHECK(err->message.find("WRONGPASS") != std::string::npos);
        CHECK(st.errors.auth >= 1);
    }
    SECTION("ACL user with a wrong password") {
        auto [err, st] = attempt("app:" + wrong_pw);
        REQUIRE(err);
        CHECK(err->code == ErrorCode::store_rejected);
        CHECK(err->message.find("authentication failed for user 'app'") != std::string::npos);
        CHECK(st.errors.auth >= 1);
    }
    SECTION("no password at all") {
        auto [err, st] = attempt("");
        REQUIRE(err);
        CHECK(err->message.find("requires authentication") != std::string::npos);
        CHECK(st.errors.auth >= 1);
    }
    SECTION("the password of another user") {
        auto [err, st] = attempt("app:" + server_pw);
        REQUIRE(err);
        CHECK(err->message.find("WRONGPASS") != std::string::npos);
    }
    SECTION("correct credentials work, percent-encoded or not") {
        auto [err, st] = attempt(":" + server_pw);
        CHECK_FALSE(err);
        auto [err2, st2] = attempt("app:" + user_pw);
        CHECK_FALSE(err2);
        CHECK(st2.errors.total() == 0);
        RedisStore encoded(quick(server.url("app:Usr%2DPa55%2Dc41d2"), log));
        CHECK(encoded.get("llmcache:auth:k").has_value());
        // ACL: the user may only touch llmcache:* keys.
        auto denied = encoded.get("other:key");
        REQUIRE_FALSE(denied);
        CHECK(denied.error().message.find("NOPERM") != std::string::npos);
        texts.push_back(denied.error().message);
    }
    SECTION("password changed mid-run: fail open, circuit opens, one log line") {
        RedisStoreOptions o = quick(server.url("app:" + user_pw), log);
        o.circuit.failure_threshold = 2;
        o.circuit.cool_down = 100ms;
        RedisStore store(o);
        REQUIRE(store.put("llmcache:auth:m", "v", std::nullopt));
        Admin admin(server.url(":" + server_pw));
        admin.cmd({"ACL", "SETUSER", "app", "resetpass", ">" + wrong_pw});
        admin.cmd({"CLIENT", "KILL", "USER", "app"}); // open connections were authenticated already
        for (int i = 0; i < 30; ++i) {
            auto r = store.get("llmcache:auth:m");
            CHECK_FALSE(r);
            if (!r)
                texts.push_back(r.error().message);
            std::this_thread::sleep_for(10ms);
        }
        const auto st = store.stats();
        CHECK(st.circuit_opened == 1);
        CHECK(st.errors.circuit_open > 0);
        CHECK(log.count("[auth;") == 1); // the auth failure itself, once
        CHECK(log.count("circuit open") == 1);
        // Put the password back: the probe finds the server usable again.
        admin.cmd({"ACL", "SETUSER", "app", "resetpass", ">" + user_pw});
        bool back = false;
        for (int i = 0; i < 100 && !back; ++i) {
            std::this_thread::sleep_for(20ms);
            back = store.get("llmcache:auth:m").has_value();
        }
        CHECK(back);
        CHECK(store.stats().circuit == RedisCircuitState::closed);
    }

    texts.push_back(log.all());
    for (const std::string& t : texts) {
        INFO(t);
        CHECK(t.find(server_pw) == std::string::npos);
        CHECK(t.find(user_pw) == std::string::npos);
        CHECK(t.find(wrong_pw) == std::string::npos);
        CHECK(t.find("Pa55") == std::string::npos);
    }
}

TEST_CASE("redis connect: a non-Redis listener gives a clear error, quickly", "[redis][connect]") {
    LogCapture log;
    SECTION("an HTTP server") {
        FakeListener http("HTTP/1.1 400 Bad Request\r\n\r\n");
        RedisStore store(quick("redis://:Sekr1t-pw-x@127.0.0.1:" + std::to_string(http.port()), log));
        const auto start = std::chrono::steady_clock::now();
        auto r = store.get("llmcache:k");
        CHECK(std::chrono::steady_clock::now() - start < 1s);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
        CHECK(r.error().message.find("not the Redis protocol") != std::string::npos);
        CHECK(r.error().message.find("127.0.0.1:" + std::to_string(http.port())) != std::string::npos);
        CHECK(r.error().message.find("Sekr1t") == std::string::npos);
        CHECK(log.all().find("Sekr1t") == std::string::npos);
        CHECK(store.stats().errors.protocol == 1);
        CHECK(http.accepted() == 1);
    }
    SECTION("a listener that never answers") {
        FakeListener silent("");
        RedisStoreOptions o = quick("redis://127.0.0.1:" + std::to_string(silent.port()), log);
        o.connect_timeout = 200ms;
        RedisStore store(o);
        const auto start = std::chrono::steady_clock::now();
        auto r = store.get("llmcache:k");
        const auto took = std::chrono::steady_clock::now() - start;
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_timeout);
        CHECK(r.error().message.find("handshake") != std::string::npos);
        CHECK(took >= 190ms);
        CHECK(took < 600ms);
    }
    SECTION("nobody listening") {
        const int port = llmcache_test::free_port();
        RedisStore store(quick("redis://127.0.0.1:" + std::to_string(port), log));
        auto r = store.get("llmcache:k");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
        CHECK(r.error().message.find("Connection refused") != std::string::npos);
        CHECK(store.stats().errors.connect == 1);
        // Right after a failed connect the pool backs off instead of hammering the port.
        auto again = store.get("llmcache:k");
        REQUIRE_FALSE(again);
        CHECK(again.error().message.find("not reconnecting") != std::string::npos);
        CHECK(store.stats().connect_failures == 1);
    }
}

TEST_CASE("redis tls: verified against the test CA; refused otherwise", "[redis][tls]") {
    const TestCerts& certs = TestCerts::get();
    RedisServer server({.tls = true});
    LogCapture log;

    SECTION("trusted CA, by IP address and by host name (SNI)") {
        for (const char* host : {"127.0.0.1", "localhost"}) {
            INFO(host);
            RedisStoreOptions o = quick(server.url({}, host), log);
            o.tls.ca_file = certs.ca_crt;
            RedisStore store(o);
            REQUIRE(store.put("llmcache:tls:k", std::string("tls\0value", 9), 10s));
            auto v = store.get("llmcache:tls:k");
            REQUIRE(v);
            CHECK(v->value_or("") == std::string("tls\0value", 9));
            CHECK(store.stats().errors.total() == 0);
        }
        Admin admin(server.url());
        CHECK(admin.pttl("llmcache:tls:k") > 9000);
    }
    SECTION("the system CA store does not know the test CA") {
        RedisStore store(quick(server.url(), log));
        auto r = store.get("llmcache:tls:k");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
        CHECK(r.error().message.find("certificate verification failed") != std::string::npos);
        CHECK(store.stats().errors.tls == 1);
    }
    SECTION("a certificate from another CA is refused") {
        RedisStoreOptions o = quick(server.url(), log);
        o.tls.ca_file = certs.other_ca_crt;
        RedisStore store(o);
        auto r = store.get("llmcache:tls:k");
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("certificate verification failed") != std::string::npos);
    }
    SECTION("verify = false is explicit, works, and says so in the log") {
        RedisStoreOptions o = quick(server.url(), log);
        o.tls.verify = false;
        RedisStore store(o);
        CHECK(store.put("llmcache:tls:noverify", "v", std::nullopt));
        CHECK(log.count("verification is OFF") == 1);
    }
    SECTION("plain redis:// against the TLS port fails cleanly") {
        RedisStoreOptions o = quick("redis://127.0.0.1:" + std::to_string(server.port()), log);
        o.connect_timeout = 300ms;
        RedisStore store(o);
        auto r = store.get("llmcache:tls:k");
        REQUIRE_FALSE(r);
        CHECK((r.error().code == ErrorCode::store_unavailable || r.error().code == ErrorCode::store_timeout));
    }
}

TEST_CASE("redis tls: host name mismatch refused; server_name and verify=false", "[redis][tls]") {
    const TestCerts& certs = TestCerts::get();
    RedisServer server({.tls = true, .tls_cert = certs.wrong_host_crt, .tls_key = certs.wrong_host_key});
    LogCapture log;
    for (const char* host : {"127.0.0.1", "localhost"}) {
        INFO(host);
        RedisStoreOptions o = quick(server.url({}, host), log);
        o.tls.ca_file = certs.ca_crt;
        RedisStore store(o);
        auto r = store.get("llmcache:tls:k");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::store_unavailable);
        CHECK(r.error().message.find("mismatch") != std::string::npos);
    }
    RedisStoreOptions named = quick(server.url(), log);
    named.tls.ca_file = certs.ca_crt;
    named.tls.server_name = "wrong.example"; // the name the certificate is for
    RedisStore store(named);
    CHECK(store.put("llmcache:tls:named", "v", std::nullopt));

    RedisStoreOptions off = quick(server.url(), log);
    off.tls.ca_file = certs.ca_crt;
    off.tls.verify = false;
    RedisStore unverified(off);
    CHECK(unverified.get("llmcache:tls:named").value_or(std::nullopt).value_or("") == "v");
}

TEST_CASE("redis tls: mutual TLS with a client certificate", "[redis][tls]") {
    const TestCerts& certs = TestCerts::get();
    RedisServer server({.tls = true, .tls_auth_clients = true});
    LogCapture log;
    RedisStoreOptions o = quick(server.url(), log);
    o.tls.ca_file = certs.ca_crt;
    RedisStore without(o);
    auto r = without.get("llmcache:mtls");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::store_unavailable);

    o.tls.cert_file = certs.client_crt;
    o.tls.key_file = certs.client_key;
    RedisStore with(o);
    REQUIRE(with.put("llmcache:mtls", "mutual", std::nullopt));
    CHECK(with.get("llmcache:mtls").value_or(std::nullopt).value_or("") == "mutual");

    o.tls.key_file = certs.server_key; // does not match the certificate
    auto bad = RedisStore::make(o);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("does not match") != std::string::npos);
}
