// TieredStore<L1, L2> over two MemoryStores: where each operation goes (an L2 wrapped in a store
// that counts its calls), L1 copies and their TTL cap, the staleness bound, failures of either
// tier, batches, and which optional concepts the composition satisfies.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using llmcache::ErrorCode;
using llmcache::IndexMember;
using llmcache::MemoryStore;
using llmcache::MemoryStoreOptions;
using llmcache::Result;
using llmcache::StoreItem;
using llmcache::StoreValue;
using llmcache::TieredStore;
using llmcache::TieredStoreOptions;
using namespace std::chrono_literals;
using OptMs = std::optional<std::chrono::milliseconds>;

namespace {

/// Calls made to a CountingStore, shared by its copies.
struct Calls {
    std::atomic<int> get{0}, put{0}, erase{0}, clear{0}, touch{0}, get_many{0}, put_many{0}, lease{0},
        index{0};
    std::atomic<bool> down{false}; ///< when set, every operation fails with store_unavailable
};

llmcache::unexpected<llmcache::Error> down_error() {
    return llmcache::fail(ErrorCode::store_unavailable, "counting store: down");
}

/// A MemoryStore that counts every call and can be switched "down". It has every optional member
/// of MemoryStore, so TieredStore<_, CountingStore> has them too.
struct CountingStore {
    MemoryStore inner{};
    std::shared_ptr<Calls> calls = std::make_shared<Calls>();

    static constexpr std::chrono::milliseconds max_ttl = MemoryStore::max_ttl;
    static constexpr bool in_process = true;

    StoreValue get(std::string_view k) noexcept {
        ++calls->get;
        if (calls->down)
            return down_error();
        return inner.get(k);
    }
    Result<void> put(std::string_view k, std::string_view v, OptMs ttl) noexcept {
        ++calls->put;
        if (calls->down)
            return down_error();
        return inner.put(k, v, ttl);
    }
    Result<bool> erase(std::string_view k) noexcept {
        ++calls->erase;
        if (calls->down)
            return down_error();
        return inner.erase(k);
    }
    Result<std::size_t> clear_prefix(std::string_view p) noexcept {
        ++calls->clear;
        if (calls->down)
            return down_error();
        return inner.clear_prefix(p);
    }
    StoreValue get_and_touch(std::string_view k, OptMs ttl) noexcept {
        ++calls->touch;
        if (calls->down)
            return down_error();
        return inner.get_and_touch(k, ttl);
    }
    std::vector<StoreValue> get_many(std::span<const std::string_view> keys) noexcept {
        ++calls->get_many;
        if (calls->down)
            return std::vector<StoreValue>(keys.size(), StoreValue(down_error()));
        return inner.get_many(keys);
    }
    Result<std::size_t> put_many(std::span<const StoreItem> items) noexcept {
        ++calls->put_many;
        if (calls->down)
            return down_error();
        return inner.put_many(items);
    }
    Result<std::optional<std::string>> acquire_lease(std::string_view k,
                                                     std::chrono::milliseconds ttl) noexcept {
        ++calls->lease;
        return inner.acquire_lease(k, ttl);
    }
    Result<void> release_lease(std::string_view k, std::string_view token) noexcept {
        ++calls->lease;
        return inner.release_lease(k, token);
    }
};
static_assert(llmcache::in_process_store<CountingStore>); // so TieredStore<MemoryStore, CountingStore> is too

/// A CountingStore with ordered indexes (a std::map per index key), to see index_* reach L2.
struct IndexingCountingStore : CountingStore {
    struct Indexes {
        std::mutex mu;
        std::map<std::string, std::map<std::string, std::int64_t>> by_key;
    };
    std::shared_ptr<Indexes> idx = std::make_shared<Indexes>();

    Result<void> index_add(std::string_view index, std::string_view member, std::int64_t score) noexcept {
        ++calls->index;
        std::lock_guard lock(idx->mu);
        idx->by_key[std::string(index)][std::string(member)] = score;
        return {};
    }
    Result<std::vector<IndexMember>> index_range(std::string_view index, std::int64_t min, std::size_t offset,
                                                 std::size_t count) noexcept {
        ++calls->index;
        std::lock_guard lock(idx->mu);
        std::vector<IndexMember> all;
        for (const auto& [m, s] : idx->by_key[std::string(index)])
            if (s >= min)
                all.push_back({m, s});
        std::sort(all.begin(), all.end(), [](const IndexMember& a, const IndexMember& b) {
            return a.score != b.score ? a.score < b.score : a.member < b.member;
        });
        std::vector<IndexMember> page;
        for (std::size_t i = offset; i < all.size() && page.size() < count; ++i)
            page.push_back(all[i]);
        return page;
    }
    Result<std::size_t> index_remove(std::string_view index,
                                     std::span<const std::string_view> members) noexcept {
        ++calls->index;
        std::lock_guard lock(idx->mu);
        std::size_t n = 0;
        for (std::string_view m : members)
            n += idx->by_key[std::string(index)].erase(std::string(m));
        return n;
    }
    Result<std::size_t> index_trim(std::string_view index, std::int64_t max) noexcept {
        ++calls->index;
        std::lock_guard lock(idx->mu);
        return static_cast<std::size_t>(
            std::erase_if(idx->by_key[std::string(index)], [&](const auto& e) { return e.second <= max; }));
    }
};

/// Only the four required members, nothing optional (no max_ttl, no in_process).
struct BareStore {
    MemoryStore inner{};
    StoreValue get(std::string_view k) noexcept { return inner.get(k); }
    Result<void> put(std::string_view k, std::string_view v, OptMs ttl) noexcept {
        return inner.put(k, v, ttl);
    }
    Result<bool> erase(std::string_view k) noexcept { return inner.erase(k); }
    Result<std::size_t> clear_prefix(std::string_view p) noexcept { return inner.clear_prefix(p); }
};

/// A store with a short max_ttl, to see the smaller one win.
struct ShortStore : BareStore {
    static constexpr std::chrono::milliseconds max_ttl{5'000};
};

template <class S>
concept has_max_ttl = requires {
    S::max_ttl;
};

using MemTiered = TieredStore<MemoryStore, MemoryStore>;
using CountTiered = TieredStore<MemoryStore, CountingStore>;

// What the composition allows follows its parts.
static_assert(llmcache::store_policy<MemTiered>);
static_assert(llmcache::touching_store<MemTiered> && llmcache::batch_get_store<MemTiered> &&
              llmcache::batch_put_store<MemTiered> && llmcache::leasing_store<MemTiered>);
static_assert(llmcache::in_process_store<MemTiered>);
static_assert(MemTiered::max_ttl == MemoryStore::max_ttl);
static_assert(llmcache::indexing_store<MemTiered> == llmcache::indexing_store<MemoryStore>);
static_assert(llmcache::indexing_store<TieredStore<MemoryStore, IndexingCountingStore>>);
static_assert(!llmcache::indexing_store<TieredStore<IndexingCountingStore, BareStore>>); // L2 only

using Bare = TieredStore<MemoryStore, BareStore>;
static_assert(llmcache::store_policy<Bare>);
static_assert(!llmcache::touching_store<Bare> && !llmcache::batch_get_store<Bare> &&
              !llmcache::batch_put_store<Bare> && !llmcache::leasing_store<Bare> &&
              !llmcache::indexing_store<Bare>);
static_assert(!llmcache::in_process_store<Bare>); // BareStore does not say it is in-process
static_assert(Bare::max_ttl == MemoryStore::max_ttl);
static_assert(!has_max_ttl<TieredStore<BareStore, BareStore>>);
static_assert(TieredStore<ShortStore, MemoryStore>::max_ttl == 5s);
static_assert(TieredStore<MemoryStore, ShortStore>::max_ttl == 5s);
// Touching needs only L2: L1 copies are never touched.
static_assert(llmcache::touching_store<TieredStore<BareStore, MemoryStore>>);

std::optional<std::string> value_of(auto& store, std::string_view key) {
    StoreValue v = store.get(key);
    REQUIRE(v);
    return *v;
}

std::chrono::milliseconds ttl_left(MemoryStore& l1, std::string_view key) {
    auto t = l1.ttl_remaining(key);
    REQUIRE(t);
    return *t;
}

} // namespace

TEST_CASE("tiered: an L1 hit never reaches L2", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2);
    REQUIRE(store.put("k", "v", 10min));
    CHECK(l2.calls->put == 1);
    CHECK(value_of(l2.inner, "k") == "v");
    CHECK(value_of(l1, "k") == "v");
    for (int i = 0; i < 5; ++i)
        CHECK(value_of(store, "k") == "v");
    CHECK(l2.calls->get == 0);
    CHECK(l2.calls->touch == 0);

    // A miss in both asks L2 once per call and puts nothing into L1.
    CHECK_FALSE(value_of(store, "absent"));
    CHECK(l2.calls->get == 1);
    CHECK_FALSE(value_of(l1, "absent"));
}

TEST_CASE("tiered: an L2 hit is copied into L1 for l1_ttl", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2, TieredStoreOptions{.l1_ttl = 30s});
    REQUIRE(l2.inner.put("k", "from-l2", std::nullopt)); // written by another process
    CHECK_FALSE(value_of(l1, "k"));
    CHECK(value_of(store, "k") == "from-l2");
    CHECK(l2.calls->get == 1);
    CHECK(value_of(l1, "k") == "from-l2");
    const auto left = ttl_left(l1, "k");
    CHECK(left <= 30s);
    CHECK(left > 25s);
    CHECK(value_of(store, "k") == "from-l2");
    CHECK(l2.calls->get == 1); // the second read was L1's
}

TEST_CASE("tiered: L1 copies never outlive the entry's TTL or l1_ttl", "[tiered]") {
    MemoryStore l1, l2;
    MemTiered store(l1, l2, TieredStoreOptions{.l1_ttl = 60s});
    REQUIRE(store.put("short", "v", 2s));
    CHECK(ttl_left(l1, "short") <= 2s);
    CHECK(ttl_left(l2, "short") <= 2s);
    REQUIRE(store.put("long", "v", 10min));
    CHECK(ttl_left(l1, "long") <= 60s);
    CHECK(ttl_left(l1, "long") > 50s);
    CHECK(ttl_left(l2, "long") > 9min); // L2 keeps the entry's own TTL
    REQUIRE(store.put("forever", "v", std::nullopt));
    CHECK(ttl_left(l1, "forever") <= 60s);
    CHECK_FALSE(l2.ttl_remaining("forever")); // no TTL in L2

    // Expiry in L1 follows: after the short TTL both tiers miss.
    MemTiered quick(MemoryStore{}, MemoryStore{}, TieredStoreOptions{.l1_ttl = 60s});
    REQUIRE(quick.put("k", "v", 100ms));
    CHECK(value_of(quick, "k") == "v");
    std::this_thread::sleep_for(150ms);
    CHECK_FALSE(value_of(quick, "k"));
    CHECK_FALSE(value_of(quick.l1(), "k"));
}

TEST_CASE("tiered: another process's erase or rewrite is seen within l1_ttl", "[tiered]") {
    MemoryStore shared; // L2, as seen by both "processes"
    MemTiered a(MemoryStore{}, shared, TieredStoreOptions{.l1_ttl = 200ms});
    MemTiered b(MemoryStore{}, shared, TieredStoreOptions{.l1_ttl = 200ms});
    REQUIRE(a.put("k", "v1", 10min));
    CHECK(value_of(b, "k") == "v1"); // b copies it into its L1

    REQUIRE(a.erase("k"));
    CHECK_FALSE(value_of(a, "k"));   // a's own L1 went with it
    CHECK(value_of(b, "k") == "v1"); // b's copy: stale, but within the bound
    std::this_thread::sleep_for(250ms);
    CHECK_FALSE(value_of(b, "k"));

    REQUIRE(a.put("k", "v2", 10min));
    CHECK(value_of(b, "k") == "v2");
    REQUIRE(a.put("k", "v3", 10min));
    CHECK(value_of(a, "k") == "v3");
    CHECK(value_of(b, "k") == "v2");
    std::this_thread::sleep_for(250ms);
    CHECK(value_of(b, "k") == "v3");
}

TEST_CASE("tiered: erase and clear_prefix go to both tiers; L2's answer is reported", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2);
    REQUIRE(store.put("s1:a", "1", std::nullopt));
    REQUIRE(store.put("s1:b", "2", std::nullopt));
    REQUIRE(store.put("s2:a", "3", std::nullopt));

    auto e = store.erase("s1:a");
    REQUIRE(e);
    CHECK(*e);
    CHECK_FALSE(value_of(l1, "s1:a"));
    CHECK_FALSE(value_of(l2.inner, "s1:a"));
    e = store.erase("s1:a");
    REQUIRE(e);
    CHECK_FALSE(*e);

    // Only L1 held it (another process removed it from L2): still reported as removed.
    REQUIRE(l1.put("only-l1", "x", 1min));
    e = store.erase("only-l1");
    REQUIRE(e);
    CHECK(*e);
    CHECK_FALSE(value_of(l1, "only-l1"));

    auto c = store.clear_prefix("s1:");
    REQUIRE(c);
    CHECK(*c == 1); // L2's count; L1's copies are not counted twice
    CHECK_FALSE(value_of(l1, "s1:b"));
    CHECK_FALSE(value_of(l2.inner, "s1:b"));
    CHECK(value_of(store, "s2:a") == "3");

    // L2 down: the error is reported, and L1 is cleared all the same.
    l2.calls->down = true;
    e = store.erase("s2:a");
    REQUIRE_FALSE(e);
    CHECK(e.error().code == ErrorCode::store_unavailable);
    CHECK_FALSE(value_of(l1, "s2:a"));
    REQUIRE(l1.put("s3:x", "y", 1min));
    c = store.clear_prefix("s3:");
    REQUIRE_FALSE(c);
    CHECK_FALSE(value_of(l1, "s3:x"));
}

TEST_CASE("tiered: when L2 is down, L1 answers what it holds and keeps fresh writes", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2);
    REQUIRE(store.put("k", "v", 10min));
    l2.calls->down = true;
    CHECK(value_of(store, "k") == "v"); // from L1
    auto miss = store.get("other");
    REQUIRE_FALSE(miss); // L1 misses, L2's error is the answer
    CHECK(miss.error().code == ErrorCode::store_unavailable);

    // A write while L2 is down fails (the Cache counts it) but this process keeps the answer.
    auto w = store.put("fresh", "answer", 10min);
    REQUIRE_FALSE(w);
    CHECK(w.error().code == ErrorCode::store_unavailable);
    CHECK(value_of(store, "fresh") == "answer");
    l2.calls->down = false;
    CHECK_FALSE(value_of(l2.inner, "fresh"));

    // Refused arguments are not written anywhere.
    auto bad = store.put("neg", "v", -5ms);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == ErrorCode::invalid_argument);
    CHECK_FALSE(value_of(l1, "neg"));
}

TEST_CASE("tiered: a value L1 cannot hold does not leave an older copy behind", "[tiered]") {
    MemoryStore l1(MemoryStoreOptions{.max_entries = 100, .max_bytes = 4096, .shards = 1});
    MemoryStore l2;
    TieredStore<MemoryStore, MemoryStore> store(l1, l2);
    REQUIRE(store.put("k", "small", 10min));
    CHECK(value_of(l1, "k") == "small");
    const std::string big(8192, 'x');
    REQUIRE(store.put("k", big, 10min)); // L2 takes it; L1 refuses it
    CHECK_FALSE(value_of(l1, "k"));
    CHECK(value_of(store, "k") == big);
}

TEST_CASE("tiered: get_and_touch restarts the TTL in L2 on L1 misses only", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2, TieredStoreOptions{.l1_ttl = 200ms});
    REQUIRE(l2.inner.put("k", "v", 1min));
    StoreValue v = store.get_and_touch("k", 10min);
    REQUIRE(v);
    CHECK(v->value_or("") == "v");
    CHECK(l2.calls->touch == 1);
    CHECK(ttl_left(l2.inner, "k") > 9min); // restarted with the new TTL
    CHECK(ttl_left(l1, "k") <= 200ms);

    // L1 hits: L2 untouched, and the L1 copy is not extended.
    const auto before = ttl_left(l1, "k");
    std::this_thread::sleep_for(50ms);
    v = store.get_and_touch("k", 10min);
    REQUIRE(v);
    CHECK(v->value_or("") == "v");
    CHECK(l2.calls->touch == 1);
    CHECK(ttl_left(l1, "k") < before);

    // Once the copy is gone, the next hit touches L2 again.
    std::this_thread::sleep_for(200ms);
    v = store.get_and_touch("k", 10min);
    REQUIRE(v);
    CHECK(l2.calls->touch == 2);
    // A TTL shorter than l1_ttl caps the copy.
    REQUIRE(l1.erase("k"));
    v = store.get_and_touch("k", 50ms);
    REQUIRE(v);
    CHECK(ttl_left(l1, "k") <= 50ms);
}

TEST_CASE("tiered: get_many asks L2 once for L1's misses; put_many fills both", "[tiered]") {
    MemoryStore l1;
    CountingStore l2;
    CountTiered store(l1, l2);
    const std::vector<StoreItem> items = {{"a", "1", 10min}, {"b", "2", 10min}, {"c", "3", std::nullopt}};
    auto w = store.put_many(items);
    REQUIRE(w);
    CHECK(*w == 3);
    CHECK(l2.calls->put_many == 1);
    CHECK(value_of(l1, "c") == "3");
    REQUIRE(l2.inner.put("d", "4", std::nullopt)); // only in L2
    REQUIRE(l1.erase("b"));                        // only in L2 now, too

    const std::vector<std::string_view> keys = {"a", "b", "c", "d", "e"};
    auto got = store.get_many(keys);
    REQUIRE(got.size() == keys.size());
    const std::vector<std::optional<std::string>> want = {"1", "2", "3", "4", std::nullopt};
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO("key " << keys[i]);
        REQUIRE(got[i]);
        CHECK(*got[i] == want[i]);
    }
    CHECK(l2.calls->get_many == 1);
    CHECK(value_of(l1, "b") == "2"); // copied
    CHECK(value_of(l1, "d") == "4");

    // All in L1 now (but "e"): L2 is asked for "e" only.
    got = store.get_many(std::span<const std::string_view>(keys.data(), 4));
    REQUIRE(got.size() == 4);
    CHECK(l2.calls->get_many == 1);

    l2.calls->down = true;
    got = store.get_many(keys);
    REQUIRE(got.size() == keys.size());
    CHECK(got[0]);
    CHECK(got[0]->value_or("") == "1"); // L1 still answers
    REQUIRE_FALSE(got[4]);
    CHECK(got[4].error().code == ErrorCode::store_unavailable);
}

TEST_CASE("tiered: indexes and leases live in L2 only", "[tiered]") {
    MemoryStore l1;
    IndexingCountingStore l2;
    TieredStore<MemoryStore, IndexingCountingStore> store(l1, l2);
    REQUIRE(store.index_add("idx", "m1", 5));
    REQUIRE(store.index_add("idx", "m2", 3));
    auto r = store.index_range("idx", 0, 0, 10);
    REQUIRE(r);
    CHECK(*r == std::vector<IndexMember>{{"m2", 3}, {"m1", 5}});
    const std::vector<std::string_view> gone = {"m2"};
    auto removed = store.index_remove("idx", gone);
    REQUIRE(removed);
    CHECK(*removed == 1);
    auto trimmed = store.index_trim("idx", 5);
    REQUIRE(trimmed);
    CHECK(*trimmed == 1);
    CHECK(l2.calls->index == 5);
    CHECK(l1.stats().entries == 0);

    auto lease = store.acquire_lease("lease:k", 1s);
    REQUIRE(lease);
    REQUIRE(*lease);
    auto second = l2.acquire_lease("lease:k", 1s); // the lease is held in L2
    REQUIRE(second);
    CHECK_FALSE(*second);
    REQUIRE(store.release_lease("lease:k", **lease));
    CHECK(l2.calls->lease == 3);
}

TEST_CASE("tiered: a non-positive l1_ttl, or one past L1's max_ttl, is refused", "[tiered]") {
    using Short = TieredStore<ShortStore, MemoryStore>;
    auto with = [](std::chrono::milliseconds l1_ttl) {
        return Short(ShortStore{}, MemoryStore{}, TieredStoreOptions{.l1_ttl = l1_ttl});
    };
    CHECK_THROWS_AS(with(0ms), std::invalid_argument);
    CHECK_THROWS_AS(with(-1ms), std::invalid_argument);
    CHECK_THROWS_AS(with(6s), std::invalid_argument);
    CHECK_NOTHROW(with(5s));
}

TEST_CASE("tiered: a Cache over two MemoryStores answers from L1, then from L2", "[tiered][cache]") {
    MemoryStore l1, l2;
    std::atomic<int> calls{0};
    auto model = [&](const llmcache::Request& req) {
        ++calls;
        llmcache::Response r;
        r.text = "answer to " + req.messages.back().content;
        r.stop_reason = llmcache::StopReason::end_turn; // a complete answer: the Cache stores it
        return r;
    };
    using Cache = llmcache::Cache<llmcache::Xxh3Key<>, MemTiered, llmcache::ExactOnly, llmcache::ttl::Fixed,
                                  llmcache::CallableBackend<decltype(model)>>;
    Cache cache(llmcache::Xxh3Key<>{}, MemTiered(l1, l2), llmcache::ExactOnly{}, llmcache::ttl::Fixed{10min},
                llmcache::CallableBackend{model});
    const auto req = llmcache::Request::chat("m", "hello");
    auto first = cache.invoke(req);
    REQUIRE(first);
    CHECK_FALSE(first->cache_hit);
    CHECK(l1.stats().entries == 1);
    CHECK(l2.stats().entries == 1);
    REQUIRE(l1.clear_prefix("")); // this process's L1 forgets; L2 still has it
    auto second = cache.invoke(req);
    REQUIRE(second);
    CHECK(second->cache_hit);
    CHECK(second->text == "answer to hello");
    CHECK(calls == 1);
    CHECK(l1.stats().entries == 1); // copied back
}
