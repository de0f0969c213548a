"""From the block as the user wrote it to PRQL that prqlc compiles, keeping a map back.

Two kinds of rewrite, both recorded as edits of the user's text (`edits.Rewritten` keeps the map):

* Heddle's compact form, accepted silently: transforms on one line are split at transform keywords
  (`from input select id` → `from input` ⏎ `select id`; inside a nested pipeline with `| `), several
  bare columns (or an assignment) of `select`/`sort`/`group`/`derive`/`aggregate` are wrapped in
  braces, and a block
  that starts with another transform reads the piped-in table (`from input` is inserted).
* Heddle's meaning of two PRQL corners, also silent: a lookup join `join T (==key)` keeps one `key`
  column, the left one, as SQL's USING does (`select !{T.key}` follows the join, unless the block
  names `T.key` or the join is `side:right`/`side:full`), so a second `(==key)` join is not
  ambiguous; and a column spelt like a PRQL type (`timestamp`, `int`, …) is read as `this.timestamp`.
* SQL habits (`Habit`, reported as HE6005 with these edits as the fix): `where COND` or `on COND`
  after `join T` becomes `join T (COND)`; `where` as a transform becomes `filter`; `=` inside a filter
  or join condition becomes `==`; `and`/`or`/`not` become `&&`/`||`/`!`; `<>` becomes `!=`;
  `is [not] null` becomes `== null`/`!= null`; `concat(a, "-", b)` becomes `f"{a}-{b}"` (or, when an
  argument is not a name or a literal, `(a | as text) + "-" + …`).

Only code is touched: strings and comments are never rewritten. The rewriting recurses once per bracket
level; `analyze_block` calls it only on blocks `limits.check_limits` accepts (at most 64 levels).
"""

from __future__ import annotations

from functools import lru_cache

from heddle_lang.records import record
from heddle_lang.relational.edits import Edit, Rewritten
from heddle_lang.relational.tokens import Group, Token, build_tree, tokenize
from heddle_lang.relational.using import MARKER as USING_MARKER

TRANSFORMS = frozenset({
    "from", "select", "filter", "derive", "group", "aggregate", "sort", "take", "join", "window",
    "append", "loop", "remove", "intersect",
})
BRACED = frozenset({"select", "sort", "group", "derive", "aggregate"})
# PRQL type names: a column spelt like one (Kafka's `timestamp`) is read as `this.timestamp`.
TYPE_NAMES = frozenset({"int", "float", "bool", "time", "timestamp", "array", "relation", "range"})
# After a keyword, these mean the word is a column (`take > 3`, `select.x`), not a transform.
_NOT_AFTER_KEYWORD = frozenset({
    "==", "!=", ">=", "<=", ">", "<", "+", "*", "/", "%", "&&", "||", "??", "~=", "..", "**", "//", "=", ":",
    ".", "<>",
})

Node = Token | Group


@record
class Habit:
    """One SQL habit and the edits (of the user's text) that rewrite it into PRQL."""

    label: str
    edits: tuple[Edit, ...]


@record
class Normalized:
    rewritten: Rewritten  # `.text` is the PRQL to compile; `.to_original` maps positions back
    habits: tuple[Habit, ...]
    implicit_input: tuple[int, int] | None  # the first token, when `from input` was implied before it
    empty: bool  # nothing but blanks and comments

    @property
    def text(self) -> str:
        return self.rewritten.text


def _is_nested_pipeline(group: Group) -> bool:
    if group.bracket != "(":
        return False
    sig = group.significant()
    return bool(sig) and isinstance(sig[0], Token) and sig[0].is_word(*TRANSFORMS)


def _simple_name(nodes: list[Node]) -> bool:
    """`a` or `a.b.c`."""
    if not nodes or len(nodes) % 2 == 0:
        return False
    for i, node in enumerate(nodes):
        if not isinstance(node, Token):
            return False
        if i % 2 == 0 and not (node.kind == "ident" and not node.text.startswith("`")):
            return False
        if i % 2 == 1 and not node.is_op("."):
            return False
    return True


def _plain_string(token: Token) -> str | None:
    """The inner text of a plain one-line string literal (no prefix, not triple-quoted), else None."""
    text = token.text
    if token.kind != "string" or len(text) < 2 or text[0] not in "\"'" or text[-1] != text[0]:
        return None
    if text.startswith(text[0] * 3):
        return None
    inner = text[1:-1]
    if text[0] == "'":
        inner = inner.replace("\\'", "'").replace('"', '\\"')
    return inner


def _using_keys(condition: Group) -> list[str]:
    """The `key` of each `==key` operand of a join condition (`(==a && ==b)`)."""
    sig = condition.significant()
    keys: list[str] = []
    for i, node in enumerate(sig):
        if not (isinstance(node, Token) and node.is_op("==")):
            continue
        before = sig[i - 1] if i > 0 else None
        after = sig[i + 1] if i + 1 < len(sig) else None
        following = sig[i + 2] if i + 2 < len(sig) else None
        starts_operand = before is None or (isinstance(before, Token) and before.is_op("&&"))
        if starts_operand and isinstance(after, Token) and after.kind == "ident" and not (
            isinstance(following, Token) and following.is_op(".")
        ):
            keys.append(after.text)
    return keys


class _Normalizer:
    def __init__(self, query: str) -> None:
        self.query = query
        self.edits: list[Edit] = []
        self.habits: list[Habit] = []
        self._qualified: set[tuple[str, str]] | None = None  # every `table.column` the block names

    # --- helpers ---------------------------------------------------------------------------------

    def habit(self, label: str, *edits: Edit) -> None:
        self.habits.append(Habit(label, edits))
        self.edits.extend(edits)

    def source(self, start: int, end: int) -> str:
        return self.query[start:end]

    def _mentions(self, table: str, column: str) -> bool:
        """Does the block name `table.column` anywhere? Then a `(==column)` join keeps that column."""
        if self._qualified is None:  # found once per block, not once per join
            tokens = [t for t in tokenize(self.query) if t.kind not in ("comment", "newline")]
            self._qualified = {
                (a.text, c.text) for a, b, c in zip(tokens, tokens[1:], tokens[2:], strict=False) if b.is_op(".")
            }
        return (table, column) in self._qualified

    # --- pipelines -------------------------------------------------------------------------------

    def pipeline(self, children: list[Node], nested: bool) -> None:
        sig = [c for c in children if not (isinstance(c, Token) and c.kind in ("comment", "newline"))]
        position = {id(node): i for i, node in enumerate(sig)}
        steps: list[list[Node]] = []
        current: list[Node] = []
        for node in children:
            if isinstance(node, Token) and node.kind == "comment":
                continue
            if isinstance(node, Token) and (node.kind == "newline" or node.is_op("|")):
                if current:
                    steps.append(current)
                current = []
                continue
            if current and self._is_step_keyword(node, sig, position[id(node)], current):
                self.edits.append(Edit(current[-1].end, node.start, " | " if nested else "\n", order=2))
                steps.append(current)
                current = []
            current.append(node)
        if current:
            steps.append(current)
        for step in steps:
            self.step(step, nested)

    @staticmethod
    def _is_step_keyword(node: Node, sig: list[Node], index: int, current: list[Node]) -> bool:
        if not isinstance(node, Token) or node.kind != "ident" or node.text not in TRANSFORMS | {"where"}:
            return False
        head = current[0]
        if node.text == "where" and isinstance(head, Token) and head.is_word("join"):
            return False  # `join users where …`: a condition, rewritten by `join`
        before = sig[index - 1] if index > 0 else None
        after = sig[index + 1] if index + 1 < len(sig) else None
        if isinstance(before, Token) and (before.is_op(".", ":", "=") or before.is_word("from", "join")):
            return False
        return not (isinstance(after, Token) and after.kind == "op" and after.text in _NOT_AFTER_KEYWORD)

    def step(self, nodes: list[Node], nested: bool) -> None:
        head = nodes[0]
        if not (isinstance(head, Token) and head.is_word(*TRANSFORMS, "where")):
            self.expression(nodes, comparisons=False)
            return
        keyword = head.text
        args = nodes[1:]
        if keyword == "where":
            self.habit("`where` (PRQL filters rows with `filter`)", Edit(head.start, head.end, "filter"))
            keyword = "filter"
        if keyword in BRACED:
            self.braces(keyword, args)
        if keyword == "filter":
            self.expression(args, comparisons=True)
        elif keyword == "join":
            self.join(args, " | " if nested else "\n")
        elif keyword == "from":
            self.expression([a for a in args if isinstance(a, Group)], comparisons=False)
        else:
            self.expression(args, comparisons=False)

    def braces(self, keyword: str, args: list[Node]) -> None:
        columns = args
        if keyword == "group" and columns and isinstance(columns[-1], Group) and columns[-1].bracket == "(":
            columns = columns[:-1]
        if not columns or (isinstance(columns[0], Group) and columns[0].bracket == "{"):
            return
        signed = keyword == "sort" and isinstance(columns[0], Token) and columns[0].is_op("-", "+")
        # Several columns, or an assignment: `derive x = f a` would read as `derive (x = f) a`.
        if signed or any(isinstance(c, Token) and (c.kind == "comma" or c.is_op("=")) for c in columns):
            self.edits.append(Edit(columns[0].start, columns[0].start, "{", order=1))
            self.edits.append(Edit(columns[-1].end, columns[-1].end, "}", order=0))

    def join(self, args: list[Node], separator: str) -> None:
        j = 0
        n = len(args)

        def ident(k: int) -> bool:
            node = args[k] if k < n else None
            return isinstance(node, Token) and node.kind == "ident"

        def op(k: int, *ops: str) -> bool:
            node = args[k] if k < n else None
            return isinstance(node, Token) and node.is_op(*ops)

        side = "inner"
        while ident(j) and op(j + 1, ":") and j + 2 < n:
            key, value = args[j], args[j + 2]
            if isinstance(key, Token) and key.text == "side" and isinstance(value, Token):
                side = value.text
            j += 3
        name: str | None = None
        alias = args[j] if j < n else None
        if isinstance(alias, Token) and alias.kind == "ident" and op(j + 1, "="):
            name = alias.text
            j += 2
        if j < n:
            table = args[j]
            if isinstance(table, Group):
                self.expression([table], comparisons=False)
            elif name is None and table.kind == "ident" and not op(j + 1, "."):
                name = table.text
            j += 1
            while op(j, ".") and ident(j + 1):
                name = None
                j += 2
        rest = args[j:]
        if not rest:
            return
        first = rest[0]
        if isinstance(first, Token) and first.kind == "ident" and first.text.lower() in ("where", "on"):
            condition = rest[1:]
            if condition:
                word = first.text
                self.habit(
                    f"`{word}` after `join` (PRQL puts the join condition in parentheses)",
                    Edit(first.start, condition[0].start, "(", order=1),
                    Edit(condition[-1].end, condition[-1].end, ")", order=0),
                )
                self.expression(condition, comparisons=True)
            return
        if isinstance(first, Group) and first.bracket == "(":
            self.expression(first.children, comparisons=True)
            self.expression(rest[1:], comparisons=False)
            keys = _using_keys(first)
            keys = [key for key in keys if name is None or not self._mentions(name, key)]
            if keys and name is not None and side in ("inner", "left") and len(rest) == 1:
                # `(==key)` joins like SQL's USING: one `key` column flows on, the left side's.
                dropped = ", ".join(f"{name}.{key}" for key in keys)
                text = f"{separator}select !{{{dropped}}}{separator}filter {USING_MARKER}"  # see `using.py`
                self.edits.append(Edit(first.end, first.end, text, order=3))
            return
        self.expression(rest, comparisons=False)

    # --- expressions -----------------------------------------------------------------------------

    def expression(self, nodes: list[Node], comparisons: bool) -> None:
        sig = [c for c in nodes if not (isinstance(c, Token) and c.kind in ("comment", "newline"))]
        skip: set[int] = set()
        for i, node in enumerate(sig):
            if i in skip:
                continue
            before = sig[i - 1] if i > 0 else None
            after = sig[i + 1] if i + 1 < len(sig) else None
            if isinstance(node, Group):
                if _is_nested_pipeline(node):
                    self.pipeline(node.children, nested=True)
                else:
                    self.expression(node.children, comparisons and node.bracket == "(")
                continue
            if isinstance(before, Token) and before.is_op("."):
                continue
            if node.kind == "op":
                if node.text == "<>":
                    self.habit("`<>` (PRQL writes `!=`)", Edit(node.start, node.end, "!="))
                elif node.text == "=" and comparisons:
                    self.habit("`=` to compare (PRQL compares with `==`)", Edit(node.start, node.end, "=="))
                continue
            if node.kind != "ident":
                continue
            word = node.text.lower()
            if isinstance(after, Token) and after.is_op("=", ":", "."):
                continue  # a name being defined, a named argument or a qualifier
            cast_or_key = isinstance(before, Token) and (before.is_word("as") or before.is_op("=="))
            annotation = (isinstance(before, Token) and before.is_op("<")  # a type: `rel <relation>`
                          and isinstance(after, Token) and after.is_op(">"))
            if node.text in TYPE_NAMES and not cast_or_key and not annotation:
                self.edits.append(Edit(node.start, node.start, "this.", order=1))
                continue
            if word in ("and", "or"):
                new = "&&" if word == "and" else "||"
                self.habit(f"`{node.text}` (PRQL writes `{new}`)", Edit(node.start, node.end, new))
            elif word == "is" and self._is_null_test(sig, i, skip):
                continue
            elif word == "not" and after is not None and not (isinstance(after, Token) and after.kind == "op"):
                self.habit(f"`{node.text}` (PRQL writes `!`)", Edit(node.start, after.start, "!"))
            elif (
                word == "concat" and isinstance(after, Group) and after.bracket == "(" and after.close is not None
                and self._concat(node, after)
            ):
                skip.add(i + 1)

    def _is_null_test(self, sig: list[Node], i: int, skip: set[int]) -> bool:
        """`x is null` → `x == null`, `x is not null` → `x != null`."""
        words = []
        for node in sig[i + 1 : i + 3]:
            words.append(node.text.lower() if isinstance(node, Token) and node.kind == "ident" else "")
        is_token = sig[i]
        if words[:1] == ["null"]:
            end = sig[i + 1].end
            self.habit("`is null` (PRQL writes `== null`)", Edit(is_token.start, end, "== null"))
            skip.add(i + 1)
            return True
        if words[:2] == ["not", "null"]:
            end = sig[i + 2].end
            self.habit("`is not null` (PRQL writes `!= null`)", Edit(is_token.start, end, "!= null"))
            skip.update((i + 1, i + 2))
            return True
        return False

    def _concat(self, name: Token, group: Group) -> bool:
        args: list[list[Node]] = [[]]
        for child in group.significant():
            if isinstance(child, Token) and child.kind == "comma":
                args.append([])
            else:
                args[-1].append(child)
        if any(not arg for arg in args):
            return False
        simple = True
        parts: list[str] = []
        for arg in args:
            literal = _plain_string(arg[0]) if len(arg) == 1 and isinstance(arg[0], Token) else None
            if literal is not None:
                parts.append(literal.replace("{", "{{").replace("}", "}}"))
            elif len(arg) == 1 and isinstance(arg[0], Token) and arg[0].kind == "number":
                parts.append(arg[0].text)
            elif _simple_name(arg):
                parts.append("{" + self.source(arg[0].start, arg[-1].end) + "}")
            else:
                simple = False
                break
        if simple:
            new = 'f"' + "".join(parts) + '"'
        else:
            pieces = []
            for arg in args:
                text = self.source(arg[0].start, arg[-1].end)
                is_literal = len(arg) == 1 and isinstance(arg[0], Token) and arg[0].kind == "string"
                pieces.append(text if is_literal else f"({text} | as text)")
            new = " + ".join(pieces)
        self.habit("`concat(…)` (PRQL builds text with an f-string)", Edit(name.start, group.end, new))
        return True


@lru_cache(maxsize=4096)
def normalize(query: str) -> Normalized:
    """The PRQL to compile for `query`, with the map back and the SQL habits found."""
    root = build_tree(tokenize(query))
    normalizer = _Normalizer(query)
    sig = root.significant()
    implicit: tuple[int, int] | None = None
    if sig:
        first = sig[0]
        if isinstance(first, Token) and first.is_word(*(TRANSFORMS - {"from"}), "where"):
            implicit = (first.start, first.end)
            normalizer.edits.append(Edit(first.start, first.start, "from input\n", order=0))
    normalizer.pipeline(root.children, nested=False)
    return Normalized(Rewritten(query, normalizer.edits), tuple(normalizer.habits), implicit, not sig)
