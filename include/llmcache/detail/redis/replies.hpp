// Reading replies and scanning keys, shared by RedisStore and RedisClusterStore.
//
// The two stores differ only in what an error reply means to them (the cluster store also reads
// MOVED/ASK out of it), so each passes its own `on_error(const redisReply&)` returning the Fault.
#pragma once

#include "../../config.hpp"
#include "../../store/types.hpp"
#include "connection.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

/// A reply of a type the command cannot return: the connection is out of step and is poisoned
/// (closed on release) because we no longer know where the next reply starts.
inline unexpected<Fault> protocol_fault(Connection& c, std::string_view cmd) {
    c.poison();
    return fault(Failure::protocol, ErrorCode::store_unavailable,
                 c.what("unexpected reply type to " + std::string(cmd)));
}

/// A bulk string (a value) or nil (a miss).
template <class OnError>
IoResult<std::optional<std::string>> string_or_nil(Connection& c, const redisReply& r, std::string_view cmd,
                                                   OnError&& on_error) {
    switch (r.type) {
    case REDIS_REPLY_STRING:
        return std::optional<std::string>(std::in_place, r.str, r.len);
    case REDIS_REPLY_NIL:
        return std::optional<std::string>{};
    case REDIS_REPLY_ERROR:
        return on_error(r);
    default:
        return protocol_fault(c, cmd);
    }
}

/// A status reply (+OK); nil means the command was not performed (e.g. SET XX on a missing key).
template <class OnError>
IoResult<bool> expect_ok(Connection& c, const redisReply& r, std::string_view cmd, OnError&& on_error) {
    if (r.type == REDIS_REPLY_STATUS)
        return true;
    if (r.type == REDIS_REPLY_ERROR)
        return on_error(r);
    if (r.type == REDIS_REPLY_NIL)
        return fault(Failure::other_reply, ErrorCode::store_rejected,
                     c.what(std::string(cmd) + " was not performed"));
    return protocol_fault(c, cmd);
}

template <class OnError>
IoResult<long long> integer(Connection& c, const redisReply& r, std::string_view cmd, OnError&& on_error) {
    if (r.type == REDIS_REPLY_INTEGER)
        return r.integer;
    if (r.type == REDIS_REPLY_ERROR)
        return on_error(r);
    return protocol_fault(c, cmd);
}

/// An integer reply that counts something (ZREM, ZREMRANGEBYSCORE): never negative.
template <class OnError>
IoResult<std::size_t> size_reply(Connection& c, const redisReply& r, std::string_view cmd,
                                 OnError&& on_error) {
    auto n = integer(c, r, cmd, std::forward<OnError>(on_error));
    if (!n)
        return unexpected<Fault>(std::move(n).error());
    if (*n < 0)
        return protocol_fault(c, cmd);
    return static_cast<std::size_t>(*n);
}

// --- ordered indexes (sorted sets) ----------------------------------------------------------

/// Redis keeps sorted-set scores as doubles: integers up to 2^53 in magnitude round-trip exactly
/// (and come back written as integers); larger ones would come back rounded, so they are refused.
inline constexpr std::int64_t max_exact_score = std::int64_t{1} << 53;
constexpr bool exact_score(std::int64_t score) noexcept {
    return score >= -max_exact_score && score <= max_exact_score;
}

/// A count or offset as a command argument (Redis takes signed 64-bit numbers).
inline DecimalArg count_arg(std::size_t n) noexcept {
    return DecimalArg(n > static_cast<std::size_t>(LLONG_MAX) ? LLONG_MAX : static_cast<long long>(n));
}

/// A reply to ZRANGEBYSCORE ... WITHSCORES under RESP2: member, score, member, score, ... with
/// each score a bulk string. A score that is not an integer (written by someone else: "1.5",
/// "inf") makes the whole answer a corrupt_entry error rather than a guess.
template <class OnError>
IoResult<std::vector<IndexMember>> index_members(Connection& c, const redisReply& r, std::string_view cmd,
                                                 OnError&& on_error) {
    if (r.type == REDIS_REPLY_ERROR)
        return on_error(r);
    if (r.type != REDIS_REPLY_ARRAY || r.elements % 2 != 0)
        return protocol_fault(c, cmd);
    std::vector<IndexMember> out;
    out.reserve(r.elements / 2);
    for (std::size_t i = 0; i < r.elements; i += 2) {
        const redisReply& m = *r.element[i];
        const redisReply& s = *r.element[i + 1];
        if (m.type != REDIS_REPLY_STRING || s.type != REDIS_REPLY_STRING)
            return protocol_fault(c, cmd);
        const std::string_view text = reply_text(s);
        std::int64_t score = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), score);
        if (ec != std::errc{} || end != text.data() + text.size())
            return fault(Failure::other_reply, ErrorCode::corrupt_entry,
                         c.what(std::string(cmd) + ": the index holds a member whose score is not an "
                                                   "integer (written by something other than llmcache?)"));
        out.push_back(IndexMember{std::string(reply_text(m)), score});
    }
    return out;
}

/// `prefix` as a SCAN MATCH pattern that matches exactly the keys starting with it.
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

/// SCAN one server for keys starting with `prefix`, calling page(keys, deadline) for each
/// non-empty page. Bounded by `bulk_timeout` as a whole and `command_timeout` per round trip.
template <class OnError, class Page>
IoResult<void> scan_prefix(Connection& c, std::string_view prefix, std::chrono::milliseconds command_timeout,
                           std::chrono::milliseconds bulk_timeout, std::size_t scan_count, OnError&& on_error,
                           Page&& page) {
    const auto bulk_deadline = Clock::now() + bulk_timeout;
    auto deadline = [&] { return std::min(Clock::now() + command_timeout, bulk_deadline); };
    const std::string pattern = scan_match_pattern(prefix);
    const DecimalArg count(static_cast<long long>(std::max<std::size_t>(1, scan_count)));
    std::string cursor = "0";
    std::vector<std::string_view> keys;
    for (std::size_t round = 0; round < (std::size_t{1} << 32); ++round) {
        auto r = c.command({"SCAN", cursor, "MATCH", pattern, "COUNT", count.view()}, deadline());
        if (!r)
            return unexpected<Fault>(std::move(r).error());
        const redisReply& reply = **r;
        if (reply.type == REDIS_REPLY_ERROR)
            return on_error(reply);
        if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
            reply.element[0]->type != REDIS_REPLY_STRING || reply.element[1]->type != REDIS_REPLY_ARRAY)
            return protocol_fault(c, "SCAN");
        keys.clear();
        const redisReply& list = *reply.element[1];
        for (std::size_t i = 0; i < list.elements; ++i) {
            if (list.element[i]->type != REDIS_REPLY_STRING)
                return protocol_fault(c, "SCAN");
            const std::string_view k = reply_text(*list.element[i]);
            if (k.starts_with(prefix)) // MATCH already did this; belt and braces
                keys.push_back(k);
        }
        if (!keys.empty())
            if (auto p = page(std::span<const std::string_view>(keys), deadline()); !p)
                return p;
        cursor.assign(reply_text(*reply.element[0]));
        if (cursor == "0")
            return {};
        if (Clock::now() >= bulk_deadline)
            return fault(Failure::timeout, ErrorCode::store_timeout,
                         c.what("SCAN did not finish within bulk_timeout"));
    }
    return fault(Failure::timeout, ErrorCode::store_timeout, c.what("SCAN did not finish"));
}

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
