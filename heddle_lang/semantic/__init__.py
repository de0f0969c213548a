"""The semantic model: names, resources, configuration and types, checked against a module catalog."""

from heddle_lang.semantic.analyze import analyze
from heddle_lang.semantic.model import Analysis, Binding, Definition, StageType, Use

__all__ = ["Analysis", "Binding", "Definition", "StageType", "Use", "analyze"]
