// The HTTP layer under the model backends, the embeddings client and UpstashRestStore: one small,
// blocking client on libcurl.
//
//     http::HttpRequest req{.url = "https://api.example.com/v1/x",
//                           .headers = {{"Content-Type", "application/json"}},
//                           .body = R"({"a":1})"};
//     Result<http::HttpResponse> r = http::perform(req);     // any HTTP status is a response
//
// What it does, and why:
// - One CURL easy handle per thread (thread_local), reset before each request with
//   curl_easy_reset, which clears the options but keeps the handle's connection cache, DNS cache
//   and TLS session cache: consecutive requests from one thread to one host reuse the same
//   keep-alive connection (asserted in tests/test_http_client.cpp). A request made from inside a
//   streaming callback (the thread's handle is busy) gets a temporary handle of its own.
// - curl_global_init runs once per process (std::call_once), before the first handle is made.
// - Timeouts: connect_timeout bounds DNS + TCP + TLS setup (CURLOPT_CONNECTTIMEOUT_MS), timeout
//   bounds the whole transfer (CURLOPT_TIMEOUT_MS). Both are clamped to at least 1 ms: curl reads
//   0 as "no limit", and an llmcache call never waits forever by accident. An optional
//   idle_timeout ends a transfer that has received nothing for that long (a stalled stream).
// - TLS verification of the peer and of the host name is always on; there is no switch to turn it
//   off. The CA store is libcurl's default (the system bundle).
// - Proxies: CURLOPT_PROXY is never set, so libcurl reads the environment on every new connection:
//   `http_proxy` for http:// URLs, `https_proxy` / `HTTPS_PROXY` for https://, `all_proxy` /
//   `ALL_PROXY` for both, and `no_proxy` / `NO_PROXY` for exceptions. libcurl ignores upper-case
//   HTTP_PROXY on purpose (in a CGI program it would come from a request header).
// - CURLOPT_NOSIGNAL (no SIGALRM for DNS timeouts: required in threaded programs), TCP keep-alive,
//   `Accept-Encoding` with every encoding libcurl supports (it decompresses), no `Expect:
//   100-continue` (saves a round trip and a 1 s stall with servers that ignore it), redirects not
//   followed and only http/https allowed.
// - A response body larger than HttpRequest::max_response_bytes stops the transfer with
//   bad_response, so a broken or hostile server cannot exhaust memory.
// - Response header names are lower-cased (HTTP header names are case-insensitive); when curl
//   sees several header blocks (a 100 Continue, a proxy's CONNECT reply) only the last is kept.
// - Errors: transport failures (refused, reset, DNS, TLS, cut mid-body) are backend_unavailable,
//   an elapsed timeout is backend_timeout. The message names the method, the host and curl's
//   explanation, never the path, the query, the URL's user:password nor any header value; the
//   values of the request's headers and the URL's credentials are additionally scrubbed from
//   curl's text. A store maps these codes to its own (see store/upstash.hpp).
#pragma once

#include "../../config.hpp"
#include "../../error.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE
namespace http {

struct Header {
    std::string name{};
    std::string value{};
};

struct HttpRequest {
    std::string method = "POST"; ///< GET, POST, PUT, DELETE, HEAD, ... (POST sends `body`)
    std::string url{};
    std::vector<Header> headers{}; ///< sent as given; set Content-Type yourself when there is a body
    std::string body{};
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds timeout{600'000}; ///< the whole transfer
    /// When positive, a transfer that receives nothing for this long fails with backend_timeout,
    /// however much of `timeout` is left: a stalled stream is noticed without waiting for the
    /// whole-transfer limit. The wait for the first byte counts. Checked from libcurl's progress
    /// callback, about once a second while idle: expect up to ~1 s more. 0: no idle limit.
    std::chrono::milliseconds idle_timeout{0};
    /// Larger response bodies fail with bad_response (streamed bodies: total bytes delivered).
    std::size_t max_response_bytes = std::size_t{64} << 20;
};

struct HttpResponse {
    long status = 0;
    std::vector<Header> headers{}; ///< names lower-cased, values trimmed, in arrival order
    std::string body{};

    /// The value of the first header called `lower_name` (give it lower-case), "" when absent.
    std::string_view header(std::string_view lower_name) const noexcept {
        for (const Header& h : headers)
            if (h.name == lower_name)
                return h.value;
        return {};
    }
};

namespace detail {

inline bool global_init_ok() noexcept {
    static std::once_flag once;
    static bool ok = false;
    std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
    return ok;
}

inline char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

/// The parts of a URL used in messages: "host[:port]" without user:password, and the userinfo
/// itself (to scrub it from curl's text).
struct UrlParts {
    std::string_view host_port;
    std::string_view userinfo;
};

inline UrlParts split_url(std::string_view url) noexcept {
    UrlParts p;
    std::size_t start = url.find("://");
    start = start == std::string_view::npos ? 0 : start + 3;
    std::string_view authority = url.substr(start);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    const std::size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
        p.userinfo = authority.substr(0, at);
        authority.remove_prefix(at + 1);
    }
    p.host_port = authority;
    return p;
}

/// Replaces every occurrence of each secret (length >= 4) in `text` by "[redacted]".
inline void scrub(std::string& text, std::string_view secret) {
    if (secret.size() < 4)
        return;
    for (std::size_t pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
        text.replace(pos, secret.size(), "[redacted]");
}

/// Receives body bytes; returns false to stop the transfer.
using ChunkSink = bool (*)(void* context, std::string_view bytes);

struct Transfer {
    HttpResponse* response = nullptr;
    ChunkSink sink = nullptr; ///< null: append to response->body
    void* sink_context = nullptr;
    std::size_t limit = 0;
    std::size_t received = 0;
    bool too_large = false;
    bool sink_stopped = false;
    bool sink_threw = false;
    std::chrono::milliseconds idle_limit{0}; ///< 0: no idle check
    std::chrono::steady_clock::time_point last_activity{};
    bool idle_expired = false;
};

/// libcurl's progress callback (about once a second while waiting, more often while data flows):
/// ends the transfer when nothing has arrived for idle_limit. A byte-rate check
/// (CURLOPT_LOW_SPEED_*) cannot do this: it averages over several seconds, so a stream that sent
/// a burst and then stalled would pass it for a while.
inline int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
    auto& t = *static_cast<Transfer*>(user);
    if (std::chrono::steady_clock::now() - t.last_activity < t.idle_limit)
        return 0;
    t.idle_expired = true;
    return 1; // curl stops with CURLE_ABORTED_BY_CALLBACK
}

inline std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) noexcept {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    if (t.idle_limit.count() > 0)
        t.last_activity = std::chrono::steady_clock::now();
    const std::string_view line = trim(std::string_view(data, n));
    if (line.starts_with("HTTP/")) { // a new header block (after 1xx or a proxy CONNECT)
        t.response->headers.clear();
        return n;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return n;
    Header h;
    h.name.reserve(colon);
    for (char c : line.substr(0, colon))
        h.name.push_back(ascii_lower(c));
    h.value = std::string(trim(line.substr(colon + 1)));
    t.response->headers.push_back(std::move(h));
    return n;
}

inline std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) noexcept {
    auto& t = *static_cast<Transfer*>(user);
    const std::size_t n = size * count;
    if (t.idle_limit.count() > 0)
        t.last_activity = std::chrono::steady_clock::now();
    if (n > t.limit - t.received) {
        t.too_large = true;
        return 0; // curl stops with CURLE_WRITE_ERROR
    }
    t.received += n;
    if (t.sink == nullptr) {
        t.response->body.append(data, n);
        return n;
    }
    bool keep_going = false;
#if LLMCACHE_HAS_EXCEPTIONS
    try {
        keep_going = t.sink(t.sink_context, std::string_view(data, n));
    } catch (...) {
        t.sink_threw = true;
        return 0;
    }
#else
    keep_going = t.sink(t.sink_context, std::string_view(data, n));
#endif
    if (!keep_going) {
        t.sink_stopped = true;
        return 0;
    }
    return n;
}

struct EasyHandle {
    CURL* handle = nullptr;
    bool busy = false;
    EasyHandle() noexcept : handle(global_init_ok() ? curl_easy_init() : nullptr) {}
    ~EasyHandle() {
        if (handle != nullptr)
            curl_easy_cleanup(handle);
    }
    EasyHandle(const EasyHandle&) = delete;
    EasyHandle& operator=(const EasyHandle&) = delete;
};

inline EasyHandle& thread_handle() noexcept {
    thread_local EasyHandle h;
    return h;
}

inline long clamp_ms(std::chrono::milliseconds ms) noexcept {
    return static_cast<long>(std::clamp<std::chrono::milliseconds::rep>(ms.count(), 1, 0x7fffffff));
}

inline Error transport_error(const HttpRequest& req, CURLcode code, const char* detail) {
    const UrlParts url = split_url(req.url);
    std::string message = "HTTP ";
    message += req.method;
    message += " to ";
    message += url.host_port;
    message += " failed: ";
    message += (detail != nullptr && detail[0] != '\0') ? detail : curl_easy_strerror(code);
    scrub(message, url.userinfo);
    if (const std::size_t colon = url.userinfo.find(':'); colon != std::string_view::npos)
        scrub(message, url.userinfo.substr(colon + 1));
    for (const Header& h : req.headers)
        scrub(message, h.value);
    const ErrorCode ec =
        code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::backend_timeout : ErrorCode::backend_unavailable;
    return Error{ec, std::move(message), 0, std::nullopt};
}

/// Marks the thread's handle busy for the duration of a request.
struct BusyGuard {
    bool* flag;
    explicit BusyGuard(bool* f) noexcept : flag(f) { *flag = true; }
    ~BusyGuard() { *flag = false; }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;
};

inline Result<HttpResponse> perform_on(CURL* curl, const HttpRequest& req, ChunkSink sink,
                                       void* sink_context) noexcept {
    curl_easy_reset(curl); // options back to defaults; connections and caches are kept
    HttpResponse response;
    Transfer transfer{&response, sink, sink_context, req.max_response_bytes};
    char error_text[CURL_ERROR_SIZE] = {};

    curl_slist* header_list = nullptr;
    bool ok = true;
    bool has_content_type = false;
    auto add_header = [&](const std::string& line) {
        curl_slist* next = curl_slist_append(header_list, line.c_str());
        if (next == nullptr)
            ok = false;
        else
            header_list = next;
    };
    for (const Header& h : req.headers) {
        has_content_type = has_content_type || iequals(h.name, "content-type");
        add_header(h.value.empty() ? h.name + ";" : h.name + ": " + h.value); // "X;" sends "X:"
    }
    add_header("Expect:"); // no 100-continue
    if (!req.body.empty() && !has_content_type)
        add_header("Content-Type:"); // not curl's default application/x-www-form-urlencoded

    curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""); // every encoding libcurl can decode
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, clamp_ms(req.connect_timeout));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, clamp_ms(req.timeout));
    if (req.idle_timeout.count() > 0) {
        transfer.idle_limit = req.idle_timeout;
        transfer.last_activity = std::chrono::steady_clock::now();
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
    if (req.method == "GET" && req.body.empty()) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
        if (req.method != "POST")
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        if (req.method == "POST" || !req.body.empty()) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
        }
    }

    const CURLcode code = ok ? curl_easy_perform(curl) : CURLE_OUT_OF_MEMORY;
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(header_list);

    if (transfer.too_large)
        return fail(ErrorCode::bad_response, "HTTP response from " +
                                                 std::string(split_url(req.url).host_port) + " exceeds " +
                                                 std::to_string(req.max_response_bytes) + " bytes");
    if (transfer.sink_threw)
        return fail(ErrorCode::backend_failed, "the streaming callback threw an exception");
    if (transfer.idle_expired)
        return fail(ErrorCode::backend_timeout,
                    "HTTP " + req.method + " to " + std::string(split_url(req.url).host_port) +
                        " received nothing for " + std::to_string(req.idle_timeout.count()) +
                        " ms (idle_timeout)");
    if (code != CURLE_OK && !transfer.sink_stopped)
        return unexpected<Error>(transport_error(req, code, error_text));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

inline Result<HttpResponse> perform_with(const HttpRequest& req, ChunkSink sink,
                                         void* sink_context) noexcept {
    EasyHandle& shared = thread_handle();
    if (!shared.busy) {
        if (shared.handle == nullptr)
            return fail(ErrorCode::backend_unavailable, "libcurl could not be initialised");
        BusyGuard guard(&shared.busy);
        return perform_on(shared.handle, req, sink, sink_context);
    }
    EasyHandle nested; // a request from inside a streaming callback on this thread
    if (nested.handle == nullptr)
        return fail(ErrorCode::backend_unavailable, "libcurl could not be initialised");
    return perform_on(nested.handle, req, sink, sink_context);
}

} // namespace detail
} // namespace http
LLMCACHE_END_NAMESPACE

LLMCACHE_BEGIN_NAMESPACE
namespace http {

/// Blocking request. Transport failures (refused, reset, DNS, TLS, cut mid-body) are Errors with
/// backend_unavailable, an elapsed timeout backend_timeout, an oversized body bad_response; any
/// HTTP status (404, 500, ...) is a response. The whole body is collected in HttpResponse::body.
inline Result<HttpResponse> perform(const HttpRequest& req) noexcept {
    return detail::perform_with(req, nullptr, nullptr);
}

/// Streaming request: `on_chunk(std::string_view bytes) -> bool` receives the body bytes as they
/// arrive (chunk boundaries are the network's, not the server's); returning false stops the
/// transfer, and the result is then the response so far (status and headers) rather than an
/// error, since the caller chose to stop. The returned body is empty. If on_chunk throws, the
/// transfer stops and the result is backend_failed (the exception cannot cross libcurl's C code).
template <class F>
Result<HttpResponse> perform_streaming(const HttpRequest& req, F&& on_chunk) noexcept {
    using Fn = std::remove_reference_t<F>;
    static_assert(std::is_invocable_r_v<bool, Fn&, std::string_view>,
                  "on_chunk must be callable as bool(std::string_view)");
    detail::ChunkSink sink = [](void* context, std::string_view bytes) -> bool {
        return static_cast<bool>((*static_cast<Fn*>(context))(bytes));
    };
    return detail::perform_with(req, sink, const_cast<void*>(static_cast<const void*>(&on_chunk)));
}

} // namespace http
LLMCACHE_END_NAMESPACE
