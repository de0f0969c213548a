"""Time per byte of one very long line, across sizes: flat means linear in the input.

    python bench/long_lines.py [--sizes 25000,100000,400000] [--repeat 3] [--shapes junk,pipes,...] [--gc off]

Each shape is a program with one long line of short tokens (a file a generator wrote, a minified file,
a paste gone wrong):
  junk      `x x x ...` inside a workflow: a pipeline per token, each reported (HE2009)
  pipes     `io.print | io.print | ...`: a stage per token, each reported (HE2005)
  config    `io.print { a0: 1, a1: 1, ... }`
  rows      an inline dataframe `[{ a: 0 }, { a: 1 }, ...]`
  prql      a relational block `(from input derive {b0 = a, b1 = a, ...})` of many columns
  wide      `io.print { k0: "é", k1: "ü", k2: "日", k3: "🚀", ... x }`: characters of 2, 3 and 4 UTF-8 bytes
            and a diagnostic at the end of the line (column conversions)
  comments  `/* c */ /* c */ ...` after a stage
For each size it times: `check` (parse, syntax and layout diagnostics); `analyze` (the whole checker,
relational blocks compiled afresh); `fmt` (formatting, or its refusal); the language server's conversions
(every diagnostic's range, the semantic tokens, selection ranges at 20 places and folding ranges, in
UTF-16); and `heddle fmt`'s reading of the same text with CRLF line breaks. Printed: µs per byte (median of
--repeat runs) and, per column, the ratio to the smallest size of the same shape (same run): 1.0 is linear;
a rescan per token shows as a ratio that grows with the size (x4 per x4 of input for a quadratic one).
--gc off (the default) runs each measured action with the cyclic garbage collector off, as the language
server analyses (`QuietCollector`), and collects between runs: the figures are the code's own. --gc tuned
leaves it on with the `heddle` command's thresholds: CPython's full collections then add a cost that grows
with the number of live objects (up to x3 at 400 KB here), which is not a rescan of the text.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from heddle.process import tune_gc  # noqa: E402
from heddle_engine.catalog import load_catalog  # noqa: E402
from heddle_lang.check import check_tree  # noqa: E402
from heddle_lang.formatter import format_tree  # noqa: E402
from heddle_lang.ide import ranges, tokens  # noqa: E402
from heddle_lang.relational import cache_clear  # noqa: E402
from heddle_lang.semantic import analyze  # noqa: E402
from heddle_lang.syntax import parse  # noqa: E402
from heddle_lang.text import Encoding  # noqa: E402
from heddle_lsp import convert  # noqa: E402

HEAD = 'import "std/io" io\n\nworkflow W {\n'


def _repeat(unit: Callable[[int], str], size: int, joiner: str) -> str:
    parts, total, i = [], 0, 0
    while total < size:
        part = unit(i)
        parts.append(part)
        total += len(part.encode()) + len(joiner)
        i += 1
    return joiner.join(parts)


SHAPES: dict[str, Callable[[int], str]] = {
    "junk": lambda n: HEAD + "  " + _repeat(lambda i: "x", n, " ") + "\n}\n",
    "pipes": lambda n: HEAD + "  [{ a: 1 }] | " + _repeat(lambda i: "io.print", n, " | ") + "\n}\n",
    "config": lambda n: HEAD + "  [{ a: 1 }]\n    | io.print { " + _repeat(lambda i: f"a{i}: 1", n, ", ") + " }\n}\n",
    "rows": lambda n: HEAD + "  [" + _repeat(lambda i: f"{{ a: {i} }}", n, ", ") + "]\n    | io.print\n}\n",
    "prql": lambda n: HEAD + "  [{ a: 1 }]\n    | (from input derive {" + _repeat(lambda i: f"b{i} = a", n, ", ")
    + "})\n    | io.print\n}\n",
    "wide": lambda n: HEAD + "  [{ a: 1 }]\n    | io.print { "
    + _repeat(lambda i: f'k{i}: "{"éü日🚀"[i % 4]}"', n, ", ") + ", x }\n}\n",
    "comments": lambda n: HEAD + "  [{ a: 1 }]\n    | io.print " + _repeat(lambda i: "/* c */", n, " ") + "\n}\n",
}


def _conversions(text: str, catalog: object) -> Callable[[], object]:
    analysis = analyze(parse(text), catalog)  # type: ignore[arg-type]
    lines = analysis.tree.lines
    size = len(analysis.tree.data)
    offsets = [size * k // 20 for k in range(20)]

    def run() -> object:
        fresh = type(lines)(lines.data)  # a snapshot's line index is built once per version
        out = [convert.lsp_range(fresh, d.span, Encoding.UTF16) for d in analysis.diagnostics]
        out.append(convert.lsp_tokens(fresh, tokens.semantic_tokens(analysis), Encoding.UTF16))
        out.extend(ranges.selection_ranges(analysis, offsets))
        out.extend(ranges.folding_ranges(analysis))
        return out

    return run


def _median(action: Callable[[], object], repeat: int, collector: str) -> float:
    times = []
    for _ in range(repeat):
        if collector == "off":
            gc.collect()
            gc.disable()
        try:
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000,100000,400000", help="line lengths in bytes (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes (comma-separated)")
    parser.add_argument("--gc", choices=("off", "tuned"), default="off",
                        help="the cyclic collector during each measured action (see above)")
    args = parser.parse_args()
    tune_gc()
    sizes = [int(s) for s in args.sizes.split(",")]
    catalog = load_catalog(ROOT / "examples")
    stages = ["check", "analyze", "fmt", "lsp conversions", "CRLF read"]
    print(f"µs per byte, median of {args.repeat}, garbage collector {args.gc}; (xr): ratio to the smallest size of "
          "the shape (1.0 = linear)\n")
    print(f"{'shape':10}{'bytes':>10}" + "".join(f"{s:>22}" for s in stages))
    for shape in args.shapes.split(","):
        base: dict[str, float] = {}
        for size in sizes:
            text = SHAPES[shape](size)
            data_size = len(text.encode())
            crlf = text.replace("\n", "\r\n")
            actions: dict[str, Callable[[], object]] = {
                "check": lambda text=text: check_tree(parse(text)),
                "analyze": lambda text=text: (cache_clear(), analyze(parse(text), catalog)),
                "fmt": lambda text=text: format_tree(parse(text)),
                "lsp conversions": _conversions(text, catalog),
                "CRLF read": lambda crlf=crlf: format_tree(parse(crlf)),
            }
            row = f"{shape:10}{data_size:>10,}"
            for stage in stages:
                per_byte = _median(actions[stage], args.repeat, args.gc) / data_size * 1e6
                base.setdefault(stage, per_byte)
                row += f"{per_byte:>13.2f} (x{per_byte / base[stage]:.1f})".rjust(22)
            print(row, flush=True)


if __name__ == "__main__":
    main()
