// One connection to one Redis server: socket (TCP or unix), optional TLS (OpenSSL), and the RESP
// protocol through hiredis's command formatter and reply reader. hiredis does no I/O here: this
// file owns the socket, so every read and write honours a deadline (poll with the remaining
// time), TLS works with hiredis 0.14 (which has none), and no write can raise SIGPIPE.
//
// Requires: LLMCACHE_WITH_HIREDIS=1; link -lhiredis -lssl -lcrypto.
//
// Reusable by other Redis-speaking stores (cluster, sentinel): a Connection talks to any host:port
// (Url), knows its server's version and capabilities, and sends pipelines of commands.
//
// The rule that keeps replies from reaching the wrong request: a connection that saw a timeout,
// an I/O error or a protocol error is closed at once and reports broken(); the pool never hands
// it out again, so a late reply is read by nobody.
#pragma once

#include "../../config.hpp"
#include "../../error.hpp"
#include "url.hpp"

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace detail::redis {

using Clock = std::chrono::steady_clock;

/// Allocation failure inside the connection layer: an exception that the store catches (or an
/// abort in builds without exceptions, like any other allocation failure there).
[[noreturn]] inline void out_of_memory() {
#if LLMCACHE_HAS_EXCEPTIONS
    throw std::bad_alloc();
#else
    std::abort();
#endif
}

// ---------------------------------------------------------------------------------------------
// Failure kinds: what went wrong, finer than ErrorCode, for counters, logging and the breaker.
enum class Failure : std::uint8_t {
    connect,      ///< could not connect (refused, unreachable, DNS, connect timeout)
    timeout,      ///< no (complete) answer before the deadline
    io,           ///< read/write failed or the server closed the connection
    protocol,     ///< the peer does not speak RESP (or sent something we cannot parse)
    tls,          ///< TLS handshake or certificate verification failed
    auth,         ///< NOAUTH / WRONGPASS / AUTH refused
    loading,      ///< LOADING: the server is loading its dataset
    busy,         ///< BUSY: a script is running
    masterdown,   ///< MASTERDOWN / CLUSTERDOWN / TRYAGAIN
    oom,          ///< OOM under maxmemory + noeviction
    readonly,     ///< READONLY: we talk to a replica
    wrongtype,    ///< WRONGTYPE: a value of another type under our key
    noperm,       ///< NOPERM: the ACL user may not run the command or touch the key
    misconf,      ///< MISCONF: persistence failing, writes refused
    redirect,     ///< MOVED / ASK: this is a cluster node (use a cluster-aware store)
    other_reply,  ///< any other error reply
    pool_timeout, ///< no free connection within the pool's wait
    circuit_open, ///< refused without trying: the circuit breaker is open
    count_
};
inline constexpr std::size_t failure_kinds = static_cast<std::size_t>(Failure::count_);

constexpr std::string_view to_string(Failure f) noexcept {
    constexpr std::string_view names[] = {
        "connect", "timeout", "io",         "protocol",    "tls",          "auth",
        "loading", "busy",    "masterdown", "oom",         "readonly",     "wrongtype",
        "noperm",  "misconf", "redirect",   "other_reply", "pool_timeout", "circuit_open"};
    const auto i = static_cast<std::size_t>(f);
    return i < failure_kinds ? names[i] : "unknown";
}

/// True for failures that say the server (or the way to it) is unusable: they count towards the
/// circuit breaker. The others (OOM, READONLY, WRONGTYPE, ...) come from a server that answers.
constexpr bool server_unusable(Failure f) noexcept {
    switch (f) {
    case Failure::connect:
    case Failure::timeout:
    case Failure::io:
    case Failure::protocol:
    case Failure::tls:
    case Failure::auth:
    case Failure::loading:
    case Failure::busy:
    case Failure::masterdown:
        return true;
    default:
        return false;
    }
}

/// An error of the connection layer: the public Error plus its kind, and whether the same
/// request may be sent again on a fresh connection (a pooled connection that turned out to be
/// closed by the server before any reply byte arrived — e.g. after a server restart).
struct Fault {
    Failure kind = Failure::io;
    Error error{};
    bool retryable = false;
};

template <class T>
using IoResult = expected<T, Fault>;

inline unexpected<Fault> fault(Failure kind, ErrorCode code, std::string message, bool retryable = false) {
    return unexpected<Fault>(Fault{kind, Error{code, std::move(message), 0, std::nullopt}, retryable});
}

/// Maps an error reply ("-OOM command not allowed ...") to its kind.
inline Failure classify_error_reply(std::string_view msg) noexcept {
    auto starts = [&](std::string_view p) {
        return msg.size() >= p.size() && msg.substr(0, p.size()) == p &&
               (msg.size() == p.size() || msg[p.size()] == ' ');
    };
    if (starts("OOM"))
        return Failure::oom;
    if (starts("READONLY"))
        return Failure::readonly;
    if (starts("LOADING"))
        return Failure::loading;
    if (starts("NOAUTH") || starts("WRONGPASS"))
        return Failure::auth;
    if (starts("WRONGTYPE"))
        return Failure::wrongtype;
    if (starts("MASTERDOWN") || starts("CLUSTERDOWN") || starts("TRYAGAIN"))
        return Failure::masterdown;
    if (starts("BUSY"))
        return Failure::busy;
    if (starts("NOPERM"))
        return Failure::noperm;
    if (starts("MISCONF"))
        return Failure::misconf;
    if (starts("MOVED") || starts("ASK"))
        return Failure::redirect;
    return Failure::other_reply;
}

// ---------------------------------------------------------------------------------------------
// Replies.
struct ReplyFree {
    void operator()(redisReply* r) const noexcept {
        if (r != nullptr)
            freeReplyObject(r);
    }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

inline std::string_view reply_text(const redisReply& r) noexcept {
    return r.str == nullptr ? std::string_view{} : std::string_view(r.str, r.len);
}

/// A decimal rendering of an integer without allocation (for PX arguments).
struct DecimalArg {
    char buf[24];
    std::size_t len = 0;
    explicit DecimalArg(long long v) noexcept {
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
        (void)ec;
        len = static_cast<std::size_t>(p - buf);
    }
    std::string_view view() const noexcept { return {buf, len}; }
};

/// Appends one RESP command (binary-safe, via redisFormatCommandArgv) to `wire`.
inline bool append_command(std::string& wire, std::span<const std::string_view> args) {
    constexpr std::size_t small = 8;
    const char* argv_small[small];
    std::size_t len_small[small];
    std::vector<const char*> argv_big;
    std::vector<std::size_t> len_big;
    const char** argv = argv_small;
    std::size_t* lens = len_small;
    if (args.size() > small) {
        argv_big.resize(args.size());
        len_big.resize(args.size());
        argv = argv_big.data();
        lens = len_big.data();
    }
    for (std::size_t i = 0; i < args.size(); ++i) {
        argv[i] = args[i].data();
        lens[i] = args[i].size();
    }
    char* cmd = nullptr;
    const int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv, lens);
    if (n < 0 || cmd == nullptr)
        return false;
    struct Free {
        char* p;
        ~Free() { redisFreeCommand(p); }
    } guard{cmd};
    wire.append(cmd, static_cast<std::size_t>(n));
    return true;
}
inline bool append_command(std::string& wire, std::initializer_list<std::string_view> args) {
    return append_command(wire, std::span<const std::string_view>(args.begin(), args.size()));
}

// ---------------------------------------------------------------------------------------------
// TLS.
struct TlsConfig {
    std::string ca_file;     ///< PEM bundle of trusted CAs; empty: the system store
    std::string ca_dir;      ///< a directory of hashed CA certificates (c_rehash); optional
    std::string cert_file;   ///< client certificate (PEM) for mutual TLS; optional
    std::string key_file;    ///< its private key (PEM)
    std::string server_name; ///< name to verify and send as SNI instead of the URL's host
    bool verify = true;      ///< verify the chain and the host name; false only when asked in code
};

inline std::string openssl_error_text() {
    std::string out;
    unsigned long e = 0;
    int guard = 0;
    while ((e = ERR_get_error()) != 0 && guard++ < 8) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

/// The SSL_CTX of one store (shared by all its connections).
class TlsContext {
public:
    static Result<std::shared_ptr<TlsContext>> create(const TlsConfig& cfg) {
        ERR_clear_error();
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        if (ctx == nullptr)
            return fail(ErrorCode::invalid_argument, "llmcache: redis TLS: " + openssl_error_text());
        std::shared_ptr<TlsContext> out(new TlsContext(ctx, cfg));
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        if (!cfg.ca_file.empty() || !cfg.ca_dir.empty()) {
            if (SSL_CTX_load_verify_locations(ctx, cfg.ca_file.empty() ? nullptr : cfg.ca_file.c_str(),
                                              cfg.ca_dir.empty() ? nullptr : cfg.ca_dir.c_str()) != 1)
                return fail(ErrorCode::invalid_argument, "llmcache: redis TLS: cannot load the CA file '" +
                                                             cfg.ca_file + "': " + openssl_error_text());
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            return fail(ErrorCode::invalid_argument,
                        "llmcache: redis TLS: cannot load the system CA store: " + openssl_error_text());
        }
        if (!cfg.cert_file.empty() || !cfg.key_file.empty()) {
            if (cfg.cert_file.empty() || cfg.key_file.empty())
                return fail(ErrorCode::invalid_argument,
                            "llmcache: redis TLS: a client certificate needs both cert_file and key_file");
            if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert_file.c_str()) != 1)
                return fail(ErrorCode::invalid_argument, "llmcache: redis TLS: cannot load the client "
                                                         "certificate '" +
                                                             cfg.cert_file + "': " + openssl_error_text());
            if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
                if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
                    ERR_clear_error();
                    return fail(ErrorCode::invalid_argument,
                                "llmcache: redis TLS: the client key does not match the client certificate");
                }
                return fail(ErrorCode::invalid_argument, "llmcache: redis TLS: cannot load the client key '" +
                                                             cfg.key_file + "': " + openssl_error_text());
            }
            if (SSL_CTX_check_private_key(ctx) != 1)
                return fail(ErrorCode::invalid_argument,
                            "llmcache: redis TLS: the client key does not match the client certificate");
        }
        SSL_CTX_set_verify(ctx, cfg.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
        return out;
    }

    ~TlsContext() { SSL_CTX_free(ctx_); }
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* get() const noexcept { return ctx_; }
    const TlsConfig& config() const noexcept { return cfg_; }

private:
    TlsContext(SSL_CTX* ctx, TlsConfig cfg) : ctx_(ctx), cfg_(std::move(cfg)) {}
    SSL_CTX* ctx_;
    TlsConfig cfg_;
};

namespace tls_bio {
// A socket BIO that writes with MSG_NOSIGNAL: OpenSSL's own socket BIO uses write(), which raises
// SIGPIPE on a connection the server closed.
inline int write(BIO* b, const char* data, int len) {
    const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b)));
    BIO_clear_retry_flags(b);
    const ssize_t n = ::send(fd, data, static_cast<std::size_t>(len), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return static_cast<int>(n);
}
inline int read(BIO* b, char* data, int len) {
    const int fd = static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b)));
    BIO_clear_retry_flags(b);
    const ssize_t n = ::recv(fd, data, static_cast<std::size_t>(len), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    return static_cast<int>(n);
}
inline int puts(BIO* b, const char* s) {
    return write(b, s, static_cast<int>(std::strlen(s)));
}
inline long ctrl(BIO*, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}
inline int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}
inline int destroy(BIO*) {
    return 1;
}
inline BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
        BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "llmcache-redis-socket");
        if (bm != nullptr) {
            BIO_meth_set_write(bm, &write);
            BIO_meth_set_read(bm, &read);
            BIO_meth_set_puts(bm, &puts);
            BIO_meth_set_ctrl(bm, &ctrl);
            BIO_meth_set_create(bm, &create);
            BIO_meth_set_destroy(bm, &destroy);
        }
        return bm;
    }();
    return m;
}
} // namespace tls_bio

inline bool is_ip_literal(const std::string& host) noexcept {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// ---------------------------------------------------------------------------------------------
// What the server told us at connect time.
struct ServerInfo {
    std::string version; ///< "7.0.15"; empty when INFO was refused
    int major = 0, minor = 0, patch = 0;
    std::string mode; ///< "standalone", "cluster", "sentinel" (redis_mode), empty when unknown

    bool known() const noexcept { return !version.empty(); }
    bool at_least(int ma, int mi, int pa = 0) const noexcept {
        if (major != ma)
            return major > ma;
        if (minor != mi)
            return minor > mi;
        return patch >= pa;
    }
    bool has_getex() const noexcept { return known() && at_least(6, 2); }
    bool has_unlink() const noexcept { return known() && at_least(4, 0); }

    static ServerInfo from_info(std::string_view info) {
        ServerInfo s;
        auto field = [&](std::string_view name) -> std::string_view {
            for (std::size_t pos = 0; pos < info.size();) {
                std::size_t eol = info.find('\n', pos);
                if (eol == std::string_view::npos)
                    eol = info.size();
                std::string_view line = info.substr(pos, eol - pos);
                if (!line.empty() && line.back() == '\r')
                    line.remove_suffix(1);
                if (line.size() > name.size() && line.substr(0, name.size()) == name &&
                    line[name.size()] == ':')
                    return line.substr(name.size() + 1);
                pos = eol + 1;
            }
            return {};
        };
        const std::string_view v = field("redis_version");
        s.mode = std::string(field("redis_mode"));
        int parts[3] = {0, 0, 0};
        std::size_t i = 0, p = 0;
        while (i < 3 && p < v.size()) {
            int n = 0;
            auto [q, ec] = std::from_chars(v.data() + p, v.data() + v.size(), n);
            if (ec != std::errc{})
                break;
            parts[i++] = n;
            p = static_cast<std::size_t>(q - v.data());
            if (p < v.size() && v[p] == '.')
                ++p;
            else
                break;
        }
        if (i > 0) {
            s.version = std::string(v);
            s.major = parts[0];
            s.minor = parts[1];
            s.patch = parts[2];
        }
        return s;
    }
};

struct ConnectOptions {
    std::chrono::milliseconds connect_timeout{300}; ///< connect + TLS + AUTH/SELECT/INFO handshake
    std::shared_ptr<const TlsContext> tls{};        ///< required for rediss:// URLs
    std::string client_name = "llmcache";           ///< CLIENT SETNAME; empty: not sent
    /// When set ("6.0"), the server is taken to be this version whatever INFO says (servers that
    /// refuse INFO; tests of the fallbacks for older servers).
    std::string assume_version{};
    /// The usual reply budget (the store's command timeout). When at least 20 ms, plain TCP and
    /// unix connections read the first reply bytes with one blocking recv bounded by 80% of it
    /// (SO_RCVTIMEO) instead of poll + recv; later reads and TLS always poll with the time left.
    std::chrono::milliseconds reply_timeout_hint{0};
    /// Accept a Redis Sentinel at the other end (for SENTINEL commands); data connections refuse
    /// one, since a sentinel stores nothing.
    bool allow_sentinel = false;
};

// ---------------------------------------------------------------------------------------------
class Connection {
public:
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { close(); }

    /// Connects, (TLS), authenticates, selects the database, names the client and reads the
    /// server version, all within opts.connect_timeout. Never throws except std::bad_alloc.
    static IoResult<std::unique_ptr<Connection>> open(const Url& url, const ConnectOptions& opts) {
        const auto deadline = Clock::now() + opts.connect_timeout;
        std::unique_ptr<Connection> c(new Connection(url));
        c->reader_ = redisReaderCreate();
        if (c->reader_ == nullptr)
            out_of_memory();
        if (auto r = c->connect_socket(deadline); !r)
            return unexpected<Fault>(std::move(r).error());
        if (url.tls()) {
            if (!opts.tls)
                return fault(Failure::tls, ErrorCode::store_unavailable,
                             c->what("rediss:// needs a TLS context (internal error)"));
            if (auto r = c->start_tls(*opts.tls, deadline); !r)
                return unexpected<Fault>(std::move(r).error());
        }
        if (auto r = c->handshake(opts, deadline); !r)
            return unexpected<Fault>(std::move(r).error());
        if (!url.tls() && opts.reply_timeout_hint >= std::chrono::milliseconds(20))
            c->enable_blocking_first_read(opts.reply_timeout_hint * 8 / 10);
        c->last_used_ = Clock::now();
        return c;
    }

    /// One command, one reply. Error replies are returned as replies (type REDIS_REPLY_ERROR);
    /// only connection-level trouble is a Fault (and breaks the connection).
    IoResult<Reply> command(std::span<const std::string_view> args, Clock::time_point deadline) {
        wire_.clear();
        if (!append_command(wire_, args))
            out_of_memory();
        if (auto s = send_all(wire_, deadline); !s)
            return unexpected<Fault>(std::move(s).error());
        return read_reply(deadline);
    }
    IoResult<Reply> command(std::initializer_list<std::string_view> args, Clock::time_point deadline) {
        return command(std::span<const std::string_view>(args.begin(), args.size()), deadline);
    }

    /// Sends `wire` (count formatted commands) and reads count replies, in order, into `out`.
    IoResult<void> pipeline(std::string_view wire, std::size_t count, std::vector<Reply>& out,
                            Clock::time_point deadline) {
        out.clear();
        out.reserve(count);
        if (auto s = send_all(wire, deadline); !s)
            return unexpected<Fault>(std::move(s).error());
        for (std::size_t i = 0; i < count; ++i) {
            auto r = read_reply(deadline);
            if (!r)
                return unexpected<Fault>(std::move(r).error());
            out.push_back(std::move(*r));
        }
        return {};
    }

    /// Ends a request: a connection with unread bytes (a reply nobody asked for) is broken.
    void finish_request() noexcept {
        if (fd_ >= 0 && reader_ != nullptr && reader_->len > reader_->pos)
            close();
        last_used_ = Clock::now();
    }

    /// Marks the connection unusable (e.g. after an unexpected reply type).
    void poison() noexcept { close(); }

    bool broken() const noexcept { return fd_ < 0; }
    const ServerInfo& server() const noexcept { return server_; }
    const Url& url() const noexcept { return url_; }
    Clock::time_point last_used() const noexcept { return last_used_; }
    /// Starts counting received bytes (the pool calls it when it hands the connection out).
    void mark() noexcept { received_since_mark_ = 0; }
    /// Message prefix naming this server.
    std::string what(std::string_view text) const {
        return "llmcache: redis " + url_.endpoint() + ": " + std::string(text);
    }
    /// `text` with the password replaced by "***" (for anything the server says back).
    std::string scrub(std::string text) const {
        const std::string& pw = url_.password;
        if (pw.empty())
            return text;
        for (std::size_t p = text.find(pw); p != std::string::npos; p = text.find(pw, p + 3))
            text.replace(p, pw.size(), "***");
        return text;
    }

private:
    explicit Connection(const Url& url) : url_(url) {}

    void enable_blocking_first_read(std::chrono::milliseconds budget) noexcept {
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(budget).count();
        timeval tv{static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
        const int flags = ::fcntl(fd_, F_GETFL);
        if (flags < 0 || ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
            return;
        if (::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0)
            return;
        // Every other send/recv passes MSG_DONTWAIT, so only the fast-path recv can block.
        read_block_ = budget + std::chrono::milliseconds(5); // SO_RCVTIMEO rounds up to jiffies
    }

    void close() noexcept {
        if (ssl_ != nullptr) {
            SSL_free(ssl_);
            ssl_ = nullptr;
        }
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (reader_ != nullptr) {
            redisReaderFree(reader_);
            reader_ = nullptr;
        }
    }

    unexpected<Fault> io_fault(Failure kind, ErrorCode code, std::string_view text) {
        // A pooled connection that the server had closed before this request: the request never
        // reached a live server, so it may be sent again on a fresh connection.
        const bool retryable = kind == Failure::io && received_since_mark_ == 0 && reused_;
        close();
        return fault(kind, code, what(text), retryable);
    }

    /// Waits for `events` on the socket until `deadline`.
    IoResult<void> wait(short events, Clock::time_point deadline, std::string_view doing) {
        for (int spins = 0; spins < 1'000'000; ++spins) {
            const auto left = deadline - Clock::now();
            if (left <= Clock::duration::zero())
                return io_fault(Failure::timeout, ErrorCode::store_timeout,
                                std::string("timed out ") + std::string(doing));
            const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
            timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
            pollfd p{fd_, events, 0};
            const int r = ::ppoll(&p, 1, &ts, nullptr);
            if (r > 0)
                return {};
            if (r < 0 && errno != EINTR)
                return io_fault(Failure::io, ErrorCode::store_unavailable,
                                std::string("poll failed: ") + std::strerror(errno));
        }
        return io_fault(Failure::timeout, ErrorCode::store_timeout, "timed out");
    }

    IoResult<void> send_all(std::string_view data, Clock::time_point deadline) {
        if (fd_ < 0)
            return fault(Failure::io, ErrorCode::store_unavailable, what("connection is closed"));
        reused_ = requests_++ > 0;
        const char* p = data.data();
        std::size_t left = data.size();
        while (left > 0) {
            if (ssl_ != nullptr) {
                ERR_clear_error();
                const int chunk = static_cast<int>(std::min<std::size_t>(left, 1 << 30));
                const int n = SSL_write(ssl_, p, chunk);
                if (n > 0) {
                    p += n;
                    left -= static_cast<std::size_t>(n);
                    continue;
                }
                const int e = SSL_get_error(ssl_, n);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                    if (auto w = wait(e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, deadline,
                                      "sending the request");
                        !w)
                        return w;
                    continue;
                }
                return io_fault(Failure::io, ErrorCode::store_unavailable,
                                "TLS write failed (connection closed?)");
            }
            const ssize_t n = ::send(fd_, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                p += n;
                left -= static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (auto w = wait(POLLOUT, deadline, "sending the request"); !w)
                    return w;
                continue;
            }
            return io_fault(Failure::io, ErrorCode::store_unavailable,
                            std::string("write failed: ") + std::strerror(errno));
        }
        fresh_send_ = true;
        return {};
    }

    /// Reads some bytes into buf_; returns how many (> 0).
    IoResult<std::size_t> recv_some(Clock::time_point deadline) {
        for (int spins = 0; spins < 1'000'000; ++spins) {
            if (ssl_ != nullptr) {
                if (SSL_pending(ssl_) == 0) {
                    if (auto w = wait(POLLIN, deadline, "waiting for the reply"); !w)
                        return unexpected<Fault>(std::move(w).error());
                }
                ERR_clear_error();
                const int n = SSL_read(ssl_, buf_, sizeof buf_);
                if (n > 0)
                    return static_cast<std::size_t>(n);
                const int e = SSL_get_error(ssl_, n);
                if (e == SSL_ERROR_WANT_READ)
                    continue;
                if (e == SSL_ERROR_WANT_WRITE) {
                    if (auto w = wait(POLLOUT, deadline, "waiting for the reply"); !w)
                        return unexpected<Fault>(std::move(w).error());
                    continue;
                }
                return io_fault(Failure::io, ErrorCode::store_unavailable,
                                e == SSL_ERROR_ZERO_RETURN ||
                                        (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                                    ? "the server closed the connection"
                                    : "TLS read failed: " + openssl_error_text());
            }
            if (fresh_send_ && read_block_.count() > 0 && deadline - Clock::now() >= read_block_) {
                // Fast path for the first read after a request: one blocking recv, bounded by
                // SO_RCVTIMEO (read_block_, which fits in the remaining time), saves the poll.
                fresh_send_ = false;
                const ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
                if (n > 0)
                    return static_cast<std::size_t>(n);
                if (n == 0)
                    return io_fault(Failure::io, ErrorCode::store_unavailable,
                                    "the server closed the connection");
                if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                    return io_fault(Failure::io, ErrorCode::store_unavailable,
                                    std::string("read failed: ") + std::strerror(errno));
                continue; // SO_RCVTIMEO expired (or a signal): poll for the rest of the time
            }
            fresh_send_ = false;
            if (auto w = wait(POLLIN, deadline, "waiting for the reply"); !w)
                return unexpected<Fault>(std::move(w).error());
            const ssize_t n = ::recv(fd_, buf_, sizeof buf_, MSG_DONTWAIT);
            if (n > 0)
                return static_cast<std::size_t>(n);
            if (n == 0)
                return io_fault(Failure::io, ErrorCode::store_unavailable,
                                "the server closed the connection");
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return io_fault(Failure::io, ErrorCode::store_unavailable,
                            std::string("read failed: ") + std::strerror(errno));
        }
        return io_fault(Failure::timeout, ErrorCode::store_timeout, "timed out waiting for the reply");
    }

    IoResult<Reply> read_reply(Clock::time_point deadline) {
        for (int spins = 0; spins < 100'000'000; ++spins) {
            if (reader_ == nullptr)
                return fault(Failure::io, ErrorCode::store_unavailable, what("connection is closed"));
            void* out = nullptr;
            if (redisReaderGetReply(reader_, &out) != REDIS_OK) {
                std::string err = reader_->errstr;
                return io_fault(Failure::protocol, ErrorCode::store_unavailable,
                                "the server's answer is not the Redis protocol (is this port a Redis "
                                "server?): " +
                                    scrub(err));
            }
            if (out != nullptr)
                return Reply(static_cast<redisReply*>(out));
            auto n = recv_some(deadline);
            if (!n)
                return unexpected<Fault>(std::move(n).error());
            received_since_mark_ += *n;
            if (redisReaderFeed(reader_, buf_, *n) != REDIS_OK)
                out_of_memory();
        }
        return io_fault(Failure::protocol, ErrorCode::store_unavailable, "reply too long");
    }

    IoResult<void> connect_socket(Clock::time_point deadline) {
        if (url_.transport == Transport::unix_socket) {
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            if (url_.path.size() >= sizeof addr.sun_path)
                return fault(Failure::connect, ErrorCode::store_unavailable, what("socket path too long"));
            std::memcpy(addr.sun_path, url_.path.data(), url_.path.size());
            return connect_to(AF_UNIX, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, deadline);
        }
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* res = nullptr;
        const std::string port = std::to_string(url_.port);
        // Note: name resolution has no timeout of its own (getaddrinfo blocks); use IP literals
        // or a local resolver cache where that matters.
        const int rc = ::getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &res);
        if (rc != 0)
            return fault(Failure::connect, ErrorCode::store_unavailable,
                         what(std::string("cannot resolve the host name: ") + ::gai_strerror(rc)));
        std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, &::freeaddrinfo);
        std::string last = "no address";
        for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
            auto r = connect_to(ai->ai_family, ai->ai_addr, ai->ai_addrlen, deadline);
            if (r)
                return r;
            if (r.error().kind == Failure::timeout)
                return r;
            last = std::move(r.error().error.message);
        }
        return fault(Failure::connect, ErrorCode::store_unavailable, std::move(last));
    }

    IoResult<void> connect_to(int family, const sockaddr* addr, socklen_t len, Clock::time_point deadline) {
        close_fd_only();
        fd_ = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            return fault(Failure::connect, ErrorCode::store_unavailable,
                         what(std::string("socket() failed: ") + std::strerror(errno)));
        if (family != AF_UNIX) {
            int one = 1;
            ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        }
        int r = ::connect(fd_, addr, len);
        if (r != 0 && (errno == EINPROGRESS || errno == EAGAIN || errno == EINTR)) {
            for (int spins = 0; spins < 1'000'000; ++spins) {
                const auto left = deadline - Clock::now();
                if (left <= Clock::duration::zero()) {
                    close_fd_only();
                    return fault(Failure::timeout, ErrorCode::store_timeout,
                                 what("connect timed out (server down or unreachable?)"));
                }
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
                timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
                pollfd p{fd_, POLLOUT, 0};
                const int pr = ::ppoll(&p, 1, &ts, nullptr);
                if (pr < 0 && errno == EINTR)
                    continue;
                if (pr > 0)
                    break;
                if (pr < 0) {
                    close_fd_only();
                    return fault(Failure::connect, ErrorCode::store_unavailable,
                                 what(std::string("poll failed: ") + std::strerror(errno)));
                }
            }
            int err = 0;
            socklen_t elen = sizeof err;
            if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
                err = errno;
            r = err == 0 ? 0 : -1;
            errno = err;
        }
        if (r != 0) {
            const int e = errno;
            close_fd_only();
            return fault(Failure::connect, ErrorCode::store_unavailable,
                         what(std::string("connect failed: ") + std::strerror(e)));
        }
        return {};
    }

    void close_fd_only() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

    IoResult<void> start_tls(const TlsContext& ctx, Clock::time_point deadline) {
        ERR_clear_error();
        ssl_ = SSL_new(ctx.get());
        BIO* bio = tls_bio::method() == nullptr ? nullptr : BIO_new(tls_bio::method());
        if (ssl_ == nullptr || bio == nullptr) {
            if (bio != nullptr)
                BIO_free(bio);
            return io_fault(Failure::tls, ErrorCode::store_unavailable,
                            "TLS setup failed: " + openssl_error_text());
        }
        BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd_)));
        SSL_set_bio(ssl_, bio, bio);
        const TlsConfig& cfg = ctx.config();
        const std::string& name = cfg.server_name.empty() ? url_.host : cfg.server_name;
        const bool ip = is_ip_literal(name);
        if (!ip)
            SSL_set_tlsext_host_name(ssl_, name.c_str());
        if (cfg.verify) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                              : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
            if (ok != 1)
                return io_fault(Failure::tls, ErrorCode::store_unavailable,
                                "TLS: cannot set the expected host name: " + openssl_error_text());
        }
        for (int spins = 0; spins < 1'000'000; ++spins) {
            ERR_clear_error();
            const int r = SSL_connect(ssl_);
            if (r == 1)
                return {};
            const int e = SSL_get_error(ssl_, r);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (auto w =
                        wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "in the TLS handshake");
                    !w)
                    return w;
                continue;
            }
            std::string why;
            const long vr = SSL_get_verify_result(ssl_);
            if (vr != X509_V_OK)
                why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(vr);
            else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                why = "the server closed the connection (is this a TLS port?)";
            else
                why = openssl_error_text();
            return io_fault(Failure::tls, ErrorCode::store_unavailable, "TLS handshake failed: " + why);
        }
        return io_fault(Failure::tls, ErrorCode::store_unavailable, "TLS handshake did not finish");
    }

    IoResult<void> handshake(const ConnectOptions& opts, Clock::time_point deadline) {
        std::string wire;
        std::size_t n = 0;
        const bool auth = !url_.password.empty();
        if (auth) {
            if (url_.username.empty())
                append_command(wire, {"AUTH", url_.password});
            else
                append_command(wire, {"AUTH", url_.username, url_.password});
            ++n;
        }
        const std::string db = std::to_string(url_.db);
        if (url_.db != 0) {
            append_command(wire, {"SELECT", db});
            ++n;
        }
        const std::string& name = url_.client_name ? *url_.client_name : opts.client_name;
        if (!name.empty()) {
            append_command(wire, {"CLIENT", "SETNAME", name});
            ++n;
        }
        append_command(wire, {"INFO", "server"});
        ++n;
        std::vector<Reply> replies;
        if (auto r = pipeline(wire, n, replies, deadline); !r) {
            Fault f = std::move(r).error();
            if (f.kind == Failure::timeout)
                f.error.message += " (during the connection handshake)";
            else if (f.kind == Failure::io)
                f.error.message += " during the connection handshake (maxclients reached? not a Redis "
                                   "server? TLS port without rediss://?)";
            f.kind = f.kind == Failure::timeout ? Failure::timeout
                     : f.kind == Failure::io    ? Failure::connect
                                                : f.kind;
            f.retryable = false;
            return unexpected<Fault>(std::move(f));
        }
        std::size_t i = 0;
        auto refused = [&](std::string_view step, const redisReply& r) {
            std::string msg = scrub(std::string(reply_text(r)));
            const Failure kind = classify_error_reply(msg);
            close();
            if (kind == Failure::auth && !auth)
                return fault(Failure::auth, ErrorCode::store_rejected,
                             what("the server requires authentication; put the password in the URL "
                                  "(redis://:password@host or redis://user:password@host): " +
                                  msg));
            return fault(kind == Failure::other_reply ? Failure::connect : kind, ErrorCode::store_rejected,
                         what(std::string(step) + " refused: " + msg));
        };
        if (auth) {
            const redisReply& r = *replies[i++];
            if (r.type == REDIS_REPLY_ERROR) {
                std::string msg = scrub(std::string(reply_text(r)));
                close();
                return fault(
                    Failure::auth, ErrorCode::store_rejected,
                    what("authentication failed" +
                         (url_.username.empty() ? std::string() : " for user '" + url_.username + "'") +
                         ": " + msg));
            }
            if (r.type != REDIS_REPLY_STATUS) {
                close();
                return fault(Failure::protocol, ErrorCode::store_unavailable,
                             what("unexpected answer to AUTH (is this a Redis server?)"));
            }
        }
        if (url_.db != 0) {
            const redisReply& r = *replies[i++];
            if (r.type == REDIS_REPLY_ERROR)
                return refused("SELECT " + db, r);
            if (r.type != REDIS_REPLY_STATUS) {
                close();
                return fault(Failure::protocol, ErrorCode::store_unavailable,
                             what("unexpected answer to SELECT (is this a Redis server?)"));
            }
        }
        if (!name.empty()) {
            const redisReply& r = *replies[i++];
            // CLIENT may be renamed away on managed services: only missing authentication matters.
            if (r.type == REDIS_REPLY_ERROR && classify_error_reply(reply_text(r)) == Failure::auth)
                return refused("CLIENT SETNAME", r);
        }
        const redisReply& info = *replies[i++];
        if (info.type == REDIS_REPLY_ERROR && classify_error_reply(reply_text(info)) == Failure::auth)
            return refused("INFO", info);
        if (info.type == REDIS_REPLY_STRING) {
            server_ = ServerInfo::from_info(reply_text(info));
        } else if (info.type != REDIS_REPLY_ERROR) {
            close();
            return fault(Failure::protocol, ErrorCode::store_unavailable,
                         what("unexpected answer to INFO (is this a Redis server?)"));
        }
        if (!opts.assume_version.empty()) {
            std::string mode = server_.mode;
            server_ = ServerInfo::from_info("redis_version:" + opts.assume_version + "\r\n");
            server_.mode = std::move(mode);
        }
        if (server_.mode == "sentinel" && !opts.allow_sentinel) {
            close();
            return fault(Failure::protocol, ErrorCode::store_unavailable,
                         what("this is a Redis Sentinel, not a data server"));
        }
        requests_ = 0;
        return {};
    }

    Url url_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    redisReader* reader_ = nullptr;
    ServerInfo server_{};
    Clock::time_point last_used_{};
    std::uint64_t requests_ = 0;
    std::uint64_t received_since_mark_ = 0;
    bool reused_ = false;
    bool fresh_send_ = false;
    std::chrono::milliseconds read_block_{0}; ///< blocking first read allowed when this much time is left
    std::string wire_;
    char buf_[16384];
};

} // namespace detail::redis
LLMCACHE_END_NAMESPACE
