"""Parsing benchmark: full parse, incremental reparse, lowering and checking of generated Heddle.

Run as `python bench/parse.py` (or `python -m bench.parse`). It generates programs of 1,000 and
10,000 lines with `bench.generate`, times each operation several times and prints the median and the
minimum, with ratios against the full parse measured in the same run. It prints; it asserts nothing.

What each row times:
  full parse            `parse(text)`: UTF-8 encoding, tree-sitter, the line index.
  tree-sitter parse     `Parser.parse(data)` on bytes already encoded, nothing else.
  incremental reparse   `SyntaxTree.edit(...)` of one character in the middle of the file: the new
                        bytes, the declarations around the edit parsed in a window (`syntax/toplevel.py`;
                        the whole tree is parsed when first asked for, which this row does not), the edit
                        described to tree-sitter (byte offsets and points) and the line index.
  tree-sitter reparse   `Tree.copy()`, `Tree.edit(...)` with exact offsets and points, and
                        `Parser.parse(new_data, old_tree)`, nothing else.
  lowering              `tree.ast` on a fresh `SyntaxTree` (not cached).
  check                 `check_tree(tree)` on a fresh `SyntaxTree`: syntax diagnostics (which lower
                        the AST again for the structural rules) and layout diagnostics.

Targets, printed as met or not met: a full parse under 30 ms at 10,000 lines; an incremental reparse (one
edit, or each keystroke of a burst) under 10% of a full parse at 10,000 lines, and under 1 ms at 1,000
lines. At 1,000 lines a ratio is no target: a full parse takes about 1.4 ms there, and tree-sitter's own
reparse alone (`tree-sitter reparse`) costs about 16% of it, so no reparse could meet 10%. `tree-sitter
reparse` is the library's figure, a reference without a target.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tree_sitter as ts

from heddle_lang.check import check_tree
from heddle_lang.syntax.tree import LANGUAGE, SyntaxTree, parse

try:
    from bench.generate import generate
except ModuleNotFoundError:  # run as `python bench/parse.py`: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.generate import generate

SIZES = (1_000, 10_000)
TARGET_FULL_10K_MS = 30.0
TARGET_INCREMENTAL_RATIO = 0.10  # of a full parse, from RATIO_FROM_LINES lines on
RATIO_FROM_LINES = 10_000
TARGET_INCREMENTAL_SMALL_MS = 1.0  # below RATIO_FROM_LINES lines


@dataclass(frozen=True)
class Timing:
    median_ns: float
    min_ns: int

    @property
    def median_ms(self) -> float:
        return self.median_ns / 1e6

    @property
    def min_ms(self) -> float:
        return self.min_ns / 1e6


@dataclass(frozen=True)
class Case:
    """One operation to time: `run` on the clock, `setup` (if any) before it, off the clock."""

    run: Callable[[], object]
    setup: Callable[[], object] | None = None


def measure(cases: dict[str, Case], repeat: int) -> dict[str, Timing]:
    """Time every case `repeat` times, after one warm-up round, the garbage collector off while it runs.

    Rounds are interleaved (each round runs every case once) so that a slow spell of the machine
    falls on all cases alike and the ratios between them stay meaningful. What `run` returns is
    freed off the clock: freeing a tree is not parsing it.
    """
    samples: dict[str, list[int]] = {label: [] for label in cases}
    for round_ in range(repeat + 1):
        for label, case in cases.items():
            if case.setup is not None:
                case.setup()
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter_ns()
                result = case.run()
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            del result
            if round_:
                samples[label].append(elapsed)
    return {label: Timing(statistics.median(s), min(s)) for label, s in samples.items()}


def point(data: bytes, offset: int) -> tuple[int, int]:
    """Tree-sitter's point for a byte offset: (row, byte column)."""
    row = data.count(b"\n", 0, offset)
    return row, offset - (data.rfind(b"\n", 0, offset) + 1)


@dataclass(frozen=True)
class Edit:
    """A one-character insertion in the middle of a document, with everything tree-sitter needs."""

    offset: int
    inserted: bytes
    old_data: bytes
    new_data: bytes

    @classmethod
    def middle_of(cls, data: bytes, inserted: bytes = b"x") -> Edit:
        """Insert before the first `_` (inside a name) at or after the middle of the document."""
        offset = data.index(b"_", len(data) // 2)
        return cls(offset, inserted, data, data[:offset] + inserted + data[offset:])

    @property
    def new_end(self) -> int:
        return self.offset + len(self.inserted)

    def apply(self, tree: ts.Tree) -> None:
        start = point(self.old_data, self.offset)
        tree.edit(
            start_byte=self.offset,
            old_end_byte=self.offset,
            new_end_byte=self.new_end,
            start_point=start,
            old_end_point=start,
            new_end_point=point(self.new_data, self.new_end),
        )

    def describe(self) -> str:
        row, column = point(self.old_data, self.offset)
        line_start = self.old_data.rfind(b"\n", 0, self.offset) + 1
        line_end = self.old_data.find(b"\n", self.offset)
        line = self.old_data[line_start:line_end].decode()
        shown = line[:column] + "[" + self.inserted.decode() + "]" + line[column:]
        where = f"at byte {self.offset} (line {row + 1}, byte column {column})"
        return f"insert {self.inserted.decode()!r} {where}: {shown.strip()}"


def bench_size(lines: int, repeat: int) -> tuple[dict[str, Timing], list[str]]:
    """The timings for a generated program of `lines` lines, and notes on what was measured."""
    text = generate(lines)
    data = text.encode("utf-8")
    notes: list[str] = []
    tree = parse(text)
    problems = check_tree(tree)
    notes.append(f"{lines:>6} lines: {len(data):,} bytes, {len(text):,} characters, "
                 f"{len(tree.ast.declarations):,} declarations, {len(problems)} diagnostics")

    parser = ts.Parser(LANGUAGE)
    edit = Edit.middle_of(data)
    notes.append(f"{lines:>6} lines: edit = {edit.describe()}")

    # The incremental results must be the fresh ones, or their timings mean nothing.
    inserted = edit.inserted.decode()
    after = tree.edit(edit.offset, edit.offset, inserted)
    fresh = parse(edit.new_data.decode())
    old = tree.cst.copy()
    edit.apply(old)
    ts_after = parser.parse(edit.new_data, old)
    same = str(after.root) == str(fresh.root) == str(ts_after.root_node)
    notes.append(f"{lines:>6} lines: incremental trees equal to a fresh parse: {'yes' if same else 'NO'}")

    def ts_reparse() -> ts.Tree:
        old = tree.cst.copy()
        edit.apply(old)
        return parser.parse(edit.new_data, old)

    wrappers: list[SyntaxTree] = []

    def fresh_wrapper() -> None:
        wrappers[:] = [SyntaxTree(tree.data, tree.cst)]

    timings = measure(
        {
            "full parse": Case(lambda: parse(text)),
            "tree-sitter parse": Case(lambda: parser.parse(data)),
            "incremental reparse": Case(lambda: tree.edit(edit.offset, edit.offset, inserted)),
            "tree-sitter reparse": Case(ts_reparse),
            "lowering (tree.ast)": Case(lambda: wrappers[0].ast, setup=fresh_wrapper),
            "check_tree": Case(lambda: check_tree(wrappers[0]), setup=fresh_wrapper),
        },
        repeat,
    )
    timings["incremental, typing"], same = typing_burst(tree, edit.offset, repeat)
    notes.append(f"{lines:>6} lines: {repeat} keystrokes typed at byte {edit.offset}, each reparsed incrementally "
                 f"on the previous tree; final tree equal to a fresh parse: {'yes' if same else 'NO'}")
    return timings, notes


def typing_burst(tree: SyntaxTree, offset: int, keystrokes: int) -> tuple[Timing, bool]:
    """An editor's case: successive one-character insertions, each reparsed on the tree just made."""
    samples = []
    current = tree
    gc.collect()
    gc.disable()
    try:
        for i in range(keystrokes + 1):
            start = time.perf_counter_ns()
            current = current.edit(offset + i, offset + i, "x")
            elapsed = time.perf_counter_ns() - start
            if i:
                samples.append(elapsed)
    finally:
        gc.enable()
    same = str(current.root) == str(parse(current.text).root)
    return Timing(statistics.median(samples), min(samples)), same


BASELINES = {
    "full parse": "full parse",
    "tree-sitter parse": "full parse",
    "incremental reparse": "full parse",
    "incremental, typing": "full parse",
    "tree-sitter reparse": "tree-sitter parse",
    "lowering (tree.ast)": "full parse",
    "check_tree": "full parse",
}


def target(label: str, results: dict[int, dict[str, Timing]]) -> str:
    big = max(results)
    if label == "full parse":
        ms = results[big][label].median_ms
        return f"< {TARGET_FULL_10K_MS:.0f} ms at {big:,} lines: {'met' if ms < TARGET_FULL_10K_MS else 'NOT met'}"
    if label in ("incremental reparse", "incremental, typing"):
        base = BASELINES[label]
        verdicts = []
        for n, timings in sorted(results.items()):
            if n >= RATIO_FROM_LINES:
                ratio = timings[label].median_ns / timings[base].median_ns
                verdicts.append(f"< {TARGET_INCREMENTAL_RATIO:.0%} of {base} at {n:,}: "
                                f"{'met' if ratio < TARGET_INCREMENTAL_RATIO else 'NOT met'}")
            else:
                ms = timings[label].median_ms
                verdicts.append(f"< {TARGET_INCREMENTAL_SMALL_MS:g} ms at {n:,}: "
                                f"{'met' if ms < TARGET_INCREMENTAL_SMALL_MS else 'NOT met'}")
        return "; ".join(verdicts)
    return ""


def table(results: dict[int, dict[str, Timing]]) -> str:
    sizes = sorted(results)
    head = ["", *[f"{n:,} lines: median   min     ratio" for n in sizes], "target"]
    rows = [head]
    for label, baseline in BASELINES.items():
        cells = [label]
        for n in sizes:
            t = results[n][label]
            ratio = t.median_ns / results[n][baseline].median_ns
            ratio_text = "1" if label == baseline else f"{ratio:.3f}"
            cells.append(f"{t.median_ms:>9.3f} ms {t.min_ms:>9.3f} ms {ratio_text:>7}")
        cells.append(target(label, results))
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--repeat", type=int, default=21, help="timed runs per measurement (default 21)")
    options = arguments.parse_args(argv)
    print(f"Python {sys.version.split()[0]}, tree-sitter {ts.__version__ if hasattr(ts, '__version__') else '?'},"
          f" {options.repeat} runs per figure (median and min), ratios of medians")
    results: dict[int, dict[str, Timing]] = {}
    all_notes: list[str] = []
    for lines in SIZES:
        timings, notes = bench_size(lines, options.repeat)
        results[lines] = timings
        all_notes += notes
    print()
    print("\n".join(all_notes))
    print()
    print(table(results))
    print()
    print("ratio: against `full parse`, except `tree-sitter reparse` against `tree-sitter parse`.")
    print("`incremental reparse` and `tree-sitter reparse` run between full parses (cold caches); `incremental,")
    print("typing` is a burst of keystrokes, each reparsing the tree the previous one made, as in an editor.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
