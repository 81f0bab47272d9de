"""The graph of a definition as DOT and Mermaid."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import workflows.pizza  # noqa: F401  (registers "pizza")
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
    WaitFor,
    Workflow,
)
from engine._describe import describe_workflow
from engine._svg import to_svg
from engine.graph import build, human_duration, to_dot, to_mermaid
from engine.registry import default_registry


def pizza() -> dict[str, Any]:
    return describe_workflow(default_registry.get("pizza"), "pizza")


class Shapes(Workflow):
    n: int = 0

    def definition(self) -> Section:
        return S(
            For(
                "loop",
                self.n < 3,
                Step('say "hi"', lambda: None),
                If(self.n == 1, "skip one", Continue()),
                If(self.n == 2, "stop early", Break()),
                Step("tail", lambda: None),
            ),
            Go("worker", Wait("work", OnEvent("done", lambda: None))),
            If(self.n > 5, "too many", Return()).Else("fine", Step("ok", lambda: None)),
            WaitFor("settled", self.n == 0),
        )


def shapes() -> dict[str, Any]:
    return describe_workflow(Shapes, "shapes")


def test_human_durations() -> None:
    assert [human_duration(s) for s in (2, 90, 600, 3600, 86400, 90 * 86400)] == [
        "2s",
        "1m30s",
        "10m",
        "1h",
        "24h",
        "90d",
    ]


def test_pizza_nodes_have_the_right_shapes() -> None:
    g = build(pizza())
    by_label = {n.label: n.shape for n in g.nodes}
    assert by_label["setup"] == "step"
    assert by_label["cart"] == "wait" and by_label["paid"] == "wait"
    assert by_label["fill cart"] == "loop"
    for event in ["add", "clean", "submit", "confirm", "confirm_payment", "start_cooking"]:
        assert by_label[event] == "event"
    assert by_label["cart_timeout (24h)"] == "timeout"
    assert by_label["confirm_timeout (10m)"] == "timeout"
    assert by_label["payment thread"] == "thread"
    assert sum(1 for n in g.nodes if n.shape == "end") >= 7  # six timeouts end it, and done


def test_loops_have_back_edges_and_threads_dashed_edges() -> None:
    g = build(shapes())
    ids = {n.label: n.id for n in g.nodes}
    back = {(e.src, e.dst) for e in g.edges if e.style == "back"}
    assert (ids["skip one"], ids["loop"]) in back  # Continue
    assert (ids["tail"], ids["loop"]) in back  # end of the body
    exits = {(e.src, e.label, e.dst) for e in g.edges if e.src in (ids["loop"], ids["stop early"])}
    assert (ids["loop"], "done", ids["worker"]) in exits
    assert (ids["stop early"], "stop early", ids["worker"]) in exits  # Break leaves the loop
    dashed = [e for e in g.edges if e.style == "dashed"]
    assert [(e.src, e.dst) for e in dashed] == [(ids["worker"], ids["thread worker"])]


def test_dot_output_escapes_and_renders_every_node() -> None:
    dot = to_dot(shapes())
    assert dot.startswith('digraph "shapes" {') and dot.rstrip().endswith("}")
    assert 'label="say \\"hi\\""' in dot
    assert "shape=hexagon" in dot and "shape=diamond" in dot and "style=dashed" in dot
    assert len(re.findall(r"^  n\d+ \[label=", dot, re.M)) == len(build(shapes()).nodes)


def test_mermaid_output_escapes_quotes() -> None:
    mermaid = to_mermaid(shapes())
    assert mermaid.startswith("flowchart TD")
    assert '"say #quot;hi#quot;"' in mermaid
    assert "-.->" in mermaid and "==>" in mermaid
    assert '{{"work"}}' in mermaid


def test_svg_is_well_formed_and_names_every_node() -> None:
    g = build(shapes())
    svg = to_svg(g)
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = [t.text for t in root.iterfind(".//s:g/s:title", ns)]
    assert titles == [n.label for n in g.nodes]  # 'say "hi"' survives escaping
    assert len(root.findall(".//s:g", ns)) == len(g.nodes)
    assert len(root.findall(".//s:path[@class='back']", ns)) == 2
    assert len(root.findall(".//s:line[@class='dashed']", ns)) == 1


def test_pizza_svg_lays_rows_downwards() -> None:
    root = ElementTree.fromstring(to_svg(build(pizza())))
    ns = {"s": "http://www.w3.org/2000/svg"}
    ys = {
        str(g.findtext("s:title", namespaces=ns)): int(g.get("data-row", "-1"))
        for g in root.iterfind(".//s:g", ns)
    }
    assert ys["start"] < ys["setup"] < ys["fill cart"] < ys["cart"] < ys["add"]
    assert ys["cooking"] < ys["oven"] < ys["pickup"] < ys["delivery"] < ys["paid"]


class Odd(Workflow):
    def definition(self) -> Section:
        return S(
            If(True, "ask (why?) #3 & [more]", Step("step #35; & x", lambda: None)),
            Go("side", S(Step("side step", lambda: None), Return())),
            Return(),
        )


def test_labels_are_quoted_and_every_end_is_reached() -> None:
    description = describe_workflow(Odd, "odd")
    mermaid = to_mermaid(description)
    assert '|"ask (why?) #35;3 #amp; [more]"|' in mermaid
    assert '"step #35;35; #amp; x"' in mermaid
    dot = to_dot(description)
    assert 'label="step #35; &amp; x"' in dot
    g = build(description)
    reached = {e.dst for e in g.edges}
    assert [n.id for n in g.nodes if n.shape == "end" and n.id not in reached] == []
    assert sum(n.shape == "end" for n in g.nodes) == 2  # the main Return, the thread's Return
