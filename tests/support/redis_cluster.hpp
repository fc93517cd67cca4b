// Test support: a Redis Cluster of real redis-server processes on free loopback ports, joined with
// `redis-cli --cluster create` (every master, no replicas).
//
//     llmcache_test::RedisCluster cluster;          // 3 masters, cluster_state:ok on every node
//     llmcache_test::RedisCluster secure({.tls = true, .password = "pw"});
//     cluster.seed_url(); cluster.node(1).kill9(); cluster.node_id(0);
//
// Missing redis-server or redis-cli make the constructor throw with a clear message: the tests
// fail, never skip. Every wait is bounded.
#pragma once

#include "redis_server.hpp"
#include "redis_test_util.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace llmcache_test {

struct RedisClusterSetup {
    int masters = 3;
    int node_timeout_ms = 2000; ///< cluster-node-timeout
    bool tls = false;           ///< TLS on the client ports and the cluster bus (test CA certificates)
    std::string password{};     ///< requirepass on every node
};

class RedisCluster {
public:
    /// Nodes keep serving their slots when another master is lost (cluster-require-full-coverage
    /// no). Each node's cluster bus gets its own free port (cluster-port), not port + 10000.
    explicit RedisCluster(RedisClusterSetup setup = {}) : setup_(std::move(setup)) {
        const std::string cli = find_in_path("redis-cli");
        if (cli.empty())
            throw std::runtime_error(
                "redis-cli is not installed (not found on PATH); the cluster tests need it "
                "to create the cluster: apt-get install redis-tools");
        if (find_in_path("timeout").empty())
            throw std::runtime_error("the coreutils 'timeout' command is missing; it bounds redis-cli");
        if (setup_.tls)
            make_node_cert();
        for (int i = 0; i < setup_.masters; ++i) {
            std::vector<std::string> config = {"cluster-enabled yes",
                                               "cluster-config-file nodes.conf",
                                               "cluster-node-timeout " +
                                                   std::to_string(setup_.node_timeout_ms),
                                               "cluster-require-full-coverage no",
                                               "cluster-allow-reads-when-down yes",
                                               "cluster-port " + std::to_string(free_port())};
            if (setup_.tls) {
                config.push_back("tls-cluster yes");
                config.push_back("tls-replication yes");
            }
            if (!setup_.password.empty()) {
                config.push_back("requirepass " + setup_.password);
                config.push_back("masterauth " + setup_.password);
            }
            nodes_.push_back(std::make_unique<RedisServer>(RedisServerOptions{.config = std::move(config),
                                                                              .tls = setup_.tls,
                                                                              .tls_cert = node_crt_,
                                                                              .tls_key = node_key_}));
        }
        std::string cmd = "timeout 15 " + cli;
        if (setup_.tls)
            cmd += " --tls --cacert '" + TestCerts::get().ca_crt + "'";
        if (!setup_.password.empty())
            cmd += " -a '" + setup_.password + "' --no-auth-warning";
        cmd += " --cluster create";
        for (const auto& n : nodes_)
            cmd += " 127.0.0.1:" + std::to_string(n->port());
        cmd += " --cluster-replicas 0 --cluster-yes";
        const std::string log = nodes_[0]->dir() + "/cluster-create.log";
        if (std::system((cmd + " >'" + log + "' 2>&1").c_str()) != 0)
            throw std::runtime_error("redis-cli --cluster create failed:\n" + read_file(log));
        wait_ok(std::chrono::seconds(15));
    }

    ~RedisCluster() {
        nodes_.clear();
        if (!cert_dir_.empty()) {
            std::error_code ec;
            std::filesystem::remove_all(cert_dir_, ec);
        }
    }
    RedisCluster(const RedisCluster&) = delete;
    RedisCluster& operator=(const RedisCluster&) = delete;

    RedisServer& node(std::size_t i) { return *nodes_.at(i); }
    std::size_t size() const noexcept { return nodes_.size(); }
    /// redis:// (rediss:// with TLS) URL of node i, with the password when there is one.
    std::string seed_url(std::size_t i = 0) const {
        return nodes_.at(i)->url(setup_.password.empty() ? std::string() : ":" + setup_.password);
    }
    std::string endpoint(std::size_t i) const { return "127.0.0.1:" + std::to_string(nodes_.at(i)->port()); }

    /// The node's cluster id (CLUSTER MYID).
    std::string node_id(std::size_t i) { return Admin(seed_url(i)).text({"CLUSTER", "MYID"}); }

    /// Index of the node whose endpoint is "127.0.0.1:port"; throws when none.
    std::size_t index_of(const std::string& endpoint) const {
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (this->endpoint(i) == endpoint)
                return i;
        throw std::runtime_error("no cluster node at " + endpoint);
    }

    /// Waits until every running node reports cluster_state:ok and sees every slot assigned.
    void wait_ok(std::chrono::milliseconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        std::string last;
        while (std::chrono::steady_clock::now() < until) {
            bool all = true;
            for (std::size_t i = 0; i < nodes_.size() && all; ++i) {
                if (!nodes_[i]->running())
                    continue;
                try {
                    last = Admin(seed_url(i)).text({"CLUSTER", "INFO"});
                    all = last.find("cluster_state:ok") != std::string::npos &&
                          last.find("cluster_slots_assigned:16384") != std::string::npos;
                } catch (const std::exception& e) {
                    last = e.what();
                    all = false;
                }
            }
            if (all)
                return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        throw std::runtime_error("the cluster did not reach cluster_state:ok within " +
                                 std::to_string(limit.count()) + " ms; last CLUSTER INFO:\n" + last);
    }

private:
    /// Nodes talk TLS to each other on the cluster bus and present their certificate as clients
    /// there: it needs clientAuth besides serverAuth (TestCerts' server certificate has only the
    /// latter). Signed by the test CA.
    void make_node_cert() {
        const TestCerts& c = TestCerts::get();
        cert_dir_ = make_temp_dir("cluster-certs");
        node_crt_ = cert_dir_ + "/node.crt";
        node_key_ = cert_dir_ + "/node.key";
        std::ofstream(cert_dir_ + "/node.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                                  "basicConstraints=CA:FALSE\n"
                                                  "extendedKeyUsage=serverAuth,clientAuth\n";
        const std::string cmd =
            "cd '" + cert_dir_ +
            "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout node.key "
            "-out node.csr -subj '/CN=llmcache cluster node' >openssl.log 2>&1 && openssl x509 -req -in "
            "node.csr -CA '" +
            c.ca_crt + "' -CAkey '" + c.ca_key +
            "' -CAcreateserial -CAserial node.srl -out node.crt -days 3 -extfile node.ext >>openssl.log 2>&1";
        if (std::system(cmd.c_str()) != 0)
            throw std::runtime_error("openssl failed to make the cluster node certificate:\n" +
                                     read_file(cert_dir_ + "/openssl.log"));
    }

    RedisClusterSetup setup_;
    std::string cert_dir_, node_crt_, node_key_;
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

} // namespace llmcache_test
