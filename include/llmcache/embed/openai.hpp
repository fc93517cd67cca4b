// OpenAIEmbeddings: vectors from an OpenAI-compatible POST /v1/embeddings endpoint (OpenAI, and
// local servers such as Ollama, vLLM, llama.cpp's llama-server, text-embeddings-inference), for
// the semantic cache. It fits the `embedder` interface (id, dimensions, embed_into).
//
// Requires: LLMCACHE_WITH_CURL=1 (libcurl + simdjson).
//
//     llmcache::OpenAIEmbeddings e({.model = "text-embedding-3-small", .dimensions = 512});
//     std::vector<float> v(e.dimensions());
//     bool ok = e.embed_into("what is the capital of France?", v);     // false: no vector
//     auto many = e.embed_many(texts);      // Result<std::vector<std::vector<float>>>, in order
//
// Configuration: base_url (empty: $OPENAI_BASE_URL, else https://api.openai.com/v1; the request
// goes to <base_url>/embeddings), api_key (empty: $OPENAI_API_KEY; may stay empty for local
// servers, then no Authorization header is sent), model, dimensions.
//
// The id names the vector space, not the server: "openai:<model>:d<dimensions>:v1", plus
// ":<space>" when Options::space is set. Vectors of one id are comparable wherever they were
// computed (the same model served by OpenAI or by a proxy); set `space` to tell apart spaces
// the model name alone does not (a local server's own fine-tuned "text-embedding-3-small", a
// different quantisation). v1 is this client's own processing (L2 normalisation, float32).
//
// Wire: {"model", "input": [texts...], "encoding_format": "base64"|"float", "dimensions"} (the
// last only when send_dimensions: OpenAI's text-embedding-3-* and Matryoshka models accept it;
// ada-002 and older local servers refuse it). base64 (the default, as the official SDK does)
// is the raw little-endian float32 array, a quarter of the bytes of decimal floats. Answers are
// matched to inputs by data[i].index, not by order.
//
// Many inputs per request: embed_many sends at most max_batch texts per request (OpenAI allows
// 2048); identical texts in one call are sent once; texts already in the in-process cache are
// not sent at all. The cache is an LRU of `cache_entries` vectors keyed by XXH3-128 of (id, text),
// shared by copies of the embedder (0 turns it off).
//
// Validation: a response must hold exactly one finite vector of `dimensions` floats, not all
// zero, for every input; otherwise the whole call is bad_response (no partial vectors). Every
// vector is L2-normalised here (OpenAI's already are; some local servers' are not), so cosine
// similarity is a dot product.
//
// Errors (Result, never exceptions): transport failures backend_unavailable / backend_timeout;
// 401/403 authentication; 429 rate_limited (retry_after from retry-after-ms / retry-after), or
// quota_exhausted when the error says insufficient_quota; 400/404/413/422 invalid_request;
// 5xx and 424 backend_unavailable; malformed or truncated JSON bad_response. Messages carry the
// provider's own message (OpenAI's nested {"error":{"message"}} or the flat {"message"} of TEI and
// older vLLM), never the API key. embed_into() returns false for all of these, and for an empty
// text (servers refuse empty inputs); stats() counts them.
#pragma once

#include "../config.hpp"
#include "../detail/base64.hpp"
#include "../detail/http/client.hpp"
#include "../detail/json_read.hpp"
#include "../detail/json_write.hpp"
#include "../detail/xxhash.hpp"
#include "../error.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

enum class EmbeddingEncoding { base64, float32 };

struct OpenAIEmbeddingsOptions {
    std::string model = "text-embedding-3-small";
    std::size_t dimensions = 1536;
    bool send_dimensions = true; ///< send the `dimensions` field (false for ada-002, old servers)
    std::string base_url{};      ///< empty: $OPENAI_BASE_URL, else https://api.openai.com/v1
    std::string api_key{};       ///< empty: $OPENAI_API_KEY (may stay empty for local servers)
    std::string space{};         ///< extra tag in id() naming the vector space
    EmbeddingEncoding encoding = EmbeddingEncoding::base64;
    std::size_t max_batch = 256;      ///< texts per request (OpenAI's limit is 2048)
    std::size_t cache_entries = 4096; ///< in-process LRU of vectors; 0: no cache
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds timeout{30'000}; ///< per request
    std::vector<http::Header> extra_headers{}; ///< e.g. OpenAI-Organization, OpenAI-Project
};

struct OpenAIEmbeddingsStats {
    std::uint64_t requests = 0;   ///< HTTP requests sent
    std::uint64_t texts_sent = 0; ///< inputs sent (after the cache and de-duplication)
    std::uint64_t cache_hits = 0; ///< texts answered from the in-process cache
    std::uint64_t errors = 0;     ///< failed embed calls
};

class OpenAIEmbeddings {
public:
    using Options = OpenAIEmbeddingsOptions;
    static constexpr int version = 1;

    OpenAIEmbeddings() : OpenAIEmbeddings(Options{}) {}
    /// Throws std::invalid_argument for a zero dimension, an empty model or a malformed base URL.
    explicit OpenAIEmbeddings(Options options) {
        if (options.base_url.empty()) {
            const char* env = std::getenv("OPENAI_BASE_URL");
            options.base_url = (env != nullptr && env[0] != '\0') ? env : "https://api.openai.com/v1";
        }
        if (options.api_key.empty())
            if (const char* env = std::getenv("OPENAI_API_KEY"); env != nullptr)
                options.api_key = env;
        while (!options.base_url.empty() && options.base_url.back() == '/')
            options.base_url.pop_back();
        if (options.dimensions == 0 || options.model.empty())
            detail::invalid_argument("llmcache: OpenAIEmbeddings needs a model and dimensions > 0");
        if (!(options.base_url.starts_with("https://") || options.base_url.starts_with("http://")))
            detail::invalid_argument(
                "llmcache: OpenAIEmbeddings: the base URL must start with http:// or https://");
        if (options.max_batch == 0)
            options.max_batch = 1;
        auto st = std::make_shared<State>();
        st->id = "openai:" + options.model + ":d" + std::to_string(options.dimensions) + ":v" +
                 std::to_string(version) + (options.space.empty() ? "" : ":" + options.space);
        st->url = options.base_url + "/embeddings";
        st->options = std::move(options);
        state_ = std::move(st);
    }

    const std::string& id() const noexcept { return state_->id; }
    std::size_t dimensions() const noexcept { return state_->options.dimensions; }
    const Options& options() const noexcept { return state_->options; }

    /// The `embedder` interface: true when `out` (size dimensions()) holds the L2-normalised
    /// vector of `text`; false (out zeroed) on any failure, an empty text or a wrong out size.
    bool embed_into(std::string_view text, std::span<float> out) const noexcept {
        const bool ok = out.size() == dimensions() && !text.empty() && [&] {
            auto v = embed_many(std::span<const std::string_view>(&text, 1));
            if (!v)
                return false;
            std::copy((*v)[0].begin(), (*v)[0].end(), out.begin());
            return true;
        }();
        if (!ok)
            std::fill(out.begin(), out.end(), 0.0f);
        return ok;
    }

    Result<std::vector<float>> embed(std::string_view text) const noexcept {
        auto v = embed_many(std::span<const std::string_view>(&text, 1));
        if (!v)
            return unexpected<Error>(v.error());
        return std::move((*v)[0]);
    }

    /// One vector per text, in order. Cached texts are not sent; the rest go in requests of at
    /// most max_batch texts. Any failure fails the whole call.
    Result<std::vector<std::vector<float>>>
    embed_many(std::span<const std::string_view> texts) const noexcept {
        State& st = *state_;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            auto r = embed_many_impl(st, texts);
            if (!r)
                st.errors.fetch_add(1, std::memory_order_relaxed);
            return r;
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            st.errors.fetch_add(1, std::memory_order_relaxed);
            return fail(ErrorCode::backend_failed, "llmcache: OpenAIEmbeddings: out of memory");
        }
#endif
    }

    OpenAIEmbeddingsStats stats() const noexcept {
        const State& st = *state_;
        return {st.requests.load(std::memory_order_relaxed), st.texts_sent.load(std::memory_order_relaxed),
                st.cache_hits.load(std::memory_order_relaxed), st.errors.load(std::memory_order_relaxed)};
    }

    /// Empties the in-process cache.
    void clear_cache() const noexcept {
        std::lock_guard lock(state_->cache_mu);
        state_->lru.clear();
        state_->index.clear();
    }

private:
    struct Digest {
        std::uint64_t lo = 0, hi = 0;
        friend bool operator==(const Digest&, const Digest&) = default;
    };
    struct DigestHash {
        std::size_t operator()(const Digest& d) const noexcept {
            return static_cast<std::size_t>(d.lo ^ d.hi);
        }
    };
    struct CacheEntry {
        Digest digest;
        std::vector<float> vector;
    };

    struct State {
        Options options;
        std::string id;
        std::string url;
        std::mutex cache_mu;
        std::list<CacheEntry> lru; ///< most recently used first
        std::unordered_map<Digest, std::list<CacheEntry>::iterator, DigestHash> index;
        std::atomic<std::uint64_t> requests{0}, texts_sent{0}, cache_hits{0}, errors{0};
    };

    static Digest digest_of(const State& st, std::string_view text) noexcept {
        // (id, text) with the id's length first, so no two pairs give the same bytes.
        XXH3_state_t h;
        XXH3_128bits_reset(&h);
        const std::uint64_t n = st.id.size();
        XXH3_128bits_update(&h, &n, sizeof n);
        XXH3_128bits_update(&h, st.id.data(), st.id.size());
        XXH3_128bits_update(&h, text.data(), text.size());
        const XXH128_hash_t d = XXH3_128bits_digest(&h);
        return {d.low64, d.high64};
    }

    static bool cache_get(State& st, const Digest& d, std::vector<float>& out) {
        if (st.options.cache_entries == 0)
            return false;
        std::lock_guard lock(st.cache_mu);
        auto it = st.index.find(d);
        if (it == st.index.end())
            return false;
        st.lru.splice(st.lru.begin(), st.lru, it->second);
        out = it->second->vector;
        return true;
    }

    static void cache_put(State& st, const Digest& d, const std::vector<float>& v) {
        if (st.options.cache_entries == 0)
            return;
        std::lock_guard lock(st.cache_mu);
        if (auto it = st.index.find(d); it != st.index.end()) {
            st.lru.splice(st.lru.begin(), st.lru, it->second);
            return;
        }
        st.lru.push_front(CacheEntry{d, v});
        st.index.emplace(d, st.lru.begin());
        while (st.lru.size() > st.options.cache_entries) {
            st.index.erase(st.lru.back().digest);
            st.lru.pop_back();
        }
    }

    static Result<std::vector<std::vector<float>>> embed_many_impl(State& st,
                                                                   std::span<const std::string_view> texts) {
        std::vector<std::vector<float>> out(texts.size());
        for (std::string_view t : texts)
            if (t.empty())
                return fail(ErrorCode::invalid_request, "llmcache: OpenAIEmbeddings: an input text is empty");
        // Texts to send (unique, not cached), and where their vectors go.
        std::vector<std::string_view> pending;
        std::vector<Digest> pending_digest;
        std::vector<std::vector<std::size_t>> targets;
        std::unordered_map<Digest, std::size_t, DigestHash> seen;
        for (std::size_t i = 0; i < texts.size(); ++i) {
            const Digest d = digest_of(st, texts[i]);
            if (auto it = seen.find(d); it != seen.end()) {
                targets[it->second].push_back(i);
                continue;
            }
            if (cache_get(st, d, out[i])) {
                st.cache_hits.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            seen.emplace(d, pending.size());
            pending.push_back(texts[i]);
            pending_digest.push_back(d);
            targets.push_back({i});
        }
        for (std::size_t start = 0; start < pending.size(); start += st.options.max_batch) {
            const std::size_t n = std::min(st.options.max_batch, pending.size() - start);
            auto vectors = request(st, std::span<const std::string_view>(pending.data() + start, n));
            if (!vectors)
                return unexpected<Error>(vectors.error());
            for (std::size_t k = 0; k < n; ++k) {
                cache_put(st, pending_digest[start + k], (*vectors)[k]);
                for (std::size_t i : targets[start + k])
                    out[i] = (*vectors)[k];
            }
        }
        return out;
    }

    static std::string body_for(const State& st, std::span<const std::string_view> texts) {
        detail::JsonWriter w;
        std::size_t bytes = 96 + st.options.model.size();
        for (std::string_view t : texts)
            bytes += t.size() + 4;
        w.reserve(bytes);
        w.begin_object().key("model").value(st.options.model).key("input").begin_array();
        for (std::string_view t : texts)
            w.value(t);
        w.end_array();
        w.key("encoding_format").value(st.options.encoding == EmbeddingEncoding::base64 ? "base64" : "float");
        if (st.options.send_dimensions)
            w.key("dimensions").value(static_cast<std::uint64_t>(st.options.dimensions));
        w.end_object();
        return std::move(w).str();
    }

    static Result<std::vector<std::vector<float>>> request(State& st,
                                                           std::span<const std::string_view> texts) {
        http::HttpRequest req;
        req.url = st.url;
        req.headers.push_back({"Content-Type", "application/json"});
        if (!st.options.api_key.empty())
            req.headers.push_back({"Authorization", "Bearer " + st.options.api_key});
        for (const http::Header& h : st.options.extra_headers)
            req.headers.push_back(h);
        req.body = body_for(st, texts);
        req.connect_timeout = st.options.connect_timeout;
        req.timeout = st.options.timeout;
        st.requests.fetch_add(1, std::memory_order_relaxed);
        st.texts_sent.fetch_add(texts.size(), std::memory_order_relaxed);
        auto res = http::perform(req);
        if (!res) {
            Error e = std::move(res).error();
            e.message = "llmcache: OpenAI embeddings: " + e.message;
            return unexpected<Error>(std::move(e));
        }
        if (res->status != 200)
            return unexpected<Error>(status_error(st, *res));
        return parse_vectors(st, res->body, texts.size());
    }

    /// Maps a non-200 answer to an Error, with the provider's message (never the key).
    static Error status_error(const State& st, http::HttpResponse& res) {
        std::string provider_message;
        std::string type_and_code;
        if (auto doc = detail::json_read::parse(res.body)) {
            const detail::json_read::Value* e = doc->find("error");
            const detail::json_read::Value* holder = (e != nullptr && e->is_object()) ? e : &*doc;
            if (const auto* m = holder->find("message"); m != nullptr && m->is_string())
                provider_message = m->string;
            else if (e != nullptr && e->is_string()) // TEI's native {"error": "..."}
                provider_message = e->string;
            for (const char* field : {"type", "code"})
                if (const auto* f = holder->find(field); f != nullptr && f->is_string())
                    type_and_code += f->string + " ";
        }
        const long s = res.status;
        ErrorCode code = ErrorCode::backend_failed;
        if (s == 401 || s == 403)
            code = ErrorCode::authentication;
        else if (s == 429)
            code = type_and_code.find("insufficient_quota") != std::string::npos ? ErrorCode::quota_exhausted
                                                                                 : ErrorCode::rate_limited;
        else if (s == 400 || s == 404 || s == 413 || s == 422)
            code = ErrorCode::invalid_request;
        else if (s >= 500 || s == 424 || s == 408)
            code = ErrorCode::backend_unavailable;
        std::string message = "llmcache: OpenAI embeddings: HTTP " + std::to_string(s);
        if (!provider_message.empty())
            message += ": " + provider_message.substr(0, 300);
        http::detail::scrub(message, st.options.api_key);
        Error err{code, std::move(message), static_cast<int>(s), std::nullopt};
        if (code == ErrorCode::rate_limited)
            err.retry_after = retry_after(res);
        return err;
    }

    static std::optional<std::chrono::milliseconds> retry_after(const http::HttpResponse& res) {
        auto number = [](std::string_view s) -> std::optional<double> {
            if (s.empty())
                return std::nullopt;
            char* end = nullptr;
            const std::string text(s);
            const double v = std::strtod(text.c_str(), &end);
            if (end != text.c_str() + text.size() || !std::isfinite(v) || v < 0 || v > 86'400'000)
                return std::nullopt;
            return v;
        };
        if (auto ms = number(res.header("retry-after-ms")))
            return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
        if (auto s = number(res.header("retry-after")))
            return std::chrono::milliseconds(static_cast<std::int64_t>(*s * 1000));
        return std::nullopt;
    }

    static unexpected<Error> bad(std::string_view why) {
        return fail(ErrorCode::bad_response, "llmcache: OpenAI embeddings: " + std::string(why));
    }

    /// Reads data[].{index, embedding} with simdjson On-Demand (no tree for thousands of floats).
    static Result<std::vector<std::vector<float>>> parse_vectors(const State& st, std::string& body,
                                                                 std::size_t expected) {
        namespace od = simdjson::ondemand;
        const std::size_t dims = st.options.dimensions;
        std::vector<std::vector<float>> out(expected);
        od::document doc;
        if (detail::json_read::iterate(body, doc) != simdjson::SUCCESS)
            return bad("the response is not JSON");
        od::object root;
        if (doc.get_object().get(root) != simdjson::SUCCESS)
            return bad("the response is not a JSON object");
        bool saw_data = false;
        for (auto field : root) {
            std::string_view key;
            if (field.unescaped_key().get(key) != simdjson::SUCCESS)
                return bad("malformed JSON");
            if (key != "data") {
                od::value skipped;
                if (field.value().get(skipped) != simdjson::SUCCESS)
                    return bad("malformed JSON");
                continue;
            }
            saw_data = true;
            od::array data;
            if (field.value().get_array().get(data) != simdjson::SUCCESS)
                return bad("`data` is not an array");
            for (auto element : data) {
                od::object item;
                if (element.get_object().get(item) != simdjson::SUCCESS)
                    return bad("a `data` item is not an object");
                std::optional<std::int64_t> index;
                std::vector<float> vec;
                bool has_vec = false;
                for (auto f : item) {
                    std::string_view k;
                    if (f.unescaped_key().get(k) != simdjson::SUCCESS)
                        return bad("malformed JSON");
                    od::value v;
                    if (f.value().get(v) != simdjson::SUCCESS)
                        return bad("malformed JSON");
                    if (k == "index") {
                        std::int64_t i = 0;
                        if (v.get_int64().get(i) != simdjson::SUCCESS)
                            return bad("`index` is not an integer");
                        index = i;
                    } else if (k == "embedding") {
                        has_vec = true;
                        if (!read_embedding(v, vec))
                            return bad("an embedding is neither a float array nor base64 float32");
                    }
                }
                if (!index || !has_vec)
                    return bad("a `data` item lacks `index` or `embedding`");
                if (*index < 0 || static_cast<std::size_t>(*index) >= expected ||
                    !out[static_cast<std::size_t>(*index)].empty())
                    return bad("`index` out of range or repeated");
                if (vec.size() != dims)
                    return bad("an embedding has " + std::to_string(vec.size()) + " dimensions, expected " +
                               std::to_string(dims));
                if (!normalise(vec))
                    return bad("an embedding holds NaN, infinity or only zeros");
                out[static_cast<std::size_t>(*index)] = std::move(vec);
            }
        }
        if (!detail::json_read::at_end(doc))
            return bad("trailing or truncated JSON");
        if (!saw_data)
            return bad("no `data` in the response");
        for (const auto& v : out)
            if (v.empty())
                return bad("fewer embeddings than inputs");
        return out;
    }

    static bool read_embedding(simdjson::ondemand::value v, std::vector<float>& out) {
        simdjson::ondemand::json_type type;
        if (v.type().get(type) != simdjson::SUCCESS)
            return false;
        if (type == simdjson::ondemand::json_type::array) {
            simdjson::ondemand::array a;
            if (v.get_array().get(a) != simdjson::SUCCESS)
                return false;
            for (auto x : a) {
                double d = 0;
                if (x.get_double().get(d) != simdjson::SUCCESS)
                    return false;
                out.push_back(static_cast<float>(d));
            }
            return true;
        }
        if (type != simdjson::ondemand::json_type::string)
            return false;
        std::string_view text;
        if (v.get_string().get(text) != simdjson::SUCCESS)
            return false;
        std::string bytes;
        if (!detail::base64::decode_into(bytes, text) || bytes.size() % 4 != 0)
            return false;
        out.resize(bytes.size() / 4);
        for (std::size_t i = 0; i < out.size(); ++i) {
            std::uint32_t w = 0;
            std::memcpy(&w, bytes.data() + 4 * i, 4);
            if constexpr (std::endian::native == std::endian::big)
                w = ((w & 0xffu) << 24) | ((w & 0xff00u) << 8) | ((w >> 8) & 0xff00u) | (w >> 24);
            out[i] = std::bit_cast<float>(w);
        }
        return true;
    }

    /// L2-normalises in place; false for NaN, infinities or a zero vector.
    static bool normalise(std::vector<float>& v) noexcept {
        double sum = 0;
        for (float x : v) {
            if (!std::isfinite(x))
                return false;
            sum += static_cast<double>(x) * static_cast<double>(x);
        }
        if (!(sum > 0) || !std::isfinite(sum))
            return false;
        const double inv = 1.0 / std::sqrt(sum);
        for (float& x : v)
            x = static_cast<float>(static_cast<double>(x) * inv);
        return true;
    }

    std::shared_ptr<State> state_;
};

LLMCACHE_END_NAMESPACE
