// MemoryStore's ordered indexes (indexing_store, as Redis sorted sets): add and re-score, ranges
// by score with offset and count, remove, trim, prefix clearing, WRONGTYPE, byte accounting and
// eviction, concurrent use.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using llmcache::ErrorCode;
using llmcache::IndexMember;
using llmcache::MemoryStore;
using llmcache::MemoryStoreOptions;

static_assert(llmcache::indexing_store<MemoryStore>);

namespace {

constexpr std::int64_t lowest = std::numeric_limits<std::int64_t>::min();

std::vector<IndexMember> range(MemoryStore& s, std::string_view index, std::int64_t min = lowest,
                               std::size_t offset = 0, std::size_t count = 1000) {
    auto r = s.index_range(index, min, offset, count);
    REQUIRE(r.has_value());
    return *r;
}

void add(MemoryStore& s, std::string_view index, std::string_view member, std::int64_t score) {
    REQUIRE(s.index_add(index, member, score).has_value());
}

std::vector<std::string> members(const std::vector<IndexMember>& v) {
    std::vector<std::string> out;
    for (const IndexMember& m : v)
        out.push_back(m.member);
    return out;
}

} // namespace

TEST_CASE("memory index: members come back by score, then member; re-adding re-scores", "[memory][index]") {
    MemoryStore s;
    CHECK(range(s, "app:i").empty()); // a missing index is an empty one
    add(s, "app:i", "c", 30);
    add(s, "app:i", "b", 10);
    add(s, "app:i", "a", 10);
    add(s, "app:i", "d", -5);
    CHECK(range(s, "app:i") == std::vector<IndexMember>{{"d", -5}, {"a", 10}, {"b", 10}, {"c", 30}});
    add(s, "app:i", "d", 40); // ZADD of an existing member moves it
    CHECK(members(range(s, "app:i")) == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(range(s, "app:i").back().score == 40);
    CHECK(range(s, "app:i", 11) == std::vector<IndexMember>{{"c", 30}, {"d", 40}});
    CHECK(range(s, "app:i", 10, 1, 2) == std::vector<IndexMember>{{"b", 10}, {"c", 30}});
    CHECK(range(s, "app:i", 10, 4, 2).empty());
    CHECK(range(s, "app:i", 10, 0, 0).empty());
    CHECK(range(s, "app:i", 41).empty());
}

TEST_CASE("memory index: remove and trim report how many went; an emptied index is gone", "[memory][index]") {
    MemoryStore s;
    for (int i = 0; i < 10; ++i)
        add(s, "x:i", "m" + std::to_string(i), i * 10);
    const std::string_view gone[] = {"m1", "m3", "nope", "m3"};
    auto removed = s.index_remove("x:i", gone);
    REQUIRE(removed.has_value());
    CHECK(*removed == 2);
    auto trimmed = s.index_trim("x:i", 40); // m0, m2, m4
    REQUIRE(trimmed.has_value());
    CHECK(*trimmed == 3);
    CHECK(members(range(s, "x:i")) == std::vector<std::string>{"m5", "m6", "m7", "m8", "m9"});
    CHECK(s.stats().entries == 1);
    trimmed = s.index_trim("x:i", 1000);
    REQUIRE(trimmed.has_value());
    CHECK(*trimmed == 5);
    CHECK(s.stats().entries == 0);
    CHECK(s.stats().bytes == 0);
    trimmed = s.index_trim("never:i", 1000);
    REQUIRE(trimmed.has_value());
    CHECK(*trimmed == 0);
}

TEST_CASE("memory index: indexes are keys: clear_prefix and erase remove them, values stay apart",
          "[memory][index]") {
    MemoryStore s;
    add(s, "llmcache:s1:e:acme:p:i", "a", 1);
    add(s, "llmcache:s1:e:other:p:i", "a", 1);
    REQUIRE(s.put("llmcache:s1:e:acme:p:r:a", "record", std::nullopt).has_value());
    auto cleared = s.clear_prefix("llmcache:s1:e:acme:");
    REQUIRE(cleared.has_value());
    CHECK(*cleared == 2);
    CHECK(range(s, "llmcache:s1:e:acme:p:i").empty());
    CHECK(range(s, "llmcache:s1:e:other:p:i").size() == 1);
    auto erased = s.erase("llmcache:s1:e:other:p:i");
    REQUIRE(erased.has_value());
    CHECK(*erased);
    CHECK(range(s, "llmcache:s1:e:other:p:i").empty());
}

TEST_CASE("memory index: index and value operations on the wrong kind of key are errors", "[memory][index]") {
    MemoryStore s;
    REQUIRE(s.put("value", "v", std::nullopt).has_value());
    add(s, "index", "m", 1);
    auto a = s.index_add("value", "m", 1);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.error().code == ErrorCode::store_rejected);
    CHECK_FALSE(s.index_range("value", lowest, 0, 10).has_value());
    const std::string_view m[] = {"m"};
    CHECK_FALSE(s.index_remove("value", m).has_value());
    CHECK_FALSE(s.index_trim("value", 5).has_value());
    auto g = s.get("index");
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error().code == ErrorCode::store_rejected);
    REQUIRE(s.put("index", "now a value", std::nullopt).has_value()); // SET replaces a sorted set
    auto v = s.get("index");
    REQUIRE(v.has_value());
    CHECK(*v == std::optional<std::string>("now a value"));
}

TEST_CASE("memory index: members count in the byte budget; an index can be evicted whole",
          "[memory][index]") {
    MemoryStore s(MemoryStoreOptions{100, 4096, 1});
    const std::size_t empty = s.stats().bytes;
    add(s, "i", "abcd", 1);
    CHECK(s.stats().bytes ==
          empty + 1 + MemoryStore::per_entry_overhead + 4 + MemoryStore::per_index_member_overhead);
    add(s, "i", "abcd", 2); // re-scoring costs nothing more
    CHECK(s.stats().bytes ==
          empty + 1 + MemoryStore::per_entry_overhead + 4 + MemoryStore::per_index_member_overhead);
    // An index that would not fit the shard at all is refused, not half-written.
    std::string big(5000, 'x');
    auto r = s.index_add("j", big, 1);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::too_large);
    CHECK(s.stats().entries == 1);
    // Values written later push the (least recently used) index out, as allkeys-lru would.
    for (int i = 0; i < 40; ++i)
        REQUIRE(s.put("v" + std::to_string(i), std::string(100, 'v'), std::nullopt).has_value());
    CHECK(range(s, "i").empty());
    CHECK(s.stats().evictions > 0);
    CHECK(s.stats().bytes <= 4096);
}

TEST_CASE("memory index: copies share indexes; concurrent adds, ranges and removes",
          "[memory][index][threads]") {
    MemoryStore s;
    MemoryStore copy = s;
    constexpr int threads = 4;
    constexpr int per_thread = 500;
    std::vector<std::thread> pool;
    std::atomic<bool> failed{false};
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            MemoryStore& mine = t % 2 == 0 ? s : copy;
            for (int i = 0; i < per_thread; ++i) {
                const std::string member = std::to_string(t) + ":" + std::to_string(i);
                if (!mine.index_add("shared:i", member, i))
                    failed = true;
                if (!mine.index_range("shared:i", i, 0, 10))
                    failed = true;
                if (i % 2 == 1) {
                    const std::string_view one[] = {member};
                    auto r = mine.index_remove("shared:i", one);
                    if (!r || *r != 1)
                        failed = true;
                }
            }
        });
    }
    for (std::thread& th : pool)
        th.join();
    CHECK_FALSE(failed);
    const auto all = range(s, "shared:i", lowest, 0, 100000);
    CHECK(all.size() == threads * per_thread / 2);
    for (std::size_t i = 1; i < all.size(); ++i)
        CHECK((all[i - 1].score < all[i].score ||
               (all[i - 1].score == all[i].score && all[i - 1].member < all[i].member)));
}
