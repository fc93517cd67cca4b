// HashingEmbedder: the offline default embedder. Deterministic, no model and no data files.
//
// It is LEXICAL, NOT SEMANTIC. Two texts are close when they share words, word pairs and pieces of
// words (which tolerates case, punctuation, spacing, word order and small typos); it knows nothing
// of meaning, so synonyms ("car" / "automobile") look unrelated and a sentence with the same words
// but one changed entity ("capital of Austria" / "capital of Australia") looks very close. Use a
// real embedding model where paraphrases must match, and a false-hit guard either way.
//
// Features (the "feature hashing" trick, Weinberger et al. 2009):
//   - tokens: maximal runs of ASCII letters and digits, lower-cased; every byte >= 0x80 is also a
//     token byte, so UTF-8 words of other scripts stay whole (they are not case-folded); all other
//     bytes (punctuation, spaces, NUL) separate tokens. Digits are kept: "2" and "two" differ.
//   - word unigrams, word bigrams, and character n-grams (bytes, default 3..5) of each token
//     wrapped in boundary markers ("<two>").
// Each distinct feature is hashed with XXH3-64 (a per-kind seed derived from Options::seed) to a
// bucket in [0, dimensions) and a sign ±1 (another bit of the same hash), which cancels collision
// bias in expectation. Its weight is kind_weight * (1 + ln tf), and the vector is L2-normalised.
// A text without any token (empty, only punctuation or NUL bytes) gives the zero vector:
// embed_into() returns false and is_zero() is true for it. Any byte sequence is accepted (invalid
// UTF-8 is just bytes); cost is linear in the text length, memory in the distinct features.
#pragma once

#include "../config.hpp"
#include "../detail/xxhash.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

class HashingEmbedder {
public:
    struct Options {
        /// Output dimensions (0 is replaced by 384).
        std::size_t dimensions = 384;
        /// Character n-gram lengths in bytes, inclusive, boundary markers included (a minimum of 0
        /// is replaced by 1; a maximum below the minimum is raised to it). Set char_weight to 0 to
        /// switch character n-grams off.
        std::size_t char_ngram_min = 3;
        std::size_t char_ngram_max = 5;
        /// Hash seed: different seeds give unrelated vectors (and different ids).
        std::uint64_t seed = 0;
        /// Weight of each feature kind (0 switches it off). Character n-grams are many per word,
        /// so each weighs less.
        float word_weight = 1.0f;
        float bigram_weight = 1.0f;
        float char_weight = 0.5f;
    };

    static constexpr int version = 1;

    HashingEmbedder() : HashingEmbedder(Options{}) {}

    explicit HashingEmbedder(Options options) : options_(options) {
        if (options_.dimensions == 0) {
            options_.dimensions = 384;
        }
        if (options_.char_ngram_min == 0) {
            options_.char_ngram_min = 1;
        }
        options_.char_ngram_max = std::max(options_.char_ngram_max, options_.char_ngram_min);
        id_ = "hashing-v" + std::to_string(version) + "-d" + std::to_string(options_.dimensions) + "-c" +
              std::to_string(options_.char_ngram_min) + "." + std::to_string(options_.char_ngram_max) + "-s" +
              std::to_string(options_.seed);
        if (options_.word_weight != 1.0f || options_.bigram_weight != 1.0f || options_.char_weight != 0.5f) {
            id_ += "-w" + std::to_string(options_.word_weight) + "." +
                   std::to_string(options_.bigram_weight) + "." + std::to_string(options_.char_weight);
        }
    }

    /// Identifies the embedding space: model, version, dimensions, n-gram range, seed (and weights
    /// when not the defaults), e.g. "hashing-v1-d384-c3.5-s0". Vectors of different ids must never
    /// be compared, so it becomes part of the index namespace.
    [[nodiscard]] const std::string& id() const noexcept { return id_; }
    [[nodiscard]] std::size_t dimensions() const noexcept { return options_.dimensions; }
    [[nodiscard]] const Options& options() const noexcept { return options_; }

    /// The unit-length embedding of `text`, or the zero vector when it has no token.
    [[nodiscard]] std::vector<float> embed(std::string_view text) const {
        std::vector<float> out(options_.dimensions);
        (void)embed_into(text, out);
        return out;
    }

    /// Writes the embedding of `text` into `out`. Returns false, leaving `out` all zeros, when the
    /// text has no token; also false (and `out` zeroed) when out.size() != dimensions().
    bool embed_into(std::string_view text, std::span<float> out) const {
        std::fill(out.begin(), out.end(), 0.0f);
        if (out.size() != options_.dimensions) {
            return false;
        }
        FeatureCounts features;
        collect(text, features);
        if (features.empty()) {
            return false;
        }
        const std::size_t d = options_.dimensions;
        features.for_each([&](std::uint64_t hash, std::uint32_t count, float kind_weight) {
            const float weight = kind_weight * (1.0f + std::log(static_cast<float>(count)));
            const float sign = (hash >> 63) != 0 ? -1.0f : 1.0f;
            out[static_cast<std::size_t>(hash % d)] += sign * weight;
        });
        double norm = 0.0;
        for (const float v : out) {
            norm += static_cast<double>(v) * static_cast<double>(v);
        }
        if (!(norm > 0.0)) {
            // Every feature cancelled out in its bucket (or every kind has weight 0).
            std::fill(out.begin(), out.end(), 0.0f);
            return false;
        }
        const float scale = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& v : out) {
            v *= scale;
        }
        return true;
    }

    /// True when every component is zero: what an empty (token-free) text embeds to.
    [[nodiscard]] static bool is_zero(std::span<const float> v) noexcept {
        return std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; });
    }

private:
    /// Counts of distinct feature hashes: open addressing with linear probing in a power-of-two
    /// table grown at half full. A std::unordered_map did the same job ~3x slower (a node
    /// allocation per feature; measured in bench_semantic).
    class FeatureCounts {
    public:
        FeatureCounts() : slots_(256) {}

        void add(std::uint64_t hash, float kind_weight) {
            Slot& slot = find(slots_, hash);
            if (slot.count == 0) {
                slot = Slot{hash, 1, kind_weight};
                if (++used_ * 2 > slots_.size()) {
                    grow();
                }
                return;
            }
            if (slot.count < UINT32_MAX) {
                ++slot.count;
            }
            slot.kind_weight = kind_weight;
        }
        [[nodiscard]] bool empty() const noexcept { return used_ == 0; }
        template <class F>
        void for_each(F&& f) const {
            for (const Slot& slot : slots_) {
                if (slot.count != 0) {
                    f(slot.hash, slot.count, slot.kind_weight);
                }
            }
        }

    private:
        struct Slot {
            std::uint64_t hash = 0;
            std::uint32_t count = 0; ///< 0: empty
            float kind_weight = 0.0f;
        };
        static Slot& find(std::vector<Slot>& slots, std::uint64_t hash) noexcept {
            const std::size_t mask = slots.size() - 1;
            // The low bits pick the output bucket (hash % d) and the top bit the sign; mixing in
            // the middle bits keeps probe chains short even when d is a power of two.
            std::size_t i = static_cast<std::size_t>(hash ^ (hash >> 29)) & mask;
            while (slots[i].count != 0 && slots[i].hash != hash) {
                i = (i + 1) & mask;
            }
            return slots[i];
        }
        void grow() {
            std::vector<Slot> bigger(slots_.size() * 2);
            for (const Slot& old : slots_) {
                if (old.count != 0) {
                    find(bigger, old.hash) = old;
                }
            }
            slots_.swap(bigger);
        }

        std::vector<Slot> slots_;
        std::size_t used_ = 0;
    };

    static bool is_token_byte(unsigned char c) noexcept {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
    }
    static char lower(unsigned char c) noexcept {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    static std::uint64_t hash(std::string_view s, std::uint64_t seed) noexcept {
        return XXH3_64bits_withSeed(s.data(), s.size(), seed);
    }
    void collect(std::string_view text, FeatureCounts& features) const {
        // One seed per feature kind, so "ab" the word and "ab" the n-gram are different features.
        const std::uint64_t word_seed = options_.seed ^ 0x9E3779B97F4A7C15ULL;
        const std::uint64_t bigram_seed = options_.seed ^ 0xC2B2AE3D27D4EB4FULL;
        const std::uint64_t char_seed = options_.seed ^ 0x165667B19E3779F9ULL;
        std::string padded; // "<token>", lower-cased
        std::uint64_t previous_word = 0;
        bool has_previous = false;
        std::size_t i = 0;
        while (i < text.size()) {
            if (!is_token_byte(static_cast<unsigned char>(text[i]))) {
                ++i;
                continue;
            }
            padded.assign(1, '<');
            for (; i < text.size() && is_token_byte(static_cast<unsigned char>(text[i])); ++i) {
                padded.push_back(lower(static_cast<unsigned char>(text[i])));
            }
            padded.push_back('>');
            const std::string_view word(padded.data() + 1, padded.size() - 2);
            const std::uint64_t word_hash = hash(word, word_seed);
            if (options_.word_weight > 0.0f) {
                features.add(word_hash, options_.word_weight);
            }
            if (options_.bigram_weight > 0.0f && has_previous) {
                // The bigram hash is seeded by the first word's hash: no string concatenation.
                features.add(hash(word, bigram_seed ^ previous_word), options_.bigram_weight);
            }
            previous_word = word_hash;
            has_previous = true;
            if (options_.char_weight > 0.0f) {
                const std::string_view p(padded);
                for (std::size_t n = options_.char_ngram_min; n <= options_.char_ngram_max && n <= p.size();
                     ++n) {
                    for (std::size_t start = 0; start + n <= p.size(); ++start) {
                        features.add(hash(p.substr(start, n), char_seed + n), options_.char_weight);
                    }
                }
            }
        }
    }

    Options options_;
    std::string id_;
};

LLMCACHE_END_NAMESPACE
