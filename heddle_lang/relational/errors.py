"""prqlc and Polars errors as block diagnostics, placed on what the user wrote.

prqlc positions are in the compiled text (prelude + normalised block); `Locator` maps them back
through the prelude and the normalisation to character offsets of the block. Unknown names get a
did-you-mean among the columns prqlc lists as available and a fix that replaces the misspelt name;
ambiguous names get one fix per qualified candidate.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from heddle_lang.relational.compile import PrqlError, asciify
from heddle_lang.relational.model import BlockDiagnostic, BlockFix
from heddle_lang.relational.normalize import TRANSFORMS, Normalized
from heddle_lang.relational.plan import PlanError
from heddle_lang.relational.tokens import Token, tokenize

# Functions of PRQL's standard library, for suggestions when a name is used as a function.
STD_FUNCTIONS = (
    "sum", "average", "min", "max", "count", "count_distinct", "stddev", "any", "all", "concat_array",
    "row_number", "rank", "rank_dense", "lag", "lead", "first", "last", "coalesce", "in", "as",
    "math.abs", "math.floor", "math.ceil", "math.pi", "math.exp", "math.ln", "math.log10", "math.log",
    "math.sqrt", "math.degrees", "math.radians", "math.cos", "math.acos", "math.sin", "math.asin", "math.tan",
    "math.atan", "math.pow", "math.round", "text.lower", "text.upper", "text.ltrim", "text.rtrim", "text.trim",
    "text.length", "text.extract", "text.replace", "text.starts_with", "text.contains", "text.ends_with",
    "date.to_text",
)
_AVAILABLE = "available columns: "
_ANY_OF = "could be any of: "
_MAX_LISTED = 8


def _quote_list(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(f"`{n}`" for n in names[:_MAX_LISTED])
    return shown + (", …" if len(names) > _MAX_LISTED else "")


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    options = [c for c in dict.fromkeys(candidates) if c != name]
    if not options:
        return None
    lowered = {c.lower(): c for c in options}
    if name.lower() in lowered:
        return lowered[name.lower()]
    match = difflib.get_close_matches(name, options, n=1, cutoff=cutoff)
    return match[0] if match else None


class Locator:
    """Maps positions of the compiled text back to the block, and finds tokens in both."""

    def __init__(self, query: str, normalized: Normalized, prelude: str) -> None:
        self.query = query
        self.normalized = normalized
        self.prelude_length = len(prelude)
        self.compiled_text = prelude + normalized.text
        self.tokens = [t for t in tokenize(query) if t.kind not in ("comment", "newline")]
        self.canonical = tokenize(normalized.text)

    def whole(self) -> tuple[int, int]:
        if not self.tokens:
            return (0, len(self.query))
        return (self.tokens[0].start, self.tokens[-1].end)

    def widen(self, start: int, end: int) -> tuple[int, int]:
        """A non-empty range: an empty one grows to the token at (or before) it."""
        if end > start:
            return (start, end)
        for token in self.tokens:
            if token.start <= start < token.end:
                return (token.start, token.end)
        before = [t for t in self.tokens if t.end <= start]
        after = [t for t in self.tokens if t.start >= start]
        if after and (not before or after[0].start == start):
            return (after[0].start, after[0].end)
        if before:
            return (before[-1].start, before[-1].end)
        return self.whole()

    def from_compiled_bytes(self, start: int | None, end: int | None) -> tuple[int, int]:
        """`from_compiled` for a range in UTF-8 bytes (prqlc's spans after parsing)."""
        if start is None or end is None:
            return self.whole()
        text = self.compiled_text
        if not text.isascii():
            data = text.encode("utf-8", "surrogatepass")
            start = len(data[:start].decode("utf-8", "ignore"))
            end = len(data[:end].decode("utf-8", "ignore"))
        return self.from_compiled(start, end)

    def from_compiled(self, start: int | None, end: int | None) -> tuple[int, int]:
        """A range of the compiled text as a non-empty range of the block (the whole block if unknown)."""
        if start is None or end is None:
            return self.whole()
        local_start, local_end = start - self.prelude_length, end - self.prelude_length
        if local_end < 0:
            return self.whole()
        if local_start < 0:  # from the start of the text to some point: "nothing found before the end"
            point = self.normalized.rewritten.original_offset(local_end, is_end=True)
            return self.widen(point, point)
        a, b = self.normalized.rewritten.to_original(local_start, local_end)
        return self.widen(a, b)

    def canonical_token_at(self, start: int | None) -> tuple[int, Token] | None:
        if start is None:
            return None
        local = start - self.prelude_length
        for index, token in enumerate(self.canonical):
            if token.start == local:
                return index, token
        return None

    def at_step_start(self, index: int) -> bool:
        previous = next(
            (t for t in reversed(self.canonical[:index]) if t.kind != "comment"), None
        )
        return previous is None or previous.kind == "newline" or previous.is_op("|") or previous.text == "("

    def next_canonical(self, index: int) -> Token | None:
        return next((t for t in self.canonical[index + 1 :] if t.kind not in ("comment", "newline")), None)

    def find_words(self, words: Iterable[str], ops: Iterable[str] = ()) -> tuple[int, int] | None:
        """The first token of the block that is one of `words` (dotted names allowed) or `ops`."""
        wanted = set(words)
        op_set = set(ops)
        for i, token in enumerate(self.tokens):
            if token.kind == "op" and token.text in op_set:
                return (token.start, token.end)
            if token.kind == "string" and token.text.startswith("s") and any(w in token.text for w in wanted):
                return (token.start, token.end)  # an s-string naming the SQL function
            if token.kind != "ident":
                continue
            name, end, j = token.text, token.end, i
            while j + 2 < len(self.tokens) and self.tokens[j + 1].is_op(".") and self.tokens[j + 2].kind == "ident":
                if name in wanted:
                    break
                name, end, j = f"{name}.{self.tokens[j + 2].text}", self.tokens[j + 2].end, j + 2
            if name in wanted or token.text in wanted:
                return (token.start, end if name in wanted else token.end)
        return None


def _real_reason(reason: str, compiled_text: str, error: PrqlError) -> str:
    """Undo the ASCII stand-ins of `compile.asciify` in a parse error's message."""
    if error.start is None or error.end is None or error.end <= error.start:
        return reason
    real = compiled_text[error.start : error.end]
    if real.isascii():
        return reason
    return reason.replace(asciify(real), real)


# --- prqlc -----------------------------------------------------------------------------------------


def prql_diagnostic(error: PrqlError, locator: Locator, compiled_text: str) -> BlockDiagnostic:
    if error.stage == "contained":  # the compiler's process died or hung: the whole block, no guess
        return BlockDiagnostic(
            "HE6009", 0, len(locator.query),
            f"{error.reason} (it runs in a process of its own, which was restarted): the block cannot be "
            "typed; simplify it, or split it into several blocks",
        )
    start, end = locator.from_compiled(error.start, error.end)
    if error.stage == "unsupported":
        return BlockDiagnostic("HE6007", start, end, f"the engine cannot compute {error.reason}")
    reason = _real_reason(error.reason, compiled_text, error) if error.stage == "parse" else error.reason
    unknown = re.match(r"Unknown name `([^`]*)`", reason)
    if unknown:
        return _unknown_name(unknown.group(1), error, locator, start, end)
    if reason.startswith("Ambiguous name"):
        return _ambiguous(error, locator, start, end)
    if "Too many arguments to function" in reason:
        misspelt = _misspelt_transform(locator, start, end)
        if misspelt is not None:
            return misspelt
    help_text = "; ".join(error.hints)
    detail = reason + (f" ({help_text})" if help_text else "")
    typed = ("expected type", "non-matching", "bad type")
    if error.stage != "parse" and any(t in reason or any(t in h for h in error.hints) for t in typed):
        return BlockDiagnostic("HE6006", start, end, f"type error in the relational block: {detail}")
    if error.stage == "internal":
        return BlockDiagnostic("HE6001", start, end, f"prqlc could not compile the block: {reason}")
    prefix = "PRQL syntax error" if error.stage == "parse" else "invalid PRQL"
    return BlockDiagnostic("HE6001", start, end, f"{prefix}: {detail}")


def _replace_fix(locator: Locator, span: tuple[int, int], old: str, new: str) -> tuple[BlockFix, ...]:
    """Replace the trailing `old` of `span` (the name after any qualifier) with `new`."""
    start, end = span
    if not locator.query[start:end].endswith(old):
        return ()
    return (BlockFix(f"Replace with `{new}`", ((end - len(old), end, new),)),)


def _unknown_name(name: str, error: PrqlError, locator: Locator, start: int, end: int) -> BlockDiagnostic:
    found = locator.canonical_token_at(error.start)
    if found is not None:
        index, token = found
        if token.text == name and locator.at_step_start(index):
            guess = did_you_mean(name, TRANSFORMS)
            message = f"unknown transform `{name}`" + (f"; did you mean `{guess}`?" if guess else "")
            fixes = _replace_fix(locator, (start, end), name, guess) if guess else ()
            return BlockDiagnostic("HE6001", start, end, message, fixes=fixes)
        following = locator.next_canonical(index)
        is_call = token.text == name and following is not None and following.kind in ("ident", "number", "string")
        if is_call:
            by_last = {f.rsplit(".", 1)[-1]: f for f in STD_FUNCTIONS}
            guess = by_last.get(name) or did_you_mean(name, STD_FUNCTIONS)
            if guess is None:
                last = did_you_mean(name, by_last)
                guess = by_last[last] if last else None
            message = f"unknown function `{name}`" + (f"; did you mean `{guess}`?" if guess else "")
            fixes = _replace_fix(locator, (start, end), name, guess) if guess else ()
            return BlockDiagnostic("HE6003", start, end, message, fixes=fixes)
    qualifier, _, bare = name.rpartition(".")
    available = [
        column.strip()
        for hint in error.hints
        if hint.startswith(_AVAILABLE)
        for column in hint[len(_AVAILABLE) :].split(",")
        if column.strip()
    ]
    if qualifier and qualifier not in ("this", "that"):
        candidates = [c.rpartition(".")[2] for c in available if c.rpartition(".")[0] == qualifier]
    else:
        candidates = [c.rpartition(".")[2] for c in available]
    candidates = list(dict.fromkeys(candidates))
    guess = did_you_mean(bare, candidates)
    if qualifier == "that":
        message = f"the joined table has no column `{bare}`"
    elif qualifier == "this":
        message = f"the left side of the join has no column `{bare}`"
    elif qualifier:
        message = f"unknown column `{bare}` in `{qualifier}`"
    else:
        message = f"unknown column `{bare}`"
    if guess:
        message += f"; did you mean `{guess}`?"
    elif candidates:
        message += f" (available: {_quote_list(candidates)})"
    fixes = _replace_fix(locator, (start, end), bare, guess) if guess else ()
    return BlockDiagnostic("HE6003", start, end, message, fixes=fixes)


def _ambiguous(error: PrqlError, locator: Locator, start: int, end: int) -> BlockDiagnostic:
    candidates = [
        c.strip().removeprefix("this.")
        for hint in error.hints
        if hint.startswith(_ANY_OF)
        for c in hint[len(_ANY_OF) :].split(",")
        if c.strip()
    ]
    written = locator.query[start:end]
    name = written.rpartition(".")[2] or written
    functions = [c for c in candidates if c.startswith("std.")]
    columns = [c for c in candidates if not c.startswith("std.") and not c.startswith("_")]
    if functions and columns:
        found = locator.canonical_token_at(error.start)
        following = locator.next_canonical(found[0]) if found else None
        called = following is not None and following.kind in ("ident", "number", "string")
        message = (
            f"`{name}` names both a column and PRQL's function `{functions[0]}`: write `{functions[0]}` for the "
            f"function or `this.{name}` for the column"
        )
        function_fix = BlockFix(f"Use the function `{functions[0]}`", ((start, end, functions[0]),), called)
        column_fix = BlockFix(f"Use the column `this.{name}`", ((start, end, f"this.{name}"),), not called)
        ordered = (function_fix, column_fix) if called else (column_fix, function_fix)
        return BlockDiagnostic("HE6004", start, end, message, fixes=ordered)
    if columns:
        message = f"`{name}` is ambiguous: it could be {' or '.join(f'`{c}`' for c in columns)}"
    else:
        message = f"`{name}` is ambiguous"
    fixes = tuple(BlockFix(f"Use `{c}`", ((start, end, c),), preferred=False) for c in columns)
    return BlockDiagnostic("HE6004", start, end, message, fixes=fixes)


def _misspelt_transform(locator: Locator, start: int, end: int) -> BlockDiagnostic | None:
    inside = [t for t in locator.tokens if start <= t.start and t.end <= end and t.kind == "ident"]
    for token in inside[1:]:
        if token.text in TRANSFORMS:
            continue
        guess = did_you_mean(token.text, TRANSFORMS, cutoff=0.75)
        if guess:
            fix = BlockFix(f"Replace with `{guess}`", ((token.start, token.end, guess),))
            return BlockDiagnostic(
                "HE6001", token.start, token.end, f"unknown transform `{token.text}`; did you mean `{guess}`?",
                fixes=(fix,),
            )
    return None


# --- the Polars lowering ---------------------------------------------------------------------------


def plan_diagnostic(error: PlanError, locator: Locator, unknown_columns: set[str]) -> BlockDiagnostic | None:
    """A diagnostic for a failure to type the block; None when it may come from unknown-typed columns
    (the run, which knows the types, decides)."""
    message = error.message
    if error.kind == "Unsupported":
        start, end = locator.from_compiled_bytes(*error.span) if error.span else locator.whole()
        return BlockDiagnostic("HE6007", start, end, message)
    if error.kind == "UnknownType":
        return None  # an operand's type is known only at run time: the run decides
    if error.kind == "TypeError":
        start, end = locator.from_compiled_bytes(*error.span) if error.span else locator.whole()
        return BlockDiagnostic("HE6006", start, end, f"type error in the relational block: {message}")
    lowered = message.lower()
    mentioned = re.findall(r"column ['\"]([^'\"]+)['\"]", message)
    if unknown_columns and ("null" in lowered or any(c in unknown_columns for c in mentioned)):
        return None
    if error.kind == "ColumnNotFoundError":
        start, end = locator.whole()
        return BlockDiagnostic("HE6003", start, end, f"the block reads a column that does not exist: {message}")
    where = locator.find_words(mentioned) if mentioned else None
    start, end = where or locator.whole()
    return BlockDiagnostic("HE6006", start, end, f"type error in the relational block: {message}")
