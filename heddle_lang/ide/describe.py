"""Markdown for hovers and completion documentation: schemas, config fields, functions and modules."""

from __future__ import annotations

from heddle_lang.catalog import FunctionSpec, ModuleSpec, ResourceSlot, ResourceSpec, SourceLocation
from heddle_lang.types import Column, Field, Schema, ValueType, dtype_name

MAX_ROWS = 40


def schema_table(schema: Schema | None) -> str:
    """A `column | type` markdown table; a note for open or unknown schemas."""
    if schema is None:
        return "_unknown_"
    if not schema.columns:
        return "_unknown until run time_" if schema.open else "_no columns_"
    rows = ["| column | type |", "|---|---|"]
    rows += [f"| `{_cell(c.name)}` | {_cell(dtype_name(c.dtype))} |" for c in schema.columns[:MAX_ROWS]]
    if len(schema.columns) > MAX_ROWS:
        rows.append(f"| … | {len(schema.columns) - MAX_ROWS} more |")
    if schema.open:
        rows.append("| … | _more columns may come (open schema)_ |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def schema_inline(schema: Schema, limit: int = 0) -> str:
    """`{id: Int64, email: String}`; with `limit`, cut with `…` to about that many characters."""
    parts = [str(c) for c in schema.columns]
    if schema.open:
        parts.append("...")
    text = "{" + ", ".join(parts) + "}"
    if not limit or len(text) <= limit:
        return text
    kept: list[str] = []
    size = 1
    for part in parts:
        if size + len(part) + 2 > limit - 2 and kept:
            break
        kept.append(part)
        size += len(part) + 2
    return "{" + ", ".join(kept) + ", …}"


def schema_lines(schema: Schema) -> str:
    """One `name: Type` a line (plain text, for tooltips)."""
    lines = [str(c) for c in schema.columns]
    if schema.open:
        lines.append("... (more columns may come)")
    return "\n".join(lines) or "(no columns)"


def column_line(column: Column) -> str:
    return f"`{column.name}`: {dtype_name(column.dtype)}"


def field_summary(field: Field) -> str:
    """`key: str` — required/optional, default."""
    text = f"`{field.name}`: `{field.type}`"
    if field.required:
        text += " — required"
    else:
        text += " — optional"
        if field.default is not None:
            text += f", default `{_literal(field.default)}`"
    if field.secret:
        text += " (secret)"
    return text


def field_markdown(field: Field, owner: str) -> str:
    parts = [f"**config** {field_summary(field)}", f"of `{owner}`"]
    if field.doc:
        parts.append(field.doc)
    return "\n\n".join(parts)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def slot_summary(slot: ResourceSlot) -> str:
    return f"`{slot.key}`: `{slot.kind}` — {'required' if slot.required else 'optional'}"


def location_text(location: SourceLocation | None) -> str:
    return f"Defined in `{location.path}:{location.line}`" if location is not None else ""


def signature(qualified: str, function: FunctionSpec) -> str:
    """`pg.query <connection: postgresql.connection> { query: str }`."""
    text = qualified
    if function.resources:
        slots = ", ".join(f"{s.key}{'' if s.required else '?'}: {s.kind}" for s in function.resources)
        text += f" <{slots}>"
    keys = ", ".join(f"{f.name}{'' if f.required else '?'}: {f.type}" for f in function.config.fields)
    if function.config.open:
        keys = f"{keys}, ..." if keys else "..."
    if keys:
        text += f" {{ {keys} }}"
    return text


def output_text(function: FunctionSpec) -> str:
    if function.infer is not None:
        return "inferred from its config" + (" and input" if function.takes_input else "")
    if function.passthrough:
        if function.output is not None and function.output.columns:
            return f"its input, plus {schema_inline(function.output)}"
        return "its input, passed through"
    if function.output is not None:
        return schema_inline(function.output)
    return "unknown until run time"


def input_text(function: FunctionSpec) -> str:
    if not function.takes_input:
        return "none: it starts a pipeline"
    if not function.input.columns:
        return "any table"
    columns = ", ".join(column_line(c) for c in function.input.columns)
    return f"needs {columns}" + (" (other columns pass along)" if function.input.open else "")


def function_markdown(qualified: str, function: FunctionSpec, module_path: str) -> str:
    parts = [f"```heddle\n{signature(qualified, function)}\n```", f"**function** of `{module_path}`"]
    if function.doc:
        parts.append(function.doc)
    if function.config.fields or function.config.open:
        lines = [f"- {field_summary(f)}" + (f". {_first_line(f.doc)}" if f.doc else "")
                 for f in function.config.fields]
        if function.config.open:
            lines.append("- any other key")
        parts.append("**Config**\n" + "\n".join(lines))
    if function.resources:
        parts.append("**Resources**\n" + "\n".join(f"- {slot_summary(s)}" for s in function.resources))
    parts.append(f"**Input**: {input_text(function)}  \n**Output**: {output_text(function)}")
    if function.location is not None:
        parts.append(location_text(function.location))
    return "\n\n".join(parts)


def resource_spec_markdown(qualified: str, spec: ResourceSpec, module_path: str) -> str:
    parts = [f"```heddle\nresource NAME = {qualified}\n```",
             f"**resource constructor** of `{module_path}`: makes a `{spec.kind}`"]
    if spec.doc:
        parts.append(spec.doc)
    if spec.config.fields:
        parts.append("**Config**\n" + "\n".join(
            f"- {field_summary(f)}" + (f". {_first_line(f.doc)}" if f.doc else "") for f in spec.config.fields))
    if spec.location is not None:
        parts.append(location_text(spec.location))
    return "\n\n".join(parts)


def module_markdown(alias: str | None, module: ModuleSpec | None, path: str) -> str:
    head = f"**module** `{path}`" + (f" as `{alias}`" if alias else "")
    if module is None:
        return head + "\n\n_not found in this project's catalog_"
    parts = [head]
    if module.doc:
        parts.append(module.doc)
    if module.functions:
        parts.append("**Functions**\n" + "\n".join(
            f"- `{name}`" + (f": {_first_line(f.doc)}" if f.doc else "")
            for name, f in sorted(module.functions.items())))
    if module.resources:
        parts.append("**Resources**\n" + "\n".join(
            f"- `{name}` → `{r.kind}`" + (f": {_first_line(r.doc)}" if r.doc else "")
            for name, r in sorted(module.resources.items())))
    if module.location is not None:
        parts.append(location_text(module.location))
    return "\n\n".join(parts)


def value_type_snippet(value_type: ValueType) -> str:
    """The snippet of a value of this type: `"$1"` for a string, `$1` for numbers, a choice for bools."""
    match value_type.kind:
        case "str":
            return '"$1"'
        case "bool":
            return "${1|true,false|}"
        case "list":
            return "[$1]"
        case "dict" | "record":
            return "{ $1 }"
    return "$1"


def _first_line(text: str) -> str:
    return text.strip().split("\n\n", 1)[0].replace("\n", " ")


# PRQL transforms a relational block may use, with what each does.
TRANSFORMS: dict[str, str] = {
    "from": "`from table`: start from a table: `input` (the piped-in rows), an assignment or a step.",
    "select": "`select {a, b = expr}`: keep (and compute) these columns only.",
    "filter": "`filter condition`: keep the rows where the condition holds.",
    "derive": "`derive {name = expr}`: add computed columns.",
    "group": "`group {keys} (aggregate {...})`: run the inner pipeline once per group of rows.",
    "aggregate": "`aggregate {total = sum amount}`: reduce the rows (of each group) to one.",
    "sort": "`sort {a, -b}`: order the rows (`-` for descending).",
    "take": "`take 10` or `take 11..20`: keep a range of rows.",
    "join": "`join [side:left] table (==key)`: combine with another table; `(==key)` keeps one `key` column.",
    "window": "`window rows:-2..0 (derive {...})`: compute over a sliding window of rows.",
    "append": "`append table`: add the rows of another table with the same columns.",
}
