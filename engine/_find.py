"""Finding statements in a freshly built definition tree by their path of names (the hot
path of every move), and the wait records a ``Wait`` starts."""

from __future__ import annotations

from engine.dsl import For, If, OnEvent, Section, Stmt, Switch, Timeout, Wait, WaitCase
from engine.state import WaitEvent, WaitStatus


def wait_event(case: WaitCase, wait: str) -> WaitEvent:
    """The record of one case a thread starts waiting for (set up later, but OnEvent)."""
    if type(case) is OnEvent:  # its setup and teardown do nothing: it needs no set-up call
        return WaitEvent(name=case.event, wait=wait, kind="OnEvent", status=WaitStatus.WAITING)
    kind = "Timeout" if type(case) is Timeout else type(case.handler).__name__
    return WaitEvent(name=case.event, wait=wait, kind=kind)


def has_branch(st: Stmt, key: str) -> bool:
    """For an If or Switch: whether one of its branches is named ``key``."""
    t = type(st)
    return (t is If or t is Switch) and any(br.name == key for br in st.branches)  # type: ignore[attr-defined]


BRANCHY = (If, Switch)
"""Statements with named branches."""


def branch(st: If | Switch, key: str) -> Section:
    """The body of ``st``'s branch named ``key``."""
    for br in st.branches:
        if br.name == key:
            return br.body
    raise KeyError(key)


def descend(stmts: Section, path: tuple[str, ...]) -> Stmt | None:
    """The statement at ``path`` in ``stmts`` (a fresh tree), or None."""
    i, last = 0, len(path) - 1
    while True:
        key = path[i]
        for st in stmts:
            if st.name == key or has_branch(st, key):
                break
        else:
            return None
        if i == last:
            return st
        t = type(st)
        if t is For:
            stmts = st.body  # type: ignore[attr-defined]
            i += 1
        elif t is If or t is Switch:
            stmts = branch(st, key)  # type: ignore[arg-type]
            i += 1
        elif t is Wait and i + 1 < last:
            case = st.case(path[i + 1])  # type: ignore[attr-defined]
            if case is None:
                return None
            stmts = case.body
            i += 2
        else:
            return None
