"""Where prqlc overflows its stack, against the limits the checker enforces (`relational/limits.py`).

    python bench/relational_limits.py [--stacks 2,8] [--shapes chain,paren,group]

prqlc recurses on the native stack: past some size a block kills the process (SIGSEGV). For each shape
and each thread stack size this finds, by bisection, the smallest size that crashes prqlc (each attempt
compiles in a child process: `prql_to_pl`, `pl_to_rq`, `rq_to_sql`, on a thread of that stack size), and
prints it beside the checker's limit for that shape (`MAX_TRANSFORMS` or `MAX_DEPTH`) and the margin
(crash size / limit; above 1 the limit holds on that stack). Then it compiles a block at both limits at
once on each stack. Shapes:
  chain   `from input` then N transforms, one a line (the fault probe's crash: N = 900)
  paren   `derive b = ((( ... a ... )))`, N deep
  group   `group {a} (` nested N deep (each level a transform and a bracket)
Nothing is asserted; timings are not the point (a probe takes up to a few seconds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from heddle_lang.relational.limits import MAX_DEPTH, MAX_TRANSFORMS  # noqa: E402

SHAPES = {
    "chain": ('"from input\\n" + "filter a > 0\\n" * n', MAX_TRANSFORMS),
    "paren": ('"from input\\nderive b = " + "(" * n + "a" + ")" * n', MAX_DEPTH),
    "group": ('"from input\\n" + "group {a} (\\n" * n + "take 1\\n" + ")\\n" * n', MAX_DEPTH),
}
BOTH = ('"from input\\n" + "filter a > 0\\n" * t + "derive b = " + "(" * d + "a" + ")" * d', 0)

PROBE = """
import sys, threading, prqlc
n, t, d = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
text = {expression}
def compile():
    try:
        prqlc.rq_to_sql(prqlc.pl_to_rq(prqlc.prql_to_pl(text)))
    except Exception:
        pass  # an error is an answer: only a crash counts
threading.stack_size(int(sys.argv[4]) << 20)
thread = threading.Thread(target=compile)
thread.start()
thread.join()
"""


def survives(expression: str, n: int, stack_mb: int, t: int = 0, d: int = 0) -> bool:
    code = PROBE.format(expression=expression)
    result = subprocess.run([sys.executable, "-c", code, str(n), str(t), str(d), str(stack_mb)],
                            capture_output=True, timeout=600, check=False)
    return result.returncode == 0


def crash_size(expression: str, stack_mb: int, high: int = 8192) -> int | None:
    """The smallest N that crashes prqlc (within 1%), or None when `high` does not."""
    if survives(expression, high, stack_mb):
        return None
    low = 1
    while high - low > max(1, low // 100):
        middle = (low + high) // 2
        if survives(expression, middle, stack_mb):
            low = middle
        else:
            high = middle
    return high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stacks", default="2,8", help="thread stack sizes in MB (comma-separated)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="which shapes (comma-separated)")
    args = parser.parse_args()
    stacks = [int(s) for s in args.stacks.split(",")]
    print(f"limits: {MAX_TRANSFORMS} transforms, brackets {MAX_DEPTH} deep; margin = crash size / limit\n")
    print(f"{'shape':8}{'stack':>8}{'crashes at':>12}{'limit':>8}{'margin':>9}")
    for shape in args.shapes.split(","):
        expression, limit = SHAPES[shape]
        for stack in stacks:
            size = crash_size(expression, stack)
            shown = f"{size:>12}" if size is not None else f"{'> 8192':>12}"
            margin = f"{size / limit:>8.1f}x" if size is not None else f"{'':>9}"
            print(f"{shape:8}{stack:>6}MB{shown}{limit:>8}{margin}", flush=True)
    for stack in stacks:
        held = survives(BOTH[0], 0, stack, MAX_TRANSFORMS, MAX_DEPTH)
        print(f"\nboth limits at once ({MAX_TRANSFORMS} transforms, then brackets {MAX_DEPTH} deep) on {stack} MB: "
              f"{'compiles' if held else 'CRASHES'}", end="")
    print()


if __name__ == "__main__":
    main()
