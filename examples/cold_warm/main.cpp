// cold_warm: the first measurement a llmcache user runs.
//
// 50 prompts (25 questions, each followed by a paraphrase) go through a chat model: once cold (no
// cache); then the cache is warmed with the 25 questions, as a deploy would, and the 50 prompts go
// through it twice. The cache is exact first, then semantic (HashingEmbedder, FlatMatcher,
// FalseHitGuard), so a paraphrase can be served its question's answer; each such answer is checked
// against the question's own, so a false hit would be counted and shown. For each pass it prints
// p50, p95 and total latency, exact and semantic hits, tokens billed and saved, and the cost at
// published Claude rates. --exact-only runs the same passes with an exact cache.
//
// By default it runs on SimulatedModel, whose latency is modelled on real chat calls and scaled
// down so the demo takes seconds; everything simulated is labelled. `--model anthropic` or
// `--model openai` makes real calls (AnthropicBackend / OpenAIBackend, key from the environment);
// without a key the demo says so and falls back to the simulated model. The store is Redis when
// REDIS_URL is set (and llmcache was built with hiredis), the in-memory store otherwise.
// Exit status: 0, or 3 when any paraphrase was served another question's answer (a false hit).
//
//   cold_warm [--prompts FILE] [--scale X] [--model simulated|anthropic|openai|ID] [--model-id ID]
//             [--log FILE] [--store memory|redis] [--max-distance D] [--exact-only]
#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string prompts_path = "examples/cold_warm/prompts.txt";
    double scale = 0.01;
    std::string model = "claude-sonnet-4-5";
    std::string backend = "simulated"; ///< simulated, anthropic or openai
    bool model_id_given = false;
    std::string log_path;
    std::string store; ///< "memory", "redis" or empty: Redis when REDIS_URL is set
    /// The cosine-distance threshold for HashingEmbedder + FalseHitGuard that the semantic-quality
    /// measurement (examples/semantic_quality, README "Semantic quality") recommends.
    float max_distance = 0.50f;
    bool max_distance_given = false;
    bool exact_only = false;
    std::string embedder = "hashing"; ///< hashing (offline) or openai (an OpenAI-compatible server)
    std::string embedding_model = "text-embedding-3-small";
    std::size_t embedding_dimensions = 1536;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "cold_warm: %s\n"
                 "usage: cold_warm [--prompts FILE] [--scale X] [--model M] [--model-id ID] [--log FILE]\n"
                 "  --prompts FILE  pairs of question<TAB>paraphrase, one per line (default %s)\n"
                 "  --scale X       simulated model latency factor, 0 < X <= 1 (default 0.01)\n"
                 "  --model M       simulated (default), anthropic (real calls, ANTHROPIC_API_KEY) or\n"
                 "                  openai (real calls, OPENAI_API_KEY and/or OPENAI_BASE_URL); any other\n"
                 "                  value is a model id for the simulated model, as --model-id\n"
                 "  --model-id ID   model id sent and priced (default claude-sonnet-4-5; with --model\n"
                 "                  anthropic: claude-haiku-4-5, with --model openai: gpt-4o-mini)\n"
                 "  --log FILE      write one JSON line per cached call (with cache_hit) to FILE\n"
                 "  --store S       memory or redis (default: redis when REDIS_URL is set)\n"
                 "  --max-distance D  semantic threshold, cosine distance in [0, 2] (default 0.50, the\n"
                 "                  value README \"Semantic quality\" measured for HashingEmbedder + guard)\n"
                 "  --exact-only    an exact cache only (no semantic layer), for comparison\n"
                 "  --embedder E    hashing (default; offline, lexical) or openai: /v1/embeddings of\n"
                 "                  OPENAI_BASE_URL (default the OpenAI API) with OPENAI_API_KEY; default\n"
                 "                  threshold then 0.20 (RedisSemanticCache's), not measured here\n"
                 "  --embedding-model M, --embedding-dimensions N   for --embedder openai\n"
                 "                  (default text-embedding-3-small, 1536)\n",
                 why, Options{}.prompts_path.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                usage("missing value after an option");
            return argv[++i];
        };
        if (a == "--prompts")
            o.prompts_path = value();
        else if (a == "--scale") {
            char* end = nullptr;
            const std::string v = value();
            o.scale = std::strtod(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(o.scale > 0.0 && o.scale <= 1.0))
                usage("--scale must be a number in (0, 1]");
        } else if (a == "--model") {
            const std::string m = value();
            if (m == "simulated" || m == "anthropic" || m == "openai") {
                o.backend = m;
            } else {
                o.model = m;
                o.model_id_given = true;
            }
        } else if (a == "--model-id") {
            o.model = value();
            o.model_id_given = true;
        } else if (a == "--log")
            o.log_path = value();
        else if (a == "--store") {
            o.store = value();
            if (o.store != "memory" && o.store != "redis")
                usage("--store must be memory or redis");
        } else if (a == "--max-distance") {
            char* end = nullptr;
            const std::string v = value();
            o.max_distance = std::strtof(v.c_str(), &end);
            if (end == v.c_str() || *end != '\0' || !(o.max_distance >= 0.0f && o.max_distance <= 2.0f))
                usage("--max-distance must be a number in [0, 2]");
            o.max_distance_given = true;
        } else if (a == "--embedder") {
            o.embedder = value();
            if (o.embedder != "hashing" && o.embedder != "openai")
                usage("--embedder must be hashing or openai");
        } else if (a == "--embedding-model")
            o.embedding_model = value();
        else if (a == "--embedding-dimensions") {
            const std::string v = value();
            char* end = nullptr;
            const unsigned long long d = std::strtoull(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || d == 0 || d > 65536)
                usage("--embedding-dimensions must be a whole number in [1, 65536]");
            o.embedding_dimensions = static_cast<std::size_t>(d);
        } else if (a == "--exact-only")
            o.exact_only = true;
        else if (a == "--help" || a == "-h")
            usage("help");
        else
            usage("unknown option");
    }
    return o;
}

/// Reads "question<TAB>paraphrase" lines into one list: q1, p1, q2, p2, ...
std::vector<std::string> load_prompts(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "cold_warm: cannot open prompts file %s\n", path.c_str());
        std::exit(1);
    }
    std::vector<std::string> prompts;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.empty() || line[0] == '#')
            continue;
        const auto tab = line.find('\t');
        if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) {
            std::fprintf(stderr, "cold_warm: %s:%d: expected question<TAB>paraphrase\n", path.c_str(),
                         number);
            std::exit(1);
        }
        prompts.push_back(line.substr(0, tab));
        prompts.push_back(line.substr(tab + 1));
    }
    if (prompts.empty()) {
        std::fprintf(stderr, "cold_warm: %s holds no prompts\n", path.c_str());
        std::exit(1);
    }
    return prompts;
}

struct PassResult {
    std::string name;
    std::vector<double> latency_s;
    std::size_t hits = 0;
    std::size_t semantic_hits = 0;     ///< of `hits`
    std::size_t paraphrase_hits = 0;   ///< hits on the paraphrases (every second prompt)
    std::size_t wrong_answers = 0;     ///< a paraphrase served another question's answer
    std::vector<std::string> missed{}; ///< paraphrases that reached the model
    std::size_t model_calls = 0;
    std::uint64_t in_billed = 0, out_billed = 0, in_saved = 0, out_saved = 0;
    std::size_t errors = 0;
    std::string first_error{};
};

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    // nearest rank: the smallest value with at least p of the samples at or below it
    std::size_t rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
    rank = std::clamp<std::size_t>(rank, 1, v.size());
    return v[rank - 1];
}

std::string human(double seconds) {
    char buf[32];
    if (seconds < 1e-6)
        std::snprintf(buf, sizeof buf, "%.0f ns", seconds * 1e9);
    else if (seconds < 1e-3)
        std::snprintf(buf, sizeof buf, "%.1f us", seconds * 1e6);
    else if (seconds < 1.0)
        std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1e3);
    else
        std::snprintf(buf, sizeof buf, "%.2f s", seconds);
    return buf;
}

double dollars(std::uint64_t in, std::uint64_t out, const llmcache::Price& p) {
    return (static_cast<double>(in) * p.input_per_mtok + static_cast<double>(out) * p.output_per_mtok) / 1e6;
}

void account(PassResult& pass, const llmcache::Response& r) {
    const auto in = r.usage.input_tokens.value_or(0), out = r.usage.output_tokens.value_or(0);
    if (r.cache_hit) {
        ++pass.hits;
        pass.in_saved += in;
        pass.out_saved += out;
    } else {
        ++pass.model_calls;
        pass.in_billed += in;
        pass.out_billed += out;
    }
}

/// What the deploy warm-up did.
struct WarmUp {
    llmcache::WarmReport report{};
    double seconds = 0;
};

/// Runs the passes on `store`: cold (the model alone), the deploy warm-up with the questions, then
/// two warm passes over all prompts through a cache with `similarity`.
template <class Store, class Similarity, class Backend, class LogCall>
void run_passes(Store store, Similarity similarity, Backend& model, const Options& opt,
                const std::vector<std::string>& prompts, LogCall log_call, std::vector<PassResult>& passes,
                WarmUp& warm_up, llmcache::CacheStats& stats) {
    // Keys of their own, so that the demo never touches other entries in a shared Redis, and
    // clear_all() below empties exactly the demo's keys (semantic records and indexes included).
    llmcache::Cache cache{llmcache::Xxh3Key{llmcache::KeyOptions{"llmcache-demo"}},
                          std::move(store),
                          std::move(similarity),
                          llmcache::ttl::StaticFaq{},
                          model,
                          llmcache::CallbackObserver{log_call}};
    (void)cache.clear_all(); // every run starts from an empty cache

    auto request_for = [&](const std::string& prompt) {
        llmcache::Request req = llmcache::Request::chat(opt.model, prompt);
        if (opt.backend != "simulated")
            req.params.max_tokens = 1024; // bounds the bill; long enough that answers finish
        return req;
    };
    {
        PassResult cold;
        cold.name = "cold (no cache)";
        for (const std::string& p : prompts) {
            const auto t0 = Clock::now();
            auto r = model.complete(request_for(p));
            cold.latency_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            if (r)
                account(cold, *r);
            else if (++cold.errors == 1)
                cold.first_error = r.error().message;
        }
        passes.push_back(std::move(cold));
    }

    // Deploy: the hot set (here the questions) is fetched once, before users arrive.
    std::vector<llmcache::Request> questions;
    for (std::size_t i = 0; i < prompts.size(); i += 2)
        questions.push_back(request_for(prompts[i]));
    const auto w0 = Clock::now();
    warm_up.report = cache.warm(questions);
    warm_up.seconds = std::chrono::duration<double>(Clock::now() - w0).count();
    // The answer each question got, to check what a paraphrase is served against.
    std::vector<std::string> answer_of;
    for (const llmcache::Request& q : questions) {
        auto a = cache.lookup(q);
        answer_of.push_back(a ? a->text : std::string{});
    }

    std::vector<std::string> own_answer(prompts.size()); // what a prompt got when it reached the model
    for (const char* name : {"warm, 1st pass", "warm, 2nd pass"}) {
        PassResult pass;
        pass.name = name;
        for (std::size_t i = 0; i < prompts.size(); ++i) {
            const std::uint64_t semantic_before = cache.stats().semantic_hits;
            const auto t0 = Clock::now();
            auto r = cache.invoke(request_for(prompts[i]));
            pass.latency_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            if (!r) {
                if (++pass.errors == 1)
                    pass.first_error = r.error().message;
                continue;
            }
            account(pass, *r);
            const bool paraphrase = i % 2 == 1;
            if (cache.stats().semantic_hits > semantic_before)
                ++pass.semantic_hits;
            if (!r->cache_hit) {
                own_answer[i] = r->text;
                if (paraphrase)
                    pass.missed.push_back(prompts[i]);
            } else if (paraphrase) {
                ++pass.paraphrase_hits;
                // A paraphrase served from the cache must get its question's answer, or its own
                // (stored when it missed earlier): anything else is another question's answer.
                const bool right =
                    r->text == answer_of[i / 2] || (!own_answer[i].empty() && r->text == own_answer[i]);
                if (!right)
                    ++pass.wrong_answers;
            }
        }
        passes.push_back(std::move(pass));
    }
    stats = cache.stats();
}

/// The model behind the demo: the simulated one, or a real provider chosen with --model.
struct DemoModel {
#if LLMCACHE_WITH_CURL
    std::variant<llmcache::SimulatedModel, llmcache::AnthropicBackend, llmcache::OpenAIBackend> impl;
#else
    std::variant<llmcache::SimulatedModel> impl;
#endif
    std::string label;         ///< what the output calls it, when it is real
    std::string fallback_note; ///< why a real model was asked for but not used

    bool simulated() const noexcept {
        return std::holds_alternative<llmcache::SimulatedModel>(impl);
    }
    llmcache::Result<llmcache::Response> complete(const llmcache::Request& req) {
        return std::visit([&](auto& m) { return m.complete(req); }, impl);
    }
};

/// Picks the model for --model: a real backend when its key (or, for OpenAI-compatible servers,
/// OPENAI_BASE_URL) is in the environment, the simulated model otherwise, with a note saying why.
DemoModel choose_model(Options& opt, const llmcache::SimulatedModelOptions& sim) {
    DemoModel m{llmcache::SimulatedModel(sim), {}, {}};
    if (opt.backend == "simulated")
        return m;
#if LLMCACHE_WITH_CURL
    if (opt.backend == "anthropic") {
        auto claude = llmcache::AnthropicBackend::from_env();
        if (!claude.has_api_key()) {
            m.fallback_note =
                "--model anthropic: ANTHROPIC_API_KEY is not set, so this run uses the simulated "
                "model instead";
            return m;
        }
        if (!opt.model_id_given)
            opt.model = "claude-haiku-4-5";
        m.label = "Anthropic " + opt.model + " at " + claude.url();
        m.impl = std::move(claude);
        return m;
    }
    auto gpt = llmcache::OpenAIBackend::from_env();
    const char* base = std::getenv("OPENAI_BASE_URL");
    if (!gpt.has_api_key() && (base == nullptr || *base == '\0')) {
        m.fallback_note = "--model openai: neither OPENAI_API_KEY nor OPENAI_BASE_URL (for a local "
                          "OpenAI-compatible server) is set, so this run uses the simulated model instead";
        return m;
    }
    if (!opt.model_id_given)
        opt.model = "gpt-4o-mini";
    m.label = "OpenAI-compatible " + opt.model + " at " + gpt.url();
    m.impl = std::move(gpt);
#else
    m.fallback_note = "--model " + opt.backend +
                      ": this build has no HTTP backends (libcurl and simdjson "
                      "were not found when it was configured), so this run uses the simulated model instead";
#endif
    return m;
}

} // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    const std::vector<std::string> prompts = load_prompts(opt.prompts_path);

    llmcache::SimulatedModelOptions sim_opts;
    sim_opts.time_scale = opt.scale;
    DemoModel model = choose_model(opt, sim_opts);
    if (!model.fallback_note.empty())
        std::fprintf(stderr, "cold_warm: %s\n", model.fallback_note.c_str());

    std::FILE* log = nullptr;
    if (!opt.log_path.empty() && (log = std::fopen(opt.log_path.c_str(), "w")) == nullptr) {
        std::fprintf(stderr, "cold_warm: cannot write log file %s\n", opt.log_path.c_str());
        return 1;
    }
    auto log_call = [log](const llmcache::CallRecord& rec) noexcept {
        if (log != nullptr) {
            const std::string line = llmcache::to_json(rec) + "\n";
            std::fwrite(line.data(), 1, line.size(), log);
        }
    };

    std::string store_label = "the in-memory store";
    const char* redis_url = std::getenv("REDIS_URL");
    const bool want_redis = opt.store == "redis" || (opt.store.empty() && redis_url != nullptr && *redis_url);
    std::vector<PassResult> passes;
    llmcache::CacheStats stats;
    WarmUp warm_up;
    // --embedder openai needs somewhere to send texts: a key for the OpenAI API, or a local
    // OpenAI-compatible server (Ollama, TEI, vLLM, llama.cpp) in OPENAI_BASE_URL.
    bool openai_embeddings = false;
    std::string embedder_note;
    if (!opt.exact_only && opt.embedder == "openai") {
#if LLMCACHE_WITH_CURL
        const char* key = std::getenv("OPENAI_API_KEY");
        const char* base = std::getenv("OPENAI_BASE_URL");
        openai_embeddings = (key != nullptr && *key) || (base != nullptr && *base);
        if (!openai_embeddings)
            embedder_note =
                "--embedder openai: neither OPENAI_API_KEY nor OPENAI_BASE_URL is set, so this run "
                "uses the offline HashingEmbedder instead";
#else
        embedder_note = "--embedder openai: this build has no HTTP support (libcurl and simdjson were not "
                        "found when it was configured), so this run uses the offline HashingEmbedder instead";
#endif
        if (!embedder_note.empty())
            std::fprintf(stderr, "cold_warm: %s\n", embedder_note.c_str());
    }
    if (openai_embeddings && !opt.max_distance_given)
        opt.max_distance = 0.20f;
    std::string embedder_label =
        "HashingEmbedder (" + std::string(llmcache::HashingEmbedder{}.id()) + ", offline and lexical)";
    if (openai_embeddings)
        embedder_label = "OpenAI-compatible embeddings (" + opt.embedding_model + ", " +
                         std::to_string(opt.embedding_dimensions) + " dimensions)";
    auto run = [&](auto store) {
        if (opt.exact_only) {
            run_passes(std::move(store), llmcache::ExactOnly{}, model, opt, prompts, log_call, passes,
                       warm_up, stats);
            return;
        }
#if LLMCACHE_WITH_CURL
        if (openai_embeddings) {
            llmcache::OpenAIEmbeddingsOptions eo;
            eo.model = opt.embedding_model;
            eo.dimensions = opt.embedding_dimensions;
            run_passes(std::move(store),
                       llmcache::Semantic{llmcache::OpenAIEmbeddings{eo},
                                          llmcache::SemanticOptions{.max_distance = opt.max_distance},
                                          llmcache::FalseHitGuard{}},
                       model, opt, prompts, log_call, passes, warm_up, stats);
            return;
        }
#endif
        run_passes(std::move(store),
                   llmcache::Semantic{llmcache::HashingEmbedder{},
                                      llmcache::SemanticOptions{.max_distance = opt.max_distance},
                                      llmcache::FalseHitGuard{}},
                   model, opt, prompts, log_call, passes, warm_up, stats);
    };
    if (want_redis) {
#if LLMCACHE_WITH_HIREDIS
        if (redis_url == nullptr || !*redis_url) {
            std::fprintf(stderr, "cold_warm: --store redis needs REDIS_URL (e.g. redis://127.0.0.1:6379)\n");
            return 1;
        }
        llmcache::RedisStoreOptions ro;
        ro.url = redis_url;
        std::optional<llmcache::RedisStore> maybe_redis;
        try {
            maybe_redis.emplace(ro);
        } catch (const std::invalid_argument& e) { // a malformed URL; the message hides any password
            std::fprintf(stderr, "cold_warm: %s\n", e.what());
            return 1;
        }
        llmcache::RedisStore& redis = *maybe_redis;
        if (auto pong = redis.ping(); !pong) {
            std::fprintf(stderr, "cold_warm: Redis at %s is unreachable (%s); using the in-memory store\n",
                         redis.url().c_str(), pong.error().message.c_str());
            run(llmcache::MemoryStore{});
        } else {
            store_label = "Redis " + redis.server_version().value_or("?") + " at " + redis.url();
            run(redis);
        }
#else
        std::fprintf(stderr, "cold_warm: this build has no Redis support (hiredis was not found when it was "
                             "configured); using the in-memory store\n");
        run(llmcache::MemoryStore{});
#endif
    } else {
        run(llmcache::MemoryStore{});
    }
    if (log != nullptr)
        std::fclose(log);

    const llmcache::Price sonnet = *llmcache::published_price("claude-sonnet-4-5");
    const llmcache::Price haiku = *llmcache::published_price("claude-haiku-4-5");

    std::printf("llmcache cold/warm measurement: %zu prompts (%zu questions + %zu paraphrases)\n",
                prompts.size(), prompts.size() / 2, prompts.size() / 2);
    if (model.simulated()) {
        std::printf("model : SIMULATED %s (no API key used). Latency modelled on real chat calls\n"
                    "        (median %.1f s, p95 %.1f s) and scaled by %g so the demo takes seconds.\n"
                    "        Cache hits are measured for real and not scaled.\n",
                    opt.model.c_str(), sim_opts.median_latency_ms / 1000, sim_opts.p95_latency_ms / 1000,
                    opt.scale);
        if (!model.fallback_note.empty())
            std::printf("        (%s.)\n", model.fallback_note.c_str());
    } else {
        std::printf("model : REAL calls to %s.\n"
                    "        Every latency below is measured, none scaled; the provider bills the cold pass\n"
                    "        and the deploy warm-up (answers capped at 1024 tokens).\n",
                    model.label.c_str());
    }
    const long long ttl_days = static_cast<long long>(
        std::chrono::duration_cast<std::chrono::hours>(llmcache::ttl::StaticFaq{}.duration()).count() / 24);
    if (opt.exact_only)
        std::printf("cache : exact only (XXH3-128 keys) on %s, TTL preset %s (%lld days)\n",
                    store_label.c_str(), std::string(llmcache::ttl::StaticFaq::name).c_str(), ttl_days);
    else
        std::printf("cache : exact (XXH3-128 keys), then semantic: %s,\n"
                    "        cosine distance <= %.2f, FalseHitGuard; on %s, TTL preset %s (%lld days)\n",
                    embedder_label.c_str(), static_cast<double>(opt.max_distance), store_label.c_str(),
                    std::string(llmcache::ttl::StaticFaq::name).c_str(), ttl_days);
    if (!embedder_note.empty())
        std::printf("        (%s.)\n", embedder_note.c_str());
    std::printf("deploy: cache.warm() with the %zu questions: %zu fetched, %zu already cached, %zu failed, "
                "in %s\n\n",
                prompts.size() / 2, warm_up.report.fetched, warm_up.report.already_cached,
                warm_up.report.failed, human(warm_up.seconds).c_str());
    std::printf("%-16s %10s %10s %10s %7s %7s %18s %18s %11s %11s\n", "pass", "p50", "p95", "total", "hits",
                "calls", "tokens billed i/o", "tokens saved i/o", "Sonnet 4.5", "Haiku 4.5");
    auto money = [](double usd) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "$%.4f", usd);
        return std::string(buf);
    };
    for (const PassResult& p : passes) {
        double total = 0;
        for (double s : p.latency_s)
            total += s;
        char billed[32], saved[32], hits[16];
        std::snprintf(billed, sizeof billed, "%llu/%llu", static_cast<unsigned long long>(p.in_billed),
                      static_cast<unsigned long long>(p.out_billed));
        std::snprintf(saved, sizeof saved, "%llu/%llu", static_cast<unsigned long long>(p.in_saved),
                      static_cast<unsigned long long>(p.out_saved));
        std::snprintf(hits, sizeof hits, "%zu/%zu", p.hits, p.latency_s.size());
        std::printf("%-16s %10s %10s %10s %7s %7zu %18s %18s %11s %11s\n", p.name.c_str(),
                    human(percentile(p.latency_s, 0.50)).c_str(),
                    human(percentile(p.latency_s, 0.95)).c_str(), human(total).c_str(), hits, p.model_calls,
                    billed, saved, money(dollars(p.in_billed, p.out_billed, sonnet)).c_str(),
                    money(dollars(p.in_billed, p.out_billed, haiku)).c_str());
        if (p.errors > 0)
            std::printf("%-16s %zu calls failed; the first: %s\n", "", p.errors, p.first_error.c_str());
    }
    std::printf("\n");
    for (std::size_t i = 1; i < passes.size(); ++i) {
        const PassResult& p = passes[i];
        std::printf("%-16s %zu exact + %zu semantic hits; paraphrases: %zu/%zu served from the cache, "
                    "%zu with another question's answer (false hits)\n",
                    p.name.c_str(), p.hits - p.semantic_hits, p.semantic_hits, p.paraphrase_hits,
                    prompts.size() / 2, p.wrong_answers);
    }
    if (passes.size() > 1 && !passes[1].missed.empty()) {
        std::printf("paraphrases the 1st warm pass sent to the model (honest misses%s):\n",
                    opt.exact_only ? "; an exact cache keys on the exact text"
                                   : ": beyond the distance threshold, or refused by the guard");
        for (const std::string& m : passes[1].missed)
            std::printf("  - %s\n", m.c_str());
    }

    const llmcache::CacheStats& s = stats;
    std::printf(
        "\ncache stats: %llu hits, %llu misses, hit rate %.0f%%, $%.4f saved at %s prices, %llu writes\n",
        static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
        100.0 * s.hit_rate(), s.dollars_saved, opt.model.c_str(), static_cast<unsigned long long>(s.writes));
    const double cold_p50 = percentile(passes[0].latency_s, 0.5),
                 warm_p50 = percentile(passes[2].latency_s, 0.5);
    if (model.simulated())
        std::printf("p50, cold -> warm 2nd pass: %s -> %s as measured (%s -> %s at the simulated model's\n"
                    "unscaled latency).\n",
                    human(cold_p50).c_str(), human(warm_p50).c_str(), human(cold_p50 / opt.scale).c_str(),
                    human(warm_p50).c_str());
    else
        std::printf("p50, cold -> warm 2nd pass: %s -> %s, both measured.\n", human(cold_p50).c_str(),
                    human(warm_p50).c_str());
    std::printf("A paraphrase that misses is answered by the model and stored under its own key, so the\n"
                "2nd warm pass serves it exactly.\n");
    if (!opt.log_path.empty())
        std::printf("per-call log (JSON lines with cache_hit): %s\n", opt.log_path.c_str());
    // A false hit is the one result a cache must never produce: make it fail loudly (CI runs this).
    std::size_t false_hits = 0;
    for (const PassResult& p : passes)
        false_hits += p.wrong_answers;
    if (false_hits > 0) {
        std::fprintf(stderr, "cold_warm: %zu paraphrase(s) were served another question's answer\n",
                     false_hits);
        return 3;
    }
    return 0;
}
