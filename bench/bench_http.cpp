// The HTTP layer's per-call overhead, next to a bare libcurl request, in the same run, against the
// same local server (tests/support/http_server.hpp, in this process, keep-alive).
//
//   Raw/CurlEasy        one CURL easy handle, options set once, curl_easy_perform per call: the
//                       floor for a POST of the same 300-byte JSON body and 1 KB answer
//   Http/Perform        llmcache::http::perform of the same request: curl_easy_reset + options,
//                       header list, header parsing (lower-cased copies), body collection, Result
//   Http/Streaming      perform_streaming of the same request (chunks to a callback)
//   Json/Escape         append_json_string of a 2 KB prompt with quotes, newlines and UTF-8 (bytes/s)
//   Json/EmbeddingsBody JsonWriter building an embeddings request of 64 inputs of 200 bytes
//
// Each HTTP call is timed; p50 (µs) is a counter, and at the end the program prints the p50 of
// Http/Perform over Raw/CurlEasy (the layer's cost; the server's time is in both).
#include <llmcache/config.hpp>

#if LLMCACHE_WITH_CURL

#include "../tests/support/http_server.hpp"

#include <llmcache/llmcache.hpp>

#include <benchmark/benchmark.h>
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

llmcache_test::HttpServer* server = nullptr;
const std::string request_body = [] {
    std::string b = R"({"model":"m","input":[")";
    b += std::string(260, 'x');
    b += R"("]})";
    return b;
}();

std::mutex p50_mu;
std::map<std::string, double> p50_by_name;

void report_p50(benchmark::State& state, const char* name, std::vector<double>& us) {
    if (us.empty())
        return;
    std::sort(us.begin(), us.end());
    const double p50 = us[us.size() / 2];
    state.counters["p50_us"] = p50;
    state.counters["p99_us"] = us[us.size() * 99 / 100];
    std::lock_guard lock(p50_mu);
    p50_by_name[name] = p50;
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
}

void Raw_CurlEasy(benchmark::State& state) {
    CURL* h = curl_easy_init();
    std::string body;
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
    const std::string url = server->url() + "/bench";
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request_body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request_body.size()));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    std::vector<double> us;
    for (auto _ : state) {
        body.clear();
        const auto t0 = Clock::now();
        const CURLcode rc = curl_easy_perform(h);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (rc != CURLE_OK || body.size() != 1024)
            state.SkipWithError("curl request failed");
    }
    report_p50(state, "Raw/CurlEasy", us);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
}

void Http_Perform(benchmark::State& state) {
    llmcache::http::HttpRequest req;
    req.url = server->url() + "/bench";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = request_body;
    std::vector<double> us;
    for (auto _ : state) {
        const auto t0 = Clock::now();
        auto r = llmcache::http::perform(req);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!r || r->body.size() != 1024)
            state.SkipWithError("http::perform failed");
    }
    report_p50(state, "Http/Perform", us);
}

void Http_Streaming(benchmark::State& state) {
    llmcache::http::HttpRequest req;
    req.url = server->url() + "/bench";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = request_body;
    std::vector<double> us;
    for (auto _ : state) {
        std::size_t got = 0;
        const auto t0 = Clock::now();
        auto r = llmcache::http::perform_streaming(req, [&](std::string_view b) {
            got += b.size();
            return true;
        });
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!r || got != 1024)
            state.SkipWithError("http::perform_streaming failed");
    }
    report_p50(state, "Http/Streaming", us);
}

void Json_Escape(benchmark::State& state) {
    std::string prompt;
    while (prompt.size() < 2048)
        prompt += "Say \"hello\" to the world.\nThen explain caf\xc3\xa9 \xe2\x82\xac prices\t(briefly). ";
    std::string out;
    for (auto _ : state) {
        out.clear();
        llmcache::detail::append_json_string(out, prompt);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * prompt.size()));
}

void Json_EmbeddingsBody(benchmark::State& state) {
    std::vector<std::string> texts;
    for (int i = 0; i < 64; ++i)
        texts.push_back(std::string(190, 'a' + static_cast<char>(i % 26)) + " \"q\" " + std::to_string(i));
    for (auto _ : state) {
        llmcache::detail::JsonWriter w;
        w.begin_object().key("model").value("text-embedding-3-small").key("input").begin_array();
        for (const auto& t : texts)
            w.value(t);
        w.end_array().key("encoding_format").value("base64").key("dimensions").value(512).end_object();
        std::string body = std::move(w).str();
        benchmark::DoNotOptimize(body.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * texts.size()));
}

} // namespace

BENCHMARK(Raw_CurlEasy)->Name("Raw/CurlEasy")->UseRealTime();
BENCHMARK(Http_Perform)->Name("Http/Perform")->UseRealTime();
BENCHMARK(Http_Streaming)->Name("Http/Streaming")->UseRealTime();
BENCHMARK(Json_Escape)->Name("Json/Escape");
BENCHMARK(Json_EmbeddingsBody)->Name("Json/EmbeddingsBody");

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    llmcache_test::HttpServer s([](const llmcache_test::RecordedRequest&) {
        llmcache_test::Reply r;
        r.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "req_0123456789"}};
        r.body = std::string(1024, 'r');
        return r;
    });
    server = &s;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    {
        std::lock_guard lock(p50_mu);
        const auto raw = p50_by_name.find("Raw/CurlEasy");
        const auto ours = p50_by_name.find("Http/Perform");
        if (raw != p50_by_name.end() && ours != p50_by_name.end())
            std::printf(
                "\np50: bare libcurl %.1f us, http::perform %.1f us (%.3fx; overhead %.1f us per call)\n",
                raw->second, ours->second, ours->second / raw->second, ours->second - raw->second);
    }
    server = nullptr;
    return 0;
}

#else

#include <cstdio>

int main() {
    std::puts("bench_http: built without LLMCACHE_WITH_CURL=1; nothing to measure");
    return 0;
}

#endif
