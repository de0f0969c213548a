"""The language server's collector policy: off during an analysis, survivors frozen, cycles reclaimed on demand."""

from __future__ import annotations

import gc

from heddle.process import QuietCollector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_collection_is_off_during_and_back_after() -> None:
    collector = QuietCollector(every=2)
    assert gc.isenabled()
    with collector.during():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    assert not collector.collection_due()
    with collector.during():
        pass
    assert collector.collection_due() and not collector.collection_due()  # due once, then counted afresh
    collector.collect()


def test_cycles_made_during_analyses_are_reclaimed_by_collect() -> None:
    collector = QuietCollector()
    with collector.during():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
    assert collector.collect() >= 2
