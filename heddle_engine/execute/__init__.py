"""Running typed plans: `run_workflow` executes a workflow of the checker's plan on Polars/Arrow.

    lower.py       the typed plan → the execution DAG (fused relational blocks, lookups, parameters)
    run.py         run_workflow: checks what the run needs, runs it, tells the observers
    executor.py    scheduling units on a thread pool; failures, handlers, skipping
    relational.py  relational blocks as lazy Polars SQL;  lookups.py  steps joined as lookups
    functions.py   the Python behind a node;  resources.py  resources of a run;  retry.py  attempts
    stream.py      a workflow with a stream source, batch by batch, each committed once done
    timeouts.py    an attempt that overruns its `timeout` is abandoned
    parameters.py  workflow parameters;  states.py  node states and observers;  failures.py  error context
"""

from heddle_engine.execute.errors import ParameterError, RunRefused, SetupError
from heddle_engine.execute.lower import ExecPlan, lower
from heddle_engine.execute.result import ExecutionResult, Failure, RowCount
from heddle_engine.execute.run import INTERRUPTED, Interrupt, new_run_id, prepare, run_workflow
from heddle_engine.execute.stream import StreamLimits
from heddle_engine.run_folder import resolve_path, run_folder

__all__ = [
    "INTERRUPTED",
    "ExecPlan",
    "ExecutionResult",
    "Failure",
    "Interrupt",
    "ParameterError",
    "RowCount",
    "RunRefused",
    "SetupError",
    "StreamLimits",
    "lower",
    "new_run_id",
    "prepare",
    "resolve_path",
    "run_folder",
    "run_workflow",
]
