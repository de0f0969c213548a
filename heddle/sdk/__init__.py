"""The plugin SDK: declare resources and steps (`Plugin`), and turn them into the checker's module specs."""

from heddle.sdk.dtypes import parse_dtype, schema_from_mapping
from heddle.sdk.plugin import Plugin
from heddle.sdk.spec import module_spec
from heddle_lang.catalog import InferenceError
from heddle_lang.types import Column, Schema

__all__ = ["Column", "InferenceError", "Plugin", "Schema", "module_spec", "parse_dtype", "schema_from_mapping"]
