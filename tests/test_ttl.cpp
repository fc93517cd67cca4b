// TTL policies: values, refresh_on_hit, longest(), validation (compile time and run time),
// workload presets, and jitter.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace ttl = llmcache::ttl;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

// ---- compile time: valid values are constant expressions ---------------------------------------
namespace {
constexpr ttl::None none_ttl{};
static_assert(!none_ttl.ttl_for("k") && !none_ttl.longest());
static_assert(!ttl::None::refresh_on_hit);

constexpr ttl::Fixed fixed_5s{5s};
static_assert(fixed_5s.ttl_for("k") == ms{5000});
static_assert(fixed_5s.longest() == ms{5000});
static_assert(fixed_5s.duration() == 5s);
static_assert(!ttl::Fixed::refresh_on_hit);
static_assert(ttl::Fixed{1ms}.duration() == 1ms);
static_assert(ttl::Fixed{ttl::limit}.duration() == ttl::limit);
static_assert(ttl::Fixed{std::chrono::duration<double>{1.5}}.duration() == 1500ms);
static_assert(ttl::Fixed{1500us}.duration() == 1ms); // truncated to whole milliseconds
static_assert(ttl::limit == std::chrono::days{3650});

constexpr ttl::Sliding<> sliding_10m{10min};
static_assert(ttl::Sliding<>::refresh_on_hit);
static_assert(sliding_10m.ttl_for("k") == ms{600'000});
static_assert(sliding_10m.longest() == ms{600'000});
constexpr ttl::Sliding<ttl::Agentic> sliding_agentic{ttl::Agentic{}};
static_assert(sliding_agentic.ttl_for("k") == 10min);

constexpr ttl::Jittered<> jittered{ttl::Fixed{1h}, 0.25};
static_assert(jittered.fraction() == 0.25);
static_assert(*jittered.longest() >= ms{4'500'000} && *jittered.longest() <= ms{4'500'002});
static_assert(!ttl::Jittered<>::refresh_on_hit);
static_assert(ttl::Jittered<ttl::Sliding<>>::refresh_on_hit);

constexpr ttl::StaticFaq faq{};
static_assert(faq.duration() == std::chrono::days{14});
constexpr ttl::ProductQa product{};
static_assert(product.duration() == 12h);
constexpr ttl::DateSensitive dated{};
static_assert(dated.duration() == 3h);
constexpr ttl::Agentic agentic{};
static_assert(agentic.duration() == 10min);
static_assert(ttl::Agentic{5min}.duration() == 5min);
static_assert(ttl::Agentic{15min}.duration() == 15min);
static_assert(ttl::StaticFaq{std::chrono::days{30}}.longest() == std::chrono::days{30});

// Class template argument deduction picks Fixed for a bare duration.
static_assert(std::is_same_v<decltype(ttl::Sliding{5min}), ttl::Sliding<ttl::Fixed>>);

// A constant expression fails when the value is invalid; these helpers make that observable
// without a compile error: they report whether the expression is constant.
template <auto F>
constexpr bool is_constant() {
    return requires {
        typename std::integral_constant<int, (F(), 0)>;
    };
}
static_assert(is_constant<[] { return ttl::Fixed{1s}; }>());
static_assert(!is_constant<[] { return ttl::Fixed{0s}; }>());
static_assert(!is_constant<[] { return ttl::Fixed{-1s}; }>());
static_assert(!is_constant<[] { return ttl::Fixed{std::chrono::days{3651}}; }>());
static_assert(!is_constant<[] { return ttl::Fixed{999us}; }>());
static_assert(is_constant<[] { return ttl::Agentic{10min}; }>());
static_assert(!is_constant<[] { return ttl::Agentic{2h}; }>());
static_assert(!is_constant<[] { return ttl::Agentic{4min}; }>());
static_assert(!is_constant<[] { return ttl::StaticFaq{std::chrono::days{31}}; }>());
static_assert(is_constant<[] { return ttl::Jittered<>{ttl::Fixed{1s}, 0.5}; }>());
static_assert(!is_constant<[] { return ttl::Jittered<>{ttl::Fixed{1s}, 0.6}; }>());
static_assert(!is_constant<[] { return ttl::Jittered<ttl::None>{ttl::None{}, 0.1}; }>());
} // namespace

// ---- run time -------------------------------------------------------------------------------------

TEST_CASE("ttl: None never expires", "[ttl]") {
    ttl::None t;
    CHECK_FALSE(t.ttl_for("any key").has_value());
    CHECK_FALSE(t.longest().has_value());
    CHECK_FALSE(ttl::None::refresh_on_hit);
}

TEST_CASE("ttl: Fixed gives every key the same TTL", "[ttl]") {
    const ttl::Fixed t{90s};
    CHECK(t.ttl_for("a") == ms{90'000});
    CHECK(t.ttl_for("b") == ms{90'000});
    CHECK(t.ttl_for("") == ms{90'000});
    CHECK(t.longest() == ms{90'000});
    CHECK(t.duration() == 90s);
    CHECK(ttl::Fixed{2h}.duration() == ms{7'200'000});
    CHECK(ttl::Fixed{std::chrono::duration<double, std::milli>{2.9}}.duration() == 2ms);
}

TEST_CASE("ttl: Fixed rejects zero, negative, sub-millisecond and over-limit TTLs", "[ttl]") {
    volatile long long zero = 0; // run-time values, so that the checks run at run time
    CHECK_THROWS_AS(ttl::Fixed{std::chrono::seconds{zero}}, std::invalid_argument);
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::seconds{zero}},
                      Catch::Contains("longer than zero") && Catch::Contains("ttl::None"));
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::milliseconds{zero - 1}}, Catch::Contains("longer than zero"));
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::hours{zero - 5}}, Catch::Contains("longer than zero"));
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::microseconds{zero + 999}}, Catch::Contains("one millisecond"));
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::nanoseconds{zero + 1}}, Catch::Contains("one millisecond"));
    CHECK_THROWS_WITH(ttl::Fixed{ttl::limit + 1ms}, Catch::Contains("ttl::limit"));
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::days{3651}}, Catch::Contains("3650 days"));
    CHECK_NOTHROW(ttl::Fixed{ttl::limit});
    CHECK_NOTHROW(ttl::Fixed{std::chrono::microseconds{zero + 1000}});

    // Floating-point durations: infinities and NaN are not TTLs.
    const double inf = std::numeric_limits<double>::infinity();
    CHECK_THROWS_AS(ttl::Fixed{std::chrono::duration<double>{inf}}, std::invalid_argument);
    CHECK_THROWS_AS(ttl::Fixed{std::chrono::duration<double>{-inf}}, std::invalid_argument);
    CHECK_THROWS_WITH(ttl::Fixed{std::chrono::duration<double>{std::nan("")}},
                      Catch::Contains("longer than zero"));
    CHECK_THROWS_WITH(ttl::Agentic{std::chrono::duration<double>{std::nan("")}},
                      Catch::Contains("longer than zero"));
    CHECK_THROWS_AS(ttl::Fixed{std::chrono::duration<double>{-0.0}}, std::invalid_argument);
}

TEST_CASE("ttl: Fixed::make reports invalid TTLs as errors", "[ttl]") {
    auto ok = ttl::Fixed::make(ms{1500});
    REQUIRE(ok.has_value());
    CHECK(ok->duration() == ms{1500});
    CHECK(ok->ttl_for("k") == ms{1500});
    REQUIRE(ttl::Fixed::make(ttl::limit).has_value());

    for (ms bad : {ms{0}, ms{-1}, ms{-86'400'000}, ttl::limit + ms{1}, ms::max(), ms::min()}) {
        INFO("ttl " << bad.count() << " ms");
        auto r = ttl::Fixed::make(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == llmcache::ErrorCode::invalid_argument);
        CHECK_FALSE(r.error().message.empty());
        CHECK(r.error().message.find("llmcache::ttl") != std::string::npos);
    }
    CHECK(ttl::Fixed::make(ms{0}).error().message.find("longer than zero") != std::string::npos);
    CHECK(ttl::Fixed::make(ttl::limit + ms{1}).error().message.find("ttl::limit") != std::string::npos);
}

TEST_CASE("ttl: Sliding wraps a policy and refreshes on hit", "[ttl]") {
    const ttl::Sliding<> s{30min};
    STATIC_REQUIRE(ttl::Sliding<>::refresh_on_hit);
    CHECK(s.ttl_for("a") == ms{1'800'000});
    CHECK(s.longest() == ms{1'800'000});
    const ttl::Sliding<ttl::Fixed> wrapped{ttl::Fixed{2s}};
    CHECK(wrapped.ttl_for("x") == 2s);
    const ttl::Sliding<ttl::ProductQa> preset{ttl::ProductQa{}};
    CHECK(preset.ttl_for("x") == 12h);
    volatile long long zero = 0;
    CHECK_THROWS_AS(ttl::Sliding<>{std::chrono::seconds{zero}}, std::invalid_argument);
    CHECK_THROWS_AS(ttl::Sliding<>{std::chrono::days{zero + 4000}}, std::invalid_argument);
}

TEST_CASE("ttl: workload presets have the documented defaults and ranges", "[ttl][preset]") {
    using std::chrono::days;
    STATIC_REQUIRE(ttl::StaticFaq::default_ttl == days{14});
    STATIC_REQUIRE(ttl::StaticFaq::minimum == days{7});
    STATIC_REQUIRE(ttl::StaticFaq::maximum == days{30});
    STATIC_REQUIRE(ttl::ProductQa::default_ttl == 12h);
    STATIC_REQUIRE(ttl::ProductQa::minimum == 6h);
    STATIC_REQUIRE(ttl::ProductQa::maximum == 24h);
    STATIC_REQUIRE(ttl::DateSensitive::default_ttl == 3h);
    STATIC_REQUIRE(ttl::DateSensitive::minimum == 1h);
    STATIC_REQUIRE(ttl::DateSensitive::maximum == 6h);
    STATIC_REQUIRE(ttl::Agentic::default_ttl == 10min);
    STATIC_REQUIRE(ttl::Agentic::minimum == 5min);
    STATIC_REQUIRE(ttl::Agentic::maximum == 15min);

    CHECK(ttl::StaticFaq{}.ttl_for("k") == days{14});
    CHECK(ttl::ProductQa{}.ttl_for("k") == 12h);
    CHECK(ttl::DateSensitive{}.ttl_for("k") == 3h);
    CHECK(ttl::Agentic{}.ttl_for("k") == 10min);
    CHECK(ttl::Agentic{}.longest() == 10min);
    CHECK_FALSE(ttl::StaticFaq::refresh_on_hit);
    CHECK_FALSE(ttl::Agentic::refresh_on_hit);

    CHECK(ttl::StaticFaq::name == "static_faq");
    CHECK(ttl::ProductQa::name == "product_qa");
    CHECK(ttl::DateSensitive::name == "date_sensitive");
    CHECK(ttl::Agentic::name == "agentic");
}

namespace {
template <class Preset>
void check_preset_range() {
    INFO("preset " << Preset::name);
    volatile long long zero = 0;
    const auto offset = std::chrono::seconds{zero}; // run-time value
    const auto lo = Preset::minimum + offset;
    const auto hi = Preset::maximum + offset;

    CHECK(Preset{lo}.duration() == lo);
    CHECK(Preset{hi}.duration() == hi);
    CHECK(Preset{(lo + hi) / 2}.duration() == (lo + hi) / 2);
    CHECK(Preset{std::chrono::duration_cast<std::chrono::minutes>(hi)}.duration() == hi);

    CHECK_THROWS_AS(Preset{lo - 1s}, std::invalid_argument);
    CHECK_THROWS_AS(Preset{lo - 1ms}, std::invalid_argument);
    CHECK_THROWS_AS(Preset{hi + 1s}, std::invalid_argument);
    CHECK_THROWS_AS(Preset{hi + 1ms}, std::invalid_argument);
    CHECK_THROWS_WITH(Preset{hi + 1s}, Catch::Contains("outside the range") && Catch::Contains("ttl::Fixed"));
    CHECK_THROWS_WITH(Preset{lo / 2}, Catch::Contains("outside the range"));
    CHECK_THROWS_WITH(Preset{offset}, Catch::Contains("longer than zero"));
    CHECK_THROWS_WITH(Preset{offset - 1h}, Catch::Contains("longer than zero"));
    CHECK_THROWS_WITH(Preset{offset + std::chrono::days{4000}}, Catch::Contains("ttl::limit"));
}
} // namespace

TEST_CASE("ttl: presets accept their range and reject everything else at run time", "[ttl][preset]") {
    check_preset_range<ttl::StaticFaq>();
    check_preset_range<ttl::ProductQa>();
    check_preset_range<ttl::DateSensitive>();
    check_preset_range<ttl::Agentic>();
    // Concrete values from the documentation.
    CHECK_THROWS_AS(ttl::Agentic{std::chrono::hours{2}}, std::invalid_argument);
    CHECK_THROWS_AS(ttl::DateSensitive{std::chrono::hours{12}}, std::invalid_argument);
    CHECK_THROWS_AS(ttl::ProductQa{std::chrono::days{2}}, std::invalid_argument);
    CHECK_THROWS_AS(ttl::StaticFaq{std::chrono::days{1}}, std::invalid_argument);
}

TEST_CASE("ttl: Jittered keeps every TTL within +-fraction, per key and deterministically", "[ttl][jitter]") {
    const ms base{3'600'000};
    const double fraction = 0.1;
    const ttl::Jittered<> j{ttl::Fixed{base}, fraction};
    const auto longest = j.longest();
    REQUIRE(longest.has_value());
    CHECK(*longest >= ms{3'960'000});
    CHECK(*longest <= ms{3'960'002});

    std::set<ms::rep> distinct;
    int below = 0, above = 0;
    double sum = 0;
    const ms lo{static_cast<ms::rep>(base.count() * (1 - fraction))};
    const ms hi{static_cast<ms::rep>(base.count() * (1 + fraction))};
    for (int i = 0; i < 1000; ++i) {
        const std::string key = "llmcache:k1:_:xxh3:" + std::to_string(i);
        const auto t = j.ttl_for(key);
        REQUIRE(t.has_value());
        INFO("key " << key << " ttl " << t->count());
        REQUIRE(*t >= lo);
        REQUIRE(*t <= hi);
        REQUIRE(*t <= *longest);
        REQUIRE(j.ttl_for(key) == t);                  // deterministic
        REQUIRE(ttl::Jittered<>(j).ttl_for(key) == t); // and the same in a copy
        distinct.insert(t->count());
        (*t < base ? below : above) += 1;
        sum += static_cast<double>(t->count());
    }
    CHECK(distinct.size() > 100);
    CHECK(below > 300); // both halves of the range are used, roughly evenly
    CHECK(above > 300);
    const double mean = sum / 1000;
    CHECK(std::abs(mean - static_cast<double>(base.count())) < 0.02 * static_cast<double>(base.count()));
    // The outer tenths of the range are reached too: the spread is the whole ±fraction.
    int near_lo = 0, near_hi = 0;
    for (int i = 0; i < 1000; ++i) {
        const auto t = *j.ttl_for("llmcache:k1:_:xxh3:" + std::to_string(i));
        near_lo += t < ms{static_cast<ms::rep>(base.count() * (1 - 0.8 * fraction))};
        near_hi += t > ms{static_cast<ms::rep>(base.count() * (1 + 0.8 * fraction))};
    }
    CHECK(near_lo > 30);
    CHECK(near_hi > 30);

    // A different base TTL scales the same key's jitter.
    const ttl::Jittered<> j2{ttl::Fixed{2 * base}, fraction};
    const auto a = j.ttl_for("some key"), b = j2.ttl_for("some key");
    CHECK(std::abs(static_cast<double>(b->count()) - 2.0 * static_cast<double>(a->count())) <= 2.0);
}

TEST_CASE("ttl: Jittered keeps tiny TTLs positive and wraps sliding policies", "[ttl][jitter]") {
    const ttl::Jittered<> tiny{ttl::Fixed{1ms}, 0.5};
    for (int i = 0; i < 100; ++i) {
        const auto t = tiny.ttl_for(std::to_string(i));
        REQUIRE(t.has_value());
        REQUIRE(*t >= 1ms);
        REQUIRE(*t <= 2ms);
    }
    const ttl::Jittered<ttl::Sliding<>> sliding{ttl::Sliding<>{1min}, 0.2};
    STATIC_REQUIRE(ttl::Jittered<ttl::Sliding<>>::refresh_on_hit);
    const auto t = sliding.ttl_for("k");
    REQUIRE(t.has_value());
    CHECK(*t >= 48s);
    CHECK(*t <= 72s);
    const ttl::Jittered<ttl::Agentic> preset{ttl::Agentic{}, 0.5};
    CHECK(*preset.ttl_for("k") >= 5min);
    CHECK(*preset.ttl_for("k") <= 15min);
}

TEST_CASE("ttl: Jittered rejects bad fractions and never-expiring inner policies", "[ttl][jitter]") {
    volatile double zero = 0.0;
    const ttl::Fixed base{1h};
    CHECK_NOTHROW(ttl::Jittered<>{base, zero + 0.5});
    CHECK_NOTHROW(ttl::Jittered<>{base, zero + 1e-9});
    for (double bad : {0.0, -0.0, -0.1, 0.5000001, 0.6, 1.0, 2.0, std::nan(""),
                       std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
        INFO("fraction " << bad);
        CHECK_THROWS_AS(ttl::Jittered<>(base, zero + bad), std::invalid_argument);
        CHECK_THROWS_WITH(ttl::Jittered<>(base, zero + bad), Catch::Contains("(0, 0.5]"));
    }
    CHECK_THROWS_AS(ttl::Jittered<ttl::None>(ttl::None{}, zero + 0.1), std::invalid_argument);
    CHECK_THROWS_WITH(ttl::Jittered<ttl::None>(ttl::None{}, zero + 0.1), Catch::Contains("never expires"));
}

TEST_CASE("ttl: every shipped policy satisfies ttl_policy", "[ttl]") {
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::None>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::Fixed>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::Sliding<>>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::Jittered<>>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::Jittered<ttl::Sliding<>>>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::StaticFaq>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::ProductQa>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::DateSensitive>);
    STATIC_REQUIRE(llmcache::ttl_policy<ttl::Agentic>);
}
