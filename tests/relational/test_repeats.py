"""`repeats.follow_sql`: the RQ's output made PRQL's SQL's where a join brings one name twice, or a refusal.

The corpus (`tests/differential/corpus/joins.prql`, `join_shared_names*`) checks the answers against DuckDB;
these check each branch on RQ shapes written out, including the ones prqlc was not seen to produce."""

from __future__ import annotations

import json

from heddle_lang.relational.compile import PrqlError
from heddle_lang.relational.errors import Locator, prql_diagnostic
from heddle_lang.relational.normalize import normalize
from heddle_lang.relational.repeats import follow_sql


def _rq(names: list[str | None]) -> str:
    columns = [{"Single": n} for n in names]
    cids = list(range(len(names)))
    join = {"Join": {"side": "Inner", "with": {"source": 1, "columns": []},
                     "filter": {"kind": {"Literal": {"Boolean": True}}, "span": "1:10-20"}}}
    pipeline = [{"From": {"source": 0, "columns": []}}, join, {"Select": cids}]
    return json.dumps({"def": {}, "tables": [], "relation": {"kind": {"Pipeline": pipeline}, "columns": columns}})


def _output(rq_json: str) -> tuple[list[str | None], list[int]]:
    relation = json.loads(rq_json)["relation"]
    return [c["Single"] for c in relation["columns"]], relation["kind"]["Pipeline"][-1]["Select"]


def test_an_output_without_a_repeated_name_is_left_alone_and_its_sql_never_parsed() -> None:
    rq = _rq(["a", "b"])
    followed = follow_sql(rq, "this is not SQL")
    assert (followed.rq, followed.changes, followed.refusal) == (rq, (), None)


def test_the_column_the_sql_leaves_out_leaves_the_rq() -> None:
    followed = follow_sql(_rq(["a", "p", "b", "p"]), "SELECT l.a, l.p, r.b FROM l JOIN r ON true")
    assert followed.refusal is None
    assert _output(followed.rq) == (["a", "p", "b"], [0, 1, 2])
    assert followed.changes == (("p", None),)


def test_the_name_a_cte_gives_is_taken() -> None:
    sql = "WITH t AS (SELECT l.a, l.p, r.p AS _expr_0 FROM l JOIN r ON true) SELECT t.a, t.p, t._expr_0 FROM t"
    followed = follow_sql(_rq(["a", "p", "p"]), sql)
    assert _output(followed.rq) == (["a", "p", "_expr_0"], [0, 1, 2])
    assert followed.changes == (("p", "_expr_0"),)


def test_both_kept_changes_nothing() -> None:
    rq = _rq(["id", "x", "id"])
    followed = follow_sql(rq, "SELECT l.id, l.x, r.id FROM l JOIN r ON l.id = r.id")
    assert (followed.rq, followed.changes, followed.refusal) == (rq, (), None)


def test_two_ways_to_drop_refuse() -> None:
    # [a, p, p] to [a, p]: either `p` may be the one left out
    followed = follow_sql(_rq(["a", "p", "p"]), "SELECT l.a, l.p FROM l JOIN r ON true")
    assert followed.refusal is not None and "`p`" in followed.refusal
    assert followed.span == (10, 20)


def test_more_sql_columns_an_unexplained_name_or_a_star_refuse() -> None:
    rq = _rq(["a", "p", "p"])
    assert follow_sql(rq, "SELECT a, p, p, q FROM t").refusal is not None
    assert follow_sql(rq, "SELECT z, p, _expr_0 FROM t").refusal is not None  # `a` is not repeated
    assert follow_sql(rq, "SELECT * FROM t").refusal is not None
    assert follow_sql(rq, "SELECT FROM WHERE (").refusal is not None


def test_an_unnamed_column_matches_any_sql_name() -> None:
    followed = follow_sql(_rq([None, "p", "b", "p"]), "SELECT a + 1, l.p, r.b FROM l JOIN r ON true")
    assert _output(followed.rq) == ([None, "p", "b"], [0, 1, 2])


def test_a_refusal_is_he6007_naming_the_construct() -> None:
    query = "from l"
    locator = Locator(query, normalize(query), "")
    diagnostic = prql_diagnostic(PrqlError("x", stage="unsupported"), locator, query)
    assert (diagnostic.code, diagnostic.message) == ("HE6007", "the engine cannot compute x")
