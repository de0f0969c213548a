"""Analysis of a generated 10,000-line file, against the parse time of the same file (same run).

    python bench/check.py [--lines 10000] [--repeat 7]

Prints medians and minimums, and ratios to the full parse:
- analysis, cold: nothing cached (every relational block compiled by prqlc and planned on Polars, every
  inference hook run, e.g. every SQL query parsed);
- analysis, warm: the same text again — relational blocks come from the cache keyed by
  (block text, input schemas), which is what an editor sees on every keystroke;
- analysis after a one-character edit (warm), the language server's case.
Target: under 300 ms for 10,000 lines, warm and after an edit. The cold analysis has no target here: it is
what a first `heddle check` pays (prqlc for every distinct block), which a persistent cache takes away.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generate import generate  # noqa: E402
from heddle.process import tune_gc  # noqa: E402
from heddle_engine.catalog import load_catalog  # noqa: E402
from heddle_lang.relational import cache_clear, cache_info  # noqa: E402
from heddle_lang.semantic import analyze  # noqa: E402
from heddle_lang.semantic.inference import cache_clear as inference_cache_clear  # noqa: E402
from heddle_lang.syntax import parse  # noqa: E402


def measure(action: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None) -> list[float]:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter_ns()
        action()
        times.append((time.perf_counter_ns() - start) / 1e6)
    return times


def clear() -> None:
    """Forget every cached relational block and inference result."""
    cache_clear()
    inference_cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    tune_gc()  # as the `heddle` command and the language server run

    text = generate(args.lines)
    catalog = load_catalog(ROOT / "examples")
    middle = text.index("\n", len(text) // 2)
    edited = text[:middle] + " " + text[middle:]
    analysis = analyze(parse(text), catalog)
    errors = sum(d.is_error for d in analysis.diagnostics)
    print(f"{args.lines} lines, {len(text.encode()):,} bytes; {len(analysis.plan.graphs)} graphs, "
          f"{sum(len(g.nodes) for g in analysis.plan.graphs)} plan nodes, {len(analysis.diagnostics)} diagnostics "
          f"({errors} errors)")

    rows = {
        "parse (baseline)": measure(lambda: parse(text), args.repeat),
        "analysis, cold": measure(lambda: analyze(parse(text), catalog), max(3, args.repeat // 2), setup=clear),
        "analysis, warm": measure(lambda: analyze(parse(text), catalog), args.repeat),
        "analysis after an edit": measure(lambda: analyze(parse(edited), catalog), args.repeat),
    }
    base = statistics.median(rows["parse (baseline)"])
    print(f"\n{'':26}{'median':>12}{'min':>12}{'ratio':>10}   target")
    for name, times in rows.items():
        median = statistics.median(times)
        target = ""
        if name in ("analysis, warm", "analysis after an edit"):
            target = "< 300 ms: " + ("met" if median < 300 else "NOT met")
        print(f"{name:26}{median:10.1f} ms{min(times):9.1f} ms{median / base:10.2f}   {target}")
    info = cache_info()
    print(f"\nrelational cache: {info}")


if __name__ == "__main__":
    main()
