"""`referenced_tables`: the names a block reads with `from NAME` and `join NAME`, without prqlc."""

from __future__ import annotations

from functools import lru_cache

from heddle_lang.relational.model import TableRef
from heddle_lang.relational.tokens import Token, tokenize


def significant(tokens: tuple[Token, ...]) -> list[Token]:
    return [t for t in tokens if t.kind not in ("comment", "newline")]


def ident_name(token: Token) -> tuple[str, int, int]:
    """An identifier's name and character range, without backticks."""
    if token.text.startswith("`"):
        inner_end = token.end - 1 if len(token.text) > 1 and token.text.endswith("`") else token.end
        return token.text[1 : inner_end - token.start], token.start + 1, inner_end
    return token.text, token.start, token.end


def referenced_tables(query: str) -> list[TableRef]:
    """The tables `query` reads, in order: `from [alias =] NAME`, `join [side:…] [alias =] NAME`.

    Offsets are characters into `query`; strings and comments are skipped. A `join (…)` of a nested
    pipeline contributes the tables of that pipeline instead.
    """
    return list(_referenced(query))


def declared_names(tokens: list[Token]) -> set[str]:
    """Names the block declares itself: `let NAME = ...` and the parameters of `let f = [func] a b -> ...`
    (`from rel` inside a function reads its parameter, not a table)."""
    names: set[str] = set()
    n = len(tokens)
    for i, token in enumerate(tokens):
        if not (token.is_word("let") and i + 2 < n and tokens[i + 1].kind == "ident" and tokens[i + 2].is_op("=")):
            continue
        names.add(ident_name(tokens[i + 1])[0])
        j = i + 3
        if j < n and tokens[j].is_word("func"):
            j += 1
        parameters: list[str] = []
        while j < n and not tokens[j].is_op("->"):
            if tokens[j].kind == "ident" and not (j > 0 and tokens[j - 1].is_op("<", ":")):
                parameters.append(ident_name(tokens[j])[0])
            elif not (tokens[j].kind == "ident" or tokens[j].is_op("<", ">", ":", ".")
                      or tokens[j].kind in ("number", "string")):
                parameters = []
                break
            j += 1
        if j < n and tokens[j].is_op("->"):
            names.update(parameters)
    return names


@lru_cache(maxsize=4096)
def _referenced(query: str) -> tuple[TableRef, ...]:
    tokens = significant(tokenize(query))
    declared = declared_names(tokens)
    out: list[TableRef] = []
    n = len(tokens)
    for i, token in enumerate(tokens):
        if not token.is_word("from", "join"):
            continue
        if i > 0 and tokens[i - 1].is_op(".", ":"):
            continue
        j = i + 1
        if j < n and tokens[j].is_op("=", ":", "."):
            continue  # `from = 1`, a field or a named argument called `from`
        if token.text == "join":
            # Named arguments: `side:left`.
            while j + 1 < n and tokens[j].kind == "ident" and tokens[j + 1].is_op(":"):
                j += 3
        # An alias: `from i = input`, `join u = users`.
        if j + 1 < n and tokens[j].kind == "ident" and tokens[j + 1].is_op("="):
            j += 2
        if j >= n or tokens[j].kind != "ident":
            continue
        name, start, end = ident_name(tokens[j])
        # A dotted name reads as one table name: `from db.users`.
        while j + 2 < n and tokens[j + 1].is_op(".") and tokens[j + 1].start == end and tokens[j + 2].kind == "ident":
            more, _, end = ident_name(tokens[j + 2])
            name = f"{name}.{more}"
            j += 2
        if name and name not in declared:
            out.append(TableRef(name, start, end - start, "from" if token.text == "from" else "join"))
    return tuple(out)
