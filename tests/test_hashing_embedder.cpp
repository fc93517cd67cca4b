// HashingEmbedder: determinism, unit norm, what it treats as the same text and what as different,
// ids, and bad input (empty, NUL bytes, invalid UTF-8, 10 MB).
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <xxhash.h>

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

using llmcache::HashingEmbedder;

namespace {

double norm(const std::vector<float>& v) {
    double s = 0.0;
    for (const float x : v) {
        s += static_cast<double>(x) * x;
    }
    return std::sqrt(s);
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
    }
    return 1.0 - dot;
}

/// The vector as the header documents it, computed the plain way (features counted in a std::map),
/// independently of the embedder's own counting table: default options, 384 dimensions.
std::vector<float> documented_vector(std::string_view text) {
    const std::uint64_t word_seed = 0x9E3779B97F4A7C15ULL;
    const std::uint64_t bigram_seed = 0xC2B2AE3D27D4EB4FULL;
    const std::uint64_t char_seed = 0x165667B19E3779F9ULL;
    std::map<std::uint64_t, std::pair<int, float>> counts; // hash -> (count, kind weight)
    const auto add = [&](std::uint64_t h, float weight) {
        ++counts[h].first;
        counts[h].second = weight;
    };
    const auto hash = [](std::string_view s, std::uint64_t seed) {
        return XXH3_64bits_withSeed(s.data(), s.size(), seed);
    };
    std::vector<std::string> words;
    std::string current;
    for (const char c : std::string(text) + " ") {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || u >= 0x80) {
            current += static_cast<char>(std::tolower(u));
        } else if (!current.empty()) {
            words.push_back(current);
            current.clear();
        }
    }
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::uint64_t word_hash = hash(words[i], word_seed);
        add(word_hash, 1.0f);
        if (i > 0) {
            add(hash(words[i], bigram_seed ^ hash(words[i - 1], word_seed)), 1.0f);
        }
        const std::string padded = "<" + words[i] + ">";
        for (std::size_t n = 3; n <= 5 && n <= padded.size(); ++n) {
            for (std::size_t start = 0; start + n <= padded.size(); ++start) {
                add(hash(std::string_view(padded).substr(start, n), char_seed + n), 0.5f);
            }
        }
    }
    std::vector<double> sum(384, 0.0);
    for (const auto& [h, entry] : counts) {
        const double weight = entry.second * (1.0 + std::log(static_cast<double>(entry.first)));
        sum[h % 384] += (h >> 63) != 0 ? -weight : weight;
    }
    double n = 0.0;
    for (const double x : sum) {
        n += x * x;
    }
    std::vector<float> out(384);
    for (std::size_t i = 0; i < 384; ++i) {
        out[i] = static_cast<float>(sum[i] / std::sqrt(n));
    }
    return out;
}

} // namespace

TEST_CASE("HashingEmbedder computes the documented vector", "[embed]") {
    const HashingEmbedder e;
    REQUIRE(e.id() == "hashing-v1-d384-c3.5-s0");
    // Short and long texts: the long one has thousands of distinct features (the counting table
    // grows many times) and many repeats (the 1 + ln tf weights).
    std::string long_text;
    for (int i = 0; i < 400; ++i) {
        long_text += "Token" + std::to_string(i % 150) + " repeats, and Ünïcode stays whole; ";
    }
    for (const std::string& text :
         {std::string("What is the BM25 ranking algorithm?"), std::string("a a a a b"), long_text}) {
        CAPTURE(text.substr(0, 60));
        const auto got = e.embed(text);
        const auto want = documented_vector(text);
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            REQUIRE(got[i] == Approx(want[i]).margin(1e-5));
        }
    }
}

TEST_CASE("HashingEmbedder is deterministic and unit-length", "[embed]") {
    const HashingEmbedder e;
    REQUIRE(e.dimensions() == 384);
    const auto a = e.embed("How do I reset my password?");
    const auto b = HashingEmbedder{}.embed("How do I reset my password?");
    REQUIRE(a.size() == 384);
    REQUIRE(a == b);
    REQUIRE(norm(a) == Approx(1.0).margin(1e-5));
    REQUIRE(distance(a, b) == Approx(0.0).margin(1e-6));
    REQUIRE_FALSE(HashingEmbedder::is_zero(a));

    std::vector<float> out(384, 7.0f);
    REQUIRE(e.embed_into("How do I reset my password?", out));
    REQUIRE(out == a);
}

TEST_CASE("HashingEmbedder ignores case, spacing and punctuation", "[embed]") {
    const HashingEmbedder e;
    const auto base = e.embed("What is the capital of France?");
    REQUIRE(distance(base, e.embed("what is the CAPITAL of france")) == Approx(0.0).margin(1e-5));
    REQUIRE(distance(base, e.embed("  What   is the\tcapital of\nFrance ?? ")) == Approx(0.0).margin(1e-5));
}

TEST_CASE("HashingEmbedder: a paraphrase sharing words is nearer than an unrelated text", "[embed]") {
    const HashingEmbedder e;
    const auto q = e.embed("How do I reset my password?");
    const auto paraphrase = e.embed("how can I reset my account password");
    const auto typo = e.embed("How do I reset my pasword?");
    const auto unrelated = e.embed("What is the weather in Paris tomorrow?");
    INFO("paraphrase " << distance(q, paraphrase) << " typo " << distance(q, typo) << " unrelated "
                       << distance(q, unrelated));
    REQUIRE(distance(q, paraphrase) < distance(q, unrelated));
    REQUIRE(distance(q, typo) < distance(q, unrelated));
    REQUIRE(distance(q, typo) < 0.3);
    REQUIRE(distance(q, unrelated) > 0.7);
    // Word order changes bigrams only: still close.
    REQUIRE(distance(e.embed("password reset how do I"), q) < 0.3);
}

TEST_CASE("HashingEmbedder keeps digits: '2' and 'two' differ", "[embed]") {
    const HashingEmbedder e;
    REQUIRE(e.embed("2") != e.embed("two"));
    REQUIRE(distance(e.embed("2"), e.embed("two")) > 0.5);
    REQUIRE(distance(e.embed("add 2 apples"), e.embed("add two apples")) > 0.05);
    REQUIRE(distance(e.embed("2"), e.embed("3")) > 0.5);
}

TEST_CASE("HashingEmbedder: texts without tokens give the zero vector", "[embed][bad-input]") {
    const HashingEmbedder e;
    for (const std::string& text :
         {std::string{}, std::string("  \t\n"), std::string("?!.,;"), std::string("\0\0\0", 3)}) {
        const auto v = e.embed(text);
        REQUIRE(v.size() == 384);
        REQUIRE(HashingEmbedder::is_zero(v));
        std::vector<float> out(384, 1.0f);
        REQUIRE_FALSE(e.embed_into(text, out));
        REQUIRE(HashingEmbedder::is_zero(out));
    }
    // A span of the wrong size: false, zeroed, nothing written past it.
    std::vector<float> small(10, 1.0f);
    REQUIRE_FALSE(e.embed_into("hello", small));
    REQUIRE(HashingEmbedder::is_zero(small));
}

TEST_CASE("HashingEmbedder: NUL bytes, invalid UTF-8 and UTF-8 text", "[embed][bad-input]") {
    const HashingEmbedder e;
    const std::string with_nul("reset\0password", 14);
    const auto v = e.embed(with_nul);
    REQUIRE(norm(v) == Approx(1.0).margin(1e-5));
    // NUL separates tokens like a space does.
    REQUIRE(distance(v, e.embed("reset password")) == Approx(0.0).margin(1e-5));

    const std::string invalid = "caf\xC3 \xFF\xFE\x80 \xE2\x82 ok";
    const auto w = e.embed(invalid);
    REQUIRE(w == e.embed(invalid));
    REQUIRE(norm(w) == Approx(1.0).margin(1e-5));

    // Non-ASCII bytes are token bytes: "café" is one word, not "caf".
    REQUIRE(distance(e.embed("caf\xC3\xA9"), e.embed("caf")) > 0.1);
}

TEST_CASE("HashingEmbedder: a 10 MB text", "[embed][bad-input]") {
    const HashingEmbedder e;
    std::string big;
    big.reserve(10u << 20);
    std::size_t i = 0;
    while (big.size() < (10u << 20)) {
        big += "word";
        big += std::to_string(i++ % 5000);
        big += (i % 7 == 0) ? '\0' : ' ';
    }
    const auto v = e.embed(big);
    REQUIRE(v.size() == 384);
    REQUIRE(norm(v) == Approx(1.0).margin(1e-4));
    for (const float x : v) {
        REQUIRE(std::isfinite(x));
    }
    // One 10 MB token (no separator at all).
    const std::string one_token(10u << 20, 'a');
    const auto t = e.embed(one_token);
    REQUIRE(norm(t) == Approx(1.0).margin(1e-4));
}

TEST_CASE("HashingEmbedder ids and options", "[embed]") {
    const HashingEmbedder def;
    REQUIRE(def.id() == "hashing-v1-d384-c3.5-s0");
    HashingEmbedder::Options o;
    o.seed = 1;
    const HashingEmbedder seeded(o);
    REQUIRE(seeded.id() != def.id());
    REQUIRE(seeded.embed("reset my password") != def.embed("reset my password"));
    o = {};
    o.dimensions = 1536;
    const HashingEmbedder wide(o);
    REQUIRE(wide.id() == "hashing-v1-d1536-c3.5-s0");
    REQUIRE(wide.embed("reset my password").size() == 1536);
    REQUIRE(norm(wide.embed("reset my password")) == Approx(1.0).margin(1e-5));
    o = {};
    o.char_ngram_min = 2;
    o.char_ngram_max = 4;
    REQUIRE(HashingEmbedder(o).id() == "hashing-v1-d384-c2.4-s0");
    o = {};
    o.char_weight = 0.0f;
    REQUIRE(HashingEmbedder(o).id() != def.id());
    // Invalid options are repaired, not rejected.
    o = {};
    o.dimensions = 0;
    o.char_ngram_min = 0;
    o.char_ngram_max = 0;
    const HashingEmbedder repaired(o);
    REQUIRE(repaired.dimensions() == 384);
    REQUIRE(repaired.options().char_ngram_min == 1);
    REQUIRE(repaired.options().char_ngram_max == 1);
    REQUIRE(norm(repaired.embed("abc")) == Approx(1.0).margin(1e-5));
}

TEST_CASE("HashingEmbedder vectors work with FlatMatcher", "[embed][matcher]") {
    const HashingEmbedder e;
    llmcache::FlatMatcher m(e.dimensions());
    REQUIRE(m.add(1, e.embed("How do I reset my password?")));
    REQUIRE(m.add(2, e.embed("What is the weather in Paris tomorrow?")));
    REQUIRE(m.add(3, e.embed("Convert 2 miles to kilometers")));
    const auto r = m.top_k(e.embed("how do i reset my password"), 3, 0.2f);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].id == 1);
}
