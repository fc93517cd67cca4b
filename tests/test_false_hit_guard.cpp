// FalseHitGuard: one case per rejection reason, the normalisations that must NOT reject (number
// words, units, typos, inflections, synonyms, acronyms, politeness), options, odd input, threads,
// and its measured effect on the dataset tests/data/semantic_pairs.tsv with HashingEmbedder.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using llmcache::FalseHitGuard;
using llmcache::GuardReason;

namespace {

GuardReason reason(std::string_view query, std::string_view candidate, FalseHitGuard::Options options = {}) {
    const llmcache::GuardVerdict v = FalseHitGuard(options).explain(query, candidate);
    INFO("'" << query << "' / '" << candidate << "': " << llmcache::to_string(v.reason) << " " << v.detail);
    REQUIRE(v.accepted == (v.reason == GuardReason::none));
    REQUIRE(static_cast<bool>(v) == v.accepted);
    REQUIRE(v.accepted == FalseHitGuard(options).accepts(query, candidate));
    // The verdict does not depend on which prompt is the query.
    REQUIRE(FalseHitGuard(options).accepts(candidate, query) == v.accepted);
    return v.reason;
}

struct Pair {
    bool paraphrase = false;
    std::string domain;
    std::string kind;
    std::string a;
    std::string b;
};

std::vector<Pair> dataset() {
    const std::string path = std::string(LLMCACHE_TEST_DATA_DIR) + "/semantic_pairs.tsv";
    std::ifstream in(path);
    INFO(path);
    REQUIRE(in.good());
    std::vector<Pair> pairs;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        if (header) {
            REQUIRE(line == "label\tdomain\tkind\ta\tb");
            header = false;
            continue;
        }
        std::vector<std::string> f;
        std::stringstream ss(line);
        for (std::string field; std::getline(ss, field, '\t');) {
            f.push_back(field);
        }
        INFO(line);
        REQUIRE(f.size() == 5);
        REQUIRE((f[0] == "para" || f[0] == "neg"));
        pairs.push_back(Pair{f[0] == "para", f[1], f[2], f[3], f[4]});
    }
    return pairs;
}

} // namespace

TEST_CASE("FalseHitGuard fits the hit_verifier shape and names its reasons", "[guard]") {
    STATIC_REQUIRE(requires(const FalseHitGuard& g, std::string_view q, std::string_view c) {
        { g.accepts(q, c) } -> std::same_as<bool>;
    });
    STATIC_REQUIRE(noexcept(std::declval<const FalseHitGuard&>().accepts("", "")));
    STATIC_REQUIRE(noexcept(std::declval<const FalseHitGuard&>().explain("", "")));
    REQUIRE(llmcache::to_string(GuardReason::numbers_or_units) == "numbers_or_units");
    REQUIRE(llmcache::to_string(GuardReason::negation) == "negation");
    REQUIRE(llmcache::to_string(GuardReason::direction) == "direction");
    REQUIRE(llmcache::to_string(GuardReason::content_word) == "content_word");
    REQUIRE(llmcache::to_string(GuardReason::none) == "none");
    const auto v =
        FalseHitGuard{}.explain("Do I need a visa for Austria?", "Do I need a visa for Australia?");
    REQUIRE_FALSE(v.accepted);
    REQUIRE(v.detail.find("austria") != std::string::npos);
}

TEST_CASE("FalseHitGuard rejects different numbers and units", "[guard]") {
    const auto numbers = GuardReason::numbers_or_units;
    REQUIRE(reason("Does the warranty last 2 years?", "Does the warranty last 2 months?") == numbers);
    REQUIRE(reason("Can I upload files larger than 10 MB?", "Can I upload files larger than 10 GB?") ==
            numbers);
    REQUIRE(reason("Is 5 mg of melatonin safe?", "Is 5 g of melatonin safe?") == numbers);
    REQUIRE(reason("How do I install Python 3.11?", "How do I install Python 3.12?") == numbers);
    REQUIRE(reason("How do I install Python 3.1?", "How do I install Python 3.10?") == numbers);
    REQUIRE(reason("Is the PS5 compatible with PS4 games?", "Is the PS5 compatible with PS3 games?") ==
            numbers);
    REQUIRE(reason("Is shipping free over $50?", "Is shipping free over $25?") == numbers);
    REQUIRE(reason("Is there a 3% fee?", "Is there a $3 fee?") == numbers);
    REQUIRE(reason("How far is it in miles?", "How far is it in kilometers?") == numbers);
    REQUIRE(reason("What is new in C++20?", "What is new in C++23?") == numbers);
    REQUIRE(reason("Can I add 5 users?", "Can I add 50 users?") == numbers);
    REQUIRE(reason("Wake me at 7am", "Wake me at 7pm") == numbers);
    REQUIRE(reason("Is 38 degrees C a fever?", "Is 38 F a fever?") == numbers);
    REQUIRE(reason("Convert 100 euros to dollars", "Convert 100 € to £") == numbers);
}

TEST_CASE("FalseHitGuard normalises numbers and units before comparing", "[guard]") {
    const auto none = GuardReason::none;
    REQUIRE(reason("Can I check in 2 bags?", "Can I check in two bags?") == none);
    REQUIRE(reason("Is a 10 km run long?", "Is a 10km run long?") == none);
    REQUIRE(reason("Is a 10 km run long?", "Is a 10 kilometres run long?") == none);
    REQUIRE(reason("Is a 5% fee normal?", "Is a 5 percent fee normal?") == none);
    REQUIRE(reason("Is 1,000 dollars enough?", "Is $1000 enough?") == none);
    REQUIRE(reason("Is 25 too old to start?", "Is twenty-five too old to start?") == none);
    REQUIRE(reason("Is 100k a good salary?", "Is 100,000 a good salary?") == none);
    REQUIRE(reason("Is 2000 a leap year?", "Is two thousand a leap year?") == none);
    REQUIRE(reason("How do I lose 1 pound a week?", "How do I lose one pound a week?") == none);
    REQUIRE(reason("Is 3 days enough to see Rome?", "Is three days enough to see Rome?") == none);
    // "one" alone is not a number unless the other side has a 1.
    REQUIRE(reason("Which laptop should I buy?", "Which one laptop should I buy?") == none);
    REQUIRE(reason("How do I print the first line?", "How do I print the 1st line?") == none);
    REQUIRE(reason("Is it 38°C outside?", "Is it 38 C outside?") == none);
}

TEST_CASE("FalseHitGuard rejects a negation present on one side only", "[guard]") {
    const auto negation = GuardReason::negation;
    REQUIRE(reason("Which foods are safe for dogs?", "Which foods are not safe for dogs?") == negation);
    REQUIRE(reason("What can I bring on a plane?", "What can't I bring on a plane?") == negation);
    REQUIRE(reason("What can I bring on a plane?", "What can\xE2\x80\x99t I bring on a plane?") == negation);
    REQUIRE(reason("What can I bring on a plane?", "What cant I bring on a plane?") == negation);
    REQUIRE(reason("Can I return it with a receipt?", "Can I return it without a receipt?") == negation);
    REQUIRE(reason("Which banks charge fees?", "Which banks charge no fees?") == negation);
    REQUIRE(reason("Should I take it with food?", "Should I never take it with food?") == negation);
    // The same number of cues, spelled differently, is fine.
    REQUIRE(reason("My watch won't turn on", "My watch does not turn on") == GuardReason::none);
    // Switched off, the content check is what remains: "with" is a stopword, so this passes.
    FalseHitGuard::Options off;
    off.check_negation = false;
    REQUIRE(reason("Can I return it with a receipt?", "Can I return it without a receipt?", off) ==
            GuardReason::none);
}

TEST_CASE("FalseHitGuard rejects a reversed direction", "[guard]") {
    const auto direction = GuardReason::direction;
    REQUIRE(reason("Last train from Paris to Brussels?", "Last train from Brussels to Paris?") == direction);
    REQUIRE(reason("What is the USD to EUR rate?", "What is the EUR to USD rate?") == direction);
    REQUIRE(reason("How do I convert JSON to XML?", "How do I convert XML to JSON?") == direction);
    REQUIRE(reason("How do I convert a list to a string?", "How do I convert a string to a list?") ==
            direction);
    REQUIRE(reason("How do I get to the airport?", "How do I get from the airport?") == direction);
    REQUIRE(reason("Copy files from my server to my laptop", "Copy files from my laptop to my server") ==
            direction);
    // Same direction, other word order or an infinitive "to": accepted.
    REQUIRE(reason("How much is a taxi from JFK to Manhattan?",
                   "From JFK to Manhattan, how much is a taxi?") == GuardReason::none);
    REQUIRE(reason("How do I go from the station to the hotel?",
                   "How to go to the hotel from the station?") == GuardReason::none);
    FalseHitGuard::Options off;
    off.check_direction = false;
    REQUIRE(reason("How do I convert JSON to XML?", "How do I convert XML to JSON?", off) ==
            GuardReason::none);
}

TEST_CASE("FalseHitGuard rejects a content word without counterpart", "[guard]") {
    const auto content = GuardReason::content_word;
    REQUIRE(reason("What is the capital of Austria?", "What is the capital of Australia?") == content);
    REQUIRE(reason("Do I need a visa for Iran?", "Do I need a visa for Iraq?") == content);
    REQUIRE(reason("Can I use Uber in Tokyo?", "Can I use Uber in Kyoto?") == content);
    REQUIRE(reason("Slovakia or Slovenia?", "Slovenia or Slovenia?") == content);
    REQUIRE(reason("How do I get an environment variable?", "How do I set an environment variable?") ==
            content);
    REQUIRE(reason("How do I sort a list?", "How do I sort a list of dictionaries?") == content);
    REQUIRE(reason("How do I read a file in C++?", "How do I read a file in C#?") == content);
    REQUIRE(reason("Is it hot in Dubai in March?", "Is it cold in Dubai in March?") == content);
    REQUIRE(reason("How do I enable dark mode?", "How do I disable dark mode?") == content);
    // A capitalised stopword inside a sentence is a name: "May" the month, "US" the country.
    REQUIRE(reason("What is the weather in Barcelona in May?", "What is the weather in Barcelona?") ==
            content);
    REQUIRE(reason("How do I file taxes in the US?", "How do I file taxes?") == content);
    // Two frequent words are never typos of each other, however close.
    REQUIRE(reason("How do I fix a flat tire?", "How do I fix a flat fire?") == content);
    FalseHitGuard::Options off;
    off.check_content_words = false;
    REQUIRE(reason("What is the capital of Austria?", "What is the capital of Australia?", off) ==
            GuardReason::none);
}

TEST_CASE("FalseHitGuard lets frequent words differ in a rewording, never rare words or names", "[guard]") {
    const auto none = GuardReason::none;
    const auto content = GuardReason::content_word;
    // Frequent words on both sides, each prompt keeping most of its content words: a rewording.
    REQUIRE(reason("What is a good way to learn Spanish grammar at home?",
                   "How can I study Spanish grammar at home quickly?") == none);
    REQUIRE(reason("How should I clean a cast iron pan after cooking?",
                   "What is the right way to wash a cast iron pan once I finish cooking?") == none);
    // Rare words, names, mixed case and identifiers distinguish however the rest is worded.
    REQUIRE(reason("What is the capital of Austria?", "What is the capital of Australia?") == content);
    REQUIRE(reason("Do I need a visa for Iran?", "Do I need a visa for Iraq?") == content);
    REQUIRE(reason("Is the iPhone waterproof?", "Is the Pixel waterproof?") == content);
    REQUIRE(reason("How do I learn JavaScript quickly?", "How do I learn TypeScript quickly?") == content);
    REQUIRE(reason("Can I take ibuprofen with food?", "Can I take aspirin with food?") == content);
    REQUIRE(reason("How do I install k8s on my laptop?", "How do I install Docker on my laptop?") != none);
    REQUIRE(reason("What is a good way to learn Spanish grammar at home?",
                   "How can I study Portuguese grammar at home quickly?") == content);
    // Frequent words still distinguish as a pure addition, a one-word swap, an opposite, or when
    // most of a prompt has no counterpart.
    REQUIRE(reason("How do I pay my bill?", "How do I pay my phone bill?") == content);
    REQUIRE(reason("Can I get there by train?", "Can I get there by car?") == content);
    REQUIRE(reason("Is the museum open in the morning?", "Is the museum open in the evening?") == content);
    REQUIRE(reason("How do I change my home address?", "How do I find my home page?") == content);
}

TEST_CASE("FalseHitGuard tolerates typos, inflections, synonyms, acronyms and politeness", "[guard]") {
    const auto none = GuardReason::none;
    REQUIRE(reason("How do I reset my password?", "How do I reset my pasword?") == none);
    REQUIRE(reason("How do I change my email?", "How do I chnage my emial?") == none);
    REQUIRE(reason("What does yield do in Python?", "What does yeild do in Pyhton?") == none);
    REQUIRE(reason("How do I sort the list?", "Hwo do I sort teh list?") == none);
    REQUIRE(reason("Do I need a visa to visit Thailand?", "Do I need a visa to visit Tailand?") == none);
    REQUIRE(reason("What is the difference between them?", "What is the diffrence between them?") == none);
    REQUIRE(reason("Can I take paracetamol with ibuprofen?", "Can I take paracetemol with ibuprofin?") ==
            none);
    REQUIRE(reason("How do I change my address?", "How do I get my address changed?") == none);
    REQUIRE(reason("Which dictionaries are sorted?", "Which dictionary is sorting?") == none);
    REQUIRE(reason("My smartwatch does not charge", "My smart watch does not charge") == none);
    REQUIRE(reason("Where can I buy a ticket?", "Where can I purchase a ticket?") == none);
    REQUIRE(reason("What documents do I need in the EU?",
                   "What documents do I need in the European Union?") == none);
    REQUIRE(reason("How do I set an environment variable?", "How do I set an env var?") == none);
    REQUIRE(reason("How do I delete my account?",
                   "Hi! Could you please tell me how to delete my account? Thanks in advance.") == none);
    REQUIRE(reason("HOW DO I DELETE MY ACCOUNT", "how do i delete my account?") == none);
    // Typos need tolerate_typos.
    FalseHitGuard::Options strict;
    strict.tolerate_typos = false;
    REQUIRE(reason("How do I reset my password?", "How do I reset my pasword?", strict) ==
            GuardReason::content_word);
}

TEST_CASE("FalseHitGuard folds derivational suffixes, except where the stem is another word", "[guard]") {
    const auto none = GuardReason::none;
    const auto content = GuardReason::content_word;
    REQUIRE(reason("How do Python lists and tuples differ?",
                   "What is the difference between Python lists and tuples?") == none);
    REQUIRE(reason("Is a Roth IRA different from a traditional IRA?",
                   "What is the difference between a Roth IRA and a traditional IRA?") == none);
    REQUIRE(reason("Explain recursion simply.", "Explain recursion in a simple way.") == none);
    REQUIRE(reason("How accurate is a home pregnancy test?",
                   "What is the accuracy of a home pregnancy test?") == none);
    REQUIRE(reason("What is the treatment for a sprained ankle?", "How do I treat a sprained ankle?") ==
            none);
    REQUIRE(reason("How do I summarise a long report?", "How do I summarize a long report?") == none);
    // A derived word whose stem is an unrelated word is not folded.
    REQUIRE(reason("How do I import a CSV file in Python?",
                   "What is important about a CSV file in Python?") == content);
    REQUIRE(reason("How do I check my account state?", "How do I check my account statement?") == content);
    REQUIRE(reason("How do I paint a basement wall?", "How do I paint a base wall?") == content);
    REQUIRE(reason("Where is the train station?", "Where is the train state?") == content);
    // Nor are suffixes that make another thing: agent nouns, -less, -al.
    REQUIRE(reason("How do I teach Python?", "How do I find a Python teacher?") == content);
    REQUIRE(reason("Is sugar bad for teeth?", "Is sugarless gum bad for teeth?") == content);
    REQUIRE(reason("Is this the origin of the painting?", "Is this the original painting?") == content);
}

TEST_CASE("FalseHitGuard takes any bytes without crashing", "[guard]") {
    const FalseHitGuard g;
    REQUIRE(g.accepts("", ""));
    REQUIRE(g.accepts("?!", "..."));
    REQUIRE_FALSE(g.accepts("", "What is the capital of France?"));
    const std::string nul("reset\0password", 14);
    REQUIRE(g.accepts(nul, nul));
    REQUIRE(g.accepts("\xFF\xFE invalid \xC3", "\xFF\xFE invalid \xC3"));
    // UTF-8 words pass through and are compared byte-exactly.
    REQUIRE(g.accepts("Wie spät ist es in München?", "Wie spät ist es in München?"));
    REQUIRE_FALSE(g.accepts("Wie spät ist es in München?", "Wie spät ist es in Köln?"));
    // 200 KB of text: near-linear work plus a bounded number of typo comparisons.
    std::string big;
    for (int i = 0; i < 15000; ++i) {
        // Words with digits are identifiers (compared as numbers), the others content words.
        big += "word" + std::to_string(i % 5000) + " " + std::string(1, static_cast<char>('a' + i % 26)) +
               std::string(1, static_cast<char>('a' + i / 26 % 26)) + "x ";
    }
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(g.accepts(big, big));
    REQUIRE_FALSE(g.accepts(big, big + " zebra"));
    REQUIRE(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("FalseHitGuard is usable from many threads at once", "[guard]") {
    const FalseHitGuard g;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"Do I need a visa for Austria?", "Do I need a visa for Australia?"},
        {"How do I reset my password?", "How do I reset my pasword?"},
        {"USD to EUR", "EUR to USD"},
        {"Is 5 mg safe?", "Is 5 g safe?"},
    };
    std::vector<bool> expected;
    for (const auto& [q, c] : cases) {
        expected.push_back(g.accepts(q, c));
    }
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const std::size_t k = static_cast<std::size_t>(i + t) % cases.size();
                mismatches[static_cast<std::size_t>(t)] +=
                    g.accepts(cases[k].first, cases[k].second) != expected[k] ? 1 : 0;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    REQUIRE(mismatches == std::vector<int>(4, 0));
    REQUIRE(expected == std::vector<bool>{false, true, false, false});
}

// Measured on the dataset (README "Semantic quality"): at distance 0.40 HashingEmbedder alone lets
// every hard negative through and 77 of 108 paraphrases; the guard rejects 107 of those negatives
// (all but "sunscreen before moisturizer" / "moisturizer before sunscreen") and keeps 66 of the 77
// paraphrases, 74 of 108 in all. Re-measured after the rare-word rule: the same counts (its gains
// are on rewordings with frequent words, which this dataset has few of; the hold-out gains one).
// The bounds leave a little room below the measurement, not a lot.
TEST_CASE("FalseHitGuard on the dataset: most hard negatives rejected, most paraphrases kept", "[guard]") {
    const std::vector<Pair> pairs = dataset();
    REQUIRE(pairs.size() >= 200);
    const llmcache::HashingEmbedder embedder;
    const FalseHitGuard guard;
    const double threshold = 0.40;
    int negatives_through = 0;
    int negatives_rejected = 0;
    int paraphrases_through = 0;
    int paraphrases_kept = 0;
    int paraphrases = 0;
    int paraphrases_accepted = 0;
    std::map<std::string, std::pair<int, int>> negative_kinds;   // kind -> (rejected, total)
    std::map<std::string, std::pair<int, int>> paraphrase_kinds; // kind -> (accepted, total)
    int reason_agrees = 0;
    int negatives = 0;
    for (const Pair& p : pairs) {
        const auto a = embedder.embed(p.a);
        const auto b = embedder.embed(p.b);
        double dot = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            dot += static_cast<double>(a[i]) * b[i];
        }
        const bool within = 1.0 - dot <= threshold;
        const llmcache::GuardVerdict v = guard.explain(p.b, p.a);
        if (p.paraphrase) {
            ++paraphrases;
            paraphrases_accepted += v.accepted ? 1 : 0;
            paraphrase_kinds[p.kind].first += v.accepted ? 1 : 0;
            ++paraphrase_kinds[p.kind].second;
            if (within) {
                ++paraphrases_through;
                paraphrases_kept += v.accepted ? 1 : 0;
            }
        } else {
            ++negatives;
            negative_kinds[p.kind].first += v.accepted ? 0 : 1;
            ++negative_kinds[p.kind].second;
            if (within) {
                ++negatives_through;
                negatives_rejected += v.accepted ? 0 : 1;
            }
            const std::string& k = p.kind;
            const GuardReason r = v.reason;
            const bool agrees =
                ((k == "number" || k == "unit") && r == GuardReason::numbers_or_units) ||
                (k == "negation" && r == GuardReason::negation) ||
                (k == "direction" && (r == GuardReason::direction || r == GuardReason::numbers_or_units)) ||
                ((k == "entity" || k == "scope" || k == "antonym") &&
                 (r == GuardReason::content_word || r == GuardReason::numbers_or_units));
            reason_agrees += agrees ? 1 : 0;
        }
    }
    INFO("negatives within " << threshold << ": " << negatives_through << ", rejected by the guard "
                             << negatives_rejected << "; paraphrases within: " << paraphrases_through
                             << ", kept " << paraphrases_kept << "; all paraphrases accepted "
                             << paraphrases_accepted << "/" << paraphrases);
    // The threshold alone is no defence against near-duplicates: most negatives are within it.
    REQUIRE(negatives_through >= negatives * 9 / 10);
    REQUIRE(negatives_rejected * 100 >= negatives_through * 97);
    REQUIRE(paraphrases_kept * 100 >= paraphrases_through * 80);
    REQUIRE(paraphrases_accepted * 100 >= paraphrases * 65);
    // The rejection names the difference the row was written to show.
    REQUIRE(reason_agrees * 100 >= negatives * 95);
    for (const auto& [kind, counts] : negative_kinds) {
        INFO("negative kind " << kind << ": rejected " << counts.first << "/" << counts.second);
        REQUIRE(counts.first * 100 >= counts.second * 90);
    }
    // Typos and "2"/"two" are what the guard is built to tolerate.
    for (const std::string kind : {"typo", "number_word"}) {
        INFO("paraphrase kind " << kind);
        REQUIRE(paraphrase_kinds[kind].second >= 10);
        REQUIRE(paraphrase_kinds[kind].first * 100 >= paraphrase_kinds[kind].second * 95);
    }
}
