#!/usr/bin/env bash
# Check that every .hpp/.cpp under include/ tests/ bench/ examples/ is formatted per .clang-format.
#   tools/check_format.sh          report files that clang-format would change; exit 1 if any
#   tools/check_format.sh --fix    reformat them in place
# CLANG_FORMAT picks the binary (default: clang-format, Debian 12 ships 14). The generated
# single_include/ is not checked: it is made of the checked headers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
    echo "check_format: $clang_format not found (Debian/Ubuntu: apt-get install clang-format)" >&2
    exit 1
fi

mapfile -t files < <(find include tests bench examples -type f \( -name '*.hpp' -o -name '*.cpp' \) 2>/dev/null | LC_ALL=C sort)
if [[ ${#files[@]} -eq 0 ]]; then
    echo "check_format: no .hpp/.cpp files found"
    exit 0
fi

if [[ ${1:-} == --fix ]]; then
    "$clang_format" -i "${files[@]}"
    echo "check_format: formatted ${#files[@]} files with $("$clang_format" --version)"
    exit 0
fi

if ! "$clang_format" --dry-run --Werror "${files[@]}"; then
    echo "check_format: the files above are not formatted; run tools/check_format.sh --fix" >&2
    exit 1
fi
echo "check_format: ${#files[@]} files clean ($("$clang_format" --version))"
