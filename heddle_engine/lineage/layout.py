"""The on-disk layout of lineage, shared by the recorder and the store.

```text
<project>/.heddle/runs/<run-id>/
  run.json                       the run: file, workflow, parameters, start; its status once it ends
  plan.json                      the typed plan it ran (`heddle plan --format json`), secrets masked
  events.jsonl                   append-only: node state transitions, outputs recorded, start and end; a
                                 small output of a workflow's stage (at most `INLINE_BYTES`) is in its
                                 `output` event, as an Arrow IPC stream's bytes in base64 (`inline`), not a file
  outputs/<graph>/<node>.arrow   each stage's output as an Arrow IPC file, one per (graph, node); or
  outputs/<graph>/<node>.parquet a copy of the Parquet file a reader's output is, whole and unchanged
  batches/<n>/<graph>/<node>.arrow  a stream's: each batch's outputs (the stages run once per run stay in outputs/)
<project>/.heddle/runs/.copies/<identity>.parquet  links to the Parquet copies above, by the identity of the file
                                 copied: a later run reading it unchanged links its copy instead (`copies.py`)
```

A run folder without a final status in `run.json` belongs to a run that is still going or that crashed.
Names starting with `.` under `runs/` are temporary (being written or being deleted) and never a run: a run's
folder is made under `.starting-<id>-...`, with `run.json` (naming the process that owns it) written first, and
renamed into place once `run.json` and `plan.json` are in it, so no reader ever sees a run folder without them.
"""

from __future__ import annotations

import re
from pathlib import Path

FOLDER = ".heddle"
RUNS = "runs"
RUN_FILE = "run.json"
PLAN_FILE = "plan.json"
EVENTS_FILE = "events.jsonl"
OUTPUTS = "outputs"
BATCHES = "batches"
ARROW_SUFFIX = ".arrow"
PARQUET_SUFFIX = ".parquet"
DELETING_PREFIX = ".deleting-"  # a run folder being deleted is first renamed to this prefix + its name
STARTING_PREFIX = ".starting-"  # a run folder is made under this prefix + its name, then renamed into place
COPIES = ".copies"  # under runs/: the index of Parquet copies shared by runs (`copies.py`)
FORMAT = 3  # the version of this layout, in run.json (2: small outputs inline in the event log, as Arrow IPC files;
# 3: as Arrow IPC streams; the store reads both)
INLINE_BYTES = 64 << 10  # an output in Polars this small (estimated) is recorded inline in its `output` event

FINAL_STATUSES = frozenset({"succeeded", "failed", "interrupted"})

_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def runs_folder(project_root: Path) -> Path:
    return project_root / FOLDER / RUNS


def is_safe_name(name: str) -> bool:
    """Can `name` (a run id, graph name or node id) be one path component? No separators, no leading dot."""
    return _SAFE.fullmatch(name) is not None and ".." not in name


def output_path(run_folder: Path, graph: str, node_id: str, batch: int | None = None, *,
                suffix: str = ARROW_SUFFIX) -> Path:
    """Where a stage's output is kept; a stream's batch `batch` has its own folder."""
    base = run_folder / OUTPUTS if batch is None else run_folder / BATCHES / str(batch)
    return base / graph / f"{node_id}{suffix}"


def recorded_output(run_folder: Path, graph: str, node_id: str, batch: int | None = None) -> Path:
    """The file a stage's output was recorded in: its Parquet copy if there is one, else its Arrow file."""
    copy = output_path(run_folder, graph, node_id, batch, suffix=PARQUET_SUFFIX)
    return copy if copy.is_file() else output_path(run_folder, graph, node_id, batch)
