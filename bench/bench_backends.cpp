// The CPU cost of the HTTP model backends, next to physical references in the same run:
//
//   Parse/Anthropic/<bytes>   detail::anthropic::parse_message of a Messages API answer whose text
//                             is ~2 KB or ~50 KB (escapes, non-ASCII), usage with cache counts
//   Parse/OpenAI/<bytes>      detail::openai::parse_completion of the same text as a chat.completion
//   Ref/Memcpy/<bytes>        copying the same body: the floor for touching every byte once
//   Ref/DomParse/<bytes>      simdjson's DOM parser validating the whole body (full parse + tape)
//   Serialize/Anthropic, Serialize/OpenAI   building the request body of a typical chat request
//                             (system prompt, three turns, sampling params, stop sequences, a tool),
//                             and of one with a 50 KB user message
//   Ref/Escape/<bytes>        detail::append_json_string of the messages' text alone
//
// Bytes per second are the answer's (or request's) JSON size. Both parses run on the same thread's
// reused parser, as the backends do. The network and the model dominate a real call (hundreds of
// milliseconds); these numbers show that the client adds microseconds.
#include <llmcache/config.hpp>

#if LLMCACHE_WITH_CURL

#include <llmcache/llmcache.hpp>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace llmcache;

/// Answer text of about `bytes` bytes: prose with newlines, quotes, a code block and non-ASCII.
std::string answer_text(std::size_t bytes) {
    static const std::string paragraph =
        "BM25 ranks documents by term frequency, saturated by k1, and inverse document frequency; "
        "the length normalisation b \"penalises\" long documents.\nExample:\n```python\nscore = "
        "idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))\n```\nNaïve café — déjà vu. ";
    std::string s;
    while (s.size() < bytes)
        s += paragraph;
    s.resize(bytes);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xc0) == 0x80)
        s.pop_back(); // do not end inside a UTF-8 sequence
    if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xc0)
        s.pop_back();
    return s;
}

std::string json_quoted(std::string_view text) {
    std::string q;
    detail::append_json_string(q, text);
    return q;
}

std::string anthropic_answer(std::size_t bytes) {
    return R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
           R"("model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":)" +
           json_quoted(answer_text(bytes)) +
           R"(}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,)"
           R"("cache_creation_input_tokens":0,"cache_read_input_tokens":1800,"cache_creation":)"
           R"({"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":503,)"
           R"("service_tier":"standard"}})";
}

std::string openai_answer(std::size_t bytes) {
    return R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,)"
           R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":)" +
           json_quoted(answer_text(bytes)) +
           R"(,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":)"
           R"({"prompt_tokens":2095,"completion_tokens":503,"total_tokens":2598,"prompt_tokens_details":)"
           R"({"cached_tokens":1800,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,)"
           R"("audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
           R"("service_tier":"default","system_fingerprint":"fp_06737a9306"})";
}

Request chat_request(std::size_t user_bytes) {
    Request req;
    req.model = "claude-sonnet-4-5";
    req.system = answer_text(500);
    req.messages = {{Role::user, "What is BM25, in two sentences?"},
                    {Role::assistant, answer_text(300)},
                    {Role::user, answer_text(user_bytes)}};
    req.params.temperature = 0.2;
    req.params.max_tokens = 1024;
    req.params.top_p = 0.95;
    req.params.stop_sequences = {"\n\nHuman:", "END"};
    req.params.tools_json =
        R"([{"name":"search","description":"Search the docs","input_schema":{"type":"object",)"
        R"("properties":{"query":{"type":"string"}},"required":["query"]}}])";
    return req;
}

void BM_ParseAnthropic(benchmark::State& state) {
    std::string body = anthropic_answer(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto r = detail::anthropic::parse_message(body);
        if (!r)
            state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_ParseOpenAI(benchmark::State& state) {
    std::string body = openai_answer(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        auto r = detail::openai::parse_completion(body);
        if (!r)
            state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_RefMemcpy(benchmark::State& state) {
    const std::string body = anthropic_answer(static_cast<std::size_t>(state.range(0)));
    std::vector<char> dst(body.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), body.data(), body.size());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_RefDomParse(benchmark::State& state) {
    const simdjson::padded_string body(anthropic_answer(static_cast<std::size_t>(state.range(0))));
    simdjson::dom::parser parser;
    for (auto _ : state) {
        simdjson::dom::element e;
        if (parser.parse(body).get(e))
            state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(e);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}

void BM_SerializeAnthropic(benchmark::State& state) {
    const Request req = chat_request(static_cast<std::size_t>(state.range(0)));
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto body = detail::anthropic::request_body(req, 4096, false);
        bytes = body->size();
        benchmark::DoNotOptimize(body);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void BM_SerializeOpenAI(benchmark::State& state) {
    const Request req = chat_request(static_cast<std::size_t>(state.range(0)));
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto body = detail::openai::request_body(req, detail::openai::BodyOptions{}, false);
        bytes = body->size();
        benchmark::DoNotOptimize(body);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void BM_RefEscape(benchmark::State& state) {
    const Request req = chat_request(static_cast<std::size_t>(state.range(0)));
    std::size_t bytes = 0;
    for (auto _ : state) {
        std::string out;
        detail::append_json_string(out, req.system);
        for (const Message& m : req.messages)
            detail::append_json_string(out, m.content);
        bytes = out.size();
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

} // namespace

BENCHMARK(BM_ParseAnthropic)->Name("Parse/Anthropic")->Arg(2 << 10)->Arg(50 << 10);
BENCHMARK(BM_ParseOpenAI)->Name("Parse/OpenAI")->Arg(2 << 10)->Arg(50 << 10);
BENCHMARK(BM_RefMemcpy)->Name("Ref/Memcpy")->Arg(2 << 10)->Arg(50 << 10);
BENCHMARK(BM_RefDomParse)->Name("Ref/DomParse")->Arg(2 << 10)->Arg(50 << 10);
BENCHMARK(BM_SerializeAnthropic)->Name("Serialize/Anthropic")->Arg(100)->Arg(50 << 10);
BENCHMARK(BM_SerializeOpenAI)->Name("Serialize/OpenAI")->Arg(100)->Arg(50 << 10);
BENCHMARK(BM_RefEscape)->Name("Ref/Escape")->Arg(100)->Arg(50 << 10);

BENCHMARK_MAIN();

#else

#include <cstdio>

int main() {
    std::puts("bench_backends: built without LLMCACHE_WITH_CURL=1; nothing to measure");
    return 0;
}

#endif
