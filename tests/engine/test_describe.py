"""The JSON description of a definition, with pydantic schemas (and postponed annotations)."""

from __future__ import annotations

from pydantic import BaseModel

from engine import (
    CallbackRequest,
    Case,
    Default,
    For,
    Go,
    If,
    On,
    OnEvent,
    Return,
    S,
    Section,
    Step,
    Switch,
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


class Bell:
    """A custom handler."""

    def setup(self, ctx: object, req: CallbackRequest) -> str:
        return ""

    def handle(self, ctx: object, req: CallbackRequest, input: object) -> object:
        return None

    def teardown(self, ctx: object, req: CallbackRequest, handled: bool) -> None:
        return None


class Router(Workflow):
    kind: str = ""

    def definition(self) -> Section:
        return S(
            Switch(
                Case(self.kind == "a", "is a", Step("route a", lambda: None)),
                Default("other", Wait("ring", On("bell", Bell()))),
            ),
            Go("per item", lambda tid: S(Step("handle item", lambda: None))).WithID(lambda: "x"),
        )


def test_switch_custom_handlers_and_per_id_threads() -> None:
    switch, go = describe(Router().definition())
    assert (switch["type"], switch["name"]) == ("Switch", "is a")
    assert [(b["name"], b["else"]) for b in switch["branches"]] == [
        ("is a", False),
        ("other", True),
    ]
    ring = switch["branches"][1]["body"][0]
    assert ring["cases"] == [{"type": "On", "event": "bell", "handler": "Bell", "body": []}]
    assert go == {
        "type": "Go",
        "name": "per item",
        "per_id": True,
        "body": [{"type": "Step", "name": "handle item"}],
    }
