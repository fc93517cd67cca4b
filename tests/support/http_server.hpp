// Test support: a small threaded HTTP/1.1 server on 127.0.0.1:<free port>, in the test process,
// for testing HTTP clients against the exact wire format (the handler writes it).
//
//     llmcache_test::HttpServer server([](const llmcache_test::RecordedRequest& r) {
//         llmcache_test::Reply reply;
//         reply.status = 200;
//         reply.headers = {{"Content-Type", "application/json"}};
//         reply.body = R"({"ok":true})";
//         return reply;
//     });
//     server.url();                 // "http://127.0.0.1:41234" (no trailing slash)
//     ... make requests ...
//     server.requests();            // every request received, in order (a copy)
//     server.last_request().header("authorization");
//     server.connections();         // TCP connections accepted so far (keep-alive reuse: 1)
//
// RecordedRequest: method, target (as sent: "/v1/x?q=1", or "http://host/x" through a proxy),
// path (target without the query), headers (names lower-cased, values trimmed, in order),
// body (Content-Length or chunked request bodies are both decoded), connection (1-based index of
// the TCP connection it came on); header(name) gives a value or "".
//
// Reply (all optional but status):
//   status, headers, body           sent with Content-Length (the server adds it)
//   delay                           wait before sending anything (a slow server)
//   chunks + chunk_delay            `Transfer-Encoding: chunked`, one chunk per element, with
//                                   chunk_delay before each (SSE streams: put events in chunks);
//                                   chunk_delays[i], when given, replaces it for chunk i
//   cut_after                       announce Content-Length = body.size(), send only the first
//                                   cut_after bytes of body, then close the connection
//   raw                             bytes written verbatim instead of a formatted response
//   close                           `Connection: close`, then close after the reply
// The server answers keep-alive requests on the same connection until the client closes it.
// If the handler throws, the reply is a 500 with the exception text as its body.
//
// Clean shutdown: stop() (or the destructor) closes the listening socket and every connection,
// wakes replies that are waiting on a delay, and joins all threads. The handler runs on the
// connection's thread, so handlers must be thread-safe when clients are concurrent.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace llmcache_test {

struct RecordedRequest {
    std::string method;
    std::string target;
    std::string path;
    std::vector<std::pair<std::string, std::string>> headers; ///< names lower-cased
    std::string body;
    bool chunked_body = false; ///< the body came with Transfer-Encoding: chunked
    int connection = 0;        ///< 1-based index of the TCP connection

    /// Value of the first header named `lower_name` (lower-case), "" when absent.
    std::string header(std::string_view lower_name) const {
        for (const auto& [name, value] : headers)
            if (name == lower_name)
                return value;
        return {};
    }
    bool has_header(std::string_view lower_name) const {
        for (const auto& h : headers)
            if (h.first == lower_name)
                return true;
        return false;
    }
};

struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};
    std::vector<std::string> chunks; ///< non-empty: chunked transfer instead of `body`
    std::chrono::milliseconds chunk_delay{0};
    /// Per-chunk waits: chunk i waits chunk_delays[i] when given, else chunk_delay (a stream that
    /// starts at once and then stalls).
    std::vector<std::chrono::milliseconds> chunk_delays;
    std::optional<std::size_t> cut_after; ///< send only this many body bytes, then close
    std::optional<std::string> raw;       ///< written as is, then the connection is closed
    bool close = false;
};

using Handler = std::function<Reply(const RecordedRequest&)>;

/// Canonical reason phrases for the statuses tests use (any status works; the phrase is cosmetic).
inline const char* reason_phrase(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

class HttpServer {
public:
    explicit HttpServer(Handler handler = {}) : handler_(std::move(handler)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0)
            throw std::runtime_error("HttpServer: socket() failed");
        const int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t len = sizeof a;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 64) != 0 ||
            ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ::close(listen_fd_);
            throw std::runtime_error("HttpServer: bind/listen failed");
        }
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~HttpServer() { stop(); }
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    /// Replaces the handler (for the next requests).
    void set_handler(Handler handler) {
        std::lock_guard lock(mutex_);
        handler_ = std::move(handler);
    }

    std::vector<RecordedRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }
    std::size_t request_count() const {
        std::lock_guard lock(mutex_);
        return requests_.size();
    }
    RecordedRequest last_request() const {
        std::lock_guard lock(mutex_);
        if (requests_.empty())
            throw std::runtime_error("HttpServer: no request received");
        return requests_.back();
    }
    void clear_requests() {
        std::lock_guard lock(mutex_);
        requests_.clear();
    }
    /// TCP connections accepted so far.
    int connections() const { return accepted_.load(); }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
            stopping_ = true;
            for (int fd : open_fds_)
                ::shutdown(fd, SHUT_RDWR);
        }
        wake_.notify_all();
        ::shutdown(listen_fd_, SHUT_RDWR);
        if (acceptor_.joinable())
            acceptor_.join();
        ::close(listen_fd_);
        std::vector<std::thread> workers;
        {
            std::lock_guard lock(mutex_);
            workers.swap(workers_);
        }
        for (std::thread& t : workers)
            t.join();
    }

private:
    void accept_loop() {
        for (;;) {
            pollfd p{listen_fd_, POLLIN, 0};
            const int ready = ::poll(&p, 1, 50);
            {
                std::lock_guard lock(mutex_);
                if (stopping_)
                    return;
            }
            if (ready <= 0)
                continue;
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            const int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            const int index = ++accepted_;
            std::lock_guard lock(mutex_);
            if (stopping_) {
                ::close(fd);
                return;
            }
            open_fds_.push_back(fd);
            workers_.emplace_back([this, fd, index] { serve(fd, index); });
        }
    }

    // Reads more bytes into buf; false on EOF or error.
    static bool read_more(int fd, std::string& buf) {
        char tmp[16384];
        const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0)
            return false;
        buf.append(tmp, static_cast<std::size_t>(n));
        return true;
    }

    static bool send_all(int fd, std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    static std::string lower(std::string_view s) {
        std::string out(s);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c + 32);
        return out;
    }

    static std::string_view trim(std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
            s.remove_suffix(1);
        return s;
    }

    // Parses one request from buf (reading more as needed); false when the connection ended.
    static bool read_request(int fd, std::string& buf, RecordedRequest& req) {
        std::size_t end;
        while ((end = buf.find("\r\n\r\n")) == std::string::npos)
            if (!read_more(fd, buf))
                return false;
        std::string_view head(buf.data(), end);
        const std::size_t first_eol = head.find("\r\n");
        const std::string_view request_line = head.substr(0, first_eol);
        const std::size_t sp1 = request_line.find(' ');
        const std::size_t sp2 = request_line.rfind(' ');
        if (sp1 == std::string_view::npos || sp2 <= sp1)
            return false;
        req.method = std::string(request_line.substr(0, sp1));
        req.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
        req.path = req.target.substr(0, req.target.find('?'));
        std::string_view rest =
            first_eol == std::string_view::npos ? std::string_view{} : head.substr(first_eol + 2);
        std::size_t content_length = 0;
        while (!rest.empty()) {
            const std::size_t eol = rest.find("\r\n");
            const std::string_view line = rest.substr(0, eol);
            rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos)
                continue;
            std::string name = lower(line.substr(0, colon));
            std::string value(trim(line.substr(colon + 1)));
            if (name == "content-length")
                content_length = std::strtoull(value.c_str(), nullptr, 10);
            if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos)
                req.chunked_body = true;
            req.headers.emplace_back(std::move(name), std::move(value));
        }
        buf.erase(0, end + 4);
        if (!req.chunked_body) {
            while (buf.size() < content_length)
                if (!read_more(fd, buf))
                    return false;
            req.body = buf.substr(0, content_length);
            buf.erase(0, content_length);
            return true;
        }
        for (;;) { // chunked: size line, data, CRLF ... 0 CRLF [trailers] CRLF
            std::size_t eol;
            while ((eol = buf.find("\r\n")) == std::string::npos)
                if (!read_more(fd, buf))
                    return false;
            const std::size_t size = std::strtoull(buf.substr(0, eol).c_str(), nullptr, 16);
            buf.erase(0, eol + 2);
            if (size == 0) {
                while ((eol = buf.find("\r\n")) != 0) { // skip trailers up to the empty line
                    if (eol == std::string::npos) {
                        if (!read_more(fd, buf))
                            return false;
                        continue;
                    }
                    buf.erase(0, eol + 2);
                }
                buf.erase(0, 2);
                return true;
            }
            while (buf.size() < size + 2)
                if (!read_more(fd, buf))
                    return false;
            req.body.append(buf, 0, size);
            buf.erase(0, size + 2);
        }
    }

    // Waits `d` unless the server stops first; false when stopping.
    bool wait(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex_);
        return !wake_.wait_for(lock, d, [this] { return stopping_; });
    }

    // Sends the reply; false when the connection must be closed afterwards.
    bool send_reply(int fd, const Reply& r, bool client_wants_close) {
        if (r.delay.count() > 0 && !wait(r.delay))
            return false;
        if (r.raw) {
            send_all(fd, *r.raw);
            return false;
        }
        const bool close_after = r.close || client_wants_close || r.cut_after.has_value();
        std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + reason_phrase(r.status) + "\r\n";
        for (const auto& [name, value] : r.headers)
            head += name + ": " + value + "\r\n";
        if (close_after)
            head += "Connection: close\r\n";
        if (!r.chunks.empty()) {
            head += "Transfer-Encoding: chunked\r\n\r\n";
            if (!send_all(fd, head))
                return false;
            for (std::size_t i = 0; i < r.chunks.size(); ++i) {
                const std::string& chunk = r.chunks[i];
                const auto pause = i < r.chunk_delays.size() ? r.chunk_delays[i] : r.chunk_delay;
                if (pause.count() > 0 && !wait(pause))
                    return false;
                char size[32];
                std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
                if (chunk.empty())
                    continue; // an empty chunk would end the body early
                if (!send_all(fd, std::string(size) + chunk + "\r\n"))
                    return false;
            }
            return send_all(fd, "0\r\n\r\n") && !close_after;
        }
        head += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n";
        if (r.cut_after) {
            send_all(fd, head + r.body.substr(0, std::min(*r.cut_after, r.body.size())));
            return false;
        }
        return send_all(fd, head + r.body) && !close_after;
    }

    void serve(int fd, int index) {
        std::string buf;
        for (;;) {
            RecordedRequest req;
            if (!read_request(fd, buf, req))
                break;
            req.connection = index;
            Handler handler;
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(req);
                handler = handler_;
            }
            Reply reply;
            try {
                if (handler)
                    reply = handler(req);
                else
                    reply.status = 404;
            } catch (const std::exception& e) {
                reply = Reply{};
                reply.status = 500;
                reply.body = e.what();
            }
            const bool client_close = lower(req.header("connection")) == "close";
            if (!send_reply(fd, reply, client_close))
                break;
        }
        std::lock_guard lock(mutex_);
        for (auto it = open_fds_.begin(); it != open_fds_.end(); ++it)
            if (*it == fd) {
                open_fds_.erase(it);
                break;
            }
        ::close(fd);
    }

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<int> accepted_{0};
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::vector<int> open_fds_;
    std::vector<RecordedRequest> requests_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;
};

} // namespace llmcache_test
