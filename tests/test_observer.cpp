// Observers: one CallRecord per call with the right fields; JsonLinesObserver writes one valid,
// escaped JSON line per call that never contains the prompt or the answer; NullObserver costs nothing.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

/// A CallRecord with its views copied, so it outlives the observer call.
struct Owned {
    std::string key, scope, model;
    Outcome outcome;
    bool cache_hit, stored;
    std::optional<ErrorCode> error, store_error;
    StopReason stop_reason;
    Usage usage;
    std::optional<double> cost_usd;
    std::chrono::nanoseconds latency, backend_latency;
    std::chrono::system_clock::time_point answered_at;
};

struct RecordLog {
    std::mutex mutex;
    std::vector<Owned> records;

    std::size_t size() {
        std::lock_guard lock(mutex);
        return records.size();
    }
    Owned at(std::size_t i) {
        std::lock_guard lock(mutex);
        REQUIRE(i < records.size());
        return records[i];
    }
};

auto recording(std::shared_ptr<RecordLog> log) {
    return CallbackObserver{[log](const CallRecord& r) noexcept {
        std::lock_guard lock(log->mutex);
        log->records.push_back(Owned{std::string(r.key), std::string(r.scope), std::string(r.model),
                                     r.outcome, r.cache_hit, r.stored, r.error, r.store_error, r.stop_reason,
                                     r.usage, r.cost_usd, r.latency, r.backend_latency, r.answered_at});
    }};
}
using Recording = decltype(recording(nullptr));

struct ModelState {
    std::atomic<int> calls{0};
    std::atomic<bool> fail{false};
    std::atomic<StopReason> stop{StopReason::end_turn};
    std::atomic<int> gets{0};
    std::atomic<int> gate{0}; ///< a call waits until the store has seen this many reads
};

const std::chrono::system_clock::time_point created_time =
    std::chrono::sys_days{std::chrono::year{2025} / 3 / 14} + std::chrono::hours{9};

struct ObservedModel {
    std::shared_ptr<ModelState> s;
    Result<Response> operator()(const Request& req) const {
        ++s->calls;
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        if (s->gate > 0) {
            while (s->gets < s->gate && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(1ms);
            std::this_thread::sleep_for(20ms);
        }
        std::this_thread::sleep_for(1ms);
        if (s->fail)
            return fail(ErrorCode::rate_limited, "slow down", 429);
        Response r;
        r.text = "SECRET-ANSWER about " + std::string(req.last_user_text());
        r.stop_reason = s->stop;
        r.model = req.model;
        r.usage.input_tokens = 2000;
        r.usage.output_tokens = 100;
        r.created = created_time;
        return r;
    }
};

/// A MemoryStore that counts reads (for the gate) and can be told to fail reads or writes.
struct FlakyStore {
    MemoryStore inner;
    std::shared_ptr<ModelState> s;
    std::shared_ptr<std::atomic<bool>> reads_down = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<std::atomic<bool>> writes_down = std::make_shared<std::atomic<bool>>(false);

    StoreValue get(std::string_view key) noexcept {
        StoreValue v = *reads_down ? StoreValue(fail(ErrorCode::store_timeout, "timeout")) : inner.get(key);
        ++s->gets; // counted once the read is done
        return v;
    }
    Result<void> put(std::string_view key, std::string_view value,
                     std::optional<std::chrono::milliseconds> ttl) noexcept {
        if (*writes_down)
            return fail(ErrorCode::store_rejected, "OOM");
        return inner.put(key, value, ttl);
    }
    Result<bool> erase(std::string_view key) noexcept {
        if (*writes_down)
            return fail(ErrorCode::store_rejected, "OOM");
        return inner.erase(key);
    }
    Result<std::size_t> clear_prefix(std::string_view prefix) noexcept { return inner.clear_prefix(prefix); }
};

template <class Observer>
using TestCache =
    Cache<Xxh3Key<>, FlakyStore, ExactOnly, ttl::None, CallableBackend<ObservedModel>, Observer>;

template <class Observer = Recording>
struct Fixture {
    explicit Fixture(Observer observer) : cache(make(std::move(observer))) {}

    TestCache<Observer> make(Observer observer) {
        return TestCache<Observer>(Xxh3Key<>{}, store, ExactOnly{}, ttl::None{},
                                   CallableBackend<ObservedModel>{ObservedModel{model}}, std::move(observer));
    }

    std::shared_ptr<ModelState> model = std::make_shared<ModelState>();
    FlakyStore store{MemoryStore{}, model};
    TestCache<Observer> cache;
};

Request chat(std::string prompt, std::string scope = "acme") {
    return Request::chat("claude-haiku-4-5", std::move(prompt), "SECRET-SYSTEM prompt", std::move(scope));
}

// claude-haiku-4-5: $1 / $5 per million tokens; 2000 in + 100 out.
constexpr double call_cost = (2000 * 1.0 + 100 * 5.0) / 1e6;

/// True when `s` is valid UTF-8 (written here independently of the library's own check).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n > s.size())
            return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (b & 0x3f);
        }
        const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n;
    }
    return true;
}

/// A strict validator for one JSON value (RFC 8259), written for these tests.
class JsonValidator {
public:
    explicit JsonValidator(std::string_view s) : s_(s) {}
    bool valid() {
        ws();
        if (!value())
            return false;
        ws();
        return i_ == s_.size();
    }

private:
    bool value() {
        if (i_ >= s_.size())
            return false;
        switch (s_[i_]) {
        case '{':
            return object();
        case '[':
            return array();
        case '"':
            return string();
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            return number();
        }
    }
    bool object() {
        ++i_;
        ws();
        if (peek('}'))
            return ++i_, true;
        for (;;) {
            ws();
            if (!string())
                return false;
            ws();
            if (!peek(':'))
                return false;
            ++i_;
            ws();
            if (!value())
                return false;
            ws();
            if (peek('}'))
                return ++i_, true;
            if (!peek(','))
                return false;
            ++i_;
        }
    }
    bool array() {
        ++i_;
        ws();
        if (peek(']'))
            return ++i_, true;
        for (;;) {
            ws();
            if (!value())
                return false;
            ws();
            if (peek(']'))
                return ++i_, true;
            if (!peek(','))
                return false;
            ++i_;
        }
    }
    bool string() {
        if (!peek('"'))
            return false;
        ++i_;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_]);
            if (c == '"')
                return ++i_, true;
            if (c < 0x20)
                return false;
            if (c == '\\') {
                if (++i_ >= s_.size())
                    return false;
                const char e = s_[i_];
                if (e == 'u') {
                    for (int k = 1; k <= 4; ++k)
                        if (i_ + k >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_ + k])))
                            return false;
                    i_ += 4;
                } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                    return false;
                }
            }
            ++i_;
        }
        return false;
    }
    bool number() {
        const std::size_t start = i_;
        if (peek('-'))
            ++i_;
        if (peek('0')) {
            ++i_;
        } else if (!digits()) {
            return false;
        }
        if (peek('.')) {
            ++i_;
            if (!digits())
                return false;
        }
        if (peek('e') || peek('E')) {
            ++i_;
            if (peek('+') || peek('-'))
                ++i_;
            if (!digits())
                return false;
        }
        return i_ > start;
    }
    bool digits() {
        const std::size_t start = i_;
        while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
            ++i_;
        return i_ > start;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word)
            return false;
        i_ += word.size();
        return true;
    }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
            ++i_;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

std::vector<std::string> read_lines(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string all;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        all.append(buf, n);
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i] == '\n') {
            lines.push_back(all.substr(start, i - start));
            start = i + 1;
        }
    CHECK(start == all.size()); // every line ends with a newline
    return lines;
}

} // namespace

TEST_CASE("observer: the JSON validator used below rejects what it must", "[observer][json]") {
    CHECK(JsonValidator(R"({"a":[1,-2.5e3,true,null,"x\n\u00e9"]})").valid());
    CHECK_FALSE(JsonValidator(R"({"a":1,})").valid());
    CHECK_FALSE(JsonValidator("{\"a\":\"raw\nnewline\"}").valid());
    CHECK_FALSE(JsonValidator(R"({"a":"bad \q escape"})").valid());
    CHECK_FALSE(JsonValidator(R"({"a":01})").valid());
    CHECK_FALSE(JsonValidator(R"({"a":1} x)").valid());
    CHECK(valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    CHECK_FALSE(valid_utf8("\xff"));
    CHECK_FALSE(valid_utf8("\xc0\xaf"));         // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));     // surrogate
    CHECK_FALSE(valid_utf8("\xe2\x82"));         // truncated
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
}

TEST_CASE("observer: one record per call with the right fields", "[observer]") {
    auto log = std::make_shared<RecordLog>();
    Fixture<> f(recording(log));
    const Request req = chat("What is BM25?");
    const std::string key = f.cache.key_for(req);

    SECTION("miss, then hit") {
        REQUIRE(f.cache.invoke(req));
        REQUIRE(log->size() == 1);
        Owned miss = log->at(0);
        CHECK(miss.outcome == Outcome::miss);
        CHECK_FALSE(miss.cache_hit);
        CHECK(miss.stored);
        CHECK(miss.key == key);
        CHECK(miss.scope == "acme");
        CHECK(miss.model == "claude-haiku-4-5");
        CHECK(miss.stop_reason == StopReason::end_turn);
        CHECK(miss.usage.input_tokens == std::optional<std::uint64_t>(2000));
        CHECK(miss.usage.output_tokens == std::optional<std::uint64_t>(100));
        REQUIRE(miss.cost_usd);
        CHECK(*miss.cost_usd == Approx(call_cost));
        CHECK(miss.latency > 0ns);
        CHECK(miss.backend_latency >= 1ms); // the model sleeps 1 ms
        CHECK(miss.latency >= miss.backend_latency);
        CHECK(miss.answered_at == created_time);
        CHECK_FALSE(miss.error);
        CHECK_FALSE(miss.store_error);

        auto hit_answer = f.cache.invoke(req);
        REQUIRE(hit_answer);
        REQUIRE(hit_answer->cache_hit);
        REQUIRE(log->size() == 2);
        Owned hit = log->at(1);
        CHECK(hit.outcome == Outcome::hit);
        CHECK(hit.cache_hit);
        CHECK_FALSE(hit.stored);
        CHECK(hit.key == key);
        CHECK(hit.scope == "acme");
        CHECK(hit.usage == miss.usage);
        REQUIRE(hit.cost_usd);
        CHECK(*hit.cost_usd == Approx(call_cost)); // saved
        CHECK(hit.latency > 0ns);
        CHECK(hit.backend_latency == 0ns);
        CHECK(hit.answered_at == created_time);
        CHECK(f.model->calls == 1);
    }
    SECTION("bypass") {
        CallOptions opts;
        opts.skip_read = true;
        REQUIRE(f.cache.invoke(req, opts));
        REQUIRE(log->size() == 1);
        Owned r = log->at(0);
        CHECK(r.outcome == Outcome::bypass);
        CHECK_FALSE(r.cache_hit);
        CHECK(r.stored);
        CHECK(r.backend_latency > 0ns);
    }
    SECTION("not stored") {
        f.model->stop = StopReason::max_tokens;
        REQUIRE(f.cache.invoke(req));
        REQUIRE(log->size() == 1);
        Owned r = log->at(0);
        CHECK(r.outcome == Outcome::miss);
        CHECK_FALSE(r.stored);
        CHECK(r.stop_reason == StopReason::max_tokens);
    }
    SECTION("backend error") {
        f.model->fail = true;
        auto a = f.cache.invoke(req);
        REQUIRE_FALSE(a);
        REQUIRE(log->size() == 1);
        Owned r = log->at(0);
        CHECK(r.outcome == Outcome::error);
        CHECK_FALSE(r.cache_hit);
        CHECK_FALSE(r.stored);
        REQUIRE(r.error);
        CHECK(*r.error == ErrorCode::rate_limited);
        CHECK_FALSE(r.cost_usd);
        CHECK(r.usage == Usage{});
        CHECK(r.key == key);
    }
    SECTION("store read failure") {
        *f.store.reads_down = true;
        auto a = f.cache.invoke(req);
        REQUIRE(a);
        REQUIRE(log->size() == 1);
        Owned r = log->at(0);
        CHECK(r.outcome == Outcome::miss);
        CHECK(r.stored); // the write still went through
        REQUIRE(r.store_error);
        CHECK(*r.store_error == ErrorCode::store_timeout);
        CHECK_FALSE(r.error);
    }
    SECTION("store write failure") {
        *f.store.writes_down = true;
        auto a = f.cache.invoke(req);
        REQUIRE(a);
        REQUIRE(log->size() == 1);
        Owned r = log->at(0);
        CHECK(r.outcome == Outcome::miss);
        CHECK_FALSE(r.stored);
        REQUIRE(r.store_error);
        CHECK(*r.store_error == ErrorCode::store_rejected);
        CHECK_FALSE(r.error);
    }
    SECTION("coalesced") {
        const int n = 6;
        f.model->gate = n + 1; // all lookups done before the answer exists
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&] {
                if (!f.cache.invoke(req))
                    ++failures;
            });
        for (auto& t : threads)
            t.join();
        CHECK(failures == 0);
        CHECK(f.model->calls == 1);
        REQUIRE(log->size() == static_cast<std::size_t>(n));
        int misses = 0, coalesced = 0, hits = 0;
        for (std::size_t i = 0; i < log->size(); ++i) {
            Owned r = log->at(i);
            CHECK(r.key == key);
            if (r.outcome == Outcome::miss) {
                ++misses;
                CHECK(r.stored);
                CHECK(r.backend_latency > 0ns);
            } else if (r.outcome == Outcome::coalesced) {
                ++coalesced;
                CHECK_FALSE(r.cache_hit);
                CHECK_FALSE(r.stored);
                CHECK(r.backend_latency == 0ns);
                REQUIRE(r.cost_usd);
                CHECK(*r.cost_usd == Approx(call_cost));
                CHECK(r.usage.input_tokens == std::optional<std::uint64_t>(2000));
            } else {
                CHECK(r.outcome == Outcome::hit);
                ++hits;
            }
        }
        CHECK(misses == 1);
        CHECK(coalesced >= 1);
        CHECK(static_cast<std::uint64_t>(coalesced) == f.cache.stats().coalesced);
        CHECK(static_cast<std::uint64_t>(hits) == f.cache.stats().hits);
    }
}

TEST_CASE("observer: an unpriced model has no cost; a priced one does", "[observer]") {
    auto log = std::make_shared<RecordLog>();
    Fixture<> f(recording(log));
    REQUIRE(f.cache.invoke(Request::chat("house-model-7b", "Hello")));
    REQUIRE(f.cache.invoke(Request::chat("claude-haiku-4-5-20251001", "Hello")));
    REQUIRE(log->size() == 2);
    CHECK_FALSE(log->at(0).cost_usd);
    REQUIRE(log->at(1).cost_usd);
    CHECK(*log->at(1).cost_usd == Approx(call_cost));
}

TEST_CASE("observer: an invalid request is reported as an error without a model call", "[observer]") {
    auto log = std::make_shared<RecordLog>();
    Fixture<> f(recording(log));
    Request empty_message = chat("");
    auto r = f.cache.invoke(empty_message);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::invalid_argument);
    REQUIRE(log->size() == 1);
    const Owned rec = log->at(0);
    CHECK(rec.outcome == Outcome::error);
    CHECK_FALSE(rec.cache_hit);
    CHECK_FALSE(rec.stored);
    REQUIRE(rec.error);
    CHECK(*rec.error == ErrorCode::invalid_argument);
    CHECK(rec.key.empty()); // no key is derived for a request that is never looked up
    CHECK(rec.scope == "acme");
    CHECK(f.model->calls == 0);
}

TEST_CASE("observer: JsonLinesObserver writes one valid, escaped JSON line per call", "[observer][json]") {
    std::FILE* file = std::tmpfile();
    REQUIRE(file != nullptr);
    const std::string nasty_scope = std::string("q\"uo\\te\nline\r\t\x01\x1f\x7f end ") + "caf\xc3\xa9 " +
                                    "\xff\xfe bad \xed\xa0\x80 surrogate \xc0\xaf overlong \xe2\x82";
    {
        Fixture<JsonLinesObserver> f(JsonLinesObserver{file});
        const Request req = chat("SECRET-PROMPT-42", nasty_scope);
        REQUIRE(f.cache.invoke(req));                      // miss
        REQUIRE(f.cache.invoke(req));                      // hit
        REQUIRE(f.cache.invoke(chat("SECRET-PROMPT-43"))); // miss, plain scope
        f.model->fail = true;
        REQUIRE_FALSE(f.cache.invoke(chat("SECRET-PROMPT-44"))); // error
    }
    const std::vector<std::string> lines = read_lines(file);
    std::fclose(file);

    REQUIRE(lines.size() == 4);
    for (const std::string& line : lines) {
        INFO(line);
        CHECK(JsonValidator(line).valid());
        CHECK(valid_utf8(line));
        for (unsigned char c : line)
            CHECK(c >= 0x20);
        CHECK(line.find("SECRET") == std::string::npos); // no prompt, system prompt or answer
        CHECK(line.find("llmcache:k1:") != std::string::npos);
    }
    CHECK(lines[0].find("\"cache_hit\":false") != std::string::npos);
    CHECK(lines[1].find("\"cache_hit\":true") != std::string::npos);
    CHECK(lines[1].find("\"outcome\":\"hit\"") != std::string::npos);
    CHECK(lines[2].find("\"cache_hit\":false") != std::string::npos);
    CHECK(lines[3].find("\"cache_hit\":false") != std::string::npos);
    CHECK(lines[3].find("\"error\":\"rate_limited\"") != std::string::npos);
    CHECK(lines[0].find("\"model\":\"claude-haiku-4-5\"") != std::string::npos);
    CHECK(lines[0].find("\"input_tokens\":2000") != std::string::npos);

    // The scope is escaped, not dropped: quotes, backslash and controls as escapes, valid
    // multi-byte characters kept, invalid bytes as U+FFFD.
    const std::string& scoped = lines[0];
    CHECK(scoped.find(R"("scope":"q\"uo\\te\nline\r\t\u0001\u001f\u007f end )") != std::string::npos);
    CHECK(scoped.find("caf\xc3\xa9 ") != std::string::npos);
    CHECK(scoped.find(R"(\ufffd\ufffd bad )") != std::string::npos);
    CHECK(lines[2].find("\"scope\":\"acme\"") != std::string::npos);
}

TEST_CASE("observer: to_json escapes every field that carries caller text", "[observer][json]") {
    const std::string bad = "a\"b\\c\nd\x02\xff";
    CallRecord r;
    r.key = bad;
    r.scope = bad;
    r.model = bad;
    r.cost_usd = 0.5;
    r.error = ErrorCode::bad_response;
    r.store_error = ErrorCode::store_rejected;
    const std::string line = to_json(r);
    INFO(line);
    CHECK(JsonValidator(line).valid());
    CHECK(valid_utf8(line));
    CHECK(line.find("\"cost_usd\":0.5") != std::string::npos);
    CHECK(line.find("\"store_error\":\"store_rejected\"") != std::string::npos);
    CHECK(line.find("\"input_tokens\":null") != std::string::npos);
}

TEST_CASE("observer: NullObserver records nothing and the statistics still count", "[observer]") {
    static_assert(!NullObserver::enabled);
    static_assert(call_observer<NullObserver>);
    auto model = std::make_shared<ModelState>();
    Cache cache{Xxh3Key<>{}, MemoryStore{}, ExactOnly{}, ttl::None{},
                CallableBackend<ObservedModel>{ObservedModel{model}}};
    static_assert(std::is_same_v<std::remove_reference_t<decltype(cache.observer())>, NullObserver>);
    const Request req = chat("Hello");
    REQUIRE(cache.invoke(req));
    REQUIRE(cache.invoke(req)->cache_hit);
    REQUIRE_FALSE(cache.invoke(Request{})); // invalid, still no trouble
    const CacheStats s = cache.stats();
    CHECK(s.hits == 1);
    CHECK(s.misses == 1);
    CHECK(s.backend_calls == 1);
    CHECK(s.dollars_saved == Approx(call_cost));
    CHECK(model->calls == 1);
}
