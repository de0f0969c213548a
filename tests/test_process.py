"""The collector's policies: the language server's (off during an analysis, survivors frozen, cycles reclaimed on
demand) and `heddle run`'s (off while the command starts, on for the run, the start's objects frozen); the end of a
command that needs no interpreter teardown."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from heddle.process import QuietCollector, forget_generated_sources, release_free_memory


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_collection_is_off_during_and_back_after() -> None:
    collector = QuietCollector(every=2)
    assert gc.isenabled()
    with collector.during():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert not collector.collection_due()
    with collector.during():
        pass
    assert collector.collection_due() and not collector.collection_due()  # due once, then counted afresh
    collector.collect()


def test_cycles_made_during_analyses_are_reclaimed_by_collect() -> None:
    collector = QuietCollector()
    with collector.during():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
    assert collector.collect() >= 2


PLUGIN = """import gc
from pathlib import Path

from heddle.core.step import StepConfig
from heddle.core.table import Table
from heddle.sdk.plugin import Plugin

plugin = Plugin(namespace="probe")
Path("at_import.txt").write_text(str(gc.isenabled()))  # imported while the command starts


class Config(StepConfig[None]):
    pass


@plugin.step(name="collector")
def collector(config: Config, input: Table) -> Table:
    \"\"\"Write what the collector does while the run goes.\"\"\"
    Path("in_run.txt").write_text(f"{gc.isenabled()} {gc.get_freeze_count() > 0}")
    return input
"""


# `heddle run` as the process's command, saying on stderr whether it asked to end without the interpreter's teardown.
_RUN_TELLING_TEARDOWN = """import sys
import heddle.cli.main as cli
import heddle.process as process
from heddle.cli.main import main

def end(code):
    print("teardown skipped", process._NO_TEARDOWN.is_set(), file=sys.stderr)
    return process.end(code)

cli.end = end
"""


def test_heddle_run_starts_without_the_collector_and_runs_with_it(tmp_path: Path) -> None:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "probe.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "heddle.toml").write_text('[modules]\n"local/probe" = "plugins.probe:plugin"\n', encoding="utf-8")
    program = 'import "local/probe" probe\n\nworkflow W {\n  [{ n: 1 }]\n    | probe.collector\n}\n'
    (tmp_path / "app.he").write_text(program, encoding="utf-8")
    command = _RUN_TELLING_TEARDOWN + "sys.argv[1:] = ['run', 'app.he', '--no-lineage']\nsys.exit(main())\n"
    done = subprocess.run([sys.executable, "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "at_import.txt").read_text() == "False"
    assert (tmp_path / "in_run.txt").read_text() == "True True"
    assert "teardown skipped False" in done.stderr  # plugin code ran in the process: its teardown is kept


def test_a_run_of_heddles_own_modules_ends_without_the_teardown_its_output_complete(tmp_path: Path) -> None:
    program = ('import "std/io" io\n\nworkflow W {\n  [{ n: 1 }, { n: 2 }]\n'
               '    | io.write_csv { path: "out.csv" }\n}\n')
    (tmp_path / "app.he").write_text(program, encoding="utf-8")
    command = _RUN_TELLING_TEARDOWN + "sys.argv[1:] = ['run', 'app.he', '--no-lineage', '--format', 'json']\n" \
        "sys.exit(main())\n"
    done = subprocess.run([sys.executable, "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "teardown skipped True" in done.stderr
    assert json.loads(done.stdout)["status"] == "succeeded"  # stdout flushed before the process ended
    assert (tmp_path / "out.csv").read_text() == "n\n1\n2\n"


END = """import atexit, sys, threading
import heddle.process as process

class Freed:
    def __del__(self):
        print("teardown ran", flush=True)

kept = Freed()
atexit.register(lambda: print("atexit ran", flush=True))
sys.stdout.write("buffered ")
{setup}
print("returned", process.end(3), flush=True)
"""


def _end(setup: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", END.format(setup=setup)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_end_skips_the_teardown_once_the_command_said_it_is_not_needed() -> None:
    done = _end("process.teardown_not_needed()")
    assert (done.returncode, done.stdout) == (3, "buffered atexit ran\n")


def test_end_returns_the_code_when_the_teardown_is_needed_or_a_thread_still_runs() -> None:
    done = _end("")
    assert done.returncode == 0 and done.stdout.startswith("buffered returned 3\natexit ran\n")
    assert "teardown ran" in done.stdout
    done = _end("threading.Thread(target=threading.Event().wait, args=(1,)).start()\nprocess.teardown_not_needed()")
    assert done.returncode == 0 and done.stdout.startswith("buffered returned 3\n")
    assert "teardown ran" in done.stdout


def test_free_memory_is_released_where_the_c_library_can() -> None:
    import platform

    released = release_free_memory()
    assert released == (sys.platform == "linux" and platform.libc_ver()[0] == "glibc")


def test_the_sources_attrs_generates_are_forgotten() -> None:
    import linecache

    import attrs

    @attrs.define
    class Point:
        x: int

    assert any(key.startswith("<attrs generated") for key in linecache.cache)
    kept = Path(__file__).as_posix()
    linecache.getlines(kept)
    assert forget_generated_sources() > 0
    assert not any(key.startswith(("<attrs generated", "<cattrs generated")) for key in linecache.cache)
    assert kept in linecache.cache and Point(1).x == 1
