"""Names for the columns a block computes without naming them (`select {a + 1}`): the PRQL as the user
wrote it, spaces collapsed (`a + 1`; `concat(id, "-", email)` for the SQL habit). PRQL leaves them
unnamed and every SQL engine invents its own name; this one is predictable and reads back in the plan.
"""

from __future__ import annotations

from heddle_lang.relational import rq
from heddle_lang.relational.errors import Locator


def _spans(transforms: tuple[rq.Transform, ...]) -> dict[int, rq.Span]:
    spans: dict[int, rq.Span] = {}
    for transform in transforms:
        if isinstance(transform, rq.Compute):
            spans[transform.cid] = getattr(transform.expr, "span", None)
    return spans


def unnamed_columns(query: rq.Query, locator: Locator) -> tuple[str, ...]:
    """The names of the main relation's unnamed columns, in order."""
    relation = query.relation
    positions = [i for i, c in enumerate(relation.columns) if not c.wildcard and c.name is None]
    if not positions or not isinstance(relation.kind, rq.Pipeline):
        return ()
    transforms = relation.kind.transforms
    selected = next((t.cids for t in reversed(transforms) if isinstance(t, rq.Select)), ())
    spans = _spans(transforms)
    names: list[str] = []
    for position in positions:
        cid = selected[position] if position < len(selected) else None
        span = spans.get(cid) if cid is not None else None
        if span is None:
            names.append(f"_expr_{position}")
            continue
        start, end = locator.from_compiled_bytes(*span)
        names.append(" ".join(locator.query[start:end].split()) or f"_expr_{position}")
    return tuple(names)
