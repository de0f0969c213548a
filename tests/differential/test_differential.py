"""Every corpus query, run by `heddle run` on every data set, against DuckDB running prqlc's SQL.

Each (data set, case) is one test. It fails when Heddle returns a table that is not PRQL's (`DIFFERENT`),
fails where PRQL answers (`MISSING`), or shows in `heddle plan` another schema than the run produces
(`SCHEMA`); it also fails when the verdict is not the one recorded in `verdicts.txt` (every verdict
other than `same`: refusals, both failing), so a change of what is refused is a visible change of that
file (`pytest --update-snapshots` rewrites it). The chinook data is fetched with pip once (see
`chinook.py`); the run takes about a minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.corpus import Case, load
from tests.differential.datasets import KINDS, dataset
from tests.differential.harness import OK, run_case
from tests.differential.heddle_side import Project
from tests.differential.reference import Database

CASES = load()
VERDICTS = Path(__file__).parent / "verdicts.txt"
_RESULTS: dict[tuple[str, str], str] = {}


def _recorded() -> dict[tuple[str, str], str]:
    recorded: dict[tuple[str, str], str] = {}
    if VERDICTS.exists():
        for line in VERDICTS.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                kind, case, verdict = line.split()
                recorded[(kind, case)] = verdict
    return recorded


RECORDED = _recorded()


class Session:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sets: dict[str, tuple[Project, Database]] = {}

    def get(self, kind: str) -> tuple[Project, Database]:
        if kind not in self.sets:
            tables = dataset(kind)
            self.sets[kind] = (Project(self.folder / kind, tables), Database(tables))
        return self.sets[kind]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Session]:
    made = Session(tmp_path_factory.mktemp("differential"))
    yield made
    for _, database in made.sets.values():
        database.close()
    if request.config.getoption("--update-snapshots") and len(_RESULTS) == len(CASES) * len(KINDS):
        lines = [f"{kind} {case} {verdict}" for (kind, case), verdict in sorted(_RESULTS.items()) if verdict != "same"]
        header = "# data-set case verdict: every verdict other than `same` (see harness.py); rewritten by " \
                 "pytest --update-snapshots\n"
        VERDICTS.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(session: Session, kind: str, case: Case, update_snapshots: bool) -> None:
    project, database = session.get(kind)
    verdict, _, reference = run_case(project, database, case.query)
    _RESULTS[(kind, case.id)] = verdict.kind
    where = f"{case.path.name}:{case.line} on {kind}"
    assert verdict.kind != "DIFFERENT", f"{where}: a different table, no error: {verdict.detail}\n{reference.sql}"
    assert verdict.kind in OK, f"{where}: {verdict}"
    if not update_snapshots:
        assert verdict.kind == RECORDED.get((kind, case.id), "same"), f"{where}: {verdict} (see verdicts.txt)"


# --- the corpus covers the language ----------------------------------------------------------------

CONSTRUCTS = {
    "take a number": r"\btake \d+\b(?!\.)", "take a range": r"\btake \d+\.\.\d+",
    "take an open range": r"take \d+\.\.\s", "group + aggregate": r"group .*\(aggregate", "aggregate": r"^aggregate",
    "sort descending": r"sort \{-", "window rows": r"window rows:", "window range": r"window range:",
    "rolling": r"rolling:", "expanding": r"expanding:",
    "rank": r"\brank\b", "rank_dense": r"rank_dense", "row_number": r"row_number", "lag": r"\blag\b",
    "lead": r"\blead\b", "first": r"\bfirst\b", "last": r"\blast\b",
    "inner join": r"^join ", "left join": r"side:left", "right join": r"side:right", "full join": r"side:full",
    "self join": r"join \w+ = (\w+) .*", "(==col)": r"\(==\w+\)", "append": r"\bappend\b",
    "intersect": r"\bintersect\b", "remove (except)": r"\bremove\b",
    "union (append + distinct)": r"append[\s\S]*group .*\(take 1\)",
    "distinct": r"\(take 1\)", "distinct on": r"\(sort .*\| take 1\)", "let": r"^let ", "func": r"\bfunc\b",
    "function of a relation": r"<relation>", "case": r"\bcase \[", "null test": r"== null", "??": r"\?\?",
    "f-string": r'f"', "in a range": r"in \d+\.\.", "in a list": r"in \[",
    "date literal": r"@\d{4}-\d\d-\d\d\b",
    "timestamp literal": r"@\d{4}-\d\d-\d\dT", "time literal": r"@\d\d:\d\d", "interval": r"\d+(days|months|hours)",
    "math": r"math\.", "text": r"text\.", "date": r"date\.", "cast": r"\| as ", "regex": r"~=",
    "relation literal": r"from \[",
}


@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_the_corpus_covers(construct: str) -> None:
    pattern = re.compile(CONSTRUCTS[construct], re.MULTILINE)
    assert any(pattern.search(case.query) for case in CASES), f"no corpus query uses {construct}"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 200
