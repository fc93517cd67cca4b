#!/usr/bin/env python3
"""Build the single-header edition of llmcache from the multi-header tree.

    python3 tools/amalgamate.py                  write single_include/llmcache/llmcache.hpp
    python3 tools/amalgamate.py --output PATH    write PATH instead
    python3 tools/amalgamate.py --check          exit 1 (with a diff) if the committed file is stale;
                                                 with --output, the fresh copy is also written there

Settings come from tools/amalgamate.json (--config to use another file); paths in it are relative
to the repository root, the parent of this script's directory (--root to override).

Starting at the "source" header, every #include that names a project header (a quoted include
found relative to the including file or an include path, or <prefix/...> found in an include path)
is replaced by that header's text between `// begin of file: <path>` and `// end of file: <path>`
markers, the first time it is seen; later includes of the same header are dropped. Other includes
(standard, xxhash.h, OpenSSL, an optional <llmcache/user_config.hpp> hook that is not in the tree)
are kept verbatim. `#pragma once` is dropped from inlined headers. An include inside an #if block is
inlined in place, so the block keeps its meaning. Because a header's text appears only once, the
tool refuses a header that is first inlined inside a conditional block and included again outside
that block: the single header would lose it whenever the first condition is false.

Standard library only; the output depends only on the input files, never on time or environment.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
IF_RE = re.compile(r"^\s*#\s*(if|ifdef|ifndef)\b")
IFNDEF_RE = re.compile(r"^\s*#\s*ifndef\s+(\w+)\s*$")
DEFINE_RE = re.compile(r"^\s*#\s*define\s+(\w+)\s*$")
BRANCH_RE = re.compile(r"^\s*#\s*(elif|elifdef|elifndef|else)\b")
ENDIF_RE = re.compile(r"^\s*#\s*endif\b")
PRAGMA_ONCE_RE = re.compile(r"^\s*#\s*pragma\s+once\b")
RAW_STRING_RE = re.compile(r'(?:u8|u|U|L)?R"([^()\\\s]{0,16})\(')


class AmalgamateError(Exception):
    pass


def strip_comments(line: str, pending: str | None) -> tuple[str, str | None]:
    """Return (code, pending): `line` without comments, and the terminator still awaited at its end.

    `pending` is None outside comments, "*/" inside a block comment, or ')delim"' inside a raw
    string literal that started on an earlier line. String and character literals are kept.
    """
    out = []
    i, n = 0, len(line)
    while i < n:
        if pending is not None:
            end = line.find(pending, i)
            if end < 0:
                if pending != "*/":
                    out.append(line[i:])
                return "".join(out), pending
            if pending != "*/":
                out.append(line[i : end + len(pending)])
            else:
                out.append(" ")
            i = end + len(pending)
            pending = None
            continue
        c = line[i]
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            pending = "*/"
            i += 2
            continue
        raw = RAW_STRING_RE.match(line, i)
        if raw and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == "_")):
            out.append(line[i : raw.end()])
            pending = ")" + raw.group(1) + '"'
            i = raw.end()
            continue
        if c == '"' or (c == "'" and not _is_digit_separator(line, i)):
            j = i + 1
            while j < n and line[j] != c:
                j += 2 if line[j] == "\\" else 1
            out.append(line[i : j + 1])
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), pending


def _is_digit_separator(line: str, i: int) -> bool:
    """A ' inside a number (1'000'000) rather than the start of a character literal."""
    j = i
    while j > 0 and (line[j - 1].isalnum() or line[j - 1] in "_'."):
        j -= 1
    return j < i and line[j].isdigit()


@dataclass
class SourceFile:
    path: Path
    lines: list[str]
    code: list[str]  # the same lines without comments ("" inside comments)
    guard: tuple[int, int] | None  # line indexes of an include guard's #ifndef and its #endif


def load(path: Path) -> SourceFile:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    code, pending = [], None
    for line in lines:
        stripped, pending = strip_comments(line, pending)
        code.append(stripped)
    return SourceFile(path, lines, code, find_include_guard(code))


def find_include_guard(code: list[str]) -> tuple[int, int] | None:
    """Classic `#ifndef X / #define X ... #endif` wrapping the whole file, if there is one."""
    significant = [i for i, c in enumerate(code) if c.strip()]
    if len(significant) < 3:
        return None
    first, second, last = significant[0], significant[1], significant[-1]
    opening, define = IFNDEF_RE.match(code[first]), DEFINE_RE.match(code[second])
    if not (opening and define and opening.group(1) == define.group(1) and ENDIF_RE.match(code[last])):
        return None
    depth = 0
    for i in significant:
        if IF_RE.match(code[i]):
            depth += 1
        elif ENDIF_RE.match(code[i]):
            depth -= 1
            if depth == 0:
                return (first, last) if i == last else None
    return None


@dataclass
class Amalgamator:
    root: Path
    include_paths: list[Path]
    prefixes: list[str]
    out: list[str] = field(default_factory=list)
    # resolved header -> (conditional context of its first inclusion, where that was)
    inlined: dict[Path, tuple[tuple, str]] = field(default_factory=dict)
    # open #if blocks, outermost first: (file, line, branch number)
    conditions: list[tuple[str, int, int]] = field(default_factory=list)

    def display(self, path: Path) -> str:
        for base in self.include_paths:
            if path.is_relative_to(base):
                return path.relative_to(base).as_posix()
        return path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)

    def location(self, path: Path, index: int) -> str:
        shown = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        return f"{shown}:{index + 1}"

    def resolve(self, including: Path, delimiter: str, name: str) -> Path | None:
        if delimiter == "<" and not any(name.startswith(p) for p in self.prefixes):
            return None
        candidates = [including.parent / name] if delimiter == '"' else []
        candidates += [base / name for base in self.include_paths]
        for candidate in candidates:
            if candidate.is_file():
                resolved = candidate.resolve()
                if any(resolved.is_relative_to(base) for base in self.include_paths):
                    return resolved
        return None

    def run(self, source: Path, banner: list[str]) -> str:
        self.out.extend(banner)
        self.inlined[source] = ((), "the source header")
        self.emit(load(source), is_root=True)
        return "\n".join(self.out) + "\n"

    def emit(self, source: SourceFile, is_root: bool) -> None:
        depth_at_entry = len(self.conditions)
        guard = source.guard or (-1, -1)
        for index, (line, code) in enumerate(zip(source.lines, source.code)):
            if index in guard:  # include guards stay, but are not conditions that matter here
                self.out.append(line)
                continue
            if IF_RE.match(code):
                self.conditions.append((self.location(source.path, index), 0))
            elif BRANCH_RE.match(code):
                if len(self.conditions) <= depth_at_entry:
                    raise AmalgamateError(f"{self.location(source.path, index)}: #else/#elif without #if")
                where, branch = self.conditions[-1]
                self.conditions[-1] = (where, branch + 1)
            elif ENDIF_RE.match(code):
                if len(self.conditions) <= depth_at_entry:
                    raise AmalgamateError(f"{self.location(source.path, index)}: #endif without #if")
                self.conditions.pop()
            elif PRAGMA_ONCE_RE.match(code) and not is_root:
                continue
            else:
                include = INCLUDE_RE.match(code)
                header = include and self.resolve(source.path, include.group(1), include.group(2))
                if header:
                    self.include(header, self.location(source.path, index))
                    continue
            self.out.append(line)
        if len(self.conditions) != depth_at_entry:
            raise AmalgamateError(f"{self.location(source.path, len(source.lines) - 1)}: unterminated #if")

    def include(self, header: Path, where: str) -> None:
        context = tuple(self.conditions)
        if header in self.inlined:
            first_context, first_where = self.inlined[header]
            if context[: len(first_context)] != first_context:
                raise AmalgamateError(
                    f"{where}: {self.display(header)} is included here, but its only copy in the single "
                    f"header is inside the conditional block(s) opened at "
                    f"{', '.join(c[0] for c in first_context)} (first included at {first_where}); include "
                    f"it unconditionally before that block, e.g. from the umbrella header"
                )
            return
        self.inlined[header] = (context, where)
        name = self.display(header)
        self.out.append(f"// begin of file: {name}")
        self.emit(load(header), is_root=False)
        self.out.append(f"// end of file: {name}")


def main(argv: list[str]) -> int:
    tools_dir = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=tools_dir / "amalgamate.json")
    parser.add_argument("--root", type=Path, default=tools_dir.parent, help="repository root")
    parser.add_argument("--output", type=Path, help="write the single header here (default: config target)")
    parser.add_argument("--check", action="store_true", help="fail if the committed single header is stale")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    config = json.loads(args.config.read_text(encoding="utf-8"))
    source = (root / config["source"]).resolve()
    target = root / config["target"]
    amalgamator = Amalgamator(
        root=root,
        include_paths=[(root / p).resolve() for p in config["include_paths"]],
        prefixes=config.get("project_prefixes", []),
    )
    try:
        if not source.is_file():
            raise AmalgamateError(f"source header {source} does not exist")
        text = amalgamator.run(source, config.get("banner", []))
    except AmalgamateError as error:
        print(f"amalgamate.py: error: {error}", file=sys.stderr)
        return 2

    for base in amalgamator.include_paths:
        unreached = sorted(p for p in base.rglob("*.hpp") if p.resolve() not in amalgamator.inlined)
        if unreached:
            names = ", ".join(amalgamator.display(p.resolve()) for p in unreached)
            print(f"amalgamate.py: note: not reachable from {config['source']}, so not in the single header: "
                  f"{names}", file=sys.stderr)

    if args.output or not args.check:
        output = args.output or target
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
    if not args.check:
        return 0

    committed = target.read_text(encoding="utf-8") if target.is_file() else ""
    if committed == text:
        print(f"amalgamate.py: {config['target']} is up to date")
        return 0
    shown = config["target"]
    diff = list(difflib.unified_diff(committed.splitlines(), text.splitlines(), f"{shown} (committed)",
                                     f"{shown} (regenerated)", lineterm="", n=2))
    print("\n".join(diff[:60]) + ("\n..." if len(diff) > 60 else ""))
    print(f"amalgamate.py: {shown} is stale (or missing); regenerate it with `python3 tools/amalgamate.py` "
          f"and commit it", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
