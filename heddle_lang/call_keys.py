"""The config keys every call accepts besides its function's own: `retry` and `timeout`.

Taken out of a call's config before its function sees it (`semantic/retry.py`, `semantic/timeout.py` check
them). A module of its own so that the plugin SDK and the static reading of plugins know these names without
importing the checker (`heddle_lang.semantic` imports all of it).
"""

RETRY_KEY = "retry"
TIMEOUT_KEY = "timeout"
CALL_KEYS = (RETRY_KEY, TIMEOUT_KEY)
