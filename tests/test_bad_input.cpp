// Bad and extreme input: invalid requests, huge prompts, NUL bytes and invalid UTF-8, a store at
// its byte limit, answers over the entry size limit.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace llmcache;
using namespace std::string_literals;

namespace {

struct ModelState {
    std::atomic<int> calls{0};
    std::atomic<std::size_t> answer_size{0}; ///< nonzero: pad the answer to this many bytes
};

/// Echoes the system prompt and the last user text byte for byte (NULs and all).
struct EchoModel {
    std::shared_ptr<ModelState> s;
    Result<Response> operator()(const Request& req) const {
        const int n = ++s->calls;
        Response r;
        r.text = "#" + std::to_string(n) + " system=[" + req.system + "] user=[";
        const std::string_view prompt = req.last_user_text();
        r.text.append(prompt.size() > 1000 ? prompt.substr(0, 1000) : prompt);
        r.text += "] size=" + std::to_string(prompt.size());
        if (s->answer_size > r.text.size())
            r.text.resize(s->answer_size, '.');
        r.stop_reason = StopReason::end_turn;
        r.model = req.model;
        r.usage.input_tokens = prompt.size() / 4;
        r.usage.output_tokens = 10;
        return r;
    }
};

using TestCache = Cache<Xxh3Key<>, MemoryStore, ExactOnly, ttl::None, CallableBackend<EchoModel>>;

struct Fixture {
    explicit Fixture(CacheOptions options = {}, MemoryStore s = MemoryStore{})
        : store(std::move(s)), cache(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{},
                                     CallableBackend<EchoModel>{EchoModel{model}}, NullObserver{}, options) {}

    int calls() const { return model->calls.load(); }

    std::shared_ptr<ModelState> model = std::make_shared<ModelState>();
    MemoryStore store;
    TestCache cache;
};

Request chat(std::string prompt, std::string system = {}, std::string scope = {}) {
    return Request::chat("claude-sonnet-4-5", std::move(prompt), std::move(system), std::move(scope));
}

MemoryStoreOptions bounded(std::size_t max_bytes, std::size_t shards) {
    MemoryStoreOptions o;
    o.max_entries = 100'000;
    o.max_bytes = max_bytes;
    o.shards = shards;
    return o;
}

} // namespace

TEST_CASE("bad_input: invalid requests are rejected with a clear message and no model call", "[bad_input]") {
    Fixture f;
    Request no_model = chat("Hello");
    no_model.model.clear();
    Request no_messages = chat("Hello");
    no_messages.messages.clear();
    Request empty_first = chat("");
    Request empty_second = chat("Hello");
    empty_second.messages.push_back(Message{Role::assistant, ""});
    empty_second.messages.push_back(Message{Role::user, "And?"});

    const std::pair<Request, std::string> cases[] = {
        {no_model, "no model id"},           {no_messages, "no messages"},
        {empty_first, "message 0 is empty"}, {empty_second, "message 1 is empty"},
        {Request{}, "no model id"},
    };
    for (const auto& [req, message] : cases) {
        INFO(message);
        auto r = f.cache.invoke(req);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(r.error().message, Catch::Contains(message));
        CHECK_FALSE(f.cache.lookup(req));
        Response answer;
        answer.text = "x";
        answer.stop_reason = StopReason::end_turn;
        auto stored = f.cache.store(req, answer);
        REQUIRE_FALSE(stored);
        CHECK(stored.error().code == ErrorCode::invalid_argument);
        CHECK_THAT(stored.error().message, Catch::Contains(message));
    }
    CHECK(f.calls() == 0);
    const CacheStats s = f.cache.stats();
    CHECK(s.backend_calls == 0);
    CHECK(s.misses == 0);
    CHECK(s.writes == 0);
    CHECK(f.store.stats().entries == 0);
    const WarmReport report = f.cache.warm(std::vector<Request>{no_model, no_messages});
    CHECK(report.failed == 2);
    CHECK(f.calls() == 0);
}

TEST_CASE("bad_input: a 10 MB prompt is a miss, then a hit", "[bad_input]") {
    Fixture f;
    std::string big(10u << 20, 'a');
    for (std::size_t i = 0; i < big.size(); i += 4093)
        big[i] = static_cast<char>('a' + i % 26);
    const Request req = chat(big);

    auto first = f.cache.invoke(req);
    REQUIRE(first);
    CHECK_FALSE(first->cache_hit);
    CHECK_THAT(first->text, Catch::EndsWith("size=10485760"));
    auto second = f.cache.invoke(req);
    REQUIRE(second);
    CHECK(second->cache_hit);
    CHECK(second->text == first->text);
    CHECK(f.calls() == 1);

    // The key is a digest: short, whatever the prompt's size.
    CHECK(f.cache.key_for(req).size() < 100);

    // One byte changed at the very end is another request.
    std::string other = big;
    other.back() = 'z';
    auto third = f.cache.invoke(chat(std::move(other)));
    REQUIRE(third);
    CHECK_FALSE(third->cache_hit);
    CHECK(f.calls() == 2);
}

TEST_CASE("bad_input: NUL bytes and invalid UTF-8 in prompt, system and scope round-trip", "[bad_input]") {
    Fixture f;
    const std::string prompt = "before\0after \xff\xfe\xc0\xaf \xed\xa0\x80 end"s;
    const std::string system = "sys\0tem \x80\x81"s;
    const std::string scope = "ten\0ant \xff/:*?"s;
    const Request req = chat(prompt, system, scope);

    auto first = f.cache.invoke(req);
    REQUIRE(first);
    const std::string expected =
        "#1 system=[" + system + "] user=[" + prompt + "] size=" + std::to_string(prompt.size());
    CHECK(first->text == expected);
    auto hit = f.cache.invoke(req);
    REQUIRE(hit);
    CHECK(hit->cache_hit);
    CHECK(hit->text == expected);
    CHECK(hit->text.size() == expected.size());
    CHECK(f.calls() == 1);

    // Keys stay printable ASCII: the scope is escaped, the texts are hashed.
    const std::string key = f.cache.key_for(req);
    for (unsigned char c : key) {
        CHECK(c > 0x20);
        CHECK(c < 0x7f);
    }

    // The scope isolates: clear it, and only it goes.
    const Request same_prompt_other_scope = chat(prompt, system, "ten\0anu"s);
    REQUIRE(f.cache.invoke(same_prompt_other_scope));
    CHECK(f.calls() == 2);
    auto cleared = f.cache.clear(scope);
    REQUIRE(cleared);
    CHECK(*cleared == 1);
    CHECK_FALSE(f.cache.lookup(req));
    CHECK(f.cache.lookup(same_prompt_other_scope));
}

TEST_CASE("bad_input: texts that differ only after a NUL byte have different keys", "[bad_input]") {
    Fixture f;
    const std::vector<Request> requests{
        chat("abc\0def"s),      chat("abc\0deg"s),    chat("abc"),          chat("abc\0"s),
        chat("abc\0\0"s),       chat("x", "sys\0a"s), chat("x", "sys\0b"s), chat("x", {}, "s\0a"s),
        chat("x", {}, "s\0b"s), chat("x", {}, "s"),
    };
    std::vector<std::string> keys;
    for (const Request& r : requests)
        keys.push_back(f.cache.key_for(r));
    for (std::size_t i = 0; i < keys.size(); ++i)
        for (std::size_t j = i + 1; j < keys.size(); ++j) {
            INFO(i << " vs " << j);
            CHECK(keys[i] != keys[j]);
        }
    for (const Request& r : requests)
        REQUIRE(f.cache.invoke(r));
    CHECK(f.calls() == static_cast<int>(requests.size()));
    for (const Request& r : requests) {
        auto hit = f.cache.invoke(r);
        REQUIRE(hit);
        CHECK(hit->cache_hit);
        CHECK_THAT(hit->text, Catch::Contains(std::string(r.last_user_text())));
    }
    CHECK(f.calls() == static_cast<int>(requests.size()));
}

TEST_CASE("bad_input: a store at its byte limit evicts old entries and never exceeds it",
          "[bad_input][store]") {
    for (std::size_t shards : {1u, 8u}) {
        INFO(shards << " shards");
        const std::size_t limit = 32 * 1024;
        Fixture f({}, MemoryStore{bounded(limit, shards)});
        f.model->answer_size = 600;
        const int n = 300;
        for (int i = 0; i < n; ++i) {
            const Request req = chat("question " + std::to_string(i));
            auto r = f.cache.invoke(req);
            REQUIRE(r);
            CHECK(r->text.size() == 600);
            CHECK_THAT(r->text, Catch::Contains("user=[question " + std::to_string(i) + "]"));
            CHECK(f.store.stats().bytes <= limit);
        }
        const MemoryStoreStats s = f.store.stats();
        CHECK(s.entries > 10);
        CHECK(s.entries < static_cast<std::size_t>(n));
        CHECK(s.evictions == static_cast<std::size_t>(n) - s.entries);
        CHECK(f.cache.stats().writes == static_cast<std::uint64_t>(n));
        // The oldest are gone (exact LRU within a shard), the newest is there.
        int old_present = 0;
        for (int i = 0; i < 10; ++i)
            old_present += f.cache.lookup(chat("question " + std::to_string(i))) ? 1 : 0;
        CHECK(old_present == 0);
        CHECK(f.cache.lookup(chat("question " + std::to_string(n - 1))));
        // Evicted answers are asked again, and answered.
        auto again = f.cache.invoke(chat("question 0"));
        REQUIRE(again);
        CHECK_FALSE(again->cache_hit);
        CHECK(f.calls() == n + 1);
    }
}

TEST_CASE("bad_input: an answer too large for the store's shard is returned, the write failure counted",
          "[bad_input][store]") {
    Fixture f({}, MemoryStore{bounded(4096, 1)});
    f.model->answer_size = 8000;
    const Request req = chat("Big answer please");
    auto r = f.cache.invoke(req);
    REQUIRE(r);
    CHECK(r->text.size() == 8000);
    CHECK(f.cache.stats().write_failures == 1);
    CHECK(f.cache.stats().writes == 0);
    CHECK_FALSE(f.cache.lookup(req));
}

TEST_CASE("bad_input: an answer over max_entry_bytes is returned but not stored", "[bad_input]") {
    CacheOptions options;
    options.max_entry_bytes = 1024;
    Fixture f(options);
    f.model->answer_size = 4000;
    const Request big = chat("Long answer please");
    auto r = f.cache.invoke(big);
    REQUIRE(r);
    CHECK(r->text.size() == 4000);
    CHECK(f.cache.stats().too_large == 1);
    CHECK(f.cache.stats().writes == 0);
    CHECK(f.cache.stats().write_failures == 0);
    CHECK_FALSE(f.cache.lookup(big));
    REQUIRE(f.cache.invoke(big));
    CHECK(f.calls() == 2);
    CHECK(f.cache.stats().too_large == 2);

    // store() reports it.
    Response huge;
    huge.text.assign(4000, 'x');
    huge.stop_reason = StopReason::end_turn;
    auto stored = f.cache.store(chat("Other"), huge);
    REQUIRE_FALSE(stored);
    CHECK(stored.error().code == ErrorCode::too_large);

    // A short answer under the same options is stored.
    f.model->answer_size = 0;
    const Request small = chat("Short answer please");
    REQUIRE(f.cache.invoke(small));
    CHECK(f.cache.lookup(small));
    CHECK(f.cache.stats().writes == 1);
}
