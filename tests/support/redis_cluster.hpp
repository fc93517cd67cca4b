// Test support: a Redis Cluster of real redis-server processes on free loopback ports, joined with
// `redis-cli --cluster create` (every master, no replicas).
//
//     llmcache_test::RedisCluster cluster(3);       // 3 masters, cluster_state:ok on every node
//     cluster.seed_url(); cluster.node(1).kill9(); cluster.node_id(0);
//
// Missing redis-server or redis-cli make the constructor throw with a clear message: the tests
// fail, never skip. Every wait is bounded.
#pragma once

#include "redis_server.hpp"
#include "redis_test_util.hpp"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace llmcache_test {

class RedisCluster {
public:
    /// `node_timeout_ms`: cluster-node-timeout. Nodes keep serving their slots when another
    /// master is lost (cluster-require-full-coverage no).
    explicit RedisCluster(int masters = 3, int node_timeout_ms = 2000) {
        const std::string cli = find_in_path("redis-cli");
        if (cli.empty())
            throw std::runtime_error(
                "redis-cli is not installed (not found on PATH); the cluster tests need it "
                "to create the cluster: apt-get install redis-tools");
        if (find_in_path("timeout").empty())
            throw std::runtime_error("the coreutils 'timeout' command is missing; it bounds redis-cli");
        for (int i = 0; i < masters; ++i)
            nodes_.push_back(std::make_unique<RedisServer>(RedisServerOptions{
                .config = {"cluster-enabled yes", "cluster-config-file nodes.conf",
                           "cluster-node-timeout " + std::to_string(node_timeout_ms),
                           "cluster-require-full-coverage no", "cluster-allow-reads-when-down yes"}}));
        std::string cmd = "timeout 30 " + cli + " --cluster create";
        for (const auto& n : nodes_)
            cmd += " 127.0.0.1:" + std::to_string(n->port());
        cmd += " --cluster-replicas 0 --cluster-yes";
        const std::string log = nodes_[0]->dir() + "/cluster-create.log";
        if (std::system((cmd + " >'" + log + "' 2>&1").c_str()) != 0)
            throw std::runtime_error("redis-cli --cluster create failed:\n" + read_file(log));
        wait_ok(std::chrono::seconds(15));
    }

    RedisServer& node(std::size_t i) { return *nodes_.at(i); }
    std::size_t size() const noexcept { return nodes_.size(); }
    std::string seed_url(std::size_t i = 0) const { return nodes_.at(i)->url(); }
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
    std::vector<std::unique_ptr<RedisServer>> nodes_;
};

} // namespace llmcache_test
