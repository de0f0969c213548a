"""The registry of diagnostic codes: each code is documented here once.

`docs/diagnostics.md` is generated from this table (`pytest tests/test_codes.py --update-snapshots`)
and a test keeps the two in step. Families: HE1xxx syntax, HE2xxx layout, HE3xxx names and imports,
HE4xxx resources and configuration, HE5xxx types and schemas, HE6xxx relational blocks, HE9xxx internal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str
    summary: str
    example: str = ""


_FAMILIES = {
    "1": "Syntax",
    "2": "Layout (spec §9)",
    "3": "Names and imports",
    "4": "Resources and configuration",
    "5": "Types and schemas",
    "6": "Relational blocks",
    "9": "Internal",
}

_TABLE = [
    # --- HE1xxx: syntax -------------------------------------------------------------------------
    Code("HE1001", "unexpected-token", "The parser met text that cannot stand here.", "workflow W { ) }"),
    Code("HE1002", "missing-token", "A token the construct needs is missing, e.g. a closing `}`.",
         'step s = pg.query {\n  query: "SELECT 1"\n'),
    Code("HE1003", "unterminated-string", "A string is not closed before the end of its line.",
         'host: "db.internal'),
    Code("HE1004", "unterminated-relational-block", "A relational block `(` has no matching `)`.",
         "| (from input select id"),
    Code("HE1005", "pipeline-outside-workflow",
         "A pipeline stands at top level; pipelines belong in a workflow or a handler.", "users | io.print"),
    Code("HE1006", "duplicate-injection",
         "Resources are injected both before and after the function; use one place.",
         "<connection=a> pg.query <connection=b>"),
    Code("HE1007", "invalid-escape", "A string contains an escape sequence Heddle does not know.", r'"a\q"'),
    Code("HE1008", "unquoted-value", "A config value is a bare word; strings need double quotes.",
         "host: localhost"),
    Code("HE1009", "misplaced-error-context",
         "`*` (the error context) can only start a pipeline inside a handler.", "workflow W {\n  *\n}"),
    Code("HE1010", "invalid-dataframe-row", "Each row of an inline dataframe must be a `{ ... }` dict.",
         "[1, 2]"),
    Code("HE1011", "unterminated-comment", "A block comment `/*` is never closed with `*/`.", "/* note"),
    Code("HE1012", "empty-injection", "`<>` injects nothing.", "pg.query <> { ... }"),
    Code("HE1013", "reserved-word", "A keyword is used as a name.", "step step = io.print"),
    # --- HE2xxx: strict layout ------------------------------------------------------------------
    Code("HE2001", "single-line-block",
         "A resource, step, handler or workflow block must span several lines.",
         'resource pg_db = pg.connection { host: "localhost" }'),
    Code("HE2002", "open-brace-not-at-line-end", "The `{` of a declaration block must end its line.",
         'step s = pg.query { query: "x"\n}'),
    Code("HE2003", "close-brace-not-alone", "The `}` of a declaration block must stand on its own line.",
         'step s = pg.query {\n  query: "x" }'),
    Code("HE2004", "wrong-indentation", "A line is not indented as its block requires (2 spaces a level).",
         'resource r = pg.connection {\nhost: "x"\n}'),
    Code("HE2005", "pipe-not-at-line-start", "The pipe operator `|` must start its own line.",
         "users | (select id)"),
    Code("HE2006", "assignment-not-at-line-start", "The assignment operator `>` must start its own line.",
         "fetch_users > users"),
    Code("HE2007", "tab-indentation", "Indentation uses tabs; Heddle indents with spaces.", "\t| io.print"),
    Code("HE2008", "missing-import-alias", "An import needs an explicit alias.", 'import "std/io"'),
    Code("HE2009", "statement-not-at-line-start",
         "A declaration or a pipeline must start its own line.", 'import "std/io" io import "fhub/kafka" kafka'),
]

CODES: dict[str, Code] = {entry.code: entry for entry in _TABLE}


def markdown() -> str:
    """The documentation table for every registered code."""
    lines = [
        "# Diagnostic codes",
        "",
        "Generated from `heddle_lang/codes.py` by `pytest tests/test_codes.py --update-snapshots`;"
        " do not edit by hand.",
        "",
    ]
    family = None
    for entry in _TABLE:
        if entry.code[2] != family:
            family = entry.code[2]
            lines += [f"## HE{family}xxx — {_FAMILIES[family]}", "", "| Code | Name | Meaning | Example |",
                      "|---|---|---|---|"]
        example = entry.example.replace("\n", "⏎").replace("|", "\\|")
        lines.append(f"| <a id=\"{entry.code}\"></a>`{entry.code}` | {entry.name} | {entry.summary} | "
                     f"`{example}` |")
        nxt = _TABLE.index(entry) + 1
        if nxt == len(_TABLE) or _TABLE[nxt].code[2] != family:
            lines.append("")
    return "\n".join(lines)

