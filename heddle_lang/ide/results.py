"""The values IDE queries answer with, free of any protocol's types."""

from __future__ import annotations

from dataclasses import field

from heddle_lang.diagnostics import TextEdit
from heddle_lang.records import record
from heddle_lang.text import Span


@record
class Location:
    """A place in this document (`span`), or in another file (`path` and 1-based `line`, with the range from
    `column` to `end_column` on it when known, in code points)."""

    span: Span | None = None
    path: str | None = None
    line: int = 1
    column: int | None = None
    end_column: int | None = None


@record
class Hover:
    markdown: str
    span: Span


@record
class CompletionItem:
    label: str
    kind: str  # "module" | "function" | "resource" | "step" | "handler" | "variable" | "property" | "keyword"
    #            | "field" | "value" | "snippet" | "table" | "column" | "transform"
    detail: str = ""
    documentation: str = ""  # markdown
    insert_text: str | None = None
    snippet: bool = False  # insert_text uses LSP snippet syntax ($1, ${1:default})
    replace: Span | None = None  # the text the item replaces (the word being typed)
    sort_text: str | None = None
    resolvable: bool = False  # its documentation was left for `completion.documentation` (`complete(lazy=True)`)


@record
class Symbol:
    name: str
    kind: str  # "import" | "resource" | "step" | "handler" | "workflow" | "assignment" | "pipeline" | "stage"
    span: Span
    selection: Span
    detail: str = ""
    children: tuple[Symbol, ...] = ()


@record
class Highlight:
    span: Span
    write: bool = False  # a definition (or an assignment) rather than a read


@record
class InlayHint:
    offset: int
    label: str
    tooltip: str = ""


@record
class CodeLens:
    span: Span
    title: str
    command: str
    arguments: tuple[object, ...] = ()


@record
class CodeAction:
    title: str
    kind: str  # "quickfix" | "source.fixAll" | "source.organizeImports" | "refactor.rewrite"
    edits: tuple[TextEdit, ...]
    diagnostics: tuple[int, ...] = ()  # indices into the analysis's diagnostics this action fixes
    preferred: bool = False


@record
class SemanticToken:
    span: Span  # on one line
    type: str  # LSP standard token types: "keyword", "function", "variable", "parameter", "property", ...
    modifiers: tuple[str, ...] = field(default=())


@record
class Folding:
    start_line: int  # 0-based
    end_line: int
    kind: str | None = None  # "comment" | "imports" | "region" | None
