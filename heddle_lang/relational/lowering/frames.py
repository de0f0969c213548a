"""RQ relations → Polars lazy frames: the transforms of a pipeline, in order.

Columns live in the frame under their RQ number (`scope.physical`); a pipeline keeps every column it has
made until an `aggregate` or an `append` replaces them, and `select` only says which of them the
relation returns (a later `sort` may still read a column that was not selected, as prqlc's SQL does).

- A compute without a window is materialised where it stands — or after the selects, filters, sorts and
  takes that follow it and do not read it (on the rows they keep) — unless it is an aggregation (or
  holds one): then it is a definition that `aggregate` evaluates per group. A compute with a window sorts the
  frame by the window's keys first and runs its window functions (`windows.py`).
- `sort` sorts (nulls last, as DuckDB does); a sort stays in effect through `filter`, `derive`, `select`,
  `take` and `join` and is applied again at the end if the frame's order was lost on the way (a join,
  a window sorted otherwise); `aggregate`, `append` and a `take` per group end it, as prqlc's SQL does.
  The orders the rows are physically in are known (`State.physical`: the last sort, a partitioned
  window's partition and keys, and its row numbers and ranks); a sort by a prefix of one of them is
  skipped (`group k (sort x | derive {n = row_number this}) | sort {k, n}` sorts once).
- `take a..b` keeps rows a to b of the sorted frame; per group (`group {k} (take …)`) it numbers the rows
  of each group in the order of the group's sort. Rows that a take (overall or per group), a filter on a row
  number or rank, or a sorted take of whole partitions can never keep are dropped before the rows are sorted
  (`firsts.py`).
- `append` stacks rows by position (a common type per column); `join` see `joins.py` (a join read only by a
  take of the first rows joins the columns read before the take, the take gathers the others: `Late`); an
  aggregation that follows a join may begin before it (`eager.py`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from heddle_lang.relational import rq
from heddle_lang.relational.lowering.aggregates import aggregate, contains_aggregate
from heddle_lang.relational.lowering.eager import Eager, eager_join
from heddle_lang.relational.lowering.errors import UnsupportedError
from heddle_lang.relational.lowering.expressions import Expressions, literal_int
from heddle_lang.relational.lowering.firsts import first_rows, numbered_up_to, sampled_first, whole_partitions
from heddle_lang.relational.lowering.joins import (
    LATE_LEFT,
    LATE_RIGHT,
    Late,
    columns_of,
    conjuncts,
    deferred,
    join,
    key_pair,
)
from heddle_lang.relational.lowering.packing import packable, positions
from heddle_lang.relational.lowering.pregroup import dates_first
from heddle_lang.relational.lowering.scope import Scope, physical
from heddle_lang.relational.lowering.segments import sorts_fast
from heddle_lang.relational.lowering.windows import WindowFunctions


@dataclass
class Lowered:
    """A relation as a frame: each of its columns (in `rq.Relation.columns` order) held by one frame
    column, or by several for a wildcard; `originals` names the columns a wildcard brought.

    `origin` says where a column read unchanged from an input table sits in that table (an instance
    number of the table, the column's position): the columns of a table that are all passed on, some
    named and the rest by a wildcard (an open schema), keep the table's order, as SQL's `SELECT *`.
    """

    frame: pl.LazyFrame
    columns: list[list[str]]
    originals: dict[str, str] = field(default_factory=dict)
    origin: dict[str, tuple[int, int]] = field(default_factory=dict)
    wildcard: set[str] = field(default_factory=set)  # the frame columns a wildcard stands for

    def ordered(self) -> list[str]:
        """The frame columns in output order: `columns`, except that a run of columns of one table
        instance that holds its wildcard comes in the table's order."""
        flat = [name for names in self.columns for name in names]
        out: list[str] = []
        index = 0
        while index < len(flat):
            source = self.origin.get(flat[index])
            end = index + 1
            while source is not None and end < len(flat) and (self.origin.get(flat[end]) or (None,))[0] == source[0]:
                end += 1
            run = flat[index:end]
            if source is not None and any(name in self.wildcard for name in run):
                run = sorted(run, key=lambda name: self.origin[name][1])
            out.extend(run)
            index = end
        return out


@dataclass
class State:
    frame: pl.LazyFrame
    phys: dict[int, list[str]]  # cid -> frame columns (several for a wildcard)
    originals: dict[str, str]
    origin: dict[str, tuple[int, int]] = field(default_factory=dict)
    wildcard: set[str] = field(default_factory=set)
    definitions: dict[int, rq.Expr] = field(default_factory=dict)
    visible: list[int] = field(default_factory=list)
    sort: tuple[rq.SortKey, ...] = ()
    ordered: bool = True
    pending: list[tuple[int, rq.Expr]] = field(default_factory=list)
    # orders the frame's rows are in (keys nulls last, ties in an order a stable sort by them keeps): a sort
    # by a prefix of one of them moves no row
    physical: tuple[tuple[rq.SortKey, ...], ...] = ()
    ahead: Sequence[rq.Transform] | None = None  # the pipeline's transforms after this one (None: unknown)
    eager: Eager | None = None  # the left side of the last join grouped for the next aggregation (`eager.py`)
    # the columns of the last window's range frame ends (`ranges.RangeStage`), kept while no row moves: the next
    # compute over the same window (prqlc makes one per function of a `derive`) reads them
    ends: tuple[rq.Window, tuple[str, str, str]] | None = None
    late: Late | None = None  # columns of the last join the next take gathers (`joins.Late`)

    def in_order(self, keys: Sequence[rq.SortKey]) -> bool:
        """The rows are in the order a stable sort by `keys` would put them."""
        return any(tuple(keys) == order[:len(keys)] for order in self.physical)

    def scope(self) -> Scope:
        columns = {cid: names[0] for cid, names in self.phys.items() if len(names) == 1}
        return Scope(columns, dict(self.frame.collect_schema()), self.definitions)


def _literal_value(lit: rq.Lit) -> object:
    if lit.kind == "Null":
        return None
    if lit.kind in ("Integer", "Float", "Boolean", "String", "RawString"):
        return lit.value
    raise UnsupportedError(f"a {lit.kind.lower()} in a table literal", lit.span)


class Lowering:
    def __init__(self, query: rq.Query, inputs: Mapping[str, pl.LazyFrame]) -> None:
        self.query = query
        self.inputs = inputs
        self.memo: dict[int, Lowered] = {}
        self.instances = 0

    # --- relations -------------------------------------------------------------------------------

    def table(self, tid: int) -> Lowered:
        if tid not in self.memo:
            self.memo[tid] = self.relation(self.query.table(tid))
        return self.memo[tid]

    def relation(self, relation: rq.Relation) -> Lowered:
        kind = relation.kind
        if isinstance(kind, rq.Extern):
            return self._extern(kind.name, relation.columns)
        if isinstance(kind, rq.LiteralRows):
            return self._literal(kind)
        if isinstance(kind, rq.Pipeline):
            return self.pipeline(kind.transforms, relation.columns)
        raise UnsupportedError(kind.what)

    def _extern(self, name: str, columns: Sequence[rq.RelColumn]) -> Lowered:
        frame = self.inputs.get(name)
        if frame is None:
            raise UnsupportedError(f"the table `{name}`", hint="the engine reads only the block's tables")
        schema = frame.collect_schema()
        named = [c.name for c in columns if not c.wildcard and c.name is not None]
        mapped: list[list[str]] = []
        wildcard: set[str] = set()
        for column in columns:
            if column.wildcard:
                mapped.append([n for n in schema.names() if n not in named])
                wildcard.update(mapped[-1])
            else:
                mapped.append([column.name or ""])
        self.instances += 1
        order = {n: i for i, n in enumerate(schema.names())}
        origin = {n: (self.instances, order[n]) for names in mapped for n in names if n in order}
        return Lowered(frame, mapped, {n: n for names in mapped for n in names}, origin, wildcard)

    def _literal(self, literal: rq.LiteralRows) -> Lowered:
        data: dict[str, list[object]] = {name: [] for name in literal.columns}
        for row in literal.rows:
            for name, value in zip(literal.columns, row, strict=True):
                data[name].append(_literal_value(value))
        names = [f"#lit{i}" for i in range(len(literal.columns))]
        frame = pl.LazyFrame({n: data[c] for n, c in zip(names, literal.columns, strict=True)},
                             strict=False)
        return Lowered(frame, [[n] for n in names])

    def _instance(self, ref: rq.TableRef) -> State:
        """Table `ref.source` with its columns renamed for this reference's cids."""
        lowered = self.table(ref.source)
        if len(ref.columns) != len(lowered.columns):
            raise UnsupportedError("a table reference whose columns prqlc did not list", None)
        selects: list[pl.Expr] = []
        state = State(pl.LazyFrame(), {}, {})
        self.instances += 1
        for (column, cid), sources in zip(ref.columns, lowered.columns, strict=True):
            names = []
            for source in sources:
                name = f"{physical(cid)}.{source}" if column.wildcard else physical(cid)
                selects.append(pl.col(source).alias(name))
                state.originals[name] = lowered.originals.get(source, source)
                if source in lowered.origin:
                    state.origin[name] = (self.instances, lowered.origin[source][1])
                if column.wildcard or source in lowered.wildcard:
                    state.wildcard.add(name)
                names.append(name)
            state.phys[cid] = names
        state.frame = lowered.frame.select(selects)
        return state

    # --- pipelines -------------------------------------------------------------------------------

    def pipeline(self, transforms: Sequence[rq.Transform], columns: Sequence[rq.RelColumn]) -> Lowered:
        state = self.begin(transforms)
        for at, transform in enumerate(transforms[1:], 2):
            state.ahead = transforms[at:]
            self.transform(state, transform)
        state.ahead = None
        return self.finish(state, columns)

    def begin(self, transforms: Sequence[rq.Transform]) -> State:
        """The state of a pipeline after its `from`."""
        first = transforms[0] if transforms else None
        if not isinstance(first, rq.From):
            raise UnsupportedError("a pipeline that does not start with `from`")
        state = self._instance(first.table)
        state.visible = [cid for _, cid in first.table.columns]
        return state

    def finish(self, state: State, columns: Sequence[rq.RelColumn]) -> Lowered:
        """The relation a pipeline's state makes, once its transforms are applied."""
        self.flush(state)
        if state.sort and not state.ordered and not state.in_order(state.sort):
            self._sort(state, state.sort, whole=True)
        outputs: list[list[str]] = []
        selects: list[pl.Expr] = []
        result = Lowered(state.frame, outputs)
        for position, cid in enumerate(state.visible):
            names = []
            for name in (state.phys[cid] if cid in state.phys else [self._materialize(state, cid)]):
                alias = f"#out{position}.{len(names)}"
                selects.append(pl.col(name).alias(alias))
                result.originals[alias] = state.originals.get(name, name)
                if name in state.origin:
                    result.origin[alias] = state.origin[name]
                if name in state.wildcard:
                    result.wildcard.add(alias)
                names.append(alias)
            outputs.append(names)
        if len(outputs) != len(columns):
            raise UnsupportedError("a relation whose columns prqlc did not list")
        result.frame = state.frame.select(selects)
        return result

    def _materialize(self, state: State, cid: int) -> str:
        """A definition that is output as a column (an aggregate outside `aggregate` is an error)."""
        definition = state.definitions.get(cid)
        if definition is None:
            raise UnsupportedError(f"a column prqlc did not define (#{cid})")
        expr = Expressions(state.scope()).lower(definition)
        state.frame = state.frame.with_columns(expr.alias(physical(cid)))
        state.phys[cid] = [physical(cid)]
        return physical(cid)

    def flush(self, state: State) -> None:
        if not state.pending:
            return
        scope = state.scope()
        exprs = Expressions(scope)
        state.frame = state.frame.with_columns([exprs.lower(e).alias(physical(cid)) for cid, e in state.pending])
        for cid, _ in state.pending:
            state.phys[cid] = [physical(cid)]
        state.pending = []

    def _runs(self, state: State, window: rq.Window, partition: list[pl.Expr], run: str) -> None:
        """Sort the frame so that each partition is a run of rows in the window's order, numbered in
        column `run`. Integer-like partition keys: one sort by them and the window's keys. Others: a
        sort by the window's keys, then a stable one by partition numbers (each partition's first row;
        grouped as Polars groups, NaN and -0.0 included): one sort by a text key with few values would
        cost many times more."""
        scope = state.scope()
        if all(sorts_fast(scope.dtype(p)) for p in partition):
            keys = [rq.SortKey(cid, False) for cid in window.partition]
            if not state.in_order([*keys, *window.sort]):
                self._sort(state, [*keys, *window.sort], whole=True)
            state.physical = ((*keys, *window.sort),)
            starts = functools.reduce(operator.or_, [p.ne_missing(p.shift(1)) for p in partition])
            state.frame = state.frame.with_columns(starts.cast(pl.UInt32).cum_sum().alias(run))
            return
        if window.sort:
            self._sort(state, window.sort, whole=True)
        index = f"{run}.i"
        state.frame = (state.frame.with_row_index(index)
                       .with_columns(pl.col(index).first().over(partition).alias(run)).drop(index)
                       .sort(run, maintain_order=True))
        state.physical = ()

    def _sort(self, state: State, keys: Sequence[rq.SortKey], *, whole: bool = False) -> None:
        """Sort the frame by `keys`, ties in input order. `whole`: every row is read in this order (no top-k
        follows, which Polars finds without sorting the rest), so several keys are sorted one at a time."""
        scope = state.scope()
        exprs = Expressions(scope)
        by = [exprs.lower(rq.ColumnRef(k.cid)) for k in keys]
        descending = [k.descending for k in keys]
        if whole and len(by) > 1:
            packed = all(packable(scope.dtype(key)) for key in by)
            state.frame = _sorted_by_keys(state.frame, by, descending, packed=packed)
        elif len(by) > 1 or scope.dtype(by[0]) == pl.String:
            # ties broken by row number: the stable order, which Polars sorts faster (up to 3 times on one
            # text column with many ties) than when asked to keep the order of ties
            index = "#sort.i"
            frame = state.frame.with_row_index(index)
            state.frame = frame.sort([*by, pl.col(index)], descending=[*descending, False], nulls_last=True).drop(index)
        else:
            state.frame = state.frame.sort(by, descending=descending, nulls_last=True, maintain_order=True)
        state.physical = (tuple(keys),)

    def transform(self, state: State, transform: rq.Transform) -> None:
        if isinstance(transform, rq.Compute):
            self._compute(state, transform)
            return
        _forget_ends(state)
        if isinstance(transform, rq.Aggregate) and state.pending and state.eager is None:
            grouped = dates_first(state.frame, state.scope(), transform, dict(state.pending), state.definitions)
            if grouped is not None:  # keys computed from dates: the rows grouped by the dates first (`pregroup.py`)
                state.frame, state.pending, state.physical = grouped, [], ()
                aggregated(state, transform)
                return
        if not _passes_pending(state, transform):
            self.flush(state)
        if not isinstance(transform, rq.Select | rq.Filter | rq.Sort | rq.Take) or (
                isinstance(transform, rq.Take) and transform.partition):
            state.physical = ()  # a join, an aggregation, an append or a take per group moves rows
        if isinstance(transform, rq.Select):
            state.visible = list(transform.cids)
        elif isinstance(transform, rq.Filter):
            state.frame = state.frame.filter(Expressions(state.scope()).lower(transform.expr))
        elif isinstance(transform, rq.Sort):
            if not state.in_order(transform.keys):
                taken = _taken(state.ahead)
                keep = None if taken is None else sampled_first(state.scope(), transform.keys, taken)
                if keep is not None:  # rows past the take's last, dropped before the sort (`firsts.py`)
                    state.frame = keep(state.frame)
                self._sort(state, transform.keys, whole=_read_whole(state.ahead))
            state.sort, state.ordered = transform.keys, True
        elif isinstance(transform, rq.Take):
            self._take(state, transform)
        elif isinstance(transform, rq.Aggregate):
            self._aggregate(state, transform)
        elif isinstance(transform, rq.Join):
            self._join(state, transform)
        elif isinstance(transform, rq.Append):
            self._append(state, transform)
        else:
            raise UnsupportedError("`loop` (recursive queries)", None,
                              "the engine runs no recursive query; compute the steps in a Python step")

    def _compute(self, state: State, compute: rq.Compute) -> None:
        if compute.window is not None:
            self.flush(state)
            self._window(state, compute)
        elif compute.is_aggregation or contains_aggregate(compute.expr):
            state.definitions[compute.cid] = compute.expr
        else:
            if any(_references(compute.expr, cid) for cid, _ in state.pending):
                self.flush(state)
            state.pending.append((compute.cid, compute.expr))

    def _window(self, state: State, compute: rq.Compute) -> None:
        window = compute.window
        assert window is not None
        scope = state.scope()
        first = first_rows(scope, window.sort, numbered_up_to(compute, state.ahead), window.partition)
        keep = first if first is not None else whole_partitions(compute, state.ahead, scope)
        ends = None
        if state.ends is not None and state.ends[0] == window and keep is None and _stays(state, window, scope):
            ends = state.ends[1]
        else:
            _forget_ends(state)
        if keep is not None:  # rows the filter or take that follows never keeps (`firsts.py`)
            state.frame = keep(state.frame)
        hook = WindowFunctions(scope, window, prefix=f"#w{compute.cid}", ends=ends)
        expr = Expressions(scope, functions=hook).lower(compute.expr)
        run = hook.segments.run
        if window.partition and hook.segments.used:
            self._runs(state, window, hook.partition, run)
            state.ordered = False
        elif window.sort:
            if not state.in_order(window.sort):
                self._sort(state, window.sort, whole=True)
            state.ordered = state.sort == window.sort
        frame = state.frame
        for stage in hook.stages:
            frame = stage(frame)
        temps = [f"#w{compute.cid}.{i}" for i in range(1, hook.count + 1)] + [run]
        if hook.ranged is not None and ends is None:  # kept for the next compute over this window
            state.ends = (window, hook.ranged.columns)
            temps = [name for name in temps if name not in hook.ranged.columns]
        state.frame = frame.with_columns(expr.alias(physical(compute.cid))).drop(temps, strict=False)
        state.phys[compute.cid] = [physical(compute.cid)]
        state.physical = (*state.physical, *_numbered(state, compute))

    def _take(self, state: State, take: rq.Take) -> None:
        start = 1 if take.start is None else literal_int(take.start)
        end = None if take.end is None else literal_int(take.end)
        if start is None or (take.end is not None and end is None):
            raise UnsupportedError("`take` with a computed range", take.span,
                                   "write the range with numbers: `take 5..10`")
        if take.partition:
            if take.sort:
                keep = first_rows(state.scope(), take.sort, end, take.partition)
                if keep is not None:  # rows past the first `end` of their group (`firsts.py`)
                    state.frame = keep(state.frame)
                self._sort(state, take.sort, whole=True)
            names = [state.phys[c][0] for c in take.partition if len(state.phys.get(c, ())) == 1]
            if start == 1 and end is not None and len(names) == len(take.partition):
                # the first rows of each group, in the frame's (sorted) order
                if end == 1:
                    state.frame = state.frame.unique(subset=names, keep="first", maintain_order=False)
                else:
                    state.frame = state.frame.group_by(names).head(end)
            else:
                exprs = Expressions(state.scope())
                groups = [exprs.lower(rq.ColumnRef(c)) for c in take.partition]
                number = pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(groups)
                keep = number >= start if end is None else (number >= start) & (number <= end)
                state.frame = state.frame.filter(keep)
            state.sort, state.ordered = (), False
            return
        if take.sort and not (state.ordered and state.sort == take.sort):
            if not state.in_order(take.sort):
                keep = sampled_first(state.scope(), take.sort, end)
                if keep is not None:
                    state.frame = keep(state.frame)
                self._sort(state, take.sort)
            state.sort, state.ordered = take.sort, True
        offset = max(start, 1) - 1
        length = None if end is None else max(end - offset, 0)
        state.frame = state.frame.slice(offset, length)
        if state.late is not None:
            state.frame, state.late = state.late.gathered(state.frame), None

    def _aggregate(self, state: State, aggregation: rq.Aggregate) -> None:
        scope = state.scope()
        plain = Expressions(scope)
        keys = [plain.lower(rq.ColumnRef(c)).alias(physical(c)) for c in aggregation.partition]
        functions = Expressions(scope)
        functions.functions = state.eager.combine if state.eager is not None else lambda op: aggregate(op, plain)
        state.eager = None
        values: list[pl.Expr] = []
        for cid in aggregation.compute:
            definition = state.definitions.get(cid)
            source = definition if definition is not None else rq.ColumnRef(cid)
            values.append(functions.lower(source).alias(physical(cid)))
        state.frame = state.frame.group_by(keys).agg(values) if keys else state.frame.select(values)
        aggregated(state, aggregation)

    def _join(self, state: State, transform: rq.Join) -> None:
        right = self._instance(transform.table)
        right_cids = set(right.phys)
        left_cids = set(state.phys) | set(state.definitions)
        eager = eager_join(transform, state.ahead, state.frame, state.scope(), right.scope())
        if eager is not None:  # the left rows grouped per key: only the keys are left of its columns
            state.frame, state.eager = eager.partial, eager
            state.phys = {cid: state.phys[cid] for cid in eager.keys}
        before = None if eager is not None else _read_before_take(state.ahead)
        if before is not None:  # only a take reads the rows: what it shows and nothing reads before is gathered after
            read, shown = before
            read.append(transform.condition)

            def kept(phys: Mapping[int, list[str]]) -> set[str]:
                return {n for cid, names in phys.items() if (shown is not None and cid not in shown)
                        or any(_references(e, cid) for e in read) for n in names}

            state.frame, left = deferred(state.frame, kept(state.phys), LATE_LEFT)
            right.frame, later = deferred(right.frame, kept(right.phys), LATE_RIGHT)
            sides = [(index, side) for index, side in ((LATE_LEFT, left), (LATE_RIGHT, later)) if side is not None]
            state.late = Late(sides) if sides else None
        schema = {**dict(state.frame.collect_schema()), **dict(right.frame.collect_schema())}
        columns = {cid: names[0] for cid, names in {**state.phys, **right.phys}.items() if len(names) == 1}
        scope = Scope(columns, schema, state.definitions)
        state.frame = join(state.frame, right.frame, side=transform.side, condition=transform.condition,
                           scope=scope, left_cids=left_cids, right_cids=right_cids,
                           unmatched=eager is None and before is None
                           and _unmatched_only(transform, state.ahead, left_cids, right_cids))
        state.visible = [*state.visible, *(cid for _, cid in transform.table.columns)]
        state.phys.update(right.phys)
        state.originals.update(right.originals)
        state.origin.update(right.origin)
        state.wildcard.update(right.wildcard)
        state.ordered = False

    def _append(self, state: State, transform: rq.Append) -> None:
        bottom_state = self._instance(transform.table)
        frame, phys = bottom_state.frame, bottom_state.phys
        top_names = [name for cid in state.visible
                     for name in (state.phys[cid] if cid in state.phys else [self._materialize(state, cid)])]
        bottom_names = [name for _, cid in transform.table.columns for name in phys[cid]]
        if len(top_names) != len(bottom_names):
            raise UnsupportedError("`append` of a table with another number of columns", None,
                              "select the same columns on both sides")
        top = state.frame.select(top_names)
        bottom = frame.select([pl.col(b).alias(t) for b, t in zip(bottom_names, top_names, strict=True)])
        state.frame = pl.concat([top, bottom], how="vertical_relaxed")
        state.phys = {cid: state.phys[cid] for cid in state.visible}
        state.sort, state.ordered = (), False


def aggregated(state: State, aggregation: rq.Aggregate) -> None:
    """The state after `aggregation`, whose frame holds its keys and values under their cids."""
    state.phys = {cid: [physical(cid)] for cid in [*aggregation.partition, *aggregation.compute]}
    state.origin, state.wildcard = {}, set()
    state.visible = [*aggregation.partition, *aggregation.compute]
    state.sort, state.ordered = (), False


_ORDER = "#sort.p"  # the column of row positions a sort by several keys gathers the rows by


def _sorted_by_keys(frame: pl.LazyFrame, by: Sequence[pl.Expr], descending: Sequence[bool], *,
                    packed: bool = False) -> pl.LazyFrame:
    """`frame` sorted by several keys (nulls last), ties in input order: number-like keys (`packed`) packed in
    one number sorted once (`packing.py`); others by one stable sort of the row positions per key, the last
    key first, each by its key in the order the sorts before left the rows. The rows are gathered once, in
    the end. Polars sorts by several columns by encoding every row's keys, several times slower (at 10M
    rows, a float and an integer key: 13 s -> 4.8 s; two integers: 9.5 s as dense ranks packed in one
    number -> 4.7 s)."""
    if packed:
        frame = frame.with_columns(positions(by, descending).alias(_ORDER))
        return frame.select(pl.all().exclude(_ORDER).gather(pl.col(_ORDER)))
    keys = list(zip(by, descending, strict=True))
    last, last_descending = keys.pop()
    frame = frame.with_columns(pl.int_range(pl.len(), dtype=pl.get_index_type())
                               .sort_by(last, descending=last_descending, nulls_last=True, maintain_order=True)
                               .alias(_ORDER))
    for key, key_descending in reversed(keys):
        order = pl.col(_ORDER)
        frame = frame.with_columns(order.sort_by(key.gather(order), descending=key_descending, nulls_last=True,
                                                 maintain_order=True))
    return frame.select(pl.all().exclude(_ORDER).gather(pl.col(_ORDER)))


def _stays(state: State, window: rq.Window, scope: Scope) -> bool:
    """The rows are in the window's order already, which sorting them into its runs keeps (`Lowering._runs`
    sorts again where a partition key does not sort fast)."""
    if not window.partition:
        return state.in_order(window.sort)
    if not all(sorts_fast(scope.dtype(scope.col(cid))) for cid in window.partition):
        return False
    return state.in_order([*(rq.SortKey(cid, False) for cid in window.partition), *window.sort])


def _forget_ends(state: State) -> None:
    """Drop the kept range frame ends (rows are about to move, or another window comes)."""
    if state.ends is not None:
        state.frame = state.frame.drop(state.ends[1], strict=False)
        state.ends = None


def _unmatched_only(transform: rq.Join, ahead: Sequence[rq.Transform] | None, left_cids: set[int],
                    right_cids: set[int]) -> bool:
    """A left join whose rows are next filtered to those where a right column compared by equality is null (PRQL's
    `remove`): every matched row has it non-null (an equality never matches null), so only the unmatched rows
    remain, and every right column of theirs is null."""
    if transform.side != "left" or ahead is None:
        return False
    following = next((t for t in ahead if not isinstance(t, rq.Select)), None)
    if not isinstance(following, rq.Filter):
        return False
    test = following.expr
    if not (isinstance(test, rq.Operator) and test.name == "std.eq" and len(test.args) == 2):
        return False
    column = next((a for a, b in (test.args, test.args[::-1]) if isinstance(b, rq.Lit) and b.kind == "Null"), None)
    if not isinstance(column, rq.ColumnRef) or column.cid not in right_cids:
        return False
    pairs = [key_pair(term, left_cids, right_cids) for term in conjuncts(transform.condition)]
    if any(pair is None for pair in pairs):
        return False
    return any(isinstance(pair[1], rq.ColumnRef) and pair[1].cid == column.cid for pair in pairs if pair is not None)


def _read_whole(ahead: Sequence[rq.Transform] | None) -> bool:
    """A sort followed by `ahead` is read whole: no `take` of the first rows follows it (selects aside)."""
    if ahead is None:
        return False
    following = next((t for t in ahead if not isinstance(t, rq.Select)), None)
    return not (isinstance(following, rq.Take) and not following.partition)


def _read_before_take(ahead: Sequence[rq.Transform] | None) -> tuple[list[rq.Expr], set[int] | None] | None:
    """When only selects, filters and sorts come before a take of the first rows of `ahead` that has a last row:
    what they read (the filters' conditions, the sorts' keys), and the columns the last of those selects keeps
    (None: no select); else None."""
    read: list[rq.Expr] = []
    shown: set[int] | None = None
    for transform in ahead or ():
        if isinstance(transform, rq.Filter):
            read.append(transform.expr)
        elif isinstance(transform, rq.Sort):
            read.extend(rq.ColumnRef(key.cid) for key in transform.keys)
        elif isinstance(transform, rq.Select):
            shown = set(transform.cids)
        elif isinstance(transform, rq.Take) and not transform.partition and transform.end is not None:
            return [*read, *(rq.ColumnRef(key.cid) for key in transform.sort)], shown
        else:
            return None
    return None


def _taken(ahead: Sequence[rq.Transform] | None) -> int | None:
    """The last row a `take` of the first rows that follows a sort keeps (selects between), else None."""
    following = next((t for t in ahead or () if not isinstance(t, rq.Select)), None)
    if not isinstance(following, rq.Take) or following.partition or following.end is None:
        return None
    return literal_int(following.end)


def _numbered(state: State, compute: rq.Compute) -> tuple[tuple[rq.SortKey, ...], ...]:
    """The order a row number or rank puts the rows in: the rows are sorted by the window's partition and
    keys (a stable sort by partition and number keeps them), it counts up through each partition."""
    window = compute.window
    numbers = isinstance(compute.expr, rq.Operator) and compute.expr.name in (
        "std.row_number", "std.rank", "std.rank_dense")
    if window is None or not numbers or not window.sort:
        return ()
    keys = tuple(rq.SortKey(cid, False) for cid in window.partition)
    return ((*keys, rq.SortKey(compute.cid, False)),) if state.in_order((*keys, *window.sort)) else ()


def _passes_pending(state: State, transform: rq.Transform) -> bool:
    """`transform` goes before the computes still pending (they are made after it, on the rows it keeps):
    a select, a filter or sort that does not read them, a `take` (not per group) that does not sort by
    them. So `derive ... | sort k | take 10` computes 10 rows, and only the rows a query keeps are checked
    for overflows, as DuckDB does (it computes a projection after the filters and the limit). A sort that
    only selects follow keeps every row and moves every column kept: the computes go after it only when they
    make at least as many columns as they read that nothing else needs (`derive {label = f"{company} /
    {state}"} | sort id` on 10M rows, the sort moving the label instead of the two texts: 2.2-2.6 -> 1.2-1.9 s)."""
    pending = [cid for cid, _ in state.pending]
    if isinstance(transform, rq.Select):
        return True
    if isinstance(transform, rq.Filter):
        return not any(_references(transform.expr, cid) for cid in pending)
    if isinstance(transform, rq.Sort):
        keys = {k.cid for k in transform.keys}
        return not keys & set(pending) and not _narrows(state, keys)
    if isinstance(transform, rq.Take):
        return not transform.partition and not {k.cid for k in transform.sort} & set(pending)
    return False


def _narrows(state: State, keys: set[int]) -> bool:
    """The pending computes read more columns than they make that the rows keep, and the pipeline ends after a
    sort by `keys` (selects aside): computed before that sort, they leave it fewer columns to move."""
    if state.ahead is None or not all(isinstance(t, rq.Select) for t in state.ahead):
        return False
    selects = [t for t in state.ahead if isinstance(t, rq.Select)]
    kept = set(selects[-1].cids if selects else state.visible)
    made = sum(1 for cid, _ in state.pending if cid in kept)
    read = {cid for cid in state.phys if cid not in kept | keys and any(_references(e, cid) for _, e in state.pending)}
    return len(read) > made


def _references(expr: rq.Expr, cid: int) -> bool:
    return cid in columns_of(expr)
