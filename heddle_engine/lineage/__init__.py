"""Lineage: every run recorded under `<project>/.heddle/runs/`, inspectable and replayable.

`LineageRecorder` writes runs (a `RunObserver`), `LineageStore` reads them; `replay.replay_inputs` prepares
a replay (it asks the executor's lowering, so it is imported only by what replays).
"""

from heddle_engine.lineage.errors import LineageError
from heddle_engine.lineage.recorder import LineageRecorder
from heddle_engine.lineage.settings import DEFAULT_LIMIT, parse_size, project_root, read_limit
from heddle_engine.lineage.store import LineageStore, RunRecord, StageRecord

__all__ = [
    "DEFAULT_LIMIT",
    "LineageError",
    "LineageRecorder",
    "LineageStore",
    "RunRecord",
    "StageRecord",
    "parse_size",
    "project_root",
    "read_limit",
]
