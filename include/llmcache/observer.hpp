// Observers: how a Cache reports each call (for logs, metrics and the hit rate).
//
// An observer is any type with `void on_call(const CallRecord&) noexcept` (see concepts.hpp).
// Shipped: NullObserver (the default; costs nothing), CallbackObserver (wrap a lambda) and
// JsonLinesObserver (one JSON object per call, with "cache_hit", to a FILE*).
#pragma once

#include "call_record.hpp"
#include "config.hpp"
#include "detail/json_write.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>

LLMCACHE_BEGIN_NAMESPACE

/// Observes nothing; the Cache does not even build the record.
struct NullObserver {
    static constexpr bool enabled = false;
    void on_call(const CallRecord&) noexcept {}
};

/// Calls `f(record)` for every call. `f` must not throw and must be thread-safe.
template <class F>
class CallbackObserver {
public:
    static constexpr bool enabled = true;
    explicit CallbackObserver(F f) : f_(std::move(f)) {}
    void on_call(const CallRecord& rec) noexcept { f_(rec); }

private:
    F f_;
};

template <class F>
CallbackObserver(F) -> CallbackObserver<F>;

/// Formats a record as one line of JSON (no trailing newline): every field a dashboard needs,
/// and never the prompt or the answer.
inline std::string to_json(const CallRecord& r) {
    std::string out = "{\"cache_hit\":";
    out += r.cache_hit ? "true" : "false";
    out += ",\"outcome\":\"";
    out += to_string(r.outcome);
    out += "\",\"semantic\":";
    out += r.semantic ? "true" : "false";
    out += ",\"stored\":";
    out += r.stored ? "true" : "false";
    out += ",\"key\":";
    detail::append_json_string(out, r.key);
    out += ",\"scope\":";
    detail::append_json_string(out, r.scope);
    out += ",\"model\":";
    detail::append_json_string(out, r.model);
    out += ",\"stop_reason\":\"";
    out += to_string(r.stop_reason);
    out += "\",\"latency_us\":";
    out += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(r.latency).count());
    out += ",\"backend_latency_us\":";
    out += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(r.backend_latency).count());
    auto count = [&](const char* name, const std::optional<std::uint64_t>& v) {
        out += ",\"";
        out += name;
        out += "\":";
        out += v ? std::to_string(*v) : "null";
    };
    count("input_tokens", r.usage.input_tokens);
    count("output_tokens", r.usage.output_tokens);
    out += ",\"cost_usd\":";
    if (r.cost_usd) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.8f", *r.cost_usd);
        out += buf;
    } else {
        out += "null";
    }
    if (r.error) {
        out += ",\"error\":\"";
        out += to_string(*r.error);
        out += '"';
    }
    if (r.store_error) {
        out += ",\"store_error\":\"";
        out += to_string(*r.store_error);
        out += '"';
    }
    out += '}';
    return out;
}

/// Writes one JSON line per call to a FILE* (stderr by default); lines never interleave.
class JsonLinesObserver {
public:
    static constexpr bool enabled = true;
    explicit JsonLinesObserver(std::FILE* out = stderr) : out_(out) {}
    JsonLinesObserver(const JsonLinesObserver& other) : out_(other.out_) {}

    void on_call(const CallRecord& rec) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::string line = to_json(rec);
            line.push_back('\n');
            std::lock_guard lock(mutex_);
            std::fwrite(line.data(), 1, line.size(), out_);
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            // Logging must never fail the call it describes.
        }
#endif
    }

private:
    std::FILE* out_;
    std::mutex mutex_;
};

LLMCACHE_END_NAMESPACE
