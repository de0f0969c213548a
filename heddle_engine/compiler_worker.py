"""The contained PRQL compiler's process: compiles texts for another process, one JSON line each.

Run as `python -m heddle_engine.compiler_worker` by `heddle_engine.compiler_process.CompilerProcess`.

    {"id": 1, "text": "let input = (...)\\nfrom input\\nselect {a}"} -> {"id": 1, "compiled": {...}}

It imports only what compiling needs (prqlc and `heddle_lang.relational.compile`, not Polars), and
compiles on a thread with a 64 MB stack: eight times a main thread's, so prqlc's recursion goes deeper
here than in a caller's thread, and when it still overflows only this process dies.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import TextIO

from heddle_lang.relational.compile import compile_prql

STACK_BYTES = 64 << 20


def serve(requests: TextIO, answers: TextIO) -> None:
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        compiled = compile_prql(str(request["text"]))
        answers.write(json.dumps({"id": request.get("id"), "compiled": compiled.to_data()}) + "\n")
        answers.flush()


def main() -> None:
    threading.stack_size(STACK_BYTES)
    compiler = threading.Thread(target=serve, args=(sys.stdin, sys.stdout), name="prqlc")
    compiler.start()
    compiler.join()


if __name__ == "__main__":
    main()
