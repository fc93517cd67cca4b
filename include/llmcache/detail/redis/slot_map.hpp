// The Redis Cluster slot map: which master serves each of the 16384 hash slots, read from a
// CLUSTER SLOTS reply (RESP2), and redirect replies (MOVED / ASK) parsed into a slot and a node.
//
// A SlotMap is an immutable value once built; the cluster store shares it between threads
// through a shared_ptr<const SlotMap> and replaces it as a whole (copy-on-write on MOVED).
#pragma once

#include "../../config.hpp"
#include "connection.hpp"
#include "crc16.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

/// A cluster node's address as the cluster announces it.
struct NodeAddr {
    std::string host;
    std::uint16_t port = 0;

    std::string endpoint() const {
        const bool v6 = host.find(':') != std::string::npos;
        return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }
    friend bool operator==(const NodeAddr&, const NodeAddr&) = default;
};

/// "host:port" (or "[v6]:port", or ":port" meaning "the host you asked") -> NodeAddr.
inline std::optional<NodeAddr> parse_node_addr(std::string_view text, std::string_view asked_host) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
        return std::nullopt;
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc{} || end != port.data() + port.size() || p == 0 || p > 65535)
        return std::nullopt;
    NodeAddr a;
    a.host = host.empty() || host == "?" ? std::string(asked_host) : std::string(host);
    a.port = static_cast<std::uint16_t>(p);
    return a;
}

/// A MOVED or ASK error reply, parsed.
struct Redirect {
    enum class Kind : std::uint8_t { moved, ask };
    Kind kind = Kind::moved;
    std::uint16_t slot = 0;
    NodeAddr to;
};

/// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 :6381" -> Redirect; empty for anything else.
inline std::optional<Redirect> parse_redirect(std::string_view msg, std::string_view asked_host) {
    Redirect r;
    if (msg.starts_with("MOVED "))
        r.kind = Redirect::Kind::moved, msg.remove_prefix(6);
    else if (msg.starts_with("ASK "))
        r.kind = Redirect::Kind::ask, msg.remove_prefix(4);
    else
        return std::nullopt;
    const std::size_t sp = msg.find(' ');
    if (sp == std::string_view::npos)
        return std::nullopt;
    unsigned slot = 0;
    auto [end, ec] = std::from_chars(msg.data(), msg.data() + sp, slot);
    if (ec != std::errc{} || end != msg.data() + sp || slot >= cluster_slots)
        return std::nullopt;
    auto to = parse_node_addr(msg.substr(sp + 1), asked_host);
    if (!to)
        return std::nullopt;
    r.slot = static_cast<std::uint16_t>(slot);
    r.to = std::move(*to);
    return r;
}

class SlotMap {
public:
    static constexpr std::uint16_t none = 0xFFFF;

    SlotMap() { owner_.fill(none); }

    /// Builds the map from a CLUSTER SLOTS reply: an array of [start, end, [ip, port, id, ...],
    /// replica...]. Only masters (the first node of each range) are used. `asked_host` replaces
    /// an empty or unknown ("?") ip. Empty optional (and `why` set) when the reply is malformed.
    static std::optional<SlotMap> from_cluster_slots(const redisReply& reply, std::string_view asked_host,
                                                     std::string& why) {
        if (reply.type != REDIS_REPLY_ARRAY) {
            why = "CLUSTER SLOTS did not answer with an array";
            return std::nullopt;
        }
        SlotMap m;
        for (std::size_t i = 0; i < reply.elements; ++i) {
            const redisReply& range = *reply.element[i];
            if (range.type != REDIS_REPLY_ARRAY || range.elements < 3 ||
                range.element[0]->type != REDIS_REPLY_INTEGER ||
                range.element[1]->type != REDIS_REPLY_INTEGER ||
                range.element[2]->type != REDIS_REPLY_ARRAY || range.element[2]->elements < 2) {
                why = "CLUSTER SLOTS: malformed slot range";
                return std::nullopt;
            }
            const long long lo = range.element[0]->integer, hi = range.element[1]->integer;
            if (lo < 0 || hi < lo || hi >= static_cast<long long>(cluster_slots)) {
                why = "CLUSTER SLOTS: slot range out of bounds";
                return std::nullopt;
            }
            const redisReply& node = *range.element[2];
            if (node.element[0]->type != REDIS_REPLY_STRING || node.element[1]->type != REDIS_REPLY_INTEGER ||
                node.element[1]->integer <= 0 || node.element[1]->integer > 65535) {
                why = "CLUSTER SLOTS: malformed node address";
                return std::nullopt;
            }
            NodeAddr a;
            const std::string_view ip = reply_text(*node.element[0]);
            a.host = ip.empty() || ip == "?" ? std::string(asked_host) : std::string(ip);
            a.port = static_cast<std::uint16_t>(node.element[1]->integer);
            const std::uint16_t idx = m.index_of(a);
            for (long long s = lo; s <= hi; ++s)
                m.owner_[static_cast<std::size_t>(s)] = idx;
        }
        if (m.masters_.empty()) {
            why = "CLUSTER SLOTS: the cluster serves no slots yet";
            return std::nullopt;
        }
        return m;
    }

    /// The master serving `slot`, or nullptr when no node serves it.
    const NodeAddr* owner(std::uint16_t slot) const noexcept {
        const std::uint16_t i = owner_[slot];
        return i == none ? nullptr : &masters_[i];
    }

    /// A copy in which `slot` is served by `to` (after a MOVED reply).
    SlotMap with_slot(std::uint16_t slot, const NodeAddr& to) const {
        SlotMap m = *this;
        m.owner_[slot] = m.index_of(to);
        return m;
    }

    /// The distinct masters that serve at least one slot.
    std::vector<NodeAddr> serving_masters() const {
        std::vector<bool> used(masters_.size(), false);
        for (std::uint16_t i : owner_)
            if (i != none)
                used[i] = true;
        std::vector<NodeAddr> out;
        for (std::size_t i = 0; i < masters_.size(); ++i)
            if (used[i])
                out.push_back(masters_[i]);
        return out;
    }

    /// How many slots have an owner (16384 when the cluster is fully covered).
    std::size_t covered() const noexcept {
        std::size_t n = 0;
        for (std::uint16_t i : owner_)
            n += i != none ? 1 : 0;
        return n;
    }

private:
    std::uint16_t index_of(const NodeAddr& a) {
        for (std::size_t i = 0; i < masters_.size(); ++i)
            if (masters_[i] == a)
                return static_cast<std::uint16_t>(i);
        masters_.push_back(a);
        return static_cast<std::uint16_t>(masters_.size() - 1);
    }

    std::vector<NodeAddr> masters_;
    std::array<std::uint16_t, cluster_slots> owner_;
};

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
