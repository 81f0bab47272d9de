"""The safe-code-change check finds instances parked on statements the code removed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.api_core import exceptions as gexc

from engine import OnEvent, S, Section, Step, Wait, Workflow, check
from engine.check import Orphan, find_orphans
from engine.config import Settings
from engine.errors import Unavailable
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


def _failing(error: Exception) -> Callable[[Settings], list[Orphan]]:
    def find_all(settings: Settings) -> list[Orphan]:
        raise error

    return find_all


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            gexc.ServiceUnavailable("failed to connect\nto all addresses"),  # type: ignore[no-untyped-call]
            "ServiceUnavailable",
        ),
        (gexc.RetryError("Timeout of 300.0s exceeded", None), "RetryError"),  # type: ignore[no-untyped-call]
        (Unavailable("Firestore", "deadline exceeded"), "Firestore is unavailable"),
    ],
)
def test_main_exits_2_with_one_line_when_firestore_fails(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    reason: str,
) -> None:
    monkeypatch.setattr(check, "_find_all", _failing(error))
    assert check.main([]) == 2
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.splitlines()) == 1, out.err
    assert "cannot check" in out.err and "Firestore failed" in out.err and reason in out.err


def test_main_exits_1_on_orphans_and_0_without(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = Orphan("old", "o1", "", "workflow 'old' is not registered")
    monkeypatch.setattr(check, "_find_all", lambda settings: [gone])
    assert check.main([]) == 1
    assert "old/o1: workflow 'old' is not registered\n" in capsys.readouterr().out
    monkeypatch.setattr(check, "_find_all", lambda settings: [])
    assert check.main([]) == 0
