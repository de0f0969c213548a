"""After a Polars query fails, the process runs the rest of its queries on Polars' in-memory engine.

A query that fails on Polars' streaming engine (its default) while other parts of the query are still running
can leave the engine's task executor broken: Polars 2.1 then panics in its own threads (`joined on cancelled
task`, `invalid TaskData when polling`), and a later streaming query in the same process may never end. A
failed relational block is run again block by block to name the block that failed, and a block streamed into a
file is run again unstreamed when that fails (`executor`): both would be such later queries, and so would the
next unit of the run. The in-memory engine does not use that executor, so once a query has failed every query
left to the process runs on it (`pl.Config.set_engine_affinity`, which every `engine="auto"` query and sink
follows) — slower past about 10,000 rows and bound by memory, but it ends. Polars errors of a step's own code
count too: they are the same engine's.
"""

from __future__ import annotations

import threading

import polars as pl

# The warning of a run during which its process turned to the in-memory engine (`execute.run`).
TURNED = ("a Polars query failed: the queries after it ran on Polars' in-memory engine, as a failed query can leave "
          "its streaming engine unable to finish another")
_AVOIDED = threading.Event()


def streaming_avoided() -> bool:
    """Whether a query failed in this process, so queries run on the in-memory engine."""
    return _AVOIDED.is_set()


def avoid_streaming() -> None:
    """From now on, queries of this process run on Polars' in-memory engine (a query failed)."""
    if not _AVOIDED.is_set():  # both steps may be taken twice at once: each is the same the second time
        _AVOIDED.set()
        pl.Config.set_engine_affinity("in-memory")

