#!/usr/bin/env bash
# Meson does not glob, so meson.build lists the test sources by hand while CMake globs
# tests/test_*.cpp. Fail when the two disagree: a test file meson.build does not list, or a listed
# file that does not exist.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
shopt -s nullglob
for file in tests/test_*.cpp; do
    if ! grep -qF "'$file'" meson.build; then
        echo "check_meson_tests: $file is not listed in meson.build (llmcache_test_sources)" >&2
        status=1
    fi
done
while read -r listed; do
    if [[ ! -f $listed ]]; then
        echo "check_meson_tests: meson.build lists $listed, which does not exist" >&2
        status=1
    fi
done < <(grep -oE "'tests/test_[^']*\.cpp'" meson.build | tr -d "'")

if [[ $status -eq 0 ]]; then
    echo "check_meson_tests: meson.build lists every tests/test_*.cpp"
fi
exit "$status"
