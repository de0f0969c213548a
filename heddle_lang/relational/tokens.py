"""PRQL tokens with character offsets, and the bracket tree built from them.

Strings and comments come from `heddle_lang.syntax.prql_lex` (the same rules as the grammar's scanner);
the code between them is split here into identifiers, numbers, operators, brackets, commas and line
breaks. A string prefix (`f"…"`, `s"…"`, `r"…"`) belongs to its string token. Nothing here raises:
any character the rules do not know becomes an `other` token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from heddle_lang.records import record
from heddle_lang.syntax.prql_lex import pieces

# Ordered alternatives: longer operators before their prefixes.
_CODE = re.compile(
    r"""
    (?P<newline>\r\n?|\n)
   |(?P<space>[ \t\f\v]+)
   |(?P<ident>`[^`\r\n]*`?)
   |(?P<date>@[^\s(){}\[\],|]+)
   |(?P<number>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?[^\W\d]*)
   |(?P<word>[^\W\d]\w*)
   |(?P<op>==|!=|>=|<=|<>|->|=>|&&|\|\||\?\?|~=|\.\.|\*\*|//|[-+*/%<>=!|.:~&^?$;\\@])
   |(?P<open>[(\[{])
   |(?P<close>[)\]}])
   |(?P<comma>,)
   |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

OPENERS = {"(": ")", "[": "]", "{": "}"}


@record
class Token:
    """kind: ident | number | date | string | comment | op | open | close | comma | newline | other."""

    kind: str
    text: str
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


@lru_cache(maxsize=1024)
def tokenize(text: str) -> tuple[Token, ...]:
    """Every token of `text` except blanks, in order."""
    out: list[Token] = []
    for piece in pieces(text):
        if piece.kind == "comment":
            out.append(Token("comment", text[piece.start : piece.end], piece.start, piece.end))
            continue
        if piece.kind == "string":
            start = piece.start
            last = out[-1] if out else None
            # `f"…"`: the prefix letter is the word right before the quote.
            if last is not None and last.kind == "ident" and last.end == start and last.text in ("f", "s", "r"):
                out.pop()
                start = last.start
            out.append(Token("string", text[start : piece.end], start, piece.end))
            continue
        for match in _CODE.finditer(text, piece.start, piece.end):
            kind = match.lastgroup or "other"
            if kind == "space":
                continue
            if kind == "word":
                kind = "ident"
            out.append(Token(kind, match.group(), match.start(), match.end()))
    return tuple(out)


@dataclass(slots=True)
class Group:
    """A bracketed run of tokens (the root has no brackets). `close` is None when unbalanced."""

    open: Token | None
    children: list[Token | Group] = field(default_factory=list)
    close: Token | None = None

    @property
    def start(self) -> int:
        if self.open is not None:
            return self.open.start
        return self.children[0].start if self.children else 0

    @property
    def end(self) -> int:
        if self.close is not None:
            return self.close.end
        if self.children:
            return self.children[-1].end
        return self.open.end if self.open is not None else 0

    @property
    def bracket(self) -> str:
        return self.open.text if self.open is not None else ""

    def significant(self) -> list[Token | Group]:
        """Children that are not comments or line breaks."""
        return [c for c in self.children if not (isinstance(c, Token) and c.kind in ("comment", "newline"))]


def build_tree(tokens: tuple[Token, ...]) -> Group:
    """Nest tokens by brackets. A stray closer stays a plain token; an unclosed group ends the text."""
    root = Group(None)
    stack = [root]
    for token in tokens:
        top = stack[-1]
        if token.kind == "open":
            group = Group(token)
            top.children.append(group)
            stack.append(group)
        elif token.kind == "close" and len(stack) > 1 and OPENERS[top.bracket] == token.text:
            top.close = token
            stack.pop()
        elif token.kind == "close" and any(OPENERS[g.bracket] == token.text for g in stack[1:]):
            # Close the inner groups left open, then this one.
            while len(stack) > 1 and OPENERS[stack[-1].bracket] != token.text:
                stack.pop()
            stack[-1].close = token
            stack.pop()
        else:
            top.children.append(token)
    return root


@lru_cache(maxsize=256)
def bracket_tree(text: str) -> Group:
    """`build_tree(tokenize(text))`, built once per text (a shared value: read it, never change it)."""
    return build_tree(tokenize(text))


def first_token(node: Token | Group) -> Token | None:
    if isinstance(node, Token):
        return node
    return node.open


def last_end(nodes: list[Token | Group]) -> int:
    return nodes[-1].end if nodes else 0
