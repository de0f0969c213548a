"""`decode`: the reading of a Heddle file's bytes as the text the checker sees (apart from the checker, so that
a command reads a file without loading it)."""

from __future__ import annotations

from heddle_lang.diagnostics import Diagnostic
from heddle_lang.records import record
from heddle_lang.text import Span


@record
class Decoded:
    """A file's text; `error` (HE1015) when its bytes are not UTF-8: then `text` has U+FFFD for each bad
    byte, the error points at the first, and the text is not the file (nothing may write it back)."""

    text: str
    error: Diagnostic | None = None


_WHY = {
    "invalid start byte": "cannot start a character",
    "invalid continuation byte": "starts a character the next byte does not continue",
    "unexpected end of data": "starts a character the file cuts short",
}


def decode(data: bytes) -> Decoded:
    """The text of a Heddle file's bytes (UTF-8, strictly)."""
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="replace")
        # The bytes before the first bad one are valid, so it sits at the same offset of the replaced text,
        # where U+FFFD takes 3 bytes.
        what = _WHY.get(error.reason, error.reason)
        message = f"the file is not valid UTF-8: byte 0x{data[error.start]:02X} {what}; Heddle files are UTF-8"
        return Decoded(text, Diagnostic("HE1015", Span(error.start, error.start + 3), message))
