"""The safe-code-change check finds instances parked on statements the code removed."""

from __future__ import annotations

from engine import OnEvent, S, Section, Step, Wait, Workflow
from engine.check import find_orphans
from engine.registry import Registry
from engine.testing import Harness


class V1(Workflow):
    """Waits at 'review', which V2 removes."""

    def definition(self) -> Section:
        return S(Step("start", lambda: None), Wait("review", OnEvent("approve", lambda: None)))


class V2(Workflow):
    """The edited code: 'review' is gone, 'approval' is new."""

    def definition(self) -> Section:
        return S(Step("start", lambda: None), Wait("approval", OnEvent("approve", lambda: None)))


class V3(Workflow):
    """Compatible edit: a step added before the wait."""

    def definition(self) -> Section:
        return S(
            Step("start", lambda: None),
            Step("audit", lambda: None),
            Wait("review", OnEvent("approve", lambda: None)),
        )


def test_lists_stranded_instances_and_only_those() -> None:
    v1 = Registry()
    v1.add("doc", V1)
    h = Harness(v1)
    h.create("doc", "parked")
    h.create("doc", "done")
    h.send("doc", "done", "approve")
    assert find_orphans(v1, h.store) == []

    v2 = Registry()
    v2.add("doc", V2)
    orphans = find_orphans(v2, h.store)
    assert {(o.id, o.missing) for o in orphans} == {
        ("parked", "statement 'review'"),
        ("parked", "wait event 'review'/'approve'"),
    }

    v3 = Registry()
    v3.add("doc", V3)
    assert find_orphans(v3, h.store) == []
