#!/usr/bin/env bash
# Every public header compiles on its own (with every optional backend switched on), so a user can
# include just the part they need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cxx=${CXX:-g++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
count=0
while IFS= read -r header; do
    count=$((count + 1))
    printf '#include <%s>\n' "$header" >"$tmp/tu.cpp"
    if ! "$cxx" -std=c++20 -Iinclude -DLLMCACHE_WITH_OPENSSL=1 -DLLMCACHE_WITH_HIREDIS=1 -DLLMCACHE_WITH_CURL=1 -fsyntax-only \
        "$tmp/tu.cpp" 2>"$tmp/err"; then
        echo "check_headers: $header does not compile on its own:" >&2
        head -n 20 "$tmp/err" >&2
        failed=1
    fi
done < <(cd include && find llmcache -name '*.hpp' | sort)
[[ $failed -eq 0 ]] && echo "check_headers: all $count headers compile on their own"
exit $failed
