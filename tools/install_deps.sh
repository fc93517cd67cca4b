#!/usr/bin/env bash
# Installs the Debian packages llmcache needs for one job, if any are missing.
#
#   tools/install_deps.sh demo    what ./run_demo.sh needs
#   tools/install_deps.sh test    what ./test.sh needs (compilers, libraries, test servers)
#
# As root (or with password-less sudo) it runs apt-get update and apt-get install for the missing
# packages only; otherwise it prints the command to run and fails. On a system without dpkg it
# does nothing: the callers' own checks then name what is missing.
set -euo pipefail

case "${1:-}" in
demo) packages=(g++ cmake ninja-build pkg-config libxxhash-dev libssl-dev libhiredis-dev libcurl4-openssl-dev libsimdjson-dev redis-server) ;;
test)
    packages=(g++ clang cmake ninja-build python3 pkg-config libxxhash-dev libssl-dev libhiredis-dev
        libcurl4-openssl-dev libsimdjson-dev libhnswlib-dev catch2 libbenchmark-dev redis-server redis-sentinel redis-tools openssl)
    ;;
*)
    echo "usage: tools/install_deps.sh demo|test" >&2
    exit 2
    ;;
esac

command -v dpkg-query >/dev/null 2>&1 || exit 0

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "llmcache: missing Debian packages; install them with:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
echo "llmcache: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
