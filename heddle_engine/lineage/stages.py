"""Naming a stage on the command line: a node id, a label or an assignment, optionally `graph/NAME`.

An unqualified name is looked up in the workflow's graph first, then in its handlers' graphs; a name that
matches several stages there is ambiguous, and the error lists the qualified names to choose from.
"""

from __future__ import annotations

from collections.abc import Sequence

from heddle_engine.lineage.errors import AMBIGUOUS_STAGE, UNKNOWN_STAGE, LineageError
from heddle_lang.plan import Plan
from heddle_lang.records import record
from heddle_lang.suggest import hint


@record
class StageName:
    graph: str
    node_id: str
    label: str
    assigned: tuple[str, ...] = ()  # the names `> name` gives the node's output

    @property
    def qualified(self) -> str:
        return f"{self.graph}/{self.node_id}"

    def describe(self) -> str:
        return f"`{self.qualified}` {self.label}"

    def answers_to(self, name: str) -> bool:
        return name in (self.node_id, self.label) or name in self.assigned


def names_of(plan: Plan) -> list[StageName]:
    """Every stage of a plan, workflows first, in plan order."""
    ordered = [*plan.workflows, *plan.handlers]
    return [StageName(g.name, n.id, n.label, tuple(a for a, i in g.assignments.items() if i == n.id))
            for g in ordered for n in g.nodes]


def resolve(stages: Sequence[StageName], name: str, workflow: str) -> StageName | LineageError:
    graph, slash, rest = name.partition("/")
    pool = [s for s in stages if s.graph == graph] if slash and any(s.graph == graph for s in stages) else stages
    wanted = rest if pool is not stages else name
    found = [s for s in pool if s.answers_to(wanted)]
    preferred = [s for s in found if s.graph == workflow]
    found = preferred or found
    if len(found) == 1:
        return found[0]
    if found:
        choices = ", ".join(s.describe() for s in found)
        return LineageError(AMBIGUOUS_STAGE, f"`{name}` names {len(found)} stages: {choices}; "
                                             f"write one of their qualified names")
    known = [s.node_id for s in pool] + [s.label for s in pool] + [a for s in pool for a in s.assigned]
    choices = ", ".join(s.describe() for s in stages)
    return LineageError(UNKNOWN_STAGE, f"no stage is named `{name}`{hint(wanted, known)} (stages: {choices})")
