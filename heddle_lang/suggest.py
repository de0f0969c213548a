"""Did-you-mean: the closest known name to a misspelt one."""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbours as one edit (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate a typo most likely meant: a small edit away, or similar enough, or equal but for case."""
    pool = sorted({c for c in candidates if c and c != name})
    if not pool:
        return None
    budget = max(1, len(name) // 3)
    near = sorted((distance(name.lower(), c.lower()), c) for c in pool)
    if near[0][0] <= budget:
        return near[0][1]
    import difflib  # here: only a name not found is matched

    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None


def hint(name: str, candidates: Iterable[str]) -> str:
    """`; did you mean `x`?` or nothing."""
    best = closest(name, candidates)
    return f"; did you mean `{best}`?" if best else ""


def listing(names: Iterable[str], limit: int = 8) -> str:
    """`a`, `b` and `c` (at most `limit`, then "and N more")."""
    items = [f"`{n}`" for n in sorted(set(names))]
    if not items:
        return "none"
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" and {len(items) - limit} more"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
