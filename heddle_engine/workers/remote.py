"""The remote placement of a step call: the same node, its config and resources sent to a worker.

The executor calls a `RemoteCallee` where it would call a `Callee`; everything around the call — input and
output contracts, retries, handlers, row accounting, secrets, lineage — is the executor's, unchanged. What
differs is only where the function runs: resources are made in the worker (their configs travel in the
call's descriptor, `env:` secrets resolved here), and a partial failure comes back as the positions of
the failed input rows, which become the same `RowErrors` an in-process step raises.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from heddle.core.table import RowErrors, Table
from heddle.flight.protocol import ResourceRequest, StepRequest, parameters_to_ipc
from heddle_engine.workers.client import WorkerRefusedError
from heddle_engine.workers.endpoints import Endpoint
from heddle_lang.catalog import FunctionSpec
from heddle_lang.records import record


@record
class RemoteCallee:
    label: str
    spec: FunctionSpec
    module: str
    name: str
    endpoint: Endpoint
    version: str = ""  # JIT: the digest of the module source the worker runs
    takes_parameters: bool = True  # the worker binds `@name` parameters (or refuses them)

    def call_remote(self, config: Mapping[str, object], resources: tuple[ResourceRequest, ...],
                    given: pa.Table | None, parameters: Mapping[str, object], *, run_id: str,
                    attempt: int) -> pa.Table | None:
        """The step's output (None for a sink); raises `RowErrors` when it failed on some rows, else a
        `WorkerError` (`RemoteStepError`: the step raised; `WorkerUnavailableError`: the worker is gone)."""
        request = StepRequest(self.module, self.name, dict(config), resources, parameters_to_ipc(parameters),
                              run_id, attempt, self.version, given is not None)
        answer = self.endpoint.client().exchange(request, given)
        if answer.failure is None:
            return answer.table
        rows, reasons = answer.failed_rows, answer.reasons
        height = given.num_rows if given is not None else 0
        if len(reasons) != len(rows) or any(not 0 <= r < height for r in rows) or len(set(rows)) != len(rows):
            raise WorkerRefusedError(f"the worker of `{self.module}` reported failed rows that are not input rows "
                                     f"({len(rows)} positions, {len(reasons)} reasons, {height} input rows)")
        assert given is not None and answer.table is not None
        failed = given.take(pa.array(rows, type=pa.int64()))
        raise RowErrors(Table(answer.table), Table(failed), reasons)
