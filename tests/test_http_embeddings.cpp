// OpenAIEmbeddings against a local server speaking POST /v1/embeddings exactly as documented:
// the request body (model, input array, dimensions, encoding_format), float and base64 answers,
// batching, the in-process cache, errors and malformed answers.
#include "catch.hpp"
#include "support/http_server.hpp"

#include <llmcache/llmcache.hpp>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

using llmcache::EmbeddingEncoding;
using llmcache::ErrorCode;
using llmcache::OpenAIEmbeddings;
using llmcache_test::HttpServer;
using llmcache_test::RecordedRequest;
using llmcache_test::Reply;

namespace {

const std::string api_key = "sk-proj-EMBED-KEY-0123456789abcdef";

/// A deterministic, unnormalised test vector for a text (what the fake model "computes").
std::vector<float> raw_vector(std::string_view text, std::size_t dims) {
    std::vector<float> v(dims);
    for (std::size_t i = 0; i < dims; ++i)
        v[i] = static_cast<float>((static_cast<unsigned char>(text[i % text.size()]) % 17) + 1) *
               (i % 2 == 0 ? 1.0f : -0.5f);
    return v;
}

std::vector<float> normalised(std::vector<float> v) {
    double s = 0;
    for (float x : v)
        s += double(x) * x;
    for (float& x : v)
        x = static_cast<float>(x / std::sqrt(s));
    return v;
}

std::string base64_floats(const std::vector<float>& v) {
    std::string bytes(v.size() * 4, '\0');
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto w = std::bit_cast<std::uint32_t>(v[i]);
        for (int b = 0; b < 4; ++b) // little-endian, whatever the host
            bytes[4 * i + static_cast<std::size_t>(b)] = static_cast<char>((w >> (8 * b)) & 0xff);
    }
    return llmcache::detail::base64::encode(bytes);
}

/// A fake OpenAI embeddings endpoint: reads the request like the server would, answers each input
/// with raw_vector(input, dims) in the asked encoding, data in REVERSE order (clients must use index).
struct FakeOpenAI {
    std::atomic<int> status{200};
    std::optional<std::string> override_body; // when set: sent as is
    std::mutex mu;
    HttpServer server{[this](const RecordedRequest& r) { return handle(r); }};

    Reply handle(const RecordedRequest& r) {
        Reply reply;
        reply.headers = {{"Content-Type", "application/json"}};
        {
            std::lock_guard lock(mu);
            if (override_body) {
                reply.status = status;
                reply.body = *override_body;
                return reply;
            }
        }
        if (r.path != "/v1/embeddings") {
            reply.status = 404;
            return reply;
        }
        std::string body = r.body;
        auto doc = llmcache::detail::json_read::parse(body);
        if (!doc) {
            reply.status = 400;
            reply.body = R"({"error":{"message":"bad json","type":"invalid_request_error"}})";
            return reply;
        }
        const auto* input = doc->find("input");
        const auto* dims = doc->find("dimensions");
        const auto* enc = doc->find("encoding_format");
        const std::size_t d = dims != nullptr ? static_cast<std::size_t>(dims->integer) : 1536;
        const bool b64 = enc != nullptr && enc->string == "base64";
        llmcache::detail::JsonWriter w;
        w.begin_object().key("object").value("list").key("data").begin_array();
        for (std::size_t i = input->items.size(); i-- > 0;) {
            const auto v = raw_vector(input->items[i].string, d);
            w.begin_object()
                .key("object")
                .value("embedding")
                .key("index")
                .value(static_cast<std::uint64_t>(i));
            w.key("embedding");
            if (b64) {
                w.value(base64_floats(v));
            } else {
                w.begin_array();
                for (float x : v)
                    w.value(static_cast<double>(x));
                w.end_array();
            }
            w.end_object();
        }
        w.end_array().key("model").value(doc->find("model")->string);
        w.key("usage").begin_object().key("prompt_tokens").value(3).key("total_tokens").value(3).end_object();
        w.end_object();
        reply.body = std::move(w).str();
        return reply;
    }

    void answer_with(int s, std::string body) {
        std::lock_guard lock(mu);
        status = s;
        override_body = std::move(body);
    }
};

llmcache::OpenAIEmbeddingsOptions options_for(FakeOpenAI& f, std::size_t dims = 8,
                                              EmbeddingEncoding enc = EmbeddingEncoding::base64) {
    llmcache::OpenAIEmbeddingsOptions o;
    o.model = "text-embedding-3-small";
    o.dimensions = dims;
    o.base_url = f.server.url() + "/v1/";
    o.api_key = api_key;
    o.encoding = enc;
    return o;
}

void check_close(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        CHECK(a[i] == Approx(b[i]).margin(1e-6));
}

} // namespace

TEST_CASE("embeddings: the request body and headers are exactly as documented", "[embeddings]") {
    FakeOpenAI f;
    const auto enc = GENERATE(EmbeddingEncoding::base64, EmbeddingEncoding::float32);
    OpenAIEmbeddings e(options_for(f, 8, enc));
    const std::vector<std::string_view> texts = {"first \"quoted\" text", "second\ttext \xc3\xa9"};
    auto r = e.embed_many(texts);
    REQUIRE(r);
    REQUIRE(r->size() == 2);
    check_close((*r)[0], normalised(raw_vector(texts[0], 8)));
    check_close((*r)[1], normalised(raw_vector(texts[1], 8)));

    const RecordedRequest req = f.server.last_request();
    CHECK(req.method == "POST");
    CHECK(req.path == "/v1/embeddings");
    CHECK(req.header("authorization") == "Bearer " + api_key);
    CHECK(req.header("content-type") == "application/json");
    std::string body = req.body;
    const auto doc = llmcache::detail::json_read::parse(body);
    REQUIRE(doc);
    CHECK(doc->find("model")->string == "text-embedding-3-small");
    REQUIRE(doc->find("input")->items.size() == 2);
    CHECK(doc->find("input")->items[0].string == texts[0]);
    CHECK(doc->find("input")->items[1].string == texts[1]);
    CHECK(doc->find("dimensions")->integer == 8);
    CHECK(doc->find("encoding_format")->string == (enc == EmbeddingEncoding::base64 ? "base64" : "float"));
}

TEST_CASE("embeddings: id names the vector space; embed_into fits the embedder interface", "[embeddings]") {
    FakeOpenAI f;
    auto o = options_for(f, 16);
    OpenAIEmbeddings e(o);
    CHECK(e.id() == "openai:text-embedding-3-small:d16:v1");
    CHECK(e.dimensions() == 16);
    o.space = "ollama-q4";
    CHECK(OpenAIEmbeddings(o).id() == "openai:text-embedding-3-small:d16:v1:ollama-q4");
    CHECK(e.id().find(f.server.url().substr(7)) == std::string::npos); // not the host

    std::vector<float> out(16, 7.0f);
    REQUIRE(e.embed_into("hello world", out));
    double norm = 0;
    for (float x : out)
        norm += double(x) * x;
    CHECK(norm == Approx(1.0).epsilon(1e-5)); // L2-normalised here
    check_close(out, normalised(raw_vector("hello world", 16)));

    std::vector<float> wrong(15, 1.0f);
    CHECK_FALSE(e.embed_into("hello", wrong));
    CHECK_FALSE(e.embed_into("", out)); // servers refuse empty inputs: no request
    for (float x : out)
        CHECK(x == 0.0f);
    CHECK(f.server.request_count() == 1);
}

TEST_CASE("embeddings: batches are split by max_batch, and repeats are sent once", "[embeddings]") {
    FakeOpenAI f;
    auto o = options_for(f);
    o.max_batch = 3;
    OpenAIEmbeddings e(o);
    std::vector<std::string> owned;
    for (int i = 0; i < 7; ++i)
        owned.push_back("text number " + std::to_string(i));
    owned.push_back("text number 2"); // a repeat
    std::vector<std::string_view> texts(owned.begin(), owned.end());
    auto r = e.embed_many(texts);
    REQUIRE(r);
    REQUIRE(r->size() == 8);
    for (std::size_t i = 0; i < texts.size(); ++i)
        check_close((*r)[i], normalised(raw_vector(texts[i], 8)));
    const auto reqs = f.server.requests();
    REQUIRE(reqs.size() == 3); // 7 distinct texts in batches of 3, 3, 1
    std::size_t sent = 0;
    for (const auto& q : reqs) {
        std::string b = q.body;
        auto doc = llmcache::detail::json_read::parse(b);
        REQUIRE(doc);
        CHECK(doc->find("input")->items.size() <= 3);
        sent += doc->find("input")->items.size();
    }
    CHECK(sent == 7);
    CHECK(e.stats().texts_sent == 7);
}

TEST_CASE("embeddings: the in-process cache avoids a second request", "[embeddings]") {
    FakeOpenAI f;
    OpenAIEmbeddings e(options_for(f));
    auto a = e.embed("cached text");
    REQUIRE(a);
    auto b = e.embed("cached text");
    REQUIRE(b);
    CHECK(*a == *b);
    CHECK(f.server.request_count() == 1);
    CHECK(e.stats().cache_hits == 1);
    // Mixed: one cached, one new: only the new one is sent.
    const std::vector<std::string_view> texts = {"cached text", "new text"};
    REQUIRE(e.embed_many(texts));
    CHECK(f.server.request_count() == 2);
    std::string body = f.server.last_request().body;
    auto doc = llmcache::detail::json_read::parse(body);
    REQUIRE(doc);
    REQUIRE(doc->find("input")->items.size() == 1);
    CHECK(doc->find("input")->items[0].string == "new text");
    // A copy shares the cache; a bounded cache evicts the least recently used.
    OpenAIEmbeddings copy = e;
    REQUIRE(copy.embed("new text"));
    CHECK(f.server.request_count() == 2);
    auto o = options_for(f);
    o.cache_entries = 2;
    OpenAIEmbeddings small(o);
    for (const char* t : {"a1", "a2", "a3", "a1"})
        REQUIRE(small.embed(t));
    CHECK(small.stats().requests == 4); // a1 was evicted by a3
}

TEST_CASE("embeddings: provider errors map to codes, with the message and never the key", "[embeddings]") {
    FakeOpenAI f;
    OpenAIEmbeddings e(options_for(f));
    struct Case {
        int status;
        std::string body;
        ErrorCode code;
        std::string message;
    };
    const std::vector<Case> cases = {
        {401,
         R"({"error":{"message":"Incorrect API key provided: sk-proj-EMBED-KEY-0123456789abcdef.","type":"invalid_request_error","code":"invalid_api_key"}})",
         ErrorCode::authentication, "Incorrect API key"},
        {429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})",
         ErrorCode::rate_limited, "Rate limit reached"},
        {429,
         R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}})",
         ErrorCode::quota_exhausted, "current quota"},
        {400,
         R"({"error":{"message":"This model does not support specifying dimensions.","type":"invalid_request_error"}})",
         ErrorCode::invalid_request, "does not support"},
        {422, R"({"message":"Input validation error","code":422,"type":"Validation"})",
         ErrorCode::invalid_request, "Input validation error"},
        {500, R"({"error":{"message":"The server had an error"}})", ErrorCode::backend_unavailable,
         "server had"},
        {503, "<html>down</html>", ErrorCode::backend_unavailable, "HTTP 503"},
    };
    int n = 0;
    for (const Case& c : cases) {
        f.answer_with(c.status, c.body);
        auto r = e.embed("x" + std::to_string(n++)); // new text each time: not cached
        REQUIRE_FALSE(r);
        CHECK(r.error().code == c.code);
        CHECK(r.error().http_status == c.status);
        CHECK(r.error().message.find(c.message) != std::string::npos);
        CHECK(r.error().message.find(api_key) == std::string::npos);
        CHECK(r.error().message.find("EMBED-KEY") == std::string::npos);
    }
    CHECK(e.stats().errors == cases.size());
}

TEST_CASE("embeddings: retry-after hints on 429", "[embeddings]") {
    HttpServer server([](const RecordedRequest& r) {
        Reply reply;
        reply.status = 429;
        reply.body = R"({"error":{"message":"slow down","code":"rate_limit_exceeded"}})";
        if (r.body.find("ms please") != std::string::npos)
            reply.headers = {{"retry-after-ms", "250"}, {"retry-after", "9"}};
        else
            reply.headers = {{"retry-after", "2"}};
        return reply;
    });
    llmcache::OpenAIEmbeddingsOptions o;
    o.base_url = server.url();
    o.dimensions = 4;
    OpenAIEmbeddings e(o);
    auto a = e.embed("ms please");
    REQUIRE_FALSE(a);
    CHECK(a.error().retry_after == std::chrono::milliseconds(250));
    auto b = e.embed("seconds");
    REQUIRE_FALSE(b);
    CHECK(b.error().retry_after == std::chrono::milliseconds(2000));
    CHECK_FALSE(server.last_request().has_header("authorization")); // no key: none sent
}

TEST_CASE("embeddings: malformed, truncated and inconsistent answers are bad_response", "[embeddings]") {
    FakeOpenAI f;
    OpenAIEmbeddings e(options_for(f, 2));
    const std::string good_a = base64_floats({0.6f, 0.8f});
    const std::vector<std::string> bodies = {
        "",
        "{",
        R"({"data":[{"index":0,"embedding":[0.6,0.8]}])",           // truncated
        R"({"data":[{"index":0,"embedding":[0.6,0.8]}]} trailing)", // trailing
        R"({"data":[]})",                                           // too few
        R"({"object":"list"})",                                     // no data
        R"({"data":[{"index":0,"embedding":[0.6]}]})",              // wrong dims
        R"({"data":[{"index":0,"embedding":[0.6,0.8,0.1]}]})",      // wrong dims
        R"({"data":[{"index":1,"embedding":[0.6,0.8]}]})",          // index out of range
        R"({"data":[{"index":0,"embedding":[0,0]}]})",              // zero vector
        R"({"data":[{"index":0,"embedding":"not base64!"}]})",      // bad base64
        R"({"data":[{"index":0,"embedding":"AAAA"}]})",             // 3 bytes
        R"({"data":[{"index":0,"embedding":"AADAfwAAgD8="}]})",     // NaN
        R"({"data":[{"embedding":[0.6,0.8]}]})",                    // no index
        R"({"data":[{"index":0,"embedding":[0.6,0.8]},{"index":0,"embedding":[0.6,0.8]}]})", // repeated
        R"({"data":{"index":0}})",                                                           // not an array
        R"({"data":[{"index":0,"embedding":["a","b"]}]})",                                   // not numbers
    };
    int n = 0;
    for (const std::string& body : bodies) {
        f.answer_with(200, body);
        auto r = e.embed("t" + std::to_string(n++));
        INFO(body);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::bad_response);
    }
    // The same shapes, well formed, are accepted (so the cases above fail for their flaw).
    f.answer_with(200, R"({"data":[{"index":0,"embedding":")" + good_a + R"("}],"model":"m"})");
    auto ok = e.embed("good");
    REQUIRE(ok);
    check_close(*ok, {0.6f, 0.8f});
    f.answer_with(
        200, R"({"usage":{"prompt_tokens":1},"data":[{"embedding":[3,4],"index":0,"object":"embedding"}]})");
    auto ok2 = e.embed("good2");
    REQUIRE(ok2);
    check_close(*ok2, {0.6f, 0.8f}); // normalised
}

TEST_CASE("embeddings: a server cut mid-body or down is an error, and embed_into says false",
          "[embeddings]") {
    HttpServer cut([](const RecordedRequest&) {
        Reply r;
        r.body = R"({"data":[{"index":0,"embedding":[0.6,0.8]}]})";
        r.cut_after = 10;
        return r;
    });
    llmcache::OpenAIEmbeddingsOptions o;
    o.base_url = cut.url();
    o.dimensions = 2;
    o.api_key = api_key;
    OpenAIEmbeddings e(o);
    auto r = e.embed("x");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::backend_unavailable);
    CHECK(r.error().message.find(api_key) == std::string::npos);
    std::vector<float> out(2);
    CHECK_FALSE(e.embed_into("x", out));
}
