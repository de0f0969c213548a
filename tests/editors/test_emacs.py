"""Emacs with eglot as a real LSP client of `heddle-lsp`, in batch mode.

The Emacs configuration is the `elisp` block of docs/editors.md, evaluated as written, so the documented
setup is the tested one. Emacs opens `pipeline.he` of the workspace (tests/editors/workspace.py) with
the venv's `heddle-lsp` first on PATH, connects eglot (`eglot-ensure` waits for a command loop that batch
mode does not have, so the driver calls `eglot` itself), waits for flymake's diagnostics, asks
eglot's completion function right after the probe's `<`, and writes everything as JSON.

Skipped when `emacs` is not on PATH or has no eglot (Emacs 29+ has it built in; Debian 12: the
`elpa-eglot` package).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.editors.workspace import BROKEN_CODE, BROKEN_LINE, REPO, Workspace, make_workspace

EMACS = shutil.which("emacs")
pytestmark = pytest.mark.skipif(
    EMACS is None, reason="emacs is not on PATH (Debian 12: apt-get install emacs-nox elpa-eglot)")

DOC = REPO / "docs" / "editors.md"
TIMEOUT_SECONDS = 120
WAIT_SECONDS = 60  # what the driver waits for diagnostics at most

DRIVER = r"""
(require 'json)
(defvar heddle-test-params (json-read-file (getenv "HEDDLE_EMACS_PARAMS")))
(defun heddle-test-param (name) (alist-get name heddle-test-params))
(defun heddle-test-write (value)
  (with-temp-file (heddle-test-param 'out) (insert (json-encode value))))

(defun heddle-test-diagnostic (diagnostic)
  (save-excursion
    (goto-char (flymake-diagnostic-beg diagnostic))
    `((line . ,(1- (line-number-at-pos))) (column . ,(current-column))
      (type . ,(symbol-name (flymake-diagnostic-type diagnostic)))
      (text . ,(flymake-diagnostic-text diagnostic)))))

(defun heddle-test-completions (position)
  (goto-char (point-min))
  (forward-line (aref position 0))
  (forward-char (aref position 1))
  (let ((capf (eglot-completion-at-point)))
    (vconcat (mapcar #'substring-no-properties (all-completions "" (nth 2 capf))))))

(defun heddle-test-run ()
  (load (heddle-test-param 'config))
  (find-file (heddle-test-param 'document))
  (call-interactively #'eglot)
  (let ((deadline (+ (float-time) (heddle-test-param 'wait))))
    (while (and (null (flymake-diagnostics)) (< (float-time) deadline))
      (accept-process-output nil 0.1)
      (flymake-start)))
  (heddle-test-write
   `((mode . ,(symbol-name major-mode))
     (managed . ,(if (eglot-managed-p) t :json-false))
     (diagnostics . ,(vconcat (mapcar #'heddle-test-diagnostic (flymake-diagnostics))))
     (completions . ,(heddle-test-completions (heddle-test-param 'completion)))))
  (eglot-shutdown (eglot-current-server)))

(condition-case err
    (if (require 'eglot nil t)
        (heddle-test-run)
      (heddle-test-write '((missing . "this Emacs has no eglot (Debian 12: apt-get install elpa-eglot)"))))
  (error (heddle-test-write `((error . ,(error-message-string err))))))
(kill-emacs 0)
"""


def documented_config() -> str:
    """The Emacs configuration of docs/editors.md: its one `elisp` block."""
    blocks = re.findall(r"^```elisp\n(.*?)^```$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, f"docs/editors.md should hold one elisp block, not {len(blocks)}"
    return blocks[0]


@pytest.fixture(scope="module")
def emacs_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, dict[str, Any], str]:
    assert EMACS is not None
    server_folder = Path(sys.executable).parent
    if not (server_folder / "heddle-lsp").is_file():
        pytest.skip(f"no heddle-lsp script beside {sys.executable}: install the package (pip install -e .)")
    base = tmp_path_factory.mktemp("emacs")
    workspace = make_workspace(base)
    config = base / "heddle-config.el"
    config.write_text(documented_config(), encoding="utf-8")
    driver = base / "driver.el"
    driver.write_text(DRIVER, encoding="utf-8")
    out = base / "out.json"
    params = base / "params.json"
    params.write_text(json.dumps({
        "config": str(config), "document": str(workspace.document), "out": str(out),
        "wait": WAIT_SECONDS, "completion": workspace.completion_position,
    }), encoding="utf-8")
    env = dict(os.environ, HOME=str(base), HEDDLE_EMACS_PARAMS=str(params),
               PATH=f"{server_folder}{os.pathsep}{os.environ.get('PATH', '')}")
    completed = subprocess.run([EMACS, "--batch", "--no-init-file", "-l", str(driver)], cwd=workspace.project,
                               env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    if not out.exists():
        pytest.fail(f"Emacs wrote no result (exit {completed.returncode}):\n{completed.stderr}")
    result = json.loads(out.read_text(encoding="utf-8"))
    if "missing" in result:
        pytest.skip(result["missing"])
    assert "error" not in result, f"{result['error']}\n{completed.stderr}"
    return workspace, result, completed.stderr


def test_the_documented_mode_and_eglot_manage_the_buffer(emacs_run: tuple[Workspace, dict[str, Any], str]) -> None:
    _, result, _ = emacs_run
    assert result["mode"] == "heddle-mode"
    assert result["managed"] is True  # started as docs/editors.md names it, `heddle-lsp`, found on PATH


def test_flymake_shows_the_broken_line(emacs_run: tuple[Workspace, dict[str, Any], str]) -> None:
    workspace, result, stderr = emacs_run
    line = workspace.line_of(BROKEN_LINE)
    found = [d for d in result["diagnostics"] if BROKEN_CODE in d["text"]]
    assert [(d["line"], d["column"]) for d in found] == [(line, BROKEN_LINE.index("no_such_function"))], (
        result["diagnostics"], stderr)
    (broken,) = found
    assert broken["type"] == "eglot-error"
    assert "no_such_function" in broken["text"]


def test_completion_right_after_an_injection_opener_offers_the_resource_keys(
        emacs_run: tuple[Workspace, dict[str, Any], str]) -> None:
    _, result, _ = emacs_run
    assert "broker" in result["completions"], result["completions"]  # kafka.produce takes a `broker` resource
