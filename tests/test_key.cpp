// Key policies: what changes a key, what must not, the key layout, scopes, partitions, HMAC
// secrets, and a randomized injectivity test against a canonical form built independently here.
#include "catch.hpp"

#include <llmcache/llmcache.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

using llmcache::KeyOptions;
using llmcache::Message;
using llmcache::Request;
using llmcache::Role;
using llmcache::Xxh3Key;
namespace normalize = llmcache::normalize;

namespace {

Request base_request() {
    Request r;
    r.model = "claude-sonnet-4-5";
    r.system = "You are a helpful assistant.";
    r.messages = {Message{Role::user, "What is BM25?"}, Message{Role::assistant, "A ranking function."},
                  Message{Role::user, "How does it differ from TF-IDF?"}};
    r.scope = "acme";
    return r;
}

bool is_lower_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t pos = s.find(sep, start);
        if (pos == std::string_view::npos) {
            out.emplace_back(s.substr(start));
            return out;
        }
        out.emplace_back(s.substr(start, pos - start));
        start = pos + 1;
    }
}

// A secret that is not hex, so it cannot appear inside a digest by chance.
const std::string secret_a = "Quokka-Secret-Material-For-Tests-A!";
const std::string secret_b = "Quokka-Secret-Material-For-Tests-B!";

#if LLMCACHE_WITH_OPENSSL
/// Calls `f(policy, name, hex_length)` for each shipped key policy with normaliser N.
template <class N = normalize::None, class F>
void for_each_policy(F&& f) {
    f(Xxh3Key<N>(KeyOptions{}, N{}), "xxh3", 32);
    f(llmcache::Sha256Key<N>(KeyOptions{}, N{}), "sha256", 64);
    f(llmcache::HmacSha256Key<N>(secret_a, "v1", KeyOptions{}, N{}), "hmac-v1", 64);
}
#else
template <class N = normalize::None, class F>
void for_each_policy(F&& f) {
    f(Xxh3Key<N>(KeyOptions{}, N{}), "xxh3", 32);
}
#endif

struct Mutation {
    const char* name;
    std::function<void(Request&)> apply;
};

// Every one of these must give a key different from the base request's and from each other's.
std::vector<Mutation> key_changing_mutations() {
    return {
        {"model", [](Request& r) { r.model = "claude-haiku-4-5"; }},
        {"model case", [](Request& r) { r.model = "Claude-sonnet-4-5"; }},
        {"system text", [](Request& r) { r.system = "You are a terse assistant."; }},
        {"system empty", [](Request& r) { r.system.clear(); }},
        {"system trailing space", [](Request& r) { r.system += " "; }},
        {"message 0 text", [](Request& r) { r.messages[0].content = "What is BM26?"; }},
        {"message 1 text", [](Request& r) { r.messages[1].content = "A scoring function."; }},
        {"message 2 text", [](Request& r) { r.messages[2].content = "How does it differ from LSI?"; }},
        {"message 2 case", [](Request& r) { r.messages[2].content = "how does it differ from TF-IDF?"; }},
        {"message 2 inner space",
         [](Request& r) { r.messages[2].content = "How  does it differ from TF-IDF?"; }},
        {"message 0 role", [](Request& r) { r.messages[0].role = Role::assistant; }},
        {"message 1 role user", [](Request& r) { r.messages[1].role = Role::user; }},
        {"message 1 role tool", [](Request& r) { r.messages[1].role = Role::tool; }},
        {"message order", [](Request& r) { std::swap(r.messages[0], r.messages[2]); }},
        {"message dropped", [](Request& r) { r.messages.pop_back(); }},
        {"message appended",
         [](Request& r) {
             r.messages.push_back(Message{Role::assistant, "ok"});
         }},
        {"empty message appended",
         [](Request& r) {
             r.messages.push_back(Message{Role::user, ""});
         }},
        {"temperature 0 (vs unset)", [](Request& r) { r.params.temperature = 0.0; }},
        {"temperature 0.7", [](Request& r) { r.params.temperature = 0.7; }},
        {"temperature next after 0.7", [](Request& r) { r.params.temperature = std::nextafter(0.7, 1.0); }},
        {"temperature 1", [](Request& r) { r.params.temperature = 1.0; }},
        {"temperature NaN", [](Request& r) { r.params.temperature = std::nan(""); }},
        {"max_tokens 0 (vs unset)", [](Request& r) { r.params.max_tokens = 0; }},
        {"max_tokens 1", [](Request& r) { r.params.max_tokens = 1; }},
        {"max_tokens -1", [](Request& r) { r.params.max_tokens = -1; }},
        {"max_tokens 1024", [](Request& r) { r.params.max_tokens = 1024; }},
        {"top_p 0 (vs unset)", [](Request& r) { r.params.top_p = 0.0; }},
        {"top_p 1", [](Request& r) { r.params.top_p = 1.0; }},
        {"top_k 0 (vs unset)", [](Request& r) { r.params.top_k = 0; }},
        {"top_k 1", [](Request& r) { r.params.top_k = 1; }},
        {"top_k 40", [](Request& r) { r.params.top_k = 40; }},
        {"stop {END}", [](Request& r) { r.params.stop_sequences = {"END"}; }},
        {"stop {END, STOP}",
         [](Request& r) {
             r.params.stop_sequences = {"END", "STOP"};
         }},
        {"stop {ENDSTOP}", [](Request& r) { r.params.stop_sequences = {"ENDSTOP"}; }},
        {"stop {\"\"} (vs none)", [](Request& r) { r.params.stop_sequences = {""}; }},
        {"tools_json", [](Request& r) { r.params.tools_json = R"([{"name":"search"}])"; }},
        {"tools_json other", [](Request& r) { r.params.tools_json = R"([{"name":"lookup"}])"; }},
        {"tool_choice_json", [](Request& r) { r.params.tool_choice_json = R"({"type":"auto"})"; }},
        {"scope", [](Request& r) { r.scope = "globex"; }},
        {"scope empty", [](Request& r) { r.scope.clear(); }},
        {"scope case", [](Request& r) { r.scope = "Acme"; }},
    };
}

} // namespace

TEST_CASE("key: each request field changes the key, and all changes are distinct", "[key]") {
    for_each_policy([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        const Request base = base_request();
        const std::string base_key = policy.key_for(base);
        std::map<std::string, std::string> seen{{base_key, "base"}};
        for (const Mutation& m : key_changing_mutations()) {
            Request r = base_request();
            m.apply(r);
            const std::string key = policy.key_for(r);
            INFO("mutation " << m.name);
            CHECK(key != base_key);
            auto [it, inserted] = seen.emplace(key, m.name);
            INFO("same key as mutation " << it->second);
            CHECK(inserted);
        }
    });
}

TEST_CASE("key: fields that must not change the key", "[key]") {
    for_each_policy([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        Request a = base_request();
        a.params.stop_sequences = {"END", "STOP"};
        a.params.temperature = 0.0;

        // The key is a pure function of the request.
        CHECK(policy.key_for(a) == policy.key_for(a));
        const auto copy = policy;
        CHECK(copy.key_for(a) == policy.key_for(a));

        // Stop sequences are a set: order and duplicates do not matter.
        Request b = a;
        b.params.stop_sequences = {"STOP", "END"};
        CHECK(policy.key_for(b) == policy.key_for(a));
        b.params.stop_sequences = {"STOP", "END", "END", "STOP"};
        CHECK(policy.key_for(b) == policy.key_for(a));
        b.params.stop_sequences = {"STOP"};
        CHECK(policy.key_for(b) != policy.key_for(a));

        // -0.0 and 0.0 ask for the same thing.
        Request neg = a;
        neg.params.temperature = -0.0;
        REQUIRE(std::signbit(*neg.params.temperature));
        CHECK(policy.key_for(neg) == policy.key_for(a));
        Request c = a, d = a;
        c.params.top_p = -0.0;
        d.params.top_p = 0.0;
        CHECK(policy.key_for(c) == policy.key_for(d));

        // Request::chat builds the same request as one written out by hand.
        Request chat = Request::chat("m", "hello", "sys", "s");
        Request hand;
        hand.model = "m";
        hand.system = "sys";
        hand.scope = "s";
        hand.messages = {Message{Role::user, "hello"}};
        CHECK(policy.key_for(chat) == policy.key_for(hand));
    });
}

TEST_CASE("key: boundary shifts between adjacent fields give different keys", "[key]") {
    for_each_policy([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        auto differ = [&](const Request& a, const Request& b) {
            return policy.key_for(a) != policy.key_for(b);
        };

        Request a = Request::chat("m", "x", "abc");
        Request b = Request::chat("m", "cx", "ab");
        CHECK(differ(a, b)); // system | message

        Request c;
        c.model = "m";
        c.messages = {Message{Role::user, "abc"}, Message{Role::user, "x"}};
        Request d = c;
        d.messages = {Message{Role::user, "ab"}, Message{Role::user, "cx"}};
        CHECK(differ(c, d)); // message | message
        Request e = c;
        e.messages = {Message{Role::user, "abcx"}};
        CHECK(differ(c, e)); // two messages vs their concatenation

        Request f = Request::chat("abc", "q", "x");
        Request g = Request::chat("ab", "q", "cx");
        CHECK(differ(f, g)); // model | ... | system (scope in between is empty)

        Request h = Request::chat("m", "q", "", "abc");
        Request i = Request::chat("m", "q", "", "ab");
        i.system = "c";
        CHECK(differ(h, i)); // scope | system

        Request j = Request::chat("m", "q");
        j.params.stop_sequences = {"abc", "x"};
        Request k = j;
        k.params.stop_sequences = {"ab", "cx"};
        CHECK(differ(j, k)); // stop | stop

        Request l = Request::chat("m", "q");
        l.params.tools_json = "abc";
        l.params.tool_choice_json = "x";
        Request m = l;
        m.params.tools_json = "ab";
        m.params.tool_choice_json = "cx";
        CHECK(differ(l, m)); // tools | tool_choice

        Request n = Request::chat("m", "q");
        n.messages.push_back(Message{Role::assistant, ""});
        Request o = Request::chat("m", "q");
        CHECK(differ(n, o)); // an empty trailing message is still a message

        Request p = Request::chat("m", "q");
        p.params.temperature = 1.0;
        Request q = Request::chat("m", "q");
        q.params.top_p = 1.0;
        CHECK(differ(p, q)); // same value in different parameters
        Request s = Request::chat("m", "q");
        s.params.max_tokens = 5;
        Request t = Request::chat("m", "q");
        t.params.top_k = 5;
        CHECK(differ(s, t));
    });
}

TEST_CASE("key: texts that imitate the encoding of the fields after them do not collide", "[key]") {
    // Without lengths in the encoding, the last message could swallow the parameters that follow
    // it, and the tool JSON re-create them: these two requests would then encode the same.
    const std::string params_absent = std::string("t\0x\0p\0k\0s", 9) + std::string(8, '\0');
    for_each_policy([&](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        Request a = Request::chat("m", "b");
        a.params.tools_json = "X" + params_absent + "J";
        Request b = Request::chat("m", "b" + params_absent + "JX");
        CHECK(policy.key_for(a) != policy.key_for(b));
    });
}

TEST_CASE("key: normalize::Whitespace folds whitespace in texts only", "[key][normalize]") {
    for_each_policy<normalize::Whitespace>([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        const Request plain = Request::chat("m", "Hello, world", "Be brief.");
        auto with = [](std::string user, std::string system) { return Request::chat("m", user, system); };
        CHECK(policy.key_for(with("  Hello, world", "Be brief.")) == policy.key_for(plain));
        CHECK(policy.key_for(with("Hello, world \n", "Be brief.")) == policy.key_for(plain));
        CHECK(policy.key_for(with("Hello,\n\t  world", "Be brief.")) == policy.key_for(plain));
        CHECK(policy.key_for(with("Hello, world", "\tBe   brief.\r\n")) == policy.key_for(plain));
        CHECK(policy.key_for(with("Hello,\f\vworld", " Be brief.")) == policy.key_for(plain));

        // Folding is not removal, and case is kept.
        CHECK(policy.key_for(with("Hello,world", "Be brief.")) != policy.key_for(plain));
        CHECK(policy.key_for(with("hello, world", "Be brief.")) != policy.key_for(plain));
        CHECK(policy.key_for(with("Hello, world", "be brief.")) != policy.key_for(plain));

        // Non-text fields are keyed byte for byte.
        CHECK(policy.key_for(Request::chat("m ", "Hello, world", "Be brief.")) != policy.key_for(plain));
        Request stop_a = plain, stop_b = plain;
        stop_a.params.stop_sequences = {"END"};
        stop_b.params.stop_sequences = {"END "};
        CHECK(policy.key_for(stop_a) != policy.key_for(stop_b));
        Request tools_a = plain, tools_b = plain;
        tools_a.params.tools_json = R"({"a":1})";
        tools_b.params.tools_json = R"({ "a": 1 })";
        CHECK(policy.key_for(tools_a) != policy.key_for(tools_b));
        Request scope_a = plain, scope_b = plain;
        scope_a.scope = "t1";
        scope_b.scope = "t1 ";
        CHECK(policy.key_for(scope_a) != policy.key_for(scope_b));

        // Whitespace-only texts fold to the empty text; messages stay separate fields.
        Request blank = Request::chat("m", "q", "   ");
        CHECK(policy.key_for(blank) == policy.key_for(Request::chat("m", "q", "")));
        Request two = plain;
        two.messages = {Message{Role::user, "Hello,"}, Message{Role::user, "world"}};
        CHECK(policy.key_for(two) != policy.key_for(plain));
    });
}

TEST_CASE("key: normalize::WhitespaceAndCase also folds ASCII case", "[key][normalize]") {
    for_each_policy<normalize::WhitespaceAndCase>([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        const Request plain = Request::chat("m", "what is bm25?", "be brief.");
        CHECK(policy.key_for(Request::chat("m", "What is BM25?", "Be Brief.")) == policy.key_for(plain));
        CHECK(policy.key_for(Request::chat("m", "  WHAT   IS\nBM25? ", "BE BRIEF.")) ==
              policy.key_for(plain));
        CHECK(policy.key_for(Request::chat("m", "what is bm26?", "be brief.")) != policy.key_for(plain));
        // Only ASCII is folded: "É" (C3 89) and "é" (C3 A9) stay different.
        CHECK(policy.key_for(Request::chat("m", "\xC3\x89t\xC3\xA9", "")) !=
              policy.key_for(Request::chat("m", "\xC3\xA9t\xC3\xA9", "")));
        // Invalid UTF-8 passes through and is still keyed.
        CHECK(policy.key_for(Request::chat("m", "a\xFF", "")) !=
              policy.key_for(Request::chat("m", "a\xFE", "")));
        // The model id and the scope are not case-folded.
        CHECK(policy.key_for(Request::chat("M", "what is bm25?", "be brief.")) != policy.key_for(plain));
        Request scoped = plain;
        scoped.scope = "Acme";
        Request lower = plain;
        lower.scope = "acme";
        CHECK(policy.key_for(scoped) != policy.key_for(lower));
    });
    // Under the default normaliser, case matters.
    Xxh3Key<> exact;
    CHECK(exact.key_for(Request::chat("m", "What is BM25?")) !=
          exact.key_for(Request::chat("m", "what is bm25?")));
    Xxh3Key<normalize::Whitespace> ws;
    CHECK(ws.key_for(Request::chat("m", "What is BM25?")) != ws.key_for(Request::chat("m", "what is bm25?")));
}

TEST_CASE("key: layout is <prefix>:k1:<scope>:<algorithm>:<hex digest>", "[key]") {
    for_each_policy([](const auto& policy, const char* algorithm, std::size_t hex_length) {
        INFO("policy " << algorithm);
        const std::string key = policy.key_for(base_request());
        const auto parts = split(key, ':');
        REQUIRE(parts.size() == 5);
        CHECK(parts[0] == "llmcache");
        CHECK(parts[1] == "k1");
        CHECK(parts[2] == "acme");
        CHECK(parts[3] == algorithm);
        CHECK(parts[4].size() == hex_length);
        CHECK(is_lower_hex(parts[4]));
        CHECK(policy.prefix() == "llmcache:");
        CHECK(key.rfind(policy.prefix(), 0) == 0);

        const std::string partition = policy.partition_for(base_request());
        const auto pparts = split(partition, ':');
        REQUIRE(pparts.size() == 6);
        CHECK(pparts[0] == "llmcache");
        CHECK(pparts[1] == "k1");
        CHECK(pparts[2] == "acme");
        CHECK(pparts[3] == "p");
        CHECK(pparts[4] == algorithm);
        CHECK(pparts[5].size() == hex_length);
        CHECK(is_lower_hex(pparts[5]));
    });
}

TEST_CASE("key: digest changes with content and looks like the algorithm's output", "[key]") {
    for_each_policy([](const auto& policy, const char* name, std::size_t hex_length) {
        INFO("policy " << name);
        std::set<std::string> digests;
        for (int i = 0; i < 200; ++i) {
            const std::string key = policy.key_for(Request::chat("m", "prompt " + std::to_string(i)));
            const std::string digest = key.substr(key.rfind(':') + 1);
            REQUIRE(digest.size() == hex_length);
            REQUIRE(is_lower_hex(digest));
            digests.insert(digest);
        }
        CHECK(digests.size() == 200);
        // Every hex digit shows up somewhere: a digest is not, say, mostly zeros.
        std::set<char> chars;
        for (const auto& d : digests)
            chars.insert(d.begin(), d.end());
        CHECK(chars.size() == 16);
    });
#if LLMCACHE_WITH_OPENSSL
    // Different algorithms over the same bytes give different digests.
    const Request r = base_request();
    const std::string sha = llmcache::Sha256Key<>{}.key_for(r);
    const std::string hmac = llmcache::HmacSha256Key<>(secret_a, "v1").key_for(r);
    CHECK(sha.substr(sha.rfind(':') + 1) != hmac.substr(hmac.rfind(':') + 1));
#endif
}

TEST_CASE("key: a custom prefix leads every key; invalid prefixes are rejected", "[key]") {
    Xxh3Key<> custom(KeyOptions{"myapp-llm"});
    const std::string key = custom.key_for(base_request());
    CHECK(key.rfind("myapp-llm:k1:acme:xxh3:", 0) == 0);
    CHECK(custom.prefix() == "myapp-llm:");
    CHECK(custom.scope_prefix("acme") == "myapp-llm:k1:acme:");
    // Same request, different prefix: different key, and neither prefix() matches the other's keys.
    Xxh3Key<> other(KeyOptions{"myapp"});
    CHECK(other.key_for(base_request()) != key);
    CHECK(key.rfind(other.prefix(), 0) != 0);
    CHECK(Xxh3Key<>{}.key_for(base_request()).rfind(Xxh3Key<>(KeyOptions{"llm"}).prefix(), 0) != 0);

    CHECK_NOTHROW(Xxh3Key<>(KeyOptions{std::string(64, 'a')}));
    CHECK_NOTHROW(Xxh3Key<>(KeyOptions{"a_b.c-d~1!"}));
    const std::vector<std::string> bad = {"",
                                          "a:b",
                                          "a b",
                                          "a*",
                                          "a?",
                                          "a[b",
                                          "a]b",
                                          "a\\b",
                                          "\tab",
                                          "ab\n",
                                          "a\x7f",
                                          "\xC3\xA9",
                                          std::string(65, 'a'),
                                          std::string("a\0b", 3)};
    for (const std::string& p : bad) {
        INFO("prefix \"" << p << "\"");
        CHECK_THROWS_AS(Xxh3Key<>(KeyOptions{p}), std::invalid_argument);
        CHECK_THROWS_WITH(Xxh3Key<>(KeyOptions{p}), Catch::Contains("key prefix"));
#if LLMCACHE_WITH_OPENSSL
        CHECK_THROWS_AS(llmcache::Sha256Key<>(KeyOptions{p}), std::invalid_argument);
        CHECK_THROWS_AS(llmcache::HmacSha256Key<>(secret_a, "v1", KeyOptions{p}), std::invalid_argument);
#endif
    }
}

TEST_CASE("key: keys never contain prompt text", "[key]") {
    const std::string marker = "ZebraQuokkaPlatypus";
    Request r;
    r.model = "model-" + marker;
    r.system = "system " + marker;
    r.messages = {Message{Role::user, marker}, Message{Role::assistant, "and " + marker},
                  Message{Role::user, marker + " again"}};
    r.params.stop_sequences = {marker};
    r.params.tools_json = "{\"" + marker + "\":1}";
    r.params.tool_choice_json = marker;
    for_each_policy([&](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        // Scopes that need escaping (and the empty scope, written "_") change nothing.
        for (std::string scope : {"tenant", "", "_", "a:b", "t*", "t?", "t[x]", "user_42"}) {
            r.scope = scope;
            for (const std::string& k : {policy.key_for(r), policy.partition_for(r)}) {
                INFO(k);
                CHECK(k.find("Zebra") == std::string::npos);
                CHECK(k.find("Quokka") == std::string::npos);
                CHECK(k.find("Platypus") == std::string::npos);
                CHECK(k.find("model-") == std::string::npos);
                CHECK(k.find("system") == std::string::npos);
                CHECK(k.find(" again") == std::string::npos);
            }
        }
    });
}

TEST_CASE("key: scopes are escaped and never leak separators or glob characters", "[key]") {
    Xxh3Key<> policy;
    auto scope_segment = [&](std::string scope) {
        Request r = Request::chat("m", "q", "", std::move(scope));
        const std::string key = policy.key_for(r);
        const auto parts = split(key, ':');
        REQUIRE(parts.size() == 5); // the scope adds no ':'
        CHECK(key.find_first_of("*?[]\\ ") == std::string::npos);
        return parts[2];
    };
    CHECK(scope_segment("") == "_");
    CHECK(scope_segment("_") == "%5F");
    CHECK(scope_segment("acme-corp.eu") == "acme-corp.eu");
    CHECK(scope_segment("a:b") == "a%3Ab");
    CHECK(scope_segment("t*") == "t%2A");
    CHECK(scope_segment("t?") == "t%3F");
    CHECK(scope_segment("t[x]") == "t%5Bx%5D");
    CHECK(scope_segment("a b\\c") == "a%20b%5Cc");
    CHECK(scope_segment("50%") == "50%25");
    CHECK(scope_segment("user_42") == "user%5F42");
    CHECK(scope_segment("\xC3\xA9") == "%C3%A9");
    CHECK(scope_segment(std::string("\0\n", 2)) == "%00%0A");
    // A scope that looks like an escape is itself escaped, so it differs from the escaped scope.
    CHECK(scope_segment("a%3Ab") == "a%253Ab");

    // The scope is the one request field written in clear (escaped, so that a scope can be
    // cleared by prefix); its raw form with a ':' never appears.
    const std::string raw_scope = "tenant:Quokka";
    const std::string key = policy.key_for(Request::chat("m", "q", "", raw_scope));
    CHECK(key.find("tenant%3AQuokka") != std::string::npos);
    CHECK(key.find(raw_scope) == std::string::npos);
}

TEST_CASE("key: scope_prefix matches its own scope's keys and no other scope's", "[key]") {
    const std::vector<std::string> scopes = {"",  "_",   "a",   "a:b", "a%3Ab",     "ab", "a:", "a*",
                                             "A", "a.b", "a-b", "b",   "a\xC3\xA9", " a", "a_"};
    for_each_policy([&](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        std::vector<std::string> keys;
        for (const auto& s : scopes) {
            Request r = base_request();
            r.scope = s;
            keys.push_back(policy.key_for(r));
            const std::string sp = policy.scope_prefix(s);
            INFO("scope \"" << s << "\" prefix " << sp);
            CHECK(keys.back().rfind(sp, 0) == 0);
            CHECK(policy.partition_for(r).rfind(sp, 0) == 0);
            CHECK(sp.rfind(policy.prefix(), 0) == 0);
            CHECK(sp.back() == ':');
        }
        for (std::size_t i = 0; i < scopes.size(); ++i)
            for (std::size_t j = 0; j < scopes.size(); ++j) {
                if (i == j)
                    continue;
                INFO("scope \"" << scopes[i] << "\" vs \"" << scopes[j] << "\"");
                CHECK(keys[j].rfind(policy.scope_prefix(scopes[i]), 0) != 0);
                CHECK(keys[i] != keys[j]);
            }
    });
}

TEST_CASE("key: partition_for ignores only the last user message text", "[key][partition]") {
    for_each_policy([](const auto& policy, const char* name, std::size_t) {
        INFO("policy " << name);
        const Request base = base_request();
        const std::string part = policy.partition_for(base);
        CHECK(part != policy.key_for(base));
        CHECK(policy.partition_for(base) == part);

        Request last = base;
        last.messages[2].content = "Something else entirely";
        CHECK(policy.partition_for(last) == part);
        CHECK(policy.key_for(last) != policy.key_for(base));

        auto changed = [&](const std::function<void(Request&)>& f) {
            Request r = base_request();
            f(r);
            return policy.partition_for(r) != part;
        };
        CHECK(changed([](Request& r) { r.messages[0].content = "What is BM26?"; }));
        CHECK(changed([](Request& r) { r.messages[1].content = "A scoring function."; }));
        CHECK(changed([](Request& r) { r.messages[2].role = Role::assistant; }));
        CHECK(changed([](Request& r) { r.messages[1].role = Role::user; }));
        CHECK(changed([](Request& r) { r.messages.erase(r.messages.begin()); }));
        CHECK(changed([](Request& r) { r.model = "other"; }));
        CHECK(changed([](Request& r) { r.scope = "globex"; }));
        CHECK(changed([](Request& r) { r.system = "Other system prompt"; }));
        CHECK(changed([](Request& r) { r.params.temperature = 0.0; }));
        CHECK(changed([](Request& r) { r.params.stop_sequences = {"END"}; }));
        CHECK(changed([](Request& r) { r.params.tools_json = "[]"; }));

        // When the conversation ends with an assistant turn, the last *user* text is the one left out.
        Request tail = base;
        tail.messages.push_back(Message{Role::assistant, "It uses saturation."});
        const std::string tail_part = policy.partition_for(tail);
        Request tail_user = tail;
        tail_user.messages[2].content = "Another question";
        CHECK(policy.partition_for(tail_user) == tail_part);
        Request tail_assistant = tail;
        tail_assistant.messages[3].content = "It uses length normalisation.";
        CHECK(policy.partition_for(tail_assistant) != tail_part);

        // No user message at all: every text counts.
        Request none;
        none.model = "m";
        none.messages = {Message{Role::assistant, "a"}, Message{Role::tool, "b"}};
        Request none2 = none;
        none2.messages[1].content = "c";
        CHECK(policy.partition_for(none) != policy.partition_for(none2));

        // The layout differs from key_for ("p" segment), so a partition can never equal a key.
        Request single = Request::chat("m", "q");
        CHECK(policy.partition_for(single) != policy.key_for(single));
        CHECK(policy.partition_for(single) == policy.partition_for(Request::chat("m", "other q")));
    });
}

#if LLMCACHE_WITH_OPENSSL
TEST_CASE("key: HMAC keys depend on the secret, name the key id and never show the secret", "[key][hmac]") {
    using Hmac = llmcache::HmacSha256Key<>;
    const Request r = base_request();
    const Hmac a(secret_a, "v1");
    const Hmac a_again(secret_a, "v1");
    const Hmac b(secret_b, "v1");
    CHECK(a.key_for(r) == a_again.key_for(r));
    CHECK(a.key_for(r) != b.key_for(r));
    CHECK(a.partition_for(r) != b.partition_for(r));
    const Hmac copy = a; // copies share the secret
    CHECK(copy.key_for(r) == a.key_for(r));

    const Hmac rotated(secret_a, "2025-06.b");
    const std::string rotated_key = rotated.key_for(r);
    CHECK(split(rotated_key, ':')[3] == "hmac-2025-06.b");
    CHECK(rotated_key != a.key_for(r));
    CHECK(split(a.key_for(r), ':')[3] == "hmac-v1");

    for (const std::string& k : {a.key_for(r), b.key_for(r), a.partition_for(r), rotated_key}) {
        CHECK(k.find(secret_a) == std::string::npos);
        CHECK(k.find(secret_b) == std::string::npos);
        CHECK(k.find("Quokka") == std::string::npos);
    }
    // An HMAC key differs from the plain SHA-256 key of the same request.
    const std::string sha = llmcache::Sha256Key<>{}.key_for(r);
    CHECK(sha.substr(sha.rfind(':') + 1) != a.key_for(r).substr(a.key_for(r).rfind(':') + 1));
}

TEST_CASE("key: HMAC rejects short secrets and bad key ids without echoing the secret", "[key][hmac]") {
    using Hmac = llmcache::HmacSha256Key<>;
    CHECK_NOTHROW(Hmac(std::string(32, 'Q'), "v1"));
    CHECK_NOTHROW(Hmac(secret_a, std::string(16, 'k')));
    CHECK_NOTHROW(Hmac(secret_a, "Az09.-"));

    const std::string short_secret = "QuokkaShortSecret-31-bytes-long";
    REQUIRE(short_secret.size() == 31);
    CHECK_THROWS_AS(Hmac(short_secret, "v1"), std::invalid_argument);
    CHECK_THROWS_AS(Hmac("", "v1"), std::invalid_argument);
    try {
        Hmac h(short_secret, "v1");
        FAIL("a 31-byte secret was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK(what.find("32 bytes") != std::string::npos);
        CHECK(what.find("Quokka") == std::string::npos);
    }

    const std::vector<std::string> bad_ids = {"",   std::string(17, 'k'), "v:1", "v 1", "v_1", "v/1",
                                              "v*", "v\xC3\xA9",          "v\n"};
    for (const std::string& id : bad_ids) {
        INFO("key id \"" << id << "\"");
        CHECK_THROWS_AS(Hmac(secret_a, id), std::invalid_argument);
        try {
            Hmac h(secret_a, id);
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("key id") != std::string::npos);
            CHECK(what.find("Quokka") == std::string::npos);
        }
    }
}

TEST_CASE("key: HmacSha256Key::from_env", "[key][hmac]") {
    using Hmac = llmcache::HmacSha256Key<>;
    const char* var = "LLMCACHE_TEST_HMAC_SECRET_UNSET_7f3a";
    ::unsetenv(var);
    try {
        (void)Hmac::from_env(var, "v1");
        FAIL("from_env accepted an unset variable");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find(var) != std::string::npos);
    }

    const std::string short_value = "QuokkaTooShortSecretValue";
    REQUIRE(::setenv(var, short_value.c_str(), 1) == 0);
    try {
        (void)Hmac::from_env(var, "v1");
        FAIL("from_env accepted a short secret");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK(what.find(var) != std::string::npos);
        CHECK(what.find(short_value) == std::string::npos);
        CHECK(what.find("Quokka") == std::string::npos);
    }

    REQUIRE(::setenv(var, secret_a.c_str(), 1) == 0);
    const Hmac from_env = Hmac::from_env(var, "v1");
    ::unsetenv(var);
    const Request r = base_request();
    CHECK(from_env.key_for(r) == Hmac(secret_a, "v1").key_for(r));
    CHECK(from_env.key_for(r) != Hmac(secret_b, "v1").key_for(r));
    // The policy keeps its own copy: unsetting the variable changes nothing.
    CHECK(from_env.key_for(r) == Hmac(secret_a, "v1").key_for(r));

    REQUIRE(::setenv(var, secret_a.c_str(), 1) == 0);
    CHECK_THROWS_WITH(Hmac::from_env(var, "bad id"), Catch::Contains("key id"));
    CHECK(Hmac::from_env(var, "v1", KeyOptions{"myapp"}).key_for(r).rfind("myapp:k1:acme:hmac-v1:", 0) == 0);
    ::unsetenv(var);
}
#endif

// ---------------------------------------------------------------------------------------------
// Randomized injectivity: requests over a tiny alphabet, so that structural near-collisions
// (boundary shifts, empty strings, unset vs zero, reordered stop sets) come up all the time.
namespace {

/// The request as the key must see it, built independently of detail::canonical_encode: a
/// tuple of its fields (stop sequences sorted and de-duplicated, -0.0 folded to 0.0, texts
/// folded like the normaliser), serialised with explicit lengths so that it can be hashed.
class CanonicalForm {
public:
    CanonicalForm() { out_.reserve(128); }
    void text(char tag, std::string_view s) {
        out_ += tag;
        raw(s.size());
        out_ += s;
    }
    template <class T>
    void optional(char tag, const std::optional<T>& v) {
        out_ += tag;
        out_ += v ? '=' : '-';
        if (v)
            raw(static_cast<std::uint64_t>(*v));
    }
    std::string str() && { return std::move(out_); }

private:
    void raw(std::uint64_t v) {
        char bytes[8];
        std::memcpy(bytes, &v, 8);
        out_.append(bytes, 8);
    }
    std::string out_;
};

std::optional<std::uint64_t> canonical_number(std::optional<double> v) {
    if (!v)
        return std::nullopt;
    const double d = (*v == 0.0) ? 0.0 : *v;
    return std::bit_cast<std::uint64_t>(d);
}

// An independent whitespace fold: split on ASCII whitespace, join with one space.
std::string fold_whitespace(const std::string& s, bool fold_case) {
    std::string out, word;
    auto flush = [&] {
        if (!word.empty()) {
            if (!out.empty())
                out += ' ';
            out += word;
            word.clear();
        }
    };
    for (char c : s) {
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
            flush();
        else
            word += (fold_case && c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    flush();
    return out;
}

enum class Fold { none, whitespace, whitespace_and_case };

std::string canonical_form(const Request& r, Fold fold) {
    auto text = [&](const std::string& s) {
        return fold == Fold::none ? s : fold_whitespace(s, fold == Fold::whitespace_and_case);
    };
    CanonicalForm c;
    c.text('M', r.model);
    c.text('S', text(r.system));
    c.text('C', r.scope);
    c.text('J', r.params.tools_json);
    c.text('j', r.params.tool_choice_json);
    c.optional('n', std::optional<std::size_t>(r.messages.size()));
    for (const auto& m : r.messages)
        c.text(static_cast<char>('0' + static_cast<int>(m.role)), text(m.content));
    c.optional('t', canonical_number(r.params.temperature));
    c.optional('p', canonical_number(r.params.top_p));
    c.optional('x', r.params.max_tokens);
    c.optional('k', r.params.top_k);
    std::vector<std::string> stops = r.params.stop_sequences;
    std::sort(stops.begin(), stops.end());
    stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
    c.optional('s', std::optional<std::size_t>(stops.size()));
    for (const auto& stop : stops)
        c.text('q', stop);
    return std::move(c).str();
}

class RequestGenerator {
public:
    explicit RequestGenerator(std::uint64_t seed, std::string alphabet)
        : rng_(seed), alphabet_(std::move(alphabet)) {}

    Request random() {
        Request r;
        r.model = pick<std::string>({"m", "mm", "", "m:", "M"});
        r.system = text();
        r.scope = pick<std::string>({"", "a", "b", "a:b", "_", "ab"});
        const int n = below(4);
        for (int i = 0; i < n; ++i)
            r.messages.push_back(Message{static_cast<Role>(below(3)), text()});
        reroll_params(r);
        return r;
    }

    /// A copy with one field re-drawn (often to the same value) or with harmless edits.
    Request mutate(Request r) {
        switch (below(12)) {
        case 0:
            r.model = pick<std::string>({"m", "mm", "", "m:", "M"});
            break;
        case 1:
            r.system = text();
            break;
        case 2:
            r.scope = pick<std::string>({"", "a", "b", "a:b", "_", "ab"});
            break;
        case 3:
            if (!r.messages.empty())
                r.messages[static_cast<std::size_t>(below(static_cast<int>(r.messages.size())))].content =
                    text();
            break;
        case 4:
            if (!r.messages.empty())
                r.messages[static_cast<std::size_t>(below(static_cast<int>(r.messages.size())))].role =
                    static_cast<Role>(below(3));
            break;
        case 5:
            if (r.messages.size() >= 2)
                std::swap(r.messages[0], r.messages[1]);
            break;
        case 6: // boundary shift between two adjacent texts
            if (!r.messages.empty() && !r.system.empty()) {
                r.messages[0].content.insert(0, 1, r.system.back());
                r.system.pop_back();
            }
            break;
        case 7: // shuffle and duplicate the stop set: must not change the key
            if (!r.params.stop_sequences.empty()) {
                r.params.stop_sequences.push_back(r.params.stop_sequences.front());
                std::shuffle(r.params.stop_sequences.begin(), r.params.stop_sequences.end(), rng_);
            }
            break;
        case 8: // -0.0 for 0.0: must not change the key
            if (r.params.temperature && *r.params.temperature == 0.0)
                r.params.temperature = -*r.params.temperature;
            break;
        case 9:
            r.messages.push_back(Message{static_cast<Role>(below(3)), text()});
            break;
        case 10:
            if (!r.messages.empty())
                r.messages.pop_back();
            break;
        default:
            reroll_params(r);
            break;
        }
        return r;
    }

private:
    int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
    template <class T>
    T pick(std::initializer_list<T> options) {
        return *(options.begin() + below(static_cast<int>(options.size())));
    }
    std::string text() {
        std::string s;
        const int n = below(4);
        for (int i = 0; i < n; ++i)
            s += alphabet_[static_cast<std::size_t>(below(static_cast<int>(alphabet_.size())))];
        return s;
    }
    void reroll_params(Request& r) {
        auto& p = r.params;
        p.temperature = pick<std::optional<double>>({std::nullopt, 0.0, -0.0, 0.5, 1.0});
        p.top_p = pick<std::optional<double>>({std::nullopt, 0.0, 1.0});
        p.max_tokens = pick<std::optional<int>>({std::nullopt, 0, 1, -1});
        p.top_k = pick<std::optional<int>>({std::nullopt, 0, 1});
        p.stop_sequences.clear();
        const int stops = below(4);
        for (int i = 0; i < stops; ++i)
            p.stop_sequences.push_back(pick<std::string>({"", "a", "b", "ab"}));
        p.tools_json = pick<std::string>({"", "a", "[]"});
        p.tool_choice_json = pick<std::string>({"", "a"});
    }

    std::mt19937_64 rng_;
    std::string alphabet_;
};

/// Draws `pairs` request pairs and checks: same canonical form <=> same key, within each pair and
/// over every request seen. Returns how many pairs were canonically equal.
template <class Policy>
std::size_t check_injective(const Policy& policy, std::uint64_t seed, int pairs, Fold fold,
                            const std::string& alphabet) {
    RequestGenerator gen(seed, alphabet);
    std::unordered_map<std::string, std::string> by_key, by_form;
    by_key.reserve(static_cast<std::size_t>(pairs) * 2);
    by_form.reserve(static_cast<std::size_t>(pairs) * 2);
    std::size_t equal_pairs = 0, failures = 0;
    auto record = [&](const std::string& key, const std::string& form) {
        auto [k, new_key] = by_key.emplace(key, form);
        auto [f, new_form] = by_form.emplace(form, key);
        if ((!new_key && k->second != form) || (!new_form && f->second != key))
            ++failures;
    };
    // A chain of requests, each paired with the one before: mostly a small mutation of it,
    // every fourth a fresh draw. Each request's key is computed once.
    Request a = gen.random();
    std::string fa = canonical_form(a, fold), ka = policy.key_for(a);
    record(ka, fa);
    for (int i = 0; i < pairs; ++i) {
        Request b = (i % 4 == 3) ? gen.random() : gen.mutate(a);
        std::string fb = canonical_form(b, fold), kb = policy.key_for(b);
        if ((fa == fb) != (ka == kb)) {
            ++failures;
            if (failures < 5)
                FAIL_CHECK("pair " << i << ": canonical forms " << (fa == fb ? "equal" : "differ")
                                   << " but keys " << (ka == kb ? "equal" : "differ"));
        }
        if (fa == fb)
            ++equal_pairs;
        record(kb, fb);
        a = std::move(b);
        fa = std::move(fb);
        ka = std::move(kb);
    }
    CHECK(failures == 0);
    return equal_pairs;
}

} // namespace

TEST_CASE("key: randomized: 100k request pairs, distinct canonical requests get distinct xxh3 keys",
          "[key][random]") {
    const std::size_t equal = check_injective(Xxh3Key<>{}, 0x5eed0001, 100'000, Fold::none, "ab");
    // The generator must produce both outcomes often, or the test proves little.
    CHECK(equal > 10'000);
    CHECK(equal < 90'000);
}

TEST_CASE("key: randomized: partitions are injective on what they cover", "[key][random][partition]") {
    // Partitions leave out the last user text; give every request the same one.
    Xxh3Key<> policy;
    RequestGenerator gen(0x5eed0002, "ab");
    std::unordered_map<std::string, std::string> by_key;
    std::size_t failures = 0;
    for (int i = 0; i < 10'000; ++i) {
        Request r = gen.random();
        r.messages.push_back(Message{Role::user, "fixed"});
        const std::string form = canonical_form(r, Fold::none);
        r.messages.back().content = "changed " + std::to_string(i);
        auto [it, inserted] = by_key.emplace(policy.partition_for(r), form);
        if (!inserted && it->second != form)
            ++failures;
    }
    CHECK(failures == 0);
    CHECK(by_key.size() > 1000);
    CHECK(by_key.size() < 10'000); // equal conversations came up, and shared their partition
}

TEST_CASE("key: randomized: normalisers match an independent whitespace and case fold",
          "[key][random][normalize]") {
    CHECK(check_injective(Xxh3Key<normalize::Whitespace>{}, 0x5eed0003, 10'000, Fold::whitespace, "a \nB") >
          1'000);
    CHECK(check_injective(Xxh3Key<normalize::WhitespaceAndCase>{}, 0x5eed0004, 10'000,
                          Fold::whitespace_and_case, "a \tAb") > 1'000);
}

#if LLMCACHE_WITH_OPENSSL
TEST_CASE("key: randomized: sha256 and hmac keys are injective too", "[key][random][hmac]") {
    CHECK(check_injective(llmcache::Sha256Key<>{}, 0x5eed0005, 5'000, Fold::none, "ab") > 500);
    CHECK(check_injective(llmcache::HmacSha256Key<>(secret_a, "v1"), 0x5eed0006, 5'000, Fold::none, "ab") >
          500);
}
#endif
