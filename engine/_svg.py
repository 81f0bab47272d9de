"""A definition's graph drawn as SVG in pure Python (Cloud Functions have no Graphviz).

A simple layered layout: each node's row is the longest forward path to it from the start
(loop back edges ignored), nodes in a row are placed left to right in creation order, and
back edges are drawn as curves on the right.
"""

from __future__ import annotations

from html import escape

from engine.graph import Graph, Node

_W, _H = 170, 38  # node box
_GAP_X, _GAP_Y = 30, 34
_MARGIN = 20
_CHAR = 6.6  # average glyph width at font-size 11


def _rows(g: Graph) -> dict[str, int]:
    forward: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for e in g.edges:
        if e.style != "back":
            forward[e.src].append(e.dst)
    row = {n.id: 0 for n in g.nodes}
    order = [n.id for n in g.nodes]  # creation order is topological for forward edges
    for nid in order:
        for dst in forward[nid]:
            row[dst] = max(row[dst], row[nid] + 1)
    return row


def _label(n: Node, cx: float, cy: float) -> str:
    title = f"<title>{escape(n.label)}</title>"
    if n.shape in ("start", "end"):  # a small circle: its word inside, the rest in the title
        fill = ' fill="#fff"' if n.shape == "end" else ""
        word = f'<text x="{cx:.0f}" y="{cy + 4:.0f}" text-anchor="middle"{fill}>{n.shape}</text>'
        return word + title
    text = n.label if len(n.label) * _CHAR < _W - 12 else n.label[: int((_W - 18) / _CHAR)] + "…"
    return f'<text x="{cx:.0f}" y="{cy + 4:.0f}" text-anchor="middle">{escape(text)}</text>{title}'


def _shape(n: Node, x: float, y: float) -> str:
    cx, cy, w, h = x + _W / 2, y + _H / 2, _W, _H
    cls = f'class="{n.shape}"'
    if n.shape in ("start", "end"):
        r = h / 2
        ring = (
            f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{r - 4:.0f}" {cls}/>'
            if n.shape == "end"
            else ""
        )
        return f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{r:.0f}" {cls}/>{ring}'
    if n.shape in ("wait", "timeout"):
        k = 12
        pts = [(x + k, y), (x + w - k, y), (x + w, cy), (x + w - k, y + h), (x + k, y + h), (x, cy)]
    elif n.shape in ("decision", "loop"):
        pts = [(cx, y - 4), (x + w, cy), (cx, y + h + 4), (x, cy)]
    elif n.shape == "thread":
        k = 12
        pts = [(x + k, y), (x + w, y), (x + w - k, y + h), (x, y + h)]
    elif n.shape == "event":
        return f'<ellipse cx="{cx:.0f}" cy="{cy:.0f}" rx="{w / 2:.0f}" ry="{h / 2:.0f}" {cls}/>'
    else:
        return f'<rect x="{x:.0f}" y="{y:.0f}" width="{w}" height="{h}" rx="4" {cls}/>'
    points = " ".join(f"{px:.0f},{py:.0f}" for px, py in pts)
    return f'<polygon points="{points}" {cls}/>'


def to_svg(g: Graph, here: frozenset[str] = frozenset()) -> str:
    """The graph as a standalone SVG document; nodes whose key is in ``here`` (where an
    instance's threads sit, and the events they wait for) are outlined."""
    rows = _rows(g)
    per_row: dict[int, list[str]] = {}
    for n in g.nodes:
        per_row.setdefault(rows[n.id], []).append(n.id)
    preds: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    for e in g.edges:
        if e.style != "back":
            preds[e.dst].append(e.src)
    pos: dict[str, tuple[float, float]] = {}
    index = {n.id: i for i, n in enumerate(g.nodes)}

    def under_predecessors(nid: str) -> tuple[float, int]:
        xs = [pos[p][0] for p in preds[nid] if p in pos]
        return (sum(xs) / len(xs) if xs else 0.0, index[nid])

    for r in sorted(per_row):  # fewer crossings: each node under its predecessors
        for i, nid in enumerate(sorted(per_row[r], key=under_predecessors)):
            pos[nid] = (_MARGIN + i * (_W + _GAP_X), _MARGIN + r * (_H + _GAP_Y))
    width = _MARGIN * 2 + max(len(ids) for ids in per_row.values()) * (_W + _GAP_X) + 60
    height = _MARGIN * 2 + (max(per_row) + 1) * (_H + _GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        f"<title>{escape(g.name)}</title>",
        "<style>"
        ".step{fill:#e8f0fe;stroke:#3367d6}.wait{fill:#fef7e0;stroke:#e37400}"
        ".event{fill:#e6f4ea;stroke:#188038}.timeout{fill:#fce8e6;stroke:#c5221f}"
        ".decision,.loop{fill:#f3e8fd;stroke:#8430ce}.thread{fill:#e4f7fb;stroke:#12859e}"
        ".start{fill:#fff;stroke:#333}.end{fill:#333;stroke:#333}"
        ".here>*:first-child{stroke:#d93025;stroke-width:3}"
        "line,path{stroke:#555;fill:none}.dashed{stroke-dasharray:5 4}.back{stroke:#8430ce}"
        "</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for e in g.edges:
        (sx, sy), (dx, dy) = pos[e.src], pos[e.dst]
        x1, y1 = sx + _W / 2, sy + _H
        x2, y2 = dx + _W / 2, dy
        if e.style == "back":
            bend = max(sx, dx) + _W + _GAP_X / 2 + 20
            d = (
                f"M{sx + _W:.0f},{sy + _H / 2:.0f} C{bend:.0f},{sy:.0f} "
                f"{bend:.0f},{dy + _H:.0f} {dx + _W:.0f},{dy + _H / 2:.0f}"
            )
            parts.append(f'<path d="{d}" class="back" marker-end="url(#arrow)"/>')
        else:
            cls = ' class="dashed"' if e.style == "dashed" else ""
            parts.append(
                f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}"{cls} '
                'marker-end="url(#arrow)"/>'
            )
        if e.label:
            parts.append(
                f'<text x="{(x1 + x2) / 2 + 4:.0f}" y="{(y1 + y2) / 2:.0f}" font-size="9" '
                f'fill="#555">{escape(e.label)}</text>'
            )
    for n in g.nodes:
        x, y = pos[n.id]
        shape, label = _shape(n, x, y), _label(n, x + _W / 2, y + _H / 2)
        mark = ' class="here"' if n.key and n.key in here else ""
        parts.append(f'<g id="{n.id}" data-row="{rows[n.id]}"{mark}>{shape}{label}</g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
