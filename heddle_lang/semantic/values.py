"""Config values: their literal Python value, and checks against a config schema (HE4004-HE4007)."""

from __future__ import annotations

from collections.abc import Iterator

from heddle_lang.diagnostics import Diagnostic, Fix, Related, TextEdit
from heddle_lang.suggest import closest
from heddle_lang.syntax import ast
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema, ValueType


def literal(value: ast.Value | None) -> object:
    """The Python value a config value denotes (a bare word reads as its text)."""
    match value:
        case ast.Str(value=text) | ast.BareWord(text=text):
            return text
        case ast.Number(value=number):
            return number
        case ast.Bool(value=flag):
            return flag
        case ast.Dict(entries=entries):
            return {e.key.text: literal(e.value) for e in entries}
        case ast.List(items=items):
            return [literal(i) for i in items]
    return None


def literal_config(config: ast.Dict | None) -> dict[str, object]:
    return {} if config is None else {e.key.text: literal(e.value) for e in config.entries}


def _describe(value: ast.Value, secret: bool = False) -> str:
    """What a value is, for messages; a secret's value is never shown, only its kind."""
    match value:
        case ast.Str(value=text):
            return "a string" if secret or len(text) > 30 else f'string "{text}"'
        case ast.Number(value=number):
            kind = "int" if isinstance(number, int) else "float"
            return f"an {kind}" if secret and kind == "int" else f"a {kind}" if secret else f"{kind} {number}"
        case ast.Bool(value=flag):
            return "a bool" if secret else f"bool {str(flag).lower()}"
        case ast.Null():
            return "null"
        case ast.Dict():
            return "a dict"
        case ast.List():
            return "a list"
    return "a value"


def _mismatch(value: ast.Value, expected: ValueType) -> bool:
    if expected.kind == "any":
        return False
    if isinstance(value, ast.Null):
        return not expected.nullable
    match expected.kind:
        case "str":
            return not isinstance(value, ast.Str)
        case "int":
            return not (isinstance(value, ast.Number) and isinstance(value.value, int))
        case "float":
            return not isinstance(value, ast.Number)
        case "bool":
            return not isinstance(value, ast.Bool)
        case "list":
            return not isinstance(value, ast.List)
        case "dict" | "record":
            return not isinstance(value, ast.Dict)
    return False


def _fix(value: ast.Value, expected: ValueType, secret: bool) -> tuple[Fix, ...]:
    """Quote a number where a string is wanted, unquote a numeric string where a number is (a secret's value
    stays out of the fix's title)."""
    if expected.kind == "str" and isinstance(value, ast.Number | ast.Bool):
        text = str(value.value).lower() if isinstance(value, ast.Bool) else str(value.value)
        return (Fix("quote it" if secret else f'quote it: "{text}"', (TextEdit(value.span, f'"{text}"'),)),)
    if expected.kind in ("int", "float") and isinstance(value, ast.Str):
        try:
            number = int(value.value) if expected.kind == "int" else float(value.value)
        except ValueError:
            return ()
        title = "write it as a number" if secret else f"write the number {number}"
        return (Fix(title, (TextEdit(value.span, str(number)),)),)
    return ()


def check_value(value: ast.Value, expected: ValueType, path: str, secret: bool = False) -> Iterator[Diagnostic]:
    """`value` against `expected`; `secret`: the value belongs to a secret key, and messages never show it."""
    if isinstance(value, ast.BareWord):
        return  # HE1008 already says it
    if _mismatch(value, expected):
        yield Diagnostic("HE4006", value.span, f"`{path}` expects {expected}, not {_describe(value, secret)}"
                         + (" (a secret: its value is not shown)" if secret else ""),
                         fixes=_fix(value, expected, secret))
        return
    if isinstance(value, ast.List) and expected.item is not None:
        for index, item in enumerate(value.items):
            yield from check_value(item, expected.item, f"{path}[{index}]", secret)
    elif isinstance(value, ast.Dict):
        if expected.kind == "record" and expected.record is not None:
            yield from check_config(value, expected.record, f"`{path}`", value.span, secret)
        elif expected.item is not None:
            for entry in value.entries:
                if entry.value is not None:
                    yield from check_value(entry.value, expected.item, f"{path}.{entry.key.text}", secret)


def check_config(config: ast.Dict | None, schema: ConfigSchema, owner: str, where: Span,
                 secret: bool = False) -> Iterator[Diagnostic]:
    """Keys and values of `config` against `schema`; `where` locates a missing config (no `{ }` at all).

    `owner` names the config's owner in messages ("step `fetch`", "`pg.query`"). The values of secret keys
    (and everything inside a secret record, `secret`) are never shown in a message.
    """
    seen: dict[str, ast.Entry] = {}
    entries = config.entries if config is not None else ()
    for entry in entries:
        key = entry.key.text
        if key in seen:
            yield Diagnostic("HE4007", entry.key.span, f"`{key}` is given twice in the config of {owner}",
                             related=(Related(seen[key].key.span, "first given here"),))
            continue
        seen[key] = entry
        field = schema.get(key)
        if field is None:
            if schema.open:
                continue
            best = closest(key, schema.by_name)
            known = ", ".join(f"`{f.name}`" for f in schema.fields) or "none"
            message = f"{owner} has no config key `{key}`" + (
                f"; did you mean `{best}`?" if best else f" (its keys: {known})")
            fixes = (Fix(f"replace with `{best}`", (TextEdit(entry.key.span, best),)),) if best else ()
            yield Diagnostic("HE4004", entry.key.span, message, fixes=fixes)
            continue
        if entry.value is not None:
            yield from check_value(entry.value, field.type, key, secret or field.secret)
    missing = [f.name for f in schema.required if f.name not in seen]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        what = "the required key" if len(missing) == 1 else "the required keys"
        yield Diagnostic("HE4005", config.span if config is not None else where,
                         f"the config of {owner} lacks {what} {names}")
