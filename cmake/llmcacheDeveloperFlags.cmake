# Flags for llmcache's own targets (tests, benchmarks, examples). Never applied to the llmcache
# INTERFACE target: consumers choose their own warnings and sanitizers.
include_guard(GLOBAL)

function(llmcache_add_warnings target)
    if(MSVC)
        target_compile_options(${target} PRIVATE /W4 /permissive- $<$<BOOL:${LLMCACHE_WERROR}>:/WX>)
    else()
        target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<BOOL:${LLMCACHE_WERROR}>:-Werror>)
    endif()
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
       AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
        # GCC 12 (Debian 12's compiler) reports a bogus -Wrestrict inside libstdc++ for
        # `"literal" + std::string&&` at -O2/-O3 (GCC bug 105651).
        target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
    if(LLMCACHE_DEV_TIME_TRACE AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
        # One .json per object file next to it; open in chrome://tracing or Speedscope.
        target_compile_options(${target} PRIVATE -ftime-trace)
    endif()
endfunction()

function(llmcache_add_sanitizers target)
    if(NOT LLMCACHE_SANITIZE)
        return()
    endif()
    if(NOT LLMCACHE_SANITIZE MATCHES "^[a-z_,-]+$")
        message(FATAL_ERROR "LLMCACHE_SANITIZE must look like 'address,undefined', got '${LLMCACHE_SANITIZE}'")
    endif()
    # -fno-sanitize-recover: a UBSan finding fails the test instead of scrolling by.
    target_compile_options(${target} PRIVATE -fsanitize=${LLMCACHE_SANITIZE} -fno-sanitize-recover=all
                                             -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${LLMCACHE_SANITIZE})
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
        # GCC's flow analysis sees through the sanitizer instrumentation badly and reports
        # -Wmaybe-uninitialized in libstdc++ (<regex> via Catch2 with GCC 12); the plain builds
        # keep the warning.
        target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
endfunction()
