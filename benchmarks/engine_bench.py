"""Engine benchmark: the Go original's scenario, start to finish, in microseconds per run.

A loop of 5 steps, a step resetting the counter, then a loop that waits twice for an event,
each wait followed by a step (19 moves), driven by resume / event / resume / event / resume.
Run: ``.venv/bin/python benchmarks/engine_bench.py``.
"""

from __future__ import annotations

import time

from engine import For, OnEvent, S, Section, Step, Wait, Workflow, handle_event, new_state, resume


class Bench(Workflow):
    """The benchmark workflow."""

    i: int = 0

    def definition(self) -> Section:
        return S(
            For("count to 5", self.i < 5, Step("increment", self.increment)),
            Step("reset", self.reset),
            For(
                "twice",
                self.i < 2,
                Wait("wait for event", OnEvent("event", self.on_event)),
                Step("after event", self.increment),
            ),
        )

    def increment(self) -> None:
        self.i += 1

    def reset(self) -> None:
        self.i = 0

    def on_event(self) -> None:
        pass


def run_once() -> None:
    """One complete run of the scenario."""
    wf = Bench()
    state = new_state("bench", wf)
    resume(wf, state)
    handle_event(wf, state, "event", None)
    resume(wf, state)
    handle_event(wf, state, "event", None)
    resume(wf, state)
    if state.status != "Finished":
        raise AssertionError(f"benchmark workflow did not finish: {state.status}")


def main(runs: int = 200, rounds: int = 100) -> None:
    run_once()  # warm the per-class caches
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(runs):
            run_once()
        best = min(best, (time.perf_counter() - start) / runs)
    print(f"engine: {best * 1e6:.1f} us per complete run (best of {rounds} x {runs} runs)")


if __name__ == "__main__":
    main()
