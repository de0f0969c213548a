"""Lookups in batches: a query joined by key asked once per batch of distinct keys instead of once per key.

`SELECT user_id, velocity_score FROM risk_metrics WHERE user_id = @user_id` run for keys 1, 2, 3 returns
the union of its three results, which is the result of `... WHERE user_id IN (1, 2, 3)`. That holds when the
parameter only appears as `expression = @name` in a top-level `AND` of the outermost SELECT's WHERE and the
query does not combine rows (no GROUP BY, aggregate, DISTINCT, window, LIMIT, UNION): `batchable` checks
exactly that, and each connector writes the `IN` its own way with the keys bound as data (an array
parameter, a JSON text, an external table). Any other query is asked once per key, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from heddle_engine.modules.fhub.sql_parameters import parameter_spans


def batchable(query: str, dialect: str) -> str | None:
    """The one `@name` a query can be asked for many keys at once by, or None."""
    names = {name for _, _, name in parameter_spans(query)}
    if len(names) != 1:
        return None
    import sqlglot  # 0.1-0.2 s to load: only when a lookup runs, not when a program is checked
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except SqlglotError:
        return None
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        return None
    select = statements[0]
    if any(select.args.get(k) for k in ("group", "having", "distinct", "limit", "offset", "qualify", "with")):
        return None
    if any(e.find(exp.AggFunc, exp.Window) for e in select.expressions):
        return None
    where = select.args.get("where")
    parameters = list(select.find_all(exp.Parameter))
    if where is None or not parameters:
        return None
    for parameter in parameters:
        comparison = parameter.parent
        if not isinstance(comparison, exp.EQ) or comparison.expression is not parameter:
            return None  # `expression = @name`, the parameter on the right
        other = comparison.this
        if other.find(exp.Parameter) is not None or other.find(exp.Select) is not None:
            return None
        node = comparison.parent
        while isinstance(node, exp.And | exp.Paren):
            node = node.parent
        if node is not where:
            return None
    return names.pop()


def rewritten(query: str, name: str, keys: Callable[[], str]) -> str:
    """The query with each `= @name` turned into the connector's test against every key: `keys()` gives the text
    that replaces `= @name` (`IN @name`, `= ANY(@name)`, ...)."""
    parts: list[str] = []
    last = 0
    for start, end, found in parameter_spans(query):
        if found != name:
            continue
        before = query[:start].rstrip()
        if not before.endswith("=") or before.endswith(("<=", ">=", "!=", "==")):
            raise ValueError(f"@{name} is not compared with `=`")
        parts.extend((query[last:len(before) - 1].rstrip(), f" {keys()}"))
        last = end
    parts.append(query[last:])
    return "".join(parts)


def batch_of(parameters: Mapping[str, object]) -> tuple[str, list[object]] | None:
    """The (name, keys) of a lookup's batch among a step's parameters (`Keys` values), if it is one."""
    from heddle.core.step import Keys

    found = [(n, v) for n, v in parameters.items() if isinstance(v, Keys)]
    return (found[0][0], list(found[0][1])) if len(found) == 1 else None


def lookup_batches(dialect: str) -> Callable[[Mapping[str, object]], bool]:
    """A step's `lookup_batches` hook: its `query` can be asked for a batch of keys at once."""

    def hook(config: Mapping[str, object]) -> bool:
        query = config.get("query")
        return isinstance(query, str) and batchable(query, dialect) is not None

    return hook
