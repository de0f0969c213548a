"""What can go wrong recording, reading or replaying lineage, as values with codes.

| Code   | When |
|--------|------|
| HL1001 | The recorder could not write (disk full, permissions): the run goes on unrecorded from there. |
| HL1002 | A run id, graph name or node id cannot name a file, so it is not recorded. |
| HL1003 | `[lineage]` in `heddle.toml` is not understood (e.g. `limit` is not a size). |
| HL1004 | A recorded column could not be scrubbed of secrets: it is recorded as nulls (a secret is never written). |
| HL2001 | No run is recorded in the project yet. |
| HL2002 | No recorded run has that id (or an id starting with it). |
| HL2003 | Several recorded runs have ids starting with that prefix. |
| HL2004 | The run has no stage of that name. |
| HL2005 | Several stages of the run answer to that name: qualify it as `graph/NAME`. |
| HL2006 | The stage recorded no data (it failed, was skipped, or the run stopped before it). |
| HL2007 | A record exists but cannot be read. |
| HL3001 | A replay cannot start from that stage, or a stage it reads has no recorded data. |
| HL3002 | The file changed upstream of the replay stage: the recorded data no longer fits the plan. |
"""

from __future__ import annotations

from heddle_lang.records import record


@record
class LineageError:
    """A problem a command reports (`heddle: error: <message> [<code>]`); never raised."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]"


WRITE_FAILED = "HL1001"
BAD_NAME = "HL1002"
BAD_SETTINGS = "HL1003"
UNSCRUBBED = "HL1004"
NO_RUNS = "HL2001"
UNKNOWN_RUN = "HL2002"
AMBIGUOUS_RUN = "HL2003"
UNKNOWN_STAGE = "HL2004"
AMBIGUOUS_STAGE = "HL2005"
NO_OUTPUT = "HL2006"
UNREADABLE = "HL2007"
REPLAY_STAGE = "HL3001"
REPLAY_CHANGED = "HL3002"
