"""Plugin sources read statically vs imported by the plugin process, on `examples/plugins/*.py`.

Run as `python bench/plugin_source.py` (or `python -m bench.plugin_source`). It prints the median and the
minimum of several runs, with ratios against the plugin process's load measured in the same run. It prints;
it asserts nothing.

What each row times:
  worker load (cold)    a new `PluginProcess` for `examples/`, asked to load every plugin of the project:
                        the process start, its imports (Polars, the SDK), each plugin imported and its
                        spec sent back as data. What the editor pays once per project (and after a `.py` edit).
  worker load (warm)    the same questions asked again of a fresh catalog on the running process: the
                        specs are cached there, so this is the round trip and the decoding.
  static read           `read_plugin_file` of each plugin file (parso) and `module_spec_from_source`.
  located lookup        `EngineCatalog.module` of every plugin on a warm editor catalog: the stat of each
                        file that decides whether its source must be read again.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from heddle_engine.catalog import EngineCatalog
from heddle_engine.loading import find_module_file
from heddle_engine.plugin_process import PluginProcess
from heddle_engine.plugin_source import read_plugin_file
from heddle_engine.project import read_project
from heddle_engine.source_spec import module_spec_from_source

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    project = read_project(EXAMPLES)
    user = {path: target for path, target in project.modules.items() if ":" in target or "/" not in target}
    files = {path: find_module_file(target.partition(":")[0], [EXAMPLES]) for path, target in user.items()}

    def cold() -> None:
        process = PluginProcess(EXAMPLES)
        try:
            for path in user:
                process.load(path)
        finally:
            process.close()

    warm_process = PluginProcess(EXAMPLES)

    def warm() -> None:
        for path in user:
            warm_process.load(path)

    def static() -> None:
        for path, file in files.items():
            if file is not None:
                source = read_plugin_file(file, user[path].partition(":")[2])
                if source is not None:
                    module_spec_from_source(source, path, "bench")

    editor = EngineCatalog(project, plugins=warm_process)

    def lookup() -> None:
        for path in user:
            editor.module(path)

    try:
        warm()  # the process started and every plugin cached there
        lookup()
        rows = [("worker load (cold)", timed(cold, args.runs)), ("worker load (warm)", timed(warm, args.runs)),
                ("static read", timed(static, args.runs)), ("located lookup", timed(lookup, args.runs))]
    finally:
        warm_process.close()
    baseline = statistics.median(rows[0][1])
    print(f"{len(user)} plugin modules of examples/ ({', '.join(sorted(user))}), {args.runs} runs each")
    print(f"{'':22} {'median':>12} {'min':>12} {'vs cold load':>14}")
    for label, times in rows:
        median = statistics.median(times)
        print(f"{label:22} {median * 1000:10.2f}ms {min(times) * 1000:10.2f}ms {median / baseline:13.4f}x")


if __name__ == "__main__":
    main()
