#!/usr/bin/env bash
# Policies are concepts and small structs, never virtual bases: fail if the keyword `virtual`
# appears in include/ outside comments and string literals.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

python3 - include <<'PY'
import re
import sys
from pathlib import Path

# Comments become spaces and literals become "" so that only code is searched; newlines are kept,
# so line numbers stay right. Raw strings R"d(...)d" are handled too.
TOKEN = re.compile(
    r'//[^\n]*'
    r'|/\*.*?\*/'
    r'|(?:u8|u|U|L)?R"(?P<delim>[^()\\\s]{0,16})\(.*?\)(?P=delim)"'
    r'|(?:u8|u|U|L)?"(?:\\.|[^"\\\n])*"'
    r"|(?<![\w'])(?:u8|u|U|L)?'(?:\\.|[^'\\\n])+'",
    re.S,
)

def blank(match):
    text = match.group(0)
    keep_lines = "\n" * text.count("\n")
    return (" " if text.startswith("/") else '""') + keep_lines

found = 0
for path in sorted(Path(sys.argv[1]).rglob("*")):
    if path.suffix not in (".hpp", ".h", ".ipp", ".inl") or not path.is_file():
        continue
    code = TOKEN.sub(blank, path.read_text(encoding="utf-8"))
    for number, line in enumerate(code.splitlines(), 1):
        if re.search(r"\bvirtual\b", line):
            original = path.read_text(encoding="utf-8").splitlines()[number - 1].strip()
            print(f"{path}:{number}: 'virtual' in a public header: {original}", file=sys.stderr)
            found += 1
if found:
    print(f"check_no_virtual: {found} use(s) of 'virtual'; express policies as concepts instead", file=sys.stderr)
    sys.exit(1)
print("check_no_virtual: no 'virtual' in include/")
PY
