// Backends: SimulatedModel (labelled output, usage, max_tokens cap, failures, scaled latency,
// shared call counter) and CallableBackend (its three return types, exceptions).
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

SimulatedModelOptions instant() {
    SimulatedModelOptions o;
    o.time_scale = 0.0;
    return o;
}

Request chat(std::string prompt) {
    return Request::chat("claude-sonnet-4-5", std::move(prompt));
}

} // namespace

TEST_CASE("backends: SimulatedModel says it is simulated and reports usage", "[backends][simulated]") {
    static_assert(model_backend<SimulatedModel>);
    SimulatedModel model(instant());
    for (int i = 0; i < 50; ++i) {
        auto r = model.complete(chat("What is BM25? #" + std::to_string(i)));
        REQUIRE(r);
        CHECK(r->model == "simulated:claude-sonnet-4-5");
        CHECK_THAT(r->text, Catch::StartsWith("[simulated]"));
        CHECK(r->stop_reason == StopReason::end_turn);
        REQUIRE(r->usage.input_tokens);
        REQUIRE(r->usage.output_tokens);
        CHECK(*r->usage.input_tokens > 0);
        CHECK(*r->usage.output_tokens >= 8);
        CHECK(*r->usage.output_tokens <= 4096);
        CHECK(r->created != std::chrono::system_clock::time_point{});
        CHECK_FALSE(r->cache_hit);
    }
    CHECK(model.calls() == 50);
}

TEST_CASE("backends: SimulatedModel input tokens grow with the request", "[backends][simulated]") {
    SimulatedModel model(instant());
    auto short_prompt = model.complete(chat("Hi"));
    auto long_prompt = model.complete(chat(std::string(4000, 'x')));
    Request with_system = chat(std::string(4000, 'x'));
    with_system.system = std::string(4000, 's');
    auto long_system = model.complete(with_system);
    REQUIRE(short_prompt);
    REQUIRE(long_prompt);
    REQUIRE(long_system);
    CHECK(*short_prompt->usage.input_tokens < 20);
    CHECK(*long_prompt->usage.input_tokens >= 1000); // about a token per four bytes
    CHECK(*long_prompt->usage.input_tokens < 1100);
    CHECK(*long_system->usage.input_tokens >= 2000);
}

TEST_CASE("backends: SimulatedModel caps the output at max_tokens and says so", "[backends][simulated]") {
    SimulatedModel model(instant());
    for (int cap : {1, 5, 7}) { // below the 8-token floor: always capped
        Request req = chat("Write an essay");
        req.params.max_tokens = cap;
        auto r = model.complete(req);
        REQUIRE(r);
        CHECK(r->stop_reason == StopReason::max_tokens);
        CHECK(r->usage.output_tokens == std::optional<std::uint64_t>(static_cast<std::uint64_t>(cap)));
        CHECK_THAT(r->text, Catch::StartsWith("[simulated]"));
    }
    Request roomy = chat("Write an essay");
    roomy.params.max_tokens = 100'000; // above the 4096 ceiling: never capped
    for (int i = 0; i < 20; ++i) {
        auto r = model.complete(roomy);
        REQUIRE(r);
        CHECK(r->stop_reason == StopReason::end_turn);
        CHECK(*r->usage.output_tokens < 100'000u);
    }
    // A capped answer is not cached by default.
    Cache cache{Xxh3Key<>{}, MemoryStore{}, ExactOnly{}, ttl::None{}, SimulatedModel(instant())};
    Request capped = chat("Write an essay");
    capped.params.max_tokens = 3;
    REQUIRE(cache.invoke(capped));
    CHECK_FALSE(cache.lookup(capped));
    CHECK(cache.stats().not_cacheable == 1);
}

TEST_CASE("backends: SimulatedModel failure_rate 1 always fails, 0 never", "[backends][simulated]") {
    SimulatedModelOptions always = instant();
    always.failure_rate = 1.0;
    SimulatedModel failing(always);
    for (int i = 0; i < 100; ++i) {
        auto r = failing.complete(chat("q" + std::to_string(i)));
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::backend_unavailable);
        CHECK(r.error().http_status == 529);
        CHECK(r.error().transient());
    }
    SimulatedModel healthy(instant());
    int failures = 0;
    for (int i = 0; i < 500; ++i)
        failures += healthy.complete(chat("q" + std::to_string(i))) ? 0 : 1;
    CHECK(failures == 0);

    SimulatedModelOptions half = instant();
    half.failure_rate = 0.5;
    SimulatedModel flaky(half);
    failures = 0;
    for (int i = 0; i < 400; ++i)
        failures += flaky.complete(chat("q" + std::to_string(i))) ? 0 : 1;
    CHECK(failures > 100);
    CHECK(failures < 300);

    // A realistic rate fails about that fraction of calls (not nearly all of them).
    SimulatedModelOptions rare = instant();
    rare.failure_rate = 0.05;
    SimulatedModel mostly_fine(rare);
    failures = 0;
    for (int i = 0; i < 2000; ++i)
        failures += mostly_fine.complete(chat("q" + std::to_string(i))) ? 0 : 1;
    CHECK(failures > 50);
    CHECK(failures < 150);
}

TEST_CASE("backends: SimulatedModel output lengths follow the configured median", "[backends][simulated]") {
    SimulatedModel model(instant()); // median 250 output tokens, log-normal with sigma 0.5
    std::vector<std::uint64_t> tokens;
    for (int i = 0; i < 2000; ++i) {
        auto r = model.complete(chat("q" + std::to_string(i)));
        REQUIRE(r);
        tokens.push_back(*r->usage.output_tokens);
    }
    std::sort(tokens.begin(), tokens.end());
    const auto median = tokens[tokens.size() / 2];
    const auto p95 = tokens[tokens.size() * 95 / 100];
    CHECK(median > 225);
    CHECK(median < 275);
    CHECK(p95 > 500); // 250 * e^(0.5 * 1.645) = 569
    CHECK(p95 < 650);
}

TEST_CASE("backends: SimulatedModel latency follows time_scale", "[backends][simulated]") {
    SimulatedModelOptions fixed; // median == p95: every call takes exactly the median
    fixed.median_latency_ms = 1000.0;
    fixed.p95_latency_ms = 1000.0;

    fixed.time_scale = 0.03; // 30 ms per call
    SimulatedModel scaled(fixed);
    auto start = Clock::now();
    REQUIRE(scaled.complete(chat("timed")));
    const auto one_call = Clock::now() - start;
    CHECK(one_call >= 29ms);
    CHECK(one_call < 500ms);

    fixed.time_scale = 0.0; // unscaled this would be 10 s
    SimulatedModel unscaled(fixed);
    start = Clock::now();
    for (int i = 0; i < 10; ++i)
        REQUIRE(unscaled.complete(chat("timed")));
    CHECK(Clock::now() - start < 1s);

    SimulatedModelOptions defaults; // median 1.2 s, p95 2.5 s
    defaults.time_scale = 0.001;
    SimulatedModel quick(defaults);
    start = Clock::now();
    for (int i = 0; i < 20; ++i)
        REQUIRE(quick.complete(chat("q" + std::to_string(i))));
    CHECK(Clock::now() - start < 20 * 50ms); // each call well under 50 ms
}

TEST_CASE("backends: SimulatedModel copies share the call counter", "[backends][simulated]") {
    SimulatedModel model(instant());
    SimulatedModel copy = model;
    REQUIRE(model.complete(chat("a")));
    REQUIRE(copy.complete(chat("b")));
    REQUIRE(copy.complete(chat("c")));
    CHECK(model.calls() == 3);
    CHECK(copy.calls() == 3);
    CHECK(SimulatedModel(instant()).calls() == 0);

    // Through a Cache (which holds its own copy): only misses reach the model.
    Cache cache{Xxh3Key<>{}, MemoryStore{}, ExactOnly{}, ttl::None{}, model};
    REQUIRE(cache.invoke(chat("d")));
    REQUIRE(cache.invoke(chat("d"))->cache_hit);
    CHECK(model.calls() == 4);
    CHECK(cache.backend().calls() == 4);

    // From several threads at once.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([copy, t]() mutable {
            for (int i = 0; i < 50; ++i)
                (void)copy.complete(chat(std::to_string(t) + "/" + std::to_string(i)));
        });
    for (auto& t : threads)
        t.join();
    CHECK(model.calls() == 204);
}

TEST_CASE("backends: SimulatedModel is deterministic for a seed", "[backends][simulated]") {
    SimulatedModel a(instant()), b(instant());
    SimulatedModelOptions other_seed = instant();
    other_seed.seed = 42;
    SimulatedModel c(other_seed);
    int differs = 0;
    for (int i = 0; i < 10; ++i) {
        const Request req = chat("Same question " + std::to_string(i));
        auto ra = a.complete(req), rb = b.complete(req), rc = c.complete(req);
        REQUIRE(ra);
        REQUIRE(rb);
        REQUIRE(rc);
        CHECK(ra->text == rb->text);
        CHECK(ra->usage == rb->usage);
        differs += ra->text != rc->text ? 1 : 0;
    }
    CHECK(differs > 0);
}

TEST_CASE("backends: CallableBackend accepts Result<Response>, Response and string callables",
          "[backends][callable]") {
    SECTION("Result<Response>: value and error pass through") {
        CallableBackend backend{[](const Request& req) -> Result<Response> {
            if (req.last_user_text() == "fail")
                return fail(ErrorCode::quota_exhausted, "out of credit", 402);
            Response r;
            r.text = "ok";
            r.stop_reason = StopReason::stop_sequence;
            r.stop_sequence = "END";
            r.usage.input_tokens = 7;
            return r;
        }};
        static_assert(model_backend<decltype(backend)>);
        auto ok = backend.complete(chat("hi"));
        REQUIRE(ok);
        CHECK(ok->text == "ok");
        CHECK(ok->stop_reason == StopReason::stop_sequence);
        CHECK(ok->stop_sequence == "END");
        CHECK(ok->usage.input_tokens == std::optional<std::uint64_t>(7));
        auto bad = backend.complete(chat("fail"));
        REQUIRE_FALSE(bad);
        CHECK(bad.error().code == ErrorCode::quota_exhausted);
        CHECK(bad.error().message == "out of credit");
        CHECK(bad.error().http_status == 402);
    }
    SECTION("Response: passed through as is") {
        CallableBackend backend{[](const Request&) {
            Response r;
            r.text = "refused";
            r.stop_reason = StopReason::refusal;
            r.model = "claude-x";
            return r;
        }};
        auto r = backend.complete(chat("hi"));
        REQUIRE(r);
        CHECK(r->text == "refused");
        CHECK(r->stop_reason == StopReason::refusal);
        CHECK(r->model == "claude-x");
    }
    SECTION("std::string: the text, end_turn, the requested model, usage unknown") {
        const auto before = std::chrono::system_clock::now();
        CallableBackend backend{
            [](const Request& req) { return "echo: " + std::string(req.last_user_text()); }};
        auto r = backend.complete(chat("hi"));
        REQUIRE(r);
        CHECK(r->text == "echo: hi");
        CHECK(r->stop_reason == StopReason::end_turn);
        CHECK(r->model == "claude-sonnet-4-5");
        CHECK_FALSE(r->usage.input_tokens);
        CHECK_FALSE(r->usage.output_tokens);
        CHECK(r->created >= before);
        CHECK(r->created <= std::chrono::system_clock::now());
    }
    SECTION("a string literal and a stateful callable") {
        CallableBackend literal{[](const Request&) { return "constant"; }};
        auto r = literal.complete(chat("hi"));
        REQUIRE(r);
        CHECK(r->text == "constant");

        CallableBackend counter{[n = 0](const Request&) mutable { return std::to_string(++n); }};
        CHECK(counter.complete(chat("a"))->text == "1");
        CHECK(counter.complete(chat("a"))->text == "2");
    }
    SECTION("the text callable's answers are cached") {
        std::atomic<int> calls{0};
        Cache cache{
            Xxh3Key<>{}, MemoryStore{}, ExactOnly{}, ttl::None{},
            CallableBackend{[&calls](const Request&) { return "answer " + std::to_string(++calls); }}};
        REQUIRE(cache.invoke(chat("q")));
        auto hit = cache.invoke(chat("q"));
        REQUIRE(hit);
        CHECK(hit->cache_hit);
        CHECK(hit->text == "answer 1");
        CHECK(calls == 1);
    }
}

TEST_CASE("backends: CallableBackend turns exceptions into backend_failed", "[backends][callable]") {
    CallableBackend std_exception{
        [](const Request&) -> std::string { throw std::runtime_error("socket closed"); }};
    auto a = std_exception.complete(chat("hi"));
    REQUIRE_FALSE(a);
    CHECK(a.error().code == ErrorCode::backend_failed);
    CHECK_THAT(a.error().message, Catch::Contains("socket closed"));
    CHECK_FALSE(a.error().transient());

    CallableBackend other{[](const Request&) -> Response { throw 42; }};
    auto b = other.complete(chat("hi"));
    REQUIRE_FALSE(b);
    CHECK(b.error().code == ErrorCode::backend_failed);
    CHECK_FALSE(b.error().message.empty());
}

TEST_CASE("backends: backend_callable accepts only the documented return types", "[backends][callable]") {
    auto result_fn = [](const Request&) -> Result<Response> { return Response{}; };
    auto response_fn = [](const Request&) { return Response{}; };
    auto string_fn = [](const Request&) { return std::string(); };
    auto int_fn = [](const Request&) { return 42; };
    auto no_arg_fn = [] { return std::string(); };
    static_assert(backend_callable<decltype(result_fn)>);
    static_assert(backend_callable<decltype(response_fn)>);
    static_assert(backend_callable<decltype(string_fn)>);
    static_assert(!backend_callable<decltype(int_fn)>);
    static_assert(!backend_callable<decltype(no_arg_fn)>);
    SUCCEED("checked at compile time");
}
