// Helpers shared by the Redis tests: a direct admin connection to a test server (through
// llmcache's own connection layer), a log capture, and a model that counts its calls.
#pragma once

#include "redis_server.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace llmcache_test {

namespace lr = llmcache::detail::redis;

/// A connection for inspecting and poking a test server (PTTL, TYPE, DEBUG SLEEP, ...). Throws
/// on connection trouble: test code only.
class Admin {
public:
    /// `sentinel`: the other end is a Redis Sentinel (for SENTINEL commands).
    explicit Admin(const std::string& url, const llmcache::RedisTlsOptions& tls = {}, bool sentinel = false) {
        auto u = lr::parse_url(url);
        if (!u)
            throw std::runtime_error(u.error().message);
        lr::ConnectOptions o;
        o.connect_timeout = std::chrono::seconds(5);
        o.client_name = "llmcache-test-admin";
        o.allow_sentinel = sentinel;
        if (u->tls()) {
            lr::TlsConfig t;
            t.ca_file = tls.ca_file.empty() ? TestCerts::get().ca_crt : tls.ca_file;
            t.verify = tls.verify;
            auto ctx = lr::TlsContext::create(t);
            if (!ctx)
                throw std::runtime_error(ctx.error().message);
            o.tls = *ctx;
        }
        auto c = lr::Connection::open(*u, o);
        if (!c)
            throw std::runtime_error(c.error().error.message);
        conn_ = std::move(*c);
    }

    lr::Reply cmd(std::initializer_list<std::string_view> args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        auto r = conn_->command(args, lr::Clock::now() + timeout);
        if (!r)
            throw std::runtime_error(r.error().error.message);
        conn_->finish_request();
        return std::move(*r);
    }
    long long integer(std::initializer_list<std::string_view> args) {
        auto r = cmd(args);
        if (r->type != REDIS_REPLY_INTEGER)
            throw std::runtime_error("expected an integer reply");
        return r->integer;
    }
    std::string text(std::initializer_list<std::string_view> args) {
        auto r = cmd(args);
        if (r->type == REDIS_REPLY_NIL)
            return "(nil)";
        return std::string(lr::reply_text(*r));
    }
    long long pttl(std::string_view key) { return integer({"PTTL", key}); }
    std::string type(std::string_view key) { return text({"TYPE", key}); }
    long long dbsize() { return integer({"DBSIZE"}); }

private:
    std::unique_ptr<lr::Connection> conn_;
};

/// Options for a RedisStore on a test server, with generous timeouts (the test machine is shared).
inline llmcache::RedisStoreOptions store_options(const RedisServer& s) {
    llmcache::RedisStoreOptions o;
    o.url = s.url();
    o.command_timeout = std::chrono::seconds(2);
    o.connect_timeout = std::chrono::seconds(2);
    return o;
}

/// Collects log lines (the sink may be called from several threads).
struct LogCapture {
    struct Lines {
        std::mutex mu;
        std::vector<std::string> lines;
    };
    std::shared_ptr<Lines> data = std::make_shared<Lines>();

    std::function<void(std::string_view)> sink() const {
        auto d = data;
        return [d](std::string_view line) {
            std::lock_guard lock(d->mu);
            d->lines.emplace_back(line);
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(data->mu);
        return data->lines;
    }
    std::size_t count(std::string_view needle) const {
        std::size_t n = 0;
        for (const std::string& l : lines())
            if (l.find(needle) != std::string::npos)
                ++n;
        return n;
    }
    std::string all() const {
        std::string out;
        for (const std::string& l : lines())
            out += l + "\n";
        return out;
    }
};

/// The answer the fake model gives to a prompt; tests check every answer against it.
inline std::string answer_for(std::string_view prompt) {
    return "answer to [" + std::string(prompt) + "]";
}

/// A model that answers answer_for(prompt) and counts its calls.
struct CountingModel {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    std::size_t pad = 0; ///< extra answer bytes (to make entries bigger)

    llmcache::Response operator()(const llmcache::Request& req) const {
        calls->fetch_add(1);
        llmcache::Response r;
        r.text = answer_for(req.messages.back().content) + std::string(pad, '.');
        r.stop_reason = llmcache::StopReason::end_turn;
        r.model = req.model;
        return r;
    }
};

inline llmcache::Request prompt(std::string_view text, std::string_view scope = {}) {
    return llmcache::Request::chat("test-model", std::string(text), {}, std::string(scope));
}

using RedisCache = llmcache::Cache<llmcache::Xxh3Key<>, llmcache::RedisStore, llmcache::ExactOnly,
                                   llmcache::ttl::Fixed, llmcache::CallableBackend<CountingModel>>;

inline std::unique_ptr<RedisCache> make_cache(llmcache::RedisStore store, CountingModel model,
                                              std::chrono::milliseconds ttl = std::chrono::minutes(10)) {
    return std::make_unique<RedisCache>(llmcache::Xxh3Key<>{}, std::move(store), llmcache::ExactOnly{},
                                        llmcache::ttl::Fixed{ttl}, llmcache::CallableBackend{model});
}

} // namespace llmcache_test
