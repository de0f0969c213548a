"""The semantic model: names, resources, configuration and types, checked against a module catalog."""

from heddle_lang.semantic.analyze import AnalysisCancelled, analyze
from heddle_lang.semantic.model import Analysis, Binding, Definition, StageType, Use

__all__ = ["Analysis", "AnalysisCancelled", "Binding", "Definition", "StageType", "Use", "analyze"]
