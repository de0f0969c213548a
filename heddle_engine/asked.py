"""The audit event (`sys.audit`) the engine raises before it asks a server something a check's answer follows
from: a database what a query returns (`describe.py`), a worker what its module declares (`workers/client.py`).

Such an answer is no function of the files a check read, so `heddle check` does not store it
(`heddle/cli/inputs.py`, which listens to audit events). The clients are native (libpq, gRPC): their connections
raise no audit event of Python's own, hence this one.
"""

from __future__ import annotations

import sys

SERVER_ASKED = "heddle.server.asked"


def asking(server: object) -> None:
    """Announce a question to `server` (a connection's identity or an address)."""
    sys.audit(SERVER_ASKED, server)
