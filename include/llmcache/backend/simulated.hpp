// SimulatedModel: an offline stand-in for a chat model, for demos, tests and benchmarks.
//
// Its latency is drawn from a log-normal distribution fitted to real chat calls (median 1.2 s,
// p95 2.5 s by default) and multiplied by `time_scale` so a demo finishes in seconds. Token
// counts follow the request: input ≈ one token per four bytes of system prompt and messages plus
// a small per-message overhead; output drawn around a median answer length, capped by
// max_tokens (a capped answer stops with max_tokens, as a real model's would). Everything it
// returns says it is simulated: the model id gets a "simulated:" prefix and the text starts with
// "[simulated]".
#pragma once

#include "../config.hpp"
#include "../detail/xxhash.hpp"
#include "../error.hpp"
#include "../request.hpp"
#include "../response.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

LLMCACHE_BEGIN_NAMESPACE

struct SimulatedModelOptions {
    double median_latency_ms = 1200.0;
    double p95_latency_ms = 2500.0;
    double time_scale = 0.01; ///< 0.01: a 1.2 s call sleeps 12 ms
    double median_output_tokens = 250.0;
    double failure_rate = 0.0; ///< fraction of calls that fail with backend_unavailable (529-like)
    std::uint64_t seed = 0x11cac4e;
};

class SimulatedModel {
public:
    SimulatedModel() : SimulatedModel(SimulatedModelOptions{}) {}
    explicit SimulatedModel(SimulatedModelOptions opts)
        : opts_(opts), calls_(std::make_shared<std::atomic<std::uint64_t>>(0)) {
        // log-normal: median = e^mu, p95 = e^(mu + 1.645 sigma)
        mu_ = std::log(opts_.median_latency_ms);
        sigma_ = std::max(0.0, std::log(opts_.p95_latency_ms / opts_.median_latency_ms) / 1.6448536269514722);
    }

    Result<Response> complete(const Request& req) {
        const std::uint64_t n = calls_->fetch_add(1, std::memory_order_relaxed);
        const std::string_view prompt = req.last_user_text();
        const std::uint64_t h =
            XXH3_64bits_withSeed(prompt.data(), prompt.size(), opts_.seed ^ (n * 0x9e3779b97f4a7c15ull));

        const double latency_ms = std::exp(mu_ + sigma_ * normal(h));
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(latency_ms * opts_.time_scale));

        // unit() reads the top 53 bits, so mix all 64 first (h >> 7 left it below 2^-7).
        if (opts_.failure_rate > 0.0 && unit(h * 0xbf58476d1ce4e5b9ull) < opts_.failure_rate)
            return fail(ErrorCode::backend_unavailable, "simulated model overloaded (529-like)", 529);

        std::uint64_t input = 3;
        for (const Message& m : req.messages)
            input += 4 + (m.content.size() + 3) / 4;
        input += (req.system.size() + 3) / 4;

        auto output = static_cast<std::uint64_t>(std::clamp(
            opts_.median_output_tokens * std::exp(0.5 * normal(h * 0x2545f4914f6cdd1dull)), 8.0, 4096.0));
        StopReason reason = StopReason::end_turn;
        if (req.params.max_tokens && output >= static_cast<std::uint64_t>(*req.params.max_tokens)) {
            output = static_cast<std::uint64_t>(std::max(1, *req.params.max_tokens));
            reason = StopReason::max_tokens;
        }

        Response r;
        r.model = "simulated:" + req.model;
        r.stop_reason = reason;
        r.usage.input_tokens = input;
        r.usage.output_tokens = output;
        r.created = std::chrono::system_clock::now();
        r.text = "[simulated] Answer to \"";
        r.text.append(prompt.substr(0, 80));
        r.text.append("\":");
        static constexpr std::string_view words[] = {" the",  " cache",  " answer",  " model", " returns",
                                                     " text", " tokens", " latency", " and",   " of"};
        const std::size_t target = output * 4;
        std::uint64_t w = h;
        while (r.text.size() < target) {
            w = w * 6364136223846793005ull + 1442695040888963407ull;
            r.text.append(words[(w >> 33) % std::size(words)]);
        }
        if (reason == StopReason::end_turn)
            r.text.push_back('.');
        return r;
    }

    /// complete(), then the text handed to `on_delta` word by word (each piece a space and a
    /// word), so demos and tests can stream without a network. Fits streaming_backend.
    template <class OnDelta>
    requires std::invocable<OnDelta&, std::string_view> Result<Response> stream(const Request& req,
                                                                                OnDelta&& on_delta) {
        auto r = complete(req);
        if (!r)
            return r;
        std::string_view rest = r->text;
        while (!rest.empty()) {
            const std::size_t next = rest.find(' ', 1);
            const std::size_t n = next == std::string_view::npos ? rest.size() : next;
            on_delta(rest.substr(0, n));
            rest.remove_prefix(n);
        }
        return r;
    }

    /// Number of calls made so far (shared by copies of this model).
    std::uint64_t calls() const noexcept { return calls_->load(std::memory_order_relaxed); }
    const SimulatedModelOptions& options() const noexcept { return opts_; }

private:
    static double unit(std::uint64_t bits) noexcept { return static_cast<double>(bits >> 11) * 0x1.0p-53; }
    // A standard normal variate from one 64-bit hash (Box-Muller on its two halves).
    static double normal(std::uint64_t h) noexcept {
        const double u1 = (static_cast<double>(h >> 32) + 1.0) / 4294967297.0;
        const double u2 = static_cast<double>(h & 0xffffffffu) / 4294967296.0;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }

    SimulatedModelOptions opts_;
    double mu_ = 0;
    double sigma_ = 0;
    std::shared_ptr<std::atomic<std::uint64_t>> calls_;
};

LLMCACHE_END_NAMESPACE
