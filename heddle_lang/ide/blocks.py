"""Inside relational blocks `( ... )`: hover and completion of PRQL tables, columns and transforms.

Positions inside a block's text are characters (the relational layer's unit); `BlockInfo` converts them
to and from the document's byte offsets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from heddle_lang.catalog import FunctionSpec
from heddle_lang.ide.context import Cursor
from heddle_lang.ide.describe import TRANSFORMS, schema_inline, schema_table
from heddle_lang.ide.results import CompletionItem, Hover
from heddle_lang.ide.schemas import BlockInfo, assignments_before, definition_output, member
from heddle_lang.relational import referenced_tables
from heddle_lang.relational.tokens import Token as PrqlToken
from heddle_lang.relational.tokens import tokenize
from heddle_lang.semantic.model import Analysis, Definition
from heddle_lang.text import Span
from heddle_lang.types import Schema, dtype_name

Describe = Callable[[Definition], list[str]]  # markdown paragraphs about a declared name


# --- hover ------------------------------------------------------------------------------------------


def block_hover(analysis: Analysis, block: BlockInfo, offset: int, describe: Describe) -> Hover | None:
    """The hover at `offset` inside `block`: a table, a column, a transform, or the block's schemas."""
    index = block.char_offset(offset, analysis.tree.data)
    tokens = tokenize(block.query)
    position = next((i for i, t in enumerate(tokens) if t.start <= index < t.end), None)
    if position is not None and tokens[position].kind == "ident":
        found = _word(analysis, block, tokens, position, describe)
        if found is not None:
            return found
    if position is not None and tokens[position].kind in ("string", "comment"):
        return None
    return Hover(_block_markdown(block), block.span)


def _block_markdown(block: BlockInfo) -> str:
    parts = ["**relational block** (PRQL)"]
    for name, schema in block.tables.items():
        what = "piped in" if name == "input" else "table"
        parts.append(f"**`{name}`** ({what})\n\n{schema_table(schema)}")
    parts.append("**Output**\n\n" + schema_table(block.output))
    if block.sql:
        parts.append(f"```sql\n{block.sql}\n```")
    return "\n\n".join(parts)


def _word(analysis: Analysis, block: BlockInfo, tokens: tuple[PrqlToken, ...], i: int,
          describe: Describe) -> Hover | None:
    token = tokens[i]
    name = token.text.strip("`")
    span = Span(block.byte_offset(token.start), block.byte_offset(token.end))
    aliases = prql_aliases(tokens)
    prev = tokens[i - 1] if i > 0 else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    is_table = any(r.offset <= token.start < r.end for r in referenced_tables(block.query))
    if is_table or (after is not None and after.is_op(".") and after.start == token.end):
        table = aliases.get(name, name)
        schema = block.tables.get(table)
        use = next((u for u in analysis.uses if u.span == span and u.target is not None), None)
        head = f"**table** `{table}`" + (" (the piped-in rows)" if table == "input" else "")
        parts = [head]
        if use is not None and use.target is not None:
            parts = [p for p in describe(use.target) if not p.startswith("**Output**")]
        parts.append(schema_table(schema) if schema is not None else "_unknown table_")
        return Hover("\n\n".join(parts), span)
    if prev is not None and prev.is_op(".") and i >= 2 and tokens[i - 2].kind == "ident":
        qualifier = tokens[i - 2].text.strip("`")
        table = aliases.get(qualifier, qualifier)
        return _column(block, name, span, [table] if table in block.tables else [])
    if name in TRANSFORMS and (prev is None or not prev.is_op(".", "=", ":")):
        return Hover(f"**{name}** (PRQL transform)\n\n{TRANSFORMS[name]}", span)
    order = [block.main, *(t for t in block.tables if t != block.main)]
    return _column(block, name, span, order)


def _column(block: BlockInfo, name: str, span: Span, tables: list[str]) -> Hover | None:
    for table in tables:
        schema = block.tables.get(table)
        column = schema.get(name) if schema is not None else None
        if column is not None:
            return Hover(f"**column** `{name}`: {dtype_name(column.dtype)}\n\nof `{table}`", span)
    if block.output is not None and block.output.get(name) is not None:
        column = block.output.get(name)
        assert column is not None
        return Hover(f"**column** `{name}`: {dtype_name(column.dtype)}\n\ncomputed by this block", span)
    open_tables = [t for t in tables if block.tables.get(t, Schema()).open]
    if open_tables:
        return Hover(f"**column** `{name}`: type known when the workflow runs\n\n`{open_tables[0]}` has an "
                     "open schema", span)
    return None


# --- completion -------------------------------------------------------------------------------------


def block_completions(analysis: Analysis, cursor: Cursor, block: BlockInfo) -> list[CompletionItem]:
    """Completion at the cursor inside `block`: transforms, tables after `from`/`join`, columns."""
    return _Relational(analysis, cursor, block).items()


class _Relational:
    """Completion inside `( ... )`: transforms, tables and columns."""

    def __init__(self, analysis: Analysis, cursor: Cursor, block: BlockInfo) -> None:
        self.analysis = analysis
        self.cursor = cursor
        self.block = block
        self.word = cursor.word()

    def items(self) -> list[CompletionItem]:
        return [replace(i, replace=self.word) for i in self.candidates()]

    def candidates(self) -> list[CompletionItem]:
        block = self.block
        index = block.char_offset(self.cursor.offset, self.cursor.data)
        tokens = list(tokenize(block.query[:index]))
        if tokens and tokens[-1].end == index and _unfinished(tokens[-1]):
            return []
        if tokens and tokens[-1].kind == "ident" and tokens[-1].end == index:
            tokens.pop()  # the word being typed
        code = [t for t in tokens if t.kind != "comment"]
        prev = code[-1] if code else None
        if prev is not None and prev.is_op(".") and len(code) >= 2 and code[-2].kind == "ident" \
                and code[-2].end == prev.start:
            return self.columns_of_qualifier(code[-2].text.strip("`"), tokens)
        if _table_position(code):
            return self.tables()
        bracket = _innermost(code)
        if prev is None or prev.is_op("|") or (prev.kind == "open" and prev.text == "(") \
                or (prev.kind == "newline" and bracket in ("", "(")):
            return self.transforms()
        if prev.kind in ("op", "comma", "open", "newline") or prev.is_word(*TRANSFORMS):
            return self.columns()
        return self.columns() + (self.transforms() if bracket in ("", "(") else [])

    def transforms(self) -> list[CompletionItem]:
        return [CompletionItem(name, "transform", "PRQL transform", doc, sort_text=f"5{name}")
                for name, doc in TRANSFORMS.items()]

    def tables(self) -> list[CompletionItem]:
        items = []
        if not self.block.is_source:
            schema = self.block.tables.get("input")
            items.append(CompletionItem("input", "table", schema_inline(schema, 60) if schema else "the piped-in rows",
                                        "The rows piped into this block." + (
                                            "\n\n" + schema_table(schema) if schema else ""), sort_text="0"))
        for definition in assignments_before(self.analysis, self.block.span.start):
            schema = definition_output(self.analysis, definition)
            items.append(CompletionItem(definition.name, "table", schema_inline(schema, 60) if schema else "assignment",
                                        schema_table(schema) if schema else "", sort_text=f"1{definition.name}"))
        for definition in self.analysis.declarations_as_built():
            if definition.kind != "step":
                continue
            schema = definition_output(self.analysis, definition)
            # A step read as a table runs with no input: those that need one come last.
            alias, _, name = definition.detail.partition(".")
            spec = member(self.analysis, alias, name)
            rank = 3 if isinstance(spec, FunctionSpec) and spec.takes_input else 2
            items.append(CompletionItem(definition.name, "table", f"step = {definition.detail}",
                                        schema_table(schema) if schema else "", sort_text=f"{rank}{definition.name}"))
        return items

    def columns(self) -> list[CompletionItem]:
        block = self.block
        order = [block.main, *(t for t in block.tables if t != block.main)]
        seen: set[str] = set()
        items = []
        for rank, table in enumerate(order):
            schema = block.tables.get(table)
            if schema is None:
                continue
            for column in schema.columns:
                if column.name in seen:
                    continue
                seen.add(column.name)
                items.append(_column_item(column.name, dtype_name(column.dtype), table, rank))
        return items

    def columns_of_qualifier(self, qualifier: str, tokens: list[PrqlToken]) -> list[CompletionItem]:
        aliases = prql_aliases(tokens)
        table = aliases.get(qualifier, qualifier)
        if table in ("this", "that"):
            table = self.block.main
        schema = self.block.tables.get(table)
        if schema is None:
            return []
        return [_column_item(c.name, dtype_name(c.dtype), table, 0) for c in schema.columns]


def _column_item(name: str, dtype: str, table: str, rank: int) -> CompletionItem:
    plain = name.isidentifier() and name.isascii()
    return CompletionItem(name, "column", f"{dtype} · {table}", f"`{name}`: {dtype}, a column of `{table}`",
                          insert_text=None if plain else f"`{name}`", sort_text=f"{rank}{name}")


def _unfinished(token: PrqlToken) -> bool:
    """A comment, or a string the cursor is still inside."""
    if token.kind == "comment":
        return True
    if token.kind != "string":
        return False
    text = token.text.lstrip("fsrFSR")
    if not text:
        return False
    quote = text[0]
    if text.startswith(quote * 3):
        return len(text) < 6 or not text.endswith(quote * 3)
    return len(text) < 2 or not text.endswith(quote)


def _table_position(code: list[PrqlToken]) -> bool:
    """After `from`, `join`, `join side:left`, or an alias `from x =`."""
    j = len(code) - 1
    if j >= 0 and code[j].is_op("=") and j >= 2 and code[j - 1].kind == "ident" and code[j - 2].is_word("from", "join"):
        return True
    while j >= 2 and code[j].kind == "ident" and code[j - 1].is_op(":") and code[j - 2].kind == "ident":
        j -= 3
    return j >= 0 and code[j].is_word("from", "join") and (j == 0 or not code[j - 1].is_op(".", ":"))


def _innermost(code: list[PrqlToken]) -> str:
    """The innermost bracket still open before the cursor ("" at the top)."""
    stack: list[str] = []
    for token in code:
        if token.kind == "open":
            stack.append(token.text)
        elif token.kind == "close" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def prql_aliases(tokens: Sequence[PrqlToken]) -> dict[str, str]:
    """`from u = users`, `join o = orders`: alias → table name."""
    out: dict[str, str] = {}
    code = [t for t in tokens if t.kind not in ("comment", "newline")]
    for i in range(len(code) - 3):
        if code[i].is_word("from", "join") and code[i + 1].kind == "ident" and code[i + 2].is_op("=") \
                and code[i + 3].kind == "ident":
            out[code[i + 1].text.strip("`")] = code[i + 3].text.strip("`")
    return out
