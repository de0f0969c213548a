"""The server's protocol: pygls's, plus the client's `workDoneToken` of the command being executed.

pygls hands a command handler only the command's arguments; a long command (`heddle.runWorkflow`) reports
its progress under the token the client sent with the request, when it sent one.
"""

from __future__ import annotations

from collections.abc import Generator
from contextvars import ContextVar
from typing import Any

from lsprotocol import types as lsp
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

# Set while the request is dispatched; the command's task copies the context it was created in.
_WORK_DONE_TOKEN: ContextVar[lsp.ProgressToken | None] = ContextVar("heddle_work_done_token", default=None)


def command_work_done_token() -> lsp.ProgressToken | None:
    """The `workDoneToken` of the `workspace/executeCommand` request the calling command handles."""
    return _WORK_DONE_TOKEN.get()


class HeddleProtocol(LanguageServerProtocol):
    @lsp_method(lsp.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: lsp.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        _WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))
