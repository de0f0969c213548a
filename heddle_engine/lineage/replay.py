"""What a replay needs from a recorded run: the stage to start from, and the recorded data feeding it.

A replay re-runs a workflow from one stage on: that stage and everything downstream of it run again, on the
plan of the file as it is now; every other stage that feeds them is not run, its output is read from the
recorded run. Which stages those are is the executor's business (a step joined as a lookup runs again when
what drives it does), so it is asked: its lowering of the replay marks them `recorded`. Data is matched to
the new plan by node id, after checking that the node is still the same stage (its label) and that the
recorded columns still fit the schema the plan now gives it.

A stream run is replayed one batch at a time (`batch`): its batch's recorded data is read as `heddle inspect
--batch` reads it (the stages that run once per run as they ran), and the replay is a finite run of that
batch from a stage downstream of the stream source, which it never reads again.
"""

from __future__ import annotations

import pyarrow as pa

from heddle_engine.catalog import EngineCatalog
from heddle_engine.execute.functions import Functions
from heddle_engine.execute.lower import ExecGraph, lower
from heddle_engine.lineage.errors import REPLAY_CHANGED, REPLAY_STAGE, LineageError
from heddle_engine.lineage.schemas import differences, schema_of
from heddle_engine.lineage.stages import StageName, names_of, resolve
from heddle_engine.lineage.store import LineageStore, RunRecord, StageRecord
from heddle_lang.plan import Node, Plan
from heddle_lang.records import record


@record
class ReplayInputs:
    start: StageName  # where the replay starts (a stage of the workflow)
    recorded: dict[str, pa.Table]  # node id -> recorded output, for every stage the replayed ones read


def replay_inputs(store: LineageStore, run: RunRecord, plan: Plan, stage: str, catalog: EngineCatalog, *,
                  batch: int | None = None) -> ReplayInputs | LineageError:
    """Check that `run` (its batch `batch`, a stream's) can be replayed from `stage` on `plan` (the file's
    plan now) and gather its data."""
    graph = plan.graph(run.workflow)
    if graph is None or graph.kind != "workflow":
        known = ", ".join(f"`{g.name}`" for g in plan.workflows) or "none"
        return LineageError(REPLAY_CHANGED, f"{run.file} has no workflow `{run.workflow}` any more "
                                            f"(workflows: {known})")
    start = resolve(names_of(plan.only(run.workflow)), stage, run.workflow)
    if isinstance(start, LineageError):
        return start
    if start.graph != graph.name:
        return LineageError(REPLAY_STAGE, f"{start.describe()} is a stage of handler `{start.graph}`: a replay "
                                          f"starts from a stage of workflow `{graph.name}`")
    batches = store.batches(run)
    if batch is None and batches.numbers:
        return LineageError(REPLAY_STAGE, f"run {run.run_id} is a stream: replay one of its batches with "
                                          f"--batch N (it recorded {batches.describe()})")
    if batch is not None and batch in batches.evicted:
        return LineageError(REPLAY_STAGE, f"the data of batch {batch} of run {run.run_id} was deleted under the "
                                          "project's [lineage] limit: it cannot be replayed")
    recorded_stages = store.stages(run, batch)
    if isinstance(recorded_stages, LineageError):
        return recorded_stages
    by_id = {s.name.node_id: s for s in recorded_stages if s.name.graph == graph.name}
    lowered = lower(plan, graph.name, Functions(catalog), start_from=start.node_id)
    if lowered.stream is not None:
        source = next(n for n in graph.nodes if n.id == lowered.stream)
        return LineageError(REPLAY_STAGE, f"{start.describe()} would read the stream `{source.label}` again: a "
                                          "replay starts downstream of the stream source, whose recorded batch "
                                          "it reads")
    needed = read_by_replay(lowered.workflow)
    tables: dict[str, pa.Table] = {}
    for node in (n for n in graph.nodes if n.id in needed):
        table = _recorded(store, run, by_id.get(node.id), node, start)
        if isinstance(table, LineageError):
            return table
        tables[node.id] = table
    return ReplayInputs(start, tables)


def read_by_replay(lowered: ExecGraph) -> set[str]:
    """The nodes a replay does not run but reads: `recorded` units (not downstream of the start, lookups
    counted as the executor counts them) that a unit which runs again reads."""
    return {unit.nodes[0] for unit in lowered.units if unit.kind == "recorded"
            and any(lowered.unit(r).kind != "recorded" for r in lowered.consumers.get(unit.id, ()))}


def _recorded(store: LineageStore, run: RunRecord, recorded: StageRecord | None, node: Node,
              start: StageName) -> pa.Table | LineageError:
    here = StageName(start.graph, node.id, node.label).describe()
    if recorded is None or recorded.name.label != node.label:
        was = f"`{recorded.name.label}`" if recorded is not None else "not there"
        return LineageError(REPLAY_CHANGED, (
            f"{start.describe()} reads {here}, which was {was} in run {run.run_id}: the workflow changed "
            f"upstream of the replay stage, so the recorded data does not fit; run the workflow again"))
    if recorded.output is None:
        return LineageError(REPLAY_STAGE, (
            f"{start.describe()} reads {here}, but run {run.run_id} recorded no data for it (it ended "
            f"{recorded.state}); replay from an earlier stage"))
    table = store.table(run, recorded)
    if isinstance(table, LineageError):
        return table
    problems = differences(schema_of(table.schema), node.output)
    if problems:
        return LineageError(REPLAY_CHANGED, (
            f"the data run {run.run_id} recorded for {here} no longer fits its schema {node.output}: "
            + "; ".join(problems) + "; replay from an earlier stage or run the workflow again"))
    return table
