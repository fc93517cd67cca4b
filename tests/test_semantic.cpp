// The Semantic similarity policy in a Cache over MemoryStore: lexical variants hit and other
// questions miss, exact hits never embed, only the last user text is embedded, partitions and
// scopes never mix, embedder namespaces, expiry and sweeps, invalidation, corrupt records, bad
// embedder output, failing embedders, the hit verifier, two caches sharing one store (as two
// processes would) with their sync interval, stores without ordered indexes, and threads.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace llmcache;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view model_a = "claude-sonnet-4-5";
constexpr std::string_view question = "What is the BM25 ranking algorithm?";
constexpr std::string_view same_words = "what is the BM25 ranking algorithm"; // case and punctuation
constexpr std::string_view reordered = "The BM25 ranking algorithm: what is it?";
constexpr std::string_view other_question = "What is the PageRank algorithm?";

/// A model that answers "answer <n> to <prompt>" and counts its calls.
struct Model {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    Result<Response> operator()(const Request& req) const {
        const int n = ++*calls;
        Response r;
        r.text = "answer " + std::to_string(n) + " to " + std::string(req.last_user_text());
        r.stop_reason = StopReason::end_turn;
        r.model = req.model;
        return r;
    }
};

/// HashingEmbedder that counts its calls and remembers every text it was given.
struct RecordingEmbedder {
    struct Seen {
        std::mutex mutex;
        std::vector<std::string> texts;
        std::atomic<int> calls{0};
    };
    HashingEmbedder inner{};
    std::shared_ptr<Seen> seen = std::make_shared<Seen>();

    const std::string& id() const noexcept { return inner.id(); }
    std::size_t dimensions() const noexcept { return inner.dimensions(); }
    bool embed_into(std::string_view text, std::span<float> out) const {
        ++seen->calls;
        {
            std::lock_guard lock(seen->mutex);
            seen->texts.emplace_back(text);
        }
        return inner.embed_into(text, out);
    }
    int calls() const { return seen->calls.load(); }
};
static_assert(embedder<RecordingEmbedder>);

/// An embedder whose output a test can spoil: each mode is one way an embedder goes wrong.
enum class Fault { none, nan, inf, zeros, unnormalised, fails, throws };
struct FaultyEmbedder {
    struct Control {
        std::atomic<Fault> fault{Fault::none};
        std::atomic<std::size_t> dims{64}; ///< what dimensions() reports
    };
    HashingEmbedder inner{HashingEmbedder::Options{.dimensions = 64}};
    std::shared_ptr<Control> control = std::make_shared<Control>();

    std::string_view id() const noexcept { return "faulty-d64"; }
    std::size_t dimensions() const noexcept { return control->dims.load(); }
    bool embed_into(std::string_view text, std::span<float> out) const {
        const bool ok = inner.embed_into(text, out);
        switch (control->fault.load()) {
        case Fault::none:
            return ok;
        case Fault::nan:
            out[3] = std::numeric_limits<float>::quiet_NaN();
            return true;
        case Fault::inf:
            out[0] = std::numeric_limits<float>::infinity();
            return true;
        case Fault::zeros:
            std::fill(out.begin(), out.end(), 0.0f);
            return true;
        case Fault::unnormalised:
            for (float& x : out)
                x *= 3.0f;
            return true;
        case Fault::fails:
            return false;
        case Fault::throws:
            throw std::runtime_error("embedding service unreachable");
        }
        return ok;
    }
};
static_assert(embedder<FaultyEmbedder>);

/// A MemoryStore seen through the four basic store operations only: no ordered indexes, no
/// batches (like a plain key-value store).
struct PlainStore {
    MemoryStore inner;
    StoreValue get(std::string_view k) noexcept { return inner.get(k); }
    Result<void> put(std::string_view k, std::string_view v,
                     std::optional<std::chrono::milliseconds> t) noexcept {
        return inner.put(k, v, t);
    }
    Result<bool> erase(std::string_view k) noexcept { return inner.erase(k); }
    Result<std::size_t> clear_prefix(std::string_view p) noexcept { return inner.clear_prefix(p); }
};
static_assert(store_policy<PlainStore> && !indexing_store<PlainStore>);

template <class E = HashingEmbedder, class Store = MemoryStore, class Ttl = ttl::None, class V = AcceptAll>
using TestCache = Cache<Xxh3Key<>, Store, Semantic<E, FlatMatcher, V>, Ttl, CallableBackend<Model>>;

/// One cache (one "process") over a store handle it shares with the test.
template <class E = HashingEmbedder, class Store = MemoryStore, class Ttl = ttl::None, class V = AcceptAll>
struct Process {
    explicit Process(Store s = Store{}, E e = E{}, SemanticOptions o = {}, Ttl t = Ttl{}, V v = V{})
        : store(s), cache(Xxh3Key<>{}, s, Semantic<E, FlatMatcher, V>(std::move(e), o, std::move(v)), t,
                          CallableBackend<Model>{model}) {}

    Response ask(const Request& req) {
        auto r = cache.invoke(req);
        REQUIRE(r.has_value());
        return *r;
    }
    Response ask(std::string_view text, std::string scope = {}, std::string_view model_id = model_a) {
        return ask(
            Request::chat(std::string(model_id), std::string(text), "You are terse.", std::move(scope)));
    }
    int calls() const { return model.calls->load(); }
    Semantic<E, FlatMatcher, V>& semantic() { return cache.similarity(); }

    Model model;
    Store store;
    TestCache<E, Store, Ttl, V> cache;
};

Request chat(std::string_view text, std::string scope = {}, std::string_view model_id = model_a) {
    return Request::chat(std::string(model_id), std::string(text), "You are terse.", std::move(scope));
}

} // namespace

TEST_CASE("semantic: a lexical variant hits the stored answer; another question misses", "[semantic]") {
    Process<> p;
    const Response first = p.ask(question);
    CHECK_FALSE(first.cache_hit);
    const Response variant = p.ask(same_words);
    CHECK(variant.cache_hit);
    CHECK(variant.text == first.text);
    const Response moved = p.ask(reordered);
    CHECK(moved.cache_hit);
    CHECK(moved.text == first.text);
    CHECK(p.calls() == 1);
    CHECK(p.cache.stats().semantic_hits == 2);

    const Response other = p.ask(other_question);
    CHECK_FALSE(other.cache_hit);
    CHECK(other.text == "answer 2 to " + std::string(other_question));
    CHECK(p.calls() == 2);
    const SemanticStats s = p.semantic().stats();
    CHECK(s.matches == 2);
    CHECK(s.records_written == 2);
    CHECK(s.partitions == 1);
    CHECK(s.vectors == 2);
}

TEST_CASE("semantic: an exact hit never pays for an embedding", "[semantic]") {
    RecordingEmbedder e;
    Process<RecordingEmbedder> p(MemoryStore{}, e);
    p.ask(question);
    CHECK(e.calls() == 2); // the miss's lookup and the write
    for (int i = 0; i < 5; ++i)
        CHECK(p.ask(question).cache_hit);
    CHECK(e.calls() == 2);
    CHECK(p.ask(same_words).cache_hit); // a semantic hit embeds the query once
    CHECK(e.calls() == 3);
}

TEST_CASE("semantic: only the last user message's text is embedded", "[semantic]") {
    RecordingEmbedder e;
    Process<RecordingEmbedder> p(MemoryStore{}, e);
    Request req = chat("Tell me about the BM25 ranking algorithm.");
    req.system = "You are a search expert. Answer in JSON {\"answer\": ...}.";
    req.messages.insert(req.messages.begin(),
                        {Message{Role::user, "Hello"}, Message{Role::assistant, "Hi!"}});
    req.params.tools_json = R"([{"name":"search"}])";
    p.ask(req);
    std::lock_guard lock(e.seen->mutex);
    REQUIRE(e.seen->texts.size() == 2);
    CHECK(e.seen->texts[0] == "Tell me about the BM25 ranking algorithm.");
    CHECK(e.seen->texts[1] == "Tell me about the BM25 ranking algorithm.");
}

TEST_CASE("semantic: candidates come only from the request's partition", "[semantic][partition]") {
    // top_k = 1: a single index over every partition would return the nearer entry of the other
    // model and so miss the valid one.
    Process<> p(MemoryStore{}, HashingEmbedder{}, SemanticOptions{.top_k = 1});
    const Response for_b = p.ask(reordered, {}, "model-b");
    const Response for_a = p.ask(same_words, {}, model_a); // distance 0 to the query below
    const Response hit = p.ask(question, {}, "model-b");
    CHECK(hit.cache_hit);
    CHECK(hit.text == for_b.text);
    CHECK(hit.text != for_a.text);
    CHECK(p.calls() == 2);

    SECTION("another model, system prompt, parameter or earlier turn is another partition") {
        CHECK_FALSE(p.ask(question, {}, "model-c").cache_hit);
        Request sys = chat(question);
        sys.system = "You are verbose.";
        CHECK_FALSE(p.ask(sys).cache_hit);
        Request temp = chat(question);
        temp.params.temperature = 0.7;
        CHECK_FALSE(p.ask(temp).cache_hit);
        Request turn = chat(question);
        turn.messages.insert(turn.messages.begin(),
                             {Message{Role::user, "Hi"}, Message{Role::assistant, "Hello"}});
        CHECK_FALSE(p.ask(turn).cache_hit);
        CHECK(p.calls() == 6);
        // The same conversation so far does match by its last question.
        Request turn2 = turn;
        turn2.messages.back().content = std::string(same_words);
        CHECK(p.ask(turn2).cache_hit);
        CHECK(p.calls() == 6);
    }
}

TEST_CASE("semantic: scopes never share; clear(scope) removes the scope's semantic records",
          "[semantic][scope]") {
    MemoryStore store;
    Process<> p(store);
    const Response acme = p.ask(question, "acme");
    p.ask(question, "globex");
    CHECK(p.calls() == 2);
    CHECK_FALSE(p.ask(other_question, "acme").cache_hit);
    CHECK(p.calls() == 3);
    CHECK(p.ask(same_words, "acme").text == acme.text);

    // Semantic keys of each scope: a record per entry and the partition index.
    const std::string ns = p.semantic().namespace_prefix();
    CHECK(ns == "llmcache:s1:" + std::string(p.semantic().embedder_id()) + ":");
    auto cleared = p.cache.clear("acme");
    REQUIRE(cleared.has_value());
    CHECK(*cleared == 2); // the two exact entries of acme
    MemoryStore probe = store;
    auto left_acme = probe.clear_prefix(ns + "acme:");
    REQUIRE(left_acme.has_value());
    CHECK(*left_acme == 0);
    CHECK_FALSE(p.ask(same_words, "acme").cache_hit);
    CHECK(p.ask(same_words, "globex").cache_hit);
    CHECK(p.calls() == 4);

    // clear_all covers every semantic key too: they share the key prefix.
    REQUIRE(p.cache.clear_all().has_value());
    CHECK(store.stats().entries == 0);
    CHECK(p.semantic().stats().vectors == 0);
}

TEST_CASE("semantic: a new embedder never matches old vectors; drop_namespace removes them",
          "[semantic][namespace]") {
    MemoryStore store;
    Process<> old_embedder(store);
    const Response first = old_embedder.ask(question);
    const std::string old_id(old_embedder.semantic().embedder_id());

    Process<> new_embedder(store, HashingEmbedder{HashingEmbedder::Options{.seed = 7}},
                           SemanticOptions{.sync_interval = 0ms});
    REQUIRE(new_embedder.semantic().embedder_id() != old_id);
    CHECK(new_embedder.ask(question).text == first.text); // the exact entry is shared
    CHECK_FALSE(new_embedder.ask(same_words).cache_hit);  // the old vectors are not
    CHECK(new_embedder.semantic().stats().records_loaded == 0);
    const std::size_t before = store.stats().entries;

    auto dropped = new_embedder.semantic().drop_namespace(store, old_id);
    REQUIRE(dropped.has_value());
    CHECK(*dropped == 2); // the old record and the old partition index
    CHECK(store.stats().entries == before - 2);
    // The new namespace is untouched: its own entry still matches.
    CHECK(new_embedder.ask("WHAT is the bm25 ranking algorithm").cache_hit);
}

TEST_CASE("semantic: expired entries stop matching; sweeps drop them and trim indexes",
          "[semantic][ttl][slow]") {
    MemoryStore store;
    Process<HashingEmbedder, MemoryStore, ttl::Fixed> p(
        store, HashingEmbedder{}, SemanticOptions{.sweep_interval = 0ms}, ttl::Fixed{300ms});
    p.ask(question);
    CHECK(p.ask(same_words).cache_hit);
    const std::string index = p.semantic().index_key("", Xxh3Key<>{}.partition_for(chat(question)));
    auto members = store.index_range(index, std::numeric_limits<std::int64_t>::min(), 0, 10);
    REQUIRE(members.has_value());
    CHECK(members->size() == 1);

    std::this_thread::sleep_for(400ms);
    // Sweep: the local vector is past its expiry and goes, with its emptied partition.
    CHECK(p.semantic().sweep(store) == 1);
    CHECK(p.semantic().stats().vectors == 0);
    CHECK(p.semantic().stats().partitions == 0);
    // clock_skew (5 s) keeps the member a little longer than the TTL: trimming happens later.
    CHECK(p.semantic().stats().index_trimmed == 0);
    CHECK_FALSE(p.ask(reordered).cache_hit);
    CHECK(p.calls() == 2);
}

TEST_CASE("semantic: index members older than the longest TTL are trimmed by the sweep",
          "[semantic][ttl][slow]") {
    MemoryStore store;
    Process<HashingEmbedder, MemoryStore, ttl::Fixed> p(
        store, HashingEmbedder{}, SemanticOptions{.sweep_interval = 0ms, .clock_skew = 0ms},
        ttl::Fixed{200ms});
    p.ask(question);
    p.ask(other_question);
    const std::string index = p.semantic().index_key("", Xxh3Key<>{}.partition_for(chat(question)));
    std::this_thread::sleep_for(300ms);
    CHECK(p.semantic().sweep(store) == 2);
    CHECK(p.semantic().stats().index_trimmed == 2);
    auto members = store.index_range(index, std::numeric_limits<std::int64_t>::min(), 0, 10);
    REQUIRE(members.has_value());
    CHECK(members->empty());
}

TEST_CASE("semantic: an expired candidate is dropped and the next one answers", "[semantic][ttl][slow]") {
    MemoryStore store;
    Process<> p(store);
    p.ask(reordered); // lives forever
    CallOptions brief;
    brief.ttl = 200ms;
    brief.skip_read = true; // stored even though reordered's entry would answer it
    REQUIRE(p.cache.invoke(chat(question), brief).has_value()); // nearer to same_words, expires
    std::this_thread::sleep_for(300ms);
    const Response r = p.ask(same_words);
    CHECK(r.cache_hit);
    CHECK(r.text == "answer 1 to " + std::string(reordered));
    CHECK(p.semantic().stats().stale_dropped == 1);
}

TEST_CASE("semantic: invalidate removes the entry from the semantic index", "[semantic][invalidate]") {
    MemoryStore store;
    Process<> p(store);
    p.ask(question);
    const Request req = chat(question);
    const std::string partition = Xxh3Key<>{}.partition_for(req);
    const std::string record = p.semantic().record_key("", partition, p.cache.key_for(req));
    REQUIRE(store.get(record)->has_value());

    auto invalidated = p.cache.invalidate(req, "wrong answer");
    REQUIRE(invalidated.has_value());
    CHECK(*invalidated);
    CHECK_FALSE(store.get(record)->has_value());
    auto members = store.index_range(p.semantic().index_key("", partition),
                                     std::numeric_limits<std::int64_t>::min(), 0, 10);
    REQUIRE(members.has_value());
    CHECK(members->empty());
    CHECK(p.semantic().stats().vectors == 0);
    CHECK_FALSE(p.ask(same_words).cache_hit);
    CHECK(p.calls() == 2);
}

TEST_CASE("semantic: an entry evicted behind the index's back is a miss, and is dropped",
          "[semantic][invalidate]") {
    MemoryStore store;
    Process<> writer(store);
    Process<> reader(store, HashingEmbedder{}, SemanticOptions{.sync_interval = 0ms});
    writer.ask(question);
    CHECK(reader.ask(same_words).cache_hit);
    CHECK(reader.semantic().stats().vectors == 1);
    // Another process invalidates: the reader still holds the vector, but its entry is gone.
    REQUIRE(writer.cache.invalidate(chat(question)).has_value());
    CHECK(reader.semantic().stats().vectors == 1);
    CHECK_FALSE(reader.ask(reordered).cache_hit);
    CHECK(reader.calls() == 1);
    CHECK(reader.semantic().stats().stale_dropped == 1);
    CHECK(reader.semantic().stats().vectors == 1); // only its own new entry
}

TEST_CASE("semantic: a corrupted record is ignored and erased", "[semantic][corrupt]") {
    MemoryStore store;
    Process<> writer(store);
    writer.ask(question);
    const Request req = chat(question);
    const std::string partition = Xxh3Key<>{}.partition_for(req);
    const std::string record = writer.semantic().record_key("", partition, writer.cache.key_for(req));
    auto stored = store.get(record);
    REQUIRE(stored.has_value());
    REQUIRE(stored->has_value());

    SECTION("a flipped byte") {
        std::string bad = **stored;
        bad[bad.size() - 7] ^= 0x20;
        REQUIRE(store.put(record, bad, std::nullopt).has_value());
    }
    SECTION("garbage") {
        REQUIRE(store.put(record, "not a record", std::nullopt).has_value());
    }
    SECTION("a valid record copied under another record's key") {
        const Request other = chat(other_question);
        writer.ask(other);
        const std::string other_record =
            writer.semantic().record_key("", partition, writer.cache.key_for(other));
        auto copy = store.get(other_record);
        REQUIRE(copy.has_value());
        REQUIRE(copy->has_value());
        REQUIRE(store.put(record, **copy, std::nullopt).has_value());
    }
    Process<> reader(store);
    CHECK_FALSE(reader.ask(same_words).cache_hit);
    CHECK(reader.semantic().stats().corrupt_records == 1);
    CHECK_FALSE(store.get(record)->has_value());
    CHECK(reader.calls() == 1);
}

TEST_CASE("semantic: invalid embedder output is an invalid_argument error and nothing is stored",
          "[semantic][bad_input]") {
    const Fault fault = GENERATE(Fault::nan, Fault::inf, Fault::zeros, Fault::unnormalised);
    MemoryStore store;
    FaultyEmbedder e;
    Process<FaultyEmbedder> p(store, e);
    e.control->fault = fault;
    const Response r = p.ask(question);
    CHECK_FALSE(r.cache_hit);
    CHECK(p.calls() == 1);
    CHECK(store.stats().entries == 1);        // the exact entry only: no record, no index
    CHECK(p.cache.stats().store_errors == 2); // the lookup's and the write's
    CHECK(p.semantic().stats().invalid_vectors == 2);
    CHECK(p.ask(question).cache_hit); // exact caching is unaffected

    auto direct = p.semantic().remember(chat(other_question), "partition", "key", store, std::nullopt);
    REQUIRE_FALSE(direct.has_value());
    CHECK(direct.error().code == ErrorCode::invalid_argument);
    CHECK(direct.error().message.find("nothing stored") != std::string::npos);
    CHECK(store.stats().entries == 1);
}

TEST_CASE("semantic: dimensions() changing after construction is an error", "[semantic][bad_input]") {
    MemoryStore store;
    FaultyEmbedder e;
    Process<FaultyEmbedder> p(store, e);
    p.ask(question);
    e.control->dims = 65;
    auto found = p.semantic().find(chat(same_words), Xxh3Key<>{}.partition_for(chat(same_words)), store);
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error().code == ErrorCode::invalid_argument);
    CHECK(found.error().message.find("from 64 to 65") != std::string::npos);
    CHECK_FALSE(p.ask(same_words).cache_hit);
    CHECK(p.calls() == 2);
}

TEST_CASE("semantic: a failing embedder fails open", "[semantic][bad_input]") {
    const Fault fault = GENERATE(Fault::fails, Fault::throws);
    MemoryStore store;
    FaultyEmbedder e;
    Process<FaultyEmbedder> p(store, e);
    p.ask(question); // indexed while the embedder works
    e.control->fault = fault;
    const Response miss = p.ask(same_words);
    CHECK_FALSE(miss.cache_hit);
    CHECK(p.calls() == 2);
    CHECK(p.cache.stats().store_errors == 0);
    CHECK(p.semantic().stats().embed_failures == 2); // the lookup and the write
    CHECK(p.semantic().stats().records_written == 1);
    CHECK(p.ask(same_words).cache_hit); // its exact entry was stored
    e.control->fault = Fault::none;
    CHECK(p.ask(reordered).cache_hit); // and the working embedder matches again
}

TEST_CASE("semantic: the verifier sees candidates nearest first and may pass one over",
          "[semantic][verifier]") {
    struct RejectFirst { // rejects the first candidate of each lookup (after clear())
        std::shared_ptr<std::vector<std::string>> asked = std::make_shared<std::vector<std::string>>();
        bool accepts(std::string_view query, std::string_view candidate) {
            asked->push_back(std::string(query) + " | " + std::string(candidate));
            return asked->size() > 1;
        }
    };
    static_assert(hit_verifier<RejectFirst>);
    RejectFirst v;
    Process<HashingEmbedder, MemoryStore, ttl::None, RejectFirst> p(MemoryStore{}, HashingEmbedder{}, {}, {},
                                                                    v);
    p.ask(reordered);
    p.ask(question);
    p.ask(other_question); // beyond the threshold: never a candidate
    v.asked->clear();
    const std::uint64_t rejected_before = p.semantic().stats().verifier_rejections;
    const Response r = p.ask(same_words);
    CHECK(r.cache_hit);
    CHECK(r.text == "answer 1 to " + std::string(reordered));
    const std::string q(same_words);
    CHECK(*v.asked ==
          std::vector<std::string>{q + " | " + std::string(question), q + " | " + std::string(reordered)});
    CHECK(p.semantic().stats().verifier_rejections == rejected_before + 1);
}

TEST_CASE("semantic: two caches sharing a store see each other's entries", "[semantic][shared]") {
    MemoryStore store;
    Process<> a(store);
    Process<> b(store, HashingEmbedder{}, SemanticOptions{.sync_interval = 0ms});
    const Response first = a.ask(question);
    const Response seen = b.ask(same_words);
    CHECK(seen.cache_hit);
    CHECK(seen.text == first.text);
    CHECK(b.calls() == 0);
    CHECK(b.semantic().stats().records_loaded == 1);

    // Written after b loaded the partition: picked up by the next sync (interval 0: every lookup).
    const Response later = a.ask(other_question);
    const Response seen_later = b.ask("what is the pagerank algorithm");
    CHECK(seen_later.cache_hit);
    CHECK(seen_later.text == later.text);
    CHECK(b.semantic().stats().records_synced == 1);
    CHECK(b.calls() == 0);
}

TEST_CASE("semantic: another cache's writes become visible after sync_interval, not before",
          "[semantic][shared][slow]") {
    MemoryStore store;
    Process<> a(store);
    Process<> b(store, HashingEmbedder{}, SemanticOptions{.sync_interval = 500ms});
    CHECK_FALSE(b.cache.lookup(chat(same_words)).has_value()); // b loads the (empty) partition
    const auto loaded = std::chrono::steady_clock::now();
    a.ask(question);
    CHECK_FALSE(b.cache.lookup(chat(same_words)).has_value()); // not synced yet
    CHECK(b.semantic().stats().syncs == 0);
    std::this_thread::sleep_until(loaded + 600ms);
    auto found = b.cache.lookup(chat(same_words));
    REQUIRE(found.has_value());
    CHECK(found->text == "answer 1 to " + std::string(question));
    CHECK(b.semantic().stats().syncs == 1);
    CHECK(b.semantic().stats().records_synced == 1);
}

TEST_CASE("semantic: a large partition loads in pages", "[semantic][shared]") {
    MemoryStore store;
    Process<> a(store);
    const std::vector<std::string> topics = {
        "BM25 ranking",  "PageRank",   "TF-IDF weighting",   "HNSW graphs", "product quantization",
        "Bloom filters", "skip lists", "consistent hashing", "LSM trees",   "Raft consensus"};
    for (const std::string& t : topics)
        a.ask("Explain " + t + " in two sentences.");
    Process<> b(store, HashingEmbedder{}, SemanticOptions{.load_batch = 3});
    const Response r = b.ask("explain lsm trees in two sentences");
    CHECK(r.cache_hit);
    CHECK(r.text == "answer 9 to Explain LSM trees in two sentences.");
    CHECK(b.semantic().stats().records_loaded == topics.size());
}

TEST_CASE("semantic: without ordered indexes the index is process-local", "[semantic][shared]") {
    PlainStore store;
    Process<HashingEmbedder, PlainStore> a(store);
    Process<HashingEmbedder, PlainStore> b(store, HashingEmbedder{}, SemanticOptions{.sync_interval = 0ms});
    const Response first = a.ask(question);
    CHECK(a.ask(same_words).cache_hit);        // its own entries match
    CHECK(b.ask(question).text == first.text); // exact entries are shared
    CHECK_FALSE(b.ask(reordered).cache_hit);   // b cannot list a's vectors
    CHECK(store.inner.stats().entries == 4);   // two entries, two records
    CHECK(a.semantic().stats().records_written == 1);
}

TEST_CASE("semantic: options are checked", "[semantic][options]") {
    CHECK_THROWS_AS(Semantic(HashingEmbedder{}, SemanticOptions{.max_distance = 2.5f}),
                    std::invalid_argument);
    CHECK_THROWS_AS(Semantic(HashingEmbedder{}, SemanticOptions{.max_distance = std::nanf("")}),
                    std::invalid_argument);
    CHECK_THROWS_AS(Semantic(HashingEmbedder{}, SemanticOptions{.top_k = 0}), std::invalid_argument);
    CHECK_THROWS_AS(Semantic(HashingEmbedder{}, SemanticOptions{.sync_interval = -1ms}),
                    std::invalid_argument);
    FaultyEmbedder zero;
    zero.control->dims = 0;
    CHECK_THROWS_AS(Semantic(zero), std::invalid_argument);
    CHECK_NOTHROW(Semantic(HashingEmbedder{}, SemanticOptions{.max_distance = 0.0f}));
}

TEST_CASE("semantic: records round-trip and refuse what is not theirs", "[semantic][record]") {
    HashingEmbedder e(HashingEmbedder::Options{.dimensions = 16});
    const std::vector<float> v = e.embed("hello world");
    const std::string rec = semantic_record::encode("k:r:1", e.id(), "entry", "hello world", 1000, 2000, v);
    auto ok = semantic_record::decode(rec, "k:r:1", e.id(), 16);
    REQUIRE(ok.has_value());
    CHECK(ok->entry_key == "entry");
    CHECK(ok->prompt == "hello world");
    CHECK(ok->created_ms == 1000);
    CHECK(ok->expires_ms == 2000);
    CHECK(ok->vector == v);
    CHECK_FALSE(semantic_record::decode(rec, "k:r:2", e.id(), 16).has_value());
    CHECK_FALSE(semantic_record::decode(rec, "k:r:1", "other-embedder", 16).has_value());
    CHECK_FALSE(semantic_record::decode(rec, "k:r:1", e.id(), 17).has_value());
    for (std::size_t i = 0; i < rec.size(); ++i) {
        std::string bad = rec;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        CHECK_FALSE(semantic_record::decode(bad, "k:r:1", e.id(), 16).has_value());
    }
    CHECK_FALSE(semantic_record::decode(rec.substr(0, rec.size() - 1), "k:r:1", e.id(), 16).has_value());
}

TEST_CASE("semantic: concurrent lookups and writes across threads", "[semantic][threads]") {
    MemoryStore store;
    Process<> p(store);
    const std::vector<std::string> base = {"How do I reset my password?",
                                           "What is the BM25 ranking algorithm?",
                                           "Explain LSM trees in two sentences."};
    const std::vector<std::vector<std::string>> variants = {
        {"how do i reset my password", "HOW DO I RESET MY PASSWORD?!"},
        {"what is the bm25 ranking algorithm", "The BM25 ranking algorithm: what is it?"},
        {"explain lsm trees in two sentences", "EXPLAIN LSM TREES, IN TWO SENTENCES"}};
    std::atomic<bool> wrong{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 30; ++round) {
                const std::size_t topic = static_cast<std::size_t>(round + t) % base.size();
                const std::string& text =
                    round % 3 == 0 ? base[topic] : variants[topic][static_cast<std::size_t>(round) % 2];
                auto r = p.cache.invoke(chat(text));
                // Every answer was given to a text of the asked topic (a hit may be a variant's).
                const std::size_t to = r ? r->text.find(" to ") : std::string::npos;
                const std::string answered = to == std::string::npos ? "" : r->text.substr(to + 4);
                if (answered != base[topic] && answered != variants[topic][0] &&
                    answered != variants[topic][1])
                    wrong = true;
            }
        });
    }
    for (std::thread& th : threads)
        th.join();
    CHECK_FALSE(wrong);
    CHECK(p.calls() >= 3);
    CHECK(p.calls() <= 9); // at most one model call per distinct text
}
