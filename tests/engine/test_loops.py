"""Loops: Continue restarts the pass, Break and Return leave it, from inside waits too."""

from __future__ import annotations

from typing import Any

from engine import (
    Break,
    Continue,
    For,
    Go,
    If,
    OnEvent,
    Return,
    S,
    Section,
    Step,
    Wait,
    Workflow,
)


class Skipper(Workflow):
    passes: int = 0
    tails: int = 0
    skipped: bool = False

    def definition(self) -> Section:
        return S(
            For(
                "loop",
                self.passes < 4,
                Wait(
                    "next",
                    OnEvent("skip", self.skip, Continue()),
                    OnEvent("stop", self.stop, Break()),
                    OnEvent("go", self.go),
                ),
                Step("tail", self.tail),
            ),
            Step("after", self.tail),
        )

    def skip(self) -> None:
        self.passes += 1

    def stop(self) -> None:
        self.passes = 100

    def go(self) -> None:
        self.passes += 1

    def tail(self) -> None:
        self.tails += 1


def test_continue_in_a_case_skips_the_rest_of_the_pass(drive: Any) -> None:
    d = drive(Skipper())
    d.resume()
    d.event("skip")
    assert (d.wf.tails, d.st.threads[0].cur) == (0, "next")  # waiting again, tail not run
    d.event("go")
    assert d.wf.tails == 1
    d.event("skip")
    d.event("skip")
    # The condition is checked on Continue: the loop is over after the fourth pass.
    assert d.wf.tails == 2 and d.st.status == "Finished"


def test_break_in_a_case_leaves_the_loop(drive: Any) -> None:
    d = drive(Skipper())
    d.resume()
    d.event("stop")
    assert d.wf.tails == 1 and d.st.status == "Finished"  # only "after" ran


class Worker(Workflow):
    jobs: int = 0
    log: list[str] = []

    def definition(self) -> Section:
        return S(
            Go(
                "worker",
                For(
                    "jobs",
                    True,
                    Wait("job", OnEvent("job", self.job), OnEvent("quit", lambda: None, Return())),
                    If(self.jobs == 2, "second", Continue()),
                    Step("work", lambda: self.log.append(f"work {self.jobs}")),
                ),
            ),
            Wait("main", OnEvent("end", lambda: None)),
        )

    def job(self) -> None:
        self.jobs += 1


def test_return_from_a_loop_in_a_thread_ends_only_that_thread(drive: Any) -> None:
    d = drive(Worker())
    d.resume()
    for _ in range(3):
        d.event("job")
    assert d.wf.log == ["work 1", "work 3"]
    d.event("quit")
    assert [t.id for t in d.st.threads] == ["_main"] and d.st.status == "Waiting"
    d.event("end")
    assert d.st.status == "Finished"
