// workflow: the operational habits around a cache, end to end, on the offline defaults.
//
// 1. pick a TTL per workload (presets), 2. warm the cache on deploy, 3. log cache_hit per call
// and watch the hit rate, 4. flag and evict a bad cached answer, 5. clear one tenant's entries.
#include <llmcache/llmcache.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main() {
    using namespace llmcache;

    // 3. One JSON line per call on stdout, each with "cache_hit".
    auto log_line = [](const CallRecord& rec) noexcept { std::printf("log: %s\n", to_json(rec).c_str()); };

    SimulatedModelOptions fast;
    fast.time_scale = 0.001; // the simulated model answers in about a millisecond

    // 1. A support FAQ bot: answers change rarely, so the static-FAQ preset (14 days; 7-30 allowed).
    //    Jitter spreads expiry by ±10% so a cache warmed in one go does not expire in one go.
    Cache faq{Xxh3Key{KeyOptions{"support-bot"}, normalize::Whitespace{}},
              MemoryStore{},
              ExactOnly{},
              ttl::Jittered<ttl::StaticFaq>{ttl::StaticFaq{}, 0.10},
              SimulatedModel{fast},
              CallbackObserver{log_line}};

    // 2. Warm on deploy with the hot set.
    const std::vector<Request> hot_set = {
        Request::chat("claude-haiku-4-5", "What are your business hours?", "You are a support agent.",
                      "acme"),
        Request::chat("claude-haiku-4-5", "How do I reset my password?", "You are a support agent.", "acme"),
    };
    const WarmReport warmed = faq.warm(hot_set);
    std::printf("warm: %zu fetched, %zu already cached, %zu not stored, %zu failed\n", warmed.fetched,
                warmed.already_cached, warmed.not_stored, warmed.failed);

    // A user asks with sloppy spacing: whitespace folding makes it the same key, so it is a hit.
    auto answer = faq.invoke(Request::chat("claude-haiku-4-5", "  How do I  reset my password? ",
                                           "You are a support agent.", "acme"));
    std::printf("sloppy spacing served from cache: %s\n", answer && answer->cache_hit ? "yes" : "no");

    // 4. Support reports that the password answer is wrong: flag and evict it. The next call asks
    //    the model again and caches the new answer.
    auto evicted = faq.invalidate(hot_set[1], "wrong reset URL reported by support");
    std::printf("evicted the bad answer: %s\n", evicted && *evicted ? "yes" : "no");
    answer = faq.invoke(hot_set[1]);
    std::printf("after eviction the model was asked again: %s\n",
                answer && !answer->cache_hit ? "yes" : "no");

    // 5. Tenant "acme" leaves: remove only its entries.
    auto cleared = faq.clear("acme");
    std::printf("cleared %zu entries of tenant acme\n", cleared ? *cleared : 0);

    const CacheStats s = faq.stats();
    std::printf("hit rate %.0f%% (%llu hits, %llu misses), %llu invalidation(s)\n", 100.0 * s.hit_rate(),
                static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
                static_cast<unsigned long long>(s.invalidations));
    return 0;
}
