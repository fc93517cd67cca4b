// semantic_quality: how often a semantic cache would serve the right answer, and how often the
// wrong one, on the hand-written dataset tests/data/semantic_pairs.tsv (108 paraphrase pairs, 108
// hard negatives; see the file's header).
//
// For each embedder and each cosine-distance threshold t it prints, as Markdown:
//   pairwise   one entry at a time: index prompt a, query with b. A paraphrase is a true hit when
//              distance(a, b) <= t; a hard negative is a false hit when distance(a, b) <= t.
//   retrieval  all 216 "a" prompts indexed together (FlatMatcher), each "b" queried: the served
//              entry is the nearest one within t (with the guard: the nearest within t, among the
//              5 nearest, that FalseHitGuard accepts, as Semantic applies it). A paraphrase query
//              is a true hit when its own pair is served and a false hit when another row is; a
//              negative query served anything is a false hit.
// each without and with the guard, then the largest threshold whose false-hit rate is at most 1%.
//
// Embedders: HashingEmbedder at 256, 384 (the default) and 1024 dimensions; StaticWordEmbeddings
// when --vectors names a GloVe or fastText text file (none ships with llmcache, and none
// was available offline when the README's numbers were measured).
//
// The default --data is the source tree's file (LLMCACHE_SOURCE_DIR, set by CMake), so it runs from
// any directory.
//
//   semantic_quality [--data FILE] [--vectors FILE] [--from T] [--to T] [--step T] [--kinds]
#include <llmcache/embed/static_words.hpp>
#include <llmcache/guard/false_hit.hpp>
#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

#ifdef LLMCACHE_SOURCE_DIR
const std::string default_data = std::string(LLMCACHE_SOURCE_DIR) + "/tests/data/semantic_pairs.tsv";
#else
const std::string default_data = "tests/data/semantic_pairs.tsv";
#endif

struct Pair {
    bool paraphrase = false;
    std::string domain;
    std::string kind;
    std::string a;
    std::string b;
};

struct Options {
    std::string data = default_data;
    std::string vectors;
    double from = 0.05;
    double to = 0.60;
    double step = 0.025;
    bool kinds = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(
        stderr,
        "semantic_quality: %s\n"
        "usage: semantic_quality [--data FILE] [--vectors FILE] [--from T] [--to T] [--step T] [--kinds]\n"
        "  --data FILE     the dataset (default %s)\n"
        "  --vectors FILE  also measure StaticWordEmbeddings on this GloVe/fastText text file\n"
        "  --from/--to/--step T  cosine-distance thresholds (default 0.05 to 0.60 by 0.025)\n"
        "  --kinds         per-kind rates at the chosen thresholds\n",
        why, default_data.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage("missing value after an option");
            }
            return argv[++i];
        };
        const auto number = [&]() {
            const std::string v = value();
            char* end = nullptr;
            const double d = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(d >= 0.0) || d > 2.0) {
                usage("a threshold must be a number in [0, 2]");
            }
            return d;
        };
        if (arg == "--data") {
            o.data = value();
        } else if (arg == "--vectors") {
            o.vectors = value();
        } else if (arg == "--from") {
            o.from = number();
        } else if (arg == "--to") {
            o.to = number();
        } else if (arg == "--step") {
            o.step = number();
        } else if (arg == "--kinds") {
            o.kinds = true;
        } else {
            usage("unknown argument");
        }
    }
    if (!(o.step > 0.0) || o.to < o.from) {
        usage("need --step > 0 and --from <= --to");
    }
    return o;
}

std::vector<Pair> load_pairs(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr,
                     "semantic_quality: cannot open %s (run from the repository root or pass --data)\n",
                     path.c_str());
        std::exit(1);
    }
    std::vector<Pair> pairs;
    std::string line;
    bool header = true;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        if (header) {
            header = false; // label domain kind a b
            continue;
        }
        std::vector<std::string> fields;
        std::stringstream ss(line);
        for (std::string field; std::getline(ss, field, '\t');) {
            fields.push_back(field);
        }
        if (fields.size() != 5 || (fields[0] != "para" && fields[0] != "neg")) {
            std::fprintf(stderr, "semantic_quality: %s:%d: expected label<TAB>domain<TAB>kind<TAB>a<TAB>b\n",
                         path.c_str(), number);
            std::exit(1);
        }
        pairs.push_back(Pair{fields[0] == "para", fields[1], fields[2], fields[3], fields[4]});
    }
    return pairs;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        s += static_cast<double>(a[i]) * b[i];
    }
    return s;
}

struct Rates {
    int true_hits = 0;
    int para_wrong = 0; // a paraphrase query served another row (retrieval only)
    int false_hits = 0; // negatives served
    int paraphrases = 0;
    int negatives = 0;
    [[nodiscard]] double true_rate() const { return paraphrases ? double(true_hits) / paraphrases : 0.0; }
    /// Pairwise: negatives served / negatives. Retrieval: every wrong answer / every query.
    [[nodiscard]] double false_rate(bool retrieval) const {
        if (retrieval) {
            return double(false_hits + para_wrong) / (paraphrases + negatives);
        }
        return negatives ? double(false_hits) / negatives : 0.0;
    }
};

std::string percent(int n, int d) {
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%.1f%% (%d/%d)", d ? 100.0 * n / d : 0.0, n, d);
    return buffer;
}

constexpr std::size_t candidates = 5; // as many as Semantic would hand the guard

/// Everything that does not depend on the threshold, computed once per embedder.
struct Measured {
    std::vector<double> pair_distance; // distance(a_i, b_i), NaN when either has no vector
    std::vector<std::vector<llmcache::MatchResult>> nearest; // per query b_i: top candidates
};

template <class Embedder>
Measured measure(const Embedder& e, const std::vector<Pair>& pairs, double max_t) {
    Measured m;
    const std::size_t d = e.dimensions();
    llmcache::FlatMatcher index(d);
    std::vector<std::vector<float>> a(pairs.size(), std::vector<float>(d));
    std::vector<std::vector<float>> b(pairs.size(), std::vector<float>(d));
    std::vector<bool> a_ok(pairs.size());
    std::vector<bool> b_ok(pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        a_ok[i] = e.embed_into(pairs[i].a, a[i]);
        b_ok[i] = e.embed_into(pairs[i].b, b[i]);
        if (a_ok[i]) {
            index.add(i, a[i]);
        }
    }
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        m.pair_distance.push_back(a_ok[i] && b_ok[i] ? 1.0 - dot(a[i], b[i]) : std::nan(""));
        m.nearest.push_back(b_ok[i] ? index.top_k(b[i], candidates, static_cast<float>(max_t))
                                    : std::vector<llmcache::MatchResult>{});
    }
    return m;
}

Rates pairwise(const Measured& m, const std::vector<Pair>& pairs, const std::vector<bool>& guard_ok, double t,
               bool guarded, const std::string& kind = {}) {
    Rates r;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        if (!kind.empty() && pairs[i].kind != kind) {
            continue;
        }
        const bool hit = m.pair_distance[i] <= t && (!guarded || guard_ok[i]);
        if (pairs[i].paraphrase) {
            ++r.paraphrases;
            r.true_hits += hit ? 1 : 0;
        } else {
            ++r.negatives;
            r.false_hits += hit ? 1 : 0;
        }
    }
    return r;
}

Rates retrieval(const Measured& m, const std::vector<Pair>& pairs, const llmcache::FalseHitGuard* guard,
                double t) {
    Rates r;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        std::optional<std::size_t> served;
        for (const llmcache::MatchResult& c : m.nearest[i]) {
            if (c.distance > t) {
                break;
            }
            if (guard == nullptr || guard->accepts(pairs[i].b, pairs[c.id].a)) {
                served = static_cast<std::size_t>(c.id);
                break;
            }
        }
        if (pairs[i].paraphrase) {
            ++r.paraphrases;
            r.true_hits += served == i ? 1 : 0;
            r.para_wrong += served && *served != i ? 1 : 0;
        } else {
            ++r.negatives;
            r.false_hits += served ? 1 : 0;
        }
    }
    return r;
}

std::vector<double> thresholds(const Options& o) {
    std::vector<double> ts;
    for (int k = 0;; ++k) {
        const double t = o.from + k * o.step;
        if (t > o.to + 1e-9) {
            break;
        }
        ts.push_back(std::round(t * 1e6) / 1e6);
    }
    return ts;
}

struct Choice {
    double t = -1.0;
    Rates rates;
};

void print_choice(const char* what, const Choice& c, bool retrieval, double top) {
    if (c.t < 0.0) {
        std::printf("- %s: no threshold in the range keeps false hits at or below 1%%\n", what);
        return;
    }
    std::printf("- %s: **%.3f** (true hits %s, false hits %.1f%%)%s\n", what, c.t,
                percent(c.rates.true_hits, c.rates.paraphrases).c_str(),
                100.0 * c.rates.false_rate(retrieval),
                c.t >= top ? ", the top of the range: false hits had not grown yet" : "");
}

template <class Embedder>
void report(const std::string& name, const Embedder& e, const std::vector<Pair>& pairs, const Options& o,
            const llmcache::FalseHitGuard& guard, const std::vector<bool>& guard_ok) {
    const std::vector<double> ts = thresholds(o);
    const Measured m = measure(e, pairs, ts.back());
    std::printf("\n### %s (`%s`)\n\n", name.c_str(), std::string(e.id()).c_str());

    std::printf("Pairwise (one entry indexed, its partner queried):\n\n");
    std::printf("| max distance | true hits | false hits | true hits, guard | false hits, guard |\n");
    std::printf("|---|---|---|---|---|\n");
    Choice plain_pick;
    Choice guard_pick;
    for (const double t : ts) {
        const Rates plain = pairwise(m, pairs, guard_ok, t, false);
        const Rates guarded = pairwise(m, pairs, guard_ok, t, true);
        std::printf("| %.3f | %s | %s | %s | %s |\n", t, percent(plain.true_hits, plain.paraphrases).c_str(),
                    percent(plain.false_hits, plain.negatives).c_str(),
                    percent(guarded.true_hits, guarded.paraphrases).c_str(),
                    percent(guarded.false_hits, guarded.negatives).c_str());
        if (plain.false_rate(false) <= 0.01) {
            plain_pick = {t, plain};
        }
        if (guarded.false_rate(false) <= 0.01) {
            guard_pick = {t, guarded};
        }
    }
    std::printf("\nLargest threshold with at most 1%% false hits (pairwise):\n\n");
    print_choice("without the guard", plain_pick, false, ts.back());
    print_choice("with the guard", guard_pick, false, ts.back());

    std::printf(
        "\nRetrieval (all %zu \"a\" prompts indexed; wrong row or any hit for a negative = false hit):\n\n",
        pairs.size());
    std::printf(
        "| max distance | true hits | wrong row | negatives hit | true hits, guard | wrong row, guard "
        "| negatives hit, guard |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    Choice plain_retrieval;
    Choice guard_retrieval;
    for (const double t : ts) {
        const Rates plain = retrieval(m, pairs, nullptr, t);
        const Rates guarded = retrieval(m, pairs, &guard, t);
        std::printf("| %.3f | %s | %d | %s | %s | %d | %s |\n", t,
                    percent(plain.true_hits, plain.paraphrases).c_str(), plain.para_wrong,
                    percent(plain.false_hits, plain.negatives).c_str(),
                    percent(guarded.true_hits, guarded.paraphrases).c_str(), guarded.para_wrong,
                    percent(guarded.false_hits, guarded.negatives).c_str());
        if (plain.false_rate(true) <= 0.01) {
            plain_retrieval = {t, plain};
        }
        if (guarded.false_rate(true) <= 0.01) {
            guard_retrieval = {t, guarded};
        }
    }
    std::printf("\nLargest threshold with at most 1%% false hits over all %zu queries (retrieval):\n\n",
                pairs.size());
    print_choice("without the guard", plain_retrieval, true, ts.back());
    print_choice("with the guard", guard_retrieval, true, ts.back());

    if (o.kinds && guard_pick.t >= 0.0) {
        std::map<std::string, bool> kinds;
        for (const Pair& p : pairs) {
            kinds.emplace(p.kind, p.paraphrase);
        }
        std::printf("\nBy kind, pairwise at %.3f (the guarded choice): hit rate without / with the guard\n\n",
                    guard_pick.t);
        std::printf("| kind | paraphrase or negative | without guard | with guard |\n|---|---|---|---|\n");
        for (const auto& [kind, paraphrase] : kinds) {
            const Rates plain = pairwise(m, pairs, guard_ok, guard_pick.t, false, kind);
            const Rates guarded = pairwise(m, pairs, guard_ok, guard_pick.t, true, kind);
            std::printf("| %s | %s | %s | %s |\n", kind.c_str(), paraphrase ? "paraphrase" : "negative",
                        paraphrase ? percent(plain.true_hits, plain.paraphrases).c_str()
                                   : percent(plain.false_hits, plain.negatives).c_str(),
                        paraphrase ? percent(guarded.true_hits, guarded.paraphrases).c_str()
                                   : percent(guarded.false_hits, guarded.negatives).c_str());
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    const std::vector<Pair> pairs = load_pairs(o.data);
    const llmcache::FalseHitGuard guard;

    // The guard's verdict on each pair (query b, cached a) does not depend on the threshold.
    std::vector<bool> guard_ok;
    int para = 0;
    int para_ok = 0;
    int neg = 0;
    int neg_ok = 0;
    std::map<std::string, int> reasons;
    for (const Pair& p : pairs) {
        const llmcache::GuardVerdict v = guard.explain(p.b, p.a);
        guard_ok.push_back(v.accepted);
        (p.paraphrase ? para : neg) += 1;
        (p.paraphrase ? para_ok : neg_ok) += v.accepted ? 1 : 0;
        if (!p.paraphrase && !v.accepted) {
            ++reasons[std::string(llmcache::to_string(v.reason))];
        }
    }
    std::printf("Dataset: %s: %d paraphrase pairs, %d hard negatives.\n\n", o.data.c_str(), para, neg);
    std::printf("FalseHitGuard alone: accepts %s of the paraphrases, rejects %s of the hard negatives (",
                percent(para_ok, para).c_str(), percent(neg - neg_ok, neg).c_str());
    bool first = true;
    for (const auto& [reason, count] : reasons) {
        std::printf("%s%s %d", first ? "" : ", ", reason.c_str(), count);
        first = false;
    }
    std::printf(").\n");

    for (const std::size_t d : {std::size_t{256}, std::size_t{384}, std::size_t{1024}}) {
        llmcache::HashingEmbedder::Options eo;
        eo.dimensions = d;
        report("HashingEmbedder, " + std::to_string(d) + " dimensions", llmcache::HashingEmbedder(eo), pairs,
               o, guard, guard_ok);
    }
    if (!o.vectors.empty()) {
        auto loaded = llmcache::StaticWordEmbeddings::from_file(o.vectors);
        if (!loaded) {
            std::fprintf(stderr, "semantic_quality: %s\n", loaded.error().message.c_str());
            return 1;
        }
        report("StaticWordEmbeddings, " + o.vectors, *loaded, pairs, o, guard, guard_ok);
    } else {
        std::printf("\n(StaticWordEmbeddings not measured: pass --vectors FILE with GloVe or fastText text "
                    "vectors.)\n");
    }
    return 0;
}
