// Redis connection URLs: parsing and redaction (used by RedisStore and its connection layer).
//
// Accepted forms:
//   redis://[[user]:password@]host[:port][/db][?options]      plain TCP (default port 6379)
//   rediss://[[user]:password@]host[:port][/db][?options]     TLS
//   unix://[[user]:password@]/path/to.sock[?db=N&options]     unix socket
//     (also spelled redis+unix:// and redis-socket://)
//   redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/<master-name>[/db][?options]
//   rediss+sentinel://...                                      the same with TLS (sentinels and master)
//     Sentinels default to port 26379. The user and password are the master's; sentinels that need
//     their own credentials take them from sentinel_password= (and sentinel_user=) in the query.
// Hosts may be names, IPv4 literals or bracketed IPv6 literals ([::1]). User and password are
// percent-decoded; a password containing '/', '?', '#' or '@' must be percent-encoded.
// Query options: db=N, user= / username=, password=, connect_timeout=, command_timeout=
// (with a unit: 250ms, 2s), pool_size=N, client_name=; for sentinel URLs also sentinel_password=
// and sentinel_user= / sentinel_username=. Anything else is refused, and in particular
// TLS verification can NOT be turned off from a URL (only RedisStoreOptions::tls.verify can).
//
// No error text ever contains the password: parse errors quote the URL with the password
// replaced by "***" and never echo the parts they could not understand.
#pragma once

#include "../../config.hpp"
#include "../../error.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

enum class Transport { tcp, tls, unix_socket };

struct Url {
    Transport transport = Transport::tcp;
    std::string host = "localhost"; ///< without brackets for IPv6 literals
    std::uint16_t port = 6379;
    std::string path;     ///< unix socket path
    std::string username; ///< ACL user; empty: AUTH with the password only ("default" user)
    std::string password; ///< empty: no AUTH
    int db = 0;
    // Query options; empty when the URL does not set them (the store's options apply).
    std::optional<std::chrono::milliseconds> connect_timeout{};
    std::optional<std::chrono::milliseconds> command_timeout{};
    std::optional<std::size_t> pool_size{};
    std::optional<std::string> client_name{};
    // redis+sentinel:// only: the sentinels, the monitored master's name and the sentinels' own
    // credentials (host and port above are then those of the first sentinel).
    struct HostPort {
        std::string host;
        std::uint16_t port = 26379;
    };
    std::vector<HostPort> sentinels{};
    std::string master_name{};
    std::string sentinel_username{};
    std::string sentinel_password{};

    bool tls() const noexcept { return transport == Transport::tls; }
    bool via_sentinel() const noexcept { return !master_name.empty(); }

    /// "host:port" or "unix:/path": names the server in log lines and errors ("sentinel master
    /// 'name'" for a sentinel URL).
    std::string endpoint() const {
        if (via_sentinel())
            return "sentinel master '" + master_name + "'";
        if (transport == Transport::unix_socket)
            return "unix:" + path;
        const bool v6 = host.find(':') != std::string::npos;
        return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
    }

    /// The URL without its password (user kept), e.g. "rediss://app@cache.internal:6380/2".
    std::string display() const {
        std::string out = transport == Transport::tls ? (via_sentinel() ? "rediss+sentinel://" : "rediss://")
                          : transport == Transport::tcp ? (via_sentinel() ? "redis+sentinel://" : "redis://")
                                                        : "unix://";
        if (!username.empty() || !password.empty()) {
            out += username;
            if (!password.empty())
                out += ":***";
            out += '@';
        }
        if (via_sentinel()) {
            for (std::size_t i = 0; i < sentinels.size(); ++i) {
                const bool v6 = sentinels[i].host.find(':') != std::string::npos;
                out += (i == 0 ? "" : ",") + (v6 ? "[" + sentinels[i].host + "]" : sentinels[i].host) + ":" +
                       std::to_string(sentinels[i].port);
            }
            out += "/" + master_name;
            if (db != 0)
                out += "/" + std::to_string(db);
        } else if (transport == Transport::unix_socket) {
            out += path;
            if (db != 0)
                out += "?db=" + std::to_string(db);
        } else {
            out += endpoint();
            if (db != 0)
                out += "/" + std::to_string(db);
        }
        return out;
    }
};

namespace url_detail {

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

inline bool all_digits(std::string_view s) noexcept {
    if (s.empty())
        return false;
    for (char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// Percent-decodes `in`; empty optional on a malformed escape. '+' is kept as '+'.
inline std::optional<std::string> percent_decode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size())
            return std::nullopt;
        const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0)
            return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

template <class Int>
std::optional<Int> parse_int(std::string_view s) noexcept {
    if (!all_digits(s))
        return std::nullopt;
    Int v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

/// "250ms", "2s", "1500us" -> milliseconds (at least 1 ms when positive). Bare numbers are refused.
inline std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) noexcept {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9')
        ++digits;
    auto n = parse_int<std::int64_t>(s.substr(0, digits));
    if (!n || *n > 86'400'000)
        return std::nullopt;
    const std::string_view unit = s.substr(digits);
    if (unit == "ms")
        return std::chrono::milliseconds(*n);
    if (unit == "s")
        return std::chrono::milliseconds(*n * 1000);
    return std::nullopt;
}

} // namespace url_detail

/// `url` with every password replaced by "***". Works on malformed text too, erring on the side
/// of hiding more: everything between the first ':' after "://" and the last '@' is masked, and
/// when there is no '@' a non-numeric port position is masked to the end.
inline std::string redact_url(std::string_view url) {
    std::string out;
    std::size_t start = url.find("://");
    std::size_t body = start == std::string_view::npos ? 0 : start + 3;
    const std::size_t at = url.rfind('@');
    std::size_t colon = url.find(':', body);
    if (at != std::string_view::npos && at >= body) {
        if (colon != std::string_view::npos && colon < at) {
            out.append(url.substr(0, colon + 1));
            out += "***";
            out.append(url.substr(at));
        } else {
            out.append(url);
        }
    } else if (colon != std::string_view::npos && start != std::string_view::npos) {
        // No '@': a colon is a port separator (or a mistyped password); keep plain port numbers.
        std::size_t end = url.find_first_of("/?#", colon);
        std::string_view port = url.substr(colon + 1, end == std::string_view::npos ? end : end - colon - 1);
        if (url_detail::all_digits(port) || url[body] == '[') {
            out.append(url);
        } else {
            out.append(url.substr(0, colon + 1));
            out += "***";
        }
    } else {
        out.append(url);
    }
    // password=... in the query.
    for (std::size_t pos = 0;;) {
        std::size_t p = out.find("password=", pos);
        if (p == std::string::npos)
            break;
        const std::size_t v = p + 9;
        std::size_t e = out.find('&', v);
        if (e == std::string::npos)
            e = out.size();
        out.replace(v, e - v, "***");
        pos = v + 3;
    }
    return out;
}

/// The URL used when the caller gives none: $REDIS_URL, else redis://localhost:6379.
inline std::string default_url() {
    if (const char* env = std::getenv("REDIS_URL"); env != nullptr && *env != '\0')
        return env;
    return "redis://localhost:6379";
}

/// Parses a Redis URL (see the header comment). Errors are ErrorCode::invalid_argument.
inline Result<Url> parse_url(std::string_view text) {
    using namespace url_detail;
    auto bad = [&](std::string_view what) {
        return fail(ErrorCode::invalid_argument,
                    "llmcache: invalid Redis URL '" + redact_url(text) + "': " + std::string(what));
    };
    Url u;
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos)
        return bad("expected a scheme: redis://, rediss:// or unix://");
    const std::string_view scheme = text.substr(0, sep);
    bool sentinel = false;
    if (iequals(scheme, "redis+sentinel") || iequals(scheme, "rediss+sentinel")) {
        sentinel = true;
        u.transport = iequals(scheme, "redis+sentinel") ? Transport::tcp : Transport::tls;
    } else if (iequals(scheme, "redis"))
        u.transport = Transport::tcp;
    else if (iequals(scheme, "rediss"))
        u.transport = Transport::tls;
    else if (iequals(scheme, "unix") || iequals(scheme, "redis+unix") || iequals(scheme, "redis-socket"))
        u.transport = Transport::unix_socket;
    else
        return bad("unknown scheme (expected redis://, rediss://, unix:// or redis+sentinel://)");

    std::string_view rest = text.substr(sep + 3);
    std::string_view query;
    if (auto hash = rest.find('#'); hash != std::string_view::npos)
        return bad("a fragment ('#') is not allowed; percent-encode '#' in passwords as %23");
    const std::size_t auth_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, auth_end);
    std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (auto q = tail.find('?'); q != std::string_view::npos) {
        query = tail.substr(q + 1);
        tail = tail.substr(0, q);
    }

    // user:password@
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = authority.substr(0, at);
        authority = authority.substr(at + 1);
        const std::size_t colon = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, colon));
        if (!user)
            return bad("malformed percent-escape in the user name");
        u.username = std::move(*user);
        if (colon != std::string_view::npos) {
            auto pass = percent_decode(userinfo.substr(colon + 1));
            if (!pass)
                return bad("malformed percent-escape in the password");
            u.password = std::move(*pass);
        }
    }

    if (sentinel) {
        // host[:port],host[:port],... then /master-name[/db]
        if (authority.empty())
            return bad("a sentinel URL needs at least one sentinel: redis+sentinel://host:26379/mymaster");
        while (!authority.empty()) {
            const std::size_t comma = authority.find(',');
            std::string_view item = authority.substr(0, comma);
            authority = comma == std::string_view::npos ? std::string_view{} : authority.substr(comma + 1);
            if (comma != std::string_view::npos && authority.empty())
                return bad("empty sentinel address after ','");
            Url::HostPort hp;
            std::string_view host = item, port;
            if (!item.empty() && item.front() == '[') {
                const std::size_t close = item.find(']');
                if (close == std::string_view::npos)
                    return bad("an IPv6 address must be enclosed in [ ]");
                host = item.substr(1, close - 1);
                const std::string_view after = item.substr(close + 1);
                if (!after.empty()) {
                    if (after.front() != ':')
                        return bad("unexpected text after the IPv6 address");
                    port = after.substr(1);
                    if (port.empty())
                        return bad("empty port");
                }
            } else if (auto colon = item.rfind(':'); colon != std::string_view::npos) {
                host = item.substr(0, colon);
                port = item.substr(colon + 1);
                if (port.empty())
                    return bad("empty port");
                if (host.find(':') != std::string_view::npos)
                    return bad("an IPv6 address must be enclosed in [ ]");
            }
            if (host.empty())
                return bad("empty sentinel host");
            for (char c : host)
                if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\' || c == '%' || c == '@')
                    return bad("a sentinel host name contains a character that is not allowed");
            if (!port.empty()) {
                auto p = parse_int<unsigned>(port);
                if (!p || *p == 0 || *p > 65535)
                    return bad("the port must be a number from 1 to 65535");
                hp.port = static_cast<std::uint16_t>(*p);
            }
            hp.host = std::string(host);
            u.sentinels.push_back(std::move(hp));
        }
        u.host = u.sentinels.front().host;
        u.port = u.sentinels.front().port;
        if (tail.size() < 2)
            return bad("a sentinel URL needs the master's name: redis+sentinel://host:26379/mymaster[/db]");
        std::string_view path = tail.substr(1);
        const std::size_t slash = path.find('/');
        auto name = percent_decode(path.substr(0, slash));
        if (!name || name->empty())
            return bad("a sentinel URL needs the master's name: redis+sentinel://host:26379/mymaster[/db]");
        for (char c : *name)
            if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 127)
                return bad("the master name may not contain spaces or control characters");
        u.master_name = std::move(*name);
        if (slash != std::string_view::npos && slash + 1 < path.size()) {
            auto db = parse_int<int>(path.substr(slash + 1));
            if (!db)
                return bad("after the master name the path must be a database number: /mymaster/2");
            u.db = *db;
        }
    } else if (u.transport == Transport::unix_socket) {
        if (!authority.empty())
            return bad("a unix socket URL has no host: write unix:///path/to/redis.sock");
        auto path = percent_decode(tail);
        if (!path)
            return bad("malformed percent-escape in the socket path");
        if (path->size() < 2 || (*path)[0] != '/')
            return bad("the socket path must be absolute: unix:///path/to/redis.sock");
        if (path->size() >= 108)
            return bad("the socket path is too long (at most 107 bytes)");
        u.path = std::move(*path);
    } else {
        // host[:port], [v6]:port
        std::string_view host = authority, port;
        if (!authority.empty() && authority.front() == '[') {
            const std::size_t close = authority.find(']');
            if (close == std::string_view::npos)
                return bad("an IPv6 address must be enclosed in [ ]");
            host = authority.substr(1, close - 1);
            std::string_view after = authority.substr(close + 1);
            if (!after.empty()) {
                if (after.front() != ':')
                    return bad("unexpected text after the IPv6 address");
                port = after.substr(1);
                if (port.empty())
                    return bad("empty port");
            }
            if (host.empty())
                return bad("empty IPv6 address");
        } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty())
                return bad("empty port");
            if (host.find(':') != std::string_view::npos)
                return bad("an IPv6 address must be enclosed in [ ], e.g. redis://[::1]:6379");
        }
        if (!port.empty()) {
            auto p = parse_int<unsigned>(port);
            if (!p || *p == 0 || *p > 65535)
                return bad("the port must be a number from 1 to 65535");
            u.port = static_cast<std::uint16_t>(*p);
        }
        if (!host.empty())
            u.host = std::string(host);
        for (char c : u.host)
            if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\' || c == '%')
                return bad("the host name contains a character that is not allowed");
        // /db
        if (!tail.empty() && tail != "/") {
            auto db = parse_int<int>(tail.substr(1));
            if (!db)
                return bad("the path must be a database number, e.g. redis://host:6379/2");
            u.db = *db;
        }
    }

    // Query options.
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (item.empty())
            continue;
        const std::size_t eq = item.find('=');
        const std::string_view name = item.substr(0, eq);
        auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : item.substr(eq + 1));
        if (!value)
            return bad("malformed percent-escape in a query option");
        if (name == "db") {
            auto db = parse_int<int>(*value);
            if (!db)
                return bad("db must be a non-negative number");
            if (u.db != 0 && u.db != *db)
                return bad("the database is given twice with different numbers");
            u.db = *db;
        } else if (name == "password") {
            u.password = std::move(*value);
        } else if (name == "user" || name == "username") {
            u.username = std::move(*value);
        } else if (sentinel && name == "sentinel_password") {
            u.sentinel_password = std::move(*value);
        } else if (sentinel && (name == "sentinel_user" || name == "sentinel_username")) {
            u.sentinel_username = std::move(*value);
        } else if (name == "connect_timeout" || name == "command_timeout" || name == "timeout") {
            auto d = parse_duration(*value);
            if (!d || d->count() <= 0)
                return bad("timeouts need a positive value with a unit, e.g. 250ms or 2s");
            (name == "connect_timeout" ? u.connect_timeout : u.command_timeout) = *d;
        } else if (name == "pool_size") {
            auto n = parse_int<std::size_t>(*value);
            if (!n || *n == 0 || *n > 10'000)
                return bad("pool_size must be a number from 1 to 10000");
            u.pool_size = *n;
        } else if (name == "client_name") {
            for (char c : *value)
                if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 127)
                    return bad("client_name may not contain spaces or control characters");
            u.client_name = std::move(*value);
        } else if (name == "ssl_cert_reqs" || name == "verify" || name == "tls_verify" ||
                   name == "insecure" || name == "ssl_check_hostname" || name == "skip_verify" ||
                   name == "verify_peer") {
            return bad("TLS verification cannot be changed from a URL; set RedisStoreOptions::tls.verify "
                       "= false in code if you really mean it");
        } else {
            return bad(sentinel ? "unknown query option (known: db, user, password, connect_timeout, "
                                  "command_timeout, pool_size, client_name, sentinel_password, sentinel_user)"
                                : "unknown query option (known: db, user, password, connect_timeout, "
                                  "command_timeout, pool_size, client_name)");
        }
    }
    if (!u.username.empty() && u.password.empty())
        return bad("a user name needs a password (redis://user:password@host)");
    if (!u.sentinel_username.empty() && u.sentinel_password.empty())
        return bad("sentinel_user needs sentinel_password");
    return u;
}

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
