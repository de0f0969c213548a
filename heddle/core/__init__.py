"""What a plugin's functions work with: tables, step and resource configs, secrets, stream batches."""

from heddle.core.config import FilePath, Secret
from heddle.core.resource import Resource, ResourceConfig
from heddle.core.step import StepConfig
from heddle.core.stream import Batch
from heddle.core.table import Table

__all__ = ["Batch", "FilePath", "Resource", "ResourceConfig", "Secret", "StepConfig", "Table"]
