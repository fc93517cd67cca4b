// Test support: real redis-server processes on free loopback ports, and TLS certificates made
// with the openssl command line at test time.
//
//     llmcache_test::RedisServer server;                        // plain, on 127.0.0.1:<free port>
//     llmcache_test::RedisServer tls({.tls = true});            // TLS port, test CA certificates
//     llmcache_test::RedisServer acl({.config = {"user app on >pw ~* +@all"}});
//     llmcache_test::RedisServer sentinel({.config = {"sentinel monitor m 127.0.0.1 6379 2"},
//                                          .sentinel = true});       // a Redis Sentinel
//     server.kill9(); server.restart(); server.pause(); server.resume();
//
// When redis-server (or openssl, for TLS) is not installed the constructor throws with a clear
// message: the tests fail, they are never skipped silently. Each server has its own temporary
// directory (removed afterwards) and dies with the test process (PR_SET_PDEATHSIG).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace llmcache_test {

/// The full path of `exe` on $PATH, or "" when absent.
inline std::string find_in_path(std::string_view exe) {
    const char* path = std::getenv("PATH");
    std::string_view rest = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    while (!rest.empty()) {
        const std::size_t colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        if (dir.empty())
            continue;
        std::string candidate = dir + "/" + std::string(exe);
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

/// A loopback TCP port that was free a moment ago (bind port 0, read it, close).
inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("free_port: socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("free_port: bind/getsockname failed");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

inline std::string make_temp_dir(const char* tag) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (std::string("llmcache-") + tag + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed for " + pattern);
    return pattern;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

/// Connects to 127.0.0.1:port (true when something accepts within `timeout`).
inline bool port_accepts(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(200)) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (!ok && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
            int err = 0;
            socklen_t l = sizeof err;
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
            ok = err == 0;
        }
    }
    ::close(fd);
    return ok;
}

// ---------------------------------------------------------------------------------------------
/// Certificates for TLS tests, generated once per test process with the openssl CLI:
/// a test CA; a server certificate for 127.0.0.1 and localhost (subjectAltName) signed by it; a
/// certificate for another host name (wrong.example) signed by the same CA; a client certificate
/// for mutual TLS; and a second CA that signed nothing we use (untrusted for our servers).
struct TestCerts {
    std::string dir;
    std::string ca_crt, ca_key, server_crt, server_key, wrong_host_crt, wrong_host_key, client_crt,
        client_key, other_ca_crt;

    static const TestCerts& get() {
        static TestCerts certs = make();
        return certs;
    }

    TestCerts(const TestCerts&) = delete;
    TestCerts& operator=(const TestCerts&) = delete;
    TestCerts(TestCerts&& o) noexcept
        : dir(std::exchange(o.dir, {})), ca_crt(std::move(o.ca_crt)), ca_key(std::move(o.ca_key)),
          server_crt(std::move(o.server_crt)), server_key(std::move(o.server_key)),
          wrong_host_crt(std::move(o.wrong_host_crt)), wrong_host_key(std::move(o.wrong_host_key)),
          client_crt(std::move(o.client_crt)), client_key(std::move(o.client_key)),
          other_ca_crt(std::move(o.other_ca_crt)) {}
    ~TestCerts() {
        if (!dir.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }

private:
    TestCerts() = default;
    static TestCerts make() {
        if (find_in_path("openssl").empty())
            throw std::runtime_error("the openssl command line tool is not installed; the TLS tests need it "
                                     "to make test certificates (apt-get install openssl)");
        TestCerts c;
        c.dir = make_temp_dir("certs");
        auto f = [&](const char* name) { return c.dir + "/" + name; };
        c.ca_crt = f("ca.crt");
        c.ca_key = f("ca.key");
        c.server_crt = f("server.crt");
        c.server_key = f("server.key");
        c.wrong_host_crt = f("wrong.crt");
        c.wrong_host_key = f("wrong.key");
        c.client_crt = f("client.crt");
        c.client_key = f("client.key");
        c.other_ca_crt = f("other_ca.crt");
        const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        auto run = [&](const std::string& cmd) {
            const std::string full = "cd '" + c.dir + "' && " + cmd + " >>openssl.log 2>&1";
            if (std::system(full.c_str()) != 0)
                throw std::runtime_error("openssl failed: " + cmd + "\n" + read_file(c.dir + "/openssl.log"));
        };
        auto write = [&](const char* name, const char* text) { std::ofstream(f(name)) << text; };
        run("openssl req -x509 " + key + " -keyout ca.key -out ca.crt -days 3 -subj '/CN=llmcache test CA'");
        run("openssl req -x509 " + key +
            " -keyout other_ca.key -out other_ca.crt -days 3 -subj '/CN=llmcache "
            "untrusted CA'");
        write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                            "extendedKeyUsage=serverAuth\n");
        write("wrong.ext", "subjectAltName=DNS:wrong.example\nbasicConstraints=CA:FALSE\n"
                           "extendedKeyUsage=serverAuth\n");
        write("client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
        for (const char* n : {"server", "wrong", "client"}) {
            const std::string name = n;
            run("openssl req " + key + " -keyout " + name + ".key -out " + name +
                ".csr -subj '/CN=llmcache " + name + "'");
            run("openssl x509 -req -in " + name + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " +
                name + ".crt -days 3 -extfile " + name + ".ext");
        }
        return c;
    }
};

// ---------------------------------------------------------------------------------------------
struct RedisServerOptions {
    std::vector<std::string> config{}; ///< extra redis.conf lines ("requirepass x", "maxmemory 1mb", ...)
    bool tls = false;                  ///< serve TLS on the port (plain TCP disabled)
    std::string tls_cert{};            ///< server certificate; empty: TestCerts' 127.0.0.1/localhost one
    std::string tls_key{};
    bool tls_auth_clients = false; ///< require a client certificate signed by the test CA
    /// Run a Redis Sentinel (Debian's redis-sentinel) instead of a data server; `config` then
    /// holds its sentinel lines ("sentinel monitor mymaster 127.0.0.1 6379 2", ...).
    bool sentinel = false;
};

class RedisServer {
public:
    explicit RedisServer(RedisServerOptions opts = {}) : opts_(std::move(opts)) {
        exe_ = find_in_path(opts_.sentinel ? "redis-sentinel" : "redis-server");
        if (exe_.empty() && opts_.sentinel)
            throw std::runtime_error(
                "redis-sentinel is not installed (not found on PATH). The Sentinel tests "
                "run against real sentinels and cannot pass without it: apt-get install "
                "redis-sentinel");
        if (exe_.empty())
            throw std::runtime_error("redis-server is not installed (not found on PATH). The Redis tests run "
                                     "against real servers and cannot pass without it: apt-get install "
                                     "redis-server");
        dir_ = make_temp_dir("redis");
        std::string last;
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            try {
                start();
                return;
            } catch (const std::exception& e) {
                last = e.what();
                reap(SIGKILL);
            }
        }
        cleanup_dir();
        throw std::runtime_error("could not start redis-server: " + last);
    }

    ~RedisServer() {
        stop();
        cleanup_dir();
    }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    int port() const noexcept { return port_; }
    const std::string& dir() const noexcept { return dir_; }
    std::string unix_path() const { return dir_ + "/redis.sock"; }
    pid_t pid() const noexcept { return pid_; }
    bool running() const noexcept { return pid_ > 0; }

    /// "redis://127.0.0.1:<port>" (rediss:// for TLS servers); userinfo is put before the host.
    std::string url(std::string_view userinfo = {}, std::string_view host = "127.0.0.1") const {
        std::string u = opts_.tls ? "rediss://" : "redis://";
        if (!userinfo.empty())
            u += std::string(userinfo) + "@";
        return u + std::string(host) + ":" + std::to_string(port_);
    }

    /// The current log file's text.
    std::string log() const { return read_file(log_path()); }

    void kill9() { reap(SIGKILL); }
    void pause() {
        if (pid_ > 0 && ::kill(pid_, SIGSTOP) == 0)
            paused_ = true;
    }
    void resume() {
        if (pid_ > 0 && ::kill(pid_, SIGCONT) == 0)
            paused_ = false;
    }
    /// SIGTERM, then SIGKILL after 5 s.
    void stop() {
        if (pid_ <= 0)
            return;
        if (paused_)
            resume();
        ::kill(pid_, SIGTERM);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        reap(SIGKILL);
    }
    /// Starts the server again on the same port (after kill9() or stop()).
    void restart() {
        if (pid_ > 0)
            stop();
        std::string last;
        for (int attempt = 0; attempt < 3; ++attempt) {
            try {
                start();
                return;
            } catch (const std::exception& e) {
                last = e.what();
                reap(SIGKILL);
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        }
        throw std::runtime_error("could not restart redis-server on port " + std::to_string(port_) + ": " +
                                 last);
    }

private:
    std::string log_path() const { return dir_ + "/redis-" + std::to_string(starts_) + ".log"; }

    void write_config() {
        std::ofstream conf(dir_ + "/redis.conf");
        conf << "bind 127.0.0.1\n";
        if (opts_.sentinel) {
            conf << "port " << port_ << "\n"
                 << "dir " << dir_ << "\n"
                 << "daemonize no\n"
                 << "logfile " << log_path() << "\n";
            for (const std::string& line : opts_.config)
                conf << line << "\n";
            return;
        }
        if (opts_.tls) {
            const TestCerts& c = TestCerts::get();
            conf << "port 0\n"
                 << "tls-port " << port_ << "\n"
                 << "tls-cert-file " << (opts_.tls_cert.empty() ? c.server_crt : opts_.tls_cert) << "\n"
                 << "tls-key-file " << (opts_.tls_key.empty() ? c.server_key : opts_.tls_key) << "\n"
                 << "tls-ca-cert-file " << c.ca_crt << "\n"
                 << "tls-auth-clients " << (opts_.tls_auth_clients ? "yes" : "no") << "\n";
        } else {
            conf << "port " << port_ << "\n";
        }
        conf << "dir " << dir_ << "\n"
             << "save \"\"\n"
             << "appendonly no\n"
             << "daemonize no\n"
             << "logfile " << log_path() << "\n"
             << "unixsocket " << unix_path() << "\n"
             << "unixsocketperm 700\n"
             << "enable-debug-command local\n";
        for (const std::string& line : opts_.config)
            conf << line << "\n";
    }

    void start() {
        ++starts_;
        write_config();
        const std::string conf = dir_ + "/redis.conf";
        const pid_t parent = ::getpid();
        const pid_t pid = ::fork();
        if (pid < 0)
            throw std::runtime_error("fork failed");
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(126);
            const int devnull = ::open("/dev/null", O_RDWR);
            if (devnull >= 0) {
                ::dup2(devnull, 0);
                ::dup2(devnull, 1);
                ::dup2(devnull, 2);
            }
            if (opts_.sentinel)
                ::execl(exe_.c_str(), "redis-sentinel", conf.c_str(), static_cast<char*>(nullptr));
            else
                ::execl(exe_.c_str(), "redis-server", conf.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        pid_ = pid;
        paused_ = false;
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("redis-server exited at start (port " + std::to_string(port_) +
                                         "); its log:\n" + log());
            }
            const bool ready = opts_.sentinel
                                   ? log().find("Sentinel ID is") != std::string::npos
                                   : log().find("Ready to accept connections") != std::string::npos;
            if (ready && port_accepts(port_))
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw std::runtime_error("redis-server did not become ready within 10 s (port " +
                                 std::to_string(port_) + "); its log:\n" + log());
    }

    void reap(int sig) {
        if (pid_ <= 0)
            return;
        ::kill(pid_, sig);
        if (paused_)
            ::kill(pid_, SIGCONT);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        paused_ = false;
    }

    void cleanup_dir() {
        if (!dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
        }
    }

    RedisServerOptions opts_;
    std::string exe_;
    std::string dir_;
    int port_ = 0;
    pid_t pid_ = -1;
    bool paused_ = false;
    int starts_ = 0;
};

} // namespace llmcache_test
