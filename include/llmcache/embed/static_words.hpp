// StaticWordEmbeddings: a prompt embedded as the SIF-weighted average of pre-trained word vectors
// (GloVe, fastText, word2vec converted to text), read from their common text format.
//
// Unlike HashingEmbedder this knows some meaning: "car" and "automobile" have close vectors, so
// synonym paraphrases land near each other. It is still a bag of words: word order, negation and
// numbers barely move the vector, so "USD to EUR" and "EUR to USD" embed identically. Pair it with
// a FalseHitGuard.
//
// File format: UTF-8 text. An optional header line "<count> <dims>" (fastText's .vec), then one
// line per word: the word and `dims` numbers separated by spaces ("the 0.418 0.24968 ..."), as
// GloVe and fastText publish them. Trailing spaces and CR are ignored, blank lines are skipped.
// Loading validates everything and reports the first problem as an Error (code invalid_argument,
// with the line number): empty input, a line with the wrong number of columns, a value that is not
// a finite number, a header whose count disagrees with the rows. Nothing is thrown.
// Words are looked up lower-cased; a word that appears twice (or twice after lower-casing) keeps
// its first vector, which in frequency-sorted files is the more frequent spelling.
//
// Embedding (Arora, Liang and Ma 2017, "A simple but tough-to-beat baseline for sentence
// embeddings"): each known token w contributes a / (a + p(w)) times its vector; the sum is divided
// by the token count and, optionally, the projection on a common direction is removed; the result
// is L2-normalised. p(w) comes from Options::word_counts when given (a word missing there gets the
// smallest given probability); otherwise it is approximated from the row order, assuming the file
// is sorted by descending frequency as GloVe and fastText files are: Zipf's law,
// p(rank r) = r^-s / sum_k k^-s. The common direction (Options::remove_common_component) is the
// first principal component, uncentred, of the unit vectors of the most frequent words, found by
// power iteration at load time: SIF proper uses a corpus of sentences, which we do not have.
//
// Tokens are those of HashingEmbedder: maximal runs of ASCII letters and digits and bytes >= 0x80,
// ASCII lower-cased. Unknown tokens are skipped; a text with no known token has no vector:
// embed_into() returns false. id() names the file by an XXH3 digest of its lines, the dimensions,
// this version and the options, so a different vector file is a different index namespace.
// Thread safety: immutable after loading; any number of threads may embed concurrently.
#pragma once

#include "../config.hpp"
#include "../detail/transparent_hash.hpp"
#include "../detail/xxhash.hpp"
#include "../error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <istream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

/// How StaticWordEmbeddings weights words (namespace scope so that `Options options = {}` works as a
/// default argument).
struct StaticWordEmbeddingsOptions {
    /// SIF smoothing: a word's weight is a / (a + p(w)). Smaller a down-weights frequent words
    /// more; 1e-3 is the paper's usual value.
    double sif_a = 1e-3;
    /// Zipf exponent s for probabilities from row order (used when word_counts is empty).
    double zipf_exponent = 1.0;
    /// Optional frequency source: (word, count or probability) pairs, normalised to sum to 1.
    std::vector<std::pair<std::string, double>> word_counts;
    /// Remove the projection on the first principal component of the common words' vectors.
    bool remove_common_component = false;
    /// How many of the most frequent words estimate that component.
    std::size_t common_component_words = 2000;
    /// Load at most this many words (0: all); the header's count is then not checked.
    std::size_t max_words = 0;
};

class StaticWordEmbeddings {
public:
    using Options = StaticWordEmbeddingsOptions;

    static constexpr int version = 1;

    /// Reads word vectors from `in` (see the format above).
    [[nodiscard]] static Result<StaticWordEmbeddings> from_stream(std::istream& in,
                                                                  Options options = {}) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
            return load(in, std::move(options));
        } catch (...) {
            return fail(ErrorCode::invalid_argument, "static word vectors: out of memory while loading");
        }
#else
        return load(in, std::move(options));
#endif
    }

    /// Reads word vectors from the file at `path`.
    [[nodiscard]] static Result<StaticWordEmbeddings> from_file(const std::string& path,
                                                                Options options = {}) noexcept {
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                return fail(ErrorCode::invalid_argument, "static word vectors: cannot open '" + path + "'");
            }
            return load(in, std::move(options));
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            return fail(ErrorCode::invalid_argument, "static word vectors: out of memory while loading");
        }
#endif
    }

    /// "static-words-v1-d<dims>-n<words>-<file digest>-<options digest>".
    [[nodiscard]] const std::string& id() const noexcept {
        return id_;
    }
    [[nodiscard]] std::size_t dimensions() const noexcept {
        return dimensions_;
    }
    [[nodiscard]] std::size_t vocabulary_size() const noexcept {
        return weights_.size();
    }
    [[nodiscard]] bool contains(std::string_view word) const {
        return row_of(word) != npos;
    }

    /// The SIF weight a / (a + p(w)) of a (lower-case) word, 0 when it is not in the vocabulary.
    [[nodiscard]] float weight(std::string_view word) const {
        const std::size_t row = row_of(word);
        return row == npos ? 0.0f : weights_[row];
    }

    /// The unit-length embedding of `text`, or all zeros when it has no known word.
    [[nodiscard]] std::vector<float> embed(std::string_view text) const {
        std::vector<float> out(dimensions_);
        (void)embed_into(text, out);
        return out;
    }

    /// Writes the embedding of `text` into `out`. Returns false, leaving `out` all zeros, when no
    /// token of the text is in the vocabulary, or when out.size() != dimensions().
    bool embed_into(std::string_view text, std::span<float> out) const {
        std::fill(out.begin(), out.end(), 0.0f);
        if (out.size() != dimensions_ || dimensions_ == 0) {
            return false;
        }
        std::size_t known = 0;
        std::string token;
        std::size_t i = 0;
        while (i < text.size()) {
            if (!is_token_byte(static_cast<unsigned char>(text[i]))) {
                ++i;
                continue;
            }
            token.clear();
            for (; i < text.size() && is_token_byte(static_cast<unsigned char>(text[i])); ++i) {
                token.push_back(lower(text[i]));
            }
            const std::size_t row = row_of(token);
            if (row == npos) {
                continue;
            }
            ++known;
            const float w = weights_[row];
            const float* v = vectors_.data() + row * dimensions_;
            for (std::size_t k = 0; k < dimensions_; ++k) {
                out[k] += w * v[k];
            }
        }
        if (known == 0) {
            return false;
        }
        const float inv = 1.0f / static_cast<float>(known);
        for (float& x : out) {
            x *= inv;
        }
        if (!common_.empty()) {
            double projection = 0.0;
            for (std::size_t k = 0; k < dimensions_; ++k) {
                projection += static_cast<double>(out[k]) * common_[k];
            }
            for (std::size_t k = 0; k < dimensions_; ++k) {
                out[k] -= static_cast<float>(projection * common_[k]);
            }
        }
        double norm = 0.0;
        for (const float x : out) {
            norm += static_cast<double>(x) * x;
        }
        if (!(norm > 0.0) || !std::isfinite(norm)) {
            std::fill(out.begin(), out.end(), 0.0f);
            return false;
        }
        const float scale = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : out) {
            x *= scale;
        }
        return true;
    }

private:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    StaticWordEmbeddings() = default;

    static bool is_token_byte(unsigned char c) noexcept {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
    }
    static char lower(char c) noexcept {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
    }

    std::size_t row_of(std::string_view word) const {
        const auto it = rows_.find(word);
        return it == rows_.end() ? npos : it->second;
    }

    static std::string hex(std::uint64_t v) {
        char buffer[17];
        std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(v));
        return buffer;
    }

    /// Splits on spaces and tabs, ignoring empty fields (trailing spaces, CR).
    static void split(std::string_view line, std::vector<std::string_view>& fields) {
        fields.clear();
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
                ++i;
            }
            const std::size_t start = i;
            while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
                ++i;
            }
            if (i > start) {
                fields.push_back(line.substr(start, i - start));
            }
        }
    }

    static bool parse_float(std::string_view s, float& value) noexcept {
        const char* first = s.data();
        const char* last = s.data() + s.size();
        if (first != last && *first == '+') {
            ++first;
        }
        const auto [end, ec] = std::from_chars(first, last, value);
        return ec == std::errc{} && end == last && std::isfinite(value);
    }

    static bool parse_count(std::string_view s, std::size_t& value) noexcept {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
        return ec == std::errc{} && end == s.data() + s.size();
    }

    static unexpected<Error> bad_line(std::size_t line, const std::string& what) {
        return fail(ErrorCode::invalid_argument,
                    "static word vectors: line " + std::to_string(line) + ": " + what);
    }

    static Result<StaticWordEmbeddings> load(std::istream& in, Options options) {
        StaticWordEmbeddings e;
        std::string line;
        std::vector<std::string_view> fields;
        std::size_t line_number = 0;
        std::size_t header_count = 0;
        bool has_header = false;
        std::uint64_t digest = 0x5157A71C;
        std::size_t words_read = 0;
        while (std::getline(in, line)) {
            ++line_number;
            digest = XXH3_64bits_withSeed(line.data(), line.size(), digest);
            split(line, fields);
            if (fields.empty()) {
                continue;
            }
            if (e.dimensions_ == 0 && !has_header && words_read == 0 && fields.size() == 2) {
                std::size_t count = 0;
                std::size_t dims = 0;
                if (parse_count(fields[0], count) && parse_count(fields[1], dims)) {
                    if (dims == 0) {
                        return bad_line(line_number, "header gives 0 dimensions");
                    }
                    has_header = true;
                    header_count = count;
                    e.dimensions_ = dims;
                    continue;
                }
            }
            if (e.dimensions_ == 0) {
                if (fields.size() < 2) {
                    return bad_line(line_number, "a word without values");
                }
                e.dimensions_ = fields.size() - 1;
            }
            if (fields.size() != e.dimensions_ + 1) {
                return bad_line(line_number, "expected a word and " + std::to_string(e.dimensions_) +
                                                 " values, found " + std::to_string(fields.size()) +
                                                 " columns");
            }
            if (options.max_words != 0 && words_read == options.max_words) {
                break;
            }
            ++words_read;
            const std::size_t first_value = e.vectors_.size();
            e.vectors_.resize(first_value + e.dimensions_);
            for (std::size_t k = 0; k < e.dimensions_; ++k) {
                if (!parse_float(fields[k + 1], e.vectors_[first_value + k])) {
                    return bad_line(line_number,
                                    "value " + std::to_string(k + 1) + " is not a finite number");
                }
            }
            std::string word(fields[0]);
            std::transform(word.begin(), word.end(), word.begin(), lower);
            if (!e.rows_.emplace(std::move(word), e.weights_.size()).second) {
                e.vectors_.resize(first_value); // a later spelling of a known word: keep the first
                continue;
            }
            e.weights_.push_back(0.0f);
        }
        if (in.bad()) {
            return fail(ErrorCode::invalid_argument, "static word vectors: read error");
        }
        if (e.weights_.empty()) {
            return fail(ErrorCode::invalid_argument, "static word vectors: no word vectors in the input");
        }
        if (has_header && options.max_words == 0 && header_count != words_read) {
            return fail(ErrorCode::invalid_argument,
                        "static word vectors: the header announces " + std::to_string(header_count) +
                            " words, the file has " + std::to_string(words_read));
        }
        if (!(options.sif_a > 0.0) || !std::isfinite(options.sif_a)) {
            return fail(ErrorCode::invalid_argument, "static word vectors: sif_a must be positive");
        }
        e.set_weights(options);
        if (options.remove_common_component) {
            e.find_common_component(options.common_component_words);
        }
        std::uint64_t options_digest = XXH3_64bits_withSeed(&options.sif_a, sizeof options.sif_a, version);
        options_digest =
            XXH3_64bits_withSeed(&options.zipf_exponent, sizeof options.zipf_exponent, options_digest);
        for (const auto& [word, count] : options.word_counts) {
            options_digest = XXH3_64bits_withSeed(word.data(), word.size(), options_digest);
            options_digest = XXH3_64bits_withSeed(&count, sizeof count, options_digest);
        }
        if (options.remove_common_component) {
            options_digest = XXH3_64bits_withSeed(&options.common_component_words,
                                                  sizeof options.common_component_words, options_digest + 1);
        }
        e.id_ = "static-words-v" + std::to_string(version) + "-d" + std::to_string(e.dimensions_) + "-n" +
                std::to_string(e.weights_.size()) + "-" + hex(digest) + "-" + hex(options_digest);
        return e;
    }

    void set_weights(const Options& options) {
        std::vector<double> p(weights_.size(), 0.0);
        if (!options.word_counts.empty()) {
            double total = 0.0;
            double smallest = 0.0;
            for (const auto& [word, count] : options.word_counts) {
                if (count > 0.0 && std::isfinite(count)) {
                    total += count;
                    smallest = smallest == 0.0 ? count : std::min(smallest, count);
                }
            }
            std::fill(p.begin(), p.end(), total > 0.0 ? smallest / total : 0.0);
            for (const auto& [word, count] : options.word_counts) {
                std::string lowered(word);
                std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
                const std::size_t row = row_of(lowered);
                if (row != npos && count > 0.0 && std::isfinite(count) && total > 0.0) {
                    p[row] = count / total;
                }
            }
        } else {
            // Zipf from row order: rows are stored in file order, most frequent first.
            double harmonic = 0.0;
            for (std::size_t r = 1; r <= p.size(); ++r) {
                p[r - 1] = std::pow(static_cast<double>(r), -options.zipf_exponent);
                harmonic += p[r - 1];
            }
            for (double& x : p) {
                x /= harmonic;
            }
        }
        for (std::size_t r = 0; r < p.size(); ++r) {
            weights_[r] = static_cast<float>(options.sif_a / (options.sif_a + p[r]));
        }
    }

    /// First principal component (uncentred) of the unit vectors of the `words` first rows, by a
    /// fixed number of power iterations from a fixed start: deterministic.
    void find_common_component(std::size_t words) {
        const std::size_t n = std::min(words == 0 ? weights_.size() : words, weights_.size());
        std::vector<double> rows(n * dimensions_);
        for (std::size_t r = 0; r < n; ++r) {
            double norm = 0.0;
            for (std::size_t k = 0; k < dimensions_; ++k) {
                norm += static_cast<double>(vectors_[r * dimensions_ + k]) * vectors_[r * dimensions_ + k];
            }
            const double inv = norm > 0.0 ? 1.0 / std::sqrt(norm) : 0.0;
            for (std::size_t k = 0; k < dimensions_; ++k) {
                rows[r * dimensions_ + k] = vectors_[r * dimensions_ + k] * inv;
            }
        }
        std::vector<double> u(dimensions_, 1.0 / std::sqrt(static_cast<double>(dimensions_)));
        std::vector<double> next(dimensions_);
        for (int iteration = 0; iteration < 50; ++iteration) {
            std::fill(next.begin(), next.end(), 0.0);
            for (std::size_t r = 0; r < n; ++r) {
                const double* row = rows.data() + r * dimensions_;
                double dot = 0.0;
                for (std::size_t k = 0; k < dimensions_; ++k) {
                    dot += row[k] * u[k];
                }
                for (std::size_t k = 0; k < dimensions_; ++k) {
                    next[k] += dot * row[k];
                }
            }
            double norm = 0.0;
            for (const double x : next) {
                norm += x * x;
            }
            if (!(norm > 0.0)) {
                return; // all vectors orthogonal to the start: no common component to remove
            }
            const double inv = 1.0 / std::sqrt(norm);
            for (std::size_t k = 0; k < dimensions_; ++k) {
                u[k] = next[k] * inv;
            }
        }
        common_.assign(u.begin(), u.end());
    }

    std::size_t dimensions_ = 0;
    std::vector<float> vectors_; // row-major, one row per word, in file order
    std::vector<float> weights_; // SIF weight per row
    std::unordered_map<std::string, std::size_t, detail::TransparentHash, std::equal_to<>> rows_;
    std::vector<double> common_; // unit common direction, empty when not removed
    std::string id_;
};

LLMCACHE_END_NAMESPACE
