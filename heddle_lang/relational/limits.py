"""How large a relational block may grow before prqlc is asked: a static guard, checked on tokens.

prqlc recurses on the native stack once per transform of a pipeline and once per level of brackets; past
a few hundred of either it overflows the stack, which kills the process (SIGSEGV: no exception to catch).
Measured with prqlc 0.13 (`bench/relational_limits.py`): on an 8 MB stack a chain of about 840 transforms,
or brackets nested about 640 deep (`group` in `group`), crash it; on a 2 MB stack (a thread's default on
some systems) about 200 and 150. A block at both limits below at once (128 transforms, then 64 nested
brackets) compiles on a 2 MB stack, so a block that passes them compiles on any ordinary stack; a block
beyond them gets HE6008 (split it into stages) instead of a crash. Callers that can also contain a crash
(a compiler in another process: `compile.PrqlCompiler`) still should: this guard knows only the shapes
that were measured.

Counting is linear and iterative (a block of a thousand nested parentheses is one pass over its tokens),
and `normalize`, which recurses once per bracket level, runs only on blocks within these limits.
"""

from __future__ import annotations

from functools import lru_cache

from heddle_lang.relational.model import BlockDiagnostic
from heddle_lang.relational.tokens import Token, tokenize

MAX_DEPTH = 64  # brackets `(`, `[`, `{` open at once
MAX_TRANSFORMS = 128  # transforms and `|` stages in the whole block, nested pipelines included

_TRANSFORMS = frozenset({
    "from", "select", "filter", "derive", "group", "aggregate", "sort", "take", "join", "window",
    "append", "loop", "remove", "intersect", "where",
})
# A transform keyword followed by one of these is a name (`take > 3`, `sort.x`, `from = 1`), not a transform.
_NAME_AFTER = frozenset({
    "==", "!=", ">=", "<=", ">", "<", "+", "*", "/", "%", "&&", "||", "??", "~=", "..", "**", "//", "=", ":", ".",
})


@lru_cache(maxsize=4096)
def check_limits(query: str) -> BlockDiagnostic | None:
    """HE6008 when `query` nests brackets deeper than `MAX_DEPTH` or chains more than `MAX_TRANSFORMS`."""
    tokens = [t for t in tokenize(query) if t.kind not in ("comment", "newline")]
    depth = 0
    transforms = 0
    for i, token in enumerate(tokens):
        if token.kind == "open":
            depth += 1
            if depth > MAX_DEPTH:
                return BlockDiagnostic(
                    "HE6008", token.start, token.end,
                    f"brackets nest more than {MAX_DEPTH} deep here: the PRQL compiler cannot take a block this "
                    "deep; compute the inner part in a block of its own (an earlier `| (…)` stage)",
                )
        elif token.kind == "close":
            depth = max(0, depth - 1)
        elif _is_transform(tokens, i):
            transforms += 1
            if transforms > MAX_TRANSFORMS:
                return BlockDiagnostic(
                    "HE6008", token.start, token.end,
                    f"this block chains more than {MAX_TRANSFORMS} transforms: the PRQL compiler cannot take a "
                    "block this long; split it into several blocks, one `| (…)` stage after the other",
                )
    return None


def _is_transform(tokens: list[Token], i: int) -> bool:
    """A transform keyword that starts a step, or a `|` not followed by one (a step of its own)."""
    token = tokens[i]
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if token.is_op("|"):
        return after is None or not (after.kind == "ident" and after.text in _TRANSFORMS)
    if token.kind != "ident" or token.text not in _TRANSFORMS:
        return False
    before = tokens[i - 1] if i else None
    if before is not None and before.is_op("."):
        return False
    return not (after is not None and after.kind == "op" and after.text in _NAME_AFTER)
