// Semantic: a similarity policy that answers an exact miss with the entry of a similar question.
//
//     llmcache::Cache cache{llmcache::Xxh3Key{}, llmcache::MemoryStore{},
//                           llmcache::Semantic{llmcache::HashingEmbedder{}, {.max_distance = 0.15f}},
//                           llmcache::ttl::Fixed{std::chrono::hours{1}}, backend};
//
// What it compares. Only the text of the request's last user message is embedded (never the system
// prompt, earlier turns or any JSON around it); everything else must match exactly. That is the
// partition (KeyPolicy::partition_for: model, parameters, tools, system prompt, scope and the
// conversation before the last user message). Candidates come only from the request's own
// partition, one matcher per partition, so a nearer vector of another model, tenant or
// conversation can never hide, or replace, a valid one. Within the partition the `top_k` nearest
// vectors with cosine distance <= max_distance are tried nearest first; the hit verifier (V) may
// reject each; the first accepted candidate whose entry still exists is the answer.
//
// An exact hit costs no embedding: the Cache reads the exact key first and calls find() only on a
// miss.
//
// Persistence (every store). Each remembered entry also writes a record (similarity/record.hpp:
// embedder id, dimensions, the entry key it answers with, prompt text, times, float32 vector) with
// the entry's TTL, under
//
//     <key prefix>s1:<embedder id>:<scope>:<partition digest>:r:<record id>     the record
//     <key prefix>s1:<embedder id>:<scope>:<partition digest>:i                 the partition index
//
// (<key prefix> is the key policy's prefix(), "llmcache:" by default, so Cache::clear_all removes
// them; embedder id and scope are escaped like scopes in keys; the partition digest is XXH3-128 of
// the partition key; the record id is XXH3-64 of the entry key, in hex). The answer itself is only
// the exact entry: a record references it and is useless without it.
// With an indexing_store (MemoryStore; Redis on the stores branch) the partition index is an
// ordered index (member = record id, score = time added in ms): the first time a process sees a
// partition it loads it in pages, and afterwards, at most every sync_interval, it reads the members
// added since the newest one it saw (minus clock_skew, for writers whose clocks lag or whose write
// was in flight). Consistency: another process's write becomes visible here within sync_interval
// (bounded staleness); a removal (invalidate, eviction, expiry) is noticed on the next hit, whose
// entry read fails, and the stale vector is dropped then. With a store without ordered indexes,
// records are still written but the index is process-local: each process only matches what it
// remembered itself.
//
// Namespaces. The embedder id is part of every persisted key: vectors of another model, version or
// dimension are never read, let alone compared. After changing embedder, drop_namespace(store,
// old_id) removes the old vectors in one call.
//
// Expiry. A local vector past its expiry, or whose entry is gone, is dropped when a lookup meets
// it (and the next candidate is tried). Every sweep_interval a lookup or write also sweeps: it
// drops expired local vectors and partitions left empty, and trims index members older than the
// longest TTL this policy has seen (the TTL policy's longest(), or any longer per-call TTL;
// never when some entry may live forever). A sweep costs one index_trim per partition held
// locally, paid by the lookup or write that runs it.
//
// Bad input. An embedder failure (embed_into false, or an exception) fails open: no match, nothing
// indexed, the model is still called. A vector that is not finite, all zeros, not unit length, or
// dimensions() changing after construction is an invalid_argument error and nothing is stored.
// A record that fails to decode is ignored and erased.
//
// Thread-safe: lookups run concurrently (a shared lock per partition); writes to one partition are
// exclusive. Move-only: each instance has its own local index, as a process would.
#pragma once

#include "../concepts.hpp"
#include "../config.hpp"
#include "../detail/canonical.hpp"
#include "../detail/transparent_hash.hpp"
#include "../detail/xxhash.hpp"
#include "../embed/embedder.hpp"
#include "../error.hpp"
#include "../matcher/flat.hpp"
#include "../matcher/matcher.hpp"
#include "../request.hpp"
#include "../store/types.hpp"
#include "record.hpp"
#include "verifier.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

LLMCACHE_BEGIN_NAMESPACE

struct SemanticOptions {
    /// Cosine distance (1 - cos) at most which a candidate may answer. 0.2 is RedisSemanticCache's
    /// default; 0.15 is a better start for production prose. Calibrate on your own traffic.
    float max_distance = 0.2f;
    /// How many nearest candidates within max_distance are tried (verifier, entry still there).
    std::size_t top_k = 4;
    /// At most this often, a lookup reads the index entries other processes added (0: on every
    /// lookup). The bound on how stale this process's view of a shared store is.
    std::chrono::milliseconds sync_interval{1'000};
    /// At most this often, a lookup or write sweeps expired vectors and trims indexes (0: never
    /// automatically; call sweep()).
    std::chrono::milliseconds sweep_interval{60'000};
    /// Incremental syncs re-read this much before the newest member seen, so writes from processes
    /// whose clock lags (or whose write was in flight) are not missed.
    std::chrono::milliseconds clock_skew{5'000};
    /// Index members read per store round trip when loading a partition.
    std::size_t load_batch = 256;
};

/// Counters of one Semantic policy (relaxed atomics; partitions and vectors are counted on demand).
struct SemanticStats {
    std::uint64_t lookups = 0;             ///< find() calls that embedded the query
    std::uint64_t embeddings = 0;          ///< embed_into calls
    std::uint64_t embed_failures = 0;      ///< embed_into returned false or threw: failed open
    std::uint64_t invalid_vectors = 0;     ///< refused: not finite, zero, not unit length, dimensions changed
    std::uint64_t candidates = 0;          ///< candidates within max_distance examined
    std::uint64_t verifier_rejections = 0; ///< candidates the hit verifier refused
    std::uint64_t matches = 0;             ///< similar entries returned
    std::uint64_t stale_dropped = 0;       ///< candidates whose entry was gone or expired: dropped
    std::uint64_t records_written = 0;
    std::uint64_t records_loaded = 0;  ///< read when a partition was first loaded
    std::uint64_t records_synced = 0;  ///< picked up by incremental syncs (other processes' writes)
    std::uint64_t corrupt_records = 0; ///< failed to decode: ignored and erased
    std::uint64_t syncs = 0;           ///< incremental sync rounds
    std::uint64_t swept = 0;           ///< expired local vectors dropped by sweeps
    std::uint64_t index_trimmed = 0;   ///< index members trimmed by sweeps
    std::uint64_t store_errors = 0;    ///< store operations of this policy that failed
    std::size_t partitions = 0;        ///< partitions held locally
    std::size_t vectors = 0;           ///< vectors held locally
};

template <embedder E, matcher M = FlatMatcher, hit_verifier V = AcceptAll>
class Semantic {
public:
    static constexpr bool enabled = true;
    using embedder_type = E;
    using matcher_type = M;
    using verifier_type = V;

    /// Throws std::invalid_argument (aborts without exceptions) on an embedder with zero
    /// dimensions or an empty id, a max_distance outside [0, 2], top_k or load_batch of 0, or a
    /// negative interval.
    explicit Semantic(E embedder, SemanticOptions options = {}, V verifier = {})
        : state_(std::make_unique<State>(std::move(embedder), std::move(verifier), options)) {
        State& st = *state_;
        if (st.dims == 0)
            detail::invalid_argument("llmcache::Semantic: the embedder has zero dimensions");
        if (st.id.empty())
            detail::invalid_argument("llmcache::Semantic: the embedder has an empty id");
        if (!(options.max_distance >= 0.0f && options.max_distance <= 2.0f))
            detail::invalid_argument("llmcache::Semantic: max_distance must be in [0, 2]");
        if (options.top_k == 0 || options.load_batch == 0)
            detail::invalid_argument("llmcache::Semantic: top_k and load_batch must be at least 1");
        using std::chrono::milliseconds;
        if (options.sync_interval < milliseconds::zero() || options.sweep_interval < milliseconds::zero() ||
            options.clock_skew < milliseconds::zero())
            detail::invalid_argument("llmcache::Semantic: intervals must not be negative");
    }

    Semantic(Semantic&&) noexcept = default;
    Semantic& operator=(Semantic&&) noexcept = default;

    // ---- similarity_policy ----------------------------------------------------------------------

    /// The nearest accepted entry of `req`'s partition within max_distance, if any. Store errors
    /// and invalid vectors are errors (the Cache counts them and misses); an embedder failure is
    /// no match.
    template <store_policy S>
    Result<std::optional<SimilarMatch>> find(const Request& req, std::string_view partition, S& store) {
        using Found = std::optional<SimilarMatch>;
        State& st = *state_;
        const std::string_view text = req.last_user_text();
        if (text.empty())
            return Found{};
        std::vector<float>& query = scratch();
        auto embedded = embed(text, query);
        if (!embedded)
            return unexpected<Error>(embedded.error());
        if (!*embedded)
            return Found{};
        st.add(Stat::lookups);
        maybe_sweep(store);

        const std::string base = partition_base(req.scope, partition);
        std::shared_ptr<Partition> part = partition_of(base, true);
        sync(*part, store);

        struct Candidate {
            std::uint64_t id;
            float distance;
            Local local;
        };
        std::vector<Candidate> candidates;
        {
            std::shared_lock lock(part->mutex);
            for (const MatchResult& m : part->matcher.top_k(std::span<const float>(query), st.options.top_k,
                                                            st.options.max_distance)) {
                if (auto it = part->entries.find(m.id); it != part->entries.end())
                    candidates.push_back(Candidate{m.id, m.distance, it->second});
            }
        }
        const std::int64_t now = wall_ms();
        for (Candidate& c : candidates) {
            st.add(Stat::candidates);
            if (c.local.expires_ms != 0 && c.local.expires_ms <= now) {
                st.add(Stat::stale_dropped);
                drop(*part, c.id, store);
                continue;
            }
            if (!st.verifier.accepts(text, std::string_view(c.local.prompt))) {
                st.add(Stat::verifier_rejections);
                continue;
            }
            StoreValue value = store.get(c.local.entry_key);
            if (!value) {
                st.add(Stat::store_errors);
                return unexpected<Error>(value.error());
            }
            if (!*value) { // evicted, expired or invalidated elsewhere
                st.add(Stat::stale_dropped);
                drop(*part, c.id, store);
                continue;
            }
            st.add(Stat::matches);
            return Found{SimilarMatch{std::move(c.local.entry_key), std::move(**value), c.distance}};
        }
        return Found{};
    }

    /// Indexes the entry just stored under `key` for `req`: locally, as a record with the entry's
    /// TTL, and in the partition index of an indexing_store. An embedder failure indexes nothing and
    /// is not an error; an invalid vector is invalid_argument; a store failure is returned (the
    /// vector is still indexed locally, so this process can match it).
    template <store_policy S>
    Result<void> remember(const Request& req, std::string_view partition, std::string_view key, S& store,
                          std::optional<std::chrono::milliseconds> ttl) {
        State& st = *state_;
        const std::string_view text = req.last_user_text();
        if (text.empty())
            return {};
        std::vector<float>& vector = scratch();
        auto embedded = embed(text, vector);
        if (!embedded)
            return unexpected<Error>(embedded.error());
        if (!*embedded)
            return {};
        note_ttl(ttl);

        const std::int64_t now = wall_ms();
        const std::int64_t expires = ttl ? now + ttl->count() : 0;
        const std::uint64_t id = record_id(key);
        const std::string base = partition_base(req.scope, partition);
        add_local(base, id, std::span<const float>(vector),
                  Local{std::string(key), std::string(text), expires});

        const std::string member = hex_id(id);
        const std::string rkey = base + ":r:" + member;
        const std::string record =
            semantic_record::encode(rkey, st.id, key, text, now, expires, std::span<const float>(vector));
        if (auto put = store.put(rkey, record, ttl); !put) {
            st.add(Stat::store_errors);
            return put;
        }
        st.add(Stat::records_written);
        if constexpr (indexing_store<S>) {
            if (auto added = store.index_add(base + ":i", member, now); !added) {
                st.add(Stat::store_errors);
                return added;
            }
        }
        maybe_sweep(store);
        return {};
    }

    /// Drops the entry under `key` from the semantic index: locally, its record and its index member.
    template <store_policy S>
    Result<void> forget(const Request& req, std::string_view partition, std::string_view key, S& store) {
        const std::uint64_t id = record_id(key);
        const std::string base = partition_base(req.scope, partition);
        if (std::shared_ptr<Partition> part = partition_of(base, false))
            remove_local(*part, id);
        return erase_persisted(base, id, store);
    }

    // ---- Cache hooks (optional members the Cache calls when present) ----------------------------

    /// Called by the Cache's constructor: records go under the key policy's prefix (so clear_all
    /// covers them), and index trimming follows the TTL policy's longest TTL.
    template <key_policy K, ttl_policy T>
    void bind(const K& keys, const T& ttl) {
        State& st = *state_;
        st.prefix = keys.prefix();
        st.ns = namespace_prefix_for(st.id);
        note_ttl(ttl.longest());
    }

    /// Removes the records and indexes of `scope` in this embedder's namespace, and the local
    /// vectors of that scope (Cache::clear(scope) calls it). Returns how many keys were removed.
    template <store_policy S>
    Result<std::size_t> clear_scope(std::string_view scope, S& store) {
        std::string prefix = state_->ns;
        detail::append_escaped_scope(prefix, scope);
        prefix.push_back(':');
        retire_local(prefix);
        return store.clear_prefix(prefix);
    }

    /// Forgets every local vector (Cache::clear_all calls it; the persisted keys go with the key
    /// prefix).
    void clear_local() { retire_local({}); }

    // ---- maintenance ----------------------------------------------------------------------------

    /// Removes every record and index written with embedder `embedder_id` (all scopes), e.g. the
    /// previous model's after an embedder change. Local vectors go too when it is this policy's.
    template <store_policy S>
    Result<std::size_t> drop_namespace(S& store, std::string_view embedder_id) {
        if (embedder_id == state_->id)
            retire_local({});
        return store.clear_prefix(namespace_prefix_for(embedder_id));
    }

    /// drop_namespace for this policy's own embedder: every persisted vector of it, all scopes.
    template <store_policy S>
    Result<std::size_t> clear(S& store) {
        return drop_namespace(store, state_->id);
    }

    /// Sweeps now: drops expired local vectors and empty partitions, and trims index members older
    /// than the longest TTL seen (indexing stores). Returns how many local vectors were dropped.
    template <store_policy S>
    std::size_t sweep(S& store) {
        State& st = *state_;
        std::lock_guard guard(st.sweep_mutex);
        st.last_sweep.store(steady_ns(), std::memory_order_relaxed);
        const std::int64_t now = wall_ms();
        std::vector<std::shared_ptr<Partition>> parts;
        {
            std::shared_lock lock(st.partitions_mutex);
            parts.reserve(st.partitions.size());
            for (auto& [name, part] : st.partitions)
                parts.push_back(part);
        }
        std::size_t dropped = 0;
        const std::int64_t retention = st.retention_ms.load(std::memory_order_relaxed);
        for (const std::shared_ptr<Partition>& part : parts) {
            {
                std::unique_lock lock(part->mutex);
                for (auto it = part->entries.begin(); it != part->entries.end();) {
                    if (it->second.expires_ms != 0 && it->second.expires_ms <= now) {
                        part->matcher.remove(it->first);
                        it = part->entries.erase(it);
                        ++dropped;
                    } else {
                        ++it;
                    }
                }
            }
            if constexpr (indexing_store<S>) {
                if (retention >= 0 && retention != unbounded) {
                    const std::int64_t cutoff = now - retention - st.options.clock_skew.count();
                    if (auto trimmed = store.index_trim(part->base + ":i", cutoff); trimmed)
                        st.add(Stat::index_trimmed, *trimmed);
                    else
                        st.add(Stat::store_errors);
                }
            }
        }
        st.add(Stat::swept, dropped);
        // Empty partitions go; a lookup recreates (and reloads) one when it is needed again.
        std::unique_lock lock(st.partitions_mutex);
        for (auto it = st.partitions.begin(); it != st.partitions.end();) {
            const std::shared_ptr<Partition> part = it->second; // outlives the lock below
            std::unique_lock part_lock(part->mutex);
            if (part->entries.empty()) {
                part->retired = true;
                it = st.partitions.erase(it);
            } else {
                ++it;
            }
        }
        return dropped;
    }

    // ---- names and introspection ----------------------------------------------------------------

    /// "<key prefix>s1:<escaped embedder id>:": every persisted key of this embedder starts with it.
    std::string namespace_prefix() const { return state_->ns; }
    /// The key of the partition index of (scope, partition key).
    std::string index_key(std::string_view scope, std::string_view partition) const {
        return partition_base(scope, partition) + ":i";
    }
    /// The key of the record that indexes the entry `entry_key` of (scope, partition key).
    std::string record_key(std::string_view scope, std::string_view partition,
                           std::string_view entry_key) const {
        return partition_base(scope, partition) + ":r:" + hex_id(record_id(entry_key));
    }

    std::string_view embedder_id() const noexcept { return state_->id; }
    std::size_t dimensions() const noexcept { return state_->dims; }
    const SemanticOptions& options() const noexcept { return state_->options; }
    E& embedder() noexcept { return state_->embedder; }
    V& verifier() noexcept { return state_->verifier; }

    SemanticStats stats() const {
        const State& st = *state_;
        SemanticStats s;
        s.lookups = st.get(Stat::lookups);
        s.embeddings = st.get(Stat::embeddings);
        s.embed_failures = st.get(Stat::embed_failures);
        s.invalid_vectors = st.get(Stat::invalid_vectors);
        s.candidates = st.get(Stat::candidates);
        s.verifier_rejections = st.get(Stat::verifier_rejections);
        s.matches = st.get(Stat::matches);
        s.stale_dropped = st.get(Stat::stale_dropped);
        s.records_written = st.get(Stat::records_written);
        s.records_loaded = st.get(Stat::records_loaded);
        s.records_synced = st.get(Stat::records_synced);
        s.corrupt_records = st.get(Stat::corrupt_records);
        s.syncs = st.get(Stat::syncs);
        s.swept = st.get(Stat::swept);
        s.index_trimmed = st.get(Stat::index_trimmed);
        s.store_errors = st.get(Stat::store_errors);
        std::shared_lock lock(st.partitions_mutex);
        s.partitions = st.partitions.size();
        for (const auto& [name, part] : st.partitions) {
            std::shared_lock part_lock(part->mutex);
            s.vectors += part->entries.size();
        }
        return s;
    }

private:
    static constexpr std::int64_t unbounded = std::numeric_limits<std::int64_t>::max();

    enum class Stat : std::size_t {
        lookups,
        embeddings,
        embed_failures,
        invalid_vectors,
        candidates,
        verifier_rejections,
        matches,
        stale_dropped,
        records_written,
        records_loaded,
        records_synced,
        corrupt_records,
        syncs,
        swept,
        index_trimmed,
        store_errors,
        count_
    };

    /// What this process knows of one indexed entry (the vector itself is in the matcher).
    struct Local {
        std::string entry_key;
        std::string prompt;
        std::int64_t expires_ms = 0; ///< wall clock, 0 = never
    };

    struct Partition {
        Partition(std::size_t dims, std::string base_key) : matcher(dims), base(std::move(base_key)) {}
        M matcher;
        const std::string base; ///< "<ns><scope>:<partition digest>"; + ":i" index, + ":r:<id>" records
        mutable std::shared_mutex mutex; ///< guards entries, retired and matcher changes
        std::unordered_map<std::uint64_t, Local> entries;
        bool retired = false;                   ///< removed from the map: writers must re-fetch
        std::mutex sync_mutex;                  ///< one loader or syncer at a time
        std::atomic<bool> loaded{false};        ///< the index was read once (always true without one)
        std::int64_t last_seen = no_score;      ///< newest score read (under sync_mutex)
        std::atomic<std::int64_t> last_sync{0}; ///< steady clock, ns
    };
    static constexpr std::int64_t no_score = std::numeric_limits<std::int64_t>::min();

    struct State {
        State(E e, V v, const SemanticOptions& o)
            : embedder(std::move(e)), verifier(std::move(v)), options(o),
              dims(static_cast<std::size_t>(embedder.dimensions())), id(std::string_view(embedder.id())) {
            ns = namespace_prefix_for(id, prefix);
        }
        E embedder;
        V verifier;
        SemanticOptions options;
        std::size_t dims;
        std::string id;
        std::string prefix = "llmcache:";
        std::string ns;
        mutable std::shared_mutex partitions_mutex;
        std::unordered_map<std::string, std::shared_ptr<Partition>, detail::TransparentHash, std::equal_to<>>
            partitions;
        std::mutex sweep_mutex;
        std::atomic<std::int64_t> last_sweep{0};
        std::atomic<std::int64_t> retention_ms{-1}; ///< longest TTL seen; -1 none yet; unbounded
        std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Stat::count_)> counters{};

        void add(Stat s, std::uint64_t n = 1) noexcept {
            counters[static_cast<std::size_t>(s)].fetch_add(n, std::memory_order_relaxed);
        }
        std::uint64_t get(Stat s) const noexcept {
            return counters[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
        }
    };

    static std::vector<float>& scratch() {
        thread_local std::vector<float> buffer;
        return buffer;
    }

    static std::int64_t wall_ms() noexcept {
        using namespace std::chrono;
        return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    }
    static std::int64_t steady_ns() noexcept {
        using namespace std::chrono;
        return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
    }

    static std::string namespace_prefix_for(std::string_view embedder_id, std::string_view prefix) {
        std::string out(prefix);
        out.append("s1:");
        detail::append_escaped_scope(out, embedder_id);
        out.push_back(':');
        return out;
    }
    std::string namespace_prefix_for(std::string_view embedder_id) const {
        return namespace_prefix_for(embedder_id, state_->prefix);
    }

    std::string partition_base(std::string_view scope, std::string_view partition) const {
        std::string out = state_->ns;
        detail::append_escaped_scope(out, scope);
        out.push_back(':');
        XXH128_canonical_t digest;
        XXH128_canonicalFromHash(&digest, XXH3_128bits(partition.data(), partition.size()));
        detail::append_hex(out, digest.digest, sizeof digest.digest);
        return out;
    }

    static std::uint64_t record_id(std::string_view entry_key) noexcept {
        return XXH3_64bits(entry_key.data(), entry_key.size());
    }
    static std::string hex_id(std::uint64_t id) {
        unsigned char bytes[8];
        for (int i = 0; i < 8; ++i)
            bytes[i] = static_cast<unsigned char>(id >> (56 - 8 * i));
        std::string out;
        detail::append_hex(out, bytes, 8);
        return out;
    }
    static std::optional<std::uint64_t> parse_id(std::string_view hex) noexcept {
        if (hex.size() != 16)
            return std::nullopt;
        std::uint64_t id = 0;
        for (const char c : hex) {
            std::uint64_t digit;
            if (c >= '0' && c <= '9')
                digit = static_cast<std::uint64_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                digit = static_cast<std::uint64_t>(c - 'a' + 10);
            else
                return std::nullopt;
            id = id << 4 | digit;
        }
        return id;
    }

    /// Embeds `text` into `out`: true with a valid vector, false when the embedder gave none (fail
    /// open), invalid_argument for a vector that must not be indexed.
    Result<bool> embed(std::string_view text, std::vector<float>& out) {
        State& st = *state_;
        const auto dims = static_cast<std::size_t>(st.embedder.dimensions());
        if (dims != st.dims) {
            st.add(Stat::invalid_vectors);
            return fail(ErrorCode::invalid_argument,
                        "llmcache::Semantic: the embedder's dimensions() changed from " +
                            std::to_string(st.dims) + " to " + std::to_string(dims));
        }
        out.assign(dims, 0.0f);
        st.add(Stat::embeddings);
        bool ok = false;
#if LLMCACHE_HAS_EXCEPTIONS
        try {
#endif
            ok = static_cast<bool>(st.embedder.embed_into(text, std::span<float>(out)));
#if LLMCACHE_HAS_EXCEPTIONS
        } catch (...) {
            ok = false; // a remote embedder's failure is a miss, never the caller's failure
        }
#endif
        if (!ok) {
            st.add(Stat::embed_failures);
            return false;
        }
        if (const std::string_view problem = semantic_record::vector_problem(out); !problem.empty()) {
            st.add(Stat::invalid_vectors);
            return fail(ErrorCode::invalid_argument, "llmcache::Semantic: the embedder's vector " +
                                                         std::string(problem) + "; nothing stored");
        }
        return true;
    }

    void note_ttl(std::optional<std::chrono::milliseconds> ttl) noexcept {
        const std::int64_t wanted = ttl ? static_cast<std::int64_t>(ttl->count()) : unbounded;
        std::atomic<std::int64_t>& r = state_->retention_ms;
        std::int64_t seen = r.load(std::memory_order_relaxed);
        while (seen < wanted && !r.compare_exchange_weak(seen, wanted, std::memory_order_relaxed)) {
        }
    }

    /// The local partition named `base`; created (empty, not yet loaded) when `create`.
    std::shared_ptr<Partition> partition_of(const std::string& base, bool create) {
        State& st = *state_;
        {
            std::shared_lock lock(st.partitions_mutex);
            if (auto it = st.partitions.find(base); it != st.partitions.end())
                return it->second;
        }
        if (!create)
            return nullptr;
        std::unique_lock lock(st.partitions_mutex);
        auto [it, added] = st.partitions.try_emplace(base, nullptr);
        if (added)
            it->second = std::make_shared<Partition>(st.dims, base);
        return it->second;
    }

    void add_local(const std::string& base, std::uint64_t id, std::span<const float> vector, Local local) {
        for (;;) { // a sweep may retire the partition between lookup and lock: take the new one
            std::shared_ptr<Partition> part = partition_of(base, true);
            std::unique_lock lock(part->mutex);
            if (part->retired)
                continue;
            if (part->matcher.add(id, vector))
                part->entries.insert_or_assign(id, std::move(local));
            return;
        }
    }

    static void remove_local(Partition& part, std::uint64_t id) {
        std::unique_lock lock(part.mutex);
        if (part.entries.erase(id) != 0)
            part.matcher.remove(id);
    }

    template <class S>
    Result<void> erase_persisted(const std::string& base, std::uint64_t id, S& store) {
        const std::string member = hex_id(id);
        auto erased = store.erase(base + ":r:" + member);
        if (!erased) {
            state_->add(Stat::store_errors);
            return unexpected<Error>(erased.error());
        }
        if constexpr (indexing_store<S>) {
            const std::string_view members[] = {member};
            if (auto removed = store.index_remove(base + ":i", members); !removed) {
                state_->add(Stat::store_errors);
                return unexpected<Error>(removed.error());
            }
        }
        return {};
    }

    /// A stale candidate: gone locally and from the store (best effort).
    template <class S>
    void drop(Partition& part, std::uint64_t id, S& store) {
        remove_local(part, id);
        (void)erase_persisted(part.base, id, store);
    }

    /// Forgets the local partitions whose base starts with `prefix` (all when empty).
    void retire_local(std::string_view prefix) {
        State& st = *state_;
        std::unique_lock lock(st.partitions_mutex);
        for (auto it = st.partitions.begin(); it != st.partitions.end();) {
            if (std::string_view(it->first).starts_with(prefix)) {
                const std::shared_ptr<Partition> part = it->second; // outlives the lock below
                std::unique_lock part_lock(part->mutex);
                part->retired = true;
                it = st.partitions.erase(it);
            } else {
                ++it;
            }
        }
    }

    template <class S>
    void maybe_sweep(S& store) {
        State& st = *state_;
        const auto interval = st.options.sweep_interval;
        if (interval <= std::chrono::milliseconds::zero())
            return;
        const std::int64_t now = steady_ns();
        const std::int64_t last = st.last_sweep.load(std::memory_order_relaxed);
        if (last != 0 && now - last < std::chrono::nanoseconds(interval).count())
            return;
        std::unique_lock guard(st.sweep_mutex, std::try_to_lock);
        if (!guard)
            return;      // another thread is sweeping
        if (last == 0) { // the first call starts the clock
            st.last_sweep.store(now, std::memory_order_relaxed);
            return;
        }
        guard.unlock();
        (void)sweep(store);
    }

    /// Brings the partition up to date with the store's index: the whole index the first time,
    /// then, every sync_interval, the members added since the newest one seen.
    template <class S>
    void sync(Partition& part, S& store) {
        if constexpr (!indexing_store<S>) {
            (void)part, (void)store; // process-local index
        } else {
            State& st = *state_;
            if (!part.loaded.load(std::memory_order_acquire)) {
                std::lock_guard guard(part.sync_mutex); // concurrent first lookups wait for the load
                if (part.loaded.load(std::memory_order_relaxed))
                    return;
                if (read_index(part, store, no_score, Stat::records_loaded)) {
                    part.last_sync.store(steady_ns(), std::memory_order_relaxed);
                    part.loaded.store(true, std::memory_order_release);
                }
                return;
            }
            const std::int64_t interval = std::chrono::nanoseconds(st.options.sync_interval).count();
            if (steady_ns() - part.last_sync.load(std::memory_order_relaxed) < interval)
                return;
            std::unique_lock guard(part.sync_mutex, std::try_to_lock);
            if (!guard)
                return; // another thread is syncing; use what is here
            if (steady_ns() - part.last_sync.load(std::memory_order_relaxed) < interval)
                return;
            st.add(Stat::syncs);
            const std::int64_t skew = st.options.clock_skew.count();
            const std::int64_t from = part.last_seen == no_score || part.last_seen < no_score + skew
                                          ? no_score
                                          : part.last_seen - skew;
            if (read_index(part, store, from, Stat::records_synced))
                part.last_sync.store(steady_ns(), std::memory_order_relaxed);
        }
    }

    /// Reads the index members with score >= from, in pages, and indexes locally the records it
    /// does not know yet. Dangling members (record gone) and corrupt records are removed. False on
    /// a store error (the caller retries at the next lookup).
    template <class S>
    bool read_index(Partition& part, S& store, std::int64_t from, Stat counter) {
        State& st = *state_;
        const std::string index = part.base + ":i";
        const std::size_t batch = st.options.load_batch;
        std::size_t skip = 0;
        for (;;) {
            auto page = store.index_range(index, from, skip, batch);
            if (!page) {
                st.add(Stat::store_errors);
                return false;
            }
            std::vector<std::string> keys;
            std::vector<std::uint64_t> ids;
            std::vector<std::string_view> unusable; // members to remove from the index
            {
                std::shared_lock lock(part.mutex);
                for (const IndexMember& m : *page) {
                    const auto id = parse_id(m.member);
                    if (!id)
                        unusable.push_back(m.member);
                    else if (!part.entries.contains(*id)) {
                        ids.push_back(*id);
                        keys.push_back(part.base + ":r:" + m.member);
                    }
                }
            }
            const std::vector<StoreValue> values = read_all(store, keys);
            const std::int64_t now = wall_ms();
            for (std::size_t i = 0; i < keys.size(); ++i) {
                const std::string_view member = std::string_view(keys[i]).substr(part.base.size() + 3);
                if (!values[i]) {
                    st.add(Stat::store_errors);
                    return false;
                }
                if (!*values[i]) { // expired or evicted record
                    unusable.push_back(member);
                    continue;
                }
                auto rec = semantic_record::decode(**values[i], keys[i], st.id, st.dims);
                if (!rec) {
                    st.add(Stat::corrupt_records);
                    (void)store.erase(keys[i]);
                    unusable.push_back(member);
                    continue;
                }
                if (rec->expires_ms != 0 && rec->expires_ms <= now)
                    continue;
                std::unique_lock lock(part.mutex);
                if (part.matcher.add(ids[i], std::span<const float>(rec->vector))) {
                    part.entries.insert_or_assign(
                        ids[i], Local{std::move(rec->entry_key), std::move(rec->prompt), rec->expires_ms});
                    st.add(counter);
                }
            }
            bool removed = false;
            if (!unusable.empty()) {
                removed = store.index_remove(index, std::span<const std::string_view>(unusable)).has_value();
                if (!removed)
                    st.add(Stat::store_errors);
            }
            if (!page->empty() && page->back().score > part.last_seen)
                part.last_seen = page->back().score;
            if (page->size() < batch)
                return true;
            // Next page: after the last member read. Keyset paging (score, then how many members
            // of that score were read) stays right while members are added.
            const std::int64_t last = page->back().score;
            std::size_t same = 0;
            for (auto it = page->rbegin(); it != page->rend() && it->score == last; ++it)
                ++same;
            skip = last == from ? skip + same : same;
            from = last;
            // Members of that score removed above are no longer there to be skipped.
            if (removed)
                for (std::string_view u : unusable)
                    for (auto it = page->rbegin(); it != page->rend() && it->score == last; ++it)
                        if (it->member == u && skip > 0)
                            --skip;
        }
    }

    template <class S>
    static std::vector<StoreValue> read_all(S& store, const std::vector<std::string>& keys) {
        if constexpr (batch_get_store<S>) {
            std::vector<std::string_view> views(keys.begin(), keys.end());
            if (!views.empty())
                return store.get_many(std::span<const std::string_view>(views));
            return {};
        } else {
            std::vector<StoreValue> out;
            out.reserve(keys.size());
            for (const std::string& k : keys)
                out.push_back(store.get(k));
            return out;
        }
    }

    std::unique_ptr<State> state_;
};

template <class E>
Semantic(E) -> Semantic<E>;
template <class E>
Semantic(E, SemanticOptions) -> Semantic<E>;
template <class E, class V>
Semantic(E, SemanticOptions, V) -> Semantic<E, FlatMatcher, V>;

LLMCACHE_END_NAMESPACE
