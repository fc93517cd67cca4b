// The Cache over MemoryStore with a counting CallableBackend: hits and misses, scopes, per-call
// controls, what is and is not stored, store trouble, invalidation, warm(), TTLs and statistics.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

/// What the test model does on its next call; every field may be changed between calls.
struct ModelState {
    std::atomic<int> calls{0};
    std::atomic<bool> fail{false};
    std::atomic<ErrorCode> error{ErrorCode::backend_unavailable};
    std::atomic<bool> throws{false};
    std::atomic<StopReason> stop{StopReason::end_turn};
    std::atomic<bool> empty_text{false};
    std::atomic<long long> input_tokens{120}; ///< negative: usage not reported
    std::atomic<long long> output_tokens{480};
    std::atomic<std::size_t> text_size{0}; ///< nonzero: pad the answer to this many bytes
    std::string tool_calls_json;           ///< set before the calls that use it
};

/// The answer's creation time: a fixed instant with a sub-millisecond part, plus the call number.
std::chrono::system_clock::time_point created_at(int n) {
    const std::chrono::system_clock::time_point day = std::chrono::sys_days{std::chrono::year{2025} / 6 / 1};
    return day + std::chrono::milliseconds{n} + std::chrono::microseconds{456};
}

struct TestModel {
    std::shared_ptr<ModelState> s;

    Result<Response> operator()(const Request& req) const {
        const int n = ++s->calls;
        if (s->throws)
            throw std::runtime_error("the model exploded");
        const std::string_view prompt = req.last_user_text();
        if (s->fail || prompt.starts_with("fail:"))
            return fail(s->error.load(), "the model is unavailable", 529);
        Response r;
        if (!s->empty_text) {
            r.text = "answer " + std::to_string(n) + " to " + std::string(prompt);
            if (s->text_size > r.text.size())
                r.text.resize(s->text_size, 'x');
        }
        r.stop_reason = prompt.starts_with("truncate:") ? StopReason::max_tokens : s->stop.load();
        r.tool_calls_json = s->tool_calls_json;
        r.model = req.model + "-20250929";
        if (s->input_tokens >= 0)
            r.usage.input_tokens = static_cast<std::uint64_t>(s->input_tokens);
        if (s->output_tokens >= 0)
            r.usage.output_tokens = static_cast<std::uint64_t>(s->output_tokens);
        r.created = created_at(n);
        return r;
    }
};

struct Seen {
    std::mutex mutex;
    std::vector<Outcome> outcomes;
    std::vector<std::pair<std::string, std::string>> invalidated; // key, reason
};

/// Records each call's outcome and each invalidation.
struct Recorder {
    std::shared_ptr<Seen> seen = std::make_shared<Seen>();

    void on_call(const CallRecord& r) noexcept {
        std::lock_guard lock(seen->mutex);
        seen->outcomes.push_back(r.outcome);
    }
    void on_invalidate(std::string_view key, std::string_view reason) noexcept {
        std::lock_guard lock(seen->mutex);
        seen->invalidated.emplace_back(std::string(key), std::string(reason));
    }
    Outcome last() const {
        std::lock_guard lock(seen->mutex);
        REQUIRE(!seen->outcomes.empty());
        return seen->outcomes.back();
    }
    std::size_t calls() const {
        std::lock_guard lock(seen->mutex);
        return seen->outcomes.size();
    }
};

template <class Ttl = ttl::None, class Store = MemoryStore>
using TestCache = Cache<Xxh3Key<>, Store, ExactOnly, Ttl, CallableBackend<TestModel>, Recorder>;

/// A cache over a MemoryStore (whose handle the test keeps) with a counting model.
template <class Ttl = ttl::None>
struct Fixture {
    explicit Fixture(CacheOptions options = {}, Ttl ttl = {}, MemoryStore s = MemoryStore{})
        : store(std::move(s)), cache(Xxh3Key<>{}, store, ExactOnly{}, ttl,
                                     CallableBackend<TestModel>{TestModel{model}}, recorder, options) {}

    int calls() const { return model->calls.load(); }

    std::shared_ptr<ModelState> model = std::make_shared<ModelState>();
    Recorder recorder;
    MemoryStore store; // a handle to the cache's store
    TestCache<Ttl> cache;
};

/// A store whose every operation fails, as an unreachable Redis would.
struct FailingStore {
    std::shared_ptr<std::atomic<int>> operations = std::make_shared<std::atomic<int>>(0);

    StoreValue get(std::string_view) noexcept {
        ++*operations;
        return fail(ErrorCode::store_unavailable, "store down");
    }
    Result<void> put(std::string_view, std::string_view, std::optional<std::chrono::milliseconds>) noexcept {
        ++*operations;
        return fail(ErrorCode::store_unavailable, "store down");
    }
    Result<bool> erase(std::string_view) noexcept {
        ++*operations;
        return fail(ErrorCode::store_unavailable, "store down");
    }
    Result<std::size_t> clear_prefix(std::string_view) noexcept {
        ++*operations;
        return fail(ErrorCode::store_timeout, "store down");
    }
};
static_assert(store_policy<FailingStore>);

/// A MemoryStore that accepts TTLs of at most one hour (like a store with a short maximum).
struct ShortTtlStore : MemoryStore {
    static constexpr std::chrono::milliseconds max_ttl{std::chrono::hours{1}};
};
static_assert(store_policy<ShortTtlStore>);

Response answer(std::string text, StopReason stop = StopReason::end_turn) {
    Response r;
    r.text = std::move(text);
    r.stop_reason = stop;
    return r;
}

Request chat(std::string prompt, std::string scope = {}) {
    return Request::chat("claude-sonnet-4-5", std::move(prompt), "You are terse.", std::move(scope));
}

} // namespace

TEST_CASE("cache: a miss calls the model once; the hit returns the same answer", "[cache]") {
    Fixture<> f;
    const Request req = chat("What is BM25?");

    auto first = f.cache.invoke(req);
    REQUIRE(first);
    CHECK_FALSE(first->cache_hit);
    CHECK(f.calls() == 1);
    CHECK(f.recorder.last() == Outcome::miss);
    CHECK(first->text == "answer 1 to What is BM25?");

    auto second = f.cache.invoke(req);
    REQUIRE(second);
    CHECK(second->cache_hit);
    CHECK(f.calls() == 1);
    CHECK(f.recorder.last() == Outcome::hit);
    CHECK(second->text == first->text);
    CHECK(second->usage == first->usage);
    CHECK(second->model == first->model);
    CHECK(second->model == "claude-sonnet-4-5-20250929");
    CHECK(second->stop_reason == StopReason::end_turn);
    // The entry keeps the creation time to the millisecond.
    CHECK(second->created == std::chrono::floor<std::chrono::milliseconds>(first->created));
    CHECK(second->created != std::chrono::system_clock::time_point{});

    const CacheStats s = f.cache.stats();
    CHECK(s.hits == 1);
    CHECK(s.misses == 1);
    CHECK(s.backend_calls == 1);
    CHECK(s.writes == 1);
    CHECK(s.hit_latency_total > 0ns);
    CHECK(s.miss_latency_total > 0ns);
}

TEST_CASE("cache: different requests do not share entries", "[cache]") {
    Fixture<> f;
    Request base = chat("What is BM25?");
    Request other_prompt = chat("What is TF-IDF?");
    Request other_model = base;
    other_model.model = "claude-haiku-4-5";
    Request other_system = base;
    other_system.system = "You are verbose.";
    Request other_temperature = base;
    other_temperature.params.temperature = 0.7;
    const std::vector<Request> requests{base, other_prompt, other_model, other_system, other_temperature};

    std::set<std::string> keys, texts;
    for (const Request& r : requests) {
        auto a = f.cache.invoke(r);
        REQUIRE(a);
        CHECK_FALSE(a->cache_hit);
        keys.insert(f.cache.key_for(r));
        texts.insert(a->text);
    }
    CHECK(f.calls() == 5);
    CHECK(keys.size() == 5);
    CHECK(texts.size() == 5);
    for (const Request& r : requests) {
        auto a = f.cache.invoke(r);
        REQUIRE(a);
        CHECK(a->cache_hit);
    }
    CHECK(f.calls() == 5);
}

TEST_CASE("cache: scopes are isolated; clear(scope) removes only that scope", "[cache][scope]") {
    Fixture<> f;
    const Request a = chat("Same prompt", "tenant-a");
    const Request b = chat("Same prompt", "tenant-b");
    const Request none = chat("Same prompt");

    REQUIRE(f.cache.invoke(a));
    REQUIRE(f.cache.invoke(b));
    REQUIRE(f.cache.invoke(none));
    CHECK(f.calls() == 3);
    REQUIRE(f.cache.invoke(a)->cache_hit);
    REQUIRE(f.cache.invoke(b)->cache_hit);
    CHECK(f.calls() == 3);
    CHECK(f.cache.lookup(a)->text != f.cache.lookup(b)->text);

    auto cleared = f.cache.clear("tenant-a");
    REQUIRE(cleared);
    CHECK(*cleared == 1);
    CHECK_FALSE(f.cache.lookup(a));
    CHECK(f.cache.lookup(b));
    CHECK(f.cache.lookup(none));

    // A scope that is a prefix of another does not clear it.
    REQUIRE(f.cache.invoke(chat("Same prompt", "tenant")));
    REQUIRE(f.cache.clear("tenant"));
    CHECK(f.cache.lookup(b));

    // Entries outside the cache's key prefix survive clear_all.
    REQUIRE(f.store.put("other-app:key", "value", std::nullopt));
    auto all = f.cache.clear_all();
    REQUIRE(all);
    CHECK(*all == 2);
    CHECK_FALSE(f.cache.lookup(b));
    CHECK_FALSE(f.cache.lookup(none));
    auto other = f.store.get("other-app:key");
    REQUIRE(other);
    CHECK(*other == std::optional<std::string>("value"));

    REQUIRE(f.cache.invoke(a));
    CHECK(f.calls() == 5);
}

TEST_CASE("cache: skip_read calls the model and stores the fresh answer", "[cache][controls]") {
    Fixture<> f;
    const Request req = chat("Hello");
    REQUIRE(f.cache.invoke(req));

    CallOptions opts;
    opts.skip_read = true;
    auto fresh = f.cache.invoke(req, opts);
    REQUIRE(fresh);
    CHECK_FALSE(fresh->cache_hit);
    CHECK(fresh->text == "answer 2 to Hello");
    CHECK(f.calls() == 2);
    CHECK(f.recorder.last() == Outcome::bypass);
    CHECK(f.cache.stats().bypasses == 1);
    CHECK(f.cache.stats().misses == 1); // a bypass is not a lookup

    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == "answer 2 to Hello");
}

TEST_CASE("cache: skip_write does not store the answer", "[cache][controls]") {
    Fixture<> f;
    const Request req = chat("Hello");
    CallOptions opts;
    opts.skip_write = true;
    auto a = f.cache.invoke(req, opts);
    REQUIRE(a);
    CHECK(f.recorder.last() == Outcome::miss);
    CHECK_FALSE(f.cache.lookup(req));
    CHECK(f.cache.stats().writes == 0);

    auto b = f.cache.invoke(req);
    REQUIRE(b);
    CHECK_FALSE(b->cache_hit);
    CHECK(f.calls() == 2);
}

TEST_CASE("cache: force_refresh evicts the old entry even when the new answer is not cacheable",
          "[cache][controls]") {
    Fixture<> f;
    const Request req = chat("Hello");
    REQUIRE(f.cache.invoke(req));
    REQUIRE(f.cache.lookup(req));

    CallOptions refresh;
    refresh.force_refresh = true;
    f.model->stop = StopReason::max_tokens;
    auto truncated = f.cache.invoke(req, refresh);
    REQUIRE(truncated);
    CHECK(truncated->stop_reason == StopReason::max_tokens);
    CHECK(truncated->text == "answer 2 to Hello");
    CHECK(f.recorder.last() == Outcome::bypass);
    CHECK_FALSE(f.cache.lookup(req));

    // A cacheable refreshed answer replaces the entry.
    f.model->stop = StopReason::end_turn;
    REQUIRE(f.cache.invoke(req, refresh));
    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == "answer 3 to Hello");
    CHECK(f.calls() == 3);
    CHECK(f.cache.stats().bypasses == 2);
}

TEST_CASE("cache: a per-call TTL overrides the policy's; an invalid one is rejected", "[cache][ttl]") {
    Fixture<ttl::Fixed> f({}, ttl::Fixed{1h});
    const Request with_policy = chat("policy");
    const Request with_override = chat("override");

    REQUIRE(f.cache.invoke(with_policy));
    auto policy_ttl = f.store.ttl_remaining(f.cache.key_for(with_policy));
    REQUIRE(policy_ttl);
    CHECK(*policy_ttl > 59min);
    CHECK(*policy_ttl <= 1h);

    CallOptions opts;
    opts.ttl = 60'000ms;
    REQUIRE(f.cache.invoke(with_override, opts));
    auto override_ttl = f.store.ttl_remaining(f.cache.key_for(with_override));
    REQUIRE(override_ttl);
    CHECK(*override_ttl > 50'000ms);
    CHECK(*override_ttl <= 60'000ms);

    for (auto bad : {0ms, -5ms, std::chrono::duration_cast<std::chrono::milliseconds>(ttl::limit + 1h)}) {
        CallOptions invalid;
        invalid.ttl = bad;
        auto r = f.cache.invoke(chat("never asked"), invalid);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK_FALSE(r.error().message.empty());
        auto s = f.cache.store(chat("never asked"), answer("x"), invalid);
        REQUIRE_FALSE(s);
        CHECK(s.error().code == ErrorCode::invalid_argument);
    }
    CHECK(f.calls() == 2);
    CHECK_FALSE(f.cache.lookup(chat("never asked")));
}

TEST_CASE("cache: incomplete, refused and empty answers are returned but not stored", "[cache][cacheable]") {
    struct Case {
        StopReason stop;
        bool empty;
        bool CacheOptions::*opt_in;
    };
    const Case cases[] = {
        {StopReason::max_tokens, false, &CacheOptions::cache_incomplete},
        {StopReason::pause_turn, false, &CacheOptions::cache_incomplete},
        {StopReason::context_window_exceeded, false, &CacheOptions::cache_incomplete},
        {StopReason::unknown, false, &CacheOptions::cache_incomplete},
        {StopReason::refusal, false, &CacheOptions::cache_refusals},
        {StopReason::end_turn, true, &CacheOptions::cache_empty},
    };
    bool CacheOptions::*const all_opt_ins[] = {&CacheOptions::cache_incomplete, &CacheOptions::cache_refusals,
                                               &CacheOptions::cache_empty};
    for (const Case& c : cases) {
        INFO("stop reason " << to_string(c.stop) << (c.empty ? ", empty text" : ""));
        const Request req = chat("Tell me everything");

        {
            Fixture<> f;
            f.model->stop = c.stop;
            f.model->empty_text = c.empty;
            auto a = f.cache.invoke(req);
            REQUIRE(a);
            CHECK(a->stop_reason == c.stop);
            CHECK(a->text == (c.empty ? "" : "answer 1 to Tell me everything"));
            CHECK_FALSE(f.cache.lookup(req));
            CHECK(f.cache.stats().not_cacheable == 1);
            CHECK(f.cache.stats().writes == 0);
            REQUIRE(f.cache.invoke(req));
            CHECK(f.calls() == 2);
            CHECK_FALSE(f.cache.cacheable(*a));
        }
        {
            // The other opt-ins do not make this answer cacheable.
            CacheOptions others;
            for (auto opt : all_opt_ins)
                if (opt != c.opt_in)
                    others.*opt = true;
            Fixture<> f(others);
            f.model->stop = c.stop;
            f.model->empty_text = c.empty;
            REQUIRE(f.cache.invoke(req));
            CHECK_FALSE(f.cache.lookup(req));
            CHECK(f.cache.stats().not_cacheable == 1);
        }
        {
            CacheOptions opted_in;
            opted_in.*(c.opt_in) = true;
            Fixture<> f(opted_in);
            f.model->stop = c.stop;
            f.model->empty_text = c.empty;
            auto a = f.cache.invoke(req);
            REQUIRE(a);
            auto hit = f.cache.invoke(req);
            REQUIRE(hit);
            CHECK(hit->cache_hit);
            CHECK(hit->stop_reason == c.stop);
            CHECK(hit->text == a->text);
            CHECK(f.calls() == 1);
            CHECK(f.cache.stats().not_cacheable == 0);
        }
    }
}

TEST_CASE("cache: stop_sequence answers are cacheable and keep the matched sequence", "[cache][cacheable]") {
    Fixture<> f;
    const Request req = chat("List three");
    REQUIRE(f.cache.store(req, [] {
        Response r;
        r.text = "one, two, three";
        r.stop_reason = StopReason::stop_sequence;
        r.stop_sequence = "\n\n";
        return r;
    }()));
    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->stop_reason == StopReason::stop_sequence);
    CHECK(hit->stop_sequence == "\n\n");
    CHECK(f.calls() == 0);
}

TEST_CASE("cache: tool_use answers with tool calls are cached and round-trip", "[cache][cacheable]") {
    Fixture<> f;
    f.model->stop = StopReason::tool_use;
    f.model->empty_text = true;
    f.model->tool_calls_json = R"([{"id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}])";
    const Request req = chat("Weather in Paris?");

    auto first = f.cache.invoke(req);
    REQUIRE(first);
    CHECK(first->text.empty());
    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->stop_reason == StopReason::tool_use);
    CHECK(hit->tool_calls_json == f.model->tool_calls_json);
    CHECK(hit->text.empty());
    CHECK(f.calls() == 1);
}

TEST_CASE("cache: backend errors are returned, counted and not cached", "[cache][errors]") {
    Fixture<> f;
    const Request req = chat("Hello");
    f.model->fail = true;
    f.model->error = ErrorCode::rate_limited;

    auto a = f.cache.invoke(req);
    REQUIRE_FALSE(a);
    CHECK(a.error().code == ErrorCode::rate_limited);
    CHECK(a.error().message == "the model is unavailable");
    CHECK(a.error().http_status == 529);
    CHECK(f.recorder.last() == Outcome::error);
    CHECK_FALSE(f.cache.lookup(req));

    auto b = f.cache.invoke(req);
    REQUIRE_FALSE(b);
    CHECK(f.calls() == 2);
    CacheStats s = f.cache.stats();
    CHECK(s.backend_errors == 2);
    CHECK(s.backend_calls == 2);
    CHECK(s.writes == 0);

    f.model->fail = false;
    auto c = f.cache.invoke(req);
    REQUIRE(c);
    CHECK_FALSE(c->cache_hit);
    CHECK(f.calls() == 3);
    CHECK(f.cache.stats().backend_errors == 2);
}

TEST_CASE("cache: a model callable that throws becomes backend_failed", "[cache][errors]") {
    Fixture<> f;
    f.model->throws = true;
    const Request req = chat("Hello");
    auto a = f.cache.invoke(req);
    REQUIRE_FALSE(a);
    CHECK(a.error().code == ErrorCode::backend_failed);
    CHECK_THAT(a.error().message, Catch::Contains("the model exploded"));
    CHECK(f.cache.stats().backend_errors == 1);
    CHECK_FALSE(f.cache.lookup(req));

    f.model->throws = false;
    REQUIRE(f.cache.invoke(req));
    CHECK(f.calls() == 2);
}

TEST_CASE("cache: corrupt entries are misses, counted, erased and replaced", "[cache][corrupt]") {
    Fixture<> f;
    const Request req = chat("Hello");
    const std::string key = f.cache.key_for(req);
    REQUIRE(f.cache.invoke(req));
    auto stored = f.store.get(key);
    REQUIRE(stored);
    REQUIRE(*stored);
    const std::string valid = **stored;

    std::string flipped = valid;
    flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x20);
    std::string wrong_version = valid;
    wrong_version[4] = 9;
    const std::string garbages[] = {"garbage",   std::string(), valid.substr(0, valid.size() - 1),
                                    valid + "x", flipped,       wrong_version};

    std::uint64_t corrupt = 0;
    for (const std::string& garbage : garbages) {
        REQUIRE(f.cache.store().put(key, garbage, std::nullopt));
        CHECK_FALSE(f.cache.lookup(req));
        CHECK(f.cache.stats().corrupt_entries == ++corrupt);
        auto after = f.store.get(key);
        REQUIRE(after);
        CHECK_FALSE(*after); // erased
    }

    // Through invoke: a miss that calls the model, and the next answer replaces the entry.
    REQUIRE(f.cache.store().put(key, "garbage", std::nullopt));
    const int before = f.calls();
    auto a = f.cache.invoke(req);
    REQUIRE(a);
    CHECK_FALSE(a->cache_hit);
    CHECK(f.calls() == before + 1);
    CHECK(f.cache.stats().corrupt_entries == corrupt + 1);
    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == a->text);
    CHECK(f.calls() == before + 1);
}

TEST_CASE("cache: a valid entry copied under another key is a miss", "[cache][corrupt]") {
    Fixture<> f;
    const Request a = chat("Question A");
    const Request b = chat("Question B");
    REQUIRE(f.cache.invoke(a));
    auto value = f.store.get(f.cache.key_for(a));
    REQUIRE(value);
    REQUIRE(*value);
    REQUIRE(f.store.put(f.cache.key_for(b), **value, std::nullopt));

    CHECK_FALSE(f.cache.lookup(b));
    CHECK(f.cache.stats().corrupt_entries == 1);
    auto answer = f.cache.invoke(b);
    REQUIRE(answer);
    CHECK_FALSE(answer->cache_hit);
    CHECK(answer->text == "answer 2 to Question B");
    CHECK(f.cache.lookup(a)); // the original is untouched
}

TEST_CASE("cache: a store that always fails never fails the call", "[cache][store_errors]") {
    auto model = std::make_shared<ModelState>();
    FailingStore store;
    TestCache<ttl::None, FailingStore> cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{},
                                             CallableBackend<TestModel>{TestModel{model}}, Recorder{});
    const Request req = chat("Hello");

    for (int i = 1; i <= 3; ++i) {
        Result<Response> r = fail(ErrorCode::backend_failed, "not called");
        REQUIRE_NOTHROW(r = cache.invoke(req));
        REQUIRE(r);
        CHECK_FALSE(r->cache_hit);
        CHECK(r->text == "answer " + std::to_string(i) + " to Hello");
    }
    CallOptions refresh;
    refresh.force_refresh = true;
    REQUIRE(cache.invoke(req, refresh));
    CHECK(model->calls == 4);

    CacheStats s = cache.stats();
    CHECK(s.store_errors >= 4 + 4 + 1); // a read and a write per call, plus the refresh's evict
    CHECK(s.write_failures == 4);
    CHECK(s.writes == 0);
    CHECK(s.hits == 0);
    CHECK(*store.operations > 0);

    // The explicit operations report the store's trouble.
    CHECK_FALSE(cache.lookup(req));
    auto st = cache.store(req, answer("x"));
    REQUIRE_FALSE(st);
    CHECK(st.error().code == ErrorCode::store_unavailable);
    auto inv = cache.invalidate(req);
    REQUIRE_FALSE(inv);
    CHECK(inv.error().code == ErrorCode::store_unavailable);
    CHECK_FALSE(cache.clear("x"));
    CHECK_FALSE(cache.clear_all());
    const WarmReport report = cache.warm(std::vector<Request>{chat("a"), chat("b")});
    CHECK(report.not_stored == 2);
    CHECK(report.fetched == 0);
}

TEST_CASE("cache: invalidate evicts, counts and tells the observer", "[cache][invalidate]") {
    Fixture<> f;
    const Request req = chat("Hello");
    REQUIRE(f.cache.invoke(req));

    auto removed = f.cache.invalidate(req, "wrong answer reported by user");
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(f.cache.stats().invalidations == 1);
    {
        std::lock_guard lock(f.recorder.seen->mutex);
        REQUIRE(f.recorder.seen->invalidated.size() == 1);
        CHECK(f.recorder.seen->invalidated[0].first == f.cache.key_for(req));
        CHECK(f.recorder.seen->invalidated[0].second == "wrong answer reported by user");
    }
    CHECK_FALSE(f.cache.lookup(req));

    auto a = f.cache.invoke(req);
    REQUIRE(a);
    CHECK_FALSE(a->cache_hit);
    CHECK(f.calls() == 2);

    // Nothing to remove: false, and not counted.
    REQUIRE(f.cache.invalidate(chat("never cached")));
    CHECK_FALSE(*f.cache.invalidate(chat("never cached")));
    CHECK(f.cache.stats().invalidations == 1);

    // By key, as from a log line.
    auto by_key = f.cache.invalidate_key(f.cache.key_for(req), "stale");
    REQUIRE(by_key);
    CHECK(*by_key);
    CHECK(f.cache.stats().invalidations == 2);
    CHECK_FALSE(f.cache.lookup(req));
    REQUIRE(f.cache.invoke(req));
    CHECK(f.calls() == 3);
}

TEST_CASE("cache: lookup and store without a model call", "[cache]") {
    Fixture<> f;
    const Request req = chat("Reviewed question");
    CHECK_FALSE(f.cache.lookup(req));

    const Response truncated = answer("half an ans", StopReason::max_tokens);
    auto refused = f.cache.store(req, truncated);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(f.cache.lookup(req));

    Response reviewed;
    reviewed.text = "A reviewed answer.";
    reviewed.stop_reason = StopReason::end_turn;
    reviewed.model = "human";
    reviewed.usage.input_tokens = 10;
    REQUIRE(f.cache.store(req, reviewed));
    auto found = f.cache.lookup(req);
    REQUIRE(found);
    CHECK(found->cache_hit);
    CHECK(found->text == "A reviewed answer.");
    CHECK(found->model == "human");
    CHECK(found->usage == reviewed.usage);

    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == "A reviewed answer.");
    CHECK(f.calls() == 0);

    Request invalid = req;
    invalid.model.clear();
    auto bad = f.cache.store(invalid, reviewed);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(f.cache.lookup(invalid));
}

TEST_CASE("cache: warm reports cached, fetched, not stored and failed requests", "[cache][warm]") {
    Fixture<> f;
    const Request cached = chat("already here");
    REQUIRE(f.cache.invoke(cached));
    const std::vector<Request> hot{cached, chat("new question"), chat("truncate: long question"),
                                   chat("fail: broken question")};

    WarmReport r = f.cache.warm(hot);
    CHECK(r.already_cached == 1);
    CHECK(r.fetched == 1);
    CHECK(r.not_stored == 1);
    CHECK(r.failed == 1);
    CHECK(f.calls() == 4);
    CHECK(f.cache.lookup(chat("new question")));

    WarmReport again = f.cache.warm(hot);
    CHECK(again.already_cached == 2);
    CHECK(again.fetched == 0);
    CHECK(again.not_stored == 1);
    CHECK(again.failed == 1);
    CHECK(f.calls() == 6);
}

TEST_CASE("cache: a sliding TTL keeps hit entries alive; a fixed one does not", "[cache][ttl][slow]") {
    const Request req = chat("Hot question");
    {
        Fixture<ttl::Sliding<>> f({}, ttl::Sliding<>{300ms});
        REQUIRE(f.cache.invoke(req));
        const auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < 800ms) {
            std::this_thread::sleep_for(50ms);
            auto hit = f.cache.invoke(req);
            REQUIRE(hit);
            CHECK(hit->cache_hit);
        }
        CHECK(f.calls() == 1); // alive well past its original 300 ms
        std::this_thread::sleep_for(450ms);
        CHECK_FALSE(f.cache.lookup(req));
        auto fresh = f.cache.invoke(req);
        REQUIRE(fresh);
        CHECK_FALSE(fresh->cache_hit);
        CHECK(f.calls() == 2);
    }
    {
        // Same hits with a fixed TTL: the entry expires at least once in 450 ms.
        Fixture<ttl::Fixed> f({}, ttl::Fixed{150ms});
        REQUIRE(f.cache.invoke(req));
        const auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < 450ms) {
            std::this_thread::sleep_for(50ms);
            REQUIRE(f.cache.invoke(req));
        }
        CHECK(f.calls() >= 2);
    }
}

TEST_CASE("cache: jittered TTLs written to the store lie within the range", "[cache][ttl]") {
    using J = ttl::Jittered<ttl::Fixed>;
    Fixture<J> f({}, J{ttl::Fixed{100s}, 0.2});
    std::set<long long> seconds;
    for (int i = 0; i < 40; ++i) {
        const Request req = chat("question " + std::to_string(i));
        REQUIRE(f.cache.invoke(req));
        const std::string key = f.cache.key_for(req);
        auto remaining = f.store.ttl_remaining(key);
        REQUIRE(remaining);
        const auto policy = f.cache.ttl_policy().ttl_for(key);
        REQUIRE(policy);
        CHECK(*policy >= 80s);
        CHECK(*policy <= 120s);
        CHECK(*remaining <= *policy);
        CHECK(*remaining > *policy - 10s);
        seconds.insert(std::chrono::duration_cast<std::chrono::seconds>(*remaining).count());
    }
    CHECK(seconds.size() > 10); // spread, not one value
    CHECK(*seconds.begin() < 95);
    CHECK(*seconds.rbegin() > 105);
}

TEST_CASE("cache: a TTL longer than the store's max_ttl is rejected", "[cache][ttl]") {
    auto model = std::make_shared<ModelState>();
    auto make = [&](auto t) {
        using T = decltype(t);
        [[maybe_unused]] TestCache<T, ShortTtlStore> c(Xxh3Key<>{}, ShortTtlStore{}, ExactOnly{}, t,
                                                       CallableBackend<TestModel>{TestModel{model}},
                                                       Recorder{});
    };
    CHECK_THROWS_AS(make(ttl::Fixed{2h}), std::invalid_argument);
    CHECK_THROWS_AS(make(ttl::Jittered<ttl::Fixed>{ttl::Fixed{1h}, 0.1}), std::invalid_argument);
    CHECK_NOTHROW(make(ttl::Fixed{1h}));
    CHECK_NOTHROW(make(ttl::Jittered<ttl::Fixed>{ttl::Fixed{50min}, 0.1}));

    TestCache<ttl::Fixed, ShortTtlStore> cache(Xxh3Key<>{}, ShortTtlStore{}, ExactOnly{}, ttl::Fixed{30min},
                                               CallableBackend<TestModel>{TestModel{model}}, Recorder{});
    CallOptions too_long;
    too_long.ttl = 2h;
    auto r = cache.invoke(chat("Hello"), too_long);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    CHECK(model->calls == 0);
    CallOptions fine;
    fine.ttl = 1h;
    CHECK(cache.invoke(chat("Hello"), fine));
    CHECK(model->calls == 1);
}

TEST_CASE("cache: statistics count tokens and dollars saved at published prices", "[cache][stats]") {
    Fixture<> f;
    f.model->input_tokens = 1234;
    f.model->output_tokens = 567;
    const Request req = chat("Price me"); // claude-sonnet-4-5: $3 / $15 per million tokens
    const double one_call = (1234 * 3.0 + 567 * 15.0) / 1e6;

    REQUIRE(f.cache.invoke(req));
    REQUIRE(f.cache.invoke(req)->cache_hit);
    REQUIRE(f.cache.invoke(req)->cache_hit);

    CacheStats s = f.cache.stats();
    CHECK(s.hits == 2);
    CHECK(s.misses == 1);
    CHECK(s.input_tokens_billed == 1234);
    CHECK(s.output_tokens_billed == 567);
    CHECK(s.input_tokens_saved == 2 * 1234);
    CHECK(s.output_tokens_saved == 2 * 567);
    CHECK(s.dollars_billed == Approx(one_call).margin(1e-9));
    CHECK(s.dollars_saved == Approx(2 * one_call).margin(1e-9));
    CHECK(s.hit_rate() == Approx(2.0 / 3.0));

    // A bypass is not a lookup: the hit rate does not move.
    CallOptions skip;
    skip.skip_read = true;
    REQUIRE(f.cache.invoke(req, skip));
    CHECK(f.cache.stats().hit_rate() == Approx(2.0 / 3.0));

    f.cache.reset_stats();
    s = f.cache.stats();
    CHECK(s.hits == 0);
    CHECK(s.dollars_saved == 0.0);
    CHECK(s.hit_rate() == 0.0);
}

TEST_CASE("cache: unknown usage or an unpriced model saves no dollars", "[cache][stats]") {
    SECTION("usage not reported") {
        Fixture<> f;
        f.model->input_tokens = -1;
        f.model->output_tokens = -1;
        const Request req = chat("No usage");
        REQUIRE(f.cache.invoke(req));
        REQUIRE(f.cache.invoke(req)->cache_hit);
        CacheStats s = f.cache.stats();
        CHECK(s.hits == 1);
        CHECK(s.input_tokens_saved == 0);
        CHECK(s.output_tokens_saved == 0);
        CHECK(s.dollars_saved == 0.0);
        CHECK(s.dollars_billed == 0.0);
    }
    SECTION("model without a published price") {
        Fixture<> f;
        const Request req = Request::chat("my-local-llama", "Hello");
        REQUIRE(f.cache.invoke(req));
        REQUIRE(f.cache.invoke(req)->cache_hit);
        CacheStats s = f.cache.stats();
        CHECK(s.input_tokens_saved == 120);
        CHECK(s.output_tokens_saved == 480);
        CHECK(s.dollars_saved == 0.0);
    }
    SECTION("no price function") {
        CacheOptions options;
        options.price_of = nullptr;
        Fixture<> f(options);
        const Request req = chat("Hello");
        REQUIRE(f.cache.invoke(req));
        REQUIRE(f.cache.invoke(req)->cache_hit);
        CHECK(f.cache.stats().output_tokens_saved == 480);
        CHECK(f.cache.stats().dollars_saved == 0.0);
        CHECK(f.cache.stats().dollars_billed == 0.0);
    }
}
