// A bounded pool of connections to one Redis endpoint, and a circuit breaker.
//
// Pool: at most max_connections open at once (idle + in use + being opened); connections are
// opened lazily, when a caller finds none idle; a caller waits at most wait_timeout for one; a
// connection idle for longer than idle_check_after is PINGed before it is handed out; after a
// failed connect, no new connect is tried until a backoff (doubling up to backoff_max) has passed,
// so a dead server is not hammered. A connection returned broken (timeout, I/O or protocol error)
// is closed, never reused: a late reply is never read by the next request.
//
// CircuitBreaker: closed -> open after failure_threshold consecutive failures; open -> half-open
// after cool_down, when one caller (the probe) is let through; the probe's success closes it, its
// failure opens it again for another cool_down. While open, callers are refused without touching
// the network. The closed-state fast path is one relaxed atomic load.
#pragma once

#include "../../config.hpp"
#include "../store_budget.hpp"
#include "connection.hpp"
#include "url.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

struct PoolOptions {
    std::size_t max_connections = 8;
    std::chrono::milliseconds wait_timeout{50};         ///< longest wait for a free connection
    std::chrono::milliseconds idle_check_after{30'000}; ///< PING connections idle longer than this
    std::chrono::milliseconds backoff_initial{25};      ///< first pause after a failed connect
    std::chrono::milliseconds backoff_max{1'000};       ///< longest pause between connect attempts
};

struct PoolStats {
    std::uint64_t opened = 0; ///< connections opened successfully
    std::uint64_t closed = 0; ///< connections closed (broken, stale, or at shutdown)
    std::uint64_t connect_failures = 0;
    std::uint64_t wait_timeouts = 0; ///< callers that found no free connection in time
    std::size_t open = 0;            ///< open now (idle + in use)
    std::size_t idle = 0;
    std::size_t peak_open = 0; ///< the most open at any time
};

class Pool {
public:
    Pool(Url url, ConnectOptions copts, PoolOptions popts)
        : url_(std::move(url)), copts_(std::move(copts)), popts_(popts) {
        popts_.max_connections = std::max<std::size_t>(1, popts_.max_connections);
        backoff_ = popts_.backoff_initial;
    }
    ~Pool() { drop_idle(); }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    /// A connection lent to one caller; goes back to the pool (or is closed, when broken) when
    /// the lease ends.
    class Lease {
    public:
        Lease() = default;
        Lease(Pool* pool, std::unique_ptr<Connection> c) noexcept : pool_(pool), conn_(std::move(c)) {}
        Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), conn_(std::move(o.conn_)) {}
        Lease& operator=(Lease&& o) noexcept {
            if (this != &o) {
                release();
                pool_ = std::exchange(o.pool_, nullptr);
                conn_ = std::move(o.conn_);
            }
            return *this;
        }
        ~Lease() { release(); }
        Connection& operator*() const noexcept { return *conn_; }
        Connection* operator->() const noexcept { return conn_.get(); }
        void release() noexcept {
            if (pool_ != nullptr && conn_)
                pool_->give_back(std::move(conn_));
            pool_ = nullptr;
        }

    private:
        Pool* pool_ = nullptr;
        std::unique_ptr<Connection> conn_;
    };

    /// A free connection: idle, or newly opened when fewer than max_connections are open.
    IoResult<Lease> acquire() {
        // Never longer than what is left of the caller's store budget (CacheOptions::store_budget).
        const auto wait_until = store_budget::clamp(Clock::now() + popts_.wait_timeout);
        std::unique_lock lock(mu_);
        for (int round = 0; round < 1'000'000; ++round) {
            if (!idle_.empty()) {
                std::unique_ptr<Connection> c = std::move(idle_.back());
                idle_.pop_back();
                lock.unlock();
                if (Clock::now() - c->last_used() > popts_.idle_check_after && !healthy(*c)) {
                    c.reset();
                    lock.lock();
                    --open_;
                    ++closed_;
                    continue;
                }
                c->mark();
                return Lease(this, std::move(c));
            }
            if (open_ < popts_.max_connections) {
                const auto now = Clock::now();
                if (now < next_connect_) {
                    const auto wait_ms =
                        std::chrono::duration_cast<std::chrono::milliseconds>(next_connect_ - now).count();
                    return fault(last_connect_kind_, ErrorCode::store_unavailable,
                                 "llmcache: redis " + url_.endpoint() + ": not reconnecting for another " +
                                     std::to_string(wait_ms + 1) + " ms after: " + last_connect_error_);
                }
                ++open_;
                peak_ = std::max(peak_, open_);
                lock.unlock();
                const Url target = url_;
                IoResult<std::unique_ptr<Connection>> c = open_counted(target, lock);
                if (!c) {
                    --open_;
                    ++connect_failures_;
                    next_connect_ = Clock::now() + backoff_;
                    backoff_ = std::min(backoff_ * 2, popts_.backoff_max);
                    last_connect_error_ = c.error().error.message;
                    const std::string prefix = "llmcache: redis " + target.endpoint() + ": ";
                    if (last_connect_error_.starts_with(prefix))
                        last_connect_error_.erase(0, prefix.size());
                    last_connect_kind_ = c.error().kind;
                    cv_.notify_one();
                    return unexpected<Fault>(std::move(c).error());
                }
                ++opened_;
                if (!same_target((*c)->url())) {
                    // Retargeted while this one was opening: it talks to the old server.
                    --open_;
                    ++closed_;
                    lock.unlock();
                    c->reset();
                    lock.lock();
                    cv_.notify_one();
                    continue;
                }
                backoff_ = popts_.backoff_initial;
                next_connect_ = {};
                server_ = (*c)->server();
                lock.unlock();
                (*c)->mark();
                return Lease(this, std::move(*c));
            }
            if (cv_.wait_until(lock, wait_until) == std::cv_status::timeout && idle_.empty() &&
                open_ >= popts_.max_connections) {
                ++wait_timeouts_;
                return fault(Failure::pool_timeout, ErrorCode::store_timeout,
                             "llmcache: redis " + url_.endpoint() + ": all " +
                                 std::to_string(popts_.max_connections) +
                                 " pooled connections stayed busy for " +
                                 std::to_string(popts_.wait_timeout.count()) + " ms");
            }
        }
        return fault(Failure::pool_timeout, ErrorCode::store_timeout,
                     "llmcache: redis " + url_.endpoint() + ": no connection available");
    }

    /// Closes every idle connection (after one turned out dead, the others likely are too).
    void drop_idle() noexcept {
        std::vector<std::unique_ptr<Connection>> dead;
        {
            std::lock_guard lock(mu_);
            dead.swap(idle_);
            open_ -= dead.size();
            closed_ += dead.size();
            if (!dead.empty())
                cv_.notify_all();
        }
    }

    /// Points the pool at another server (a Sentinel failover): idle connections are closed at
    /// once, connections in use are closed when they come back, new ones go to `url`.
    void retarget(Url url) {
        std::vector<std::unique_ptr<Connection>> old;
        {
            std::lock_guard lock(mu_);
            url_ = std::move(url);
            old.swap(idle_);
            open_ -= old.size();
            closed_ += old.size();
            next_connect_ = {};
            backoff_ = popts_.backoff_initial;
            cv_.notify_all();
        }
    }

    /// Forgets the reconnect backoff (the circuit breaker's probe decides when to try again).
    void reset_backoff() noexcept {
        std::lock_guard lock(mu_);
        next_connect_ = {};
        backoff_ = popts_.backoff_initial;
    }

    PoolStats stats() const noexcept {
        std::lock_guard lock(mu_);
        PoolStats s;
        s.opened = opened_;
        s.closed = closed_;
        s.connect_failures = connect_failures_;
        s.wait_timeouts = wait_timeouts_;
        s.open = open_;
        s.idle = idle_.size();
        s.peak_open = peak_;
        return s;
    }

    /// What the most recently opened connection learnt about the server.
    ServerInfo server() const {
        std::lock_guard lock(mu_);
        return server_;
    }

    /// The server the pool connects to now.
    Url url() const {
        std::lock_guard lock(mu_);
        return url_;
    }
    const PoolOptions& options() const noexcept { return popts_; }

private:
    /// Connection::open with the lock released; the slot counted in open_ is given back if it
    /// throws (std::bad_alloc). Returns with the lock held.
    IoResult<std::unique_ptr<Connection>> open_counted(const Url& target,
                                                       std::unique_lock<std::mutex>& lock) {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            IoResult<std::unique_ptr<Connection>> c = [&] {
                if (!store_budget::active())
                    return Connection::open(target, copts_);
                ConnectOptions cut = copts_; // connect within what is left of the caller's budget
                cut.connect_timeout =
                    std::max(std::chrono::milliseconds{1}, store_budget::clamp(cut.connect_timeout));
                return Connection::open(target, cut);
            }();
            lock.lock();
            return c;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            if (!lock.owns_lock())
                lock.lock();
            --open_;
            cv_.notify_one();
            throw;
        }
#endif
    }

    bool healthy(Connection& c) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            auto r = c.command({"PING"}, store_budget::clamp(Clock::now() + copts_.connect_timeout));
            const bool ok = r && (*r)->type == REDIS_REPLY_STATUS;
            if (ok)
                c.finish_request();
            return ok && !c.broken();
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return false;
        }
#endif
    }

    bool same_target(const Url& u) const noexcept {
        return u.host == url_.host && u.port == url_.port;
    }

    void give_back(std::unique_ptr<Connection> c) noexcept {
        std::unique_ptr<Connection> dead; // closed after the lock is released
        if (c->broken())
            dead = std::move(c);
        {
            std::lock_guard lock(mu_);
            if (c && !same_target(c->url())) // the pool was retargeted meanwhile
                dead = std::move(c);
            if (dead) {
                --open_;
                ++closed_;
            } else {
#if LLMCACHE_HAS_EXCEPTIONS
                try {
                    idle_.push_back(std::move(c));
                } catch (...) {
                    dead = std::move(c);
                    --open_;
                    ++closed_;
                }
#else
                idle_.push_back(std::move(c));
#endif
            }
            cv_.notify_one();
        }
    }

    Url url_;
    ConnectOptions copts_;
    PoolOptions popts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> idle_; // back = most recently used
    std::size_t open_ = 0;
    std::size_t peak_ = 0;
    std::uint64_t opened_ = 0, closed_ = 0, connect_failures_ = 0, wait_timeouts_ = 0;
    Clock::time_point next_connect_{};
    std::chrono::milliseconds backoff_{};
    std::string last_connect_error_;
    Failure last_connect_kind_ = Failure::connect;
    ServerInfo server_{};
};

// ---------------------------------------------------------------------------------------------
struct BreakerOptions {
    std::size_t failure_threshold = 5;         ///< consecutive failures that open the circuit; 0 = never
    std::chrono::milliseconds cool_down{1000}; ///< how long it stays open before one probe
};

class CircuitBreaker {
public:
    enum class State : std::uint8_t { closed, open, half_open };
    enum class Admit : std::uint8_t { yes, probe, no };
    /// A state change worth telling the user about.
    enum class Change : std::uint8_t { none, opened, closed };

    explicit CircuitBreaker(BreakerOptions o = {}) : opts_(o) {}

    Admit admit() noexcept {
        if (state_.load(std::memory_order_acquire) == State::closed)
            return Admit::yes;
        std::lock_guard lock(mu_);
        switch (state_.load(std::memory_order_relaxed)) {
        case State::closed:
            return Admit::yes;
        case State::open:
            if (Clock::now() < open_until_) {
                rejected_.fetch_add(1, std::memory_order_relaxed);
                return Admit::no;
            }
            state_.store(State::half_open, std::memory_order_release);
            probe_out_ = true;
            ++probes_;
            return Admit::probe;
        case State::half_open:
            if (probe_out_) {
                rejected_.fetch_add(1, std::memory_order_relaxed);
                return Admit::no;
            }
            probe_out_ = true;
            ++probes_;
            return Admit::probe;
        }
        return Admit::no;
    }

    Change on_success(Admit how) noexcept {
        if (failures_.load(std::memory_order_relaxed) != 0)
            failures_.store(0, std::memory_order_relaxed);
        if (how != Admit::probe)
            return Change::none;
        std::lock_guard lock(mu_);
        probe_out_ = false;
        if (state_.load(std::memory_order_relaxed) == State::half_open) {
            state_.store(State::closed, std::memory_order_release);
            ++closings_;
            return Change::closed;
        }
        return Change::none;
    }

    Change on_failure(Admit how) noexcept {
        if (opts_.failure_threshold == 0)
            return Change::none;
        if (how == Admit::probe) {
            std::lock_guard lock(mu_);
            probe_out_ = false;
            state_.store(State::open, std::memory_order_release);
            open_until_ = Clock::now() + opts_.cool_down;
            return Change::none; // half-open -> open again: not news
        }
        const auto n = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (n < opts_.failure_threshold)
            return Change::none;
        std::lock_guard lock(mu_);
        if (state_.load(std::memory_order_relaxed) != State::closed)
            return Change::none;
        state_.store(State::open, std::memory_order_release);
        open_until_ = Clock::now() + opts_.cool_down;
        ++openings_;
        return Change::opened;
    }

    /// The call ended without saying anything about the server (e.g. a pool wait timed out).
    void on_neutral(Admit how) noexcept {
        if (how != Admit::probe)
            return;
        std::lock_guard lock(mu_);
        probe_out_ = false;
    }

    State state() const noexcept { return state_.load(std::memory_order_acquire); }
    std::size_t consecutive_failures() const noexcept { return failures_.load(std::memory_order_relaxed); }

    struct Stats {
        std::uint64_t openings = 0, closings = 0, probes = 0, rejected = 0;
    };
    Stats stats() const noexcept {
        std::lock_guard lock(mu_);
        return Stats{openings_, closings_, probes_, rejected_.load(std::memory_order_relaxed)};
    }
    const BreakerOptions& options() const noexcept { return opts_; }

private:
    BreakerOptions opts_;
    std::atomic<State> state_{State::closed};
    std::atomic<std::size_t> failures_{0};
    std::atomic<std::uint64_t> rejected_{0};
    mutable std::mutex mu_;
    Clock::time_point open_until_{};
    bool probe_out_ = false;
    std::uint64_t openings_ = 0, closings_ = 0, probes_ = 0;
};

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
