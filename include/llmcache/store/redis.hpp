// RedisStore: llmcache entries in a Redis server (single node), over TCP, TLS or a unix socket.
//
// Requires: LLMCACHE_WITH_HIREDIS=1 and linking -lhiredis -lssl -lcrypto (hiredis 0.14+ is used
// only as the RESP codec; sockets, TLS and timeouts are llmcache's own, see detail/redis/).
//
//     llmcache::RedisStore store;                                   // $REDIS_URL or localhost:6379
//     llmcache::RedisStore store({.url = "rediss://app:s3cret@cache.internal:6380/2"});
//
// Commands: get = GET; get_and_touch = GETEX key PX ms|PERSIST (Redis >= 6.2; older servers get a
// pipelined GET + PEXPIRE/PERSIST); put = SET key value [PX ms] (the TTL in the same command);
// erase = UNLINK (DEL before 4.0); clear_prefix = SCAN MATCH <escaped prefix>* COUNT n + UNLINK per
// page (never KEYS); get_many = MGET; put_many = pipelined SETs; scope_usage = SCAN + pipelined
// STRLEN; acquire_lease = SET key <random token> NX PX ms; release_lease = EVAL of a
// compare-and-delete script (a lease is removed only by the holder of its token). Ordered indexes
// (indexing_store) are sorted sets: index_add = ZADD, index_range = ZRANGEBYSCORE index min +inf
// WITHSCORES LIMIT offset count, index_remove = ZREM, index_trim = ZREMRANGEBYSCORE index -inf max.
// Keys (entries and indexes alike) are used exactly as given: the store adds no prefix of its own.
//
// Fail-open: every operation is noexcept and returns its failure as a value (the Cache turns it
// into a miss or a skipped write). Connection failures, timeouts and "server unusable" replies
// (LOADING, NOAUTH, MASTERDOWN, ...) count towards a circuit breaker; once open, operations fail at
// once with store_unavailable without touching the network, and after a cool-down a single probe
// decides whether Redis is back. Error replies about one operation (OOM, READONLY, WRONGTYPE, ...)
// are store_rejected. Every failure is counted by kind (stats()) and logged once per state change
// through the log sink (default: one line on stderr, prefixed "llmcache:"). No message ever
// contains the password.
//
// Timeouts: an operation waits at most pool_wait for a free connection, connect_timeout for a new
// connection (connect + TLS + AUTH/SELECT/INFO), and command_timeout for its reply. A connection
// that timed out is closed, so a late reply can never be read by another request. Called from a
// Cache, each of these is also cut to what is left of the call's CacheOptions::store_budget, and
// an operation is not even started once that is used up (store_timeout).
//
// Copies of a RedisStore share one pool, breaker and counters (like MemoryStore, a copy is a
// handle), so the Cache and your code can hold the same store.
//
// Sentinel: with a redis+sentinel://[user:pass@]host1:26379,host2:26379/<master-name>[/db] URL
// (rediss+sentinel:// for TLS), the store asks the sentinels (SENTINEL get-master-addr-by-name, in
// the order given, the last one that answered first) for the master, checks with ROLE that it is
// one (a sentinel naming a server whose ROLE is not master is skipped), and connects to it. After
// connection failures, timeouts, READONLY / MASTERDOWN / LOADING replies it asks again (at most
// once per sentinel_refresh_min_interval) and, when the master changed, moves the pool to the new
// one and retries the operation there once: after a failover, writes go to the new master. It also
// asks every sentinel_check_interval (1 s) while all is well, since a forced failover leaves the
// old master writable until the sentinels demote it. A lookup runs in the calling thread (one
// connection to a sentinel, one more to check a new master), one at a time; when no sentinel
// answers, the last known master stays in use. Sentinels get no password unless the URL says
// sentinel_password= (and sentinel_user=); the URL's user and password are the master's.
//
// Not supported here: Redis Cluster (MOVED replies are reported as `redirect` errors; use
// RedisClusterStore); RESP3 (hiredis 0.14 cannot parse it).
#pragma once

#include "../config.hpp"
#include "../detail/redis/connection.hpp"
#include "../detail/redis/lease.hpp"
#include "../detail/redis/pool.hpp"
#include "../detail/redis/replies.hpp"
#include "../detail/redis/reporter.hpp"
#include "../detail/redis/url.hpp"
#include "../detail/store_budget.hpp"
#include "../error.hpp"
#include "../ttl.hpp"
#include "types.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct RedisTlsOptions {
    std::string ca_file;     ///< PEM bundle of trusted CAs; empty: the system CA store
    std::string ca_dir;      ///< directory of hashed CA certificates; optional
    std::string cert_file;   ///< client certificate (PEM) for mutual TLS; optional
    std::string key_file;    ///< the client certificate's private key (PEM)
    std::string server_name; ///< verify (and send as SNI) this name instead of the URL's host
    /// Verify the server's certificate chain and host name. Turning it off allows anyone on the
    /// path to read and rewrite the cache: only for tests, and only in code (never from a URL).
    bool verify = true;
};

struct RedisCircuitOptions {
    std::size_t failure_threshold = 5;         ///< consecutive failures that open it; 0 = never opens
    std::chrono::milliseconds cool_down{1000}; ///< open this long, then one probe
};

struct RedisStoreOptions {
    /// redis://[user:password@]host[:port][/db], rediss://..., unix:///path.sock[?db=N].
    /// Empty: $REDIS_URL, else redis://localhost:6379. Query options in the URL (connect_timeout,
    /// command_timeout, pool_size, client_name) override the fields below.
    std::string url{};
    std::chrono::milliseconds connect_timeout{300};     ///< connect + TLS + AUTH/SELECT handshake
    std::chrono::milliseconds command_timeout{200};     ///< one request: send and read its replies
    std::chrono::milliseconds bulk_timeout{30'000};     ///< whole clear_prefix / scope_usage run
    std::size_t pool_size = 8;                          ///< most connections open at once
    std::chrono::milliseconds pool_wait{50};            ///< longest wait for a free connection
    std::chrono::milliseconds idle_check_after{30'000}; ///< PING a connection idle this long first
    std::chrono::milliseconds reconnect_backoff_max{1'000};
    RedisCircuitOptions circuit{};
    RedisTlsOptions tls{};
    std::string client_name = "llmcache"; ///< CLIENT SETNAME (empty: not sent)
    std::size_t scan_count = 1000;        ///< SCAN COUNT hint and UNLINK batch size
    /// Take the server to be this version ("6.0") instead of what INFO reports: for servers that
    /// refuse INFO (then commands are limited to the oldest supported set), and to exercise the
    /// fallbacks for older servers (GET + PEXPIRE instead of GETEX, DEL instead of UNLINK).
    std::string assume_version{};
    /// Receives each log line (already prefixed "llmcache:"); empty: a line on stderr. Called
    /// rarely (state changes only), possibly from several threads; must not throw (if it does,
    /// the exception is swallowed).
    std::function<void(std::string_view)> log_sink{};
    /// redis+sentinel:// only: ask the sentinels again (after errors) at most this often.
    std::chrono::milliseconds sentinel_refresh_min_interval{250};
    /// redis+sentinel:// only: also ask this often when nothing failed (0: only after errors). A
    /// forced failover leaves the old master writable for seconds, until the sentinels turn it
    /// into a replica; this bounds how long writes keep going there.
    std::chrono::milliseconds sentinel_check_interval{1000};
};

/// Error counters by kind (each failed operation counts once).
struct RedisErrorCounts {
    std::uint64_t connect = 0, timeout = 0, io = 0, protocol = 0, tls = 0, auth = 0, loading = 0, busy = 0,
                  masterdown = 0, oom = 0, readonly = 0, wrongtype = 0, noperm = 0, misconf = 0, redirect = 0,
                  other_reply = 0, pool_timeout = 0, circuit_open = 0;
    std::uint64_t total() const noexcept {
        return connect + timeout + io + protocol + tls + auth + loading + busy + masterdown + oom + readonly +
               wrongtype + noperm + misconf + redirect + other_reply + pool_timeout + circuit_open;
    }
};

enum class RedisCircuitState { closed, open, half_open };

struct RedisStoreStats {
    RedisErrorCounts errors{};
    std::uint64_t retries = 0; ///< requests re-sent on a fresh connection (stale pooled one)
    RedisCircuitState circuit = RedisCircuitState::closed;
    std::uint64_t circuit_opened = 0, circuit_closed = 0, circuit_probes = 0;
    std::uint64_t connections_opened = 0, connections_closed = 0, connect_failures = 0;
    std::uint64_t pool_wait_timeouts = 0;
    std::size_t connections_open = 0, connections_idle = 0, connections_peak = 0;
    /// redis+sentinel:// only: times the master was looked up, and times it changed.
    std::uint64_t sentinel_lookups = 0, sentinel_switches = 0;
};

/// What scope_usage found under a prefix.
struct RedisScopeUsage {
    std::size_t keys = 0;
    std::size_t bytes = 0;     ///< sum of the values' lengths
    std::size_t key_bytes = 0; ///< sum of the keys' lengths
};

class RedisStore {
public:
    /// PX takes any positive 64-bit count; llmcache's own limit (ten years) is the bound.
    static constexpr std::chrono::milliseconds max_ttl = ttl::limit;
    /// Redis refuses bulk strings longer than proto-max-bulk-len (512 MB by default).
    static constexpr std::size_t max_value_bytes = std::size_t{512} << 20;

    /// Parses the URL and loads TLS files; does not connect (connections open on first use).
    /// Throws std::invalid_argument for a bad URL or TLS file (the message never holds the
    /// password); use make() for a non-throwing construction.
    explicit RedisStore(RedisStoreOptions opts = {}) {
        auto s = build(std::move(opts));
        if (!s)
            detail::invalid_argument(s.error().message);
        state_ = std::move(*s);
    }

    static Result<RedisStore> make(RedisStoreOptions opts) {
        auto s = build(std::move(opts));
        if (!s)
            return unexpected<Error>(s.error());
        return RedisStore(std::move(*s));
    }

    // --- StorePolicy ------------------------------------------------------------------------
    StoreValue get(std::string_view key) noexcept {
        return run<std::optional<std::string>>(Op::read, [&](Conn& c, Clock::time_point deadline) {
            auto r = c.command({"GET", key}, deadline);
            if (!r)
                return IoResult<std::optional<std::string>>(unexpected<Fault>(std::move(r).error()));
            return string_or_nil(c, **r, "GET");
        });
    }

    /// GET that restarts the TTL (sliding expiry): GETEX on Redis >= 6.2, else GET + PEXPIRE.
    StoreValue get_and_touch(std::string_view key, std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return unexpected<Error>(bad.error());
        return run<std::optional<std::string>>(Op::read, [&](Conn& c, Clock::time_point deadline) {
            using R = IoResult<std::optional<std::string>>;
            const DecimalArg ms(ttl ? ttl->count() : 0);
            if (c.server().has_getex()) {
                auto r = ttl ? c.command({"GETEX", key, "PX", ms.view()}, deadline)
                             : c.command({"GETEX", key, "PERSIST"}, deadline);
                if (!r)
                    return R(unexpected<Fault>(std::move(r).error()));
                return string_or_nil(c, **r, "GETEX");
            }
            std::string wire;
            append(wire, {"GET", key});
            if (ttl)
                append(wire, {"PEXPIRE", key, ms.view()});
            else
                append(wire, {"PERSIST", key});
            std::vector<Reply> replies;
            if (auto p = c.pipeline(wire, 2, replies, deadline); !p)
                return R(unexpected<Fault>(std::move(p).error()));
            return string_or_nil(c, *replies[0], "GET");
        });
    }

    /// SET key value [PX ttl]: value and TTL in one command.
    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return bad;
        if (value.size() > max_value_bytes)
            return fail(ErrorCode::too_large, "llmcache: the value exceeds Redis's 512 MB string limit");
        auto r = run<bool>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            const DecimalArg ms(ttl ? ttl->count() : 0);
            auto reply = ttl ? c.command({"SET", key, value, "PX", ms.view()}, deadline)
                             : c.command({"SET", key, value}, deadline);
            if (!reply)
                return IoResult<bool>(unexpected<Fault>(std::move(reply).error()));
            return expect_ok(c, **reply, "SET");
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    Result<bool> erase(std::string_view key) noexcept {
        return run<bool>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            const std::string_view cmd = c.server().has_unlink() ? "UNLINK" : "DEL";
            auto r = c.command({cmd, key}, deadline);
            if (!r)
                return IoResult<bool>(unexpected<Fault>(std::move(r).error()));
            auto n = integer(c, **r, cmd);
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
    }

    /// Removes every key starting with `prefix` (SCAN MATCH + batched UNLINK; other keys are
    /// untouched even when the prefix holds glob characters). An empty prefix is refused.
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept {
        if (prefix.empty())
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisStore::clear_prefix refuses an empty prefix (it would empty the "
                        "whole database)");
        return run<std::size_t>(Op::write, [&](Conn& c, Clock::time_point) {
            std::size_t removed = 0;
            const std::string_view cmd = c.server().has_unlink() ? "UNLINK" : "DEL";
            auto r = scan(c, prefix, [&](std::span<const std::string_view> keys, Clock::time_point dl) {
                std::vector<std::string_view> args;
                args.reserve(keys.size() + 1);
                args.push_back(cmd);
                args.insert(args.end(), keys.begin(), keys.end());
                auto reply = c.command(std::span<const std::string_view>(args), dl);
                if (!reply)
                    return IoResult<void>(unexpected<Fault>(std::move(reply).error()));
                auto n = integer(c, **reply, cmd);
                if (!n)
                    return IoResult<void>(unexpected<Fault>(std::move(n).error()));
                removed += static_cast<std::size_t>(*n);
                return IoResult<void>();
            });
            if (!r)
                return IoResult<std::size_t>(unexpected<Fault>(std::move(r).error()));
            return IoResult<std::size_t>(removed);
        });
    }

    /// MGET in chunks of scan_count keys, pipelined in one round trip. On failure every slot
    /// holds the error.
    std::vector<StoreValue> get_many(std::span<const std::string_view> keys) noexcept {
        std::vector<StoreValue> out;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            out.reserve(keys.size());
            if (keys.empty())
                return out;
            const std::size_t chunk = std::max<std::size_t>(1, state_->opts.scan_count);
            auto r = run<std::vector<StoreValue>>(Op::read, [&](Conn& c, Clock::time_point deadline) {
                using R = IoResult<std::vector<StoreValue>>;
                std::string wire;
                std::vector<std::string_view> args;
                std::size_t commands = 0;
                for (std::size_t i = 0; i < keys.size(); i += chunk) {
                    const std::size_t n = std::min(chunk, keys.size() - i);
                    args.assign({std::string_view("MGET")});
                    args.insert(args.end(), keys.begin() + static_cast<std::ptrdiff_t>(i),
                                keys.begin() + static_cast<std::ptrdiff_t>(i + n));
                    append(wire, std::span<const std::string_view>(args));
                    ++commands;
                }
                std::vector<Reply> replies;
                if (auto p = c.pipeline(wire, commands, replies, scaled(deadline, keys.size())); !p)
                    return R(unexpected<Fault>(std::move(p).error()));
                std::vector<StoreValue> values;
                values.reserve(keys.size());
                for (const Reply& reply : replies) {
                    if (reply->type == REDIS_REPLY_ERROR)
                        return R(reply_fault(c, *reply, "MGET"));
                    if (reply->type != REDIS_REPLY_ARRAY)
                        return R(protocol_fault(c, "MGET"));
                    for (std::size_t e = 0; e < reply->elements; ++e) {
                        auto v = string_or_nil(c, *reply->element[e], "MGET");
                        if (!v)
                            return R(unexpected<Fault>(std::move(v).error()));
                        values.emplace_back(std::move(*v));
                    }
                }
                if (values.size() != keys.size())
                    return R(protocol_fault(c, "MGET"));
                return R(std::move(values));
            });
            if (r)
                return std::move(*r);
            out.assign(keys.size(), StoreValue(unexpected<Error>(r.error())));
            return out;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            out.clear();
            return out; // cannot even report per key: an empty answer is a miss for everyone
        }
#endif
    }

    /// Pipelined SETs (each with its own PX) in one round trip. Returns how many were written;
    /// when any was refused, the first refusal (after all replies were read).
    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept {
        for (const StoreItem& item : items) {
            if (auto bad = check_ttl(item.ttl); !bad)
                return unexpected<Error>(bad.error());
            if (item.value.size() > max_value_bytes)
                return fail(ErrorCode::too_large, "llmcache: a value exceeds Redis's 512 MB string limit");
        }
        if (items.empty())
            return std::size_t{0};
        return run<std::size_t>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            using R = IoResult<std::size_t>;
            std::string wire;
            for (const StoreItem& item : items) {
                const DecimalArg ms(item.ttl ? item.ttl->count() : 0);
                if (item.ttl)
                    append(wire, {"SET", item.key, item.value, "PX", ms.view()});
                else
                    append(wire, {"SET", item.key, item.value});
            }
            std::vector<Reply> replies;
            if (auto p = c.pipeline(wire, items.size(), replies, scaled(deadline, items.size())); !p)
                return R(unexpected<Fault>(std::move(p).error()));
            std::size_t written = 0;
            std::optional<Fault> first;
            for (const Reply& reply : replies) {
                auto ok = expect_ok(c, *reply, "SET");
                if (ok)
                    ++written;
                else if (!first)
                    first = std::move(ok).error();
            }
            if (first) {
                first->error.message +=
                    " (" + std::to_string(written) + " of " + std::to_string(items.size()) + " written)";
                return R(unexpected<Fault>(std::move(*first)));
            }
            return R(written);
        });
    }

    // --- leasing_store (cross-process single-flight) ----------------------------------------
    /// SET <key> <random token> NX PX <ttl>: the token when this caller got the lease, empty when
    /// another holds it. Outages and refusals are errors (the Cache then fails open).
    Result<std::optional<std::string>> acquire_lease(std::string_view key,
                                                     std::chrono::milliseconds ttl) noexcept {
        if (ttl.count() <= 0 || ttl > max_ttl)
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisStore: a lease TTL must be in (0, max_ttl]");
        const detail::redis::LeaseToken token = detail::redis::new_lease_token();
        return run<std::optional<std::string>>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            using R = IoResult<std::optional<std::string>>;
            const DecimalArg ms(ttl.count());
            auto r = c.command({"SET", key, token.view(), "NX", "PX", ms.view()}, deadline);
            if (!r)
                return R(unexpected<Fault>(std::move(r).error()));
            switch ((*r)->type) {
            case REDIS_REPLY_STATUS:
                return R(std::optional<std::string>(std::in_place, token.view()));
            case REDIS_REPLY_NIL:
                return R(std::optional<std::string>{});
            case REDIS_REPLY_ERROR:
                return R(reply_fault(c, **r, "SET NX"));
            default:
                return R(protocol_fault(c, "SET NX"));
            }
        });
    }

    /// Deletes the lease only while it still holds `token` (compare-and-delete in one EVAL), so
    /// a holder whose lease expired never removes the next holder's.
    Result<void> release_lease(std::string_view key, std::string_view token) noexcept {
        auto r = run<bool>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            auto reply = c.command({"EVAL", detail::redis::release_lease_script, "1", key, token}, deadline);
            if (!reply)
                return IoResult<bool>(unexpected<Fault>(std::move(reply).error()));
            auto n = integer(c, **reply, "EVAL");
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    // --- indexing_store (ordered indexes: one sorted set per index key) -----------------------
    /// ZADD index score member: adds the member, or gives it the new score. Redis keeps scores as
    /// doubles, so a score beyond +-2^53 (which would come back rounded) is refused.
    Result<void> index_add(std::string_view index, std::string_view member, std::int64_t score) noexcept {
        if (!detail::redis::exact_score(score))
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisStore: an index score must be within +-2^53 (Redis keeps doubles)");
        auto r = run<bool>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            const DecimalArg s(score);
            auto reply = c.command({"ZADD", index, s.view(), member}, deadline);
            if (!reply)
                return IoResult<bool>(unexpected<Fault>(std::move(reply).error()));
            auto n = integer(c, **reply, "ZADD");
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    /// ZRANGEBYSCORE index min_score +inf WITHSCORES LIMIT offset count: members by ascending
    /// score, then member bytes. A missing index is empty; a score that is not an integer is a
    /// corrupt_entry error.
    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min_score,
                                                 std::size_t offset, std::size_t count) noexcept {
        if (count == 0)
            return std::vector<IndexMember>{};
        return run<std::vector<IndexMember>>(Op::read, [&](Conn& c, Clock::time_point deadline) {
            const DecimalArg min(min_score);
            const DecimalArg off = detail::redis::count_arg(offset);
            const DecimalArg n = detail::redis::count_arg(count);
            auto reply = c.command(
                {"ZRANGEBYSCORE", index, min.view(), "+inf", "WITHSCORES", "LIMIT", off.view(), n.view()},
                scaled(deadline, std::min<std::size_t>(count, 1'000'000)));
            if (!reply)
                return IoResult<std::vector<IndexMember>>(unexpected<Fault>(std::move(reply).error()));
            return detail::redis::index_members(c, **reply, "ZRANGEBYSCORE", [&](const redisReply& e) {
                return reply_fault(c, e, "ZRANGEBYSCORE");
            });
        });
    }

    /// ZREM index m1 m2 ...: how many of the members were there. No members: 0, no round trip.
    Result<std::size_t> index_remove(std::string_view index,
                                     std::span<const std::string_view> members) noexcept {
        if (members.empty())
            return std::size_t{0};
        return run<std::size_t>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            std::vector<std::string_view> args;
            args.reserve(members.size() + 2);
            args.push_back("ZREM");
            args.push_back(index);
            args.insert(args.end(), members.begin(), members.end());
            auto reply = c.command(std::span<const std::string_view>(args), scaled(deadline, members.size()));
            if (!reply)
                return IoResult<std::size_t>(unexpected<Fault>(std::move(reply).error()));
            return size_reply(c, **reply, "ZREM");
        });
    }

    /// ZREMRANGEBYSCORE index -inf max_score: removes every member scored max_score or less.
    Result<std::size_t> index_trim(std::string_view index, std::int64_t max_score) noexcept {
        return run<std::size_t>(Op::write, [&](Conn& c, Clock::time_point deadline) {
            const DecimalArg max(max_score);
            auto reply = c.command({"ZREMRANGEBYSCORE", index, "-inf", max.view()}, deadline);
            if (!reply)
                return IoResult<std::size_t>(unexpected<Fault>(std::move(reply).error()));
            return size_reply(c, **reply, "ZREMRANGEBYSCORE");
        });
    }

    // --- Redis-specific ---------------------------------------------------------------------
    /// Number of keys and bytes (value lengths) under `prefix` (SCAN + pipelined STRLEN).
    Result<RedisScopeUsage> scope_usage(std::string_view prefix) noexcept {
        return run<RedisScopeUsage>(Op::read, [&](Conn& c, Clock::time_point) {
            RedisScopeUsage usage;
            std::unordered_set<std::string> seen; // SCAN may return a key twice
            auto r = scan(c, prefix, [&](std::span<const std::string_view> keys, Clock::time_point dl) {
                std::string wire;
                std::vector<std::string_view> fresh;
                for (std::string_view k : keys)
                    if (seen.emplace(k).second) {
                        fresh.push_back(k);
                        append(wire, {"STRLEN", k});
                    }
                std::vector<Reply> replies;
                if (fresh.empty())
                    return IoResult<void>();
                if (auto p = c.pipeline(wire, fresh.size(), replies, dl); !p)
                    return IoResult<void>(unexpected<Fault>(std::move(p).error()));
                for (std::size_t i = 0; i < replies.size(); ++i) {
                    if (replies[i]->type == REDIS_REPLY_ERROR)
                        continue; // not a string (WRONGTYPE): not ours to count
                    auto n = integer(c, *replies[i], "STRLEN");
                    if (!n)
                        return IoResult<void>(unexpected<Fault>(std::move(n).error()));
                    if (*n == 0)
                        continue; // expired or removed since SCAN saw it
                    ++usage.keys;
                    usage.bytes += static_cast<std::size_t>(*n);
                    usage.key_bytes += fresh[i].size();
                }
                return IoResult<void>();
            });
            if (!r)
                return IoResult<RedisScopeUsage>(unexpected<Fault>(std::move(r).error()));
            return IoResult<RedisScopeUsage>(usage);
        });
    }

    /// PING round trip (a health check; also opens a connection if none is open).
    Result<std::chrono::microseconds> ping() noexcept {
        return run<std::chrono::microseconds>(Op::read, [&](Conn& c, Clock::time_point deadline) {
            using R = IoResult<std::chrono::microseconds>;
            const auto start = Clock::now();
            auto r = c.command({"PING"}, deadline);
            if (!r)
                return R(unexpected<Fault>(std::move(r).error()));
            if ((*r)->type == REDIS_REPLY_ERROR)
                return R(reply_fault(c, **r, "PING"));
            if ((*r)->type != REDIS_REPLY_STATUS)
                return R(protocol_fault(c, "PING"));
            return R(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
        });
    }

    /// The server's redis_version ("7.0.15"; "unknown" when INFO is not allowed).
    Result<std::string> server_version() noexcept {
        return run<std::string>(Op::read, [&](Conn& c, Clock::time_point) {
            return IoResult<std::string>(c.server().known() ? c.server().version : std::string("unknown"));
        });
    }

    RedisStoreStats stats() const noexcept {
        const State& st = *state_;
        RedisStoreStats s;
        st.report.fill(s.errors);
        s.retries = st.retries.load(std::memory_order_relaxed);
        s.circuit = detail::redis::public_state<RedisCircuitState>(st.breaker.state());
        const auto b = st.breaker.stats();
        s.circuit_opened = b.openings;
        s.circuit_closed = b.closings;
        s.circuit_probes = b.probes;
        const auto p = st.pool.stats();
        s.connections_opened = p.opened;
        s.connections_closed = p.closed;
        s.connect_failures = p.connect_failures;
        s.pool_wait_timeouts = p.wait_timeouts;
        s.connections_open = p.open;
        s.connections_idle = p.idle;
        s.connections_peak = p.peak_open;
        if (st.sentinel) {
            s.sentinel_lookups = st.sentinel->lookups.load(std::memory_order_relaxed);
            s.sentinel_switches = st.sentinel->switches.load(std::memory_order_relaxed);
        }
        return s;
    }

    /// Replaces the log sink (empty: stderr). Thread-safe.
    void set_log_sink(std::function<void(std::string_view)> sink) noexcept {
        state_->report.set_sink(std::move(sink));
    }

    /// redis+sentinel:// only: the master in use ("host:port"); empty before the first lookup and
    /// for other URLs.
    std::optional<std::string> sentinel_master() const {
        if (!state_->sentinel)
            return std::nullopt;
        std::lock_guard lock(state_->sentinel->mu);
        if (state_->sentinel->master.empty())
            return std::nullopt;
        return state_->sentinel->master;
    }

    /// The URL with the password masked ("redis://app:***@host:6379/2").
    std::string url() const {
        return state_->url.display();
    }
    const RedisStoreOptions& options() const noexcept {
        return state_->opts;
    }

private:
    using Clock = detail::redis::Clock;
    using Conn = detail::redis::Connection;
    using Failure = detail::redis::Failure;
    using Fault = detail::redis::Fault;
    using Reply = detail::redis::Reply;
    using Breaker = detail::redis::CircuitBreaker;
    using DecimalArg = detail::redis::DecimalArg;
    using Reporter = detail::redis::Reporter;
    template <class T>
    using IoResult = detail::redis::IoResult<T>;
    using detail_url = detail::redis::Url;

    enum class Op { read, write };

    /// redis+sentinel://: where the master is, and how to ask.
    struct Sentinel {
        std::vector<detail_url> sentinels;    ///< in the order to ask them (last good one first)
        detail_url data;                      ///< the master's URL, host and port filled in by a lookup
        detail::redis::ConnectOptions scopts; ///< for sentinel connections
        detail::redis::ConnectOptions dcopts; ///< for the ROLE check on a candidate master
        mutable std::mutex mu;                ///< guards master, error, sentinels; one lookup at a time
        std::string master;                   ///< "host:port" in use; empty before the first lookup
        std::string error;                    ///< why the last lookup failed
        std::atomic<bool> known{false};
        std::atomic<Clock::rep> next_allowed{0};
        std::atomic<Clock::rep> next_check{0};
        std::atomic<std::uint64_t> lookups{0}, switches{0};
    };

    struct State {
        State(detail_url u, RedisStoreOptions o, detail::redis::ConnectOptions copts,
              detail::redis::PoolOptions popts)
            : url(std::move(u)), opts(std::move(o)), pool(pool_url(url), std::move(copts), popts),
              breaker(detail::redis::BreakerOptions{opts.circuit.failure_threshold, opts.circuit.cool_down}) {
            report.configure({.sink = opts.log_sink,
                              .secrets = {url.password, url.sentinel_password},
                              .fail_fast = "operations fail fast",
                              .answers = "Redis answers again"});
            circuit_message = "llmcache: redis " + url.endpoint() +
                              ": circuit open after repeated failures; not trying until the cool-down ends";
        }
        detail_url url;
        RedisStoreOptions opts;
        detail::redis::Pool pool;
        Breaker breaker;
        Reporter report; ///< error counts, once-per-episode logging, the log sink
        std::atomic<std::uint64_t> retries{0};
        std::string circuit_message;
        std::unique_ptr<Sentinel> sentinel; ///< set for redis+sentinel:// URLs
    };

    /// The URL the pool starts with: for a sentinel URL, the master's (unknown until a lookup).
    static detail_url pool_url(const detail_url& u) {
        if (!u.via_sentinel())
            return u;
        detail_url d = u;
        d.sentinels.clear();
        d.master_name.clear();
        d.sentinel_username.clear();
        d.sentinel_password.clear();
        d.host.clear();
        d.port = 0;
        return d;
    }

    explicit RedisStore(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}

    static Result<std::shared_ptr<State>> build(RedisStoreOptions opts) {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            const std::string text = opts.url.empty() ? detail::redis::default_url() : opts.url;
            auto url = detail::redis::parse_url(text);
            if (!url)
                return unexpected<Error>(url.error());
            if (url->connect_timeout)
                opts.connect_timeout = *url->connect_timeout;
            if (url->command_timeout)
                opts.command_timeout = *url->command_timeout;
            if (url->pool_size)
                opts.pool_size = *url->pool_size;
            if (opts.connect_timeout.count() <= 0 || opts.command_timeout.count() <= 0 ||
                opts.pool_wait.count() < 0)
                return fail(ErrorCode::invalid_argument,
                            "llmcache: RedisStoreOptions: timeouts must be positive");
            detail::redis::ConnectOptions copts;
            copts.connect_timeout = opts.connect_timeout;
            copts.client_name = url->client_name ? *url->client_name : opts.client_name;
            copts.assume_version = opts.assume_version;
            copts.reply_timeout_hint = opts.command_timeout;
            if (url->tls()) {
                detail::redis::TlsConfig tc;
                tc.ca_file = opts.tls.ca_file;
                tc.ca_dir = opts.tls.ca_dir;
                tc.cert_file = opts.tls.cert_file;
                tc.key_file = opts.tls.key_file;
                tc.server_name = opts.tls.server_name;
                tc.verify = opts.tls.verify;
                auto ctx = detail::redis::TlsContext::create(tc);
                if (!ctx)
                    return unexpected<Error>(ctx.error());
                copts.tls = std::move(*ctx);
            }
            detail::redis::PoolOptions popts;
            popts.max_connections = opts.pool_size;
            popts.wait_timeout = opts.pool_wait;
            popts.idle_check_after = opts.idle_check_after;
            popts.backoff_max = opts.reconnect_backoff_max;
            auto sentinel_copts = copts; // before copts moves into the state
            auto state = std::make_shared<State>(std::move(*url), std::move(opts), std::move(copts), popts);
            if (state->url.via_sentinel()) {
                auto sen = std::make_unique<Sentinel>();
                for (const auto& hp : state->url.sentinels) {
                    detail_url s;
                    s.transport = state->url.transport;
                    s.host = hp.host;
                    s.port = hp.port;
                    s.username = state->url.sentinel_username;
                    s.password = state->url.sentinel_password;
                    sen->sentinels.push_back(std::move(s));
                }
                sen->data = pool_url(state->url);
                sen->dcopts = sentinel_copts;
                sen->scopts = std::move(sentinel_copts);
                sen->scopts.allow_sentinel = true;
                sen->scopts.assume_version.clear();
                state->sentinel = std::move(sen);
            }
            if (state->url.tls() && !state->opts.tls.verify)
                state->report.emit("llmcache: redis " + state->url.endpoint() +
                                   ": TLS certificate verification is OFF (RedisStoreOptions::tls.verify = "
                                   "false); anyone on the network path can read and change the cache");
            return state;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::invalid_argument, "llmcache: RedisStore: out of memory");
        }
#endif
    }

    static Result<void> check_ttl(std::optional<std::chrono::milliseconds> ttl) {
        if (ttl && (ttl->count() <= 0 || *ttl > max_ttl))
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisStore: a TTL must be positive and at most max_ttl");
        return {};
    }

    /// A pipeline of n items gets one command_timeout per 1000 items on top of the first.
    Clock::time_point scaled(Clock::time_point deadline, std::size_t n) const noexcept {
        return deadline + state_->opts.command_timeout * static_cast<long>(n / 1000);
    }

    // --- reply helpers ---------------------------------------------------------------------
    static void append(std::string& wire, std::span<const std::string_view> args) {
        if (!detail::redis::append_command(wire, args))
            detail::redis::out_of_memory();
    }
    static void append(std::string& wire, std::initializer_list<std::string_view> args) {
        append(wire, std::span<const std::string_view>(args.begin(), args.size()));
    }

    static unexpected<Fault> reply_fault(Conn& c, const redisReply& r, std::string_view cmd) {
        std::string msg = c.scrub(std::string(detail::redis::reply_text(r)));
        const Failure kind = detail::redis::classify_error_reply(msg);
        std::string text = c.what(std::string(cmd) + " refused: " + msg);
        if (kind == Failure::redirect)
            text += " (this server is part of a Redis Cluster; RedisStore talks to one node)";
        return detail::redis::fault(kind, ErrorCode::store_rejected, std::move(text));
    }
    static unexpected<Fault> protocol_fault(Conn& c, std::string_view cmd) {
        return detail::redis::protocol_fault(c, cmd);
    }
    static IoResult<std::optional<std::string>> string_or_nil(Conn& c, const redisReply& r,
                                                              std::string_view cmd) {
        return detail::redis::string_or_nil(c, r, cmd,
                                            [&](const redisReply& e) { return reply_fault(c, e, cmd); });
    }
    static IoResult<bool> expect_ok(Conn& c, const redisReply& r, std::string_view cmd) {
        return detail::redis::expect_ok(c, r, cmd,
                                        [&](const redisReply& e) { return reply_fault(c, e, cmd); });
    }
    static IoResult<long long> integer(Conn& c, const redisReply& r, std::string_view cmd) {
        return detail::redis::integer(c, r, cmd, [&](const redisReply& e) { return reply_fault(c, e, cmd); });
    }
    static IoResult<std::size_t> size_reply(Conn& c, const redisReply& r, std::string_view cmd) {
        return detail::redis::size_reply(c, r, cmd,
                                         [&](const redisReply& e) { return reply_fault(c, e, cmd); });
    }

    /// SCAN over keys starting with `prefix`, calling page(keys, deadline) for each non-empty
    /// page. Bounded by bulk_timeout as a whole and command_timeout per round trip.
    template <class Page>
    IoResult<void> scan(Conn& c, std::string_view prefix, Page&& page) {
        const State& st = *state_;
        return detail::redis::scan_prefix(
            c, prefix, st.opts.command_timeout, st.opts.bulk_timeout, st.opts.scan_count,
            [&](const redisReply& e) { return reply_fault(c, e, "SCAN"); }, std::forward<Page>(page));
    }

    // --- the common path of every operation ------------------------------------------------
    template <class T, class Body>
    Result<T> run(Op op, Body&& body) noexcept {
        State& st = *state_;
        if (detail::store_budget::exhausted()) // the caller's time for store operations is up
            return budget_spent();
        const auto admit = st.breaker.admit();
        if (admit == Breaker::Admit::no) {
            st.report.count(Failure::circuit_open);
            return Reporter::quietly(st.circuit_message);
        }
        if (admit == Breaker::Admit::probe) {
            st.pool.reset_backoff();
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            if (st.sentinel) {
                if (!st.sentinel->known.load(std::memory_order_acquire)) {
                    auto found = sentinel_lookup();
                    if (!found)
                        return failed(admit, op, std::move(found).error());
                } else if (st.opts.sentinel_check_interval.count() > 0 &&
                           Clock::now().time_since_epoch().count() >=
                               st.sentinel->next_check.load(std::memory_order_relaxed)) {
                    (void)sentinel_lookup(); // periodic: a failure here changes nothing
                }
            }
            bool switched_once = false;
            for (int attempt = 0;; ++attempt) {
                auto lease = st.pool.acquire();
                if (!lease)
                    return failed(admit, op, std::move(lease).error());
                const auto deadline = detail::store_budget::clamp(Clock::now() + st.opts.command_timeout);
                IoResult<T> r = body(**lease, deadline);
                (*lease)->finish_request();
                lease->release();
                if (r) {
                    succeeded(admit, op);
                    return std::move(*r);
                }
                Fault f = std::move(r).error();
                if (f.retryable && attempt == 0) {
                    // The pooled connection had been closed by the server (restart, idle timeout):
                    // the request never reached it, so send it once more on a fresh connection.
                    st.retries.fetch_add(1, std::memory_order_relaxed);
                    st.pool.drop_idle();
                    continue;
                }
                if (st.sentinel && !switched_once && sentinel_suspect(f.kind)) {
                    // Maybe a failover: ask the sentinels; when the master moved, retry there once.
                    switched_once = true;
                    auto moved = sentinel_lookup();
                    if (moved && *moved) {
                        st.retries.fetch_add(1, std::memory_order_relaxed);
                        continue;
                    }
                }
                return failed(admit, op, std::move(f));
            }
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            st.breaker.on_neutral(admit);
            return Reporter::quietly("llmcache: RedisStore: out of memory");
        } catch (...) {
            st.breaker.on_neutral(admit);
            return Reporter::quietly("llmcache: RedisStore: unexpected internal error");
        }
#endif
    }

    // --- Sentinel ----------------------------------------------------------------------------
    /// Failures after which the master may have moved.
    static bool sentinel_suspect(Failure kind) noexcept {
        return kind == Failure::connect || kind == Failure::io || kind == Failure::timeout ||
               kind == Failure::readonly || kind == Failure::masterdown || kind == Failure::loading;
    }

    /// Asks the sentinels where the master is (rate-limited; one lookup at a time) and moves the
    /// pool there when it changed. True when the master changed; an error when no sentinel named
    /// a verified master and none is known.
    IoResult<bool> sentinel_lookup() {
        State& st = *state_;
        Sentinel& sen = *st.sentinel;
        const bool known = sen.known.load(std::memory_order_acquire);
        std::unique_lock lock(sen.mu, std::defer_lock);
        if (known) {
            if (Clock::now().time_since_epoch().count() < sen.next_allowed.load(std::memory_order_relaxed) ||
                !lock.try_lock())
                return false; // asked recently, or another thread is asking right now
        } else {
            lock.lock();
            if (sen.known.load(std::memory_order_acquire))
                return false; // another thread found it meanwhile
        }
        const auto now = Clock::now();
        if (now.time_since_epoch().count() < sen.next_allowed.load(std::memory_order_relaxed))
            return known ? IoResult<bool>(false)
                         : detail::redis::fault(Failure::connect, ErrorCode::store_unavailable, sen.error);
        sen.next_allowed.store((now + st.opts.sentinel_refresh_min_interval).time_since_epoch().count(),
                               std::memory_order_relaxed);
        sen.lookups.fetch_add(1, std::memory_order_relaxed);
        std::string why;
        Failure why_kind = Failure::connect;
        for (std::size_t i = 0; i < sen.sentinels.size(); ++i) {
            const detail_url& s = sen.sentinels[i];
            auto addr = ask_sentinel(sen, s, why, why_kind);
            if (!addr)
                continue;
            detail_url candidate = sen.data;
            candidate.host = addr->first;
            candidate.port = addr->second;
            // A new address is checked with ROLE; the one in use is known to work (errors on it
            // lead here too, and then the sentinels have not moved it yet).
            if (candidate.endpoint() != sen.master && !is_master(sen, candidate, why, why_kind))
                continue;
            if (i != 0) // ask the one that knew first next time
                std::rotate(sen.sentinels.begin(), sen.sentinels.begin() + static_cast<std::ptrdiff_t>(i),
                            sen.sentinels.begin() + static_cast<std::ptrdiff_t>(i) + 1);
            const std::string endpoint = candidate.endpoint();
            const bool changed = endpoint != sen.master;
            if (changed) {
                const std::string before = sen.master;
                st.pool.retarget(candidate);
                sen.master = endpoint;
                if (!before.empty()) {
                    sen.switches.fetch_add(1, std::memory_order_relaxed);
                    st.report.emit("llmcache: redis " + st.url.endpoint() + ": the master moved from " +
                                   before + " to " + endpoint + " (failover); connections follow");
                }
            }
            sen.error.clear();
            sen.next_check.store((Clock::now() + st.opts.sentinel_check_interval).time_since_epoch().count(),
                                 std::memory_order_relaxed);
            sen.known.store(true, std::memory_order_release);
            return changed;
        }
        sen.error = st.report.scrub("llmcache: redis " + st.url.endpoint() +
                                    ": no sentinel named a reachable master (last error: " + why + ")");
        sen.next_check.store((Clock::now() + st.opts.sentinel_check_interval).time_since_epoch().count(),
                             std::memory_order_relaxed);
        if (known)
            return false; // keep using the last master; the breaker handles the failures
        return detail::redis::fault(why_kind, ErrorCode::store_unavailable, sen.error);
    }

    /// SENTINEL get-master-addr-by-name from one sentinel: (host, port), or empty with `why`.
    std::optional<std::pair<std::string, std::uint16_t>>
    ask_sentinel(const Sentinel& sen, const detail_url& s, std::string& why, Failure& why_kind) {
        const State& st = *state_;
        auto c = Conn::open(s, sen.scopts);
        if (!c) {
            why = c.error().error.message;
            why_kind = c.error().kind;
            if (why_kind == Failure::auth)
                why += " (sentinels take their credentials from the URL's sentinel_password= and "
                       "sentinel_user= options)";
            return std::nullopt;
        }
        if ((*c)->server().mode != "sentinel") {
            why = (*c)->what("is not a Redis Sentinel (check the port; sentinels usually listen on 26379)");
            why_kind = Failure::protocol;
            return std::nullopt;
        }
        auto r = (*c)->command({"SENTINEL", "get-master-addr-by-name", st.url.master_name},
                               Clock::now() + st.opts.command_timeout);
        if (!r) {
            why = r.error().error.message;
            why_kind = r.error().kind;
            return std::nullopt;
        }
        const redisReply& reply = **r;
        if (reply.type == REDIS_REPLY_NIL) {
            why = (*c)->what("the sentinel does not monitor a master named '" + st.url.master_name + "'");
            why_kind = Failure::other_reply;
            return std::nullopt;
        }
        if (reply.type == REDIS_REPLY_ERROR) {
            const std::string msg = (*c)->scrub(std::string(detail::redis::reply_text(reply)));
            why = (*c)->what("SENTINEL get-master-addr-by-name refused: " + msg);
            why_kind = detail::redis::classify_error_reply(msg);
            return std::nullopt;
        }
        unsigned port = 0;
        if (reply.type == REDIS_REPLY_ARRAY && reply.elements == 2 &&
            reply.element[0]->type == REDIS_REPLY_STRING && reply.element[1]->type == REDIS_REPLY_STRING) {
            const std::string_view p = detail::redis::reply_text(*reply.element[1]);
            auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
            if (ec == std::errc{} && end == p.data() + p.size() && port > 0 && port <= 65535 &&
                reply.element[0]->len > 0)
                return std::pair<std::string, std::uint16_t>(
                    std::string(detail::redis::reply_text(*reply.element[0])),
                    static_cast<std::uint16_t>(port));
        }
        why = (*c)->what("unexpected answer to SENTINEL get-master-addr-by-name");
        why_kind = Failure::protocol;
        return std::nullopt;
    }

    /// Connects to the candidate (with the master's credentials) and checks ROLE says master.
    bool is_master(const Sentinel& sen, const detail_url& candidate, std::string& why, Failure& why_kind) {
        const State& st = *state_;
        auto c = Conn::open(candidate, sen.dcopts);
        if (!c) {
            why = c.error().error.message;
            why_kind = c.error().kind;
            return false;
        }
        auto r = (*c)->command({"ROLE"}, Clock::now() + st.opts.command_timeout);
        if (!r) {
            why = r.error().error.message;
            why_kind = r.error().kind;
            return false;
        }
        const redisReply& reply = **r;
        if (reply.type == REDIS_REPLY_ARRAY && reply.elements >= 1 &&
            reply.element[0]->type == REDIS_REPLY_STRING &&
            detail::redis::reply_text(*reply.element[0]) == "master")
            return true;
        why = (*c)->what(reply.type == REDIS_REPLY_ERROR
                             ? "ROLE refused: " + (*c)->scrub(std::string(detail::redis::reply_text(reply)))
                             : std::string("the sentinels name this server, but ROLE says it is not a master "
                                           "(a failover in progress?)"));
        why_kind = Failure::readonly;
        return false;
    }

    /// The calling thread's store budget (CacheOptions::store_budget) is used up: not sent.
    static unexpected<Error> budget_spent() noexcept {
        return unexpected<Error>(Error{ErrorCode::store_timeout, {}, 0, std::nullopt});
    }

    void succeeded(Breaker::Admit admit, Op op) {
        State& st = *state_;
        st.report.succeeded(st.breaker, admit, op == Op::write, st.url);
    }

    unexpected<Error> failed(Breaker::Admit admit, Op, Fault f) {
        State& st = *state_;
        return st.report.failed(st.breaker, st.pool, admit, std::move(f), st.url, [] {});
    }

    std::shared_ptr<State> state_;
};

LLMCACHE_END_NAMESPACE
