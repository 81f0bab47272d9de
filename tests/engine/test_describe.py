"""The JSON description of a definition, with pydantic schemas (and postponed annotations)."""

from __future__ import annotations

from pydantic import BaseModel

from engine import (
    For,
    Go,
    If,
    OnEvent,
    Return,
    S,
    Section,
    Step,
    Timeout,
    Wait,
    WaitFor,
    Workflow,
    describe,
)


class Ask(BaseModel):
    question: str


class Answer(BaseModel):
    text: str
    score: int


class Desk(Workflow):
    open: bool = True

    def definition(self) -> Section:
        return S(
            Step("greet", lambda: None),
            For(
                "session",
                self.open,
                Wait(
                    "inbox",
                    OnEvent("ask", self.ask),
                    OnEvent("close", self.close, Return()),
                    Timeout("idle", 300),
                ),
            ),
            If(True, "tidy", Step("sweep", lambda: None)).Else(
                "skip", Step("nothing", lambda: None)
            ),
            Go("background", Step("index", lambda: None)),
            WaitFor("closed", not self.open),
        )

    def ask(self, q: Ask) -> Answer:
        return Answer(text=q.question.upper(), score=1)

    def close(self) -> None:
        self.open = False


def test_tree_types_names_and_schemas() -> None:
    tree = describe(Desk().definition())
    assert [n["type"] for n in tree] == ["Step", "For", "If", "Go", "WaitFor"]
    wait = tree[1]["body"][0]
    assert (wait["type"], wait["name"]) == ("Wait", "inbox")
    ask, close, idle = wait["cases"]
    assert ask["type"] == "OnEvent" and ask["input_schema"]["required"] == ["question"]
    assert set(ask["output_schema"]["properties"]) == {"text", "score"}
    assert close["input_schema"] is None and close["output_schema"] is None
    assert close["body"] == [{"type": "Return"}]
    assert idle == {"type": "Timeout", "event": "idle", "seconds": 300, "body": []}
    assert [b["name"] for b in tree[2]["branches"]] == ["tidy", "skip"]
    assert tree[3]["body"] == [{"type": "Step", "name": "index"}]
