"""The project that the editor tests open, and how they start `heddle-lsp`.

A temporary copy of `examples/` (so `heddle.toml` and the example plugins resolve) with `pipeline.he`: the
fraud-detection seed, then a line with an unknown function (`HE3004`) and a handler whose `<>` injection is
where completion is asked for.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"

BROKEN_LINE = "step broken_step = kafka.no_such_function"
BROKEN_CODE = "HE3004"  # `kafka` (fhub/kafka) has no `no_such_function`
PROBE = ["handler completion_probe {", "  *", '    | <> kafka.produce { topic: "x" }', "}"]
PROBE_LINE = "    | <>"
HOVER_LINE = "    | generate_audit"
HOVER_WORD = "generate_audit"


@dataclass(frozen=True)
class Workspace:
    project: Path
    document: Path
    text: list[str]  # the lines of `document`

    def line_of(self, start: str) -> int:
        """The 0-based number of the first line that starts with `start`."""
        return next(i for i, line in enumerate(self.text) if line.startswith(start))

    @property
    def completion_position(self) -> tuple[int, int]:
        """0-based line and character right after the probe's `<`."""
        line = self.line_of(PROBE_LINE)
        return line, self.text[line].index("<") + 1

    @property
    def hover_position(self) -> tuple[int, int]:
        """0-based line and character inside the step name of HOVER_LINE."""
        line = self.line_of(HOVER_LINE)
        return line, self.text[line].index(HOVER_WORD) + 3


def make_workspace(base: Path) -> Workspace:
    project = base / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns("__pycache__"))
    source = (EXAMPLES / "seeds" / "fraud_detection.he").read_text(encoding="utf-8").rstrip("\n")
    text = [*source.split("\n"), "", BROKEN_LINE, "", *PROBE]
    document = project / "pipeline.he"
    document.write_text("\n".join(text) + "\n", encoding="utf-8")
    return Workspace(project, document, text)


def server_command() -> list[str]:
    """`heddle-lsp` of the Python running the tests."""
    script = Path(sys.executable).parent / "heddle-lsp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "heddle_lsp"]
