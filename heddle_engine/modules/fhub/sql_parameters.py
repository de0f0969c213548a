"""The `@name` parameters of a SQL query, found without a SQL parser.

Every SQL connector binds `@name`s, and every check and run of a program with a database step asks for
them, so this scan stays cheap to import (sqlglot, which types a query offline, costs 0.1-0.2 s to load).
It skips what PostgreSQL's lexer skips: `'strings'` (`''` inside), `E'strings'` (backslash escapes),
`"identifiers"`, `$$dollar$$` and `$tag$dollar$tag$` strings, `-- comments` and nested `/* comments */`; a
`@@session_variable` is not a parameter. Text that does not lex (an unterminated string or comment) is read
by a plain pattern instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_FALLBACK_PARAMETER = re.compile(r"(?<![@\w])@([A-Za-z_]\w*)")
_NAME = re.compile(r"[A-Za-z_][\w$]*")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_]\w*)?\$")


class _UnterminatedError(Exception):
    pass


def sql_parameters(query: str) -> list[str]:
    """The `@name` parameters of a query, in order of first use (not those inside strings or comments)."""
    return list(dict.fromkeys(name for _, _, name in parameter_spans(query)))


def config_parameters(config: Mapping[str, object]) -> list[str]:
    """The parameters of a step whose config holds a `query`."""
    query = config.get("query")
    return sql_parameters(query) if isinstance(query, str) else []


def parameter_spans(query: str) -> list[tuple[int, int, str]]:
    """Each `@name` of a query outside strings and comments: (start, end, name), `query[start:end]` being
    `@name`, in order."""
    try:
        return _scan(query)
    except _UnterminatedError:
        return [(m.start(), m.end(), m.group(1)) for m in _FALLBACK_PARAMETER.finditer(query)]


def _scan(query: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    size = len(query)
    i = 0
    while i < size:
        char = query[i]
        if char == "'":
            escaped = i > 0 and query[i - 1] in "eE" and (i < 2 or not _word(query[i - 2]))
            i = _string_end(query, i + 1, backslash=escaped)
        elif char == '"':
            i = _closing(query, i + 1, '"')
        elif char == "-" and query.startswith("--", i):
            newline = query.find("\n", i)
            i = size if newline < 0 else newline + 1
        elif char == "/" and query.startswith("/*", i):
            i = _comment_end(query, i)
        elif char == "$" and (i == 0 or not _word(query[i - 1])):
            tag = _DOLLAR_TAG.match(query, i)
            if tag is None:
                i += 1
                continue
            end = query.find(tag.group(), tag.end())
            if end < 0:
                raise _UnterminatedError
            i = end + len(tag.group())
        elif char == "@":
            if query.startswith("@", i + 1):  # `@@session_variable`
                i += 2
                while i < size and (_word(query[i]) or query[i] == "$"):
                    i += 1
                continue
            name = _NAME.match(query, i + 1)
            if name is not None and _IDENTIFIER.fullmatch(name.group()):
                spans.append((i, name.end(), name.group()))
            i = name.end() if name is not None else i + 1
        elif _word(char):
            while i < size and (_word(query[i]) or query[i] == "$"):  # `a$1` is one name, not a dollar string
                i += 1
        else:
            i += 1
    return spans


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _string_end(query: str, i: int, *, backslash: bool) -> int:
    """Past the `'` that closes a string opened before `i` (`''` is a quote; `\\` escapes in an E-string)."""
    size = len(query)
    while i < size:
        char = query[i]
        if backslash and char == "\\":
            i += 2
            continue
        if char == "'":
            if query.startswith("'", i + 1):
                i += 2
                continue
            return i + 1
        i += 1
    raise _UnterminatedError


def _closing(query: str, i: int, quote: str) -> int:
    """Past the `quote` that closes an identifier opened before `i` (a doubled quote is part of it)."""
    size = len(query)
    while i < size:
        if query[i] == quote:
            if query.startswith(quote, i + 1):
                i += 2
                continue
            return i + 1
        i += 1
    raise _UnterminatedError


def _comment_end(query: str, i: int) -> int:
    """Past the `*/` that closes the comment opened at `i` (comments nest)."""
    depth = 0
    size = len(query)
    while i < size:
        if query.startswith("/*", i):
            depth += 1
            i += 2
        elif query.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise _UnterminatedError
