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

# The cache lives in Redis when REDIS_URL is set. Otherwise, when redis-server is installed, a
# private one is started for the run on a unix socket in a temporary directory (no port to clash
# with, nothing persisted) and stopped afterwards; without redis-server the in-memory store is used.
if [[ -z ${REDIS_URL:-} ]] && command -v redis-server >/dev/null 2>&1; then
    redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/llmcache-demo-redis.XXXXXX")
    redis-server --port 0 --unixsocket "$redis_dir/redis.sock" --unixsocketperm 700 --dir "$redis_dir" \
        --save '' --appendonly no --maxmemory 64mb --maxmemory-policy allkeys-lru >"$redis_dir/redis.log" 2>&1 &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$redis_dir"' EXIT
    for _ in $(seq 50); do
        [[ -S $redis_dir/redis.sock ]] && break
        sleep 0.1
    done
    if [[ -S $redis_dir/redis.sock ]]; then
        export REDIS_URL="unix://$redis_dir/redis.sock"
        echo "run_demo.sh: started a private redis-server for this run ($REDIS_URL)"
    else
        echo "run_demo.sh: could not start redis-server (see below); using the in-memory store" >&2
        cat "$redis_dir/redis.log" >&2 || true
    fi
fi

"$build_dir/examples/cold_warm/cold_warm" --prompts examples/cold_warm/prompts.txt "$@"
