// Single-flight: concurrent identical misses make one model call.
//
// The first caller for a key becomes the leader and makes the call; callers that arrive while it
// runs become followers and wait (bounded) for the leader's result. Flights are kept in shards,
// each with its own lock, and a flight lives only while its call runs.
#pragma once

#include "../config.hpp"
#include "../detail/xxhash.hpp"
#include "../error.hpp"
#include "../response.hpp"
#include "transparent_hash.hpp"

#include <array>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

LLMCACHE_BEGIN_NAMESPACE
namespace detail {

class SingleFlight {
public:
    struct Flight {
        std::mutex mutex;
        std::condition_variable done_cv;
        bool done = false;
        std::optional<Result<Response>> result; // set by the leader when done
    };

    struct Ticket {
        std::shared_ptr<Flight> flight;
        bool leader = false;
    };

    /// Joins the flight for `key`, starting it (as leader) when there is none.
    Ticket join(std::string_view key) {
        Shard& shard = shard_for(key);
        std::lock_guard lock(shard.mutex);
        auto it = shard.flights.find(key);
        if (it != shard.flights.end())
            return Ticket{it->second, false};
        auto flight = std::make_shared<Flight>();
        shard.flights.emplace(std::string(key), flight);
        return Ticket{std::move(flight), true};
    }

    /// Called by the leader exactly once: publishes the result and ends the flight, so that the
    /// next caller for the key starts afresh.
    void finish(std::string_view key, const Ticket& ticket, Result<Response> result) {
        {
            Shard& shard = shard_for(key);
            std::lock_guard lock(shard.mutex);
            auto it = shard.flights.find(key);
            if (it != shard.flights.end() && it->second == ticket.flight)
                shard.flights.erase(it);
        }
        {
            std::lock_guard lock(ticket.flight->mutex);
            ticket.flight->result.emplace(std::move(result));
            ticket.flight->done = true;
        }
        ticket.flight->done_cv.notify_all();
    }

    /// Waits for the leader until `deadline`; empty when it did not finish in time.
    static std::optional<Result<Response>> wait(const Ticket& ticket,
                                                std::chrono::steady_clock::time_point deadline) {
        std::unique_lock lock(ticket.flight->mutex);
        if (!ticket.flight->done_cv.wait_until(lock, deadline, [&] { return ticket.flight->done; }))
            return std::nullopt;
        return ticket.flight->result;
    }

    /// Number of flights in progress (for tests).
    std::size_t in_flight() {
        std::size_t n = 0;
        for (Shard& s : shards_) {
            std::lock_guard lock(s.mutex);
            n += s.flights.size();
        }
        return n;
    }

private:
    struct alignas(64) Shard {
        std::mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<Flight>, TransparentHash, std::equal_to<>> flights;
    };
    Shard& shard_for(std::string_view key) noexcept {
        return shards_[XXH3_64bits(key.data(), key.size()) % shards_.size()];
    }
    std::array<Shard, 16> shards_{};
};

} // namespace detail
LLMCACHE_END_NAMESPACE
