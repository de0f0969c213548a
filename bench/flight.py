"""Flight workers benchmark: an identity step over Arrow Flight against the same step in process.

Run as `python bench/flight.py` (`--help` lists the sizes, which default to the worker issue's). Each
placement runs in a fresh engine process (so peak memory is its own); it prints figures and ratios measured
in the same run and asserts nothing. Targets are printed beside them.

  throughput     `b.make { rows } | x.identity` on a `--megabytes` (default 1024) table of four Int64 columns:
                 the identity node's time through the executor (`run_workflow`), in process, in a Python
                 worker (`plugin.serve()`, started from heddle.toml) and in the Node SDK's worker. GB/s of
                 table = table size / node time; on the wire it is twice that (the table goes there and
                 back). Target ≥ 1 GB/s (Python). Each worker runs twice: `python`/`node` as an engine
                 runs it on this machine (the tables go as Arrow IPC files in a private folder,
                 `heddle/flight/shared.py`, `sdk/node/src/shared.ts`), `python-wire`/`node-wire` with that
                 switched off (HEDDLE_WORKER_FILES=0): every byte on loopback gRPC, as for a worker on
                 another machine.
  per call       `--calls` (default 200) calls of the identity step on a 1-row table through the remote
                 placement (`RemoteCallee.call_remote`), against calling the function in process.
                 Target ≤ 2 ms per call.
  peak memory    peak RSS of the engine process plus the worker's (VmHWM), over the table's size.
                 Target ≤ 2x.
  transport      the ceiling on this machine: a bare pyarrow.flight server that echoes what it reads
                 (DoExchange), called with the same table and the same 1-row table, in the same kind of
                 processes. Ratios: worker time / bare Flight time.

The Node worker needs `bash scripts/ci/node-sdk.sh` (it is skipped, and said so, when not built).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODE_EXAMPLE = ROOT / "sdk" / "node" / "dist" / "examples" / "score.js"
ROW_BYTES = 32  # four Int64 columns

PLUGIN = '''
import polars as pl

from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="benchflight")


class Wide(Table):
    a: int
    b: int
    c: int
    d: int


@plugin.step(name="make")
def make(config: dict) -> Wide:
    """A table of `rows` rows of four Int64 columns, made in place."""
    rows = int(config["rows"])
    return Wide.from_polars(pl.DataFrame([pl.int_range(0, rows, eager=True).alias(name) for name in "abcd"]))


@plugin.step(name="identity", passthrough=True)
def identity(config: dict, input: Table) -> Table:
    return input


if __name__ == "__main__":
    plugin.serve()
'''

ECHO = '''
import sys
from pyarrow import flight


class Echo(flight.FlightServerBase):
    def do_exchange(self, context, descriptor, reader, writer):
        table = reader.read_all()
        writer.begin(table.schema)
        for batch in table.to_batches(max_chunksize=65536):
            writer.write_batch(batch)


server = Echo("grpc://127.0.0.1:0")
print(server.port, flush=True)
server.serve()
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024, help="size of the table (default 1024: 1 GiB)")
    parser.add_argument("--calls", type=int, default=200, help="1-row calls for the per-call overhead")
    parser.add_argument("--rounds", type=int, default=3, help="runs of the identity workflow per placement")
    parser.add_argument("--child", choices=("local", "python", "python-wire", "node", "node-wire", "bare"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.megabytes, args.calls, args.rounds)))
        return
    report(args)


def report(args: argparse.Namespace) -> None:
    modes = ["bare", "local", "python", "python-wire"]
    if shutil.which("node") and NODE_EXAMPLE.is_file():
        modes += ["node", "node-wire"]
    table_bytes = args.megabytes * 1024 * 1024 // ROW_BYTES * ROW_BYTES
    results: dict[str, dict[str, Any]] = {}
    for mode in modes:
        done = subprocess.run([sys.executable, __file__, "--child", mode, "--megabytes", str(args.megabytes),
                               "--calls", str(args.calls), "--rounds", str(args.rounds)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"{mode}: failed\n{done.stderr[-2000:]}")
            return
        results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    gb = table_bytes / 1e9
    local, bare = results["local"], results.pop("bare")
    modes.remove("bare")
    ceiling = gb / bare["seconds"]
    print(f"bare pyarrow.flight echo (the transport's ceiling here): {ceiling:.2f} GB/s of table there and back "
          f"({2 * ceiling:.2f} GB/s on the wire), {bare['call_ms']:.3f} ms per 1-row call")
    print(f"identity step on a {table_bytes / 2**20:,.0f} MiB table ({table_bytes // ROW_BYTES:,} rows), "
          f"median of {args.rounds} runs per placement, each placement in a fresh engine process")
    print(f"  in process         {local['seconds'] * 1000:9.1f} ms")
    for mode in modes[1:]:
        found = results[mode]
        rate = gb / found["seconds"]
        print(f"  {mode + ' worker':<18} {found['seconds'] * 1000:9.1f} ms   {rate:5.2f} GB/s of table "
              f"({2 * rate:.2f} GB/s on the wire; target ≥ 1 GB/s)   bare Flight / worker time "
              f"{bare['seconds'] / found['seconds']:.2f}x")
    if "node" in results:
        files = results["python"]["seconds"] / results["node"]["seconds"]
        wire = results["python-wire"]["seconds"] / results["node-wire"]["seconds"]
        print(f"  Node worker throughput / Python worker's: {files:.2f}x with files, {wire:.2f}x on the wire")
    print(f"per call, 1-row table, median of {args.calls} calls")
    print(f"  in process         {local['call_ms']:9.3f} ms")
    for mode in modes[1:]:
        found = results[mode]
        overhead = found["call_ms"] - local["call_ms"]
        print(f"  {mode + ' worker':<18} {found['call_ms']:9.3f} ms   overhead {overhead:.3f} ms (target ≤ 2 ms), "
              f"bare Flight / worker {bare['call_ms'] / found['call_ms']:.2f}x")
    print("peak RSS (engine + worker) / table size")
    for mode in modes:
        found = results[mode]
        total = found["engine_peak"] + found["worker_peak"]
        engine, worker = found["engine_peak"] / 2**20, found["worker_peak"] / 2**20
        print(f"  {mode:<18} engine {engine:6.0f} MiB + worker {worker:6.0f} MiB = {total / table_bytes:.2f}x the "
              "table (target ≤ 2x)")


def child(mode: str, megabytes: int, calls: int, rounds: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    if mode == "bare":
        return bare(megabytes, calls, rounds)
    if mode.endswith("-wire"):
        from heddle_engine.workers.client import FILES_ENV

        os.environ[FILES_ENV] = "0"
    import pyarrow as pa

    from heddle_engine.catalog import load_catalog
    from heddle_engine.execute import run_workflow
    from heddle_engine.workers.remote import RemoteCallee
    from heddle_lang.semantic import analyze
    from heddle_lang.syntax import parse
    from tests.engine.running import NodeSeconds
    from tests.projects import plugin_project

    rows = megabytes * 1024 * 1024 // ROW_BYTES
    folder = Path(tempfile.mkdtemp(prefix="heddle-bench-flight-"))
    worker = {"local": '"benchflight:plugin"',
              "python": f'{{ command = ["{sys.executable}", "benchflight.py"] }}',
              "python-wire": f'{{ command = ["{sys.executable}", "benchflight.py"] }}',
              "node": f'{{ command = ["node", "{NODE_EXAMPLE}"] }}',
              "node-wire": f'{{ command = ["node", "{NODE_EXAMPLE}"] }}'}[mode]
    plugin_project(folder, "benchflight", PLUGIN, module="bench/local", others={"bench/x": worker})
    text = (f'import "bench/local" b\nimport "bench/x" x\n\nworkflow Identity {{\n  b.make {{ rows: {rows} }}\n'
            "    | x.identity\n}\n")
    catalog = load_catalog(folder / "flow.he")
    analysis = analyze(parse(text), catalog)
    assert not [d for d in analysis.diagnostics if d.is_error], analysis.diagnostics

    timing = NodeSeconds()  # the identity node's time
    for _ in range(rounds):
        result = run_workflow(analysis.plan, "Identity", catalog, file=str(folder / "flow.he"), parameters={},
                              observers=[timing])
        assert result.status == "succeeded", result.message
        del result

    from heddle_engine.execute.functions import Functions

    callee = Functions.of(catalog).step("bench/x", "identity")
    one = pa.table({"a": [1]})
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        if isinstance(callee, RemoteCallee):
            callee.call_remote({}, (), one, {}, run_id="bench", attempt=1)
        else:
            from heddle.core.table import Table

            callee.call(callee.build_config({}, {}), Table(one), {})
        samples.append(time.perf_counter() - started)
    worker_peak = 0
    workers = catalog.workers
    if workers is not None:
        endpoint = workers.endpoint("bench/x")
        assert endpoint.client().exchanges_files == (mode in ("python", "node")), "files were (not) exchanged"
        process = endpoint.process
        if process is not None and process.pid is not None:
            worker_peak = _peak_rss(process.pid)
    catalog.close()
    return {"seconds": statistics.median(timing.seconds["n2"]), "call_ms": statistics.median(samples) * 1000,
            "engine_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "worker_peak": worker_peak}


def bare(megabytes: int, calls: int, rounds: int) -> dict[str, Any]:
    """The same table and calls against a bare pyarrow.flight echo server in another process."""
    import polars as pl
    import pyarrow as pa
    from pyarrow import flight

    server = subprocess.Popen([sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    client = flight.connect(f"grpc://127.0.0.1:{port}")

    def echo(table: pa.Table) -> pa.Table:
        writer, reader = client.do_exchange(flight.FlightDescriptor.for_command(b"echo"))
        writer.begin(table.schema)
        for batch in table.to_batches(max_chunksize=65536):
            writer.write_batch(batch)
        writer.done_writing()
        answer = reader.read_all()
        writer.close()
        return answer

    rows = megabytes * 1024 * 1024 // ROW_BYTES
    table = pl.DataFrame([pl.int_range(0, rows, eager=True).alias(name) for name in "abcd"]).to_arrow()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        echo(table)
        times.append(time.perf_counter() - started)
    one = pa.table({"a": [1]})
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        echo(one)
        samples.append(time.perf_counter() - started)
    peak = _peak_rss(server.pid)
    server.terminate()
    server.wait()
    return {"seconds": statistics.median(times), "call_ms": statistics.median(samples) * 1000,
            "engine_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "worker_peak": peak}


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    main()
