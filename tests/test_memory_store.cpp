// MemoryStore: the store operations, TTLs (expiry, sliding touch, purge), LRU bounds by entries
// and bytes, statistics, shared copies, and concurrent use.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using llmcache::ErrorCode;
using llmcache::MemoryStore;
using llmcache::MemoryStoreOptions;
using llmcache::StoreItem;
using llmcache::StoreValue;
using namespace std::chrono_literals;

namespace {

constexpr std::optional<std::chrono::milliseconds> forever = std::nullopt;

/// The value under `key`, or nullopt on a miss; fails the test on a store error.
std::optional<std::string> value_of(MemoryStore& s, std::string_view key) {
    StoreValue v = s.get(key);
    REQUIRE(v.has_value());
    return *v;
}

bool has(MemoryStore& s, std::string_view key) {
    return value_of(s, key).has_value();
}

void put_ok(MemoryStore& s, std::string_view key, std::string_view value,
            std::optional<std::chrono::milliseconds> ttl = forever) {
    auto r = s.put(key, value, ttl);
    REQUIRE(r.has_value());
}

/// The TTL left on `key`; fails the test when there is none.
std::chrono::milliseconds ttl_left(const MemoryStore& s, std::string_view key) {
    auto r = s.ttl_remaining(key);
    REQUIRE(r.has_value());
    return *r;
}

std::size_t charge(std::string_view key, std::string_view value) {
    return key.size() + value.size() + MemoryStore::per_entry_overhead;
}

MemoryStore one_shard(std::size_t max_entries, std::size_t max_bytes = std::size_t{1} << 30) {
    MemoryStore s(MemoryStoreOptions{max_entries, max_bytes, 1});
    REQUIRE(s.shard_count() == 1);
    return s;
}

} // namespace

TEST_CASE("memory store: get, put, overwrite, erase", "[memory]") {
    MemoryStore s;
    StoreValue miss = s.get("absent");
    REQUIRE(miss.has_value());
    CHECK_FALSE(miss->has_value());

    put_ok(s, "k", "v1");
    CHECK(value_of(s, "k") == "v1");
    put_ok(s, "k", "value two");
    CHECK(value_of(s, "k") == "value two");
    CHECK(s.stats().entries == 1);
    CHECK(s.stats().bytes == charge("k", "value two"));

    // Binary keys and values, and the empty value, are stored as given.
    const std::string bin_key("a\0b", 3), bin_value("\0\xff\0", 3);
    put_ok(s, bin_key, bin_value);
    CHECK(value_of(s, bin_key) == bin_value);
    CHECK_FALSE(has(s, "a"));
    put_ok(s, "empty", "");
    CHECK(value_of(s, "empty") == std::string());

    auto erased = s.erase("k");
    REQUIRE(erased.has_value());
    CHECK(*erased);
    CHECK_FALSE(has(s, "k"));
    auto again = s.erase("k");
    REQUIRE(again.has_value());
    CHECK_FALSE(*again);
    CHECK(s.stats().entries == 2);
    CHECK(s.stats().bytes == charge(bin_key, bin_value) + charge("empty", ""));
}

TEST_CASE("memory store: clear_prefix removes exactly the keys with that prefix", "[memory]") {
    MemoryStore s(MemoryStoreOptions{1000, std::size_t{1} << 20, 4});
    for (std::string k : {"llmcache:k1:a:xxh3:1", "llmcache:k1:a:xxh3:2", "llmcache:k1:a%3Ab:xxh3:1",
                          "llmcache:k1:ab:xxh3:1", "other:k1:a:xxh3:1", "llmcache:k1:a:"})
        put_ok(s, k, "v");
    auto removed = s.clear_prefix("llmcache:k1:a:");
    REQUIRE(removed.has_value());
    CHECK(*removed == 3);
    CHECK_FALSE(has(s, "llmcache:k1:a:xxh3:1"));
    CHECK_FALSE(has(s, "llmcache:k1:a:"));
    CHECK(has(s, "llmcache:k1:a%3Ab:xxh3:1"));
    CHECK(has(s, "llmcache:k1:ab:xxh3:1"));
    CHECK(has(s, "other:k1:a:xxh3:1"));
    CHECK(s.stats().entries == 3);

    auto none = s.clear_prefix("nothing-here");
    REQUIRE(none.has_value());
    CHECK(*none == 0);
    auto all = s.clear_prefix("");
    REQUIRE(all.has_value());
    CHECK(*all == 3);
    CHECK(s.stats().entries == 0);
    CHECK(s.stats().bytes == 0);
}

TEST_CASE("memory store: get_many and put_many", "[memory]") {
    MemoryStore s(MemoryStoreOptions{1000, std::size_t{1} << 20, 4});
    const std::vector<StoreItem> items = {{"a", "1", forever}, {"b", "22", 10min}, {"c", "333", forever}};
    auto written = s.put_many(items);
    REQUIRE(written.has_value());
    CHECK(*written == 3);
    CHECK(s.ttl_remaining("b").has_value());
    CHECK_FALSE(s.ttl_remaining("a").has_value());

    const std::vector<std::string_view> keys = {"c", "missing", "a", "b", "a"};
    auto values = s.get_many(keys);
    REQUIRE(values.size() == keys.size());
    for (const auto& v : values)
        REQUIRE(v.has_value());
    CHECK(*values[0] == "333");
    CHECK_FALSE(values[1]->has_value());
    CHECK(*values[2] == "1");
    CHECK(*values[3] == "22");
    CHECK(*values[4] == "1");
    CHECK(s.get_many({}).empty());

    // A batch stops at the first item the store refuses and reports it.
    MemoryStore small(MemoryStoreOptions{100, 1000, 1});
    const std::string big(2000, 'x');
    const std::vector<StoreItem> mixed = {
        {"ok", "1", forever}, {"big", big, forever}, {"after", "2", forever}};
    auto partial = small.put_many(mixed);
    REQUIRE_FALSE(partial.has_value());
    CHECK(partial.error().code == ErrorCode::too_large);
    CHECK(has(small, "ok"));
    CHECK_FALSE(has(small, "big"));
}

TEST_CASE("memory store: entries expire after their TTL", "[memory][ttl]") {
    MemoryStore s;
    put_ok(s, "short", "v", 40ms);
    put_ok(s, "long", "v", 10min);
    put_ok(s, "never", "v");
    CHECK(has(s, "short"));
    auto remaining = s.ttl_remaining("short");
    REQUIRE(remaining.has_value());
    CHECK(*remaining <= 40ms);
    CHECK(*remaining > 0ms);
    CHECK(ttl_left(s, "long") > 9min);
    CHECK_FALSE(s.ttl_remaining("never").has_value());
    CHECK_FALSE(s.ttl_remaining("absent").has_value());

    std::this_thread::sleep_for(60ms);
    CHECK_FALSE(has(s, "short"));
    CHECK(has(s, "long"));
    CHECK(has(s, "never"));
    const auto stats = s.stats();
    CHECK(stats.entries == 2);
    CHECK(stats.expirations == 1);
    CHECK(stats.evictions == 0);
    CHECK(stats.bytes == charge("long", "v") + charge("never", "v"));

    // Overwriting an expiring entry without a TTL makes it permanent, and vice versa.
    put_ok(s, "long", "v2");
    CHECK_FALSE(s.ttl_remaining("long").has_value());
    put_ok(s, "never", "v2", 20ms);
    CHECK(s.ttl_remaining("never").has_value());
}

TEST_CASE("memory store: ttl_remaining of an expired entry is empty", "[memory][ttl]") {
    MemoryStore s;
    put_ok(s, "k", "v", 20ms);
    std::this_thread::sleep_for(40ms);
    CHECK_FALSE(s.ttl_remaining("k").has_value()); // not a negative duration
    CHECK_FALSE(has(s, "k"));
}

TEST_CASE("memory store: purge_expired removes and counts expired entries", "[memory][ttl]") {
    MemoryStore s(MemoryStoreOptions{1000, std::size_t{1} << 20, 4});
    for (int i = 0; i < 5; ++i)
        put_ok(s, "short" + std::to_string(i), "v", 20ms);
    put_ok(s, "keep1", "v");
    put_ok(s, "keep2", "v", 10min);
    CHECK(s.purge_expired() == 0);
    CHECK(s.stats().entries == 7);
    std::this_thread::sleep_for(40ms);
    CHECK(s.stats().entries == 7); // expired entries stay until touched or purged
    CHECK(s.purge_expired() == 5);
    const auto stats = s.stats();
    CHECK(stats.entries == 2);
    CHECK(stats.expirations == 5);
    CHECK(stats.bytes == charge("keep1", "v") + charge("keep2", "v"));
    CHECK(s.purge_expired() == 0);
    CHECK(has(s, "keep1"));
    CHECK(has(s, "keep2"));
}

TEST_CASE("memory store: get_and_touch restarts the TTL, get does not", "[memory][ttl]") {
    MemoryStore s;
    put_ok(s, "k", "v", 300ms);
    std::this_thread::sleep_for(60ms);
    const auto before = s.ttl_remaining("k");
    REQUIRE(before.has_value());
    CHECK(*before <= 240ms);
    REQUIRE(s.get("k").has_value());
    CHECK(ttl_left(s, "k") <= *before); // a plain get leaves the TTL alone

    auto touched = s.get_and_touch("k", 300ms);
    REQUIRE(touched.has_value());
    REQUIRE(touched->has_value());
    CHECK(**touched == "v");
    const auto after = s.ttl_remaining("k");
    REQUIRE(after.has_value());
    CHECK(*after > *before);
    CHECK(*after <= 300ms);

    // A short touch makes the entry expire sooner; a touch without TTL makes it permanent.
    REQUIRE(s.get_and_touch("k", 30ms).has_value());
    CHECK(ttl_left(s, "k") <= 30ms);
    std::this_thread::sleep_for(50ms);
    auto gone = s.get_and_touch("k", 300ms);
    REQUIRE(gone.has_value());
    CHECK_FALSE(gone->has_value()); // expired before the touch: a touch does not revive it
    CHECK_FALSE(has(s, "k"));

    put_ok(s, "p", "v", 30ms);
    REQUIRE(s.get_and_touch("p", std::nullopt).has_value());
    CHECK_FALSE(s.ttl_remaining("p").has_value());
    std::this_thread::sleep_for(50ms);
    CHECK(has(s, "p"));

    auto miss = s.get_and_touch("absent", 1s);
    REQUIRE(miss.has_value());
    CHECK_FALSE(miss->has_value());
    CHECK_FALSE(has(s, "absent"));
}

TEST_CASE("memory store: LRU eviction by entry count follows recency", "[memory][lru]") {
    MemoryStore s = one_shard(3);
    put_ok(s, "a", "1");
    put_ok(s, "b", "2");
    put_ok(s, "c", "3");
    CHECK(s.stats().evictions == 0);
    REQUIRE(has(s, "a")); // a is now the most recently used; b the least

    put_ok(s, "d", "4");
    CHECK_FALSE(has(s, "b"));
    CHECK(s.stats().entries == 3);
    CHECK(s.stats().evictions == 1);
    // Recency now (most recent first): d, a, c — the has() checks above touched nothing else.
    put_ok(s, "e", "5");
    CHECK_FALSE(has(s, "c"));
    CHECK(has(s, "a"));
    CHECK(has(s, "d"));
    CHECK(has(s, "e"));

    // Overwriting refreshes recency; get_and_touch and get_many do too; ttl_remaining does not.
    // Order now: e, d, a (has() above touched a, d, e in that order).
    put_ok(s, "a", "1b"); // a, e, d
    put_ok(s, "f", "6");  // evicts d
    CHECK_FALSE(has(s, "d"));
    // Order: f, a, e (has(d) missed and changed nothing).
    REQUIRE(s.get_and_touch("e", std::nullopt).has_value()); // e, f, a
    (void)s.ttl_remaining("a");
    put_ok(s, "g", "7"); // evicts a
    CHECK_FALSE(has(s, "a"));
    const std::vector<std::string_view> keys = {"f"};
    (void)s.get_many(keys); // f, g, e
    put_ok(s, "h", "8");    // evicts e
    CHECK_FALSE(has(s, "e"));
    CHECK(has(s, "f"));
    CHECK(has(s, "g"));
    CHECK(has(s, "h"));
    CHECK(s.stats().evictions == 5);
    CHECK(s.stats().entries == 3);
}

TEST_CASE("memory store: byte bound evicts, never exceeds max_bytes, and refuses oversized values",
          "[memory][lru]") {
    const std::string value(100, 'v');
    const std::size_t per = charge("k00", value);
    const std::size_t max_bytes = 10 * per;
    MemoryStore s = one_shard(1000, max_bytes);

    auto key = [](int i) { return "k" + std::string(i < 10 ? "0" : "") + std::to_string(i); };
    for (int i = 0; i < 10; ++i)
        put_ok(s, key(i), value);
    CHECK(s.stats().bytes == max_bytes); // exactly at the limit, nothing evicted
    CHECK(s.stats().entries == 10);
    CHECK(s.stats().evictions == 0);

    put_ok(s, key(10), value);
    CHECK(s.stats().bytes == max_bytes);
    CHECK(s.stats().entries == 10);
    CHECK(s.stats().evictions == 1);
    CHECK_FALSE(has(s, key(0)));

    // A bigger value evicts as many of the oldest as it needs.
    put_ok(s, "big", std::string(3 * per - charge("big", "") + 1, 'b'));
    CHECK(s.stats().bytes <= max_bytes);
    CHECK_FALSE(has(s, key(1)));
    CHECK_FALSE(has(s, key(2)));
    CHECK_FALSE(has(s, key(3)));
    CHECK_FALSE(has(s, key(4)));
    CHECK(has(s, key(5)));

    // Random sizes: the bound holds after every put.
    std::mt19937 rng(7);
    for (int i = 0; i < 500; ++i) {
        put_ok(s, "r" + std::to_string(rng() % 50), std::string(rng() % (3 * per), 'r'));
        REQUIRE(s.stats().bytes <= max_bytes);
    }

    // Too large for the store: refused, and nothing is lost — not even the key's old value.
    MemoryStore t = one_shard(1000, max_bytes);
    put_ok(t, "keep", "old");
    put_ok(t, "other", "x");
    const auto before = t.stats();
    auto refused = t.put("keep", std::string(max_bytes, 'x'), forever);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::too_large);
    CHECK(value_of(t, "keep") == "old");
    CHECK(has(t, "other"));
    CHECK(t.stats().entries == before.entries);
    CHECK(t.stats().bytes == before.bytes);
    CHECK(t.stats().evictions == 0);

    // Exactly the shard limit is accepted (and pushes everything else out).
    put_ok(t, "full", std::string(max_bytes - charge("full", ""), 'f'));
    CHECK(t.stats().bytes == max_bytes);
    CHECK(t.stats().entries == 1);
    CHECK(has(t, "full"));
}

TEST_CASE("memory store: limits are per shard", "[memory][lru]") {
    MemoryStore s(MemoryStoreOptions{1000, 4000, 4});
    REQUIRE(s.shard_count() == 4);
    // 1000 bytes per shard: a 950-byte value fits the store's total but not a shard.
    auto r = s.put("k", std::string(950, 'x'), forever);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::too_large);
    CHECK(s.put("k", std::string(1000 - charge("k", ""), 'x'), forever).has_value());

    CHECK(MemoryStore(MemoryStoreOptions{100'000, 1 << 20, 0}).shard_count() == 64);
    CHECK(MemoryStore(MemoryStoreOptions{10, 1 << 20, 0}).shard_count() == 1);
    CHECK(MemoryStore(MemoryStoreOptions{2048, 1 << 20, 0}).shard_count() == 8);
    CHECK(MemoryStore(MemoryStoreOptions{10, 1 << 20, 3}).shard_count() == 2);
    CHECK(MemoryStore(MemoryStoreOptions{10, 1 << 20, 5000}).shard_count() == 1024);

    // Entry bounds are per shard too: the total never exceeds max_entries.
    MemoryStore e(MemoryStoreOptions{64, std::size_t{1} << 20, 8});
    for (int i = 0; i < 1000; ++i)
        put_ok(e, "key" + std::to_string(i), "v");
    CHECK(e.stats().entries <= 64);
    CHECK(e.stats().entries >= 32); // every shard is used, none beyond its share
    CHECK(e.stats().evictions == 1000 - e.stats().entries);
}

TEST_CASE("memory store: copies share the same storage", "[memory]") {
    MemoryStore a(MemoryStoreOptions{100, std::size_t{1} << 20, 2});
    MemoryStore b = a;
    put_ok(b, "k", "from b");
    CHECK(value_of(a, "k") == "from b");
    put_ok(a, "j", "from a", 10min);
    CHECK(value_of(b, "j") == "from a");
    CHECK(b.ttl_remaining("j").has_value());
    CHECK(a.stats().entries == 2);
    CHECK(b.stats().entries == 2);
    CHECK(b.stats().bytes == a.stats().bytes);

    MemoryStore c(a); // and copies of copies
    REQUIRE(c.clear_prefix("k").has_value());
    CHECK_FALSE(has(a, "k"));
    CHECK_FALSE(has(b, "k"));
    CHECK(c.shard_count() == a.shard_count());

    // An independently constructed store shares nothing.
    MemoryStore d(MemoryStoreOptions{100, std::size_t{1} << 20, 2});
    CHECK_FALSE(has(d, "j"));
}

TEST_CASE("memory store: concurrent mixed use keeps the bounds and the values intact", "[memory][threads]") {
    constexpr std::size_t max_entries = 128;
    constexpr std::size_t max_bytes = 16 * 1024;
    MemoryStore store(MemoryStoreOptions{max_entries, max_bytes, 4});
    constexpr int threads = 8;
    constexpr int ops = 4000;
    std::atomic<int> bad_values{0}, store_errors{0}, bound_violations{0}, too_large{0};

    auto key_of = [](unsigned k) { return "key:" + std::to_string(k); };
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            MemoryStore s = store; // a handle per thread, like a Cache and its inspector
            std::mt19937 rng(1000u + static_cast<unsigned>(t));
            for (int i = 0; i < ops; ++i) {
                const unsigned k = rng() % 400;
                const std::string key = key_of(k);
                switch (rng() % 10) {
                case 0:
                case 1:
                case 2: { // put: the value names its key, so a mixed-up value is detectable
                    std::string value = key + "=" + std::string(rng() % 300, 'v');
                    auto ttl = (rng() % 4 == 0) ? std::optional<std::chrono::milliseconds>(1ms) : forever;
                    auto r = s.put(key, value, ttl);
                    if (!r)
                        ++store_errors;
                    break;
                }
                case 3: {
                    auto r = s.erase(key);
                    if (!r)
                        ++store_errors;
                    break;
                }
                case 4: {
                    auto v = s.get_and_touch(key, 50ms);
                    if (!v)
                        ++store_errors;
                    else if (*v && (*v)->rfind(key + "=", 0) != 0)
                        ++bad_values;
                    break;
                }
                case 5:
                    if (i % 50 == 0)
                        (void)s.purge_expired();
                    else if (i % 97 == 0 && !s.clear_prefix(key_of(k % 10)).has_value())
                        ++store_errors;
                    else {
                        const auto st = s.stats();
                        if (st.entries > max_entries || st.bytes > max_bytes)
                            ++bound_violations;
                    }
                    break;
                case 6: // occasionally a value too large for a shard
                    if (i % 40 == 0 && !s.put(key, std::string(max_bytes, 'x'), forever).has_value())
                        ++too_large;
                    break;
                default: {
                    auto v = s.get(key);
                    if (!v)
                        ++store_errors;
                    else if (*v && (*v)->rfind(key + "=", 0) != 0)
                        ++bad_values;
                    break;
                }
                }
            }
        });
    for (auto& th : pool)
        th.join();

    CHECK(bad_values == 0);
    CHECK(store_errors == 0);
    CHECK(bound_violations == 0);
    CHECK(too_large > 0);
    const auto st = store.stats();
    CHECK(st.entries <= max_entries);
    CHECK(st.bytes <= max_bytes);
    CHECK(st.evictions > 0);

    // The bookkeeping agrees with the content: count and charge what is really there.
    (void)store.purge_expired();
    const auto after_purge = store.stats();
    std::size_t found = 0, bytes = 0;
    for (unsigned k = 0; k < 400; ++k) {
        const std::string key = key_of(k);
        auto v = store.get(key);
        REQUIRE(v.has_value());
        if (*v) {
            ++found;
            bytes += charge(key, **v);
            CHECK((*v)->rfind(key + "=", 0) == 0);
        }
    }
    // Entries with a 50 ms touch may expire between the purge and the scan; none can appear.
    CHECK(found <= after_purge.entries);
    CHECK(bytes <= after_purge.bytes);
    const auto final_stats = store.stats();
    CHECK(final_stats.entries == found);
    CHECK(final_stats.bytes == bytes);
}
