// How RedisStore and RedisClusterStore report failures: one shared reporter per store.
//
// It counts failures by kind (for stats()), tells a server's circuit breaker what an outcome
// means and logs the breaker's state changes, logs the first failure of each kind once per
// episode (a later success of the right sort starts a new episode), scrubs the passwords out of
// every message, and owns the log sink (default: a line on stderr). The stores differ only in
// wording ("Redis answers again" / "the node answers again") and in what a dead server makes
// them do besides (the cluster store asks for a new slot map), which they pass in.
#pragma once

#include "../../config.hpp"
#include "../../error.hpp"
#include "connection.hpp"
#include "pool.hpp"
#include "url.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

struct ReporterOptions {
    std::function<void(std::string_view)> sink{};        ///< empty: a line on stderr
    std::vector<std::string> secrets{};                  ///< replaced by "***" in every message
    std::string_view fail_fast = "operations fail fast"; ///< said when a circuit opens
    std::string_view answers = "Redis answers again";    ///< said when it closes again
};

class Reporter {
public:
    Reporter() = default;
    explicit Reporter(ReporterOptions o) { configure(std::move(o)); }
    Reporter(const Reporter&) = delete;
    Reporter& operator=(const Reporter&) = delete;

    /// Sets sink, secrets and wording; before the store is used (not thread-safe).
    void configure(ReporterOptions o) {
        std::erase(o.secrets, std::string());
        secrets_ = std::move(o.secrets);
        fail_fast_ = o.fail_fast;
        answers_ = o.answers;
        set_sink(std::move(o.sink));
    }

    /// Replaces the log sink (empty: stderr). Thread-safe.
    void set_sink(std::function<void(std::string_view)> sink) noexcept {
        std::lock_guard lock(log_mu_);
        sink_ = std::move(sink);
    }

    // --- outcomes of one request on one server ------------------------------------------------
    /// The server answered: the breaker hears it, and failures that this success disproves
    /// (the server is reachable; for a write, it also takes writes) may be logged again.
    void succeeded(CircuitBreaker& breaker, CircuitBreaker::Admit admit, bool write, const Url& server) {
        if (breaker.on_success(admit) == CircuitBreaker::Change::closed)
            closed(server);
        if (logged_count_.load(std::memory_order_relaxed) == 0)
            return;
        for (std::size_t k = 0; k < failure_kinds; ++k) {
            const auto kind = static_cast<Failure>(k);
            const bool clears = server_unusable(kind) || kind == Failure::pool_timeout ||
                                (write && (kind == Failure::oom || kind == Failure::readonly ||
                                           kind == Failure::misconf || kind == Failure::noperm));
            if (clears && logged_[k].exchange(false, std::memory_order_relaxed))
                logged_count_.fetch_sub(1, std::memory_order_relaxed);
        }
    }

    /// The request failed: counted, its message scrubbed, the breaker told (a refusal still
    /// means the server answers), state changes and the first failure of its kind logged.
    /// `on_unusable()` runs when the failure says the server cannot be used.
    template <class OnUnusable>
    unexpected<Error> failed(CircuitBreaker& breaker, Pool& pool, CircuitBreaker::Admit admit, Fault f,
                             const Url& server, OnUnusable&& on_unusable) {
        count(f.kind);
        f.error.message = scrub(std::move(f.error.message));
        if (server_unusable(f.kind)) {
            if (f.kind == Failure::io) // closed by the server: the idle ones likely are too
                pool.drop_idle();
            on_unusable();
            if (breaker.on_failure(admit) == CircuitBreaker::Change::opened)
                emit("llmcache: redis " + server.endpoint() + ": circuit open after " +
                     std::to_string(breaker.options().failure_threshold) + " consecutive failures; " +
                     std::string(fail_fast_) + " for " + std::to_string(breaker.options().cool_down.count()) +
                     " ms, then one probe (last error: " + f.error.message + ")");
        } else if (f.kind == Failure::pool_timeout) {
            breaker.on_neutral(admit);
        } else if (breaker.on_success(admit) == CircuitBreaker::Change::closed) {
            closed(server); // the server answered (with a refusal): it is reachable
        }
        log_once(f.kind, f.error.message);
        return unexpected<Error>(std::move(f.error));
    }

    /// A failure that did not come from a server's answer: counted, scrubbed, logged once.
    unexpected<Error> failed(Failure kind, Error e) {
        count(kind);
        e.message = scrub(std::move(e.message));
        log_once(kind, e.message);
        return unexpected<Error>(std::move(e));
    }

    /// An error without logging or counting (the breaker refused, or memory ran out).
    static unexpected<Error> quietly(const std::string& text) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
            return unexpected<Error>(Error{ErrorCode::store_unavailable, text, 0, std::nullopt});
        } catch (...) {
            return unexpected<Error>(Error{ErrorCode::store_unavailable, {}, 0, std::nullopt});
        }
#else
        return unexpected<Error>(Error{ErrorCode::store_unavailable, text, 0, std::nullopt});
#endif
    }

    // --- counting and logging -------------------------------------------------------------------
    void count(Failure kind) noexcept {
        errors_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t count_of(Failure kind) const noexcept {
        return errors_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
    }

    /// Fills a RedisErrorCounts (a template: that public type is declared by the stores).
    template <class Counts>
    void fill(Counts& e) const noexcept {
        e.connect = count_of(Failure::connect);
        e.timeout = count_of(Failure::timeout);
        e.io = count_of(Failure::io);
        e.protocol = count_of(Failure::protocol);
        e.tls = count_of(Failure::tls);
        e.auth = count_of(Failure::auth);
        e.loading = count_of(Failure::loading);
        e.busy = count_of(Failure::busy);
        e.masterdown = count_of(Failure::masterdown);
        e.oom = count_of(Failure::oom);
        e.readonly = count_of(Failure::readonly);
        e.wrongtype = count_of(Failure::wrongtype);
        e.noperm = count_of(Failure::noperm);
        e.misconf = count_of(Failure::misconf);
        e.redirect = count_of(Failure::redirect);
        e.other_reply = count_of(Failure::other_reply);
        e.pool_timeout = count_of(Failure::pool_timeout);
        e.circuit_open = count_of(Failure::circuit_open);
    }

    /// Logs `message` unless a failure of this kind was logged in the current episode.
    void log_once(Failure kind, const std::string& message) {
        const auto k = static_cast<std::size_t>(kind);
        if (!logged_[k].exchange(true, std::memory_order_relaxed)) {
            logged_count_.fetch_add(1, std::memory_order_relaxed);
            emit(message + " [" + std::string(to_string(kind)) +
                 "; further errors of this kind are counted in stats(), logged again after a recovery]");
        }
    }

    /// `text` with every secret replaced by "***".
    std::string scrub(std::string text) const {
        for (const std::string& secret : secrets_)
            for (std::size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3))
                text.replace(p, secret.size(), "***");
        return text;
    }

    /// One log line, scrubbed, to the sink or stderr. Never throws: a failing sink must not turn
    /// a cache miss into a crash.
    void emit(std::string line) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            line = scrub(std::move(line));
            std::function<void(std::string_view)> sink;
            {
                std::lock_guard lock(log_mu_);
                sink = sink_;
            }
            if (sink) {
                sink(line);
            } else {
                line += '\n';
                std::fwrite(line.data(), 1, line.size(), stderr);
            }
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
        }
#endif
    }

private:
    void closed(const Url& server) {
        emit("llmcache: redis " + server.endpoint() + ": circuit closed; " + std::string(answers_));
    }

    std::array<std::atomic<std::uint64_t>, failure_kinds> errors_{};
    std::array<std::atomic<bool>, failure_kinds> logged_{};
    std::atomic<int> logged_count_{0};
    std::vector<std::string> secrets_;
    std::string_view fail_fast_ = "operations fail fast";
    std::string_view answers_ = "Redis answers again";
    std::mutex log_mu_;
    std::function<void(std::string_view)> sink_;
};

/// A breaker's state as the stores' public enum (RedisCircuitState).
template <class PublicState>
constexpr PublicState public_state(CircuitBreaker::State s) noexcept {
    switch (s) {
    case CircuitBreaker::State::open:
        return PublicState::open;
    case CircuitBreaker::State::half_open:
        return PublicState::half_open;
    case CircuitBreaker::State::closed:
        break;
    }
    return PublicState::closed;
}

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
