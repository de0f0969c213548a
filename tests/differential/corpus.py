"""The differential corpus: PRQL queries over the chinook tables, kept as data in `corpus/*.prql`.

A corpus file holds several cases, each introduced by a `# case: NAME` line; the PRQL follows until the next
case. Lines `# note: ...` right after the name say what the case is about. Names are unique within a file;
a case is known as `FILE/NAME` (the file's stem).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
_HEADER = "# case:"


@dataclass(frozen=True, slots=True)
class Case:
    id: str  # FILE/NAME
    query: str  # the PRQL, as a Heddle relational block holds it
    path: Path
    line: int  # 1-based line of the `# case:` header


def load(folder: Path = CORPUS) -> list[Case]:
    cases: list[Case] = []
    for path in sorted(folder.glob("*.prql")):
        cases.extend(_cases(path))
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate corpus cases: {', '.join(duplicates)}")
    return cases


def _cases(path: Path) -> list[Case]:
    found: list[Case] = []
    name: str | None = None
    start = 0
    body: list[str] = []

    def close() -> None:
        query = "\n".join(line for line in body if not line.startswith("# note:")).strip()
        if name is not None:
            if not query:
                raise ValueError(f"{path}:{start}: case `{name}` has no query")
            found.append(Case(f"{path.stem}/{name}", query, path, start))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(_HEADER):
            close()
            name, start, body = line[len(_HEADER):].strip(), number, []
        elif name is not None:
            body.append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"{path}:{number}: text before the first `{_HEADER}` line")
    close()
    return found
