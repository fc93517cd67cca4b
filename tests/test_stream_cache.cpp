// Cache::invoke_stream without a network: SimulatedModel's word-by-word stream and a scripted
// streaming backend. Misses stream, hits replay through the same callback, and only streams that
// ended normally are stored. (The HTTP backends' streams: test_http_streaming.cpp.)
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

/// Streams the pieces it was given, then returns the answer or an error; counts calls.
struct ScriptedStream {
    std::vector<std::string> pieces;
    std::optional<Error> error_at_end{};
    StopReason stop = StopReason::end_turn;
    std::chrono::milliseconds delay{0};
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

    Result<Response> complete(const Request& req) {
        return stream(req, [](std::string_view) {});
    }
    template <class F>
    Result<Response> stream(const Request& req, F&& on_delta) {
        ++*calls;
        std::this_thread::sleep_for(delay);
        Response r;
        for (const std::string& p : pieces) {
            on_delta(std::string_view(p));
            r.text += p;
        }
        if (error_at_end)
            return unexpected<Error>(*error_at_end);
        r.stop_reason = stop;
        r.model = req.model;
        r.usage.input_tokens = 3;
        r.usage.output_tokens = 5;
        return r;
    }
};

static_assert(streaming_backend<ScriptedStream>);
static_assert(streaming_backend<SimulatedModel>);
static_assert(!streaming_backend<CallableBackend<std::string (*)(const Request&)>>);

template <class Backend>
auto make_cache(Backend backend, MemoryStore store = {}) {
    return Cache{Xxh3Key{}, std::move(store), ExactOnly{}, ttl::None{}, std::move(backend)};
}

Request question(std::string text = "What is BM25?") {
    return Request::chat("claude-sonnet-4-5", std::move(text));
}

} // namespace

TEST_CASE("invoke_stream: a miss streams, a hit replays the same text through the callback",
          "[streaming][cache]") {
    SimulatedModelOptions o;
    o.time_scale = 0.0;
    SimulatedModel model(o);
    MemoryStore store;
    auto cache = make_cache(model, store);

    std::vector<std::string> miss_pieces;
    auto miss = cache.invoke_stream(question(), [&](std::string_view d) { miss_pieces.emplace_back(d); });
    REQUIRE(miss);
    CHECK_FALSE(miss->cache_hit);
    REQUIRE(miss_pieces.size() > 3); // word by word
    std::string joined;
    for (const auto& p : miss_pieces)
        joined += p;
    CHECK(joined == miss->text);
    CHECK(store.stats().entries == 1);

    std::vector<std::string> hit_pieces;
    auto hit = cache.invoke_stream(question(), [&](std::string_view d) { hit_pieces.emplace_back(d); });
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit_pieces == std::vector<std::string>{miss->text}); // one piece, the whole text
    CHECK(hit->text == miss->text);
    CHECK(model.calls() == 1);
    const CacheStats s = cache.stats();
    CHECK(s.hits == 1);
    CHECK(s.misses == 1);
    CHECK(s.writes == 1);

    // invoke() and invoke_stream() share entries.
    auto plain = cache.invoke(question());
    REQUIRE(plain);
    CHECK(plain->cache_hit);
}

TEST_CASE("invoke_stream: a stream that fails after some text is an error and is not stored",
          "[streaming][cache]") {
    ScriptedStream backend;
    backend.pieces = {"Par", "is"};
    backend.error_at_end = Error{ErrorCode::bad_response, "the stream ended before message_stop", 0, {}};
    MemoryStore store;
    auto cache = make_cache(backend, store);
    std::string seen;
    auto r = cache.invoke_stream(question(), [&](std::string_view d) { seen += d; });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::bad_response);
    CHECK(seen == "Paris");            // the caller saw the partial text...
    CHECK(store.stats().entries == 0); // ...but nothing was cached
    CHECK(cache.stats().backend_errors == 1);
    // The next call asks the backend again.
    (void)cache.invoke_stream(question(), [](std::string_view) {});
    CHECK(*backend.calls == 2);
}

TEST_CASE("invoke_stream: incomplete answers are streamed but not stored; skip_write is honoured",
          "[streaming][cache]") {
    ScriptedStream truncated;
    truncated.pieces = {"Once upon"};
    truncated.stop = StopReason::max_tokens;
    MemoryStore store;
    auto cache = make_cache(truncated, store);
    std::string seen;
    auto r = cache.invoke_stream(question(), [&](std::string_view d) { seen += d; });
    REQUIRE(r);
    CHECK(seen == "Once upon");
    CHECK(store.stats().entries == 0);
    CHECK(cache.stats().not_cacheable == 1);

    ScriptedStream fine;
    fine.pieces = {"Paris."};
    MemoryStore store2;
    auto cache2 = make_cache(fine, store2);
    CallOptions no_write;
    no_write.skip_write = true;
    REQUIRE(cache2.invoke_stream(
        question(), [](std::string_view) {}, no_write));
    CHECK(store2.stats().entries == 0);
    REQUIRE(cache2.invoke_stream(question(), [](std::string_view) {}));
    CHECK(store2.stats().entries == 1);
}

TEST_CASE("invoke_stream: concurrent identical misses make one backend call; the follower gets the "
          "whole text",
          "[streaming][cache]") {
    ScriptedStream slow;
    slow.pieces = {"The ", "answer."};
    slow.delay = 150ms;
    auto cache = make_cache(slow);
    std::string a, b;
    Result<Response> ra = fail(ErrorCode::backend_failed, "not run"), rb = ra;
    std::thread t1([&] { ra = cache.invoke_stream(question(), [&](std::string_view d) { a += d; }); });
    std::this_thread::sleep_for(30ms);
    std::thread t2([&] { rb = cache.invoke_stream(question(), [&](std::string_view d) { b += d; }); });
    t1.join();
    t2.join();
    REQUIRE(ra);
    REQUIRE(rb);
    CHECK(*slow.calls == 1);
    CHECK(a == "The answer.");
    CHECK(b == "The answer.");
    CHECK(cache.stats().coalesced == 1);
}

TEST_CASE("invoke_stream: an invalid request is refused before the backend is called", "[streaming][cache]") {
    ScriptedStream backend;
    auto cache = make_cache(backend);
    bool called = false;
    auto r = cache.invoke_stream(Request{}, [&](std::string_view) { called = true; });
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(called);
    CHECK(*backend.calls == 0);
}
