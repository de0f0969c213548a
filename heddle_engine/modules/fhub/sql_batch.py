"""Lookups in batches: a query joined by key asked once per batch of distinct keys instead of once per key.

`SELECT user_id, velocity_score FROM risk_metrics WHERE user_id = @user_id` run for keys 1, 2, 3 returns
the union of its three results, which is the result of `... WHERE user_id IN (1, 2, 3)`. That holds when the
parameter only appears as `expression = @name` in a top-level `AND` of the outermost SELECT's WHERE and the
query does not combine rows (no GROUP BY, aggregate, DISTINCT, window, LIMIT, UNION): `batchable` checks
exactly that, and each connector writes the `IN` its own way with the keys bound as data (an array
parameter, a JSON text, an external table). Any other query is asked once per key, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from heddle_engine.modules.fhub.sql_parameters import parameter_spans


def batchable(query: str, dialect: str) -> str | None:
    """The one `@name` a query can be asked for many keys at once by, or None."""
    names = {name for _, _, name in parameter_spans(query)}
    if len(names) != 1:
        return None
    plain = plainly_batchable(query)
    return plain if plain is not None else parsed_batchable(query, dialect, names.pop())


def parsed_batchable(query: str, dialect: str, name: str) -> str | None:
    """`batchable` by sqlglot's parse of the query (whose one parameter is `name`)."""
    import sqlglot  # 0.1-0.2 s to load: only for a lookup whose query is not of the plainest form
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
    return name


_TOKEN = re.compile(r"\s*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>[0-9]+(?:\.[0-9]+)?)|(?P<text>'(?:[^']|'')*')"
                    r"|(?P<parameter>@[A-Za-z_][A-Za-z0-9_]*)|(?P<symbol><>|!=|<=|>=|[=<>,.*]))")
_KEYWORDS = frozenset({
    "ALL", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS", "CURRENT_DATE", "CURRENT_TIME",
    "CURRENT_TIMESTAMP", "DATE", "DESC", "DISTINCT", "ELSE", "END", "ESCAPE", "EXCEPT", "EXISTS", "FALSE",
    "FETCH", "FILTER", "FROM", "FULL", "GLOB", "GROUP", "HAVING", "ILIKE", "IN", "INNER", "INTERSECT", "INTERVAL",
    "INTO", "IS", "JOIN", "LATERAL", "LEFT", "LIKE", "LIMIT", "MATCH", "NATURAL", "NOT", "NULL", "OFFSET", "ON",
    "OR", "ORDER", "OUTER", "OVER", "QUALIFY", "REGEXP", "RIGHT", "ROWS", "SAMPLE", "SELECT", "SETTINGS",
    "SIMILAR", "TABLE", "THEN", "TIME", "TIMESTAMP", "TOP", "TRUE", "UNION", "USING", "VALUES", "WHEN", "WHERE",
    "WINDOW", "WITH", "FINAL", "PREWHERE", "ARRAY", "GLOBAL", "FORMAT", "ANTI", "SEMI", "ASOF", "PASTE",
})


def plainly_batchable(query: str) -> str | None:
    """The `@name` of a query of the plainest batchable form, read without a SQL parser; None when the query is
    not of that form (then the parser decides). The form (`plain_parameters`) with one `@name`: every query of
    it is one `batchable` accepts."""
    names = plain_parameters(query)
    return names.pop() if names is not None and len(names) == 1 else None


def plain_parameters(query: str) -> set[str] | None:
    """The `@name`s of a query of the plainest form, read without a SQL parser; None when it is not of that
    form. The form: `SELECT` columns (`*`, `col`, `t.col`, each maybe `AS alias`) `FROM` one table (maybe
    aliased) `WHERE` comparisons of a column with a column, a number or a `'string'` joined by `AND`, `@name`
    only as `column = @name`: no parenthesis (so no function, cast, aggregate, window or subquery), no other
    keyword, nothing after. Its result columns are named by the text and typed only by the database."""
    tokens: list[tuple[str, str]] = []
    position, size = 0, len(query.rstrip())
    while position < size:
        found = _TOKEN.match(query, position)
        if found is None or found.end() == position:
            return None
        kind = found.lastgroup
        assert kind is not None
        tokens.append((kind, found.group(kind)))
        position = found.end()
    reader = _Tokens(tokens)
    if not reader.keyword("SELECT"):
        return None
    while True:
        if not (reader.symbol("*") or reader.column()):
            return None
        if reader.keyword("AS") and not reader.name():
            return None
        if not reader.symbol(","):
            break
    if not reader.keyword("FROM") or not reader.name():
        return None
    if reader.keyword("AS"):
        if not reader.name():
            return None
    else:
        reader.name()
    if not reader.keyword("WHERE"):
        return None
    names: set[str] = set()
    while True:
        if not reader.column():
            return None
        parameter = reader.parameter_after_equals()
        if parameter is not None:
            names.add(parameter)
        elif not (reader.comparison() and (reader.column() or reader.literal())):
            return None
        if not reader.keyword("AND"):
            break
    return names if reader.done() else None


class _Tokens:
    """A cursor over `plainly_batchable`'s tokens: each method consumes what it recognises, else nothing."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def _peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def done(self) -> bool:
        return self.at == len(self.tokens)

    def keyword(self, word: str) -> bool:
        kind, text = self._peek()
        if kind == "word" and text.upper() == word:
            self.at += 1
            return True
        return False

    def symbol(self, symbol: str) -> bool:
        if self._peek() == ("symbol", symbol):
            self.at += 1
            return True
        return False

    def name(self) -> bool:
        kind, text = self._peek()
        if kind == "word" and text.upper() not in _KEYWORDS:
            self.at += 1
            return True
        return False

    def column(self) -> bool:
        """`col` or `t.col`."""
        if not self.name():
            return False
        if self._peek() == ("symbol", ".") and self._peek(1)[0] == "word" \
                and self._peek(1)[1].upper() not in _KEYWORDS:
            self.at += 2
        return True

    def comparison(self) -> bool:
        kind, text = self._peek()
        if kind == "symbol" and text in ("=", "<>", "!=", "<", ">", "<=", ">="):
            self.at += 1
            return True
        return False

    def literal(self) -> bool:
        if self._peek()[0] in ("number", "text"):
            self.at += 1
            return True
        return False

    def parameter_after_equals(self) -> str | None:
        if self._peek() == ("symbol", "=") and self._peek(1)[0] == "parameter":
            name = self._peek(1)[1][1:]
            self.at += 2
            return name
        return None


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
