"""The interpreter: ``resume`` and ``handle_event``. Pure: no I/O, no clock.

A thread's position is a statement name. To move a thread, the interpreter builds a fresh
``definition()`` (only when data may have changed), finds the position through the class's name
index, and runs forward to the next stop: a step to execute, a wait, or the thread's end.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from typing import Any

from engine._find import BRANCHY, branch, descend, has_branch, wait_event
from engine._shape import Position, Shape, _shapes, shape_of
from engine._steps import CURRENT_STEP, describe_exc, restore, snapshot
from engine.dsl import (
    Break,
    Continue,
    For,
    Go,
    If,
    Return,
    Section,
    Step,
    Stmt,
    Switch,
    Wait,
    WaitCase,
    WaitFor,
    Workflow,
)
from engine.errors import (
    AmbiguousEvent,
    EventNotAwaited,
    HandlerFailed,
    SetupFailed,
    StaleCallback,
    StatementNotFound,
    StepFailed,
    ThreadExists,
    TooManyMoves,
    UnknownEvent,
    WorkflowError,
    WorkflowFinished,
)
from engine.state import (
    MAIN_THREAD,
    CallbackRequest,
    State,
    Thread,
    ThreadStatus,
    WaitEvent,
    WaitStatus,
    WorkflowStatus,
)

MAX_MOVES = 10_000
"""Moves one ``resume`` may make before it is declared a runaway loop."""

_NEXT, _BREAK, _CONTINUE, _RETURN, _STOP = range(5)
_EXECUTING = ThreadStatus.EXECUTING
_RESUMING = ThreadStatus.RESUMING
_WAITING_EVENT = ThreadStatus.WAITING_EVENT
_WAITING_CONDITION = ThreadStatus.WAITING_CONDITION


_NONE: frozenset[str] = frozenset()


def new_state(id: str, workflow: str | Workflow) -> State:
    """A fresh ``State`` for a new instance (``workflow`` is its name or a workflow object).

    Given a workflow object, its definition is validated here (once per class), so a malformed
    definition fails before the instance exists.
    """
    if isinstance(workflow, str):
        name = workflow
    else:
        shape_of(workflow)
        name = type(workflow).__name__
    return State(id=id, workflow=name, threads=[Thread(id=MAIN_THREAD, name=MAIN_THREAD)])


_FINISHED: WorkflowStatus = WorkflowStatus.FINISHED  # typed wide: calls change the status


class _Run:
    """One call of ``resume`` or ``handle_event``: the workflow, its state and a tree cache."""

    __slots__ = (
        "budget",
        "ctx",
        "failed_now",
        "failure",
        "hold_failed",
        "moves",
        "next_step",
        "out_of_time",
        "retry",
        "running",
        "shape",
        "state",
        "tree",
        "wf",
    )

    def __init__(
        self,
        wf: Workflow,
        state: State,
        ctx: Any,
        budget: int | None,
        out_of_time: Callable[[], bool] | None = None,
        hold_failed: bool = False,
        retry: str | None = None,
    ) -> None:
        self.wf = wf
        self.state = state
        self.ctx = ctx
        self.shape: Shape = _shapes.get(type(wf)) or shape_of(wf)
        self.tree: Section | None = None
        self.next_step: tuple[Thread, Step] | None = None
        """The step a thread just stopped at, found in ``tree`` (valid while ``tree`` is)."""
        self.moves = 0
        self.budget = budget
        self.out_of_time = out_of_time
        self.hold_failed = hold_failed
        """Leave threads whose step or WaitFor handler failed before where they are."""
        self.retry = retry
        """A held thread whose failed step (or WaitFor handler) runs again now, first."""
        self.failed_now: frozenset[str] = _NONE
        """Threads whose step failed in this run: they move no more in it."""
        self.failure: StepFailed | None = None
        """The first failure of this run, raised when the other threads have moved."""
        self.running: list[Any] = [state.id, None, ""]

    # -- finding statements ---------------------------------------------------------------

    def definition(self) -> Section:
        tree = self.tree
        if tree is None:
            tree = self.tree = self.wf.definition()
        return tree

    def position(self, name: str, thread: Thread) -> Position:
        pos = self.shape.positions.get(name)
        if pos is None:  # a definition whose shape depends on data: index it again
            self.shape = shape_of(self.wf, self.definition(), refresh=True)
            pos = self.shape.positions.get(name)
            if pos is None:
                raise StatementNotFound(self.state.id, name, thread.id)
        if pos.root != thread.name:
            raise StatementNotFound(self.state.id, name, thread.id)
        return pos

    def root_body(self, root: str, thread: Thread) -> Section:
        if root == MAIN_THREAD:
            return self.tree if self.tree is not None else self.definition()
        return self.go_body(root, thread.id, thread.parents, thread)

    def go_body(self, go_name: str, tid: str, parents: list[str], thread: Thread) -> Section:
        """The body that ``Go`` statement ``go_name`` gives thread ``tid``.

        ``parents`` are the ids of the threads around it (outermost first): an enclosing
        ``Go`` body is rebuilt for the thread that ran it, not for ``tid``.
        """
        pos = self.position_any(go_name, thread)
        if pos.root == MAIN_THREAD:
            outer = self.definition()
        else:
            outer = self.go_body(pos.root, parents[-1] if parents else "", parents[:-1], thread)
        go = descend(outer, pos.path)
        if type(go) is not Go:
            raise StatementNotFound(self.state.id, go_name, thread.id)
        return go.body(tid)

    def position_any(self, name: str, thread: Thread) -> Position:
        pos = self.shape.positions.get(name)
        if pos is None:
            raise StatementNotFound(self.state.id, name, thread.id)
        return pos

    def find(self, name: str, thread: Thread, pos: Position | None = None) -> Stmt:
        if pos is None:
            pos = self.position(name, thread)
        st = descend(self.root_body(pos.root, thread), pos.path)
        if st is None:
            raise StatementNotFound(self.state.id, name, thread.id)
        return st

    # -- running forward --------------------------------------------------------------------

    def run_body(self, th: Thread, stmts: Section, path: tuple[str, ...] | None, d: int) -> int:
        i, n = 0, len(stmts)
        if path is not None:
            key = path[d]
            while i < n:
                st = stmts[i]
                if st.name == key or (type(st) in BRANCHY and has_branch(st, key)):
                    break
                i += 1
            else:
                raise StatementNotFound(self.state.id, path[-1], th.id)
            if d != len(path) - 1 or type(st) is Wait:  # a step or WaitFor leaf: just go on
                sig = self.resume_in(th, st, path, d)
                if sig != _NEXT:
                    return sig
            i += 1
        while i < n:
            st = stmts[i]
            if type(st) is Step:  # the most common stop, inlined
                fields = th.__dict__
                fields["status"] = _EXECUTING
                fields["cur"] = st.name
                fields["pc"] = self.state.pc
                self.next_step = (th, st)
                return _STOP
            sig = self.exec(th, st)
            if sig != _NEXT:
                return sig
            i += 1
        return _NEXT

    def resume_in(self, th: Thread, st: Stmt, path: tuple[str, ...], d: int) -> int:
        t = type(st)
        if d == len(path) - 1:
            if t is Wait:  # a handled wait: run the chosen case's body
                case = st.case(th.case)  # type: ignore[attr-defined]
                if case is None:
                    raise StatementNotFound(self.state.id, th.case, th.id)
                th.case = ""
                return self.run_body(th, case.body, None, 0)
            return _NEXT  # after a step or a satisfied WaitFor
        if t is For:
            sig = self.run_body(th, st.body, path, d + 1)  # type: ignore[attr-defined]
            if sig == _BREAK:
                return _NEXT
            if sig in (_STOP, _RETURN):
                return sig
            return self.loop(th, st)  # type: ignore[arg-type]
        if t is If or t is Switch:
            return self.run_body(th, branch(st, path[d]), path, d + 1)  # type: ignore[arg-type]
        if t is Wait:
            case = st.case(path[d + 1])  # type: ignore[attr-defined]
            if case is None or d + 2 >= len(path):
                raise StatementNotFound(self.state.id, path[-1], th.id)
            return self.run_body(th, case.body, path, d + 2)
        raise StatementNotFound(self.state.id, path[-1], th.id)

    def exec(self, th: Thread, st: Stmt) -> int:
        """Run ``st`` from its start (steps are handled by ``run_body`` itself)."""
        t = type(st)
        if t is If or t is Switch:
            for br in st.branches:  # type: ignore[attr-defined]
                if br.cond:
                    return self.run_body(th, br.body, None, 0)
            return _NEXT
        if t is For:
            return self.loop(th, st)  # type: ignore[arg-type]
        if t is Wait:
            name = st.name
            th.__dict__.update(
                status=_WAITING_EVENT,
                cur=name,
                case="",
                pc=self.state.pc,
                waits=[wait_event(c, name) for c in st.cases],  # type: ignore[attr-defined, arg-type]
            )
            return _STOP
        if t is WaitFor:
            th.status = _WAITING_CONDITION
            th.cur = st.name  # type: ignore[assignment]
            th.pc = self.state.pc
            return _STOP
        if t is Go:
            self.start_thread(th, st)  # type: ignore[arg-type]
            return _NEXT
        if t is Break:
            return _BREAK
        if t is Continue:
            return _CONTINUE
        if t is Return:
            return _RETURN
        raise StatementNotFound(self.state.id, repr(st), th.id)

    def loop(self, th: Thread, st: For) -> int:
        while st.cond:
            self.moves += 1
            if self.moves > MAX_MOVES:
                raise self.too_many_moves()
            sig = self.run_body(th, st.body, None, 0)
            if sig == _BREAK:
                return _NEXT
            if sig in (_STOP, _RETURN):
                return sig
        return _NEXT

    def start_thread(self, parent: Thread, st: Go) -> None:
        tid = str(st.id_fn()) if st.id_fn is not None else str(st.name)
        if self.state.thread(tid) is not None:
            raise ThreadExists(self.state.id, tid)
        parents = [] if parent.id == MAIN_THREAD else [*parent.parents, parent.id]
        self.state.threads.append(Thread(id=tid, name=str(st.name), parents=parents))

    # -- moves ------------------------------------------------------------------------------

    def call_user(self, th: Thread, name: str, fn: Any) -> None:
        """Run a step action or WaitFor handler; on failure restore data and raise."""
        snap = snapshot(self.wf)
        running = self.running
        running[1], running[2] = th, name
        try:
            fn()
        except Exception as e:
            restore(self.wf, snap)
            th.attempts += 1
            th.error = describe_exc(e)
            # A failure is a change: its own pc tells its retry apart from older ones.
            self.state.pc += 1
            th.pc = self.state.pc
            err = StepFailed(self.state.id, name, th.error, th.attempts, th.id)
            self.failed_now |= {th.id}
            if self.failure is None:
                self.failure = err
            raise err from e
        finally:
            running[1] = None
            self.tree = None
            self.next_step = None
        if th.attempts:
            th.attempts = 0
            th.error = ""

    def move(self, th: Thread) -> None:
        """Run the thread's step (if it is on one), then walk on to its next stop."""
        self.moves += 1
        if self.moves > MAX_MOVES:
            raise self.too_many_moves()
        self.state.__dict__["pc"] += 1
        cur = th.cur
        if cur:
            pos = self.shape.positions.get(cur)
            if pos is None or pos.root != th.name:
                pos = self.position(cur, th)
            if th.status is _EXECUTING:
                nxt = self.next_step
                if nxt is not None and nxt[0] is th:
                    st: Stmt | None = nxt[1]
                else:
                    st = descend(self.root_body(pos.root, th), pos.path)
                    if type(st) is not Step:
                        raise StatementNotFound(self.state.id, cur, th.id)
                self.call_user(th, cur, st.action)  # type: ignore[union-attr]
                th.__dict__["status"] = _RESUMING
            sig = self.run_body(th, self.root_body(pos.root, th), pos.path, 0)
        else:
            sig = self.run_body(th, self.root_body(th.name, th), None, 0)
        if sig != _STOP:
            self.end_thread(th)

    def end_thread(self, th: Thread) -> None:
        if th.id == MAIN_THREAD:
            for t in self.state.threads:
                for w in t.waits:
                    if w.status is WaitStatus.WAITING:  # one never set up needs no teardown
                        w.status = WaitStatus.TEARDOWN
            self.teardown_waits()
            self.state.threads = []
            self.state.status = WorkflowStatus.FINISHED
            self.state.error = ""
        else:
            self.state.threads.remove(th)

    def too_many_moves(self) -> TooManyMoves:
        """The error for a run that does not stop, recorded on the state as a failure."""
        err = TooManyMoves(self.state.id, MAX_MOVES)
        self.state.status, self.state.error = WorkflowStatus.FAILED, err.message
        return err

    def held(self, th: Thread) -> bool:
        """Whether a thread whose step failed (``attempts``) must stay where it is."""
        return (self.hold_failed and th.id != self.retry) or th.id in self.failed_now

    def check_conditions(self) -> None:
        for th in self.state.threads:
            if th.status is _WAITING_CONDITION and not (th.attempts and self.held(th)):
                st = self.find(th.cur, th)
                if type(st) is not WaitFor:
                    raise StatementNotFound(self.state.id, th.cur, th.id)
                if st.cond:
                    handler = st.handler
                    if handler is not None:
                        try:
                            self.call_user(th, th.cur, handler)
                        except StepFailed:
                            continue  # recorded in self.failure
                    th.status = _RESUMING
                elif th.attempts:  # its handler failed, and the condition is gone: start over
                    th.attempts, th.error = 0, ""

    # -- wait set-up and teardown ---------------------------------------------------------

    def case_of(self, th: Thread, w: WaitEvent) -> WaitCase | None:
        try:
            st = self.find(w.wait, th)
        except StatementNotFound:
            return None
        return st.case(w.name) if type(st) is Wait else None

    def request(self, th: Thread, w: WaitEvent) -> CallbackRequest:
        return CallbackRequest(self.state.id, th.id, w.name, th.pc, w.setup_data)

    def setup_waits(self) -> None:
        for th in self.state.threads:
            for w in th.waits:
                if w.status is WaitStatus.SETUP:
                    case = self.case_of(th, w)
                    if case is None:
                        raise StatementNotFound(self.state.id, f"{w.wait}/{w.name}", th.id)
                    try:
                        data = case.handler.setup(self.ctx, self.request(th, w))
                    except WorkflowError:
                        raise
                    except Exception as e:
                        raise SetupFailed(self.state.id, w.wait, w.name, describe_exc(e)) from e
                    w.setup_data = str(data)
                    w.status = WaitStatus.WAITING

    def teardown_waits(self) -> None:
        for th in self.state.threads:
            ended = [w for w in th.waits if w.status is WaitStatus.TEARDOWN]
            if not ended:
                continue
            for w in ended:
                if w.kind != "OnEvent":  # OnEvent's teardown does nothing
                    case = self.case_of(th, w)
                    if case is not None:  # the code no longer has it: nothing to call
                        # Best effort (DESIGN 2.1): a failing teardown must not keep a wait
                        # that is over alive, or the instance could never move again.
                        with suppress(Exception):
                            case.handler.teardown(self.ctx, self.request(th, w), w.handled)
            th.waits = [w for w in th.waits if w.status is not WaitStatus.TEARDOWN]

    def run(self) -> None:
        token = CURRENT_STEP.set(self.running)
        try:
            self._run()
        finally:
            CURRENT_STEP.reset(token)

    def retry_first(self, thread_id: str) -> None:
        """Run a failed thread's step (or WaitFor handler) again before anything else, so
        that no budget keeps it waiting."""
        th = self.state.thread(thread_id)
        if th is None or not th.attempts:
            return
        if th.status is _EXECUTING:
            with suppress(StepFailed):  # recorded in self.failure
                self.move(th)
        elif th.status is _WAITING_CONDITION:
            self.check_conditions()

    def _run(self) -> None:
        state = self.state
        if state.status is _FINISHED:
            return
        self.teardown_waits()
        start = self.moves
        if self.retry is not None:
            self.retry_first(self.retry)
        while state.status is not _FINISHED:
            moved = False
            for th in list(state.threads):
                if th.status is not _EXECUTING and th.status is not _RESUMING:
                    continue
                if th.attempts and self.held(th):
                    continue
                if self.moves > start and (
                    (self.budget is not None and self.moves - start >= self.budget)
                    or (self.out_of_time is not None and self.out_of_time())
                ):
                    break
                try:  # noqa: SIM105  (a with block per move costs more on this hot path)
                    self.move(th)
                except StepFailed:
                    pass  # recorded in self.failure; the other threads go on
                moved = True
                if state.status is _FINISHED:
                    break
                for t in state.threads:
                    if t.status is _WAITING_CONDITION:
                        self.check_conditions()
                        break
            else:
                if moved:
                    continue
                if any(t.status is _WAITING_CONDITION for t in state.threads):
                    self.check_conditions()
                    if any(t.status is _RESUMING for t in state.threads):
                        continue
            break
        if state.status is _FINISHED:
            return
        self.setup_waits()
        status = WorkflowStatus.WAITING
        for t in state.threads:
            if t.attempts and self.held(t):
                status = WorkflowStatus.FAILED  # its error stays recorded
                break
            if t.status is _EXECUTING or t.status is _RESUMING:
                status = WorkflowStatus.RESUMING
        state.status = status
        if self.failure is not None:
            state.error = self.failure.message
            first = self.failure.thread_id
            self.failure.threads = (first, *sorted(self.failed_now - {first}))
            raise self.failure
        if state.error and status is not WorkflowStatus.FAILED:
            state.error = ""


def resume(
    wf: Workflow,
    state: State,
    ctx: Any = None,
    *,
    budget: int | None = None,
    out_of_time: Callable[[], bool] | None = None,
    hold_failed: bool = False,
    retry: str | None = None,
) -> None:
    """Run every thread until each waits or ends; ``wf`` (data) and ``state`` change in place.

    Afterwards ``state.status`` is ``Waiting``, ``Finished``, or ``Resuming`` when a
    ``budget`` of moves ran out first, or ``out_of_time()`` (asked after every move, so the
    engine itself reads no clock) said so. A failing step raises :class:`StepFailed` after the
    state recorded the error and attempt count (status ``Failed``); the next ``resume``
    runs the step again, unless ``hold_failed``: then threads whose step failed stay where
    they are (their retry is due later), the others move, and the status stays ``Failed``;
    ``retry`` names one of them to run again now, first, whatever the budget. A failing step
    does not stop the other threads: they move on, and the first failure is raised at the end.
    Waits that began are set up (``setup`` of their handlers, with ``ctx``), waits that
    ended are torn down.
    """
    _Run(wf, state, ctx, budget, out_of_time, hold_failed, retry).run()


def handle_event(
    wf: Workflow,
    state: State,
    event: str,
    input: Any,
    *,
    thread_id: str | None = None,
    pc: int | None = None,
    ctx: Any = None,
) -> Any:
    """Deliver ``event`` to the thread waiting for it and return the handler's output.

    Does not resume: call :func:`resume` next. Any rejection (unknown event, event not
    awaited, stale ``pc``, finished workflow, invalid input, a handler that raises) leaves
    ``wf`` and ``state`` exactly as they were.
    """
    run = _Run(wf, state, ctx, None)
    if event not in run.shape.events:
        run.shape = shape_of(wf, run.definition(), refresh=True)
        if event not in run.shape.events:
            raise UnknownEvent(state.id, event)
    if state.status is _FINISHED:
        raise WorkflowFinished(state.id)
    waiting: list[tuple[Thread, WaitEvent]] = []
    for th in state.threads:
        if th.status is _WAITING_EVENT and (thread_id is None or th.id == thread_id):
            for w in th.waits:
                if w.name == event and w.status is WaitStatus.WAITING:
                    waiting.append((th, w))
    if not waiting:
        raise EventNotAwaited(state.id, event, thread_id)
    if len(waiting) > 1:
        raise AmbiguousEvent(state.id, event, [th.id for th, _ in waiting])
    th, w = waiting[0]
    if pc is not None and pc != th.pc:
        raise StaleCallback(state.id, event, pc, th.pc)
    case = run.case_of(th, w)
    if case is None:
        raise StatementNotFound(state.id, f"{w.wait}/{w.name}", th.id)
    snap = snapshot(wf)
    try:
        output = case.handler.handle(ctx, run.request(th, w), input)
    except WorkflowError:
        restore(wf, snap)
        raise
    except Exception as e:
        restore(wf, snap)
        raise HandlerFailed(state.id, event, describe_exc(e)) from e
    for other in th.waits:
        other.__dict__["status"] = WaitStatus.TEARDOWN
    w.__dict__["handled"] = True
    th.__dict__.update(status=_RESUMING, case=event)
    state.__dict__.update(pc=state.pc + 1, status=WorkflowStatus.RESUMING)
    return output
