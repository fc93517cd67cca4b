// RedisClusterStore: llmcache entries in a Redis Cluster (hash slots spread over several masters).
//
// Requires: LLMCACHE_WITH_HIREDIS=1 and linking -lhiredis -lssl -lcrypto, like RedisStore.
//
//     llmcache::RedisClusterStore store({.seeds = {"redis://10.0.0.1:7000", "redis://10.0.0.2:7000"}});
//
// Seeds: one or more redis:// or rediss:// URLs of cluster nodes (any node will do; more seeds
// help when some are down at start). User, password and TLS come from the first seed and are used
// for every node; seeds must agree on the scheme, and a database other than 0 is refused (a cluster
// has only db 0). Unix sockets are refused (cluster nodes announce TCP addresses). Query options
// (connect_timeout, command_timeout, pool_size, client_name) of the first seed apply as in
// RedisStore. Empty seeds: $REDIS_URL, else redis://localhost:6379.
//
// Routing: a key's slot is CRC16-XMODEM(key) mod 16384, hashing only the {hash tag} when the key
// has one. llmcache keys ("llmcache:k1:<scope>:xxh3:<hex>") have no hash tag, on purpose: entries
// spread evenly over all masters, which is what lets a cache grow past one server. The price is
// that nothing is co-located, so batch operations are grouped per node (one pipeline per node),
// and clear_prefix / scope_usage visit every master.
//
// Topology: the slot map comes from CLUSTER SLOTS, read on first use and refreshed (rate-limited
// to one refresh per refresh_min_interval) after a MOVED reply, after connection errors, and every
// refresh_interval. Each master gets its own connection pool and circuit breaker.
// Redirects: MOVED updates the slot in the map at once (and asks for a full refresh) and the
// command is sent to the new owner; ASK sends ASKING + the command to the named node without
// touching the map. After max_redirects redirects an operation gives up with a `redirect` error
// (a miss for the Cache), never a hang.
//
// Ordered indexes (indexing_store): sorted sets, with the commands RedisStore uses; an index is one
// key, routed by its own slot (its members may name entries on other masters). clear_prefix
// removes index keys with the entries, since SCAN sees keys of every type.
//
// Fail-open, exactly like RedisStore: every operation is noexcept and returns failures as values;
// a dead or slow master opens its own circuit, so its slots fail fast while the other masters go
// on serving (configure the cluster with cluster-require-full-coverage no, or the surviving nodes
// refuse every command with CLUSTERDOWN once a master is lost). Commands never go to replicas.
//
// Not supported: reading from replicas, CLUSTER SHARDS (CLUSTER SLOTS works on every version up
// to 7.x, where it is deprecated but present), multi-key commands across slots (never needed
// here), and nodes reachable only under another address than the one the cluster announces
// (NAT): the announced ip and port are used as is.
#pragma once

#include "../config.hpp"
#include "../detail/redis/connection.hpp"
#include "../detail/redis/crc16.hpp"
#include "../detail/redis/lease.hpp"
#include "../detail/redis/pool.hpp"
#include "../detail/redis/replies.hpp"
#include "../detail/redis/reporter.hpp"
#include "../detail/redis/slot_map.hpp"
#include "../detail/redis/url.hpp"
#include "../detail/store_budget.hpp"
#include "../error.hpp"
#include "../ttl.hpp"
#include "redis.hpp"
#include "types.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct RedisClusterOptions {
    /// URLs of some cluster nodes (redis:// or rediss://); empty: $REDIS_URL, else
    /// redis://localhost:6379. Credentials and TLS of the first seed apply to every node.
    std::vector<std::string> seeds{};
    std::chrono::milliseconds connect_timeout{300}; ///< connect + TLS + AUTH handshake, per node
    std::chrono::milliseconds command_timeout{200}; ///< one request to one node
    std::chrono::milliseconds bulk_timeout{30'000}; ///< a whole SCAN run on one node
    std::size_t pool_size = 8;                      ///< most connections open at once, per node
    std::chrono::milliseconds pool_wait{50};
    std::chrono::milliseconds idle_check_after{30'000};
    std::chrono::milliseconds reconnect_backoff_max{1'000};
    RedisCircuitOptions circuit{}; ///< one breaker per node, each with these settings
    RedisTlsOptions tls{};
    std::string client_name = "llmcache";
    std::size_t scan_count = 1000;
    std::string assume_version{}; ///< as RedisStoreOptions::assume_version
    std::function<void(std::string_view)> log_sink{};
    /// Redirects (MOVED or ASK) followed for one operation before it gives up.
    std::size_t max_redirects = 5;
    /// Read the slot map again this often even when nothing went wrong.
    std::chrono::milliseconds refresh_interval{30'000};
    /// At most one topology refresh per this interval (MOVED storms, dead nodes).
    std::chrono::milliseconds refresh_min_interval{250};
};

struct RedisClusterNodeStats {
    std::string endpoint; ///< "host:port"
    bool serving = false; ///< serves slots in the current map
    RedisCircuitState circuit = RedisCircuitState::closed;
    std::uint64_t connections_opened = 0, connect_failures = 0, circuit_opened = 0;
    std::size_t connections_open = 0;
};

struct RedisClusterStats {
    RedisErrorCounts errors{};
    std::uint64_t retries = 0;          ///< requests re-sent on a fresh connection
    std::uint64_t moved = 0, ask = 0;   ///< redirects followed
    std::uint64_t redirect_limit = 0;   ///< operations that gave up after max_redirects
    std::uint64_t refreshes = 0;        ///< slot maps read successfully
    std::uint64_t refresh_failures = 0; ///< refresh attempts that reached no node
    std::size_t slots_covered = 0;      ///< slots with an owner in the current map
    std::vector<RedisClusterNodeStats> nodes{};
};

class RedisClusterStore {
public:
    static constexpr std::chrono::milliseconds max_ttl = ttl::limit;
    static constexpr std::size_t max_value_bytes = RedisStore::max_value_bytes;

    /// Parses the seeds and loads TLS files; does not connect. Throws std::invalid_argument for a
    /// bad URL or TLS file (never with the password in the message); make() does not throw.
    explicit RedisClusterStore(RedisClusterOptions opts = {}) {
        auto s = build(std::move(opts));
        if (!s)
            detail::invalid_argument(s.error().message);
        state_ = std::move(*s);
    }

    static Result<RedisClusterStore> make(RedisClusterOptions opts) {
        auto s = build(std::move(opts));
        if (!s)
            return unexpected<Error>(s.error());
        return RedisClusterStore(std::move(*s));
    }

    // --- StorePolicy ------------------------------------------------------------------------
    StoreValue get(std::string_view key) noexcept {
        return run_key<std::optional<std::string>>(Op::read, key,
                                                   [&](Conn& c, Attempt& a, Clock::time_point dl) {
                                                       using R = IoResult<std::optional<std::string>>;
                                                       Wire w(a.asking);
                                                       w.add({"GET", key});
                                                       std::vector<Reply> replies;
                                                       if (auto p = exchange(c, w, replies, dl); !p)
                                                           return R(unexpected<Fault>(std::move(p).error()));
                                                       return string_or_nil(c, &a, *replies[0], "GET");
                                                   });
    }

    /// GET that restarts the TTL: GETEX on Redis >= 6.2, else GET + PEXPIRE/PERSIST.
    StoreValue get_and_touch(std::string_view key, std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return unexpected<Error>(bad.error());
        return run_key<std::optional<std::string>>(
            Op::read, key, [&](Conn& c, Attempt& a, Clock::time_point dl) {
                using R = IoResult<std::optional<std::string>>;
                const DecimalArg ms(ttl ? ttl->count() : 0);
                Wire w(a.asking);
                const bool getex = c.server().has_getex();
                if (getex) {
                    if (ttl)
                        w.add({"GETEX", key, "PX", ms.view()});
                    else
                        w.add({"GETEX", key, "PERSIST"});
                } else {
                    w.add({"GET", key});
                    if (ttl)
                        w.add({"PEXPIRE", key, ms.view()});
                    else
                        w.add({"PERSIST", key});
                }
                std::vector<Reply> replies;
                if (auto p = exchange(c, w, replies, dl); !p)
                    return R(unexpected<Fault>(std::move(p).error()));
                return string_or_nil(c, &a, *replies[0], getex ? "GETEX" : "GET");
            });
    }

    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return bad;
        if (value.size() > max_value_bytes)
            return fail(ErrorCode::too_large, "llmcache: the value exceeds Redis's 512 MB string limit");
        auto r = run_key<bool>(Op::write, key, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            const DecimalArg ms(ttl ? ttl->count() : 0);
            Wire w(a.asking);
            if (ttl)
                w.add({"SET", key, value, "PX", ms.view()});
            else
                w.add({"SET", key, value});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, dl); !p)
                return IoResult<bool>(unexpected<Fault>(std::move(p).error()));
            return expect_ok(c, &a, *replies[0], "SET");
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    Result<bool> erase(std::string_view key) noexcept {
        return run_key<bool>(Op::write, key, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            const std::string_view cmd = c.server().has_unlink() ? "UNLINK" : "DEL";
            Wire w(a.asking);
            w.add({cmd, key});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, dl); !p)
                return IoResult<bool>(unexpected<Fault>(std::move(p).error()));
            auto n = integer(c, &a, *replies[0], cmd);
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
    }

    // --- leasing_store (cross-process single-flight) ----------------------------------------
    /// SET <key> <random token> NX PX <ttl> on the key's slot owner (see RedisStore).
    Result<std::optional<std::string>> acquire_lease(std::string_view key,
                                                     std::chrono::milliseconds ttl) noexcept {
        if (ttl.count() <= 0 || ttl > max_ttl)
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisClusterStore: a lease TTL must be in (0, max_ttl]");
        const detail::redis::LeaseToken token = detail::redis::new_lease_token();
        return run_key<std::optional<std::string>>(
            Op::write, key, [&](Conn& c, Attempt& a, Clock::time_point dl) {
                using R = IoResult<std::optional<std::string>>;
                const DecimalArg ms(ttl.count());
                Wire w(a.asking);
                w.add({"SET", key, token.view(), "NX", "PX", ms.view()});
                std::vector<Reply> replies;
                if (auto p = exchange(c, w, replies, dl); !p)
                    return R(unexpected<Fault>(std::move(p).error()));
                const redisReply& r = *replies[0];
                switch (r.type) {
                case REDIS_REPLY_STATUS:
                    return R(std::optional<std::string>(std::in_place, token.view()));
                case REDIS_REPLY_NIL:
                    return R(std::optional<std::string>{});
                case REDIS_REPLY_ERROR:
                    return R(reply_fault(c, &a, r, "SET NX"));
                default:
                    return R(protocol_fault(c, "SET NX"));
                }
            });
    }

    /// Compare-and-delete (EVAL) on the key's slot owner: only a lease still holding `token` goes.
    Result<void> release_lease(std::string_view key, std::string_view token) noexcept {
        auto r = run_key<bool>(Op::write, key, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            Wire w(a.asking);
            w.add({"EVAL", detail::redis::release_lease_script, "1", key, token});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, dl); !p)
                return IoResult<bool>(unexpected<Fault>(std::move(p).error()));
            auto n = integer(c, &a, *replies[0], "EVAL");
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    // --- indexing_store (ordered indexes: one sorted set per index key) -----------------------
    // Each index is one key, so it lives on its slot's owner and follows MOVED/ASK like an entry.

    /// ZADD index score member (see RedisStore::index_add; scores beyond +-2^53 are refused).
    Result<void> index_add(std::string_view index, std::string_view member, std::int64_t score) noexcept {
        if (!detail::redis::exact_score(score))
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisClusterStore: an index score must be within +-2^53 (Redis keeps "
                        "doubles)");
        auto r = run_key<bool>(Op::write, index, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            const DecimalArg s(score);
            Wire w(a.asking);
            w.add({"ZADD", index, s.view(), member});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, dl); !p)
                return IoResult<bool>(unexpected<Fault>(std::move(p).error()));
            auto n = integer(c, &a, *replies[0], "ZADD");
            if (!n)
                return IoResult<bool>(unexpected<Fault>(std::move(n).error()));
            return IoResult<bool>(*n > 0);
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    /// ZRANGEBYSCORE index min_score +inf WITHSCORES LIMIT offset count on the index's owner.
    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min_score,
                                                 std::size_t offset, std::size_t count) noexcept {
        if (count == 0)
            return std::vector<IndexMember>{};
        return run_key<
            std::vector<IndexMember>>(Op::read, index, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            using R = IoResult<std::vector<IndexMember>>;
            const DecimalArg min(min_score);
            const DecimalArg off = detail::redis::count_arg(offset);
            const DecimalArg n = detail::redis::count_arg(count);
            Wire w(a.asking);
            w.add({"ZRANGEBYSCORE", index, min.view(), "+inf", "WITHSCORES", "LIMIT", off.view(), n.view()});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, scaled(dl, std::min<std::size_t>(count, 1'000'000))); !p)
                return R(unexpected<Fault>(std::move(p).error()));
            return detail::redis::index_members(c, *replies[0], "ZRANGEBYSCORE", [&](const redisReply& e) {
                return reply_fault(c, &a, e, "ZRANGEBYSCORE");
            });
        });
    }

    /// ZREM index m1 m2 ... on the index's owner. No members: 0, no round trip.
    Result<std::size_t> index_remove(std::string_view index,
                                     std::span<const std::string_view> members) noexcept {
        if (members.empty())
            return std::size_t{0};
        return run_key<std::size_t>(Op::write, index, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            using R = IoResult<std::size_t>;
            std::vector<std::string_view> args;
            args.reserve(members.size() + 2);
            args.push_back("ZREM");
            args.push_back(index);
            args.insert(args.end(), members.begin(), members.end());
            Wire w(a.asking);
            w.add_args(args);
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, scaled(dl, members.size())); !p)
                return R(unexpected<Fault>(std::move(p).error()));
            return size_reply(c, &a, *replies[0], "ZREM");
        });
    }

    /// ZREMRANGEBYSCORE index -inf max_score on the index's owner.
    Result<std::size_t> index_trim(std::string_view index, std::int64_t max_score) noexcept {
        return run_key<std::size_t>(Op::write, index, [&](Conn& c, Attempt& a, Clock::time_point dl) {
            using R = IoResult<std::size_t>;
            const DecimalArg max(max_score);
            Wire w(a.asking);
            w.add({"ZREMRANGEBYSCORE", index, "-inf", max.view()});
            std::vector<Reply> replies;
            if (auto p = exchange(c, w, replies, dl); !p)
                return R(unexpected<Fault>(std::move(p).error()));
            return size_reply(c, &a, *replies[0], "ZREMRANGEBYSCORE");
        });
    }

    /// Removes every key starting with `prefix` on every master (SCAN MATCH + pipelined UNLINK
    /// per node). When a master fails, the others are still cleared and the first error is
    /// returned. An empty prefix is refused.
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept {
        if (prefix.empty())
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisClusterStore::clear_prefix refuses an empty prefix (it would empty "
                        "the whole cluster)");
        std::size_t removed = 0;
        std::vector<std::string> pending; // keys found in the middle of a slot migration
        auto r = each_master(Op::write, [&](Conn& c, Attempt&, Clock::time_point) -> IoResult<void> {
            const std::string_view cmd = c.server().has_unlink() ? "UNLINK" : "DEL";
            std::vector<std::string> elsewhere; // keys this node no longer owns (migrating)
            auto s = scan(c, prefix, [&](std::span<const std::string_view> keys, Clock::time_point dl) {
                // Keys of one page may sit in different slots: one UNLINK per key (CROSSSLOT).
                Wire w(false);
                for (std::string_view k : keys)
                    w.add({cmd, k});
                std::vector<Reply> replies;
                if (auto p = exchange(c, w, replies, dl); !p)
                    return p;
                for (std::size_t i = 0; i < replies.size(); ++i) {
                    if (redirect_of(c, *replies[i])) {
                        elsewhere.emplace_back(keys[i]);
                        continue;
                    }
                    auto n = integer(c, nullptr, *replies[i], cmd);
                    if (!n)
                        return IoResult<void>(unexpected<Fault>(std::move(n).error()));
                    removed += static_cast<std::size_t>(*n);
                }
                return IoResult<void>();
            });
            if (!s)
                return s;
            pending.insert(pending.end(), elsewhere.begin(), elsewhere.end());
            return {};
        });
        // Keys whose slot moved while we scanned: erase them through the router.
        for (const std::string& k : pending)
            if (auto e = erase(k); e && *e)
                ++removed;
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return removed;
    }

    /// Pipelined GETs, one pipeline per node. Keys whose slot moved meanwhile are fetched one by
    /// one through the redirect logic. A node's failure is the result of each of its keys.
    std::vector<StoreValue> get_many(std::span<const std::string_view> keys) noexcept {
        std::vector<StoreValue> out;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            out.assign(keys.size(), StoreValue(std::optional<std::string>{}));
            if (keys.empty())
                return out;
            std::vector<std::size_t> redo;
            auto groups = group_by_node(
                keys.size(), [&](std::size_t i) { return keys[i]; }, out);
            for (auto& [node, idx] : groups) {
                std::vector<std::size_t>& indices = idx;
                auto r = run_on<bool>(*node, Op::read, false, [&](Conn& c, Attempt&, Clock::time_point dl) {
                    using R = IoResult<bool>;
                    Wire w(false);
                    for (std::size_t i : indices)
                        w.add({"GET", keys[i]});
                    std::vector<Reply> replies;
                    if (auto p = exchange(c, w, replies, scaled(dl, indices.size())); !p)
                        return R(unexpected<Fault>(std::move(p).error()));
                    for (std::size_t j = 0; j < replies.size(); ++j) {
                        if (redirect_of(c, *replies[j])) {
                            redo.push_back(indices[j]);
                            continue;
                        }
                        auto v = string_or_nil(c, nullptr, *replies[j], "GET");
                        if (!v && v.error().kind == Failure::protocol)
                            return R(unexpected<Fault>(std::move(v).error()));
                        out[indices[j]] =
                            v ? StoreValue(std::move(*v)) : StoreValue(unexpected<Error>(v.error().error));
                    }
                    return R(true);
                });
                if (!r)
                    for (std::size_t i : indices)
                        out[i] = StoreValue(unexpected<Error>(r.error()));
            }
            for (std::size_t i : redo)
                out[i] = get(keys[i]);
            return out;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            out.clear();
            return out; // an empty answer is a miss for everyone
        }
#endif
    }

    /// Pipelined SETs (each with its own PX), one pipeline per node. Returns how many were
    /// written; when any failed, the first failure (after every node was tried).
    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept {
        for (const StoreItem& item : items) {
            if (auto bad = check_ttl(item.ttl); !bad)
                return unexpected<Error>(bad.error());
            if (item.value.size() > max_value_bytes)
                return fail(ErrorCode::too_large, "llmcache: a value exceeds Redis's 512 MB string limit");
        }
        if (items.empty()) {
            return std::size_t{0};
        }
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::size_t written = 0;
            std::optional<Error> first;
            std::vector<StoreValue> unrouted(items.size(), StoreValue(std::optional<std::string>{}));
            auto groups = group_by_node(
                items.size(), [&](std::size_t i) { return items[i].key; }, unrouted);
            for (const StoreValue& u : unrouted)
                if (!u && !first)
                    first = u.error();
            std::vector<std::size_t> redo;
            for (auto& [node, idx] : groups) {
                std::vector<std::size_t>& indices = idx;
                auto r = run_on<bool>(*node, Op::write, false, [&](Conn& c, Attempt&, Clock::time_point dl) {
                    using R = IoResult<bool>;
                    Wire w(false);
                    for (std::size_t i : indices) {
                        const DecimalArg ms(items[i].ttl ? items[i].ttl->count() : 0);
                        if (items[i].ttl)
                            w.add({"SET", items[i].key, items[i].value, "PX", ms.view()});
                        else
                            w.add({"SET", items[i].key, items[i].value});
                    }
                    std::vector<Reply> replies;
                    if (auto p = exchange(c, w, replies, scaled(dl, indices.size())); !p)
                        return R(unexpected<Fault>(std::move(p).error()));
                    for (std::size_t j = 0; j < replies.size(); ++j) {
                        if (redirect_of(c, *replies[j])) {
                            redo.push_back(indices[j]);
                            continue;
                        }
                        auto ok = expect_ok(c, nullptr, *replies[j], "SET");
                        if (ok)
                            ++written;
                        else if (!first)
                            first = ok.error().error;
                    }
                    return R(true);
                });
                if (!r && !first)
                    first = r.error();
            }
            for (std::size_t i : redo) {
                auto r = put(items[i].key, items[i].value, items[i].ttl);
                if (r)
                    ++written;
                else if (!first)
                    first = r.error();
            }
            if (first) {
                first->message +=
                    " (" + std::to_string(written) + " of " + std::to_string(items.size()) + " written)";
                return unexpected<Error>(std::move(*first));
            }
            return written;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return Reporter::quietly("llmcache: RedisClusterStore: out of memory");
        }
#endif
    }

    // --- Redis-specific ---------------------------------------------------------------------
    /// Keys and bytes under `prefix`, summed over every master.
    Result<RedisScopeUsage> scope_usage(std::string_view prefix) noexcept {
        RedisScopeUsage usage;
        auto r = each_master(Op::read, [&](Conn& c, Attempt&, Clock::time_point) -> IoResult<void> {
            std::unordered_set<std::string> seen; // SCAN may return a key twice
            return scan(c, prefix, [&](std::span<const std::string_view> keys, Clock::time_point dl) {
                Wire w(false);
                std::vector<std::string_view> fresh;
                for (std::string_view k : keys)
                    if (seen.emplace(k).second) {
                        fresh.push_back(k);
                        w.add({"STRLEN", k});
                    }
                if (fresh.empty())
                    return IoResult<void>();
                std::vector<Reply> replies;
                if (auto p = exchange(c, w, replies, dl); !p)
                    return p;
                for (std::size_t i = 0; i < replies.size(); ++i) {
                    if (replies[i]->type == REDIS_REPLY_ERROR)
                        continue; // WRONGTYPE (not ours) or moved away meanwhile
                    auto n = integer(c, nullptr, *replies[i], "STRLEN");
                    if (!n)
                        return IoResult<void>(unexpected<Fault>(std::move(n).error()));
                    if (*n == 0)
                        continue;
                    ++usage.keys;
                    usage.bytes += static_cast<std::size_t>(*n);
                    usage.key_bytes += fresh[i].size();
                }
                return IoResult<void>();
            });
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return usage;
    }

    /// PINGs every master; the slowest round trip, or the first failure.
    Result<std::chrono::microseconds> ping() noexcept {
        std::chrono::microseconds slowest{0};
        auto r = each_master(Op::read, [&](Conn& c, Attempt&, Clock::time_point dl) -> IoResult<void> {
            const auto start = Clock::now();
            auto p = c.command({"PING"}, dl);
            if (!p)
                return unexpected<Fault>(std::move(p).error());
            if ((*p)->type == REDIS_REPLY_ERROR)
                return reply_fault(c, nullptr, **p, "PING");
            if ((*p)->type != REDIS_REPLY_STATUS)
                return protocol_fault(c, "PING");
            slowest = std::max(slowest,
                               std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
            return {};
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return slowest;
    }

    /// Reads the slot map now (bypassing the rate limit). Normally not needed: the store refreshes
    /// by itself.
    Result<void> refresh_topology() noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::lock_guard lock(state_->refresh_mu);
            return do_refresh();
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return Reporter::quietly("llmcache: RedisClusterStore: out of memory");
        }
#endif
    }

    /// The master ("host:port") that the current slot map names for `key`; empty when the map is
    /// not known yet or the slot has no owner. For diagnostics and tests.
    std::optional<std::string> node_for_key(std::string_view key) const {
        auto m = map();
        if (!m)
            return std::nullopt;
        const detail::redis::NodeAddr* a = m->owner(detail::redis::key_slot(key));
        if (a == nullptr)
            return std::nullopt;
        return a->endpoint();
    }

    /// The masters serving slots in the current map ("host:port" each).
    std::vector<std::string> masters() const {
        std::vector<std::string> out;
        if (auto m = map())
            for (const auto& a : m->serving_masters())
                out.push_back(a.endpoint());
        return out;
    }

    /// The hash slot of `key` (CRC16-XMODEM of the key or its hash tag, mod 16384).
    static std::uint16_t slot_of(std::string_view key) noexcept {
        return detail::redis::key_slot(key);
    }

    RedisClusterStats stats() const {
        const State& st = *state_;
        RedisClusterStats s;
        st.report.fill(s.errors);
        s.retries = st.retries.load(std::memory_order_relaxed);
        s.moved = st.moved.load(std::memory_order_relaxed);
        s.ask = st.ask.load(std::memory_order_relaxed);
        s.redirect_limit = st.redirect_limit.load(std::memory_order_relaxed);
        s.refreshes = st.refreshes.load(std::memory_order_relaxed);
        s.refresh_failures = st.refresh_failures.load(std::memory_order_relaxed);
        auto m = map();
        std::vector<std::string> serving;
        if (m) {
            s.slots_covered = m->covered();
            for (const auto& a : m->serving_masters())
                serving.push_back(a.endpoint());
        }
        std::lock_guard lock(st.nodes_mu);
        for (const auto& [endpoint, node] : st.nodes) {
            RedisClusterNodeStats ns;
            ns.endpoint = endpoint;
            ns.serving = std::find(serving.begin(), serving.end(), endpoint) != serving.end();
            ns.circuit = detail::redis::public_state<RedisCircuitState>(node->breaker.state());
            const auto p = node->pool.stats();
            ns.connections_opened = p.opened;
            ns.connect_failures = p.connect_failures;
            ns.connections_open = p.open;
            ns.circuit_opened = node->breaker.stats().openings;
            s.nodes.push_back(std::move(ns));
        }
        return s;
    }

    void set_log_sink(std::function<void(std::string_view)> sink) noexcept {
        state_->report.set_sink(std::move(sink));
    }

    /// The seeds, passwords masked.
    std::vector<std::string> seeds() const {
        std::vector<std::string> out;
        for (const auto& u : state_->seeds)
            out.push_back(u.display());
        return out;
    }
    const RedisClusterOptions& options() const noexcept {
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
    using NodeAddr = detail::redis::NodeAddr;
    using SlotMap = detail::redis::SlotMap;
    using Redirect = detail::redis::Redirect;
    using Reporter = detail::redis::Reporter;
    template <class T>
    using IoResult = detail::redis::IoResult<T>;

    enum class Op { read, write };

    /// One try of an operation on one node: whether it must be preceded by ASKING, and the
    /// redirect the node answered with, if any.
    struct Attempt {
        bool asking = false;
        std::optional<Redirect> redirect{};
    };

    /// Commands for one pipeline; with `asking`, each is preceded by ASKING (which only holds
    /// for the next command).
    struct Wire {
        explicit Wire(bool ask) : asking(ask) {}
        void add(std::initializer_list<std::string_view> args) {
            add_args(std::span<const std::string_view>(args.begin(), args.size()));
        }
        void add_args(std::span<const std::string_view> args) {
            if (asking)
                append({"ASKING"});
            append(args);
            ++commands;
        }
        void append(std::span<const std::string_view> args) {
            if (!detail::redis::append_command(bytes, args))
                detail::redis::out_of_memory();
        }
        void append(std::initializer_list<std::string_view> args) {
            append(std::span<const std::string_view>(args.begin(), args.size()));
        }
        bool asking;
        std::string bytes;
        std::size_t commands = 0;
    };

    struct Node {
        Node(detail::redis::Url u, detail::redis::ConnectOptions copts, detail::redis::PoolOptions popts,
             detail::redis::BreakerOptions bopts)
            : url(u), pool(std::move(u), std::move(copts), popts), breaker(bopts) {
            circuit_message = "llmcache: redis " + url.endpoint() +
                              ": circuit open after repeated failures; not trying until the cool-down ends";
        }
        detail::redis::Url url;
        detail::redis::Pool pool;
        Breaker breaker;
        std::string circuit_message;
    };

    struct State {
        std::vector<detail::redis::Url> seeds;
        detail::redis::Url base; ///< transport and credentials for every node
        RedisClusterOptions opts;
        detail::redis::ConnectOptions copts;
        detail::redis::PoolOptions popts;

        mutable std::mutex nodes_mu;
        std::map<std::string, std::shared_ptr<Node>> nodes; // by endpoint

        mutable std::mutex map_mu;
        std::shared_ptr<const SlotMap> map;
        std::string topology_error; // why the last refresh failed (under map_mu)

        std::mutex refresh_mu; // one refresh at a time
        std::atomic<bool> refresh_wanted{false};
        std::atomic<Clock::rep> next_refresh_allowed{0}; // steady-clock ticks
        std::atomic<Clock::rep> next_periodic{0};

        Reporter report; ///< error counts, once-per-episode logging, the log sink
        std::atomic<std::uint64_t> retries{0}, moved{0}, ask{0}, redirect_limit{0}, refreshes{0},
            refresh_failures{0};
    };

    explicit RedisClusterStore(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}

    static Result<std::shared_ptr<State>> build(RedisClusterOptions opts) {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            auto st = std::make_shared<State>();
            std::vector<std::string> texts = opts.seeds;
            if (texts.empty())
                texts.push_back(detail::redis::default_url());
            for (const std::string& text : texts) {
                auto url = detail::redis::parse_url(text);
                if (!url)
                    return unexpected<Error>(url.error());
                if (url->transport == detail::redis::Transport::unix_socket)
                    return fail(ErrorCode::invalid_argument,
                                "llmcache: RedisClusterStore: seed '" + url->display() +
                                    "' is a unix socket; cluster nodes are reached over TCP");
                if (url->db != 0)
                    return fail(ErrorCode::invalid_argument, "llmcache: RedisClusterStore: seed '" +
                                                                 url->display() + "' selects database " +
                                                                 std::to_string(url->db) +
                                                                 "; a Redis Cluster has only database 0");
                if (!st->seeds.empty() && url->transport != st->seeds.front().transport)
                    return fail(ErrorCode::invalid_argument,
                                "llmcache: RedisClusterStore: the seeds mix redis:// and rediss://");
                st->seeds.push_back(std::move(*url));
            }
            const detail::redis::Url& first = st->seeds.front();
            if (first.connect_timeout)
                opts.connect_timeout = *first.connect_timeout;
            if (first.command_timeout)
                opts.command_timeout = *first.command_timeout;
            if (first.pool_size)
                opts.pool_size = *first.pool_size;
            if (opts.connect_timeout.count() <= 0 || opts.command_timeout.count() <= 0 ||
                opts.pool_wait.count() < 0)
                return fail(ErrorCode::invalid_argument,
                            "llmcache: RedisClusterOptions: timeouts must be positive");
            st->base = first;
            st->copts.connect_timeout = opts.connect_timeout;
            st->copts.client_name = first.client_name ? *first.client_name : opts.client_name;
            st->copts.assume_version = opts.assume_version;
            st->copts.reply_timeout_hint = opts.command_timeout;
            if (first.tls()) {
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
                st->copts.tls = std::move(*ctx);
            }
            st->popts.max_connections = opts.pool_size;
            st->popts.wait_timeout = opts.pool_wait;
            st->popts.idle_check_after = opts.idle_check_after;
            st->popts.backoff_max = opts.reconnect_backoff_max;
            st->report.configure({.sink = opts.log_sink,
                                  .secrets = {first.password},
                                  .fail_fast = "operations on its slots fail fast",
                                  .answers = "the node answers again"});
            st->opts = std::move(opts);
            if (first.tls() && !st->opts.tls.verify)
                st->report.emit(
                    "llmcache: redis cluster: TLS certificate verification is OFF "
                    "(RedisClusterOptions::tls.verify = false); anyone on the network path can read "
                    "and change the cache");
            return st;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return fail(ErrorCode::invalid_argument, "llmcache: RedisClusterStore: out of memory");
        }
#endif
    }

    static Result<void> check_ttl(std::optional<std::chrono::milliseconds> ttl) {
        if (ttl && (ttl->count() <= 0 || *ttl > max_ttl))
            return fail(ErrorCode::invalid_argument,
                        "llmcache: RedisClusterStore: a TTL must be positive and at most max_ttl");
        return {};
    }

    Clock::time_point scaled(Clock::time_point deadline, std::size_t n) const noexcept {
        return deadline + state_->opts.command_timeout * static_cast<long>(n / 1000);
    }

    // --- topology ---------------------------------------------------------------------------
    std::shared_ptr<const SlotMap> map() const {
        std::lock_guard lock(state_->map_mu);
        return state_->map;
    }

    std::shared_ptr<Node> node_at(const NodeAddr& a) {
        State& st = *state_;
        std::string key = a.endpoint();
        std::lock_guard lock(st.nodes_mu);
        auto it = st.nodes.find(key);
        if (it != st.nodes.end())
            return it->second;
        detail::redis::Url u = st.base;
        u.host = a.host;
        u.port = a.port;
        auto node = std::make_shared<Node>(
            std::move(u), st.copts, st.popts,
            detail::redis::BreakerOptions{st.opts.circuit.failure_threshold, st.opts.circuit.cool_down});
        st.nodes.emplace(std::move(key), node);
        return node;
    }

    void want_refresh() noexcept {
        state_->refresh_wanted.store(true, std::memory_order_relaxed);
    }

    /// Refreshes the slot map when one is due and allowed. The first caller without any map waits
    /// for the refresh; later ones never wait for another thread's refresh.
    void maybe_refresh() {
        State& st = *state_;
        const Clock::rep now = Clock::now().time_since_epoch().count();
        const bool have_map = map() != nullptr;
        const bool due = !have_map || st.refresh_wanted.load(std::memory_order_relaxed) ||
                         now >= st.next_periodic.load(std::memory_order_relaxed);
        if (!due || now < st.next_refresh_allowed.load(std::memory_order_relaxed))
            return;
        std::unique_lock lock(st.refresh_mu, std::defer_lock);
        if (have_map) {
            if (!lock.try_lock())
                return;
        } else {
            lock.lock();
            if (map() != nullptr)
                return; // another thread read it meanwhile
        }
        if (Clock::now().time_since_epoch().count() < st.next_refresh_allowed.load(std::memory_order_relaxed))
            return;
        (void)do_refresh();
    }

    /// Asks the known masters, then the seeds, for CLUSTER SLOTS; the first good answer wins.
    /// Called with refresh_mu held.
    Result<void> do_refresh() {
        State& st = *state_;
        const auto started = Clock::now();
        st.next_refresh_allowed.store((started + st.opts.refresh_min_interval).time_since_epoch().count(),
                                      std::memory_order_relaxed);
        st.refresh_wanted.store(false, std::memory_order_relaxed);
        std::vector<NodeAddr> candidates;
        if (auto m = map())
            candidates = m->serving_masters();
        for (const auto& s : st.seeds) {
            NodeAddr a{s.host, s.port};
            if (std::find(candidates.begin(), candidates.end(), a) == candidates.end())
                candidates.push_back(std::move(a));
        }
        std::string why = "no node to ask";
        bool not_cluster = false;
        for (const NodeAddr& a : candidates) {
            auto node = node_at(a);
            auto lease = node->pool.acquire();
            if (!lease) {
                why = lease.error().error.message;
                continue;
            }
            Conn& c = **lease;
            auto r = c.command({"CLUSTER", "SLOTS"}, Clock::now() + st.opts.command_timeout);
            c.finish_request();
            if (!r) {
                why = r.error().error.message;
                continue;
            }
            const redisReply& reply = **r;
            if (reply.type == REDIS_REPLY_ERROR) {
                const std::string_view text = detail::redis::reply_text(reply);
                why = c.what("CLUSTER SLOTS refused: " + c.scrub(std::string(text)));
                if (text.find("cluster support disabled") != std::string_view::npos) {
                    not_cluster = true;
                    why += " (this server is not in cluster mode; use RedisStore)";
                }
                continue;
            }
            std::string bad;
            auto fresh = SlotMap::from_cluster_slots(reply, c.url().host, bad);
            if (!fresh) {
                why = c.what(bad);
                continue;
            }
            const std::size_t covered = fresh->covered();
            auto shared = std::make_shared<const SlotMap>(std::move(*fresh));
            {
                std::lock_guard lock(st.map_mu);
                st.map = std::move(shared);
                st.topology_error.clear();
            }
            st.refreshes.fetch_add(1, std::memory_order_relaxed);
            st.next_periodic.store((Clock::now() + st.opts.refresh_interval).time_since_epoch().count(),
                                   std::memory_order_relaxed);
            if (covered < detail::redis::cluster_slots)
                st.report.log_once(
                    Failure::masterdown,
                    "llmcache: redis cluster: " + std::to_string(detail::redis::cluster_slots - covered) +
                        " of 16384 slots have no master; keys in them are misses");
            return {};
        }
        st.refresh_failures.fetch_add(1, std::memory_order_relaxed);
        why = st.report.scrub(
            "llmcache: redis cluster: cannot read the slot map from any node (last error: " + why + ")");
        {
            std::lock_guard lock(st.map_mu);
            st.topology_error = why;
        }
        st.report.log_once(not_cluster ? Failure::other_reply : Failure::connect, why);
        return fail(ErrorCode::store_unavailable, why);
    }

    /// The node that serves `slot`, or the failure to name one.
    Result<std::shared_ptr<Node>> owner_of(std::uint16_t slot) {
        auto m = map();
        if (!m)
            return no_map();
        const NodeAddr* a = m->owner(slot);
        if (a == nullptr) {
            want_refresh();
            return counted(Failure::masterdown,
                           Error{ErrorCode::store_unavailable,
                                 "llmcache: redis cluster: slot " + std::to_string(slot) + " has no master",
                                 0, std::nullopt});
        }
        return node_at(*a);
    }

    /// The failure of an operation that found no slot map: counted as a connect failure, not
    /// logged again (the failed refresh was).
    unexpected<Error> no_map() {
        State& st = *state_;
        std::string why;
        {
            std::lock_guard lock(st.map_mu);
            why = st.topology_error;
        }
        st.report.count(Failure::connect);
        return unexpected<Error>(Error{
            ErrorCode::store_unavailable,
            why.empty() ? "llmcache: redis cluster: the slot map is not known yet" : why, 0, std::nullopt});
    }

    void apply_moved(const Redirect& r) {
        State& st = *state_;
        std::lock_guard lock(st.map_mu);
        if (st.map) {
            const NodeAddr* now = st.map->owner(r.slot);
            if (now == nullptr || !(*now == r.to))
                st.map = std::make_shared<const SlotMap>(st.map->with_slot(r.slot, r.to));
        }
    }

    // --- routing ----------------------------------------------------------------------------
    /// One key's operation: to the slot's owner, following MOVED and ASK up to max_redirects.
    template <class T, class Body>
    Result<T> run_key(Op op, std::string_view key, Body&& body) noexcept {
        State& st = *state_;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            maybe_refresh();
            const std::uint16_t slot = detail::redis::key_slot(key);
            auto owner = owner_of(slot);
            if (!owner)
                return unexpected<Error>(std::move(owner).error());
            std::shared_ptr<Node> node = std::move(*owner);
            bool asking = false;
            std::string trail;
            for (std::size_t hop = 0;; ++hop) {
                Attempt a;
                a.asking = asking;
                Result<T> r = run_attempt<T>(*node, op, a, body);
                if (!a.redirect)
                    return r;
                const Redirect& rd = *a.redirect;
                const bool moved = rd.kind == Redirect::Kind::moved;
                if (!trail.empty())
                    trail += ", ";
                trail +=
                    std::string(moved ? "MOVED " : "ASK ") + std::to_string(rd.slot) + " " + rd.to.endpoint();
                if (moved) {
                    apply_moved(rd);
                    want_refresh();
                }
                if (hop >= st.opts.max_redirects) {
                    st.redirect_limit.fetch_add(1, std::memory_order_relaxed);
                    return counted(Failure::redirect,
                                   Error{ErrorCode::store_unavailable,
                                         "llmcache: redis cluster: gave up on slot " + std::to_string(slot) +
                                             " after " + std::to_string(hop + 1) + " redirects (" + trail +
                                             "); is a slot migration stuck?",
                                         0, std::nullopt});
                }
                (moved ? st.moved : st.ask).fetch_add(1, std::memory_order_relaxed);
                asking = !moved;
                node = node_at(rd.to);
            }
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (const std::bad_alloc&) {
            return Reporter::quietly("llmcache: RedisClusterStore: out of memory");
        } catch (...) {
            return Reporter::quietly("llmcache: RedisClusterStore: unexpected internal error");
        }
#endif
    }

    /// run_attempt for bodies that handle redirects themselves (batches, scans).
    template <class T, class Body>
    Result<T> run_on(Node& node, Op op, bool asking, Body&& body) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            Attempt a;
            a.asking = asking;
            return run_attempt<T>(node, op, a, body);
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return Reporter::quietly("llmcache: RedisClusterStore: out of memory");
        }
#endif
    }

    /// The common path on one node: its breaker, its pool, one retry on a fresh connection when
    /// a pooled one turned out closed. A redirect answer leaves a.redirect set and counts as the
    /// node answering (no error is counted for it here).
    template <class T, class Body>
    Result<T> run_attempt(Node& node, Op op, Attempt& a, Body& body) {
        State& st = *state_;
        if (detail::store_budget::exhausted()) // the caller's time for store operations is up
            return unexpected<Error>(Error{ErrorCode::store_timeout, {}, 0, std::nullopt});
        const auto admit = node.breaker.admit();
        if (admit == Breaker::Admit::no) {
            st.report.count(Failure::circuit_open);
            return Reporter::quietly(node.circuit_message);
        }
        if (admit == Breaker::Admit::probe)
            node.pool.reset_backoff();
        for (int attempt = 0;; ++attempt) {
            auto lease = node.pool.acquire();
            if (!lease)
                return failed(node, admit, op, std::move(lease).error());
            const auto deadline = detail::store_budget::clamp(Clock::now() + st.opts.command_timeout);
            IoResult<T> r = [&] {
#if LLMCACHE_HAS_EXCEPTIONS
                try {
#endif
                    return body(**lease, a, deadline);
#if LLMCACHE_HAS_EXCEPTIONS
                } catch (...) {
                    (*lease)->poison(); // we do not know what the connection has unread
                    throw;
                }
#endif
            }();
            (*lease)->finish_request();
            lease->release();
            if (r) {
                succeeded(node, admit, op);
                return std::move(*r);
            }
            Fault f = std::move(r).error();
            if (a.redirect) {
                succeeded(node, admit, op);
                return unexpected<Error>(std::move(f.error));
            }
            if (f.retryable && attempt == 0) {
                st.retries.fetch_add(1, std::memory_order_relaxed);
                node.pool.drop_idle();
                continue;
            }
            return failed(node, admit, op, std::move(f));
        }
    }

    /// Runs body on every serving master (after a refresh when due). Every master is tried; the
    /// first failure is returned.
    template <class Body>
    Result<void> each_master(Op op, Body&& body) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            maybe_refresh();
            auto m = map();
            if (!m)
                return no_map();
            std::optional<Error> first;
            for (const NodeAddr& a : m->serving_masters()) {
                auto node = node_at(a);
                auto r = run_on<bool>(*node, op, false, [&](Conn& c, Attempt& at, Clock::time_point dl) {
                    auto x = body(c, at, dl);
                    if (!x)
                        return IoResult<bool>(unexpected<Fault>(std::move(x).error()));
                    return IoResult<bool>(true);
                });
                if (!r && !first)
                    first = std::move(r).error();
            }
            if (first)
                return unexpected<Error>(std::move(*first));
            return {};
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return Reporter::quietly("llmcache: RedisClusterStore: out of memory");
        }
#endif
    }

    /// Indices of n keys grouped by the node that serves them; keys with no known owner get the
    /// error in `errors[i]` instead.
    template <class KeyAt>
    std::vector<std::pair<std::shared_ptr<Node>, std::vector<std::size_t>>>
    group_by_node(std::size_t n, KeyAt&& key_at, std::vector<StoreValue>& errors) {
        maybe_refresh();
        std::vector<std::pair<std::shared_ptr<Node>, std::vector<std::size_t>>> groups;
        for (std::size_t i = 0; i < n; ++i) {
            auto owner = owner_of(detail::redis::key_slot(key_at(i)));
            if (!owner) {
                errors[i] = StoreValue(unexpected<Error>(std::move(owner).error()));
                continue;
            }
            auto it =
                std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == *owner; });
            if (it == groups.end()) {
                groups.emplace_back(std::move(*owner), std::vector<std::size_t>{});
                it = groups.end() - 1;
            }
            it->second.push_back(i);
        }
        return groups;
    }

    // --- the wire ---------------------------------------------------------------------------
    /// Sends the pipeline and returns the replies of its commands (ASKING replies removed).
    static IoResult<void> exchange(Conn& c, const Wire& w, std::vector<Reply>& out, Clock::time_point dl) {
        const std::size_t total = w.commands * (w.asking ? 2 : 1);
        std::vector<Reply> replies;
        if (auto p = c.pipeline(w.bytes, total, replies, dl); !p)
            return p;
        if (!w.asking) {
            out = std::move(replies);
            return {};
        }
        out.clear();
        for (std::size_t i = 0; i + 1 < replies.size(); i += 2) {
            if (replies[i]->type == REDIS_REPLY_ERROR)
                return reply_fault(c, nullptr, *replies[i], "ASKING");
            out.push_back(std::move(replies[i + 1]));
        }
        return {};
    }

    static std::optional<Redirect> redirect_of(const Conn& c, const redisReply& r) {
        if (r.type != REDIS_REPLY_ERROR)
            return std::nullopt;
        return detail::redis::parse_redirect(detail::redis::reply_text(r), c.url().host);
    }

    /// An error reply as a Fault; a MOVED/ASK reply also fills a->redirect (when a is given).
    static unexpected<Fault> reply_fault(Conn& c, Attempt* a, const redisReply& r, std::string_view cmd) {
        std::string msg = c.scrub(std::string(detail::redis::reply_text(r)));
        const Failure kind = detail::redis::classify_error_reply(msg);
        if (a != nullptr && kind == Failure::redirect)
            a->redirect = redirect_of(c, r);
        return detail::redis::fault(kind, ErrorCode::store_rejected,
                                    c.what(std::string(cmd) + " refused: " + msg));
    }
    static unexpected<Fault> protocol_fault(Conn& c, std::string_view cmd) {
        return detail::redis::protocol_fault(c, cmd);
    }
    static IoResult<std::optional<std::string>> string_or_nil(Conn& c, Attempt* a, const redisReply& r,
                                                              std::string_view cmd) {
        return detail::redis::string_or_nil(c, r, cmd,
                                            [&](const redisReply& e) { return reply_fault(c, a, e, cmd); });
    }
    static IoResult<bool> expect_ok(Conn& c, Attempt* a, const redisReply& r, std::string_view cmd) {
        return detail::redis::expect_ok(c, r, cmd,
                                        [&](const redisReply& e) { return reply_fault(c, a, e, cmd); });
    }
    static IoResult<long long> integer(Conn& c, Attempt* a, const redisReply& r, std::string_view cmd) {
        return detail::redis::integer(c, r, cmd,
                                      [&](const redisReply& e) { return reply_fault(c, a, e, cmd); });
    }
    static IoResult<std::size_t> size_reply(Conn& c, Attempt* a, const redisReply& r, std::string_view cmd) {
        return detail::redis::size_reply(c, r, cmd,
                                         [&](const redisReply& e) { return reply_fault(c, a, e, cmd); });
    }

    /// SCAN one node for keys starting with `prefix`; page(keys, deadline) per non-empty page.
    template <class Page>
    IoResult<void> scan(Conn& c, std::string_view prefix, Page&& page) {
        const State& st = *state_;
        return detail::redis::scan_prefix(
            c, prefix, st.opts.command_timeout, st.opts.bulk_timeout, st.opts.scan_count,
            [&](const redisReply& e) { return reply_fault(c, nullptr, e, "SCAN"); },
            std::forward<Page>(page));
    }

    // --- outcomes (see detail/redis/reporter.hpp) ---------------------------------------------
    /// Counts (and logs once) a failure that did not come from a node's answer.
    unexpected<Error> counted(Failure kind, Error e) {
        return state_->report.failed(kind, std::move(e));
    }

    void succeeded(Node& node, Breaker::Admit admit, Op op) {
        state_->report.succeeded(node.breaker, admit, op == Op::write, node.url);
    }

    /// A node that cannot be reached or says CLUSTERDOWN: the topology may have changed too.
    unexpected<Error> failed(Node& node, Breaker::Admit admit, Op, Fault f) {
        return state_->report.failed(node.breaker, node.pool, admit, std::move(f), node.url,
                                     [this] { want_refresh(); });
    }

    std::shared_ptr<State> state_;
};

LLMCACHE_END_NAMESPACE
