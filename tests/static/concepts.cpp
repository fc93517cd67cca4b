// Compile-time tests of the policy concepts: every shipped policy satisfies its concept, and
// small hand-written types that miss one requirement each do not. Only static_asserts; the
// build compiles this file and never runs anything from it.
#include <llmcache/llmcache.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lc = llmcache;
using ms = std::chrono::milliseconds;
using OptMs = std::optional<ms>;

namespace llmcache_static_concepts {

// ---- key policies ------------------------------------------------------------------------------
static_assert(lc::key_policy<lc::Xxh3Key<>>);
static_assert(lc::partitioning_key_policy<lc::Xxh3Key<>>);
static_assert(lc::partitioning_key_policy<lc::Xxh3Key<lc::normalize::Whitespace>>);
static_assert(lc::partitioning_key_policy<lc::Xxh3Key<lc::normalize::WhitespaceAndCase>>);
#if LLMCACHE_WITH_OPENSSL
static_assert(lc::key_policy<lc::Sha256Key<>>);
static_assert(lc::partitioning_key_policy<lc::Sha256Key<>>);
static_assert(lc::key_policy<lc::HmacSha256Key<>>);
static_assert(lc::partitioning_key_policy<lc::HmacSha256Key<>>);
static_assert(lc::partitioning_key_policy<lc::HmacSha256Key<lc::normalize::Whitespace>>);
#endif

struct GoodKey {
    std::string key_for(const lc::Request&) const { return {}; }
    std::string scope_prefix(std::string_view) const { return {}; }
    std::string prefix() const { return {}; }
};
struct KeyNoKeyFor {
    std::string scope_prefix(std::string_view) const { return {}; }
    std::string prefix() const { return {}; }
};
struct KeyNoScopePrefix {
    std::string key_for(const lc::Request&) const { return {}; }
    std::string prefix() const { return {}; }
};
struct KeyNoPrefix {
    std::string key_for(const lc::Request&) const { return {}; }
    std::string scope_prefix(std::string_view) const { return {}; }
};
struct KeyWrongReturn {
    int key_for(const lc::Request&) const { return 0; }
    std::string scope_prefix(std::string_view) const { return {}; }
    std::string prefix() const { return {}; }
};
struct KeyNonConstKeyFor { // key_for must be callable on a const policy
    std::string key_for(const lc::Request&) { return {}; }
    std::string scope_prefix(std::string_view) const { return {}; }
    std::string prefix() const { return {}; }
};
struct KeyNotCopyable : GoodKey {
    std::unique_ptr<int> state;
};
struct GoodPartitioningKey : GoodKey {
    std::string partition_for(const lc::Request&) const { return {}; }
};

static_assert(lc::key_policy<GoodKey>);
static_assert(!lc::partitioning_key_policy<GoodKey>);
static_assert(lc::partitioning_key_policy<GoodPartitioningKey>);
static_assert(!lc::key_policy<KeyNoKeyFor> && !lc::key_has_key_for<KeyNoKeyFor>);
static_assert(!lc::key_policy<KeyNoScopePrefix> && !lc::key_has_scope_prefix<KeyNoScopePrefix>);
static_assert(!lc::key_policy<KeyNoPrefix> && !lc::key_has_scope_prefix<KeyNoPrefix>);
static_assert(!lc::key_policy<KeyWrongReturn> && !lc::key_has_key_for<KeyWrongReturn>);
static_assert(!lc::key_policy<KeyNonConstKeyFor>);
static_assert(!lc::key_policy<KeyNotCopyable>);

// ---- stores ------------------------------------------------------------------------------------
static_assert(lc::store_policy<lc::MemoryStore>);
static_assert(lc::touching_store<lc::MemoryStore>);
static_assert(lc::batch_get_store<lc::MemoryStore>);
static_assert(lc::batch_put_store<lc::MemoryStore>);
// A TieredStore satisfies what its parts allow (more in tests/test_tiered_store.cpp).
using MemoryTiered = lc::TieredStore<lc::MemoryStore, lc::MemoryStore>;
static_assert(lc::touching_store<MemoryTiered> && lc::batch_get_store<MemoryTiered> &&
              lc::batch_put_store<MemoryTiered> && lc::leasing_store<MemoryTiered>);
static_assert(lc::in_process_store<MemoryTiered> && MemoryTiered::max_ttl == lc::MemoryStore::max_ttl);

struct StoreBase { // the four required members, all correct
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreNoGet {
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreThrowingGet {
    lc::StoreValue get(std::string_view) { return std::optional<std::string>{}; } // not noexcept
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreGetWrongReturn {
    std::optional<std::string> get(std::string_view) noexcept { return {}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreNoPut {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StorePutWrongReturn {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    bool put(std::string_view, std::string_view, OptMs) noexcept { return true; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StorePutNoTtl {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreNoErase {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreThrowingErase {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) { return false; }
    lc::Result<std::size_t> clear_prefix(std::string_view) noexcept { return std::size_t{0}; }
};
struct StoreNoClearPrefix {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
};
struct StoreClearPrefixWrongReturn {
    lc::StoreValue get(std::string_view) noexcept { return std::optional<std::string>{}; }
    lc::Result<void> put(std::string_view, std::string_view, OptMs) noexcept { return {}; }
    lc::Result<bool> erase(std::string_view) noexcept { return false; }
    lc::Result<int> clear_prefix(std::string_view) noexcept { return 0; }
};

static_assert(lc::store_policy<StoreBase>);
static_assert(!lc::touching_store<StoreBase>);
static_assert(!lc::batch_get_store<StoreBase>);
static_assert(!lc::batch_put_store<StoreBase>);
static_assert(!lc::store_policy<StoreNoGet> && !lc::store_has_get<StoreNoGet>);
static_assert(!lc::store_policy<StoreThrowingGet> && !lc::store_has_get<StoreThrowingGet>);
static_assert(!lc::store_policy<StoreGetWrongReturn> && !lc::store_has_get<StoreGetWrongReturn>);
static_assert(!lc::store_policy<StoreNoPut> && !lc::store_has_put<StoreNoPut>);
static_assert(!lc::store_policy<StorePutWrongReturn> && !lc::store_has_put<StorePutWrongReturn>);
static_assert(!lc::store_policy<StorePutNoTtl> && !lc::store_has_put<StorePutNoTtl>);
static_assert(!lc::store_policy<StoreNoErase> && !lc::store_has_erase<StoreNoErase>);
static_assert(lc::store_has_get<StoreNoErase> && lc::store_has_put<StoreNoErase>); // only erase is missing
static_assert(!lc::store_policy<StoreThrowingErase> && !lc::store_has_erase<StoreThrowingErase>);
static_assert(!lc::store_policy<StoreNoClearPrefix> && !lc::store_has_clear_prefix<StoreNoClearPrefix>);
static_assert(!lc::store_policy<StoreClearPrefixWrongReturn>);

struct TouchingStore : StoreBase {
    lc::StoreValue get_and_touch(std::string_view, OptMs) noexcept { return std::optional<std::string>{}; }
};
struct ThrowingTouchStore : StoreBase {
    lc::StoreValue get_and_touch(std::string_view, OptMs) { return std::optional<std::string>{}; }
};
struct TouchWrongReturnStore : StoreBase {
    std::optional<std::string> get_and_touch(std::string_view, OptMs) noexcept { return {}; }
};
struct TouchWithoutStore { // get_and_touch alone is not a store
    lc::StoreValue get_and_touch(std::string_view, OptMs) noexcept { return std::optional<std::string>{}; }
};
static_assert(lc::touching_store<TouchingStore>);
static_assert(!lc::touching_store<ThrowingTouchStore>);
static_assert(!lc::touching_store<TouchWrongReturnStore>);
static_assert(!lc::touching_store<TouchWithoutStore>);

struct BatchStore : StoreBase {
    std::vector<lc::StoreValue> get_many(std::span<const std::string_view>) noexcept { return {}; }
    lc::Result<std::size_t> put_many(std::span<const lc::StoreItem>) noexcept { return std::size_t{0}; }
};
struct BatchGetWrongReturn : StoreBase {
    std::vector<std::optional<std::string>> get_many(std::span<const std::string_view>) noexcept {
        return {};
    }
};
struct BatchPutThrowing : StoreBase {
    lc::Result<std::size_t> put_many(std::span<const lc::StoreItem>) { return std::size_t{0}; }
};
static_assert(lc::batch_get_store<BatchStore> && lc::batch_put_store<BatchStore>);
static_assert(!lc::batch_get_store<BatchGetWrongReturn>);
static_assert(!lc::batch_put_store<BatchPutThrowing>);

// ---- TTL policies ------------------------------------------------------------------------------
static_assert(lc::ttl_policy<lc::ttl::None>);
static_assert(lc::ttl_policy<lc::ttl::Fixed>);
static_assert(lc::ttl_policy<lc::ttl::Sliding<>>);
static_assert(lc::ttl_policy<lc::ttl::Sliding<lc::ttl::Agentic>>);
static_assert(lc::ttl_policy<lc::ttl::Jittered<>>);
static_assert(lc::ttl_policy<lc::ttl::Jittered<lc::ttl::Sliding<>>>);
static_assert(lc::ttl_policy<lc::ttl::StaticFaq>);
static_assert(lc::ttl_policy<lc::ttl::ProductQa>);
static_assert(lc::ttl_policy<lc::ttl::DateSensitive>);
static_assert(lc::ttl_policy<lc::ttl::Agentic>);

struct GoodTtl {
    static constexpr bool refresh_on_hit = false;
    OptMs ttl_for(std::string_view) const noexcept { return {}; }
    OptMs longest() const noexcept { return {}; }
};
struct TtlNoRefresh {
    OptMs ttl_for(std::string_view) const noexcept { return {}; }
    OptMs longest() const noexcept { return {}; }
};
struct TtlThrowing {
    static constexpr bool refresh_on_hit = false;
    OptMs ttl_for(std::string_view) const { return {}; }
    OptMs longest() const noexcept { return {}; }
};
struct TtlWrongUnit {
    static constexpr bool refresh_on_hit = false;
    std::optional<std::chrono::seconds> ttl_for(std::string_view) const noexcept { return {}; }
    OptMs longest() const noexcept { return {}; }
};
struct TtlNoLongest {
    static constexpr bool refresh_on_hit = false;
    OptMs ttl_for(std::string_view) const noexcept { return {}; }
};
struct TtlNotCopyable : GoodTtl {
    std::unique_ptr<int> state;
};
static_assert(lc::ttl_policy<GoodTtl>);
static_assert(!lc::ttl_policy<TtlNoRefresh>);
static_assert(!lc::ttl_policy<TtlThrowing>);
static_assert(!lc::ttl_policy<TtlWrongUnit>);
static_assert(!lc::ttl_policy<TtlNoLongest>);
static_assert(!lc::ttl_policy<TtlNotCopyable>);

// A sliding TTL needs a touching store.
static_assert(lc::sliding_ttl_supported<lc::ttl::Sliding<>, lc::MemoryStore>);
static_assert(lc::sliding_ttl_supported<lc::ttl::Sliding<>, TouchingStore>);
static_assert(!lc::sliding_ttl_supported<lc::ttl::Sliding<>, StoreBase>);
static_assert(!lc::sliding_ttl_supported<lc::ttl::Jittered<lc::ttl::Sliding<>>, StoreBase>);
static_assert(lc::sliding_ttl_supported<lc::ttl::Fixed, StoreBase>);
static_assert(lc::sliding_ttl_supported<lc::ttl::Jittered<>, StoreBase>);

// ---- model backends ----------------------------------------------------------------------------
static_assert(lc::model_backend<lc::SimulatedModel>);

inline auto returns_result = [](const lc::Request&) -> lc::Result<lc::Response> { return lc::Response{}; };
inline auto returns_response = [](const lc::Request&) { return lc::Response{}; };
inline auto returns_string = [](const lc::Request&) { return std::string("answer"); };
inline auto returns_c_string = [](const lc::Request&) { return "answer"; };
inline auto mutable_lambda = [n = 0](const lc::Request&) mutable { return std::to_string(++n); };
static_assert(lc::model_backend<lc::CallableBackend<decltype(returns_result)>>);
static_assert(lc::model_backend<lc::CallableBackend<decltype(returns_response)>>);
static_assert(lc::model_backend<lc::CallableBackend<decltype(returns_string)>>);
static_assert(lc::model_backend<lc::CallableBackend<decltype(returns_c_string)>>);
static_assert(lc::model_backend<lc::CallableBackend<decltype(mutable_lambda)>>);

inline auto returns_int = [](const lc::Request&) { return 42; };
inline auto returns_void = [](const lc::Request&) {};
inline auto takes_nothing = [] { return std::string(); };
inline auto takes_mutable_request = [](lc::Request&) { return std::string(); };
static_assert(lc::backend_callable<decltype(returns_result)>);
static_assert(!lc::backend_callable<decltype(returns_int)>);
static_assert(!lc::backend_callable<decltype(returns_void)>);
static_assert(!lc::backend_callable<decltype(takes_nothing)>);
static_assert(!lc::backend_callable<decltype(takes_mutable_request)>);

struct GoodBackend {
    lc::Result<lc::Response> complete(const lc::Request&) { return lc::Response{}; }
};
struct BackendReturnsString {
    std::string complete(const lc::Request&) { return {}; }
};
struct BackendReturnsResponse { // a raw type must be wrapped in CallableBackend
    lc::Response complete(const lc::Request&) { return {}; }
};
struct BackendNoComplete {
    lc::Result<lc::Response> call(const lc::Request&) { return lc::Response{}; }
};
struct BackendMutableRequest {
    lc::Result<lc::Response> complete(lc::Request&) { return lc::Response{}; }
};
static_assert(lc::model_backend<GoodBackend>);
static_assert(!lc::model_backend<BackendReturnsString>);
static_assert(!lc::model_backend<BackendReturnsResponse>);
static_assert(!lc::model_backend<BackendNoComplete>);
static_assert(!lc::model_backend<BackendMutableRequest>);

// ---- observers ---------------------------------------------------------------------------------
inline auto on_record = [](const lc::CallRecord&) noexcept {};
static_assert(lc::call_observer<lc::NullObserver>);
static_assert(lc::call_observer<lc::JsonLinesObserver>);
static_assert(lc::call_observer<lc::CallbackObserver<decltype(on_record)>>);

struct ObserverThrowing {
    void on_call(const lc::CallRecord&) {}
};
struct ObserverNoOnCall {
    void on_record(const lc::CallRecord&) noexcept {}
};
static_assert(!lc::call_observer<ObserverThrowing>);
static_assert(!lc::call_observer<ObserverNoOnCall>);

// ---- similarity policies -----------------------------------------------------------------------
static_assert(lc::similarity_policy<lc::ExactOnly, lc::MemoryStore>);
static_assert(lc::similarity_policy<lc::ExactOnly, StoreBase>);

struct SimilarityNoEnabled {};
struct SimilarityEnabledButEmpty {
    static constexpr bool enabled = true;
};
struct GoodSimilarity {
    static constexpr bool enabled = true;
    lc::Result<std::optional<lc::SimilarMatch>> find(const lc::Request&, std::string_view, lc::MemoryStore&) {
        return std::optional<lc::SimilarMatch>{};
    }
    lc::Result<void> remember(const lc::Request&, std::string_view, std::string_view, lc::MemoryStore&,
                              OptMs) {
        return {};
    }
    lc::Result<void> forget(const lc::Request&, std::string_view, std::string_view, lc::MemoryStore&) {
        return {};
    }
};
struct SimilarityNoForget {
    static constexpr bool enabled = true;
    lc::Result<std::optional<lc::SimilarMatch>> find(const lc::Request&, std::string_view, lc::MemoryStore&) {
        return std::optional<lc::SimilarMatch>{};
    }
    lc::Result<void> remember(const lc::Request&, std::string_view, std::string_view, lc::MemoryStore&,
                              OptMs) {
        return {};
    }
};
static_assert(!lc::similarity_policy<SimilarityNoEnabled, lc::MemoryStore>);
static_assert(!lc::similarity_policy<SimilarityEnabledButEmpty, lc::MemoryStore>);
static_assert(lc::similarity_policy<GoodSimilarity, lc::MemoryStore>);
static_assert(!lc::similarity_policy<GoodSimilarity, StoreBase>); // written for MemoryStore only
static_assert(!lc::similarity_policy<SimilarityNoForget, lc::MemoryStore>);
// A semantic policy needs partition keys.
static_assert(lc::similarity_keys_supported<lc::ExactOnly, GoodKey>);
static_assert(!lc::similarity_keys_supported<GoodSimilarity, GoodKey>);
static_assert(lc::similarity_keys_supported<GoodSimilarity, lc::Xxh3Key<>>);

// ---- semantic building blocks: embedder, matcher, hit_verifier, indexing_store, Semantic ---------
static_assert(lc::embedder<lc::HashingEmbedder>);
static_assert(lc::matcher<lc::FlatMatcher>);
static_assert(lc::hit_verifier<lc::AcceptAll>);
static_assert(lc::indexing_store<lc::MemoryStore>);
static_assert(!lc::indexing_store<StoreBase>);
static_assert(lc::similarity_policy<lc::Semantic<lc::HashingEmbedder>, lc::MemoryStore>);
static_assert(lc::similarity_policy<lc::Semantic<lc::HashingEmbedder>, StoreBase>); // any store

struct EmbedderNoId {
    std::size_t dimensions() const { return 4; }
    bool embed_into(std::string_view, std::span<float>) const { return false; }
};
struct EmbedderNoDimensions {
    std::string_view id() const { return "e"; }
    bool embed_into(std::string_view, std::span<float>) const { return false; }
};
struct EmbedderReturnsVector { // embed must write into the caller's span
    std::string_view id() const { return "e"; }
    std::size_t dimensions() const { return 4; }
    std::vector<float> embed_into(std::string_view) const { return {}; }
};
static_assert(!lc::embedder_has_id<EmbedderNoId> && !lc::embedder<EmbedderNoId>);
static_assert(!lc::embedder_has_dimensions<EmbedderNoDimensions> && !lc::embedder<EmbedderNoDimensions>);
static_assert(!lc::embedder_has_embed_into<EmbedderReturnsVector> && !lc::embedder<EmbedderReturnsVector>);

struct MatcherNoDimensionsConstructor {
    bool add(std::uint64_t, std::span<const float>) { return true; }
    bool remove(std::uint64_t) { return true; }
    std::vector<lc::MatchResult> top_k(std::span<const float>, std::size_t, float) { return {}; }
    std::size_t size() { return 0; }
};
struct MatcherTopKWrongType {
    explicit MatcherTopKWrongType(std::size_t) {}
    bool add(std::uint64_t, std::span<const float>) { return true; }
    bool remove(std::uint64_t) { return true; }
    std::vector<std::uint64_t> top_k(std::span<const float>, std::size_t, float) { return {}; }
    std::size_t size() { return 0; }
};
static_assert(!lc::matcher_constructible_from_dimensions<MatcherNoDimensionsConstructor>);
static_assert(!lc::matcher<MatcherNoDimensionsConstructor>);
static_assert(!lc::matcher_has_top_k<MatcherTopKWrongType> && !lc::matcher<MatcherTopKWrongType>);

struct VerifierWrongArguments {
    bool accepts(std::string_view) { return true; }
};
static_assert(!lc::hit_verifier<VerifierWrongArguments>);

// ---- the Cache accepts exactly the valid combinations --------------------------------------------
template <class Key, class Store, class Similarity, class Ttl, class Backend,
          class Observer = lc::NullObserver>
concept cache_accepts = requires {
    typename lc::Cache<Key, Store, Similarity, Ttl, Backend, Observer>;
};

using Lambda = lc::CallableBackend<decltype(returns_string)>;
static_assert(cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, lc::ttl::None, Lambda>);
static_assert(
    cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::Semantic<lc::HashingEmbedder>, lc::ttl::None, Lambda>);
static_assert(
    !cache_accepts<GoodKey, lc::MemoryStore, lc::Semantic<lc::HashingEmbedder>, lc::ttl::None, Lambda>);
static_assert(cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, lc::ttl::Sliding<>, Lambda>);
static_assert(cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, GoodSimilarity, lc::ttl::Fixed, GoodBackend,
                            lc::JsonLinesObserver>);
static_assert(cache_accepts<GoodKey, StoreBase, lc::ExactOnly, GoodTtl, GoodBackend>);
static_assert(!cache_accepts<KeyNoScopePrefix, lc::MemoryStore, lc::ExactOnly, lc::ttl::None, Lambda>);
static_assert(!cache_accepts<lc::Xxh3Key<>, StoreNoErase, lc::ExactOnly, lc::ttl::None, Lambda>);
static_assert(!cache_accepts<lc::Xxh3Key<>, StoreBase, lc::ExactOnly, lc::ttl::Sliding<>, Lambda>);
static_assert(!cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, SimilarityNoForget, lc::ttl::None, Lambda>);
static_assert(!cache_accepts<GoodKey, lc::MemoryStore, GoodSimilarity, lc::ttl::None, Lambda>);
static_assert(!cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, TtlThrowing, Lambda>);
static_assert(
    !cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, lc::ttl::None, BackendReturnsString>);
static_assert(
    !cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, lc::ttl::None, Lambda, ObserverThrowing>);
static_assert(lc::model_backend<lc::CallableBackend<decltype(returns_string)>>); // (the Lambda above)

// The ExactCache alias is usable with the shipped defaults.
static_assert(
    cache_accepts<lc::Xxh3Key<>, lc::MemoryStore, lc::ExactOnly, lc::ttl::None, lc::SimulatedModel>);
static_assert(sizeof(lc::ExactCache<lc::SimulatedModel>) > 0);

} // namespace llmcache_static_concepts
