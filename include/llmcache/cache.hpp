// Cache: a model backend behind a key policy, a store, a similarity policy and a TTL policy,
// all chosen at compile time. No virtual dispatch: every policy call is a direct call.
//
//     llmcache::Cache cache{llmcache::Xxh3Key{}, llmcache::MemoryStore{}, llmcache::ExactOnly{},
//                           llmcache::ttl::Fixed{std::chrono::hours{1}},
//                           llmcache::CallableBackend{my_model}};
//     auto answer = cache.invoke(llmcache::Request::chat("claude-sonnet-4-5", "What is BM25?"));
//
// Guarantees:
// - Store trouble is never the caller's trouble: a failed or corrupt read is a miss, a failed
//   write is skipped; both are counted (stats()) and reported to the observer.
// - Only complete answers are stored (see CacheOptions for the opt-ins).
// - Thread-safe; concurrent identical misses make one backend call (single-flight).
#pragma once

#include "call_record.hpp"
#include "concepts.hpp"
#include "config.hpp"
#include "detail/single_flight.hpp"
#include "detail/store_budget.hpp"
#include "entry.hpp"
#include "error.hpp"
#include "observer.hpp"
#include "options.hpp"
#include "request.hpp"
#include "response.hpp"
#include "stats.hpp"
#include "ttl.hpp"

#include <chrono>
#include <cstdlib>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

namespace detail {
/// Satisfies touching_store; stands in for the store when the TTL policy does not slide, so that
/// when it does slide the compiler names touching_store<YourStore> as what is missing.
struct AnyTouchingStore {
    StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    StoreValue get_and_touch(std::string_view, std::optional<std::chrono::milliseconds>) noexcept {
        return std::optional<std::string>{};
    }
    Result<void> put(std::string_view, std::string_view, std::optional<std::chrono::milliseconds>) noexcept {
        return {};
    }
    Result<bool> erase(std::string_view) noexcept { return false; }
    Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
} // namespace detail

/// A sliding TTL needs a store that can restart a TTL on read (get_and_touch).
template <class Ttl, class Store>
concept sliding_ttl_supported =
    touching_store<std::conditional_t<Ttl::refresh_on_hit, Store, detail::AnyTouchingStore>>;

/// A semantic similarity policy needs keys that name a request's partition (partition_for).
template <class Similarity, class Key>
concept similarity_keys_supported = !Similarity::enabled || partitioning_key_policy<Key>;

/// What warm() did.
struct WarmReport {
    std::size_t already_cached = 0; ///< found in the store; no model call
    std::size_t fetched = 0;        ///< model called and the answer stored
    std::size_t not_stored = 0;     ///< model called, answer not cacheable or the write failed
    std::size_t failed = 0;         ///< model call failed
};

namespace detail {
template <class O>
constexpr bool observer_enabled() {
    if constexpr (requires { O::enabled; })
        return O::enabled;
    else
        return true;
}
} // namespace detail

template <key_policy Key, store_policy Store, class Similarity, ttl_policy Ttl, model_backend Backend,
          call_observer Observer = NullObserver>
requires similarity_policy<Similarity, Store> && sliding_ttl_supported<Ttl, Store> &&
    similarity_keys_supported<Similarity, Key>
class Cache {
public:
    Cache(Key key, Store store, Similarity similarity, Ttl ttl, Backend backend, Observer observer = {},
          CacheOptions options = {})
        : key_(std::move(key)), store_(std::move(store)), similarity_(std::move(similarity)),
          ttl_(std::move(ttl)), backend_(std::move(backend)), observer_(std::move(observer)),
          options_(options) {
        if (options_.distributed_single_flight && !leasing_store<Store>)
            detail::invalid_argument(
                "llmcache::Cache: distributed_single_flight needs a store with leases (leasing_store)");
        if constexpr (requires { Store::max_ttl; }) {
            const auto longest = ttl_.longest();
            if (longest && *longest > Store::max_ttl)
                detail::invalid_argument(
                    "llmcache::Cache: the TTL policy can write TTLs longer than the store's max_ttl");
        }
        // A semantic policy learns the key prefix (its records live under it) and the longest TTL.
        if constexpr (requires { similarity_.bind(key_, ttl_); })
            similarity_.bind(key_, ttl_);
    }

    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    /// Answers `req` from the cache, or calls the model and stores a cacheable answer.
    /// Errors come only from the model (or from an invalid request); never from the store.
    Result<Response> invoke(const Request& req, const CallOptions& opts = {}) {
        Record rec;
        return invoke_recorded(req, opts, rec);
    }

    /// The cached answer for `req`, if there is one (exact first, then similar). Store failures
    /// are misses. Does not call the model.
    std::optional<Response> lookup(const Request& req) {
        detail::store_budget::Scope budget(options_.store_budget);
        Record rec;
        if (!validate(req, {}).empty())
            return std::nullopt;
        return read_any(req, key_.key_for(req), rec);
    }

    /// Stores `resp` as the answer to `req` (e.g. answers reviewed by a person, or a hot set
    /// warmed from a file). Unlike invoke, store errors are returned, and an answer that is not
    /// cacheable under the CacheOptions is refused with invalid_argument.
    Result<void> store(const Request& req, const Response& resp, const CallOptions& opts = {}) {
        detail::store_budget::Scope budget(options_.store_budget);
        if (auto bad = validate(req, opts); !bad.empty())
            return fail(ErrorCode::invalid_argument, std::move(bad));
        if (!cacheable(resp))
            return fail(
                ErrorCode::invalid_argument,
                "llmcache: the response is not cacheable (incomplete, refused or empty); see CacheOptions");
        Record rec;
        return write(req, key_.key_for(req), resp, opts, rec);
    }

    /// Flags a bad cached answer and evicts it: the next call asks the model again. `reason` is
    /// passed to the observer's optional `on_invalidate(key, reason)`. True when an entry existed.
    Result<bool> invalidate(const Request& req, std::string_view reason = {}) {
        const std::string key = key_.key_for(req);
        if constexpr (Similarity::enabled) {
            auto forgotten = similarity_.forget(req, key_.partition_for(req), key, store_);
            if (!forgotten)
                return unexpected<Error>(forgotten.error());
        }
        return invalidate_key(key, reason);
    }

    /// invalidate() by key, for when you have the key from a log line but not the request.
    Result<bool> invalidate_key(std::string_view key, std::string_view reason = {}) {
        auto erased = store_.erase(key);
        if (!erased)
            return erased;
        if (*erased)
            counters_.add(detail::Counter::invalidations);
        if constexpr (requires(Observer & o) { o.on_invalidate(key, reason); })
            observer_.on_invalidate(key, reason);
        return erased;
    }

    /// Removes every entry of one scope (tenant), and its semantic index; other scopes are untouched.
    Result<std::size_t> clear(std::string_view scope) {
        if constexpr (requires { similarity_.clear_scope(scope, store_); }) {
            if (auto semantic = similarity_.clear_scope(scope, store_); !semantic)
                return semantic;
        }
        return store_.clear_prefix(key_.scope_prefix(scope));
    }

    /// Removes every entry this cache's key policy can have written (all scopes), semantic
    /// records and indexes included (they share the key prefix).
    Result<std::size_t> clear_all() {
        if constexpr (requires { similarity_.clear_local(); })
            similarity_.clear_local();
        return store_.clear_prefix(key_.prefix());
    }

    /// Makes sure each request has a cached answer: calls the model for those that have none.
    /// Run it on deploy with your hot set (a chatbot's top FAQ prompts).
    WarmReport warm(std::span<const Request> requests) {
        WarmReport report;
        for (const Request& req : requests) {
            Record rec;
            auto r = invoke_recorded(req, {}, rec);
            if (!r)
                ++report.failed;
            else if (r->cache_hit)
                ++report.already_cached;
            else if (rec.stored)
                ++report.fetched;
            else
                ++report.not_stored;
        }
        return report;
    }

    /// The key `req` is stored under (digest; never prompt text).
    std::string key_for(const Request& req) const { return key_.key_for(req); }

    CacheStats stats() const noexcept {
        using C = detail::Counter;
        CacheStats s;
        s.hits = counters_.sum(C::hits);
        s.semantic_hits = counters_.sum(C::semantic_hits);
        s.misses = counters_.sum(C::misses);
        s.coalesced = counters_.sum(C::coalesced);
        s.bypasses = counters_.sum(C::bypasses);
        s.backend_calls = counters_.sum(C::backend_calls);
        s.backend_errors = counters_.sum(C::backend_errors);
        s.writes = counters_.sum(C::writes);
        s.not_cacheable = counters_.sum(C::not_cacheable);
        s.write_failures = counters_.sum(C::write_failures);
        s.too_large = counters_.sum(C::too_large);
        s.store_errors = counters_.sum(C::store_errors);
        s.corrupt_entries = counters_.sum(C::corrupt_entries);
        s.budget_exhausted = counters_.sum(C::budget_exhausted);
        s.invalidations = counters_.sum(C::invalidations);
        s.input_tokens_saved = counters_.sum(C::input_tokens_saved);
        s.output_tokens_saved = counters_.sum(C::output_tokens_saved);
        s.input_tokens_billed = counters_.sum(C::input_tokens_billed);
        s.output_tokens_billed = counters_.sum(C::output_tokens_billed);
        s.dollars_saved = static_cast<double>(counters_.sum(C::nanodollars_saved)) * 1e-9;
        s.dollars_billed = static_cast<double>(counters_.sum(C::nanodollars_billed)) * 1e-9;
        s.hit_latency_total = std::chrono::nanoseconds(counters_.sum(C::hit_ns));
        s.miss_latency_total = std::chrono::nanoseconds(counters_.sum(C::miss_ns));
        return s;
    }
    void reset_stats() noexcept { counters_.reset(); }

    const CacheOptions& options() const noexcept { return options_; }
    Key& key_policy() noexcept { return key_; }
    Store& store() noexcept { return store_; }
    Similarity& similarity() noexcept { return similarity_; }
    Ttl& ttl_policy() noexcept { return ttl_; }
    Backend& backend() noexcept { return backend_; }
    Observer& observer() noexcept { return observer_; }

    /// Whether an answer may be stored under the CacheOptions.
    bool cacheable(const Response& r) const noexcept {
        switch (r.stop_reason) {
        case StopReason::end_turn:
        case StopReason::stop_sequence:
        case StopReason::tool_use:
            break;
        case StopReason::refusal:
            if (!options_.cache_refusals)
                return false;
            break;
        default:
            if (!options_.cache_incomplete)
                return false;
        }
        return options_.cache_empty || !r.text.empty() || !r.tool_calls_json.empty();
    }

    // ---- Streaming -----------------------------------------------------------------------------
    /// invoke() for callers that show text as it arrives, with one code path for hits and misses:
    /// `on_delta(std::string_view)` receives the answer's text either way.
    /// - Hit: the cached text is replayed through on_delta in one piece (after the hit's latency
    ///   was measured, so stats show the cache's time, not the callback's); cache_hit is true.
    /// - Miss: backend.stream() hands each delta on as it arrives. The answer is stored only when
    ///   the stream ended normally (the backend returned a Response) and it is cacheable; an error
    ///   event, a cut connection or a stream that ended early is an error, and nothing is stored,
    ///   even though the caller may have seen part of the text.
    /// - Single-flight as invoke(): a concurrent identical call waits for the leader's stream and
    ///   then gets the whole text in one piece (it sees no partial text of another call).
    ///   Cross-process leases (distributed_single_flight) apply as in invoke().
    /// Statistics, observer records, CallOptions and store-budget rules are invoke()'s. Tool-call-only
    /// answers have no text, so on_delta is not called for them. on_delta should not throw: the
    /// HTTP backends turn an exception from it into backend_failed (it cannot cross libcurl).
    template <class OnDelta>
    requires streaming_backend<Backend> && std::invocable<OnDelta&, std::string_view> Result<Response>
    invoke_stream(const Request& req, OnDelta&& on_delta, const CallOptions& opts = {}) {
        Record rec;
        const auto start = Clock::now();
        detail::store_budget::Scope budget(options_.store_budget, start);
        if (auto bad = validate(req, opts); !bad.empty()) {
            Result<Response> error = fail(ErrorCode::invalid_argument, std::move(bad));
            rec.outcome = Outcome::error;
            notify(req, {}, nullptr, &error.error(), std::nullopt, Clock::now() - start, rec);
            return error;
        }
        const std::string key = key_.key_for(req);
        auto replayed = [&](Result<Response> r) {
            if (r && !r->text.empty())
                on_delta(std::string_view(r->text));
            return r;
        };
        // call_and_store(), with the backend's stream instead of complete().
        auto stream_and_store = [&]() -> Result<Response> {
            return call_and_store(req, key, opts, rec, [&] { return backend_.stream(req, on_delta); });
        };

        const bool read = !(opts.skip_read || opts.force_refresh);
        if (read) {
            if (auto hit = read_any(req, key, rec))
                return replayed(finish_hit(req, key, std::move(*hit), start, rec));
        } else {
            if (opts.force_refresh)
                evict(req, key, rec);
            counters_.add(detail::Counter::bypasses);
            rec.outcome = Outcome::bypass;
        }
        if (!read || !options_.single_flight)
            return finish_call(req, key, stream_and_store(), start, rec);

        // single_flight_miss(), streaming.
        const auto deadline = start + options_.single_flight_wait;
        for (int round = 0; round < 3; ++round) {
            auto ticket = flights_.join(key);
            if (ticket.leader) {
                LeaderGuard guard{flights_, key, ticket};
                if (auto hit = read_exact(key, rec)) {
                    guard.finish(*hit);
                    return replayed(finish_hit(req, key, std::move(*hit), start, rec));
                }
                std::optional<std::string> lease;
                if constexpr (leasing_store<Store>) {
                    if (options_.distributed_single_flight) {
                        if (auto hit = await_lease(key, rec, lease)) {
                            guard.finish(*hit);
                            return replayed(finish_hit(req, key, std::move(*hit), start, rec));
                        }
                    }
                }
                Result<Response> result = stream_and_store();
                if constexpr (leasing_store<Store>) {
                    if (lease && !budget_gone(rec))
                        (void)store_.release_lease(lease_key(key), *lease);
                }
                guard.finish(result);
                return finish_call(req, key, std::move(result), start, rec);
            }
            auto shared = [&] {
                detail::store_budget::Pause leader_time;
                return detail::SingleFlight::wait(ticket, deadline);
            }();
            if (!shared)
                break;
            if (shared->has_value()) {
                Response resp = **shared;
                resp.cache_hit = false;
                return replayed(finish_coalesced(req, key, std::move(resp), start, rec));
            }
            if (!shared->error().transient())
                return finish_call(req, key, std::move(*shared), start, rec);
        }
        return finish_call(req, key, stream_and_store(), start, rec);
    }

private:
    using Clock = std::chrono::steady_clock;
    static constexpr bool observed = detail::observer_enabled<Observer>();

    /// What a call learns on its way, for the CallRecord and the counters (a few scalars).
    struct Record {
        Outcome outcome = Outcome::miss;
        bool stored = false;
        bool semantic = false;
        float distance = 0;
        std::optional<ErrorCode> store_error{};
        std::chrono::nanoseconds backend_latency{};
    };

    Result<Response> invoke_recorded(const Request& req, const CallOptions& opts, Record& rec) {
        const auto start = Clock::now();
        detail::store_budget::Scope budget(options_.store_budget, start);
        if (auto bad = validate(req, opts); !bad.empty()) {
            // Reported like a failed call, so invalid requests show up in logs and metrics too.
            Result<Response> error = fail(ErrorCode::invalid_argument, std::move(bad));
            rec.outcome = Outcome::error;
            notify(req, {}, nullptr, &error.error(), std::nullopt, Clock::now() - start, rec);
            return error;
        }

        const std::string key = key_.key_for(req);
        const bool read = !(opts.skip_read || opts.force_refresh);
        if (read) {
            if (auto hit = read_any(req, key, rec))
                return finish_hit(req, key, std::move(*hit), start, rec);
        } else {
            if (opts.force_refresh)
                evict(req, key, rec);
            counters_.add(detail::Counter::bypasses);
            rec.outcome = Outcome::bypass;
        }

        if (!read || !options_.single_flight)
            return finish_call(req, key, call_and_store(req, key, opts, rec), start, rec);
        return single_flight_miss(req, key, opts, start, rec);
    }

    std::string validate(const Request& req, const CallOptions& opts) const {
        if (req.model.empty())
            return "llmcache: the request has no model id";
        if (req.messages.empty())
            return "llmcache: the request has no messages";
        for (std::size_t i = 0; i < req.messages.size(); ++i)
            if (req.messages[i].content.empty())
                return "llmcache: message " + std::to_string(i) + " is empty";
        if (opts.ttl) {
            if (auto checked = ttl::detail::try_check(*opts.ttl); !checked)
                return checked.error().message;
            if constexpr (requires { Store::max_ttl; })
                if (*opts.ttl > Store::max_ttl)
                    return "llmcache: the TTL override exceeds the store's max_ttl";
        }
        return {};
    }

    /// True (and counted) when the call's store budget is used up: the store operation the
    /// caller was about to make is skipped.
    bool budget_gone(Record& rec) noexcept {
        if constexpr (in_process_store<Store>)
            return false; // never blocks on I/O: spare the hit path the clock read
        if (!detail::store_budget::exhausted())
            return false;
        counters_.add(detail::Counter::budget_exhausted);
        rec.store_error = ErrorCode::store_timeout;
        return true;
    }

    /// Reads and decodes the entry under `key`; store errors and corrupt entries are misses.
    std::optional<Response> read_exact(std::string_view key, Record& rec) {
        if (budget_gone(rec))
            return std::nullopt;
        StoreValue v = [&] {
            if constexpr (Ttl::refresh_on_hit)
                return store_.get_and_touch(key, ttl_.ttl_for(key));
            else
                return store_.get(key);
        }();
        if (!v) {
            counters_.add(detail::Counter::store_errors);
            rec.store_error = v.error().code;
            return std::nullopt;
        }
        if (!*v)
            return std::nullopt;
        auto decoded = entry::detail::decode_owned(std::move(**v), key); // no second copy of the text
        if (!decoded) {
            counters_.add(detail::Counter::corrupt_entries);
            if (!budget_gone(rec))
                (void)store_.erase(key); // the next answer replaces it; a failed erase changes nothing
            return std::nullopt;
        }
        decoded->cache_hit = true;
        return std::move(*decoded);
    }

    /// Exact first; then, for semantic policies, the nearest similar entry within threshold.
    std::optional<Response> read_any(const Request& req, std::string_view key, Record& rec) {
        if (auto hit = read_exact(key, rec))
            return hit;
        if constexpr (Similarity::enabled) {
            if (budget_gone(rec))
                return std::nullopt;
            auto found = similarity_.find(req, key_.partition_for(req), store_);
            if (!found) {
                counters_.add(detail::Counter::store_errors);
                rec.store_error = found.error().code;
                return std::nullopt;
            }
            if (*found) {
                auto decoded = entry::decode((*found)->value, (*found)->key);
                if (!decoded) {
                    counters_.add(detail::Counter::corrupt_entries);
                    (void)similarity_.forget(req, key_.partition_for(req), (*found)->key, store_);
                    (void)store_.erase((*found)->key);
                    return std::nullopt;
                }
                decoded->cache_hit = true;
                rec.semantic = true;
                rec.distance = (*found)->distance;
                return std::move(*decoded);
            }
        }
        return std::nullopt;
    }

    void evict(const Request& req, std::string_view key, Record& rec) {
        if (budget_gone(rec))
            return;
        if constexpr (Similarity::enabled)
            (void)similarity_.forget(req, key_.partition_for(req), key, store_);
        if (auto erased = store_.erase(key); !erased) {
            counters_.add(detail::Counter::store_errors);
            rec.store_error = erased.error().code;
        }
    }

    Result<void> write(const Request& req, std::string_view key, const Response& resp,
                       const CallOptions& opts, Record& rec) {
        std::string encoded = entry::encode(key, resp);
        if (encoded.size() > options_.max_entry_bytes) {
            counters_.add(detail::Counter::too_large);
            return fail(ErrorCode::too_large, "llmcache: the entry exceeds CacheOptions::max_entry_bytes");
        }
        const auto ttl = opts.ttl ? opts.ttl : ttl_.ttl_for(key);
        if (budget_gone(rec))
            return fail(ErrorCode::store_timeout,
                        "llmcache: the call's store_budget was used up; not stored");
        auto put = store_.put(key, encoded, ttl);
        if (!put) {
            counters_.add(detail::Counter::write_failures);
            counters_.add(detail::Counter::store_errors);
            rec.store_error = put.error().code;
            return put;
        }
        counters_.add(detail::Counter::writes);
        rec.stored = true;
        if constexpr (Similarity::enabled) {
            if (budget_gone(rec))
                return {};
            auto indexed = similarity_.remember(req, key_.partition_for(req), key, store_, ttl);
            if (!indexed) {
                counters_.add(detail::Counter::store_errors);
                rec.store_error = indexed.error().code;
            }
        }
        return {};
    }

    Result<Response> call_and_store(const Request& req, std::string_view key, const CallOptions& opts,
                                    Record& rec) {
        return call_and_store(req, key, opts, rec, [&] { return backend_.complete(req); });
    }

    /// Calls the model through `produce` (complete() or stream()), counts the call, and stores a
    /// cacheable answer unless the call skips writes.
    template <class Produce>
    Result<Response> call_and_store(const Request& req, std::string_view key, const CallOptions& opts,
                                    Record& rec, Produce&& produce) {
        counters_.add(detail::Counter::backend_calls);
        const auto started = Clock::now();
        Result<Response> result = [&] {
            detail::store_budget::Pause model_time; // the model's time is not store time
            return produce();
        }();
        rec.backend_latency = Clock::now() - started;
        if (!result) {
            counters_.add(detail::Counter::backend_errors);
            return result;
        }
        result->cache_hit = false;
        if (opts.skip_write)
            return result;
        if (!cacheable(*result)) {
            counters_.add(detail::Counter::not_cacheable);
            return result;
        }
        (void)write(req, key, *result, opts, rec); // failures are counted; the answer still goes out
        return result;
    }

    Result<Response> single_flight_miss(const Request& req, const std::string& key, const CallOptions& opts,
                                        Clock::time_point start, Record& rec) {
        const auto deadline = start + options_.single_flight_wait;
        for (int round = 0; round < 3; ++round) {
            auto ticket = flights_.join(key);
            if (ticket.leader) {
                LeaderGuard guard{flights_, key, ticket};
                // Another leader may have stored the answer between our lookup and our join.
                if (auto hit = read_exact(key, rec)) {
                    guard.finish(*hit);
                    return finish_hit(req, key, std::move(*hit), start, rec);
                }
                std::optional<std::string> lease;
                if constexpr (leasing_store<Store>) {
                    if (options_.distributed_single_flight) {
                        if (auto hit = await_lease(key, rec, lease)) {
                            guard.finish(*hit);
                            return finish_hit(req, key, std::move(*hit), start, rec);
                        }
                    }
                }
                Result<Response> result = call_and_store(req, key, opts, rec);
                if constexpr (leasing_store<Store>) {
                    if (lease && !budget_gone(rec))
                        (void)store_.release_lease(lease_key(key), *lease); // it expires anyway
                }
                guard.finish(result);
                return finish_call(req, key, std::move(result), start, rec);
            }
            auto shared = [&] {
                detail::store_budget::Pause leader_time; // waiting for the leader's model call
                return detail::SingleFlight::wait(ticket, deadline);
            }();
            if (!shared)
                break; // the leader is too slow: call the model ourselves
            if (shared->has_value()) {
                Response resp = **shared;
                resp.cache_hit = false;
                return finish_coalesced(req, key, std::move(resp), start, rec);
            }
            if (!shared->error().transient())
                return finish_call(req, key, std::move(*shared), start,
                                   rec); // the same call would fail the same way
            // A transient failure is not shared: try to lead the next round.
        }
        return finish_call(req, key, call_and_store(req, key, opts, rec), start, rec);
    }

    static std::string lease_key(std::string_view key) {
        std::string k(key);
        k.append(":lease");
        return k;
    }

    /// Cross-process single-flight: takes the lease for `key`, or waits for the process holding
    /// it to store its answer. Returns that answer when it appears; returns nothing when this
    /// process should call the model: it got the lease (`lease` holds the token), the lease ended
    /// without an answer, the wait ran out, or the store failed (fail open).
    std::optional<Response> await_lease(std::string_view key, Record& rec,
                                        std::optional<std::string>& lease) {
        const std::string lk = lease_key(key);
        const auto deadline = Clock::now() + options_.lease_wait;
        auto pause = std::chrono::milliseconds{5};
        // Waiting for another process's model call is not store time (as the model call is not):
        // the wait is paused, and each of its store round trips gets what was left of the budget
        // when the wait began, so a slow store still cannot hold the call up.
        std::optional<detail::store_budget::Pause> waiting;
        std::optional<std::chrono::milliseconds> left;
        for (;;) {
            if (budget_gone(rec))
                return std::nullopt; // no time for the store: call the model
            auto acquired = [&] {
                std::optional<detail::store_budget::Scope> round;
                if (left)
                    round.emplace(*left);
                return store_.acquire_lease(lk, options_.lease_ttl);
            }();
            if (!acquired) {
                counters_.add(detail::Counter::store_errors);
                rec.store_error = acquired.error().code;
                return std::nullopt;
            }
            if (*acquired) {
                lease = std::move(*acquired);
                return std::nullopt;
            }
            const auto now = Clock::now();
            if (now >= deadline)
                return std::nullopt;
            if (!waiting) {
                if (auto r = detail::store_budget::remaining())
                    left = std::max(std::chrono::milliseconds{1},
                                    std::chrono::ceil<std::chrono::milliseconds>(*r));
                waiting.emplace();
            }
            std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
            pause = std::min(pause * 2, std::chrono::milliseconds{100});
            std::optional<detail::store_budget::Scope> round;
            if (left)
                round.emplace(*left);
            if (auto hit = read_exact(key, rec))
                return hit;
        }
    }

    /// Ends a flight even when the leader leaves by an exception, so followers never wait on a
    /// flight nobody will finish.
    struct LeaderGuard {
        detail::SingleFlight& flights;
        const std::string& key;
        const detail::SingleFlight::Ticket& ticket;
        bool done = false;
        void finish(const Result<Response>& r) {
            flights.finish(key, ticket, r);
            done = true;
        }
        ~LeaderGuard() {
            if (!done)
                flights.finish(key, ticket,
                               fail(ErrorCode::backend_failed, "llmcache: the leading call was abandoned"));
        }
    };

    std::optional<double> price(const Request& req, const Usage& usage) const noexcept {
        if (options_.price_of == nullptr)
            return std::nullopt;
        auto p = options_.price_of(req.model);
        if (!p)
            return std::nullopt;
        return cost_of(usage, *p);
    }

    static std::uint64_t nanodollars(std::optional<double> usd) noexcept {
        return usd && *usd > 0 ? static_cast<std::uint64_t>(*usd * 1e9 + 0.5) : 0;
    }

    void count_saved(const Request& req, const Response& resp, std::optional<double>& cost) {
        using C = detail::Counter;
        counters_.add(C::input_tokens_saved, resp.usage.input_tokens.value_or(0));
        counters_.add(C::output_tokens_saved, resp.usage.output_tokens.value_or(0));
        cost = price(req, resp.usage);
        counters_.add(C::nanodollars_saved, nanodollars(cost));
    }

    Result<Response> finish_hit(const Request& req, std::string_view key, Response resp,
                                Clock::time_point start, Record& rec) {
        using C = detail::Counter;
        counters_.add(C::hits);
        if (rec.semantic)
            counters_.add(C::semantic_hits);
        std::optional<double> cost;
        count_saved(req, resp, cost);
        const auto elapsed = Clock::now() - start;
        counters_.add(C::hit_ns, static_cast<std::uint64_t>(elapsed.count()));
        rec.outcome = Outcome::hit;
        notify(req, key, &resp, nullptr, cost, elapsed, rec);
        return resp;
    }

    Result<Response> finish_coalesced(const Request& req, std::string_view key, Response resp,
                                      Clock::time_point start, Record& rec) {
        counters_.add(detail::Counter::coalesced);
        std::optional<double> cost;
        count_saved(req, resp, cost);
        rec.outcome = Outcome::coalesced;
        notify(req, key, &resp, nullptr, cost, Clock::now() - start, rec);
        return resp;
    }

    Result<Response> finish_call(const Request& req, std::string_view key, Result<Response> result,
                                 Clock::time_point start, Record& rec) {
        using C = detail::Counter;
        const auto elapsed = Clock::now() - start;
        std::optional<double> cost;
        if (rec.outcome != Outcome::bypass)
            counters_.add(C::misses);
        counters_.add(C::miss_ns, static_cast<std::uint64_t>(elapsed.count()));
        if (result) {
            counters_.add(C::input_tokens_billed, result->usage.input_tokens.value_or(0));
            counters_.add(C::output_tokens_billed, result->usage.output_tokens.value_or(0));
            cost = price(req, result->usage);
            counters_.add(C::nanodollars_billed, nanodollars(cost));
            notify(req, key, &*result, nullptr, cost, elapsed, rec);
        } else {
            rec.outcome = Outcome::error;
            notify(req, key, nullptr, &result.error(), cost, elapsed, rec);
        }
        return result;
    }

    void notify(const Request& req, std::string_view key, const Response* resp, const Error* err,
                std::optional<double> cost, std::chrono::nanoseconds elapsed, const Record& rec) noexcept {
        if constexpr (observed) {
            CallRecord r;
            r.key = key;
            r.scope = req.scope;
            r.model = req.model;
            r.outcome = rec.outcome;
            r.cache_hit = rec.outcome == Outcome::hit;
            r.semantic = rec.semantic;
            r.distance = rec.distance;
            r.stored = rec.stored;
            r.store_error = rec.store_error;
            if (err)
                r.error = err->code;
            if (resp) {
                r.stop_reason = resp->stop_reason;
                r.usage = resp->usage;
                r.answered_at = resp->created;
            }
            r.cost_usd = cost;
            r.latency = elapsed;
            r.backend_latency = rec.backend_latency;
            observer_.on_call(r);
        } else {
            (void)req, (void)key, (void)resp, (void)err, (void)cost, (void)elapsed, (void)rec;
        }
    }

    [[no_unique_address]] Key key_;
    Store store_;
    [[no_unique_address]] Similarity similarity_;
    [[no_unique_address]] Ttl ttl_;
    Backend backend_;
    [[no_unique_address]] Observer observer_;
    CacheOptions options_;
    detail::StripedCounters counters_;
    detail::SingleFlight flights_;
};

// Deduction guides without constraints: a policy that does not fit then fails in Cache's own
// requires-clause, where compilers name the concept that is not satisfied (clang otherwise only
// says that deduction failed).
template <class Key, class Store, class Similarity, class Ttl, class Backend>
Cache(Key, Store, Similarity, Ttl, Backend) -> Cache<Key, Store, Similarity, Ttl, Backend>;
template <class Key, class Store, class Similarity, class Ttl, class Backend, class Observer>
Cache(Key, Store, Similarity, Ttl, Backend, Observer)
    -> Cache<Key, Store, Similarity, Ttl, Backend, Observer>;
template <class Key, class Store, class Similarity, class Ttl, class Backend, class Observer>
Cache(Key, Store, Similarity, Ttl, Backend, Observer, CacheOptions)
    -> Cache<Key, Store, Similarity, Ttl, Backend, Observer>;

LLMCACHE_END_NAMESPACE
