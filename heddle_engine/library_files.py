"""The files a `Workspace` (`heddle_lang.semantic.workspace`) reads: `.he` libraries on the disk."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from heddle_engine.run_folder import running_in
from heddle_lang.decoding import decode


def file_key(path: Path | None) -> str:
    """The absolute POSIX name a workspace knows a file by (standard input: `<stdin>` in the current folder)."""
    return (path if path is not None else Path.cwd() / "<stdin>").resolve().as_posix()


def file_folder(file: str) -> AbstractContextManager[None]:
    """Relative paths of `file`'s configs start from its folder (as when it runs)."""
    return running_in(Path(file).parent)


def read_text(file: str) -> str | None:
    """A library's text, None when it is not a readable UTF-8 file."""
    try:
        data = Path(file).read_bytes()
    except OSError:
        return None
    decoded = decode(data)
    return decoded.text if decoded.error is None else None


SKIP_FOLDERS = frozenset({".git", ".heddle", ".venv", "venv", "node_modules", "__pycache__"})


def he_files(folder: Path) -> list[Path]:
    """The `.he` files under `folder`, in a stable order (tool and environment folders skipped)."""
    return sorted(p for p in folder.rglob("*.he")
                  if p.is_file() and not any(part in SKIP_FOLDERS for part in p.relative_to(folder).parts))
