// StaticWordEmbeddings: both text formats, validation errors, SIF weighting (Zipf and given
// counts), common-component removal, determinism and ids, on small vector files written here.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <cmath>
#include <concepts>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

using llmcache::StaticWordEmbeddings;

namespace {

using Options = StaticWordEmbeddings::Options;

StaticWordEmbeddings load(const std::string& text, Options options = {}) {
    std::istringstream in(text);
    auto result = StaticWordEmbeddings::from_stream(in, std::move(options));
    INFO((result ? std::string("ok") : result.error().message));
    REQUIRE(result.has_value());
    return std::move(*result);
}

std::string load_error(const std::string& text) {
    std::istringstream in(text);
    const auto result = StaticWordEmbeddings::from_stream(in);
    REQUIRE_FALSE(result.has_value());
    REQUIRE(result.error().code == llmcache::ErrorCode::invalid_argument);
    return result.error().message;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += static_cast<double>(a[i]) * b[i];
    }
    return s;
}

std::vector<float> unit(std::vector<float> v) {
    const double n = std::sqrt(dot(v, v));
    for (float& x : v) {
        x = static_cast<float>(x / n);
    }
    return v;
}

// Four words in 3 dimensions, most frequent first.
const std::string glove = "the 1 0 0\n"
                          "cat 0 1 0\n"
                          "dog 0 0.8 0.6\n"
                          "car 0 0 1\n";

} // namespace

TEST_CASE("StaticWordEmbeddings fits the embedder interface", "[static_words]") {
    const StaticWordEmbeddings e = load(glove);
    STATIC_REQUIRE(requires(const StaticWordEmbeddings& x, std::string_view text, std::span<float> out) {
        { x.id() } -> std::convertible_to<std::string_view>;
        { x.dimensions() } -> std::same_as<std::size_t>;
        { x.embed_into(text, out) } -> std::same_as<bool>;
    });
    REQUIRE(e.dimensions() == 3);
    REQUIRE(e.vocabulary_size() == 4);
    REQUIRE(std::string_view(e.id()).starts_with("static-words-v1-d3-n4-"));
}

TEST_CASE("StaticWordEmbeddings reads GloVe and fastText text formats alike", "[static_words]") {
    const StaticWordEmbeddings plain = load(glove);
    // fastText: a "count dims" header, trailing spaces; also CRLF line ends and a blank line.
    const StaticWordEmbeddings fasttext =
        load("4 3\r\nthe 1 0 0 \r\ncat 0 1 0 \r\n\r\ndog 0 0.8 0.6 \r\ncar 0 0 1 \r\n");
    REQUIRE(fasttext.dimensions() == 3);
    REQUIRE(fasttext.vocabulary_size() == 4);
    for (const char* text : {"cat", "the dog", "a car and a cat", "THE Cat!"}) {
        INFO(text);
        REQUIRE(plain.embed(text) == fasttext.embed(text));
    }
    // Exponents, signs and a leading '+' parse as numbers.
    const StaticWordEmbeddings numbers = load("x -1.5e-1 +2 3E0\n");
    REQUIRE(numbers.embed("x") == unit({-0.15f, 2.0f, 3.0f}));
    // A header line of two integers is a header only on the first line; "2 5" later is a word.
    const StaticWordEmbeddings word_two = load("a 1\n2 5\n");
    REQUIRE(word_two.contains("2"));
    REQUIRE(word_two.dimensions() == 1);
}

TEST_CASE("StaticWordEmbeddings reports malformed input as errors", "[static_words]") {
    REQUIRE_THAT(load_error(""), Catch::Contains("no word vectors"));
    REQUIRE_THAT(load_error("\n\n  \n"), Catch::Contains("no word vectors"));
    REQUIRE_THAT(load_error("2 3\n"), Catch::Contains("no word vectors"));
    REQUIRE_THAT(load_error("the 1 0 0\ncat 0 1\n"),
                 Catch::Contains("line 2") && Catch::Contains("3 values"));
    REQUIRE_THAT(load_error("the 1 0 0\ncat 0 1 0 0\n"), Catch::Contains("line 2"));
    REQUIRE_THAT(load_error("the 1 0 0\ncat 0 one 0\n"),
                 Catch::Contains("line 2: value 2 is not a finite number"));
    REQUIRE_THAT(load_error("the 1 0 nan\n"), Catch::Contains("line 1: value 3"));
    REQUIRE_THAT(load_error("the 1 0 inf\n"), Catch::Contains("line 1: value 3"));
    REQUIRE_THAT(load_error("the 1 0 1e999\n"), Catch::Contains("line 1: value 3"));
    REQUIRE_THAT(load_error("the 1 0 0x1\n"), Catch::Contains("line 1: value 3"));
    REQUIRE_THAT(load_error("lonely\n"), Catch::Contains("line 1: a word without values"));
    REQUIRE_THAT(load_error("3 2\nthe 1 0\ncat 0 1\n"), Catch::Contains("announces 3 words, the file has 2"));
    REQUIRE_THAT(load_error("2 3\nthe 1 0\ncat 0 1\n"),
                 Catch::Contains("line 2") && Catch::Contains("3 values"));
    REQUIRE_THAT(load_error("1 0\nthe\n"), Catch::Contains("0 dimensions"));
    Options bad_a;
    bad_a.sif_a = 0.0;
    std::istringstream in(glove);
    REQUIRE_FALSE(StaticWordEmbeddings::from_stream(in, bad_a).has_value());

    const auto missing = StaticWordEmbeddings::from_file("/nonexistent/llmcache/vectors.txt");
    REQUIRE_FALSE(missing.has_value());
    REQUIRE_THAT(missing.error().message, Catch::Contains("cannot open"));
}

TEST_CASE("StaticWordEmbeddings loads from a file and keeps the first of duplicate words", "[static_words]") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("llmcache_static_words_" + std::to_string(::getpid()) + ".vec");
    {
        std::ofstream out(path, std::ios::binary);
        out << "3 2\nParis 1 0\nparis 0 1\nlyon 0.6 0.8\n";
    }
    const auto result = StaticWordEmbeddings::from_file(path.string());
    std::filesystem::remove(path);
    REQUIRE(result.has_value());
    REQUIRE(result->vocabulary_size() == 2); // "Paris" and "paris" are one word after lower-casing
    REQUIRE(result->embed("PARIS") == std::vector<float>{1.0f, 0.0f});
    // max_words stops early and skips the header's count check.
    Options first_two;
    first_two.max_words = 1;
    std::istringstream in("3 2\nrome 1 0\nparis 0 1\nlyon 0.6 0.8\n");
    const auto truncated = StaticWordEmbeddings::from_stream(in, first_two);
    REQUIRE(truncated.has_value());
    REQUIRE(truncated->vocabulary_size() == 1);
    REQUIRE_FALSE(truncated->contains("paris"));
}

TEST_CASE("StaticWordEmbeddings: unit length, unknown words skipped, no known word is no vector",
          "[static_words]") {
    const StaticWordEmbeddings e = load(glove);
    const auto v = e.embed("the cat and the dog");
    REQUIRE(std::sqrt(dot(v, v)) == Approx(1.0).margin(1e-6));
    REQUIRE(e.embed("cat xyzzy qwerty") == e.embed("cat"));
    REQUIRE(e.embed("  Cat, CAT; cat ") == e.embed("cat"));

    std::vector<float> out(3, 5.0f);
    REQUIRE_FALSE(e.embed_into("xyzzy plugh", out));
    REQUIRE(out == std::vector<float>(3, 0.0f));
    REQUIRE_FALSE(e.embed_into("", out));
    REQUIRE_FALSE(e.embed_into("?!", out));
    std::vector<float> wrong(4);
    REQUIRE_FALSE(e.embed_into("cat", wrong));
    REQUIRE(e.embed_into("cat", out));
    REQUIRE(out == std::vector<float>{0.0f, 1.0f, 0.0f});
    // Bytes >= 0x80 are word bytes, as in HashingEmbedder: "caté" is not "cat".
    REQUIRE_FALSE(e.embed_into("cat\xC3\xA9", out));
}

TEST_CASE("StaticWordEmbeddings: SIF weights make frequent words count less", "[static_words]") {
    // 200 filler words after "the" and before "cat" push "cat" down the Zipf ranks.
    std::string file = "the 1 0\n";
    for (int i = 0; i < 200; ++i) {
        file += "w" + std::to_string(i) + " 0.7 0.7\n";
    }
    file += "cat 0 1\n";
    const StaticWordEmbeddings zipf = load(file);
    REQUIRE(zipf.weight("the") < zipf.weight("w0"));
    REQUIRE(zipf.weight("w0") < zipf.weight("cat"));
    REQUIRE(zipf.weight("unknown") == 0.0f);
    const auto the_cat = zipf.embed("the cat");
    // Unweighted, "the cat" would sit at 45 degrees; with SIF it leans towards "cat".
    INFO("the cat = " << the_cat[0] << ", " << the_cat[1]);
    REQUIRE(the_cat[1] > 2.0f * the_cat[0]);

    // Given counts replace the rank order: now "cat" is the frequent word.
    Options counts;
    counts.word_counts = {{"the", 1.0}, {"cat", 1000.0}};
    const StaticWordEmbeddings counted = load(file, counts);
    REQUIRE(counted.weight("cat") < counted.weight("the"));
    const auto flipped = counted.embed("the cat");
    REQUIRE(flipped[0] > 2.0f * flipped[1]);
    // A word missing from the counts gets the smallest given probability, the same as "the".
    REQUIRE(counted.weight("w5") == counted.weight("the"));

    // A larger a flattens the weights.
    Options flat;
    flat.sif_a = 1.0;
    const StaticWordEmbeddings flat_e = load(file, flat);
    REQUIRE(flat_e.weight("cat") / flat_e.weight("the") < zipf.weight("cat") / zipf.weight("the"));
}

TEST_CASE("StaticWordEmbeddings: removing the common component separates words that share it",
          "[static_words]") {
    // Every word = a large shared direction (x) plus its own small part.
    std::string file;
    const char* words[] = {"alpha", "beta", "gamma", "delta", "kappa", "sigma"};
    for (int i = 0; i < 6; ++i) {
        file += words[i];
        for (int k = 0; k < 7; ++k) {
            file += k == 0 ? " 5" : (k == i + 1 ? " 1" : " 0");
        }
        file += "\n";
    }
    const StaticWordEmbeddings plain = load(file);
    Options remove;
    remove.remove_common_component = true;
    const StaticWordEmbeddings removed = load(file, remove);
    REQUIRE(removed.id() != plain.id());
    const double before = dot(plain.embed("alpha"), plain.embed("beta"));
    const double after = dot(removed.embed("alpha"), removed.embed("beta"));
    INFO("cosine before " << before << ", after " << after);
    REQUIRE(before > 0.9);
    REQUIRE(after < 0.5);
    const auto v = removed.embed("alpha gamma");
    REQUIRE(std::sqrt(dot(v, v)) == Approx(1.0).margin(1e-5));
    REQUIRE(removed.embed("alpha gamma") == load(file, remove).embed("alpha gamma"));
}

TEST_CASE("StaticWordEmbeddings is deterministic and its id names the file and options", "[static_words]") {
    const StaticWordEmbeddings a = load(glove);
    const StaticWordEmbeddings b = load(glove);
    REQUIRE(a.id() == b.id());
    REQUIRE(a.embed("the dog and the car") == b.embed("the dog and the car"));

    std::string changed = glove;
    changed.replace(changed.find("0.8"), 3, "0.7");
    REQUIRE(load(changed).id() != a.id());
    REQUIRE(load("the 1 0 0 0\ncat 0 1 0 0\ndog 0 0.8 0.6 0\ncar 0 0 1 0\n").id() != a.id());
    REQUIRE(load("cat 0 1 0\nthe 1 0 0\ndog 0 0.8 0.6\ncar 0 0 1\n").id() != a.id());
    Options other_a;
    other_a.sif_a = 0.01;
    REQUIRE(load(glove, other_a).id() != a.id());
    Options counts;
    counts.word_counts = {{"cat", 3.0}};
    REQUIRE(load(glove, counts).id() != a.id());
}
