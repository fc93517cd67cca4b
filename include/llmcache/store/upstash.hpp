// UpstashRestStore: llmcache entries in an Upstash Redis database, over its REST API (HTTPS), for
// serverless and edge deployments where a TCP connection to Redis is not available.
//
// Requires: LLMCACHE_WITH_CURL=1 (libcurl + simdjson; see detail/http/client.hpp).
//
//     auto store = llmcache::UpstashRestStore::from_env();   // UPSTASH_REDIS_REST_URL / _TOKEN
//     if (!store) { /* store.error().message says what is missing; never the token */ }
//     llmcache::UpstashRestStore direct({.url = "https://eu1-x.upstash.io", .token = token});
//
// Protocol: each operation POSTs a JSON array command (["SET","k","v","PX","60000"]) to the base
// URL, batches POST an array of them to /pipeline, with `Authorization: Bearer <token>`. Commands
// are the same as RedisStore's: get = GET; get_and_touch = GETEX PX|PERSIST; put = SET [PX] (TTL
// in the same command); erase = UNLINK; clear_prefix = SCAN MATCH <escaped prefix>* COUNT n and
// UNLINK per page; get_many = MGET (pipelined chunks); put_many = pipelined SETs; index_* =
// ZADD / ZRANGEBYSCORE WITHSCORES LIMIT / ZREM / ZREMRANGEBYSCORE; acquire_lease = SET NX PX;
// release_lease = EVAL of the same compare-and-delete script (Upstash runs Lua over REST).
//
// Binary safety, by design. Entries are arbitrary bytes, but a REST command is JSON, and JSON
// strings carry only Unicode text: Upstash (and this client's JSON writer) would turn bytes that
// are not UTF-8 into U+FFFD. So:
// - values are stored base64-encoded (the Redis string holds base64 text, 4/3 of the size) and
//   decoded on read; a stored value that is not valid base64 (written by something else) is read
//   as a corrupt_entry error, never as bytes that were not written by this store. A database
//   written by UpstashRestStore is therefore not readable by RedisStore over TCP, and vice versa.
// - keys, prefixes, index names and members are sent as they are and must be valid UTF-8: an
//   invalid one is refused with invalid_argument, never replaced (two different keys would then
//   collide, and a collision can serve another question's answer). llmcache's key policies
//   produce ASCII keys.
// - responses: with `base64_responses` the store sends `Upstash-Encoding: base64` and decodes every
//   string of the result (except the status "OK", which Upstash leaves as is; an encoded "OK", as
//   SRH sends it, decodes to the same). It is off by default: everything this store writes is
//   ASCII already, so replies are exact without it, and it would add a third to every read.
//
// Consistency: Upstash may serve reads from a replica; with `read_your_writes` (default on) the
// store keeps the latest `upstash-sync-token` response header and sends it back with every
// request, so a read sees this store's earlier writes (Upstash waits for the replica to catch up).
// Copies of a store share the token. Pipelines are not atomic (other clients may interleave).
//
// Fail-open: every operation is noexcept and returns failures as values. Transport failures are
// store_unavailable (refused, reset, DNS, TLS, HTTP 5xx/429, a malformed reply) or store_timeout;
// a refused token (HTTP 401/403) and Redis error replies ({"error": ...}) are store_rejected.
// Transport failures and refused tokens count towards a circuit breaker: after
// `circuit.failure_threshold` in a row, operations fail at once with store_unavailable for
// `circuit.cool_down`, then one probe decides. Failures are counted (stats()) and logged once per
// outage (when it starts, when the circuit opens, when it ends) through the log sink; no message
// ever contains the token. Called from a Cache, each request's timeout is cut to what is left of
// CacheOptions::store_budget, and no request starts once it is used up (store_timeout).
//
// Limits: a request body above `max_request_bytes` (Upstash's default limit is 10 MB) is refused
// with too_large before it is sent; put_many splits its pipeline to stay under it.
#pragma once

#include "../config.hpp"
#include "../detail/base64.hpp"
#include "../detail/http/client.hpp"
#include "../detail/json_read.hpp"
#include "../detail/json_write.hpp"
#include "../detail/redis/lease.hpp"
#include "../detail/store_budget.hpp"
#include "../error.hpp"
#include "../ttl.hpp"
#include "types.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct UpstashCircuitOptions {
    std::size_t failure_threshold = 5;         ///< consecutive failures that open it; 0 = never opens
    std::chrono::milliseconds cool_down{1000}; ///< open this long, then one probe
};

struct UpstashStoreOptions {
    /// The database's REST URL ("https://<name>.upstash.io"). Empty: $UPSTASH_REDIS_REST_URL,
    /// else $KV_REST_API_URL (Vercel's naming). One trailing '/' is removed.
    std::string url{};
    /// The REST token. Empty: $UPSTASH_REDIS_REST_TOKEN, else $KV_REST_API_TOKEN.
    std::string token{};
    std::chrono::milliseconds connect_timeout{1000}; ///< DNS + TCP + TLS for a new connection
    std::chrono::milliseconds request_timeout{1000}; ///< one REST call, connection setup included
    std::chrono::milliseconds bulk_timeout{30'000};  ///< a whole clear_prefix
    std::size_t scan_count = 1000;                   ///< SCAN COUNT hint, MGET chunk size
    std::size_t max_request_bytes = 10'000'000;      ///< Upstash's default max request size
    bool base64_responses = false;                   ///< send `Upstash-Encoding: base64`
    bool read_your_writes = true;                    ///< echo `upstash-sync-token`
    UpstashCircuitOptions circuit{};
    /// Receives each log line (prefixed "llmcache:"); empty: a line on stderr. Must not throw.
    std::function<void(std::string_view)> log_sink{};
};

struct UpstashStoreStats {
    std::uint64_t requests = 0;    ///< REST calls sent (a pipeline is one)
    std::uint64_t unavailable = 0; ///< transport failures, 5xx/429, malformed replies
    std::uint64_t timeouts = 0;
    std::uint64_t auth = 0;     ///< 401 / 403: the token was refused
    std::uint64_t rejected = 0; ///< Redis error replies
    std::uint64_t circuit_open = 0;
    std::uint64_t circuit_opened = 0, circuit_closed = 0;
    bool circuit_is_open = false;
    std::uint64_t total_errors() const noexcept {
        return unavailable + timeouts + auth + rejected + circuit_open;
    }
};

namespace detail::upstash {

/// `prefix` as a SCAN MATCH pattern matching exactly the keys that start with it.
inline std::string scan_match_pattern(std::string_view prefix) {
    std::string p;
    p.reserve(prefix.size() + 8);
    for (char ch : prefix) {
        if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\')
            p += '\\';
        p += ch;
    }
    p += '*';
    return p;
}

/// Decimal text of an integer argument.
struct Decimal {
    char buf[24];
    std::size_t len = 0;
    explicit Decimal(std::int64_t v) noexcept {
        len = static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf);
    }
    std::string_view view() const noexcept { return {buf, len}; }
};

/// Parses a sorted-set score as Redis prints it ("1700000000000", "-5", "1.5e+20").
inline std::optional<std::int64_t> parse_score(std::string_view s) noexcept {
    std::int64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size())
        return v;
    double d = 0;
    auto rd = std::from_chars(s.data(), s.data() + s.size(), d);
    if (rd.ec != std::errc() || rd.ptr != s.data() + s.size() || !std::isfinite(d) || d < -9.2e18 ||
        d > 9.2e18)
        return std::nullopt;
    return static_cast<std::int64_t>(d);
}

/// The breaker: closed -> open after `threshold` consecutive failures; open -> one probe after
/// the cool-down; the probe's outcome closes or reopens it.
class Breaker {
public:
    enum class Admit : std::uint8_t { yes, probe, no };
    explicit Breaker(UpstashCircuitOptions o) : opts_(o) {}

    Admit admit() noexcept {
        std::lock_guard lock(mu_);
        if (!open_)
            return Admit::yes;
        if (probe_out_ || Clock::now() < open_until_)
            return Admit::no;
        probe_out_ = true;
        return Admit::probe;
    }
    /// True when this closed an open circuit.
    bool on_success(Admit how) noexcept {
        std::lock_guard lock(mu_);
        failures_ = 0;
        if (how == Admit::probe)
            probe_out_ = false;
        if (!open_)
            return false;
        open_ = false;
        ++closings_;
        return true;
    }
    /// True when this opened the circuit.
    bool on_failure(Admit how) noexcept {
        std::lock_guard lock(mu_);
        if (opts_.failure_threshold == 0)
            return false;
        if (how == Admit::probe) {
            probe_out_ = false;
            open_until_ = Clock::now() + opts_.cool_down;
            return false;
        }
        if (++failures_ < opts_.failure_threshold || open_)
            return false;
        open_ = true;
        open_until_ = Clock::now() + opts_.cool_down;
        ++openings_;
        return true;
    }
    /// The call said nothing about the server (a refused argument, a Redis error reply).
    void on_neutral(Admit how) noexcept {
        std::lock_guard lock(mu_);
        if (how == Admit::probe)
            probe_out_ = false;
    }
    bool is_open() const noexcept {
        std::lock_guard lock(mu_);
        return open_;
    }
    std::uint64_t openings() const noexcept {
        std::lock_guard lock(mu_);
        return openings_;
    }
    std::uint64_t closings() const noexcept {
        std::lock_guard lock(mu_);
        return closings_;
    }

private:
    using Clock = std::chrono::steady_clock;
    UpstashCircuitOptions opts_;
    mutable std::mutex mu_;
    bool open_ = false;
    bool probe_out_ = false;
    std::size_t failures_ = 0;
    Clock::time_point open_until_{};
    std::uint64_t openings_ = 0, closings_ = 0;
};

/// One reply envelope: the result, or the Redis error text.
struct Envelope {
    json_read::Value result{};
    std::optional<std::string> error{};
};

} // namespace detail::upstash

class UpstashRestStore {
public:
    /// PX takes any positive 64-bit count; llmcache's own limit (ten years) is the bound.
    static constexpr std::chrono::milliseconds max_ttl = ttl::limit;

    /// Reads the URL and token (from the options or the environment); does not connect. Throws
    /// std::invalid_argument when either is missing or malformed (the message never holds the
    /// token); make() and from_env() report the same as a Result.
    explicit UpstashRestStore(UpstashStoreOptions opts = {}) {
        auto s = build(std::move(opts));
        if (!s)
            detail::invalid_argument(s.error().message);
        state_ = std::move(*s);
    }

    static Result<UpstashRestStore> make(UpstashStoreOptions opts) {
        auto s = build(std::move(opts));
        if (!s)
            return unexpected<Error>(s.error());
        return UpstashRestStore(std::move(*s));
    }

    /// URL and token from UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN (else KV_REST_API_URL /
    /// KV_REST_API_TOKEN); the other options from `opts` (its url and token are ignored).
    static Result<UpstashRestStore> from_env(UpstashStoreOptions opts = {}) {
        opts.url.clear();
        opts.token.clear();
        return make(std::move(opts));
    }

    // --- StorePolicy ------------------------------------------------------------------------
    StoreValue get(std::string_view key) noexcept {
        return single<std::optional<std::string>>({"GET", key},
                                                  [&](const Value& v) { return value_or_nil(v); });
    }

    /// GETEX key PX ms (or PERSIST without a TTL): read and restart the TTL in one command.
    StoreValue get_and_touch(std::string_view key, std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return unexpected<Error>(bad.error());
        const Decimal ms(ttl ? ttl->count() : 0);
        auto decode = [&](const Value& v) { return value_or_nil(v); };
        return ttl ? single<std::optional<std::string>>({"GETEX", key, "PX", ms.view()}, decode)
                   : single<std::optional<std::string>>({"GETEX", key, "PERSIST"}, decode);
    }

    /// SET key <base64 value> [PX ms].
    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (auto bad = check_ttl(ttl); !bad)
            return bad;
        if (detail::base64::encoded_size(value.size()) + key.size() + 64 > state_->opts.max_request_bytes)
            return too_large();
        auto r = guarded<bool>([&]() -> Result<bool> {
            const std::string encoded = detail::base64::encode(value);
            const Decimal ms(ttl ? ttl->count() : 0);
            auto ok = [&](const Value& v) { return expect_ok(v, "SET"); };
            return ttl ? single<bool>({"SET", key, encoded, "PX", ms.view()}, ok)
                       : single<bool>({"SET", key, encoded}, ok);
        });
        if (!r)
            return unexpected<Error>(std::move(r).error());
        return {};
    }

    Result<bool> erase(std::string_view key) noexcept {
        return single<bool>({"UNLINK", key}, [&](const Value& v) -> Result<bool> {
            auto n = integer(v, "UNLINK");
            if (!n)
                return unexpected<Error>(n.error());
            return *n > 0;
        });
    }

    /// Removes every key starting with `prefix`: SCAN MATCH <prefix>* (glob characters escaped) in
    /// a cursor loop, UNLINK for each page. Bounded by bulk_timeout. An empty prefix is refused.
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept {
        if (prefix.empty())
            return fail(
                ErrorCode::invalid_argument,
                "llmcache: UpstashRestStore::clear_prefix refuses an empty prefix (it would empty the "
                "whole database)");
        return guarded<std::size_t>([&]() -> Result<std::size_t> {
            const auto bulk_deadline = Clock::now() + state_->opts.bulk_timeout;
            const std::string pattern = detail::upstash::scan_match_pattern(prefix);
            const Decimal count(static_cast<std::int64_t>(std::max<std::size_t>(1, state_->opts.scan_count)));
            std::string cursor = "0";
            std::size_t removed = 0;
            do {
                if (Clock::now() >= bulk_deadline)
                    return fail(ErrorCode::store_timeout,
                                "llmcache: Upstash clear_prefix exceeded bulk_timeout");
                std::vector<std::string> keys;
                auto page = single<bool>(
                    {"SCAN", cursor, "MATCH", pattern, "COUNT", count.view()},
                    [&](const Value& v) -> Result<bool> {
                        if (!v.is_array() || v.items.size() != 2 || !v.items[0].is_string() ||
                            !v.items[1].is_array())
                            return bad_reply("SCAN");
                        cursor = v.items[0].string;
                        for (const Value& k : v.items[1].items) {
                            if (!k.is_string())
                                return bad_reply("SCAN");
                            if (std::string_view(k.string).starts_with(prefix)) // MATCH did it too
                                keys.push_back(k.string);
                        }
                        return true;
                    },
                    bulk_deadline);
                if (!page)
                    return unexpected<Error>(page.error());
                if (keys.empty())
                    continue;
                std::vector<std::string_view> args{"UNLINK"};
                args.insert(args.end(), keys.begin(), keys.end());
                auto n = single<std::int64_t>(
                    args, [&](const Value& v) { return integer(v, "UNLINK"); }, bulk_deadline);
                if (!n)
                    return unexpected<Error>(n.error());
                removed += static_cast<std::size_t>(*n);
            } while (cursor != "0");
            return removed;
        });
    }

    /// MGET in chunks of scan_count keys, sent as one pipeline. On failure every slot holds it.
    std::vector<StoreValue> get_many(std::span<const std::string_view> keys) noexcept {
        std::vector<StoreValue> out;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            out.reserve(keys.size());
            if (keys.empty())
                return out;
            const std::size_t chunk = std::max<std::size_t>(1, state_->opts.scan_count);
            std::vector<std::vector<std::string_view>> commands;
            for (std::size_t i = 0; i < keys.size(); i += chunk) {
                auto& c = commands.emplace_back();
                c.push_back("MGET");
                const std::size_t n = std::min(chunk, keys.size() - i);
                c.insert(c.end(), keys.begin() + static_cast<std::ptrdiff_t>(i),
                         keys.begin() + static_cast<std::ptrdiff_t>(i + n));
            }
            auto replies = pipeline(commands);
            std::optional<Error> failure;
            if (!replies) {
                failure = replies.error();
            } else {
                for (const auto& env : *replies) {
                    if (env.error) {
                        failure = rejected("MGET", *env.error);
                        break;
                    }
                    if (!env.result.is_array()) {
                        failure = bad_reply("MGET").error();
                        break;
                    }
                    for (const Value& v : env.result.items) {
                        auto decoded = value_or_nil(v);
                        if (decoded)
                            out.emplace_back(std::move(*decoded));
                        else
                            out.emplace_back(unexpected<Error>(decoded.error()));
                    }
                }
                if (!failure && out.size() != keys.size())
                    failure = bad_reply("MGET").error();
            }
            if (failure) {
                out.clear();
                out.assign(keys.size(), StoreValue(unexpected<Error>(*failure)));
            }
            return out;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            out.clear();
            return out; // cannot even report per key: an empty answer is a miss for everyone
        }
#endif
    }

    /// SETs sent as pipelines (split to stay under max_request_bytes). Returns how many were
    /// written; when any was refused, the first refusal.
    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept {
        for (const StoreItem& item : items) {
            if (auto bad = check_ttl(item.ttl); !bad)
                return unexpected<Error>(bad.error());
            if (detail::base64::encoded_size(item.value.size()) + item.key.size() + 64 >
                state_->opts.max_request_bytes)
                return too_large();
        }
        if (items.empty())
            return std::size_t{0};
        return guarded<std::size_t>([&]() -> Result<std::size_t> {
            std::size_t written = 0;
            std::size_t i = 0;
            std::optional<Error> first;
            while (i < items.size()) {
                std::vector<std::string> encoded;
                std::vector<Decimal> ttls;
                std::vector<std::vector<std::string_view>> commands;
                std::size_t bytes = 2;
                const std::size_t start = i;
                encoded.reserve(items.size() - start);
                ttls.reserve(items.size() - start);
                for (; i < items.size(); ++i) {
                    const StoreItem& item = items[i];
                    const std::size_t size =
                        detail::base64::encoded_size(item.value.size()) + item.key.size() + 64;
                    if (i > start && bytes + size > state_->opts.max_request_bytes)
                        break;
                    bytes += size;
                    encoded.push_back(detail::base64::encode(item.value));
                    ttls.emplace_back(item.ttl ? item.ttl->count() : 0);
                    auto& c =
                        commands.emplace_back(std::vector<std::string_view>{"SET", item.key, encoded.back()});
                    if (item.ttl) {
                        c.push_back("PX");
                        c.push_back(ttls.back().view());
                    }
                }
                auto replies = pipeline(commands);
                if (!replies)
                    return unexpected<Error>(replies.error());
                for (const auto& env : *replies) {
                    if (env.error) {
                        if (!first)
                            first = rejected("SET", *env.error);
                        continue;
                    }
                    auto ok = expect_ok(env.result, "SET");
                    if (ok)
                        ++written;
                    else if (!first)
                        first = ok.error();
                }
            }
            if (first) {
                first->message +=
                    " (" + std::to_string(written) + " of " + std::to_string(items.size()) + " written)";
                return unexpected<Error>(std::move(*first));
            }
            return written;
        });
    }

    // --- indexing_store ---------------------------------------------------------------------
    Result<void> index_add(std::string_view index, std::string_view member, std::int64_t score) noexcept {
        const Decimal s(score);
        auto r = single<std::int64_t>({"ZADD", index, s.view(), member},
                                      [&](const Value& v) { return integer(v, "ZADD"); });
        if (!r)
            return unexpected<Error>(r.error());
        return {};
    }

    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min_score,
                                                 std::size_t offset, std::size_t count) noexcept {
        if (count == 0)
            return std::vector<IndexMember>{};
        const Decimal min(min_score);
        const Decimal off(static_cast<std::int64_t>(std::min<std::size_t>(offset, INT64_MAX)));
        const Decimal n(static_cast<std::int64_t>(std::min<std::size_t>(count, INT64_MAX)));
        return single<std::vector<IndexMember>>(
            {"ZRANGEBYSCORE", index, min.view(), "+inf", "WITHSCORES", "LIMIT", off.view(), n.view()},
            [&](const Value& v) -> Result<std::vector<IndexMember>> {
                if (!v.is_array() || v.items.size() % 2 != 0)
                    return bad_reply("ZRANGEBYSCORE");
                std::vector<IndexMember> out;
                out.reserve(v.items.size() / 2);
                for (std::size_t i = 0; i < v.items.size(); i += 2) {
                    const Value& m = v.items[i];
                    const Value& s = v.items[i + 1];
                    std::optional<std::int64_t> score;
                    if (s.is_string())
                        score = detail::upstash::parse_score(s.string);
                    else if (s.is_integer())
                        score = s.integer;
                    if (!m.is_string() || !score)
                        return bad_reply("ZRANGEBYSCORE");
                    out.push_back(IndexMember{m.string, *score});
                }
                return out;
            });
    }

    Result<std::size_t> index_remove(std::string_view index,
                                     std::span<const std::string_view> members) noexcept {
        if (members.empty())
            return std::size_t{0};
        return guarded<std::size_t>([&]() -> Result<std::size_t> {
            std::vector<std::string_view> args{"ZREM", index};
            args.insert(args.end(), members.begin(), members.end());
            auto n = single<std::int64_t>(args, [&](const Value& v) { return integer(v, "ZREM"); });
            if (!n)
                return unexpected<Error>(n.error());
            return static_cast<std::size_t>(*n);
        });
    }

    Result<std::size_t> index_trim(std::string_view index, std::int64_t max_score) noexcept {
        const Decimal max(max_score);
        auto n = single<std::int64_t>({"ZREMRANGEBYSCORE", index, "-inf", max.view()},
                                      [&](const Value& v) { return integer(v, "ZREMRANGEBYSCORE"); });
        if (!n)
            return unexpected<Error>(n.error());
        return static_cast<std::size_t>(*n);
    }

    // --- leasing_store ----------------------------------------------------------------------
    /// SET <key> <random token> NX PX <ttl>: the token when this caller got the lease, empty when
    /// another holds it.
    Result<std::optional<std::string>> acquire_lease(std::string_view key,
                                                     std::chrono::milliseconds ttl) noexcept {
        if (ttl.count() <= 0 || ttl > max_ttl)
            return fail(ErrorCode::invalid_argument,
                        "llmcache: UpstashRestStore: a lease TTL must be in (0, max_ttl]");
        const detail::redis::LeaseToken token = detail::redis::new_lease_token();
        const Decimal ms(ttl.count());
        return single<std::optional<std::string>>({"SET", key, token.view(), "NX", "PX", ms.view()},
                                                  [&](const Value& v) -> Result<std::optional<std::string>> {
                                                      if (v.is_null())
                                                          return std::optional<std::string>{};
                                                      if (v.is_string() && v.string == "OK")
                                                          return std::optional<std::string>(std::in_place,
                                                                                            token.view());
                                                      return bad_reply("SET NX");
                                                  });
    }

    /// Deletes the lease only while it still holds `token` (compare-and-delete in one EVAL).
    Result<void> release_lease(std::string_view key, std::string_view token) noexcept {
        auto r = single<std::int64_t>({"EVAL", detail::redis::release_lease_script, "1", key, token},
                                      [&](const Value& v) { return integer(v, "EVAL"); });
        if (!r)
            return unexpected<Error>(r.error());
        return {};
    }

    // --- Upstash-specific -------------------------------------------------------------------
    /// PING round trip (a health check).
    Result<std::chrono::microseconds> ping() noexcept {
        const auto start = Clock::now();
        auto r = single<bool>({"PING"}, [&](const Value& v) -> Result<bool> {
            if (!v.is_string() || v.string != "PONG")
                return bad_reply("PING");
            return true;
        });
        if (!r)
            return unexpected<Error>(r.error());
        return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
    }

    UpstashStoreStats stats() const noexcept {
        const State& st = *state_;
        UpstashStoreStats s;
        s.requests = st.requests.load(std::memory_order_relaxed);
        s.unavailable = st.unavailable.load(std::memory_order_relaxed);
        s.timeouts = st.timeouts.load(std::memory_order_relaxed);
        s.auth = st.auth.load(std::memory_order_relaxed);
        s.rejected = st.rejected.load(std::memory_order_relaxed);
        s.circuit_open = st.circuit_rejections.load(std::memory_order_relaxed);
        s.circuit_opened = st.breaker.openings();
        s.circuit_closed = st.breaker.closings();
        s.circuit_is_open = st.breaker.is_open();
        return s;
    }

    /// "host[:port]" of the REST URL (for logs; never the token).
    const std::string& host() const noexcept {
        return state_->host;
    }

private:
    using Clock = std::chrono::steady_clock;
    using Value = detail::json_read::Value;
    using Decimal = detail::upstash::Decimal;
    using Breaker = detail::upstash::Breaker;
    using Envelope = detail::upstash::Envelope;

    struct State {
        UpstashStoreOptions opts;
        std::string base_url;      ///< without a trailing '/'
        std::string authorization; ///< "Bearer <token>"
        std::string host;
        Breaker breaker;
        std::atomic<std::uint64_t> requests{0}, unavailable{0}, timeouts{0}, auth{0}, rejected{0},
            circuit_rejections{0};
        std::atomic<bool> healthy{true};
        std::mutex sync_mu;
        std::string sync_token;
        std::mutex log_mu;
        explicit State(UpstashStoreOptions o) : opts(std::move(o)), breaker(opts.circuit) {}
    };

    explicit UpstashRestStore(std::shared_ptr<State> s) noexcept : state_(std::move(s)) {}

    static std::string env_or(const char* primary, const char* fallback) {
        if (const char* v = std::getenv(primary); v != nullptr && v[0] != '\0')
            return v;
        if (const char* v = std::getenv(fallback); v != nullptr && v[0] != '\0')
            return v;
        return {};
    }

    static Result<std::shared_ptr<State>> build(UpstashStoreOptions opts) {
        if (opts.url.empty())
            opts.url = env_or("UPSTASH_REDIS_REST_URL", "KV_REST_API_URL");
        if (opts.token.empty())
            opts.token = env_or("UPSTASH_REDIS_REST_TOKEN", "KV_REST_API_TOKEN");
        if (opts.url.empty())
            return fail(
                ErrorCode::invalid_argument,
                "llmcache: UpstashRestStore needs a REST URL (options.url or UPSTASH_REDIS_REST_URL)");
        if (opts.token.empty())
            return fail(ErrorCode::invalid_argument,
                        "llmcache: UpstashRestStore needs a REST token (options.token or "
                        "UPSTASH_REDIS_REST_TOKEN)");
        if (!(opts.url.starts_with("https://") || opts.url.starts_with("http://")) ||
            opts.url.find_first_of(" \t\r\n?#") != std::string::npos)
            return fail(ErrorCode::invalid_argument,
                        "llmcache: UpstashRestStore: the REST URL must be http(s)://host[:port] without "
                        "spaces, query or fragment");
        if (opts.token.find_first_of(" \t\r\n") != std::string::npos)
            return fail(ErrorCode::invalid_argument,
                        "llmcache: UpstashRestStore: the REST token contains whitespace or a line break");
        if (opts.url.back() == '/')
            opts.url.pop_back();
        if (opts.request_timeout.count() <= 0 || opts.connect_timeout.count() <= 0)
            return fail(ErrorCode::invalid_argument, "llmcache: UpstashRestStore: timeouts must be positive");
        auto st = std::make_shared<State>(std::move(opts));
        st->base_url = st->opts.url;
        st->authorization = "Bearer " + st->opts.token;
        st->host = std::string(http::detail::split_url(st->base_url).host_port);
        return st;
    }

    static Result<void> check_ttl(std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (ttl && (ttl->count() <= 0 || *ttl > max_ttl))
            return fail(ErrorCode::invalid_argument,
                        "llmcache: UpstashRestStore: a TTL must be in (0, max_ttl]");
        return {};
    }

    static unexpected<Error> too_large() {
        return fail(ErrorCode::too_large, "llmcache: the value exceeds UpstashRestStore's max_request_bytes");
    }

    static unexpected<Error> bad_reply(std::string_view command) {
        return fail(ErrorCode::store_unavailable,
                    "llmcache: Upstash sent an unexpected reply to " + std::string(command));
    }

    Error rejected(std::string_view command, std::string_view message) const {
        std::string text = "llmcache: Upstash refused " + std::string(command) + ": " + std::string(message);
        http::detail::scrub(text, state_->opts.token);
        return Error{ErrorCode::store_rejected, std::move(text), 0, std::nullopt};
    }

    /// A stored value: base64 text back to bytes, or a nil; anything else is corrupt.
    static Result<std::optional<std::string>> value_or_nil(const Value& v) {
        if (v.is_null())
            return std::optional<std::string>{};
        if (!v.is_string())
            return bad_reply("GET");
        auto bytes = detail::base64::decode(v.string);
        if (!bytes)
            return fail(ErrorCode::corrupt_entry,
                        "llmcache: an Upstash value is not base64 (not written by llmcache)");
        return std::optional<std::string>(std::move(*bytes));
    }

    static Result<bool> expect_ok(const Value& v, std::string_view command) {
        if (v.is_string() && v.string == "OK")
            return true;
        return bad_reply(command);
    }

    static Result<std::int64_t> integer(const Value& v, std::string_view command) {
        if (v.is_integer())
            return v.integer;
        return bad_reply(command);
    }

    /// Decodes every string of a base64-encoded result in place (Upstash leaves "OK" as is).
    static bool decode_base64_strings(Value& v) {
        if (v.is_string()) {
            if (v.string == "OK")
                return true;
            auto bytes = detail::base64::decode(v.string);
            if (!bytes)
                return false;
            v.string = std::move(*bytes);
            return true;
        }
        for (Value& item : v.items)
            if (!decode_base64_strings(item))
                return false;
        return true;
    }

    /// Runs `body`, turning an escaping exception (allocation failure) into an error.
    template <class T, class Body>
    static Result<T> guarded(Body&& body) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            return body();
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return fail(ErrorCode::store_unavailable, "llmcache: UpstashRestStore: out of memory");
        }
#endif
    }

    static void append_command(detail::JsonWriter& w, std::span<const std::string_view> args) {
        w.begin_array();
        for (std::string_view a : args)
            w.value(a);
        w.end_array();
    }

    static bool all_utf8(std::span<const std::string_view> args) noexcept {
        for (std::string_view a : args)
            if (!detail::is_valid_utf8(a))
                return false;
        return true;
    }

    /// One command; `decode` turns its result into a T.
    template <class T, class Decode>
    Result<T> single(std::initializer_list<std::string_view> args, Decode&& decode,
                     Clock::time_point deadline = Clock::time_point::max()) noexcept {
        return single<T>(std::span<const std::string_view>(args.begin(), args.size()),
                         std::forward<Decode>(decode), deadline);
    }
    template <class T, class Decode>
    Result<T> single(std::span<const std::string_view> args, Decode&& decode,
                     Clock::time_point deadline = Clock::time_point::max()) noexcept {
        return guarded<T>([&]() -> Result<T> {
            if (!all_utf8(args))
                return invalid_utf8();
            detail::JsonWriter w;
            append_command(w, args);
            auto replies = send("", std::move(w).str(), 1, deadline);
            if (!replies)
                return unexpected<Error>(replies.error());
            Envelope& env = (*replies)[0];
            if (env.error)
                return unexpected<Error>(rejected(args.empty() ? "" : args[0], *env.error));
            return decode(env.result);
        });
    }
    template <class T, class Decode>
    Result<T> single(const std::vector<std::string_view>& args, Decode&& decode,
                     Clock::time_point deadline = Clock::time_point::max()) noexcept {
        return single<T>(std::span<const std::string_view>(args), std::forward<Decode>(decode), deadline);
    }

    /// Several commands in one /pipeline request; one envelope per command, in order.
    Result<std::vector<Envelope>> pipeline(const std::vector<std::vector<std::string_view>>& commands) {
        detail::JsonWriter w;
        w.begin_array();
        for (const auto& c : commands) {
            if (!all_utf8(c))
                return invalid_utf8();
            append_command(w, c);
        }
        w.end_array();
        return send("/pipeline", std::move(w).str(), commands.size(), Clock::time_point::max());
    }

    static unexpected<Error> invalid_utf8() {
        return fail(ErrorCode::invalid_argument,
                    "llmcache: UpstashRestStore: a key, prefix or index member is not valid UTF-8 (JSON "
                    "cannot carry it exactly)");
    }

    /// POSTs `body` to base_url + path and reads `expected` envelopes (path "" answers one object,
    /// "/pipeline" an array). Handles the breaker, the budget, counters and logs.
    Result<std::vector<Envelope>> send(std::string_view path, std::string body, std::size_t expected,
                                       Clock::time_point deadline) {
        State& st = *state_;
        if (body.size() > st.opts.max_request_bytes)
            return too_large();
        if (detail::store_budget::exhausted())
            return fail(ErrorCode::store_timeout, "llmcache: the store budget of this call is used up");
        const Breaker::Admit admit = st.breaker.admit();
        if (admit == Breaker::Admit::no) {
            st.circuit_rejections.fetch_add(1, std::memory_order_relaxed);
            return fail(ErrorCode::store_unavailable,
                        "llmcache: Upstash store at " + st.host + " is failing; circuit open");
        }

        http::HttpRequest req;
        req.url = st.base_url;
        req.url += path;
        req.headers.reserve(5);
        req.headers.push_back({"Authorization", st.authorization});
        req.headers.push_back({"Content-Type", "application/json"});
        if (st.opts.base64_responses)
            req.headers.push_back({"Upstash-Encoding", "base64"});
        if (st.opts.read_your_writes) {
            std::lock_guard lock(st.sync_mu);
            if (!st.sync_token.empty())
                req.headers.push_back({"upstash-sync-token", st.sync_token});
        }
        req.body = std::move(body);
        std::chrono::milliseconds timeout = detail::store_budget::clamp(st.opts.request_timeout);
        if (deadline != Clock::time_point::max()) { // a bulk operation's overall deadline
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            timeout = std::min(timeout, std::max(left, std::chrono::milliseconds{1}));
        }
        req.timeout = timeout;
        req.connect_timeout = std::min(st.opts.connect_timeout, timeout);

        st.requests.fetch_add(1, std::memory_order_relaxed);
        auto res = http::perform(req);
        if (!res) {
            const bool timed_out = res.error().code == ErrorCode::backend_timeout;
            (timed_out ? st.timeouts : st.unavailable).fetch_add(1, std::memory_order_relaxed);
            std::string message = "llmcache: Upstash store: " + res.error().message;
            return outage(admit, timed_out ? ErrorCode::store_timeout : ErrorCode::store_unavailable,
                          std::move(message));
        }
        http::HttpResponse& r = *res;
        if (st.opts.read_your_writes) {
            const std::string_view sync = r.header("upstash-sync-token");
            if (!sync.empty()) {
                std::lock_guard lock(st.sync_mu);
                st.sync_token.assign(sync);
            }
        }
        if (r.status == 401 || r.status == 403) {
            st.auth.fetch_add(1, std::memory_order_relaxed);
            std::string message = "llmcache: Upstash at " + st.host + " refused the token (HTTP " +
                                  std::to_string(r.status) + ")";
            if (auto parsed = detail::json_read::parse(r.body)) // Upstash explains in {"error": ...}
                if (const Value* e = parsed->find("error"); e != nullptr && e->is_string())
                    message += ": " + e->string.substr(0, 200);
            http::detail::scrub(message, st.opts.token);
            return outage(admit, ErrorCode::store_rejected, std::move(message));
        }
        if (r.status != 200 && r.status != 400) {
            st.unavailable.fetch_add(1, std::memory_order_relaxed);
            return outage(admit, ErrorCode::store_unavailable,
                          "llmcache: Upstash at " + st.host + " answered HTTP " + std::to_string(r.status));
        }
        auto parsed = detail::json_read::parse(r.body);
        std::vector<Envelope> envelopes;
        bool well_formed = parsed.has_value();
        if (well_formed) {
            auto take = [&](Value& v) {
                if (!v.is_object())
                    return false;
                Envelope env;
                for (auto& [name, field] : v.fields) {
                    if (name == "error" && field.is_string())
                        env.error = std::move(field.string);
                    else if (name == "result")
                        env.result = std::move(field);
                }
                if (!env.error && v.find("result") == nullptr)
                    return false;
                if (!env.error && st.opts.base64_responses && !decode_base64_strings(env.result))
                    return false;
                envelopes.push_back(std::move(env));
                return true;
            };
            if (path.empty()) {
                well_formed = take(*parsed);
            } else if (parsed->is_array()) {
                for (Value& item : parsed->items)
                    well_formed = well_formed && take(item);
            } else if (parsed->is_object()) { // a whole pipeline refused: {"error": ...}
                well_formed = take(*parsed) && envelopes[0].error.has_value();
                if (well_formed) {
                    st.rejected.fetch_add(1, std::memory_order_relaxed);
                    recovered(admit, false);
                    return unexpected<Error>(rejected("pipeline", *envelopes[0].error));
                }
            } else {
                well_formed = false;
            }
        }
        if (!well_formed || envelopes.size() != expected) {
            st.unavailable.fetch_add(1, std::memory_order_relaxed);
            return outage(admit, ErrorCode::store_unavailable,
                          "llmcache: Upstash at " + st.host + " sent a malformed reply (HTTP " +
                              std::to_string(r.status) + ")");
        }
        for (const Envelope& env : envelopes)
            if (env.error)
                st.rejected.fetch_add(1, std::memory_order_relaxed);
        recovered(admit, true);
        return envelopes;
    }

    /// A failure that says the server is unusable: counts towards the breaker, logged once.
    unexpected<Error> outage(Breaker::Admit admit, ErrorCode code, std::string message) {
        State& st = *state_;
        http::detail::scrub(message, st.opts.token);
        if (st.healthy.exchange(false, std::memory_order_acq_rel))
            log(message + " (failing open: cache misses until it recovers)");
        if (st.breaker.on_failure(admit))
            log("llmcache: Upstash store at " + st.host + ": circuit open after " +
                std::to_string(st.opts.circuit.failure_threshold) + " consecutive failures");
        return unexpected<Error>(Error{code, std::move(message), 0, std::nullopt});
    }

    /// The server answered (`healthy`: usefully).
    void recovered(Breaker::Admit admit, bool healthy) {
        State& st = *state_;
        if (!healthy) {
            st.breaker.on_neutral(admit);
            return;
        }
        const bool closed = st.breaker.on_success(admit);
        if (!st.healthy.exchange(true, std::memory_order_acq_rel) || closed)
            log("llmcache: Upstash store at " + st.host + " answers again" +
                (closed ? "; circuit closed" : ""));
    }

    void log(const std::string& line) noexcept {
        State& st = *state_;
        std::lock_guard lock(st.log_mu);
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            if (st.opts.log_sink)
                st.opts.log_sink(line);
            else
                std::fprintf(stderr, "%s\n", line.c_str());
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            // A failing log sink must not turn a cache miss into a crash.
        }
#endif
    }

    std::shared_ptr<State> state_;
};

LLMCACHE_END_NAMESPACE
