#!/usr/bin/env bash
# Build the cold_warm example (Release, in build/demo) and run it on examples/cold_warm/prompts.txt.
#   ./run_demo.sh [extra arguments for cold_warm...]
# Environment: CXX (default: c++), JOBS (default: nproc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

build_dir=build/demo
cxx=${CXX:-c++}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

tools/install_deps.sh demo
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if command -v "$cxx" >/dev/null 2>&1; then
    printf '#include <xxhash.h>\n' | "$cxx" -x c++ -E - >/dev/null 2>&1 || missing+=(libxxhash-dev)
else
    missing+=(g++)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "run_demo.sh: missing dependencies. On Debian/Ubuntu install them with:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

generator=()
if [[ ! -f $build_dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
fi
mkdir -p "$build_dir"
log=$build_dir/run_demo-build.log
echo "run_demo.sh: building cold_warm in $build_dir (log: $log)"
if ! {
    cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
        -DLLMCACHE_BUILD_EXAMPLES=ON -DLLMCACHE_BUILD_TESTS=OFF -DLLMCACHE_BUILD_BENCH=OFF -DLLMCACHE_INSTALL=OFF &&
        cmake --build "$build_dir" --target cold_warm -j "$jobs"
} >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "run_demo.sh: the build failed; the full log is in $log" >&2
    exit 1
fi

exec "$build_dir/examples/cold_warm/cold_warm" --prompts examples/cold_warm/prompts.txt "$@"
