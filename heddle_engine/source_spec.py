"""A statically read plugin (`ModuleSource`) as the checker's `ModuleSpec`: the editor's view of a plugin
that could not be imported.

Only what the source states for certain is checked: config keys of a config class of the same module (with
value types read from simple annotations, any other annotation accepting any value; a base class from
elsewhere leaves the config open), input columns of a table class of the same module. Output schemas are
unknown, so nothing downstream is reported on a guess; inference and parameter hooks cannot run.
"""

from __future__ import annotations

import ast
import datetime as dt

import polars as pl

from heddle_engine.plugin_source import (
    AttributeSource,
    FunctionSource,
    ModuleSource,
    annotation_name,
    literal,
    parse_annotation,
    unwrap_annotation,
)
from heddle_lang.call_keys import CALL_KEYS
from heddle_lang.catalog import FunctionSpec, ModuleSpec, ResourceSlot, ResourceSpec, SourceLocation
from heddle_lang.types import ANY, Column, ConfigSchema, Field, Schema, ValueType, dtype_of_annotation

_SIMPLE = {"str": "str", "int": "int", "float": "float", "bool": "bool", "Secret": "str"}
_LISTS = {"list", "List", "Sequence", "tuple", "Tuple", "set", "Set", "frozenset", "FrozenSet"}
_DICTS = {"dict", "Dict", "Mapping", "MutableMapping"}
_OPEN = {"", "Any", "object", *_DICTS}
# Column annotations by the name the source spells them with: the SDK's own mapping then gives their dtypes.
_COLUMN_TYPES: dict[str, object] = {"int": int, "float": float, "str": str, "bool": bool, "bytes": bytes,
                                    "date": dt.date, "datetime": dt.datetime, "time": dt.time,
                                    "timedelta": dt.timedelta}
_RESERVED = {"resource", "resources", "inject"}
_MAX_DEPTH = 8


def module_spec_from_source(source: ModuleSource, path: str, import_error: str) -> ModuleSpec:
    """The module `path` as its source declares it; `import_error` says why it was not imported."""
    resources = {f.name: _resource(source, f) for f in source.functions if f.kind == "resource"}
    functions = {f.name: _function(source, f, resources) for f in source.functions if f.kind != "resource"}
    doc = source.plugin_doc if source.plugin_doc is not None else source.doc
    return ModuleSpec(path, source.namespace, resources, functions, doc, SourceLocation(source.path, 1),
                      import_error=import_error or "it could not be imported")


def _resource(source: ModuleSource, function: FunctionSource) -> ResourceSpec:
    params = [p for p in function.parameters if not p.variadic]
    config = _config(source, params[0].annotation) if params else ConfigSchema()
    kind = f"{source.namespace}.{function.name}"
    return ResourceSpec(function.name, kind, config, function.doc, function.location)


def _function(source: ModuleSource, function: FunctionSource, resources: dict[str, ResourceSpec]) -> FunctionSpec:
    params = [p for p in function.parameters if not p.variadic]
    tables = [p for p in params if source.is_table(p.annotation)]
    others = [p for p in params if p not in tables]
    if not tables and len(others) == 2:  # (config, input) with the input's class from elsewhere
        tables = [others.pop()]
    config = _config(source, others[0].annotation) if len(others) == 1 else ConfigSchema(open=True)
    takes_input = literal(function.options.get("takes_input"))
    parameters = literal(function.options.get("parameters"))
    return FunctionSpec(
        function.name,
        config=config,
        resources=_slots(source, function, resources),
        takes_input=takes_input if isinstance(takes_input, bool) else bool(tables),
        input=_contract(source, tables[0].annotation) if tables else Schema.unknown(),
        output=None,
        parameters=tuple(p for p in parameters if isinstance(p, str))
        if isinstance(parameters, list | tuple) else (),
        doc=function.doc,
        location=function.location,
    )


def _slots(source: ModuleSource, function: FunctionSource,
           resources: dict[str, ResourceSpec]) -> tuple[ResourceSlot, ...]:
    one, several = literal(function.options.get("resource")), literal(function.options.get("resources"))
    pairs: list[tuple[str, object]] = []
    if isinstance(one, str):
        pairs.append((one.rpartition(".")[2], one))
    elif isinstance(several, dict):
        pairs.extend((str(k), v) for k, v in several.items())
    slots = []
    for key, value in pairs:
        kind, required = (value, True) if isinstance(value, str) else (value if _kind_and_flag(value) else ("", True))
        if not isinstance(kind, str) or not kind:
            continue
        qualified = kind if "." in kind else f"{source.namespace}.{kind}"
        own = resources.get(kind) if "." not in kind else None
        slots.append(ResourceSlot(key, qualified, bool(required), own.doc if own is not None else ""))
    return tuple(slots)


def _kind_and_flag(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], bool)


# --- configs -------------------------------------------------------------------------------------------


def _config(source: ModuleSource, annotation: str, depth: int = 0) -> ConfigSchema:
    name = annotation_name(annotation)
    if name in _OPEN or not source.is_config(name) or depth > _MAX_DEPTH:
        return ConfigSchema(open=True)
    attributes = source.attributes(name)
    if attributes is None:  # a base class from another module may add keys
        return ConfigSchema(open=True)
    cls = source.classes[name]
    typed_dict = "TypedDict" in source.base_names(name)
    total = literal(cls.keywords.get("total")) is not False
    fields = []
    for attribute in attributes:
        if attribute.name.startswith("_") or attribute.name in _RESERVED or attribute.name in CALL_KEYS \
                or annotation_name(attribute.annotation) == "ClassVar":
            continue
        fields.append(_field(source, attribute, typed_dict, total, depth))
    return ConfigSchema(tuple(fields))


def _field(source: ModuleSource, attribute: AttributeSource, typed_dict: bool, total: bool, depth: int) -> Field:
    node = parse_annotation(attribute.annotation)
    value_type = _value_type(source, node, depth) if node is not None else ANY
    head = _head(node)
    if typed_dict:
        required = head == "Required" or (total and head != "NotRequired")
    else:
        required = attribute.default is None and not value_type.nullable and value_type.kind != "any"
    default = literal(attribute.default) if attribute.default is not None else None
    return Field(attribute.name, value_type, required, attribute.doc, annotation_name(attribute.annotation) == "Secret",
                 default if default is not None else attribute.default)


def _value_type(source: ModuleSource, node: ast.expr, depth: int) -> ValueType:
    nullable = False
    while True:
        inner = unwrap_annotation(node)
        if inner is None:
            break
        nullable = nullable or _admits_none(node)
        node = inner
    if _admits_none(node):  # a union of several types, one of them None
        return ValueType("any", nullable=True)
    base = _plain_value_type(source, node, depth)
    return ValueType(base.kind, base.item, base.record, True) if nullable else base


def _plain_value_type(source: ModuleSource, node: ast.expr, depth: int) -> ValueType:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    if name in _SIMPLE:
        return ValueType(_SIMPLE[name])
    if isinstance(node, ast.Subscript):
        head = _head(node)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if head in _LISTS:
            item = _value_type(source, args[0], depth) if head != "tuple" or len(args) == 1 else ANY
            return ValueType("list", item)
        if head in _DICTS:
            return ValueType("dict", _value_type(source, args[-1], depth))
        if head == "Literal":
            kinds = {_SIMPLE.get(type(a.value).__name__) for a in args if isinstance(a, ast.Constant)}
            return ValueType(kinds.pop() or "any") if len(kinds) == 1 else ANY
    if name in _LISTS:
        return ValueType("list", ANY)
    if name in _DICTS:
        return ValueType("dict", ANY)
    if name and source.is_config(name):
        record = _config(source, name, depth + 1)
        return ValueType("record", record=record) if not record.open else ANY
    return ANY


def _head(node: ast.expr | None) -> str:
    if isinstance(node, ast.Subscript):
        value = node.value
        return value.id if isinstance(value, ast.Name) else value.attr if isinstance(value, ast.Attribute) else ""
    return ""


def _admits_none(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _admits_none(node.left) or _admits_none(node.right)
    if isinstance(node, ast.Subscript) and _head(node) == "Optional":
        return True
    if isinstance(node, ast.Subscript) and _head(node) == "Union":
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return any(_admits_none(e) for e in elts)
    return False


# --- tables --------------------------------------------------------------------------------------------


def _contract(source: ModuleSource, annotation: str) -> Schema:
    """An input table class of this module: its columns are required (types read from simple annotations,
    else known at run time); a class of another module: any input."""
    name = annotation_name(annotation)
    attributes = source.attributes(name) if name in source.classes else None
    if not attributes:
        return Schema.unknown()
    columns = [Column(a.name, _dtype(a.annotation)) for a in attributes
               if not a.name.startswith("_") and annotation_name(a.annotation) != "ClassVar"]
    return Schema(tuple(columns), open=True) if columns else Schema.unknown()


def _dtype(annotation: str) -> pl.DataType | None:
    node = parse_annotation(annotation)
    while node is not None and (inner := unwrap_annotation(node)) is not None:
        node = inner
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        if name in _COLUMN_TYPES:
            return dtype_of_annotation(_COLUMN_TYPES[name])
        dtype = getattr(pl, name, None)
        if isinstance(dtype, type) and issubclass(dtype, pl.DataType):
            try:
                return dtype()
            except TypeError:
                return None
    return None

