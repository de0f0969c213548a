"""Run the differential corpus by hand: `python -m tests.differential.run [--data KIND ...] [--case SUBSTRING]`.

Prints one line per case and data set that is not `same`, then a count per verdict. The pytest suite
(`test_differential.py`) runs the same cases and compares the verdicts with `verdicts.txt`.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

from tests.differential.corpus import load
from tests.differential.datasets import KINDS, dataset
from tests.differential.harness import run_case
from tests.differential.heddle_side import Project
from tests.differential.reference import Database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", action="append", choices=KINDS, help="data sets (default: all)")
    parser.add_argument("--case", help="only cases whose id contains this")
    parser.add_argument("--all", action="store_true", help="print every verdict, `same` included")
    args = parser.parse_args(argv)
    cases = [c for c in load() if args.case is None or args.case in c.id]
    counts: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for kind in args.data or KINDS:
            tables = dataset(kind)
            project = Project(Path(folder) / kind, tables)
            database = Database(tables)
            for case in cases:
                verdict, _, _ = run_case(project, database, case.query)
                counts[verdict.kind] += 1
                if args.all or verdict.kind != "same":
                    print(f"{kind:9} {case.id:40} {verdict}", flush=True)
    print(f"{sum(counts.values())} runs in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
