#!/usr/bin/env bash
# The version lives in three places that must agree: the LLMCACHE_VERSION_MAJOR/MINOR/PATCH macros
# in include/llmcache/config.hpp, project(... VERSION) in CMakeLists.txt and project(version:) in
# meson.build. The committed single header, when present, must carry the same macros.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

config=include/llmcache/config.hpp
single=single_include/llmcache/llmcache.hpp

# header_version FILE -> "major.minor.patch" from its #define LLMCACHE_VERSION_* lines
header_version() {
    local part value version=""
    for part in MAJOR MINOR PATCH; do
        value=$(sed -nE "s/^[[:space:]]*#[[:space:]]*define[[:space:]]+LLMCACHE_VERSION_${part}[[:space:]]+([0-9]+)[[:space:]]*$/\1/p" "$1" | head -n 1)
        if [[ -z $value ]]; then
            echo "check_version: no '#define LLMCACHE_VERSION_${part} <number>' in $1" >&2
            return 1
        fi
        version+=${version:+.}$value
    done
    echo "$version"
}

if [[ ! -f $config ]]; then
    echo "check_version: $config not found" >&2
    exit 1
fi
expected=$(header_version "$config")
cmake_version=$(sed -nE '/^[[:space:]]*project[[:space:]]*\(/,/\)/ s/.*VERSION[[:space:]]+([0-9][0-9.]*).*/\1/p' CMakeLists.txt | head -n 1)
meson_version=$(sed -nE "/^project[[:space:]]*\(/,/\)/ s/.*version[[:space:]]*:[[:space:]]*'([^']*)'.*/\1/p" meson.build | head -n 1)

status=0
check() { # check WHAT VERSION
    if [[ $2 == "$expected" ]]; then
        echo "check_version: $1: $2"
    else
        echo "check_version: $1 says '${2:-<none found>}', but $config says $expected" >&2
        status=1
    fi
}
check "$config" "$expected"
check "CMakeLists.txt project(VERSION)" "$cmake_version"
check "meson.build project(version:)" "$meson_version"
if [[ -f $single ]]; then
    check "$single" "$(header_version "$single" || true)"
fi
exit "$status"
