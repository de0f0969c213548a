"""The contained PRQL compiler: the same answers as compiling in-process, and a crash or a hang of prqlc
costs one text's answer (HE6009), a new process, and nothing else."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import polars as pl
import pytest

from heddle_engine.compiler_process import CompilerProcess
from heddle_lang.relational import analyze_block, cache_clear
from heddle_lang.relational.compile import Compiled, compile_prql
from heddle_lang.types import Column, Schema

# prqlc recurses once per `**`: 40,000 of them overflow even the worker's 64 MB stack (it crashes near
# 2,000 on 8 MB). `relational.limits` does not know this shape, so only containment saves the caller.
CRASHES = "from input\nderive {b = " + " ** ".join(["a"] * 40_000) + "}\n"
INPUT = {"input": Schema((Column("a", pl.Int64()), Column("name", pl.String())))}


@pytest.fixture
def compiler() -> Iterator[CompilerProcess]:
    process = CompilerProcess()
    yield process
    process.close()


@pytest.mark.parametrize("text", [
    "from input\nselect {a, name}",
    "from t = input\njoin u = input (==a)\nselect {t.a, u.name}",
    "from input\nselec {a}",  # a parse error, with its span
    "from input\nselect {nom}",  # an unknown name
    "from input\nderive {x = \"é\" + name}",  # text that is not ASCII
])
def test_the_same_answer_as_in_process(compiler: CompilerProcess, text: str) -> None:
    assert compiler(text) == compile_prql(text)


def test_a_crash_costs_one_answer_and_the_next_text_gets_a_new_process(compiler: CompilerProcess) -> None:
    assert compiler("from input\nselect {a}").sql is not None
    crashed = compiler(CRASHES)
    assert crashed.sql is None and crashed.error is not None
    assert (crashed.error.stage, crashed.error.reason) == ("contained", "the PRQL compiler crashed on this block")
    assert compiler("from input\nselect {name}").sql is not None
    assert compiler.starts == 2
    # The text that crashed it is answered from memory: asking again does not crash a process again.
    assert compiler(CRASHES) == crashed
    assert compiler.starts == 2


def test_a_text_that_takes_too_long_costs_one_answer() -> None:
    slow = "from input\n" + "filter a > 0\n" * 20_000  # prqlc works for seconds before overflowing
    compiler = CompilerProcess(seconds=0.5)
    try:
        late = compiler(slow)
        assert late.error is not None and late.error.reason == "the PRQL compiler took longer than 0.5 s on this block"
        compiler.seconds = 30.0  # the next text starts a new process, whose boot counts against its time
        assert compiler("from input\nselect {a}").sql is not None
        assert compiler.starts == 2
    finally:
        compiler.close()


def test_a_process_that_cannot_start_answers_with_a_contained_failure() -> None:
    compiler = CompilerProcess(python=sys.executable + "-missing")
    compiler.start()  # no exception: the first text reports it
    failed = compiler("from input\nselect {a}")
    assert failed.error is not None and failed.error.reason.startswith("the PRQL compiler could not start (")
    compiler.close()


def test_threads_share_one_process(compiler: CompilerProcess) -> None:
    texts = [f"from input\nderive {{c{i} = a + {i}}}" for i in range(40)]
    answers: dict[str, Compiled] = {}

    def ask(text: str) -> None:
        answers[text] = compiler(text)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answers[t] == compile_prql(t) for t in texts)
    assert compiler.starts == 1


def test_analyze_block_reports_the_crash_as_he6009_on_the_whole_block(compiler: CompilerProcess) -> None:
    cache_clear()
    query = "from input\nderive {b = " + " ** ".join(["a"] * 40_000) + "}"
    result = analyze_block(query, INPUT, is_source=False, compiler=compiler)
    (diagnostic,) = result.diagnostics
    assert (diagnostic.code, diagnostic.start, diagnostic.end) == ("HE6009", 0, len(query))
    assert result.schema is None
