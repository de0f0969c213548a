"""The audit events (`sys.audit`) the engine raises when a check's answer follows from more than the files it
read: before it asks a server (a database what a query returns, `describe.py`; a worker what its module
declares, `workers/client.py`), and when a question it waited for was not answered in time (what the check
then says depends on how fast the machine was).

`heddle check` does not store such an answer (`heddle/cli/inputs.py`, which listens to audit events). The
clients are native (libpq, gRPC): their connections raise no audit event of Python's own, hence these.
"""

from __future__ import annotations

import sys

SERVER_ASKED = "heddle.server.asked"
OVERRAN = "heddle.answer.overran"


def asking(server: object) -> None:
    """Announce a question to `server` (a connection's identity or an address)."""
    sys.audit(SERVER_ASKED, server)


def overran(question: object) -> None:
    """Announce that `question` was not answered in the time it was given."""
    sys.audit(OVERRAN, question)
