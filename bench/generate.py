"""Realistic Heddle source of a given size, for benchmarks and tests.

`generate(lines, seed)` repeats varied declaration templates — imports, resources, steps with nested
configs, handlers, workflows with pipelines, relational blocks, inline dataframes, comments — with
unique names, until the text has exactly `lines` lines. The result is valid and in canonical layout:
`check_tree` reports nothing for it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

_MODULES = (
    ("std/io", "io"),
    ("database/postgresql", "pg"),
    ("fhub/clickhouse", "ch"),
    ("fhub/kafka", "kafka"),
    ("fhub/llm", "llm"),
    ("email/validate", "email"),
    ("fraud-score/detect", "fraud"),
)

_TABLES = ("users", "orders", "payments", "sessions", "events", "invoices", "devices", "accounts")
_WORDS = ("ingest", "enrich", "audit", "score", "dedupe", "notify", "archive", "rollup", "sync", "export")


class _Names:
    """Unique identifiers, and the declared names later templates may refer to."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counter = 0
        self.resources: dict[str, list[str]] = {"pg": [], "ch": [], "kafka": []}
        self.steps: list[str] = []  # sources: queries with id, user_id, email, amount
        self.prompts: list[str] = []  # steps that take an input
        self.handlers: list[str] = []

    def fresh(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}_{self.counter}"

    def word(self) -> str:
        return self.rng.choice(_WORDS)

    def table(self) -> str:
        return self.rng.choice(_TABLES)

    def extra(self) -> str:
        """A column besides the ones every query selects."""
        return self.rng.choice(("country", "created_at", "status", "score"))

    def resource(self, kind: str) -> str:
        return self.rng.choice(self.resources[kind])

    def step(self) -> str:
        return self.rng.choice(self.steps)

    def consumer(self) -> str:
        """A step that takes an input: a prompt if one is declared yet, else printing."""
        return self.rng.choice(self.prompts) if self.prompts else "io.print"

    def handler(self) -> str:
        return self.rng.choice(self.handlers)


Template = Callable[[_Names], list[str]]


def _pg_resource(n: _Names) -> list[str]:
    name = n.fresh("pg_db")
    n.resources["pg"].append(name)
    return [
        f"// PostgreSQL connection for the {n.word()} jobs",
        f"resource {name} = pg.connection {{",
        f'  host: "{name.replace("_", "-")}.internal"',
        f"  port: {5432 + n.counter % 10}",
        f'  database: "{n.table()}"',
        f"  connect_timeout: {5 + n.counter % 20}",
        "}",
    ]


def _ch_resource(n: _Names) -> list[str]:
    name = n.fresh("ch_db")
    n.resources["ch"].append(name)
    return [
        f"resource {name} = ch.connection {{",
        f'  host: "{name.replace("_", "-")}.internal"',
        "  secure: true",
        "}",
    ]


def _kafka_resource(n: _Names) -> list[str]:
    name = n.fresh("kf_broker")
    n.resources["kafka"].append(name)
    return [
        "/* Kafka broker: one per cluster,",
        "   shared by every workflow below. */",
        f"resource {name} = kafka.connection {{",
        f'  broker: "kafka-{n.counter}.internal:9092"',
        f'  client_id: "{n.word()}-{n.counter}"',
        '  security_protocol: "PLAINTEXT"',
        "}",
    ]


def _query_step(n: _Names) -> list[str]:
    name = n.fresh(f"fetch_{n.table()}")
    n.steps.append(name)
    table = n.table()
    return [
        f"// Rows of {table} changed since the last run",
        f"step {name} = <connection={n.resource('pg')}> pg.query {{",
        f'  query: "SELECT id, user_id, email, amount, {n.extra()} FROM {table} WHERE updated_at > @since"',
        "}",
    ]


def _inline_injection_step(n: _Names) -> list[str]:
    name = n.fresh(f"{n.word()}_metrics")
    n.steps.append(name)
    return [
        f"step {name} = ch.query <connection={n.resource('ch')}> {{",
        '  query: """',
        "    SELECT id, user_id, email, sum(amount) AS amount, count(*) AS total",
        f"    FROM {n.table()} -- é-42",
        "    GROUP BY 1, 2, 3",
        '  """',
        "}",
    ]


def _prompt_step(n: _Names) -> list[str]:
    name = n.fresh("summarize")
    n.prompts.append(name)
    return [
        f"step {name} = llm.prompt {{",
        f'  system: "Summarize the {n.word()} report in one paragraph.\\n Keep numbers exact."',
        "  temperature: 0.2",
        f'  output_column: "summary_{n.counter}"',
        "}",
    ]


def _handler(n: _Names) -> list[str]:
    name = n.fresh("on_fail")
    n.handlers.append(name)
    lines = [
        f"handler {name} {{",
        "  *",
        "    | io.stderr",
    ]
    if n.rng.random() < 0.5:
        lines += [
            "",
            "  *",
            "    | (from input select error_msg, stack_trace)",
            f"    | <broker={n.resource('kafka')}> kafka.produce {{ topic: \"dlq_{n.counter}\" }}",
        ]
    lines.append("}")
    return lines


def _workflow(n: _Names) -> list[str]:
    name = n.fresh(f"{n.word().capitalize()}Flow")
    source, threshold = n.step(), 10 * (1 + n.counter % 100)
    batch = n.fresh("batch")
    return [
        f"// Workflow {name}: {n.word()} then {n.word()}",
        f"workflow {name} ? {n.handler()} {{",
        f"  <broker={n.resource('kafka')}> kafka.consume {{",
        f'    topic: "{n.word()}_in"',
        '    schema: { user_id: "Int64", amount: "Float64", email: "String" }',
        "  }",
        f"  > {batch}",
        "",
        f"  {batch}",
        "    | (",
        "        from input",
        f"        filter amount > {threshold}",
        "        select {user_id, amount} # keep it narrow",
        "      )",
        f"    | fraud.process ? {n.handler()}",
        f"    | (from input join {source} (==user_id))",
        f"    | {n.consumer()}",
        f"    | <broker={n.resource('kafka')}> kafka.produce {{ topic: \"{n.word()}_out\" }}",
        "}",
    ]


def _small_workflow(n: _Names) -> list[str]:
    name = n.fresh("Report")
    rows = n.fresh("rows")
    return [
        f"workflow {name} {{",
        f"  {n.step()}",
        f"  > {rows}",
        "",
        f"  {rows}",
        "    // Validate, then print what survived",
        "    | email.exists",
        "    | (from input select id, email)",
        "    | io.print",
        "}",
    ]


def _dataframe_workflow(n: _Names) -> list[str]:
    name = n.fresh("Seed")
    return [
        f"workflow {name} ? {n.handler()} {{",
        "  [",
        '    { id: 1, name: "Zoë", city: "Zürich" },',
        '    { id: 2, name: "Kenji", city: "東京" },',
        "  ]",
        f"    | (from input filter id > {n.counter % 7} select {{name, city}})",
        f"    | {n.consumer()}",
        "    | io.print",
        "}",
    ]


# Templates that need earlier declarations come after the ones that provide them.
_PROVIDERS: tuple[Template, ...] = (_pg_resource, _ch_resource, _kafka_resource, _query_step, _handler)
_TEMPLATES: tuple[Template, ...] = (
    _pg_resource,
    _ch_resource,
    _kafka_resource,
    _query_step,
    _inline_injection_step,
    _prompt_step,
    _handler,
    _workflow,
    _small_workflow,
    _dataframe_workflow,
)


def generate(lines: int, seed: int = 0) -> str:
    """Valid, canonically laid out Heddle source of exactly `lines` lines (newline-terminated)."""
    rng = random.Random(seed)
    names = _Names(rng)
    out = ["// Generated Heddle program: a data platform with many pipelines."]
    out += [f'import "{path}" {alias}' for path, alias in _MODULES]
    for template in _PROVIDERS:
        out += ["", *template(names)]
    if len(out) > lines:
        raise ValueError(f"cannot generate a valid program in {lines} lines: the smallest takes {len(out)}")
    while True:
        block = ["", *rng.choice(_TEMPLATES)(names)]
        if len(out) + len(block) > lines:
            break
        out += block
    if lines - len(out) >= 2:
        out.append("")
    while len(out) < lines:
        out.append(f"// end of the program: line {len(out) + 1}")
    return "\n".join(out) + "\n"
