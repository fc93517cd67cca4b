// Ordered indexes (indexing_store) on RedisStore and RedisClusterStore, against a real
// redis-server and a real 3-master cluster: add and re-score, paging through a range, remove,
// trim, a missing index, clear_prefix taking the index key with it, foreign scores and types,
// glob characters in index keys, a dead server (errors, fast, no exception) and, on the cluster,
// an index whose slot moved (MOVED followed like any other command).
#include "catch.hpp"
#include "support/redis_cluster.hpp"
#include "support/redis_test_util.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using llmcache::ErrorCode;
using llmcache::IndexMember;
using llmcache::RedisClusterOptions;
using llmcache::RedisClusterStore;
using llmcache::RedisStore;
using llmcache::RedisStoreOptions;
using llmcache::detail::redis::key_slot;
using llmcache_test::Admin;
using llmcache_test::LogCapture;
using llmcache_test::RedisCluster;
using llmcache_test::RedisServer;
using Clock = std::chrono::steady_clock;

static_assert(llmcache::indexing_store<RedisStore>);
static_assert(llmcache::indexing_store<RedisClusterStore>);

namespace {

RedisCluster& index_cluster() {
    static RedisCluster cluster;
    return cluster;
}

RedisClusterOptions cluster_opts(RedisCluster& c) {
    RedisClusterOptions o;
    o.seeds = {c.seed_url(0), c.seed_url(1)};
    o.command_timeout = 2s;
    o.connect_timeout = 2s;
    o.refresh_min_interval = 50ms;
    return o;
}

std::chrono::milliseconds ms_since(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

/// Every member of `index` with score >= min, read page by page (`page` at a time).
template <class Store>
std::vector<IndexMember> read_all(Store& store, std::string_view index, std::int64_t min, std::size_t page,
                                  std::size_t* pages = nullptr) {
    std::vector<IndexMember> all;
    for (std::size_t offset = 0;; offset += page) {
        auto r = store.index_range(index, min, offset, page);
        REQUIRE(r);
        REQUIRE(r->size() <= page);
        if (pages != nullptr && !r->empty())
            ++*pages;
        all.insert(all.end(), r->begin(), r->end());
        if (r->size() < page)
            return all;
    }
}

/// The members of `model` with score >= min, by (score, member): what a range must return.
std::vector<IndexMember> expected_from(std::vector<IndexMember> model, std::int64_t min) {
    std::erase_if(model, [&](const IndexMember& m) { return m.score < min; });
    std::sort(model.begin(), model.end(), [](const IndexMember& a, const IndexMember& b) {
        return a.score != b.score ? a.score < b.score : a.member < b.member;
    });
    return model;
}

/// The whole indexing_store contract on one index key; `admin` reads the server's own view.
template <class Store>
void exercise_index(Store& store, Admin& admin, const std::string& index) {
    // A missing index is an empty one, for every operation.
    auto none = store.index_range(index, 0, 0, 100);
    REQUIRE(none);
    CHECK(none->empty());
    const std::vector<std::string_view> ghost = {"nobody"};
    auto removed = store.index_remove(index, ghost);
    REQUIRE(removed);
    CHECK(*removed == 0);
    auto trimmed = store.index_trim(index, 1'000'000);
    REQUIRE(trimmed);
    CHECK(*trimmed == 0);

    // Members with binary bytes, equal scores (ordered by member then), negative scores and the
    // largest scores Redis keeps exactly.
    constexpr std::int64_t big = std::int64_t{1} << 53;
    std::vector<IndexMember> model = {{"k-a", 1'700'000'000'000},
                                      {"k-b", 1'700'000'000'000},
                                      {"k-c", 1'700'000'000'005},
                                      {std::string("bin\0\r\n\xff", 7), 42},
                                      {"neg", -17},
                                      {"top", big},
                                      {"bottom", -big},
                                      {"k-d", 1'700'000'000'001},
                                      {"k-e", 7},
                                      {"k-f", 8},
                                      {"k-g", 9}};
    for (const IndexMember& m : model)
        REQUIRE(store.index_add(index, m.member, m.score));
    CHECK(admin.type(index) == "zset");
    CHECK(admin.integer({"ZCARD", index}) == static_cast<long long>(model.size()));
    CHECK(admin.text({"ZSCORE", index, "k-d"}) == "1700000000001");

    // Paging: pages of 3 give the same members, in the same order, as the model.
    std::size_t pages = 0;
    CHECK(read_all(store, index, -big, 3, &pages) == expected_from(model, -big));
    CHECK(pages == (model.size() + 2) / 3);
    CHECK(read_all(store, index, 1'700'000'000'000, 2) == expected_from(model, 1'700'000'000'000));
    CHECK(read_all(store, index, 43, 100) == expected_from(model, 43));
    auto one = store.index_range(index, 0, 1, 1); // the second member scored >= 0
    REQUIRE(one);
    REQUIRE(one->size() == 1);
    CHECK(one->front() == expected_from(model, 0)[1]);
    auto zero = store.index_range(index, -big, 0, 0);
    REQUIRE(zero);
    CHECK(zero->empty());
    auto past = store.index_range(index, -big, 1000, 10);
    REQUIRE(past);
    CHECK(past->empty());

    // Re-scoring moves a member; it is still there once.
    REQUIRE(store.index_add(index, "k-a", 1'700'000'000'009));
    for (IndexMember& m : model)
        if (m.member == "k-a")
            m.score = 1'700'000'000'009;
    CHECK(admin.integer({"ZCARD", index}) == static_cast<long long>(model.size()));
    const auto recent = read_all(store, index, 1'700'000'000'000, 4);
    CHECK(recent == expected_from(model, 1'700'000'000'000));
    REQUIRE(recent.size() >= 2);
    CHECK(recent[recent.size() - 2] == IndexMember{"k-a", 1'700'000'000'009}); // then only "top"

    // A score Redis would round is refused before anything is sent.
    auto too_big = store.index_add(index, "huge", big + 1);
    REQUIRE_FALSE(too_big);
    CHECK(too_big.error().code == ErrorCode::invalid_argument);
    CHECK(admin.text({"ZSCORE", index, "huge"}) == "(nil)");

    // Remove: counts only the members that were there.
    const std::string bin_member = model[3].member; // a copy: `model` changes below
    const std::vector<std::string_view> some = {"k-b", "nobody", "k-e", bin_member};
    removed = store.index_remove(index, some);
    REQUIRE(removed);
    CHECK(*removed == 3);
    std::erase_if(model, [&](const IndexMember& m) {
        return std::find(some.begin(), some.end(), m.member) != some.end();
    });
    CHECK(read_all(store, index, -big, 5) == expected_from(model, -big));
    removed = store.index_remove(index, std::span<const std::string_view>{});
    REQUIRE(removed);
    CHECK(*removed == 0);

    // Trim: everything scored <= max goes, the boundary included.
    trimmed = store.index_trim(index, 8);
    REQUIRE(trimmed);
    const auto below =
        std::count_if(model.begin(), model.end(), [](const IndexMember& m) { return m.score <= 8; });
    CHECK(*trimmed == static_cast<std::size_t>(below));
    CHECK(below == 3); // bottom, neg, k-f
    std::erase_if(model, [](const IndexMember& m) { return m.score <= 8; });
    CHECK(read_all(store, index, -big, 100) == expected_from(model, -big));

    // Trimming everything removes the key itself (Redis drops empty sorted sets).
    trimmed = store.index_trim(index, big);
    REQUIRE(trimmed);
    CHECK(*trimmed == model.size());
    CHECK(admin.integer({"EXISTS", index}) == 0);
}

/// Foreign data under an index key: errors, not crashes, and the connection stays usable.
template <class Store>
void foreign_data(Store& store, Admin& admin, const std::string& index, const std::string& entry_key) {
    REQUIRE(admin.integer({"ZADD", index, "1.5", "fractional", "2", "whole"}) == 2);
    auto r = store.index_range(index, 0, 0, 10);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt_entry);
    CHECK(r.error().message.find("not an integer") != std::string::npos);
    auto from2 = store.index_range(index, 2, 0, 10); // the fractional one is not in this range
    REQUIRE(from2);
    CHECK(*from2 == std::vector<IndexMember>{{"whole", 2}});
    REQUIRE(admin.integer({"ZADD", index, "inf", "endless"}) == 1);
    r = store.index_range(index, 2, 0, 10);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::corrupt_entry);
    // The bad member can still be removed through the store.
    const std::vector<std::string_view> bad = {"fractional", "endless"};
    auto removed = store.index_remove(index, bad);
    REQUIRE(removed);
    CHECK(*removed == 2);
    r = store.index_range(index, 0, 0, 10);
    REQUIRE(r);
    CHECK(r->size() == 1);

    // A string under the index key: WRONGTYPE, a store_rejected error.
    REQUIRE(store.put(entry_key, "a string", std::nullopt));
    auto wrong = store.index_add(entry_key, "m", 1);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == ErrorCode::store_rejected);
    CHECK(store.stats().errors.wrongtype >= 1);
    auto still = store.get(entry_key);
    REQUIRE(still);
    CHECK(still->value_or("") == "a string");
}

} // namespace

TEST_CASE("redis index: add, re-score, paging, remove, trim on RedisStore", "[redis][index]") {
    RedisServer server;
    RedisStore store(llmcache_test::store_options(server));
    Admin admin(server.url());
    exercise_index(store, admin, "llmcache:k1:s:sem:idx:partition-1");
    CHECK(store.stats().errors.total() == 0);
}

TEST_CASE("redis index: non-integer scores and foreign types are errors on RedisStore", "[redis][index]") {
    RedisServer server;
    RedisStore store(llmcache_test::store_options(server));
    Admin admin(server.url());
    foreign_data(store, admin, "llmcache:k1:s:sem:idx:foreign", "llmcache:k1:s:xxh3:0001");
}

TEST_CASE("redis index: clear_prefix removes index keys; glob characters are plain bytes",
          "[redis][index][scan]") {
    RedisServer server;
    RedisStore store(llmcache_test::store_options(server));
    Admin admin(server.url());
    const std::string glob_scope = "llmcache:k1:sc*pe?[x]\\:";
    const std::string twin_scope = "llmcache:k1:scXpeY[x]\\:"; // what the unescaped glob would match
    const std::string glob_index = glob_scope + "sem:idx:p";
    const std::string twin_index = twin_scope + "sem:idx:p";
    REQUIRE(store.index_add(glob_index, "m1", 1));
    REQUIRE(store.index_add(glob_index, "m2", 2));
    REQUIRE(store.index_add(twin_index, "m1", 10));
    REQUIRE(store.put(glob_scope + "xxh3:01", "entry", std::nullopt));
    REQUIRE(store.put(twin_scope + "xxh3:01", "entry", std::nullopt));

    // The two indexes are separate keys.
    auto g = store.index_range(glob_index, 0, 0, 10);
    REQUIRE(g);
    CHECK(*g == std::vector<IndexMember>{{"m1", 1}, {"m2", 2}});
    auto t = store.index_range(twin_index, 0, 0, 10);
    REQUIRE(t);
    CHECK(*t == std::vector<IndexMember>{{"m1", 10}});

    auto cleared = store.clear_prefix(glob_scope);
    REQUIRE(cleared);
    CHECK(*cleared == 2); // the entry and the index
    CHECK(admin.integer({"EXISTS", glob_index}) == 0);
    g = store.index_range(glob_index, 0, 0, 10);
    REQUIRE(g);
    CHECK(g->empty());
    t = store.index_range(twin_index, 0, 0, 10);
    REQUIRE(t);
    CHECK(t->size() == 1);
    CHECK(admin.integer({"EXISTS", twin_scope + "xxh3:01"}) == 1);
}

TEST_CASE("redis index: a dead server makes every index operation an error, fast, no exception",
          "[redis][index][faults]") {
    RedisServer server;
    LogCapture log;
    RedisStoreOptions o;
    o.url = server.url();
    o.connect_timeout = 200ms;
    o.command_timeout = 500ms;
    o.circuit.failure_threshold = 3;
    o.circuit.cool_down = 60s; // stays open for the rest of the test
    o.log_sink = log.sink();
    RedisStore store(o);
    const std::string index = "llmcache:k1:s:sem:idx:down";
    REQUIRE(store.index_add(index, "m", 1));
    server.kill9();

    const std::vector<std::string_view> members = {"m"};
    std::vector<ErrorCode> codes;
    for (int round = 0; round < 3; ++round) {
        const auto start = Clock::now();
        auto a = store.index_add(index, "n", 2);
        auto r = store.index_range(index, 0, 0, 10);
        auto m = store.index_remove(index, members);
        auto t = store.index_trim(index, 5);
        CHECK(ms_since(start) < 2000ms); // connect refused, then the open circuit: no waiting
        REQUIRE_FALSE(a);
        REQUIRE_FALSE(r);
        REQUIRE_FALSE(m);
        REQUIRE_FALSE(t);
        for (ErrorCode c : {a.error().code, r.error().code, m.error().code, t.error().code})
            codes.push_back(c);
    }
    for (ErrorCode c : codes)
        CHECK(c == ErrorCode::store_unavailable);
    const auto s = store.stats();
    CHECK(s.errors.connect + s.errors.io >= 3);
    CHECK(s.errors.circuit_open >= 1);
    CHECK(s.circuit == llmcache::RedisCircuitState::open);
    // Logged once per kind and episode, not once per failure.
    CHECK(log.count("[connect;") <= 1);
    CHECK(log.count("[io;") <= 1);
    CHECK(log.count("[connect;") + log.count("[io;") >= 1);
    CHECK(log.count("circuit open") == 1);
    CHECK(log.lines().size() <= 3);
}

TEST_CASE("redis index: the contract on RedisClusterStore, indexes on several masters",
          "[redis][index][cluster]") {
    RedisCluster& cluster = index_cluster();
    RedisClusterStore store(cluster_opts(cluster));
    // Index keys of several partitions land on different masters (no hash tags).
    std::set<std::string> owners;
    for (int p = 0; p < 3 * 8 && owners.size() < 3; ++p) {
        const std::string index = "llmcache:k1:c:sem:idx:p" + std::to_string(p);
        REQUIRE(store.index_add(index, "probe", p));
        owners.insert(*store.node_for_key(index));
    }
    CHECK(owners.size() == 3);
    for (std::size_t n = 0; n < cluster.size(); ++n) {
        std::string index;
        for (int i = 0; index.empty(); ++i)
            if (std::string k = "llmcache:k1:c:sem:idx:full" + std::to_string(i);
                *store.node_for_key(k) == cluster.endpoint(n))
                index = k;
        INFO("index " << index << " on " << cluster.endpoint(n));
        Admin admin(cluster.seed_url(n)); // the owner itself: no redirects for the admin
        exercise_index(store, admin, index);
    }
    CHECK(store.stats().errors.total() == 0);

    // clear_prefix visits every master and takes the index keys with it.
    auto cleared = store.clear_prefix("llmcache:k1:c:sem:idx:p");
    REQUIRE(cleared);
    CHECK(*cleared >= 3);
    for (int p = 0; p < 3; ++p) {
        auto r = store.index_range("llmcache:k1:c:sem:idx:p" + std::to_string(p), 0, 0, 10);
        REQUIRE(r);
        CHECK(r->empty());
    }
}

TEST_CASE("redis index: foreign data on RedisClusterStore", "[redis][index][cluster]") {
    RedisCluster& cluster = index_cluster();
    RedisClusterStore store(cluster_opts(cluster));
    const std::string index = "{ft}llmcache:idx", entry = "{ft}llmcache:entry"; // one slot, one owner
    REQUIRE(store.ping());                                                      // reads the slot map
    REQUIRE(store.node_for_key(index));
    Admin admin(cluster.seed_url(cluster.index_of(*store.node_for_key(index))));
    foreign_data(store, admin, index, entry);
}

TEST_CASE("redis index: an index whose slot moved is followed through MOVED", "[redis][index][cluster]") {
    RedisCluster& cluster = index_cluster();
    RedisClusterStore store(cluster_opts(cluster));
    const std::string index = "llmcache:k1:mv:sem:idx:p";
    REQUIRE(store.index_add(index, "a", 1));
    REQUIRE(store.index_add(index, "b", 2));
    const std::uint16_t slot = key_slot(index);
    const std::string slot_s = std::to_string(slot);
    const std::size_t from = cluster.index_of(*store.node_for_key(index));
    const std::size_t to = (from + 1) % cluster.size();
    Admin src(cluster.seed_url(from)), dst(cluster.seed_url(to));
    const std::string src_id = cluster.node_id(from), dst_id = cluster.node_id(to);
    REQUIRE(dst.text({"CLUSTER", "SETSLOT", slot_s, "IMPORTING", src_id}) == "OK");
    REQUIRE(src.text({"CLUSTER", "SETSLOT", slot_s, "MIGRATING", dst_id}) == "OK");
    REQUIRE(src.text({"MIGRATE", "127.0.0.1", std::to_string(cluster.node(to).port()), "", "0", "5000",
                      "KEYS", index}) == "OK");
    for (std::size_t n = 0; n < cluster.size(); ++n)
        REQUIRE(Admin(cluster.seed_url(n)).text({"CLUSTER", "SETSLOT", slot_s, "NODE", dst_id}) == "OK");
    REQUIRE(*store.node_for_key(index) == cluster.endpoint(from)); // the store's map is stale

    const auto moved_before = store.stats().moved;
    auto r = store.index_range(index, 0, 0, 10);
    REQUIRE(r);
    CHECK(*r == std::vector<IndexMember>{{"a", 1}, {"b", 2}});
    CHECK(store.stats().moved == moved_before + 1);
    CHECK(*store.node_for_key(index) == cluster.endpoint(to));
    REQUIRE(store.index_add(index, "c", 3));
    CHECK(dst.integer({"ZCARD", index}) == 3);
    auto t = store.index_trim(index, 2);
    REQUIRE(t);
    CHECK(*t == 2);
    const std::vector<std::string_view> c = {"c"};
    auto m = store.index_remove(index, c);
    REQUIRE(m);
    CHECK(*m == 1);
    CHECK(dst.integer({"EXISTS", index}) == 0);
}

TEST_CASE("redis index: a dead master fails its indexes fast, the others keep serving",
          "[redis][index][cluster][faults]") {
    RedisCluster cluster; // its own: a master dies
    RedisClusterOptions o = cluster_opts(cluster);
    o.connect_timeout = 200ms;
    o.command_timeout = 500ms;
    o.circuit.failure_threshold = 2;
    o.circuit.cool_down = 60s;
    RedisClusterStore store(o);
    std::vector<std::string> index_on(cluster.size());
    std::size_t found = 0;
    for (int i = 0; found < cluster.size(); ++i) {
        const std::string k = "llmcache:k1:d:sem:idx:" + std::to_string(i);
        REQUIRE(store.index_add(k, "m", i));
        std::string& slot = index_on[cluster.index_of(*store.node_for_key(k))];
        if (slot.empty()) {
            slot = k;
            ++found;
        }
    }
    cluster.node(0).kill9();
    const std::vector<std::string_view> members = {"m"};
    for (int round = 0; round < 3; ++round) {
        const auto start = Clock::now();
        auto a = store.index_add(index_on[0], "n", 2);
        auto r = store.index_range(index_on[0], 0, 0, 10);
        auto m = store.index_remove(index_on[0], members);
        auto t = store.index_trim(index_on[0], 5);
        CHECK(ms_since(start) < 3000ms);
        CHECK_FALSE(a);
        CHECK_FALSE(r);
        CHECK_FALSE(m);
        CHECK_FALSE(t);
    }
    for (std::size_t n = 1; n < cluster.size(); ++n) {
        auto r = store.index_range(index_on[n], 0, 0, 10);
        REQUIRE(r);
        CHECK(r->size() == 1);
    }
    CHECK(store.stats().errors.circuit_open >= 1);
}
