// The semantic path: HashingEmbedder throughput, FalseHitGuard cost, and Cache lookups through the
// Semantic policy on MemoryStore and on a redis-server this program starts on a free loopback port
// (tests/support/redis_server.hpp), each next to a physical reference measured in the same run.
//
//   Embed/Hashing/<size>      HashingEmbedder::embed_into (384 dims) of a short (61 B, a typical
//                             question), medium (400 B) or long (4 KB) prompt; bytes/s and items/s
//   Ref/XXH3_64/<size>        one XXH3-64 over the same bytes (the hash the embedder runs per feature)
//   Ref/memcpy/<size>         a memcpy of the same bytes
//   Ref/FeatureHashes/<size>  the embedder's own features (words, bigrams, 3..5-byte n-grams of
//                             "<word>") hashed with XXH3 and added straight into the 384 floats,
//                             then normalised: no per-text feature map, so repeats are not merged.
//                             The floor of this feature set; counter `features` = features hashed
//   Parts/Embed/<query>       embed_into of the two queries timed below (reworded: 39 B, unrelated:
//                             46 B), to split a lookup into its parts
//   Guard/accepts/<pair>      FalseHitGuard::accepts on an accepted paraphrase, a pair rejected at
//                             the last check (content word: Austria / Australia, distance 0.19) and
//                             one rejected at the first (numbers: 2 mg / 5 mg)
//   Guard/accepts_after_scan/N  the accepted pair's accepts(), timed alone, each call right after
//                             an untimed Scan/Flat/N (the guard as a lookup runs it)
//   Scan/Flat/N               FlatMatcher::top_k(query, 4, 0.2) over the N stored vectors of the
//                             bench partition (the scan inside a semantic lookup)
//   <Store>/ExactHit/N        Cache::lookup of the stored question itself (key, one store read,
//                             decode): the reference a semantic hit is compared with
//   <Store>/SemanticHit/N     lookup of a reworded question ("The BM25 ranking algorithm: what is
//                             it?" for "What is the BM25 ranking algorithm?", cosine distance 0.08):
//                             exact miss, embed, scan, verifier, entry read, decode
//   <Store>/SemanticHitGuard/N  the same with FalseHitGuard as the hit verifier
//   <Store>/SemanticMiss/N    lookup of an unrelated question: exact miss, embed, scan, nothing
//                             within 0.2 (lookup() never calls the model: the read side of a miss,
//                             before invoke() would call the model and store the answer)
//   Redis/Raw/Get             hiredis redisCommand("GET %b") of the same entry bytes: the floor of
//                             an exact hit (one round trip)
//   Redis/Raw/GetNilThenGet   a GET of the absent exact key, then the GET of the entry: the floor
//                             of a semantic hit (two round trips)
// The semantic partition holds N entries: the stored question and N-1 other questions of the same
// shape (same model and system prompt, different words), answers of 2 KB. MemoryStore: N = 1, 1k,
// 10k; Redis: N = 1, 1k. Semantic options are the defaults (max_distance 0.2, top_k 4, FlatMatcher
// float32, sync_interval 1 s: on Redis one lookup per second also reads the index for other
// writers' additions). Every lookup's result is checked (the right answer, or none).
// The cache lookups and raw GETs report p50_us / p99_us counters (each call timed alone,
// steady_clock); all runs are single-threaded.
#include <llmcache/llmcache.hpp>

#include <benchmark/benchmark.h>

#if LLMCACHE_WITH_HIREDIS
#include "../tests/support/redis_server.hpp"

#include <hiredis/hiredis.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace lc = llmcache;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kModel = "claude-sonnet-4-5";
constexpr std::size_t kAnswerBytes = 2048;

// The stored question, its rewording (word order and punctuation: distance 0.08 with the default
// HashingEmbedder), and a question unrelated to every stored one.
constexpr std::string_view kStored = "What is the BM25 ranking algorithm?";
constexpr std::string_view kReworded = "The BM25 ranking algorithm: what is it?";
constexpr std::string_view kUnrelated = "How long should I boil an egg for a soft yolk?";

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "bench_semantic: %s\n", what.c_str());
    std::exit(1);
}

// ---- Texts -------------------------------------------------------------------------------------

constexpr const char* kWords[] = {
    "customer", "invoice", "shipping", "warranty", "account",  "billing",   "delivery", "refund",
    "printer",  "laptop",  "router",   "firmware", "battery",  "screen",    "keyboard", "license",
    "schedule", "meeting", "project",  "deadline", "budget",   "report",    "manager",  "team",
    "garden",   "kitchen", "recipe",   "oven",     "flour",    "butter",    "travel",   "hotel",
    "airport",  "luggage", "train",    "ticket",   "museum",   "weather",   "jacket",   "river",
    "contract", "tenant",  "landlord", "deposit",  "mortgage", "insurance", "claim",    "policy",
    "doctor",   "clinic",  "vaccine",  "allergy",  "exercise", "running",   "swimming", "sleep",
    "guitar",   "piano",   "concert",  "novel",    "poetry",   "painting",  "camera",   "lens",
    "install",  "update",  "cancel",   "change",   "transfer", "compare",   "choose",   "repair",
    "quickly",  "safely",  "cheaply",  "properly", "abroad",   "online",    "offline",  "weekly",
    "the",      "a",       "my",       "our",      "with",     "without",   "after",    "before",
    "for",      "from",    "into",     "about",    "during",   "between",   "and",      "or"};
constexpr std::size_t kWordCount = sizeof kWords / sizeof kWords[0];

std::uint64_t next_random(std::uint64_t& x) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x >> 33;
}

/// `n` bytes of word salad from kWords, in sentences.
std::string prose(std::size_t n, std::uint64_t seed) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 7;
    std::string s;
    std::size_t in_sentence = 0;
    while (s.size() < n) {
        std::string w = kWords[next_random(x) % kWordCount];
        if (in_sentence == 0)
            w[0] = static_cast<char>(w[0] - 'a' + 'A');
        s += w;
        if (++in_sentence == 12) {
            s += ". ";
            in_sentence = 0;
        } else {
            s += ' ';
        }
    }
    s.resize(n);
    return s;
}

/// The i-th other question of the partition: "How do I <6 words>?" from kWords.
std::string other_question(std::size_t i) {
    std::uint64_t x = i * 0xD1B54A32D192ED03ULL + 11;
    std::string s = "How do I";
    for (int k = 0; k < 6; ++k) {
        s += ' ';
        s += kWords[next_random(x) % kWordCount];
    }
    s += '?';
    return s;
}

struct SizedText {
    const char* name;
    std::string text;
};

const std::vector<SizedText>& texts() {
    static const std::vector<SizedText> t = {
        {"short", "How do I reset my password if I no longer have my phone?"},
        {"medium", prose(400, 1)},
        {"long", prose(4096, 2)},
    };
    return t;
}

// ---- Embedding ---------------------------------------------------------------------------------

void BM_Embed(benchmark::State& state, const std::string* text) {
    const lc::HashingEmbedder embedder;
    std::vector<float> out(embedder.dimensions());
    for (auto _ : state) {
        const bool ok = embedder.embed_into(*text, out);
        benchmark::DoNotOptimize(ok);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text->size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Ref_XXH3(benchmark::State& state, const std::string* text) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(text->data());
        const XXH64_hash_t h = XXH3_64bits(text->data(), text->size());
        benchmark::DoNotOptimize(h);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text->size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void BM_Ref_Memcpy(benchmark::State& state, const std::string* text) {
    std::vector<char> out(text->size());
    for (auto _ : state) {
        benchmark::DoNotOptimize(text->data());
        std::memcpy(out.data(), text->data(), text->size());
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text->size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

bool token_byte(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/// Calls add(hash, weight) for each of HashingEmbedder's features of `text` (default options:
/// words, bigrams, 3..5-byte n-grams of "<word>", the embedder's seeds), repeats included.
template <class Add>
void for_each_feature(std::string_view text, Add&& add) {
    const std::uint64_t word_seed = 0x9E3779B97F4A7C15ULL, bigram_seed = 0xC2B2AE3D27D4EB4FULL,
                        char_seed = 0x165667B19E3779F9ULL;
    std::string padded;
    std::uint64_t previous = 0;
    bool has_previous = false;
    for (std::size_t i = 0; i < text.size();) {
        if (!token_byte(static_cast<unsigned char>(text[i]))) {
            ++i;
            continue;
        }
        padded.assign(1, '<');
        for (; i < text.size() && token_byte(static_cast<unsigned char>(text[i])); ++i) {
            const char c = text[i];
            padded.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c);
        }
        padded.push_back('>');
        const std::string_view word(padded.data() + 1, padded.size() - 2);
        const std::uint64_t wh = XXH3_64bits_withSeed(word.data(), word.size(), word_seed);
        add(wh, 1.0f);
        if (has_previous)
            add(XXH3_64bits_withSeed(word.data(), word.size(), bigram_seed ^ previous), 1.0f);
        previous = wh;
        has_previous = true;
        for (std::size_t n = 3; n <= 5 && n <= padded.size(); ++n)
            for (std::size_t start = 0; start + n <= padded.size(); ++start)
                add(XXH3_64bits_withSeed(padded.data() + start, n, char_seed + n), 0.5f);
    }
}

bool normalise(std::span<float> out) {
    double norm = 0.0;
    for (const float v : out)
        norm += static_cast<double>(v) * static_cast<double>(v);
    if (!(norm > 0.0))
        return false;
    const float scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : out)
        v *= scale;
    return true;
}

/// The floor: every feature added to its bucket as it is hashed (no merging of repeats, so not
/// the embedder's weights), then normalised. Returns how many features were hashed.
std::size_t feature_hash_floor(std::string_view text, std::span<float> out) {
    std::fill(out.begin(), out.end(), 0.0f);
    std::size_t features = 0;
    for_each_feature(text, [&](std::uint64_t h, float w) {
        out[static_cast<std::size_t>(h % out.size())] += (h >> 63) != 0 ? -w : w;
        ++features;
    });
    (void)normalise(out);
    return features;
}

void BM_Ref_FeatureHashes(benchmark::State& state, const std::string* text) {
    std::vector<float> out(384);
    std::size_t features = 0;
    for (auto _ : state) {
        features = feature_hash_floor(*text, out);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.counters["features"] = static_cast<double>(features);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text->size()));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// ---- FalseHitGuard -----------------------------------------------------------------------------

struct GuardPair {
    const char* name;
    std::string_view query, candidate;
    bool accepted;
};

constexpr GuardPair kGuardPairs[] = {
    {"accepted", kReworded, kStored, true},
    {"rejected_content_word", "Do I need a visa for Australia?", "Do I need a visa for Austria?", false},
    {"rejected_numbers", "Is 5 mg of melatonin safe for adults?", "Is 2 mg of melatonin safe for adults?",
     false},
};

void BM_Guard(benchmark::State& state, const GuardPair* pair) {
    const lc::FalseHitGuard guard;
    for (auto _ : state) {
        const bool ok = guard.accepts(pair->query, pair->candidate);
        if (ok != pair->accepted) {
            state.SkipWithError("unexpected guard verdict");
            break;
        }
        benchmark::DoNotOptimize(ok);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// ---- Latency percentiles -----------------------------------------------------------------------

struct Latencies {
    std::vector<double> us;
    explicit Latencies(const benchmark::State& st) {
        us.reserve(
            static_cast<std::size_t>(std::min<benchmark::IterationCount>(st.max_iterations, 2'000'000)));
    }
    void add(Clock::time_point start) {
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    void report(benchmark::State& st) {
        if (us.empty())
            return;
        std::sort(us.begin(), us.end());
        st.counters["p50_us"] = us[us.size() / 2];
        st.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
    }
};

// ---- The semantic partition --------------------------------------------------------------------

lc::Response answer_for(std::string_view tag) {
    lc::Response r;
    r.text = std::string(tag) + ":";
    r.text.resize(kAnswerBytes, 'x');
    r.stop_reason = lc::StopReason::end_turn;
    r.model = kModel;
    return r;
}

/// lookup() never calls the model; it is here because a Cache needs one.
struct UnusedModel {
    lc::Result<lc::Response> operator()(const lc::Request&) const { return answer_for("model"); }
};

/// The requests of one partition of N entries (its own system prompt, so partitions of different
/// N never mix).
struct Partition {
    std::size_t n;
    std::string system;
    lc::Request stored, reworded, unrelated;

    explicit Partition(std::size_t entries)
        : n(entries),
          system("You answer support questions briefly. (bench partition " + std::to_string(n) + ")"),
          stored(lc::Request::chat(kModel, std::string(kStored), system)),
          reworded(lc::Request::chat(kModel, std::string(kReworded), system)),
          unrelated(lc::Request::chat(kModel, std::string(kUnrelated), system)) {}

    lc::Request other(std::size_t i) const { return lc::Request::chat(kModel, other_question(i), system); }
};

const std::string& target_answer_text() {
    static const std::string t = answer_for("target").text;
    return t;
}

template <class Store, class Verifier>
using SemanticBenchCache =
    lc::Cache<lc::Xxh3Key<>, Store, lc::Semantic<lc::HashingEmbedder, lc::FlatMatcher, Verifier>,
              lc::ttl::Fixed, lc::CallableBackend<UnusedModel>>;

/// Stores the partition's N entries (through the Cache: entry, semantic record, index) and checks
/// the three lookups the benchmarks time.
template <class C>
void fill_and_check(C& cache, const Partition& p, const char* what) {
    const auto store = [&](const lc::Request& req, std::string_view tag) {
        if (auto r = cache.store(req, answer_for(tag)); !r)
            die(std::string(what) + ": store failed: " + r.error().message);
    };
    store(p.stored, "target");
    const lc::Response other = answer_for("other");
    for (std::size_t i = 1; i < p.n; ++i)
        if (auto r = cache.store(p.other(i), other); !r)
            die(std::string(what) + ": store failed: " + r.error().message);
    const auto semantic_before = cache.similarity().stats().matches;
    const auto exact = cache.lookup(p.stored);
    const auto similar = cache.lookup(p.reworded);
    const auto none = cache.lookup(p.unrelated);
    if (!exact || exact->text != target_answer_text())
        die(std::string(what) + ": the stored question is not an exact hit");
    if (!similar || similar->text != target_answer_text() ||
        cache.similarity().stats().matches != semantic_before + 1)
        die(std::string(what) + ": the reworded question is not a semantic hit on the stored answer");
    if (none)
        die(std::string(what) + ": the unrelated question hit");
}

enum class Lookup { exact_hit, semantic_hit, semantic_miss };

template <class C>
void BM_Lookup(benchmark::State& state, C* cache, const Partition* p, Lookup kind) {
    const lc::Request& req = kind == Lookup::exact_hit      ? p->stored
                             : kind == Lookup::semantic_hit ? p->reworded
                                                            : p->unrelated;
    const bool want_hit = kind != Lookup::semantic_miss;
    Latencies lat(state);
    for (auto _ : state) {
        const auto t = Clock::now();
        std::optional<lc::Response> r = cache->lookup(req);
        lat.add(t);
        if (r.has_value() != want_hit || (want_hit && r->text.compare(0, 7, "target:") != 0)) {
            state.SkipWithError(want_hit ? "expected a hit" : "expected a miss");
            break;
        }
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    lat.report(state);
}

void BM_Scan(benchmark::State& state, const lc::FlatMatcher* matcher, const std::vector<float>* query) {
    for (auto _ : state) {
        auto found = matcher->top_k(std::span<const float>(*query), 4, 0.2f);
        if (!found.empty()) {
            state.SkipWithError("the unrelated question matched");
            break;
        }
        benchmark::DoNotOptimize(found);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// FalseHitGuard::accepts on the accepted pair, timed alone (manual time), each call right after an
/// untimed scan of N rows: the guard as a lookup runs it, with the caches full of matcher rows.
void BM_GuardAfterScan(benchmark::State& state, const lc::FlatMatcher* matcher,
                       const std::vector<float>* query) {
    const lc::FalseHitGuard guard;
    const GuardPair& pair = kGuardPairs[0];
    for (auto _ : state) {
        auto found = matcher->top_k(std::span<const float>(*query), 4, 0.2f);
        benchmark::DoNotOptimize(found);
        const auto t = Clock::now();
        const bool ok = guard.accepts(pair.query, pair.candidate);
        state.SetIterationTime(std::chrono::duration<double>(Clock::now() - t).count());
        if (ok != pair.accepted) {
            state.SkipWithError("unexpected guard verdict");
            break;
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// A FlatMatcher with the embeddings of the partition's N prompts (what Semantic holds for it).
std::unique_ptr<lc::FlatMatcher> matcher_for(const Partition& p) {
    const lc::HashingEmbedder e;
    auto m = std::make_unique<lc::FlatMatcher>(e.dimensions());
    (void)m->add(0, e.embed(kStored));
    for (std::size_t i = 1; i < p.n; ++i)
        (void)m->add(i, e.embed(p.other(i).last_user_text()));
    return m;
}

template <class Plain, class Guarded>
void register_store(const std::string& store_name, Plain& plain, Guarded& guarded, const Partition& p,
                    bool with_exact, bool real_time) {
    const std::string n = "/" + std::to_string(p.n);
    std::vector<benchmark::internal::Benchmark*> b;
    if (with_exact)
        b.push_back(benchmark::RegisterBenchmark((store_name + "/ExactHit" + n).c_str(), BM_Lookup<Plain>,
                                                 &plain, &p, Lookup::exact_hit));
    b.push_back(benchmark::RegisterBenchmark((store_name + "/SemanticHit" + n).c_str(), BM_Lookup<Plain>,
                                             &plain, &p, Lookup::semantic_hit));
    b.push_back(benchmark::RegisterBenchmark((store_name + "/SemanticHitGuard" + n).c_str(),
                                             BM_Lookup<Guarded>, &guarded, &p, Lookup::semantic_hit));
    b.push_back(benchmark::RegisterBenchmark((store_name + "/SemanticMiss" + n).c_str(), BM_Lookup<Plain>,
                                             &plain, &p, Lookup::semantic_miss));
    for (auto* x : b)
        if (real_time)
            x->UseRealTime();
}

// ---- Redis -------------------------------------------------------------------------------------

#if LLMCACHE_WITH_HIREDIS
struct RawGet {
    int port;
    std::string entry_key;  ///< the stored question's exact key
    std::string absent_key; ///< the reworded question's exact key (never stored)
};

redisReply* get(redisContext* c, const std::string& key) {
    return static_cast<redisReply*>(redisCommand(c, "GET %b", key.data(), key.size()));
}

void BM_Raw_Get(benchmark::State& state, const RawGet* raw, bool absent_first) {
    redisContext* c = redisConnect("127.0.0.1", raw->port);
    if (c == nullptr || c->err) {
        state.SkipWithError("redisConnect failed");
        if (c != nullptr)
            redisFree(c);
        return;
    }
    Latencies lat(state);
    for (auto _ : state) {
        const auto t = Clock::now();
        bool ok = true;
        if (absent_first) {
            redisReply* nil = get(c, raw->absent_key);
            ok = nil != nullptr && nil->type == REDIS_REPLY_NIL;
            if (nil != nullptr)
                freeReplyObject(nil);
        }
        redisReply* r = get(c, raw->entry_key);
        lat.add(t);
        if (!ok || r == nullptr || r->type != REDIS_REPLY_STRING) {
            if (r != nullptr)
                freeReplyObject(r);
            state.SkipWithError("raw GET failed");
            break;
        }
        benchmark::DoNotOptimize(r->str);
        freeReplyObject(r);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    lat.report(state);
    redisFree(c);
}
#endif

} // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);

    // 1. Embedding throughput next to XXH3, memcpy and the feature-hashing floor.
    for (const SizedText& t : texts()) {
        const std::string s = t.name;
        benchmark::RegisterBenchmark(("Embed/Hashing/" + s).c_str(), BM_Embed, &t.text);
        benchmark::RegisterBenchmark(("Ref/FeatureHashes/" + s).c_str(), BM_Ref_FeatureHashes, &t.text);
        benchmark::RegisterBenchmark(("Ref/XXH3_64/" + s).c_str(), BM_Ref_XXH3, &t.text);
        benchmark::RegisterBenchmark(("Ref/memcpy/" + s).c_str(), BM_Ref_Memcpy, &t.text);
    }

    // The embeddings a semantic hit and a semantic miss below compute (for the breakdown).
    static const std::string reworded_text(kReworded), unrelated_text(kUnrelated);
    benchmark::RegisterBenchmark("Parts/Embed/reworded", BM_Embed, &reworded_text);
    benchmark::RegisterBenchmark("Parts/Embed/unrelated", BM_Embed, &unrelated_text);

    // 2. The guard, per candidate.
    for (const GuardPair& g : kGuardPairs) {
        if (lc::FalseHitGuard{}.accepts(g.query, g.candidate) != g.accepted)
            die(std::string("guard pair ") + g.name + ": unexpected verdict");
        benchmark::RegisterBenchmark((std::string("Guard/accepts/") + g.name).c_str(), BM_Guard, &g);
    }

    // 3. Lookups. Partitions, matchers and caches live until the end of main.
    std::map<std::size_t, std::unique_ptr<Partition>> partitions;
    const auto partition = [&](std::size_t n) -> const Partition& {
        auto& p = partitions[n];
        if (!p)
            p = std::make_unique<Partition>(n);
        return *p;
    };
    const lc::HashingEmbedder embedder;
    const std::vector<float> unrelated_vector = embedder.embed(kUnrelated);
    std::vector<std::unique_ptr<lc::FlatMatcher>> matchers;
    for (const std::size_t n : {std::size_t{1}, std::size_t{1000}, std::size_t{10'000}}) {
        matchers.push_back(matcher_for(partition(n)));
        benchmark::RegisterBenchmark(("Scan/Flat/" + std::to_string(n)).c_str(), BM_Scan,
                                     matchers.back().get(), &unrelated_vector);
    }
    for (std::size_t i = 0; i < matchers.size(); ++i)
        benchmark::RegisterBenchmark(
            ("Guard/accepts_after_scan/" + std::to_string(matchers[i]->size())).c_str(), BM_GuardAfterScan,
            matchers[i].get(), &unrelated_vector)
            ->UseManualTime();

    using MemPlain = SemanticBenchCache<lc::MemoryStore, lc::AcceptAll>;
    using MemGuarded = SemanticBenchCache<lc::MemoryStore, lc::FalseHitGuard>;
    const auto semantic = [](auto verifier) {
        return lc::Semantic<lc::HashingEmbedder, lc::FlatMatcher, decltype(verifier)>(lc::HashingEmbedder{},
                                                                                      {}, verifier);
    };
    std::vector<std::unique_ptr<MemPlain>> mem_plain;
    std::vector<std::unique_ptr<MemGuarded>> mem_guarded;
    for (const std::size_t n : {std::size_t{1}, std::size_t{1000}, std::size_t{10'000}}) {
        const Partition& p = partition(n);
        mem_plain.push_back(std::make_unique<MemPlain>(lc::Xxh3Key<>{}, lc::MemoryStore{},
                                                       semantic(lc::AcceptAll{}), lc::ttl::Fixed{1h},
                                                       lc::CallableBackend{UnusedModel{}}));
        mem_guarded.push_back(std::make_unique<MemGuarded>(lc::Xxh3Key<>{}, lc::MemoryStore{},
                                                           semantic(lc::FalseHitGuard{}), lc::ttl::Fixed{1h},
                                                           lc::CallableBackend{UnusedModel{}}));
        fill_and_check(*mem_plain.back(), p, "MemoryStore");
        fill_and_check(*mem_guarded.back(), p, "MemoryStore + guard");
        register_store("Memory", *mem_plain.back(), *mem_guarded.back(), p, n == 1000, false);
    }

#if LLMCACHE_WITH_HIREDIS
    using RedisPlain = SemanticBenchCache<lc::RedisStore, lc::AcceptAll>;
    using RedisGuarded = SemanticBenchCache<lc::RedisStore, lc::FalseHitGuard>;
    std::unique_ptr<llmcache_test::RedisServer> server;
    try {
        server = std::make_unique<llmcache_test::RedisServer>(
            llmcache_test::RedisServerOptions{.config = {"maxmemory 512mb", "maxmemory-policy allkeys-lru"}});
    } catch (const std::exception& e) {
        die(e.what());
    }
    lc::RedisStoreOptions ro;
    ro.url = server->url();
    ro.pool_size = 2;
    ro.pool_wait = 1s;
    ro.command_timeout = 2s;
    lc::CacheOptions co;
    co.store_budget = 0ms; // unlimited: a preempted call on the shared machine must not become a miss
    std::vector<std::unique_ptr<RedisPlain>> redis_plain;
    std::vector<std::unique_ptr<RedisGuarded>> redis_guarded;
    std::unique_ptr<RawGet> raw;
    for (const std::size_t n : {std::size_t{1}, std::size_t{1000}}) {
        const Partition& p = partition(n);
        redis_plain.push_back(std::make_unique<RedisPlain>(
            lc::Xxh3Key<>{}, lc::RedisStore(ro), semantic(lc::AcceptAll{}), lc::ttl::Fixed{1h},
            lc::CallableBackend{UnusedModel{}}, lc::NullObserver{}, co));
        redis_guarded.push_back(std::make_unique<RedisGuarded>(
            lc::Xxh3Key<>{}, lc::RedisStore(ro), semantic(lc::FalseHitGuard{}), lc::ttl::Fixed{1h},
            lc::CallableBackend{UnusedModel{}}, lc::NullObserver{}, co));
        // Both caches write the same keys (same key policy and embedder); each also loads the
        // partition index once on its first lookup.
        fill_and_check(*redis_plain.back(), p, "RedisStore");
        fill_and_check(*redis_guarded.back(), p, "RedisStore + guard");
        if (n == 1000) {
            raw = std::make_unique<RawGet>(RawGet{server->port(), redis_plain.back()->key_for(p.stored),
                                                  redis_plain.back()->key_for(p.reworded)});
            benchmark::RegisterBenchmark("Redis/Raw/Get", BM_Raw_Get, raw.get(), false)->UseRealTime();
            benchmark::RegisterBenchmark("Redis/Raw/GetNilThenGet", BM_Raw_Get, raw.get(), true)
                ->UseRealTime();
        }
        register_store("Redis", *redis_plain.back(), *redis_guarded.back(), p, n == 1000, true);
    }
#else
    std::puts("bench_semantic: built without LLMCACHE_WITH_HIREDIS=1; no Redis rows");
#endif

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
