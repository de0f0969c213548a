"""Module specs as JSON-able data, for a catalog answered by another process.

The language server imports no plugin: a separate process does, and sends each `ModuleSpec` as this
data. Hooks (inference, parameters) cannot travel; the data says which functions have them, and the
receiver supplies stand-ins that ask the process (`HookFactory`). Column types travel as an empty Arrow
IPC stream written by Polars itself, which spells every Polars dtype exactly (and keeps pyarrow, 26 MB
resident, out of the language server).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from heddle_lang.catalog import (
    FunctionSpec,
    InferHook,
    ModuleSpec,
    ParametersHook,
    ResourceSlot,
    ResourceSpec,
    SourceLocation,
)
from heddle_lang.types import Column, ConfigSchema, Field, Schema, ValueType

Data = dict[str, Any]
# (module path, function name) -> the stand-in hooks of that function, for those it has
HookFactory = Callable[[str, str], tuple[InferHook | None, ParametersHook | None]]


# --- schemas -----------------------------------------------------------------------------------------


def schema_to_data(schema: Schema) -> Data:
    known = {c.name: c.dtype for c in schema.columns if c.dtype is not None}
    stream = io.BytesIO()
    pl.DataFrame(schema=known).write_ipc(stream)
    return {"columns": [[c.name, c.dtype is not None] for c in schema.columns], "open": schema.open,
            "ipc": base64.b64encode(stream.getvalue()).decode("ascii")}


def schema_from_data(data: Data) -> Schema:
    # Only the schema is read: reading the (empty) frame itself would start Polars' readers (+4 MB resident).
    dtypes = pl.read_ipc_schema(io.BytesIO(base64.b64decode(data["ipc"])))
    return Schema(tuple(Column(name, dtypes[name] if known else None) for name, known in data["columns"]),
                  bool(data["open"]))


# --- configs -------------------------------------------------------------------------------------------


def _value_type_to_data(value: ValueType) -> Data:
    data: Data = {"kind": value.kind, "nullable": value.nullable}
    if value.item is not None:
        data["item"] = _value_type_to_data(value.item)
    if value.record is not None:
        data["record"] = config_to_data(value.record)
    return data


def _value_type_from_data(data: Data) -> ValueType:
    item = data.get("item")
    record = data.get("record")
    return ValueType(data["kind"], _value_type_from_data(item) if item is not None else None,
                     config_from_data(record) if record is not None else None, bool(data["nullable"]))


def _plain(value: object) -> object:
    """A default value as data: itself when JSON can hold it, else its text (it is only ever shown)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def config_to_data(config: ConfigSchema) -> Data:
    return {"open": config.open, "fields": [
        {"name": f.name, "type": _value_type_to_data(f.type), "required": f.required, "doc": f.doc,
         "secret": f.secret, "default": _plain(f.default), "path": f.path} for f in config.fields]}


def config_from_data(data: Data) -> ConfigSchema:
    return ConfigSchema(tuple(
        Field(f["name"], _value_type_from_data(f["type"]), bool(f["required"]), f["doc"], bool(f["secret"]),
              f["default"], bool(f.get("path", False))) for f in data["fields"]), bool(data["open"]))


# --- modules -------------------------------------------------------------------------------------------


def _location_to_data(location: SourceLocation | None) -> Data | None:
    if location is None:
        return None
    return {"path": location.path, "line": location.line, "column": location.column,
            "end_column": location.end_column}


def _location_from_data(data: Data | None) -> SourceLocation | None:
    if data is None:
        return None
    column, end = data.get("column"), data.get("end_column")
    return SourceLocation(data["path"], int(data["line"]), int(column) if column is not None else None,
                          int(end) if end is not None else None)


def _function_to_data(function: FunctionSpec) -> Data:
    return {
        "name": function.name, "config": config_to_data(function.config),
        "resources": [{"key": s.key, "kind": s.kind, "required": s.required, "doc": s.doc}
                      for s in function.resources],
        "takes_input": function.takes_input, "input": schema_to_data(function.input),
        "output": schema_to_data(function.output) if function.output is not None else None,
        "passthrough": function.passthrough, "parameters": list(function.parameters), "doc": function.doc,
        "location": _location_to_data(function.location),
        "has_infer": function.infer is not None, "has_parameters_of": function.parameters_of is not None,
        "pushdown": function.pushdown, "stream": function.stream,
    }


def _function_from_data(data: Data, module_path: str, hooks: HookFactory) -> FunctionSpec:
    infer, parameters_of = hooks(module_path, data["name"]) if data["has_infer"] or data["has_parameters_of"] \
        else (None, None)
    output = data["output"]
    return FunctionSpec(
        data["name"], config_from_data(data["config"]),
        tuple(ResourceSlot(s["key"], s["kind"], bool(s["required"]), s["doc"]) for s in data["resources"]),
        bool(data["takes_input"]), schema_from_data(data["input"]),
        schema_from_data(output) if output is not None else None, bool(data["passthrough"]),
        infer if data["has_infer"] else None, tuple(data["parameters"]), data["doc"],
        _location_from_data(data["location"]), parameters_of if data["has_parameters_of"] else None,
        pushdown=data.get("pushdown"), stream=bool(data.get("stream", False)))


def _resource_to_data(resource: ResourceSpec) -> Data:
    return {"name": resource.name, "kind": resource.kind, "config": config_to_data(resource.config),
            "doc": resource.doc, "location": _location_to_data(resource.location)}


def _resource_from_data(data: Data) -> ResourceSpec:
    return ResourceSpec(data["name"], data["kind"], config_from_data(data["config"]), data["doc"],
                        _location_from_data(data["location"]))


def module_to_data(module: ModuleSpec) -> Data:
    return {"path": module.path, "namespace": module.namespace, "doc": module.doc,
            "location": _location_to_data(module.location), "import_error": module.import_error,
            "resources": [_resource_to_data(r) for r in module.resources.values()],
            "functions": [_function_to_data(f) for f in module.functions.values()]}


def module_from_data(data: Data, hooks: HookFactory) -> ModuleSpec:
    path = data["path"]
    resources: Mapping[str, ResourceSpec] = {r["name"]: _resource_from_data(r) for r in data["resources"]}
    functions = {f["name"]: _function_from_data(f, path, hooks) for f in data["functions"]}
    return ModuleSpec(path, data["namespace"], resources, functions, data["doc"],
                      _location_from_data(data["location"]), str(data.get("import_error", "")))
