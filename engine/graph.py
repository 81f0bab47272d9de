"""A workflow definition as a graph, rendered as DOT or Mermaid (no system binary needed).

Steps are boxes, waits hexagons, each event and timeout its own node, branches and loops
diamonds (a loop has a back edge), threads hang off dashed edges, and ends are circles.
Built from ``describe_workflow``'s output, so it is pure and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Exits = list[tuple[str, str]]
"""Open edge ends: (source node id, edge label)."""


@dataclass(frozen=True)
class Node:
    """One node."""

    id: str
    """Safe identifier (n1, n2, ...)."""
    label: str
    """Text shown."""
    shape: str
    """start, end, step, wait, event, timeout, decision, loop, thread."""
    key: str = ""
    """The statement's name, or ``wait/event`` for an event ("" for start and end)."""


@dataclass(frozen=True)
class Edge:
    """One edge."""

    src: str
    """Source node id."""
    dst: str
    """Target node id."""
    label: str = ""
    """Text on the edge."""
    style: str = "solid"
    """solid, dashed (a thread starts) or back (a loop goes round)."""


@dataclass
class Graph:
    """Nodes and edges of a definition."""

    name: str
    """Workflow name."""
    nodes: list[Node] = field(default_factory=list)
    """In creation order."""
    edges: list[Edge] = field(default_factory=list)
    """In creation order."""

    def node(self, label: str, shape: str, key: str = "") -> str:
        """Add a node; its id."""
        nid = f"n{len(self.nodes) + 1}"
        self.nodes.append(Node(nid, label, shape, key))
        return nid

    def connect(self, exits: Exits, dst: str, style: str = "solid") -> None:
        """Edges from every open end to ``dst``."""
        for src, label in exits:
            self.edges.append(Edge(src, dst, label, style))


@dataclass
class _Loop:
    node: str
    breaks: Exits = field(default_factory=list)


def human_duration(seconds: float) -> str:
    """``86400`` -> ``24h``, ``90`` -> ``1m30s``, ``7776000`` -> ``90d``."""
    s = round(seconds)
    if s == 0:
        return "0s"
    if s % 86400 == 0 and s >= 2 * 86400:
        return f"{s // 86400}d"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size}{unit}")
            s %= size
    return "".join(parts)


def build(description: dict[str, Any]) -> Graph:
    """The graph of ``describe_workflow(...)``'s output."""
    g = Graph(str(description["workflow"]))
    start = g.node("start", "start")
    exits = _section(g, description["definition"], [(start, "")], None, "end")
    if exits:  # (a body ending in Return has its end already)
        g.connect(exits, g.node("end", "end"))
    return g


def _section(
    g: Graph, nodes: list[dict[str, Any]], exits: Exits, loop: _Loop | None, end: str
) -> Exits:
    for n in nodes:
        exits = _stmt(g, n, exits, loop, end)
    return exits


def _end(g: Graph, end: str) -> str:
    return g.node(end, "end")


def _stmt(g: Graph, n: dict[str, Any], exits: Exits, loop: _Loop | None, end: str) -> Exits:
    kind = n["type"]
    if kind == "Step":
        nid = g.node(n["name"], "step", n["name"])
        g.connect(exits, nid)
        return [(nid, "")]
    if kind in ("If", "Switch"):
        nid = g.node(n["name"], "decision", n["name"])
        g.connect(exits, nid)
        out: Exits = []
        for br in n["branches"]:
            out += _section(g, br["body"], [(nid, br["name"])], loop, end)
        if not any(br["else"] for br in n["branches"]):
            out.append((nid, "otherwise"))
        return out
    if kind == "For":
        nid = g.node(n["name"], "loop", n["name"])
        g.connect(exits, nid)
        inner = _Loop(nid)
        body_exits = _section(g, n["body"], [(nid, "repeat")], inner, end)
        g.connect(body_exits, nid, "back")
        return [(nid, "done"), *inner.breaks]
    if kind == "Wait":
        nid = g.node(n["name"], "wait", n["name"])
        g.connect(exits, nid)
        out = []
        for case in n["cases"]:
            if case["type"] == "Timeout":
                label = f"{case['event']} ({human_duration(case['seconds'])})"
                eid = g.node(label, "timeout", f"{n['name']}/{case['event']}")
            else:
                eid = g.node(case["event"], "event", f"{n['name']}/{case['event']}")
            g.connect([(nid, "")], eid)
            out += _section(g, case["body"], [(eid, "")], loop, end)
        return out
    if kind == "WaitFor":
        nid = g.node(n["name"], "wait", n["name"])
        g.connect(exits, nid)
        return [(nid, "")]
    if kind == "Go":
        label = f"{n['name']} (per id)" if n.get("per_id") else n["name"]
        nid = g.node(label, "thread", n["name"])
        g.connect(exits, nid)
        thread_start = g.node(f"thread {n['name']}", "start")
        g.connect([(nid, "")], thread_start, "dashed")
        thread_end = f"end of {n['name']}"
        body_exits = _section(g, n["body"], [(thread_start, "")], None, thread_end)
        if body_exits:
            g.connect(body_exits, _end(g, thread_end))
        return [(nid, "")]
    if kind == "Break":
        if loop is not None:
            loop.breaks += exits
        return []
    if kind == "Continue":
        if loop is not None:
            g.connect(exits, loop.node, "back")
        return []
    if kind == "Return":
        g.connect(exits, _end(g, end))
        return []
    raise ValueError(f"unknown statement type {kind!r}")


_DOT_SHAPES = {
    "start": "circle",
    "end": "doublecircle",
    "step": "box",
    "wait": "hexagon",
    "event": "ellipse",
    "timeout": "octagon",
    "decision": "diamond",
    "loop": "diamond",
    "thread": "parallelogram",
}


def _dot_escape(text: str) -> str:
    # Graphviz also reads HTML character references in labels: keep "&" literal.
    text = text.replace("&", "&amp;")
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


HERE_COLOR = "#d93025"
"""Outline of the nodes where an instance sits."""


def to_dot(description: dict[str, Any], here: frozenset[str] = frozenset()) -> str:
    """The definition as a Graphviz DOT document; nodes whose key is in ``here`` (where an
    instance sits) are outlined."""
    g = build(description)
    lines = [
        f'digraph "{_dot_escape(g.name)}" {{',
        "  rankdir=TB;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for n in g.nodes:
        mark = f', color="{HERE_COLOR}", penwidth=3' if n.key and n.key in here else ""
        label = _dot_escape(n.label)
        lines.append(f'  {n.id} [label="{label}", shape={_DOT_SHAPES[n.shape]}{mark}];')
    for e in g.edges:
        attrs = []
        if e.label:
            attrs.append(f'label="{_dot_escape(e.label)}"')
        if e.style == "dashed":
            attrs.append("style=dashed")
        elif e.style == "back":
            attrs.append("constraint=false, style=bold")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {e.src} -> {e.dst}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


_MERMAID_SHAPES = {
    "start": ("((", "))"),
    "end": ("(((", ")))"),
    "step": ("[", "]"),
    "wait": ("{{", "}}"),
    "event": ("([", "])"),
    "timeout": (">", "]"),
    "decision": ("{", "}"),
    "loop": ("{", "}"),
    "thread": ("[/", "/]"),
}


def _mermaid_escape(text: str) -> str:
    out = (
        text.replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;").replace("|", "#124;")
    )
    return out.replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


def to_mermaid(description: dict[str, Any], here: frozenset[str] = frozenset()) -> str:
    """The definition as a Mermaid flowchart; nodes whose key is in ``here`` (where an
    instance sits) are outlined."""
    g = build(description)
    lines = ["flowchart TD"]
    for n in g.nodes:
        left, right = _MERMAID_SHAPES[n.shape]
        lines.append(f'  {n.id}{left}"{_mermaid_escape(n.label)}"{right}')
    for e in g.edges:
        arrow = {"solid": "-->", "dashed": "-.->", "back": "==>"}[e.style]
        label = f'|"{_mermaid_escape(e.label)}"|' if e.label else ""
        lines.append(f"  {e.src} {arrow}{label} {e.dst}")
    marked = [n.id for n in g.nodes if n.key and n.key in here]
    if marked:
        lines.append(f"  classDef here stroke:{HERE_COLOR},stroke-width:3px")
        lines.append(f"  class {','.join(marked)} here")
    return "\n".join(lines) + "\n"
