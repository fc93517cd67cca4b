// xxHash, compiled inline into the including translation unit (XXH_INLINE_ALL), so the header-only
// library needs only xxhash.h at build time and no libxxhash at link time; the symbols are static
// and cannot clash with another copy of xxHash in the program. Define LLMCACHE_SYSTEM_XXHASH to
// use the linked system library instead.
#pragma once

#ifndef LLMCACHE_SYSTEM_XXHASH
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define LLMCACHE_DEFINED_XXH_INLINE_ALL_
#endif
#endif
#include <xxhash.h>
#ifdef LLMCACHE_DEFINED_XXH_INLINE_ALL_
#undef XXH_INLINE_ALL
#undef LLMCACHE_DEFINED_XXH_INLINE_ALL_
#endif
