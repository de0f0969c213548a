"""`join T (==key)` keeps one `key` column: the normaliser follows such a join with `select !{T.key}`.

prqlc 0.13 turns that exclusion into a list of the remaining columns in an order that changes from one
call to the next (it passes through a hash set), so the block's columns would come out in any order.
The normaliser therefore also writes a marker after the exclusion, `filter "heddle:using" ==
"heddle:using"` (prqlc folds it to `filter true` and keeps its span), and `restore_order` puts the
columns of the exclusion back in PRQL's order — the left side's columns, then the joined table's — in the
RQ, before anything (the engine, the SQL shown to the user) reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from heddle_lang.relational.rq_json import kind_of, span_of, table_refs

MARKER = '"heddle:using" == "heddle:using"'


def _span_text(text: bytes, span: object) -> str | None:
    bounds = span_of(span)
    if bounds is None:
        return None
    return text[bounds[0] : bounds[1]].decode("utf-8", "replace")


def _natural(transforms: list[Any], join_index: int) -> list[int]:
    """The columns after the join at `join_index`, in PRQL's order: the left side's, then the table's."""
    left: list[int] = []
    for transform in transforms[:join_index]:
        kind, value = kind_of(transform)
        if kind == "From":
            left = [cid for _, cid in value["columns"]]
        elif kind == "Select":
            left = list(value)
        elif kind == "Join":
            left = left + [cid for _, cid in value["with"]["columns"]]
        elif kind == "Aggregate":
            left = [*value["partition"], *value["compute"]]
    _, join = kind_of(transforms[join_index])
    return left + [cid for _, cid in join["with"]["columns"]]


_NEXT_SELECT = re.compile(r"(?:\s|\|)*select\b")


def _user_select_after(text: bytes, span: object) -> bool:
    """Does the user's pipeline go on with a `select` somewhere after the marker (same pipeline)?"""
    bounds = span_of(span)
    if bounds is None:
        return False
    rest = text[bounds[1] :].decode("utf-8", "replace")
    depth = 0
    for i, ch in enumerate(rest):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                rest = rest[:i]
                break
            depth -= 1
    return any(_NEXT_SELECT.match(line.strip()) for line in re.split(r"\n|\|", rest))


def _last_select(transforms: list[Any]) -> list[int] | None:
    for transform in reversed(transforms):
        name, value = kind_of(transform)
        if name == "Select":
            return list(value)
    return None


def _restore(relation: dict[str, Any], text: bytes) -> list[int] | None:
    """Fix the marked exclusions of one pipeline; the new order of the relation's columns (as old
    positions) when it changed, else None."""
    kind = relation.get("kind")
    transforms = kind.get("Pipeline") if isinstance(kind, dict) else None
    if not isinstance(transforms, list):
        return None
    before = _last_select(transforms)
    for index, transform in enumerate(transforms):
        name, value = kind_of(transform)
        if name != "Filter" or _span_text(text, value.get("span")) != MARKER or index < 2:
            continue
        select_name, excluded = kind_of(transforms[index - 1])
        join_name, _ = kind_of(transforms[index - 2])
        if select_name != "Select" or join_name != "Join":
            continue
        order = {cid: position for position, cid in enumerate(_natural(transforms, index - 2))}
        fixed = sorted(excluded, key=lambda cid: order.get(cid, len(order)))
        transforms[index - 1] = {"Select": fixed}
        # prqlc's own selects that follow start with the same list in the same order (plus the columns
        # derived since); a `select` the user wrote after the join is the pipeline's last select: kept.
        user_select = _user_select_after(text, value.get("span"))
        selects = [i for i in range(index + 1, len(transforms)) if kind_of(transforms[i])[0] == "Select"]
        for later in range(index + 1, len(transforms)):
            later_name, later_value = kind_of(transforms[later])
            if later_name in ("Join", "Aggregate", "Append", "Loop"):
                break
            if later_name != "Select" or (user_select and later == selects[-1]):
                continue
            if list(later_value[: len(excluded)]) == list(excluded):
                transforms[later] = {"Select": [*fixed, *later_value[len(excluded):]]}
    after = _last_select(transforms)
    columns = relation.get("columns", [])
    if before is None or after is None or before == after or len(before) != len(columns):
        return None
    position = {cid: i for i, cid in enumerate(before)}
    permutation = [position[cid] for cid in after]
    relation["columns"] = [columns[i] for i in permutation]
    return permutation


def restore_order(rq_json: str, compiled_text: str) -> str:
    """`rq_json` with the columns of each marked `select !{T.key}` back in PRQL's order (unchanged when
    nothing is marked). A table whose columns move has every reference to it moved alike."""
    if "heddle:using" not in compiled_text:
        return rq_json
    data = json.loads(rq_json)
    text = compiled_text.encode("utf-8", "surrogatepass")
    changed = False
    for table in data.get("tables", ()):
        permutation = _restore(table["relation"], text)
        if permutation is None:
            continue
        changed = True
        for ref in table_refs(data):
            if ref["source"] == table["id"] and len(ref["columns"]) == len(permutation):
                ref["columns"] = [ref["columns"][i] for i in permutation]
    main = data["relation"]
    kind = main.get("kind")
    pipeline = kind.get("Pipeline") if isinstance(kind, dict) else None
    snapshot = json.dumps(pipeline)
    _restore(main, text)
    changed = changed or json.dumps(pipeline) != snapshot
    return json.dumps(data) if changed else rq_json
