// Test support: a stand-in for the Upstash Redis REST API, in the test process, that forwards
// every command to a real local redis-server (support/redis_server.hpp) with hiredis, so a REST
// client is exercised end to end against real Redis semantics (TTLs, SCAN, sorted sets, Lua).
//
//     llmcache_test::RedisServer redis;
//     llmcache_test::UpstashStandin upstash(redis.port(), "test-token");
//     llmcache::UpstashRestStore store({.url = upstash.url(), .token = "test-token"});
//     upstash.server().requests();            // what the client sent (see http_server.hpp)
//     upstash.commands();                     // every command forwarded to Redis, as argv
//     upstash.delay = 500ms;                  // answer slowly from now on
//
// Wire format, as the Upstash docs describe it (/work/shared/reference/upstash-redis-rest.md):
// - POST / with a JSON array body (strings or numbers) runs one command: 200 {"result": ...},
//   a Redis error is 400 {"error": "..."}; POST /pipeline runs an array of commands and answers
//   200 with an array of envelopes (errors stay per command). Other paths: 404; other methods: 405.
// - `Authorization: Bearer <token>` is required: anything else is 401 {"error": "Unauthorized"}
//   (no redis command runs). Content-Type must be application/json (400 otherwise, like SRH).
// - Replies: status -> string, integer -> number, nil -> null, arrays nested; bytes that are not
//   UTF-8 become U+FFFD, unless the request has `Upstash-Encoding: base64`: then every string
//   except the status "OK" is base64-encoded (errors never are).
// - Every response carries an `upstash-sync-token` header (a counter), like Upstash does.
// - Redis down (killed, paused past the stand-in's 2 s Redis timeout): 500 {"error": "..."}.
#pragma once

#include "http_server.hpp"

#include <llmcache/llmcache.hpp>

#include <hiredis/hiredis.h>

#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace llmcache_test {

class UpstashStandin {
public:
    UpstashStandin(int redis_port, std::string token)
        : redis_port_(redis_port), token_(std::move(token)),
          server_([this](const RecordedRequest& r) { return handle(r); }) {}

    ~UpstashStandin() {
        server_.stop(); // no handler runs after this
        if (ctx_ != nullptr)
            redisFree(ctx_);
    }
    UpstashStandin(const UpstashStandin&) = delete;
    UpstashStandin& operator=(const UpstashStandin&) = delete;

    std::string url() const { return server_.url(); }
    HttpServer& server() { return server_; }

    /// Every command forwarded to Redis, in order (argv as sent).
    std::vector<std::vector<std::string>> commands() const {
        std::lock_guard lock(mu_);
        return commands_;
    }
    void clear_commands() {
        std::lock_guard lock(mu_);
        commands_.clear();
    }

    /// Delay before every answer (a slow Upstash).
    std::atomic<std::chrono::milliseconds> delay{std::chrono::milliseconds{0}};
    /// Encode "OK" too in base64 mode (what SRH does; Upstash does not).
    std::atomic<bool> encode_ok{false};

private:
    static Reply json_reply(int status, std::string body) {
        Reply r;
        r.status = status;
        r.headers = {{"Content-Type", "application/json"}};
        r.body = std::move(body);
        return r;
    }
    static Reply error_reply(int status, std::string_view message) {
        std::string body = "{\"error\":";
        llmcache::detail::append_json_string(body, message);
        body += "}";
        return json_reply(status, std::move(body));
    }

    Reply handle(const RecordedRequest& r) {
        Reply reply = dispatch(r);
        reply.delay = delay.load();
        reply.headers.emplace_back("upstash-sync-token", std::to_string(++sync_counter_));
        return reply;
    }

    Reply dispatch(const RecordedRequest& r) {
        if (r.header("authorization") != "Bearer " + token_)
            return error_reply(401, "Unauthorized");
        if (r.method != "POST")
            return error_reply(405, "Method not allowed");
        if (r.header("content-type") != "application/json")
            return error_reply(400, "Invalid content type. Expected application/json.");
        const bool base64 = r.header("upstash-encoding") == "base64";
        std::string body = r.body;
        auto doc = llmcache::detail::json_read::parse(body);
        if (!doc || !doc->is_array())
            return error_reply(400, "ERR failed to parse command");
        std::lock_guard lock(mu_);
        if (r.path == "/") {
            std::vector<std::string> argv;
            if (!to_argv(*doc, argv))
                return error_reply(400, "ERR command must be an array of strings or numbers");
            std::string out;
            bool redis_error = false;
            if (!run(argv, base64, out, redis_error))
                return error_reply(500, out);
            return json_reply(redis_error ? 400 : 200, std::move(out));
        }
        if (r.path == "/pipeline") {
            std::string out = "[";
            for (std::size_t i = 0; i < doc->items.size(); ++i) {
                std::vector<std::string> argv;
                if (!to_argv(doc->items[i], argv))
                    return error_reply(400, "ERR each pipeline command must be an array");
                std::string one;
                bool redis_error = false;
                if (!run(argv, base64, one, redis_error))
                    return error_reply(500, one);
                if (i > 0)
                    out += ",";
                out += one;
            }
            out += "]";
            return json_reply(200, std::move(out));
        }
        return error_reply(404, "Endpoint not found");
    }

    static bool to_argv(const llmcache::detail::json_read::Value& v, std::vector<std::string>& argv) {
        using K = llmcache::detail::json_read::Value::Kind;
        if (!v.is_array() || v.items.empty())
            return false;
        for (const auto& a : v.items) {
            if (a.kind == K::string)
                argv.push_back(a.string);
            else if (a.kind == K::integer)
                argv.push_back(std::to_string(a.integer));
            else if (a.kind == K::number) {
                std::string s;
                llmcache::detail::append_json_number(s, a.number);
                argv.push_back(s);
            } else
                return false;
        }
        return true;
    }

    // Runs one command on Redis; `out` gets the envelope JSON. False when Redis is unreachable
    // (then `out` holds the reason).
    bool run(const std::vector<std::string>& argv, bool base64, std::string& out, bool& redis_error) {
        commands_.push_back(argv);
        if (ctx_ == nullptr || ctx_->err != 0) {
            if (ctx_ != nullptr)
                redisFree(ctx_);
            const timeval tv{2, 0};
            ctx_ = redisConnectWithTimeout("127.0.0.1", redis_port_, tv);
            if (ctx_ == nullptr || ctx_->err != 0) {
                out = "SRH: could not connect to Redis";
                return false;
            }
            redisSetTimeout(ctx_, tv);
        }
        std::vector<const char*> args;
        std::vector<std::size_t> lens;
        for (const std::string& a : argv) {
            args.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(ctx_, static_cast<int>(args.size()), args.data(), lens.data()));
        if (reply == nullptr) {
            out = "SRH: Redis connection failed";
            return false;
        }
        llmcache::detail::JsonWriter w;
        w.begin_object();
        if (reply->type == REDIS_REPLY_ERROR) {
            redis_error = true;
            w.key("error").value(std::string_view(reply->str, reply->len));
        } else {
            w.key("result");
            write_reply(w, *reply, base64);
        }
        w.end_object();
        freeReplyObject(reply);
        out = std::move(w).str();
        return true;
    }

    void write_reply(llmcache::detail::JsonWriter& w, const redisReply& r, bool base64) const {
        switch (r.type) {
        case REDIS_REPLY_NIL:
            w.null();
            break;
        case REDIS_REPLY_INTEGER:
            w.value(static_cast<std::int64_t>(r.integer));
            break;
        case REDIS_REPLY_STATUS:
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_ERROR: {
            const std::string_view s(r.str, r.len);
            const bool keep = r.type == REDIS_REPLY_STATUS && s == "OK" && !encode_ok.load();
            if (base64 && !keep)
                w.value(llmcache::detail::base64::encode(s));
            else
                w.value(s); // invalid UTF-8 becomes U+FFFD, as Upstash does
            break;
        }
        case REDIS_REPLY_ARRAY:
            w.begin_array();
            for (std::size_t i = 0; i < r.elements; ++i)
                write_reply(w, *r.element[i], base64);
            w.end_array();
            break;
        default:
            w.null();
        }
    }

    int redis_port_;
    std::string token_;
    mutable std::mutex mu_;
    redisContext* ctx_ = nullptr;
    std::vector<std::vector<std::string>> commands_;
    std::atomic<std::uint64_t> sync_counter_{0};
    HttpServer server_; // last: stopped first, before the members its handler uses
};

} // namespace llmcache_test
