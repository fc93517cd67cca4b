#!/usr/bin/env bash
# Build llmcache with g++ (Release, Ninja) in build/gcc-release and run the whole CTest suite.
#
#   ./test.sh                 configure, build, run every test
#   ./test.sh -R compile_fail arguments go to ctest (here: only the should-not-compile tests)
#
# Environment: BUILD_DIR (default build/gcc-release), CXX (default g++), JOBS (default: nproc),
# LLMCACHE_CMAKE_ARGS (extra configure arguments, e.g. "-DLLMCACHE_BUILD_BENCH=OFF").
# On a fresh Debian machine it first installs the Debian packages it needs
# (tools/install_deps.sh: as root, or with password-less sudo; otherwise it prints the command).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

build_dir=${BUILD_DIR:-build/gcc-release}
cxx=${CXX:-g++}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
read -r -a extra_cmake_args <<<"${LLMCACHE_CMAKE_ARGS:-}"

# ---- Dependencies ----------------------------------------------------------------------------------
tools/install_deps.sh test
missing=()
need_command() { # need_command COMMAND DEBIAN_PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
has_header() { # has_header HEADER: can the compiler find it?
    printf '#include <%s>\n' "$1" | "$cxx" -std=c++20 -x c++ -E - >/dev/null 2>&1
}
need_header() { # need_header HEADER DEBIAN_PACKAGE
    has_header "$1" || missing+=("$2")
}
need_command cmake cmake
need_command ninja ninja-build
need_command python3 python3
if command -v "$cxx" >/dev/null 2>&1; then
    need_header xxhash.h libxxhash-dev
    need_header catch2/catch.hpp catch2
    if [[ " ${extra_cmake_args[*]} " != *" -DLLMCACHE_BUILD_BENCH=OFF "* ]]; then
        need_header benchmark/benchmark.h libbenchmark-dev
    fi
    # Optional backends are built when their headers are there (CMake's LLMCACHE_WITH_* default).
    if ! has_header openssl/evp.h; then
        echo "test.sh: note: no OpenSSL headers, so no SHA-256/HMAC keys and no RedisStore (Debian: libssl-dev)"
    elif ! has_header hiredis/hiredis.h; then
        echo "test.sh: note: no hiredis headers, so RedisStore and its tests are not built (Debian: libhiredis-dev)"
    else
        # RedisStore's tests run real redis-server and redis-sentinel processes, build clusters
        # with redis-cli and make TLS certificates with the openssl command line tool.
        need_command redis-server redis-server
        need_command redis-sentinel redis-sentinel
        need_command redis-cli redis-tools
        need_command openssl openssl
    fi
else
    missing+=(g++)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "test.sh: missing dependencies. On Debian/Ubuntu install them with:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

# ---- Test services (hook) --------------------------------------------------------------------------
# Tests that need a server start their own: the Redis fixtures spawn private redis-server
# processes on free loopback ports (tests/support/redis_server.hpp), so nothing is started here. A test that needs a shared, suite-wide service should
# start it HERE, export where it listens (e.g. LLMCACHE_TEST_<SERVICE>_URL) and stop it in
# stop_test_services, which runs however this script exits.
stop_test_services() {
    :
}
trap stop_test_services EXIT

# ---- Configure, build, test ------------------------------------------------------------------------
generator=()
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    generator=(-G Ninja)
fi
cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
    "${extra_cmake_args[@]}"
cmake --build "$build_dir" -j "$jobs"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" "$@"
