"""The registry of diagnostic codes: each code is documented here once.

`docs/diagnostics.md` is generated from this table (`pytest tests/test_codes.py --update-snapshots`)
and a test keeps the two in step. Families: HE1xxx syntax, HE2xxx layout, HE3xxx names and imports,
HE4xxx resources and configuration, HE5xxx types and schemas, HE6xxx relational blocks, HE9xxx internal.
"""

from __future__ import annotations

from heddle_lang.records import record


@record
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
    Code("HE1014", "nesting-too-deep", "Config values are nested more than 32 levels deep.", "[[[[...]]]]"),
    Code("HE1015", "invalid-utf8",
         "The file is not valid UTF-8; the first bad byte is reported, nothing else is checked, and `heddle fmt` "
         "leaves the file alone. Heddle files are UTF-8.", ""),
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
    # --- HE3xxx: names and imports --------------------------------------------------------------
    Code("HE3001", "unknown-import", "No module answers to this import path.", 'import "fhub/postgres" pg'),
    Code("HE3002", "duplicate-alias", "Two imports use the same alias.", 'import "a/b" m\nimport "c/d" m'),
    Code("HE3003", "unknown-alias", "A call names a module alias that no import declares.", "| io.print (no import)"),
    Code("HE3004", "unknown-function", "The module has no function or resource of that name.", "pg.qurey"),
    Code("HE3005", "undefined-name", "A name is neither a step nor an assignment in scope.", "| fetch_user"),
    Code("HE3006", "duplicate-declaration", "Two declarations share a name.", "step a = ...\nstep a = ..."),
    Code("HE3007", "used-before-assignment", "An assignment is read before the pipeline that makes it.",
         "users\n  | io.print\nfetch\n  > users"),
    Code("HE3008", "assignment-shadows-declaration", "An assignment takes the name of a step or resource.",
         "> fetch_users"),
    Code("HE3009", "duplicate-assignment", "A workflow assigns the same name twice.", "> users ... > users"),
    Code("HE3010", "unknown-handler", "`? name` names no handler.", "? on_fial"),
    Code("HE3011", "input-at-pipeline-start", "`from input` in the first stage of a pipeline: nothing flows in.",
         "(from input select id)"),
    Code("HE3012", "unused-declaration", "A declaration or assignment is never used.", 'import "std/io" io'),
    Code("HE3013", "not-a-table", "A pipeline names a resource, handler or workflow where data must flow.",
         "| pg_db"),
    Code("HE3014", "not-a-resource", "An injection names something that is not a resource.",
         "<connection=fetch_users>"),
    Code("HE3015", "handler-without-error-context", "A handler pipeline must start with `*`.",
         "handler h {\n  users\n}"),
    Code("HE3016", "resource-used-as-function", "A resource constructor is called as a step, or the reverse.",
         "step s = pg.connection { ... }"),
    Code("HE3017", "module-read-from-source",
         "A warning of the editor: the module could not be imported in its environment, so its functions were "
         "read from the plugin's source, their types unchecked (`heddle check` and `heddle run` need the import).",
         "import \"ml/score\" ml (No module named 'sklearn')"),
    Code("HE3018", "library-not-found",
         "A `.he` library cannot be read: no such file, not UTF-8, outside the project, or a text with no file.",
         'import "./shared/platfrom.he" platform'),
    Code("HE3019", "import-cycle", "`.he` libraries import each other in a cycle; the import closing it is refused.",
         'a.he: import "./b.he" b, b.he: import "./a.he" a'),
    Code("HE3020", "library-has-errors",
         "The imported library has errors, reported in its own file; this says so once, at the import.",
         'import "./shared/platform.he" platform'),
    Code("HE3021", "private-library-name",
         "A library's name starting with `_` is private to its file, and its workflows are never imported.",
         "<connection=platform._staging_db>"),
    # --- HE4xxx: resources and configuration ----------------------------------------------------
    Code("HE4001", "unknown-resource-key", "The function accepts no resource under this key.",
         "<conection=pg_db> pg.query"),
    Code("HE4002", "wrong-resource-kind", "The resource injected under this key is of the wrong kind.",
         "<connection=kafka_broker> pg.query"),
    Code("HE4003", "missing-resource", "The function needs a resource that is not injected.", "pg.query { ... }"),
    Code("HE4004", "unknown-config-key", "The config has a key the function does not know.", "{ qurey: ... }"),
    Code("HE4005", "missing-config-key", "A required config key is missing.", "pg.query { }"),
    Code("HE4006", "wrong-value-type", "A config value has the wrong type.", "port: \"5432\""),
    Code("HE4007", "duplicate-config-key", "A config key is given twice.", "{ a: 1, a: 2 }"),
    Code("HE4008", "duplicate-resource-key", "A resource key is injected twice.", "<connection=a, connection=b>"),
    Code("HE4009", "invalid-retry-policy", "A call's `retry` policy is malformed: attempts out of range, a bad "
         "duration, an unknown backoff, a jitter outside 0 to 1.", "retry: { attempts: 0, delay: \"soon\" }"),
    Code("HE4010", "invalid-timeout", "A call's `timeout` is not a duration longer than 0 and at most a week.",
         "timeout: \"soon\""),
    Code("HE4011", "path-outside-project", "A file path in a config points outside the project, in no folder its "
         "`heddle.toml` allows under `[paths] allow`.", "io.read_csv { path: \"../../etc/passwd\" }"),
    Code("HE4012", "invalid-profile-value",
         "A profile of `heddle.toml` sets a key the resource does not have, a value of the wrong type, or a value "
         "from an environment variable that is not set (reported at the resource the profile changes).",
         "[profiles.local.resources.pg_db] hots = \"127.0.0.1\""),
    Code("HE4013", "unknown-profile-resource",
         "A profile of `heddle.toml` sets a resource no `.he` file of the project declares (reported in "
         "`heddle.toml`).", "[profiles.local.resources.pg_dbb]"),
    # --- HE5xxx: types and schemas --------------------------------------------------------------
    Code("HE5001", "missing-columns", "A stage's input lacks columns its function requires.",
         "| email_validate.exists (no email column)"),
    Code("HE5002", "incompatible-column-type", "An input column has a type the function cannot take.",
         "amount: String where Float64 is required"),
    Code("HE5003", "needs-input", "A function that takes an input stands first in a pipeline.", "io.print"),
    Code("HE5004", "inference-failed", "The function's inference hook could not type the stage.",
         "pg.query { query: \"not sql\" }"),
    Code("HE5005", "takes-no-input", "A source function is piped into.", "| kafka.consume { ... }"),
    Code("HE5006", "undeclared-schema", "Columns are read from data whose schema is not declared.",
         "kafka.consume without schema"),
    Code("HE5007", "inconsistent-dataframe", "The rows of an inline dataframe disagree on columns or types.",
         "[{ a: 1 }, { a: \"x\" }]"),
    Code("HE5008", "query-refused",
         "The database a query step is injected with was asked at check time what the query returns, and refused "
         "it (a missing table or column, a syntax error): the warning gives its message.",
         "pg.query { query: \"SELECT id FROM userz\" }"),
    # --- HE6xxx: relational blocks --------------------------------------------------------------
    Code("HE6001", "prql-syntax", "The relational block is not valid PRQL.", "(from input selec id)"),
    Code("HE6002", "unknown-table", "`from` or `join` names no step, assignment or `input`.", "(from userz)"),
    Code("HE6003", "unknown-column", "The block reads a column its tables do not have.", "select {emial}"),
    Code("HE6004", "ambiguous-column", "A column name belongs to more than one joined table.", "select {id}"),
    Code("HE6005", "non-canonical-prql", "SQL habits inside PRQL (`=`, `and`, `where` in a join, `concat`).",
         "join users where a.id = b.id"),
    Code("HE6006", "relational-type-error", "The block's expressions do not type-check on its input schema.",
         'filter name > 3'),
    Code("HE6007", "unsupported-relational", "The block uses a construct the engine cannot compute exactly as PRQL "
         "defines it (the message names it and what to write instead).", "s\"...\""),
    Code("HE6008", "relational-block-too-complex",
         "The block chains more than 128 transforms or nests brackets more than 64 deep: more than the PRQL "
         "compiler can take (it would crash); split it into several `| (…)` stages.",
         "(from input | filter a > 0 | filter a > 0 | …)"),
    Code("HE6009", "relational-compiler-failed",
         "The PRQL compiler crashed or overran its time on this block. It runs in a process of its own, so "
         "only this block is lost; the process is restarted.", ""),
    # --- HE9xxx: internal -----------------------------------------------------------------------
    Code("HE9001", "internal-error", "A bug in Heddle, not in your program: please report it with the input.",
         ""),
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

