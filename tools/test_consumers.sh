#!/usr/bin/env bash
# Build and run the consumer projects in tests/consumers/, each using llmcache a different way:
#   find_package      install into a temporary prefix, then find_package(llmcache CONFIG REQUIRED)
#   pkg-config        the same installed prefix, compiled by hand with `pkg-config --cflags llmcache`
#   add_subdirectory  add_subdirectory(<repository root>)
#   fetchcontent      FetchContent_Declare(llmcache SOURCE_DIR <repository root>)
#   meson_subproject  a Meson project whose subprojects/llmcache links to the repository root
#   single_header     one .cpp compiled with only -I single_include and the xxhash.h directory
# Each program must run and print the version from include/llmcache/config.hpp. Everything happens
# in a temporary directory (KEEP_WORKDIR=1 keeps it); exits non-zero if any consumer fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
consumers=$root/tests/consumers
cxx=${CXX:-g++}
jobs=${JOBS:-2}
generator=()
if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/llmcache-consumers.XXXXXX")
cleanup() {
    if [[ ${KEEP_WORKDIR:-0} == 1 ]]; then
        echo "test_consumers: work directory kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

version=$(sed -nE 's/^#define LLMCACHE_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' "$root/include/llmcache/config.hpp" | paste -sd.)
if [[ ! $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "test_consumers: cannot read the version from include/llmcache/config.hpp" >&2
    exit 1
fi

passed=()
failed=()
# step NAME COMMAND...: run a command, logging to $work/NAME.log; show the log if it fails.
step() {
    local name=$1
    shift
    if ! "$@" >>"$work/$name.log" 2>&1; then
        echo "test_consumers: $name: FAILED: $*" >&2
        tail -n 60 "$work/$name.log" >&2
        return 1
    fi
}
# run_consumer NAME EXECUTABLE: run it and check that it prints the version.
run_consumer() {
    local name=$1 exe=$2 output
    if ! output=$("$exe" 2>&1); then
        echo "test_consumers: $name: the program failed: $output" >&2
        return 1
    fi
    if [[ $output != *"$version"* ]]; then
        echo "test_consumers: $name: expected version $version in the output, got: $output" >&2
        return 1
    fi
    echo "test_consumers: $name: ok ($output)"
}
record() { # record NAME STATUS
    if [[ $2 -eq 0 ]]; then passed+=("$1"); else failed+=("$1"); fi
}

cmake_consumer() { # cmake_consumer NAME EXTRA_CMAKE_ARGS...
    local name=$1
    shift
    step "$name" cmake -S "$consumers/$name" -B "$work/$name" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_COMPILER="$cxx" "$@" &&
        step "$name" cmake --build "$work/$name" -j "$jobs" &&
        run_consumer "$name" "$work/$name/consumer"
}

# ---- the installed package --------------------------------------------------------------------------
prefix=$work/prefix
install_ok=0
step install cmake -S "$root" -B "$work/llmcache-build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_INSTALL_PREFIX="$prefix" -DLLMCACHE_INSTALL=ON \
    -DLLMCACHE_BUILD_TESTS=OFF -DLLMCACHE_BUILD_BENCH=OFF -DLLMCACHE_BUILD_EXAMPLES=OFF &&
    step install cmake --build "$work/llmcache-build" &&
    step install cmake --install "$work/llmcache-build" || install_ok=$?
record install "$install_ok"

if [[ $install_ok -eq 0 ]]; then
    status=0
    cmake_consumer find_package -DCMAKE_PREFIX_PATH="$prefix" || status=$?
    record find_package "$status"

    status=0
    pc_dir=$(dirname "$(find "$prefix" -name llmcache.pc -print -quit)")
    {
        flags=$(PKG_CONFIG_PATH="$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config --cflags --libs llmcache) &&
            mkdir -p "$work/pkg-config" &&
            # shellcheck disable=SC2086 # the flags are meant to be split
            step pkg-config "$cxx" -std=c++20 "$consumers/find_package/main.cpp" -o "$work/pkg-config/consumer" $flags &&
            run_consumer pkg-config "$work/pkg-config/consumer"
    } || status=$?
    record pkg-config "$status"
else
    record find_package 1
    record pkg-config 1
fi

# ---- the source tree --------------------------------------------------------------------------------
status=0
cmake_consumer add_subdirectory -DLLMCACHE_SOURCE_DIR="$root" || status=$?
record add_subdirectory "$status"

status=0
cmake_consumer fetchcontent -DLLMCACHE_SOURCE_DIR="$root" || status=$?
record fetchcontent "$status"

status=0
if command -v meson >/dev/null 2>&1; then
    cp -r "$consumers/meson_subproject" "$work/meson_subproject-src"
    mkdir -p "$work/meson_subproject-src/subprojects"
    ln -s "$root" "$work/meson_subproject-src/subprojects/llmcache"
    {
        CXX=$cxx step meson_subproject meson setup "$work/meson_subproject" "$work/meson_subproject-src" \
            --buildtype=release --force-fallback-for=llmcache &&
            step meson_subproject meson compile -C "$work/meson_subproject" &&
            run_consumer meson_subproject "$work/meson_subproject/consumer"
    } || status=$?
else
    echo "test_consumers: meson_subproject: meson not found (Debian/Ubuntu: apt-get install meson)" >&2
    status=1
fi
record meson_subproject "$status"

# ---- the single header ------------------------------------------------------------------------------
# -idirafter, not -isystem: xxhash.h usually sits in /usr/include, and naming that with -isystem
# breaks libstdc++'s #include_next.
status=0
xxhash_dir=$(printf '#include <xxhash.h>\n' | "$cxx" -x c++ -E -M - 2>/dev/null | tr ' \\' '\n\n' | grep '/xxhash\.h$' | head -n 1 | xargs -r dirname || true)
if [[ ! -f $root/single_include/llmcache/llmcache.hpp ]]; then
    echo "test_consumers: single_header: single_include/llmcache/llmcache.hpp is missing (python3 tools/amalgamate.py)" >&2
    status=1
elif [[ -z $xxhash_dir ]]; then
    echo "test_consumers: single_header: xxhash.h not found (Debian/Ubuntu: apt-get install libxxhash-dev)" >&2
    status=1
else
    mkdir -p "$work/single_header"
    {
        step single_header "$cxx" -std=c++20 -I "$root/single_include" -idirafter "$xxhash_dir" \
            "$consumers/single_header/main.cpp" -o "$work/single_header/consumer" &&
            run_consumer single_header "$work/single_header/consumer"
    } || status=$?
fi
record single_header "$status"

echo "test_consumers: succeeded: ${passed[*]:-none}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "test_consumers: FAILED: ${failed[*]}" >&2
    exit 1
fi
